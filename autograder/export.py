"""Export: the grades CSV, the class report (text and PNG plot), and grades for Canvas.

grades.csv has one row per student and, for each assignment, a status column (graded,
needs manual grading, flagged, failed, missing, unmatched), the reason, the score, one
column per graded part, the named mistakes, when the notebook came in, how late, the late
penalty and the final score. A part that was not graded (a failed submission, a written
answer still to be read) and a submission without a grade (failed, missing, unmatched) are
left empty, never exported as 0. The grades a person gave in formgrader are included when
the results come through ``autograder.gradebook.with_manual_grades``.

``write_canvas_csv`` writes one assignment's final scores in Canvas's gradebook import
format, built from a Canvas gradebook export used as the roster.
"""
from __future__ import annotations

import collections
import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from autograder import sanitize
from autograder.gradebook import BY_HAND, NOT_ANSWERED
from autograder.gradebook import waits_for_person as _waits_for_person
from autograder.results import SubmissionResult

NOT_WRITTEN = "not_written"
"""The bug key of a function still left as the release's stub (counted on its own)."""


def _part_ids(results: list[SubmissionResult], assignment: str) -> list[str]:
    ids: list[str] = []
    for r in results:
        if r.assignment == assignment:
            for gid in r.parts:
                if gid not in ids:
                    ids.append(gid)
    return ids


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f}" if seconds > 0 else "0"


def write_csv(results: list[SubmissionResult], path: Path) -> Path:
    """Write the grades CSV; return its path. Rows and columns are sorted, so equal results
    give byte-identical files."""
    assignments = sorted({r.assignment for r in results})
    by_student: dict[str, dict[str, SubmissionResult]] = collections.defaultdict(dict)
    for r in results:
        by_student[r.student][r.assignment] = r
    header = ["student", "lms id"]
    parts = {a: _part_ids(results, a) for a in assignments}
    for a in assignments:
        header += [f"{a} status", f"{a} reason", f"{a} score", f"{a} max score"]
        header += [f"{a}: {gid}" for gid in parts[a]]
        header += [f"{a} mistakes", f"{a} flags", f"{a} submitted at", f"{a} late by (hours)",
                   f"{a} late penalty", f"{a} final score", f"{a} file"]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([sanitize.csv_cell(h) for h in header])
        for student in sorted(by_student):
            mine = by_student[student]
            lms_id = next((r.lms_id for r in mine.values() if getattr(r, "lms_id", None)), "")
            row = [student, lms_id or ""]
            for a in assignments:
                found = mine.get(a)
                if found is None:
                    row += ["missing", "no submission", "", ""] + [""] * len(parts[a]) + [""] * 7
                    continue
                r = found
                graded = r.graded
                row += [r.status, r.reason or "", f"{r.score:g}" if graded else "",
                        f"{r.max_score:g}" if r.max_score else ""]
                for gid in parts[a]:
                    p = r.parts.get(gid)
                    row.append("" if p is None or not graded or _waits_for_person(p) else f"{p.points:g}")
                late = getattr(r, "late_by", 0.0) or 0.0
                penalty = getattr(r, "penalty", 0.0) or 0.0
                row += ["; ".join(r.mistake_keys), "; ".join(r.flags), getattr(r, "submitted_at", None) or "",
                        _hours(late) if getattr(r, "submitted_at", None) or late else "",
                        f"{penalty:g}" if graded else "", f"{r.final_score:g}" if graded else "",
                        getattr(r, "file", None) or ""]
            writer.writerow([sanitize.csv_cell(c) for c in row])
    return path


# -- the class report ---------------------------------------------------------------------

def _mistakes(results: list[SubmissionResult]) -> tuple[collections.Counter, collections.Counter]:
    """(named mistakes in words -> count, function -> submissions where it was not written)."""
    named: collections.Counter = collections.Counter()
    unwritten: collections.Counter = collections.Counter()
    for r in results:
        keys = r.mistake_keys if len(r.mistake_keys) == len(r.mistakes) else [""] * len(r.mistakes)
        for key, words in zip(keys, r.mistakes):
            if key.endswith(f": {NOT_WRITTEN}"):
                unwritten[key.split(": ", 1)[0]] += 1
            else:
                named[words] += 1
    return named, unwritten


