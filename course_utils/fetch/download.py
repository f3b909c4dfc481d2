"""Resumable, checksummed downloads, the lookup of external files, and manual-download checks.

The real datasets of the course are fetched on demand (``course-utils data download NAME``
or the first ``load_dataset(NAME, mini=False)`` of a notebook). Downloads of several GB over
a flaky connection must survive interruptions, so:

- :func:`download` writes to ``DEST.part`` and resumes it with an HTTP ``Range`` request on
  the next call; only a complete file whose SHA-256 matches is renamed onto ``DEST``;
- :func:`download_first` tries a file's mirrors in turn;
- :func:`concatenate_parts` joins split archives (MagnaTagAtune's ``mp3.zip.001`` ...);
- :func:`require_manual_files` explains what to do for datasets that cannot be downloaded
  automatically (a licence to accept, no stable URL);
- :func:`locate` finds the course's other external files (the authors' release and weights, the
  example clips, split lists) in one order: the data folder, then the reference folder of
  :func:`course_utils.core.paths.reference_dir` (used in place, never written to), then the network.

Every failure raises :class:`~course_utils.core.errors.DownloadError` (or
:class:`~course_utils.core.errors.DatasetError` for manual files) naming the URL and the file and
saying what to do. Only the standard library (``urllib``) and ``tqdm`` are used.

Checksums are computed by :mod:`course_utils.fetch.checksums`; archives are unpacked by
:mod:`course_utils.fetch.archives`.
"""

from __future__ import annotations

import http.client
import logging
import os
import re
from pathlib import Path
from typing import Iterable, Mapping
from urllib.error import HTTPError
from urllib.parse import urlparse
from urllib.request import Request, url2pathname, urlopen

from course_utils.core import paths
from course_utils.core.errors import DatasetError, DownloadError, ParameterError
from course_utils.core.files import atomic_write
from course_utils.core.progress import tqdm
from course_utils.fetch.checksums import digest_like as _digest_like, intact, normalise_sha as _normalise_sha, remember
from course_utils.fetch.guards import mismatch_note, set_aside

__all__ = [
    "USER_AGENT",
    "concatenate_parts",
    "download",
    "locate",
    "require_manual_files",
]

logger = logging.getLogger(__name__)


#: User-Agent header sent with every HTTP request.
USER_AGENT = "course-utils (Deep Learning for Music Classification course; Python urllib)"

# Errors that mean "the transfer broke off".
_TRANSFER_ERRORS = (OSError, http.client.HTTPException)


def _part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def _progress_bar(progress: bool, total: int | None, initial: int, desc: str):
    return tqdm(
        total=total,
        initial=initial,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=desc,
        disable=not progress,
        leave=True,
    )


def _interrupted(url: str, dest: Path, part: Path, reason: str, got: int, total: int | None):
    of = f" of {total}" if total else ""
    kept = (f"The partial file {part} is kept: run the same command again to resume." if got
            else "Check your connection and run the same command again.")
    return DownloadError(f"Download of {url} to {dest} was interrupted after {got}{of} bytes ({reason}). {kept}")


def _http_error(url: str, dest: Path, part: Path, code: int, reason: str) -> DownloadError:
    if code in (404, 410):
        hint = (
            "The file is not (or no longer) at this address: check the URL; if it comes from "
            "the course's dataset registry, please report it (the dataset may have moved)."
        )
    elif code in (401, 403):
        hint = (
            "The server refused access: the dataset may require a login or accepting a "
            "licence first (see the dataset's instructions), or the link has expired."
        )
    else:
        kept = f" The partial file {part} is kept." if part.exists() else ""
        hint = f"The server failed or is busy.{kept} Run the same command again later to resume."
    return DownloadError(f"Download of {url} to {dest} failed: HTTP {code} {reason}. {hint}")


def _parse_content_range(value: str | None) -> tuple[int | None, int | None]:
    """``"bytes 100-999/1000"`` -> (100, 1000); ``"bytes */1000"`` -> (None, 1000)."""
    if not value:
        return None, None
    m = re.match(r"\s*bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)", value)
    if not m:
        return None, None
    start = int(m.group(1)) if m.group(1) is not None else None
    total = int(m.group(2)) if m.group(2) != "*" else None
    return start, total


