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
import os
from pathlib import Path

import numpy as np
import pandas as pd

from course_utils.core import files as cache, paths, validate
from course_utils.fetch import download
from course_utils.tasks import registry
from course_utils.core.errors import CourseError, DatasetError, ParameterError

#: Raw files of the repository (branch master); the checksums below pin their content.
BASE_URL = "https://raw.githubusercontent.com/keunwoochoi/transfer_learning_music/master"
#: Local name -> remote folder.
REMOTE_FOLDERS = {"features": "data_feats", "labels": "data_csv"}
#: SHA-256 of every file of the release (local relative path -> digest).
CHECKSUMS = {
    "features/ballroom_extended_layer_0.npy": "1130d41b4956fefe1d937560e3912a963ba55c7f5cec3d4aab15765f0d4302ef",
    "features/ballroom_extended_layer_1.npy": "b050010e5008868522798cce67ff9b259db69407cd4d1b446dcb104a3f1155c6",
    "features/ballroom_extended_layer_2.npy": "7892d2ad7d456d4271b21ca065e775e0bfa0e62784b2fe615a19c1fc09936ae7",
    "features/ballroom_extended_layer_3.npy": "4dabfa6e4345efa0a7ff256523fbb7bea4159fb193bf95d6aa4b37c2cb7d6895",
    "features/ballroom_extended_layer_4.npy": "dade71e1d00f5d9b2927cefcea6f61a86532178344832f4a5b26aa36ffe920dc",
    "features/ballroom_extended_mfcc.npy": "241e92222ec6ddd8d975c4bfb2328405095abe9bab688e30509619e75e27b291",
    "features/emoMusic_layer_0.npy": "07ad7655e9e04eaacc83e727c42a4095b4332d2bae0ea6c3d1021f1832cbbe0c",
    "features/emoMusic_layer_1.npy": "31e1c6a8fbce876ed2e92175467aadf02471da046be3aceb565c7849245c2b0f",
    "features/emoMusic_layer_2.npy": "1d914bca15297920f65b91699ebc2faf1c83fe0bf12a2e869a6c70af5868e2e2",
    "features/emoMusic_layer_3.npy": "83058790f7b618b27d5ef096281ff83d866b440a26d49a3c6d006f9d7590059b",
    "features/emoMusic_layer_4.npy": "e460212dca36e8d3e4771ead8f5a9ebd0e185510ce97e2c23485ba413498cdf8",
    "features/emoMusic_mfcc.npy": "b900ab765e875803389ee94dc14caba924a376d55bfb019504239d445f20619a",
    "features/gtzan_genre_layer_0.npy": "7a3edcd74ace9db3c963b982ca118a258d35b754af861fc6785584d174cd9215",
    "features/gtzan_genre_layer_1.npy": "cb54b8b12559b6129188081c25396ab8b9eb65d2d5a2b3195e4b7ac314434c5b",
    "features/gtzan_genre_layer_2.npy": "0b29377d6b2aedd941fc5b5b8f6a204ec2d0d98d3d357dee172f894bf98bccc7",
    "features/gtzan_genre_layer_3.npy": "e44d40e3a2f4de91138749a48175b4ddd5a6ddc16936357f2909a5c3c0be30a3",
    "features/gtzan_genre_layer_4.npy": "6fbd7ee903e4f186c20ead54c3f95aa8c7767f79dfa3629ad56b09b0691c42cf",
    "features/gtzan_genre_mfcc.npy": "96d5f6cab544b7e161fdaf694d94b810002db1d2e6e4435556e8b65d74befd7b",
    "features/gtzan_speechmusic_layer_0.npy": "4aa8366b547038a9b6cceeb860744a16362f5dffbfcb8397c2ad7aad5b83fe7a",
    "features/gtzan_speechmusic_layer_1.npy": "dcce3277b930a8c01d44988a89a79eb53b8864ecf200135638ff39dffc66524c",
    "features/gtzan_speechmusic_layer_2.npy": "32c9fd1d679f67722806aba8806dda73f50051d1d346d8ac596248be592c4e68",
    "features/gtzan_speechmusic_layer_3.npy": "5cf50a8080705fb84d7b62460d982748ea5969e55fc3d68783be59975ee8fd81",
    "features/gtzan_speechmusic_layer_4.npy": "d1e92c59dd0296ae3513b64fa27ed1b9a04dbae4ab31b3e737d1acaa0b8659be",
    "features/gtzan_speechmusic_mfcc.npy": "d09c7845dc77d9b3eb2c0965f6cfc8d905ceaf77bad458d12db03271f41f6f4d",
    "features/jamendo_vd_layer_0.npy": "2c7ef7a522964520ccb4dd57d2e4d997c848f5426c5794b76538849a7b1a5bc0",
    "features/jamendo_vd_layer_1.npy": "d63048e32d284e8df8b6469aa83cf8f4d142067bd3d495424818c9ba1a3a5f7a",
    "features/jamendo_vd_layer_2.npy": "76381ec7fe77e81fbf74a7d597bd3d9ed9c0dc1c062514843839aea11f6665be",
    "features/jamendo_vd_layer_3.npy": "c1af1e7fd993b3200e6b5fb4fd9055b5d41482f2455ee50c570fa5a30465a081",
    "features/jamendo_vd_layer_4.npy": "5f5b38758575ed932f6705bd6d2c179f970292fd238b590b1614d98f78fde8b7",
    "features/jamendo_vd_mfcc.npy": "6e013ee811763d10ffc101fb5abb65d9394153fdd2c83012065501299e0dded9",
    "features/urbansound_layer_0.npy": "ee119d6db14207b548d6e089f4b38900c118e0c4e67d9e4bfbf4c9b33b8b51c7",
    "features/urbansound_layer_1.npy": "833c015293b549fc6326715ee728c4996c98205f8ced39cbcf39c20399cda228",
    "features/urbansound_layer_2.npy": "f9acd85effd5ee33ede05a30d1ce3df023a0c5a04d28c8046765cff41614bfa3",
    "features/urbansound_layer_3.npy": "b56566ba9b689271eb65953b2e86611b41a64bcdc590065b160c218d6c95994f",
    "features/urbansound_layer_4.npy": "00f76f0319b80f472333d1151a3b0c875c587081e8481411e4edc50d09565280",
    "labels/ballroom_extended.csv": "a8961f6db281afa34e73d18926ef7e2feb5aea36fb394975ff930f17ed810b5c",
    "labels/emoMusic.csv": "c14b73403377b666a50bb849b557078b81df271cc091f6dc357a78773978aa16",
    "labels/gtzan_genre.csv": "fe4f54451f5b2f1341b396bdd34986420d53229feff881b0dec2e82e6e3f7314",
    "labels/gtzan_speechmusic.csv": "2fced0e24eeff2607552c369e1b0c991963c73ff1fff6bd382431e822a7c0c83",
    "labels/jamendo_vd.csv": "4ae120135e1a20b95a4a2b19760174e2f53987e9ece1aa3faec0c8e4527e81d5",
    "labels/urbansound.csv": "c76f78eeb25984444b001e9df438573fc7aa564e1d6e852ecb8febf68da0ff6b",
}

