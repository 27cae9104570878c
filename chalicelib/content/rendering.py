"""Rendering as Eleventy renders the site's files, so they publish unchanged.

A Markdown file's body goes through Liquid (the site's
`markdownTemplateEngine`) with its data, then markdown-it with the site's
options and markdown-it-anchor's heading ids. `build_site` validates and
renders a whole set of files, raising `ContentInvalid` with every problem.

Imported by publishing only: never on a read request's path.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Literal
from urllib.parse import quote

from .documents import find_documents, text_of
from .front_matter import (
    deep_merge,
    directory_data,
    is_directory_data,
    jsonable,
    parse_json,
    split_front_matter,
    validate,
)
from .limits import liquid_environment
from .paths import InvalidPath, normalise_path
from .problems import ContentError, ContentInvalid
from .records import PageRecord, PostRecord

# Bump when rendering changes, so the next publish rewrites every page.
RENDERER_VERSION = "1"

POSTS_FOLDER = "posts"
WORDS_PER_MINUTE = 200  # the npm reading-time package's speed, as Eleventy sites use
RESERVED_FIELDS = ("slug", "path", "html", "updated", "documents", "reading_time_minutes")
_DATE_PREFIX = re.compile(r"^(\d{4}-\d{2}-\d{2})-(.+)$")
# UTF-8 once read as Windows-1252 (Centreâ€™s): a lead byte's character, then
# continuation bytes' characters.
_MISDECODED = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]+"
)


@dataclass
class RenderedPage:
    source: str
    fingerprint: str
    kind: Literal["page", "post"]
    slug: str
    path: str | None
    title: str
    order: int | None
    tags: list[str]
    date: str | None
    redirect_from: list[str]
    documents: list[dict]
    alternative_format_contact: str | None
    fields: dict = field(repr=False)  # the record's fields, except `updated`

    def record(self, updated: str) -> dict:
        model = PostRecord if self.kind == "post" else PageRecord
        return model.model_validate({**self.fields, "updated": updated}).model_dump(mode="json")


@dataclass
class Site:
    pages: list[RenderedPage]
    warnings: list[str]


def build_site(sources: dict[str, bytes]) -> Site:
    """Validate and render every Markdown file; raise ContentInvalid listing
    every problem found, so nothing is published from a broken set."""
    renderer = _Renderer()
    errors: list[ContentError] = []
    warnings: list[str] = []
    data_files: dict[str, dict] = {}
    for name in sorted(sources):
        if is_directory_data(name):
            try:
                data_files[name] = parse_json(name, sources[name])
            except ContentInvalid as invalid:
                errors += invalid.errors

    pages = []
    for name in sorted(sources):
        if not name.endswith(".md"):
            continue
        try:
            pages.append(renderer.render(name, sources, data_files, warnings))
        except ContentInvalid as invalid:
            errors += invalid.errors
    errors += _clashes(pages)
    if errors:
        raise ContentInvalid(errors)
    return Site(pages=pages, warnings=warnings)


def _clashes(pages: list[RenderedPage]) -> list[ContentError]:
    errors = []
    claimed: dict[tuple[str, str], str] = {}
    for page in pages:
        claims: list[tuple[str, str]] = [(page.kind, page.slug)]
        claims += [("path", path) for path in [page.path, *page.redirect_from] if path]
        for claim in claims:
            if claim in claimed:
                what = "URL path" if claim[0] == "path" else f"{claim[0]} name"
                errors.append(
                    ContentError(page.source, f"{what} {claim[1]} is already used by {claimed[claim]}")
                )
            else:
                claimed[claim] = page.source
    return errors


class _Renderer:
    def __init__(self) -> None:
        from markdown_it import MarkdownIt
        from mdit_py_plugins.anchors import anchors_plugin

        # The site's markdown-it options; heading ids as markdown-it-anchor makes them.
        self.markdown = MarkdownIt(
            "js-default", {"html": True, "breaks": True, "linkify": False, "typographer": False}
        ).use(anchors_plugin, min_level=1, max_level=6, slug_func=anchor_slug)

        # Liquid runs no code, and the environment bounds what a body can
        # cost. Its loader holds no templates: {% include %} and {% render %}
        # fail, so a body can read no file.
        self.liquid = liquid_environment()

    def render(
        self, name: str, sources: dict[str, bytes], data_files: dict[str, dict], warnings: list[str]
    ) -> RenderedPage:
        raw = sources[name]
        text = _decode(name, raw, warnings)
        front, body, body_line = split_front_matter(name, text)
        data = deep_merge(directory_data(name, data_files), front)
        path_in_repo = PurePosixPath(name)
        kind: Literal["page", "post"] = "post" if POSTS_FOLDER in path_in_repo.parts[:-1] else "page"
        dated = _DATE_PREFIX.match(path_in_repo.stem)
        if kind == "post" and dated and "date" not in data:
            data["date"] = dated.group(1)
        matter = validate(name, text, data)
        reserved = [key for key in RESERVED_FIELDS if key in data]
        if reserved:
            raise ContentInvalid([ContentError(name, "is set by the API; rename it", field=reserved[0])])
        if kind == "post" and matter.date is None:
            raise ContentInvalid(
                [
                    ContentError(
                        name,
                        "a post needs a date: in front matter or as a YYYY-MM-DD- file name prefix",
                        field="date",
                    )
                ]
            )

        slug = dated.group(2) if dated else path_in_repo.stem
        if slug == "index":
            slug = path_in_repo.parent.name or "index"
        page_data: dict[str, Any] = {
            "url": None,
            "fileSlug": slug,
            "filePathStem": str(path_in_repo.with_suffix("")),
        }
        context = {**jsonable(data), "page": page_data}
        path = self._path(name, matter.permalink, path_in_repo, context)
        page_data["url"] = path
        html = self.markdown.render(self._liquid(name, body, body_line, context))

        documents = find_documents(html)
        fields: dict[str, Any] = {
            **jsonable(matter.model_dump(exclude={"redirect_from"}, exclude_none=True)),
            "slug": slug,
            "path": path,
            "html": html,
            "documents": documents,
        }
        if kind == "post":
            fields["reading_time_minutes"] = _reading_time(html)
        return RenderedPage(
            source=name,
            fingerprint=_fingerprint(name, raw, data_files),
            kind=kind,
            slug=slug,
            path=path,
            title=matter.title,
            order=matter.order,
            tags=matter.tags,
            date=matter.date.isoformat() if matter.date else None,
            redirect_from=[_site_path(name, old, "redirect_from") for old in matter.redirect_from],
            documents=documents,
            alternative_format_contact=matter.alternative_format_contact,
            fields=fields,
        )

    def _liquid(self, name: str, body: str, body_line: int, context: dict) -> str:
        from liquid.exceptions import Error as LiquidError

        try:
            return str(self.liquid.from_string(body).render(**context))
        except LiquidError as error:
            line = getattr(error, "linenum", None)
            message = str(error).split(", on line")[0]
            raise ContentInvalid(
                [ContentError(name, f"template error: {message}", body_line + line - 1 if line else None)]
            ) from None

    def _path(
        self, name: str, permalink: str | Literal[False] | None, source: PurePosixPath, context: dict
    ) -> str | None:
        if permalink is False:
            return None
        if permalink is None:
            folder = source.parent.as_posix()
            stem = "" if source.stem == "index" else source.stem
            parts = (part for part in (folder, stem) if part not in ("", "."))
            return _site_path(name, "/" + "/".join(parts), "permalink")
        return _site_path(name, self._liquid(name, permalink, 1, context), "permalink")


def _site_path(name: str, raw: str, field_name: str) -> str:
    try:
        return normalise_path(raw)
    except InvalidPath as error:
        raise ContentInvalid([ContentError(name, error.message, field=field_name)]) from None


def _decode(name: str, raw: bytes, warnings: list[str]) -> str:
    """The file's text, as Eleventy reads it. Text that looks mis-decoded
    (UTF-8 once read as Windows-1252) is served as it stands, as Eleventy
    would, with a warning naming the file so an editor can mend it."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ContentInvalid([ContentError(name, "is not UTF-8 text", line)]) from None
    for match in _MISDECODED.finditer(text):
        try:
            meant = match.group().encode("cp1252").decode("utf-8")
        except UnicodeError:
            continue
        line = text.count("\n", 0, match.start()) + 1
        warnings.append(f"{name}:{line}: {match.group()!r} looks mis-decoded: did you mean {meant!r}?")
        break
    return text


def _fingerprint(name: str, raw: bytes, data_files: dict[str, dict]) -> str:
    digest = hashlib.sha256(RENDERER_VERSION.encode())
    digest.update(raw)
    # Directory data is part of a page's content: a changed default republishes it.
    digest.update(json.dumps(directory_data(name, data_files), sort_keys=True, default=str).encode())
    return digest.hexdigest()


def anchor_slug(title: str) -> str:
    """markdown-it-anchor's default: encodeURIComponent of the trimmed,
    lower-cased title with runs of white space made hyphens."""
    return quote(re.sub(r"\s+", "-", title.strip().lower()), safe="-_.!~*'()")


def _reading_time(html: str) -> int:
    words = len(text_of(html).split())
    return max(1, math.ceil(words / WORDS_PER_MINUTE))
