"""Notebook 06 writes the own-data evaluation in plain scikit-learn (``make_search``, ``nested_cv``);
``course-utils fit`` runs the package's version (``course_utils.own.classifiers``). This test runs the
notebook's definitions (read from its JSON) and the package's on seeded random grouped data and
checks that they predict every clip alike, so that the notebook's claim "the same number" holds
beyond its one folder."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import StratifiedGroupKFold

from course_utils.own import classifiers
from course_utils.tasks.splits import outer_splits

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "06_your_own_data.ipynb"


@pytest.fixture(scope="module")
def nb():
    """The notebook's imports and function definitions, run without the rest of its cells."""
    keep = []
    for cell in json.loads(NOTEBOOK.read_text())["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] != "code" or "\n!" in "\n" + source:  # a shell command (!...) is not Python
            continue
        keep += [n for n in ast.parse(source).body if isinstance(n, (ast.Import, ast.ImportFrom, ast.FunctionDef))]
    namespace: dict = {}
    exec(compile(ast.Module(body=keep, type_ignores=[]), str(NOTEBOOK), "exec"), namespace)
    return namespace


def _grouped(seed):
    rng = np.random.default_rng(seed)
    X, y, groups = [], [], []
    for c in range(4):
        centre = rng.normal(0, 1, 6)
        for song in range(12):
            offset = centre + rng.normal(0, 1, 6)
            for _ in range(3):
                X.append(offset + rng.normal(0, 0.5, 6))
                y.append(f"class{c}")
                groups.append(f"c{c}s{song}")
    return np.array(X), np.array(y), np.array(groups)


@pytest.mark.parametrize("seed", [0, 1])
def test_notebook_nested_cv_is_the_clis(nb, seed):
    X, y, groups = _grouped(seed)
    mine, folds = nb["nested_cv"](X, y, StratifiedGroupKFold(5, shuffle=True, random_state=0),
                                  StratifiedGroupKFold(3, shuffle=True, random_state=0), groups)
    pipe, grid = classifiers._search_space(("logreg", "rbf_svm"), (False,), 0)
    outer = outer_splits(y, groups=groups, n_splits=5, seed=0)
    theirs = classifiers.nested_cv(pipe, grid, X, y, outer, groups=groups, inner_folds=3, seed=0)
    np.testing.assert_array_equal(mine, theirs.predictions)
    assert len(folds) == 5


def test_notebook_search_space_is_the_clis(nb):
    search = nb["make_search"](StratifiedGroupKFold(3))
    pipe, grid = classifiers._search_space(("logreg", "rbf_svm"), (False,), 0)
    ours = [{k: [repr(v) for v in vals] for k, vals in g.items()} for g in search.param_grid]
    theirs = [{k: [repr(v) for v in vals] for k, vals in g.items() if k != "pca"} for g in grid]
    assert ours == theirs
