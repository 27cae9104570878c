"""Rendering a site's files exactly as Eleventy renders them, so a site
publishes unchanged.

Each page's data is Eleventy's cascade: global data (`_data/*.json`), its
folders' directory data, then its front matter. Its body goes through the
engines its file name picks (`engines.py`), with `page` and `collections`
as Eleventy gives them: `all`, one per tag, and the custom collections
`site.toml` declares, each item with `url`, `data`, `templateContent`,
`fileSlug`, `inputPath` and `date`. Pages that list collections render after
the pages they list, as Eleventy orders them.

`build_site` validates and renders a whole set of files, raising
`ContentInvalid` with every problem found. Imported by publishing only:
never on a read request's path.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Literal

from ... import clock
from ..read.paths import InvalidPath, normalise_path
from ..read.records import PageRecord, PostRecord
from ..schedule import visible
from . import checks
from .budget import OverBudget, PublishBudget
from .documents import documents_in
from .engines import Engines, chain_for
from .front_matter import (
    FrontMatter,
    directory_data,
    field_line,
    jsonable,
    merge,
    parse_json,
    split_front_matter,
    validate,
)
from .html_scan import PageScan, scan
from .netlify_redirects import RedirectPlan, resolve_site_redirects
from .problems import ContentError, ContentInvalid, Severity, unexpected
from .site_config import SiteConfig, load_site_config, sort_collection
from .sources import SITE_FILES, classify, engine_of
from .storable import unstorable

# Bump when rendering changes, so the next publish rewrites every page.
RENDERER_VERSION = "2"
# Liquid's and Nunjucks's output and statement tags, and the word in them.
_TEMPLATE_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_COLLECTIONS = re.compile(r"\bcollections\b")

POSTS_FOLDER = "posts"
WORDS_PER_MINUTE = 200  # the npm reading-time package's speed, as Eleventy sites use
RESERVED_FIELDS = ("slug", "path", "html", "updated", "documents", "reading_time_minutes", "input_path")
_DATE_PREFIX = re.compile(r"^(\d{4}-\d{2}-\d{2})-(.+)$")
# UTF-8 once read as Windows-1252 (Centreâ€™s): a lead byte's character, then
# continuation bytes' characters.
_MISDECODED = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]+"
)
# Where a redirect rule is in its file: `line 3` in _redirects, `[[redirects]]
# #2 (line 5)` in netlify.toml (netlify_redirects.RedirectRule.where).
_RULE_LINE = re.compile(
    r"^(?:line (?P<line>\d+):? ?|(?P<entry>\[\[redirects\]\] #\d+) \(line (?P<entry_line>\d+)\))"
)
_LAST = "~"  # sorts after digits and letters: what has no value goes last


@dataclass
class RenderedPage:
    source: str
    fingerprint: str
    kind: Literal["page", "post"]
    slug: str
    path: str | None
    title: str | None
    tags: list[str]
    date: str | None
    redirect_from: list[str]
    documents: list[dict]
    alternative_format_contact: str | None
    # Whether lists and collections show it (eleventyExcludeFromCollections).
    listed: bool
    # Each collection the API serves it in, with its place there (a sort key).
    collections: dict[str, str]
    fields: dict = field(repr=False)  # the record's fields, except `updated`

    @property
    def label(self) -> str:
        """What to call the page where a title must be shown: a file need not have one."""
        return self.title or self.path or self.slug

    def record(self, updated: str) -> dict:
        model = PostRecord if self.kind == "post" else PageRecord
        validated = model.model_validate({**self.fields, "updated": updated})
        # A field the file never set is absent, not null.
        return validated.model_dump(mode="json", exclude_unset=True)


@dataclass
class Site:
    pages: list[RenderedPage]
    warnings: list[ContentError]
    redirects: RedirectPlan
    # What the redirects were worked out from: the rule files and the paths.
    redirects_fingerprint: str
    findings: list[ContentError] = field(default_factory=list)  # the content checks' warnings


@dataclass
class _Template:
    """A page whose data and address are known, not yet rendered."""

    name: str
    raw: bytes
    chain: tuple[str, ...]
    body: str
    body_line: int
    data: dict  # its directory data and front matter: what its record holds
    context: dict  # what its templates see, but collections
    matter: FrontMatter
    kind: Literal["page", "post"]
    slug: str
    path: str | None
    item: dict  # its entry in `collections`

    @property
    def uses_collections(self) -> bool:
        """Whether its template code reads `collections`: a page listing
        others renders anew when any page changes; prose that merely says
        the word does not. Markdown alone (no template engine) reads nothing."""
        if not any(engine in ("liquid", "njk") for engine in self.chain):
            return False
        return any(_COLLECTIONS.search(tag) for tag in _TEMPLATE_TAG.findall(self.body))


def build_site(sources: Mapping[str, bytes], site_url: str = "") -> Site:
    """Validate and render every page; raise ContentInvalid listing every
    problem found, so nothing is published from a broken set. Then check
    the pages (checks.py): their errors refuse the set too; `site_url`
    is where links to the site may be absolute."""
    errors: list[ContentError] = []
    warnings: list[ContentError] = []
    try:
        config = load_site_config(sources)
    except ContentInvalid as invalid:
        errors += invalid.errors
        config = SiteConfig()
    found = classify(sources)
    warnings += found.warnings
    data_files: dict[str, dict] = {}
    global_data: dict = {}
    for name in found.directory_data + found.global_data:
        try:
            parsed = parse_json(name, sources[name])
        except ContentInvalid as invalid:
            errors += invalid.errors
            continue
        if name in found.global_data:
            _place(global_data, PurePosixPath(name).relative_to("_data").with_suffix("").parts, parsed)
        else:
            data_files[name] = parsed

    if "package.json" in sources:
        try:
            global_data.setdefault("pkg", parse_json("package.json", sources["package.json"]))
        except ContentInvalid as invalid:
            errors += invalid.errors
    publish = PublishBudget()
    engines = Engines(config.markdown, publish)
    shared = _fingerprint_of_shared(sources, data_files)
    templates: list[_Template] = []
    files: list[str] = []  # what templates that are not pages build: a sitemap, a feed
    for name in found.templates:
        try:
            _count_data(name, sources[name], global_data, publish)
            template = _prepare(
                name, sources[name], global_data, data_files, config, engines, warnings, files
            )
        except ContentInvalid as invalid:
            errors += invalid.errors
            continue
        except Exception as error:  # any failure in one file is that file's refusal
            errors.append(unexpected(name, error))
            continue
        if template is not None:
            templates.append(template)

    due = _due(templates, clock.now())
    collections = _template_collections(due, config)
    # A listing changes when a scheduled page falls due, though no file does.
    everything = _digest(*(template.raw for template in templates), *(template.name for template in due))
    pages = []
    checked = []
    # Pages that list collections go last, so the pages they list have content.
    for template in sorted(templates, key=lambda template: template.uses_collections):
        try:
            html = engines.render(
                template.name,
                template.chain,
                template.body,
                template.body_line,
                {**template.context, "collections": collections},
            )
            template.item["templateContent"] = html
            scanned = scan(html)
            page = _page(template, html, scanned, config, "")
        except ContentInvalid as invalid:
            errors += invalid.errors
            continue
        except Exception as error:
            errors.append(unexpected(template.name, error))
            continue
        problems = unstorable(template.name, template.raw.decode("utf-8-sig"), page.fields)
        if problems:
            errors += problems
            continue
        depends_on: list[bytes | str] = [
            shared,
            template.raw,
            json.dumps(template.data, sort_keys=True, default=str),
        ]
        if template.uses_collections:
            depends_on.append(everything)
        page.fingerprint = _digest(*depends_on)
        pages.append(page)
        checked.append(
            checks.Page(
                page.source,
                page.path,
                page.redirect_from,
                page.title,
                template.matter.metadesc,
                scanned,
                template.raw,
                template.body,
                template.body_line,
            )
        )
    errors += _clashes(pages, sources)
    redirects = resolve_site_redirects(sources, [page.path for page in pages if page.path])
    errors += [_redirect_problem(problem, "error") for problem in redirects.errors]
    warnings += [_redirect_problem(problem, "warning") for problem in redirects.warnings]
    if errors:
        raise ContentInvalid(errors)
    findings = checks.check_site(checked, redirects, config.checks, site_url, files)
    refusing = [finding for finding in findings if finding.severity == "error"]
    if refusing:
        raise ContentInvalid(refusing)
    paths = "\n".join(sorted(page.path for page in pages if page.path)).encode()
    rule_files = [sources.get(name, b"") for name in ("netlify.toml", "_redirects")]
    return Site(pages, warnings, redirects, _digest(*rule_files, paths), findings)


def _redirect_problem(problem: str, severity: Severity) -> ContentError:
    """A redirect plan's problem, which starts with the rule's file name and
    where the rule is in it: the line goes where every problem's line goes."""
    file, _, message = problem.partition(" ")
    file, line = file.removesuffix(":"), None
    place = _RULE_LINE.match(message)
    if place:
        line = int(place["line"] or place["entry_line"])
        message = (place["entry"] or "") + message[place.end() :]
    # Each loop's message says so (netlify_redirects.plan_redirects).
    rule = "redirect-loop" if "loop" in message or "to itself" in message else "redirect"
    return ContentError(file, message, line, rule=rule, severity=severity)


