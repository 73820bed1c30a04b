"""The facts stated in the lecture "Loss functions and linear classification", as tests.

Each test quotes the slide it checks. Scores are listed per image as
(cat, car, frog); the labels are 0 = cat, 1 = car, 2 = frog.
"""
import math

import numpy as np
import pytest

from linclass.reference.losses import (
    softmax_loss_from_scores,
    softmax_loss_naive,
    softmax_loss_vectorized,
    svm_loss_from_scores,
    svm_loss_naive,
    svm_loss_vectorized,
)
from linclass.reference.regularizers import l1, l2

# The worked example: one row per image (the slides show one column per image).
SCORES = np.array([
    [3.2, 5.1, -1.7],    # the cat image
    [1.3, 4.9, 2.0],     # the car image
    [2.2, 2.5, -3.1],    # the frog image
])
LABELS = np.array([0, 1, 2])


def L_i_vectorized(x, y, W):
    """The slide's "Example numpy code", for W of shape (C, D) and one example x (D,)."""
    scores = W.dot(x)
    margins = np.maximum(0, scores - scores[y] + 1)
    margins[y] = 0
    loss_i = np.sum(margins)
    return loss_i


def worked_example_as_W():
    """W and X with X @ W = SCORES: X = I picks row i of W as image i's scores."""
    return SCORES.copy(), np.eye(3)


# --- Multiclass SVM loss: the worked example ---------------------------------------

def test_worked_example_losses():
    losses, _ = svm_loss_from_scores(SCORES, LABELS)
    # "Losses: 2.9  0  12.9"
    np.testing.assert_allclose(losses, [2.9, 0.0, 12.9], atol=1e-12)
    # "L = (2.9 + 0 + 12.9) / 3" = 5.27 to 2 decimals
    assert round(float(losses.mean()), 2) == 5.27


def test_worked_example_term_by_term():
    # cat image: max(0, 5.1 - 3.2 + 1) + max(0, -1.7 - 3.2 + 1) = 2.9 + 0
    assert max(0, 5.1 - 3.2 + 1) + max(0, -1.7 - 3.2 + 1) == pytest.approx(2.9)
    # frog image: max(0, 2.2 - (-3.1) + 1) + max(0, 2.5 - (-3.1) + 1) = 6.3 + 6.6
    assert max(0, 2.2 + 3.1 + 1) + max(0, 2.5 + 3.1 + 1) == pytest.approx(12.9)


@pytest.mark.parametrize("loss_fn", [svm_loss_naive, svm_loss_vectorized])
def test_worked_example_through_W(loss_fn):
    W, X = worked_example_as_W()
    loss, _ = loss_fn(W, X, LABELS, 0.0)
    assert loss == pytest.approx((2.9 + 0 + 12.9) / 3)
    assert round(float(loss), 2) == 5.27


def test_slide_numpy_code_agrees():
    W_slide = SCORES.T.copy()   # the slide's W has shape (C, D): scores = W.dot(x)
    X = np.eye(3)
    per_example = [L_i_vectorized(X[i], LABELS[i], W_slide) for i in range(3)]
    losses, _ = svm_loss_from_scores(SCORES, LABELS)
    np.testing.assert_allclose(per_example, losses, atol=1e-12)


def test_doubling_W_keeps_the_car_loss_at_zero():
    """"Suppose that we found a W such that L = 0. Is this W unique?" No: 2W works too.

    Before: max(0, 1.3 - 4.9 + 1) + max(0, 2.0 - 4.9 + 1) = 0.
    With W twice as large: max(0, 2.6 - 9.8 + 1) + max(0, 4.0 - 9.8 + 1) = 0.
    """
    W, X = worked_example_as_W()
    for factor in (1.0, 2.0):
        losses, _ = svm_loss_from_scores(X @ (factor * W), LABELS)
        assert losses[1] == 0.0
    loss_2w, _ = svm_loss_from_scores(X[1:2] @ (2 * W), LABELS[1:2])
    assert loss_2w[0] == 0.0
    margins_2w = 2 * SCORES[1] - 2 * SCORES[1, 1] + 1
    np.testing.assert_allclose(margins_2w[[0, 2]], [-6.2, -4.8])
    # The full-data loss is the same for W and 2W on that image alone:
    for loss_fn in (svm_loss_naive, svm_loss_vectorized):
        assert loss_fn(W, X[1:2], LABELS[1:2], 0.0)[0] == 0.0
        assert loss_fn(2 * W, X[1:2], LABELS[1:2], 0.0)[0] == 0.0


# --- Q1..Q5 about the SVM loss --------------------------------------------------------

def test_q1_sum_over_all_classes_adds_one():
    """Q1: "what if the sum was instead over all classes? (including j = y_i)"

    The extra term is max(0, s_yi - s_yi + 1) = 1: every loss grows by 1 (the
    mean becomes 6.27), and the gradient, hence the best W, does not change.
    """
    base, dbase = svm_loss_from_scores(SCORES, LABELS)
    full, dfull = svm_loss_from_scores(SCORES, LABELS, include_correct=True)
    np.testing.assert_allclose(full, [3.9, 1.0, 13.9], atol=1e-12)
    assert round(float(full.mean()), 2) == 6.27
    np.testing.assert_array_equal(dfull, dbase)


