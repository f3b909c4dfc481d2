"""SVMs on transferred features: the evaluation protocol of Choi et al. (ISMIR 2017), made fast.

Choi, Fazekas, Sandler and Cho, "Transfer learning for music classification and regression
tasks", fed convnet features (5 layers x 32 = 160 values per clip) and a 120-value MFCC baseline
to SVMs on six tasks. This module reproduces their table from the released features
(fetched by :mod:`course_utils.release`) and evaluates the course's own features
the same way. Used by notebook 04 mainly (also notebook 03 through :func:`evaluate_features`) and
by the ``course-utils paper-table`` command.

The protocol:

- pipeline: optional standardisation, then an SVC (accuracy) or, for emoMusic arousal and valence
  separately, an SVR (R²);
- grid (:func:`param_grid`): C in {0.1, 2, 8, 32} with an RBF kernel and gamma in
  {2^-3, 2^-5, ..., 2^-13, 'auto' = 1/n_features}, plus a linear kernel with the same C values;
- splits (:func:`cv_splits`): 10-fold cross-validation *without shuffling*, as in the authors'
  code (``cv=10``; stratified for classification). Shuffled folds score GTZAN genre .92 instead
  of the published .898: consecutive GTZAN files share artists, so unshuffled folds are partly
  artist-filtered. Jamendo: train+valid against test. UrbanSound8K: its 10 official folds;
- the published number is the best mean score over the grid, which selects on the test folds
  and is optimistic; :func:`evaluate_task` also gives a nested estimate (an inner
  cross-validation on each outer training set picks the parameters, the outer fold scores them).

Standardisation, and why there are two protocols: in the authors' code the scaler's switch was
inert (``OptionalStandardScaler`` read its ``on`` flag in ``__init__`` only, and
``GridSearchCV`` sets parameters after cloning), so every published score is the best of the
grid *without* standardisation. ``protocol="paper"`` (the default) reproduces that: the scaler is
off everywhere. ``protocol="corrected"`` really puts standardisation on and off in the grid.

Speed (``method="fast"``, the default; ``method="gridsearch"`` is the plain scikit-learn
``GridSearchCV`` it is checked against):

- kernels are computed once per split with BLAS (squared distances and the Gram matrix of the
  training rows, and test rows against training rows), and every (gamma, C) is fitted as
  ``SVC(kernel="precomputed")``/``SVR(kernel="precomputed")`` on ``exp(-gamma * D)``: libsvm then
  looks kernel values up instead of computing 160-dimensional distances. Training rows are sorted
  by class first, so that libsvm's one-against-one sub-problems read contiguous memory (libsvm
  groups the rows by class itself, keeping their order, so the solution does not change);
- linear kernels on unstandardised features are badly conditioned: libsvm's SMO needs millions to
  hundreds of millions of iterations (one linear SVR fit on the emoMusic MFCCs takes 15 minutes).
  The fast method gives libsvm a budget of iterations per sub-problem (one pair of classes, or the
  SVR) that grows with its size (see :data:`LIBSVM_LINEAR_CAP_DIVISOR`); the sub-problems that
  have not converged by then are solved exactly (same hinge or epsilon-insensitive loss,
  unpenalised intercept) by a primal-dual interior-point method whose cost depends on the number
  of features, not on the conditioning (:func:`linear_svm_ipm`), and their decision values enter
  libsvm's one-against-one vote. On the released features, the exact optimum's scores differ from
  those of libsvm's tolerance-1e-3 stopping point by at most 0.002 in a 10-fold mean (0.0035 on
  a single fold); every best score of the table is unchanged;
- fits run in threads (libsvm releases the GIL), ``n_jobs`` at a time.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from course_utils import validate
from course_utils.errors import CourseError, DatasetError

#: The tasks of the paper's table, in its order (emoMusic is two regression tasks).
TASKS = ("ballroom_extended", "gtzan_genre", "gtzan_speechmusic", "emoMusic_arousal", "emoMusic_valence",
         "jamendo_vd", "urbansound")

#: Published scores (Choi et al. 2017, table of SVM results): all five layers concatenated
#: (``"01234"``) and the MFCC baseline (``"mfcc"``). Accuracy, or R² for emoMusic.
PUBLISHED = {
    "ballroom_extended": {"01234": 0.848, "mfcc": 0.622},
    "gtzan_genre": {"01234": 0.898, "mfcc": 0.660},
    "gtzan_speechmusic": {"01234": 1.000, "mfcc": 0.992},
    "emoMusic_arousal": {"01234": 0.650, "mfcc": 0.551},
    "emoMusic_valence": {"01234": 0.457, "mfcc": 0.267},
    "jamendo_vd": {"01234": 0.967, "mfcc": 0.917},
    "urbansound": {"01234": 0.688, "mfcc": 0.651},
}

#: Titles of the tasks, for tables and plots.
TASK_TITLES = {
    "ballroom_extended": "Extended Ballroom", "gtzan_genre": "GTZAN genre", "gtzan_speechmusic": "GTZAN speech/music",
    "emoMusic_arousal": "emoMusic arousal (R²)", "emoMusic_valence": "emoMusic valence (R²)",
    "jamendo_vd": "Jamendo voice", "urbansound": "UrbanSound8K",
}

#: The C values of the grid.
C_VALUES = (0.1, 2.0, 8.0, 32.0)
#: The RBF gammas of the grid; ``"auto"`` is 1 / n_features.
GAMMAS = tuple(0.5 ** i for i in (3, 5, 7, 9, 11, 13)) + ("auto",)
#: Layer combinations of the paper's heatmap (single layers, then adjacent runs).
HEATMAP_COMBOS = ("0", "1", "2", "3", "4", "01", "12", "23", "34", "012", "123", "234", "0123", "1234", "01234")
#: The fast method gives libsvm ``m * d² / LIBSVM_LINEAR_CAP_DIVISOR`` iterations (at least
#: :data:`LIBSVM_LINEAR_MIN_CAP`) on a linear sub-problem of m rows and d features before it solves
#: that sub-problem with the interior-point method instead: an SMO iteration costs about a
#: microsecond here, an interior-point solve about 20 * m d² flops, so an abandoned SMO run wastes
#: at most about what the exact solver then needs.
LIBSVM_LINEAR_CAP_DIVISOR = 500
#: The least number of SMO iterations a linear sub-problem gets (see above).
LIBSVM_LINEAR_MIN_CAP = 10_000
#: SVR's epsilon (scikit-learn's default, as in the paper).
SVR_EPSILON = 0.1

_PROTOCOLS = ("paper", "corrected")
_METHODS = ("fast", "gridsearch")
_TASK_TYPES = ("classification", "regression")
_PAPER_NOTE = ("protocol 'paper': no standardisation (the authors' scaler switch was inert, so every published "
               "score is the best of the grid without it)")
_CORRECTED_NOTE = "protocol 'corrected': standardisation really on and off in the grid"


# --------------------------------------------------------------------------------------------
# The grid


def param_grid(protocol: str = "paper") -> list[dict]:
    """The candidate settings of the grid search, in a fixed order.

    Used by :func:`evaluate_task` (both methods) and shown in notebook 04.

    Args:
        protocol: ``"paper"`` (32 settings, never standardised) or ``"corrected"`` (64: each
            setting with and without standardisation).

    Returns:
        A list of dicts with keys ``kernel`` (``"rbf"`` or ``"linear"``), ``C``, ``gamma``
        (a float, ``"auto"``, or ``None`` for the linear kernel) and ``scale`` (bool).
    """
    _check_choice("protocol", protocol, _PROTOCOLS)
    grid = []
    for scale in ((False,) if protocol == "paper" else (False, True)):
        grid += [{"kernel": "rbf", "C": c, "gamma": g, "scale": scale} for c in C_VALUES for g in GAMMAS]
        grid += [{"kernel": "linear", "C": c, "gamma": None, "scale": scale} for c in C_VALUES]
    return grid


def _check_choice(name: str, value, choices) -> None:
    if value not in choices:
        raise CourseError(f"{name} must be one of {list(choices)}, not {value!r}")


def _gamma_value(gamma, n_features: int) -> float:
    return 1.0 / n_features if gamma == "auto" else float(gamma)


def protocol_note(protocol: str) -> str:
    """One sentence saying what a protocol does about standardisation, for printed tables.

    Used by :func:`format_table` and notebook 04.

    Args:
        protocol: ``"paper"`` or ``"corrected"``.

    Returns:
        The sentence.
    """
    _check_choice("protocol", protocol, _PROTOCOLS)
    return _PAPER_NOTE if protocol == "paper" else _CORRECTED_NOTE


# --------------------------------------------------------------------------------------------
# The released features and labels


def _release_root(features_dir) -> Path:
    """Accept ``.../choi2017``, ``.../choi2017/features``, or ``None`` (:func:`~course_utils.release.fetch_release`)."""
    if features_dir is None:
        from course_utils import release

        return release.fetch_release(progress=False)
    path = Path(features_dir)
    return path if (path / "features").is_dir() or not (path.name == "features") else path.parent


def _base_task(task: str) -> str:
    _check_choice("task", task, TASKS)
    return "emoMusic" if task.startswith("emoMusic") else task


def task_type(task: str) -> str:
    """Whether a task of the table is a classification or a regression.

    Used by :func:`paper_table` and notebook 04.

    Args:
        task: one of :data:`TASKS`.

    Returns:
        ``"regression"`` for the emoMusic tasks, else ``"classification"``.
    """
    return "regression" if _base_task(task) == "emoMusic" else "classification"


def load_labels(features_dir, task: str) -> pd.DataFrame:
    """The released label table of a task (row order = the feature files').

    Used by :func:`load_release` and :func:`cv_splits`; notebook 04.

    Args:
        features_dir: the release folder (``.../choi2017``) or its ``features`` subfolder (``None``:
            the release as :func:`course_utils.release.fetch_release` finds it); the labels are read
            from the sibling ``labels/<task>.csv``.
        task: one of :data:`TASKS`.

    Returns:
        The DataFrame (``id, filepath, label``; emoMusic ``label_arousal, label_valence``;
        jamendo_vd also ``category``; urbansound also ``fold``).

    Raises:
        DatasetError: the file is missing.
    """
    path = _release_root(features_dir) / "labels" / f"{_base_task(task)}.csv"
    if not path.is_file():
        raise DatasetError(f"{path}: label file not found; is the Choi et al. 2017 release complete?")
    return pd.read_csv(path, index_col=0)


def _parse_layers(layers: str) -> list[str]:
    """``"01234+mfcc"`` -> ``["0", "1", "2", "3", "4", "mfcc"]``."""
    parts = []
    for token in str(layers).split("+"):
        if token == "mfcc":
            parts.append("mfcc")
        elif token and all(ch in "01234" for ch in token):
            parts += list(token)
        else:
            raise CourseError(f"layers must be digits 0-4, 'mfcc', or a '+' join of them (e.g. '01234+mfcc'), not {layers!r}")
    return parts


def feature_files(features_dir, task: str, layers: str = "01234") -> list[Path]:
    """The ``.npy`` files that make up a feature set, in concatenation order.

    Used by :func:`load_release` and the result cache of :func:`paper_table`.

    Args:
        features_dir: the release folder or its ``features`` subfolder.
        task: one of :data:`TASKS`.
        layers: ``"01234"``, ``"0"``, ``"24"``, ``"mfcc"``, ``"01234+mfcc"``...

    Returns:
        The paths (not checked for existence).
    """
    folder = _release_root(features_dir) / "features"
    base = _base_task(task)
    return [folder / (f"{base}_mfcc.npy" if part == "mfcc" else f"{base}_layer_{part}.npy") for part in _parse_layers(layers)]


def load_release(features_dir, task: str, layers: str = "01234"):
    """Load the authors' released features and labels of one task.

    Used by :func:`paper_table`, :func:`layer_heatmap_scores` and notebook 04.

    Args:
        features_dir: the release folder (``.../choi2017``) or its ``features`` subfolder; ``None`` for
            the release as :func:`course_utils.release.fetch_release` finds it.
        task: one of :data:`TASKS`.
        layers: which convnet layers to concatenate (``"01234"``, ``"0"``, ``"24"``...), the MFCC
            baseline (``"mfcc"``), or a ``+`` join such as ``"01234+mfcc"``.

    Returns:
        ``(X, y, groups)``: float64 features (clips x values), labels (int class ids, or float
        arousal/valence for the emoMusic tasks), and the split information: the ``fold`` column for
        urbansound, the ``category`` column (train/valid/test) for jamendo_vd, else ``None``.

    Raises:
        DatasetError: a feature or label file is missing (the message names it; the release has
            no ``urbansound_mfcc.npy``), or the row counts disagree.
    """
    features_dir = _release_root(features_dir)
    labels = load_labels(features_dir, task)
    blocks = []
    for path in feature_files(features_dir, task, layers):
        if not path.is_file():
            hint = " (the authors did not release it)" if path.name == "urbansound_mfcc.npy" else ""
            raise DatasetError(f"{path}: feature file not found{hint}")
        block = validate.numeric_npy(path)  # never unpickles; a bad file is one DatasetError
        if block.ndim != 2 or block.shape[0] != len(labels):
            raise DatasetError(f"{path}: expected {len(labels)} rows (one per clip of labels/{_base_task(task)}.csv), "
                               f"found shape {block.shape}")
        blocks.append(block.astype(np.float64))
    X = np.ascontiguousarray(np.concatenate(blocks, axis=1))
    if task == "emoMusic_arousal":
        y = labels["label_arousal"].to_numpy(np.float64)
    elif task == "emoMusic_valence":
        y = labels["label_valence"].to_numpy(np.float64)
    else:
        y = labels["label"].to_numpy()
    groups = None
    if task == "urbansound":
        groups = labels["fold"].to_numpy()
    elif task == "jamendo_vd":
        groups = labels["category"].to_numpy().astype(str)
    return X, y, groups


# --------------------------------------------------------------------------------------------
# Splits


def kfold_splits(y, task_type: str = "classification", n_splits: int = 10, shuffle: bool = False, seed: int = 0) -> list:
    """K-fold splits: stratified for classification, plain for regression.

    Used by :func:`cv_splits`, :func:`evaluate_features` and as the default inner CV of
    :func:`evaluate_task`.

    Args:
        y: the labels.
        task_type: ``"classification"`` or ``"regression"``.
        n_splits: the number of folds (lowered to the smallest class size if needed, at least 2).
        shuffle: shuffle before splitting (the paper did not).
        seed: the shuffling seed (ignored without shuffling).

    Returns:
        A list of ``(train_idx, test_idx)`` integer arrays.
    """
    from sklearn.model_selection import KFold, StratifiedKFold

    y = np.asarray(y)
    if task_type == "classification":
        smallest = int(np.unique(y, return_counts=True)[1].min())
        cv = StratifiedKFold(max(2, min(n_splits, smallest)), shuffle=shuffle, random_state=seed if shuffle else None)
    else:
        cv = KFold(min(n_splits, len(y)), shuffle=shuffle, random_state=seed if shuffle else None)
    return [(tr.astype(np.intp), te.astype(np.intp)) for tr, te in cv.split(np.zeros((len(y), 1)), y)]


def split_vs_test(split) -> list:
    """One split: every row whose split is not ``"test"`` (train and valid) against the test rows.

    Used by :func:`cv_splits` (Jamendo) and :func:`evaluate_features` (``split_column="split"``).

    Args:
        split: one value per row, ``"train"``, ``"valid"`` or ``"test"``.

    Returns:
        ``[(train_idx, test_idx)]``.

    Raises:
        CourseError: there are no test rows or no training rows.
    """
    split = np.asarray(split).astype(str)
    test = np.flatnonzero(split == "test")
    train = np.flatnonzero(split != "test")
    if len(test) == 0 or len(train) == 0:
        raise CourseError(f"a train/valid/test split needs rows of both kinds; found values {sorted(set(split))}")
    return [(train, test)]


def predefined_folds(folds) -> list:
    """Leave-one-fold-out splits from a fold column (UrbanSound8K's official folds).

    Used by :func:`cv_splits` and :func:`evaluate_features` (``split_column="fold"``).

    Args:
        folds: one fold id per row.

    Returns:
        One ``(train_idx, test_idx)`` per fold id, in sorted fold order.
    """
    folds = np.asarray(folds)
    return [(np.flatnonzero(folds != f), np.flatnonzero(folds == f)) for f in np.unique(folds)]


def cv_splits(task: str, labels_df: pd.DataFrame, seed: int = 0, shuffle: bool = False) -> list:
    """The paper's splits of one task.

    Used by :func:`paper_table` and notebook 04.

    Args:
        task: one of :data:`TASKS`.
        labels_df: its label table (:func:`load_labels`).
        seed: seed of the fold shuffling, used only with ``shuffle=True``.
        shuffle: shuffle before the 10-fold split. The published numbers come from unshuffled
            folds (the authors passed ``cv=10``); shuffled GTZAN folds score about .02 higher.

    Returns:
        ``(train_idx, test_idx)`` pairs: Jamendo one split (train+valid vs test), UrbanSound8K its
        10 official folds, the others 10 folds (stratified for classification).
    """
    if task == "jamendo_vd":
        return split_vs_test(labels_df["category"])
    if task == "urbansound":
        return predefined_folds(labels_df["fold"])
    if task_type(task) == "regression":
        col = "label_arousal" if task == "emoMusic_arousal" else "label_valence"
        return kfold_splits(labels_df[col].to_numpy(), "regression", 10, shuffle, seed)
    return kfold_splits(labels_df["label"].to_numpy(), "classification", 10, shuffle, seed)


def _inner_train_vs_valid(split):
    """Nested estimate's inner CV for a train/valid/test dataset: select on valid, as it intends."""
    split = np.asarray(split).astype(str)

    def inner(train_idx):
        tr, va = train_idx[split[train_idx] == "train"], train_idx[split[train_idx] == "valid"]
        return [(tr, va)] if len(tr) and len(va) else None
    return inner


def _inner_by_fold(folds):
    """Nested estimate's inner CV for a dataset with official folds: leave one training fold out."""
    folds = np.asarray(folds)

    def inner(train_idx):
        if len(np.unique(folds[train_idx])) < 2:
            return None
        return [(train_idx[tr], train_idx[te]) for tr, te in predefined_folds(folds[train_idx])]
    return inner


def _inner_cv_for(task: str, groups):
    """The inner CV of the nested estimate for a task of the table (``None``: plain k-fold)."""
    if task == "jamendo_vd":
        return _inner_train_vs_valid(groups)
    if task == "urbansound":
        return _inner_by_fold(groups)
    return None


# --------------------------------------------------------------------------------------------
# Exact linear SVMs by an interior-point method


def linear_svm_ipm(Z, a, c, C: float, tol: float = 1e-8, max_iter: int = 100):
    """Solve a linear SVM exactly: ``min 1/2|w|² + C Σξ`` s.t. ``a_i (w·z_i + b) >= c_i - ξ_i, ξ >= 0``.

    A Mehrotra predictor-corrector primal-dual interior-point method. Each iteration solves one
    (d+1) x (d+1) system, so its cost is that of forming ``Z' W Z`` whatever the conditioning of
    the data: this is what makes the linear kernel on unstandardised features fast. The intercept
    is not penalised (as in libsvm). Binary SVC: ``a = ±1`` labels, ``c = 1``. SVR with tube
    epsilon: each row twice, ``a = +1, c = y - eps`` and ``a = -1, c = -y - eps``.

    Used by :func:`evaluate_task` (``method="fast"``) when libsvm is slow on a linear kernel.

    Args:
        Z: (m, d) rows.
        a: (m,) signs.
        c: (m,) margins.
        C: the penalty.
        tol: relative tolerance on the residuals and the duality measure.
        max_iter: iteration limit.

    Returns:
        ``(w, b, converged)``.
    """
    Z = np.asarray(Z, dtype=np.float64)
    a = np.asarray(a, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    m, d = Z.shape
    center = Z.mean(axis=0)
    Zc = Z - center  # an exact change of variables (b absorbs w·center); better conditioned
    w, b = np.zeros(d), 0.0
    alpha, nu = np.full(m, C / 2.0), np.full(m, C / 2.0)
    xi, s = np.ones(m), np.ones(m)
    c_scale = 1.0 + np.abs(c).max()
    eye = np.eye(d)
    best = (np.inf, w, b)
    converged = False

    def steplen(v, dv):
        neg = dv < 0
        return min(1.0, float(np.min(-v[neg] / dv[neg]))) if neg.any() else 1.0

    for _ in range(max_iter):
        za = Zc.T @ (a * alpha)
        r1 = w - za
        r2 = float(a @ alpha)
        r3 = C - alpha - nu
        r4 = a * (Zc @ w + b) + xi - c - s
        mu = (s @ alpha + xi @ nu) / (2 * m)
        pres = np.abs(r4).max() / c_scale
        dres = max(np.abs(r1).max() / (1.0 + np.abs(za).max()), (abs(r2) + np.abs(r3).max()) / (1.0 + C))
        merit = max(pres, dres, mu / (1.0 + C))
        if merit < best[0]:
            best = (merit, w.copy(), b)
        if merit < tol:
            converged = True
            break
        W = 1.0 / (xi / nu + s / alpha)
        root = np.sqrt(W)
        B = Zc * root[:, None]
        M = np.empty((d + 1, d + 1))
        M[:d, :d] = B.T @ B + eye  # numpy computes A.T @ A with a symmetric rank-k update: half the flops
        M[:d, d] = M[d, :d] = B.T @ root
        M[d, d] = W.sum()
        try:
            chol = np.linalg.cholesky(M)
        except np.linalg.LinAlgError:
            break

        def direction(rc5, rc6):
            q = -r4 - (rc6 - xi * r3) / nu + rc5 / alpha
            u = a * W * q
            rhs = np.append(-r1 + Zc.T @ u, r2 + u.sum())
            sol = np.linalg.solve(chol.T, np.linalg.solve(chol, rhs))
            dw, db = sol[:d], sol[d]
            dal = W * (q - a * (Zc @ dw + db))
            dnu = r3 - dal
            return dw, db, dal, dnu, (rc6 - xi * dnu) / nu, (rc5 - s * dal) / alpha

        dw, db, dal, dnu, dxi, ds = direction(-s * alpha, -xi * nu)
        step = min(steplen(alpha, dal), steplen(nu, dnu), steplen(xi, dxi), steplen(s, ds))
        mu_aff = ((s + step * ds) @ (alpha + step * dal) + (xi + step * dxi) @ (nu + step * dnu)) / (2 * m)
        sigma = (mu_aff / mu) ** 3
        dw, db, dal, dnu, dxi, ds = direction(sigma * mu - s * alpha - ds * dal, sigma * mu - xi * nu - dxi * dnu)
        step = 0.995 * min(steplen(alpha, dal), steplen(nu, dnu), steplen(xi, dxi), steplen(s, ds))
        w, b = w + step * dw, b + step * db
        alpha, nu, xi, s = alpha + step * dal, nu + step * dnu, xi + step * dxi, s + step * ds
    if not converged:
        w, b = best[1], best[2]
        converged = best[0] < 1e-6
    return w, float(b - w @ center), converged


def _ipm_svr_fit_predict(Ztr, ytr, Zte, C: float):
    """A linear SVR (tube ``SVR_EPSILON``) solved by :func:`linear_svm_ipm`: ``(predictions, converged)``."""
    n = len(ytr)
    Z = np.vstack([Ztr, Ztr])
    a = np.r_[np.ones(n), -np.ones(n)]
    c = np.r_[ytr - SVR_EPSILON, -ytr - SVR_EPSILON]
    w, b, ok = linear_svm_ipm(Z, a, c, C)
    return Zte @ w + b, ok


# --------------------------------------------------------------------------------------------
# The fast method: precomputed kernels, threads


class _Blocks:
    """Everything the fits of one split need: features, Gram and squared-distance blocks."""

    def __init__(self, X, y, train_idx, test_idx, scale: bool, task_type: str):
        if task_type == "classification":
            train_idx = train_idx[np.argsort(y[train_idx], kind="stable")]
        Ztr, Zte = X[train_idx], X[test_idx]
        if scale:  # StandardScaler fitted on the training rows
            mean = Ztr.mean(axis=0)
            std = Ztr.std(axis=0)
            std[std == 0] = 1.0
            Ztr, Zte = (Ztr - mean) / std, (Zte - mean) / std
        self.Ztr, self.Zte = np.ascontiguousarray(Ztr), np.ascontiguousarray(Zte)
        self.ytr, self.yte = y[train_idx], y[test_idx]
        self.Gtr = self.Ztr @ self.Ztr.T
        self.Gte = self.Zte @ self.Ztr.T
        sq_tr = np.einsum("ij,ij->i", self.Ztr, self.Ztr)
        sq_te = np.einsum("ij,ij->i", self.Zte, self.Zte)
        self.Dtr = self._sqdist(self.Gtr, sq_tr, sq_tr)
        self.Dte = self._sqdist(self.Gte, sq_te, sq_tr)

    @staticmethod
    def _sqdist(G, sq_rows, sq_cols):
        D = np.multiply(G, -2.0)
        D += sq_rows[:, None]
        D += sq_cols[None, :]
        np.maximum(D, 0.0, out=D)
        return D


_local = threading.local()


def _scratch(name: str, shape) -> np.ndarray:
    """A per-thread reusable buffer (fresh large arrays cost page faults on every fit)."""
    size = int(np.prod(shape))
    buf = getattr(_local, name, None)
    if buf is None or buf.size < size:
        buf = np.empty(size)
        setattr(_local, name, buf)
    return buf[:size].reshape(shape)


def _estimator(task_type: str, C: float, max_iter: int = -1):
    from sklearn.svm import SVC, SVR

    if task_type == "regression":
        return SVR(kernel="precomputed", C=C, epsilon=SVR_EPSILON, max_iter=max_iter)
    return SVC(kernel="precomputed", C=C, max_iter=max_iter)


def _score(task_type: str, y_true, y_pred) -> float:
    from sklearn.metrics import accuracy_score, r2_score

    return float(r2_score(y_true, y_pred) if task_type == "regression" else accuracy_score(y_true, y_pred))


def _linear_iteration_cap(n_rows: int, n_features: int) -> int:
    return int(max(LIBSVM_LINEAR_MIN_CAP, n_rows * n_features ** 2 / LIBSVM_LINEAR_CAP_DIVISOR))


def _rbf_kernels(blocks: _Blocks, gamma):
    """exp(-gamma D) for the training and test blocks, in this thread's reusable buffers."""
    g = _gamma_value(gamma, blocks.Ztr.shape[1])
    Ktr = _scratch("ktr", blocks.Dtr.shape)
    np.multiply(blocks.Dtr, -g, out=Ktr)
    np.exp(Ktr, out=Ktr)
    Kte = _scratch("kte", blocks.Dte.shape)
    np.multiply(blocks.Dte, -g, out=Kte)
    np.exp(Kte, out=Kte)
    return Ktr, Kte


def _linear_fit_predict(blocks: _Blocks, C: float, task_type: str):
    """A linear-kernel SVM: libsvm within an iteration budget per sub-problem, the exact solver beyond.

    One libsvm fit on the Gram matrix, capped; the sub-problems (pairs of classes, or the SVR) that
    hit the cap are solved again by :func:`linear_svm_ipm`, and their decision values replace
    libsvm's before the one-against-one vote (libsvm's rule: positive votes for the first class
    of the pair, ties go to the first class with most votes).
    """
    from sklearn.svm import SVC

    n, d = blocks.Ztr.shape
    if task_type == "regression":
        cap = _linear_iteration_cap(n, d)
        model = _estimator(task_type, C, cap).fit(blocks.Gtr, blocks.ytr)
        if np.max(model.n_iter_) < cap:
            return model.predict(blocks.Gte), "libsvm"
        pred, ok = _ipm_svr_fit_predict(blocks.Ztr, blocks.ytr, blocks.Zte, C)
        return pred, "ipm" if ok else "ipm (not converged)"
    classes, starts = np.unique(blocks.ytr, return_index=True)  # rows are sorted by class
    ends = np.append(starts[1:], n)
    k = len(classes)
    cap = _linear_iteration_cap(2 * n // k, d)
    model = SVC(kernel="precomputed", C=C, max_iter=cap, decision_function_shape="ovo").fit(blocks.Gtr, blocks.ytr)
    capped = np.atleast_1d(model.n_iter_) >= cap
    if not capped.any():
        return model.predict(blocks.Gte), "libsvm"
    dec = model.decision_function(blocks.Gte).reshape(len(blocks.yte), -1)
    if k == 2:
        dec = -dec  # scikit-learn flips the binary sign: make positive mean the first class, as libsvm
    votes = np.zeros((len(blocks.yte), k), dtype=np.int64)
    solvers, pair = {"libsvm"} if not capped.all() else set(), 0
    for i in range(k):
        for j in range(i + 1, k):
            if capped[pair]:
                idx = np.r_[starts[i]:ends[i], starts[j]:ends[j]]
                sign = np.where(blocks.ytr[idx] == classes[i], 1.0, -1.0)
                w, b, ok = linear_svm_ipm(blocks.Ztr[idx], sign, np.ones(len(idx)), C)
                dec[:, pair] = blocks.Zte @ w + b
                solvers.add("ipm" if ok else "ipm (not converged)")
            first = dec[:, pair] > 0
            votes[first, i] += 1
            votes[~first, j] += 1
            pair += 1
    return classes[votes.argmax(axis=1)], "/".join(sorted(solvers))


def _fit_kernel_group(blocks: _Blocks, kernel: str, gamma, Cs, task_type: str):
    """Fit every C of one (split, kernel, gamma): returns ``[(score, solver, seconds), ...]``."""
    out = []
    if kernel == "rbf":
        Ktr, Kte = _rbf_kernels(blocks, gamma)
    for C in Cs:
        start = time.perf_counter()
        if kernel == "rbf":
            pred, solver = _estimator(task_type, C).fit(Ktr, blocks.ytr).predict(Kte), "libsvm"
        else:
            pred, solver = _linear_fit_predict(blocks, C, task_type)
        out.append((_score(task_type, blocks.yte, pred), solver, time.perf_counter() - start))
    return out


def _fast_grid_scores(X, y, splits, grid, task_type: str, n_jobs: int):
    """Every grid setting on every split: ``(scores, solvers, seconds)``, each (n_params, n_splits).

    Splits are prepared one after the other in this thread (kernel blocks), while ``n_jobs``
    worker threads fit the (kernel, gamma) groups of the previous ones.
    """
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    groups = {}  # (scale, kernel, gamma) -> [(param index, C)]
    for k, p in enumerate(grid):
        groups.setdefault((p["scale"], p["kernel"], p["gamma"]), []).append((k, p["C"]))
    # slow groups first: linear kernels and large gammas
    order = sorted(groups, key=lambda g: (g[1] != "linear",))
    scores = np.full((len(grid), len(splits)), np.nan)
    seconds = np.zeros((len(grid), len(splits)))
    solvers = np.empty((len(grid), len(splits)), dtype=object)
    scales = sorted({p["scale"] for p in grid})
    # one BLAS thread per worker: OpenBLAS threads spinning beside busy workers cost more than they give
    with warnings.catch_warnings(), threadpool_limits(1 if n_jobs > 1 else None):
        warnings.filterwarnings("ignore", message=".*terminated early.*", category=ConvergenceWarning)
        with ThreadPoolExecutor(max_workers=max(1, n_jobs)) as pool:
            pending = []
            for s, (tr, te) in enumerate(splits):
                for scale in scales:
                    blocks = _Blocks(X, y, np.asarray(tr), np.asarray(te), scale, task_type)
                    for key in (g for g in order if g[0] == scale):
                        members = groups[key]
                        fut = pool.submit(_fit_kernel_group, blocks, key[1], key[2], [C for _, C in members], task_type)
                        pending.append((fut, s, members))
                    del blocks
                # bound memory: keep at most about two splits of blocks alive
                while sum(not f.done() for f, _, _ in pending) > 2 * len(groups):
                    time.sleep(0.01)
            for fut, s, members in pending:
                for (k, _), (score, solver, sec) in zip(members, fut.result()):
                    scores[k, s], solvers[k, s], seconds[k, s] = score, solver, sec
    return scores, solvers, seconds


# --------------------------------------------------------------------------------------------
# The straightforward method: GridSearchCV


def _pipeline(task_type: str):
    from sklearn.pipeline import Pipeline
    from sklearn.svm import SVC, SVR

    return Pipeline([("scale", "passthrough"), ("svm", SVR(epsilon=SVR_EPSILON) if task_type == "regression" else SVC())])


def _sklearn_grid(grid) -> list[dict]:
    """Our grid as GridSearchCV candidates, one dict each so that the order is ours."""
    from sklearn.preprocessing import StandardScaler

    out = []
    for p in grid:
        cand = {"scale": [StandardScaler() if p["scale"] else "passthrough"], "svm__kernel": [p["kernel"]], "svm__C": [p["C"]]}
        if p["kernel"] == "rbf":
            cand["svm__gamma"] = [p["gamma"]]
        out.append(cand)
    return out


def _gridsearch_scores(X, y, splits, grid, task_type: str, n_jobs: int):
    from sklearn.model_selection import GridSearchCV

    scoring = "r2" if task_type == "regression" else "accuracy"
    search = GridSearchCV(_pipeline(task_type), _sklearn_grid(grid), cv=[(np.asarray(a), np.asarray(b)) for a, b in splits],
                          scoring=scoring, n_jobs=n_jobs, refit=False, error_score="raise")
    search.fit(X, y)
    scores = np.array([search.cv_results_[f"split{s}_test_score"] for s in range(len(splits))]).T
    solvers = np.full(scores.shape, "libsvm", dtype=object)
    seconds = np.outer(search.cv_results_["mean_fit_time"] + search.cv_results_["mean_score_time"], np.ones(len(splits)))
    return scores, solvers, seconds


# --------------------------------------------------------------------------------------------
# The evaluation of one task


def _grid_scores(X, y, splits, grid, task_type, method, n_jobs):
    if method == "fast":
        return _fast_grid_scores(X, y, splits, grid, task_type, n_jobs)
    return _gridsearch_scores(X, y, splits, grid, task_type, n_jobs)


def _scores_frame(grid, scores, solvers, seconds) -> pd.DataFrame:
    df = pd.DataFrame(grid)
    df["mean_score"] = scores.mean(axis=1)
    df["std_score"] = scores.std(axis=1)
    df["rank"] = df["mean_score"].rank(ascending=False, method="min").astype(int)
    df["solver"] = ["/".join(sorted({part for cell in row for part in str(cell).split("/")})) for row in solvers]
    df["fit_seconds"] = seconds.sum(axis=1)
    for s in range(scores.shape[1]):
        df[f"split{s}"] = scores[:, s]
    return df


def evaluate_task(X, y, splits, task_type: str = "classification", protocol: str = "paper", method: str = "fast",
                  nested: bool = True, n_jobs: int = 2, inner_cv=None, inner_folds: int = 10) -> dict:
    """Grid-search SVMs on one feature set as the paper did, with an honest nested estimate beside it.

    Used by :func:`paper_table`, :func:`evaluate_features`, :func:`layer_heatmap_scores` and
    notebook 04.

    Args:
        X: (n_clips, n_features) features.
        y: class ids (classification) or targets (regression).
        splits: ``(train_idx, test_idx)`` pairs (:func:`cv_splits`).
        task_type: ``"classification"`` (SVC, accuracy) or ``"regression"`` (SVR, R²).
        protocol: ``"paper"`` (never standardise, as every published score) or ``"corrected"``
            (standardisation on and off in the grid).
        method: ``"fast"`` (precomputed kernels in threads; exact interior-point solver for slow
            linear kernels) or ``"gridsearch"`` (plain ``GridSearchCV``, slow).
        nested: also compute the nested estimate: on each outer training set an inner CV
            (``inner_cv``) picks the setting, the outer test fold scores it.
        n_jobs: parallel fits.
        inner_cv: ``callable(train_idx) -> [(train_idx, test_idx), ...]`` in absolute row indices
            for the nested estimate (default: ``inner_folds`` unshuffled folds of the outer training
            rows, stratified for classification). It may return ``None`` to fall back to the default.
        inner_folds: folds of the default inner CV (10; notebook 04 uses 5 to stay fast).

    Returns:
        A dict: ``best_score`` (best mean score over the grid: the paper's number, optimistic),
        ``best_params``, ``best_std`` (the standard deviation of that setting's score over the
        splits; NaN for a single train/test split), ``nested_score`` (``None`` without ``nested``), ``nested_params`` (the
        setting chosen on each outer fold), ``scores_per_param`` (a DataFrame: the settings,
        ``mean_score``, ``std_score``, ``rank``, ``solver`` (``libsvm``, or ``ipm`` where the exact
        linear solver took over), ``fit_seconds`` (summed over splits) and one ``split<k>`` column
        per split),
        ``seconds`` (wall time), ``cpu_seconds`` (process CPU time, all threads), ``protocol``,
        ``method`` and ``note`` (what the protocol does about standardisation).
    """
    _check_choice("task_type", task_type, _TASK_TYPES)
    _check_choice("protocol", protocol, _PROTOCOLS)
    _check_choice("method", method, _METHODS)
    start, cpu_start = time.perf_counter(), time.process_time()
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64 if task_type == "regression" else None)
    if X.ndim != 2 or len(X) != len(y):
        raise CourseError(f"X must be (n_clips, n_features) with one row per label; got X {X.shape} and {len(y)} labels")
    splits = [(np.asarray(tr, dtype=np.intp), np.asarray(te, dtype=np.intp)) for tr, te in splits]
    if not splits:
        raise CourseError("no splits to evaluate")
    grid = param_grid(protocol)
    scores, solvers, seconds = _grid_scores(X, y, splits, grid, task_type, method, n_jobs)
    table = _scores_frame(grid, scores, solvers, seconds)
    best = int(np.argmax(table["mean_score"].to_numpy()))
    result = {"best_score": float(table["mean_score"].iloc[best]), "best_params": dict(grid[best]),
              "best_std": float(table["std_score"].iloc[best]) if len(splits) > 1 else float("nan"),
              "nested_score": None, "nested_params": None,
              "scores_per_param": table}
    if nested:
        chosen, outer = [], []
        for s, (tr, _) in enumerate(splits):
            inner = inner_cv(tr) if inner_cv is not None else None
            if inner is None:
                inner = [(tr[a], tr[b]) for a, b in kfold_splits(y[tr], task_type, inner_folds)]
            inner_scores, _, _ = _grid_scores(X, y, inner, grid, task_type, method, n_jobs)
            k = int(np.argmax(inner_scores.mean(axis=1)))
            chosen.append(dict(grid[k]))
            outer.append(scores[k, s])
        result["nested_score"] = float(np.mean(outer))
        result["nested_params"] = chosen
    result.update(seconds=time.perf_counter() - start, cpu_seconds=time.process_time() - cpu_start, protocol=protocol,
                  method=method, note=protocol_note(protocol))
    return result


# --------------------------------------------------------------------------------------------
# Our own features (notebooks 03 and 04)

_REGRESSION_TARGETS = ("arousal", "valence", "label_arousal", "label_valence", "target")


def _target_column(labels: pd.DataFrame, task_type: str, target) -> str:
    if target is not None:
        if target not in labels.columns:
            raise CourseError(f"target column {target!r} not in the labels table (columns: {list(labels.columns)})")
        return target
    if task_type == "classification":
        for col in ("label_id", "label"):
            if col in labels.columns:
                return col
        raise CourseError(f"no 'label_id' or 'label' column in the labels table (columns: {list(labels.columns)})")
    found = [c for c in _REGRESSION_TARGETS if c in labels.columns]
    if len(found) != 1:
        raise CourseError(f"say which column to regress with target=...; candidates: {found or list(labels.columns)}")
    return found[0]


def evaluate_features(X, labels: pd.DataFrame, task_type: str, split_column: str | None = None, target: str | None = None,
                      protocol: str = "paper", method: str = "fast", nested: bool = True, n_jobs: int = 2,
                      n_folds: int = 10) -> dict:
    """Evaluate features from the course's own extractor with the paper's SVM protocol.

    Used by notebooks 03 and 04 on arrays computed from a dataset table of
    :mod:`course_utils.datasets` (one row per clip, in the same order as ``X``).

    Args:
        X: (n_clips, n_features) features.
        labels: the dataset table: ``label_id`` (or ``label``) for classification, a regression
            column (``arousal``, ``valence``...) for regression, and the split column if any.
        task_type: ``"classification"`` or ``"regression"``.
        split_column: ``None`` (10 unshuffled folds, stratified for classification), ``"split"``
            (train/valid/test values: train+valid against test; the nested estimate selects on
            valid) or ``"fold"`` (predefined folds, leave one out).
        target: the label column (default ``label_id``, or the single regression column).
        protocol: ``"paper"`` or ``"corrected"`` (see :func:`evaluate_task`).
        method: ``"fast"`` or ``"gridsearch"``.
        nested: also compute the nested estimate.
        n_jobs: parallel fits.
        n_folds: folds when ``split_column`` is ``None``.

    Returns:
        The dict of :func:`evaluate_task`, plus ``target`` and ``n_splits``.
    """
    _check_choice("task_type", task_type, _TASK_TYPES)
    col = _target_column(labels, task_type, target)
    y = labels[col].to_numpy()
    if len(y) != len(X):
        raise CourseError(f"X has {len(X)} rows but the labels table has {len(labels)}")
    if task_type == "classification" and y.dtype.kind not in "iu":
        y = np.unique(y, return_inverse=True)[1]
    inner_cv = None
    if split_column is None:
        splits = kfold_splits(y, task_type, n_folds)
    elif split_column not in labels.columns:
        raise CourseError(f"split column {split_column!r} not in the labels table (columns: {list(labels.columns)})")
    elif split_column == "fold":
        splits = predefined_folds(labels["fold"].to_numpy())
        inner_cv = _inner_by_fold(labels["fold"])
    elif split_column == "split":
        splits = split_vs_test(labels["split"].to_numpy().astype(str))
        inner_cv = _inner_train_vs_valid(labels["split"])
    else:
        raise CourseError(f"split_column must be None, 'split' or 'fold', not {split_column!r}")
    result = evaluate_task(X, y, splits, task_type, protocol, method, nested, n_jobs, inner_cv)
    result.update(target=col, n_splits=len(splits))
    return result


# --------------------------------------------------------------------------------------------
# The paper's table


def _fingerprint(paths) -> str:
    h = hashlib.sha256()
    for p in paths:
        st = Path(p).stat()
        h.update(f"{Path(p).name}:{st.st_size}:{int(st.st_mtime)};".encode())
    return h.hexdigest()[:16]


def evaluate_release(features_dir, task: str, layers: str = "01234", protocol: str = "paper", method: str = "fast",
                     nested: bool = False, n_jobs: int = 2, cache_dir=None, inner_folds: int = 10) -> dict:
    """Evaluate one released feature set of one task (one cell of the paper's table).

    Used by :func:`paper_table`, :func:`layer_heatmap_scores`, ``benchmarks/svm_protocol.py`` and
    notebook 04.

    Args:
        features_dir: the release folder (``.../choi2017``) or its ``features`` subfolder.
        task: one of :data:`TASKS`.
        layers: the feature set (see :func:`load_release`).
        protocol: ``"paper"`` or ``"corrected"``.
        method: ``"fast"`` or ``"gridsearch"``.
        nested: also compute the nested estimate.
        n_jobs: parallel fits.
        cache_dir: a folder for cached results (JSON keyed by the inputs and the feature files'
            sizes and times), or ``None`` for no cache.
        inner_folds: folds of the nested estimate's inner CV (see :func:`evaluate_task`).

    Returns:
        The dict of :func:`evaluate_task` (``scores_per_param`` as a DataFrame), plus ``task``,
        ``layers`` and ``cached`` (whether it came from the cache).

    Raises:
        DatasetError: a feature or label file is missing.
    """
    files = feature_files(features_dir, task, layers)
    cache_file = None
    if cache_dir is not None:
        missing = [p for p in files if not p.is_file()]
        if not missing:
            kind = f"nested{inner_folds}" if nested else "flat"
            key = f"{task}_{layers}_{protocol}_{method}_{kind}_{_fingerprint(files)}"
            cache_file = Path(cache_dir) / f"{key.replace('+', 'p')}.json"
            if cache_file.is_file():
                stored = json.loads(cache_file.read_text())
                stored["scores_per_param"] = pd.DataFrame(stored["scores_per_param"])
                stored["cached"] = True
                return stored
    X, y, groups = load_release(features_dir, task, layers)
    splits = cv_splits(task, load_labels(features_dir, task))
    result = evaluate_task(X, y, splits, task_type(task), protocol, method, nested, n_jobs, _inner_cv_for(task, groups),
                           inner_folds)
    result.update(task=task, layers=layers, cached=False)
    if cache_file is not None:
        from course_utils.cache import atomic_write_text

        stored = dict(result, scores_per_param=result["scores_per_param"].to_dict(orient="list"))
        atomic_write_text(cache_file, json.dumps(stored, default=str))
    return result


def paper_table(features_dir, tasks=TASKS, layer_sets=("01234", "mfcc"), protocol: str = "paper", nested: bool = False,
                progress: bool = True, method: str = "fast", n_jobs: int = 2, cache_dir=None,
                inner_folds: int = 10) -> pd.DataFrame:
    """Reproduce the paper's table of SVM scores from the released features.

    Used by notebook 04 and the ``course-utils paper-table`` command.

    Args:
        features_dir: the release folder (``.../choi2017``) or its ``features`` subfolder; ``None`` for
            the release as :func:`course_utils.release.fetch_release` finds it.
        tasks: the rows, from :data:`TASKS`.
        layer_sets: the column groups: ``"01234"`` (all layers), ``"mfcc"``, or any feature set of
            :func:`load_release`.
        protocol: ``"paper"`` (default: no standardisation, as published) or ``"corrected"``.
        nested: also compute the nested estimates (about ten times slower).
        progress: show a progress bar.
        method: ``"fast"`` or ``"gridsearch"`` (hours: the linear kernels on the MFCCs).
        n_jobs: parallel fits.
        cache_dir: reuse and store results in this folder (see :func:`evaluate_release`).
        inner_folds: folds of the nested estimate's inner CV (10; 5 takes about half the time).

    Returns:
        A DataFrame, one row per task (index ``task``), columns ``title``, then for each layer set
        ``<set>_score``, ``<set>_std`` (its standard deviation over the folds), ``<set>_published``,
        ``<set>_difference`` (score minus published),
        ``<set>_params`` (the best setting, in words), ``<set>_seconds``, ``<set>_nested`` (with
        ``nested``), and ``note`` (why a cell is missing, e.g. ``urbansound_mfcc.npy``). Missing
        feature files give NaN, not an error. ``df.attrs`` holds ``protocol``, ``note`` and
        ``seconds`` (the total).
    """
    from tqdm.auto import tqdm

    _check_choice("protocol", protocol, _PROTOCOLS)
    features_dir = _release_root(features_dir)
    rows = []
    start = time.perf_counter()
    cells = [(t, ls) for t in tasks for ls in layer_sets]
    bar = tqdm(total=len(cells), desc="paper table", disable=not progress)
    for task in tasks:
        row = {"task": task, "title": TASK_TITLES.get(task, task)}
        notes = []
        for ls in layer_sets:
            bar.set_postfix_str(f"{task} {ls}")
            published = PUBLISHED.get(task, {}).get(ls, np.nan)
            row.update({f"{ls}_score": np.nan, f"{ls}_std": np.nan, f"{ls}_published": published,
                        f"{ls}_difference": np.nan, f"{ls}_params": "", f"{ls}_seconds": np.nan})
            if nested:
                row[f"{ls}_nested"] = np.nan
            try:
                res = evaluate_release(features_dir, task, ls, protocol, method, nested, n_jobs, cache_dir, inner_folds)
            except DatasetError as exc:
                notes.append(f"{ls}: {exc}")
            else:
                row[f"{ls}_score"] = res["best_score"]
                row[f"{ls}_std"] = res.get("best_std", np.nan)  # older cached results lack it
                row[f"{ls}_difference"] = res["best_score"] - published
                row[f"{ls}_params"] = describe_params(res["best_params"])
                row[f"{ls}_seconds"] = res["seconds"]
                if nested:
                    row[f"{ls}_nested"] = res["nested_score"]
            bar.update(1)
        row["note"] = "; ".join(notes)
        rows.append(row)
    bar.close()
    df = pd.DataFrame(rows).set_index("task")
    df.attrs.update(protocol=protocol, note=protocol_note(protocol), seconds=time.perf_counter() - start,
                    layer_sets=list(layer_sets))
    return df


def describe_params(params: dict) -> str:
    """A setting of the grid in a few words, e.g. ``"rbf C=32 gamma=2^-7"``.

    Used by :func:`paper_table` and notebook 04.

    Args:
        params: one entry of :func:`param_grid`.

    Returns:
        The words.
    """
    text = f"{params['kernel']} C={params['C']:g}"
    gamma = params.get("gamma")
    if params["kernel"] == "rbf":
        text += " gamma=auto" if gamma == "auto" else f" gamma=2^{int(round(np.log2(float(gamma))))}"
    if params.get("scale"):
        text += " standardised"
    return text


def format_table(df: pd.DataFrame) -> str:
    """The table of :func:`paper_table` as readable text: paper against reproduction.

    Used by notebook 04 and the ``course-utils paper-table`` command.

    Args:
        df: the output of :func:`paper_table`.

    Returns:
        Lines of text: a header saying the protocol, one row per task with, for each layer set,
        the published score, ours and the difference, then the notes.
    """
    layer_sets = df.attrs.get("layer_sets") or [c[: -len("_score")] for c in df.columns if c.endswith("_score")]
    nested = any(f"{ls}_nested" in df.columns for ls in layer_sets)
    head = f"{'task':24s}"
    for ls in layer_sets:
        head += f" | {ls + ' paper':>12s} {'ours':>6s} {'diff':>7s}" + (f" {'nested':>7s}" if nested else "")
    lines = [f"SVM scores (accuracy; R² for emoMusic): {df.attrs.get('note', '')}", head, "-" * len(head)]

    def num(v, fmt):  # rounded first, so that a difference of -1e-16 prints as +0.000 on every machine
        return format(round(float(v), 3) + 0.0, fmt) if pd.notna(v) else "—"

    for task, row in df.iterrows():
        line = f"{row.get('title', task):24s}"
        for ls in layer_sets:
            line += (f" | {num(row[f'{ls}_published'], '12.3f')} {num(row[f'{ls}_score'], '6.3f')}"
                     f" {num(row[f'{ls}_difference'], '+7.3f')}")
            if nested:
                line += f" {num(row.get(f'{ls}_nested'), '7.3f')}"
        lines.append(line)
    notes = [f"{task}: {row['note']}" for task, row in df.iterrows() if row.get("note")]
    if notes:
        lines += ["", "notes:"] + [f"  {n}" for n in notes]
    if "seconds" in df.attrs:
        lines.append(f"({df.attrs['seconds']:.0f} s)")
    return "\n".join(lines)


def layer_heatmap_scores(features_dir, task: str, combos=HEATMAP_COMBOS, protocol: str = "paper", n_jobs: int = 2,
                         progress: bool = True, cache_dir=None) -> pd.DataFrame:
    """Best grid scores of layer combinations, for the paper's heatmap (fast method only).

    Used by notebook 04 (the figure of scores per layer combination and task).

    Args:
        features_dir: the release folder or its ``features`` subfolder.
        task: one of :data:`TASKS`.
        combos: layer combinations such as ``"0"``, ``"12"``, ``"01234"``.
        protocol: ``"paper"`` or ``"corrected"``.
        n_jobs: parallel fits.
        progress: show a progress bar.
        cache_dir: reuse and store results (see :func:`evaluate_release`).

    Returns:
        A DataFrame indexed by combination with ``score``, ``params`` (in words) and ``seconds``.
    """
    from tqdm.auto import tqdm

    rows = []
    for combo in tqdm(combos, desc=f"{task} layers", disable=not progress):
        res = evaluate_release(features_dir, task, combo, protocol, "fast", False, n_jobs, cache_dir)
        rows.append({"combo": combo, "score": res["best_score"], "params": describe_params(res["best_params"]),
                     "seconds": res["seconds"]})
    return pd.DataFrame(rows).set_index("combo")


# --------------------------------------------------------------------------------------------
# Where the errors are


def _predict_split(X, y, train_idx, test_idx, params: dict, task_type: str) -> np.ndarray:
    """Fit one grid setting on a split with the fast machinery; predictions in ``test_idx`` order."""
    blocks = _Blocks(X, y, np.asarray(train_idx), np.asarray(test_idx), bool(params.get("scale")), task_type)
    if params["kernel"] == "linear":
        return _linear_fit_predict(blocks, params["C"], task_type)[0]
    Ktr, Kte = _rbf_kernels(blocks, params["gamma"])
    return _estimator(task_type, params["C"]).fit(Ktr, blocks.ytr).predict(Kte)


def cv_predictions(X, y, splits, params: dict, task_type: str = "classification") -> np.ndarray:
    """Out-of-fold predictions of one SVM setting: each clip predicted by the split that tests it.

    Uses the fast method's kernels and solvers (:func:`evaluate_task`). Used by
    :func:`release_confusion_matrix` (notebook 04's confusion matrices).

    Args:
        X: (n_clips, n_features) features.
        y: class ids (or targets, for regression).
        splits: ``(train_idx, test_idx)`` pairs.
        params: a setting of :func:`param_grid` (``kernel``, ``C``, ``gamma``, ``scale``).
        task_type: ``"classification"`` or ``"regression"``.

    Returns:
        One prediction per clip; clips that no split tests (Jamendo's train and valid parts) get
        ``-1`` (classification) or NaN (regression).
    """
    _check_choice("task_type", task_type, _TASK_TYPES)
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64 if task_type == "regression" else None)
    from sklearn.exceptions import ConvergenceWarning

    pred = np.full(len(y), np.nan) if task_type == "regression" else np.full(len(y), -1, dtype=np.int64)
    with warnings.catch_warnings():  # libsvm's iteration cap is deliberate: the exact solver takes over
        warnings.filterwarnings("ignore", message=".*terminated early.*", category=ConvergenceWarning)
        for train_idx, test_idx in splits:
            pred[np.asarray(test_idx)] = _predict_split(X, y, train_idx, test_idx, params, task_type)
    return pred


def release_confusion_matrix(features_dir, task: str, layers: str = "01234", protocol: str = "paper",
                             params: dict | None = None, n_jobs: int = 2, cache_dir=None):
    """The confusion matrix of a classification task of the release at its best setting, over its test folds.

    Every clip is predicted once, by the model of the split that holds it out (for Jamendo only
    the test clips count). Used by notebook 04.

    Args:
        features_dir: a folder in the release layout.
        task: a classification task of :data:`TASKS`.
        layers: the feature set (see :func:`load_release`).
        protocol: ``"paper"`` or ``"corrected"`` (to find the best setting).
        params: the setting to use instead of the best one of :func:`evaluate_release`.
        n_jobs: parallel fits when searching the best setting.
        cache_dir: reuse and store the grid search (see :func:`evaluate_release`).

    Returns:
        ``(matrix, class_ids)``: counts with true classes in rows and predicted classes in columns,
        and the class ids of the rows and columns.

    Raises:
        CourseError: the task is a regression.
    """
    from sklearn.metrics import confusion_matrix

    if task_type(task) != "classification":
        raise CourseError(f"{task} is a regression task: it has no confusion matrix")
    if params is None:
        params = evaluate_release(features_dir, task, layers, protocol, "fast", False, n_jobs, cache_dir)["best_params"]
    X, y, _ = load_release(features_dir, task, layers)
    pred = cv_predictions(X, y, cv_splits(task, load_labels(features_dir, task)), params)
    tested = pred >= 0
    classes = np.unique(y)
    return confusion_matrix(y[tested], pred[tested], labels=classes), classes


# --------------------------------------------------------------------------------------------
# The course's own datasets

#: How each course dataset is scored: ``(title, task type, split column, target column)`` rows.
COURSE_TASKS = {
    "ballroom_extended": [("Extended Ballroom", "classification", None, None)],
    "gtzan_genre": [("GTZAN genre", "classification", None, None)],
    "gtzan_speechmusic": [("GTZAN speech/music", "classification", None, None)],
    "emomusic": [("emoMusic arousal (R²)", "regression", None, "arousal"),
                 ("emoMusic valence (R²)", "regression", None, "valence")],
    "jamendo_vocal": [("Jamendo voice", "classification", "split", None)],
    "urbansound8k": [("UrbanSound8K", "classification", "fold", None)],
}


def compare_features(name: str, table: pd.DataFrame, features: dict, *, protocol: str = "paper") -> pd.DataFrame:
    """Best-of-grid scores of several feature sets on one course dataset, with its own split.

    Used by notebook 03 (the authors' features against the course's).

    Args:
        name: a course dataset name (a key of :data:`COURSE_TASKS`).
        table: its table (:func:`course_utils.datasets.load_dataset`), rows in feature order.
        features: feature-set name -> ``(n_clips, n_features)`` array.
        protocol: ``"paper"`` or ``"corrected"``.

    Returns:
        One row per (task, feature set): ``task``, ``feature``, ``score``, ``std`` (over folds).
    """
    rows = []
    for title, kind, split, target in COURSE_TASKS[name]:
        scored = table
        if kind == "regression":  # ratings on the release's 0-1 scale, as in notebook 04 (SVR's epsilon is absolute)
            scored = table.assign(**{target: table[target] / 9.0})
        for feature, X in features.items():
            result = evaluate_features(X, scored, kind, split_column=split, target=target, protocol=protocol, nested=False)
            rows.append({"task": title, "feature": feature, "score": result["best_score"],
                         "std": result.get("best_std", np.nan)})
    return pd.DataFrame(rows)
