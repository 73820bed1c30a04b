"""The student's selfcheck (exit codes), export from records, and grading through Dask."""
from __future__ import annotations

import csv
import json

import pytest

import autograder  # noqa: F401  (first: it keeps nbformat's import fast)
import nbformat
from autograder import cli
from autograder.export import report_text, write_csv
from autograder.grade import PartResult, SubmissionResult
from tools import make_samples as ms

FUNCTIONS = ["svm_loss_naive", "svm_loss_vectorized", "sample_batch", "sgd_step", "predict"]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    source, release = ms.mini_course(root)
    rel = nbformat.read(release / "svm" / "svm.ipynb", as_version=4)
    good = root / "good" / "svm.ipynb"
    good.parent.mkdir()
    nbformat.write(ms.fill(rel, ms.all_correct(FUNCTIONS)), good)
    edited = root / "edited" / "svm.ipynb"
    edited.parent.mkdir()
    nb = ms.fill(rel, ms.all_correct(FUNCTIONS))
    next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "svm_loss_naive_loss").source = "pass"
    nbformat.write(nb, edited)
    return {"root": root, "source": source, "release": release, "good": good, "edited": edited}


def test_selfcheck_integrity_exit_codes(course, capsys):
    assert cli.main(["selfcheck", str(course["good"]), "--release", str(course["release"]), "--no-run"]) == 0
    assert "selfcheck passed" in capsys.readouterr().out
    assert cli.main(["selfcheck", str(course["edited"]), "--release", str(course["release"]), "--no-run"]) == 1
    out = capsys.readouterr().out
    assert "svm_loss_naive_loss" in out and "edited" in out and "FAILED" in out


def test_selfcheck_unreadable_notebook(course, tmp_path, capsys):
    bad = tmp_path / "svm.ipynb"
    bad.write_text("{")
    assert cli.main(["selfcheck", str(bad), "--release", str(course["release"]), "--no-run"]) == 1


@pytest.mark.slow
def test_selfcheck_runs_the_visible_tests(course, tmp_path, monkeypatch, capsys):
    from linclass.data import write_synthetic_cifar10

    write_synthetic_cifar10(tmp_path)
    monkeypatch.setenv("LINCLASS_DATA_DIR", str(tmp_path))
    assert cli.main(["selfcheck", str(course["good"]), "--release", str(course["release"]), "--fast"]) == 0
    out = capsys.readouterr().out
    assert "visible test 'svm_loss_naive_loss' passes" in out and "hidden tests" in out
    stub = course["root"] / "stub" / "svm.ipynb"
    stub.parent.mkdir()
    stub.write_bytes((course["release"] / "svm" / "svm.ipynb").read_bytes())
    assert cli.main(["selfcheck", str(stub), "--release", str(course["release"]), "--fast"]) == 1
    assert "visible test 'svm_loss_naive_loss' fails" in capsys.readouterr().out


def _result(student, status, score, reason=None):
    parts = {"f_loss": PartResult("f_loss", score, 2.0, "ok" if score else "wrong", None if score else "a bug"),
             "q_x": PartResult("q_x", 0.0, 1.0, "needs manual grading", manual=True)}
    return SubmissionResult(student, "svm", status, reason, parts, {}, [], [] if score else ["f: a bug"],
                            score, 3.0, 1.0, True, [] if score else ["f: bug_key"])


def test_export_marks_failed_and_manual_parts_empty(tmp_path):
    results = [_result("ann", "needs manual grading", 2.0), _result("bob", "failed", 0.0, "timeout after 9 s"),
               _result("cy", "graded", 0.0)]
    write_csv(results, tmp_path / "grades.csv")
    rows = {r["student"]: r for r in csv.DictReader(open(tmp_path / "grades.csv"))}
    assert rows["bob"]["svm status"] == "failed" and rows["bob"]["svm score"] == ""
    assert rows["bob"]["svm: f_loss"] == "" and rows["bob"]["svm reason"] == "timeout after 9 s"
    assert rows["cy"]["svm: f_loss"] == "0" and rows["ann"]["svm: q_x"] == ""
    text = report_text(results)
    assert "bob: failed (timeout after 9 s)" in text and "2 x f: a bug" in text


@pytest.mark.slow
def test_dask_gives_the_same_grades_as_the_pool(course, tmp_path):
    subs = tmp_path / "subs" / "submitted"
    for student, answers in [("ok", ms.all_correct(FUNCTIONS)),
                             ("bug", {**ms.all_correct(FUNCTIONS),
                                      "predict": ms.buggy("predict", "predict_argmin")})]:
        path = subs / student / "svm" / "svm.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(ms.fill(nbformat.read(course["release"] / "svm" / "svm.ipynb", as_version=4), answers), path)
    common = ["--source", str(course["source"]), "--release", str(course["release"]), "--no-kernel"]
    outs = []
    for extra in ([], ["--scheduler", "local", "--workers", "2"]):
        out = tmp_path / f"out{len(outs)}"
        assert cli.main(["run", str(tmp_path / "subs"), "--out", str(out), *common, *extra]) == 0
        outs.append({p.stem: {k: v for k, v in json.loads(p.read_text())["result"].items() if k != "duration"}
                     for p in (out / "results" / "svm").glob("*.json")})
    assert outs[0] == outs[1]
    assert outs[0]["bug"]["mistake_keys"] == ["predict: predict_argmin"]
