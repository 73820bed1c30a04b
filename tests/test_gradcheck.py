"""Tests of linclass.gradcheck: numerical gradients, rel_error, sparse checks, check_gradient."""
import numpy as np
import pytest

from linclass.gradcheck import (
    REL_ERROR_GOOD,
    REL_ERROR_OK_WITH_KINKS,
    REL_ERROR_WRONG,
    GradCheckResult,
    check_gradient,
    eval_numerical_gradient,
    grad_check_sparse,
    rel_error,
    verdict,
)
from linclass.reference.losses import softmax_loss_vectorized, svm_loss_vectorized


def make_problem(seed=0, N=30, D=8, C=5, w_scale=0.1):
    rng = np.random.default_rng(seed)
    return (w_scale * rng.standard_normal((D, C)), rng.standard_normal((N, D)),
            rng.integers(0, C, size=N))


# --- rel_error -------------------------------------------------------------------

def test_rel_error_is_zero_when_both_are_zero():
    assert rel_error(0.0, 0.0) == 0.0
    assert rel_error(np.zeros((3, 2)), np.zeros((3, 2))) == 0.0
    # A zero entry next to nonzero ones does not produce nan either.
    assert rel_error(np.array([0.0, 1.0]), np.array([0.0, 1.5])) == pytest.approx(0.2)


def test_rel_error_values():
    assert rel_error(1.0, 1.0) == 0.0
    assert rel_error(1.0, 3.0) == pytest.approx(0.5)
    assert rel_error(1.0, -1.0) == 1.0          # opposite signs: the largest possible
    assert rel_error(1e-3, 0.0) == 1.0          # relative, whatever the scale
    assert rel_error(2.0, 3.0) == rel_error(3.0, 2.0)
    assert rel_error(1e6 + 1, 1e6) == pytest.approx(0.5e-6, rel=1e-6)


def test_rel_error_reports_nan_and_checks_shapes():
    assert np.isnan(rel_error(np.array([1.0, np.nan]), np.array([1.0, 1.0])))
    with pytest.raises(ValueError, match="same shape"):
        rel_error(np.zeros(3), np.zeros(4))


def test_verdict_bands():
    assert REL_ERROR_GOOD < REL_ERROR_OK_WITH_KINKS < REL_ERROR_WRONG
    assert verdict(0.0) == "good"
    assert verdict(5e-8) == "good"
    assert verdict(1e-6) == "ok with kinks"
    assert verdict(1e-3) == "suspicious"
    assert verdict(0.5) == "wrong"
    assert verdict(float("nan")) == "wrong"


# --- eval_numerical_gradient --------------------------------------------------------

def test_numerical_gradient_of_a_known_function():
    A = np.array([[2.0, -1.0, 0.5], [0.3, 4.0, -2.0]])
    x = np.array([[0.5, -1.5, 2.0], [1.0, 0.0, -0.3]])

    def f(v):
        return np.sum(A * v ** 2) + np.sum(np.sin(v))

    numerical = eval_numerical_gradient(f, x)
    assert numerical.shape == x.shape
    assert rel_error(numerical, 2 * A * x + np.cos(x)) < 1e-8


def test_numerical_gradient_restores_x_exactly():
    x = np.random.default_rng(1).standard_normal((3, 4, 2))
    before = x.copy()
    eval_numerical_gradient(lambda v: np.sum(v ** 3), x)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_restores_x_when_f_raises():
    x = np.array([1.0, 2.0])
    calls = []

    def f(v):
        calls.append(v.copy())
        if len(calls) == 2:
            raise RuntimeError("boom")
        return float(v.sum())

    with pytest.raises(RuntimeError):
        eval_numerical_gradient(f, x)
    np.testing.assert_array_equal(x, [1.0, 2.0])


def test_centered_differences_beat_one_sided():
    """The O(h**2) centered error against the O(h) one-sided error, on exp at 0."""
    h = 1e-4
    centered = eval_numerical_gradient(lambda v: np.exp(v).sum(), np.zeros(1), h=h)[0]
    one_sided = (np.exp(h) - 1.0) / h
    assert abs(centered - 1.0) < 1e-8 < abs(one_sided - 1.0)


def test_numerical_gradient_bad_input():
    with pytest.raises(ValueError, match="x must be a float numpy array"):
        eval_numerical_gradient(lambda v: v.sum(), np.arange(3))
    with pytest.raises(ValueError, match="x must be a float numpy array"):
        eval_numerical_gradient(lambda v: v.sum(), [1.0, 2.0])
    with pytest.raises(ValueError, match="h must be"):
        eval_numerical_gradient(lambda v: v.sum(), np.ones(2), h=0.0)
    W, X, y = make_problem()
    with pytest.raises(ValueError, match="single number"):
        eval_numerical_gradient(lambda w: svm_loss_vectorized(w, X, y, 0.0), W)


# --- grad_check_sparse ----------------------------------------------------------------

def test_sparse_check_returns_errors_and_is_quiet(capsys):
    W, X, y = make_problem()
    loss, dW = softmax_loss_vectorized(W, X, y, 0.1)
    errors = grad_check_sparse(lambda w: softmax_loss_vectorized(w, X, y, 0.1)[0], W, dW,
                               num_checks=7, seed=3)
    assert errors.shape == (7,)
    assert np.all(errors < 1e-7)
    assert capsys.readouterr().out == ""


def test_sparse_check_prints_when_verbose(capsys):
    W, X, y = make_problem()
    _, dW = softmax_loss_vectorized(W, X, y, 0.1)
    grad_check_sparse(lambda w: softmax_loss_vectorized(w, X, y, 0.1)[0], W, dW,
                      num_checks=4, seed=3, verbose=True)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4 and all("relative error" in line for line in lines)


