"""The SVM protocol's results in words: the protocol, a grid setting, the paper's table as text.

Pure formatting, below the protocols of :mod:`course_utils.svm.protocol` (which put these words into
their results) and above the grid of :mod:`course_utils.svm.grid`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from course_utils.svm.grid import check_choice, PROTOCOLS

_PAPER_NOTE = ("protocol 'paper': no standardisation (the authors' scaler switch was inert, so every published "
               "score is the best of the grid without it)")
_CORRECTED_NOTE = "protocol 'corrected': standardisation really on and off in the grid"


def protocol_note(protocol: str) -> str:
    """One sentence saying what a protocol does about standardisation, for printed tables.

    Args:
        protocol: ``"paper"`` or ``"corrected"``.

    Returns:
        The sentence.
    """
    check_choice("protocol", protocol, PROTOCOLS)
    return _PAPER_NOTE if protocol == "paper" else _CORRECTED_NOTE


def describe_params(params: dict) -> str:
    """A setting of the grid in a few words, e.g. ``"rbf C=32 gamma=2^-7"``.


    Args:
        params: one entry of :func:`course_utils.svm.grid.param_grid`.

    Returns:
        The words.
    """
    text = f"{params['kernel']} C={params['C']:g}"
    gamma = params.get("gamma")
    if params["kernel"] == "rbf":
        text += " gamma=auto" if gamma == "auto" else f" gamma=2^{int(round(np.log2(float(gamma))))}"
    if params.get("scale"):
        text += " standardised"
    return text


def format_table(df: pd.DataFrame) -> str:
    """The table of :func:`course_utils.svm.protocol.paper_table` as readable text: paper against reproduction.

    Notebook 04 and ``course-utils paper-table``.

    Args:
        df: the output of :func:`course_utils.svm.protocol.paper_table`.

    Returns:
        Lines of text: a header saying the protocol, one row per task with, for each layer set,
        the published score, ours and the difference, then the notes.
    """
    layer_sets = df.attrs.get("layer_sets") or [c[: -len("_score")] for c in df.columns if c.endswith("_score")]
    nested = any(f"{ls}_nested" in df.columns for ls in layer_sets)
    head = f"{'task':24s}"
    for ls in layer_sets:
        head += f" | {ls + ' paper':>12s} {'ours':>6s} {'diff':>7s}" + (f" {'nested':>7s}" if nested else "")
    lines = [f"SVM scores (accuracy; R² for emoMusic): {df.attrs.get('note', '')}", head, "-" * len(head)]

    def num(v, fmt):  # rounded first, so that a difference of -1e-16 prints as +0.000 on every machine
        return format(round(float(v), 3) + 0.0, fmt) if pd.notna(v) else "—"

    for task, row in df.iterrows():
        line = f"{row.get('title', task):24s}"
        for ls in layer_sets:
            line += (f" | {num(row[f'{ls}_published'], '12.3f')} {num(row[f'{ls}_score'], '6.3f')}"
                     f" {num(row[f'{ls}_difference'], '+7.3f')}")
            if nested:
                line += f" {num(row.get(f'{ls}_nested'), '7.3f')}"
        lines.append(line)
    notes = [f"{task}: {row['note']}" for task, row in df.iterrows() if row.get("note")]
    if notes:
        lines += ["", "notes:"] + [f"  {n}" for n in notes]
    if "seconds" in df.attrs:
        lines.append(f"({df.attrs['seconds']:.0f} s)")
    return "\n".join(lines)
