"""The catalogue of common mistakes, each written as real (buggy) code.

The feedback names a student's bug by running every buggy variant below on the same probe
inputs as the student's function and looking for a variant whose outputs match the student's.
The variants are small vectorized rewrites of the reference, each changed in exactly the way
students get it wrong. They come from 28 public student implementations of the SVM and
softmax losses: the most common mismatch was the 2015/2016 starter's regularization
convention (0.5·reg·ΣW² with gradient reg·W), then no max-subtraction, a regularization
gradient without its factor 2, no regularization, and a regularization term divided by N or
added once per example.

A loss variant is a pair (data part, regularization part), so two bugs in one function (for
example "forgot to divide by N" and "no factor 2") are named together.

Conventions (as in linclass): W has shape (D, C), X (N, D), y (N,) ints, reg a float;
loss = mean data loss + reg * sum(W * W), so the regularization gradient is 2 * reg * W.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Bug:
    """One named mistake.

    key: short stable identifier, used in the grades table and the tests.
    words: the plain-words sentence the feedback shows the student.
    convention: True when the code is consistent with itself but follows another convention.
    """
    key: str
    words: str
    convention: bool = False


# ---------------------------------------------------------------------------------------
# Data parts of the SVM loss: (W, X, y) -> (data loss, data gradient), both already averaged
# over the N examples unless the bug is about the averaging.
# ---------------------------------------------------------------------------------------

def _svm_margins(W, X, y, delta=1.0):
    scores = X @ W
    n = X.shape[0]
    correct = scores[np.arange(n), y][:, None]
    return scores - correct + delta, n


def _svm_grad_from_mask(X, y, mask, sign_correct=-1.0):
    n = X.shape[0]
    coeff = mask.astype(X.dtype)
    coeff[np.arange(n), y] = sign_correct * mask.sum(axis=1)
    return X.T @ coeff


def svm_data_correct(W, X, y):
    """The reference data part: hinge over j != y_i, averaged over N."""
    margins, n = _svm_margins(W, X, y)
    margins[np.arange(n), y] = 0.0
    mask = margins > 0
    loss = np.sum(margins[mask]) / n
    return loss, _svm_grad_from_mask(X, y, mask) / n


def svm_data_counts_correct_class(W, X, y):
    """Bug: the sum runs over every class, so j = y_i adds a margin of 1 to each example."""
    margins, n = _svm_margins(W, X, y)
    mask = margins > 0
    loss = np.sum(margins[mask]) / n
    # In the loop form the j = y_i term adds +x_i and -x_i to the same column: no effect.
    inner = mask.copy()
    inner[np.arange(n), y] = False
    return loss, _svm_grad_from_mask(X, y, inner) / n


def svm_data_no_divide(W, X, y):
    """Bug: sums the data loss and gradient over the examples instead of averaging."""
    loss, dW = svm_data_correct(W, X, y)
    n = X.shape[0]
    return loss * n, dW * n


def svm_data_wrong_sign(W, X, y):
    """Bug: the correct class's column gets +x_i (once per violating class) instead of -x_i."""
    margins, n = _svm_margins(W, X, y)
    margins[np.arange(n), y] = 0.0
    mask = margins > 0
    loss = np.sum(margins[mask]) / n
    return loss, _svm_grad_from_mask(X, y, mask, sign_correct=+1.0) / n


def svm_data_no_delta(W, X, y):
    """Bug: the margin Δ = 1 is left out, so the hinge is max(0, s_j - s_yi)."""
    margins, n = _svm_margins(W, X, y, delta=0.0)
    margins[np.arange(n), y] = 0.0
    mask = margins > 0
    loss = np.sum(margins[mask]) / n
    return loss, _svm_grad_from_mask(X, y, mask) / n


# ---------------------------------------------------------------------------------------
# Data parts of the softmax loss.
# ---------------------------------------------------------------------------------------