def _mistake_keys(results: list[SubmissionResult]) -> tuple[collections.Counter, int]:
    """(named mistake keys -> count, without "not written"; submissions with a function not written)."""
    counts: collections.Counter = collections.Counter()
    unwritten = 0
    for r in results:
        keys = [k for k in r.mistake_keys if not k.endswith(f": {NOT_WRITTEN}")]
        counts.update(keys)
        unwritten += len(keys) < len(r.mistake_keys)
    return counts, unwritten


def report_text(results: list[SubmissionResult]) -> str:
    """The class report as plain text: statuses, the totals, score distribution per part,
    the most frequent named mistakes (functions not written are counted apart), written
    answers graded and waiting, lateness, and the submissions that need a person."""
    lines = ["Class report", "============", ""]
    order = ("graded", "needs manual grading", "flagged", "failed", "missing", "unmatched")
    for a in sorted({r.assignment for r in results}):
        rs = [r for r in results if r.assignment == a]
        counts = collections.Counter(str(r.status) for r in rs)
        lines.append(f"Assignment {a}: {len(rs)} row(s); " +
                     ", ".join(f"{counts[s]} {s}" for s in order if counts[s] or s in order[:4]))
        graded = [r for r in rs if r.graded]
        if graded:
            totals = sorted(r.final_score for r in graded)
            mean = sum(totals) / len(totals)
            lines.append(f"  total (after late penalties): mean {mean:.2f} of {graded[0].max_score:g}, "
                         f"min {totals[0]:g}, median {totals[len(totals) // 2]:g}, max {totals[-1]:g}")
        lines.append("  score distribution per part (points: number of students):")
        for gid in _part_ids(rs, a):
            values = [r.parts[gid].points for r in graded if gid in r.parts and not _waits_for_person(r.parts[gid])]
            if not values:
                continue
            hist = collections.Counter(values)
            top = max(r.parts[gid].max_points for r in graded if gid in r.parts)
            dist = ", ".join(f"{v:g}: {hist[v]}" for v in sorted(hist))
            lines.append(f"    {gid:<34} (of {top:g})  {dist}")
        written = [(r, p) for r in graded for p in r.parts.values() if p.manual and p.message != NOT_ANSWERED]
        if written:
            by_hand = sum(p.message.startswith(BY_HAND) for _, p in written)
            lines.append(f"  written answers: {by_hand} graded by hand, {len(written) - by_hand} waiting "
                         "in formgrader")
        named, unwritten = _mistakes(rs)
        lines.append("  most frequent named mistakes:")
        if not named:
            lines.append("    none")
        for m, n in sorted(named.items(), key=lambda kv: (-kv[1], kv[0]))[:10]:
            lines.append(f"    {n} x {m}")
        if unwritten:
            blank = sum(1 for r in rs if any(k.endswith(f": {NOT_WRITTEN}") for k in r.mistake_keys))
            lines.append(f"  functions not written (still the release's stub): {blank} submission(s); " +
                         ", ".join(f"{fn} {n}" for fn, n in sorted(unwritten.items(), key=lambda kv: (-kv[1], kv[0]))))
        late = [r for r in rs if (getattr(r, "late_by", 0.0) or 0.0) > 0]
        if late:
            taken = sum(getattr(r, "penalty", 0.0) or 0.0 for r in late)
            lines.append(f"  late: {len(late)} submission(s), {taken:g} point(s) of penalty in total")
        human = [r for r in rs if r.status in ("failed", "flagged", "needs manual grading", "unmatched")]
        lines.append("  submissions that need a person:")
        if not human:
            lines.append("    none")
        for r in sorted(human, key=lambda r: (str(r.status), r.student)):
            why = r.reason or ("written answers to grade" if r.status == "needs manual grading" else "")
            if r.status == "unmatched" and getattr(r, "file", None):
                why = f"{why}; file {r.file}" if why else f"file {r.file}"
            lines.append(f"    {r.student}: {r.status}" + (f" ({why})" if why else ""))
        if counts["missing"]:
            missing = sorted(r.student for r in rs if r.status == "missing")
            lines.append(f"  nothing received from: {', '.join(missing)}")
        if any(not r.sandboxed for r in rs if r.status != "failed" or r.parts):
            lines.append("  WARNING: some submissions ran UNSANDBOXED (bubblewrap was not available)")
        lines.append("")
    return "\n".join(lines)


