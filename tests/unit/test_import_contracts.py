"""The layers' import contracts (pyproject.toml, run by `make lint`): the
tree as it stands keeps each one, and a copy of it with one reverse import
planted breaks the contract that forbids it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.settings import PROJECT_DIR

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONTRACTS = (
    "web-no-tables",
    "eleventy-pure",
    "tables-no-domain",
    "package-no-tools",
    "read-path-alone",
    "no-cycles",
)
# Each contract, with a module of the copy and the import that breaks it.
PLANTED = {
    "web-no-tables": ("chalicelib/web/content_api.py", "from ..tables import content_table"),
    "eleventy-pure": ("chalicelib/content/eleventy/problems.py", "from ... import aws"),
    "tables-no-domain": ("chalicelib/tables/submissions_table.py", "from ..submissions import submission"),
    "package-no-tools": ("chalicelib/settings.py", "import nlc_tools.cli"),
    "read-path-alone": ("chalicelib/content/read/paths.py", "from ..publishing import publish"),
    "no-cycles": ("chalicelib/web/openapi.py", "from . import content_api"),
}


def _copy(tmp_path: Path) -> Path:
    for package in ("chalicelib", "nlc_tools"):
        shutil.copytree(
            PROJECT_DIR / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(PROJECT_DIR / "pyproject.toml", tmp_path)
    return tmp_path


def _broken(tree: Path) -> set[str]:
    """The contracts the tree breaks, by id."""
    broken = set()
    for contract in CONTRACTS:
        run = subprocess.run(
            [LINT_IMPORTS, "--no-cache", "--no-logo", "--contract", contract],
            cwd=tree,
            env={"PYTHONPATH": str(tree), "PATH": ""},
            capture_output=True,
            text=True,
        )
        assert run.returncode in (0, 1), run.stdout + run.stderr
        if run.returncode:
            broken.add(contract)
    return broken


def test_every_contract_is_checked():
    text = (PROJECT_DIR / "pyproject.toml").read_text()
    assert {line.split('"')[1] for line in text.splitlines() if line.startswith("id = ")} == set(CONTRACTS)
    assert set(PLANTED) == set(CONTRACTS)


def test_the_tree_keeps_every_contract(tmp_path):
    assert _broken(_copy(tmp_path)) == set()


@pytest.mark.parametrize("contract", CONTRACTS)
def test_a_planted_reverse_import_breaks_its_contract(tmp_path, contract):
    tree = _copy(tmp_path)
    module, line = PLANTED[contract]
    path = tree / module
    path.write_text(path.read_text() + f"\n{line}  # noqa\n")
    assert contract in _broken(tree)
