"""emoMusic, "1000 songs for emotional analysis of music" (Soleymani et al., 2013).

744 distinct 45-second excerpts (of 1,000, after removing duplicates) rated by crowd workers for
arousal (calm to excited) and valence (negative to positive) on a 1 to 9 scale. The transfer task
is regression of the static (whole-clip) mean ratings, scored by R².

On disk: ``clips_45seconds/<song_id>.mp3`` and ``annotations/static_annotations.csv`` with
columns ``song_id, mean_arousal, std_arousal, mean_valence, std_valence``.

The mini version (:func:`synthesize`) makes arousal follow tempo, loudness and rhythmic density,
and valence follow mode (major or minor) and tempo, plus rater noise, as music psychology finds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from course_utils.audio.io import write_audio
from course_utils.core import files
from course_utils.core.errors import DatasetError
from course_utils.datasets import minigen
from course_utils.datasets.base import DatasetSpec, finish_frame, require_folder
from course_utils.fetch import download

SR = 22050
MINI_SECONDS = 8.0
MINI_CLIPS = 200


def parse(root: Path) -> pd.DataFrame:
    """Read emoMusic (real or mini).

    Args:
        root: folder holding ``clips_45seconds/`` and ``annotations/static_annotations.csv``.

    Returns:
        One row per clip with audio: ``clip_id`` (song id), ``path``, ``offset``, ``duration``,
        ``arousal`` and ``valence`` (mean ratings, 1 to 9).
    """
    root = Path(root)
    ann_path = require_folder(root, "annotations/static_annotations.csv", "emomusic")
    ann = pd.read_csv(ann_path, skipinitialspace=True)
    ann.columns = [c.strip() for c in ann.columns]
    needed = {"song_id", "mean_arousal", "mean_valence"}
    if not needed <= set(ann.columns):
        raise DatasetError(f"{ann_path}: columns {sorted(needed - set(ann.columns))} missing; is it emoMusic's static_annotations.csv?")
    clips = require_folder(root, "clips_45seconds", "emomusic")
    paths = [clips / f"{int(s)}.mp3" for s in ann["song_id"]]
    df = pd.DataFrame({"clip_id": ann["song_id"].astype(int).to_numpy(), "path": [str(p) for p in paths],
                       "arousal": ann["mean_arousal"].astype(float).to_numpy(),
                       "valence": ann["mean_valence"].astype(float).to_numpy()})
    df = df[[p.is_file() for p in paths]].copy()
    return finish_frame(df, SPEC, root)


INSTRUCTIONS = """\
emoMusic is distributed by its authors after you accept its terms of use:
  1. Open https://cvml.unige.ch/databases/emoMusic/ and follow the download link
     (clips_45sec_mp3.zip and the annotations archive).
  2. Unpack them here so that you have
       {folder}/clips_45seconds/2.mp3 ... and
       {folder}/annotations/static_annotations.csv
  3. Run `course-utils data info emomusic` to check the layout."""


def fetch(root: Path) -> None:
    """Check that the user placed emoMusic in ``root``; otherwise explain how.

    Args:
        root: the folder where ``clips_45seconds/`` and ``annotations/`` must be.
    """
    root = Path(root)
    download.require_manual_files("emomusic", root, {"clips_45seconds": None, "annotations/static_annotations.csv": None},
                                  INSTRUCTIONS.format(folder=root))


def draw_parameters(rng: np.random.Generator) -> dict:
    """Draw the musical parameters of one mini clip and the ratings they cause.

    Args:
        rng: the clip's random generator.

    Returns:
        ``tempo``, ``loudness``, ``mode``, ``drums``, ``instruments``, ``arousal``, ``valence``
        (ratings on the 1..9 scale, with rater noise), ``std_arousal``, ``std_valence``.
    """
    tempo = float(rng.uniform(55, 170))
    loudness = float(rng.uniform(-34, -12))
    mode = "major" if rng.random() < 0.5 else "minor"
    drums = str(rng.choice(["none", "halftime", "rock", "four_on_floor"], p=[0.35, 0.2, 0.3, 0.15]))
    busy = {"none": 0.0, "halftime": 0.4, "rock": 0.7, "four_on_floor": 1.0}[drums]
    bright = ("synth", "guitar", "organ", "violin")
    mellow = ("piano", "strings", "flute", "harp", "cello")
    instruments = tuple(rng.choice(bright if rng.random() < 0.5 else mellow, size=2, replace=False).tolist())
    a = 5 + 1.5 * (tempo - 110) / 55 + 1.3 * (loudness + 23) / 11 + 0.8 * (busy - 0.5) + float(rng.normal(0, 0.55))
    v = 5 + 1.4 * (1 if mode == "major" else -1) + 0.5 * (tempo - 110) / 55 + 0.4 * (instruments[0] in mellow) + float(rng.normal(0, 0.75))
    return {"tempo": tempo, "loudness": loudness, "mode": mode, "drums": drums, "instruments": instruments,
            "arousal": float(np.clip(a, 1, 9)), "valence": float(np.clip(v, 1, 9)),
            "std_arousal": float(rng.uniform(0.8, 2.0)), "std_valence": float(rng.uniform(0.8, 2.0))}


def render_clip(path: str, seed: int, index: int) -> dict:
    """Render and write one mini emoMusic clip; return its ratings.

    Args:
        path: the MP3 to write.
        seed: the dataset's seed.
        index: the clip's index (its song id).

    Returns:
        ``{"arousal", "valence", "std_arousal", "std_valence"}``.
    """
    from course_utils import synth

    rng = minigen.clip_rng(seed, index, salt=5)
    p = draw_parameters(rng)
    y = synth.render_piece(SR, MINI_SECONDS, rng, instruments=p["instruments"], tempo_bpm=p["tempo"], mode=p["mode"],
                           tonic_midi=int(rng.integers(50, 62)), drums=p["drums"], loudness_db=p["loudness"],
                           noise_db=p["loudness"] - float(rng.uniform(25, 40)))
    write_audio(Path(path), y, SR)
    return {k: p[k] for k in ("arousal", "valence", "std_arousal", "std_valence")}


def synthesize(root: Path, seed: int = minigen.DEFAULT_SEED, *, progress: bool = True) -> None:
    """Write the mini emoMusic: 200 clips of 8 s and their static ratings.

    Args:
        root: the folder to write into.
        seed: the random seed; the same seed gives the same bytes.
        progress: show a progress bar.
    """
    root = Path(root)
    ids = list(range(2, 2 + MINI_CLIPS))
    jobs = [{"path": str(root / "clips_45seconds" / f"{i}.mp3"), "seed": seed, "index": i} for i in ids]
    ratings = minigen.render_clips(render_clip, jobs, desc="emomusic mini", progress=progress)
    lines = ["song_id,mean_arousal,std_arousal,mean_valence,std_valence"]
    lines += [f"{i},{r['arousal']:.2f},{r['std_arousal']:.2f},{r['valence']:.2f},{r['std_valence']:.2f}" for i, r in zip(ids, ratings)]
    files.atomic_write_text(root / "annotations" / "static_annotations.csv", "\n".join(lines) + "\n")


SPEC = DatasetSpec(
    name="emomusic",
    title="emoMusic (1000 songs for emotional analysis of music)",
    task="regression",
    description=(
        "744 distinct 45-second excerpts of Free Music Archive songs, rated by crowd workers for "
        "arousal and valence on a 1-9 scale; the transfer task regresses each separately (R²)."
    ),
    full_size="744 clips of 45 s, MP3, about 1 GB",
    mini_size=f"{MINI_CLIPS} synthetic clips of {MINI_SECONDS:.0f} s, 22,050 Hz MP3",
    citation="M. Soleymani, M. N. Caro, E. M. Schmidt, C.-Y. Sha, Y.-H. Yang. 1000 songs for emotional analysis of music. CrowdMM 2013.",
    label_columns=("arousal", "valence"),
    split_column=None,
    parse=parse,
    synthesize=synthesize,
    fetch=fetch,
    layout="clips_45seconds/<song_id>.mp3; annotations/static_annotations.csv",
)
