"""The authors' pre-trained MSD convnet (Choi et al. 2017) on today's Keras: tag music, extract features.

Choi, Fazekas, Sandler and Cho released, with "Transfer learning for music classification and
regression tasks" (ISMIR 2017), a Keras 2 version of their convnet trained on the 50 top tags of
the Million Song Dataset (keunwoochoi/transfer_learning_music, ``keras2_model/model_best.hdf5``,
1.5 MB). This module reads that file with ``h5py`` (no Keras 2, no kapre) and rebuilds the network
as a Keras 3 model that takes **raw audio at 12 kHz**, shape ``(batch, 348000)`` (29 s):

- the kapre ``Melspectrogram`` front end, from the kernels stored in the file: two ``Conv1D``
  (``melgram_real``, ``melgram_imag``: the Hann-windowed DFT as 512 x 257 kernels, stride 256,
  ``same`` padding, no bias), their squared sum (``melgram_power``), the stored 257 x 96 mel
  filterbank as a bias-free ``Dense`` (``melgram_mel``), arranged as a ``(96, frames, 1)`` image;
- kapre's decibel step (``melgram_db``): ``10 log10(max(x, 1e-10))`` minus the clip's own
  maximum, floored at -80 dB;
- kapre's ``Normalization2D(str_axis='data_sample')`` (``normalization``): each clip's
  spectrogram standardised to mean 0 and standard deviation 1 (``(x - mean) / (std + 1e-10)``);
- five blocks ``block{i}_conv`` (3x3, 32 maps, with bias), ``block{i}_bn``, ``block{i}_elu``,
  ``block{i}_pool`` with pools (2,4), (3,4), (2,5), (2,4), (4,4), named like the course's own
  convnet (:func:`course_utils.models.convnet.block_output_names` finds them);
- ``global_max_pool`` and ``tags``: 50 sigmoid outputs, in the order of :data:`CHOI2017_TAGS`.

Because the decibel reference and the standardisation are per clip, the input level does not
matter and results do not depend on the batch.

Files are tagged and described through :class:`course_utils.features.clip_features.ClipFeatures`
(``ClipFeatures("choi2017")``): a file longer than 29 s is cut into consecutive 29 s windows (the
last one ends with the file, overlapping the one before); a shorter file is repeated until it
fills one window, so that no artificial silence enters the per-clip decibel reference and
standardisation (the authors padded with silence). Tag probabilities and features are averaged
over a file's windows.

The authors' older Keras 1 weights (music-auto_tagging-keras, ``compact_cnn/weights_tensorflow.hdf5``)
are not supported: that file stops at the flattened last block (no tag layer, so nothing to check
the loading against), and its batch normalisation (Keras 1 ``mode=2``) used each batch's own
statistics at prediction time, the batch dependence the Keras 2 release was made to remove.

Notebook 03 tags real music with it and sets its 160-value features beside the course's own.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from course_utils import audio
from course_utils.core import paths
from course_utils.core.errors import CourseError, DownloadError
from course_utils.fetch import remote


def _weights() -> remote.RemoteSet:
    """The registry record of the authors' weights (looked up at each call, so tests can swap it)."""
    return remote.get("choi2017_weights")

#: The 50 Million Song Dataset tags of the model's outputs, in output order (as listed in the
#: README of keunwoochoi/music-auto_tagging-keras; the file itself stores no tag names).
CHOI2017_TAGS = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
    "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists", "classic rock",
    "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s", "chill", "instrumental",
    "punk", "oldies", "blues", "hard rock", "ambient", "acoustic", "experimental", "female vocalist",
    "guitar", "Hip-Hop", "70s", "party", "country", "easy listening", "sexy", "catchy", "funk",
    "electro", "heavy metal", "Progressive rock", "60s", "rnb", "indie pop", "sad", "House", "happy",
)

