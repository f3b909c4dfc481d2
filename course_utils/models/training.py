"""Notebook 02's input pipeline and training loop for the compact convnet auto-tagger.

- :func:`build_logmel_cache` computes every clip's log-mel spectrogram once and keeps them in
  one ``.npy`` file (``data/cache/logmel/<key>.npy``) that training reads memory-mapped, so the
  dataset never has to fit in RAM;
- :class:`LogMelSequence` serves batches from it: random crops in a fresh random order each
  epoch for training, whole clips for evaluation;
- :class:`RocAucCallback` and :func:`train_tagger` train with Adam and binary cross-entropy,
  pick the epoch with the best validation ROC-AUC and stop early when it stops improving;
- :func:`predict_clips` scores whole clips: a model is built for one input length (the crop
  length of training), so a longer clip is cut into consecutive crops whose predictions are
  averaged.

Everything is seeded and single-threaded on the Python side, so that with
:func:`course_utils.models.convnet.set_seed` a run repeats exactly on the same machine.

The course's MagnaTagAtune tagger end to end (the last section) puts these parts together the way
notebook 02 and the ``course-utils train-tagger`` command use them, at two scales (files are
tagged through :class:`course_utils.features.clip_features.ClipFeatures`, ``ClipFeatures("course")``):

- ``mini``: the embedded MagnaTagAtune, 8 s clips, trained on random crops of 128 frames
  (2.7 s) on a laptop CPU in a few minutes;
- ``full``: the real MagnaTagAtune, 29.1 s clips, crops of 1360 frames as in the paper, for a
  user with the data and a GPU.

A trained model is saved with a JSON sidecar (tags, crop length, test scores), so that it can be
used again without knowing how it was trained.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from course_utils import audio
from course_utils.audio.windows import crop_starts, tile
from course_utils.core.cache import cache_file, cache_key
from course_utils.core.files import atomic_write_text, file_signature, remove_stale_temp_files, STALE_AFTER, temp_path_for
from course_utils.core.errors import AudioError, CourseError, ParameterError
from course_utils.models import convnet, metrics

#: Bump when the cache layout or the front end changes, to invalidate old caches.
CACHE_VERSION = 2
#: Rows written between two flushes of the cache file to disk (bounds the dirty memory).
_FLUSH_EVERY = 64


# --------------------------------------------------------------------------- spectrogram cache


def _file_signature(path: Path) -> list:
    """``[absolute path, size, mtime_ns]`` of an audio file (:func:`course_utils.core.files.file_signature`), or an AudioError."""
    try:
        return file_signature(path)
    except OSError:
        raise AudioError(path, "file not found", "check the path, or download or generate the dataset first") from None


def _cache_params(sr, duration, n_mels, dtype) -> dict:
    """The parameters a cache depends on (besides the files): they enter its key."""
    return {
        "version": CACHE_VERSION,
        "sr": int(sr),
        "duration": None if duration is None else float(duration),
        "n_mels": int(n_mels),
        "n_fft": audio.N_FFT,
        "hop_length": audio.HOP_LENGTH,
        "fmax": audio.FMAX,
        "dtype": np.dtype(dtype).name,
    }


def logmel_cache_key(paths, *, sr: int = audio.SR, duration: float | None = None, n_mels: int = audio.N_MELS, dtype="float16") -> str:
    """The 16-hex-digit key naming a cache (:func:`course_utils.core.cache.cache_key`): files and parameters.

    Args:
        paths: the audio files, in order.
        sr, duration, n_mels, dtype: as for :func:`build_logmel_cache`.

    Returns:
        The key, e.g. ``"3f2a9c0d1b7e4a55"``.

    Raises:
        AudioError: a file does not exist.
    """
    files = [Path(p).resolve() for p in paths]
    for path in files:
        _file_signature(path)  # a missing file is an AudioError naming it
    return cache_key(version=f"logmel-{CACHE_VERSION}", files=files, params=_cache_params(sr, duration, n_mels, dtype))


def _logmel_or_error(path: str, sr: int, duration, n_mels: int):
    """One clip's log-mel spectrogram, or ``("error", path, problem, hint)`` for a bad file.

    Errors travel as plain tuples because :class:`AudioError` cannot cross a process boundary
    (its constructor needs more than the message).
    """
    try:
        y = audio.load_audio(path, sr, duration=duration, pad=duration is not None)
        return audio.log_mel(y, sr, n_mels=n_mels)
    except AudioError as exc:
        return ("error", exc.path, exc.problem, exc.hint)


def _cache_is_valid(npy: Path, n: int, n_mels: int, dtype) -> bool:
    """Whether ``npy`` (named by its key) is a whole cache of this row count, band count and dtype.

    The key in the name stands for the files and the parameters; the ``.npy`` header, checked
    against the file's size, for the rest (a truncated or foreign file is built again).
    """
    if not npy.is_file():
        return False
    try:
        arr = np.load(npy, mmap_mode="r")
    except (OSError, ValueError):
        return False
    return arr.ndim == 3 and arr.shape[:2] == (n, n_mels) and arr.dtype == np.dtype(dtype)


def build_logmel_cache(
    paths,
    *,
    sr: int = audio.SR,
    duration: float | None = None,
    n_mels: int = audio.N_MELS,
    dtype="float16",
    n_jobs: int = 1,
    progress: bool = True,
) -> np.memmap:
    """Compute the log-mel spectrogram of every clip once and store them in one ``.npy`` file.

    Row ``i`` of the result is ``audio.log_mel(audio.load_audio(paths[i], sr, duration=duration,
    pad=True))``, shape ``(n_mels, n_frames)``. The file is ``data/cache/logmel/<key>.npy``
    (:func:`course_utils.core.cache.cache_file`, the key of :func:`logmel_cache_key`); a later call
    with the same files (same absolute paths, sizes, modification times and content sample) and
    parameters reuses it without decoding anything. The array is written to a temporary file,
    renamed only after its last row is written, so an interrupted or failed build never leaves a
    cache that looks finished; the hidden file of a killed build is deleted by a later build
    (once nothing has written to it for :data:`course_utils.core.files.STALE_AFTER` seconds).

    ``float16`` (the default) halves disk and memory; its resolution, 1/32 dB at 32-64 dB, is far
    below what matters for a spectrogram. A 29.1 s clip takes 96 x 1365 x 2 bytes = 262 kB.

    Args:
        paths: the audio files, in the order of the rows.
        sr: sample rate in Hz to resample to.
        duration: pad (with silence) or crop every clip to this many seconds; ``None`` keeps the
            files' lengths, which must then give the same number of frames.
        n_mels: number of mel bands.
        dtype: ``"float16"`` or ``"float32"``.
        n_jobs: processes that compute spectrograms (joblib); 1 (the default) computes in
            this process. On 2 cores one process does about 85 clips of 29 s per second; two
            workers were slower up to at least 300 clips (each starts in about 5 s and takes
            about 400 MB, as it imports TensorFlow with this module), so use more only for
            thousands of clips on more cores.
        progress: show a tqdm progress bar.

    Returns:
        The cache, a read-only ``np.memmap`` of shape ``(len(paths), n_mels, n_frames)``; its
        ``filename`` attribute is the ``.npy`` path.

    Raises:
        AudioError: a file is missing, corrupt, too short or silent (the message names it); no
            cache file is left behind.
        CourseError: with ``duration=None``, clips give different numbers of frames.
        ValueError: ``paths`` is empty or ``dtype`` is not a float type.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise ParameterError("no audio files given")
    dtype = np.dtype(dtype)
    if dtype not in (np.float16, np.float32):
        raise ParameterError(f"dtype must be float16 or float32, not {dtype}")
    key = logmel_cache_key(paths, sr=sr, duration=duration, n_mels=n_mels, dtype=dtype)
    npy = cache_file("logmel", key, ".npy")
    npy.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(npy.parent, STALE_AFTER, recursive=False)  # killed builds'
    if _cache_is_valid(npy, len(paths), n_mels, dtype):
        return _open_logmel_cache(npy)

    from course_utils.core.progress import tqdm

    jobs = [(str(p), int(sr), duration, int(n_mels)) for p in paths]
    if n_jobs == 1:
        results = (_logmel_or_error(*job) for job in jobs)
    else:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=n_jobs, return_as="generator")(delayed(_logmel_or_error)(*job) for job in jobs)

    tmp = temp_path_for(npy)  # recognised by remove_stale_temp_files
    out = None
    try:
        with tqdm(total=len(paths), desc="log-mel cache", unit="clip", disable=not progress) as bar:
            for i, spec in enumerate(results):
                if isinstance(spec, tuple):
                    raise AudioError(spec[1], spec[2], spec[3])
                if out is None:
                    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=(len(paths), n_mels, spec.shape[1]))
                elif spec.shape[1] != out.shape[2]:
                    raise CourseError(
                        f"{paths[i]}: gives {spec.shape[1]} frames but {paths[0]} gives {out.shape[2]}; "
                        "pass duration= (in seconds) to pad or crop every clip to the same length"
                    )
                out[i] = spec
                if (i + 1) % _FLUSH_EVERY == 0:
                    out.flush()
                bar.update(1)
        out.flush()
        out = None  # closes the memory map before the rename
        os.replace(tmp, npy)
    finally:
        if hasattr(results, "close"):
            with warnings.catch_warnings():  # joblib warns that cancelled tasks went unused
                warnings.simplefilter("ignore", UserWarning)
                results.close()  # stops joblib workers still computing after an error
        out = None
        tmp.unlink(missing_ok=True)
    return _open_logmel_cache(npy)


