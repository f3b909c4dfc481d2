"""Notebook 05: a siamese embedding of music clips, similarity search and its measured quality.

The pieces, in the order notebook 05 uses them:

- **Ground truth from tags.** :func:`tag_similarity` compares the tag sets of MagnaTagAtune
  clips (Jaccard, or cosine of TF-IDF-weighted tags). Two clips are *relevant* to each other when
  their Jaccard similarity is at least :data:`RELEVANCE_THRESHOLD` (0.3: on the mini test split a
  query then has about 19 relevant clips among 239, 8 %); NDCG uses the similarity itself as a
  graded relevance.
- **A siamese network.** :func:`embedding_model` is one Keras model (five convolutional blocks
  like the compact convnet's, the global average of each, a dense layer and an L2 normalisation)
  that maps a log-mel crop of 128 frames to a point on the unit sphere; :func:`siamese_network` applies that *same*
  model to an anchor, a positive and a negative (one set of weights).
- **Metric learning.** :func:`train_siamese` draws, for every training clip (the anchor), a
  positive (a clip whose tags are similar: similarity at least ``pos_threshold``, or among its
  ``min_positives`` most similar clips) and random crops of both; the other clips of the batch
  whose similarity is at most ``neg_threshold`` are the candidate negatives. Per batch, the
  negative of each anchor is either random or *semi-hard* (the closest negative still farther
  than the positive, mined on the current embeddings). Loss: triplet (margin) or contrastive.
- **Search.** :func:`exact_knn` (scikit-learn, cosine, brute force) and an approximate HNSW index
  of faiss (:func:`hnsw_index`, :func:`approx_knn`), compared by :func:`recall_at_k`.
- **Evaluation.** :func:`retrieval_table` ranks, for every test clip, the other test clips, and
  scores the rankings with :func:`precision_at_k`, :func:`average_precision` (mAP) and
  :func:`ndcg_at_k`, for a random ranking, the MFCC summary, the tagger's transfer feature and
  the siamese embedding.
- **Query by example.** :func:`embed_clips`, :func:`embed_file`, :func:`nearest`, and the
  persistent course index behind ``course-utils similar QUERY_AUDIO``: :func:`build_course_index`,
  :func:`load_course_index`, :func:`similar_to_file`.

Everything is seeded (:func:`course_utils.models.set_seed`, NumPy generators, a single-threaded
faiss build, no order-dependent gradient sums: see :func:`_no_addn_rewrite`) and silent unless
asked, so a run repeats exactly on the same machine: rebuilding the course index gives the same
embeddings bit for bit.

Measured on the mini MagnaTagAtune (2 CPU cores): training 20 epochs on the 960 training clips
takes about 50 s and peaks at 1.15 GB; on the test split (240 queries, each against the 239
other test clips) the siamese embedding reaches mAP 0.54, against 0.42 for the tagger's
transfer feature, 0.35 for MFCCs and 0.10 for a random order.
"""

from __future__ import annotations

import contextlib
import copy
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from course_utils import audio, cache, models, paths, validate
from course_utils.errors import CourseError

#: Jaccard similarity from which two clips count as relevant to each other in the evaluation.
RELEVANCE_THRESHOLD = 0.3
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
#: Files of a course index folder (see :func:`build_course_index`).
INDEX_FILES = {"model": "model.keras", "embeddings": "embeddings.npy", "clips": "clips.csv", "info": "index.json"}


# --------------------------------------------------------------------------- tag similarity


