"""The convnet of the course: Choi et al.'s compact convnet auto-tagger.

The *compact convnet* is the source network of Choi, Fazekas, Sandler and Cho (2017), "Transfer
learning for music classification and regression tasks": five blocks of a 3x3 convolution with
32 feature maps, batch normalisation, ELU and max pooling that shrink a 96-band log-mel
spectrogram to a single 1x1 position, then one sigmoid output per tag (the 50 top tags of
MagnaTagAtune). Notebook 02 trains it; notebook 03 reads the outputs of its five ELU layers to
build the 5 x 32 = 160-value transfer feature.

Design points the notebooks rely on:

- **Raw log-mel in.** The model starts with a fixed affine layer, ``(x + 40) / 20``
  (``input_scaling``), so it takes :func:`course_utils.audio.features.log_mel` output in dB as is: the
  typical range of music, about -100 to +20 dB, becomes about -3 to +3. It is fixed, not
  learnt, so it is identical in training and inference and independent of the dataset;
  loudness differences between clips survive (the loudness tags need them).
- **Any length from 32 frames.** :func:`pool_sizes` derives the five max-pool sizes from the
  input size; the fifth pool always covers whatever is left, so the last block's output is
  1 x 1 for every input size. A model is built for one input length; to score longer clips,
  :func:`course_utils.models.training.predict_clips` averages the predictions of consecutive crops.
- **Reproducible.** :func:`set_seed` makes initial weights and training repeatable.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np

from course_utils.audio.features import N_MELS
from course_utils.core import paths
from course_utils.core.errors import CourseError, ParameterError

#: Max-pool sizes of the original compact convnet for 96 mel bands: (2, 3, 2, 2, 4) x (4, 4, 5, 4, 4)
#: reduce a 96 x 1360 spectrogram (29 s at 12 kHz) to 1 x 1.
DEFAULT_FREQ_POOLS = (2, 3, 2, 2, 4)
DEFAULT_TIME_POOLS = (4, 4, 5, 4, 4)
#: Every pool halves the size at least, so five blocks need at least 2**5 = 32 bands and frames.
MIN_POOL = 2
#: The course tagger's two variants: clip and crop lengths and training settings (``"mini"``,
#: ``"full"``), read by :mod:`course_utils.models.training`. Notebook 01.
CONFIGS = {
    # Sized for a slow laptop CPU (issue 18): 6 epochs of 960 crops of 128 frames (2.7 s) cost
    # about as much as 3,500 crops of 256 frames, under 3 minutes at the 25 clips/s measured on
    # the slowest host tried; validation ROC-AUC is about 0.9 after 6 epochs (benchmarks/).
    "mini": dict(duration=8.0, crop_frames=128, batch_size=16, epochs=6, patience=3, learning_rate=2e-3),
    "full": dict(duration=29.1, crop_frames=1360, batch_size=16, epochs=100, patience=10, learning_rate=1e-3),
}

#: The fixed input scaling: ``(x_dB - INPUT_OFFSET_DB) / INPUT_SCALE_DB``.
INPUT_OFFSET_DB = -40.0
INPUT_SCALE_DB = 20.0


def _pools_along(size: int, preferred, axis_name: str) -> list[int]:
    """Pool sizes along one axis: the preferred ones, made smaller where the axis is too short.

    Greedy: each block but the last takes the largest pool up to its preferred size that leaves
    at least ``MIN_POOL`` for every block after it; the last block pools whatever remains (so the
    axis ends at exactly 1).
    """
    n_blocks = len(preferred)
    minimum = MIN_POOL ** n_blocks
    if size < minimum:
        raise ParameterError(
            f"input has {size} {axis_name}, at least {minimum} needed for {n_blocks} pooling blocks "
            f"(each pool is at least {MIN_POOL}); use longer clips or crops"
        )
    pools = []
    remaining = int(size)
    for i, want in enumerate(preferred):
        blocks_after = n_blocks - i - 1
        if blocks_after == 0:
            pools.append(remaining)
            break
        need_after = MIN_POOL**blocks_after
        p = int(want)
        while p > MIN_POOL and remaining // p < need_after:
            p -= 1
        pools.append(p)
        remaining //= p
    return pools


def pool_sizes(n_mels: int = N_MELS, n_frames: int = 1360) -> list[tuple[int, int]]:
    """The five (frequency, time) max-pool sizes of the compact convnet for an input size.

    For 96 bands and 1360 frames these are Choi et al.'s (2,4), (3,4), (2,5), (2,4), (4,4). For
    other sizes each block keeps its original pool where the input is large enough and a smaller
    one (at least 2) where not; the fifth pool covers whatever remains, so block 5's output is
    always 1 x 1 (a global max pool in effect).

    Args:
        n_mels: number of mel bands, at least 32.
        n_frames: number of spectrogram frames, at least 32 (0.68 s at 12 kHz, hop 256).

    Returns:
        Five ``(frequency pool, time pool)`` tuples.

    Raises:
        ValueError: ``n_mels`` or ``n_frames`` is below 32.
    """
    freq = _pools_along(n_mels, DEFAULT_FREQ_POOLS, "mel bands")
    time = _pools_along(n_frames, DEFAULT_TIME_POOLS, "frames")
    return list(zip(freq, time))


def _input_scaling():
    """The fixed ``(x + 40) / 20`` layer that turns dB into values of order 1."""
    import keras

    return keras.layers.Rescaling(
        scale=1.0 / INPUT_SCALE_DB, offset=-INPUT_OFFSET_DB / INPUT_SCALE_DB, name="input_scaling"
    )


def _conv_block(x, index: int, n_filters: int, pool: tuple[int, int]):
    """One block: 3x3 convolution, batch normalisation, ELU, max pooling, named ``block{index}_*``."""
    import keras

    x = keras.layers.Conv2D(n_filters, 3, padding="same", use_bias=False, name=f"block{index}_conv")(x)
    x = keras.layers.BatchNormalization(name=f"block{index}_bn")(x)
    x = keras.layers.ELU(name=f"block{index}_elu")(x)
    return keras.layers.MaxPooling2D(pool_size=pool, name=f"block{index}_pool")(x)


def compact_convnet(
    n_mels: int = N_MELS,
    n_frames: int = 1360,
    n_tags: int = 50,
    n_filters: int = 32,
    pools=None,
    dropout: float = 0.1,
    name: str = "compact_convnet",
):
    """Choi et al.'s compact convnet auto-tagger, the source network of notebooks 02 and 03.

    Input: a log-mel spectrogram in dB, shape ``(n_mels, n_frames, 1)``, exactly as
    :func:`course_utils.audio.features.log_mel` returns it (with a channel axis); the layer
    ``input_scaling`` maps it to ``(x + 40) / 20``. Then five blocks
    ``block{i}_conv`` (3x3, ``same``, no bias: batch norm's offset plays its role),
    ``block{i}_bn``, ``block{i}_elu`` and ``block{i}_pool``, a ``flatten`` of the 1 x 1 x 32
    result, ``dropout`` and the ``tags`` layer: ``n_tags`` sigmoid outputs. About 38,000
    weights plus ``33 * n_tags`` for the output layer.

    Args:
        n_mels: number of mel bands (at least 32).
        n_frames: number of frames of the clips or crops the model sees (at least 32).
        n_tags: number of tags (outputs).
        n_filters: feature maps per convolution (32 in the paper).
        pools: five ``(frequency, time)`` pool sizes; ``None`` for :func:`pool_sizes`.
            Custom pools must reduce the input to 1 x 1.
        dropout: dropout rate before the output layer (0 for none).
        name: the model's name.

    Returns:
        An uncompiled ``keras.Model`` with output shape ``(batch, n_tags)``.

    Raises:
        ValueError: the input is smaller than 32 x 32, or custom pools do not end at 1 x 1.
    """
    import keras

    if pools is None:
        pools = pool_sizes(n_mels, n_frames)
    pools = [tuple(int(v) for v in p) for p in pools]
    if len(pools) != 5:
        raise ParameterError(f"the compact convnet has 5 blocks, got {len(pools)} pool sizes")
    f, t = int(n_mels), int(n_frames)
    for pf, pt in pools:
        f, t = f // pf, t // pt
    if (f, t) != (1, 1):
        raise ParameterError(
            f"pools {pools} reduce a {n_mels} x {n_frames} input to {f} x {t}, not 1 x 1; "
            "pass pools=None to derive them from the input size"
        )
    inputs = keras.Input(shape=(n_mels, n_frames, 1), name="logmel")
    x = _input_scaling()(inputs)
    for i, pool in enumerate(pools, start=1):
        x = _conv_block(x, i, n_filters, pool)
    x = keras.layers.Flatten(name="flatten")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = keras.layers.Dense(n_tags, activation="sigmoid", name="tags")(x)
    return keras.Model(inputs, outputs, name=name)


def block_output_names(model) -> list[str]:
    """Names of the ELU layers that end each convolutional block, in order.

    Notebook 03 builds its feature extractor from them: the global average of each output,
    5 x 32 = 160 values for the compact convnet.

    Args:
        model: a model from :func:`compact_convnet` (or loaded with
            :func:`load_model`).

    Returns:
        ``["block1_elu", ..., "block5_elu"]``.

    Raises:
        ValueError: the model has no ``block{i}_elu`` layers.
    """
    pattern = re.compile(r"^block(\d+)_elu$")
    found = sorted(
        (int(m.group(1)), layer.name) for layer in model.layers if (m := pattern.match(layer.name))
    )
    if not found:
        raise ParameterError(f"model '{model.name}' has no layers named block<i>_elu; build it with compact_convnet()")
    return [name for _, name in found]


def set_seed(seed: int = 0) -> None:
    """Make weight initialisation, dropout, shuffling and TensorFlow ops repeatable.

    Seeds Python's ``random``, NumPy's global generator and Keras (which seeds its backend), and,
    under the TensorFlow backend, turns on TensorFlow's op determinism so that two runs on the
    same machine give the same numbers (notebooks compare rounded outputs under nbval). Call it
    before building a model. Notebooks 02 to 05.

    Op determinism is a TensorFlow feature (``tf.config.experimental.enable_op_determinism``):
    under JAX or PyTorch (``KERAS_BACKEND``) only the seeds are set, so training runs but is not
    guaranteed to repeat bit for bit, and the notebooks' stored outputs are TensorFlow's.

    It also runs ``tf.data`` pipelines synchronously (``tf.data.experimental.enable_debug_mode``):
    ``model.fit`` feeds a ``keras.utils.PyDataset`` through ``tf.data`` with an autotuned prefetch,
    and on one CPU core (Binder's share) the autotuner's thread stalled training for about 5 s at
    some epoch boundaries (TensorFlow 2.21: 15 s of a 37 s four-epoch fit of notebook 02's
    tagger; the same weights without it). The course's batches are cheap to cut, so nothing is
    lost on a CPU; on a GPU the batch is no longer prepared while the previous one trains.

    Cost: both settings stay on for the rest of the process; ops without a deterministic
    kernel raise an error instead of running, and Keras no longer compiles with XLA. On 2 CPU
    cores training the compact convnet was no slower with op determinism (measured); on a GPU it
    can be noticeably slower. Results still differ in the last digits between machines (CPU
    instruction sets, oneDNN kernels, thread counts), so compare rounded values.

    Args:
        seed: the seed.
    """
    import keras

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
        tf.data.experimental.enable_debug_mode()


def default_model_path(variant: str = "mini") -> Path:
    """Where notebook 02 saves, and notebook 03 loads, the trained compact convnet.

    Args:
        variant: which training run: ``"mini"`` (the synthetic MagnaTagAtune) or e.g. ``"full"``.

    Returns:
        ``data_dir() / "models" / f"compact_convnet_{variant}.keras"`` (the folder is not created).
    """
    return paths.data_path("models") / f"compact_convnet_{variant}.keras"


def save_model(model, path) -> Path:
    """Save a model in Keras' native ``.keras`` format, atomically.

    The model is written to a temporary ``.keras`` file in the same folder, then renamed over
    ``path``: an interrupted save never leaves a half-written model behind.

    Args:
        model: a ``keras.Model``.
        path: the destination; must end in ``.keras``. Missing folders are created.

    Returns:
        The destination path.

    Raises:
        ValueError: the path does not end in ``.keras``.
    """
    import keras

    path = Path(path)
    if path.suffix != ".keras":
        raise ParameterError(f"{path}: a model file must end in .keras (Keras' native format)")
    from course_utils.core.files import atomic_write

    with atomic_write(path) as tmp:  # the temporary name keeps the .keras suffix Keras wants
        keras.saving.save_model(model, tmp)
    return path


def load_model(path, *, compile: bool = True):
    """Load a model saved by :func:`save_model` (or by ``ModelCheckpoint``).

    Args:
        path: a ``.keras`` file.
        compile: restore the optimizer and loss too (needed only to go on training).

    Returns:
        The ``keras.Model``.

    Raises:
        CourseError: the file does not exist (train and save the model in notebook 02 first), is
            not a ``.keras`` file, or is damaged or incomplete.
    """
    import zipfile

    import keras

    path = Path(path)
    if not path.is_file():
        raise CourseError(f"{path}: model file not found (run notebook 02 to train and save the model first)")
    if path.suffix != ".keras":
        other = " (the authors' HDF5 model loads with --model choi2017, or pretrained.load_choi2017(path=...))" \
            if path.suffix.lower() in (".h5", ".hdf5") else ""
        raise CourseError(f"{path}: not a .keras model file{other}; give a model saved by the course (notebook 02)")
    if not zipfile.is_zipfile(path):
        raise CourseError(f"{path}: damaged or incomplete (a .keras file is a zip archive, this one is not); "
                          "train and save the model again")
    try:
        return keras.saving.load_model(path, compile=compile)
    except Exception as exc:  # Keras reports a damaged archive in many ways (even "File not found")
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CourseError(f"{path}: cannot be loaded as a Keras model ({reason[:200]}); train and save it again") from None


def layer_table(model):
    """The layers of a model as a table: name, type, output shape, parameters.

    A plainer view than ``model.summary()`` (whose coloured output does not suit notebooks that
    are checked against stored outputs). Notebooks 02 and 05.

    Args:
        model: a Keras model.

    Returns:
        A pandas DataFrame with one row per layer.
    """
    import pandas as pd

    rows = []
    for layer in model.layers:
        shape = getattr(layer, "output", None)
        shape = tuple(shape.shape[1:]) if shape is not None and hasattr(shape, "shape") else ""
        rows.append({"layer": layer.name, "type": type(layer).__name__, "output shape": str(shape),
                     "parameters": layer.count_params()})
    return pd.DataFrame(rows)


def feature_extractor(model, layers: str = "01234"):
    """A Keras model that maps log-mel crops to the concatenated block averages.

    Args:
        model: a compact convnet whose blocks' ELU layers are named ``block<i>_elu``.
        layers: which blocks, e.g. ``"01234"``.

    Returns:
        A Keras model: ``(batch, 96, frames, 1)`` in, ``(batch, 32 * len(layers))`` out.
    """
    import keras

    from course_utils.tasks.release import parse_layers

    names = block_output_names(model)
    outputs = [keras.layers.GlobalAveragePooling2D(name=f"gap{i}")(model.get_layer(names[i]).output)
               for i in parse_layers(layers)]
    out = outputs[0] if len(outputs) == 1 else keras.layers.Concatenate(name="features")(outputs)
    return keras.Model(model.input, out, name=f"features_{layers}")
