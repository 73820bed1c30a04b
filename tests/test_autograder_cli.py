"""The CLI and its library: the course layout (--course-root, run from any folder, clear
errors), the resumable batch, the student's selfcheck (exit codes), export from records,
and grading through Dask."""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import autograder  # noqa: F401  (first: it keeps nbformat's import fast)

# isort: split
import nbformat

from autograder import cli
from autograder.batch import NoSubmissions, grade_batch
from autograder.export import report_text, write_csv
from autograder.layout import CourseLayout
from autograder.results import PartResult, Status, SubmissionResult
from tools import make_samples as ms

REPO = Path(__file__).resolve().parents[1]
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


# The self-check's own tests (integrity, exit codes, runs) are in tests/test_selfcheck.py.


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


# -- the course layout ------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_course(tmp_path_factory):
    """A copy of this course (solutions/ and assignments/) and one sample submission, in
    nbgrader's layout under incoming/submitted/."""
    base = tmp_path_factory.mktemp("installed")
    root = base / "course"
    for folder in ("solutions", "assignments"):
        shutil.copytree(REPO / folder, root / folder,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    sample = REPO / "autograder" / "samples" / "submitted" / "correct_student" / "svm" / "svm.ipynb"
    dest = base / "incoming" / "submitted" / "correct_student" / "svm" / "svm.ipynb"
    dest.parent.mkdir(parents=True)
    shutil.copy(sample, dest)
    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    return {"root": root, "incoming": base / "incoming", "sample": dest, "elsewhere": elsewhere}


def test_layout_defaults_come_from_the_course_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    here = CourseLayout.from_options()
    assert here.root == tmp_path and here.source == tmp_path / "solutions"
    assert here.release == tmp_path / "assignments" and here.out == tmp_path / "build" / "grading"
    assert (here.submitted, here.results, here.work, here.feedback, here.gradebook) == tuple(
        tmp_path / "build" / "grading" / n for n in ("submitted", "results", "work", "feedback", "gradebook.db"))
    (tmp_path / "c" / "solutions" / "svm").mkdir(parents=True)
    (tmp_path / "c" / "solutions" / "svm" / "svm.ipynb").write_text("{}")
    (tmp_path / "c" / "solutions" / "notes").mkdir()
    there = CourseLayout.from_options("c", out="o")
    assert there.root == tmp_path / "c" and there.out == tmp_path / "o"  # a given path is from the cwd
    assert there.assignments() == ["svm"] and there.require_source() is there
    config = there.grade_config(seed=3)
    assert (config.source_dir, config.release_dir, config.work_dir, config.seed) == (
        there.source, there.release, tmp_path / "o" / "work", 3)
    with pytest.raises(TypeError, match="work_dir"):
        there.grade_config(work_dir=tmp_path)


def test_course_root_without_solutions_is_a_clear_error(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"has no solutions/ folder\); pass --course-root or --source"):
        CourseLayout.from_options(empty).require_source()
    for argv in (["autograde", "--course-root", str(empty)], ["run", str(empty), "--course-root", str(empty)],
                 ["collect", str(empty)], ["feedback"]):
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert str(tmp_path / ("empty" if "--course-root" in argv else "") / "solutions").rstrip("/") in err
        assert "pass --course-root or --source" in err
    assert cli.main(["collect", str(empty), "--source", "nosrc"]) == 2
    err = capsys.readouterr().err
    assert f"no nbgrader source folder {tmp_path / 'nosrc'}; pass --course-root or --source" in err
    assert cli.main(["autograde", "--course-root", str(tmp_path / "missing")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert not (empty / "build").exists() and not (tmp_path / "build").exists()


def test_selfcheck_release_from_the_course_root(real_course, tmp_path, monkeypatch, capsys):
    mine = tmp_path / "mine" / "svm.ipynb"  # the untouched release: intact
    mine.parent.mkdir()
    shutil.copy(real_course["root"] / "assignments" / "svm" / "svm.ipynb", mine)
    monkeypatch.chdir(real_course["root"])  # a student's folder holding assignments/
    # Found and intact (exit 1, not 2: the untouched release's functions are still stubs).
    assert cli.main(["selfcheck", str(mine), "--no-run"]) == 1
    monkeypatch.chdir(tmp_path)
    assert cli.main(["selfcheck", str(mine), "--no-run", "--course-root", str(real_course["root"])]) == 1
    assert "graded cells are intact" in capsys.readouterr().out
    assert cli.main(["selfcheck", str(mine), "--no-run"]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "assignments") in err and "pass --release or --course-root" in err


@pytest.mark.slow
def test_run_from_another_folder_with_course_root(real_course):
    # As an installed command: a fresh process whose current folder is not the course.
    cmd = [sys.executable, "-m", "autograder", "run", str(real_course["incoming"]),
           "--course-root", str(real_course["root"]), "--no-kernel", "--workers", "1"]
    proc = subprocess.run(cmd, cwd=real_course["elsewhere"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = real_course["root"] / "build" / "grading"
    record = json.loads((out / "results" / "svm" / "correct_student.json").read_text())["result"]
    status, score, mistakes = ms.EXPECTED["svm"]["correct_student"]
    assert (record["status"], record["score"], record["mistake_keys"]) == (status, score, mistakes), record["reason"]
    assert (out / "feedback" / "correct_student" / "svm" / "svm.html").exists()
    assert (out / "grades.csv").exists() and (out / "gradebook.db").exists()
    assert list(real_course["elsewhere"].iterdir()) == []  # nothing written where it was started


# -- the resumable batch ---------------------------------------------------------------


def _fake_grade_many(calls):
    def grade_many(jobs, config, workers=None, scheduler=None):
        for job in jobs:
            calls.append((job.student, job.assignment, workers, scheduler))
            points = 2.0 if job.student.startswith("ok") else 0.0
            parts = {"svm_loss_naive_loss": PartResult("svm_loss_naive_loss", points, 2.0, "checked")}
            yield SubmissionResult(job.student, job.assignment, Status.GRADED, None, parts, {}, [], [],
                                   points, 2.0, 0.25, True)
    return grade_many


def test_grade_batch_resumes(course, tmp_path, monkeypatch):
    layout = CourseLayout.from_options(course["root"], source=course["source"], release=course["release"],
                                       out=tmp_path / "out")
    config = layout.grade_config(run_notebook=False)
    with pytest.raises(NoSubmissions, match="run collect first"):
        grade_batch(layout, config, progress=None)
    for student in ("ok1", "ok2", "bad"):
        path = layout.submitted_notebook(student, "svm")
        path.parent.mkdir(parents=True)
        shutil.copy(course["good"], path)
    calls, booked = [], []

    def record(db_path, source_nb, result, **where):  # nbgrader's gradebook, written before the JSON record
        assert db_path == layout.gradebook and source_nb.cells
        booked.append((result.student, (layout.results / "svm" / f"{result.student}.json").exists()))

    monkeypatch.setattr("autograder.parallel.grade_many", _fake_grade_many(calls))
    monkeypatch.setattr("autograder.gradebook.record", record)
    lines = []
    first = grade_batch(layout, config, workers=1, progress=lines.append, warn=None)
    assert (first.graded, first.kept, len(calls)) == (3, 0, 3) and calls[0][2:] == (1, None)
    assert [r.student for r in first.results] == ["bad", "ok1", "ok2"]
    assert "0 submission(s) already graded (kept), 3 to grade on 1 local worker(s)" in lines[0]
    assert sorted(p.name for p in (layout.results / "svm").iterdir()) == ["bad.json", "ok1.json", "ok2.json"]
    assert sorted(booked) == [("bad", False), ("ok1", False), ("ok2", False)] and not first.warnings

    second = grade_batch(layout, config, workers=1, progress=None)
    assert (second.graded, second.kept, second.seconds, len(calls), len(booked)) == (0, 3, 0.0, 3, 3)
    assert [r.to_dict() for r in second.results] == [r.to_dict() for r in first.results]

    # A changed notebook is graded again; so is everything with regrade=True.
    changed = layout.submitted_notebook("bad", "svm")
    changed.write_text(changed.read_text() + "\n")
    third = grade_batch(layout, config, workers=1, progress=None)
    assert (third.graded, third.kept, calls[-1][0]) == (1, 2, "bad")
    assert grade_batch(layout, config, regrade=True, assignment="svm", workers=1, progress=None).graded == 3


# -- Ctrl-C, the roster, batches kept apart ------------------------------------------------


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_keeps_what_was_graded(tmp_path):
    import signal
    import time

    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "autograder", "run", str(REPO / "autograder" / "samples" / "submitted"),
           "--course-root", str(REPO), "--out", str(out), "--workers", "2"]
    # A real Ctrl-C: SIGINT to the command (with the default handler even if this runner ignores it).
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:  # wait until one submission is graded and the next are running
        lines.append(line)
        if "[1/" in line:
            break
    time.sleep(2)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=120)
    stopped_in = time.monotonic() - t0
    assert proc.returncode == 130, "".join(lines) + rest + err
    assert "Traceback" not in err + rest
    graded = int(err.split("interrupted: ")[1].split(" graded")[0])
    assert "run again to resume" in err and graded >= 1
    assert stopped_in < 30  # the queued submissions are not graded first
    records = list((out / "results").glob("*/*.json"))
    assert len(records) == graded
    scratch = out / "work" / "scratch"
    assert not scratch.exists() or list(scratch.iterdir()) == []
    assert str(out) not in Path("/proc/mounts").read_text()  # no scratch tmpfs left mounted


def _fake_results(layout, students, assignment="svm"):
    from autograder.gradebook import ResultStore

    store = ResultStore(layout.results)
    for s in students:
        part = PartResult("svm_loss_naive_loss", 2.0, 2.0, "checked")
        store.save(SubmissionResult(s, assignment, Status.GRADED, None, {"svm_loss_naive_loss": part}, {}, [], [],
                                    2.0, 2.0, 0.1, True), "digest")


def test_export_gives_every_rostered_student_one_row_and_exits_3_while_files_are_unmatched(course, tmp_path,
                                                                                          capsys):
    out = tmp_path / "out"
    layout = CourseLayout.from_options(course["root"], source=course["source"], release=course["release"], out=out)
    _fake_results(layout, ["ann", "bob"])
    layout.manifest.parent.mkdir(parents=True)
    layout.manifest.write_text(json.dumps({"submissions": {"svm": {"ann": {
        "file": "ann_1_2_svm.ipynb", "lms_id": "1", "submitted_at": "2026-03-02T01:00:00"}}},
        "unmatched": {"Untitled (3).ipynb": {"reason": "cannot tell the student", "assignment": "svm"}}}))
    roster = tmp_path / "roster.csv"
    roster.write_text("id,first_name,last_name,email,lms_user_id\nann,Ann,A,,1\nbob,Bob,B,,\ncy,Cy,C,,3\n")
    args = ["export", "--course-root", str(course["root"]), "--source", str(course["source"]),
            "--release", str(course["release"]), "--out", str(out), "--assignment", "svm"]
    assert cli.main([*args, "--roster", str(roster), "--deadline", "2026-03-01T23:59", "--late-rule", "1/hour"]) == 3
    captured = capsys.readouterr()
    assert "UNMATCHED" in captured.out and "Untitled (3).ipynb" in captured.out and "Exit code 3" in captured.err
    rows = list(csv.DictReader(open(layout.grades_csv)))
    by = {r["student"]: r for r in rows}
    assert sorted(by) == ["ann", "bob", "cy", "unmatched: Untitled (3).ipynb"]  # exactly one row each
    assert by["cy"]["svm status"] == "missing" and by["cy"]["svm score"] == ""
    assert by["unmatched: Untitled (3).ipynb"]["svm status"] == "unmatched"
    assert (layout.roster).exists()  # kept: the next export needs no --roster
    res = {r.student: r for r in cli_rows(layout)}
    assert res["ann"].late_by == 3660.0 and res["ann"].penalty == 2.0 and res["ann"].final_score == 0.0
    assert res["ann"].lms_id == "1" and res["bob"].penalty == 0.0
    # Resolved: the unmatched file is gone from the manifest, export exits 0.
    layout.manifest.write_text(json.dumps({"submissions": {}, "unmatched": {}}))
    assert cli.main(args) == 0
    assert sorted(r["student"] for r in csv.DictReader(open(layout.grades_csv))) == ["ann", "bob", "cy"]


def cli_rows(layout):
    from autograder import lateness
    from autograder.batch import recorded_results

    policy = lateness.Policy(lateness.parse_time("2026-03-01T23:59"), lateness.LateRule.parse("1/hour"))
    return recorded_results(layout, "svm", {"svm": policy})


def test_a_second_batch_never_exports_the_first_under_its_assignment(course, tmp_path):
    from autograder.batch import export_reports

    layout = CourseLayout.from_options(course["root"], source=course["source"], release=course["release"],
                                       out=tmp_path / "out")
    _fake_results(layout, ["ann", "bob"], "svm")
    _fake_results(layout, ["cy"], "softmax")
    export = export_reports(layout, assignment="softmax")
    assert {(r.student, r.assignment) for r in export.rows} == {("cy", "softmax")}
    header = next(csv.reader(open(layout.grades_csv)))
    assert not any(h.startswith("svm") for h in header)


def test_a_newer_submission_keeps_the_earlier_grade_in_history(course, tmp_path, monkeypatch):
    layout = CourseLayout.from_options(course["root"], source=course["source"], release=course["release"],
                                       out=tmp_path / "out")
    path = layout.submitted_notebook("ok1", "svm")
    path.parent.mkdir(parents=True)
    shutil.copy(course["good"], path)
    monkeypatch.setattr("autograder.parallel.grade_many", _fake_grade_many([]))
    monkeypatch.setattr("autograder.gradebook.record", lambda *a, **k: None)
    grade_batch(layout, layout.grade_config(run_notebook=False), workers=1, progress=None)
    first = (layout.results / "svm" / "ok1.json").read_text()
    path.write_text(path.read_text() + "\n")  # the student's newer submission
    grade_batch(layout, layout.grade_config(run_notebook=False), workers=1, progress=None)
    [old] = list((layout.results / "svm" / "history").glob("ok1@*.json"))
    assert old.read_text() == first and (layout.results / "svm" / "ok1.json").read_text() != first
    assert [r.student for r in cli_rows_all(layout)] == ["ok1"]  # history is not a second result


def cli_rows_all(layout):
    from autograder.batch import recorded_results

    return recorded_results(layout)
