"""How the notebooks print numbers: exact ones plainly, training-dependent ones after "≈".

A number that comes out of training a network (a test ROC-AUC, an SVM score on a trained
network's features) differs in its last digits from one machine to another: other CPUs, other
TensorFlow kernels and other thread counts add floating-point numbers in other orders, and
training amplifies the differences. The notebooks print such numbers after "≈", check them with
``assert`` against stated ranges, and the course's tests (nbval, with
``tests/nbval_sanitize.cfg``) compare everything around them exactly. Numbers that do not depend
on training (data, MFCC features, the authors' released features) are printed plainly and
compared digit for digit.

Notebooks 03, 05 and 06.
"""

from __future__ import annotations

import math

#: The mark of a training-dependent number.
APPROX = "≈"


def approx(value: float, digits: int = 2) -> str:
    """A training-dependent number, e.g. ``"≈ 0.78"`` or ``"≈-0.03"`` (fixed width for a column).

    Args:
        value: the number.
        digits: decimals shown.

    Returns:
        The text; ``"—"`` for NaN.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{APPROX}{value:{digits + 3}.{digits}f}"


def score(value: float, spread: float | None = None, *, training: bool = False, digits: int = 3) -> str:
    """A score with its spread over folds, e.g. ``"0.735 ± 0.081"`` or ``"≈ 0.78 ± 0.08"``.

    Args:
        value: the mean score.
        spread: its standard deviation over folds (``None`` or NaN: not shown).
        training: whether the score depends on a trained network (then it is marked ``≈`` and
            shown with two decimals).
        digits: decimals of an exact score.

    Returns:
        The text; ``"—"`` for a missing score.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    d = 2 if training else digits
    text = approx(value, d) if training else f"{value:{d + 3}.{d}f}"
    if spread is not None and not (isinstance(spread, float) and math.isnan(spread)):
        text += f" ± {spread:.{d}f}"
    return text
