"""Tests of course_utils.fetch.download against a local HTTP server (no internet needed)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import re
import shutil
import socket
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from course_utils.core.errors import DatasetError, DownloadError
from course_utils.core.files import is_temp_path
from course_utils.fetch.archives import extract
from course_utils.fetch.download import concatenate_parts, download, require_manual_files, USER_AGENT

DATA = bytes(range(256)) * 1200  # 307,200 bytes
SHA = hashlib.sha256(DATA).hexdigest()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- HTTP server


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep pytest output quiet
        pass

    def do_GET(self):
        srv = self.server
        rng = self.headers.get("Range")
        srv.requests.append(
            {"path": self.path, "range": rng, "user_agent": self.headers.get("User-Agent")}
        )
        if srv.status is not None:
            self.send_error(srv.status)
            return
        data = srv.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        if srv.corrupt:
            mid = len(data) // 2
            data = data[:mid] + bytes([data[mid] ^ 0xFF]) + data[mid + 1 :]
        start = 0
        if rng and not srv.ignore_range:
            start = int(re.fullmatch(r"bytes=(\d+)-", rng).group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if srv.drop_after is not None and len(body) > srv.drop_after:
            n, srv.drop_after = srv.drop_after, None  # one-shot
            self.wfile.write(body[:n])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if srv.stall_after is not None:
            self.wfile.write(body[: srv.stall_after])
            self.wfile.flush()
            srv.release.wait(10)
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def server():
    """A threaded HTTP server on 127.0.0.1 serving ``server.files`` (path -> bytes).

    Switches: ``drop_after`` (close the connection after N body bytes, once),
    ``ignore_range`` (always answer 200), ``status`` (answer this error), ``corrupt`` (flip a
    byte), ``stall_after`` (send N bytes then hang). ``requests`` records every request.
    """
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    srv.files = {"/data.bin": DATA}
    srv.requests = []
    srv.drop_after = None
    srv.ignore_range = False
    srv.status = None
    srv.corrupt = False
    srv.stall_after = None
    srv.release = threading.Event()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    thread = threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield srv
    srv.release.set()
    srv.shutdown()
    srv.server_close()
    thread.join(5)


def part_of(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


# --------------------------------------------------------------------------- download


def test_download_verifies(server, tmp_path):
    dest = tmp_path / "sub" / "data.bin"
    out = download(f"{server.url}/data.bin", dest, SHA, progress=False)
    assert out == dest
    assert dest.read_bytes() == DATA
    assert not part_of(dest).exists()
    assert server.requests[0]["range"] is None
    assert server.requests[0]["user_agent"] == USER_AGENT


def test_download_with_progress_bar_and_uppercase_hash(server, tmp_path):
    dest = tmp_path / "data.bin"
    download(f"{server.url}/data.bin", dest, "sha256:" + SHA.upper(), progress=True)
    assert dest.read_bytes() == DATA


def test_wrong_checksum_removes_everything(server, tmp_path):
    dest = tmp_path / "data.bin"
    wrong = sha(b"something else")
    url = f"{server.url}/data.bin"
    with pytest.raises(DownloadError) as info:
        download(url, dest, wrong, progress=False)
    message = str(info.value)
    for needle in (url, str(dest), wrong, SHA, "again"):
        assert needle in message
    assert not dest.exists()
    assert not part_of(dest).exists()


def test_corrupted_content_detected(server, tmp_path):
    server.corrupt = True
    dest = tmp_path / "data.bin"
    with pytest.raises(DownloadError, match="Checksum mismatch"):
        download(f"{server.url}/data.bin", dest, SHA, progress=False)
    assert not dest.exists()
    assert not part_of(dest).exists()


def test_interrupted_download_resumes(server, tmp_path):
    dest = tmp_path / "data.bin"
    url = f"{server.url}/data.bin"
    server.drop_after = 100_000
    with pytest.raises(DownloadError) as info:
        download(url, dest, SHA, progress=False, chunk_size=4096)
    message = str(info.value)
    assert url in message and str(dest) in message
    assert "run the same command again to resume" in message
    assert not dest.exists()
    part = part_of(dest)
    assert part.stat().st_size == 100_000

    download(url, dest, SHA, progress=False)
    assert server.requests[-1]["range"] == "bytes=100000-"
    assert dest.read_bytes() == DATA
    assert sha(dest.read_bytes()) == SHA
    assert not part.exists()


def test_resume_without_checksum(server, tmp_path):
    dest = tmp_path / "data.bin"
    url = f"{server.url}/data.bin"
    server.drop_after = 5000
    with pytest.raises(DownloadError, match="resume"):
        download(url, dest, progress=False)
    download(url, dest, progress=False)
    assert server.requests[-1]["range"] == "bytes=5000-"
    assert dest.read_bytes() == DATA


def test_server_ignoring_range_restarts_cleanly(server, tmp_path):
    dest = tmp_path / "data.bin"
    part_of(dest).write_bytes(b"garbage" * 1000)  # would corrupt the file if appended to
    server.ignore_range = True
    download(f"{server.url}/data.bin", dest, SHA, progress=False)
    assert server.requests[-1]["range"] == "bytes=7000-"
    assert dest.read_bytes() == DATA
    assert not part_of(dest).exists()


def test_complete_part_answered_416_is_finished(server, tmp_path):
    dest = tmp_path / "data.bin"
    part_of(dest).write_bytes(DATA)
    download(f"{server.url}/data.bin", dest, SHA, progress=False)
    assert server.requests[-1]["range"] == f"bytes={len(DATA)}-"
    assert dest.read_bytes() == DATA


def test_resume_false_starts_over(server, tmp_path):
    dest = tmp_path / "data.bin"
    part_of(dest).write_bytes(b"x" * 10)
    download(f"{server.url}/data.bin", dest, SHA, progress=False, resume=False)
    assert server.requests[-1]["range"] is None
    assert dest.read_bytes() == DATA


def test_404_names_url_and_status(server, tmp_path):
    dest = tmp_path / "missing.bin"
    url = f"{server.url}/missing.bin"
    with pytest.raises(DownloadError) as info:
        download(url, dest, progress=False)
    assert url in str(info.value) and "404" in str(info.value)
    assert not dest.exists() and not part_of(dest).exists()


@pytest.mark.parametrize("status", [403, 500])
def test_http_errors(server, tmp_path, status):
    server.status = status
    url = f"{server.url}/data.bin"
    with pytest.raises(DownloadError) as info:
        download(url, tmp_path / "data.bin", progress=False)
    assert url in str(info.value) and str(status) in str(info.value)


def test_stalled_transfer_times_out_and_keeps_part(server, tmp_path):
    server.stall_after = 1000
    dest = tmp_path / "data.bin"
    with pytest.raises(DownloadError, match="resume"):
        download(f"{server.url}/data.bin", dest, SHA, progress=False, timeout=0.3)
    server.release.set()
    assert part_of(dest).stat().st_size == 1000
    assert not dest.exists()


def test_connection_refused(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x.bin"
    with pytest.raises(DownloadError) as info:
        download(url, tmp_path / "x.bin", progress=False, timeout=5)
    assert url in str(info.value)
    assert list(tmp_path.iterdir()) == []  # nothing received: no empty .part left behind


def test_existing_valid_dest_makes_no_request(server, tmp_path):
    dest = tmp_path / "data.bin"
    dest.write_bytes(DATA)
    assert download(f"{server.url}/data.bin", dest, SHA, progress=False) == dest
    assert download(f"{server.url}/data.bin", dest, progress=False) == dest
    assert server.requests == []


def test_existing_bad_dest_is_downloaded_again(server, tmp_path):
    dest = tmp_path / "data.bin"
    dest.write_bytes(b"old version")
    download(f"{server.url}/data.bin", dest, SHA, progress=False)
    assert dest.read_bytes() == DATA


def test_existing_bad_dest_is_kept_as_bad(server, tmp_path):
    dest = tmp_path / "data.bin"
    dest.write_bytes(b"old version")
    download(f"{server.url}/data.bin", dest, SHA, progress=False)
    assert dest.read_bytes() == DATA
    assert (tmp_path / "data.bin.bad").read_bytes() == b"old version"


def test_a_placed_archive_with_the_wrong_checksum_is_kept_and_explained(tmp_path):
    """Issue 16: a file placed by hand (as the error says to) must never be deleted silently."""
    from course_utils.fetch.download import download_first

    dest = tmp_path / "downloads" / "genres.tar.gz"
    dest.parent.mkdir()
    junk = os.urandom(5 << 20)
    dest.write_bytes(junk)
    with pytest.raises(DownloadError) as info:
        download_first(["http://127.0.0.1:9/genres.tar.gz"], dest, SHA, progress=False)
    message = str(info.value)
    bad = tmp_path / "downloads" / "genres.tar.gz.bad"
    assert bad.read_bytes() == junk and not dest.exists()
    assert "checksum does not match" in message and f"expected {SHA}" in message and str(bad) in message
    dest.write_bytes(junk)  # placed again: a second .bad, the first one kept
    with pytest.raises(DownloadError):
        download_first(["http://127.0.0.1:9/genres.tar.gz"], dest, SHA, progress=False)
    assert bad.read_bytes() == junk and (tmp_path / "downloads" / "genres.tar.gz.1.bad").read_bytes() == junk


def test_cli_download_offline_keeps_a_placed_archive(data_root, monkeypatch, capsys):
    from course_utils.cli import main
    from course_utils.fetch import remote

    archive = remote.get("gtzan_genre")
    monkeypatch.setitem(remote.REMOTE, "gtzan_genre", archive.replace(files=(
        dataclasses.replace(archive.files[0], url="http://127.0.0.1:9/genres.tar.gz", mirrors=()),)))
    placed = data_root / "downloads" / "genres.tar.gz"
    placed.parent.mkdir(parents=True)
    junk = os.urandom(5 << 20)
    placed.write_bytes(junk)
    assert main(["data", "download", "gtzan_genre"]) == 1
    err = capsys.readouterr().err
    assert (data_root / "downloads" / "genres.tar.gz.bad").read_bytes() == junk
    assert "checksum does not match" in err and archive.files[0].sha256 in err and "Traceback" not in err


def test_every_dataset_archive_is_a_record_of_the_registry():
    """The full datasets' archives are RemoteFile records (with their mirrors), not loose constants."""
    from course_utils.fetch import remote

    names = {key: list(remote.get(key).checksums()) for key in ("gtzan_genre", "gtzan_speechmusic", "urbansound8k",
                                                                  "magnatagatune")}
    assert names["magnatagatune"] == ["annotations_final.csv", "mp3.zip.001", "mp3.zip.002", "mp3.zip.003"]
    genre = remote.get("gtzan_genre").file("genres.tar.gz")
    assert genre.addresses()[1] == "http://opihi.cs.uvic.ca/sound/genres.tar.gz" and len(genre.sha256) == 64
    assert remote.get("urbansound8k").files[0].sha256.startswith("md5:")
    moved = remote.get("magnatagatune").with_base_url("http://mi.soi.city.ac.uk", "file:///mirror")
    assert moved.file("mp3.zip.001").mirrors == ("file:///mirror/datasets/magnatagatune/mp3.zip.001",)