def _copy_stream(src, part: Path, mode: str, offset: int, total: int | None, *, url: str,
                 dest: Path, progress: bool, chunk_size: int) -> None:
    """Copy ``src`` (a response or file) into ``part``; raise DownloadError if cut short."""
    got = offset
    # read1: return what has arrived instead of waiting for a full chunk, so that a stalled
    # transfer keeps every byte received before the timeout.
    read = getattr(src, "read1", src.read)
    with open(part, mode) as out, _progress_bar(progress, total, offset, dest.name) as bar:
        try:
            while True:
                block = read(chunk_size)
                if not block:
                    break
                out.write(block)
                got += len(block)
                bar.update(len(block))
        except _TRANSFER_ERRORS as e:
            out.flush()
            raise _interrupted(url, dest, part, f"{type(e).__name__}: {e}", got, total) from e
    if total is not None and got < total:
        raise _interrupted(url, dest, part, "the connection closed early", got, total)


def _fetch_http(url: str, dest: Path, part: Path, *, timeout: float, chunk_size: int,
                progress: bool) -> None:
    for _ in range(3):  # at most: a refused/misaligned resume, then a fresh start
        offset = part.stat().st_size if part.exists() else 0
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        try:
            response = urlopen(Request(url, headers=headers), timeout=timeout)
        except HTTPError as e:
            with e:
                if e.code == 416 and offset:
                    # Nothing left after `offset`: the .part is complete (the checksum decides)
                    # or the remote file shrank (start over).
                    _, total = _parse_content_range(e.headers.get("Content-Range"))
                    if total == offset:
                        return
                    logger.info("%s: server refused to resume, starting over", url)
                    part.unlink(missing_ok=True)
                    continue
                raise _http_error(url, dest, part, e.code, str(e.reason)) from None
        except _TRANSFER_ERRORS as e:
            reason = getattr(e, "reason", e)
            raise _interrupted(url, dest, part, f"cannot connect: {reason}", offset, None) from e
        with response:
            length = response.headers.get("Content-Length")
            length = int(length) if length and length.isdigit() else None
            if response.status == 206:
                start, total = _parse_content_range(response.headers.get("Content-Range"))
                if start != offset:
                    logger.info("%s: server answered another range, starting over", url)
                    part.unlink(missing_ok=True)
                    continue
                if total is None and length is not None:
                    total = offset + length
                mode = "ab"
            else:  # 200: the server ignores Range; start over
                if offset:
                    logger.info("%s: server does not support resuming, starting over", url)
                offset, total, mode = 0, length, "wb"
            _copy_stream(response, part, mode, offset, total, url=url, dest=dest,
                         progress=progress, chunk_size=chunk_size)
            return
    raise DownloadError(
        f"Download of {url} to {dest} failed: the server keeps answering resume requests "
        f"inconsistently. Delete {part} and run the same command again."
    )


def _fetch_file(url: str, dest: Path, part: Path, *, progress: bool, chunk_size: int) -> None:
    parsed = urlparse(url)
    src = Path(url2pathname(parsed.path))
    if parsed.netloc not in ("", "localhost"):
        src = Path(url2pathname(f"//{parsed.netloc}{parsed.path}"))
    if not src.is_file():
        raise DownloadError(f"Download of {url} to {dest} failed: {src} does not exist.")
    total = src.stat().st_size
    offset = part.stat().st_size if part.exists() else 0
    if offset > total:
        offset = 0
    try:
        with open(src, "rb") as f:
            f.seek(offset)
            _copy_stream(f, part, "ab" if offset else "wb", offset, total, url=url, dest=dest,
                         progress=progress, chunk_size=chunk_size)
    except OSError as e:  # the source could not be opened or read
        raise _interrupted(url, dest, part, str(e), offset, total) from e


