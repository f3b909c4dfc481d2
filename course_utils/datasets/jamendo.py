"""Jamendo singing-voice detection corpus (Ramona, Richard and David, 2008).

93 Creative Commons songs from jamendo.com with every second labelled ``sing`` or ``nosing``,
split into 61 train, 16 validation and 16 test songs. On disk (the layout of the common
repackaging):

- ``audio/<song>.ogg`` (or ``.mp3``);
- ``labels/<song>.lab``: one segment per line, ``<start s> <end s> sing|nosing``;
- ``filelists/train``, ``filelists/valid``, ``filelists/test``: one audio file name per line.

The loader turns the label segments into clips: each segment is cut into pieces of at most
:data:`SEGMENT_SECONDS`, dropping pieces shorter than :data:`MIN_SEGMENT_SECONDS`, so that one row is
one fixed-size excerpt with one label, as in the transfer paper.

The mini version (:func:`synthesize`) renders songs that alternate instrumental passages and
sung verses (formant-synthesised voices), with lead instruments such as flute or violin in the
instrumental parts, so that "a melody is playing" is not enough to say "someone is singing".
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from course_utils.audio.io import write_audio
from course_utils.core import files
from course_utils.core.errors import DatasetError
from course_utils.datasets import minigen
from course_utils.datasets.base import class_index, DatasetSpec, finish_frame, require_folder
from course_utils.fetch import download

CLASSES = ("nosing", "sing")
SPLITS = ("train", "valid", "test")
#: Longest excerpt per row, in seconds.
SEGMENT_SECONDS = 3.0
#: Shortest excerpt kept, in seconds.
MIN_SEGMENT_SECONDS = 1.0
SR = 22050
MINI_SONG_SECONDS = 30.0
MINI_SONGS = {"train": 16, "valid": 4, "test": 4}
_AUDIO = (".ogg", ".mp3", ".wav", ".flac")


def read_lab(path) -> list[tuple[float, float, str]]:
    """Read a ``.lab`` file of ``start end label`` lines.

    Args:
        path: the file.

    Returns:
        ``(start, end, label)`` tuples, in seconds.

    Raises:
        DatasetError: a line is malformed or a label is not ``sing``/``nosing``.
    """
    segments = []
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        try:
            start, end, label = float(parts[0]), float(parts[1]), parts[2]
        except (IndexError, ValueError):
            raise DatasetError(f"{path}, line {n}: expected '<start> <end> sing|nosing', got {line!r}") from None
        if label not in CLASSES:
            raise DatasetError(f"{path}, line {n}: unknown label {label!r} (expected sing or nosing)")
        segments.append((start, end, label))
    return segments


def cut_segments(segments, length: float = SEGMENT_SECONDS, minimum: float = MIN_SEGMENT_SECONDS):
    """Cut labelled segments into excerpts of at most ``length`` seconds.

    Args:
        segments: ``(start, end, label)`` tuples.
        length: the longest excerpt, in seconds.
        minimum: excerpts shorter than this are dropped.

    Returns:
        ``(offset, duration, label)`` tuples.
    """
    out = []
    for start, end, label in segments:
        t = start
        while end - t >= minimum - 1e-9:
            d = min(length, end - t)
            out.append((round(t, 3), round(d, 3), label))
            t += length
    return out


def parse(root: Path) -> pd.DataFrame:
    """Read the Jamendo corpus (real or mini) as fixed-size labelled excerpts.

    Args:
        root: folder holding ``audio/``, ``labels/``, ``filelists/``.

    Returns:
        One row per excerpt: ``clip_id`` (``<song>_<k:03d>``), ``path``, ``offset`` and ``duration``
        (seconds into the song), ``label`` (``sing``/``nosing``), ``label_id`` (1 = sing),
        ``song``, ``split``.
    """
    root = Path(root)
    audio_dir = require_folder(root, "audio", "jamendo_vocal")
    lists = require_folder(root, "filelists", "jamendo_vocal")
    labels = require_folder(root, "labels", "jamendo_vocal")
    rows = []
    for split in SPLITS:
        list_file = lists / split
        if not list_file.is_file():
            raise DatasetError(f"jamendo_vocal: {list_file} missing; the corpus is incomplete")
        for name in list_file.read_text().split("\n"):
            name = name.strip()
            if not name:
                continue
            audio = audio_dir / name
            song = Path(name).stem
            lab = labels / f"{song}.lab"
            if not lab.is_file():
                raise DatasetError(f"jamendo_vocal: label file {lab} missing for {audio}")
            for k, (offset, duration, label) in enumerate(cut_segments(read_lab(lab))):
                rows.append({"clip_id": f"{song}_{k:03d}", "path": str(audio), "offset": offset, "duration": duration,
                             "label": label, "song": song, "split": split})
    df = pd.DataFrame(rows, columns=["clip_id", "path", "offset", "duration", "label", "song", "split"])
    df["label_id"] = class_index(df["label"], CLASSES)
    return finish_frame(df, SPEC, root)


INSTRUCTIONS = """\
The Jamendo corpus for singing voice detection has no checksummed download address:
  1. Download from http://www.mathieuramona.com/wp/data/jamendo/ the audio archives
     jam_train_audio.tar.gz, jam_valid_audio.tar.gz, jam_test_audio.tar.gz, the labels
     jam_annote.tar.gz and the lists jam_train_list.txt, jam_valid_list.txt, jam_test_list.txt.
  2. Arrange them as in Jan Schlueter's repackaging (github.com/f0k/ismir2015):
       {folder}/audio/<song>.ogg (or .mp3)   all songs in one folder, no ._* files
       {folder}/labels/<song>.lab            from jamendo_lab/
       {folder}/filelists/train, valid, test one audio file name per line
  3. Run `course-utils data info jamendo_vocal` to check the layout."""


def fetch(root: Path) -> None:
    """Check that the user placed the Jamendo corpus in ``root``; otherwise explain how.

    Args:
        root: the folder where ``audio/``, ``labels/`` and ``filelists/`` must be.
    """
    root = Path(root)
    expected = {"audio": None, "labels": None, **{f"filelists/{s}": None for s in SPLITS}}
    download.require_manual_files("jamendo_vocal", root, expected, INSTRUCTIONS.format(folder=root))


def render_song(path: str, lab_path: str, seed: int, index: int) -> None:
    """Render one mini Jamendo song with alternating sung and instrumental sections.

    Args:
        path: the audio file to write.
        lab_path: the ``.lab`` file to write.
        seed: the dataset's seed.
        index: the song's index.
    """
    from course_utils import synth

    rng = minigen.clip_rng(seed, index, salt=6)
    tempo = float(rng.uniform(80, 140))
    mode = str(rng.choice(["major", "minor"]))
    tonic = int(rng.integers(50, 60))
    register = str(rng.choice(["male", "female"]))
    accompaniment = [("guitar", "bass"), ("piano", "bass"), ("synth", "bass"), ("organ", "bass")][int(rng.integers(4))]
    drums = str(rng.choice(["rock", "halftime", "none"]))
    loud = float(rng.uniform(-24, -15))
    # alternate instrumental passages (3 to 6 s) and sung verses (4 to 9 s)
    spans, t, sing = [], 0.0, bool(rng.random() < 0.3)
    while t < MINI_SONG_SECONDS - 1e-6:
        d = min(float(rng.uniform(4.0, 9.0) if sing else rng.uniform(3.0, 6.0)), MINI_SONG_SECONDS - t)
        if sing:
            spans.append((t, t + d))
        t += d
        sing = not sing
    lead = str(rng.choice(["flute", "violin", "synth", "guitar"]))  # plays the melody where no one sings
    y, info = synth.render_piece(SR, MINI_SONG_SECONDS, rng, instruments=accompaniment + (lead,), tempo_bpm=tempo,
                                 mode=mode, tonic_midi=tonic, drums=drums, voice=register, voice_segments=spans,
                                 loudness_db=loud, noise_db=loud - 35, return_info=True)
    write_audio(Path(path), y, SR)
    files.atomic_write_text(Path(lab_path), lab_text(info["voice_intervals"], MINI_SONG_SECONDS))


def merge_intervals(intervals, max_gap: float = 0.6) -> list:
    """Join intervals separated by less than ``max_gap`` seconds, as an annotator labels a sung
    phrase as one segment, breaths included.

    Args:
        intervals: ``(start, end)`` pairs in seconds.
        max_gap: the longest pause kept inside a segment.

    Returns:
        Sorted, disjoint ``(start, end)`` pairs.
    """
    merged = []
    for a, b in sorted(intervals):
        if merged and a - merged[-1][1] < max_gap:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def lab_text(sung, total: float) -> str:
    """A ``.lab`` file's text from the sung intervals of a song: ``start end sing|nosing`` lines.

    Args:
        sung: ``(start, end)`` times in seconds where the voice sings (merged into phrases).
        total: the song's duration in seconds.

    Returns:
        The lines, covering the whole song, alternating ``nosing`` and ``sing``.
    """
    lines, t = [], 0.0
    for a, b in merge_intervals(sung):
        if a > t + 1e-3:
            lines.append(f"{t:.3f} {a:.3f} nosing\n")
        lines.append(f"{a:.3f} {b:.3f} sing\n")
        t = b
    if total > t + 1e-3:
        lines.append(f"{t:.3f} {total:.3f} nosing\n")
    return "".join(lines)


def synthesize(root: Path, seed: int = minigen.DEFAULT_SEED, *, progress: bool = True) -> None:
    """Write the mini Jamendo corpus: 24 songs of 30 s (16 train, 4 valid, 4 test) as MP3.

    (MP3 rather than the real corpus's Ogg Vorbis, because libsndfile's Vorbis encoder writes a
    random stream serial number, and the mini datasets must be byte-for-byte reproducible.)

    Args:
        root: the folder to write into.
        seed: the random seed; the same seed gives the same bytes.
        progress: show a progress bar.
    """
    root = Path(root)
    jobs, index = [], 0
    for split in SPLITS:
        names = []
        for k in range(MINI_SONGS[split]):
            index += 1
            name = f"{index:02d} - Synthetic Song {index:02d}.mp3"
            names.append(name)
            jobs.append({"path": str(root / "audio" / name), "lab_path": str(root / "labels" / f"{Path(name).stem}.lab"),
                         "seed": seed, "index": index})
        files.atomic_write_text(root / "filelists" / split, "\n".join(names) + "\n")
    minigen.render_clips(render_song, jobs, desc="jamendo_vocal mini", progress=progress)


SPEC = DatasetSpec(
    name="jamendo_vocal",
    title="Jamendo singing voice detection",
    task="classification",
    description=(
        "93 Creative Commons songs from jamendo.com (61 train, 16 validation, 16 test) with each "
        "moment labelled as sung or not; the task classifies short excerpts."
    ),
    full_size="93 songs, about 6 hours, Ogg Vorbis, about 500 MB",
    mini_size=f"{sum(MINI_SONGS.values())} synthetic songs of {MINI_SONG_SECONDS:.0f} s, 22,050 Hz MP3",
    citation="M. Ramona, G. Richard, B. David. Vocal detection in music with support vector machines. ICASSP 2008.",
    label_columns=("label", "label_id"),
    split_column="split",
    parse=parse,
    synthesize=synthesize,
    fetch=fetch,
    classes=CLASSES,
    layout="audio/<song>.ogg; labels/<song>.lab ('start end sing|nosing'); filelists/train|valid|test",
)
