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


def _pooled_shape(n_mels, n_frames, pools):
    for pf, pt in pools:
        n_mels, n_frames = n_mels // pf, n_frames // pt
    return n_mels, n_frames


def _macro_roc_auc(y_true, y_score):
    from sklearn.metrics import roc_auc_score

    values = [roc_auc_score(y_true[:, j], y_score[:, j]) for j in range(y_true.shape[1])
              if 0 < y_true[:, j].sum() < len(y_true)]
    return float(np.mean(values))


def test_code_exercises_accept_a_right_function_and_reject_wrong_ones(capsys):
    """Code exercises run the learner's function on random inputs against the reference."""
    assert is_correct("02-pooled-shape", _pooled_shape)
    assert is_correct("02-macro-roc-auc", _macro_roc_auc)
    assert not is_correct("02-pooled-shape", lambda m, f, p: (m // 2, f // 2))
    assert not is_correct("02-pooled-shape", (3, 4))  # a result, not a function
    # a mean over every tag (also those without positives) is the classic mistake: NaN or wrong
    assert not is_correct("02-macro-roc-auc", lambda y, s: float(np.nanmean(
        [np.mean(s[y[:, j] == 1, j]) for j in range(y.shape[1])])))
    check("02-pooled-shape", _pooled_shape)
    check("02-pooled-shape", lambda m, f, p: None)
    check("02-pooled-shape", lambda m, f, p: 1 / 0)
    out = capsys.readouterr().out.splitlines()
    assert "correct!" in out[0] and "not answered yet" in out[1]
    assert "raised ZeroDivisionError" in out[2] and "Hint" in out[2]


def test_code_exercise_hints_do_not_contain_the_solution():
    for name in ("02-pooled-shape", "02-macro-roc-auc"):
        hint = EXERCISES[name].hint
        assert "//" not in hint and "def " not in hint and "np.mean" not in hint


def test_fixed_scaler_exercise_rejects_the_published_bug_and_accepts_a_fix():
    from sklearn.preprocessing import StandardScaler

    class Inert(StandardScaler):  # the published scaler: the switch is read in __init__ only
        def __init__(self, on=False):
            self.on = on
            super().__init__(with_mean=on, with_std=on)

    class Fixed(StandardScaler):
        def __init__(self, on=False):
            self.on = on
            super().__init__()

        def fit(self, X, y=None):
            self.with_mean = self.with_std = self.on
            return super().fit(X, y)

    assert not is_correct("04-fixed-scaler", Inert)
    assert is_correct("04-fixed-scaler", Fixed)


def test_precision_at_k_exercise():
    assert is_correct("05-precision-at-k", lambda r, k: float(np.sum(np.asarray(r)[:k]) / k))
    assert not is_correct("05-precision-at-k", lambda r, k: float(np.mean(np.asarray(r)[:k])) if k > 3 else 0.0)


def _quantize(y, bits):
    step = 2 / 2**bits
    return np.clip(np.round(np.asarray(y) / step) * step, -1, 1 - step)


def test_notebook_01_code_exercises_accept_a_right_function_and_reject_typical_wrong_ones(capsys):
    """Notebook 01's quantiser and frame count, checked against audio.quantize and audio.n_frames."""
    assert is_correct("01-quantize", _quantize)
    assert not is_correct("01-quantize", lambda y, b: np.round(np.asarray(y) * 2**(b - 1)) / 2**(b - 1))  # no clip: 1.0 stays 1.0
    assert not is_correct("01-quantize", lambda y, b: _quantize(y, b + 1))  # 2**bits steps in [0, 1] instead of [-1, 1]
    assert not is_correct("01-quantize", lambda y, b: np.clip(np.floor(np.asarray(y) * 2**(b - 1)) / 2**(b - 1), -1, 1 - 2 / 2**b))  # truncates
    assert is_correct("01-n-frames", lambda n, hop: 1 + n // hop)
    assert not is_correct("01-n-frames", lambda n, hop: n // hop)  # forgets the frame centred on sample 0
    assert not is_correct("01-n-frames", lambda n, hop: int(np.ceil(n / hop)))  # wrong when n is a multiple of hop
    assert not is_correct("01-n-frames", lambda n, hop: 1 + (n - 1) // hop)  # misses a last centre at sample n
    check("01-quantize", _quantize)
    check("01-n-frames", lambda n, hop: n // hop)
    check("01-n-frames", lambda n, hop: None)
    out = capsys.readouterr().out.splitlines()
    assert "01-quantize: correct!" in out[0]
    assert "01-n-frames: not quite" in out[1] and "expected" in out[1] and "Hint" in out[1]
    assert "not answered yet" in out[2]


def test_notebook_01_code_exercise_hints_do_not_contain_the_solution():
    for name in ("01-quantize", "01-n-frames"):
        hint = EXERCISES[name].hint
        assert not any(s in hint for s in ("//", "def ", "np.", "round(", "clip(", "1 +", "2 / 2", "2**"))
