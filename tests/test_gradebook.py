"""One gradebook: linclass-grade writes its automatic scores into nbgrader's gradebook, a
person grades written answers (and overrides a score, and comments) through nbgrader's API
the way formgrader does, a regrade keeps all of it, and export, feedback and the report
carry both. Student code really runs (sandboxed when bubblewrap works)."""
from __future__ import annotations

import csv
import json

import pytest

import autograder  # noqa: F401  (first: it keeps nbformat's import fast)

# isort: split
import nbformat

from autograder import cli
from autograder.rubric import rubric_cells
from tools import make_samples as ms

pytestmark = pytest.mark.slow

RUBRIC = ("**Rubric (1 point).** 1: every class scores about the same, so the loss is about "
          "C - 1 (SVM) or log C (softmax). 0.5: says the scores are small without the consequence.")


def _formgrader_grade(gb, grade, manual_score=None, extra_credit=None):
    """What formgrader's grade API does (nbgrader/server_extensions/formgrader/apihandlers.py)."""
    grade.manual_score = manual_score
    grade.extra_credit = extra_credit
    grade.needs_manual_grade = grade.manual_score is None and grade.auto_score is None
    gb.db.commit()


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    source, release = ms.mini_course(root)
    src_path = source / "svm" / "svm.ipynb"
    ms.add_rubric(src_path, "q_initial_loss", RUBRIC)
    rel = nbformat.read(release / "svm" / "svm.ipynb", as_version=4)
    ok = ms.all_correct(["svm_loss_naive", "svm_loss_vectorized", "sample_batch", "sgd_step", "predict"])
    lms = root / "lms"
    lms.mkdir()
    for student, answers, written in (("alice", ok, "All scores are near zero, so every margin is about 1."),
                                      ("bob", {**ok, "predict": ms.buggy("predict", "predict_argmin")}, "No idea."),
                                      ("carol", ok, None)):
        nb = ms.fill(rel, answers)
        for cell in nb.cells:
            if written and cell.metadata.get("nbgrader", {}).get("grade_id") == "q_initial_loss":
                cell.source = written
        nbformat.write(nb, lms / f"{student}_svm.ipynb")
    out = root / "out"
    args = ["--source", str(source), "--release", str(release), "--out", str(out),
            "--cell-timeout", "15", "--total-timeout", "90", "--no-kernel"]
    assert cli.main(["run", str(lms), *args]) == 0
    return {"root": root, "out": out, "args": args, "db": f"sqlite:///{out / 'gradebook.db'}"}


def _grades(course, student):
    from nbgrader.api import Gradebook

    with Gradebook(course["db"]) as gb:
        sub = gb.find_submission_notebook("svm", "svm", student)
        return ({g.name: (g.auto_score, g.manual_score, g.needs_manual_grade) for g in sub.grades},
                {c.name: (c.auto_comment, c.manual_comment) for c in sub.comments})


def test_autograded_scores_and_waiting_written_answers(course):
    grades, comments = _grades(course, "alice")
    assert grades["svm_loss_naive_loss"] == (2.0, None, False)
    assert grades["q_initial_loss"] == (None, None, True)  # formgrader lists it to grade
    bob, bob_comments = _grades(course, "bob")
    assert bob["predict_correct"][0] == 0.0 and "lowest score" in bob_comments["predict"][0]
    carol, carol_comments = _grades(course, "carol")  # left as released: nothing to read
    assert carol["q_initial_loss"] == (0.0, None, False) and carol_comments["q_initial_loss"][0] == "No response."


def test_formgrader_sees_the_submission_and_the_rubric(course):
    path = course["out"] / "autograded" / "alice" / "svm" / "svm.ipynb"
    nb = nbformat.read(path, as_version=4)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    at = ids.index("q_initial_loss")
    assert nb.cells[at].source.startswith("All scores are near zero")
    assert nb.cells[at + 1].source == RUBRIC and "rubric" in nb.cells[at + 1].metadata["tags"]
    assert "### BEGIN HIDDEN TESTS" not in json.dumps(nb)
    assert list(rubric_cells(nb)) == ["q_initial_loss"]
    # Rendered the way formgrader's submission page renders it (its template, this file).
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config import Config

    config = Config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    resources = {"assignment_id": "svm", "notebook_id": "svm", "submission_id": "1", "index": 0, "total": 1,
                 "base_url": "", "student": "alice", "last_name": None, "first_name": None, "notebook_path": ""}
    page, _ = HTMLExporter(config=config).from_filename(str(path), resources=resources)
    answer, grade_box, rubric = (page.index("All scores are near zero"), page.index('id="q_initial_loss-comment"'),
                                 page.index("Rubric (1 point)."))
    assert answer < grade_box < rubric


