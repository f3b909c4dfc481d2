"""course_utils.models.training and `course-utils tag`: tagging files with a saved model, bad files reported."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from course_utils import cli
from course_utils.core.errors import CourseError
from course_utils.datasets.magnatagatune import TOP50_TAGS
from course_utils.models import convnet, training

from conftest import SHARED


@pytest.fixture(scope="module")
def tiny_tagger(tmp_path_factory):
    """An untrained compact convnet saved with its description (the plumbing, not the accuracy)."""
    convnet.set_seed(0)
    model = convnet.compact_convnet(n_frames=64, n_tags=50)
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    training.save_tagger(model, path, {"tags": list(TOP50_TAGS), "crop_frames": 64})
    return path


def _wav(path: Path, seconds: float):
    t = np.arange(int(seconds * 16000)) / 16000
    sf.write(path, (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), 16000)
    return path


def test_tag_files_long_short_and_bad(tiny_tagger, tmp_path):
    from course_utils.features.clip_features import ClipFeatures

    model, info = training.load_course_tagger(path=tiny_tagger)
    assert info["crop_frames"] == 64 and len(info["tags"]) == 50
    long_file = _wav(tmp_path / "long.wav", 7.0)   # several crops, averaged
    short_file = _wav(tmp_path / "short.wav", 0.5)  # shorter than one crop: repeated to fill it
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"not audio at all" * 10)
    tagger = ClipFeatures(f"course:{tiny_tagger}", layers="tags", cache=False).fit()
    results = dict(tagger.tag([long_file, short_file, bad], top=5))
    for f in (long_file, short_file):
        top = results[str(f)]
        assert len(top) == 5 and all(t in TOP50_TAGS for t, _ in top)
        probs = [p for _, p in top]
        assert probs == sorted(probs, reverse=True) and all(0 <= p <= 1 for p in probs)
    assert isinstance(results[str(bad)], CourseError) and "bad.mp3" in str(results[str(bad)])


def test_cli_tag_prints_tags_and_reports_bad_files(tiny_tagger, tmp_path, capsys, data_root):
    good = _wav(tmp_path / "song.wav", 3.0)
    status = cli.main(["tag", str(good), str(tmp_path / "missing.wav"), "--model", str(tiny_tagger), "--top", "3"])
    out, err = capsys.readouterr()
    assert status == 1  # one file failed, the other was still tagged
    lines = out.strip().splitlines()
    assert lines[0] == str(good) and len(lines) == 4
    assert "missing.wav: file not found" in err


@pytest.mark.skipif(not (SHARED / "audio").is_dir(), reason="../shared/reference/audio not present")
def test_cli_tags_real_music(tiny_tagger, capsys, data_root):
    files = sorted(str(p) for p in (SHARED / "audio").glob("*.mp3"))
    assert cli.main(["tag", *files, "--model", str(tiny_tagger), "--top", "2"]) == 0
    assert capsys.readouterr().out.count("\n") == 3 * len(files)


def test_missing_model_without_training_is_a_clear_error(data_root):
    with pytest.raises(CourseError, match="course-utils train-tagger --variant mini"):
        training.load_course_tagger("mini", train_if_missing=False)


def test_model_without_sidecar_assumes_the_top50(tiny_tagger, tmp_path):
    copy = tmp_path / "bare.keras"
    copy.write_bytes(tiny_tagger.read_bytes())
    _, info = training.load_course_tagger(path=copy)
    assert info["tags"] == list(TOP50_TAGS) and info["crop_frames"] == 64
    assert json.loads(training.sidecar_path(tiny_tagger).read_text())["crop_frames"] == 64
