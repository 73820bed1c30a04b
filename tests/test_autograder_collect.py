"""collect: safe unzip, student ids, LMS names, duplicates, late and broken files."""
from __future__ import annotations

import datetime as dt
import json
import zipfile

import pytest

import autograder  # noqa: F401  (first: it keeps nbformat's import fast)

# isort: split
import nbformat

from autograder.collect import (
    UnsafeArchive,
    ZipLimits,
    _parse_name,
    collect,
    name_pattern,
    normalize_student,
    parse_lms_name,
    parse_mapping,
    safe_extract,
)
from autograder.roster import read_roster

ASSIGNMENTS = ["softmax", "svm"]


def _nb_bytes(text="x = 1") -> bytes:
    return nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(text)])).encode()


def _zip(path, entries):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, *when in entries:
            info = zipfile.ZipInfo(name, date_time=when[0] if when else (2026, 11, 20, 12, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return path


@pytest.mark.parametrize("raw,expected", [
    ("Jane Doe", "jane_doe"), (" DOE.Jane ", "doe_jane"), ("jürgen-müller", "jurgen_muller"),
    ("a__b", "a_b"),
])
def test_normalize_student(raw, expected):
    assert normalize_student(raw) == expected


def test_normalize_student_rejects_empty():
    with pytest.raises(ValueError, match="student id"):
        normalize_student("!!!")


@pytest.mark.parametrize("name,expected", [
    ("doejane_LATE_1234_5678_svm.ipynb", ("doejane-1234", "svm", True)),
    ("doejane_1234_5678_svm-1.ipynb", ("doejane-1234", "svm", False)),
    ("Jane Doe_1234_assignsubmission_file_softmax.ipynb", ("jane_doe-1234", "softmax", False)),
    ("alice-svm.ipynb", ("alice", "svm", False)),
])
def test_parse_lms_names(name, expected):
    assert parse_lms_name(name, ASSIGNMENTS) == expected


def test_bare_name_needs_the_assignment():
    with pytest.raises(ValueError, match="--assignment"):
        parse_lms_name("alice.ipynb", ASSIGNMENTS)
    assert parse_lms_name("alice.ipynb", ASSIGNMENTS, "svm") == ("alice", "svm", False)


@pytest.mark.parametrize("name", ["../evil.ipynb", "/abs/evil.ipynb", "a/../../evil.ipynb", "C:/evil.ipynb"])
def test_path_traversal_is_refused(tmp_path, name):
    archive = _zip(tmp_path / "sub.zip", [("ok_svm.ipynb", _nb_bytes()), (name, b"x")])
    with pytest.raises(UnsafeArchive, match="outside"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.ipynb").exists()


def test_symlink_entry_is_refused(tmp_path):
    archive = tmp_path / "sub.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("link.ipynb")
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(UnsafeArchive, match="link"):
        safe_extract(archive, tmp_path / "out")


def test_zip_bomb_is_refused_on_bytes_read(tmp_path):
    archive = _zip(tmp_path / "bomb.zip", [("bomb_svm.ipynb", b"\0" * 30_000_000)])
    with pytest.raises(UnsafeArchive, match="zip bomb"):
        safe_extract(archive, tmp_path / "out", ZipLimits(max_ratio=50))
    with pytest.raises(UnsafeArchive, match="zip bomb"):
        safe_extract(archive, tmp_path / "out", ZipLimits(max_total_bytes=1_000_000, max_ratio=1e9))


def test_too_many_entries(tmp_path):
    archive = _zip(tmp_path / "many.zip", [(f"s{i}_svm.ipynb", b"{}") for i in range(20)])
    with pytest.raises(UnsafeArchive, match="entries"):
        safe_extract(archive, tmp_path / "out", ZipLimits(max_entries=10))


def test_collect_lms_zip_reports_everything_and_never_stops(tmp_path):
    archive = _zip(tmp_path / "export.zip", [
        ("doejane_1234_5678_svm.ipynb", _nb_bytes("a = 1"), (2026, 11, 20, 10, 0, 0)),
        ("doejane_1234_5679_svm-1.ipynb", _nb_bytes("a = 2"), (2026, 11, 21, 10, 0, 0)),
        ("smithbob_LATE_22_33_svm.ipynb", _nb_bytes(), (2026, 11, 20, 9, 0, 0)),
        ("leeann_44_55_svm.ipynb", _nb_bytes(), (2026, 11, 25, 9, 0, 0)),
        ("brokenkid_66_77_svm.ipynb", b"{broken"),
        ("notes_88_99_svm.pdf", b"%PDF"),
    ])
    report = collect(archive, tmp_path / "out" / "submitted", ASSIGNMENTS,
                     deadline=dt.datetime(2026, 11, 22))
    got = {(s.student, s.assignment) for s in report.submissions}
    assert got == {("doejane-1234", "svm"), ("smithbob-22", "svm"), ("leeann-44", "svm"), ("brokenkid-66", "svm")}
    kept = tmp_path / "out" / "submitted" / "doejane-1234" / "svm" / "svm.ipynb"
    assert "a = 2" in kept.read_text()  # the newest of the duplicates
    assert [d[0] for d in report.duplicates] == ["doejane-1234"]
    assert {s for s, _, _ in report.late} == {"smithbob-22", "leeann-44"}
    assert {s.student: s.lms_id for s in report.submissions}["leeann-44"] == "44"
    problems = dict(report.problems)
    assert "not a notebook" in problems["notes_88_99_svm.pdf"]
    assert "corrupt notebook" in problems["brokenkid_66_77_svm.ipynb"]
    saved = json.loads((tmp_path / "out" / "submitted" / "collect_report.json").read_text())
    assert len(saved["submissions"]) == 4


def test_two_lms_users_are_never_merged_and_a_name_collision_is_reported(tmp_path):
    archive = _zip(tmp_path / "lms.zip", [
        ("roejane_1234_1_svm.ipynb", _nb_bytes("a = 1")),
        ("Jane Roe_5678_assignsubmission_file_svm.ipynb", _nb_bytes("a = 2")),
        ("José Díaz_11_assignsubmission_file_svm.ipynb", _nb_bytes()),
        ("Jose Diaz_12_assignsubmission_file_svm.ipynb", _nb_bytes()),
    ])
    report = collect(archive, tmp_path / "out", ASSIGNMENTS)
    assert sorted(s.student for s in report.submissions) == ["jane_roe-5678", "jose_diaz-11", "jose_diaz-12",
                                                             "roejane-1234"]
    assert report.duplicates == []
    problems = dict(report.problems)
    assert "display-name collision" in problems["jose_diaz"] and "11, 12" in problems["jose_diaz"]


def test_digits_in_a_display_name_are_never_taken_for_an_id(tmp_path):
    # Moodle: the participant id is the number right before "assignsubmission".
    assert parse_lms_name("alice_1000_77_assignsubmission_file_svm.ipynb", ASSIGNMENTS) == \
        ("alice_1000-77", "svm", False)
    # Canvas strips the sortable name to letters and digits: the first two numbers are the ids.
    assert parse_lms_name("alice1000_77_1234_svm_final.ipynb", ASSIGNMENTS) == ("alice1000-77", "svm", False)
    archive = _zip(tmp_path / "lms.zip", [
        ("Alice_1000_assignsubmission_file_svm.ipynb", _nb_bytes("a = 1")),
        ("alice_1000_77_assignsubmission_file_svm.ipynb", _nb_bytes("a = 2")),
    ])
    report = collect(archive, tmp_path / "out", ASSIGNMENTS)
    assert sorted(s.student for s in report.submissions) == ["alice-1000", "alice_1000-77"]
    assert report.duplicates == []


def test_a_member_name_no_file_system_takes_costs_that_file_only(tmp_path):
    long_name = "x" * 300 + "_5_6_svm.ipynb"
    archive = _zip(tmp_path / "lms.zip", [
        (long_name, _nb_bytes()),
        ("roejane_1234_1_svm.ipynb", _nb_bytes()),
        ("bad\nname_7_8_svm.ipynb", _nb_bytes()),
    ])
    report = collect(archive, tmp_path / "out", ASSIGNMENTS)
    students = sorted(s.student for s in report.submissions)
    assert "roejane-1234" in students and len(students) == 3, (students, report.problems)


def test_collect_nbgrader_layout(tmp_path):
    src = tmp_path / "course" / "submitted"
    for student in ("Alice", "bob"):
        path = src / student / "svm" / "svm.ipynb"
        path.parent.mkdir(parents=True)
        path.write_bytes(_nb_bytes())
    (src / "bob" / "svm" / "timestamp.txt").write_text("2026-11-20 10:00:00.000000 UTC")
    report = collect(tmp_path / "course", tmp_path / "out", ASSIGNMENTS)
    assert sorted(s.student for s in report.submissions) == ["alice", "bob"]
    assert report.problems == []


def test_unsafe_zip_is_reported_not_raised(tmp_path):
    archive = _zip(tmp_path / "evil.zip", [("../../x_svm.ipynb", _nb_bytes())])
    report = collect(archive, tmp_path / "out", ASSIGNMENTS)
    assert report.submissions == [] and "outside" in report.problems[0][1]


# -- awkward names, the roster, nothing lost ---------------------------------------------

GRADE_IDS = {"svm": {"svm_loss_naive_loss", "q_kink"}, "softmax": {"softmax_loss_naive_loss", "q_softmax"}}


def _graded_nb(assignment: str, text: str = "x = 1") -> bytes:
    """A notebook holding the graded cells of assignment (what collect files it by)."""
    cells = [nbformat.v4.new_code_cell(text)]
    for gid in sorted(GRADE_IDS[assignment]):
        cell = nbformat.v4.new_code_cell("pass")
        cell.metadata["nbgrader"] = {"grade_id": gid, "grade": True, "points": 1}
        cells.append(cell)
    return nbformat.writes(nbformat.v4.new_notebook(cells=cells)).encode()


@pytest.mark.parametrize("rel,expected", [
    # (student, assignment, LMS id, submission time from the name)
    ("wangli_11223_55555_svm (1).ipynb", ("wangli-11223", "svm", "11223", None)),
    ("Jane Roe_5678_assignsubmission_file_/svm.ipynb", ("jane_roe-5678", "svm", "5678", None)),
    ("Jane Roe_5678_assignsubmission_file_/work/svm (2).ipynb", ("jane_roe-5678", "svm", "5678", None)),
    ("doejohn_LATE_2001_66001_svm_Untitled.ipynb", ("doejohn-2001", "svm", "2001", None)),
    ("doejohn_2001_66001_Untitled.ipynb", ("doejohn-2001", None, "2001", None)),
    ("smithann_3003_77001_softmax-1.ipynb", ("smithann-3003", "softmax", "3003", None)),
    ("HW 2_kim7_attempt_2026-03-01-21-15-00_svm.ipynb", ("kim7", "svm", None, "2026-03-01 21:15:00")),
    ("123-456 - Ada Lovelace - Mar 1, 2026 926 PM/svm.ipynb", ("ada_lovelace", "svm", None, "2026-03-01 21:26:00")),
    ("123-456 - Ada Lovelace - Mar 1, 2026 1159 PM - softmax.ipynb",
     ("ada_lovelace", "softmax", None, "2026-03-01 23:59:00")),
    ("bob_svm copy.ipynb", ("bob", "svm", None, None)),
])
def test_lms_names(rel, expected):
    got = _parse_name(rel, ASSIGNMENTS)
    assert (got.student, got.assignment, got.lms_id, str(got.when) if got.when else None) == expected


def test_an_instructors_pattern_goes_first():
    pattern = name_pattern(r"(?P<student_id>[a-z]+)\.(?P<lms_id>\d+)\.(?P<file>.+)")
    got = _parse_name("amy.42.svm.ipynb", ASSIGNMENTS, patterns=(pattern,))
    assert (got.student, got.assignment, got.lms_id, got.lms) == ("amy", "svm", "42", "--name-pattern")
    with pytest.raises(ValueError, match="needs a named group"):
        name_pattern(r"(\w+)_svm")
    with pytest.raises(ValueError, match="not a regular expression"):
        name_pattern(r"(?P<name>")


def test_a_mistyped_source_changes_nothing(tmp_path):
    dest = tmp_path / "out" / "submitted"
    collect(_zip(tmp_path / "a.zip", [("roejane_1_2_svm.ipynb", _nb_bytes())]), dest, ASSIGNMENTS)
    before = sorted(p.relative_to(tmp_path) for p in (tmp_path / "out").rglob("*"))
    with pytest.raises(ValueError, match="does not exist; nothing was changed"):
        collect(tmp_path / "typo.zip", dest, ASSIGNMENTS)
    (tmp_path / "notes.txt").write_text("not a zip")
    with pytest.raises(ValueError, match="not a zip"):
        collect(tmp_path / "notes.txt", dest, ASSIGNMENTS)
    assert sorted(p.relative_to(tmp_path) for p in (tmp_path / "out").rglob("*")) == before


def test_a_newer_submission_keeps_the_earlier_one_and_an_older_never_replaces(tmp_path):
    dest = tmp_path / "out" / "submitted"
    collect(_zip(tmp_path / "1.zip", [("roejane_1_2_svm.ipynb", _nb_bytes("a = 1"), (2026, 3, 1, 10, 0, 0)),
                                      ("leeann_3_4_svm.ipynb", _nb_bytes("b = 1"), (2026, 3, 1, 10, 0, 0))]),
            dest, ASSIGNMENTS)
    # The second download holds only one student: nobody else is deleted.
    report = collect(_zip(tmp_path / "2.zip", [("roejane_1_5_svm-1.ipynb", _nb_bytes("a = 2"),
                                                (2026, 3, 2, 10, 0, 0))]), dest, ASSIGNMENTS)
    assert "a = 2" in (dest / "roejane-1" / "svm" / "svm.ipynb").read_text()
    assert "b = 1" in (dest / "leeann-3" / "svm" / "svm.ipynb").read_text()
    kept = tmp_path / "out" / "superseded" / "roejane-1" / "svm" / "2026-03-01T10-00-00"
    assert "a = 1" in (kept / "svm.ipynb").read_text() and report.replaced
    # An older copy arriving later is kept aside, never over the newer one.
    report = collect(_zip(tmp_path / "3.zip", [("roejane_1_2_svm.ipynb", _nb_bytes("a = 0"),
                                                (2026, 2, 28, 10, 0, 0))]), dest, ASSIGNMENTS)
    assert "a = 2" in (dest / "roejane-1" / "svm" / "svm.ipynb").read_text()
    assert "older" in dict(report.problems)["roejane_1_2_svm.ipynb"]
    notebooks = sorted(p.read_text().count("a = ") for p in (tmp_path / "out").rglob("*.ipynb"))
    assert len(notebooks) == 4  # a = 0, 1, 2 and b = 1: every version is on disk


def test_a_notebook_of_another_assignment_is_reported_not_filed(tmp_path):
    archive = _zip(tmp_path / "lms.zip", [
        ("smithann_3003_77001_svm.ipynb", _graded_nb("softmax")),    # the softmax notebook, handed in as svm
        ("doejohn_2001_66001_Untitled.ipynb", _graded_nb("svm")),     # the name tells nothing: the cells do
        ("roejane_5678_1_svm.ipynb", _graded_nb("svm")),
    ])
    report = collect(archive, tmp_path / "out" / "submitted", ASSIGNMENTS, assignment="svm", grade_ids=GRADE_IDS)
    assert sorted((s.student, s.assignment) for s in report.submissions) == [("doejohn-2001", "svm"),
                                                                             ("roejane-5678", "svm")]
    [u] = report.unmatched
    assert u.file == "smithann_3003_77001_svm.ipynb" and "graded cells are those of 'softmax'" in u.reason
    assert (tmp_path / "out" / "unmatched" / u.file).exists()
    # The instructor files it: the cells say softmax.
    report = collect(archive, tmp_path / "out" / "submitted", ASSIGNMENTS, assignment="svm", grade_ids=GRADE_IDS,
                     mapping=parse_mapping(["smithann_3003_77001_svm.ipynb=smithann-3003"]))
    assert ("smithann-3003", "softmax") in {(s.student, s.assignment) for s in report.submissions}
    assert report.unmatched == []
    manifest = json.loads((tmp_path / "out" / "collect" / "manifest.json").read_text())
    assert manifest["unmatched"] == {} and manifest["submissions"]["softmax"]["smithann-3003"]["lms_id"] == "3003"


def test_with_a_roster_every_file_is_matched_or_unmatched(tmp_path):
    roster_csv = tmp_path / "roster.csv"
    roster_csv.write_text('Student,ID,SIS User ID,SIS Login ID,Section\n"Roe, Jane",5678,S2,jroe,A\n'
                          '"Kim, Min",7007,S5,kim7,B\n"Lovelace, Ada",8008,S6,ada,B\n')
    roster = read_roster(roster_csv)
    archive = _zip(tmp_path / "lms.zip", [
        ("Jane Roe_5678_assignsubmission_file_/svm.ipynb", _nb_bytes()),        # Moodle: the name
        ("HW2_kim7_attempt_2026-03-01-21-15-00_svm.ipynb", _nb_bytes()),        # Blackboard: the login
        ("123-456 - Ada Lovelace - Mar 1, 2026 926 PM/svm.ipynb", _nb_bytes()),  # Brightspace: the name
        ("stranger_9999_1_svm.ipynb", _nb_bytes()),
        ("!!!.ipynb", _nb_bytes()),
    ])
    report = collect(archive, tmp_path / "out" / "submitted", ASSIGNMENTS, roster=roster)
    assert sorted(s.student for s in report.submissions) == ["kimmin-7007", "lovelaceada-8008", "roejane-5678"]
    assert {s.student: s.lms_id for s in report.submissions}["kimmin-7007"] == "7007"
    reasons = {u.file: u.reason for u in report.unmatched}
    assert "not on the roster" in reasons["stranger_9999_1_svm.ipynb"]
    assert "cannot make a student id" in reasons["!!!.ipynb"] and "--map" in reasons["!!!.ipynb"]
    assert "UNMATCHED: stranger_9999_1_svm.ipynb" in report.text()
    with pytest.raises(ValueError, match="FILE=STUDENT"):
        parse_mapping(["stranger.ipynb"])
