"""Confidence intervals: one home for the course's intervals of a score.

Notebook 06.
"""

from __future__ import annotations

import math

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
