"""The bug catalogue and the out-of-kernel verdicts, without a sandbox (fast).

A probe record is made here exactly as the sandboxed probe makes it (the harness's own
encoder, then the grader's decoder), from student-style code in tools/make_samples.py.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from autograder import bugs, registry
from autograder.harness import wire
from autograder.probe_driver import ProbeRecord
from autograder.registry import function_of, part_check
from autograder.verify import verify_function
from linclass.reference import losses
from tools import make_samples as ms

SEED = 7

sys.path.insert(0, str(Path(__file__).resolve().parent / "corpus"))
import grade_corpus as gc  # noqa: E402  (the probe record, made as the sandboxed probe makes it)

_roundtrip = gc._roundtrip  # value as the grader receives it from the probe: framed, then decoded


def probe_record(name: str, code: str | None, extra: str = "") -> ProbeRecord:
    """Run code the way the probe does (same calls, tracer and wire) and return the record."""
    ns = {"np": np}
    if code is not None:
        exec(compile(extra + code, f"<cell-{name}>", "exec"), ns)
    return gc.probe_record(name, ns, SEED)


@pytest.mark.parametrize("name", registry.LOSS_FUNCTIONS)
def test_reference_variant_equals_linclass(name):
    # The catalogue's correct pair is the reference: otherwise every bug name is suspect.
    (no_bugs, fn), *_ = bugs.loss_variants(name)
    assert no_bugs == ()
    ref = getattr(losses, name)
    for case in registry.make_cases(name, SEED):
        args = case["inputs"].values()
        assert bugs.outputs_match(fn(*args), ref(*[a.copy() if hasattr(a, "copy") else a for a in args]))


@pytest.mark.parametrize("name", registry.LOSS_FUNCTIONS)
def test_every_variant_differs_from_the_reference_on_the_probe_cases(name):
    (_, correct), *variants = list(bugs.loss_variants(name))
    cases = registry.make_cases(name, SEED)
    for found, fn in variants:
        differs = any(not bugs.outputs_match(fn(*c["inputs"].values()), correct(*c["inputs"].values()))
                      for c in cases)
        assert differs, f"{[b.key for b in found]} cannot be told apart from the reference"


def test_outputs_match_rules():
    assert bugs.outputs_match((1.0, np.ones(3)), (1.0 + 1e-9, np.ones(3)))
    assert not bugs.outputs_match((1.0, np.ones(3)), (1.1, np.ones(3)))
    assert not bugs.outputs_match(np.ones(3), np.ones(4))
    assert bugs.outputs_match((np.nan, np.ones(2)), (np.inf, np.ones(2)))
    assert not bugs.outputs_match(np.array([np.nan]), np.array([1.0]))
    assert not bugs.outputs_match((1.0, 2.0), 1.0)


# (function, edits of tools/make_samples.py, expected names, parts that fail). The loss and grad
# parts are at reg = 0, so a regularization mistake costs only the reg part.
SVM_CASES = [
    ("svm_loss_naive", "svm_counts_correct_class", ("svm_counts_correct_class",), ["loss"]),
    ("svm_loss_naive", "forgot_divide_by_n", ("forgot_divide_by_n",), ["loss", "grad"]),
    ("svm_loss_naive", "reg_grad_missing_factor_2", ("reg_grad_missing_factor_2",), ["reg"]),
    ("svm_loss_naive", "svm_wrong_sign_correct_class", ("svm_wrong_sign_correct_class",), ["grad"]),
    ("svm_loss_vectorized", ("reg_half_convention", "reg_half_convention_grad"), ("reg_half_convention",),
     ["reg"]),
    ("svm_loss_vectorized", ("no_regularization", "no_regularization_grad"), ("no_regularization",),
     ["reg"]),
    ("svm_loss_vectorized", "no_regularization_grad", ("reg_grad_missing",), ["reg"]),
    ("softmax_loss_vectorized", "softmax_no_max_subtraction", ("softmax_no_max_subtraction",), ["loss", "grad"]),
    ("softmax_loss_vectorized", "softmax_forgot_minus_one", ("softmax_forgot_minus_one",), ["grad"]),
    ("softmax_loss_vectorized", "softmax_wrong_axis", ("softmax_wrong_axis",), ["loss", "grad"]),
    ("sgd_step", "sgd_wrong_sign", ("sgd_wrong_sign",), ["all"]),
    ("predict", "predict_argmin", ("predict_argmin",), ["all"]),
]


@pytest.mark.parametrize("name,edits,expected,failing", SVM_CASES)
def test_student_bug_is_named(name, edits, expected, failing):
    edits = (edits,) if isinstance(edits, str) else edits
    v = verify_function(probe_record(name, ms.buggy(name, *edits)), name)
    assert tuple(b.key for b in v.bugs) == expected
    for check in ("loss", "grad", "reg", "all"):
        if check in v.checks:
            assert v.checks[check][0] == (check not in failing and check != "all"), (check, v.checks[check])
    for part in failing:
        assert {b.key for b in v.part_bugs[part]} <= set(expected), (part, v.part_bugs[part])


@pytest.mark.parametrize("name", registry.GRADED_FUNCTIONS)
def test_correct_code_passes_every_check(name):
    v = verify_function(probe_record(name, ms.CODE[name]), name)
    assert v.bugs == ()
    assert all(ok for ok, _ in v.checks.values()), v.checks


def test_naive_loop_is_not_vectorized():
    # The naive code under the vectorized name: correct values, but it loops over examples.
    code = ms.CODE["svm_loss_naive"].replace("def svm_loss_naive", "def svm_loss_vectorized")
    v = verify_function(probe_record("svm_loss_vectorized", code), "svm_loss_vectorized")
    assert v.checks["all"][0] and not v.checks["speed"][0]
    assert [b.key for b in v.bugs] == ["vectorized_has_loop"]


def test_a_loop_is_named_also_when_the_function_is_wrong():
    code = ms.buggy("svm_loss_naive", "svm_wrong_sign_correct_class").replace(
        "def svm_loss_naive", "def svm_loss_vectorized")
    v = verify_function(probe_record("svm_loss_vectorized", code), "svm_loss_vectorized")
    assert not v.checks["grad"][0] and not v.checks["speed"][0]
    assert [b.key for b in v.bugs] == ["svm_wrong_sign_correct_class", "vectorized_has_loop"]


def test_speed_is_judged_on_its_own_evidence():
    # Vectorized, one wrong factor, and the same factor in the student's own naive version:
    # the reg part is lost, the speed part is kept. Against a correct naive version it is kept
    # too (its loss and dW at reg = 0 are right), and the message sends the student to the reg part.
    wrong = ms.buggy("svm_loss_vectorized", "no_regularization_grad")
    naive_wrong = ms.CODE["svm_loss_naive"].replace("dW += 2 * reg * W", "")
    assert naive_wrong != ms.CODE["svm_loss_naive"]
    vec = probe_record("svm_loss_vectorized", wrong)
    v = verify_function(vec, "svm_loss_vectorized", naive=probe_record("svm_loss_naive", naive_wrong))
    assert not v.checks["reg"][0] and v.checks["speed"][0], v.checks["speed"]
    right_naive = probe_record("svm_loss_naive", ms.CODE["svm_loss_naive"])
    v = verify_function(vec, "svm_loss_vectorized", naive=right_naive)
    assert v.checks["speed"][0] and "regularization part of this function" in v.checks["speed"][1]
    # Wrong at reg = 0 and disagreeing with a right naive version: no speed points.
    sign = ms.CODE["svm_loss_vectorized"].replace("= -mask.sum(axis=1)", "= mask.sum(axis=1)")
    assert sign != ms.CODE["svm_loss_vectorized"]
    wrong_grad = probe_record("svm_loss_vectorized", sign)
    v = verify_function(wrong_grad, "svm_loss_vectorized", naive=right_naive)
    assert not v.checks["grad"][0] and not v.checks["speed"][0]
    assert "does not agree with your svm_loss_naive" in v.checks["speed"][1]
    # Right, next to a wrong naive version: correct is correct, the naive version is named.
    v = verify_function(probe_record("svm_loss_vectorized", ms.CODE["svm_loss_vectorized"]), "svm_loss_vectorized",
                        naive=probe_record("svm_loss_naive", ms.buggy("svm_loss_naive", "forgot_divide_by_n")))
    assert v.checks["speed"][0] and v.bugs == ()
    assert "your svm_loss_naive disagrees with it: the mistake is in the naive version" in v.checks["speed"][1]
    # A naive version that is still the stub: vectorization alone decides.
    stub = "def svm_loss_naive(W, X, y, reg):\n    raise NotImplementedError\n"
    v = verify_function(vec, "svm_loss_vectorized", naive=probe_record("svm_loss_naive", stub))
    assert v.checks["speed"][0]


def test_vectorized_calling_naive_is_named():
    code = ms.buggy("svm_loss_vectorized", "vectorized_calls_naive")
    v = verify_function(probe_record("svm_loss_vectorized", code,
                                                            extra=ms.CODE["svm_loss_naive"]), "svm_loss_vectorized")
    assert v.checks["loss"][0] and not v.checks["speed"][0]
    assert [b.key for b in v.bugs] == ["vectorized_calls_naive"]


def test_calling_the_reference_earns_nothing():
    code = ("from linclass.reference.losses import svm_loss_vectorized as _ref\n"
            "def svm_loss_vectorized(W, X, y, reg):\n    return _ref(W, X, y, reg)\n")
    v = verify_function(probe_record("svm_loss_vectorized", code), "svm_loss_vectorized")
    assert v.calls_reference
    assert not any(ok for ok, _ in v.checks.values())
    assert [b.key for b in v.bugs] == ["calls_reference"]


def test_stub_and_missing_functions():
    stub = "def predict(W, X):\n    raise NotImplementedError()\n"
    v = verify_function(probe_record("predict", stub), "predict")
    assert [b.key for b in v.bugs] == ["not_written"]
    v = verify_function(probe_record("predict", None), "predict")
    assert not v.defined and [b.key for b in v.bugs] == ["not_defined"]
    v = verify_function(None, "predict")
    assert not any(ok for ok, _ in v.checks.values())


def test_two_bugs_in_one_function_are_both_named():
    code = ms.buggy("svm_loss_naive", "forgot_divide_by_n", "reg_grad_missing_factor_2")
    v = verify_function(probe_record("svm_loss_naive", code), "svm_loss_naive")
    assert {b.key for b in v.bugs} == {"forgot_divide_by_n", "reg_grad_missing_factor_2"}


def test_grade_id_mapping():
    assert function_of("svm_loss_vectorized_grad") == ("svm_loss_vectorized", "grad")
    assert function_of("sgd_step_correct") == ("sgd_step", "correct")
    assert function_of("q_kink") == (None, "q_kink")
    assert [part_check(p) for p in ("loss", "grad", "reg", "vectorized", "speed", "correct")] == \
        ["loss", "grad", "reg", "speed", "speed", "all"]


def test_function_built_outside_the_answer_cell_earns_nothing():
    # Source copied from linclass and exec'd has no answer cell as its file.
    code = ("import inspect, linclass.reference.losses\n"
            "exec(inspect.getsource(linclass.reference.losses.svm_loss_vectorized).replace('def svm_loss_vectorized', "
            "'def _copied'))\n"
            "svm_loss_vectorized = _copied\n")
    v = verify_function(probe_record("svm_loss_vectorized", code), "svm_loss_vectorized")
    assert v.calls_reference and not any(ok for ok, _ in v.checks.values())


def test_lazy_objects_are_not_converted():
    class Lazy:
        def __array__(self, dtype=None, copy=None):
            raise AssertionError("student code must not run while encoding")

    class Sneaky(float):
        def __float__(self):
            raise AssertionError("student code must not run while encoding")

    value = _roundtrip((Lazy(), Sneaky(1.0), 1.0))
    assert isinstance(value[0], wire.Unsupported) and isinstance(value[1], wire.Unsupported)
    assert value[2] == 1.0


def _probe(tmp_path, cells, functions, call_timeout, stuck=None, setup=("import numpy as np",)):
    from autograder import sandbox
    from autograder.probe_driver import probe_functions

    limits = sandbox.Limits(cell_timeout=call_timeout, total_timeout=120)
    return probe_functions(tmp_path / "probe", cells, list(setup), functions, SEED, call_timeout, limits, stuck)


def test_probe_harness_stops_a_function_that_never_returns(tmp_path):
    cells = [{"grade_id": "predict", "source": "def predict(W, X):\n    while True:\n        pass\n"},
             {"grade_id": "sgd_step", "source": ms.CODE["sgd_step"]}]
    run = _probe(tmp_path, cells, ["predict", "sgd_step"], 1.0)
    assert run.problem is None, run.problem
    predict = [err for ok, err in run.records["predict"].outputs]
    assert "longer than 1 s" in predict[0] and all("not run" in e for e in predict[1:])
    assert verify_function(run.records["sgd_step"], "sgd_step").checks["all"][0]


def test_probe_harness_gives_a_stuck_cell_its_short_allowance_and_keeps_what_it_defined(tmp_path):
    import time

    never_ends = "def predict(W, X):\n    return np.argmax(X.dot(W), axis=1)\n\nwhile True:\n    pass\n"
    cells = [{"grade_id": "predict_code", "source": never_ends},
             {"grade_id": "uses_plt", "source": "backend = plt.get_backend()\n"}]
    started = time.monotonic()
    run = _probe(tmp_path, cells, ["predict"], 60.0, stuck={"predict_code": 0.5},
                 setup=("import numpy as np", "import matplotlib.pyplot as plt"))
    assert time.monotonic() - started < 30  # 0.5 s for the stuck cell, not call_timeout = 60 s
    assert run.problem is None and run.setup_errors == []
    assert "did not end" in run.cell_errors["predict_code"]
    assert "uses_plt" not in run.cell_errors  # the lazily bound plt loads when it is used
    assert verify_function(run.records["predict"], "predict").checks["all"][0]


def test_stuck_cell_is_read_from_run_status_only_when_it_names_a_code_answer_cell():
    from types import SimpleNamespace

    import nbformat

    from autograder.grade import _answer_cell_at

    def cell(make, gid):
        c = make("x = 1")
        c.metadata["nbgrader"] = {"grade_id": gid}
        return c

    nb = nbformat.v4.new_notebook(cells=[cell(nbformat.v4.new_code_cell, "predict_code"),
                                         cell(nbformat.v4.new_code_cell, "predict_check"),
                                         cell(nbformat.v4.new_markdown_cell, "q_weights")])
    rebuilt = SimpleNamespace(notebook=nb, answers={"predict_code": "x = 1", "q_weights": "text"})
    assert _answer_cell_at(rebuilt, 0) == "predict_code"
    # A test cell, a markdown answer, and whatever an untrusted status file may hold: nothing.
    for index in (1, 2, 3, -1, True, "0", None, 0.0):
        assert _answer_cell_at(rebuilt, index) is None


def test_a_value_that_is_not_plain_data_is_an_error_for_that_part_with_the_reason():
    code = ("class Sneaky(float):\n    def __float__(self):\n        return 0.0\n\n"
            "def predict(W, X):\n    return [Sneaky(1.0)] * X.shape[0]\n")
    v = verify_function(probe_record("predict", code), "predict")
    ok, message = v.checks["all"]
    assert not ok and "not a number" in message and "return plain numbers" in message
