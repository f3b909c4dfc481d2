"""Checkable exercises: the notebooks ask, the learner answers, :func:`check` says whether it is right.

Each exercise has a checker that *computes* the right answer (it is not a stored number), a
tolerance, and a hint. In a notebook::

    answer = None          # your answer here
    check("01-aliasing", answer)

A *code* exercise (:class:`CodeExercise`) asks for a function instead: :func:`check` calls the
learner's function and a reference implementation on the same random inputs (seeded, so the
verdict is repeatable) and reports the first input on which they disagree::

    def pooled_shape(n_mels, n_frames, pools):
        ...                # your code here
    check("02-pooled-shape", pooled_shape)

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


def _pooled_shape(n_mels: int, n_frames: int, pools) -> tuple[int, int]:
    for pf, pt in pools:
        n_mels, n_frames = n_mels // pf, n_frames // pt
    return n_mels, n_frames


def _draw_pools(rng: np.random.Generator) -> tuple:
    pools = [(int(rng.integers(1, 6)), int(rng.integers(1, 6))) for _ in range(5)]
    return int(rng.integers(32, 200)), int(rng.integers(32, 1500)), pools


def _macro_roc_auc(y_true, y_score) -> float:
    from course_utils.metrics import macro_scores

    return macro_scores(y_true, y_score)["roc_auc"]


def _draw_tagging(rng: np.random.Generator) -> tuple:
    n, tags = int(rng.integers(20, 120)), int(rng.integers(2, 9))
    y = (rng.random((n, tags)) < rng.uniform(0.05, 0.5, size=tags)).astype(int)
    y[:, int(rng.integers(0, tags))] = 0 if rng.random() < 0.5 else y[:, 0]  # sometimes a tag with no positive
    y[0, :] = np.where(y.sum(0) == n, 0, y[0, :])  # no tag on every clip
    if y.sum() == 0:
        y[0, 0] = 1
    return y, rng.random((n, tags))


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

# --- end of notebook 04 ---


def _precision_at_k(relevance, k: int) -> float:
    from course_utils.retrieval_metrics import precision_at_k

    return precision_at_k(relevance, k)


def _draw_ranking(rng: np.random.Generator) -> tuple:
    n = int(rng.integers(5, 60))
    return (rng.random(n) < rng.uniform(0.05, 0.6)).astype(int), int(rng.integers(1, n + 1))


def _global_average(maps) -> np.ndarray:
    return np.asarray(maps, dtype=float).mean(axis=(0, 1))


def _draw_maps(rng: np.random.Generator) -> tuple:
    return (rng.normal(size=(int(rng.integers(1, 12)), int(rng.integers(1, 40)), int(rng.integers(1, 33)))),)


def _tile_to(mel, n_frames: int) -> np.ndarray:
    mel = np.asarray(mel)
    return np.tile(mel, (1, int(np.ceil(n_frames / mel.shape[1]))))[:, :n_frames]


def _draw_short_mel(rng: np.random.Generator) -> tuple:
    frames = int(rng.integers(1, 60))
    return rng.normal(size=(int(rng.integers(2, 10)), frames)), int(rng.integers(frames, 200))


def _jaccard(a, b) -> float:
    from course_utils.ground_truth import tag_similarity

    return float(tag_similarity(np.stack([a, b]))[0, 1])


def _draw_tag_pair(rng: np.random.Generator) -> tuple:
    n, p = int(rng.integers(3, 50)), rng.uniform(0.0, 0.5)
    a, b = (rng.random(n) < p).astype(int), (rng.random(n) < p).astype(int)
    if rng.random() < 0.1:
        a[:], b[:] = 0, 0  # two clips without tags: no overlap, similarity 0
    return a, b


def _pools(n_mels: int, n_frames: int):
    from course_utils.models import pool_sizes

    return pool_sizes(n_mels, n_frames)


def transfer_columns(layers: str):
    from course_utils.transfer import layer_columns

    return layer_columns(layers)


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
        "Sampling cannot tell f from f + sr or f \u2212 sr. Which of those lies between 0 and sr/2?",
    ),
    "01-rarest-labels": CodeExercise(
        _rarest_labels,
        _draw_label_table,
        "pandas can count the rows of each distinct value in a column; then keep every label that has the "
        "smallest count",
    ),
    "02-pooled-shape": CodeExercise(
        _pooled_shape,
        _draw_pools,
        "Keras' MaxPooling2D moves by its own size and has no padding: try "
        "keras.layers.MaxPooling2D((3, 4))(np.zeros((1, 7, 10, 1))).shape and count what is left over",
    ),
    "02-macro-roc-auc": CodeExercise(
        _macro_roc_auc,
        _draw_tagging,
        "sklearn.metrics.roc_auc_score scores one tag (one column) at a time, and it is undefined for a "
        "column with only one class in y_true: leave such tags out of the average",
        tolerance=1e-9,
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
    "03-global-average": CodeExercise(
        _global_average,
        _draw_maps,
        "the block's output has one map per filter on its last axis; which two axes are frequency and time?",
    ),
    "03-tile-to": CodeExercise(
        _tile_to,
        _draw_short_mel,
        "np.tile repeats an array along the axes you ask for: how many copies cover n_frames, and what happens "
        "to the frames beyond n_frames?",
    ),
    "05-precision-at-k": CodeExercise(
        _precision_at_k,
        _draw_ranking,
        "take the first k entries of relevance; reread the definition in section 3 for what to divide by",
    ),
    "05-jaccard-code": CodeExercise(
        _jaccard,
        _draw_tag_pair,
        "a and b are 0/1 vectors over the same tags: count the tags both have and the tags either has; "
        "what should two clips without any tag give?",
    ),
    "06-per-class-recall": CodeExercise(
        _per_class_recall,
        _draw_confusion,
        "np.diag gives each class's correctly predicted clips, and a sum along the right axis its clips; "
        "np.divide with out= (filled with np.nan) and where= makes a class without clips come out as nan, "
        "without a RuntimeWarning",
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
