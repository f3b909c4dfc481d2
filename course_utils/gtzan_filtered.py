"""GTZAN genre on the fault-filtered split, with the authors' released features (notebook 04).

The paper's GTZAN score (.898 with the convnet feature) comes from 10 random folds of the 1000
tracks, as was usual then. GTZAN has repeated tracks, distorted tracks, mislabelled tracks and
many tracks per artist, so random folds put near-copies and the same artists on both sides.
Kereliuk, Sturm and Larsen ("Deep learning and music adversaries", IEEE Trans. Multimedia 17(11),
2015) proposed a *fault-filtered*, artist-aware split: 443 training, 197 validation and 290 test
tracks, 70 faulty tracks left out. The lists used here are those of jordipons/sklearn-audio-transfer-learning
(``data/index/GTZAN/{train,valid,test}_filtered.txt``, ISC licence), pinned by SHA-256 and found
like every external file of the course (:func:`course_utils.download.locate`: the data folder,
the reference folder, the network).

The evaluation (:func:`evaluate_filtered`): the paper's SVM grid (:func:`course_utils.evaluate.param_grid`,
same protocols) is scored by training on *train* and testing on *valid*; the best setting (ties:
the first in the grid's order) is refitted on train+valid and scores the test tracks once, with a
Wilson 95% interval. :func:`gtzan_filtered_table` sets it beside the published and reproduced
random 10-fold scores and the public results on the same split.
"""

from __future__ import annotations

import math
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from course_utils import download, evaluate, paths
from course_utils.errors import CourseError, DatasetError, DownloadError

#: Raw files of the lists' public home (branch master); :data:`CHECKSUMS` pins their content.
LISTS_URL = "https://raw.githubusercontent.com/jordipons/sklearn-audio-transfer-learning/master/data/index/GTZAN"
#: Split -> list file name.
LIST_FILES = {"train": "train_filtered.txt", "valid": "valid_filtered.txt", "test": "test_filtered.txt"}
#: SHA-256 of each list (one ``genre/genre.NNNNN.wav`` per line). An older revision of the
#: repository (066fc6a) lists the same tracks as ``.au``: :func:`read_lists` reads either, but these
#: digests pin the ``.wav`` lists.
CHECKSUMS = {
    "train_filtered.txt": "2b04966cef1486f1a7767b74271533fa23e220388db804a1937835e1fc4fa3fa",
    "valid_filtered.txt": "f8fbee7c52397a0e0f3a91dc54fedecb2e27f5bdc9a9daeab8cb10d077e26956",
    "test_filtered.txt": "09cafa6a89ce0a27f30ed250d56ecb4d03c22fffb5a693f96c7ae655ee02ac72",
}
#: Tracks per split.
SIZES = {"train": 443, "valid": 197, "test": 290}
#: Where the lists are under the reference folder (:func:`course_utils.paths.reference_dir`).
REFERENCE_SUBDIR = "gtzan_fault_filtered"
#: The normal quantile of a two-sided 95% interval.
Z95 = 1.959963984540054

#: Public accuracies on the same split, for reference rows: (system, test accuracy, source).
#: - musicnn (MSD, max-pool features), VGGish + PCA and OpenL3, each with an SVM: Pons and Serra,
#:   "musicnn: pre-trained convolutional neural networks for music audio tagging", ISMIR 2019
#:   late-breaking demo (arXiv:1909.06654), transfer learning on this split; the figures as issue 13
#:   of the course quotes them (check them against the paper's table before quoting them elsewhere);
#: - MFCC + SVM: the README of jordipons/sklearn-audio-transfer-learning, which takes it from Pons
#:   and Serra, "Randomly weighted CNNs for (music) audio classification", ICASSP 2019
#:   (arXiv:1805.00237).
PUBLIC_RESULTS = (
    ("VGGish + PCA + SVM", 0.7758, "Pons & Serra 2019, musicnn (arXiv:1909.06654)"),
    ("OpenL3 + SVM", 0.7465, "Pons & Serra 2019, musicnn (arXiv:1909.06654)"),
    ("musicnn (MSD) max-pool + SVM", 0.7724, "Pons & Serra 2019, musicnn (arXiv:1909.06654)"),
    ("MFCC + SVM", 0.5344, "Pons & Serra 2019, randomly weighted CNNs (arXiv:1805.00237)"),
)
#: The released feature sets compared, with their titles.
FEATURE_SETS = {"01234": "Choi et al. convnet, layers 01234", "mfcc": "MFCC (Choi et al. release)"}