def _empty(ax, text: str) -> None:
    """An empty panel that says why, instead of an axis around nothing."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=11, color="#555555")
    ax.set_xticks([])
    ax.set_yticks([])


def report_plot(results: list[SubmissionResult], path: Path) -> Path:
    """The class report as a PNG, one row of three plots per assignment: mean score per
    part (fraction of its points), the distribution of total scores, and the most frequent
    named mistakes (functions not written are counted apart, in the title)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    assignments = sorted({r.assignment for r in results}) or ["(none)"]
    fig, axes = plt.subplots(len(assignments), 3, figsize=(18, 4.4 * len(assignments)), squeeze=False)
    for row, a in zip(axes, assignments):
        rs = [r for r in results if r.assignment == a and r.graded]
        # Written answers count once a person has graded them (or they were left unanswered).
        gids, labels, fractions = [], [], []
        for g in _part_ids(rs, a):
            done = [r.parts[g] for r in rs if g in r.parts and not _waits_for_person(r.parts[g])
                    and r.parts[g].max_points > 0]
            if done:
                gids.append(g)
                labels.append(g + (" (written)" if done[0].manual else ""))
                fractions.append(sum(min(1.0, p.points / p.max_points) for p in done) / len(done))
        row[0].set_title(f"{a}: score per part ({len(rs)} graded)")
        if gids:
            row[0].barh(range(len(gids)), fractions, color="#4477aa")
            row[0].set_yticks(range(len(gids)), labels, fontsize=8)
            row[0].invert_yaxis()
            row[0].set_xlim(0, 1)
            row[0].set_xlabel("mean fraction of the points")
        else:
            _empty(row[0], "nothing graded yet")

        row[1].set_title(f"{a}: total scores (after late penalties)")
        if rs:
            top = max(r.max_score for r in rs) or 1.0
            totals = [r.final_score for r in rs]
            bins = min(20, max(5, int(top)))
            row[1].hist(totals, bins=bins, range=(0, top), color="#228833", edgecolor="white")
            row[1].set_xlim(0, top)
            row[1].set_xlabel(f"total score (of {top:g})")
            row[1].set_ylabel("students")
            row[1].yaxis.set_major_locator(MaxNLocator(integer=True))
        else:
            _empty(row[1], "no graded submission")

        counts, unwritten = _mistake_keys([r for r in results if r.assignment == a])
        top_mistakes = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:8]
        title = f"{a}: most frequent named mistakes"
        if unwritten:
            title += f"\n({unwritten} submission(s) with a function not written, not shown)"
        row[2].set_title(title)
        if top_mistakes:
            row[2].barh(range(len(top_mistakes)), [n for _, n in top_mistakes], color="#aa3377")
            row[2].set_yticks(range(len(top_mistakes)), [k for k, _ in top_mistakes], fontsize=8)
            row[2].invert_yaxis()
            row[2].set_xlabel("submissions")
            row[2].xaxis.set_major_locator(MaxNLocator(integer=True))
        else:
            _empty(row[2], "no named mistakes")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


# -- Canvas ------------------------------------------------------------------------------

CANVAS_FIXED = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
"""The identity columns of a Canvas gradebook export, in Canvas's order (SIS Login ID and
Section may be absent). Canvas's import matches rows by these and ignores every column it
does not know or that did not change."""


class CanvasError(ValueError):
    """The Canvas gradebook export cannot be used; the message says what to fix."""


@dataclass
class CanvasExport:
    """What write_canvas_csv wrote."""

    path: Path
    """The CSV to import in Canvas (Grades > Import)."""
    column: str
    """The assignment column, "<name> (<Canvas assignment id>)" when the export had it."""
    scored: list[str] = field(default_factory=list)
    """Canvas names of the students given a score."""
    blank: list[str] = field(default_factory=list)
    """Canvas names of rostered students left blank (missing, failed, unmatched, not graded)."""
    not_in_roster: list[str] = field(default_factory=list)
    """Students with a result but no row in the Canvas export (their grades are NOT in the file)."""


