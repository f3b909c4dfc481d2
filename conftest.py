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