def _open_logmel_cache(path) -> np.memmap:
    """Open a cache written by :func:`build_logmel_cache`, memory-mapped and read-only.

    Nothing is read until rows are indexed, so a cache larger than the RAM works.

    Args:
        path: the cache's ``.npy`` file.

    Returns:
        ``np.memmap`` of shape ``(n_clips, n_mels, n_frames)``.

    Raises:
        CourseError: the file is missing or not a cache.
    """
    path = Path(path)
    if not path.is_file():
        raise CourseError(f"{path}: log-mel cache not found (build it with build_logmel_cache)")
    try:
        arr = np.load(path, mmap_mode="r")
    except ValueError as exc:
        raise CourseError(f"{path}: not a readable .npy cache ({exc}); delete it and build it again") from None
    if arr.ndim != 3:
        raise CourseError(f"{path}: expected a (clips, mel bands, frames) array, found shape {arr.shape}")
    return arr


# --------------------------------------------------------------------------- batches


class LogMelSequence(keras.utils.PyDataset):
    """Batches of log-mel spectrograms (and tag labels) read from a memory-mapped cache.

    Training mode (``training=True``) visits the clips in a new random order every epoch and
    takes one random crop of ``crop_frames`` frames from each clip, a cheap data augmentation.
    The order and the crops of epoch ``e`` come from ``numpy.random.default_rng((seed, e))``,
    so they are repeatable. Evaluation mode keeps the order; with ``crop_frames`` it takes the
    central crop, without it whole clips. Rows are read from ``x`` batch by batch: the array is
    never loaded whole.

    Keep Keras' defaults ``workers=1, use_multiprocessing=False`` (the keyword arguments are
    passed to ``PyDataset``): batches are cheap to cut, and this keeps runs repeatable.

    Args:
        x: ``(n_clips, n_mels, n_frames)`` array, usually from :func:`build_logmel_cache`.
        y: ``(n_clips, n_tags)`` 0/1 labels with one row per row of ``x``, or ``None`` to
            yield inputs only (prediction).
        batch_size: clips per batch (the last batch may be smaller).
        crop_frames: frames per example; ``None`` for whole clips.
        training: shuffle and crop at random (True) or not (False).
        seed: seed of the shuffles and crops.
        indices: rows of ``x`` (and ``y``) to use, e.g. a training split; ``None`` for all.
        **kwargs: passed to ``keras.utils.PyDataset``.

    Batches are ``(x, y)`` with ``x`` float32 of shape ``(batch, n_mels, crop_frames, 1)`` and
    ``y`` float32 ``(batch, n_tags)``, or just ``x``.
    """

    def __init__(self, x, y=None, *, batch_size: int = 16, crop_frames: int | None = None, training: bool = False, seed: int = 0, indices=None, **kwargs):
        super().__init__(**kwargs)
        if getattr(x, "ndim", None) != 3:
            raise ParameterError(f"x must be a (clips, mel bands, frames) array, got shape {getattr(x, 'shape', None)}")
        self.x = x
        self.indices = np.arange(len(x)) if indices is None else np.asarray(indices, dtype=np.int64)
        if len(self.indices) == 0:
            raise ParameterError("no clips to serve (empty indices)")
        if self.indices.min() < 0 or self.indices.max() >= len(x):
            raise ParameterError(f"indices out of range for {len(x)} clips")
        self.y = None
        if y is not None:
            y = np.asarray(y, dtype=np.float32)
            if y.ndim == 1:
                y = y[:, None]
            if len(y) != len(x):
                raise ParameterError(f"y has {len(y)} rows but x has {len(x)}: give one label row per clip of x")
            self.y = y
        total = x.shape[2]
        self.crop_frames = total if crop_frames is None else int(crop_frames)
        if not 1 <= self.crop_frames <= total:
            raise ParameterError(f"crop_frames={crop_frames} must be between 1 and the clips' {total} frames")
        self.batch_size = int(batch_size)
        self.training = bool(training)
        self.seed = int(seed)
        self.epoch = 0
        self._draw_epoch()

    @property
    def labels(self) -> np.ndarray | None:
        """The labels of the served clips, in the evaluation order (``indices``)."""
        return None if self.y is None else self.y[self.indices]

    @property
    def order(self) -> np.ndarray:
        """This epoch's clip rows, in batch order (notebook 02 shows the first one's crop)."""
        return self._order

    @property
    def starts(self) -> np.ndarray:
        """This epoch's crop start (frame) of each clip of :attr:`order`."""
        return self._starts

    def _draw_epoch(self) -> None:
        """Fix this epoch's clip order and crop starts (random in training, fixed otherwise)."""
        n, total, crop = len(self.indices), self.x.shape[2], self.crop_frames
        if self.training:
            rng = np.random.default_rng((self.seed, self.epoch))
            self._order = self.indices[rng.permutation(n)]
            self._starts = rng.integers(0, total - crop + 1, size=n)
        else:
            self._order = self.indices
            self._starts = np.full(n, (total - crop) // 2)

    def __len__(self) -> int:
        return math.ceil(len(self.indices) / self.batch_size)

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} out of range ({len(self)} batches)")
        lo, hi = index * self.batch_size, min((index + 1) * self.batch_size, len(self.indices))
        crop = self.crop_frames
        xb = np.empty((hi - lo, self.x.shape[1], crop, 1), dtype=np.float32)
        for k, (row, start) in enumerate(zip(self._order[lo:hi], self._starts[lo:hi])):
            xb[k, :, :, 0] = self.x[row, :, start : start + crop]
        if self.y is None:
            return xb
        return xb, self.y[self._order[lo:hi]]

    def on_epoch_end(self) -> None:
        """Draw the next epoch's order and crops (training mode)."""
        self.epoch += 1
        if self.training:
            self._draw_epoch()


