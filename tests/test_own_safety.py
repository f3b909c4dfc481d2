"""Issue 26: saved classifiers that cannot run code (skops), ``fit --out`` that never overwrites a
user's file, atomic saves, and the option checks of ``fit`` / ``predict`` / ``tag``.

Each test names the item of the issue it guards."""

from __future__ import annotations

import json
import os
import pickle
import threading
import warnings
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest
import soundfile as sf

from course_utils.own import classifiers
from course_utils.datasets import own
from course_utils.own import saved
from course_utils.cli import main
from course_utils.core.errors import CourseError, DatasetError

SR = 12000


def _folder(root, per_class=4, classes=("low", "high", "noise")):
    """Classes of one-second clips that MFCCs tell apart: tones and noise."""
    rng = np.random.default_rng(0)
    t = np.arange(SR) / SR
    sounds = {"low": lambda i: np.sin(2 * np.pi * (200 + 15 * i) * t),
              "high": lambda i: np.sin(2 * np.pi * (3000 + 100 * i) * t),
              "noise": lambda i: rng.normal(size=SR)}
    for i in range(per_class):
        for label in classes:
            y = sounds[label](i)
            path = root / label / f"{label}{i}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, (0.2 * y / np.abs(y).max() + 0.01 * rng.normal(size=SR)).astype(np.float32), SR)
    return root


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Two fitted mfcc classifiers (three classes; two classes), fitted once for the module."""
    base = tmp_path_factory.mktemp("own_safety")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COURSE_DATA_DIR", str(base / "data"))
        three = own.load_folder(_folder(base / "music3"))
        two = own.load_folder(_folder(base / "music2", classes=("low", "high")))
        m3, r3 = classifiers.fit_classifier("mfcc", three, outer_folds=2, choices=("logreg",))
        m2, r2 = classifiers.fit_classifier("mfcc", two, outer_folds=2, choices=("logreg",))
    return {"three": (m3, r3, base / "music3"), "two": (m2, r2, base / "music2")}


@pytest.fixture
def saved_file(models, tmp_path, data_root):
    model, report, music = models["three"]
    path = saved.save_classifier(model, tmp_path / "genre.skops", report=report)
    return path, music


class Evil:
    """A pickle that runs a command when loaded (the attack of issue 26)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


