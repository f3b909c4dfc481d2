"""Your own labelled audio as a course dataset table: a folder of class sub-folders, or a CSV.

Two layouts are read:

- **a folder of class sub-folders** (:func:`load_folder`), as GTZAN's ``genres/<label>/*.wav``::

      my_music/
          jazz/    take_five.mp3, so_what.flac, ...
          metal/   ...

  Each sub-folder is a class; its audio files (also in deeper folders) are its clips. Links
  are followed, except those that lead back inside the folder (their clips would count twice);
  hidden and temporary files and the course's own outputs (``.skops``, ``.joblib``) are never
  read. ``df.attrs["layout"]`` says how the folder was read (which folder's sub-folders are the
  classes), with a :class:`LayoutWarning` when a lone folder's sub-folders became the classes;
- **a table** (:func:`load_table`): a CSV file with ``path`` and ``label`` columns, paths
  relative to the CSV's folder (or absolute). One label per row is a classification task. For
  tagging, give several tags in one ``label`` cell separated by ``;`` (``rock;guitar;male``), or
  repeat the path on several rows with one tag each: both give a tagging table with one 0/1
  column per tag. Optional columns ``offset`` and ``duration`` (seconds) select part of a file;
  ``fold`` (whole numbers) or ``group`` (e.g. the artist, so that one artist's songs never
  straddle a training and a test part) are kept for cross-validation.

Both return the table every dataset of :mod:`course_utils.datasets` returns (``clip_id``,
``path``, ``offset``, ``duration``, the label columns), with ``df.attrs`` holding ``name``,
``task``, ``root``, ``classes`` (or ``tags``) and ``skipped``. Every file's header is read once:
files that cannot be read, or are in a format the decoder does not read, are skipped and named
(a :class:`SkippedFilesWarning` and ``df.attrs["skipped"]``); a class with fewer than two clips
(an empty class folder included, named with its dropped files) is refused, as is an empty or
missing folder. A table's exactly repeated rows are kept once (and named); a non-numeric,
negative or (for ``duration``) zero ``offset`` or ``duration`` is refused with its line numbers.
Bad parameters raise :class:`ParameterError` (a ``ValueError``) with the valid range. Notebook 06.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from course_utils import audio
from course_utils.core.errors import AudioError, AudioWarning, DatasetError

#: The layout :func:`load_folder` expects, for its error messages.
FOLDER_LAYOUT = ("one sub-folder per class holding that class's audio files, e.g. "
                 "my_music/jazz/take_five.mp3 and my_music/metal/one.wav (GTZAN's genres/<label>/*.wav)")
#: The layout :func:`load_table` expects, for its error messages.
TABLE_LAYOUT = ("a CSV file with the columns path,label (one row per clip; for tagging, tags separated by ';' "
                "or one row per tag), paths relative to the CSV's folder")
#: Separator of several tags in one ``label`` cell.
TAG_SEPARATOR = ";"
#: Audio formats that are common but that the decoder (libsndfile) does not read.
UNREADABLE_AUDIO = (".m4a", ".aac", ".mp4", ".wma", ".ape", ".alac", ".webm", ".mka", ".ac3", ".amr", ".mid", ".midi")
#: Columns of a table that cannot be tag names.
_RESERVED = ("clip_id", "path", "offset", "duration", "label", "label_id", "fold", "group")
#: The smallest number of clips a class (or tag) must have: one to train on and one to test.
MIN_CLIPS = 2


class SkippedFilesWarning(AudioWarning):
    """Some files of a folder or table were not read; the message names each with its reason."""


class LayoutWarning(AudioWarning):
    """The folder's layout was read in a way the user may not mean (its only folder's sub-folders as classes)."""


#: Files the course writes (saved classifiers, their descriptions), never read as data or layout.
_COURSE_OUTPUTS = (".skops", ".joblib", ".joblib.json")


def _ignored(path: Path) -> bool:
    """Hidden files and folders, temporary files, and the course's own outputs."""
    name = path.name
    return name.startswith(".") or name.lower().endswith(_COURSE_OUTPUTS)


