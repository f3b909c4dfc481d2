"""Atomic writes and checksummed manifests for everything the course writes to disk.

Two guarantees that the rest of the package relies on:

- **No half-written files.** :func:`atomic_write` (and :func:`atomic_write_bytes`,
  :func:`atomic_write_text`) write to a hidden temporary file in the same folder and rename
  it onto the real name only when the write finished, so an interrupted notebook (kernel
  restart, ``KeyboardInterrupt``, full disk) leaves either the old file or no file, never a
  truncated one. Leftover temporary files are hidden (their names start with ``.``) and
  :func:`remove_stale_temp_files` deletes them.
- **Detectable corruption.** :func:`write_manifest` records the size and SHA-256 of every
  file of a folder in ``MANIFEST.json``; :func:`verify_manifest` checks them (sizes only
  with ``quick=True``, cheap enough for every load).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

from course_utils.core.errors import DatasetError, ParameterError

__all__ = [
    "MANIFEST_NAME",
    "STALE_AFTER",
    "atomic_save_npy",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "file_signature",
    "is_temp_path",
    "merge_folder",
    "read_manifest",
    "remove_stale_temp_files",
    "sha256_file",
    "temp_path_for",
    "verify_manifest",
    "write_manifest",
]

#: File name of the manifest that :func:`write_manifest` writes at the root of a folder.
MANIFEST_NAME = "MANIFEST.json"

#: Version of the manifest's JSON layout (stored under ``"format"``).
MANIFEST_FORMAT = 1

#: Seconds without any write after which a temporary file or folder counts as left over by a
#: killed process (a live writer touches its temporary files every few seconds).
STALE_AFTER = 300.0

# ".<name>.tmp-<8 hex>" optionally followed by the real suffix, e.g. ".clip.tmp-1a2b3c4d.wav".
_TEMP_RE = re.compile(r"^\..+\.tmp-[0-9a-f]{8}(\.[^.]+)?$")


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """The SHA-256 of a file, read in chunks so that big archives need little memory.

    Args:
        path: the file to hash.
        chunk: bytes read at a time.

    Returns:
        The hex digest (64 lowercase hex characters).
    """
    digest = hashlib.sha256()
    buffer = bytearray(chunk)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as f:
        while True:
            n = f.readinto(buffer)
            if not n:
                break
            digest.update(view[:n])
    return digest.hexdigest()


def _sha256_many(paths: list[Path]) -> list[str]:
    """Hash many files in parallel threads (hashlib and file reads release the GIL)."""
    if len(paths) <= 1:
        return [sha256_file(p) for p in paths]
    workers = min(8, os.cpu_count() or 1, len(paths))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(sha256_file, paths, chunksize=16))


def file_signature(path: str | os.PathLike, missing_ok: bool = False) -> list:
    """``[absolute path, size, mtime_ns]`` of a file: what a cache key needs to notice a changed file.

    Part of every cache key (:func:`course_utils.core.cache.cache_key`), so that rewriting a file
    at the same path invalidates what was computed from it.

    Args:
        path: the file.
        missing_ok: give ``[path, None, None]`` for a missing file instead of raising.

    Returns:
        The signature, JSON-serialisable.

    Raises:
        FileNotFoundError: the file is missing (and not ``missing_ok``).
    """
    path = Path(path).resolve()
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        if missing_ok:
            return [str(path), None, None]
        raise FileNotFoundError(f"{path}: file not found") from None
    return [str(path), int(st.st_size), int(st.st_mtime_ns)]


def temp_path_for(path: str | os.PathLike, keep_suffix: bool = True) -> Path:
    """A fresh hidden temporary name next to ``path`` that keeps its last suffix.

    ``data/x/clip.wav`` gives e.g. ``data/x/.clip.tmp-1a2b3c4d.wav``, so libraries that pick
    the format from the extension (soundfile, pandas, numpy) still do the right thing.

    Args:
        path: the final file or folder name.
        keep_suffix: put the last suffix of ``path`` at the end (``False`` for folders:
            ``gtzan_1.0`` gives ``.gtzan_1.0.tmp-1a2b3c4d``).

    Returns:
        The temporary path (not created).
    """
    path = Path(path)
    token = secrets.token_hex(4)
    suffix = path.suffix if keep_suffix and path.suffix and path.stem else ""
    stem = path.name[: len(path.name) - len(suffix)] if suffix else path.name
    return path.with_name(f".{stem}.tmp-{token}{suffix}")


def replace_folder(tmp: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Move a finished folder ``tmp`` onto ``dest``, replacing what was there.

    The old ``dest`` is first renamed aside (a :func:`temp_path_for` name), so ``dest`` is only
    ever missing for the instant between two renames, and it is put back if the second rename
    fails.

    Args:
        tmp: the complete new folder (a sibling of ``dest``).
        dest: the folder to replace or create.

    Returns:
        ``dest``.
    """
    tmp, dest = Path(tmp), Path(dest)
    old = None
    if dest.exists():
        old = temp_path_for(dest, keep_suffix=False)
        os.replace(dest, old)
    try:
        os.replace(tmp, dest)
    except BaseException:
        if old is not None:
            os.replace(old, dest)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return dest


