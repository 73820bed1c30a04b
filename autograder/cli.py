"""linclass-grade: the instructor's grading tool (also `python -m autograder`).

    linclass-grade run SUBMISSIONS            # collect + autograde + feedback + export
    linclass-grade collect SUBMISSIONS        # LMS zip or folder, or nbgrader submitted/
    linclass-grade autograde                  # grade everything collected, in parallel
    linclass-grade feedback                   # one HTML page per student
    linclass-grade export                     # grades.csv, report.txt, report.png
    linclass-grade selfcheck NOTEBOOK         # for students, before submitting
    linclass-grade gradescope --assignment A  # a Gradescope autograder zip

The course is the current folder, or --course-root: its solutions/ (nbgrader's source
folder) and assignments/ (the release). Everything goes under --out (default
build/grading/ in the course): submitted/ (collected notebooks), results/ (one record per
submission; a re-run skips what is recorded), gradebook.db (nbgrader's gradebook),
feedback/, grades.csv, report.txt and report.png.

Student code runs in the bubblewrap sandbox (autograder.sandbox). Without a working
bubblewrap, run and autograde stop with exit code 2 and say what is missing; with
--allow-unsandboxed they grade anyway, and warn once. selfcheck runs the student's own
notebook on their own machine and needs no sandbox.

Each command only parses its options into a CourseLayout (autograder.layout) and calls the
library (autograder.batch, autograder.collect, autograder.selfcheck).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.layout import CourseLayout


def _layout(args) -> CourseLayout:
    return CourseLayout.from_options(args.course_root, source=getattr(args, "source", None),
                                     release=getattr(args, "release", None),
                                     out=getattr(args, "out", None))


def _config(args, layout: CourseLayout):
    from autograder import sandbox

    limits = sandbox.Limits(cell_timeout=args.cell_timeout, total_timeout=args.total_timeout,
                            memory_mb=args.memory_mb)
    return layout.grade_config(data_dir=Path(args.data_dir) if args.data_dir else None,
                               limits=limits, seed=args.seed,
                               call_timeout=min(20.0, args.cell_timeout),
                               probe_timeout=min(120.0, args.total_timeout),
                               run_notebook=not args.no_kernel)


UNMATCHED_EXIT = 3
"""Exit code while collected files belong to nobody (resolve with --map or the roster)."""
INTERRUPTED_EXIT = 130
"""Exit code after Ctrl-C (128 + SIGINT), as a shell reports it."""


def _policies(args, layout: CourseLayout) -> dict:
    """assignment -> lateness.Policy: the course's grading.cfg, overridden by --deadline and
    --late-rule (for --assignment only, when it is given)."""
    from autograder import lateness

    names = [args.assignment] if getattr(args, "assignment", None) else layout.assignments()
    deadline, rule = getattr(args, "deadline", None), getattr(args, "late_rule", None)
    return {a: lateness.policy_for(a, layout.root, deadline, rule) for a in names}


def _roster(args, layout: CourseLayout):
    from autograder.batch import load_roster

    return load_roster(layout, Path(args.roster) if getattr(args, "roster", None) else None)


def _grade_ids(layout: CourseLayout) -> dict[str, set[str]]:
    """assignment -> the grade_ids of its source notebook (collect files notebooks by them)."""
    import nbformat

    from autograder.notebook import grade_id

    out = {}
    for a in layout.assignments():
        nb = nbformat.read(layout.source_notebook(a), as_version=4)
        out[a] = {gid for gid in (grade_id(c) for c in nb.cells) if gid}
    return out


def _collect(args, layout: CourseLayout) -> int:
    from autograder.collect import collect, name_pattern, parse_mapping

    patterns = tuple(name_pattern(p) for p in (args.name_pattern or []))
    mapping = parse_mapping(args.map)
    roster = _roster(args, layout)
    deadlines = {a: p.deadline for a, p in _policies(args, layout).items()}
    report = collect(Path(args.submissions), layout.submitted, layout.assignments(), args.assignment,
                     deadlines, roster=roster, mapping=mapping, patterns=patterns, grade_ids=_grade_ids(layout))
    print(report.text())
    if report.submissions:
        print(f"collected into {layout.submitted}")
    if report.unmatched:
        print(f"{len(report.unmatched)} file(s) UNMATCHED (kept in {layout.unmatched}); they get an "
              "'unmatched' row in grades.csv until you resolve them with --map FILE=STUDENT or the roster, "
              f"and collect again. Exit code {UNMATCHED_EXIT}.", file=sys.stderr)
    if not report.submissions and not report.unmatched:
        return 1
    return UNMATCHED_EXIT if report.unmatched else 0


def _refuse_unsandboxed(args) -> int:
    """2 (after saying why) when bubblewrap does not work and --allow-unsandboxed is not given."""
    from autograder.batch import SandboxMissing, check_sandbox

    try:
        check_sandbox(args.allow_unsandboxed)
    except SandboxMissing as err:
        print(f"linclass-grade: {err}", file=sys.stderr)
        return 2
    return 0


def _autograde(args, layout: CourseLayout, submitted: Path | None = None) -> int:
    from autograder.batch import NoSubmissions, grade_batch, results_table

    if code := _refuse_unsandboxed(args):
        return code
    try:
        batch = grade_batch(layout, _config(args, layout), assignment=args.assignment, submitted=submitted,
                            workers=args.workers, scheduler=args.scheduler, regrade=args.regrade,
                            allow_unsandboxed=args.allow_unsandboxed, policies=_policies(args, layout))
    except NoSubmissions as err:
        print(err, file=sys.stderr)
        return 1
    print()
    print(results_table(batch.results))
    return 0


def _feedback(layout: CourseLayout, args=None) -> int:
    from autograder.batch import recorded_results, write_all_feedback

    results = recorded_results(layout, getattr(args, "assignment", None),
                               _policies(args, layout) if args is not None else None)
    pages = write_all_feedback(layout, results=results)
    print(f"wrote {len(pages)} feedback page(s) to {layout.feedback}/<student>/<assignment>/")
    return 0


def _export(layout: CourseLayout, args=None) -> int:
    from autograder.batch import NoResults, export_reports

    try:
        export = export_reports(layout, assignment=getattr(args, "assignment", None),
                                roster=_roster(args, layout) if args is not None else None,
                                policies=_policies(args, layout) if args is not None else None)
    except NoResults as err:
        print(err, file=sys.stderr)
        return 1
    print(export.text)
    print(f"grades: {layout.grades_csv}\nreport: {layout.report_txt} and {layout.report_png}")
    if getattr(args, "canvas", None) and (code := _canvas(args, layout, export.rows)):
        return code
    if export.unmatched:
        print(f"{len(export.unmatched)} collected file(s) are UNMATCHED (see above and grades.csv): resolve "
              f"them with collect --map FILE=STUDENT or a roster entry. Exit code {UNMATCHED_EXIT}.",
              file=sys.stderr)
        return UNMATCHED_EXIT
    return 0


def _canvas(args, layout: CourseLayout, rows) -> int:
    """Write OUT/canvas_<a>.csv for Canvas's gradebook import; 2 when the export is unusable."""
    from autograder.export import CanvasError, write_canvas_csv

    assignments = sorted({r.assignment for r in rows})
    assignment = args.assignment or (assignments[0] if len(assignments) == 1 else None)
    if assignment is None:
        print(f"linclass-grade: --canvas needs --assignment, one of {', '.join(assignments)}", file=sys.stderr)
        return 2
    try:
        canvas = write_canvas_csv(rows, Path(args.canvas), assignment, layout.out / f"canvas_{assignment}.csv",
                                  args.canvas_column)
    except CanvasError as err:
        print(f"linclass-grade: {err}", file=sys.stderr)
        return 2
    print(f"Canvas: {canvas.path} (column {canvas.column!r}: {len(canvas.scored)} scored, {len(canvas.blank)} "
          "left blank); import it in Canvas with Grades > Import")
    if canvas.not_in_roster:
        print(f"NOT in the Canvas file (no row in {args.canvas}): {', '.join(canvas.not_in_roster)}",
              file=sys.stderr)
    return 0


