"""Where tests live and what they may touch: the folder is the tier."""

from __future__ import annotations

from pathlib import Path

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
