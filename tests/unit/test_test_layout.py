"""Where tests live and what they may touch: the folder is the tier, and no
test patches a private name of the project or of a library (the fake AWS's
hooks and the project's public seams, such as `clock`, are there for that)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import TESTS, TIERS


def files_under(folder: Path = TESTS) -> list[Path]:
    return sorted(path for path in folder.rglob("test_*.py") if "node_modules" not in path.parts)


def misplaced(folder: Path) -> list[str]:
    return [
        str(path.relative_to(folder))
        for path in files_under(folder)
        if path.relative_to(folder).parts[0] not in TIERS
    ]


def test_every_test_file_lives_in_a_tier_folder():
    assert len(files_under()) > 40
    assert misplaced(TESTS) == []


def test_a_test_file_outside_the_tier_folders_is_found(tmp_path):
    for name in ("unit/test_a.py", "api/test_b.py", "test_stray.py", "eleventy/test_c.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).touch()
    assert misplaced(tmp_path) == ["eleventy/test_c.py", "test_stray.py"]


def is_private(dotted: str) -> bool:
    return any(part.startswith("_") and not part.startswith("__") for part in dotted.split("."))


def private_patches(source: str) -> list[str]:
    """What a test module patches of a private name (`_name`): through
    `setattr`/`monkeypatch.setattr`, `patch`/`patch.object`, or assigning
    to an attribute of an imported module or class."""
    tree = ast.parse(source)
    imported = {
        alias.asname or alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            function = (
                node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            )
            if function in ("setattr", "delattr", "patch", "object"):
                found += [
                    f"line {node.lineno}: {argument.value}"
                    for argument in node.args[:2]
                    if isinstance(argument, ast.Constant)
                    and isinstance(argument.value, str)
                    and is_private(argument.value)
                ]
        elif isinstance(node, ast.Assign):
            found += [
                f"line {node.lineno}: {target.value.id}.{target.attr}"
                for target in node.targets
                if isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id in imported
                and is_private(target.attr)
            ]
    return found


# The lease's wait, until it waits on `clock.sleep` as the build hook does.
STILL_PATCHED = {"_pause"}


def test_no_test_patches_a_private_name():
    patched = {
        str(path.relative_to(TESTS)): found
        for path in files_under() + sorted(TESTS.glob("*.py"))
        if (
            found := [
                f
                for f in private_patches(path.read_text(encoding="utf-8"))
                if f.split(": ")[1] not in STILL_PATCHED
            ]
        )
    }
    assert patched == {}


@pytest.mark.parametrize(
    "source",
    [
        'monkeypatch.setattr(BaseClient, "_make_api_call", call)',
        'monkeypatch.setattr(publishing, "_reconcile", reconcile)',
        'monkeypatch.setattr("chalicelib.content.publishing.lease._pause", print)',
        'mock.patch("botocore.client.BaseClient._make_api_call")',
        'mock.patch.object(provision, "_deployed_rest_api", lambda stage: None)',
        'setattr(leases, "_pause", print)',
        "from botocore.client import BaseClient\nBaseClient._make_api_call = print",
    ],
)
def test_a_patch_of_a_private_name_is_found(source):
    assert len(private_patches(source)) == 1


def test_patches_of_public_names_are_not_found():
    source = (
        "from chalicelib import clock\n"
        'monkeypatch.setattr(clock, "sleep", print)\n'
        'monkeypatch.setattr("sys.stdin", None)\n'
        'monkeypatch.setattr(Publishing, "__doc__", "")\n'
        "clock.now = print\n"
        "self._calls = []\n"
    )
    assert private_patches(source) == []
