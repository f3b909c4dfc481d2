"""course_utils.svm.grid.SVMGridSearch: the fast grid search with scikit-learn's result attributes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from course_utils.core.errors import CourseError
from course_utils.svm import grid, protocol
from course_utils.tasks.splits import kfold_splits


def _data(seed=0, n=60, d=5, k=3):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(k), n // k)
    X = rng.normal(size=(k, d))[y] + rng.normal(scale=1.2, size=(n, d))
    return X * rng.uniform(0.5, 3.0, size=d), y


def test_attributes_match_evaluate_task_and_gridsearchcv():
    from sklearn.model_selection import GridSearchCV

    X, y = _data()
    splits = kfold_splits(y, "classification", 4)
    search = grid.SVMGridSearch(cv=splits).fit(X, y)
    result = protocol.evaluate_task(X, y, splits, nested=False)
    assert search.best_params_ == result["best_params"] and search.best_score_ == result["best_score"]
    results = pd.DataFrame(search.cv_results_)
    assert len(results) == len(grid.param_grid()) == search.scores_.shape[0]
    assert results.loc[search.best_index_, "rank_test_score"] == 1
    assert results.loc[search.best_index_, "params"] == search.best_params_
    ref = GridSearchCV(grid._pipeline("classification"), grid._sklearn_grid(grid.param_grid()),
                       cv=splits, scoring="accuracy", refit=False).fit(X, y)
    for key in ("mean_test_score", "std_test_score", "split3_test_score"):
        np.testing.assert_allclose(search.cv_results_[key], ref.cv_results_[key], atol=0.02)


def test_cv_as_a_number_of_folds_and_bad_choices():
    X, y = _data(seed=1)
    search = grid.SVMGridSearch(protocol="corrected", cv=3).fit(X, y)
    assert search.n_splits_ == 3 and len(search.cv_results_["params"]) == 64
    assert np.isfinite(search.best_std_)
    with pytest.raises(CourseError, match="protocol"):
        grid.SVMGridSearch(protocol="nope").fit(X, y)
    with pytest.raises(CourseError, match="one row per label"):
        grid.SVMGridSearch().fit(X, y[:-1])
