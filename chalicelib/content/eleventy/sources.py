"""Which files of a site are its content, as Eleventy decides it.

A content folder may be the site's whole repository. Its pages are the
template files (`templateFormats`: md, njk, html, liquid; the engine is the
last extension, so `team.md.njk` is Nunjucks); `_includes/` and `_site/`
hold layouts and output, `_data/` global data, and `node_modules/`, dot
folders and whatever `.eleventyignore` or `.gitignore` lists are not read at
all. Beside the pages, publishing reads the files that shape them: directory
data, global data, `site.toml` and the Netlify redirect files.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .problems import ContentError

TEMPLATE_ENGINES = ("md", "njk", "html", "liquid")
# package.json is Eleventy's `pkg` global.
SITE_FILES = ("site.toml", "netlify.toml", "_redirects", ".eleventyignore", ".gitignore", "package.json")
IGNORE_FILES = (".eleventyignore", ".gitignore")
INCLUDES, GLOBAL_DATA = "_includes", "_data"
# Never content, whatever the ignore files say (Eleventy ignores them too).
NEVER_READ = {"node_modules", "_site", INCLUDES}


def engine_of(name: str) -> str | None:
    """The template engine Eleventy picks for a file: its last extension."""
    suffix = PurePosixPath(name).suffix.lstrip(".").lower()
    return suffix if suffix in TEMPLATE_ENGINES else None


def is_directory_data(name: str) -> bool:
    path = PurePosixPath(name)
    folder = path.parent.name
    return bool(folder) and path.name in (f"{folder}.json", f"{folder}.11tydata.json")


def _is_js_data(name: str) -> bool:
    path = PurePosixPath(name)
    folder = path.parent.name
    in_data = path.parts[:1] == (GLOBAL_DATA,)
    beside = bool(folder) and path.name in (f"{folder}.js", f"{folder}.11tydata.js")
    return path.suffix == ".js" and (in_data or beside or path.name.endswith(".11tydata.js"))


def _is_global_data(name: str) -> bool:
    path = PurePosixPath(name)
    return path.parts[:1] == (GLOBAL_DATA,) and path.suffix == ".json"


@dataclass(frozen=True)
class IgnoreRules:
    """Lines of .eleventyignore and .gitignore: paths and globs relative to
    the content root; a line ending in / names a folder."""

    patterns: tuple[str, ...] = ()

    @classmethod
    def parse(cls, *texts: str) -> IgnoreRules:
        patterns = []
        for text in texts:
            for line in text.splitlines():
                line = line.strip()
                if line and not line.startswith(("#", "!")):
                    patterns.append(line.removeprefix("./").removeprefix("/"))
        return cls(tuple(patterns))

    def ignores(self, name: str) -> bool:
        parts = PurePosixPath(name).parts
        for pattern in self.patterns:
            folder = pattern.rstrip("/")
            # A pattern names the file, or any folder above it.
            for depth in range(1, len(parts) + 1):
                prefix = "/".join(parts[:depth])
                if fnmatch.fnmatchcase(prefix, folder) and (depth < len(parts) or not pattern.endswith("/")):
                    return True
        return False


def _ignore_rules(sources: Mapping[str, bytes]) -> IgnoreRules:
    return IgnoreRules.parse(
        *(sources[name].decode("utf-8", "replace") for name in IGNORE_FILES if name in sources)
    )


def _never_read(parts: tuple[str, ...]) -> bool:
    return any(part in NEVER_READ or part.startswith(".") for part in parts[:-1])


def _wanted(name: str) -> bool:
    """Whether publishing reads a file of this name at all."""
    path = PurePosixPath(name)
    if name in SITE_FILES:
        return True
    if _never_read(path.parts) or path.name.startswith("."):
        return False
    return bool(engine_of(name) or is_directory_data(name) or _is_global_data(name) or _is_js_data(name))


def read_directory(root: Path) -> dict[str, bytes]:
    """The content files of a folder, by path relative to it."""
    found: dict[str, bytes] = {}
    for file in sorted(root.rglob("*")):
        relative = file.relative_to(root).as_posix()
        if file.is_file() and _wanted(relative):
            found[relative] = file.read_bytes()
    rules = _ignore_rules(found)
    return {name: raw for name, raw in found.items() if name in SITE_FILES or not rules.ignores(name)}


@dataclass
class Classified:
    templates: list[str] = field(default_factory=list)
    directory_data: list[str] = field(default_factory=list)
    global_data: list[str] = field(default_factory=list)
    warnings: list[ContentError] = field(default_factory=list)


def classify(sources: Mapping[str, bytes]) -> Classified:
    """Sort a set of sources (relative names) into pages and data."""
    rules = _ignore_rules(sources)
    classified = Classified()
    for name in sorted(sources):
        if name in SITE_FILES or rules.ignores(name) or _never_read(PurePosixPath(name).parts):
            continue
        if _is_js_data(name):
            message = "JavaScript data files cannot be read here; skipped"
            classified.warnings.append(ContentError(name, message, rule="data-file", severity="warning"))
        elif _is_global_data(name):
            classified.global_data.append(name)
        elif is_directory_data(name):
            classified.directory_data.append(name)
        elif engine_of(name) and PurePosixPath(name).parts[0] != GLOBAL_DATA:
            classified.templates.append(name)
    return classified