#: Sample rate the model was trained at, in Hz.
SR = audio.SR
#: Length of one input window: 29 s at 12 kHz, as in the authors' training and feature code
#: (1360 spectrogram frames, which the five time pools 4 x 4 x 5 x 4 x 4 reduce to 1).
WINDOW_SECONDS = 29
WINDOW_SAMPLES = WINDOW_SECONDS * SR
#: kapre's decibel conversion: floor of the power, and the range kept below each clip's peak.
AMIN = 1e-10
DYNAMIC_RANGE_DB = 80.0
#: kapre ``Normalization2D``'s default epsilon (added to the standard deviation).
NORMALIZATION_EPS = 1e-10
#: The blocks of the network.
N_BLOCKS = 5

# The front end the rebuilt layers assume; a file with other settings is refused.
_EXPECTED_MELGRAM = {
    "n_dft": 512, "n_hop": 256, "padding": "same", "sr": SR, "n_mels": audio.N_MELS,
    "power_melgram": 2.0, "power_spectrogram": 2.0, "return_decibel_melgram": True,
    "return_decibel_spectrogram": False, "image_data_format": "channels_last",
}


# --------------------------------------------------------------------------- the file


def choi2017_path() -> Path:
    """Where the authors' model is kept in the data folder: ``data_dir()/models/choi2017_transfer_convnet_keras2.hdf5``.

    The place a download or a copy by hand goes; :func:`fetch_choi2017` also finds the file in the
    reference folder.

    Returns:
        The path (the file may not exist yet).
    """
    return _weights().dest() / _weights().files[0].name


def _how_to_get(dest: Path) -> str:
    """The instructions of every 'model missing' error: the URL, the place, or a path."""
    record = _weights().files[0]
    return (
        f"Download it by hand ({record.size:,} bytes) from\n  {record.url}\nand save it as\n  {dest}\n"
        "(or point COURSE_DATA_DIR at a data folder whose models/ holds it, or "
        f"{paths.REFERENCE_ENV} at a folder holding {_weights().reference[record.name]}), "
        "or pass the file's path: load_choi2017(path=...)."
    )


def fetch_choi2017(*, progress: bool = True) -> Path:
    """The authors' model file, found in the course's lookup order, downloaded (once, checksummed) if need be.

    Looked up (:func:`course_utils.fetch.download.locate`) at :func:`choi2017_path`, then at
    ``choi2017/models/transfer_convnet_keras2.hdf5`` of the reference folder (read in place), and
    downloaded to :func:`choi2017_path` otherwise.

    Args:
        progress: show a progress bar while downloading.

    Returns:
        The file's path, whose SHA-256 is the registry's (:mod:`course_utils.fetch.remote`, ``choi2017_weights``).

    Raises:
        DownloadError: the file is nowhere here and could not be downloaded (offline, the server
            failed, or the download has the wrong checksum); the message gives the URL and the path
            to place the file at.
    """
    dest = choi2017_path()
    try:
        found = _weights().locate(progress=progress)
    except DownloadError as exc:
        raise DownloadError(
            f"The pre-trained convnet of Choi et al. (2017) is not on this computer and could not be "
            f"downloaded ({exc}).\n{_how_to_get(dest)}"
        ) from None
    return found[dest.name]


