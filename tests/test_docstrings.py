"""Docstrings that stay true: no caller lists, and every notebook back-link is real.

A docstring may end a sentence with a back-link to the notebooks that use the function, class or
module: "Notebook 04." or "Notebooks 01, 02 and 05.". This test checks each such notebook's code
really uses it (an attribute ``<module>.<name>``, or the name imported from ``course_utils``;
for a module, an import of it). Caller lists ("Used by ...") are not kept: they went stale.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "course_utils"
BACKLINK = re.compile(r"\bNotebooks? (\d\d(?:(?:, | and )\d\d)*)\.(?=\s|$)")


def _notebook_code() -> dict[str, str]:
    out = {}
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        out[path.name[:2]] = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return out


CODE = _notebook_code()


def _documented():
    """``(module, name or None, docstring)`` for every module and top-level function and class."""
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        tree = ast.parse(path.read_text())
        yield module, None, ast.get_docstring(tree) or ""
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                yield module, node.name, ast.get_docstring(node) or ""


DOCUMENTED = list(_documented())


def _uses(code: str, module: str, name: str | None) -> bool:
    short = module.rsplit(".", 1)[-1]
    if name is None:
        return bool(re.search(rf"from course_utils(\.\w+)* import [^\n]*\b{short}\b|"
                              rf"import {re.escape(module)}\b|from {re.escape(module)} import", code))
    return bool(re.search(rf"\b\w+\.{re.escape(name)}\b|from course_utils[\w.]* import [^\n]*\b{re.escape(name)}\b",
                          code))


def test_no_caller_lists():
    stale = [f"{m}.{n or ''}" for m, n, doc in DOCUMENTED if re.search(r"\bUsed (by|in)\b", doc)]
    assert not stale, f"drop the 'Used by' caller lists (keep a 'Notebook NN.' back-link): {stale}"


@pytest.mark.parametrize("module,name,doc", [d for d in DOCUMENTED if BACKLINK.search(d[2])],
                         ids=lambda v: v if isinstance(v, str) and not v.count("\n") else "")
def test_back_links_name_notebooks_that_use_it(module, name, doc):
    for match in BACKLINK.finditer(doc):
        for nb in re.findall(r"\d\d", match.group(1)):
            assert nb in CODE, f"{module}.{name}: notebook {nb} does not exist"
            assert _uses(CODE[nb], module, name), f"{module}.{name or ''}: notebook {nb} does not use it"


def test_the_back_link_check_catches_a_wrong_link():
    assert _uses("from course_utils import audio\naudio.quantize(y, 4)", "course_utils.audio.signal", "quantize")
    assert not _uses("from course_utils import audio\naudio.snr_db(y, z)", "course_utils.audio.signal", "quantize")
    assert _uses("from course_utils.teaching import exercises, plots", "course_utils.teaching.plots", None)
    assert not _uses("from course_utils.teaching import exercises", "course_utils.teaching.plots", None)
