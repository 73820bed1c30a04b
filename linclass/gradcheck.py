"""Gradient checking: compare an analytic gradient with a numerical one.

The numerical gradient uses centered differences,

    df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2 h),

whose error is O(h**2) (the one-sided difference is only O(h)). Compare the
two gradients with the relative error |a - n| / (|a| + |n|): an absolute
difference of 1e-4 is tiny for a gradient of size 1e3 and huge for one of
size 1e-5, so only the relative error has a meaning that does not depend on
the scale of the problem.

How to read a relative error (float64, h = 1e-5), after the CS231n notes:

- below ``REL_ERROR_GOOD`` (1e-7): the gradient is right.
- below ``REL_ERROR_OK_WITH_KINKS`` (1e-4): acceptable for a loss with kinks
  (the SVM hinge), too high for a smooth loss such as softmax.
- below ``REL_ERROR_WRONG`` (1e-2): suspicious, look for a bug.
- from ``REL_ERROR_WRONG`` up: the gradient is wrong.

Why the SVM hinge can give a rare large error. max(0, margin) has a kink at
margin = 0. When the checked coordinate moves some margin across 0 within
+-h, one of the two evaluations sees the slope and the other does not, so
the centered difference returns a value between the two one-sided slopes.
The analytic gradient takes one side, and the relative error at that
coordinate can be as large as 1, although the code is correct. It happens
only when a margin is within about h * |x| of 0, which is rare on real data;
if a single coordinate fails, rerun with another seed or check the margins.
Smooth losses (softmax) have no kinks, so for them any error above 1e-7
points at a bug.

Do gradient checks in float64: with float32 (about 7 significant digits) the
difference f(x + h) - f(x - h) for h = 1e-5 is lost in rounding.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "REL_ERROR_GOOD",
    "REL_ERROR_OK_WITH_KINKS",
    "REL_ERROR_WRONG",
    "rel_error",
    "verdict",
    "eval_numerical_gradient",
    "grad_check_sparse",
    "GradCheckResult",
    "check_gradient",
]

#: Below this relative error a gradient is right (float64, h = 1e-5).
REL_ERROR_GOOD = 1e-7
#: Below this: acceptable for a loss with kinks such as the SVM hinge; too high for softmax.
REL_ERROR_OK_WITH_KINKS = 1e-4
#: From this value up the gradient is wrong; between the two above it is suspicious.
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


def verdict(error):
    """Name the band of a relative error: "good", "ok with kinks", "suspicious" or "wrong".

    Inputs:
    - error: float, a relative error (nan counts as "wrong").

    See the module docstring for the meaning of each band.
    """
    if not np.isfinite(error) or error >= REL_ERROR_WRONG:
        return "wrong"
    if error < REL_ERROR_GOOD:
        return "good"
    if error < REL_ERROR_OK_WITH_KINKS:
        return "ok with kinks"
    return "suspicious"


def _check_point(x, h):
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        raise ValueError(
            "x must be a float numpy array (it is changed in place and restored); "
            "convert it with np.asarray(x, dtype=np.float64)"
        )
    h = float(h)
    if not np.isfinite(h) or h <= 0:
        raise ValueError(f"h must be a small positive step such as 1e-5, got {h}")
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


def eval_numerical_gradient(f, x, h=1e-5):
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
    (x ~ 100) third derivatives grow like x**3, so a smaller h (1e-6) is
    more accurate there; for a piecewise linear or quadratic loss (the SVM)
    truncation is 0 and a larger h (1e-4) only reduces rounding.
    """
    h = _check_point(x, h)
    grad = np.zeros(x.shape, dtype=np.float64)
    for index in np.ndindex(x.shape):
        grad[index] = _centered_difference(f, x, index, h)
    return grad


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5, seed=None, verbose=False):
    """Compare an analytic gradient with centered differences at random coordinates.

    Inputs:
    - f: function taking an array shaped like x and returning a number.
    - x: float array of any shape; changed in place and restored.
    - analytic_grad: array shaped like x, the gradient to check.
    - num_checks: int >= 1, how many random coordinates (drawn with replacement).
    - h: float > 0, the step.
    - seed: int or None, seeds the choice of coordinates.
    - verbose: if True, print numerical, analytic and relative error per coordinate.

    Returns errors: float64 array of shape (num_checks,), the relative error
    |n - a| / (|n| + |a|) at each coordinate (0 where both are 0).
    """
    h = _check_point(x, h)
    analytic_grad = np.asarray(analytic_grad)
    if analytic_grad.shape != x.shape:
        raise ValueError(
            f"analytic_grad must have the shape of x {x.shape}, got {analytic_grad.shape}"
        )
    if int(num_checks) != num_checks or num_checks < 1:
        raise ValueError(f"num_checks must be a positive integer, got {num_checks!r}")
    rng = np.random.default_rng(seed)
    errors = np.empty(int(num_checks))
    for k in range(int(num_checks)):
        index = tuple(int(rng.integers(n)) for n in x.shape)
        numerical = _centered_difference(f, x, index, h)
        analytic = float(analytic_grad[index])
        errors[k] = rel_error(numerical, analytic)
        if verbose:
            print(f"numerical: {numerical:f} analytic: {analytic:f}, relative error: {errors[k]:e}")
    return errors


@dataclass
class GradCheckResult:
    """The outcome of ``check_gradient``.

    - max_error: float, the largest relative error over all checks.
    - verdict: str, ``verdict(max_error)``: "good", "ok with kinks", "suspicious" or "wrong".
    - errors: dict mapping each reg that was checked (float) to its largest relative error.
    - large_reg: float, the large regularization strength that was used.
    """

    max_error: float
    verdict: str
    errors: dict = field(default_factory=dict)
    large_reg: float = 0.0

    def passed(self, kinks=False):
        """True when max_error is below REL_ERROR_GOOD (REL_ERROR_OK_WITH_KINKS if kinks)."""
        return self.max_error < (REL_ERROR_OK_WITH_KINKS if kinks else REL_ERROR_GOOD)

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


def check_gradient(loss_fn, W, X, y, reg, num_checks=10, seed=0, h=1e-5, large_reg=None):
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
    for r in dict.fromkeys([0.0, reg, large_reg]):   # keeps order, drops repeats
        _, analytic = _loss_and_grad(loss_fn, W, X, y, r)
        errs = grad_check_sparse(lambda w: loss_fn(w, X, y, r)[0], W, analytic,
                                 num_checks=num_checks, h=h, seed=seed)
        errors[r] = float(errs.max()) if not np.isnan(errs).any() else float("nan")
    values = list(errors.values())
    max_error = float("nan") if any(np.isnan(v) for v in values) else max(values)
    return GradCheckResult(max_error=max_error, verdict=verdict(max_error), errors=errors,
                           large_reg=large_reg)
