"""Loss functions for linear classifiers, each with its gradient.

Conventions (the same as CS231n):

- ``W``: array of shape (D, C), the weights; one column per class.
- ``X``: array of shape (N, D), one example per row.
- ``y``: integer array of shape (N,), labels in ``[0, C)``.
- ``reg``: float >= 0, the L2 regularization strength.

Every loss on ``W`` returns ``(loss, dW)`` with

    loss = (1 / N) * sum_i L_i  +  reg * np.sum(W * W)

so the regularization gradient is ``2 * reg * W``. ``dW`` has the shape and
dtype of ``W``: float32 inputs give a float32 loss and gradient, float64 inputs
a float64 one.

The losses always use L2, as in CS231n, so the graded signatures stay
``(W, X, y, reg)``. To try another regularizer, call a loss with reg=0 and add
``reg * R`` and ``reg * dR`` from ``linclass.reference.regularizers``:

    loss, dW = softmax_loss_vectorized(W, X, y, 0.0)
    R, dR = l1(W)
    loss, dW = loss + reg * R, dW + reg * dR

The functions that start from class scores (``svm_loss_from_scores``,
``softmax_loss_from_scores``) return one loss per example and the gradient
with respect to the scores, so the lecture's worked example can be computed
by hand.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "check_inputs",
    "check_scores",
    "svm_loss_naive",
    "svm_loss_vectorized",
    "softmax_naive_unstable",
    "softmax_loss_naive",
    "softmax_loss_vectorized",
    "svm_loss_from_scores",
    "softmax_loss_from_scores",
    "svm_loss_variant",
    "binary_hinge_loss",
    "binary_logistic_loss",
    "binary_square_loss",
    "binary_loss",
    "BINARY_LOSSES",
]


# ---------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------

def _all_finite(a):
    """True when every entry of the float array ``a`` is finite.

    The sum reads the array once without allocating a boolean copy, which
    matters for a (49000, 3073) training matrix. A NaN or inf makes the sum
    non-finite; only then (or when huge finite values overflow the sum) do we
    pay for the exact elementwise test.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.sum(a)):
            return True
    return bool(np.isfinite(a).all())


def _float_dtype(*arrays):
    """The floating dtype that results from combining ``arrays``.

    Integer inputs become float64; float32 stays float32 so that float32
    training really runs in float32.
    """
    dtype = np.result_type(*arrays)
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)


def _as_float_array(value, name, ndim):
    """``value`` as an array of real numbers with ``ndim`` dimensions (no copy if possible)."""
    arr = np.asarray(value)
    is_real = (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
               or arr.dtype == np.bool_)
    if not is_real:
        raise ValueError(
            f"{name} must be an array of real numbers, got dtype {arr.dtype}; "
            f"convert it with np.asarray({name}, dtype=np.float64)"
        )
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {arr.shape}")
    return arr


def _check_labels(y, n, num_classes, name="y"):
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must have shape (N,), got shape {y.shape}; flatten it with {name}.ravel()")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"{name} must hold integer class labels, got dtype {y.dtype}; "
            f"convert with {name}.astype(int) if the values are whole numbers"
        )
    if y.shape[0] != n:
        raise ValueError(f"{name} has {y.shape[0]} labels but there are {n} examples; they must match")
    if n and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(
            f"{name} must hold labels in [0, {num_classes}) for {num_classes} classes, "
            f"found values from {y.min()} to {y.max()}"
        )
    return y


