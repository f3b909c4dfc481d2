"""GTZAN genre (Tzanetakis and Cook, 2002) and GTZAN music/speech: two transfer tasks.

On disk:

- genre: ``genres/<genre>/<genre>.000NN.au`` (the original archive; the Kaggle copy has
  ``genres_original/<genre>/<genre>.000NN.wav``), 100 clips of 30 s per genre, 22,050 Hz mono;
- music/speech: ``music_speech/music_wav/*.wav`` and ``music_speech/speech_wav/*.wav``,
  64 clips of 30 s each, 22,050 Hz mono.

Neither has an official split: the transfer paper uses 10-fold cross-validation.
The mini versions are written in the same layouts (genre as ``.wav``) by :func:`synthesize_genre`
and :func:`synthesize_speechmusic`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from course_utils.audio.io import write_audio
from course_utils.core.errors import DatasetError
from course_utils.datasets import minigen
from course_utils.datasets.base import class_index, DatasetSpec, fetch_archive, finish_frame, require_folder
from course_utils.fetch.guards import ArchiveLimits

GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")
SPEECHMUSIC = ("music", "speech")
SR = 22050
MINI_SECONDS = 8.0
MINI_PER_GENRE = 20
MINI_PER_SPEECHMUSIC = 32
_AUDIO = (".au", ".wav")


def parse_genre(root: Path) -> pd.DataFrame:
    """Read GTZAN genre (real or mini).

    Args:
        root: folder holding ``genres/`` (or ``genres_original/``).

    Returns:
        One row per clip: ``clip_id`` (e.g. ``blues.00000``), ``path``, ``offset``, ``duration``,
        ``label`` (genre name), ``label_id`` (index in :data:`GENRES`).
    """
    root = Path(root)
    base = root / "genres_original" if (root / "genres_original").is_dir() else require_folder(root, "genres", "gtzan_genre")
    files = sorted(p for p in base.glob("*/*") if p.suffix.lower() in _AUDIO)
    df = pd.DataFrame({"clip_id": [p.stem for p in files], "path": [str(p) for p in files],
                       "label": [p.parent.name for p in files]})
    df["label_id"] = class_index(df["label"], GENRES)
    return finish_frame(df, GENRE_SPEC, root)


def parse_speechmusic(root: Path) -> pd.DataFrame:
    """Read GTZAN music/speech (real or mini).

    Args:
        root: folder holding ``music_speech/``.

    Returns:
        One row per clip: ``clip_id``, ``path``, ``offset``, ``duration``, ``label``
        (``music`` or ``speech``), ``label_id`` (0 music, 1 speech).
    """
    root = Path(root)
    base = require_folder(root, "music_speech", "gtzan_speechmusic")
    rows = []
    for label in SPEECHMUSIC:
        for p in sorted((base / f"{label}_wav").glob("*.wav")):
            rows.append({"clip_id": f"{label}/{p.stem}", "path": str(p), "label": label})
    df = pd.DataFrame(rows, columns=["clip_id", "path", "label"])
    df["label_id"] = class_index(df["label"], SPEECHMUSIC)
    return finish_frame(df, SPEECHMUSIC_SPEC, root)


# --------------------------------------------------------------------------------------------
# Full versions: the archives are records of course_utils.fetch.remote (GTZAN's original host is gone; mirrored).

#: What each archive may expand to: its clips (30 s of 22,050 Hz 16-bit mono, 1.3 MB each) and
#: folders, with room to spare (members doubled for the "._" files of archives made on a Mac); a
#: bigger archive is not GTZAN and is refused.
GENRE_LIMITS = ArchiveLimits(max_members=2_500, max_bytes=2 << 30)  # 1,000 clips, 1.3 GB
SPEECHMUSIC_LIMITS = ArchiveLimits(max_members=400, max_bytes=512 << 20)  # 128 clips, 170 MB


def fetch_genre(root: Path) -> None:
    """Download and unpack GTZAN genre (1.2 GB) into ``root``.

    Args:
        root: the target folder; ends with ``genres/<genre>/*.au``.
    """
    fetch_archive(root, "gtzan_genre", GENRE_LIMITS)


def fetch_speechmusic(root: Path) -> None:
    """Download and unpack GTZAN music/speech (300 MB) into ``root``.

    Args:
        root: the target folder; ends with ``music_speech/``.
    """
    fetch_archive(root, "gtzan_speechmusic", SPEECHMUSIC_LIMITS)


# --------------------------------------------------------------------------------------------
# Mini versions: each genre a recipe of instruments, drums, tempo, mode and voice, with enough
# spread inside a genre (and overlap between neighbours such as rock and metal, or blues and
# jazz) that a classifier has to listen rather than look up one parameter.

GENRE_RECIPES = {
    "blues": dict(instruments=(("guitar", "bass"), ("piano", "bass"), ("guitar", "organ")), drums=("shuffle", "halftime"),
                  tempo=(70, 110), mode=("minor", "major"), voice=0.5, loudness=(-24, -16), swing=0.6),
    "classical": dict(instruments=(("strings",), ("piano",), ("violin", "cello"), ("flute", "harp"), ("harpsichord",)),
                      drums=("none",), tempo=(60, 140), mode=("major", "minor"), voice=0.05, loudness=(-34, -22), swing=0.0),
    "country": dict(instruments=(("guitar", "violin"), ("guitar", "bass")), drums=("foxtrot", "rock"),
                    tempo=(95, 135), mode=("major",), voice=0.8, loudness=(-24, -16), swing=0.2),
    "disco": dict(instruments=(("strings", "bass"), ("synth", "bass"), ("piano", "bass")), drums=("four_on_floor",),
                  tempo=(110, 128), mode=("major", "minor"), voice=0.5, loudness=(-20, -13), swing=0.0),
    "hiphop": dict(instruments=(("synth", "bass"), ("piano", "bass")), drums=("hiphop",),
                   tempo=(80, 100), mode=("minor",), voice=0.0, loudness=(-20, -12), swing=0.3),
    "jazz": dict(instruments=(("piano", "bass"), ("flute", "bass"), ("guitar", "bass", "piano")), drums=("wcswing", "jive"),
                 tempo=(110, 200), mode=("major", "minor"), voice=0.25, loudness=(-28, -18), swing=0.6),
    "metal": dict(instruments=(("electric_guitar", "bass"), ("electric_guitar", "guitar")), drums=("metal",), tempo=(140, 200), mode=("minor", "phrygian"),
                  voice=0.5, loudness=(-14, -9), swing=0.0),
    "pop": dict(instruments=(("synth", "piano"), ("guitar", "piano"), ("synth", "bass")), drums=("rock", "halftime"),
                tempo=(95, 125), mode=("major",), voice=0.9, loudness=(-20, -14), swing=0.0),
    "reggae": dict(instruments=(("organ", "bass"), ("guitar", "bass")), drums=("reggae",), tempo=(65, 90),
                   mode=("major", "minor"), voice=0.5, loudness=(-24, -16), swing=0.2),
    "rock": dict(instruments=(("guitar", "bass"), ("electric_guitar", "bass"), ("guitar", "organ")), drums=("rock",), tempo=(105, 150),
                 mode=("major", "minor"), voice=0.6, loudness=(-20, -13), swing=0.0),
}


def render_genre_clip(path: str, genre: str, seed: int, index: int) -> None:
    """Render and write one mini GTZAN genre clip.

    Args:
        path: the file to write.
        genre: one of :data:`GENRES`.
        seed: the dataset's seed.
        index: the clip's index.
    """
    from course_utils import synth

    rng = minigen.clip_rng(seed, index, salt=2)
    r = GENRE_RECIPES[genre]
    instruments = r["instruments"][rng.integers(len(r["instruments"]))]
    voice = ("male" if rng.random() < 0.6 else "female") if rng.random() < r["voice"] else None
    loud = float(rng.uniform(*r["loudness"]))
    y = synth.render_piece(
        SR, MINI_SECONDS, rng, instruments=instruments, tempo_bpm=float(rng.uniform(*r["tempo"])),
        mode=str(rng.choice(r["mode"])), tonic_midi=int(rng.integers(48, 60)), drums=str(rng.choice(r["drums"])),
        voice=voice, loudness_db=loud, noise_db=loud - float(rng.uniform(20, 40)),
        swing=r["swing"] * float(rng.uniform(0.5, 1.0)),
    )
    if genre == "hiphop":  # rap: speech-like voice over the beat
        rap = synth.speech(MINI_SECONDS, SR, rng, register="male" if rng.random() < 0.7 else "female")
        y = synth.set_loudness(y + 0.7 * synth.set_loudness(rap, synth.rms_db(y)), loud)
    write_audio(Path(path), y, SR)


def render_speechmusic_clip(path: str, label: str, seed: int, index: int) -> None:
    """Render and write one mini music/speech clip: a piece of a random genre, or speech.

    Args:
        path: the file to write.
        label: ``"music"`` or ``"speech"``.
        seed: the dataset's seed.
        index: the clip's index.
    """
    from course_utils import synth

    rng = minigen.clip_rng(seed, index, salt=3)
    loud = float(rng.uniform(-30, -14))
    if label == "speech":
        y = synth.speech(MINI_SECONDS, SR, rng, register=str(rng.choice(["male", "female", "child"], p=[0.45, 0.45, 0.1])))
        y = synth.add_noise(synth.set_loudness(y, loud), float(rng.uniform(10, 40)), rng)
        y = synth.set_loudness(y, loud)
        write_audio(Path(path), y, SR)
    else:
        genre = GENRES[rng.integers(len(GENRES))]
        render_genre_clip(path, genre, seed + 7919, index)


def synthesize_genre(root: Path, seed: int = minigen.DEFAULT_SEED, *, progress: bool = True) -> None:
    """Write the mini GTZAN genre: 20 clips of 8 s per genre, ``genres/<genre>/<genre>.000NN.wav``.

    Args:
        root: the folder to write into.
        seed: the random seed; the same seed gives the same bytes.
        progress: show a progress bar.
    """
    jobs = [{"path": str(Path(root) / "genres" / g / f"{g}.{k:05d}.wav"), "genre": g, "seed": seed, "index": gi * 1000 + k}
            for gi, g in enumerate(GENRES) for k in range(MINI_PER_GENRE)]
    minigen.render_clips(render_genre_clip, jobs, desc="gtzan_genre mini", progress=progress)


def synthesize_speechmusic(root: Path, seed: int = minigen.DEFAULT_SEED, *, progress: bool = True) -> None:
    """Write the mini GTZAN music/speech: 32 clips of 8 s of each class.

    Args:
        root: the folder to write into.
        seed: the random seed; the same seed gives the same bytes.
        progress: show a progress bar.
    """
    jobs = [{"path": str(Path(root) / "music_speech" / f"{label}_wav" / f"{label}_{k:03d}.wav"), "label": label,
             "seed": seed, "index": li * 1000 + k}
            for li, label in enumerate(SPEECHMUSIC) for k in range(MINI_PER_SPEECHMUSIC)]
    minigen.render_clips(render_speechmusic_clip, jobs, desc="gtzan_speechmusic mini", progress=progress)


GENRE_SPEC = DatasetSpec(
    name="gtzan_genre",
    title="GTZAN genre",
    task="classification",
    description=(
        "1,000 clips of 30 s, 100 in each of ten genres, collected by George Tzanetakis in 2000-2001 "
        "from CDs, radio and microphone recordings; the most used genre benchmark (with known "
        "faults: repeated clips, mislabelings, artist overlap)."
    ),
    full_size="1,000 clips of 30 s, 22,050 Hz, 1.2 GB",
    mini_size=f"{len(GENRES) * MINI_PER_GENRE} synthetic clips of {MINI_SECONDS:.0f} s, 22,050 Hz WAV",
    citation="G. Tzanetakis, P. Cook. Musical genre classification of audio signals. IEEE TSAP 10(5), 2002.",
    label_columns=("label", "label_id"),
    split_column=None,
    parse=parse_genre,
    synthesize=synthesize_genre,
    fetch=fetch_genre,
    classes=GENRES,
    layout="genres/<genre>/<genre>.000NN.au (or .wav)",
)

SPEECHMUSIC_SPEC = DatasetSpec(
    name="gtzan_speechmusic",
    title="GTZAN music/speech",
    task="classification",
    description="128 clips of 30 s, 64 of music and 64 of speech, collected by George Tzanetakis.",
    full_size="128 clips of 30 s, 22,050 Hz WAV, 300 MB",
    mini_size=f"{2 * MINI_PER_SPEECHMUSIC} synthetic clips of {MINI_SECONDS:.0f} s, 22,050 Hz WAV",
    citation="G. Tzanetakis. GTZAN music/speech collection, http://marsyas.info/downloads/datasets.html",
    label_columns=("label", "label_id"),
    split_column=None,
    parse=parse_speechmusic,
    synthesize=synthesize_speechmusic,
    fetch=fetch_speechmusic,
    classes=SPEECHMUSIC,
    layout="music_speech/music_wav/*.wav, music_speech/speech_wav/*.wav",
)

__all__ = ["GENRE_SPEC", "SPEECHMUSIC_SPEC", "GENRES", "DatasetError"]
