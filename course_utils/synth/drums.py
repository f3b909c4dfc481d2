"""Drums: single drum and percussion hits, and drum patterns of dance and genre styles.

Drums are mostly filtered noise (snare wires, hi-hats, shakers) and sinusoids with a falling
pitch (kick, toms): subtractive synthesis, as in the analogue drum machines.
"""

from __future__ import annotations

import math

import numpy as np

from course_utils.core.errors import ParameterError
from course_utils.synth.additive import _noise_burst, _velocity_gain
from course_utils.synth.dsp import _F32, _fade, _filt, _nsamp, _rng, _TWO_PI, _white, peak_normalize
from course_utils.synth.theory import _swing_time

__all__ = ["DRUM_KINDS", "DRUM_STYLES", "EXTRA_DRUM_STYLES", "DRUM_METER", "TYPICAL_TEMPO", "drum_hit",
           "drum_pattern"]


#: The drum sounds :func:`drum_hit` makes.
DRUM_KINDS = ("kick", "snare", "hihat", "open_hihat", "clap", "rim", "tom", "shaker", "crash", "ride", "cowbell",
              "conga")


def _sweep_sine(t: np.ndarray, f_start: float, f_end: float, tau: float) -> np.ndarray:
    """sin of a pitch falling exponentially from f_start to f_end (time constant tau s)."""
    ph = f_end * t + (f_start - f_end) * tau * (1.0 - np.exp(-t / tau))
    return np.sin(_TWO_PI * ph).astype(_F32)


def _metallic(t: np.ndarray, sr: int, scale_f: float) -> np.ndarray:
    """The inharmonic square-wave cluster of an analogue (TR-808-style) cymbal."""
    freqs = scale_f * np.array([205.3, 304.4, 369.6, 522.7, 540.0, 800.0], dtype=_F32)
    frac = np.multiply.outer(freqs, t.astype(_F32))
    frac -= np.floor(frac)
    return (np.count_nonzero(frac < 0.5, axis=0) * _F32(2.0 / len(freqs)) - _F32(1.0)).astype(_F32)


