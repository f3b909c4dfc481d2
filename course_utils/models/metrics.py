"""Evaluation of a multi-label auto-tagger: per-tag and averaged ROC-AUC and PR-AUC.

Notebook 02 scores the compact convnet on MagnaTagAtune's 50 tags with these, as Choi et al.
do: the area under the ROC curve (ROC-AUC, 0.5 = chance) for each tag, averaged over tags
("macro"), and the area under the precision-recall curve (average precision, PR-AUC, whose
chance level is the tag's frequency). The training loop's validation callback uses
:func:`macro_scores` to choose the best epoch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from course_utils.core.errors import ParameterError


def _check_scores(y_true, y_score) -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert a label matrix and a score matrix of the same 2-D shape."""
    y_true = np.asarray(y_true)
    y_score = np.asarray(y_score, dtype=np.float64)
    if y_true.ndim == 1:
        y_true = y_true[:, None]
    if y_score.ndim == 1:
        y_score = y_score[:, None]
    if y_true.shape != y_score.shape or y_true.ndim != 2:
        raise ParameterError(f"y_true {y_true.shape} and y_score {y_score.shape} must be matrices of the same shape (clips, tags)")
    if not np.all(np.isin(y_true, (0, 1))):
        raise ParameterError("y_true must hold only 0 and 1 (one column per tag)")
    if not np.all(np.isfinite(y_score)):
        raise ParameterError("y_score contains NaN or infinite values")
    return y_true.astype(np.int8), y_score


def _roc_pr(y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """ROC-AUC and average precision of one column, NaN if it has only one class."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    positives = int(y.sum())
    if positives == 0 or positives == len(y):
        return float("nan"), float("nan")
    return float(roc_auc_score(y, s)), float(average_precision_score(y, s))


def per_tag_scores(y_true, y_score, tags=None) -> pd.DataFrame:
    """ROC-AUC and PR-AUC of every tag.

    A tag without any positive clip, or without any negative clip, in ``y_true`` has no
    defined ROC-AUC or PR-AUC: it gets NaN in both columns rather than an error (small
    splits of MagnaTagAtune miss some rare tags).

    Args:
        y_true: ``(n_clips, n_tags)`` matrix of 0/1 labels.
        y_score: ``(n_clips, n_tags)`` predicted probabilities (or any scores; only their order counts).
        tags: the ``n_tags`` tag names; ``None`` for ``"tag0"``, ``"tag1"``, ...

    Returns:
        DataFrame with one row per tag, in the given order, and columns ``tag``, ``roc_auc``,
        ``pr_auc`` (average precision) and ``positives`` (number of positive clips).

    Raises:
        ValueError: the shapes differ, the labels are not 0/1, or the scores are not finite.
    """
    y_true, y_score = _check_scores(y_true, y_score)
    n_tags = y_true.shape[1]
    tags = [f"tag{i}" for i in range(n_tags)] if tags is None else [str(t) for t in tags]
    if len(tags) != n_tags:
        raise ParameterError(f"{len(tags)} tag names for {n_tags} columns")
    rows = []
    for j, tag in enumerate(tags):
        roc, pr = _roc_pr(y_true[:, j], y_score[:, j])
        rows.append({"tag": tag, "roc_auc": roc, "pr_auc": pr, "positives": int(y_true[:, j].sum())})
    return pd.DataFrame(rows, columns=["tag", "roc_auc", "pr_auc", "positives"])


def macro_scores(y_true, y_score) -> dict:
    """Tag-averaged ROC-AUC and PR-AUC, the summary numbers of notebook 02 and of training.

    ``roc_auc`` and ``pr_auc`` are macro averages: the mean over tags of the per-tag scores,
    ignoring the tags that have only one class in ``y_true`` (see :func:`per_tag_scores`).
    ``micro_roc_auc`` and ``micro_pr_auc`` pool every (clip, tag) pair into one ranking, so
    frequent tags weigh more.

    Args:
        y_true: ``(n_clips, n_tags)`` matrix of 0/1 labels.
        y_score: ``(n_clips, n_tags)`` predicted probabilities.

    Returns:
        ``{"roc_auc", "pr_auc", "micro_roc_auc", "micro_pr_auc": float, "n_tags_scored": int}``;
        the averages are NaN when no tag can be scored.
    """
    y_true, y_score = _check_scores(y_true, y_score)
    per_tag = [_roc_pr(y_true[:, j], y_score[:, j]) for j in range(y_true.shape[1])]
    roc = np.array([r for r, _ in per_tag], dtype=np.float64)
    pr = np.array([p for _, p in per_tag], dtype=np.float64)
    scored = ~np.isnan(roc)
    micro_roc, micro_pr = _roc_pr(y_true.ravel(), y_score.ravel())
    return {
        "roc_auc": float(roc[scored].mean()) if scored.any() else float("nan"),
        "pr_auc": float(pr[scored].mean()) if scored.any() else float("nan"),
        "micro_roc_auc": micro_roc,
        "micro_pr_auc": micro_pr,
        "n_tags_scored": int(scored.sum()),
    }


def binary_cross_entropy(y_true, y_score, eps: float = 1e-7) -> float:
    """Mean binary cross-entropy of probabilities, the training loss, computed in NumPy.

    The validation callback of notebook 02's training loop reports it as ``val_loss``.

    Args:
        y_true: 0/1 labels, any shape.
        y_score: probabilities, same shape.
        eps: probabilities are clipped to ``[eps, 1 - eps]`` (as Keras does).

    Returns:
        The mean over all entries, in nats.
    """
    y = np.asarray(y_true, dtype=np.float64)
    p = np.clip(np.asarray(y_score, dtype=np.float64), eps, 1.0 - eps)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log1p(-p)))


def top_k_tags(scores, tags, k: int = 5) -> list[tuple[str, float]]:
    """The ``k`` most probable tags of one clip, best first.

    Args:
        scores: ``(n_tags,)`` probabilities of one clip.
        tags: the ``n_tags`` tag names.
        k: how many to return (all tags if ``k`` is larger).

    Returns:
        List of ``(tag, probability)``, by decreasing probability; ties keep the tag order.
    """
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if len(scores) != len(tags):
        raise ParameterError(f"{len(scores)} scores for {len(tags)} tags")
    order = np.argsort(-scores, kind="stable")[: max(int(k), 0)]
    return [(str(tags[i]), float(scores[i])) for i in order]
