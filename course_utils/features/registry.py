"""The registry of clip models behind :class:`course_utils.features.clip_features.ClipFeatures`.

One entry per kind of model owns everything model-specific: loading it (once per process), its
sidecar facts (tag names, sample rate, window length), its feature layers, and how one clip
becomes the windows the model takes. The kinds:

- ``choi2017``: the authors' MSD convnet (:mod:`course_utils.models.choi2017`), raw audio at 12 kHz in
  29 s windows; layers ``"01234"`` (block averages, 32 values each) or ``"tags"`` (50 MSD tags);
- ``musicnn`` (``musicnn:MTT_musicnn``, ``musicnn:MSD_musicnn``, ``musicnn:MTT_vgg``,
  ``musicnn:MSD_vgg``; :mod:`course_utils.models.musicnn`): log-mel patches of 3 s at 16 kHz; layers
  ``penultimate`` (200), ``max_pool``, ``mean_pool`` (753 each), ``tags``, or several joined by
  ``+``;
- ``course`` (``course:mini``, ``course:full`` or ``course:<path.keras>``): the course's own
  tagger (:func:`course_utils.models.training.load_course_tagger`, trained first if missing); layers as
  ``choi2017``, windows of its training crop (128 frames, 2.7 s, for ``mini``);
- ``siamese`` (``siamese:mini``, ``siamese:full`` or ``siamese:<path.keras>``): the course's
  siamese embedding, as saved by the similarity index (``course-utils similar`` or notebook 05
  build it); layer ``embedding`` (128 values,
  the mean over windows scaled to unit length);
- ``mfcc``: the 120-value MFCC summary (no network); layer ``summary``.

**The window policy** (one for every kind). A clip is read at the model's sample rate, at most
``max_duration`` seconds of it. A clip shorter than the model's window is repeated (tiled) until
it fills one window, on the model's own input (samples for ``choi2017``, spectrogram frames for
the others), never padded with silence. A longer clip is cut into consecutive windows from its
start, the last one ending with the clip (it overlaps the one before), so that every sample is
seen; the clip's features (and tags) are the mean over its windows. The MFCC summary has no
fixed window: it summarises the whole clip, and 3 s windows for :meth:`windows`. A file that
cannot be decoded, is empty, shorter than 0.05 s or silent is an
:class:`~course_utils.core.errors.AudioError` naming it.

``framing="musicnn"`` keeps musicnn's own framing instead (consecutive patches, the frames after
the last whole patch dropped, a short clip zero-padded): the published musicnn tags, taggrams
and notebooks 02 and 05's stored outputs use it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from course_utils import audio
from course_utils.audio.windows import frame_windows
from course_utils.core import files, paths
from course_utils.core.errors import CourseError, ParameterError
from course_utils.stats import unit_length

#: Window policies: the course's (tile short, cover long), and musicnn's own.
FRAMINGS = ("cover", "musicnn")
#: Seconds per window of the MFCC summary in :meth:`ClipModel.clip_windows` over time.
MFCC_WINDOW_SECONDS = 3.0


def _mean_rows(out: np.ndarray) -> np.ndarray:
    """The mean of a clip's window rows, computed in float64, as float32."""
    return np.asarray(out, dtype=np.float64).mean(axis=0).astype(np.float32)


