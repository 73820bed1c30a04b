"""Where results are kept: one JSON record per submission, and nbgrader's gradebook.

The JSON records make grading resumable. Each is written atomically (a temporary file,
flushed, then renamed), right after its submission is graded, so an interrupted run loses
at most the submissions that were still being graded; a re-run skips every submission
whose record exists for the same notebook content (a changed notebook is graded again).

The gradebook (``nbgrader.api.Gradebook``, a SQLite file) is written only from the
grader's main process, never from a worker and never from the sandbox, so it stays
consistent whatever a submission does.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from autograder.notebook import graded_parts
from autograder.results import SubmissionResult


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


def record(db_path: Path, source_nb, result: SubmissionResult) -> None:
    """Write one result into nbgrader's gradebook (creating the assignment's cells once).

    db_path: Path of the SQLite gradebook; source_nb: the assignment's source notebook;
    result: SubmissionResult. Autograded parts get their verified score as auto_score;
    manually graded parts keep auto_score None so nbgrader's formgrader shows them.
    """
    import sys
    import warnings

    from nbgrader.api import Gradebook

    # A new gradebook runs the `alembic` command, installed next to this Python; when the
    # grader is started as .venv/bin/python without an activated venv it is not on PATH.
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    with warnings.catch_warnings():
        # nbgrader's own session code warns about autoflush on every new submission.
        warnings.simplefilter("ignore")
        _record(Path(db_path), source_nb, result, Gradebook)


def _record(db_path, source_nb, result, Gradebook):
    db_path.parent.mkdir(parents=True, exist_ok=True)
    assignment, notebook = result.assignment, result.assignment
    with Gradebook(f"sqlite:///{db_path}") as gb:
        gb.update_or_create_assignment(assignment)
        try:
            gb.find_notebook(notebook, assignment)
        except Exception:  # nbgrader raises MissingEntry
            gb.add_notebook(notebook, assignment)
        for part in graded_parts(source_nb):
            gb.update_or_create_grade_cell(part["grade_id"], notebook, assignment,
                                           max_score=part["points"], cell_type=part["cell_type"])
        gb.update_or_create_student(result.student)
        try:
            gb.find_submission(assignment, result.student)
        except Exception:
            gb.add_submission(assignment, result.student)
        for gid, part in result.parts.items():
            try:
                grade = gb.find_grade(gid, notebook, assignment, result.student)
            except Exception:
                continue
            if result.status == "failed" or part.manual:
                grade.auto_score = None
            else:
                grade.auto_score = part.points
            grade.needs_manual_grade = result.status in ("failed", "flagged") or (
                part.manual and part.message == "needs manual grading")
            try:
                comment = gb.find_comment(gid, notebook, assignment, result.student)
                comment.auto_comment = part.message if part.mistake is None else f"{part.message} {part.mistake}"
            except Exception:
                pass
        gb.db.commit()
