"""course_utils.similarity (notebook 05): tag similarity, retrieval metrics, the siamese network, search, the index."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from course_utils import audio
from course_utils.core.errors import CourseError
from course_utils.models import convnet
from course_utils.models.training import TaggerData
from course_utils.similarity import ground_truth, index, metrics, siamese

# --------------------------------------------------------------------------- tag similarity


@pytest.mark.parametrize("method", ["jaccard", "tfidf"])
def test_tag_similarity_properties(method):
    rng = np.random.default_rng(0)
    y = (rng.random((30, 12)) < 0.3).astype(np.float32)
    y[0] = 0  # a clip without tags
    y[1], y[2] = 0, 0
    y[1, :3], y[2, 3:6] = 1, 1  # disjoint tag sets
    s = ground_truth.tag_similarity(y, method)
    assert s.shape == (30, 30) and s.dtype == np.float32
    np.testing.assert_allclose(s, s.T, atol=1e-6)
    tagged = y.sum(axis=1) > 0
    np.testing.assert_allclose(np.diag(s)[tagged], 1.0, atol=1e-6)
    assert s[0].max() == 0.0  # no tags: similar to nothing
    assert s[1, 2] == 0.0
    assert s.min() >= 0.0 and s.max() <= 1.0 + 1e-6


def test_jaccard_and_tfidf_values():
    y = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [1, 1, 1, 1]])
    j = ground_truth.tag_similarity(y, "jaccard")
    assert j[0, 1] == pytest.approx(1 / 3) and j[0, 2] == pytest.approx(0.5)
    # sharing the rarer tag weighs more under TF-IDF: tag 1 is in every clip, tag 0 in two
    t = ground_truth.tag_similarity(np.array([[1, 1], [1, 1], [0, 1], [0, 1]]), "tfidf")
    assert t[0, 1] == pytest.approx(1.0) and t[0, 2] < 1 / np.sqrt(2)
    with pytest.raises(ValueError, match="unknown tag similarity"):
        ground_truth.tag_similarity(y, "cosine")


def test_positive_sets_threshold_and_fallback():
    sim = np.array([[1.0, 0.9, 0.2, 0.0], [0.9, 1.0, 0.1, 0.0], [0.2, 0.1, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    pos = ground_truth.positive_sets(sim, pos_threshold=0.5, min_positives=1)
    assert list(pos[0]) == [1] and list(pos[1]) == [0]
    assert list(pos[2]) == [0]  # below the threshold: its most similar clip
    assert len(pos[3]) == 0  # nothing in common with anyone
    assert [len(p) for p in ground_truth.positive_sets(sim, 0.5, 0)] == [1, 1, 0, 0]


# --------------------------------------------------------------------------- metrics


def test_precision_and_average_precision_by_hand():
    assert metrics.precision_at_k([1, 0, 1, 0, 0], k=2) == 0.5
    assert metrics.precision_at_k([1, 1], k=4) == 0.5  # missing items count as misses
    assert metrics.average_precision([1, 1, 1, 0, 0]) == 1.0  # perfect ranking
    assert metrics.average_precision([1, 0, 1, 0]) == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert metrics.average_precision([0, 1, 0, 0, 1]) == pytest.approx((1 / 2 + 2 / 5) / 2)
    # a relevant item never retrieved counts as precision 0
    assert metrics.average_precision([1, 0, 1], n_relevant=3) == pytest.approx((1 + 2 / 3) / 3)
    assert np.isnan(metrics.average_precision([0, 0, 0]))


def test_ndcg_by_hand():
    assert metrics.ndcg_at_k([1.0, 0.5, 0.2, 0.0], k=3) == pytest.approx(1.0)
    assert metrics.ndcg_at_k([0.0, 1.0], k=2) == pytest.approx((1 / np.log2(3)) / 1.0)
    # graded: the best item second
    expected = (0.5 + 1.0 / np.log2(3)) / (1.0 + 0.5 / np.log2(3))
    assert metrics.ndcg_at_k([0.5, 1.0, 0.0], k=2) == pytest.approx(expected)
    # ideal gains beyond the ranking shown
    assert metrics.ndcg_at_k([0.5], k=1, ideal_gains=[0.5, 1.0]) == pytest.approx(0.5)
    assert np.isnan(metrics.ndcg_at_k([0.0, 0.0], k=2))


def test_retrieval_table_ranks_systems():
    rng = np.random.default_rng(1)
    classes = np.repeat(np.arange(4), 10)
    y = np.eye(4)[classes]
    perfect = y + 0.01 * rng.normal(size=y.shape)
    noise = rng.normal(size=(40, 8))
    table = metrics.retrieval_table({"tags": perfect, "noise": noise}, y, k=5, seed=0)
    assert list(table.index) == ["random", "tags", "noise"]
    assert list(table.columns) == ["P@5", "mAP", "NDCG@5", "queries"]
    assert table.loc["tags", "mAP"] == pytest.approx(1.0) and table.loc["tags", "P@5"] == pytest.approx(1.0)
    assert table.loc["tags", "NDCG@5"] == pytest.approx(1.0)
    assert table.loc["random", "mAP"] < 0.5
    assert (table["queries"] == 40).all()
    # the random baseline is seeded
    again = metrics.retrieval_table({}, y, k=5, seed=0)
    assert again.loc["random", "mAP"] == table.loc["random", "mAP"]
    with pytest.raises(ValueError, match="embeddings for"):
        metrics.retrieval_table({"bad": noise[:5]}, y)


def test_standardise_uses_the_fit_rows():
    f = np.array([[0.0, 1.0], [2.0, 1.0], [10.0, 5.0]])
    s = metrics.standardise(f, fit_rows=[0, 1])
    np.testing.assert_allclose(s[:2, 0], [-1.0, 1.0])
    assert s[2, 0] == pytest.approx(9.0) and s[0, 1] == 0.0  # constant column: no division by 0


# --------------------------------------------------------------------------- networks and training


@pytest.fixture(scope="module")
def tiny_embedding():
    convnet.set_seed(0)
    return siamese.embedding_model(n_mels=32, crop_frames=64, embedding_dim=16, n_filters=4)


def test_embedding_is_unit_length(tiny_embedding):
    rng = np.random.default_rng(0)
    x = rng.normal(-40, 10, size=(5, 32, 64, 1)).astype(np.float32)
    emb = np.asarray(tiny_embedding.predict_on_batch(x))
    assert emb.shape == (5, 16)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)


def _toy_clips(n_per_class: int = 12, n_classes: int = 3, seed: int = 0):
    """Spectrogram-like clips whose class is a band of energy, plus noise; tags = one-hot class."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_classes), n_per_class)
    x = rng.normal(-60, 6, size=(len(labels), 32, 80)).astype(np.float32)
    for i, c in enumerate(labels):
        x[i, 4 + 9 * c:10 + 9 * c] += 30
    return x, np.eye(n_classes, dtype=np.float32)[labels]


