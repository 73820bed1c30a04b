"""The catalogue of common mistakes, as parts that combine.

A loss function is described by four parts, each found on its own from the probe's outputs:

- the **data loss** (the loss at reg = 0) and the **data gradient** (dW at reg = 0), each
  matched against small vectorized rewrites of the reference changed in exactly the way
  students get them wrong (``DATA_VARIANTS``: not averaged over N, averaged twice, the
  correct class counted, the wrong sign, no -1, the wrong axis, ...), on every reg = 0 case;
- **stability**: whether the outputs overflow when every score is shifted by 1e3;
- the **regularization in the loss**, loss(reg) - loss(0), and the **regularization in the
  gradient**, dW(reg) - dW(0), each matched against ``REG_LOSS`` / ``REG_GRAD`` on every
  pair of cases (0.5·reg, none, divided by N, once per example, reg·ΣW, reg·(ΣW)², the bias
  row left out, ...).

``name_parts`` turns the labels of the four parts into named mistakes: two parts that go
together (the same convention in the loss and in the gradient, "not divided by N" in both)
give one name; a part alone (a gradient-only mistake) gives its own name; several mistakes
in one function give several names. A part that matches no variant gives no name but an
``observed`` line saying what differs (for example "loss right, gradient wrong only when
reg > 0"). A name is printed only when its variant reproduces the student's outputs on every
case of its part, so it always matches the code's behaviour.

The variants come from public student implementations of the SVM and softmax losses: the
most common mismatch was the 2015/2016 starter's regularization convention (0.5·reg·ΣW²
with gradient reg·W; ``Bug(convention=True)``: consistent with itself, it costs only the
regularization part), then no max-subtraction, a regularization gradient without its
factor 2, no regularization, and a regularization term divided by N or added once per
example.

Conventions (as in linclass): W has shape (D, C), X (N, D), y (N,) ints, reg a float;
loss = mean data loss + reg * sum(W * W), so the regularization gradient is 2 * reg * W.
"""
from __future__ import annotations

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


def softmax_data_no_divide(W, X, y):
    """Bug: sums the data loss and gradient over the examples instead of averaging."""
    loss, dW = softmax_data_correct(W, X, y)
    n = X.shape[0]
    return loss * n, dW * n


def _times_n(data_fn):
    def variant(W, X, y):
        loss, dW = data_fn(W, X, y)
        return loss * X.shape[0], dW * X.shape[0]
    return variant


def _over_n(data_fn):
    def variant(W, X, y):
        loss, dW = data_fn(W, X, y)
        return loss / X.shape[0], dW / X.shape[0]
    return variant


# Label -> (W, X, y) -> (data loss, data gradient). The data loss and the data gradient are
# matched separately (the first label that fits wins; "correct" comes first), so a variant
# whose loss equals the reference's (a wrong sign in the gradient) labels only the gradient.
DATA_VARIANTS: dict[str, dict[str, Callable]] = {
    "svm": {
        "correct": svm_data_correct,
        "times_n": _times_n(svm_data_correct),
        "over_n": _over_n(svm_data_correct),
        "counts_correct_class": svm_data_counts_correct_class,
        "wrong_sign": svm_data_wrong_sign,
        "no_delta": svm_data_no_delta,
    },
    "softmax": {
        "correct": softmax_data_correct,
        "times_n": _times_n(softmax_data_correct),
        "over_n": _over_n(softmax_data_correct),
        "no_minus_one": softmax_data_no_minus_one,
        "wrong_axis": softmax_data_wrong_axis,
    },
}


# ---------------------------------------------------------------------------------------
# Regularization parts: label -> (W, reg, N) -> the term added to the loss, and
# label -> (W, reg, N) -> the term added to the gradient. Matched separately on
# loss(reg) - loss(0) and dW(reg) - dW(0).
# ---------------------------------------------------------------------------------------

def _no_bias(W):
    """W with its last row (the bias row of the bias trick) set to zero."""
    out = np.array(W, dtype=np.float64, copy=True)
    out[-1] = 0.0
    return out


REG_LOSS: dict[str, Callable] = {
    "correct": lambda W, reg, n: reg * np.sum(W * W),
    "half": lambda W, reg, n: 0.5 * reg * np.sum(W * W),
    "missing": lambda W, reg, n: 0.0,
    "double": lambda W, reg, n: 2.0 * reg * np.sum(W * W),
    "over_n": lambda W, reg, n: reg * np.sum(W * W) / n,
    "times_n": lambda W, reg, n: n * reg * np.sum(W * W),
    "sum_not_squared": lambda W, reg, n: reg * np.sum(W),
    "square_of_sum": lambda W, reg, n: reg * np.sum(W) ** 2,
    "l1": lambda W, reg, n: reg * np.sum(np.abs(W)),
    "no_bias": lambda W, reg, n: reg * np.sum(_no_bias(W) ** 2),
    "half_no_bias": lambda W, reg, n: 0.5 * reg * np.sum(_no_bias(W) ** 2),
}