# --------------------------------------------------------------------------- prediction


def predict_clips(model, data, batch_size: int = 16) -> np.ndarray:
    """Tag probabilities of whole clips, averaging over consecutive crops when clips are longer.

    The model takes a fixed number of frames (its input length, e.g. the training crop). A clip
    of exactly that length is scored directly; a longer clip is cut into the consecutive crops
    of :func:`crop_starts` and the crops' probabilities are averaged; a shorter clip is repeated to
    fill it: the one window policy of :mod:`course_utils.audio.windows`, as in
    :class:`~course_utils.features.clip_features.ClipFeatures`. Runs without progress output (safe under nbval).

    Args:
        model: a Keras model with input ``(n_mels, frames, 1)`` and output ``(n_tags,)``.
        data: a :class:`LogMelSequence` (its clips are used whole, in its evaluation order,
            whatever its crop setting) or an array ``(n_clips, n_mels, n_frames)`` (or with a
            trailing channel axis of 1).
        batch_size: crops per forward pass.

    Returns:
        float32 array ``(n_clips, n_tags)``.

    Raises:
        ParameterError: the clips have another band count than the model.
    """
    if isinstance(data, LogMelSequence):
        x, rows = data.x, data.indices
    else:
        x = data
        if getattr(x, "ndim", None) == 4 and x.shape[3] == 1:
            x = x[..., 0]
        if getattr(x, "ndim", None) != 3:
            raise ParameterError(f"expected clips of shape (n_clips, n_mels, n_frames), got {getattr(x, 'shape', None)}")
        rows = np.arange(len(x))
    _, model_mels, model_frames, _ = model.input_shape
    n_mels, n_frames = x.shape[1], x.shape[2]
    if model_mels is not None and model_mels != n_mels:
        raise ParameterError(f"the model expects {model_mels} mel bands, the clips have {n_mels}")
    crop = n_frames if model_frames is None else int(model_frames)
    if n_frames < crop:  # short clips: repeated to fill the model's input, never an error
        x, rows = tile(np.asarray(x[rows], dtype=np.float32), crop, axis=2), np.arange(len(rows))
        n_frames = crop
    starts = crop_starts(n_frames, crop)
    if len(starts) > int(batch_size):  # long clips: a few crops per pass, never a whole recording at once
        return np.stack([_predict_long_clip(model, x[row], starts, crop, int(batch_size)) for row in rows])
    clips_per_pass = max(1, int(batch_size) // len(starts))
    # Every forward pass gets the same number of crops (the last one is padded with zeros and
    # its padding discarded), so the model's predict function is traced only once.
    crops = np.zeros((clips_per_pass * len(starts), n_mels, crop, 1), dtype=np.float32)
    outputs = []
    for lo in range(0, len(rows), clips_per_pass):
        chunk = rows[lo : lo + clips_per_pass]
        for k, row in enumerate(chunk):
            clip = x[row]
            for j, s in enumerate(starts):
                crops[k * len(starts) + j, :, :, 0] = clip[:, s : s + crop]
        probs = np.asarray(model.predict_on_batch(crops))[: len(chunk) * len(starts)]
        outputs.append(probs.reshape(len(chunk), len(starts), -1).mean(axis=1))
    return np.concatenate(outputs).astype(np.float32)


def _predict_long_clip(model, clip: np.ndarray, starts: list[int], crop: int, batch_size: int) -> np.ndarray:
    """The mean prediction over a long clip's crops, ``batch_size`` crops per forward pass.

    Every pass has the same shape (the last one padded with zeros, its padding discarded), so
    the model is traced once, and memory does not grow with the clip's length.
    """
    crops = np.zeros((batch_size, clip.shape[0], crop, 1), dtype=np.float32)
    total = None
    for lo in range(0, len(starts), batch_size):
        group = starts[lo:lo + batch_size]
        crops[:] = 0.0
        for j, s in enumerate(group):
            crops[j, :, :, 0] = clip[:, s:s + crop]
        probs = np.asarray(model.predict_on_batch(crops), dtype=np.float64)[: len(group)].sum(axis=0)
        total = probs if total is None else total + probs
    return (total / len(starts)).astype(np.float32)


# --------------------------------------------------------------------------- training


class RocAucCallback(keras.callbacks.Callback):
    """Validation scores after every epoch: macro ROC-AUC, PR-AUC and the loss.

    At the end of each epoch it scores the validation clips with :func:`predict_clips` and adds
    ``val_roc_auc``, ``val_pr_auc`` and ``val_loss`` (binary cross-entropy of the
    crop-averaged probabilities) to the epoch's logs. Place it before ``EarlyStopping`` and
    ``ModelCheckpoint`` in the callback list; they can then monitor ``"val_roc_auc"`` with
    ``mode="max"``, and the values also land in ``model.fit``'s history. Notebook 02 writes its own
    (``ValidationAUC``); a test checks that both log the same values.

    Args:
        val_data: a :class:`LogMelSequence` with labels.
        batch_size: crops per forward pass.

    Attributes:
        history: one dict per epoch: ``epoch`` (from 1), ``roc_auc``, ``pr_auc``, ``loss``.
        last_scores: the validation probabilities of the last epoch.
    """

    def __init__(self, val_data: LogMelSequence, batch_size: int = 16):
        super().__init__()
        if not isinstance(val_data, LogMelSequence) or val_data.y is None:
            raise ParameterError("val_data must be a LogMelSequence with labels")
        self.val_data = val_data
        self.batch_size = int(batch_size)
        self.history: list[dict] = []
        self.last_scores: np.ndarray | None = None

    def on_epoch_end(self, epoch, logs=None):
        y = self.val_data.labels
        scores = predict_clips(self.model, self.val_data, self.batch_size)
        summary = metrics.macro_scores(y, scores)
        loss = metrics.binary_cross_entropy(y, scores)
        self.last_scores = scores
        self.history.append({"epoch": epoch + 1, "roc_auc": summary["roc_auc"], "pr_auc": summary["pr_auc"], "loss": loss})
        if logs is not None:
            logs["val_roc_auc"] = summary["roc_auc"]
            logs["val_pr_auc"] = summary["pr_auc"]
            logs["val_loss"] = loss


def train_tagger(
    model,
    train_seq: LogMelSequence,
    val_seq: LogMelSequence,
    *,
    epochs: int = 20,
    learning_rate: float = 1e-3,
    patience: int | None = 5,
    checkpoint_path=None,
    callbacks=None,
    verbose: int = 0,
) -> dict:
    """Train a tagger with Adam and binary cross-entropy, keeping the best validation ROC-AUC.

    Compiles ``model`` afresh (a new optimizer), then fits it on ``train_seq`` for up to
    ``epochs`` epochs. After each epoch :class:`RocAucCallback` scores ``val_seq``;
    ``EarlyStopping`` stops after ``patience`` epochs without a better ``val_roc_auc`` and puts
    back the weights of the best epoch; with ``checkpoint_path``, ``ModelCheckpoint`` saves the
    best model so far there. Silent by default: Keras' progress output carries timings, which
    would make notebook outputs differ between runs.

    Args:
        model: a model from :func:`course_utils.models.convnet.compact_convnet` (or any Keras model
            with sigmoid outputs).
        train_seq: training batches, usually a :class:`LogMelSequence` with ``training=True``.
        val_seq: validation clips, a :class:`LogMelSequence` with labels.
        epochs: most epochs to train.
        learning_rate: Adam's learning rate.
        patience: epochs without improvement before stopping; ``None`` to train all epochs
            (the best epoch's weights are then still restored).
        checkpoint_path: a ``.keras`` file for the best model, or ``None``.
        callbacks: more Keras callbacks, run after the course's.
        verbose: Keras' verbosity (0 silent, 2 one line per epoch).

    Returns:
        The history: ``{"loss": [...], "val_loss": [...], "val_roc_auc": [...],
        "val_pr_auc": [...]}``, one float per epoch trained.
    """
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="binary_crossentropy")
    course_callbacks = [RocAucCallback(val_seq)]
    course_callbacks.append(
        keras.callbacks.EarlyStopping(
            monitor="val_roc_auc",
            mode="max",
            patience=epochs if patience is None else int(patience),
            restore_best_weights=True,
        )
    )
    if checkpoint_path is not None:
        checkpoint_path = Path(checkpoint_path)
        if checkpoint_path.suffix != ".keras":
            raise ParameterError(f"{checkpoint_path}: a checkpoint must end in .keras")
        checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
        course_callbacks.append(
            keras.callbacks.ModelCheckpoint(checkpoint_path, monitor="val_roc_auc", mode="max", save_best_only=True)
        )
    history = model.fit(
        train_seq,
        epochs=epochs,
        shuffle=False,  # the sequence shuffles itself, seeded
        callbacks=course_callbacks + list(callbacks or []),
        verbose=verbose,
    )
    return {k: [float(v) for v in values] for k, values in history.history.items()}