@pytest.mark.slow
def test_triplet_training_lowers_the_loss_and_ranks_same_class_first():
    x, y = _toy_clips()
    kwargs = dict(crop_frames=64, embedding_dim=8, n_filters=4, epochs=4, batch_size=8, learning_rate=5e-3,
                  neg_threshold=0.0, seed=3)
    model, history = siamese.train_siamese(x, y, **kwargs)
    assert len(history["loss"]) == 4 and history["loss"][-1] < history["loss"][0]
    emb = siamese.embed_clips(model, x)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    table = metrics.retrieval_table({"siamese": emb}, y, k=5, seed=0)
    assert table.loc["siamese", "mAP"] > table.loc["random", "mAP"] + 0.2
    # seeded: the same run gives the same embedding
    model2, history2 = siamese.train_siamese(x, y, **kwargs)
    np.testing.assert_allclose(history2["loss"], history["loss"], rtol=1e-6)
    np.testing.assert_allclose(siamese.embed_clips(model2, x), emb, atol=1e-6)


@pytest.mark.slow
def test_random_mining_and_contrastive_loss_train():
    x, y = _toy_clips(n_per_class=6)
    model, history = siamese.train_siamese(x, y, crop_frames=64, embedding_dim=8, n_filters=4, epochs=2,
                                              batch_size=6, loss="contrastive", mining="random", neg_threshold=0.0)
    assert len(history["loss"]) == 2 and np.all(np.isfinite(history["loss"]))
    with pytest.raises(ValueError, match="unknown mining"):
        siamese.train_siamese(x, y, mining="hardest")


