"""Deadlines and late penalties: the rule texts, the penalty, time zones, grading.cfg."""
from __future__ import annotations

import datetime as dt

import pytest

from autograder.lateness import LateRule, course_policies, late_by, parse_time, policy_for

HOUR, DAY = 3600.0, 86400.0


@pytest.mark.parametrize("rule,late,score,expected", [
    ("none", 5 * DAY, 30, 0.0),
    ("zero", 1.0, 30, 30.0),
    ("2/hour", 1.0, 30, 2.0),                 # a started hour counts
    ("2/hour", 3 * HOUR + 1, 30, 8.0),
    ("10%/day", 0.5 * DAY, 30, 3.8),          # 10 % of 38 points
    ("10%/day", 2 * DAY + 1, 30, 11.4),
    ("10%/day, max 20%", 9 * DAY, 30, 7.6),
    ("5/day, max 8", 9 * DAY, 30, 8.0),
    ("5/day", 9 * DAY, 12, 12.0),             # never more than the score
    ("10%/day", 0.0, 30, 0.0),                # on time
])
def test_penalty(rule, late, score, expected):
    assert LateRule.parse(rule).penalty(late, score, 38.0) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["10 per day", "%/day", "2/week", "10%/day max"])
def test_a_rule_not_understood_says_what_is(text):
    with pytest.raises(ValueError, match="10%/day, max 50%"):
        LateRule.parse(text)


def test_late_by_and_time_zones():
    deadline = dt.datetime(2026, 3, 1, 23, 59)
    assert late_by("2026-03-02T00:59:00", deadline) == HOUR
    assert late_by("2026-03-01 20:00:00", deadline) == 0.0
    assert late_by(None, deadline) == 0.0 and late_by("2026-03-05T00:00", None) == 0.0
    # A zone on one side only: the other is taken in the same zone (nbgrader keeps UTC).
    assert late_by("2026-03-02T00:59:00Z", deadline) == HOUR
    utc = parse_time("2026-03-01T23:59:00 UTC")
    assert late_by("2026-03-02T01:59:00+01:00", utc) == HOUR
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_time("March 1st")


def test_course_config_and_command_line_override(tmp_path):
    (tmp_path / "grading.cfg").write_text("[svm]\ndeadline = 2026-03-01T23:59:00\nlate_rule = 10%/day, max 50%\n")
    policies = course_policies(tmp_path)
    assert policies["svm"].deadline == dt.datetime(2026, 3, 1, 23, 59) and policies["svm"].rule.cap == 50
    assert policy_for("softmax", tmp_path).rule.kind == "none"
    over = policy_for("svm", tmp_path, deadline="2026-03-08T12:00", rule="zero")
    assert over.deadline == dt.datetime(2026, 3, 8, 12) and over.rule.kind == "zero"
    assert policy_for("svm", tmp_path, rule=None).rule.text == "10%/day, max 50%"


@pytest.mark.parametrize("text,message", [
    ("[svm]\ndeadlin = 2026-03-01\n", r"unknown key\(s\) deadlin"),
    ("[svm]\ndeadline = tomorrow\n", r"\[svm\]: 'tomorrow' is not an ISO 8601"),
    ("[svm]\nlate_rule = 10 per day\n", r"\[svm\]: late rule"),
    ("deadline = 2026-03-01\n", "cannot be read"),
])
def test_a_wrong_course_config_names_file_and_assignment(tmp_path, text, message):
    (tmp_path / "grading.cfg").write_text(text)
    with pytest.raises(ValueError, match=message):
        course_policies(tmp_path)
