"""The package's import plan: folders that show its layers, no cycle, no upward import, and small.

A top-level *unit* of ``course_utils`` is one of its folders (``core``, ``audio``, ...) or a
top-level module (``stats``, ``cli``). Layers, bottom to top (a unit may import units of its own
layer and those below, never above, and the units never import each other in a cycle):

0. **foundation**: ``core`` (errors, settings and the data-tree layout, atomic files, cache keys,
   argument checks), ``fetch`` (the registry of remote files, downloads, checksums, archives);
1. **data**: ``audio``, ``synth``, ``datasets``, ``tasks``, ``stats`` (intervals and unit-length
   rows: plain NumPy, used from the models up);
2. **models**: ``models`` (the networks and their training), ``features`` (``ClipFeatures``);
3. **uses**: ``similarity``, ``svm``, ``own``;
4. **presentation**: ``teaching`` (plots, exercises), ``authoring``, ``cli``.

Imports inside functions count too: a lazy import is still a dependency. The figures of the
plan (units, import pairs between units, the longest chain) are checked against the targets of
issue 25; before the redesign the package had 45 top-level modules, 173 import pairs between
them (counted by this file's rules) and a longest chain of 14.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "course_utils"

#: Top-level unit -> layer. A new folder or top-level module must be placed here.
LAYERS = {
    "core": 0, "fetch": 0,
    "audio": 1, "synth": 1, "datasets": 1, "tasks": 1, "stats": 1,
    "models": 2, "features": 2,
    "similarity": 3, "svm": 3, "own": 3,
    "teaching": 4, "authoring": 4, "cli": 4, "__main__": 4,
}

#: Targets of issue 25 (today's figures are in the module docstring).
MAX_UNITS = 20
MAX_CHAIN = 10
MAX_PAIRS = 60  # about a third of the 173 pairs between the 45 modules before the redesign

#: Upward imports that are known and on their way out: (module, imported module) -> why.
KNOWN_UPWARD: dict = {}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _unit(module: str) -> str | None:
    """The top-level unit of a module (``None`` for the package root)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _imports(module: str, path: Path) -> set[str]:
    """The course_utils modules that ``module`` imports (at the top or inside functions)."""
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [f"{target}.{a.name}" for a in node.names]
            names = [n for n in names if n in MODULES] or [target]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        found.update(n for n in names if n in MODULES and n != module)
    return found


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}

#: Unit -> the other units it imports.
UNITS = {u for m in MODULES if (u := _unit(m))}
UNIT_GRAPH = {u: set() for u in UNITS}
for _m, _deps in GRAPH.items():
    for _d in _deps:
        if _unit(_m) and _unit(_d) and _unit(_d) != _unit(_m) and (_m, _d) not in KNOWN_UPWARD:
            UNIT_GRAPH[_unit(_m)].add(_unit(_d))


def longest_chain(graph: dict[str, set[str]]) -> int:
    """The number of units on the longest import chain (the graph must have no cycle)."""

    @functools.lru_cache(maxsize=None)
    def depth(u: str, seen: frozenset = frozenset()) -> int:
        return 1 + max((depth(v, seen | {u}) for v in graph[u] if v not in seen), default=0)

    return max(depth(u) for u in graph)


def plan_figures() -> dict:
    """Units, import pairs between them and the longest chain: the figures of the import plan."""
    return {"units": len(UNITS), "pairs": sum(len(v) for v in UNIT_GRAPH.values()),
            "chain": longest_chain(UNIT_GRAPH)}


def test_every_unit_has_a_layer():
    unplaced = sorted(u for u in UNITS if u not in LAYERS)
    assert not unplaced, f"place these folders or modules in tests/test_layers.py's LAYERS: {unplaced}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _unit(m)))
def test_no_module_imports_a_higher_layer(module):
    mine = LAYERS[_unit(module)]
    upward = sorted(d for d in GRAPH[module]
                    if _unit(d) and LAYERS[_unit(d)] > mine and (module, d) not in KNOWN_UPWARD)
    assert not upward, f"{module} (layer {mine}) imports higher layers: " + ", ".join(
        f"{d} ({LAYERS[_unit(d)]})" for d in upward)


def test_the_package_root_re_exports_nothing():
    """``course_utils/__init__`` imports nothing (it holds ``__version__``): every name is imported
    from its home, and a package ``__init__`` lists only its own folder's names."""
    assert not GRAPH["course_utils"], GRAPH["course_utils"]
    for module, path in MODULES.items():
        if path.name != "__init__.py" or not _unit(module):
            continue
        tree = ast.parse(path.read_text())
        listed = set()
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets):
                listed = {ast.literal_eval(e) for e in node.value.elts}
        foreign = sorted(a.asname or a.name for node in tree.body if isinstance(node, ast.ImportFrom)
                         and not (node.module or "").startswith(module + ".") for a in node.names)
        assert not listed & set(foreign), f"{module} lists names of other folders: {sorted(listed & set(foreign))}"


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                return stack[stack.index(d):] + [d]
            if d not in state and (found := visit(d)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_no_import_cycles_between_modules():
    graph = {m: {d for d in deps if d != "course_utils"} for m, deps in GRAPH.items()}
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_no_import_cycles_between_folders():
    cycle = _cycle(UNIT_GRAPH)
    assert cycle is None, "import cycle between top-level units: " + " -> ".join(cycle)


def test_the_import_plan_is_small():
    """Issue 25: at most about 20 units, a chain of at most 10, about a third of the 173 pairs."""
    figures = plan_figures()
    assert figures["units"] <= MAX_UNITS, figures
    assert figures["chain"] <= MAX_CHAIN, figures
    assert figures["pairs"] <= MAX_PAIRS, figures


if __name__ == "__main__":  # python tests/test_layers.py: print the figures
    print(plan_figures())
    for u in sorted(UNIT_GRAPH, key=lambda u: (LAYERS.get(u, 9), u)):
        print(f"{LAYERS.get(u, '?')} {u:12s} -> {', '.join(sorted(UNIT_GRAPH[u]))}")
