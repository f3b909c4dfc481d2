"""The voice: a glottal source through formant resonators; singing and a small choir.

**Source-filter (formant) synthesis.** The voice is a glottal pulse train (the vocal folds)
filtered by a few resonances of the vocal tract, the *formants*; their frequencies decide the
vowel (``a``, ``e``, ``i``, ``o``, ``u``). Singing holds a pitch on each note with vibrato
(speech, :mod:`course_utils.synth.spoken`, uses the same voice but glides its pitch freely).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import signal as _sig

from course_utils.synth.additive import _track_phase
from course_utils.synth.dsp import (_F32, _TWO_PI, _ctrl_to_audio, _fade, _filt, _nsamp, _rng, _smooth_noise,
                                    _white, midi_to_hz, peak_normalize)
from course_utils.core.errors import ParameterError

__all__ = ["VOWELS", "singing_voice", "choir"]


#: Vowels :func:`singing_voice` and :func:`choir` sing.
VOWELS = ("a", "e", "i", "o", "u")
#: Sung vowel formants (Hz) and bandwidths (Hz), F1..F5: a tenor for ``"male"``, a soprano for
#: ``"female"`` (after the classic Csound formant tables).
_SUNG_FORMANTS = {
    "male": {
        "a": ((650, 1080, 2650, 2900, 3250), (80, 90, 120, 130, 140)),
        "e": ((400, 1700, 2600, 3200, 3580), (70, 80, 100, 120, 120)),
        "i": ((290, 1870, 2800, 3250, 3540), (40, 90, 100, 120, 120)),
        "o": ((400, 800, 2600, 2800, 3000), (40, 80, 100, 120, 120)),
        "u": ((350, 600, 2700, 2900, 3300), (40, 60, 100, 120, 120)),
    },
    "female": {
        "a": ((800, 1150, 2900, 3900, 4950), (80, 90, 120, 130, 140)),
        "e": ((350, 2000, 2800, 3600, 4950), (60, 100, 120, 150, 200)),
        "i": ((270, 2140, 2950, 3900, 4950), (60, 90, 100, 120, 120)),
        "o": ((450, 800, 2830, 3800, 4950), (40, 80, 100, 120, 120)),
        "u": ((325, 700, 2700, 3800, 4950), (50, 60, 170, 180, 200)),
    },
}
#: Centre of the sung register (MIDI): lines are moved by octaves to sit around it, so a male
#: voice sings at roughly 100-330 Hz (F3 = 175 Hz in the middle), a female one at 200-800 Hz (G4).
_SUNG_CENTRE = {"male": 53, "female": 67}


@lru_cache(maxsize=1024)
def _formant_sos(formants: tuple, bandwidths: tuple, sr: int, tilt_hz: float = 0.0) -> np.ndarray:
    """Cascade of two-pole resonators (unity gain at 0 Hz), one per formant below 0.45 * sr,
    after an optional one-pole spectral tilt at ``tilt_hz``."""
    rows = [] if tilt_hz <= 0 else [list(_tilt_section(tilt_hz, sr)[0])]
    for f, bw in zip(formants, bandwidths):
        if f >= 0.45 * sr:
            continue
        r = math.exp(-math.pi * bw / sr)
        c = 2.0 * r * math.cos(_TWO_PI * f / sr)
        rows.append([1.0 - c + r * r, 0.0, 0.0, 1.0, -c, r * r])
    return np.asarray(rows if rows else [[1.0, 0, 0, 1.0, 0, 0]], dtype=np.float64)


def _glottal_source(f0: np.ndarray, sr: int, rng: np.random.Generator, breath: float = 0.0) -> np.ndarray:
    """Band-limited glottal pulse train (flat spectrum: every harmonic at amplitude 1), plus
    pulsed breath noise.

    The pulse train is the closed-form sum of all harmonics of the (time-varying) ``f0`` up to
    0.45 * sr, ``sum_k cos(k theta) = sin((M + 1/2) theta) / (2 sin(theta / 2)) - 1/2``: a
    band-limited impulse train, so there is no aliasing. The -6 dB/octave slope of a real voice
    is added later, by a one-pole low-pass in front of the formant filters (see
    :func:`_tilt_section`). ``breath`` adds aspiration noise that pulses with each glottal cycle.
    """
    f0 = np.asarray(f0, dtype=_F32)
    theta = _track_phase(f0, sr, float(rng.random()))
    theta *= _F32(_TWO_PI)
    m = np.floor(np.minimum(_F32(0.45 * sr) / f0, _F32(400.0)))
    m += _F32(0.5)
    m *= theta
    pulses = np.sin(m, out=m)
    half = np.sin(theta * _F32(0.5))
    half *= _F32(2.0)
    half += _F32(1e-20)  # theta is never exactly 0 (random start phase), this only avoids 0/0
    pulses /= half
    pulses -= _F32(0.5)
    if breath > 0:
        asp = _white(f0.size, rng) * (_F32(0.6) + _F32(0.4) * np.cos(theta))
        pulses += asp * _F32(breath * 4.0 * math.sqrt(0.45 * sr / float(np.median(f0))))
    return pulses


def _tilt_section(tilt_hz: float, sr: int) -> np.ndarray:
    """A one-pole low-pass at ``tilt_hz`` as one second-order section: the voice's spectral slope."""
    a = math.exp(-_TWO_PI * tilt_hz / sr)
    return np.array([[1.0 - a, 0.0, 0.0, 1.0, -a, 0.0]])


