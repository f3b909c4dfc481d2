"""Music theory: scales and modes, chord progressions, melodies and rhythms.

Scales and modes, chord progressions that follow the mode (a minor piece's tonic chord has a
minor third), melodies as a random walk on the scale that favours chord tones, everything
placed on a tempo grid in a meter (3/4 for waltzes), with a little human timing jitter and
optional swing.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from course_utils.core.errors import ParameterError

__all__ = ["MODES", "scale", "chord_progression", "melody"]


#: Scales as semitone offsets from the tonic. ``"minor"`` is the natural minor; chord
#: progressions in minor still use a major V chord (harmonic minor) at cadences.
MODES = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "harmonic_minor": (0, 2, 3, 5, 7, 8, 11),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "pentatonic_major": (0, 2, 4, 7, 9),
    "pentatonic_minor": (0, 3, 5, 7, 10),
}
#: Modes whose tonic chord is minor.
_MINOR_MODES = ("minor", "harmonic_minor", "dorian", "phrygian", "pentatonic_minor")


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ParameterError(f"unknown mode {mode!r}; choose one of {sorted(MODES)}")
    return mode


def scale(tonic_midi: int, mode: str) -> np.ndarray:
    """The notes of one octave of a scale, from its tonic upwards.

    Args:
        tonic_midi: MIDI note of the tonic (60 = middle C).
        mode: one of :data:`MODES`: ``"major"``, ``"minor"`` (natural), ``"harmonic_minor"``,
            ``"dorian"``, ``"phrygian"`` (a Spanish/Indian colour), ``"mixolydian"``,
            ``"pentatonic_major"``, ``"pentatonic_minor"``.

    Returns:
        int64 array of MIDI notes (7 for the diatonic modes, 5 for the pentatonic ones).
    """
    return int(tonic_midi) + np.asarray(MODES[_check_mode(mode)], dtype=np.int64)


#: Chord qualities as semitone offsets from the root.
_QUALITY = {"maj": (0, 4, 7), "min": (0, 3, 7), "dim": (0, 3, 6), "dom7": (0, 4, 7, 10), "min7": (0, 3, 7, 10),
            "maj7": (0, 4, 7, 11)}

#: Four-bar progressions per mode family, as (root offset from the tonic, quality) per bar.
_PROGRESSIONS = {
    "major": (
        ((0, "maj"), (5, "maj"), (7, "maj"), (0, "maj")),    # I  IV V  I
        ((0, "maj"), (9, "min"), (5, "maj"), (7, "maj")),    # I  vi IV V
        ((0, "maj"), (7, "maj"), (9, "min"), (5, "maj")),    # I  V  vi IV
        ((0, "maj"), (5, "maj"), (0, "maj"), (7, "dom7")),   # I  IV I  V7
        ((0, "maj"), (2, "min"), (7, "dom7"), (0, "maj")),   # I  ii V7 I
    ),
    "minor": (
        ((0, "min"), (5, "min"), (7, "maj"), (0, "min")),    # i  iv V  i  (harmonic minor V)
        ((0, "min"), (8, "maj"), (3, "maj"), (10, "maj")),   # i  VI III VII
        ((0, "min"), (5, "min"), (10, "maj"), (3, "maj")),   # i  iv VII III
        ((0, "min"), (10, "maj"), (8, "maj"), (7, "maj")),   # i  VII VI V  (Andalusian cadence)
        ((0, "min"), (5, "min"), (0, "min"), (7, "dom7")),   # i  iv i  V7
    ),
    "dorian": (
        ((0, "min"), (5, "maj"), (0, "min"), (5, "maj")),    # i  IV i  IV
        ((0, "min7"), (10, "maj"), (5, "maj"), (0, "min7")),  # i7 VII IV i7
    ),
    "phrygian": (
        ((0, "min"), (1, "maj"), (0, "min"), (1, "maj")),    # i  bII i bII
        ((0, "min"), (1, "maj"), (3, "maj"), (1, "maj")),    # i  bII bIII bII
        ((0, "min"), (10, "min"), (8, "maj"), (1, "maj")),   # i  vii VI bII
    ),
    "mixolydian": (
        ((0, "maj"), (10, "maj"), (5, "maj"), (0, "maj")),   # I  bVII IV I
        ((0, "dom7"), (5, "maj"), (10, "maj"), (0, "dom7")),
    ),
}
_PROGRESSION_FAMILY = {"major": "major", "pentatonic_major": "major", "minor": "minor", "harmonic_minor": "minor",
                       "pentatonic_minor": "minor", "dorian": "dorian", "phrygian": "phrygian",
                       "mixolydian": "mixolydian"}


def _chord(tonic_midi: int, root_offset: int, quality: str) -> np.ndarray:
    """A chord in close position, its root kept within a fifth of the tonic."""
    root = int(tonic_midi) + int(root_offset)
    if root_offset > 6:
        root -= 12
    return root + np.asarray(_QUALITY[quality], dtype=np.int64)


def chord_progression(tonic_midi: int, mode: str, n_bars: int, rng: np.random.Generator) -> list:
    """A chord progression, one chord per bar, that establishes the mode.

    Major keys use I-IV-V-I-like progressions; minor keys i-iv-V-i, i-VI-III-VII or the
    Andalusian i-VII-VI-V; dorian i-IV; phrygian i-bII. The first chord is always the tonic
    chord (major or minor third above the tonic, so the mode is audible) and so is the last
    one when ``n_bars`` is a multiple of 4 (except for the Andalusian cadence, which ends on V).

    Args:
        tonic_midi: MIDI note of the tonic; chords are voiced near it (roots within a fifth).
        mode: one of :data:`MODES`.
        n_bars: number of bars (chords), >= 1.
        rng: random generator (chooses among the mode's progressions).

    Returns:
        A list of ``n_bars`` int64 arrays of MIDI notes (3 or 4 notes each, root first).
    """
    options = _PROGRESSIONS[_PROGRESSION_FAMILY[_check_mode(mode)]]
    prog = options[int(rng.integers(len(options)))]
    return [_chord(tonic_midi, *prog[i % len(prog)]) for i in range(max(1, int(n_bars)))]


#: Named melodic registers, as (lowest, highest) MIDI note.
_REGISTERS = {"bass": (31, 52), "low": (43, 64), "mid": (57, 79), "high": (67, 91), "male": (47, 64),
              "female": (60, 79), "child": (62, 81)}


def _register(register) -> tuple:
    if isinstance(register, str):
        if register not in _REGISTERS:
            raise ParameterError(f"unknown register {register!r}; choose one of {sorted(_REGISTERS)} or a (low, high) pair")
        return _REGISTERS[register]
    lo, hi = (int(v) for v in register)
    if hi - lo < 7:
        raise ParameterError(f"register {register!r} spans less than a fifth")
    return lo, hi


def _scale_notes_in(tonic_midi: int, mode: str, lo: int, hi: int) -> np.ndarray:
    """All notes of the scale between lo and hi (inclusive), ascending."""
    pcs = (np.asarray(MODES[mode]) + int(tonic_midi)) % 12
    notes = np.arange(lo, hi + 1)
    return notes[np.isin(notes % 12, pcs)]


def melody(tonic_midi: int, mode: str, n_notes: int, rng: np.random.Generator, register="mid",
           chord_tones: Sequence | None = None) -> np.ndarray:
    """A melody: a mostly stepwise random walk on the scale, ending on the tonic.

    Steps of one scale degree are the most likely, thirds less, larger leaps rare (and followed
    by a step back, as singers do); the walk bounces off the edges of the register and drifts
    back towards its middle.

    Args:
        tonic_midi: MIDI note of the tonic (only its pitch class matters here).
        mode: one of :data:`MODES`.
        n_notes: number of notes, >= 1.
        rng: random generator.
        register: a name (``"bass"``, ``"low"``, ``"mid"``, ``"high"``, ``"male"``, ``"female"``,
            ``"child"``) or a ``(lowest, highest)`` MIDI pair.
        chord_tones: optional, one entry per note: the pitch classes (0-11) of the chord under
            that note, or None. Where given, the note moves to the nearest chord tone (the way
            melodies land on chord tones on strong beats).

    Returns:
        int64 array of ``n_notes`` MIDI notes.
    """
    lo, hi = _register(register)
    notes = _scale_notes_in(tonic_midi, _check_mode(mode), lo, hi)
    n = max(1, int(n_notes))
    mid = 0.5 * (len(notes) - 1)
    tonic_idx = np.flatnonzero(notes % 12 == int(tonic_midi) % 12)
    i = int(tonic_idx[np.argmin(np.abs(tonic_idx - mid))]) if tonic_idx.size else int(mid)
    i = int(np.clip(i + rng.choice([0, 2, 4]) * (1 if i < mid else -1), 0, len(notes) - 1))
    steps = np.array([-4, -3, -2, -1, 0, 1, 2, 3, 4])
    probs = np.array([0.03, 0.05, 0.13, 0.27, 0.07, 0.27, 0.13, 0.05, 0.03])
    out = np.empty(n, dtype=np.int64)
    last_step = 0
    for j in range(n):
        if j > 0:
            p = probs.copy()
            p *= np.exp(-0.08 * steps * (i - mid) / max(mid, 1.0) * 4)  # drift back to the middle
            if abs(last_step) >= 3:  # after a leap, step back
                p *= np.where((np.sign(steps) == -np.sign(last_step)) & (np.abs(steps) <= 2), 4.0, 0.3)
            step = int(rng.choice(steps, p=p / p.sum()))
            if not 0 <= i + step < len(notes):
                step = -step
            i = int(np.clip(i + step, 0, len(notes) - 1))
            last_step = step
        m = int(notes[i])
        if chord_tones is not None and j < len(chord_tones) and chord_tones[j] is not None:
            pcs = np.asarray(list(chord_tones[j])) % 12
            cands = notes[np.isin(notes % 12, pcs)]
            if cands.size:
                m = int(cands[np.argmin(np.abs(cands - m) + 0.1 * (cands > m))])
                i = int(np.searchsorted(notes, m))
        out[j] = m
    if n > 1 and tonic_idx.size:
        out[-1] = int(notes[tonic_idx[np.argmin(np.abs(notes[tonic_idx] - out[-2]))]])
    return out


#: Rhythms of one bar, as note lengths in beats, per meter; the second list is used at fast
#: tempi (no eighth-note runs), the first at moderate and slow ones.
_BAR_RHYTHMS = {
    4: ([(1, 1, 1, 1), (2, 1, 1), (1, 0.5, 0.5, 1, 1), (1.5, 0.5, 2), (0.5, 0.5, 1, 0.5, 0.5, 1), (2, 2),
         (1, 1, 2), (3, 1), (0.5, 0.5, 0.5, 0.5, 1, 1), (1.5, 0.5, 1, 1)],
        [(1, 1, 1, 1), (2, 1, 1), (2, 2), (1, 1, 2), (3, 1), (4,), (1.5, 0.5, 2)]),
    3: ([(1, 1, 1), (2, 1), (1, 0.5, 0.5, 1), (1.5, 0.5, 1), (0.5, 0.5, 1, 1), (3,)],
        [(2, 1), (3,), (1, 1, 1), (1, 2)]),
    2: ([(1, 1), (0.5, 0.5, 1), (1, 0.5, 0.5), (2,), (0.75, 0.25, 1), (0.5, 0.5, 0.5, 0.5)],
        [(1, 1), (2,), (0.5, 0.5, 1)]),
}


def _melody_rhythm(meter: int, n_bars: int, tempo_bpm: float, rng: np.random.Generator):
    """Onsets and lengths (in beats) of a melody over ``n_bars``, with phrase endings.

    Every second or fourth bar ends its phrase: a long note followed by a short rest, which
    also gives a singer room to breathe. Returns (onsets, durations, is_rest) arrays.
    """
    meter = meter if meter in _BAR_RHYTHMS else 4
    slow, fast = _BAR_RHYTHMS[meter]
    choices = fast if tempo_bpm > 150 else slow
    phrase = 4 if rng.random() < 0.6 else 2
    onsets, durs, rests = [], [], []
    for b in range(n_bars):
        t0 = b * meter
        if (b + 1) % phrase == 0:  # phrase end: long note(s), then a rest
            rest = 1.0 if meter > 2 else 0.5
            space = meter - rest
            pattern = (space,) if (rng.random() < 0.5 or space <= 1) else (1.0, space - 1.0)
            t = t0
            for d in pattern:
                onsets.append(t), durs.append(d), rests.append(False)
                t += d
            onsets.append(t), durs.append(rest), rests.append(True)
            continue
        pattern = choices[int(rng.integers(len(choices)))]
        t = t0
        for d in pattern:
            onsets.append(t), durs.append(d), rests.append(False)
            t += d
    return np.asarray(onsets, float), np.asarray(durs, float), np.asarray(rests, bool)


def _swing_time(pos_beats: np.ndarray, swing: float) -> np.ndarray:
    """Delay off-beat eighth notes: ``swing`` 0 = straight, 1 = triplet (2:1) feel."""
    pos = np.asarray(pos_beats, dtype=float)
    if swing <= 0:
        return pos
    frac = pos - np.floor(pos)
    off = np.abs(frac - 0.5) < 1e-6
    return pos + off * (float(swing) / 6.0)
