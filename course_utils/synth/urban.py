"""City sounds of UrbanSound8K's ten classes, over street background noise.

Engines, drills and jackhammers, sirens and horns are harmonic tones and filtered noise with
their own rhythms; children and dogs use the formant voice; street music is a short piece.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal as _sig

from course_utils.synth.additive import _harmonic_sines, _partial_limit, _track_phase
from course_utils.synth.drums import TYPICAL_TEMPO
from course_utils.synth.dsp import (_F32, _TWO_PI, _brown, _ctrl_to_audio, _fade, _filt, _nsamp, _pink,
                                    _smooth_noise, _white, set_loudness)
from course_utils.core.errors import ParameterError
from course_utils.synth.pieces import _render_piece_core
from course_utils.synth.spoken import _speech_track
from course_utils.synth.voice import _formant_sos, _glottal_source

__all__ = ["URBAN_CLASSES", "urban_sound"]


#: UrbanSound8K's 10 classes, in the order of its ``classID`` (0..9).
URBAN_CLASSES = ("air_conditioner", "car_horn", "children_playing", "dog_bark", "drilling", "engine_idling",
                 "gun_shot", "jackhammer", "siren", "street_music")


def _street_noise(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Street ambience: traffic rumble, hiss, and a few cars swelling past; unit RMS."""
    y = _filt(_brown(n, rng), 2, rng.uniform(300.0, 900.0), "lowpass", sr) + _F32(0.3) * _pink(n, rng)
    t = np.arange(n, dtype=_F32) / _F32(sr)
    swell = np.ones(n, dtype=_F32)
    for _ in range(int(rng.integers(0, 3))):
        c, w = rng.uniform(0.0, n / sr), rng.uniform(0.8, 3.0)
        swell += _F32(rng.uniform(1.0, 3.0)) * np.exp(-0.5 * ((t - _F32(c)) / _F32(w)) ** 2)
    y *= swell
    return y / _F32(float(np.std(y)) + 1e-9)


def _segments(duration: float, rng: np.random.Generator, on=(1.0, 4.0), off=(0.3, 1.5), p_start_on: float = 0.7):
    """Alternating on/off segments (start, end) in seconds covering ``duration``."""
    segs, t = [], 0.0 if rng.random() < p_start_on else rng.uniform(*off)
    while t < duration:
        d = rng.uniform(*on)
        segs.append((t, min(duration, t + d)))
        t += d + rng.uniform(*off)
    return segs