def _read_canvas(roster: Path) -> tuple[list[str], list[list[str]]]:
    try:
        text = Path(roster).read_text(encoding="utf-8-sig")
    except OSError as err:
        raise CanvasError(f"cannot read the Canvas gradebook export {roster}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise CanvasError(f"{roster} is not UTF-8 text; download the gradebook export from Canvas "
                          "again (Grades > Export > Export Entire Gradebook)") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows or any(c not in rows[0] for c in ("Student", "ID", "SIS User ID")):
        raise CanvasError(f"{roster} is not a Canvas gradebook export: its first row must have the columns "
                          "Student, ID, SIS User ID (and Section); download it from Canvas with Grades > "
                          "Export > Export Entire Gradebook")
    return rows[0], rows[1:]


def _canvas_column(header: list[str], assignment: str, column: str | None) -> str:
    if column:
        return column
    pattern = re.compile(rf"^{re.escape(assignment)}\b.*\(\d+\)\s*$", re.IGNORECASE)
    found = [h for h in header if pattern.match(h.strip())]
    if len(found) > 1:
        raise CanvasError(f"several Canvas columns could be {assignment!r}: {', '.join(found)}; "
                          "pass --canvas-column with the one to fill")
    return found[0] if found else assignment


def write_canvas_csv(results: list[SubmissionResult], roster: Path, assignment: str, path: Path,
                     column: str | None = None) -> CanvasExport:
    """Write one assignment's final scores (after late penalties) for Canvas's gradebook import.

    results: SubmissionResult (with a person's grades applied); roster: a Canvas gradebook
    export (Grades > Export), which gives the students and their ids; assignment: the
    assignment to export; column: the Canvas column to fill (default: the export's column
    whose name starts with the assignment's and ends with its Canvas id, "svm (1234)"; else
    a new column named after the assignment, which Canvas creates as a new assignment).

    The file has Canvas's identity columns (Student, ID, SIS User ID, SIS Login ID, Section,
    as in the export), the "Points Possible" row and one column of scores, one row per
    student of the export in its order. A student without a grade is left blank, never 0.
    A result is matched to a row by the LMS user id, else by its student id being the row's
    SIS User ID, SIS Login ID or ID, or ending in "-<ID>" (how collect names Canvas students).
    Raises CanvasError when the export cannot be used.
    """
    header, rows = _read_canvas(Path(roster))
    col = _canvas_column(header, assignment, column)
    fixed = [c for c in CANVAS_FIXED if c in header]
    index = {c: header.index(c) for c in fixed}
    mine = [r for r in results if r.assignment == assignment]
    max_score = max((r.max_score for r in mine if r.max_score), default=0.0)
    by_lms = {r.lms_id: r for r in mine if getattr(r, "lms_id", None)}
    by_student = {r.student.lower(): r for r in mine}
    out = CanvasExport(Path(path), col)
    used: set[int] = set()
    body: list[list[str]] = []
    points_row: list[str] | None = None

    def cell(row: list[str], name: str) -> str:
        i = index.get(name)
        return row[i].strip() if i is not None and i < len(row) else ""

    for row in rows:
        if not any(c.strip() for c in row):
            continue
        ident = cell(row, "ID")
        if cell(row, "Student") == "Points Possible":
            points_row = [cell(row, c) for c in fixed]
            continue
        if not ident.isdigit():  # Canvas's "Muted" / "Manual Posting" rows and the like
            continue
        found = by_lms.get(ident)
        if found is None:
            for key in (cell(row, "SIS User ID"), cell(row, "SIS Login ID"), ident):
                if key and key.lower() in by_student:
                    found = by_student[key.lower()]
                    break
        if found is None:
            found = next((r for r in mine if r.student.lower().endswith(f"-{ident}")), None)
        name = cell(row, "Student")
        if found is not None and found.graded:
            used.add(id(found))
            out.scored.append(name)
            value = f"{found.final_score:g}"
        else:
            if found is not None:
                used.add(id(found))
            out.blank.append(name)
            value = ""
        body.append([cell(row, c) for c in fixed] + [value])
    out.not_in_roster = sorted(r.student for r in mine if id(r) not in used and r.status != "missing")
    points = points_row or (["Points Possible"] + [""] * (len(fixed) - 1))
    points[0] = "    Points Possible"  # as Canvas writes it
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(fixed + [col])
        writer.writerow(points + [f"{max_score:g}" if max_score else ""])
        for values in body:
            writer.writerow([sanitize.csv_cell(v) for v in values])
    return out
