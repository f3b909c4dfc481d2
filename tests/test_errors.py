"""One error for a bad parameter (issue 25): ParameterError, a CourseError and a ValueError, naming the choices."""

from __future__ import annotations

import pytest

import course_utils.tasks.registry
from course_utils import datasets
from course_utils.core.errors import CourseError, ParameterError
from course_utils.features import registry
from course_utils.models import musicnn
from course_utils.similarity import ground_truth
from course_utils.svm import grid
from course_utils.synth import instruments
from course_utils.tasks import release


def test_parameter_error_is_a_course_error_and_a_value_error():
    assert issubclass(ParameterError, CourseError) and issubclass(ParameterError, ValueError)


def test_an_unknown_model_is_refused_with_the_known_ones():
    with pytest.raises(ParameterError) as info:
        registry.parse_model("musicn")
    assert all(kind in str(info.value) for kind in registry.KINDS)
    with pytest.raises(ParameterError, match="MSD_musicnn"):
        registry.parse_model("musicnn:nope")
    with pytest.raises(ParameterError, match="MTT_musicnn"):
        musicnn.checkpoint_dir("nope")


@pytest.mark.parametrize("call", [
    lambda: datasets.get_spec("gtzan"),
    lambda: course_utils.tasks.registry.get("gtzan"),
    lambda: release.parse_layers("05"),
    lambda: grid.check_choice("protocol", "fast!", grid.PROTOCOLS),
    lambda: ground_truth.tag_similarity([[1, 0]], "cosine"),
    lambda: instruments.note("kazoo", 440.0, 1.0, 12000),
])
def test_every_unknown_name_is_a_parameter_error(call):
    with pytest.raises(ParameterError):
        call()
