"""Extended Ballroom (Marchand and Peeters, 2016): 4,180 clips of 13 ballroom dance styles.

On disk: ``<Style>/<id>.mp3``, one folder per style (``Chacha``, ``Foxtrot``, ``Jive``,
``Pasodoble``, ``Quickstep``, ``Rumba``, ``Salsa``, ``Samba``, ``Slowwaltz``, ``Tango``,
``Viennesewaltz``, ``Waltz``, ``Wcswing``), 30 s previews from ballroomdancers.com. The classes are
very unequal (Wcswing 23 clips, Waltz 529). The task is about rhythm and tempo, which is why
MFCCs (timbre) do badly on it. No official split: the paper uses 10-fold cross-validation.

The mini version (:func:`synthesize`) renders each style's meter, tempo range and rhythm pattern
with :mod:`course_utils.synth`, with the real class imbalance scaled down.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from course_utils.audio.io import write_audio
from course_utils.datasets import minigen
from course_utils.datasets.base import class_index, DatasetSpec, finish_frame, require_folder
from course_utils.fetch import download

STYLES = ("Chacha", "Foxtrot", "Jive", "Pasodoble", "Quickstep", "Rumba", "Salsa", "Samba", "Slowwaltz",
          "Tango", "Viennesewaltz", "Waltz", "Wcswing")
#: Clips per style in the real dataset (from the authors' label file).
FULL_COUNTS = dict(zip(STYLES, (455, 507, 350, 53, 497, 470, 47, 468, 65, 464, 252, 529, 23)))
#: The drum pattern of :mod:`course_utils.synth` that each style is rendered with.
SYNTH_STYLE = {"Chacha": "chacha", "Foxtrot": "foxtrot", "Jive": "jive", "Pasodoble": "pasodoble",
               "Quickstep": "quickstep", "Rumba": "rumba", "Salsa": "salsa", "Samba": "samba",
               "Slowwaltz": "slow_waltz", "Tango": "tango", "Viennesewaltz": "viennese_waltz",
               "Waltz": "slow_waltz", "Wcswing": "wcswing"}
SR = 22050
MINI_SECONDS = 8.0
MINI_TOTAL = 260


def parse(root: Path) -> pd.DataFrame:
    """Read Extended Ballroom (real or mini).

    Args:
        root: folder holding one sub-folder per style.

    Returns:
        One row per clip: ``clip_id``, ``path``, ``offset``, ``duration``, ``label`` (style
        folder name), ``label_id`` (index in :data:`STYLES`).
    """
    root = Path(root)
    require_folder(root, STYLES[0], "ballroom_extended")
    files = sorted(p for s in STYLES for p in (root / s).glob("*.mp3"))
    df = pd.DataFrame({"clip_id": [p.stem for p in files], "path": [str(p) for p in files],
                       "label": [p.parent.name for p in files]})
    df["label_id"] = class_index(df["label"], STYLES)
    return finish_frame(df, SPEC, root)


INSTRUCTIONS = """\
Extended Ballroom is distributed by its authors, not as one archive with a stable address:
  1. Open http://anasynth.ircam.fr/home/media/ExtendedBallroom and download the audio
     (the per-style zip files, or the whole 'extendedballroom_v1.1' set).
  2. Unpack them so that each style is a folder of MP3s directly inside:
       {folder}/Chacha/100701.mp3, {folder}/Foxtrot/..., ... {folder}/Wcswing/...
  3. Run `course-utils data info ballroom_extended` to check the layout."""


def fetch(root: Path) -> None:
    """Check that the user placed Extended Ballroom in ``root``; otherwise explain how.

    Args:
        root: the folder where the style folders must be.
    """
    root = Path(root)
    download.require_manual_files("ballroom_extended", root, {s: None for s in STYLES},
                                  INSTRUCTIONS.format(folder=root))


def render_clip(path: str, style: str, seed: int, index: int) -> None:
    """Render and write one mini Extended Ballroom clip of a style.

    Args:
        path: the MP3 to write.
        style: one of :data:`STYLES`.
        seed: the dataset's seed.
        index: the clip's index.
    """
    from course_utils import synth

    rng = minigen.clip_rng(seed, index, salt=4)
    pattern = SYNTH_STYLE[style]
    low, high = synth.TYPICAL_TEMPO[pattern]
    if style == "Waltz":  # the slow (English) waltz: same pattern, the ballroom tempo
        low, high = 84, 90
    instruments = [("piano", "bass"), ("strings", "bass"), ("guitar", "bass"), ("organ", "bass"), ("synth", "bass")]
    loud = float(rng.uniform(-24, -14))
    y = synth.render_piece(
        SR, MINI_SECONDS, rng, instruments=instruments[rng.integers(len(instruments))],
        tempo_bpm=float(rng.uniform(low - 4, high + 4)), mode=str(rng.choice(["major", "minor"])),
        tonic_midi=int(rng.integers(50, 62)), drums=pattern, voice=None if rng.random() < 0.7 else str(rng.choice(["male", "female"])),
        loudness_db=loud, noise_db=loud - float(rng.uniform(25, 40)),
    )
    write_audio(Path(path), y, SR)


def synthesize(root: Path, seed: int = minigen.DEFAULT_SEED, *, progress: bool = True) -> None:
    """Write the mini Extended Ballroom: 260 clips of 8 s, the real class imbalance scaled down.

    Every style keeps at least 10 clips, so that 10-fold stratified cross-validation works.

    Args:
        root: the folder to write into.
        seed: the random seed; the same seed gives the same bytes.
        progress: show a progress bar.
    """
    counts = minigen.split_counts(MINI_TOTAL, [FULL_COUNTS[s] for s in STYLES], minimum=10)
    jobs = []
    for si, (style, n) in enumerate(zip(STYLES, counts)):
        for k in range(n):
            clip_id = 200000 + si * 1000 + k
            jobs.append({"path": str(Path(root) / style / f"{clip_id}.mp3"), "style": style, "seed": seed, "index": clip_id})
    minigen.render_clips(render_clip, jobs, desc="ballroom_extended mini", progress=progress)


SPEC = DatasetSpec(
    name="ballroom_extended",
    title="Extended Ballroom",
    task="classification",
    description=(
        "4,180 30-second previews of ballroom dance music in 13 styles, from ballroomdancers.com. "
        "Style is a matter of rhythm and tempo, so timbre features such as MFCCs do poorly."
    ),
    full_size="4,180 clips of 30 s, MP3, about 1.6 GB",
    mini_size=f"{MINI_TOTAL} synthetic clips of {MINI_SECONDS:.0f} s, 22,050 Hz MP3",
    citation="U. Marchand, G. Peeters. The extended ballroom dataset. ISMIR 2016 late-breaking session.",
    label_columns=("label", "label_id"),
    split_column=None,
    parse=parse,
    synthesize=synthesize,
    fetch=fetch,
    classes=STYLES,
    layout="<Style>/<id>.mp3, 13 style folders",
)
