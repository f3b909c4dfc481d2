"""course_utils.teaching.report and the nbval sanitiser agree: training-dependent numbers are masked, others not."""

import configparser
import re
from pathlib import Path

from course_utils.teaching import report

CFG = Path(__file__).resolve().parent / "nbval_sanitize.cfg"


def _sanitize(text: str) -> str:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(CFG, encoding="utf-8")
    for section in parser.sections():
        text = re.sub(parser[section]["regex"], parser[section]["replace"], text)
    return text


def test_training_dependent_numbers_are_masked_whatever_their_value():
    a = f"ROC-AUC {report.approx(0.9061)}, R² {report.score(-0.031, 0.04, training=True)}; top ≈[male 0.97, man 0.7]"
    b = f"ROC-AUC {report.approx(0.8712)}, R² {report.score(0.012, 0.11, training=True)}; top ≈[opera 0.5]"
    assert _sanitize(a) == _sanitize(b)
    assert "APPROX" in _sanitize(a) and "0.9" not in _sanitize(a)


def test_exact_numbers_stay_compared():
    assert _sanitize(report.score(0.735, 0.081)).strip() == "0.735 ± 0.081"
    assert _sanitize(report.score(0.735, 0.081)) != _sanitize(report.score(0.736, 0.081))


def test_fixed_width_keeps_table_columns_aligned():
    assert len(report.approx(0.5)) == len(report.approx(-0.5)) == len(report.approx(1.0))
    assert report.score(float("nan")) == "—" and report.approx(float("nan")) == "—"
