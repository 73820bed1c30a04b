"""The instructor's batch steps as library functions; ``linclass-grade`` and the course
build (``autograder.course``) both call these, never each other's command lines.

    grade_batch(layout, config)      grade every collected submission, resumable
    write_all_feedback(layout)       one HTML page per recorded result
    export_reports(layout)           grades.csv, report.txt and report.png

Collecting is one call to ``autograder.collect.collect(source, layout.submitted,
layout.assignments(), ...)``.

Grading is resumable: a submission whose record (``layout.results``) is for the same
notebook content is kept, not graded again. Each new result goes first into nbgrader's
gradebook, then into its record, so a run killed in between grades that one again.
"""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from autograder.layout import CourseLayout
from autograder.results import Status, SubmissionResult

# gradebook, collect and parallel import nbformat, nbgrader and the grader: they are imported
# where they are used, so that `linclass-grade --help` and selfcheck start at once.

Say = Callable[[str], None]


def _stdout(line: str) -> None:
    print(line, flush=True)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _quiet(line: str) -> None:
    pass


class NoSubmissions(LookupError):
    """There is nothing to grade (the message says where nothing was found)."""


class NoResults(LookupError):
    """There is no recorded result yet (the message says where none was found)."""


class SandboxMissing(RuntimeError):
    """Student code would run without the sandbox and nobody allowed it (the message says
    what is missing and what to do)."""


def check_sandbox(allow_unsandboxed: bool = False) -> str | None:
    """None when student code will run in the sandbox (bubblewrap). Otherwise the warning
    to give once for the whole run when allow_unsandboxed is True; raises SandboxMissing
    when it is False."""
    from autograder import sandbox

    problem = sandbox.sandbox_problem()
    if problem is None:
        return None
    if not allow_unsandboxed:
        raise SandboxMissing(
            f"refusing to grade: {problem}, so student code would run UNSANDBOXED and could read "
            "and change this machine's files (other students' work, the gradebook, the answer key).\n"
            "Install bubblewrap (Debian/Ubuntu: `apt-get install -y bubblewrap`), or pass "
            "--allow-unsandboxed to grade anyway, with a warning.")
    return (f"WARNING: student code runs UNSANDBOXED ({problem}; --allow-unsandboxed was given): it "
            "can read and change this machine's files. Install bubblewrap with "
            "`apt-get install -y bubblewrap` before grading real submissions.")


def _warned_once(results: Iterator, warned: bool) -> Iterator:
    """results, iterated with the sandbox told that the unsandboxed warning was given once
    for the whole run (when warned): the workers started meanwhile inherit it and stay quiet."""
    if not warned:
        yield from results
        return
    from autograder.sandbox import UNSANDBOXED_WARNED_ENV

    before = os.environ.get(UNSANDBOXED_WARNED_ENV)
    os.environ[UNSANDBOXED_WARNED_ENV] = "1"
    try:
        yield from results
    finally:
        if before is None:
            os.environ.pop(UNSANDBOXED_WARNED_ENV, None)
        else:
            os.environ[UNSANDBOXED_WARNED_ENV] = before


@dataclass
class BatchResult:
    """What one grade_batch call did."""

    results: list[SubmissionResult]
    """Every submission found, kept and newly graded, sorted by (assignment, student)."""
    kept: int
    """Submissions whose record was kept (graded before, same notebook content)."""
    graded: int
    """Submissions graded by this call."""
    seconds: float
    """Wall-clock seconds spent grading (0 when nothing was graded)."""
    where: str
    """Where the grading ran, e.g. "2 local worker(s)" or "Dask at tcp://...:8786"."""
    warnings: list[str] = field(default_factory=list)
    """Problems that did not stop the batch (no sandbox, a gradebook write that failed)."""

    @property
    def per_minute(self) -> float:
        """Submissions graded per minute by this call."""
        return 60 * self.graded / self.seconds if self.seconds > 0 else 0.0


