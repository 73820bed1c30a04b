"""The whole instructor path on a small course: collect, autograde in the sandbox, resume,
feedback, export. Student code really runs (sandboxed when bubblewrap works)."""
from __future__ import annotations

import csv
import json

import pytest

import autograder  # noqa: F401  (first: it keeps nbformat's import fast)

# isort: split
import nbformat

from autograder import cli
from tools import make_samples as ms

pytestmark = pytest.mark.slow

TAMPER = '''\
import linclass.checks as _c
_c.check_expected = _c.check_agree = lambda *args, **kwargs: None

def svm_loss_naive(W, X, y, reg):
    return 0.0, np.zeros_like(W)
'''
TIMEOUT = '''\
def predict(W, X):
    return np.argmax(X.dot(W), axis=1)

while True:
    pass
'''


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    source, release = ms.mini_course(root)
    rel = nbformat.read(release / "svm" / "svm.ipynb", as_version=4)
    ok = ms.all_correct(["svm_loss_naive", "svm_loss_vectorized", "sample_batch", "sgd_step", "predict"])
    subs = {
        "correct": ms.fill(rel, ok),
        "factor2": ms.fill(rel, {**ok, "svm_loss_naive": ms.buggy("svm_loss_naive", "reg_grad_missing_factor_2")}),
        "tamper": ms.fill(rel, {**ok, "svm_loss_naive": TAMPER}),
        "looping": ms.fill(rel, {**ok, "predict": TIMEOUT}),
    }
    lms = root / "lms"
    lms.mkdir()
    for student, nb in subs.items():
        nbformat.write(nb, lms / f"{student}_svm.ipynb")
    (lms / "broken_svm.ipynb").write_text("{oops")
    (lms / "essay_svm.docx").write_bytes(b"PK")
    out = root / "out"
    args = ["--source", str(source), "--release", str(release), "--out", str(out),
            "--cell-timeout", "15", "--total-timeout", "90"]
    code = cli.main(["run", str(lms), *args])
    results = {p.stem: json.loads(p.read_text())["result"] for p in (out / "results" / "svm").glob("*.json")}
    return {"code": code, "out": out, "args": args, "results": results, "source": source}


def test_grades_statuses_and_mistakes(graded):
    assert graded["code"] == 0
    r = graded["results"]
    assert set(r) == {"correct", "factor2", "tamper", "looping", "broken"}
    assert (r["correct"]["status"], r["correct"]["score"], r["correct"]["mistake_keys"]) == ("graded", 10.0, [])
    # A regularization mistake costs the reg part (the grad part is judged at reg = 0) and nothing
    # else: the vectorized version no longer agrees with this naive version, but it is right, so it
    # keeps its speed point and the message points at the naive version.
    assert (r["factor2"]["status"], r["factor2"]["score"]) == ("graded", 9.0)
    speed = r["factor2"]["parts"]["svm_loss_vectorized_vectorized"]
    assert speed["points"] == 1.0 and "the mistake is in the naive version" in speed["message"]
    assert r["factor2"]["mistake_keys"] == ["svm_loss_naive: reg_grad_missing_factor_2"]
    assert r["factor2"]["parts"]["svm_loss_naive_grad"]["points"] == 1.0
    assert r["factor2"]["parts"]["svm_loss_naive_reg"]["points"] == 0.0
    assert "factor 2" in r["factor2"]["parts"]["svm_loss_naive_reg"]["mistake"]
    assert r["factor2"]["parts"]["svm_loss_naive_grad"]["mistake"] is None


def test_tampering_earns_nothing_and_is_flagged(graded):
    t = graded["results"]["tamper"]
    assert t["status"] == "flagged"
    assert t["parts"]["svm_loss_naive_loss"]["points"] == 0 and t["parts"]["svm_loss_naive_grad"]["points"] == 0
    assert any("needs a person" in f and "replaces _c.check_expected" in f for f in t["flags"])
    # Only the honest work: vectorized loss and grad 2 + sample_batch, sgd_step, predict 3; the
    # vectorization point waits for the person who reviews the machinery.
    assert t["score"] == 5.0
    # No speed point: the machinery leaves it to a person (the vectorized version itself is right,
    # so its disagreement with this naive version, which returns zeros, would not cost it).
    assert t["parts"]["svm_loss_vectorized_vectorized"]["points"] == 0


def test_timeout_and_broken_notebook_fail_with_reason(graded):
    loop, broken = graded["results"]["looping"], graded["results"]["broken"]
    assert loop["status"] == "failed" and "timeout" in loop["reason"]
    assert broken["status"] == "failed" and "not valid JSON" in broken["reason"]


def test_csv_never_exports_failed_as_zero(graded):
    rows = {row["student"]: row for row in csv.DictReader(open(graded["out"] / "grades.csv"))}
    assert rows["broken"]["svm status"] == "failed"
    assert rows["broken"]["svm score"] == "" and rows["broken"]["svm: svm_loss_naive_loss"] == ""
    assert rows["correct"]["svm: svm_loss_naive_grad"] == "1"
    assert rows["tamper"]["svm status"] == "flagged"
    assert "reg_grad_missing_factor_2" in rows["factor2"]["svm mistakes"]
    report = (graded["out"] / "report.txt").read_text()
    assert "most frequent named mistakes" in report and "broken: failed" in report
    assert (graded["out"] / "report.png").stat().st_size > 1000


def test_feedback_names_the_bug_and_hides_the_tests(graded):
    page = (graded["out"] / "feedback" / "factor2" / "svm" / "svm.html").read_text()
    assert "missing its factor 2" in page and "what was checked" in page
    assert "HIDDEN TESTS" not in page and "check_loss(" not in page


def test_collect_report_names_bad_files(graded):
    report = json.loads((graded["out"] / "submitted" / "collect_report.json").read_text())
    names = dict((name, msg) for name, msg in report["problems"])
    assert "not a notebook" in names["essay_svm.docx"]
    assert "corrupt" in names["broken_svm.ipynb"]


def test_gradebook_has_verified_scores(graded):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{graded['out'] / 'gradebook.db'}") as gb:
        scores = {s.student_id: s.score for s in gb.assignment_submissions("svm")}
    assert scores["correct"] == 10.0 and scores["factor2"] == 9.0 and scores["tamper"] == 5.0
    assert set(scores) == {"correct", "factor2", "tamper", "looping", "broken"}


def test_resume_skips_what_is_recorded(graded, capsys):
    # Simulate an interruption: one record lost; only that submission is graded again.
    (graded["out"] / "results" / "svm" / "factor2.json").unlink()
    before = {p.name: p.stat().st_mtime_ns for p in (graded["out"] / "results" / "svm").glob("*.json")}
    assert cli.main(["autograde", *graded["args"], "--no-kernel"]) == 0
    printed = capsys.readouterr().out
    assert "4 submission(s) already graded (kept), 1 to grade" in printed
    after = {p.name: p.stat().st_mtime_ns for p in (graded["out"] / "results" / "svm").glob("*.json")}
    assert {k: v for k, v in after.items() if k in before} == before
    again = json.loads((graded["out"] / "results" / "svm" / "factor2.json").read_text())["result"]
    assert again["score"] == 9.0


def test_every_subcommand_has_help(capsys):
    for sub in ("run", "collect", "autograde", "feedback", "export", "selfcheck"):
        with pytest.raises(SystemExit) as exc:
            cli.main([sub, "--help"])
        assert exc.value.code == 0
    assert "--scheduler" in capsys.readouterr().out
