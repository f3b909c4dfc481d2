"""Shared fixtures: the reference folder beside the repository, and a private data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "reference"


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
    """Every HTTP request of course_utils.download fails as without a network."""
    from urllib.error import URLError

    def refuse(*args, **kwargs):
        raise URLError("network is unreachable (test)")

    monkeypatch.setattr("course_utils.download.urlopen", refuse)
