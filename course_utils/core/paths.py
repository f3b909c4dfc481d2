"""The course's settings and its data tree: where it keeps data, where it finds reference copies.

Every setting is an environment variable prefixed ``COURSE_``, read here and nowhere else:

- ``COURSE_DATA_DIR``: the data folder (:func:`data_dir`);
- ``COURSE_REFERENCE_DIR``: a folder of read-only reference copies of external files (:func:`reference_dir`);
- ``COURSE_CHOI2017_RELEASE``: a folder holding the authors' released features (:func:`release_dir`);
- ``COURSE_OFFLINE``: nothing is fetched over the network (:func:`offline`);
- ``COURSE_WORKERS``: processes that render the mini datasets (:func:`workers`);
- ``COURSE_CHROMIUM``: the browser of the slide check (:func:`chromium`).

The data tree below :func:`data_dir` is defined once, in :data:`DATA_TREE`; every module asks
:func:`data_path` for its folder instead of building ``data_dir() / "..."`` itself.
"""

from __future__ import annotations

import os
from pathlib import Path

from course_utils.core.errors import DatasetError, ParameterError

#: Environment variable that overrides the data folder.
DATA_ENV = "COURSE_DATA_DIR"
#: Environment variable naming a reference folder (read-only copies of external files).
REFERENCE_ENV = "COURSE_REFERENCE_DIR"
#: Environment variable naming a folder that holds the authors' release (``features/``, ``labels/``).
RELEASE_ENV = "COURSE_CHOI2017_RELEASE"
#: Set this environment variable (to anything) and nothing is fetched over the network: every
#: external file must then be in the data folder or the reference folder.
OFFLINE_ENV = "COURSE_OFFLINE"
#: Environment variable: how many processes render the mini datasets.
WORKERS_ENV = "COURSE_WORKERS"
#: Environment variable: the Chromium (or Chrome) executable of the slide check.
CHROMIUM_ENV = "COURSE_CHROMIUM"

#: The data tree: kind of content -> its folder below :func:`data_dir`.
DATA_TREE = {
    "mini": "mini",            # the generated mini datasets, one folder each
    "full": "full",            # the real datasets, and the authors' release (choi2017_release)
    "downloads": "downloads",  # archives and external files as downloaded
    "models": "models",        # trained and pre-trained weights, the musicnn wheel
    "cache": "cache",          # everything computed that can be computed again (features, spectrograms)
    "similarity": "similarity",  # the siamese network and the course's search index
}


def _setting(name: str) -> str | None:
    """The value of a ``COURSE_*`` environment variable, or ``None`` when unset or empty."""
    return os.environ.get(name) or None


def repo_root() -> Path | None:
    """The course repository this package was installed from, if it runs from a checkout.

    Returns:
        The repository root (the folder holding ``course_utils/`` and ``data/README.md``),
        or ``None`` when the package was installed from an index or a wheel (e.g. on Colab).
    """
    root = Path(__file__).resolve().parents[2]
    return root if (root / "data" / "README.md").is_file() else None


def data_dir() -> Path:
    """The folder under which the course reads and writes all of its data.

    Resolved in this order: the ``COURSE_DATA_DIR`` environment variable; ``data/`` of the
    repository checkout the package runs from; ``~/.cache/course_utils``.

    Returns:
        An absolute path; the folder is created if missing.

    Raises:
        DatasetError: the path is a file, or cannot be created (the message names it).
    """
    if _setting(DATA_ENV):
        path = Path(_setting(DATA_ENV)).expanduser()
    elif repo_root() is not None:
        path = repo_root() / "data"
    else:
        path = Path.home() / ".cache" / "course_utils"
    path = path.resolve()
    how = f"the {DATA_ENV} environment variable ({path})" if _setting(DATA_ENV) else f"the data folder {path}"
    if path.exists() and not path.is_dir():
        raise DatasetError(f"{how} is a file, not a folder: point {DATA_ENV} at a folder (or unset it)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(f"{how} cannot be created ({exc.strerror}): set {DATA_ENV} to a folder you can write to") from None
    return path


def reference_dir() -> Path | None:
    """A read-only folder of reference copies of the course's external files, if there is one.

    The folder ``shared/reference`` beside a course checkout (as CI has it) holds the authors'
    release, weights, example clips and split lists under the names that
    :func:`course_utils.fetch.download.locate` asks for. Resolved in this order: the
    ``COURSE_REFERENCE_DIR`` environment variable (for installs outside a checkout; when it is set,
    the checkout's folder is not consulted, so pointing it at a missing folder turns the lookup
    off); ``../shared/reference`` beside the repository checkout the package runs from.

    Returns:
        The absolute folder, or ``None`` when there is none (the variable names a missing folder,
        or no checkout, or no ``shared/reference`` beside it). Nothing is created.
    """
    if _setting(REFERENCE_ENV):
        path = Path(_setting(REFERENCE_ENV)).expanduser()
    elif repo_root() is not None:
        path = repo_root().parent / "shared" / "reference"
    else:
        return None
    return path.resolve() if path.is_dir() else None


def data_path(kind: str, *parts: str) -> Path:
    """A folder (or file) of the data tree: ``data_dir() / DATA_TREE[kind] / *parts``.

    Args:
        kind: one of :data:`DATA_TREE` (``"mini"``, ``"full"``, ``"downloads"``, ``"models"``,
            ``"cache"``, ``"similarity"``).
        parts: names below it.

    Returns:
        The path (nothing is created below the data folder).

    Raises:
        ParameterError: an unknown kind.
    """
    if kind not in DATA_TREE:
        raise ParameterError(f"unknown part of the data tree {kind!r}; choose from {', '.join(DATA_TREE)}")
    return data_dir().joinpath(DATA_TREE[kind], *parts)


def release_dir() -> Path:
    """Where the authors' release is kept: ``$COURSE_CHOI2017_RELEASE`` or ``data_dir()/full/choi2017_release``."""
    if _setting(RELEASE_ENV):
        return Path(_setting(RELEASE_ENV)).expanduser().resolve()
    return data_path("full", "choi2017_release")


def offline() -> bool:
    """Whether ``COURSE_OFFLINE`` forbids the network."""
    return _setting(OFFLINE_ENV) is not None


def workers() -> int:
    """How many processes render clips: ``COURSE_WORKERS`` or the CPU count, at most 4."""
    if _setting(WORKERS_ENV):
        return max(1, int(_setting(WORKERS_ENV)))
    return max(1, min(4, os.cpu_count() or 1))


def chromium() -> str | None:
    """The browser named by ``COURSE_CHROMIUM``, or ``None``."""
    return _setting(CHROMIUM_ENV)