def test_file_url(tmp_path):
    src = tmp_path / "source folder" / "data.bin"
    src.parent.mkdir()
    src.write_bytes(DATA)
    dest = tmp_path / "out" / "data.bin"
    download(src.as_uri(), dest, SHA, progress=False)
    assert dest.read_bytes() == DATA
    with pytest.raises(DownloadError, match="does not exist"):
        download((tmp_path / "nope.bin").as_uri(), tmp_path / "nope.bin", progress=False)


def test_file_url_resumes_and_checks(tmp_path):
    src = tmp_path / "data.bin"
    src.write_bytes(DATA)
    dest = tmp_path / "out.bin"
    part_of(dest).write_bytes(DATA[:1234])
    download(src.as_uri(), dest, SHA, progress=False)
    assert dest.read_bytes() == DATA
    with pytest.raises(DownloadError, match="Checksum mismatch"):
        download(src.as_uri(), tmp_path / "other.bin", sha(b"x"), progress=False)
    assert not (tmp_path / "other.bin").exists()
    assert not part_of(tmp_path / "other.bin").exists()


def test_md5_checksums_are_accepted(tmp_path):
    """Some datasets publish only MD5 sums; ``md5:<hex>`` checks those."""
    src = tmp_path / "data.bin"
    src.write_bytes(DATA)
    good = "md5:" + hashlib.md5(DATA).hexdigest()
    assert download(src.as_uri(), tmp_path / "a.bin", good, progress=False).read_bytes() == DATA
    assert download(src.as_uri(), tmp_path / "a.bin", good, progress=False)  # already there
    with pytest.raises(DownloadError, match="Checksum mismatch"):
        download(src.as_uri(), tmp_path / "b.bin", "md5:" + "0" * 32, progress=False)
    assert not (tmp_path / "b.bin").exists()


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        download("ftp://example.org/x", tmp_path / "x")
    with pytest.raises(ValueError):
        download("http://127.0.0.1:9/x", tmp_path / "x", sha256="not-a-hash")
    with pytest.raises(ValueError):
        download("http://127.0.0.1:9/x", tmp_path)


