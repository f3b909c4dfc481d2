"""musicnn (Pons and Serra 2019) on Keras 3: tags, taggrams and features of music audio.

Jordi Pons and Xavier Serra released, with "musicnn: pre-trained convolutional neural networks
for music audio tagging" (ISMIR 2019 late-breaking demo), TensorFlow 1 checkpoints inside the
``musicnn==0.1.0`` wheel (29 MB, ISC licence, (c) Music Technology Group, Universitat Pompeu
Fabra). This module reads those checkpoints and rebuilds the networks as Keras 3 functional
models; it never installs musicnn or its requirements. The facts below come from the wheel's
``musicnn/models.py``, ``configuration.py``, ``extractor.py`` and each model's ``config.json``;
the code is this course's own.

**Front end** (numpy and librosa, :func:`log_mel`): mono audio at 16 kHz (decoded and resampled by
:func:`course_utils.audio.io.load_audio`, with soxr; musicnn's ``librosa.load`` of 2019 used
resampy); librosa's mel spectrogram with n_fft 512, hop 256, 96 bands (Slaney mel scale and norm,
power 2, centred frames padded by reflection, librosa's default until 0.9, which musicnn relied
on); the power stored as float16 (as musicnn
stored its training data), then ``log10(10000 x + 1)`` computed in float32. (The wheel's own
``10000 * x`` on the float16 array overflows to infinity under NumPy 2's casting rules and then
gives every clip the same tags; NumPy 1, in use in 2019, computed it in float32, as here.)
The network sees patches of 187 frames (2.992 s, musicnn's "3 seconds"), consecutive and not
overlapping, from the start of the file; as in musicnn, the frames after the last whole patch
(less than 3 s) are not used. **Short clips** (under 187 frames, about 3 s) are zero-padded to
one patch: ``0 = log10(1)`` is the value of digital silence. This is musicnn's own framing
(:func:`patches`, ``ClipFeatures(..., framing="musicnn")``); the course's window policy
(:mod:`course_utils.features.registry`, the default) repeats a short clip instead and adds a last
patch ending with the file.

**musicnn** (``MTT_musicnn``, ``MSD_musicnn``; :func:`build_musicnn`): batch norm on the input;
timbral filters 7 x 38 and 7 x 67 (time x mel bands, 204 maps each, ReLU, batch norm, max over
frequency, the input zero-padded by 3 frames each side) and temporal filters 128 x 1, 64 x 1,
32 x 1 (51 maps each, ``same`` padding, ReLU, batch norm, max over frequency): 561 values per
frame. Mid-end: three 1-D convolutions of 7 frames, 64 maps (ReLU, then batch norm), the second
and third with residual connections; the front end and the three outputs are concatenated (753
values per frame). Back end: max and mean over time (``max_pool``, ``mean_pool``, 753 each),
interleaved into 1506 values, batch norm, dropout 0.5, dense 200 + ReLU, batch norm
(``penultimate``, 200 values), dropout 0.5, dense 50, sigmoid. **vgg** (``MTT_vgg``, ``MSD_vgg``;
:func:`build_vgg`): input batch norm, five 3 x 3 convolutions of 128 maps (ReLU, batch norm,
max pooling 4x1 stride 2, then 2x2, 2x2, 2x2, 4x4; dropout 0.25 before convolutions 2 to 5),
flatten (256), dropout 0.5, dense 50, sigmoid. ``MSD_vgg`` was trained with other first two pools
(4x1 stride 4x1, then 1x4 stride 1x4), as its stored graph (``.meta``) shows; the wheel's
``models.py`` rebuilds it with MTT_vgg's pools, so musicnn's own MSD_vgg tags differ from the
trained network's (by up to 0.5 in probability). This port follows the stored graph. Batch norm
has epsilon 0.001 and uses the stored moving averages; the dropouts are inactive (musicnn's
``is_training`` is False when tagging).

The exact reference is the wheel's own TensorFlow graph (:mod:`musicnn_original`):
``tests/test_musicnn.py`` checks the Keras models against it (tags and the penultimate, max-pool
and mean-pool features, within 1e-4 or a relative 1e-5), and ``benchmarks/musicnn.py`` records
the largest differences.

Files are tagged, described and drawn as taggrams through
:class:`course_utils.features.clip_features.ClipFeatures` (``ClipFeatures("musicnn")``, ``course-utils tag
--model musicnn``); this module keeps the model-specific parts: the wheel, the networks, the front
end and the patches.

TensorFlow only for reading: the checkpoints are TensorFlow 1 files, read with
``tf.compat.v1.train.NewCheckpointReader`` (:func:`read_checkpoint`), so this module needs the
``tensorflow`` package whatever ``KERAS_BACKEND`` is; the rebuilt networks themselves are Keras 3
models.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import tempfile
import weakref
import zipfile
from pathlib import Path

import numpy as np

from course_utils.core import files, paths
from course_utils.core.errors import CourseError, DownloadError, ParameterError
from course_utils.fetch import remote
from course_utils.models.choi2017 import CHOI2017_TAGS

logger = logging.getLogger(__name__)

#: The wheel that holds the checkpoints, and its SHA-256 (29,292,476 bytes).
WHEEL_REQUIREMENT = "musicnn==0.1.0"
WHEEL_FILENAME = remote.get("musicnn_wheel").files[0].name
WHEEL_SHA256 = remote.get("musicnn_wheel").files[0].sha256
#: The models in the wheel (``MSD_musicnn_big`` is not in it).
MODELS = ("MTT_musicnn", "MSD_musicnn", "MTT_vgg", "MSD_vgg")
#: The front end (musicnn's ``configuration.py``).
SR, N_FFT, HOP_LENGTH, N_MELS = 16000, 512, 256, 96
#: Frames per patch, and the seconds one patch spans (187 x 256 / 16000 = 2.992 s).
PATCH_FRAMES = 187
PATCH_SECONDS = PATCH_FRAMES * HOP_LENGTH / SR
#: Patches per forward pass (musicnn's too): on a 2-core CPU a batch of 10 patches was only about
#: 10 % faster and took about 0.4 GB more memory.
BATCH_SIZE = 1
#: Feature layers of the musicnn models, with their widths.
LAYER_WIDTHS = {"penultimate": 200, "max_pool": 753, "mean_pool": 753}
#: The 50 MagnaTagAtune tags of the MTT models, in output order (musicnn's ``MTT_LABELS``).
MTT_TAGS = (
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast", "piano",
    "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male", "singing",
    "vocals", "no vocals", "harpsichord", "loud", "quiet", "flute", "woman", "male vocal", "no vocal",
    "pop", "soft", "sitar", "solo", "man", "classic", "choir", "voice", "new age", "dance",
    "male voice", "female vocal", "beats", "harp", "cello", "no voice", "weird", "country", "metal",
    "female voice", "choral",
)
#: The 50 Million Song Dataset tags of the MSD models: the same list as Choi et al.'s.
MSD_TAGS = CHOI2017_TAGS


def tags_of(model) -> tuple[str, ...]:
    """The tag names of a model from :func:`load_musicnn` (named after its checkpoint)."""
    return MTT_TAGS if model.name.startswith("MTT") else MSD_TAGS


def _check_name(name: str) -> str:
    if name not in MODELS:
        raise ParameterError(f"unknown musicnn model {name!r}; choose from {', '.join(MODELS)}")
    return name


# --------------------------------------------------------------------------- the wheel


def wheel_path() -> Path:
    """Where the wheel is kept: ``data_dir()/models/musicnn-0.1.0-py3-none-any.whl``."""
    return paths.data_path("models") / WHEEL_FILENAME


def checkpoint_dir(name: str = "MTT_musicnn") -> Path:
    """The cache folder of one model's checkpoint files: ``data_dir()/models/musicnn-0.1.0/<name>``."""
    return paths.data_path("models") / "musicnn-0.1.0" / _check_name(name)


