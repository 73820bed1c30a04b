"""The typed result model: what grading one submission produced.

Every step after grading (the gradebook, the records on disk, feedback, export, the report)
reads these dataclasses, never loose dicts. A record is stored as JSON with
``SubmissionResult.to_dict`` and read back with ``SubmissionResult.from_dict``.
"""
from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any

from autograder import sanitize


class Status(str, enum.Enum):
    """How grading one submission ended, from worst to best (``missing`` and ``unmatched``
    are rows of the roster and of collect that were never graded).

    A ``str`` enum: ``Status.GRADED == "graded"`` holds, so records written as plain
    strings read back as the same status.
    """

    UNMATCHED = "unmatched"
    """A collected file that belongs to no rostered student (or to no assignment); ``file``
    names it. Resolve it with ``--map FILE=STUDENT`` or a roster entry; never graded."""
    MISSING = "missing"
    """A rostered student with nothing collected for the assignment. Not graded."""
    FAILED = "failed"
    """Could not be graded automatically (unreadable notebook, crash, timeout, dead kernel);
    ``reason`` says why. Not a score of zero."""
    FLAGGED = "flagged"
    """Graded, and set aside for a person (tampering suspected, reference code used)."""
    NEEDS_MANUAL = "needs manual grading"
    """Autograded; written answers wait for a person."""
    GRADED = "graded"
    """Everything was graded automatically."""

    def __str__(self) -> str:
        return self.value


STATUSES = tuple(s.value for s in Status)
UNGRADED = (Status.UNMATCHED, Status.MISSING, Status.FAILED)
"""Statuses whose row has no score (not a score of zero)."""


@dataclass
class PartResult:
    """One graded part of a notebook: a test cell or a manually graded answer."""

    grade_id: str
    """nbgrader's grade_id of the cell, e.g. ``svm_loss_naive_grad`` or ``q_kink``."""
    points: float
    """Points earned (0 until a person grades a manual part)."""
    max_points: float
    """Points the part is worth."""
    message: str
    """What the check found, in plain words, for the student."""
    mistake: str | None = None
    """The named mistake from the catalogue, in plain words, or None."""
    checked: str = ""
    """What was checked, in plain words, without the hidden test's code."""
    manual: bool = False
    """True for a part a person grades (written answers)."""

    def __post_init__(self) -> None:
        # Text from a submission reaches CSV, HTML and the terminal: make it safe once, here.
        self.grade_id = sanitize.line(self.grade_id, 200)
        self.message = sanitize.text(self.message)
        self.mistake = None if self.mistake is None else sanitize.text(self.mistake)
        self.checked = sanitize.text(self.checked)


@dataclass
class SubmissionResult:
    """The grade of one submission of one assignment by one student."""

    student: str
    """The student's id (normalized)."""
    assignment: str
    """The assignment's name, e.g. ``svm``."""
    status: Status
    """How grading ended; see Status."""
    reason: str | None
    """Why the status is failed or flagged; None otherwise."""
    parts: dict[str, PartResult]
    """grade_id -> PartResult, in notebook order."""
    in_kernel: dict[str, float]
    """grade_id -> points the notebook's own (visible) test cell gave in the kernel run;
    only compared with the verified points, never trusted."""
    flags: list[str]
    """Findings for a person (tampering suspected, reference code used)."""
    mistakes: list[str]
    """Named mistakes in plain words, one per function and mistake."""
    score: float
    """Sum of the points of every part."""
    max_score: float
    """Sum of the max points of every part."""
    duration: float
    """Seconds spent grading this submission."""
    sandboxed: bool
    """False when student code ran without the sandbox (an instructor's explicit choice)."""
    mistake_keys: list[str] = field(default_factory=list)
    """Stable keys of the named mistakes, ``<function>: <bug key>``."""
    notes: list[str] = field(default_factory=list)
    """Findings that change nothing but that the student should know."""
    lms_id: str | None = None
    """The LMS's numeric user id (Canvas "ID", Moodle participant id), so grades go back
    by id; None when neither the roster nor the file name gives one."""
    submitted_at: str | None = None
    """When the submission came in, ISO 8601 (``2026-03-01T23:59:00``); None when unknown."""
    late_by: float = 0.0
    """Seconds after the deadline; 0 when on time or when there is no deadline."""
    penalty: float = 0.0
    """Points taken for lateness (see autograder.lateness); 0 when on time."""
    file: str | None = None
    """The collected file's name as it came in (the LMS's name), for the instructor."""
    comments: dict[str, str] = field(default_factory=dict)
    """grade_id -> a person's comment on that cell, read back from nbgrader's gradebook
    (formgrader); empty in the grader's own records."""

    def __post_init__(self) -> None:
        self.status = Status(self.status)
        self.lms_id = None if self.lms_id is None else sanitize.line(str(self.lms_id), 64)
        self.submitted_at = None if self.submitted_at is None else sanitize.line(str(self.submitted_at), 64)
        self.file = None if self.file is None else sanitize.line(self.file, 300)
        self.late_by = max(0.0, float(self.late_by))
        self.penalty = max(0.0, float(self.penalty))
        # Everything a submission can influence is sanitized when the result is made, so no
        # later step (gradebook, feedback, grades.csv, report, console) can fail on it.
        self.student = sanitize.line(self.student, 200)
        self.reason = None if self.reason is None else sanitize.text(self.reason)
        self.parts = {sanitize.line(k, 200): v for k, v in self.parts.items()}
        self.in_kernel = {sanitize.line(k, 200): float(v) for k, v in self.in_kernel.items()}
        self.flags = [sanitize.text(f) for f in self.flags][:50]
        self.mistakes = [sanitize.text(m) for m in self.mistakes][:50]
        self.mistake_keys = [sanitize.line(k, 200) for k in self.mistake_keys][:50]
        self.notes = [sanitize.text(n) for n in self.notes][:50]
        self.comments = {sanitize.line(k, 200): sanitize.text(v) for k, v in self.comments.items()}

    @property
    def graded(self) -> bool:
        """True when the row has a score (not missing, unmatched or failed)."""
        return self.status not in UNGRADED

    @property
    def final_score(self) -> float:
        """score minus the late penalty, never below 0."""
        return max(0.0, self.score - self.penalty)

    @classmethod
    def ungraded(cls, student: str, assignment: str, status: Status, reason: str, *,
                 max_score: float = 0.0, **fields: Any) -> SubmissionResult:
        """A row with no grade: a rostered student with nothing collected (``missing``), or a
        collected file nobody is matched to (``unmatched``, student = the file's best guess).

        fields: any other field (lms_id, submitted_at, file, late_by).
        """
        return cls(student, assignment, Status(status), reason, {}, {}, [], [], 0.0, max_score,
                   0.0, True, **fields)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        data["final_score"] = self.final_score  # for readers of the JSON; recomputed on load
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubmissionResult:
        data = dict(data)
        data.pop("final_score", None)
        data["parts"] = {k: PartResult(**v) for k, v in data["parts"].items()}
        return cls(**data)