class _Notebooks:
    """Reads each source/release notebook once per batch."""

    def __init__(self, layout: CourseLayout):
        self.layout = layout
        self._cache: dict[Path, object] = {}

    def _read(self, path: Path):
        import nbformat

        if path not in self._cache:
            self._cache[path] = nbformat.read(path, as_version=4) if path.is_file() else None
        return self._cache[path]

    def source(self, assignment: str):
        nb = self._read(self.layout.source_notebook(assignment))
        if nb is None:
            raise ValueError(f"assignment {assignment!r} has no source notebook at "
                             f"{self.layout.source_notebook(assignment)}; pass --course-root or --source")
        return nb

    def release(self, assignment: str):
        return self._read(self.layout.release_notebook(assignment))


def grade_batch(layout: CourseLayout, config, *, assignment: str | None = None,
                submitted: Path | None = None, workers: int | None = None,
                scheduler: str | None = None, regrade: bool = False,
                progress: Say | None = _stdout, warn: Say | None = _stderr,
                allow_unsandboxed: bool = False) -> BatchResult:
    """Grade every submission collected under layout.submitted; skip what is recorded.

    layout: CourseLayout; config: GradeConfig (``layout.grade_config(...)``).
    assignment: grade only this one. submitted: another folder in nbgrader's layout
        (default layout.submitted). workers: processes on this machine (default: every
        core). scheduler: a Dask scheduler address, or "local" (see grade_many).
    regrade: grade again even what is recorded for the same notebook.
    progress: called with one line per step and per graded submission (None: silent);
        warn: called with each warning (also kept in BatchResult.warnings).
    allow_unsandboxed: grade even without a working bubblewrap (warned once for the run).
    Raises SandboxMissing when bubblewrap is missing and allow_unsandboxed is False, and
    NoSubmissions when nothing is found to grade.
    """
    from autograder import gradebook, parallel
    from autograder.collect import find_submitted

    unsandboxed = check_sandbox(allow_unsandboxed)
    progress, warn = progress or _quiet, warn or _quiet
    folder = Path(submitted) if submitted is not None else layout.submitted
    subs = find_submitted(folder, layout.assignments())
    if assignment:
        subs = [s for s in subs if s.assignment == assignment]
    if not subs:
        raise NoSubmissions(f"no submissions found under {folder}"
                            + (f" for {assignment!r}" if assignment else "") + "; run collect first")
    store = gradebook.ResultStore(layout.results)
    jobs, kept, digests, paths = [], [], {}, {}
    for s in subs:
        digest = gradebook.file_digest(Path(s.path))
        digests[(s.assignment, s.student)] = digest
        paths[(s.assignment, s.student)] = Path(s.path)
        previous = None if regrade else store.load(s.assignment, s.student, digest)
        if previous is not None:
            kept.append(previous)
        else:
            jobs.append(parallel.Job(Path(s.path), s.assignment, s.student))
    workers = workers or parallel.default_workers()
    where = f"Dask at {scheduler}" if scheduler else f"{workers} local worker(s)"
    batch = BatchResult(list(kept), len(kept), 0, 0.0, where)

    def warning(text: str) -> None:
        batch.warnings.append(text)
        warn(text)

    progress(f"{len(kept)} submission(s) already graded (kept), {len(jobs)} to grade on {where}")
    if jobs and unsandboxed:
        warning(unsandboxed)
    notebooks = _Notebooks(layout)
    t0 = time.monotonic()
    graded = _warned_once(parallel.grade_many(jobs, config, workers, scheduler), bool(jobs and unsandboxed))
    for n, res in enumerate(graded, 1):
        try:
            gradebook.record(layout.gradebook, notebooks.source(res.assignment), res,
                             release_nb=notebooks.release(res.assignment),
                             submitted_nb=paths.get((res.assignment, res.student)),
                             autograded_dir=layout.out / "autograded")
        except Exception as err:  # the record below still keeps the grade
            warning(f"  could not write {res.student}/{res.assignment} to the gradebook: {err}")
        store.save(res, digests.get((res.assignment, res.student)))
        batch.results.append(res)
        batch.graded += 1
        score = "" if res.status == Status.FAILED else f" {res.score:g}/{res.max_score:g}"
        progress(f"  [{n}/{len(jobs)}] {res.student}/{res.assignment}: {res.status}{score} "
                 f"({res.duration:.1f} s)")
    if jobs:
        batch.seconds = time.monotonic() - t0
        progress(f"graded {batch.graded} in {batch.seconds:.1f} s ({batch.per_minute:.1f} per minute)")
    batch.results.sort(key=lambda r: (r.assignment, r.student))
    return batch


