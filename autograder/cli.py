"""linclass-grade: the instructor's grading tool (also `python -m autograder`).

    linclass-grade run SUBMISSIONS            # collect + autograde + feedback + export
    linclass-grade collect SUBMISSIONS        # LMS zip or folder, or nbgrader submitted/
    linclass-grade autograde                  # grade everything collected, in parallel
    linclass-grade feedback                   # one HTML page per student
    linclass-grade export                     # grades.csv, report.txt, report.png
    linclass-grade selfcheck NOTEBOOK         # for students, before submitting

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
import datetime as dt
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


def _collect(args, layout: CourseLayout) -> int:
    from autograder.collect import collect

    deadline = dt.datetime.fromisoformat(args.deadline) if args.deadline else None
    report = collect(Path(args.submissions), layout.submitted, layout.assignments(), args.assignment, deadline)
    print(report.text())
    print(f"collected into {layout.submitted}")
    return 0 if report.submissions else 1


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
                            allow_unsandboxed=args.allow_unsandboxed)
    except NoSubmissions as err:
        print(err, file=sys.stderr)
        return 1
    print()
    print(results_table(batch.results))
    return 0


def _feedback(layout: CourseLayout) -> int:
    from autograder.batch import write_all_feedback

    pages = write_all_feedback(layout, results=None)
    print(f"wrote {len(pages)} feedback page(s) to {layout.feedback}/<student>/<assignment>/")
    return 0


def _export(layout: CourseLayout) -> int:
    from autograder.batch import NoResults, export_reports

    try:
        export = export_reports(layout)
    except NoResults as err:
        print(err, file=sys.stderr)
        return 1
    print(export.text)
    print(f"grades: {layout.grades_csv}\nreport: {layout.report_txt} and {layout.report_png}")
    return 0


def cmd_collect(args) -> int:
    return _collect(args, _layout(args).require_source())


def cmd_autograde(args) -> int:
    return _autograde(args, _layout(args).require_source(), Path(args.submitted) if args.submitted else None)


def cmd_feedback(args) -> int:
    from autograder.batch import NoResults

    try:
        return _feedback(_layout(args).require_source())
    except NoResults as err:
        print(err, file=sys.stderr)
        return 1


def cmd_export(args) -> int:
    return _export(_layout(args))


def cmd_run(args) -> int:
    layout = _layout(args).require_source()
    code = (_refuse_unsandboxed(args) or _collect(args, layout) or _autograde(args, layout)
            or _feedback(layout) or _export(layout))
    if code:
        return code
    print(f"\nfeedback: {layout.feedback}/<student>/<assignment>/<assignment>.html")
    print(f"gradebook: {layout.gradebook}")
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="linclass-grade", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="collect, autograde, feedback and export in one go")
    p.add_argument("submissions", help="LMS zip, folder of files, or nbgrader submitted/ folder")
    p.add_argument("--deadline", help="ISO date-time; later submissions are reported late")
    _common(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("collect", help="gather submissions safely into OUT/submitted/")
    p.add_argument("submissions", help="LMS zip, folder of files, or nbgrader submitted/ folder")
    p.add_argument("--deadline", help="ISO date-time; later submissions are reported late")
    _common(p, grading=False)
    p.set_defaults(func=cmd_collect)

    p = sub.add_parser("autograde", help="grade every collected submission in parallel (resumable)")
    p.add_argument("submitted", nargs="?", help="folder in nbgrader layout (default: OUT/submitted)")
    _common(p)
    p.set_defaults(func=cmd_autograde)

    p = sub.add_parser("feedback", help="write one HTML feedback page per student")
    _common(p, grading=False)
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser("export", help="write grades.csv and the class report (text and PNG)")
    _common(p, grading=False)
    p.set_defaults(func=cmd_export)

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
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as err:
        print(f"linclass-grade: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
