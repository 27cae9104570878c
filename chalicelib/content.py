"""The content model and its rendering, following Eleventy's conventions so
the site's Markdown files publish unchanged.

A Markdown file's front matter, merged over its folders' directory data
files, is validated by `FrontMatter`. The body goes through Liquid (the
site's `markdownTemplateEngine`) with that data, then markdown-it with the
site's options. The records the API serves are built by the `*Record` models,
which also describe those responses in the OpenAPI document.

Imported by publishing only: never on a read request's path.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
import datetime as dt
from html.parser import HTMLParser
from pathlib import PurePosixPath
from typing import Any, Literal
from urllib.parse import quote, urlparse

import yaml
from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError, field_validator

from . import storage
from .http import ApiError

# Bump when rendering changes, so the next publish rewrites every page.
RENDERER_VERSION = "1"

POSTS_FOLDER = "posts"
WORDS_PER_MINUTE = 200  # the npm reading-time package's speed, as Eleventy sites use
RESERVED_FIELDS = ("slug", "path", "html", "updated", "documents", "reading_time_minutes")
DOCUMENT_TYPES = (
    "pdf", "doc", "docx", "odt", "ods", "odp", "rtf", "txt", "epub",
    "xls", "xlsx", "csv", "ppt", "pptx", "zip",
)  # fmt: skip
_DATE_PREFIX = re.compile(r"^(\d{4}-\d{2}-\d{2})-(.+)$")
_DOCUMENT_DETAILS = re.compile(
    r"\b(?P<type>" + "|".join(DOCUMENT_TYPES) + r")\s*,\s*(?P<size>\d+(?:\.\d+)?\s*[KMG]i?B)"
    r"(?:\s*,\s*(?P<pages>\d+)\s+pages?)?",
    re.IGNORECASE,
)


# Errors ----------------------------------------------------------------------


@dataclass(frozen=True)
class ContentError:
    file: str
    message: str
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        return f"{where}: {self.field + ': ' if self.field else ''}{self.message}"


class ContentInvalid(Exception):
    def __init__(self, errors: list[ContentError]) -> None:
        super().__init__(f"{len(errors)} content error(s)")
        self.errors = errors


# Front matter -------------------------------------------------------------------


class FrontMatter(BaseModel):
    """A page's data: its front matter over its directory data. Fields not
    named here are kept and returned as they are, nested objects included."""

    model_config = ConfigDict(extra="allow")

    title: str = Field(min_length=1)
    metadesc: str | None = None
    permalink: str | Literal[False] | None = None
    tags: list[str] = []
    navtitle: str | None = None
    order: int | None = None
    layout: str | None = None
    date: dt.date | None = None
    author: str | None = None
    summary: str | None = None
    redirect_from: list[str] = []
    alternative_format_contact: EmailStr | None = None

    @field_validator("tags", "redirect_from", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if value is None:
            return []
        return [value] if isinstance(value, str) else value

    @field_validator("date", mode="before")
    @classmethod
    def _day(cls, value: Any) -> Any:
        return value.date() if isinstance(value, dt.datetime) else value


# Records: what the API returns ---------------------------------------------------


class DocumentLink(BaseModel):
    url: str
    title: str
    type: str = Field(description="File type, like PDF")
    size: str | None = Field(None, description="Size as the content states it, like 1010KB")
    pages: int | None = Field(None, description="Page count where the content states it")


class LinkingPage(BaseModel):
    path: str | None
    title: str


class DocumentRecord(DocumentLink):
    linked_from: list[LinkingPage]
    alternative_format_contact: EmailStr | None = None


class PageSummary(BaseModel):
    """A page's front-matter fields at the top level, with where it lives."""

    model_config = ConfigDict(extra="allow")

    title: str
    slug: str
    path: str | None = Field(description="URL path on the site; null when permalink is false")
    tags: list[str] = []
    permalink: str | Literal[False] | None = None
    navtitle: str | None = None
    order: int | None = None
    metadesc: str | None = None
    layout: str | None = None
    updated: dt.datetime


class PageRecord(PageSummary):
    html: str
    documents: list[DocumentLink] = []


class PostSummary(PageSummary):
    date: dt.date
    author: str | None = None
    summary: str | None = None
    reading_time_minutes: int


class PostRecord(PostSummary):
    html: str
    documents: list[DocumentLink] = []


# Rendering -----------------------------------------------------------------------


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

    @staticmethod
    def summary(record: dict) -> dict:
        return {name: value for name, value in record.items() if name not in ("html", "documents")}


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
        if _is_directory_data(name):
            try:
                data_files[name] = _parse_json(name, sources[name])
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


def _is_directory_data(name: str) -> bool:
    path = PurePosixPath(name)
    folder = path.parent.name
    return bool(folder) and path.name in (f"{folder}.json", f"{folder}.11tydata.json")