def _reference_wheels() -> list[Path]:
    """Where a copy of the wheel may lie in the reference folder (:func:`course_utils.core.paths.reference_dir`:
    ``$COURSE_REFERENCE_DIR``, else ``../shared/reference`` beside the checkout), or its ``musicnn/``."""
    ref = paths.reference_dir()
    if ref is None:
        return []
    return [ref / WHEEL_FILENAME, ref / "musicnn" / WHEEL_FILENAME]


def _pip_download(folder: Path) -> Path:
    """``pip download musicnn==0.1.0 --no-deps --only-binary=:all:`` into ``folder``: the wheel."""
    cmd = [sys.executable, "-m", "pip", "download", WHEEL_REQUIREMENT, "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-q", "-d", str(folder)]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DownloadError(f"pip could not run ({exc})") from None
    wheel = folder / WHEEL_FILENAME
    if run.returncode != 0 or not wheel.is_file():
        lines = [line.strip() for line in (run.stderr or run.stdout or "").splitlines() if line.strip()]
        raise DownloadError(f"pip download {WHEEL_REQUIREMENT} failed ({lines[-1] if lines else 'no output'})")
    return wheel


def fetch_wheel() -> Path:
    """The musicnn 0.1.0 wheel in the data folder, checked against :data:`WHEEL_SHA256`.

    Looked for in the course's one lookup order: ``data_dir()/models/``; the reference folder
    (``$COURSE_REFERENCE_DIR``, else ``../shared/reference`` beside the checkout), or its
    ``musicnn/`` folder; the package index, with ``pip download`` (the wheel only, never
    installed), unless ``COURSE_OFFLINE`` is set. A copy from elsewhere is checked and copied into
    ``data_dir()/models/`` atomically (:func:`course_utils.fetch.download.download`); a copy with the
    wrong SHA-256 is refused and not kept. A wrong copy already in the data folder (placed by
    hand, truncated) is kept as ``NAME.bad``, never deleted, and the wheel fetched again.

    Returns:
        :func:`wheel_path`.

    Raises:
        DownloadError: pip failed (offline) or a copy had the wrong checksum; one line that says
            where to place the wheel by hand.
    """
    from course_utils.fetch import download
    from course_utils.fetch.checksums import digest_like
    from course_utils.fetch.guards import set_aside

    dest = wheel_path()
    if dest.is_file():
        if digest_like(dest, WHEEL_SHA256) == WHEEL_SHA256:
            return dest
        bad = set_aside(dest)
        logger.warning("%s has the wrong SHA-256: kept as %s, fetching the wheel again", dest, bad.name)
    by_hand = f"place {WHEEL_FILENAME} (sha256 {WHEEL_SHA256}) in {dest.parent} by hand"
    try:
        for candidate in _reference_wheels():
            if candidate.is_file():
                if digest_like(candidate, WHEEL_SHA256) != WHEEL_SHA256:
                    logger.warning("%s: reference copy with the wrong SHA-256, not used", candidate)
                    continue
                return download.download(candidate.resolve().as_uri(), dest, WHEEL_SHA256, progress=False)
        if paths.offline():
            raise DownloadError(f"not downloaded with pip, {paths.OFFLINE_ENV} is set (offline mode); unset it, "
                                "or put the wheel in the reference folder ($COURSE_REFERENCE_DIR)")
        dest.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".musicnn-pip-") as tmp:
            got = _pip_download(Path(tmp))
            return download.download(got.as_uri(), dest, WHEEL_SHA256, progress=False)
    except DownloadError as exc:
        raise DownloadError(f"musicnn's checkpoints are not available: {exc} ({by_hand})") from None


