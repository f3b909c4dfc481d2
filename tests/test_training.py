"""Tests of course_utils.models.training: the log-mel cache, the batch sequence and the training loop."""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import warnings

import numpy as np
import pytest

pytest.importorskip("keras")

# Keras' tensor-to-NumPy conversion trips a NumPy 2 DeprecationWarning inside Keras; not ours.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
sf = pytest.importorskip("soundfile")

import keras  # noqa: E402

from course_utils import audio  # noqa: E402
from course_utils.core.errors import AudioError, CourseError  # noqa: E402
from course_utils.models import convnet, metrics, training

SR = audio.SR
DURATION = 1.5  # seconds: 71 frames at 12 kHz with a hop of 256
N_FRAMES = audio.n_frames(int(DURATION * SR))
KINDS = ("tone", "noise", "both")  # labels: [tone present, noise present]


def _clip(kind, rng, seconds=DURATION):
    """A synthetic clip: a sine tone, white noise, or both, at a random level."""
    t = np.arange(int(seconds * SR)) / SR
    y = np.zeros_like(t)
    if kind in ("tone", "both"):
        y += 0.3 * np.sin(2 * np.pi * rng.uniform(200, 2000) * t)
    if kind in ("noise", "both"):
        y += 0.1 * rng.standard_normal(len(t))
    return (y * rng.uniform(0.3, 1.0)).astype(np.float32)


@pytest.fixture(scope="module")
def toy_dataset(tmp_path_factory):
    """24 wav files (8 of each kind, in turn) and their two tags: tone, noise."""
    folder = tmp_path_factory.mktemp("wavs")
    rng = np.random.default_rng(0)
    paths, labels = [], []
    for i in range(24):
        kind = KINDS[i % 3]
        path = folder / f"clip{i:02d}_{kind}.wav"
        sf.write(path, _clip(kind, rng), SR)
        paths.append(path)
        labels.append([kind != "noise", kind != "tone"])
    return paths, np.array(labels, dtype=np.float32)


@pytest.fixture(scope="module")
def toy_cache(toy_dataset, tmp_path_factory):
    paths, labels = toy_dataset
    with pytest.MonkeyPatch.context() as env:  # a private data folder for the module
        env.setenv("COURSE_DATA_DIR", str(tmp_path_factory.mktemp("data")))
        x = training.build_logmel_cache(paths, progress=False)
    return x, labels


# --------------------------------------------------------------------------- cache


def test_cache_shape_dtype_and_values(toy_dataset, data_root):
    paths, _ = toy_dataset
    x = training.build_logmel_cache(paths, progress=False)
    assert isinstance(x, np.memmap)
    assert x.shape == (len(paths), audio.N_MELS, N_FRAMES)
    assert x.dtype == np.float16
    expected = audio.log_mel(audio.load_audio(paths[4], SR))
    np.testing.assert_allclose(x[4].astype(np.float32), expected, atol=0.07)
    # one file, data/cache/logmel/<key>.npy: the key holds the files and the parameters
    key = training.logmel_cache_key(paths)
    assert str(x.filename) == str(data_root / "cache" / "logmel" / f"{key}.npy")
    assert [p.name for p in (data_root / "cache" / "logmel").iterdir()] == [f"{key}.npy"]
    assert key != training.logmel_cache_key(paths, sr=16000) != training.logmel_cache_key(paths[::-1])


def test_cache_is_reused_without_recomputing(toy_dataset, data_root, monkeypatch):
    paths, _ = toy_dataset
    first = training.build_logmel_cache(paths, progress=False)
    mtime = os.stat(first.filename).st_mtime_ns
    calls = []
    original = training._logmel_or_error
    monkeypatch.setattr(training, "_logmel_or_error", lambda *a: calls.append(a) or original(*a))
    second = training.build_logmel_cache(paths, progress=False)
    assert calls == []
    assert second.filename == first.filename
    assert os.stat(second.filename).st_mtime_ns == mtime
    np.testing.assert_array_equal(first, second)
    # other parameters or another file list make another cache
    third = training.build_logmel_cache(paths[:5], progress=False)
    assert len(calls) == 5 and third.filename != first.filename
    assert len(list((data_root / "cache" / "logmel").glob("*.npy"))) == 2


@pytest.mark.parametrize("damage", ["truncated", "other shape", "other dtype"])
def test_a_damaged_cache_is_built_again(toy_dataset, data_root, damage):
    """The name holds the key; the .npy header, checked against the file's size, the rest."""
    paths, _ = toy_dataset
    first = training.build_logmel_cache(paths[:3], progress=False)
    npy, expected = first.filename, np.array(first)
    del first
    if damage == "truncated":
        with open(npy, "rb") as f:
            head = f.read(2000)
        os.remove(npy)  # a new file, not a write into the old one
        with open(npy, "wb") as f:
            f.write(head)
    else:
        os.remove(npy)
        np.save(npy, np.zeros((3, 5, 7), np.float16) if damage == "other shape" else expected.astype(np.float32))
    again = training.build_logmel_cache(paths[:3], progress=False)
    assert again.filename == npy
    np.testing.assert_array_equal(again, expected)


