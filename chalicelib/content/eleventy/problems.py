"""What is wrong with a set of content files, each problem naming the file,
and where known the line and field, so an editor can put it right.

A problem is an error, which refuses the whole set, or a warning, which is
printed and published. `rule` is a stable kebab-case id for the kind of
problem (front-matter, template, redirect-loop, image-alt, ...): what
`nlc-api check` reports and what a workflow or an editor's tools can match
on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ...errors import Refused

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class ContentError:
    file: str
    message: str
    line: int | None = None
    field: str | None = None
    rule: str = "content"
    severity: Severity = "error"

    @property
    def text(self) -> str:
        """The message, after the field it is about."""
        return f"{self.field + ': ' if self.field else ''}{self.message}"

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        return f"{where}: {self.text}"

    def as_dict(self) -> dict:
        """As a JSON report carries it."""
        return {
            "file": self.file,
            "line": self.line,
            "rule": self.rule,
            "severity": self.severity,
            "message": self.text,
        }


def unexpected(file: str, error: Exception) -> ContentError:
    """Any other failure on a file's way to publishing: still its refusal."""
    return ContentError(
        file, f"could not be published: {str(error) or type(error).__name__}", rule="unexpected"
    )


class ContentInvalid(Refused):
    """Files that do not render; each problem names its file."""

    code = "content_invalid"

    def __init__(self, errors: list[ContentError]) -> None:
        super().__init__(f"{len(errors)} content error(s)")
        self.errors = errors
