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
    collect,
    normalize_student,
    parse_lms_name,
    safe_extract,
)

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