def test_embed_clips_averages_consecutive_crops(tiny_embedding):
    rng = np.random.default_rng(2)
    x = rng.normal(-40, 10, size=(3, 32, 100)).astype(np.float32)
    emb = siamese.embed_clips(tiny_embedding, x, indices=[2, 0])
    crops = np.stack([x[2, :, :64], x[2, :, 36:]])  # crop starts 0 and 36
    by_hand = np.asarray(tiny_embedding.predict_on_batch(crops[..., None])).mean(axis=0)
    np.testing.assert_allclose(emb[0], by_hand / np.linalg.norm(by_hand), atol=1e-5)
    np.testing.assert_allclose(siamese.embed_clips(tiny_embedding, x, [2, 0], batch_size=2), emb, atol=1e-5)


# --------------------------------------------------------------------------- search


def test_exact_knn_matches_brute_force_and_excludes_the_query():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(50, 6))
    ids, dist = index.exact_knn(v, k=4)
    u = v / np.linalg.norm(v, axis=1, keepdims=True)
    sims = u @ u.T
    np.fill_diagonal(sims, -np.inf)
    np.testing.assert_array_equal(ids, np.argsort(-sims, axis=1)[:, :4])
    np.testing.assert_allclose(dist, 1 - np.sort(sims, axis=1)[:, ::-1][:, :4], atol=1e-5)
    assert not np.any(ids == np.arange(50)[:, None])
    near_ids, near_d = index.nearest(v, 7, k=3)
    np.testing.assert_array_equal(near_ids, ids[7, :3])


def _recall_at_k(approx_ids, exact_ids, k=10):
    """The test's oracle: the mean share of the exact k nearest neighbours that were found."""
    a, e = np.asarray(approx_ids)[:, :k], np.asarray(exact_ids)[:, :k]
    return float(np.mean([len(set(x) & set(z)) / k for x, z in zip(a.tolist(), e.tolist())]))


def test_faiss_hnsw_recall_against_exact_search():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(2000, 32)).astype(np.float32)
    exact, _ = index.exact_knn(v, k=10)
    hnsw = index.hnsw_index(v)
    approx, approx_d = index.approx_knn(hnsw, k=10)
    assert approx.shape == (2000, 10)
    assert not np.any(approx == np.arange(2000)[:, None])
    assert _recall_at_k(approx, exact, k=10) >= 0.95
    assert np.all(np.diff(approx_d, axis=1) >= -1e-5)  # nearest first
    ids, _ = index.nearest(hnsw, 3, k=5)
    assert len(ids) == 5 and 3 not in ids
    # the build is deterministic
    again, _ = index.approx_knn(index.hnsw_index(v), k=10, queries=np.arange(100))
    np.testing.assert_array_equal(again, approx[:100])


def test_recall_at_k_by_hand():
    assert _recall_at_k([[1, 2, 3]], [[3, 2, 1]], k=3) == 1.0
    assert _recall_at_k([[1, 2], [5, 6]], [[1, 9], [7, 8]], k=2) == pytest.approx(0.25)


# --------------------------------------------------------------------------- the course index


def _tone(path, freq: float, seconds: float = 2.0):
    t = np.arange(int(seconds * audio.SR)) / audio.SR
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), audio.SR)
    return path


