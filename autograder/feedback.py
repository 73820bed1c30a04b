"""One HTML feedback file per student and assignment.

The page says, for every graded part, what was checked (in words, never the hidden test's
code), the points, what went wrong, and the named mistake from the catalogue; the grades
and comments a person gave in formgrader; when the notebook came in and the late penalty.
A submission without a grade (failed, missing) shows no score, never "0". Hidden test
cells and rubrics are never copied into the page; only the student's own answer cells are
shown.
"""
from __future__ import annotations

import html
from pathlib import Path

from autograder import sanitize
from autograder.gradebook import BY_HAND
from autograder.gradebook import waits_for_person as _waits_for_person
from autograder.results import SubmissionResult

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60em; margin: 2em auto; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #ccc; padding: 0.4em; vertical-align: top; text-align: left; }
.ok { background: #eef8ee; } .bad { background: #fdeeee; } .manual { background: #f4f4f4; }
.mistake { font-weight: bold; color: #8a1c1c; }
.comment { font-style: italic; color: #1c4a8a; } .late { color: #8a5a1c; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; }
"""


def _e(text) -> str:
    # The student's own answer text is shown too: sanitized (no lone surrogates, no control
    # characters) before it is escaped.
    return html.escape(sanitize.text(text, 200_000), quote=True)


STATUS_WORDS = {
    "graded": "graded",
    "failed": "could not be graded automatically",
    "needs manual grading": "graded, with written answers still to be read by a person",
    "flagged": "graded, and set aside for a person to review",
    "missing": "no submission was received",
    "unmatched": "received, but not yet matched to a student",
}


def _duration(seconds: float) -> str:
    """A lateness in words: "3 min", "2 h 5 min", "1 day 4 h"."""
    minutes = int(round(seconds / 60))
    if minutes < 60:
        return f"{max(minutes, 1)} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} day{'s' if days > 1 else ''} {hours} h" if hours else f"{days} day{'s' if days > 1 else ''}"


def score_line(result: SubmissionResult) -> str:
    """The page's score and status line (HTML). A submission without a grade (failed,
    missing, unmatched) shows no score at all: it is not a score of zero."""
    status = _e(STATUS_WORDS.get(str(result.status), str(result.status)))
    if not result.graded:
        return f"<p><b>Status:</b> {status}</p>"
    penalty = getattr(result, "penalty", 0.0) or 0.0
    score = f"{result.score:g} / {result.max_score:g}"
    if penalty > 0:
        final = getattr(result, "final_score", max(0.0, result.score - penalty))
        score = (f"{final:g} / {result.max_score:g} (the checks gave {result.score:g}; "
                 f"late penalty &minus;{penalty:g})")
    return f"<p><b>Score:</b> {score} &nbsp; <b>Status:</b> {status}</p>"


def lateness_line(result: SubmissionResult) -> str | None:
    """When the submission came in and what lateness cost, or None when nothing is known."""
    submitted_at = getattr(result, "submitted_at", None)
    late_by = getattr(result, "late_by", 0.0) or 0.0
    penalty = getattr(result, "penalty", 0.0) or 0.0
    if not submitted_at and late_by <= 0:
        return None
    when = f"Submitted {_e(submitted_at)}" if submitted_at else "Submitted"
    if late_by <= 0:
        return f"<p>{when}, on time.</p>"
    cost = (f"late penalty: {penalty:g} point(s) taken from the score" if penalty > 0
            else "no late penalty applied")
    return f"<p class='late'>{when}, {_duration(late_by)} after the deadline; {cost}.</p>"


def render(result: SubmissionResult, answers: dict[str, str] | None = None) -> str:
    """The feedback page for one result, as an HTML string.

    result: SubmissionResult (with a person's grades applied, see
    ``autograder.gradebook.with_manual_grades``); answers: grade_id -> the student's answer
    cell text (optional).
    """
    comments = dict(getattr(result, "comments", {}) or {})
    rows = []
    for gid, part in result.parts.items():
        if part.manual:
            css, verdict = "manual", _e(part.message)
        elif result.status == "failed":
            css, verdict = "bad", _e(part.message)
        else:
            css = "ok" if part.points >= part.max_points else "bad"
            verdict = _e(part.message)
            if part.mistake:
                verdict += f'<div class="mistake">Likely mistake: {_e(part.mistake)}</div>'
        if gid in comments:
            verdict += f'<div class="comment">Your instructor: {_e(comments.pop(gid))}</div>'
        by_hand = part.message.startswith(BY_HAND)
        no_points = _waits_for_person(part) or (result.status == "failed" and not by_hand)
        points = "—" if no_points else f"{part.points:g}"
        rows.append(f'<tr class="{css}"><td>{_e(gid)}</td><td>{points} / {part.max_points:g}</td>'
                    f"<td>{_e(part.checked)}</td><td>{verdict}</td></tr>")
    out = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Feedback: {_e(result.assignment)}"
           f"</title><style>{_STYLE}</style></head><body>",
           f"<h1>Feedback on <code>{_e(result.assignment)}</code> for {_e(result.student)}</h1>",
           score_line(result)]
    late = lateness_line(result)
    if late:
        out.append(late)
    if result.status == "failed" and result.reason:
        out.append(f"<p class='mistake'>Why: {_e(result.reason)}. Your instructor has been told; "
                   "this is not a score of zero.</p>")
    if result.mistakes:
        out.append("<h2>Mistakes we recognized</h2><ul>")
        out += [f"<li>{_e(m)}</li>" for m in result.mistakes]
        out.append("</ul>")
    if rows:
        out.append("<h2>Every graded part</h2><table><tr><th>part</th><th>points</th><th>what was checked"
                   "</th><th>result</th></tr>")
        out += rows
        out.append("</table>")
        if result.graded:
            out.append("<p>The checks ran your functions on fresh inputs that are not in the notebook, "
                       "and compared the results with the course's reference implementation.</p>")
    if comments:  # comments on answer cells that are not graded parts themselves
        out.append("<h2>Comments from your instructor</h2><ul>"
                   + "".join(f"<li><b>{_e(gid)}</b>: {_e(text)}</li>" for gid, text in comments.items())
                   + "</ul>")
    if result.notes:
        out.append("<h2>Notes</h2><ul>" + "".join(f"<li>{_e(n)}</li>" for n in result.notes) + "</ul>")
    if answers:
        out.append("<h2>Your answers as graded</h2>")
        for gid, text in answers.items():
            out.append(f"<h3>{_e(gid)}</h3><pre>{_e(text)}</pre>")
    out.append("</body></html>")
    return "\n".join(out)


def write_feedback(result: SubmissionResult, feedback_dir: Path, answers: dict[str, str] | None = None,
                   submitted_dir: Path | None = None) -> Path:
    """Write feedback_dir/<student>/<assignment>/<assignment>.html; return its path.

    submitted_dir: the folder of the submitted notebook; nbgrader's timestamp.txt and
    submission_secret.txt found there are copied next to the page, so that with --out at
    nbgrader's folder ``nbgrader release_feedback`` can hand this page out.
    """
    path = Path(feedback_dir) / result.student / result.assignment / f"{result.assignment}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(result, answers), encoding="utf-8")
    for name in ("timestamp.txt", "submission_secret.txt"):
        kept = Path(submitted_dir) / name if submitted_dir is not None else None
        if kept is not None and kept.is_file():
            (path.parent / name).write_text(kept.read_text())
    return path
