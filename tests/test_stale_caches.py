"""Rewriting an input file at the same path invalidates every cache that used it.

Every cache of the course names its entries with :func:`course_utils.core.cache.cache_key`
(path, size, ``mtime_ns``, parameters, code version). Each test below fills one cache, rewrites
one input in place with other content of the *same size* (so only the modification time and the
bytes tell), and checks that the next call computes from the new content.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from course_utils.core import cache
from course_utils.features import clip_features
from course_utils.fetch import checksums
from course_utils.models import training
from course_utils.svm import protocol

SR = 12000


def _rewrite_same_size(path, write) -> None:
    """Rewrite ``path`` with ``write(path)``; check the size is unchanged; move mtime on by 1 s."""
    st = os.stat(path)
    write(path)
    assert os.stat(path).st_size == st.st_size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # even on a coarse file-system clock


def _tone(path, freq: float, seconds: float = 3.0) -> None:
    t = np.arange(int(seconds * SR)) / SR
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), SR, subtype="FLOAT")


def _noise(path) -> None:
    y, sr = sf.read(path, dtype="float32")
    sf.write(path, np.random.default_rng(1).uniform(-0.5, 0.5, len(y)).astype(np.float32), sr, subtype="FLOAT")


@pytest.fixture
def wavs(tmp_path):
    files = [tmp_path / f"clip{k}.wav" for k in range(3)]
    for k, f in enumerate(files):
        _tone(f, 220.0 * (k + 1))
    return files


def test_cache_key_changes_with_content_params_and_version(tmp_path):
    f = tmp_path / "a.bin"
    f.write_bytes(b"x" * 100)
    key = cache.cache_key(version="v1", files=[f], params={"a": 1, "b": 2})
    assert key == cache.cache_key(version="v1", files=[f], params={"b": 2, "a": 1})  # order-free
    assert key != cache.cache_key(version="v2", files=[f], params={"a": 1, "b": 2})
    assert key != cache.cache_key(version="v1", files=[f], params={"a": 1, "b": 3})
    _rewrite_same_size(f, lambda p: p.write_bytes(b"y" * 100))
    assert key != cache.cache_key(version="v1", files=[f], params={"a": 1, "b": 2})
    with pytest.raises(FileNotFoundError):
        cache.cache_key(version="v1", files=[tmp_path / "missing.wav"])


def test_logmel_cache(wavs, data_root):
    first = np.array(training.build_logmel_cache(wavs, progress=False))
    _rewrite_same_size(wavs[0], _noise)
    second = np.array(training.build_logmel_cache(wavs, progress=False))
    assert np.abs(second[0].astype(float) - first[0]).max() > 10  # dB
    np.testing.assert_array_equal(second[1:], first[1:])


def test_clip_features_cache(data_root, wavs):
    table = pd.DataFrame({"path": [str(p) for p in wavs], "offset": 0.0, "duration": np.nan})
    first = clip_features.ClipFeatures("mfcc").fit().transform(table)
    _rewrite_same_size(wavs[0], _noise)
    second = clip_features.ClipFeatures("mfcc").fit().transform(table)
    assert np.abs(second[0] - first[0]).max() > 1.0
    np.testing.assert_array_equal(second[1:], first[1:])


def test_release_score_cache(tmp_path, data_root):
    root = tmp_path / "choi2017"
    (root / "features").mkdir(parents=True)
    (root / "labels").mkdir()
    y = np.repeat([0, 1], 20)
    pd.DataFrame({"id": range(40), "filepath": [f"{i}.wav" for i in range(40)], "label": y}).to_csv(
        root / "labels" / "gtzan_speechmusic.csv")
    layer = root / "features" / "gtzan_speechmusic_layer_0.npy"
    rng = np.random.default_rng(0)
    np.save(layer, (rng.normal(size=(40, 32)) + 3 * y[:, None]).astype(np.float32))  # separable
    first = protocol.evaluate_release(root, "gtzan_speechmusic", "0", cache=True, n_jobs=1)
    _rewrite_same_size(layer, lambda p: np.save(p, rng.normal(size=(40, 32)).astype(np.float32)))  # no signal
    second = protocol.evaluate_release(root, "gtzan_speechmusic", "0", cache=True, n_jobs=1)
    assert not second["cached"]
    assert first["best_score"] > 0.95 and second["best_score"] < 0.9


def test_checksum_memo(tmp_path, monkeypatch):
    monkeypatch.setattr(checksums, "_MEMO_MIN_SIZE", 0)  # memoise small files too, for the test
    f = tmp_path / "archive.bin"
    f.write_bytes(b"a" * 1000)
    first = checksums.digest_like(f, "0" * 64)
    _rewrite_same_size(f, lambda p: p.write_bytes(b"b" * 1000))
    assert checksums.digest_like(f, "0" * 64) != first
