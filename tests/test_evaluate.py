"""Tests of course_utils.svm.protocol: the SVM protocol of Choi et al. (2017), fast and straightforward.

The checks on the authors' released features skip when ``../shared/reference/choi2017`` is absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from course_utils.core.errors import CourseError, DatasetError
from course_utils.svm import linear, report
from course_utils.svm.grid import _ipm_svr_fit_predict, param_grid
from course_utils.svm.protocol import evaluate_release, evaluate_task, paper_table
from course_utils.tasks import registry
from course_utils.tasks.release import load_labels, load_release
from course_utils.tasks.splits import cv_splits, inner_by_fold, inner_train_vs_valid, kfold_splits, predefined_folds, split_vs_test

RELEASE = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "choi2017"


@pytest.fixture
def release() -> Path:
    """The authors' released features and labels; skips when absent."""
    if not (RELEASE / "features").is_dir() or not (RELEASE / "labels").is_dir():
        pytest.skip(f"Choi et al. 2017 release not found at {RELEASE} (only present beside a course checkout)")
    return RELEASE


def _classification_data(seed=0, n=120, d=12, k=3):
    """Unstandardised features (different scales and offsets per column), as the release's."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(k), n // k)
    centers = rng.normal(size=(k, d))
    X = centers[y] + rng.normal(scale=1.5, size=(len(y), d))
    X = X * rng.uniform(0.2, 3.0, size=d) + rng.uniform(0, 5, size=d)
    return X, y


def _regression_data(seed=0, n=100, d=8):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.3, 2.0, size=d) + 1.0
    y = np.tanh(X @ rng.normal(scale=0.3, size=d)) + rng.normal(scale=0.1, size=n)
    return X, y


def _assert_methods_agree(X, y, splits, task_type, protocol="paper"):
    fast = evaluate_task(X, y, splits, task_type, protocol, method="fast", nested=False)
    slow = evaluate_task(X, y, splits, task_type, protocol, method="gridsearch", nested=False, n_jobs=1)
    a, b = fast["scores_per_param"], slow["scores_per_param"]
    assert len(a) == len(b) == len(param_grid(protocol))
    np.testing.assert_allclose(a["mean_score"], b["mean_score"], atol=0.005)
    assert fast["best_score"] == pytest.approx(slow["best_score"], abs=0.005)
    return fast, slow


# ---------------------------------------------------------------------------- grid and splits


def test_param_grid_has_the_papers_32_settings_and_64_when_corrected():
    grid = param_grid()
    assert len(grid) == 32 and not any(p["scale"] for p in grid)
    assert sum(p["kernel"] == "linear" for p in grid) == 4
    assert {p["gamma"] for p in grid if p["kernel"] == "rbf"} == {2.0 ** -i for i in (3, 5, 7, 9, 11, 13)} | {"auto"}
    corrected = param_grid("corrected")
    assert len(corrected) == 64 and sum(p["scale"] for p in corrected) == 32
    with pytest.raises(CourseError):
        param_grid("standardised")


def test_jamendo_split_is_train_and_valid_against_test():
    labels = pd.DataFrame({"label": [0, 1] * 6, "category": ["train"] * 6 + ["valid"] * 3 + ["test"] * 3})
    (train, test), = cv_splits("jamendo_vd", labels)
    assert list(train) == list(range(9)) and list(test) == [9, 10, 11]


def test_urbansound_splits_are_its_official_folds():
    folds = np.tile(np.arange(1, 11), 5)
    labels = pd.DataFrame({"label": np.arange(50) % 3, "fold": folds})
    splits = cv_splits("urbansound", labels)
    assert len(splits) == 10
    for k, (train, test) in enumerate(splits, start=1):
        assert set(folds[test]) == {k} and k not in set(folds[train]) and len(train) + len(test) == 50


def test_tenfold_splits_are_unshuffled_and_stratified():
    labels = pd.DataFrame({"label": np.repeat(np.arange(4), 20)})
    splits = cv_splits("gtzan_genre", labels)
    assert len(splits) == 10
    assert all(np.bincount(labels["label"].to_numpy()[te]).tolist() == [2, 2, 2, 2] for _, te in splits)
    assert list(splits[0][1]) == [0, 1, 20, 21, 40, 41, 60, 61]  # the authors' cv=10: no shuffling
    shuffled = cv_splits("gtzan_genre", labels, seed=3, shuffle=True)
    assert list(shuffled[0][1]) != list(splits[0][1])


def test_released_splits(release):
    jam = load_labels(release, "jamendo_vd")
    (train, test), = cv_splits("jamendo_vd", jam)
    assert set(jam["category"].iloc[train]) == {"train", "valid"} and set(jam["category"].iloc[test]) == {"test"}
    assert len(train) + len(test) == len(jam)
    us = load_labels(release, "urbansound")
    splits = cv_splits("urbansound", us)
    assert len(splits) == 10 and all(us["fold"].iloc[te].nunique() == 1 for _, te in splits)


# ---------------------------------------------------------------------------- loading


def test_load_release_layers_and_missing_file(release):
    X, y, groups = load_release(release, "gtzan_speechmusic", "01234")
    assert X.shape == (128, 160) and X.dtype == np.float64 and groups is None
    assert load_release(release, "gtzan_speechmusic", "24")[0].shape == (128, 64)
    assert load_release(release / "features", "gtzan_speechmusic", "01234+mfcc")[0].shape == (128, 280)
    Xa, ya, _ = load_release(release, "emoMusic_arousal", "0")
    assert Xa.shape == (744, 32) and ya.dtype == np.float64
    with pytest.raises(DatasetError, match="urbansound_mfcc.npy"):
        load_release(release, "urbansound", "mfcc")
    with pytest.raises(CourseError):
        load_release(release, "gtzan_speechmusic", "5")


def _tiny_release(root: Path) -> Path:
    """A release folder with gtzan_speechmusic features (random) and no MFCC file."""
    rng = np.random.default_rng(0)
    (root / "features").mkdir(parents=True)
    (root / "labels").mkdir()
    y = np.repeat([0, 1], 20)
    pd.DataFrame({"id": range(40), "filepath": [f"{i}.wav" for i in range(40)], "label": y}).to_csv(
        root / "labels" / "gtzan_speechmusic.csv")
    for i in range(5):
        np.save(root / "features" / f"gtzan_speechmusic_layer_{i}.npy", (rng.normal(size=(40, 32)) + y[:, None]).astype(np.float32))
    return root


def test_missing_feature_file_gives_nan_and_a_note(tmp_path):
    root = _tiny_release(tmp_path / "choi2017")
    with pytest.raises(DatasetError, match="gtzan_speechmusic_mfcc.npy"):
        load_release(root, "gtzan_speechmusic", "mfcc")
    df = paper_table(root, tasks=("gtzan_speechmusic",), progress=False)
    row = df.loc["gtzan_speechmusic"]
    assert np.isnan(row["mfcc_score"]) and "gtzan_speechmusic_mfcc.npy" in row["note"]
    assert row["01234_score"] > 0.9 and row["01234_published"] == 1.0
    text = report.format_table(df)
    assert "no standardisation" in text and "gtzan_speechmusic_mfcc.npy" in text


def test_released_urbansound_mfcc_is_missing_with_a_clear_note(release):
    df = paper_table(release, tasks=("urbansound",), layer_sets=("mfcc",), progress=False)
    assert np.isnan(df.loc["urbansound", "mfcc_score"])
    assert "urbansound_mfcc.npy" in df.loc["urbansound", "note"]
    assert df.loc["urbansound", "mfcc_published"] == 0.651


# ---------------------------------------------------------------------------- fast == gridsearch


def test_fast_equals_gridsearch_on_synthetic_classification():
    X, y = _classification_data()
    splits = kfold_splits(y, "classification", 5)
    fast, slow = _assert_methods_agree(X, y, splits, "classification")
    assert fast["best_params"] == slow["best_params"]


def test_fast_equals_gridsearch_on_synthetic_classification_corrected():
    X, y = _classification_data(seed=1, n=90)
    _assert_methods_agree(X, y, kfold_splits(y, "classification", 3), "classification", "corrected")


def test_fast_equals_gridsearch_on_synthetic_regression():
    X, y = _regression_data()
    _assert_methods_agree(X, y, kfold_splits(y, "regression", 5), "regression")


def test_interior_point_solver_matches_libsvm_on_linear_problems():
    from sklearn.svm import SVC, SVR

    X, y = _classification_data(seed=2, n=80, k=2)
    sign = np.where(y == 0, 1.0, -1.0)
    w, b, ok = linear.linear_svm_ipm(X, sign, np.ones(len(y)), C=0.5)
    ref = SVC(kernel="linear", C=0.5, tol=1e-6).fit(X, sign)  # decision > 0 means classes_[1] = +1
    assert ok
    np.testing.assert_allclose(X @ w + b, ref.decision_function(X), atol=1e-3 * np.abs(X @ w + b).max() + 1e-3)
    Xr, yr = _regression_data(seed=3, n=60)
    pred, ok = _ipm_svr_fit_predict(Xr, yr, Xr, 2.0)
    assert ok
    np.testing.assert_allclose(pred, SVR(kernel="linear", C=2.0, tol=1e-6).fit(Xr, yr).predict(Xr), atol=2e-3)


@pytest.mark.slow
def test_fast_equals_gridsearch_on_gtzan_speechmusic(release):
    labels = load_labels(release, "gtzan_speechmusic")
    for layers in ("01234", "mfcc"):
        X, y, _ = load_release(release, "gtzan_speechmusic", layers)
        _assert_methods_agree(X, y, cv_splits("gtzan_speechmusic", labels), "classification")


# ---------------------------------------------------------------------------- the paper's numbers


@pytest.mark.slow
def test_paper_protocol_reproduces_published_gtzan_scores(release):
    df = paper_table(release, tasks=("gtzan_genre", "gtzan_speechmusic"), layer_sets=("01234",), progress=False)
    assert df.loc["gtzan_genre", "01234_score"] == pytest.approx(0.898, abs=0.01)
    assert df.loc["gtzan_speechmusic", "01234_score"] == pytest.approx(1.000, abs=0.01)
    assert (df["01234_difference"].abs() < 0.01).all()
    assert df.attrs["protocol"] == "paper" and "no standardisation" in report.format_table(df)
    X, y, _ = load_release(release, "gtzan_speechmusic", "mfcc")
    res = evaluate_task(X, y, cv_splits("gtzan_speechmusic", load_labels(release, "gtzan_speechmusic")),
                           nested=False)
    assert res["best_score"] == pytest.approx(registry.PUBLISHED["gtzan_speechmusic"]["mfcc"], abs=0.01)


# ---------------------------------------------------------------------------- nested estimate


@pytest.mark.slow
def test_nested_score_is_at_most_the_best_score(release):
    X, y, _ = load_release(release, "gtzan_speechmusic", "mfcc")
    res = evaluate_task(X, y, cv_splits("gtzan_speechmusic", load_labels(release, "gtzan_speechmusic")),
                           "classification", nested=True)
    assert res["nested_score"] <= res["best_score"] + 1e-12
    assert len(res["nested_params"]) == 10


@pytest.mark.slow
def test_nested_score_on_synthetic_data_with_each_inner_split():
    X, y = _classification_data(seed=4, n=90)
    folds = np.tile([1, 2, 3], 30)
    split = np.tile(["train", "train", "valid", "test", "train", "train"], 15)
    res = evaluate_task(X, y, kfold_splits(y, "classification", 5), nested=True)
    assert res["nested_score"] <= res["best_score"] + 1e-12 and len(res["nested_params"]) == 5
    by_fold = evaluate_task(X, y, predefined_folds(folds), nested=True,
                               inner_cv=inner_by_fold(folds))
    assert len(by_fold["nested_params"]) == 3 and by_fold["nested_score"] <= by_fold["best_score"] + 1e-12
    on_valid = evaluate_task(X, y, split_vs_test(split), nested=True,
                                inner_cv=inner_train_vs_valid(split))
    assert on_valid["scores_per_param"].filter(like="split").shape[1] == 1


def test_results_are_cached(tmp_path, data_root):
    root = _tiny_release(tmp_path / "choi2017")
    first = evaluate_release(root, "gtzan_speechmusic", "01", cache=True)
    again = evaluate_release(root, "gtzan_speechmusic", "01", cache=True)
    assert not first["cached"] and again["cached"]
    assert [p.suffix for p in (data_root / "cache" / "release_scores").iterdir()] == [".json"]
    assert again["best_score"] == first["best_score"] and again["best_params"] == first["best_params"]
    pd.testing.assert_frame_equal(again["scores_per_param"], first["scores_per_param"], check_dtype=False)


def test_a_feature_file_of_objects_is_refused_in_one_line(tmp_path, capsys):
    """Issue 16: an object (pickled) .npy in --release-dir is never unpickled, and no traceback."""
    from course_utils import cli

    root = _tiny_release(tmp_path / "choi2017")
    bad = root / "features" / "gtzan_speechmusic_layer_2.npy"
    np.save(bad, np.array([{"a": i} for i in range(40)], dtype=object), allow_pickle=True)
    with pytest.raises(DatasetError, match=r"layer_2.npy: not a readable array of numbers \(it holds Python objects\)"):
        load_release(root, "gtzan_speechmusic", "01234")
    assert cli.main(["paper-table", "--release-dir", str(root), "--tasks", "gtzan_speechmusic", "--layers", "01234"]) == 0
    out, err = capsys.readouterr()
    assert "gtzan_speechmusic_layer_2.npy" in out and "Traceback" not in err
