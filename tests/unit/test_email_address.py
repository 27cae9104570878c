"""The forms' address check accepts exactly what email-validator accepts with
the options the forms used it with (ASCII before the @-sign, no DNS), and
stores each address as the library's `ascii_email`: case by case over the
kinds of address the library's own tests cover, and over generated ones."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.submissions.email_address import NotAnAddress, normalise


def library(text: str) -> str | None:
    try:
        return validate_email(text, check_deliverability=False, allow_smtputf8=False).ascii_email
    except EmailNotValidError:
        return None


def ours(text: str) -> str | None:
    try:
        return normalise(text)
    except NotAnAddress:
        return None


LONG_LABEL = "a" * 63
LONG_DOMAIN = ".".join([LONG_LABEL] * 3) + ".uk"  # 194 octets
ACCEPTED = {
    "ada@example.com": "ada@example.com",
    "Ada.Lovelace@Example.CO.UK": "Ada.Lovelace@example.co.uk",
    "ada+forms/nlc=1@example.gov.uk": "ada+forms/nlc=1@example.gov.uk",
    "!#$%&'*+-/=?^_`.{|}~@example.org": "!#$%&'*+-/=?^_`.{|}~@example.org",
    "POSTMASTER@example.com": "postmaster@example.com",  # RFC 2142: any case is the same mailbox
    "Webmaster@example.com": "webmaster@example.com",
    "Ada@example.com": "Ada@example.com",  # other local parts keep their case
    "ada@bücher.de": "ada@xn--bcher-kva.de",
    "ada@BÜCHER.de": "ada@xn--bcher-kva.de",
    "jeff@臺網中心.tw": "jeff@xn--fiqq24b10vi0d.tw",
    "ada@xn--bcher-kva.de": "ada@xn--bcher-kva.de",
    "ada@example。com": "ada@example.com",  # an ideographic full stop separates labels too
    "ada@example\uff0ecom": "ada@example.com",  # and a full-width one
    "ada@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com": "ada@example.com",
    "ada@faß.de": "ada@xn--fa-hia.de",  # IDNA 2008 keeps the sharp s
    "ada@1.example.com": "ada@1.example.com",
    "ada@example.com-x.uk": "ada@example.com-x.uk",
    "a@" + LONG_DOMAIN: "a@" + LONG_DOMAIN,
    "a" * 59 + "@" + LONG_DOMAIN: "a" * 59 + "@" + LONG_DOMAIN,  # 254 octets, the most there can be
    "ada@xn--mnchen-3ya.com": "ada@xn--mnchen-3ya.com",
    "ada@例え.テスト": "ada@xn--r8jz45g.xn--zckzah",  # "test" only in ASCII is special-use
}
REFUSED = [
    "",
    "@",
    "ada",
    "ada@",
    "@example.com",
    "ada@@example.com",
    "ada@exa@mple.com",
    "ada example@example.com",
    "ada@exam ple.com",
    "ada@example.com\n",
    "ad\na@example.com",
    "ada\t@example.com",
    "ada\x00@example.com",
    ".ada@example.com",
    "ada.@example.com",
    "ad..a@example.com",
    '"ada"@example.com',  # quoted local parts are not accepted, needed or not
    '"ada lovelace"@example.com',
    'ad"a@example.com',
    "Ada Lovelace <ada@example.com>",  # a display name
    "<ada@example.com>",
    "ada(comment)@example.com",
    "ada@[127.0.0.1]",  # a domain literal
    "ada@[IPv6:::1]",
    "ada@localhost",
    "ada@example",  # no dot
    "ada@example.123",  # the top-level domain ends with a digit
    "ada@example.c0m-",
    "ada@.example.com",
    "ada@example.com.",
    "ada@example..com",
    "ada@-example.com",
    "ada@example-.com",
    "ada@ex_ample.com",
    "ada@ab--cd.com",  # reserved LDH label
    "ada@xn--.com",
    "ada@xn--abc-.com",
    "ada@xn--a.com",  # looks like Punycode, is not
    "ada@xn--ls8h.la",  # Punycode for a symbol
    "ada@example.localhost",
    "ada@example.local",
    "ada@example.test",
    "ada@example.invalid",
    "ada@example.onion",
    "ada@1.0.0.127.in-addr.arpa",
    "ada@" + "a" * 64 + ".com",  # a label past 63 octets
    "a@" + ".".join([LONG_LABEL] * 4) + ".uk",  # a domain past 253 octets
    "a" * 60 + "@" + LONG_DOMAIN,  # an address past 254 octets
    "ada@" + "ü" * 58 + ".com",  # within 63 characters, past 63 octets in Punycode
    "ádá@example.com",  # SES cannot send to a local part outside ASCII
    "ada@example\uff0e\uff0ecom",
    "ada@\uff0eexample.com",
    "ada@example.com\uff0e",
    "ada\uff20example.com",  # a full-width @-sign
    "ada﹫example.com",
    "ada@⒈example.com",  # would become a dot
    "ada@\u0301example.com",  # a combining mark with nothing to combine with
    "ada@exam\u200bple.com",  # zero-width space
    "ada@exam\u202eple.com",  # right-to-left override
    "ada@exam\u00adple.com",  # soft hyphen
    "ada@example\u3000com",  # ideographic space
    "ada@\ud800.com",  # a lone surrogate
    "ada@\ue000.com",  # private use
    "ada@1.xn--4dbc.com",  # the Bidi rule across labels
    "ada@☃.com",  # IDNA 2008 has no symbols
]


@pytest.mark.parametrize(("text", "stored"), ACCEPTED.items())
def test_an_address_the_library_accepts_is_stored_as_it_stores_it(text, stored):
    assert library(text) == stored
    assert normalise(text) == stored


@pytest.mark.parametrize("text", REFUSED)
def test_an_address_the_library_refuses_is_refused(text):
    assert library(text) is None
    with pytest.raises(NotAnAddress):
        normalise(text)


# Characters where the rules differ: atext and specials, the domain's own,
# case, and outside ASCII, letters from both directions, digits of other
# scripts, marks, joiners, separators that become dots, look-alikes of the
# @-sign and the hyphen, spaces and controls.
TRICKY = (
    "aAzZ09.-_+!#$%&'*/=?^`{|}~@\"<>()[],;:\\ \t\n\x00\x7f"
    "üÜßẞςΣ臺網é\u0301\u0338あア한글"
    "אבعربي\u0660\u06f1\u0967"
    "\u200c\u200d\u200b\u00ad\u202e\u2060"
    "。\uff0e｡\uff0d\uff20﹫⒈\uff45\uff21\u3000\u00a0\u2028"
)
LDH = "abcxyzXN0189-"


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=TRICKY, max_size=40))
def test_any_text_is_judged_as_the_library_judges_it(text):
    assert ours(text) == library(text)


labels = st.one_of(
    st.text(alphabet=LDH, min_size=1, max_size=12),
    st.text(alphabet=LDH + "üß臺אב\u0660\uff45。\uff0e\uff0d", min_size=1, max_size=8),
    st.sampled_from(
        ["xn--bcher-kva", "xn--zzzz", "xn--4dbc", "xn--", "ab--cd", "com", "uk", "test", "local"]
    ),
    st.just("a" * 63),
    st.just("a" * 64),
)
addresses = st.builds(
    lambda local, domain: f"{local}@{'.'.join(domain)}",
    st.text(alphabet="aZ09._+-'=é\"", min_size=0, max_size=12),
    st.lists(labels, min_size=1, max_size=5),
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(addresses)
def test_any_address_shaped_text_is_judged_as_the_library_judges_it(text):
    assert ours(text) == library(text)