def test_sparse_check_is_reproducible_and_restores_w():
    W, X, y = make_problem()
    before = W.copy()
    _, dW = svm_loss_vectorized(W, X, y, 0.1)
    f = lambda w: svm_loss_vectorized(w, X, y, 0.1)[0]  # noqa: E731
    first = grad_check_sparse(f, W, dW, num_checks=5, seed=42)
    second = grad_check_sparse(f, W, dW, num_checks=5, seed=42)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(W, before)


def test_sparse_check_catches_a_wrong_gradient():
    W, X, y = make_problem()
    _, dW = softmax_loss_vectorized(W, X, y, 0.0)
    errors = grad_check_sparse(lambda w: softmax_loss_vectorized(w, X, y, 0.0)[0], W, 1.5 * dW,
                               num_checks=10, seed=0)
    assert np.all(errors == pytest.approx(0.2, rel=1e-5))   # |1.5 - 1| / (1.5 + 1)


def test_sparse_check_bad_input():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match="analytic_grad must have the shape"):
        grad_check_sparse(lambda v: v.sum(), x, np.ones(6))
    with pytest.raises(ValueError, match="num_checks"):
        grad_check_sparse(lambda v: v.sum(), x, np.ones((2, 3)), num_checks=0)


# --- check_gradient -----------------------------------------------------------------------

@pytest.mark.parametrize("loss_fn", [svm_loss_vectorized, softmax_loss_vectorized])
def test_check_gradient_passes_correct_losses(loss_fn):
    W, X, y = make_problem()
    result = check_gradient(loss_fn, W, X, y, reg=0.5, num_checks=10, seed=1)
    assert isinstance(result, GradCheckResult)
    assert result.verdict == "good" and result.passed()
    assert set(result.errors) == {0.0, 0.5, result.large_reg}


def missing_reg_gradient(W, X, y, reg):
    loss, dW = softmax_loss_vectorized(W, X, y, reg)
    return loss, dW - 2 * reg * W


def halved_reg_gradient(W, X, y, reg):
    loss, dW = softmax_loss_vectorized(W, X, y, reg)
    return loss, dW - reg * W


@pytest.mark.parametrize("buggy", [missing_reg_gradient, halved_reg_gradient])
def test_check_gradient_catches_reg_bugs_that_a_tiny_reg_hides(buggy):
    """CS231n-like scales: W ~ 1e-4, pixels ~ 100, reg = 5e1 hide the bug; a large reg shows it."""
    rng = np.random.default_rng(0)
    X = 100 * rng.standard_normal((40, 30))
    W = 1e-4 * rng.standard_normal((30, 10))
    y = rng.integers(0, 10, size=40)

    # The usual check at reg = 5e1: the data gradient is about 1e3 times the
    # reg gradient, so at a typical coordinate the bug stays far below
    # REL_ERROR_WRONG and looks like kink noise.
    _, dW = buggy(W, X, y, 5e1)
    hidden = grad_check_sparse(lambda w: buggy(w, X, y, 5e1)[0], W.copy(), dW, num_checks=20, seed=0)
    assert np.median(hidden) < REL_ERROR_WRONG / 2

    # With pixel-sized X the loss's third derivatives scale like x**3, so the
    # O(h**2) error of h = 1e-5 reaches about 3e-5; h = 1e-6 makes it 100x smaller.
    result = check_gradient(buggy, W, X, y, reg=5e1, num_checks=20, seed=0, h=1e-6)
    assert result.errors[0.0] < 1e-5                  # the data gradient is right
    assert result.errors[result.large_reg] > 0.05     # the reg gradient is not
    assert result.verdict == "wrong" and not result.passed(kinks=True)


def test_check_gradient_uses_float64_and_leaves_inputs_alone():
    W, X, y = make_problem()
    W32, X32 = W.astype(np.float32), X.astype(np.float32)
    seen = []

    def loss_fn(W_, X_, y_, reg):
        seen.append((W_.dtype, X_.dtype))
        return softmax_loss_vectorized(W_, X_, y_, reg)

    result = check_gradient(loss_fn, W32, X32, y, reg=0.1, num_checks=3, seed=0)
    assert result.passed()
    assert all(d == (np.float64, np.float64) for d in seen)
    np.testing.assert_array_equal(W32, W.astype(np.float32))


def test_check_gradient_explicit_large_reg_and_bad_input():
    W, X, y = make_problem()
    result = check_gradient(svm_loss_vectorized, W, X, y, reg=0.0, num_checks=3, seed=0, large_reg=1e3)
    assert result.large_reg == 1e3 and set(result.errors) == {0.0, 1e3}
    with pytest.raises(ValueError, match="reg must be >= 0"):
        check_gradient(svm_loss_vectorized, W, X, y, reg=-1.0)
    with pytest.raises(ValueError, match="large_reg"):
        check_gradient(svm_loss_vectorized, W, X, y, reg=0.0, large_reg=-5.0)
    with pytest.raises(ValueError, match="gradient of shape"):
        check_gradient(lambda *a: (0.0, np.zeros(3)), W, X, y, reg=0.0)
    with pytest.raises(ValueError, match="must return a tuple"):
        check_gradient(lambda *a: None, W, X, y, reg=0.0)


def test_check_gradient_result_as_plain_data():
    import json

    W, X, y = make_problem()
    result = check_gradient(softmax_loss_vectorized, W, X, y, reg=0.5, num_checks=3, seed=0, large_reg=10.0)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["verdict"] == "good" and data["large_reg"] == 10.0
    assert set(data["errors"]) == {"0.0", "0.5", "10.0"}
    assert data["max_error"] == max(data["errors"].values())
