"""Gradescope: an autograder zip in Gradescope's documented layout, and what runs in it.

``linclass-grade gradescope --assignment svm`` writes ``build/gradescope/svm.zip`` holding,
at the root of the archive (Gradescope's "Autograder Specifications"):

    setup.sh             installs Python, bubblewrap and the pinned packages (once per image)
    run_autograder       grades /autograder/submission/ into /autograder/results/results.json
    linclass_gradescope.json   the assignment, the visibility of the results, the case secret
    requirements.txt     the packages and versions of the machine that built the zip
    course/source/<a>/<a>.ipynb, course/release/<a>/<a>.ipynb   the instructor's notebooks
    src/linclass/, src/autograder/   the kit, its answer key and the grader

Gradescope unpacks the zip into ``/autograder/source`` and runs ``run_autograder`` for each
submission, with the student's files in ``/autograder/submission``. ``run`` grades the one
notebook found there exactly as ``linclass-grade autograde`` does and writes
``results.json``: the score, one test per autograded part (score, max_score, status,
visibility, output naming the mistake), the named mistakes and notes in the top-level
output, and the grader's status in ``extra_data``. Written answers are not in it: they are
graded by hand on Gradescope (add them as manually graded questions), so the autograder's
points are the autograded parts only.

The answer key is in the zip: Gradescope's autograder is instructor-side, and each
submission runs in a fresh container that holds only this zip and that one submission.
Student code still runs in the bubblewrap sandbox when the container allows it (it needs
unprivileged user namespaces); when it does not, it runs unsandboxed inside that container,
and the instructor-only stdout and ``extra_data.sandboxed`` say so. A failed submission
(unreadable notebook, crash, timeout) gets a score of 0 on Gradescope, which needs a
number, with an output that says it was not graded and why and ``extra_data.status =
"failed"``: regrade it by hand there.

The root folder (``/autograder``) is ``--root`` or ``$GRADESCOPE_ROOT``, so tests run the
same script in a temporary folder laid out as Gradescope's.
"""
from __future__ import annotations

import json
import os
import secrets
import stat
import sys
import time
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from autograder.layout import CourseLayout
from autograder.results import PartResult, Status, SubmissionResult

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
"""Gradescope's visibility settings of results and tests."""
CONFIG = "linclass_gradescope.json"
PACKAGES = ("numpy", "matplotlib", "pillow", "tqdm", "threadpoolctl", "ipykernel", "nbformat", "nbclient",
            "nbconvert", "nbgrader")