def _count_data(name: str, raw: bytes, global_data: dict, publish: PublishBudget) -> None:
    """Count, once per page that names it, the global data the page is
    given: pages share it, but each can make it cost its size."""
    for key, value in global_data.items():
        if key.encode() in raw:
            try:
                publish.use_data(key, value)
            except OverBudget as over:
                raise ContentInvalid([ContentError(name, over.message, rule="data-file")]) from None


def _place(data: dict, parts: tuple[str, ...], value: Any) -> None:
    """Global data by file: `_data/site.json` is `site`; `_data/a/b.json` is `a.b`."""
    for part in parts[:-1]:
        data = data.setdefault(part, {})
    data[parts[-1]] = value


def _prepare(
    name: str,
    raw: bytes,
    global_data: dict,
    data_files: dict[str, dict],
    config: SiteConfig,
    engines: Engines,
    warnings: list[ContentError],
    files: list[str],
) -> _Template | None:
    text = _decode(name, raw, warnings)
    front, body, body_line = split_front_matter(name, text)
    deep = config.data_deep_merge
    data = merge(directory_data(name, data_files, deep=deep), front, deep=deep)
    source = PurePosixPath(name)
    kind: Literal["page", "post"] = "post" if POSTS_FOLDER in source.parts[:-1] else "page"
    dated = _DATE_PREFIX.match(source.stem)
    if kind == "post" and dated and "date" not in data:
        data["date"] = dated.group(1)
    matter = validate(name, text, data)
    reserved = [key for key in RESERVED_FIELDS if key in data]
    if reserved:
        raise ContentInvalid(
            [ContentError(name, "is set by the API; rename it", field=reserved[0], rule="front-matter")]
        )
    if kind == "post" and matter.date is None:
        message = "a post needs a date: in front matter or as a YYYY-MM-DD- file name prefix"
        raise ContentInvalid([ContentError(name, message, field="date", rule="front-matter")])

    engine = engine_of(name)
    assert engine is not None  # classify keeps template files only
    chain = chain_for(name, engine, data.get("templateEngineOverride"))
    slug = dated.group(2) if dated else source.stem
    if slug == "index":
        slug = source.parent.name or "index"
    date = dt.datetime.combine(matter.date, dt.time(), dt.UTC) if matter.date else None
    page = {
        "url": None,
        "fileSlug": slug,
        "filePathStem": "/" + source.with_suffix("").as_posix(),
        "inputPath": f"./{name}",
        "outputPath": None,
        "date": date,
    }
    # Global data is JSON already, and shared by every page, not copied.
    context = {**merge(global_data, jsonable(data), deep=deep), "page": page}
    if date is not None:
        context["date"] = date
    line = field_line(text, "permalink") or 1
    path = _path(name, engines, chain, matter.permalink, source, context, line)
    if path is not None and _is_file(path):
        message = f"skipped: its permalink {path} is not an HTML page"
        warnings.append(ContentError(name, message, rule="permalink", severity="warning"))
        files.append(path)
        return None
    page["url"] = path
    page["outputPath"] = _output_path(path)
    item = {key: page[key] for key in ("url", "fileSlug", "filePathStem", "inputPath", "outputPath", "date")}
    item.update(data=context, templateContent=None)
    return _Template(name, raw, chain, body, body_line, data, context, matter, kind, slug, path, item)