def _log_softmax(scores):
    shifted = scores - scores.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax_data_correct(W, X, y):
    """The reference data part: log-sum-exp after max-subtraction, averaged over N."""
    n = X.shape[0]
    logp = _log_softmax(X @ W)
    loss = -logp[np.arange(n), y].sum() / n
    dscores = np.exp(logp)
    dscores[np.arange(n), y] -= 1.0
    return loss, X.T @ dscores / n


def softmax_data_no_max(W, X, y):
    """Bug: exponentiates the raw scores; large scores overflow to inf and give nan."""
    n = X.shape[0]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        e = np.exp(X @ W)
        p = e / e.sum(axis=1, keepdims=True)
        loss = -np.log(p[np.arange(n), y]).sum() / n
    dscores = p.copy()
    dscores[np.arange(n), y] -= 1.0
    with np.errstate(invalid="ignore"):
        return loss, X.T @ dscores / n


def softmax_data_no_minus_one(W, X, y):
    """Bug: the gradient forgets to subtract 1 at the correct class."""
    n = X.shape[0]
    logp = _log_softmax(X @ W)
    loss = -logp[np.arange(n), y].sum() / n
    return loss, X.T @ np.exp(logp) / n


def softmax_data_wrong_axis(W, X, y):
    """Bug: normalizes the probabilities over the examples (axis 0) instead of the classes."""
    n = X.shape[0]
    scores = X @ W
    shifted = scores - scores.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))
    loss = -logp[np.arange(n), y].sum() / n
    dscores = np.exp(logp)
    dscores[np.arange(n), y] -= 1.0
    return loss, X.T @ dscores / n


def softmax_data_grad_divided_twice(W, X, y):
    """Bug: the gradient is divided by N twice (once in the loop body, once after it)."""
    loss, dW = softmax_data_correct(W, X, y)
    return loss, dW / X.shape[0]


def softmax_data_no_divide(W, X, y):
    """Bug: sums the data loss and gradient over the examples instead of averaging."""
    loss, dW = softmax_data_correct(W, X, y)
    n = X.shape[0]
    return loss * n, dW * n


# ---------------------------------------------------------------------------------------
# Regularization parts: (W, reg, N) -> (loss term, gradient term).
# ---------------------------------------------------------------------------------------

def reg_correct(W, reg, n):
    """The reference: reg * sum(W²), gradient 2 * reg * W."""
    return reg * np.sum(W * W), 2.0 * reg * W


def reg_half_convention(W, reg, n):
    """The 2015/2016 starter's convention: 0.5 * reg * sum(W²), gradient reg * W."""
    return 0.5 * reg * np.sum(W * W), reg * W


def reg_grad_no_factor2(W, reg, n):
    """Bug: loss reg * sum(W²) but gradient reg * W (factor 2 missing)."""
    return reg * np.sum(W * W), reg * W


def reg_grad_missing(W, reg, n):
    """Bug: the loss has the regularization term, the gradient does not."""
    return reg * np.sum(W * W), np.zeros_like(W)


def reg_missing(W, reg, n):
    """Bug: no regularization at all."""
    return 0.0, np.zeros_like(W)


def reg_divided_by_n(W, reg, n):
    """Bug: the regularization term is divided by N together with the data loss."""
    return reg * np.sum(W * W) / n, 2.0 * reg * W / n


def reg_once_per_example(W, reg, n):
    """Bug: the regularization term is added inside the loop, once per example (N times)."""
    return n * reg * np.sum(W * W), 2.0 * n * reg * W


SVM_DATA: dict[str, tuple[Callable, Bug | None]] = {
    "correct": (svm_data_correct, None),
    "counts_correct_class": (svm_data_counts_correct_class, Bug(
        "svm_counts_correct_class",
        "the sum over classes includes j = y_i, which adds a margin of 1 to every example's "
        "loss; skip the correct class")),
    "no_divide": (svm_data_no_divide, Bug(
        "forgot_divide_by_n",
        "the data loss and gradient are summed over the examples but never divided by N")),
    "wrong_sign": (svm_data_wrong_sign, Bug(
        "svm_wrong_sign_correct_class",
        "the correct class's column of the gradient has the wrong sign: each violating class "
        "should subtract x_i from column y_i, not add it")),
    "no_delta": (svm_data_no_delta, Bug(
        "svm_missing_margin",
        "the margin Δ = 1 is missing: the hinge should be max(0, s_j - s_yi + 1)")),
}

