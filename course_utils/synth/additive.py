"""The additive synthesis engine: sums of sinusoidal partials with layered envelopes.

A pitched note is a sum of sinusoids, its *partials*, at frequencies ``k * f0`` (harmonic) or
slightly stretched ones (a piano's stiff strings). The amplitudes of the partials give the
*timbre*; the sum is computed as one matrix product, which keeps it fast.

A note is  g(t) * sum_j E_j(t) * sum_k W[j, k] * sin(2 pi phi_k(t)):  K partials with phases
phi_k, grouped into J "layers" that share a time envelope E_j (a decay rate, a filter
position, ...). The inner sum over k is one matrix product (J, K) @ (K, N) (computed with
einsum), which is what makes it fast enough to render thousands of clips.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from course_utils.synth.dsp import _F32, _filt, _TWO_PI, _white



def _const_phases(freqs: np.ndarray, n: int, sr: int, block: int = 1024) -> np.ndarray:
    """Phases (in cycles, float32, in [0, 2)) of constant-frequency partials over ``n`` samples.

    Computed as a per-block offset plus an in-block ramp, both wrapped in float64, so that the
    float32 result keeps full precision however long the note is.
    """
    step = np.asarray(freqs, dtype=np.float64) / sr
    q = -(-n // block)
    base = np.mod(np.outer(step, np.arange(q, dtype=np.float64) * block), 1.0).astype(_F32)
    inc = np.mod(np.outer(step, np.arange(block, dtype=np.float64)), 1.0).astype(_F32)
    ph = (base[:, :, None] + inc[:, None, :]).reshape(step.size, q * block)
    return ph[:, :n]


def _track_phase(f_hz: np.ndarray, sr: int, phase0: float = 0.0) -> np.ndarray:
    """Phase (in cycles, float32, wrapped to [0, 1)) of a time-varying frequency track."""
    p = np.cumsum(np.asarray(f_hz, dtype=np.float64)) / sr + phase0
    p -= np.floor(p)
    return p.astype(_F32)


def _sines(phases: np.ndarray) -> np.ndarray:
    """sin(2 pi phases), float32, in place on a float32 array."""
    phases *= _F32(_TWO_PI)
    return np.sin(phases, out=phases)


def _harmonic_sines(p: np.ndarray, ratios: np.ndarray) -> np.ndarray:
    """(K, N) sinusoids of integer ``ratios`` times a wrapped fundamental phase ``p``."""
    ph = np.multiply.outer(np.asarray(ratios, dtype=_F32), p)
    return _sines(ph)


def _layered_sum(s: np.ndarray, w: np.ndarray, env: np.ndarray | None) -> np.ndarray:
    """sum_j env[j] * (w[j] @ s): the layered additive sum, float32 (N,)."""
    # einsum rather than ``@``: a multi-threaded BLAS is slow (and may round differently) on
    # these small, wide products
    y = np.einsum("jk,kn->jn", np.asarray(w, dtype=_F32), s)
    if env is None:
        return y.sum(axis=0) if y.ndim == 2 else y
    return np.einsum("jn,jn->n", y, env)


def _decay_layers(amps: np.ndarray, rates: np.ndarray, base_rates: np.ndarray) -> np.ndarray:
    """Distribute partial amplitudes over layers that decay at ``base_rates`` (1/s).

    A partial whose own decay rate falls between two base rates is shared between the two
    layers (interpolated on a log scale). Returns W, shape (J, K).
    """
    j = base_rates.size
    pos = np.interp(np.log(rates), np.log(base_rates), np.arange(j, dtype=float))
    j0 = np.floor(pos).astype(int)
    frac = pos - j0
    j1 = np.minimum(j0 + 1, j - 1)
    w = np.zeros((j, amps.size))
    cols = np.arange(amps.size)
    np.add.at(w, (j0, cols), amps * (1.0 - frac))
    np.add.at(w, (j1, cols), amps * frac)
    return w


def _decaying_partials(freqs: np.ndarray, w: np.ndarray, base: np.ndarray, n: int, sr: int) -> np.ndarray:
    """Sum of constant-frequency partials with layered exponential decays, float32 (n,).

    ``w`` (J, K) spreads each partial over layers decaying at ``base`` (1/s, ascending). A
    partial is only computed for as long as its slowest layer is audible (70 dB down), so the
    quickly dying high partials of a plucked string cost little.
    """
    y = np.zeros(n, dtype=_F32)
    present = w > 1e-12
    slowest = np.argmax(present, axis=0)
    for j in np.unique(slowest):
        idx = np.flatnonzero(slowest == j)
        nj = min(n, int(8.1 / base[j] * sr) + 1)
        s = _sines(_const_phases(freqs[idx], nj, sr))
        y[:nj] += _layered_sum(s, w[j:, idx], _exp_decays(base[j:], nj, sr))
    return y


def _bumps(freqs: np.ndarray, spec: Sequence) -> np.ndarray:
    """Spectral envelope: product of log-frequency Gaussian bumps (centre Hz, width octaves, gain dB)."""
    lf = np.log2(np.maximum(freqs, 1.0))
    g = np.zeros_like(lf)
    for fc, width, gain_db in spec:
        g += gain_db * np.exp(-0.5 * ((lf - math.log2(fc)) / width) ** 2)
    return 10.0 ** (g / 20.0)


def _rolloff(freqs: np.ndarray, fc: float, order: float = 2.0) -> np.ndarray:
    """Gentle low-pass shape 1 / sqrt(1 + (f/fc)^(2 order))."""
    return 1.0 / np.sqrt(1.0 + (np.asarray(freqs) / fc) ** (2 * order))


def _envelope(n: int, sr: int, attack: float, release: float, hold: int | None = None) -> np.ndarray:
    """Attack (raised-cosine) to 1, sustain, and raised-cosine release over the last samples.

    ``release`` is clamped to 40 % of the note; ``hold`` samples (default ``n``) mark where the
    release ends. Returns float32 (n,).
    """
    env = np.ones(n, dtype=_F32)
    hold = n if hold is None else min(n, hold)
    a = min(max(2, int(attack * sr)), max(2, hold // 2), n)
    env[:a] = 0.5 - 0.5 * np.cos(np.linspace(0.0, math.pi, a, dtype=_F32))
    r = min(max(2, int(release * sr)), max(2, int(0.4 * hold)), hold)
    env[hold - r:hold] *= 0.5 + 0.5 * np.cos(np.linspace(0.0, math.pi, r, dtype=_F32))
    env[hold:] = 0.0
    return env


def _exp_decays(rates: np.ndarray, n: int, sr: int) -> np.ndarray:
    """(J, n) float32 exponential decays exp(-rate * t)."""
    t = np.arange(n, dtype=_F32) / _F32(sr)
    return np.exp(-np.multiply.outer(np.asarray(rates, dtype=_F32), t))


def _velocity_tilt(k: np.ndarray, velocity: float, strength: float) -> np.ndarray:
    """Brightness of a playing dynamic: soft notes lose high partials (k^-strength*(1-v))."""
    return k ** (-strength * (1.0 - float(velocity)))


#: Partials above this frequency (Hz) are not synthesised: they would cost time, and the
#: course's features (mel bands up to 6 kHz) do not see them.
_PARTIAL_FMAX = 8000.0


def _partial_limit(sr: int, fmax: float | None = None) -> float:
    """Highest partial frequency to synthesise: below 0.45 * sr (no aliasing) and 8 kHz."""
    return min(0.45 * sr, _PARTIAL_FMAX if fmax is None else fmax)


def _strong(amps: np.ndarray, *arrays, floor: float = 1e-3):
    """Keep only partials within 60 dB of the strongest: returns (amps, *arrays) filtered."""
    keep = amps > floor * float(np.max(amps))
    return (amps[keep],) + tuple(a[keep] for a in arrays)


def _partial_count(f0: float, sr: int, k_max: int, fmax: float | None = None) -> int:
    """How many harmonics of ``f0`` fit below :func:`_partial_limit`, capped at ``k_max``."""
    lim = _partial_limit(sr, fmax)
    return int(max(1, min(k_max, math.floor(lim / max(f0, 1.0)))))


def _noise_burst(n: int, sr: int, rng, band, decay: float, level: float) -> np.ndarray:
    """A short band-passed noise burst (pluck, hammer, chiff), exponentially decaying."""
    m = min(n, max(8, int(6 * decay * sr)))
    b = _filt(_white(m, rng), 2, band, "bandpass", sr) if isinstance(band, tuple) else \
        _filt(_white(m, rng), 2, band, "lowpass", sr)
    b *= np.exp(-np.arange(m, dtype=_F32) / _F32(decay * sr)) * _F32(level)
    out = np.zeros(n, dtype=_F32)
    out[:m] = b
    return out


def _velocity_gain(velocity: float) -> float:
    """Peak amplitude of a note played at ``velocity`` (0-1)."""
    return 0.25 + 0.75 * float(velocity) ** 1.3
