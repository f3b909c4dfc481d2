"""Notebook 02 writes its data path and evaluation in plain Keras, NumPy and scikit-learn; the
package keeps its own copies for the command line (``course-utils train-tagger``). On seeded
random input the two must agree:

- the notebook's ``CropSequence`` serves the very batches of ``training.LogMelSequence`` (same
  order, same crops, same labels, epoch after epoch);
- its ``predict_clips`` (consecutive crops, averaged) gives ``training.predict_clips``'s scores;
- its ``tag_scores`` loop gives ``metrics.per_tag_scores`` and ``metrics.macro_scores``;
- its ``ValidationAUC`` callback logs what ``training.RocAucCallback`` logs;
- its rank formulas ``macro_roc_auc`` and ``macro_pr_auc`` (for the bootstrap) give the macro ROC-AUC
  and PR-AUC of the loop, ties and repeated clips included;
- its ``pools_along`` (with its ``FREQ_POOLS`` and ``TIME_POOLS``) gives ``convnet.pool_sizes``.
"""

from __future__ import annotations

import math
from pathlib import Path

import keras
import nbformat
import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata
from sklearn.metrics import average_precision_score, roc_auc_score

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "02_training_the_tagger.ipynb"


def _tagged_source(tag: str) -> str:
    found = [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(found) == 1, f"expected one cell tagged {tag!r} in {NOTEBOOK.name}, found {len(found)}"
    return found[0]


def _function_source(cell_tag: str, name: str) -> str:
    """The lines of one top-level ``def`` of a cell (cells also run code that needs the data)."""
    lines = _tagged_source(cell_tag).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"def {name}("))
    end = next((i for i in range(start + 1, len(lines)) if lines[i] and not lines[i][0].isspace()), len(lines))
    return "\n".join(lines[start:end])


@pytest.fixture(scope="module")
def nb() -> dict:
    """What the notebook's cells define, with what the notebook imported before them."""
    namespace = {"math": math, "keras": keras, "layers": keras.layers, "np": np, "pd": pd, "rankdata": rankdata,
                 "roc_auc_score": roc_auc_score, "average_precision_score": average_precision_score}
    for tag in ("crop-sampler", "crop-evaluation", "validation-callback", "model-definition"):
        exec(_tagged_source(tag), namespace)
    exec(_function_source("fig-per-tag-roc", "macro_roc_auc"), namespace)
    exec(_function_source("fig-per-tag-roc", "macro_pr_auc"), namespace)
    exec(_function_source("pooling-rule", "pools_along"), namespace)
    constants = next(line for line in _tagged_source("pooling-rule").splitlines() if line.startswith("FREQ_POOLS, TIME_POOLS ="))
    exec(constants, namespace)
    return namespace


def _cache(rng, n_clips=23, n_mels=96, n_frames=150, n_tags=7):
    x = rng.normal(-40, 15, size=(n_clips, n_mels, n_frames)).astype(np.float16)
    y = (rng.random((n_clips, n_tags)) < 0.3).astype(np.float32)
    y[0] = 1 - y[1:].max(axis=0)   # no tag without a positive
    return x, y


def test_crop_sampler_serves_the_batches_of_logmelsequence(nb):
    from course_utils.models.training import LogMelSequence

    rng = np.random.default_rng(0)
    x, y = _cache(rng, n_frames=90)
    for seed, crop, batch, rows in [(0, 32, 4, np.arange(23)), (7, 90, 5, np.array([3, 1, 4, 15, 9, 2, 6])),
                                    (3, 17, 16, rng.permutation(23)[:19])]:
        mine = nb["CropSequence"](x, y, rows, crop, batch, seed=seed)
        package = LogMelSequence(x, y, batch_size=batch, crop_frames=crop, training=True, seed=seed, indices=rows)
        assert len(mine) == len(package)
        for _ in range(3):
            for i in range(len(package)):
                (xa, ya), (xb, yb) = mine[i], package[i]
                assert xa.dtype == xb.dtype == np.float32 and xa.shape == xb.shape
                assert np.array_equal(xa, xb) and np.array_equal(ya, yb)
            mine.on_epoch_end()
            package.on_epoch_end()


def _small_model(nb, crop):
    from course_utils.models import convnet

    keras.utils.set_random_seed(1)
    model = nb["build_compact_convnet"](crop, convnet.pool_sizes(96, crop), n_tags=7)
    return model


