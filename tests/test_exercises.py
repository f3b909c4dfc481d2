"""course_utils.exercises: the right answers pass, wrong and missing ones get a hint."""

import numpy as np

from course_utils import audio
from course_utils.exercises import EXERCISES, check, is_correct


def test_right_answers_pass(capsys):
    assert is_correct("01-aliasing", 3000)
    tone = 0.99 * np.sin(2 * np.pi * 441 * np.arange(12000) / 12000)
    measured = audio.snr_db(tone, audio.quantize(tone, 8))
    assert is_correct("01-quantisation", measured)  # the measured SNR agrees with the rule of thumb
    assert is_correct("01-frames", 1 + int(29.1 * 12000) // 256)
    check("01-frames", 1365)
    assert "correct!" in capsys.readouterr().out


def test_wrong_and_missing_answers_get_hints(capsys):
    assert not is_correct("01-aliasing", 5000)
    assert not is_correct("01-frames", None)
    assert not is_correct("01-frames", "many")
    check("01-aliasing", 5000)
    check("01-frames", None)
    out = capsys.readouterr().out
    assert "not quite" in out and "not answered yet" in out and "Hint" in out


def test_dataset_exercise_is_computed_from_the_data():
    from course_utils.datasets import load_dataset

    counts = load_dataset("ballroom_extended")["label"].value_counts()
    assert is_correct("01-rarest-style", counts.idxmin())
    assert not is_correct("01-rarest-style", counts.idxmax())


def test_every_exercise_has_a_hint():
    assert all(ex.hint for ex in EXERCISES.values())


def test_set_answers_accept_a_list_or_array_of_all_tied_answers():
    from course_utils.datasets import load_dataset

    counts = load_dataset("ballroom_extended")["label"].value_counts()
    rarest = counts[counts == counts.min()].index
    assert is_correct("01-rarest-style", list(rarest))
    assert is_correct("01-rarest-style", np.asarray(rarest))
    assert not is_correct("01-rarest-style", [counts.idxmax()])
