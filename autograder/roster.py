"""The class roster: who should hand something in, so nobody is lost.

Two formats are read, told apart by their header row:

- nbgrader's ``nbgrader db student import`` CSV: a column ``id`` and optionally
  ``first_name``, ``last_name``, ``email``, ``lms_user_id``;
- an LMS gradebook export such as Canvas's: ``Student`` ("Roe, Jane"), ``ID`` (the numeric
  user id), ``SIS User ID``, ``SIS Login ID``, ``Section``, then one column per assignment.
  Canvas puts a "Points Possible" row (and sometimes a "Muted" row) under the header; rows
  whose ``ID`` is not a number are skipped.

A Canvas student's id is made the way collect reads Canvas file names: the sortable name
with everything but letters and digits removed, then "-" and the user id ("Roe, Jane",
1234 -> "roejane-1234"), so a Canvas export and its roster agree without a mapping.

Matching a collected file to a rostered student (``Roster.match``) tries, in order: the LMS
user id, the student id, then the name (as "jane_roe", "roe_jane", "janeroe" or "roejane")
or the login (Canvas's SIS Login ID, nbgrader's e-mail before the "@"), and only a name
that fits exactly one student.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from autograder.collect import normalize_student, student_key

NBGRADER_COLUMNS = ("id", "first_name", "last_name", "email", "lms_user_id")


class RosterError(ValueError):
    """The roster cannot be read; the message names the file, the row and what to fix."""


@dataclass(frozen=True)
class RosterEntry:
    """One rostered student."""

    student: str
    """The student id used everywhere (folders, grades.csv, nbgrader's gradebook)."""
    name: str = ""
    """The display name as the roster has it ("Roe, Jane" or "Jane Roe")."""
    lms_id: str | None = None
    """The LMS's numeric user id (Canvas "ID", nbgrader's lms_user_id)."""
    sis_id: str = ""
    """The institution's id (Canvas "SIS User ID"), kept for the export back."""
    section: str = ""
    """The section (Canvas "Section")."""
    login: str = ""
    """The login (Canvas "SIS Login ID", the local part of nbgrader's email), which
    Blackboard puts in its file names."""

    def name_keys(self) -> set[str]:
        """The normalized forms of the name a file name may use."""
        keys = set()
        words = [w for w in re.split(r"[^0-9A-Za-z\u00c0-\uffff]+", self.name) if w]
        if "," in self.name:  # "Roe, Jane" is the sortable name: last, first
            last, _, first = self.name.partition(",")
            words = [w for w in re.split(r"\W+", first + " " + last) if w]
        for order in (words, words[::-1]):
            for sep in ("_", ""):
                try:
                    keys.add(normalize_student(sep.join(order)))
                except ValueError:
                    pass
        base = self.student.rsplit("-", 1)[0] if "-" in self.student else self.student
        keys.add(base)
        for other in (self.login, self.sis_id):
            try:
                keys.add(normalize_student(other))
            except ValueError:
                pass
        return keys


@dataclass
class Roster:
    """Every rostered student, in the roster's order."""

    entries: list[RosterEntry]
    path: Path | None = None
    """Where it was read from."""
    kind: str = "nbgrader"
    """"nbgrader" or "canvas"."""

    def students(self) -> list[str]:
        return [e.student for e in self.entries]

    def get(self, student: str) -> RosterEntry | None:
        return next((e for e in self.entries if e.student == student), None)

    def match(self, student: str | None = None, lms_id: str | None = None,
              name: str | None = None) -> RosterEntry | None:
        """The rostered student a collected file belongs to, or None.

        student: the id collect made from the file name; lms_id: the LMS user id in the name;
        name: the display name or login in the file name (normalized here).
        """
        if lms_id:
            hit = [e for e in self.entries if e.lms_id == lms_id]
            if len(hit) == 1:
                return hit[0]
        if student:
            hit = [e for e in self.entries if e.student == student]
            if len(hit) == 1:
                return hit[0]
        for raw in (name, student):
            if not raw:
                continue
            try:
                key = normalize_student(raw.rsplit("-", 1)[0] if raw == student else raw)
            except ValueError:
                continue
            hit = [e for e in self.entries if key in e.name_keys()]
            if len(hit) == 1:
                return hit[0]
        return None


def _clean(text: str | None) -> str:
    return (text or "").strip()


def read_roster(path: Path) -> Roster:
    """Read a roster CSV (nbgrader's student import format or a Canvas gradebook export).

    path: the CSV file. Raises RosterError naming the file (and the row) when it cannot be
    read, has no known header, has a student twice, or holds nobody.
    """
    path = Path(path)
    if not path.is_file():
        raise RosterError(f"roster {path} does not exist or is not a file; pass --roster a CSV "
                          "(nbgrader's `db student import` format or an LMS gradebook export)")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise RosterError(f"roster {path} cannot be read as UTF-8 text ({err})") from None
    reader = csv.DictReader(text.splitlines())
    header = [_clean(h) for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    entries: list[RosterEntry] = []
    if "Student" in header and "ID" in header:
        kind = "canvas"
        for n, row in enumerate(reader, start=2):
            uid = _clean(row.get("ID"))
            name = _clean(row.get("Student"))
            if not uid.isdigit() or not name or name.lower() in ("points possible", "test student", "student, test"):
                continue  # "Points Possible", "Muted" and Canvas's own test student
            compact = re.sub(r"[^0-9A-Za-z]+", "", name)
            try:
                student = student_key(normalize_student(compact or name), uid.lstrip("0") or "0")
            except ValueError as err:
                raise RosterError(f"roster {path}, row {n}: {err}") from None
            entries.append(RosterEntry(student, name, uid.lstrip("0") or "0", _clean(row.get("SIS User ID")),
                                       _clean(row.get("Section")), _clean(row.get("SIS Login ID"))))
    elif "id" in header:
        kind = "nbgrader"
        for n, row in enumerate(reader, start=2):
            raw = _clean(row.get("id"))
            if not raw:
                raise RosterError(f"roster {path}, row {n}: the id column is empty")
            try:
                student = normalize_student(raw) if not re.fullmatch(r"[a-z0-9_]+(-\d+)?", raw) else raw
            except ValueError as err:
                raise RosterError(f"roster {path}, row {n}: {err}") from None
            name = " ".join(x for x in (_clean(row.get("first_name")), _clean(row.get("last_name"))) if x)
            lms = _clean(row.get("lms_user_id")) or None
            login = _clean(row.get("email")).partition("@")[0]
            entries.append(RosterEntry(student, name, lms, "", "", login))
    else:
        raise RosterError(f"roster {path} has the header {', '.join(header) or '(none)'}; expected nbgrader's "
                          f"student import columns ({', '.join(NBGRADER_COLUMNS)}; only id is required) or "
                          "a Canvas gradebook export (Student, ID, SIS User ID, Section, ...)")
    seen: dict[str, int] = {}
    for e in entries:
        seen[e.student] = seen.get(e.student, 0) + 1
    twice = sorted(s for s, c in seen.items() if c > 1)
    if twice:
        raise RosterError(f"roster {path} lists {', '.join(twice)} more than once; keep one row per student")
    if not entries:
        raise RosterError(f"roster {path} lists no student")
    return Roster(entries, path, kind)
