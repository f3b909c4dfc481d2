"""The guard of tests/conftest.py: no unit test writes into the checkout or the data folder.

Every test must write only to temporary folders (``tmp_path``, a private ``COURSE_DATA_DIR``).
:func:`snapshot` records what a test could change, cheaply: git's list of changed and untracked
files of the checkout (with their size and modification time, so that a new change to a file that
was already modified counts too), and every file and folder of the data folder (ignored by git).
:func:`changes` compares two snapshots. Notebooks executed by nbval write their caches into
``data/`` legitimately, so the conftest compares only around the tests under ``tests/``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

Snapshot = dict[str, tuple]


def _stat(path: Path) -> tuple:
    try:
        st = path.lstat()
    except OSError:
        return ("missing",)
    return ("dir",) if path.is_dir() else (st.st_size, st.st_mtime_ns)


def _git_changes(repo: Path) -> Snapshot:
    """Changed and untracked (not ignored) files of the checkout -> (git status, size, mtime)."""
    try:
        out = subprocess.run(["git", "-C", str(repo), "status", "--porcelain=v1", "-z", "--untracked-files=all"],
                             capture_output=True, check=True, timeout=60).stdout.decode("utf-8", "surrogateescape")
    except (OSError, subprocess.SubprocessError):
        return {}  # no git, or not a checkout (an unpacked sdist): only the data folder is watched
    state, entries = {}, out.split("\0")
    i = 0
    while i < len(entries):
        entry = entries[i]
        i += 1
        if len(entry) < 4:
            continue
        status, name = entry[:2], entry[3:]
        if status[0] in "RC":  # a rename or copy is followed by its source
            i += 1
        state[f"checkout: {name}"] = (status, *_stat(repo / name))
    return state


def _folder_files(folder: Path) -> Snapshot:
    """Every file and folder under ``folder`` -> ("dir",) or (size, mtime)."""
    state = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        base = Path(dirpath)
        for name in dirnames + filenames:
            path = base / name
            state[f"data folder: {path.relative_to(folder).as_posix()}"] = _stat(path)
    return state


def snapshot(repo: Path, data_folder: Path) -> Snapshot:
    """What a test could change in the checkout ``repo`` and in ``data_folder``.

    Args:
        repo: the repository checkout (need not be a git checkout).
        data_folder: the course's data folder in effect (``$COURSE_DATA_DIR`` or ``repo/data``).

    Returns:
        A label for each watched file -> its state.
    """
    return {**_git_changes(repo), **_folder_files(data_folder)}


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    """The watched files created, modified or removed between two snapshots, one line each."""
    lines = []
    for key in sorted(before.keys() | after.keys()):
        if key.startswith("checkout:"):  # git lists it as changed now, or no longer
            if before.get(key) != after.get(key):
                lines.append(f"changed  {key}")
        elif key not in before:
            lines.append(f"created  {key}")
        elif key not in after:
            lines.append(f"removed  {key}")
        elif before[key] != after[key]:
            lines.append(f"modified {key}")
    return lines