def _parse_json(name: str, raw: bytes) -> dict:
    try:
        value = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ContentInvalid([ContentError(name, "is not UTF-8 text")]) from None
    except json.JSONDecodeError as error:
        raise ContentInvalid([ContentError(name, f"is not valid JSON: {error.msg}", error.lineno)]) from None
    if not isinstance(value, dict):
        raise ContentInvalid([ContentError(name, "must hold a JSON object of default values")])
    return value


def _directory_data(name: str, data_files: dict[str, dict]) -> dict:
    """Defaults from each enclosing folder's data file, outermost first."""
    merged: dict = {}
    folders = PurePosixPath(name).parents
    for folder in reversed(folders):
        if not folder.name:
            continue
        for data_name in (f"{folder}/{folder.name}.json", f"{folder}/{folder.name}.11tydata.json"):
            if data_name in data_files:
                merged = _deep_merge(merged, data_files[data_name])
    return merged


def _deep_merge(base: dict, override: dict) -> dict:
    """Eleventy's data deep merge: objects merge, lists combine, the rest is
    replaced; `tags` given as one string counts as a list of one."""
    override = {**override, "tags": [override["tags"]]} if isinstance(override.get("tags"), str) else override
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        elif isinstance(value, list) and isinstance(merged.get(key), list):
            merged[key] = merged[key] + [item for item in value if item not in merged[key]]
        else:
            merged[key] = value
    return merged


def _clashes(pages: list[RenderedPage]) -> list[ContentError]:
    errors = []
    claimed: dict[tuple[str, str], str] = {}
    for page in pages:
        claims = [(page.kind, page.slug)]
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
        import liquid
        from markdown_it import MarkdownIt
        from mdit_py_plugins.anchors import anchors_plugin

        # The site's markdown-it options; heading ids as markdown-it-anchor makes them.
        self.markdown = MarkdownIt(
            "js-default", {"html": True, "breaks": True, "linkify": False, "typographer": False}
        ).use(anchors_plugin, min_level=1, max_level=6, slug_func=_anchor_slug)
        class BoundedLiquid(liquid.Environment):
            # Liquid runs no code; these bound what a body's loops can cost.
            loop_iteration_limit = 10_000
            output_stream_limit = 5_000_000
            context_depth_limit = 30

        # The default loader holds no templates: {% include %} and {% render %}
        # fail, so a body can read no file.
        self.liquid = BoundedLiquid()

    def render(
        self, name: str, sources: dict[str, bytes], data_files: dict[str, dict], warnings: list[str]
    ) -> RenderedPage:
        raw = sources[name]
        text = _decode(name, raw, warnings)
        front, body, body_line = _split_front_matter(name, text)
        data = _deep_merge(_directory_data(name, data_files), front)
        path_in_repo = PurePosixPath(name)
        kind: Literal["page", "post"] = "post" if POSTS_FOLDER in path_in_repo.parts[:-1] else "page"
        dated = _DATE_PREFIX.match(path_in_repo.stem)
        if kind == "post" and dated and "date" not in data:
            data["date"] = dated.group(1)
        matter = _validate(name, text, data)
        reserved = [key for key in RESERVED_FIELDS if key in data]
        if reserved:
            raise ContentInvalid([ContentError(name, "is set by the API; rename it", field=reserved[0])])
        if kind == "post" and matter.date is None:
            raise ContentInvalid(
                [ContentError(name, "a post needs a date: in front matter or as a YYYY-MM-DD- file name prefix", field="date")]
            )

        slug = dated.group(2) if dated else path_in_repo.stem
        if slug == "index":
            slug = path_in_repo.parent.name or "index"
        page_data = {"url": None, "fileSlug": slug, "filePathStem": str(path_in_repo.with_suffix(""))}
        context = {**_jsonable(data), "page": page_data}
        path = self._path(name, matter.permalink, path_in_repo, context)
        page_data["url"] = path
        html = self.markdown.render(self._liquid(name, body, body_line, context))

        documents = _find_documents(html)
        fields: dict[str, Any] = {
            **_jsonable(matter.model_dump(exclude={"redirect_from"}, exclude_none=True)),
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
            redirect_from=[self._normalise(name, old, "redirect_from") for old in matter.redirect_from],
            documents=documents,
            alternative_format_contact=matter.alternative_format_contact,
            fields=fields,
        )

    def _liquid(self, name: str, body: str, body_line: int, context: dict) -> str:
        from liquid.exceptions import Error as LiquidError

        try:
            return self.liquid.from_string(body).render(**context)
        except LiquidError as error:
            line = getattr(error, "linenum", None)
            message = str(error).split(", on line")[0]
            raise ContentInvalid(
                [ContentError(name, f"template error: {message}", body_line + line - 1 if line else None)]
            ) from None

    def _path(self, name: str, permalink: str | Literal[False] | None, source: PurePosixPath, context: dict) -> str | None:
        if permalink is False:
            return None
        if permalink is None:
            folder = source.parent.as_posix()
            stem = "" if source.stem == "index" else source.stem
            return self._normalise(name, "/" + "/".join(part for part in (folder, stem) if part not in ("", ".")), "permalink")
        return self._normalise(name, self._liquid(name, permalink, 1, context), "permalink")

    @staticmethod
    def _normalise(name: str, raw: str, field_name: str) -> str:
        try:
            return storage.normalise_path(raw)
        except ApiError as error:
            raise ContentInvalid([ContentError(name, error.message, field=field_name)]) from None


