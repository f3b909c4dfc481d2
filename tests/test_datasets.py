"""course_utils.datasets: every parser on small fixtures in the exact real formats, the registry,
the mini generators' determinism, and detection of a damaged cache."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from course_utils import audio, datasets
from course_utils.core import files
from course_utils.core.errors import DatasetError, DownloadError, ParameterError
from course_utils.datasets import ballroom, emomusic, gtzan, jamendo, magnatagatune, minigen, urbansound

from conftest import SHARED


def _sine(path: Path, seconds=0.5, sr=22050, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), sr, format=fmt)
    return path


# ---------------------------------------------------------------- parsers on real-format fixtures

@pytest.mark.skipif(not (SHARED / "mtat").is_dir(), reason="../shared/reference/mtat not present")
def test_magnatagatune_parser_on_real_columns(tmp_path):
    columns = (SHARED / "mtat" / "annotations_final_columns.txt").read_text().split("\n")
    columns = [c for c in columns if c]
    assert columns[0] == "clip_id" and columns[-1] == "mp3_path" and len(columns) == 190
    rows = [
        ("2", "0/american_bach_soloists-j_s__bach_solo_cantatas-01-bwv54__i_aria-30-59.mp3", {"classical", "violin"}),
        ("6", "c/some_artist-some_album-02-title-0-29.mp3", {"rock", "male vocal"}),
        ("10", "f/other-album-03-song-58-87.mp3", {"techno"}),
        ("35644", "d/empty-file-01-x-0-29.mp3", {"guitar"}),  # ships as a 0-byte file
    ]
    lines = ["\t".join(f'"{c}"' for c in columns)]
    for clip_id, mp3, tags in rows:
        values = {"clip_id": clip_id, "mp3_path": mp3, **{t: "1" if t in tags else "0" for t in columns[1:-1]}}
        lines.append("\t".join(f'"{values[c]}"' for c in columns))
        target = tmp_path / "mp3" / mp3
        if clip_id == "35644":
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"")
        else:
            _sine(target, sr=16000, fmt="MP3")
    (tmp_path / "annotations_final.csv").write_text("\n".join(lines) + "\n")

    df = magnatagatune.parse(tmp_path)
    assert list(df["clip_id"]) == [2, 6, 10]  # the empty MP3 is dropped
    assert list(df["split"]) == ["train", "valid", "test"]
    assert df.attrs["tags"] == list(magnatagatune.TOP50_TAGS)
    assert df.loc[0, "classical"] == 1 and df.loc[0, "violin"] == 1 and df.loc[0, "rock"] == 0
    assert df.loc[1, "male vocal"] == 1
    assert list(df.columns) == datasets.schema("magnatagatune")
    assert Path(df.loc[0, "path"]).is_absolute()
    top50 = (SHARED / "mtat" / "top50_tags.txt").read_text().split()
    assert [t.replace(" ", "").lower() for t in magnatagatune.TOP50_TAGS] == [t.lower() for t in top50]


def test_magnatagatune_split_rule():
    assert [magnatagatune.split_of(f"{d}/x.mp3") for d in "0bcdf"] == ["train", "train", "valid", "test", "test"]
    with pytest.raises(DatasetError, match="16 folders"):
        magnatagatune.split_of("g/x.mp3")


def test_magnatagatune_rejects_a_foreign_csv(tmp_path):
    (tmp_path / "mp3").mkdir()
    (tmp_path / "annotations_final.csv").write_text("a\tb\n1\t2\n")
    with pytest.raises(DatasetError, match="annotations_final.csv"):
        magnatagatune.parse(tmp_path)


def test_urbansound_parser(tmp_path):
    meta = tmp_path / "UrbanSound8K" / "metadata" / "UrbanSound8K.csv"
    meta.parent.mkdir(parents=True)
    meta.write_text(
        "slice_file_name,fsID,start,end,salience,fold,classID,class\n"
        "100032-3-0-0.wav,100032,0.0,0.317551,1,5,3,dog_bark\n"
        "100263-2-0-117.wav,100263,58.5,62.5,1,5,2,children_playing\n"
        "102305-6-0-0.wav,102305,0.0,2.6,2,1,6,gun_shot\n"
    )
    for name, fold in (("100032-3-0-0.wav", 5), ("100263-2-0-117.wav", 5), ("102305-6-0-0.wav", 1)):
        _sine(tmp_path / "UrbanSound8K" / "audio" / f"fold{fold}" / name)
    df = urbansound.parse(tmp_path)
    assert list(df["label"]) == ["dog_bark", "children_playing", "gun_shot"]
    assert list(df["label_id"]) == [3, 2, 6]
    assert list(df["fold"]) == [5, 5, 1]
    assert all(Path(p).is_file() for p in df["path"])
    assert df.attrs["classes"][3] == "dog_bark"


def test_urbansound_inconsistent_class_ids(tmp_path):
    meta = tmp_path / "UrbanSound8K" / "metadata" / "UrbanSound8K.csv"
    meta.parent.mkdir(parents=True)
    meta.write_text("slice_file_name,fsID,start,end,salience,fold,classID,class\n1-3-0-0.wav,1,0,1,1,1,4,dog_bark\n")
    with pytest.raises(DatasetError, match="disagree"):
        urbansound.parse(tmp_path)


def test_jamendo_lab_files_and_filelists(tmp_path):
    for split, songs in (("train", ["01 - A CONTRE COURANT"]), ("valid", ["03 - castle"]), ("test", ["05 - Say me Good Bye"])):
        (tmp_path / "filelists").mkdir(exist_ok=True)
        (tmp_path / "filelists" / split).write_text("".join(f"{s}.ogg\n" for s in songs))
        for s in songs:
            (tmp_path / "audio").mkdir(exist_ok=True)
            (tmp_path / "audio" / f"{s}.ogg").write_bytes(b"OggS")  # the parser does not decode
            (tmp_path / "labels").mkdir(exist_ok=True)
            (tmp_path / "labels" / f"{s}.lab").write_text("0 7.5 nosing\n7.5 8.2 sing\n8.2 12.4 sing\n12.4 13 nosing\n")
    df = jamendo.parse(tmp_path)
    first = df[df["song"] == "01 - A CONTRE COURANT"].sort_values("offset")
    # 7.5 s of nosing -> 3 + 3 + 1.5; 0.7 s of sing dropped (< 1 s); 4.2 s of sing -> 3 + 1.2; 0.6 s dropped
    assert list(zip(first["offset"], first["duration"], first["label"])) == [
        (0.0, 3.0, "nosing"), (3.0, 3.0, "nosing"), (6.0, 1.5, "nosing"), (8.2, 3.0, "sing"), (11.2, 1.2, "sing")]
    assert set(df["split"]) == {"train", "valid", "test"}
    assert df["label_id"].tolist() == [int(x == "sing") for x in df["label"]]


def test_jamendo_bad_lab_line(tmp_path):
    lab = tmp_path / "x.lab"
    lab.write_text("0 1.5 sing\n1.5 two nosing\n")
    with pytest.raises(DatasetError, match="line 2"):
        jamendo.read_lab(lab)


def test_emomusic_static_annotations(tmp_path):
    ann = tmp_path / "annotations" / "static_annotations.csv"
    ann.parent.mkdir(parents=True)
    ann.write_text("song_id,mean_arousal,std_arousal,mean_valence,std_valence\n2,3.1,0.99443,3,0.66667\n3,3.5,1.5,3.3,1.2\n5,5,1,5,1\n")
    for song in (2, 3):  # song 5 has no audio: dropped
        _sine(tmp_path / "clips_45seconds" / f"{song}.mp3", fmt="MP3")
    df = emomusic.parse(tmp_path)
    assert df["clip_id"].tolist() == [2, 3]
    assert df["arousal"].tolist() == [3.1, 3.5] and df["valence"].tolist() == [3.0, 3.3]
    assert list(df.columns) == datasets.schema("emomusic")


def test_gtzan_genre_original_au_layout(tmp_path):
    for g in ("blues", "rock"):
        for k in range(2):
            _sine(tmp_path / "genres" / g / f"{g}.{k:05d}.au", fmt="AU")
    df = gtzan.parse_genre(tmp_path)
    assert df["clip_id"].tolist() == ["blues.00000", "blues.00001", "rock.00000", "rock.00001"]
    assert df["label_id"].tolist() == [0, 0, 9, 9]
    y = audio.load_audio(df["path"][0])  # the .au files decode
    assert len(y) == audio.SR // 2


def test_gtzan_genre_kaggle_layout(tmp_path):
    _sine(tmp_path / "genres_original" / "jazz" / "jazz.00054.wav")
    assert gtzan.parse_genre(tmp_path)["label"].tolist() == ["jazz"]


def test_gtzan_speechmusic(tmp_path):
    _sine(tmp_path / "music_speech" / "music_wav" / "bagpipe.wav")
    _sine(tmp_path / "music_speech" / "speech_wav" / "comedy.wav")
    df = gtzan.parse_speechmusic(tmp_path)
    assert df["clip_id"].tolist() == ["music/bagpipe", "speech/comedy"]
    assert df["label_id"].tolist() == [0, 1]


def test_ballroom(tmp_path):
    _sine(tmp_path / "Chacha" / "100701.mp3", fmt="MP3")
    _sine(tmp_path / "Wcswing" / "100703.mp3", fmt="MP3")
    df = ballroom.parse(tmp_path)
    assert df["label"].tolist() == ["Chacha", "Wcswing"] and df["label_id"].tolist() == [0, 12]


def test_missing_full_dataset_says_how_to_get_it(data_root):
    with pytest.raises(DatasetError, match="course-utils data download gtzan_genre"):
        datasets.load_dataset("gtzan_genre", "full")
    with pytest.raises(ParameterError, match="unknown dataset 'gtzan'"):
        datasets.load_dataset("gtzan")
    with pytest.raises(ParameterError, match="variant"):
        datasets.load_dataset("gtzan_genre", "medium")


def test_manual_dataset_gives_instructions(data_root):
    with pytest.raises(DatasetError) as info:
        datasets.download("emomusic")
    message = str(info.value)
    assert "cvml.unige.ch" in message and str(data_root / "full" / "emomusic") in message


def _urbansound_at(monkeypatch, url: str, checksum=None) -> None:
    """Point UrbanSound8K's archive record at ``url`` (no mirrors), with ``checksum`` if given."""
    from course_utils.fetch import remote

    files = remote.get("urbansound8k")
    record = dataclasses.replace(files.files[0], url=url, mirrors=(), sha256=checksum or files.files[0].sha256)
    monkeypatch.setitem(remote.REMOTE, "urbansound8k", files.replace(files=(record,)))


