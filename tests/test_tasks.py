"""course_utils.tasks.registry: one record per transfer task, and the tables derived from it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from course_utils import datasets
from course_utils.core.errors import CourseError
from course_utils.tasks import registry, release, splits


def test_every_task_agrees_with_its_dataset():
    for task in registry.REGISTRY.values():
        spec = datasets.get_spec(task.dataset)
        assert spec.task == task.task_type, task.name
        assert spec.split_column == task.course_split_column, task.name
        if task.target is not None:
            assert task.target in spec.label_columns, task.name


def test_the_notebooks_tables_are_views_of_the_registry():
    assert registry.TASKS == registry.names() and len(registry.names()) == 7
    assert registry.PUBLISHED["emoMusic_valence"] == {"01234": 0.457, "mfcc": 0.267}
    assert registry.TASK_TITLES["jamendo_vd"] == registry.get("jamendo_vd").title
    assert list(registry.release_tasks()) == [
        "ballroom_extended", "gtzan_genre", "gtzan_speechmusic", "emomusic", "jamendo_vocal", "urbansound8k"]
    assert registry.release_tasks()["emomusic"] == "emoMusic"
    urban = registry.get("urbansound")
    assert (urban.title, urban.task_type, urban.course_split_column, urban.target) == ("UrbanSound8K", "classification", "fold", None)


def test_unknown_names_list_the_known_ones():
    with pytest.raises(CourseError, match="gtzan_genre"):
        registry.get("gtzan")


def test_release_labels_rescale_ratings_once():
    table = pd.DataFrame({"clip_id": [1, 2], "path": ["a.mp3", "b.mp3"], "arousal": [9.0, 4.5], "valence": [1.0, 3.0]})
    labels = release.release_labels(table)
    assert list(labels.columns) == ["id", "filepath", "label_arousal", "label_valence"]
    np.testing.assert_allclose(labels["label_arousal"], [1.0, 0.5])
    np.testing.assert_allclose(labels["label_valence"], registry.get("emoMusic_valence").to_release_scale(table["valence"]))
    column = table["arousal"]
    assert registry.get("gtzan_genre").to_release_scale(column) is column


def test_written_layout_is_read_back(tmp_path):
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"clip_id": list("abcdef"), "path": [f"/x/{c}.wav" for c in "abcdef"],
                          "label_id": [0, 1, 0, 1, 0, 1], "fold": [1, 1, 2, 2, 3, 3]})
    convnet, mfcc = rng.normal(size=(6, 160)), rng.normal(size=(6, 120))
    release.write_release_layout(tmp_path, "urbansound8k", table, convnet, mfcc)
    X, y, groups = release.load_release(tmp_path, "urbansound", "24+mfcc")
    np.testing.assert_allclose(X, np.hstack([convnet[:, 64:96], convnet[:, 128:160], mfcc]), rtol=1e-6)
    assert y.tolist() == [0, 1, 0, 1, 0, 1] and groups.tolist() == [1, 1, 2, 2, 3, 3]
    assert [len(te) for _, te in splits.cv_splits("urbansound", release.load_labels(tmp_path / "features", "urbansound"))] == [2, 2, 2]