def tag_similarity(y, method: str = "jaccard") -> np.ndarray:
    """Similarity of every pair of clips from their tag sets: the ground truth of notebook 05.

    ``"jaccard"``: shared tags over tags of either clip, ``|A & B| / |A | B|``. ``"tfidf"``: the
    cosine of the tag vectors weighted by the smoothed inverse document frequency
    ``1 + log((1 + n) / (1 + n_t))`` of each tag, so that sharing a rare tag (``"sitar"``) counts
    more than sharing a frequent one (``"guitar"``). Both are symmetric, 1 on the diagonal for a
    clip with tags, 0 for disjoint tag sets (and for a clip without tags).

    Args:
        y: ``(n_clips, n_tags)`` 0/1 tag matrix.
        method: ``"jaccard"`` or ``"tfidf"``.

    Returns:
        float32 ``(n_clips, n_clips)``, values in [0, 1].

    Raises:
        ValueError: unknown method or not a matrix.
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 2:
        raise ValueError(f"y must be a (clips, tags) matrix, got shape {y.shape}")
    y = (y > 0).astype(np.float64)
    if method == "jaccard":
        inter = y @ y.T
        counts = y.sum(axis=1)
        union = counts[:, None] + counts[None, :] - inter
        sim = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    elif method == "tfidf":
        idf = 1.0 + np.log((1.0 + len(y)) / (1.0 + y.sum(axis=0)))
        w = y * idf
        norms = np.linalg.norm(w, axis=1, keepdims=True)
        w = np.divide(w, norms, out=np.zeros_like(w), where=norms > 0)
        sim = w @ w.T
    else:
        raise ValueError(f"unknown tag similarity {method!r}: 'jaccard' or 'tfidf'")
    return np.clip(sim, 0.0, 1.0).astype(np.float32)


def positive_sets(sim: np.ndarray, pos_threshold: float = 0.5, min_positives: int = 5) -> list[np.ndarray]:
    """The positives of every clip: similarity at least ``pos_threshold``, or its nearest by tags.

    A clip with fewer than ``min_positives`` clips above the threshold takes its
    ``min_positives`` most similar clips instead (those with a similarity above 0), so that rare
    tag combinations still get trained. Used by :func:`train_siamese` (notebook 05).

    Args:
        sim: ``(n, n)`` tag similarity of the training clips.
        pos_threshold: similarity from which a clip is a positive.
        min_positives: the fewest positives per clip (0 for the threshold only).

    Returns:
        One int array of row numbers per clip (possibly empty), never containing the clip itself.
    """
    sim = np.array(sim, dtype=np.float64)
    np.fill_diagonal(sim, -1.0)
    out = []
    for row in sim:
        pos = np.flatnonzero(row >= pos_threshold)
        if len(pos) < min_positives:
            order = np.argsort(-row, kind="stable")[:min_positives]
            pos = np.sort(order[row[order] > 0])
        out.append(pos.astype(np.int64))
    return out


# --------------------------------------------------------------------------- the networks


def embedding_model(n_mels: int = audio.N_MELS, crop_frames: int = CROP_FRAMES, embedding_dim: int = 128,
                    n_filters: int = 32, time_stride: int = 2, name: str = "siamese_embedding"):
    """The shared twin of notebook 05: a log-mel crop in, a unit-length embedding out.

    The trunk follows :func:`course_utils.models.compact_convnet`: the same fixed
    ``input_scaling`` and five blocks of a 3x3 convolution, max pooling (the pools of
    :func:`course_utils.models.pool_sizes`), batch normalisation and ELU, named
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
    x = keras.layers.Rescaling(1.0 / models.INPUT_SCALE_DB, offset=-models.INPUT_OFFSET_DB / models.INPUT_SCALE_DB,
                               name="input_scaling")(inputs)
    pooled = []
    for i, pool in enumerate(models.pool_sizes(n_mels, crop_frames // time_stride), start=1):
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


def siamese_network(embedding):
    """The triplet (siamese) network: one embedding model applied to anchor, positive and negative.

    The three branches share every weight (the model has exactly the parameters of
    ``embedding``). Notebook 05 draws it and uses it to show the three embeddings of a triplet;
    :func:`train_siamese` trains the embedding model itself (same weights, batch-wise mining).

    Args:
        embedding: a model from :func:`embedding_model`.

    Returns:
        A ``keras.Model`` with inputs ``anchor``, ``positive``, ``negative`` and output
        ``(batch, 3, embedding_dim)``: the stacked embeddings, in that order.
    """
    import keras

    shape = tuple(embedding.input_shape[1:])
    dim = int(embedding.output_shape[-1])
    inputs = [keras.Input(shape=shape, name=n) for n in ("anchor", "positive", "negative")]
    outs = [keras.layers.Reshape((1, dim), name=f"{n}_embedding")(embedding(i))
            for n, i in zip(("anchor", "positive", "negative"), inputs)]
    stacked = keras.layers.Concatenate(axis=1, name="stacked")(outs)
    return keras.Model(inputs, stacked, name="siamese")


def _distances(a, b):
    """Euclidean distances between rows of unit vectors (a tensor op), safe to differentiate."""
    import tensorflow as tf

    sq = tf.maximum(2.0 - 2.0 * tf.reduce_sum(a * b, axis=-1), 1e-12)
    return tf.sqrt(sq)


def triplet_loss(stacked, margin: float = DEFAULT_MARGINS["triplet"]):
    """The triplet loss of stacked embeddings: ``mean(max(d(a, p) - d(a, n) + margin, 0))``.

    Args:
        stacked: ``(batch, 3, dim)`` anchor, positive and negative embeddings (unit length), the
            output of :func:`siamese_network`.
        margin: how much farther than the positive the negative must be.

    Returns:
        A scalar tensor.
    """
    import tensorflow as tf

    stacked = tf.convert_to_tensor(stacked, dtype=tf.float32)
    d_ap = _distances(stacked[:, 0], stacked[:, 1])
    d_an = _distances(stacked[:, 0], stacked[:, 2])
    return tf.reduce_mean(tf.nn.relu(d_ap - d_an + margin))


def contrastive_loss(stacked, margin: float = DEFAULT_MARGINS["contrastive"]):
    """The contrastive loss of stacked embeddings: pull ``(a, p)`` together, push ``(a, n)`` apart.

    ``mean(d(a, p)**2 + max(margin - d(a, n), 0)**2) / 2``.

    Args:
        stacked: ``(batch, 3, dim)`` as for :func:`triplet_loss`.
        margin: distance beyond which a negative costs nothing.

    Returns:
        A scalar tensor.
    """
    import tensorflow as tf

    stacked = tf.convert_to_tensor(stacked, dtype=tf.float32)
    d_ap = _distances(stacked[:, 0], stacked[:, 1])
    d_an = _distances(stacked[:, 0], stacked[:, 2])
    return 0.5 * tf.reduce_mean(tf.square(d_ap) + tf.square(tf.nn.relu(margin - d_an)))


# --------------------------------------------------------------------------- training


def _batch_loss(emb, neg_mask, neg_choice, loss: str, margin: float, semi_hard: bool):
    """Loss of a batch of ``2B`` embeddings whose rows ``i`` and ``(i + B) mod 2B`` are positives.

    Returns ``(mean loss, per-anchor losses, anchor weights)``; an anchor without a candidate
    negative has weight 0.
    """
    import tensorflow as tf

    n = tf.shape(emb)[0]
    half = n // 2
    partner = tf.concat([tf.range(half, n), tf.range(0, half)], axis=0)
    dist = tf.sqrt(tf.maximum(2.0 - 2.0 * tf.matmul(emb, emb, transpose_b=True), 1e-12))
    d_ap = tf.gather(dist, partner, batch_dims=1)
    if semi_hard:  # the closest negative farther than the positive, else the farthest one
        big = tf.reduce_max(dist) + 1.0
        beyond = neg_mask & (dist > d_ap[:, None])
        closest_beyond = tf.reduce_min(tf.where(beyond, dist, big), axis=1)
        farthest = tf.reduce_max(tf.where(neg_mask, dist, 0.0), axis=1)
        d_an = tf.where(tf.reduce_any(beyond, axis=1), closest_beyond, farthest)
    else:  # the negative drawn at random (in NumPy, seeded)
        d_an = tf.gather(dist, tf.maximum(neg_choice, 0), batch_dims=1)
    if loss == "triplet":
        per = tf.nn.relu(d_ap - d_an + margin)
    else:
        per = 0.5 * (tf.square(d_ap) + tf.square(tf.nn.relu(margin - d_an)))
    weight = tf.cast(tf.reduce_any(neg_mask, axis=1), tf.float32)
    return tf.reduce_sum(per * weight) / tf.maximum(tf.reduce_sum(weight), 1.0), per, weight


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
    the block runs unchanged, only not bit-for-bit repeatable).
    """
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


def _train_step_fn(model, optimizer, loss: str, margin: float, semi_hard: bool):
    """A compiled training step: embed ``2B`` crops, mine, and apply one Adam update."""
    import tensorflow as tf

    variables = model.trainable_variables

    @tf.function(reduce_retracing=True)
    def step(x, neg_mask, neg_choice):
        with tf.GradientTape() as tape:
            value, per, weight = _batch_loss(model(x, training=True), neg_mask, neg_choice, loss, margin, semi_hard)
        grads = tape.gradient(value, variables)
        optimizer.apply_gradients(zip(grads, variables))
        active = tf.reduce_sum(tf.cast(per > 0, tf.float32) * weight) / tf.maximum(tf.reduce_sum(weight), 1.0)
        return value, active

    return step


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
    ``batch_size`` anchors and one random positive of each (:func:`positive_sets`), as random
    crops of ``crop_frames`` frames: ``2 * batch_size`` crops, embedded by the one shared model.
    Each crop is an anchor whose positive is its partner; its candidate negatives are the other
    crops of the batch whose tag similarity is at most ``neg_threshold``. ``mining="random"``
    takes one of them at random; ``"semi-hard"`` takes, on the embeddings of this very batch,
    the closest negative that is still farther than the positive (else the farthest one), the
    rule of FaceNet. Adam with a cosine-decaying learning rate; the order, crops and random
    negatives of epoch ``e`` come from ``numpy.random.default_rng((seed, e))``, and
    :func:`course_utils.models.set_seed` seeds the weights: a run repeats on the same machine.

    Args:
        x: ``(n_clips, n_mels, n_frames)`` log-mel clips (the memory-mapped cache of
            :func:`course_utils.tagging.load_tagger_data`).
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
        raise ValueError(f"unknown loss {loss!r}: 'triplet' or 'contrastive'")
    if mining not in ("semi-hard", "random"):
        raise ValueError(f"unknown mining {mining!r}: 'semi-hard' or 'random'")
    margin = DEFAULT_MARGINS[loss] if margin is None else float(margin)
    idx = np.arange(len(x)) if indices is None else np.asarray(indices, dtype=np.int64)
    sim = tag_similarity(np.asarray(y)[idx], similarity)
    positives = positive_sets(sim, pos_threshold, min_positives)
    anchors = np.array([i for i, p in enumerate(positives) if len(p)], dtype=np.int64)
    if len(anchors) < 2:
        raise ValueError("fewer than two training clips have a positive: lower pos_threshold or raise min_positives")
    batch_size = int(min(batch_size, len(anchors)))
    steps_per_epoch = len(anchors) // batch_size
    if model is None:
        models.set_seed(seed)
        model = embedding_model(x.shape[1], int(crop_frames), embedding_dim, n_filters, time_stride)
    crop = int(model.input_shape[2])
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=max(1, epochs * steps_per_epoch))
    optimizer = keras.optimizers.Adam(learning_rate=schedule)
    optimizer.build(model.trainable_variables)
    step = _train_step_fn(model, optimizer, loss, margin, mining == "semi-hard")
    history = {"loss": [], "active": []}
    start_time = time.perf_counter()
    with _no_addn_rewrite():
        for epoch in range(int(epochs)):
            rng = np.random.default_rng((seed, epoch))
            batches = _epoch_batches(rng, x, idx, sim, positives, anchors, batch_size, crop, neg_threshold,
                                     random_negatives=mining == "random")
            results = [step(*batch) for batch in batches]
            history["loss"].append(float(np.mean([float(v) for v, _ in results])))
            history["active"].append(float(np.mean([float(a) for _, a in results])))
            if verbose:
                print(f"epoch {epoch + 1}/{epochs}: loss {history['loss'][-1]:.4f}, "
                      f"active triplets {history['active'][-1]:.2f}")
    history["seconds"] = time.perf_counter() - start_time
    return model, history


# --------------------------------------------------------------------------- embeddings


def _normalise(v: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    v = np.asarray(v, dtype=np.float32)
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.divide(v, norms, out=np.zeros_like(v), where=norms > 0)


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
    :func:`course_utils.audio.crop_starts`). Used by notebook 05 and :func:`build_course_index`.

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
    return _normalise(np.concatenate(out))


def embed_file(model, path, crop_frames: int | None = None) -> np.ndarray:
    """The embedding of any audio file: the mean over its consecutive crops, unit length.

    A file shorter than one crop is repeated to fill it (as the transfer features do). Used by
    :func:`similar_to_file` (``course-utils similar``) and notebook 05.

    Args:
        model: an embedding model.
        path: an audio file the course can decode.
        crop_frames: the model's input length (default: read from the model).

    Returns:
        float32 ``(embedding_dim,)`` of unit length.

    Raises:
        AudioError: the file is missing, corrupt, too short or silent.
    """
    from course_utils.transfer import clip_crops

    crop = int(crop_frames or model.input_shape[2])
    mel = audio.log_mel(audio.load_audio(path))
    crops = clip_crops(mel, crop)
    return _normalise(embed_crops(model, crops).mean(axis=0))


def standardise(features, fit_rows=None) -> np.ndarray:
    """Features scaled to zero mean and unit variance per column, with statistics of ``fit_rows``.

    Notebook 05 standardises the MFCC and convnet features with the training split's statistics
    before comparing them by cosine, as the embeddings are.

    Args:
        features: ``(n, d)``.
        fit_rows: rows whose mean and standard deviation are used (``None``: all).

    Returns:
        float32 ``(n, d)``.
    """
    f = np.asarray(features, dtype=np.float64)
    ref = f if fit_rows is None else f[np.asarray(fit_rows)]
    std = ref.std(axis=0)
    return ((f - ref.mean(axis=0)) / np.where(std > 0, std, 1.0)).astype(np.float32)


# --------------------------------------------------------------------------- search


def exact_knn(embeddings, k: int = 10, queries=None, exclude_self: bool = True):
    """Exact nearest neighbours by cosine distance (scikit-learn, brute force).

    Args:
        embeddings: ``(n, d)`` database vectors.
        k: neighbours per query.
        queries: row numbers of ``embeddings`` to query (``None``: all), searched in the database
            without themselves when ``exclude_self``; or, with ``exclude_self=False``, any
            ``(m, d)`` array of query vectors.
        exclude_self: drop each query row from its own result.

    Returns:
        ``(ids, distances)``, ``(n_queries, k)`` int64 and float32, nearest first; the cosine
        distance is ``1 - cosine similarity``.
    """
    from sklearn.neighbors import NearestNeighbors

    db = np.asarray(embeddings, dtype=np.float32)
    nn = NearestNeighbors(n_neighbors=min(len(db), k + int(exclude_self)), metric="cosine", algorithm="brute").fit(db)
    if exclude_self:
        rows = np.arange(len(db)) if queries is None else np.asarray(queries, dtype=np.int64)
        dist, ids = nn.kneighbors(db[rows])
        return _drop_self(ids, dist, rows, k)
    q = db if queries is None else np.asarray(queries, dtype=np.float32)
    dist, ids = nn.kneighbors(q)
    return ids.astype(np.int64), dist.astype(np.float32)


def _drop_self(ids, dist, rows, k: int):
    """Remove each query's own id from its result row (or the last hit if it is absent)."""
    keep = ids != np.asarray(rows)[:, None]
    out_ids = np.empty((len(ids), k), np.int64)
    out_d = np.empty((len(ids), k), np.float32)
    for i in range(len(ids)):
        sel = np.flatnonzero(keep[i])[:k]
        out_ids[i], out_d[i] = ids[i, sel], dist[i, sel]
    return out_ids, out_d


def hnsw_index(embeddings, m: int = 32, ef_construction: int = 200, ef_search: int = 128):
    """An approximate index of unit vectors for large collections: faiss' HNSW graph.

    The vectors are scaled to unit length and compared by inner product (= cosine similarity).
    The graph is built with one thread, so it is the same at every build (a multi-threaded build
    inserts in a varying order). ``ef_search`` trades speed for recall. Used by notebook 05.

    Args:
        embeddings: ``(n, d)`` vectors.
        m: neighbours per node of the graph.
        ef_construction: search width while building.
        ef_search: search width while querying.

    Returns:
        A ``faiss.IndexHNSWFlat`` holding the vectors (ids = row numbers).
    """
    import faiss

    v = np.ascontiguousarray(_normalise(embeddings))
    index = faiss.IndexHNSWFlat(v.shape[1], int(m), faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = int(ef_construction)
    index.hnsw.efSearch = int(ef_search)
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        index.add(v)
    finally:
        faiss.omp_set_num_threads(threads)
    return index


def approx_knn(index, k: int = 10, queries=None, exclude_self: bool = True):
    """Nearest neighbours from a faiss index, as :func:`exact_knn` returns them.

    Args:
        index: from :func:`hnsw_index`.
        k: neighbours per query.
        queries: row numbers of the indexed vectors (``None``: all); with
            ``exclude_self=False``, an ``(m, d)`` array of query vectors is also accepted.
        exclude_self: drop each query row from its own result.

    Returns:
        ``(ids, distances)`` ``(n_queries, k)``: ids and cosine distances, nearest first.
    """
    if queries is None or (np.ndim(queries) == 1):
        rows = np.arange(index.ntotal) if queries is None else np.asarray(queries, dtype=np.int64)
        q = np.stack([index.reconstruct(int(r)) for r in rows]) if len(rows) else np.zeros((0, index.d), np.float32)
    else:
        rows, q = None, _normalise(queries)
    sims, ids = index.search(np.ascontiguousarray(q, dtype=np.float32), k + int(exclude_self))
    dist = (1.0 - sims).astype(np.float32)
    if exclude_self and rows is not None:
        return _drop_self(ids.astype(np.int64), dist, rows, k)
    return ids[:, :k].astype(np.int64), dist[:, :k]


def recall_at_k(approx_ids, exact_ids, k: int = 10) -> float:
    """How many of the exact ``k`` nearest neighbours the approximate search found, on average.

    Args:
        approx_ids: ``(n_queries, >= k)`` ids from the approximate index.
        exact_ids: ``(n_queries, >= k)`` ids from the exact search.
        k: neighbours compared.

    Returns:
        The mean over queries of ``|approx[:k] & exact[:k]| / k``, in [0, 1].
    """
    a, e = np.asarray(approx_ids)[:, :k], np.asarray(exact_ids)[:, :k]
    if a.shape != e.shape:
        raise ValueError(f"approx_ids {a.shape} and exact_ids {e.shape} differ")
    return float(np.mean([len(set(x) & set(z)) / k for x, z in zip(a.tolist(), e.tolist())]))


def ann_benchmark(n: int = 20000, d: int = 128, k: int = 10, n_queries: int = 1000, seed: int = 0,
                  clustered: bool = True, **hnsw) -> dict:
    """Recall and speed of the HNSW index against exact search on synthetic unit vectors.

    Notebook 05 runs it to show why an approximate index is worth it on large collections.
    ``clustered=True`` draws the vectors around 100 random centres (real embeddings are
    clustered); ``False`` draws them uniformly on the sphere, the hardest case.

    Args:
        n: database size.
        d: dimension.
        k: neighbours.
        n_queries: how many database vectors are used as queries.
        seed: the data seed.
        clustered: clustered or uniform vectors.
        **hnsw: passed to :func:`hnsw_index`.

    Returns:
        ``{"n", "d", "recall", "build_s", "exact_s", "approx_s"}`` (times in seconds).
    """
    rng = np.random.default_rng(seed)
    if clustered:
        centres = rng.normal(size=(100, d))
        v = centres[rng.integers(100, size=n)] + 0.5 * rng.normal(size=(n, d))
    else:
        v = rng.normal(size=(n, d))
    v = _normalise(v.astype(np.float32))
    queries = rng.choice(n, size=min(n_queries, n), replace=False)
    t0 = time.perf_counter()
    exact, _ = exact_knn(v, k, queries=queries)
    t1 = time.perf_counter()
    index = hnsw_index(v, **hnsw)
    t2 = time.perf_counter()
    approx, _ = approx_knn(index, k, queries=queries)
    t3 = time.perf_counter()
    return {"n": n, "d": d, "recall": recall_at_k(approx, exact, k), "build_s": t2 - t1,
            "exact_s": t1 - t0, "approx_s": t3 - t2}


def nearest(index_or_embeddings, query_id: int, k: int = 10):
    """The ``k`` clips nearest to one clip of the collection, itself excluded (notebook 05).

    Args:
        index_or_embeddings: ``(n, d)`` embeddings (exact search) or a faiss index from
            :func:`hnsw_index` (approximate search).
        query_id: the row of the query clip.
        k: how many neighbours.

    Returns:
        ``(ids, distances)``: 1-D arrays of ``k`` row numbers and cosine distances, nearest first.
    """
    if hasattr(index_or_embeddings, "search"):  # a faiss index
        ids, dist = approx_knn(index_or_embeddings, k, queries=[int(query_id)])
    else:
        ids, dist = exact_knn(np.asarray(index_or_embeddings), k, queries=[int(query_id)])
    return ids[0], dist[0]


# --------------------------------------------------------------------------- evaluation


def precision_at_k(relevance, k: int = 10) -> float:
    """Fraction of relevant items among the first ``k`` of a ranking.

    Args:
        relevance: 0/1 (or boolean) relevance of the ranked items, best first.
        k: cut-off.

    Returns:
        ``sum(relevance[:k]) / k``.
    """
    r = np.asarray(relevance, dtype=np.float64)[:k]
    return float(r.sum() / k)


def average_precision(relevance, n_relevant: int | None = None) -> float:
    """Average precision of a ranking: the mean of the precisions at each relevant item.

    For ``[1, 0, 1, 0]``: ``(1/1 + 2/3) / 2 = 0.833``. The mean over queries is the mAP of
    notebook 05.

    Args:
        relevance: 0/1 relevance of the ranked items, best first.
        n_relevant: relevant items in the whole collection (default: those in ``relevance``, the
            case of a full ranking); relevant items never retrieved count as precision 0.

    Returns:
        AP in [0, 1]; NaN when there is no relevant item.
    """
    r = np.asarray(relevance, dtype=np.float64) > 0
    total = int(r.sum()) if n_relevant is None else int(n_relevant)
    if total == 0:
        return float("nan")
    hits = np.cumsum(r)
    ranks = np.arange(1, len(r) + 1)
    return float(np.sum((hits / ranks)[r]) / total)


def ndcg_at_k(gains, k: int = 10, ideal_gains=None) -> float:
    """Normalised discounted cumulative gain of a ranking with graded relevance.

    ``DCG@k = sum_i gains[i] / log2(i + 2)`` over the first ``k`` items (``i`` from 0), divided
    by the DCG of the best possible order. Notebook 05 uses the tag similarity as the gain.

    Args:
        gains: graded relevance of the ranked items, best first.
        k: cut-off.
        ideal_gains: the gains of every item that could have been ranked (default: ``gains``,
            the case of a full ranking).

    Returns:
        NDCG@k in [0, 1]; NaN when every gain is 0.
    """
    g = np.asarray(gains, dtype=np.float64)
    ideal = np.sort(np.asarray(g if ideal_gains is None else ideal_gains, dtype=np.float64))[::-1][:k]
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    idcg = float(np.sum(ideal * disc[:len(ideal)]))
    if idcg <= 0:
        return float("nan")
    top = g[:k]
    return float(np.sum(top * disc[:len(top)]) / idcg)


def rankings(embeddings) -> np.ndarray:
    """For every item, the other items ranked by decreasing cosine similarity (ties: by row).

    Args:
        embeddings: ``(n, d)`` vectors.

    Returns:
        int64 ``(n, n - 1)``.
    """
    v = _normalise(embeddings).astype(np.float64)
    sims = v @ v.T
    np.fill_diagonal(sims, -np.inf)
    return np.argsort(-sims, axis=1, kind="stable")[:, :-1]


def random_rankings(n: int, seed: int = 0) -> np.ndarray:
    """For every item, the other items in a random order (the chance baseline).

    Args:
        n: number of items.
        seed: the seed.

    Returns:
        int64 ``(n, n - 1)``.
    """
    rng = np.random.default_rng(seed)
    out = np.empty((n, n - 1), dtype=np.int64)
    for q in range(n):
        others = np.delete(np.arange(n), q)
        out[q] = others[rng.permutation(n - 1)]
    return out


def ranking_scores(ranks: np.ndarray, sim: np.ndarray, k: int = 10,
                   threshold: float = RELEVANCE_THRESHOLD) -> dict:
    """P@k, AP and NDCG@k of every query's ranking against a tag-similarity ground truth.

    Args:
        ranks: ``(n, n - 1)`` rankings (:func:`rankings`).
        sim: ``(n, n)`` tag similarity (:func:`tag_similarity`).
        k: cut-off.
        threshold: similarity from which an item is relevant (P@k, AP).

    Returns:
        ``{"P@k": (n,), "AP": (n,), "NDCG@k": (n,)}`` arrays (NaN for a query without
        relevant items).
    """
    out = {"P@k": [], "AP": [], "NDCG@k": []}
    for q, order in enumerate(ranks):
        gains = sim[q, order]
        rel = gains >= threshold
        has = rel.any()
        out["P@k"].append(precision_at_k(rel, k) if has else np.nan)
        out["AP"].append(average_precision(rel) if has else np.nan)
        out["NDCG@k"].append(ndcg_at_k(gains, k))
    return {key: np.array(v, dtype=np.float64) for key, v in out.items()}


def retrieval_table(embeddings: dict, y_tags, k: int = 10, seed: int = 0, *,
                    threshold: float = RELEVANCE_THRESHOLD, method: str = "jaccard",
                    random_baseline: bool = True, interval: bool = False) -> pd.DataFrame:
    """Retrieval quality of several systems on one collection: every clip queries all the others.

    Each query's own clip is left out of its ranking; the clips whose tag similarity to it is
    at least ``threshold`` are relevant (P@k, mAP), and NDCG@k uses the similarity as a graded
    gain. Queries without any relevant clip are left out of P@k and mAP. Every system ranks by
    cosine similarity. Notebook 05's main table (test split as queries and database).

    Args:
        embeddings: system name -> ``(n, d)`` vectors of the same ``n`` clips, in order.
        y_tags: ``(n, n_tags)`` 0/1 tags of those clips.
        k: cut-off of P@k and NDCG@k.
        seed: seed of the random baseline.
        threshold: relevance threshold on the tag similarity (Jaccard 0.3 by default).
        method: the tag similarity, ``"jaccard"`` or ``"tfidf"``.
        random_baseline: add a first row ``"random"`` (random rankings).
        interval: add ``mAP_low`` and ``mAP_high``, a 95% bootstrap interval of the mAP over the
            queries (1,000 resamples, seeded by ``seed``; every system is resampled with the
            same queries, so their intervals are comparable).

    Returns:
        DataFrame indexed by ``system`` with columns ``P@{k}``, ``mAP``, ``NDCG@{k}`` and
        ``queries`` (queries with at least one relevant clip), and the interval columns.
    """
    y = np.asarray(y_tags)
    sim = tag_similarity(y, method)
    systems = {}
    if random_baseline:
        systems["random"] = random_rankings(len(y), seed)
    for name, emb in embeddings.items():
        if len(emb) != len(y):
            raise ValueError(f"{name}: {len(emb)} embeddings for {len(y)} tagged clips")
        systems[name] = rankings(emb)
    rows = []
    resamples = np.random.default_rng(seed).integers(0, len(y), size=(1000, len(y)))
    for name, ranks in systems.items():
        s = ranking_scores(ranks, sim, k, threshold)
        row = {"system": name, f"P@{k}": np.nanmean(s["P@k"]), "mAP": np.nanmean(s["AP"]),
               f"NDCG@{k}": np.nanmean(s["NDCG@k"]), "queries": int(np.sum(~np.isnan(s["AP"])))}
        if interval:
            means = np.nanmean(np.asarray(s["AP"])[resamples], axis=1)
            row["mAP_low"], row["mAP_high"] = np.percentile(means, [2.5, 97.5])
        rows.append(row)
    return pd.DataFrame(rows).set_index("system")


def evaluation_embeddings(data, model, subset: str = "test", *, progress: bool = False) -> dict:
    """The systems of notebook 05's table, for one split of MagnaTagAtune.

    ``"MFCC"``: the 120-value summary, ``"convnet"``: the course tagger's 160-value transfer
    feature (both cached by :func:`course_utils.transfer.cached_features` and standardised with
    the training split's statistics), ``"tagger (50 tags)"``: the course tagger's own 50 tag
    probabilities (the tagger was trained on the very tags that define similarity, so this is
    the baseline a learnt embedding must beat), ``"siamese"``: ``model``'s embedding.

    Args:
        data: :class:`course_utils.tagging.TaggerData`.
        model: a trained embedding model (``None`` to leave it out).
        subset: the split to embed.
        progress: progress bars while features are extracted the first time.

    Returns:
        ``{"MFCC": (n, 120), "convnet": (n, 160), "tagger (50 tags)": (n, 50), "siamese": (n, d)}``.
    """
    from course_utils import tagging, training, transfer

    variant = data.df.attrs.get("variant", "mini")
    rows, train = data.split[subset], data.split["train"]
    mfcc = transfer.cached_features("magnatagatune", "mfcc", data.df, progress=progress)
    tagger, _ = tagging.load_course_tagger(variant)
    conv = transfer.cached_features("magnatagatune", "convnet", data.df, model=tagger,
                                    model_path=models.default_model_path(variant), progress=progress)
    out = {"MFCC": standardise(mfcc, train)[rows], "convnet": standardise(conv, train)[rows],
           "tagger (50 tags)": training.predict_clips(tagger, np.asarray(data.x[rows], dtype=np.float32))}
    if model is not None:
        out["siamese"] = embed_clips(model, data.x, rows)
    return out


# --------------------------------------------------------------------------- the course index


def index_dir(variant: str = "mini") -> Path:
    """Where the course's similarity index lives: ``data_dir() / "similarity" / variant``."""
    return paths.data_dir() / "similarity" / variant


@dataclass
class CourseIndex:
    """A loaded similarity index (:func:`load_course_index`).

    Attributes:
        model: the embedding model.
        embeddings: ``(n_clips, d)`` unit vectors, one per row of ``clips``.
        clips: ``clip_id``, ``path`` (relative to the data folder), ``split``, ``tags``.
        info: the index description (training settings, test scores...).
        folder: where it was loaded from.
    """

    model: object
    embeddings: np.ndarray
    clips: pd.DataFrame
    info: dict = field(default_factory=dict)
    folder: Path | None = None


def _relative_path(p) -> str:
    """A path relative to the data folder (``/``-separated), or absolute if it lies outside."""
    p = Path(p).resolve()
    try:
        return p.relative_to(paths.data_dir()).as_posix()
    except ValueError:
        return str(p)


def _clip_table(data) -> pd.DataFrame:
    """The index's clip table: ``clip_id``, relative ``path``, ``split``, ``tags`` (comma-separated)."""
    tags = np.asarray(data.tags)
    y = np.asarray(data.y) > 0
    return pd.DataFrame({
        "clip_id": data.df["clip_id"].to_numpy() if "clip_id" in data.df else np.arange(len(data.df)),
        "path": [_relative_path(p) for p in data.df["path"]],
        "split": data.df["split"].to_numpy() if "split" in data.df else "",
        "tags": [", ".join(tags[row]) for row in y],
    })


def build_course_index(variant: str = "mini", *, folder=None, data=None, model=None, retrain: bool = False,
                       seed: int = 0, progress: bool = False, **train_kwargs) -> Path:
    """Build the persistent index of ``course-utils similar``: model, embeddings, clip table.

    Trains the siamese model on the training split (:func:`train_siamese`, the settings of
    :data:`SIAMESE_DEFAULTS`) unless the folder already has one (or ``model`` is given), embeds
    every clip of the dataset, and writes ``model.keras``, ``embeddings.npy``, ``clips.csv``
    (paths relative to the data folder, tags) and ``index.json`` (settings, training time, test
    retrieval scores). Everything is written into a temporary folder first and moved into place
    at the end, so an interrupted build leaves the old index (or none). With the same seed a
    rebuild gives the same model and embeddings on the same machine.

    Args:
        variant: ``"mini"`` or ``"full"`` MagnaTagAtune.
        folder: where to write (default :func:`index_dir`).
        data: a :class:`course_utils.tagging.TaggerData` (default: ``load_tagger_data(variant)``);
            its ``df`` needs ``path`` (and ``clip_id``, ``split``).
        model: an embedding model to index with instead of training one.
        retrain: train again even if the folder has a model.
        seed: the training seed.
        progress: progress bars while the spectrogram cache is built; one line per epoch.
        **train_kwargs: override :data:`SIAMESE_DEFAULTS` (e.g. ``epochs=2``).

    Returns:
        The index folder.
    """
    from course_utils import tagging

    folder = Path(folder) if folder else index_dir(variant)
    if data is None:
        data = tagging.load_tagger_data(variant, progress=progress)
    info = {"variant": variant, "seed": int(seed), "n_clips": int(len(data.x))}
    existing = folder / INDEX_FILES["model"]
    if model is None and existing.is_file() and not retrain:
        model = models.load_model(existing, compile=False)
        old = folder / INDEX_FILES["info"]
        if old.is_file():
            info["train"] = json.loads(old.read_text()).get("train")
    elif model is None:
        settings = {**SIAMESE_DEFAULTS, **train_kwargs}
        train_rows = data.split.get("train", np.arange(len(data.x)))
        model, history = train_siamese(data.x, data.y, train_rows, seed=seed, verbose=int(progress), **settings)
        info["train"] = {**settings, "seconds": round(history["seconds"], 1),
                         "final_loss": round(history["loss"][-1], 4)}
    emb = embed_clips(model, data.x)
    info.update(crop_frames=int(model.input_shape[2]), embedding_dim=int(emb.shape[1]))
    test = data.split.get("test")
    if test is not None and len(test) > 1:
        table = retrieval_table({"siamese": emb[test]}, data.y[test], seed=seed)
        info["test_scores"] = {k: round(float(v), 4) for k, v in table.loc["siamese"].items()}
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.temp_path_for(folder, keep_suffix=False)
    tmp.mkdir()
    try:
        models.save_model(model, tmp / INDEX_FILES["model"])
        np.save(tmp / INDEX_FILES["embeddings"], emb)
        _clip_table(data).to_csv(tmp / INDEX_FILES["clips"], index=False)
        (tmp / INDEX_FILES["info"]).write_text(json.dumps(info, indent=1) + "\n")
        cache.replace_folder(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def load_course_index(variant: str = "mini", *, folder=None, build_if_missing: bool = True) -> CourseIndex:
    """Load the index of ``course-utils similar``, building it first if it was never built.

    Args:
        variant: ``"mini"`` or ``"full"``.
        folder: the index folder (default :func:`index_dir`).
        build_if_missing: run :func:`build_course_index` (a minute or two on the mini data)
            when the folder has no index.

    Returns:
        A :class:`CourseIndex`.

    Raises:
        CourseError: the index is missing (and not built) or incomplete.
    """
    folder = Path(folder) if folder else index_dir(variant)
    files = {k: folder / v for k, v in INDEX_FILES.items()}
    if not files["info"].is_file():
        if not build_if_missing:
            raise CourseError(f"{folder}: no similarity index; "
                              f"build it with similarity.build_course_index('{variant}')")
        build_course_index(variant, folder=folder)
    missing = [p.name for p in files.values() if not p.is_file()]
    if missing:
        raise CourseError(f"{folder}: incomplete similarity index (missing {', '.join(missing)}); build it again")
    emb = np.load(files["embeddings"])
    clips = pd.read_csv(files["clips"], keep_default_na=False)
    if len(clips) != len(emb):
        raise CourseError(f"{folder}: {len(emb)} embeddings for {len(clips)} clips; build the index again")
    model = models.load_model(files["model"], compile=False)
    return CourseIndex(model, emb, clips, json.loads(files["info"].read_text()), folder)


def similar_to_file(path, k: int = 10, *, variant: str = "mini", folder=None,
                    index: CourseIndex | None = None) -> pd.DataFrame:
    """The ``k`` clips of the course index most similar to an audio file (``course-utils similar``).

    The file is embedded by :func:`embed_file` and compared with every indexed clip (exact
    cosine search; a clip of the dataset itself comes first, at distance about 0).

    Args:
        path: any audio file the course can decode.
        k: how many clips.
        variant: which index (built if missing).
        folder: an explicit index folder.
        index: an already loaded :class:`CourseIndex` (skips loading).

    Returns:
        DataFrame with columns ``rank`` (from 1), ``clip_id``, ``distance`` (cosine distance),
        ``tags`` and ``path`` (absolute), nearest first.

    Raises:
        AudioError: the file cannot be decoded (checked before the index is loaded or built).
        CourseError: ``k`` is not a whole number of at least 1.
    """
    k = validate.similarity_query(path, k)
    index = index or load_course_index(variant, folder=folder)
    query = embed_file(index.model, path)
    sims = index.embeddings.astype(np.float64) @ query.astype(np.float64)
    order = np.argsort(-sims, kind="stable")[:k]
    rows = index.clips.iloc[order]
    full = [str(p) if Path(p).is_absolute() else str(paths.data_dir() / p) for p in rows["path"]]
    return pd.DataFrame({"rank": np.arange(1, len(order) + 1), "clip_id": rows["clip_id"].to_numpy(),
                         "distance": (1.0 - sims[order]).astype(np.float32), "tags": rows["tags"].to_numpy(),
                         "path": full})
