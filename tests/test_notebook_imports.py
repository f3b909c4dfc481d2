"""Each notebook imports from a few of the package's modules (issue 25: at most about 8).

A notebook that reaches into many modules shows a package with no clear surface. This test counts,
per notebook, the distinct ``course_utils`` modules its code cells import from: ``from
course_utils.X import name`` counts ``course_utils.X.name`` when ``name`` is a module (a file or
folder of the package), else ``course_utils.X``; ``import course_utils.X`` counts ``course_utils.X``.
Command-line calls (``!python -m course_utils ...``) are not imports. ``python
tests/test_notebook_imports.py`` prints the modules of each notebook.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
#: "At most about 8": two notebooks (05, 06) need a ninth.
MAX_MODULES = 9


def _is_module(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def course_modules(notebook: Path) -> set[str]:
    """The ``course_utils`` modules a notebook's code cells import from."""
    found = set()
    for cell in json.loads(notebook.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        code = "\n".join(line for line in "".join(cell["source"]).splitlines()
                         if not line.lstrip().startswith(("!", "%")))
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("course_utils"):
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    found.add(sub if _is_module(sub) else node.module)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("course_utils"))
    return found


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_notebook_imports_few_modules(notebook):
    modules = course_modules(notebook)
    assert modules, f"{notebook.name} imports nothing from course_utils"
    assert len(modules) <= MAX_MODULES, f"{notebook.name} imports from {len(modules)} modules: {sorted(modules)}"


if __name__ == "__main__":
    for nb in NOTEBOOKS:
        mods = sorted(course_modules(nb))
        print(f"{nb.name[:2]}: {len(mods)}  {', '.join(m.removeprefix('course_utils.') for m in mods)}")
