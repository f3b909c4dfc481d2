"""UrbanSound8K (Salamon, Jacoby and Bello, 2014): 8,732 urban sound excerpts in 10 classes.

Excerpts of at most 4 s cut from Freesound recordings, in 10 predefined folds (all excerpts of one
recording are in the same fold, so the folds must be used as given). On disk:

- ``UrbanSound8K/metadata/UrbanSound8K.csv``: ``slice_file_name, fsID, start, end, salience,
  fold, classID, class``;
- ``UrbanSound8K/audio/fold<k>/<fsID>-<classID>-<occurrence>-<slice>.wav``.

The mini version (:func:`synthesize`) renders the ten classes with :mod:`course_utils.synth`,
as foreground (salience 1) or background (salience 2, over street noise) sounds.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from course_utils.audio.io import write_audio
from course_utils.core import files
from course_utils.core.errors import DatasetError
from course_utils.datasets import minigen
from course_utils.datasets.base import class_index, DatasetSpec, fetch_archive, finish_frame, require_folder
from course_utils.fetch.guards import ArchiveLimits

CLASSES = ("air_conditioner", "car_horn", "children_playing", "dog_bark", "drilling", "engine_idling",
           "gun_shot", "jackhammer", "siren", "street_music")
COLUMNS = ("slice_file_name", "fsID", "start", "end", "salience", "fold", "classID", "class")
FULL_COUNTS = (1000, 429, 1000, 1000, 1000, 1000, 374, 1000, 929, 1000)
SR = 22050
MINI_TOTAL = 200
MINI_MAX_SECONDS = 4.0


def parse(root: Path) -> pd.DataFrame:
    """Read UrbanSound8K (real or mini).

    Args:
        root: folder holding ``UrbanSound8K/``.

    Returns:
        One row per excerpt: ``clip_id`` (file stem), ``path``, ``offset``, ``duration``,
        ``label`` (class), ``label_id`` (classID), ``fold`` (1..10), ``salience``.
    """
    root = Path(root)
    meta_path = require_folder(root, "UrbanSound8K/metadata/UrbanSound8K.csv", "urbansound8k")
    meta = pd.read_csv(meta_path)
    missing = [c for c in COLUMNS if c not in meta.columns]
    if missing:
        raise DatasetError(f"{meta_path}: columns {missing} missing; is it UrbanSound8K's metadata file?")
    audio = root / "UrbanSound8K" / "audio"
    df = pd.DataFrame({
        "clip_id": meta["slice_file_name"].str.rsplit(".", n=1).str[0],
        "path": [str(audio / f"fold{f}" / n) for f, n in zip(meta["fold"], meta["slice_file_name"])],
        "label": meta["class"], "fold": meta["fold"].astype(int), "salience": meta["salience"].astype(int),
    })
    df["label_id"] = class_index(df["label"], CLASSES)
    if (df["label_id"] != meta["classID"].to_numpy()).any():
        raise DatasetError(f"{meta_path}: classID and class columns disagree")
    return finish_frame(df, SPEC, root)


#: What the archive may expand to (8,732 WAV excerpts, their folders and metadata, about 6.6 GB), with
#: room to spare (members doubled for the "._" files of archives made on a Mac).
LIMITS = ArchiveLimits(max_members=20_000, max_bytes=8 << 30)


def fetch(root: Path) -> None:
    """Download and unpack UrbanSound8K (5.6 GB) into ``root``.

    Args:
        root: the target folder; ends with ``UrbanSound8K/``.
    """
    fetch_archive(root, "urbansound8k", LIMITS)


def render_clip(path: str, cls: str, salience: int, duration: float, seed: int, index: int) -> None:
    """Render and write one mini UrbanSound8K excerpt.

    Args:
        path: the WAV to write.
        cls: one of :data:`CLASSES`.
        salience: 1 foreground, 2 background (quieter, over street noise).
        duration: seconds.
        seed: the dataset's seed.
        index: the excerpt's index.
    """
    from course_utils import synth

    rng = minigen.clip_rng(seed, index, salt=7)
    y = synth.urban_sound(cls, duration, SR, rng)
    level = float(rng.uniform(-30, -14))
    snr = float(rng.uniform(15, 30)) if salience == 1 else float(rng.uniform(0, 10))
    y = synth.add_noise(synth.set_loudness(y, level), snr, rng)
    write_audio(Path(path), synth.set_loudness(y, level), SR)


def synthesize(root: Path, seed: int = minigen.DEFAULT_SEED, *, progress: bool = True) -> None:
    """Write the mini UrbanSound8K: 200 excerpts of up to 4 s in 10 folds, real class imbalance.

    Excerpts of one synthetic "recording" (``fsID``) share a fold, as in the real dataset.

    Args:
        root: the folder to write into.
        seed: the random seed; the same seed gives the same bytes.
        progress: show a progress bar.
    """
    root = Path(root) / "UrbanSound8K"
    counts = minigen.split_counts(MINI_TOTAL, FULL_COUNTS, minimum=10)
    jobs, rows, index = [], [], 0
    for class_id, (cls, n) in enumerate(zip(CLASSES, counts)):
        rng = minigen.clip_rng(seed, class_id, salt=8)
        k = 0
        while k < n:
            fs_id = 100000 + 1000 * class_id + k
            fold = int(rng.integers(1, 11))
            salience = 1 if rng.random() < 0.6 else 2
            for occurrence in range(min(int(rng.integers(1, 4)), n - k)):
                index += 1
                duration = float(rng.uniform(0.8, 2.0)) if cls in ("gun_shot", "car_horn", "dog_bark") and rng.random() < 0.5 else MINI_MAX_SECONDS
                name = f"{fs_id}-{class_id}-{occurrence}-0.wav"
                start = float(rng.uniform(0, 30))
                rows.append(f"{name},{fs_id},{start:.6f},{start + duration:.6f},{salience},{fold},{class_id},{cls}")
                jobs.append({"path": str(root / "audio" / f"fold{fold}" / name), "cls": cls, "salience": salience,
                             "duration": duration, "seed": seed, "index": index})
                k += 1
    minigen.render_clips(render_clip, jobs, desc="urbansound8k mini", progress=progress)
    files.atomic_write_text(root / "metadata" / "UrbanSound8K.csv", ",".join(COLUMNS) + "\n" + "\n".join(rows) + "\n")


SPEC = DatasetSpec(
    name="urbansound8k",
    title="UrbanSound8K",
    task="classification",
    description=(
        "8,732 excerpts of at most 4 s of ten urban sound classes from Freesound recordings, "
        "in ten predefined folds; not music, which is what makes it a test of transfer."
    ),
    full_size="8,732 excerpts, up to 4 s, WAV, about 6 GB",
    mini_size=f"{MINI_TOTAL} synthetic excerpts of up to {MINI_MAX_SECONDS:.0f} s, 22,050 Hz WAV",
    citation="J. Salamon, C. Jacoby, J. P. Bello. A dataset and taxonomy for urban sound research. ACM Multimedia 2014.",
    label_columns=("label", "label_id"),
    split_column="fold",
    parse=parse,
    synthesize=synthesize,
    fetch=fetch,
    classes=CLASSES,
    layout="UrbanSound8K/metadata/UrbanSound8K.csv; UrbanSound8K/audio/fold<k>/<fsID>-<classID>-<occ>-<slice>.wav",
)