def read_weights(path) -> dict[str, np.ndarray]:
    """Every weight tensor of a Keras 1 or 2 HDF5 model file, read with h5py.

    Args:
        path: an ``.hdf5`` file saved by Keras 1 or 2 (``model.save`` or ``save_weights``).

    Returns:
        ``{"layer/weight:0": array}`` for every weight of every layer, in the file's order
        (the optimizer's state is left out).

    Raises:
        CourseError: the file is missing or is not a Keras HDF5 file.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise CourseError(f"{path}: no such model file")
    out = {}
    try:
        with h5py.File(path, "r") as f:
            group = f["model_weights"] if "model_weights" in f else f
            for layer in _names(group.attrs["layer_names"]):
                for name in _names(group[layer].attrs.get("weight_names", [])):
                    out[name] = np.asarray(group[layer][name][()])
                    if out[name].dtype.kind not in "biuf":
                        raise CourseError(f"{path}: weight {name} holds {out[name].dtype} values, not numbers; "
                                          "the file is damaged: download it again")
    except (OSError, KeyError, TypeError) as exc:
        raise CourseError(f"{path}: not a Keras model file, or damaged ({exc}); download it again") from None
    return out


def read_model_config(path) -> dict | None:
    """The architecture stored with a Keras 2 model (its ``model_config`` JSON), if any.

    Args:
        path: a Keras HDF5 file.

    Returns:
        The parsed JSON, or ``None`` for a weights-only file.
    """
    import h5py

    try:
        with h5py.File(Path(path), "r") as f:
            raw = f.attrs.get("model_config")
    except OSError as exc:
        raise CourseError(f"{path}: not a Keras model file, or damaged ({exc}); download it again") from None
    if raw is None:
        return None
    try:
        return json.loads(raw.decode() if isinstance(raw, bytes) else raw)
    except (ValueError, TypeError, AttributeError) as exc:
        raise CourseError(f"{path}: its model_config is not valid JSON ({exc}); the file is damaged: download it again") from None


def _names(values) -> list[str]:
    """HDF5 string attributes (bytes or str) as a list of str."""
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def _stored_layers(config: dict) -> list[dict]:
    """The layer list of a Sequential model_config (Keras 2.0/2.1 list or 2.2 ``{"layers"}``)."""
    layers = config["config"]
    if isinstance(layers, dict):
        layers = layers["layers"]
    return [{"class_name": layer["class_name"], **layer["config"]} for layer in layers]


def _architecture(config: dict | None, path: Path) -> dict:
    """Check the stored front end and read the settings the rebuilt model needs."""
    if config is None:
        raise CourseError(f"{path}: holds no model_config; it is not the authors' Keras 2 model file")
    try:
        layers = _stored_layers(config)
    except (KeyError, TypeError, AttributeError):
        raise CourseError(f"{path}: its model_config lists no layers; not the authors' Keras 2 model file") from None
    by_class = {}
    for layer in layers:
        by_class.setdefault(layer["class_name"], []).append(layer)
    try:
        (mel,) = by_class["Melspectrogram"]
        (norm,) = by_class["Normalization2D"]
        (dense,) = by_class["Dense"]
        convs, bns = by_class["Conv2D"], by_class["BatchNormalization"]
        elus, pools = by_class["ELU"], by_class["MaxPooling2D"]
    except (KeyError, ValueError):
        raise CourseError(f"{path}: not the authors' transfer convnet (unexpected layers)") from None
    wrong = {k: mel.get(k) for k, v in _EXPECTED_MELGRAM.items() if mel.get(k) != v}
    if norm.get("str_axis") != "data_sample" or any(len(x) != N_BLOCKS for x in (convs, bns, elus, pools)):
        wrong["Normalization2D/blocks"] = (norm.get("str_axis"), len(convs))
    if wrong:
        raise CourseError(f"{path}: front end or blocks differ from the authors' model: {wrong}")
    return {
        "melgram": mel["name"], "fmin": mel.get("fmin"), "fmax": mel.get("fmax"),
        "conv": [c["name"] for c in convs], "filters": [int(c["filters"]) for c in convs],
        "bn": [b["name"] for b in bns], "bn_epsilon": [float(b["epsilon"]) for b in bns],
        "elu_alpha": [float(e["alpha"]) for e in elus],
        "pools": [tuple(int(v) for v in p["pool_size"]) for p in pools],
        "dense": dense["name"], "n_tags": int(dense["units"]),
    }


def weight_mapping(arch: dict) -> dict[str, list[tuple[str, object]]]:
    """Which stored tensors become which Keras 3 layer's weights, in that layer's order.

    Args:
        arch: the settings read from the file's model_config.

    Returns:
        ``{keras_layer_name: [(stored_name, transform or None), ...]}``. The kapre STFT kernels
        ``(512, 1, 1, 257)`` (a Conv2D over ``(samples, 1)``) lose their dummy width axis to
        become Conv1D kernels ``(512, 1, 257)``; everything else is stored as Keras 3 wants it
        (TensorFlow's ``(rows, cols, in, out)`` kernels, channels last; batch norm as gamma,
        beta, moving mean, moving variance).
    """
    mel = arch["melgram"]
    squeeze_width = lambda k: k[:, 0, :, :]  # noqa: E731
    mapping = {
        "melgram_real": [(f"{mel}/real_kernels:0", squeeze_width)],
        "melgram_imag": [(f"{mel}/imag_kernels:0", squeeze_width)],
        "melgram_mel": [(f"{mel}/Variable:0", None)],
    }
    for i, (conv, bn) in enumerate(zip(arch["conv"], arch["bn"]), start=1):
        mapping[f"block{i}_conv"] = [(f"{conv}/kernel:0", None), (f"{conv}/bias:0", None)]
        mapping[f"block{i}_bn"] = [(f"{bn}/{w}:0", None) for w in ("gamma", "beta", "moving_mean", "moving_variance")]
    mapping["tags"] = [(f"{arch['dense']}/kernel:0", None), (f"{arch['dense']}/bias:0", None)]
    return mapping


def _assign_weights(model, weights: dict[str, np.ndarray], mapping: dict, path: Path) -> None:
    """Set every mapped layer's weights, checking shapes and that no stored tensor is left over."""
    used = set()
    for layer_name, sources in mapping.items():
        layer = model.get_layer(layer_name)
        values = []
        for (stored, transform), target in zip(sources, layer.weights, strict=True):
            if stored not in weights:
                raise CourseError(f"{path}: has no weight {stored!r} (for layer {layer_name}); not the authors' model")
            value = weights[stored] if transform is None else transform(weights[stored])
            if tuple(value.shape) != tuple(target.shape):
                raise CourseError(f"{path}: {stored} has shape {value.shape}, layer {layer_name} needs {tuple(target.shape)}")
            values.append(value.astype(np.float32))
            used.add(stored)
        layer.set_weights(values)
    left = sorted(set(weights) - used)
    if left:
        raise CourseError(f"{path}: weights not mapped to any layer: {left}")


