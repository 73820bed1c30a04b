"""The sample submissions in autograder/samples/: every grade and every named mistake,
exactly, and a second run that gives identical results (the README's main job grades them)."""
from __future__ import annotations

import json

import pytest

import autograder  # noqa: F401  (first: it keeps nbformat's import fast)

# isort: split
from autograder import cli
from tools.make_samples import EXPECTED, SAMPLES

pytestmark = pytest.mark.slow


def _results(out):
    return {(p.parent.name, p.stem): json.loads(p.read_text())["result"] for p in (out / "results").glob("*/*.json")}


def _stable(result):
    # Everything but the wall-clock time.
    return {k: v for k, v in result.items() if k != "duration"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    first = tmp_path_factory.mktemp("first")
    second = tmp_path_factory.mktemp("second")
    assert cli.main(["run", str(SAMPLES), "--out", str(first)]) == 0
    # A re-run of the same course: the same secret seeds the cases (a new course has its own).
    (second / "work").mkdir(parents=True)
    (second / "work" / ".case-secret").write_bytes((first / "work" / ".case-secret").read_bytes())
    assert cli.main(["run", str(SAMPLES), "--out", str(second)]) == 0
    return first, second


def test_every_sample_grade_and_named_mistake(runs):
    got = _results(runs[0])
    expected = {(a, s): v for a, table in EXPECTED.items() for s, v in table.items()}
    assert set(got) == set(expected)
    for key, (status, score, mistakes) in expected.items():
        r = got[key]
        assert (r["status"], r["score"], r["mistake_keys"]) == (status, score, mistakes), key
        assert r["flags"] == [], key


def test_a_second_run_gives_identical_results(runs):
    first, second = (_results(out) for out in runs)
    assert {k: _stable(v) for k, v in first.items()} == {k: _stable(v) for k, v in second.items()}
    assert (runs[0] / "grades.csv").read_bytes() == (runs[1] / "grades.csv").read_bytes()


def test_each_sample_has_feedback_that_names_its_bug(runs):
    page = (runs[0] / "feedback" / "bug_half_convention" / "svm" / "svm.html").read_text()
    assert "convention mismatch" in page and "BEGIN HIDDEN TESTS" not in page
    page = (runs[0] / "feedback" / "bug_no_max" / "softmax" / "softmax.html").read_text()
    assert "no max-subtraction" in page