def test_manual_grades_survive_a_regrade_and_reach_every_output(course):
    from nbgrader.api import Gradebook

    with Gradebook(course["db"]) as gb:  # the person grading, in formgrader
        _formgrader_grade(gb, gb.find_grade("q_initial_loss", "svm", "svm", "alice"), 1.0)
        _formgrader_grade(gb, gb.find_grade("q_initial_loss", "svm", "svm", "bob"), 0.0, 0.25)
        _formgrader_grade(gb, gb.find_grade("predict_correct", "svm", "svm", "bob"), 0.5)
        gb.find_comment("q_initial_loss", "svm", "svm", "alice").manual_comment = "Exactly: the margins."
        gb.find_comment("predict", "svm", "svm", "bob").manual_comment = "argmax, not argmin."
        gb.db.commit()
    # The regrade that used to switch graded written answers back to "needs manual grade".
    assert cli.main(["autograde", *course["args"], "--regrade"]) == 0
    grades, comments = _grades(course, "alice")
    assert grades["q_initial_loss"] == (None, 1.0, False)
    assert comments["q_initial_loss"][1] == "Exactly: the margins."
    bob, _ = _grades(course, "bob")
    assert bob["predict_correct"] == (0.0, 0.5, False) and bob["q_initial_loss"] == (None, 0.0, False)

    assert cli.main(["feedback", *course["args"][:6]]) == 0
    canvas = course["root"] / "canvas_export.csv"
    canvas.write_text("Student,ID,SIS User ID,SIS Login ID,Section,svm (4711),Current Score\n"
                      "    Points Possible,,,,,11.00,(read only)\n"
                      + "".join(f'"{name.title()}, A",{100 + i},{name},{name}@uni,S1,,\n'
                                for i, name in enumerate(("alice", "bob", "carol", "dave"))))
    assert cli.main(["export", *course["args"][:6], "--canvas", str(canvas)]) == 0
    out = course["out"]
    uploaded = {row["SIS User ID"]: row["svm (4711)"] for row in csv.DictReader(open(out / "canvas_svm.csv"))}
    assert uploaded == {"": "11", "alice": "11", "bob": "9.75", "carol": "10", "dave": ""}  # "" = Points Possible
    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    assert (rows["alice"]["svm status"], rows["alice"]["svm score"], rows["alice"]["svm: q_initial_loss"]) == (
        "graded", "11", "1")
    assert rows["bob"]["svm: predict_correct"] == "0.5" and rows["bob"]["svm: q_initial_loss"] == "0.25"
    assert rows["bob"]["svm score"] == str(10 - 1 + 0.5 + 0.25)
    alice = (out / "feedback" / "alice" / "svm" / "svm.html").read_text()
    assert "Exactly: the margins." in alice and "graded by your instructor" in alice and "11 / 11" in alice
    assert "Rubric" not in alice and RUBRIC not in alice
    bob_page = (out / "feedback" / "bob" / "svm" / "svm.html").read_text()
    assert "argmax, not argmin." in bob_page and "your instructor set this part to 0.5 of 1" in bob_page
    report = (out / "report.txt").read_text()
    assert "written answers: 2 graded by hand, 0 waiting in formgrader" in report
    # The records on disk are the grader's own: a person's grades live in the gradebook only.
    record = json.loads((out / "results" / "svm" / "alice.json").read_text())["result"]
    assert record["parts"]["q_initial_loss"]["message"] == "needs manual grading"


def test_samples_written_answers_graded_by_hand(tmp_path, repo_root):
    """The course's own samples: the instructor's solution waits for its written answers;
    once every one is scored in the gradebook it is graded, with both kinds of points."""
    import shutil

    from nbgrader.api import Gradebook

    subs = tmp_path / "submitted"
    for student in ("instructor_solution", "bug_no_divide"):
        shutil.copytree(repo_root / "autograder" / "samples" / "submitted" / student / "svm", subs / student / "svm")
    out = tmp_path / "out"
    args = ["--course-root", str(repo_root), "--out", str(out), "--assignment", "svm", "--no-kernel",
            "--cell-timeout", "20"]
    assert cli.main(["run", str(subs), *args]) == 0
    first = json.loads((out / "results" / "svm" / "instructor_solution.json").read_text())["result"]
    assert first["status"] == "needs manual grading"
    written = {gid: p["max_points"] for gid, p in first["parts"].items() if p["manual"]}
    assert written, "the svm assignment has written answers"
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        waiting = {g.name for g in gb.find_submission_notebook("svm", "svm", "instructor_solution").grades
                   if g.needs_manual_grade}
        assert waiting == set(written)
        for gid, points in written.items():
            _formgrader_grade(gb, gb.find_grade(gid, "svm", "svm", "instructor_solution"), points)
    assert cli.main(["autograde", *args[:4], "--no-kernel", "--regrade"]) == 0
    assert cli.main(["export", *args[:6]]) == 0
    assert cli.main(["feedback", *args[:6]]) == 0
    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    row = rows["instructor_solution"]
    assert row["svm status"] == "graded"
    assert float(row["svm score"]) == first["score"] + sum(written.values()) == first["max_score"]
    assert all(row[f"svm: {gid}"] == f"{points:g}" for gid, points in written.items())
    page = (out / "feedback" / "instructor_solution" / "svm" / "svm.html").read_text()
    assert "graded by your instructor" in page and "Rubric" not in page
    bug = rows["bug_no_divide"]
    assert bug["svm status"] == "graded" and "forgot_divide_by_n" in bug["svm mistakes"]