# --------------------------------------------------------------------------- archives

CONTENT = {"top/a.txt": b"hello\n", "top/sub/b.bin": os.urandom(5000), "c.txt": b"c"}


def make_zip(path: Path, content=CONTENT) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in content.items():
            zf.writestr(name, data)
    return path


def make_tar(path: Path, content=CONTENT, mode="w:gz") -> Path:
    with tarfile.open(path, mode) as tf:
        for name, data in content.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def read_tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()
    }


def no_temp_left(folder: Path) -> bool:
    return not any(is_temp_path(p) for p in folder.iterdir())


@pytest.mark.parametrize("name", ["a.zip", "a.tar.gz", "a.tgz", "a.tar"])
def test_extract_roundtrip(tmp_path, name):
    archive = tmp_path / "dl" / name
    archive.parent.mkdir()
    if name.endswith(".zip"):
        make_zip(archive)
    else:
        make_tar(archive, mode="w" if name.endswith(".tar") else "w:gz")
    dest = tmp_path / "out" / "data"
    assert extract(archive, dest, progress=False) == dest
    assert read_tree(dest) == CONTENT
    assert no_temp_left(dest.parent)


def test_extract_members_subset(tmp_path):
    archive = make_zip(tmp_path / "a.zip")
    dest = extract(archive, tmp_path / "out", members=["top/sub", "c.txt"], progress=False)
    assert read_tree(dest) == {"top/sub/b.bin": CONTENT["top/sub/b.bin"], "c.txt": b"c"}
    with pytest.raises(DownloadError, match="does not contain"):
        extract(archive, tmp_path / "out2", members=["nope.txt"], progress=False)
    assert not (tmp_path / "out2").exists()


