"""Gradient checking: compare an analytic gradient with a numerical one.

The numerical gradient uses centered differences,

    df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2 h),

whose error is O(h**2) (the one-sided difference is only O(h)). Compare the
two gradients with the relative error |a - n| / (|a| + |n|): an absolute
difference of 1e-4 is tiny for a gradient of size 1e3 and huge for one of
size 1e-5, so only the relative error has a meaning that does not depend on
the scale of the problem.

The step is ``DEFAULT_H`` = 1e-6 everywhere (every function here and the
notebooks). How to read the relative errors of one check at that step
(float64, 10 random entries of W ~ 1e-4 on 500 mean-subtracted images):

- every entry below ``REL_ERROR_GOOD`` (1e-7): the gradient is right.
  Measured on 30 random W: at most 1.6e-9 for a correct SVM loss and
  1.2e-8 for a correct softmax loss.
- one or two entries (``KINK_MAX_ENTRIES``) between ``KINK_LOW`` (1e-4) and
  ``REL_ERROR_WRONG`` (1e-2) while every other entry stays at or below
  ``REL_ERROR_CLEAN`` (1e-8): ``verdict`` says "kink?". Measured on the same
  30 random W, a correct SVM loss shows this pattern in 2 of 30 checks
  (outliers 3.2e-4 to 4.8e-3) and a correct softmax loss never. Pass the
  margins of the checked entries to ``verdict`` to see how close to 0 they
  came.
- anything else above 1e-7: suspicious, look for a bug.
- from ``REL_ERROR_WRONG`` (1e-2) up: the gradient is wrong.

With the larger step h = 1e-5 the same correct SVM loss shows an entry above
1e-7 in 18 of the 30 checks (the worst 1.9e-2), and a correct softmax loss
reaches 1.1e-6. ``tests/test_gradcheck.py`` repeats these measurements.

Do gradient checks in float64: with float32 (about 7 significant digits) the
difference f(x + h) - f(x - h) for h = 1e-6 is lost in rounding.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "DEFAULT_H",
    "REL_ERROR_GOOD",
    "REL_ERROR_CLEAN",
    "KINK_LOW",
    "KINK_MAX_ENTRIES",
    "REL_ERROR_WRONG",
    "rel_error",
    "verdict",
    "eval_numerical_gradient",
    "grad_check_sparse",
    "sparse_indices",
    "GradCheckResult",
    "check_gradient",
]

#: The step of every numerical gradient here (and in the notebooks).
DEFAULT_H = 1e-6
#: Below this relative error, at every checked entry, a gradient is right (h = 1e-6).
REL_ERROR_GOOD = 1e-7
#: Next to a kink's outliers, the other entries stay at or below this.
REL_ERROR_CLEAN = 1e-8
#: A kink's outliers lie between KINK_LOW and REL_ERROR_WRONG ...
KINK_LOW = 1e-4
#: ... and there are at most this many of them in one check.
KINK_MAX_ENTRIES = 2
#: From this value up the gradient is wrong.
REL_ERROR_WRONG = 1e-2


def rel_error(a, b):
    """Largest elementwise relative error max |a - b| / (|a| + |b|).

    Inputs:
    - a, b: arrays of the same shape (or scalars), real numbers.

    Returns a float in [0, 1], since |a - b| <= |a| + |b|; it is 1 when the
    signs are opposite or exactly one of the two is 0. Entries where both a and b are 0
    agree exactly and count as 0, not as 0 / 0 = nan. NaN anywhere gives nan,
    so a broken gradient is never reported as matching.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    diff = np.abs(a - b)
    scale = np.abs(a) + np.abs(b)
    both_zero = scale == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        errors = np.where(both_zero, 0.0, diff / np.where(both_zero, 1.0, scale))
    if np.isnan(errors).any():
        return float("nan")
    return float(errors.max())


def _band(errors):
    """"good", "kink?", "suspicious" or "wrong" for a 1-D float array of relative errors."""
    if errors.size == 0:
        return "good"
    if np.isnan(errors).any() or errors.max() >= REL_ERROR_WRONG:
        return "wrong"
    if errors.max() < REL_ERROR_GOOD:
        return "good"
    outliers = errors >= KINK_LOW
    if (errors.size > 1 and 1 <= outliers.sum() <= KINK_MAX_ENTRIES
            and np.all(errors[~outliers] <= REL_ERROR_CLEAN)):
        return "kink?"
    return "suspicious"


