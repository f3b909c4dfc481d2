"""Speech: the formant voice of :mod:`course_utils.synth.voice`, talking instead of singing.

Speech glides its pitch freely, alternates voiced syllables with noisy consonants, and pauses
between phrases.
"""

from __future__ import annotations

import numpy as np

from course_utils.synth.dsp import (_F32, _ctrl_to_audio, _fade, _nsamp, _reverb, _smooth_noise, add_noise,
                                    peak_normalize)
from course_utils.core.errors import ParameterError
from course_utils.synth.voice import _consonant, _CONSONANT_LEVEL, _formant_regions, _formant_sos, _glottal_source

__all__ = ["speech"]


#: Spoken vowels and nasals of an adult male (after Peterson & Barney, 1952): formants F1..F5
#: in Hz. Female voices scale them by about 1.17, children's by 1.32.
_SPOKEN = {
    "i": (270, 2290, 3010, 3500, 4500), "I": (390, 1990, 2550, 3500, 4500), "E": (530, 1840, 2480, 3500, 4500),
    "ae": (660, 1720, 2410, 3500, 4500), "a": (730, 1090, 2440, 3500, 4500), "O": (570, 840, 2410, 3500, 4500),
    "U": (440, 1020, 2240, 3500, 4500), "u": (300, 870, 2240, 3500, 4500), "V": (640, 1190, 2390, 3500, 4500),
    "3": (490, 1350, 1690, 3500, 4500), "m": (250, 1100, 2200, 3300, 4500), "n": (250, 1600, 2600, 3300, 4500),
}
_SPOKEN_BW = (70, 100, 130, 180, 250)
_SPOKEN_VOWELS = ("i", "I", "E", "ae", "a", "O", "U", "u", "V", "3")
#: Per speaker type: f0 range of the speaker's mean pitch (Hz), formant scale, voice tilt (Hz).
_SPEAKERS = {"male": ((90.0, 125.0), 1.0, 250.0), "female": ((165.0, 215.0), 1.17, 350.0),
             "child": ((240.0, 310.0), 1.32, 420.0)}


def _syllable_plan(duration: float, rng: np.random.Generator):
    """Phrases of syllables with consonants, vowels, diphthongs and pauses, in seconds.

    Returns (segments, phrases): segments are (start, end, kind, label, stressed) with kind
    ``"voiced"`` (label a vowel or nasal) or ``"noise"`` (label a consonant) or ``"closure"``;
    phrases are (start, end) of each breath group.
    """
    segs, phrases = [], []
    t = rng.uniform(0.0, 0.25)
    while t < duration:
        p_start = t
        for _ in range(int(rng.integers(3, 14))):
            stressed = rng.random() < 0.35
            r = rng.random()
            if r < 0.35:  # fricative onset
                d = rng.uniform(0.05, 0.12)
                segs.append((t, t + d, "noise", str(rng.choice(["s", "sh", "f", "h", "s"])), False))
                t += d
            elif r < 0.65:  # plosive onset: closure then burst
                d = rng.uniform(0.03, 0.06)
                segs.append((t, t + d, "closure", "", False))
                t += d
                d = rng.uniform(0.015, 0.035)
                segs.append((t, t + d, "noise", str(rng.choice(["p", "t", "k"])), False))
                t += d
            elif r < 0.8:  # nasal onset
                d = rng.uniform(0.04, 0.08)
                segs.append((t, t + d, "voiced", str(rng.choice(["m", "n"])), False))
                t += d
            d = rng.uniform(0.07, 0.16) * (1.5 if stressed else 1.0)
            v1 = str(rng.choice(_SPOKEN_VOWELS))
            if rng.random() < 0.25:  # diphthong: glide to a second vowel
                v2 = str(rng.choice(_SPOKEN_VOWELS))
                segs.append((t, t + 0.5 * d, "voiced", v1, stressed))
                segs.append((t + 0.5 * d, t + d, "voiced", v2, stressed))
            else:
                segs.append((t, t + d, "voiced", v1, stressed))
            t += d
            if rng.random() < 0.3:  # coda
                d = rng.uniform(0.04, 0.09)
                if rng.random() < 0.5:
                    segs.append((t, t + d, "voiced", str(rng.choice(["m", "n"])), False))
                else:
                    segs.append((t, t + d, "noise", str(rng.choice(["s", "t", "k", "f"])), False))
                t += d
            if t >= duration:
                break
        phrases.append((p_start, t))
        t += rng.uniform(0.15, 0.7) if rng.random() < 0.85 else rng.uniform(0.8, 1.3)
    return segs, phrases


def _speech_pitch(tc: np.ndarray, segs, phrases, base: float, rng: np.random.Generator, ctrl_rate: float):
    """Intonation in Hz at control rate: declination over each phrase, pitch accents on stressed
    syllables, a final fall (or a question's rise), and slow wandering; never on musical notes."""
    st = 2.0 * _smooth_noise(tc.size, rng, 2.0, ctrl_rate)  # semitones of wander
    for p0, p1 in phrases:
        sel = (tc >= p0) & (tc < p1 + 0.2)
        u = (tc[sel] - p0) / max(p1 - p0, 1e-3)
        start, end = rng.uniform(2.0, 5.0), rng.uniform(-5.0, -2.0)
        contour = start + (end - start) * u
        if rng.random() < 0.2:  # a question: rise at the end
            contour += 6.0 * np.clip((u - 0.8) / 0.2, 0.0, 1.0)
        st[sel] += contour + rng.normal(0.0, 1.5)
    for a, b, kind, _, stressed in segs:
        if stressed and kind == "voiced":
            mid = 0.5 * (a + b)
            st += rng.uniform(2.0, 5.0) * np.exp(-0.5 * ((tc - mid) / rng.uniform(0.05, 0.1)) ** 2)
    return base * 2.0 ** (st / 12.0)


