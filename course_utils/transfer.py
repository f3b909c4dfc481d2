"""Transfer features: the trained convnet's five hidden layers as a 160-value description of a clip.

Following Choi et al. (2017), the output of each of the five convolutional blocks (after the ELU)
is averaged over frequency and time (global average pooling), giving 32 values per block; the five
are concatenated into 5 x 32 = 160 values. Layers can be chosen by index (``"01234"``, ``"4"``,
``"24"``...). The MFCC summary of :mod:`course_utils.audio` (120 values) is the baseline.

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

from course_utils import audio, cache, paths, validate
from course_utils.cache_keys import cache_key
from course_utils.errors import AudioError, CourseError
from course_utils.release import release_labels, write_release_layout  # noqa: F401  (re-exported: notebook 03)
from course_utils.tasks import RELEASE_TASKS  # noqa: F401  (re-exported)

#: Values per block (the number of filters of the compact convnet).
BLOCK_WIDTH = 32
#: Block indices of the compact convnet.
ALL_LAYERS = "01234"


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
        raise CourseError(f"layers {spec!r}: use digits 0 to 4, each once (e.g. 01234, 4, 24)")
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


def feature_extractor(model, layers: str = ALL_LAYERS):
    """A Keras model that maps log-mel crops to the concatenated block averages.

    Args:
        model: a compact convnet whose blocks' ELU layers are named ``block<i>_elu``.
        layers: which blocks, e.g. ``"01234"``.

    Returns:
        A Keras model: ``(batch, 96, frames, 1)`` in, ``(batch, 32 * len(layers))`` out.
    """
    import keras

    from course_utils.models import block_output_names

    names = block_output_names(model)
    outputs = [keras.layers.GlobalAveragePooling2D(name=f"gap{i}")(model.get_layer(names[i]).output)
               for i in parse_layers(layers)]
    out = outputs[0] if len(outputs) == 1 else keras.layers.Concatenate(name="features")(outputs)
    return keras.Model(model.input, out, name=f"features_{layers}")


def clip_crops(mel: np.ndarray, crop_frames: int) -> np.ndarray:
    """Cut a spectrogram into the crops the network takes: consecutive, or the clip repeated.

    Args:
        mel: ``(n_mels, n_frames)``.
        crop_frames: the network's input length.

    Returns:
        ``(k, n_mels, crop_frames)``: ``k = 1`` for a clip not longer than a crop (repeated to
        fill it), else the consecutive crops of :func:`course_utils.audio.crop_starts`.
    """
    n = mel.shape[1]
    if n <= crop_frames:
        reps = int(np.ceil(crop_frames / n))
        return np.tile(mel, (1, reps))[None, :, :crop_frames]
    return np.stack([mel[:, s:s + crop_frames] for s in audio.crop_starts(n, crop_frames)])


def _is_nan(value) -> bool:
    return isinstance(value, (float, np.floating)) and np.isnan(value)


def _load_row(path, offset=0.0, duration=None, max_duration=audio.MAX_SECONDS) -> np.ndarray:
    """One clip at 12 kHz: a whole file, or ``duration`` seconds from ``offset`` (NaN: to the end).

    Shared with :mod:`course_utils.pretrained`.
    """
    duration = None if duration is None or _is_nan(duration) else float(duration)
    offset = 0.0 if offset is None or _is_nan(offset) else float(offset)
    return audio.load_audio(path, offset=offset, duration=duration, max_duration=max_duration)


def _rows(files_or_table) -> list[tuple]:
    """``(path, offset, duration)`` of a path, a list of paths, or a table with those columns.

    Shared with :mod:`course_utils.pretrained`.
    """
    if isinstance(files_or_table, pd.DataFrame):
        t, n = files_or_table, len(files_or_table)
        offsets = t["offset"] if "offset" in t else [0.0] * n
        durations = t["duration"] if "duration" in t else [np.nan] * n
        return list(zip(t["path"], offsets, durations))
    if isinstance(files_or_table, (str, Path)):
        files_or_table = [files_or_table]
    return [(p, 0.0, None) for p in files_or_table]


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
    from tqdm.auto import tqdm

    crop_frames = int(crop_frames or model.input_shape[2])
    extractor = feature_extractor(model, layers)
    rows = _rows(table)
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
            crops = clip_crops(audio.log_mel(_load_row(path, offset, duration)), crop_frames)
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
    from tqdm.auto import tqdm

    rows = _rows(table)
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
            file's size and modification time, :func:`course_utils.cache.file_signature`, so
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
    return paths.data_dir() / "cache" / "features" / f"{name}_{kind}_{key}.npy"


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
        raise CourseError(f"unknown feature kind {kind!r}: 'convnet' or 'mfcc'")
    cache.atomic_save_npy(path, feats)
    return feats


def mini_release_dir() -> Path:
    """``data/cache/transfer_mini``: the course's mini-task features in the release layout."""
    return paths.data_dir() / "cache" / "transfer_mini"


def mini_release(*, progress: bool = True) -> Path:
    """Extract (or reuse) both features for the six mini tasks and write them in the release layout.

    The same steps as notebook 03, in one call: the course tagger (trained if missing), cached
    convnet and MFCC features for each task, then :func:`course_utils.release.write_release_layout`.
    Notebook 04, so that it also runs on its own.

    Args:
        progress: show progress bars while extracting.

    Returns:
        The folder (:func:`mini_release_dir`) with ``features/`` and ``labels/``.
    """
    from course_utils import models, tagging
    from course_utils.datasets import load_dataset

    model, _ = tagging.load_course_tagger("mini")
    model_path = models.default_model_path("mini")
    folder = mini_release_dir()
    for name in RELEASE_TASKS:
        table = load_dataset(name)
        convnet = cached_features(name, "convnet", table, model=model, model_path=model_path, progress=progress)
        mfcc = cached_features(name, "mfcc", table, progress=progress)
        write_release_layout(folder, name, table, convnet, mfcc)
    return folder
