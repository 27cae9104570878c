"""A file's data as Eleventy gives it: YAML front matter merged over its
folders' directory data files, validated by `FrontMatter`."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StrictStr,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError

from .limits import MAX_FRONT_MATTER_DEPTH, MAX_FRONT_MATTER_VALUES
from .problems import ContentError, ContentInvalid

MAX_ORDER = 10**9  # orders sort as fixed-width numbers in table keys


def _as_printed(value: Any) -> Any:
    """A display field as a template prints it: `navtitle: 404` is "404"."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise PydanticCustomError("scalar", "must be text, a number or a date, not a list or a set of fields")


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("number", "must be a number, like 2")
    if not -MAX_ORDER <= value <= MAX_ORDER:
        raise PydanticCustomError("number", f"must be between -{MAX_ORDER:,} and {MAX_ORDER:,}")
    return value


def _one_or_many(value: Any) -> Any:
    if value is None:
        return []
    return [value] if isinstance(value, str) else value


def _day(value: Any) -> Any:
    return value.date() if isinstance(value, dt.datetime) else value


Display = Annotated[str | None, BeforeValidator(_as_printed)]
Strings = Annotated[list[StrictStr], BeforeValidator(_one_or_many)]


class FrontMatter(BaseModel):
    """A page's data: its front matter over its directory data. No field is
    required. Fields the API only displays take any YAML scalar, as a
    template would print it; those it computes with are strict. Fields not
    named here are kept and returned as they are, nested objects included."""

    model_config = ConfigDict(extra="allow")

    title: Display = None
    metadesc: Display = None
    navtitle: Display = None
    layout: Display = None
    author: Display = None
    summary: Display = None
    permalink: StrictStr | Literal[False] | None = None
    tags: Strings = []
    order: Annotated[int | float, BeforeValidator(_number)] | None = None
    date: Annotated[dt.date, BeforeValidator(_day)] | None = None
    redirect_from: Strings = []
    alternative_format_contact: EmailStr | None = None
    eleventyExcludeFromCollections: StrictBool = False
    # A draft is never public; a page with `publish_at` becomes public then.
    # Left out of the record while false: public records are never drafts.
    draft: bool = Field(False, exclude_if=lambda draft: not draft, strict=True)
    publish_at: dt.datetime | None = None

    @field_validator("publish_at", mode="before")
    @classmethod
    def _moment(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):  # from JSON directory data; YAML reads timestamps itself
            with contextlib.suppress(ValueError):
                value = dt.datetime.fromisoformat(value)
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise ValueError("must be an ISO 8601 date and time with a timezone, like 2027-01-04T09:00:00Z")
        return value


class _TooLarge(Exception):
    pass


class _BoundedLoader(yaml.SafeLoader):
    def fetch_flow_collection_start(self, token_class: Any) -> None:
        # Stops `[[[[...` at the scanner, before the parser recurses.
        if self.flow_level >= MAX_FRONT_MATTER_DEPTH:
            raise _TooLarge(f"values nest more than {MAX_FRONT_MATTER_DEPTH} deep")
        super().fetch_flow_collection_start(token_class)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # A value Python cannot make (an integer of 5,000 digits) is a YAML
        # error at its node's line, like any other.
        try:
            return super().construct_object(node, deep)
        except (yaml.YAMLError, _TooLarge, RecursionError):
            raise
        except Exception as error:
            problem = str(error) or type(error).__name__
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from None


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
        raise ContentInvalid(
            [
                ContentError(
                    name, "front matter starts with --- but never ends with ---", 1, rule="front-matter"
                )
            ]
        )
    try:
        front = _load_yaml("\n".join(lines[1:closing])) or {}
    except (_TooLarge, RecursionError) as error:
        reason = str(error) if isinstance(error, _TooLarge) else "values nest too deeply"
        raise ContentInvalid(
            [ContentError(name, f"front matter is too large to publish: {reason}", 2, rule="front-matter")]
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise ContentInvalid(
            [
                ContentError(
                    name,
                    f"front matter is not valid YAML: {problem}",
                    mark.line + 2 if mark else None,
                    rule="front-matter",
                )
            ]
        ) from None
    if not isinstance(front, dict):
        raise ContentInvalid(
            [ContentError(name, "front matter must be a set of `name: value` fields", 2, rule="front-matter")]
        )
    return front, "\n".join(lines[closing + 1 :]), closing + 2


def validate(name: str, text: str, data: dict) -> FrontMatter:
    try:
        return FrontMatter.model_validate(data)
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            field_name = ".".join(str(part) for part in problem["loc"]) or None
            top = str(problem["loc"][0]) if problem["loc"] else None
            problems.append(
                ContentError(name, _plain(problem), field_line(text, top), field_name, "front-matter")
            )
        raise ContentInvalid(problems) from None


def _plain(problem: Any) -> str:
    if problem["type"] == "missing":
        return "is required"
    message = str(problem["msg"])
    return message[0].lower() + message[1:]


def field_line(text: str, field_name: str | None) -> int | None:
    if not field_name:
        return None
    pattern = re.compile(rf"^{re.escape(field_name)}\s*:")
    for number, line in enumerate(text.split("\n"), start=1):
        if pattern.match(line):
            return number
    return None


# Directory data -------------------------------------------------------------


def parse_json(name: str, raw: bytes) -> dict:
    try:
        value = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ContentInvalid([ContentError(name, "is not UTF-8 text", rule="encoding")]) from None
    except json.JSONDecodeError as error:
        raise ContentInvalid(
            [ContentError(name, f"is not valid JSON: {error.msg}", error.lineno, rule="data-file")]
        ) from None
    except RecursionError:
        raise ContentInvalid(
            [ContentError(name, "is not valid JSON: values nest too deeply", rule="data-file")]
        ) from None
    if not isinstance(value, dict):
        raise ContentInvalid(
            [ContentError(name, "must hold a JSON object of default values", rule="data-file")]
        )
    return value


def directory_data(name: str, data_files: dict[str, dict], *, deep: bool = True) -> dict:
    """Defaults from each enclosing folder's data file, outermost first."""
    merged: dict = {}
    for folder in reversed(PurePosixPath(name).parents):
        if not folder.name:
            continue
        for data_name in (f"{folder}/{folder.name}.json", f"{folder}/{folder.name}.11tydata.json"):
            if data_name in data_files:
                merged = merge(merged, data_files[data_name], deep=deep)
    return merged


def merge(base: dict, override: dict, *, deep: bool = True) -> dict:
    """Eleventy's data cascade, one level over another. With its data deep
    merge (the default from Eleventy 1.0), objects merge and lists combine,
    `tags` given as one string counting as a list of one; without it (0.x),
    each field of the override replaces the base's."""
    if not deep:
        return {**base, **override}
    if isinstance(override.get("tags"), str):
        override = {**override, "tags": [override["tags"]]}
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
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