# --------------------------------------------------------------------------- the layers


@lru_cache(maxsize=1)
def _front_end_layers() -> dict:
    """The three kapre steps without a Keras 3 equivalent, as small serialisable layers."""
    import keras
    from keras import ops

    @keras.saving.register_keras_serializable(package="course_utils.models.choi2017")
    class PowerSpectrum(keras.layers.Layer):
        """``real**2 + imag**2`` of the STFT convolutions (kapre's power 2)."""

        def call(self, inputs):
            real, imag = inputs
            return ops.square(real) + ops.square(imag)

    @keras.saving.register_keras_serializable(package="course_utils.models.choi2017")
    class PerClipDecibel(keras.layers.Layer):
        """kapre's ``amplitude_to_decibel``: dB relative to each clip's own maximum, floored."""

        def __init__(self, amin=AMIN, dynamic_range=DYNAMIC_RANGE_DB, **kwargs):
            super().__init__(**kwargs)
            self.amin, self.dynamic_range = float(amin), float(dynamic_range)

        def call(self, x):
            db = 10.0 * ops.log(ops.maximum(x, self.amin)) / np.log(10.0)
            axes = tuple(range(1, len(x.shape)))
            db = db - ops.max(db, axis=axes, keepdims=True)
            return ops.maximum(db, -self.dynamic_range)

        def get_config(self):
            return {**super().get_config(), "amin": self.amin, "dynamic_range": self.dynamic_range}

    @keras.saving.register_keras_serializable(package="course_utils.models.choi2017")
    class PerClipStandardization(keras.layers.Layer):
        """kapre's ``Normalization2D(str_axis='data_sample')``: ``(x - mean) / (std + eps)`` per clip."""

        def __init__(self, eps=NORMALIZATION_EPS, **kwargs):
            super().__init__(**kwargs)
            self.eps = float(eps)

        def call(self, x):
            axes = tuple(range(1, len(x.shape)))
            mean = ops.mean(x, axis=axes, keepdims=True)
            std = ops.std(x, axis=axes, keepdims=True)
            return (x - mean) / (std + self.eps)

        def get_config(self):
            return {**super().get_config(), "eps": self.eps}

    return {"PowerSpectrum": PowerSpectrum, "PerClipDecibel": PerClipDecibel,
            "PerClipStandardization": PerClipStandardization}


