"""The course's MagnaTagAtune tagger, end to end: data, training, evaluation, tagging files.

:mod:`course_utils.training` holds the parts (spectrogram cache, batches, training loop); this
module puts them together the way notebook 02 and the ``course-utils train-tagger`` command use
them, at two scales (files are tagged through :class:`course_utils.clip_features.ClipFeatures`,
``ClipFeatures("course")``):

- ``mini``: the embedded MagnaTagAtune, 8 s clips, trained on random crops of 128 frames
  (2.7 s) on a laptop CPU in a few minutes;
- ``full``: the real MagnaTagAtune, 29.1 s clips, crops of 1360 frames as in the paper, for a
  user with the data and a GPU.

A trained model is saved with a JSON sidecar (tags, crop length, test scores), so that it can be
used again without knowing how it was trained.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from course_utils import audio, cache, metrics, models, paths
from course_utils.errors import CourseError

#: Training settings of the two scales.
CONFIGS = {
    # Sized for a slow laptop CPU (issue 18): 6 epochs of 960 crops of 128 frames (2.7 s) cost
    # about as much as 3,500 crops of 256 frames, under 3 minutes at the 25 clips/s measured on
    # the slowest host tried; validation ROC-AUC is about 0.9 after 6 epochs (benchmarks/).
    "mini": dict(duration=8.0, crop_frames=128, batch_size=16, epochs=6, patience=3, learning_rate=2e-3),
    "full": dict(duration=29.1, crop_frames=1360, batch_size=16, epochs=100, patience=10, learning_rate=1e-3),
}


@dataclass
class TaggerData:
    """MagnaTagAtune ready for training: the table, the spectrogram cache and the labels.

    Attributes:
        df: the dataset table (:func:`course_utils.datasets.load_dataset`).
        tags: the 50 tags, in column order.
        x: memory-mapped log-mel spectrograms, ``(n_clips, 96, n_frames)`` float16.
        y: labels ``(n_clips, 50)`` float32.
        split: row indices of ``train``, ``valid`` and ``test``.
    """

    df: pd.DataFrame
    tags: list
    x: np.ndarray
    y: np.ndarray
    split: dict = field(default_factory=dict)


def load_tagger_data(variant: str = "mini", *, progress: bool = True) -> TaggerData:
    """Load MagnaTagAtune and its log-mel cache (computed once, then memory-mapped).

    Notebooks 02 and 05.

    Args:
        variant: ``"mini"`` or ``"full"``.
        progress: show a progress bar while the cache is built.

    Returns:
        A :class:`TaggerData`.
    """
    from course_utils import training
    from course_utils.datasets import load_dataset

    df = load_dataset("magnatagatune", variant)
    tags = df.attrs["tags"]
    x = training.build_logmel_cache(df["path"].tolist(), paths.data_dir() / "cache" / "magnatagatune",
                                    duration=CONFIGS[variant]["duration"], progress=progress)
    y = df[tags].to_numpy(dtype=np.float32)
    split = {s: np.flatnonzero(df["split"].to_numpy() == s) for s in ("train", "valid", "test")}
    return TaggerData(df, list(tags), x, y, split)


def batches(data: TaggerData, subset: str, variant: str = "mini", *, seed: int = 0):
    """The batches of one split: random crops for ``train``, whole clips otherwise.

    The command line's copy of notebook 02's ``CropSequence`` (a test checks that they agree).

    Args:
        data: from :func:`load_tagger_data`.
        subset: ``"train"``, ``"valid"`` or ``"test"``.
        variant: which scale's crop length and batch size to use.
        seed: the shuffling and cropping seed (training only).

    Returns:
        A :class:`course_utils.training.LogMelSequence`.
    """
    from course_utils import training

    cfg = CONFIGS[variant]
    train = subset == "train"
    return training.LogMelSequence(data.x, data.y, batch_size=cfg["batch_size"], indices=data.split[subset],
                                   crop_frames=cfg["crop_frames"] if train else None, training=train, seed=seed)


def sidecar_path(model_path) -> Path:
    """The JSON file that describes a saved model: ``<model>.json``."""
    return Path(model_path).with_suffix(".json")


def save_tagger(model, path, info: dict) -> Path:
    """Save a tagger and its description (tags, crop length, scores) atomically.

    Args:
        model: the Keras model.
        path: a ``.keras`` path.
        info: JSON-serialisable description; must hold ``tags``.

    Returns:
        The model's path.
    """
    models.save_model(model, path)
    cache.atomic_write_text(sidecar_path(path), json.dumps(info, indent=2) + "\n")
    return Path(path)


def train_course_tagger(variant: str = "mini", *, epochs: int | None = None, seed: int = 0, save_to=None,
                        progress: bool = True):
    """Train the compact convnet on MagnaTagAtune and save it with its test scores.

    Args:
        variant: ``"mini"`` or ``"full"``.
        epochs: override the scale's number of epochs.
        seed: the seed of weights, shuffling and crops.
        save_to: the model path (default :func:`course_utils.models.default_model_path`).
        progress: show a progress bar while the spectrogram cache is built.

    Returns:
        ``(model, history, info)``: the trained model, the per-epoch history, and the saved
        description with ``test_roc_auc`` and ``test_pr_auc``.
    """
    from course_utils import training

    cfg = CONFIGS[variant]
    data = load_tagger_data(variant, progress=progress)
    models.set_seed(seed)
    model = models.compact_convnet(n_mels=data.x.shape[1], n_frames=cfg["crop_frames"], n_tags=len(data.tags))
    history = training.train_tagger(model, batches(data, "train", variant, seed=seed), batches(data, "valid", variant),
                                    epochs=epochs or cfg["epochs"], patience=cfg["patience"],
                                    learning_rate=cfg["learning_rate"])
    test = evaluate_tagger(model, data, variant)
    info = {"tags": data.tags, "variant": variant, "crop_frames": cfg["crop_frames"], "sr": audio.SR,
            "epochs_run": len(history.get("loss", [])), "test_roc_auc": round(test["roc_auc"], 4),
            "test_pr_auc": round(test["pr_auc"], 4)}
    save_tagger(model, save_to or models.default_model_path(variant), info)
    return model, history, info


def evaluate_tagger(model, data: TaggerData, variant: str = "mini", subset: str = "test") -> dict:
    """Macro ROC-AUC and PR-AUC of a tagger on a split, plus the per-tag table.

    The command line's copy of notebook 02's evaluation (``predict_clips`` and ``tag_scores``).

    Args:
        model: a trained tagger.
        data: from :func:`load_tagger_data`.
        variant: the scale (batch size).
        subset: the split to score.

    Returns:
        ``{"roc_auc", "pr_auc", "per_tag": DataFrame, "scores": (n, 50) array}``.
    """
    from course_utils import training

    scores = training.predict_clips(model, batches(data, subset, variant), batch_size=CONFIGS[variant]["batch_size"])
    truth = data.y[data.split[subset]]
    macro = metrics.macro_scores(truth, scores)
    return {"roc_auc": macro["roc_auc"], "pr_auc": macro["pr_auc"],
            "per_tag": metrics.per_tag_scores(truth, scores, data.tags), "scores": scores}


def load_course_tagger(variant: str = "mini", path=None, *, train_if_missing: bool = True):
    """The course-trained tagger, training it first if it was never trained.

    Notebook 03.

    Args:
        variant: ``"mini"`` or ``"full"``.
        path: an explicit model path.
        train_if_missing: train (and save) it when the file is missing.

    Returns:
        ``(model, info)`` where ``info`` is the model's JSON description.

    Raises:
        CourseError: the model is missing and ``train_if_missing`` is off.
    """
    path = Path(path) if path else models.default_model_path(variant)
    if not path.is_file():
        if not train_if_missing:
            raise CourseError(f"{path}: no trained model; run `course-utils train-tagger --variant {variant}` first")
        model, _, info = train_course_tagger(variant, save_to=path, progress=False)
        return model, info
    model = models.load_model(path, compile=False)
    side = sidecar_path(path)
    if side.is_file():
        info = json.loads(side.read_text())
    else:  # a model saved without its description: assume MagnaTagAtune's top 50
        from course_utils.datasets.magnatagatune import TOP50_TAGS

        info = {"tags": list(TOP50_TAGS), "crop_frames": int(model.input_shape[2])}
    return model, info