REG_GRAD: dict[str, Callable] = {
    "correct": lambda W, reg, n: 2.0 * reg * W,
    "half": lambda W, reg, n: reg * W,
    "missing": lambda W, reg, n: np.zeros_like(W),
    "double": lambda W, reg, n: 4.0 * reg * W,
    "over_n": lambda W, reg, n: 2.0 * reg * W / n,
    "times_n": lambda W, reg, n: 2.0 * n * reg * W,
    "sum_not_squared": lambda W, reg, n: reg * np.ones_like(W),
    "square_of_sum": lambda W, reg, n: 2.0 * reg * np.sum(W) * np.ones_like(W),
    "l1": lambda W, reg, n: reg * np.sign(W),
    "no_bias": lambda W, reg, n: 2.0 * reg * _no_bias(W),
    "half_no_bias": lambda W, reg, n: reg * _no_bias(W),
    "wrong_sign": lambda W, reg, n: -2.0 * reg * W,
}


_COURSE_REG = "this course uses reg * np.sum(W * W) in the loss and 2 * reg * W in the gradient"

# The same label in the loss and in the gradient: one mistake (or one other convention).
REG_PAIR_BUGS: dict[str, Bug] = {
    "half": Bug(
        "reg_half_convention",
        "convention mismatch: this uses 0.5·reg·ΣW² with gradient reg·W (the 2015/2016 starter's "
        "convention). It is consistent with itself, but " + _COURSE_REG + ": drop the 0.5 in the loss "
        "and use 2 * reg * W in the gradient", convention=True),
    "no_bias": Bug(
        "reg_bias_unregularized",
        "convention mismatch: the last row of W (the bias row of the bias trick) is left out of the "
        "regularization. That is consistent with itself, but " + _COURSE_REG + ", bias row "
        "included: use np.sum(W * W) and 2 * reg * W on the whole W", convention=True),
    "half_no_bias": Bug(
        "reg_half_convention_bias_unregularized",
        "convention mismatch: this uses 0.5·reg·ΣW² with gradient reg·W and leaves the bias row "
        "(the last row of W) out. It is consistent with itself, but " + _COURSE_REG + ": drop the "
        "0.5, use 2 * reg * W, and regularize the whole W", convention=True),
    "missing": Bug(
        "no_regularization",
        "no regularization: add reg * np.sum(W * W) to the loss and 2 * reg * W to the gradient"),
    "double": Bug(
        "reg_doubled",
        "the regularization is doubled: the loss adds 2·reg·ΣW² (and the gradient 4·reg·W); add "
        "reg * np.sum(W * W) once, with gradient 2 * reg * W"),
    "over_n": Bug(
        "reg_divided_by_n",
        "the regularization term is divided by N; only the data loss is averaged over the examples"),
    "times_n": Bug(
        "reg_once_per_example",
        "the regularization term is added once per example (N times) instead of once"),
    "sum_not_squared": Bug(
        "reg_sum_not_squared",
        "the regularization is reg·ΣW, not reg·ΣW²: square the weights, reg * np.sum(W * W) "
        "(gradient 2 * reg * W)"),
    "square_of_sum": Bug(
        "reg_square_of_sum",
        "the regularization squares the sum of the weights, reg·(ΣW)², instead of summing their "
        "squares (operator order): write reg * np.sum(W * W), gradient 2 * reg * W"),
    "l1": Bug(
        "reg_l1_instead_of_l2",
        "the regularization is L1, reg·Σ|W|; this loss uses L2: reg * np.sum(W * W), gradient 2 * reg * W"),
}

# A loss term and a gradient term that differ: named together when the pair is common.
REG_MIXED_BUGS: dict[tuple[str, str], Bug] = {
    ("correct", "half"): Bug(
        "reg_grad_missing_factor_2",
        "the regularization gradient is missing its factor 2: the gradient of reg·ΣW² is 2·reg·W"),
    ("correct", "missing"): Bug(
        "reg_grad_missing",
        "the loss includes reg·ΣW² but the gradient leaves out its term 2·reg·W"),
    ("missing", "correct"): Bug(
        "reg_loss_missing",
        "the gradient has 2·reg·W but the loss leaves out reg * np.sum(W * W)"),
}

