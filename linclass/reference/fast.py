"""Fast paths of the vectorized SVM and softmax losses, for large N.

``svm_loss_fast`` and ``softmax_loss_fast`` take the same arguments and return the same
``(loss, dW)`` as ``linclass.reference.losses.svm_loss_vectorized`` and
``softmax_loss_vectorized`` (to about 1e-12 relative in float64; only the order of the
additions differs). The teaching versions stay the reference; these are for training on
the full (49000, 3073) CIFAR-10 matrix, where the straightforward version spends almost
all its time in two products that are only C = 10 columns wide:

    scores = X @ W          (N, D) @ (D, C)
    dW     = X.T @ dscores  (D, N) @ (N, C)

Each of those reads all of X from memory, and a BLAS runs such skinny products far below
its large-matrix rate. Here the work is done by the compiled kernels of
``linclass.reference._kernels`` (numba): X is processed in blocks of rows, both products of a block
run while the block is still in the CPU cache (so X is read from memory once per call
instead of twice), and each product uses register tiles made for C = 10 columns. The
blocks are shared between worker threads (the kernels release the GIL), each with its own
dW accumulator, so there is no locking; the partial sums are added at the end. No
temporary array is as large as X.

The kernels are compiled on first use (a few seconds, then cached on disk), and numba is
imported only then: ``import linclass.reference.fast`` stays cheap.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import threadpool_limits

from linclass.reference.losses import check_inputs

__all__ = ["svm_loss_fast", "softmax_loss_fast", "default_workers", "default_block_rows",
           "single_threaded_blas"]

# About 1.5 MB of X per block: a block stays in a core's L2 cache between the two
# products. 64 rows of CIFAR-10 in float64 (see benchmarks/bench_kernel.py).
BLOCK_BYTES = 3 * 512 * 1024

_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()
_buffers = threading.local()  # per thread: scratch for the gathered rows of a batch


def default_workers() -> int:
    """Number of worker threads used by default: the number of usable CPU cores."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not available on macOS and Windows
        return max(1, os.cpu_count() or 1)


def default_block_rows(X) -> int:
    """Rows per block for X of shape (N, D): about BLOCK_BYTES of X, a multiple of 8 rows."""
    return _block_rows(X.shape[1], X.dtype.itemsize)