def test_q2_mean_instead_of_sum_only_rescales():
    """Q2: "what if we used a mean instead of a sum here?" The loss is divided by C - 1 = 2."""
    total, dtotal = svm_loss_from_scores(SCORES, LABELS)
    mean, dmean = svm_loss_from_scores(SCORES, LABELS, reduce="mean")
    np.testing.assert_allclose(mean, [1.45, 0.0, 6.45], atol=1e-12)
    np.testing.assert_allclose(dmean, dtotal / 2)
    # A positive rescaling keeps the ranking of any two W: compare W and 2W.
    W, X = worked_example_as_W()
    for a, b in [(W, 2 * W), (2 * W, 0.5 * W)]:
        sum_a, sum_b = (svm_loss_from_scores(X @ w, LABELS)[0].mean() for w in (a, b))
        mean_a, mean_b = (svm_loss_from_scores(X @ w, LABELS, reduce="mean")[0].mean() for w in (a, b))
        assert (sum_a < sum_b) == (mean_a < mean_b)


def test_q3_squared_hinge_is_a_different_loss():
    """Q3: the squared hinge punishes large violations more: it is a different classifier.

    The frog image: 6.3**2 + 6.6**2 = 83.25 instead of 12.9.
    """
    squared, _ = svm_loss_from_scores(SCORES, LABELS, squared=True)
    np.testing.assert_allclose(squared, [2.9 ** 2, 0.0, 6.3 ** 2 + 6.6 ** 2], atol=1e-12)
    # It changes which image dominates: 12.9 / 2.9 = 4.4 becomes 83.25 / 8.41 = 9.9.
    plain, _ = svm_loss_from_scores(SCORES, LABELS)
    assert squared[2] / squared[0] > 2 * plain[2] / plain[0]


def test_q4_svm_min_is_zero_and_there_is_no_max():
    """Q4: "what is the min/max possible loss?" min 0, max unbounded."""
    assert svm_loss_from_scores(np.array([[5.0, 0.0, 0.0]]), [0])[0][0] == 0.0
    losses = [svm_loss_from_scores(np.array([[-t, t, t]]), [0])[0][0] for t in (1, 10, 1e3, 1e6)]
    assert losses == sorted(losses) and losses[-1] > 1e6   # grows like 4t + 2


@pytest.mark.parametrize("C", [2, 3, 10, 100])
def test_q5_all_scores_zero(C):
    """Q5: "at initialization W are small numbers, so all s ~= 0. What is the loss?"

    SVM: C - 1 (each wrong class contributes max(0, 0 - 0 + 1) = 1).
    Softmax: log C (every class has probability 1 / C).
    """
    scores = np.zeros((4, C))
    y = np.arange(4) % C
    assert np.all(svm_loss_from_scores(scores, y)[0] == C - 1)
    np.testing.assert_allclose(softmax_loss_from_scores(scores, y)[0], math.log(C), rtol=1e-15)


@pytest.mark.parametrize("loss_fn, expected", [
    (svm_loss_naive, 9.0), (svm_loss_vectorized, 9.0),
    (softmax_loss_naive, math.log(10)), (softmax_loss_vectorized, math.log(10)),
])
def test_q5_loss_at_initialization_is_a_sanity_check(loss_fn, expected):
    """With CIFAR-10's 10 classes and a tiny random W the first loss is about 9 (SVM) or 2.303."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3073))
    W = 1e-7 * rng.standard_normal((3073, 10))
    y = rng.integers(0, 10, size=50)
    loss, _ = loss_fn(W, X, y, 0.0)
    assert loss == pytest.approx(expected, abs=1e-3)


# --- Regularization --------------------------------------------------------------------

def test_l2_motivation():
    """x = [1, 1, 1, 1], w1 = [1, 0, 0, 0], w2 = [0.25] * 4: the same score, w1.x = w2.x = 1.

    "Which one does L2 regularization choose?" w2: R(w1) = 1 > R(w2) = 0.25,
    it spreads the weight over all inputs. L1 rates them equal: both sum to 1.
    """
    x = np.ones(4)
    w1 = np.array([1.0, 0.0, 0.0, 0.0])
    w2 = np.full(4, 0.25)
    assert w1 @ x == w2 @ x == 1.0
    assert l2(w1)[0] == 1.0 and l2(w2)[0] == 0.25
    assert l2(w2)[0] < l2(w1)[0]
    assert l1(w1)[0] == l1(w2)[0] == 1.0


def test_regularization_breaks_the_tie_between_W_and_2W():
    """Without R(W), W and 2W both give the car image loss 0; with L2 the smaller W wins."""
    W, X = worked_example_as_W()
    Xc, yc = X[1:2], LABELS[1:2]
    for loss_fn in (svm_loss_naive, svm_loss_vectorized):
        assert loss_fn(W, Xc, yc, 0.0)[0] == loss_fn(2 * W, Xc, yc, 0.0)[0] == 0.0
        assert loss_fn(W, Xc, yc, 0.1)[0] < loss_fn(2 * W, Xc, yc, 0.1)[0]


# --- Softmax ---------------------------------------------------------------------------

def test_softmax_on_the_cat_image():
    """The slide's softmax example: exp, normalize, -log of the cat probability = 2.04."""
    losses, _ = softmax_loss_from_scores(SCORES[:1], [0])
    probs = np.exp(SCORES[0]) / np.exp(SCORES[0]).sum()
    np.testing.assert_allclose(probs, [0.13, 0.87, 0.00], atol=0.005)
    assert losses[0] == pytest.approx(-np.log(probs[0]), rel=1e-12)
    assert round(float(losses[0]), 2) == 2.04