class ClipModel:
    """One kind of clip model: loading, sidecar facts, layers, and a clip's windows.

    Subclasses set the class attributes and implement :meth:`_load`, :meth:`clip_windows` and
    :meth:`run`.

    Attributes:
        kind: the registry name.
        variants: accepted variants (empty: any, e.g. a path); ``variants[0]`` is the default.
        default_layers: the layers when ``layers=None``.
        code_version: bumped when the kind's computation changes (enters cache keys and identity).
        sr: the sample rate clips are read at.
        batch_size: windows per forward pass when ``ClipFeatures(batch_size=None)``.
    """

    kind = ""
    variants: tuple = ()
    default_layers = ""
    code_version = "1"
    sr = audio.SR
    batch_size = 32  # the course's 2.7 s crops: 1.5 MB a pass; 8 took 20% longer per clip (measured)

    def __init__(self, variant: str):
        self.variant = variant
        self.model = None
        self.tags: list | None = None
        self.weights_path = None
        self.loaded = False

    # -- loading
    def load(self) -> ClipModel:
        """Load the model (and its tags and weights file) once; returns ``self``."""
        if not self.loaded:
            self._load()
            self.loaded = True
        return self

    def _load(self) -> None:
        """Set :attr:`model`, :attr:`tags` and :attr:`weights_path`."""
        raise NotImplementedError

    def weights_sha256(self) -> str | None:
        """The SHA-256 of the weights file (hashed once), or ``None`` for a kind without one."""
        if self.weights_path is None:
            return None
        if getattr(self, "_sha256", None) is None:
            self._sha256 = files.sha256_file(self.weights_path)
        return self._sha256

    # -- layers
    def check_layers(self, layers: str | None) -> str:
        """The layer spec, checked (``None``: :attr:`default_layers`)."""
        return self.default_layers if layers is None else str(layers)

    def feature_names(self, layers: str) -> list[str]:
        """One name per output column of :meth:`run` for these layers."""
        raise NotImplementedError

    # -- windows
    def window_seconds(self) -> float | None:
        """The model's window in seconds (``None``: the whole clip)."""
        raise NotImplementedError

    def clip_windows(self, y: np.ndarray, framing: str = "cover", *, over_time: bool = False):
        """One clip's model inputs under the window policy.

        Args:
            y: the clip at :attr:`sr`.
            framing: ``"cover"`` or ``"musicnn"`` (musicnn only).
            over_time: windows for per-window outputs (only the MFCC summary differs).

        Returns:
            ``(start_seconds (k,), inputs (k, ...))``.
        """
        raise NotImplementedError

    def run(self, inputs: np.ndarray, layers: str, batch_size: int) -> np.ndarray:
        """The outputs of the chosen layers for a stack of windows: float ``(k, n_features)``."""
        raise NotImplementedError

    def finish(self, mean: np.ndarray) -> np.ndarray:
        """Turn the mean over a clip's windows into its feature (identity but for ``siamese``)."""
        return mean

    def describe(self) -> dict:
        """Sidecar facts: tags, sample rate, window seconds."""
        return {"tags": None if self.tags is None else list(self.tags), "sr": self.sr,
                "window_seconds": self.window_seconds()}


def _eager_batches(fn, x: np.ndarray, batch_size: int) -> np.ndarray:
    """``fn`` (a Keras model, called eagerly) over ``x`` in batches: a short last batch is not padded."""
    b = max(1, int(batch_size))
    return np.concatenate([np.asarray(fn(x[s:s + b], training=False)) for s in range(0, len(x), b)])


class _BlockConvnet(ClipModel):
    """Shared layer handling of the two compact convnets (``choi2017``, ``course``): block digits or tags."""

    default_layers = "01234"

    def __init__(self, variant):
        super().__init__(variant)
        self._extractors = {}

    def check_layers(self, layers):
        from course_utils.tasks.release import parse_layers

        layers = super().check_layers(layers)
        if layers != "tags":
            parse_layers(layers)
        return layers

    def feature_names(self, layers):
        from course_utils.tasks.release import BLOCK_WIDTH, parse_layers

        if layers == "tags":
            return [f"{self.kind}_tag_{t}" for t in self.tags]
        return [f"{self.kind}_block{i + 1}_{j:02d}" for i in parse_layers(layers) for j in range(BLOCK_WIDTH)]

    def _network(self, layers):
        """The model for these layers: the tagger itself, or a block-average extractor (cached)."""
        if layers == "tags":
            return self.model
        if layers not in self._extractors:
            from course_utils.models.convnet import feature_extractor

            self._extractors[layers] = feature_extractor(self.model, layers)
        return self._extractors[layers]

    def run(self, inputs, layers, batch_size):
        return _eager_batches(self._network(layers), inputs, batch_size)


class Choi2017(_BlockConvnet):
    """The authors' MSD convnet (:mod:`course_utils.models.choi2017`): raw 12 kHz audio in 29 s windows."""

    kind = "choi2017"
    variants = ("msd",)
    batch_size = 2  # two 29 s windows per pass: 430 MB less memory than eight on a long file

    def _load(self):
        from course_utils.models import choi2017

        self.weights_path = choi2017.fetch_choi2017(progress=False)
        self.model = choi2017.load_choi2017(self.weights_path)
        self.tags = list(choi2017.CHOI2017_TAGS)

    def window_seconds(self):
        from course_utils.models import choi2017

        return float(choi2017.WINDOW_SECONDS)

    def clip_windows(self, y, framing="cover", *, over_time=False):
        from course_utils.models import choi2017

        starts, windows = frame_windows(y, choi2017.WINDOW_SAMPLES, axis=0)
        return starts / self.sr, windows


