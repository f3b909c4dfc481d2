"""File digests checked against published checksums: SHA-256, or ``md5:<hex>`` where a dataset
publishes only MD5 sums, memoised for big files.

The one place that hashes a file against an expected checksum: downloads, joined parts, manually
placed files and the course's external files (:mod:`course_utils.fetch.download`) all go through
:func:`digest_like`, so a published MD5 works everywhere.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from course_utils.core.cache import cache_key
from course_utils.core.errors import ParameterError
from course_utils.core.files import sha256_file

__all__ = ["digest_like", "intact", "normalise_sha", "remember"]

# SHA-256 of big files already checked in this process, keyed by the course's one cache key
# (:func:`course_utils.core.cache.cache_key`: path, size, mtime_ns) and the inode, so that a notebook calling a loader repeatedly does not re-hash a multi-GB
# archive every time. Small files are always re-hashed: two writes of the same size within
# one file-system timestamp tick could otherwise share a key.
_VERIFIED: dict[tuple[str, str], str] = {}  # (file key, algorithm) -> digest
_MEMO_MIN_SIZE = 16 << 20


def _memo_key(path: Path) -> str | None:
    st = path.stat()
    if st.st_size < _MEMO_MIN_SIZE:
        return None
    return cache_key(version="checksum-1", files=[path], params={"inode": st.st_ino})


def normalise_sha(sha256: str | None) -> str | None:
    """A published checksum in the one form the course compares: lower-case SHA-256 hex, or ``md5:<hex>``.

    Args:
        sha256: SHA-256 hex (``sha256:`` prefix allowed, any case), ``md5:<32 hex>``, or ``None``.

    Returns:
        The normalised digest, or ``None`` for ``None``.

    Raises:
        ValueError: it is neither.
    """
    if sha256 is None:
        return None
    value = sha256.strip().lower()
    if value.startswith("md5:") and re.fullmatch(r"[0-9a-f]{32}", value[4:]):
        return value  # some datasets publish only MD5 sums (e.g. in mirdata and soundata)
    if value.startswith("sha256:"):
        value = value[len("sha256:") :]
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        raise ParameterError(f"not a SHA-256 hex digest (or 'md5:<32 hex>'): {sha256!r}")
    return value


def _algorithm(expected: str) -> str:
    return "md5" if expected.startswith("md5:") else "sha256"


def digest_like(path: Path, expected: str) -> str:
    """The digest of ``path`` in the algorithm of ``expected`` (``md5:...`` or SHA-256), memoised.

    Args:
        path: the file.
        expected: a normalised digest (:func:`normalise_sha`); only its algorithm is used.

    Returns:
        The file's digest in the same form (``md5:<hex>`` or SHA-256 hex).
    """
    key, algorithm = _memo_key(path), _algorithm(expected)
    if key is not None and (key, algorithm) in _VERIFIED:
        return _VERIFIED[(key, algorithm)]
    if algorithm == "md5":
        digest = hashlib.md5()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        value = "md5:" + digest.hexdigest()
    else:
        value = sha256_file(path)
    if key is not None:
        _VERIFIED[(key, algorithm)] = value
    return value


def remember(path: Path, expected: str) -> None:
    """Record that ``path`` (just written and checked) has the digest ``expected``.

    Args:
        path: the file, as it now is on disk.
        expected: its digest (normalised, :func:`normalise_sha`).
    """
    if (key := _memo_key(path)) is not None:
        _VERIFIED[(key, _algorithm(expected))] = expected


def intact(path, sha256: str | None = None) -> bool:
    """Whether ``path`` is a file whose digest matches ``sha256`` (without one: whether it exists).

    Uses the one memoised checksum check, :func:`digest_like`.

    Args:
        path: the file.
        sha256: the expected digest (SHA-256 hex, or ``md5:<hex>``), or ``None``.

    Returns:
        ``True`` or ``False``; never raises for a missing file.
    """
    path = Path(path)
    if not path.is_file():
        return False
    expected = normalise_sha(sha256)
    return expected is None or digest_like(path, expected) == expected