@pytest.fixture
def tiny_index(data_root, tmp_path):
    folder = data_root / "clips"
    folder.mkdir(parents=True)
    files = [_tone(folder / f"tone{i}.wav", 150 * (i + 1)) for i in range(6)]
    x = np.stack([audio.log_mel(audio.load_audio(f)) for f in files]).astype(np.float16)
    tags = ["low", "high", "tone"]
    y = np.array([[1, 0, 1]] * 3 + [[0, 1, 1]] * 3, dtype=np.float32)
    df = pd.DataFrame({"clip_id": np.arange(10, 16), "path": [str(f) for f in files],
                       "split": ["train"] * 3 + ["test"] * 3})
    data = TaggerData(df, tags, x, y, {"train": np.arange(3), "test": np.arange(3, 6)})
    convnet.set_seed(0)
    model = siamese.embedding_model(crop_frames=64, embedding_dim=8, n_filters=4)
    out = index.build_course_index(folder=tmp_path / "index", data=data, model=model)
    return out, files, data


def test_similar_to_file_returns_k_rows(tiny_index, tmp_path):
    folder, files, _ = tiny_index
    assert sorted(p.name for p in folder.iterdir()) == sorted(index.INDEX_FILES.values())
    course = index.load_course_index(folder=folder, build_if_missing=False)
    assert course.embeddings.shape == (6, 8)
    assert course.clips["path"][0] == "clips/tone0.wav"  # relative to the data folder
    assert course.clips["tags"][0] == "low, tone"
    assert set(course.info["test_scores"]) == {"P@10", "mAP", "NDCG@10", "queries"}
    result = index.similar_to_file(files[4], k=3, folder=folder)
    assert list(result.columns) == ["rank", "clip_id", "distance", "tags", "path"]
    assert len(result) == 3 and list(result["rank"]) == [1, 2, 3]
    assert result["clip_id"][0] == 14 and result["distance"][0] == pytest.approx(0.0, abs=1e-4)
    assert result["path"][0] == str(files[4])
    assert np.all(np.diff(result["distance"]) >= -1e-6)
    # a short file (below one crop) is repeated to fill it
    short = index.similar_to_file(_tone(tmp_path / "short.wav", 300, 0.5), k=2, index=course)
    assert len(short) == 2


def test_index_rebuild_reuses_the_model_and_missing_index_is_reported(tiny_index, tmp_path):
    folder, _, data = tiny_index
    before = np.load(folder / "embeddings.npy")
    # no model given and one saved: it is reused (no training), the folder swapped in whole
    index.build_course_index(folder=folder, data=data)
    np.testing.assert_array_equal(np.load(folder / "embeddings.npy"), before)
    assert not [p.name for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temporary folder left
    with pytest.raises(CourseError, match="no similarity index"):
        index.load_course_index(folder=tmp_path / "nowhere", build_if_missing=False)


def test_similar_checks_the_query_and_k_before_building_the_index(data_root, tmp_path, capsys, monkeypatch):
    """Issue 16: `similar missing.wav` spent minutes building the index before saying the file is missing."""
    import soundfile as sf

    from course_utils import cli
    from course_utils.similarity import index
    from course_utils.core.errors import AudioError, CourseError

    def no_build(*args, **kwargs):
        raise AssertionError("the index was built")

    monkeypatch.setattr(index, "build_course_index", no_build)
    missing = tmp_path / "missing.wav"
    assert cli.main(["similar", str(missing)]) == 1
    err = capsys.readouterr().err
    assert err == f"error: {missing}: file not found (check the path, or download the dataset first)\n"
    wav = tmp_path / "q.wav"
    sf.write(wav, (0.3 * np.sin(np.arange(24000) / 5)).astype(np.float32), 12000)
    assert cli.main(["similar", str(wav), "--k", "-3"]) == 1
    assert capsys.readouterr().err == "error: k must be a whole number of at least 1, not -3\n"
    with pytest.raises(AudioError, match="missing.wav: file not found"):
        index.similar_to_file(missing)
    with pytest.raises(CourseError, match="k must be"):
        index.similar_to_file(wav, k=0)
