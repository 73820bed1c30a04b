"""The grader's cases and comparisons (autograder.registry, autograder.cases), the hidden
tests' in-kernel checks (autograder.hidden) and the judges of a trace profile.

The expected values here come from small implementations written in this file, independent
of linclass.reference.losses, and from buggy variants of them that every check must reject.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from autograder import answer_key, hidden, registry, verify
from autograder.cases import LARGE_REG
from autograder.harness import calls

# ------------------------------------------------------- independent implementations

def svm_ok(W, X, y, reg):
    N = X.shape[0]
    scores = X @ W
    margins = np.maximum(0, scores - scores[np.arange(N), y][:, None] + 1.0)
    margins[np.arange(N), y] = 0
    loss = margins.sum() / N + reg * np.sum(W * W)
    mask = (margins > 0).astype(float)
    mask[np.arange(N), y] = -mask.sum(axis=1)
    return loss, X.T @ mask / N + 2 * reg * W


def svm_loop(W, X, y, reg):
    dW = np.zeros_like(W)
    loss = 0.0
    for i in range(X.shape[0]):
        scores = X[i] @ W
        for j in range(W.shape[1]):
            if j == y[i]:
                continue
            margin = scores[j] - scores[y[i]] + 1
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    N = X.shape[0]
    return loss / N + reg * np.sum(W * W), dW / N + 2 * reg * W


def svm_reg_grad_halved(W, X, y, reg):
    loss, dW = svm_ok(W, X, y, 0.0)
    return loss + reg * np.sum(W * W), dW + reg * W


def svm_counts_correct_class(W, X, y, reg):
    N = X.shape[0]
    scores = X @ W
    margins = np.maximum(0, scores - scores[np.arange(N), y][:, None] + 1.0)
    loss = margins.sum() / N + reg * np.sum(W * W)
    return loss, svm_ok(W, X, y, reg)[1]


def svm_zeroes_ties(W, X, y, reg):
    # The classic bug: excluding j = y_i by value also drops wrong classes that tie with it.
    N = X.shape[0]
    scores = X @ W
    correct = scores[np.arange(N), y][:, None]
    margins = np.maximum(0, scores - correct + 1.0)
    margins[scores == correct] = 0
    loss = margins.sum() / N + reg * np.sum(W * W)
    mask = (margins > 0).astype(float)
    mask[np.arange(N), y] = -mask.sum(axis=1)
    return loss, X.T @ mask / N + 2 * reg * W


def softmax_ok(W, X, y, reg):
    N = X.shape[0]
    scores = X @ W
    scores = scores - scores.max(axis=1, keepdims=True)
    log_p = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    loss = -log_p[np.arange(N), y].mean() + reg * np.sum(W * W)
    p = np.exp(log_p)
    p[np.arange(N), y] -= 1
    return loss, X.T @ p / N + 2 * reg * W


def softmax_no_max(W, X, y, reg):
    N = X.shape[0]
    e = np.exp(X @ W)
    p = e / e.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(N), y]).mean() + reg * np.sum(W * W)
    p[np.arange(N), y] -= 1
    return loss, X.T @ p / N + 2 * reg * W


def softmax_warns(W, X, y, reg):
    # Correct, but prints a RuntimeWarning the way np.log(0) would.
    warnings.warn("divide by zero encountered in log", RuntimeWarning)
    np.log(np.zeros(1))
    return softmax_ok(W, X, y, reg)


def softmax_via_loop(W, X, y, reg):
    parts = [softmax_ok(W, X[i:i + 1], y[i:i + 1], 0.0) for i in range(X.shape[0])]
    N = X.shape[0]
    loss = sum(p[0] for p in parts) / N + reg * np.sum(W * W)
    return loss, sum(p[1] for p in parts) / N + 2 * reg * W


def run_all(fn, name, part=None, seed=0):
    """(ok, first failing message) over every case of the part (losses: the reg = 0 cases)."""
    for case in registry.make_cases(name, seed):
        if case.get("role") in ("reg", "advice") and part in ("loss", "grad"):
            continue
        ok, msg = registry.compare_outputs(name, case, calls.run_case(fn, name, case["inputs"]),
                                          registry.reference_output(case), part=part)
        if not ok:
            return False, msg
    return True, ""


# ------------------------------------------------------------------------- cases

def test_cases_are_reproducible_and_fresh_per_seed():
    a = registry.make_cases("svm_loss_naive", 3)
    b = registry.make_cases("svm_loss_naive", 3)
    c = registry.make_cases("svm_loss_naive", 4)
    for x, y in zip(a, b):
        assert x["label"] == y["label"]
        for k in x["inputs"]:
            np.testing.assert_array_equal(x["inputs"][k], y["inputs"][k])
    assert not np.array_equal(a[0]["inputs"]["W"], c[0]["inputs"]["W"])


def test_loss_cases_cover_shapes_ties_large_reg_and_shift():
    cases = registry.make_cases("softmax_loss_vectorized", 0)
    shapes = {c["inputs"]["W"].shape for c in cases}
    assert len(shapes) >= 4
    assert any(c["inputs"]["reg"] == LARGE_REG for c in cases)
    assert any(c["inputs"]["X"].shape[0] == 1 for c in cases)
    tie = next(c for c in cases if "tied" in c["label"])
    scores = tie["inputs"]["X"] @ tie["inputs"]["W"]
    correct = scores[np.arange(len(scores)), tie["inputs"]["y"]][:, None]
    wrong = np.ones_like(scores, dtype=bool)
    wrong[np.arange(len(scores)), tie["inputs"]["y"]] = False
    assert np.any((scores == correct) & wrong), "the tie case must contain wrong classes tied with the correct one"
    assert not np.any(np.isclose(scores - correct, -1.0)), "no SVM margin may sit on the kink"
    assert any("shifted" in c["label"] for c in cases)
    assert not any("shifted" in c["label"] for c in registry.make_cases("svm_loss_naive", 0))


@pytest.mark.parametrize("bad", ["svm_loss", "", "SVM_LOSS_NAIVE"])
def test_unknown_function_name_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="function_name must be one of"):
        registry.make_cases(bad, 0)


def test_negative_seed_is_rejected():
    with pytest.raises(ValueError, match="seed"):
        registry.make_cases("predict", -1)


def test_reference_agrees_with_independent_implementation():
    for name, mine in [("svm_loss_naive", svm_ok), ("softmax_loss_vectorized", softmax_ok)]:
        for case in registry.make_cases(name, 1):
            inp = case["inputs"]
            loss, dW = registry.reference_output(case)
            my_loss, my_dW = mine(inp["W"], inp["X"], inp["y"], inp["reg"])
            assert abs(loss - my_loss) <= 1e-9 * max(1, abs(my_loss)), case["label"]
            np.testing.assert_allclose(dW, my_dW, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------- comparisons

@pytest.mark.parametrize("fn,name", [(svm_ok, "svm_loss_vectorized"), (svm_loop, "svm_loss_naive"),
                                     (softmax_ok, "softmax_loss_naive"), (softmax_warns, "softmax_loss_vectorized")])
def test_correct_losses_pass_every_case(fn, name):
    assert run_all(fn, name) == (True, "")


def test_halved_reg_gradient_costs_only_the_reg_part():
    # The loss and grad parts are judged at reg = 0; the regularization as differences.
    assert run_all(svm_reg_grad_halved, "svm_loss_naive", part="loss")[0]
    assert run_all(svm_reg_grad_halved, "svm_loss_naive", part="grad")[0]
    hidden.check_loss(svm_reg_grad_halved, "svm_loss_naive", seed=5, part="grad")
    with pytest.raises(AssertionError, match=r"other than 2 \* reg \* W.*factor 2"):
        hidden.check_loss(svm_reg_grad_halved, "svm_loss_naive", seed=5, part="reg")


def test_counting_the_correct_class_fails_the_loss():
    ok, msg = run_all(svm_counts_correct_class, "svm_loss_naive", part="loss")
    assert not ok and "loss" in msg and "expected" in msg


def test_dropping_tied_classes_fails_only_on_the_tie_case():
    ok, msg = run_all(svm_zeroes_ties, "svm_loss_vectorized", part="loss")
    assert not ok and "tied scores" in msg


def test_softmax_without_max_subtraction_fails_on_shifted_scores():
    ok, msg = run_all(softmax_no_max, "softmax_loss_vectorized", part="loss")
    assert not ok and "shifted" in msg and "largest score" in msg


@pytest.mark.parametrize("output,fragment", [
    (1.0, "must return a pair"),
    ((np.ones(2), np.zeros((5, 3))), "single number"),
    ((None, np.zeros((3, 5))), "shape of W"),
    ((None, "abc"), "shape of W"),
])
def test_malformed_loss_outputs_get_a_message(output, fragment):
    case = registry.make_cases("svm_loss_naive", 0)[0]
    expected = registry.reference_output(case)
    if isinstance(output, tuple) and output[0] is None:
        output = (expected[0], output[1])  # a right loss, so the gradient is what fails
    ok, msg = registry.compare_outputs("svm_loss_naive", case, output, expected)
    assert not ok and fragment in msg


def test_compare_outputs_rejects_bad_part():
    case = registry.make_cases("svm_loss_naive", 0)[0]
    with pytest.raises(ValueError, match="part must be"):
        registry.compare_outputs("svm_loss_naive", case, (0.0, None), (0.0, None), part="both")


# ------------------------------------------------------ sample_batch, sgd_step, predict

def sample_ok(X, y, batch_size, rng):
    idx = rng.choice(X.shape[0], batch_size, replace=True)
    return X[idx], y[idx]


def sample_global_rng(X, y, batch_size, rng):
    idx = np.random.choice(X.shape[0], batch_size)
    return X[idx], y[idx]


def sample_first_rows(X, y, batch_size, rng):
    idx = np.arange(batch_size) % X.shape[0]
    return X[idx], y[idx]


def sample_without_replacement(X, y, batch_size, rng):
    idx = rng.choice(X.shape[0], batch_size, replace=False)
    return X[idx], y[idx]


def sample_few_rows(X, y, batch_size, rng):
    idx = rng.integers(0, min(10, X.shape[0]), batch_size)
    return X[idx], y[idx]


def sample_mismatched_labels(X, y, batch_size, rng):
    idx = rng.choice(X.shape[0], batch_size)
    return X[idx], y[rng.choice(X.shape[0], batch_size)]


def step_ok(loss_fn, W, X_batch, y_batch, learning_rate, reg):
    loss, dW = loss_fn(W, X_batch, y_batch, reg)
    return W - learning_rate * dW, loss


def step_uphill(loss_fn, W, X_batch, y_batch, learning_rate, reg):
    loss, dW = loss_fn(W, X_batch, y_batch, reg)
    return W + learning_rate * dW, loss


def step_in_place(loss_fn, W, X_batch, y_batch, learning_rate, reg):
    loss, dW = loss_fn(W, X_batch, y_batch, reg)
    W -= learning_rate * dW
    return W, loss


def step_loss_after(loss_fn, W, X_batch, y_batch, learning_rate, reg):
    _, dW = loss_fn(W, X_batch, y_batch, reg)
    W_new = W - learning_rate * dW
    return W_new, loss_fn(W_new, X_batch, y_batch, reg)[0]


def predict_ok(W, X):
    return np.argmax(X @ W, axis=1)


def predict_float(W, X):
    return np.argmax(X @ W, axis=1).astype(float)


def predict_wrong_axis(W, X):
    return np.argmax(X @ W, axis=1) * 0


def sample_without_replacement_when_possible(X, y, batch_size, rng):
    idx = rng.choice(X.shape[0], batch_size, replace=batch_size > X.shape[0])
    return X[idx], y[idx]


def predict_half(W, X):
    return np.argmax(X @ W, axis=1) + 0.5


@pytest.mark.parametrize("fn,name", [(sample_ok, "sample_batch"), (step_ok, "sgd_step"),
                                     (step_in_place, "sgd_step"), (predict_ok, "predict"),
                                     (predict_float, "predict"),
                                     (sample_without_replacement_when_possible, "sample_batch")])
def test_correct_training_functions_pass(fn, name):
    assert run_all(fn, name) == (True, "")
    hidden.check_function(fn, name, seed=2)


@pytest.mark.parametrize("fn,name,fragment", [
    (sample_global_rng, "sample_batch", "rng argument"),
    (sample_first_rows, "sample_batch", "rng argument"),
    (sample_few_rows, "sample_batch", "covers only"),
    (sample_mismatched_labels, "sample_batch", "labels"),
    (step_uphill, "sgd_step", "uphill"),
    (step_loss_after, "sgd_step", "before the step"),
    (predict_half, "predict", "whole numbers"),
    (predict_wrong_axis, "predict", "highest score"),
])
def test_buggy_training_functions_fail_with_a_named_problem(fn, name, fragment):
    ok, msg = run_all(fn, name)
    assert not ok and fragment in msg, msg
    with pytest.raises(AssertionError, match=fragment):
        hidden.check_function(fn, name, seed=0)


def test_sampling_without_replacement_fails_clearly_only_when_batch_size_exceeds_n():
    # The docstring and the visible test state that batch_size may exceed N.
    with pytest.raises(AssertionError, match="sample_batch raised ValueError.*batch_size may be larger than N"):
        hidden.check_function(sample_without_replacement, "sample_batch", 0)
    cases = [c for c in registry.make_cases("sample_batch", 0)
             if c["inputs"]["batch_size"] <= c["inputs"]["X"].shape[0]]
    assert cases
    for case in cases:
        out = calls.run_case(sample_without_replacement, "sample_batch", case["inputs"])
        assert registry.compare_outputs("sample_batch", case, out, None)[0], case["label"]


def test_probe_loss_gradient_is_its_derivative():
    rng = np.random.default_rng(0)
    W, X, y = rng.standard_normal((4, 3)), rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    loss, dW = calls.probe_loss(W, X, y, 0.3)
    h = 1e-6
    E = np.zeros_like(W)
    E[2, 1] = h
    numeric = (calls.probe_loss(W + E, X, y, 0.3)[0] - calls.probe_loss(W - E, X, y, 0.3)[0]) / (2 * h)
    assert abs(numeric - dW[2, 1]) < 1e-6


# ----------------------------------------------------------------- in-kernel checks

def test_check_loss_passes_correct_code_and_names_the_failure():
    hidden.check_loss(svm_loop, "svm_loss_naive", seed=5, part="loss")
    hidden.check_loss(svm_loop, "svm_loss_naive", seed=5, part="grad")
    hidden.check_loss(svm_loop, "svm_loss_naive", seed=5, part="reg")
    with pytest.raises(AssertionError, match="the loss on the case .* Likely cause: the sum over classes"):
        hidden.check_loss(svm_counts_correct_class, "svm_loss_naive", seed=5, part="loss")


def test_warnings_from_a_correct_answer_reach_neither_stderr_nor_the_verdict(capfd):
    hidden.check_loss(softmax_warns, "softmax_loss_naive", seed=0)
    hidden.check_vectorized(softmax_warns, "softmax_loss_vectorized", seed=0)
    assert capfd.readouterr().err == ""


def test_not_implemented_is_reported_as_not_written_yet():
    def svm_loss_naive(W, X, y, reg):
        raise NotImplementedError("svm_loss_naive is not implemented yet")

    with pytest.raises(AssertionError, match="not written yet"):
        hidden.check_loss(svm_loss_naive, "svm_loss_naive", 0)


def test_vectorized_code_passes_the_loop_detector():
    hidden.check_vectorized(svm_ok, "svm_loss_vectorized", seed=0)
    hidden.check_vectorized(softmax_ok, "softmax_loss_vectorized", seed=0)
    profile = hidden.trace_profile(svm_ok, "svm_loss_vectorized")
    assert profile["events"][0] == profile["events"][1]


@pytest.mark.parametrize("fn,name", [(svm_loop, "svm_loss_vectorized"),
                                     (softmax_via_loop, "softmax_loss_vectorized")])
def test_loops_over_examples_lose_the_vectorization_points(fn, name):
    hidden.check_loss(fn, name, seed=0)  # correct, so it keeps the correctness points
    with pytest.raises(AssertionError, match="once per example"):
        hidden.check_vectorized(fn, name, seed=0)


def test_calling_the_naive_version_counts_as_a_loop():
    def svm_loss_vectorized(W, X, y, reg):
        return svm_loop(W, X, y, reg)

    with pytest.raises(AssertionError, match="once per example"):
        hidden.check_vectorized(svm_loss_vectorized, "svm_loss_vectorized")


def test_a_stub_that_returns_zeros_gets_no_vectorization_points():
    def svm_loss_vectorized(W, X, y, reg):
        return 0.0, np.zeros_like(W)

    with pytest.raises(AssertionError, match="same loss on every case"):
        hidden.check_vectorized(svm_loss_vectorized, "svm_loss_vectorized")


def test_importing_the_reference_earns_nothing():
    from linclass.reference import losses

    for name in ("svm_loss_naive", "softmax_loss_vectorized"):
        with pytest.raises(AssertionError, match="imported from the reference"):
            hidden.check_loss(getattr(losses, name), name, part="loss")


def test_wrapping_the_reference_earns_nothing():
    from linclass.reference import losses

    def softmax_loss_vectorized(W, X, y, reg):
        return losses.softmax_loss_vectorized(W, X, y, reg)

    with pytest.raises(AssertionError, match="calls the reference"):
        hidden.check_loss(softmax_loss_vectorized, "softmax_loss_vectorized")
    with pytest.raises(AssertionError, match="calls the reference"):
        hidden.check_vectorized(softmax_loss_vectorized, "softmax_loss_vectorized")


def test_a_non_function_or_library_function_earns_nothing():
    ok, msg = verify.judge_not_reference(hidden.trace_profile(np.maximum, "predict"))
    assert not ok and "define with def" in msg
    ok, msg = verify.judge_not_reference(hidden.trace_profile(np.argmax, "predict"))
    assert not ok and "define with def" in msg


def test_judges_work_on_plain_profiles():
    base = {"function": "svm_loss_vectorized", "sizes": [40, 160], "defined_in": "/tmp/cell.py",
            "reference_calls": [], "error": None}
    assert verify.judge_vectorized({**base, "events": [12, 12]})[0]
    assert not verify.judge_vectorized({**base, "events": [300, 1200]})[0]
    padded = verify.judge_vectorized({**base, "events": [1030, 1030]})  # a loop padded to a fixed count
    assert not padded[0] and "a few dozen" in padded[1]
    assert not verify.judge_vectorized({**base, "events": [12, 12], "error": "TypeError: x"})[0]
    assert verify.judge_not_reference({**base, "events": [1, 1]})[0]
    assert not verify.judge_not_reference({**base, "events": [1, 1], "reference_calls": ["losses.py"]})[0]


def test_a_copy_of_the_reference_is_recognised_wherever_it_was_compiled():
    import inspect

    from linclass.reference import losses

    namespace = {}
    exec(compile(inspect.getsource(losses), "<cell-svm_loss_vectorized>", "exec"), namespace)
    copy = namespace["svm_loss_vectorized"]
    assert answer_key.fingerprints()[calls.code_fingerprint(copy)] == \
        "linclass.reference.losses.svm_loss_vectorized"
    profile = {"function": "svm_loss_vectorized", "defined_in": "<cell-svm_loss_vectorized>",
               "reference_calls": [], "fingerprint": calls.code_fingerprint(copy)}
    ok, message = verify.judge_not_reference(profile)
    assert not ok and "copy of the reference" in message


def test_own_code_has_a_fingerprint_of_its_own():
    namespace = {"np": np}
    exec("def svm_loss_vectorized(W, X, y, reg):\n"
         "    scores = X @ W\n"
         "    return float(scores.sum()), np.zeros_like(W)\n", namespace)
    own = namespace["svm_loss_vectorized"]
    assert calls.code_fingerprint(own) not in answer_key.fingerprints()
    assert calls.code_fingerprint(len) is None
