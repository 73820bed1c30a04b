"""Collect submissions into nbgrader's layout: submitted/<student>/<assignment>/<assignment>.ipynb.

Accepted inputs:
- an LMS export as a zip file, or as a folder of files named by student (Canvas
  "doejane_LATE_1234_5678_svm.ipynb", Moodle "Jane Doe_1234_assignsubmission_file_svm.ipynb",
  or simply "doejane_svm.ipynb" / "doejane.ipynb" with --assignment); the LMS's numeric
  user id, when the name has one, is part of the student's id ("doejane-1234"), so two users
  are never merged, and two users whose names look alike are reported;
- nbgrader's own submitted/<student>/<assignment>/ folders (or that folder's parent).

Zips are unpacked safely: no absolute paths, no "..", no links, and limits on the number of
entries, the bytes of each entry and in total, and the compression ratio, all counted on
the bytes actually read (a zip's headers can lie). Student ids are normalized. Duplicate
and late submissions are reported, and so is every file that is not a notebook or that is
a corrupt notebook, by name; nothing stops the batch.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import stat
import unicodedata
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from autograder.notebook import InvalidNotebook, read_notebook


class UnsafeArchive(ValueError):
    """The zip breaks a safety rule (path traversal, link, zip bomb); the message says which."""


@dataclass
class ZipLimits:
    """Limits for unpacking one zip.

    max_entries: int, files in the archive.
    max_entry_bytes: int, uncompressed bytes of one file.
    max_total_bytes: int, uncompressed bytes of all files.
    max_ratio: float, uncompressed / compressed bytes of one file (above 1 MB).
    """
    max_entries: int = 5000
    max_entry_bytes: int = 60_000_000
    max_total_bytes: int = 1_000_000_000
    max_ratio: float = 200.0


@dataclass
class Submission:
    """One collected notebook."""
    student: str
    assignment: str
    path: str
    original: str
    timestamp: str | None = None
    late: bool = False
    lms_id: str | None = None


@dataclass
class CollectReport:
    """What collect found; every problem names the file."""
    submissions: list = field(default_factory=list)
    problems: list = field(default_factory=list)     # (file, message)
    duplicates: list = field(default_factory=list)   # (student, assignment, kept, dropped list)
    late: list = field(default_factory=list)         # (student, assignment, timestamp)

    def to_dict(self) -> dict:
        return asdict(self)

    def text(self) -> str:
        lines = [f"collected {len(self.submissions)} submission(s)"]
        for s, a, kept, dropped in self.duplicates:
            lines.append(f"duplicate: {s}/{a}: kept {kept}, ignored {', '.join(dropped)}")
        for s, a, ts in self.late:
            lines.append(f"late: {s}/{a} (submitted {ts or 'marked late by the LMS'})")
        for name, msg in self.problems:
            lines.append(f"problem: {name}: {msg}")
        return "\n".join(lines)


def normalize_student(raw: str) -> str:
    """A safe, stable student id: lower case ASCII letters, digits and single underscores.

    raw: str such as "Jane Doe", " DOE.Jane ", "jürgen-müller".
    Raises ValueError when nothing usable is left.
    """
    text = unicodedata.normalize("NFKD", str(raw)).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    if not text:
        raise ValueError(f"cannot make a student id from {raw!r}: it has no letters or digits")
    return text[:64]


_MAX_NAME_BYTES = 150


def _safe_component(part: str) -> str:
    """A path component that any file system takes: a long one keeps its start and its end
    (where LMS names put the student and the assignment) around a digest of the whole."""
    part = "".join(" " if ord(ch) < 32 or ch == "\x7f" else ch for ch in part)
    raw = part.encode("utf-8", "surrogatepass")
    if len(raw) <= _MAX_NAME_BYTES:
        return part.encode("utf-8", "replace").decode("utf-8")
    digest = hashlib.sha256(raw).hexdigest()[:10]
    head = raw[:60].decode("utf-8", "ignore")
    tail = raw[-70:].decode("utf-8", "ignore")
    return f"{head}~{digest}~{tail}"


def safe_extract(archive: Path, dest: Path, limits: ZipLimits | None = None,
                 problems: list | None = None) -> list[tuple[Path, dt.datetime | None]]:
    """Unpack a zip into dest safely; return [(extracted file, its timestamp)].

    Raises UnsafeArchive (nothing is left in dest) when a rule against hostile archives is
    broken (a path leaving dest, a link, a zip bomb), and ValueError for a file that is not a
    zip. Names no file system takes (too long, control characters) are shortened and cleaned.
    problems: a list; when given, a member that cannot be written is reported there as
    (name, reason) and the others are still unpacked.
    """
    archive, dest = Path(archive), Path(dest)
    limits = limits or ZipLimits()
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as err:
        raise ValueError(f"{archive.name} is not a valid zip file ({err})") from None
    dest.mkdir(parents=True, exist_ok=True)
    out: list[tuple[Path, dt.datetime | None]] = []
    total = 0
    try:
        with zf:
            infos = zf.infolist()
            if len(infos) > limits.max_entries:
                raise UnsafeArchive(f"{archive.name} has {len(infos)} entries, more than {limits.max_entries}")
            for info in infos:
                name = info.filename
                mode = info.external_attr >> 16
                parts = PurePosixPath(name.replace("\\", "/")).parts
                if ("\x00" in name or name.startswith(("/", "\\")) or ".." in parts
                        or (parts and re.match(r"^[A-Za-z]:", parts[0]))):
                    raise UnsafeArchive(f"{archive.name}: entry {name!r} points outside the folder")
                if stat.S_ISLNK(mode):
                    raise UnsafeArchive(f"{archive.name}: entry {name!r} is a symbolic link")
                if info.is_dir():
                    continue
                target = dest.joinpath(*[_safe_component(part) for part in parts])
                if dest.resolve() not in target.resolve().parents:
                    raise UnsafeArchive(f"{archive.name}: entry {name!r} points outside the folder")
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    dst = open(target, "wb")
                except OSError as err:
                    if problems is None:
                        raise
                    problems.append((_safe_component(name), f"could not be unpacked ({err.strerror}); ignored"))
                    continue
                written = 0
                with zf.open(info) as src, dst:
                    while True:
                        chunk = src.read(1 << 16)
                        if not chunk:
                            break
                        written += len(chunk)
                        total += len(chunk)
                        if written > limits.max_entry_bytes:
                            raise UnsafeArchive(f"{archive.name}: entry {name!r} unpacks to more than "
                                                f"{limits.max_entry_bytes} bytes (zip bomb?)")
                        if total > limits.max_total_bytes:
                            raise UnsafeArchive(f"{archive.name} unpacks to more than "
                                                f"{limits.max_total_bytes} bytes in total (zip bomb?)")
                        if written > 1_000_000 and written > limits.max_ratio * max(info.compress_size, 1):
                            raise UnsafeArchive(f"{archive.name}: entry {name!r} expands more than "
                                                f"{limits.max_ratio:g} times (zip bomb?)")
                        dst.write(chunk)
                try:
                    when = dt.datetime(*info.date_time)
                except ValueError:
                    when = None
                out.append((target, when))
    except (UnsafeArchive, zipfile.BadZipFile, OSError, EOFError) as err:
        shutil.rmtree(dest, ignore_errors=True)
        if isinstance(err, UnsafeArchive):
            raise
        raise ValueError(f"{archive.name} could not be unpacked ({err})") from None
    return out


_SKIP_TOKENS = {"late", "assignsubmission", "file", "onlinetext", "submission"}
# The LMS export formats whose structure tells the user id apart from the name:
# Canvas: "<name>[_LATE]_<user id>_<submission id>_<original file name>", where the name is the
#   sortable name with everything but letters and digits removed (so it has no "_");
# Moodle: "<Full Name>_<participant id>_assignsubmission_file_<original file name>" (or the
#   same text as a folder holding the file).
_CANVAS = re.compile(r"^(?P<name>[^\W_]+)(?P<late>_late)?_(?P<uid>\d+)_(?P<sid>\d+)_(?P<file>.+)$",
                     re.IGNORECASE)
_MOODLE = re.compile(r"^(?P<name>.+?)_(?P<uid>\d+)_assign(?:submission|feedback)_(?:file|onlinetext)_(?P<file>.*)$",
                     re.IGNORECASE)


def student_key(name: str, user_id: str | None) -> str:
    """The student's id: the normalized name, with the LMS user id after a "-" when there is
    one (normalized names never hold "-", so "jane_roe-12" cannot be mistaken for a name)."""
    return f"{name}-{user_id}" if user_id else name


def parse_lms_name(filename: str, assignments: list[str], assignment: str | None = None):
    """Read (student, assignment, marked_late) from an LMS file name.

    filename: the base name of a .ipynb file; assignments: known assignment names;
    assignment: the assignment to assume when the name does not say.
    The student is the normalized display name, followed by the LMS's numeric user id when
    the LMS format has one (Canvas "doejane_1234_5678_svm.ipynb" -> "doejane-1234", Moodle
    "Jane Doe_1234_assignsubmission_file_svm.ipynb" -> "jane_doe-1234"): two LMS users are
    never merged because their names look alike, and digits in a display name are never
    taken for an id.
    Raises ValueError naming the file when the student or the assignment cannot be told.
    """
    student, found, late, _ = _parse_lms_name(filename, assignments, assignment)
    return student, found, late


def _assignment_in(text: str, assignments: list[str]) -> str | None:
    tokens = [t.lower() for t in re.split(r"[_\-. ()]+", text) if t]
    return next((a for a in assignments if a in tokens), None)


def _parse_lms_name(filename: str, assignments: list[str], assignment: str | None = None):
    """(student key, assignment, marked late, LMS user id or None); see parse_lms_name."""
    stem = filename[:-6] if filename.lower().endswith(".ipynb") else filename
    stem = re.sub(r"-\d+$", "", stem)  # Canvas adds -1, -2 to resubmitted files
    for pattern in (_MOODLE, _CANVAS):
        match = pattern.match(stem)
        if match:
            found = _assignment_in(match["file"], assignments) or assignment
            if found is None:
                raise ValueError(f"{filename}: cannot tell the assignment from the name; pass --assignment")
            uid = match["uid"].lstrip("0") or "0"
            late = bool(match.groupdict().get("late"))
            name = normalize_student(match["name"])
            return student_key(name, uid), found, late, uid
    tokens = [t for t in re.split(r"_+", stem) if t]
    late = any(t.lower() == "late" for t in tokens)
    found = assignment
    rest = []
    for t in tokens:
        low = t.lower()
        hit = next((a for a in assignments if low == a or low.endswith("-" + a)), None)
        if hit and found in (None, hit):
            found = hit
            stripped = low[: -len(hit)].rstrip("-")
            if stripped:
                rest.append(stripped)
            continue
        if low in _SKIP_TOKENS or t.isdigit():
            continue
        rest.append(t)
    if found is None:
        raise ValueError(f"{filename}: cannot tell the assignment from the name; pass --assignment")
    if not rest:
        raise ValueError(f"{filename}: cannot tell the student from the name")
    return normalize_student(rest[0]), found, late, None


def _timestamp_of(path: Path, zipped: dict) -> dt.datetime | None:
    if path in zipped and zipped[path] is not None:
        return zipped[path]
    stamp = path.parent / "timestamp.txt"  # nbgrader writes one per submission
    if stamp.exists():
        try:
            text = stamp.read_text().strip()
            return dt.datetime.fromisoformat(text.replace(" UTC", "").replace("Z", "")).replace(tzinfo=None)
        except ValueError:
            pass
    return dt.datetime.fromtimestamp(path.stat().st_mtime)


def collect(source: Path, dest: Path, assignments: list[str], assignment: str | None = None,
            deadline: dt.datetime | None = None, limits: ZipLimits | None = None) -> CollectReport:
    """Gather submissions from source into dest/<student>/<assignment>/<assignment>.ipynb.

    source: a zip, a folder of LMS files, or an nbgrader submitted/ folder (or its parent).
    dest: the output folder (emptied first).
    assignments: known assignment names; assignment: the one to assume for bare names.
    deadline: naive datetime; later timestamps are reported late.
    Returns a CollectReport; problems never raise.
    """
    source, dest = Path(source), Path(dest)
    if assignment is not None and assignment not in assignments:
        raise ValueError(f"assignment must be one of {', '.join(assignments)}; got {assignment!r}")
    report = CollectReport()
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    unpacked = dest.parent / (dest.name + ".unpacked")
    zipped: dict[Path, dt.datetime | None] = {}
    if source.is_file():
        if unpacked.exists():
            shutil.rmtree(unpacked)
        try:
            zipped = dict(safe_extract(source, unpacked, limits, report.problems))
        except ValueError as err:  # UnsafeArchive included
            report.problems.append((source.name, str(err)))
            return report
        source = unpacked
    elif not source.is_dir():
        raise ValueError(f"source {source} is neither a zip file nor a folder")
    if (source / "submitted").is_dir():
        source = source / "submitted"

    found: dict[tuple[str, str], list[tuple[Path, dt.datetime | None, bool]]] = {}
    ids: dict[str, str | None] = {}
    names: dict[str, set[str]] = {}
    files = sorted(p for p in source.rglob("*") if p.is_file()
                   and not any(part.startswith(".") or part == "__MACOSX" for part in p.relative_to(source).parts))
    for path in files:
        rel = path.relative_to(source)
        if path.name == "timestamp.txt":
            continue
        if path.suffix.lower() != ".ipynb":
            report.problems.append((str(rel), "not a notebook (.ipynb); ignored"))
            continue
        parts = rel.parts
        try:
            if len(parts) == 3 and parts[1] in assignments:  # nbgrader layout
                student, assign, late, user_id = normalize_student(parts[0]), parts[1], False, None
            else:
                student, assign, late, user_id = _parse_lms_name(path.name, assignments, assignment)
        except ValueError as err:
            report.problems.append((str(rel), str(err)))
            continue
        ids[student] = user_id
        if user_id:
            names.setdefault(student.rsplit("-", 1)[0], set()).add(user_id)
        found.setdefault((student, assign), []).append((path, _timestamp_of(path, zipped), late))

    for name, users in sorted(names.items()):
        if len(users) > 1:
            listed = ", ".join(student_key(name, u) for u in sorted(users, key=int))
            report.problems.append((name, f"display-name collision: LMS users {', '.join(sorted(users, key=int))} "
                                          f"share the name {name!r}; they are kept apart as {listed}"))
    for (student, assign), entries in sorted(found.items()):
        entries.sort(key=lambda e: (e[1] or dt.datetime.min, str(e[0])))
        path, when, late = entries[-1]
        if len(entries) > 1:
            report.duplicates.append((student, assign, str(path.relative_to(source)),
                                      [str(e[0].relative_to(source)) for e in entries[:-1]]))
        if deadline is not None and when is not None and when > deadline:
            late = True
        stamp = when.isoformat(sep=" ") if when else None
        if late:
            report.late.append((student, assign, stamp))
        target = dest / student / assign / f"{assign}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        if stamp:
            (target.parent / "timestamp.txt").write_text(stamp)
        try:
            read_notebook(target)
        except InvalidNotebook as err:
            report.problems.append((str(path.relative_to(source)), f"corrupt notebook: {err}; "
                                    "it is kept and will be marked failed"))
        report.submissions.append(Submission(student, assign, str(target), str(path.relative_to(source)),
                                             stamp, late, ids.get(student)))
    (dest / "collect_report.json").write_text(json.dumps(report.to_dict(), indent=1))
    if unpacked.exists():
        shutil.rmtree(unpacked)
    return report


def find_submitted(folder: Path, assignments: list[str]) -> list[Submission]:
    """Submissions already in nbgrader's layout under folder (or folder/submitted)."""
    folder = Path(folder)
    if (folder / "submitted").is_dir():
        folder = folder / "submitted"
    out = []
    for path in sorted(folder.glob("*/*/*.ipynb")):
        student, assign = path.parent.parent.name, path.parent.name
        if assign in assignments and path.name == f"{assign}.ipynb":
            out.append(Submission(student, assign, str(path), str(path.relative_to(folder))))
    return out
