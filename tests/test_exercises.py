"""course_utils.exercises: the right answers pass, wrong and missing ones get a hint."""

import numpy as np
import pytest

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


@pytest.mark.usefixtures("mini_data_root")
def test_dataset_exercise_is_computed_from_the_data():
    from course_utils.datasets import load_dataset

    counts = load_dataset("ballroom_extended")["label"].value_counts()
    assert is_correct("01-rarest-style", counts.idxmin())
    assert not is_correct("01-rarest-style", counts.idxmax())


def test_every_exercise_has_a_hint():
    assert all(ex.hint for ex in EXERCISES.values())


@pytest.mark.usefixtures("mini_data_root")
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


def test_code_exercises_of_notebooks_03_to_05():
    """Right functions pass; the usual mistakes fail."""
    assert is_correct("03-global-average", lambda m: np.asarray(m).mean(axis=(0, 1)))
    assert not is_correct("03-global-average", lambda m: np.asarray(m).mean(axis=(1, 2)))
    assert is_correct("03-tile-to", lambda mel, n: np.concatenate([mel] * (n // mel.shape[1] + 1), axis=1)[:, :n])
    assert not is_correct("03-tile-to", lambda mel, n: np.pad(mel, ((0, 0), (0, n - mel.shape[1]))))  # silence
    assert is_correct("05-jaccard-code", lambda a, b: float(np.sum(a & b) / max(np.sum(a | b), 1)))
    assert not is_correct("05-jaccard-code", lambda a, b: float(np.sum(a & b) / len(a)))


def test_notebook_01_alias_frequency_exercise(capsys):
    """Exercise 1 is a function, checked against audio.alias_frequency; its hint names no formula."""
    from course_utils.exercises import _draw_tone_and_rate

    assert is_correct("01-alias-frequency", lambda f, sr: abs(f - round(f / sr) * sr))
    assert is_correct("01-alias-frequency", lambda f, sr: min(f % sr, sr - f % sr))
    assert not is_correct("01-alias-frequency", lambda f, sr: f % sr)  # forgets to fold back above sr/2
    assert not is_correct("01-alias-frequency", lambda f, sr: abs(f - sr))  # one fold only, also below sr/2
    assert not is_correct("01-alias-frequency", lambda f, sr: f if f <= sr / 2 else sr - f)  # wrong above sr
    rng = np.random.default_rng(0)
    drawn = [_draw_tone_and_rate(rng) for _ in range(EXERCISES["01-alias-frequency"].cases)]
    assert any(f > sr for f, sr in drawn) and any(f < sr / 2 for f, sr in drawn)
    assert any(f > 0 and f % sr == 0 for f, sr in drawn) and any(f % sr == sr / 2 for f, sr in drawn)
    hint = EXERCISES["01-alias-frequency"].hint
    assert not any(s in hint for s in ("%", "min(", "abs(", "round(", "|", "k*sr", "nearest"))
    check("01-alias-frequency", lambda f, sr: None)
    check("01-alias-frequency", lambda f, sr: f % sr)
    out = capsys.readouterr().out.splitlines()
    assert "not answered yet" in out[0] and "01-alias-frequency: not quite" in out[1] and "expected" in out[1]


def _rarest(df):
    counts = df["label"].value_counts()
    return set(counts[counts == counts.min()].index)


def test_notebook_01_rarest_labels_exercise(capsys):
    """Exercise 4 is a function that returns a set: ties give every tied label; a single label fails."""
    import collections

    import pandas as pd

    assert is_correct("01-rarest-labels", _rarest)
    assert is_correct("01-rarest-labels", lambda df: list(df.groupby("label").size().pipe(lambda s: s[s == s.min()]).index))
    assert is_correct("01-rarest-labels", lambda df: {k for k, n in collections.Counter(df["label"]).items()
                                                      if n == min(collections.Counter(df["label"]).values())})
    assert not is_correct("01-rarest-labels", lambda df: {df["label"].value_counts().idxmin()})  # misses ties
    assert not is_correct("01-rarest-labels", lambda df: df["label"].value_counts().idxmin())  # a label, not a set
    assert not is_correct("01-rarest-labels", lambda df: {df["label"].value_counts().idxmax()})
    ballroom = pd.DataFrame({"label": ["Waltz"] * 3 + ["Salsa", "Wcswing", "Tango", "Tango"]})
    assert EXERCISES["01-rarest-labels"].reference(ballroom) == {"Salsa", "Wcswing"}
    hint = EXERCISES["01-rarest-labels"].hint
    assert not any(s in hint for s in ("value_counts", "groupby", "Counter", ".min", "idxmin", "df["))
    check("01-rarest-labels", _rarest)
    check("01-rarest-labels", lambda df: {df["label"].value_counts().idxmin()})
    out = capsys.readouterr().out.splitlines()
    assert "01-rarest-labels: correct!" in out[0]
    assert "not quite" in out[1] and "a table of" in out[1] and "\n" not in out[1]
    expected = out[1].split("expected ")[1].split("}")[0] + "}"  # printed sorted, whatever the hash seed
    assert expected == "{" + ", ".join(sorted(expected[1:-1].split(", "))) + "}"


def test_same_compares_set_answers_as_sets_and_keeps_numbers_and_sequences():
    from course_utils.exercises import _same

    assert _same({"b", "a"}, {"a", "b"}, 0) and _same(["b", "a"], frozenset({"a", "b"}), 0)
    assert _same(np.array(["a"]), {"a"}, 0)
    assert not _same({"a"}, {"a", "b"}, 0) and not _same("a", {"a"}, 0) and not _same(None, {"a"}, 0)
    assert not _same("ab", {"a", "b"}, 0)  # a string is not a set of its letters
    assert _same(1.0 + 1e-9, 1, 1e-6) and not _same(1.1, 1, 1e-6)
    assert _same([1, 2], (1.0, 2.0), 1e-6) and not _same([1, 2, 3], [1, 2], 1e-6)


def test_per_class_recall_exercise_divides_the_diagonal_by_each_row():
    def recall(cm):
        cm = np.asarray(cm, dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.diag(cm) / cm.sum(axis=1)

    assert is_correct("06-per-class-recall", recall)
    assert not is_correct("06-per-class-recall", lambda cm: np.diag(cm) / np.asarray(cm).sum(axis=0))  # precision
    assert not is_correct("06-per-class-recall", lambda cm: np.nan_to_num(recall(cm)))  # no clips is not 0
