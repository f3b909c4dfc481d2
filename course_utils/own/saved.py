"""Saving and loading a fitted audio classifier, checked against its feature extractor, without code.

A classifier is only as good as the features it was trained on: the same MFCC summary, the same
network with the same weights and layers. :func:`save_classifier` writes **one file**,
``genre.skops``: the fitted pipeline in the `skops <https://skops.readthedocs.io>`_ format (the
scikit-learn project's secure format, a zip archive of JSON and NumPy arrays, **no pickle**) and,
inside the same archive, a description (``course_utils.json``): the feature extractor's identity
(``ClipFeatures.identity_``: kind, variant, layers, package and code versions, the weights'
SHA-256), the classes, the versions of scikit-learn and course_utils, and the SHA-256 of the model
members as they were written. The file is written under a temporary name and renamed: a crash, a
full disk or two programs saving at once never leave a model with another model's description.

:func:`load_classifier` reads the description first and refuses, before building anything, a file
whose extractor differs from the one this installation would compute (naming each field that
differs and what to do), or a file that is not the one described. It then **refuses every type
outside a trusted list** (classes of scikit-learn, NumPy and course_utils), naming each, unless
the caller trusts the file (``trust=True``, ``course-utils predict --trust``).

**Old ``.joblib`` files are code.** The course saved classifiers with joblib (a pickle, with a
``genre.joblib.json`` sidecar) before; loading a pickle runs whatever its author put in it. Such
a file is loaded only with ``trust=True`` (``--trust``), with a warning; fit it again to get a
``.skops`` file.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import warnings
import zipfile
from pathlib import Path

from course_utils.core.errors import CourseError
from course_utils.core.files import sha256_file

#: The suffix of a saved classifier.
SUFFIX = ".skops"
#: The suffix of the old, pickled format (loaded only when trusted).
LEGACY_SUFFIX = ".joblib"
#: The archive member that holds the description.
DESCRIPTION = "course_utils.json"
#: The description's format version (1: the old .joblib sidecar).
FORMAT = 2
#: Packages whose classes a saved classifier may hold without ``trust``.
TRUSTED_PACKAGES = ("sklearn", "numpy", "course_utils")
#: What the CLI's help and the errors say about loading classifiers.
TRUST_NOTE = ("a .skops classifier holds no code: loading it refuses every type outside scikit-learn, NumPy and "
              "course_utils unless you pass --trust; an old .joblib file is code (a pickle) and is loaded only with "
              "--trust: load only classifiers you saved yourself or got from someone you trust")
#: The description's keys and their types (for a clear error on an edited file).
_FIELDS = {"identity": dict, "features": dict, "classes": list}


class UntrustedModelError(CourseError):
    """A saved classifier holds types outside the trusted list, or is a pickle; ``types`` names them."""

    def __init__(self, message: str, types=()):
        super().__init__(message)
        self.types = list(types)


class SavedClassifierWarning(UserWarning):
    """A saved classifier was loaded with a caveat (a pickle trusted by hand, another scikit-learn).

    ``course-utils`` prints these as one ``warning:`` line each.
    """


def sidecar_path(path) -> Path:
    """The JSON file beside an old ``.joblib`` classifier: ``genre.joblib`` -> ``genre.joblib.json``."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def _members_sha256(members: dict) -> str:
    """One SHA-256 of an archive's members (names and bytes), the description left out."""
    digest = hashlib.sha256()
    for name in sorted(members):
        if name != DESCRIPTION:
            digest.update(name.encode() + b"\0" + hashlib.sha256(members[name]).digest())
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


def is_course_classifier(path) -> bool:
    """Whether ``path`` is a classifier file of the course: a ``.skops`` archive with its description,
    or an old ``.joblib`` with its ``.joblib.json`` sidecar (nothing is loaded)."""
    path = Path(path)
    if not path.is_file():
        return False
    try:
        with zipfile.ZipFile(path) as z:
            return DESCRIPTION in z.namelist()
    except (zipfile.BadZipFile, OSError):
        pass
    return path.suffix == LEGACY_SUFFIX and sidecar_path(path).is_file()


