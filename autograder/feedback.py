"""One HTML feedback file per student and assignment.

The page says, for every graded part, what was checked (in words, never the hidden test's
code), the points, what went wrong, and the named mistake from the catalogue. Hidden test
cells are never copied into the page; only the student's own answer cells are shown.
"""
from __future__ import annotations

import html
from pathlib import Path

from autograder import sanitize
from autograder.results import SubmissionResult

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60em; margin: 2em auto; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #ccc; padding: 0.4em; vertical-align: top; text-align: left; }
.ok { background: #eef8ee; } .bad { background: #fdeeee; } .manual { background: #f4f4f4; }
.mistake { font-weight: bold; color: #8a1c1c; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; }
"""


def _e(text) -> str:
    # The student's own answer text is shown too: sanitized (no lone surrogates, no control
    # characters) before it is escaped.
    return html.escape(sanitize.text(text, 200_000), quote=True)


def render(result: SubmissionResult, answers: dict[str, str] | None = None) -> str:
    """The feedback page for one result, as an HTML string.

    result: SubmissionResult; answers: grade_id -> the student's answer cell text (optional).
    """
    rows = []
    for gid, part in result.parts.items():
        if part.manual:
            css, verdict = "manual", _e(part.message)
        elif result.status == "failed" and part.points == 0:
            css, verdict = "bad", _e(part.message)
        else:
            css = "ok" if part.points >= part.max_points else "bad"
            verdict = _e(part.message)
            if part.mistake:
                verdict += f'<div class="mistake">Likely mistake: {_e(part.mistake)}</div>'
        points = "—" if (part.manual and part.message == "needs manual grading") else f"{part.points:g}"
        rows.append(f'<tr class="{css}"><td>{_e(gid)}</td><td>{points} / {part.max_points:g}</td>'
                    f"<td>{_e(part.checked)}</td><td>{verdict}</td></tr>")
    status = {"graded": "graded", "failed": "could not be graded automatically",
              "needs manual grading": "graded, with written answers still to be read by a person",
              "flagged": "graded, and set aside for a person to review"}[result.status]
    out = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Feedback: {_e(result.assignment)}"
           f"</title><style>{_STYLE}</style></head><body>",
           f"<h1>Feedback on <code>{_e(result.assignment)}</code> for {_e(result.student)}</h1>",
           f"<p><b>Score:</b> {result.score:g} / {result.max_score:g} &nbsp; <b>Status:</b> {_e(status)}</p>"]
    if result.status == "failed" and result.reason:
        out.append(f"<p class='mistake'>Why: {_e(result.reason)}. Your instructor has been told; "
                   "this is not a score of zero.</p>")
    if result.mistakes:
        out.append("<h2>Mistakes we recognized</h2><ul>")
        out += [f"<li>{_e(m)}</li>" for m in result.mistakes]
        out.append("</ul>")
    out.append("<h2>Every graded part</h2><table><tr><th>part</th><th>points</th><th>what was checked"
               "</th><th>result</th></tr>")
    out += rows
    out.append("</table>")
    out.append("<p>The checks ran your functions on fresh inputs that are not in the notebook, "
               "and compared the results with the course's reference implementation.</p>")
    if result.notes:
        out.append("<h2>Notes</h2><ul>" + "".join(f"<li>{_e(n)}</li>" for n in result.notes) + "</ul>")
    if answers:
        out.append("<h2>Your answers as graded</h2>")
        for gid, text in answers.items():
            out.append(f"<h3>{_e(gid)}</h3><pre>{_e(text)}</pre>")
    out.append("</body></html>")
    return "\n".join(out)


def write_feedback(result: SubmissionResult, feedback_dir: Path, answers: dict[str, str] | None = None) -> Path:
    """Write feedback_dir/<student>/<assignment>/<assignment>.html; return its path."""
    path = Path(feedback_dir) / result.student / result.assignment / f"{result.assignment}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(result, answers), encoding="utf-8")
    return path