def test_download_failure_names_file_and_mirrors(data_root, monkeypatch):
    # an unreachable mirror: the error lists each address and what to do, and nothing is left
    _urbansound_at(monkeypatch, "http://127.0.0.1:9/UrbanSound8K.tar.gz")
    with pytest.raises(Exception) as info:
        datasets.download("urbansound8k")
    assert "UrbanSound8K.tar.gz" in str(info.value) and "127.0.0.1:9" in str(info.value)
    assert not (data_root / "full" / "urbansound8k").exists()


def test_fetch_from_a_local_mirror_end_to_end(data_root, tmp_path, monkeypatch):
    """The full-variant path: download a (tiny) UrbanSound8K archive, check it, extract, parse."""
    src = tmp_path / "src"
    meta = src / "UrbanSound8K" / "metadata" / "UrbanSound8K.csv"
    meta.parent.mkdir(parents=True)
    meta.write_text("slice_file_name,fsID,start,end,salience,fold,classID,class\n7-1-0-0.wav,7,0,1,1,3,1,car_horn\n")
    _sine(src / "UrbanSound8K" / "audio" / "fold3" / "7-1-0-0.wav")
    archive = shutil.make_archive(str(tmp_path / "UrbanSound8K"), "gztar", src)
    md5 = hashlib.md5(Path(archive).read_bytes()).hexdigest()
    _urbansound_at(monkeypatch, Path(archive).as_uri(), f"md5:{md5}")
    datasets.download("urbansound8k")
    df = datasets.load_dataset("urbansound8k", "full")
    assert df["label"].tolist() == ["car_horn"] and df["fold"].tolist() == [3]
    assert df.attrs["variant"] == "full"