SOFTMAX_DATA: dict[str, tuple[Callable, Bug | None]] = {
    "correct": (softmax_data_correct, None),
    "no_max": (softmax_data_no_max, Bug(
        "softmax_no_max_subtraction",
        "no max-subtraction: exp of large scores overflows (inf, then nan); subtract each "
        "row's largest score before exponentiating")),
    "no_minus_one": (softmax_data_no_minus_one, Bug(
        "softmax_forgot_minus_one",
        "the gradient forgets the -1 at the correct class: dscores should be p - 1[j = y_i]")),
    "wrong_axis": (softmax_data_wrong_axis, Bug(
        "softmax_wrong_axis",
        "the probabilities are normalized over the wrong axis (over the examples instead of "
        "over the classes of each example)")),
    "grad_divided_twice": (softmax_data_grad_divided_twice, Bug(
        "grad_divided_by_n_twice",
        "the gradient is divided by N twice")),
    "no_divide": (softmax_data_no_divide, Bug(
        "forgot_divide_by_n",
        "the data loss and gradient are summed over the examples but never divided by N")),
}

REG: dict[str, tuple[Callable, Bug | None]] = {
    "correct": (reg_correct, None),
    "half_convention": (reg_half_convention, Bug(
        "reg_half_convention",
        "convention mismatch: this uses 0.5·reg·ΣW² with gradient reg·W (the 2015/2016 starter's "
        "convention). It is consistent with itself, but this course uses reg·ΣW² with "
        "gradient 2·reg·W", convention=True)),
    "grad_no_factor2": (reg_grad_no_factor2, Bug(
        "reg_grad_missing_factor_2",
        "the regularization gradient is missing its factor 2: the gradient of reg·ΣW² is "
        "2·reg·W")),
    "grad_missing": (reg_grad_missing, Bug(
        "reg_grad_missing",
        "the loss includes reg·ΣW² but the gradient leaves out its term 2·reg·W")),
    "missing": (reg_missing, Bug(
        "no_regularization",
        "no regularization: add reg·ΣW² to the loss and 2·reg·W to the gradient")),
    "divided_by_n": (reg_divided_by_n, Bug(
        "reg_divided_by_n",
        "the regularization term is divided by N; only the data loss is averaged")),
    "once_per_example": (reg_once_per_example, Bug(
        "reg_once_per_example",
        "the regularization term is added once per example (N times) instead of once")),
}

# Mistakes found from how the code runs rather than from what it returns.
LOOPS_OVER_EXAMPLES = Bug(
    "vectorized_has_loop",
    "the 'vectorized' version still loops in Python over the examples (its work grows with N); "
    "use matrix operations on all examples at once")
CALLS_NAIVE = Bug(
    "vectorized_calls_naive",
    "the 'vectorized' version calls the naive version instead of computing the loss itself")
CALLS_REFERENCE = Bug(
    "calls_reference",
    "calls the course's reference implementation in linclass instead of your own code; "
    "this earns no points")
NOT_OWN_CELL = Bug(
    "not_defined_in_answer_cell",
    "the function is not written in your answer cell (it was built with exec/compile or "
    "imported); this earns no points")
NOT_DEFINED = Bug("not_defined", "the function is not defined (the cell was left as a TODO, "
                  "or it raised an error before the definition)")
RAISES = Bug("raises", "the function raises an error on valid input")
NOT_WRITTEN = Bug("not_written", "the function is still the release's TODO stub "
                  "(it raises NotImplementedError)")

