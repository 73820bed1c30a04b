"""Collect submissions into nbgrader's layout: submitted/<student>/<assignment>/<assignment>.ipynb.

Accepted inputs:
- an LMS export as a zip file, or as a folder of files named by student. The names of
  Canvas ("doejane_LATE_1234_5678_svm.ipynb"), Moodle (files
  "Jane Doe_1234_assignsubmission_file_svm.ipynb" or folders
  "Jane Doe_1234_assignsubmission_file_/svm.ipynb"), Blackboard
  ("HW 2_jdoe3_attempt_2026-03-01-23-59-01_svm.ipynb") and Brightspace
  ("12-34 - Jane Doe - Mar 1, 2026 1159 PM/svm.ipynb") are read by built-in patterns, and
  the instructor's own regular expression (``--name-pattern``, named groups as in nbgrader's
  ``zip_collect``) goes first; simply "doejane_svm.ipynb" / "doejane.ipynb" (with
  --assignment) work too. Copies ("svm (1).ipynb", "svm-1.ipynb", "svm_Untitled.ipynb") are
  understood. Without a roster the LMS's numeric user id, when the name has one, is part of
  the student's id ("doejane-1234"), so two users are never merged, and two users whose
  names look alike are reported; with a roster every file is matched to a rostered student
  (by LMS id, then id, then name) or is *unmatched*;
- nbgrader's own submitted/<student>/<assignment>/ folders (or that folder's parent).

Nothing is lost: the source is checked before anything is written, earlier submissions are
never deleted (a replaced one moves to ``superseded/``), and every notebook that cannot be
filed (no student, not on the roster, graded cells of another assignment) is copied to
``unmatched/`` and reported with the way to resolve it (``--map FILE=STUDENT``).

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
import tempfile
import unicodedata
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from autograder.lateness import late_by
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
class Unmatched:
    """A collected notebook that was not filed under a student and an assignment."""
    file: str
    """Its path inside the download."""
    reason: str
    """Why, and how to resolve it."""
    stored: str
    """Where the copy is kept (OUT/unmatched/...)."""
    guess: str | None = None
    """The student read from the name, when one was."""
    assignment: str | None = None
    lms_id: str | None = None
    submitted_at: str | None = None


@dataclass
class CollectReport:
    """What collect found; every problem names the file."""
    submissions: list = field(default_factory=list)
    problems: list = field(default_factory=list)     # (file, message)
    duplicates: list = field(default_factory=list)   # (student, assignment, kept, dropped list)
    late: list = field(default_factory=list)         # (student, assignment, timestamp)
    unmatched: list = field(default_factory=list)    # Unmatched
    replaced: list = field(default_factory=list)     # (file, where the earlier one went)

    def to_dict(self) -> dict:
        return asdict(self)

    def text(self) -> str:
        lines = [f"collected {len(self.submissions)} submission(s)"]
        for s, a, kept, dropped in self.duplicates:
            lines.append(f"duplicate: {s}/{a}: kept {kept}, ignored {', '.join(dropped)}")
        for s, a, ts in self.late:
            lines.append(f"late: {s}/{a} (submitted {ts or 'marked late by the LMS'})")
        for file, kept in self.replaced:
            lines.append(f"replaced: {file} is newer; the earlier notebook is kept in {kept}")
        for name, msg in self.problems:
            lines.append(f"problem: {name}: {msg}")
        for u in self.unmatched:
            lines.append(f"UNMATCHED: {u.file}: {u.reason} (kept in {u.stored})")
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


_SKIP_TOKENS = {"late", "assignsubmission", "file", "onlinetext", "submission", "untitled"}
_COPY_SUFFIX = re.compile(r"(?:\s*\(\d+\)|-\d+|_untitled\d*|\s+copy)+$", re.IGNORECASE)
"""Copies a browser or an LMS adds to a file name: "svm (1)", "svm-1" (a Canvas
resubmission), "svm_Untitled", "svm copy"."""


@dataclass(frozen=True)
class NamePattern:
    """How one LMS names the files of its submissions download.

    regex: matched (in full) against the file's path inside the download, with "/" between
    folders, and then against its base name. Named groups, as in nbgrader's
    ``FileNameCollectorPlugin.named_regexp``: ``student_id`` (a login or id, used as it is)
    or ``name`` (a display name), and optionally ``lms_id`` (the LMS's numeric user id),
    ``file`` (the file name the student uploaded), ``assignment``, ``timestamp`` and ``late``.
    timestamp_format: strptime format of the timestamp group (None: ISO 8601).
    """

    lms: str
    regex: re.Pattern
    timestamp_format: str | None = None


def _p(text: str) -> re.Pattern:
    return re.compile(text, re.IGNORECASE)


BUILTIN_PATTERNS = (
    # Moodle, "download submissions in folders": "Jane Roe_5678_assignsubmission_file_/svm.ipynb".
    NamePattern("moodle (folders)", _p(r"(?:.*/)?(?P<name>[^/]+?)_(?P<lms_id>\d+)_assign(?:submission|feedback)_"
                                       r"(?:file|onlinetext)_?/(?:.*/)?(?P<file>[^/]+)")),
    # Moodle, one file each: "Jane Roe_5678_assignsubmission_file_svm.ipynb".
    NamePattern("moodle", _p(r"(?:.*/)?(?P<name>[^/]+?)_(?P<lms_id>\d+)_assign(?:submission|feedback)_"
                             r"(?:file|onlinetext)_(?P<file>[^/]+)")),
    # Canvas: "<sortable name, letters and digits only>[_LATE]_<user id>_<submission id>_<file>".
    NamePattern("canvas", _p(r"(?:.*/)?(?P<name>[^\W_]+)(?P<late>_late)?_(?P<lms_id>\d+)_\d+_(?P<file>[^/]+)")),
    # Blackboard Learn, Assignment File Download:
    # "<assignment name>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file>".
    NamePattern("blackboard", _p(r"(?:.*/)?[^/]*?_(?P<student_id>[^_/]+)_attempt_"
                                 r"(?P<timestamp>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})_(?P<file>[^/]+)"),
                "%Y-%m-%d-%H-%M-%S"),
    # Brightspace (D2L): "<n>-<n> - Jane Roe - Mar 1, 2026 1159 PM/svm.ipynb", or the same
    # text, " - ", and the file name, without the folder.
    NamePattern("brightspace", _p(r"(?:.*/)?\d+-\d+ - (?P<name>[^/]+?) - (?P<timestamp>[a-z]{3} \d{1,2}, \d{4} "
                                  r"\d{3,4} [ap]m)(?:/(?:.*/)?| - )(?P<file>[^/]+)"),
                "%b %d, %Y %I%M %p"),
)


def name_pattern(regex: str, timestamp_format: str | None = None) -> NamePattern:
    """A NamePattern from an instructor's regular expression (``--name-pattern``).

    Raises ValueError when it does not compile or has neither a student_id nor a name group.
    """
    try:
        compiled = re.compile(regex)
    except re.error as err:
        raise ValueError(f"--name-pattern {regex!r} is not a regular expression: {err}") from None
    if not {"student_id", "name"} & set(compiled.groupindex):
        raise ValueError(f"--name-pattern {regex!r} needs a named group (?P<student_id>...) or (?P<name>...)")
    return NamePattern("--name-pattern", compiled, timestamp_format)


_STUDENT_ID = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*(?:-\d+)?")
"""A student id as collect makes them: a normalized name, maybe "-" and an LMS user id."""


def student_key(name: str, user_id: str | None) -> str:
    """The student's id: the normalized name, with the LMS user id after a "-" when there is
    one (normalized names never hold "-", so "jane_roe-12" cannot be mistaken for a name)."""
    return f"{name}-{user_id}" if user_id else name


@dataclass
class _Parsed:
    student: str
    assignment: str | None
    late: bool = False
    lms_id: str | None = None
    name: str = ""
    when: dt.datetime | None = None
    lms: str = ""


def parse_lms_name(filename: str, assignments: list[str], assignment: str | None = None):
    """Read (student, assignment, marked_late) from an LMS file name.

    filename: the base name of a .ipynb file (or its path inside the download);
    assignments: known assignment names; assignment: the one to assume when the name does
    not say. The student is the normalized display name, followed by the LMS's numeric user
    id when the LMS format has one (Canvas "doejane_1234_5678_svm.ipynb" -> "doejane-1234",
    Moodle "Jane Doe_1234_assignsubmission_file_svm.ipynb" -> "jane_doe-1234"): two LMS users
    are never merged because their names look alike, and digits in a display name are never
    taken for an id.
    Raises ValueError naming the file when the student or the assignment cannot be told.
    """
    got = _parse_name(filename, assignments, assignment)
    if got.assignment is None:
        raise ValueError(f"{filename}: cannot tell the assignment from the name; pass --assignment")
    return got.student, got.assignment, got.late


def _assignment_in(text: str, assignments: list[str]) -> str | None:
    tokens = [t.lower() for t in re.split(r"[_\-. ()]+", text) if t]
    return next((a for a in assignments if a in tokens), None)


def _strip_copy(stem: str) -> str:
    return _COPY_SUFFIX.sub("", stem)


def _when(text: str | None, fmt: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        if fmt and "%I%M" in fmt:  # "926 PM" is 9:26: pad the clock to four digits
            text = re.sub(r"(\d{3,4}) ([ap]m)$", lambda m: f"{int(m[1]):04d} {m[2]}", text, flags=re.IGNORECASE)
        when = dt.datetime.strptime(text, fmt) if fmt else dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.astimezone(dt.timezone.utc).replace(tzinfo=None) if when.tzinfo else when


def _from_pattern(pattern: NamePattern, rel: str, assignments: list[str], assignment: str | None) -> _Parsed | None:
    for text in (rel, rel.rsplit("/", 1)[-1]):
        m = pattern.regex.fullmatch(text)
        if m:
            break
    else:
        return None
    groups = {k: v for k, v in m.groupdict().items() if v is not None}
    file = groups.get("file", rel.rsplit("/", 1)[-1])
    stem = _strip_copy(file[:-6] if file.lower().endswith(".ipynb") else file)
    found = groups.get("assignment")
    found = found if found in assignments else (_assignment_in(stem, assignments) or assignment)
    uid = groups.get("lms_id")
    uid = (uid.lstrip("0") or "0") if uid else None
    raw_name = groups.get("student_id") or groups.get("name") or ""
    name = normalize_student(raw_name)
    student = name if "student_id" in groups else student_key(name, uid)
    return _Parsed(student, found, bool(groups.get("late")), uid, raw_name,
                   _when(groups.get("timestamp"), pattern.timestamp_format), pattern.lms)


def _parse_name(rel: str, assignments: list[str], assignment: str | None = None,
                patterns: tuple[NamePattern, ...] = ()) -> _Parsed:
    """Who handed the file in, from its path inside the download; the assignment is None when
    neither the name nor ``assignment`` tells it. Raises ValueError when no student is found."""
    rel = rel.replace("\\", "/")
    for pattern in (*patterns, *BUILTIN_PATTERNS):
        got = _from_pattern(pattern, rel, assignments, assignment)
        if got is not None:
            return got
    filename = rel.rsplit("/", 1)[-1]
    stem = filename[:-6] if filename.lower().endswith(".ipynb") else filename
    stem = _strip_copy(stem)
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
    if not rest:
        raise ValueError(f"{filename}: cannot tell the student from the name")
    return _Parsed(normalize_student(rest[0]), found, late, None, rest[0], None, "plain")


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


def notebook_grade_ids(path: Path) -> set[str] | None:
    """The nbgrader grade_ids of a notebook's cells; None when it cannot be read."""
    from autograder.notebook import grade_id

    try:
        nb = read_notebook(path)
    except (InvalidNotebook, OSError):
        return None
    return {gid for gid in (grade_id(c) for c in nb.cells) if gid}


def assignment_of_cells(ids: set[str] | None, grade_ids: dict[str, set[str]]) -> str | None:
    """The assignment whose graded cells the notebook holds most of, or None when it holds
    none of any assignment's (or cannot be read)."""
    if not ids:
        return None
    best = max(grade_ids, key=lambda a: (len(ids & grade_ids[a]), a), default=None)
    return best if best is not None and ids & grade_ids[best] else None


def parse_mapping(items: list[str] | None) -> dict[str, str]:
    """{file: student} from ``--map FILE=STUDENT`` options; raises ValueError for a bad one."""
    out = {}
    for item in items or []:
        file, sep, student = item.rpartition("=")
        if not sep or not file.strip() or not student.strip():
            raise ValueError(f"--map {item!r} must be FILE=STUDENT, e.g. --map 'Untitled (3).ipynb=jane_roe'")
        out[file.strip()] = student.strip()
    return out


def _stamp(when: dt.datetime | None) -> str | None:
    return when.isoformat(sep=" ") if when else None


@dataclass
class _Candidate:
    path: Path
    rel: str
    parsed: _Parsed | None
    when: dt.datetime | None
    problem: str | None = None


def _read_manifest(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {"submissions": {}, "unmatched": {}}
    data.setdefault("submissions", {})
    data.setdefault("unmatched", {})
    return data


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    tmp.replace(path)


def _keep_previous(folder: Path, superseded: Path, label: str) -> Path:
    """Move the files of folder into superseded/<label>[-n]/ (never overwriting); return it."""
    target = superseded / label
    n = 1
    while target.exists():
        n += 1
        target = superseded / f"{label}-{n}"
    target.mkdir(parents=True)
    for item in folder.iterdir():
        shutil.move(str(item), str(target / item.name))
    return target


def _label(when: dt.datetime | None) -> str:
    return when.strftime("%Y-%m-%dT%H-%M-%S") if when else "unknown-time"


def collect(source: Path, dest: Path, assignments: list[str], assignment: str | None = None,
            deadline: dt.datetime | dict | None = None, limits: ZipLimits | None = None, *,
            roster=None, mapping: dict[str, str] | None = None,
            patterns: tuple[NamePattern, ...] = (), grade_ids: dict[str, set[str]] | None = None
            ) -> CollectReport:
    """Gather submissions from source into dest/<student>/<assignment>/<assignment>.ipynb.

    source: a zip, a folder of LMS files, or an nbgrader submitted/ folder (or its parent).
    dest: the submitted/ folder; nothing in it is ever deleted. A notebook that replaces an
        earlier one (newer submission time) moves the earlier one to
        dest/../superseded/<student>/<assignment>/<its time>/; an incoming one older than what
        is there goes there instead, and so do the older of several in one download.
    assignments: known assignment names; assignment: the one to assume for bare names.
    deadline: a datetime, or {assignment: datetime}; later submissions are reported late.
    roster: an autograder.roster.Roster; a file that matches nobody on it is unmatched.
    mapping: {file name or path inside the download: student} (``--map``), tried first.
    patterns: the instructor's NamePatterns, tried before the built-in LMS ones.
    grade_ids: {assignment: its source notebook's grade_ids}; a notebook whose graded cells
        belong to another assignment than its name says is unmatched, not filed wrongly, and
        a notebook whose name tells no assignment ("Untitled.ipynb") is filed by its cells.
    Every notebook not filed is copied to dest/../unmatched/ and listed in the report and in
    dest/../collect/manifest.json, which also keeps who sent which file when.
    Raises ValueError, before anything is written, when source does not exist or is a file
    that is not a zip; every other problem is reported, never raised.
    """
    source, dest = Path(source), Path(dest)
    if assignment is not None and assignment not in assignments:
        raise ValueError(f"assignment must be one of {', '.join(assignments)}; got {assignment!r}")
    if not source.exists():
        raise ValueError(f"source {source} does not exist; nothing was changed in {dest}")
    if source.is_file() and not zipfile.is_zipfile(source):
        raise ValueError(f"source {source} is a file but not a zip; pass the LMS's zip download or a "
                         f"folder; nothing was changed in {dest}")
    if not source.is_file() and not source.is_dir():
        raise ValueError(f"source {source} is neither a zip file nor a folder; nothing was changed in {dest}")
    mapping = dict(mapping or {})
    report = CollectReport()
    out = dest.parent
    superseded, unmatched_dir = out / "superseded", out / "unmatched"
    manifest_path = out / "collect" / "manifest.json"
    zipped: dict[Path, dt.datetime | None] = {}
    unpacked: Path | None = None
    made_out = not out.exists()
    try:
        if source.is_file():
            out.mkdir(parents=True, exist_ok=True)
            unpacked = Path(tempfile.mkdtemp(prefix=".unpack-", dir=out))
            try:
                zipped = dict(safe_extract(source, unpacked / "x", limits, report.problems))
            except ValueError as err:  # UnsafeArchive included
                message = str(err)
                if message.startswith(f"{source.name}: "):
                    message = message[len(source.name) + 2:]
                report.problems.append((source.name, f"{message}; the whole zip was refused, nothing was written"))
                return report
            source = unpacked / "x"
        if (source / "submitted").is_dir():
            source = source / "submitted"
        dest.mkdir(parents=True, exist_ok=True)
        _collect_into(source, dest, assignments, assignment, deadline, report, zipped, roster, mapping,
                      tuple(patterns), grade_ids, superseded, unmatched_dir, manifest_path)
    finally:
        if unpacked is not None:
            shutil.rmtree(unpacked, ignore_errors=True)
        if made_out and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # a refused zip leaves no trace
    return report


def _parse_one(path: Path, rel: str, parts: tuple[str, ...], assignments, assignment, mapping, patterns,
               roster, grade_ids) -> tuple[_Parsed | None, str | None]:
    """(who and which assignment, None) or (best guess or None, why it is unmatched)."""
    from_map = mapping.get(rel, mapping.get(path.name))
    try:
        if from_map is not None:
            mapped = from_map if _STUDENT_ID.fullmatch(from_map) else normalize_student(from_map)
            uid = mapped.rsplit("-", 1)[1] if "-" in mapped else None
            parsed = _Parsed(mapped, assignment, lms="--map", name=from_map, lms_id=uid)
            try:
                guess = _parse_name(rel, assignments, assignment, patterns)
                parsed.assignment, parsed.when, parsed.late = guess.assignment, guess.when, guess.late
            except ValueError:
                pass
        elif len(parts) == 3 and parts[1] in assignments:  # nbgrader layout
            parsed = _Parsed(normalize_student(parts[0]), parts[1], lms="nbgrader", name=parts[0])
        else:
            parsed = _parse_name(rel, assignments, assignment, patterns)
    except ValueError as err:
        return None, f"{err}; pass --map '{path.name}=STUDENT' or --name-pattern"
    if grade_ids:
        by_cells = assignment_of_cells(notebook_grade_ids(path), grade_ids)
        if from_map is not None and by_cells is not None:
            parsed.assignment = by_cells  # the instructor vouched for the file: its cells tell the assignment
        if by_cells is not None and parsed.assignment is not None and by_cells != parsed.assignment:
            return parsed, (f"its graded cells are those of {by_cells!r}, not {parsed.assignment!r}: not graded "
                            f"under {parsed.assignment!r}; to grade it as {by_cells!r}, pass "
                            f"--map '{path.name}=STUDENT' (or ask the student which notebook they meant to hand in)")
        if parsed.assignment is None:
            parsed.assignment = by_cells
    if parsed.assignment is None:
        return parsed, "cannot tell the assignment from the name or the cells; pass --assignment"
    if roster is not None:
        if from_map is not None:
            entry = roster.get(parsed.student) or roster.match(name=parsed.name)
            if entry is None:
                return parsed, (f"--map names {parsed.name!r}, who is not on the roster; use a rostered id "
                                f"such as {roster.entries[0].student!r}")
        else:
            entry = roster.match(parsed.student, parsed.lms_id, parsed.name)
        if entry is None:
            who = parsed.student + (f" (LMS id {parsed.lms_id})" if parsed.lms_id else "")
            return parsed, (f"{who} is not on the roster; add them to the roster or pass "
                            f"--map '{path.name}=STUDENT'")
        parsed.student, parsed.lms_id = entry.student, entry.lms_id or parsed.lms_id
    return parsed, None


def _collect_into(source, dest, assignments, assignment, deadline, report, zipped, roster, mapping, patterns,
                  grade_ids, superseded, unmatched_dir, manifest_path) -> None:
    manifest = _read_manifest(manifest_path)
    found: dict[tuple[str, str], list[tuple[Path, dt.datetime | None, bool, _Parsed]]] = {}
    names: dict[str, set[str]] = {}
    files = sorted(p for p in source.rglob("*") if p.is_file()
                   and not any(part.startswith(".") or part == "__MACOSX" for part in p.relative_to(source).parts))
    for path in files:
        rel_path = path.relative_to(source)
        rel = rel_path.as_posix()
        if path.name == "timestamp.txt":
            continue
        if path.suffix.lower() != ".ipynb":
            report.problems.append((str(rel_path), "not a notebook (.ipynb); ignored"))
            continue
        parsed, why = _parse_one(path, rel, rel_path.parts, assignments, assignment, mapping, patterns,
                                 roster, grade_ids)
        if why is not None:
            when = parsed.when if parsed and parsed.when else _timestamp_of(path, zipped)
            _unmatched(path, rel, why, parsed, when, report, unmatched_dir, manifest)
            continue
        assert parsed is not None and parsed.assignment is not None
        manifest["unmatched"].pop(rel, None)
        if parsed.lms_id and roster is None:
            names.setdefault(parsed.student.rsplit("-", 1)[0], set()).add(parsed.lms_id)
        when = parsed.when or _timestamp_of(path, zipped)
        found.setdefault((parsed.student, parsed.assignment), []).append((path, when, parsed.late, parsed))

    for name, users in sorted(names.items()):
        if len(users) > 1:
            listed = ", ".join(student_key(name, u) for u in sorted(users, key=int))
            report.problems.append((name, f"display-name collision: LMS users {', '.join(sorted(users, key=int))} "
                                          f"share the name {name!r}; they are kept apart as {listed}"))
    for (student, assign), entries in sorted(found.items()):
        entries.sort(key=lambda e: (e[1] or dt.datetime.min, str(e[0])))
        path, when, late, parsed = entries[-1]
        rel = path.relative_to(source).as_posix()
        if len(entries) > 1:
            older = [e[0].relative_to(source).as_posix() for e in entries[:-1]]
            report.duplicates.append((student, assign, rel, older))
            for old_path, old_when, _, _ in entries[:-1]:  # kept too: nothing that came in is lost
                _keep_previous_file(old_path, old_when, superseded / student / assign)
        due = deadline.get(assign) if isinstance(deadline, dict) else deadline
        if due is not None and when is not None and late_by(when, due) > 0:
            late = True
        stamp = _stamp(when)
        target = dest / student / assign / f"{assign}.ipynb"
        if not _place(path, when, target, superseded / student / assign, rel, report):
            continue
        if late:
            report.late.append((student, assign, stamp))
        try:
            read_notebook(target)
        except InvalidNotebook as err:
            report.problems.append((rel, f"corrupt notebook: {err}; it is kept and will be marked failed"))
        report.submissions.append(Submission(student, assign, str(target), rel, stamp, late, parsed.lms_id))
        manifest["submissions"].setdefault(assign, {})[student] = {
            "file": rel, "lms_id": parsed.lms_id, "submitted_at": when.isoformat() if when else None,
            "marked_late": bool(parsed.late), "lms": parsed.lms}
    (dest / "collect_report.json").write_text(json.dumps(report.to_dict(), indent=1))
    _write_json(manifest_path, manifest)


def _place(path: Path, when: dt.datetime | None, target: Path, superseded: Path, rel: str,
           report: CollectReport) -> bool:
    """Copy path to target unless what is there is the same or newer; nothing is deleted.
    Returns False when the incoming file was not placed (the one there is newer)."""
    if target.is_file():
        if target.read_bytes() == path.read_bytes():
            return True
        there = _timestamp_of(target, {})
        if when is not None and there is not None and there > when:
            kept = _keep_previous_file(path, when, superseded)
            report.problems.append((rel, f"older ({_stamp(when)}) than the notebook already collected "
                                         f"({_stamp(there)}); the newer one is kept, this one is in {kept}"))
            return False
        kept = _keep_previous(target.parent, superseded, _label(there))
        report.replaced.append((rel, str(kept)))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)
    if when is not None:
        (target.parent / "timestamp.txt").write_text(_stamp(when) or "")
    return True


def _keep_previous_file(path: Path, when: dt.datetime | None, superseded: Path) -> Path:
    """Copy path to superseded/<its time>[-n]/ unless the very same bytes are kept there already."""
    data = path.read_bytes()
    for kept in sorted(superseded.glob(f"{_label(when)}*/{path.name}")):
        if kept.read_bytes() == data:
            return kept.parent
    target = superseded / _label(when)
    n = 1
    while target.exists():
        n += 1
        target = superseded / f"{_label(when)}-{n}"
    target.mkdir(parents=True)
    shutil.copyfile(path, target / path.name)
    return target


def _unmatched(path: Path, rel: str, why: str, parsed: _Parsed | None, when: dt.datetime | None,
               report: CollectReport, unmatched_dir: Path, manifest: dict) -> None:
    """Keep an unmatched notebook (copied, never dropped) and list it."""
    stored = unmatched_dir / _safe_component(rel.replace("/", "__"))
    stored.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, stored)
    guess = parsed.student if parsed else None
    assign = parsed.assignment if parsed else None
    report.unmatched.append(Unmatched(rel, why, str(stored), guess, assign, parsed.lms_id if parsed else None,
                                      when.isoformat() if when else None))
    manifest["unmatched"][rel] = {"reason": why, "stored": str(stored), "guess": guess, "assignment": assign,
                                  "lms_id": parsed.lms_id if parsed else None,
                                  "submitted_at": when.isoformat() if when else None}


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
