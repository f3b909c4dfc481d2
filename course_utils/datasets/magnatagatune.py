"""MagnaTagAtune (Law et al., 2009): 25,863 clips of 29.1 s with 188 crowd-sourced tags.

The source task of the compact convnet (notebook 02). On disk:

- ``annotations_final.csv``: tab-separated, every field in double quotes; columns ``clip_id``,
  the 188 tags (0/1), ``mp3_path`` (e.g. ``f/<artist>-<album>-<track>-<start>-<end>.mp3``);
- ``mp3/<d>/...mp3``: 16 kHz mono MP3s in 16 folders ``0``..``9``, ``a``..``f``.

The usual protocol keeps the 50 most frequent tags and splits by folder: ``0``..``b`` train,
``c`` validation, ``d``..``f`` test.

The mini version is written in that layout by :func:`synthesize`: short pieces rendered by
:mod:`course_utils.synth` from musical parameters (style, instruments, voice, tempo, loudness,
mode), tagged from those parameters the way MagnaTagAtune's annotators tag: the obvious tags
often, their synonyms less often (``female`` vs ``woman`` vs ``female vocal``), some true tags
not at all, and tag frequencies as unequal as the real ones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from course_utils.audio.io import write_audio
from course_utils.core.files import atomic_write_bytes, atomic_write_text
from course_utils.core.errors import DatasetError
from course_utils.datasets import minigen
from course_utils.datasets.base import DatasetSpec, finish_frame, require_folder
from course_utils.fetch import archives, download, remote
from course_utils.fetch.guards import ArchiveLimits

#: The 50 most frequent tags, most frequent first, spelled as in ``annotations_final.csv``.
TOP50_TAGS = (
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast",
    "piano", "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male",
    "singing", "vocals", "no vocals", "harpsichord", "loud", "quiet", "flute", "woman",
    "male vocal", "no vocal", "pop", "soft", "sitar", "solo", "man", "classic", "choir", "voice",
    "new age", "dance", "male voice", "female vocal", "beats", "harp", "cello", "no voice",
    "weird", "country", "female voice", "metal", "choral",
)

#: Folders of the usual split.
SPLIT_OF_FOLDER = {**{d: "train" for d in "0123456789ab"}, "c": "valid", "d": "test", "e": "test", "f": "test"}

#: Sample rate of MagnaTagAtune's MP3s, in Hz.
SR = 16000
#: Duration of a mini clip, in seconds.
MINI_CLIP_SECONDS = 8.0
#: Clips per folder in the mini version (16 folders).
MINI_CLIPS_PER_FOLDER = 80

_FOLDERS = "0123456789abcdef"


def split_of(mp3_path: str) -> str:
    """The split of a clip from its folder: ``0``..``b`` train, ``c`` valid, ``d``..``f`` test.

    Args:
        mp3_path: the ``mp3_path`` column, e.g. ``"c/artist-album-01-title-0-29.mp3"``.

    Returns:
        ``"train"``, ``"valid"`` or ``"test"``.
    """
    folder = mp3_path.split("/", 1)[0]
    if folder not in SPLIT_OF_FOLDER:
        raise DatasetError(f"magnatagatune: mp3_path {mp3_path!r} does not start with one of the 16 folders 0..f")
    return SPLIT_OF_FOLDER[folder]


def read_annotations(path) -> pd.DataFrame:
    """Read ``annotations_final.csv`` (tab-separated, quoted) as strings and integers.

    Args:
        path: the file.

    Returns:
        One row per clip: ``clip_id`` (str), one int column per tag, ``mp3_path`` (str).
    """
    path = Path(path)
    try:
        df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except Exception as exc:
        raise DatasetError(f"{path}: cannot be read as MagnaTagAtune annotations ({exc}); download it again") from None
    needed = ["clip_id", "mp3_path", *TOP50_TAGS]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise DatasetError(f"{path}: not MagnaTagAtune's annotations_final.csv, columns {missing[:5]} missing")
    tags = [c for c in df.columns if c not in ("clip_id", "mp3_path")]
    df[tags] = df[tags].apply(pd.to_numeric, errors="coerce").fillna(0).astype(np.int8)
    return df


def parse(root: Path) -> pd.DataFrame:
    """Read MagnaTagAtune (real or mini) from its on-disk layout.

    Clips whose MP3 is missing or empty (three such files ship in the real ``mp3.zip``) are
    dropped.

    Args:
        root: folder holding ``annotations_final.csv`` and ``mp3/``.

    Returns:
        One row per clip: ``clip_id``, ``path``, ``offset``, ``duration``, the 50 tag columns
        (int8 0/1, in :data:`TOP50_TAGS` order), ``split``. ``df.attrs["tags"]`` lists the tags.
    """
    root = Path(root)
    ann = read_annotations(require_folder(root, "annotations_final.csv", "magnatagatune"))
    audio_root = require_folder(root, "mp3", "magnatagatune")
    paths = [audio_root / p for p in ann["mp3_path"]]
    present = np.array([p.is_file() and p.stat().st_size > 0 for p in paths])
    df = pd.DataFrame({"clip_id": ann["clip_id"].to_numpy(), "path": [str(p) for p in paths]})
    df = pd.concat([df, ann[list(TOP50_TAGS)].reset_index(drop=True)], axis=1)
    df["split"] = [split_of(p) for p in ann["mp3_path"]]
    df = df[present].copy()
    df["clip_id"] = df["clip_id"].astype(int)
    return finish_frame(df, SPEC, root)  # adds offset 0, duration NaN and attrs["tags"]


# --------------------------------------------------------------------------------------------
# Full version: three split archives and the annotations (records of course_utils.fetch.remote).

#: What the joined mp3.zip may expand to (25,863 MP3s in 16 folders, about 3 GB), with room to spare
#: (members doubled for the "._" files of archives made on a Mac).
MP3_LIMITS = ArchiveLimits(max_members=60_000, max_bytes=4 << 30)


def fetch(root: Path) -> None:
    """Download and unpack the real MagnaTagAtune into ``root`` (about 3 GB).

    Args:
        root: the target folder; ends with ``annotations_final.csv`` and ``mp3/``.
    """
    root = Path(root)
    remote_files = remote.get("magnatagatune")
    files = {name: remote_files.download(name) for name in remote_files.checksums()}
    root.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(root / "annotations_final.csv", files["annotations_final.csv"].read_bytes())
    if not (root / "mp3").is_dir():
        archive = download.concatenate_parts([files[f"mp3.zip.00{i}"] for i in (1, 2, 3)], remote_files.dest() / "mp3.zip")
        archives.extract(archive, root / "mp3", limits=MP3_LIMITS)


# --------------------------------------------------------------------------------------------
# Mini version.

#: Musical styles of the mini version: relative frequency, instruments to draw from, drum
#: styles, tempo range (BPM), voice probability, loudness range (dBFS RMS), and style tags.
STYLES = {
    "classical": dict(weight=17, instruments=("strings", "violin", "cello", "piano", "harpsichord", "flute", "harp"),
                      drums=("none",), tempo=(60, 150), voice=0.0, loudness=(-34, -20), tags=("classical", "classic")),
    "techno": dict(weight=12, instruments=("synth", "bass"), drums=("four_on_floor",), tempo=(125, 145),
                   voice=0.05, loudness=(-20, -12), tags=("techno", "electronic", "dance", "beat", "beats")),
    "rock": dict(weight=10, instruments=("guitar", "bass"), drums=("rock",), tempo=(100, 160), voice=0.6,
                 loudness=(-20, -12), tags=("rock",)),
    "ambient": dict(weight=9, instruments=("synth", "organ", "strings"), drums=("none",), tempo=(60, 80), voice=0.0,
                    loudness=(-36, -26), tags=("ambient", "new age")),
    "indian": dict(weight=6, instruments=("sitar",), drums=("none", "halftime"), tempo=(70, 130), voice=0.25,
                   loudness=(-28, -18), tags=("indian",)),
    "opera": dict(weight=6, instruments=("strings", "piano"), drums=("none",), tempo=(60, 110), voice=1.0,
                  loudness=(-26, -16), tags=("opera", "classical")),
    "pop": dict(weight=5, instruments=("piano", "guitar", "synth"), drums=("rock", "halftime"), tempo=(95, 125),
                voice=0.9, loudness=(-22, -14), tags=("pop",)),
    "choral": dict(weight=4, instruments=("organ",), drums=("none",), tempo=(60, 90), voice=0.0,
                   loudness=(-30, -20), tags=("choral", "choir", "classical")),
    "country": dict(weight=3, instruments=("guitar", "violin"), drums=("foxtrot", "none"), tempo=(95, 130),
                    voice=0.8, loudness=(-24, -16), tags=("country",)),
    "metal": dict(weight=3, instruments=("electric_guitar", "bass"), drums=("metal",), tempo=(150, 190), voice=0.5,
                  loudness=(-14, -9), tags=("metal", "rock")),
}

#: How often an annotator writes a tag that applies (MagnaTagAtune's tags are incomplete).
#: Tags not listed use 0.8.
TAG_RECALL = {
    "classic": 0.35, "beats": 0.4, "dance": 0.6, "new age": 0.6, "electronic": 0.75,
    "vocal": 0.6, "vocals": 0.5, "singing": 0.55, "voice": 0.35,
    "woman": 0.5, "female vocal": 0.35, "female voice": 0.3,
    "man": 0.45, "male vocal": 0.45, "male voice": 0.35,
    "no vocals": 0.3, "no vocal": 0.25, "no voice": 0.15,
    "beat": 0.55, "drums": 0.75, "soft": 0.5, "quiet": 0.6, "solo": 0.6, "weird": 1.0,
}
#: Probability that an annotator writes a tag that does not apply.
FALSE_TAG_RATE = 0.004


def _tags_from_parameters(p: dict, rng: np.random.Generator) -> set:
    """The tags an annotator would give a piece rendered with parameters ``p``."""
    true = set(STYLES[p["style"]]["tags"])
    for inst in p["instruments"]:
        if inst in TOP50_TAGS:
            true.add(inst)
        if inst in ("violin", "cello"):
            true.add("strings")
    if p["drums"] != "none":
        true |= {"drums", "beat"}
    if "electric_guitar" in p["instruments"]:
        true.add("guitar")
    if len(p["instruments"]) == 1 and p["drums"] == "none" and not p["voice"] and not p["choir"]:
        true.add("solo")
    if p["voice"]:
        true |= {"vocal", "vocals", "singing", "voice"}
        if p["voice"] == "female":
            true |= {"female", "woman", "female vocal", "female voice"}
        else:
            true |= {"male", "man", "male vocal", "male voice"}
    elif p["choir"]:
        true |= {"choir", "choral", "vocals", "voice"}
    else:
        true |= {"no vocals", "no vocal", "no voice"}
    if p["tempo"] < 85:
        true.add("slow")
    elif p["tempo"] > 135:
        true.add("fast")
    if p["loudness"] > -15:
        true.add("loud")
    elif p["loudness"] < -28:
        true |= {"quiet", "soft"}
    if p["weird"]:
        true.add("weird")
    # Draw in the fixed order of TOP50_TAGS, never in a set's order: a set of strings iterates in
    # an order that depends on Python's hash seed, so each draw would land on another tag.
    tags = {t for t in TOP50_TAGS if t in true and rng.random() < TAG_RECALL.get(t, 0.8)}
    tags |= {t for t in TOP50_TAGS if rng.random() < FALSE_TAG_RATE}
    return tags


def draw_parameters(rng: np.random.Generator) -> dict:
    """Draw the musical parameters of one mini clip.

    Args:
        rng: the clip's random generator.

    Returns:
        A dict: ``style``, ``instruments``, ``drums``, ``tempo``, ``mode``, ``tonic``,
        ``voice`` (``None``, ``"male"``, ``"female"``), ``choir``, ``loudness``, ``weird``.
    """
    names = list(STYLES)
    weights = np.array([STYLES[s]["weight"] for s in names], dtype=float)
    style = names[rng.choice(len(names), p=weights / weights.sum())]
    s = STYLES[style]
    pool = list(s["instruments"])
    k = 1 if style in ("indian", "choral") else int(rng.integers(1, min(3, len(pool)) + 1))
    instruments = tuple(rng.choice(pool, size=k, replace=False).tolist())
    voice = None
    if rng.random() < s["voice"]:
        voice = "female" if rng.random() < (0.55 if style != "country" else 0.3) else "male"
    tempo = float(rng.uniform(*s["tempo"]))
    if style == "classical" and rng.random() < 0.4:
        tempo = float(rng.uniform(55, 80))
    return {
        "style": style,
        "instruments": instruments,
        "drums": str(rng.choice(s["drums"])),
        "tempo": tempo,
        "mode": ("phrygian" if style == "indian" else "minor") if rng.random() < (0.6 if style in ("metal", "indian") else 0.4) else "major",
        "tonic": int(rng.integers(50, 62)),
        "voice": voice,
        "choir": style == "choral",
        "loudness": float(rng.uniform(*s["loudness"])),
        "weird": bool(rng.random() < 0.03),
    }


def render_clip(path: str, seed: int, index: int, duration: float = MINI_CLIP_SECONDS) -> list:
    """Render and write one mini clip; return its tags.

    Args:
        path: the MP3 to write.
        seed: the dataset's seed.
        index: the clip's index.
        duration: seconds.

    Returns:
        The clip's tags (a sorted list).
    """
    from course_utils import synth

    rng = minigen.clip_rng(seed, index, salt=1)
    p = draw_parameters(rng)
    y = synth.render_piece(
        SR, duration, rng, instruments=p["instruments"], tempo_bpm=p["tempo"], mode=p["mode"],
        tonic_midi=p["tonic"], drums=p["drums"], voice=p["voice"], choir=p["choir"],
        loudness_db=p["loudness"], noise_db=p["loudness"] - float(rng.uniform(25, 45)),
        texture="drone" if p["style"] == "indian" else "melody+chords",
    )
    if p["weird"]:
        y = synth.set_loudness(y * np.sign(np.sin(np.linspace(0, 40 * np.pi, len(y)))), p["loudness"])
    write_audio(Path(path), y, SR)
    return sorted(_tags_from_parameters(p, rng))


#: A few of the other 138 tag columns of the real file, so that the parser must pick the top 50.
_EXTRA_COLUMNS = ("singer", "duet", "plucking", "hard rock", "world")


def synthesize(root: Path, seed: int = minigen.DEFAULT_SEED, *, progress: bool = True) -> None:
    """Write the mini MagnaTagAtune: 1,280 clips of 8 s in the real layout.

    Args:
        root: the folder to write into (``annotations_final.csv`` and ``mp3/``).
        seed: the random seed; the same seed gives the same bytes.
        progress: show a progress bar.
    """
    root = Path(root)
    jobs, rows = [], []
    index = 0
    for folder in _FOLDERS:
        for k in range(MINI_CLIPS_PER_FOLDER):
            index += 1
            start = 29 * (k % 4)
            rel = f"{folder}/course_synth_ensemble_{index % 97:02d}-mini_sessions_vol{k // 20 + 1}-{k % 20 + 1:02d}-piece_{index:04d}-{start}-{start + 29}.mp3"
            rows.append({"clip_id": str(index), "mp3_path": rel})
            jobs.append({"path": str(root / "mp3" / rel), "seed": seed, "index": index})
    tags = minigen.render_clips(render_clip, jobs, desc="magnatagatune mini", progress=progress)
    columns = ["clip_id", *_EXTRA_COLUMNS[:2], *TOP50_TAGS, *_EXTRA_COLUMNS[2:], "mp3_path"]
    lines = ["\t".join(f'"{c}"' for c in columns)]
    for row, clip_tags in zip(rows, tags):
        values = {**row, **{t: "1" if t in clip_tags else "0" for t in (*TOP50_TAGS, *_EXTRA_COLUMNS)}}
        lines.append("\t".join(f'"{values[c]}"' for c in columns))
    atomic_write_text(root / "annotations_final.csv", "\n".join(lines) + "\n")


SPEC = DatasetSpec(
    name="magnatagatune",
    title="MagnaTagAtune",
    task="tagging",
    description=(
        "25,863 clips of 29.1 s from Magnatune's catalogue, tagged by players of the TagATune game "
        "with 188 tags; the 50 most frequent are the standard auto-tagging benchmark and the "
        "source task of the compact convnet (notebook 02)."
    ),
    full_size="25,863 clips, 29.1 s each, 16 kHz MP3, about 3 GB",
    mini_size=f"{16 * MINI_CLIPS_PER_FOLDER} synthetic clips of {MINI_CLIP_SECONDS:.0f} s, 16 kHz MP3, about 20 MB",
    citation="E. Law, K. West, M. Mandel, M. Bay, J. S. Downie. Evaluation of algorithms using games: the case of music tagging. ISMIR 2009.",
    label_columns=TOP50_TAGS,
    split_column="split",
    parse=parse,
    synthesize=synthesize,
    fetch=fetch,
    layout="annotations_final.csv (tab-separated, quoted: clip_id, 188 tags, mp3_path); mp3/<0-f>/<artist>-<album>-<track>-<start>-<end>.mp3",
)
