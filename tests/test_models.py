"""Tests of course_utils.models.convnet: the compact convnet, its pools, seeding and saving."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

keras = pytest.importorskip("keras")

# Keras' tensor-to-NumPy conversion trips a NumPy 2 DeprecationWarning inside Keras; not ours.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")

from course_utils.core.errors import CourseError  # noqa: E402
from course_utils.models import convnet  # noqa: E402


def _random_logmel(n, n_mels, n_frames, seed=0):
    """Random 'log-mel' input in a realistic dB range, shape (n, n_mels, n_frames, 1)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-80.0, 10.0, size=(n, n_mels, n_frames, 1)).astype(np.float32)


def test_pools_of_the_paper_reach_one_by_one():
    pools = convnet.pool_sizes(96, 1360)
    assert pools == [(2, 4), (3, 4), (2, 5), (2, 4), (4, 4)]
    f, t = 96, 1360
    for pf, pt in pools:
        f, t = f // pf, t // pt
    assert (f, t) == (1, 1)


@pytest.mark.parametrize("n_frames", [32, 40, 64, 141, 256, 500, 1366])
def test_pools_reach_one_by_one_for_any_length(n_frames):
    pools = convnet.pool_sizes(96, n_frames)
    assert len(pools) == 5
    assert [p[0] for p in pools] == [2, 3, 2, 2, 4]  # frequency pools fixed for 96 bands
    t = n_frames
    for _, pt in pools:
        assert pt >= 2
        t //= pt
    assert t == 1


@pytest.mark.parametrize("n_frames", [1360, 256, 100])
def test_output_shape(n_frames):
    model = convnet.compact_convnet(n_frames=n_frames)
    assert model.input_shape == (None, 96, n_frames, 1)
    out = model.predict_on_batch(_random_logmel(3, 96, n_frames))
    assert out.shape == (3, 50)
    assert np.all((out > 0) & (out < 1))


def test_block_layers_are_named():
    model = convnet.compact_convnet(n_frames=256)
    names = {layer.name for layer in model.layers}
    for i in range(1, 6):
        for part in ("conv", "bn", "elu", "pool"):
            assert f"block{i}_{part}" in names
    assert "tags" in names and "input_scaling" in names
    assert convnet.block_output_names(model) == [f"block{i}_elu" for i in range(1, 6)]
    assert model.get_layer("block5_pool").output.shape[1:3] == (1, 1)


def test_block_outputs_give_160_features():
    model = convnet.compact_convnet(n_frames=256)
    outputs = [keras.layers.GlobalAveragePooling2D()(model.get_layer(n).output) for n in convnet.block_output_names(model)]
    extractor = keras.Model(model.inputs, keras.layers.Concatenate()(outputs))
    assert extractor.predict_on_batch(_random_logmel(2, 96, 256)).shape == (2, 160)


def test_block_output_names_rejects_other_models():
    inputs = keras.Input((4,))
    with pytest.raises(ValueError):
        convnet.block_output_names(keras.Model(inputs, keras.layers.Dense(1)(inputs)))


@pytest.mark.parametrize("n_mels,n_frames", [(96, 31), (96, 8), (16, 256)])
def test_too_small_input_raises(n_mels, n_frames):
    with pytest.raises(ValueError, match="at least 32"):
        convnet.compact_convnet(n_mels=n_mels, n_frames=n_frames)


def test_custom_pools_must_reach_one_by_one():
    with pytest.raises(ValueError, match="1 x 1"):
        convnet.compact_convnet(n_frames=1360, pools=[(2, 4), (2, 4), (2, 4), (2, 4), (2, 4)])


def test_parameter_count_is_small():
    model = convnet.compact_convnet()
    n_params = model.count_params()
    # 5 convolutions of 3x3x32 maps, batch norm, and a 32 -> 50 output layer
    assert 35_000 < n_params < 70_000
    assert convnet.compact_convnet(n_frames=256).count_params() == n_params  # length-independent


def test_input_scaling_is_fixed():
    model = convnet.compact_convnet(n_frames=64)
    layer = model.get_layer("input_scaling")
    assert not layer.trainable_weights
    x = np.full((1, 96, 64, 1), -40.0, dtype=np.float32)
    np.testing.assert_allclose(np.asarray(layer(x)), 0.0, atol=1e-6)


def test_set_seed_makes_models_identical():
    x = _random_logmel(2, 96, 128)
    convnet.set_seed(7)
    a = convnet.compact_convnet(n_frames=128).predict_on_batch(x)
    convnet.set_seed(7)
    b = convnet.compact_convnet(n_frames=128).predict_on_batch(x)
    np.testing.assert_array_equal(a, b)
    convnet.set_seed(8)
    c = convnet.compact_convnet(n_frames=128).predict_on_batch(x)
    assert not np.allclose(a, c)


def test_set_seed_runs_tf_data_pipelines_synchronously():
    # Keras feeds a PyDataset to model.fit through tf.data; its autotuned prefetch stalled training
    # on one core. After set_seed a pipeline's Python function runs for every element, in order.
    import tensorflow as tf

    convnet.set_seed(0)
    calls = []
    dataset = tf.data.Dataset.range(3).map(lambda x: (calls.append(1), x)[1])
    assert [int(v) for v in dataset] == [0, 1, 2]
    assert len(calls) == 1 + 3  # traced once, then run eagerly per element (only the trace without it)


def test_save_load_roundtrip(tmp_path):
    convnet.set_seed(0)
    model = convnet.compact_convnet(n_frames=64, n_tags=5)
    x = _random_logmel(4, 96, 64)
    path = convnet.save_model(model, tmp_path / "sub" / "m.keras")
    assert path.is_file()
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.keras"]  # no temp file left
    loaded = convnet.load_model(path)
    np.testing.assert_array_equal(model.predict_on_batch(x), loaded.predict_on_batch(x))
    assert convnet.block_output_names(loaded) == convnet.block_output_names(model)
    # overwriting an existing file works
    convnet.save_model(model, path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.keras"]


def test_save_needs_keras_suffix(tmp_path):
    with pytest.raises(ValueError, match=".keras"):
        convnet.save_model(convnet.compact_convnet(n_frames=32, n_tags=2), tmp_path / "m.h5")


def test_load_missing_model_names_it(tmp_path):
    with pytest.raises(CourseError, match="nope.keras"):
        convnet.load_model(tmp_path / "nope.keras")


def test_default_model_path(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    assert convnet.default_model_path() == tmp_path.resolve() / "models" / "compact_convnet_mini.keras"
    assert convnet.default_model_path("full").name == "compact_convnet_full.keras"
