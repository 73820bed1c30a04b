"""Grade one submission: normalize, run in the sandbox, probe, verify, decide.

1. The submission is read strictly and rebuilt from the source notebook's structure
   (``autograder.notebook``); an unreadable notebook is "failed" with the reason.
2. The rebuilt notebook, with the visible tests only (the hidden ones never enter the
   sandbox), runs with nbclient inside the sandbox, on a small synthetic CIFAR-10 with
   LINCLASS_FAST=1 (``autograder/harness/run_notebook.py``). Figures are made but not
   rendered to images (nothing graded reads them). Its test cells give the "in-kernel"
   result, which is only compared, never trusted.
3. Then a second sandboxed process (``autograder/harness/probe.py``, plain Python) runs
   only the answer cells, and the grader (``autograder.probe_driver``) calls each graded
   function on the cases of ``autograder.registry``, one at a time over a pipe, with a seed
   the sandbox never sees. An answer cell at which step 2 stopped for the cell timeout gets
   STUCK_CELL_SECONDS here instead of call_timeout, so a cell that never ends costs one
   timeout, not two.
4. The grader's own process compares those plain-data outputs with the answer key
   (``autograder.verify``), and ``autograder.scoring`` decides each part (loss at reg = 0,
   gradient at reg = 0, regularization, speed) and names the mistakes from
   ``autograder.bugs``.
5. Every autograded part scores its verified points; the kernel's visible tests are
   recorded, never trusted. Advice that costs nothing (``notes``) is passed on.

The two sandboxed runs stay separate processes in separate sandboxes: nothing a run leaves
behind (a process, a file) can reach the other, and the probe starts from a clean Python.

Status per submission: "failed" (unreadable notebook, crash, timeout, dead kernel; with the
reason) > "flagged" (for a human) > "needs manual grading" (written answers) > "graded".
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder import answer_key, registry, sandbox, static_scan
from autograder.notebook import (
    InvalidNotebook,
    graded_parts,
    in_kernel_results,
    read_notebook,
    rebuild,
    setup_imports,
)
from autograder.probe_driver import Probe
from autograder.results import PartResult, Status, SubmissionResult
from autograder.verify import verify_function

HARNESS = Path(__file__).resolve().parent / "harness"
# Seconds the probe gives an answer cell that the notebook run already stopped for the cell
# timeout. The probe runs answer cells alone, where they only define functions, which takes
# milliseconds; a cell that never ends (a loop after its functions) would otherwise cost the
# whole call_timeout a second time, on top of the notebook run's own cell timeout.
STUCK_CELL_SECONDS = 1.0
# Seconds the idle probe process may wait beyond the notebook run's own time limit.
PROBE_WAIT_SLACK = 30.0


@dataclass
class GradeConfig:
    """Where the course lives and how to grade.

    source_dir: Path, holds <assignment>/<assignment>.ipynb nbgrader source notebooks.
    release_dir: Path, holds the student release (stubs for missing answers).
    data_dir: Path or None, folder holding cifar-10-batches-py for the in-kernel run
        (a small synthetic one; made in work_dir when None).
    work_dir: Path, the grader's own folder (scratch folders go below it).
    limits: sandbox.Limits for the in-kernel run; the probe gets the same memory and
        process limits and probe_timeout seconds in total.
    seed: int or None, seed of the probe's cases. None (the default) derives a seed per
        submission from a secret kept in work_dir and the notebook's content: a re-run gives
        identical grades, and no student can compute the cases from the public code.
    run_notebook: bool, run the whole notebook in the kernel too (its visible tests are
        recorded, and "failed" when it crashes or times out); False grades from the
        probe alone.
    keep_scratch: bool, keep each scratch folder for debugging.
    """
    source_dir: Path
    release_dir: Path
    work_dir: Path
    data_dir: Path | None = None
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    probe_timeout: float = 120.0
    call_timeout: float = 20.0
    seed: int | None = None
    run_notebook: bool = True
    keep_scratch: bool = False

    def __post_init__(self):
        # Absolute: the sandbox runs in its own working folder.
        self.source_dir, self.release_dir, self.work_dir = (Path(p).absolute() for p in (
            self.source_dir, self.release_dir, self.work_dir))
        if self.data_dir is not None:
            self.data_dir = Path(self.data_dir).absolute()
        if self.seed is not None and (not isinstance(self.seed, int) or self.seed < 0):
            raise ValueError(f"seed must be a non-negative int or None, got {self.seed!r}")
        for name in ("probe_timeout", "call_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive seconds, got {getattr(self, name)!r}")

    def source_notebook(self, assignment: str) -> Path:
        path = self.source_dir / assignment / f"{assignment}.ipynb"
        if not path.exists():
            raise ValueError(f"assignment {assignment!r} has no source notebook at {path}; "
                             "pass the right --source folder")
        return path

    def release_notebook(self, assignment: str) -> Path | None:
        path = self.release_dir / assignment / f"{assignment}.ipynb"
        return path if path.exists() else None


@functools.lru_cache(maxsize=16)
def _read_cached(path: str, mtime: float):
    return nbformat.read(path, as_version=4)


def _load(path: Path | None):
    if path is None:
        return None
    return _read_cached(str(path), path.stat().st_mtime)


def ensure_data(config: GradeConfig) -> Path:
    """The synthetic CIFAR-10 folder the in-kernel run reads; written once if missing."""
    if config.data_dir is not None:
        return config.data_dir
    dest = config.work_dir / "synthetic-cifar10"
    if not (dest / "cifar-10-batches-py" / "test_batch").exists():
        from linclass.data import write_synthetic_cifar10

        config.work_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix="synthetic-", dir=config.work_dir))
        write_synthetic_cifar10(tmp)
        # Readable by the sandbox's unprivileged user id (mkdtemp makes the folder private).
        for path in [tmp, *tmp.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        try:
            tmp.rename(dest)
        except OSError:  # another worker won the race; its copy is the same
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def remove_tree(path: Path) -> None:
    """Remove a scratch folder whatever the sandbox left in it.

    shutil.rmtree recurses once per folder level, so folders nested a few thousand deep (a
    submission can make them) raise RecursionError, which ignore_errors does not cover;
    ``rm -rf`` walks any depth. Never raises.
    """
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        return
    except (OSError, RecursionError):
        subprocess.run(["rm", "-rf", "--one-file-system", "--", str(path)], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _failed(student, assignment, reason, parts, t0, sandboxed=True, flags=None, notes=None):
    table = {p["grade_id"]: PartResult(p["grade_id"], 0.0, p["points"], "not graded: " + reason,
                                       manual=p["kind"] == "manual") for p in parts}
    return SubmissionResult(student, assignment, Status.FAILED, reason, table, {}, flags or [], [], 0.0,
                            sum(p["points"] for p in parts), time.monotonic() - t0, sandboxed,
                            notes=notes or [])


def submission_seed(config: GradeConfig, assignment: str, student: str, digest: str) -> int:
    """The seed of one submission's cases: config.seed, or derived from the course's secret.

    The secret (random, made once, kept in work_dir, readable by the grader only) never
    enters the sandbox; the same notebook gets the same cases on a re-run, another notebook
    other cases.
    """
    if config.seed is not None:
        return config.seed
    path = config.work_dir / ".case-secret"
    if not path.exists():
        config.work_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".case-secret-{secrets.token_hex(4)}")
        tmp.write_text(secrets.token_hex(32))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)  # atomic; another worker's secret wins the race
        except FileExistsError:
            pass
        tmp.unlink()
    key = path.read_text().strip().encode()
    mac = hmac.new(key, f"{assignment}\0{student}\0{digest}".encode(), hashlib.sha256).digest()
    return int.from_bytes(mac[:6], "big")


def _start_probe(scratch: Path, config) -> Probe:
    """Start the sandboxed probe process, idle until _run_probe hands it the answer cells:
    it starts while the notebook run goes on."""
    limits = sandbox.Limits(cell_timeout=config.call_timeout, total_timeout=config.probe_timeout,
                            memory_mb=config.limits.memory_mb, max_procs=config.limits.max_procs,
                            max_output_bytes=config.limits.max_output_bytes,
                            max_scratch_bytes=config.limits.max_scratch_bytes)
    wait = config.limits.total_timeout + PROBE_WAIT_SLACK if config.run_notebook else PROBE_WAIT_SLACK
    return Probe(scratch / "probe", limits, wait)


def _run_probe(probe: Probe, rebuilt, source_nb, functions, config, seed: int,
               stuck_cell: str | None = None):
    """Call every graded function in the fresh sandboxed probe; returns a ProbeRun.

    stuck_cell: str or None, the grade_id of the answer cell the notebook run stopped at for
        the cell timeout; the probe gives that cell STUCK_CELL_SECONDS instead of call_timeout.
    """
    cells = [{"grade_id": gid, "source": text} for gid, text in rebuilt.code_answers().items()]
    stuck = {stuck_cell: min(STUCK_CELL_SECONDS, config.call_timeout)} if stuck_cell else {}
    return probe.run(cells, setup_imports(source_nb), functions, seed, config.call_timeout, stuck)


def _run_kernel(scratch: Path, rebuilt, config) -> tuple[object | None, str | None, bool, str | None]:
    """Run harness/run_notebook.py in its own sandbox.

    Returns (executed NotebookNode or None, problem str or None, sandboxed bool, stuck_cell),
    where stuck_cell is the grade_id of the answer cell the run stopped at for the cell
    timeout, or None.
    """
    kdir = scratch / "kernel"
    # The scratch folder is a size-limited tmpfs while the run lasts (open-but-deleted files
    # count); the results are read before it goes.
    # (keep_scratch: no tmpfs, so that the files are still there to debug.)
    mount = (contextlib.nullcontext(kdir) if config.keep_scratch
             else sandbox.scratch_mount(kdir, int(config.limits.max_scratch_bytes)))
    with mount:
        if config.keep_scratch:
            kdir.mkdir(parents=True, exist_ok=True)
        return _run_kernel_in(kdir, rebuilt, config)


def _run_kernel_in(kdir: Path, rebuilt, config):
    # Only the visible tests run in the kernel: the hidden ones never enter the sandbox.
    nbformat.write(rebuilt.visible_notebook(), kdir / "rebuilt.ipynb")
    data = ensure_data(config)
    result = sandbox.run_sandboxed(
        [sandbox.python_executable(), str(HARNESS / "run_notebook.py"), "rebuilt.ipynb", "executed.ipynb"],
        kdir, readonly=[answer_key.kit_folder(), HARNESS, data], hidden=answer_key.hidden_paths(),
        limits=config.limits,
        env={"LINCLASS_FAST": "1", "LINCLASS_DATA_DIR": str(data), "PYTHONHASHSEED": "0"})
    executed, problem, stuck_cell = None, None, None
    try:
        executed = nbformat.reads(sandbox.read_scratch_file(kdir, "executed.ipynb", 60_000_000).decode("utf-8"),
                                  as_version=4)
    except (FileNotFoundError, ValueError, OSError, UnicodeDecodeError, RecursionError, MemoryError) as err:
        # Written in the sandbox: a file nested too deeply or too large is no executed notebook.
        problem = f"the notebook run left no usable executed notebook ({result.reason or type(err).__name__})"
    try:
        status = json.loads(sandbox.read_scratch_file(kdir, "run_status.json", 100_000))
    except (FileNotFoundError, ValueError, OSError, RecursionError):
        status = {"status": "unknown"}
    if not isinstance(status, dict):
        status = {"status": "unknown"}
    if result.timed_out:
        problem = f"the notebook run was stopped: {result.reason}"
    elif status.get("status") in ("cell timeout", "dead kernel", "error"):
        cell = status.get("cell")
        if status.get("status") == "cell timeout":
            stuck_cell = _answer_cell_at(rebuilt, cell)
        where = f" at cell {cell}" if cell is not None else ""
        problem = f"the notebook run stopped{where}: {status.get('status')} ({str(status.get('detail'))[:200]})"
    elif status.get("status") != "ok" and problem is None:
        problem = f"the notebook run did not finish: {result.reason or status.get('status')}"
    return executed, problem, result.sandboxed, stuck_cell


def _answer_cell_at(rebuilt, index) -> str | None:
    """The grade_id of the code answer cell at index (untrusted, from run_status.json), or None."""
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(rebuilt.notebook.cells):
        return None
    cell = rebuilt.notebook.cells[index]
    gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return gid if cell.cell_type == "code" and gid in rebuilt.answers else None


def grade_submission(notebook_path: Path, assignment: str, student: str, config: GradeConfig) -> SubmissionResult:
    """Grade one student's notebook for one assignment.

    notebook_path: Path to the submitted .ipynb; assignment: str ("svm" or "softmax");
    student: str, the normalized student id; config: GradeConfig.
    Returns a SubmissionResult. Never raises for anything the submission contains: an
    unreadable notebook, a crash or a timeout gives status "failed" with the reason.
    """
    t0 = time.monotonic()
    source_nb = _load(config.source_notebook(assignment))
    release_nb = _load(config.release_notebook(assignment))
    parts = graded_parts(source_nb)
    try:
        student_nb = read_notebook(Path(notebook_path))
    except InvalidNotebook as err:
        return _failed(student, assignment, f"invalid notebook: {err}", parts, t0)
    except OSError as err:
        return _failed(student, assignment, f"cannot read the notebook: {err.strerror}", parts, t0)
    rebuilt = rebuild(student_nb, source_nb, release_nb)
    functions = _graded_functions(parts)
    seed = submission_seed(config, assignment, student, hashlib.sha256(Path(notebook_path).read_bytes()).hexdigest())

    config.work_dir.mkdir(parents=True, exist_ok=True)
    scratch_root = config.work_dir / "scratch"
    scratch_root.mkdir(exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"{assignment}-", dir=scratch_root))
    try:
        # The notebook run goes first so that the probe knows which answer cell never ended;
        # the probe's process starts meanwhile and waits for the cells.
        executed, kernel_problem, stuck_cell, sandboxed = None, None, None, True
        with _start_probe(scratch, config) as prober:
            if config.run_notebook:
                executed, kernel_problem, sandboxed, stuck_cell = _run_kernel(scratch, rebuilt, config)
            probe = _run_probe(prober, rebuilt, source_nb, functions, config, seed, stuck_cell)
        sandboxed = sandboxed and probe.sandboxed
    finally:
        if not config.keep_scratch:
            remove_tree(scratch)

    flags, notes = list(rebuilt.flags), list(rebuilt.notes)
    if probe.problem and not probe.records:
        return _failed(student, assignment, probe.problem, parts, t0, sandboxed, flags, notes)
    for gid, cell_error in probe.cell_errors.items():
        notes.append(f"your answer cell {gid!r} raised {cell_error}")
    verdicts = {fn: verify_function(probe.records.get(fn), fn, naive=_naive_record(probe, fn),
                                    loops=_loop_evidence(rebuilt, probe, fn)) for fn in functions}
    for v in verdicts.values():
        notes.extend(n for n in v.notes if n not in notes)
    machinery = _machinery_findings(rebuilt)
    if machinery:
        # Code that reaches into the interpreter can fool any in-process evidence of
        # vectorization: no automatic speed points, and a person looks at it.
        flags.append("needs a person: " + "; ".join(machinery))
        for fn, v in verdicts.items():
            if registry.get(fn).speed_graded and v.checks["speed"][0]:
                used = machinery[0].split(" uses ", 1)[-1]
                v.checks["speed"] = (False, f"{fn}: speed points are left to the person who reviews "
                                                 f"your answer cells (they use {used})")
    for fn, record in probe.records.items():
        if record.hooks_changed:
            flags.append(f"tampering suspected: {fn} changed Python's tracing hooks")
    try:
        in_kernel_raw = in_kernel_results(executed, parts) if executed is not None else {}
    except (AttributeError, TypeError, ValueError, RecursionError):  # a forged executed notebook
        in_kernel_raw = {}
    table, in_kernel, mistakes, keys, needs_human = _score_parts(parts, rebuilt, verdicts, in_kernel_raw, flags)

    score = sum(r.points for r in table.values())
    max_score = sum(r.max_points for r in table.values())
    problem = probe.problem or kernel_problem
    if problem:
        status, reason = Status.FAILED, problem
    elif flags:
        status, reason = Status.FLAGGED, flags[0]
    elif needs_human:
        status, reason = Status.NEEDS_MANUAL, None
    else:
        status, reason = Status.GRADED, None
    return SubmissionResult(student, assignment, status, reason, table, in_kernel, flags, mistakes,
                            score, max_score, time.monotonic() - t0, sandboxed, keys, notes)


def _naive_record(probe, fn: str):
    """The probe record of the naive version of a vectorized loss, or None."""
    naive = registry.get(fn).naive
    return probe.records.get(naive) if naive else None


def _loop_evidence(rebuilt, probe, fn: str) -> tuple:
    """Loops over the examples read in a vectorized function's code (static scan).

    The line count traced in the probe is evidence that code in the same process could fake;
    the answer cells' text cannot be. scoring reports a loop whether or not the function is
    also wrong, and a loop costs the speed part.
    """
    record = probe.records.get(fn)
    if not registry.get(fn).speed_graded or record is None or not record.defined:
        return ()
    code = "\n\n".join(rebuilt.code_answers().values())
    return tuple(static_scan.loops_over_examples(code, fn, tuple(c for c in record.own_calls if c != fn)))


def _machinery_findings(rebuilt) -> list[str]:
    """"answer cell 'gid' uses ..." for each code answer cell with static findings."""
    out = []
    for gid, text in rebuilt.code_answers().items():
        found = static_scan.scan(text)
        if found:
            out.append(f"answer cell {gid!r} uses " + ", ".join(found[:6]) + (" ..." if len(found) > 6 else ""))
    return out


def _graded_functions(parts: list[dict]) -> list[str]:
    """The graded functions the notebook's test cells name, in notebook order."""
    functions: list[str] = []
    for p in parts:
        fn, _ = registry.function_of(p["grade_id"])
        if p["kind"] == "test" and fn and fn not in functions:
            functions.append(fn)
    return functions