def merge_folder(src: str | os.PathLike, dest: str | os.PathLike, files: Iterable[str],
                 remove: Iterable[str] = ()) -> Path:
    """Move the listed files of a finished folder ``src`` into an existing folder ``dest``.

    Unlike :func:`replace_folder`, every file of ``dest`` that is not named in ``files`` or
    ``remove`` is left alone, so a rebuilt dataset keeps the files a user added to its folder.
    ``dest``'s manifest is deleted first and ``src``'s (if any) is moved last, so ``dest`` has
    a manifest only once every file is in place. Folders emptied by ``remove`` are deleted.

    Args:
        src: the new folder (a sibling of ``dest``, on the same file system).
        dest: the folder to update.
        files: paths relative to ``src`` (``/`` separators) to move, replacing any old file.
        remove: paths relative to ``dest`` to delete (files of the old version that the new
            one no longer has).

    Returns:
        ``dest``.
    """
    src, dest = Path(src), Path(dest)
    (dest / MANIFEST_NAME).unlink(missing_ok=True)
    for rel in files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src / rel, target)
    for rel in remove:
        target = dest / rel
        target.unlink(missing_ok=True)
        for parent in target.parents:
            if parent == dest or not parent.is_relative_to(dest):
                break
            try:
                parent.rmdir()  # only when empty
            except OSError:
                break
    if (src / MANIFEST_NAME).is_file():
        os.replace(src / MANIFEST_NAME, dest / MANIFEST_NAME)
    return dest


def is_temp_path(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a temporary name made by :func:`temp_path_for`.

    Loaders that list a folder should skip these (and hidden files in general).

    Args:
        path: a file or folder name or path.

    Returns:
        True for names such as ``.clip.tmp-1a2b3c4d.wav``.
    """
    return bool(_TEMP_RE.match(Path(path).name))


@contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[Path]:
    """Write a file under a temporary name and rename it onto ``path`` only on success.

    Yields a temporary *path* (not a file object) in the same folder, so that writers which
    take a file name work unchanged; the temporary name keeps the real suffix::

        with atomic_write(folder / "clip.wav") as tmp:
            soundfile.write(tmp, y, sr)          # format still detected from ".wav"

    When the block finishes, the temporary file is renamed onto ``path`` with
    :func:`os.replace` (atomic on one file system, replacing any old file). When the block
    raises (including ``KeyboardInterrupt``), the temporary file is removed and ``path`` is
    left as it was. The parent folder is created if missing. The guarantee covers crashes of
    the Python process, not power loss (no ``fsync``).

    Args:
        path: the final file.

    Yields:
        The temporary path to write to. The block must create it.

    Raises:
        FileNotFoundError: the block finished without creating the temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(path)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(
                f"atomic_write({path}): the block finished without writing {tmp.name}"
            )
        os.replace(tmp, path)
    except BaseException:
        try:
            if tmp.is_dir() and not tmp.is_symlink():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`).

    Args:
        path: the final file.
        data: its content.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    with atomic_write(path) as tmp:
        tmp.write_bytes(data)
    return path


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write`).

    Used for CSV/JSON metadata of the mini datasets and for the manifests.

    Args:
        path: the final file.
        text: its content.
        encoding: the text encoding.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    with atomic_write(path) as tmp:
        with open(tmp, "w", encoding=encoding, newline="") as f:
            f.write(text)
    return path


