"""Notebook 01 writes its front end itself (quantiser, SNR, spectral centroid, STFT, log-mel, MFCCs
and the 120-value summary); the package has the same steps for the CLI and the later notebooks.
This test runs the notebook's own definitions (read from its JSON) on seeded random signals and
compares them with ``course_utils.audio``."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from course_utils import audio

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "01_audio_basics.ipynb"
NAMES = {"SR", "N_FFT", "HOP", "N_MELS", "FMAX", "mel_filters"}


@pytest.fixture(scope="module")
def nb():
    """The notebook's imports, constants and function definitions, run without its figures."""
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    keep = []
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        for node in ast.parse("".join(cell["source"])).body:
            if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef)):
                keep.append(node)
            elif isinstance(node, ast.Assign) and {getattr(t, "id", None) for t in node.targets} & NAMES:
                keep.append(node)
            elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Tuple) and \
                    {getattr(t, "id", None) for t in node.targets[0].elts} & NAMES:
                keep.append(node)
    namespace: dict = {}
    exec(compile(ast.Module(body=keep, type_ignores=[]), str(NOTEBOOK), "exec"), namespace)
    return namespace


def _signals(n=6, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        length = int(rng.integers(3000, 40000))
        y = rng.normal(0, rng.uniform(0.01, 0.3), length)
        y += rng.uniform(0, 0.5) * np.sin(2 * np.pi * rng.uniform(50, 5000) * np.arange(length) / 12000)
        yield np.clip(y, -1, 1).astype(np.float32)


def test_front_end_constants(nb):
    assert (nb["SR"], nb["N_FFT"], nb["HOP"], nb["N_MELS"], nb["FMAX"]) == (
        audio.SR, audio.N_FFT, audio.HOP_LENGTH, audio.N_MELS, audio.FMAX)


def test_quantiser_and_snr(nb):
    rng = np.random.default_rng(1)
    for bits in (1, 2, 3, 8, 16):
        y = rng.uniform(-1, 1, 500)
        y[:2] = (-1.0, 1.0)
        q = nb["quantize"](y, bits)
        np.testing.assert_array_equal(q, audio.quantize(y, bits))
        assert nb["snr_db"](y, q) == pytest.approx(audio.snr_db(y, q), abs=1e-9)


def test_spectral_centroid(nb):
    for y in _signals():
        assert nb["spectral_centroid"](y, 12000) == pytest.approx(audio.spectral_centroid(y, 12000), rel=1e-6)


def test_log_mel_mfcc_and_summary(nb):
    for y in _signals():
        mine = nb["log_mel"](y)
        assert mine.shape == (96, audio.n_frames(len(y)))
        np.testing.assert_allclose(mine, audio.log_mel(y), atol=1e-3)
        np.testing.assert_allclose(nb["mfcc_summary"](y), audio.mfcc_summary(y), atol=1e-2)
