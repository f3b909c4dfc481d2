"""The notebooks as a learner meets them: the same Colab install cell first, launch badges that
point at real notebooks, objectives at the top, a link to the next part, and no machine paths."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import nbformat
import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _cells(path):
    return nbformat.read(path, as_version=4).cells


def test_there_are_six_numbered_notebooks():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06"]


def test_install_cell_is_first_and_identical():
    """The same Colab install cell everywhere, but for the extras each notebook needs
    (tests/test_colab_extras.py checks those)."""
    sources = {p.name: re.sub(r"course-utils\[[^\]]*\]", "course-utils[EXTRAS]",
                              next(c.source for c in _cells(p) if c.cell_type == "code")) for p in NOTEBOOKS}
    first = next(iter(sources.values()))
    assert "google.colab" in first and "pip" in first
    assert all(s == first for s in sources.values()), "the Colab install cell differs between notebooks"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_badges_point_at_this_notebook(path):
    intro = _cells(path)[0].source
    colab = re.search(r"colab\.research\.google\.com/github/[^/]+/[^/]+/blob/main/([^)\s]+)", intro)
    binder = re.search(r"mybinder\.org/v2/gh/[^/]+/[^/]+/main\?labpath=([^)\s]+)", intro)
    assert colab and binder, "both launch badges are at the top"
    for target in (colab.group(1), unquote(binder.group(1))):
        assert (REPO / target).resolve() == path.resolve()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_objectives_and_links_resolve(path):
    cells = _cells(path)
    assert "After this notebook you can" in cells[0].source
    for cell in cells:
        if cell.cell_type == "markdown":
            for link in re.findall(r"\]\((\d\d_[a-z_]+\.ipynb)\)", cell.source):
                assert (path.parent / link).is_file(), f"{path.name} links to missing {link}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_machine_paths_or_errors_in_stored_outputs(path):
    for cell in _cells(path):
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error"
            text = str(out.get("text", "")) + str(out.get("data", {}).get("text/plain", ""))
            assert not re.search(r"/(work|root|home|tmp)/", text), f"machine path in {path.name}: {text[:120]}"


def _tagged_source(path, tag):
    """The source of the one cell of a notebook that carries ``tag``."""
    found = [c.source for c in _cells(path) if tag in c.get("metadata", {}).get("tags", [])]
    assert len(found) == 1, f"{path.name}: expected one cell tagged {tag!r}, found {len(found)}"
    return found[0]


def _layer_rows(model):
    return [(layer.name, type(layer).__name__, tuple(layer.output.shape[1:]), layer.count_params())
            for layer in model.layers]


@pytest.mark.parametrize("frames", [128, 256, 1360])
def test_notebook_02_writes_the_same_network_as_models_compact_convnet(frames):
    """Notebook 02 writes the compact convnet in plain Keras; the package keeps the tested copy.
    Both must have the same layers (names, types), output shapes and parameter counts."""
    import keras

    from course_utils.models import convnet

    namespace = {"keras": keras, "layers": keras.layers}   # what the notebook imported before the cell
    exec(_tagged_source(REPO / "notebooks" / "02_training_the_tagger.ipynb", "model-definition"), namespace)
    pools = convnet.pool_sizes(96, frames)
    mine = namespace["build_compact_convnet"](frames, pools, n_tags=50)
    reference = convnet.compact_convnet(n_mels=96, n_frames=frames, n_tags=50)
    assert _layer_rows(mine) == _layer_rows(reference)
    assert mine.count_params() == reference.count_params()
    # the fixed input scaling is the same map from dB to network units
    x = np.linspace(-80, 10, 7, dtype="float32").reshape(1, 7, 1, 1)
    assert np.allclose(mine.get_layer("input_scaling")(x), reference.get_layer("input_scaling")(x))

