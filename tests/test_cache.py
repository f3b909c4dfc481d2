"""Tests of course_utils.core.files: atomic writes, manifests, temp-file cleanup."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from course_utils.core.files import (
    MANIFEST_NAME,
    atomic_write,
    atomic_write_bytes,
    atomic_write_text,
    is_temp_path,
    read_manifest,
    remove_stale_temp_files,
    sha256_file,
    temp_path_for,
    verify_manifest,
    write_manifest,
)
from course_utils.core.errors import DatasetError


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("size", [0, 1, 1000, (1 << 20) + 7])
def test_sha256_file(tmp_path, size):
    data = os.urandom(size)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
    assert sha256_file(path, chunk=333) == hashlib.sha256(data).hexdigest()


def test_temp_names_keep_suffix_and_are_recognised(tmp_path):
    tmp = temp_path_for(tmp_path / "clip.wav")
    assert tmp.parent == tmp_path
    assert tmp.name.startswith(".clip.tmp-") and tmp.suffix == ".wav"
    assert is_temp_path(tmp)
    folder_tmp = temp_path_for(tmp_path / "gtzan_1.0", keep_suffix=False)
    assert folder_tmp.name.startswith(".gtzan_1.0.tmp-") and is_temp_path(folder_tmp)
    assert is_temp_path(temp_path_for("noext"))
    for name in ["clip.wav", "clip.wav.part", ".hidden", "MANIFEST.json", ".x.tmp-zz.wav"]:
        assert not is_temp_path(name)


def test_atomic_write_success(tmp_path):
    target = tmp_path / "sub" / "table.csv"
    with atomic_write(target) as tmp:
        assert tmp.parent == target.parent and tmp.suffix == ".csv"
        assert not target.exists()
        tmp.write_text("a,b\n")
    assert target.read_text() == "a,b\n"
    assert listing(target.parent) == ["table.csv"]


def test_atomic_write_leaves_nothing_on_exception(tmp_path):
    target = tmp_path / "x.bin"
    with pytest.raises(RuntimeError):
        with atomic_write(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("boom")
    assert listing(tmp_path) == []


def test_atomic_write_keeps_old_file_on_exception(tmp_path):
    target = tmp_path / "x.bin"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(target) as tmp:
            tmp.write_bytes(b"new but incomplete")
            raise KeyboardInterrupt
    assert target.read_bytes() == b"old"
    assert listing(tmp_path) == ["x.bin"]
    with atomic_write(target) as tmp:
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"


def test_atomic_write_block_that_writes_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        with atomic_write(tmp_path / "x.bin"):
            pass
    assert listing(tmp_path) == []


def test_atomic_write_bytes_and_text(tmp_path):
    assert atomic_write_bytes(tmp_path / "a.bin", b"\x00\x01").read_bytes() == b"\x00\x01"
    assert atomic_write_text(tmp_path / "b.txt", "é\n").read_text(encoding="utf-8") == "é\n"
    assert listing(tmp_path) == ["a.bin", "b.txt"]


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "mini"
    (root / "audio" / "blues").mkdir(parents=True)
    (root / "audio" / "blues" / "a.wav").write_bytes(os.urandom(4000))
    (root / "audio" / "blues" / "b.wav").write_bytes(os.urandom(3000))
    (root / "meta.csv").write_text("id,genre\n1,blues\n")
    (root / "audio" / ".c.tmp-0123abcd.wav").write_bytes(b"leftover")
    (root / ".ipynb_checkpoints").mkdir()
    (root / ".ipynb_checkpoints" / "x").write_text("x")
    return root


def test_manifest_roundtrip(tree):
    path = write_manifest(tree, extra={"generator": "gtzan-mini", "seed": 0})
    assert path == tree / MANIFEST_NAME
    manifest = read_manifest(tree)
    assert sorted(manifest["files"]) == ["audio/blues/a.wav", "audio/blues/b.wav", "meta.csv"]
    entry = manifest["files"]["audio/blues/a.wav"]
    assert entry["size"] == 4000
    assert entry["sha256"] == sha256_file(tree / "audio" / "blues" / "a.wav")
    assert manifest["extra"] == {"generator": "gtzan-mini", "seed": 0}
    assert json.loads(path.read_text())["format"] == 1
    assert verify_manifest(tree) == []
    assert verify_manifest(tree, quick=True) == []
    # files present but not listed are ignored
    (tree / "features.npy").write_bytes(b"cache")
    assert verify_manifest(tree) == []
    # rewriting the manifest does not list the old manifest or leave temp files
    write_manifest(tree)
    assert MANIFEST_NAME not in read_manifest(tree)["files"]
    assert [p.name for p in tree.iterdir() if is_temp_path(p)] == []


def test_manifest_detects_modified_byte(tree):
    write_manifest(tree)
    path = tree / "audio" / "blues" / "a.wav"
    data = bytearray(path.read_bytes())
    data[100] ^= 0x01
    path.write_bytes(bytes(data))
    assert verify_manifest(tree, quick=True) == []  # same size: quick mode cannot tell
    problems = verify_manifest(tree)
    assert len(problems) == 1
    assert problems[0].startswith("audio/blues/a.wav:") and "checksum" in problems[0]


def test_manifest_detects_truncated_file(tree):
    write_manifest(tree)
    path = tree / "audio" / "blues" / "b.wav"
    path.write_bytes(path.read_bytes()[:1000])
    for quick in (True, False):
        problems = verify_manifest(tree, quick=quick)
        assert len(problems) == 1
        assert problems[0].startswith("audio/blues/b.wav:") and "size" in problems[0]


def test_manifest_detects_missing_file(tree):
    write_manifest(tree)
    (tree / "meta.csv").unlink()
    (tree / "audio" / "blues" / "a.wav").unlink()
    assert verify_manifest(tree, quick=True) == [
        "audio/blues/a.wav: missing",
        "meta.csv: missing",
    ]


def test_missing_or_corrupt_manifest(tree):
    problems = verify_manifest(tree)
    assert len(problems) == 1 and MANIFEST_NAME in problems[0]
    with pytest.raises(DatasetError, match="missing"):
        read_manifest(tree)
    (tree / MANIFEST_NAME).write_text("{not json")
    assert "corrupt" in verify_manifest(tree)[0]
    with pytest.raises(DatasetError, match="corrupt"):
        read_manifest(tree)


def test_manifest_explicit_files(tree):
    write_manifest(tree, files=["meta.csv", tree / "audio" / "blues" / "a.wav"])
    assert sorted(read_manifest(tree)["files"]) == ["audio/blues/a.wav", "meta.csv"]
    with pytest.raises(ValueError):
        write_manifest(tree, files=[tree.parent / "elsewhere.txt"])
    with pytest.raises(FileNotFoundError):
        write_manifest(tree, files=["nope.wav"])


def test_manifest_many_files(tmp_path):
    root = tmp_path / "many"
    for i in range(300):
        sub = root / f"d{i % 10}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"{i}.bin").write_bytes(i.to_bytes(4, "little") * (i + 1))
    write_manifest(root)
    assert len(read_manifest(root)["files"]) == 300
    assert verify_manifest(root) == []
    (root / "d7" / "17.bin").write_bytes(b"\x00" * 72)
    assert [p.split(":")[0] for p in verify_manifest(root)] == ["d7/17.bin"]


def test_remove_stale_temp_files(tree):
    (tree / "download.zip.part").write_bytes(b"resumable")
    stale_dir = tree / ".full.tmp-89abcdef"
    (stale_dir / "inner").mkdir(parents=True)
    (stale_dir / "inner" / "f").write_text("x")
    removed = remove_stale_temp_files(tree)
    assert sorted(p.name for p in removed) == [".c.tmp-0123abcd.wav", ".full.tmp-89abcdef"]
    assert not stale_dir.exists()
    assert (tree / "download.zip.part").exists()
    assert (tree / "meta.csv").exists()
    assert remove_stale_temp_files(tree) == []
    assert remove_stale_temp_files(tree / "does-not-exist") == []
    fresh = tree / ".d.tmp-00000000.wav"
    fresh.write_bytes(b"being written")
    assert remove_stale_temp_files(tree, min_age=3600) == []
    assert fresh.exists()


def test_atomic_save_npy_writes_exactly_the_name_given(tmp_path):
    """np.save given a name appends .npy; the atomic save must still end at the path asked for."""
    import numpy as np

    from course_utils.core.files import atomic_save_npy

    for name in ("a.npy", "b.features", "c"):
        atomic_save_npy(tmp_path / name, np.arange(3))
        assert np.load(tmp_path / name).tolist() == [0, 1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy", "b.features", "c"]


def test_file_signature_changes_with_the_content_at_the_same_path(tmp_path):
    import os

    from course_utils.core.files import file_signature

    f = tmp_path / "x.wav"
    f.write_bytes(b"one")
    before = file_signature(f)
    f.write_bytes(b"two")
    os.utime(f, ns=(before[2], before[2] + 1))
    assert file_signature(f) != before and file_signature(f)[1] == 3
    assert file_signature(tmp_path / "nope", missing_ok=True)[1:] == [None, None]
    with pytest.raises(FileNotFoundError):
        file_signature(tmp_path / "nope")