#: The checkpoint members of one model in the wheel, and the record of what was unpacked.
_MEMBERS = (".index", ".data-00000-of-00001", "config.json")
_UNPACKED = "unpacked.json"


def _unpacked_intact(folder: Path) -> bool:
    """Whether an unpacked checkpoint holds exactly the bytes unpacked from the wheel (sizes and
    SHA-256 recorded in ``unpacked.json`` when it was unpacked)."""
    import hashlib

    try:
        record = json.loads((folder / _UNPACKED).read_text())
        for member in _MEMBERS:
            data = (folder / member).read_bytes()
            if len(data) != record[member]["size"] or hashlib.sha256(data).hexdigest() != record[member]["sha256"]:
                return False
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return True


def checkpoint_files(name: str = "MTT_musicnn") -> Path:
    """One model's checkpoint (``.index``, ``.data-00000-of-00001``, ``config.json``), unpacked once.

    Read straight out of the wheel (:func:`fetch_wheel`) into :func:`checkpoint_dir`, which
    appears atomically (complete or not at all), with the size and SHA-256 of each file. An
    unpacked folder is checked against that record on each use; a damaged one (truncated,
    zeroed, a bad ``config.json``) is unpacked again from the wheel.

    Returns:
        The folder; ``str(folder) + "/"`` is the checkpoint prefix TensorFlow reads.
    """
    import hashlib

    folder = checkpoint_dir(name)
    if folder.is_dir() and _unpacked_intact(folder):
        return folder
    if folder.is_dir():
        logger.warning("%s: its files differ from the wheel's: unpacking them again", folder)
    wheel = fetch_wheel()
    tmp = files.temp_path_for(folder, keep_suffix=False)
    tmp.mkdir(parents=True)
    try:
        record = {}
        with zipfile.ZipFile(wheel) as z:
            for member in _MEMBERS:
                data = z.read(f"musicnn/{name}/{member}")
                (tmp / member).write_bytes(data)
                record[member] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        (tmp / _UNPACKED).write_text(json.dumps(record, indent=1))
        files.replace_folder(tmp, folder)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise CourseError(f"{wheel}: not the musicnn 0.1.0 wheel ({exc}); delete it and run again") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def read_checkpoint(name: str = "MTT_musicnn") -> dict[str, np.ndarray]:
    """The trained variables of one model (the optimizer's Adam slots and powers left out).

    Returns:
        ``{"conv2d/kernel": array, ...}``: 64 tensors for musicnn, 36 for vgg.
    """
    import tensorflow as tf

    folder = checkpoint_files(name)
    config = json.loads((folder / "config.json").read_text())
    rep = config.get("audio_rep", {})
    facts = (config.get("n_frames"), config.get("yInput"), rep.get("resample_sr"), rep.get("n_fft"), rep.get("hop"))
    if facts != (PATCH_FRAMES, N_MELS, SR, N_FFT, HOP_LENGTH):
        raise CourseError(f"{folder}: front end {facts} is not musicnn's; delete the folder and run again")
    try:
        reader = tf.compat.v1.train.NewCheckpointReader(str(folder) + "/")
    except Exception as exc:  # noqa: BLE001  (TensorFlow raises several kinds)
        raise CourseError(f"{folder}: unreadable checkpoint ({exc}); delete the folder and run again") from None
    names = [v for v in reader.get_variable_to_shape_map() if "Adam" not in v and not v.endswith("_power")]
    return {v: reader.get_tensor(v) for v in names}