def _decode(name: str, raw: bytes, warnings: list[str]) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ContentInvalid([ContentError(name, "is not UTF-8 text", line)]) from None
    import ftfy

    # UTF-8 once read as Windows-1252 (Centreâ€™s): repair it, and say where.
    repaired = ftfy.fix_encoding(text)
    if repaired != text:
        repaired_words = set(repaired.split())
        before = next((word for word in text.split() if word not in repaired_words), "")
        example = f", such as {before!r} to {ftfy.fix_encoding(before)!r}" if before else ""
        warnings.append(f"{name}: repaired mis-decoded text{example}")
    return repaired


def _split_front_matter(name: str, text: str) -> tuple[dict, str, int]:
    """The YAML front matter, the body, and the body's first line number."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return {}, text, 1
    for index, line in enumerate(lines[1:], start=1):
        if line.rstrip() == "---":
            break
    else:
        raise ContentInvalid([ContentError(name, "front matter starts with --- but never ends with ---", 1)])
    try:
        front = yaml.load("\n".join(lines[1:index]), Loader=_YAML_LOADER) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 2 if mark else None
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise ContentInvalid([ContentError(name, f"front matter is not valid YAML: {problem}", line)]) from None
    if not isinstance(front, dict):
        raise ContentInvalid([ContentError(name, "front matter must be a set of `name: value` fields", 2)])
    return front, "\n".join(lines[index + 1 :]), index + 2


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _validate(name: str, text: str, data: dict) -> FrontMatter:
    try:
        return FrontMatter.model_validate(data)
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            field_name = ".".join(str(part) for part in problem["loc"]) or None
            top = str(problem["loc"][0]) if problem["loc"] else None
            problems.append(
                ContentError(name, _plain(problem), _field_line(text, top), field_name)
            )
        raise ContentInvalid(problems) from None


def _plain(problem: dict) -> str:
    if problem["type"] == "missing":
        return "is required"
    return problem["msg"][0].lower() + problem["msg"][1:]


def _field_line(text: str, field_name: str | None) -> int | None:
    if not field_name:
        return None
    pattern = re.compile(rf"^{re.escape(field_name)}\s*:")
    for number, line in enumerate(text.split("\n"), start=1):
        if pattern.match(line):
            return number
    return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _fingerprint(name: str, raw: bytes, data_files: dict[str, dict]) -> str:
    digest = hashlib.sha256(RENDERER_VERSION.encode())
    digest.update(raw)
    # Directory data is part of a page's content: a changed default republishes it.
    digest.update(json.dumps(_directory_data(name, data_files), sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _anchor_slug(title: str) -> str:
    """markdown-it-anchor's default: encodeURIComponent of the trimmed,
    lower-cased title with runs of white space made hyphens."""
    return quote(re.sub(r"\s+", "-", title.strip().lower()), safe="-_.!~*'()")


def _reading_time(html: str) -> int:
    words = len(_TextOnly.of(html).split())
    return max(1, math.ceil(words / WORDS_PER_MINUTE))


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    @classmethod
    def of(cls, html: str) -> str:
        parser = cls()
        parser.feed(html)
        return " ".join(parser.parts)


class _DocumentLinks(HTMLParser):
    """Collects links to files, with their text and the text that follows,
    where the site states type, size and pages: "PDF, 1010KB, 52 pages"."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict] = []
        self._open: dict | None = None
        self._trailing: dict | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        self._trailing = None
        href = (dict(attrs).get("href") or "").strip()
        extension = PurePosixPath(urlparse(href).path).suffix.lower().lstrip(".")
        if extension in DOCUMENT_TYPES:
            self._open = {"url": href, "type": extension.upper(), "text": [], "after": []}

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            self.links.append(self._open)
            self._trailing, self._open = self._open, None
        elif tag in ("p", "li", "div", "td"):
            self._trailing = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open["text"].append(data)
        elif self._trailing is not None:
            self._trailing["after"].append(data)


def _find_documents(html: str) -> list[dict]:
    parser = _DocumentLinks()
    parser.feed(html)
    documents: dict[str, dict] = {}
    for link in parser.links:
        text = " ".join(" ".join(link["text"]).split())
        details = _DOCUMENT_DETAILS.search(text) or _DOCUMENT_DETAILS.search(" ".join(link["after"]))
        title = _DOCUMENT_DETAILS.sub("", text).strip(" ,()") if details else text
        title = " ".join(title.split()) or PurePosixPath(urlparse(link["url"]).path).name
        found = DocumentLink(
            url=link["url"],
            title=title,
            type=link["type"],
            size=details.group("size").replace(" ", "") if details else None,
            pages=int(details.group("pages")) if details and details.group("pages") else None,
        ).model_dump()
        documents.setdefault(found["url"], found)
    return list(documents.values())
