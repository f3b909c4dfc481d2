"""course_utils.own.classifiers and saved_classifiers, and ``course-utils fit`` / ``predict``: the zoo
table, nested CV, the round trip from a folder of audio to a saved model that predicts a file, and
the refusal of a model saved with another feature extractor."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from course_utils.cli import main
from course_utils.core.errors import CourseError, DatasetError
from course_utils.datasets import own
from course_utils.features.clip_features import ClipFeatures
from course_utils.own import classifiers, saved
from course_utils.stats import bootstrap_interval
from course_utils.tasks import splits

SR = 12000


def _blobs(n_per_class=12, classes=3, d=6, spread=0.6, seed=0):
    """A small feature matrix with well-separated classes."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(classes, d))
    X = np.concatenate([c + spread * rng.normal(size=(n_per_class, d)) for c in centres])
    y = np.repeat([f"class{k}" for k in range(classes)], n_per_class)
    return X, y


def _folder(root, per_class=5):
    """Three classes of one-second clips that MFCCs tell apart: a low tone, a high tone, noise."""
    rng = np.random.default_rng(0)
    t = np.arange(SR) / SR
    for i in range(per_class):
        for label, y in (("low", np.sin(2 * np.pi * (200 + 15 * i) * t)),
                         ("high", np.sin(2 * np.pi * (3000 + 100 * i) * t)),
                         ("noise", rng.normal(size=SR))):
            path = root / label / f"{label}{i}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, (0.2 * y / np.abs(y).max() + 0.01 * rng.normal(size=SR)).astype(np.float32), SR)
    return root


def test_zoo_table_has_every_classifier_with_intervals_and_times():
    X, y = _blobs()
    table = classifiers.compare_classifiers(X, y, outer_folds=3, inner_folds=2)
    assert len(table) == 2 * len(classifiers.NAMES)
    assert table["pca"].tolist() == [False, True] * len(classifiers.NAMES)
    assert set(table["name"]) == set(classifiers.NAMES)
    assert (table["accuracy"] >= 0.9).all()  # separable blobs: every classifier finds them
    assert ((table["ci_low"] <= table["accuracy"]) & (table["accuracy"] <= table["ci_high"])).all()
    assert (table["fit_s"] > 0).all() and (table["fold_std"] >= 0).all()
    assert table.loc["RBF SVM", "chosen"].startswith("C=")
    assert table.attrs["outer_folds"] == 3 and table.attrs["n_clips"] == len(y)


def test_nested_cv_chooses_inside_the_training_part_and_is_repeatable():
    X, y = _blobs(spread=3.0, seed=1)  # overlapping classes: the choice matters
    a = classifiers.compare_classifiers(X, y, names=("logreg", "knn"), pca=(False,), outer_folds=4, seed=3)
    b = classifiers.compare_classifiers(X, y, names=("logreg", "knn"), pca=(False,), outer_folds=4, seed=3)
    pd.testing.assert_frame_equal(a.drop(columns="fit_s"), b.drop(columns="fit_s"))
    assert (a["accuracy"] < 1.0).any()
    with pytest.raises(CourseError, match="unknown classifier 'svm'"):
        classifiers.make_classifier("svm")


def test_accuracy_interval_is_a_bootstrap_around_the_accuracy():
    """The zoo's interval is :func:`course_utils.stats.bootstrap_interval` of the 0/1 hits."""
    y = np.array([0, 1] * 50)
    pred = y.copy()
    pred[:20] = 1 - pred[:20]
    low, high = bootstrap_interval(pred == y)
    assert low < 0.8 < high and 0.05 < high - low < 0.25
    assert bootstrap_interval(pred == y) == (low, high)
    assert bootstrap_interval(y == y) == (1.0, 1.0)


def test_outer_splits_respect_groups_and_the_smallest_class():
    y = np.array(["a"] * 6 + ["b"] * 3)
    assert len(splits.outer_splits(y, n_splits=5)) == 3
    groups = np.array([0, 0, 1, 1, 2, 2, 0, 1, 2])
    for train, test in splits.outer_splits(y, groups=groups, n_splits=3):
        assert not set(groups[train]) & set(groups[test])
    folds = np.array([0, 1, 2] * 3)
    assert [list(t) for _, t in splits.outer_splits(y, folds=folds)] == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]
    held_out = [list(t) for _, t in splits.outer_splits(y, folds=np.array([-1, 1, 2] * 3))]
    assert held_out == [[1, 4, 7], [2, 5, 8]]  # fold -1: always training, as in scikit-learn's PredefinedSplit


def test_knn_grid_fits_tiny_training_parts():
    X, y = _blobs(n_per_class=3, classes=2)
    table = classifiers.compare_classifiers(X, y, names=("knn",), pca=(False,), outer_folds=3, inner_folds=2)
    assert table["accuracy"].iloc[0] >= 0.5


@pytest.fixture
def fitted(tmp_path, data_root):
    """A classifier of mfcc features fitted on a tiny folder, saved in tmp_path."""
    table = own.load_folder(_folder(tmp_path / "music"))
    model, report = classifiers.fit_classifier("mfcc", table, outer_folds=3)
    path = saved.save_classifier(model, tmp_path / "models" / "genre.skops", report=report)
    return table, model, report, path


