"""The siamese embedding of notebook 05: the network, the metric-learning losses, training.

:func:`embedding_model` is one Keras model (five convolutional blocks like the compact
convnet's, the global average of each, a dense layer and an L2 normalisation) that maps a log-mel
crop of :data:`CROP_FRAMES` frames to a point on the unit sphere; training applies that *same*
model to anchors, positives and negatives (one set of weights).
:func:`train_siamese` draws, for every training clip (the anchor), a positive (a clip whose tags
are similar, :func:`course_utils.similarity.ground_truth.positive_sets`) and random crops of both; the other
clips of the batch whose similarity is at most ``neg_threshold`` are the candidate negatives. Per
batch, the negative of each anchor is either random or *semi-hard* (the closest negative still
farther than the positive, mined on the current embeddings). Loss: triplet (margin) or
contrastive. :func:`embed_clips` embeds whole clips (an audio file is embedded by
``ClipFeatures("siamese")``, :mod:`course_utils.features.clip_features`).

Any Keras backend: the losses are written in ``keras.ops`` and training goes through Keras' own
training step (the batch loss sits in a model's ``compute_loss``, :func:`_trainer_class`), so it
runs under TensorFlow, JAX or PyTorch (``KERAS_BACKEND``). Everything is seeded
(:func:`course_utils.models.convnet.set_seed`, NumPy generators) and silent unless asked; under
TensorFlow, op determinism and the absence of order-dependent gradient sums (see
:func:`_no_addn_rewrite`) make a run repeat exactly on the same machine, which the notebooks'
stored outputs rely on.

Measured on the mini MagnaTagAtune (2 CPU cores): training 20 epochs on the 960 training clips
takes about 50 s and peaks at 1.15 GB; on the test split the embedding reaches mAP 0.54, against
0.42 for the tagger's transfer feature, 0.35 for MFCCs and 0.10 for a random order.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import time

import numpy as np

from course_utils import audio
from course_utils.core.errors import ParameterError
from course_utils.models import convnet
from course_utils.similarity.ground_truth import positive_sets, tag_similarity
from course_utils.similarity.metrics import standardise
from course_utils.stats import unit_length

#: Crop length (frames) of the siamese network: 128 frames = 2.7 s, as the mini tagger. Sized for a slow
#: CPU (issue 18): 16 epochs of 128-frame crops train in about 30 s on 2 fast cores and reach the mAP
#: (about 0.56 on the mini test clips) of 20 epochs of 256-frame crops, which took twice as long.
CROP_FRAMES = 128
#: Training settings of the course's siamese model (see :func:`train_siamese`).
SIAMESE_DEFAULTS = dict(embedding_dim=128, n_filters=32, time_stride=2, epochs=16, batch_size=32,
                        learning_rate=2e-3, loss="triplet", margin=None, mining="semi-hard", similarity="jaccard",
                        pos_threshold=0.5, min_positives=5, neg_threshold=0.1)
#: Default margin of each loss, for distances between unit vectors (0 to 2).
DEFAULT_MARGINS = {"triplet": 0.3, "contrastive": 1.0}


# --------------------------------------------------------------------------- the networks


def embedding_model(n_mels: int = audio.N_MELS, crop_frames: int = CROP_FRAMES, embedding_dim: int = 128,
                    n_filters: int = 32, time_stride: int = 2, name: str = "siamese_embedding"):
    """The shared twin of notebook 05: a log-mel crop in, a unit-length embedding out.

    The trunk follows :func:`course_utils.models.convnet.compact_convnet`: the same fixed
    ``input_scaling`` and five blocks of a 3x3 convolution, max pooling (the pools of
    :func:`course_utils.models.convnet.pool_sizes`), batch normalisation and ELU, named
    ``block{i}_conv/pool/bn/elu``. Two changes save memory and time on a CPU, where training
    holds every activation of ``2 x 32`` crops at once: the pooling comes right after the
    convolution (ELU is monotonic, so pooling first changes little and normalises 8 times fewer
    values), and the first convolution steps ``time_stride`` frames in time (2: 43 ms). Training
    on the mini data then peaks at about 1.15 GB instead of 2 GB, at twice the speed. Each
    block's output is averaged over frequency and time (``gap1`` ... ``gap5``, like the transfer
    feature of notebook 03), the averages are concatenated (``features``, ``5 * n_filters``
    values), projected by ``embedding`` (a dense layer) and scaled to unit length
    (``l2_normalise``). Distances between embeddings are then in [0, 2] and the inner product is
    the cosine similarity.

    Args:
        n_mels: mel bands of the input (at least 32).
        crop_frames: frames of the input crops (at least ``32 * time_stride``).
        embedding_dim: size of the embedding.
        n_filters: feature maps per convolution.
        time_stride: time step of the first convolution (1 for the compact convnet's).
        name: the model's name.

    Returns:
        An uncompiled ``keras.Model``: ``(batch, n_mels, crop_frames, 1)`` in,
        ``(batch, embedding_dim)`` out.
    """
    import keras

    inputs = keras.Input(shape=(n_mels, crop_frames, 1), name="logmel")
    x = keras.layers.Rescaling(1.0 / convnet.INPUT_SCALE_DB, offset=-convnet.INPUT_OFFSET_DB / convnet.INPUT_SCALE_DB,
                               name="input_scaling")(inputs)
    pooled = []
    for i, pool in enumerate(convnet.pool_sizes(n_mels, crop_frames // time_stride), start=1):
        stride = (1, time_stride) if i == 1 else (1, 1)
        x = keras.layers.Conv2D(n_filters, 3, strides=stride, padding="same", use_bias=False, name=f"block{i}_conv")(x)
        x = keras.layers.MaxPooling2D(pool_size=pool, name=f"block{i}_pool")(x)
        x = keras.layers.BatchNormalization(name=f"block{i}_bn")(x)
        x = keras.layers.ELU(name=f"block{i}_elu")(x)
        pooled.append(keras.layers.GlobalAveragePooling2D(name=f"gap{i}")(x))
    x = keras.layers.Concatenate(name="features")(pooled)
    x = keras.layers.Dense(int(embedding_dim), name="embedding")(x)
    out = keras.layers.UnitNormalization(name="l2_normalise")(x)
    return keras.Model(inputs, out, name=name)


def _batch_loss(emb, neg_mask, neg_choice, loss: str, margin: float, semi_hard: bool):
    """Loss of a batch of ``2B`` embeddings whose rows ``i`` and ``(i + B) mod 2B`` are positives.

    In ``keras.ops``, so it runs (and differentiates) on any Keras backend; notebook 05 writes
    the semi-hard triplet case by hand.

    Returns ``(mean loss, per-anchor losses, anchor weights)``; an anchor without a candidate
    negative has weight 0.
    """
    from keras import ops

    emb = ops.convert_to_tensor(emb, dtype="float32")
    neg_mask = ops.convert_to_tensor(neg_mask, dtype="bool")
    n = ops.shape(emb)[0]
    partner = (ops.arange(n) + n // 2) % n
    dist = ops.sqrt(ops.maximum(2.0 - 2.0 * ops.matmul(emb, ops.transpose(emb)), 1e-12))
    d_ap = ops.take_along_axis(dist, partner[:, None], axis=1)[:, 0]
    if semi_hard:  # the closest negative farther than the positive, else the farthest one
        big = ops.max(dist) + 1.0
        beyond = ops.logical_and(neg_mask, ops.greater(dist, d_ap[:, None]))
        closest_beyond = ops.min(ops.where(beyond, dist, big), axis=1)
        farthest = ops.max(ops.where(neg_mask, dist, 0.0), axis=1)
        d_an = ops.where(ops.any(beyond, axis=1), closest_beyond, farthest)
    else:  # the negative drawn at random (in NumPy, seeded)
        choice = ops.maximum(ops.convert_to_tensor(neg_choice, dtype="int32"), 0)
        d_an = ops.take_along_axis(dist, choice[:, None], axis=1)[:, 0]
    if loss == "triplet":
        per = ops.relu(d_ap - d_an + margin)
    else:
        per = 0.5 * (ops.square(d_ap) + ops.square(ops.relu(margin - d_an)))
    weight = ops.cast(ops.any(neg_mask, axis=1), "float32")
    return ops.sum(per * weight) / ops.maximum(ops.sum(weight), 1.0), per, weight


def _active_fraction(per, weight):
    """Fraction of the weighted anchors whose loss is above 0 (triplets still violating the margin)."""
    from keras import ops

    return ops.sum(ops.cast(ops.greater(per, 0.0), "float32") * weight) / ops.maximum(ops.sum(weight), 1.0)


@contextlib.contextmanager
def _no_addn_rewrite():
    """Run TensorFlow functions in this block without Grappler's memory optimiser.

    Why: where a tensor feeds two layers (here every block's output feeds the next block and its
    ``gap`` layer), the backward pass adds two gradients with an ``AddN``. The memory optimiser
    turns such ``AddN`` ops into accumulations into a temporary variable (nodes
    ``AddN_<i>/tmp_var``) as the inputs arrive, so the sum's order depends on thread timing: on
    2 CPU cores, two runs with the same seed already differed after the first epoch, and the
    embeddings by up to 0.19 after 20 (measured). With the optimiser off they are identical.
    Op determinism does not cover this rewrite and TensorFlow has no public switch for it, so
    this sets it in the calling thread's function options (a private API: where it is missing
    the block runs unchanged, only not bit-for-bit repeatable). TensorFlow only: under another
    Keras backend the block runs unchanged.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        yield
        return
    try:
        from tensorflow.core.protobuf import config_pb2, rewriter_config_pb2
        from tensorflow.python.eager import context

        ctx = context.context()
        old = copy.copy(ctx.function_call_options)
        config = config_pb2.ConfigProto()
        config.ParseFromString(old.config_proto_serialized)
        config.graph_options.rewrite_options.memory_optimization = rewriter_config_pb2.RewriterConfig.NO_MEM_OPT
        new = copy.copy(old)
        new.config_proto_serialized = config
    except (ImportError, AttributeError, TypeError):  # a TensorFlow without these internals
        yield
        return
    ctx.function_call_options = new
    try:
        yield
    finally:
        ctx.function_call_options = old


