"""Read a submission safely and rebuild the notebook to grade from the source's structure.

A student's notebook is never run as submitted. The notebook that is run takes every test
cell and every read-only cell from the instructor's source notebook, and only the answer
(solution) cells from the student, matched by nbgrader ``grade_id``. So a test cell that
was edited, deleted, duplicated, retyped or stripped of its metadata changes nothing, and a
cell the student added with grading metadata (a fake 100-point test) is dropped and flagged.
"""
from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from autograder.harness.calls import strip_magics
from autograder.rubric import is_rubric

MAX_NOTEBOOK_BYTES = 50_000_000


class InvalidNotebook(ValueError):
    """The submission cannot be read as an nbformat 4 notebook; the message says why."""


def nbgrader_meta(cell) -> dict:
    metadata = cell.get("metadata", {})
    meta = metadata.get("nbgrader", {}) if isinstance(metadata, dict) else {}
    return meta if isinstance(meta, dict) else {}


def grade_id(cell) -> str | None:
    """The cell's nbgrader grade_id when it is a short text, else None (a list, a number or a
    huge string in a student's metadata is not an id)."""
    gid = nbgrader_meta(cell).get("grade_id")
    return gid if isinstance(gid, str) and 0 < len(gid) <= 200 else None


def cell_kind(cell) -> str:
    """One of "solution", "manual", "test", "task", "readonly", "plain"."""
    meta = nbgrader_meta(cell)
    if meta.get("task"):
        return "task"
    if meta.get("solution") and meta.get("grade"):
        return "solution" if cell.get("cell_type") == "code" else "manual"
    if meta.get("solution"):
        return "solution"
    if meta.get("grade"):
        return "test"
    if meta.get("locked"):
        return "readonly"
    return "plain"


def read_notebook(path: Path):
    """Read a notebook file strictly.

    path: Path to a .ipynb file.
    Returns an nbformat NotebookNode (version 4).
    Raises InvalidNotebook with a plain-words reason: too large, not UTF-8, not JSON,
    not nbformat 4, or without cells.
    """
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise InvalidNotebook(f"the notebook is {size} bytes, more than the {MAX_NOTEBOOK_BYTES} allowed")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InvalidNotebook(f"the file is not UTF-8 text (byte {err.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidNotebook(f"the file is not valid JSON ({err.msg} at line {err.lineno})") from None
    except RecursionError:
        raise InvalidNotebook("the file's JSON is nested too deeply to be a notebook") from None
    if not isinstance(data, dict):
        raise InvalidNotebook("the file is JSON but not a notebook (no top-level object)")
    major = data.get("nbformat")
    if major != 4:
        raise InvalidNotebook(f"the notebook is nbformat {major}; only nbformat 4 is accepted "
                              "(re-save it with Jupyter 4 or newer)")
    cells = data.get("cells")
    if not isinstance(cells, list) or not cells:
        raise InvalidNotebook("the notebook has no cells")
    try:
        nb = nbformat.reads(text, as_version=4)
    except RecursionError:
        raise InvalidNotebook("the notebook's metadata is nested too deeply") from None
    except Exception as err:  # nbformat raises several kinds for malformed cells
        raise InvalidNotebook(f"the notebook is malformed ({type(err).__name__}: {str(err)[:200]})") from None
    for cell in nb.cells:
        if not isinstance(cell.get("source"), str):
            raise InvalidNotebook("a cell's source is not text")
    return nb


BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def strip_hidden_tests(text: str) -> str:
    """The text of a test cell without its hidden tests (nbgrader's markers, inclusive).

    An unclosed block is dropped to the end of the cell, as nbgrader's ClearHiddenTests does.
    """
    kept, hidden = [], False
    for line in text.splitlines():
        if line.strip() == BEGIN_HIDDEN:
            hidden = True
        elif line.strip() == END_HIDDEN and hidden:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept).rstrip() + ("\n" if text.endswith("\n") else "")


def _digest(text: str) -> str:
    return hashlib.sha256(text.strip().encode()).hexdigest()


def _checksum_intact(cell) -> bool:
    """True when the cell still matches the checksum nbgrader stored in it at release time.

    A release regenerated after students downloaded it (a typo fixed in a test) changes
    the text without any student editing it; the checksum tells the two apart.
    """
    from nbgrader.utils import compute_checksum

    stored = nbgrader_meta(cell).get("checksum")
    try:
        return bool(stored) and compute_checksum(cell) == stored
    except Exception:  # malformed metadata: treat as edited
        return False


