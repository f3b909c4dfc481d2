"""The one window policy of the course: where the crops of a long clip start, how a short one is tiled.

(Reached as ``from course_utils import audio``: see :mod:`course_utils.audio`.)
"""

from __future__ import annotations

from course_utils.core.errors import ParameterError


def crop_starts(n_frames: int, crop_frames: int) -> list[int]:
    """Starts of the consecutive crops that cover a clip, the last one flush with its end.

    Notebook 01. A 1365-frame clip and 256-frame crops give starts
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