# --------------------------------------------------------------------------- the networks


def _bn(name):
    import keras

    return keras.layers.BatchNormalization(epsilon=1e-3, name=name)


def build_musicnn(name: str = "MTT_musicnn", n_tags: int = 50):
    """The musicnn network as a Keras 3 functional model with untrained weights.

    Returns:
        ``(batch, 187, 96)`` log-mel patches in, ``(batch, n_tags)`` probabilities out; the layers
        ``penultimate``, ``max_pool`` and ``mean_pool`` give the features.
    """
    import keras
    from keras import layers

    inputs = keras.Input((PATCH_FRAMES, N_MELS), name="log_mel")
    x = _bn("input_bn")(layers.Reshape((PATCH_FRAMES, N_MELS, 1), name="channel")(inputs))
    padded = layers.ZeroPadding2D(((3, 3), (0, 0)), name="timbral_pad")(x)
    front = []
    for source, kernel, maps in ((padded, (7, 38), 204), (padded, (7, 67), 204),
                                 (x, (128, 1), 51), (x, (64, 1), 51), (x, (32, 1), 51)):
        tag = f"timbral_{kernel[1]}" if kernel[0] == 7 else f"temporal_{kernel[0]}"
        y = layers.Conv2D(maps, kernel, padding="valid" if source is padded else "same", activation="relu",
                          name=tag)(source)
        y = _bn(f"{tag}_bn")(y)
        y = layers.MaxPooling2D((1, y.shape[2]), name=f"{tag}_pool")(y)
        front.append(layers.Reshape((PATCH_FRAMES, maps), name=f"{tag}_squeeze")(y))
    frontend = layers.Concatenate(name="frontend")(front)  # (batch, 187, 561)
    mid = [frontend]
    for i in (1, 2, 3):
        y = layers.Conv1D(64, 7, padding="same", activation="relu", name=f"midend_{i}")(mid[-1])
        y = _bn(f"midend_{i}_bn")(y)
        mid.append(y if i == 1 else layers.Add(name=f"midend_{i}_residual")([y, mid[-1]]))
    dense = layers.Concatenate(name="midend")(mid)  # (batch, 187, 753)
    pools = [layers.GlobalMaxPooling1D(name="max_pool")(dense), layers.GlobalAveragePooling1D(name="mean_pool")(dense)]
    pools = [layers.Reshape((-1, 1), name=f"{kind}_column")(p) for kind, p in zip(("max_pool", "mean_pool"), pools)]
    x = layers.Flatten(name="pooled")(layers.Concatenate(name="max_mean")(pools))  # max0, mean0, max1, ...
    x = layers.Dropout(0.5, name="pooled_dropout")(_bn("pooled_bn")(x))
    x = _bn("penultimate")(layers.Dense(200, activation="relu", name="dense")(x))
    x = layers.Dense(n_tags, name="logits")(layers.Dropout(0.5, name="penultimate_dropout")(x))
    return keras.Model(inputs, layers.Activation("sigmoid", name="tags")(x), name=name)


