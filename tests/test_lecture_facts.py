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


# --- The 4-pixel example: f(x, W, b) = W x + b -------------------------------------------

W_SMALL = np.array([[0.2, -0.5, 0.1, 2.0],     # cat
                    [1.5, 1.3, 2.1, 0.0],      # dog
                    [0.0, 0.25, 0.2, -0.3]])   # ship
X_SMALL = np.array([56, 231, 24, 2])
B_SMALL = np.array([1.1, 3.2, -1.2])


def test_four_pixel_example_scores():
    """The slide: cat -96.8, dog 437.9, ship 61.95. Cat and dog include their bias; the
    ship's 61.95 is W x alone: with its bias -1.2 the ship scores 60.75 (the walkthrough's)."""
    np.testing.assert_allclose(W_SMALL @ X_SMALL + B_SMALL, [-96.8, 437.9, 60.75], atol=1e-9)
    assert W_SMALL[2] @ X_SMALL == pytest.approx(61.95)
    assert W_SMALL[:2] @ X_SMALL + B_SMALL[:2] == pytest.approx([-96.8, 437.9])
    # Either way the dog wins, and the image was a cat.
    assert np.argmax(W_SMALL @ X_SMALL + B_SMALL) == np.argmax(W_SMALL @ X_SMALL) == 1


# --- The margin delta and the strength lambda --------------------------------------------

@pytest.mark.parametrize("loss_fn", [svm_loss_naive, svm_loss_vectorized])
@pytest.mark.parametrize("delta", [0.5, 4.0, 10.0])
def test_only_delta_times_the_scale_of_W_matters(loss_fn, delta):
    """L_{delta, reg}(delta W) = delta * L_{1, reg * delta}(W), and the gradients agree:
    minimizing with margin delta finds delta times the W found with margin 1 and reg * delta."""
    rng = np.random.default_rng(int(delta * 10))
    X = rng.standard_normal((30, 6))
    y = rng.integers(0, 4, 30)
    W = rng.standard_normal((6, 4))
    reg = 0.3
    loss_delta, grad_delta = loss_fn(delta * W, X, y, reg, delta=delta)
    loss_one, grad_one = loss_fn(W, X, y, reg * delta, delta=1.0)
    assert loss_delta == pytest.approx(delta * loss_one, rel=1e-12)
    np.testing.assert_allclose(grad_delta, grad_one, rtol=1e-10, atol=1e-12)


def test_gradient_descent_with_delta_10_learns_10_times_the_W():
    """The walkthrough's run: 200 steps with (delta 1, reg 0.1, lr 0.05) and with
    (delta 10, reg 0.01, lr 0.5) from 10 x the start: W and b differ by the factor 10 only."""
    from linclass.reference import demo

    X, y = demo.default_points()
    W1, b1 = demo.default_params()
    W10, b10 = 10 * W1, 10 * b1
    for _ in range(200):
        W1, b1, _, _ = demo.step(W1, b1, X, y, "ww", reg=0.1, learning_rate=0.05, delta=1.0)
        W10, b10, _, _ = demo.step(W10, b10, X, y, "ww", reg=0.01, learning_rate=0.5, delta=10.0)
    np.testing.assert_allclose(W10 / 10, W1, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b10 / 10, b1, rtol=1e-9, atol=1e-12)
    assert np.any(W1 != demo.default_params()[0])          # it did train
    np.testing.assert_array_equal(np.argmax(X @ W1 + b1, axis=1), np.argmax(X @ W10 + b10, axis=1))


# --- L2 regularization as a Gaussian prior (MAP) -----------------------------------------

def neg_log_posterior(W, X, y, sigma):
    """-log p(y | X, W) - log p(W) with softmax likelihood and W_kl ~ N(0, sigma^2)."""
    scores = X @ W
    scores = scores - scores.max(axis=1, keepdims=True)
    log_p = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    log_prior = np.sum(-W ** 2 / (2 * sigma ** 2) - np.log(sigma * np.sqrt(2 * np.pi)))
    return -(log_p[np.arange(len(y)), y].sum() + log_prior)


@pytest.mark.parametrize("sigma", [0.01, 0.5, 3.0])
def test_l2_is_a_gaussian_prior(sigma):
    """N (L + lambda R(W)) with lambda = 1 / (2 N sigma^2) is -log posterior up to a constant
    that does not depend on W (it is -D C log(sigma sqrt(2 pi))): the same W minimizes both."""
    rng = np.random.default_rng(7)
    N, D, C = 40, 5, 3
    X = rng.standard_normal((N, D))
    y = rng.integers(0, C, N)
    lam = 1 / (2 * N * sigma ** 2)
    constant = -D * C * np.log(sigma * np.sqrt(2 * np.pi))
    for scale in (1e-3, 0.1, 2.0):
        W = scale * rng.standard_normal((D, C))
        loss, _ = softmax_loss_vectorized(W, X, y, lam)
        assert N * loss - neg_log_posterior(W, X, y, sigma) == pytest.approx(constant, abs=1e-8)


def test_l1_is_a_laplace_prior():
    """The same with L1: -log of the Laplace density |w| / b + log(2 b) per weight."""
    W = np.array([[0.5, -2.0], [0.0, 1.5]])
    b = 0.25
    neg_log_prior = np.sum(np.abs(W) / b + np.log(2 * b))
    assert neg_log_prior - l1(W)[0] / b == pytest.approx(W.size * np.log(2 * b))


# --- Cross-entropy as KL divergence ---------------------------------------------------------

def entropy(p):
    p = p[p > 0]
    return float(-np.sum(p * np.log(p)))


