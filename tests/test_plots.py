"""course_utils.teaching.plots: the figures show what their captions in the notebooks say."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils import audio  # noqa: E402
from course_utils.teaching import plots


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_quantisation_figure_shows_steps_in_amplitude():
    """Left: the quantiser's staircase (stored against measured amplitude); right: samples snapped to
    the 2**bits levels, which are drawn, not a sample-and-hold line in time."""
    sr = 12000
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(sr) / sr)
    fig = plots.plot_quantisation(tone, sr, bits=3, staircase_bits=(2, 3), seconds=0.0025)
    left, right = fig.axes
    assert "measured" in left.get_xlabel() and "stored" in left.get_ylabel()
    for bits in (2, 3):
        [line] = [ln for ln in left.get_lines() if ln.get_label().startswith(f"{bits} bits")]
        assert set(np.round(line.get_ydata(), 9)) == set(np.round(-1 + 2 / 2**bits * np.arange(2**bits), 9))
    levels = -1 + 2 / 8 * np.arange(8)
    drawn = sorted(ln.get_ydata()[0] for ln in right.get_lines() if len(set(ln.get_ydata())) == 1 and ln.get_xdata()[0] == 0)
    assert np.allclose(drawn, levels)  # the eight levels, as horizontal lines
    [stored] = [ln for ln in right.get_lines() if ln.get_label().startswith("sample as stored")]
    assert np.allclose(stored.get_ydata(), audio.quantize(tone[:30], 3))
    assert right.get_xlabel() == "time (ms)"
    assert right.get_legend() is not None and right.get_legend().get_bbox_to_anchor().x0 > right.bbox.x1 - 1  # off the data


def test_mfcc_figure_shows_coefficient_0_apart_and_labels_units():
    rng = np.random.default_rng(0)
    mfcc = np.vstack([rng.uniform(-400, -120, 50), rng.normal(0, 30, (19, 50))])
    fig = plots.plot_mfcc(mfcc, 12000, 256, title="t")
    top, image_ax = fig.axes[0], fig.axes[2]
    assert np.allclose(top.get_lines()[0].get_ydata(), mfcc[0])
    assert "dB" in top.get_ylabel()
    [image] = image_ax.get_images()
    assert image.get_array().shape == (19, 50)  # coefficient 0 is not in the image
    low, high = image.get_clim()
    assert low == -high == -np.abs(mfcc[1:]).max()  # centred on 0, set by coefficients 1 and up
    assert "dB" in fig.axes[-1].get_ylabel()  # the colour bar
    assert image_ax.get_xlabel() == "time (s)"
