"""course_utils.teaching.exercises: the right answers pass, wrong and missing ones get a hint."""

import numpy as np
import pytest

from course_utils import audio
from course_utils.teaching.exercises import check, EXERCISES, is_correct


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


def test_code_exercises_accept_a_right_function_and_reject_wrong_ones(capsys):
    """Code exercises run the learner's function on random inputs against the reference."""
    assert is_correct("01-n-frames", lambda n, hop: 1 + n // hop)
    assert not is_correct("01-n-frames", lambda n, hop: n // hop)
    assert not is_correct("01-n-frames", 1365)  # a result, not a function
    check("01-n-frames", lambda n, hop: 1 + n // hop)
    check("01-n-frames", lambda n, hop: None)
    check("01-n-frames", lambda n, hop: 1 / 0)
    out = capsys.readouterr().out.splitlines()
    assert "correct!" in out[0] and "not answered yet" in out[1]
    assert "raised ZeroDivisionError" in out[2] and "Hint" in out[2]


# --- notebook 02 ---
def _crop_sampler(bound=1, shuffle=True, seeded=True):
    """A crop sampler for clips of different lengths, right by default, or with one typical mistake."""
    import math

    import keras

    class Sampler(keras.utils.PyDataset):
        def __init__(self, clips, y, crop_frames, batch_size=16, seed=0, **kwargs):
            super().__init__(**kwargs)
            self.clips, self.y, self.crop, self.batch, self.seed = clips, y, crop_frames, batch_size, seed
            self.lengths = np.array([c.shape[1] for c in clips])
            self.epoch = 0
            self.draw()

        def draw(self):
            rng = np.random.default_rng((self.seed, self.epoch) if seeded else None)
            self.order = rng.permutation(len(self.clips)) if shuffle else np.arange(len(self.clips))
            self.starts = rng.integers(0, self.lengths[self.order] - self.crop + bound)

        def __len__(self):
            return math.ceil(len(self.clips) / self.batch)

        def __getitem__(self, i):
            part = slice(i * self.batch, (i + 1) * self.batch)
            crops = [self.clips[r][:, s:s + self.crop] for r, s in zip(self.order[part], self.starts[part])]
            return np.stack(crops)[..., None].astype("float32"), self.y[self.order[part]]

        def on_epoch_end(self):
            self.epoch += 1
            self.draw()

    return Sampler


def test_crop_sampler_exercise_accepts_a_right_sampler_and_names_typical_mistakes(capsys):
    assert is_correct("02-crop-sampler", _crop_sampler())
    check("02-crop-sampler", _crop_sampler(bound=0))      # a clip exactly one crop long has no start left
    check("02-crop-sampler", _crop_sampler(shuffle=False))
    check("02-crop-sampler", _crop_sampler(seeded=False))
    out = capsys.readouterr().out.splitlines()
    assert all("not quite" in line and "Hint" in line for line in out)
    assert "same order every epoch" in out[1] and "same seed" in out[2]
    assert "clips of" in out[0] and "array([" not in out[0]   # the clips are described, not printed


def test_variant_exercise_wants_a_changed_network_that_still_tags(capsys):
    import keras

    from course_utils.models.convnet import compact_convnet

    def narrower(n_frames, n_mels=96, n_tags=50):
        inputs = keras.Input(shape=(n_mels, n_frames, 1))
        x = inputs
        for pool in [(2, 4), (3, 4), (2, 2), (2, 2), (4, 2)]:
            x = keras.layers.Conv2D(16, 3, padding="same", use_bias=False)(x)
            x = keras.layers.MaxPooling2D(pool)(keras.layers.ELU()(keras.layers.BatchNormalization()(x)))
        return keras.Model(inputs, keras.layers.Dense(n_tags, activation="sigmoid")(keras.layers.Flatten()(x)))

    assert is_correct("02-variant", narrower)
    assert not is_correct("02-variant", lambda n_frames, n_mels=96, n_tags=50: compact_convnet(n_mels=n_mels, n_frames=n_frames, n_tags=n_tags))
    check("02-variant", lambda n_frames, n_mels=96, n_tags=50: None)
    assert "not answered yet" in capsys.readouterr().out


def test_code_exercise_hints_do_not_contain_the_solution():
    for name in ("02-crop-sampler", "02-variant"):
        hint = EXERCISES[name].hint
        assert "rng.integers" not in hint and "def " not in hint and "permutation" not in hint


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


def _ap(relevant):
    relevant = np.asarray(relevant, dtype=bool)
    ranks = np.flatnonzero(relevant) + 1
    return float(np.mean(np.arange(1, len(ranks) + 1) / ranks))


def test_average_precision_exercise():
    """Notebook 05: AP of one ranking; the usual mistakes (every rank, not only the relevant ones;
    ranks from 0; dividing by the length) fail, and the hint names no formula."""
    assert is_correct("05-average-precision", _ap)
    assert is_correct("05-average-precision", lambda r: float(np.sum(np.cumsum(r) / np.arange(1, len(r) + 1) * np.asarray(r)) / np.sum(r)))
    assert not is_correct("05-average-precision", lambda r: float(np.mean(np.cumsum(r) / np.arange(1, len(r) + 1))))
    assert not is_correct("05-average-precision", lambda r: float(np.sum(np.cumsum(r) / np.arange(1, len(r) + 1) * np.asarray(r)) / len(r)))
    assert not is_correct("05-average-precision", lambda r: float(np.mean(np.arange(1, int(np.sum(r)) + 1) / np.maximum(np.flatnonzero(r), 1))))
    assert not any(s in EXERCISES["05-average-precision"].hint for s in ("cumsum", "np.", "/ rank", "def "))


def _semi_hard(emb, neg_mask, margin, squared=False, hardest=False, fallback=True, clip=True):
    """A NumPy semi-hard triplet loss, with switches for the usual mistakes."""
    emb, neg_mask = np.asarray(emb, dtype=float), np.asarray(neg_mask, dtype=bool)
    n = len(emb)
    dist = np.maximum(2 - 2 * emb @ emb.T, 0.0)
    dist = dist if squared else np.sqrt(dist)
    d_ap = dist[np.arange(n), (np.arange(n) + n // 2) % n]
    beyond = neg_mask & (dist > d_ap[:, None]) if not hardest else neg_mask
    closest = np.where(beyond, dist, np.inf).min(axis=1)
    farthest = np.where(neg_mask, dist, 0.0).max(axis=1) if fallback else np.full(n, 0.0)
    loss = d_ap - np.where(beyond.any(axis=1), closest, farthest) + margin
    return np.maximum(loss, 0.0) if clip else loss


def test_semi_hard_loss_exercise():
    """Notebook 05: the semi-hard loss in NumPy agrees with the package's keras.ops loss; squared
    distances, the hardest negative, no fallback or no clipping at 0 fail; the hint has no code."""
    assert is_correct("05-semi-hard-loss", _semi_hard)
    for mistake in ({"squared": True}, {"hardest": True}, {"fallback": False}, {"clip": False}):
        assert not is_correct("05-semi-hard-loss", lambda e, m, g, kw=mistake: _semi_hard(e, m, g, **kw)), mistake
    assert not is_correct("05-semi-hard-loss", lambda e, m, g: _semi_hard(e, m, 0.3))   # the margin ignored
    assert not any(s in EXERCISES["05-semi-hard-loss"].hint for s in ("np.", "def ", "sqrt(", "@", "where("))


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


def test_code_exercises_of_notebooks_03_and_04():
    """Right functions pass; the usual mistakes fail."""
    assert is_correct("03-average-blocks", lambda maps: np.concatenate([m.mean(axis=(1, 2)) for m in maps], axis=1).mean(axis=0))
    assert is_correct("03-average-blocks", lambda maps: np.concatenate([m.mean(axis=(0, 1, 2)) for m in maps]))
    assert not is_correct("03-average-blocks", lambda maps: np.concatenate([m.mean(axis=(1, 2)) for m in maps], axis=1))  # crops kept
    assert not is_correct("03-average-blocks", lambda maps: np.concatenate([m.mean(axis=(0, 2, 3)) for m in maps]))  # wrong axes
    assert not is_correct("03-average-blocks", lambda maps: np.concatenate([m.mean(axis=(0, 1, 2)) for m in maps[::-1]]))  # order


def test_paired_bootstrap_exercise_of_notebook_03(capsys):
    """The same resamples pass exactly, other correct draws within the tolerance; unpaired resampling,
    a 90% interval and the difference the wrong way round fail; the hint gives no code."""

    def paired(right_a, right_b, rng, n, percents=(2.5, 97.5), same=True):
        draws_a = rng.integers(0, len(right_a), size=(n, len(right_a)))
        draws_b = draws_a if same else rng.integers(0, len(right_a), size=(n, len(right_a)))
        differences = right_a[draws_a].mean(axis=1) - right_b[draws_b].mean(axis=1)
        return (right_a.mean() - right_b.mean(), *np.percentile(differences, percents))

    def one_draw_at_a_time(right_a, right_b, rng, n):
        changed = right_a.astype(int) - right_b.astype(int)
        differences = [changed[rng.choice(len(changed), len(changed))].mean() for _ in range(n)]
        return changed.mean(), *np.quantile(differences, [0.025, 0.975])

    assert is_correct("03-paired-bootstrap", paired)
    assert is_correct("03-paired-bootstrap", one_draw_at_a_time)
    assert not is_correct("03-paired-bootstrap", lambda a, b, rng, n: paired(a, b, rng, n, same=False))
    assert not is_correct("03-paired-bootstrap", lambda a, b, rng, n: paired(a, b, rng, n, percents=(5, 95)))
    assert not is_correct("03-paired-bootstrap", lambda a, b, rng, n: paired(b, a, rng, n))
    hint = EXERCISES["03-paired-bootstrap"].hint
    assert not any(s in hint for s in ("np.", "def ", "integers", "percentile", "2.5", "97.5", "[", "mean("))
    check("03-paired-bootstrap", lambda a, b, rng, n: paired(a, b, rng, n, same=False))
    out = capsys.readouterr().out
    assert "not quite" in out and "np.random.default_rng(" in out and "difference " in out and " at 0x" not in out


def test_notebook_01_alias_frequency_exercise(capsys):
    """Exercise 1 is a function, checked against audio.alias_frequency; its hint names no formula."""
    from course_utils.teaching.exercises import _draw_tone_and_rate

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
    from course_utils.teaching.exercises import _same

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
