"""Where results are kept: one JSON record per submission, and nbgrader's gradebook.

The JSON records make grading resumable. Each is written atomically (a temporary file,
flushed, then renamed), right after its submission is graded, so an interrupted run loses
at most the submissions that were still being graded; a re-run skips every submission
whose record exists for the same notebook content (a changed notebook is graded again).

The gradebook (``nbgrader.api.Gradebook``, a SQLite file) is the course's one gradebook:
the grader writes its automatic scores into it (``record``) and formgrader writes the
grades a person gives (written answers, score overrides, extra credit, comments). The two
never overwrite each other: ``record`` sets only ``auto_score``, ``auto_comment``,
``needs_manual_grade`` and the submission's time, late penalty and flag, never
``manual_score``, ``extra_credit`` or ``manual_comment``. ``manual_grades`` and
``with_manual_grades`` read a person's grades back for export, feedback and the report.

``record`` also writes nbgrader's autograded notebook (``autograded/<student>/<a>/<a>.ipynb``),
which formgrader shows to the person grading: the student's answers in the source's
structure, the visible tests, and the rubric of every written answer (cells tagged
``rubric`` in the source, see ``autograder.rubric``). nbgrader's ``generate_feedback`` strips
the rubric again (``autograder/nbgrader_config.py``).

The gradebook is written only from the grader's main process, never from a worker and
never from the sandbox, so it stays consistent whatever a submission does.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.notebook import grade_id, graded_parts
from autograder.results import PartResult, Status, SubmissionResult
from autograder.rubric import is_rubric, rubric_cells

NEEDS_PERSON = "needs manual grading"
"""PartResult.message of a written answer that waits for a person (autograder.grade)."""
NOT_ANSWERED = "not answered"
"""PartResult.message of a written answer left as released (autograder.grade)."""
NBGRADER_FILES = ("timestamp.txt", "submission_secret.txt")
"""What nbgrader's collect keeps next to a submitted notebook and its autograde copies to
the autograded folder (release_feedback needs both)."""
BY_HAND = "graded by your instructor"
"""PartResult.message of a written answer once a person has graded it in formgrader."""


def waits_for_person(part: PartResult) -> bool:
    """True for a part a person must still grade: a written answer (or a test the grader
    cannot verify) that nobody has scored in formgrader yet."""
    return part.manual and part.message != NOT_ANSWERED and not part.message.startswith(BY_HAND)




def file_digest(path: Path) -> str:
    """sha256 of a file's bytes (the record remembers which notebook it graded)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class ResultStore:
    """Per-submission records under root/<assignment>/<student>.json."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, assignment: str, student: str) -> Path:
        return self.root / assignment / f"{student}.json"

    def load(self, assignment: str, student: str, digest: str | None = None) -> SubmissionResult | None:
        """The stored result, or None when missing, unreadable or for another notebook digest."""
        path = self.path(assignment, student)
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        if digest is not None and data.get("digest") != digest:
            return None
        try:
            return SubmissionResult.from_dict(data["result"])
        except (KeyError, TypeError):
            return None

    def save(self, result: SubmissionResult, digest: str | None) -> Path:
        path = self.path(result.assignment, result.student)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        with os.fdopen(fd, "w") as fh:
            json.dump({"digest": digest, "result": result.to_dict()}, fh, indent=1)  # parts keep notebook order
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return path

    def all(self) -> list[SubmissionResult]:
        out = []
        for path in sorted(self.root.glob("*/*.json")):
            res = self.load(path.parent.name, path.stem)
            if res is not None:
                out.append(res)
        return out



def _with_rubrics(nb, source_nb):
    """nb with each rubric of source_nb right after the cell it belongs to (once)."""
    import nbformat

    rubrics = rubric_cells(source_nb)
    present = {c.source for c in nb.cells if is_rubric(c)}
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        for rubric in rubrics.get(grade_id(cell) or "", []):
            if rubric.source not in present:
                copy = nbformat.from_dict(json.loads(json.dumps(rubric)))
                copy.pop("id", None)
                cells.append(copy)
                present.add(rubric.source)
    nb.cells = cells
    return nb


# -- writing the grader's scores --------------------------------------------------------

@contextlib.contextmanager
def _gradebook(db_path: Path) -> Iterator[Any]:
    """nbgrader's Gradebook on db_path, quietly (nbgrader warns about autoflush)."""
    from nbgrader.api import Gradebook

    # A new gradebook runs the `alembic` command, installed next to this Python; when the
    # grader is started as .venv/bin/python without an activated venv it is not on PATH.
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Gradebook(f"sqlite:///{Path(db_path)}") as gb:
            yield gb


