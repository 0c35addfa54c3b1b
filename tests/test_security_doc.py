"""docs/security.md names the test that proves each row: every one it names exists. A test
renamed or deleted fails here, not silently in the checklist. A `::test_x` without a file is
the previous reference's file; a name ending in `*` stands for the tests it begins."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_REFERENCE = re.compile(r"`(tests/[\w/]+\.py)?::(test_\w+\*?)`|`(tests/[\w/]+\.py)`")


def references(text: str) -> list[tuple[str, str | None]]:
    found, last = [], None
    for line in text.splitlines():
        for match in _REFERENCE.finditer(line):
            if match[3]:
                last = match[3]
                found.append((last, None))
            else:
                last = match[1] or last
                found.append((last, match[2]))
    return found


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def test_every_test_the_checklist_names_exists():
    found = references((ROOT / "docs" / "security.md").read_text())
    assert len(found) > 20
    missing = []
    for file, name in found:
        if file is None or not (ROOT / file).is_file():
            missing.append(f"{file}::{name}")
            continue
        if name is None:
            continue
        names = _tests_in(ROOT / file)
        if not (name.rstrip("*") in names if not name.endswith("*") else any(n.startswith(name[:-1]) for n in names)):
            missing.append(f"{file}::{name}")
    assert not missing, "docs/security.md names tests that do not exist:\n" + "\n".join(missing)


def test_a_continuation_belongs_to_the_file_before_it():
    assert references("`tests/a.py::test_x`, `::test_y` and `tests/b.py`") == [
        ("tests/a.py", "test_x"), ("tests/a.py", "test_y"), ("tests/b.py", None)]