def _legacy_joblib(path: Path, payload, sidecar: dict) -> Path:
    """A .joblib of the old format with a consistent sidecar (its SHA-256 matches)."""
    joblib.dump(payload, path)
    import hashlib

    sidecar = dict(sidecar, sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    path.with_name(path.name + ".json").write_text(json.dumps(sidecar))
    return path


# --------------------------------------------------------------------------- item 4: skops, no code


def test_item4_saved_classifier_is_one_skops_file_that_loads_without_trust(saved_file):
    path, music = saved_file
    assert path.suffix == ".skops" and zipfile.is_zipfile(path)
    assert not saved.sidecar_path(path).exists()  # one file: model and description (items 2, 6)
    meta = saved.read_description(path)
    assert meta["classes"] == ["high", "low", "noise"] and meta["format"] == saved.FORMAT
    model = saved.load_classifier(path)
    assert model.predict([str(music / "low" / "low1.wav")])[0] == "low"


def test_item4_malicious_pickle_is_refused_without_trust_and_never_runs(tmp_path, data_root, models, capsys):
    marker = tmp_path / "pwned"
    model, _, music = models["three"]
    meta = {"format": 1, "identity": model.steps[0][1].identity_, "features": {"model": "mfcc"}, "classes": ["a"]}
    path = _legacy_joblib(tmp_path / "genre.joblib", Evil(marker), meta)
    song = str(music / "low" / "low1.wav")
    assert main(["predict", str(path), song]) == 1
    err = capsys.readouterr().err
    assert "--trust" in err and "pickle" in err and "Traceback" not in err
    assert not marker.exists()
    with pytest.raises(saved.UntrustedModelError):
        saved.load_classifier(path)
    assert not marker.exists()


def test_item4_legacy_joblib_loads_only_with_trust_and_a_warning(tmp_path, data_root, models, capsys):
    model, _, music = models["three"]
    features = model.steps[0][1]
    meta = {"format": 1, "identity": features.identity_, "features": saved._params(features),
            "classes": ["high", "low", "noise"], "sklearn": __import__("sklearn").__version__}
    path = _legacy_joblib(tmp_path / "old.joblib", model, meta)
    with pytest.warns(saved.SavedClassifierWarning, match="pickle"):
        loaded = saved.load_classifier(path, trust=True)
    assert list(loaded.classes_) == ["high", "low", "noise"]
    song = str(music / "high" / "high1.wav")
    assert main(["predict", str(path), song, "--trust"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"{song}: high") and "warning:" in captured.err and "pickle" in captured.err


def test_item4_skops_file_with_an_untrusted_type_is_named_and_refused(tmp_path, data_root, models, capsys):
    import skops.io as sio
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    model, _, music = models["three"]
    evil = Pipeline([model.steps[0], ("fn", FunctionTransformer(func=os.getpid)), ("classifier", model.steps[1][1])])
    path = tmp_path / "evil.skops"
    saved.save_classifier(model, path)
    with zipfile.ZipFile(path) as z:  # the description of a good model, around another pipeline
        meta = json.loads(z.read(saved.DESCRIPTION))
    body = sio.dumps(evil)
    with zipfile.ZipFile(__import__("io").BytesIO(body)) as z:  # its checksum made to match, as an attacker would
        meta["model_sha256"] = saved._members_sha256({n: z.read(n) for n in z.namelist()})
    desc = json.dumps(meta)
    tmp = tmp_path / "evil2.skops"
    tmp.write_bytes(body)
    with zipfile.ZipFile(tmp, "a") as z:
        z.writestr(saved.DESCRIPTION, desc)
    with pytest.raises(saved.UntrustedModelError, match="getpid"):
        saved.load_classifier(tmp, check=False)
    assert main(["predict", str(tmp), str(music / "low" / "low1.wav")]) == 1
    err = capsys.readouterr().err
    assert "getpid" in err and "--trust" in err


# --------------------------------------------------------------------------- items 2, 6: atomic, consistent


def test_item2_a_failed_save_keeps_the_old_working_classifier(saved_file, models, monkeypatch):
    path, music = saved_file
    before = {p.name: p.read_bytes() for p in path.parent.iterdir() if p.is_file()}
    model2, report2, _ = models["two"]
    real_replace = os.replace
    calls = []

    def counting(src, dst):
        calls.append(dst)
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", counting)
    saved.save_classifier(model2, path.with_name("dry.skops"), report=report2)
    path.with_name("dry.skops").unlink()
    for failing in range(len(calls)):  # ENOSPC on each rename of a save in turn (the sidecar's, in the old format)
        seen = []

        def full_disk(src, dst):
            seen.append(dst)
            if len(seen) - 1 == failing:
                raise OSError(28, "No space left on device", str(dst))
            return real_replace(src, dst)

        monkeypatch.setattr(os, "replace", full_disk)
        with pytest.raises(OSError):
            saved.save_classifier(model2, path, report=report2)
        monkeypatch.setattr(os, "replace", real_replace)
        assert {p.name: p.read_bytes() for p in path.parent.iterdir() if p.is_file()} == before  # nothing half-written
        assert list(saved.load_classifier(path).classes_) == ["high", "low", "noise"]


def test_item6_concurrent_saves_never_mix_model_and_description(models, tmp_path, data_root):
    path = tmp_path / "race.skops"
    (m3, r3, _), (m2, r2, _) = models["three"], models["two"]
    for _ in range(10):
        threads = [threading.Thread(target=saved.save_classifier, args=(m, path), kwargs={"report": r})
                   for m, r in ((m3, r3), (m2, r2))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        meta = saved.read_description(path)
        loaded = saved.load_classifier(path)
        assert meta["classes"] == [str(c) for c in loaded.classes_]


# --------------------------------------------------------------------------- item 5: scikit-learn version


def _rewrite_description(path: Path, change) -> None:
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    meta = json.loads(members[saved.DESCRIPTION])
    members[saved.DESCRIPTION] = json.dumps(change(meta)).encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


def test_item5_another_sklearn_version_gives_one_warning_saying_what_to_do(saved_file):
    path, _ = saved_file
    _rewrite_description(path, lambda m: {**m, "sklearn": "0.24.2"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        saved.load_classifier(path)
    ours = [w for w in caught if issubclass(w.category, saved.SavedClassifierWarning)]
    assert len(ours) == 1 and "0.24.2" in str(ours[0].message) and "fit" in str(ours[0].message)
    from sklearn.exceptions import InconsistentVersionWarning

    assert not [w for w in caught if issubclass(w.category, InconsistentVersionWarning)]


# --------------------------------------------------------------------------- items 16, 17: damaged files


@pytest.mark.parametrize("edit", ["identity-string", "bogus-features-key", "a-list", "missing-identity",
                                  "missing-features", "classes-number"])
def test_item16_edited_descriptions_give_one_course_error(saved_file, edit):
    path, _ = saved_file
    change = {"identity-string": lambda m: {**m, "identity": "mfcc"},
              "bogus-features-key": lambda m: {**m, "features": {**m["features"], "bogus": 1}},
              "a-list": lambda m: [m],
              "missing-identity": lambda m: {k: v for k, v in m.items() if k != "identity"},
              "missing-features": lambda m: {k: v for k, v in m.items() if k != "features"},
              "classes-number": lambda m: {**m, "classes": 3}}[edit]
    _rewrite_description(path, change)
    with pytest.raises(CourseError, match=str(path.name)):
        saved.load_classifier(path)


def test_item16_edited_legacy_sidecar_gives_one_course_error(tmp_path, data_root, models):
    model, _, _ = models["three"]
    path = _legacy_joblib(tmp_path / "old.joblib", model, {"format": 1, "identity": "x", "features": ["mfcc"]})
    with pytest.warns(saved.SavedClassifierWarning), pytest.raises(CourseError, match="old.joblib"):
        saved.load_classifier(path, trust=True)


@pytest.mark.parametrize("damage", ["truncated", "zeroed-middle", "not-a-zip"])
def test_item17_a_damaged_file_gives_one_course_error(saved_file, damage):
    path, _ = saved_file
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "zeroed-middle":
        path.write_bytes(data[:200] + b"\0" * 2000 + data[2200:])
    else:
        path.write_bytes(b"hello")
    with pytest.raises(CourseError, match=str(path.name)):
        saved.load_classifier(path)


def test_item17_legacy_joblib_of_a_vanished_module_or_truncated_gives_one_error(tmp_path, data_root, models):
    model, _, _ = models["three"]
    features = model.steps[0][1]
    meta = {"format": 1, "identity": features.identity_, "features": saved._params(features),
            "classes": ["high", "low", "noise"]}
    gone = tmp_path / "gone.joblib"
    blob = pickle.dumps(model).replace(b"course_utils.features.clip_features", b"course_utils.clip_featurez")
    gone.write_bytes(blob)
    _legacy_joblib(gone, None, meta)  # sidecar first, then the edited pickle with its own checksum
    gone.write_bytes(blob)
    import hashlib

    sidecar = saved.sidecar_path(gone)
    sidecar.write_text(json.dumps({**meta, "sha256": hashlib.sha256(blob).hexdigest()}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(CourseError, match="gone.joblib"):
            saved.load_classifier(gone, trust=True)
        short = _legacy_joblib(tmp_path / "short.joblib", model, meta)
        data = short.read_bytes()[:-100]
        short.write_bytes(data)
        sidecar = saved.sidecar_path(short)
        sidecar.write_text(json.dumps({**meta, "sha256": hashlib.sha256(data).hexdigest()}))
        with pytest.raises(CourseError, match="short.joblib"):
            saved.load_classifier(short, trust=True)


# --------------------------------------------------------------------------- item 1: fit --out


@pytest.mark.parametrize("target", ["label-table", "song", "inside-data", "existing-folder", "parent-is-file",
                                    "other-zip"])
def test_item1_fit_out_never_overwrites_a_user_file_and_is_checked_before_fitting(tmp_path, data_root, capsys,
                                                                                    monkeypatch, target):
    music = _folder(tmp_path / "music", per_class=2, classes=("low", "high"))
    song = music / "low" / "low0.wav"
    table = tmp_path / "labels.csv"
    table.write_text("path,label\n" + "".join(f"{p},{p.parent.name}\n" for p in sorted(music.rglob("*.wav"))))
    other = tmp_path / "photos.skops"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("a.txt", "mine")
    data, out = {"label-table": (table, table), "song": (music, song), "inside-data": (music, music / "genre.skops"),
                 "existing-folder": (music, tmp_path), "parent-is-file": (music, table / "genre.skops"),
                 "other-zip": (music, other)}[target]
    kept = {p: p.read_bytes() for p in (table, song, other)}
    monkeypatch.setattr(classifiers, "fit_classifier", lambda *a, **k: pytest.fail("fitted before --out was checked"))
    assert main(["fit", str(data), "--out", str(out)]) != 0
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--out" in err and "Traceback" not in err
    assert {p: p.read_bytes() for p in kept} == kept
    assert not (music / "genre.skops").exists()


def test_item1_fit_out_may_replace_a_classifier_of_the_course(tmp_path, data_root, capsys):
    music = _folder(tmp_path / "music", per_class=3, classes=("low", "high"))
    out = tmp_path / "genre.skops"
    assert main(["fit", str(music), "--out", str(out), "--folds", "2"]) == 0
    first = out.read_bytes()
    assert main(["fit", str(music), "--out", str(out), "--folds", "2", "--seed", "1"]) == 0
    assert out.read_bytes() != first and saved.load_classifier(out) is not None
    capsys.readouterr()


# --------------------------------------------------------------------------- item 15: option ranges


@pytest.mark.parametrize("argv,expected", [
    (["fit", "{music}", "--out", "{out}", "--folds", "0"], "--folds"),
    (["fit", "{music}", "--out", "{out}", "--folds", "1"], "--folds"),
    (["fit", "{music}", "--out", "{out}", "--inner-folds", "1"], "--inner-folds"),
    (["fit", "{music}", "--out", "{out}", "--max-duration", "-1"], "--max-duration"),
    (["predict", "{out}", "x.wav", "--top", "-1"], "--top"),
    (["predict", "{out}", "x.wav", "--top", "0"], "--top"),
    (["tag", "x.wav", "--top", "-48"], "--top"),
    (["tag", "x.wav", "--max-duration", "-2"], "--max-duration"),
])
def test_item15_out_of_range_options_are_refused_with_the_valid_range(tmp_path, data_root, capsys, monkeypatch,
                                                                        argv, expected):
    music = _folder(tmp_path / "music", per_class=2, classes=("low", "high"))
    out = tmp_path / "genre.skops"
    monkeypatch.setattr(classifiers, "fit_classifier", lambda *a, **k: pytest.fail("fitted with a bad option"))
    monkeypatch.setattr(saved, "load_classifier", lambda *a, **k: pytest.fail("loaded with a bad option"))
    import course_utils.cli as cli

    monkeypatch.setattr(cli, "_clip_features", lambda *a, **k: pytest.fail("tagged with a bad option"))
    argv = [a.format(music=music, out=out) for a in argv]
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert err.startswith("error: ") and expected in err and ("at least" in err or "positive" in err
                                                             or "from" in err)


def test_item15_report_says_the_inner_folds_actually_used(models, data_root):
    model, _, music = models["two"]  # 4 clips per class: at most 4 inner folds on all clips, 2 in the outer parts
    table = own.load_folder(music)
    _, report = classifiers.fit_classifier("mfcc", table, outer_folds=2, inner_folds=10, choices=("logreg",))
    assert report.inner_folds == 4
    assert "4-fold inner CV" in report.text() and "10-fold" not in report.text()


# --------------------------------------------------------------------------- items 7-14: the folder and table reader


def _clip(path, freq=440.0, seconds=1.0, amp=0.3):
    t = np.arange(int(seconds * SR)) / SR
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32), SR)
    return path


def test_item7_one_class_with_albums_is_said_not_silently_read_as_classes(tmp_path):
    root = tmp_path / "my_music"
    for album in ("kind_of_blue", "time_out"):
        for i in range(2):
            _clip(root / "jazz" / album / f"{i}.wav", 300 + 50 * i)
    with pytest.warns(own.LayoutWarning, match="jazz"):
        table = own.load_folder(root)
    assert "jazz" in table.attrs["layout"] and "kind_of_blue" in table.attrs["layout"]


def test_item7_the_courses_own_outputs_never_change_how_a_folder_is_read(tmp_path, models, data_root):
    root = tmp_path / "collection"
    for genre in ("rock", "pop"):
        for i in range(2):
            _clip(root / "genres" / genre / f"{i}.wav", 300 + 400 * (genre == "pop") + 20 * i)
    first = own.load_folder(root)
    assert first.attrs["classes"] == ["pop", "rock"] and "classes" in first.attrs["layout"]
    model, report, _ = models["two"]
    saved.save_classifier(model, root / "genre.skops")  # saved inside by the Python API
    (root / "old.joblib").write_bytes(b"x")
    (root / "old.joblib.json").write_text("{}")
    (root / ".genre.tmp-1234abcd.skops").write_bytes(b"x")
    again = own.load_folder(root)
    assert again.attrs["classes"] == ["pop", "rock"] and list(again["clip_id"]) == list(first["clip_id"])


def test_item8_a_link_back_inside_the_folder_is_not_followed(tmp_path):
    root = tmp_path / "D"
    for c in ("a", "b"):
        for i in range(2):
            _clip(root / c / f"{c}{i}.wav", 300 + 600 * (c == "b") + 10 * i)
    (root / "selfroot").symlink_to(root, target_is_directory=True)
    (root / "a" / "again").symlink_to(root / "b", target_is_directory=True)
    with pytest.warns(own.SkippedFilesWarning, match="selfroot"):
        table = own.load_folder(root)
    assert table.attrs["classes"] == ["a", "b"] and len(table) == 4
    outside = tmp_path / "elsewhere"
    for i in range(2):
        _clip(outside / f"c{i}.wav", 2000 + 10 * i)
    (root / "c").symlink_to(outside, target_is_directory=True)  # a link to a folder outside is followed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert own.load_folder(root).attrs["classes"] == ["a", "b", "c"]


def test_item9_an_empty_class_or_one_whose_only_entry_is_a_link_inside_is_refused_by_name(tmp_path):
    root = tmp_path / "D"
    for c in ("a", "b"):
        for i in range(2):
            _clip(root / c / f"{c}{i}.wav", 300 + 600 * (c == "b") + 10 * i)
    (root / "empty").mkdir()
    with pytest.raises(DatasetError, match="'empty' \\(0 clips"):
        own.load_folder(root)
    (root / "empty").rmdir()
    (root / "linked").mkdir()
    (root / "linked" / "album").symlink_to(root / "a", target_is_directory=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DatasetError, match="'linked' \\(0 clips.*album"):
            own.load_folder(root)


def test_item10_a_latin1_byte_in_a_file_name_is_read(tmp_path):
    root = tmp_path / "D"
    for c in ("a", "b"):
        for i in range(2):
            _clip(root / c / f"{c}{i}.wav", 300 + 600 * (c == "b") + 10 * i)
    raw = os.fsencode(root / "a") + b"/caf\xe9.wav"
    with open(raw, "wb") as f:
        f.write(_clip(tmp_path / "src.wav").read_bytes())
    with warnings.catch_warnings():
        warnings.simplefilter("error", own.SkippedFilesWarning)
        table = own.load_folder(root)
    assert len(table) == 5
    from course_utils import audio

    latin = [p for p in table["path"] if "caf" in p][0]
    assert len(audio.load_audio(latin)) > 0


@pytest.mark.parametrize("case", ["all-tiny", "silent-class"])
def test_item11_tiny_clips_or_a_silent_class_give_one_course_error(tmp_path, data_root, case):
    root = tmp_path / "D"
    for c in ("a", "b"):
        for i in range(3):
            if case == "all-tiny":
                _clip(root / c / f"{c}{i}.wav", 300 + 600 * (c == "b"), seconds=0.02)
            else:
                _clip(root / c / f"{c}{i}.wav", 300 + 10 * i, amp=0.0 if c == "b" else 0.3)
    table = own.load_folder(root)
    with pytest.raises(CourseError) as err:
        classifiers.fit_classifier("mfcc", table, outer_folds=2, choices=("logreg",))
    assert isinstance(err.value, DatasetError)
    text = str(err.value)
    assert ("too short" in text or "silent" in text) and ("'b'" in text or "clips" in text)


def test_item12_a_repeated_row_is_not_a_tagging_table(tmp_path):
    for c in ("a", "b"):
        for i in range(2):
            _clip(tmp_path / f"{c}{i}.wav", 300 + 600 * (c == "b") + 10 * i)
    csv = tmp_path / "t.csv"
    csv.write_text("path,label\na0.wav,a\na0.wav,a\na1.wav,a\nb0.wav,b\nb1.wav,b\n")
    with pytest.warns(own.SkippedFilesWarning, match="repeated"):
        table = own.load_table(csv)
    assert table.attrs["task"] == "classification" and len(table) == 4


@pytest.mark.parametrize("column,value", [("offset", "abc"), ("duration", "1.5s"), ("offset", "-2"),
                                          ("duration", "0")])
def test_item13_a_bad_offset_or_duration_is_named_with_its_line(tmp_path, column, value):
    for c in ("a", "b"):
        for i in range(2):
            _clip(tmp_path / f"{c}{i}.wav", 300 + 600 * (c == "b") + 10 * i)
    csv = tmp_path / "t.csv"
    csv.write_text(f"path,label,{column}\na0.wav,a,{value}\na1.wav,a,0.1\nb0.wav,b,0.1\nb1.wav,b,0.1\n")
    with pytest.raises(DatasetError, match=f"{column}.*line 2|line 2.*{column}"):
        own.load_table(csv)


@pytest.mark.parametrize("column", ["fold", "group"])
def test_item14_a_fold_or_group_column_with_one_value_gives_one_error(tmp_path, data_root, column):
    for c in ("a", "b"):
        for i in range(3):
            _clip(tmp_path / f"{c}{i}.wav", 300 + 600 * (c == "b") + 10 * i)
    csv = tmp_path / "t.csv"
    csv.write_text(f"path,label,{column}\n" + "".join(f"{c}{i}.wav,{c},1\n" for c in "ab" for i in range(3)))
    table = own.load_table(csv)
    assert f"from its {column} column (1 " in table.attrs["layout"]  # item 7: the layout is said
    with pytest.raises(DatasetError, match=f"'{column}' column has"):
        classifiers.fit_classifier("mfcc", table, outer_folds=2, choices=("logreg",))


# --------------------------------------------------------------------------- items 3, 19, 20, 21: musicnn's wheel


def _fake_wheel(path: Path) -> Path:
    """A zip with one model's checkpoint members, as the wheel holds them."""
    config = {"n_frames": 187, "yInput": 96, "audio_rep": {"resample_sr": 16000, "n_fft": 512, "hop": 256}}
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("musicnn/MSD_vgg/.index", b"index" * 100)
        z.writestr("musicnn/MSD_vgg/.data-00000-of-00001", bytes(range(256)) * 400)
        z.writestr("musicnn/MSD_vgg/config.json", json.dumps(config))
    return path


def test_item3_a_bad_wheel_in_the_data_folder_is_kept_as_bad(wheel, data_root, monkeypatch):
    from course_utils.models import musicnn

    monkeypatch.setattr(musicnn, "_reference_wheels", lambda: [wheel])
    dest = musicnn.wheel_path()
    dest.parent.mkdir(parents=True)
    dest.write_bytes(wheel.read_bytes()[:1000])  # placed by hand, truncated
    assert musicnn.fetch_wheel() == dest
    bad = dest.with_name(dest.name + ".bad")
    assert bad.is_file() and bad.stat().st_size == 1000


@pytest.mark.parametrize("damage", ["truncated", "zeroed", "bad-config", "missing"])
def test_item19_a_damaged_unpacked_checkpoint_is_unpacked_again_from_the_wheel(tmp_path, data_root, monkeypatch,
                                                                                damage):
    from course_utils.models import musicnn

    fake = _fake_wheel(tmp_path / "fake.whl")
    monkeypatch.setattr(musicnn, "fetch_wheel", lambda: fake)
    folder = musicnn.checkpoint_files("MSD_vgg")
    data = folder / ".data-00000-of-00001"
    good = data.read_bytes()
    if damage == "truncated":
        data.write_bytes(good[:100])
    elif damage == "zeroed":
        data.write_bytes(b"\0" * len(good))
    elif damage == "bad-config":
        (folder / "config.json").write_text("{not json")
    else:
        data.unlink()
    again = musicnn.checkpoint_files("MSD_vgg")
    assert again == folder and data.read_bytes() == good
    assert json.loads((folder / "config.json").read_text())["n_frames"] == 187


def test_item20_offline_means_no_pip(data_root, monkeypatch, no_reference):
    import subprocess

    from course_utils.models import musicnn
    from course_utils.core.errors import DownloadError

    monkeypatch.setenv("COURSE_OFFLINE", "1")
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("pip ran although COURSE_OFFLINE is set"))
    with pytest.raises(DownloadError, match="COURSE_OFFLINE"):
        musicnn.fetch_wheel()


@pytest.mark.parametrize("where", ["top", "musicnn"])
def test_item21_a_wheel_in_course_reference_dir_is_found(wheel, tmp_path, data_root, monkeypatch, where):
    from course_utils.models import musicnn

    ref = tmp_path / "my_reference"
    place = ref / ("musicnn" if where == "musicnn" else "") / musicnn.WHEEL_FILENAME
    place.parent.mkdir(parents=True, exist_ok=True)
    os.link(wheel, place) if os.stat(wheel).st_dev == os.stat(place.parent).st_dev else place.write_bytes(
        wheel.read_bytes())
    monkeypatch.setenv("COURSE_REFERENCE_DIR", str(ref))
    monkeypatch.setattr(musicnn, "_pip_download", lambda folder: pytest.fail("pip ran although the reference has it"))
    got = musicnn.fetch_wheel()
    from course_utils.core.files import sha256_file

    assert sha256_file(got) == musicnn.WHEEL_SHA256


# --------------------------------------------------------------------------- item 18: tag --model M.keras


@pytest.fixture(scope="module")
def keras_taggers(tmp_path_factory):
    """A tiny compact convnet (sigmoid outputs) and one whose outputs are not probabilities."""
    import keras

    from course_utils.models import convnet
    from course_utils.models import training
    from course_utils.datasets.magnatagatune import TOP50_TAGS

    folder = tmp_path_factory.mktemp("taggers")
    convnet.set_seed(0)
    good = convnet.compact_convnet(n_frames=96, n_tags=50)
    training.save_tagger(good, folder / "good.keras", {"tags": list(TOP50_TAGS), "crop_frames": 96})
    good.layers[-1].activation = keras.activations.linear
    training.save_tagger(good, folder / "linear.keras", {"tags": list(TOP50_TAGS), "crop_frames": 96})
    return folder


@pytest.mark.parametrize("case", ["bad-json", "incomplete-json", "json-list", "other-outputs", "not-probabilities"])
def test_item18_a_bad_tagger_description_or_outputs_give_one_error(keras_taggers, tmp_path, data_root, capsys, case):
    import shutil

    from course_utils.datasets.magnatagatune import TOP50_TAGS

    name = "linear" if case == "not-probabilities" else "good"
    model = tmp_path / f"{name}.keras"
    shutil.copyfile(keras_taggers / f"{name}.keras", model)
    shutil.copyfile(keras_taggers / f"{name}.json", tmp_path / f"{name}.json")
    side = model.with_suffix(".json")
    if case == "bad-json":
        side.write_text("{not json")
    elif case == "incomplete-json":
        side.write_text(json.dumps({"crop_frames": 96}))
    elif case == "json-list":
        side.write_text(json.dumps(list(TOP50_TAGS)))
    elif case == "other-outputs":
        side.write_text(json.dumps({"tags": list(TOP50_TAGS)[:10], "crop_frames": 96}))
    song = _clip(tmp_path / "song.wav", seconds=3.0)
    if case == "other-outputs":  # the untouched tagger tags
        shutil.copyfile(keras_taggers / "good.json", tmp_path / "ok.json")
        shutil.copyfile(keras_taggers / "good.keras", tmp_path / "ok.keras")
        assert main(["tag", str(song), "--model", str(tmp_path / "ok.keras"), "--top", "3"]) == 0
        assert len(capsys.readouterr().out.splitlines()) == 4
    assert main(["tag", str(song), "--model", str(model)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err and model.stem in err
    assert {"bad-json": "json", "incomplete-json": "tags", "json-list": "tags", "other-outputs": "50",
            "not-probabilities": "probabilit"}[case] in err.lower()


# --------------------------------------------------------------------------- item 22: a file size limit


@pytest.mark.slow
def test_item22_a_file_size_limit_during_synthesis_gives_one_line_and_leaves_nothing(tmp_path):
    import resource
    import subprocess
    import sys

    root = tmp_path / "root"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent), "TF_CPP_MIN_LOG_LEVEL": "3"}

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (200 * 1024, 200 * 1024))

    run = subprocess.run([sys.executable, "-m", "course_utils", "data", "synth", "gtzan_speechmusic", "--root",
                          str(root)], capture_output=True, text=True, env=env, preexec_fn=limit, timeout=600)
    assert run.returncode == 1, run.stderr[-2000:]
    lines = [line for line in run.stderr.splitlines() if line.strip() and "clip/s" not in line]  # progress bars
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in run.stderr
    assert "disk" in lines[0] and "file size limit" in lines[0]
    assert [p for p in root.rglob("*") if p.is_file()] == []


# --------------------------------------------------------------------------- item 23: stale features


@pytest.mark.parametrize("seconds", [1.0, 30.0])  # under and over cache_keys.SMALL_FILE
def test_item23_a_file_rewritten_with_its_size_and_mtime_gets_new_features(tmp_path, data_root, seconds):
    from course_utils.core.cache import SMALL_FILE, cache_key
    from course_utils.features.clip_features import ClipFeatures

    song = _clip(tmp_path / "song.wav", freq=300.0, seconds=seconds)
    assert (song.stat().st_size > SMALL_FILE) == (seconds > 10)
    features = ClipFeatures("mfcc").fit()
    before, key = features.transform([str(song)]), cache_key(version="t", files=[song])
    st = song.stat()
    _clip(tmp_path / "other.wav", freq=2500.0, seconds=seconds)
    song.write_bytes((tmp_path / "other.wav").read_bytes())  # same size, other content
    os.utime(song, ns=(st.st_atime_ns, st.st_mtime_ns))  # touch -r: the old modification time
    assert song.stat().st_size == st.st_size and song.stat().st_mtime_ns == st.st_mtime_ns
    assert cache_key(version="t", files=[song]) != key
    after = features.transform([str(song)])
    assert not np.allclose(before, after)


# --------------------------------------------------------------------------- item 24: long files streamed


def _long_wav(path: Path, seconds: float, sr: int = SR, channels: int = 1) -> Path:
    rng = np.random.default_rng(1)
    t = np.arange(int(seconds * sr)) / sr
    y = 0.2 * np.sin(2 * np.pi * (200 + 40 * t) * t) + 0.02 * rng.normal(size=len(t))
    sf.write(path, np.repeat(y[:, None], channels, axis=1).astype(np.float32), sr)
    return path


def test_item24_long_files_are_analysed_whole_by_default():
    from course_utils.cli import build_parser
    from course_utils.features.clip_features import ClipFeatures

    assert ClipFeatures("mfcc").max_duration is None
    assert build_parser().parse_args(["tag", "x.wav"]).max_duration == 0  # 0: all of it


def test_item24_stream_audio_gives_the_same_samples_a_segment_at_a_time(tmp_path):
    from course_utils import audio

    song = _long_wav(tmp_path / "long.wav", 9.0, sr=22050, channels=2)
    whole = audio.load_audio(song, sr=12000, max_duration=None)
    pieces = list(audio.stream_audio(song, 12000, segment_samples=12000 * 2))
    assert [len(p) for p in pieces[:-1]] == [24000] * (len(pieces) - 1) and 0 < len(pieces[-1]) <= 24000
    assert np.allclose(np.concatenate(pieces), whole, atol=1e-6)


def test_item24_windows_of_a_streamed_file_are_those_of_one_pass(tmp_path, data_root, monkeypatch):
    from course_utils.features import clip_features
    from course_utils.features.clip_features import ClipFeatures

    song = str(_long_wav(tmp_path / "long.wav", 40.0, sr=12000))
    features = ClipFeatures("mfcc", cache=False).fit()
    one_starts, one = features.windows(song)
    monkeypatch.setattr(clip_features, "STREAM_SECONDS", 5.0)
    monkeypatch.setattr(clip_features, "SEGMENT_SECONDS", 6.0)
    starts, streamed = features.windows(song)
    assert np.array_equal(starts, one_starts) and np.allclose(streamed, one, atol=1e-4)
    assert starts[-1] == pytest.approx(40.0 - 3.0)  # the last window ends with the file
    summary = features.transform([song])  # averaged online over the segments: close to one pass
    assert summary.shape == (1, 120) and np.isfinite(summary).all()
    cut = ClipFeatures("mfcc", cache=False, max_duration=20.0).fit()
    with pytest.warns(Warning, match="first 20 s"):
        cut_starts, _ = cut.windows(song)
    assert cut_starts[-1] == pytest.approx(17.0)


def test_item24_cli_features_of_a_streamed_file(tmp_path, data_root, monkeypatch, capsys):
    from course_utils.features import clip_features

    song = str(_long_wav(tmp_path / "long.wav", 30.0, sr=12000))
    assert main(["features", song]) == 0
    one = capsys.readouterr().out
    monkeypatch.setattr(clip_features, "STREAM_SECONDS", 5.0)
    monkeypatch.setattr(clip_features, "SEGMENT_SECONDS", 6.0)
    assert main(["features", song]) == 0
    streamed = capsys.readouterr().out
    assert one.split(", ")[:2] == streamed.split(", ")[:2]  # the same length and log-mel shape


def test_item24_a_streamed_taggram_has_the_windows_of_one_pass(keras_taggers, tmp_path, data_root, monkeypatch):
    from course_utils.features import clip_features
    from course_utils.features.clip_features import ClipFeatures

    song = str(_long_wav(tmp_path / "long.wav", 40.0, sr=12000))
    tagger = ClipFeatures(f"course:{keras_taggers / 'good.keras'}", cache=False).fit()
    one_starts, tags, one = tagger.taggram(song)
    one_mean = tagger.transform([song])
    monkeypatch.setattr(clip_features, "STREAM_SECONDS", 5.0)
    monkeypatch.setattr(clip_features, "SEGMENT_SECONDS", 6.0)
    starts, tags2, probs = tagger.taggram(song)  # rows appended a segment at a time
    assert tags2 == tags and np.allclose(starts, one_starts) and probs.shape == one.shape
    assert np.abs(probs - one).max() < 0.05  # each segment's spectrogram: close to one pass
    assert np.abs(tagger.transform([song]) - one_mean).max() < 0.05  # averaged online


def test_item17_a_skops_file_of_a_module_that_moved_gives_one_error(saved_file):
    path, _ = saved_file
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members["schema.json"] = members["schema.json"].replace(b"course_utils.features.clip_features", b"course_utils.clip_featurez")
    meta = json.loads(members[saved.DESCRIPTION])
    meta["model_sha256"] = saved._members_sha256(members)
    members[saved.DESCRIPTION] = json.dumps(meta).encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    with pytest.raises(CourseError, match="no longer exist.*fit the classifier again") as err:
        saved.load_classifier(path, trust=True)
    assert "clip_featurez" in str(err.value)
