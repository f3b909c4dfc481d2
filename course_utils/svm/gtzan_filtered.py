"""GTZAN genre on the fault-filtered split, with the authors' released features (notebook 04).

The paper's GTZAN score (.898 with the convnet feature) comes from 10 random folds of the 1000
tracks, as was usual then. GTZAN has repeated tracks, distorted tracks, mislabelled tracks and
many tracks per artist, so random folds put near-copies and the same artists on both sides.
Kereliuk, Sturm and Larsen ("Deep learning and music adversaries", IEEE Trans. Multimedia 17(11),
2015) proposed a *fault-filtered*, artist-aware split: 443 training, 197 validation and 290 test
tracks, 70 faulty tracks left out. The lists used here are those of jordipons/sklearn-audio-transfer-learning
(``data/index/GTZAN/{train,valid,test}_filtered.txt``, ISC licence), pinned by SHA-256 and found
like every external file of the course (:func:`course_utils.fetch.download.locate`: the data folder,
the reference folder, the network).

The evaluation (:func:`evaluate_filtered`): the paper's SVM grid (:func:`course_utils.svm.protocol.param_grid`,
same protocols) is scored by training on *train* and testing on *valid*; the best setting (ties:
the first in the grid's order) is refitted on train+valid and scores the test tracks once, with a
Wilson 95% interval. :func:`gtzan_filtered_table` sets it beside the published and reproduced
random 10-fold scores and the public results on the same split.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd

from course_utils.core.errors import CourseError
from course_utils.stats import wilson_interval
from course_utils.svm import grid, report
from course_utils.svm.protocol import evaluate_release, evaluate_task
from course_utils.tasks import registry, release
from course_utils.tasks.gtzan_split import read_lists, release_split

#: The released feature sets compared, with their titles.
FEATURE_SETS = {"01234": "Choi et al. convnet, layers 01234", "mfcc": "MFCC (Choi et al. release)"}


def evaluate_filtered(X, y, split, protocol: str = "paper", n_jobs: int = 2) -> dict:
    """Select on valid, refit on train+valid, score test once: the SVM grid on a train/valid/test split.

    Uses the fast kernels and solvers of :func:`course_utils.svm.protocol.evaluate_task`.

    Args:
        X: (n_clips, n_features) features.
        y: class ids.
        split: ``"train"``, ``"valid"``, ``"test"`` or anything else (left out) per row.
        protocol: ``"paper"`` (no standardisation, as published) or ``"corrected"``.
        n_jobs: parallel fits.

    Returns:
        A dict: ``test_accuracy``, ``ci_low``/``ci_high`` (Wilson 95%), ``n_test``, ``n_correct``,
        ``valid_accuracy`` (of the chosen setting), ``params`` (the chosen setting), ``n_tied``
        (settings sharing the best valid accuracy), ``scores_per_param`` (valid accuracy of every
        setting), ``protocol`` and ``seconds``.
    """
    start = time.perf_counter()
    split = np.asarray(split).astype(str)
    idx = {s: np.flatnonzero(split == s) for s in ("train", "valid", "test")}
    if any(len(v) == 0 for v in idx.values()):
        raise CourseError(f"the split needs train, valid and test rows; found {sorted(set(split))}")
    y = np.asarray(y)
    sel = evaluate_task(X, y, [(idx["train"], idx["valid"])], "classification", protocol, "fast",
                                 nested=False, n_jobs=n_jobs)
    table = sel["scores_per_param"]
    trainval = np.sort(np.concatenate([idx["train"], idx["valid"]]))
    with warnings.catch_warnings():  # libsvm's capped linear fits, which the exact solver then replaces
        warnings.filterwarnings("ignore", message=".*terminated early.*")
        pred = grid.cv_predictions(X, y, [(trainval, idx["test"])], sel["best_params"])[idx["test"]]
    correct = int(np.sum(pred == y[idx["test"]]))
    low, high = wilson_interval(correct, len(idx["test"]))
    return {"test_accuracy": correct / len(idx["test"]), "ci_low": low, "ci_high": high, "n_test": len(idx["test"]),
            "n_correct": correct, "valid_accuracy": sel["best_score"], "params": sel["best_params"],
            "n_tied": int(np.sum(table["mean_score"].to_numpy() == sel["best_score"])), "scores_per_param": table,
            "protocol": protocol, "seconds": time.perf_counter() - start}


def evaluate_release_filtered(release_dir=None, layers: str = "01234", protocol: str = "paper", lists=None,
                              n_jobs: int = 2) -> dict:
    """:func:`evaluate_filtered` on the authors' released GTZAN genre features.

    Args:
        release_dir: the release folder; ``None`` for :func:`course_utils.tasks.release.fetch_release`.
        layers: the feature set (``"01234"``, ``"mfcc"``... see :func:`course_utils.svm.protocol.load_release`).
        protocol: ``"paper"`` or ``"corrected"``.
        lists: a folder holding the list files, or the output of :func:`~course_utils.tasks.gtzan_split.read_lists`; ``None``:
            found by :func:`~course_utils.tasks.gtzan_split.fetch_lists`.
        n_jobs: parallel fits.

    Returns:
        The dict of :func:`evaluate_filtered`, plus ``layers``.
    """
    if release_dir is None:
        release_dir = release.fetch_release(progress=False)
    if not isinstance(lists, dict):
        lists = read_lists(lists)
    X, y, _ = release.load_release(release_dir, "gtzan_genre", layers)
    split = release_split(release.load_labels(release_dir, "gtzan_genre"), lists)
    result = evaluate_filtered(X, y, split, protocol, n_jobs)
    result["layers"] = layers
    return result


def gtzan_filtered_table(release_dir=None, protocol: str = "paper", lists=None, n_jobs: int = 2,
                         random_cv: bool = True) -> pd.DataFrame:
    """GTZAN genre: published and reproduced random 10-fold scores against the fault-filtered test score.

    Rows: the convnet feature (layers 01234) and the MFCC baseline of the authors' release. (Public
    results of other systems on this split are not quoted: they were not checked against their
    papers' tables. Notebook 04 adds the authors' Keras-2 model's features, which are not the paper's.)

    Args:
        release_dir: the release folder; ``None`` for :func:`course_utils.tasks.release.fetch_release`.
        protocol: ``"paper"`` (default: no standardisation, as published) or ``"corrected"``.
        lists: as in :func:`evaluate_release_filtered`.
        n_jobs: parallel fits.
        random_cv: also reproduce the random 10-fold score (:func:`course_utils.svm.protocol.evaluate_release`).

    Returns:
        A DataFrame indexed by ``system`` with ``published_random_10fold``,
        ``reproduced_random_10fold``, ``filtered_test``, ``ci_low``, ``ci_high`` (Wilson 95% over the
        test tracks), ``valid_accuracy``, ``n_tied`` (settings sharing the best valid accuracy; the
        first in the grid's order is chosen), ``params`` and ``source``; NaN where a row has no such
        number. ``df.attrs``: ``protocol``, ``note``, ``n_test``, ``seconds``.
    """
    start = time.perf_counter()
    if release_dir is None:
        release_dir = release.fetch_release(progress=False)
    if not isinstance(lists, dict):
        lists = read_lists(lists)
    rows, n_test = [], None
    for layers, title in FEATURE_SETS.items():
        res = evaluate_release_filtered(release_dir, layers, protocol, lists, n_jobs)
        n_test = res["n_test"]
        rand = (evaluate_release(release_dir, "gtzan_genre", layers, protocol, "fast", False, n_jobs)["best_score"]
                if random_cv else np.nan)
        rows.append({"system": title, "published_random_10fold": registry.get("gtzan_genre").published[layers],
                     "reproduced_random_10fold": rand, "filtered_test": res["test_accuracy"], "ci_low": res["ci_low"],
                     "ci_high": res["ci_high"], "valid_accuracy": res["valid_accuracy"], "n_tied": res["n_tied"],
                     "params": report.describe_params(res["params"]), "source": "this course, the authors' release"})
    df = pd.DataFrame(rows).set_index("system")
    df.attrs.update(protocol=protocol, note=report.protocol_note(protocol), n_test=n_test,
                    seconds=time.perf_counter() - start)
    return df


def format_gtzan_table(df: pd.DataFrame) -> str:
    """The table of :func:`gtzan_filtered_table` as readable text (used by ``course-utils paper-table``).

    Args:
        df: the output of :func:`gtzan_filtered_table`.

    Returns:
        Lines of text.
    """
    def num(v):
        return f"{v:.3f}" if pd.notna(v) else "—"

    head = f"{'system':36s} {'random 10-fold':>15s} {'ours':>6s} {'filtered test':>14s} {'95% interval':>14s}  setting"
    lines = [f"GTZAN genre, fault-filtered split ({df.attrs.get('n_test')} test tracks); {df.attrs.get('note', '')}",
             head, "-" * len(head)]
    for system, row in df.iterrows():
        ci = f"{row['ci_low']:.3f}-{row['ci_high']:.3f}" if pd.notna(row["ci_low"]) else "—"
        lines.append(f"{system:36s} {num(row['published_random_10fold']):>15s} {num(row['reproduced_random_10fold']):>6s}"
                     f" {num(row['filtered_test']):>14s} {ci:>14s}  {row['params'] or row['source']}")
    if "seconds" in df.attrs:
        lines.append(f"({df.attrs['seconds']:.0f} s)")
    return "\n".join(lines)
