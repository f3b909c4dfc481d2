"""Train/test splits of the SVM protocol: k folds, train+valid against test, official folds.

The paper's splits (:func:`cv_splits`): 10-fold cross-validation *without shuffling*, as in the
authors' code (``cv=10``; stratified for classification). Shuffled folds score GTZAN genre .92
instead of the published .898: consecutive GTZAN files share artists, so unshuffled folds are
partly artist-filtered. Jamendo: train+valid against test. UrbanSound8K: its 10 official folds.
Which task uses which is its ``split`` in :mod:`course_utils.tasks.registry`.

The nested estimate of :func:`course_utils.svm.protocol.evaluate_task` needs an inner split of each
outer training set: :func:`inner_cv_for` (select on valid for Jamendo, leave one training fold
out for UrbanSound8K, else plain k folds).

The outer folds of a table of your own clips (:func:`outer_splits`: shuffled, stratified, groups
kept apart, or the table's own fold numbers) are made from the same pieces (:func:`stratified_kfold`,
:func:`predefined_folds`); :mod:`course_utils.own.classifiers` uses them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from course_utils.core.errors import CourseError, DatasetError
from course_utils.core.validate import check_range
from course_utils.tasks import registry


def stratified_kfold(n_splits: int, *, shuffle: bool = False, seed: int = 0, grouped: bool = False):
    """The stratified k-fold splitter of the course (scikit-learn's, grouped or not).

    Args:
        n_splits: the number of folds.
        shuffle: shuffle before splitting.
        seed: the shuffling seed (ignored without shuffling).
        grouped: keep each group on one side of every split (``split(X, y, groups)``).

    Returns:
        A ``StratifiedGroupKFold`` or ``StratifiedKFold``.
    """
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    splitter = StratifiedGroupKFold if grouped else StratifiedKFold
    return splitter(n_splits, shuffle=shuffle, random_state=seed if shuffle else None)


def kfold_splits(y, task_type: str = "classification", n_splits: int = 10, shuffle: bool = False, seed: int = 0) -> list:
    """K-fold splits: stratified for classification, plain for regression.

    Args:
        y: the labels.
        task_type: ``"classification"`` or ``"regression"``.
        n_splits: the number of folds (lowered to the smallest class size if needed, at least 2).
        shuffle: shuffle before splitting (the paper did not).
        seed: the shuffling seed (ignored without shuffling).

    Returns:
        A list of ``(train_idx, test_idx)`` integer arrays.
    """
    from sklearn.model_selection import KFold

    y = np.asarray(y)
    if task_type == "classification":
        smallest = int(np.unique(y, return_counts=True)[1].min())
        cv = stratified_kfold(max(2, min(n_splits, smallest)), shuffle=shuffle, seed=seed)
    else:
        cv = KFold(min(n_splits, len(y)), shuffle=shuffle, random_state=seed if shuffle else None)
    return [(tr.astype(np.intp), te.astype(np.intp)) for tr, te in cv.split(np.zeros((len(y), 1)), y)]


def split_vs_test(split) -> list:
    """One split: every row whose split is not ``"test"`` (train and valid) against the test rows.

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
    """Leave-one-fold-out splits from a fold column (UrbanSound8K's official folds, a table's ``fold``).

    Args:
        folds: one fold id per row; rows of fold ``-1`` are always training rows (as in
            scikit-learn's ``PredefinedSplit``).

    Returns:
        One ``(train_idx, test_idx)`` per fold id other than ``-1``, in sorted fold order.
    """
    folds = np.asarray(folds)
    ids = np.unique(folds)
    return [(np.flatnonzero(folds != f), np.flatnonzero(folds == f)) for f in ids[ids != -1]]


def outer_splits(y, *, folds=None, groups=None, n_splits: int = 5, seed: int = 0) -> list:
    """The outer folds of a nested cross-validation of a table of your own clips.

    Args:
        y: class labels.
        folds: a predefined fold number per clip (a table's ``fold`` column), or ``None``.
        groups: a group per clip (e.g. the artist) that must not straddle folds, or ``None``.
        n_splits: the number of shuffled, stratified folds, lowered to the smallest class's size
            (and the number of groups).
        seed: the shuffle's seed.

    Returns:
        A list of ``(train_indices, test_indices)``.

    Raises:
        DatasetError: empty or fewer than 2 fold numbers, a class of one clip, fewer than 2 groups.
    """
    y = np.asarray(y)
    check_range("outer folds", n_splits, low=2, integer=True)
    if folds is not None:
        values = pd.Series(np.asarray(folds))
        if values.isna().any():
            raise DatasetError("the 'fold' column has empty cells: give every clip a fold number")
        kept = sorted(set(values[values != -1]))
        if len(kept) < 2:
            raise DatasetError(f"the 'fold' column has {len(kept)} fold number(s) {kept}: cross-validation needs at "
                               "least 2 (each fold is held out once); give at least two, or remove the column")
        return predefined_folds(values.to_numpy())
    k = min(n_splits, int(pd.Series(y).value_counts().min()))
    if k < 2:
        raise DatasetError("a class has fewer than 2 clips: cross-validation needs at least 2 per class")
    if groups is not None:
        n_groups = len(set(np.asarray(groups)))
        if n_groups < 2:
            raise DatasetError(f"the 'group' column has {n_groups} value(s): clips of one group never straddle a "
                               "split, so at least 2 groups are needed; give more groups, or remove the column")
        k = min(k, n_groups)
    splitter = stratified_kfold(k, shuffle=True, seed=seed, grouped=groups is not None)
    return list(splitter.split(np.zeros(len(y)), y, groups))


def cv_splits(task: str, labels_df: pd.DataFrame, seed: int = 0, shuffle: bool = False) -> list:
    """The paper's splits of one task.

    Args:
        task: one of :func:`course_utils.tasks.registry.names`.
        labels_df: its label table (:func:`course_utils.tasks.release.load_labels`).
        seed: seed of the fold shuffling, used only with ``shuffle=True``.
        shuffle: shuffle before the 10-fold split. The published numbers come from unshuffled
            folds (the authors passed ``cv=10``); shuffled GTZAN folds score about .02 higher.

    Returns:
        ``(train_idx, test_idx)`` pairs: Jamendo one split (train+valid vs test), UrbanSound8K its
        10 official folds, the others 10 folds (stratified for classification).
    """
    spec = registry.get(task)
    if spec.split == "train_valid_test":
        return split_vs_test(labels_df[spec.release_split_column])
    if spec.split == "official_folds":
        return predefined_folds(labels_df[spec.release_split_column])
    return kfold_splits(labels_df[spec.release_label].to_numpy(), spec.task_type, 10, shuffle, seed)


def inner_train_vs_valid(split):
    """Nested estimate's inner CV for a train/valid/test dataset: select on valid, as it intends.

    Args:
        split: one ``"train"``, ``"valid"`` or ``"test"`` per row.

    Returns:
        ``inner(train_idx) -> [(train_idx, valid_idx)]`` in absolute row indices, or ``None`` when
        the outer training rows lack train or valid rows.
    """
    split = np.asarray(split).astype(str)

    def inner(train_idx):
        tr, va = train_idx[split[train_idx] == "train"], train_idx[split[train_idx] == "valid"]
        return [(tr, va)] if len(tr) and len(va) else None
    return inner


def inner_by_fold(folds):
    """Nested estimate's inner CV for a dataset with official folds: leave one training fold out.

    Args:
        folds: one fold id per row.

    Returns:
        ``inner(train_idx) -> [(train_idx, test_idx), ...]`` in absolute row indices, or ``None``
        when the outer training rows hold a single fold.
    """
    folds = np.asarray(folds)

    def inner(train_idx):
        if len(np.unique(folds[train_idx])) < 2:
            return None
        return [(train_idx[tr], train_idx[te]) for tr, te in predefined_folds(folds[train_idx])]
    return inner


def inner_cv_for(task: str, groups):
    """The inner CV of the nested estimate for a task of the table.

    Args:
        task: one of :func:`course_utils.tasks.registry.names`.
        groups: the split column of :func:`course_utils.tasks.release.load_release` (``None`` for k folds).

    Returns:
        :func:`inner_train_vs_valid`, :func:`inner_by_fold`, or ``None`` (plain k folds).
    """
    split = registry.get(task).split
    if split == "train_valid_test":
        return inner_train_vs_valid(groups)
    if split == "official_folds":
        return inner_by_fold(groups)
    return None
