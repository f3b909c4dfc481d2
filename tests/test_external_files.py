"""One lookup order for external files: the data folder, the reference folder, the network.

A fake reference folder in tmp_path (named by COURSE_REFERENCE_DIR) stands for ``../shared/reference``;
the checks on the real one skip when it is absent.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from pathlib import Path

import pytest

from course_utils.core import paths
from course_utils.core.errors import CourseError, DownloadError
from course_utils.fetch import checksums, download, remote
from course_utils import audio
from course_utils.models import choi2017
from course_utils.tasks import release


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _snapshot(folder: Path) -> dict:
    """Every file under ``folder`` with its size and modification time."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


def _read_only(folder: Path) -> None:
    for p in (p for p in folder.rglob("*") if p.is_file()):
        p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


@pytest.fixture
def fake_reference(tmp_path, monkeypatch) -> Path:
    """An empty reference folder named by COURSE_REFERENCE_DIR."""
    root = tmp_path / "reference"
    root.mkdir()
    monkeypatch.setenv(paths.REFERENCE_ENV, str(root))
    return root


FILES = {"a.txt": b"first file\n", "sub/b.txt": b"second file\n"}
SUMS = {name: sha(data) for name, data in FILES.items()}


# ---------------------------------------------------------------------------- paths.reference_dir


def test_reference_dir_env_var_then_checkout(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.REFERENCE_ENV, str(tmp_path))
    assert paths.reference_dir() == tmp_path.resolve()
    monkeypatch.setenv(paths.REFERENCE_ENV, str(tmp_path / "missing"))
    assert paths.reference_dir() is None  # named but absent: lookup off, the checkout's folder is not used
    monkeypatch.delenv(paths.REFERENCE_ENV)
    beside = paths.repo_root().parent / "shared" / "reference"
    assert paths.reference_dir() == (beside.resolve() if beside.is_dir() else None)


# ---------------------------------------------------------------------------- download.locate


def test_locate_prefers_the_data_folder(tmp_path, fake_reference, offline):
    for name, data in FILES.items():
        _write(tmp_path / "data" / name, data)
        _write(fake_reference / "group" / name, data)
    found = download.locate(SUMS, tmp_path / "data", "group", "http://127.0.0.1:9/none", progress=False)
    assert found == {name: tmp_path / "data" / name for name in FILES}


def test_locate_uses_the_reference_in_place_without_network(tmp_path, fake_reference, offline):
    for name, data in FILES.items():
        _write(fake_reference / "group" / name, data)
    _write(tmp_path / "data" / "a.txt", FILES["a.txt"])  # an incomplete local copy does not count
    _read_only(fake_reference)
    before = _snapshot(fake_reference)
    found = download.locate(SUMS, tmp_path / "data", "group", "http://127.0.0.1:9/none", progress=False)
    assert found == {name: fake_reference / "group" / name for name in FILES}
    assert _snapshot(fake_reference) == before  # never written to
    assert sorted(p.name for p in (tmp_path / "data").rglob("*") if p.is_file()) == ["a.txt"]  # nothing copied


def test_locate_reference_names_may_differ(tmp_path, fake_reference, offline):
    _write(fake_reference / "x" / "y" / "model.bin", b"weights")
    found = download.locate({"local.bin": sha(b"weights")}, tmp_path / "data", {"local.bin": "x/y/model.bin"},
                            {"local.bin": "http://127.0.0.1:9/model.bin"}, progress=False)
    assert found == {"local.bin": fake_reference / "x" / "y" / "model.bin"}


def test_damaged_reference_copy_is_skipped_and_the_network_tried(tmp_path, fake_reference, offline, caplog):
    for name, data in FILES.items():
        _write(fake_reference / "group" / name, data)
    _write(fake_reference / "group" / "a.txt", b"damaged\n")
    with caplog.at_level(logging.WARNING, logger="course_utils.fetch.download"), pytest.raises(DownloadError, match="a.txt"):
        download.locate(SUMS, tmp_path / "data", "group", "http://127.0.0.1:9/none", progress=False)
    assert "wrong checksum" in caplog.text