def atomic_save_npy(path: str | os.PathLike, array) -> Path:
    """Save an array as ``.npy`` at exactly ``path``, atomically (see :func:`atomic_write`).

    ``np.save`` given a *name* appends ``.npy`` when it is missing, so the temporary file it
    writes would not be the one renamed; this writes through a file object instead.

    Args:
        path: the final file (normally ending in ``.npy``).
        array: what to save (never pickled: object arrays are refused).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    import numpy as np

    path = Path(path)
    with atomic_write(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, np.asarray(array), allow_pickle=False)
    return path


def _last_modified(p: Path) -> float:
    """When ``p`` was last written: for a folder, its newest entry anywhere below it."""
    newest = p.lstat().st_mtime
    if p.is_dir() and not p.is_symlink():
        for dirpath, dirnames, filenames in os.walk(p):
            for name in dirnames + filenames:
                try:
                    newest = max(newest, os.lstat(os.path.join(dirpath, name)).st_mtime)
                except FileNotFoundError:
                    continue
    return newest


def remove_stale_temp_files(root: str | os.PathLike, min_age: float = 0.0, *, recursive: bool = True,
                            prefix: str = "") -> list[Path]:
    """Delete temporary files and folders left under ``root`` by interrupted writes.

    Matches only names made by :func:`temp_path_for` (``.NAME.tmp-XXXXXXXX[.ext]``), including
    the temporary folders of :func:`course_utils.fetch.archives.extract`; never touches ``*.part``
    files (those are resumable downloads). With ``min_age``, an entry is kept while anything
    in it was written in the last ``min_age`` seconds, so that the temporary files of another
    process still writing are safe (give :data:`STALE_AFTER`).

    Args:
        root: the folder to clean; a missing folder is fine.
        min_age: only delete entries last modified more than this many seconds ago.
        recursive: also search the folders below ``root``.
        prefix: only names starting with it (e.g. ``".gtzan_genre.tmp-"``: the temporary
            copies of one folder, in a parent folder that also holds other things).

    Returns:
        The paths removed.
    """
    root = Path(root)
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    now = time.time()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in list(dirnames) + filenames:
            if not _TEMP_RE.match(name) or not name.startswith(prefix):
                continue
            p = Path(dirpath) / name
            try:
                if min_age and now - _last_modified(p) < min_age:
                    continue
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p)
                    dirnames.remove(name)
                else:
                    p.unlink()
                removed.append(p)
            except FileNotFoundError:
                continue
        if not recursive:
            break
    return removed


def _list_files(root: Path) -> list[Path]:
    """Every regular file under ``root``, skipping hidden names and the manifest."""
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            p = Path(dirpath) / name
            if p.parent == root and name == MANIFEST_NAME:
                continue
            files.append(p)
    return files


def _relative(root: Path, p: str | os.PathLike) -> Path:
    p = Path(p)
    full = p if p.is_absolute() else root / p
    try:
        return full.resolve().relative_to(root.resolve())
    except ValueError:
        raise ParameterError(f"{p} is not inside {root}") from None


def write_manifest(
    root: str | os.PathLike,
    files: Iterable[str | os.PathLike] | None = None,
    extra: dict | None = None,
) -> Path:
    """Record the size and SHA-256 of the files of a folder in ``root/MANIFEST.json``.

    The manifest is written atomically, as JSON::

        {"format": 1,
         "extra": {"generator": "gtzan-mini", "version": 3, "seed": 0},
         "files": {"blues/blues.00000.wav": {"sha256": "...", "size": 661544}, ...}}

    Paths are relative to ``root``, with ``/`` separators. Written by the mini-dataset
    generators of :mod:`course_utils.datasets` as their last step, so that a folder with a
    manifest is a complete one.

    Args:
        root: the folder.
        files: the files to list (relative to ``root`` or absolute inside it). ``None`` lists
            every file under ``root`` except the manifest and hidden files and folders
            (names starting with ``.``, which includes temporary files).
        extra: JSON-serialisable information to store with it (generator version, seed...).

    Returns:
        The manifest's path.

    Raises:
        FileNotFoundError: a file given in ``files`` does not exist.
        ValueError: a file given in ``files`` is outside ``root``.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"write_manifest: {root} is not a folder")
    if files is None:
        paths = _list_files(root)
        rels = [p.relative_to(root) for p in paths]
    else:
        rels = sorted({_relative(root, f) for f in files})
        paths = [root / r for r in rels]
        for p in paths:
            if not p.is_file():
                raise FileNotFoundError(f"write_manifest: {p} does not exist")
    hashes = _sha256_many(paths)
    entries = {
        r.as_posix(): {"sha256": h, "size": p.stat().st_size}
        for r, p, h in zip(rels, paths, hashes)
    }
    manifest = {"format": MANIFEST_FORMAT, "extra": dict(extra or {}), "files": entries}
    text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    return atomic_write_text(root / MANIFEST_NAME, text)


