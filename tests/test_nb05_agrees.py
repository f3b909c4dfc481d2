"""Notebook 05 writes its ground truth, metrics, sampler, loss and training step; the package keeps
the tested copies that the command line uses (ground_truth, retrieval_metrics, siamese). On seeded
random input, the notebook's cells must agree with them.

Each test reads the stored notebook, executes the one cell carrying a tag (those cells define
functions and need only NumPy, Keras and the cells before them), and compares.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "05_similarity_search.ipynb"


def _cell(tag: str) -> str:
    found = [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells
             if tag in c.get("metadata", {}).get("tags", [])]
    assert len(found) == 1, f"expected one cell tagged {tag!r} in {NOTEBOOK.name}, found {len(found)}"
    return found[0]


def _run(*tags: str) -> dict:
    """The names the cells define, run in order in one namespace (what the notebook imported first)."""
    import keras
    from keras import ops

    namespace = {"np": np, "keras": keras, "ops": ops, "print": lambda *a, **k: None}
    for tag in tags:
        exec(_cell(tag), namespace)
    return namespace


def _tags(rng, n, n_tags=12):
    y = (rng.random((n, n_tags)) < rng.uniform(0.1, 0.5)).astype(int)
    y[0] = 0            # a clip without tags
    y[1] = y[2]         # two identical tag sets
    return y


def test_jaccard_agrees_with_ground_truth_tag_similarity():
    from course_utils.similarity.ground_truth import tag_similarity

    jaccard_matrix = _run("jaccard")["jaccard_matrix"]
    rng = np.random.default_rng(0)
    for _ in range(10):
        y = _tags(rng, int(rng.integers(3, 40)))
        assert np.allclose(jaccard_matrix(y), tag_similarity(y, "jaccard"), atol=1e-6)
    assert jaccard_matrix(np.zeros((2, 3)))[0, 1] == 0.0   # two empty sets: defined as 0, as the text says


def test_metrics_agree_with_retrieval_metrics():
    from course_utils.similarity import metrics

    ns = _run("retrieval-metrics")
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(1, 60))
        relevant = (rng.random(n) < rng.uniform(0.0, 0.6)).astype(int)
        gains = rng.random(n) * relevant if rng.random() < 0.5 else rng.random(n)
        assert np.isclose(ns["average_precision"](relevant), metrics.average_precision(relevant), equal_nan=True)
        assert np.isclose(ns["ndcg_at_k"](gains, 10), metrics.ndcg_at_k(gains, 10), equal_nan=True)
    y = _tags(rng, 50)
    vectors = rng.normal(size=(50, 8))
    sim = metrics.tag_similarity(y)
    mine, theirs = ns["rank_others"](vectors), metrics.rankings(vectors)
    assert (mine == theirs).all()
    mine, theirs = ns["retrieval_scores"](mine, sim), metrics.ranking_scores(theirs, sim)
    for key, other in (("AP", "AP"), ("NDCG@10", "NDCG@k")):
        assert np.allclose(mine[key], theirs[other], equal_nan=True, atol=1e-6)
    # P@10: the package leaves it NaN for a query without relevant clips, the notebook gives 0/10 = 0
    # (and leaves such queries out of every mean, as their AP is NaN)
    none = np.isnan(theirs["AP"])
    assert none.any() and np.allclose(mine["P@10"][~none], theirs["P@k"][~none], atol=1e-6)
    assert (mine["P@10"][none] == 0).all()


def test_positives_are_the_packages_but_never_negatives():
    """The notebook's fill-in positives must be above the negative threshold (the package's only above 0):
    the same lists wherever the package's fill-ins are above 0.1, and never a positive that is also a negative."""
    from course_utils.similarity.ground_truth import positive_sets, tag_similarity

    ns = _run("jaccard", "triplet-sampler")
    rng = np.random.default_rng(1)
    for _ in range(10):
        sim = tag_similarity(_tags(rng, int(rng.integers(10, 80)), n_tags=20))
        mine, theirs = ns["positive_lists"](sim), positive_sets(sim, 0.5, 5)
        for i, (a, b) in enumerate(zip(mine, theirs)):
            assert (sim[i, a] > 0.1).all() and i not in a
            assert list(a) == [j for j in b if sim[i, j] > 0.1]
        for rows, neg_mask in ns["triplet_batches"](rng, sim, mine, batch_size=4):
            half = len(rows) // 2
            assert all(rows[half + k] in mine[rows[k]] for k in range(half))
            partner = (np.arange(len(rows)) + half) % len(rows)
            assert not neg_mask[np.arange(len(rows)), partner].any()
            assert (neg_mask == ((sim[np.ix_(rows, rows)] <= 0.1) & (rows[:, None] != rows[None, :]))).all()


def test_loss_agrees_with_the_packages_batch_loss():
    from course_utils.similarity.siamese import _batch_loss

    ns = _run("triplet-loss", "training-step")
    trainer = ns["TripletTrainer"](embedding=None, margin=0.3)
    rng = np.random.default_rng(0)
    for _ in range(10):
        n = 2 * int(rng.integers(2, 12))
        emb = rng.normal(size=(n, 8)).astype("float32")
        emb /= np.linalg.norm(emb, axis=1, keepdims=True)
        neg_mask = rng.random((n, n)) < 0.4
        np.fill_diagonal(neg_mask, False)
        neg_mask[0] = False                            # an anchor without a negative
        mean, per, _ = _batch_loss(emb, neg_mask, np.zeros(n, "int32"), "triplet", 0.3, True)
        has = neg_mask.any(axis=1)
        assert np.allclose(np.asarray(ns["semi_hard_triplet_losses"](emb, neg_mask))[has], np.asarray(per)[has], atol=1e-5)
        assert np.isclose(float(trainer.compute_loss(y=neg_mask, y_pred=emb)), float(mean), atol=1e-6)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_one_training_step_agrees_with_the_packages_trainer():
    """The same small network, batch and optimiser: one notebook step and one package step give the same
    loss and the same updated weights."""
    import keras

    from course_utils.models import convnet
    from course_utils.similarity import siamese

    ns = _run("triplet-loss", "training-step")
    rng = np.random.default_rng(0)
    crops = rng.normal(-40, 15, size=(8, 32, 64, 1)).astype("float32")
    neg_mask = rng.random((8, 8)) < 0.5
    np.fill_diagonal(neg_mask, False)
    neg_mask[np.arange(8), (np.arange(8) + 4) % 8] = False

    def network():
        convnet.set_seed(3)
        return siamese.embedding_model(n_mels=32, crop_frames=64, embedding_dim=8, n_filters=4)

    initial = network().get_weights()
    mine = ns["TripletTrainer"](network(), margin=0.3)
    mine.compile(optimizer=keras.optimizers.Adam(1e-2))
    theirs_model = network()
    theirs = siamese._siamese_trainer(theirs_model, keras.optimizers.Adam(1e-2), "triplet", 0.3, True)
    for _ in range(2):
        loss_mine = float(np.ravel(mine.train_on_batch(crops, neg_mask))[0])
        loss_theirs = float(theirs.train_on_batch(crops, (neg_mask, np.zeros(8, "int32")), return_dict=True)["batch_loss"])
        assert np.isclose(loss_mine, loss_theirs, atol=1e-5)
    for a, b in zip(mine.embedding.get_weights(), theirs_model.get_weights()):
        assert np.allclose(a, b, atol=1e-5)
    assert not all(np.allclose(a, b) for a, b in zip(mine.embedding.get_weights(), initial))   # the steps did train
