"""The roster: nbgrader's student import CSV and a Canvas gradebook export, matching a
collected file to a rostered student, and the result fields grades go back by."""
from __future__ import annotations

import pytest

from autograder.results import PartResult, Status, SubmissionResult
from autograder.roster import RosterError, read_roster

CANVAS = '''Student,ID,SIS User ID,SIS Login ID,Section,SVM (12345)
    Points Possible,,,,,38
"Wang, Li",11223,S1,wangli,A,
"Roe, Jane",05678,S2,jroe,A,
"Kim, Min",7007,S5,kim7,B,
"Student, Test",999,,,A,
'''

NBGRADER = '''id,first_name,last_name,email,lms_user_id
jroe,Jane,Roe,jroe@uni.example,5678
bob,Bob,Lee,,
'''


def _write(tmp_path, text, name="roster.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_canvas_export_ids_agree_with_canvas_file_names(tmp_path):
    roster = read_roster(_write(tmp_path, CANVAS))
    assert roster.kind == "canvas"
    # The "Points Possible" row and Canvas's test student are not students.
    assert roster.students() == ["wangli-11223", "roejane-5678", "kimmin-7007"]
    jane = roster.get("roejane-5678")
    assert (jane.lms_id, jane.sis_id, jane.section, jane.login) == ("5678", "S2", "A", "jroe")


def test_nbgrader_student_import_format(tmp_path):
    roster = read_roster(_write(tmp_path, NBGRADER))
    assert roster.kind == "nbgrader" and roster.students() == ["jroe", "bob"]
    assert roster.get("jroe").lms_id == "5678" and roster.get("bob").lms_id is None


@pytest.mark.parametrize("student,lms_id,name,expected", [
    ("roejane-5678", "5678", "roejane", "roejane-5678"),        # Canvas file: the LMS id
    ("jane_roe-99", "99", "Jane Roe", "roejane-5678"),          # Moodle's participant id is not the user id: the name
    ("jroe", None, "jroe", "roejane-5678"),                     # Blackboard: the login
    ("li_wang", None, "Li Wang", "wangli-11223"),               # Brightspace: "First Last"
    ("stranger-1", "1", "stranger", None),
])
def test_match(tmp_path, student, lms_id, name, expected):
    roster = read_roster(_write(tmp_path, CANVAS))
    hit = roster.match(student, lms_id, name)
    assert (hit.student if hit else None) == expected


def test_a_name_two_students_share_matches_nobody(tmp_path):
    text = 'id,first_name,last_name\nlee1,Ann,Lee\nlee2,Ann,Lee\n'
    roster = read_roster(_write(tmp_path, text))
    assert roster.match(name="Ann Lee") is None
    assert roster.match(student="lee2").student == "lee2"


@pytest.mark.parametrize("text,message", [
    ("name,score\nx,1\n", "expected nbgrader's student import columns"),
    ("id,first_name\njane,Jane\njane,J\n", "lists jane more than once"),
    ("id\n", "lists no student"),
    ("id,first_name\n,Jane\n", "row 2: the id column is empty"),
])
def test_bad_rosters_say_what_is_wrong(tmp_path, text, message):
    with pytest.raises(RosterError, match=message):
        read_roster(_write(tmp_path, text))


def test_a_missing_roster_file_is_named(tmp_path):
    with pytest.raises(RosterError, match="does not exist"):
        read_roster(tmp_path / "nope.csv")


def test_result_fields_round_trip_through_the_record_json():
    part = PartResult("f_loss", 3.0, 3.0, "ok")
    res = SubmissionResult("roejane-5678", "svm", Status.GRADED, None, {"f_loss": part}, {}, [], [], 3.0, 3.0,
                           1.0, True, lms_id="5678", submitted_at="2026-03-02T05:30:00", late_by=19860.0,
                           penalty=3.8, file="roejane_5678_1_svm.ipynb")
    data = res.to_dict()
    assert data["final_score"] == 0.0  # never below 0
    back = SubmissionResult.from_dict(data)
    assert back == res and back.final_score == 0.0 and back.graded
    missing = SubmissionResult.ungraded("bob", "svm", Status.MISSING, "no submission", max_score=38)
    assert not missing.graded and SubmissionResult.from_dict(missing.to_dict()).status == "missing"
    old = {k: v for k, v in data.items() if k not in ("lms_id", "submitted_at", "late_by", "penalty", "file",
                                                      "final_score")}
    assert SubmissionResult.from_dict(old).penalty == 0.0  # records written before these fields still load
