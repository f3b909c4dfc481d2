"""Reading and writing audio files: decoding any file to mono at the course's rate, with clear errors.

Audio is read at 12 kHz, the front end of Choi et al. (2017), "Transfer learning for music
classification and regression tasks" (:mod:`course_utils.audio.features` computes the
spectrograms); files are written atomically, MP3 through LAME.

(Reached as ``from course_utils import audio``: see :mod:`course_utils.audio`.)
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

from course_utils.core import files
from course_utils.core.errors import AudioError, AudioWarning

#: Sample rate of the transfer paper's front end, in Hz.
SR = 12000

#: File extensions the decoder reads (libsndfile: WAV, AU, AIFF, FLAC, OGG/Vorbis, Opus, MP3).
SUPPORTED_EXTENSIONS = (".wav", ".au", ".snd", ".aif", ".aiff", ".flac", ".ogg", ".oga", ".opus", ".mp3")

#: A file whose peak amplitude stays below this is treated as silent.
SILENCE_PEAK = 1e-5

#: The longest stretch of a file that :func:`load_audio` reads by default, in seconds (10 min):
#: a longer file is cut there, with an :class:`~course_utils.core.errors.AudioWarning`, so that an
#: hour-long recording cannot exhaust the memory of a notebook server (``max_duration=None``
#: reads everything).
MAX_SECONDS = 600.0

#: Sample rates a file may declare, in Hz; others are refused as corrupt (a header claiming 1 Hz
#: would otherwise be resampled into hundreds of millions of samples).
PLAUSIBLE_RATES = (1000, 768000)

# Above this many samples (frames x channels, 32 MB as float32) a file is decoded in blocks,
# each mixed to mono and resampled as it comes, so the whole file is never held at once.
_BLOCK_SAMPLES = 1 << 23
_BLOCK_FRAMES = 1 << 18


def _check_readable(path: Path) -> None:
    """Raise an :class:`AudioError` if ``path`` is missing, empty or of an unsupported type."""
    if not path.exists():
        raise AudioError(path, "file not found", "check the path, or download the dataset first")
    if path.is_dir():
        raise AudioError(path, "is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(path, "file is empty (0 bytes)", "delete it and download or generate it again")
    if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
        supported = ", ".join(ext.lstrip(".") for ext in SUPPORTED_EXTENSIONS)
        raise AudioError(
            path,
            f"unsupported audio format '{path.suffix or '(no extension)'}'",
            f"convert it to one of: {supported} (e.g. with ffmpeg -i IN OUT.wav)",
        )


def _decoder_reason(exc: Exception) -> str:
    """The decoder's reason for failing, without the file name it repeats."""
    text = str(exc)
    text = re.sub(r"^Error opening .*?: ", "", text)
    return text.strip() or type(exc).__name__


def _sf_name(path) -> str | bytes:
    """The name to give libsndfile: the path as text, or as the file system's bytes when it holds
    bytes that are not text in the file system's encoding (a Latin-1 name on a UTF-8 system)."""
    name = str(path)
    try:
        name.encode(sys.getfilesystemencoding())
    except UnicodeEncodeError:
        return os.fsencode(name)
    return name


def audio_info(path) -> dict:
    """Read an audio file's header without decoding it.

    Args:
        path: an audio file.

    Returns:
        ``{"samplerate": Hz, "channels": int, "frames": int, "duration": seconds, "format": str}``.

    Raises:
        AudioError: the file is missing, empty, unsupported or unreadable, or declares a sample
            rate outside :data:`PLAUSIBLE_RATES`.
    """
    path = Path(path).expanduser()
    _check_readable(path)
    try:
        info = sf.info(_sf_name(path))
    except Exception as exc:  # libsndfile's errors are terse; name the file instead
        raise AudioError(path, f"cannot be decoded ({_decoder_reason(exc)})", "the file is corrupt or not audio: delete it and download or generate it again") from None
    if not PLAUSIBLE_RATES[0] <= info.samplerate <= PLAUSIBLE_RATES[1]:
        raise AudioError(path, f"its header declares an implausible sample rate of {info.samplerate} Hz",
                         "the file is corrupt: delete it and download or generate it again")
    return {
        "samplerate": int(info.samplerate),
        "channels": int(info.channels),
        "frames": int(info.frames),
        "duration": float(info.frames) / float(info.samplerate) if info.samplerate else 0.0,
        "format": info.format,
    }


def fix_length(y: np.ndarray, n_samples: int) -> np.ndarray:
    """Pad with zeros at the end, or crop, to exactly ``n_samples`` samples.

    Args:
        y: signal, shape ``(n,)``.
        n_samples: wanted length in samples.

    Returns:
        Signal of shape ``(n_samples,)``, same dtype.
    """
    if len(y) >= n_samples:
        return y[:n_samples]
    return np.pad(y, (0, n_samples - len(y)))