"""What grading needs (pyproject's dependencies minus the lecture's widgets and Jupyter's
front ends); setup.sh installs them at the versions of the machine that built the zip."""

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image.
set -euo pipefail
apt-get install -y python3 python3-venv python3-pip bubblewrap
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --upgrade pip
/autograder/venv/bin/pip install -r /autograder/source/requirements.txt
/autograder/venv/bin/python -m ipykernel install --sys-prefix --name python3
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission. GRADESCOPE_ROOT (default /autograder) and
# LINCLASS_PYTHON (default the venv setup.sh made) let a test run it in a temporary folder.
set -u
ROOT="${GRADESCOPE_ROOT:-/autograder}"
PY="${LINCLASS_PYTHON:-$ROOT/venv/bin/python}"
export PYTHONPATH="$ROOT/source/src${PYTHONPATH:+:$PYTHONPATH}"
exec "$PY" -m autograder.gradescope run --root "$ROOT"
"""


# -- building the zip ---------------------------------------------------------------------

def _package_root(name: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"the package {name} is not installed; install linclass with its answer key")
    return Path(list(spec.submodule_search_locations)[0])


def _add_tree(zf: zipfile.ZipFile, folder: Path, arcname: str, skip: tuple[str, ...] = ()) -> None:
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part in ("__pycache__", ".ipynb_checkpoints") for part in rel.parts) or path.suffix == ".pyc":
            continue
        if rel.parts and rel.parts[0] in skip:
            continue
        if path.is_file():
            zf.write(path, f"{arcname}/{rel.as_posix()}")


def _script(zf: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = (stat.S_IFREG | 0o755) << 16
    zf.writestr(info, text)


def requirements() -> str:
    """requirements.txt: each package grading needs, at the version installed here."""
    lines = []
    for name in PACKAGES:
        try:
            lines.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            lines.append(name)
    return "\n".join(lines) + "\n"


def build(layout: CourseLayout, assignment: str, path: Path, visibility: str = "after_published") -> Path:
    """Write the Gradescope autograder zip of one assignment; return its path.

    layout: the course (its source and release notebooks); assignment: e.g. "svm";
    path: the zip to write; visibility: of the results and every test, one of VISIBILITIES
    ("after_published" by default: students see their results when the instructor
    publishes the grades). Raises ValueError for an unknown assignment or visibility.
    """
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}, got {visibility!r}")
    source, release = layout.source_notebook(assignment), layout.release_notebook(assignment)
    for what, nb in (("source", source), ("release", release)):
        if not nb.is_file():
            raise ValueError(f"assignment {assignment!r} has no {what} notebook at {nb}; "
                             f"pass --assignment one of {', '.join(layout.assignments()) or '(none found)'}")
    config = {"assignment": assignment, "visibility": visibility, "secret": secrets.token_hex(32)}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        _script(zf, "setup.sh", SETUP_SH)
        _script(zf, "run_autograder", RUN_AUTOGRADER)
        zf.writestr(CONFIG, json.dumps(config, indent=1))
        zf.writestr("requirements.txt", requirements())
        zf.write(source, f"course/source/{assignment}/{assignment}.ipynb")
        zf.write(release, f"course/release/{assignment}/{assignment}.ipynb")
        _add_tree(zf, _package_root("linclass"), "src/linclass")
        _add_tree(zf, _package_root("autograder"), "src/autograder", skip=("samples", "work"))
    os.replace(tmp, path)
    return path


# -- running on Gradescope ----------------------------------------------------------------

@dataclass
class Found:
    """The submission's notebook, or why there is none."""

    path: Path | None
    problem: str | None = None


def find_notebook(submission: Path, assignment: str) -> Found:
    """The notebook to grade in Gradescope's submission folder: ``<assignment>.ipynb``
    (anywhere below it), else the only .ipynb; otherwise a problem in plain words."""
    notebooks = sorted(p for p in Path(submission).rglob("*.ipynb")
                       if ".ipynb_checkpoints" not in p.parts and p.is_file())
    named = [p for p in notebooks if p.name == f"{assignment}.ipynb"]
    if len(named) == 1:
        return Found(named[0])
    if len(notebooks) == 1:
        return Found(notebooks[0])
    files = sorted(p.relative_to(submission).as_posix() for p in Path(submission).rglob("*") if p.is_file())
    if not notebooks:
        return Found(None, f"no notebook in the submission (files: {', '.join(files[:10]) or 'none'}); "
                           f"submit your {assignment}.ipynb")
    return Found(None, f"{len(notebooks)} notebooks and none is named {assignment}.ipynb "
                       f"({', '.join(files[:10])}); submit only your {assignment}.ipynb")