#: Environment variable pointing at an existing copy of the release (a folder with features/ and labels/).
RELEASE_ENV = "CHOI2017_RELEASE"
#: Where the release lies under the reference folder (:func:`course_utils.core.paths.reference_dir`).
REFERENCE_SUBDIR = "choi2017"
#: Values per block, and per layer file of the release: the paper's convnet (and the course's
#: compact one) has 32 filters per block.
BLOCK_WIDTH = 32
#: Block indices of the convnets (the paper's and the course's), as layer digits.
ALL_LAYERS = "01234"


def release_dir() -> Path:
    """Where the release is kept: ``$CHOI2017_RELEASE`` or ``data/full/choi2017_release``."""
    if os.environ.get(RELEASE_ENV):
        return Path(os.environ[RELEASE_ENV]).expanduser().resolve()
    return paths.data_dir() / "full" / "choi2017_release"


def is_complete(folder=None) -> bool:
    """Whether every file of the release is in ``folder`` (default :func:`release_dir`)."""
    folder = Path(folder) if folder else release_dir()
    return all((folder / rel).is_file() for rel in CHECKSUMS)


def fetch_release(folder=None, *, progress: bool = True) -> Path:
    """The released features and labels (about 22 MB), every file's SHA-256 checked.

    Without ``folder``, found in the course's lookup order (:func:`course_utils.fetch.download.locate`):
    :func:`release_dir` when complete and intact; else ``choi2017/`` of the reference folder
    (``$COURSE_REFERENCE_DIR`` or ``../shared/reference`` beside a checkout), read in place; else
    downloaded into :func:`release_dir`. With ``folder``, downloaded there (files already present
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
    target = Path(folder) if folder else release_dir()
    urls = {rel: f"{BASE_URL}/{REMOTE_FOLDERS[rel.split('/', 1)[0]]}/{rel.split('/', 1)[1]}" for rel in CHECKSUMS}
    try:
        found = download.locate(CHECKSUMS, target, None if folder else REFERENCE_SUBDIR, urls, progress=progress)
    except CourseError as exc:
        raise CourseError(
            f"the authors' release could not be fetched ({exc}). Without internet, copy the repository's "
            f"data_feats/ and data_csv/ folders to {target}/features and {target}/labels, or set {RELEASE_ENV} "
            f"to a folder that holds them (or {paths.REFERENCE_ENV} to a folder whose {REFERENCE_SUBDIR}/ does)."
        ) from None
    return found["labels/gtzan_genre.csv"].parent.parent


# --------------------------------------------------------------------------------------------
# Reading


def release_root(features_dir) -> Path:
    """The root of a release layout, given ``.../choi2017``, ``.../choi2017/features``, or ``None`` (:func:`fetch_release`)."""
    if features_dir is None:
        return fetch_release(progress=False)
    path = Path(features_dir)
    return path if (path / "features").is_dir() or not (path.name == "features") else path.parent


def load_labels(features_dir, task: str) -> pd.DataFrame:
    """The released label table of a task (row order = the feature files'). Notebook 04.

    Args:
        features_dir: the release folder (``.../choi2017``) or its ``features`` subfolder (``None``:
            the release as :func:`fetch_release` finds it); the labels are read from the sibling
            ``labels/<task>.csv``.
        task: one of :data:`course_utils.tasks.registry.TASKS`.

    Returns:
        The DataFrame (``id, filepath, label``; emoMusic ``label_arousal, label_valence``;
        jamendo_vd also ``category``; urbansound also ``fold``).

    Raises:
        DatasetError: the file is missing.
    """
    path = release_root(features_dir) / "labels" / f"{registry.release_name(task)}.csv"
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


def layer_columns(layers: str, width: int = BLOCK_WIDTH) -> np.ndarray:
    """Column indices of some layers within the 160-value feature.

    Args:
        layers: e.g. ``"24"``.
        width: values per block.

    Returns:
        int array of column indices.
    """
    return np.concatenate([np.arange(i * width, (i + 1) * width) for i in parse_layers(layers)])


def _parse_layers(layers: str) -> list[str]:
    """``"01234+mfcc"`` -> ``["0", "1", "2", "3", "4", "mfcc"]`` (digits as :func:`parse_layers`)."""
    parts = []
    for token in str(layers).split("+"):
        if token == "mfcc":
            parts.append("mfcc")
        elif token and all(ch in ALL_LAYERS for ch in token):
            parts += [str(i) for i in parse_layers(token)]
        else:
            raise ParameterError(f"layers must be digits 0-4, 'mfcc', or a '+' join of them (e.g. '01234+mfcc'), not {layers!r}")
    return parts


def feature_files(features_dir, task: str, layers: str = "01234") -> list[Path]:
    """The ``.npy`` files that make up a feature set, in concatenation order.

    Args:
        features_dir: the release folder or its ``features`` subfolder.
        task: one of :data:`course_utils.tasks.registry.TASKS`.
        layers: ``"01234"``, ``"0"``, ``"24"``, ``"mfcc"``, ``"01234+mfcc"``...

    Returns:
        The paths (not checked for existence).
    """
    folder = release_root(features_dir) / "features"
    base = registry.release_name(task)
    return [folder / (f"{base}_mfcc.npy" if part == "mfcc" else f"{base}_layer_{part}.npy") for part in _parse_layers(layers)]


def load_release(features_dir, task: str, layers: str = "01234"):
    """Load the authors' released features and labels of one task. Notebook 04.

    Args:
        features_dir: the release folder (``.../choi2017``) or its ``features`` subfolder; ``None`` for
            the release as :func:`fetch_release` finds it.
        task: one of :data:`course_utils.tasks.registry.TASKS`.
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
    features_dir = release_root(features_dir)
    labels = load_labels(features_dir, task)
    spec = registry.get(task)
    blocks = []
    for path in feature_files(features_dir, task, layers):
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
    and ``labels/<task>.csv``. Notebook 03, so that notebook 04 runs the paper's protocol on the
    course's own features exactly as on the authors'.

    Args:
        folder: the root of the layout.
        name: the course dataset name (one of :data:`course_utils.tasks.registry.RELEASE_TASKS`).
        table: its table.
        convnet: ``(n, 160)`` features.
        mfcc: ``(n, 120)`` features, or ``None``.

    Returns:
        ``folder``.
    """
    folder = Path(folder)
    task = registry.RELEASE_TASKS[name]
    for i in range(convnet.shape[1] // BLOCK_WIDTH):
        cache.atomic_save_npy(folder / "features" / f"{task}_layer_{i}.npy", convnet[:, i * BLOCK_WIDTH:(i + 1) * BLOCK_WIDTH])
    if mfcc is not None:
        cache.atomic_save_npy(folder / "features" / f"{task}_mfcc.npy", mfcc)
    cache.atomic_write_text(folder / "labels" / f"{task}.csv", release_labels(table).to_csv())
    cache.atomic_write_text(folder / "README.json", json.dumps({"source": "course_utils.features.transfer", "tasks": sorted(
        p.stem for p in (folder / "labels").glob("*.csv"))}, indent=1))
    return folder
