"""How long an audio file says it is: notices a WAV, AU or MP3 file cut short.

libsndfile reads a truncated file without complaint (it reports the frames that are there), so
a half-downloaded clip would silently enter a dataset shorter than it claims. The headers still
say how long the file was meant to be: a WAV's ``data`` chunk size, an AU header's data size,
an MP3's frame headers (the last frame's length runs past the end of the file) and its
Xing/Info frame count.
"""

from __future__ import annotations

import struct
from pathlib import Path

# AU encodings -> bytes per sample (8-bit mu-law, 8/16/24/32-bit PCM, float, double, A-law).
_AU_BYTES = {1: 1, 2: 1, 3: 2, 4: 3, 5: 4, 6: 4, 7: 8, 27: 1}
# MPEG bit rates (kb/s) by (MPEG-1?, layer) and index.
_BITRATES = {
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_BITRATES[(False, 3)] = _BITRATES[(False, 2)]
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}  # by version bits


def declared_seconds(path) -> float | None:
    """The duration a file's header declares, if the file holds less audio than that.

    Args:
        path: a WAV, AU or MP3 file (other formats are not checked).

    Returns:
        The declared duration in seconds when the file is cut short; ``None`` when it is
        complete, or when its header does not say (streamed WAV, AU of unknown size, ...).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        data = path.read_bytes() if suffix == ".mp3" else _head(path)
        size = path.stat().st_size
    except OSError:
        return None
    if suffix == ".wav" and data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return _wav(data, size)
    if suffix in (".au", ".snd") and data[:4] == b".snd":
        return _au(data, size)
    if suffix == ".mp3":
        return _mp3(data)
    return None


def _head(path: Path, n: int = 1 << 16) -> bytes:
    with open(path, "rb") as f:
        return f.read(n)


def _wav(data: bytes, size: int) -> float | None:
    """A WAV's declared duration (``data`` chunk size / block align) if fewer bytes follow."""
    pos, rate, align = 12, None, None
    while pos + 8 <= len(data):
        cid, csize = data[pos:pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        if cid == b"fmt " and pos + 24 <= len(data):
            rate, align = struct.unpack_from("<I", data, pos + 12)[0], struct.unpack_from("<H", data, pos + 20)[0]
        elif cid == b"data":
            if not rate or not align or csize in (0, 0xFFFFFFFF):
                return None
            available = size - (pos + 8)
            return csize / align / rate if available < csize - align + 1 else None
        pos += 8 + csize + (csize & 1)
    return None


def _au(data: bytes, size: int) -> float | None:
    """An AU file's declared duration (header data size) if fewer bytes follow."""
    if len(data) < 24:
        return None
    offset, nbytes, encoding, rate, channels = struct.unpack_from(">5I", data, 4)
    width = _AU_BYTES.get(encoding)
    if nbytes == 0xFFFFFFFF or not width or not rate or not channels:
        return None
    return nbytes / (width * channels) / rate if size - offset < nbytes else None


def _frame(data: bytes, pos: int):
    """``(length, samples, rate)`` of the MPEG audio frame header at ``pos``, or ``None``."""
    if pos + 4 > len(data):
        return None
    h = struct.unpack_from(">I", data, pos)[0]
    version, layer = (h >> 19) & 3, 4 - ((h >> 17) & 3)
    br_index, sr_index, pad = (h >> 12) & 15, (h >> 10) & 3, (h >> 9) & 1
    if (h >> 21) != 0x7FF or version == 1 or layer == 4 or br_index in (0, 15) or sr_index == 3:
        return None
    mpeg1 = version == 3
    bitrate, rate = _BITRATES[(mpeg1, layer)][br_index] * 1000, _RATES[version][sr_index]
    if layer == 1:
        return (12 * bitrate // rate + pad) * 4, 384, rate
    samples = 1152 if layer == 2 or mpeg1 else 576
    return samples // 8 * bitrate // rate + pad, samples, rate


def _xing_frames(data: bytes, pos: int) -> int | None:
    """The frame count of a Xing/Info header in the frame at ``pos``, if it has one."""
    for tag in (b"Xing", b"Info"):
        at = data.find(tag, pos + 4, pos + 4 + 40)
        if at >= 0 and at + 12 <= len(data) and struct.unpack_from(">I", data, at + 4)[0] & 1:
            return struct.unpack_from(">I", data, at + 8)[0]
    return None


def _mp3(data: bytes) -> float | None:
    """An MP3's declared duration if its last frame runs past the end, or frames the Xing header counts are missing."""
    pos = 0
    if data[:3] == b"ID3" and len(data) >= 10:
        s = data[6:10]
        pos = 10 + ((s[0] << 21) | (s[1] << 14) | (s[2] << 7) | s[3]) + (10 if data[5] & 0x10 else 0)
    first = _frame(data, pos)
    if first is None:
        return None
    xing, frames, samples, rate = _xing_frames(data, pos), 0, first[1], first[2]
    while pos < len(data):
        frame = _frame(data, pos)
        if frame is None:
            return None  # trailing tags, or something this walk does not understand: no claim
        if pos + frame[0] > len(data):  # the last frame is cut
            declared = max(xing or 0, frames + 1)
            return declared * samples / rate
        frames, pos = frames + 1, pos + frame[0]
    if xing is not None and frames - 1 < xing:
        return xing * samples / rate
    return None