def check_output(path, *, reading=None, what: str = "the classifier file") -> Path:
    """Check where a classifier will be saved, before anything is computed.

    Args:
        path: the file to write; its name must end in ``.skops``.
        reading: the folder (or CSV) the classifier is fitted on: ``path`` may not lie inside
            that folder (it would be read as data next time).
        what: how the messages name ``path`` (``"--out"`` in the CLI).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        ValueError: (a :class:`course_utils.core.errors.ParameterError`) the name does not end in
            ``.skops``.
        CourseError: ``path`` is a folder, its parent is a file, it lies inside the folder being
            read, or it exists and is not a classifier of the course (nothing is overwritten).
    """
    from course_utils.core.errors import ParameterError

    path = Path(path).expanduser()
    if path.is_dir():
        raise CourseError(f"{what} {path}: is a folder; give a file name, e.g. {path / 'genre.skops'}")
    if path.suffix != SUFFIX:
        raise ParameterError(f"{what} {path}: give a file name ending in {SUFFIX}, e.g. "
                             f"{path.with_suffix(SUFFIX).name if path.stem else 'genre.skops'}"
                             " (the course saves classifiers in the skops format, which holds no code)")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise CourseError(f"{what} {path}: {parent} is a file, not a folder; choose another place")
            break
    if path.exists() and not is_course_classifier(path):
        raise CourseError(f"{what} {path}: exists and is not a classifier saved by course_utils; it was left "
                          "untouched: choose another name, or move the file away")
    if reading is not None:
        data = Path(reading).expanduser().resolve()
        folder = data if data.is_dir() else None
        target = path.resolve()
        if folder is not None and (target == folder or folder in target.parents):
            raise CourseError(f"{what} {path}: is inside the folder being read ({folder}), where the next fit would "
                              "meet it; save it outside, e.g. beside that folder")
        if target == data:
            raise CourseError(f"{what} {path}: is the table being read; choose another name")
    return path


def save_classifier(model, path, *, report=None) -> Path:
    """Save a fitted audio classifier and its extractor's identity into one ``.skops`` file.

    Args:
        model: a fitted ``Pipeline`` whose first step is a ``ClipFeatures``.
        path: the file to write, e.g. ``genre.skops`` (its folder is created). An existing file
            is replaced only if it is a classifier of the course.
        report: a :class:`course_utils.own.classifiers.FitReport` to record (its accuracy and
            choice), or ``None``.

    Returns:
        The path. The file is written under a temporary name and renamed: a crash, a full disk or
        a concurrent save never leave half a file or a model with another's description.

    Raises:
        CourseError: ``model`` is not such a pipeline, or ``path`` is refused by
            :func:`check_output`.
    """
    import sklearn
    import skops.io as sio

    from course_utils import __version__
    from course_utils.core import files

    features = _features_of(model)
    path = check_output(path)
    body = sio.dumps(model)
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        members = {name: z.read(name) for name in z.namelist()}
    meta = {"format": FORMAT, "identity": features.identity_, "features": _params(features),
            "classes": [str(c) for c in getattr(model, "classes_", [])], "sklearn": sklearn.__version__,
            "course_utils": __version__, "model_sha256": _members_sha256(members), "note": TRUST_NOTE}
    if report is not None:
        meta["report"] = {"accuracy": report.accuracy, "interval": list(report.interval), "chosen": report.chosen,
                          "n_clips": report.n_clips, "outer_folds": report.outer_folds,
                          "inner_folds": report.inner_folds}
    buffer = io.BytesIO(body)
    with zipfile.ZipFile(buffer, "a") as z:
        z.writestr(DESCRIPTION, json.dumps(meta, indent=2, default=str))
    files.atomic_write_bytes(path, buffer.getvalue())
    return path


