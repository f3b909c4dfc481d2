"""What every dataset of the registry has in common: its description, schema and folders.

A dataset is described by a :class:`DatasetSpec`: what it is, its task, its real on-disk layout,
a *parser* that reads that layout into a DataFrame, a *generator* that writes the mini version in
the same layout, and how to get the full version. Because the mini version is written in the real
format, the parser that runs on the embedded data in CI is the one that runs on the real data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from course_utils.core.errors import DatasetError

#: Columns every dataset's DataFrame has, whatever its task.
COMMON_COLUMNS = ("clip_id", "path", "offset", "duration")


@dataclass(frozen=True)
class DatasetSpec:
    """One entry of the dataset registry.

    Attributes:
        name: registry name, e.g. ``"gtzan_genre"``.
        title: human-readable title.
        task: ``"tagging"`` (multi-label), ``"classification"`` or ``"regression"``.
        description: one paragraph on what it is, for ``course-utils data info`` and notebook 01.
        full_size: the real dataset's size, in words.
        mini_size: the mini version's size, in words.
        citation: the paper to cite.
        label_columns: the label columns of the DataFrame.
        split_column: ``"split"`` (train/valid/test), ``"fold"`` (integer folds) or ``None``
            (cross-validation is left to the user).
        parse: reads the real on-disk layout under a folder into the DataFrame.
        synthesize: writes the mini version into a folder, deterministically from a seed.
        fetch: gets the full version into a folder (download, or manual instructions).
        classes: class names in label-id order, for classification tasks.
        layout: a short sketch of the on-disk layout, for the docs.
    """

    name: str
    title: str
    task: str
    description: str
    full_size: str
    mini_size: str
    citation: str
    label_columns: tuple
    split_column: str | None
    parse: Callable[[Path], pd.DataFrame]
    synthesize: Callable[[Path, int], None]
    fetch: Callable[[Path], None]
    classes: tuple = field(default_factory=tuple)
    layout: str = ""


def class_index(labels, classes) -> np.ndarray:
    """Map class names to integer ids in the order of ``classes``.

    Args:
        labels: class names, one per clip.
        classes: all class names, in id order.

    Returns:
        int64 array of ids.

    Raises:
        DatasetError: a label is not among ``classes``.
    """
    lookup = {c: i for i, c in enumerate(classes)}
    unknown = sorted(set(labels) - set(lookup))
    if unknown:
        raise DatasetError(f"unknown class labels {unknown[:5]}; expected one of {list(classes)}")
    return np.array([lookup[x] for x in labels], dtype=np.int64)


def finish_frame(df: pd.DataFrame, spec: DatasetSpec, root: Path) -> pd.DataFrame:
    """Check a parsed DataFrame against the documented schema and attach its metadata.

    Every parser ends with this, so that both variants of a dataset have the same columns.

    Args:
        df: the parser's output.
        spec: the dataset's registry entry.
        root: the folder it was read from.

    Returns:
        The DataFrame with the schema's columns first (common, labels, split), sorted by
        ``clip_id`` (a stable order), with a fresh index and
        ``df.attrs`` holding ``name``, ``task``, ``root``, ``classes`` (or ``tags``).

    Raises:
        DatasetError: a column is missing or the dataset is empty.
    """
    if "offset" not in df:
        df["offset"] = 0.0
    if "duration" not in df:
        df["duration"] = np.nan
    missing = [c for c in (*COMMON_COLUMNS, *spec.label_columns) if c not in df.columns]
    if spec.split_column and spec.split_column not in df.columns:
        missing.append(spec.split_column)
    if missing:
        raise DatasetError(f"{spec.name} in {root}: parsed table lacks columns {missing}")
    if len(df) == 0:
        raise DatasetError(f"{spec.name} in {root}: no clips found; is the folder complete? Try `course-utils data info {spec.name}`")
    first = [*COMMON_COLUMNS, *spec.label_columns] + ([spec.split_column] if spec.split_column else [])
    df = df[first + [c for c in df.columns if c not in first]]
    df = df.sort_values(["clip_id", "offset"], kind="stable").reset_index(drop=True)
    df.attrs.update(name=spec.name, task=spec.task, root=str(root))
    if spec.classes:
        df.attrs["classes"] = list(spec.classes)
    elif spec.task == "tagging":
        df.attrs["tags"] = list(spec.label_columns)
    return df


def require_folder(root: Path, what: str, name: str) -> Path:
    """Return ``root / what`` or raise a :class:`DatasetError` that says how to get it.

    Args:
        root: the dataset folder.
        what: a sub-path the layout must have.
        name: the dataset's registry name (for the message).

    Returns:
        The path.
    """
    path = Path(root) / what
    if not path.exists():
        raise DatasetError(
            f"{name}: {path} not found. The dataset is missing or incomplete: run "
            f"`course-utils data download {name}` for the full data, or use variant='mini'"
        )
    return path


def fetch_archive(root: Path, key: str, limits=None) -> Path:
    """Download a dataset's archive (checksummed, resumable, first working mirror) and unpack it.

    Args:
        root: the dataset folder to unpack into.
        key: its record in :data:`course_utils.fetch.remote.REMOTE` (one archive), kept under
            ``data/downloads/``.
        limits: the most members and bytes the archive may expand to
            (:class:`course_utils.fetch.guards.ArchiveLimits`, from the dataset's size).

    Returns:
        ``root``.
    """
    from course_utils.fetch import archives, remote

    files = remote.get(key)
    (record,) = files.files
    return archives.extract(files.download(record.name), Path(root), limits=limits)
