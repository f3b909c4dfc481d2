"""Small signal helpers of the synthesiser: levels, noise, filters, fades, reverb, MIDI and Hz.

The bottom layer of :mod:`course_utils.synth`: every other module of the package builds on
these. Levels are in dB relative to full scale (dBFS); signals are float32 in [-1, 1].
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import signal as _sig
from scipy.ndimage import minimum_filter1d as _minimum_filter1d
from scipy.ndimage import uniform_filter1d as _uniform_filter1d
from course_utils.core.errors import ParameterError

__all__ = ["rms_db", "peak_normalize", "set_loudness", "add_noise", "midi_to_hz", "hz_to_midi"]

_F32 = np.float32
_TWO_PI = 2.0 * math.pi


def _rng(rng) -> np.random.Generator:
    """The generator to use: ``rng`` itself, or a fixed-seed one when ``rng`` is None."""
    return rng if rng is not None else np.random.default_rng(0)


def _nsamp(seconds: float, sr: int) -> int:
    """Number of samples in ``seconds`` at ``sr`` Hz (at least 1)."""
    return max(1, int(round(float(seconds) * sr)))


def rms_db(x: np.ndarray) -> float:
    """Root-mean-square level of a signal in dB relative to full scale (dBFS).

    A full-scale sine wave reads -3 dBFS; silence reads -200 dBFS (a floor, not -inf).

    Args:
        x: 1-D signal, float in [-1, 1].

    Returns:
        The level in dBFS (a Python float).
    """
    return _level_db(x)


def _level_db(x: np.ndarray) -> float:
    """RMS level in dBFS with a -200 dB floor (the implementation of :func:`rms_db`)."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return -200.0
    return float(20.0 * np.log10(max(math.sqrt(float(np.mean(x * x))), 1e-10)))


def peak_normalize(x: np.ndarray, peak: float = 0.9) -> np.ndarray:
    """Scale a signal so that its largest absolute sample equals ``peak``.

    Args:
        x: 1-D signal.
        peak: the target peak, in (0, 1].

    Returns:
        A float32 copy; an all-zero input is returned unchanged (as float32).
    """
    x = np.asarray(x, dtype=_F32)
    m = float(np.max(np.abs(x))) if x.size else 0.0
    return x * _F32(peak / m) if m > 0 else x.copy()


def _limit(x: np.ndarray, ceiling: float, sr_hint: int = 16000) -> np.ndarray:
    """A look-ahead peak limiter: a smooth gain curve keeps every sample below ``ceiling``.

    The gain each 2 ms block needs (ceiling / block peak) is spread to the neighbouring blocks
    by a running minimum and smoothed by a running mean of half that width, so the gain is
    already down when a peak arrives and recovers smoothly (no clicks, little distortion);
    the block gains are interpolated linearly between block edges. A final hard clip catches
    rounding leftovers.
    """
    a = np.abs(x)
    if x.size == 0 or float(a.max()) <= ceiling:
        return x
    hop = max(8, int(0.002 * sr_hint))
    m = -(-x.size // hop)
    peaks = np.pad(a, (0, m * hop - x.size)).reshape(m, hop).max(axis=1)
    need = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-9))
    spread = _minimum_filter1d(need, size=9, mode="nearest")
    smooth = np.minimum(_uniform_filter1d(spread, size=5, mode="nearest"), need)
    knots = np.minimum(np.concatenate([[smooth[0]], smooth]), np.concatenate([smooth, [smooth[-1]]]))
    g = _ctrl_to_audio(knots, hop, x.size)
    return np.clip(x * g, -ceiling, ceiling).astype(_F32)


def set_loudness(x: np.ndarray, rms_db: float, sr: int = 16000) -> np.ndarray:
    """Scale a signal to a target RMS level in dBFS, limiting its peaks if needed.

    If the scaled signal would exceed 0.99 anywhere, a smooth look-ahead limiter brings its
    peaks down and the gain is re-adjusted, a few rounds, so that the level still lands on
    the target (within a fraction of a dB for any target up to about -6 dBFS for music).

    Args:
        x: 1-D signal.
        rms_db: target RMS level in dBFS, e.g. -20 (typical), -35 (quiet), -10 (loud).
        sr: sample rate in Hz, only used to size the limiter's 4 ms window.

    Returns:
        float32 signal with peak <= 0.99. An all-zero input is returned as zeros.
    """
    target_db = float(rms_db)
    y = np.asarray(x, dtype=_F32).copy()
    if y.size == 0 or not np.any(y):
        return y
    target = 10.0 ** (target_db / 20.0)
    for _ in range(6):
        cur = 10.0 ** (_level_db(y) / 20.0)
        y *= _F32(target / cur)
        if float(np.max(np.abs(y))) <= 0.99:
            break
        y = _limit(y, 0.99, sr)
        if abs(_level_db(y) - target_db) < 0.05:
            break
    return _limit(y, 0.99, sr).astype(_F32)