def resample(y: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Change the sample rate of a signal (band-limited, with the soxr resampler).

    Args:
        y: signal, shape ``(n,)``.
        orig_sr: its sample rate in Hz.
        target_sr: the wanted sample rate in Hz.

    Returns:
        float32 signal of shape ``(round(n * target_sr / orig_sr),)``.
    """
    if orig_sr == target_sr:
        return y.astype(np.float32, copy=False)
    import soxr

    return soxr.resample(y.astype(np.float32, copy=False), orig_sr, target_sr, quality="HQ").astype(np.float32)


def _opening(path: Path, offset: float) -> tuple[dict, int]:
    """The header of ``path`` and the frame where reading starts at ``offset`` seconds.

    Raises:
        AudioError: the file cannot be read, the offset is negative or past the end.
    """
    info = audio_info(path)
    start = int(round(offset * info["samplerate"]))
    if offset < 0:
        raise AudioError(path, f"negative offset {offset} s")
    if start >= info["frames"] and info["frames"] > 0:
        raise AudioError(path, f"offset {offset:.2f} s is past the end of the file ({info['duration']:.2f} s)")
    return info, start


def load_audio(
    path,
    sr: int | None = SR,
    *,
    offset: float = 0.0,
    duration: float | None = None,
    pad: bool = False,
    min_duration: float = 0.05,
    allow_silence: bool = False,
    max_duration: float | None = MAX_SECONDS,
) -> np.ndarray:
    """Load an audio file as a mono float32 signal at a chosen sample rate.

    Notebooks 01, 02, 03, 05 and 06. A long
    file is decoded in blocks (mixed to mono and resampled as it comes), and at most
    ``max_duration`` seconds are read, so memory stays bounded whatever the file. A file that
    holds less audio than its header declares (a truncated download) is read with an
    :class:`~course_utils.core.errors.AudioWarning` giving both lengths.

    Args:
        path: an audio file (WAV, AU, AIFF, FLAC, OGG, Opus or MP3); ``~`` is expanded.
        sr: the sample rate to return, in Hz; ``None`` keeps the file's own rate.
        offset: where to start reading, in seconds.
        duration: how much to read, in seconds; ``None`` reads to the end.
        pad: with ``duration``, pad a shorter file with zeros (or crop) to exactly
            ``duration`` seconds, so that every clip of a dataset has the same shape.
        min_duration: the shortest audio accepted, in seconds (before padding).
        allow_silence: accept an all-silent file instead of raising.
        max_duration: read at most this many seconds (default :data:`MAX_SECONDS`), with an
            :class:`~course_utils.core.errors.AudioWarning` when the file or ``duration`` is
            longer; ``None`` for no limit.

    Returns:
        Signal of shape ``(n,)``, float32 in [-1, 1], with ``n = round(duration * sr)`` when
        ``pad`` is set.

    Raises:
        AudioError: the file is missing, empty, unsupported, corrupt (an implausible sample
            rate included), shorter than ``min_duration`` or silent. The message names the
            file and what to do.
    """
    path = Path(path).expanduser()
    info, start = _opening(path, offset)
    file_sr = info["samplerate"]
    stop = None if duration is None else start + int(round(duration * file_sr))
    wanted = (info["frames"] if stop is None else stop) - start
    if max_duration is not None and wanted > int(round(max_duration * file_sr)):
        stop = start + int(round(max_duration * file_sr))
        warnings.warn(f"{path}: {wanted / file_sr:.0f} s of audio; only the first {max_duration:g} s are analysed "
                      "(pass max_duration=None, or --max-duration 0 to course-utils, to read it all)",
                      AudioWarning, stacklevel=2)
    target_sr = file_sr if sr is None else int(sr)
    with _without_mpg123_reservoir_lines(start > 0 and info["format"] == "MP3"):
        y, decoded, peak = _read_mono(path, start, stop, info, target_sr)
    if stop is None or start + decoded < stop:
        _warn_if_truncated(path, (start + decoded) / file_sr)
    got = decoded / file_sr
    if got < min_duration:
        raise AudioError(path, f"too short: {got:.3f} s of audio, at least {min_duration:.3f} s needed")
    if not allow_silence and (decoded == 0 or peak < SILENCE_PEAK):
        raise AudioError(path, "is silent (every sample is zero or nearly)", "pass allow_silence=True to accept it")
    if pad and duration is not None:
        y = fix_length(y, int(round(duration * target_sr)))
    return np.ascontiguousarray(y, dtype=np.float32)


def _mono(path: Path, data: np.ndarray) -> np.ndarray:
    """Mix ``(frames, channels)`` to mono, refusing NaN or infinite samples."""
    y = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if not np.all(np.isfinite(y)):
        raise AudioError(path, "contains NaN or infinite samples", "the file is corrupt: re-create it")
    return y


# libmpg123 (libsndfile's MP3 decoder) writes straight to the process's stderr when a read starts
# at an offset into an MP3: the frame the seek lands on points back into a bit reservoir that was not
# read, and it prints "[src/libmpg123/layer3.c:INT123_do_layer3():1774] error: part2_3_length (1216)
# too large for available bit count (1152)" on a read that works. Starting a little earlier does not
# help (the frame it lands on complains just the same), so during such a read the native stderr
# (fd 2) goes to a temporary file; afterwards every line but that complaint is written back to
# stderr, so a real message still shows. Reads at an offset into an MP3 take turns (a lock).
_MPG123_RESERVOIR = re.compile(rb"^\[src/libmpg123/[^\]]*\] error: part2_3_length \(\d+\) too large for "
                               rb"available bit count \(\d+\)\s*$")
_FD2_LOCK = threading.Lock()


@contextlib.contextmanager
def _without_mpg123_reservoir_lines(active: bool = True):
    """Keep libmpg123's bit-reservoir complaints off fd 2 during the block; pass every other line on."""
    if not active:
        yield
        return
    with _FD2_LOCK, tempfile.TemporaryFile() as capture:
        try:
            saved = os.dup(2)
        except OSError:  # no stderr at all (a daemon): nothing to keep clean
            saved = None
        else:
            os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            if saved is not None:
                os.dup2(saved, 2)
                os.close(saved)
                capture.seek(0)
                kept = b"".join(line for line in capture.read().splitlines(keepends=True)
                                if not _MPG123_RESERVOIR.match(line))
                if kept:
                    os.write(2, kept)


def _decoded_pieces(path: Path, start: int, frames: int, file_sr: int, target_sr: int, counts: dict):
    """Frames ``start:start + frames`` (``frames < 0``: to the end) decoded in blocks of
    :data:`_BLOCK_FRAMES`, each mixed to mono and fed to a streaming resampler (the same samples as
    one call); yields the resampled pieces, the resampler's tail last. ``counts["decoded"]`` and
    ``counts["peak"]`` follow the frames decoded and the largest absolute sample before resampling."""
    import soxr

    stream = soxr.ResampleStream(file_sr, target_sr, 1, dtype="float32", quality="HQ") if file_sr != target_sr else None
    with sf.SoundFile(_sf_name(path)) as f:
        f.seek(start)
        for block in f.blocks(blocksize=_BLOCK_FRAMES, frames=frames, dtype="float32", always_2d=True):
            y = _mono(path, block)
            counts["decoded"] += len(y)
            counts["peak"] = max(counts["peak"], float(np.max(np.abs(y))) if len(y) else 0.0)
            yield stream.resample_chunk(y, last=False) if stream else y.copy()
    if stream:
        yield stream.resample_chunk(np.zeros(0, np.float32), last=True)


def _read_mono(path: Path, start: int, stop: int | None, info: dict, target_sr: int):
    """Decode frames ``start:stop`` as mono at ``target_sr``: ``(signal, frames decoded, peak)``.

    A short span is read at once; a long one in blocks of :data:`_BLOCK_FRAMES`, each mixed
    to mono and fed to a streaming resampler (which gives the same samples as one call), so
    that memory holds the mono output and one block, never the whole multichannel file.
    """
    file_sr = info["samplerate"]
    frames = -1 if stop is None else stop - start
    total = info["frames"] - start if frames < 0 else frames
    try:
        if total * info["channels"] <= _BLOCK_SAMPLES:
            data, _ = sf.read(_sf_name(path), start=start, stop=stop, dtype="float32", always_2d=True)
            y = _mono(path, data)
            peak = float(np.max(np.abs(y))) if len(y) else 0.0
            return resample(y, file_sr, target_sr), len(y), peak
        counts = {"decoded": 0, "peak": 0.0}
        parts = list(_decoded_pieces(path, start, frames, file_sr, target_sr, counts))
        decoded, peak = counts["decoded"], counts["peak"]
    except AudioError:
        raise
    except Exception as exc:
        raise AudioError(path, f"cannot be decoded ({_decoder_reason(exc)})", "the file is corrupt or truncated: delete it and download or generate it again") from None
    return np.concatenate(parts) if parts else np.zeros(0, np.float32), decoded, peak


def stream_audio(path, sr: int | None = SR, *, segment_samples: int, offset: float = 0.0,
                 duration: float | None = None, allow_silence: bool = False):
    """Decode a (long) file as consecutive mono float32 segments, without holding it whole.

    The file is decoded in blocks, mixed to mono and resampled as it comes (a streaming
    resampler: the same samples as one call), and handed out ``segment_samples`` at a time, so
    memory holds one segment and one block whatever the file's length (an hour of 44.1 kHz
    stereo included). :class:`course_utils.features.clip_features.ClipFeatures` analyses long files this way.

    Args:
        path: an audio file.
        sr: the sample rate of the segments (``None``: the file's own).
        segment_samples: samples per segment at ``sr`` (the last one may be shorter).
        offset: where to start, in seconds.
        duration: how much to read, in seconds (``None``: to the end).
        allow_silence: accept an all-silent file.

    Yields:
        float32 arrays of ``segment_samples`` samples (the last one shorter).

    Raises:
        AudioError: the file cannot be decoded, the offset is past its end, or it is silent
            (raised after its last segment, since silence is known only then).
    """

    path = Path(path).expanduser()
    info, start = _opening(path, offset)
    file_sr = info["samplerate"]
    frames = -1 if duration is None else int(round(duration * file_sr))
    target_sr = file_sr if sr is None else int(sr)
    segment_samples = max(1, int(segment_samples))
    held: list = []
    n_held, counts = 0, {"decoded": 0, "peak": 0.0}
    try:
        for piece in _decoded_pieces(path, start, frames, file_sr, target_sr, counts):
            held.append(piece)
            n_held += len(piece)
            while n_held >= segment_samples:
                joined = np.concatenate(held)
                yield np.ascontiguousarray(joined[:segment_samples])
                held, n_held = [joined[segment_samples:]], len(joined) - segment_samples
    except AudioError:
        raise
    except Exception as exc:
        raise AudioError(path, f"cannot be decoded ({_decoder_reason(exc)})",
                         "the file is corrupt or truncated: delete it and download or generate it again") from None
    if n_held:
        yield np.ascontiguousarray(np.concatenate(held), dtype=np.float32)
    decoded, peak = counts["decoded"], counts["peak"]
    if frames < 0 and start + decoded < info["frames"]:
        _warn_if_truncated(path, (start + decoded) / file_sr)
    if not allow_silence and (decoded == 0 or peak < SILENCE_PEAK):
        raise AudioError(path, "is silent (every sample is zero or nearly)", "pass allow_silence=True to accept it")


def _warn_if_truncated(path: Path, decoded_seconds: float) -> None:
    """Warn when a file holds less audio than its header declares (see :mod:`course_utils.audio.headers`)."""
    from course_utils.audio.headers import declared_seconds

    declared = declared_seconds(path)
    if declared is not None:
        warnings.warn(f"{path}: truncated: {decoded_seconds:.2f} s of audio decoded, but its header declares "
                      f"{declared:.2f} s (download or generate it again)", AudioWarning, stacklevel=3)


#: Bit rate of the mini datasets' MP3s (MagnaTagAtune's real MP3s are 32 kb/s).
MP3_KBPS = 48


#: libsndfile (format, subtype) for each file extension the generators write (MP3 goes through LAME).
_FORMATS = {
    ".wav": ("WAV", "PCM_16"),
    ".au": ("AU", "PCM_16"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
    ".flac": ("FLAC", "PCM_16"),
}


def write_audio(path: Path, y: np.ndarray, sr: int) -> None:
    """Write a signal in the format its extension names (WAV/AU 16-bit, MP3, FLAC), atomically.

    Notebooks 02 and 05.

    Args:
        path: the destination; its suffix chooses the format.
        y: mono float signal in [-1, 1].
        sr: sample rate in Hz.
    """
    y = np.clip(np.asarray(y, dtype=np.float32), -1.0, 1.0)
    if Path(path).suffix.lower() == ".mp3":
        files.atomic_write_bytes(path, encode_mp3(y, sr))
        return
    fmt, subtype = _FORMATS[Path(path).suffix.lower()]
    with files.atomic_write(path) as tmp:
        sf.write(tmp, y, sr, format=fmt, subtype=subtype)


def encode_mp3(y: np.ndarray, sr: int, kbps: int = MP3_KBPS) -> bytes:
    """Encode a mono signal as constant-bitrate MP3 with LAME (fast setting).

    LAME through ``lameenc`` at quality 5 is about five times faster than libsndfile's MP3
    writer, which matters for the thousands of clips of the mini datasets.

    Args:
        y: mono float signal in [-1, 1].
        sr: sample rate in Hz.
        kbps: bit rate.

    Returns:
        The MP3 file's bytes.
    """
    import lameenc

    encoder = lameenc.Encoder()
    encoder.set_bit_rate(kbps)
    encoder.set_in_sample_rate(int(sr))
    encoder.set_channels(1)
    encoder.set_quality(5)
    pcm = np.round(np.clip(y, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    return bytes(encoder.encode(pcm) + encoder.flush())