def build_vgg(name: str = "MTT_vgg", n_tags: int = 50):
    """The vgg baseline of the wheel as a Keras 3 functional model with untrained weights."""
    import keras
    from keras import layers

    inputs = keras.Input((PATCH_FRAMES, N_MELS), name="log_mel")
    x = _bn("input_bn")(layers.Reshape((PATCH_FRAMES, N_MELS, 1), name="channel")(inputs))
    first = [((4, 1), (4, 1)), ((1, 4), (1, 4))] if name.startswith("MSD") else [((4, 1), (2, 2)), ((2, 2), (2, 2))]
    for i, (pool, stride) in enumerate(first + [((2, 2), (2, 2)), ((2, 2), (2, 2)), ((4, 4), (4, 4))], start=1):
        if i > 1:
            x = layers.Dropout(0.25, name=f"conv{i}_dropout")(x)
        x = layers.Conv2D(128, 3, padding="same", activation="relu", name=f"conv{i}")(x)
        x = layers.MaxPooling2D(pool, stride, name=f"pool{i}")(_bn(f"conv{i}_bn")(x))
    x = layers.Dropout(0.5, name="flat_dropout")(layers.Flatten(name="flat")(x))
    x = layers.Dense(n_tags, name="logits")(x)
    return keras.Model(inputs, layers.Activation("sigmoid", name="tags")(x), name=name)


def weight_mapping(name: str) -> dict[str, list[str]]:
    """Which checkpoint variables become which Keras layer's weights, in the layer's order.

    TensorFlow 1 named layers by creation order (``conv2d``, ``conv2d_1``, ...); musicnn creates
    them as listed in this module's docstring. Batch norms give gamma, beta, moving mean and
    moving variance; convolutions and dense layers kernel and bias.
    """
    bn = lambda i: [f"batch_normalization{'_' + str(i) if i else ''}/{w}"  # noqa: E731
                    for w in ("gamma", "beta", "moving_mean", "moving_variance")]
    if "vgg" in _check_name(name):
        mapping = {"input_bn": bn(0), "logits": ["dense/kernel", "dense/bias"]}
        for i in range(1, 6):
            mapping[f"conv{i}"], mapping[f"conv{i}_bn"] = [f"{i}CNN/kernel", f"{i}CNN/bias"], bn(i)
        return mapping
    convs = ["timbral_38", "timbral_67", "temporal_128", "temporal_64", "temporal_32",
             "midend_1", "midend_2", "midend_3"]
    mapping = {"input_bn": bn(0)}
    for i, layer in enumerate(convs):
        mapping[layer] = [f"conv2d{'_' + str(i) if i else ''}/kernel", f"conv2d{'_' + str(i) if i else ''}/bias"]
        mapping[f"{layer}_bn"] = bn(i + 1)
    mapping.update({"pooled_bn": bn(9), "dense": ["dense/kernel", "dense/bias"], "penultimate": bn(10),
                    "logits": ["dense_1/kernel", "dense_1/bias"]})
    return mapping


