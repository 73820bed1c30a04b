"""Export: the grades CSV and the class report (text and PNG plot).

grades.csv has one row per student and, for each assignment, a status column (graded,
failed, needs manual grading, flagged), the reason, the total, one column per graded part,
and the named mistakes. A part that was not graded (a failed submission, a written answer
still to be read) is left empty, never exported as 0.
"""
from __future__ import annotations

import collections
import csv
from pathlib import Path

from autograder import sanitize
from autograder.results import SubmissionResult


def _part_ids(results: list[SubmissionResult], assignment: str) -> list[str]:
    ids: list[str] = []
    for r in results:
        if r.assignment == assignment:
            for gid in r.parts:
                if gid not in ids:
                    ids.append(gid)
    return ids


def write_csv(results: list[SubmissionResult], path: Path) -> Path:
    """Write the grades CSV; return its path. Rows and columns are sorted, so equal results
    give byte-identical files."""
    assignments = sorted({r.assignment for r in results})
    by_student: dict[str, dict[str, SubmissionResult]] = collections.defaultdict(dict)
    for r in results:
        by_student[r.student][r.assignment] = r
    header = ["student"]
    parts = {a: _part_ids(results, a) for a in assignments}
    for a in assignments:
        header += [f"{a} status", f"{a} reason", f"{a} score", f"{a} max score"]
        header += [f"{a}: {gid}" for gid in parts[a]]
        header += [f"{a} mistakes", f"{a} flags"]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([sanitize.csv_cell(h) for h in header])
        for student in sorted(by_student):
            row = [student]
            for a in assignments:
                found = by_student[student].get(a)
                if found is None:
                    row += ["missing", "no submission", "", ""] + [""] * len(parts[a]) + ["", ""]
                    continue
                r = found
                graded = r.status != "failed"
                row += [r.status, r.reason or "", f"{r.score:g}" if graded else "", f"{r.max_score:g}"]
                for gid in parts[a]:
                    p = r.parts.get(gid)
                    if p is None or not graded or (p.manual and p.message == "needs manual grading"):
                        row.append("")
                    else:
                        row.append(f"{p.points:g}")
                row += ["; ".join(r.mistake_keys), "; ".join(r.flags)]
            writer.writerow([sanitize.csv_cell(c) for c in row])
    return path


def report_text(results: list[SubmissionResult]) -> str:
    """The class report as plain text: statuses, score distribution per part, the most
    frequent named mistakes, and the submissions that need a person."""
    lines = ["Class report", "============", ""]
    for a in sorted({r.assignment for r in results}):
        rs = [r for r in results if r.assignment == a]
        counts = collections.Counter(str(r.status) for r in rs)
        lines.append(f"Assignment {a}: {len(rs)} submission(s); " +
                     ", ".join(f"{counts[s]} {s}" for s in ("graded", "needs manual grading", "flagged", "failed")))
        graded = [r for r in rs if r.status != "failed"]
        if graded:
            totals = sorted(r.score for r in graded)
            mean = sum(totals) / len(totals)
            lines.append(f"  total: mean {mean:.2f} of {graded[0].max_score:g}, "
                         f"min {totals[0]:g}, median {totals[len(totals) // 2]:g}, max {totals[-1]:g}")
        lines.append("  score distribution per part (points: number of students):")
        for gid in _part_ids(rs, a):
            values = [r.parts[gid].points for r in graded if gid in r.parts and not r.parts[gid].manual]
            if not values:
                continue
            hist = collections.Counter(values)
            top = max(r.parts[gid].max_points for r in graded if gid in r.parts)
            dist = ", ".join(f"{v:g}: {hist[v]}" for v in sorted(hist))
            lines.append(f"    {gid:<34} (of {top:g})  {dist}")
        mistakes = collections.Counter(m for r in rs for m in r.mistakes)
        lines.append("  most frequent named mistakes:")
        if not mistakes:
            lines.append("    none")
        for m, n in sorted(mistakes.items(), key=lambda kv: (-kv[1], kv[0]))[:10]:
            lines.append(f"    {n} x {m}")
        human = [r for r in rs if r.status in ("failed", "flagged", "needs manual grading")]
        lines.append("  submissions that need a person:")
        if not human:
            lines.append("    none")
        for r in sorted(human, key=lambda r: (r.status, r.student)):
            why = r.reason or ("written answers to grade" if r.status == "needs manual grading" else "")
            lines.append(f"    {r.student}: {r.status}" + (f" ({why})" if why else ""))
        if any(not r.sandboxed for r in rs if r.status != "failed" or r.parts):
            lines.append("  WARNING: some submissions ran UNSANDBOXED (bubblewrap was not available)")
        lines.append("")
    return "\n".join(lines)


def report_plot(results: list[SubmissionResult], path: Path) -> Path:
    """The class report as a PNG: mean score per part (fraction of its points) and the
    most frequent named mistakes, one row of plots per assignment."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    assignments = sorted({r.assignment for r in results}) or ["(none)"]
    fig, axes = plt.subplots(len(assignments), 2, figsize=(13, 4.2 * len(assignments)), squeeze=False)
    for row, a in zip(axes, assignments):
        rs = [r for r in results if r.assignment == a and r.status != "failed"]
        gids = [g for g in _part_ids(rs, a) if not any(r.parts[g].manual for r in rs if g in r.parts)]
        fractions = []
        for g in gids:
            vals = [r.parts[g].points / r.parts[g].max_points for r in rs
                    if g in r.parts and r.parts[g].max_points > 0]
            fractions.append(sum(vals) / len(vals) if vals else 0.0)
        row[0].barh(range(len(gids)), fractions, color="#4477aa")
        row[0].set_yticks(range(len(gids)), gids, fontsize=8)
        row[0].invert_yaxis()
        row[0].set_xlim(0, 1)
        row[0].set_xlabel("mean fraction of the points")
        row[0].set_title(f"{a}: score per part ({len(rs)} graded)")
        counts = collections.Counter(k for r in results if r.assignment == a for k in r.mistake_keys)
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:8]
        row[1].barh(range(len(top)), [n for _, n in top], color="#aa3377")
        row[1].set_yticks(range(len(top)), [k for k, _ in top], fontsize=8)
        row[1].invert_yaxis()
        row[1].set_xlabel("submissions")
        row[1].set_title(f"{a}: most frequent named mistakes")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