def _drum(kind: str, sr: int, vel: float, rng: np.random.Generator) -> np.ndarray:
    """Raw drum sound (unnormalised) of one kind; see :func:`drum_hit`."""
    u = rng.uniform
    nyq = 0.5 * sr
    if kind == "kick":
        n = _nsamp(u(0.3, 0.45), sr)
        t = np.arange(n, dtype=_F32) / _F32(sr)
        y = _sweep_sine(t, u(110, 160), u(42, 58), u(0.025, 0.05)) * np.exp(-t / u(0.12, 0.25)).astype(_F32)
        y += _noise_burst(n, sr, rng, 3000.0, 0.002, 0.3 + 0.4 * vel)
        return np.tanh(1.5 * y).astype(_F32)
    if kind == "tom":
        n = _nsamp(0.45, sr)
        t = np.arange(n, dtype=_F32) / _F32(sr)
        f = u(85.0, 220.0)
        y = _sweep_sine(t, 1.5 * f, f, 0.03) * np.exp(-t / u(0.18, 0.3)).astype(_F32)
        return y + _noise_burst(n, sr, rng, (200.0, 2000.0), 0.01, 0.15)
    if kind == "conga":
        n = _nsamp(0.35, sr)
        t = np.arange(n, dtype=_F32) / _F32(sr)
        f = u(190.0, 330.0)
        y = _sweep_sine(t, 1.15 * f, f, 0.02) * np.exp(-t / u(0.1, 0.18)).astype(_F32)
        return y + _noise_burst(n, sr, rng, (1000.0, 4000.0), 0.004, 0.4 * vel)
    if kind == "snare":
        n = _nsamp(0.3, sr)
        t = np.arange(n, dtype=_F32) / _F32(sr)
        f = u(175.0, 200.0)
        tone = (_sweep_sine(t, 1.3 * f, f, 0.01) + 0.5 * np.sin(_TWO_PI * 1.78 * f * t)) * np.exp(-t / 0.05)
        wires = _filt(_white(n, rng), 2, (1500.0 - 500.0 * vel, min(9000.0, 0.9 * nyq)), "bandpass", sr)
        wires *= np.exp(-t / u(0.08, 0.14)).astype(_F32)
        return (0.6 * tone).astype(_F32) + wires * _F32(0.6 + 0.6 * vel)
    if kind in ("hihat", "open_hihat", "crash", "ride"):
        length, decay, hp = {"hihat": (0.12, u(0.02, 0.035), 7000.0), "open_hihat": (0.6, u(0.22, 0.32), 6500.0),
                             "crash": (1.8, u(0.5, 0.8), 3500.0), "ride": (1.0, u(0.35, 0.5), 4000.0)}[kind]
        n = _nsamp(length, sr)
        t = np.arange(n, dtype=_F32) / _F32(sr)
        cutoff = min(hp, 0.6 * nyq)
        raw = 0.6 * _white(n, rng) + 1.2 * _metallic(t, sr, u(0.95, 1.05) * (3.0 if kind != "ride" else 2.0))
        y = _filt(raw.astype(_F32), 2, cutoff, "highpass", sr)
        if kind == "ride":  # the bell: a few clear partials
            y += (0.25 * np.sin(_TWO_PI * u(2400, 2800) * t) * np.exp(-t / 0.3)).astype(_F32)
        att = 1.0 - np.exp(-t / 0.0015)
        return y * (att * np.exp(-t / decay)).astype(_F32)
    if kind == "clap":
        n = _nsamp(0.3, sr)
        t = np.arange(n, dtype=_F32) / _F32(sr)
        env = np.exp(-t / u(0.06, 0.1)) * 0.5
        for k in range(int(rng.integers(3, 5))):
            t0 = k * u(0.007, 0.012)
            env += np.where(t >= t0, np.exp(-np.maximum(t - t0, 0.0) / 0.004), 0.0)
        return _filt(_white(n, rng), 2, (900.0, min(2600.0, 0.8 * nyq)), "bandpass", sr) * env.astype(_F32)
    if kind == "rim":
        n = _nsamp(0.1, sr)
        t = np.arange(n, dtype=_F32) / _F32(sr)
        hi = min(u(1700.0, 2100.0), 0.45 * sr)
        y = np.sin(_TWO_PI * hi * t) * np.exp(-t / 0.012) + 0.6 * np.sin(_TWO_PI * u(420, 480) * t) * np.exp(-t / 0.02)
        return y.astype(_F32) + _noise_burst(n, sr, rng, (2000.0, 6000.0), 0.0015, 0.5)
    if kind == "cowbell":
        n = _nsamp(0.35, sr)
        t = np.arange(n, dtype=_F32) / _F32(sr)
        f = u(0.97, 1.03)
        y = np.sign(np.sin(_TWO_PI * 540.0 * f * t)) + np.sign(np.sin(_TWO_PI * 800.0 * f * t))
        y = _filt(y.astype(_F32), 2, (500.0, min(3500.0, 0.8 * nyq)), "bandpass", sr)
        return y * (0.6 * np.exp(-t / 0.05) + 0.4 * np.exp(-t / 0.25)).astype(_F32)
    if kind == "shaker":
        n = _nsamp(0.14, sr)
        t = np.arange(n, dtype=_F32) / _F32(sr)
        env = (1.0 - np.exp(-t / 0.012)) * np.exp(-t / u(0.035, 0.06))
        return _filt(_white(n, rng), 2, (min(3500.0, 0.5 * nyq), min(9000.0, 0.9 * nyq)), "bandpass", sr) * env.astype(_F32)
    raise ParameterError(f"unknown drum kind {kind!r}; choose one of {DRUM_KINDS}")


def drum_hit(kind: str, sr: int, velocity: float = 0.8, rng=None) -> np.ndarray:
    """One drum or percussion sound.

    ``kick`` and ``tom`` are sinusoids whose pitch falls quickly; ``snare`` a tone plus band-passed
    noise (the wires); ``hihat``, ``open_hihat``, ``crash`` and ``ride`` high-passed noise mixed with
    an inharmonic square-wave cluster; ``clap`` a few noise bursts 10 ms apart; ``rim`` (rim shot,
    clave, woodblock) a short high click; ``shaker`` a soft burst of very high noise;
    ``cowbell`` and ``conga`` (for Latin styles) two square tones and a tuned skin.

    Args:
        kind: one of :data:`DRUM_KINDS`.
        sr: sample rate in Hz.
        velocity: playing strength in [0, 1]: louder, and brighter for snare and kick.
        rng: random generator for the small variations between hits (None: a fixed seed).

    Returns:
        float32 array (0.1 to 1.8 s long depending on the kind), peak ``0.9 * gain(velocity)``.
    """
    vel = float(np.clip(velocity, 0.05, 1.0))
    y = _drum(kind, int(sr), vel, _rng(rng))
    return peak_normalize(_fade(np.nan_to_num(y), sr, 0.0005, 0.01), 0.9 * _velocity_gain(vel))