@functools.cache
def _trainer_class():
    """The Keras model class that trains an embedding model with :func:`_batch_loss`, on any backend.

    Built on first use (importing Keras loads its backend). The trainer wraps the embedding
    model (same weights) and puts the batch loss in ``compute_loss``: ``y`` is the pair
    ``(negative mask, random negatives)`` and ``y_pred`` the ``2B`` embeddings. Keras' own
    ``train_step`` of each backend then differentiates it and applies the optimiser, so there is
    no ``GradientTape``, ``jax.grad`` or ``backward()`` here. The batch loss and the fraction of
    active triplets are kept as metrics holding the last batch's value.
    """
    import keras
    from keras import ops

    class LastValue(keras.metrics.Metric):
        """A metric that holds the last value it was given (no averaging, so no rounding)."""

        def __init__(self, name):
            super().__init__(name=name)
            self.last = self.add_variable(shape=(), initializer="zeros", name="last")

        def update_state(self, value):
            self.last.assign(ops.cast(value, "float32"))

        def result(self):
            return ops.cast(self.last, "float32")

    class SiameseTrainer(keras.Model):
        def __init__(self, embedding, loss: str, margin: float, semi_hard: bool):
            super().__init__(name="siamese_trainer")
            self.embedding = embedding
            self.loss_kind, self.margin, self.semi_hard = loss, float(margin), bool(semi_hard)
            self.batch_loss = LastValue("batch_loss")
            self.active = LastValue("active")

        def call(self, x, training=False):
            return self.embedding(x, training=training)

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            neg_mask, neg_choice = y
            value, per, weight = _batch_loss(y_pred, neg_mask, neg_choice, self.loss_kind, self.margin,
                                             self.semi_hard)
            self.batch_loss.update_state(value)
            self.active.update_state(_active_fraction(per, weight))
            return value

    return SiameseTrainer