def _score_parts(parts, rebuilt, verdicts, in_kernel_raw, flags):
    """Points per part from the verdicts; returns (table, in_kernel, mistakes, keys, needs_human)."""
    table, in_kernel, mistakes, keys = {}, {}, [], []
    for fn, v in verdicts.items():
        if v.calls_reference:
            flags.append(f"{fn} calls the reference implementation")
        for bug in v.bugs:
            key = f"{fn}: {bug.key}"
            if key not in keys:
                keys.append(key)
                mistakes.append(f"{fn}: {bug.words}")
    needs_human = False
    for p in parts:
        gid, max_points = p["grade_id"], p["points"]
        if p["kind"] == "manual":
            if rebuilt.answered.get(gid, False):
                needs_human = True
                table[gid] = PartResult(gid, 0.0, max_points, "needs manual grading", manual=True,
                                        checked="your written answer, read by a person")
            else:
                table[gid] = PartResult(gid, 0.0, max_points, "not answered", manual=True,
                                        checked="your written answer")
            continue
        fn, part = registry.function_of(gid)
        if fn is None:
            needs_human = True
            table[gid] = PartResult(gid, 0.0, max_points, "this test cannot be verified outside the "
                                    "notebook; a person will grade it", manual=True)
            continue
        check = registry.part_check(part)
        ok, message = verdicts[fn].checks[check]
        # The mistakes of this part only; a convention mismatch is named even where it is the
        # only thing wrong, so the regularization part says exactly what to change.
        part_bugs = verdicts[fn].part_bugs.get(check) or ()
        mistake = "; ".join(b.words for b in part_bugs) if not ok and part_bugs else None
        table[gid] = PartResult(gid, max_points if ok else 0.0, max_points, message, mistake,
                                checked=registry.describe_check(fn, check))
        if gid in in_kernel_raw:
            # The visible tests' result in the kernel, kept for the record. It is not compared
            # with the verified points: the hidden checks ask more than the visible tests, so
            # passing only the visible ones is an honest outcome, not a sign of tampering.
            in_kernel[gid] = max_points if in_kernel_raw[gid]["passed"] else 0.0
    return table, in_kernel, mistakes, keys, needs_human