def cmd_collect(args) -> int:
    return _collect(args, _layout(args).require_source())


def cmd_autograde(args) -> int:
    return _autograde(args, _layout(args).require_source(), Path(args.submitted) if args.submitted else None)


def cmd_feedback(args) -> int:
    from autograder.batch import NoResults

    try:
        return _feedback(_layout(args).require_source(), args)
    except NoResults as err:
        print(err, file=sys.stderr)
        return 1


def cmd_export(args) -> int:
    return _export(_layout(args), args)


def cmd_run(args) -> int:
    layout = _layout(args).require_source()
    code = _refuse_unsandboxed(args) or _collect(args, layout)
    if code not in (0, UNMATCHED_EXIT):
        return code
    # Unmatched files do not stop the others' grading; export still exits with UNMATCHED_EXIT.
    code = _autograde(args, layout) or _feedback(layout, args) or _export(layout, args)
    if code:
        return code
    print(f"\nfeedback: {layout.feedback}/<student>/<assignment>/<assignment>.html")
    print(f"gradebook: {layout.gradebook}")
    return 0


def cmd_gradescope(args) -> int:
    from autograder.gradescope import build

    layout = _layout(args).require_source().require_release()
    assignment = args.assignment
    if not assignment:
        found = layout.assignments()
        if len(found) != 1:
            print(f"linclass-grade: pass --assignment, one of {', '.join(found)}", file=sys.stderr)
            return 2
        assignment = found[0]
    path = Path(args.zip) if args.zip else layout.root / "build" / "gradescope" / f"{assignment}.zip"
    build(layout, assignment, path, visibility=args.visibility)
    print(f"Gradescope autograder for {assignment}: {path}\n"
          "Upload it as the autograder of a Gradescope programming assignment; grade the written answers "
          "there as manually graded questions.")
    return 0


