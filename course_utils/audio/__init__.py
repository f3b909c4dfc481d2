"""Audio: reading and writing files, their headers, the course's features, signal measures, windows.

Each name has one home: :mod:`~course_utils.audio.io` (``load_audio``, ``write_audio``,
``audio_info``, ``resample``, ``fix_length``, ``SR``), :mod:`~course_utils.audio.features`
(``log_mel``, ``n_frames``, ``mfcc_summary`` and the front end's constants),
:mod:`~course_utils.audio.signal` (``quantize``, ``snr_db``, ``alias_frequency``,
``spectral_centroid``), :mod:`~course_utils.audio.windows` (``crop_starts``, ``tile``, ``frame_windows``: the one window policy) and
:mod:`~course_utils.audio.headers` and :mod:`~course_utils.audio.examples` (``fetch_example_clips``: the four real clips). This folder lists their public names, as librosa does, so that
``from course_utils import audio`` then ``audio.log_mel(y)`` reads as in the notebooks.

Notebooks 01, 02, 03, 05 and 06.
"""

from course_utils.audio.examples import fetch_example_clips
from course_utils.audio.features import FMAX, HOP_LENGTH, log_mel, mfcc_summary, N_FFT, n_frames, N_MELS, N_MFCC
from course_utils.audio.io import audio_info, fix_length, load_audio, MAX_SECONDS, resample, SR, stream_audio, SUPPORTED_EXTENSIONS, write_audio
from course_utils.audio.signal import alias_frequency, quantize, snr_db, spectral_centroid
from course_utils.audio.windows import crop_starts, frame_windows, tile

__all__ = [
    "FMAX", "HOP_LENGTH", "MAX_SECONDS", "N_FFT", "N_MELS", "N_MFCC", "SR", "SUPPORTED_EXTENSIONS",
    "alias_frequency", "audio_info", "fetch_example_clips", "crop_starts", "fix_length", "frame_windows", "tile", "load_audio", "log_mel", "mfcc_summary",
    "n_frames", "quantize", "resample", "snr_db", "spectral_centroid", "stream_audio", "write_audio",
]