def results_json(result: SubmissionResult, visibility: str, seconds: float) -> dict[str, Any]:
    """Gradescope's results.json for one graded submission."""
    tests: list[dict[str, Any]] = []
    for number, (gid, part) in enumerate(result.parts.items(), 1):
        if part.manual:
            continue  # written answers are graded by hand on Gradescope
        failed = result.status == Status.FAILED
        output = (f"not graded: {result.reason}" if failed
                  else part.message + (f"\nLikely mistake: {part.mistake}" if part.mistake else ""))
        tests.append({
            "name": f"{gid}: {part.checked}" if part.checked else gid,
            "number": str(number),
            "score": 0.0 if failed else float(part.points),
            "max_score": float(part.max_points),
            "status": "passed" if not failed and part.points >= part.max_points else "failed",
            "output": output,
            "visibility": visibility,
        })
    score = 0.0 if result.status == Status.FAILED else float(sum(t["score"] for t in tests))
    max_score = float(sum(t["max_score"] for t in tests))
    lines = []
    if result.status == Status.FAILED:
        lines.append(f"Your notebook could not be graded automatically: {result.reason}. The 0 shown is "
                     "not a grade: your instructor has been told and will grade it by hand.")
    else:
        lines.append(f"Autograded parts: {score:g} of {max_score:g} points.")
        written = sum(p.max_points for p in result.parts.values() if p.manual)
        if written:
            lines.append(f"Your written answers ({written:g} points) are graded separately by your instructor.")
        if result.status == Status.FLAGGED:
            lines.append("Your instructor will also look at this submission before the grade is final.")
    if result.mistakes:
        lines.append("Mistakes we recognized:\n" + "\n".join(f"- {m}" for m in result.mistakes))
    if result.notes:
        lines.append("Notes:\n" + "\n".join(f"- {n}" for n in result.notes))
    return {
        "score": score,
        "execution_time": round(seconds, 1),
        "output": "\n\n".join(lines),
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"status": str(result.status), "reason": result.reason, "flags": result.flags,
                       "mistake_keys": result.mistake_keys, "sandboxed": result.sandboxed},
    }


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


def run(root: Path) -> dict[str, Any]:
    """Grade Gradescope's submission under root and write root/results/results.json.

    root: Gradescope's folder (``/autograder``): source/ (this zip unpacked), submission/
    (the student's files), results/ (written here). Returns what was written.
    """
    from autograder import sandbox
    from autograder.grade import grade_submission
    from autograder.notebook import graded_parts, read_notebook

    t0 = time.monotonic()
    root = Path(root)
    config = json.loads((root / "source" / CONFIG).read_text())
    assignment, visibility = config["assignment"], config.get("visibility", "after_published")
    course = root / "source" / "course"
    layout = CourseLayout(root=course, source=course / "source", release=course / "release",
                          out=root / "linclass")
    work = layout.work
    work.mkdir(parents=True, exist_ok=True)
    secret = work / ".case-secret"
    if config.get("secret") and not secret.exists():  # the same cases on every regrade
        secret.write_text(config["secret"])
        secret.chmod(0o600)
    problem = sandbox.sandbox_problem()
    if problem is not None:
        print(f"linclass: bubblewrap does not work in this container ({problem}); student code runs "
              "unsandboxed inside Gradescope's container, which holds only this submission.", flush=True)
        os.environ[sandbox.UNSANDBOXED_WARNED_ENV] = "1"
    found = find_notebook(root / "submission", assignment)
    grade_config = layout.grade_config(limits=sandbox.Limits(cell_timeout=120.0, total_timeout=900.0),
                                       call_timeout=20.0, probe_timeout=120.0)
    if found.path is None:
        parts = graded_parts(read_notebook(layout.source_notebook(assignment)))
        table = {p["grade_id"]: PartResult(p["grade_id"], 0.0, p["points"], "not graded",
                                           manual=p["kind"] == "manual") for p in parts}
        result = SubmissionResult("gradescope", assignment, Status.FAILED, found.problem, table, {}, [], [],
                                  0.0, sum(p["points"] for p in parts), 0.0, problem is None)
    else:
        result = grade_submission(found.path, assignment, "gradescope", grade_config)
    data = results_json(result, visibility, time.monotonic() - t0)
    _write_json(root / "results" / "results.json", data)
    shown = "" if result.status == Status.FAILED else f" {result.score:g}/{result.max_score:g}"
    print(f"linclass: {assignment}: {result.status}{shown}" + (f" ({result.reason})" if result.reason else ""),
          flush=True)
    return data


def main(argv: list[str] | None = None) -> int:
    """``python -m autograder.gradescope run [--root DIR]``: what run_autograder calls."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m autograder.gradescope")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="grade Gradescope's submission folder into results/results.json")
    p.add_argument("--root", default=os.environ.get("GRADESCOPE_ROOT", "/autograder"),
                   help="Gradescope's folder (default $GRADESCOPE_ROOT or /autograder)")
    args = parser.parse_args(argv)
    run(Path(args.root))
    return 0


if __name__ == "__main__":
    sys.exit(main())