#: Drum and dance styles :func:`drum_pattern` plays (``"none"`` is silence).
DRUM_STYLES = ("rock", "four_on_floor", "waltz", "viennese_waltz", "slow_waltz", "samba", "tango", "chacha", "rumba",
               "jive", "quickstep", "foxtrot", "pasodoble", "salsa", "wcswing", "halftime", "none")
#: Further styles, for genres: reggae's one-drop, boom-bap hip-hop, metal's double kick, blues shuffle.
EXTRA_DRUM_STYLES = ("reggae", "hiphop", "metal", "shuffle")

_EIGHTHS4 = (0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5)
#: Per style: beats per bar, built-in swing, and the bar's events as (kind, beat positions,
#: velocities). Positions are in beats (quarter notes) from the start of the bar.
_PATTERNS = {
    "rock": (4, 0.0, (("kick", (0, 2, 2.5), (1.0, 0.9, 0.55)), ("snare", (1, 3), 0.95),
                      ("hihat", _EIGHTHS4, (0.7, 0.45)))),
    "four_on_floor": (4, 0.0, (("kick", (0, 1, 2, 3), 1.0), ("clap", (1, 3), 0.85),
                               ("open_hihat", (0.5, 1.5, 2.5, 3.5), 0.55),
                               ("hihat", (0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.25, 3.75), 0.3))),
    "halftime": (4, 0.0, (("kick", (0, 0.75, 2.5), (1.0, 0.6, 0.8)), ("snare", (2,), 1.0),
                          ("snare", (3.75,), 0.25), ("hihat", _EIGHTHS4, (0.6, 0.4)))),
    "waltz": (3, 0.0, (("kick", (0,), 1.0), ("ride", (0,), 0.45), ("snare", (1, 2), 0.3), ("hihat", (1, 2), 0.35))),
    "viennese_waltz": (3, 0.0, (("kick", (0,), 1.0), ("ride", (0,), 0.45), ("snare", (1, 2), 0.35), ("hihat", (1, 2), 0.4))),
    "slow_waltz": (3, 0.0, (("kick", (0,), 1.0), ("ride", (0,), 0.4), ("shaker", (1, 2, 2.5), (0.25, 0.25, 0.12)),
                            ("rim", (1, 2), 0.25))),
    "samba": (2, 0.0, (("kick", (0, 0.75, 1, 1.75), (0.55, 0.4, 1.0, 0.45)),
                       ("shaker", (0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75), (0.5, 0.25, 0.3, 0.6)),
                       ("rim", (0.25, 0.75, 1.25, 1.5), (0.5, 0.6, 0.5, 0.6)), ("conga", (1.5,), 0.5))),
    "tango": (4, 0.0, (("kick", (0, 1, 2, 3), (1.0, 0.75, 0.9, 0.75)), ("snare", (0, 1, 2, 3), (0.6, 0.4, 0.5, 0.4)),
                       ("rim", (0.75, 2.75), 0.55), ("snare", (3.5,), 0.35))),
    "chacha": (4, 0.0, (("kick", (0, 2), 0.8), ("cowbell", (0, 1, 2, 3), (0.7, 0.5, 0.6, 0.5)),
                        ("conga", (3, 3.5), 0.9), ("shaker", _EIGHTHS4, (0.4, 0.25)), ("rim", (1,), 0.4))),
    "rumba": (4, 0.0, (("rim", (0, 0.75, 1.75, 2.5, 3), 0.8), ("kick", (0, 1.5), (0.6, 0.7)),
                       ("conga", (3, 3.5), (0.8, 0.7)), ("conga", (1,), 0.45), ("shaker", _EIGHTHS4, 0.3))),
    "jive": (4, 0.7, (("kick", (0, 2), 0.9), ("snare", (1, 3), 1.0), ("ride", (0, 1, 1.5, 2, 3, 3.5), (0.7, 0.6, 0.4)),
                      ("hihat", (1, 3), 0.4))),
    "quickstep": (4, 0.5, (("kick", (0, 2), 0.75), ("snare", (1, 3), 0.6), ("ride", (0, 1, 2, 3), 0.55),
                           ("hihat", (1, 3), 0.35))),
    "foxtrot": (4, 0.6, (("kick", (0, 2), 0.55), ("snare", (1, 3), 0.45), ("shaker", _EIGHTHS4, (0.35, 0.2)),
                         ("ride", (0, 1, 1.5, 2, 3, 3.5), 0.4))),
    "pasodoble": (2, 0.0, (("kick", (0, 1), (1.0, 0.85)), ("snare", (0.5, 1.5), 0.6), ("hihat", (0, 1), 0.5))),
    "salsa": (4, 0.0, (("rim", (0.5, 1, 2, 2.75, 3.5), 0.8), ("cowbell", (0, 1, 2, 3), (0.75, 0.55, 0.65, 0.55)),
                       ("conga", (3, 3.5), 0.8), ("conga", (1,), 0.55), ("kick", (1.5, 3), (0.55, 0.5)),
                       ("shaker", _EIGHTHS4, 0.3))),
    "wcswing": (4, 0.6, (("kick", (0, 2, 2.5), (1.0, 0.9, 0.5)), ("snare", (1, 3), 1.0), ("hihat", _EIGHTHS4, (0.6, 0.35)))),
    "none": (4, 0.0, ()),
    "reggae": (4, 0.3, (("kick", (2,), 1.0), ("rim", (2,), 0.8), ("hihat", _EIGHTHS4, (0.5, 0.3)),
                        ("open_hihat", (3.5,), 0.3))),
    "hiphop": (4, 0.3, (("kick", (0, 0.75, 2.5), (1.0, 0.7, 0.85)), ("snare", (1, 3), 1.0), ("hihat", _EIGHTHS4, (0.55, 0.35)))),
    "metal": (4, 0.0, (("kick", tuple(np.arange(16) * 0.25), 0.85), ("snare", (1, 3), 1.0),
                       ("open_hihat", (0, 1, 2, 3), 0.6))),
    "shuffle": (4, 1.0, (("kick", (0, 2), 0.9), ("snare", (1, 3), 0.9), ("hihat", _EIGHTHS4, (0.6, 0.4)))),
}
#: Beats per bar of each style: 3 for the waltzes, 2 for samba and pasodoble (2/4), else 4.
DRUM_METER = {k: v[0] for k, v in _PATTERNS.items()}
_STYLE_SWING = {k: v[1] for k, v in _PATTERNS.items()}
_FILL_STYLES = ("rock", "halftime", "jive", "wcswing", "pasodoble", "metal", "hiphop", "shuffle", "quickstep", "tango")
_CRASH_STYLES = ("rock", "four_on_floor", "jive", "pasodoble", "metal", "quickstep", "viennese_waltz", "wcswing",
                 "shuffle", "halftime")

