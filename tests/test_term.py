"""The instructor's whole term as one scripted run, through the command line.

A Canvas roster; an LMS download with the file names students and LMSs really produce
(browser copies, Moodle folders, Untitled notebooks, Blackboard and Brightspace names, a
late resubmission, the wrong notebook, a stranger, a PDF, a corrupt notebook); bad inputs;
collect, resolve, autograde; written answers graded in nbgrader's gradebook as formgrader
does; late penalties; grades.csv, Canvas's import CSV and the Gradescope zip; feedback; a
second batch into the same folder. Every rostered student has exactly one row, and every
notebook that came in is still on disk.
"""
from __future__ import annotations

import csv
import hashlib
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

import autograder  # noqa: F401  (first: it keeps nbformat's import fast)

# isort: split
import nbformat

from autograder import cli
from tools import make_samples as ms

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
SVM = ("svm_loss_naive", "svm_loss_vectorized", "sample_batch", "sgd_step", "predict")
SOFTMAX = ("softmax_loss_naive", "softmax_loss_vectorized", "sample_batch", "sgd_step", "predict")

ROSTER = """Student,ID,SIS User ID,SIS Login ID,Section,svm (12345)
    Points Possible,,,,,38
"Wang, Li",11223,S1,wangli,A,
"Roe, Jane",5678,S2,jroe,A,
"Doe, John",2001,S3,jdoe,A,
"Smith, Ann",3003,S4,asmith,B,
"Kim, Min",7007,S5,kim7,B,
"Lovelace, Ada",8008,S6,alovelace,B,
"Moss, Kit",6006,S7,kmoss,B,
"Bo, Bea",4004,S8,bbo,A,
"Absent, Alex",9001,S9,aabsent,B,
"""
ROSTERED = ["wangli-11223", "roejane-5678", "doejohn-2001", "smithann-3003", "kimmin-7007",
            "lovelaceada-8008", "mosskit-6006", "bobea-4004", "absentalex-9001"]