def read_manifest(root: str | os.PathLike) -> dict:
    """Read ``root/MANIFEST.json``.

    Args:
        root: the folder holding the manifest.

    Returns:
        The manifest: ``{"format": 1, "extra": {...}, "files": {relpath: {"sha256", "size"}}}``.

    Raises:
        DatasetError: the manifest is missing or unreadable.
    """
    path = Path(root) / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(
            f"{path} is missing: the folder was never completed. Delete {Path(root)} "
            "and build or download it again."
        ) from None
    try:
        manifest = json.loads(text)
        if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
            raise ParameterError("no 'files' table")
    except ValueError as e:
        raise DatasetError(
            f"{path} is corrupt ({e}). Delete {Path(root)} and build or download it again."
        ) from None
    manifest.setdefault("extra", {})
    return manifest


def verify_manifest(root: str | os.PathLike, quick: bool = False) -> list[str]:
    """Check the files of a folder against its ``MANIFEST.json``.

    Files present on disk but not listed are ignored (so caches written next to the data do
    not invalidate it).

    Args:
        root: the folder holding the manifest.
        quick: only check that the files exist and have the recorded sizes; otherwise also
            compare their SHA-256 (hashes run in parallel; about 0.2 s per 300 MB).

    Returns:
        The problems found, one readable line each (``"<relpath>: missing"``,
        ``"<relpath>: size ..."``, ``"<relpath>: checksum ..."``, or one line for a missing or
        unreadable manifest); an empty list when everything matches.
    """
    root = Path(root)
    try:
        manifest = read_manifest(root)
    except DatasetError as e:
        return [str(e)]
    problems: list[str] = []
    to_hash: list[tuple[str, Path, str]] = []
    for rel, entry in sorted(manifest["files"].items()):
        p = root / rel
        try:
            st = p.stat()
        except (FileNotFoundError, NotADirectoryError):
            problems.append(f"{rel}: missing")
            continue
        if not p.is_file():
            problems.append(f"{rel}: not a file")
            continue
        size = entry.get("size")
        if size is not None and st.st_size != size:
            problems.append(f"{rel}: size {st.st_size} bytes, expected {size}")
            continue
        if not quick and entry.get("sha256"):
            to_hash.append((rel, p, entry["sha256"].lower()))
    if to_hash:
        actual = _sha256_many([p for _, p, _ in to_hash])
        for (rel, _, expected), got in zip(to_hash, actual):
            if got != expected:
                problems.append(f"{rel}: checksum mismatch (sha256 {got}, expected {expected})")
    problems.sort()
    return problems
