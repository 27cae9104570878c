"""Tables return decoded rows: DynamoDB's attribute-value encoding
(`item["reference"]["S"]`) is read in `chalicelib/tables/` alone, so no
other module depends on how an item is stored. The tree as it stands keeps
to that, and a copy with one decoding planted outside `tables/` is caught."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from chalicelib.settings import PROJECT_DIR

# The type descriptors of an attribute value, as the low-level client gives them.
DESCRIPTORS = frozenset({"S", "N", "B", "BOOL", "M", "L", "SS", "NS"})


def encoded_reads(root: Path) -> list[str]:
    """Where a module of `root`'s chalicelib outside `tables/` subscripts a
    value by a type descriptor, as file:line."""
    package = root / "chalicelib"
    found = []
    for path in sorted(package.rglob("*.py")):
        if package / "tables" in path.parents:
            continue
        lines = {
            node.lineno
            for node in ast.walk(ast.parse(path.read_text(), str(path)))
            if isinstance(node, ast.Subscript)
            and isinstance(node.slice, ast.Constant)
            and node.slice.value in DESCRIPTORS
        }
        found += [f"{path.relative_to(root)}:{line}" for line in sorted(lines)]
    return found


def test_only_tables_read_attribute_values():
    assert len(list((PROJECT_DIR / "chalicelib").rglob("*.py"))) > 50
    assert encoded_reads(PROJECT_DIR) == []


@pytest.mark.parametrize(
    "planted",
    [
        'reference = item["x"]["S"]',
        'expires = int(item["expires_at"]["N"])',
        'body = zlib.decompress(stored["body"]["B"])',
        'names = item["tags"]["SS"]',
    ],
)
def test_a_planted_decoding_outside_tables_is_found(tmp_path, planted):
    for module in ("chalicelib/content/read/planted.py", "chalicelib/tables/planted.py"):
        (tmp_path / module).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / module).write_text(f'"""A module."""\n\n{planted}\nrow = item["x"]\n')
    assert encoded_reads(tmp_path) == ["chalicelib/content/read/planted.py:3"]
