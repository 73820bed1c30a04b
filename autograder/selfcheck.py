"""The student's check before submitting.

    linclass-grade selfcheck svm.ipynb            # integrity, then run the visible tests
    linclass-grade selfcheck svm.ipynb --no-run   # integrity only, in a second

It reports whether the graded cells are intact compared with the release (none deleted,
duplicated, retyped or edited), runs the notebook to report each visible test, and
reminds that hidden tests run at grading time. It exits 1 when anything is wrong and 0
when all is well, unlike ``nbgrader validate``, which exits 0 either way (nbgrader
issue 1908).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from autograder.notebook import InvalidNotebook, cell_kind, grade_id, read_notebook


@dataclass
class SelfCheck:
    """The outcome: problems make it fail; info lines are for reading."""
    problems: list = field(default_factory=list)
    info: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _digest(text: str) -> str:
    return hashlib.sha256(text.strip().encode()).hexdigest()


def check_integrity(student_nb, release_nb) -> list[str]:
    """Problems with the graded cells of student_nb compared with release_nb (empty: intact)."""
    problems = []
    release = {}
    for cell in release_nb.cells:
        gid = grade_id(cell)
        if gid:
            release[gid] = cell
    seen: dict[str, list] = {}
    for cell in student_nb.cells:
        gid = grade_id(cell)
        if gid:
            seen.setdefault(gid, []).append(cell)
    for gid, cell in release.items():
        kind = cell_kind(cell)
        mine = seen.get(gid, [])
        if not mine:
            problems.append(f"graded cell {gid!r} is missing (deleted, or its metadata was removed); "
                            "copy it back from the release")
            continue
        if len(mine) > 1:
            problems.append(f"graded cell {gid!r} appears {len(mine)} times; keep only one")
        if mine[0].cell_type != cell.cell_type:
            problems.append(f"graded cell {gid!r} was changed from {cell.cell_type} to {mine[0].cell_type}")
        elif kind in ("test", "readonly") and _digest(mine[0].source) != _digest(cell.source):
            problems.append(f"the {'test' if kind == 'test' else 'read-only'} cell {gid!r} was edited; "
                            "restore it from the release")
    for gid in seen:
        if gid not in release:
            problems.append(f"cell {gid!r} has grading metadata but is not part of the assignment")
    return problems


def run_visible_tests(path: Path, timeout: float, fast: bool) -> tuple[list[str], list[str]]:
    """Execute the notebook; return (problems, info) about its test and answer cells."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    env_before = dict(os.environ)
    if fast:
        os.environ["LINCLASS_FAST"] = "1"
    os.environ.setdefault("MPLBACKEND", "Agg")
    problems, info = [], []
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": str(path.parent)}})
        client.execute()
    except CellTimeoutError:
        problems.append(f"a cell ran longer than {timeout:g} s; grading uses a similar limit")
    except DeadKernelError as err:
        problems.append(f"the kernel died while running the notebook ({err})")
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    for cell in nb.cells:
        gid = grade_id(cell)
        if cell.cell_type != "code" or not gid:
            continue
        kind = cell_kind(cell)
        error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
        if kind == "test":
            if not cell.source.strip():
                info.append(f"test {gid!r} is entirely hidden: it runs at grading time")
            elif error is not None:
                problems.append(f"visible test {gid!r} fails: {error.get('ename')}: {str(error.get('evalue'))[:300]}")
            elif cell.get("execution_count") is None:
                problems.append(f"visible test {gid!r} did not run")
            else:
                info.append(f"visible test {gid!r} passes")
        elif kind == "solution" and error is not None:
            problems.append(f"answer cell {gid!r} raises {error.get('ename')}: {str(error.get('evalue'))[:300]}")
    return problems, info


def selfcheck(path: Path, release_path: Path, run: bool = True, timeout: float = 600.0,
              fast: bool = False) -> SelfCheck:
    """Check one notebook before submitting it.

    path: the student's .ipynb; release_path: the release notebook it came from.
    run: execute it and report the visible tests; timeout: seconds per cell;
    fast: set LINCLASS_FAST=1 (few iterations) for the run.
    """
    result = SelfCheck()
    try:
        student_nb = read_notebook(Path(path))
    except InvalidNotebook as err:
        result.problems.append(f"{Path(path).name} cannot be graded: {err}")
        return result
    except OSError as err:
        result.problems.append(f"cannot read {path}: {err.strerror}")
        return result
    release_nb = read_notebook(Path(release_path))
    integrity = check_integrity(student_nb, release_nb)
    result.problems += integrity
    if not integrity:
        result.info.append("graded cells are intact: none deleted, duplicated, retyped or edited")
    if run:
        problems, info = run_visible_tests(Path(path), timeout, fast)
        result.problems += problems
        result.info += info
    result.info.append("hidden tests are not in your copy: they run when your notebook is graded, "
                       "so passing the visible tests does not guarantee full marks")
    return result
