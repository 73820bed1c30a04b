"""nbgrader's own exchange, the way a course on JupyterHub runs it, with linclass grading:
generate and release the assignment, two students (each with their own HOME) fetch and
submit, the instructor collects, autogrades with linclass-grade into nbgrader's folders,
grades the written answer in the gradebook as formgrader does, generates and releases
feedback, and each student fetches their own. The rubric reaches the person grading and
no student."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

import autograder  # noqa: F401  (first: it keeps nbformat's import fast)

# isort: split
import nbformat

from tools import make_samples as ms

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RUBRIC = "**Rubric (1 point).** 1: all scores are near zero, so every margin is about 1. 0: anything else."

COURSE_CONFIG = """\
c = get_config()  # noqa: F821
load_subconfig({config!r})  # noqa: F821  (the course's own configuration)
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = "linclass"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "work/submitted"
c.CourseDirectory.autograded_directory = "work/autograded"
c.CourseDirectory.feedback_directory = "work/feedback"
c.CourseDirectory.db_url = "sqlite:///" + {root!r} + "/work/gradebook.db"
c.Exchange.root = {exchange!r}
# The release strips the rubric (a no-op where the course's list already does).
from autograder.rubric import ClearRubric  # noqa: E402
c.GenerateAssignment.preprocessors = [ClearRubric] + [p for p in c.GenerateAssignment.preprocessors
                                                      if p is not ClearRubric]
"""
STUDENT_CONFIG = """\
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "linclass"
c.Exchange.root = {exchange!r}
"""


def _run(args, cwd, home, check=True):
    env = {**os.environ, "HOME": str(home), "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("JUPYTER_CONFIG_DIR", None)
    proc = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if check:
        assert proc.returncode == 0, f"{args}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    top = tmp_path_factory.mktemp("hub")
    exchange, course = top / "exchange", top / "course"
    exchange.mkdir()
    exchange.chmod(0o777)
    ms.mini_course(course)
    (course / "work").mkdir()  # sqlite does not create the folder of its database
    src_path = course / "source" / "svm" / "svm.ipynb"
    ms.add_rubric(src_path, "q_initial_loss", RUBRIC)
    (course / "nbgrader_config.py").write_text(COURSE_CONFIG.format(
        config=str(REPO / "autograder" / "nbgrader_config.py"), root=str(course), exchange=str(exchange)))
    instructor = top / "instructor"
    instructor.mkdir()
    nbgrader = BIN / "nbgrader"
    _run([nbgrader, "generate_assignment", "svm", "--force"], course, instructor)
    _run([nbgrader, "release_assignment", "svm"], course, instructor)

    ok = ms.all_correct(["svm_loss_naive", "svm_loss_vectorized", "sample_batch", "sgd_step", "predict"])
    answers = {"alice": (ok, "All scores are near zero, so every margin is about 1."),
               "bob": ({**ok, "predict": ms.buggy("predict", "predict_argmin")}, "The weights are random.")}
    homes = {}
    for student, (code, written) in answers.items():
        home = top / student
        home.mkdir()
        homes[student] = home
        (home / "nbgrader_config.py").write_text(STUDENT_CONFIG.format(exchange=str(exchange)))
        _run([nbgrader, "fetch_assignment", "svm"], home, home)
        path = home / "svm" / "svm.ipynb"
        nb = ms.fill(nbformat.read(path, as_version=4), code)
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == "q_initial_loss":
                cell.source = written
        nbformat.write(nb, path)
        _run([nbgrader, "submit", "svm", "--student", student], home, home)

    _run([nbgrader, "collect", "svm"], course, instructor)
    grade = [sys.executable, "-m", "autograder", "autograde", "--course-root", course, "--source", course / "source",
             "--release", course / "release", "--out", course / "work", "--no-kernel", "--cell-timeout", "15"]
    graded = _run(grade, course, instructor)
    return {"course": course, "homes": homes, "instructor": instructor, "nbgrader": nbgrader,
            "graded": graded.stdout, "db": f"sqlite:///{course / 'work' / 'gradebook.db'}"}


def test_release_has_no_rubric_and_students_fetched_it(term):
    release = (term["course"] / "release" / "svm" / "svm.ipynb").read_text()
    assert "Rubric (1 point)" not in release and "BEGIN HIDDEN TESTS" not in release
    for home in term["homes"].values():
        assert "Rubric (1 point)" not in (home / "svm" / "svm.ipynb").read_text()


def test_linclass_grades_what_nbgrader_collected(term):
    work = term["course"] / "work"
    for student in ("alice", "bob"):
        assert (work / "submitted" / student / "svm" / "timestamp.txt").exists()
        autograded = work / "autograded" / student / "svm" / "svm.ipynb"
        assert RUBRIC in autograded.read_text()  # the person grading in formgrader sees it
    assert "alice" in term["graded"] and "bob" in term["graded"]


def test_feedback_round_trip(term):
    from nbgrader.api import Gradebook

    with Gradebook(term["db"]) as gb:  # formgrader: the written answers
        for student, score in (("alice", 1.0), ("bob", 0.0)):
            grade = gb.find_grade("q_initial_loss", "svm", "svm", student)
            grade.manual_score, grade.needs_manual_grade = score, False
        gb.find_comment("q_initial_loss", "svm", "svm", "bob").manual_comment = "Think about the margins."
        gb.db.commit()
        scores = {s.student_id: s.score for s in gb.assignment_submissions("svm")}
    assert scores == {"alice": 11.0, "bob": 9.0}
    course, nbgrader = term["course"], term["nbgrader"]
    _run([nbgrader, "generate_feedback", "svm"], course, term["instructor"])
    for student in ("alice", "bob"):
        page = (course / "work" / "feedback" / student / "svm" / "svm.html").read_text()
        assert "Rubric (1 point)" not in page and "BEGIN HIDDEN TESTS" not in page
    _run([nbgrader, "release_feedback", "svm"], course, term["instructor"])
    fetched = {}
    for student, home in term["homes"].items():
        _run([nbgrader, "fetch_feedback", "svm", "--student", student], home, home)
        pages = list((home / "svm" / "feedback").glob("*/svm.html"))
        assert len(pages) == 1, pages
        fetched[student] = pages[0].read_text()
    assert "Think about the margins." in fetched["bob"] and "Think about the margins." not in fetched["alice"]
    assert "11" in fetched["alice"] and "Rubric (1 point)" not in fetched["alice"] + fetched["bob"]

    # linclass's own grades and pages read the same gradebook.
    export = [sys.executable, "-m", "autograder", "export", "--course-root", course, "--out", course / "work"]
    _run(export, course, term["instructor"])
    rows = {r["student"]: r for r in csv.DictReader(open(course / "work" / "grades.csv"))}
    assert (rows["alice"]["svm score"], rows["bob"]["svm score"]) == ("11", "9")
    assert (rows["alice"]["svm status"], rows["bob"]["svm: q_initial_loss"]) == ("graded", "0")