def _white(n: int, rng: np.random.Generator) -> np.ndarray:
    """White noise, float32, unit variance (uniformly distributed: 6 times faster to draw than
    Gaussian noise, and it sounds the same)."""
    y = rng.random(int(n), dtype=_F32)
    y -= _F32(0.5)
    y *= _F32(math.sqrt(12.0))
    return y


#: Paul Kellet's "economy" pink-noise filter (3 poles), as second-order sections.
_PINK_SOS = _sig.tf2sos([0.049922035, -0.095993537, 0.050612699, -0.004408786],
                        [1.0, -2.494956002, 2.017265875, -0.522189400])
_BROWN_SOS = np.array([[1.0, 0.0, 0.0, 1.0, -0.995, 0.0]])


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    """Pink (1/f) noise: white noise through Paul Kellet's 3-pole filter, unit RMS, float32."""
    y = _sig.sosfilt(_PINK_SOS, _white(n + 2000, rng))[2000:]
    return (y / (np.std(y) + 1e-12)).astype(_F32)


def _brown(n: int, rng: np.random.Generator) -> np.ndarray:
    """Brown (1/f^2, rumbling) noise: leaky-integrated white noise, unit RMS, float32."""
    y = _sig.sosfilt(_BROWN_SOS, _white(n + 4000, rng))[4000:]
    y = y - np.mean(y)
    return (y / (np.std(y) + 1e-12)).astype(_F32)


def _noise(n: int, rng: np.random.Generator, color: str = "pink") -> np.ndarray:
    """Noise of a colour: ``"white"``, ``"pink"`` or ``"brown"``, unit RMS, float32."""
    if color == "white":
        return _white(n, rng)
    if color == "pink":
        return _pink(n, rng)
    if color == "brown":
        return _brown(n, rng)
    raise ParameterError(f"noise colour must be 'white', 'pink' or 'brown', not {color!r}")


def add_noise(x: np.ndarray, snr_db: float, rng: np.random.Generator, color: str = "pink") -> np.ndarray:
    """Add background noise at a given signal-to-noise ratio.

    Args:
        x: 1-D signal.
        snr_db: signal-to-noise ratio in dB (RMS of ``x`` over RMS of the noise); 0 dB means
            as loud as the signal, 40 dB barely audible.
        rng: random generator for the noise.
        color: ``"pink"`` (default, natural-sounding hiss), ``"white"`` or ``"brown"`` (rumble).

    Returns:
        float32 signal of the same length; scaled down as a whole only if its peak would
        exceed 0.99 (so the SNR is exact).
    """
    x = np.asarray(x, dtype=_F32)
    level = rms_db(x) - float(snr_db)
    y = x + _noise(x.size, rng, color) * _F32(10.0 ** (level / 20.0))
    m = float(np.max(np.abs(y))) if y.size else 0.0
    return (y * _F32(0.99 / m) if m > 0.99 else y).astype(_F32)


@lru_cache(maxsize=512)
def _butter(order: int, cutoff, btype: str, sr: int) -> np.ndarray:
    """Second-order sections of a Butterworth filter; cut-offs clamped below Nyquist."""
    nyq = 0.5 * sr
    if isinstance(cutoff, tuple):
        lo = min(max(cutoff[0], 10.0), 0.9 * nyq)
        hi = min(max(cutoff[1], lo * 1.1), 0.95 * nyq)
        wn = (lo / nyq, hi / nyq)
    else:
        wn = min(max(float(cutoff), 10.0), 0.95 * nyq) / nyq
    return _sig.butter(order, wn, btype=btype, output="sos")


