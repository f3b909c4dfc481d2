"""The dataset registry: one loader for the seven datasets of the course, mini or full.

>>> from course_utils.datasets import load_dataset
>>> df = load_dataset("gtzan_genre")            # the embedded mini version, built on first use
>>> df = load_dataset("gtzan_genre", "full")    # the real one, after `course-utils data download`

Both variants of a dataset return the same columns (see :func:`schema`): ``clip_id``, ``path``
(absolute), ``offset`` and ``duration`` (seconds; ``NaN`` duration = to the end of the file), the
label columns, and the split or fold column where the dataset defines one. The mini versions are
written in the real datasets' on-disk formats, so the same parser reads both.

Every notebook gets its data through this module.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from course_utils.core import files, paths
from course_utils.core.errors import CourseError, DatasetError, ParameterError
from course_utils.datasets import ballroom, emomusic, gtzan, jamendo, magnatagatune, minigen, urbansound
from course_utils.datasets.base import DatasetSpec

#: The registry, in the order of the course.
REGISTRY: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        magnatagatune.SPEC,
        gtzan.GENRE_SPEC,
        gtzan.SPEECHMUSIC_SPEC,
        ballroom.SPEC,
        emomusic.SPEC,
        jamendo.SPEC,
        urbansound.SPEC,
    )
}

VARIANTS = ("mini", "full")


def names() -> list[str]:
    """The registered dataset names, in course order."""
    return list(REGISTRY)


def get_spec(name: str) -> DatasetSpec:
    """The registry entry of a dataset.

    Args:
        name: a registered name.

    Returns:
        Its :class:`DatasetSpec`.

    Raises:
        DatasetError: unknown name (the message lists the known ones).
    """
    try:
        return REGISTRY[name]
    except KeyError:
        raise ParameterError(f"unknown dataset {name!r}; choose one of: {', '.join(REGISTRY)}") from None


def dataset_dir(name: str, variant: str = "mini", root=None) -> Path:
    """Where a dataset lives: ``root`` if given, else ``<data dir>/<variant>/<name>``.

    Args:
        name: a registered name.
        variant: ``"mini"`` or ``"full"``.
        root: an explicit folder.

    Returns:
        The folder (not created).
    """
    get_spec(name)
    if variant not in VARIANTS:
        raise ParameterError(f"unknown variant {variant!r}; choose 'mini' or 'full'")
    return Path(root).resolve() if root else paths.data_path(variant, name)


def synthesize(name: str, root=None, *, seed: int = minigen.DEFAULT_SEED, force: bool = False, progress: bool = True) -> Path:
    """Generate a mini dataset (if it is not already there, complete and current).

    Args:
        name: a registered name.
        root: the folder to write (default ``data/mini/<name>``).
        seed: the random seed; the same seed gives the same bytes.
        force: regenerate even if a valid copy exists.
        progress: show a progress bar.

    Returns:
        The dataset folder.
    """
    spec = get_spec(name)
    folder = dataset_dir(name, "mini", root)
    if not force and minigen.is_current(folder, seed, name):
        return folder

    def write(tmp: Path) -> None:
        spec.synthesize(tmp, seed, progress=progress)

    return minigen.build_atomically(folder, write, seed=seed, name=name, parse=spec.parse)


def download(name: str, root=None) -> Path:
    """Get the full version of a dataset: download it, or explain how to place it by hand.

    Args:
        name: a registered name.
        root: the folder to fill (default ``data/full/<name>``).

    Returns:
        The dataset folder, parsed once to check that it is complete.
    """
    spec = get_spec(name)
    folder = dataset_dir(name, "full", root)
    if folder.is_dir() and any(folder.iterdir()):
        try:
            spec.parse(folder)
            return folder  # already complete: no download, no re-hashing of a multi-GB archive
        except CourseError:
            pass  # incomplete: fetch what is missing
    folder.parent.mkdir(parents=True, exist_ok=True)
    spec.fetch(folder)
    spec.parse(folder)
    return folder


def load_dataset(name: str, variant: str = "mini", root=None, *, seed: int = minigen.DEFAULT_SEED) -> pd.DataFrame:
    """Load a dataset as a table with one row per clip.

    The mini variant is generated on first use (about 10 to 60 s) and checked against its
    manifest on every load; a damaged copy is rebuilt. The full variant must have been fetched
    with ``course-utils data download NAME`` (or :func:`download`).

    Args:
        name: one of :func:`names`.
        variant: ``"mini"`` (embedded, synthetic, offline) or ``"full"`` (the real data).
        root: an explicit dataset folder instead of ``data/<variant>/<name>``.
        seed: the mini dataset's seed.

    Returns:
        A DataFrame in the schema of :func:`schema`; ``df.attrs`` holds ``name``, ``task``,
        ``root`` and ``classes`` (classification) or ``tags`` (tagging).

    Raises:
        DatasetError: unknown name or variant, or the full data is missing or incomplete (the
            message says how to get it).
    """
    spec = get_spec(name)
    folder = dataset_dir(name, variant, root)
    if variant == "mini":
        # the cheap check first (manifest, version, seed, sizes), then every checksum
        if not minigen.is_current(folder, seed, name) or files.verify_manifest(folder):
            synthesize(name, root, seed=seed, force=True)
    elif not folder.exists():
        raise DatasetError(
            f"{name}: the full dataset is not in {folder}. Run `course-utils data download {name}` "
            f"(or pass root= the folder where you unpacked it), or use variant='mini' to work offline."
        )
    df = spec.parse(folder)
    df.attrs["variant"] = variant
    return df


def schema(name: str) -> list[str]:
    """The columns of a dataset's table (the same for both variants).

    Args:
        name: a registered name.

    Returns:
        Column names.
    """
    spec = get_spec(name)
    cols = ["clip_id", "path", "offset", "duration", *spec.label_columns]
    if spec.split_column:
        cols.append(spec.split_column)
    return cols


def describe_all() -> pd.DataFrame:
    """A table of the seven datasets: task, full size, mini size, split."""
    return pd.DataFrame([
        {"name": s.name, "title": s.title, "task": s.task, "full": s.full_size, "mini": s.mini_size,
         "split": s.split_column or "10-fold CV"}
        for s in REGISTRY.values()
    ])


def info(name: str, data_dir=None) -> str:
    """A readable account of a dataset: what it is, its layout, and the state of both variants.

    Args:
        name: a registered name.
        data_dir: a data folder overriding the default (holding ``mini/`` and ``full/``).

    Returns:
        Several lines of text.
    """
    spec = get_spec(name)
    lines = [f"{spec.title} ({spec.name}): {spec.task}", f"  {spec.description}", f"  cite: {spec.citation}",
             f"  layout: {spec.layout}", f"  columns: {', '.join(schema(name))}"]
    for variant in VARIANTS:
        folder = Path(data_dir) / variant / name if data_dir else dataset_dir(name, variant)
        size = spec.mini_size if variant == "mini" else spec.full_size
        if not folder.exists():
            state = "not present" + (" (generated on first use)" if variant == "mini" else f" (run `course-utils data download {name}`)")
        else:
            try:
                df = spec.parse(folder)
                state = f"{len(df)} rows"
                if variant == "mini":
                    problems = files.verify_manifest(folder)
                    state += ", manifest OK" if not problems else f", {len(problems)} damaged files (rebuilt on next load)"
            except DatasetError as exc:
                state = f"incomplete: {exc}"
        lines.append(f"  {variant}: {size}\n    {folder}: {state}")
    return "\n".join(lines)


__all__ = ["REGISTRY", "VARIANTS", "names", "get_spec", "dataset_dir", "synthesize", "download", "load_dataset",
           "schema", "describe_all", "info", "DatasetSpec"]