def verdict(errors, margins=None):
    """Read the relative errors of one gradient check.

    Inputs:
    - errors: float, or array of shape (K,): the relative errors of a check, as returned
      by grad_check_sparse. A single number can only be "good", "suspicious" or "wrong";
      the "kink?" pattern needs every entry.
    - margins: optional array of shape (K,) (or a float): for each checked entry, the
      |margin| closest to 0 among the margins that entry moves. When given, the smallest
      one is reported after the verdict.

    Returns a str that starts with one of
    - "good": every entry below REL_ERROR_GOOD (1e-7);
    - "kink?": one or two entries between KINK_LOW (1e-4) and REL_ERROR_WRONG (1e-2),
      every other entry at or below REL_ERROR_CLEAN (1e-8);
    - "suspicious": any other error above 1e-7; look for a bug;
    - "wrong": an error of 1e-2 or more, or nan.
    For example "kink? (2 of 10 entries between 1e-4 and 1e-2; smallest |margin| 3.1e-05)".
    """
    errors = np.atleast_1d(np.asarray(errors, dtype=np.float64)).ravel()
    band = _band(errors)
    notes = []
    if band == "kink?":
        count = int((errors >= KINK_LOW).sum())
        notes.append(f"{count} of {errors.size} entries between {KINK_LOW:g} and {REL_ERROR_WRONG:g}")
    if margins is not None:
        margins = np.abs(np.atleast_1d(np.asarray(margins, dtype=np.float64)).ravel())
        if margins.size:
            notes.append(f"smallest |margin| {margins.min():.1e}")
    return f"{band} ({'; '.join(notes)})" if notes else band


def _check_point(x, h):
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        raise ValueError(
            "x must be a float numpy array (it is changed in place and restored); "
            "convert it with np.asarray(x, dtype=np.float64)"
        )
    h = float(h)
    if not np.isfinite(h) or h <= 0:
        raise ValueError(f"h must be a small positive step such as {DEFAULT_H:g}, got {h}")
    return h


def _scalar(value):
    try:
        arr = np.asarray(value)
    except ValueError:   # a ragged tuple such as (loss, dW)
        arr = np.asarray(None, dtype=object)
    if arr.size != 1 or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(
            "f must return a single number; for a loss that returns (loss, dW) "
            "pass lambda W: loss_fn(W, X, y, reg)[0]"
        )
    return float(arr.reshape(()))


def _centered_difference(f, x, index, h):
    old = x[index]
    x[index] = old + h
    try:
        f_plus = _scalar(f(x))
        x[index] = old - h
        f_minus = _scalar(f(x))
    finally:
        x[index] = old   # restore even if f raises
    return (f_plus - f_minus) / (2 * h)


def eval_numerical_gradient(f, x, h=DEFAULT_H):
    """Numerical gradient of a scalar function by centered differences.

    Inputs:
    - f: function taking an array shaped like x and returning a number.
    - x: float array of any shape, the point; it is changed in place
      during the computation and restored exactly afterwards.
    - h: float > 0, the step.

    Returns grad: float64 array shaped like x, grad[i] ~ df/dx[i].

    Costs 2 * x.size calls of f: fine for small problems, use
    ``grad_check_sparse`` for large ones.

    The error has two parts: truncation, about h**2 times the third
    derivative, and rounding, about 1e-16 * |f| / h. With pixel-valued data
    (x ~ 100) third derivatives grow like x**3, which is why the default
    step is the small h = 1e-6.
    """
    h = _check_point(x, h)
    grad = np.zeros(x.shape, dtype=np.float64)
    for index in np.ndindex(x.shape):
        grad[index] = _centered_difference(f, x, index, h)
    return grad


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=DEFAULT_H, seed=None, verbose=False):
    """Compare an analytic gradient with centered differences at random coordinates.

    Inputs:
    - f: function taking an array shaped like x and returning a number.
    - x: float array of any shape; changed in place and restored.
    - analytic_grad: array shaped like x, the gradient to check.
    - num_checks: int >= 1, how many random coordinates (drawn with replacement).
    - h: float > 0, the step (default 1e-6).
    - seed: int or None, seeds the choice of coordinates; ``sparse_indices(x.shape,
      num_checks, seed)`` gives the same coordinates, in the same order.
    - verbose: if True, print the coordinate, numerical, analytic and relative error of each.

    Returns errors: float64 array of shape (num_checks,), the relative error
    |n - a| / (|n| + |a|) at each coordinate (0 where both are 0). Read it with
    ``verdict(errors)``.
    """
    h = _check_point(x, h)
    analytic_grad = np.asarray(analytic_grad)
    if analytic_grad.shape != x.shape:
        raise ValueError(
            f"analytic_grad must have the shape of x {x.shape}, got {analytic_grad.shape}"
        )
    if int(num_checks) != num_checks or num_checks < 1:
        raise ValueError(f"num_checks must be a positive integer, got {num_checks!r}")
    indices = sparse_indices(x.shape, num_checks, seed)
    errors = np.empty(len(indices))
    for k, index in enumerate(indices):
        numerical = _centered_difference(f, x, index, h)
        analytic = float(analytic_grad[index])
        errors[k] = rel_error(numerical, analytic)
        if verbose:
            print(f"entry {index}: numerical: {numerical:f} analytic: {analytic:f}, "
                  f"relative error: {errors[k]:e}")
    return errors


def sparse_indices(shape, num_checks=10, seed=None):
    """The coordinates grad_check_sparse checks for this shape, num_checks and seed.

    Inputs:
    - shape: tuple of ints, the shape of x.
    - num_checks: int >= 1; seed: int or None, as in grad_check_sparse.

    Returns a list of num_checks index tuples, in the order grad_check_sparse checks them
    (a seed of None gives a new random list each call).
    """
    if int(num_checks) != num_checks or num_checks < 1:
        raise ValueError(f"num_checks must be a positive integer, got {num_checks!r}")
    rng = np.random.default_rng(seed)
    return [tuple(int(rng.integers(n)) for n in shape) for _ in range(int(num_checks))]


