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
from course_utils.fetch import remote

#: The lists' public home (:mod:`course_utils.fetch.remote` has each file's URL and SHA-256).
_LISTS_HOME = "https://github.com/jordipons/sklearn-audio-transfer-learning/tree/master/data/index/GTZAN"
#: Split -> list file name.
LIST_FILES = {"train": "train_filtered.txt", "valid": "valid_filtered.txt", "test": "test_filtered.txt"}
#: Tracks per split.
SIZES = {"train": 443, "valid": 197, "test": 290}


def lists_dir() -> Path:
    """Where the lists are kept in the data folder: ``data_dir()/downloads/gtzan_fault_filtered``."""
    return remote.get("gtzan_fault_filtered").dest()


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
    files = remote.get("gtzan_fault_filtered")
    try:
        found = files.locate(progress=progress)
    except DownloadError as exc:
        reason = " ".join(str(exc).split())
        raise DownloadError(
            f"the GTZAN fault-filtered split lists could not be fetched ({reason}); place "
            f"{', '.join(files.checksums())} from {_LISTS_HOME} in {lists_dir()}, or set {paths.REFERENCE_ENV} to a "
            f"folder whose {files.reference}/ holds them"
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
            raise DatasetError(f"{path}: GTZAN fault-filtered list not found (get it from {remote.get('gtzan_fault_filtered').file(name).url})")
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
