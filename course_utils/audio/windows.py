"""The one window policy of the course: a clip shorter than a window is repeated to fill it; a longer
one is cut into consecutive windows that cover it, the last one flush with its end.

Every model that sees fixed-length windows (the course's tagger in training and in
:class:`~course_utils.features.clip_features.ClipFeatures`, choi2017, musicnn, the siamese
network, the MFCC windows of a long file) goes through :func:`frame_windows`.

(Reached as ``from course_utils import audio``: see :mod:`course_utils.audio`.)
"""

from __future__ import annotations

import numpy as np

from course_utils.core.errors import ParameterError


def crop_starts(n_frames: int, crop_frames: int) -> list[int]:
    """Starts of the consecutive crops that cover a clip, the last one flush with its end.

     A 1365-frame clip and 256-frame crops give starts
    0, 256, 512, 768, 1024 and 1109.

    Args:
        n_frames: the clip's length in frames.
        crop_frames: the crop length, at most ``n_frames``.

    Returns:
        Sorted crop starts.
    """
    if crop_frames > n_frames:
        raise ParameterError(f"clips of {n_frames} frames are shorter than the model's input of {crop_frames} frames")
    starts = list(range(0, n_frames - crop_frames + 1, crop_frames))
    if starts[-1] + crop_frames < n_frames:
        starts.append(n_frames - crop_frames)
    return starts


def tile(rep: np.ndarray, width: int, axis: int = -1) -> np.ndarray:
    """A representation repeated along ``axis`` to exactly ``width`` (unchanged when not shorter).

    A short clip is repeated, never zero-padded: silence would bias the averages of a model's
    outputs.

    Args:
        rep: a signal or a spectrogram (or a stack of them).
        width: the length wanted along ``axis``.
        axis: the time axis.

    Returns:
        The array, ``width`` long along ``axis`` when it was shorter.
    """
    rep = np.asarray(rep)
    n = rep.shape[axis]
    if n >= width:
        return rep
    if n == 0:
        raise ParameterError("an empty clip cannot be repeated to fill a window")
    reps = [1] * rep.ndim
    reps[axis] = int(np.ceil(width / n))
    return np.take(np.tile(rep, reps), np.arange(width), axis=axis)


def frame_windows(rep: np.ndarray, width: int, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows of ``width`` along ``axis`` of ``rep``: tiled if shorter, consecutive and covering if longer.

    Args:
        rep: a signal ``(n,)`` (axis 0) or a spectrogram.
        width: the window length along ``axis``.
        axis: the time axis.

    Returns:
        ``(starts, windows)``: start indices ``(k,)`` and the stacked float32 windows ``(k, ...)``.
    """
    rep = np.asarray(rep, dtype=np.float32)
    n = rep.shape[axis]
    if n <= width:
        return np.zeros(1, dtype=np.int64), tile(rep, width, axis)[None]
    starts = crop_starts(n, width)
    return np.asarray(starts, dtype=np.int64), np.stack([np.take(rep, np.arange(s, s + width), axis=axis) for s in starts])
