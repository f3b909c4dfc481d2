"""One concept for every clip model: a scikit-learn transformer from audio paths to features.

``ClipFeatures("musicnn")`` (or ``"choi2017"``, ``"course"``, ``"siamese"``, ``"mfcc"``) turns
audio files into one feature row per clip, so that notebook 03/04's whole idea fits in one line::

    make_pipeline(ClipFeatures("musicnn"), StandardScaler(), SVC())

The models, their layers and the one window policy for short and long clips are described in
:mod:`course_utils.features.registry`. This module adds the transformer: lazy loading (once per
process), batching, a per-clip feature cache keyed by content, tags and taggrams, per-window
outputs, and an identity that saved classifiers check. Notebooks 02, 03, 05 and 06.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from course_utils import audio
from course_utils.core.cache import cache_file, cache_key
from course_utils.core.errors import AudioError, CourseError, ParameterError
from course_utils.core.files import atomic_save_npy
from course_utils.features import registry

#: The extractor's code version: bump it when features computed here change (cache keys, identity).
CODE_VERSION = "1"
#: Bytes of decoded windows gathered before they go through the model: bounds memory (23 windows
#: of 29 s for choi2017, hundreds of the course tagger's 2.7 s crops).
_BYTES_PER_PASS = 32 << 20
#: Clips of more than this many seconds (analysed) are decoded and analysed a segment at a time
#: (:func:`course_utils.audio.stream_audio`): windows as they come, features averaged online,
#: taggram rows appended, so that an hour (a DJ mix, a concert) is analysed whole in bounded
#: memory. Up to it, a clip is analysed in one piece, as before.
STREAM_SECONDS = 600.0
#: About this many seconds per segment, rounded to whole windows of the model.
SEGMENT_SECONDS = 120.0


def _window_samples(entry) -> int:
    """The samples one window advances by at ``entry.sr`` (consecutive windows of the cover policy)."""
    from course_utils.models import choi2017

    if entry.kind == "choi2017":
        return int(choi2017.WINDOW_SAMPLES)
    if entry.kind == "musicnn":
        from course_utils.models import musicnn

        return musicnn.PATCH_FRAMES * musicnn.HOP_LENGTH
    if entry.kind == "mfcc":
        return int(registry.MFCC_WINDOW_SECONDS * entry.sr)
    return int(entry.crop_frames) * audio.HOP_LENGTH


def _is_nan(value) -> bool:
    return value is None or (isinstance(value, (float, np.floating)) and np.isnan(value))


def _expand(path) -> str:
    """A path as text, ``~`` expanded (``"~/Music/song.mp3"`` works as in a shell)."""
    return str(Path(path).expanduser())


def clip_rows(X) -> list[tuple[str, float, float | None]]:
    """``(path, offset, duration)`` of every clip in ``X``.

    Args:
        X: a path, a list / array / Series of paths, an ``(n, 1)`` array of paths, or a table
            with a ``path`` column and optional ``offset`` and ``duration`` columns (seconds;
            ``duration`` NaN: to the end of the file), as the course's dataset tables have.

    Returns:
        One tuple per clip (``~`` in a path expanded); ``duration`` is ``None`` for the whole file.

    Raises:
        CourseError: a table without a ``path`` column, or something that is not paths.
    """
    if isinstance(X, pd.DataFrame):
        if "path" not in X:
            raise CourseError(f"a table of clips needs a 'path' column (it has {', '.join(map(str, X.columns))})")
        n = len(X)
        offsets = X["offset"] if "offset" in X else [0.0] * n
        durations = X["duration"] if "duration" in X else [None] * n
        return [(_expand(p), 0.0 if _is_nan(o) else float(o), None if _is_nan(d) else float(d))
                for p, o, d in zip(X["path"], offsets, durations)]
    if isinstance(X, (str, Path)):
        X = [X]
    values = np.asarray(list(X), dtype=object)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1 or not all(isinstance(v, (str, Path)) for v in values):
        raise CourseError("ClipFeatures takes audio file paths (a list, a Series, or a table with a 'path' "
                          "column), not numbers")
    return [(_expand(p), 0.0, None) for p in values]


def file_overview(path, max_duration: float | None = None):
    """What ``course-utils features`` prints of a file, in bounded memory.

    Args:
        path: an audio file.
        max_duration: seconds to analyse at most (``None``: all).

    Returns:
        ``(seconds, (bands, frames, min dB, max dB), MFCC summary)`` of its log-mel spectrogram at
        the course's rate: in one piece up to :data:`STREAM_SECONDS`, a segment at a time above
        (the MFCC summary then averaged over the segments).
    """

    info = audio.audio_info(path)
    seconds = info["duration"] if max_duration is None else min(info["duration"], max_duration)
    if seconds <= STREAM_SECONDS:
        y = audio.load_audio(path, max_duration=max_duration)
        mel = audio.log_mel(y)
        return len(y) / audio.SR, (mel.shape[0], mel.shape[1], float(mel.min()), float(mel.max())), \
            audio.mfcc_summary(y, repeat_short=True)
    if max_duration is not None and info["duration"] > max_duration:
        import warnings

        from course_utils.core.errors import AudioWarning

        warnings.warn(f"{path}: {info['duration']:.0f} s of audio; only the first {max_duration:g} s are analysed "
                      "(--max-duration 0 reads it all)", AudioWarning, stacklevel=2)
    segment = int(SEGMENT_SECONDS * audio.SR) // audio.HOP_LENGTH * audio.HOP_LENGTH
    n, bands, low, high, total, count = 0, 0, np.inf, -np.inf, None, 0
    for y in audio.stream_audio(path, audio.SR, segment_samples=segment, duration=seconds):
        n += len(y)
        mel = audio.log_mel(y)
        bands, low, high = mel.shape[0], min(low, float(mel.min())), max(high, float(mel.max()))
        summary = audio.mfcc_summary(y, repeat_short=True).astype(np.float64)
        total, count = (summary if total is None else total + summary), count + 1
    return n / audio.SR, (bands, audio.n_frames(n), low, high), (total / count).astype(np.float32)


class ClipFeatures(TransformerMixin, BaseEstimator):
    """Features (or tags) of audio clips from any of the course's clip models, as a transformer.

    ``fit`` loads the model (lazily, once per process) and records what the features are;
    ``transform`` gives one row per clip: the mean over the clip's windows (see the window policy
    in :mod:`course_utils.features.registry`). A fitted instance pickles without its network (it is
    loaded again on first use, and must then have the same weights).

    scikit-learn's ``check_estimator`` mostly does not apply: its checks feed random numeric
    arrays, and this transformer's input is audio file paths (a numeric array is refused with a
    :class:`~course_utils.core.errors.CourseError`). The estimator's input tags say so (one-dimensional
    strings), and ``check_estimator`` then skips those checks with a warning and runs the rest,
    which pass. ``tests/test_clip_features.py`` checks the conventions by hand instead:
    parameters stored as given, ``clone``, ``fit`` returning ``self``, ``NotFittedError`` before
    ``fit``, feature names, a pipeline through ``clone`` and joblib.

    Args:
        model: ``"choi2017"``, ``"musicnn"`` (``"musicnn:MSD_musicnn"``, ...), ``"course"``
            (``"course:full"``, ``"course:<path.keras>"``), ``"siamese"`` or ``"mfcc"``.
        layers: which layers (``None``: the model's default; see :mod:`course_utils.features.registry`);
            ``"tags"`` gives tag probabilities as features.
        batch_size: windows per forward pass (``None``, the default: the model's own, chosen for
            memory: 1 for musicnn, 2 for choi2017, 32 for the course's convnets); the features
            do not depend on it beyond floating-point rounding.
        cache: keep each clip's features on disk, ``data/cache/clip_features/<key>.npy``, keyed
            by the file's path, size and modification time, the clip's offset and duration, and
            this extractor's identity (weights included).
        max_duration: seconds of each file to read at most (``None``, the default: all of it;
            a clip longer than :data:`STREAM_SECONDS` is decoded and analysed a segment of about
            :data:`SEGMENT_SECONDS` at a time, in bounded memory: each segment's windows that lie
            wholly in it, the last segment's up to the end of the file as for a short clip; its
            spectrogram is computed per segment, and the MFCC summary of a long clip is the mean
            of its segments' summaries).
        framing: ``"cover"`` (the course's window policy) or ``"musicnn"`` (musicnn's own
            framing, for the musicnn models only).
        on_error: ``"raise"`` (an undecodable clip stops ``transform``) or ``"nan"`` (its row is
            NaN and the error is recorded in ``skipped_``).

    Attributes:
        feature_names_out_: the output columns' names.
        n_features_out_: their number.
        identity_: ``kind``, ``variant``, ``layers``, ``framing``, ``course_utils`` (the package
            version), ``extractor`` (code versions) and ``weights_sha256`` (``None`` for MFCC).
        skipped_: ``[(row, AudioError)]`` of the last ``transform`` (``on_error="nan"``).
    """

    def __init__(self, model="choi2017", *, layers=None, batch_size=None, cache=True, max_duration=None,
                 framing="cover", on_error="raise", progress=False):
        self.model = model
        self.layers = layers
        self.batch_size = batch_size
        self.cache = cache
        self.max_duration = max_duration
        self.framing = framing
        self.on_error = on_error
        self.progress = progress

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.one_d_array = True
        tags.input_tags.string = True
        return tags

    # ------------------------------------------------------------------ fitting and identity

    def _check_params(self, kind: str) -> None:
        if self.framing not in registry.FRAMINGS:
            raise ParameterError(f"framing {self.framing!r}: choose from {', '.join(clip_models.FRAMINGS)}")
        if self.framing == "musicnn" and kind != "musicnn":
            raise CourseError(f"framing='musicnn' is musicnn's own framing; {kind} uses framing='cover'")
        if self.on_error not in ("raise", "nan"):
            raise CourseError(f"on_error {self.on_error!r}: 'raise' or 'nan'")
        if self.batch_size is not None and (isinstance(self.batch_size, bool) or int(self.batch_size) < 1):
            raise CourseError(f"batch_size {self.batch_size!r}: a positive number of windows, or None")

    def _identity(self, entry, layers: str) -> dict:
        from course_utils import __version__

        return {"kind": entry.kind, "variant": entry.variant, "layers": layers, "framing": self.framing,
                "course_utils": __version__, "extractor": f"clip_features-{CODE_VERSION}/{entry.kind}-{entry.code_version}",
                "weights_sha256": entry.weights_sha256()}

    def fit(self, X=None, y=None):
        """Load the model and record the features' names and the extractor's identity.

        Args:
            X: ignored (the features need no fitting); accepted for pipelines.
            y: ignored.

        Returns:
            ``self``.
        """
        kind, _ = registry.parse_model(self.model)
        self._check_params(kind)
        layers = registry.get_model(self.model, load=False).check_layers(self.layers)  # before any download
        entry = registry.get_model(self.model)
        self.feature_names_out_ = np.asarray(entry.feature_names(layers), dtype=object)
        self.n_features_out_ = len(self.feature_names_out_)
        self.identity_ = self._identity(entry, layers)
        self._entry = entry
        return self

    def _loaded(self):
        """The fitted model's registry entry, loaded again after unpickling and checked against ``identity_``."""
        check_is_fitted(self)
        entry = registry.get_model(self.model)  # the process's copy; loaded again if its file changed
        now = self._identity(entry, self.identity_["layers"])
        for key, what in (("weights_sha256", "weights"), ("extractor", "extractor code")):
            if now[key] != self.identity_[key]:
                raise CourseError(f"{self.model}: the {what} ({now[key]}, {entry.weights_path or 'no file'}) are not "
                                  f"those these features were fitted with ({self.identity_[key]}); fit again")
        self._entry = entry
        return entry

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_entry", None)  # the Keras model is not pickled: loaded again on first use
        return state

    def get_feature_names_out(self, input_features=None):
        """The output columns' names, e.g. ``choi2017_block1_00`` or ``musicnn_penultimate_000``."""
        check_is_fitted(self)
        return self.feature_names_out_.copy()

    # ------------------------------------------------------------------ extraction

    def _batch(self, entry) -> int:
        return int(self.batch_size) if self.batch_size is not None else getattr(entry, "batch_size", 8)

    def _clip_windows(self, entry, row, *, over_time: bool = False):
        path, offset, duration = row
        y = audio.load_audio(path, sr=entry.sr, offset=offset, duration=duration, max_duration=self.max_duration)
        return entry.clip_windows(y, self.framing, over_time=over_time)

    def _streamed(self, row, warn: bool = False) -> float | None:
        """The seconds of a clip that will be analysed, when more than :data:`STREAM_SECONDS` (else
        ``None``); ``warn``: say so when ``max_duration`` cuts it."""
        path, offset, duration = row
        try:
            info = audio.audio_info(path)
        except AudioError:
            return None  # the one-piece path names the problem
        seconds = info["duration"] - offset if duration is None else min(duration, info["duration"] - offset)
        if self.max_duration is not None and seconds > self.max_duration:
            cut = float(self.max_duration)
            if not warn or cut <= STREAM_SECONDS:  # the one-piece path's decoder warns itself
                return cut if cut > STREAM_SECONDS else None
            import warnings

            from course_utils.core.errors import AudioWarning

            warnings.warn(f"{path}: {seconds:.0f} s of audio; only the first {self.max_duration:g} s are analysed "
                          "(max_duration=None, or --max-duration 0 to course-utils, reads it all)", AudioWarning,
                          stacklevel=4)
            seconds = float(self.max_duration)
        return seconds if seconds > STREAM_SECONDS else None

    def _clip_pieces(self, entry, row, *, over_time: bool = False):
        """``(start_seconds, inputs)`` of a clip's windows: in one piece up to :data:`STREAM_SECONDS`,
        else one segment at a time (each segment's whole windows; the last two segments together,
        so that the last window ends with the file as the window policy has it)."""
        seconds = self._streamed(row, warn=True)
        if seconds is None:
            yield self._clip_windows(entry, row, over_time=over_time)
            return
        path, offset, _ = row
        window = _window_samples(entry)
        per = max(1, int(round(SEGMENT_SECONDS * entry.sr / window)))
        segment = per * window
        held, t0 = [], 0.0
        for piece in audio.stream_audio(path, entry.sr, segment_samples=segment, offset=offset, duration=seconds):
            held.append(piece)
            if len(held) == 3:  # the first of three is not one of the last two
                starts, inputs = entry.clip_windows(held.pop(0), self.framing, over_time=over_time)
                keep = per if (over_time or entry.kind != "mfcc") else 1
                yield t0 + np.asarray(starts[:keep], dtype=np.float64), inputs[:keep]
                t0 += segment / entry.sr
        if held:
            starts, inputs = entry.clip_windows(np.concatenate(held), self.framing, over_time=over_time)
            yield t0 + np.asarray(starts, dtype=np.float64), inputs

    def _streamed_mean(self, entry, row, layers: str) -> np.ndarray:
        """The mean window output of a long clip, accumulated a segment at a time (float64)."""
        total, count = None, 0
        for _, inputs in self._clip_pieces(entry, row):
            (feats,) = self._run_clips(entry, [inputs], layers)
            feats = np.asarray(feats, dtype=np.float64)
            total = feats.sum(axis=0) if total is None else total + feats.sum(axis=0)
            count += len(feats)
        return entry.finish((total / count).astype(np.float32))

    def _run_clips(self, entry, inputs: list, layers: str) -> list[np.ndarray]:
        """Every clip's window outputs, windows of several clips batched together."""
        if not inputs:
            return []
        if not all(isinstance(x, np.ndarray) for x in inputs):
            return [entry.run(x, layers, self._batch(entry)) for x in inputs]
        out = np.asarray(entry.run(np.concatenate(inputs), layers, self._batch(entry)))
        return np.split(out, np.cumsum([len(x) for x in inputs])[:-1])

    def _cache_path(self, row, identity: dict) -> Path:
        path, offset, duration = row
        key = cache_key(version=f"clip-features-{CODE_VERSION}", files=[path],
                        params={"offset": offset, "duration": duration, "max_duration": self.max_duration,
                                "identity": {k: v for k, v in identity.items() if k != "course_utils"}})
        return cache_file("clip_features", key, ".npy")

    def _extract(self, rows, layers: str, width: int, identity: dict, on_error: str):
        """Mean window outputs of every row: ``(features (n, width), [(row, AudioError)])``."""
        entry = self._loaded()
        out = np.full((len(rows), width), np.nan, dtype=np.float32)
        skipped, pending, owners, targets = [], [], [], {}

        def flush():
            for i, feats in zip(owners, self._run_clips(entry, pending, layers)):
                out[i] = entry.finish(registry._mean_rows(feats))
                if i in targets:
                    atomic_save_npy(targets[i], out[i])
            pending.clear()
            owners.clear()

        from course_utils.core.progress import tqdm

        for i, row in enumerate(tqdm(rows, desc=f"{self.model} features", unit="clip", disable=not self.progress)):
            target = None
            if self.cache:
                try:
                    target = self._cache_path(row, identity)
                except FileNotFoundError:
                    target = None  # the decoder names the missing file below
                if target is not None and target.is_file():
                    try:
                        saved = np.load(target, allow_pickle=False)
                        if saved.shape == (width,) and saved.dtype == np.float32:
                            out[i] = saved
                            continue
                    except (ValueError, OSError, EOFError):
                        pass  # a damaged cache file: computed again
            try:
                if self._streamed(row) is not None:  # a long clip: analysed now, a segment at a time
                    out[i] = self._streamed_mean(entry, row, layers)
                    if target is not None:
                        atomic_save_npy(target, out[i])
                    continue
                _, windows = self._clip_windows(entry, row)
            except AudioError as exc:
                if on_error == "raise":
                    raise
                skipped.append((i, exc))
                continue
            if target is not None:
                targets[i] = target
            pending.append(windows)
            owners.append(i)
            if sum(np.asarray(w).nbytes if isinstance(w, np.ndarray) else sum(x.nbytes for x in w)
                   for w in pending) >= _BYTES_PER_PASS:
                flush()
        flush()
        return out, skipped

    def transform(self, X) -> np.ndarray:
        """The features of every clip: the mean over its windows.

        Args:
            X: audio paths, or a table with ``path`` (and ``offset``, ``duration``) columns.

        Returns:
            float32 ``(n_clips, n_features_out_)``; with ``on_error="nan"`` a bad clip's row is
            NaN and its error is in ``skipped_``.

        Raises:
            AudioError: a clip cannot be decoded (``on_error="raise"``); the message names it.
        """
        check_is_fitted(self)
        out, self.skipped_ = self._extract(clip_rows(X), self.identity_["layers"], self.n_features_out_,
                                           self.identity_, self.on_error)
        return out

    def windows(self, path) -> tuple[np.ndarray, np.ndarray]:
        """Per-window features of one file, for predictions over time.

        Args:
            path: an audio file.

        Returns:
            ``(start_seconds (k,), features (k, n_features_out_))``; window ``i`` covers
            ``start_seconds[i]`` to ``start_seconds[i] + window_seconds`` (the MFCC summary: 3 s).
        """
        entry = self._loaded()
        (row,) = clip_rows(path)
        all_starts, all_feats = [], []
        for starts, inputs in self._clip_pieces(entry, row, over_time=True):
            (feats,) = self._run_clips(entry, [inputs], self.identity_["layers"])
            all_feats.append(np.stack([entry.finish(np.asarray(f, dtype=np.float32)) for f in feats]))
            all_starts.append(np.asarray(starts, dtype=np.float64))
        return np.concatenate(all_starts), np.concatenate(all_feats).astype(np.float32)

    # ------------------------------------------------------------------ tags

    def _tagger(self):
        entry = self._loaded()
        if entry.tags is None:
            raise CourseError(f"{self.model} has no tags; tags come from choi2017, musicnn and course")
        return entry

    def tag(self, X, top: int = 10) -> list:
        """The top tags of every clip, averaged over its windows.

        Args:
            X: audio paths, or a table with a ``path`` column.
            top: how many tags per clip.

        Returns:
            ``[(path, [(tag, probability), ...] best first) or (path, AudioError)]``, in order.

        Raises:
            CourseError: the model has no tags (``mfcc``, ``siamese``).
        """
        from course_utils.models.metrics import top_k_tags

        entry = self._tagger()
        rows = clip_rows(X)
        identity = {**self.identity_, "layers": "tags"}
        probs, skipped = self._extract(rows, "tags", len(entry.tags), identity, "nan")
        errors = dict(skipped)
        return [(path, errors[i] if i in errors else top_k_tags(probs[i], entry.tags, k=top))
                for i, (path, _, _) in enumerate(rows)]

    def taggram(self, path):
        """Tag probabilities over time: one row per window.

        Args:
            path: an audio file.

        Returns:
            ``(start_seconds (k,), tags, probabilities (k, n_tags))``; draw it with
            :func:`course_utils.teaching.plots.plot_taggram`.
        """
        entry = self._tagger()
        (row,) = clip_rows(path)
        all_starts, rows = [], []
        for starts, inputs in self._clip_pieces(entry, row, over_time=True):  # rows appended as they come
            (probs,) = self._run_clips(entry, [inputs], "tags")
            rows.append(np.asarray(probs, dtype=np.float32))
            all_starts.append(np.asarray(starts, dtype=np.float64))
        return np.concatenate(all_starts), list(entry.tags), np.concatenate(rows)

    def window_seconds(self) -> float | None:
        """The model's window in seconds (``None`` for the MFCC summary: the whole clip)."""
        return self._loaded().window_seconds()