def test_a_killed_cache_build_leaves_no_hidden_file_behind_for_long(toy_dataset, data_root):
    """Issue 16: the hidden half-written file of a killed build is removed by the next build."""
    from course_utils.core import files

    paths, _ = toy_dataset
    folder = data_root / "cache" / "logmel"
    folder.mkdir(parents=True)
    stale = folder / ".0123456789abcdef.tmp-0123abcd.npy"
    stale.write_bytes(b"\x93NUMPY" + b"x" * 1000)
    then = time.time() - 2 * files.STALE_AFTER
    os.utime(stale, (then, then))
    busy = folder / ".fedcba9876543210.tmp-89abcdef.npy"  # another process writing now
    busy.write_bytes(b"\x93NUMPY")
    training.build_logmel_cache(paths[:2], progress=False)
    assert not stale.exists() and busy.exists()

def test_cache_duration_pads_and_crops(toy_dataset, data_root):
    paths, _ = toy_dataset
    x = training.build_logmel_cache(paths[:3], duration=2.0, dtype="float32", progress=False)
    assert x.shape == (3, audio.N_MELS, audio.n_frames(2 * SR)) and x.dtype == np.float32
    x = training.build_logmel_cache(paths[:3], duration=1.0, progress=False)
    assert x.shape[2] == audio.n_frames(SR)


def test_cache_load_and_errors(toy_cache, tmp_path, data_root):
    x, _ = toy_cache
    again = training._open_logmel_cache(x.filename)
    assert isinstance(again, np.memmap) and again.shape == x.shape
    with pytest.raises(CourseError, match="not found"):
        training._open_logmel_cache(tmp_path / "missing.npy")
    with pytest.raises(ValueError):
        training.build_logmel_cache([])


@pytest.mark.parametrize("n_jobs", [1, pytest.param(2, marks=pytest.mark.slow)])  # 2: starts the worker pool
def test_corrupt_file_names_it_and_leaves_no_cache(toy_dataset, tmp_path, data_root, n_jobs):
    paths, _ = toy_dataset
    bad = tmp_path / "audio" / "broken.wav"
    bad.parent.mkdir()
    bad.write_bytes(b"RIFF\x00\x01 this is not a wav file" * 10)
    with pytest.raises(AudioError, match="broken.wav") as info:
        training.build_logmel_cache(paths[:3] + [bad] + paths[3:6], n_jobs=n_jobs, progress=False)
    assert info.value.path == str(bad)
    assert list((data_root / "cache" / "logmel").iterdir()) == []


def test_missing_file_raises_audio_error(toy_dataset, tmp_path, data_root):
    paths, _ = toy_dataset
    with pytest.raises(AudioError, match="nothere.wav"):
        training.build_logmel_cache(paths[:2] + [tmp_path / "nothere.wav"], progress=False)


def test_different_lengths_need_duration(toy_dataset, tmp_path, data_root):
    paths, _ = toy_dataset
    longer = tmp_path / "longer.wav"
    sf.write(longer, _clip("tone", np.random.default_rng(1), seconds=2.0), SR)
    with pytest.raises(CourseError, match="duration="):
        training.build_logmel_cache(paths[:2] + [longer], progress=False)
    assert not list((data_root / "cache" / "logmel").glob("*.npy"))


@pytest.mark.slow
def test_joblib_workers_give_the_same_cache(toy_dataset, tmp_path, monkeypatch):
    paths, _ = toy_dataset
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "a"))
    a = training.build_logmel_cache(paths[:4], n_jobs=1, progress=False)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "b"))
    b = training.build_logmel_cache(paths[:4], n_jobs=2, progress=False)
    assert a.filename != b.filename
    np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- sequence


def test_sequence_shapes(toy_cache):
    x, y = toy_cache
    seq = training.LogMelSequence(x, y, batch_size=4, crop_frames=32, training=True, seed=0)
    assert len(seq) == 6  # 24 clips in batches of 4
    xb, yb = seq[0]
    assert xb.shape == (4, 96, 32, 1) and xb.dtype == np.float32
    assert yb.shape == (4, 2) and yb.dtype == np.float32
    small = training.LogMelSequence(x, y, batch_size=5, crop_frames=32, training=True, seed=0)
    assert small[4][0].shape == (4, 96, 32, 1)  # last batch is smaller
    assert seq.x is x  # reads from the memmap, no copy
    with pytest.raises(IndexError):
        seq[6]


