"""Fast paths of the vectorized SVM and softmax losses, for large N.

``svm_loss_fast`` and ``softmax_loss_fast`` take the same arguments and return the same
``(loss, dW)`` as ``linclass.losses.svm_loss_vectorized`` and
``softmax_loss_vectorized`` (to about 1e-12 relative in float64; only the order of the
additions differs). The teaching versions stay the reference; these are for training on
the full (49000, 3073) CIFAR-10 matrix, where the straightforward version spends almost
all its time in two products that are only C = 10 columns wide:

    scores = X @ W          (N, D) @ (D, C)
    dW     = X.T @ dscores  (D, N) @ (N, C)

Each of those reads all of X from memory, and a BLAS runs such skinny products far below
its large-matrix rate. Here X is processed in blocks of rows, and both products of a
block run while the block is still in the CPU cache, so X is read from memory once per
call instead of twice. The blocks are shared between worker threads (numpy releases the
GIL inside BLAS), each with its own dW accumulator, so there is no locking; the partial
sums are added at the end. No temporary array is as large as X.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import numpy as np
from threadpoolctl import threadpool_limits

from linclass.losses import check_inputs

__all__ = ["svm_loss_fast", "softmax_loss_fast", "default_workers", "default_block_rows",
           "single_threaded_blas"]

# About 2 MB of X per block: a block stays in a core's L2/L3 cache between the two
# products. Measured on a 2-core Xeon (see benchmarks/bench_kernel.py).
BLOCK_BYTES = 2 * 1024 * 1024

_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def default_workers() -> int:
    """Number of worker threads used by default: the number of usable CPU cores."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not available on macOS and Windows
        return max(1, os.cpu_count() or 1)


def default_block_rows(X) -> int:
    """Rows per block for X of shape (N, D): about BLOCK_BYTES of X, at least 16 rows."""
    row_bytes = max(1, X.shape[1] * X.dtype.itemsize)
    return max(16, BLOCK_BYTES // row_bytes)


def _pool(workers: int) -> ThreadPoolExecutor:
    with _pools_lock:
        if workers not in _pools:
            _pools[workers] = ThreadPoolExecutor(workers, thread_name_prefix="linclass-fast")
        return _pools[workers]


def single_threaded_blas():
    """Context manager: BLAS runs with one thread inside it (threadpoolctl).

    Used while our own worker threads run, and around the small products of SGD steps.
    Two workers that each start a 2-thread BLAS call would put four busy threads on two
    cores; and on a busy machine a multi-threaded BLAS waits for descheduled partner
    threads on every small call (measured: 1500 SGD steps took 55 s instead of 2.5 s).
    """
    return threadpool_limits(limits=1, user_api="blas")


def _check_fast_inputs(W, X, y, reg, block_rows, workers):
    """Validate like check_inputs, but without an extra pass over all of X.

    NaN or inf in X always make dW non-finite (x * g is NaN or inf for every finite g),
    so the finiteness of X is checked after the computation, see _finish.
    """
    W_small, X_small, _, reg = check_inputs(W, np.asarray(X)[:1], np.asarray(y)[:1], reg)
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must have 2 dimensions, got shape {X.shape}")
    X = X.astype(X_small.dtype, copy=False)
    X = np.ascontiguousarray(X)  # row blocks must be contiguous (no copy when already so)
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be an integer array of shape (N,), got dtype {y.dtype} and shape {y.shape}")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y has {y.shape[0]} labels but there are {X.shape[0]} examples; they must match")
    C = W_small.shape[1]
    if y.min() < 0 or y.max() >= C:
        raise ValueError(f"y must hold labels in [0, {C}) for {C} classes, found values from {y.min()} to {y.max()}")
    if block_rows is None:
        block_rows = default_block_rows(X)
    if isinstance(block_rows, (bool, np.bool_)) or not isinstance(block_rows, (int, np.integer)) or block_rows < 1:
        raise ValueError(f"block_rows must be a positive int (rows of X per block), got {block_rows!r}")
    if workers is None:
        workers = default_workers()
    if isinstance(workers, (bool, np.bool_)) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers must be a positive int (number of threads), got {workers!r}")
    return W_small, X, y, reg, int(block_rows), int(workers)


def _svm_block(Wt, Xb, yb, delta):
    """Hinge loss sum and dW.T contribution of one block. Wt: (C, D), Xb: (B, D), yb: (B,)."""
    cols = np.arange(Xb.shape[0])
    scores = (Xb @ Wt.T).T                                   # (C, B): classes along rows
    margins = scores - scores[yb, cols] + Wt.dtype.type(delta)
    np.maximum(margins, 0, out=margins)
    margins[yb, cols] = 0
    dscores = (margins > 0).astype(Wt.dtype)
    dscores[yb, cols] = -dscores.sum(axis=0)
    return float(margins.sum(dtype=np.float64)), dscores @ Xb   # (C, D)


