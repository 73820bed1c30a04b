"""The self-check before submitting, with the release at hand (``linclass-grade selfcheck``).

    linclass-grade selfcheck svm.ipynb            # integrity, then the student's self-check
    linclass-grade selfcheck svm.ipynb --no-run   # integrity and the cells as read, in a second

Students run the same check from the kit, ``python -m linclass.selfcheck svm.ipynb``
(``linclass.selfcheck``): it runs the notebook (on CIFAR-10, or a synthetic stand-in when
none is found), scores every graded part on the visible inputs the way the grader does,
names a known mistake from the stored numbers, lists empty written answers and stubs, and
exits 1 on any problem. This wrapper adds what needs the release notebook: whether the
graded cells are intact (none deleted, duplicated, retyped or edited). Unlike
``nbgrader validate``, which exits 0 either way (nbgrader issue 1908), it exits 1 when
anything is wrong.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from autograder.notebook import InvalidNotebook, cell_kind, grade_id, read_notebook
from linclass import selfcheck as kit_selfcheck


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


def selfcheck(path: Path, release_path: Path, run: bool = True, timeout: float = 600.0,
              fast: bool = False) -> kit_selfcheck.Report:
    """Check one notebook before submitting it: integrity against the release, then the kit's check.

    path: the student's .ipynb; release_path: the release notebook it came from.
    run: execute it and score each graded part on the visible inputs; timeout: seconds per
    cell; fast: set LINCLASS_FAST=1 (few iterations) for the run.
    Returns a linclass.selfcheck.Report; ``report.ok`` is False on any problem.
    """
    try:
        student_nb = read_notebook(Path(path))
    except InvalidNotebook as err:
        return kit_selfcheck.Report(problems=[f"{Path(path).name} cannot be graded: {err}"])
    except OSError as err:
        return kit_selfcheck.Report(problems=[f"cannot read {path}: {err.strerror}"])
    integrity = check_integrity(student_nb, read_notebook(Path(release_path)))
    report = kit_selfcheck.selfcheck(Path(path), run=run, timeout=timeout, fast=fast)
    report.problems[:0] = integrity
    if not integrity:
        report.notes.insert(0, "graded cells are intact: none deleted, duplicated, retyped or edited")
    return report