class _LogMelCrops:
    """The windows of a network that takes log-mel crops of ``crop_frames`` frames (the course's tagger, the siamese one)."""

    crop_frames: int
    sr: int

    def window_seconds(self):
        return (self.crop_frames - 1) * audio.HOP_LENGTH / self.sr

    def clip_windows(self, y, framing="cover", *, over_time=False):
        starts, crops = frame_windows(audio.log_mel(y), self.crop_frames, axis=1)
        return starts * audio.HOP_LENGTH / self.sr, crops[..., None]


class CourseTagger(_LogMelCrops, _BlockConvnet):
    """The course's compact convnet tagger (:func:`course_utils.models.training.load_course_tagger`): log-mel crops."""

    kind = "course"
    variants = ()  # "mini", "full" or a .keras path

    def _load(self):
        from course_utils.models import convnet, training

        variant = self.variant or "mini"
        if variant in ("mini", "full"):
            self.weights_path = convnet.default_model_path(variant)
            self.model, info = training.load_course_tagger(variant)
        else:
            self.weights_path = variant
            self.model, info = training.load_course_tagger("mini", variant, train_if_missing=False)
        self.tags = list(info["tags"])
        self.crop_frames = int(info.get("crop_frames") or self.model.input_shape[2])


class Siamese(_LogMelCrops, ClipModel):
    """The course's siamese embedding, as saved by the similarity index (``course-utils similar``)."""

    kind = "siamese"
    variants = ()  # "mini", "full" (the course index's network) or a .keras path
    default_layers = "embedding"

    def _load(self):
        from course_utils.models import convnet

        if self.variant in ("mini", "full"):
            self.weights_path = paths.data_path("similarity") / self.variant / "model.keras"
        else:
            self.weights_path = Path(self.variant).expanduser()
            if not self.weights_path.is_file():
                raise CourseError(f"{self.weights_path}: no such file; give siamese:mini, siamese:full or "
                                  "siamese:<path to a model.keras>")
        if not self.weights_path.is_file():
            raise CourseError(f"{self.weights_path}: no trained siamese network yet; run `course-utils similar "
                              "ANY_AUDIO_FILE` once (it trains and indexes it, about a minute) or notebook 05")
        self.model = convnet.load_model(self.weights_path, compile=False)
        self.crop_frames = int(self.model.input_shape[2])

    def check_layers(self, layers):
        layers = super().check_layers(layers)
        if layers != "embedding":
            raise ParameterError(f"layers {layers!r}: the siamese network gives only 'embedding'")
        return layers

    def feature_names(self, layers):
        return [f"siamese_embedding_{j:03d}" for j in range(int(self.model.output_shape[-1]))]

    def run(self, inputs, layers, batch_size):
        return _eager_batches(self.model, inputs, batch_size)

    def finish(self, mean):
        return unit_length(mean)


class Musicnn(ClipModel):
    """musicnn (:mod:`course_utils.models.musicnn`): 3 s log-mel patches at 16 kHz."""

    kind = "musicnn"
    variants = ("MTT_musicnn", "MSD_musicnn", "MTT_vgg", "MSD_vgg")
    sr = 16000
    batch_size = 1  # musicnn's own (course_utils.models.musicnn.BATCH_SIZE)

    @property
    def default_layers(self):
        return "tags" if "vgg" in self.variant else "penultimate"

    def _load(self):
        from course_utils.models import musicnn

        self.model = musicnn.load_musicnn(self.variant)
        self.weights_path = musicnn.checkpoint_dir(self.variant) / ".data-00000-of-00001"
        self.tags = list(musicnn.tags_of(self.model))

    def _parts(self, layers):
        """The named layers of a spec such as ``"penultimate+tags"`` (:func:`~course_utils.tasks.release.split_layers`)."""
        from course_utils.models.musicnn import LAYER_WIDTHS
        from course_utils.tasks.release import split_layers

        allowed = ["tags"] if "vgg" in self.variant else [*LAYER_WIDTHS, "tags"]
        return split_layers(layers, allowed, blocks=False, model=self.variant)

    def check_layers(self, layers):
        layers = super().check_layers(layers)
        self._parts(layers)
        return layers

    def feature_names(self, layers):
        from course_utils.models.musicnn import LAYER_WIDTHS

        names = []
        for part in self._parts(layers):
            names += [f"musicnn_tag_{t}" for t in self.tags] if part == "tags" else \
                [f"musicnn_{part}_{j:03d}" for j in range(LAYER_WIDTHS[part])]
        return names

    def window_seconds(self):
        from course_utils.models.musicnn import PATCH_SECONDS

        return PATCH_SECONDS

    def clip_windows(self, y, framing="cover", *, over_time=False):
        from course_utils.models import musicnn

        rep = musicnn.log_mel(y)
        if framing == "musicnn":
            patches = musicnn.patches(rep)
            return np.arange(len(patches)) * musicnn.PATCH_SECONDS, patches
        starts, patches = frame_windows(rep, musicnn.PATCH_FRAMES, axis=0)
        return starts * musicnn.HOP_LENGTH / self.sr, patches

    def run(self, inputs, layers, batch_size):
        from course_utils.models import musicnn

        outs = musicnn._run(self.model, inputs, tuple(self._parts(layers)), batch_size)
        return np.concatenate(outs, axis=1)


