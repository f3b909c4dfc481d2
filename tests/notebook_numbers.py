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
  number is ``[-+]?\\d+(\\.\\d+)?`` (a sign belongs to the number, so a value that changes sign is
  masked the same way). Give the range you would defend in a review (what the
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
VALUE = r"[-+]?\d+(?:\.\d+)?"


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


NB02 = "02_training_the_tagger.ipynb"

#: Every entry, grouped by notebook (one block per notebook; keep each block together).
NB05 = "05_similarity_search.ipynb"

ENTRIES: list[Number | Masked] = [
    # --- notebook 02 ---
    Number(NB02, r"untrained network, validation ROC-AUC \(macro\): ", 0.35, 0.65),
    Number(NB02, r"epochs trained: ", 4, 11),          # below MAX_EPOCHS (12): early stopping stopped it
    Number(NB02, r"weights restored from epoch: ", 2, 10),
    Number(NB02, r"validation ROC-AUC \(macro\) of that epoch: ", 0.85, 0.96),
    Masked(NB02, r"validation ROC-AUC per epoch: [0-9., ]*[0-9]"),
    Number(NB02, r"loop over roc_auc_score: ", 0.82, 0.96),
    Number(NB02, r"rank formula: ", 0.82, 0.96),
    Number(NB02, r"loop over average_precision_score: ", 0.35, 0.75),
    Number(NB02, r"average_precision_score: \S+; from ranks: ", 0.35, 0.75),
    Number(NB02, r"test ROC-AUC \(macro\): ", 0.82, 0.96),
    Number(NB02, r"95% bootstrap interval ", 0.80, 0.95),
    Number(NB02, r"test PR-AUC \(macro\): ", 0.35, 0.75),
    Number(NB02, r"test PR-AUC \(macro\): \S+ \(bootstrap 95%: ", 0.3, 0.72),
    Number(NB02, r"central crop only: ", 0.80, 0.95),
    Number(NB02, r"gain of averaging 3 crops: ", -0.005, 0.012),   # the prose: small next to the test interval
    Number(NB02, r"95% paired bootstrap interval ", -0.015, 0.012),
    Masked(NB02, r"(?<= to )-?[0-9]+\.[0-9]+"),                       # the upper ends of the intervals
    Number(NB02, r"ROC-AUC of the absence tags: mean ", 0.5, 0.8),   # the prose: below every other tag's mean
    Number(NB02, r"ROC-AUC of all other tags: mean ", 0.82, 0.97),
    Masked(NB02, r"\(lowest [0-9.]+, highest [0-9.]+\)"),
    Number(NB02, r"other tags minus absence tags: ", 0.1, 0.4),
    Number(NB02, r"other tags minus absence tags: \S+ \(bootstrap 95%: ", 0.05, 0.35),  # the prose: far from 0
    Masked(NB02, r"predicted: [^\n]*"),
    Masked(NB02, r"demo_violin_cello_voice\.mp3: [^\n]*"),
    Masked(NB02, r"ours, trained on synthetic clips: [^\n]*"),
    # --- notebook 03 ---
    Number("03_transfer_features.ipynb", r"test macro ROC-AUC \(notebook 02\): ", 0.80, 0.95),
    # an ELU output's mean is at least -1; the prose says only that the two printed values are equal
    Number("03_transfer_features.ipynb", r"its first value: ", -1.0, 10.0),
    Number("03_transfer_features.ipynb", r"the mean of block 1's first map: ", -1.0, 10.0),
    Number("03_transfer_features.ipynb", r"convnet feature \(160 values\): PC 1 keeps ", 50, 95),
    Number("03_transfer_features.ipynb", r"convnet feature \(160 values\): PC 1 keeps \S+ of the variance; "
           r"its correlation with the clips' level \(dB\): ", 0.7, 1.0),
    Number("03_transfer_features.ipynb", r"convnet feature: accuracy ", 0.5, 0.95),
    Number("03_transfer_features.ipynb", r"convnet feature: accuracy \S+ on 100 test clips, 95% interval ", 0.4, 0.9),
    Number("03_transfer_features.ipynb", r"convnet feature: accuracy \S+ on 100 test clips, 95% interval \S+ to ",
           0.6, 1.0),
    Number("03_transfer_features.ipynb", r"clips right with the convnet feature only: ", 0, 40),
    Number("03_transfer_features.ipynb", r"with the MFCC summary only: ", 0, 40),
    # the prose says that McNemar's test gives p above 0.05 (as the paired interval includes 0)
    Number("03_transfer_features.ipynb", r"McNemar's exact test on the clips where they disagree: p = ", 0.05, 1.0),
    Number("03_transfer_features.ipynb", r"accuracy difference \(convnet - MFCC\): ", -0.15, 0.2),
    # the prose says that the paired interval includes 0
    Number("03_transfer_features.ipynb", r"accuracy difference \(convnet - MFCC\): \S+, 95% interval ", -0.35, 0.0),
    Number("03_transfer_features.ipynb", r"accuracy difference \(convnet - MFCC\): \S+, 95% interval \S+ to ",
           0.0, 0.4),
    Masked("03_transfer_features.ipynb", r"(?<=, predicted )[a-z]+"),
    # --- end of notebook 03 ---
    # --- 05_similarity_search.ipynb: the siamese training (one seed; on one thread with the stored tagger,
    # seeds 0-4 gave test mAP .544-.568 and paired gains over the tagger of +.026 to +.050; an earlier
    # two-thread run with another tagger, -.008 to +.021), and the tagger of notebook 02 behind the convnet
    # and tagger rows (its 50 probabilities: test mAP .518 stored, .547 in that earlier run) ---
    Number(NB05, r"that batch of section 4, trained network: mean loss ", 0.02, 0.16),
    Number(NB05, r"that batch of section 4, trained network: mean loss \S+; triplets violating the margin: ", 25, 80),
    Number(NB05, r"epoch 16: triplet loss ", 0.03, 0.09, mask=False),
    Number(NB05, r"epoch 16: triplet loss \S+, validation mAP ", 0.48, 0.66, mask=False),
    Masked(NB05, r"epoch +\d+: triplet loss \S+, validation mAP \S+"),
    # the results table: P@10, mAP, its interval (low to high), NDCG@10
    *[Number(NB05, rf"\n{system} +" + before, low, high)
      for system, ranges in {
          "convnet": [(0.42, 0.55), (0.37, 0.49), (0.34, 0.46), (0.40, 0.52), (0.56, 0.68)],
          "tagger": [(0.50, 0.63), (0.48, 0.60), (0.45, 0.57), (0.51, 0.63), (0.62, 0.72)],
          "siamese": [(0.54, 0.66), (0.52, 0.61), (0.49, 0.58), (0.55, 0.64), (0.67, 0.76)],
      }.items() for before, (low, high) in zip((r"", r"[0-9.A-Z]+ +", r"[0-9.A-Z]+ +[0-9.A-Z]+ +",
                                                 r"[0-9.A-Z]+ +[0-9.A-Z]+ +[0-9.A-Z]+ to ",
                                                 r"[0-9.A-Z]+ +[0-9.A-Z]+ +[0-9.A-Z]+ to [0-9.A-Z]+ +"), ranges)],
    # the prose: a few points ahead of the tagger at most, depending on both training runs
    Number(NB05, r"siamese - tagger: ", -0.03, 0.08),
    Number(NB05, r"siamese - tagger: \S+ \(", -0.05, 0.065),
    Number(NB05, r"siamese - tagger: \S+ \(\S+ to ", -0.01, 0.09),
    Number(NB05, r"siamese - MFCC: ", 0.12, 0.30),
    Number(NB05, r"siamese - MFCC: \S+ \(", 0.09, 0.28),
    Number(NB05, r"siamese - MFCC: \S+ \(\S+ to ", 0.14, 0.33),
    Number(NB05, r"tagger - convnet: ", 0.04, 0.19),
    Number(NB05, r"tagger - convnet: \S+ \(", 0.01, 0.17),
    Number(NB05, r"tagger - convnet: \S+ \(\S+ to ", 0.06, 0.21),
    Number(NB05, r"test embeddings \(240 clips\): HNSW recall@10 = ", 0.97, 1.0),
    Masked(NB05, r"[\d,]+ queries/s"),   # timings: the machine and its load
    Masked(NB05, r"\d\. clip \d+ \(distance [^\n]*"),
    Number(NB05, r"mean tag similarity of the five neighbours: ", 0.25, 1.0),
    Number(NB05, r"hits tagged techno, electronic, dance or synth: ", 3, 5),
    # --- notebook 06: the leak of scattered excerpts (nested CV; lbfgs's last digits differ between CPUs).
    # The prose: the grouped and the scattered scores do not overlap ---
    Number("06_your_own_data.ipynb", r"seed \d: songs kept together ", 0.60, 0.72),
    Number("06_your_own_data.ipynb", r"seed \d: songs kept together \S+, excerpts scattered ", 0.72, 0.82),
    # --- notebook 04: scores on the course convnet's features (the tagger of notebook 02) ---
    Masked("04_transfer_svms.ipynb", r"convnet  +\d[^\n]*"),   # the convnet rows of the best/nested table
    Number("04_transfer_svms.ipynb", r"Jamendo voice +convnet +", 0.91, 1.0),
    Number("04_transfer_svms.ipynb", r"Jamendo voice +convnet +\S+ +", 0.85, 1.0),
    Masked("04_transfer_svms.ipynb", r"; folds convnet ahead \d+, tied \d+, behind \d+"),
    Number("04_transfer_svms.ipynb", r"Extended Ballroom +convnet - MFCC: mean ", -0.03, 0.2),
    Number("04_transfer_svms.ipynb", r"Extended Ballroom +convnet - MFCC: mean \S+, 95% interval ", -0.08, 0.12),
    Number("04_transfer_svms.ipynb", r"Extended Ballroom +convnet - MFCC: mean \S+, 95% interval \S+ to ", 0.04, 0.3),
    Number("04_transfer_svms.ipynb", r"GTZAN genre +convnet - MFCC: mean ", 0.02, 0.14),
    Number("04_transfer_svms.ipynb", r"GTZAN genre +convnet - MFCC: mean \S+, 95% interval ", 0.005, 0.08),
    Number("04_transfer_svms.ipynb", r"GTZAN genre +convnet - MFCC: mean \S+, 95% interval \S+ to ", 0.04, 0.2),
    # a tagger trained on two threads on this host (a fresh-clone make test) gave a mean of -0.09, its interval ending at -0.04
    Number("04_transfer_svms.ipynb", r"UrbanSound8K +convnet - MFCC: mean ", -0.12, -0.02),
    Number("04_transfer_svms.ipynb", r"UrbanSound8K +convnet - MFCC: mean \S+, 95% interval ", -0.15, -0.03),
    Number("04_transfer_svms.ipynb", r"UrbanSound8K +convnet - MFCC: mean \S+, 95% interval \S+ to ", -0.06, 0.0),
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
