"""Saving and loading a fitted audio classifier, checked against its feature extractor.

A classifier is only as good as the features it was trained on: the same MFCC summary, the same
network with the same weights and layers. :func:`save_classifier` writes the fitted pipeline
with joblib (``genre.joblib``) and, beside it, a small JSON file (``genre.joblib.json``) with
the feature extractor's identity (``ClipFeatures.identity_``: kind, variant, layers, package and
code versions, the weights' SHA-256), the classes, the versions of scikit-learn and
course_utils, and the joblib file's SHA-256. :func:`load_classifier` reads the JSON first and
refuses, before unpickling anything, a file whose extractor differs from the one this
installation would compute, naming each field that differs and what to do.

**A joblib file is code.** Loading it runs whatever its author put in it (it is a pickle), with
your permissions. Load only classifiers that you saved yourself or that come from someone you
trust, never one downloaded from an unknown source; the checks here catch mistakes (a model
saved with other features, a file replaced), not attacks. Notebook 06.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from course_utils.core.errors import CourseError

#: What :func:`load_classifier` says about joblib files in its errors, and the CLI in its help.
TRUST_NOTE = "a .joblib file is code (a pickle): load only classifiers you saved yourself or got from someone you trust"
#: The sidecar's format version.
FORMAT = 1


def sidecar_path(path) -> Path:
    """The JSON file beside a saved classifier: ``genre.joblib`` -> ``genre.joblib.json``."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _features_of(model):
    """The pipeline's first step, which must be a fitted ``ClipFeatures``."""
    from course_utils.features.clip_features import ClipFeatures

    steps = getattr(model, "steps", None)
    first = steps[0][1] if steps else None
    if not isinstance(first, ClipFeatures) or not hasattr(first, "identity_"):
        raise CourseError("save_classifier takes a fitted Pipeline whose first step is a fitted ClipFeatures "
                          "(what classifiers.fit_classifier returns)")
    return first


def save_classifier(model, path, *, report=None) -> Path:
    """Save a fitted audio classifier with its feature extractor's identity beside it.

    Args:
        model: a fitted ``Pipeline`` whose first step is a ``ClipFeatures``.
        path: the file to write, e.g. ``genre.joblib`` (its folder is created).
        report: a :class:`course_utils.own.classifiers.FitReport` to record (its accuracy and
            choice), or ``None``.

    Returns:
        The path. Both files are written atomically (a crash never leaves half a file).
    """
    import joblib
    import sklearn

    from course_utils import __version__
    from course_utils.core import files as cache

    features = _features_of(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with cache.atomic_write(path) as tmp:
        joblib.dump(model, tmp)
    meta = {"format": FORMAT, "identity": features.identity_, "features": _params(features),
            "classes": [str(c) for c in getattr(model, "classes_", [])], "sklearn": sklearn.__version__,
            "course_utils": __version__, "sha256": _sha256(path), "note": TRUST_NOTE}
    if report is not None:
        meta["report"] = {"accuracy": report.accuracy, "interval": list(report.interval), "chosen": report.chosen,
                          "n_clips": report.n_clips, "outer_folds": report.outer_folds}
    with cache.atomic_write(sidecar_path(path)) as tmp:
        Path(tmp).write_text(json.dumps(meta, indent=2, default=str))
    return path


def _params(features) -> dict:
    """The extractor's constructor arguments that decide its features (JSON-safe)."""
    return {k: v for k, v in features.get_params().items() if isinstance(v, (str, int, float, bool, type(None)))}


def read_sidecar(path) -> dict:
    """The JSON description saved beside a classifier (nothing is unpickled).

    Args:
        path: the ``.joblib`` file.

    Returns:
        Its identity, classes, versions and checksum.

    Raises:
        CourseError: the classifier or its JSON file is missing or unreadable.
    """
    path = Path(path)
    if not path.is_file():
        raise CourseError(f"{path}: no such classifier file (save one with `course-utils fit DATA --out {path.name}`)")
    meta_path = sidecar_path(path)
    try:
        meta = json.loads(meta_path.read_text())
    except FileNotFoundError:
        raise CourseError(f"{path}: its description {meta_path.name} is missing, so its feature extractor cannot be "
                          "checked; fit it again with course-utils fit (which writes both files)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CourseError(f"{meta_path}: not a readable description ({exc}); fit the classifier again") from None
    if not isinstance(meta, dict) or "identity" not in meta:
        raise CourseError(f"{meta_path}: holds no feature identity; fit the classifier again")
    return meta


def current_identity(meta: dict) -> dict:
    """The identity the installed course_utils gives the extractor a saved classifier describes.

    Args:
        meta: :func:`read_sidecar`'s result.

    Returns:
        ``ClipFeatures(**meta["features"]).fit().identity_`` (loads the model, hashes its weights).
    """
    from course_utils.features.clip_features import ClipFeatures

    return ClipFeatures(**meta["features"]).fit().identity_


def identity_differences(saved: dict, current: dict) -> list[str]:
    """The fields in which two extractor identities differ, as ``"field: saved X, now Y"``.

    Args:
        saved: the identity stored with a classifier.
        current: the identity computed now.

    Returns:
        One line per differing field (empty when they agree).
    """
    keys = sorted(set(saved) | set(current))
    return [f"{k}: saved {saved.get(k)!r}, now {current.get(k)!r}" for k in keys if saved.get(k) != current.get(k)]


def load_classifier(path, *, check: bool = True):
    """Load a classifier saved by :func:`save_classifier`, after checking its feature extractor.

    The JSON description is read and compared first; the joblib file is unpickled only when its
    checksum and extractor identity agree. **A joblib file is code: load only your own** (or
    one from someone you trust).

    Args:
        path: the ``.joblib`` file.
        check: compare the saved extractor's identity with the current one (``False`` skips it,
            e.g. to inspect an old file; its predictions may then be meaningless).

    Returns:
        The fitted pipeline: ``model.predict([path])``, ``model.predict_proba``, ``model.classes_``.

    Raises:
        CourseError: the file or its description is missing, the file is not the one described
            (checksum), or the extractor's identity differs (each differing field is named,
            with what to do).
    """
    import joblib

    path = Path(path)
    meta = read_sidecar(path)
    if check:
        if meta.get("sha256") != _sha256(path):
            raise CourseError(f"{path}: the file is not the one its description {sidecar_path(path).name} was written "
                              "for (checksum differs); fit and save the classifier again")
        differences = identity_differences(meta["identity"], current_identity(meta))
        if differences:
            raise CourseError(
                f"{path}: saved with another feature extractor than this installation computes "
                f"({'; '.join(differences)}). Its classifier expects the saved features, so its predictions would "
                f"be meaningless: fit it again on your data with this installation (course-utils fit DATA --features "
                f"{meta['features'].get('model')} --out {path.name}), or install the course_utils version it was saved "
                f"with ({meta.get('course_utils')}) and its model weights")
    model = joblib.load(path)
    _features_of(model)
    return model


__all__ = ["save_classifier", "load_classifier", "read_sidecar", "identity_differences", "current_identity",
           "sidecar_path", "TRUST_NOTE"]