def download(
    url: str,
    dest: str | os.PathLike,
    sha256: str | None = None,
    *,
    progress: bool = True,
    resume: bool = True,
    timeout: float = 60,
    chunk_size: int = 1 << 16,
) -> Path:
    """Download ``url`` to ``dest``, resuming an earlier partial download, and check it.

    The data goes to ``DEST.part``; when the transfer is complete (and its SHA-256 matches,
    if given) that file is renamed onto ``dest``, so ``dest`` only ever holds a complete,
    checked file. If ``DEST.part`` exists (an interrupted earlier call), the download resumes
    with a ``Range: bytes=N-`` request; a server that answers with the whole file (200)
    makes it start over. If ``dest`` exists and matches ``sha256`` (or no ``sha256`` is
    given), it is returned at once without any network access; a ``dest`` with the wrong
    checksum (perhaps placed by hand) is kept as ``DEST.bad`` and downloaded again, and an
    error then says so.

    Args:
        url: an ``http://``, ``https://`` or ``file://`` URL.
        dest: the file to create (its folder is created if missing).
        sha256: the expected SHA-256 hex digest, or ``None`` to skip the check.
        progress: show a tqdm progress bar.
        resume: resume from ``DEST.part`` if present; ``False`` deletes it and starts over.
        timeout: seconds without data after which the transfer counts as interrupted.
        chunk_size: bytes read at a time.

    Returns:
        ``dest`` as a :class:`~pathlib.Path`.

    Raises:
        DownloadError: the transfer was interrupted (``DEST.part`` is kept: run the same
            call again to resume), the server answered an HTTP error (its status is in the
            message), or the checksum does not match (``DEST.part`` is deleted).
        ValueError: ``sha256`` is not a hex digest, the URL scheme is not supported, or
            ``dest`` is a folder.
    """
    dest = Path(dest)
    expected = _normalise_sha(sha256)
    scheme = urlparse(url).scheme.lower()
    if scheme not in ("http", "https", "file"):
        raise ParameterError(f"download: unsupported URL {url!r} (use http://, https:// or file://)")
    if dest.is_dir():
        raise ParameterError(f"download: {dest} is a folder; give the path of the file to create")
    if dest.exists() and expected is None:
        logger.info("%s already exists, not downloading %s", dest, url)
        return dest
    valid, note = _check_existing(dest, expected)
    if valid:
        logger.info("%s already downloaded and verified", dest)
        return dest
    if scheme != "file" and paths.offline():
        raise DownloadError((f"{note} " if note else "") + f"{url}: not downloaded, {paths.OFFLINE_ENV} is set (offline "
                            f"mode); place {dest.name} at {dest} by hand, or unset {paths.OFFLINE_ENV}")
    try:
        _fetch(url, dest, scheme, expected, resume=resume, timeout=timeout, chunk_size=chunk_size, progress=progress)
    except DownloadError as exc:
        raise DownloadError(f"{note} {exc}" if note else str(exc)) from None
    if note:
        logger.warning("%s It was downloaded again.", note)
    return dest


def _check_existing(dest: Path, expected: str | None) -> tuple[bool, str]:
    """Whether ``dest`` is there with the expected checksum; one that is not is set aside as ``.bad``.

    Returns ``(valid, note)``: ``note`` says which file was set aside and why ("" if none); the
    caller reports it (in its error, or as a warning once the file was downloaded again).
    """
    if expected is None or not dest.exists():
        return False, ""
    actual = _digest_like(dest, expected)
    if actual == expected:
        return True, ""
    return False, mismatch_note(dest, set_aside(dest), actual, expected)


