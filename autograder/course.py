"""The main job: build the course end to end and grade the sample submissions.

    python3 tasks.py build            # what the README says; it sets up .venv and runs this
    python -m autograder.course build [--course-root DIR] [--data-dir DIR] [--synthetic]

The course is the current folder (tasks.py runs this from the repository's top folder), or
--course-root. Steps, each skipped when its inputs have not changed since the last run:

1. get CIFAR-10 (download it, or find it in --data-dir / $LINCLASS_DATA_DIR / the cache);
2. execute the solution notebooks (``build/executed/<assignment>.ipynb``);
3. generate the student release (``assignments/``) with ``nbgrader generate_assignment``;
4. autograde the sample submissions in ``autograder/samples/``;
5. say where the grades and the feedback went.

Step 4 calls the grading library (``autograder.batch``) directly, like ``linclass-grade run``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import autograder
import linclass
from autograder.layout import CourseLayout

STEPS = 5
PACKAGE = Path(autograder.__file__).resolve().parent
"""The autograder package's folder: its nbgrader settings and the sample submissions."""
SAMPLES = PACKAGE / "samples" / "submitted"


def _digest(root: Path, *parts) -> str:
    """A hash of files (by content), folders (every file in them) and plain values; file
    names count relative to root when they are inside it."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            files = sorted(p for p in part.rglob("*") if p.is_file()) if part.is_dir() else [part]
            for f in files:
                if "__pycache__" in f.parts or ".ipynb_checkpoints" in f.parts:
                    continue
                h.update(str(f.relative_to(root) if f.is_relative_to(root) else f).encode())
                h.update(f.read_bytes())
        else:
            h.update(repr(part).encode())
    return h.hexdigest()


class Step:
    """One numbered step: prints its header, its time, and whether it was reused."""

    def __init__(self, number: int, title: str, stamps: Path, key: str | None = None):
        self.number, self.title, self.key = number, title, key
        self.stamps = stamps
        self.stamp = stamps / f"step{number}.json"

    def done_before(self) -> bool:
        return (self.key is not None and self.stamp.exists()
                and json.loads(self.stamp.read_text()).get("key") == self.key)

    def __enter__(self):
        self.t0 = time.time()
        print(f"\n[{self.number}/{STEPS}] {self.title}", flush=True)
        return self

    def reuse(self, detail: str = "") -> None:
        print(f"      reused: nothing changed since the last run {detail}".rstrip(), flush=True)

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            if self.key is not None:
                self.stamps.mkdir(parents=True, exist_ok=True)
                self.stamp.write_text(json.dumps({"key": self.key, "finished": time.time()}))
            print(f"      done in {time.time() - self.t0:.1f} s", flush=True)
        return False


def get_data(data_dir: str | None, synthetic: bool, build_dir: Path) -> tuple[Path, bool]:
    """Return (folder holding cifar-10-batches-py, is_synthetic); a synthetic set goes in build_dir."""
    from linclass import data

    if synthetic:
        dest = build_dir / "synthetic-cifar10"
        if not (dest / "cifar-10-batches-py").exists():
            data.write_synthetic_cifar10(dest)
        return dest, True
    try:
        folder = data.download_cifar10(data_dir, progress=True)
    except data.CIFAR10Error as err:
        print(f"      could not get CIFAR-10:\n{err}", file=sys.stderr)
        print("      continuing with a SMALL SYNTHETIC dataset instead: the notebooks run and the "
              "grading works, but accuracies are meaningless.\n      Re-run with --data-dir once you "
              "have the data.", file=sys.stderr, flush=True)
        return get_data(None, True, build_dir)
    return folder.parent, False


def execute_notebook(src: Path, dest: Path, env: dict) -> None:
    """Run every cell of src with a progress bar; write the executed copy to dest."""
    import nbformat
    from nbclient import NotebookClient
    from tqdm.auto import tqdm

    nb = nbformat.read(src, as_version=4)
    code_cells = sum(c.cell_type == "code" for c in nb.cells)
    old_env = dict(os.environ)
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        with tqdm(total=code_cells, desc=f"      {src.name}", unit="cell", leave=True) as bar:
            client = NotebookClient(nb, timeout=600, kernel_name="python3",
                                    resources={"metadata": {"path": str(src.parent)}},
                                    on_cell_executed=lambda **kw: bar.update(1))
            client.execute()
    finally:
        os.environ.clear()
        os.environ.update(old_env)
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dest)


def _shown(layout: CourseLayout, path: Path) -> str:
    return str(path.relative_to(layout.root)) if path.is_relative_to(layout.root) else str(path)


def generate_release(layout: CourseLayout) -> None:
    """Run ``nbgrader generate_assignment`` for every assignment, in the course root (where
    nbgrader reads the course's nbgrader_config.py)."""
    import subprocess

    for name in layout.assignments():
        cmd = [sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force", "--log-level=WARN"]
        result = subprocess.run(cmd, cwd=layout.root, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"nbgrader generate_assignment {name} failed:\n{result.stdout}\n{result.stderr}")
        print(f"      {_shown(layout, layout.release / name)}/ regenerated from "
              f"{_shown(layout, layout.source / name)}/", flush=True)


def grade_samples(layout: CourseLayout, samples: Path = SAMPLES, allow_unsandboxed: bool = False) -> int:
    """Collect, grade, give feedback on and export the sample submissions; 0 when all went well,
    2 when bubblewrap does not work and allow_unsandboxed is False."""
    from autograder.batch import (
        SandboxMissing,
        check_sandbox,
        export_reports,
        grade_batch,
        results_table,
        write_all_feedback,
    )
    from autograder.collect import collect

    try:
        check_sandbox(allow_unsandboxed)
    except SandboxMissing as err:
        print(f"      {err}\n      (python -m autograder.course build --allow-unsandboxed)", file=sys.stderr)
        return 2

    report = collect(samples, layout.submitted, layout.assignments())
    print(report.text(), flush=True)
    if not report.submissions:
        print(f"      no sample submissions in {samples}", file=sys.stderr)
        return 1
    # The grader keeps its own record per submission, so a repeated run reuses it.
    batch = grade_batch(layout, layout.grade_config(), allow_unsandboxed=allow_unsandboxed)
    print()
    print(results_table(batch.results))
    pages = write_all_feedback(layout, batch.results)
    print(f"wrote {len(pages)} feedback page(s) to {layout.feedback}/<student>/<assignment>/")
    print(export_reports(layout, batch.results).text, flush=True)
    return 0


def build(data_dir: str | None, synthetic: bool, course_root: str | Path | None = None,
          allow_unsandboxed: bool = False) -> int:
    """Build the course at course_root (default: the current folder); returns the exit code."""
    t0 = time.time()
    layout = CourseLayout.from_options(course_root).require_source()
    build_dir = layout.root / "build"
    stamps = build_dir / "stamps"
    executed = build_dir / "executed"
    linclass_dir = Path(linclass.__file__).resolve().parent  # what the solution notebooks import

    with Step(1, "Getting CIFAR-10", stamps) as step:
        data_root, is_synthetic = get_data(data_dir, synthetic, build_dir)
        kind = "a small SYNTHETIC dataset" if is_synthetic else "CIFAR-10"
        print(f"      using {kind} in {data_root / 'cifar-10-batches-py'}", flush=True)
    env = {"LINCLASS_DATA_DIR": str(data_root), "MPLBACKEND": "Agg"}
    if is_synthetic:
        env["LINCLASS_FAST"] = "1"

    key = _digest(layout.root, layout.source, linclass_dir, str(data_root), is_synthetic)
    with Step(2, "Executing the solution notebooks", stamps, key) as step:
        if step.done_before():
            step.reuse(f"({_shown(layout, executed)}/)")
        else:
            for name in layout.assignments():
                execute_notebook(layout.source_notebook(name), executed / f"{name}.ipynb", env)

    def release_key() -> str:
        return _digest(layout.root, layout.source, layout.root / "nbgrader_config.py",
                       PACKAGE / "nbgrader_config.py", layout.release)

    with Step(3, f"Generating the student release in {_shown(layout, layout.release)}/", stamps,
              release_key()) as step:
        if step.done_before():
            step.reuse()
        else:
            generate_release(layout)
            step.key = release_key()

    with Step(4, "Autograding the sample submissions in autograder/samples/", stamps):
        code = grade_samples(layout, allow_unsandboxed=allow_unsandboxed)
        if code:
            return code

    with Step(5, "Where everything went", stamps):
        print(f"      executed solutions: {executed}")
        print(f"      student release:    {layout.release}")
        print(f"      grades (CSV):       {layout.grades_csv}")
        print(f"      class report:       {layout.report_txt} and {layout.report_png}")
        print(f"      feedback (HTML):    {layout.feedback}/<student>/<assignment>/")
    print(f"\nThe course is built ({time.time() - t0:.0f} s).")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build", help="build the course end to end and grade the samples")
    p.add_argument("--course-root", metavar="DIR",
                   help="the course folder holding solutions/ (default: the current folder)")
    p.add_argument("--data-dir", help="folder holding or receiving cifar-10-batches-py")
    p.add_argument("--synthetic", action="store_true", help="use a small synthetic dataset")
    p.add_argument("--allow-unsandboxed", action="store_true",
                   help="grade the samples even without a working bubblewrap (warned once)")
    args = parser.parse_args(argv)
    try:
        return build(args.data_dir, args.synthetic, args.course_root, args.allow_unsandboxed)
    except ValueError as err:
        print(f"python -m autograder.course: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