# ---------------------------------------------------------------- mini generation

@pytest.fixture
def small_minis(monkeypatch):
    """Shrink the mini datasets so that generation in tests takes seconds."""
    monkeypatch.setattr(gtzan, "MINI_PER_SPEECHMUSIC", 3)
    monkeypatch.setattr(magnatagatune, "MINI_CLIPS_PER_FOLDER", 1)


def _digests(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path, small_minis):
    a = datasets.synthesize("gtzan_speechmusic", tmp_path / "a", seed=1, progress=False)
    b = datasets.synthesize("gtzan_speechmusic", tmp_path / "b", seed=1, progress=False)
    c = datasets.synthesize("gtzan_speechmusic", tmp_path / "c", seed=2, progress=False)
    assert _digests(a) == _digests(b)
    assert set(_digests(a)) == set(_digests(c)) and _digests(a) != _digests(c)


@pytest.mark.slow
def test_mini_magnatagatune_is_in_the_real_format(tmp_path, small_minis):
    root = datasets.synthesize("magnatagatune", tmp_path / "mtat", progress=False)
    text = (root / "annotations_final.csv").read_text().splitlines()
    assert text[0].startswith('"clip_id"\t') and text[0].endswith('\t"mp3_path"')
    assert {p.name for p in (root / "mp3").iterdir()} == set("0123456789abcdef")
    df = datasets.load_dataset("magnatagatune", root=root)
    assert len(df) == 16 and df["split"].value_counts().to_dict() == {"train": 12, "test": 3, "valid": 1}
    info = sf.info(df["path"][0])
    assert info.samplerate == 16000 and info.format == "MP3"


