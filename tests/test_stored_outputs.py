"""Stored outputs read right in any viewer (issue 27): GitHub, nbviewer, Colab's preview, JupyterLab
opening a notebook as stored. No progress bar is stored at "0%|", and no widget view is stored
without the widget state it needs (a viewer without the kernel shows it as its text fallback or as
"Error displaying widget: model not found"). The course's bars (course_utils.core.progress) store their
final state as text instead."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from course_utils.core import progress

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# a bar drawn at 0 %: "desc:   0%|" (but not the "100%|" of a finished one)
ZERO_BAR = re.compile(r"(?<![\d.])0%\|")


def _as_shown(text: str) -> str:
    """Text as a terminal or JupyterLab shows it: what a carriage return goes back over is gone."""
    if "\r" not in text:
        return text
    return "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in text.split("\n"))


def _notebook_params() -> list:
    return [pytest.param(path, id=path.stem) for path in NOTEBOOKS]


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def stored_problems(nb: dict) -> list[str]:
    """What a static viewer would show wrong in a notebook's stored outputs, one line each."""
    state = (nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}) or {}).get("state", {})
    problems = []
    for i, cell in enumerate(nb.get("cells", [])):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_VIEW in data:
                model = data[WIDGET_VIEW].get("model_id")
                if model not in state:
                    problems.append(f"cell {i}: a widget view (model {model}) without saved widget state")
            texts = [_text(out.get("text", ""))] + [_text(v) for k, v in data.items() if k.startswith("text/")]
            for text in texts:
                m = ZERO_BAR.search(_as_shown(text))
                if m:
                    line = _as_shown(text)[max(0, m.start() - 40):m.end() + 20].strip()
                    problems.append(f"cell {i}: a progress bar stored at 0%: {line!r}")
    return problems


@pytest.mark.parametrize("path", _notebook_params())
def test_stored_outputs_have_no_empty_bar_and_no_stateless_widget(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert stored_problems(nb) == []


@pytest.mark.parametrize("path", _notebook_params())
def test_nbconvert_html_shows_no_bar_at_zero_and_no_stateless_widget(path):
    """The HTML nbconvert writes (what nbviewer shows): no bar drawn at 0%, and every widget view it
    embeds has its model in the widget state it embeds."""
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(path, as_version=4))
    found = [body[max(0, m.start() - 60):m.end() + 20] for m in ZERO_BAR.finditer(_as_shown(body))]
    assert found == []
    views = re.findall(r'<script type="application/vnd\.jupyter\.widget-view\+json">\s*(\{.*?\})\s*</script>', body, re.S)
    states = re.findall(r'<script type="application/vnd\.jupyter\.widget-state\+json">\s*(\{.*?\})\s*</script>', body, re.S)
    models = {m for s in states for m in json.loads(s).get("state", {})}
    assert [json.loads(v)["model_id"] for v in views if json.loads(v)["model_id"] not in models] == []


def test_the_checks_catch_what_notebook_03_stored():
    bar = {"output_type": "display_data", "metadata": {},
           "data": {WIDGET_VIEW: {"model_id": "abc", "version_major": 2, "version_minor": 0},
                    "text/plain": ["convnet features:   0%|          | 0/260 [00:00<?, ?clip/s]"]}}
    nb = {"metadata": {}, "cells": [{"cell_type": "code", "outputs": [bar]}]}
    assert len(stored_problems(nb)) == 2
    nb["metadata"] = {"widgets": {WIDGET_STATE: {"state": {"abc": {}}}}}
    (problem,) = stored_problems(nb)
    assert problem.startswith("cell 0: a progress bar stored at 0%: 'convnet features:   0%|")
    done = {"output_type": "stream", "name": "stderr", "text": "x:   0%|  | 0/2\rx: 100%|##| 2/2\n"}
    assert stored_problems({"cells": [{"cell_type": "code", "outputs": [done]}]}) == []


def test_final_line_has_no_times_or_rates():
    from tqdm.std import tqdm

    with tqdm(total=260, desc="convnet features", unit="clip", disable=False, file=open("/dev/null", "w")) as bar:
        bar.update(260)
        assert progress.final_line(bar) == "convnet features: 100%|██████████| 260/260"
    with tqdm(total=2048, unit="B", unit_scale=True, unit_divisor=1024, desc="download", file=open("/dev/null", "w")) as bar:
        bar.update(2048)
        assert progress.final_line(bar) == "download: 100%|██████████| 2.00k/2.00kB"
    with tqdm(desc="extract", unit=" files", file=open("/dev/null", "w")) as bar:
        bar.update(7)
        assert progress.final_line(bar) == "extract: 7"


def test_outside_a_kernel_the_bar_is_tqdms_text_bar(capsys):
    from tqdm.std import tqdm

    bar = progress.tqdm(range(3), desc="x")
    assert type(bar) is tqdm
    assert list(bar) == [0, 1, 2]
    assert "x: 100%" in capsys.readouterr().err


@pytest.mark.slow
def test_a_notebook_stores_a_finished_bar_as_one_line_of_text(tmp_path):
    """Run headless as `make course` runs it: the cell stores text lines, no widget view."""
    import nbformat

    from course_utils.authoring.runner import execute_notebook

    code = ("from course_utils.core.progress import tqdm\n"
            "for _ in tqdm(range(30), desc='convnet features', unit='clip'): pass\n"
            "with tqdm(total=5, desc='gone', leave=False) as bar: bar.update(5)\n"
            "try:\n"
            "    for i in tqdm(range(10), desc='stops'):\n"
            "        if i == 4: raise ValueError\n"
            "except ValueError: pass\n")
    nb_path = tmp_path / "bars.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)]), nb_path)
    run = execute_notebook(nb_path, tmp_path / "out", html=True)
    assert run.ok, run.error
    stored = nbformat.read(tmp_path / "out" / "bars.ipynb", as_version=4)
    outs = stored.cells[0].outputs
    assert [o.get("data", {}).get("text/plain") for o in outs] == [
        "convnet features: 100%|██████████| 30/30", "", "stops:  40%|████      | 4/10"]
    assert not any(WIDGET_VIEW in o.get("data", {}) for o in outs)
    assert stored_problems(stored) == []
    assert not ZERO_BAR.search((tmp_path / "out" / "bars.html").read_text())