def _check_nonnegative(value, name, meaning=""):
    """A real number >= 0 as a float, else a ValueError naming the argument.

    meaning: a few words appended to the error, such as " (the margin)".
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ValueError(f"{name} must be a real number >= 0, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0{meaning}, got {value}")
    return value


def _check_reg(reg, name="reg"):
    return _check_nonnegative(reg, name)


def check_inputs(W, X, y, reg):
    """Validate the inputs of a loss on W and bring them to one float dtype.

    Inputs:
    - W: array of shape (D, C), float32 or float64 (ints are converted to float64).
    - X: array of shape (N, D) with N >= 1.
    - y: integer array of shape (N,), values in [0, C).
    - reg: float >= 0.

    Returns a tuple (W, X, y, reg): W and X as arrays of the common float dtype
    (float32 only when both are float32, otherwise float64; no copy when the
    dtype already matches), y as an integer array, reg as a Python float.

    Raises ValueError naming the argument for a wrong number of dimensions,
    shapes that do not match, labels that are not integers or out of range,
    NaN or inf in W or X, and a negative or non-finite reg.
    """
    W_arr = _as_float_array(W, "W", 2)
    X_arr = _as_float_array(X, "X", 2)
    dtype = _float_dtype(W_arr, X_arr)
    W_arr = W_arr.astype(dtype, copy=False)
    X_arr = X_arr.astype(dtype, copy=False)
    D, C = W_arr.shape
    N = X_arr.shape[0]
    if D == 0 or C == 0:
        raise ValueError(f"W must have at least one row and one column, got shape {W_arr.shape}")
    if N == 0:
        raise ValueError("X has no examples (0 rows); a mean loss over zero examples is undefined")
    if X_arr.shape[1] != D:
        raise ValueError(
            f"X has {X_arr.shape[1]} columns but W has {D} rows; X must have shape (N, {D}) "
            f"(did you forget the bias column, or pass W transposed?)"
        )
    y_arr = _check_labels(y, N, C)
    reg = _check_reg(reg)
    if not _all_finite(W_arr):
        raise ValueError("W contains NaN or inf; check the learning rate and the initialization")
    if not _all_finite(X_arr):
        raise ValueError("X contains NaN or inf; clean the data before computing the loss")
    return W_arr, X_arr, y_arr, reg


def check_scores(scores, y):
    """Validate class scores and labels for the losses that start from scores.

    Inputs:
    - scores: array of shape (N, C) of finite real numbers, N >= 1, C >= 1.
    - y: integer array of shape (N,), values in [0, C).

    Returns (scores, y) with scores as a float array (float32 kept, ints become
    float64). Raises ValueError naming the argument on bad input.
    """
    s = _as_float_array(scores, "scores", 2)
    s = s.astype(_float_dtype(s), copy=False)
    N, C = s.shape
    if N == 0 or C == 0:
        raise ValueError(f"scores must have at least one row and one column, got shape {s.shape}")
    y_arr = _check_labels(y, N, C)
    if not _all_finite(s):
        raise ValueError("scores contains NaN or inf")
    return s, y_arr


def _check_delta(delta):
    return _check_nonnegative(delta, "delta", " (the margin)")


# ---------------------------------------------------------------------------
# Multiclass SVM
# ---------------------------------------------------------------------------

def svm_loss_naive(W, X, y, reg, delta=1.0):
    """Multiclass SVM (hinge) loss, written with explicit loops.

    L_i = sum over j != y_i of max(0, s_j - s_{y_i} + delta), with s = X[i] @ W.

    Inputs:
    - W: array of shape (D, C), weights, float32 or float64.
    - X: array of shape (N, D), a minibatch of data.
    - y: integer array of shape (N,), labels; y[i] = c means X[i] has label c, 0 <= c < C.
    - reg: float >= 0, L2 regularization strength.
    - delta: float >= 0, the margin (1.0 in the lecture).

    Returns a tuple of:
    - loss: scalar of the input dtype, mean hinge loss + reg * sum(W * W).
    - dW: array of shape (D, C), same dtype as W, the gradient of the loss.

    This is the way the loss is first written by hand: one loop over
    examples, one over classes. Where a margin is exactly 0 the hinge has a
    kink; we use the subgradient 0 there (a margin counts only when > 0).
    """
    W, X, y, reg = check_inputs(W, X, y, reg)
    delta = _check_delta(delta)
    dtype = W.dtype
    num_train = X.shape[0]
    num_classes = W.shape[1]
    loss = dtype.type(0.0)
    dW = np.zeros_like(W)
    for i in range(num_train):
        scores = X[i].dot(W)
        correct_class_score = scores[y[i]]
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct_class_score + dtype.type(delta)
            if margin > 0:
                loss += margin
                # A positive margin pushes the score of class j up and the
                # score of the correct class down, each through X[i].
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss /= num_train
    dW /= num_train
    loss += dtype.type(reg) * np.sum(W * W)
    dW += dtype.type(2.0 * reg) * W
    return dtype.type(loss), dW


def svm_loss_vectorized(W, X, y, reg, delta=1.0):
    """Multiclass SVM (hinge) loss without Python loops.

    Same inputs, outputs and kink convention as ``svm_loss_naive``:
    - W: array of shape (D, C); X: array of shape (N, D); y: int array of shape (N,);
      reg: float >= 0; delta: float >= 0.
    - Returns (loss scalar of the input dtype, dW array of shape (D, C)).
    """
    W, X, y, reg = check_inputs(W, X, y, reg)
    delta = _check_delta(delta)
    dtype = W.dtype
    num_train = X.shape[0]
    rows = np.arange(num_train)

    scores = X @ W                                           # (N, C)
    correct_class_scores = scores[rows, y][:, None]          # (N, 1)
    margins = np.maximum(0, scores - correct_class_scores + dtype.type(delta))
    margins[rows, y] = 0                                     # the sum skips j == y_i
    loss = margins.sum() / num_train + dtype.type(reg) * np.sum(W * W)

    # d loss_i / d s_j is 1 for every class with a positive margin, and the
    # correct class receives minus the number of such classes.
    dscores = (margins > 0).astype(dtype)
    dscores[rows, y] -= dscores.sum(axis=1)                 # that entry was 0
    dW = X.T @ dscores
    dW /= num_train
    dW += dtype.type(2.0 * reg) * W
    return dtype.type(loss), dW


# ---------------------------------------------------------------------------
# Softmax (cross-entropy)
# ---------------------------------------------------------------------------

def _log_softmax_parts(scores):
    """Stable pieces of the softmax of each row of scores (N, C).

    Returns (log_norm (N,), shifted (N, C), probs (N, C)) with
    shifted = scores - row max, log_norm = log(sum(exp(shifted))) per row and
    probs = softmax(scores), so log_probs = shifted - log_norm[:, None].
    Subtracting the max makes the largest exponent exp(0) = 1 (no overflow);
    log_norm is computed as log1p(sum of the other exponentials) so that a
    tiny loss such as 3e-48 for scores [10, -100, -100] is not rounded to 0.
    """
    rows = np.arange(scores.shape[0])
    top = scores.argmax(axis=1)
    shifted = scores - scores[rows, top][:, None]
    # exp of very negative numbers underflows to 0: harmless, those
    # classes have a probability below the float resolution anyway.
    with np.errstate(under="ignore"):
        exp_shifted = np.exp(shifted)
    exp_shifted[rows, top] = 0
    rest = exp_shifted.sum(axis=1)
    exp_shifted[rows, top] = 1
    log_norm = np.log1p(rest)
    probs = exp_shifted / (1 + rest)[:, None]
    return log_norm, shifted, probs


def softmax_naive_unstable(scores, label):
    """UNSAFE teaching version of the softmax loss of one example. Do not use it.

    Inputs:
    - scores: array of shape (C,), the class scores of one example.
    - label: int in [0, C), the correct class.

    Returns the float L = -log(exp(s_y) / sum_j exp(s_j)), computed literally.

    It is the formula from the slide and it is correct on paper, but in
    floating point exp(1000) overflows to inf (inf / inf = nan), and
    exp(-1000) underflows to 0 (log(0) = -inf). ``softmax_loss_naive`` shows
    the fix: subtract the largest score first (the loss does not change, see
    the shift-invariance fact) and take logs of sums, never log(p).
    """
    scores = np.asarray(scores, dtype=np.float64)
    probs = np.exp(scores) / np.sum(np.exp(scores))
    return float(-np.log(probs[label]))


def softmax_loss_naive(W, X, y, reg):
    """Softmax (cross-entropy) loss, written with explicit loops, numerically stable.

    L_i = -log(exp(s_{y_i}) / sum_j exp(s_j)), with s = X[i] @ W.

    Inputs:
    - W: array of shape (D, C), weights, float32 or float64.
    - X: array of shape (N, D), a minibatch of data.
    - y: integer array of shape (N,), labels in [0, C).
    - reg: float >= 0, L2 regularization strength.

    Returns a tuple of:
    - loss: scalar of the input dtype, mean cross-entropy + reg * sum(W * W).
    - dW: array of shape (D, C), same dtype as W.

    Why it is written this way (see ``softmax_naive_unstable`` for the
    literal formula and how it fails):
    1. Subtracting max(s) from every score leaves the loss unchanged
       (the factor exp(-max) cancels in the fraction) and makes the largest
       exponent exp(0) = 1, so nothing overflows.
    2. The log-probability is computed as shifted - log(sum(exp(shifted))),
       never as log(p): for scores [10, -100, -100] the probability of a
       wrong class is about exp(-110), and log of a number that has
       underflowed to 0 would be -inf.
    3. log(sum(exp(shifted))) is computed as log1p(sum of the non-top
       exponentials). For [10, -100, -100] the loss is about 3e-48: tiny but
       positive, while log(1 + 3e-48) rounds to exactly 0.
    """
    W, X, y, reg = check_inputs(W, X, y, reg)
    dtype = W.dtype
    num_train = X.shape[0]
    num_classes = W.shape[1]
    loss = dtype.type(0.0)
    dW = np.zeros_like(W)
    # Underflow of exp(very negative) to 0 is harmless: such a class has a
    # probability below the float resolution anyway.
    with np.errstate(under="ignore"):
        for i in range(num_train):
            scores = X[i].dot(W)
            top = np.argmax(scores)
            shifted = scores - scores[top]
            exp_shifted = np.exp(shifted)
            # sum(exp(shifted)) = 1 + rest, the 1 coming from the top class.
            # log1p(rest) keeps a tiny loss such as 3e-48 (scores [10, -100, -100])
            # that log(1 + rest) would round to exactly 0.
            rest = np.sum(np.delete(exp_shifted, top))
            log_sum_exp = np.log1p(rest)
            log_probs = shifted - log_sum_exp
            loss -= log_probs[y[i]]
            probs = exp_shifted / (1 + rest)
            for j in range(num_classes):
                # d L_i / d s_j = p_j - [j == y_i]
                dW[:, j] += (probs[j] - (j == y[i])) * X[i]
    loss /= num_train
    dW /= num_train
    loss += dtype.type(reg) * np.sum(W * W)
    dW += dtype.type(2.0 * reg) * W
    return dtype.type(loss), dW


def softmax_loss_vectorized(W, X, y, reg):
    """Softmax (cross-entropy) loss without Python loops, numerically stable.

    Same inputs and outputs as ``softmax_loss_naive``:
    - W: array of shape (D, C); X: array of shape (N, D); y: int array of shape (N,);
      reg: float >= 0.
    - Returns (loss scalar of the input dtype, dW array of shape (D, C)).
    """
    W, X, y, reg = check_inputs(W, X, y, reg)
    dtype = W.dtype
    num_train = X.shape[0]
    rows = np.arange(num_train)

    scores = X @ W                                          # (N, C)
    log_norm, shifted, probs = _log_softmax_parts(scores)
    log_probs = shifted - log_norm[:, None]
    loss = -log_probs[rows, y].sum() / num_train + dtype.type(reg) * np.sum(W * W)

    dscores = probs                                         # d L_i / d s_j = p_j - [j == y_i]
    dscores[rows, y] -= 1
    dW = X.T @ dscores
    dW /= num_train
    dW += dtype.type(2.0 * reg) * W
    return dtype.type(loss), dW


# ---------------------------------------------------------------------------
# The lecture's variants, from class scores
# ---------------------------------------------------------------------------

def svm_loss_from_scores(scores, y, delta=1.0, include_correct=False, reduce="sum", squared=False):
    """Per-example multiclass SVM loss from class scores, with the lecture's variants.

    Inputs:
    - scores: array of shape (N, C), the class scores s of each example.
    - y: integer array of shape (N,), labels in [0, C).
    - delta: float >= 0, the margin.
    - include_correct: if True, sum over all classes including j = y_i (the
      lecture's Q1). That term is max(0, delta) = delta, so every loss grows by
      exactly delta and the gradient does not change.
    - reduce: "sum" (the standard loss) or "mean" over the classes in the sum
      (Q2): the loss is divided by C - 1 (or by C with include_correct), which
      rescales it but does not change which W is best.
    - squared: if True, use the squared hinge max(0, margin) ** 2 (Q3), which
      punishes large violations much more and is smooth at margin 0.

    Returns a tuple of:
    - losses: array of shape (N,), the loss L_i of each example (not averaged).
    - dscores: array of shape (N, C), d L_i / d scores[i] in row i.
    """
    s, y = check_scores(scores, y)
    delta = _check_delta(delta)
    if reduce not in ("sum", "mean"):
        raise ValueError(f'reduce must be "sum" or "mean", got {reduce!r}')
    dtype = s.dtype
    N, C = s.shape
    rows = np.arange(N)

    margins = s - s[rows, y][:, None] + dtype.type(delta)
    hinge = np.maximum(0, margins)
    hinge[rows, y] = 0
    if squared:
        terms, dterms = hinge ** 2, 2 * hinge
    else:
        terms, dterms = hinge, (hinge > 0).astype(dtype)
    losses = terms.sum(axis=1)
    # Each wrong-class term depends on s_j (slope +dterm) and s_{y_i} (slope -dterm).
    dscores = dterms
    dscores[rows, y] = 0
    dscores[rows, y] -= dterms.sum(axis=1)
    if include_correct:
        # The j = y_i term is max(0, delta) = delta for any scores: a constant.
        losses = losses + (delta ** 2 if squared else delta)
    if reduce == "mean":
        count = C if include_correct else C - 1
        if count == 0:
            raise ValueError('reduce="mean" needs at least 2 classes when include_correct is False')
        losses = losses / count
        dscores = dscores / count
    return losses.astype(dtype, copy=False), dscores.astype(dtype, copy=False)


def softmax_loss_from_scores(scores, y):
    """Per-example softmax (cross-entropy) loss from class scores, numerically stable.

    Inputs:
    - scores: array of shape (N, C), the class scores of each example.
    - y: integer array of shape (N,), labels in [0, C).

    Returns a tuple of:
    - losses: array of shape (N,), L_i = -log softmax(scores[i])[y_i].
    - dscores: array of shape (N, C), d L_i / d scores[i] = probabilities - one_hot(y_i).
    """
    s, y = check_scores(scores, y)
    rows = np.arange(s.shape[0])
    log_norm, shifted, dscores = _log_softmax_parts(s)
    losses = log_norm - shifted[rows, y]
    dscores[rows, y] -= 1
    return losses, dscores


def svm_loss_variant(W, X, y, reg, delta=1.0, include_correct=False, reduce="sum", squared=False):
    """Multiclass SVM loss on W with the lecture's variants (see ``svm_loss_from_scores``).

    Inputs:
    - W: array of shape (D, C); X: array of shape (N, D); y: int array of shape (N,);
      reg: float >= 0; delta, include_correct, reduce, squared as in
      ``svm_loss_from_scores``.

    Returns (loss scalar of the input dtype, dW array of shape (D, C)), with
    loss = mean_i L_i + reg * sum(W * W). With the default options it equals
    ``svm_loss_vectorized``.
    """
    W, X, y, reg = check_inputs(W, X, y, reg)
    dtype = W.dtype
    losses, dscores = svm_loss_from_scores(
        X @ W, y, delta=delta, include_correct=include_correct, reduce=reduce, squared=squared
    )
    num_train = X.shape[0]
    loss = losses.sum() / num_train + dtype.type(reg) * np.sum(W * W)
    dW = X.T @ dscores
    dW /= num_train
    dW += dtype.type(2.0 * reg) * W
    return dtype.type(loss), dW


# ---------------------------------------------------------------------------
# Binary losses (the "other loss functions" slide), labels in {-1, +1}
# ---------------------------------------------------------------------------

def _as_margin(m):
    m = np.asarray(m)
    if not (np.issubdtype(m.dtype, np.floating) or np.issubdtype(m.dtype, np.integer)):
        raise ValueError(f"m must hold real margins y * f(x), got dtype {m.dtype}")
    if not np.issubdtype(m.dtype, np.floating):
        m = m.astype(np.float64)
    if not _all_finite(m):
        raise ValueError("m contains NaN or inf")
    return m


def binary_hinge_loss(m):
    """Binary hinge loss max(0, 1 - m) of the margin m = y * f(x), y in {-1, +1}.

    Inputs:
    - m: float array of any shape (or a scalar), the margins.

    Returns (loss, dloss_dm), two arrays shaped like m. At the kink m = 1 the
    subgradient 0 is used, matching the multiclass SVM.
    """
    m = _as_margin(m)
    loss = np.maximum(0, 1 - m)
    dloss = -(m < 1).astype(m.dtype)
    return loss, dloss


def binary_logistic_loss(m):
    """Binary logistic (log) loss log(1 + exp(-m)) of the margin m = y * f(x).

    Inputs:
    - m: float array of any shape (or a scalar), the margins.

    Returns (loss, dloss_dm), two arrays shaped like m, where
    dloss_dm = -1 / (1 + exp(m)).

    Both are computed without overflow: log(1 + exp(-m)) is
    np.logaddexp(0, -m), and 1 / (1 + exp(m)) is exp(-logaddexp(0, m)), so
    exp only ever sees a non-positive argument. For m = -1000 the literal
    formula overflows; this one returns 1000 and -1.
    """
    m = _as_margin(m)
    # For m = 1000 the loss exp(-1000) underflows to 0: harmless, it is below
    # the float resolution of any sum it enters.
    with np.errstate(under="ignore"):
        loss = np.logaddexp(0, -m)
        dloss = -np.exp(-np.logaddexp(0, m))
    return loss, dloss


def binary_square_loss(m):
    """Binary square loss (1 - m) ** 2 of the margin m = y * f(x).

    Inputs:
    - m: float array of any shape (or a scalar), the margins.

    Returns (loss, dloss_dm), two arrays shaped like m, dloss_dm = -2 * (1 - m).

    Unlike hinge and logistic, it also punishes margins larger than 1, so it
    is really a regression loss on the target y (least squares); it is the
    natural choice when the output should be a value, not only a side.
    """
    m = _as_margin(m)
    return (1 - m) ** 2, -2 * (1 - m)


BINARY_LOSSES = {
    "hinge": binary_hinge_loss,
    "logistic": binary_logistic_loss,
    "square": binary_square_loss,
}


def binary_loss(w, X, y, kind, reg):
    """Binary linear classifier loss for labels in {-1, +1}.

    Inputs:
    - w: array of shape (D,), the weight vector.
    - X: array of shape (N, D), the data.
    - y: integer array of shape (N,), labels -1 or +1.
    - kind: "hinge", "logistic" or "square".
    - reg: float >= 0, L2 regularization strength.

    Returns a tuple of:
    - loss: scalar of the input dtype, mean_i loss(y_i * (X[i] @ w)) + reg * sum(w * w).
    - dw: array of shape (D,), the gradient.
    """
    if kind not in BINARY_LOSSES:
        raise ValueError(f"kind must be one of {sorted(BINARY_LOSSES)}, got {kind!r}")
    w_arr = _as_float_array(w, "w", 1)
    y_arr = np.asarray(y)
    if y_arr.ndim != 1 or not np.issubdtype(y_arr.dtype, np.integer):
        raise ValueError(f"y must be an integer array of shape (N,) with values -1 or +1, "
                         f"got {y_arr.dtype} {y_arr.shape}")
    if not np.all((y_arr == 1) | (y_arr == -1)):
        raise ValueError("y must hold only -1 and +1 for a binary loss (map 0/1 labels with 2 * y - 1)")
    # Reuse the multiclass checks with w as a (D, 1) matrix; labels are checked above.
    W, X_arr, _, reg = check_inputs(w_arr[:, None], X, np.zeros(len(y_arr), dtype=int), reg)
    w_arr = W[:, 0]
    dtype = w_arr.dtype
    m = y_arr.astype(dtype) * (X_arr @ w_arr)
    losses, dloss_dm = BINARY_LOSSES[kind](m)
    num_train = X_arr.shape[0]
    loss = losses.sum() / num_train + dtype.type(reg) * np.sum(w_arr * w_arr)
    dw = X_arr.T @ (dloss_dm * y_arr.astype(dtype)) / dtype.type(num_train)
    dw += dtype.type(2.0 * reg) * w_arr
    return dtype.type(loss), dw.astype(dtype, copy=False)