def _softmax_block(Wt, Xb, yb, delta):
    """Cross-entropy sum and dW.T contribution of one block (delta is unused)."""
    cols = np.arange(Xb.shape[0])
    scores = (Xb @ Wt.T).T                                   # (C, B)
    top = scores.argmax(axis=0)
    scores -= scores[top, cols]                              # largest exponent is exp(0) = 1
    with np.errstate(under="ignore"):
        probs = np.exp(scores)
    # log(sum exp) = log1p(sum of the other exponentials): a tiny loss such as 3e-48
    # for scores [10, -100, -100] is not rounded to 0.
    probs[top, cols] = 0
    rest = probs.sum(axis=0)
    probs[top, cols] = 1
    loss = np.sum(np.log1p(rest, dtype=np.float64) - scores[yb, cols])
    probs /= 1 + rest
    probs[yb, cols] -= 1
    return float(loss), probs @ Xb


def _run_blocks(block_fn, Wt, X, y, delta, block_rows, workers, limit_blas=True):
    """Sum block_fn over blocks of rows. Returns (loss sum, dW.T sum).

    limit_blas=False when the caller already holds single_threaded_blas() (a training
    loop enters it once rather than on every step).
    """
    N = X.shape[0]
    starts = list(range(0, N, block_rows))

    def work(part):
        total = 0.0
        dWt = np.zeros_like(Wt)
        # NaN or inf in X surface as a clear ValueError in _finish, not as warnings here.
        with np.errstate(invalid="ignore"):
            for s in part:
                loss, grad = block_fn(Wt, X[s:s + block_rows], y[s:s + block_rows], delta)
                total += loss
                dWt += grad
        return total, dWt

    workers = min(workers, len(starts))
    if workers == 1:
        return work(starts)
    # Contiguous halves (not interleaved blocks): each worker streams its own region.
    parts = np.array_split(np.array(starts), workers)
    with single_threaded_blas() if limit_blas else nullcontext():
        results = list(_pool(workers).map(work, parts))
    loss = sum(r[0] for r in results)
    dWt = results[0][1]
    for r in results[1:]:
        dWt += r[1]
    return loss, dWt


def _finish(loss_sum, dWt, W, X, y, reg):
    N = X.shape[0]
    dtype = W.dtype
    dW = np.ascontiguousarray(dWt.T)
    dW /= N
    dW += dtype.type(2.0 * reg) * W
    loss = dtype.type(loss_sum / N) + dtype.type(reg) * np.sum(W * W)
    if not (np.isfinite(loss) and np.isfinite(dW).all()):
        check_inputs(W, X, y, reg)  # raises the clear ValueError when X holds NaN or inf
    return dtype.type(loss), dW


def svm_loss_fast(W, X, y, reg, delta=1.0, block_rows=None, workers=None):
    """Multiclass SVM loss and gradient, blocked and threaded for large N.

    Inputs:
    - W: array of shape (D, C), float32 or float64.
    - X: array of shape (N, D), same dtype as W for speed (a C-contiguous X is not copied).
    - y: integer array of shape (N,), labels in [0, C).
    - reg: float >= 0, L2 regularization strength.
    - delta: float >= 0, the margin.
    - block_rows: int or None, rows of X per block (None: about 2 MB of X).
    - workers: int or None, threads (None: one per usable core).

    Returns (loss scalar of the input dtype, dW array of shape (D, C)), equal to
    ``linclass.losses.svm_loss_vectorized(W, X, y, reg, delta)`` up to rounding.
    """
    from linclass.losses import _check_delta

    W, X, y, reg, block_rows, workers = _check_fast_inputs(W, X, y, reg, block_rows, workers)
    delta = _check_delta(delta)
    Wt = np.ascontiguousarray(W.T)
    loss_sum, dWt = _run_blocks(_svm_block, Wt, X, y, delta, block_rows, workers)
    return _finish(loss_sum, dWt, W, X, y, reg)


def softmax_loss_fast(W, X, y, reg, block_rows=None, workers=None):
    """Softmax (cross-entropy) loss and gradient, blocked and threaded for large N.

    Inputs:
    - W: array of shape (D, C), float32 or float64.
    - X: array of shape (N, D), same dtype as W for speed (a C-contiguous X is not copied).
    - y: integer array of shape (N,), labels in [0, C).
    - reg: float >= 0, L2 regularization strength.
    - block_rows: int or None, rows of X per block (None: about 2 MB of X).
    - workers: int or None, threads (None: one per usable core).

    Returns (loss scalar of the input dtype, dW array of shape (D, C)), equal to
    ``linclass.losses.softmax_loss_vectorized(W, X, y, reg)`` up to rounding.
    """
    W, X, y, reg, block_rows, workers = _check_fast_inputs(W, X, y, reg, block_rows, workers)
    Wt = np.ascontiguousarray(W.T)
    loss_sum, dWt = _run_blocks(_softmax_block, Wt, X, y, 0.0, block_rows, workers)
    return _finish(loss_sum, dWt, W, X, y, reg)
