"""Which email addresses the forms accept, and the form they are stored in.

Exactly those email-validator 2 accepts with `allow_smtputf8=False` and no
DNS lookups, normalised as its `ascii_email`: SES sends only to ASCII
addresses, so the part before the @-sign is ASCII (RFC 5322's dot-atom) and
an internationalised domain is sent in Punycode (IDNA 2008 with UTS #46, by
the idna package). tests/unit/test_email_address.py holds this module to the
library, address by address and over generated ones.

Not the library itself: its import compiled some forty Unicode regular
expressions on every cold start (15 ms of a form post's 280 ms) for the
internationalised local parts this API refuses, and it brought dnspython
(340 KB of the Lambda package) for the DNS checks the API never makes. The
common case, an ASCII address, needs nothing but the rules below; idna is
imported only for a domain that is not plain ASCII letters, digits and
hyphens.
"""

from __future__ import annotations

import re
import string
import unicodedata

# RFC 5322 3.2.3: atext, in dot-separated runs.
_DOT_ATOM = re.compile(r"[a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~]+(?:\.[a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~]+)*")
# A domain's characters before IDNA: LDH, dots, and anything outside ASCII
# (a set, not an expression: compiling a class up to U+10FFFF took 5 ms).
_LDH_AND_DOTS = frozenset(string.ascii_letters + string.digits + "-.")
_LABEL = r"(?:(?:[a-zA-Z0-9][a-zA-Z0-9\-]*)?[a-zA-Z0-9])"
_ASCII_HOSTNAME = re.compile(_LABEL + r"(?:\." + _LABEL + r")*")
# RFC 5890's reserved LDH labels: two characters then "--", unless Punycode.
_RESERVED_LDH = re.compile(r"(?!xn)..--", re.IGNORECASE)
# RFC 2142: mailbox names that are the same in any case, stored lowercased.
_CASE_INSENSITIVE_MAILBOXES = frozenset(
    {"info", "marketing", "sales", "support", "abuse", "noc", "security", "postmaster", "hostmaster"}
    | {"usenet", "news", "webmaster", "www", "uucp", "ftp"}
)
# Special-use domains (RFC 6761, 6762, 7686), which no public address has.
_SPECIAL_USE = ("arpa", "invalid", "local", "localhost", "onion", "test")
MAX_ADDRESS_BYTES = 254  # RFC 5321 4.5.3.1.3 with RFC 3696's errata
MAX_DOMAIN_BYTES = 253
MAX_LABEL_BYTES = 63


class NotAnAddress(ValueError):
    """The text is not an email address the forms can accept."""


def normalise(text: str) -> str:
    """The address as it is stored and mailed, or NotAnAddress."""
    # A quoted local part, a display name and angle brackets are all refused,
    # so the first @-sign is the only one that can split the address.
    if '"' in text or "<" in text:
        raise NotAnAddress("quotes and angle brackets are not accepted")
    local, at, domain = text.partition("@")
    if not at:
        raise NotAnAddress("no @-sign")
    if not _DOT_ATOM.fullmatch(local):
        raise NotAnAddress("the part before the @-sign is not ASCII atext separated by single dots")
    if local.lower() in _CASE_INSENSITIVE_MAILBOXES:
        local = local.lower()
    ascii_domain, domain_shown = _domain(domain)
    for form in (text, f"{local}@{domain_shown}", f"{local}@{ascii_domain}"):
        if len(form.encode()) > MAX_ADDRESS_BYTES:
            raise NotAnAddress("too long")
    return f"{local}@{ascii_domain}"


