"""course_utils.datasets.own: a folder of class sub-folders or a CSV table as the course's dataset table,
with every bad case named: unreadable files, unsupported formats, small classes, empty folders."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from course_utils.core.errors import DatasetError
from course_utils.datasets import own
from course_utils.datasets.own import load_folder, load_table, SkippedFilesWarning

SR = 12000


def write_clip(path, freq: float, seconds: float = 1.0, seed: int = 0) -> str:
    """A short tone with a little noise (a distinct spectrum per class), as a WAV file."""
    t = np.arange(int(seconds * SR)) / SR
    y = 0.3 * np.sin(2 * np.pi * freq * t) + 0.02 * np.random.default_rng(seed).normal(size=len(t))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, y.astype(np.float32), SR)
    return str(path)


def write_folder(root, classes=("high", "low"), per_class: int = 3, freqs=None):
    """``root/<class>/<class>N.wav``, ``per_class`` clips per class."""
    freqs = freqs or {c: 300.0 * 3 ** i for i, c in enumerate(classes)}
    for c in classes:
        for i in range(per_class):
            write_clip(root / c / f"{c}{i}.wav", freqs[c] * (1 + 0.03 * i), seed=i)
    return root


def test_folder_layout_gives_the_dataset_table(tmp_path):
    root = write_folder(tmp_path / "my music", classes=("rock", "jazz"), per_class=3)
    write_clip(root / "jazz" / "live" / "deep.wav", 500.0)  # deeper folders belong to their class
    (root / "jazz" / ".DS_Store").write_bytes(b"\0")        # hidden files are ignored silently
    (root / ".hidden").mkdir()
    df = load_folder(root)
    assert list(df.columns[:6]) == ["clip_id", "path", "offset", "duration", "label", "label_id"]
    assert df.attrs["classes"] == ["jazz", "rock"] and df.attrs["task"] == "classification"
    assert df.attrs["skipped"] == [] and df.attrs["name"] == "my music"
    assert df["label"].value_counts().to_dict() == {"jazz": 4, "rock": 3}
    assert (df["label_id"] == df["label"].map({"jazz": 0, "rock": 1})).all()
    assert "jazz/live/deep.wav" in set(df["clip_id"]) and df["clip_id"].is_unique
    assert all(os.path.isabs(p) and os.path.isfile(p) for p in df["path"])
    assert np.allclose(df["duration"], 1.0) and (df["offset"] == 0).all()
    assert list(df["clip_id"]) == sorted(df["clip_id"])


def test_gtzan_layout_with_a_genres_folder_is_read_from_the_top(tmp_path):
    write_folder(tmp_path / "gtzan" / "genres", classes=("blues", "disco", "metal"), per_class=2)
    df = load_folder(tmp_path / "gtzan")
    assert df.attrs["classes"] == ["blues", "disco", "metal"] and len(df) == 6


def test_unreadable_and_unsupported_files_are_skipped_and_named(tmp_path):
    root = write_folder(tmp_path / "m", per_class=2)
    (root / "low" / "broken.wav").write_bytes(b"RIFF\x10\0\0\0WAVEjunk")
    (root / "low" / "empty.mp3").write_bytes(b"")
    (root / "high" / "song.m4a").write_bytes(b"\0\0\0\x18ftypM4A ")
    (root / "high" / "notes.txt").write_text("track list")
    with pytest.warns(SkippedFilesWarning) as record:
        df = load_folder(root)
    assert len(df) == 4  # the readable clips are all there
    message = str(record[0].message)
    skipped = df.attrs["skipped"]
    assert len(skipped) == 4
    for name in ("broken.wav", "empty.mp3", "song.m4a", "notes.txt"):
        assert name in message and any(name in s for s in skipped)
    line = next(s for s in skipped if "song.m4a" in s)
    assert ".m4a" in line and "cannot read" in line and "ffmpeg" in line  # the format is named, with a fix
    assert "empty" in next(s for s in skipped if "empty.mp3" in s)


def test_a_class_with_one_clip_is_refused_with_its_name_and_folder(tmp_path):
    root = write_folder(tmp_path / "m", per_class=3)
    write_clip(root / "lonely" / "only.wav", 700.0)
    with pytest.raises(DatasetError) as err:
        load_folder(root)
    assert "'lonely'" in str(err.value) and str(root / "lonely") in str(err.value) and "1 clip" in str(err.value)


def test_a_class_left_with_one_readable_clip_is_refused(tmp_path):
    root = write_folder(tmp_path / "m", per_class=2)
    (root / "low" / "low1.wav").write_bytes(b"not audio at all")
    with pytest.warns(SkippedFilesWarning), pytest.raises(DatasetError, match="'low'"):
        load_folder(root)


def test_one_class_is_not_a_classification_task(tmp_path):
    write_folder(tmp_path / "m", classes=("only", "other"), per_class=2)
    write_folder(tmp_path / "solo", classes=("only",), per_class=3)
    (tmp_path / "solo" / "x").mkdir()  # two sub-folders, one of them without audio: an empty class, named
    with pytest.raises(DatasetError, match="'x' \\(0 clips"):
        load_folder(tmp_path / "solo")


@pytest.mark.parametrize("case", ["missing", "empty", "file", "flat", "no-audio"])
def test_bad_folders_say_what_layout_is_expected(tmp_path, case):
    root = tmp_path / "m"
    if case == "empty":
        root.mkdir()
    elif case == "file":
        root.write_text("x")
    elif case == "flat":  # audio but no class folders
        write_clip(root / "a.wav", 300.0)
        write_clip(root / "b.wav", 900.0)
    elif case == "no-audio":
        (root / "jazz").mkdir(parents=True)
        (root / "rock").mkdir()
        (root / "rock" / "cover.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(DatasetError) as err:
        load_folder(root)
    text = str(err.value)
    assert str(root) in text and "one sub-folder per class" in text
    if case == "flat":
        assert "2 audio file(s)" in text and "move them" in text
    if case == "no-audio":
        assert "cover.jpg" in text  # what was found instead is named


def test_table_with_one_label_per_row(tmp_path):
    root = write_folder(tmp_path / "audio", per_class=2)
    csv = tmp_path / "labels.csv"
    pd.DataFrame({"path": ["audio/high/high0.wav", "audio/high/high1.wav", str(root / "low" / "low0.wav"),
                           "audio/low/low1.wav"], "label": ["up", "up", "down", "down"],
                  "group": ["a", "b", "a", "b"]}).to_csv(csv, index=False)
    df = load_table(csv)
    assert df.attrs["task"] == "classification" and df.attrs["classes"] == ["down", "up"]
    assert list(df.columns[:7]) == ["clip_id", "path", "offset", "duration", "label", "label_id", "group"]
    assert all(os.path.isfile(p) for p in df["path"]) and np.allclose(df["duration"], 1.0)


def test_tagging_table_from_separated_tags_or_repeated_rows(tmp_path):
    write_folder(tmp_path / "audio", per_class=2)
    files = ["audio/high/high0.wav", "audio/high/high1.wav", "audio/low/low0.wav", "audio/low/low1.wav"]
    tags = ["bright;loud", "bright", "dark ; loud", "dark"]
    one = tmp_path / "one.csv"
    pd.DataFrame({"path": files, "label": tags}).to_csv(one, index=False)
    rows = [(f, t.strip()) for f, ts in zip(files, tags) for t in ts.split(";")]
    many = tmp_path / "many.csv"
    pd.DataFrame(rows, columns=["path", "label"]).to_csv(many, index=False)
    a, b = load_table(one), load_table(many)
    for df in (a, b):
        assert df.attrs["task"] == "tagging" and df.attrs["tags"] == ["bright", "dark", "loud"]
        assert len(df) == 4 and df[["bright", "dark", "loud"]].sum().tolist() == [2, 2, 2]
        assert df.set_index("clip_id").loc["audio/low/low0.wav", "label"] == "dark;loud"
    pd.testing.assert_frame_equal(a.drop(columns=[]), b)
    assert own.class_counts(a).to_dict() == {"bright": 2, "dark": 2, "loud": 2}


def test_table_errors_and_skipped_rows(tmp_path):
    write_folder(tmp_path / "audio", per_class=2)
    csv = tmp_path / "t.csv"
    pd.DataFrame({"file": ["a.wav"], "genre": ["x"]}).to_csv(csv, index=False)
    with pytest.raises(DatasetError, match="no path and no label column"):
        load_table(csv)
    pd.DataFrame({"path": ["audio/high/high0.wav", "audio/low/low0.wav"], "label": ["x", None]}).to_csv(csv, index=False)
    with pytest.raises(DatasetError, match=r"row\(s\) \[3\]"):
        load_table(csv)
    with pytest.raises(DatasetError, match="not found"):
        load_table(tmp_path / "nope.csv")
    with pytest.raises(DatasetError, match="load_folder"):
        load_table(tmp_path / "audio")
    pd.DataFrame({"path": ["audio/high/high0.wav", "audio/high/high1.wav", "audio/low/low0.wav", "missing.wav"],
                  "label": ["h", "h", "l", "l"]}).to_csv(csv, index=False)
    with pytest.warns(SkippedFilesWarning, match="missing.wav"), pytest.raises(DatasetError, match="'l'"):
        load_table(csv)  # the missing file leaves class l with one clip
    pd.DataFrame({"path": ["audio/high/high0.wav", "audio/low/low0.wav"], "label": ["a;path", "a"]}).to_csv(csv, index=False)
    with pytest.raises(DatasetError, match="name of a column"):
        load_table(csv)


def test_arrange_folder_builds_the_layout_that_load_folder_reads(tmp_path):
    src = load_folder(write_folder(tmp_path / "src", classes=("a", "b", "c"), per_class=3))
    dest = own.arrange_folder(src, tmp_path / "arranged", per_class=2)
    df = load_folder(dest)
    assert own.class_counts(df).to_dict() == {"a": 2, "b": 2, "c": 2}
    copied = own.arrange_folder(src, tmp_path / "copied", link=False)
    assert not any(p.is_symlink() for p in copied.rglob("*.wav")) and len(load_folder(copied)) == 9
