"""Checkable exercises: the notebooks ask, the learner answers, :func:`check` says whether it is right.

Each exercise has a checker that *computes* the right answer (it is not a stored number), a
tolerance, and a hint. In a notebook::

    answer = None          # your answer here
    check("01-aliasing", answer)

A *code* exercise (:class:`CodeExercise`) asks for a function instead: :func:`check` calls the
learner's function and a reference implementation on the same random inputs (seeded, so the
verdict is repeatable) and reports the first input on which they disagree::

    def n_frames(n_samples, hop_length):
        ...                # your code here
    check("01-n-frames", n_frames)

Notebooks 01, 02, 03, 04, 05 and 06.
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


@dataclass(frozen=True)
class CodeExercise:
    """An exercise answered by a function, checked against a reference on random inputs.

    Attributes:
        reference: the right function.
        draw: ``draw(rng)`` returns one tuple of positional arguments.
        hint: shown when the function is missing or wrong; never the solution.
        cases: how many random inputs to try.
        tolerance: absolute tolerance when comparing numbers.
        adapt: turns the learner's answer into the function to compare (e.g. a class into
            "fit it the way GridSearchCV would"); ``None`` when the answer is that function.
    """

    reference: Callable
    draw: Callable[[np.random.Generator], tuple]
    hint: str
    cases: int = 25
    tolerance: float = 1e-6
    adapt: Callable | None = None


def _same(a, b, tolerance: float) -> bool:
    """Whether two results agree: numbers within ``tolerance``, sequences element by element, sets
    as sets (the same elements in any order, from any collection but a string)."""
    if isinstance(b, (set, frozenset)):
        try:
            return not isinstance(a, (str, bytes)) and set(a) == set(b)
        except TypeError:
            return False
    if isinstance(b, (tuple, list, np.ndarray)):
        try:
            a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        except (TypeError, ValueError):
            return False
        return a.shape == b.shape and bool(np.allclose(a, b, rtol=0, atol=tolerance, equal_nan=True))
    try:
        return bool(np.isclose(float(a), float(b), rtol=0, atol=tolerance, equal_nan=True))
    except (TypeError, ValueError):
        return False


def _short(value) -> str:
    """A one-line description of an argument or result for a verdict."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape}"
    if isinstance(value, (set, frozenset)):  # sorted: a set's own order depends on the hash seed
        text = "{" + ", ".join(sorted(map(repr, value))) + "}"
    else:
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_function(ex: CodeExercise, fn, seed: int = 0) -> str | None:
    """Run a learner's function against the reference on random inputs.

    Args:
        ex: the exercise.
        fn: the learner's function.
        seed: the seed of the random inputs.

    Returns:
        ``None`` when every case agrees, else a one-line description of the first disagreement.
    """
    rng = np.random.default_rng(seed)
    if ex.adapt is not None:
        fn = ex.adapt(fn)
    for _ in range(ex.cases):
        args = ex.draw(rng)
        right = ex.reference(*args)
        try:
            got = fn(*args)
        except Exception as exc:  # the learner's code: report, never crash the notebook
            return f"your function raised {type(exc).__name__}: {exc} for the arguments ({', '.join(map(_short, args))})"
        if got is None:  # an empty body (``...``): not answered yet
            return "returned None"
        if not _same(got, right, ex.tolerance):
            return f"for the arguments ({', '.join(map(_short, args))}) it returned {_short(got)}, expected {_short(right)}"
    return None


def _draw_signal_and_bits(rng: np.random.Generator) -> tuple:
    """A random signal in [-1, 1] that touches both ends (where a quantiser must clip), and a bit depth."""
    y = rng.uniform(-1.0, 1.0, int(rng.integers(8, 200)))
    y[rng.choice(len(y), 2, replace=False)] = (-1.0, 1.0)
    return y, int(rng.integers(1, 17))


