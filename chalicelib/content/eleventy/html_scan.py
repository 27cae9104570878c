"""One pass over a page's rendered body HTML, with the standard library's
parser, collecting what publishing needs of it: the links (for the
documents a page lists and the content checks), images, headings, tables,
element ids, the text of each block and the words (for reading time).

Parsing once per page keeps the checks cheap: the documents and the reading
time read the same pass."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
# Where a link's trailing text ("(PDF, 1.2 MB)") stops: documents.py has always read it so.
_TRAILING_ENDS = frozenset({"p", "li", "div", "td"})
# Elements whose start or end ends a run of prose (for sentences).
_BLOCKS = frozenset(
    {
        "p", "li", "div", "td", "th", "dd", "dt", "blockquote", "figcaption", "caption", "table",
        "tr", "ul", "ol", "dl", "section", "article", "aside", "header", "footer", "main", "nav",
        "details", "summary", "form", "fieldset", "hr", *HEADINGS,
    }
)  # fmt: skip
# Text in these is not prose.
_NOT_PROSE = frozenset({"script", "style", "pre", "code", "template"})


@dataclass
class Link:
    href: str
    label: str | None  # aria-label
    text: list[str] = field(default_factory=list)
    alts: list[str] = field(default_factory=list)  # the alt text of its images
    after: list[str] = field(default_factory=list)  # the text after it, to the end of its block

    @property
    def name(self) -> str:
        """What a screen reader reads for it: its aria-label, else its text
        and its images' alt text."""
        if self.label and self.label.strip():
            return " ".join(self.label.split())
        return " ".join([*"".join(self.text).split(), *" ".join(self.alts).split()])


@dataclass
class Image:
    src: str
    alt: str | None  # None: no alt attribute


@dataclass
class Heading:
    level: int
    text: list[str] = field(default_factory=list)


class PageScan(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[Link] = []
        self.images: list[Image] = []
        self.headings: list[Heading] = []
        self.tables: list[bool] = []  # whether each table, in order, has a header cell
        self.ids: set[str] = set()
        self.blocks: list[str] = []  # each run of prose's text
        self._texts: list[str] = []
        self._link: Link | None = None
        self._trailing: Link | None = None
        self._heading: Heading | None = None
        self._open_tables: list[int] = []
        self._block: list[str] = []
        self._not_prose = 0

    @property
    def words(self) -> int:
        return len(" ".join(self._texts).split())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and (name == "id" or (name == "name" and tag == "a")):
                self.ids.add(value)
        if tag in _BLOCKS:
            self._end_block()
        if tag == "a":
            self._start_link(attrs)
        elif tag == "img":
            alt = next(((value or "") for name, value in attrs if name == "alt"), None)
            self.images.append(Image(next((value or "" for name, value in attrs if name == "src"), ""), alt))
            if self._link is not None:
                self._link.alts.append(alt or "")
        elif tag in HEADINGS:
            self._heading = Heading(HEADINGS[tag])
            self.headings.append(self._heading)
        elif tag == "table":
            self._open_tables.append(len(self.tables))
            self.tables.append(False)
        elif tag == "th" and self._open_tables:
            self.tables[self._open_tables[-1]] = True
        elif tag in _NOT_PROSE:
            self._not_prose += 1

    def _start_link(self, attrs: list[tuple[str, str | None]]) -> None:
        # A link inside a link closes it, as browsers parse it.
        self._close_link()
        self._trailing = None
        found = dict(attrs)
        href = found.get("href")
        if href is not None:
            self._link = Link(href.strip(), found.get("aria-label"))
            self.links.append(self._link)

    def _close_link(self) -> None:
        if self._link is not None:
            self._trailing, self._link = self._link, None

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self._end_block()
        if tag == "a":
            self._close_link()
        elif tag in _TRAILING_ENDS:
            self._trailing = None
        if tag in HEADINGS:
            self._heading = None
        elif tag == "table" and self._open_tables:
            self._open_tables.pop()
        elif tag in _NOT_PROSE and self._not_prose:
            self._not_prose -= 1

    def handle_data(self, data: str) -> None:
        self._texts.append(data)
        if self._link is not None:
            self._link.text.append(data)
        elif self._trailing is not None:
            self._trailing.after.append(data)
        if self._heading is not None:
            self._heading.text.append(data)
        if not self._not_prose:
            self._block.append(data)

    def _end_block(self) -> None:
        if self._block:
            self.blocks.append("".join(self._block))
            self._block = []

    def close(self) -> None:
        super().close()
        self._end_block()


def scan(html: str) -> PageScan:
    parser = PageScan()
    parser.feed(html)
    parser.close()
    return parser
