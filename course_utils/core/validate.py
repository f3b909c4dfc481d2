"""Checks of user input made before any long work starts, each failing with one clear line.

- :func:`npy_output`: an output path for ``np.save`` (``course-utils extract OUT``);
- :func:`positive_int`: a count such as ``k`` of ``course-utils similar --k``;
- :func:`numeric_npy`: a feature file read without pickles, as numbers;
- :func:`check_range`: a number within bounds (``--folds``, ``--max-duration``...).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from course_utils.core.errors import CourseError, DatasetError, ParameterError


def npy_output(path) -> Path:
    """Check that ``path`` can receive a ``.npy`` file: it ends in ``.npy`` and is not a folder.

    Args:
        path: the output file.

    Returns:
        The path.

    Raises:
        CourseError: it is a folder, does not end in ``.npy``, or its folder is a file.
    """
    path = Path(path)
    if path.is_dir():
        raise CourseError(f"{path} is a folder: give the .npy file to write, e.g. {path / 'features.npy'}")
    if path.suffix.lower() != ".npy":
        raise ParameterError(f"{path}: the output must be a .npy file, e.g. {path.with_suffix('.npy')}")
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise CourseError(f"{path}: {parent} is a file, not a folder; give another output path")
    return path


def positive_int(value, what: str) -> int:
    """Check that ``value`` is a whole number of at least 1.

    Args:
        value: the number given.
        what: its name, for the message (e.g. ``"k"``).

    Returns:
        ``int(value)``.

    Raises:
        CourseError: it is not a whole number of at least 1.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ParameterError(f"{what} must be a whole number of at least 1, not {value!r}")
    return int(value)


def numeric_npy(path) -> np.ndarray:
    """Load a ``.npy`` file that must hold numbers (never unpickling anything).

    Args:
        path: the file.

    Returns:
        The array.

    Raises:
        DatasetError: the file is not a readable ``.npy`` array of numbers (truncated, pickled
            objects, strings).
    """
    path = Path(path)
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        reason = "it holds Python objects" if "allow_pickle" in str(exc) else f"{exc}"
        raise DatasetError(f"{path}: not a readable array of numbers ({reason}); replace the file") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
        raise DatasetError(f"{path}: holds {getattr(array, 'dtype', type(array))} values, not numbers; replace the file")
    return array


def check_range(name: str, value, *, low=None, high=None, integer: bool = False, allow_none: bool = False):
    """``value`` if it lies in ``[low, high]`` (and is a whole number when ``integer``).

    Raises:
        ParameterError: naming ``name``, the value and the valid range.
    """
    if value is None and allow_none:
        return value
    bad = isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating))
    if not bad:
        bad = (integer and float(value) != int(value)) or not np.isfinite(value) \
            or (low is not None and value < low) or (high is not None and value > high)
    if bad:
        kind = "a whole number" if integer else "a number"
        span = (f"from {low:g} to {high:g}" if low is not None and high is not None else
                f"at least {low:g}" if low is not None else f"at most {high:g}")
        raise ParameterError(f"{name} {value!r}: give {kind} {span}")
    return value
