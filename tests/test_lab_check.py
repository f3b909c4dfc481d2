"""`make lab-check` under pytest: every notebook opened and run in JupyterLab in headless Chromium
(tests/lab_check.py; issue 27). It needs Chromium (Debian's ``chromium``), Playwright
(``requirements-test.txt``) and JupyterLab; where one is missing the browser test skips and says
which. ``LAB_CHECK_NOTEBOOKS="01 06"`` restricts it to some notebooks while you work."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab_check  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "build" / "lab"


def test_select_notebooks_by_number_or_name(tmp_path, monkeypatch):
    for name in ("01_a.ipynb", "02_b.ipynb", "03_c.ipynb", "README.md"):
        (tmp_path / name).write_text("{}")
    monkeypatch.delenv(lab_check.ENV_SELECTION, raising=False)
    assert [p.name for p in lab_check.select_notebooks(None, tmp_path)] == ["01_a.ipynb", "02_b.ipynb", "03_c.ipynb"]
    assert [p.name for p in lab_check.select_notebooks("03,01", tmp_path)] == ["03_c.ipynb", "01_a.ipynb"]
    assert [p.name for p in lab_check.select_notebooks("02_b 02", tmp_path)] == ["02_b.ipynb"]
    monkeypatch.setenv(lab_check.ENV_SELECTION, "02")
    assert [p.name for p in lab_check.select_notebooks(None, tmp_path)] == ["02_b.ipynb"]
    with pytest.raises(SystemExit, match="no notebook matches '09'"):
        lab_check.select_notebooks("09", tmp_path)


def test_link_tree_copies_by_hard_links(tmp_path):
    src = tmp_path / "src"
    (src / "mini" / "x").mkdir(parents=True)
    (src / "mini" / "x" / "a.wav").write_bytes(b"RIFF")
    assert lab_check.link_tree(src, tmp_path / "dst") == 1
    copy = tmp_path / "dst" / "mini" / "x" / "a.wav"
    assert copy.read_bytes() == b"RIFF" and copy.stat().st_ino == (src / "mini" / "x" / "a.wav").stat().st_ino


def test_table_names_each_problem():
    ok = lab_check.NotebookCheck("01_a.ipynb", seconds=12.3, audio=2, images=3)
    bad = lab_check.NotebookCheck("02_b.ipynb", stored_problems=["cell 4: an output shows 'model not found'"])
    table = lab_check.format_table([ok, bad])
    assert ok.ok and not bad.ok
    assert "01_a.ipynb      ok     12.3" in table and "02_b.ipynb  FAILED" in table
    assert "    cell 4: an output shows 'model not found'" in table


@pytest.mark.slow
def test_every_notebook_opens_and_runs_in_jupyterlab():
    """The notebooks (all, or $LAB_CHECK_NOTEBOOKS) as stored and after Restart Kernel and Run All."""
    why = lab_check.requirements_missing()
    if why:
        pytest.skip(why)
    notebooks = lab_check.select_notebooks()
    results = lab_check.run_lab_check(notebooks, OUT)
    table = lab_check.format_table(results)
    print("\n" + table)
    assert [r.notebook for r in results] == [p.name for p in notebooks]
    assert all(r.ok for r in results), table
    summary = json.loads((OUT / "summary.json").read_text())
    assert summary["ok"] and len(summary["notebooks"]) == len(notebooks)
    for r in results:
        for shot in r.screenshots:
            assert (REPO / shot).is_file() and (REPO / shot).stat().st_size > 10_000, shot


@pytest.mark.slow
def test_lab_check_reports_a_broken_notebook_instead_of_passing_it(tmp_path):
    """A widget view without state and a stored traceback as stored; a cell that raises when run."""
    why = lab_check.requirements_missing()
    if why:
        pytest.skip(why)
    import nbformat

    v4 = nbformat.v4
    view = v4.new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "0123456789abcdef", "version_major": 2, "version_minor": 0},
        "text/plain": "bar:   0%|          | 0/9"})
    error = v4.new_output("error", ename="ValueError", evalue="stored", traceback=["Traceback (most recent call last):", "ValueError: stored"])
    cells = [v4.new_code_cell("print('widget')", outputs=[view]), v4.new_code_cell("print('stored error')", outputs=[error]),
             v4.new_code_cell("raise ValueError('boom')"), v4.new_code_cell("print('never')")]
    nb = tmp_path / "99_broken.ipynb"
    kernelspec = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(v4.new_notebook(cells=cells, metadata={"kernelspec": kernelspec}), nb)
    (result,) = lab_check.run_lab_check([nb], tmp_path / "lab", timeout_s=300, private_data=False)
    assert not result.ok
    stored = "\n".join(result.stored_problems)
    # without its model a widget view shows an error, or its text fallback: here the bar at 0%
    assert re.search(r"cell 0: an output shows ('Error displaying widget'|'model not found'|a progress bar at 0%)", stored), stored
    assert "cell 1: an output shows 'Traceback (most recent call last)'" in stored, stored
    assert any(p.startswith("cell 2: ValueError: boom") for p in result.run_problems), result.run_problems
    assert result.seconds is None
    assert [Path(s).name for s in result.screenshots] == ["99_broken-stored.png", "99_broken-run.png"]
