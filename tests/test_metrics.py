"""Tests of course_utils.models.metrics: per-tag and averaged ROC-AUC / PR-AUC, top tags."""

import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from course_utils.models import metrics


@pytest.fixture
def toy():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=(40, 4))
    y[:, 3] = 0  # a tag absent from this split
    y[0, 0], y[1, 0] = 0, 1  # make sure tag 0 has both classes
    s = np.clip(0.4 * y + rng.uniform(0, 0.7, size=y.shape), 0, 1)
    return y, s, ["rock", "piano", "female", "banjo"]


def test_per_tag_scores_match_sklearn(toy):
    y, s, tags = toy
    df = metrics.per_tag_scores(y, s, tags)
    assert list(df.columns) == ["tag", "roc_auc", "pr_auc", "positives"]
    assert list(df["tag"]) == tags
    for j in range(3):
        assert df.loc[j, "roc_auc"] == pytest.approx(roc_auc_score(y[:, j], s[:, j]))
        assert df.loc[j, "pr_auc"] == pytest.approx(average_precision_score(y[:, j], s[:, j]))
        assert df.loc[j, "positives"] == y[:, j].sum()


def test_constant_tag_gives_nan(toy):
    y, s, tags = toy
    df = metrics.per_tag_scores(y, s, tags)
    assert math.isnan(df.loc[3, "roc_auc"]) and math.isnan(df.loc[3, "pr_auc"])
    assert df.loc[3, "positives"] == 0
    y_all = y.copy()
    y_all[:, 3] = 1  # only positives: also undefined
    assert math.isnan(metrics.per_tag_scores(y_all, s, tags).loc[3, "roc_auc"])


def test_macro_scores_ignore_unscorable_tags(toy):
    y, s, _ = toy
    result = metrics.macro_scores(y, s)
    expected_roc = np.mean([roc_auc_score(y[:, j], s[:, j]) for j in range(3)])
    expected_pr = np.mean([average_precision_score(y[:, j], s[:, j]) for j in range(3)])
    assert result["roc_auc"] == pytest.approx(expected_roc)
    assert result["pr_auc"] == pytest.approx(expected_pr)
    assert result["micro_roc_auc"] == pytest.approx(roc_auc_score(y.ravel(), s.ravel()))
    assert result["micro_pr_auc"] == pytest.approx(average_precision_score(y.ravel(), s.ravel()))
    assert result["n_tags_scored"] == 3


def test_perfect_and_chance_scores():
    y = np.array([[1, 0], [0, 1], [1, 0], [0, 1]])
    assert metrics.macro_scores(y, y.astype(float))["roc_auc"] == 1.0
    assert metrics.macro_scores(y, 1.0 - y)["roc_auc"] == 0.0
    assert math.isnan(metrics.macro_scores(np.zeros((3, 2)), np.ones((3, 2)))["roc_auc"])


def test_bad_input_raises():
    with pytest.raises(ValueError, match="same shape"):
        metrics.per_tag_scores(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="0 and 1"):
        metrics.macro_scores(np.full((3, 2), 0.5), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="tag names"):
        metrics.per_tag_scores(np.zeros((3, 2)), np.zeros((3, 2)), tags=["a"])


def test_default_tag_names():
    df = metrics.per_tag_scores(np.array([[0, 1], [1, 0]]), np.array([[0.2, 0.9], [0.8, 0.1]]))
    assert list(df["tag"]) == ["tag0", "tag1"]


def test_binary_cross_entropy():
    y = np.array([[1, 0]])
    p = np.array([[0.8, 0.3]])
    assert metrics.binary_cross_entropy(y, p) == pytest.approx(-(np.log(0.8) + np.log(0.7)) / 2)
    assert np.isfinite(metrics.binary_cross_entropy(y, np.array([[0.0, 1.0]])))


def test_top_k_tags_order():
    tags = ["rock", "piano", "female", "banjo", "slow"]
    scores = np.array([0.1, 0.9, 0.5, 0.5, 0.7], dtype=np.float32)
    top = metrics.top_k_tags(scores, tags, k=3)
    assert [t for t, _ in top] == ["piano", "slow", "female"]  # tie 0.5: tag order kept
    assert top[0][1] == pytest.approx(0.9)
    assert isinstance(top[0][1], float)
    assert len(metrics.top_k_tags(scores, tags, k=10)) == 5
    with pytest.raises(ValueError):
        metrics.top_k_tags(scores, tags[:3])