#: Typical tempo range (beats per minute, quarter notes) of each style, for the caller to draw
#: from: the ballroom ones follow the dance federations' recommendations (e.g. a slow waltz at
#: 28-30 bars a minute is 84-90 bpm).
TYPICAL_TEMPO = {
    "rock": (100, 140), "four_on_floor": (120, 135), "waltz": (96, 132), "viennese_waltz": (174, 180),
    "slow_waltz": (84, 90), "samba": (96, 104), "tango": (120, 132), "chacha": (116, 128), "rumba": (96, 104),
    "jive": (168, 176), "quickstep": (200, 208), "foxtrot": (112, 120), "pasodoble": (116, 124), "salsa": (180, 210),
    "wcswing": (108, 128), "halftime": (120, 150), "none": (60, 160), "reggae": (66, 84), "hiphop": (84, 98),
    "metal": (140, 190), "shuffle": (90, 124),
}


def _check_style(style: str) -> str:
    if style not in _PATTERNS:
        raise ParameterError(f"unknown drum style {style!r}; choose one of {DRUM_STYLES + EXTRA_DRUM_STYLES}")
    return style


def _drum_events(style: str, n_bars: int, rng: np.random.Generator):
    """The events of ``n_bars`` of a style, with phrase fills and crashes: (beat, kind, velocity)."""
    meter, _, tracks = _PATTERNS[style]
    events = []
    for bar in range(n_bars):
        t0 = bar * meter
        fill = style in _FILL_STYLES and bar % 4 == 3 and rng.random() < 0.5
        for kind, positions, vels in tracks:
            vels = np.resize(np.asarray(vels, dtype=float), len(positions))
            for pos, v in zip(positions, vels):
                if fill and pos >= meter - 1 and kind in ("snare", "hihat", "ride", "open_hihat"):
                    continue
                if kind in ("hihat", "shaker", "ride") and rng.random() < 0.04:
                    continue  # a human drummer does not play every cymbal stroke
                events.append((t0 + float(pos), kind, float(v)))
        if fill:
            for i, pos in enumerate(np.arange(meter - 1, meter, 0.25)):
                events.append((t0 + float(pos), "snare" if i % 2 == 0 or style == "pasodoble" else "tom",
                               0.55 + 0.1 * i))
        if style in _CRASH_STYLES and bar % 4 == 0 and rng.random() < (0.6 if bar else 0.35):
            events.append((t0, "crash", 0.7))
    return events