def lists_dir() -> Path:
    """Where the lists are kept in the data folder: ``data_dir()/downloads/gtzan_fault_filtered``."""
    return paths.data_dir() / "downloads" / "gtzan_fault_filtered"


def fetch_lists(*, progress: bool = True) -> Path:
    """The folder holding the three split lists, found in the course's lookup order.

    :func:`lists_dir`, then ``gtzan_fault_filtered/`` of the reference folder (read in place),
    else downloaded (checksummed) into :func:`lists_dir`.

    Args:
        progress: show progress bars while downloading.

    Returns:
        The folder.

    Raises:
        DownloadError: the lists are nowhere here and could not be downloaded; one line saying
            where to put them.
    """
    try:
        found = download.locate(CHECKSUMS, lists_dir(), REFERENCE_SUBDIR, LISTS_URL, progress=progress)
    except DownloadError as exc:
        reason = " ".join(str(exc).split())
        raise DownloadError(
            f"the GTZAN fault-filtered split lists could not be fetched ({reason}); place "
            f"{', '.join(CHECKSUMS)} from {LISTS_URL} in {lists_dir()}, or set {paths.REFERENCE_ENV} to a "
            f"folder whose {REFERENCE_SUBDIR}/ holds them"
        ) from None
    return found[LIST_FILES["train"]].parent


def read_lists(folder=None) -> dict[str, list[str]]:
    """The three splits as track names (``"blues.00012"``), in file order.

    Args:
        folder: a folder holding the three list files; ``None`` for :func:`fetch_lists`.

    Returns:
        ``{"train": [...], "valid": [...], "test": [...]}``; a line's name is its file name without
        folder and extension, so ``.wav`` and ``.au`` lists read alike.

    Raises:
        DatasetError: a list file is missing (one line naming it and where to get it).
        DownloadError: see :func:`fetch_lists`.
    """
    folder = Path(folder) if folder is not None else fetch_lists(progress=False)
    out = {}
    for split, name in LIST_FILES.items():
        path = folder / name
        if not path.is_file():
            raise DatasetError(f"{path}: GTZAN fault-filtered list not found (get it from {LISTS_URL}/{name})")
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        out[split] = [Path(line.replace("\\", "/")).stem for line in lines if line]
    return out


def release_split(labels: pd.DataFrame, lists: dict[str, list[str]]) -> np.ndarray:
    """The split of each row of the release's ``labels/gtzan_genre.csv``, matched by track name.

    Args:
        labels: the release's GTZAN genre table (:func:`course_utils.evaluate.load_labels`), with
            ``filepath`` values such as ``gtzan_genre/genres/blues/blues.00012.au``.
        lists: the output of :func:`read_lists`.

    Returns:
        One of ``"train"``, ``"valid"``, ``"test"`` or ``""`` (left out) per row.

    Raises:
        DatasetError: a track is in two lists, or a listed track is not in the release.
    """
    where = {}
    for split, names in lists.items():
        for name in names:
            if where.setdefault(name, split) != split:
                raise DatasetError(f"GTZAN fault-filtered split: {name} is in both {where[name]} and {split}")
    stems = [Path(str(p).replace("\\", "/")).stem for p in labels["filepath"]]
    missing = sorted(set(where) - set(stems))
    if missing:
        raise DatasetError(f"GTZAN fault-filtered split: {len(missing)} listed tracks are not in the release "
                           f"(first: {missing[0]})")
    return np.array([where.get(s, "") for s in stems])


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


