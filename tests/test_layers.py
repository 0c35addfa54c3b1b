"""Imports inside appliance/ only point down the layers of appliance.layers (lazy ones inside
functions too), and no two rooms depend on each other."""

import ast
import functools
from pathlib import Path

from appliance.layers import LAYERS

PACKAGE = Path(__file__).resolve().parent.parent / "appliance"
LAYER_OF = {room: depth for depth, rooms in enumerate(LAYERS) for room in rooms}


def _module(path: Path) -> list[str]:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _room(dotted: list[str]) -> str:
    """`appliance.store.jobs` -> `store`; the package itself -> `__init__`."""
    return dotted[1] if len(dotted) > 1 else "__init__"


def _is_module(dotted: list[str]) -> bool:
    path = PACKAGE.parent.joinpath(*dotted)
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imported(path: Path, node: ast.AST) -> list[list[str]]:
    """The appliance modules one import statement names (`from appliance import x`: x)."""
    if isinstance(node, ast.Import):
        return [alias.name.split(".") for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = _module(path) if path.name == "__init__.py" else _module(path)[:-1]
        base = base[: len(base) - node.level + 1]
    else:
        base = []
    base += node.module.split(".") if node.module else []
    named = [base + [alias.name] for alias in node.names]
    return [dotted if _is_module(dotted) else base for dotted in named]


@functools.cache
def _imports() -> tuple:
    """(file, line, importing room, imported room, import) for every import between rooms."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        room = _room(_module(path))
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            for dotted in _imported(path, node):
                if dotted[0] == "appliance" and _room(dotted) != room:
                    found.append((path.relative_to(PACKAGE.parent), node.lineno, room, _room(dotted), ".".join(dotted)))
    return tuple(found)


def test_every_room_has_a_layer():
    rooms = {_room(_module(path)) for path in PACKAGE.rglob("*.py")}
    assert sorted(rooms - set(LAYER_OF)) == [], "add the new room to appliance/layers.py"


def test_imports_only_point_down():
    wrong = [
        f"{path}:{line}: {room} (layer {LAYER_OF[room]}) imports {target} (layer {LAYER_OF[other]})"
        for path, line, room, other, target in _imports()
        if other in LAYER_OF and room in LAYER_OF and LAYER_OF[other] <= LAYER_OF[room]
    ]
    assert wrong == [], "imports sideways or up (see appliance/layers.py):\n" + "\n".join(wrong)


def test_no_two_rooms_depend_on_each_other():
    edges: dict[str, set[str]] = {}
    for _path, _line, room, other, _target in _imports():
        edges.setdefault(room, set()).add(other)

    def reachable(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    circles = sorted(room for room in edges if room in reachable(room))
    assert circles == [], f"rooms in an import circle: {circles}"


def test_the_check_sees_lazy_relative_and_from_package_imports():
    source = "def f():\n    from appliance.web import create_app\n    from . import jobs\n    from appliance import models\n"
    inside_store = PACKAGE / "store" / "calls.py"
    found = [dotted for node in ast.walk(ast.parse(source)) for dotted in _imported(inside_store, node)]
    assert found == [["appliance", "web"], ["appliance", "store", "jobs"], ["appliance", "models"]]
    assert [_room(dotted) for dotted in found] == ["web", "store", "models"]