_CELLS_READY: set[tuple[str, str]] = set()
"""(gradebook, assignment) pairs whose cells this process has put in place already."""


def _ensure_cells(db_path: Path, assignment: str, source_nb, release_nb=None) -> None:
    """Put the assignment's notebook and cells in the gradebook the way nbgrader's
    ``generate_assignment`` does (its SaveCells preprocessor), unless they are there.

    Source cells keep the release's checksums, which nbgrader uses to tell an untouched
    answer ("No response.") from a written one.
    """
    import nbformat
    from nbgrader.api import MissingEntry
    from nbgrader.preprocessors import SaveCells

    key = (str(Path(db_path).absolute()), assignment)
    if key in _CELLS_READY and Path(db_path).is_file():
        return
    wanted = {p["grade_id"] for p in graded_parts(source_nb)}
    with _gradebook(db_path) as gb:
        gb.update_or_create_assignment(assignment)
        try:
            have = {c.name for c in gb.find_notebook(assignment, assignment).grade_cells}
        except MissingEntry:
            have = set()
    if wanted <= have and have:
        _CELLS_READY.add(key)
        return
    nb = nbformat.from_dict(json.loads(json.dumps(source_nb)))
    checksums = {}
    for cell in release_nb.cells if release_nb is not None else []:
        gid = grade_id(cell)
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if gid and isinstance(meta, dict) and meta.get("checksum"):
            checksums[gid] = meta["checksum"]
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid in checksums:
            cell.metadata.nbgrader["checksum"] = checksums[gid]
    resources = {"nbgrader": {"db_url": f"sqlite:///{Path(db_path)}", "assignment": assignment,
                              "notebook": assignment}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            SaveCells().preprocess(nb, resources)
        except RuntimeError as err:  # cells changed while submissions exist
            raise ValueError(f"the gradebook {db_path} holds assignment {assignment!r} with other graded "
                             f"cells than its source notebook ({err}); grade into a new --out, or "
                             "remove the old submissions with `nbgrader db assignment remove`") from None
    _CELLS_READY.add(key)


def _auto_score(result: SubmissionResult, part: PartResult) -> float | None:
    """What nbgrader calls the part's auto_score: None where a person must grade it."""
    if result.status == Status.FAILED:
        return None
    if part.manual:
        return 0.0 if part.message == NOT_ANSWERED else None
    return part.points


def _timestamp(text: str | None):
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is not None:  # nbgrader keeps naive UTC times
        when = when.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return when


def record(db_path: Path, source_nb, result: SubmissionResult, *, release_nb=None,
           submitted_nb: Path | None = None, autograded_dir: Path | None = None) -> None:
    """Write one result into nbgrader's gradebook, keeping every grade a person gave.

    db_path: Path of the SQLite gradebook; source_nb: the assignment's source notebook
    (NotebookNode); result: SubmissionResult; release_nb: the release (NotebookNode or None,
    for the checksums of untouched answers). submitted_nb: the student's notebook file and
    autograded_dir: nbgrader's autograded folder; with both, the notebook formgrader shows
    is written to ``autograded_dir/<student>/<a>/<a>.ipynb``.

    Per graded cell: ``auto_score`` is the verified points (None where a person grades:
    a written answer, every cell of a failed submission); ``needs_manual_grade`` is set
    where a person must look and nobody has yet, and set again when the automatic score of
    a cell that a person overrode has changed. ``manual_score``, ``extra_credit`` and
    ``manual_comment`` are never written.
    """
    if result.status in (Status.MISSING, Status.UNMATCHED):
        return  # nothing came in, or nobody to file it under: nothing to record
    _ensure_cells(Path(db_path), result.assignment, source_nb, release_nb)
    with _gradebook(Path(db_path)) as gb:
        _record(gb, result)
        gb.db.commit()
    if submitted_nb is not None and autograded_dir is not None:
        write_autograded(Path(submitted_nb), source_nb, release_nb, result, Path(autograded_dir))


def _record(gb, result: SubmissionResult) -> None:
    from nbgrader.api import MissingEntry

    assignment = notebook = result.assignment
    gb.update_or_create_student(result.student)
    try:
        submission = gb.find_submission(assignment, result.student)
    except MissingEntry:
        submission = gb.add_submission(assignment, result.student)
    when = _timestamp(result.submitted_at)
    if when is not None:
        submission.timestamp = when
    nb_sub = gb.find_submission_notebook(notebook, assignment, result.student)
    nb_sub.late_submission_penalty = result.penalty if result.late_by > 0 else None
    nb_sub.flagged = result.status == Status.FLAGGED
    flagged = result.status == Status.FLAGGED
    for gid, part in result.parts.items():
        try:
            grade = gb.find_grade(gid, notebook, assignment, result.student)
        except MissingEntry:
            continue
        auto = _auto_score(result, part)
        changed = grade.auto_score != auto
        grade.auto_score = auto
        if grade.manual_score is None:
            grade.needs_manual_grade = auto is None or flagged
        elif changed and not part.manual:
            grade.needs_manual_grade = True  # a person's override of a score that changed
        with contextlib.suppress(MissingEntry):
            comment = gb.find_comment(gid, notebook, assignment, result.student)
            comment.auto_comment = _auto_comment(result, part)
    # The answer cells (nbgrader's solution cells) get the named mistakes of their function.
    for comment in nb_sub.comments:
        if comment.name in result.parts:
            continue
        words = [m.split(": ", 1)[1] for m in result.mistakes if m.startswith(f"{comment.name}: ")]
        comment.auto_comment = "; ".join(words) or None


def _auto_comment(result: SubmissionResult, part: PartResult) -> str | None:
    if result.status == Status.FAILED:
        return f"could not be graded automatically: {result.reason}" if result.reason else None
    if part.manual:
        return "No response." if part.message == NOT_ANSWERED else None
    return part.message if part.mistake is None else f"{part.message} {part.mistake}"


def write_autograded(submitted_nb: Path, source_nb, release_nb, result: SubmissionResult,
                     autograded_dir: Path) -> Path | None:
    """Write the notebook formgrader shows for one submission; return its path.

    It is the notebook the grader ran (the student's answer cells in the source's structure,
    test cells with their visible tests only) with the rubric of every written answer.
    None (and nothing written) when the submission cannot be read as a notebook: formgrader
    then says it cannot find the notebook, and the failed status says why.
    """
    import nbformat

    from autograder.notebook import read_notebook, rebuild

    try:
        rebuilt = rebuild(read_notebook(submitted_nb), source_nb, release_nb)
    except Exception:
        return None
    nb = _with_rubrics(rebuilt.visible_notebook(), source_nb)
    path = Path(autograded_dir) / result.student / result.assignment / f"{result.assignment}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".ipynb", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        nbformat.write(nb, fh)
    os.replace(tmp, path)
    # As nbgrader's autograde does: generate_feedback and release_feedback read them there.
    for name in NBGRADER_FILES:
        kept = Path(submitted_nb).parent / name
        if kept.is_file():
            (path.parent / name).write_text(kept.read_text())
    return path


# -- reading a person's grades back -----------------------------------------------------

@dataclass(frozen=True)
class ManualGrade:
    """What a person entered in formgrader for one cell of one submission."""

    manual_score: float | None
    """The score a person gave (a written answer, or an override of the automatic score)."""
    extra_credit: float | None
    """Extra credit a person gave, on top of the score."""
    comment: str | None
    """A person's comment on the cell."""
    needs_manual_grade: bool
    """True while nbgrader still lists the cell as waiting for a person."""


def manual_grades(db_path: Path) -> dict[tuple[str, str], dict[str, ManualGrade]]:
    """(student, assignment) -> grade_id -> ManualGrade, for every submission in the
    gradebook at db_path; empty when there is no gradebook yet."""
    db_path = Path(db_path)
    if not db_path.is_file():
        return {}
    out: dict[tuple[str, str], dict[str, ManualGrade]] = {}
    with _gradebook(db_path) as gb:
        for assignment in gb.assignments:
            for submission in gb.assignment_submissions(assignment.name):
                cells: dict[str, ManualGrade] = {}
                comments: dict[str, str] = {}
                for nb in submission.notebooks:
                    for c in nb.comments:
                        if c.manual_comment:
                            comments[c.name] = c.manual_comment
                    for g in nb.grades:
                        cells[g.name] = ManualGrade(g.manual_score, g.extra_credit,
                                                    comments.pop(g.name, None), bool(g.needs_manual_grade))
                for name, text in comments.items():  # comments on answer cells that are not graded
                    cells[name] = ManualGrade(None, None, text, False)
                out[(submission.student.id, assignment.name)] = cells
    return out


def apply_manual(result: SubmissionResult, grades: dict[str, ManualGrade],
                 unflagged: bool = False) -> SubmissionResult:
    """A copy of result with a person's grades applied; result itself is not changed.

    A written answer a person scored reads "graded by your instructor"; an overridden
    automatic score says both numbers; extra credit is added to the part; comments go to
    ``comments``. The score is summed again. "needs manual grading" becomes "graded" once no
    written answer waits; a failed submission a person scored in every part becomes
    "graded" (the reason stays in its notes). A flagged submission stays flagged until the
    person clears its flag in formgrader (unflagged: True), then it is graded like the others.
    """
    reviewed = unflagged and result.status == Status.FLAGGED
    if not (grades or reviewed) or not result.graded and result.status != Status.FAILED:
        return result
    new = SubmissionResult.from_dict(result.to_dict())
    if reviewed:
        new.notes.append(f"Set aside for review ({new.reason}); reviewed by your instructor.")
        new.status, new.reason = Status.NEEDS_MANUAL, None
    by_hand = set()
    for gid, part in new.parts.items():
        g = grades.get(gid)
        if g is None:
            continue
        if g.manual_score is not None:
            by_hand.add(gid)
            score = float(g.manual_score)
            if part.manual or new.status == Status.FAILED:
                part.message = BY_HAND
            elif score != part.points:
                part.message = (f"{part.message} (your instructor set this part to {score:g} of "
                                f"{part.max_points:g}; the automatic check gave {part.points:g})")
            part.points = score
        if g.extra_credit:
            part.points += float(g.extra_credit)
            part.message += f" (+{float(g.extra_credit):g} extra credit)"
    new.comments = {gid: g.comment for gid, g in grades.items() if g.comment}
    waiting = [gid for gid, p in new.parts.items() if waits_for_person(p) and gid not in by_hand]
    if new.status == Status.FAILED:
        if new.parts and len(by_hand) == len(new.parts):
            new.notes.append(f"Could not be graded automatically ({new.reason}); your instructor "
                             "graded it by hand.")
            new.status, new.reason = Status.GRADED, None
        else:  # not a score until a person has given every part one
            return new if new.comments else result
    elif new.status == Status.NEEDS_MANUAL and not waiting:
        new.status = Status.GRADED
    new.score = sum(p.points for p in new.parts.values())
    return new


def unflagged_submissions(db_path: Path) -> set[tuple[str, str]]:
    """(student, assignment) of every submission in the gradebook whose notebook is not
    flagged (a person cleared the flag the grader set, or there never was one)."""
    db_path = Path(db_path)
    if not db_path.is_file():
        return set()
    out = set()
    with _gradebook(db_path) as gb:
        for assignment in gb.assignments:
            for submission in gb.assignment_submissions(assignment.name):
                if not any(nb.flagged for nb in submission.notebooks):
                    out.add((submission.student.id, assignment.name))
    return out


def with_manual_grades(db_path: Path, results: list[SubmissionResult]) -> list[SubmissionResult]:
    """results with the grades a person gave in nbgrader's gradebook at db_path applied
    (see apply_manual); a result the gradebook does not hold is returned as it is."""
    grades = manual_grades(db_path)
    unflagged = unflagged_submissions(db_path) if any(r.status == Status.FLAGGED for r in results) else set()
    return [apply_manual(r, grades.get((r.student, r.assignment), {}), (r.student, r.assignment) in unflagged)
            for r in results]
