"""Accessibility and content checks on every rendered page, at publish time:
what WCAG 2.2 AA and GOV.UK's content design ask of the content itself
(alt text, link text, headings, document links, titles...).

Each rule has a stable id and a level, `off`, `warning` or `error`, which
site.toml's `[checks]` can change (README, "Content checks"); a warning is
printed and published, an error refuses the set. A finding names the file,
the line of the source that holds the element (found by its address, alt
text or words: a template's loop or variable can hide it, and then the
line is the front matter's first), the rule and what to do. A message
quotes nothing of the page but a broken link's path or id (never its
words, alt text or email addresses): the indexer logs them.

The checks read each page's one parse (html_scan.py) and never change what
is rendered.
"""

from __future__ import annotations

import fnmatch
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote, urlsplit

from ..read.paths import InvalidPath, normalise_path
from .documents import document_type
from .front_matter import field_line
from .html_scan import Link, PageScan
from .netlify_redirects import RedirectPlan
from .problems import ContentError, Severity

Level = Literal["off", "warning", "error"]
LEVELS: tuple[Level, ...] = ("off", "warning", "error")
RULES: dict[str, Level] = {
    "image-alt": "warning",
    "link-text": "warning",
    "heading-order": "warning",
    "internal-link": "warning",
    "document-link": "warning",
    "mailto": "error",
    "table-header": "warning",
    "title": "warning",
    "metadesc": "warning",
    "long-sentence": "off",
}
MAX_ALT = 125  # GOV.UK content-publisher's limit
MAX_TITLE = 65  # GOV.UK's limit: search engines cut longer titles
MAX_METADESC = 160
MAX_SENTENCE_WORDS = 25  # GOV.UK's tech-docs linter
RIGHT_AFTER = 40  # characters after a document link that can give its type: " (PDF, 1.2 MB, 52 pages)"
VAGUE_LINK_TEXT = frozenset({"click here", "here", "read more", "more", "link", "this page"})
# The document types the rule asks a link to name, and the words that name them.
CHECKED_DOCUMENTS = frozenset(
    {"pdf", "doc", "docx", "odt", "ods", "odp", "xls", "xlsx", "csv", "ppt", "pptx"}
)
_TYPE_WORDS = re.compile(
    r"\b(?:(?i:pdf|docx?|odt|ods|odp|xlsx?|csv|pptx?)|Word|Excel|PowerPoint|OpenDocument)\b"
)
_FILE_NAME = re.compile(r"^[\w\-. ]*\.(?:jpe?g|png|gif|svg|webp|avif|bmp|tiff?|heic)$", re.IGNORECASE)
_IMAGE_OF = re.compile(r"^(?:image|picture) of\b", re.IGNORECASE)
_ADDRESS = re.compile(r"^[^@\s,;<>()\[\]\"]+@[\w-]+(?:\.[\w-]+)+$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_PUNCTUATION = " .,:;!?…-–—()[]\"'“”‘’"
# What can follow a piece of an address or a word, so it is not the whole of it.
_CONTINUES = frozenset("-_/.%@?=&#~:+")
# Fragments every page has.
_ANY_PAGE_FRAGMENTS = frozenset({"", "top"})

TABLE_HEADER = (
    "Give the table a header row (<th> cells, or Markdown's | --- | line under the first row), "
    "so screen readers can say what each cell is"
)
VAGUE_LINK = 'Say where the link goes: text like "click here" or "read more" means nothing out of context'
EMPTY_LINK = "Give the link text, an aria-label, or an image with alt text, so screen readers can name it"
MISSING_ALT = 'Add alt text describing the image, or alt="" if it is decorative'


@dataclass(frozen=True)
class ChecksConfig:
    """site.toml's `[checks]`: each rule's level where the site changes it,
    file globs each rule (or every rule) skips, whether page bodies carry
    their own h1, and URL path globs the site serves beyond its pages
    (static files, pages built elsewhere)."""

    levels: Mapping[str, Level] = field(default_factory=dict)
    ignore: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    ignore_all: tuple[str, ...] = ()
    body_h1: bool = True
    served: tuple[str, ...] = ()

    def level(self, rule: str) -> Level:
        return self.levels.get(rule, RULES[rule])

    def ignores(self, rule: str, file: str) -> bool:
        return any(_glob_matches(file, glob) for glob in (*self.ignore_all, *self.ignore.get(rule, ())))


def _glob_matches(file: str, glob: str) -> bool:
    """A glob matches from the content root or from any folder in it:
    `team/*.md` matches pages/team/alice.md."""
    glob = glob.removeprefix("./").lstrip("/")
    return fnmatch.fnmatchcase(file, glob) or fnmatch.fnmatchcase(file, "*/" + glob)


@dataclass
class Page:
    """What the checks read of a rendered page."""

    source: str
    path: str | None
    redirect_from: list[str]  # its old paths, which redirect to it
    title: str | None
    metadesc: str | None
    scan: PageScan
    raw: bytes  # the file: where its front matter fields are
    body: str  # the source of its body, and the file's line it starts on
    body_line: int


def check_site(
    pages: Sequence[Page],
    redirects: RedirectPlan,
    config: ChecksConfig,
    site_url: str = "",
    files: Sequence[str] = (),
) -> list[ContentError]:
    """Every finding on the pages, at the level site.toml gives its rule.
    `files`: the paths of what the site's other templates build (a sitemap,
    a feed), which links may name."""
    on: dict[str, Severity] = {rule: level for rule in RULES if (level := config.level(rule)) != "off"}
    if not on:
        return []
    site = _Site(pages, redirects, config, site_url, files)
    found: list[tuple[str, str, int, str]] = []
    for page in pages:
        found += ((page.source, *finding) for finding in _PageChecks(page, site, set(on)).run())
    if "title" in on:
        found += _titles(pages)
    findings = [
        ContentError(file, message, line, rule=rule, severity=on[rule])
        for file, rule, line, message in found
        if not config.ignores(rule, file)
    ]
    return sorted(findings, key=lambda finding: (finding.file, finding.line or 0))


def tally(findings: Sequence[ContentError]) -> str:
    """Findings counted by rule: "3 content check finding(s): 2 image-alt, 1 link-text"."""
    counts = Counter(finding.rule for finding in findings)
    by_rule = ", ".join(f"{count} {rule}" for rule, count in sorted(counts.items()))
    return f"{len(findings)} content check finding(s): {by_rule}" if findings else ""


class _Site:
    """What links are checked against: the pages, redirects and other
    paths the site serves."""

    def __init__(
        self,
        pages: Sequence[Page],
        redirects: RedirectPlan,
        config: ChecksConfig,
        site_url: str,
        files: Sequence[str],
    ):
        self.pages = {page.path: page for page in pages if page.path}
        # Paths served but not by a page: redirects and what other templates build.
        self.served_paths = {
            *redirects.redirects,
            *files,
            *(old for page in pages for old in page.redirect_from),
        }
        self.prefixes = tuple(prefix.from_prefix for prefix in redirects.prefixes)
        self.config = config
        self.host = urlsplit(site_url).netloc.lower() if site_url else ""

    def path_of(self, href: str) -> tuple[str, str] | None:
        """(path, fragment) of a link to the site, or None for a link elsewhere;
        a link to a fragment of its own page has path ""."""
        parts = urlsplit(href)
        if parts.scheme or parts.netloc:
            if (
                not self.host
                or parts.netloc.lower() != self.host
                or parts.scheme not in ("", "http", "https")
            ):
                return None
            return parts.path or "/", parts.fragment
        if href.startswith("#"):
            return "", parts.fragment
        return (parts.path, parts.fragment) if parts.path.startswith("/") else None

    def serves(self, path: str) -> Page | bool:
        """The page at a path, True if a redirect or a static file serves
        it, False if nothing does."""
        try:
            served = normalise_path(path)
        except InvalidPath:
            return False
        page = self.pages.get(served)
        if page is not None:
            return page
        return (
            served in self.served_paths
            or served.startswith(self.prefixes)
            or any(fnmatch.fnmatchcase(unquote(path), glob) for glob in self.config.served)
            or any(fnmatch.fnmatchcase(served, glob) for glob in self.config.served)
        )


class _PageChecks:
    def __init__(self, page: Page, site: _Site, on: set[str]) -> None:
        self.page = page
        self.scan = page.scan
        self.site = site
        self.on = on

    def run(self) -> Iterator[tuple[str, int, str]]:
        """(rule, line, message) of each finding."""
        if "image-alt" in self.on:
            yield from self.images()
        if self.on & {"link-text", "internal-link", "document-link", "mailto"}:
            yield from self.links()
        if "heading-order" in self.on:
            yield from self.headings()
        if "table-header" in self.on:
            for nth, has_header in enumerate(self.scan.tables):
                if not has_header:
                    yield "table-header", self.line("<table", nth=nth), TABLE_HEADER
        if "metadesc" in self.on and self.page.metadesc and len(self.page.metadesc) > MAX_METADESC:
            message = (
                f"Shorten the metadesc to {MAX_METADESC} characters or fewer (it has "
                f"{len(self.page.metadesc)}): search engines cut longer descriptions"
            )
            yield "metadesc", _front_matter_line(self.page, "metadesc"), message
        if "long-sentence" in self.on:
            yield from self.sentences()

    def line(self, *needles: str, nth: int = 0) -> int:
        """The line of the body's `nth` occurrence (or its last) of the first
        needle it holds: whole if it can be (`mailto:` is not the start of
        `mailto:nlc@...`), else as part of something longer."""
        body = self.page.body
        for whole in (True, False):
            for needle in needles:
                at = _find(body, needle, nth, whole) if needle else -1
                if at >= 0:
                    return self.page.body_line + body.count("\n", 0, at)
        return 1

    def images(self) -> Iterator[tuple[str, int, str]]:
        seen: Counter[str] = Counter()
        for image in self.scan.images:
            nth = seen[image.src]
            seen[image.src] += 1
            message = _alt_problem(image.alt)
            if message:
                yield "image-alt", self.line(image.src, image.alt or "", nth=nth), message

    def links(self) -> Iterator[tuple[str, int, str]]:
        seen: Counter[str] = Counter()
        for link in self.scan.links:
            nth = seen[link.href]
            seen[link.href] += 1
            for rule, message in self.link_problems(link):
                yield rule, self.line(link.href, link.name, nth=nth), message

    def link_problems(self, link: Link) -> Iterator[tuple[str, str]]:
        name = link.name
        if "link-text" in self.on:
            if not name:
                yield "link-text", EMPTY_LINK
            elif name.casefold().strip(_PUNCTUATION) in VAGUE_LINK_TEXT:
                yield "link-text", VAGUE_LINK
        if link.href.lower().startswith("mailto:"):
            if "mailto" in self.on:
                problem = _mailto_problem(link.href)
                if problem:
                    yield "mailto", problem
            return
        kind = document_type(link.href) if "document-link" in self.on else None
        right_after = "".join(link.after)[:RIGHT_AFTER]
        if kind in CHECKED_DOCUMENTS and not _TYPE_WORDS.search(" ".join([name, *link.text, right_after])):
            example = f"Annual report ({(kind or '').upper()}, 1.2 MB, 52 pages)"
            yield (
                "document-link",
                f'Say the file type in or right after the link, as GOV.UK does: "{example}"',
            )
        if "internal-link" in self.on:
            yield from self.internal_link(link.href)

    def internal_link(self, href: str) -> Iterator[tuple[str, str]]:
        target = self.site.path_of(href)
        if target is None:
            return
        path, fragment = target
        served = self.page if path == "" else self.site.serves(path)
        if served is False:
            yield (
                "internal-link",
                (
                    f"Nothing on the site is at {path}: correct the link, redirect the old path "
                    "(redirect_from, netlify.toml or _redirects), or list it in site.toml's [checks] served"
                ),
            )
        elif isinstance(served, Page) and not _names_an_id(fragment, served.scan.ids):
            where = "this page" if served is self.page else path
            yield (
                "internal-link",
                (
                    f'{where} has no element with id "{unquote(fragment)}": link to an id on that page, '
                    "or leave the #fragment out"
                ),
            )

    def headings(self) -> Iterator[tuple[str, int, str]]:
        previous = 1  # the page's h1: its layout's, or the body's own first heading
        seen: Counter[str] = Counter()
        for heading in self.scan.headings:
            text = " ".join("".join(heading.text).split())
            nth = seen[text]
            seen[text] += 1
            level = heading.level
            if level == 1 and not self.site.config.body_h1:
                message = (
                    "The layout gives the page its h1: make this an h2 "
                    "(or set body_h1 = true under [checks] in site.toml if bodies carry their h1)"
                )
                yield "heading-order", self.line(text, nth=nth), message
            elif level > previous + 1:
                message = (
                    f"An h{level} after an h{previous} skips a level: make it an h{previous + 1}, "
                    "so the headings outline the page"
                )
                yield "heading-order", self.line(text, nth=nth), message
            previous = level

    def sentences(self) -> Iterator[tuple[str, int, str]]:
        for block in self.scan.blocks:
            for sentence in _SENTENCE_END.split(" ".join(block.split())):
                words = sentence.split()
                if len(words) > MAX_SENTENCE_WORDS:
                    message = (
                        f"Split this sentence of {len(words)} words: GOV.UK's guidance is "
                        f"{MAX_SENTENCE_WORDS} at most"
                    )
                    yield "long-sentence", self.line(" ".join(words[:6]), " ".join(words[:3])), message


def _find(text: str, needle: str, nth: int, whole: bool) -> int:
    """Where the `nth` occurrence of `needle` is in `text` (its last, if
    fewer), or -1; `whole`: only where what follows cannot continue an
    address or a word."""
    at, found = -1, -1
    while nth >= 0:
        at = text.find(needle, at + 1)
        if at < 0:
            break
        after = text[at + len(needle) : at + len(needle) + 1]
        if whole and after and (after.isalnum() or after in _CONTINUES):
            continue
        found, nth = at, nth - 1
    return found


def _names_an_id(fragment: str, ids: set[str]) -> bool:
    """As a browser finds a fragment's element: by the fragment as written,
    then percent-decoded (heading ids can be percent-encoded: "a%2Fb")."""
    return fragment in _ANY_PAGE_FRAGMENTS or fragment in ids or unquote(fragment) in ids


def _alt_problem(alt: str | None) -> str | None:
    if alt is None:
        return MISSING_ALT
    text = alt.strip()
    if _FILE_NAME.match(text):
        return 'Replace the file name in the alt text with words describing the image, or alt="" if it is decorative'
    if _IMAGE_OF.match(text):
        return (
            'Leave out "image of" or "picture of": screen readers already say it is an image; '
            "describe what it shows"
        )
    if len(text) > MAX_ALT:
        return (
            f"Shorten the alt text to {MAX_ALT} characters or fewer (it has {len(text)}); "
            "describe the image in the page's text if it needs more"
        )
    return None


def _mailto_problem(href: str) -> str | None:
    address = unquote(href[len("mailto:") :].split("?", 1)[0]).strip()
    if not address:
        return None if "to=" in href.lower() else "Give the mailto: link an email address"
    if all(_ADDRESS.match(part.strip()) for part in address.split(",")):
        return None
    return "Correct the mailto: link's email address (no spaces; separate two addresses with a comma)"


def _titles(pages: Sequence[Page]) -> Iterator[tuple[str, str, int, str]]:
    """(file, rule, line, message) of each title finding: a page with a URL
    and no title, a title too long, and a title another page has."""
    first: dict[str, str] = {}
    for page in sorted(pages, key=lambda page: page.source):
        if page.path is None:
            continue
        title = " ".join((page.title or "").split())
        if not title:
            message = (
                "Give the page a title: browsers, search results and screen readers name it by its title"
            )
            yield page.source, "title", 1, message
            continue
        line = _front_matter_line(page, "title")
        if len(title) > MAX_TITLE:
            message = (
                f"Shorten the title to {MAX_TITLE} characters or fewer (it has {len(title)}): "
                "search engines cut longer titles"
            )
            yield page.source, "title", line, message
        other = first.setdefault(title.casefold(), page.source)
        if other != page.source:
            yield page.source, "title", line, f"Give the page a title of its own: {other} has the same one"


def _front_matter_line(page: Page, name: str) -> int:
    """The line of a front matter field; else the front matter's first line
    (the field came from directory data)."""
    lines = page.raw.decode("utf-8-sig", "replace").split("\n")[: page.body_line - 1]
    return field_line("\n".join(lines), name) or 1
