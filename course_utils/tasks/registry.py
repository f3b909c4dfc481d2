"""The transfer tasks of Choi et al. (ISMIR 2017): one record per task, every fact of it in one place.

A transfer task scores a feature set on one dataset: the six course datasets of
:mod:`course_utils.datasets` give seven tasks (emoMusic is two regressions, arousal and
valence). Each :class:`TransferTask` says which dataset it comes from, its name in the authors'
release, its title, its metric, its split, its published scores and how its labels are rescaled
for the release's files. Ask :data:`REGISTRY` (:func:`get`, :func:`names`, :func:`release_tasks`);
the tables :data:`TASKS`, :data:`PUBLISHED` and :data:`TASK_TITLES` remain only for the notebooks.

This module is at the data layer: it imports nothing of the course but its errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from course_utils.core.errors import ParameterError

#: Split kinds: ``kfold`` (10 unshuffled folds, stratified for classification), ``train_valid_test``
#: (train+valid against test; a nested search selects on valid), ``official_folds`` (leave one
#: official fold out).
SPLIT_KINDS = ("kfold", "train_valid_test", "official_folds")
#: The column of a split kind in a course dataset table (:class:`course_utils.datasets.DatasetSpec`).
COURSE_SPLIT_COLUMNS = {"kfold": None, "train_valid_test": "split", "official_folds": "fold"}
#: The column of a split kind in the release's label files (``labels/<task>.csv``).
RELEASE_SPLIT_COLUMNS = {"kfold": None, "train_valid_test": "category", "official_folds": "fold"}
#: Metrics and the kind of task each scores.
METRICS = {"accuracy": "classification", "r2": "regression"}


@dataclass(frozen=True)
class TransferTask:
    """One transfer task: a row of the paper's table.

    Attributes:
        name: the task's name in the paper's table, e.g. ``"emoMusic_arousal"``.
        title: its title, for tables and plots.
        dataset: the course dataset it comes from (:func:`course_utils.datasets.load_dataset`).
        release_name: the stem of its files in the authors' release (``features/<stem>_layer_<i>.npy``,
            ``labels/<stem>.csv``), shared by the two emoMusic tasks.
        metric: ``"accuracy"`` or ``"r2"``.
        split: one of :data:`SPLIT_KINDS`.
        published: the published scores (Choi et al. 2017, table of SVM results): all five layers
            concatenated (``"01234"``) and the MFCC baseline (``"mfcc"``).
        target: the regression column of the course table (``"arousal"``), ``None`` for
            classification (the course table's ``label_id``).
        release_label: the label column of the release's label file.
        label_divisor: the course's targets divided by this are on the release's scale (emoMusic:
            ratings 1 to 9, the release 0 to 1, so 9); ``None``: unchanged.
    """

    name: str
    title: str
    dataset: str
    release_name: str
    metric: str
    split: str
    published: dict = field(default_factory=dict)
    target: str | None = None
    release_label: str = "label"
    label_divisor: float | None = None

    def __post_init__(self):
        if self.split not in SPLIT_KINDS:
            raise ParameterError(f"task {self.name}: split {self.split!r} is not one of {', '.join(SPLIT_KINDS)}")
        if self.metric not in METRICS:
            raise ParameterError(f"task {self.name}: metric {self.metric!r} is not one of {', '.join(METRICS)}")

    @property
    def task_type(self) -> str:
        """``"classification"`` (accuracy) or ``"regression"`` (R²)."""
        return METRICS[self.metric]

    @property
    def course_split_column(self) -> str | None:
        """The split column of the course table: ``None``, ``"split"`` or ``"fold"``."""
        return COURSE_SPLIT_COLUMNS[self.split]

    @property
    def release_split_column(self) -> str | None:
        """The split column of the release's label file: ``None``, ``"category"`` or ``"fold"``."""
        return RELEASE_SPLIT_COLUMNS[self.split]

    def to_release_scale(self, values):
        """The course's targets on the release's scale (emoMusic ratings / 9).

        Args:
            values: a column (or array) of the course table's ``target``.

        Returns:
            The values divided by :attr:`label_divisor`, or unchanged when it is ``None``.
        """
        return values if self.label_divisor is None else values / self.label_divisor


#: The rows of the paper's table, in its order.
REGISTRY: dict[str, TransferTask] = {t.name: t for t in (
    TransferTask("ballroom_extended", "Extended Ballroom", "ballroom_extended", "ballroom_extended", "accuracy", "kfold",
                 {"01234": 0.848, "mfcc": 0.622}),
    TransferTask("gtzan_genre", "GTZAN genre", "gtzan_genre", "gtzan_genre", "accuracy", "kfold",
                 {"01234": 0.898, "mfcc": 0.660}),
    TransferTask("gtzan_speechmusic", "GTZAN speech/music", "gtzan_speechmusic", "gtzan_speechmusic", "accuracy", "kfold",
                 {"01234": 1.000, "mfcc": 0.992}),
    TransferTask("emoMusic_arousal", "emoMusic arousal (R²)", "emomusic", "emoMusic", "r2", "kfold",
                 {"01234": 0.650, "mfcc": 0.551}, target="arousal", release_label="label_arousal", label_divisor=9.0),
    TransferTask("emoMusic_valence", "emoMusic valence (R²)", "emomusic", "emoMusic", "r2", "kfold",
                 {"01234": 0.457, "mfcc": 0.267}, target="valence", release_label="label_valence", label_divisor=9.0),
    TransferTask("jamendo_vd", "Jamendo voice", "jamendo_vocal", "jamendo_vd", "accuracy", "train_valid_test",
                 {"01234": 0.967, "mfcc": 0.917}),
    TransferTask("urbansound", "UrbanSound8K", "urbansound8k", "urbansound", "accuracy", "official_folds",
                 {"01234": 0.688, "mfcc": 0.651}),
)}


def names() -> tuple:
    """The task names, in the order of the paper's table."""
    return tuple(REGISTRY)


def get(name: str) -> TransferTask:
    """The record of a task.

    Args:
        name: one of :func:`names`.

    Returns:
        Its :class:`TransferTask`.

    Raises:
        CourseError: unknown name (the message lists the known ones).
    """
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise ParameterError(f"task must be one of {list(REGISTRY)}, not {name!r}") from None


def task_type(task: str) -> str:
    """Whether a task of the table is a classification or a regression.

    Args:
        task: one of :func:`names`.

    Returns:
        ``"regression"`` for the emoMusic tasks, else ``"classification"``.
    """
    return get(task).task_type


def release_name(task: str) -> str:
    """The stem of a task's files in the authors' release (``"emoMusic"`` for both emoMusic tasks).

    Args:
        task: one of :func:`names`.

    Returns:
        The stem.
    """
    return get(task).release_name


def release_tasks() -> dict[str, str]:
    """Course dataset name -> the stem of its files in the authors' release, in table order."""
    return {t.dataset: t.release_name for t in REGISTRY.values()}


#: The task names, in the paper's order (emoMusic is two regression tasks). Notebook 04.
TASKS = names()
#: Published scores per task: ``{"01234": ..., "mfcc": ...}`` (accuracy, or R² for emoMusic).
PUBLISHED = {t.name: dict(t.published) for t in REGISTRY.values()}
#: Titles of the tasks, for tables and plots.
TASK_TITLES = {t.name: t.title for t in REGISTRY.values()}
