"""The layout of the authors' released features and labels (Choi et al. 2017): fetch, read, write.

keunwoochoi/transfer_learning_music on GitHub ships, for the six transfer tasks, the convnet
features of every layer (``data_feats/<task>_layer_<i>.npy``, 32 values per clip), the MFCC
baseline (``data_feats/<task>_mfcc.npy``; none for UrbanSound8K) and the label files
(``data_csv/<task>.csv``). Locally they lie in ``features/`` and ``labels/`` of one folder:

- fetching (:func:`fetch_release`): found in the course's lookup order
  (:func:`course_utils.fetch.download.locate`): ``data/full/choi2017_release/{features,labels}``, then
  ``choi2017/`` of the reference folder (used in place), then a download with checksums into the
  data folder;
- reading (:func:`load_release`, :func:`load_labels`, :func:`feature_files`): the features and
  labels of one task of :mod:`course_utils.tasks.registry`, for :func:`course_utils.svm.protocol.paper_table`;
- writing (:func:`write_release_layout`, :func:`release_labels`): the course's own features of a
  dataset in the same layout, so that the paper's protocol runs on them exactly as on the authors'.

Notebooks 03 and 04 and ``course-utils paper-table``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from course_utils.core import paths, validate
from course_utils.core.files import atomic_save_npy, atomic_write_text
from course_utils.core.errors import CourseError, DatasetError, ParameterError
from course_utils.fetch import download, remote
from course_utils.tasks import registry

#: Values per block, and per layer file of the release: the paper's convnet (and the course's
#: compact one) has 32 filters per block.
BLOCK_WIDTH = 32
#: Block indices of the convnets (the paper's and the course's), as layer digits.
ALL_LAYERS = "01234"


def _complete(folder) -> bool:
    """Whether every file of the release is in ``folder``."""
    return folder is not None and all((Path(folder) / rel).is_file() for rel in remote.get("choi2017_release").checksums())


def fetch_release(folder=None, *, progress: bool = True) -> Path:
    """The released features and labels (about 22 MB), every file's SHA-256 checked.

    Without ``folder``, found in the course's lookup order (:func:`course_utils.fetch.download.locate`):
    :func:`course_utils.core.paths.release_dir` when complete and intact; else ``choi2017/`` of the reference folder
    (``$COURSE_REFERENCE_DIR`` or ``../shared/reference`` beside a checkout), read in place; else
    downloaded into :func:`course_utils.core.paths.release_dir`. With ``folder``, downloaded there (files already present
    and intact are kept; an interrupted download resumes).

    Args:
        folder: download into this folder instead of looking the release up.
        progress: show progress bars.

    Returns:
        The folder holding ``features/`` and ``labels/``.

    Raises:
        CourseError: a file could not be downloaded (offline, moved upstream) or its checksum is
            wrong; the message names it and says what to do.
    """
    files = remote.get("choi2017_release")
    target = Path(folder) if folder else paths.release_dir()
    try:
        found = download.locate(files.checksums(), target, None if folder else files.reference, files.urls(),
                                progress=progress)
    except CourseError as exc:
        raise CourseError(
            f"the authors' release could not be fetched ({exc}). Without internet, copy the repository's "
            f"data_feats/ and data_csv/ folders to {target}/features and {target}/labels, or set {paths.RELEASE_ENV} "
            f"to a folder that holds them (or {paths.REFERENCE_ENV} to a folder whose {files.reference}/ does)."
        ) from None
    return found["labels/gtzan_genre.csv"].parent.parent


# --------------------------------------------------------------------------------------------
# Reading


def release_root(release_dir) -> Path:
    """The root of a release layout, given ``.../choi2017`` or ``.../choi2017/features``.

    ``None``: the release already on this machine (:func:`course_utils.core.paths.release_dir`,
    then ``choi2017/`` of the reference folder); this only looks, it never downloads.

    Raises:
        DatasetError: ``None`` and the release is not on this machine (:func:`fetch_release` gets it).
    """
    if release_dir is None:
        reference = paths.reference_dir()
        for folder in (paths.release_dir(), reference / remote.get("choi2017_release").reference if reference else None):
            if _complete(folder):
                return folder
        raise DatasetError(f"the authors' release is not in {paths.release_dir()} or the reference folder; "
                           "get it first with release.fetch_release() (or `course-utils paper-table`)")
    path = Path(release_dir)
    return path if (path / "features").is_dir() or not (path.name == "features") else path.parent


def load_labels(release_dir, task: str) -> pd.DataFrame:
    """The released label table of a task (row order = the feature files'). Notebook 04.

    Args:
        release_dir: the release folder (``.../choi2017``) or its ``features`` subfolder (``None``:
            the release already on this machine, :func:`release_root`); the labels are read from the sibling
            ``labels/<task>.csv``.
        task: one of :func:`course_utils.tasks.registry.names`.

    Returns:
        The DataFrame (``id, filepath, label``; emoMusic ``label_arousal, label_valence``;
        jamendo_vd also ``category``; urbansound also ``fold``).

    Raises:
        DatasetError: the file is missing.
    """
    path = release_root(release_dir) / "labels" / f"{registry.release_name(task)}.csv"
    if not path.is_file():
        raise DatasetError(f"{path}: label file not found; is the Choi et al. 2017 release complete?")
    return pd.read_csv(path, index_col=0)


def parse_layers(spec: str) -> list[int]:
    """Block indices from a string such as ``"01234"`` or ``"24"``.

    Args:
        spec: digits 0 to 4, each at most once.

    Returns:
        Sorted block indices.

    Raises:
        CourseError: a character is not a block index.
    """
    spec = str(spec)
    if not spec or any(c not in ALL_LAYERS for c in spec) or len(set(spec)) != len(spec):
        raise ParameterError(f"layers {spec!r}: use digits 0 to 4, each once (e.g. 01234, 4, 24)")
    return sorted(int(c) for c in spec)


def split_layers(spec: str, names=(), *, blocks: bool = True, model: str = "") -> list[str]:
    """The parts of a layer spec joined by ``+``: the one parser of every model's layer strings.

    Args:
        spec: e.g. ``"01234"``, ``"24+mfcc"`` (the release), ``"max_pool+mean_pool"`` (musicnn).
        names: the named layers accepted (``"mfcc"``, ``"tags"``, musicnn's ``"penultimate"``...).
        blocks: accept runs of block digits 0 to 4 (one part per digit, sorted, as :func:`parse_layers`).
        model: the model's name, for the message.

    Returns:
        The parts in order, each once: ``"01234+mfcc"`` -> ``["0", "1", "2", "3", "4", "mfcc"]``.

    Raises:
        ParameterError: an unknown or repeated part; the message says what is accepted.
    """
    parts = []
    for token in str(spec).split("+"):
        if token in names:
            parts.append(token)
        elif blocks and token and all(ch in ALL_LAYERS for ch in token):
            parts += [str(i) for i in parse_layers(token)]
        else:
            parts = None
            break
    if parts is None or len(set(parts)) != len(parts):
        accepted = ["digits 0 to 4 (e.g. 01234, 4, 24)"] * blocks + [repr(n) for n in names]
        joined = ", or several joined by '+' (each once)" if len(accepted) > 1 or blocks else ""
        raise ParameterError(f"layers {spec!r}{' of ' + model if model else ''}: give {', '.join(accepted)}{joined}")
    return parts


def feature_files(release_dir, task: str, layers: str = "01234") -> list[Path]:
    """The ``.npy`` files that make up a feature set, in concatenation order.

    Args:
        release_dir: the release folder or its ``features`` subfolder.
        task: one of :func:`course_utils.tasks.registry.names`.
        layers: ``"01234"``, ``"0"``, ``"24"``, ``"mfcc"``, ``"01234+mfcc"``...

    Returns:
        The paths (not checked for existence).
    """
    folder = release_root(release_dir) / "features"
    base = registry.release_name(task)
    return [folder / (f"{base}_mfcc.npy" if part == "mfcc" else f"{base}_layer_{part}.npy") for part in split_layers(layers, ("mfcc",))]


def load_release(release_dir, task: str, layers: str = "01234"):
    """Load the authors' released features and labels of one task. Notebook 04.

    Args:
        release_dir: the release folder (``.../choi2017``) or its ``features`` subfolder; ``None`` for
            the release already on this machine (:func:`release_root`; never downloaded).
        task: one of :func:`course_utils.tasks.registry.names`.
        layers: which convnet layers to concatenate (``"01234"``, ``"0"``, ``"24"``...), the MFCC
            baseline (``"mfcc"``), or a ``+`` join such as ``"01234+mfcc"``.

    Returns:
        ``(X, y, groups)``: float64 features (clips x values), labels (int class ids, or float
        arousal/valence for the emoMusic tasks), and the split information: the ``fold`` column for
        urbansound, the ``category`` column (train/valid/test) for jamendo_vd, else ``None``.

    Raises:
        DatasetError: a feature or label file is missing (the message names it; the release has
            no ``urbansound_mfcc.npy``), or the row counts disagree.
    """
    release_dir = release_root(release_dir)
    labels = load_labels(release_dir, task)
    spec = registry.get(task)
    blocks = []
    for path in feature_files(release_dir, task, layers):
        if not path.is_file():
            hint = " (the authors did not release it)" if path.name == "urbansound_mfcc.npy" else ""
            raise DatasetError(f"{path}: feature file not found{hint}")
        block = validate.numeric_npy(path)  # never unpickles; a bad file is one DatasetError
        if block.ndim != 2 or block.shape[0] != len(labels):
            raise DatasetError(f"{path}: expected {len(labels)} rows (one per clip of labels/{spec.release_name}.csv), "
                               f"found shape {block.shape}")
        blocks.append(block.astype(np.float64))
    X = np.ascontiguousarray(np.concatenate(blocks, axis=1))
    if spec.task_type == "regression":
        y = labels[spec.release_label].to_numpy(np.float64)
    else:
        y = labels[spec.release_label].to_numpy()
    groups = None
    if spec.split == "official_folds":
        groups = labels[spec.release_split_column].to_numpy()
    elif spec.split == "train_valid_test":
        groups = labels[spec.release_split_column].to_numpy().astype(str)
    return X, y, groups


# --------------------------------------------------------------------------------------------
# Writing


def release_labels(table: pd.DataFrame) -> pd.DataFrame:
    """A dataset table in the label-file format of the authors' release (``labels/<task>.csv``).

    Args:
        table: a course dataset table.

    Returns:
        Columns ``id, filepath, label`` (``label_arousal, label_valence`` for emoMusic, on the
        release's 0-1 scale: :meth:`course_utils.tasks.registry.TransferTask.to_release_scale`), plus
        ``category`` (Jamendo) or ``fold`` (UrbanSound8K).
    """
    out = pd.DataFrame({"id": table["clip_id"].astype(str), "filepath": table["path"]})
    targets = [t for t in registry.REGISTRY.values() if t.target is not None and t.target in table]
    if targets:
        for t in targets:
            out[t.release_label] = t.to_release_scale(table[t.target])
    else:
        out["label"] = table["label_id"]
    for kind in ("train_valid_test", "official_folds"):
        if registry.COURSE_SPLIT_COLUMNS[kind] in table:
            out[registry.RELEASE_SPLIT_COLUMNS[kind]] = table[registry.COURSE_SPLIT_COLUMNS[kind]]
    return out


def write_release_layout(folder, name: str, table: pd.DataFrame, convnet: np.ndarray, mfcc: np.ndarray | None) -> Path:
    """Write features and labels in the layout of the authors' release, for ``paper-table``.

    ``features/<task>_layer_<i>.npy`` (:data:`BLOCK_WIDTH` values each), ``features/<task>_mfcc.npy``
    and ``labels/<task>.csv``, so that notebook 04 runs the paper's protocol on the course's own
    features (:mod:`course_utils.features.mini_release`) exactly as on the authors'.

    Args:
        folder: the root of the layout.
        name: the course dataset name (one of :func:`course_utils.tasks.registry.release_tasks`).
        table: its table.
        convnet: ``(n, 160)`` features.
        mfcc: ``(n, 120)`` features, or ``None``.

    Returns:
        ``folder``.
    """
    folder = Path(folder)
    task = registry.release_tasks()[name]
    for i in range(convnet.shape[1] // BLOCK_WIDTH):
        atomic_save_npy(folder / "features" / f"{task}_layer_{i}.npy", convnet[:, i * BLOCK_WIDTH:(i + 1) * BLOCK_WIDTH])
    if mfcc is not None:
        atomic_save_npy(folder / "features" / f"{task}_mfcc.npy", mfcc)
    atomic_write_text(folder / "labels" / f"{task}.csv", release_labels(table).to_csv())
    atomic_write_text(folder / "README.json", json.dumps({"source": "course_utils.features.mini_release", "tasks": sorted(
        p.stem for p in (folder / "labels").glob("*.csv"))}, indent=1))
    return folder