def _block_rows(D: int, itemsize: int) -> int:
    row_bytes = max(1, D * itemsize)
    return max(8, (BLOCK_BYTES // row_bytes + 7) // 8 * 8)


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


def _kernels():
    from linclass.reference import _kernels  # numba: imported (and compiled) on first use only
    return _kernels


def _kind_code(kind: str) -> int:
    """The kernels' code for a loss: kind is "svm" or "softmax"."""
    K = _kernels()
    return {"svm": K.SVM, "softmax": K.SOFTMAX}[kind]


def _split(n: int, workers: int) -> list[tuple[int, int]]:
    """Contiguous (start, stop) ranges, one per worker: each streams its own region of X."""
    k = max(1, min(workers, n))
    return [(i * n // k, (i + 1) * n // k) for i in range(k)]


def _sum_parts(work, parts, workers):
    """Run work(k, part) -> (loss sum, dWt) for each part k on the pool; add the results."""
    if len(parts) == 1:
        return work(0, parts[0])
    results = list(_pool(workers).map(work, range(len(parts)), parts))
    loss = sum(r[0] for r in results)
    dWt = results[0][1]
    for r in results[1:]:
        dWt += r[1]
    return loss, dWt


def _full_batch(kind, Wt, X, y, delta, block_rows, workers):
    """Loss sum and dW.T (C, D) of all rows of a C-contiguous X (N, D), Wt's dtype.

    kind: "svm" or "softmax"; delta: float, the SVM margin.
    """
    K = _kernels()
    code = _kind_code(kind)
    y = y.astype(np.int64, copy=False)

    def work(k, part):
        start, stop = part
        dWt = np.zeros_like(Wt)
        S = np.empty((block_rows, Wt.shape[0]), dtype=Wt.dtype)
        return K.loss_range(X, y, start, stop, Wt, code, delta, block_rows, S, dWt), dWt

    return _sum_parts(work, _split(X.shape[0], workers), workers)


def _batch_loss(kind, Wt, X, y, rows, delta=1.0, workers=1, scratch=None):
    """Loss sum and gradient of that sum w.r.t. Wt, for the rows X[rows]; no input checks.

    Used by the training loops, which check X and y once. Inputs:
    - kind: "svm" or "softmax"; delta: float, the SVM margin.
    - Wt: array of shape (C, D), float32 or float64 (the dtype of the computation).
    - X: array of shape (N, D), any float dtype (rows are cast while they are copied).
    - y: int64 array of shape (N,); rows: int64 array of shape (B,), valid row indices.
    - workers: int, threads that share the rows.
    - scratch: None, or an array of shape (workers, C, D) and Wt's dtype that the caller
      owns and passes at every step: worker k sums into scratch[k], so nothing of size
      (C, D) is allocated per step (a fresh 250 kB array costs page faults every time).
    Returns (float loss sum, dWt of shape (C, D) and Wt's dtype; scratch[0] when given,
    valid until the next call). The rows are gathered block by block into a per-thread
    buffer that stays in cache: no (B, D) copy is made.
    """
    K = _kernels()
    code = _kind_code(kind)
    D = X.shape[1]
    # Half a block: the copy shares the cache with the rows being read (measured: 32 rows
    # of float64 CIFAR-10 took 1.7 ms per 200-row batch, 64 rows 2.0 ms).
    block = max(8, _block_rows(D, Wt.dtype.itemsize) // 2)

    def work(k, part):
        start, stop = part
        key = (Wt.dtype.str, D, block, Wt.shape[0])
        if getattr(_buffers, "key", None) != key:
            _buffers.key = key
            _buffers.data = (np.empty((block, D), dtype=Wt.dtype), np.empty(block, dtype=np.int64),
                             np.empty((block, Wt.shape[0]), dtype=Wt.dtype))
        buf, ybuf, S = _buffers.data  # used only during this call: safe to share per thread
        dWt = scratch[k] if scratch is not None else np.empty_like(Wt)
        dWt.fill(0)
        return K.loss_rows(X, y, rows[start:stop], Wt, code, delta, buf, ybuf, S, dWt), dWt

    return _sum_parts(work, _split(len(rows), workers), workers)


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
    - block_rows: int or None, rows of X per block (None: about 1.5 MB of X).
    - workers: int or None, threads (None: one per usable core).

    Returns (loss scalar of the input dtype, dW array of shape (D, C)), equal to
    ``linclass.reference.losses.svm_loss_vectorized(W, X, y, reg, delta)`` up to rounding.
    """
    from linclass.reference.losses import _check_delta

    W, X, y, reg, block_rows, workers = _check_fast_inputs(W, X, y, reg, block_rows, workers)
    delta = _check_delta(delta)
    Wt = np.ascontiguousarray(W.T)
    loss_sum, dWt = _full_batch("svm", Wt, X, y, delta, block_rows, workers)
    return _finish(loss_sum, dWt, W, X, y, reg)


def softmax_loss_fast(W, X, y, reg, block_rows=None, workers=None):
    """Softmax (cross-entropy) loss and gradient, blocked and threaded for large N.

    Inputs:
    - W: array of shape (D, C), float32 or float64.
    - X: array of shape (N, D), same dtype as W for speed (a C-contiguous X is not copied).
    - y: integer array of shape (N,), labels in [0, C).
    - reg: float >= 0, L2 regularization strength.
    - block_rows: int or None, rows of X per block (None: about 1.5 MB of X).
    - workers: int or None, threads (None: one per usable core).

    Returns (loss scalar of the input dtype, dW array of shape (D, C)), equal to
    ``linclass.reference.losses.softmax_loss_vectorized(W, X, y, reg)`` up to rounding.
    """
    W, X, y, reg, block_rows, workers = _check_fast_inputs(W, X, y, reg, block_rows, workers)
    Wt = np.ascontiguousarray(W.T)
    loss_sum, dWt = _full_batch("softmax", Wt, X, y, 0.0, block_rows, workers)
    return _finish(loss_sum, dWt, W, X, y, reg)
