"""The course-utils command and the headless notebook runner behind `make course`."""

from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pytest
import numpy as np
import soundfile as sf
from nbformat.v4 import new_code_cell, new_notebook

from course_utils import cli
from course_utils.authoring.runner import format_summary, run_notebooks
from course_utils.core.errors import ParameterError


def test_cli_reports_a_bad_file_in_one_line(tmp_path, capsys):
    good = tmp_path / "good.wav"
    sf.write(good, (0.3 * np.sin(np.arange(24000) / 5)).astype(np.float32), 12000)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"")
    status = cli.main(["features", str(good), str(bad)])
    out, err = capsys.readouterr()
    assert status == 1
    assert "good.wav: 2.00 s, log-mel 96x94" in out
    assert err.strip() == f"error: {bad}: file is empty (0 bytes) (delete it and download or generate it again)"


def test_python_dash_m_runs_the_cli():
    result = subprocess.run([sys.executable, "-m", "course_utils", "data", "list"], capture_output=True, text=True)
    assert result.returncode == 0
    for name in ("magnatagatune", "gtzan_genre", "urbansound8k"):
        assert name in result.stdout


def test_cli_unknown_dataset_is_a_clear_error(capsys):
    assert cli.main(["data", "info", "gtzan"]) == 1
    assert "unknown dataset 'gtzan'" in capsys.readouterr().err


@pytest.mark.slow
def test_runner_executes_and_measures(tmp_path):
    ok = tmp_path / "ok.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("x = bytearray(50_000_000)\nprint(len(x))")],
                                metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}), ok)
    bad = tmp_path / "bad.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("1 / 0")],
                                metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}), bad)
    runs = run_notebooks([ok, bad], tmp_path / "build", html=True)
    assert [r.ok for r in runs] == [True, False]
    assert "ZeroDivisionError" in runs[1].error
    assert runs[0].peak_rss_mb > 50  # the kernel held a 50 MB buffer
    executed = nbformat.read(tmp_path / "build" / "ok.ipynb", as_version=4)
    assert executed.cells[0].outputs[0]["text"].strip() == "50000000"
    assert (tmp_path / "build" / "ok.html").stat().st_size > 1000
    summary = json.loads((tmp_path / "build" / "course_summary.json").read_text())
    assert [s["notebook"] for s in summary] == ["ok.ipynb", "bad.ipynb"]
    assert "FAILED" in format_summary(runs)


@pytest.mark.slow
def test_runner_reports_a_timeout_and_goes_on(tmp_path):
    """A cell past the time limit (or a killed kernel) fails its notebook, not the whole run."""
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    slow = tmp_path / "slow.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("import time\ntime.sleep(30)")], metadata=meta), slow)
    ok = tmp_path / "ok.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("print('ran')")], metadata=meta), ok)
    runs = run_notebooks([slow, ok], tmp_path / "build", timeout=2, html=False)
    assert [r.ok for r in runs] == [False, True]
    assert runs[0].error and (tmp_path / "build" / "slow.ipynb").is_file()
    assert (tmp_path / "build" / "course_summary.json").is_file()


def test_tag_with_a_missing_model_path_does_not_train_one(tmp_path, capsys):
    missing = tmp_path / "typo.keras"
    assert cli.main(["tag", str(tmp_path / "x.wav"), "--model", str(missing)]) == 1
    assert "no trained model" in capsys.readouterr().err
    assert not missing.exists()


