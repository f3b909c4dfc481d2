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


def test_one_parser_reads_every_layer_spec():
    """``split_layers`` reads the release's ``01234+mfcc`` and musicnn's ``max_pool+tags`` alike."""
    from course_utils.core.errors import ParameterError
    from course_utils.features import registry

    assert release.split_layers("01234+mfcc", ("mfcc",)) == ["0", "1", "2", "3", "4", "mfcc"]
    assert release.split_layers("42") == ["2", "4"]
    assert [p.name for p in release.feature_files("release", "gtzan_genre", "4+mfcc")] == [
        "gtzan_genre_layer_4.npy", "gtzan_genre_mfcc.npy"]
    for bad in ("0+0", "mfcc+mfcc", "5", "pool", ""):
        with pytest.raises(ParameterError, match="digits 0 to 4"):
            release.split_layers(bad, ("mfcc",))
    musicnn = registry.get_model("musicnn", load=False)
    assert musicnn.check_layers("max_pool+tags") == "max_pool+tags"
    assert musicnn._parts("penultimate+mean_pool") == ["penultimate", "mean_pool"]
    for bad in ("penultimate+penultimate", "01234", "pool"):
        with pytest.raises(ParameterError, match="'penultimate', 'max_pool', 'mean_pool', 'tags'"):
            musicnn.check_layers(bad)
    with pytest.raises(ParameterError, match="'penultimate' of MSD_vgg: give 'tags'"):
        registry.get_model("musicnn:MSD_vgg", load=False).check_layers("penultimate")