def test_sequence_training_crops_change_each_epoch_and_repeat_with_seed(toy_cache):
    x, y = toy_cache
    a = training.LogMelSequence(x, y, batch_size=6, crop_frames=32, training=True, seed=3)
    b = training.LogMelSequence(x, y, batch_size=6, crop_frames=32, training=True, seed=3)
    epoch0 = [a[i][0] for i in range(len(a))]
    a.on_epoch_end()
    epoch1 = [a[i][0] for i in range(len(a))]
    assert not all(np.array_equal(u, v) for u, v in zip(epoch0, epoch1))
    for u, v in zip(epoch0, [b[i][0] for i in range(len(b))]):
        np.testing.assert_array_equal(u, v)
    b.on_epoch_end()
    for u, v in zip(epoch1, [b[i][0] for i in range(len(b))]):
        np.testing.assert_array_equal(u, v)
    c = training.LogMelSequence(x, y, batch_size=6, crop_frames=32, training=True, seed=4)
    assert not np.array_equal(c[0][0], epoch0[0])
    # each training example is a real crop of its clip, with its own labels
    xb, yb = a[0]
    row = a._order[0]
    start = a._starts[0]
    np.testing.assert_array_equal(xb[0, :, :, 0], x[row, :, start : start + 32].astype(np.float32))
    np.testing.assert_array_equal(yb[0], y[row])


def test_sequence_evaluation_mode(toy_cache):
    x, y = toy_cache
    seq = training.LogMelSequence(x, y, batch_size=5, indices=[3, 1, 7])
    xb, yb = seq[0]
    assert xb.shape == (3, 96, N_FRAMES, 1)
    np.testing.assert_array_equal(xb[:, :, :, 0], x[[3, 1, 7]].astype(np.float32))
    np.testing.assert_array_equal(yb, y[[3, 1, 7]])
    np.testing.assert_array_equal(seq.labels, y[[3, 1, 7]])
    seq.on_epoch_end()
    np.testing.assert_array_equal(seq[0][0], xb)  # no shuffling
    centre = training.LogMelSequence(x, batch_size=2, crop_frames=31)
    start = (N_FRAMES - 31) // 2
    np.testing.assert_array_equal(centre[0][0, :, :, 0], x[0, :, start : start + 31].astype(np.float32))
    assert isinstance(centre[0], np.ndarray)  # no labels: inputs only


def test_sequence_rejects_bad_arguments(toy_cache):
    x, y = toy_cache
    with pytest.raises(ValueError):
        training.LogMelSequence(x, y, crop_frames=N_FRAMES + 1)
    with pytest.raises(ValueError):
        training.LogMelSequence(x, y[:3])
    with pytest.raises(ValueError):
        training.LogMelSequence(x, y, indices=[0, 99])


# --------------------------------------------------------------------------- prediction


def test_crop_starts():
    assert audio.crop_starts(1365, 256) == [0, 256, 512, 768, 1024, 1109]
    assert audio.crop_starts(512, 256) == [0, 256]
    assert audio.crop_starts(256, 256) == [0]
    with pytest.raises(ValueError):
        audio.crop_starts(100, 256)