def recorded_results(layout: CourseLayout) -> list[SubmissionResult]:
    """Every result recorded under layout.results; raises NoResults when there is none."""
    from autograder import gradebook

    results = gradebook.ResultStore(layout.results).all()
    if not results:
        raise NoResults(f"no results under {layout.results}; run autograde first")
    # The grades a person gave in formgrader (written answers, overrides, comments).
    return gradebook.with_manual_grades(layout.gradebook, results)


def graded_answers(layout: CourseLayout, result: SubmissionResult,
                   notebooks: _Notebooks | None = None) -> dict[str, str] | None:
    """grade_id -> the student's answer text as graded, or None when it cannot be rebuilt."""
    from autograder.notebook import read_notebook, rebuild

    notebooks = notebooks or _Notebooks(layout)
    try:
        nb = read_notebook(layout.submitted_notebook(result.student, result.assignment))
        rebuilt = rebuild(nb, notebooks.source(result.assignment), notebooks.release(result.assignment))
    except Exception:  # whatever the notebook holds, its page is still written, without answers
        return None
    return dict(rebuilt.answers)


def write_all_feedback(layout: CourseLayout, results: list[SubmissionResult] | None = None,
                       warn: Say | None = _stderr) -> list[Path]:
    """Write one feedback page per result (default: every recorded one); return the paths.

    One page that cannot be written is that submission's problem alone: it is reported
    through warn and every other page is still written.
    """
    from autograder.feedback import write_feedback

    warn = warn or _quiet
    results = recorded_results(layout) if results is None else results
    notebooks = _Notebooks(layout)
    paths = []
    for r in results:
        try:
            paths.append(write_feedback(r, layout.feedback, graded_answers(layout, r, notebooks)))
        except Exception as err:
            warn(f"  could not write the feedback of {r.student}/{r.assignment}: {type(err).__name__}: {err}")
    return paths


@dataclass
class ExportResult:
    """What export_reports wrote."""

    text: str
    """The class report as text (also in layout.report_txt)."""
    paths: list[Path]
    """grades.csv, report.txt and report.png."""


def export_reports(layout: CourseLayout,
                   results: list[SubmissionResult] | None = None) -> ExportResult:
    """Write grades.csv, report.txt and report.png (default: from every recorded result)."""
    from autograder.export import report_plot, report_text, write_csv

    results = recorded_results(layout) if results is None else results
    write_csv(results, layout.grades_csv)
    text = report_text(results)
    layout.report_txt.parent.mkdir(parents=True, exist_ok=True)
    layout.report_txt.write_text(text)
    report_plot(results, layout.report_png)
    return ExportResult(text, [layout.grades_csv, layout.report_txt, layout.report_png])


def results_table(results: list[SubmissionResult]) -> str:
    """A plain-text table: student, assignment, status, score, named mistakes (or the reason)."""
    rows = [("student", "assignment", "status", "score", "named mistakes")]
    for r in sorted(results, key=lambda r: (r.assignment, r.student)):
        score = "" if r.status == Status.FAILED else f"{r.score:g}/{r.max_score:g}"
        names = [k.split(": ", 1)[1] if ": " in k else k for k in r.mistake_keys]
        extra = ", ".join(n if names.count(n) == 1 else f"{n} x{names.count(n)}"
                          for n in dict.fromkeys(names))
        if r.status in (Status.FAILED, Status.FLAGGED) and r.reason:
            extra = (extra + "; " if extra else "") + r.reason[:90]
        rows.append((r.student, r.assignment, str(r.status), score, extra or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row[:4], widths)) + "  " + row[4]
                     for row in rows)
