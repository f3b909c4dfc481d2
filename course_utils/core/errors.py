"""Errors that ``course_utils`` raises on bad input.

Every error names the file or dataset concerned and says what to do, so that a learner
never has to read a traceback from deep inside a decoder or a download library.
"""

from __future__ import annotations


class CourseError(Exception):
    """Base class of every error raised by ``course_utils``."""


class ParameterError(CourseError, ValueError):
    """A bad parameter: an unknown name (of a model, dataset, task, kind...) or a value out of range.

    The one error of the course for a bad argument; the message names the allowed values. It is a
    ``ValueError`` too, so that code written against scikit-learn's conventions catches it.
    """


class AudioError(CourseError):
    """An audio file is missing, empty, corrupt, unsupported, too short or silent.

    Args:
        path: the file concerned.
        problem: what is wrong with it.
        hint: what the user can do about it.
    """

    def __init__(self, path, problem: str, hint: str = ""):
        self.path = str(path)
        self.problem = problem
        self.hint = hint
        message = f"{self.path}: {problem}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)

    def __reduce__(self):
        # pickle by the constructor's arguments, so that errors cross process boundaries (joblib)
        return (type(self), (self.path, self.problem, self.hint))


class DatasetError(CourseError):
    """A dataset is missing, incomplete or corrupt on disk, or its name is unknown."""


class DownloadError(CourseError):
    """A download failed, was interrupted, or its checksum does not match."""


class AudioWarning(UserWarning):
    """An audio file was read, but not entirely as it claims: truncated, or longer than analysed.

    ``course-utils`` prints these as one ``warning:`` line each.
    """