def _path(
    name: str,
    engines: Engines,
    chain: tuple[str, ...],
    permalink: str | Literal[False] | None,
    source: PurePosixPath,
    context: dict,
    line: int,
) -> str | None:
    if permalink is False:
        return None
    if permalink is None:
        folder = source.parent.as_posix()
        stem = "" if source.stem == "index" else source.stem
        # Always a folder: team.md.njk is /team.md/, as Eleventy writes it.
        raw = "/" + "".join(f"{part}/" for part in (folder, stem) if part not in ("", "."))
    else:
        # Written with the page's own template engine; relative to the site's root.
        engine = tuple(part for part in chain if part != "md")[:1] or ("liquid",)
        raw = engines.render(name, engine, permalink, line, context).strip()
        raw = raw if raw.startswith("/") else "/" + raw
    try:
        return normalise_path(raw)
    except InvalidPath as error:
        raise ContentInvalid(
            [ContentError(name, error.message, field="permalink", rule="permalink")]
        ) from None


def _is_file(path: str) -> bool:
    """A permalink to something other than an HTML page: /sitemap.xml, a feed."""
    last = path.rsplit("/", 1)[-1]
    return "." in last and not last.lower().endswith((".html", ".htm"))


def _output_path(path: str | None) -> str | None:
    if path is None:
        return None
    return f"_site{path}index.html" if path.endswith("/") else f"_site{path}"