def test_predict_clips_averages_consecutive_crops(toy_cache):
    x, y = toy_cache
    convnet.set_seed(0)
    model = convnet.compact_convnet(n_frames=32, n_tags=2)
    seq = training.LogMelSequence(x, y, indices=[0, 5, 9])
    probs = training.predict_clips(model, seq, batch_size=4)
    assert probs.shape == (3, 2) and probs.dtype == np.float32
    starts = audio.crop_starts(N_FRAMES, 32)  # 0, 32, 39
    for k, row in enumerate([0, 5, 9]):
        crops = np.stack([x[row, :, s : s + 32] for s in starts]).astype(np.float32)[..., None]
        expected = np.asarray(model.predict_on_batch(crops)).mean(axis=0)
        np.testing.assert_allclose(probs[k], expected, rtol=1e-5, atol=1e-6)
    # plain arrays, with or without a channel axis, give the same
    np.testing.assert_allclose(training.predict_clips(model, x[[0, 5, 9]]), probs, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(training.predict_clips(model, np.asarray(x[[0, 5, 9]])[..., None]), probs, rtol=1e-5, atol=1e-6)
    # a model longer than the clips: each clip is repeated to fill it (the one window policy)
    longer = convnet.compact_convnet(n_frames=N_FRAMES + 10, n_tags=2)
    tiled = audio.tile(np.asarray(x[[0, 5, 9]], dtype=np.float32), N_FRAMES + 10, axis=2)
    np.testing.assert_allclose(training.predict_clips(longer, seq), np.asarray(longer.predict_on_batch(tiled[..., None])),
                               rtol=1e-5, atol=1e-6)


def test_predict_clips_never_passes_more_crops_than_batch_size(toy_cache):
    """Issue 16: an hour-long clip must not go through the network as one batch of every crop."""
    x, y = toy_cache
    convnet.set_seed(0)
    model = convnet.compact_convnet(n_frames=32, n_tags=2)  # 3 crops per clip
    expected = training.predict_clips(model, x[[0, 5]], batch_size=16)
    sizes = []
    real = model.predict_on_batch
    model.predict_on_batch = lambda batch: (sizes.append(len(batch)), real(batch))[1]
    probs = training.predict_clips(model, x[[0, 5]], batch_size=2)
    assert max(sizes) <= 2
    np.testing.assert_allclose(probs, expected, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- training


def _splits(toy_cache, seed=0):
    x, y = toy_cache
    train = training.LogMelSequence(x, y, batch_size=4, crop_frames=48, training=True, seed=seed, indices=np.arange(0, 12))
    val = training.LogMelSequence(x, y, batch_size=8, indices=np.arange(12, 24))
    return train, val


@pytest.mark.slow
def test_train_tagger_learns_tone_vs_noise(toy_cache, tmp_path):
    train, val = _splits(toy_cache)
    convnet.set_seed(0)
    model = convnet.compact_convnet(n_frames=48, n_tags=2)
    before = metrics.macro_scores(val.labels, training.predict_clips(model, val))["roc_auc"]
    history = training.train_tagger(model, train, val, epochs=3, learning_rate=3e-3, patience=None, checkpoint_path=tmp_path / "ckpt" / "best.keras")
    assert set(history) >= {"loss", "val_loss", "val_roc_auc", "val_pr_auc"}
    assert len(history["loss"]) == 3
    assert min(history["loss"][1:]) < history["loss"][0]
    best = max(history["val_roc_auc"])
    assert best > 0.8 and best > before
    # the restored weights are those of the best epoch, and the checkpoint holds them too
    after = metrics.macro_scores(val.labels, training.predict_clips(model, val))["roc_auc"]
    assert after == pytest.approx(best)
    saved = convnet.load_model(tmp_path / "ckpt" / "best.keras")
    np.testing.assert_allclose(training.predict_clips(saved, val), training.predict_clips(model, val), rtol=1e-5, atol=1e-6)


class _RecordPredictions(keras.callbacks.Callback):
    """Keeps the validation predictions of every epoch."""

    def __init__(self, val):
        super().__init__()
        self.val = val
        self.predictions = []

    def on_epoch_end(self, epoch, logs=None):
        self.predictions.append(training.predict_clips(self.model, self.val))


@pytest.mark.slow
def test_early_stopping_on_val_roc_auc(toy_cache):
    train, val = _splits(toy_cache, seed=1)
    convnet.set_seed(1)
    model = convnet.compact_convnet(n_frames=48, n_tags=2)
    recorder = _RecordPredictions(val)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = training.train_tagger(model, train, val, epochs=25, learning_rate=3e-3, patience=1, callbacks=[recorder])
    assert not [w for w in caught if "val_roc_auc" in str(w.message)]  # the metric was found
    n = len(history["val_roc_auc"])
    assert n < 25  # stopped early: the toy problem is solved within a few epochs
    best = int(np.argmax(history["val_roc_auc"]))  # first best epoch
    assert best == n - 2  # patience 1: one epoch without improvement, then stop
    np.testing.assert_allclose(training.predict_clips(model, val), recorder.predictions[best], rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_roc_auc_callback_history(toy_cache):
    train, val = _splits(toy_cache)
    convnet.set_seed(0)
    model = convnet.compact_convnet(n_frames=48, n_tags=2)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    callback = training.RocAucCallback(val)
    history = model.fit(train, epochs=2, callbacks=[callback], verbose=0)
    assert [h["epoch"] for h in callback.history] == [1, 2]
    assert history.history["val_roc_auc"] == [h["roc_auc"] for h in callback.history]
    assert callback.last_scores.shape == (12, 2)
    with pytest.raises(ValueError):
        training.RocAucCallback(training.LogMelSequence(toy_cache[0]))


@pytest.mark.slow
def test_training_repeats_with_the_same_seed(toy_cache):
    runs = []
    for _ in range(2):
        train, val = _splits(toy_cache)
        convnet.set_seed(0)
        model = convnet.compact_convnet(n_frames=48, n_tags=2)
        training.train_tagger(model, train, val, epochs=2, patience=None)
        runs.append(training.predict_clips(model, val))
    np.testing.assert_array_equal(runs[0], runs[1])
