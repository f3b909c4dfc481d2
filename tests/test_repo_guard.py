"""The write guard of tests/conftest.py (tests/repo_guard.py) sees what a test writes, and nothing else."""

from __future__ import annotations

import shutil
import subprocess

import pytest

import repo_guard


@pytest.fixture
def checkout(tmp_path):
    """A small git checkout with one committed file, an ignored data/ folder and one file in it."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    (repo / "data" / "mini").mkdir(parents=True)
    (repo / "code.py").write_text("x = 1\n")
    (repo / ".gitignore").write_text("data/*\n")
    (repo / "data" / "mini" / "a.wav").write_bytes(b"RIFF")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    return repo


def test_nothing_written_is_nothing_reported(checkout):
    before = repo_guard.snapshot(checkout, checkout / "data")
    (checkout / "data" / "mini" / "a.wav").read_bytes()
    assert repo_guard.changes(before, repo_guard.snapshot(checkout, checkout / "data")) == []


def test_writes_into_the_checkout_and_the_data_folder_are_reported(checkout):
    (checkout / "code.py").write_text("x = 2\n")  # already modified before the run
    before = repo_guard.snapshot(checkout, checkout / "data")
    (checkout / "code.py").write_text("x = 33\n")  # modified again
    (checkout / "new.txt").write_text("stray")
    (checkout / "data" / "mini" / "b.wav").write_bytes(b"RIFF")
    (checkout / "data" / "cache").mkdir()
    (checkout / "data" / "mini" / "a.wav").unlink()
    found = repo_guard.changes(before, repo_guard.snapshot(checkout, checkout / "data"))
    assert found == ["changed  checkout: code.py", "changed  checkout: new.txt", "created  data folder: cache",
                     "removed  data folder: mini/a.wav", "created  data folder: mini/b.wav"]
