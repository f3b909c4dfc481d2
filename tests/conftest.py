"""Shared fixtures: the reference folder beside the repository, private data folders, and the
guard that no test under tests/ writes into the checkout or the data folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import repo_guard

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "reference"
TESTS = Path(__file__).resolve().parent


def _data_folder() -> Path:
    """The data folder the notebooks use: ``$COURSE_DATA_DIR`` or the checkout's ``data/``."""
    return Path(os.environ.get("COURSE_DATA_DIR") or REPO / "data")


@pytest.fixture
def shared_reference() -> Path:
    """``../shared/reference`` (the authors' released material); skips when absent."""
    if not SHARED.is_dir():
        pytest.skip(f"reference material not found at {SHARED} (only present beside a course checkout in CI)")
    return SHARED


@pytest.fixture
def data_root(tmp_path, monkeypatch) -> Path:
    """A private, empty COURSE_DATA_DIR for one test."""
    root = tmp_path / "data"
    monkeypatch.setenv("COURSE_DATA_DIR", str(root))
    return root


@pytest.fixture
def no_reference(tmp_path, monkeypatch) -> None:
    """No reference folder: COURSE_REFERENCE_DIR names a missing folder, so ../shared is not consulted."""
    monkeypatch.setenv("COURSE_REFERENCE_DIR", str(tmp_path / "no_reference_here"))


@pytest.fixture
def offline(monkeypatch) -> None:
    """Every HTTP request of course_utils.fetch.download fails as without a network."""
    from urllib.error import URLError

    def refuse(*args, **kwargs):
        raise URLError("network is unreachable (test)")

    monkeypatch.setattr("course_utils.fetch.download.urlopen", refuse)


def _link_or_copy(src, dst):
    try:
        os.link(src, dst)
    except OSError:  # another file system, or no hard links
        shutil.copy2(src, dst)


@pytest.fixture(scope="session")
def _mini_folder(tmp_path_factory) -> Path:
    """A private data folder for the mini datasets, one per session (per xdist worker).

    Seeded with the mini datasets already built in the notebooks' data folder, by hard links (copies
    across file systems), so that nothing is synthesised twice; :func:`load_dataset` checks each
    against its manifest and rebuilds here, never there, what is missing, stale or damaged.
    """
    from course_utils.datasets import names

    root = tmp_path_factory.mktemp("data")
    built = _data_folder() / "mini"
    for name in names():
        if (built / name).is_dir():
            shutil.copytree(built / name, root / "mini" / name, copy_function=_link_or_copy)
    return root


@pytest.fixture
def mini_data_root(_mini_folder, monkeypatch) -> Path:
    """A private COURSE_DATA_DIR holding the mini datasets, shared by the tests of a session."""
    monkeypatch.setenv("COURSE_DATA_DIR", str(_mini_folder))
    return _mini_folder


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """musicnn's 0.1.0 wheel: the data folder's or the reference folder's copy, or one ``pip download`` per session."""
    from course_utils.core import paths
    from course_utils.models import musicnn
    from course_utils.core.files import sha256_file
    from course_utils.core.errors import DownloadError

    for kept in [paths.data_dir() / "models" / musicnn.WHEEL_FILENAME, *musicnn._reference_wheels()]:
        if kept.is_file() and sha256_file(kept) == musicnn.WHEEL_SHA256:
            return kept
    try:
        got = musicnn._pip_download(tmp_path_factory.mktemp("musicnn-wheel"))
    except DownloadError as exc:
        pytest.skip(f"the musicnn 0.1.0 wheel is not in the data or reference folder and pip cannot fetch it: {exc}")
    assert sha256_file(got) == musicnn.WHEEL_SHA256
    return got


# --------------------------------------------------------------------------- the write guard

_GUARD: dict = {}


def _under_tests(item) -> bool:
    return item is not None and TESTS in Path(str(item.path)).resolve().parents


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before the first test under tests/ of this process: what the checkout and data folder hold."""
    if "before" not in _GUARD:
        _GUARD["data"] = _data_folder()
        _GUARD["before"] = repo_guard.snapshot(REPO, _GUARD["data"])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After the last test under tests/ of this process (nbval's notebooks, which legitimately
    write data/ caches, come after them): fail that teardown if the tests wrote into the checkout
    or the data folder. Under xdist each worker checks from its first test to its last."""
    result = yield
    if "before" in _GUARD and not _under_tests(nextitem):
        before = _GUARD.pop("before")
        written = repo_guard.changes(before, repo_guard.snapshot(REPO, _GUARD["data"]))
        if written:
            listing = "\n".join(f"  {line}" for line in written[:20])
            more = f"\n  ... and {len(written) - 20} more" if len(written) > 20 else ""
            pytest.fail(f"tests under tests/ wrote into the repository or the data folder {_GUARD['data']} "
                        f"during this run (every test must write only to tmp_path or a private COURSE_DATA_DIR, "
                        f"see tests/conftest.py; a file you edited yourself meanwhile shows up here too):\n"
                        f"{listing}{more}", pytrace=False)
    return result
