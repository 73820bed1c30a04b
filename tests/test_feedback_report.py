"""Feedback pages, the class report and the Canvas export, on results made by hand (fast):
no score on a page without a grade, the late penalty stated, a person's grades and comments
shown, integer counts and named empty panels in the plot, "not written" counted apart."""
from __future__ import annotations

import csv

import pytest

from autograder import export, feedback
from autograder.gradebook import ManualGrade, apply_manual
from autograder.results import PartResult, Status, SubmissionResult


def _result(student="alice", status="graded", score=8.0, parts=None, **fields):
    parts = parts or {
        "svm_loss_naive_loss": PartResult("svm_loss_naive_loss", 3.0, 3.0, "correct"),
        "svm_loss_naive_grad": PartResult("svm_loss_naive_grad", 5.0, 5.0, "correct"),
        "q_kink": PartResult("q_kink", 0.0, 2.0, "needs manual grading", manual=True),
    }
    return SubmissionResult(student, "svm", status, fields.pop("reason", None), parts, {}, [], [], score,
                            10.0, 1.0, True, **fields)


def test_failed_page_shows_no_score():
    r = _result(status="failed", score=0.0, reason="the notebook is not valid JSON")
    page = feedback.render(r)
    assert "Score:" not in page and "0 / 10" not in page
    assert "this is not a score of zero" in page and "could not be graded automatically" in page
    assert "<td>— / 3</td>" in page  # no points per part either
    assert "fresh inputs" not in page  # nothing was checked


@pytest.mark.parametrize("status", ["missing", "unmatched"])
def test_rows_without_submission_render(status):
    r = SubmissionResult.ungraded("bob", "svm", Status(status), "no submission", max_score=10.0)
    page = feedback.render(r)
    assert "Score:" not in page and "Every graded part" not in page


def test_late_penalty_is_stated():
    r = _result(submitted_at="2026-03-02T01:30:00", late_by=5400.0, penalty=1.5)
    page = feedback.render(r)
    assert "6.5 / 10" in page and "late penalty &minus;1.5" in page
    assert "Submitted 2026-03-02T01:30:00, 1 h 30 min after the deadline; late penalty: 1.5 point(s)" in page
    on_time = feedback.render(_result(submitted_at="2026-03-01T10:00:00"))
    assert "on time" in on_time and "Score:</b> 8 / 10" in on_time


def test_manual_grades_and_comments_reach_the_page_and_the_csv(tmp_path):
    r = _result(status="needs manual grading")
    grades = {"q_kink": ManualGrade(1.5, None, "Right idea; say where the kink is.", False),
              "svm_loss_naive_grad": ManualGrade(4.0, 0.5, None, False),
              "svm_loss_naive": ManualGrade(None, None, "Nice and short.", False)}
    merged = apply_manual(r, grades)
    assert r.status == "needs manual grading" and r.score == 8.0  # the input is not changed
    assert merged.status == Status.GRADED and merged.score == 3.0 + 4.5 + 1.5
    assert merged.parts["q_kink"].message == "graded by your instructor"
    assert "set this part to 4 of 5; the automatic check gave 5" in merged.parts["svm_loss_naive_grad"].message
    page = feedback.render(merged)
    assert "Right idea; say where the kink is." in page and "Nice and short." in page
    assert "<td>1.5 / 2</td>" in page and "9 / 10" in page
    path = export.write_csv([merged], tmp_path / "grades.csv")
    row = next(csv.DictReader(open(path)))
    assert (row["svm status"], row["svm score"], row["svm: q_kink"]) == ("graded", "9", "1.5")


def test_written_answer_waiting_is_empty_not_zero(tmp_path):
    row = next(csv.DictReader(open(export.write_csv([_result(status="needs manual grading")], tmp_path / "g.csv"))))
    assert row["svm: q_kink"] == "" and row["svm status"] == "needs manual grading"
    assert "<td>— / 2</td>" in feedback.render(_result(status="needs manual grading"))


def test_failed_stays_failed_until_every_part_is_scored_by_hand():
    r = _result(status="failed", score=0.0, reason="kernel died")
    some = apply_manual(r, {"q_kink": ManualGrade(2.0, None, None, False)})
    assert some.status == Status.FAILED and not some.graded
    every = apply_manual(r, {g: ManualGrade(1.0, None, None, False) for g in r.parts})
    assert every.status == Status.GRADED and every.score == 3.0 and "kernel died" in every.notes[0]


def test_csv_has_lateness_and_final_score(tmp_path):
    rows = [_result(lms_id="5678", submitted_at="2026-03-02T01:30:00", late_by=5400.0, penalty=1.5),
            SubmissionResult.ungraded("bob", "svm", Status.MISSING, "no submission", max_score=10.0)]
    table = {r["student"]: r for r in csv.DictReader(open(export.write_csv(rows, tmp_path / "g.csv")))}
    a = table["alice"]
    assert (a["lms id"], a["svm submitted at"], a["svm late by (hours)"], a["svm late penalty"],
            a["svm final score"]) == ("5678", "2026-03-02T01:30:00", "1.50", "1.5", "6.5")
    assert table["bob"]["svm status"] == "missing" and table["bob"]["svm final score"] == ""