def _inside(target: Path, folder: Path) -> bool:
    return target == folder or folder in target.parents


def _walk(folder: Path, top: Path, skipped: list, seen: set):
    """The files under ``folder`` in name order, following links except those that lead back
    inside ``top`` (named in ``skipped``: their clips would count twice) or loop."""
    try:
        entries = sorted(folder.iterdir(), key=lambda p: os.fsencode(p.name))
    except OSError as exc:
        skipped.append(f"{folder}: cannot be listed ({exc.strerror or exc})")
        return
    for entry in entries:
        if _ignored(entry):
            continue
        if entry.is_symlink():
            try:
                target = entry.resolve(strict=True)
            except (OSError, RuntimeError):
                skipped.append(f"{entry}: a broken or looping link, ignored")
                continue
            if _inside(target, top):
                skipped.append(f"{entry}: a link back inside {top}, ignored (its clips would count twice)")
                continue
        if entry.is_dir():
            real = entry.resolve()
            if real in seen:
                skipped.append(f"{entry}: a folder already read (through a link), ignored")
                continue
            seen.add(real)
            yield from _walk(entry, top, skipped, seen)
        elif entry.is_file():
            yield entry


def inspect_file(path) -> tuple[str | None, float]:
    """Whether an audio file can be a clip, from its header (nothing is decoded).

    Args:
        path: the file.

    Returns:
        ``(problem, duration)``: why it cannot be used (``None`` when its header reads) and its
        duration in seconds (NaN when it cannot be used).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in UNREADABLE_AUDIO:
        return (f"{suffix} audio is a format the decoder cannot read; convert it, e.g. "
                f"ffmpeg -i '{path.name}' '{path.stem}.wav'"), np.nan
    if suffix not in audio.SUPPORTED_EXTENSIONS:
        return f"not an audio file the decoder reads ('{suffix or 'no extension'}')", np.nan
    try:
        info = audio.audio_info(path)
    except AudioError as exc:
        return exc.problem + (f" ({exc.hint})" if exc.hint else ""), np.nan
    if info["frames"] == 0:
        return "holds no audio (0 samples)", np.nan
    return None, info["duration"]


def _skip_report(skipped: list[str], where: Path) -> None:
    """Warn once, naming every skipped file and its reason."""
    if skipped:
        lines = "\n  ".join(skipped[:50]) + (f"\n  ... and {len(skipped) - 50} more" if len(skipped) > 50 else "")
        warnings.warn(f"{where}: {len(skipped)} file(s) skipped:\n  {lines}", SkippedFilesWarning, stacklevel=3)


def _class_root(root: Path) -> Path:
    """The folder whose sub-folders are the classes: ``root``, or its only sub-folder when ``root``
    holds nothing else (``gtzan/genres/<label>/``; hidden files and the course's outputs do not count)."""
    entries = [p for p in root.iterdir() if not _ignored(p)]
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        inner = [p for p in entries[0].iterdir() if not _ignored(p)]
        if inner and all(p.is_dir() for p in inner) and len(inner) >= 2:
            return entries[0]
    return root


def load_folder(root, *, min_clips: int = MIN_CLIPS) -> pd.DataFrame:
    """Read a folder of class sub-folders into a classification table.

    Args:
        root: the folder; each sub-folder is a class (its name is the label) and every audio file
            under it (also in deeper folders) is one clip. Files and folders starting with a dot
            are ignored; other files the decoder cannot read are skipped and named.
        min_clips: the fewest readable clips a class must have.

    Returns:
        A table with ``clip_id`` (the path under ``root``), ``path`` (absolute), ``offset`` (0),
        ``duration`` (seconds, from the header), ``label`` and ``label_id`` (index in the sorted
        class names), sorted by ``clip_id``; ``df.attrs``: ``name`` (the folder's name), ``task``
        (``"classification"``), ``root``, ``classes`` and ``skipped`` (``"path: reason"`` lines).

    Raises:
        DatasetError: the folder is missing, is a file, or holds no class sub-folders or no audio
            (the message shows the expected layout); a class has fewer than ``min_clips``
            readable clips; fewer than two classes.
    """
    root = Path(root).expanduser()
    if not root.exists():
        raise DatasetError(f"{root}: folder not found; expected {FOLDER_LAYOUT}")
    if not root.is_dir():
        hint = " (for a CSV table use load_table)" if root.suffix.lower() == ".csv" else ""
        raise DatasetError(f"{root}: is a file, not a folder{hint}; expected {FOLDER_LAYOUT}")
    base = _class_root(root)
    top = root.resolve()
    skipped: list[str] = []
    classes = []
    for p in sorted(base.iterdir(), key=lambda p: os.fsencode(p.name)):
        if _ignored(p) or not p.is_dir():
            continue
        if p.is_symlink() and _inside(p.resolve(), top):
            skipped.append(f"{p}: a link back inside {top}, ignored (its clips would count twice)")
            continue
        classes.append(p.name)
    classes.sort()
    loose = sorted(p.name for p in base.iterdir() if p.is_file() and p.suffix.lower() in audio.SUPPORTED_EXTENSIONS)
    if not classes:
        if loose:
            found = f"; it holds {len(loose)} audio file(s) but no sub-folders: move them into one folder per class"
        else:
            found = " (it holds other files only)" if any(base.iterdir()) else " (it is empty)"
        raise DatasetError(f"{base}: no class sub-folders{found}; expected {FOLDER_LAYOUT}")
    rows = []
    skipped += [f"{base / name}: audio outside a class folder, ignored" for name in loose]
    deeper = {}
    for label in classes:
        seen = {(base / label).resolve()}
        for path in _walk(base / label, top, skipped, seen):
            if path.parent != base / label:
                deeper.setdefault(label, set()).add(path.relative_to(base / label).parts[0])
            problem, seconds = inspect_file(path)
            if problem:
                skipped.append(f"{path}: {problem}")
                continue
            rows.append({"clip_id": path.relative_to(base).as_posix(), "path": str(path.resolve()), "offset": 0.0,
                         "duration": seconds, "label": label})
    if not rows:
        raise DatasetError(f"{base}: no readable audio in its sub-folders {classes[:10]}; expected {FOLDER_LAYOUT}"
                           + (f". Skipped: {'; '.join(skipped[:5])}" if skipped else ""))
    df = pd.DataFrame(rows)
    layout = _describe_layout(root, base, classes, deeper)
    _skip_report(skipped, base)
    _refuse_small_classes(df["label"], min_clips, f"{base}/<class>", skipped, classes=classes)
    out = _finish(df, name=root.name, root=base, skipped=skipped)
    out.attrs["layout"] = layout
    return out


def _describe_layout(root: Path, base: Path, classes: list, deeper: dict) -> str:
    """One line saying how the folder was read (which folder's sub-folders are the classes, and
    which classes hold deeper folders); warns when the only folder of ``root`` was descended into."""
    names = ", ".join(classes[:12]) + (f", ... ({len(classes)})" if len(classes) > 12 else "")
    text = f"classes: the sub-folders of {base} ({names})"
    if deeper:
        text += "; clips in deeper folders belong to their class (" + "; ".join(
            f"{c}: {', '.join(sorted(d)[:5])}" for c, d in sorted(deeper.items())) + "), with no groups (for groups, " \
            "e.g. albums, give a CSV with a group column)"
    if base != root:
        text += f"; {root} holds only the folder {base.name}, so its sub-folders are the classes"
    if base != root and base.name.lower() != "genres":  # GTZAN's genres/<label>/ is the documented case
        warnings.warn(f"{root} holds only the folder '{base.name}': its sub-folders ({names}) are read as the classes. "
                      f"If '{base.name}' is itself a class, put each other class's folder beside it in {root}",
                      LayoutWarning, stacklevel=3)
    return text


def _refuse_small_classes(labels: pd.Series, min_clips: int, where: str, skipped=(), classes=()) -> None:
    """Raise when a class (also one with no clip at all, from ``classes``) has fewer than
    ``min_clips`` clips (naming it, where it is, and its skipped files), or when there are fewer
    than two classes."""
    counts = labels.value_counts().reindex(sorted(set(labels) | set(classes)), fill_value=0)
    small = counts[counts < min_clips].sort_index()
    if len(small):
        parts = []
        for c, n in small.items():
            folder = where.replace("<class>", str(c))
            lost = [line for line in skipped if line.startswith(folder + os.sep) or line.startswith(folder + "/")]
            parts.append(f"'{c}' ({n} clip{'s' if n != 1 else ''}, in {folder}"
                         + (f"; {len(lost)} more skipped: {'; '.join(lost[:3])})" if lost else ")"))
        raise DatasetError(f"class {', '.join(parts)} has fewer than {min_clips} readable clips: a classifier needs at "
                           f"least {min_clips} per class to be trained and tested; add clips or remove the class")
    if len(counts) < 2:
        raise DatasetError(f"{where.replace('/<class>', '')}: only one class ({counts.index[0]!r}); a classifier needs "
                           "at least two")


def _finish(df: pd.DataFrame, *, name: str, root: Path, skipped: list[str], tags=None) -> pd.DataFrame:
    """Order the columns as the dataset tables do, add durations and ``label_id``, attach attrs."""
    df = df.sort_values(["clip_id", "offset"], kind="stable").reset_index(drop=True)
    first = ["clip_id", "path", "offset", "duration"]
    if tags is None:
        classes = sorted(df["label"].unique())
        df["label_id"] = df["label"].map({c: i for i, c in enumerate(classes)}).astype(np.int64)
        first += ["label", "label_id"]
    else:
        first += ["label", *tags]
    extra = [c for c in ("fold", "group") if c in df.columns]
    df = df[first + extra + [c for c in df.columns if c not in first + extra]]
    df.attrs.update(name=name, task="classification" if tags is None else "tagging", root=str(root),
                    skipped=list(skipped))
    if tags is None:
        df.attrs["classes"] = classes
    else:
        df.attrs["tags"] = list(tags)
    return df


def load_table(csv, *, min_clips: int = MIN_CLIPS, separator: str = TAG_SEPARATOR) -> pd.DataFrame:
    """Read a CSV table of audio paths and labels into a classification or tagging table.

    Args:
        csv: a CSV file with a ``path`` and a ``label`` column (optional: ``clip_id``,
            ``offset``, ``duration``, ``fold``, ``group``). Relative paths are read from the CSV's
            folder. A ``label`` cell with ``separator`` in it, or a path on several rows, makes a
            tagging table.
        min_clips: the fewest readable clips a class (or tag) must have.
        separator: what separates several tags in one ``label`` cell.

    Returns:
        Classification: as :func:`load_folder`. Tagging: one row per clip, ``label`` holding its
        tags joined by ``separator`` (sorted) and one 0/1 column per tag (``df.attrs["tags"]``,
        sorted). Rows whose file cannot be read are skipped and named (``df.attrs["skipped"]``).

    Raises:
        DatasetError: the file is missing or not a table with those columns, a label is empty, a
            tag is named like a column, a class or tag has fewer than ``min_clips`` clips, or no
            row is readable.
    """
    csv = Path(csv).expanduser()
    if not csv.is_file():
        what = "is a folder (for class sub-folders use load_folder)" if csv.is_dir() else "not found"
        raise DatasetError(f"{csv}: {what}; expected {TABLE_LAYOUT}")
    try:
        raw = pd.read_csv(csv, dtype={"path": str, "label": str, "clip_id": str, "group": str}, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{csv}: not a readable CSV table ({exc}); expected {TABLE_LAYOUT}") from None
    missing = [c for c in ("path", "label") if c not in raw.columns]
    if missing:
        raise DatasetError(f"{csv}: no {' and no '.join(missing)} column (it has {list(raw.columns)}); expected {TABLE_LAYOUT}")
    if raw.empty:
        raise DatasetError(f"{csv}: no rows; expected {TABLE_LAYOUT}")
    empty = raw.index[raw["label"].isna() | raw["path"].isna()]
    if len(empty):
        raise DatasetError(f"{csv}: row(s) {[int(i) + 2 for i in empty[:10]]} (line numbers) have no path or no label")
    raw["label"] = raw["label"].str.strip()
    for column in ("offset", "duration"):
        if column in raw.columns:
            raw[column] = _seconds_column(raw[column], column, csv)
    rows, skipped, problems = [], [], {}
    for record in raw.to_dict("records"):
        path = Path(record["path"]).expanduser()
        path = path if path.is_absolute() else csv.parent / path
        if path not in problems:
            problems[path] = inspect_file(path)
        problem, seconds = problems[path]
        if problem:
            skipped.append(f"{path}: {problem}")
            continue
        record["path"] = str(path.resolve())
        record["offset"] = float(record.get("offset", 0.0) if pd.notna(record.get("offset", 0.0)) else 0.0)
        if pd.isna(record.get("duration", np.nan)):
            record["duration"] = max(seconds - record["offset"], 0.0)
        record.setdefault("clip_id", None)
        if record["clip_id"] is None or (isinstance(record["clip_id"], float) and np.isnan(record["clip_id"])):
            record["clip_id"] = os.path.relpath(path, csv.parent).replace(os.sep, "/")
        rows.append(record)
    skipped = list(dict.fromkeys(skipped))
    if not rows:
        raise DatasetError(f"{csv}: none of its {len(raw)} rows names a readable audio file. Skipped: "
                           + "; ".join(skipped[:5]))
    df = pd.DataFrame(rows)
    key = ["clip_id", "offset"]
    repeated = df.duplicated([*key, "label"])
    if repeated.any():  # the same clip with the same label twice: one clip, not a tagging table
        skipped += [f"{csv}: row for {cid} (label {lab!r}) repeated, kept once"
                    for cid, lab in zip(df.loc[repeated, "clip_id"], df.loc[repeated, "label"])]
        df = df[~repeated].reset_index(drop=True)
    multi = df["label"].str.contains(separator, regex=False).any() or df.duplicated(key).any()
    _skip_report(skipped, csv)  # before any refusal, so that the files behind a small class are named
    if not multi:
        _refuse_small_classes(df["label"], min_clips, f"{csv} (label <class>)")
        out = _finish(df, name=csv.stem, root=csv.parent, skipped=skipped)
    else:
        out = _tagging_table(df, key, csv, min_clips, separator, skipped)
    out.attrs["layout"] = _describe_table(csv, out)
    return out


def _describe_table(csv: Path, df: pd.DataFrame) -> str:
    """One line saying how a table was read: the task, and its folds or groups."""
    what = (f"{len(df.attrs['classes'])} classes from its label column" if df.attrs["task"] == "classification"
            else f"tagging, {len(df.attrs['tags'])} tags")
    parts = [f"the table {csv.name}: {len(df)} clips, {what}"]
    if "fold" in df.columns:
        parts.append(f"outer folds from its fold column ({df['fold'].nunique()} values)")
    if "group" in df.columns:
        parts.append(f"groups from its group column ({df['group'].nunique()} groups, never split)")
    if "fold" not in df.columns and "group" not in df.columns:
        parts.append("no folds or groups (clips split at random, stratified)")
    return "; ".join(parts)


def _seconds_column(values: pd.Series, column: str, csv: Path) -> pd.Series:
    """``offset`` or ``duration`` as seconds (empty cells stay NaN), or a :class:`DatasetError`
    naming the lines with text, negative values or (for ``duration``) zero."""
    numbers = pd.to_numeric(values, errors="coerce")
    text = values.notna() & numbers.isna()
    low = numbers < 0 if column == "offset" else numbers <= 0
    bad = values.index[text | low.fillna(False)]
    if len(bad):
        shown = ", ".join(f"line {int(i) + 2} ({values[i]!r})" for i in bad[:5])
        need = "a number of seconds, 0 or more" if column == "offset" else "a number of seconds above 0"
        raise DatasetError(f"{csv}: column {column}: {shown}: give {need} (or leave the cell empty)")
    return numbers.astype(float)


def _tagging_table(df: pd.DataFrame, key: list, csv: Path, min_clips: int, separator: str, skipped) -> pd.DataFrame:
    """One row per clip with one 0/1 column per tag, from ``;``-separated cells or repeated rows."""
    df = df.assign(label=df["label"].str.split(separator)).explode("label")
    df["label"] = df["label"].str.strip()
    df = df[df["label"] != ""]
    tags = sorted(df["label"].unique())
    clash = [t for t in tags if t in _RESERVED or t in df.columns]
    if clash:
        raise DatasetError(f"{csv}: tag(s) {clash} have the name of a column; rename them")
    counts = df.drop_duplicates([*key, "label"])["label"].value_counts()
    small = counts[counts < min_clips].sort_index()
    if len(small):
        raise DatasetError(f"{csv}: tag(s) {', '.join(f'{t!r} ({n} clip)' for t, n in small.items())} have fewer than "
                           f"{min_clips} clips; add clips or remove the tag")
    onehot = pd.crosstab([df[k] for k in key], df["label"]).clip(upper=1).astype(np.int8)
    first = df.drop(columns="label").drop_duplicates(key).set_index(key)
    out = first.join(onehot).reset_index()
    out["label"] = [separator.join(t for t in tags if row[t]) for _, row in out[tags].iterrows()]
    return _finish(out, name=csv.stem, root=csv.parent, skipped=skipped, tags=tags)


def class_counts(table: pd.DataFrame) -> pd.Series:
    """Clips per class (classification) or per tag (tagging) of a table, in name order.

    Args:
        table: a table of :func:`load_folder`, :func:`load_table` or
            :func:`course_utils.datasets.load_dataset`.

    Returns:
        A Series of counts indexed by class or tag name.
    """
    if table.attrs.get("task") == "tagging":
        return table[table.attrs["tags"]].sum().astype(int).sort_index()
    return table["label"].value_counts().sort_index()


def arrange_folder(table: pd.DataFrame, dest, *, per_class: int | None = None, link: bool = True) -> Path:
    """Arrange a dataset table's clips as a folder of class sub-folders, the layout of
    :func:`load_folder` (how a learner would sort their own music).

    Args:
        table: a classification table with ``path`` and ``label`` columns.
        dest: the folder to fill (created; it must not already hold class folders of other clips).
        per_class: keep the first ``per_class`` clips of each class (in table order); ``None``: all.
        link: make symbolic links to the files (no copies); where links cannot be made (some
            Windows setups), copy.

    Returns:
        ``dest``.
    """
    dest = Path(dest)
    chosen = table.groupby("label", sort=True).head(per_class) if per_class else table
    for path, label in zip(chosen["path"], chosen["label"]):
        target = dest / str(label) / Path(path).name
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() or target.is_symlink():
            continue
        try:
            if not link:
                raise OSError("copy asked for")
            target.symlink_to(Path(path).resolve())
        except OSError:
            shutil.copy2(path, target)
    return dest


__all__ = ["load_folder", "load_table", "class_counts", "arrange_folder", "SkippedFilesWarning", "LayoutWarning",
           "FOLDER_LAYOUT", "TABLE_LAYOUT", "MIN_CLIPS"]