class Mfcc(ClipModel):
    """The 120-value MFCC summary (:func:`course_utils.audio.features.mfcc_summary`), no network."""

    kind = "mfcc"
    variants = ("",)
    default_layers = "summary"

    def _load(self):
        pass  # no network

    def check_layers(self, layers):
        layers = super().check_layers(layers)
        if layers != "summary":
            raise ParameterError(f"layers {layers!r}: the MFCC baseline gives only 'summary'")
        return layers

    def feature_names(self, layers):
        names = []
        for part in ("mfcc", "delta", "delta2"):
            for stat in ("mean", "std"):
                names += [f"{part}_{stat}_{j:02d}" for j in range(audio.N_MFCC)]
        return names

    def window_seconds(self):
        return None

    def clip_windows(self, y, framing="cover", *, over_time=False):
        y = np.asarray(y, dtype=np.float32)
        if not over_time:
            return np.zeros(1), [y]
        starts, windows = frame_windows(y, int(MFCC_WINDOW_SECONDS * self.sr), axis=0)
        return starts / self.sr, list(windows)

    def run(self, inputs, layers, batch_size):
        return np.stack([audio.mfcc_summary(y, repeat_short=True) for y in inputs])


#: The kinds, by registry name.
KINDS = {cls.kind: cls for cls in (Choi2017, Musicnn, CourseTagger, Siamese, Mfcc)}
#: Other names accepted for a model: musicnn's checkpoints by their own names.
ALIASES = {name: f"musicnn:{name}" for name in Musicnn.variants}

_LOADED: dict = {}  # (kind, variant, data folder) -> a loaded ClipModel, shared in this process


def parse_model(spec: str) -> tuple[str, str]:
    """``(kind, variant)`` of a model spec such as ``"choi2017"``, ``"musicnn:MSD_musicnn"``, ``"course:full"``.

    Args:
        spec: a registry name, optionally ``:variant``; or an alias (``MSD_musicnn``).

    Returns:
        The kind and its variant (the kind's default when not given).

    Raises:
        CourseError: unknown kind or variant.
    """
    spec = ALIASES.get(str(spec), str(spec))
    kind, _, variant = spec.partition(":")
    if kind not in KINDS:
        raise ParameterError(f"unknown model {spec!r}; choose from {', '.join(KINDS)} (e.g. 'musicnn:MSD_musicnn')")
    cls = KINDS[kind]
    if cls.variants:
        variant = variant or cls.variants[0]
        if variant not in cls.variants:
            raise ParameterError(f"unknown {kind} variant {variant!r}; choose from {', '.join(v for v in cls.variants if v)}")
    elif not variant:
        variant = "mini"
    return kind, variant


def get_model(spec: str, *, load: bool = True) -> ClipModel:
    """The registry entry of a model spec, loaded once per process (see :func:`parse_model`).

    A course tagger whose file changed since it was loaded is loaded again.

    Args:
        spec: the model spec.
        load: load the network (else an unloaded entry, for its names and policy).

    Returns:
        A :class:`ClipModel`.
    """
    kind, variant = parse_model(spec)
    key = (kind, variant, str(paths.data_dir()))
    entry = _LOADED.get(key)
    if entry is not None and entry.weights_path is not None:
        if files.file_signature(entry.weights_path, missing_ok=True) != entry._signature:
            entry = None
    if entry is None:
        entry = KINDS[kind](variant)
        if not load:
            return entry
        entry.load()
        entry._signature = (files.file_signature(entry.weights_path, missing_ok=True)
                            if entry.weights_path is not None else None)
        _LOADED[key] = entry
    return entry
