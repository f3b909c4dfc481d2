"""The paper's SVM grid search, made fast: precomputed kernels in threads, an exact linear solver.

The grid (:func:`param_grid`): C in {0.1, 2, 8, 32} with an RBF kernel and gamma in
{2^-3, 2^-5, ..., 2^-13, 'auto' = 1/n_features}, plus a linear kernel with the same C values; an
SVC (accuracy) or an SVR (R², epsilon :data:`SVR_EPSILON`), with standardisation off (protocol
``"paper"``) or on and off (``"corrected"``). :class:`SVMGridSearch` scores every setting on
given splits, scikit-learn style (``best_params_``, ``best_score_``, ``cv_results_``).

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
  of features, not on the conditioning (:func:`course_utils.svm.linear.linear_svm_ipm`), and their
  decision values enter libsvm's one-against-one vote. On the released features, the exact
  optimum's scores differ from those of libsvm's tolerance-1e-3 stopping point by at most 0.002 in
  a 10-fold mean (0.0035 on a single fold); every best score of the table is unchanged;
- fits run in threads (libsvm releases the GIL), ``n_jobs`` at a time.
"""

from __future__ import annotations

import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from course_utils.core.errors import CourseError, ParameterError
from course_utils.svm import linear
from course_utils.svm.linear import linear_svm_ipm
from course_utils.tasks.splits import kfold_splits

#: The C values of the grid.
C_VALUES = (0.1, 2.0, 8.0, 32.0)
#: The RBF gammas of the grid; ``"auto"`` is 1 / n_features.
GAMMAS = tuple(0.5 ** i for i in (3, 5, 7, 9, 11, 13)) + ("auto",)
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

#: The protocols: standardisation never (``paper``), or on and off in the grid (``corrected``).
PROTOCOLS = ("paper", "corrected")
#: The methods: precomputed kernels in threads, or plain ``GridSearchCV``.
METHODS = ("fast", "gridsearch")
#: SVC (accuracy) or SVR (R²).
TASK_TYPES = ("classification", "regression")


# --------------------------------------------------------------------------------------------
# The grid


def param_grid(protocol: str = "paper") -> list[dict]:
    """The candidate settings of the grid search, in a fixed order.


    Args:
        protocol: ``"paper"`` (32 settings, never standardised) or ``"corrected"`` (64: each
            setting with and without standardisation).

    Returns:
        A list of dicts with keys ``kernel`` (``"rbf"`` or ``"linear"``), ``C``, ``gamma``
        (a float, ``"auto"``, or ``None`` for the linear kernel) and ``scale`` (bool).
    """
    check_choice("protocol", protocol, PROTOCOLS)
    grid = []
    for scale in ((False,) if protocol == "paper" else (False, True)):
        grid += [{"kernel": "rbf", "C": c, "gamma": g, "scale": scale} for c in C_VALUES for g in GAMMAS]
        grid += [{"kernel": "linear", "C": c, "gamma": None, "scale": scale} for c in C_VALUES]
    return grid


def check_choice(name: str, value, choices) -> None:
    """Raise a :class:`~course_utils.core.errors.CourseError` naming ``name`` and its choices unless ``value`` is one."""
    if value not in choices:
        raise ParameterError(f"{name} must be one of {list(choices)}, not {value!r}")


def _gamma_value(gamma, n_features: int) -> float:
    return 1.0 / n_features if gamma == "auto" else float(gamma)