def _with_mistakes(student, keys):
    r = _result(student)
    r.mistake_keys = keys
    r.mistakes = [k.replace("_", " ") for k in keys]
    return r


def test_report_counts_not_written_apart():
    rs = [_with_mistakes(f"s{i}", [f"{fn}: not_written" for fn in ("svm_loss_naive", "predict", "sgd_step")])
          for i in range(4)]
    rs.append(_with_mistakes("x", ["svm_loss_naive: forgot_divide_by_n"]))
    text = export.report_text(rs)
    top = text.split("most frequent named mistakes:")[1].split("\n  ")[0:2]
    assert "1 x svm loss naive: forgot divide by n" in "\n".join(top)
    assert "not written" not in text.split("most frequent named mistakes:")[1].split("functions not written")[0]
    assert "functions not written (still the release's stub): 4 submission(s)" in text


def test_report_plot_integer_ticks_empty_panels_and_histogram(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = []
    monkeypatch.setattr(plt, "close", lambda fig: figures.append(fig))
    export.report_plot([_result("a"), _result("b", score=5.0), _result("c", score=10.0)], tmp_path / "r.png")
    fig = figures[0]
    scores, totals, mistakes = fig.axes
    assert "no named mistakes" in [t.get_text() for t in mistakes.texts]
    assert len(mistakes.get_xticks()) == 0  # no axis drawn around nothing
    assert "total scores" in totals.get_title() and len(totals.patches) > 0
    assert sum(p.get_height() for p in totals.patches) == 3
    assert all(float(t).is_integer() for t in totals.get_yticks())
    assert "q_kink (written)" not in [t.get_text() for t in scores.get_yticklabels()]  # still to grade
    plt.close("all")
    figures.clear()
    bugs = [_with_mistakes(s, ["svm_loss_naive: forgot_divide_by_n"]) for s in "abc"]
    export.report_plot(bugs, tmp_path / "r2.png")
    ticks = figures[0].axes[2].get_xticks()
    assert len(ticks) and all(float(t).is_integer() for t in ticks)
    figures.clear()
    graded = apply_manual(_result("d", status="needs manual grading"), {"q_kink": ManualGrade(1.0, None, None, False)})
    export.report_plot([graded], tmp_path / "r3.png")
    assert "q_kink (written)" in [t.get_text() for t in figures[0].axes[0].get_yticklabels()]


CANVAS = """Student,ID,SIS User ID,SIS Login ID,Section,svm (1234),softmax (1235),Current Score
    Points Possible,,,,,38.00,34.00,(read only)
"Roe, Jane",5678,S001,jroe,Sec A,,,
"Li, Wang",11223,S002,wli,Sec A,,,
"Doe, John",9999,S003,jdoe,Sec B,12,,
"Student, Test",4242,,,Sec A,,,
"""


def test_canvas_csv_from_a_canvas_export(tmp_path):
    roster = tmp_path / "canvas.csv"
    roster.write_text(CANVAS)
    results = [
        _result("roejane-5678", lms_id="5678", penalty=2.0, late_by=100.0),
        _result("S002", status="failed", score=0.0, reason="timeout"),
        _result("stranger", lms_id="777"),
    ]
    out = export.write_canvas_csv(results, roster, "svm", tmp_path / "canvas_import.csv")
    rows = list(csv.reader(open(out.path)))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "svm (1234)"]
    assert rows[1] == ["    Points Possible", "", "", "", "", "10"]
    table = {r[1]: r for r in rows[2:]}
    assert table["5678"][-1] == "6"  # final score after the late penalty
    assert table["11223"][-1] == ""  # failed: blank, never 0
    assert table["9999"][-1] == "" and table["4242"][-1] == ""
    assert out.scored == ["Roe, Jane"] and out.not_in_roster == ["stranger"]


def test_canvas_export_that_is_not_one_says_so(tmp_path):
    bad = tmp_path / "roster.csv"
    bad.write_text("id,first_name\nalice,Alice\n")
    with pytest.raises(export.CanvasError, match="not a Canvas gradebook export"):
        export.write_canvas_csv([], bad, "svm", tmp_path / "x.csv")
    with pytest.raises(export.CanvasError, match="cannot read"):
        export.write_canvas_csv([], tmp_path / "nope.csv", "svm", tmp_path / "x.csv")


def test_a_flag_stays_until_a_person_clears_it():
    r = _result(status="flagged", reason="needs a person: uses sys.settrace")
    r.parts["q_kink"] = PartResult("q_kink", 0.0, 2.0, "not answered", manual=True)
    assert apply_manual(r, {}).status == Status.FLAGGED
    assert apply_manual(r, {"svm_loss_naive_grad": ManualGrade(4.0, None, None, False)}).status == Status.FLAGGED
    cleared = apply_manual(r, {}, unflagged=True)
    assert cleared.status == Status.GRADED and cleared.reason is None
    assert "reviewed by your instructor" in cleared.notes[-1]
