"""What is wrong with a set of content files, each problem naming the file,
and where known the line and field, so an editor can put it right."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ContentError:
    file: str
    message: str
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        return f"{where}: {self.field + ': ' if self.field else ''}{self.message}"


def unexpected(file: str, error: Exception) -> ContentError:
    """Any other failure on a file's way to publishing: still its refusal."""
    return ContentError(file, f"could not be published: {str(error) or type(error).__name__}")


class ContentInvalid(Exception):
    def __init__(self, errors: list[ContentError]) -> None:
        super().__init__(f"{len(errors)} content error(s)")
        self.errors = errors