@dataclass
class GradCheckResult:
    """The outcome of ``check_gradient``.

    - max_error: float, the largest relative error over all checks.
    - verdict: str, the worst of the verdicts of the checks at each reg: "good", "kink?",
      "suspicious" or "wrong" (see ``verdict``).
    - errors: dict mapping each reg that was checked (float) to its largest relative error.
    - large_reg: float, the large regularization strength that was used.
    """

    max_error: float
    verdict: str
    errors: dict = field(default_factory=dict)
    large_reg: float = 0.0

    def passed(self, kinks=False):
        """True when the verdict is "good" (or "kink?" too, if kinks: a loss with kinks)."""
        return self.verdict.split(" ")[0] in (("good", "kink?") if kinks else ("good",))

    def to_dict(self):
        """Plain JSON-ready data: floats and strings only (reg keys become strings)."""
        return {
            "max_error": self.max_error,
            "verdict": self.verdict,
            "errors": {repr(reg): err for reg, err in self.errors.items()},
            "large_reg": self.large_reg,
        }


def _loss_and_grad(loss_fn, W, X, y, reg):
    """Call loss_fn and check that it returned (loss, dW) with dW shaped like W."""
    result = loss_fn(W, X, y, reg)
    if not isinstance(result, tuple) or len(result) != 2:
        raise ValueError(f"loss_fn must return a tuple (loss, dW), got {type(result).__name__}")
    loss, dW = result
    dW = np.asarray(dW, dtype=np.float64)
    if dW.shape != W.shape:
        raise ValueError(f"loss_fn returned a gradient of shape {dW.shape}, expected {W.shape}")
    return _scalar(loss), dW


def check_gradient(loss_fn, W, X, y, reg, num_checks=10, seed=0, h=DEFAULT_H, large_reg=None):
    """Check the gradient of a loss ``loss_fn(W, X, y, reg) -> (loss, dW)`` at three regs.

    Inputs:
    - loss_fn: the loss to check, for example a student's ``svm_loss_naive``.
    - W: array of shape (D, C); X: array of shape (N, D); y: int array of shape (N,).
    - reg: float >= 0, the regularization strength to check.
    - num_checks: int, random coordinates per reg.
    - seed: int or None, seeds the coordinates.
    - h: float > 0, the step.
    - large_reg: float > 0 or None. None picks the reg whose gradient 2 * reg * W
      is as large as the data gradient (see below).

    Returns a GradCheckResult; its errors dict has one entry per reg: 0.0,
    ``reg`` and ``large_reg``.

    Why three regs. At reg = 0 only the data gradient is checked. At a large
    reg the regularization gradient is as big as the data gradient, so a
    missing or halved 2 * reg * W shows as a relative error far above
    REL_ERROR_WRONG. The usual CS231n check (W ~ 1e-4, reg ~ 5e1, pixel
    values ~ 100) hides such a bug: there 2 * reg * W is about 1e-2 against
    a data gradient of about 10, so dropping it changes most coordinates by
    about 1e-3 relative, which reads as the kink noise a hinge loss is
    expected to show (cs231n.github.io issue 253).

    W and X are converted to float64 copies (see the module docstring);
    the caller's arrays are never modified.
    """
    W = np.array(W, dtype=np.float64)   # a copy: the check perturbs it in place
    X = np.asarray(X, dtype=np.float64)
    reg = float(reg)
    if reg < 0:
        raise ValueError(f"reg must be >= 0, got {reg}")
    if large_reg is None:
        _, data_grad = _loss_and_grad(loss_fn, W, X, y, 0.0)
        w_norm = np.linalg.norm(W)
        g_norm = np.linalg.norm(data_grad)
        # 2 * large_reg * |W| = |data gradient|; fall back to 1.0 when either is 0.
        large_reg = g_norm / (2 * w_norm) if w_norm > 0 and g_norm > 0 else 1.0
    large_reg = float(large_reg)
    if not np.isfinite(large_reg) or large_reg <= 0:
        raise ValueError(f"large_reg must be a positive number, got {large_reg}")

    errors = {}
    bands = []
    for r in dict.fromkeys([0.0, reg, large_reg]):   # keeps order, drops repeats
        _, analytic = _loss_and_grad(loss_fn, W, X, y, r)
        errs = grad_check_sparse(lambda w: loss_fn(w, X, y, r)[0], W, analytic,
                                 num_checks=num_checks, h=h, seed=seed)
        errors[r] = float(errs.max()) if not np.isnan(errs).any() else float("nan")
        bands.append(_band(errs))
    values = list(errors.values())
    max_error = float("nan") if any(np.isnan(v) for v in values) else max(values)
    worst = max(bands, key=("good", "kink?", "suspicious", "wrong").index)
    return GradCheckResult(max_error=max_error, verdict=worst, errors=errors, large_reg=large_reg)
