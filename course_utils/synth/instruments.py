"""Instruments: one note of each instrument, by additive and subtractive synthesis.

- **Additive synthesis.** The amplitudes of a note's partials give its timbre: ``1/k`` for a
  bowed string's sawtooth-like motion, only a few partials for a flute, a comb of notches for
  a string plucked at a given point, the drawbar mixture of an organ (the engine is
  :mod:`course_utils.synth.additive`).
- **Envelopes.** The loudness of a note over time: a fast attack and an exponential decay
  for plucked and struck strings (the high partials dying faster, so the sound darkens), a
  slow attack and a sustain for bowed strings, a flat sustain for the organ. Vibrato is a
  slow (about 5-6 Hz) periodic variation of the pitch.
- **Subtractive synthesis.** A bright waveform (sawtooth, square) through a low-pass filter
  whose cut-off sweeps down: the classic analogue ``synth`` sound.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from course_utils.synth.additive import (_bumps, _const_phases, _decay_layers, _decaying_partials, _envelope,
                                         _exp_decays, _harmonic_sines, _layered_sum, _noise_burst, _partial_count,
                                         _partial_limit, _rolloff, _sines, _strong, _track_phase, _velocity_gain,
                                         _velocity_tilt)
from course_utils.synth.dsp import (_F32, _TWO_PI, _ctrl_to_audio, _fade, _filt, _nsamp, _rng, _smooth_noise,
                                    _white, hz_to_midi, peak_normalize)
from course_utils.core.errors import ParameterError

__all__ = ["INSTRUMENTS", "EXTRA_INSTRUMENTS", "INSTRUMENT_RANGE", "note"]


#: The instruments :func:`note` can play, one characteristic spectrum and envelope each.
INSTRUMENTS = ("guitar", "piano", "strings", "violin", "cello", "flute", "organ", "synth", "harpsichord", "harp",
               "sitar", "bass")
#: Further instruments :func:`note` accepts, kept apart so that iterating over
#: :data:`INSTRUMENTS` gives exactly the tag-like list above.
EXTRA_INSTRUMENTS = ("electric_guitar", "brass")

#: Comfortable melodic range of each instrument, as (lowest, highest) MIDI note.
INSTRUMENT_RANGE = {
    "guitar": (52, 76), "piano": (60, 84), "strings": (60, 84), "violin": (67, 91), "cello": (43, 64),
    "flute": (72, 93), "organ": (60, 82), "synth": (60, 82), "harpsichord": (62, 86), "harp": (55, 84),
    "sitar": (57, 79), "bass": (33, 52), "electric_guitar": (52, 76), "brass": (55, 77),
}


#: Plucked strings: pluck position range (fraction of the string), spectral slope, decay time
#: T60 of the fundamental at ``f_ref`` Hz and how it scales with pitch, how much faster the
#: upper partials decay, body resonances (Hz, octaves, dB), roll-off (Hz), attack/release (s),
#: pluck noise (band Hz, decay s, level), inharmonicity B, and how much softness darkens.
_PLUCKED = {
    "guitar": dict(beta=(0.10, 0.20), slope=1.0, t60=3.0, t60_exp=0.5, f_ref=196.0, hf=0.35, hf_pow=1.1,
                   body=((105, 0.4, 6), (220, 0.4, 4), (2500, 1.0, 3)), roll=4500.0, attack=0.002, release=0.08,
                   noise=((800.0, 4000.0), 0.004, 0.25), B=1.5e-5, vel_tilt=1.0, k_max=40),
    "harp": dict(beta=(0.42, 0.5), slope=1.5, t60=5.0, t60_exp=0.6, f_ref=262.0, hf=0.12, hf_pow=1.0,
                 body=((300, 1.0, 3),), roll=3000.0, attack=0.004, release=0.15,
                 noise=((300.0, 2000.0), 0.006, 0.08), B=1e-5, vel_tilt=0.8, k_max=24),
    "harpsichord": dict(beta=(0.05, 0.09), slope=0.75, t60=2.2, t60_exp=0.5, f_ref=262.0, hf=0.2, hf_pow=1.0,
                        body=((500, 1.0, 3), (2500, 1.0, 2)), roll=5000.0, attack=0.0008, release=0.05,
                        noise=((2000.0, 6000.0), 0.003, 0.12), B=0.0, vel_tilt=0.2, k_max=60),
    "bass": dict(beta=(0.15, 0.25), slope=1.3, t60=2.5, t60_exp=0.4, f_ref=55.0, hf=0.6, hf_pow=1.0,
                 body=((80, 0.7, 4),), roll=1500.0, attack=0.004, release=0.06,
                 noise=(400.0, 0.01, 0.15), B=5e-5, vel_tilt=0.8, k_max=16),
    "electric_guitar": dict(beta=(0.2, 0.3), slope=0.8, t60=6.0, t60_exp=0.4, f_ref=196.0, hf=0.2, hf_pow=1.0,
                            body=((1500, 1.0, 4),), roll=2500.0, attack=0.002, release=0.06,
                            noise=((1000.0, 4000.0), 0.003, 0.1), B=1e-5, vel_tilt=0.6, k_max=40, fmax=3000.0),
}


def _variant_fraction(timbre, rng) -> float:
    """A number in [0, 1) that picks a variant within a range: from ``timbre`` or at random."""
    if timbre is None:
        return float(rng.random())
    return (int(timbre) * 0.618034) % 1.0


def _plucked(inst: str, f0: float, n: int, sr: int, vel: float, rng, timbre) -> np.ndarray:
    """Plucked string: comb-shaped spectrum, partials decaying faster the higher they are."""
    p = _PLUCKED[inst]
    fmax = _partial_limit(sr, p.get("fmax"))
    kk = np.arange(1, _partial_count(f0, sr, p["k_max"], fmax) + 1, dtype=float)
    freqs = kk * f0 * np.sqrt(1.0 + p["B"] * kk ** 2)
    kk, freqs = kk[freqs < fmax], freqs[freqs < fmax]
    lo, hi = p["beta"]
    beta = lo + (hi - lo) * _variant_fraction(timbre, rng)
    amps = (np.abs(np.sin(math.pi * kk * beta)) + 0.04) / kk ** p["slope"]
    amps *= _bumps(freqs, p["body"]) * _rolloff(freqs, p["roll"]) * _velocity_tilt(kk, vel, p["vel_tilt"])
    amps *= np.exp(0.1 * rng.standard_normal(kk.size))
    amps, kk, freqs = _strong(amps, kk, freqs)
    t60 = p["t60"] * (f0 / p["f_ref"]) ** (-p["t60_exp"])
    d1 = 6.91 / t60
    rates = d1 * (1.0 + p["hf"] * (kk - 1.0) ** p["hf_pow"])
    n_layers = int(min(5, max(2, math.ceil(math.log(rates.max() / d1) / math.log(3.0)) + 1)))
    base = d1 * 3.0 ** np.arange(n_layers)
    y = _decaying_partials(freqs, _decay_layers(amps, rates, base), base, n, sr)
    band, dec, lev = p["noise"]
    y += _noise_burst(n, sr, rng, band, dec, lev * float(np.sum(amps)) * (0.5 + vel))
    y *= _envelope(n, sr, p["attack"] * (1.5 - 0.5 * vel), p["release"])
    if inst == "electric_guitar":  # overdrive (input band-limited to 3 kHz: little aliasing) and a cabinet
        y = np.tanh(4.0 * y / (np.max(np.abs(y)) + 1e-9)).astype(_F32)
        y = _filt(y, 2, 4500.0, "lowpass", sr)
    return y


def _piano(inst: str, f0: float, n: int, sr: int, vel: float, rng, timbre) -> np.ndarray:
    """Struck string: stretched (inharmonic) partials, hammer-shaped spectrum, two-stage decay."""
    midi = hz_to_midi(f0)
    b = 2.5e-4 * 2.0 ** ((midi - 60.0) / 18.0)
    kk = np.arange(1, _partial_count(f0, sr, 36) + 1, dtype=float)
    freqs = kk * f0 * np.sqrt(1.0 + b * kk ** 2)
    kk, freqs = kk[freqs < _partial_limit(sr)], freqs[freqs < _partial_limit(sr)]
    f_hammer = 700.0 + 3800.0 * vel ** 2
    amps = (np.abs(np.sin(math.pi * kk / 7.3)) + 0.1) / kk ** 0.7 / (1.0 + (freqs / f_hammer) ** 2)
    amps *= np.exp(0.08 * rng.standard_normal(kk.size))
    amps, kk, freqs = _strong(amps, kk, freqs)
    t60 = 6.0 * (f0 / 262.0) ** (-0.7)
    d1 = 6.91 / t60
    rates = d1 * (1.0 + 0.25 * (kk - 1.0) ** 1.3)
    base = (d1 / 6.0) * 3.0 ** np.arange(6)
    after = 0.3 * kk ** -0.7  # the slow "aftersound" matters most for the low partials
    w = _decay_layers(amps * (1.0 - after), rates, base) + _decay_layers(amps * after, rates / 6.0, base)
    y = _decaying_partials(freqs, w, base, n, sr)
    y += _noise_burst(n, sr, rng, 400.0, 0.01, 0.35 * float(np.sum(amps)) * vel)
    y += _noise_burst(n, sr, rng, (1500.0, 5000.0), 0.002, 0.08 * float(np.sum(amps)) * vel)
    y *= _envelope(n, sr, 0.0015, 0.12)
    return y


_BOWED = {
    "violin": dict(body=((290, 0.25, 7), (480, 0.3, 4), (1000, 0.3, -3), (2800, 0.5, 8), (4500, 0.4, 2)),
                   roll=5500.0, hp=190.0, vib_rate=(5.6, 6.6), vib_depth=(18.0, 30.0), attack=0.07, release=0.15,
                   voices=1, detune=0.0, bow_noise=0.025, k_max=40, fmax=7000.0),
    "cello": dict(body=((110, 0.3, 6), (220, 0.3, 5), (600, 0.4, 2), (1500, 0.5, 6)), roll=3500.0, hp=60.0,
                  vib_rate=(4.8, 5.6), vib_depth=(12.0, 25.0), attack=0.11, release=0.2, voices=1, detune=0.0,
                  bow_noise=0.015, k_max=40, fmax=5000.0),
    "strings": dict(body=((250, 0.4, 5), (500, 0.4, 3), (2300, 0.6, 5)), roll=4000.0, hp=100.0, vib_rate=(4.5, 6.0),
                    vib_depth=(8.0, 18.0), attack=0.22, release=0.3, voices=3, detune=7.0, bow_noise=0.02,
                    k_max=24, fmax=4500.0),
}


def _vibrato_cents(n: int, sr: int, rng, rate: float, depth: float, delay: float, ramp: float) -> np.ndarray:
    """Vibrato in cents: a sine of about ``rate`` Hz whose depth fades in after ``delay`` s.

    Computed at a control rate (every 32 samples) and interpolated: vibrato is slow.
    """
    hop = 32
    m = -(-n // hop) + 1
    t = np.arange(m) * (hop / sr)
    fade = np.clip((t - delay) / max(ramp, 1e-3), 0.0, 1.0)
    rate_t = rate * (1.0 + 0.03 * np.sin(_TWO_PI * 0.7 * t + rng.uniform(0, 6.28)))
    ph = np.cumsum(rate_t) * (hop / sr) + rng.random()
    return _ctrl_to_audio(depth * fade * np.sin(_TWO_PI * ph), hop, n)


def _bowed(inst: str, f0: float, n: int, sr: int, vel: float, rng, timbre) -> np.ndarray:
    """Bowed string: sawtooth-like 1/k spectrum shaped by body resonances, vibrato, bow noise."""
    p = _BOWED[inst]
    vib_margin = 2.0 ** (40.0 / 1200.0)
    kk = np.arange(1, _partial_count(f0 * vib_margin, sr, p["k_max"], p["fmax"]) + 1, dtype=float)
    freqs = kk * f0
    base_amps = (1.0 / kk) * _bumps(freqs, p["body"]) * _rolloff(freqs, p["roll"], 3.0)
    base_amps *= 1.0 / np.sqrt(1.0 + (p["hp"] / freqs) ** 4) * _velocity_tilt(kk, vel, 0.8)
    hop = 64
    m = -(-n // hop) + 1
    pressure = 0.35 * _smooth_noise(m, rng, 2.0, sr / hop)  # bow-pressure wander: brightness
    env_b = _ctrl_to_audio(pressure[None, :], hop, n)
    y = np.zeros(n, dtype=_F32)
    n_voices = p["voices"]
    for v in range(n_voices):
        kv = kk if v == 0 else kk[:max(4, kk.size // 2)]  # the chorus matters most in the low partials
        amps = base_amps[:kv.size] * np.exp(0.12 * rng.standard_normal(kv.size))
        bright = amps * (kv - 1.0) / max(kk.size, 1)
        cents = _vibrato_cents(n, sr, rng, rng.uniform(*p["vib_rate"]), rng.uniform(*p["vib_depth"]),
                               rng.uniform(0.12, 0.3), 0.3)
        if n_voices > 1:
            cents += _F32(p["detune"] * (v - (n_voices - 1) / 2.0) + rng.normal(0.0, 2.0))
        f_t = np.exp2(cents * _F32(1.0 / 1200.0)) * _F32(f0)
        s = _harmonic_sines(_track_phase(f_t, sr, float(rng.random())), kv)
        y += _layered_sum(s, np.stack([amps, bright]), np.concatenate([np.ones((1, n), _F32), env_b]))
    y /= _F32(n_voices ** 0.5)
    level = float(np.sum(base_amps))
    noise = _filt(_white(n, rng), 2, (1500.0, min(7000.0, 0.45 * sr)), "bandpass", sr)
    att = np.exp(-np.arange(n, dtype=_F32) / _F32(0.08 * sr))
    y += noise * _F32(p["bow_noise"] * level) * (1.0 + 2.0 * att)
    y *= _envelope(n, sr, p["attack"] * (1.4 - 0.6 * vel), p["release"])
    return y


def _flute(inst: str, f0: float, n: int, sr: int, vel: float, rng, timbre) -> np.ndarray:
    """Flute: few partials (louder playing adds upper ones), breathy noise, chiff, gentle vibrato."""
    kk = np.arange(1, _partial_count(f0 * 1.02, sr, 8) + 1, dtype=float)
    amps = np.array([1.0, 0.45, 0.2, 0.1, 0.06, 0.035, 0.02, 0.012])[:kk.size]
    amps = amps * _velocity_tilt(kk, vel, 2.5) * np.exp(0.1 * rng.standard_normal(kk.size))
    chiff = amps * np.where((kk >= 2) & (kk <= 3), 1.5, 0.2)
    cents = _vibrato_cents(n, sr, rng, rng.uniform(4.5, 5.5), rng.uniform(8.0, 15.0), 0.2, 0.3)
    f_t = f0 * np.exp2(cents.astype(np.float64) / 1200.0)
    s = _harmonic_sines(_track_phase(f_t, sr, float(rng.random())), kk)
    env = np.stack([1.0 + cents / _F32(300.0), _exp_decays(np.array([1.0 / 0.05]), n, sr)[0]])
    y = _layered_sum(s, np.stack([amps, chiff]), env)
    breath = _filt(_white(n, rng), 2, (1.2 * f0, min(6000.0, 0.45 * sr)), "bandpass", sr)
    y += breath * _F32(0.05 + 0.04 * vel)
    y += _noise_burst(n, sr, rng, (2000.0, 5000.0), 0.02, 0.25)
    y *= _envelope(n, sr, 0.06 * (1.3 - 0.5 * vel), 0.1)
    return y


#: Hammond-style drawbar registrations (levels 0-8 of the 16', 5 1/3', 8', 4', 2 2/3', 2',
#: 1 3/5', 1 1/3', 1' pipes); the ``timbre`` argument of :func:`note` picks one.
_DRAWBARS = ("888000000", "688600000", "888888888", "008800000", "868000008")
_DRAWBAR_RATIOS2 = np.array([1, 3, 2, 4, 6, 8, 10, 12, 16], dtype=float)  # in units of f0 / 2


def _organ(inst: str, f0: float, n: int, sr: int, vel: float, rng, timbre) -> np.ndarray:
    """Drawbar organ: a fixed mixture of octave-related partials, flat envelope, key click."""
    reg = _DRAWBARS[int(timbre or 0) % len(_DRAWBARS)]
    levels = np.array([int(c) for c in reg], dtype=float)
    amps = np.where(levels > 0, 10.0 ** (-3.0 * (8.0 - levels) / 20.0), 0.0)
    keep = (amps > 0) & (_DRAWBAR_RATIOS2 * f0 / 2.0 < _partial_limit(sr))
    ratios, amps = _DRAWBAR_RATIOS2[keep], amps[keep]
    if ratios.size == 0:
        ratios, amps = np.array([2.0]), np.array([1.0])
    perc = np.where(ratios == 6.0, 0.6, 0.0) if int(timbre or 0) % len(_DRAWBARS) == 0 else np.zeros_like(amps)
    t = np.arange(n, dtype=_F32) / _F32(sr)
    leslie = np.sin(_F32(_TWO_PI * rng.uniform(5.8, 6.8)) * t + _F32(rng.uniform(0, 6.28)))
    f_t = 0.5 * f0 * (1.0 + 0.0015 * leslie.astype(np.float64))
    s = _harmonic_sines(_track_phase(f_t, sr, float(rng.random())), ratios)
    env = np.stack([1.0 + _F32(0.08) * leslie, np.exp(-t / _F32(0.2))])
    y = _layered_sum(s, np.stack([amps, perc]), env)
    y += _noise_burst(n, sr, rng, (1000.0, 6000.0), 0.002, 0.25 * float(np.sum(amps)) * vel)
    y *= _envelope(n, sr, 0.006, 0.04)
    return y


def _resonant_lowpass(x: np.ndarray, q: float) -> np.ndarray:
    """Magnitude of a 2-pole resonant low-pass at normalised frequency x = f / fc."""
    return 1.0 / np.sqrt((1.0 - x ** 2) ** 2 + (x / q) ** 2)


def _swept_tone(f0: float, n: int, sr: int, amps: np.ndarray, kk: np.ndarray, fc_t: np.ndarray, q: float,
                detunes_cents: Sequence, rng) -> np.ndarray:
    """Subtractive synthesis: harmonic tone through a resonant low-pass whose cut-off moves.

    ``fc_t`` is the cut-off (Hz) at control rate (every 64 samples). The filter is applied per
    partial by interpolating between 5 fixed filter positions (the layers).
    """
    hop = 64
    lf = np.log(np.maximum(fc_t, 20.0))
    pos_lo, pos_hi = float(lf.min()), float(lf.max()) + 1e-6
    centres = np.linspace(pos_lo, pos_hi, 5)
    w = np.stack([amps * _resonant_lowpass(kk * f0 / math.exp(c), q) for c in centres])
    u = (lf - pos_lo) / (pos_hi - pos_lo) * 4.0
    weights = np.clip(1.0 - np.abs(u[None, :] - np.arange(5)[:, None]), 0.0, 1.0)
    env = _ctrl_to_audio(weights, hop, n)
    s = None
    for dc in detunes_cents:
        p = _track_phase(np.full(1, f0 * 2.0 ** (dc / 1200.0)).repeat(n), sr, float(rng.random()))
        si = _harmonic_sines(p, kk)
        s = si if s is None else s + si
    return _layered_sum(s, w, env)


def _synth(inst: str, f0: float, n: int, sr: int, vel: float, rng, timbre) -> np.ndarray:
    """Analogue-style synth: sawtooth or square through a resonant low-pass with a swept cut-off.

    ``timbre`` 0: sawtooth with a falling filter ("pluck"), 1: square, 2: two detuned saws,
    3: a pad whose filter slowly opens. Brass (an extra instrument) is a fast-opening filter.
    """
    variant = int(timbre or 0) % 4
    kk = np.arange(1, _partial_count(f0 * 1.01, sr, 60) + 1, dtype=float)
    amps = 1.0 / kk
    if variant == 1:
        amps = np.where(kk % 2 == 1, amps, 0.0)
    hop = 64
    tc = np.arange(-(-n // hop) + 1) * hop / sr
    if inst == "brass":
        amps = kk ** -1.1 * _bumps(kk * f0, ((1200, 0.8, 6),))
        lo, hi = 1.5, 3.0 + 8.0 * vel
        fc = f0 * (lo + (hi - lo) * (1.0 - np.exp(-tc / 0.06)) * np.exp(-tc / 3.0))
        y = _swept_tone(f0, n, sr, amps, kk, fc, 1.2, (0.0,), rng)
        y *= _envelope(n, sr, 0.04, 0.08)
        return y
    if variant == 3:
        fc = f0 * (1.5 + (4.0 + 6.0 * vel) * (1.0 - np.exp(-tc / 0.8)))
        att, rel = 0.15, 0.3
    else:
        c_start, c_end = 3.0 + 14.0 * vel, 1.5 + 2.5 * vel
        fc = f0 * (c_end + (c_start - c_end) * np.exp(-tc / rng.uniform(0.15, 0.4)))
        att, rel = 0.005, 0.08
    detunes = (-9.0, 9.0) if variant == 2 else (0.0,)
    y = _swept_tone(f0, n, sr, amps, kk, fc, 2.5, detunes, rng)
    y *= _envelope(n, sr, att, rel)
    return y


def _sitar(inst: str, f0: float, n: int, sr: int, vel: float, rng, timbre) -> np.ndarray:
    """Sitar: bright buzzing partials (the jawari bridge: a spectral peak sweeping down),
    an optional glide into the note (meend) and shimmering sympathetic strings."""
    kk = np.arange(1, _partial_count(f0 * 1.01, sr, 40, 6000.0) + 1, dtype=float)
    freqs = kk * f0
    amps = kk ** -0.9 * _rolloff(freqs, 4000.0) * _velocity_tilt(kk, vel, 0.5)
    centres = np.minimum(np.array([3000.0, 1500.0, 800.0]), 0.4 * sr)
    w = np.stack([amps * (1.0 + 5.0 * np.exp(-0.5 * ((np.log2(freqs) - math.log2(c)) / 0.35) ** 2)) for c in centres])
    t = np.arange(n, dtype=_F32) / _F32(sr)
    u = _F32(2.0) * (1.0 - np.exp(-t / _F32(0.35)))
    env = np.clip(1.0 - np.abs(u[None, :] - np.arange(3, dtype=_F32)[:, None]), 0.0, 1.0)
    f_t = np.full(n, f0)
    if rng.random() < 0.35 and timbre is None:  # meend: glide up into the note
        glide = float(rng.choice([1.0, 2.0]))
        f_t = f0 * 2.0 ** (-glide / 12.0 * np.exp(-t.astype(np.float64) / rng.uniform(0.04, 0.09)))
    s = _harmonic_sines(_track_phase(f_t, sr, float(rng.random())), kk)
    y = _layered_sum(s, w, env)
    y *= np.exp(-t * _F32(6.91 / (3.5 * (f0 / 220.0) ** -0.4)))
    sym = f0 * np.array([1.5, 2.0, 3.0, 4.0]) * 2.0 ** (rng.normal(0.0, 3.0, 4) / 1200.0)
    sym = sym[sym < 0.45 * sr]
    if sym.size:
        s2 = _sines(_const_phases(sym, n, sr))
        e2 = (1.0 - np.exp(-t / _F32(0.15))) * np.exp(-t / _F32(2.5))
        y += s2.sum(axis=0) * (e2 * _F32(0.06 * float(np.sum(amps)) / sym.size))
    y += _noise_burst(n, sr, rng, (1000.0, 5000.0), 0.004, 0.3 * float(np.sum(amps)) * vel)
    y *= _envelope(n, sr, 0.002, 0.1)
    return y


_RENDERERS = {
    "guitar": _plucked, "harp": _plucked, "harpsichord": _plucked, "bass": _plucked, "electric_guitar": _plucked,
    "piano": _piano, "strings": _bowed, "violin": _bowed, "cello": _bowed, "flute": _flute, "organ": _organ,
    "synth": _synth, "brass": _synth, "sitar": _sitar,
}


def note(instrument: str, f0: float, duration: float, sr: int, velocity: float = 0.8, rng=None, *,
         timbre: int | None = None) -> np.ndarray:
    """One note of an instrument, by additive synthesis.

    Each instrument has its own spectrum and envelope: plucked strings (``guitar``, ``harp``,
    ``harpsichord``: brighter, more partials; ``bass``) decay with their high partials dying
    first; ``piano`` has stretched (inharmonic) partials and a two-stage decay; bowed strings
    (``violin``, ``cello``, ``strings``: an ensemble of three detuned players) attack slowly and
    sing with vibrato; ``flute`` has few partials and breath noise; ``organ`` sustains a
    drawbar mixture; ``synth`` is a sawtooth/square with a sweeping resonant low-pass; ``sitar``
    buzzes, may glide into the note and rings with sympathetic strings.

    Args:
        instrument: one of :data:`INSTRUMENTS` or :data:`EXTRA_INSTRUMENTS`.
        f0: fundamental frequency in Hz (use :func:`midi_to_hz`); must be below 0.45 * sr.
        duration: seconds the note lasts, release included (the key is let go a little before
            the end; plucked notes may have died away earlier).
        sr: sample rate in Hz.
        velocity: playing strength in [0, 1]: louder *and* brighter (more high partials),
            with a sharper attack.
        rng: random generator for the small natural variations (None: a fixed seed).
        timbre: picks a variant of the instrument, fixed across the notes of a piece: the
            organ registration (0-4), the synth waveform (0 saw, 1 square, 2 detuned saws,
            3 slow pad), the pluck position of plucked strings (and, for the sitar, no glide
            into the note). None: variant 0 for organ and synth, a random pluck position per
            note for plucked strings.

    Returns:
        float32 array of ``round(duration * sr)`` samples, peak ``0.9 * gain(velocity)``
        (about 0.83 at velocity 0.8, 0.36 at 0.3).

    Notebook 01.
    """
    if instrument not in _RENDERERS:
        raise ParameterError(f"unknown instrument {instrument!r}; choose one of {INSTRUMENTS + EXTRA_INSTRUMENTS}")
    f0 = float(f0)
    if not 10.0 <= f0 < 0.45 * sr:
        raise ParameterError(f"f0={f0:.1f} Hz is outside 10 Hz .. 0.45 * sr = {0.45 * sr:.0f} Hz")
    if duration <= 0:
        raise ParameterError(f"duration must be positive, not {duration}")
    rng = _rng(rng)
    vel = float(np.clip(velocity, 0.05, 1.0))
    n = _nsamp(duration, sr)
    y = _RENDERERS[instrument](instrument, f0, n, int(sr), vel, rng, timbre)
    y = _fade(np.nan_to_num(y.astype(_F32)), sr, 0.001, 0.004)
    return peak_normalize(y, 0.9 * _velocity_gain(vel))
