"""ClipFeatures: one transformer over audio paths for every clip model, its window policy and cache.

The ``mfcc`` and ``course`` kinds run offline (the course kind on a small untrained convnet saved
in a temporary folder); ``choi2017`` needs the authors' model in the reference folder and
``musicnn`` its wheel (both skip with the reason otherwise).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from course_utils import audio
from course_utils.core.errors import AudioError, CourseError
from course_utils.datasets.magnatagatune import TOP50_TAGS
from course_utils.features import registry
from course_utils.features.clip_features import clip_rows, ClipFeatures
from course_utils.models import convnet, training

from conftest import SHARED

CROP = 64  # the tiny tagger's window: 64 frames, 1.34 s


@pytest.fixture(scope="module")
def tiny_tagger(tmp_path_factory):
    """An untrained compact convnet saved with its description: the plumbing, not the accuracy."""
    convnet.set_seed(0)
    model = convnet.compact_convnet(n_frames=CROP, n_tags=50)
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    training.save_tagger(model, path, {"tags": list(TOP50_TAGS), "crop_frames": CROP})
    return path


def _wav(path, seconds: float, freq: float = 330.0, sr: int = 16000):
    t = np.arange(int(seconds * sr)) / sr
    y = 0.3 * np.sin(2 * np.pi * freq * t) + 0.05 * np.sin(2 * np.pi * 3.1 * freq * t)
    sf.write(path, y.astype(np.float32), sr)
    return path


@pytest.fixture
def clips(tmp_path):
    """Four clips: two long (several windows), one short (under one window), one of a window's order."""
    return [str(_wav(tmp_path / f"clip{i}.wav", s, f)) for i, (s, f) in
            enumerate([(4.0, 220.0), (3.3, 440.0), (0.5, 330.0), (1.5, 550.0)])]


# --------------------------------------------------------------------------- inputs and conventions


def test_rows_from_paths_series_arrays_and_tables(tmp_path):
    paths = [str(tmp_path / "a.wav"), tmp_path / "b.wav"]
    assert clip_rows(paths) == [(str(paths[0]), 0.0, None), (str(paths[1]), 0.0, None)]
    assert clip_rows(pd.Series(paths)) == clip_rows(np.asarray(paths, dtype=object)[:, None]) == clip_rows(paths)
    assert clip_rows(paths[0]) == [(paths[0], 0.0, None)]
    table = pd.DataFrame({"path": paths, "offset": [1.5, np.nan], "duration": [2.0, np.nan]})
    assert clip_rows(table) == [(paths[0], 1.5, 2.0), (str(paths[1]), 0.0, None)]
    with pytest.raises(CourseError, match="'path' column"):
        clip_rows(pd.DataFrame({"file": paths}))
    with pytest.raises(CourseError, match="paths"):
        clip_rows(np.zeros((3, 5)))  # what sklearn's check_estimator would feed


def test_sklearn_conventions(clips):
    est = ClipFeatures("mfcc", batch_size=4, cache=False)
    assert est.get_params() == {"model": "mfcc", "layers": None, "batch_size": 4, "cache": False,
                                "max_duration": None, "framing": "cover", "on_error": "raise",
                                "progress": False}
    with pytest.raises(NotFittedError):
        est.transform(clips)
    with pytest.raises(NotFittedError):
        est.get_feature_names_out()
    assert est.fit(clips) is est
    names = est.get_feature_names_out()
    assert len(names) == est.n_features_out_ == 120 and names[0] == "mfcc_mean_00" and len(set(names)) == 120
    twin = clone(est)
    assert twin.get_params() == est.get_params() and not hasattr(twin, "identity_")
    twin.set_params(max_duration=60.0)
    assert twin.max_duration == 60.0 and est.max_duration is None  # the whole file by default (issue 26, item 24)
    assert est.fit_transform(clips).shape == (len(clips), 120)
    assert est.identity_["kind"] == "mfcc" and est.identity_["weights_sha256"] is None


def test_check_estimator_runs_what_applies():
    """scikit-learn's checks feed numeric arrays: from the input tags (one-dimensional strings) it skips them."""
    from sklearn.utils.estimator_checks import check_estimator

    with pytest.warns(UserWarning, match="requires input"):
        results = check_estimator(ClipFeatures("mfcc", cache=False), on_fail=None)
    assert results and all(r["status"] != "failed" for r in results)


def test_bad_parameters_are_clear():
    with pytest.raises(CourseError, match="unknown model"):
        ClipFeatures("resnet").fit()
    with pytest.raises(CourseError, match="framing"):
        ClipFeatures("mfcc", framing="musicnn").fit()
    with pytest.raises(CourseError, match="summary"):
        ClipFeatures("mfcc", layers="01234").fit()
    with pytest.raises(CourseError, match="variant"):
        ClipFeatures("musicnn:MTT_resnet").fit()


