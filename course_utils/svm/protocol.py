"""SVMs on transferred features: the evaluation protocol of Choi et al. (ISMIR 2017), made fast.

Choi, Fazekas, Sandler and Cho, "Transfer learning for music classification and regression
tasks", fed convnet features (5 layers x 32 = 160 values per clip) and a 120-value MFCC baseline
to SVMs on six tasks. This module reproduces their table from the released features
(:mod:`course_utils.tasks.release`): notebook 04 and ``course-utils paper-table``.

The protocol:

- pipeline: optional standardisation, then an SVC (accuracy) or, for emoMusic arousal and valence
  separately, an SVR (R²);
- grid (:func:`~course_utils.svm.grid.param_grid`): C in {0.1, 2, 8, 32} with an RBF kernel and
  gamma in {2^-3, 2^-5, ..., 2^-13, 'auto' = 1/n_features}, plus a linear kernel with the same C
  values; searched fast by :class:`~course_utils.svm.grid.SVMGridSearch` (precomputed kernels in
  threads, an exact interior-point solver, :mod:`course_utils.svm.linear`, where libsvm is slow);
- splits (:mod:`course_utils.tasks.splits`): 10-fold cross-validation *without shuffling*, as in the
  authors' code; Jamendo: train+valid against test; UrbanSound8K: its 10 official folds. The
  tasks, their splits and published scores are the records of :mod:`course_utils.tasks.registry`;
- the published number is the best mean score over the grid, which selects on the test folds
  and is optimistic; :func:`evaluate_task` also gives a nested estimate (an inner
  cross-validation on each outer training set picks the parameters, the outer fold scores them).

Standardisation, and why there are two protocols: in the authors' code the scaler's switch was
inert (``OptionalStandardScaler`` read its ``on`` flag in ``__init__`` only, and
``GridSearchCV`` sets parameters after cloning), so every published score is the best of the
grid *without* standardisation. ``protocol="paper"`` (the default) reproduces that: the scaler is
off everywhere. ``protocol="corrected"`` really puts standardisation on and off in the grid.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd

from course_utils.core.cache import cache_file, cache_key
from course_utils.core.errors import DatasetError
from course_utils.svm.grid import check_choice, check_inputs, METHODS, PROTOCOLS, SVMGridSearch, TASK_TYPES
from course_utils.svm.report import describe_params, protocol_note
from course_utils.tasks import registry
from course_utils.tasks.registry import task_type
from course_utils.tasks.release import feature_files, load_labels, load_release, release_root
from course_utils.tasks.splits import cv_splits, inner_cv_for, kfold_splits

#: Bump when the scores of :func:`evaluate_release` change for the same inputs (invalidates its cache).
RELEASE_SCORES_VERSION = 1


# --------------------------------------------------------------------------------------------
# The evaluation of one task


def evaluate_task(X, y, splits, task_type: str = "classification", protocol: str = "paper", method: str = "fast",
                  nested: bool = True, n_jobs: int = 2, inner_cv=None, inner_folds: int = 10) -> dict:
    """Grid-search SVMs on one feature set as the paper did, with an honest nested estimate beside it.

    The grid search is :class:`~course_utils.svm.grid.SVMGridSearch`, run on the splits and, for
    the nested estimate, on each outer training set.

    Args:
        X: (n_clips, n_features) features.
        y: class ids (classification) or targets (regression).
        splits: ``(train_idx, test_idx)`` pairs (:func:`~course_utils.tasks.splits.cv_splits`).
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
    check_choice("task_type", task_type, TASK_TYPES)
    check_choice("protocol", protocol, PROTOCOLS)
    check_choice("method", method, METHODS)
    start, cpu_start = time.perf_counter(), time.process_time()
    X, y, splits = check_inputs(X, y, splits, task_type)
    search = SVMGridSearch(task_type, protocol, method, n_jobs, cv=splits).fit(X, y)
    result = {"best_score": search.best_score_, "best_params": search.best_params_, "best_std": search.best_std_,
              "nested_score": None, "nested_params": None, "scores_per_param": search.scores_per_param_}
    if nested:
        chosen, outer = [], []
        for s, (tr, _) in enumerate(splits):
            inner = inner_cv(tr) if inner_cv is not None else None
            if inner is None:
                inner = [(tr[a], tr[b]) for a, b in kfold_splits(y[tr], task_type, inner_folds)]
            inner_search = SVMGridSearch(task_type, protocol, method, n_jobs, cv=inner).fit(X, y)
            chosen.append(inner_search.best_params_)
            outer.append(search.scores_[inner_search.best_index_, s])
        result["nested_score"] = float(np.mean(outer))
        result["nested_params"] = chosen
    result.update(seconds=time.perf_counter() - start, cpu_seconds=time.process_time() - cpu_start, protocol=protocol,
                  method=method, note=protocol_note(protocol))
    return result