def cmd_selfcheck(args) -> int:
    from autograder.selfcheck import selfcheck

    layout = _layout(args).require_release()
    path = Path(args.notebook)
    assignment = args.assignment or path.stem
    release = layout.release_notebook(assignment)
    if not release.exists():
        print(f"cannot find the release of {assignment!r} at {release}; pass --assignment or --release",
              file=sys.stderr)
        return 2
    report = selfcheck(path, release, run=not args.no_run, timeout=args.cell_timeout, fast=args.fast)
    print(report.text())
    return 0 if report.ok else 1


def _course_root(p) -> None:
    p.add_argument("--course-root", metavar="DIR",
                   help="the course folder holding solutions/ and assignments/ (default: the current folder)")


def _common(p, grading: bool = True) -> None:
    _course_root(p)
    p.add_argument("--out", metavar="DIR", help="output folder (default: COURSE_ROOT/build/grading)")
    p.add_argument("--source", metavar="DIR",
                   help="folder of nbgrader source notebooks <a>/<a>.ipynb (default: COURSE_ROOT/solutions)")
    p.add_argument("--release", metavar="DIR",
                   help="folder of the student release (default: COURSE_ROOT/assignments)")
    p.add_argument("--assignment", help="grade only this assignment / assume it for bare file names")
    if grading:
        p.add_argument("--cell-timeout", type=float, default=120.0,
                       help="seconds per notebook cell (default 120, enough for training cells)")
        p.add_argument("--total-timeout", type=float, default=900.0,
                       help="seconds for one whole notebook run (default 900)")
        p.add_argument("--memory-mb", type=int, default=3072, help="memory limit per submission (MB)")
        p.add_argument("--seed", type=int, default=None,
                       help="seed of the hidden probe inputs (default: derived per submission from a "
                       "secret kept in OUT/work)")
        p.add_argument("--data-dir", help="small CIFAR-10 copy for the notebook runs "
                       "(default: a synthetic one made once)")
        p.add_argument("--no-kernel", action="store_true",
                       help="skip the whole-notebook run; grade from the function probe alone")
        p.add_argument("--workers", type=int, help="processes on this machine (default: every core)")
        p.add_argument("--scheduler", help="grade on Dask: a scheduler address, or 'local' for a LocalCluster")
        p.add_argument("--regrade", action="store_true", help="grade again even what is recorded")
        p.add_argument("--allow-unsandboxed", action="store_true",
                       help="grade even without a working bubblewrap (student code then runs "
                       "unsandboxed; warned once). Without it grading stops with exit code 2")


def _collect_options(p) -> None:
    p.add_argument("--roster", metavar="CSV",
                   help="the class roster: nbgrader's `db student import` CSV (id, first_name, last_name, "
                   "email, lms_user_id) or an LMS gradebook export (Canvas: Student, ID, SIS User ID, Section). "
                   "Every rostered student gets a row; a file matching nobody is 'unmatched'. Kept as "
                   "OUT/roster.csv for the next commands")
    p.add_argument("--map", action="append", metavar="FILE=STUDENT",
                   help="file this collected file (its name, or its path inside the download) under STUDENT; "
                   "repeat for more")
    p.add_argument("--name-pattern", action="append", metavar="REGEX",
                   help="a regular expression for the files' names, as nbgrader's zip_collect takes: named "
                   "groups student_id or name, and optionally lms_id, file, assignment, timestamp, late; "
                   "tried before the built-in Canvas, Moodle, Blackboard and Brightspace patterns")