_REG_LOSS_WORDS = {
    "half": "adds 0.5·reg·ΣW²", "missing": "leaves out the regularization term",
    "double": "adds 2·reg·ΣW²", "over_n": "divides the regularization term by N",
    "times_n": "adds the regularization term once per example (N times)",
    "sum_not_squared": "adds reg·ΣW (the weights are not squared)",
    "square_of_sum": "adds reg·(ΣW)², the square of the sum (operator order)",
    "l1": "adds reg·Σ|W| (L1)", "no_bias": "leaves the bias row (last row of W) out of reg·ΣW²",
    "half_no_bias": "adds 0.5·reg·ΣW² without the bias row",
}
_REG_GRAD_WORDS = {
    "half": "adds reg·W (factor 2 missing)", "missing": "leaves out the regularization gradient",
    "double": "adds 4·reg·W", "over_n": "divides the regularization gradient by N (for example "
    "dW += 2 * reg * W before dW /= N)", "times_n": "adds the regularization gradient once per example",
    "sum_not_squared": "adds reg to every entry", "square_of_sum": "adds 2·reg·ΣW to every entry",
    "l1": "adds reg·sign(W) (L1)", "no_bias": "leaves the bias row (last row of W) out of 2·reg·W",
    "half_no_bias": "adds reg·W without the bias row", "wrong_sign": "subtracts 2·reg·W instead of adding it",
}

REG_LOSS_BUGS: dict[str, Bug] = {
    label: Bug(f"reg_loss_{label}", f"the loss {words}; it should add reg * np.sum(W * W)")
    for label, words in _REG_LOSS_WORDS.items()}
REG_GRAD_BUGS: dict[str, Bug] = {
    label: Bug(f"reg_grad_{label}", f"the gradient {words}; it should add 2 * reg * W")
    for label, words in _REG_GRAD_WORDS.items()}

DATA_PAIR_BUGS: dict[str, Bug] = {
    "times_n": Bug("forgot_divide_by_n",
                   "the data loss and gradient are summed over the examples but never divided by N"),
    "over_n": Bug("divided_by_n_twice", "the data loss and gradient are divided by N twice"),
    "no_delta": Bug("svm_missing_margin", "the margin Δ = 1 is missing: the hinge should be "
                    "max(0, s_j - s_yi + 1), in the loss and in the gradient's mask"),
    "wrong_axis": Bug("softmax_wrong_axis", "the probabilities are normalized over the wrong axis "
                      "(over the examples instead of over the classes of each example)"),
}
DATA_LOSS_BUGS: dict[str, Bug] = {
    "times_n": Bug("loss_not_divided_by_n", "the data loss is summed over the examples but never "
                   "divided by N (the gradient is)"),
    "over_n": Bug("loss_divided_by_n_twice", "the data loss is divided by N twice"),
    "counts_correct_class": Bug(
        "svm_counts_correct_class",
        "the sum over classes includes j = y_i, which adds a margin of 1 to every example's "
        "loss; skip the correct class"),
    "no_delta": Bug("svm_loss_missing_margin", "the loss leaves out the margin Δ = 1: the hinge "
                    "should be max(0, s_j - s_yi + 1)"),
    "wrong_axis": DATA_PAIR_BUGS["wrong_axis"],
}
DATA_GRAD_BUGS: dict[str, Bug] = {
    "times_n": Bug("grad_not_divided_by_n", "the gradient is summed over the examples but never "
                   "divided by N (the loss is)"),
    "over_n": Bug("grad_divided_by_n_twice", "the gradient is divided by N twice"),
    "wrong_sign": Bug(
        "svm_wrong_sign_correct_class",
        "the correct class's column of the gradient has the wrong sign: each violating class "
        "should subtract x_i from column y_i, not add it"),
    "no_delta": Bug("svm_grad_missing_margin", "the gradient's mask leaves out the margin Δ = 1: "
                    "count the classes with s_j - s_yi + 1 > 0"),
    "no_minus_one": Bug(
        "softmax_forgot_minus_one",
        "the gradient forgets the -1 at the correct class: dscores should be p - 1[j = y_i]"),
    "wrong_axis": DATA_PAIR_BUGS["wrong_axis"],
}
NO_MAX = Bug(
    "softmax_no_max_subtraction",
    "no max-subtraction: exp of large scores overflows (inf, then nan) when every score is shifted "
    "by 1e3; subtract the largest score (of each example, or of the whole matrix) before np.exp")


def observed(part: str, words: str) -> Bug:
    """Not a catalogued mistake: what the probe observed in one part, in plain words."""
    return Bug(f"observed_{part}", words)


