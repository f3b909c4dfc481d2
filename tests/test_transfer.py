"""The transfer features through ClipFeatures("course:<file>") and ("mfcc"): the 160-value feature, its
independence of batch size, bad files, the cache, the release layout and `course-utils extract`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from course_utils import cli
from course_utils.audio.windows import frame_windows
from course_utils.core.errors import AudioError, CourseError
from course_utils.datasets.magnatagatune import TOP50_TAGS
from course_utils.features import clip_features
from course_utils.features.clip_features import ClipFeatures
from course_utils.models import training
from course_utils.models.convnet import compact_convnet, set_seed
from course_utils.tasks import release


@pytest.fixture(scope="module")
def convnet():
    set_seed(0)
    return compact_convnet(n_frames=64, n_tags=50)


@pytest.fixture(scope="module")
def tagger(convnet, tmp_path_factory):
    """The convnet saved as a course tagger: ``course:<file>``."""
    path = training.save_tagger(convnet, tmp_path_factory.mktemp("model") / "m.keras",
                                {"tags": list(TOP50_TAGS), "crop_frames": 64})
    return f"course:{path}"


@pytest.fixture
def clips(tmp_path):
    rng = np.random.default_rng(0)
    files = []
    for k, seconds in enumerate((4.0, 0.7, 2.5)):
        t = np.arange(int(seconds * 12000)) / 12000
        y = 0.3 * np.sin(2 * np.pi * (200 + 150 * k) * t) + 0.02 * rng.normal(size=len(t))
        files.append(tmp_path / f"clip{k}.wav")
        sf.write(files[-1], y.astype(np.float32), 12000)
    return files


def test_layers_and_columns():
    assert release.parse_layers("42") == [2, 4]
    for bad in ("5", "", "11", "a"):
        with pytest.raises(CourseError, match="digits 0 to 4"):
            release.parse_layers(bad)


def test_crops_cover_long_clips_and_repeat_short_ones():
    mel = np.arange(96 * 150, dtype=np.float32).reshape(96, 150)
    _, crops = frame_windows(mel, 64, axis=1)
    assert crops.shape == (3, 96, 64) and crops[-1][0, -1] == mel[0, -1]
    _, short = frame_windows(mel[:, :20], 64, axis=1)
    assert short.shape == (1, 96, 64)
    np.testing.assert_array_equal(short[0, :, 20:40], mel[:, :20])  # repeated, not zero-padded


def test_features_are_160_values_and_do_not_depend_on_batch_size(tagger, clips, data_root):
    a = ClipFeatures(tagger, batch_size=1, cache=False).fit().transform(clips)
    b = ClipFeatures(tagger, batch_size=16, cache=False).fit().transform(clips)
    assert a.shape == (3, 160) and np.all(np.isfinite(a))
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    # a subset of layers is the matching slice of the full feature
    c = ClipFeatures(tagger, layers="24", cache=False).fit().transform(clips)
    np.testing.assert_allclose(c, a[:, np.r_[64:96, 128:160]], rtol=1e-5, atol=1e-5)
    # features differ between different sounds
    assert np.linalg.norm(a[0] - a[2]) > 1e-3


def test_segments_of_a_table_are_used(tagger, clips, data_root):
    est = ClipFeatures(tagger, cache=False).fit()
    table = pd.DataFrame({"path": [str(clips[0])] * 2, "offset": [0.0, 2.0], "duration": [1.0, 1.0]})
    feats = est.transform(table)
    whole = est.transform([clips[0]])
    assert feats.shape == (2, 160) and not np.allclose(feats[0], whole[0])


def test_mfcc_features(clips, data_root):
    feats = ClipFeatures("mfcc").fit().transform(clips)
    assert feats.shape == (3, 120) and np.all(np.isfinite(feats))


def test_cli_extract_reports_bad_files_and_extracts_the_rest(convnet, clips, tmp_path, capsys, data_root):
    model_path = training.save_tagger(convnet, tmp_path / "m.keras", {"tags": list(TOP50_TAGS), "crop_frames": 64})
    listing = tmp_path / "list.txt"
    listing.write_text(f"{clips[0]}\n{tmp_path / 'nope.wav'}\n\n{clips[2]}\n")
    out = tmp_path / "feats.npy"
    status = cli.main(["extract", str(listing), str(out), "--model", str(model_path)])
    captured = capsys.readouterr()
    assert status == 1
    assert "nope.wav: file not found" in captured.err
    feats = np.load(out)
    assert feats.shape == (3, 160)
    assert np.isnan(feats[1]).all() and np.isfinite(feats[[0, 2]]).all()


def test_release_layout_roundtrip(tmp_path):
    table = pd.DataFrame({"clip_id": ["a", "b"], "path": ["/x/a.wav", "/x/b.wav"], "label_id": [0, 1],
                          "split": ["train", "test"]})
    feats = np.arange(2 * 160, dtype=np.float32).reshape(2, 160)
    release.write_release_layout(tmp_path, "jamendo_vocal", table, feats, np.zeros((2, 120), np.float32))
    assert np.load(tmp_path / "features" / "jamendo_vd_layer_2.npy").tolist() == feats[:, 64:96].tolist()
    labels = pd.read_csv(tmp_path / "labels" / "jamendo_vd.csv", index_col=0)
    assert list(labels.columns) == ["id", "filepath", "label", "category"]


def test_rows_accept_a_path_a_list_or_a_table_without_offsets():
    """One clip_rows for every feature: None and NaN alike."""
    import pandas as pd

    from course_utils.features.clip_features import clip_rows

    assert clip_rows("a.wav") == [("a.wav", 0.0, None)]
    assert clip_rows(["a.wav", "b.wav"]) == [("a.wav", 0.0, None), ("b.wav", 0.0, None)]
    assert clip_rows(pd.DataFrame({"path": ["a.wav"]})) == [("a.wav", 0.0, None)]
    table = pd.DataFrame({"path": ["a.wav", "b.wav"], "offset": [1.0, None], "duration": [float("nan"), None]})
    assert clip_rows(table) == [("a.wav", 1.0, None), ("b.wav", 0.0, None)]


def test_convnet_feature_cache_is_keyed_by_the_model_file(convnet, tagger, clips, tmp_path, data_root):
    """Another tagger's weights (at another path, or rewritten at the same one) are other cache entries."""
    first = ClipFeatures(tagger).fit().transform(clips[:1])
    set_seed(1)
    other = training.save_tagger(compact_convnet(n_frames=64, n_tags=50), tmp_path / "other.keras",
                                 {"tags": list(TOP50_TAGS), "crop_frames": 64})
    second = ClipFeatures(f"course:{other}").fit().transform(clips[:1])
    assert not np.allclose(first, second, atol=1e-3)
    assert len(list((data_root / "cache" / "clip_features").glob("*.npy"))) == 2


