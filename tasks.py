#!/usr/bin/env python3
"""The linclass task runner. Standard library only, so it runs before anything is installed.

    python3 tasks.py build     # set up, then build the course end to end and grade the samples
    python3 tasks.py test      # set up, then run the whole test suite
    python3 tasks.py lint      # set up, then ruff (lint and import order) and mypy (the grader)
    python3 tasks.py bench     # set up, then run every speed benchmark side by side
    python3 tasks.py release   # set up, then build the student release: dist/student/ and dist/student.zip
    python3 tasks.py samples   # set up, then regenerate autograder/samples/submitted/
    python3 tasks.py slides    # set up, then build the lecture as offline slides: build/slides/
    python3 tasks.py setup     # only create .venv and install linclass with its extras

Set-up makes a virtual environment in `.venv/` inside the repository and installs this
package into it in editable mode. It is skipped when `pyproject.toml` has not changed
since the last install, so a repeated run starts at once.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BUILD = ROOT / "build"
DIST = ROOT / "dist"
# One set of extras for everyday work (so test, lint and build share one install); the
# benchmarks add scikit-learn.
EXTRAS = {"build": "test,scale,lint", "test": "test,scale,lint", "lint": "test,scale,lint",
          "bench": "test,scale,lint,bench", "setup": "test,scale,lint", "release": "test,scale,lint"}


def say(msg: str) -> None:
    print(f"[tasks] {msg}", flush=True)


def venv_bin(name: str) -> Path:
    sub = "Scripts" if os.name == "nt" else "bin"
    return VENV / sub / name


def setup(extras: str) -> Path:
    """Create .venv and install linclass[extras]; skip when nothing changed."""
    if sys.version_info < (3, 10):
        sys.exit("linclass needs Python 3.10 or newer; this is " + sys.version.split()[0])
    python = venv_bin("python")
    if not python.exists():
        say(f"creating the virtual environment in {VENV.relative_to(ROOT)}/")
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    key = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    stamp = VENV / ".linclass-installed"
    installed = stamp.read_text().split() if stamp.exists() else []
    if key not in installed:
        say(f"installing linclass[{extras}] and its dependencies (first time only, a few minutes)")
        t0 = time.time()
        # pip's output is kept for a failure only: a clean install prints one line.
        result = subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check",
                                 "-e", f".[{extras}]"], cwd=ROOT, capture_output=True, text=True)
        if result.returncode != 0:
            print(result.stdout[-5000:], result.stderr[-5000:], sep="\n", file=sys.stderr)
            sys.exit(f"[tasks] installing linclass[{extras}] failed (pip exit {result.returncode}); "
                     "see pip's output above. You need network access to the package index.")
        stamp.write_text(" ".join(installed + [key]))
        say(f"installed in {time.time() - t0:.0f} s")
    return python


def data_env() -> dict:
    """Environment for child processes: the venv first on PATH."""
    env = dict(os.environ)
    env["PATH"] = str(venv_bin("python").parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("MPLBACKEND", "Agg")
    return env


def cmd_test(args) -> int:
    python = setup(EXTRAS["test"])
    pytest_args = list(args.pytest_args)
    say("running the test suite: pytest " + " ".join(pytest_args))
    return subprocess.call([str(python), "-m", "pytest", *pytest_args], cwd=ROOT, env=data_env())


def cmd_build(args) -> int:
    python = setup(EXTRAS["build"])
    cmd = [str(python), "-m", "autograder.course", "build"]
    if args.data_dir:
        cmd += ["--data-dir", args.data_dir]
    if args.synthetic:
        cmd += ["--synthetic"]
    if args.allow_unsandboxed:
        cmd += ["--allow-unsandboxed"]
    return subprocess.call(cmd, cwd=ROOT, env=data_env())


def cmd_bench(args) -> int:
    python = setup(EXTRAS["bench"])
    return subprocess.call([str(python), str(ROOT / "benchmarks" / "run.py"), *args.bench_args],
                           cwd=ROOT, env=data_env())


def cmd_lint(args) -> int:
    setup(EXTRAS["lint"])
    bin_dir = venv_bin("python").parent
    code = 0
    for name, cmd in (("ruff", [str(bin_dir / "ruff"), "check", "."]), ("mypy", [str(bin_dir / "mypy")])):
        say(f"{name}: {' '.join(cmd[1:]) or '(the settings in pyproject.toml)'}")
        code = subprocess.call(cmd, cwd=ROOT, env=data_env()) or code
    return code


def cmd_samples(args) -> int:
    python = setup(EXTRAS["setup"])
    return subprocess.call([str(python), str(ROOT / "tools" / "make_samples.py"), "--root", str(ROOT)],
                           cwd=ROOT, env=data_env())


def cmd_release(args) -> int:
    python = setup(EXTRAS["release"])
    return subprocess.call([str(python), str(ROOT / "tools" / "release.py"), "--out", args.out or str(DIST)],
                           cwd=ROOT, env=data_env())


def cmd_slides(args) -> int:
    python = setup(EXTRAS["setup"])
    cmd = [str(python), str(ROOT / "lectures" / "slides" / "build.py"), "--out", args.out or str(BUILD / "slides")]
    if args.fast:
        cmd += ["--fast"]
    return subprocess.call(cmd, cwd=ROOT, env=data_env())


def cmd_setup(args) -> int:
    setup(EXTRAS["setup"])
    say(f"ready: activate with `source {VENV.relative_to(ROOT)}/bin/activate`")
    return 0


def cmd_clean(args) -> int:
    for path in (BUILD, DIST, VENV if args.venv else None):
        if path and path.exists():
            say(f"removing {path.relative_to(ROOT)}/")
            shutil.rmtree(path)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="task", required=True)
    p = sub.add_parser("build", help="set up, build the course end to end, grade the sample submissions")
    p.add_argument("--data-dir", help="folder holding (or to receive) cifar-10-batches-py; "
                   "default: $LINCLASS_DATA_DIR, else the cache folder")
    p.add_argument("--synthetic", action="store_true",
                   help="use a small synthetic CIFAR-10 instead of the real one (fast, accuracies meaningless)")
    p.add_argument("--allow-unsandboxed", action="store_true",
                   help="grade the samples even without a working bubblewrap (student code then runs unsandboxed)")
    p.set_defaults(func=cmd_build)
    p = sub.add_parser("test", help="set up, then run the whole test suite (extra args go to pytest)")
    p.add_argument("pytest_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_test)
    p = sub.add_parser("bench", help="set up, then run every benchmark (extra args go to benchmarks/run.py)")
    p.add_argument("bench_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_bench)
    p = sub.add_parser("lint", help="set up, then run ruff and mypy with the settings in pyproject.toml")
    p.set_defaults(func=cmd_lint)
    p = sub.add_parser("samples", help="set up, then regenerate the sample submissions (tools/make_samples.py)")
    p.set_defaults(func=cmd_samples)
    p = sub.add_parser("release", help="set up, then build the student release (README, notebooks, wheel) "
                       "in dist/student/ and dist/student.zip")
    p.add_argument("--out", help="output folder (default: dist/)")
    p.set_defaults(func=cmd_release)
    p = sub.add_parser("slides", help="set up, then build the walkthrough as slides that work offline "
                       "(build/slides/walkthrough.slides.html; needs npm the first time)")
    p.add_argument("--out", help="output folder (default: build/slides/)")
    p.add_argument("--fast", action="store_true", help="train on fewer images for fewer steps (a preview)")
    p.set_defaults(func=cmd_slides)
    p = sub.add_parser("setup", help="only create .venv and install linclass")
    p.set_defaults(func=cmd_setup)
    p = sub.add_parser("clean", help="remove build/ and dist/ (and .venv/ with --venv)")
    p.add_argument("--venv", action="store_true")
    p.set_defaults(func=cmd_clean)
    # argparse's REMAINDER drops a leading option such as `bench --quick` or `test -k x`:
    # hand whatever it did not recognise to the command that passes arguments through.
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        if args.task == "bench":
            args.bench_args = unknown + list(args.bench_args)
        elif args.task == "test":
            args.pytest_args = unknown + list(args.pytest_args)
        else:
            parser.error("unrecognized arguments: " + " ".join(unknown))
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