# --------------------------------------------------------------------------- the course's tagger, end to end


@dataclass
class TaggerData:
    """MagnaTagAtune ready for training: the table, the spectrogram cache and the labels.

    Attributes:
        df: the dataset table (:func:`course_utils.datasets.load_dataset`).
        tags: the 50 tags, in column order.
        x: memory-mapped log-mel spectrograms, ``(n_clips, 96, n_frames)`` float16.
        y: labels ``(n_clips, 50)`` float32.
        split: row indices of ``train``, ``valid`` and ``test``.
    """

    df: pd.DataFrame
    tags: list
    x: np.ndarray
    y: np.ndarray
    split: dict = field(default_factory=dict)


def load_tagger_data(variant: str = "mini", *, progress: bool = True) -> TaggerData:
    """Load MagnaTagAtune and its log-mel cache (computed once, then memory-mapped).

    Notebooks 02 and 05.

    Args:
        variant: ``"mini"`` or ``"full"``.
        progress: show a progress bar while the cache is built.

    Returns:
        A :class:`TaggerData`.
    """
    from course_utils.datasets import load_dataset

    df = load_dataset("magnatagatune", variant)
    tags = df.attrs["tags"]
    x = build_logmel_cache(df["path"].tolist(), duration=convnet.CONFIGS[variant]["duration"], progress=progress)
    y = df[tags].to_numpy(dtype=np.float32)
    split = {s: np.flatnonzero(df["split"].to_numpy() == s) for s in ("train", "valid", "test")}
    return TaggerData(df, list(tags), x, y, split)