def _domain(domain: str) -> tuple[str, str]:
    """The domain in ASCII (Punycode) and as people read it (Unicode)."""
    if not domain or len(domain) > MAX_DOMAIN_BYTES:
        raise NotAnAddress("no domain, or too long")
    _require_hostname_characters(domain)
    # Lowercasing is what UTS #46 mapping does to ASCII.
    domain = domain.lower() if domain.isascii() else _uts46_mapped(domain)
    if domain.startswith((".", "-")) or domain.endswith((".", "-")):
        raise NotAnAddress("the domain starts or ends with a dot or hyphen")
    if ".." in domain or ".-" in domain or "-." in domain:
        raise NotAnAddress("a domain label is empty or starts or ends with a hyphen")
    if any(_RESERVED_LDH.match(label) for label in domain.split(".")):
        raise NotAnAddress("a reserved label")
    ascii_domain = domain if _ASCII_HOSTNAME.fullmatch(domain) else _punycode(domain)
    if len(ascii_domain) > MAX_DOMAIN_BYTES:
        raise NotAnAddress("the domain is too long")
    if any(len(label) > MAX_LABEL_BYTES for label in ascii_domain.split(".")):
        raise NotAnAddress("a domain label is too long")
    # Public addresses have a dot in their domain, whose top-level domain
    # ends with a letter.
    if "." not in ascii_domain or not ascii_domain[-1].isalpha():
        raise NotAnAddress("not a public domain")
    if any(ascii_domain == name or ascii_domain.endswith("." + name) for name in _SPECIAL_USE):
        raise NotAnAddress("a special-use domain")
    if "xn--" not in ascii_domain:
        return ascii_domain, ascii_domain
    return ascii_domain, _from_punycode(ascii_domain)


def _require_hostname_characters(domain: str) -> None:
    if not all(character in _LDH_AND_DOTS or character >= "\x80" for character in domain):
        raise NotAnAddress("the domain has a character no domain can have")


def _require_safe(text: str) -> None:
    """Letters, numbers, punctuation and symbols only: no spaces, line
    breaks, controls, format characters (bidirectional ones would show the
    address as another), private-use or unassigned code points, and no
    combining mark to begin with."""
    for position, character in enumerate(text):
        kind = unicodedata.category(character)
        if kind[0] in "LNPS" or (kind[0] == "M" and position):
            continue
        raise NotAnAddress("the domain has an unsafe character")


def _uts46_valid(character: str) -> bool:
    """False for what UTS #46 mapping would refuse or turn into a dot."""
    code = ord(character)
    if 0x80 <= code <= 0x9F:
        return False
    if (
        (0x2010 <= code <= 0x2060 and not 0x2024 <= code <= 0x2026 and not 0x2028 <= code <= 0x202E)
        or code in (0x00AD, 0x2064, 0xFF0E)
        or 0x200B <= code <= 0x200D
        or 0x1BCA0 <= code <= 0x1BCA3
    ):
        return True
    if unicodedata.category(character) in ("Cf", "Cn", "Co", "Cs", "Zs", "Zl", "Zp"):
        return False
    return "002E" not in unicodedata.decomposition(character).split(" ")


def _uts46_mapped(domain: str) -> str:
    import idna

    _require_safe(domain)
    if not all(map(_uts46_valid, domain)):
        raise NotAnAddress("the domain has a character IDNA refuses")
    try:
        # Case folding, NFC, and the full-width and ideographic full stops to dots.
        mapped = str(idna.uts46_remap(domain, std3_rules=False, transitional=False))
    except idna.IDNAError:
        raise NotAnAddress("the domain has a character IDNA refuses") from None
    _require_hostname_characters(mapped)
    return mapped


def _punycode(domain: str) -> str:
    import idna

    try:
        ascii_domain = ".".join(idna.alabel(label).decode("ascii") for label in domain.split("."))
    except idna.IDNAError:
        raise NotAnAddress("the domain is not valid IDNA") from None
    if not _ASCII_HOSTNAME.fullmatch(ascii_domain):
        raise NotAnAddress("the domain is not a hostname after IDNA encoding")
    return ascii_domain


def _from_punycode(ascii_domain: str) -> str:
    """The Unicode form of a domain with Punycode labels, refused unless it
    is valid IDNA both ways and, where right-to-left, by the Bidi rule
    across every label (RFC 5893), which the idna package checks per label."""
    import idna

    try:
        domain = str(idna.decode(ascii_domain.encode("ascii")))
        _require_hostname_characters(domain)
        _require_safe(domain)
        if any(unicodedata.bidirectional(character) in ("R", "AL", "AN") for character in domain):
            for label in domain.split("."):
                idna.check_bidi(label, check_ltr=True)
        idna.encode(domain)
    except idna.IDNAError:
        raise NotAnAddress("the domain is not valid IDNA") from None
    return domain
