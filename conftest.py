"""Notebook cells that need real material: skipped with a reason where it is absent, never failed.

A notebook cell tagged ``needs-reference`` uses the authors' released features, weights or the
real example clips; one tagged ``needs-musicnn`` uses the musicnn wheel. The notebooks are stored
executed with that material present, so nbval compares those cells like any other where it can
be had (the course's CI has ``../shared/reference``, and reaches the package index). Elsewhere
this hook marks them skipped, with the reason, before nbval runs them. Such cells define nothing
that a later cell without the same tag uses.
"""

from __future__ import annotations

import pytest


def _missing(material: str) -> str | None:
    """Why ``material`` cannot be had on this machine, or ``None`` when it can."""
    import importlib.util
    from pathlib import Path

    # the test oracle tests/materials.py, loaded by its path (tests/ is not on sys.path under nbval)
    spec = importlib.util.spec_from_file_location("materials", Path(__file__).parent / "tests" / "materials.py")
    materials = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(materials)
    return materials.missing(material)


def pytest_collection_modifyitems(config, items):
    reasons: dict[str, str | None] = {}
    for item in items:
        cell = getattr(item, "cell", None)
        if not isinstance(cell, dict):
            continue
        for tag in cell.get("metadata", {}).get("tags", []):
            if tag.startswith("needs-"):
                material = tag[len("needs-"):]
                if material not in reasons:
                    reasons[material] = _missing(material)
                if reasons[material]:
                    item.add_marker(pytest.mark.skip(reason=f"{tag}: {reasons[material]}"))


# --- Training-dependent numbers: masked for nbval's comparison, checked against their ranges ---
# (the list and its rules: tests/notebook_numbers.py)

def _numbers():
    import importlib.util
    import sys
    from pathlib import Path

    if "notebook_numbers" not in sys.modules:
        path = Path(__file__).resolve().parent / "tests" / "notebook_numbers.py"
        spec = importlib.util.spec_from_file_location("notebook_numbers", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["notebook_numbers"] = module
        spec.loader.exec_module(module)
    return sys.modules["notebook_numbers"]


def _is_nbval_cell(item) -> bool:
    return isinstance(getattr(item, "cell", None), dict) and hasattr(item.parent, "sanitize_patterns")


@pytest.hookimpl(trylast=True)
def pytest_runtest_setup(item):
    """Once the notebook's kernel and its sanitiser file are set up, add its numbers' masks."""
    if not _is_nbval_cell(item) or getattr(item.parent, "_numbers_masked", False):
        return
    for entry in _numbers().for_notebook(item.path.name):
        pattern = entry.sanitizer()
        if pattern:
            item.parent.sanitize_patterns[pattern[0]] = pattern[1]
    item.parent._numbers_masked = True


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """After a cell ran, its training-dependent numbers must be in their ranges."""
    outcome = yield
    if not _is_nbval_cell(item) or outcome.excinfo is not None:
        return
    numbers = _numbers()
    text = numbers.output_text(getattr(item, "test_outputs", None) or [])
    problems = [p for e in numbers.for_notebook(item.path.name) for p in e.problems(text)]
    if problems:
        outcome.force_exception(AssertionError(
            f"{item.path.name}: a training-dependent number is out of its range "
            f"(tests/notebook_numbers.py): " + "; ".join(problems)))