@dataclass
class Rebuilt:
    """The notebook to run, and what was found while building it.

    notebook: NotebookNode, source structure with the student's answer cells.
    answers: dict grade_id -> str, the student's answer cells (code and markdown).
    answered: dict grade_id -> bool, False where the answer is missing or still the release's.
    flags: list of str, findings a human should look at (tampering suspected).
    notes: list of str, findings that change nothing but the student should know.
    """
    notebook: Any  # an nbformat NotebookNode
    answers: dict = field(default_factory=dict)
    answered: dict = field(default_factory=dict)
    flags: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def code_answers(self) -> dict[str, str]:
        """grade_id -> the student's text, for the answer cells that are code, in notebook order."""
        kinds = {grade_id(c): c.get("cell_type") for c in self.notebook.cells}
        return {gid: text for gid, text in self.answers.items() if kinds.get(gid) == "code"}

    def visible_notebook(self):
        """A copy of the notebook whose test cells hold only their visible tests.

        This is the notebook that runs in the grading sandbox: the hidden tests are checked
        by the grader in its own process and never enter the sandbox.
        """
        nb = nbformat.from_dict(json.loads(json.dumps(self.notebook)))
        for cell in nb.cells:
            if cell_kind(cell) == "test" and cell.get("cell_type") == "code":
                cell.source = strip_hidden_tests(cell.source)
        return nb


def _by_grade_id(nb) -> dict:
    """grade_id -> cell, for the cells of nb that have one (the first of duplicates)."""
    out = {}
    for cell in nb.cells if nb is not None else []:
        gid = grade_id(cell)
        if gid and gid not in out:
            out[gid] = cell
    return out


def _student_cells(student_nb, source_by_id, release_cells, source_nb, flags, notes) -> dict:
    """The student's cells that belong to the assignment, by grade_id; notes what else is there."""
    chosen: dict[str, object] = {}
    counts: dict[str, int] = {}
    test_texts = {_digest(c.source): gid for gid, c in release_cells.items()
                  if cell_kind(c) == "test" and c.source.strip()}
    plain_texts = {_digest(c.source) for c in source_nb.cells if not grade_id(c)}
    extra_cells = 0
    for cell in student_nb.cells:
        gid = grade_id(cell)
        if not gid:
            if cell.get("cell_type") == "code" and _digest(cell.source) in test_texts:
                notes.append(f"test cell {test_texts[_digest(cell.source)]} lost its grading "
                             "metadata; the original test was run instead")
            elif (cell.get("cell_type") == "code" and cell.source.strip()
                  and _digest(cell.source) not in plain_texts):
                extra_cells += 1
            continue
        counts[gid] = counts.get(gid, 0) + 1
        if gid not in source_by_id:
            if nbgrader_meta(cell).get("grade"):
                points = nbgrader_meta(cell).get("points")
                flags.append(f"a cell claims to be graded ({gid!r}, {points} points) but is not in the "
                             "assignment; it was dropped")
            else:
                notes.append(f"cell {gid!r} is not part of the assignment and was not run")
            continue
        if counts[gid] == 1:
            chosen[gid] = cell
    for gid, n in counts.items():
        if n > 1 and gid in source_by_id:
            flags.append(f"graded cell {gid!r} appears {n} times; only the first copy was used")
    if extra_cells:
        notes.append(f"{extra_cells} code cell(s) you added were not run; only the answer cells are graded")
    return chosen


def _fresh_copy(cell):
    new = nbformat.from_dict(json.loads(json.dumps(cell)))
    if new.cell_type == "code":
        new.outputs, new.execution_count = [], None
    return new


def _answer_cell(cell, gid, theirs, stub, flags, notes):
    """The source's answer cell holding the student's text; returns (cell, text, answered)."""
    if theirs is not None and theirs.get("cell_type") != cell.get("cell_type"):
        flags.append(f"answer cell {gid!r} was changed from {cell.cell_type} to "
                     f"{theirs.cell_type}; its text was still used")
    if theirs is None:
        notes.append(f"answer cell {gid!r} is missing; it was graded as unanswered")
    new = _fresh_copy(cell)
    if theirs is not None:
        text = theirs.source
    elif stub is not None:
        text = stub.source
    else:
        text = "raise NotImplementedError('this answer cell is missing')" if cell.cell_type == "code" else ""
    new.source = text
    answered = theirs is not None and (stub is None or _digest(text) != _digest(stub.source))
    return new, text, answered