def _default_order(template: _Template) -> tuple[int, str, str]:
    """Eleventy's order: by date, then input path. A file without a date
    goes last, by path: Eleventy would date it by the file's creation, which
    in a fresh clone is now."""
    date = template.matter.date
    return (0, date.isoformat(), template.name) if date else (1, "", template.name)


def _due(templates: list[_Template], now: float) -> list[_Template]:
    """The templates a visitor may see: no draft, nothing scheduled for later.
    Collections hold these only, as the public routes do."""
    return [
        template for template in templates if visible(template.matter.draft, template.matter.publish_at, now)
    ]


def _template_collections(templates: list[_Template], config: SiteConfig) -> dict[str, list[dict]]:
    listed = sorted((t for t in templates if not t.matter.eleventyExcludeFromCollections), key=_default_order)
    collections: dict[str, list[dict]] = {"all": [template.item for template in listed]}
    for template in listed:
        for tag in template.matter.tags:
            collections.setdefault(tag, []).append(template.item)
    for custom in config.collections:
        tagged = [template for template in listed if custom.tag in template.matter.tags]
        ordered = sort_collection(tagged, custom.sort, lambda template: template.data)
        collections[custom.name] = [template.item for template in ordered]  # hides a tag of that name
    return collections


def _number_rank(value: Any) -> str:
    """A number as a sort key that orders as the number does."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _LAST
    return f"{value + 10**9:021.6f}"


def _api_collections(template: _Template, config: SiteConfig) -> dict[str, str]:
    """The collections the API serves the page in, each with its sort key:
    a tag's in menu order (order, then title, then input path), a custom
    collection's in its declared order (its sort field, then Eleventy's)."""
    if template.matter.eleventyExcludeFromCollections:
        return {}
    matter = template.matter
    ranks = {
        tag: f"{_number_rank(matter.order)}#{(matter.title or '').casefold()}#{template.name}"
        for tag in matter.tags
    }
    date = matter.date.isoformat() if matter.date else _LAST
    for custom in config.collections:
        ranks.pop(custom.name, None)  # a custom collection hides a tag of its name
        if custom.tag in matter.tags:
            value = _number_rank(template.data.get(custom.sort)) if custom.sort else ""
            ranks[custom.name] = f"{value}#{date}#{template.name}"
    return ranks


def _page(
    template: _Template, html: str, scanned: PageScan, config: SiteConfig, fingerprint: str
) -> RenderedPage:
    matter = template.matter
    documents = documents_in(scanned.links)
    front = matter.model_dump(exclude={"redirect_from"}, exclude_unset=True)
    fields: dict[str, Any] = {
        **jsonable(front),
        "tags": matter.tags,
        "slug": template.slug,
        "path": template.path,
        "input_path": template.name,
        "html": html,
        "documents": documents,
    }
    if template.kind == "post":
        fields["reading_time_minutes"] = _reading_time(scanned.words)
    return RenderedPage(
        source=template.name,
        fingerprint=fingerprint,
        kind=template.kind,
        slug=template.slug,
        path=template.path,
        title=matter.title,
        tags=matter.tags,
        date=matter.date.isoformat() if matter.date else None,
        redirect_from=[_site_path(template.name, old) for old in matter.redirect_from],
        documents=documents,
        alternative_format_contact=matter.alternative_format_contact,
        listed=not matter.eleventyExcludeFromCollections,
        collections=_api_collections(template, config),
        fields=fields,
    )


def _clashes(pages: list[RenderedPage], sources: Mapping[str, bytes]) -> list[ContentError]:
    errors = []
    claimed: dict[tuple[str, str], str] = {}
    for page in pages:
        # Each claim with the front matter field it comes from, if any.
        claims: list[tuple[tuple[str, str], str | None]] = [((page.kind, page.slug), None)]
        claims += [(("path", page.path), "permalink")] if page.path else []
        claims += [(("path", path), "redirect_from") for path in page.redirect_from]
        for claim, field_name in claims:
            if claim in claimed:
                what = "URL path" if claim[0] == "path" else f"{claim[0]} name"
                text = sources[page.source].decode("utf-8-sig")
                line = field_line(text, field_name)
                rule = "duplicate-url" if claim[0] == "path" else "duplicate-name"
                message = f"{what} {claim[1]} is already used by {claimed[claim]}"
                errors.append(ContentError(page.source, message, line, rule=rule))
            else:
                claimed[claim] = page.source
    return errors


def _site_path(name: str, raw: str) -> str:
    try:
        return normalise_path(raw)
    except InvalidPath as error:
        raise ContentInvalid(
            [ContentError(name, error.message, field="redirect_from", rule="redirect-from")]
        ) from None


def _decode(name: str, raw: bytes, warnings: list[ContentError]) -> str:
    """The file's text, as Eleventy reads it. Text that looks mis-decoded
    (UTF-8 once read as Windows-1252) is served as it stands, as Eleventy
    would, with a warning naming the file so an editor can mend it."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ContentInvalid([ContentError(name, "is not UTF-8 text", line, rule="encoding")]) from None
    for match in _MISDECODED.finditer(text):
        try:
            meant = match.group().encode("cp1252").decode("utf-8")
        except UnicodeError:
            continue
        line = text.count("\n", 0, match.start()) + 1
        message = f"{match.group()!r} looks mis-decoded: did you mean {meant!r}?"
        warnings.append(ContentError(name, message, line, rule="encoding", severity="warning"))
        break
    return text


def _digest(*parts: bytes | str) -> str:
    digest = hashlib.sha256(RENDERER_VERSION.encode())
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()


def _fingerprint_of_shared(sources: Mapping[str, bytes], data_files: dict[str, dict]) -> str:
    """What every page's rendering depends on beyond its own file: the
    site's configuration and its global data."""
    shared = [name for name in sorted(sources) if name in SITE_FILES or name.startswith("_data/")]
    return _digest(*(name.encode() + b"\0" + sources[name] for name in shared))


def _reading_time(words: int) -> int:
    return max(1, math.ceil(words / WORDS_PER_MINUTE))
