"""Is the real material of a notebook section on this machine? One answer per kind of material.

The notebooks' real-music sections need files that the course never ships: the authors' released
features, weights and example clips (``"reference"``), and the musicnn wheel (``"musicnn"``).
Each is found in the course's one lookup order (:func:`course_utils.fetch.download.locate`): the data
folder, then the reference folder, then the network (the musicnn wheel through pip, from the
package index). :func:`missing` says why a kind cannot be had, so that the course's tests skip
such cells with that reason (``conftest.py`` at the repository's root) instead of failing.
"""

from __future__ import annotations

import os
from contextlib import contextmanager


@contextmanager
def _offline():
    """No downloads inside this block (:data:`course_utils.core.paths.OFFLINE_ENV`)."""
    from course_utils.core.paths import OFFLINE_ENV

    before = os.environ.get(OFFLINE_ENV)
    os.environ[OFFLINE_ENV] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(OFFLINE_ENV, None)
        else:
            os.environ[OFFLINE_ENV] = before


def _reference() -> None:
    """Find the authors' release, weights and example clips without downloading anything."""
    from course_utils import audio
    from course_utils.models import choi2017
    from course_utils.tasks import release

    with _offline():
        release.fetch_release(progress=False)
        choi2017.fetch_choi2017(progress=False)
        audio.fetch_example_clips(progress=False)


def _musicnn() -> None:
    """Find (or fetch through pip, from the package index) the musicnn wheel."""
    from course_utils.models import musicnn

    musicnn.fetch_wheel()


_FINDERS = {"reference": _reference, "musicnn": _musicnn}


def missing(material: str) -> str | None:
    """Why a kind of real material cannot be had here, or ``None`` when it can.

    Args:
        material: ``"reference"`` (the authors' release, weights and example clips; never
            downloaded by this check) or ``"musicnn"`` (the musicnn wheel; fetched through pip
            when it is not in the data folder).

    Returns:
        ``None``, or a one-line reason.

    Raises:
        ValueError: an unknown kind of material.
    """
    if material not in _FINDERS:
        raise ValueError(f"unknown material {material!r}: one of {sorted(_FINDERS)}")
    try:
        _FINDERS[material]()
    except Exception as exc:  # any failure to find it is a reason to skip, said in one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"not on this machine ({first})"
    return None