@pytest.mark.parametrize("n_frames, crop", [(150, 32), (100, 100), (376, 128)])
def test_crop_averaged_prediction_agrees_with_training_predict_clips(nb, n_frames, crop):
    from course_utils.models import training

    rng = np.random.default_rng(n_frames)
    x, _ = _cache(rng, n_frames=n_frames)
    model = _small_model(nb, crop)
    rows = np.array([5, 0, 22, 3, 17, 8, 1, 11, 19, 2, 4, 6, 7, 9, 10, 12, 13, 14, 15, 16, 18, 20, 21])
    mine = nb["predict_clips"](model, x, rows)
    package = training.predict_clips(model, np.asarray(x[rows]))
    assert mine.shape == package.shape == (len(rows), 7)
    assert np.allclose(mine, package, atol=1e-5)
    assert nb["crop_starts"](n_frames, crop) == training.crop_starts(n_frames, crop)


def test_per_tag_loop_agrees_with_metrics(nb):
    from course_utils.models import metrics

    rng = np.random.default_rng(2)
    for _ in range(10):
        n, k = int(rng.integers(10, 80)), int(rng.integers(2, 9))
        y = (rng.random((n, k)) < rng.uniform(0.05, 0.5, size=k)).astype(np.float32)
        y[:, int(rng.integers(0, k))] = 0                       # a tag without a positive: no score
        s = np.round(rng.random((n, k)), 2)                     # rounded: ties, which ranks must handle
        tags = [f"t{j}" for j in range(k)]
        mine = nb["tag_scores"](y, s, tags)
        package = metrics.per_tag_scores(y, s, tags)
        pd.testing.assert_frame_equal(mine, package, check_dtype=False)
        macro = metrics.macro_scores(y, s)
        assert np.isclose(mine["roc_auc"].mean(), macro["roc_auc"]) and np.isclose(mine["pr_auc"].mean(), macro["pr_auc"])
        assert np.isclose(nb["macro_roc_auc"](y, s), macro["roc_auc"])
        assert np.isclose(nb["macro_pr_auc"](y, s), macro["pr_auc"])
        i = rng.integers(0, n, n)                               # a bootstrap resample: repeated clips
        resampled = metrics.macro_scores(y[i], s[i])
        assert np.isclose(nb["macro_roc_auc"](y[i], s[i]), resampled["roc_auc"])
        assert np.isclose(nb["macro_pr_auc"](y[i], s[i]), resampled["pr_auc"])


def test_validation_callback_agrees_with_rocauccallback(nb):
    from course_utils.models import training

    rng = np.random.default_rng(3)
    x, y = _cache(rng, n_frames=100)
    model = _small_model(nb, 32)
    rows = np.arange(3, 20)
    mine, package = {}, {}
    callback = nb["ValidationAUC"](x, y, rows, [f"t{j}" for j in range(7)])
    callback.set_model(model)
    callback.on_epoch_end(0, mine)
    reference = training.RocAucCallback(training.LogMelSequence(x, y, indices=rows))
    reference.set_model(model)
    reference.on_epoch_end(0, package)
    assert np.isclose(mine["val_roc_auc"], package["val_roc_auc"], atol=1e-6)
    assert np.isclose(mine["val_loss"], package["val_loss"], atol=1e-5)


def test_pools_along_agrees_with_pool_sizes(nb):
    from course_utils.models import convnet

    assert (tuple(nb["FREQ_POOLS"]), tuple(nb["TIME_POOLS"])) == (tuple(convnet.DEFAULT_FREQ_POOLS),
                                                                  tuple(convnet.DEFAULT_TIME_POOLS))
    rng = np.random.default_rng(4)
    sizes = [(96, 1360), (96, 128), (96, 376), (32, 32), (96, 33), (128, 1366)]
    sizes += [tuple(int(v) for v in pair) for pair in rng.integers(32, 3000, size=(40, 2))]
    for n_mels, n_frames in sizes:
        mine = list(zip(nb["pools_along"](n_mels, nb["FREQ_POOLS"]), nb["pools_along"](n_frames, nb["TIME_POOLS"])))
        assert mine == convnet.pool_sizes(n_mels, n_frames), (n_mels, n_frames)
