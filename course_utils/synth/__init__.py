"""A small numpy synthesiser: notes, drums, singing, speech and city sounds.

The course's embedded *mini datasets* imitate real MIR datasets (MagnaTagAtune, GTZAN,
Extended Ballroom, emoMusic, Jamendo, UrbanSound8K) without downloading anything: every clip
is rendered here from a handful of musical parameters, and its labels are derived from those
same parameters. Notebook 01 also uses this package to make example sounds to listen to;
notebooks 02 and 05 make a fresh piece with it to tag and to search with.

Each technique is a classic of computer music; the modules, from the bottom layer up:

- :mod:`~course_utils.synth.dsp`: levels, noise, filters, fades, reverb, MIDI and Hz.
- :mod:`~course_utils.synth.theory`: scales, modes, chord progressions, melodies, rhythms.
- :mod:`~course_utils.synth.additive`: the additive synthesis engine (partials and envelopes).
- :mod:`~course_utils.synth.instruments`: one note of each instrument (:func:`note`).
- :mod:`~course_utils.synth.drums`: drum hits and the drum patterns of dance and genre styles.
- :mod:`~course_utils.synth.backing`: chords in rhythmic patterns and bass lines.
- :mod:`~course_utils.synth.voice`: formant synthesis of a singing voice and a choir.
- :mod:`~course_utils.synth.spoken`: speech-like sound from the same voice.
- :mod:`~course_utils.synth.pieces`: whole pieces (:func:`render_piece`).
- :mod:`~course_utils.synth.urban`: UrbanSound8K's city sounds (street music is a piece).

Every function that makes a random choice takes a :class:`numpy.random.Generator` ``rng``: the
same seed gives bitwise the same ``float32`` samples. Only numpy and scipy are used.
"""

from course_utils.synth.dsp import add_noise, hz_to_midi, midi_to_hz, peak_normalize, rms_db, set_loudness
from course_utils.synth.instruments import EXTRA_INSTRUMENTS, INSTRUMENT_RANGE, INSTRUMENTS, note
from course_utils.synth.theory import chord_progression, melody, MODES, scale
from course_utils.synth.drums import (DRUM_KINDS, DRUM_METER, DRUM_STYLES, EXTRA_DRUM_STYLES, TYPICAL_TEMPO,
                                      drum_hit, drum_pattern)
from course_utils.synth.backing import accompaniment, ACCOMPANIMENT_PATTERNS
from course_utils.synth.pieces import render_piece
from course_utils.synth.spoken import speech
from course_utils.synth.urban import URBAN_CLASSES, urban_sound
from course_utils.synth.voice import choir, singing_voice, VOWELS

__all__ = [
    "INSTRUMENTS", "EXTRA_INSTRUMENTS", "INSTRUMENT_RANGE", "MODES", "DRUM_STYLES", "EXTRA_DRUM_STYLES",
    "DRUM_KINDS", "DRUM_METER", "TYPICAL_TEMPO", "ACCOMPANIMENT_PATTERNS", "URBAN_CLASSES", "VOWELS",
    "midi_to_hz", "hz_to_midi", "scale", "chord_progression", "melody", "note", "drum_hit", "drum_pattern",
    "accompaniment", "singing_voice", "choir", "speech", "urban_sound", "render_piece", "add_noise",
    "set_loudness", "rms_db", "peak_normalize",
]