# Mistakes in the training pieces.
SGD_UPHILL = Bug("sgd_wrong_sign", "the update moves W along the gradient (uphill); it should "
                 "subtract learning_rate * dW")
SGD_NO_LR = Bug("sgd_no_learning_rate", "the update ignores the learning rate: it should be "
                "W - learning_rate * dW")
SGD_NO_REG = Bug("sgd_ignores_reg", "the step calls the loss function without passing reg")
PREDICT_ARGMIN = Bug("predict_argmin", "predict picks the class with the lowest score; it "
                     "should take the argmax over the classes")
PREDICT_WRONG_AXIS = Bug("predict_wrong_axis", "predict takes the argmax over the wrong axis "
                         "(over the examples instead of the classes)")


def loss_variants(function_name: str):
    """Every catalogued (data part, reg part) pair of a loss, correct ones first.

    function_name: "svm_loss_naive", "svm_loss_vectorized", "softmax_loss_naive" or
    "softmax_loss_vectorized".

    Yields (bugs, fn) where bugs is a tuple of Bug (empty for the reference) and
    fn(W, X, y, reg) -> (loss float, dW array of shape (D, C)).
    """
    if function_name.startswith("svm"):
        data = SVM_DATA
    elif function_name.startswith("softmax"):
        data = SOFTMAX_DATA
    else:
        raise ValueError(f"function_name must name an SVM or softmax loss, got {function_name!r}")
    for (dkey, (dfn, dbug)), (rkey, (rfn, rbug)) in itertools.product(data.items(), REG.items()):
        bugs = tuple(b for b in (dbug, rbug) if b is not None)
        yield bugs, _combine(dfn, rfn)


def _combine(data_fn, reg_fn):
    def loss(W, X, y, reg):
        W, X = np.asarray(W, dtype=np.float64), np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        data_loss, data_grad = data_fn(W, X, y)
        reg_loss, reg_grad = reg_fn(W, reg, X.shape[0])
        return float(data_loss + reg_loss), data_grad + reg_grad
    return loss


def sgd_variants():
    """Buggy versions of sgd_step(loss_fn, W, X_batch, y_batch, learning_rate, reg).

    Yields (bugs, fn) with fn returning (W_new array of shape (D, C), loss float).
    """
    def uphill(loss_fn, W, X, y, lr, reg):
        loss, dW = loss_fn(W, X, y, reg)
        return W + lr * dW, loss

    def no_lr(loss_fn, W, X, y, lr, reg):
        loss, dW = loss_fn(W, X, y, reg)
        return W - dW, loss

    def no_reg(loss_fn, W, X, y, lr, reg):
        loss, dW = loss_fn(W, X, y, 0.0)
        return W - lr * dW, loss

    yield (SGD_UPHILL,), uphill
    yield (SGD_NO_LR,), no_lr
    yield (SGD_NO_REG,), no_reg


def predict_variants():
    """Buggy versions of predict(W, X) -> labels of shape (N,)."""
    yield (PREDICT_ARGMIN,), lambda W, X: np.argmin(X @ W, axis=1)
    yield (PREDICT_WRONG_AXIS,), lambda W, X: np.argmax(X @ W, axis=0)


def outputs_match(a, b, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    """True when two outputs agree: same structure and shapes, values close, nan/inf alike.

    a, b: a scalar, an array, or a tuple/list of those (a loss function's (loss, dW)).
    """
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        if not (isinstance(a, (tuple, list)) and isinstance(b, (tuple, list))) or len(a) != len(b):
            return False
        return all(outputs_match(u, v, rtol, atol) for u, v in zip(a, b))
    try:
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    if a.shape != b.shape:
        return False
    bad_a, bad_b = not np.all(np.isfinite(a)), not np.all(np.isfinite(b))
    # Overflow spreads differently through different code (inf here, nan there), so two
    # outputs that both overflowed count as the same mistake.
    if bad_a or bad_b:
        return bad_a and bad_b
    return bool(np.allclose(a, b, rtol=rtol, atol=atol))