def _fetch(url: str, dest: Path, scheme: str, expected: str | None, *, resume: bool, timeout: float,
           chunk_size: int, progress: bool) -> None:
    """Transfer ``url`` into ``DEST.part``, check it, and rename it onto ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = _part_path(dest)
    if not resume:
        part.unlink(missing_ok=True)

    try:
        if scheme == "file":
            _fetch_file(url, dest, part, progress=progress, chunk_size=chunk_size)
        else:
            _fetch_http(url, dest, part, timeout=timeout, chunk_size=chunk_size, progress=progress)
    except BaseException:
        if part.exists() and part.stat().st_size == 0:  # nothing to resume: leave no empty file behind
            part.unlink()
        raise

    if expected is not None:
        actual = _digest_like(part, expected)
        if actual != expected:
            part.unlink(missing_ok=True)
            raise DownloadError(
                f"Checksum mismatch for {dest} downloaded from {url}: expected "
                f"{expected}, got {actual}. The bad download was deleted. Run the same command "
                "again to download it afresh; if the same wrong checksum comes back, the file "
                "has changed upstream: please report it to the course maintainers."
            )
    os.replace(part, dest)
    if expected is not None:
        remember(dest, expected)


# --------------------------------------------------------------------------- external files




def locate(files: Mapping[str, str | None], folder, reference: str | Mapping[str, str] | None,
           urls: str | Mapping[str, str], *, progress: bool = True) -> dict[str, Path]:
    """Find a group of external files in the course's one lookup order, downloading only if needed.

    1. ``folder`` (a place in the data folder), when it holds every file, intact;
    2. the reference folder (:func:`course_utils.core.paths.reference_dir`: ``$COURSE_REFERENCE_DIR``
       or ``../shared/reference`` beside a checkout), when it holds every file, intact: the files
       are used where they are, never copied or written to (a damaged copy is skipped, with a
       warning);
    3. the network: :func:`download` fetches into ``folder`` what is missing or damaged there.

    A group is taken whole from one place, so that files read together (a release's features and
    labels) come from the same copy.

    Args:
        files: name -> expected digest (SHA-256 hex, ``md5:<hex>``, or ``None`` for none); a name
            is a relative path under ``folder``.
        folder: where the files are kept, and downloaded to, in the data folder.
        reference: where they are under the reference folder: a sub-folder holding them under the
            same names, or name -> relative path; ``None`` to skip step 2.
        urls: a base URL (``<base>/<name>``), or name -> URL.
        progress: show progress bars while downloading.

    Returns:
        name -> the path of the file found (all in ``folder``, or all in the reference folder).

    Raises:
        DownloadError: a file is in neither folder and could not be downloaded, or its download
            has the wrong checksum (the message names the URL and the file).
    """
    folder = Path(folder)
    local = {name: folder / name for name in files}
    if all(intact(path, files[name]) for name, path in local.items()):
        return local
    root = paths.reference_dir() if reference is not None else None
    if root is not None:
        found = {name: root / (reference[name] if isinstance(reference, Mapping) else f"{reference}/{name}")
                 for name in files}
        damaged = [str(p) for name, p in found.items() if p.is_file() and not intact(p, files[name])]
        if damaged:
            logger.warning("reference copies with the wrong checksum, not used: %s", ", ".join(damaged))
        elif all(p.is_file() for p in found.values()):
            return found
    for name, path in local.items():
        url = urls[name] if isinstance(urls, Mapping) else f"{urls}/{name}"
        download(url, path, files[name], progress=progress)
    return local


# --------------------------------------------------------------------------- mirrors and split archives



def download_first(urls, dest, sha256=None, **kwargs) -> Path:
    """Download a file from the first of several mirrors that works.

    A partial ``DEST.part`` from one mirror is resumed from the next only when a checksum is
    given (so that mixed bytes are caught).

    Args:
        urls: the mirrors, most preferred first.
        dest: the file to create.
        sha256: the expected digest (SHA-256 hex, or ``md5:<hex>``), or ``None``.
        **kwargs: passed on to :func:`download`.

    Returns:
        ``dest``.

    Raises:
        DownloadError: every mirror failed; the message lists each mirror's error.
    """
    urls = [urls] if isinstance(urls, str) else list(urls)
    expected = _normalise_sha(sha256)
    valid, note = _check_existing(Path(dest), expected)
    if valid:
        return Path(dest)
    errors = []
    for url in urls:
        try:
            result = download(url, dest, sha256, **kwargs)
            if note:
                logger.warning("%s It was downloaded again.", note)
            return result
        except DownloadError as exc:
            errors.append(f"  {url}: {exc}")
            if sha256 is None:
                _part_path(Path(dest)).unlink(missing_ok=True)
    want = f" (its checksum must be {expected})" if expected else ""
    raise DownloadError(
        (f"{note}\n" if note else "")
        + f"Could not download {Path(dest).name} from any of its {len(urls)} address(es):\n" + "\n".join(errors)
        + "\nCheck your connection and run the same command again; if every address is dead, get the file "
        f"by other means and place it at {Path(dest).resolve()}{want}."
    )



def concatenate_parts(
    parts: Iterable[str | os.PathLike],
    dest: str | os.PathLike,
    sha256: str | None = None,
    *,
    progress: bool = True,
) -> Path:
    """Join the pieces of a split archive into one file, atomically.

    MagnaTagAtune ships ``mp3.zip.001``, ``mp3.zip.002`` and ``mp3.zip.003``, which are the
    three pieces of one zip file. ``dest`` appears only once it is complete (and matches
    ``sha256``, if given); if ``dest`` already exists and matches ``sha256``, nothing is done.

    Args:
        parts: the pieces, **in order** (``sorted(folder.glob("mp3.zip.0*"))`` works for
            zero-padded numbers).
        dest: the joined file.
        sha256: expected SHA-256 of the joined file, or ``None``.
        progress: show a tqdm progress bar.

    Returns:
        ``dest`` as a :class:`~pathlib.Path`.

    Raises:
        DownloadError: a piece is missing, or the joined file has the wrong checksum (then
            no ``dest`` is written).
    """
    parts = [Path(p) for p in parts]
    dest = Path(dest)
    expected = _normalise_sha(sha256)
    if not parts:
        raise ParameterError("concatenate_parts: no parts given")
    if expected is not None and dest.is_file() and _digest_like(dest, expected) == expected:
        return dest
    missing = [str(p) for p in parts if not p.is_file()]
    if missing:
        raise DownloadError(
            f"cannot build {dest}: missing part(s) {', '.join(missing)}. Download them first."
        )
    total = sum(p.stat().st_size for p in parts)
    with atomic_write(dest) as tmp:
        with open(tmp, "wb") as out, _progress_bar(progress, total, 0, dest.name) as bar:
            for p in parts:
                with open(p, "rb") as f:
                    while block := f.read(1 << 20):
                        out.write(block)
                        bar.update(len(block))
        if expected is not None:
            actual = _digest_like(tmp, expected)
            if actual != expected:
                raise DownloadError(
                    f"Checksum mismatch for {dest} joined from {', '.join(p.name for p in parts)}"
                    f": expected {expected}, got {actual}. A part is damaged or from "
                    "another version, or the parts are in the wrong order: delete the parts and "
                    "download them again."
                )
    return dest


# --------------------------------------------------------------------------- manual files


def require_manual_files(
    dataset_name: str,
    folder: str | os.PathLike,
    expected: Mapping[str, str | None],
    instructions: str,
    *,
    verify: bool = True,
) -> Path:
    """Check the files of a dataset that the user has to download by hand.

    For datasets with no stable URL or behind a licence click. Creates ``folder`` if missing
    (so the user can drop the files straight in), then checks that every file of
    ``expected`` is there and, if ``verify``, that those with a SHA-256 match it (checked
    once per process and file version).

    Args:
        dataset_name: the dataset's name, as the user types it.
        folder: where the files must be placed.
        expected: relative path (``/`` separators) -> SHA-256, or ``None`` to only check
            that it exists (use ``None`` for folders).
        instructions: where to get the files and how (URL, licence, which files); quoted
            verbatim in the error.
        verify: compare checksums (``False``: existence only).

    Returns:
        ``folder`` as an absolute :class:`~pathlib.Path`.

    Raises:
        DatasetError: files are missing (the message holds ``instructions``, the absolute
            folder and the missing files) or a file has the wrong checksum.
    """
    folder = Path(folder).expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    missing = [rel for rel in expected if not (folder / rel).exists()]
    if missing:
        listing = "\n".join(f"  - {rel}" for rel in missing)
        raise DatasetError(
            f"The dataset '{dataset_name}' must be downloaded by hand.\n"
            f"{instructions.strip()}\n"
            f"Place the files in this folder:\n  {folder}\n"
            f"Missing ({len(missing)} of {len(expected)}):\n{listing}"
        )
    if verify:
        for rel, sha in expected.items():
            want = _normalise_sha(sha)
            path = folder / rel
            if want is None or not path.is_file():
                continue
            got = _digest_like(path, want)
            if got != want:
                raise DatasetError(
                    f"The file {path} of the dataset '{dataset_name}' has the wrong checksum "
                    f"({got}, expected {want}): it is damaged, incomplete or another "
                    f"version. Replace it with a fresh copy.\n{instructions.strip()}"
                )
    return folder