def test_fit_save_load_predict_round_trip(fitted, tmp_path):
    table, model, report, path = fitted
    assert isinstance(model.steps[0][1], ClipFeatures) and list(model.classes_) == ["high", "low", "noise"]
    assert report.accuracy >= 0.8 and report.interval[0] <= report.accuracy <= report.interval[1]
    assert report.confusion.shape == (3, 3) and report.confusion.to_numpy().sum() == len(table)
    assert report.outer_folds == 3 and len(report.fold_choices) == 3 and report.chosen
    text = report.text()
    assert "nested 3-fold" in text and "confusion matrix" in text and report.chosen in text
    meta = saved.read_description(path)
    assert meta["identity"] == model.steps[0][1].identity_ and meta["classes"] == ["high", "low", "noise"]
    assert "code" in meta["note"]
    loaded = saved.load_classifier(path)
    new = tmp_path / "new.wav"  # a clip it has not seen: a low tone
    t = np.arange(SR) / SR
    sf.write(new, (0.2 * np.sin(2 * np.pi * 260 * t)).astype(np.float32), SR)
    assert loaded.predict([str(new)])[0] == "low"
    probs = loaded.predict_proba([str(new)])
    assert probs.shape == (1, 3) and np.isclose(probs.sum(), 1.0)
    assert np.array_equal(loaded.predict(table), model.predict(table))


def test_fit_with_a_given_pipeline_and_refusals(tmp_path, data_root):
    table = own.load_folder(_folder(tmp_path / "music", per_class=3))
    pipe = Pipeline([("features", ClipFeatures("mfcc")), ("clf", LogisticRegression(max_iter=500))])
    model, report = classifiers.fit_classifier(pipe, table, grid={"clf__C": [0.1, 10.0]}, outer_folds=3)
    assert report.chosen.startswith("C=") and isinstance(model.steps[1][1], Pipeline)
    tagging = table.copy()
    tagging.attrs["task"] = "tagging"
    with pytest.raises(DatasetError, match="tagging"):
        classifiers.fit_classifier("mfcc", tagging)


def _rewrite_description(path, meta=None, drop=False):
    """Replace (or drop) the description inside a saved classifier, as a hand edit would."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    if drop:
        del members[saved.DESCRIPTION]
    else:
        members[saved.DESCRIPTION] = json.dumps(meta).encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


def test_load_refuses_another_extractor_naming_the_field(fitted, monkeypatch):
    _, _, _, path = fitted
    meta = saved.read_description(path)
    changed = dict(meta, identity={**meta["identity"], "course_utils": "0.0.1", "layers": "other"})
    _rewrite_description(path, changed)
    with pytest.raises(CourseError) as err:
        saved.load_classifier(path)
    text = str(err.value)
    assert "course_utils: saved '0.0.1', now" in text and "layers: saved 'other'" in text
    assert "fit it again" in text and "kind" not in text.split("(")[1].split(")")[0]
    assert saved.load_classifier(path, check=False) is not None  # on purpose, unchecked
    _rewrite_description(path, meta)
    monkeypatch.setattr(saved, "current_identity", lambda m: {**m["identity"], "weights_sha256": "0" * 64})
    with pytest.raises(CourseError, match="weights_sha256"):
        saved.load_classifier(path)


def test_load_refuses_a_replaced_file_or_a_missing_description(fitted):
    _, _, _, path = fitted
    meta = saved.read_description(path)
    _rewrite_description(path, {**meta, "model_sha256": "0" * 64})  # a description written for another model
    with pytest.raises(CourseError, match="checksum"):
        saved.load_classifier(path)
    _rewrite_description(path, drop=True)
    with pytest.raises(CourseError, match="not a classifier saved by course_utils"):
        saved.load_classifier(path)
    with pytest.raises(CourseError, match="no such classifier"):
        saved.load_classifier(path.with_name("none.skops"))
    with pytest.raises(CourseError, match="first step"):
        saved.save_classifier(LogisticRegression(), path)


def test_cli_fit_then_predict(tmp_path, data_root, capsys):
    music = _folder(tmp_path / "music", per_class=4)
    (music / "low" / "broken.wav").write_bytes(b"RIFF....WAVE")
    out = tmp_path / "genre.skops"
    assert main(["fit", str(music), "--features", "mfcc", "--out", str(out), "--folds", "3"]) == 0
    captured = capsys.readouterr()
    assert "nested 3-fold cross-validated accuracy" in captured.out and "95% bootstrap interval" in captured.out
    assert "confusion matrix" in captured.out and "chosen on all clips" in captured.out
    assert "broken.wav" in captured.err and out.is_file() and not saved.sidecar_path(out).exists()
    song = str(music / "high" / "high1.wav")
    assert main(["predict", str(out), song, str(music / "low" / "broken.wav")]) == 1  # one bad file: status 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0] == f"{song}: high" and len(lines) == 4 and "broken.wav" in captured.err
    probs = [float(line.split()[-1]) for line in lines[1:]]
    assert probs == sorted(probs, reverse=True) and abs(sum(probs) - 1) < 1e-6
    assert main(["predict", str(out), song, "--over-time"]) == 0
    captured = capsys.readouterr()
    assert "label per window" in captured.out and "whole clip" in captured.err  # the MFCC summary's caveat


@pytest.mark.parametrize("make", ["missing", "empty", "one-clip", "csv-without-label"])
def test_cli_fit_bad_data_exits_2_with_the_message(tmp_path, data_root, capsys, make):
    data = tmp_path / "data_in"
    if make == "empty":
        data.mkdir()
    elif make == "one-clip":
        _folder(data, per_class=2)
        (data / "low" / "low1.wav").unlink()
    elif make == "csv-without-label":
        data = tmp_path / "t.csv"
        data.write_text("path\nx.wav\n")
    assert main(["fit", str(data), "--out", str(tmp_path / "m.skops")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert {"missing": "folder not found", "empty": "one sub-folder per class", "one-clip": "'low'",
            "csv-without-label": "no label column"}[make] in err
    assert not (tmp_path / "m.skops").exists()


def test_cli_help_names_every_classifier_and_the_trust_note(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert all(name in text for name in classifiers.NAMES) and "load only" in text