def _speech_track(n: int, sr: int, rng: np.random.Generator, register: str, level_jitter: float = 0.3):
    """One talker's speech, unnormalised, ``n`` samples (see :func:`speech`)."""
    (f_lo, f_hi), fscale, tilt = _SPEAKERS[register]
    duration = n / sr
    segs, phrases = _syllable_plan(duration, rng)
    hop = 32
    ctrl_rate = sr / hop
    m = -(-n // hop) + 1
    tc = np.arange(m) / ctrl_rate
    f0 = _speech_pitch(tc, segs, phrases, rng.uniform(f_lo, f_hi), rng, ctrl_rate)
    env = np.zeros(m)
    spans = []
    fs = fscale * rng.uniform(0.95, 1.05)
    for a, b, kind, label, stressed in segs:
        if kind != "voiced":
            continue
        sel = (tc >= a - 0.01) & (tc < b + 0.01)
        loc = tc[sel]
        e = np.clip(np.minimum(loc - a + 0.01, b + 0.01 - loc) / 0.025, 0.0, 1.0)
        gain = (0.35 if label in ("m", "n") else 1.0) * (1.25 if stressed else 1.0)
        gain *= float(np.exp(rng.normal(0.0, level_jitter)))
        env[sel] = np.maximum(env[sel], e * gain)
        i0, i1 = int(round(a * sr)), min(n, int(round(b * sr)))
        if i1 > i0:
            formants = tuple(int(round(f * fs / 10.0)) * 10 for f in _SPOKEN[label])
            bws = tuple(int(round(b_ * (1.0 + 0.15 * (fscale - 1.0) / 0.32) * (1.6 if label in ("m", "n") else 1.0)))
                        for b_ in _SPOKEN_BW)
            spans.append((i0, i1, _formant_sos(formants, bws, sr, tilt)))
    src = _glottal_source(_ctrl_to_audio(f0, hop, n), sr, rng, breath=rng.uniform(0.03, 0.12))
    src *= _ctrl_to_audio(env, hop, n)
    # merge abutting spans that use the same filter
    merged = []
    for a, b, sos in spans:
        if merged and merged[-1][1] >= a and merged[-1][2] is sos:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]), sos)
        elif merged and merged[-1][1] > a:
            merged.append((merged[-1][1], b, sos))
        else:
            merged.append((a, b, sos))
    y = _formant_regions(src, [s for s in merged if s[1] > s[0]], sr, xfade=0.04, tail=0.04)
    ref = float(np.sqrt(np.mean(y[np.abs(y) > 0] ** 2))) if np.any(y) else 1.0
    for a, b, kind, label, _ in segs:
        if kind != "noise":
            continue
        i0, i1 = int(round(a * sr)), min(n, int(round(b * sr)))
        if i1 - i0 > 8:
            y[i0:i1] += _consonant(i1 - i0, sr, rng, label) * _F32(ref * 2.5 * _CONSONANT_LEVEL[label]
                                                                 * float(np.exp(rng.normal(0.0, 0.3))))
    return y


def speech(duration: float, sr: int, rng: np.random.Generator, register: str = "male", *,
           noise_snr_db: float | None = None, room: float = 0.1) -> np.ndarray:
    """Speech-like sound: syllables of consonants and gliding vowels with free intonation.

    Syllables come at about 4-6 per second, in breath groups of 3 to 13 separated by pauses;
    each is an optional consonant (a fricative such as *s*, *sh*, *f*, *h*; a plosive *p*, *t*,
    *k* after a short silence; or a nasal *m*, *n*), a vowel (sometimes a diphthong gliding to
    another vowel) and an optional coda. Vowels are the same source-filter voice as
    :func:`singing_voice`, but the pitch follows an intonation contour (declining over a
    phrase, accents on stressed syllables, a fall or a question's rise at the end): it glides
    all the time, never holds a note, and follows no beat. This is what separates speech from
    music on MFCC statistics: pauses, fast alternation of noisy and voiced frames, no steady
    pitch.

    Args:
        duration: seconds.
        sr: sample rate in Hz.
        rng: random generator.
        register: ``"male"`` (median f0 about 100-140 Hz), ``"female"`` (180-240 Hz) or
            ``"child"`` (260-350 Hz, formants scaled up by 1.32).
        noise_snr_db: if given, add pink background noise at this signal-to-noise ratio (dB).
        room: amount of room reverberation in [0, 1] (a little makes it less synthetic).

    Returns:
        float32 array of ``round(duration * sr)`` samples, peak 0.9.

    Notebook 01.
    """
    if register not in _SPEAKERS:
        raise ParameterError(f"register must be one of {sorted(_SPEAKERS)}, not {register!r}")
    if duration <= 0:
        raise ParameterError("duration must be positive")
    n = _nsamp(duration, sr)
    y = _reverb(_speech_track(n, int(sr), rng, register), int(sr), rng, float(room))
    if noise_snr_db is not None:
        y = add_noise(y, noise_snr_db, rng)
    return peak_normalize(_fade(y, sr, 0.005, 0.02), 0.9)