def load_musicnn(name: str = "MTT_musicnn"):
    """A musicnn model as a Keras 3 model with the authors' trained weights.

    Args:
        name: ``MTT_musicnn`` (MagnaTagAtune tags), ``MSD_musicnn`` (Million Song Dataset tags),
            ``MTT_vgg`` or ``MSD_vgg``.

    Returns:
        An uncompiled ``keras.Model`` named ``name``: ``(batch, 187, 96)`` patches of
        :func:`log_mel` in, ``(batch, 50)`` probabilities of :func:`tags_of` out.

    Raises:
        CourseError: unknown name, the wheel cannot be had (see :func:`fetch_wheel`), or the
            checkpoint does not fit the network (a variable missing, left over or misshapen).
    """
    stored = read_checkpoint(_check_name(name))
    model = (build_vgg if "vgg" in name else build_musicnn)(name)
    used = set()
    for layer_name, sources in weight_mapping(name).items():
        layer = model.get_layer(layer_name)
        values = []
        for source, weight in zip(sources, layer.weights, strict=True):
            if source not in stored:
                raise CourseError(f"{name}: the checkpoint has no variable {source!r}")
            value = stored[source]
            if value.ndim == 4 and len(weight.shape) == 3:  # a 2-D convolution over (frames, values, 1): Conv1D
                value = value[:, :, 0, :]
            if tuple(value.shape) != tuple(weight.shape):
                raise CourseError(f"{name}: {source} has shape {stored[source].shape}, {layer_name} needs {weight.shape}")
            values.append(value.astype(np.float32))
            used.add(source)
        layer.set_weights(values)
    if set(stored) - used:
        raise CourseError(f"{name}: checkpoint variables not mapped to any layer: {sorted(set(stored) - used)}")
    return model


# --------------------------------------------------------------------------- audio in, tags out


def log_mel(y: np.ndarray) -> np.ndarray:
    """musicnn's input representation of a 16 kHz signal: ``log10(10000 mel + 1)``, ``(frames, 96)``."""
    import librosa

    mel = librosa.feature.melspectrogram(y=np.asarray(y, dtype=np.float32), sr=SR, n_fft=N_FFT,
                                         hop_length=HOP_LENGTH, n_mels=N_MELS, pad_mode="reflect")
    power = mel.T.astype(np.float16).astype(np.float32)
    return np.log10(10000.0 * power + 1.0).astype(np.float32)


def patches(rep: np.ndarray) -> np.ndarray:
    """Consecutive 187-frame patches of a :func:`log_mel` ``(frames, 96)``; a short one zero-padded."""
    rep = np.asarray(rep, dtype=np.float32)
    if len(rep) < PATCH_FRAMES:
        rep = np.pad(rep, ((0, PATCH_FRAMES - len(rep)), (0, 0)))
    k = len(rep) // PATCH_FRAMES
    return rep[: k * PATCH_FRAMES].reshape(k, PATCH_FRAMES, N_MELS)


_PROBES = weakref.WeakKeyDictionary()  # model -> {outputs: a model giving those layers' outputs}


def _run(model, x: np.ndarray, outputs=("tags",), batch_size: int = BATCH_SIZE) -> list[np.ndarray]:
    """The named layers' outputs for a stack of patches, batch by batch.

    Through ``predict_on_batch`` (a compiled graph, about 2.5 times faster than eager calls on a
    CPU), with one cached probe model per model and outputs, so that nothing is traced again.
    """
    import keras

    probes = _PROBES.setdefault(model, {})
    if tuple(outputs) not in probes:
        probes[tuple(outputs)] = keras.Model(model.input, [model.get_layer(n).output for n in outputs])
    probe, parts = probes[tuple(outputs)], []
    for start in range(0, len(x), max(1, int(batch_size))):
        out = probe.predict_on_batch(np.asarray(x[start:start + batch_size], dtype=np.float32))
        parts.append(out if isinstance(out, (list, tuple)) else [out])
    return [np.concatenate([np.asarray(p[i]) for p in parts]) for i in range(len(outputs))]