def _late_options(p) -> None:
    p.add_argument("--deadline", help="ISO date-time (e.g. 2026-03-01T23:59:00); later submissions are late "
                   "(default: the assignment's deadline in the course's grading.cfg)")
    p.add_argument("--late-rule", metavar="RULE",
                   help="late penalty: none, zero, 2/hour, 10%%/day, or '10%%/day, max 50%%' (default: the "
                   "course's grading.cfg, else none)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="linclass-grade", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="collect, autograde, feedback and export in one go")
    p.add_argument("submissions", help="LMS zip, folder of files, or nbgrader submitted/ folder")
    _collect_options(p)
    _late_options(p)
    _common(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("collect", help="gather submissions safely into OUT/submitted/")
    p.add_argument("submissions", help="LMS zip, folder of files, or nbgrader submitted/ folder")
    _collect_options(p)
    _late_options(p)
    _common(p, grading=False)
    p.set_defaults(func=cmd_collect)

    p = sub.add_parser("autograde", help="grade every collected submission in parallel (resumable)")
    p.add_argument("submitted", nargs="?", help="folder in nbgrader layout (default: OUT/submitted)")
    _late_options(p)
    _common(p)
    p.set_defaults(func=cmd_autograde)

    p = sub.add_parser("feedback", help="write one HTML feedback page per student")
    _late_options(p)
    _common(p, grading=False)
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser("export", help="write grades.csv and the class report (text and PNG)")
    p.add_argument("--roster", metavar="CSV", help="the class roster (default: the one given before, kept "
                   "as OUT/roster.csv); every rostered student gets a row")
    p.add_argument("--canvas", metavar="CSV", help="a Canvas gradebook export (Grades > Export): also write "
                   "OUT/canvas_<a>.csv, the final scores in Canvas's import format")
    p.add_argument("--canvas-column", metavar="NAME", help="the Canvas column to fill (default: the one named "
                   "'<assignment> (<id>)', else a new column)")
    _late_options(p)
    _common(p, grading=False)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("gradescope", help="build a Gradescope autograder zip for one assignment")
    _course_root(p)
    p.add_argument("--source", metavar="DIR",
                   help="folder of nbgrader source notebooks <a>/<a>.ipynb (default: COURSE_ROOT/solutions)")
    p.add_argument("--release", metavar="DIR",
                   help="folder of the student release (default: COURSE_ROOT/assignments)")
    p.add_argument("--assignment", help="the assignment (needed when the course has several)")
    p.add_argument("--zip", metavar="PATH", help="where to write it (default: COURSE_ROOT/build/gradescope/<a>.zip)")
    p.add_argument("--visibility", default="after_published",
                   choices=("hidden", "after_due_date", "after_published", "visible"),
                   help="when students see the autograder's results (default: after_published)")
    p.set_defaults(func=cmd_gradescope)

    p = sub.add_parser("selfcheck", help="(students) check a notebook before submitting; exits 1 on problems")
    p.add_argument("notebook", help="your .ipynb")
    p.add_argument("--assignment", help="assignment name (default: the notebook's file name)")
    _course_root(p)
    p.add_argument("--release", metavar="DIR",
                   help="folder of the release notebooks (default: COURSE_ROOT/assignments)")
    p.add_argument("--no-run", action="store_true", help="check the cells only; do not run the notebook")
    p.add_argument("--fast", action="store_true", help="run with LINCLASS_FAST=1 (few training iterations)")
    p.add_argument("--cell-timeout", type=float, default=600.0, help="seconds per cell (default 600)")
    p.set_defaults(func=cmd_selfcheck)
    return parser


def main(argv=None) -> int:
    """Entry point of linclass-grade; returns the exit code (2 for a usage error)."""
    from autograder.batch import Interrupted

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as err:
        print(f"linclass-grade: error: {err}", file=sys.stderr)
        return 2
    except Interrupted as err:
        print(f"\n{err}", file=sys.stderr)
        return INTERRUPTED_EXIT
    except KeyboardInterrupt:
        print("\ninterrupted: run again to resume (what was graded is kept)", file=sys.stderr)
        return INTERRUPTED_EXIT


if __name__ == "__main__":
    sys.exit(main())