def _filt(x: np.ndarray, order: int, cutoff, btype: str, sr: int) -> np.ndarray:
    """Filter ``x`` with a cached Butterworth design; returns float32."""
    if isinstance(cutoff, (list, np.ndarray)):
        cutoff = tuple(float(c) for c in cutoff)
    elif not isinstance(cutoff, tuple):
        cutoff = float(round(float(cutoff), 1))
    else:
        cutoff = tuple(float(round(c, 1)) for c in cutoff)
    return _sig.sosfilt(_butter(order, cutoff, btype, int(sr)), x).astype(_F32)


def _fade(x: np.ndarray, sr: int, fade_in: float = 0.002, fade_out: float = 0.005) -> np.ndarray:
    """Apply short raised-cosine fades at both ends (in place) so that nothing clicks."""
    n = x.size
    for length, rev in ((fade_in, False), (fade_out, True)):
        m = min(n // 2, int(length * sr))
        if m > 1:
            ramp = (0.5 - 0.5 * np.cos(np.linspace(0.0, math.pi, m))).astype(_F32)
            if rev:
                x[n - m:] *= ramp[::-1]
            else:
                x[:m] *= ramp
    return x


def _ctrl_to_audio(c: np.ndarray, hop: int, n: int) -> np.ndarray:
    """Linearly interpolate a control-rate signal (knots every ``hop`` samples) to ``n`` samples.

    ``c`` has shape ``(..., m)`` with ``m >= ceil(n / hop) + 1``; returns float32 ``(..., n)``.
    """
    c = np.asarray(c, dtype=_F32)
    m = -(-n // hop)
    if c.shape[-1] < m + 1:
        pad = [(0, 0)] * (c.ndim - 1) + [(0, m + 1 - c.shape[-1])]
        c = np.pad(c, pad, mode="edge")
    w = (np.arange(hop, dtype=_F32) / _F32(hop))
    a = c[..., :m, None]
    d = c[..., 1:m + 1, None] - a
    out = (a + d * w).reshape(c.shape[:-1] + (m * hop,))
    return out[..., :n]


def _smooth_noise(n: int, rng: np.random.Generator, bandwidth: float, rate: float) -> np.ndarray:
    """Slowly wandering noise of unit RMS, low-passed at ``bandwidth`` Hz, sampled at ``rate`` Hz."""
    a = math.exp(-_TWO_PI * bandwidth / rate)
    y = _sig.lfilter([1.0 - a], [1.0, -a], _white(n + int(rate / max(bandwidth, 0.1)), rng))
    y = y[-n:]
    return (y / (np.std(y) + 1e-9)).astype(_F32)


def midi_to_hz(m):
    """Frequency of a MIDI note number (A4 = 69 = 440 Hz, 12 equal-tempered semitones per octave).

    Args:
        m: MIDI note number(s), int or float, scalar or array.

    Returns:
        Frequency in Hz: a Python float for a scalar, a float64 array for an array.
    """
    f = 440.0 * np.power(2.0, (np.asarray(m, dtype=np.float64) - 69.0) / 12.0)
    return float(f) if f.ndim == 0 else f


def hz_to_midi(f):
    """MIDI note number (float) of a frequency in Hz; the inverse of :func:`midi_to_hz`.

    Args:
        f: frequency in Hz, scalar or array (> 0).

    Returns:
        A Python float for a scalar, a float64 array for an array.
    """
    m = 69.0 + 12.0 * np.log2(np.asarray(f, dtype=np.float64) / 440.0)
    return float(m) if m.ndim == 0 else m


def _reverb(x: np.ndarray, sr: int, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Room reverberation: convolution with a decaying, darkening noise tail (T60 0.6-1.4 s)."""
    if amount <= 0 or x.size == 0:
        return x
    t60 = rng.uniform(0.6, 1.4)
    length = _nsamp(min(0.6, t60), sr)
    t = np.arange(length, dtype=_F32) / _F32(sr)
    ir = _filt(_white(length, rng), 1, rng.uniform(2500.0, 5000.0), "lowpass", sr) * np.exp(-t * _F32(6.91 / t60))
    pre = int(rng.uniform(0.01, 0.025) * sr)
    ir = np.concatenate([np.zeros(pre, _F32), ir])
    ir /= _F32(math.sqrt(float(np.sum(ir * ir))) + 1e-12)
    wet = _sig.oaconvolve(x, ir)[: x.size].astype(_F32)
    return (x * _F32(1.0 - 0.5 * amount) + wet * _F32(amount)).astype(_F32)