@pytest.mark.parametrize("command", ["tag", "features", "extract"])
def test_an_unknown_model_name_lists_the_known_ones(tmp_path, capsys, command):
    """A typo in --model is refused with the known names, not taken for a tagger's path."""
    listing = tmp_path / "list.txt"
    listing.write_text("x.wav\n")
    args = {"tag": ["tag", "x.wav"], "features": ["features", "x.wav"],
            "extract": ["extract", str(listing), str(tmp_path / "out.npy")]}[command]
    assert cli.main([*args, "--model", "musicn"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --model 'musicn': no such model; choose from choi2017, musicnn, course, siamese, mfcc")
    assert "MSD_musicnn" in err and ".keras file" in err and "train" not in err and err.count("\n") == 1
    with pytest.raises(ParameterError, match="no such model"):
        cli._clip_model("choi2071")


def test_a_model_path_is_a_course_tagger():
    """An existing file, or a name ending in .keras, is a tagger's path; a registry name stays one."""
    assert cli._clip_model(__file__) == f"course:{__file__}"
    assert cli._clip_model("runs/typo.keras") == "course:runs/typo.keras"
    assert cli._clip_model("MSD_musicnn") == "MSD_musicnn" and cli._clip_model(None) == "course"


@pytest.mark.slow
def test_data_root_is_a_data_folder_for_every_subcommand(tmp_path, capsys):
    """`synth --root X` puts each dataset in X/mini/<name>, where `info --root X` looks for it."""
    assert cli.main(["data", "synth", "gtzan_speechmusic", "--root", str(tmp_path)]) == 0
    assert (tmp_path / "mini" / "gtzan_speechmusic" / "MANIFEST.json").is_file()
    capsys.readouterr()
    assert cli.main(["data", "info", "gtzan_speechmusic", "--root", str(tmp_path)]) == 0
    assert str(tmp_path / "mini" / "gtzan_speechmusic") in capsys.readouterr().out


def test_features_reports_every_file_and_goes_on(tmp_path, capsys, monkeypatch):
    """Issue 16: a 0.1 s clip no longer stops the command; an error after decoding names its file."""
    from course_utils import audio
    from course_utils.core.errors import CourseError

    short = tmp_path / "short.wav"
    sf.write(short, (0.3 * np.sin(np.arange(1200) / 5)).astype(np.float32), 12000)
    good = tmp_path / "good.wav"
    sf.write(good, (0.3 * np.sin(np.arange(24000) / 5)).astype(np.float32), 12000)
    assert cli.main(["features", str(short), str(good)]) == 0
    out = capsys.readouterr().out
    assert "short.wav: 0.10 s" in out and "good.wav: 2.00 s" in out

    real_log_mel = audio.log_mel
    monkeypatch.setattr(audio, "log_mel", lambda y, *a, **k: (_ for _ in ()).throw(CourseError("boom"))
                        if len(y) < 2000 else real_log_mel(y, *a, **k))
    assert cli.main(["features", str(short), str(good)]) == 1
    out, err = capsys.readouterr()
    assert err == f"error: {short}: boom\n" and "good.wav: 2.00 s" in out


def test_features_warns_in_one_line_about_a_truncated_file(tmp_path, capsys):
    path = tmp_path / "cut.wav"
    sf.write(path, (0.3 * np.sin(np.arange(48000) / 5)).astype(np.float32), 12000)
    path.write_bytes(path.read_bytes()[:50000])
    assert cli.main(["features", str(path), "--max-duration", "0"]) == 0
    err = capsys.readouterr().err
    assert err.startswith(f"warning: {path}: truncated: 2.08 s of audio decoded, but its header declares 4.00 s")
    assert err.count("\n") == 1


# ---------------------------------------------------------------- issue 16: one clear line, never a traceback

def _one_line(err: str, *needles) -> None:
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)


def test_a_root_that_is_a_file_is_one_clear_line(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    for args in (["data", "synth", "gtzan_speechmusic"], ["data", "download", "gtzan_genre"], ["data", "info", "gtzan_genre"]):
        assert cli.main([*args, "--root", str(afile)]) == 1
        _one_line(capsys.readouterr().err, str(afile), "not a folder")


def test_a_data_dir_that_is_a_file_is_one_clear_line(tmp_path, monkeypatch, capsys):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    monkeypatch.setenv("COURSE_DATA_DIR", str(afile))
    assert cli.main(["data", "synth", "gtzan_speechmusic"]) == 1
    _one_line(capsys.readouterr().err, str(afile), "COURSE_DATA_DIR")


def test_a_missing_input_file_is_one_clear_line(tmp_path, capsys):
    missing = tmp_path / "nope" / "list.txt"
    assert cli.main(["extract", str(missing), str(tmp_path / "out.npy")]) == 1
    _one_line(capsys.readouterr().err, str(missing))


@pytest.mark.parametrize("kind", ["truncated", "hdf5", "text"])
def test_a_bad_model_file_is_one_clear_line(tmp_path, capsys, kind):
    from course_utils.models import convnet, training
    from course_utils.datasets.magnatagatune import TOP50_TAGS

    wav = tmp_path / "x.wav"
    sf.write(wav, (0.3 * np.sin(np.arange(24000) / 5)).astype(np.float32), 12000)
    good = training.save_tagger(convnet.compact_convnet(n_frames=64, n_tags=50), tmp_path / "m.keras",
                               {"tags": list(TOP50_TAGS), "crop_frames": 64})
    data = good.read_bytes()
    bad = {"truncated": tmp_path / "cut.keras", "hdf5": tmp_path / "m.hdf5", "text": tmp_path / "m.txt"}[kind]
    bad.write_bytes(data[: len(data) // 2] if kind == "truncated" else data if kind == "hdf5" else b"hello")
    assert cli.main(["tag", str(wav), "--model", str(bad)]) == 1
    err = capsys.readouterr().err
    _one_line(err, str(bad))
    assert "File not found" not in err


@pytest.mark.slow
def test_runner_survives_bad_notebooks_and_reports_each_in_one_clean_line(tmp_path):
    """Issue 16: an unreadable notebook, a timeout, ANSI colours and sys.exit(0)."""
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [')
    missing = tmp_path / "missing.ipynb"
    exits = tmp_path / "exits.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("import sys\nsys.exit(0)"), new_code_cell("print('never')")],
                                metadata=meta), exits)
    fails = tmp_path / "fails.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("raise ValueError('bad value')")], metadata=meta), fails)
    slow = tmp_path / "slow.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("import time\ntime.sleep(30)")], metadata=meta), slow)
    runs = run_notebooks([broken, missing, exits, fails, slow], tmp_path / "build", timeout=3, html=False)
    assert [r.ok for r in runs] == [False, False, True, False, False]
    assert runs[0].error.startswith("cannot read the notebook") and str(broken) in runs[0].error
    assert runs[1].error.startswith("cannot read the notebook") and str(missing) in runs[1].error
    assert runs[3].error == "ValueError: bad value"
    assert runs[4].error == "a cell ran longer than the 3 s limit"
    text = (tmp_path / "build" / "course_summary.json").read_text()
    assert "\x1b" not in text and "\\u001b" not in text
    assert [s["notebook"] for s in json.loads(text)] == ["broken.ipynb", "missing.ipynb", "exits.ipynb", "fails.ipynb", "slow.ipynb"]
