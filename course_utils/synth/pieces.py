"""Whole pieces: chords, a melody, a bass line, drums, singing and a choir, mixed on one grid."""

from __future__ import annotations

import math

import numpy as np

from course_utils.core.errors import ParameterError
from course_utils.synth.backing import _bass_events, _bass_note, _render_accompaniment, _render_events, _voice_chord
from course_utils.synth.drums import _check_style, _render_drums, _STYLE_SWING, DRUM_METER
from course_utils.synth.dsp import _F32, _fade, _limit, _nsamp, _pink, _reverb, set_loudness
from course_utils.synth.instruments import _RENDERERS, EXTRA_INSTRUMENTS, INSTRUMENT_RANGE, INSTRUMENTS
from course_utils.synth.theory import _check_mode, _melody_rhythm, _swing_time, chord_progression, melody, MODES
from course_utils.synth.voice import _render_choir, _render_singing, _SUNG_CENTRE

__all__ = ["render_piece"]


_SUSTAINED = ("strings", "organ", "violin", "cello", "flute", "brass")
_WALTZES = ("waltz", "viennese_waltz", "slow_waltz")
_SWING_STYLES = ("jive", "wcswing", "foxtrot", "quickstep", "shuffle")
_LATIN = ("salsa", "chacha", "rumba", "samba")
#: Mixing level (dB) of each part relative to the accompaniment.
_STEM_DB = {"accompaniment": 0.0, "melody": 3.0, "voice": 6.0, "drums": 1.0, "bass": -1.0, "choir": 0.0,
            "drone": -3.0}


def _default_pattern(inst: str, style: str, meter: int, rng: np.random.Generator) -> str:
    """An accompaniment pattern that suits the instrument and the drum style."""
    if inst in _SUSTAINED or inst == "synth" and rng.random() < 0.5:
        return "offbeat" if inst == "organ" and style in ("reggae", "jive", "wcswing", "shuffle") else "sustain"
    if style in _WALTZES or meter == 3:
        return "waltz" if inst != "harp" else "arpeggio"
    if style == "tango":
        return "staccato"
    if style == "reggae":
        return "offbeat"
    if style in _LATIN:
        return "strum" if inst in ("guitar", "electric_guitar") else "montuno"
    if style in _SWING_STYLES:
        return str(rng.choice(["offbeat", "block"]))
    if inst in ("guitar", "electric_guitar"):
        return "strum"
    if inst in ("harp", "harpsichord", "sitar"):
        return "arpeggio"
    return str(rng.choice(["block", "arpeggio", "waltz"] if style != "none" else ["arpeggio", "block", "sustain"]))


