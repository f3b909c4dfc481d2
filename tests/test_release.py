"""course_utils.tasks.release: fetching the authors' features with checksums (from a local mirror)."""

from __future__ import annotations

import shutil

import pytest

from course_utils.core.errors import CourseError
from course_utils.fetch import remote
from course_utils.tasks import release


@pytest.fixture
def mirror(shared_reference, tmp_path):
    """A file:// copy of the repository's data_feats/ and data_csv/, built from ../shared."""
    root = tmp_path / "mirror"
    root.mkdir()
    (root / "data_feats").symlink_to(shared_reference / "choi2017" / "features")
    (root / "data_csv").symlink_to(shared_reference / "choi2017" / "labels")
    return root


def _mirror(monkeypatch, base: str) -> None:
    """Fetch the release from a mirror of the authors' repository (``<base>/data_feats``, ``<base>/data_csv``)."""
    files = remote.get("choi2017_release")
    old = files.files[0].url.split("/data_feats/")[0]
    monkeypatch.setitem(remote.REMOTE, "choi2017_release", files.with_base_url(old, base))


def test_fetch_release_checks_every_file(mirror, tmp_path, monkeypatch):
    _mirror(monkeypatch, mirror.as_uri())
    target = tmp_path / "release"
    assert not release._complete(target)
    release.fetch_release(target, progress=False)
    assert release._complete(target)
    assert (target / "features" / "gtzan_genre_layer_4.npy").stat().st_size > 0


def test_tampered_file_is_rejected(mirror, tmp_path, monkeypatch):
    bad = tmp_path / "bad_mirror"
    shutil.copytree(mirror, bad, symlinks=False)
    victim = bad / "data_csv" / "gtzan_genre.csv"
    victim.write_bytes(victim.read_bytes().replace(b"blues", b"bluez", 1))
    _mirror(monkeypatch, bad.as_uri())
    with pytest.raises(CourseError, match="gtzan_genre.csv"):
        release.fetch_release(tmp_path / "release", progress=False)
    assert not (tmp_path / "release" / "labels" / "gtzan_genre.csv").exists()


def test_offline_says_what_to_do(tmp_path, monkeypatch):
    _mirror(monkeypatch, "http://127.0.0.1:9/nowhere")
    with pytest.raises(CourseError, match="data_feats/ and data_csv/"):
        release.fetch_release(tmp_path / "release", progress=False)
