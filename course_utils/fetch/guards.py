"""Guards of :mod:`course_utils.fetch.download` against losing a user's file and against hostile archives.

- :func:`set_aside` keeps a file that failed its checksum (a file the user may have placed by
  hand, as the download errors suggest) under a ``.bad`` name instead of deleting it, and
  :func:`mismatch_note` says so in one sentence, with the expected checksum;
- :func:`ArchiveLimits` and :func:`check_totals` refuse archives that expand to more bytes or
  more members than the dataset they should hold (a 1 MB archive must not fill the disk);
- :func:`member_error` (and :func:`member_guard` around each member) turns the errors of an inconsistent archive (a file and then a folder of
  the same name, a hard link to a missing member) or a full disk into one clear line.
"""

from __future__ import annotations

import errno
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from course_utils.core.errors import DownloadError


def set_aside(path: Path) -> Path:
    """Rename a file that failed its checksum to ``NAME.bad`` (``NAME.1.bad``... if taken).

    Args:
        path: the file.

    Returns:
        Its new name.
    """
    path = Path(path)
    bad, n = path.with_name(path.name + ".bad"), 0
    while bad.exists():
        n += 1
        bad = path.with_name(f"{path.name}.{n}.bad")
    os.replace(path, bad)
    return bad


def mismatch_note(path: Path, bad: Path, actual: str, expected: str) -> str:
    """One sentence on a file set aside by :func:`set_aside`.

    Args:
        path: where the file was.
        bad: where it is now.
        actual: its checksum.
        expected: the checksum it should have.

    Returns:
        The sentence, e.g. for the start of a :class:`DownloadError`.
    """
    return (f"The file at {path} was not used: its checksum does not match ({actual}, expected {expected}); "
            f"it is kept as {bad} (delete it once you have the right file).")


@dataclass(frozen=True)
class ArchiveLimits:
    """What an archive of a dataset may expand to.

    Attributes:
        max_members: the most entries (files, folders, links).
        max_bytes: the most bytes of file content, in total.
    """

    max_members: int
    max_bytes: int


def check_totals(archive: Path, members: int, size: int, limits: ArchiveLimits | None) -> None:
    """Refuse an archive that holds more members or bytes than ``limits`` allow.

    Args:
        archive: the archive (for the message).
        members: entries counted so far.
        size: bytes of content counted so far.
        limits: the dataset's limits, or ``None`` for none.

    Raises:
        DownloadError: a limit is exceeded.
    """
    if limits is None:
        return
    if members > limits.max_members or size > limits.max_bytes:
        what = (f"more than {limits.max_members:,} members" if members > limits.max_members
                else f"more than {limits.max_bytes:,} bytes")
        raise DownloadError(f"{archive} expands to {what}, far more than the dataset it should hold; nothing was "
                            "extracted. It is not the expected archive: delete it and download it again.")


_INCONSISTENT = (KeyError, NotADirectoryError, FileExistsError, IsADirectoryError)


def member_error(archive: Path, dest: Path, name: str, exc: BaseException) -> DownloadError | None:
    """The one-line error for a member that could not be extracted, if ``exc`` is one it explains.

    Args:
        archive: the archive.
        dest: the folder it is extracted to.
        name: the member's name.
        exc: what extracting it raised.

    Returns:
        A :class:`DownloadError` for a full disk, or for an archive that contradicts itself (a
        file, then a folder of the same name: ``NotADirectoryError``; a hard link to a member
        that is not there: tarfile's ``KeyError``); ``None`` for anything else (a damaged
        compressed stream, say), which the caller re-raises.
    """
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DownloadError(f"not enough disk space to extract {archive} into {dest.parent}; nothing was kept. "
                             "Free some space and run the same command again.")
    if not isinstance(exc, _INCONSISTENT):
        return None
    reason = exc.args[0] if isinstance(exc, KeyError) and exc.args else getattr(exc, "strerror", None) or exc
    return DownloadError(f"{archive} is inconsistent: its member {name!r} cannot be extracted ({reason}); nothing "
                         "was extracted. Delete the archive and download it again; if it happens again, report it.")


@contextmanager
def member_guard(archive: Path, dest: Path, name: str) -> Iterator[None]:
    """Around the extraction of one member: turn the errors :func:`member_error` explains into its error.

    Args:
        archive: the archive.
        dest: the folder it is extracted to.
        name: the member's name.
    """
    try:
        yield
    except (KeyError, OSError) as exc:
        error = member_error(archive, dest, name, exc)
        if error is None:
            raise
        raise error from None