def batches(data: TaggerData, subset: str, variant: str = "mini", *, seed: int = 0):
    """The batches of one split: random crops for ``train``, whole clips otherwise.

    The command line's copy of notebook 02's ``CropSequence`` (a test checks that they agree).

    Args:
        data: from :func:`load_tagger_data`.
        subset: ``"train"``, ``"valid"`` or ``"test"``.
        variant: which scale's crop length and batch size to use.
        seed: the shuffling and cropping seed (training only).

    Returns:
        A :class:`LogMelSequence`.
    """

    cfg = convnet.CONFIGS[variant]
    train = subset == "train"
    return LogMelSequence(data.x, data.y, batch_size=cfg["batch_size"], indices=data.split[subset],
                                   crop_frames=cfg["crop_frames"] if train else None, training=train, seed=seed)


def sidecar_path(model_path) -> Path:
    """The JSON file that describes a saved model: ``<model>.json``."""
    return Path(model_path).with_suffix(".json")


def save_tagger(model, path, info: dict) -> Path:
    """Save a tagger and its description (tags, crop length, scores) atomically.

    Args:
        model: the Keras model.
        path: a ``.keras`` path.
        info: JSON-serialisable description; must hold ``tags``.

    Returns:
        The model's path.
    """
    convnet.save_model(model, path)
    atomic_write_text(sidecar_path(path), json.dumps(info, indent=2) + "\n")
    return Path(path)