def _draw_samples_and_hop(rng: np.random.Generator) -> tuple:
    """A signal length and a hop, the length an exact multiple of the hop about a third of the time."""
    hop = int(rng.choice([64, 128, 160, 256, 441, 512, 1024]))
    n = int(rng.integers(0, 400)) * hop if rng.random() < 0.35 else int(rng.integers(0, 400_000))
    return n, hop


# --- notebook 04 ---


def _nested_cv(X, y, Cs, outer_folds: int, inner_folds: int) -> np.ndarray:
    """The outer-fold accuracies of a nested CV of ``SVC(C=c)``, ``c`` chosen among ``Cs`` inside."""
    from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
    from sklearn.svm import SVC

    search = GridSearchCV(SVC(), {"C": list(Cs)}, cv=StratifiedKFold(inner_folds))
    return cross_val_score(search, X, y, cv=StratifiedKFold(outer_folds))


def _draw_nested(rng: np.random.Generator) -> tuple:
    """Two or three classes of 12 to 25 points each (enough for the inner folds), in 2 to 6 dimensions."""
    k, d = int(rng.integers(2, 4)), int(rng.integers(2, 7))
    sizes = rng.integers(12, 26, size=k)
    y = rng.permutation(np.repeat(np.arange(k), sizes))
    X = rng.normal(0, 1, (len(y), d)) + rng.normal(0, rng.uniform(0.3, 1.5), (k, d))[y]
    Cs = sorted(rng.choice([0.01, 0.1, 1.0, 10.0, 100.0], size=int(rng.integers(2, 5)), replace=False).tolist())
    return X, y, Cs, int(rng.integers(3, 6)), int(rng.integers(2, 5))


def _as_grid_search_would(scaler_class):
    """Fit a scaler class the way GridSearchCV does: clone, then set the switch, then fit."""
    from sklearn.base import clone

    def run(X, on):
        scaler = clone(scaler_class()).set_params(on=on)
        return scaler.fit(X).transform(X)

    return run


def _standardise_if(X, on):
    X = np.asarray(X, dtype=float)
    return (X - X.mean(0)) / np.where(X.std(0) > 0, X.std(0), 1.0) if on else X


def _draw_features(rng: np.random.Generator) -> tuple:
    n, d = int(rng.integers(5, 60)), int(rng.integers(1, 12))
    return rng.normal(rng.uniform(-50, 50, d), rng.uniform(0.1, 30, d), size=(n, d)), bool(rng.random() < 0.5)


# --- notebook 05 ---

def _average_precision(relevant) -> float:
    from course_utils.similarity.metrics import average_precision

    return average_precision(relevant)


def _draw_relevance(rng: np.random.Generator) -> tuple:
    """The 0/1 relevance of a ranking, best first, with at least one relevant item (sometimes all, or
    only the last)."""
    n = int(rng.integers(1, 40))
    relevant = (rng.random(n) < rng.uniform(0.05, 0.7)).astype(int)
    kind = rng.random()
    if kind < 0.1:
        relevant[:] = 1
    elif kind < 0.2:
        relevant[:] = 0
        relevant[-1] = 1
    elif not relevant.any():
        relevant[int(rng.integers(n))] = 1
    return (relevant,)


def _semi_hard_losses(emb, neg_mask, margin) -> np.ndarray:
    from course_utils.similarity.siamese import _batch_loss

    n = len(emb)
    per = _batch_loss(np.asarray(emb, dtype=np.float32), np.asarray(neg_mask, dtype=bool),
                      np.zeros(n, "int32"), "triplet", float(margin), True)[1]
    return np.asarray(per, dtype=float)