def test_locate_downloads_into_the_data_folder_last(tmp_path, no_reference):
    mirror = tmp_path / "mirror"
    for name, data in FILES.items():
        _write(mirror / name, data)
    found = download.locate(SUMS, tmp_path / "data", "group", mirror.as_uri(), progress=False)
    assert found == {name: tmp_path / "data" / name for name in FILES}
    assert all(checksums.intact(p, SUMS[n]) for n, p in found.items())


def test_intact():
    assert not checksums.intact("/nonexistent/file")
    assert checksums.intact(__file__) and not checksums.intact(__file__, "0" * 64)


# ---------------------------------------------------------------------------- the course's files


def _swap(monkeypatch, key, contents):
    """Point a group of the registry of external files at other contents (name -> bytes)."""
    files = tuple(remote.RemoteFile(name, f"http://127.0.0.1:9/{name}", sha(data)) for name, data in contents.items())
    monkeypatch.setitem(remote.REMOTE, key, remote.get(key).replace(files=files))


def test_release_found_in_a_fake_reference_offline(data_root, fake_reference, offline, monkeypatch):
    files = {"features/gtzan_genre_layer_0.npy": b"npy", "labels/gtzan_genre.csv": b",id,filepath,label\n"}
    _swap(monkeypatch, "choi2017_release", files)
    for rel, data in files.items():
        _write(fake_reference / "choi2017" / rel, data)
    assert release.fetch_release(progress=False) == fake_reference / "choi2017"
    assert not paths.release_dir().exists()


def test_release_without_either_says_how_to_get_it(data_root, no_reference, offline):
    with pytest.raises(CourseError, match="data_feats/ and data_csv/") as info:
        release.fetch_release(progress=False)
    assert paths.REFERENCE_ENV in str(info.value)


def test_weights_found_in_a_fake_reference_offline(data_root, fake_reference, offline, monkeypatch):
    weights = remote.get("choi2017_weights")
    name = weights.files[0].name
    _swap(monkeypatch, "choi2017_weights", {name: b"fake weights"})
    ref = _write(fake_reference / weights.reference[name], b"fake weights")
    assert choi2017.fetch_choi2017(progress=False) == ref
    assert not choi2017.choi2017_path().exists()


def test_weights_without_either_say_how_to_get_it(data_root, no_reference, offline):
    with pytest.raises(DownloadError) as info:
        choi2017.fetch_choi2017(progress=False)
    message = str(info.value)
    assert remote.get("choi2017_weights").files[0].url in message and str(choi2017.choi2017_path()) in message
    assert paths.REFERENCE_ENV in message


def test_clips_found_in_a_fake_reference_offline(data_root, fake_reference, offline, monkeypatch):
    clips = {f"clip{i}.mp3": f"audio {i}".encode() for i in range(3)}
    _swap(monkeypatch, "bensound_clips", clips)
    for name, data in clips.items():
        _write(fake_reference / "audio" / name, data)
    assert audio.fetch_example_clips(progress=False) == [fake_reference / "audio" / n for n in clips]


def test_clips_without_either_fail_clearly(data_root, no_reference, offline):
    with pytest.raises(CourseError, match="bensound"):
        audio.fetch_example_clips(progress=False)


# ---------------------------------------------------------------------------- the real reference folder


def test_real_reference_release_and_clips_offline(shared_reference, data_root, offline, monkeypatch):
    monkeypatch.delenv(paths.REFERENCE_ENV, raising=False)
    folder = release.fetch_release(progress=False)
    assert folder == (shared_reference / "choi2017").resolve()
    X, y, _ = release.load_release(None, "gtzan_genre", "01234")
    assert X.shape == (1000, 160) and len(set(y)) == 10
    clips = audio.fetch_example_clips(progress=False)
    assert [p.name for p in clips] == list(remote.get("bensound_clips").checksums())
    assert all(p.parent == (shared_reference / "audio").resolve() for p in clips)
    assert not any(Path(data_root).rglob("*.mp3")) and not paths.release_dir().exists()
    assert os.access(clips[0], os.R_OK)
