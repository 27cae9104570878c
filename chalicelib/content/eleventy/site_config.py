"""`site.toml`: what the API must know of a site's `.eleventy.js`, which it
cannot run.

    [collections.teamMembers]   # eleventyConfig.addCollection("teamMembers", ...)
    tag = "team"                # collection.getFilteredByTag("team")
    sort = "order"              # .sort((a, b) => a.data.order - b.data.order)

    [markdown]                  # markdown-it's options and plugins
    html = true
    breaks = true
    linkify = false
    anchors = true              # markdown-it-anchor

    data_deep_merge = true      # eleventyConfig.setDataDeepMerge(true)

A content root without site.toml gets the defaults: no custom collections,
the markdown settings above, and deep merge on (the API's behaviour before
site.toml existed). Note that Eleventy 0.11's own default is deep merge
OFF: a page's front matter `tags` then replaces its directory data's `tags`
instead of adding to them, so a site whose .eleventy.js does not call
setDataDeepMerge(true) needs `data_deep_merge = false` here.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .problems import ContentError, ContentInvalid

SITE_CONFIG_FILE = "site.toml"
RESERVED_COLLECTIONS = ("all",)  # Eleventy's own collection of every page
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")

T = TypeVar("T")

__all__ = [
    "SITE_CONFIG_FILE",
    "Collection",
    "MarkdownOptions",
    "SiteConfig",
    "load_site_config",
    "parse_site_config",
    "sort_collection",
]


@dataclass(frozen=True)
class Collection:
    """A custom collection: the pages tagged `tag`, sorted by the data field
    `sort` (None keeps Eleventy's default order: date, then input path)."""

    name: str
    tag: str
    sort: str | None = "order"


@dataclass(frozen=True)
class MarkdownOptions:
    html: bool = True
    breaks: bool = True
    linkify: bool = False
    anchors: bool = True


@dataclass(frozen=True)
class SiteConfig:
    collections: tuple[Collection, ...] = ()
    markdown: MarkdownOptions = field(default_factory=MarkdownOptions)
    data_deep_merge: bool = True

    def collection(self, name: str) -> Collection | None:
        return next((item for item in self.collections if item.name == name), None)


def load_site_config(sources: Mapping[str, bytes]) -> SiteConfig:
    """The site's configuration from its source files (names relative to
    the content root): site.toml's, or the defaults when there is none."""
    return parse_site_config(sources.get(SITE_CONFIG_FILE))


def parse_site_config(raw: bytes | str | None, *, file: str = SITE_CONFIG_FILE) -> SiteConfig:
    if raw is None:
        return SiteConfig()
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            at = raw[: error.start].count(b"\n") + 1
            raise ContentInvalid([ContentError(file, "is not UTF-8 text", line=at)]) from None
    else:
        text = raw
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        found = re.search(r"\(at line (\d+), column \d+\)", message)
        line = getattr(error, "lineno", None) or (int(found.group(1)) if found else None)
        plain = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", message)
        raise ContentInvalid([ContentError(file, f"is not valid TOML: {plain}", line=line)]) from None
    return _Reader(file, text).read(document)


class _Reader:
    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.lines = text.split("\n")
        self.problems: list[ContentError] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(ContentError(self.file, message, line=self.line_of(key), field=key))

    def line_of(self, dotted: str) -> int | None:
        """Where a key is written: `[a.b]` or `[[a.b]]` for a table, else
        `name =` under the right table header (or inline at the top)."""
        *tables, last = dotted.split(".")
        header = re.compile(
            r"^\s*\[\[?\s*" + r"\s*\.\s*".join(re.escape(part) for part in dotted.split(".")) + r"\s*\]\]?"
        )
        for number, line in enumerate(self.lines, start=1):
            if header.match(line):
                return number
        current: list[str] = []
        assignment = re.compile(r"^\s*" + re.escape(last) + r"\s*=")
        for number, line in enumerate(self.lines, start=1):
            table = re.match(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?", line)
            if table:
                current = [part.strip() for part in table.group(1).split(".")]
            elif assignment.match(line) and current == tables:
                return number
        return None

    def boolean(self, table: Mapping[str, Any], key: str, dotted: str, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.problem(dotted, f"must be true or false, not {_describe(value)}")
            return default
        return value

    def read(self, document: dict[str, Any]) -> SiteConfig:
        known = {"collections", "markdown", "data_deep_merge"}
        for key in document:
            if key not in known:
                self.problem(key, f"is not a setting site.toml knows (known: {', '.join(sorted(known))})")
        collections = self.collections(document.get("collections", {}))
        markdown = self.markdown(document.get("markdown", {}))
        deep_merge = self.boolean(document, "data_deep_merge", "data_deep_merge", True)
        if self.problems:
            raise ContentInvalid(self.problems)
        return SiteConfig(collections=collections, markdown=markdown, data_deep_merge=deep_merge)

    def collections(self, table: Any) -> tuple[Collection, ...]:
        if not isinstance(table, dict):
            self.problem(
                "collections", f"must be a table of [collections.NAME] tables, not {_describe(table)}"
            )
            return ()
        found = []
        for name, settings in table.items():
            dotted = f"collections.{name}"
            if not _NAME.match(name):
                self.problem(
                    dotted, "a collection's name must be letters, digits, _ and -, starting with a letter"
                )
                continue
            if name in RESERVED_COLLECTIONS:
                self.problem(dotted, f"{name} is Eleventy's own collection of every page")
                continue
            if not isinstance(settings, dict):
                self.problem(dotted, f"must be a table with tag and sort, not {_describe(settings)}")
                continue
            for key in settings:
                if key not in ("tag", "sort"):
                    self.problem(f"{dotted}.{key}", "is not a collection setting (known: sort, tag)")
            tag = settings.get("tag")
            if not isinstance(tag, str) or not tag.strip():
                what = "is required" if tag is None else f"must be a tag name, not {_describe(tag)}"
                self.problem(f"{dotted}.tag", what)
                continue
            sort = settings.get("sort", "order")
            if not isinstance(sort, str) or not sort.strip():
                self.problem(
                    f"{dotted}.sort", f"must be the name of a front matter field, not {_describe(sort)}"
                )
                continue
            found.append(Collection(name=name, tag=tag, sort=sort))
        return tuple(found)

    def markdown(self, table: Any) -> MarkdownOptions:
        if not isinstance(table, dict):
            self.problem("markdown", f"must be a table, not {_describe(table)}")
            return MarkdownOptions()
        defaults = MarkdownOptions()
        for key in table:
            if key not in ("html", "breaks", "linkify", "anchors"):
                self.problem(
                    f"markdown.{key}", "is not a markdown setting (known: anchors, breaks, html, linkify)"
                )
        return MarkdownOptions(
            **{
                key: self.boolean(table, key, f"markdown.{key}", getattr(defaults, key))
                for key in ("html", "breaks", "linkify", "anchors")
            }
        )


def _describe(value: Any) -> str:
    names = {
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "a boolean",
        list: "a list",
        dict: "a table",
    }
    return (
        f"{names.get(type(value), type(value).__name__)} ({value!r})"
        if not isinstance(value, (dict, list))
        else names[type(value)]
    )


def sort_collection[T](
    pages: Sequence[T], sort: str | None, data: Callable[[T], Mapping[str, Any]]
) -> list[T]:
    """A custom collection's order. `pages` must already be in Eleventy's
    default order (date, then input path), as getFilteredByTag gives them;
    the sort is stable (as Array.prototype.sort is in Node 12 and later), so
    pages with equal values keep that order. Pages without a number in the
    field sort after the rest: in Eleventy, `a.data.order - b.data.order`
    is NaN for them, which leaves their place up to the sort algorithm."""
    if sort is None:
        return list(pages)

    def key(page: T) -> tuple[int, float]:
        value = data(page).get(sort)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return (1, 0.0)
        return (0, float(value))

    return sorted(pages, key=key)