def train_course_tagger(variant: str = "mini", *, epochs: int | None = None, seed: int = 0, save_to=None,
                        progress: bool = True):
    """Train the compact convnet on MagnaTagAtune and save it with its test scores.

    Args:
        variant: ``"mini"`` or ``"full"``.
        epochs: override the scale's number of epochs.
        seed: the seed of weights, shuffling and crops.
        save_to: the model path (default :func:`course_utils.models.convnet.default_model_path`).
        progress: show a progress bar while the spectrogram cache is built.

    Returns:
        ``(model, history, info)``: the trained model, the per-epoch history, and the saved
        description with ``test_roc_auc`` and ``test_pr_auc``.
    """

    cfg = convnet.CONFIGS[variant]
    data = load_tagger_data(variant, progress=progress)
    convnet.set_seed(seed)
    model = convnet.compact_convnet(n_mels=data.x.shape[1], n_frames=cfg["crop_frames"], n_tags=len(data.tags))
    history = train_tagger(model, batches(data, "train", variant, seed=seed), batches(data, "valid", variant),
                                    epochs=epochs or cfg["epochs"], patience=cfg["patience"],
                                    learning_rate=cfg["learning_rate"])
    test = evaluate_tagger(model, data, variant)
    info = {"tags": data.tags, "variant": variant, "crop_frames": cfg["crop_frames"], "sr": audio.SR,
            "epochs_run": len(history.get("loss", [])), "test_roc_auc": round(test["roc_auc"], 4),
            "test_pr_auc": round(test["pr_auc"], 4)}
    save_tagger(model, save_to or convnet.default_model_path(variant), info)
    return model, history, info


