"""Where the course keeps its data (downloads, generated mini datasets, caches and models), and
where it finds reference copies of external files.
"""

from __future__ import annotations

import os
from pathlib import Path

from course_utils.errors import DatasetError

#: Environment variable that overrides the data folder.
DATA_ENV = "COURSE_DATA_DIR"
#: Environment variable naming a reference folder (read-only copies of external files).
REFERENCE_ENV = "COURSE_REFERENCE_DIR"


def repo_root() -> Path | None:
    """The course repository this package was installed from, if it runs from a checkout.

    Returns:
        The repository root (the folder holding ``course_utils/`` and ``data/README.md``),
        or ``None`` when the package was installed from an index or a wheel (e.g. on Colab).
    """
    root = Path(__file__).resolve().parent.parent
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
    if os.environ.get(DATA_ENV):
        path = Path(os.environ[DATA_ENV]).expanduser()
    elif repo_root() is not None:
        path = repo_root() / "data"
    else:
        path = Path.home() / ".cache" / "course_utils"
    path = path.resolve()
    how = f"the {DATA_ENV} environment variable ({path})" if os.environ.get(DATA_ENV) else f"the data folder {path}"
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
    :func:`course_utils.download.locate` asks for. Resolved in this order: the
    ``COURSE_REFERENCE_DIR`` environment variable (for installs outside a checkout; when it is set,
    the checkout's folder is not consulted, so pointing it at a missing folder turns the lookup
    off); ``../shared/reference`` beside the repository checkout the package runs from.

    Returns:
        The absolute folder, or ``None`` when there is none (the variable names a missing folder,
        or no checkout, or no ``shared/reference`` beside it). Nothing is created.
    """
    if os.environ.get(REFERENCE_ENV):
        path = Path(os.environ[REFERENCE_ENV]).expanduser()
    elif repo_root() is not None:
        path = repo_root().parent / "shared" / "reference"
    else:
        return None
    return path.resolve() if path.is_dir() else None
