"""Where the course keeps its data: downloads, generated mini datasets, caches and models.

Used by every notebook (through :mod:`course_utils.datasets`) and by the CLI.
"""

from __future__ import annotations

import os
from pathlib import Path

from course_utils.errors import DatasetError

#: Environment variable that overrides the data folder.
DATA_ENV = "COURSE_DATA_DIR"


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
