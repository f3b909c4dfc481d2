"""Tests of the layout of the course_utils.synth package: its exports and its layers."""

import ast
import importlib
from pathlib import Path

from course_utils import synth

#: The package's modules from the bottom layer up: a module may import only those before it.
LAYERS = ("dsp", "theory", "additive", "instruments", "drums", "backing", "voice", "spoken", "pieces", "urban")
PACKAGE = Path(synth.__file__).parent


def test_public_names_are_exported_from_the_package():
    for name in synth.__all__:
        obj = getattr(synth, name)
        assert not isinstance(obj, type(synth)), f"synth.{name} is a module, not the public {name}"
    for name in ("note", "speech", "accompaniment", "choir", "render_piece", "urban_sound"):
        assert callable(getattr(synth, name))


def test_every_module_is_in_a_layer_and_imports_only_lower_layers():
    modules = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
    assert modules == sorted(LAYERS)
    for i, name in enumerate(LAYERS):
        tree = ast.parse((PACKAGE / f"{name}.py").read_text())
        imported = {node.module.rsplit(".", 1)[-1] for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("course_utils.synth.")}
        assert imported <= set(LAYERS[:i]), f"synth/{name}.py imports {sorted(imported - set(LAYERS[:i]))} from above"
        importlib.import_module(f"course_utils.synth.{name}")