# --------------------------------------------------------------------------- the window policy


def test_frame_windows_tile_short_and_cover_long():
    short = np.arange(5, dtype=np.float32)
    starts, w = audio.frame_windows(short, 12, axis=0)
    assert starts.tolist() == [0] and w.tolist() == [np.tile(short, 3)[:12].tolist()]  # repeated, never zeros
    mel = np.arange(3 * 30, dtype=np.float32).reshape(3, 30)
    starts, w = audio.frame_windows(mel, 8, axis=1)
    assert starts.tolist() == audio.crop_starts(30, 8) == [0, 8, 16, 22]  # the last window ends with the clip
    assert all(np.array_equal(w[k], mel[:, s:s + 8]) for k, s in enumerate(starts))


def test_course_kind_short_and_long_clips(tiny_tagger, clips, data_root):
    est = ClipFeatures(f"course:{tiny_tagger}", cache=False).fit()
    assert est.identity_["weights_sha256"] and est.n_features_out_ == 160
    feats = est.transform(clips)
    assert feats.shape == (4, 160) and feats.dtype == np.float32 and np.isfinite(feats).all()
    # a long clip: the mean of its windows, which cover it
    starts, per_window = est.windows(clips[0])
    assert len(starts) > 1 and starts[0] == 0 and per_window.shape == (len(starts), 160)
    assert np.allclose(feats[0], per_window.mean(axis=0), atol=1e-6)
    # the mean of the windows' block averages (tile short, cover long), as notebook 03 writes it
    model, _ = training.load_course_tagger(path=tiny_tagger)
    extractor = convnet.feature_extractor(model)
    for path, row in zip(clips, feats):
        _, crops = audio.frame_windows(audio.log_mel(audio.load_audio(path)), CROP, axis=1)
        assert np.allclose(row, np.asarray(extractor(crops[..., None], training=False)).mean(axis=0), atol=1e-5)
    # a short clip: one window, the clip repeated; zero padding would give other features
    starts, one = est.windows(clips[2])
    assert starts.tolist() == [0.0]
    mel = audio.log_mel(audio.load_audio(clips[2]))
    padded = np.pad(mel, ((0, 0), (0, CROP - mel.shape[1])), constant_values=mel.min())[None, ..., None]
    assert not np.allclose(one[0], np.asarray(extractor(padded, training=False))[0], atol=1e-3)


def test_layers_and_tags(tiny_tagger, clips, data_root):
    est = ClipFeatures(f"course:{tiny_tagger}", layers="4", cache=False).fit()
    assert est.n_features_out_ == 32 and est.get_feature_names_out()[0] == "course_block5_00"
    full = ClipFeatures(f"course:{tiny_tagger}", cache=False).fit().transform(clips[:2])
    assert np.allclose(est.transform(clips[:2]), full[:, 128:], atol=1e-6)
    tagger = ClipFeatures(f"course:{tiny_tagger}", layers="tags", cache=False).fit()
    probs = tagger.transform(clips)
    assert probs.shape == (4, 50) and ((probs >= 0) & (probs <= 1)).all()
    results = tagger.tag(clips + [clips[0] + ".missing.wav"], top=3)
    assert [p for p, _ in results[:4]] == clips
    best = results[1][1]
    assert len(best) == 3 and best[0][1] == pytest.approx(probs[1].max(), abs=1e-6)
    assert isinstance(results[4][1], AudioError) and "missing.wav" in str(results[4][1])
    times, tags, gram = tagger.taggram(clips[0])
    assert tags == list(TOP50_TAGS) and gram.shape == (len(times), 50) and times[0] == 0 and np.all(np.diff(times) > 0)
    with pytest.raises(CourseError, match="no tags"):
        ClipFeatures("mfcc").fit().tag(clips)


def test_mfcc_kind_is_the_transfer_baseline(clips, data_root):
    table = pd.DataFrame({"path": clips, "offset": [0.5, 0.0, 0.0, 0.2], "duration": [2.0, np.nan, np.nan, 1.0]})
    est = ClipFeatures("mfcc").fit()
    by_hand = [audio.mfcc_summary(audio.load_audio(p, offset=o, duration=None if np.isnan(d) else d), repeat_short=True)
               for p, o, d in zip(table["path"], table["offset"], table["duration"])]
    assert np.array_equal(est.transform(table), np.stack(by_hand))
    starts, per_window = est.windows(clips[0])  # 3 s windows: 0 and 1 s (the last ends with the 4 s clip)
    assert starts.tolist() == [0.0, 1.0] and per_window.shape == (2, 120)


# --------------------------------------------------------------------------- bad files, cache