def _piece_melody(tonic_midi, mode, chords, meter, tempo_bpm, n_bars, register, rng):
    """Melody notes with their onsets and lengths in beats (rests removed), chord tones on strong beats."""
    onsets, lengths, rests = _melody_rhythm(meter, n_bars, tempo_bpm, rng)
    keep = ~rests
    onsets, lengths = onsets[keep], lengths[keep]
    tones = []
    for o in onsets:
        strong = abs(o - round(o)) < 1e-9 and (int(round(o)) % meter == 0 or (meter == 4 and int(round(o)) % 4 == 2))
        tones.append(list(np.asarray(chords[int(o // meter) % len(chords)]) % 12) if strong else None)
    notes = melody(tonic_midi, mode, len(onsets), rng, register=register, chord_tones=tones)
    return notes, onsets, lengths


def _in_segments(t: float, segments) -> tuple:
    """(inside, end of the segment) for a time ``t`` and a list of (start, end) segments."""
    for a, b in segments:
        if a <= t < b:
            return True, b
    return False, 0.0


def _render_piece_core(sr: int, n: int, rng: np.random.Generator, *, instruments=("piano",), tempo_bpm=110.0,
                       mode="major", tonic_midi=60, drums="rock", meter=None, voice=None, choir=False,
                       texture="melody+chords", swing=0.0, velocity=0.7, accomp_pattern=None, reverb=0.15,
                       voice_segments=None):
    """The unnormalised mix of :func:`render_piece` and its description (see there)."""
    style = _check_style(drums or "none")
    _check_mode(mode)
    insts = [str(i) for i in ((instruments,) if isinstance(instruments, str) else instruments)]
    for i in insts:
        if i not in _RENDERERS:
            raise ParameterError(f"unknown instrument {i!r}; choose from {INSTRUMENTS + EXTRA_INSTRUMENTS}")
    if texture not in ("melody+chords", "chords", "melody", "drone"):
        raise ParameterError(f"texture must be 'melody+chords', 'chords', 'melody' or 'drone', not {texture!r}")
    if voice not in (None, "male", "female"):
        raise ParameterError(f"voice must be None, 'male' or 'female', not {voice!r}")
    if tempo_bpm <= 0:
        raise ParameterError("tempo_bpm must be positive")
    meter = int(meter or DRUM_METER[style])
    swing = max(float(swing or 0.0), _STYLE_SWING[style])
    beat = 60.0 / float(tempo_bpm)
    n_bars = int(math.ceil(n / sr / (meter * beat))) + 1
    chords = chord_progression(tonic_midi, mode, n_bars, rng)
    stems, cache = {}, {}
    has_bass = "bass" in insts and len(insts) > 1
    others = [i for i in insts if i != "bass"] if has_bass else list(insts)
    lead = others[-1] if others else insts[-1]
    accompanists = []
    if texture in ("melody+chords", "chords") and others != ["bass"]:
        accompanists = others[:-1] if len(others) >= 2 and texture == "melody+chords" else list(others)
        if voice and lead not in accompanists:
            accompanists.append(lead)
    timbres = {i: (int(rng.integers(0, 4)) if i in ("organ", "synth") else None) for i in insts}  # one per piece
    info = {"tempo_bpm": float(tempo_bpm), "meter": meter, "swing": swing, "mode": mode, "tonic_midi": int(tonic_midi),
            "instruments": tuple(insts), "drums": style, "voice": voice, "choir": bool(choir), "texture": texture,
            "velocity": float(velocity), "chords": [list(map(int, c)) for c in chords],
            "bar_duration": meter * beat}
    # accompaniment
    acc = np.zeros(n, dtype=_F32)
    for i, inst in enumerate(accompanists):
        pattern = accomp_pattern or _default_pattern(inst, style, meter, rng)
        if i > 0 and pattern == "sustain" and inst not in _SUSTAINED:
            pattern = "arpeggio"
        part = _render_accompaniment(inst, chords, tempo_bpm, meter, n, sr, rng, pattern, velocity * 0.85, swing,
                                     timbres[inst], cache)
        acc += part / _F32(float(np.sqrt(np.mean(part * part))) + 1e-9) * _F32(0.8 if i else 1.0)
    if accompanists:
        stems["accompaniment"] = acc
    # melody (instrument and/or voice)
    melody_on = texture in ("melody+chords", "melody", "drone") or voice is not None
    info["melody"], info["voice_intervals"] = [], []
    if melody_on:
        lo, hi = INSTRUMENT_RANGE[lead]
        notes, onsets_b, lengths_b = _piece_melody(tonic_midi, mode, chords, meter, tempo_bpm, n_bars, (lo, hi), rng)
        on_s = _swing_time(onsets_b, swing) * beat
        off_s = np.minimum(_swing_time(onsets_b + lengths_b, swing) * beat, np.append(on_s[1:], np.inf))
        segments = [(0.0, np.inf)] if voice_segments is None else [(float(a), float(b)) for a, b in voice_segments]
        sung = np.zeros(notes.size, bool)
        if voice:
            for j, t in enumerate(on_s):
                sung[j], end = _in_segments(float(t), segments)
                if sung[j]:
                    off_s[j] = min(off_s[j], end)
        inst_events = [(float(onsets_b[j]), float(lengths_b[j]), [int(notes[j])], 1.0 if onsets_b[j] % meter == 0 else
                        0.85, 0) for j in range(notes.size) if not sung[j] and on_s[j] * sr < n]
        if inst_events and texture != "chords":
            stems["melody"] = _render_events(lead, inst_events, tempo_bpm, n, sr, rng, velocity, swing,
                                             timbres[lead], cache, legato=0.95)
        if voice and np.any(sung):
            seq_notes, seq_durs, t = [], [], 0.0
            for j in np.flatnonzero(sung):
                if on_s[j] * sr >= n:
                    break
                if on_s[j] > t + 1e-6:
                    seq_notes.append(0.0), seq_durs.append(on_s[j] - t)
                seq_notes.append(float(notes[j])), seq_durs.append(off_s[j] - on_s[j])
                info["voice_intervals"].append((float(on_s[j]), float(min(off_s[j], n / sr))))
                t = off_s[j]
            if seq_notes:
                v = _render_singing(np.asarray(seq_notes), np.asarray(seq_durs), sr, voice, None, rng, True, True,
                                    velocity)
                stems["voice"] = np.pad(v[:n], (0, max(0, n - v.size)))
        sung_sel = sung & (on_s * sr < n)  # the notes the voice sang, moved into its register as it did
        shift = 12 * round((_SUNG_CENTRE[voice] - float(np.median(notes[sung_sel]))) / 12.0) if np.any(sung_sel) else 0
        info["melody"] = [(float(on_s[j]), float(off_s[j] - on_s[j]), int(notes[j] + (shift if sung[j] else 0)),
                           bool(sung[j])) for j in range(notes.size) if on_s[j] < n / sr]
    # bass line
    if has_bass or (others == ["bass"] and texture != "melody"):
        ev = _bass_events(style, chords, meter, (np.asarray(MODES[mode]) + tonic_midi) % 12, rng)
        stems["bass"] = _render_events("bass", ev, tempo_bpm, n, sr, rng, velocity, swing, None, cache, legato=0.95)
    # drone (tanpura-like: fifth, tonic, tonic, low tonic, over and over)
    if texture == "drone":
        tonic_low = _bass_note(tonic_midi, 45, 56)
        cycle = rng.uniform(2.4, 3.6)
        ev, t = [], 0.0
        while t * sr < n:
            for k, m in enumerate((tonic_low - 5, tonic_low, tonic_low, tonic_low - 12)):
                ev.append(((t + k * cycle / 4) / beat, 3.0 / beat, [m], 0.5, 0))
            t += cycle
        stems["drone"] = _render_events("sitar", ev, tempo_bpm, n, sr, rng, 0.45, 0.0, 1, cache, jitter_s=0.01)
    # choir pad on the chord tones
    if choir:
        bar = meter * beat
        lines = np.array([_voice_chord(c, 55, 72)[:3] if len(_voice_chord(c, 55, 72)) >= 3 else
                          np.resize(_voice_chord(c, 55, 72), 3) for c in chords])
        durs = np.full(n_bars, bar)
        pad = _render_choir([lines[:, 2], lines[:, 1], lines[:, 0]], durs, sr, rng, 1, str(rng.choice(["a", "o"])),
                            registers=("female", "female", "male"))
        stems["choir"] = np.pad(pad[:n], (0, max(0, n - pad.size)))
    # drums
    if style != "none":
        stems["drums"] = _render_drums(style, tempo_bpm, n, sr, rng, swing, velocity)
    info["stems"] = tuple(stems)
    mix = np.zeros(n, dtype=_F32)
    for name, y in stems.items():
        r = float(np.sqrt(np.mean(y * y)))
        if r > 0:
            mix += y * _F32(10.0 ** ((_STEM_DB[name] + rng.normal(0.0, 1.0)) / 20.0) / r)
    mix = _reverb(mix, sr, rng, float(reverb))
    return _fade(mix, sr, 0.003, 0.03), info


def render_piece(sr: int, duration: float, rng: np.random.Generator, *, instruments=("piano",),
                 tempo_bpm: float = 110.0, mode: str = "major", tonic_midi: int = 60, drums: str | None = "rock",
                 meter: int | None = None, voice: str | None = None, choir: bool = False,
                 loudness_db: float = -20.0, texture: str = "melody+chords", noise_db: float | None = None,
                 swing: float = 0.0, velocity: float | None = None, accomp_pattern: str | None = None,
                 reverb: float = 0.15, voice_segments=None, return_info: bool = False):
    """A short piece of music: chords, a melody, a bass line, drums, singing, all on one grid.

    The first instrument(s) play the chords of a progression in the mode (one chord per bar)
    in a pattern that suits the instrument and the style (strummed guitar, waltz oom-pah-pah,
    tango staccato, held strings and organ...); the last instrument plays a melody that lands
    on chord tones on strong beats; ``"bass"`` among several instruments plays a bass line
    (walking for the swing styles, tumbao for Latin ones); ``drums`` plays its pattern
    (:func:`drum_pattern`). A ``voice`` sings the melody (the lead instrument then joins the
    accompaniment, and plays the melody wherever the voice does not sing); ``choir`` adds an
    "aah"/"ooh" pad on the chord tones. The parts are balanced, a little room reverb is added,
    and the whole is set to ``loudness_db``.

    What a listener (or a model) can hear, for deriving labels: instruments (timbre),
    voice and its register, choir, drums and their style, tempo and meter, mode (major/minor
    tonic chord and melody), loudness (a real level difference, plus brighter and sharper notes
    when loud: the velocity follows ``loudness_db`` unless given), and background noise.

    Args:
        sr: sample rate in Hz.
        duration: seconds, 1 to 30 (longer works, just slower).
        rng: random generator: chord progression, melody, timing and loudness wobbles.
        instruments: names from :data:`INSTRUMENTS` / :data:`EXTRA_INSTRUMENTS`, e.g.
            ``("guitar", "bass", "flute")``; a single string is accepted.
        tempo_bpm: beats (quarter notes) per minute; see :data:`TYPICAL_TEMPO`.
        mode: one of :data:`MODES`.
        tonic_midi: MIDI note of the tonic (its pitch class is the key).
        drums: a style from :data:`DRUM_STYLES` / :data:`EXTRA_DRUM_STYLES`, or None/"none".
        meter: beats per bar; None takes the drum style's (3 for waltzes, 2 for samba and
            pasodoble, else 4).
        voice: None, ``"male"`` or ``"female"``.
        choir: add a choir pad.
        loudness_db: RMS level of the result in dBFS (-35 quiet ... -10 loud).
        texture: ``"melody+chords"``, ``"chords"`` (no lead melody unless a voice sings),
            ``"melody"`` (no chords), or ``"drone"`` (a tanpura-like drone on the tonic and
            fifth under the melody, no chords: use with ``"sitar"``, mode ``"phrygian"`` or
            ``"minor"``, no drums or ``"none"`` for an Indian feel).
        noise_db: if given, pink background noise at this RMS level in dBFS.
        swing: 0 (straight) to 1 (triplet) for off-beat eighths; swing styles swing anyway.
        velocity: playing strength in [0, 1]; None derives it from ``loudness_db``
            (-20 dBFS gives 0.7; quieter is softer and darker, louder brighter).
        accomp_pattern: force one of :data:`ACCOMPANIMENT_PATTERNS` for the chords.
        reverb: amount of room reverberation in [0, 1].
        voice_segments: with a voice, the (start, end) times in seconds where it sings (for
            frame-level vocal detection labels, as in Jamendo); None: it sings throughout.
            Outside them, the lead instrument plays the melody.
        return_info: also return a dict describing the piece.

    Returns:
        float32 array of ``round(duration * sr)`` samples at ``loudness_db`` (peak <= 0.99);
        with ``return_info``, a tuple ``(audio, info)`` where ``info`` has ``tempo_bpm``,
        ``meter``, ``swing``, ``chords`` (MIDI notes per bar), ``bar_duration`` (s), ``melody``
        (``(onset s, length s, MIDI, sung)`` per note), ``voice_intervals`` (``(start, end)``
        in s where the voice sings), ``stems`` (the parts present) and the arguments used.

    Notebooks 01, 02 and 05.
    """
    if duration <= 0:
        raise ParameterError("duration must be positive")
    sr = int(sr)
    n = _nsamp(duration, sr)
    vel = float(np.clip(0.7 + 0.025 * (float(loudness_db) + 20.0), 0.3, 1.0)) if velocity is None else \
        float(np.clip(velocity, 0.05, 1.0))
    mix, info = _render_piece_core(sr, n, rng, instruments=instruments, tempo_bpm=tempo_bpm, mode=mode,
                                   tonic_midi=tonic_midi, drums=drums, meter=meter, voice=voice, choir=choir,
                                   texture=texture, swing=swing, velocity=vel, accomp_pattern=accomp_pattern,
                                   reverb=reverb, voice_segments=voice_segments)
    y = set_loudness(mix, loudness_db, sr) if np.any(mix) else mix
    if noise_db is not None:
        y = y + _pink(n, rng) * _F32(10.0 ** (float(noise_db) / 20.0))
        y = _limit(y.astype(_F32), 0.99, sr)
    y = np.nan_to_num(y).astype(_F32)
    info["loudness_db"] = float(loudness_db)
    return (y, info) if return_info else y
