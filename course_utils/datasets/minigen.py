"""Machinery shared by the mini-dataset generators: seeds, parallel rendering, atomic folders.

Every clip of a mini dataset is rendered from its own random generator, seeded by the dataset's
seed and the clip's index, so the bytes written do not depend on how many worker processes
rendered them or in which order. A dataset is written into a hidden temporary folder, gets its
``MANIFEST.json`` of checksums, and only then is renamed (or, over an existing copy, merged) into
place: an interrupted generation leaves no half-built dataset behind, and a rebuild never deletes
a file that the dataset's manifest does not list.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from course_utils.core import files, paths
from course_utils.core.errors import CourseError, DatasetError

#: Bump when a generator changes its output, so that stale mini datasets are rebuilt.
GENERATOR_VERSION = 3

#: Default seed of every mini dataset.
DEFAULT_SEED = 2017

def clip_rng(seed: int, index: int, salt: int = 0) -> np.random.Generator:
    """The random generator of one clip: independent of every other clip's.

    Args:
        seed: the dataset's seed.
        index: the clip's index.
        salt: a per-dataset constant, so that datasets with the same seed differ.

    Returns:
        A seeded :class:`numpy.random.Generator`.
    """
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(salt), int(index)]))


#: Seconds an idle worker process waits for more clips before it exits (joblib's default is 300,
#: which kept the workers of a killed synthesis alive for minutes).
WORKER_IDLE_TIMEOUT = 10


def render_clips(render: Callable, jobs: Sequence[dict], *, desc: str = "", progress: bool = True) -> list:
    """Run ``render(**job)`` for every job, in parallel processes, with a progress bar.

    ``render`` writes its clip and returns a small result (e.g. the clip's duration); it must
    be a module-level function so that worker processes can import it. Idle workers exit after
    :data:`WORKER_IDLE_TIMEOUT` seconds, and every worker exits when this process dies
    (:func:`_watch_parent`), so those of a killed build do not linger.

    Args:
        render: the per-clip function.
        jobs: keyword arguments of each call.
        desc: label of the progress bar.
        progress: show a progress bar.

    Returns:
        The results, in the order of ``jobs``.
    """
    from course_utils.core.progress import tqdm

    workers = paths.workers()
    bar = tqdm(total=len(jobs), desc=desc, unit="clip", disable=not progress, leave=False)
    try:
        if workers == 1 or len(jobs) < 8:
            results = []
            for job in jobs:
                results.append(render(**job))
                bar.update()
            return results
        from joblib import Parallel, delayed

        results = []
        parallel = Parallel(n_jobs=workers, return_as="generator", batch_size=4, idle_worker_timeout=WORKER_IDLE_TIMEOUT,
                            initializer=_watch_parent, initargs=(os.getpid(),))
        for result in parallel(delayed(render)(**job) for job in jobs):
            results.append(result)
            bar.update()
        return results
    finally:
        bar.close()


_WATCHED: set[int] = set()


def _watch_parent(parent: int) -> None:
    """Start (once per process) a thread that ends this process when ``parent`` is gone.

    The initializer of :func:`render_clips`' worker processes: a killed synthesis (a kernel
    restart, ``kill -9``) cannot stop its workers, which otherwise go on rendering, or wait on
    a pipe, for minutes. Each worker checks once a second that its parent still runs (that it
    was not handed to another parent, or, for a worker started through a helper process, that
    the parent's process id still exists). Not on Windows, where no check is cheap and safe.

    Args:
        parent: the process id of the process that started the worker.
    """
    if os.name == "nt" or os.getpid() == parent or parent in _WATCHED:
        return
    _WATCHED.add(parent)
    direct = os.getppid() == parent

    def alive() -> bool:
        if direct:
            return os.getppid() == parent
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return True

    def watch() -> None:
        while alive():
            time.sleep(1.0)
        os._exit(1)  # orphaned: nobody will read our results

    threading.Thread(target=watch, name="course-utils-parent-watch", daemon=True).start()


def build_atomically(root: Path, write: Callable[[Path], None], *, seed: int, name: str,
                     parse: Callable[[Path], object] | None = None) -> Path:
    """Write a dataset into a temporary sibling folder, add its manifest, then move it to ``root``.

    A new (missing or empty) ``root`` appears at once, complete (:func:`cache.replace_folder`).
    An existing one is rebuilt in place (:func:`cache.merge_folder`): only the files of the
    dataset are replaced or removed, and every other file (a user's notes or recordings) is
    kept. A rebuild needs ``root`` to hold the mini version of the same dataset: by its
    manifest, or, when the manifest is missing or damaged, by the layout (``parse``) and by
    most clips being byte-identical to the fresh build. Anything else is refused and left
    untouched. Temporary folders that a killed build left beside ``root`` are removed first.

    Args:
        root: the final dataset folder.
        write: writes the dataset's files under the folder it is given.
        seed: recorded in the manifest.
        name: the dataset's registry name, recorded in the manifest.
        parse: the dataset's parser, to recognise a mini folder whose manifest is damaged.

    Returns:
        ``root``.

    Raises:
        DatasetError: ``root`` holds something else (the message says what and what to do).
    """
    root = Path(root)
    owned = _owned_files(root, name, parse)
    root.parent.mkdir(parents=True, exist_ok=True)
    files.remove_stale_temp_files(root.parent, files.STALE_AFTER, recursive=False, prefix=f".{root.name}.tmp-")
    tmp = files.temp_path_for(root, keep_suffix=False)
    try:
        tmp.mkdir()
        write(tmp)
        files.write_manifest(tmp, extra={"dataset": name, "variant": "mini", "seed": int(seed),
                                         "generator_version": GENERATOR_VERSION})
        if owned is None:
            files.replace_folder(tmp, root)
        else:
            new = files.read_manifest(tmp)["files"]
            if owned is _UNKNOWN:
                owned = _adopt(root, new, name, seed)
            _check_no_clash(root, new, owned, name)
            files.merge_folder(tmp, root, sorted(new), remove=sorted(set(owned) - set(new)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


#: :func:`_owned_files`' answer for a folder whose manifest is missing or damaged.
_UNKNOWN = object()


def _not_ours(root: Path, name: str, why: str) -> DatasetError:
    return DatasetError(f"{root} {why}: it is not a mini dataset of the course, so the mini {name} is not "
                        "written there and nothing was changed. If it holds your own copy of the real "
                        "dataset, load it with variant='full'; otherwise give an empty or new folder.")


def _owned_files(root: Path, name: str, parse) -> set | object | None:
    """The files of ``root`` that a rebuild of the mini ``name`` may replace or delete.

    Returns ``None`` for a missing or empty folder, the manifest's files for a mini ``name``,
    :data:`_UNKNOWN` for a folder in the dataset's layout whose manifest is missing or damaged;
    raises :class:`DatasetError` for anything else.
    """
    if root.exists() and not root.is_dir():
        raise DatasetError(f"{root} is a file, not a folder: give a folder for the mini {name}")
    if not root.exists() or not any(root.iterdir()):
        return None
    try:
        manifest = files.read_manifest(root)
        extra = manifest["extra"]
    except DatasetError:
        manifest, extra = None, {}
    if manifest is not None and extra.get("variant") != "mini":
        raise _not_ours(root, name, f"has a {files.MANIFEST_NAME} of something else")
    if manifest is not None and extra.get("dataset") not in (None, name):
        raise DatasetError(f"{root} holds the mini {extra['dataset']}, not {name}; nothing was changed. "
                           f"Give {name} a folder of its own (e.g. {root.parent / name}).")
    if manifest is not None and extra.get("dataset") == name:
        return set(manifest["files"])
    why = "has no MANIFEST.json" if not (root / files.MANIFEST_NAME).exists() else "has a damaged MANIFEST.json"
    try:
        if parse is None:
            raise DatasetError("no parser")
        parse(root)
    except CourseError:
        raise _not_ours(root, name, f"{why} and is not in the layout of {name}") from None
    return _UNKNOWN


def _same_file(path: Path, entry: dict) -> bool:
    """Whether ``path`` is a file with the size and SHA-256 of a manifest entry."""
    try:
        return path.is_file() and path.stat().st_size == entry["size"] and files.sha256_file(path) == entry["sha256"]
    except OSError:
        return False


def _adopt(root: Path, new: dict, name: str, seed: int) -> set:
    """Accept a manifest-less ``root`` as the mini ``name`` if most of its clips match the fresh build."""
    why = "has no MANIFEST.json" if not (root / files.MANIFEST_NAME).exists() else "has a damaged MANIFEST.json"
    same = sum(_same_file(root / rel, entry) for rel, entry in new.items())
    if 2 * same < len(new):
        raise _not_ours(root, name, f"{why} and only {same} of {len(new)} of its files match the mini {name} "
                                    f"(seed {seed})")
    return set(new)


def _check_no_clash(root: Path, new: dict, owned: set, name: str) -> None:
    """Refuse a rebuild that would overwrite a file the dataset does not own, or a folder."""
    for rel, entry in sorted(new.items()):
        target = root / rel
        blocked = next((p for p in [*reversed(target.parents), target]
                        if p.is_relative_to(root) and p != root and p.exists()
                        and (p.is_dir() if p == target else not p.is_dir())), None)
        if blocked is not None or (target.exists() and rel not in owned and not _same_file(target, entry)):
            where = blocked or target
            raise DatasetError(f"{where}: rebuilding the mini {name} would overwrite it, and it is not a file "
                               f"of the dataset; nothing was changed. Move it elsewhere and load again.")


def is_current(root: Path, seed: int, name: str | None = None) -> bool:
    """Whether ``root`` holds a complete mini dataset of this generator version and seed.

    The check is quick (file sizes, not checksums), cheap enough for every load.

    Args:
        root: the dataset folder.
        seed: the seed it should have been generated with.
        name: the dataset it should be (``None``: any).

    Returns:
        ``True`` when the manifest matches and every listed file has its recorded size.
    """
    root = Path(root)
    if not (root / files.MANIFEST_NAME).is_file():
        return False
    try:
        extra = files.read_manifest(root).get("extra", {})
    except Exception:
        return False
    if extra.get("generator_version") != GENERATOR_VERSION or extra.get("seed") != int(seed):
        return False
    if name is not None and extra.get("dataset") != name:
        return False
    return not files.verify_manifest(root, quick=True)


def split_counts(total: int, weights: Sequence[float], minimum: int = 1) -> list[int]:
    """Split ``total`` items into integer counts proportional to ``weights`` (each at least ``minimum``).

    Used to give mini datasets a class imbalance like the real ones'.

    Args:
        total: the number of items.
        weights: relative sizes.
        minimum: the smallest count.

    Returns:
        Integer counts summing to ``total``.
    """
    w = np.asarray(weights, dtype=float)
    raw = minimum + w / w.sum() * (total - minimum * len(w))
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts))[: total - counts.sum()]:
        counts[i] += 1
    return counts.tolist()
