"""The README as the front door, and the documentation site (mkdocs.yml,
docs/) as `make docs` builds it: strictly, so that a broken link or a page
left out of the nav fails the build."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.settings import PROJECT_DIR

README = PROJECT_DIR / "README.md"
MKDOCS = Path(sys.executable).with_name("mkdocs")
# [text](target) in Markdown, outside code; images too.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)


def _links(markdown: str) -> list[str]:
    return LINK.findall(CODE.sub("", markdown))


def _anchors(markdown: str) -> set[str]:
    """The ids MkDocs gives a page's headings (Python-Markdown's toc slugify)."""
    from markdown.extensions.toc import slugify

    headings = re.findall(r"(?m)^#{1,6} (.+)$", CODE.sub("", markdown))
    return {slugify(heading.replace("`", ""), "-") for heading in headings}


def test_readme_is_a_front_door():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    assert "make run" in text and "make test" in text


def test_every_relative_link_in_the_readme_resolves():
    relative = [link for link in _links(README.read_text(encoding="utf-8")) if "://" not in link]
    assert relative  # the docs pages, at least
    for link in relative:
        path, _, anchor = link.partition("#")
        target = (PROJECT_DIR / path) if path else README
        assert target.is_file(), f"README.md links to {link}, which is not there"
        if anchor:
            assert anchor in _anchors(target.read_text(encoding="utf-8")), f"no #{anchor} in {path}"


def _site(tmp_path: Path) -> Path:
    """A copy of what the docs build reads: its config, pages, hook and the
    files its pages include."""
    shutil.copytree(PROJECT_DIR / "docs", tmp_path / "docs")
    (tmp_path / "nlc_tools").mkdir()
    shutil.copy(PROJECT_DIR / "nlc_tools" / "docs_hooks.py", tmp_path / "nlc_tools")
    for name in ("mkdocs.yml", "README.md", "CHANGELOG.md"):
        shutil.copy(PROJECT_DIR / name, tmp_path)
    return tmp_path


def _build(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MKDOCS, "build", "--strict", "--site-dir", str(tree / "built")],
        cwd=tree,
        capture_output=True,
        text=True,
        env={"PATH": "", "NO_MKDOCS_2_WARNING": "1"},
    )


def test_the_docs_build_strictly_with_the_openapi_reference(tmp_path):
    tree = _site(tmp_path)
    run = _build(tree)
    assert run.returncode == 0, run.stderr
    # Rendered from the app's own document, and served beside it.
    from chalicelib.web import openapi

    page = (tree / "built" / "content-api.html").read_text(encoding="utf-8")
    for path in openapi.document()["paths"]:
        assert f"<code>{path}</code>" in page
    assert (tree / "built" / "openapi.json").is_file()


@pytest.mark.parametrize(
    "page, planted, complaint",
    [
        ("forms.md", "\n[gone](no-such-page.md)\n", "no-such-page.md"),
        ("forms.md", "\n[gone](testing.md#nowhere)\n", "#nowhere"),
        ("stray.md", "# Not in the nav\n", "stray.md"),
    ],
    ids=["broken link", "broken anchor", "page missing from the nav"],
)
def test_a_strict_build_fails_on(tmp_path, page, planted, complaint):
    tree = _site(tmp_path)
    with (tree / "docs" / page).open("a", encoding="utf-8") as markdown:
        markdown.write(planted)
    run = _build(tree)
    assert run.returncode == 1
    assert complaint in run.stderr