def evaluate_tagger(model, data: TaggerData, variant: str = "mini", subset: str = "test") -> dict:
    """Macro ROC-AUC and PR-AUC of a tagger on a split, plus the per-tag table.

    The command line's copy of notebook 02's evaluation (``predict_clips`` and ``tag_scores``).

    Args:
        model: a trained tagger.
        data: from :func:`load_tagger_data`.
        variant: the scale (batch size).
        subset: the split to score.

    Returns:
        ``{"roc_auc", "pr_auc", "per_tag": DataFrame, "scores": (n, 50) array}``.
    """

    scores = predict_clips(model, batches(data, subset, variant), batch_size=convnet.CONFIGS[variant]["batch_size"])
    truth = data.y[data.split[subset]]
    macro = metrics.macro_scores(truth, scores)
    return {"roc_auc": macro["roc_auc"], "pr_auc": macro["pr_auc"],
            "per_tag": metrics.per_tag_scores(truth, scores, data.tags), "scores": scores}


def load_course_tagger(variant: str = "mini", path=None, *, train_if_missing: bool = True):
    """The course-trained tagger, training it first if it was never trained.

    Notebook 03.

    Args:
        variant: ``"mini"`` or ``"full"``.
        path: an explicit model path.
        train_if_missing: train (and save) it when the file is missing.

    Returns:
        ``(model, info)`` where ``info`` is the model's JSON description.

    Raises:
        CourseError: the model is missing and ``train_if_missing`` is off.
    """
    path = Path(path) if path else convnet.default_model_path(variant)
    if not path.is_file():
        if not train_if_missing:
            raise CourseError(f"{path}: no trained model; run `course-utils train-tagger --variant {variant}` first")
        model, _, info = train_course_tagger(variant, save_to=path, progress=False)
        return model, info
    model = convnet.load_model(path, compile=False)
    side = sidecar_path(path)
    if side.is_file():
        try:
            info = json.loads(side.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CourseError(f"{side}: not readable JSON ({exc}); it must describe {path.name} as "
                              '{"tags": [...], "crop_frames": N}: save the tagger again (training.save_tagger)') from None
    else:  # a model saved without its description: assume MagnaTagAtune's top 50
        from course_utils.datasets.magnatagatune import TOP50_TAGS

        info = {"tags": list(TOP50_TAGS), "crop_frames": int(model.input_shape[2])}
    _check_tagger(model, info, path, side)
    return model, info


def _check_tagger(model, info, path: Path, side: Path) -> None:
    """A :class:`CourseError` naming the file when a tagger's description does not fit it (no tag
    list, another number of tags than outputs, a bad crop length) or its outputs are not
    probabilities (the last layer is not a sigmoid or softmax)."""
    if not isinstance(info, dict) or not isinstance(info.get("tags"), list) or \
            not all(isinstance(t, str) for t in info["tags"]):
        raise CourseError(f"{side}: holds no list of tag names ('tags'); it must describe {path.name} as "
                          '{"tags": [...], "crop_frames": N}: save the tagger again (training.save_tagger)')
    outputs = model.output_shape[-1] if not isinstance(model.output_shape, list) else None
    if outputs != len(info["tags"]):
        raise CourseError(f"{path}: the model has {outputs} outputs but {side.name} names {len(info['tags'])} tags; "
                          "give the model its own description (save both with training.save_tagger)")
    crop = info.get("crop_frames")
    if crop is not None and (isinstance(crop, bool) or not isinstance(crop, int) or crop < 1):
        raise CourseError(f"{side}: crop_frames {crop!r} is not a positive whole number of frames")
    activation = getattr(getattr(model.layers[-1], "activation", None), "__name__", None)
    if activation not in ("sigmoid", "softmax"):
        raise CourseError(f"{path}: its outputs are not probabilities (the last layer's activation is "
                          f"{activation or 'unknown'}, not sigmoid or softmax), so they cannot be printed as tag "
                          "probabilities; give a tagger that ends in a sigmoid")
