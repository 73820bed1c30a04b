"""What the bubblewrap sandbox costs per run, measured side by side with a plain subprocess.

    python benchmarks/bench_sandbox.py          # prints the rows
    python benchmarks/bench_sandbox.py --quick  # fewer repeats

Three workloads, each run through ``subprocess.run`` and through ``run_sandboxed`` in
alternation (so both see the same machine load), median of the repeats:

1. ``python -c pass``: the fixed cost of the sandbox (namespaces, mounts, the launcher);
2. ``import numpy, linclass``: what a probe run pays before any student code runs;
3. a three-cell notebook executed with nbclient and its own kernel: one grading run.

The sandboxed runs get the grader's view: the kit folder and the harness shown, the answer
key, its compiler and the grader's package hidden (``autograder.answer_key.hidden_paths()``),
so the notebook uses only the student kit. Like the grader's, each sandboxed run gets its
own cgroup (memory and processes of the run as a whole) and a scratch folder that is a
size-limited tmpfs (``scratch_mount``), where the machine allows (root, cgroup controllers
mounted); the notes say which.

A fourth row times that setup alone, per run: creating and removing the cgroup, and
mounting and unmounting the scratch tmpfs.

The target: at most 0.5 s of extra time per sandboxed run, small next to the seconds a
grading run takes.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from autograder import answer_key, sandbox  # noqa: E402
from autograder.sandbox import Limits, python_executable, run_sandboxed, sandbox_available  # noqa: E402

TARGET_SECONDS = 0.5

_NOTEBOOK_RUNNER = """\
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.v4.new_notebook()
nb.cells = [nbformat.v4.new_code_cell(src) for src in (
    "import numpy as np", "from linclass.gradcheck import rel_error",
    "print(rel_error(np.ones(3), np.ones(3) + 1e-9))")]
NotebookClient(nb, timeout=60, kernel_name="python3").execute()
print(nb.cells[-1].outputs[0]["text"])
"""


def _option(ctx, name, default):
    if isinstance(ctx, dict):
        return ctx.get(name, default)
    return getattr(ctx, name, default)


def _time_pair(argv: list[str], scratch: Path, repeats: int) -> tuple[float, float]:
    """Median seconds (plain, sandboxed), runs interleaved."""
    plain, boxed = [], []
    limits = Limits(total_timeout=120)
    for i in range(repeats):
        t0 = time.perf_counter()
        done = subprocess.run(argv, cwd=scratch, capture_output=True)
        plain.append(time.perf_counter() - t0)
        if done.returncode != 0:
            raise RuntimeError(f"plain run failed: {done.stderr.decode()[-2000:]}")
        t0 = time.perf_counter()
        with sandbox.scratch_mount(scratch / f"boxed{i}", limits.max_scratch_bytes) as folder:
            result = run_sandboxed(argv, folder, limits=limits,
                                   readonly=[answer_key.kit_folder(), answer_key.grader_folder() / "harness"],
                                   hidden=answer_key.hidden_paths())
        boxed.append(time.perf_counter() - t0)
        if result.returncode != 0:
            raise RuntimeError(f"sandboxed run failed: {result.reason}: {result.stderr[-2000:]}")
    return statistics.median(plain), statistics.median(boxed)


def _setup_cost(tmp: Path, repeats: int) -> tuple[float | None, float | None]:
    """Median seconds to create and remove one run's cgroup, and to mount and unmount one
    scratch tmpfs (None where the machine does not allow it)."""
    limits = Limits()
    cgroup, mount = [], []
    for i in range(repeats):
        if sandbox.cgroups_available():
            t0 = time.perf_counter()
            group = sandbox._Cgroup.create(limits, limits.max_procs)
            if group is not None:
                group.kill_all()
                group.remove()
                cgroup.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        with sandbox.scratch_mount(tmp / f"mount{i}", limits.max_scratch_bytes) as folder:
            mounted = os.path.ismount(folder)
        if mounted:
            mount.append(time.perf_counter() - t0)
    return (statistics.median(cgroup) if cgroup else None, statistics.median(mount) if mount else None)


def run(ctx=None) -> list[dict]:
    """Rows {"figure","value","unit","ratio","target","met","notes"} for benchmarks/run.py."""
    quick = bool(_option(ctx, "quick", False))
    repeats = _option(ctx, "repeats", None)
    python = python_executable()
    mode = "bubblewrap" if sandbox_available() else "UNSANDBOXED fallback (rlimits only)"
    mode += ", cgroup per run" if sandbox.cgroups_available() else ", no cgroups (per-process limits)"
    workloads = [
        ("python -c pass", [python, "-c", "pass"], repeats or (5 if quick else 21)),
        ("import numpy, linclass", [python, "-c", "import numpy, linclass"], repeats or (5 if quick else 15)),
        ("3-cell notebook with nbclient", [python, "-c", _NOTEBOOK_RUNNER],
         max(2, repeats // 3) if repeats else (2 if quick else 5)),
    ]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as tmp:
        for name, argv, repeats in workloads:
            scratch = Path(tmp) / f"workload{len(rows)}"
            scratch.mkdir()
            plain, boxed = _time_pair(argv, scratch, repeats)
            extra = boxed - plain
            rows.append({
                "figure": f"sandbox overhead per run: {name}",
                "value": round(extra, 4),
                "unit": "s",
                "ratio": round(boxed / plain, 3),
                "target": f"<= {TARGET_SECONDS} s extra",
                "met": extra <= TARGET_SECONDS,
                "notes": f"median of {repeats}: plain {plain:.3f} s, sandboxed {boxed:.3f} s ({mode})",
            })
        n = 20 if quick else 100
        cgroup, mount = _setup_cost(Path(tmp), n)
        total = (cgroup or 0.0) + (mount or 0.0)
        rows.append({
            "figure": "whole-run limits setup per run (cgroup + scratch tmpfs)",
            "value": round(total * 1000, 2),
            "unit": "ms",
            "ratio": None,
            "target": f"<= {TARGET_SECONDS * 1000:g} ms (inside the per-run overhead above)",
            "met": total <= TARGET_SECONDS,
            "notes": f"median of {n}: cgroup create+remove "
                     + (f"{cgroup * 1000:.2f} ms" if cgroup is not None else "not available here")
                     + ", tmpfs mount+unmount "
                     + (f"{mount * 1000:.2f} ms" if mount is not None else "not available here (not root?)"),
        })
    return rows


if __name__ == "__main__":
    for row in run({"quick": "--quick" in sys.argv}):
        ratio = f" (x{row['ratio']})" if row["ratio"] is not None else ""
        print(f"{row['figure']}: +{row['value']} {row['unit']}{ratio} "
              f"target {row['target']} met={row['met']} | {row['notes']}")
