"""The main job: build the course end to end and grade the sample submissions.

    python3 tasks.py build            # what the README says; it sets up .venv and runs this
    python -m autograder.course build [--data-dir DIR] [--synthetic]

Steps, each skipped when its inputs have not changed since the last run:

1. get CIFAR-10 (download it, or find it in --data-dir / $LINCLASS_DATA_DIR / the cache);
2. execute the solution notebooks (``build/executed/<assignment>.ipynb``);
3. generate the student release (``assignments/``) with ``nbgrader generate_assignment``;
4. autograde the sample submissions in ``autograder/samples/``;
5. say where the grades and the feedback went.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
STAMPS = BUILD / "stamps"
ASSIGNMENTS = ("svm", "softmax")
STEPS = 5


def _digest(*parts) -> str:
    """A hash of files (by content), folders (every file in them) and plain values."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            files = sorted(p for p in part.rglob("*") if p.is_file()) if part.is_dir() else [part]
            for f in files:
                if "__pycache__" in f.parts or ".ipynb_checkpoints" in f.parts:
                    continue
                h.update(str(f.relative_to(ROOT) if f.is_relative_to(ROOT) else f).encode())
                h.update(f.read_bytes())
        else:
            h.update(repr(part).encode())
    return h.hexdigest()


class Step:
    """One numbered step: prints its header, its time, and whether it was reused."""

    def __init__(self, number: int, title: str, key: str | None = None):
        self.number, self.title, self.key = number, title, key
        self.stamp = STAMPS / f"step{number}.json"

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
                STAMPS.mkdir(parents=True, exist_ok=True)
                self.stamp.write_text(json.dumps({"key": self.key, "finished": time.time()}))
            print(f"      done in {time.time() - self.t0:.1f} s", flush=True)
        return False


def get_data(data_dir: str | None, synthetic: bool) -> tuple[Path, bool]:
    """Return (folder holding cifar-10-batches-py, is_synthetic)."""
    from linclass import data

    if synthetic:
        dest = BUILD / "synthetic-cifar10"
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
        return get_data(None, True)
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


def generate_release() -> None:
    import subprocess

    for name in ASSIGNMENTS:
        cmd = [sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force", "--log-level=WARN"]
        result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"nbgrader generate_assignment {name} failed:\n{result.stdout}\n{result.stderr}")
        print(f"      assignments/{name}/ regenerated from solutions/{name}/", flush=True)


def build(data_dir: str | None, synthetic: bool) -> int:
    t0 = time.time()
    with Step(1, "Getting CIFAR-10") as step:
        root, is_synthetic = get_data(data_dir, synthetic)
        kind = "a small SYNTHETIC dataset" if is_synthetic else "CIFAR-10"
        print(f"      using {kind} in {root / 'cifar-10-batches-py'}", flush=True)
    env = {"LINCLASS_DATA_DIR": str(root), "MPLBACKEND": "Agg"}
    if is_synthetic:
        env["LINCLASS_FAST"] = "1"

    key = _digest(ROOT / "solutions", ROOT / "linclass", str(root), is_synthetic)
    with Step(2, "Executing the solution notebooks", key) as step:
        if step.done_before():
            step.reuse("(build/executed/)")
        else:
            for name in ASSIGNMENTS:
                execute_notebook(ROOT / "solutions" / name / f"{name}.ipynb",
                                 BUILD / "executed" / f"{name}.ipynb", env)

    key = _digest(ROOT / "solutions", ROOT / "autograder" / "nbgrader_config.py", ROOT / "assignments")
    with Step(3, "Generating the student release in assignments/", key) as step:
        if step.done_before():
            step.reuse()
        else:
            generate_release()
            step.key = _digest(ROOT / "solutions", ROOT / "autograder" / "nbgrader_config.py",
                               ROOT / "assignments")

    from autograder import cli

    out = BUILD / "grading"
    with Step(4, "Autograding the sample submissions in autograder/samples/") as step:
        # The grader keeps its own record per submission, so a repeated run reuses it.
        code = cli.main(["run", str(ROOT / "autograder" / "samples" / "submitted"), "--out", str(out)])
        if code:
            return code

    with Step(5, "Where everything went"):
        print(f"      executed solutions: {BUILD / 'executed'}")
        print(f"      student release:    {ROOT / 'assignments'}")
        print(f"      grades (CSV):       {out / 'grades.csv'}")
        print(f"      class report:       {out / 'report.txt'} and {out / 'report.png'}")
        print(f"      feedback (HTML):    {out / 'feedback'}/<student>/<assignment>/")
    print(f"\nThe course is built ({time.time() - t0:.0f} s).")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build", help="build the course end to end and grade the samples")
    p.add_argument("--data-dir", help="folder holding or receiving cifar-10-batches-py")
    p.add_argument("--synthetic", action="store_true", help="use a small synthetic dataset")
    args = parser.parse_args(argv)
    return build(args.data_dir, args.synthetic)


if __name__ == "__main__":
    sys.exit(main())