def _gate(n: int, sr: int, segs, ramp: float = 0.05) -> np.ndarray:
    """A 0/1 envelope that is 1 inside the segments, with linear ramps of ``ramp`` seconds."""
    hop = 32
    m = -(-n // hop) + 1
    tc = np.arange(m) * hop / sr
    g = np.zeros(m)
    for a, b in segs:
        g = np.maximum(g, np.clip(np.minimum(tc - a, b - tc) / ramp + 0.5, 0.0, 1.0))
    return _ctrl_to_audio(g, hop, n)


def _harmonic_tone(f_ctrl: np.ndarray, hop: int, n: int, sr: int, amps: np.ndarray, rng) -> np.ndarray:
    """Harmonic tone following a control-rate frequency track (partials above 0.45 sr dropped)."""
    f = _ctrl_to_audio(f_ctrl, hop, n)
    k = np.arange(1, amps.size + 1)
    keep = k * float(np.max(f_ctrl)) < _partial_limit(sr)
    if not np.any(keep):
        keep[0] = True
    s = _harmonic_sines(_track_phase(f, sr, float(rng.random())), k[keep])
    return np.einsum("k,kn->n", amps[keep].astype(_F32), s)


def _u_air_conditioner(n, sr, rng):
    y = _filt(_pink(n, rng), 2, rng.uniform(1200.0, 4000.0), "lowpass", sr)
    y += _F32(rng.uniform(0.1, 0.4)) * _filt(_white(n, rng), 2, (rng.uniform(300, 800), rng.uniform(1500, 3000)),
                                              "bandpass", sr)
    hum = rng.choice([50.0, 60.0]) * rng.choice([1.0, 2.0])
    t = np.arange(n, dtype=_F32) / _F32(sr)
    for k in range(1, 6):
        y += _F32(rng.uniform(0.05, 0.3) / k) * np.sin(_F32(_TWO_PI * hum * k) * t + _F32(rng.uniform(0, 6.28)))
    if rng.random() < 0.5:  # compressor whine
        y += _F32(rng.uniform(0.02, 0.1)) * np.sin(_F32(_TWO_PI * rng.uniform(100.0, 400.0)) * t)
    y *= 1.0 + _F32(0.05) * np.sin(_F32(_TWO_PI * rng.uniform(0.2, 1.0)) * t)
    return y


def _u_car_horn(n, sr, rng):
    f1 = rng.uniform(350.0, 500.0)
    amps = 1.0 / np.arange(1, 25) ** rng.uniform(0.5, 1.0)  # a brassy, buzzing spectrum
    y = np.zeros(n, dtype=_F32)
    segs = _segments(n / sr, rng, on=(0.15, 1.2), off=(0.1, 0.6), p_start_on=0.3)[: int(rng.integers(1, 5))]
    a, b = int(segs[0][0] * sr), min(n, int(segs[-1][1] * sr) + 1)
    if b - a < 16:
        return y
    hop = 32
    m = -(-(b - a) // hop) + 1
    two_tone = rng.random() < 0.8  # most horns: two tones about a major third apart
    tone = _harmonic_tone(np.full(m, f1), hop, b - a, sr, amps, rng)
    if two_tone:
        tone += _harmonic_tone(np.full(m, f1 * rng.uniform(1.2, 1.3)), hop, b - a, sr, amps, rng)
    gate = _gate(n, sr, segs, 0.015)[a:b]
    y[a:b] = tone * gate
    return _filt(y, 2, (250.0, min(5000.0, 0.45 * sr)), "bandpass", sr)


def _u_children_playing(n, sr, rng):
    y = np.zeros(n, dtype=_F32)
    dur = n / sr
    for _ in range(int(rng.integers(2, 5))):
        length = min(n, _nsamp(rng.uniform(0.3, 0.7) * dur + 0.5, sr))
        start = int(rng.integers(0, max(1, n - length + 1)))
        v = _speech_track(length, sr, rng, "child", level_jitter=0.5)
        if rng.random() < 0.5:  # further away
            v = _filt(v, 2, rng.uniform(1500.0, 3000.0), "lowpass", sr)
        y[start:start + length] += v * _F32(rng.uniform(0.3, 1.0) / (float(np.std(v)) + 1e-9))
    for _ in range(int(rng.integers(0, 4))):  # squeals and shouts: high gliding "ee"s
        length = _nsamp(rng.uniform(0.2, 0.6), sr)
        if length >= n:
            continue
        start = int(rng.integers(0, n - length))
        hop = 32
        m = -(-length // hop) + 1
        f = rng.uniform(450.0, 900.0) * 2.0 ** (rng.uniform(-4, 4) / 12.0 * np.sin(np.linspace(0, math.pi, m)))
        src = _glottal_source(_ctrl_to_audio(f, hop, length), sr, rng, 0.1)
        sos = _formant_sos((350, 2700, 3600, 4500, 5200), (80, 120, 150, 200, 250), sr, 500.0)
        sq = _sig.sosfilt(sos, src * _F32(np.sin(np.linspace(0, math.pi, length)) ** 0.5)).astype(_F32)
        y[start:start + length] += sq * _F32(rng.uniform(0.5, 1.5) / (float(np.std(sq)) + 1e-9))
    return y


def _bark(sr: int, rng: np.random.Generator, size: float) -> np.ndarray:
    """One bark: a short, rough, harmonic yelp whose pitch rises and falls, plus noise."""
    length = _nsamp(rng.uniform(0.08, 0.22) * (0.7 + 0.6 * size), sr)
    hop = 16
    m = -(-length // hop) + 1
    u = np.linspace(0.0, 1.0, m)
    f_peak = rng.uniform(250.0, 500.0) * (1.6 - size)
    f = f_peak * (0.7 + 0.3 * np.sin(math.pi * np.minimum(u * 1.6, 1.0)))
    src = _glottal_source(_ctrl_to_audio(f, hop, length), sr, rng, 0.1)
    src *= _F32(1.0) + _F32(0.2) * _white(length, rng)  # roughness
    fs = 1.4 - 0.5 * size
    sos = _formant_sos(tuple(int(fs * x) for x in (700, 1400, 2600, 3600, 4800)), (150, 200, 250, 300, 350), sr, 400.0)
    y = _sig.sosfilt(sos, src).astype(_F32)
    t = np.linspace(0.0, 1.0, length, dtype=_F32)
    env = np.minimum(t / 0.08, 1.0) * np.exp(-3.0 * t)
    return y * env


def _u_dog_bark(n, sr, rng):
    y = np.zeros(n, dtype=_F32)
    size = rng.uniform(0.0, 1.0)
    t = rng.uniform(0.0, 0.5)
    while t < n / sr:
        for _ in range(int(rng.integers(1, 5))):
            b = _bark(sr, rng, size)
            i0 = int(t * sr)
            if i0 >= n:
                break
            seg = b[: n - i0] * _F32(rng.uniform(0.6, 1.0) / (float(np.max(np.abs(b))) + 1e-9))
            y[i0:i0 + seg.size] += seg
            t += b.size / sr + rng.uniform(0.1, 0.4)
        t += rng.uniform(0.5, 2.5)
    return y


def _u_drilling(n, sr, rng):
    hop = 32
    m = -(-n // hop) + 1
    segs = _segments(n / sr, rng, on=(1.0, 5.0), off=(0.2, 1.2), p_start_on=0.8)
    gate = _gate(n, sr, segs, 0.15)
    speed = 0.55 + 0.45 * gate[::hop][:m]
    speed = np.concatenate([speed, np.full(max(0, m - speed.size), speed[-1])])
    f = rng.uniform(150.0, 500.0) * speed * (1.0 + 0.01 * _smooth_noise(m, rng, 5.0, sr / hop))
    whine = _harmonic_tone(f, hop, n, sr, 1.0 / np.arange(1, 21) ** rng.uniform(0.5, 0.9), rng)
    grind = _filt(_white(n, rng), 2, (2000.0, min(7000.0, 0.45 * sr)), "bandpass", sr)
    grind *= _F32(0.5) + _F32(0.5) * np.sign(np.sin(_TWO_PI * _track_phase(_ctrl_to_audio(f / 2.0, hop, n), sr)))
    y = whine / _F32(float(np.std(whine)) + 1e-9) + _F32(rng.uniform(0.3, 1.0)) * grind
    return y * gate


def _u_engine_idling(n, sr, rng):
    hop = 32
    m = -(-n // hop) + 1
    fire = rng.uniform(20.0, 50.0) * (1.0 + 0.02 * _smooth_noise(m, rng, 1.0, sr / hop))
    pulses = _glottal_source(_ctrl_to_audio(fire, hop, n), sr, rng, 0.0)
    thump = _filt(pulses, 4, rng.uniform(250.0, 700.0), "lowpass", sr)
    thump /= _F32(float(np.std(thump)) + 1e-9)
    beat = np.clip(_F32(0.5) + _F32(0.3) * thump, 0.0, 1.5)  # the firing rhythm, smooth
    y = thump + _filt(_brown(n, rng), 2, 400.0, "lowpass", sr) * beat * _F32(rng.uniform(0.5, 1.0))
    tick = _filt(_white(n, rng), 2, (800.0, min(2500.0, 0.45 * sr)), "bandpass", sr)
    y += _F32(rng.uniform(0.03, 0.12)) * tick * beat
    return y


def _u_gun_shot(n, sr, rng):
    y = np.zeros(n, dtype=_F32)
    r = rng.random()
    count = 1 if r < 0.5 else (int(rng.integers(2, 4)) if r < 0.8 else int(rng.integers(4, 9)))
    gap = (0.08, 0.15) if count >= 4 else (0.3, 1.5)
    t = rng.uniform(0.0, max(0.01, 0.3 * n / sr))
    boom_fc, tail_t = rng.uniform(300.0, 1200.0), rng.uniform(0.3, 1.0)
    for _ in range(count):
        i0 = int(t * sr)
        if i0 >= n:
            break
        length = min(n - i0, _nsamp(tail_t * 3.0, sr))
        tt = np.arange(length, dtype=_F32) / _F32(sr)
        w = _white(length, rng)
        crack = w * np.exp(-tt / _F32(rng.uniform(0.004, 0.015)))
        boom = _filt(w, 2, boom_fc, "lowpass", sr) * np.exp(-tt / _F32(rng.uniform(0.05, 0.2))) * _F32(3.0)
        tail = _filt(_white(length, rng), 2, 2000.0, "lowpass", sr) * np.exp(-tt / _F32(tail_t / 3.0)) * _F32(0.25)
        shot = crack + boom + tail
        y[i0:i0 + length] += shot * _F32(rng.uniform(0.7, 1.0))
        t += rng.uniform(*gap)
    d = int(rng.uniform(0.05, 0.3) * sr)
    if d < n:  # an echo from a wall
        y[d:] += y[:n - d] * _F32(rng.uniform(0.1, 0.35))
    return y


def _u_jackhammer(n, sr, rng):
    y = np.zeros(n, dtype=_F32)
    rate = rng.uniform(18.0, 30.0)
    k_len = _nsamp(0.04, sr)
    tt = np.arange(k_len, dtype=_F32) / _F32(sr)
    kernels = []
    for _ in range(4):
        noise = _filt(_white(k_len, rng), 2, (rng.uniform(600, 1200), rng.uniform(2500, 4500)), "bandpass", sr)
        thud = np.sin(_F32(_TWO_PI * rng.uniform(80.0, 150.0)) * tt)
        kernels.append((noise * np.exp(-tt / _F32(rng.uniform(0.006, 0.015)))
                        + _F32(0.7) * thud * np.exp(-tt / _F32(0.015))).astype(_F32))
    for a, b in _segments(n / sr, rng, on=(1.0, 4.0), off=(0.3, 1.5), p_start_on=0.8):
        times = np.arange(a, b, 1.0 / rate) + rng.normal(0.0, 0.03 / rate, int(math.ceil((b - a) * rate)))[:len(np.arange(a, b, 1.0 / rate))]
        for i, t in enumerate(times):
            i0 = int(max(0.0, t) * sr)
            if i0 >= n:
                break
            k = kernels[i % 4][: n - i0]
            y[i0:i0 + k.size] += k * _F32(rng.uniform(0.7, 1.0))
    return y


def _u_siren(n, sr, rng):
    hop = 32
    m = -(-n // hop) + 1
    tc = np.arange(m) * hop / sr
    lo, hi = rng.uniform(500.0, 800.0), rng.uniform(1100.0, 1600.0)
    kind = rng.choice(["wail", "yelp", "hilo"])
    if kind == "wail":
        period = rng.uniform(2.0, 5.0)
        ph = (tc / period + rng.random()) % 1.0
        shape = np.where(ph < 0.4, ph / 0.4, 1.0 - (ph - 0.4) / 0.6)  # faster up than down
    elif kind == "yelp":
        ph = (tc / rng.uniform(0.15, 0.35) + rng.random()) % 1.0
        shape = np.where(ph < 0.5, ph * 2.0, 2.0 - ph * 2.0)
    else:
        shape = ((tc / rng.uniform(0.4, 0.7)) % 2.0 < 1.0).astype(float)
    doppler = 1.0 + 0.03 * np.tanh((tc - rng.uniform(0.0, n / sr)) / 1.5) * rng.choice([-1.0, 1.0])
    f = (lo + (hi - lo) * shape) * doppler
    amps = np.where(np.arange(1, 16) % 2 == 1, 1.0 / np.arange(1, 16), 0.15 / np.arange(1, 16))
    y = _harmonic_tone(f, hop, n, sr, amps, rng)
    swell = 0.4 + 0.6 * np.exp(-0.5 * ((tc - rng.uniform(0.0, n / sr)) / rng.uniform(2.0, 6.0)) ** 2)
    return y * _ctrl_to_audio(swell, hop, n)


def _u_street_music(n, sr, rng):
    pool = (("guitar",), ("violin",), ("brass",), ("organ",), ("guitar", "flute"), ("electric_guitar",),
            ("piano",), ("sitar",), ("guitar", "violin"))
    inst = pool[int(rng.integers(len(pool)))]
    style = str(rng.choice(["none", "none", "rock", "samba", "salsa", "four_on_floor", "reggae"]))
    tempo = float(rng.uniform(*TYPICAL_TEMPO[style])) if style != "none" else float(rng.uniform(70, 140))
    voice = None if rng.random() < 0.7 else str(rng.choice(["male", "female"]))
    return _render_piece_core(sr, n, rng, instruments=inst, tempo_bpm=tempo, mode=str(rng.choice(["major", "minor"])),
                              tonic_midi=int(rng.integers(52, 64)), drums=style, voice=voice, reverb=0.05)[0]


_URBAN_RENDERERS = {
    "air_conditioner": _u_air_conditioner, "car_horn": _u_car_horn, "children_playing": _u_children_playing,
    "dog_bark": _u_dog_bark, "drilling": _u_drilling, "engine_idling": _u_engine_idling, "gun_shot": _u_gun_shot,
    "jackhammer": _u_jackhammer, "siren": _u_siren, "street_music": _u_street_music,
}


def urban_sound(cls: str, duration: float, sr: int, rng: np.random.Generator, *, snr_db: float | None = None,
                loudness_db: float | None = None) -> np.ndarray:
    """A city sound of one of UrbanSound8K's classes, over street background noise.

    ``air_conditioner``: steady filtered noise with mains hum; ``car_horn``: one to four honks
    of a two-tone harmonic horn; ``children_playing``: overlapping children's babble with
    squeals; ``dog_bark``: groups of short, rough harmonic barks (dog size varies the pitch);
    ``drilling``: a motor's harmonic whine with grinding noise, ramping up and down;
    ``engine_idling``: a low rumble with harmonics of the 20-50 Hz firing rate and a slight
    wobble; ``gun_shot``: one shot, a few, or an automatic burst, each a crack, a boom and a
    reverberant tail, with an echo; ``jackhammer``: bursts of impacts at 18-30 per second;
    ``siren``: wail, yelp or hi-lo sweeps with a Doppler shift as it passes;
    ``street_music``: a short piece (:func:`render_piece`) played in the street. Pitch, rate,
    timing, background level and loudness vary from clip to clip, so classes overlap a little.

    Args:
        cls: one of :data:`URBAN_CLASSES`.
        duration: seconds (UrbanSound8K's clips last up to 4 s).
        sr: sample rate in Hz.
        rng: random generator.
        snr_db: sound-to-background ratio in dB; None draws it in [3, 25] dB.
        loudness_db: RMS level of the result in dBFS; None draws it in [-32, -16].

    Returns:
        float32 array of ``round(duration * sr)`` samples, peak <= 0.99.
    """
    if cls not in _URBAN_RENDERERS:
        raise ParameterError(f"unknown urban sound class {cls!r}; choose one of {URBAN_CLASSES}")
    if duration <= 0:
        raise ParameterError("duration must be positive")
    sr = int(sr)
    n = _nsamp(duration, sr)
    y = np.nan_to_num(_URBAN_RENDERERS[cls](n, sr, rng).astype(_F32))
    if not np.any(y):
        y = _F32(1e-3) * _white(n, rng)
    snr = float(rng.uniform(3.0, 25.0)) if snr_db is None else float(snr_db)
    y = y / _F32(float(np.sqrt(np.mean(y * y))) + 1e-12)
    y = y + _street_noise(n, sr, rng) * _F32(10.0 ** (-snr / 20.0))
    level = float(rng.uniform(-32.0, -16.0)) if loudness_db is None else float(loudness_db)
    return set_loudness(_fade(y, sr, 0.005, 0.01), level, sr)
