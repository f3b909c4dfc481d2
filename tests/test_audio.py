"""course_utils.audio.io: loading, the front end, the MFCC summary, and clear errors on bad files."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from course_utils import audio
from course_utils.core.errors import AudioError, CourseError

from conftest import SHARED


def _tone(freq=440.0, seconds=2.0, sr=16000, amp=0.5):
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture
def wav(tmp_path):
    path = tmp_path / "tone.wav"
    sf.write(path, _tone(), 16000)
    return path


def test_load_resamples_to_front_end_rate(wav):
    y = audio.load_audio(wav)
    assert y.dtype == np.float32 and y.ndim == 1
    assert len(y) == 2 * audio.SR
    # the 440 Hz tone survives resampling: the spectral peak stays at 440 Hz
    spectrum = np.abs(np.fft.rfft(y))
    assert abs(np.argmax(spectrum) * audio.SR / len(y) - 440) < 2


def test_offset_duration_and_padding(wav):
    y = audio.load_audio(wav, sr=16000, offset=0.5, duration=1.0)
    assert len(y) == 16000
    padded = audio.load_audio(wav, sr=12000, offset=1.5, duration=2.0, pad=True)
    assert len(padded) == 24000
    assert np.all(padded[7000:] == 0)  # 0.5 s of audio, the rest zeros
    cropped = audio.load_audio(wav, sr=12000, duration=1.0, pad=True)
    assert len(cropped) == 12000


def test_stereo_is_mixed_to_mono(tmp_path):
    left, right = _tone(440), _tone(880)
    path = tmp_path / "stereo.flac"
    sf.write(path, np.stack([left, right], axis=1), 16000)
    y = audio.load_audio(path, sr=None)
    np.testing.assert_allclose(y, (left + right) / 2, atol=1e-4)


def test_mp3_is_decoded(tmp_path):
    path = tmp_path / "tone.mp3"
    sf.write(path, _tone(), 16000, format="MP3")
    y = audio.load_audio(path)
    assert abs(len(y) / audio.SR - 2.0) < 0.1


@pytest.mark.parametrize(
    "make, problem",
    [
        (lambda p: None, "file not found"),
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" * 10), "cannot be decoded"),
        (lambda p: sf.write(p, np.zeros(16000, np.float32), 16000), "silent"),
        (lambda p: sf.write(p, _tone(seconds=0.01), 16000), "too short"),
    ],
    ids=["missing", "empty", "corrupt", "silent", "too-short"],
)
def test_bad_files_raise_clear_errors(tmp_path, make, problem):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(AudioError) as info:
        audio.load_audio(path)
    message = str(info.value)
    assert str(path) in message
    assert problem in message.lower() or problem in message


def test_truncated_mp3_and_garbage_mp3(tmp_path, wav):
    garbage = tmp_path / "garbage.mp3"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(AudioError, match="garbage.mp3"):
        audio.load_audio(garbage)


def test_unsupported_format(tmp_path):
    path = tmp_path / "song.m4a"
    path.write_bytes(b"\x00\x00\x00\x20ftypM4A ")
    with pytest.raises(AudioError, match="unsupported audio format '.m4a'"):
        audio.load_audio(path)


def test_silence_can_be_allowed(tmp_path):
    path = tmp_path / "quiet.wav"
    sf.write(path, np.zeros(16000, np.float32), 16000)
    assert np.all(audio.load_audio(path, allow_silence=True) == 0)


def test_log_mel_shape_and_scale():
    y = audio.resample(_tone(1000, seconds=29.12), 16000, audio.SR)
    mel = audio.log_mel(y)
    assert mel.shape == (96, 1366) == (audio.N_MELS, audio.n_frames(len(y)))
    assert mel.dtype == np.float32
    # a 1 kHz tone: the loudest band is the one whose centre is nearest 1 kHz
    import librosa

    centres = librosa.mel_frequencies(n_mels=96 + 2, fmax=audio.FMAX)[1:-1]
    assert abs(centres[np.argmax(mel.mean(axis=1))] - 1000) < 80
    # decibels relative to full scale: 20 dB quieter input is 20 dB lower
    quieter = audio.log_mel(y * 0.1)
    assert abs((mel.max() - quieter.max()) - 20) < 0.5
    assert mel.max() - mel.min() <= 80.0 + 1e-3


def test_mfcc_summary_is_120_values_and_separates_sounds():
    sine = audio.resample(_tone(300), 16000, audio.SR)
    noise = np.random.default_rng(0).normal(0, 0.1, len(sine)).astype(np.float32)
    a, b = audio.mfcc_summary(sine), audio.mfcc_summary(noise)
    assert a.shape == b.shape == (120,)
    assert np.all(np.isfinite(a))
    assert np.linalg.norm(a - b) > 10
    with pytest.raises(CourseError, match="too short"):
        audio.mfcc_summary(sine[:1000])


def test_fix_length():
    assert audio.fix_length(np.ones(5), 3).tolist() == [1, 1, 1]
    assert audio.fix_length(np.ones(2), 4).tolist() == [1, 1, 0, 0]


def test_audio_info(wav):
    info = audio.audio_info(wav)
    assert info["samplerate"] == 16000 and info["channels"] == 1
    assert abs(info["duration"] - 2.0) < 1e-6


@pytest.mark.skipif(not (SHARED / "audio").is_dir(), reason="../shared/reference/audio not present")
def test_real_music_clip_decodes():
    path = sorted((SHARED / "audio").glob("*.mp3"))[0]
    y = audio.load_audio(path, duration=10.0)
    assert abs(len(y) - 10 * audio.SR) < audio.SR // 10
    assert 0.01 < np.sqrt(np.mean(y**2)) < 1


# ---------------------------------------------------------------- issue 16: truncated files, long files, bad headers

@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_a_truncated_file_is_read_with_a_warning_giving_both_lengths(tmp_path, fmt):
    import warnings

    from course_utils.core.errors import AudioWarning

    path = tmp_path / f"tone.{fmt}"
    sf.write(path, _tone(seconds=4.0), 16000, format=fmt.upper())
    with warnings.catch_warnings():
        warnings.simplefilter("error", AudioWarning)  # a complete file: no warning
        audio.load_audio(path)
    full = path.read_bytes()
    path.write_bytes(full[: int(len(full) * 0.6) + 7])
    with pytest.warns(AudioWarning, match=rf"tone\.{fmt}: truncated: \d+\.\d\d s of audio decoded, but its header declares \d+\.\d\d s"):
        y = audio.load_audio(path)
    assert 1.5 * audio.SR < len(y) < 3.5 * audio.SR


def test_an_implausible_sample_rate_is_refused(tmp_path):
    """A header claiming 1 Hz would expand 2,000 samples into 24 million at 12 kHz."""
    import struct

    path = tmp_path / "one_hertz.wav"
    sf.write(path, _tone(seconds=0.25, sr=8000), 8000, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    struct.pack_into("<II", data, 24, 1, 2)  # sample rate 1 Hz, byte rate 2
    path.write_bytes(bytes(data))
    with pytest.raises(AudioError, match=r"one_hertz.wav: its header declares an implausible sample rate of 1 Hz"):
        audio.load_audio(path)


def test_long_files_are_cut_at_max_duration_with_a_warning(tmp_path):
    from course_utils.core.errors import AudioWarning

    path = tmp_path / "long.wav"
    sf.write(path, _tone(seconds=5.0), 16000)
    with pytest.warns(AudioWarning, match=r"long.wav: 5 s of audio; only the first 2 s are analysed"):
        y = audio.load_audio(path, max_duration=2.0)
    assert len(y) == 2 * audio.SR
    assert len(audio.load_audio(path, max_duration=None)) == 5 * audio.SR


def test_block_decoding_gives_the_samples_of_one_read(tmp_path, monkeypatch):
    """Long files are decoded in blocks, mixed and resampled as they come: the same signal."""
    path = tmp_path / "stereo.flac"
    rng = np.random.default_rng(0)
    sf.write(path, np.stack([_tone(440, 3.0, 44100), 0.1 * rng.standard_normal(3 * 44100).astype(np.float32)], axis=1), 44100)
    whole = audio.load_audio(path, offset=0.3)
    native = audio.load_audio(path, sr=None, duration=1.0)
    monkeypatch.setattr(audio.io, "_BLOCK_SAMPLES", 1000)
    monkeypatch.setattr(audio.io, "_BLOCK_FRAMES", 4096)
    blocks = audio.load_audio(path, offset=0.3)
    assert len(blocks) == len(whole)
    np.testing.assert_allclose(blocks, whole, atol=1e-6)
    np.testing.assert_array_equal(audio.load_audio(path, sr=None, duration=1.0), native)


def test_home_relative_paths_are_expanded(tmp_path, monkeypatch):
    from course_utils.features.clip_features import clip_rows

    monkeypatch.setenv("HOME", str(tmp_path))
    sr = 16000
    sf.write(tmp_path / "song.wav", _tone(sr=sr), sr)
    y = audio.load_audio("~/song.wav", sr=sr)
    assert len(y) == 2 * sr and audio.audio_info("~/song.wav")["samplerate"] == sr
    assert clip_rows("~/song.wav") == [(str(tmp_path / "song.wav"), 0.0, None)]
