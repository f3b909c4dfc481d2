"""One key scheme for every cache the course keeps on disk.

A cached result may be reused only if nothing it was computed from has changed. Three things
enter every key:

- **the input files**, each as ``[absolute path, size, mtime_ns]``
  (:func:`course_utils.core.files.file_signature`) and a **content sample** (:func:`content_sample`):
  the SHA-256 of the whole file up to :data:`SMALL_FILE` bytes, of :data:`SAMPLE_BLOCKS` blocks
  spread over it (the first and the last included) above. So a file rewritten with the same
  size and its modification time restored (``touch -r``, ``cp -p``, unzip) gets a new key too;
  measured on the 2,228 clips of the mini datasets (215 MB, warm page cache): 81 µs of CPU per
  file against 31 µs for the signature alone, 0.11 s more for all of them;
- **the parameters** of the computation (sample rate, layers, protocol, ...), as JSON with
  sorted keys, so that the order in which they are given does not matter;
- **a code version**: a string the owning module bumps when its computation changes, so that
  old caches are not read by new code.

Content that is cheap to hash and decisive (a model's weights file, which can be replaced by
another of the same size within the file system's time resolution) can be added by its SHA-256
with ``content=``.

Every cache has one shape: ``data/cache/<what>/<key>.<ext>``, named by :func:`cache_file` with
the key of :func:`cache_key`: the log-mel spectrograms (``logmel``,
:func:`course_utils.models.training.build_logmel_cache`), each clip's features
(``clip_features``, :class:`course_utils.features.clip_features.ClipFeatures`), the mini tasks'
features in the release layout (``mini_release``, a folder:
:func:`course_utils.features.mini_release.mini_release`) and the released features' SVM scores
(``release_scores``, :func:`course_utils.svm.protocol.evaluate_release`). A file is written
under a temporary name and renamed when finished, so what carries a key is complete.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Iterable

from course_utils.core import paths
from course_utils.core.files import file_signature, sha256_file

#: Hex digits of a key: 16 (64 bits) make an accidental collision between two caches negligible.
KEY_LENGTH = 16
#: Files up to this size enter a key by the SHA-256 of their whole content.
SMALL_FILE = 256 << 10
#: Larger files by this many blocks of :data:`SAMPLE_BYTES`, evenly spread from the first to the last.
SAMPLE_BLOCKS = 8
SAMPLE_BYTES = 4 << 10


def content_sample(path: str | os.PathLike) -> str | None:
    """The SHA-256 of a file's content (up to :data:`SMALL_FILE` bytes) or of a sample of it.

    Args:
        path: the file.

    Returns:
        Hex digest; ``None`` when the file cannot be read (a missing file enters a key by its
        signature alone).
    """
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size <= SMALL_FILE:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            else:
                last = size - SAMPLE_BYTES
                for i in range(SAMPLE_BLOCKS):
                    f.seek(last * i // (SAMPLE_BLOCKS - 1))
                    digest.update(f.read(SAMPLE_BYTES))
    except OSError:
        return None
    return digest.hexdigest()


def cache_key(*, version: str, files: Iterable[str | os.PathLike] = (), params: dict | None = None,
              content: Iterable[str | os.PathLike] = (), missing_ok: bool = False) -> str:
    """The key of a cached result: a hash of its input files, parameters, content and code version.

    Args:
        version: the owning computation's code version, e.g. ``"logmel-3"``.
        files: the input files, in order; each enters as path, size, ``mtime_ns`` and
            :func:`content_sample`.
        params: the parameters of the computation (JSON-serialisable).
        content: files whose bytes enter the key (their SHA-256), e.g. a model's weights.
        missing_ok: let a missing input file enter as ``[path, None, None]`` instead of raising.

    Returns:
        ``KEY_LENGTH`` lowercase hex digits.

    Raises:
        FileNotFoundError: an input file is missing (and not ``missing_ok``), or a ``content``
            file is missing.
    """
    blob = {
        "version": str(version),
        "files": [[*file_signature(p, missing_ok=missing_ok), content_sample(p)] for p in files],
        "params": params or {},
        "content": [sha256_file(p) for p in content],
    }
    text = json.dumps(blob, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:KEY_LENGTH]


def cache_file(what: str, key: str, suffix: str = "") -> Path:
    """Where a cached result lives: ``data_path("cache") / what / f"{key}{suffix}"``.

    Args:
        what: the cache, one folder per kind of result (``"logmel"``, ``"clip_features"``...).
        key: the result's :func:`cache_key`.
        suffix: the file's extension (``".npy"``, ``".json"``); empty for a folder.

    Returns:
        The path (nothing is created).
    """
    return paths.data_path("cache", what, f"{key}{suffix}")
