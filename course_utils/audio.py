"""Audio input and the two features of the course: the log-mel spectrogram and the MFCC summary.

The defaults follow the front end of Choi et al. (2017), "Transfer learning for music
classification and regression tasks": audio at 12 kHz, an STFT of 512 samples (42.7 ms) with a
hop of 256 samples (21.3 ms), 96 mel bands up to 6 kHz, power in decibels. A 29.1 s clip then
gives a 96 x 1365 spectrogram (the compact convnet takes 1360 of its frames).

Notebooks 01, 02, 03, 05 and 06.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import threading
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

from course_utils.errors import AudioError, AudioWarning, CourseError

#: Sample rate of the transfer paper's front end, in Hz.
SR = 12000
#: STFT window length, in samples.
N_FFT = 512
#: STFT hop length, in samples.
HOP_LENGTH = 256
#: Number of mel bands.
N_MELS = 96
#: Highest mel band edge, in Hz.
FMAX = 6000.0
#: Number of MFCCs in the summary feature.
N_MFCC = 20

#: File extensions the decoder reads (libsndfile: WAV, AU, AIFF, FLAC, OGG/Vorbis, Opus, MP3).
SUPPORTED_EXTENSIONS = (".wav", ".au", ".snd", ".aif", ".aiff", ".flac", ".ogg", ".oga", ".opus", ".mp3")

#: A file whose peak amplitude stays below this is treated as silent.
SILENCE_PEAK = 1e-5

#: The longest stretch of a file that :func:`load_audio` reads by default, in seconds (10 min):
#: a longer file is cut there, with an :class:`~course_utils.errors.AudioWarning`, so that an
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
        info = sf.info(str(path))
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
    :class:`~course_utils.errors.AudioWarning` giving both lengths.

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
            :class:`~course_utils.errors.AudioWarning` when the file or ``duration`` is
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
    info = audio_info(path)
    file_sr = info["samplerate"]
    start = int(round(offset * file_sr))
    if offset < 0:
        raise AudioError(path, f"negative offset {offset} s")
    if start >= info["frames"] and info["frames"] > 0:
        raise AudioError(path, f"offset {offset:.2f} s is past the end of the file ({info['duration']:.2f} s)")
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
            data, _ = sf.read(str(path), start=start, stop=stop, dtype="float32", always_2d=True)
            y = _mono(path, data)
            peak = float(np.max(np.abs(y))) if len(y) else 0.0
            return resample(y, file_sr, target_sr), len(y), peak
        import soxr

        stream = soxr.ResampleStream(file_sr, target_sr, 1, dtype="float32", quality="HQ") if file_sr != target_sr else None
        parts, decoded, peak = [], 0, 0.0
        with sf.SoundFile(str(path)) as f:
            f.seek(start)
            for block in f.blocks(blocksize=_BLOCK_FRAMES, frames=frames, dtype="float32", always_2d=True):
                y = _mono(path, block)
                decoded += len(y)
                peak = max(peak, float(np.max(np.abs(y))) if len(y) else 0.0)
                parts.append(stream.resample_chunk(y, last=False) if stream else y.copy())
        if stream:
            parts.append(stream.resample_chunk(np.zeros(0, np.float32), last=True))
    except AudioError:
        raise
    except Exception as exc:
        raise AudioError(path, f"cannot be decoded ({_decoder_reason(exc)})", "the file is corrupt or truncated: delete it and download or generate it again") from None
    return np.concatenate(parts) if parts else np.zeros(0, np.float32), decoded, peak


def _warn_if_truncated(path: Path, decoded_seconds: float) -> None:
    """Warn when a file holds less audio than its header declares (see :mod:`course_utils.audio_headers`)."""
    from course_utils.audio_headers import declared_seconds

    declared = declared_seconds(path)
    if declared is not None:
        warnings.warn(f"{path}: truncated: {decoded_seconds:.2f} s of audio decoded, but its header declares "
                      f"{declared:.2f} s (download or generate it again)", AudioWarning, stacklevel=3)


def quantize(y: np.ndarray, bits: int) -> np.ndarray:
    """Round a signal in [-1, 1] to ``2**bits`` equally spaced levels, as an ADC stores it.

    Notebook 01.

    Args:
        y: signal in [-1, 1].
        bits: bits per sample (16 on a CD).

    Returns:
        The quantised signal, float32, same shape.
    """
    step = 2.0 / 2**bits
    return (np.clip(np.round(np.asarray(y) / step) * step, -1.0, 1.0 - step)).astype(np.float32)


def snr_db(clean: np.ndarray, noisy: np.ndarray) -> float:
    """Signal-to-noise ratio of ``noisy`` against ``clean``, in dB.

    Notebook 01.

    Args:
        clean: the reference signal.
        noisy: the same signal with an error added.

    Returns:
        ``10 log10(sum(clean**2) / sum((noisy - clean)**2))``.
    """
    clean = np.asarray(clean, dtype=np.float64)
    err = np.asarray(noisy, dtype=np.float64) - clean
    return float(10 * np.log10(np.sum(clean**2) / max(np.sum(err**2), 1e-30)))


def alias_frequency(f: float, sr: float) -> float:
    """The frequency a pure tone of ``f`` Hz appears at after sampling at ``sr`` Hz.

    Args:
        f: the tone's frequency in Hz.
        sr: the sample rate in Hz.

    Returns:
        The apparent frequency, between 0 and ``sr / 2``.
    """
    f = float(f) % float(sr)
    return min(f, float(sr) - f)


def spectral_centroid(y: np.ndarray, sr: int) -> float:
    """The magnitude-weighted mean frequency of a whole signal: its "brightness", in Hz.

    Notebook 01.

    Args:
        y: mono signal.
        sr: its sample rate in Hz.

    Returns:
        The centroid in Hz.
    """
    mag = np.abs(np.fft.rfft(np.asarray(y, dtype=np.float64)))
    freqs = np.fft.rfftfreq(len(y), 1.0 / sr)
    return float(np.sum(freqs * mag) / max(np.sum(mag), 1e-12))


def crop_starts(n_frames: int, crop_frames: int) -> list[int]:
    """Starts of the consecutive crops that cover a clip, the last one flush with its end.

    Notebook 01. A 1365-frame clip and 256-frame crops give starts
    0, 256, 512, 768, 1024 and 1109.

    Args:
        n_frames: the clip's length in frames.
        crop_frames: the crop length, at most ``n_frames``.

    Returns:
        Sorted crop starts.
    """
    if crop_frames > n_frames:
        raise ValueError(f"clips of {n_frames} frames are shorter than the model's input of {crop_frames} frames")
    starts = list(range(0, n_frames - crop_frames + 1, crop_frames))
    if starts[-1] + crop_frames < n_frames:
        starts.append(n_frames - crop_frames)
    return starts


def n_frames(n_samples: int, hop_length: int = HOP_LENGTH) -> int:
    """Number of spectrogram frames for a signal, with centred frames as in :func:`log_mel`.

    Notebook 01.

    Args:
        n_samples: signal length in samples.
        hop_length: hop in samples.

    Returns:
        ``1 + n_samples // hop_length``.
    """
    return 1 + int(n_samples) // int(hop_length)


def log_mel(
    y: np.ndarray,
    sr: int = SR,
    *,
    n_fft: int = N_FFT,
    hop_length: int = HOP_LENGTH,
    n_mels: int = N_MELS,
    fmin: float = 0.0,
    fmax: float | None = FMAX,
    top_db: float | None = 80.0,
) -> np.ndarray:
    """Log-mel spectrogram: mel-band power in decibels, the input of the course's convnets.

    Notebooks 01 and 03.

    Args:
        y: mono signal, shape ``(n,)``.
        sr: its sample rate in Hz (12 kHz in the paper).
        n_fft: STFT window in samples (512 = 42.7 ms at 12 kHz).
        hop_length: hop in samples (256 = 21.3 ms at 12 kHz).
        n_mels: number of mel bands.
        fmin: lowest band edge in Hz.
        fmax: highest band edge in Hz (6 kHz in the paper; ``None`` for sr / 2).
        top_db: clip everything more than this many dB below the clip's peak (``None``: no clip).

    Returns:
        float32 array of shape ``(n_mels, 1 + n // hop_length)`` in dB with a fixed reference
        (power 1), not relative to each clip's peak: a quiet clip really is lower, which the
        loudness tags and the arousal task need. A full-scale 440 Hz sine peaks near +27 dB.
    """
    import librosa

    y = np.asarray(y, dtype=np.float32)
    fmax = None if fmax is None else min(fmax, sr / 2)  # no empty bands above Nyquist at low rates
    mel = librosa.feature.melspectrogram(
        y=y, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, fmin=fmin, fmax=fmax, power=2.0
    )
    return librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=top_db).astype(np.float32)


def mfcc_summary(y: np.ndarray, sr: int = SR, *, n_mfcc: int = N_MFCC, repeat_short: bool = False) -> np.ndarray:
    """The MFCC baseline feature: 20 MFCCs with deltas and delta-deltas, averaged over time.

    Mean and standard deviation over frames of each of the 20 MFCCs, their first and their second
    time derivatives: 3 x 20 x 2 = 120 values, the baseline of Choi et al. (2017).
    Notebook 01.

    Args:
        y: mono signal, shape ``(n,)``, at least 9 frames (about 0.2 s at 12 kHz).
        sr: its sample rate in Hz.
        n_mfcc: number of coefficients.
        repeat_short: repeat a shorter signal until it is long enough (as the transfer
            baseline and ``course-utils features`` do for clips under 0.2 s) instead of raising.

    Returns:
        float32 vector of shape ``(6 * n_mfcc,)``, ordered ``[mfcc mean, mfcc std, delta mean,
        delta std, delta2 mean, delta2 std]``.

    Raises:
        CourseError: the signal is too short for the delta filters.
    """
    import librosa

    y = np.asarray(y, dtype=np.float32)
    if repeat_short and 0 < len(y) < 9 * HOP_LENGTH:
        y = np.tile(y, int(np.ceil(9 * HOP_LENGTH / len(y))))
    frames = n_frames(len(y))
    if frames < 9:
        raise CourseError(f"signal too short for MFCC deltas: {len(y)} samples ({frames} frames), at least {8 * HOP_LENGTH} needed")
    mfcc = librosa.feature.mfcc(
        y=y, sr=sr, n_mfcc=n_mfcc, n_fft=N_FFT, hop_length=HOP_LENGTH, n_mels=N_MELS, fmax=min(FMAX, sr / 2)
    )
    delta = librosa.feature.delta(mfcc, order=1)
    delta2 = librosa.feature.delta(mfcc, order=2)
    parts = []
    for m in (mfcc, delta, delta2):
        parts += [m.mean(axis=1), m.std(axis=1)]
    return np.concatenate(parts).astype(np.float32)
