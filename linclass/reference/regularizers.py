"""Weight regularizers R(W) with their (sub)gradients, and the max-norm projection.

A regularized loss is L = data loss + reg * R(W), so its gradient is
data gradient + reg * dR. The losses in ``linclass.reference.losses`` use L2, the
CS231n convention; the others are here to compare on the lecture's examples
and to use in your own training loops.

Every function takes
- W: float array of any shape (usually (D, C)), finite values,
and returns values in W's float dtype (ints become float64).
"""
from __future__ import annotations

import numbers

import numpy as np

from .losses import _check_nonnegative

__all__ = ["l2", "l1", "elastic_net", "max_norm_project"]


def _check_weights(W, name="W"):
    arr = np.asarray(W)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{name} must be an array of real numbers, got dtype {arr.dtype}")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def l2(W):
    """L2 regularization R(W) = sum of W[k, l] ** 2.

    Inputs:
    - W: float array of any shape, e.g. (D, C).

    Returns a tuple (R, dR): R a scalar of W's dtype, dR = 2 * W shaped like W.

    It prefers spreading weight over many inputs: for x = [1, 1, 1, 1],
    w1 = [1, 0, 0, 0] and w2 = [0.25] * 4 give the same score, but
    R(w1) = 1 and R(w2) = 0.25, so L2 picks w2, which uses all the evidence.
    """
    W = _check_weights(W)
    return W.dtype.type(np.sum(W * W)), 2 * W


def l1(W):
    """L1 regularization R(W) = sum of |W[k, l]|.

    Inputs:
    - W: float array of any shape, e.g. (D, C).

    Returns a tuple (R, dR): R a scalar of W's dtype, dR = sign(W) shaped like
    W. |w| has no derivative at 0; sign gives the subgradient 0 there, the
    usual choice, so a weight that is exactly 0 is not pushed either way.

    It rates w1 = [1, 0, 0, 0] and w2 = [0.25] * 4 equal (both sum to 1) and,
    in training, tends to drive weights to exactly 0 (sparse W).
    """
    W = _check_weights(W)
    return W.dtype.type(np.sum(np.abs(W))), np.sign(W)


def elastic_net(W, beta):
    """Elastic net R(W) = sum of beta * W[k, l] ** 2 + |W[k, l]| (L1 + L2).

    Inputs:
    - W: float array of any shape, e.g. (D, C).
    - beta: float >= 0, the weight of the L2 part relative to the L1 part.

    Returns a tuple (R, dR): R a scalar of W's dtype and the subgradient
    dR = 2 * beta * W + sign(W) shaped like W (0 from the L1 part at W = 0).
    """
    W = _check_weights(W)
    beta = _check_nonnegative(beta, "beta")
    b = W.dtype.type(beta)
    R = b * np.sum(W * W) + np.sum(np.abs(W))
    return W.dtype.type(R), 2 * b * W + np.sign(W)


def max_norm_project(W, max_norm, axis=0):
    """Project each class's weight vector onto the ball of radius max_norm.

    Max-norm regularization is a constraint, not a penalty: after every
    update the trainer replaces W by this projection, so no vector along
    ``axis`` has an L2 norm above max_norm. Vectors already inside the ball
    are left unchanged; longer ones are scaled down to length max_norm.

    Inputs:
    - W: float array of shape (D, C) (or any shape).
    - max_norm: float > 0, the largest allowed L2 norm.
    - axis: int, the axis summed over for the norm. With W of shape (D, C)
      the default axis=0 takes the norm of each class column W[:, c].

    Returns a new array shaped like W, of W's dtype; W itself is not changed.
    """
    W = _check_weights(W)
    if isinstance(max_norm, (bool, np.bool_)) or not isinstance(max_norm, (numbers.Real, np.floating, np.integer)):
        raise ValueError(f"max_norm must be a positive number, got {max_norm!r}")
    max_norm = float(max_norm)
    if not np.isfinite(max_norm) or max_norm <= 0:
        raise ValueError(f"max_norm must be a finite number > 0, got {max_norm}")
    if W.ndim == 0:
        raise ValueError("W must have at least one dimension")
    if not -W.ndim <= axis < W.ndim:
        raise ValueError(f"axis must be in [{-W.ndim}, {W.ndim}) for W of shape {W.shape}, got {axis}")
    norms = np.sqrt(np.sum(W * W, axis=axis, keepdims=True))
    # Only vectors longer than max_norm shrink; the others (including 0) keep scale 1.
    scale = max_norm / np.maximum(norms, max_norm)
    return (W * scale.astype(W.dtype)).astype(W.dtype, copy=False)
