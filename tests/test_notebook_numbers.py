"""Every entry of tests/notebook_numbers.py finds its number in the stored notebook, in range.

The same entries mask and check the numbers of a fresh run under nbval (the root conftest.py);
this test guards the list itself: a label that no longer matches would check nothing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import notebook_numbers as nn

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _stored_text(name: str) -> str:
    nb = json.loads((NOTEBOOKS / name).read_text())
    return "\n".join(nn.output_text(c.get("outputs", [])) for c in nb["cells"] if c["cell_type"] == "code")


@pytest.mark.parametrize("entry", nn.ENTRIES, ids=lambda e: f"{e.notebook[:2]}:{getattr(e, 'label', None) or e.regex}")
def test_entry_finds_its_number_in_range(entry):
    assert (NOTEBOOKS / entry.notebook).is_file(), f"no notebook {entry.notebook}"
    text = _stored_text(entry.notebook)
    assert entry.values(text), f"{entry} matches nothing in the stored {entry.notebook}"
    assert not entry.problems(text), entry.problems(text)


def test_masks_are_valid_regexes():
    for entry in nn.ENTRIES:
        re.compile(entry.sanitizer()[0] if entry.sanitizer() else entry.regex.pattern)


def test_number_checks_and_masks_work():
    entry = nn.Number("x.ipynb", r"test ROC-AUC: ", 0.7, 0.99)
    text = "test ROC-AUC: 0.88\nother 0.5"
    assert entry.values(text) == [0.88] and not entry.problems(text)
    assert entry.problems("test ROC-AUC: 0.51")
    regex, replace = entry.sanitizer()
    assert re.sub(regex, replace, text) == "test ROC-AUC: NUMBER\nother 0.5"
    masked = nn.Masked("x.ipynb", r"top tags: .*")
    assert re.sub(*masked.sanitizer(), "top tags: rock, pop") == "MASKED"