def test_extract_existing_dest(tmp_path):
    archive = make_zip(tmp_path / "a.zip")
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "keep.txt").write_text("x")
    extract(archive, dest, progress=False)  # non-empty: taken as already extracted
    assert read_tree(dest) == {"keep.txt": b"x"}
    extract(archive, dest, overwrite=True, progress=False)
    assert read_tree(dest) == CONTENT
    assert no_temp_left(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    extract(archive, empty, progress=False)
    assert read_tree(empty) == CONTENT


@pytest.mark.parametrize(
    "kind,name",
    [("zip", "../evil.txt"), ("zip", "/abs/evil.txt"), ("tar", "../evil.txt"),
     ("tar", "/evil.txt"), ("tar", "top/../../evil.txt")],
)
def test_extract_rejects_path_traversal(tmp_path, kind, name):
    content = {"good.txt": b"ok", name: b"evil"}
    archive = tmp_path / "dl" / ("bad.zip" if kind == "zip" else "bad.tar.gz")
    archive.parent.mkdir()
    (make_zip if kind == "zip" else make_tar)(archive, content)
    dest = tmp_path / "x" / "out"
    with pytest.raises(DownloadError, match="unsafe"):
        extract(archive, dest, progress=False)
    assert not dest.exists()
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "x" / "evil.txt").exists()
    assert no_temp_left(dest.parent)


def test_extract_rejects_escaping_symlink(tmp_path):
    archive = tmp_path / "dl" / "link.tar"
    archive.parent.mkdir()
    with tarfile.open(archive, "w") as tf:
        info = tarfile.TarInfo("data/link")
        info.type = tarfile.SYMTYPE
        info.linkname = "../../outside"
        tf.addfile(info)
    with pytest.raises(DownloadError, match="unsafe"):
        extract(archive, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["bad.zip", "bad.tar.gz"])
def test_extract_corrupt_archive(tmp_path, name):
    archive = tmp_path / name
    archive.write_bytes(os.urandom(3000))
    with pytest.raises(DownloadError) as info:
        extract(archive, tmp_path / "out", progress=False)
    assert str(archive) in str(info.value) and "download it again" in str(info.value)
    assert not (tmp_path / "out").exists()
    assert no_temp_left(tmp_path)


