"""linclass-grade: the instructor's grading tool (also `python -m autograder`).

    linclass-grade run SUBMISSIONS            # collect + autograde + feedback + export
    linclass-grade collect SUBMISSIONS        # LMS zip or folder, or nbgrader submitted/
    linclass-grade autograde                  # grade everything collected, in parallel
    linclass-grade feedback                   # one HTML page per student
    linclass-grade export                     # grades.csv, report.txt, report.png
    linclass-grade selfcheck NOTEBOOK         # for students, before submitting

Everything goes under --out (default build/grading/): submitted/ (collected notebooks),
results/ (one record per submission; a re-run skips what is recorded), gradebook.db
(nbgrader's gradebook), feedback/, grades.csv, report.txt and report.png.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "build" / "grading"


def _assignments(source: Path) -> list[str]:
    return sorted(p.name for p in Path(source).iterdir() if (p / f"{p.name}.ipynb").exists()) \
        if Path(source).is_dir() else []


def _config(args):
    from autograder import sandbox
    from autograder.grade import GradeConfig

    limits = sandbox.Limits(cell_timeout=args.cell_timeout, total_timeout=args.total_timeout,
                            memory_mb=args.memory_mb)
    return GradeConfig(source_dir=Path(args.source), release_dir=Path(args.release),
                       data_dir=Path(args.data_dir) if args.data_dir else None,
                       work_dir=Path(args.out) / "work", limits=limits, seed=args.seed,
                       call_timeout=min(20.0, args.cell_timeout),
                       probe_timeout=min(120.0, args.total_timeout),
                       run_notebook=not args.no_kernel)


def _table(results) -> str:
    rows = [("student", "assignment", "status", "score", "named mistakes")]
    for r in sorted(results, key=lambda r: (r.assignment, r.student)):
        score = "" if r.status == "failed" else f"{r.score:g}/{r.max_score:g}"
        names = [k.split(": ", 1)[1] if ": " in k else k for k in r.mistake_keys]
        extra = ", ".join(n if names.count(n) == 1 else f"{n} x{names.count(n)}"
                          for n in dict.fromkeys(names))
        if r.status in ("failed", "flagged") and r.reason:
            extra = (extra + "; " if extra else "") + r.reason[:90]
        rows.append((r.student, r.assignment, r.status, score, extra or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row[:4], widths)) + "  " + row[4] for row in rows)


def cmd_collect(args) -> int:
    from autograder.collect import collect

    deadline = dt.datetime.fromisoformat(args.deadline) if args.deadline else None
    report = collect(Path(args.submissions), Path(args.out) / "submitted", _assignments(args.source),
                     args.assignment, deadline)
    print(report.text())
    print(f"collected into {Path(args.out) / 'submitted'}")
    return 0 if report.submissions else 1


def cmd_autograde(args) -> int:
    from autograder import gradebook, sandbox
    from autograder.collect import find_submitted
    from autograder.grade import _load
    from autograder.parallel import Job, default_workers, grade_many

    out = Path(args.out)
    config = _config(args)
    subs = find_submitted(Path(args.submitted) if args.submitted else out / "submitted",
                          _assignments(args.source))
    if args.assignment:
        subs = [s for s in subs if s.assignment == args.assignment]
    if not subs:
        print(f"no submissions found under {args.submitted or out / 'submitted'}; run collect first",
              file=sys.stderr)
        return 1
    store = gradebook.ResultStore(out / "results")
    jobs, kept, digests = [], [], {}
    for s in subs:
        digest = gradebook.file_digest(Path(s.path))
        digests[(s.assignment, s.student)] = digest
        previous = None if args.regrade else store.load(s.assignment, s.student, digest)
        if previous is not None:
            kept.append(previous)
        else:
            jobs.append(Job(Path(s.path), s.assignment, s.student))
    workers = args.workers or default_workers()
    where = f"Dask at {args.scheduler}" if args.scheduler else f"{workers} local worker(s)"
    print(f"{len(kept)} submission(s) already graded (kept), {len(jobs)} to grade on {where}", flush=True)
    if not sandbox.sandbox_available():
        print("WARNING: bubblewrap is not available: student code will run UNSANDBOXED", file=sys.stderr)
    t0 = time.monotonic()
    results = list(kept)
    for n, res in enumerate(grade_many(jobs, config, workers, args.scheduler), 1):
        # The gradebook first, then the record: a run killed in between grades this one again.
        try:
            source_nb = _load(config.source_notebook(res.assignment))
            gradebook.record(out / "gradebook.db", source_nb, res)
        except Exception as err:  # the record below still keeps the grade
            print(f"  could not write {res.student}/{res.assignment} to the gradebook: {err}", file=sys.stderr)
        store.save(res, digests.get((res.assignment, res.student)))
        results.append(res)
        print(f"  [{n}/{len(jobs)}] {res.student}/{res.assignment}: {res.status}"
              + ("" if res.status == "failed" else f" {res.score:g}/{res.max_score:g}")
              + f" ({res.duration:.1f} s)", flush=True)
    if jobs:
        elapsed = time.monotonic() - t0
        print(f"graded {len(jobs)} in {elapsed:.1f} s ({60 * len(jobs) / max(elapsed, 1e-9):.1f} per minute)")
    print()
    print(_table(results))
    return 0


def _answers(result, config):
    from autograder.grade import _load
    from autograder.notebook import InvalidNotebook, read_notebook, rebuild

    path = Path(config.work_dir).parent / "submitted" / result.student / result.assignment / f"{result.assignment}.ipynb"
    try:
        nb = read_notebook(path)
        rebuilt = rebuild(nb, _load(config.source_notebook(result.assignment)),
                          _load(config.release_notebook(result.assignment)))
    except (InvalidNotebook, OSError, ValueError):
        return None
    return {gid: text for gid, text in rebuilt.answers.items()}


def cmd_feedback(args) -> int:
    from autograder.feedback import write_feedback
    from autograder.gradebook import ResultStore

    out = Path(args.out)
    config = _config(args)
    results = ResultStore(out / "results").all()
    for r in results:
        write_feedback(r, out / "feedback", _answers(r, config))
    print(f"wrote {len(results)} feedback page(s) to {out / 'feedback'}/<student>/<assignment>/")
    return 0


def cmd_export(args) -> int:
    from autograder.export import report_plot, report_text, write_csv
    from autograder.gradebook import ResultStore

    out = Path(args.out)
    results = ResultStore(out / "results").all()
    if not results:
        print(f"no results under {out / 'results'}; run autograde first", file=sys.stderr)
        return 1
    write_csv(results, out / "grades.csv")
    text = report_text(results)
    (out / "report.txt").write_text(text)
    report_plot(results, out / "report.png")
    print(text)
    print(f"grades: {out / 'grades.csv'}\nreport: {out / 'report.txt'} and {out / 'report.png'}")
    return 0


def cmd_run(args) -> int:
    args.submitted = None
    for step in (cmd_collect, cmd_autograde, cmd_feedback, cmd_export):
        code = step(args)
        if code:
            return code
    out = Path(args.out)
    print(f"\nfeedback: {out / 'feedback'}/<student>/<assignment>/<assignment>.html")
    print(f"gradebook: {out / 'gradebook.db'}")
    return 0


def cmd_selfcheck(args) -> int:
    from autograder.selfcheck import selfcheck

    path = Path(args.notebook)
    assignment = args.assignment or path.stem
    release = Path(args.release) / assignment / f"{assignment}.ipynb"
    if not release.exists():
        print(f"cannot find the release of {assignment!r} at {release}; pass --assignment or --release",
              file=sys.stderr)
        return 2
    result = selfcheck(path, release, run=not args.no_run, timeout=args.cell_timeout, fast=args.fast)
    for line in result.info:
        print(f"  ok: {line}")
    for line in result.problems:
        print(f"  PROBLEM: {line}")
    print("selfcheck passed" if result.ok else f"selfcheck FAILED: {len(result.problems)} problem(s)")
    return 0 if result.ok else 1


def _common(p, grading: bool = True):
    p.add_argument("--out", default=str(DEFAULT_OUT), help="output folder (default: build/grading)")
    p.add_argument("--source", default=str(ROOT / "solutions"),
                   help="folder of nbgrader source notebooks <a>/<a>.ipynb (default: solutions)")
    p.add_argument("--release", default=str(ROOT / "assignments"),
                   help="folder of the student release (default: assignments)")
    p.add_argument("--assignment", help="grade only this assignment / assume it for bare file names")
    if grading:
        p.add_argument("--cell-timeout", type=float, default=120.0,
                       help="seconds per notebook cell (default 120, enough for training cells)")
        p.add_argument("--total-timeout", type=float, default=900.0,
                       help="seconds for one whole notebook run (default 900)")
        p.add_argument("--memory-mb", type=int, default=3072, help="memory limit per submission (MB)")
        p.add_argument("--seed", type=int, default=20260, help="seed of the hidden probe inputs")
        p.add_argument("--data-dir", help="small CIFAR-10 copy for the notebook runs "
                       "(default: a synthetic one made once)")
        p.add_argument("--no-kernel", action="store_true",
                       help="skip the whole-notebook run; grade from the function probe alone")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="linclass-grade", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def grading_opts(p):
        p.add_argument("--workers", type=int, help="processes on this machine (default: every core)")
        p.add_argument("--scheduler", help="grade on Dask: a scheduler address, or 'local' for a LocalCluster")
        p.add_argument("--regrade", action="store_true", help="grade again even what is recorded")

    p = sub.add_parser("run", help="collect, autograde, feedback and export in one go")
    p.add_argument("submissions", help="LMS zip, folder of files, or nbgrader submitted/ folder")
    p.add_argument("--deadline", help="ISO date-time; later submissions are reported late")
    _common(p)
    grading_opts(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("collect", help="gather submissions safely into OUT/submitted/")
    p.add_argument("submissions", help="LMS zip, folder of files, or nbgrader submitted/ folder")
    p.add_argument("--deadline", help="ISO date-time; later submissions are reported late")
    _common(p, grading=False)
    p.set_defaults(func=cmd_collect)

    p = sub.add_parser("autograde", help="grade every collected submission in parallel (resumable)")
    p.add_argument("submitted", nargs="?", help="folder in nbgrader layout (default: OUT/submitted)")
    _common(p)
    grading_opts(p)
    p.set_defaults(func=cmd_autograde)

    p = sub.add_parser("feedback", help="write one HTML feedback page per student")
    _common(p)
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser("export", help="write grades.csv and the class report (text and PNG)")
    _common(p, grading=False)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("selfcheck", help="(students) check a notebook before submitting; exits 1 on problems")
    p.add_argument("notebook", help="your .ipynb")
    p.add_argument("--assignment", help="assignment name (default: the notebook's file name)")
    p.add_argument("--release", default=str(ROOT / "assignments"), help="folder of the release notebooks")
    p.add_argument("--no-run", action="store_true", help="check the cells only; do not run the notebook")
    p.add_argument("--fast", action="store_true", help="run with LINCLASS_FAST=1 (few training iterations)")
    p.add_argument("--cell-timeout", type=float, default=600.0, help="seconds per cell (default 600)")
    p.set_defaults(func=cmd_selfcheck)
    return parser


def main(argv=None) -> int:
    """Entry point of linclass-grade; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as err:
        print(f"linclass-grade: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
