"""Small signal measures of notebook 01: quantisation, signal-to-noise ratio, aliasing, spectral centroid.

(Reached as ``from course_utils import audio``: see :mod:`course_utils.audio`.)
"""

from __future__ import annotations

import numpy as np


def quantize(y: np.ndarray, bits: int) -> np.ndarray:
    """Round a signal in [-1, 1] to ``2**bits`` equally spaced levels, as an ADC stores it.

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

    Args:
        y: mono signal.
        sr: its sample rate in Hz.

    Returns:
        The centroid in Hz.
    """
    mag = np.abs(np.fft.rfft(np.asarray(y, dtype=np.float64)))
    freqs = np.fft.rfftfreq(len(y), 1.0 / sr)
    return float(np.sum(freqs * mag) / max(np.sum(mag), 1e-12))
