"""Safe extraction of zip and tar archives, all or nothing.

:func:`extract` unpacks an archive into a hidden sibling folder and renames it into place only
once every member is out, refusing members that would land outside it (absolute paths, ``..``,
escaping links, device files) before anything is written, and archives that expand to more than
their :class:`~course_utils.fetch.guards.ArchiveLimits`. A damaged archive raises
:class:`~course_utils.core.errors.DownloadError` saying to delete it and download it again.

Also importable from :mod:`course_utils.fetch.download`, which fetches the archives first.
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
import shutil
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import Iterable

from course_utils.core.errors import DownloadError, ParameterError
from course_utils.core.files import replace_folder, temp_path_for
from course_utils.core.progress import tqdm
from course_utils.fetch.guards import ArchiveLimits, check_totals, member_guard

try:  # optional codecs of tarfile
    import lzma

    _LZMA_ERRORS: tuple[type[BaseException], ...] = (lzma.LZMAError,)
except ImportError:  # pragma: no cover
    _LZMA_ERRORS = ()

__all__ = ["extract"]

logger = logging.getLogger(__name__)

# Errors that mean "this archive is damaged" (as opposed to a full disk, say).
_CORRUPT_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    tarfile.ReadError,
    tarfile.CompressionError,
    tarfile.HeaderError,
    zlib.error,
    EOFError,
    *_LZMA_ERRORS,
)

# tarfile.FilterError exists from Python 3.10.12 / 3.11.4 on.
_FILTER_ERRORS: tuple[type[BaseException], ...] = (
    (tarfile.FilterError,) if hasattr(tarfile, "FilterError") else ()
)


_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


def _archive_kind(archive: Path) -> str:
    name = archive.name.lower()
    if name.endswith(".zip"):
        return "zip"
    if name.endswith(_TAR_SUFFIXES):
        return "tar"
    if zipfile.is_zipfile(archive):
        return "zip"
    try:
        if tarfile.is_tarfile(archive):
            return "tar"
    except _CORRUPT_ERRORS + (OSError,):
        pass
    raise DownloadError(
        f"{archive} is neither a zip nor a tar archive (it may be corrupt or incomplete): "
        "delete it and download it again."
    )


def _unsafe_reason(name: str) -> str | None:
    """Why an archive member name is unsafe to extract, or None."""
    norm = name.replace("\\", "/")
    if not norm or norm.startswith("/") or re.match(r"^[A-Za-z]:", norm):
        return "absolute path"
    if ".." in norm.split("/"):
        return "'..' in path"
    return None


def _unsafe_link_reason(member: tarfile.TarInfo) -> str | None:
    if member.issym():
        target = member.linkname
        if _unsafe_reason(target) == "absolute path":
            return "symbolic link to an absolute path"
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(member.name), target))
    elif member.islnk():
        resolved = posixpath.normpath(member.linkname)
        if _unsafe_reason(member.linkname) == "absolute path":
            return "hard link to an absolute path"
    elif member.isdev():
        return "device file"
    else:
        return None
    if resolved == ".." or resolved.startswith("../"):
        return "link pointing outside the archive"
    return None


def _selected(name: str, wanted: list[str] | None) -> str | None:
    """The requested entry that selects member ``name`` (itself or a folder above it)."""
    if wanted is None:
        return name
    stripped = name.rstrip("/")
    for w in wanted:
        w0 = w.rstrip("/")
        if stripped == w0 or stripped.startswith(w0 + "/"):
            return w
    return None


def _reject(archive: Path, name: str, reason: str) -> DownloadError:
    return DownloadError(
        f"{archive} contains an unsafe member {name!r} ({reason}); nothing was extracted. "
        "Delete the archive and download it again; if it happens again, report it."
    )


def _extract_zip(archive: Path, tmp: Path, wanted: list[str] | None, progress: bool,
                 limits: ArchiveLimits | None = None) -> set[str]:
    found: set[str] = set()
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        for info in infos:  # check every name before writing anything
            reason = _unsafe_reason(info.filename)
            if reason:
                raise _reject(archive, info.filename, reason)
        chosen = []
        for info in infos:
            w = _selected(info.filename, wanted)
            if w is not None:
                found.add(w)
                chosen.append(info)
        total = sum(i.file_size for i in chosen)
        check_totals(archive, len(chosen), total, limits)  # sizes from the directory, before writing
        with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                  desc=f"extract {archive.name}", disable=not progress) as bar:
            for info in chosen:
                with member_guard(archive, tmp, info.filename):
                    zf.extract(info, tmp)
                bar.update(info.file_size)
    return found


def _extract_tar(archive: Path, tmp: Path, wanted: list[str] | None, progress: bool,
                 limits: ArchiveLimits | None = None) -> set[str]:
    found: set[str] = set()
    count = size = 0
    kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    with tarfile.open(archive, "r:*") as tf, tqdm(
        unit=" files", desc=f"extract {archive.name}", disable=not progress
    ) as bar:
        for member in tf:  # one pass: tar.gz cannot be read twice cheaply
            reason = _unsafe_reason(member.name) or _unsafe_link_reason(member)
            if reason:
                raise _reject(archive, member.name, reason)
            w = _selected(member.name, wanted)
            if w is None:
                continue
            found.add(w)
            count, size = count + 1, size + max(member.size, 0)
            check_totals(archive, count, size, limits)  # before this member is written
            with member_guard(archive, tmp, member.name):
                tf.extract(member, tmp, **kwargs)
            bar.update(1)
    return found


def extract(
    archive: str | os.PathLike,
    dest_dir: str | os.PathLike,
    members: Iterable[str] | None = None,
    *,
    overwrite: bool = False,
    progress: bool = True,
    limits: ArchiveLimits | None = None,
) -> Path:
    """Extract a zip or tar archive into ``dest_dir``, all or nothing.

    Supports ``.zip``, ``.tar``, ``.tar.gz``/``.tgz``, ``.tar.bz2`` and ``.tar.xz`` (other
    names are recognised by content). The archive is extracted into a hidden sibling folder
    (``.DEST.tmp-XXXXXXXX``) that is renamed onto ``dest_dir`` only when extraction finished,
    so an interrupted extraction leaves no ``dest_dir`` (and
    :func:`course_utils.core.files.remove_stale_temp_files` removes the hidden leftover). Members
    with absolute paths, ``..`` components, links pointing outside the archive or device
    files are refused before anything is written. Because ``dest_dir`` only ever appears
    complete, an existing non-empty ``dest_dir`` is taken as already extracted and returned
    as is, unless ``overwrite``.

    Args:
        archive: the archive file.
        dest_dir: the folder that will hold the archive's content (the archive's top-level
            entries become its children). Must not be the folder holding the archive.
        members: extract only these member names (as stored in the archive, ``/``
            separators); a folder name selects everything under it. ``None``: everything.
        overwrite: replace an existing non-empty ``dest_dir``.
        progress: show a tqdm progress bar.
        limits: the most members and bytes the archive may expand to (each dataset gives its
            own, :class:`course_utils.fetch.guards.ArchiveLimits`); ``None``: no limit.

    Returns:
        ``dest_dir`` as a :class:`~pathlib.Path`.

    Raises:
        DownloadError: the archive is missing, corrupt or truncated (delete it and download
            again), holds an unsafe member, lacks a requested member, or exceeds ``limits``.
        ValueError: ``dest_dir`` is the folder holding the archive.
    """
    archive = Path(archive)
    dest = Path(dest_dir)
    if not archive.is_file():
        raise DownloadError(f"{archive} does not exist: download it first.")
    if dest.exists() and not dest.is_dir():
        raise DownloadError(f"cannot extract {archive}: {dest} exists and is not a folder.")
    if dest.resolve() == archive.resolve().parent:
        raise ParameterError(f"extract: dest_dir {dest} must not be the folder holding {archive}")
    if dest.is_dir() and any(dest.iterdir()) and not overwrite:
        logger.info("%s already extracted to %s", archive, dest)
        return dest
    wanted = None if members is None else [m.replace("\\", "/") for m in members]
    kind = _archive_kind(archive)

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(dest, keep_suffix=False)
    tmp.mkdir()
    try:
        try:
            extract_kind = _extract_zip if kind == "zip" else _extract_tar
            found = extract_kind(archive, tmp, wanted, progress, limits)
        except DownloadError:
            raise
        except _FILTER_ERRORS as e:  # tarfile's own "data" filter refused a member
            name = getattr(getattr(e, "tarinfo", None), "name", "?")
            raise _reject(archive, name, str(e)) from e
        except _CORRUPT_ERRORS as e:
            raise _corrupt(archive, e) from e
        except OSError as e:
            if type(e).__name__ == "BadGzipFile" or "Invalid data stream" in str(e):
                raise _corrupt(archive, e) from e
            raise
        if wanted is not None:
            missing = [w for w in wanted if w not in found]
            if missing:
                raise DownloadError(
                    f"{archive} does not contain {', '.join(map(repr, missing))}: the archive "
                    "may be a different version. Delete it and download it again; if it "
                    "happens again, report it."
                )
        replace_folder(tmp, dest)  # dest is an empty folder, or overwrite=True
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def _corrupt(archive: Path, error: BaseException) -> DownloadError:
    return DownloadError(
        f"{archive} is corrupt or incomplete ({type(error).__name__}: {error}); nothing was "
        "extracted. Delete it and download it again."
    )

