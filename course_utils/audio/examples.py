"""The course's real example clips: four short pieces of real music, found or fetched and checked.

The four Bensound MP3s that come with the authors' tagging example (keunwoochoi/music-auto_tagging-keras),
about 1.8 MB. They are third-party files: never committed, found in the course's lookup order.
"""

from __future__ import annotations

from pathlib import Path

from course_utils.fetch import remote


def fetch_example_clips(*, progress: bool = True) -> list[Path]:
    """The four real music clips of the authors' tagging example (about 1.8 MB), checked.

    Found in the course's lookup order (:func:`course_utils.fetch.download.locate`):
    ``data/downloads/bensound/``, then ``audio/`` of the reference folder (read in place), else
    downloaded into the former. Notebooks 02, 03 and 05.

    Args:
        progress: show progress bars.

    Returns:
        The MP3 paths, in the order of the registry's ``bensound_clips`` (:mod:`course_utils.fetch.remote`).

    Raises:
        CourseError: a clip is nowhere here and could not be downloaded (e.g. offline), or failed
            its checksum.
    """
    clips = remote.get("bensound_clips")
    found = clips.locate(progress=progress)
    return [found[name] for name in clips.checksums()]
