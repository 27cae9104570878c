"""URL paths and names as the site serves them. Pure: no AWS, no HTTP."""

from __future__ import annotations

import re
from urllib.parse import unquote

from ...errors import InvalidRequest

MAX_PATH_LENGTH = 1024
SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]{0,199}$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class InvalidPath(InvalidRequest):
    """Not a URL path the site could serve."""


def normalise_path(raw: str | None) -> str:
    """A site URL path as the site serves it: `/what-we-do/index.html`,
    `/what-we-do` and `/what-we-do/` all become `/what-we-do/`."""
    if raw is None or not raw.strip():
        raise InvalidPath("Give the page's URL path, like ?path=/what-we-do/")
    path = unquote(raw.strip())
    if len(path) > MAX_PATH_LENGTH or CONTROL.search(path):
        raise InvalidPath("That path is not a valid URL path.")
    if not path.startswith("/") or path.startswith("//"):
        raise InvalidPath("The path must start with a single /, like /what-we-do/")
    path = path.split("?", 1)[0].split("#", 1)[0]
    if any(segment in (".", "..") for segment in path.split("/")):
        raise InvalidPath("The path must not contain . or .. segments.")
    if path.endswith("/index.html"):
        path = path[: -len("index.html")]
    last = path.rsplit("/", 1)[-1]
    if last and "." not in last:
        path += "/"
    return path


def is_slug(value: str) -> bool:
    return bool(SLUG.match(value))