def _siamese_trainer(model, optimizer, loss: str, margin: float, semi_hard: bool):
    """A compiled trainer of ``model`` (:func:`_trainer_class`); its ``train_on_batch`` is one step.

    Under TensorFlow the step is a ``tf.function`` without XLA (XLA would change the numbers the
    notebooks store); JAX compiles it with ``jax.jit``; PyTorch runs it eagerly.
    """
    import keras

    trainer = _trainer_class()(model, loss, margin, semi_hard)
    trainer.compile(optimizer=optimizer, jit_compile=False if keras.backend.backend() == "tensorflow" else "auto")
    return trainer


def _random_negatives(rng, neg_mask: np.ndarray) -> np.ndarray:
    """One random candidate negative per row of a boolean mask (-1 for a row without any)."""
    choice = np.full(len(neg_mask), -1, dtype=np.int32)
    for i, row in enumerate(neg_mask):
        cand = np.flatnonzero(row)
        if len(cand):
            choice[i] = cand[rng.integers(len(cand))]
    return choice


def _read_crops(x, rows, starts, crop: int) -> np.ndarray:
    """float32 ``(len(rows), n_mels, crop, 1)`` crops of memory-mapped clips."""
    out = np.empty((len(rows), x.shape[1], crop, 1), dtype=np.float32)
    for k, (r, s) in enumerate(zip(rows, starts)):
        out[k, :, :, 0] = x[r, :, s:s + crop]
    return out


