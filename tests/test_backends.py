"""Training runs on another Keras backend than TensorFlow: JAX or PyTorch, where installed.

Each check runs in a subprocess with ``KERAS_BACKEND`` set (Keras picks its backend once, at
import), on random data: a few steps of the compact convnet (notebook 02's ``train_tagger``) and
of the siamese embedding (notebook 05's ``train_siamese``, both losses). The losses must be
finite and the weights must have changed; the numbers themselves are not compared with
TensorFlow's (op determinism, which the notebooks' stored outputs rely on, is TensorFlow-only).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
INSTALLED = [name for name in ("jax", "torch") if importlib.util.find_spec(name) is not None]

SCRIPT = r"""
import json, sys
import numpy as np
import keras
from course_utils.models import convnet as models, training
from course_utils.similarity import siamese

def changed(before, model):
    return any(not np.array_equal(b, a) for b, a in zip(before, model.get_weights()))

rng = np.random.default_rng(0)
out = {"backend": keras.backend.backend()}

# the compact convnet: 2 epochs of 3 batches of random log-mels with random tags
x = rng.normal(-40, 10, size=(24, 96, 64)).astype(np.float32)
y = (rng.random((24, 5)) < 0.3).astype(np.float32)
models.set_seed(0)
net = models.compact_convnet(n_frames=64, n_tags=5)
before = [w.copy() for w in net.get_weights()]
history = training.train_tagger(net, training.LogMelSequence(x, y, batch_size=8, crop_frames=64, training=True),
                                training.LogMelSequence(x, y, batch_size=8, crop_frames=64), epochs=2, patience=None)
out["convnet"] = {"loss": history["loss"], "changed": changed(before, net)}

# the siamese embedding: clips whose class is a band of energy, tags = one-hot class
labels = np.repeat(np.arange(3), 8)
clips = rng.normal(-60, 6, size=(len(labels), 32, 80)).astype(np.float32)
for i, c in enumerate(labels):
    clips[i, 4 + 9 * c:10 + 9 * c] += 30
tags = np.eye(3, dtype=np.float32)[labels]
for loss, mining in (("triplet", "semi-hard"), ("contrastive", "random")):
    models.set_seed(3)
    emb = siamese.embedding_model(n_mels=32, crop_frames=64, embedding_dim=8, n_filters=4)
    before = [w.copy() for w in emb.get_weights()]
    emb, history = siamese.train_siamese(clips, tags, model=emb, epochs=3, batch_size=8, learning_rate=5e-3,
                                            loss=loss, mining=mining, neg_threshold=0.0, seed=3)
    vectors = siamese.embed_clips(emb, clips)
    out[loss] = {"loss": history["loss"], "changed": changed(before, emb),
                 "unit": bool(np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5))}
print("RESULT " + json.dumps(out))
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", INSTALLED or [
    pytest.param(None, marks=pytest.mark.skip(reason="jax/torch not installed: pip install jax to run this"))])
def test_training_runs_on_another_keras_backend(backend, tmp_path):
    env = {**os.environ, "KERAS_BACKEND": backend, "KERAS_HOME": str(tmp_path / "keras"),
           "COURSE_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": os.pathsep.join(
               [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(s for s in proc.stdout.splitlines() if s.startswith("RESULT "))
    out = json.loads(line[len("RESULT "):])
    assert out["backend"] == backend
    for name in ("convnet", "triplet", "contrastive"):
        losses = out[name]["loss"]
        assert losses and all(v == v and abs(v) < 1e6 for v in losses), f"{name}: loss not finite: {losses}"
        assert out[name]["changed"], f"{name}: training on {backend} left the weights unchanged"
    assert out["convnet"]["loss"][-1] < out["convnet"]["loss"][0], out["convnet"]["loss"]
    assert out["triplet"]["unit"] and out["contrastive"]["unit"]
