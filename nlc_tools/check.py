"""`nlc-api check`: what publishing a content folder would refuse, and every
warning it would print, with no AWS call. `publish --dry-run` checks the
same way when the stage is out of reach.

Three formats: `text` is what `publish --dry-run` prints; `json` is for
tools; `github` is GitHub Actions' workflow commands, which put each problem
on the pull request's changed line."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chalicelib.content.eleventy.problems import ContentError

FORMATS = ("text", "json", "github")


@dataclass
class Checked:
    problems: list[ContentError]  # the errors, when any; else the warnings
    pages: int  # what would publish: none when refused
    refusal: str | None  # why publish would refuse the content

    def count(self, severity: str) -> int:
        return sum(problem.severity == severity for problem in self.problems)


def check(content: Path, report: Callable[[str], None]) -> Checked:
    """Validate and render the folder as a publish does; `report` hears what
    `publish --dry-run` prints. A folder that cannot be read raises PublishError."""
    from chalicelib.content.publishing import plan, publish

    try:
        summary = publish.publish_directory(content, dry_run=True, compare=False, report=report)
    except plan.PublishError as error:
        if not error.found:
            raise
        return Checked(error.found, 0, str(error))
    return Checked(summary.warnings, len(summary.created), None)


def as_json(checked: Checked) -> str:
    problems = [
        {
            "file": problem.file,
            "line": problem.line,
            "rule": problem.rule,
            "severity": problem.severity,
            "message": problem.text,
        }
        for problem in checked.problems
    ]
    return json.dumps({"problems": problems, "pages": checked.pages}, indent=2, ensure_ascii=False)


def as_github(checked: Checked) -> list[str]:
    """One workflow command a problem (GitHub shows it on the file's line),
    then a summary."""
    lines = []
    for problem in checked.problems:
        properties = {"file": problem.file, "line": problem.line, "title": problem.rule}
        written = ",".join(
            f"{name}={_escape_property(str(value))}"
            for name, value in properties.items()
            if value is not None
        )
        lines.append(f"::{problem.severity} {written}::{_escape_data(problem.text)}")
    lines.append(summary(checked))
    return lines


def summary(checked: Checked) -> str:
    counts = f"{checked.count('error')} error(s), {checked.count('warning')} warning(s)"
    if checked.refusal:
        return f"{counts}: publish would refuse this content"
    return f"{counts}: {checked.pages} page(s) would publish"


# GitHub's escaping of a workflow command's message and property values
# (@actions/core's command.ts): without it a newline ends the command, and a
# comma or colon in a value ends the property.
def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")