def test_softmax_min_is_zero_max_is_unbounded():
    """"What is the min/max possible loss L_i?" min 0 (only approached), max infinity."""
    losses = [softmax_loss_from_scores(np.array([[t, -t, -t]]), [0])[0][0] for t in (1, 5, 20, 300)]
    assert all(v > 0 for v in losses) and losses == sorted(losses, reverse=True)
    assert losses[-1] < 1e-250
    worst = softmax_loss_from_scores(np.array([[-1e4, 1e4, 0.0]]), [0])[0][0]
    assert worst == pytest.approx(2e4)


@pytest.mark.parametrize("shift", [-1e3, -7.5, 3.0, 1e3])
def test_softmax_shift_invariance(shift):
    """Adding a constant to all of one example's scores leaves its loss unchanged."""
    losses, dscores = softmax_loss_from_scores(SCORES, LABELS)
    shifted = SCORES.copy()
    shifted[2] += shift
    losses2, dscores2 = softmax_loss_from_scores(shifted, LABELS)
    np.testing.assert_allclose(losses2, losses, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dscores2, dscores, rtol=1e-10, atol=1e-12)


# --- Softmax vs SVM -----------------------------------------------------------------------

JIGGLE_SCORES = np.array([
    [10.0, -2.0, 3.0],
    [10.0, 9.0, 9.0],
    [10.0, -100.0, -100.0],
])
JIGGLE_LABELS = np.zeros(3, dtype=int)


def test_svm_loss_is_zero_for_all_three():
    losses, _ = svm_loss_from_scores(JIGGLE_SCORES, JIGGLE_LABELS)
    np.testing.assert_array_equal(losses, 0.0)


def test_svm_at_the_margin_reacts_to_a_jiggle_the_others_do_not():
    """[10, 9, 9] has margins 9 - 10 + 1 = 0 exactly: the correct score just meets delta.

    Lowering the correct score (or raising a wrong one) by any eps > 0 makes
    its SVM loss positive; the other two are at least 6 past the margin, so a
    jiggle smaller than 3 keeps their loss at 0.
    """
    rng = np.random.default_rng(0)
    for eps in (1e-6, 1e-3, 0.1):
        jiggled = JIGGLE_SCORES + np.array([-eps, 0.0, 0.0])
        losses, _ = svm_loss_from_scores(jiggled, JIGGLE_LABELS)
        assert losses[1] > 0
        assert losses[1] == pytest.approx(2 * eps, rel=1e-6)
        assert losses[0] == losses[2] == 0.0
    for _ in range(100):
        jiggled = JIGGLE_SCORES + rng.uniform(-0.5, 0.5, size=JIGGLE_SCORES.shape)
        losses, _ = svm_loss_from_scores(jiggled, JIGGLE_LABELS)
        assert losses[0] == losses[2] == 0.0


def test_softmax_is_positive_for_all_three_and_moves_under_any_jiggle():
    """Softmax always wants more: the loss is > 0 even for [10, -100, -100] (about 3e-48),
    and any jiggle that is not a shift of the whole row changes it."""
    losses, _ = softmax_loss_from_scores(JIGGLE_SCORES, JIGGLE_LABELS)
    assert np.all(losses > 0)
    assert losses[2] == pytest.approx(2 * math.exp(-110), rel=1e-12)
    rng = np.random.default_rng(1)
    for eps in (1e-6, 1e-3, 0.1):
        for _ in range(20):
            jiggle = eps * rng.standard_normal(JIGGLE_SCORES.shape)
            jiggle -= jiggle.mean(axis=1, keepdims=True)   # drop the shift part, which changes nothing
            new_losses, _ = softmax_loss_from_scores(JIGGLE_SCORES + jiggle, JIGGLE_LABELS)
            assert np.all(new_losses > 0)
            assert np.all(new_losses != losses)


@pytest.mark.parametrize("loss_fn", [softmax_loss_naive, softmax_loss_vectorized])
def test_softmax_vs_svm_through_W(loss_fn):
    """The same three score rows through W (X = scores, W = I) in the graded functions."""
    W = np.eye(3)
    for i in range(3):
        X = JIGGLE_SCORES[i:i + 1]
        assert svm_loss_naive(W, X, JIGGLE_LABELS[:1], 0.0)[0] == 0.0
        assert svm_loss_vectorized(W, X, JIGGLE_LABELS[:1], 0.0)[0] == 0.0
        assert loss_fn(W, X, JIGGLE_LABELS[:1], 0.0)[0] > 0