def _epoch_batches(rng, x, idx, sim, positives, anchors, batch_size: int, crop: int, neg_threshold: float,
                   random_negatives: bool):
    """The batches of one epoch of :func:`train_siamese`: ``(crops, negative mask, random negatives)``.

    The anchors in a random order, ``batch_size`` at a time (full batches only, so the training
    step is traced once), each with a random positive, as random crops; rows ``i`` and
    ``i + batch_size`` of a batch are an anchor and its positive.
    """
    order = anchors[rng.permutation(len(anchors))]
    for b in range(len(anchors) // batch_size):
        a = order[b * batch_size:(b + 1) * batch_size]
        p = np.array([positives[i][rng.integers(len(positives[i]))] for i in a], dtype=np.int64)
        local = np.concatenate([a, p])
        starts = rng.integers(0, x.shape[2] - crop + 1, size=len(local))
        crops = _read_crops(x, idx[local], starts, crop)
        neg_mask = (sim[np.ix_(local, local)] <= neg_threshold) & (local[:, None] != local[None, :])
        choice = _random_negatives(rng, neg_mask) if random_negatives else np.zeros(len(local), np.int32)
        yield crops, neg_mask, choice


def train_siamese(x, y, indices=None, *, crop_frames: int = CROP_FRAMES, embedding_dim: int = 128,
                  n_filters: int = 32, time_stride: int = 2, epochs: int = 16, batch_size: int = 32,
                  learning_rate: float = 2e-3, loss: str = "triplet", margin: float | None = None,
                  mining: str = "semi-hard", similarity: str = "jaccard", pos_threshold: float = 0.5,
                  min_positives: int = 5, neg_threshold: float = 0.1, seed: int = 0, model=None, verbose: int = 0):
    """Train the siamese embedding on log-mel clips with tag-similarity triplets (notebook 05).

    Every epoch visits the clips that have a positive in a new random order; each batch holds
    ``batch_size`` anchors and one random positive of each
    (:func:`course_utils.similarity.ground_truth.positive_sets`), as random
    crops of ``crop_frames`` frames: ``2 * batch_size`` crops, embedded by the one shared model.
    Each crop is an anchor whose positive is its partner; its candidate negatives are the other
    crops of the batch whose tag similarity is at most ``neg_threshold``. ``mining="random"``
    takes one of them at random; ``"semi-hard"`` takes, on the embeddings of this very batch,
    the closest negative that is still farther than the positive (else the farthest one), the
    rule of FaceNet. Adam with a cosine-decaying learning rate; the order, crops and random
    negatives of epoch ``e`` come from ``numpy.random.default_rng((seed, e))``, and
    :func:`course_utils.models.convnet.set_seed` seeds the weights: a run repeats on the same machine.

    Args:
        x: ``(n_clips, n_mels, n_frames)`` log-mel clips (the memory-mapped cache of
            :func:`course_utils.models.training.load_tagger_data`).
        y: ``(n_clips, n_tags)`` 0/1 tags.
        indices: the training clips (rows of ``x``); ``None`` for all.
        crop_frames: frames per crop (the model's input length).
        embedding_dim: size of the embedding.
        n_filters: feature maps per convolution.
        time_stride: time step of the first convolution (see :func:`embedding_model`).
        epochs: passes over the anchors.
        batch_size: anchors per batch.
        learning_rate: Adam's initial learning rate (cosine decay to 0 over the run).
        loss: ``"triplet"`` or ``"contrastive"``.
        margin: the loss margin (``None``: :data:`DEFAULT_MARGINS`).
        mining: ``"semi-hard"`` or ``"random"``.
        similarity: the tag similarity, ``"jaccard"`` or ``"tfidf"``.
        pos_threshold: tag similarity from which a clip is a positive.
        min_positives: the fewest positives per anchor (its most similar clips).
        neg_threshold: tag similarity up to which a clip is a negative.
        seed: the seed of weights, order, crops and random negatives.
        model: an embedding model to go on training (default: a new :func:`embedding_model`);
            its input length then replaces ``crop_frames``.
        verbose: 1 prints one line per epoch.

    Returns:
        ``(model, history)``: the trained embedding model, and ``{"loss": [...], "active":
        [...], "seconds": float}`` (per epoch: mean loss, fraction of triplets with a non-zero
        loss; the training time).

    Raises:
        ValueError: an unknown loss or mining, or no clip has a positive.
    """
    import keras

    if loss not in DEFAULT_MARGINS:
        raise ParameterError(f"unknown loss {loss!r}: 'triplet' or 'contrastive'")
    if mining not in ("semi-hard", "random"):
        raise ParameterError(f"unknown mining {mining!r}: 'semi-hard' or 'random'")
    margin = DEFAULT_MARGINS[loss] if margin is None else float(margin)
    idx = np.arange(len(x)) if indices is None else np.asarray(indices, dtype=np.int64)
    sim = tag_similarity(np.asarray(y)[idx], similarity)
    positives = positive_sets(sim, pos_threshold, min_positives)
    anchors = np.array([i for i, p in enumerate(positives) if len(p)], dtype=np.int64)
    if len(anchors) < 2:
        raise ParameterError("fewer than two training clips have a positive: lower pos_threshold or raise min_positives")
    batch_size = int(min(batch_size, len(anchors)))
    steps_per_epoch = len(anchors) // batch_size
    if model is None:
        convnet.set_seed(seed)
        model = embedding_model(x.shape[1], int(crop_frames), embedding_dim, n_filters, time_stride)
    crop = int(model.input_shape[2])
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=max(1, epochs * steps_per_epoch))
    optimizer = keras.optimizers.Adam(learning_rate=schedule)
    trainer = _siamese_trainer(model, optimizer, loss, margin, mining == "semi-hard")
    history = {"loss": [], "active": []}
    start_time = time.perf_counter()
    with _no_addn_rewrite():
        for epoch in range(int(epochs)):
            rng = np.random.default_rng((seed, epoch))
            batches = _epoch_batches(rng, x, idx, sim, positives, anchors, batch_size, crop, neg_threshold,
                                     random_negatives=mining == "random")
            results = [trainer.train_on_batch(crops, (neg_mask, choice), return_dict=True)
                       for crops, neg_mask, choice in batches]
            history["loss"].append(float(np.mean([float(r["batch_loss"]) for r in results])))
            history["active"].append(float(np.mean([float(r["active"]) for r in results])))
            if verbose:
                print(f"epoch {epoch + 1}/{epochs}: loss {history['loss'][-1]:.4f}, "
                      f"active triplets {history['active'][-1]:.2f}")
    history["seconds"] = time.perf_counter() - start_time
    return model, history