def _render_drums(style: str, tempo_bpm: float, n: int, sr: int, rng: np.random.Generator, swing: float,
                  velocity: float, t_offset: float = 0.0) -> np.ndarray:
    """Unnormalised drum track of ``n`` samples (see :func:`drum_pattern`)."""
    out = np.zeros(n, dtype=_F32)
    meter, style_swing, tracks = _PATTERNS[style]
    if not tracks:
        return out
    swing = max(float(swing), style_swing)
    beat = 60.0 / float(tempo_bpm)
    n_bars = int(math.ceil(n / sr / (meter * beat))) + 1
    events = _drum_events(style, n_bars, rng)
    kinds = sorted({k for _, k, _ in events})
    variants = {k: [_fade(_drum(k, sr, velocity, rng), sr, 0.0005, 0.01) for _ in range(3)] for k in kinds}
    for k in kinds:  # same loudness for every variant of a kind
        ref = max(float(np.max(np.abs(v))) for v in variants[k]) + 1e-9
        variants[k] = [v / _F32(ref) for v in variants[k]]
    pos = _swing_time(np.array([e[0] for e in events]), swing)
    jitter = rng.normal(0.0, 0.003, len(events))
    gains = np.clip(rng.normal(1.0, 0.08, len(events)), 0.6, 1.3)
    choice = rng.integers(0, 3, len(events))
    for (_, kind, v), p, j, g, c in zip(events, pos, jitter, gains, choice):
        i0 = int(round((p * beat + j + t_offset) * sr))
        if i0 >= n:
            continue
        hit = variants[kind][c]
        a, b = max(i0, 0), min(n, i0 + hit.size)
        if b > a:
            out[a:b] += hit[a - i0:b - i0] * _F32(v * g * (0.4 + 0.6 * velocity))
    return out


def drum_pattern(style: str, tempo_bpm: float, duration: float, sr: int, rng: np.random.Generator,
                 swing: float = 0.0, velocity: float = 0.8) -> np.ndarray:
    """A drum track in a style, on a tempo grid, with a human touch.

    Each style has its meter and its pattern, the features that tell dances apart: the rock
    backbeat (snare on 2 and 4); four-on-the-floor kicks with off-beat open hi-hats; waltzes
    in 3/4 with one strong downbeat and two light beats; samba's syncopated surdo under
    continuous shaker sixteenths; tango's four staccato marcato beats with habanera pickups;
    cha-cha's "two, three, cha-cha-cha" on conga; rumba's clave; jive, foxtrot, quickstep and
    West Coast swing with swung eighths on the ride and a backbeat; pasodoble's 2/4 march;
    salsa's 2-3 clave, cowbell and conga tumbao. Every fourth bar may end with a fill and the
    next begin with a crash; timing wanders by a few milliseconds and loudness by about 8 %.

    Args:
        style: one of :data:`DRUM_STYLES` or :data:`EXTRA_DRUM_STYLES`; ``"none"`` gives silence.
        tempo_bpm: beats (quarter notes) per minute; see :data:`TYPICAL_TEMPO`.
        duration: seconds.
        sr: sample rate in Hz.
        rng: random generator.
        swing: 0 (straight eighths) to 1 (triplet feel): how late the off-beat eighths come.
            Swing styles (jive 0.7, foxtrot 0.6, ...) never swing less than their own amount.
        velocity: overall playing strength in [0, 1]: louder and brighter hits.

    Returns:
        float32 array of ``round(duration * sr)`` samples, peak 0.9 (all zeros for ``"none"``).
    """
    _check_style(style)
    if tempo_bpm <= 0 or duration <= 0:
        raise ParameterError("tempo_bpm and duration must be positive")
    y = _render_drums(style, tempo_bpm, _nsamp(duration, sr), int(sr), rng, swing, float(np.clip(velocity, 0.05, 1)))
    return peak_normalize(_fade(y, sr, 0.0, 0.01), 0.9)