# --------------------------------------------------------------------------------------------
# The paper's table


def evaluate_release(release_dir, task: str, layers: str = "01234", protocol: str = "paper", method: str = "fast",
                     nested: bool = False, n_jobs: int = 2, cache: bool = False, inner_folds: int = 10) -> dict:
    """Evaluate one released feature set of one task (one cell of the paper's table).


    Args:
        release_dir: the release folder (``.../choi2017``) or its ``features`` subfolder.
        task: one of :func:`course_utils.tasks.registry.names`.
        layers: the feature set (see :func:`load_release`).
        protocol: ``"paper"`` or ``"corrected"``.
        method: ``"fast"`` or ``"gridsearch"``.
        nested: also compute the nested estimate.
        n_jobs: parallel fits.
        cache: reuse and store the result, ``data/cache/release_scores/<key>.json``
            (:func:`course_utils.core.cache.cache_file`; the key holds the feature files and the
            parameters).
        inner_folds: folds of the nested estimate's inner CV (see :func:`evaluate_task`).

    Returns:
        The dict of :func:`evaluate_task` (``scores_per_param`` as a DataFrame), plus ``task``,
        ``layers`` and ``cached`` (whether it came from the cache).

    Raises:
        DatasetError: a feature or label file is missing.
    """
    files = feature_files(release_dir, task, layers)
    stored_at = None
    if cache and all(p.is_file() for p in files):
        kind = f"nested{inner_folds}" if nested else "flat"
        stored_at = cache_file("release_scores", cache_key(
            version=f"release-scores-{RELEASE_SCORES_VERSION}", files=files,
            params={"task": task, "layers": layers, "protocol": protocol, "method": method, "kind": kind}), ".json")
        if stored_at.is_file():
            stored = json.loads(stored_at.read_text())
            stored["scores_per_param"] = pd.DataFrame(stored["scores_per_param"])
            stored["cached"] = True
            return stored
    X, y, groups = load_release(release_dir, task, layers)
    splits = cv_splits(task, load_labels(release_dir, task))
    result = evaluate_task(X, y, splits, task_type(task), protocol, method, nested, n_jobs, inner_cv_for(task, groups),
                           inner_folds)
    result.update(task=task, layers=layers, cached=False)
    if stored_at is not None:
        from course_utils.core.files import atomic_write_text

        stored = dict(result, scores_per_param=result["scores_per_param"].to_dict(orient="list"))
        atomic_write_text(stored_at, json.dumps(stored, default=str))
    return result


def paper_table(release_dir, tasks=None, layer_sets=("01234", "mfcc"), protocol: str = "paper", nested: bool = False,
                progress: bool = True, method: str = "fast", n_jobs: int = 2, cache: bool = False,
                inner_folds: int = 10) -> pd.DataFrame:
    """Reproduce the paper's table of SVM scores from the released features.

    Notebook 04 and ``course-utils paper-table``.

    Args:
        release_dir: the release folder (``.../choi2017``) or its ``features`` subfolder; ``None`` for
            the release already on this machine (:func:`course_utils.tasks.release.release_root`).
        tasks: the rows, task names of :mod:`course_utils.tasks.registry` (``None``: all seven, in the paper's order).
        layer_sets: the column groups: ``"01234"`` (all layers), ``"mfcc"``, or any feature set of
            :func:`load_release`.
        protocol: ``"paper"`` (default: no standardisation, as published) or ``"corrected"``.
        nested: also compute the nested estimates (about ten times slower).
        progress: show a progress bar.
        method: ``"fast"`` or ``"gridsearch"`` (hours: the linear kernels on the MFCCs).
        n_jobs: parallel fits.
        cache: reuse and store results (see :func:`evaluate_release`).
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
    from course_utils.core.progress import tqdm

    check_choice("protocol", protocol, PROTOCOLS)
    release_dir = release_root(release_dir)
    rows = []
    start = time.perf_counter()
    tasks = list(registry.names() if tasks is None else tasks)
    cells = [(t, ls) for t in tasks for ls in layer_sets]
    bar = tqdm(total=len(cells), desc="paper table", disable=not progress)
    for task in tasks:
        record = registry.REGISTRY.get(task)
        row = {"task": task, "title": record.title if record else task}
        notes = []
        for ls in layer_sets:
            bar.set_postfix_str(f"{task} {ls}")
            published = record.published.get(ls, np.nan) if record else np.nan
            row.update({f"{ls}_score": np.nan, f"{ls}_std": np.nan, f"{ls}_published": published,
                        f"{ls}_difference": np.nan, f"{ls}_params": "", f"{ls}_seconds": np.nan})
            if nested:
                row[f"{ls}_nested"] = np.nan
            try:
                res = evaluate_release(release_dir, task, ls, protocol, method, nested, n_jobs, cache, inner_folds)
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