def _draw_triplet_batch(rng: np.random.Generator) -> tuple:
    """2B random unit vectors (few dimensions, so that some anchors have no negative beyond their positive
    and some are already satisfied), a negative mask in which every crop has a negative but is never its own
    or its positive's, and a margin."""
    half, dim = int(rng.integers(2, 9)), int(rng.integers(2, 9))
    n = 2 * half
    emb = rng.normal(size=(n, dim))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    partner = (np.arange(n) + half) % n
    neg_mask = rng.random((n, n)) < rng.uniform(0.2, 0.8)
    neg_mask[np.arange(n), np.arange(n)] = False
    neg_mask[np.arange(n), partner] = False
    for i in np.flatnonzero(~neg_mask.any(axis=1)):
        neg_mask[i, rng.choice([j for j in range(n) if j not in (i, partner[i])])] = True
    return emb, neg_mask, float(rng.choice([0.1, 0.3, 0.5, 1.0]))


# --- notebook 03 ---

class _BlockMaps(list):
    """One clip's block outputs, a list of arrays that a verdict describes by their shapes."""

    def __repr__(self) -> str:
        return f"{len(self)} block arrays of shapes " + ", ".join(str(np.shape(m)) for m in self)


def _average_blocks(block_maps) -> np.ndarray:
    """A clip's transfer feature from its crops' block outputs: each filter's mean, blocks in order."""
    return np.concatenate([np.asarray(m, dtype=float).mean(axis=(1, 2)) for m in block_maps], axis=1).mean(axis=0)


