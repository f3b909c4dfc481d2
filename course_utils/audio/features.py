"""The two features of the course: the log-mel spectrogram and the MFCC summary.

The defaults follow the front end of Choi et al. (2017), "Transfer learning for music
classification and regression tasks": audio at 12 kHz, an STFT of 512 samples (42.7 ms) with a
hop of 256 samples (21.3 ms), 96 mel bands up to 6 kHz, power in decibels. A 29.1 s clip then
gives a 96 x 1365 spectrogram (the compact convnet takes 1360 of its frames).

(Reached as ``from course_utils import audio``: see :mod:`course_utils.audio`.)
"""

from __future__ import annotations

import numpy as np

from course_utils.audio.io import SR
from course_utils.core.errors import CourseError


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


def n_frames(n_samples: int, hop_length: int = HOP_LENGTH) -> int:
    """Number of spectrogram frames for a signal, with centred frames as in :func:`log_mel`.

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

    Notebook 03.

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
