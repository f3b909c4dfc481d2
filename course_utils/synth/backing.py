"""Backing parts: chords in rhythmic patterns and bass lines on the beat grid.

Chord progressions (:mod:`course_utils.synth.theory`) are voiced into each instrument's
accompaniment register and played in a pattern that follows the meter; bass lines follow the
chords in the manner of a drum style. Note events are rendered with :func:`note`, each
(pitch, dynamic) once, with a human timing and loudness wobble per repetition.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Sequence

import numpy as np

from course_utils.core.errors import ParameterError
from course_utils.synth.additive import _velocity_gain
from course_utils.synth.dsp import _F32, _fade, _nsamp, midi_to_hz, peak_normalize
from course_utils.synth.instruments import note
from course_utils.synth.theory import _swing_time

__all__ = ["ACCOMPANIMENT_PATTERNS", "accompaniment"]


#: Accompaniment patterns :func:`accompaniment` plays.
ACCOMPANIMENT_PATTERNS = ("block", "arpeggio", "waltz", "sustain", "staccato", "offbeat", "strum", "montuno")
#: Instruments whose notes die away by themselves (they are let ring rather than held).
_DECAYING = ("guitar", "piano", "harpsichord", "harp", "sitar", "bass", "electric_guitar")
#: Register of the chords each instrument plays as accompaniment, as (lowest, highest) MIDI note.
_CHORD_RANGE = {
    "guitar": (50, 69), "piano": (52, 72), "strings": (55, 76), "violin": (62, 81), "cello": (40, 60),
    "flute": (67, 84), "organ": (52, 72), "synth": (55, 74), "harpsichord": (55, 76), "harp": (50, 74),
    "sitar": (50, 69), "bass": (36, 55), "electric_guitar": (47, 66), "brass": (53, 72),
}


def _voice_chord(chord: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Move a chord by octaves into the register [lo, hi], folding stray notes back in."""
    c = np.sort(np.asarray(chord, dtype=np.int64))
    c = c + 12 * int(round((0.5 * (lo + hi) - c.mean()) / 12.0))
    c = np.where(c > hi, c - 12, c)
    c = np.where(c < lo, c + 12, c)
    return np.unique(c)


def _bass_note(midi: int, lo: int = 33, hi: int = 48) -> int:
    """A pitch class moved into the bass register [lo, hi]."""
    m = int(midi)
    while m > hi:
        m -= 12
    while m < lo:
        m += 12
    return m


def _chord_events(pattern: str, chord: np.ndarray, meter: int, rng: np.random.Generator):
    """Events of one bar of an accompaniment pattern: (beat, length in beats, notes, velocity, strum)."""
    c = list(np.asarray(chord, dtype=np.int64))
    root_low = c[0] - 12
    ev = []
    if pattern == "sustain":
        ev.append((0.0, float(meter), c, 0.8, 0))
    elif pattern in ("block", "staccato"):
        length = 0.95 if pattern == "block" else 0.3
        for b in range(meter):
            ev.append((float(b), length, c, 1.0 if b == 0 else (0.85 if pattern == "staccato" else 0.75), 0))
    elif pattern == "arpeggio":
        seq = c + [c[0] + 12] + c[1:][::-1]
        for i, pos in enumerate(np.arange(0, meter, 0.5)):
            ev.append((float(pos), 0.5, [seq[i % len(seq)]], 0.9 if i == 0 else 0.7, 0))
    elif pattern == "waltz":
        if meter == 3:
            ev += [(0.0, 1.0, [root_low], 1.0, 0), (1.0, 0.9, c, 0.7, 0), (2.0, 0.9, c, 0.65, 0)]
        else:
            fifth_low = root_low + 7 if root_low + 7 <= c[0] else root_low - 5
            for b in range(meter):
                if b % 2 == 0:
                    ev.append((float(b), 1.0, [root_low if b == 0 else fifth_low], 1.0 if b == 0 else 0.85, 0))
                else:
                    ev.append((float(b), 0.9, c, 0.7, 0))
    elif pattern == "offbeat":
        for b in range(meter):
            ev.append((b + 0.5, 0.35, c, 0.75, 0))
    elif pattern == "strum":
        positions = {4: (0, 1, 1.5, 2.5, 3, 3.5), 3: (0, 1, 1.5, 2, 2.5), 2: (0, 0.5, 1, 1.5)}.get(meter, (0,))
        directions = {4: (1, 1, -1, -1, 1, -1), 3: (1, 1, -1, 1, -1), 2: (1, -1, 1, -1)}.get(meter, (1,))
        ends = list(positions[1:]) + [meter]
        for pos, end, d in zip(positions, ends, directions):
            ev.append((float(pos), float(end - pos), c, 0.95 if pos == 0 else (0.8 if d > 0 else 0.6), d))
    elif pattern == "montuno":
        top = [c[-1] + 12 if c[-1] + 12 - c[0] <= 24 else c[-1]]
        for i, pos in enumerate(np.arange(0.5, meter, 0.5)):
            if i % 3 == 2:
                continue
            ev.append((float(pos), 0.4, top if i % 2 == 0 else c, 0.8, 0))
    else:
        raise ParameterError(f"unknown accompaniment pattern {pattern!r}; choose one of {ACCOMPANIMENT_PATTERNS}")
    return ev


