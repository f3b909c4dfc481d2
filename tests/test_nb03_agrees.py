"""Notebook 03 writes its feature extractor itself; the package extracts the same feature with
``ClipFeatures("course")`` (the CLI, notebooks 04 and 05). They must agree.

The notebook's functions (``feature_extractor``, ``crops``, ``clip_feature``) are read from the
notebook's JSON: only their ``def`` statements are executed (not the cells around them, which need
the trained tagger), then compared with :func:`course_utils.models.convnet.feature_extractor`,
:func:`course_utils.audio.windows.frame_windows` (the one window policy) and
``ClipFeatures("course:<file>")`` on a small seeded random convnet and seeded random input.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from course_utils import audio
from course_utils.audio.windows import frame_windows
from course_utils.features.clip_features import ClipFeatures
from course_utils.models.convnet import compact_convnet, feature_extractor, set_seed
from course_utils.models.training import save_tagger

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "03_transfer_features.ipynb"
FUNCTIONS = ("feature_extractor", "crops", "clip_feature")
#: The notebook numbers blocks from 1, the package's layer strings from 0.
BLOCK_SETS = [((1, 2, 3, 4, 5), "01234"), ((5,), "4"), ((2, 4), "13")]


@pytest.fixture(scope="module")
def notebook():
    """The notebook's functions, defined from their ``def`` statements alone."""
    import keras

    cells = [c for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "code"]
    namespace = {"np": np, "keras": keras, "audio": audio}
    found = set()
    for cell in cells:
        source = "".join(cell["source"])
        tree = ast.parse(source)
        defs = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name in FUNCTIONS]
        if defs:
            exec(compile(ast.Module(body=defs, type_ignores=[]), str(NOTEBOOK), "exec"), namespace)
            found.update(d.name for d in defs)
    assert found == set(FUNCTIONS), f"the notebook no longer defines {sorted(set(FUNCTIONS) - found)}"
    return namespace


@pytest.fixture(scope="module")
def convnet():
    set_seed(0)
    return compact_convnet(n_frames=64, n_tags=4)


@pytest.fixture
def course_features(convnet, tmp_path, data_root):
    """``ClipFeatures("course:<file>")`` of the convnet saved as a tagger, uncached."""
    saved = tmp_path / "tagger.keras"
    save_tagger(convnet, saved, {"tags": [f"tag{i}" for i in range(convnet.output_shape[-1])],
                                 "crop_frames": int(convnet.input_shape[2])})
    return ClipFeatures(f"course:{saved}", cache=False).fit()


@pytest.fixture
def clips(tmp_path):
    """Three seeded noisy tones: longer than a crop (not a multiple of it), shorter, and in between."""
    rng = np.random.default_rng(3)
    files = []
    for k, seconds in enumerate((4.3, 0.8, 1.9)):
        t = np.arange(int(seconds * audio.SR)) / audio.SR
        y = 0.3 * np.sin(2 * np.pi * (220 + 170 * k) * t) + 0.05 * rng.normal(size=len(t))
        files.append(tmp_path / f"clip{k}.wav")
        sf.write(files[-1], y.astype(np.float32), audio.SR)
    return files


@pytest.mark.parametrize("blocks, layers", BLOCK_SETS)
def test_feature_extractor_agrees_with_the_package(notebook, convnet, blocks, layers):
    ours = notebook["feature_extractor"](convnet, blocks)
    theirs = feature_extractor(convnet, layers)
    assert ours.output_shape == theirs.output_shape == (None, 32 * len(blocks))
    x = np.random.default_rng(0).normal(-30, 15, size=(5, 96, 64, 1)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(ours(x, training=False)), np.asarray(theirs(x, training=False)),
                               rtol=1e-5, atol=1e-6)


def test_feature_extractor_is_the_mean_of_each_blocks_output(notebook, convnet):
    """What the notebook says: each value is one filter's map averaged over frequency and time."""
    import keras

    names = [f"block{i}_elu" for i in range(1, 6)]
    maps = keras.Model(convnet.input, [convnet.get_layer(n).output for n in names])
    x = np.random.default_rng(1).normal(-30, 15, size=(2, 96, 64, 1)).astype(np.float32)
    by_hand = np.concatenate([np.asarray(m).mean(axis=(1, 2)) for m in maps(x, training=False)], axis=1)
    ours = np.asarray(notebook["feature_extractor"](convnet)(x, training=False))
    np.testing.assert_allclose(ours, by_hand, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n_frames", [1, 17, 63, 64, 65, 128, 150, 200, 256])
def test_crops_agree_with_the_package(notebook, n_frames):
    mel = np.random.default_rng(n_frames).normal(size=(96, n_frames)).astype(np.float32)
    ours = notebook["crops"](mel, 64)
    _, windows = frame_windows(mel, 64, axis=1)
    np.testing.assert_array_equal(ours, windows)


def test_clip_features_agree_with_the_package(notebook, convnet, course_features, clips, data_root):
    extractor = notebook["feature_extractor"](convnet)
    ours = np.stack([notebook["clip_feature"](extractor, path) for path in clips])
    assert ours.shape == (3, 160) and np.all(np.isfinite(ours))
    theirs = course_features.transform([str(p) for p in clips])
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def test_a_segment_of_a_file_agrees_with_the_package(notebook, convnet, course_features, clips, data_root):
    """offset and duration in seconds, as for the Jamendo segments."""
    import pandas as pd

    extractor = notebook["feature_extractor"](convnet)
    ours = notebook["clip_feature"](extractor, clips[0], offset=1.0, duration=1.2)
    table = pd.DataFrame({"path": [str(clips[0])], "offset": [1.0], "duration": [1.2]})
    theirs = course_features.transform(table)[0]
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
