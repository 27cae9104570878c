"""A file's data as Eleventy gives it: YAML front matter merged over its
folders' directory data files, validated by `FrontMatter`."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import PurePosixPath
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError, field_validator

from .limits import MAX_FRONT_MATTER_DEPTH, MAX_FRONT_MATTER_VALUES
from .problems import ContentError, ContentInvalid


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


class _TooLarge(Exception):
    pass


class _BoundedLoader(yaml.SafeLoader):
    def fetch_flow_collection_start(self, token_class: Any) -> None:
        # Stops `[[[[...` at the scanner, before the parser recurses.
        if self.flow_level >= MAX_FRONT_MATTER_DEPTH:
            raise _TooLarge(f"values nest more than {MAX_FRONT_MATTER_DEPTH} deep")
        super().fetch_flow_collection_start(token_class)


def _load_yaml(text: str) -> Any:
    """YAML as the safe loader reads it, refusing what would expand past
    the limits: aliases can make a 300-byte text a billion values (and a
    cycle), and deep nesting crashes libyaml's C parser, so the pure-Python
    parser composes the node graph, which is measured before it is built."""
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _measure(node, {}, ())
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _measure(node: yaml.Node, sizes: dict[int, int], path: tuple[int, ...]) -> int:
    """Values in the node once aliases are expanded (each shared node is
    counted once per use, measured once)."""
    if id(node) in path:
        raise _TooLarge("an alias refers to a value that contains it")
    if len(path) > MAX_FRONT_MATTER_DEPTH:
        raise _TooLarge(f"values nest more than {MAX_FRONT_MATTER_DEPTH} deep")
    if id(node) not in sizes:
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        inner = (*path, id(node))
        sizes[id(node)] = 1 + sum(_measure(child, sizes, inner) for child in children)
    if sizes[id(node)] > MAX_FRONT_MATTER_VALUES:
        raise _TooLarge(f"its aliases expand to more than {MAX_FRONT_MATTER_VALUES:,} values")
    return sizes[id(node)]


def split_front_matter(name: str, text: str) -> tuple[dict, str, int]:
    """The YAML front matter, the body, and the body's first line number."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return {}, text, 1
    closing = next((index for index, line in enumerate(lines[1:], start=1) if line.rstrip() == "---"), None)
    if closing is None:
        raise ContentInvalid([ContentError(name, "front matter starts with --- but never ends with ---", 1)])
    try:
        front = _load_yaml("\n".join(lines[1:closing])) or {}
    except (_TooLarge, RecursionError) as error:
        reason = str(error) if isinstance(error, _TooLarge) else "values nest too deeply"
        raise ContentInvalid(
            [ContentError(name, f"front matter is too large to publish: {reason}", 2)]
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise ContentInvalid(
            [
                ContentError(
                    name, f"front matter is not valid YAML: {problem}", mark.line + 2 if mark else None
                )
            ]
        ) from None
    if not isinstance(front, dict):
        raise ContentInvalid([ContentError(name, "front matter must be a set of `name: value` fields", 2)])
    return front, "\n".join(lines[closing + 1 :]), closing + 2


def validate(name: str, text: str, data: dict) -> FrontMatter:
    try:
        return FrontMatter.model_validate(data)
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            field_name = ".".join(str(part) for part in problem["loc"]) or None
            top = str(problem["loc"][0]) if problem["loc"] else None
            problems.append(ContentError(name, _plain(problem), _field_line(text, top), field_name))
        raise ContentInvalid(problems) from None


def _plain(problem: Any) -> str:
    if problem["type"] == "missing":
        return "is required"
    message = str(problem["msg"])
    return message[0].lower() + message[1:]


def _field_line(text: str, field_name: str | None) -> int | None:
    if not field_name:
        return None
    pattern = re.compile(rf"^{re.escape(field_name)}\s*:")
    for number, line in enumerate(text.split("\n"), start=1):
        if pattern.match(line):
            return number
    return None


# Directory data -------------------------------------------------------------


def is_directory_data(name: str) -> bool:
    path = PurePosixPath(name)
    folder = path.parent.name
    return bool(folder) and path.name in (f"{folder}.json", f"{folder}.11tydata.json")


def parse_json(name: str, raw: bytes) -> dict:
    try:
        value = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ContentInvalid([ContentError(name, "is not UTF-8 text")]) from None
    except json.JSONDecodeError as error:
        raise ContentInvalid([ContentError(name, f"is not valid JSON: {error.msg}", error.lineno)]) from None
    except RecursionError:
        raise ContentInvalid([ContentError(name, "is not valid JSON: values nest too deeply")]) from None
    if not isinstance(value, dict):
        raise ContentInvalid([ContentError(name, "must hold a JSON object of default values")])
    return value


def directory_data(name: str, data_files: dict[str, dict]) -> dict:
    """Defaults from each enclosing folder's data file, outermost first."""
    merged: dict = {}
    for folder in reversed(PurePosixPath(name).parents):
        if not folder.name:
            continue
        for data_name in (f"{folder}/{folder.name}.json", f"{folder}/{folder.name}.11tydata.json"):
            if data_name in data_files:
                merged = deep_merge(merged, data_files[data_name])
    return merged


def deep_merge(base: dict, override: dict) -> dict:
    """Eleventy's data deep merge: objects merge, lists combine, the rest is
    replaced; `tags` given as one string counts as a list of one."""
    if isinstance(override.get("tags"), str):
        override = {**override, "tags": [override["tags"]]}
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        elif isinstance(value, list) and isinstance(merged.get(key), list):
            merged[key] = merged[key] + [item for item in value if item not in merged[key]]
        else:
            merged[key] = value
    return merged


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value