@pytest.mark.parametrize("name", ["trunc.zip", "trunc.tar.gz"])
def test_extract_truncated_archive(tmp_path, name):
    big = {"a.bin": os.urandom(200_000), "b.bin": os.urandom(200_000)}
    archive = tmp_path / name
    (make_zip if name.endswith(".zip") else make_tar)(archive, big)
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(DownloadError, match="corrupt"):
        extract(archive, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()
    assert no_temp_left(tmp_path)


def test_extract_bad_crc(tmp_path):
    archive = make_zip(tmp_path / "a.zip", {"a.txt": b"A" * 1000})
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo("a.txt")
        offset = info.header_offset + 30 + len(info.filename) + len(info.extra)
    raw = bytearray(archive.read_bytes())
    raw[offset + 1] ^= 0xFF  # damage the compressed data
    archive.write_bytes(bytes(raw))
    with pytest.raises(DownloadError, match="corrupt"):
        extract(archive, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_extract_missing_archive(tmp_path):
    with pytest.raises(DownloadError, match="download it first"):
        extract(tmp_path / "none.zip", tmp_path / "out", progress=False)


def test_interrupted_extraction_leaves_nothing(tmp_path, monkeypatch):
    archive = make_zip(tmp_path / "a.zip")
    real_extract = zipfile.ZipFile.extract
    calls = []

    def flaky(self, member, path=None, pwd=None):
        calls.append(member)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_extract(self, member, path, pwd)

    monkeypatch.setattr(zipfile.ZipFile, "extract", flaky)
    dest = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        extract(archive, dest, progress=False)
    assert not dest.exists()
    assert no_temp_left(tmp_path)
    monkeypatch.setattr(zipfile.ZipFile, "extract", real_extract)
    extract(archive, dest, progress=False)
    assert read_tree(dest) == CONTENT


def test_extract_into_archive_folder_refused(tmp_path):
    archive = make_zip(tmp_path / "a.zip")
    with pytest.raises(ValueError):
        extract(archive, tmp_path, progress=False)


# --------------------------------------------------------------------------- split archives


def test_concatenate_parts_roundtrip(tmp_path):
    whole = make_zip(tmp_path / "whole.zip").read_bytes()
    cut = [0, len(whole) // 3, 2 * len(whole) // 3, len(whole)]
    parts = []
    for i in range(3):
        p = tmp_path / f"mp3.zip.{i + 1:03d}"
        p.write_bytes(whole[cut[i] : cut[i + 1]])
        parts.append(p)
    joined = concatenate_parts(sorted(tmp_path.glob("mp3.zip.0*")), tmp_path / "mp3.zip",
                               sha(whole), progress=False)
    assert joined.read_bytes() == whole
    assert read_tree(extract(joined, tmp_path / "mp3", progress=False)) == CONTENT
    # already there with the right checksum: nothing to do
    assert concatenate_parts(parts, joined, sha(whole), progress=False) == joined

    with pytest.raises(DownloadError, match="Checksum mismatch"):
        concatenate_parts(parts[::-1], tmp_path / "wrong.zip", sha(whole), progress=False)
    assert not (tmp_path / "wrong.zip").exists()
    with pytest.raises(DownloadError, match="missing part"):
        concatenate_parts([parts[0], tmp_path / "mp3.zip.009"], tmp_path / "x.zip",
                          progress=False)
    assert no_temp_left(tmp_path)


# --------------------------------------------------------------------------- manual files

INSTRUCTIONS = "Get the files from https://example.org/dataset after accepting the licence."


def test_require_manual_files_missing(tmp_path):
    folder = tmp_path / "full" / "ds"
    with pytest.raises(DatasetError) as info:
        require_manual_files("ds", folder, {"a.csv": None, "audio/b.wav": None}, INSTRUCTIONS)
    message = str(info.value)
    assert INSTRUCTIONS in message
    assert str(folder.resolve()) in message
    assert "a.csv" in message and "audio/b.wav" in message
    assert "'ds'" in message
    assert folder.is_dir()  # created, ready for the user to drop files into


def test_require_manual_files_checksums(tmp_path):
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "a.csv").write_bytes(b"x,y\n")
    (folder / "audio").mkdir()
    expected = {"a.csv": sha(b"x,y\n"), "audio": None}
    assert require_manual_files("ds", folder, expected, INSTRUCTIONS) == folder.resolve()

    (folder / "a.csv").write_bytes(b"x,z\n")
    with pytest.raises(DatasetError) as info:
        require_manual_files("ds", folder, expected, INSTRUCTIONS)
    assert str(folder.resolve() / "a.csv") in str(info.value)
    assert "checksum" in str(info.value)
    require_manual_files("ds", folder, expected, INSTRUCTIONS, verify=False)


def test_published_md5_sums_work_for_joined_parts_and_manual_files(tmp_path):
    """Some datasets publish only MD5 sums: every checksum check accepts 'md5:<hex>'."""
    import hashlib

    whole = bytes(range(256)) * 39  # not periodic at the cut, so the parts in the wrong order differ
    md5 = "md5:" + hashlib.md5(whole).hexdigest()
    parts = []
    for i, chunk in enumerate((whole[:4001], whole[4001:])):
        p = tmp_path / f"x.zip.{i + 1:03d}"
        p.write_bytes(chunk)
        parts.append(p)
    joined = concatenate_parts(parts, tmp_path / "x.zip", md5, progress=False)
    assert joined.read_bytes() == whole
    with pytest.raises(DownloadError, match="Checksum mismatch"):
        concatenate_parts(parts[::-1], tmp_path / "y.zip", md5, progress=False)

    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "a.bin").write_bytes(whole)
    assert require_manual_files("ds", folder, {"a.bin": md5}, INSTRUCTIONS) == folder.resolve()
    (folder / "a.bin").write_bytes(whole[::-1])
    with pytest.raises(DatasetError, match="wrong checksum"):
        require_manual_files("ds", folder, {"a.bin": md5}, INSTRUCTIONS)


def _tar_of(path: Path, members) -> Path:
    with tarfile.open(path, "w") as tf:
        for name, kind, data in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
            else:  # a hard link to the member named by data
                info.type = tarfile.LNKTYPE
                info.linkname = data
                tf.addfile(info)
    return path


@pytest.mark.parametrize("members, culprit", [
    ([("x", "file", b"1"), ("x/y", "file", b"2")], "x/y"),
    ([("top/a", "file", b"1"), ("top/l", "hard", "top/missing")], "top/l"),
], ids=["file-then-folder", "hard-link-to-missing-member"])
def test_an_inconsistent_tar_is_one_clear_error(tmp_path, members, culprit):
    archive = _tar_of(tmp_path / "a.tar", members)
    with pytest.raises(DownloadError, match=rf"a.tar is inconsistent: its member '{culprit}' cannot be extracted"):
        extract(archive, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists() and no_temp_left(tmp_path)


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_an_archive_bigger_than_its_dataset_is_refused(tmp_path, kind):
    """Issue 16: a 1 MB archive must not expand to 1 GiB or 100,000 files."""
    from course_utils.fetch.guards import ArchiveLimits

    big = {"top/zeros.bin": bytes(8 << 20)}  # 8 MiB of zeros: a few KB compressed
    many = {f"top/f{i:03d}.txt": b"x" for i in range(50)}
    for content, limits, what in ((big, ArchiveLimits(100, 1 << 20), "more than 1,048,576 bytes"),
                                  (many, ArchiveLimits(20, 1 << 30), "more than 20 members")):
        archive = tmp_path / f"a.{kind}"
        (make_zip if kind == "zip" else make_tar)(archive, content)
        assert archive.stat().st_size < 100_000
        with pytest.raises(DownloadError, match=rf"a.{kind} expands to {what}.*nothing was extracted"):
            extract(archive, tmp_path / "out", limits=limits, progress=False)
        assert not (tmp_path / "out").exists() and no_temp_left(tmp_path)
        assert read_tree(extract(archive, tmp_path / "ok", progress=False)) == content  # no limits: as before
        shutil.rmtree(tmp_path / "ok")


def test_every_dataset_archive_has_limits():
    from course_utils.datasets import gtzan, magnatagatune, urbansound

    for limits in (gtzan.GENRE_LIMITS, gtzan.SPEECHMUSIC_LIMITS, urbansound.LIMITS, magnatagatune.MP3_LIMITS):
        assert 100 < limits.max_members < 100_000 and 100 << 20 < limits.max_bytes < 16 << 30