def _params(features) -> dict:
    """The extractor's constructor arguments that decide its features (JSON-safe)."""
    return {k: v for k, v in features.get_params().items() if isinstance(v, (str, int, float, bool, type(None)))}


def _check_description(meta, where: Path) -> dict:
    """The description, or a :class:`CourseError` naming the file and the field that is wrong."""
    from course_utils.features.clip_features import ClipFeatures

    again = "fit the classifier again (course-utils fit DATA --out NAME.skops)"
    if not isinstance(meta, dict):
        raise CourseError(f"{where}: its description is a {type(meta).__name__}, not a record; {again}")
    for key, kind in _FIELDS.items():
        if key not in meta:
            raise CourseError(f"{where}: its description has no '{key}'; {again}")
        if not isinstance(meta[key], kind):
            raise CourseError(f"{where}: its description's '{key}' is a {type(meta[key]).__name__}, not a "
                              f"{kind.__name__}; {again}")
    known = set(ClipFeatures().get_params())
    bogus = sorted(set(meta["features"]) - known)
    if bogus:
        raise CourseError(f"{where}: its description's features name unknown parameter(s) {bogus} (known: "
                          f"{', '.join(sorted(known))}); {again}")
    if not all(isinstance(v, (str, int, float, bool, type(None))) for v in meta["features"].values()):
        raise CourseError(f"{where}: its description's features hold values that are not plain settings; {again}")
    if not all(isinstance(k, str) for k in meta["identity"]):
        raise CourseError(f"{where}: its description's identity is damaged; {again}")
    return meta


def read_description(path) -> dict:
    """The description saved with a classifier (nothing is built or unpickled).

    Args:
        path: a ``.skops`` file of :func:`save_classifier`, or an old ``.joblib`` (its sidecar is read).

    Returns:
        Its identity, features, classes, versions and checksum.

    Raises:
        CourseError: the file or its description is missing, damaged or edited.
    """
    path = Path(path)
    if not path.is_file():
        raise CourseError(f"{path}: no such classifier file (save one with `course-utils fit DATA --out "
                          f"{path.with_suffix(SUFFIX).name}`)")
    if zipfile.is_zipfile(path) or path.suffix == SUFFIX:
        meta, _ = _read_archive(path, path.read_bytes())
        return meta
    return read_sidecar(path)


def read_sidecar(path) -> dict:
    """The JSON description saved beside an old ``.joblib`` classifier (nothing is unpickled).

    Raises:
        CourseError: the classifier or its JSON file is missing, unreadable or edited.
    """
    path = Path(path)
    if not path.is_file():
        raise CourseError(f"{path}: no such classifier file (save one with `course-utils fit DATA --out "
                          f"{path.with_suffix(SUFFIX).name}`)")
    meta_path = sidecar_path(path)
    try:
        meta = json.loads(meta_path.read_text())
    except FileNotFoundError:
        raise CourseError(f"{path}: its description {meta_path.name} is missing, so its feature extractor cannot be "
                          "checked; fit it again with course-utils fit") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CourseError(f"{meta_path}: not a readable description ({exc}); fit the classifier again") from None
    return _check_description(meta, meta_path)


def _read_archive(path: Path, data: bytes) -> tuple[dict, dict]:
    """``(description, members)`` of a ``.skops`` classifier's bytes, each member read (and CRC-checked)."""
    damaged = (f"{path}: damaged or truncated (not a readable skops archive); fit the classifier again "
               f"(course-utils fit DATA --out {path.name})")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = z.namelist()
            if DESCRIPTION not in names:
                raise CourseError(f"{path}: a skops file, but not a classifier saved by course_utils (no "
                                  f"{DESCRIPTION}); fit one with course-utils fit DATA --out {path.name}")
            members = {name: z.read(name) for name in names}
        meta = json.loads(members[DESCRIPTION])
    except CourseError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, OSError, EOFError, ValueError, NotImplementedError):
        raise CourseError(damaged) from None
    except Exception as exc:  # noqa: BLE001  (zlib and friends raise their own kinds on damaged data)
        raise CourseError(f"{damaged} ({type(exc).__name__})") from None
    return _check_description(meta, path), members


