"""The course's small statistics, each written once: confidence intervals of a score (Wilson,
percentile bootstrap), unit-length rows.

"""

from __future__ import annotations

import math

import numpy as np

from course_utils.core.errors import CourseError


#: The normal quantile of a two-sided 95% interval.
Z95 = 1.959963984540054


def wilson_interval(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (default 95%).

    Args:
        correct: successes (correctly classified test tracks).
        n: trials (test tracks).
        z: the normal quantile (1.96 for 95%).

    Returns:
        ``(low, high)``.
    """
    if n <= 0:
        raise CourseError("wilson_interval needs at least one trial")
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def unit_length(v) -> np.ndarray:
    """Rows (or one vector) scaled to unit length, as float32; zero rows stay zero.

    The normalisation of every embedding of the course (the siamese network's, the retrieval
    metrics' and the search indexes' cosine similarity).
    """
    v = np.asarray(v, dtype=np.float32)
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.divide(v, norms, out=np.zeros_like(v), where=norms > 0)


def bootstrap_resamples(n: int, *, n_boot: int = 2000, seed: int = 0) -> np.ndarray:
    """Row indices of ``n_boot`` bootstrap resamples of ``n`` items, ``(n_boot, n)`` (the same seed, the same rows).

    Share one set between several systems scored on the same items, so that their intervals are
    comparable (a paired bootstrap).
    """
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def bootstrap_interval(values, *, level: float = 0.95, n_boot: int = 2000, seed: int = 0,
                       resamples: np.ndarray | None = None) -> tuple[float, float]:
    """A percentile-bootstrap interval of the mean of ``values`` (NaN values left out of each mean).

    Args:
        values: one score per item (an accuracy's 0/1 per clip, an average precision per query).
        level: the interval's coverage.
        n_boot: bootstrap resamples (when ``resamples`` is not given).
        seed: the resampling's seed.
        resamples: rows from :func:`bootstrap_resamples`, to share between systems.

    Returns:
        ``(low, high)``.
    """
    values = np.asarray(values, dtype=np.float64)
    if resamples is None:
        resamples = bootstrap_resamples(len(values), n_boot=n_boot, seed=seed)
    means = np.nanmean(values[resamples], axis=1)
    tail = (1 - level) / 2 * 100
    return float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))