def test_damaged_mini_dataset_is_detected_and_rebuilt(tmp_path, small_minis):
    root = datasets.synthesize("gtzan_speechmusic", tmp_path / "sm", progress=False)
    victim = sorted((root / "music_speech" / "music_wav").glob("*.wav"))[0]
    original = victim.read_bytes()
    damaged = bytearray(original)
    damaged[len(damaged) // 2] ^= 0xFF  # same size, one byte flipped
    victim.write_bytes(bytes(damaged))
    assert any("checksum" in p for p in files.verify_manifest(root))
    datasets.load_dataset("gtzan_speechmusic", root=root)
    assert victim.read_bytes() == original
    victim.write_bytes(original[:100])  # truncated
    assert not minigen.is_current(root, minigen.DEFAULT_SEED)
    datasets.load_dataset("gtzan_speechmusic", root=root)
    assert victim.read_bytes() == original


def test_interrupted_generation_leaves_nothing(tmp_path, monkeypatch):
    def boom(root, seed, progress=True):
        (Path(root) / "half.wav").write_bytes(b"RIFF")
        raise KeyboardInterrupt

    spec = datasets.get_spec("gtzan_speechmusic")
    monkeypatch.setitem(datasets.REGISTRY, "gtzan_speechmusic", type(spec)(**{**spec.__dict__, "synthesize": boom}))
    with pytest.raises(KeyboardInterrupt):
        datasets.synthesize("gtzan_speechmusic", tmp_path / "sm")
    assert list(tmp_path.iterdir()) == []


def test_split_counts_keeps_imbalance_and_minimum():
    counts = minigen.split_counts(260, list(ballroom.FULL_COUNTS.values()), minimum=10)
    assert sum(counts) == 260 and min(counts) >= 10
    assert counts[ballroom.STYLES.index("Waltz")] > 2 * counts[ballroom.STYLES.index("Wcswing")]
    order = np.argsort(list(ballroom.FULL_COUNTS.values()))
    assert np.all(np.diff(np.array(counts)[order]) >= 0)  # the real ordering of class sizes is kept


# ---------------------------------------------------------------- the embedded defaults, as the notebooks see them

@pytest.mark.slow
@pytest.mark.usefixtures("mini_data_root")
@pytest.mark.parametrize("name", datasets.names())
def test_every_mini_dataset_loads_offline(name):
    df = datasets.load_dataset(name)
    spec = datasets.get_spec(name)
    assert list(df.columns[: len(datasets.schema(name))]) == datasets.schema(name) or set(datasets.schema(name)) <= set(df.columns)
    assert df["path"].map(lambda p: Path(p).is_file()).all()
    if spec.task == "classification":
        counts = df["label"].value_counts()
        assert set(counts.index) == set(spec.classes)  # every class present
    if spec.task == "tagging":
        freq = df[list(magnatagatune.TOP50_TAGS)].mean()
        assert (freq > 0).all(), f"tags never used: {list(freq[freq == 0].index)}"
        assert freq.max() > 5 * freq.min()  # imbalanced like the real tags
    if spec.split_column == "split":
        assert set(df["split"]) == {"train", "valid", "test"}
    y = audio.load_audio(df["path"].iloc[0], offset=float(df["offset"].iloc[0]),
                         duration=None if np.isnan(df["duration"].iloc[0]) else float(df["duration"].iloc[0]))
    assert len(y) > audio.SR // 2


def test_mini_build_never_replaces_a_users_own_folder(tmp_path):
    """load_dataset(name, root=my_real_data) without variant='full' must not wipe that folder."""
    from course_utils.datasets import load_dataset
    from course_utils.core.errors import DatasetError

    mine = tmp_path / "my_gtzan"
    mine.mkdir()
    (mine / "notes.txt").write_text("my own data")
    with pytest.raises(DatasetError, match="not a mini dataset.*variant='full'"):
        load_dataset("gtzan_speechmusic", root=mine)
    assert (mine / "notes.txt").read_text() == "my own data"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my_gtzan"], "no temporary folder is left"


@pytest.mark.slow
def test_download_of_a_complete_dataset_fetches_nothing(tmp_path, monkeypatch):
    """A folder that already parses is returned as it is: no download, no archive re-hashed."""
    from course_utils import datasets

    folder = datasets.synthesize("gtzan_speechmusic", tmp_path / "speechmusic", progress=False)  # the real layout
    import dataclasses

    def no_fetch(root):
        raise AssertionError("fetch called for a complete dataset")

    spec = dataclasses.replace(datasets.get_spec("gtzan_speechmusic"), fetch=no_fetch)
    monkeypatch.setitem(datasets.REGISTRY, "gtzan_speechmusic", spec)
    assert datasets.download("gtzan_speechmusic", root=folder) == folder


# ---------------------------------------------------------------- rebuilds never lose a user's file (issue 16)

def _add_user_files(root: Path) -> dict:
    (root / "my_notes.txt").write_text("my notes")
    _sine(root / "my_recordings" / "x.wav")
    return {p: p.read_bytes() for p in (root / "my_notes.txt", root / "my_recordings" / "x.wav")}


def test_rebuilding_a_damaged_mini_dataset_keeps_the_users_files(tmp_path, small_minis):
    root = datasets.synthesize("gtzan_speechmusic", root=tmp_path / "R", progress=False)
    mine = _add_user_files(root)
    victim = sorted((root / "music_speech" / "speech_wav").glob("*.wav"))[0]
    original = victim.read_bytes()
    victim.write_bytes(original[:100])  # truncated: the next load rebuilds
    datasets.load_dataset("gtzan_speechmusic", root=root)
    assert victim.read_bytes() == original
    assert {p: p.read_bytes() for p in mine} == mine, "a rebuild deleted the user's files"
    assert files.verify_manifest(root) == []
    assert [p.name for p in tmp_path.iterdir()] == ["R"], "no temporary folder is left"


def test_a_mini_dataset_is_never_replaced_by_another_one(tmp_path, small_minis):
    root = datasets.synthesize("gtzan_speechmusic", root=tmp_path / "R", progress=False)
    (root / "NOTES.txt").write_text("my notes")
    before = _digests(root)
    with pytest.raises(DatasetError, match=r"gtzan_speechmusic.*not urbansound8k.*nothing was changed"):
        datasets.load_dataset("urbansound8k", root=root)
    assert _digests(root) == before
    assert [p.name for p in tmp_path.iterdir()] == ["R"]


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_a_mini_dataset_with_a_damaged_manifest_is_repaired(tmp_path, small_minis, damage):
    """README: a damaged mini dataset is detected and rebuilt, the manifest included."""
    root = datasets.synthesize("gtzan_speechmusic", root=tmp_path / "R", progress=False)
    mine = _add_user_files(root)
    manifest = root / files.MANIFEST_NAME
    if damage == "missing":
        manifest.unlink()
    else:
        manifest.write_text('{"format": 1, "files": {"music_speech/mus')  # cut short
    df = datasets.load_dataset("gtzan_speechmusic", root=root)
    assert len(df) == 6 and files.verify_manifest(root) == []
    assert {p: p.read_bytes() for p in mine} == mine


def test_a_foreign_folder_in_the_datasets_layout_is_refused_with_the_reason(tmp_path, small_minis):
    """A folder in the real layout without a manifest (the user's own data) is left alone."""
    root = tmp_path / "R"
    for label in ("music", "speech"):
        _sine(root / "music_speech" / f"{label}_wav" / f"{label}_000.wav", seconds=1.0)
    before = _digests(root)
    with pytest.raises(DatasetError, match=r"no MANIFEST.json.*0 of 6.*nothing was changed.*variant='full'"):
        datasets.load_dataset("gtzan_speechmusic", root=root)
    assert _digests(root) == before
    assert [p.name for p in tmp_path.iterdir()] == ["R"]


def _age(*paths: Path, seconds: float) -> None:
    then = time.time() - seconds
    for p in paths:
        os.utime(p, (then, then))


def test_a_killed_synthesis_leaves_no_hidden_folder_behind_for_long(tmp_path, small_minis):
    """Issue 16: the next build removes the hidden folder of a killed one, not another process's."""
    stale = tmp_path / ".R.tmp-0123abcd"
    (stale / "music_speech").mkdir(parents=True)
    (stale / "music_speech" / "x.wav").write_bytes(b"x" * 1000)
    _age(stale / "music_speech" / "x.wav", stale / "music_speech", stale, seconds=2 * files.STALE_AFTER)
    busy = tmp_path / ".R.tmp-89abcdef"  # another process is writing into it right now
    (busy / "music_speech").mkdir(parents=True)
    _age(busy, seconds=2 * files.STALE_AFTER)  # its top folder is old, its content is new
    other = tmp_path / ".other.tmp-0123abcd"  # not this dataset's
    other.mkdir()
    _age(other, seconds=2 * files.STALE_AFTER)
    datasets.synthesize("gtzan_speechmusic", root=tmp_path / "R", progress=False)
    assert not stale.exists() and busy.is_dir() and other.is_dir()


@pytest.mark.slow
def test_the_workers_of_a_killed_synthesis_do_not_live_on(tmp_path):
    """Issue 16: loky workers orphaned by a killed synthesis used to idle for 300 s."""
    import signal
    import subprocess
    import sys

    import psutil

    script = (
        "import time\n"
        "from course_utils.datasets import minigen\n"
        "def render(i):\n"
        "    time.sleep(0.2)\n"
        "    return i\n"
        "minigen.render_clips(render, [{'i': i} for i in range(400)], progress=False)\n"
    )
    env = {**os.environ, "COURSE_WORKERS": "2", "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, cwd=tmp_path)
    try:
        parent = psutil.Process(proc.pid)
        deadline = time.time() + 60
        while time.time() < deadline and len(parent.children(recursive=True)) < 2:
            time.sleep(0.2)
        time.sleep(1.0)
        workers = parent.children(recursive=True)
        assert workers, "no worker processes started"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    _, alive = psutil.wait_procs(workers, timeout=20)
    for p in alive:
        p.kill()
    assert not alive, f"{len(alive)} worker process(es) outlived the killed synthesis"


def test_a_dataset_archive_beyond_its_limits_is_refused(data_root, tmp_path, monkeypatch):
    """Issue 16: the fetcher passes the dataset's limits to extract."""
    from course_utils.fetch.guards import ArchiveLimits

    src = tmp_path / "src"
    for i in range(12):
        _sine(src / "UrbanSound8K" / "audio" / "fold1" / f"{i}-1-0-0.wav", seconds=0.05)
    archive = shutil.make_archive(str(tmp_path / "UrbanSound8K"), "gztar", src)
    _urbansound_at(monkeypatch, Path(archive).as_uri(), "md5:" + hashlib.md5(Path(archive).read_bytes()).hexdigest())
    monkeypatch.setattr(urbansound, "LIMITS", ArchiveLimits(max_members=8, max_bytes=1 << 30))
    with pytest.raises(DownloadError, match="expands to more than 8 members"):
        datasets.download("urbansound8k")
    assert not (data_root / "full" / "urbansound8k").exists()


def test_a_folder_with_a_manifest_of_something_else_is_refused_untouched(tmp_path):
    """A manifest that is not a mini dataset's (another variant): refused, naming the manifest."""
    from course_utils.core.files import write_manifest
    from course_utils.core.errors import DatasetError
    from course_utils.datasets import minigen

    (tmp_path / "mine.txt").write_text("keep me")
    write_manifest(tmp_path, ["mine.txt"], extra={"variant": "full"})
    with pytest.raises(DatasetError, match="MANIFEST.json of something else"):
        minigen._owned_files(tmp_path, "gtzan_genre", None)
    assert (tmp_path / "mine.txt").read_text() == "keep me"