# ---------------------------------------------------------------- issue 16: caches and outputs

def _table(paths):
    return pd.DataFrame({"path": [str(p) for p in paths], "offset": 0.0, "duration": np.nan})


def test_rewritten_audio_invalidates_the_cached_features(data_root, clips):
    """New audio at the same paths must not return the old features (the key holds size, mtime_ns and content)."""
    import os

    first = ClipFeatures("mfcc").fit().transform(_table(clips))
    y, sr = sf.read(clips[0], dtype="float32")
    st = os.stat(clips[0])
    sf.write(clips[0], np.random.default_rng(1).uniform(-0.5, 0.5, len(y)).astype(np.float32), sr)
    assert os.stat(clips[0]).st_size == st.st_size  # same path, same size: only the content changed
    os.utime(clips[0], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # even on a coarse clock
    second = ClipFeatures("mfcc").fit().transform(_table(clips))
    assert np.abs(second[0] - first[0]).max() > 1.0
    np.testing.assert_array_equal(second[1:], first[1:])


@pytest.mark.parametrize("damage", ["truncated", "other shape"])
def test_a_damaged_feature_cache_is_rebuilt(data_root, clips, damage):
    feats = ClipFeatures("mfcc").fit().transform(_table(clips))
    files = sorted((data_root / "cache" / "clip_features").glob("*.npy"))
    assert len(files) == 3
    for path in files:
        data = path.read_bytes()[:100] if damage == "truncated" else None
        path.unlink()  # a new file in its place, as another program would leave it
        if data is None:
            np.save(path, np.zeros(7, np.float32))
        else:
            path.write_bytes(data)
    np.testing.assert_array_equal(ClipFeatures("mfcc").fit().transform(_table(clips)), feats)
    assert sorted(np.load(p).tolist() for p in files) == sorted(row.tolist() for row in feats)


@pytest.mark.parametrize("out", ["feats.txt", "folder", "feats"])
def test_cli_extract_checks_out_before_extracting(convnet, clips, tmp_path, capsys, monkeypatch, out, data_root):
    """OUT is checked first: no extraction whose result cannot be saved."""
    (tmp_path / "folder").mkdir()
    model_path = training.save_tagger(convnet, tmp_path / "m.keras", {"tags": list(TOP50_TAGS), "crop_frames": 64})
    listing = tmp_path / "list.txt"
    listing.write_text(f"{clips[0]}\n")
    called = []
    monkeypatch.setattr(clip_features.ClipFeatures, "transform", lambda *a, **k: called.append(1))
    status = cli.main(["extract", str(listing), str(tmp_path / out), "--model", str(model_path)])
    err = capsys.readouterr().err
    assert status == 1 and not called
    assert err.count("\n") == 1 and str(tmp_path / out) in err and ".npy" in err


def test_bad_files_give_nan_rows_and_are_listed_per_call(tagger, clips, tmp_path, data_root):
    bad = tmp_path / "empty.wav"
    bad.write_bytes(b"")
    est = ClipFeatures(tagger, on_error="nan", cache=False).fit()
    feats = est.transform([clips[0], bad])
    assert [(i, str(e.path)) for i, e in est.skipped_] == [(1, str(bad))]
    assert np.isfinite(feats[0]).all() and np.isnan(feats[1]).all()
    est.transform([clips[0]])
    assert est.skipped_ == []  # the last call's, not kept from one call to the next
    with pytest.raises(AudioError):
        ClipFeatures(tagger, cache=False).fit().transform([bad])


def test_mini_release_is_written_once_and_keyed_by_its_clips(tagger, clips, data_root, monkeypatch):
    """features.mini_release: ClipFeatures' two features in the release layout, one folder per key."""
    import os

    from course_utils.features import mini_release as module

    table = pd.DataFrame({"clip_id": ["a", "b", "c"], "path": [str(p) for p in clips], "offset": 0.0,
                          "duration": np.nan, "label_id": [0, 1, 0]})
    monkeypatch.setattr(module, "release_tasks", lambda: {"gtzan_genre": "gtzan_genre"})
    monkeypatch.setattr(module, "load_dataset", lambda name: table)
    monkeypatch.setattr(module, "ClipFeatures", lambda model, **kw: ClipFeatures(tagger if model == "course" else model, **kw))
    folder = module.mini_release(progress=False)
    assert folder.parent == data_root / "cache" / "mini_release" and len(folder.name) == 16
    X, y, _ = release.load_release(folder, "gtzan_genre", "01234")
    np.testing.assert_allclose(X, ClipFeatures(tagger).fit().transform(table), atol=1e-6)
    assert y.tolist() == [0, 1, 0]
    mfcc, _, _ = release.load_release(folder, "gtzan_genre", "mfcc")
    np.testing.assert_array_equal(mfcc, ClipFeatures("mfcc").fit().transform(table))
    # once written, the folder is reused without extracting anything
    transform = clip_features.ClipFeatures.transform
    monkeypatch.setattr(clip_features.ClipFeatures, "transform", lambda *a, **k: pytest.fail("extracted again"))
    assert module.mini_release(progress=False) == folder
    monkeypatch.setattr(clip_features.ClipFeatures, "transform", transform)
    # new audio at the same path gives a new folder
    st = os.stat(clips[1])
    y_audio, sr = sf.read(clips[1], dtype="float32")
    sf.write(clips[1], y_audio[::-1].copy(), sr)
    os.utime(clips[1], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    again = module.mini_release(progress=False)
    assert again != folder and again.parent == folder.parent
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temporary folder left