def evaluate_filtered(X, y, split, protocol: str = "paper", n_jobs: int = 2) -> dict:
    """Select on valid, refit on train+valid, score test once: the SVM grid on a train/valid/test split.

    Uses the fast kernels and solvers of :func:`course_utils.evaluate.evaluate_task`.

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
    sel = evaluate.evaluate_task(X, y, [(idx["train"], idx["valid"])], "classification", protocol, "fast",
                                 nested=False, n_jobs=n_jobs)
    table = sel["scores_per_param"]
    trainval = np.sort(np.concatenate([idx["train"], idx["valid"]]))
    with warnings.catch_warnings():  # libsvm's capped linear fits, which the exact solver then replaces
        warnings.filterwarnings("ignore", message=".*terminated early.*")
        pred = evaluate.cv_predictions(X, y, [(trainval, idx["test"])], sel["best_params"])[idx["test"]]
    correct = int(np.sum(pred == y[idx["test"]]))
    low, high = wilson_interval(correct, len(idx["test"]))
    return {"test_accuracy": correct / len(idx["test"]), "ci_low": low, "ci_high": high, "n_test": len(idx["test"]),
            "n_correct": correct, "valid_accuracy": sel["best_score"], "params": sel["best_params"],
            "n_tied": int(np.sum(table["mean_score"].to_numpy() == sel["best_score"])), "scores_per_param": table,
            "protocol": protocol, "seconds": time.perf_counter() - start}


def evaluate_release_filtered(features_dir=None, layers: str = "01234", protocol: str = "paper", lists=None,
                              n_jobs: int = 2) -> dict:
    """:func:`evaluate_filtered` on the authors' released GTZAN genre features.

    Args:
        features_dir: the release folder; ``None`` for :func:`course_utils.release.fetch_release`.
        layers: the feature set (``"01234"``, ``"mfcc"``... see :func:`course_utils.evaluate.load_release`).
        protocol: ``"paper"`` or ``"corrected"``.
        lists: a folder holding the list files, or the output of :func:`read_lists`; ``None``:
            found by :func:`fetch_lists`.
        n_jobs: parallel fits.

    Returns:
        The dict of :func:`evaluate_filtered`, plus ``layers``.
    """
    if features_dir is None:
        from course_utils import release

        features_dir = release.fetch_release(progress=False)
    if not isinstance(lists, dict):
        lists = read_lists(lists)
    X, y, _ = evaluate.load_release(features_dir, "gtzan_genre", layers)
    split = release_split(evaluate.load_labels(features_dir, "gtzan_genre"), lists)
    result = evaluate_filtered(X, y, split, protocol, n_jobs)
    result["layers"] = layers
    return result


def gtzan_filtered_table(features_dir=None, protocol: str = "paper", lists=None, n_jobs: int = 2,
                         random_cv: bool = True) -> pd.DataFrame:
    """GTZAN genre: published and reproduced random 10-fold scores against the fault-filtered test score.

    Rows: the convnet feature (layers 01234) and the MFCC baseline of the authors' release, then the
    public results on the same split (:data:`PUBLIC_RESULTS`, with their sources).

    Args:
        features_dir: the release folder; ``None`` for :func:`course_utils.release.fetch_release`.
        protocol: ``"paper"`` (default: no standardisation, as published) or ``"corrected"``.
        lists: as in :func:`evaluate_release_filtered`.
        n_jobs: parallel fits.
        random_cv: also reproduce the random 10-fold score (:func:`course_utils.evaluate.evaluate_release`).

    Returns:
        A DataFrame indexed by ``system`` with ``published_random_10fold``,
        ``reproduced_random_10fold``, ``filtered_test``, ``ci_low``, ``ci_high`` (Wilson 95% over the
        test tracks), ``valid_accuracy``, ``n_tied`` (settings sharing the best valid accuracy; the
        first in the grid's order is chosen), ``params`` and ``source``; NaN where a row has no such
        number. ``df.attrs``: ``protocol``, ``note``, ``n_test``, ``seconds``.
    """
    start = time.perf_counter()
    if features_dir is None:
        from course_utils import release

        features_dir = release.fetch_release(progress=False)
    if not isinstance(lists, dict):
        lists = read_lists(lists)
    rows, n_test = [], None
    for layers, title in FEATURE_SETS.items():
        res = evaluate_release_filtered(features_dir, layers, protocol, lists, n_jobs)
        n_test = res["n_test"]
        rand = (evaluate.evaluate_release(features_dir, "gtzan_genre", layers, protocol, "fast", False, n_jobs)["best_score"]
                if random_cv else np.nan)
        rows.append({"system": title, "published_random_10fold": evaluate.PUBLISHED["gtzan_genre"][layers],
                     "reproduced_random_10fold": rand, "filtered_test": res["test_accuracy"], "ci_low": res["ci_low"],
                     "ci_high": res["ci_high"], "valid_accuracy": res["valid_accuracy"], "n_tied": res["n_tied"],
                     "params": evaluate.describe_params(res["params"]), "source": "this course, the authors' release"})
    for system, acc, source in PUBLIC_RESULTS:
        rows.append({"system": system, "published_random_10fold": np.nan, "reproduced_random_10fold": np.nan,
                     "filtered_test": acc, "ci_low": np.nan, "ci_high": np.nan, "valid_accuracy": np.nan,
                     "n_tied": np.nan, "params": "", "source": source})
    df = pd.DataFrame(rows).set_index("system")
    df.attrs.update(protocol=protocol, note=evaluate.protocol_note(protocol), n_test=n_test,
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