def name_parts(labels: dict) -> tuple[Bug, ...]:
    """The named mistakes (and "observed" lines) of a loss from the labels of its parts.

    labels: {"data_loss", "data_grad", "stability", "reg_loss", "reg_grad"} -> a label of
    DATA_VARIANTS / REG_LOSS / REG_GRAD ("correct" when right), "overflows" (stability),
    "unknown" (no variant fits) or None (could not be judged: the part is not named).
    Returns Bugs in the order data, stability, regularization.
    """
    out: list[Bug] = []
    dl, dg = labels.get("data_loss"), labels.get("data_grad")
    if dl == dg and dl in DATA_PAIR_BUGS:
        out.append(DATA_PAIR_BUGS[dl])
    else:
        if dl in DATA_LOSS_BUGS:
            out.append(DATA_LOSS_BUGS[dl])
        elif dl == "unknown":
            out.append(observed("data_loss", "the loss at reg = 0 differs from the expected data loss in "
                                "a way no catalogued mistake explains: work through the data loss by "
                                "hand on a tiny example (2 examples, 3 classes)"))
        if dg in DATA_GRAD_BUGS and DATA_GRAD_BUGS[dg] not in out:
            out.append(DATA_GRAD_BUGS[dg])
        elif dg == "unknown":
            lead = "loss right at reg = 0, gradient wrong at reg = 0" if dl == "correct" else \
                "dW at reg = 0 is wrong too"
            out.append(observed("data_grad", f"{lead}: look at the data gradient and compare it with "
                                "a numerical gradient at reg = 0"))
    stab = labels.get("stability")
    if stab == "overflows":
        out.append(NO_MAX)
    elif stab == "unknown":
        out.append(observed("stability", "right on ordinary scores but wrong when every score is "
                            "shifted by 1e3: subtracting the same constant from every score must not "
                            "change the loss or dW"))
    rl, rg = str(labels.get("reg_loss")), str(labels.get("reg_grad"))
    if rl == rg and rl in REG_PAIR_BUGS:
        out.append(REG_PAIR_BUGS[rl])
    elif (rl, rg) in REG_MIXED_BUGS:
        out.append(REG_MIXED_BUGS[(rl, rg)])
    else:
        if rl in REG_LOSS_BUGS:
            out.append(REG_LOSS_BUGS[rl])
        elif rl == "unknown":
            lead = "loss right at reg = 0, wrong when reg > 0" if dl == "correct" else "when reg > 0"
            out.append(observed("reg_loss", f"{lead}: loss(reg) - loss(0) is not reg·ΣW²; look at the "
                                "regularization term in the loss"))
        if rg in REG_GRAD_BUGS:
            out.append(REG_GRAD_BUGS[rg])
        elif rg == "unknown":
            right = dl == "correct" and dg == "correct" and rl == "correct"
            lead = "loss right, gradient wrong only when reg > 0" if right else "dW(reg) - dW(0) is not 2·reg·W"
            out.append(observed("reg_grad", f"{lead}: look at the regularization gradient (2 * reg * W)"))
    return tuple(out)


def compose(function_name: str, data: str = "correct", reg_loss: str = "correct",
            reg_grad: str | None = None, data_grad: str | None = None) -> Callable:
    """A loss (W, X, y, reg) -> (loss, dW) made of catalogued parts (labels as in name_parts).

    data / data_grad: labels of DATA_VARIANTS for the data loss and the data gradient
    (data_grad defaults to data); reg_loss / reg_grad: labels of REG_LOSS and REG_GRAD
    (reg_grad defaults to reg_loss).
    """
    family = "svm" if function_name.startswith("svm") else "softmax"
    loss_fn = DATA_VARIANTS[family][data]
    grad_fn = DATA_VARIANTS[family][data_grad or data]
    rl, rg = REG_LOSS[reg_loss], REG_GRAD[reg_grad or reg_loss]

    def loss(W, X, y, reg):
        W, X = np.asarray(W, dtype=np.float64), np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        n = X.shape[0]
        return float(loss_fn(W, X, y)[0] + rl(W, reg, n)), grad_fn(W, X, y)[1] + rg(W, reg, n)
    return loss


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
    """Catalogued losses made of parts, correct first: (bugs, fn), for the tests and samples.

    function_name: "svm_loss_naive", "svm_loss_vectorized", "softmax_loss_naive" or
    "softmax_loss_vectorized". Yields every data variant with the correct regularization,
    then the correct data part with every regularization pair of REG_PAIR_BUGS and
    REG_MIXED_BUGS. bugs is a tuple of Bug (empty for the reference); fn(W, X, y, reg) ->
    (loss float, dW array of shape (D, C)).
    """
    if not str(function_name).startswith(("svm", "softmax")):
        raise ValueError(f"function_name must name an SVM or softmax loss, got {function_name!r}")
    family = "svm" if function_name.startswith("svm") else "softmax"
    for label in DATA_VARIANTS[family]:
        found = name_parts({"data_loss": label, "data_grad": label})
        yield found, compose(function_name, label)
    for label, bug in REG_PAIR_BUGS.items():
        yield (bug,), compose(function_name, "correct", label)
    for (rl, rg), bug in REG_MIXED_BUGS.items():
        yield (bug,), compose(function_name, "correct", rl, rg)


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