def kl(p, q):
    keep = p > 0
    return float(np.sum(p[keep] * np.log(p[keep] / q[keep])))


def test_cross_entropy_is_entropy_plus_kl():
    """H(p, q) = H(p) + KL(p || q); for the one-hot p of a label H(p) = 0, so the softmax loss
    of the cat image, 2.04, is the KL divergence from the label to the prediction."""
    q = np.exp(SCORES[0]) / np.exp(SCORES[0]).sum()
    one_hot = np.array([1.0, 0.0, 0.0])
    loss, _ = softmax_loss_from_scores(SCORES[:1], [0])
    assert entropy(one_hot) == 0.0
    assert kl(one_hot, q) == pytest.approx(loss[0], rel=1e-12)
    assert round(kl(one_hot, q), 2) == 2.04
    soft = np.array([0.8, 0.1, 0.1])
    cross_entropy = -np.sum(soft * np.log(q))
    assert cross_entropy == pytest.approx(entropy(soft) + kl(soft, q), rel=1e-12)
    assert (round(cross_entropy, 2), round(entropy(soft), 2), round(kl(soft, q), 2)) == (2.34, 0.64, 1.7)
    # KL is 0 only when the prediction equals the target.
    assert kl(soft, soft) == 0.0 and kl(soft, q) > 0


# --- Softmax temperature and calibration (the CS231n notes' example) -----------------------

def softmax_of(s):
    e = np.exp(s - s.max())
    return e / e.sum()


def test_notes_example_halving_W_makes_probabilities_more_diffuse():
    """Notes: [1, -2, 0] -> [2.71, 0.14, 1] -> [0.7, 0.04, 0.26]; with W halved
    [0.5, -1, 0] -> [1.65, 0.37, 1] -> [0.55, 0.12, 0.33]. Same ranking, more diffuse."""
    s = np.array([1.0, -2.0, 0.0])
    np.testing.assert_allclose(np.exp(s), [2.71, 0.14, 1.0], atol=0.01)   # the notes truncate e
    np.testing.assert_allclose(np.exp(s / 2), [1.65, 0.37, 1.0], atol=0.005)
    sharp, diffuse = softmax_of(s), softmax_of(s / 2)
    np.testing.assert_allclose(sharp, [0.7, 0.04, 0.26], atol=0.01)
    np.testing.assert_allclose(diffuse, [0.55, 0.12, 0.33], atol=0.005)
    assert np.array_equal(np.argsort(sharp), np.argsort(diffuse))
    assert entropy(diffuse) > entropy(sharp)


def test_temperature_moves_between_one_hot_and_uniform():
    """softmax(s / T): entropy grows with T, towards log C; T -> 0 puts all mass on the argmax;
    the prediction never changes."""
    s = np.array([1.0, -2.0, 0.0])
    temperatures = [0.05, 0.5, 1.0, 2.0, 10.0, 1e4]
    entropies = [entropy(softmax_of(s / T)) for T in temperatures]
    assert entropies == sorted(entropies)
    assert entropies[-1] == pytest.approx(math.log(3), abs=1e-6)
    assert softmax_of(s / 0.05)[0] > 1 - 1e-8
    assert all(np.argmax(softmax_of(s / T)) == 0 for T in temperatures)
    np.testing.assert_allclose(softmax_of(s / 2), softmax_of(s / 2.0))   # T = 2 is "W halved"


# --- Should the bias be regularized? -------------------------------------------------------

def test_assignments_regularize_the_bias_row_the_demo_does_not():
    """With the bias trick (a last input of 1, b the last row of W) the graded losses add
    reg * sum(b**2); the demo's loss keeps b out of R."""
    from linclass.reference import demo

    X, y = demo.default_points()
    W, b = demo.default_params()
    reg = 0.5
    Xa = np.column_stack([X, np.ones(len(X))])
    Wa = np.vstack([W, b])
    for loss_fn in (svm_loss_naive, svm_loss_vectorized):
        with_bias_trick, dWa = loss_fn(Wa, Xa, y, reg)
        plain = demo.demo_loss(W, b, X, y, "ww", reg)
        assert with_bias_trick == pytest.approx(plain.total + reg * np.sum(b ** 2))
        np.testing.assert_allclose(dWa[-1], plain.db + 2 * reg * b)
    moved = demo.demo_loss(W, b + 5.0, X, y, "ww", reg)
    assert moved.reg_loss == plain.reg_loss


def test_penalizing_the_bias_costs_accuracy_away_from_the_origin():
    """The walkthrough's 2-D run: the demo's points moved to (3, 3), 3000 steps at reg 0.05.
    Penalizing the bias pulls the boundaries towards the origin (89% right); the demo's
    unpenalized bias fits all points (100%). On mean-subtracted data the difference is small."""
    from linclass.reference import demo

    X, y = demo.default_points()
    X = X + np.array([3.0, 3.0])
    Xa = np.column_stack([X, np.ones(len(X))])
    Wa = np.vstack(demo.default_params())
    W, b = demo.default_params()
    for _ in range(3000):
        Wa -= 0.05 * svm_loss_vectorized(Wa, Xa, y, 0.05)[1]
        W, b, _, _ = demo.step(W, b, X, y, "ww", reg=0.05, learning_rate=0.05)
    acc_penalized = np.mean(np.argmax(Xa @ Wa, axis=1) == y)
    acc_free = np.mean(np.argmax(X @ W + b, axis=1) == y)
    assert round(acc_penalized, 2) == 0.89 and acc_free == 1.0
    assert np.linalg.norm(Wa[-1]) < np.linalg.norm(b)
