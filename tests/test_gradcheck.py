"""Tests of linclass.gradcheck: numerical gradients, rel_error, sparse checks, check_gradient,
and the bands its docstring states, measured again on 30 random W."""
import re

import numpy as np
import pytest

from linclass import gradcheck
from linclass.gradcheck import (
    DEFAULT_H,
    KINK_LOW,
    KINK_MAX_ENTRIES,
    REL_ERROR_CLEAN,
    REL_ERROR_GOOD,
    REL_ERROR_WRONG,
    GradCheckResult,
    check_gradient,
    eval_numerical_gradient,
    grad_check_sparse,
    rel_error,
    sparse_indices,
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
    assert REL_ERROR_CLEAN < REL_ERROR_GOOD < KINK_LOW < REL_ERROR_WRONG
    assert verdict(0.0) == "good"
    assert verdict(5e-8) == "good"
    assert verdict(1e-6) == "suspicious"
    assert verdict(1e-3) == "suspicious"       # one number cannot show the kink pattern
    assert verdict(0.5) == "wrong"
    assert verdict(float("nan")) == "wrong"


def test_verdict_names_the_kink_pattern():
    clean = np.full(10, 1e-9)
    one, two, three = clean.copy(), clean.copy(), clean.copy()
    one[3] = 4.8e-3
    two[[1, 7]] = [3.2e-4, 2.2e-3]
    three[[1, 4, 7]] = 1e-3
    assert verdict(clean) == "good"
    assert verdict(one).startswith("kink? (1 of 10 entries between 0.0001 and 0.01")
    assert verdict(two).startswith("kink? (2 of 10")
    assert KINK_MAX_ENTRIES == 2 and verdict(three) == "suspicious"   # three outliers: look for a bug
    noisy = one.copy()
    noisy[0] = 1e-6                                  # the others are not clean
    assert verdict(noisy) == "suspicious"
    low = clean.copy()
    low[2] = 5e-5                                    # below the band
    assert verdict(low) == "suspicious"
    high = clean.copy()
    high[2] = 2e-2
    assert verdict(high) == "wrong"


def test_verdict_reports_the_smallest_margin():
    errors = np.full(10, 1e-9)
    errors[4] = 1e-3
    margins = np.linspace(0.5, 0.05, 10)
    margins[4] = -3.1e-5                             # |margin| counts
    text = verdict(errors, margins=margins)
    assert text == "kink? (1 of 10 entries between 0.0001 and 0.01; smallest |margin| 3.1e-05)"
    assert verdict(np.full(10, 1e-9), margins=0.25) == "good (smallest |margin| 2.5e-01)"


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


def test_sparse_indices_are_the_checked_entries():
    x = np.zeros((6, 4))
    seen = []

    def f(v):
        seen.append(tuple(int(i) for i in np.argwhere(v != 0)[0]))
        return float(v.sum())

    grad_check_sparse(f, x, np.ones_like(x), num_checks=5, seed=9)
    assert seen[::2] == sparse_indices(x.shape, 5, seed=9)
    assert DEFAULT_H == 1e-6


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


def test_check_gradient_verdict_is_the_worst_band():
    W, X, y = make_problem()
    result = check_gradient(svm_loss_vectorized, W, X, y, reg=0.5, num_checks=10, seed=1)
    assert result.verdict in ("good", "kink?") and result.passed(kinks=True)


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


# --- the bands, measured -------------------------------------------------------------------

def _short(value: float) -> str:
    """1.9e-02 -> "1.9e-2", the way the docstring and the notebooks write numbers."""
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


@pytest.fixture(scope="module")
def measured_bands(real_data_dir):
    """The measurement behind the docstring: 30 random W ~ 1e-4 on the 500 development images,
    10 entries per check (seed k for W and for the entries), at h = 1e-6 and h = 1e-5."""
    from linclass.data import get_cifar10_data
    from linclass.reference.losses import softmax_loss_vectorized, svm_loss_vectorized

    dev = get_cifar10_data(real_data_dir)
    X, y = dev["X_dev"], dev["y_dev"]
    bands = {}
    for name, fn in (("svm", svm_loss_vectorized), ("softmax", softmax_loss_vectorized)):
        for h in (1e-6, 1e-5):
            runs = []
            for seed in range(30):
                W = 1e-4 * np.random.default_rng(seed).standard_normal((X.shape[1], 10))
                _, dW = fn(W, X, y, 0.0)
                runs.append(grad_check_sparse(lambda w: fn(w, X, y, 0.0)[0], W, dW, num_checks=10, h=h, seed=seed))
            bands[name, h] = np.array(runs)
    return bands


@pytest.mark.realdata
@pytest.mark.slow
def test_the_bands_hold_on_30_random_w(measured_bands):
    svm, softmax = measured_bands["svm", 1e-6], measured_bands["softmax", 1e-6]
    verdicts = [verdict(run) for run in svm]
    assert set(v.split(" ")[0] for v in verdicts) <= {"good", "kink?"}, verdicts
    for run in svm:
        outliers = run >= KINK_LOW
        assert outliers.sum() <= KINK_MAX_ENTRIES and np.all(run[outliers] < REL_ERROR_WRONG)
        assert np.all(run[~outliers] <= REL_ERROR_CLEAN)
    assert all(verdict(run) == "good" for run in softmax)
    # h = 1e-5 is worse for both: more kink outliers, and a larger error of the smooth loss.
    assert (measured_bands["svm", 1e-5].max(axis=1) > REL_ERROR_GOOD).sum() > (svm.max(axis=1) > REL_ERROR_GOOD).sum()
    assert measured_bands["softmax", 1e-5].max() > 10 * softmax.max()


@pytest.mark.realdata
@pytest.mark.slow
def test_the_docstring_states_the_measured_numbers(measured_bands, repo_root):
    svm6, soft6 = measured_bands["svm", 1e-6], measured_bands["softmax", 1e-6]
    svm5, soft5 = measured_bands["svm", 1e-5], measured_bands["softmax", 1e-5]
    outliers = svm6[svm6 >= KINK_LOW]
    stated = {
        "runs with a kink, h = 1e-6": f"{int((svm6.max(axis=1) > REL_ERROR_GOOD).sum())} of 30 checks",
        "runs above 1e-7, h = 1e-5": f"{int((svm5.max(axis=1) > REL_ERROR_GOOD).sum())} of the 30 checks",
        "smallest outlier": _short(outliers.min()),
        "largest outlier": _short(outliers.max()),
        "SVM without outliers": _short(svm6[svm6 < KINK_LOW].max()),
        "softmax, h = 1e-6": _short(soft6.max()),
        "SVM worst, h = 1e-5": _short(svm5.max()),
        "softmax, h = 1e-5": _short(soft5.max()),
    }
    text = " ".join(gradcheck.__doc__.split())
    for what, number in stated.items():
        assert number in text, f"{what}: the measurement gives {number}, the docstring does not say so"
    nb = (repo_root / "solutions" / "svm" / "svm.ipynb").read_text()
    for what in ("runs with a kink, h = 1e-6", "smallest outlier", "largest outlier"):
        assert stated[what] in nb, f"{what}: the SVM notebook's bands do not state {stated[what]}"


def test_the_docstring_states_the_constants():
    text = " ".join(gradcheck.__doc__.split())
    for phrase in ("DEFAULT_H`` = 1e-6", "REL_ERROR_GOOD`` (1e-7)", "KINK_LOW`` (1e-4)",
                   "REL_ERROR_WRONG`` (1e-2)", "REL_ERROR_CLEAN`` (1e-8)", "one or two entries"):
        assert phrase in text, phrase
    assert (DEFAULT_H, REL_ERROR_GOOD, KINK_LOW, REL_ERROR_WRONG, REL_ERROR_CLEAN) == (1e-6, 1e-7, 1e-4, 1e-2, 1e-8)
    assert re.search(r"KINK_MAX_ENTRIES``\) between", text) and KINK_MAX_ENTRIES == 2