def check_inputs(X, y, splits, task_type: str):
    """Features, labels and splits as the grid search takes them, or one clear error.

    Args:
        X: (n_clips, n_features) features.
        y: one label (or target) per row of ``X``.
        splits: ``(train_idx, test_idx)`` pairs.
        task_type: ``"classification"`` or ``"regression"`` (float64 targets).

    Returns:
        ``(X, y, splits)``: contiguous float64 ``X``, ``y`` as an array, integer index arrays.

    Raises:
        CourseError: the shapes disagree or there are no splits.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64 if task_type == "regression" else None)
    if X.ndim != 2 or len(X) != len(y):
        raise ParameterError(f"X must be (n_clips, n_features) with one row per label; got X {X.shape} and {len(y)} labels")
    splits = [(np.asarray(tr, dtype=np.intp), np.asarray(te, dtype=np.intp)) for tr, te in splits]
    if not splits:
        raise CourseError("no splits to evaluate")
    return X, y, splits


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


def _ipm_svr_fit_predict(Ztr, ytr, Zte, C: float):
    """A linear SVR (tube :data:`SVR_EPSILON`) solved exactly: ``(predictions, converged)``."""
    return linear.svr_fit_predict(Ztr, ytr, Zte, C, SVR_EPSILON)


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
    hit the cap are solved again by :func:`course_utils.svm.linear.linear_svm_ipm`, and their decision values replace
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
# Scores of every setting, predictions of one


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


class SVMGridSearch:
    """The paper's grid of SVMs scored on given splits, with scikit-learn's result attributes.

    Like ``GridSearchCV(..., refit=False)`` over :func:`param_grid`, but fast (see the module's
    notes); the best setting is the one of best mean score over the splits (the paper's number,
    which selects on the test folds: optimistic).

    >>> search = SVMGridSearch(cv=10).fit(X, y)
    >>> search.best_params_, search.best_score_
    >>> pd.DataFrame(search.cv_results_)

    Args:
        task_type: ``"classification"`` (SVC, accuracy) or ``"regression"`` (SVR, R²).
        protocol: ``"paper"`` (never standardise, as every published score) or ``"corrected"``
            (standardisation on and off in the grid).
        method: ``"fast"`` (precomputed kernels in threads; exact interior-point solver for slow
            linear kernels) or ``"gridsearch"`` (plain ``GridSearchCV``, slow).
        n_jobs: parallel fits.
        cv: ``(train_idx, test_idx)`` pairs, or a number of unshuffled folds
            (:func:`course_utils.tasks.splits.kfold_splits`, stratified for classification).

    Attributes (after :meth:`fit`):
        best_params_: the best setting (a dict of :func:`param_grid`).
        best_score_: its mean score over the splits.
        best_std_: its standard deviation over the splits (NaN for a single split).
        best_index_: its index in :attr:`cv_results_`.
        cv_results_: a dict of arrays, one entry per setting, as scikit-learn's: ``params``,
            ``param_kernel``, ``param_C``, ``param_gamma``, ``param_scale``, ``split<k>_test_score``,
            ``mean_test_score``, ``std_test_score``, ``rank_test_score``, ``mean_fit_time`` and
            ``std_fit_time`` (seconds per split, prediction included), and ``solver`` (``libsvm``,
            or ``ipm`` where the exact linear solver took over).
        scores_per_param_: the same as a DataFrame: the settings, ``mean_score``, ``std_score``,
            ``rank``, ``solver``, ``fit_seconds`` (summed over splits), ``split<k>``.
        scores_: (n_settings, n_splits) scores.
        n_splits_: the number of splits.
    """

    def __init__(self, task_type: str = "classification", protocol: str = "paper", method: str = "fast",
                 n_jobs: int = 2, cv=10):
        self.task_type = task_type
        self.protocol = protocol
        self.method = method
        self.n_jobs = n_jobs
        self.cv = cv

    def fit(self, X, y):
        """Score every setting of the grid on every split.

        Args:
            X: (n_clips, n_features) features.
            y: class ids (classification) or targets (regression).

        Returns:
            ``self``, with the attributes above.

        Raises:
            CourseError: an unknown task type, protocol or method, shapes that disagree, or no splits.
        """
        check_choice("task_type", self.task_type, TASK_TYPES)
        check_choice("protocol", self.protocol, PROTOCOLS)
        check_choice("method", self.method, METHODS)
        cv = kfold_splits(y, self.task_type, int(self.cv)) if isinstance(self.cv, (int, np.integer)) else self.cv
        X, y, splits = check_inputs(X, y, cv, self.task_type)
        grid = param_grid(self.protocol)
        scores, solvers, seconds = _grid_scores(X, y, splits, grid, self.task_type, self.method, self.n_jobs)
        table = _scores_frame(grid, scores, solvers, seconds)
        best = int(np.argmax(table["mean_score"].to_numpy()))
        self.scores_, self.scores_per_param_, self.n_splits_ = scores, table, len(splits)
        self.best_index_ = best
        self.best_params_ = dict(grid[best])
        self.best_score_ = float(table["mean_score"].iloc[best])
        self.best_std_ = float(table["std_score"].iloc[best]) if len(splits) > 1 else float("nan")
        self.cv_results_ = _cv_results(grid, table, seconds)
        return self


def _cv_results(grid, table: pd.DataFrame, seconds) -> dict:
    """:attr:`SVMGridSearch.cv_results_` from the settings, their score table and fit seconds."""
    results = {"mean_fit_time": seconds.mean(axis=1), "std_fit_time": seconds.std(axis=1)}
    for key in ("kernel", "C", "gamma", "scale"):
        results[f"param_{key}"] = np.array([p[key] for p in grid], dtype=object)
    results["params"] = [dict(p) for p in grid]
    for s in range(seconds.shape[1]):
        results[f"split{s}_test_score"] = table[f"split{s}"].to_numpy()
    results["mean_test_score"] = table["mean_score"].to_numpy()
    results["std_test_score"] = table["std_score"].to_numpy()
    results["rank_test_score"] = table["rank"].to_numpy(np.int32)
    results["solver"] = table["solver"].to_numpy()
    return results


def _predict_split(X, y, train_idx, test_idx, params: dict, task_type: str) -> np.ndarray:
    """Fit one grid setting on a split with the fast machinery; predictions in ``test_idx`` order."""
    blocks = _Blocks(X, y, np.asarray(train_idx), np.asarray(test_idx), bool(params.get("scale")), task_type)
    if params["kernel"] == "linear":
        return _linear_fit_predict(blocks, params["C"], task_type)[0]
    Ktr, Kte = _rbf_kernels(blocks, params["gamma"])
    return _estimator(task_type, params["C"]).fit(Ktr, blocks.ytr).predict(Kte)


def cv_predictions(X, y, splits, params: dict, task_type: str = "classification") -> np.ndarray:
    """Out-of-fold predictions of one SVM setting: each clip predicted by the split that tests it.

    Uses the fast method's kernels and solvers (the fault-filtered GTZAN test score of
    :mod:`course_utils.svm.gtzan_filtered`).

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
    check_choice("task_type", task_type, TASK_TYPES)
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64 if task_type == "regression" else None)
    from sklearn.exceptions import ConvergenceWarning

    pred = np.full(len(y), np.nan) if task_type == "regression" else np.full(len(y), -1, dtype=np.int64)
    with warnings.catch_warnings():  # libsvm's iteration cap is deliberate: the exact solver takes over
        warnings.filterwarnings("ignore", message=".*terminated early.*", category=ConvergenceWarning)
        for train_idx, test_idx in splits:
            pred[np.asarray(test_idx)] = _predict_split(X, y, train_idx, test_idx, params, task_type)
    return pred