def _formant_regions(src: np.ndarray, spans, sr: int, xfade: float = 0.06, tail: float = 0.05) -> np.ndarray:
    """Filter a source through one formant filter per span, crossfading between adjacent spans.

    ``spans`` is a time-ordered list of (start sample, end sample, sos). Where one span ends
    exactly where the next starts, the two filters' inputs crossfade over ``xfade`` seconds, so
    that a vowel glides into the next; filters ring out for ``tail`` seconds after a span.
    """
    n = src.size
    out = np.zeros(n, dtype=_F32)
    h = max(1, int(0.5 * xfade * sr))
    t_n = int(tail * sr)
    for i, (a, b, sos) in enumerate(spans):
        joined_prev = i > 0 and spans[i - 1][1] == a
        joined_next = i + 1 < len(spans) and spans[i + 1][0] == b
        lo = max(0, a - h) if joined_prev else max(0, a - t_n // 4)
        hi = min(n, b + h) if joined_next else min(n, b + t_n // 4)
        if hi <= lo:
            continue
        seg = src[lo:hi].copy()
        if joined_prev:
            r = min(2 * h, seg.size)
            seg[:r] *= np.linspace(0.0, 1.0, r, dtype=_F32)
        if joined_next:
            r = min(2 * h, seg.size)
            seg[seg.size - r:] *= np.linspace(1.0, 0.0, r, dtype=_F32)
        end = min(n, hi + t_n)
        padded = np.zeros(end - lo, dtype=_F32)
        padded[:seg.size] = seg
        out[lo:end] += _sig.sosfilt(sos, padded).astype(_F32)
    return out


def _consonant(n: int, sr: int, rng: np.random.Generator, kind: str) -> np.ndarray:
    """A consonant noise (fricative or plosive burst) of ``n`` samples, peak about 1."""
    nyq = 0.5 * sr
    t = np.arange(n, dtype=_F32) / _F32(sr)
    if kind in ("p", "t", "k"):
        band = {"p": (400.0, 1500.0), "t": (min(3000.0, 0.6 * nyq), min(7000.0, 0.95 * nyq)),
                "k": (1500.0, 3200.0)}[kind]
        env = np.exp(-t / _F32(0.006)) + _F32(0.15) * np.exp(-t / _F32(0.03))
    else:
        band = {"s": (min(4000.0, 0.6 * nyq), min(9000.0, 0.95 * nyq)), "sh": (1800.0, min(4500.0, 0.9 * nyq)),
                "f": (1000.0, min(7000.0, 0.95 * nyq)), "h": (400.0, 3000.0)}[kind]
        ramp = max(2, min(n // 2, int(0.02 * sr)))
        env = np.ones(n, dtype=_F32)
        env[:ramp] = np.linspace(0.0, 1.0, ramp, dtype=_F32)
        env[n - ramp:] = np.linspace(1.0, 0.0, ramp, dtype=_F32)
    y = _filt(_white(n, rng), 2, band, "bandpass", sr) * env
    return y / _F32(float(np.max(np.abs(y))) + 1e-9)


_CONSONANT_LEVEL = {"s": 0.35, "sh": 0.35, "f": 0.12, "h": 0.1, "p": 0.4, "t": 0.45, "k": 0.4}


def _fit_register(notes: np.ndarray, register: str) -> np.ndarray:
    """Shift a line by whole octaves so that its median sits near the register's centre."""
    centre = _SUNG_CENTRE[register]
    sung = notes[np.isfinite(notes) & (notes > 0)]
    if sung.size == 0:
        return notes
    return notes + 12 * round((centre - float(np.median(sung))) / 12.0)


def _sung_line(notes: np.ndarray, durs: np.ndarray, sr: int, rng: np.random.Generator, register: str,
               vibrato: bool, detune_cents: float = 0.0, velocity: float = 0.8,
               vib_depth: float | None = None, breath: float = 0.1):
    """Pitch contour and source of one sung line: returns (source, note spans in samples).

    The pitch glides between notes through a resonant smoothing filter (a little overshoot,
    as singers do), scoops up into a note after a breath, and carries vibrato that starts a
    little after each note begins; jitter and shimmer make it less mechanical.
    """
    hop = 32
    ctrl_rate = sr / hop
    onsets = np.concatenate([[0.0], np.cumsum(durs)[:-1]])
    total = float(np.sum(durs))
    n = _nsamp(total, sr)
    m = -(-n // hop) + 1
    tc = np.arange(m) / ctrl_rate
    sung = np.isfinite(notes) & (notes > 0)
    idx = np.clip(np.searchsorted(onsets, tc, side="right") - 1, 0, len(notes) - 1)
    # target pitch: a rest takes the pitch of the next sung note, half a semitone below (a scoop)
    target = np.where(sung, notes, np.nan).astype(float)
    nxt = target.copy()
    for i in range(len(nxt) - 2, -1, -1):
        if not np.isfinite(nxt[i]):
            nxt[i] = nxt[i + 1] - 0.5 if np.isfinite(nxt[i + 1]) else np.nan
    nxt[~np.isfinite(nxt)] = np.nanmean(target) if np.any(sung) else 60.0
    pitch = nxt[idx]
    b, a = _sig.butter(2, min(0.9, rng.uniform(9.0, 14.0) / (0.5 * ctrl_rate)))
    pitch = _sig.lfilter(b, a, pitch - pitch[0]) + pitch[0]
    cents = np.full(m, detune_cents) + 8.0 * _smooth_noise(m, rng, 0.5, ctrl_rate)
    cents += (30.0 if register == "female" else 18.0) * 0.2 * _smooth_noise(m, rng, 30.0, ctrl_rate)  # jitter
    if vibrato:
        depth = vib_depth if vib_depth is not None else (rng.uniform(35, 60) if register == "female" else rng.uniform(25, 45))
        rate = rng.uniform(5.0, 6.0)
        since = tc - onsets[idx]
        fade = np.clip((since - 0.18) / 0.25, 0.0, 1.0) * sung[idx]
        vib_ph = np.cumsum(rate * (1.0 + 0.04 * _smooth_noise(m, rng, 0.3, ctrl_rate))) / ctrl_rate + rng.random()
        cents += depth * fade * np.sin(_TWO_PI * vib_ph)
    f0_ctrl = 440.0 * 2.0 ** ((pitch + cents / 100.0 - 69.0) / 12.0)
    # loudness envelope: attack at each note after a rest, release before each rest, legato dips
    env = np.zeros(m)
    for i in np.flatnonzero(sung):
        t0, t1 = onsets[i], onsets[i] + durs[i]
        after_rest = i == 0 or not sung[i - 1]
        before_rest = i == len(notes) - 1 or not sung[i + 1]
        att = 0.05 if after_rest else 0.03
        rel = min(0.09, 0.4 * durs[i]) if before_rest else 0.0
        sel = (tc >= t0) & (tc < t1 + (0.0 if before_rest else 1.0 / ctrl_rate))
        if not np.any(sel):
            continue
        local = tc[sel] - t0
        e = np.clip(local / att, 0.0, 1.0) if after_rest else 0.85 + 0.15 * np.clip(local / att, 0.0, 1.0)
        if rel > 0:
            e = e * np.clip((t1 - tc[sel]) / rel, 0.0, 1.0)
        env[sel] = np.maximum(env[sel], e * rng.uniform(0.85, 1.0))  # some notes a little louder
    env *= 1.0 + 0.06 * _smooth_noise(m, rng, 25.0, ctrl_rate)  # shimmer
    f0 = _ctrl_to_audio(f0_ctrl, hop, n)
    src = _glottal_source(f0, sr, rng, breath=breath) * _ctrl_to_audio(np.maximum(env, 0), hop, n)
    spans = [(int(round(onsets[i] * sr)), min(n, int(round((onsets[i] + durs[i]) * sr)))) for i in range(len(notes))]
    return src, spans, sung


def _vowel_list(vowels, n_notes: int, rng: np.random.Generator) -> list:
    """One vowel per note: given, repeated from a string, or a random lyric-like sequence."""
    if vowels is None:
        out, v = [], str(rng.choice(VOWELS))
        for _ in range(n_notes):
            if rng.random() < 0.6:
                v = str(rng.choice(VOWELS))
            out.append(v)
        return out
    if isinstance(vowels, str):
        vowels = [vowels] if len(vowels) == 1 else list(vowels)
    vowels = list(vowels)
    bad = [v for v in vowels if v not in VOWELS]
    if bad:
        raise ParameterError(f"unknown vowel(s) {bad}; choose from {VOWELS}")
    return [vowels[i % len(vowels)] for i in range(n_notes)]


def _vowel_spans(spans, sung, vowel_seq, register: str, sr: int, f0s=None, tilt_hz: float = 300.0):
    """Formant spans for :func:`_formant_regions`: one per sung note, merged when the vowel repeats."""
    out = []
    table = _SUNG_FORMANTS[register]
    for i, (a, b) in enumerate(spans):
        if not sung[i] or b <= a:
            continue
        formants, bws = table[vowel_seq[i]]
        if f0s is not None and register == "female":  # sopranos raise F1 to follow a high f0
            formants = (max(formants[0], int(round(1.1 * f0s[i] / 25.0)) * 25),) + tuple(formants[1:])
        sos = _formant_sos(tuple(formants), tuple(bws), sr, float(round(tilt_hz, -1)))
        if out and out[-1][1] == a and out[-1][2] is sos:
            out[-1] = (out[-1][0], b, sos)
        else:
            out.append((a, b, sos))
    return out


def _add_consonants(y: np.ndarray, spans, sung, sr: int, rng: np.random.Generator, level: float, prob: float):
    """Sprinkle consonants before sung notes (always after a rest, else with probability ``prob``)."""
    for i, (a, _) in enumerate(spans):
        if not sung[i] or not (i == 0 or not sung[i - 1] or rng.random() < prob):
            continue
        kind = str(rng.choice(list(_CONSONANT_LEVEL)))
        length = int((0.03 if kind in "ptk" else rng.uniform(0.05, 0.09)) * sr)
        s0 = max(0, a - length)
        c = _consonant(a - s0, sr, rng, kind) if a > s0 else None
        if c is not None and c.size:
            y[s0:a] += c * _F32(level * _CONSONANT_LEVEL[kind])
    return y


def _check_notes(midi_notes, note_durations):
    notes = np.asarray(midi_notes, dtype=float).ravel()
    durs = np.asarray(note_durations, dtype=float).ravel()
    if notes.size == 0 or notes.size != durs.size:
        raise ParameterError("midi_notes and note_durations must be non-empty and of the same length")
    if np.any(durs <= 0):
        raise ParameterError("note durations must be positive")
    return notes, durs


def singing_voice(midi_notes, note_durations, sr: int, register: str = "female", vowels=None, rng=None,
                  vibrato: bool = True, *, fit_register: bool = True, velocity: float = 0.8) -> np.ndarray:
    """A singing voice, by formant (source-filter) synthesis.

    The source is a band-limited glottal pulse train with a -6 dB/octave tilt, breath noise,
    jitter and shimmer; its pitch follows the notes with smooth glides, a scoop after each
    breath and vibrato (about 5.5 Hz) that fades in after each note's start. It is filtered by
    a cascade of five formant resonators per vowel (tenor formants for ``"male"``, soprano for
    ``"female"``), crossfading into the next vowel over 60 ms; consonant noises precede some
    notes.

    Args:
        midi_notes: MIDI note per note (floats allowed); 0, a negative number or NaN is a rest.
        note_durations: seconds per note, same length.
        sr: sample rate in Hz.
        register: ``"male"`` (f0 roughly 100-330 Hz) or ``"female"`` (200-800 Hz).
        vowels: None (a random lyric-like sequence), one vowel for all notes (``"a"``), or one
            per note (a string such as ``"aeiou"`` or a list), cycled; see :data:`VOWELS`.
        rng: random generator (None: a fixed seed).
        vibrato: whether to add vibrato.
        fit_register: move the line by whole octaves to the middle of the register (so a male
            voice always sings lower than a female one).
        velocity: vocal effort in [0, 1]: louder voices are brighter.

    Returns:
        float32 array of ``round(sum(note_durations) * sr)`` samples, peak 0.9.
    """
    if register not in _SUNG_FORMANTS:
        raise ParameterError(f"register must be 'male' or 'female', not {register!r}")
    rng = _rng(rng)
    notes, durs = _check_notes(midi_notes, note_durations)
    y = _render_singing(notes, durs, int(sr), register, vowels, rng, vibrato, fit_register, velocity)
    return peak_normalize(_fade(y, sr, 0.005, 0.02), 0.9)


def _render_singing(notes, durs, sr, register, vowels, rng, vibrato, fit_register, velocity):
    """Unnormalised singing (see :func:`singing_voice`)."""
    if fit_register:
        notes = _fit_register(notes, register)
    vowel_seq = _vowel_list(vowels, notes.size, rng)
    src, spans, sung = _sung_line(notes, durs, sr, rng, register, vibrato, velocity=velocity,
                                  breath=rng.uniform(0.04, 0.15))
    f0s = np.where(sung, midi_to_hz(np.where(sung, notes, 60.0)), 0.0)
    y = _formant_regions(src, _vowel_spans(spans, sung, vowel_seq, register, sr, f0s, _voice_tilt(register, velocity)), sr)
    level = float(np.sqrt(np.mean(y * y))) * 3.0 + 1e-9
    return _add_consonants(y, spans, sung, sr, rng, level, prob=0.3)


def _voice_tilt(register: str, velocity: float) -> float:
    """Corner frequency (Hz) of the voice's spectral slope: louder singing is brighter."""
    return (120.0 + 400.0 * velocity ** 2) if register == "male" else (200.0 + 500.0 * velocity ** 2)


def _render_choir(lines, durs, sr: int, rng: np.random.Generator, voices_per_line: int, vowels,
                  registers=None) -> np.ndarray:
    """Several sung lines, each by several detuned voices; voices of a register share filters."""
    durs = np.asarray(durs, dtype=float)
    vowel_seq = _vowel_list(vowels, durs.size, rng)
    groups = {}
    spans_ref = sung_ref = None
    for li, line in enumerate(lines):
        line = np.asarray(line, dtype=float)
        for v in range(voices_per_line):
            reg = registers[li] if registers is not None else ("female" if (li + v) % 2 == 0 else "male")
            notes = _fit_register(line, reg)
            src, spans, sung = _sung_line(notes, durs, sr, rng, reg, True, detune_cents=rng.normal(0.0, 8.0),
                                          velocity=0.6, vib_depth=rng.uniform(15.0, 35.0), breath=0.0)
            shift = min(src.size, int(rng.integers(0, max(1, int(0.015 * sr)))))  # a little late
            src = np.concatenate([np.zeros(shift, _F32), src[:src.size - shift]])
            if reg not in groups:
                groups[reg] = [src, []]
            else:
                groups[reg][0] = groups[reg][0] + src
            groups[reg][1].append(notes)
            spans_ref, sung_ref = spans, sung
    out = None
    for reg, (src, line_notes) in groups.items():
        src = src + _white(src.size, rng) * _F32(0.3 * math.sqrt(len(line_notes)))  # the choir's breath
        f0s = np.where(sung_ref, midi_to_hz(np.where(sung_ref, np.nanmean(line_notes, axis=0), 60.0)), 0.0)
        y = _formant_regions(src, _vowel_spans(spans_ref, sung_ref, vowel_seq, reg, sr, f0s, _voice_tilt(reg, 0.5)), sr)
        out = y if out is None else out + y
    return out


def choir(midi_notes, note_durations, sr: int, rng: np.random.Generator, n_voices: int = 6, *,
          vowels="a") -> np.ndarray:
    """A small choir singing a line: several detuned voices in mixed registers.

    Voices alternate between female (the line moved into the soprano register) and male (the
    tenor register, usually an octave lower); each has its own detuning (about 8 cents), vibrato
    and timing (up to 15 ms late), which together give the soft "chorus" sound of a choir.

    Args:
        midi_notes: MIDI note per note; 0, negative or NaN is a rest.
        note_durations: seconds per note, same length.
        sr: sample rate in Hz.
        rng: random generator.
        n_voices: number of singers, >= 1.
        vowels: as for :func:`singing_voice`; choirs usually sing "a" (aah) or "o"/"u" (ooh).

    Returns:
        float32 array of ``round(sum(note_durations) * sr)`` samples, peak 0.9.
    """
    notes, durs = _check_notes(midi_notes, note_durations)
    y = _render_choir([notes], durs, int(sr), rng, max(1, int(n_voices)), vowels)
    return peak_normalize(_fade(y, sr, 0.01, 0.05), 0.9)