def _nb(course: Path, assignment: str, answers: dict) -> bytes:
    release = nbformat.read(course / "assignments" / assignment / f"{assignment}.ipynb", as_version=4)
    return nbformat.writes(ms.fill(release, answers)).encode()


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _copy_course(course: Path) -> None:
    """solutions/ and assignments/ as committed (a consistent pair even while a release is
    being regenerated in the working tree); a plain copy outside a git checkout."""
    course.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "HEAD", "solutions", "assignments"],
                             capture_output=True)
    if archive.returncode == 0:
        subprocess.run(["tar", "-x", "-C", str(course)], input=archive.stdout, check=True)
        return
    for folder in ("solutions", "assignments"):
        shutil.copytree(REPO / folder, course / folder,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    base = tmp_path_factory.mktemp("term")
    course = base / "course"
    _copy_course(course)
    (course / "grading.cfg").write_text("[svm]\ndeadline = 2026-03-01T23:59:00\nlate_rule = 10%/day, max 50%\n")
    roster = base / "canvas-gradebook.csv"
    roster.write_text(ROSTER)
    ok = ms.all_correct(SVM)
    bug = {**ok, "svm_loss_naive": ms.buggy("svm_loss_naive", "svm_wrong_sign_correct_class")}
    entries = [  # (name in the download, notebook, time stamp in the zip)
        ("wangli_11223_55555_svm (1).ipynb", _nb(course, "svm", ok), (2026, 3, 1, 22, 0, 0)),
        ("Jane Roe_5678_assignsubmission_file_/svm.ipynb", _nb(course, "svm", bug), (2026, 3, 1, 23, 0, 0)),
        ("doejohn_2001_66000_svm.ipynb", _nb(course, "svm", bug), (2026, 3, 1, 12, 0, 0)),
        ("doejohn_LATE_2001_66001_Untitled.ipynb", _nb(course, "svm", ok), (2026, 3, 2, 5, 30, 0)),
        ("smithann_3003_77001_svm-1.ipynb", _nb(course, "softmax", ms.all_correct(SOFTMAX)), (2026, 3, 1, 20, 0, 0)),
        ("HW2_kim7_attempt_2026-03-01-21-15-00_svm.ipynb", _nb(course, "svm", ok), (2026, 3, 1, 21, 15, 0)),
        ("123-456 - Ada Lovelace - Mar 1, 2026 926 PM/svm.ipynb", _nb(course, "svm", bug), (2026, 3, 1, 21, 26, 0)),
        ("mystery_Untitled (2).ipynb", _nb(course, "svm", ok), (2026, 3, 1, 10, 0, 0)),
        ("bobea_4004_1_svm.ipynb", b'{"cells": [', (2026, 3, 1, 10, 0, 0)),
        ("stranger_9999_88888_svm.ipynb", _nb(course, "svm", ok), (2026, 3, 1, 10, 0, 0)),
        ("notes_2001_66002_svm.pdf", b"%PDF-1.4", (2026, 3, 1, 10, 0, 0)),
    ]
    download = base / "submissions.zip"
    with zipfile.ZipFile(download, "w") as zf:
        for name, data, when in entries:
            zf.writestr(zipfile.ZipInfo(name, when), data)
    out = base / "out"
    common = ["--course-root", str(course), "--out", str(out)]
    return {"base": base, "course": course, "roster": roster, "download": download, "out": out,
            "common": common, "entries": entries}


def test_the_term(term, capsys):
    out, common = term["out"], term["common"]

    # 1. Bad inputs change nothing.
    assert cli.main(["collect", str(term["base"] / "submisions.zip"), *common]) == 2
    assert "does not exist; nothing was changed" in capsys.readouterr().err
    assert not out.exists()
    bad_roster = term["base"] / "bad-roster.csv"
    bad_roster.write_text("name,score\nx,1\n")
    assert cli.main(["collect", str(term["download"]), *common, "--roster", str(bad_roster)]) == 2
    assert "expected nbgrader's student import columns" in capsys.readouterr().err
    assert cli.main(["collect", str(term["download"]), *common, "--late-rule", "10 per day"]) == 2
    assert "late rule '10 per day' is not understood" in capsys.readouterr().err
    assert not out.exists()

    # 2. Collect with the roster: what matches nobody is kept, reported, and exits 3.
    assert cli.main(["collect", str(term["download"]), *common, "--roster", str(term["roster"]),
                     "--assignment", "svm"]) == 3
    said = capsys.readouterr().out
    unmatched = {line.split(": ", 2)[1] for line in said.splitlines() if line.startswith("UNMATCHED: ")}
    assert unmatched == {"smithann_3003_77001_svm-1.ipynb", "mystery_Untitled (2).ipynb",
                         "stranger_9999_88888_svm.ipynb"}, said
    assert "graded cells are those of 'softmax'" in said and "not a notebook" in said
    assert "late: doejohn-2001/svm" in said

    # 3. The instructor resolves two; the stranger stays unmatched (and export says so).
    before = _tree(out / "submitted")
    assert cli.main(["collect", str(term["download"]), *common, "--assignment", "svm",
                     "--map", "mystery_Untitled (2).ipynb=mosskit-6006",
                     "--map", "smithann_3003_77001_svm-1.ipynb=smithann-3003"]) == 3
    capsys.readouterr()
    after = _tree(out / "submitted")
    assert all(after.get(k) == v for k, v in before.items() if k != "collect_report.json")  # nothing lost

    # 4. Autograde (the function probe only, to keep the term short).
    assert cli.main(["autograde", *common, "--no-kernel", "--workers", "2"]) == 0
    graded = capsys.readouterr().out
    assert "smithann-3003/softmax" in graded and "bobea-4004/svm: failed" in graded

    # 5. Written answers, graded in nbgrader's gradebook as formgrader does.
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        for student, score in (("wangli-11223", 3.0), ("doejohn-2001", 2.0)):
            grade = gb.find_grade("q_kink", "svm", "svm", student)
            grade.manual_score, grade.needs_manual_grade = score, False
        gb.find_comment("q_kink", "svm", "svm", "wangli-11223").manual_comment = "Right: the hinge's kink."
        gb.db.commit()

    # 6. Export svm: one row per rostered student, plus the unmatched file; exit 3 until resolved.
    assert cli.main(["export", *common, "--assignment", "svm"]) == 3
    report = capsys.readouterr()
    assert "stranger_9999_88888_svm.ipynb" in report.out and "Exit code 3" in report.err
    rows = list(csv.DictReader(open(out / "grades.csv")))
    students = [r["student"] for r in rows]
    assert sorted(s for s in students if not s.startswith("unmatched: ")) == sorted(ROSTERED)
    assert len(students) == len(set(students)) == len(ROSTERED) + 1  # exactly one row each
    by = {r["student"]: r for r in rows}
    assert by["smithann-3003"]["svm status"] == "missing"  # she handed in her softmax notebook
    assert by["absentalex-9001"]["svm status"] == "missing" and by["absentalex-9001"]["svm score"] == ""
    assert by["bobea-4004"]["svm status"] == "failed" and by["bobea-4004"]["svm score"] == ""
    assert by["unmatched: stranger_9999_88888_svm.ipynb"]["svm status"] == "unmatched"
    assert by["wangli-11223"]["svm: q_kink"] == "3" and by["doejohn-2001"]["svm: q_kink"] == "2"
    late = {k: v for k, v in by["doejohn-2001"].items() if "late" in k.lower() or "penalty" in k.lower()}
    penalty = f"{0.1 * float(by['doejohn-2001']['svm max score']):g}"  # 5.5 h late: one day at 10 % of the points
    assert penalty in late.values(), late
    assert all(v in ("", "0") for k, v in by["wangli-11223"].items() if "penalty" in k.lower())

    # The stranger turns out to be Alex, who was missing: resolved, export exits 0.
    assert cli.main(["collect", str(term["download"]), *common, "--assignment", "svm",
                     "--map", "mystery_Untitled (2).ipynb=mosskit-6006",
                     "--map", "smithann_3003_77001_svm-1.ipynb=smithann-3003",
                     "--map", "stranger_9999_88888_svm.ipynb=absentalex-9001"]) == 0
    assert cli.main(["autograde", *common, "--no-kernel", "--workers", "2"]) == 0
    assert cli.main(["export", *common, "--assignment", "svm"]) == 0
    capsys.readouterr()
    rows = list(csv.DictReader(open(out / "grades.csv")))
    by = {r["student"]: r for r in rows}
    assert sorted(by) == sorted(ROSTERED) and len(rows) == len(ROSTERED)
    assert by["absentalex-9001"]["svm status"] != "missing" and by["smithann-3003"]["svm status"] == "missing"

    # 7. Canvas's import CSV, by the Canvas ids, and the Gradescope autograder zip.
    from autograder.batch import recorded_results
    from autograder.export import write_canvas_csv
    from autograder.layout import CourseLayout

    layout = CourseLayout.from_options(term["course"], out=out)
    canvas = write_canvas_csv(recorded_results(layout, "svm"), term["roster"], "svm", out / "canvas.csv")
    scores = {r["ID"]: r["svm (12345)"] for r in csv.DictReader(open(canvas.path)) if r["ID"].isdigit()}
    assert set(scores) == {"11223", "5678", "2001", "3003", "7007", "8008", "6006", "4004", "9001"}
    assert scores["3003"] == "" and scores["4004"] == ""  # missing and failed: blank, never 0
    assert float(scores["2001"]) == pytest.approx(float(by["doejohn-2001"]["svm score"]) - float(penalty))
    assert canvas.not_in_roster == []
    gradescope = term["base"] / "svm-gradescope.zip"
    assert cli.main(["gradescope", "--course-root", str(term["course"]), "--assignment", "svm",
                     "--zip", str(gradescope)]) == 0
    assert {"setup.sh", "run_autograder"} <= set(zipfile.ZipFile(gradescope).namelist())

    # 8. Feedback: a page per graded student, with the answers, the lateness and the written-answer grade.
    assert cli.main(["feedback", *common, "--assignment", "svm"]) == 0
    warnings = capsys.readouterr().err
    assert "no \"your answers\" section" not in warnings
    page = (out / "feedback" / "doejohn-2001" / "svm" / "svm.html").read_text()
    assert "after the deadline" in page and penalty in page
    wang = (out / "feedback" / "wangli-11223" / "svm" / "svm.html").read_text()
    assert "Right: the hinge&#x27;s kink." in wang or "Right: the hinge's kink." in wang

    # 9. A second batch (softmax) into the same folder: the svm export is unchanged.
    svm_csv = (out / "grades.csv").read_bytes()
    second = term["base"] / "softmax.zip"
    with zipfile.ZipFile(second, "w") as zf:
        zf.writestr(zipfile.ZipInfo("wangli_11223_1_softmax.ipynb", (2026, 3, 8, 9, 0, 0)),
                    _nb(term["course"], "softmax", ms.all_correct(SOFTMAX)))
    assert cli.main(["collect", str(second), *common, "--assignment", "softmax"]) == 0
    assert cli.main(["autograde", *common, "--no-kernel", "--workers", "1", "--assignment", "softmax"]) == 0
    assert cli.main(["export", *common, "--assignment", "svm"]) == 0
    assert (out / "grades.csv").read_bytes() == svm_csv
    assert cli.main(["export", *common, "--assignment", "softmax"]) == 0
    capsys.readouterr()
    soft = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    assert sorted(soft) == sorted(ROSTERED)
    assert soft["wangli-11223"]["softmax status"] != "missing" and soft["smithann-3003"]["softmax status"] != "missing"
    assert not any(k.startswith("svm") for k in next(iter(soft.values())))

    # 10. Nothing that came in was lost: every notebook of both downloads is on disk under OUT.
    kept = {_sha(p.read_bytes()) for p in out.rglob("*.ipynb")}
    for name, data, _ in term["entries"]:
        if name.endswith(".ipynb"):
            assert _sha(data) in kept, name
    manifest = json.loads((out / "collect" / "manifest.json").read_text())
    assert manifest["unmatched"] == {}
    assert manifest["submissions"]["svm"]["wangli-11223"]["lms_id"] == "11223"
    assert not (term["course"] / "grades.csv").exists()  # nothing written into the course root
