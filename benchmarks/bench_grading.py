"""Grading throughput: serial `nbgrader autograde` against linclass-grade on 2 cores and on Dask.

    python benchmarks/bench_grading.py            # 40 submissions of the svm assignment
    python benchmarks/bench_grading.py --quick    # 14 submissions
    python benchmarks/bench_grading.py --runs 3   # the whole comparison 3 times, and the spread
    python benchmarks/bench_grading.py --no-dask  # leave out the Dask run
    python3 tasks.py bench --only grading [--quick]   # the same through benchmarks/run.py

The submissions are generated from the course (solutions/ and assignments/, or the small
test course when those are missing): correct, the untouched release (all stubs), one per
catalogued bug, partly correct, and one whose answer cell never ends. All three graders
run on the same small synthetic CIFAR-10 with LINCLASS_FAST=1 and the same per-cell
timeout, one after the other in this run:

1. `nbgrader autograde` over the submissions in one process (the anchor);
2. linclass-grade's process pool with 2 workers (sandbox, kernel run and probe);
3. linclass-grade through a Dask LocalCluster with 2 single-threaded workers, reached by
   its scheduler address exactly as a remote cluster would be.

They take turns on one chunk of the submissions at a time (2 rounds of 20; --rounds N), so
all three see the same load. Each round ends at a barrier: a pool whose last job is a cell
that never ends waits for it with one worker idle, a wait that a real class run, one batch,
has once. More rounds add more such waits, none of which serial nbgrader has; fewer rounds
share the load less evenly on a busy machine.

Then the sandbox's cost per submission: a few honest submissions graded one at a time in
this process, in turns with the sandbox (bubblewrap) and without it (what
`linclass-grade --allow-unsandboxed` does on a machine without bubblewrap; the cgroup and
the scratch tmpfs stay), median seconds per submission of each.

Reported: submissions per minute for each, the ratios to the anchor (target >= 2.0 for 2
cores), whether the pool and Dask runs gave identical grades, and the sandbox overhead per
submission. On a machine shared with other work, compare the ratios (measured side by
side), not the rates, and repeat (--runs) to see the spread.
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import autograder  # noqa: E402,F401  (first: it keeps nbformat's import fast)

# isort: split
import nbformat  # noqa: E402

from autograder import sandbox  # noqa: E402
from autograder.grade import GradeConfig, ensure_data  # noqa: E402
from autograder.parallel import Job, grade_many  # noqa: E402
from autograder.sandbox import Limits  # noqa: E402
from tools import make_samples as ms  # noqa: E402

TARGET = 2.0
CELL_TIMEOUT = 20.0
FUNCTIONS = ("svm_loss_naive", "svm_loss_vectorized", "sample_batch", "sgd_step", "predict")
SVM_EDITS = [name for name, (fn, _, _) in ms.EDITS.items() if fn in FUNCTIONS and not name.endswith("_grad")]
NEVER_ENDS = "def predict(W, X):\n    return np.argmax(X.dot(W), axis=1)\n\nwhile True:\n    pass\n"


def _option(ctx, name, default):
    if isinstance(ctx, dict):
        return ctx.get(name, default)
    return getattr(ctx, name, default)


def _course(tmp: Path) -> tuple[Path, Path, str]:
    src, rel = ROOT / "solutions", ROOT / "assignments"
    if (src / "svm" / "svm.ipynb").exists() and (rel / "svm" / "svm.ipynb").exists():
        return src, rel, "the svm assignment"
    src, rel = ms.mini_course(tmp / "mini")
    return src, rel, "the small test course (solutions/ or assignments/ missing)"


def _variants() -> list[tuple[str, dict | None]]:
    ok = ms.all_correct(FUNCTIONS)
    out: list[tuple[str, dict | None]] = [("correct", ok), ("stub", None)]
    for edit in SVM_EDITS:
        fn = ms.EDITS[edit][0]
        extra = [e for e in ms.EDITS if e == edit + "_grad"]
        out.append((f"bug_{edit}", {**ok, fn: ms.buggy(fn, edit, *extra)}))
    out.append(("partly", ms.plan("svm")["partly_correct"]))
    out.append(("never_ends", {**ok, "predict": NEVER_ENDS}))
    return out


def make_submissions(release_path: Path, dest: Path, count: int) -> list[tuple[str, Path]]:
    """count notebooks under dest/<student>/svm/svm.ipynb, cycling through the variants."""
    release = nbformat.read(release_path, as_version=4)
    variants = _variants()
    subs = []
    for i in range(count):
        name, answers = variants[i % len(variants)]
        student = f"s{i:03d}_{name}"
        nb = release if answers is None else ms.fill(release, answers)
        path = dest / student / "svm" / "svm.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        subs.append((student, path))
    return subs


def nbgrader_serial(source: Path, subs, work: Path, data: Path) -> float:
    """Seconds for one `nbgrader autograde` over the given submissions, in a fresh course
    folder (its gradebook is made first, untimed)."""
    course = Path(tempfile.mkdtemp(prefix="nbgrader-course-", dir=work))
    (course / "source").mkdir(parents=True)
    shutil.copytree(source / "svm", course / "source" / "svm")
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        "c.CourseDirectory.course_id = 'bench'\n"
        f"c.Execute.timeout = {int(CELL_TIMEOUT)}\n"
        "c.IgnorePattern.enabled = True\n"
        "c.IgnorePattern.pattern = r'\\w*Warning: '\n")
    env = {**os.environ, "LINCLASS_FAST": "1", "LINCLASS_DATA_DIR": str(data), "MPLBACKEND": "Agg",
           # nbgrader runs `alembic` from the venv when it creates the gradebook.
           "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}
    py = sys.executable
    done = subprocess.run([py, "-m", "nbgrader", "generate_assignment", "svm", "--force", "--log-level=ERROR"],
                          cwd=course, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment failed: {done.stderr[-2000:]}")
    for student, path in subs:
        target = course / "submitted" / student / "svm" / "svm.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    t0 = time.perf_counter()
    done = subprocess.run([py, "-m", "nbgrader", "autograde", "svm", "--force", "--log-level=ERROR"],
                          cwd=course, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    graded = len(list((course / "autograded").glob("*/svm/svm.ipynb")))
    if graded < len(subs) - 1:  # the one that never ends may be left out by nbgrader
        raise RuntimeError(f"nbgrader autograde graded only {graded} of {len(subs)}: {done.stderr[-2000:]}")
    return seconds


def linclass_grade(subs, config: GradeConfig, workers: int, scheduler: str | None) -> tuple[float, dict]:
    jobs = [Job(path, "svm", student) for student, path in subs]
    t0 = time.perf_counter()
    results = {r.student: r for r in grade_many(jobs, config, workers=workers, scheduler=scheduler)}
    return time.perf_counter() - t0, results


def _grades(results: dict) -> dict:
    return {s: (r.status, r.score, tuple(r.mistake_keys), {g: p.points for g, p in r.parts.items()})
            for s, r in results.items()}


def run(ctx=None) -> list[dict]:
    """Rows {"figure","value","unit","ratio","target","met","notes"} for benchmarks/run.py.

    The submissions are graded in ROUNDS chunks; in each round the three graders take turns
    on the same chunk, so all three see the same load on a shared machine.
    """
    from distributed import LocalCluster

    quick = bool(_option(ctx, "quick", False))
    rounds = int(_option(ctx, "rounds", 0) or 2)
    use_dask = bool(_option(ctx, "dask", True))
    count = 14 if quick else 40
    tmp = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    times = {"nbgrader": 0.0, "pool": 0.0, "dask": 0.0}
    pool, dask = {}, {}
    per_round = []
    overhead = None
    cluster = None
    try:
        source, release, which = _course(tmp)
        subs = make_submissions(release / "svm" / "svm.ipynb", tmp / "subs", count)
        limits = Limits(cell_timeout=CELL_TIMEOUT, total_timeout=300.0)
        config = GradeConfig(source_dir=source, release_dir=release, work_dir=tmp / "work", limits=limits,
                             call_timeout=CELL_TIMEOUT, probe_timeout=120.0)
        data = ensure_data(config)
        config.data_dir = data
        # One cluster for the whole run, reached by its address like a remote one.
        if use_dask:
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=40)
        for r in range(rounds):
            chunk = subs[r::rounds]
            anchor = nbgrader_serial(source, chunk, tmp, data)
            times["nbgrader"] += anchor
            seconds, results = linclass_grade(chunk, config, 2, None)
            times["pool"] += seconds
            pool.update(results)
            per_round.append(f"{anchor:.0f}/{seconds:.0f} s")
            if cluster is not None:
                seconds, results = linclass_grade(chunk, config, 2, cluster.scheduler_address)
                times["dask"] += seconds
                dask.update(results)
        honest = [(student, path) for student, path in subs if not student.endswith("never_ends")]
        overhead = sandbox_overhead(honest[:3 if quick else 6], config)
    finally:
        if cluster is not None:
            cluster.close()
        shutil.rmtree(tmp, ignore_errors=True)
    anchor = times["nbgrader"]
    rate = lambda s: 60.0 * count / s  # noqa: E731
    same = _grades(pool) == _grades(dask) if use_dask else True
    sandboxed = all(r.sandboxed for r in pool.values())
    statuses = sorted({getattr(r.status, "value", str(r.status)) for r in pool.values()})
    common = (f"{count} submissions of {which} in {rounds} interleaved rounds; per-cell timeout "
              f"{CELL_TIMEOUT:g} s; synthetic CIFAR-10, LINCLASS_FAST=1")
    rows = [
        {"figure": "grading: serial nbgrader autograde (anchor)", "value": round(rate(anchor), 2),
         "unit": "submissions/min", "ratio": 1.0, "target": None, "met": None,
         "notes": f"{common}; {anchor:.0f} s"},
        {"figure": "grading: linclass-grade, process pool, 2 workers", "value": round(rate(times["pool"]), 2),
         "unit": "submissions/min", "ratio": round(anchor / times["pool"], 2), "target": TARGET,
         "met": anchor / times["pool"] >= TARGET and same,
         "notes": f"{times['pool']:.0f} s; sandboxed: {sandboxed}; kernel run + out-of-kernel probe per "
                  f"submission; statuses {statuses}; nbgrader/pool per round: {', '.join(per_round)}"},
    ]
    if use_dask:
        rows += [
            {"figure": "grading: linclass-grade, Dask LocalCluster by address, 2 workers",
             "value": round(rate(times["dask"]), 2), "unit": "submissions/min",
             "ratio": round(anchor / times["dask"], 2), "target": None, "met": None,
             "notes": f"{times['dask']:.0f} s; the same grading function as the pool"},
            {"figure": "grading: identical grades, pool vs Dask",
             "value": sum(_grades(pool).get(s) == _grades(dask).get(s) for s in pool), "unit": f"of {count}",
             "ratio": None, "target": count, "met": same, "notes": "status, score, parts and named mistakes"},
        ]
    if overhead is not None:
        boxed, plain, n, grades_same = overhead
        rows.append({
            "figure": "grading: sandbox overhead per submission (bubblewrap vs --allow-unsandboxed)",
            "value": round(boxed - plain, 3), "unit": "s", "ratio": round(boxed / plain, 3),
            "target": None, "met": None,
            "notes": f"median of {n} honest submissions graded one at a time in turns: sandboxed "
                     f"{boxed:.2f} s, unsandboxed {plain:.2f} s; identical grades: {grades_same}"})
    return rows


def sandbox_overhead(subs, config: GradeConfig) -> tuple[float, float, int, bool] | None:
    """(median seconds sandboxed, median seconds unsandboxed, submissions, same grades) per
    submission, graded one at a time in this process in turns; None without bubblewrap."""
    if not sandbox.sandbox_available():
        return None
    boxed, plain, same = [], [], True
    saved = {k: os.environ.get(k) for k in ("LINCLASS_NO_SANDBOX", sandbox.UNSANDBOXED_WARNED_ENV)}
    try:
        for student, path in subs:
            results = {}
            for mode in ("boxed", "plain"):
                if mode == "plain":
                    # What --allow-unsandboxed does where bubblewrap is missing (warned once, here).
                    os.environ["LINCLASS_NO_SANDBOX"] = "1"
                    os.environ[sandbox.UNSANDBOXED_WARNED_ENV] = "1"
                seconds, graded = linclass_grade([(student, path)], config, 1, None)
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
                (boxed if mode == "boxed" else plain).append(seconds)
                results[mode] = graded[student]
            if results["boxed"].sandboxed is not True or results["plain"].sandboxed is not False:
                raise RuntimeError("the sandbox overhead runs did not run as asked (sandboxed / unsandboxed)")
            same &= _grades({0: results["boxed"]}) == _grades({0: results["plain"]})
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return statistics.median(boxed), statistics.median(plain), len(subs), same


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="14 submissions instead of 40")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (default 2)")
    parser.add_argument("--runs", type=int, default=1, help="repeat the whole comparison (default 1)")
    parser.add_argument("--no-dask", action="store_true", help="leave out the Dask run")
    args = parser.parse_args(argv)
    ratios = []
    for i in range(args.runs):
        for row in run({"quick": args.quick, "dask": not args.no_dask, "rounds": args.rounds}):
            print(json.dumps({"run": i + 1, **row}), flush=True)
            if row["figure"].startswith("grading: linclass-grade, process pool"):
                ratios.append(row["ratio"])
    if len(ratios) > 1:
        print(json.dumps({"figure": "grading: pool ratio to nbgrader over the runs", "runs": ratios,
                          "median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
