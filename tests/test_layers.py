"""The package is layered, and every module is small enough to hold in your head.

Layers, bottom to top (a module may import its own layer and those below, never above):

0. **foundation**: errors, paths, caches and their keys, downloads, audio decoding and checks;
1. **data**: the synthesiser, the datasets, the transfer-task registry, the release layout, your
   own folders, the tag ground truth of similarity and its retrieval metrics (NumPy only);
2. **models**: the networks, their training, the pre-trained models, the clip-feature transformer,
   the siamese network;
3. **evaluation**: splits, the SVM searches and protocols, the classifier zoo, similarity search;
4. **presentation**: plots, exercises, the command line and the authoring tools.

Imports inside functions count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "course_utils"

#: Module (or subpackage prefix) -> layer. A new module must be placed here.
LAYERS = {
    "course_utils": 0, "errors": 0, "paths": 0, "report": 0, "metrics": 0, "cache": 0, "cache_keys": 0,
    "checksums": 0, "download_checks": 0, "archives": 0, "download": 0, "audio_headers": 0, "audio": 0,
    "validate": 0,
    "synth": 1, "datasets": 1, "tasks": 1, "release": 1, "own_data": 1, "ground_truth": 1, "retrieval_metrics": 1,
    "models": 2, "training": 2, "tagging": 2, "transfer": 2, "pretrained": 2, "musicnn": 2,
    "musicnn_original": 2, "clip_models": 2, "clip_features": 2, "siamese": 2,
    "splits": 3, "linear_svm": 3, "svm_grid": 3, "svm_report": 3, "evaluate": 3, "gtzan_filtered": 3,
    "classifiers": 3, "saved_classifiers": 3, "similarity": 3, "search_index": 3,
    "plots": 4, "exercises": 4, "materials": 4, "cli": 4, "__main__": 4, "authoring": 4,
}

#: At most this many lines in a module (issue 15: "about 600").
MAX_LINES = 600


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:
        return LAYERS["course_utils"]
    return LAYERS[parts[1]]


def _imports(module: str, path: Path) -> set[str]:
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
            names = [f"{target}.{a.name}" for a in node.names] + [target]
            names = [n for n in names[:-1] if n in MODULES] or [target]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        found.update(n for n in names if n in MODULES and n != module)
    return found


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}


def test_every_module_has_a_layer():
    unplaced = [m for m in MODULES if len(m.split(".")) > 1 and m.split(".")[1] not in LAYERS]
    assert not unplaced, f"place these modules in tests/test_layers.py's LAYERS: {unplaced}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_a_higher_layer(module):
    upward = sorted(d for d in GRAPH[module] if _layer(d) > _layer(module))
    assert not upward, f"{module} (layer {_layer(module)}) imports higher layers: " + ", ".join(
        f"{d} ({_layer(d)})" for d in upward)


def test_no_import_cycles():
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for d in sorted(GRAPH[m]):
            if d == "course_utils" or m == "course_utils":
                continue  # the package root re-exports; it is not a cycle to import errors through it
            if state.get(d) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(d):] + [d]))
            if d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(GRAPH):
        if m not in state:
            visit(m)


def test_modules_are_small():
    big = {m: n for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not big, f"modules over {MAX_LINES} lines (split them by job): {big}"