def build_choi2017(arch: dict, window_samples: int | None = WINDOW_SAMPLES):
    """The network of the authors' file as Keras 3 layers, with untrained weights.

    Args:
        arch: the settings read from the file (pools, epsilons, names).
        window_samples: input length in samples, or ``None`` for any length (then the tags need
            at least 327,425 samples, 27.3 s: 1280 frames for the five time pools).

    Returns:
        An uncompiled ``keras.Model``: ``(batch, window_samples)`` audio in, ``(batch, 50)`` out.
    """
    import keras

    front = _front_end_layers()
    n_dft, n_hop, n_bins = _EXPECTED_MELGRAM["n_dft"], _EXPECTED_MELGRAM["n_hop"], _EXPECTED_MELGRAM["n_dft"] // 2 + 1
    n_mels = _EXPECTED_MELGRAM["n_mels"]
    inputs = keras.Input(shape=(window_samples,), name="audio")
    x = keras.layers.Reshape((-1, 1), name="melgram_samples")(inputs)
    stft = {part: keras.layers.Conv1D(n_bins, n_dft, strides=n_hop, padding="same", use_bias=False,
                                      trainable=False, name=f"melgram_{part}")(x) for part in ("real", "imag")}
    x = front["PowerSpectrum"](name="melgram_power")([stft["real"], stft["imag"]])  # (batch, frames, 257)
    x = keras.layers.Dense(n_mels, use_bias=False, trainable=False, name="melgram_mel")(x)  # (batch, frames, 96)
    x = keras.layers.Permute((2, 1), name="melgram_transpose")(x)
    x = keras.layers.Reshape((n_mels, -1, 1), name="melgram_image")(x)  # (batch, 96, frames, 1)
    x = front["PerClipDecibel"](name="melgram_db")(x)
    x = front["PerClipStandardization"](name="normalization")(x)
    for i in range(N_BLOCKS):
        b = i + 1
        x = keras.layers.Conv2D(arch["filters"][i], 3, padding="same", name=f"block{b}_conv")(x)
        x = keras.layers.BatchNormalization(epsilon=arch["bn_epsilon"][i], name=f"block{b}_bn")(x)
        x = keras.layers.ELU(alpha=arch["elu_alpha"][i], name=f"block{b}_elu")(x)
        x = keras.layers.MaxPooling2D(pool_size=arch["pools"][i], name=f"block{b}_pool")(x)
    x = keras.layers.GlobalMaxPooling2D(name="global_max_pool")(x)
    outputs = keras.layers.Dense(arch["n_tags"], activation="sigmoid", name="tags")(x)
    return keras.Model(inputs, outputs, name="choi2017_msd_convnet")


def load_choi2017(path=None, *, window_samples: int | None = WINDOW_SAMPLES, progress: bool = True):
    """The authors' pre-trained MSD tagger as a Keras 3 model, with their weights.

    Args:
        path: the authors' ``model_best.hdf5``; ``None`` for :func:`choi2017_path`, downloaded
            (checksummed) on first use.
        window_samples: input length (default 29 s at 12 kHz); ``None`` for any length.
        progress: show a progress bar if the file is downloaded.

    Returns:
        An uncompiled ``keras.Model`` taking raw mono audio at 12 kHz in [-1, 1],
        ``(batch, window_samples)``, and giving the 50 tag probabilities of :data:`CHOI2017_TAGS`.

    Raises:
        CourseError: the file is missing and cannot be downloaded (the message says where to get
            it and where to put it), or is not the authors' model (a weight is missing, left
            over or of the wrong shape).
    """
    if path is None:
        path = fetch_choi2017(progress=progress)
    path = Path(path)
    if not path.is_file():
        raise CourseError(f"{path}: no such file. The authors' model is at {_weights().files[0].url}.\n{_how_to_get(choi2017_path())}")
    weights = read_weights(path)
    arch = _architecture(read_model_config(path), path)
    model = build_choi2017(arch, window_samples)
    _assign_weights(model, weights, weight_mapping(arch), path)
    return model