def _draw_block_maps(rng: np.random.Generator) -> tuple:
    """Random block outputs of one clip: 1 to 4 crops, 1 to 5 blocks that shrink, 2 to 8 filters each."""
    crops, bands, frames = int(rng.integers(1, 5)), int(rng.integers(4, 25)), int(rng.integers(4, 33))
    maps = _BlockMaps()
    for _ in range(int(rng.integers(1, 6))):
        maps.append(rng.normal(size=(crops, bands, frames, int(rng.integers(2, 9)))))
        bands, frames = max(1, bands // 2), max(1, frames // 2)
    return (maps,)


class _SeededGenerator(np.random.Generator):
    """A NumPy generator that a verdict names by its seed (not by its memory address)."""

    def __init__(self, seed: int):
        super().__init__(np.random.PCG64(seed))
        self.seed = seed

    def __repr__(self) -> str:
        return f"np.random.default_rng({self.seed})"

    def __deepcopy__(self, memo) -> "_SeededGenerator":
        twin = _SeededGenerator(self.seed)
        twin.bit_generator.state = self.bit_generator.state
        return twin


class _Interval(tuple):
    """(difference, low, high), as a verdict shows it."""

    def __repr__(self) -> str:
        try:
            return "(difference {:.4f}, low {:.4f}, high {:.4f})".format(*map(float, self))
        except (TypeError, ValueError):
            return tuple.__repr__(self)


def _as_interval(paired_bootstrap):
    """The learner's function, its result shown like the reference's (None stays None: not answered)."""

    def run(*args):
        got = paired_bootstrap(*args)
        return _Interval(got) if isinstance(got, (tuple, list)) and len(got) == 3 else got

    return run


def _paired_bootstrap(right_a, right_b, rng, n) -> tuple:
    """The accuracy difference of two classifiers on the same clips, and its 95% paired-bootstrap interval.

    Draws from a copy of ``rng``, so that the learner's function, called next with the same
    generator, can draw the very same resamples.
    """
    import copy

    right_a, right_b = np.asarray(right_a, dtype=float), np.asarray(right_b, dtype=float)
    draws = copy.deepcopy(rng).integers(0, len(right_a), size=(n, len(right_a)))
    differences = right_a[draws].mean(axis=1) - right_b[draws].mean(axis=1)
    low, high = np.percentile(differences, [2.5, 97.5])
    return _Interval((float(right_a.mean() - right_b.mean()), float(low), float(high)))


def _draw_paired_results(rng: np.random.Generator) -> tuple:
    """Two classifiers' right/wrong results on the same 200 to 250 clips, a seeded generator, 10,000 draws.

    Between 5% and 50% of the clips are discordant (right with one classifier only), mostly in
    favour of one of them; the two rarely differ by nothing. With 10,000 draws, two correct
    functions that draw differently agree within about one step of 1 / clips.
    """
    clips = int(rng.integers(200, 251))
    right_a = rng.random(clips) < rng.uniform(0.5, 0.9)
    discordant = rng.random(clips) < rng.uniform(0.05, 0.5)
    right_b = right_a.copy()
    right_b[discordant] = rng.random(int(discordant.sum())) < rng.uniform(0.2, 0.8)
    return right_a, right_b, _SeededGenerator(int(rng.integers(0, 1000))), 10_000


# --- end of notebook 03 ---










def _rarest_ballroom_style() -> set:
    from course_utils.datasets import load_dataset

    counts = load_dataset("ballroom_extended")["label"].value_counts()
    return set(counts[counts == counts.min()].index)


def _draw_tone_and_rate(rng: np.random.Generator) -> tuple:
    """A tone frequency and a sample rate: below sr/2, above it (also above sr), or exactly on a
    multiple of sr (heard at 0 Hz) or of sr/2 (heard at sr/2)."""
    sr = int(rng.choice([8000, 11025, 12000, 16000, 22050, 44100, 48000]))
    kind = rng.random()
    if kind < 0.15:
        return int(rng.integers(0, 5)) * sr, sr
    if kind < 0.3:
        return (int(rng.integers(0, 5)) + 0.5) * sr, sr
    if kind < 0.5:
        return int(rng.integers(0, sr // 2)), sr
    return int(rng.integers(sr // 2 + 1, 5 * sr)), sr


class _LabelSet(frozenset):
    """A set of labels that prints sorted, so that a verdict does not depend on Python's hash seed."""

    def __repr__(self) -> str:
        return "{" + ", ".join(sorted(map(repr, self))) + "}"


def _rarest_labels(df) -> set:
    counts = df["label"].value_counts()
    return _LabelSet(counts[counts == counts.min()].index)


def _label_table(labels):
    """A dataset table (``clip_id``, ``label``) that a verdict describes in one line, by its label counts."""
    import pandas as pd

    class LabelTable(pd.DataFrame):
        def __repr__(self) -> str:
            counts = self["label"].value_counts().sort_index()
            return f"a table of {len(self)} rows: " + ", ".join(f"{k} {v}" for k, v in counts.items())

    return LabelTable({"clip_id": np.arange(len(labels)), "label": [str(label) for label in labels]})


def _draw_label_table(rng: np.random.Generator) -> tuple:
    """A small table of 2 to 6 ballroom styles, in shuffled rows; half the time several styles tie for the fewest rows."""
    styles = ("Chacha", "Foxtrot", "Jive", "Pasodoble", "Quickstep", "Rumba", "Salsa", "Samba", "Tango", "Waltz")
    k = int(rng.integers(2, 7))
    labels = [str(s) for s in rng.choice(styles, k, replace=False)]
    counts = rng.integers(1, 9, size=k)
    if rng.random() < 0.5:
        counts[rng.choice(k, int(rng.integers(2, k + 1)), replace=False)] = counts.min()
    rows = np.repeat(labels, counts)
    rng.shuffle(rows)
    return (_label_table(rows),)


def _per_class_recall(confusion) -> np.ndarray:
    cm = np.asarray(confusion, dtype=float)
    clips = cm.sum(axis=1)
    return np.divide(np.diag(cm), clips, out=np.full(len(cm), np.nan), where=clips > 0)


def _draw_confusion(rng: np.random.Generator) -> tuple:
    """A confusion matrix of 2 to 8 classes (rows: true class), sometimes with a class that has no clips."""
    k = int(rng.integers(2, 9))
    cm = rng.integers(0, 6, size=(k, k)) + np.diag(rng.integers(0, 15, size=k))
    if rng.random() < 0.3:
        cm[int(rng.integers(0, k))] = 0
    return (cm,)


# --- notebook 01 ---
def _authors_mfcc_summary(y) -> np.ndarray:
    """The paper's MFCC baseline as its authors computed it (``_path_to_mfccs`` in their
    ``1. feature extraction for 6 tasks.ipynb``): librosa's defaults at 12 kHz (n_fft 2048, hop 512,
    128 mel bands; the librosa of 2017 padded by reflection) and plain frame differences."""
    import librosa

    mfcc = librosa.feature.mfcc(y=np.asarray(y, dtype=np.float64), sr=12000, n_mfcc=20, pad_mode="reflect")
    d1 = mfcc[:, 1:] - mfcc[:, :-1]
    d2 = d1[:, 1:] - d1[:, :-1]
    return np.concatenate([f(m, axis=1) for m in (mfcc, d1, d2) for f in (np.mean, np.std)])


def _draw_signal_12k(rng: np.random.Generator) -> tuple:
    """A random signal of 0.5 to 3 s at 12 kHz: noise, sometimes with a tone, at a random level."""
    n = int(rng.integers(6000, 36000))
    y = rng.normal(0, rng.uniform(0.01, 0.3), n)
    if rng.random() < 0.5:
        y += rng.uniform(0.05, 0.5) * np.sin(2 * np.pi * rng.uniform(50, 5000) * np.arange(n) / 12000)
    return (y,)


# --- notebook 06 ---
def _group_fold_scores(X, y, groups, n_splits) -> list:
    """Balanced accuracy of each fold of ``StratifiedGroupKFold(n_splits)`` (no shuffling), a fresh
    ``StandardScaler`` + ``LogisticRegression(max_iter=2000)`` fitted on each training part."""
    import warnings

    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedGroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y, groups = np.asarray(X), np.asarray(y), np.asarray(groups)
    scores = []
    for train, test in StratifiedGroupKFold(n_splits).split(X, y, groups):
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X[train], y[train])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # a class missing from a test fold
            scores.append(float(balanced_accuracy_score(y[test], model.predict(X[test]))))
    return scores


def _draw_grouped_folder(rng: np.random.Generator) -> tuple:
    """Features of excerpts of songs: 2 to 4 unbalanced classes, each song (group) one label and 2
    to 5 excerpts that resemble each other (a song offset), and a number of folds."""
    n_splits = int(rng.integers(3, 6))
    k, d = int(rng.integers(2, 5)), int(rng.integers(3, 9))
    centres = rng.normal(0, 1.0, size=(k, d))
    X, y, groups = [], [], []
    song = 0
    for c in range(k):
        for _ in range(int(rng.integers(2 * n_splits, 4 * n_splits))):
            offset = centres[c] + rng.normal(0, 1.0, d)
            for _ in range(int(rng.integers(2, 6))):
                X.append(offset + rng.normal(0, 0.5, d))
                y.append(f"class{c}")
                groups.append(f"song{song:03d}")
            song += 1
    return np.array(X), np.array(y), np.array(groups), n_splits
# --- notebook 02 ---
class CheckFailed(Exception):
    """What a learner's class or network (notebook 02's exercises) does wrong, in words."""


class _Clips(list):
    """A list of clips that a verdict describes in one line."""

    def __repr__(self) -> str:
        lengths = [c.shape[1] for c in self]
        return f"{len(self)} clips of {self[0].shape[0]} bands, {min(lengths)} to {max(lengths)} frames"


def _draw_ragged_clips(rng: np.random.Generator) -> tuple:
    """Clips of different lengths (a list of ``(n_mels, frames)`` arrays), their labels, a crop length,
    a batch size and a seed. Band 0 of clip ``i`` holds ``1000 * i + frame``, so that a crop tells
    which clip and which frames it came from; one clip is exactly one crop long (one possible start)."""
    n, n_mels, crop = int(rng.integers(5, 30)), int(rng.integers(2, 9)), int(rng.integers(4, 40))
    lengths = rng.integers(crop, crop + 200, size=n)
    lengths[int(rng.integers(0, n))] = crop
    clips = _Clips()
    for i, length in enumerate(lengths):
        clip = rng.normal(-40, 15, size=(n_mels, int(length))).astype(np.float32)
        clip[0] = 1000 * i + np.arange(length)
        clips.append(clip)
    y = (rng.random((n, int(rng.integers(2, 7)))) < 0.3).astype(np.float32)
    return clips, y, crop, int(rng.integers(2, 9)), int(rng.integers(0, 1000))


def _epochs_served(sequence, epochs: int) -> list | None:
    """The batches a sampler serves over a few epochs (``None`` while its methods are empty)."""
    served = []
    for _ in range(epochs):
        n_batches = sequence.__len__()
        if n_batches is None:
            return None
        batches = [sequence[i] for i in range(n_batches)]
        if any(b is None for b in batches):
            return None
        served.append(batches)
        sequence.on_epoch_end()
    return served


def _audit_crop_sampler(sampler_class):
    """Turn a learner's sampler class into a function that returns True when it samples right and
    raises :class:`CheckFailed` (naming what is wrong) when not; ``None`` while unanswered."""

    def audit(clips, y, crop, batch_size, seed):
        served = _epochs_served(sampler_class(clips, y, crop, batch_size=batch_size, seed=seed), 3)
        if served is None:
            return None
        again = _epochs_served(sampler_class(clips, y, crop, batch_size=batch_size, seed=seed), 1)
        n, n_mels = len(clips), clips[0].shape[0]
        orders, starts = [], []
        for epoch, batches in enumerate(served, start=1):
            if len(batches) != -(-n // batch_size):
                raise CheckFailed(f"{len(batches)} batches for {n} clips in batches of {batch_size}")
            rows, first = [], []
            for k, batch in enumerate(batches):
                if not (isinstance(batch, tuple) and len(batch) == 2):
                    raise CheckFailed("a batch must be a pair (x, y)")
                xb, yb = np.asarray(batch[0]), np.asarray(batch[1])
                size = batch_size if k < len(batches) - 1 else n - batch_size * (len(batches) - 1)
                if xb.shape != (size, n_mels, crop, 1) or xb.dtype != np.float32:
                    raise CheckFailed(f"batch {k} of epoch {epoch} has x {xb.shape} {xb.dtype}, expected "
                                         f"({size}, {n_mels}, {crop}, 1) float32")
                for x_crop, y_row in zip(xb[..., 0], yb):
                    i, s = divmod(int(x_crop[0, 0]), 1000)
                    if not (0 <= i < n and 0 <= s and s + crop <= clips[i].shape[1]
                            and np.array_equal(x_crop, clips[i][:, s:s + crop])):
                        raise CheckFailed(f"epoch {epoch} serves a crop that is not {crop} consecutive frames "
                                             "inside one clip")
                    if not np.array_equal(y_row, y[i]):
                        raise CheckFailed(f"epoch {epoch} serves a crop of clip {i} with another clip's labels")
                    rows.append(i)
                    first.append(s)
            if sorted(rows) != list(range(n)):
                raise CheckFailed(f"epoch {epoch} does not serve each of the {n} clips exactly once")
            orders.append(rows)
            starts.append(dict(zip(rows, first)))
        if orders[0] == orders[1] == orders[2]:
            raise CheckFailed("the clips come in the same order every epoch: shuffle them anew each epoch")
        movable = [i for i in range(n) if clips[i].shape[1] > crop + 20]
        if movable and all(starts[0][i] == starts[1][i] == starts[2][i] for i in movable):
            raise CheckFailed("each clip gives the same crop every epoch: draw a new start each epoch")
        if not all(np.array_equal(np.asarray(a[0]), np.asarray(b[0])) for a, b in zip(served[0], again[0])):
            raise CheckFailed("two samplers with the same seed serve different first epochs: seed the random draws")
        return True

    return audit


def _audit_variant(build_variant):
    """Turn a learner's network builder into a function that returns True when it builds a tagger
    for ``(n_mels, n_frames, 1)`` inputs that differs from the compact convnet, ``None`` while
    unanswered, and raises :class:`CheckFailed` otherwise."""

    def audit(n_frames, n_mels, n_tags, seed):
        from course_utils.models.convnet import compact_convnet

        model = build_variant(n_frames, n_mels=n_mels, n_tags=n_tags)
        if model is None:
            return None
        x = np.random.default_rng(seed).normal(-40, 15, size=(2, n_mels, n_frames, 1)).astype(np.float32)
        p = np.asarray(model(x, training=False))
        if p.shape != (2, n_tags) or not np.all((p >= 0) & (p <= 1)):
            raise CheckFailed(f"for input {x.shape} the network gives {p.shape}, expected (2, {n_tags}) probabilities")

        def rows(m):
            return [(type(layer).__name__, tuple(layer.output.shape[1:])) for layer in m.layers]
        if rows(model) == rows(compact_convnet(n_mels=n_mels, n_frames=n_frames, n_tags=n_tags)):
            raise CheckFailed("this is the compact convnet unchanged: change its pools or its filter count")
        return True

    return audit


EXERCISES: dict[str, Exercise | CodeExercise] = {
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
    "01-quantize": CodeExercise(
        audio.quantize,
        _draw_signal_and_bits,
        "count in steps rather than in amplitude: how big is one step for a given number of bits, and "
        "what are the levels worth in that unit? Mind the ends: which level is the highest, and what "
        "happens to a sample of exactly 1.0",
    ),
    "01-n-frames": CodeExercise(
        audio.n_frames,
        _draw_samples_and_hop,
        "list the frame centres by hand for a short signal, e.g. 1000 samples and then 1024 samples with "
        "a hop of 256, and find the one rule that counts both lists right",
        tolerance=0.0,
    ),
    "01-rarest-style": Exercise(
        _rarest_ballroom_style,
        "count the clips per label with df['label'].value_counts()",
    ),
    "01-alias-frequency": CodeExercise(
        audio.alias_frequency,
        _draw_tone_and_rate,
        "sampling cannot tell f from f + k\u00b7sr for any whole number k, nor a tone from its mirror image "
        "\u2212f (a cosine is the same at \u2212x as at x). Work 7,000 Hz at 8,000 Hz through on paper: which of the "
        "frequencies that sound the same lands between 0 and sr/2?",
    ),
    "01-rarest-labels": CodeExercise(
        _rarest_labels,
        _draw_label_table,
        "pandas can count the rows of each distinct value in a column; then keep every label that has the "
        "smallest count",
    ),
    "01-authors-mfcc": CodeExercise(
        _authors_mfcc_summary,
        _draw_signal_12k,
        "start from librosa.feature.mfcc and pass only what the authors passed (and the padding that their "
        "librosa used); for the deltas, subtract neighbouring columns with NumPy slicing rather than calling "
        "librosa.feature.delta. Compare the shapes: each difference has one frame fewer",
        tolerance=1e-3,
    ),
    "06-group-folds": CodeExercise(
        _group_fold_scores,
        _draw_grouped_folder,
        "give the groups to the splitter's split(), not to the model; build a new pipeline in every fold so "
        "that nothing learnt on one fold's training part leaks into the next; score each held-out part on "
        "its own and return the scores in the splitter's order",
        tolerance=1e-9,
    ),
    "02-crop-sampler": CodeExercise(
        lambda *args: True,
        _draw_ragged_clips,
        "start from CropSequence: which of its lines assume that every clip has x.shape[2] frames? A clip's "
        "last possible start is the one whose crop ends on its last frame, and a clip exactly crop_frames "
        "long has one possible start",
        cases=10,
        adapt=_audit_crop_sampler,
    ),
    "02-variant": CodeExercise(
        lambda *args: True,
        lambda rng: (128, 96, 50, int(rng.integers(0, 1000))),
        "copy build_compact_convnet and conv_block under new names, then change the pool sizes (their "
        "products must still reach 1 x 1 on 96 x 128) or the number of filters, and return the keras.Model",
        cases=2,
        adapt=_audit_variant,
    ),
    "04-nested-cv": CodeExercise(
        _nested_cv,
        _draw_nested,
        "two loops: for each outer split, every C gets a score from inner folds of the outer training rows "
        "only (StratifiedKFold(inner_folds).split(X_train, y_train) gives positions within X_train); which C "
        "is refitted, on which rows, and where is it scored?",
        cases=10,
        tolerance=1e-9,
    ),
    "04-fixed-scaler": CodeExercise(
        _standardise_if,
        _draw_features,
        "clone() builds a new scaler from get_params(), and set_params() only sets attributes: whatever is "
        "decided in __init__ is never decided again. Where does the scaler meet the data?",
        adapt=_as_grid_search_would,
    ),
    # --- notebook 03 ---
    "03-average-blocks": CodeExercise(
        _average_blocks,
        _draw_block_maps,
        "follow the shapes: one block's array is (crops, frequency, time, filters); what shape is left after "
        "averaging the two axes of a map, which axis do the blocks share when you join them, and which axis "
        "is left to average at the end?",
    ),
    "03-paired-bootstrap": CodeExercise(
        _paired_bootstrap,
        _draw_paired_results,
        "resample the clip indices once per draw and use the same indices for both features; the difference "
        "itself is measured on all the clips as they are, and the interval keeps the middle 95% of the n "
        "resampled differences",
        cases=8,
        tolerance=0.0075,
        adapt=_as_interval,
    ),
    # --- end of notebook 03 ---
    # --- notebook 05 ---
    "05-average-precision": CodeExercise(
        _average_precision,
        _draw_relevance,
        "walk down the ranking; at each relevant item, ask what fraction of the items so far (that one "
        "included) are relevant; then average those fractions over the relevant items only. Ranks start at 1",
        tolerance=1e-9,
    ),
    "05-semi-hard-loss": CodeExercise(
        _semi_hard_losses,
        _draw_triplet_batch,
        "for unit vectors the squared distance is 2 minus twice the dot product, which gives every distance of "
        "the batch at once. Work out one anchor by hand first, with the semi-hard rule of the text above (and "
        "what it falls back to), then do every row at once",
        tolerance=1e-4,
    ),
    "06-per-class-recall": CodeExercise(
        _per_class_recall,
        _draw_confusion,
        "np.diag gives each class's correctly predicted clips, and a sum along the right axis its clips; "
        "np.divide with out= (filled with np.nan) and where= makes a class without clips come out as nan, "
        "without a RuntimeWarning",
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
    if isinstance(ex, CodeExercise):
        return callable(answer) and check_function(ex, answer) is None
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
    ex = EXERCISES[name]
    hint = ex.hint.rstrip()
    hint = hint if hint.endswith(("?", "!")) else hint.rstrip(".")
    stop = "" if hint.endswith(("?", "!")) else "."  # a hint that asks a question ends with its "?"
    if answer is None:
        print(f"{name}: not answered yet. Hint: {hint}{stop}")
    elif isinstance(ex, CodeExercise):
        problem = "pass your function itself, not its result" if not callable(answer) else check_function(ex, answer)
        if problem is not None and problem.endswith("returned None"):
            print(f"{name}: not answered yet (your function returns None). Hint: {hint}{stop}")
        elif problem is None:
            print(f"{name}: correct! (agrees with the reference on {ex.cases} random inputs)")
        else:
            print(f"{name}: not quite: {problem}. Hint: {hint}{stop}")
    elif is_correct(name, answer):
        print(f"{name}: correct!")
    else:
        print(f"{name}: not quite. Hint: {hint}{stop}")