def test_bad_files_are_named(clips, tmp_path, data_root):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.mp3"
    garbage.write_bytes(b"not audio at all" * 10)
    tiny = _wav(tmp_path / "tiny.wav", 0.01)
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(16000, np.float32), 16000)
    est = ClipFeatures("mfcc").fit()
    for bad in (empty, garbage, tiny, silent, tmp_path / "missing.wav"):
        with pytest.raises(AudioError, match=bad.name):
            est.transform([clips[0], bad])
    lenient = ClipFeatures("mfcc", on_error="nan").fit()
    feats = lenient.transform([clips[0], garbage, clips[1], tmp_path / "missing.wav"])
    assert np.isfinite(feats[[0, 2]]).all() and np.isnan(feats[[1, 3]]).all()
    assert [(i, os.path.basename(e.path)) for i, e in lenient.skipped_] == [(1, "garbage.mp3"), (3, "missing.wav")]


def test_cache_is_reused_and_follows_the_file(tiny_tagger, clips, data_root, monkeypatch):
    est = ClipFeatures(f"course:{tiny_tagger}").fit()
    first = est.transform(clips)
    files = list((data_root / "cache" / "clip_features").glob("*.npy"))
    assert len(files) == len(clips)
    calls = []
    entry = est._loaded()
    run = entry.run
    monkeypatch.setattr(entry, "run", lambda *a, **k: calls.append(len(a[0])) or run(*a, **k))
    assert np.array_equal(est.transform(clips), first) and calls == []  # all from the cache
    # rewrite a file at the same path with other audio: its features are computed again
    stat = os.stat(clips[1])
    _wav(clips[1], 3.3, 1200.0)
    os.utime(clips[1], ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    again = est.transform(clips)
    assert len(calls) == 1 and not np.allclose(again[1], first[1])
    assert np.array_equal(np.delete(again, 1, axis=0), np.delete(first, 1, axis=0))
    # another layer choice is another cache entry, not a mix-up
    assert ClipFeatures(f"course:{tiny_tagger}", layers="0").fit().transform(clips).shape == (4, 32)


# --------------------------------------------------------------------------- pickling


def test_pipeline_clone_and_joblib_round_trip(tiny_tagger, clips, tmp_path, data_root):
    labels = ["low", "high", "low", "high"]
    pipe = make_pipeline(ClipFeatures(f"course:{tiny_tagger}", layers="34"), StandardScaler(),
                         LogisticRegression(max_iter=200))
    pipe.fit(clips, labels)
    pickled = pickle.dumps(pipe[0])
    assert b"keras.src" not in pickled and b"Functional" not in pickled and len(pickled) < 20_000  # no network
    joblib.dump(pipe, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    assert not hasattr(loaded[0], "_entry")
    assert np.array_equal(loaded.predict_proba(clips), pipe.predict_proba(clips))
    assert loaded[0].identity_ == pipe[0].identity_
    assert clone(pipe).fit(clips, labels).predict(clips).tolist() == pipe.predict(clips).tolist()


def test_unpickled_with_other_weights_is_refused(tiny_tagger, clips, tmp_path, data_root):
    path = tmp_path / "mine.keras"
    training.save_tagger(convnet.load_model(tiny_tagger, compile=False), path, {"tags": list(TOP50_TAGS), "crop_frames": CROP})
    est = ClipFeatures(f"course:{path}", cache=False).fit()
    blob = pickle.dumps(est)
    convnet.set_seed(1)
    training.save_tagger(convnet.compact_convnet(n_frames=CROP, n_tags=50), path, {"tags": list(TOP50_TAGS), "crop_frames": CROP})
    with pytest.raises(CourseError, match="weights .* not those these features were fitted with"):
        pickle.loads(blob).transform(clips[:1])


# --------------------------------------------------------------------------- pre-trained models


@pytest.mark.skipif(not (SHARED / "choi2017" / "models").is_dir() or not (SHARED / "audio").is_dir(),
                    reason=f"the authors' model and clips not found under {SHARED}")
def test_choi2017_on_real_music(data_root, monkeypatch):
    monkeypatch.setenv("COURSE_REFERENCE_DIR", str(SHARED))
    files = sorted(str(p) for p in (SHARED / "audio").glob("*.mp3"))
    est = ClipFeatures("choi2017", batch_size=2).fit()
    assert est.identity_["weights_sha256"] == "b5042bd44de1fdd9d757b764d9246e6934f47c8bdc5c15bf13566495f3439d48"
    feats = est.transform(files)
    assert feats.shape == (4, 160) and np.isfinite(feats).all()
    starts, per_window = est.windows(files[-1])
    assert starts[0] == 0 and per_window.shape == (len(starts), 160)
    assert np.allclose(feats[-1], per_window.mean(axis=0), atol=1e-5)
    tags = dict(est.tag(files, top=3))
    assert tags[files[-1]][0][0] == "jazz"  # bensound-thejazzpiano
    short = audio.load_audio(files[0], duration=5.0)
    sf.write(data_root.parent / "short.wav", short, audio.SR)
    starts, _ = est.windows(data_root.parent / "short.wav")
    assert starts.tolist() == [0.0]  # 5 s repeated to fill one 29 s window


def test_siamese_kind_needs_a_trained_network_then_embeds(clips, data_root):
    from course_utils.similarity import siamese

    with pytest.raises(CourseError, match="course-utils similar"):
        ClipFeatures("siamese").fit()
    convnet.set_seed(0)
    convnet.save_model(siamese.embedding_model(crop_frames=64), data_root / "similarity" / "mini" / "model.keras")
    est = ClipFeatures("siamese").fit()
    feats = est.transform(clips)
    assert feats.shape == (4, 128) and est.get_feature_names_out()[0] == "siamese_embedding_000"
    np.testing.assert_allclose(np.linalg.norm(feats, axis=1), 1.0, atol=1e-5)  # the mean over windows, unit length
    starts, per_window = est.windows(clips[0])
    np.testing.assert_allclose(np.linalg.norm(per_window, axis=1), 1.0, atol=1e-5)
    assert len(starts) > 1 and est.identity_["weights_sha256"]


@pytest.mark.skipif(not (SHARED / "audio").is_dir(), reason="the reference clips (../shared/reference/audio) are missing")
def test_musicnn_kinds_framings_and_variants(wheel, data_root, tmp_path):
    from musicnn_original import predict_tags

    from course_utils.models import musicnn

    (data_root / "models").mkdir(parents=True)
    (data_root / "models" / musicnn.WHEEL_FILENAME).symlink_to(Path(wheel).resolve())
    jazz = str(SHARED / "audio" / "bensound-thejazzpiano.mp3")
    short = str(_wav(tmp_path / "short.wav", 1.0, 440.0))
    own = ClipFeatures("musicnn", layers="tags", framing="musicnn", batch_size=1, cache=False).fit()
    model = registry.get_model("musicnn").model
    np.testing.assert_allclose(own.transform([jazz, short]), predict_tags([jazz, short], model), atol=1e-6)
    cover = ClipFeatures("musicnn", layers="tags+penultimate", cache=False).fit()
    assert cover.n_features_out_ == 250 and cover.get_feature_names_out()[50] == "musicnn_penultimate_000"
    starts, per_window = cover.windows(short)
    assert starts.tolist() == [0.0] and per_window.shape == (1, 250)  # 1 s repeated to fill one 3 s patch
    assert not np.allclose(per_window[0, :50], own.transform([short])[0], atol=1e-3)  # not zero-padded
    msd = ClipFeatures("MSD_musicnn", layers="tags", cache=False).fit()
    assert msd.identity_["variant"] == "MSD_musicnn" and msd.tag([jazz], top=3)[0][1][0][0] in {"jazz", "instrumental"}


# --------------------------------------------------------------------------- the command line


def test_cli_dispatches_through_clip_features(tiny_tagger, clips, tmp_path, data_root, capsys):
    from course_utils import cli

    listing = tmp_path / "list.txt"
    listing.write_text(f"{clips[0]}\n# a comment\n{tmp_path / 'missing.wav'}\n{clips[2]}\n")
    out = tmp_path / "feats.npy"
    assert cli.main(["extract", str(listing), str(out), "--model", str(tiny_tagger), "--layers", "24",
                     "--no-progress"]) == 1  # one file failed: its row is NaN
    feats = np.load(out)
    assert feats.shape == (3, 64) and np.isnan(feats[1]).all() and np.isfinite(feats[[0, 2]]).all()
    printed, err = capsys.readouterr()
    assert "3 x 64 features" in printed and "layers 24" in printed and "1 file(s) failed" in printed
    assert err.count("\n") == 1 and "missing.wav" in err
    assert cli.main(["extract", str(listing), str(tmp_path / "mfcc.npy"), "--model", "mfcc", "--no-progress"]) == 1
    assert np.load(tmp_path / "mfcc.npy").shape == (3, 120)
    capsys.readouterr()
    png = tmp_path / "taggram.png"
    assert cli.main(["tag", clips[0], "--model", str(tiny_tagger), "--top", "2", "--taggram", str(png)]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0] == clips[0] and png.read_bytes()[:4] == b"\x89PNG"
    assert cli.main(["tag", clips[0], "--model", "mfcc"]) == 1
    assert "no tags" in capsys.readouterr().err
    assert cli.main(["features", clips[0], "--model", str(tiny_tagger), "--layers", "4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{clips[0]}: 4.00 s") and "32 features (layers 4)" in lines[1] and "window(s)" in lines[1]
