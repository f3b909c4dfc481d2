"""The numbers in the notebooks that come out of training, and the ranges they must fall in.

A notebook prints such a number plainly, after a stable label (``test ROC-AUC (macro): 0.88``).
Other CPUs, TensorFlow kernels and thread counts change its last digits, so nbval must not
compare it digit for digit; and what the learner reads carries no ``assert`` and no marks. So
the checks live here, in one list, and two places use it:

- under nbval (``make test``, ``make test-portable``), the root ``conftest.py`` masks each
  number in both the stored and the fresh output before nbval compares them, and checks the
  fresh number against its range: a cell whose number is out of range fails, naming the entry;
- ``tests/test_notebook_numbers.py`` checks that every entry still finds its number in the
  stored notebook, and that the stored number is in range (a renamed label cannot make a check
  silently vanish).

Entries:

- :class:`Number`: ``label`` is a regular expression for the text just before the number; the
  number is ``-?\\d+(\\.\\d+)?``. Give the range you would defend in a review (what the
  notebook's prose says about the number must hold over all of it).
- :class:`Masked`: text whose content varies and has no range (a top-5 list whose order can
  change, a row of a table printed with ``print``). ``regex`` matches the whole varying text.

Prefer printing a training-dependent number with ``print`` (a stream output) over leaving it in a
DataFrame's HTML; a mask applies to every text output of the notebook (stream, text/plain,
text/html).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: What a number looks like after its label.
VALUE = r"-?\d+(?:\.\d+)?"


@dataclass(frozen=True)
class Number:
    """A training-dependent number after ``label`` in ``notebook``'s output, within [low, high]."""

    notebook: str
    label: str
    low: float
    high: float
    mask: bool = True

    @property
    def regex(self) -> re.Pattern:
        return re.compile(f"(?P<label>{self.label})(?P<value>{VALUE})")

    def values(self, text: str) -> list[float]:
        return [float(m.group("value")) for m in self.regex.finditer(text)]

    def problems(self, text: str) -> list[str]:
        return [f"{self.label!r} printed {v}, outside [{self.low}, {self.high}]"
                for v in self.values(text) if not self.low <= v <= self.high]

    def sanitizer(self) -> tuple[str, str] | None:
        return (self.regex.pattern, r"\g<label>NUMBER") if self.mask else None


@dataclass(frozen=True)
class Masked:
    """Varying text matched by ``regex`` in ``notebook``'s output, masked and not checked."""

    notebook: str
    regex: str

    def values(self, text: str) -> list[str]:
        return re.findall(self.regex, text)

    def problems(self, text: str) -> list[str]:
        return []

    def sanitizer(self) -> tuple[str, str]:
        return self.regex, "MASKED"


#: Every entry, grouped by notebook (one block per notebook; keep each block together).
ENTRIES: list[Number | Masked] = [
    # --- notebook 04: scores on the course convnet's features (the tagger of notebook 02) ---
    Masked("04_transfer_svms.ipynb", r"\| convnet: best [^\n]*"),
    Number("04_transfer_svms.ipynb", r"Jamendo voice .*\| convnet: best ", 0.91, 1.0),
    Number("04_transfer_svms.ipynb", r"Jamendo voice .*\| convnet: best \S+, nested ", 0.8, 0.94),
    Number("04_transfer_svms.ipynb", r"Extended Ballroom +convnet - MFCC: mean \+?", 0.04, 0.2),
    Number("04_transfer_svms.ipynb", r"Extended Ballroom +convnet - MFCC: mean \S+, 95% interval \+?", 0.005, 0.12),
    Number("04_transfer_svms.ipynb", r"Extended Ballroom +convnet - MFCC: mean \S+, 95% interval \S+ to \+?", 0.08, 0.3),
    Number("04_transfer_svms.ipynb", r"GTZAN genre +convnet - MFCC: mean \+?", 0.02, 0.14),
    Number("04_transfer_svms.ipynb", r"GTZAN genre +convnet - MFCC: mean \S+, 95% interval \+?", 0.005, 0.08),
    Number("04_transfer_svms.ipynb", r"GTZAN genre +convnet - MFCC: mean \S+, 95% interval \S+ to \+?", 0.06, 0.2),
    Number("04_transfer_svms.ipynb", r"UrbanSound8K +convnet - MFCC: mean \+?", -0.07, -0.02),
    Number("04_transfer_svms.ipynb", r"UrbanSound8K +convnet - MFCC: mean \S+, 95% interval \+?", -0.15, -0.03),
    Number("04_transfer_svms.ipynb", r"UrbanSound8K +convnet - MFCC: mean \S+, 95% interval \S+ to \+?", -0.03, 0.0),
]


def for_notebook(name: str) -> list[Number | Masked]:
    """The entries of one notebook (its file name, e.g. ``"02_training_the_tagger.ipynb"``)."""
    return [e for e in ENTRIES if e.notebook == name]


def output_text(outputs) -> str:
    """All the text of a cell's outputs (streams, text/plain, text/html), one string."""
    parts = []
    for out in outputs:
        if "text" in out:
            parts.append(out["text"] if isinstance(out["text"], str) else "".join(out["text"]))
        for key, value in (out.get("data") or {}).items():
            if key.startswith("text/"):
                parts.append(value if isinstance(value, str) else "".join(value))
    return "\n".join(parts)
