"""Tests of linclass.reference.losses: naive vs vectorized, gradients, invariants, stability, bad input."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linclass.gradcheck import eval_numerical_gradient, rel_error
from linclass.reference.losses import (
    binary_hinge_loss,
    binary_logistic_loss,
    binary_loss,
    binary_square_loss,
    check_inputs,
    softmax_loss_from_scores,
    softmax_loss_naive,
    softmax_loss_vectorized,
    softmax_naive_unstable,
    svm_loss_from_scores,
    svm_loss_naive,
    svm_loss_variant,
    svm_loss_vectorized,
)

# float64: naive and vectorized differ only by summation order.
TOL64 = 1e-10
# float32 has about 7 significant digits (eps = 1.2e-7); sums over up to a few
# hundred terms in different orders lose a few more, so 1e-4 relative is the
# honest float32 tolerance.
TOL32 = 1e-4

PAIRS = [
    pytest.param(svm_loss_naive, svm_loss_vectorized, id="svm"),
    pytest.param(softmax_loss_naive, softmax_loss_vectorized, id="softmax"),
]
LOSSES = [svm_loss_naive, svm_loss_vectorized, softmax_loss_naive, softmax_loss_vectorized]
SHAPES = [(1, 1, 2), (1, 5, 2), (3, 1, 2), (2, 3, 4), (10, 4, 3), (50, 20, 10), (7, 1, 10)]


def make_problem(seed, N, D, C, dtype=np.float64, w_scale=0.5):
    """A random problem: W (D, C), X (N, D), y (N,)."""
    rng = np.random.default_rng(seed)
    W = (w_scale * rng.standard_normal((D, C))).astype(dtype)
    X = rng.standard_normal((N, D)).astype(dtype)
    y = rng.integers(0, C, size=N)
    return W, X, y


def grad_scale_error(a, b):
    """max |a - b| relative to the largest entry: robust to entries that cancel to ~0."""
    scale = max(np.max(np.abs(a)), np.max(np.abs(b)))
    return 0.0 if scale == 0 else float(np.max(np.abs(a - b)) / scale)


# Away from its kinks the SVM loss is a quadratic in W (hinge pieces plus the
# L2 term), and centered differences are exact on a quadratic up to rounding.
# Rounding error is about 1e-16 * loss / h, so a larger step than the usual
# 1e-5 is more accurate here, as long as no margin crosses 0.
SVM_H = 1e-4


def svm_problem_without_kinks(seed, N, D, C, min_margin=1e-2):
    """A problem where no SVM margin s_j - s_y + 1 (j != y) is within min_margin of 0.

    Centered differences with h = SVM_H move a score by h * |x| < 1e-3 for
    standard normal X, so no evaluation crosses a hinge kink.
    """
    for attempt in range(1000):
        W, X, y = make_problem(seed * 1000 + attempt, N, D, C, w_scale=1.0)
        scores = X @ W
        margins = scores - scores[np.arange(N), y][:, None] + 1.0
        margins[np.arange(N), y] = np.inf
        if np.min(np.abs(margins)) > min_margin:
            return W, X, y
    raise AssertionError("could not draw a problem without kinks")


# --- naive and vectorized agree -------------------------------------------

@pytest.mark.parametrize("naive, vectorized", PAIRS)
@pytest.mark.parametrize("N, D, C", SHAPES)
@pytest.mark.parametrize("reg", [0.0, 0.1])
def test_naive_matches_vectorized_float64(naive, vectorized, N, D, C, reg):
    W, X, y = make_problem(N * 100 + D * 10 + C, N, D, C)
    loss_n, dW_n = naive(W, X, y, reg)
    loss_v, dW_v = vectorized(W, X, y, reg)
    assert rel_error(loss_n, loss_v) < TOL64
    assert rel_error(dW_n, dW_v) < TOL64
    assert dW_n.shape == dW_v.shape == W.shape


@settings(max_examples=40, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32 - 1), N=st.integers(1, 30), D=st.integers(1, 12),
       C=st.integers(2, 12), reg=st.floats(0, 10))
def test_naive_matches_vectorized_random_shapes(seed, N, D, C, reg):
    W, X, y = make_problem(seed, N, D, C)
    for naive, vectorized in [(svm_loss_naive, svm_loss_vectorized),
                              (softmax_loss_naive, softmax_loss_vectorized)]:
        loss_n, dW_n = naive(W, X, y, reg)
        loss_v, dW_v = vectorized(W, X, y, reg)
        assert rel_error(loss_n, loss_v) < TOL64
        # Elementwise relative error is meaningless for an entry that cancels
        # to ~1e-17; compare each entry against the gradient's scale instead.
        assert grad_scale_error(dW_n, dW_v) < TOL64


@pytest.mark.parametrize("naive, vectorized", PAIRS)
@pytest.mark.parametrize("N, D, C", SHAPES)
def test_naive_matches_vectorized_float32(naive, vectorized, N, D, C):
    W, X, y = make_problem(N + D + C, N, D, C, dtype=np.float32)
    loss_n, dW_n = naive(W, X, y, 0.1)
    loss_v, dW_v = vectorized(W, X, y, 0.1)
    assert rel_error(loss_n, loss_v) < TOL32
    assert grad_scale_error(dW_n, dW_v) < TOL32


@pytest.mark.parametrize("loss_fn", LOSSES)
def test_float32_in_float32_out_and_close_to_float64(loss_fn):
    W, X, y = make_problem(3, 20, 6, 5)
    loss64, dW64 = loss_fn(W, X, y, 0.5)
    loss32, dW32 = loss_fn(W.astype(np.float32), X.astype(np.float32), y, 0.5)
    assert isinstance(loss32, np.float32) and dW32.dtype == np.float32
    assert isinstance(loss64, np.float64) and dW64.dtype == np.float64
    assert rel_error(loss32, loss64) < TOL32
    assert grad_scale_error(dW32, dW64) < TOL32


@pytest.mark.parametrize("loss_fn", LOSSES)
def test_inputs_are_not_modified(loss_fn):
    W, X, y = make_problem(4, 8, 3, 4)
    copies = W.copy(), X.copy(), y.copy()
    loss_fn(W, X, y, 1.0)
    for before, after in zip(copies, (W, X, y)):
        np.testing.assert_array_equal(before, after)


# --- analytic vs numerical gradients --------------------------------------

@pytest.mark.parametrize("loss_fn", [softmax_loss_naive, softmax_loss_vectorized])
@pytest.mark.parametrize("N, D, C", [(1, 1, 2), (5, 3, 4), (20, 6, 10)])
@pytest.mark.parametrize("reg", [0.0, 0.7])
def test_softmax_gradient_matches_numerical(loss_fn, N, D, C, reg):
    W, X, y = make_problem(11 + N, N, D, C)
    _, dW = loss_fn(W, X, y, reg)
    # The softmax loss is smooth, so a larger step than the kit's default (1e-6, chosen so that
    # fewer SVM kinks fall inside the step) gives less round-off: at 1e-6 an entry near 1e-3
    # reaches a relative error of 4e-7 from round-off alone; at 1e-5 it stays below 1e-8.
    numerical = eval_numerical_gradient(lambda w: loss_fn(w, X, y, reg)[0], W, h=1e-5)
    assert rel_error(dW, numerical) < 1e-7


@pytest.mark.parametrize("loss_fn", [svm_loss_naive, svm_loss_vectorized])
@pytest.mark.parametrize("N, D, C", [(1, 1, 2), (5, 3, 4), (20, 6, 10)])
@pytest.mark.parametrize("reg", [0.0, 0.7])
def test_svm_gradient_matches_numerical_away_from_kinks(loss_fn, N, D, C, reg):
    W, X, y = svm_problem_without_kinks(N + D + C, N, D, C)
    _, dW = loss_fn(W, X, y, reg)
    numerical = eval_numerical_gradient(lambda w: loss_fn(w, X, y, reg)[0], W, h=SVM_H)
    assert rel_error(dW, numerical) < 1e-7


def test_svm_kink_gives_large_error_at_one_coordinate():
    """A margin exactly at 0: the centered difference averages the two slopes.

    X = [[1, 0]], W = [[1, 0], [0, 0]] gives scores [1, 0], label 0, so the
    margin of class 1 is 0 - 1 + 1 = 0: right on the hinge's kink. Moving
    W[0, 1] by +h makes the loss h, by -h leaves it 0, so the numerical
    derivative is (h - 0) / (2 h) = 0.5, while the analytic (sub)gradient
    uses the convention "counts only if margin > 0" and says 0. The relative
    error there is 1 although the code is right. One step away from the kink
    the two agree again.
    """
    X = np.array([[1.0, 0.0]])
    y = np.array([0])
    W = np.array([[1.0, 0.0], [0.0, 0.0]])
    _, dW = svm_loss_vectorized(W, X, y, 0.0)
    numerical = eval_numerical_gradient(lambda w: svm_loss_vectorized(w, X, y, 0.0)[0], W)
    assert dW[0, 1] == 0.0
    assert numerical[0, 1] == pytest.approx(0.5)
    assert rel_error(dW[0, 1], numerical[0, 1]) == pytest.approx(1.0)
    # The kink touches only coordinates that move that margin.
    assert rel_error(dW[1, :], numerical[1, :]) == 0.0

    for offset in (1e-3, -1e-3):   # the margin is now +-1e-3, far beyond h = 1e-5
        W_off = W.copy()
        W_off[0, 1] += offset
        _, dW_off = svm_loss_vectorized(W_off, X, y, 0.0)
        num_off = eval_numerical_gradient(lambda w: svm_loss_vectorized(w, X, y, 0.0)[0], W_off)
        assert rel_error(dW_off, num_off) < 1e-7


# --- invariants -------------------------------------------------------------

@settings(max_examples=40, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32 - 1), N=st.integers(1, 20), C=st.integers(2, 10),
       scale=st.floats(0.01, 100))
def test_losses_are_nonnegative(seed, N, C, scale):
    rng = np.random.default_rng(seed)
    scores = scale * rng.standard_normal((N, C))
    y = rng.integers(0, C, size=N)
    assert np.all(svm_loss_from_scores(scores, y)[0] >= 0)
    assert np.all(softmax_loss_from_scores(scores, y)[0] >= 0)
    W, X, _ = make_problem(seed % 1000, N, 4, C)
    for loss_fn in LOSSES:
        assert loss_fn(W, X, y, 0.3)[0] >= 0


@settings(max_examples=40, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32 - 1), N=st.integers(1, 20), C=st.integers(2, 10),
       delta=st.floats(0, 5), extra=st.floats(1e-6, 3))
def test_svm_loss_is_zero_when_correct_class_wins_by_delta(seed, N, C, delta, extra):
    # extra > 0 keeps rounding from turning the margin into +1e-16; the exact
    # boundary (margin == delta) is tested on integer scores in test_lecture_facts.
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal((N, C))
    y = rng.integers(0, C, size=N)
    rows = np.arange(N)
    others = scores.copy()
    others[rows, y] = -np.inf
    scores[rows, y] = others.max(axis=1) + delta + extra   # margin >= delta
    losses, dscores = svm_loss_from_scores(scores, y, delta=delta)
    np.testing.assert_array_equal(losses, 0.0)
    np.testing.assert_array_equal(dscores, 0.0)
    # The same through W: with X = scores and W = I the class scores are X @ W.
    loss, dW = svm_loss_vectorized(np.eye(C), scores, y, 0.0, delta=delta)
    assert loss == 0.0 and not dW.any()


@settings(max_examples=40, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32 - 1), N=st.integers(1, 20), C=st.integers(1, 10),
       shift=st.floats(-1e3, 1e3))
def test_softmax_is_invariant_to_shifting_one_row(seed, N, C, shift):
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal((N, C))
    y = rng.integers(0, C, size=N)
    shifts = np.zeros((N, 1))
    shifts[rng.integers(N)] = shift
    losses, dscores = softmax_loss_from_scores(scores, y)
    losses2, dscores2 = softmax_loss_from_scores(scores + shifts, y)
    # Shifting by 1e3 rounds each score to about 1e3 * 2e-16; the loss moves by as much.
    np.testing.assert_allclose(losses2, losses, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(dscores2, dscores, rtol=1e-9, atol=1e-10)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32 - 1), a=st.floats(0.01, 100), delta=st.floats(0, 5))
def test_svm_loss_scales_with_scores_and_delta(seed, a, delta):
    """The hinge is positively homogeneous: L(a * s; a * delta) = a * L(s; delta)."""
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal((6, 4))
    y = rng.integers(0, 4, size=6)
    losses, _ = svm_loss_from_scores(scores, y, delta=delta)
    scaled, _ = svm_loss_from_scores(a * scores, y, delta=a * delta)
    np.testing.assert_allclose(scaled, a * losses, rtol=1e-9, atol=1e-12)


def test_softmax_loss_falls_when_confident_correct_scores_are_scaled_up():
    scores = np.array([[3.0, 1.0, -2.0]])   # the correct class 0 already wins
    losses = [softmax_loss_from_scores(a * scores, [0])[0][0] for a in (0.5, 1, 2, 4)]
    assert all(b < a for a, b in zip(losses, losses[1:]))


@pytest.mark.parametrize("loss_fn", LOSSES)
@pytest.mark.parametrize("reg", [1e-3, 0.5, 2.5e4])
def test_reg_term_is_exactly_l2(loss_fn, reg):
    W, X, y = make_problem(5, 12, 5, 4)
    loss0, dW0 = loss_fn(W, X, y, 0.0)
    loss, dW = loss_fn(W, X, y, reg)
    assert loss - loss0 == pytest.approx(reg * np.sum(W * W), rel=1e-12)
    np.testing.assert_allclose(dW - dW0, 2 * reg * W, rtol=1e-10, atol=1e-12 * reg)


def test_losses_give_same_result_for_int_inputs():
    W, X, y = make_problem(6, 5, 3, 3)
    Wi, Xi = np.round(3 * W).astype(int), np.round(X).astype(int)
    loss_i, dW_i = svm_loss_vectorized(Wi, Xi, y, 0.1)
    loss_f, dW_f = svm_loss_vectorized(Wi.astype(float), Xi.astype(float), y, 0.1)
    assert loss_i == loss_f and dW_i.dtype == np.float64
    np.testing.assert_array_equal(dW_i, dW_f)


# --- numerical stability ------------------------------------------------------

STABILITY_CASES = [
    pytest.param(np.array([[10.0, -100.0, -100.0]]), id="gap-110"),
    pytest.param(np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5e3]]), id="magnitude-1e4"),
    pytest.param(np.array([[1003.0, 1001.0, 1002.0], [-1002.0, -1003.0, -1001.0]]), id="shift-1e3"),
]


@pytest.mark.parametrize("scores", STABILITY_CASES)
@pytest.mark.parametrize("label", [0, 1, 2])
def test_softmax_is_finite_and_silent_on_extreme_scores(scores, label):
    y = np.full(len(scores), label)
    C = scores.shape[1]
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        losses, dscores = softmax_loss_from_scores(scores, y)
        # The same scores through W: X = scores, W = I.
        results = [fn(np.eye(C), scores, y, 0.0) for fn in (softmax_loss_naive, softmax_loss_vectorized)]
    assert np.all(np.isfinite(losses)) and np.all(np.isfinite(dscores))
    assert np.all(losses >= 0)
    for loss, dW in results:
        assert np.isfinite(loss) and np.all(np.isfinite(dW))
        assert loss == pytest.approx(losses.mean(), rel=1e-12)
    # The loss written out around the max (which rounds a 3e-48 loss to 0,
    # hence the atol; test_softmax_keeps_tiny_losses_positive checks that case).
    expected = [np.max(s) + np.log(np.sum(np.exp(s - np.max(s)))) - s[label] for s in scores]
    np.testing.assert_allclose(losses, expected, rtol=1e-12, atol=1e-12)


def test_softmax_keeps_tiny_losses_positive():
    """-log p for p = 1 - 3e-48: log(1 + tiny) would round to exactly 0."""
    losses, _ = softmax_loss_from_scores(np.array([[10.0, -100.0, -100.0]]), [0])
    assert losses[0] == pytest.approx(2 * np.exp(-110.0), rel=1e-12)
    assert losses[0] > 0


def test_unstable_softmax_overflows_where_the_stable_one_does_not():
    scores = np.array([1003.0, 1001.0, 1002.0])
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="warn"):
        warnings.simplefilter("always")
        unstable = softmax_naive_unstable(scores, 0)
    assert np.isnan(unstable) and caught   # exp(1003) = inf, inf / inf = nan
    stable, _ = softmax_loss_from_scores(scores[None, :], [0])
    # On small scores the literal formula is fine and equals the stable one.
    assert softmax_naive_unstable(scores - 1000, 0) == pytest.approx(stable[0], rel=1e-12)


# --- the lecture's SVM variants ------------------------------------------------

def random_scores(seed, N=8, C=5):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, C)), rng.integers(0, C, size=N)


@pytest.mark.parametrize("delta", [0.0, 1.0, 2.5])
def test_including_the_correct_class_adds_exactly_delta(delta):
    scores, y = random_scores(1)
    base, dbase = svm_loss_from_scores(scores, y, delta=delta)
    full, dfull = svm_loss_from_scores(scores, y, delta=delta, include_correct=True)
    np.testing.assert_allclose(full - base, delta, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(dfull, dbase)


def test_mean_over_classes_divides_by_number_of_terms():
    scores, y = random_scores(2, C=5)
    total, dtotal = svm_loss_from_scores(scores, y)
    mean, dmean = svm_loss_from_scores(scores, y, reduce="mean")
    np.testing.assert_allclose(mean, total / 4, rtol=1e-14)
    np.testing.assert_allclose(dmean, dtotal / 4, rtol=1e-14)
    mean_all, _ = svm_loss_from_scores(scores, y, reduce="mean", include_correct=True)
    np.testing.assert_allclose(mean_all, (total + 1) / 5, rtol=1e-14)


def test_squared_hinge_squares_each_violation():
    scores = np.array([[3.2, 5.1, -1.7]])
    losses, dscores = svm_loss_from_scores(scores, [0], squared=True)
    assert losses[0] == pytest.approx(2.9 ** 2)
    np.testing.assert_allclose(dscores, [[-2 * 2.9, 2 * 2.9, 0.0]])


@pytest.mark.parametrize("options", [
    {},
    {"include_correct": True},
    {"reduce": "mean"},
    {"squared": True},
    {"squared": True, "reduce": "mean", "delta": 2.0},
])
def test_svm_variant_gradients_match_numerical(options):
    W, X, y = svm_problem_without_kinks(3, 10, 4, 5)
    if "delta" in options:   # the kink-free margins above assume delta = 1
        scores = X @ W
        margins = scores - scores[np.arange(10), y][:, None] + options["delta"]
        margins[np.arange(10), y] = np.inf
        assert np.min(np.abs(margins)) > 1e-2
    _, dW = svm_loss_variant(W, X, y, 0.3, **options)
    numerical = eval_numerical_gradient(lambda w: svm_loss_variant(w, X, y, 0.3, **options)[0], W,
                                        h=SVM_H)
    assert rel_error(dW, numerical) < 1e-7


@pytest.mark.parametrize("delta", [1.0, 0.5])
def test_svm_variant_defaults_equal_svm_loss(delta):
    W, X, y = make_problem(8, 15, 6, 7)
    loss_a, dW_a = svm_loss_variant(W, X, y, 0.2, delta=delta)
    loss_b, dW_b = svm_loss_vectorized(W, X, y, 0.2, delta=delta)
    assert rel_error(loss_a, loss_b) < TOL64 and rel_error(dW_a, dW_b) < TOL64


@pytest.mark.parametrize("i", range(8))
def test_dscores_match_numerical(i):
    """Row i of dscores is the gradient of losses[i] (each loss sees only its own row)."""
    scores, y = random_scores(4)
    _, dscores = softmax_loss_from_scores(scores, y)
    numerical = eval_numerical_gradient(lambda s: softmax_loss_from_scores(s, y)[0][i], scores)
    assert rel_error(dscores[i], numerical[i]) < 1e-7
    assert not numerical[np.arange(8) != i].any()

    scores = 3 * scores
    margins = scores - scores[np.arange(8), y][:, None] + 1
    margins[np.arange(8), y] = np.inf
    assert np.min(np.abs(margins)) > 1e-2   # away from the hinge's kinks
    _, dscores = svm_loss_from_scores(scores, y)
    numerical = eval_numerical_gradient(lambda s: svm_loss_from_scores(s, y)[0][i], scores, h=SVM_H)
    assert rel_error(dscores[i], numerical[i]) < 1e-7


# --- binary losses ---------------------------------------------------------------

BINARY = [binary_hinge_loss, binary_logistic_loss, binary_square_loss]


def test_binary_loss_values():
    m = np.array([-2.0, 0.0, 0.5, 1.0, 3.0])
    np.testing.assert_allclose(binary_hinge_loss(m)[0], [3.0, 1.0, 0.5, 0.0, 0.0])
    np.testing.assert_allclose(binary_hinge_loss(m)[1], [-1.0, -1.0, -1.0, 0.0, 0.0])
    np.testing.assert_allclose(binary_logistic_loss(m)[0], np.log1p(np.exp(-m)), rtol=1e-14)
    np.testing.assert_allclose(binary_logistic_loss(m)[1], -1 / (1 + np.exp(m)), rtol=1e-14)
    np.testing.assert_allclose(binary_square_loss(m)[0], [9.0, 1.0, 0.25, 0.0, 4.0])
    np.testing.assert_allclose(binary_square_loss(m)[1], [-6.0, -2.0, -1.0, 0.0, 4.0])


@pytest.mark.parametrize("fn", BINARY)
def test_binary_derivatives_match_numerical(fn):
    m = np.array([-3.0, -0.7, 0.3, 1.6, 4.0])   # no point at the hinge's kink m = 1
    _, dm = fn(m)
    numerical = eval_numerical_gradient(lambda v: fn(v)[0].sum(), m)
    assert rel_error(dm, numerical) < 1e-7


def test_binary_logistic_is_stable_for_huge_margins():
    m = np.array([-1000.0, -50.0, 50.0, 1000.0])
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        loss, dloss = binary_logistic_loss(m)
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(dloss))
    assert loss[0] == pytest.approx(1000.0) and dloss[0] == pytest.approx(-1.0)
    assert 0.0 <= loss[3] < 1e-300   # exp(-1000) is below the smallest float64
    assert loss[2] == pytest.approx(np.exp(-50.0), rel=1e-12)


@pytest.mark.parametrize("kind", ["hinge", "logistic", "square"])
@pytest.mark.parametrize("reg", [0.0, 0.4])
def test_binary_loss_gradient_matches_numerical(kind, reg):
    rng = np.random.default_rng(9)
    w = rng.standard_normal(4)
    X = rng.standard_normal((12, 4))
    y = np.where(rng.random(12) < 0.5, -1, 1)
    m = y * (X @ w)
    assert np.min(np.abs(m - 1)) > 1e-3   # away from the hinge's kink
    loss, dw = binary_loss(w, X, y, kind, reg)
    losses, _ = {"hinge": binary_hinge_loss, "logistic": binary_logistic_loss,
                 "square": binary_square_loss}[kind](m)
    assert loss == pytest.approx(losses.mean() + reg * np.sum(w * w), rel=1e-12)
    numerical = eval_numerical_gradient(lambda v: binary_loss(v, X, y, kind, reg)[0], w)
    assert rel_error(dw, numerical) < 1e-7


def test_binary_loss_rejects_bad_labels_and_kind():
    w, X = np.zeros(2), np.ones((3, 2))
    with pytest.raises(ValueError, match="-1 and \\+1"):
        binary_loss(w, X, np.array([0, 1, 1]), "hinge", 0.0)
    with pytest.raises(ValueError, match="kind"):
        binary_loss(w, X, np.array([1, -1, 1]), "cubic", 0.0)
    with pytest.raises(ValueError, match="w must have 1 dimensions"):
        binary_loss(np.zeros((2, 1)), X, np.array([1, -1, 1]), "hinge", 0.0)


# --- bad input ------------------------------------------------------------------------

def bad_inputs():
    W, X, y = make_problem(0, 4, 3, 5)
    nan_W = W.copy()
    nan_W[1, 2] = np.nan
    inf_X = X.copy()
    inf_X[0, 0] = np.inf
    return [
        pytest.param(W[:2], X, y, 0.1, "X has 3 columns but W has 2 rows", id="D-mismatch"),
        pytest.param(W, X, y[:3], 0.1, "y has 3 labels but there are 4 examples", id="N-mismatch"),
        pytest.param(W, X, np.array([0, 1, 5, 2]), 0.1, r"y must hold labels in \[0, 5\)", id="label-high"),
        pytest.param(W, X, np.array([0, -1, 2, 2]), 0.1, r"y must hold labels in \[0, 5\)", id="label-negative"),
        pytest.param(W, X, y.astype(float), 0.1, "y must hold integer class labels", id="label-float"),
        pytest.param(nan_W, X, y, 0.1, "W contains NaN or inf", id="W-nan"),
        pytest.param(W, inf_X, y, 0.1, "X contains NaN or inf", id="X-inf"),
        pytest.param(W, X, y, -1.0, "reg must be a finite number >= 0", id="reg-negative"),
        pytest.param(W, X, y, float("nan"), "reg must be a finite number >= 0", id="reg-nan"),
        pytest.param(W, X, y, "0.1", "reg must be a real number", id="reg-string"),
        pytest.param(W[:, 0], X, y, 0.1, "W must have 2 dimensions", id="W-1d"),
        pytest.param(W, X[0], y, 0.1, "X must have 2 dimensions", id="X-1d"),
        pytest.param(W, X, y[:, None], 0.1, r"y must have shape \(N,\)", id="y-2d"),
        pytest.param(W, X[:0], y[:0], 0.1, "X has no examples", id="N-zero"),
        pytest.param(W.astype(complex), X, y, 0.1, "W must be an array of real numbers", id="W-complex"),
    ]


@pytest.mark.parametrize("loss_fn", LOSSES)
@pytest.mark.parametrize("W, X, y, reg, message", bad_inputs())
def test_bad_input_raises_value_error_naming_the_argument(loss_fn, W, X, y, reg, message):
    with pytest.raises(ValueError, match=message):
        loss_fn(W, X, y, reg)


@pytest.mark.parametrize("loss_fn", [svm_loss_naive, svm_loss_vectorized, svm_loss_variant])
def test_negative_delta_is_rejected(loss_fn):
    W, X, y = make_problem(0, 4, 3, 5)
    with pytest.raises(ValueError, match="delta"):
        loss_fn(W, X, y, 0.0, delta=-1.0)


def test_score_functions_reject_bad_input():
    scores, y = random_scores(0)
    with pytest.raises(ValueError, match="reduce"):
        svm_loss_from_scores(scores, y, reduce="max")
    with pytest.raises(ValueError, match="scores must have 2 dimensions"):
        softmax_loss_from_scores(scores[0], y[:1])
    with pytest.raises(ValueError, match="scores contains NaN"):
        softmax_loss_from_scores(np.full((2, 3), np.nan), [0, 1])
    with pytest.raises(ValueError, match="at least 2 classes"):
        svm_loss_from_scores(np.zeros((2, 1)), [0, 0], reduce="mean")


def test_check_inputs_keeps_float32_and_promotes_mixed_dtypes():
    W, X, y = make_problem(0, 4, 3, 5, dtype=np.float32)
    W2, X2, _, reg = check_inputs(W, X, y, 1)
    assert W2.dtype == X2.dtype == np.float32 and W2 is W and isinstance(reg, float)
    W3, X3, _, _ = check_inputs(W, X.astype(np.float64), y, 0)
    assert W3.dtype == X3.dtype == np.float64
