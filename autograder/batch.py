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


class Interrupted(Exception):
    """Grading was stopped (Ctrl-C) after ``graded`` new results were recorded."""

    def __init__(self, graded: int, remaining: int):
        super().__init__(f"interrupted: {graded} graded, run again to resume")
        self.graded, self.remaining = graded, remaining


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
                allow_unsandboxed: bool = False, policies: dict | None = None) -> BatchResult:
    """Grade every submission collected under layout.submitted; skip what is recorded.

    layout: CourseLayout; config: GradeConfig (``layout.grade_config(...)``).
    assignment: grade only this one. submitted: another folder in nbgrader's layout
        (default layout.submitted). workers: processes on this machine (default: every
        core). scheduler: a Dask scheduler address, or "local" (see grade_many).
    regrade: grade again even what is recorded for the same notebook.
    progress: called with one line per step and per graded submission (None: silent);
        warn: called with each warning (also kept in BatchResult.warnings).
    allow_unsandboxed: grade even without a working bubblewrap (warned once for the run).
    policies: assignment -> lateness.Policy over the course's grading.cfg (for the late
        penalty written into nbgrader's gradebook).
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
    t0, started = time.monotonic(), time.time()
    graded = _warned_once(parallel.grade_many(jobs, config, workers, scheduler), bool(jobs and unsandboxed))
    facts = SubmissionFacts(layout, policies)
    try:
        _record_all(graded, batch, jobs, layout, notebooks, paths, digests, store, facts, progress, warning)
    except KeyboardInterrupt:
        graded.close()  # type: ignore[attr-defined]  # a generator: closing it stops the workers
        _clean_scratch(layout, started)
        raise Interrupted(batch.graded, len(jobs) - batch.graded) from None
    if jobs:
        batch.seconds = time.monotonic() - t0
        progress(f"graded {batch.graded} in {batch.seconds:.1f} s ({batch.per_minute:.1f} per minute)")
    batch.results = facts.apply(batch.results)
    batch.results.sort(key=lambda r: (r.assignment, r.student))
    return batch


def _clean_scratch(layout: CourseLayout, since: float) -> None:
    """Remove the scratch folders of submissions whose grading was stopped (made since `since`)."""
    from autograder.grade import remove_tree

    root = layout.work / "scratch"
    if not root.is_dir():
        return
    for path in root.iterdir():
        try:
            if path.stat().st_mtime >= since - 1:
                _detach_mounts(path)
                remove_tree(path)
        except OSError:
            pass


def _detach_mounts(folder: Path) -> None:
    """Lazily unmount every mount at or below folder (a scratch tmpfs of a worker that was
    killed before it could unmount it), deepest first; Linux only, silent elsewhere."""
    import ctypes
    import ctypes.util

    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    except (OSError, AttributeError):
        return
    inside = []
    for line in lines:
        fields = line.split()
        if len(fields) > 1:
            point = Path(fields[1].encode().decode("unicode_escape"))  # /proc escapes spaces as \040
            if point == folder or folder in point.parents:
                inside.append(point)
    for point in sorted(inside, key=lambda p: len(p.parts), reverse=True):
        libc.umount2(bytes(point), 2)  # MNT_DETACH


def _record_all(graded, batch, jobs, layout, notebooks, paths, digests, store, facts, progress, warning):
    from autograder import gradebook

    for n, raw in enumerate(graded, 1):
        # The record keeps the grade alone; who sent it when (collect's manifest) and the late
        # penalty are put on each time results are read, so they can never go stale.
        res = facts.apply([raw])[0]
        _keep_history(store, res.assignment, res.student, digests.get((res.assignment, res.student)))
        try:
            gradebook.record(layout.gradebook, notebooks.source(res.assignment), res,
                             release_nb=notebooks.release(res.assignment),
                             submitted_nb=paths.get((res.assignment, res.student)),
                             autograded_dir=layout.out / "autograded")
        except Exception as err:  # the record below still keeps the grade
            warning(f"  could not write {res.student}/{res.assignment} to the gradebook: {err}")
        store.save(raw, digests.get((res.assignment, res.student)))
        batch.results.append(res)
        batch.graded += 1
        score = "" if res.status == Status.FAILED else f" {res.score:g}/{res.max_score:g}"
        progress(f"  [{n}/{len(jobs)}] {res.student}/{res.assignment}: {res.status}{score} "
                 f"({res.duration:.1f} s)")


def _keep_history(store, assignment: str, student: str, digest: str | None) -> None:
    """Before a new grade replaces the record of another notebook (a newer submission),
    copy the old record to results/<a>/history/<student>@<when it was graded>-<digest>.json."""
    import datetime as dt
    import json
    import shutil

    path = store.path(assignment, student)
    try:
        data = json.loads(path.read_text())
        graded_at = dt.datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%dT%H-%M-%S")
    except (OSError, ValueError):
        return
    if data.get("digest") == digest:
        return
    target = path.parent / "history" / f"{student}@{graded_at}-{str(data.get('digest'))[:8]}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)


class SubmissionFacts:
    """Who sent which file when, and the late penalty, added to results.

    Reads what collect recorded (layout.manifest; else the notebook's timestamp.txt) and the
    deadlines and late rules (the course's grading.cfg, overridden by ``policies``). The
    penalty is worked out from the score each time, so a grade a person changes later, or a
    rule changed later, gives the right penalty.
    """

    def __init__(self, layout: CourseLayout, policies: dict | None = None):
        import json

        from autograder import lateness

        self.layout = layout
        try:
            self.manifest = json.loads(layout.manifest.read_text())
        except (OSError, ValueError):
            self.manifest = {}
        self.policies = {**lateness.course_policies(layout.root), **(policies or {})}

    def policy(self, assignment: str):
        from autograder.lateness import Policy

        return self.policies.get(assignment, self.policies.get("*", Policy()))

    def apply(self, results: list[SubmissionResult]) -> list[SubmissionResult]:
        from dataclasses import replace

        from autograder.lateness import late_by

        out = []
        for r in results:
            if r.status in (Status.MISSING, Status.UNMATCHED):
                out.append(r)
                continue
            entry = self.manifest.get("submissions", {}).get(r.assignment, {}).get(r.student, {})
            when = entry.get("submitted_at") or r.submitted_at or self._stamp(r)
            policy = self.policy(r.assignment)
            late = late_by(when, policy.deadline)
            graded = r.status not in (Status.FAILED,)
            penalty = policy.rule.penalty(late, r.score, r.max_score) if graded else 0.0
            out.append(replace(r, lms_id=entry.get("lms_id") or r.lms_id, submitted_at=when,
                               file=entry.get("file") or r.file, late_by=late, penalty=penalty))
        return out

    def _stamp(self, r: SubmissionResult) -> str | None:
        from autograder.lateness import parse_time

        path = self.layout.submitted_notebook(r.student, r.assignment).parent / "timestamp.txt"
        try:
            when = parse_time(path.read_text().strip())
        except (OSError, ValueError):
            return None
        return when.isoformat() if when else None


def recorded_results(layout: CourseLayout, assignment: str | None = None,
                     policies: dict | None = None) -> list[SubmissionResult]:
    """Every result recorded under layout.results (only assignment's when given), with the
    grades a person gave in nbgrader's gradebook, the submission time and the late penalty;
    raises NoResults when there is none."""
    from autograder import gradebook

    results = gradebook.ResultStore(layout.results).all()
    if assignment:
        results = [r for r in results if r.assignment == assignment]
    if not results:
        raise NoResults(f"no results under {layout.results}" + (f" for {assignment!r}" if assignment else "")
                        + "; run autograde first")
    # The grades a person gave in formgrader (written answers, overrides, comments).
    return SubmissionFacts(layout, policies).apply(gradebook.with_manual_grades(layout.gradebook, results))


def class_rows(layout: CourseLayout, results: list[SubmissionResult], roster=None,
               assignments: list[str] | None = None) -> list[SubmissionResult]:
    """One row per rostered student and assignment, plus every collected file not filed.

    results: the recorded results; roster: an autograder.roster.Roster or None (then the
    students are those with a result); assignments: the assignments to export (default:
    those of the results and of the unmatched files).
    A rostered student with no result gets a ``missing`` row; a student with a result who
    is not on the roster keeps the row (nobody is lost); every unmatched file of collect
    (layout.manifest) gets an ``unmatched`` row named after the file.
    """
    import json

    try:
        unmatched = json.loads(layout.manifest.read_text()).get("unmatched", {})
    except (OSError, ValueError):
        unmatched = {}
    if assignments is None:
        assignments = sorted({r.assignment for r in results}
                             | {u["assignment"] for u in unmatched.values() if u.get("assignment")})
    max_scores = _max_scores(layout, results)
    rows = [r for r in results if r.assignment in assignments]
    have = {(r.student, r.assignment) for r in rows}
    for a in assignments:
        for entry in (roster.entries if roster is not None else []):
            if (entry.student, a) not in have:
                rows.append(SubmissionResult.ungraded(entry.student, a, Status.MISSING, "no submission",
                                                      max_score=max_scores.get(a, 0.0), lms_id=entry.lms_id))
    for file, u in sorted(unmatched.items()):
        a = u.get("assignment")
        if a is not None and a not in assignments:
            continue
        for target in ([a] if a else assignments[:1]):
            rows.append(SubmissionResult.ungraded(f"unmatched: {file}", target, Status.UNMATCHED, u.get("reason", ""),
                                                  max_score=max_scores.get(target, 0.0), file=file,
                                                  lms_id=u.get("lms_id"), submitted_at=u.get("submitted_at")))
    rows.sort(key=lambda r: (r.assignment, r.status == Status.UNMATCHED, r.student))
    return rows


def _max_scores(layout: CourseLayout, results: list[SubmissionResult]) -> dict[str, float]:
    out = {r.assignment: r.max_score for r in results if r.max_score}
    for a in layout.assignments():
        if a not in out:
            try:
                from autograder.notebook import graded_parts

                out[a] = sum(p["points"] for p in graded_parts(_Notebooks(layout).source(a)))
            except Exception:  # no source notebook: the row shows no maximum
                pass
    return out


def load_roster(layout: CourseLayout, path: Path | None = None):
    """The roster: path when given (then kept as layout.roster for the next commands), else
    the one kept from before, else None."""
    import shutil

    from autograder.roster import read_roster

    if path is not None:
        roster = read_roster(Path(path))
        if Path(path).absolute() != layout.roster:
            layout.roster.parent.mkdir(parents=True, exist_ok=True)
            if layout.roster.exists() and layout.roster.read_bytes() != Path(path).read_bytes():
                shutil.copyfile(layout.roster, layout.roster.with_name(f"roster.{int(time.time())}.csv"))
            shutil.copyfile(path, layout.roster)
        return roster
    return read_roster(layout.roster) if layout.roster.is_file() else None


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
        if r.status in (Status.MISSING, Status.UNMATCHED):
            continue  # nobody to send a page to, or nothing graded
        try:
            answers = graded_answers(layout, r, notebooks)
            if answers is None and r.status != Status.FAILED:
                warn(f"  the feedback of {r.student}/{r.assignment} has no \"your answers\" section: its notebook "
                     f"{layout.submitted_notebook(r.student, r.assignment)} is missing or unreadable")
            paths.append(write_feedback(r, layout.feedback, answers,
                                        layout.submitted_notebook(r.student, r.assignment).parent))
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
    rows: list[SubmissionResult] = field(default_factory=list)
    """Every row of grades.csv: results, ``missing`` and ``unmatched`` rows."""

    @property
    def unmatched(self) -> list[SubmissionResult]:
        """The rows of collected files not filed under a student (resolve them, then export again)."""
        return [r for r in self.rows if r.status == Status.UNMATCHED]

    @property
    def missing(self) -> list[SubmissionResult]:
        """The rows of rostered students with nothing collected."""
        return [r for r in self.rows if r.status == Status.MISSING]


def export_reports(layout: CourseLayout, results: list[SubmissionResult] | None = None, *,
                   assignment: str | None = None, roster=None,
                   policies: dict | None = None) -> ExportResult:
    """Write grades.csv, report.txt and report.png.

    results: default every recorded result (of assignment, when given, and with policies'
    late penalties). roster: an autograder.roster.Roster; every rostered student gets a row
    (``missing`` when nothing came in). Every file collect could not file gets an
    ``unmatched`` row. Only assignment's rows are exported when it is given, whatever else
    OUT holds.
    """
    from autograder.export import report_plot, report_text, write_csv

    if results is None:
        try:
            results = recorded_results(layout, assignment, policies)
        except NoResults:
            if roster is None:
                raise
            results = []
    elif assignment:
        results = [r for r in results if r.assignment == assignment]
    rows = class_rows(layout, results, roster, [assignment] if assignment else None)
    write_csv(rows, layout.grades_csv)
    text = report_text(results) if results else "Class report\n============\n\nnothing graded yet\n"
    missing = sorted({r.student for r in rows if r.status == Status.MISSING})
    unmatched = [r for r in rows if r.status == Status.UNMATCHED]
    if roster is not None:
        text += f"\nRoster: {len(roster.entries)} student(s); {len(missing)} with nothing collected"
        text += (": " + ", ".join(missing) if missing else "") + "\n"
    if unmatched:
        text += f"\nUNMATCHED: {len(unmatched)} collected file(s) belong to nobody yet:\n"
        text += "".join(f"  {r.file}: {r.reason}\n" for r in unmatched)
    layout.report_txt.parent.mkdir(parents=True, exist_ok=True)
    layout.report_txt.write_text(text)
    report_plot(results, layout.report_png)
    return ExportResult(text, [layout.grades_csv, layout.report_txt, layout.report_png], rows)


def results_table(results: list[SubmissionResult]) -> str:
    """A plain-text table: student, assignment, status, score, named mistakes (or the reason)."""
    rows = [("student", "assignment", "status", "score", "named mistakes")]
    for r in sorted(results, key=lambda r: (r.assignment, r.student)):
        score = f"{r.score:g}/{r.max_score:g}" if r.graded else ""
        names = [k.split(": ", 1)[1] if ": " in k else k for k in r.mistake_keys]
        extra = ", ".join(n if names.count(n) == 1 else f"{n} x{names.count(n)}"
                          for n in dict.fromkeys(names))
        if r.status in (Status.FAILED, Status.FLAGGED) and r.reason:
            extra = (extra + "; " if extra else "") + r.reason[:90]
        rows.append((r.student, r.assignment, str(r.status), score, extra or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row[:4], widths)) + "  " + row[4]
                     for row in rows)