def current_identity(meta: dict) -> dict:
    """The identity the installed course_utils gives the extractor a saved classifier describes.

    Args:
        meta: :func:`read_description`'s result.

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


def _check_identity(path: Path, meta: dict) -> None:
    differences = identity_differences(meta["identity"], current_identity(meta))
    if differences:
        raise CourseError(
            f"{path}: saved with another feature extractor than this installation computes "
            f"({'; '.join(differences)}). Its classifier expects the saved features, so its predictions would "
            f"be meaningless: fit it again on your data with this installation (course-utils fit DATA --features "
            f"{meta['features'].get('model')} --out {path.with_suffix(SUFFIX).name}), or install the course_utils "
            f"version it was saved with ({meta.get('course_utils')}) and its model weights")


def _trusted_type(name: str) -> bool:
    """A class (not a function) of a trusted package, e.g. ``sklearn.svm._classes.SVC``."""
    module, _, attr = name.rpartition(".")
    if module.split(".")[0] not in TRUSTED_PACKAGES or not attr:
        return False
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return False
    return isinstance(obj, type)


def _missing_type(name: str) -> bool:
    """A name in a trusted package that this installation does not have (a module that moved)."""
    module, _, attr = name.rpartition(".")
    if module.split(".")[0] not in TRUSTED_PACKAGES or not attr:
        return False
    try:
        getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return True
    return False


def _sklearn_version_note(path: Path, meta: dict):
    """One warning when the file was saved with another scikit-learn (instead of one per estimator)."""
    import sklearn

    saved = meta.get("sklearn")
    if saved and saved != sklearn.__version__:
        warnings.warn(f"{path}: saved with scikit-learn {saved}, this installation has {sklearn.__version__}; its "
                      "predictions may differ or fail. Fit it again with this installation (course-utils fit DATA "
                      f"--out {path.with_suffix(SUFFIX).name}), or install scikit-learn=={saved}",
                      SavedClassifierWarning, stacklevel=3)
        return True
    return False


def load_classifier(path, *, check: bool = True, trust: bool = False):
    """Load a classifier saved by :func:`save_classifier`, after checking its extractor and its types.

    The description is read and compared first; the model is built only when its checksum and
    extractor identity agree and every type it holds is a class of scikit-learn, NumPy or
    course_utils. An old ``.joblib`` (a pickle: code) is loaded only with ``trust=True``.

    Args:
        path: the ``.skops`` file (or an old ``.joblib``).
        check: compare the saved extractor's identity with the current one (``False`` skips it,
            e.g. to inspect an old file; its predictions may then be meaningless).
        trust: build types outside the trusted list, and unpickle an old ``.joblib``: only for a
            file you made yourself or got from someone you trust.

    Returns:
        The fitted pipeline: ``model.predict([path])``, ``model.predict_proba``, ``model.classes_``.

    Raises:
        UntrustedModelError: untrusted types (named) or a pickle, without ``trust``.
        CourseError: the file or its description is missing, damaged or edited, the file is not the
            one described (checksum), or the extractor's identity differs (each field named).
    """
    path = Path(path)
    if not path.is_file():
        raise CourseError(f"{path}: no such classifier file (save one with `course-utils fit DATA --out "
                          f"{path.with_suffix(SUFFIX).name}`)")
    data = path.read_bytes()  # read once: what is checked is what is built
    if data[:2] == b"PK" or path.suffix == SUFFIX:
        return _load_skops(path, data, check, trust)
    return _load_legacy(path, check, trust)


def _load_skops(path: Path, data: bytes, check: bool, trust: bool):
    import skops.io as sio
    from sklearn.exceptions import InconsistentVersionWarning

    meta, members = _read_archive(path, data)
    if meta.get("model_sha256") != _members_sha256(members):
        raise CourseError(f"{path}: the model is not the one its description was written for (checksum differs); "
                          "fit and save the classifier again")
    if check:
        _check_identity(path, meta)
    try:
        found = sio.get_untrusted_types(data=data)
    except Exception as exc:  # noqa: BLE001  (a damaged schema)
        raise CourseError(f"{path}: damaged (its skops schema does not read: {type(exc).__name__}); fit the "
                          "classifier again") from None
    missing = [t for t in found if _missing_type(t)]
    if missing:
        raise CourseError(f"{path}: saved by another version: its type(s) {', '.join(missing)} no longer exist in this "
                          f"installation; fit the classifier again (course-utils fit DATA --out {path.name})")
    untrusted = [t for t in found if not _trusted_type(t)]
    if untrusted and not trust:
        raise UntrustedModelError(
            f"{path}: holds type(s) outside scikit-learn, NumPy and course_utils: {', '.join(untrusted)}. Building "
            "them could run their code, so the file was not loaded. If you made this file yourself or trust its "
            "author, pass --trust (load_classifier(..., trust=True))", untrusted)
    other_version = _sklearn_version_note(path, meta)
    try:
        with warnings.catch_warnings():
            if other_version:
                warnings.simplefilter("ignore", InconsistentVersionWarning)
            model = sio.loads(data, trusted=found)
    except Exception as exc:  # noqa: BLE001  (a type that moved, a damaged array...)
        raise CourseError(f"{path}: cannot be built with this installation ({type(exc).__name__}: "
                          f"{str(exc)[:200]}); fit the classifier again") from None
    try:
        _features_of(model)
    except CourseError:
        raise CourseError(f"{path}: holds no classifier pipeline of the course; fit it again") from None
    return model


def _load_legacy(path: Path, check: bool, trust: bool):
    """An old ``.joblib`` with its JSON sidecar: a pickle, so only with ``trust``."""
    import joblib
    from sklearn.exceptions import InconsistentVersionWarning

    if not trust:
        raise UntrustedModelError(
            f"{path}: a .joblib classifier is a pickle, which runs whatever code its author put in it when it is "
            f"loaded; refused. Fit it again with course-utils fit DATA --out {path.with_suffix(SUFFIX).name} (the "
            "skops format holds no code), or, only if you made this file yourself, pass --trust "
            "(load_classifier(..., trust=True))", ["pickle"])
    warnings.warn(f"{path}: loading a pickle (.joblib) because you passed --trust: it can run any code; fit the "
                  f"classifier again to get a {SUFFIX} file, which holds none", SavedClassifierWarning, stacklevel=3)
    meta = read_sidecar(path)
    if check:
        if meta.get("sha256") != sha256_file(path):
            raise CourseError(f"{path}: the file is not the one its description {sidecar_path(path).name} was written "
                              "for (checksum differs); fit and save the classifier again")
        _check_identity(path, meta)
    other_version = _sklearn_version_note(path, meta)
    try:
        with warnings.catch_warnings():
            if other_version:
                warnings.simplefilter("ignore", InconsistentVersionWarning)
            model = joblib.load(path)
    except Exception as exc:  # noqa: BLE001  (a module that moved, a truncated pickle...)
        raise CourseError(f"{path}: cannot be loaded ({type(exc).__name__}: {str(exc)[:200]}); it was saved by "
                          f"another version or is damaged: fit the classifier again (--out "
                          f"{path.with_suffix(SUFFIX).name})") from None
    try:
        _features_of(model)
    except CourseError:
        raise CourseError(f"{path}: holds no classifier pipeline of the course; fit it again") from None
    return model


__all__ = ["save_classifier", "load_classifier", "read_description", "read_sidecar", "identity_differences",
           "current_identity", "sidecar_path", "check_output", "is_course_classifier",
           "UntrustedModelError", "SavedClassifierWarning", "TRUST_NOTE", "SUFFIX", "TRUSTED_PACKAGES"]
