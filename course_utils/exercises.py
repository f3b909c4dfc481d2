"""Checkable exercises: the notebooks ask, the learner answers, :func:`check` says whether it is right.

Each exercise has a checker that *computes* the right answer (it is not a stored number), a
tolerance, and a hint. In a notebook::

    answer = None          # your answer here
    check("01-aliasing", answer)

Used by notebooks 01 to 05.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from course_utils import audio


@dataclass(frozen=True)
class Exercise:
    """One exercise: how to compute its answer, how close an answer must be, and a hint.

    Attributes:
        solve: computes the right answer.
        hint: shown when the answer is missing or wrong.
        tolerance: absolute tolerance for numbers (``None``: must be equal).
    """

    solve: Callable[[], Any]
    hint: str
    tolerance: float | None = None


def _pools(n_mels: int, n_frames: int):
    from course_utils.models import pool_sizes

    return pool_sizes(n_mels, n_frames)


def transfer_columns(layers: str):
    from course_utils.transfer import layer_columns

    return layer_columns(layers)


def _largest_published_gain() -> set:
    from course_utils.evaluate import PUBLISHED

    gains = {task: s["01234"] - s["mfcc"] for task, s in PUBLISHED.items()}
    return {max(gains, key=gains.get)}


def _rarest_ballroom_style() -> set:
    from course_utils.datasets import load_dataset

    counts = load_dataset("ballroom_extended")["label"].value_counts()
    return set(counts[counts == counts.min()].index)


EXERCISES: dict[str, Exercise] = {
    "01-aliasing": Exercise(
        lambda: audio.alias_frequency(5000, 8000),
        "frequencies above sr/2 fold back: a tone at f appears at |f - k*sr| for the nearest multiple k*sr",
        tolerance=1.0,
    ),
    "01-quantisation": Exercise(
        lambda: 6.02 * 8 + 1.76,
        "each bit halves the quantisation step, which is about 6 dB; to measure it, use a full-scale tone "
        "(the notebook's tone has amplitude 0.5, which costs 6 dB): full = 0.99 * tone / np.abs(tone).max(), "
        "then audio.snr_db(full, audio.quantize(full, 8))",
        tolerance=1.5,
    ),
    "01-frames": Exercise(
        lambda: audio.n_frames(int(round(29.1 * audio.SR)), audio.HOP_LENGTH),
        "frames = 1 + number_of_samples // hop_length, with number_of_samples = seconds * sample_rate",
        tolerance=0.0,
    ),
    "01-rarest-style": Exercise(
        _rarest_ballroom_style,
        "count the clips per label with df['label'].value_counts()",
    ),
    "02-time-pools": Exercise(
        lambda: int(np.prod([t for _, t in _pools(96, 1360)])),
        "multiply the second number of each pool pair printed for 96 x 1360: 4 x 4 x 5 x 4 x 4",
        tolerance=0.0,
    ),
    "02-crop-seconds": Exercise(
        lambda: 256 * audio.HOP_LENGTH / audio.SR,
        "frames x hop_length / sample_rate",
        tolerance=0.01,
    ),
    "03-layer-values": Exercise(
        lambda: len(transfer_columns("24")),
        "each block contributes 32 values (its 32 filters, averaged)",
        tolerance=0.0,
    ),
    "04-largest-gain": Exercise(
        _largest_published_gain,
        "for each task subtract the MFCC score from the 01234 score in evaluate.PUBLISHED",
    ),
    "05-jaccard": Exercise(
        lambda: len({"rock", "guitar", "loud"} & {"rock", "guitar", "male"}) / len({"rock", "guitar", "loud"} | {"rock", "guitar", "male"}),
        "shared tags divided by all distinct tags of the two sets",
        tolerance=0.01,
    ),
}


def is_correct(name: str, answer) -> bool:
    """Whether ``answer`` is a right answer to an exercise (``None`` never is).

    Args:
        name: the exercise's name, e.g. ``"01-aliasing"``.
        answer: the learner's answer.

    Returns:
        ``True`` when the answer is right.
    """
    if answer is None:
        return False
    ex = EXERCISES[name]
    right = ex.solve()
    if isinstance(right, set):  # one of several right answers, or all of them at once (a tie)
        if isinstance(answer, str):
            return answer in right
        try:
            return set(answer) == right
        except TypeError:  # not a collection: a single answer
            return answer in right
    if ex.tolerance is not None:
        try:
            return abs(float(answer) - float(right)) <= ex.tolerance
        except (TypeError, ValueError):
            return False
    return answer == right


def check(name: str, answer) -> None:
    """Check a learner's answer to an exercise and print a verdict (and a hint if needed).

    Args:
        name: the exercise's name, e.g. ``"01-aliasing"``.
        answer: the learner's answer (``None`` while not yet answered).
    """
    hint = EXERCISES[name].hint
    if answer is None:
        print(f"{name}: not answered yet. Hint: {hint}.")
    elif is_correct(name, answer):
        print(f"{name}: correct!")
    else:
        print(f"{name}: not quite. Hint: {hint}.")
