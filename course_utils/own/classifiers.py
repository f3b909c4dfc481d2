"""A zoo of scikit-learn classifiers on clip features, compared and fitted with nested cross-validation.

Six classifiers, each a pipeline ``StandardScaler -> [PCA] -> classifier`` with a small grid:
logistic regression, k nearest neighbours, a linear SVM, an RBF SVM, a small multilayer
perceptron and a random forest, each with or without PCA (keeping 95% of the variance).

- :func:`compare_classifiers` scores every one on a feature matrix with **nested**
  cross-validation (the grid's setting is chosen on each outer training part only), giving one
  table with the accuracy, its spread over the folds, a bootstrap interval and fit times;
- :func:`fit_classifier` is what ``course-utils fit`` runs: it extracts a dataset table's
  features once, chooses among the classifiers by nested cross-validation (an honest accuracy
  with an interval, a confusion matrix), refits the choice on all clips and returns
  ``Pipeline([("features", ClipFeatures), ("classifier", chosen)])``, which predicts audio paths:
  ``model.predict(["song.mp3"])``.

Save and load such a model with :mod:`course_utils.own.saved`.
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

from course_utils.core.errors import CourseError, DatasetError
from course_utils.core.validate import check_range
from course_utils.stats import bootstrap_interval
from course_utils.tasks.splits import outer_splits, stratified_kfold

#: The zoo's classifiers, in the order of the comparison table.
NAMES = ("logreg", "knn", "linear_svm", "rbf_svm", "mlp", "random_forest")
#: Their readable names.
TITLES = {"logreg": "logistic regression", "knn": "k nearest neighbours", "linear_svm": "linear SVM",
          "rbf_svm": "RBF SVM", "mlp": "MLP (one hidden layer)", "random_forest": "random forest"}
#: What :func:`fit_classifier` chooses among by default: the four that fit in milliseconds.
DEFAULT_CHOICES = ("logreg", "knn", "linear_svm", "rbf_svm")
#: The share of the variance that the PCA variants keep.
PCA_VARIANCE = 0.95


def make_classifier(name: str, seed: int = 0):
    """One of the zoo's classifiers, unfitted, and its small grid.

    Args:
        name: one of :data:`NAMES`.
        seed: the random state of the MLP and the forest.

    Returns:
        ``(estimator, grid)``; the grid's keys are the estimator's parameter names.

    Raises:
        CourseError: unknown name (the message lists the known ones).
    """
    if name == "logreg":
        return LogisticRegression(max_iter=2000), {"C": [0.1, 1.0, 10.0]}
    if name == "knn":
        return KNeighborsClassifier(), {"n_neighbors": [1, 5, 11], "weights": ["distance"]}
    if name == "linear_svm":
        return SVC(kernel="linear"), {"C": [0.01, 0.1, 1.0]}
    if name == "rbf_svm":
        return SVC(kernel="rbf"), {"C": [1.0, 10.0, 100.0], "gamma": ["scale"]}
    if name == "mlp":
        return (MLPClassifier(hidden_layer_sizes=(32,), max_iter=200, random_state=seed),
                {"alpha": [1e-3, 1.0]})
    if name == "random_forest":
        return (RandomForestClassifier(n_estimators=50, random_state=seed, n_jobs=1),
                {"max_features": ["sqrt", 0.3]})
    raise CourseError(f"unknown classifier {name!r}; choose from {', '.join(NAMES)}")


def zoo_pipeline(name: str, *, pca: bool = False, seed: int = 0) -> tuple[Pipeline, dict]:
    """A zoo entry as a pipeline ``scale -> pca -> clf`` and its grid.

    Args:
        name: one of :data:`NAMES`.
        pca: whether to reduce the standardised features with PCA (95% of the variance).
        seed: as for :func:`make_classifier`.

    Returns:
        ``(pipeline, grid)`` with the grid's keys prefixed ``clf__``.
    """
    estimator, grid = make_classifier(name, seed)
    reducer = PCA(n_components=PCA_VARIANCE, svd_solver="full") if pca else "passthrough"
    pipe = Pipeline([("scale", StandardScaler()), ("pca", reducer), ("clf", estimator)])
    return pipe, {f"clf__{k}": v for k, v in grid.items()}


def _feasible(grid, n_fit: int):
    """The grid without settings that cannot be fitted on ``n_fit`` clips (k-NN with k > n_fit)."""
    grids = grid if isinstance(grid, list) else [grid]
    out = []
    for g in grids:
        g = dict(g)
        for key in [k for k in g if k.endswith("n_neighbors")]:
            g[key] = [k for k in g[key] if k <= n_fit] or [min(g[key] + [max(n_fit, 1)])]
        out.append(g)
    return out if isinstance(grid, list) else out[0]


def inner_folds_used(y, inner: int, groups=None) -> int:
    """The inner folds a search on ``y`` uses: ``inner``, lowered to the smallest class's clips
    (and the number of groups); below 2, no inner CV (the grid's first setting is fitted)."""
    k = min(inner, int(pd.Series(np.asarray(y)).value_counts().min()))
    if groups is not None:
        k = min(k, len(set(np.asarray(groups))))
    return k if k >= 2 else 0


def _search(pipe, grid, X, y, groups, inner: int, seed: int):
    """Choose the grid's setting by ``inner``-fold CV on ``(X, y)`` and refit it; a fitted pipeline
    and the chosen parameters. With too few clips per class for an inner CV, the grid's first
    setting is fitted as it is."""
    k = inner_folds_used(y, inner, groups)
    grid = _feasible(grid, int(len(y) * (k - 1) / max(k, 1)) if k >= 2 else len(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # capped iterations on tiny grids: scored as they are
        if k < 2:
            first = grid[0] if isinstance(grid, list) else grid
            params = {key: values[0] for key, values in first.items()}
            return clone(pipe).set_params(**params).fit(X, y), params
        cv = stratified_kfold(k, shuffle=True, seed=seed, grouped=groups is not None)
        search = GridSearchCV(pipe, grid, cv=cv, n_jobs=None, error_score="raise")
        search.fit(X, y, groups=groups)
    return search.best_estimator_, search.best_params_


@dataclass
class NestedResult:
    """What a nested cross-validation of one pipeline found.

    Attributes:
        predictions: the out-of-fold prediction of every clip.
        fold_scores: the accuracy of each outer fold.
        chosen: the parameters chosen in each outer fold.
        fit_seconds: the seconds of each outer fold's search and refit.
    """

    predictions: np.ndarray
    fold_scores: list = field(default_factory=list)
    chosen: list = field(default_factory=list)
    fit_seconds: list = field(default_factory=list)


def nested_cv(pipe, grid, X, y, splits, *, groups=None, inner_folds: int = 3, seed: int = 0) -> NestedResult:
    """Nested cross-validation: in each outer fold, choose the setting by an inner CV on the
    training part, refit, and predict the held-out part.

    Args:
        pipe: an unfitted pipeline.
        grid: its parameter grid (a dict or a list of dicts).
        X: features, shape ``(n_clips, n_features)``.
        y: labels.
        splits: the outer folds (:func:`course_utils.tasks.splits.outer_splits`).
        groups: the clips' groups (kept apart in the inner folds too), or ``None``.
        inner_folds: folds of the inner CV.
        seed: the inner shuffle's seed.

    Returns:
        A :class:`NestedResult`.
    """
    X, y = np.asarray(X), np.asarray(y)
    result = NestedResult(predictions=np.empty(len(y), dtype=y.dtype))
    with threadpool_limits(1):  # small matrices: one BLAS thread is several times faster than many
        for train, test in splits:
            _outer_fold(pipe, grid, X, y, train, test, groups, inner_folds, seed, result)
    return result


def _outer_fold(pipe, grid, X, y, train, test, groups, inner_folds, seed, result: NestedResult) -> None:
    """One outer fold of :func:`nested_cv`: search on ``train``, predict ``test``, record."""
    start = time.perf_counter()
    g = None if groups is None else np.asarray(groups)[train]
    fitted, params = _search(pipe, grid, X[train], y[train], g, inner_folds, seed)
    result.fit_seconds.append(time.perf_counter() - start)
    result.predictions[test] = fitted.predict(X[test])
    result.fold_scores.append(float(np.mean(result.predictions[test] == y[test])))
    result.chosen.append(params)


def _readable(params: dict) -> str:
    """``{'clf__C': 1.0}`` as ``C=1``; a chosen estimator by its zoo title."""
    parts = []
    for key, value in params.items():
        if key == "clf":
            parts.insert(0, TITLES.get(zoo_name(value), type(value).__name__))
        elif key == "pca":
            parts.append("PCA" if value != "passthrough" else "no PCA")
        else:
            parts.append(f"{key.split('__')[-1]}={value:g}" if isinstance(value, float) else f"{key.split('__')[-1]}={value}")
    return ", ".join(parts)


def zoo_name(estimator) -> str:
    """The zoo name of an estimator (``"rbf_svm"``...), or its class name."""
    kinds = {LogisticRegression: "logreg", KNeighborsClassifier: "knn", MLPClassifier: "mlp",
             RandomForestClassifier: "random_forest"}
    if isinstance(estimator, SVC):
        return "linear_svm" if estimator.kernel == "linear" else "rbf_svm"
    return kinds.get(type(estimator), type(estimator).__name__)


def compare_classifiers(X, y, *, names=NAMES, pca=(False, True), outer_folds: int = 5, inner_folds: int = 3,
                        folds=None, groups=None, seed: int = 0, progress: bool = False) -> pd.DataFrame:
    """Compare the zoo on one feature matrix, with nested cross-validation.

    Args:
        X: features, shape ``(n_clips, n_features)``.
        y: class labels.
        names: classifiers of :data:`NAMES`.
        pca: for each classifier, which of without (``False``) and with (``True``) PCA to run.
        outer_folds: outer folds (stratified, shuffled with ``seed``; at most the smallest class).
        inner_folds: inner folds that choose each grid's setting.
        folds: predefined outer folds (a table's ``fold`` column) instead.
        groups: groups (e.g. artists) that never straddle folds.
        seed: the folds' and bootstrap's seed.
        progress: print one line per classifier.

    Returns:
        One row per classifier (index: its title, with "+ PCA"): ``accuracy`` (pooled out of fold),
        ``fold_std`` (standard deviation over the outer folds), ``ci_low`` and ``ci_high`` (95%
        bootstrap interval), ``fit_s`` (mean seconds of one outer fold's grid search and refit),
        ``chosen`` (the most frequent setting over the folds) and ``name``, ``pca``.
    """
    check_range("inner_folds", inner_folds, low=2, integer=True)
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    splits = outer_splits(y, folds=folds, groups=groups, n_splits=outer_folds, seed=seed)
    rows = []
    for name in names:
        for reduce in pca:
            pipe, grid = zoo_pipeline(name, pca=reduce, seed=seed)
            res = nested_cv(pipe, grid, X, y, splits, groups=groups, inner_folds=inner_folds, seed=seed)
            low, high = bootstrap_interval(res.predictions == y, seed=seed)
            chosen = Counter(_readable(p) for p in res.chosen).most_common(1)[0][0]
            rows.append({"classifier": TITLES[name] + (" + PCA" if reduce else ""), "name": name, "pca": bool(reduce),
                         "accuracy": float(np.mean(res.predictions == y)), "fold_std": float(np.std(res.fold_scores)),
                         "ci_low": low, "ci_high": high, "fit_s": float(np.mean(res.fit_seconds)), "chosen": chosen})
            if progress:
                print(f"{rows[-1]['classifier']}: {rows[-1]['accuracy']:.3f}")
    table = pd.DataFrame(rows).set_index("classifier")
    table.attrs.update(n_clips=len(y), n_features=X.shape[1], outer_folds=len(splits), inner_folds=inner_folds)
    return table


# ---------------------------------------------------------------------------------------------
# From a dataset table of audio to a fitted pipeline that predicts files.


@dataclass
class FitReport:
    """What :func:`fit_classifier` measured and chose.

    Attributes:
        accuracy: the nested cross-validated accuracy (pooled out-of-fold predictions).
        fold_std: its standard deviation over the outer folds.
        interval: its 95% bootstrap interval ``(low, high)``.
        outer_folds: the number of outer folds; ``inner_folds``: of the inner ones that chose the
            saved model's setting on all clips (the requested number, lowered to what the clips
            allow; 0: too few clips for an inner CV, the grid's first setting); ``fold_inner``: the
            inner folds used in each outer fold's training part.
        confusion: the pooled confusion matrix (rows: true class, columns: predicted).
        chosen: the setting chosen on all clips (the saved model's), as readable text.
        chosen_params: the same as parameters of the classifier pipeline.
        fold_choices: the setting each outer fold chose (their spread shows how stable the choice is).
        n_clips: clips used; ``dropped``: the errors of clips whose features could not be computed.
        seconds: the time of the whole fit, extraction included.
    """

    accuracy: float
    fold_std: float
    interval: tuple
    outer_folds: int
    inner_folds: int
    confusion: pd.DataFrame
    chosen: str
    chosen_params: dict
    fold_choices: list
    n_clips: int
    dropped: list = field(default_factory=list)
    seconds: float = 0.0
    fold_inner: list = field(default_factory=list)

    def _inner_text(self) -> str:
        text = f"{self.inner_folds}-fold inner CV" if self.inner_folds else "too few clips for an inner CV"
        used = sorted(set(self.fold_inner))
        if used and used != [self.inner_folds]:
            text += "; in the outer folds' training parts " + " or ".join(
                f"{k}-fold" if k else "none" for k in used)
        return text

    def text(self) -> str:
        """The report as lines of text."""
        low, high = self.interval
        lines = [f"nested {self.outer_folds}-fold cross-validated accuracy {self.accuracy:.3f} "
                 f"(95% bootstrap interval {low:.3f} to {high:.3f}; "
                 f"standard deviation over the folds {self.fold_std:.3f}), {self.n_clips} clips",
                 "confusion matrix (rows: true class, columns: predicted), pooled over the outer folds:",
                 self.confusion.to_string(),
                 f"chosen on all clips ({self._inner_text()}): {self.chosen}",
                 "chosen in the outer folds: " + "; ".join(f"{n}x {c}" for c, n in Counter(self.fold_choices).most_common())]
        if self.dropped:
            lines.append(f"{len(self.dropped)} clip(s) left out, their features could not be computed:\n  "
                         + "\n  ".join(self.dropped[:20]))
        return "\n".join(lines)


def _search_space(choices, pca, seed: int):
    """One pipeline and one grid that chooses among several zoo classifiers (``clf`` is a parameter)."""
    pipe = Pipeline([("scale", StandardScaler()), ("pca", "passthrough"), ("clf", LogisticRegression())])
    grid = []
    for name in choices:
        estimator, params = make_classifier(name, seed)
        for reduce in pca:
            reducer = PCA(n_components=PCA_VARIANCE, svd_solver="full") if reduce else "passthrough"
            grid.append({"clf": [estimator], "pca": [reducer], **{f"clf__{k}": v for k, v in params.items()}})
    return pipe, grid


def _as_features(features):
    """A :class:`~course_utils.features.clip_features.ClipFeatures` from a kind name, or the object itself."""
    if isinstance(features, str):
        from course_utils.features.clip_features import ClipFeatures

        return ClipFeatures(features)
    return features


def extract(features, table: pd.DataFrame):
    """Fit a feature extractor on a table's clips and compute their features once.

    Args:
        features: a ``ClipFeatures`` (or its kind name, e.g. ``"mfcc"``).
        table: a table with a ``path`` column.

    Returns:
        ``(features, X, keep, errors)``: the fitted extractor, the float features of the clips
        that could be computed, the boolean mask of those clips, and the others' errors (one
        line each). A clip that cannot be decoded never stops the others.
    """
    features = _as_features(features)
    on_error = features.get_params().get("on_error", "raise")
    features.set_params(on_error="nan")
    try:
        X = np.asarray(features.fit(table).transform(table), dtype=np.float64)
    finally:
        features.set_params(on_error=on_error)
    keep = np.isfinite(X).all(axis=1)
    errors = [str(exc) for _, exc in getattr(features, "skipped_", [])]
    return features, X[keep], keep, errors


def _refuse_classes_without_features(table: pd.DataFrame, keep, dropped: list) -> None:
    """A :class:`DatasetError` naming each class left with fewer than 2 clips whose features could
    be computed (every clip too short, a class of silence...), with its clips' errors."""
    labels = table["label"].astype(str)
    usable = labels[np.asarray(keep)].value_counts()
    parts = []
    for c in sorted(labels.unique()):
        n, ok = int((labels == c).sum()), int(usable.get(c, 0))
        if ok < 2:
            paths = [str(p) for p in table.loc[(labels == c).to_numpy() & ~np.asarray(keep), "path"]]
            why = [e for e in dropped if any(p in e for p in paths)][:2] or ["their features are not finite"]
            parts.append(f"class '{c}': {ok} of its {n} clips give features ({'; '.join(why)})")
    if parts:
        raise DatasetError("; ".join(parts) + ". A class needs at least 2 clips with features to be trained and "
                           "tested: replace those clips (longer, not silent) or remove the class")


def fit_classifier(features, table: pd.DataFrame, *, choices=DEFAULT_CHOICES, pca=(False,), grid=None,
                   outer_folds: int = 5, inner_folds: int = 3, seed: int = 0):
    """From a table of labelled audio to a fitted pipeline that predicts files, and an honest report.

    The features of every clip are computed once (``ClipFeatures`` caches them); a nested
    cross-validation on them estimates the accuracy of the whole procedure (choose among the
    classifiers and their grids on the training part, test on the held-out part); then the same
    choice is made on all clips and refitted there.

    Args:
        features: a ``ClipFeatures`` or its kind name (``"mfcc"``, ``"musicnn"``, ``"choi2017"``...);
            or a ``Pipeline`` whose first step is a ``ClipFeatures`` and whose other steps are the
            classifier to use (then ``choices`` and ``pca`` are ignored and ``grid``, if given,
            is searched over the classifier's parameters).
        table: a classification table (:func:`course_utils.datasets.own.load_folder`,
            :func:`~course_utils.datasets.own.load_table` or a course dataset) with ``path`` and
            ``label``; a ``fold`` column gives predefined outer folds, a ``group`` column groups
            (e.g. artists) kept on one side of every split.
        choices: zoo classifiers (:data:`NAMES`) to choose among.
        pca: which of without/with PCA to try for each.
        grid: with a pipeline, its classifier's grid (keys of that pipeline's parameters).
        outer_folds: outer folds of the estimate (at most the smallest class's size).
        inner_folds: folds that choose the classifier and its setting.
        seed: the folds' and models' seed.

    Returns:
        ``(model, report)``: ``Pipeline([("features", ClipFeatures), ("classifier", chosen)])``
        fitted on all clips (``model.predict([path])``, ``model.predict_proba``, ``model.classes_``),
        and a :class:`FitReport`.

    Raises:
        DatasetError: a tagging table, no ``label`` column, or too few clips per class.
    """
    from sklearn.metrics import confusion_matrix

    check_range("outer_folds", outer_folds, low=2, integer=True)
    check_range("inner_folds", inner_folds, low=2, integer=True)
    start = time.perf_counter()
    if table.attrs.get("task") == "tagging":
        raise DatasetError("fit_classifier trains a classifier (one label per clip); this table is a tagging table "
                           "(several labels per clip): give one label per row")
    if "label" not in table.columns:
        raise DatasetError(f"the table has no 'label' column (it has {list(table.columns)})")
    if isinstance(features, Pipeline):
        pipe, space = Pipeline(features.steps[1:]), grid or {}
        features = features.steps[0][1]
    else:
        pipe, space = _search_space(choices, pca, seed)
    features, X, keep, dropped = extract(features, table)
    _refuse_classes_without_features(table, keep, dropped)
    used = table[keep]
    y = used["label"].astype(str).to_numpy()
    groups = used["group"].astype(str).to_numpy() if "group" in used.columns else None
    folds = used["fold"].to_numpy() if "fold" in used.columns else None
    splits = outer_splits(y, folds=folds, groups=groups, n_splits=outer_folds, seed=seed)
    result = nested_cv(pipe, space or [{}], X, y, splits, groups=groups, inner_folds=inner_folds, seed=seed)
    classes = sorted(np.unique(y))
    confusion = pd.DataFrame(confusion_matrix(y, result.predictions, labels=classes), index=classes, columns=classes)
    with threadpool_limits(1):
        final, params = _search(pipe, space or [{}], X, y, groups, inner_folds, seed)
        final = _with_probabilities(final, X, y)
    model = Pipeline([("features", features), ("classifier", final)])
    low, high = bootstrap_interval(result.predictions == y, seed=seed)
    report = FitReport(accuracy=float(np.mean(result.predictions == y)), fold_std=float(np.std(result.fold_scores)),
                       interval=(low, high), outer_folds=len(splits),
                       inner_folds=inner_folds_used(y, inner_folds, groups), confusion=confusion,
                       chosen=_readable(params) or "the pipeline as given", chosen_params=params,
                       fold_choices=[_readable(p) or "as given" for p in result.chosen], n_clips=len(y),
                       dropped=dropped, seconds=time.perf_counter() - start,
                       fold_inner=[inner_folds_used(y[train], inner_folds, None if groups is None else groups[train])
                                   for train, _ in splits])
    return model, report


def _with_probabilities(fitted: Pipeline, X, y) -> Pipeline:
    """The fitted pipeline, its last step wrapped in a sigmoid calibration when it gives no
    probabilities (the SVMs), so that the saved model has ``predict_proba``.

    ``CalibratedClassifierCV(..., ensemble=False)`` fits the classifier on all clips and maps its
    decision values to probabilities learnt on cross-validated predictions; its label is then the
    most probable class, which on a borderline clip can differ from the bare SVM's.
    """
    if hasattr(fitted, "predict_proba"):
        return fitted
    from sklearn.calibration import CalibratedClassifierCV

    name, last = fitted.steps[-1]
    calibrated = CalibratedClassifierCV(clone(last), cv=min(3, min(Counter(y).values())), ensemble=False)
    fitted = Pipeline([*fitted.steps[:-1], (name, calibrated)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fitted.fit(X, y)


__all__ = ["NAMES", "TITLES", "DEFAULT_CHOICES", "make_classifier", "zoo_pipeline", "nested_cv",
           "compare_classifiers", "FitReport", "extract", "fit_classifier", "zoo_name"]
