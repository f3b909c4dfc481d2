"""Transfer features: the trained convnet's five hidden layers as a 160-value description of a clip.

Following Choi et al. (2017), the output of each of the five convolutional blocks (after the ELU)
is averaged over frequency and time (global average pooling), giving 32 values per block; the five
are concatenated into 5 x 32 = 160 values. Layers can be chosen by index (``"01234"``, ``"4"``,
``"24"``...). The MFCC summary of :mod:`course_utils.audio.io` (120 values) is the baseline.

A clip longer than the network's input is cut into consecutive crops whose features are averaged;
a shorter one (a Jamendo segment of 1 to 3 s) is repeated until it fills one crop, so that no
artificial silence enters the averages. Features are extracted in batches of crops, one forward
pass for all layers, and do not depend on the batch size.

Notebooks 03 and 04.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from course_utils import audio
from course_utils.audio.windows import frame_windows
from course_utils.core import files as core_files, paths, validate
from course_utils.core.cache import cache_key
from course_utils.core.errors import AudioError, CourseError, ParameterError
from course_utils.features.clip_features import clip_rows
from course_utils.models.convnet import feature_extractor
from course_utils.tasks.registry import release_tasks
from course_utils.tasks.release import ALL_LAYERS, BLOCK_WIDTH, parse_layers, write_release_layout

def _load_row(path, offset: float, duration: float | None) -> np.ndarray:
    """One clip at 12 kHz (a row of :func:`course_utils.features.clip_features.clip_rows`)."""
    return audio.load_audio(path, offset=offset, duration=duration, max_duration=audio.MAX_SECONDS)


def extract_convnet_features(model, table, *, crop_frames: int | None = None, layers: str = ALL_LAYERS,
                             batch_size: int = 32, progress: bool = True, errors: list | None = None) -> np.ndarray:
    """The convnet feature of every clip: block averages over crops, averaged per clip.

    The package's copy of notebook 03's ``clip_feature`` (``tests/test_nb03_agrees.py`` checks that
    they agree), for ``course-utils extract`` and :func:`mini_release`.

    Args:
        model: a trained compact convnet.
        table: a dataset table (``path``, ``offset``, ``duration``) or a list of audio paths.
        crop_frames: the network's input length (default: the model's).
        layers: which blocks to keep.
        batch_size: crops per forward pass (the result does not depend on it).
        progress: show a progress bar.
        errors: ``None`` to stop at the first bad file (its AudioError is raised), or a list: each
            bad file's AudioError is appended to it, its row is NaN, and extraction goes on
            (the caller owns the list: no state is kept between calls).

    Returns:
        float32 array ``(n_clips, 32 * len(layers))``.
    """
    from course_utils.core.progress import tqdm

    crop_frames = int(crop_frames or model.input_shape[2])
    extractor = feature_extractor(model, layers)
    rows = clip_rows(table)
    out = np.full((len(rows), BLOCK_WIDTH * len(parse_layers(layers))), np.nan, dtype=np.float32)
    pending, owners = [], []

    def flush():
        if not pending:
            return
        x = np.concatenate(pending)[..., None].astype(np.float32)
        # called eagerly, batch by batch: no tf.function retracing as batch shapes vary
        feats = np.concatenate([np.asarray(extractor(x[i:i + batch_size], training=False))
                                for i in range(0, len(x), batch_size)])
        sums = np.zeros((len(rows), feats.shape[1]))
        counts = np.zeros(len(rows))
        np.add.at(sums, owners, feats)
        np.add.at(counts, owners, 1)
        done = counts > 0
        out[done] = (sums[done] / counts[done, None]).astype(np.float32)
        pending.clear()
        owners.clear()

    for i, (path, offset, duration) in enumerate(tqdm(rows, desc="convnet features", unit="clip", disable=not progress)):
        try:
            _, crops = frame_windows(audio.log_mel(_load_row(path, offset, duration)), crop_frames, axis=1)
        except AudioError as exc:
            if errors is None:
                raise
            errors.append(exc)
            continue
        pending.append(crops)
        owners.extend([i] * len(crops))
        if len(owners) >= 8 * batch_size:
            flush()
    flush()
    return out


def extract_mfcc_features(table, *, progress: bool = True) -> np.ndarray:
    """The 120-value MFCC summary of every clip, the baseline of notebooks 03 to 05.

    Args:
        table: a dataset table or a list of audio paths.
        progress: show a progress bar.

    Returns:
        float32 array ``(n_clips, 120)``.
    """
    from course_utils.core.progress import tqdm

    rows = clip_rows(table)
    out = np.zeros((len(rows), 6 * audio.N_MFCC), dtype=np.float32)
    for i, (path, offset, duration) in enumerate(tqdm(rows, desc="MFCC features", unit="clip", disable=not progress)):
        out[i] = audio.mfcc_summary(_load_row(path, offset, duration), repeat_short=True)
    return out


def features_cache_path(name: str, kind: str, table: pd.DataFrame, model_path=None) -> Path:
    """Where the features of a dataset are cached: keyed by the clips and the model file.

    Args:
        name: the dataset name.
        kind: ``"convnet"`` or ``"mfcc"``.
        table: the dataset table (its paths, offsets and durations enter the key, and each audio
            file's size and modification time, :func:`course_utils.core.files.file_signature`, so
            that new audio at the same paths is extracted again).
        model_path: the model file (its bytes enter the key), for ``kind="convnet"``.

    Returns:
        ``data/cache/features/<name>_<kind>_<key>.npy``.
    """
    if kind == "convnet" and model_path is None:
        raise CourseError("convnet features are cached per model: give model_path, the model's file")
    rows = table[["path", "offset", "duration"]].astype(str).to_csv(index=False)
    key = cache_key(version=f"features-{kind}-1", files=table["path"], params={"rows": rows}, missing_ok=True,
                    content=[model_path] if model_path else [])
    return paths.data_path("cache") / "features" / f"{name}_{kind}_{key}.npy"


def cached_features(name: str, kind: str, table: pd.DataFrame, *, model=None, model_path=None,
                    progress: bool = True) -> np.ndarray:
    """Extract (once) and cache a dataset's convnet or MFCC features.

    Notebook 03.

    Args:
        name: the dataset name (for the file name).
        kind: ``"convnet"`` or ``"mfcc"``.
        table: the dataset table.
        model: the convnet (for ``kind="convnet"``).
        model_path: its file, whose content keys the cache.
        progress: show a progress bar while extracting.

    Returns:
        The features, ``(n_clips, 160)`` or ``(n_clips, 120)``; a cache file that is truncated
        or does not fit the table is extracted again.
    """
    path = features_cache_path(name, kind, table, model_path if kind == "convnet" else None)
    if path.is_file():
        try:
            feats = validate.numeric_npy(path)
            if feats.ndim == 2 and len(feats) == len(table):
                return feats
        except CourseError:
            pass  # truncated or foreign: extracted again below
    if kind == "convnet":
        if model is None:
            raise CourseError("cached_features(kind='convnet') needs the model")
        feats = extract_convnet_features(model, table, progress=progress)
    elif kind == "mfcc":
        feats = extract_mfcc_features(table, progress=progress)
    else:
        raise ParameterError(f"unknown feature kind {kind!r}: 'convnet' or 'mfcc'")
    core_files.atomic_save_npy(path, feats)
    return feats


def mini_release_dir() -> Path:
    """``data/cache/transfer_mini``: the course's mini-task features in the release layout."""
    return paths.data_path("cache") / "transfer_mini"


def mini_release(*, progress: bool = True) -> Path:
    """Extract (or reuse) both features for the six mini tasks and write them in the release layout.

    The same steps as notebook 03, in one call: the course tagger (trained if missing), cached
    convnet and MFCC features for each task, then :func:`course_utils.tasks.release.write_release_layout`.
    Notebook 04, so that it also runs on its own.

    Args:
        progress: show progress bars while extracting.

    Returns:
        The folder (:func:`mini_release_dir`) with ``features/`` and ``labels/``.
    """
    from course_utils.models import convnet as models, training
    from course_utils.datasets import load_dataset

    model, _ = training.load_course_tagger("mini")
    model_path = models.default_model_path("mini")
    folder = mini_release_dir()
    for name in release_tasks():
        table = load_dataset(name)
        convnet = cached_features(name, "convnet", table, model=model, model_path=model_path, progress=progress)
        mfcc = cached_features(name, "mfcc", table, progress=progress)
        write_release_layout(folder, name, table, convnet, mfcc)
    return folder
