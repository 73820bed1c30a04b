"""Reading submissions strictly and rebuilding them from the source notebook (no sandbox)."""
from __future__ import annotations

import json

import pytest

import autograder  # noqa: F401  (first: it keeps nbformat's import fast)

# isort: split
import nbformat

from autograder.notebook import InvalidNotebook, graded_parts, read_notebook, rebuild, setup_imports
from autograder.selfcheck import check_integrity
from tools import make_samples as ms


@pytest.fixture(scope="module")
def course():
    source = ms.mini_source("svm")
    release = ms.make_release(source)
    return source, release


def _ids(nb):
    return [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]


def _cell(nb, gid):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)


def _copy(nb):
    return nbformat.from_dict(json.loads(json.dumps(nb)))


@pytest.mark.parametrize("content,reason", [
    (b"{not json", "not valid JSON"),
    (json.dumps({"nbformat": 3, "nbformat_minor": 0, "worksheets": [], "metadata": {}}).encode(), "nbformat 3"),
    (json.dumps({"nbformat": 4, "nbformat_minor": 5, "cells": [], "metadata": {}}).encode(), "no cells"),
    ("{\"cells\": \"caf\u00e9\"}".encode("latin-1"), "not UTF-8"),
    (b"[1, 2]", "not a notebook"),
])
def test_invalid_notebooks_give_a_reason(tmp_path, content, reason):
    path = tmp_path / "svm.ipynb"
    path.write_bytes(content)
    with pytest.raises(InvalidNotebook, match=reason):
        read_notebook(path)


def test_rebuild_takes_tests_from_source_and_answers_from_student(course):
    source, release = course
    student = ms.fill(release, ms.all_correct(["svm_loss_naive"]))
    out = rebuild(student, source, release)
    assert _ids(out.notebook) == _ids(source)
    assert "def svm_loss_naive" in out.answers["svm_loss_naive"] and out.answered["svm_loss_naive"]
    assert not out.answered["predict"]  # still the release's stub
    assert "BEGIN HIDDEN TESTS" in _cell(out.notebook, "svm_loss_naive_loss").source
    assert "BEGIN SOLUTION" not in json.dumps(out.answers)
    assert out.flags == []


def test_edited_deleted_and_stripped_test_cells_change_nothing(course):
    source, release = course
    student = _copy(release)
    _cell(student, "sgd_step_correct").source = "pass"                        # edited
    student.cells = [c for c in student.cells
                     if c.metadata.get("nbgrader", {}).get("grade_id") != "predict_correct"]  # deleted
    del _cell(student, "svm_loss_naive_loss").metadata["nbgrader"]            # metadata stripped
    out = rebuild(student, source, release)
    for gid in ("svm_loss_naive_loss", "predict_correct", "sgd_step_correct"):
        assert _cell(out.notebook, gid).source == _cell(source, gid).source
    assert any("sgd_step_correct" in f and "edited" in f for f in out.flags)
    assert any("predict_correct" in n and "deleted" in n for n in out.notes)
    assert any("svm_loss_naive_loss" in n and "metadata" in n for n in out.notes)


def test_fake_graded_cell_is_dropped_and_flagged(course):
    source, release = course
    student = _copy(release)
    fake = nbformat.v4.new_code_cell("print('all good')")
    fake.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "bonus", "points": 100,
                                 "locked": True, "schema_version": 3}
    student.cells.append(fake)
    out = rebuild(student, source, release)
    assert "bonus" not in _ids(out.notebook)
    assert any("bonus" in f and "100" in f for f in out.flags)


def test_duplicated_and_retyped_cells_are_flagged(course):
    source, release = course
    student = _copy(release)
    student.cells.append(_copy(_cell(release, "predict_correct")))
    test = _cell(student, "sample_batch_correct")
    student.cells[student.cells.index(test)] = nbformat.v4.new_markdown_cell(test.source, metadata=test.metadata)
    out = rebuild(student, source, release)
    assert any("predict_correct" in f and "2 times" in f for f in out.flags)
    assert any("sample_batch_correct" in f and "retyped" in f for f in out.flags)
    assert _cell(out.notebook, "sample_batch_correct").cell_type == "code"


def test_missing_answer_cell_gets_the_stub(course):
    source, release = course
    student = _copy(release)
    student.cells = [c for c in student.cells
                     if c.metadata.get("nbgrader", {}).get("grade_id") != "predict"]
    out = rebuild(student, source, release)
    assert out.answers["predict"] == _cell(release, "predict").source
    assert any("'predict' is missing" in n for n in out.notes)


def test_parts_and_setup(course):
    source, _ = course
    parts = graded_parts(source)
    assert [p["grade_id"] for p in parts if p["kind"] == "manual"] == ["q_initial_loss"]
    assert sum(p["points"] for p in parts) == 11
    assert setup_imports(source)[0] == "import numpy as np"


def test_selfcheck_integrity(course):
    _, release = course
    assert check_integrity(_copy(release), release) == []
    student = _copy(release)
    _cell(student, "predict_correct").source += "\nprint('edited')"
    student.cells.append(_copy(_cell(release, "svm_loss_naive")))
    problems = check_integrity(student, release)
    assert any("predict_correct" in p and "edited" in p for p in problems)
    assert any("svm_loss_naive" in p and "2 times" in p for p in problems)


def test_rubric_cells_never_enter_the_rebuilt_notebook(course):
    # A rubric is instructor-only: the notebook that runs in the sandbox must not carry it.
    source, release = course
    source = _copy(source)
    rubric = nbformat.v4.new_markdown_cell("**Rubric (1 point).** the secret model answer",
                                           metadata={"tags": ["rubric"]})
    source.cells.insert(2, rubric)
    student = ms.fill(release, ms.all_correct(["svm_loss_naive"]))
    out = rebuild(student, source, release)
    assert "the secret model answer" not in json.dumps(out.notebook)
    assert len(out.notebook.cells) == len(source.cells) - 1
