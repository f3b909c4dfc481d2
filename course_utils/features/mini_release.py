"""The six mini tasks' features in the layout of the authors' release, for notebook 04's protocol.

The course tagger's 160-value feature and the 120-value MFCC summary of every clip of the six
mini tasks (:func:`course_utils.tasks.registry.release_tasks`), both extracted by
:class:`~course_utils.features.clip_features.ClipFeatures` (``"course"`` and ``"mfcc"``, cached
per clip), written with :func:`course_utils.tasks.release.write_release_layout` so that notebook 04
reads the course's features exactly as it reads the authors'. Notebook 04.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from course_utils.core.cache import cache_file, cache_key
from course_utils.core.files import remove_stale_temp_files, replace_folder, STALE_AFTER, temp_path_for
from course_utils.datasets import load_dataset
from course_utils.features.clip_features import clip_rows, ClipFeatures
from course_utils.tasks.registry import release_tasks
from course_utils.tasks.release import release_labels, write_release_layout

#: Bump when the folder's content changes, so that old folders are not read.
VERSION = "1"


def mini_release(*, progress: bool = True) -> Path:
    """Both features of the six mini tasks, written (once) in the release layout.

    The folder is ``data/cache/mini_release/<key>/``
    (:func:`course_utils.core.cache.cache_file`): the key holds every clip (path, size,
    modification time, content sample, offset and duration), the labels and the tagger's
    identity, weights included, so a retrained tagger or regenerated audio gives a new folder.
    Notebook 04.

    Args:
        progress: show progress bars while extracting (the first time: minutes; the mini
            tagger is trained first if missing).

    Returns:
        The folder, with ``features/``, ``labels/`` and ``README.json``.
    """
    tagger = ClipFeatures("course", progress=progress).fit()
    tables = {name: load_dataset(name) for name in release_tasks()}
    identity = {k: v for k, v in tagger.identity_.items() if k != "course_utils"}
    key = cache_key(version=f"mini-release-{VERSION}",
                    files=sorted({path for table in tables.values() for path, _, _ in clip_rows(table)}),
                    params={"tagger": identity,
                            "clips": {name: clip_rows(table) for name, table in tables.items()},
                            "labels": {name: release_labels(table).to_csv() for name, table in tables.items()}})
    folder = cache_file("mini_release", key)
    if (folder / "README.json").is_file():
        return folder
    remove_stale_temp_files(folder.parent, STALE_AFTER, recursive=False)  # killed builds'
    mfcc = ClipFeatures("mfcc", progress=progress).fit()
    tmp = temp_path_for(folder, keep_suffix=False)
    try:
        for name, table in tables.items():
            write_release_layout(tmp, name, table, tagger.transform(table), mfcc.transform(table))
        replace_folder(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # what a failed extraction left (gone after the move)
    return folder