def _bass_events(style: str, chords: list, meter: int, scale_pcs: np.ndarray, rng: np.random.Generator):
    """Events of a bass line following the chords, in the manner of a drum style."""
    ev = []
    walking = style in ("jive", "wcswing", "foxtrot", "quickstep", "shuffle")
    latin = style in ("salsa", "chacha", "rumba", "samba")
    bass_scale = np.array([m for m in range(28, 56) if m % 12 in set(int(p) for p in scale_pcs)])
    for b, chord in enumerate(chords):
        t0 = b * meter
        root = _bass_note(chord[0])
        fifth = _bass_note(chord[0] + 7)
        nxt = _bass_note(chords[(b + 1) % len(chords)][0])
        if walking and meter == 4:
            third = _bass_note(chord[1]) if len(chord) > 1 else root
            below = bass_scale[bass_scale < nxt]
            approach = int(below[-1]) if below.size else nxt - 1
            for i, m in enumerate((root, third, fifth, approach)):
                ev.append((t0 + i, 1.0, [m], 0.9 if i == 0 else 0.75, 0))
        elif style == "four_on_floor":
            for i, pos in enumerate(np.arange(0, meter, 0.5)):
                ev.append((t0 + pos, 0.45, [root if i % 2 == 0 else root + 12], 0.85 if i % 2 else 1.0, 0))
        elif latin and meter == 4:
            ev += [(t0 + 0.0, 1.5, [root], 0.9, 0), (t0 + 1.5, 1.5, [fifth], 0.85, 0), (t0 + 3.0, 1.0, [root], 0.85, 0)]
        elif meter == 3:
            ev.append((t0 + 0.0, 2.0 if style != "viennese_waltz" else 1.0, [root], 1.0, 0))
            if style != "slow_waltz":
                ev.append((t0 + 2.0, 1.0, [fifth], 0.6, 0))
        elif meter == 2:
            ev += [(t0 + 0.0, 1.0, [root], 1.0, 0), (t0 + 1.0, 1.0, [fifth], 0.8, 0)]
        elif style == "reggae":
            ev += [(t0 + 0.0, 1.0, [root], 1.0, 0), (t0 + 1.5, 0.5, [root], 0.8, 0), (t0 + 2.5, 1.0, [fifth], 0.8, 0)]
        else:
            ev += [(t0 + 0.0, 1.5, [root], 1.0, 0), (t0 + 1.5, 0.5, [root], 0.7, 0), (t0 + 2.0, 2.0, [fifth], 0.9, 0)]
    return ev


#: Release time (s) used when a cached note is cut short.
_RELEASE = {"guitar": 0.08, "harp": 0.15, "harpsichord": 0.05, "bass": 0.06, "electric_guitar": 0.06, "piano": 0.12,
            "strings": 0.3, "violin": 0.15, "cello": 0.2, "flute": 0.1, "organ": 0.04, "synth": 0.08, "brass": 0.08,
            "sitar": 0.1}
_VEL_STEPS = np.array([0.2, 0.4, 0.6, 0.8, 1.0])
#: How long a decaying instrument's note is let ring, as a multiple of its written length
#: (a bass player mutes the previous note, a pianist holds the pedal, a harp rings on).
_RING = {"bass": 1.05, "guitar": 1.3, "electric_guitar": 1.1, "harpsichord": 1.5, "piano": 2.0, "harp": 2.5,
         "sitar": 2.0}


def _render_events(instrument: str, events, tempo_bpm: float, n: int, sr: int, rng: np.random.Generator,
                   velocity: float, swing: float = 0.0, timbre=None, cache: dict | None = None,
                   jitter_s: float = 0.006, legato: float = 1.0, t_offset: float = 0.0) -> np.ndarray:
    """Render note events (beat, beats, midi notes, velocity, strum direction) into ``n`` samples.

    Notes repeat a lot, so each (pitch, velocity step) is rendered once, as long as its longest
    use, and shorter uses take its beginning with a release fade; every repetition still gets
    its own timing and loudness wobble.
    """
    cache = {} if cache is None else cache
    out = np.zeros(n, dtype=_F32)
    beat = 60.0 / float(tempo_bpm)
    decaying = instrument in _DECAYING
    plan = []
    for pos, length, notes, v, strum in events:
        t = float(_swing_time(np.array([pos]), swing)[0]) * beat + t_offset + rng.normal(0.0, jitter_s)
        if t * sr >= n:
            continue
        dur = length * beat * legato
        if decaying:
            dur = min(max(dur * _RING.get(instrument, 2.0), 0.15 if instrument == "bass" else 0.5), 4.0)
        else:
            dur += 0.06
        dur = min(dur, n / sr - t + 0.05)
        vel_note = float(np.clip(velocity * v, 0.05, 1.0))
        step = float(_VEL_STEPS[np.argmin(np.abs(_VEL_STEPS - velocity))])  # timbre of the piece's dynamic
        order = list(notes) if strum >= 0 else list(notes)[::-1]
        for i, m in enumerate(order):
            if not 20.0 <= midi_to_hz(m) < 0.44 * sr:
                continue
            onset = t + (abs(strum) * i * 0.012 if strum else 0.0)
            plan.append((onset, dur, (instrument, int(m), step, timbre), _velocity_gain(vel_note) / _velocity_gain(step)))
    longest = {}
    for _, dur, key, _ in plan:
        longest[key] = max(longest.get(key, 0.0), dur)
    for key in sorted(longest, key=lambda k: (k[1], k[2])):
        if key not in cache or cache[key].size < _nsamp(longest[key], sr):
            cache[key] = note(instrument, midi_to_hz(key[1]), max(longest[key], 0.05), sr, key[2], rng, timbre=timbre)
    release = _RELEASE.get(instrument, 0.08)
    for (onset, dur, key, gain), wob in zip(plan, rng.normal(1.0, 0.06, len(plan))):
        y = cache[key]
        m = min(y.size, _nsamp(dur, sr))
        i0 = int(round(onset * sr))
        a, b = max(i0, 0), min(n, i0 + m)
        if b <= a:
            continue
        seg = y[a - i0:b - i0] * _F32(gain * float(np.clip(wob, 0.7, 1.3)))
        if m < y.size:  # cut short: fade out like a released key
            r = min(seg.size, int(release * sr), m)
            if r > 1 and b - i0 == m:
                seg[-r:] *= _release_ramp(r)
        out[a:b] += seg
    return out


