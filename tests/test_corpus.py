"""The corpus of student-style losses (tests/corpus/): every variant gets exactly its expected
points per part and its expected names, through the real per-part scoring; the hidden tests of
plain nbgrader agree part by part; a few run through the whole sandboxed pipeline in the real
notebooks and get the same points.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

import autograder  # noqa: F401  (first: it keeps nbformat's import fast)

# isort: split
import nbformat
import numpy as np

from autograder import bugs, hidden, registry

sys.path.insert(0, str(Path(__file__).resolve().parent / "corpus"))
import grade_corpus as gc  # noqa: E402

ROWS = gc.table()
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def graded():
    return {row["id"]: gc.grade_row(row) for row in ROWS}


def test_the_corpus_is_big_and_varied():
    assert len(ROWS) >= 40
    kinds = {row["kind"] for row in ROWS}
    assert kinds == {"correct", "convention", "buggy"}
    assert {row["function"] for row in ROWS} == set(registry.LOSS_FUNCTIONS)
    for row in ROWS:
        assert (gc.VARIANTS / f"{row['file']}.cell").exists(), row["id"]
        assert row["kind"] != "buggy" or row["names"], f"{row['id']}: a buggy variant must expect a name"
    # Every file is graded at least once.
    assert {p.stem for p in gc.VARIANTS.glob("*.cell")} <= {r["file"] for r in ROWS} | {r["naive"] for r in ROWS}


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_points_and_names(row, graded):
    res = graded[row["id"]]
    assert res["points"] == row["points"], (res["points"], res["messages"])
    assert set(res["names"]) == set(row["names"]), res["names"]


def test_confusion_table_after(graded):
    counts = gc.confusion([(row, graded[row["id"]]) for row in ROWS])
    correct = sum(r["kind"] != "buggy" for r in ROWS)
    assert counts == {"correct/full": correct, "correct/penalized": 0, "buggy/named": len(ROWS) - correct,
                      "buggy/unnamed": 0, "buggy/wrong name": 0, "buggy/full marks": 0}


def test_conventions_lose_only_the_reg_part_and_say_what_to_change(graded):
    for row in ROWS:
        if row["kind"] != "convention":
            continue
        res = graded[row["id"]]
        (key,) = res["part_names"]["reg"]
        bug = next(b for b in bugs.REG_PAIR_BUGS.values() if b.key == key)
        assert bug.convention and "reg * np.sum(W * W)" in bug.words and "2 * reg * W" in bug.words
        assert all(not names for part, names in res["part_names"].items() if part != "reg"), res["part_names"]


def test_what_differs_lines_say_where_to_look(graded):
    reg_grad = next(b for b in bugs.name_parts({"data_loss": "correct", "data_grad": "correct",
                                                "reg_loss": "correct", "reg_grad": "unknown"}))
    assert reg_grad.key == "observed_reg_grad"
    assert reg_grad.words.startswith("loss right, gradient wrong only when reg > 0")
    assert graded["svm_vec_reg_grad_squared"]["names"] == ("observed_reg_grad",)
    assert "data gradient" in next(b.words for b in bugs.name_parts({"data_loss": "correct",
                                                                     "data_grad": "unknown"}))


def test_global_max_gets_full_marks_and_advice_only(graded):
    res = graded["sm_vec_globalmax"]
    assert sum(res["points"].values()) == 11 and res["names"] == ()
    assert any("advice (costs no points)" in n for n in res["notes"])
    assert graded["sm_vec_rowmax"]["notes"] == []


def test_a_loop_is_reported_whether_or_not_the_function_is_wrong(graded):
    assert "vectorized_has_loop" in graded["svm_vec_loop"]["names"]
    assert "vectorized_has_loop" in graded["svm_vec_loop_wrong_sign"]["names"]
    # A vectorized function with one wrong factor keeps its speed points when it agrees with its naive.
    assert graded["svm_vec_grad_no_divide"]["points"]["speed"] == 4


def test_speed_passes_by_agreement_or_by_being_right(graded):
    # Agreement with the student's own naive version.
    assert "It agrees with your svm_loss_naive" in graded["svm_vec_mask"]["messages"]["speed"]
    # Correct is correct: a right vectorized function keeps its speed points next to a wrong naive
    # version, and the message points at the naive version.
    for rid, naive in (("svm_vec_mask_naive_no_divide", "svm_loss_naive"),
                       ("svm_vec_mask_naive_wrong_sign", "svm_loss_naive"),
                       ("sm_vec_rowmax_naive_minus_one", "softmax_loss_naive")):
        res = graded[rid]
        assert res["points"]["speed"] == 4 and res["names"] == ()
        assert f"your {naive} disagrees with it: the mistake is in the naive version" in res["messages"]["speed"]
    assert "naive version's regularization" in graded["svm_vec_mask_naive_reg_no2"]["messages"]["speed"]
    # Right at reg = 0 but its own regularization wrong: the speed points stay, the message sends the
    # student to the reg part, not to a naive version that is right.
    message = graded["svm_vec_l1"]["messages"]["speed"]
    assert graded["svm_vec_l1"]["points"]["speed"] == 4
    assert "regularization part of this function" in message and "mistake is in the naive" not in message
    # Wrong at reg = 0 and disagreeing with a right naive version: the speed points are lost.
    for rid in ("svm_vec_grad_margins", "sm_vec_wrong_axis"):
        res = graded[rid]
        assert res["points"]["speed"] == 0 and "does not agree with your" in res["messages"]["speed"]


def _parts_of(row):
    return [p for p in gc.POINTS[row["function"]]]


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_hidden_tests_agree_with_the_grader(row):
    """Plain nbgrader autograde (autograder.hidden in the kernel) gives the same points per part."""
    ns, _ = gc.namespace(row)
    fn = ns[row["function"]]
    for part in _parts_of(row):
        if part == "speed":
            call = lambda: hidden.check_vectorized(fn, row["function"], seed=11)  # noqa: E731
        else:
            call = lambda: hidden.check_loss(fn, row["function"], seed=11, part=part)  # noqa: E731
        passed = True
        try:
            call()
        except AssertionError:
            passed = False
        assert passed == (row["points"][part] > 0), (row["id"], part)


# ----------------------------------------------------------------- the whole pipeline

PIPELINE = {
    # assignment -> [(naive row id, vectorized row id)]: one notebook each.
    "svm": [("svm_naive_half_reg", "svm_vec_half_reg"), ("svm_naive_grad_no_divide", "svm_vec_grad_no_divide"),
            ("svm_naive_loops", "svm_vec_loop_wrong_sign")],
    "softmax": [("sm_naive_rowmax", "sm_vec_globalmax"), ("sm_naive_no_max", "sm_vec_no_max")],
}


def _notebook(assignment, naive_row, vec_row):
    from tools import make_samples as ms

    release = nbformat.read(ROOT / "assignments" / assignment / f"{assignment}.ipynb", as_version=4)
    others = ms.all_correct(["sample_batch", "sgd_step", "predict"])
    answers = {**others, naive_row["function"]: gc.source(naive_row["file"]),
               vec_row["function"]: gc.source(vec_row["file"])}
    return ms.fill(release, answers)


@pytest.mark.slow
@pytest.mark.parametrize("assignment,pair", [(a, p) for a, pairs in PIPELINE.items() for p in pairs],
                         ids=[f"{a}-{p[1]}" for a, pairs in PIPELINE.items() for p in pairs])
def test_the_sandboxed_pipeline_gives_the_same_points(assignment, pair, tmp_path):
    from autograder.grade import GradeConfig, grade_submission

    rows = {r["id"]: r for r in ROWS}
    naive_row, vec_row = rows[pair[0]], rows[pair[1]]
    assert vec_row["naive"] == naive_row["file"]
    path = tmp_path / f"{assignment}.ipynb"
    nbformat.write(_notebook(assignment, naive_row, vec_row), path)
    config = GradeConfig(source_dir=ROOT / "solutions", release_dir=ROOT / "assignments", work_dir=tmp_path / "work")
    result = grade_submission(path, assignment, "corpus", config)
    assert result.status.value != "failed", result.reason
    for row in (naive_row, vec_row):
        for part, points in row["points"].items():
            got = result.parts[f"{row['function']}_{part}"]
            assert got.points == (got.max_points if points else 0.0), (row["id"], part, got.message)
        keys = {k.split(": ", 1)[1] for k in result.mistake_keys if k.startswith(row["function"] + ":")}
        assert keys == set(row["names"]), (row["id"], result.mistake_keys)
    assert not np.isnan(result.score)


def test_a_convention_reg_message_says_only_this_part_is_lost(graded):
    message = graded["svm_vec_half_reg"]["messages"]["reg"]
    assert "only this part is lost" in message and "drop the 0.5" in message
    assert "only this part is lost" not in graded["svm_naive_reg_grad_no2"]["messages"]["reg"]
