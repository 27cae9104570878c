"""Eleventy 0.11 itself, run on a site, as the truth the API's rendering is
compared with. Needs Node.js and `cd tests/eleventy && npm ci`."""

from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "node_modules"
ELEVENTY = NODE_MODULES / "@11ty" / "eleventy" / "cmd.js"
FIXTURE_SITE = HERE.parent / "fixtures" / "eleventy-site"
# The fixture prints each collection's URLs here; it is excluded from collections.
COLLECTIONS_DEBUG = "/collections-debug.json"


def eleventy_available() -> bool:
    return shutil.which("node") is not None and ELEVENTY.is_file()


def build(site: Path = FIXTURE_SITE, timeout: float = 120) -> dict[str, str]:
    """Every file Eleventy writes for `site`, as {URL path: body}: a page
    written to x/index.html is "/x/", any other file its own path.

    Eleventy runs from the site's folder with --input=., as the site's own
    `npm run build` does, so page.inputPath is "./pages/..."; with TZ=UTC,
    since front matter dates are midnight UTC. NODE_PATH lets the site's
    .eleventy.js require markdown-it and markdown-it-anchor from here.

    No --config: Eleventy 0.11 always loads ./.eleventy.js from where it
    runs, and `--config=.eleventy.js` loads it a second time, which fails
    ("addCollection(mainNav) already exists")."""
    with tempfile.TemporaryDirectory(prefix="eleventy-") as output:
        environment = {**os.environ, "NODE_PATH": str(NODE_MODULES), "TZ": "UTC", "ELEVENTY_ENV": "test"}
        completed = subprocess.run(
            ["node", str(ELEVENTY), "--input=.", f"--output={output}", "--quiet"],
            cwd=site,
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if completed.returncode != 0:
            raise RuntimeError(
                f"Eleventy failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}"
            )
        pages: dict[str, str] = {}
        root = Path(output)
        for file in sorted(root.rglob("*")):
            if not file.is_file():
                continue
            relative = file.relative_to(root).as_posix()
            url = "/" + (
                relative[: -len("index.html")]
                if relative == "index.html" or relative.endswith("/index.html")
                else relative
            )
            pages[url] = file.read_text(encoding="utf-8")
        return pages


def collections(pages: dict[str, str]) -> dict[str, list[str]]:
    """Each collection's URLs in Eleventy's order, from the fixture's
    collections-debug.njk."""
    return json.loads(pages[COLLECTIONS_DEBUG])


def compare_pages(
    eleventy: dict[str, str], ours: dict[str, str], *, only: set[str] | None = None
) -> list[str]:
    """Differences between Eleventy's bodies and the API's, by URL path: a
    unified diff for each page whose body differs, and each page only one
    side has. `only` limits the comparison to those paths. Empty when the
    two agree."""
    paths = sorted((set(eleventy) | set(ours)) if only is None else only)
    problems = []
    for path in paths:
        if path not in eleventy:
            problems.append(f"{path}: the API publishes it, Eleventy does not")
        elif path not in ours:
            problems.append(f"{path}: Eleventy publishes it, the API does not")
        elif eleventy[path] != ours[path]:
            diff = difflib.unified_diff(
                eleventy[path].splitlines(keepends=True),
                ours[path].splitlines(keepends=True),
                fromfile=f"eleventy{path}",
                tofile=f"api{path}",
            )
            problems.append(f"{path}: bodies differ\n{''.join(diff)}")
    return problems