def _check_test_cell(cell, gid, theirs, original, flags, notes) -> None:
    """Note what the student did to a test cell; the source's own test runs whatever it was."""
    if theirs is None:
        notes.append(f"test cell {gid!r} was deleted; the original test was run")
        return
    if theirs.get("cell_type") != cell.get("cell_type"):
        flags.append(f"test cell {gid!r} was retyped to {theirs.cell_type}; the original was run")
    elif (_digest(theirs.source) not in (_digest(original.source), _digest(cell.source))
          and not _checksum_intact(theirs)):
        flags.append(f"test cell {gid!r} was edited; the original test was run")
    their_points = nbgrader_meta(theirs).get("points")
    if their_points != nbgrader_meta(cell).get("points"):
        flags.append(f"test cell {gid!r} claims {their_points} points instead of "
                     f"{nbgrader_meta(cell).get('points')}; the original was used")


def rebuild(student_nb, source_nb, release_nb=None) -> Rebuilt:
    """Rebuild the notebook to grade.

    student_nb, source_nb, release_nb: NotebookNode (release_nb may be None; it supplies
    the stub for a missing answer and tells an untouched answer from a written one).
    """
    release_cells = _by_grade_id(release_nb)
    source_by_id = _by_grade_id(source_nb)
    flags: list[str] = []
    notes: list[str] = []
    theirs_by_id = _student_cells(student_nb, source_by_id, release_cells, source_nb, flags, notes)

    cells, answers, answered = [], {}, {}
    for cell in source_nb.cells:
        if is_rubric(cell):
            continue  # the instructor's rubric never enters the sandbox (formgrader gets it elsewhere)
        kind = cell_kind(cell)
        gid = grade_id(cell)
        if kind in ("solution", "manual") and gid:
            new, answers[gid], answered[gid] = _answer_cell(cell, gid, theirs_by_id.get(gid),
                                                            release_cells.get(gid), flags, notes)
            cells.append(new)
            continue
        if kind == "test" and gid:
            _check_test_cell(cell, gid, theirs_by_id.get(gid), release_cells.get(gid, cell), flags, notes)
        cells.append(_fresh_copy(cell))
    out = nbformat.v4.new_notebook(cells=cells, metadata=json.loads(json.dumps(source_nb.metadata)))
    return Rebuilt(out, answers, answered, flags, notes)


def graded_parts(source_nb) -> list[dict]:
    """The graded parts of a source notebook, in order.

    Returns a list of dicts {"grade_id", "points" (float), "kind": "test" | "manual"}.
    """
    parts = []
    for cell in source_nb.cells:
        meta = nbgrader_meta(cell)
        kind = cell_kind(cell)
        if meta.get("grade_id") and kind in ("test", "manual", "task") or (
                kind == "solution" and meta.get("grade")):
            parts.append({"grade_id": meta["grade_id"], "points": float(meta.get("points", 0) or 0),
                          "kind": "test" if kind == "test" else "manual",
                          "cell_type": cell.cell_type})
    return parts


def setup_imports(source_nb) -> list[str]:
    """The import statements of the source notebook's non-answer code cells, in order.

    The probe runs these before the student's answer cells so that names like np exist,
    without running any data loading or training.
    """
    stmts = []
    for cell in source_nb.cells:
        if cell.cell_type != "code" or cell_kind(cell) in ("solution", "test"):
            continue
        try:
            tree = ast.parse(strip_magics(cell.source))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                stmt = ast.unparse(node)
                if stmt not in stmts:
                    stmts.append(stmt)
    return stmts


def in_kernel_results(executed_nb, parts: list[dict]) -> dict[str, dict]:
    """What the student's kernel reported per test cell.

    executed_nb: the executed notebook read back from the sandbox (untrusted).
    Returns grade_id -> {"passed": bool, "ran": bool, "error": str | None}.
    """
    wanted = {p["grade_id"] for p in parts if p["kind"] == "test"}
    results: dict[str, dict] = {}
    for cell in executed_nb.cells:
        gid = grade_id(cell)
        if gid is None or gid not in wanted or cell.get("cell_type") != "code" or gid in results:
            continue
        outputs = cell.get("outputs", [])
        error = next((o for o in outputs if o.get("output_type") == "error"), None)
        ran = cell.get("execution_count") is not None or bool(outputs)
        results[gid] = {"passed": ran and error is None, "ran": ran,
                        "error": None if error is None else f"{error.get('ename')}"}
    return results