def embed_crops(model, crops: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Embeddings of log-mel crops, in fixed-size batches (one traced shape, no progress output).

    Args:
        model: an embedding model.
        crops: ``(n, n_mels, crop_frames)`` or with a trailing channel axis.
        batch_size: crops per forward pass (the result does not depend on it).

    Returns:
        float32 ``(n, embedding_dim)``.
    """
    crops = np.asarray(crops, dtype=np.float32)
    if crops.ndim == 3:
        crops = crops[..., None]
    out = []
    buf = np.zeros((batch_size,) + crops.shape[1:], dtype=np.float32)
    for lo in range(0, len(crops), batch_size):
        chunk = crops[lo:lo + batch_size]
        buf[:len(chunk)] = chunk
        buf[len(chunk):] = 0.0
        out.append(np.asarray(model.predict_on_batch(buf))[:len(chunk)])
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, model.output_shape[-1]), np.float32)


def embed_clips(model, x, indices=None, crop_frames: int | None = None, batch_size: int = 64) -> np.ndarray:
    """Embeddings of whole clips: the mean over consecutive crops, scaled back to unit length.

    A 376-frame mini clip and 128-frame crops give three crops (see
    :func:`course_utils.audio.windows.crop_starts`).

    Args:
        model: an embedding model.
        x: ``(n_clips, n_mels, n_frames)`` clips, e.g. the memory-mapped cache.
        indices: rows of ``x`` to embed; ``None`` for all.
        crop_frames: the model's input length (default: read from the model).
        batch_size: crops per forward pass.

    Returns:
        float32 ``(len(indices), embedding_dim)``, rows of unit length.
    """
    crop = int(crop_frames or model.input_shape[2])
    rows = np.arange(len(x)) if indices is None else np.asarray(indices, dtype=np.int64)
    starts = audio.crop_starts(x.shape[2], crop)
    per_pass = max(1, batch_size // len(starts))
    out = []
    for lo in range(0, len(rows), per_pass):
        chunk = rows[lo:lo + per_pass]
        crops = np.stack([np.asarray(x[r], dtype=np.float32)[:, s:s + crop] for r in chunk for s in starts])
        emb = embed_crops(model, crops, batch_size=per_pass * len(starts))
        out.append(emb.reshape(len(chunk), len(starts), -1).mean(axis=1))
    return unit_length(np.concatenate(out))


def evaluation_embeddings(data, model, subset: str = "test", *, progress: bool = False) -> dict:
    """The systems of notebook 05's table, for one split of MagnaTagAtune.

    ``"MFCC"``: the 120-value summary, ``"convnet"``: the course tagger's 160-value transfer
    feature (both by :class:`~course_utils.features.clip_features.ClipFeatures`, ``"mfcc"`` and
    ``"course:<variant>"``, cached per clip, and standardised with the training split's
    statistics), ``"tagger (50 tags)"``: the course tagger's own 50 tag
    probabilities (the tagger was trained on the very tags that define similarity, so this is
    the baseline a learnt embedding must beat), ``"siamese"``: ``model``'s embedding.

    Args:
        data: :class:`course_utils.models.training.TaggerData`.
        model: a trained embedding model (``None`` to leave it out).
        subset: the split to embed.
        progress: progress bars while features are extracted the first time.

    Returns:
        ``{"MFCC": (n, 120), "convnet": (n, 160), "tagger (50 tags)": (n, 50), "siamese": (n, d)}``.
    """
    from course_utils.features.clip_features import ClipFeatures
    from course_utils.models import training

    variant = data.df.attrs.get("variant", "mini")
    rows, train = data.split[subset], data.split["train"]
    mfcc = ClipFeatures("mfcc", progress=progress).fit().transform(data.df)
    conv = ClipFeatures(f"course:{variant}", progress=progress).fit().transform(data.df)
    tagger, _ = training.load_course_tagger(variant)
    out = {"MFCC": standardise(mfcc, train)[rows], "convnet": standardise(conv, train)[rows],
           "tagger (50 tags)": training.predict_clips(tagger, np.asarray(data.x[rows], dtype=np.float32))}
    if model is not None:
        out["siamese"] = embed_clips(model, data.x, rows)
    return out
