"""The fault-filtered, artist-aware GTZAN split: its three lists, fetched with checksums, and matched to the release.

Kereliuk, Sturm and Larsen ("Deep learning and music adversaries", IEEE Trans. Multimedia 17(11),
2015) proposed a *fault-filtered*, artist-aware split of GTZAN: 443 training, 197 validation and
290 test tracks, 70 faulty tracks left out. The lists used here are those of
jordipons/sklearn-audio-transfer-learning (``data/index/GTZAN/{train,valid,test}_filtered.txt``,
ISC licence), pinned by SHA-256 and found like every external file of the course
(:func:`course_utils.fetch.download.locate`: the data folder, the reference folder, the network).
The evaluation on it is :mod:`course_utils.svm.gtzan_filtered`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from course_utils.core import paths
from course_utils.core.errors import DatasetError, DownloadError
from course_utils.fetch import download


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


#: Where the lists are under the reference folder (:func:`course_utils.core.paths.reference_dir`).
REFERENCE_SUBDIR = "gtzan_fault_filtered"


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
        labels: the release's GTZAN genre table (:func:`course_utils.svm.protocol.load_labels`), with
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