@lru_cache(maxsize=64)
def _release_ramp_cached(r: int) -> np.ndarray:
    return (0.5 + 0.5 * np.cos(np.linspace(0.0, math.pi, r))).astype(_F32)


def _release_ramp(r: int) -> np.ndarray:
    """A raised-cosine fade-out of ``r`` samples (cached; do not modify)."""
    return _release_ramp_cached(int(r))


def accompaniment(instrument: str, chords: Sequence, tempo_bpm: float, meter: int, duration: float, sr: int,
                  rng: np.random.Generator, pattern: str = "block", *, velocity: float = 0.7, swing: float = 0.0,
                  timbre: int | None = None) -> np.ndarray:
    """Chords played in a rhythmic pattern that follows the meter, one chord per bar.

    Patterns: ``"block"`` (the chord on every beat), ``"arpeggio"`` (broken chord in eighths),
    ``"waltz"`` (bass note on beat 1, chord on the others: oom-pah-pah in 3/4, oom-pah in 4/4),
    ``"sustain"`` (one held chord per bar: strings, organ), ``"staccato"`` (short marcato chords
    on every beat: tango), ``"offbeat"`` (short chords on the "and"s: reggae, swing comping),
    ``"strum"`` (a guitar's down-up strumming, strings sounding one after the other),
    ``"montuno"`` (a syncopated Latin piano figure).

    Args:
        instrument: one of :data:`INSTRUMENTS` or :data:`EXTRA_INSTRUMENTS`.
        chords: MIDI note arrays, one per bar (e.g. from :func:`chord_progression`); cycled if
            the duration needs more bars. They are moved by octaves into the instrument's
            accompaniment register.
        tempo_bpm: beats per minute.
        meter: beats per bar (2, 3 or 4).
        duration: seconds.
        sr: sample rate in Hz.
        rng: random generator.
        pattern: one of :data:`ACCOMPANIMENT_PATTERNS`.
        velocity: playing strength in [0, 1].
        swing: 0 (straight) to 1 (triplet feel) for off-beat eighths.
        timbre: instrument variant, see :func:`note`.

    Returns:
        float32 array of ``round(duration * sr)`` samples, peak 0.9.
    """
    if pattern not in ACCOMPANIMENT_PATTERNS:
        raise ParameterError(f"unknown accompaniment pattern {pattern!r}; choose one of {ACCOMPANIMENT_PATTERNS}")
    if len(chords) == 0:
        raise ParameterError("chords is empty")
    n = _nsamp(duration, sr)
    y = _render_accompaniment(instrument, list(chords), tempo_bpm, int(meter), n, int(sr), rng, pattern, velocity,
                              swing, timbre, {})
    return peak_normalize(_fade(y, sr, 0.002, 0.02), 0.9)


def _render_accompaniment(instrument, chords, tempo_bpm, meter, n, sr, rng, pattern, velocity, swing, timbre,
                          cache, t_offset: float = 0.0) -> np.ndarray:
    """Unnormalised accompaniment (see :func:`accompaniment`)."""
    lo, hi = _CHORD_RANGE.get(instrument, (52, 72))
    bar = meter * 60.0 / tempo_bpm
    n_bars = int(math.ceil(n / sr / bar)) + 1
    events = []
    for b in range(n_bars):
        c = _voice_chord(chords[b % len(chords)], lo, hi)
        for pos, length, notes, v, strum in _chord_events(pattern, c, meter, rng):
            events.append((b * meter + pos, length, notes, v, strum))
    return _render_events(instrument, events, tempo_bpm, n, sr, rng, velocity, swing, timbre, cache,
                          t_offset=t_offset)
