"""The loss-and-gradient kernels: naive vs vectorized, and full batch vs the machine's bound.

    python benchmarks/bench_kernel.py [--quick]

1. Naive (loops) against vectorized on the 500-row dev set, float64, SVM and softmax.
2. One full-batch loss+gradient on (49000, 3073), float64 and float32: the straightforward
   vectorized loss (linclass.reference.losses) and the fast path (linclass.reference.fast), each as a ratio to
   the machine bound measured in the same run, interleaved with the kernels:

       bound = max(bytes of X / read bandwidth, FLOPs / large-matmul rate)

   The read bandwidth is the time of X @ v (BLAS gemv streams all of X once); the matmul
   rate is a 2048x2048 product; each the faster of BLAS alone and two threads on row
   halves; FLOPs = 2 products * 2 * N * D * C. Target (issue 8, target 1): the fast path
   within 2.5x of the bound, in both dtypes.
3. A profile: the two products alone, run by BLAS and by the compiled kernels.

The real CIFAR-10 split is used when LINCLASS_DATA_DIR points at it; otherwise random data
of the same shape (the time of these kernels does not depend on the values).
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for p in (str(HERE.parent), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

import numpy as np  # noqa: E402

from _common import interleaved, matmul_rate_fns, option, read_bandwidth_fns, row  # noqa: E402
from linclass.reference import (
    fast,  # noqa: E402
    losses,  # noqa: E402
)
from linclass.reference.fast import softmax_loss_fast, svm_loss_fast  # noqa: E402

TARGET_RATIO = 2.5
REG = 2.5e4
# Seconds of quiet before each timed call: BLAS threads of the previous call stop spinning.
SETTLE = 0.3


def _data(ctx, dtype):
    cifar = option(ctx, "cifar", lambda dtype: None)(dtype)
    if cifar is not None:
        return cifar["X_train"], cifar["y_train"], cifar["X_dev"], cifar["y_dev"], "CIFAR-10 (real split)"
    rng = np.random.default_rng(0)
    X = (rng.standard_normal((49000, 3073)) * 60).astype(dtype)
    X[:, -1] = 1
    y = rng.integers(0, 10, 49000)
    return X, y, X[:500], y[:500], "random data of CIFAR-10's shape (no real data)"


def run(ctx=None) -> list[dict]:
    quick = bool(option(ctx, "quick", False))
    repeats = int(option(ctx, "repeats", 3 if quick else 7))
    rows = []

    # 1. naive vs vectorized on the dev set, float64
    X, y, X_dev, y_dev, source = _data(ctx, np.float64)
    W = 0.0001 * np.random.default_rng(1).standard_normal((X.shape[1], 10))
    for name, naive, vec in (("SVM", losses.svm_loss_naive, losses.svm_loss_vectorized),
                             ("softmax", losses.softmax_loss_naive, losses.softmax_loss_vectorized)):
        t_naive, t_vec = interleaved([lambda: naive(W, X_dev, y_dev, REG),
                                      lambda: vec(W, X_dev, y_dev, REG)], max(3, repeats))
        rows.append(row(f"{name} naive vs vectorized, dev set {X_dev.shape[0]}x{X_dev.shape[1]}, float64",
                        round(t_naive / t_vec, 2), "x faster", round(t_naive / t_vec, 2), None, None,
                        f"naive {t_naive * 1e3:.1f} ms, vectorized {t_vec * 1e3:.2f} ms (medians); {source}"))

    # 2. full batch vs the bound, both dtypes
    for dtype in (np.float64, np.float32):
        if dtype is np.float32:
            X, y, _, _, source = _data(ctx, np.float32)
            W = W.astype(np.float32)
        N, D = X.shape
        C = W.shape[1]
        flops = 2 * (2.0 * N * D * C)
        reads = read_bandwidth_fns(X)
        mms, mm_flops = matmul_rate_fns(dtype)
        fns = [*reads, *mms,
               lambda: losses.svm_loss_vectorized(W, X, y, REG),
               lambda: svm_loss_fast(W, X, y, REG),
               lambda: losses.softmax_loss_vectorized(W, X, y, REG),
               lambda: softmax_loss_fast(W, X, y, REG)]
        for fn in fns:  # warm up: page faults, thread pools, BLAS buffers
            fn()
        t_read1, t_read2, t_mm1, t_mm2, t_svm, t_svm_fast, t_soft, t_soft_fast = interleaved(fns, repeats, SETTLE)
        t_read, t_mm = min(t_read1, t_read2), min(t_mm1, t_mm2)
        bandwidth = X.nbytes / t_read
        rate = mm_flops / t_mm
        bound = max(X.nbytes / bandwidth, flops / rate)
        dt = np.dtype(dtype).name
        rows.append(row(f"machine bound, full batch {N}x{D}, {dt}", round(bound, 4), "s", None, None, None,
                        f"read {bandwidth / 1e9:.1f} GB/s -> {X.nbytes / bandwidth:.4f} s for X "
                        f"({X.nbytes / 1e9:.2f} GB); matmul {rate / 1e9:.0f} GFLOP/s -> "
                        f"{flops / rate:.4f} s for {flops / 1e9:.1f} GFLOP; {source}"))
        # Profile: the two products alone, as BLAS runs them (what the vectorized loss
        # does) and as the compiled kernels run them in the fast path's blocks and threads.
        Wt = np.ascontiguousarray(W.T)
        G = np.zeros((N, C), dtype=X.dtype)
        block = fast.default_block_rows(X)
        K = fast._kernels()

        def kernel_products(k, part):
            start, stop = part
            S, dWt = np.empty((block, C), dtype=X.dtype), np.zeros_like(Wt)
            for b in range(start, stop, block):
                Xb = X[b:min(b + block, stop)]
                K.scores_into(Xb, Wt, S)
                K.add_gradient(Xb, S, dWt)
            return 0.0, dWt

        t_blas, t_products = interleaved([lambda: (X @ W, G.T @ X),
                                          lambda: fast._sum_parts(kernel_products, fast._split(N, 2), 2)],
                                         repeats, SETTLE)
        for label, t in (("BLAS (X @ W, then G.T @ X)", t_blas),
                         ("compiled kernels, in the fast path's blocks and threads", t_products)):
            rows.append(row(f"profile: the two products alone, {label}, {dt}", round(t, 4), "s",
                            round(t / bound, 2), None, None,
                            f"{flops / t / 1e9:.0f} GFLOP/s against {rate / 1e9:.0f} GFLOP/s for a large "
                            f"square product; {t / t_svm_fast:.0%} of the SVM fast path"))
        for name, t_vec, t_fast in (("SVM", t_svm, t_svm_fast), ("softmax", t_soft, t_soft_fast)):
            rows.append(row(f"{name} full-batch loss+grad, vectorized (linclass.reference.losses), {dt}",
                            round(t_vec, 4), "s", round(t_vec / bound, 2), None, None,
                            f"median of {repeats}; ratio to the bound"))
            rows.append(row(f"{name} full-batch loss+grad, fast path (linclass.reference.fast), {dt}",
                            round(t_fast, 4), "s", round(t_fast / bound, 2), f"<= {TARGET_RATIO}x bound",
                            t_fast / bound <= TARGET_RATIO,
                            f"median of {repeats}; {t_vec / t_fast:.2f}x faster than vectorized"))
    return rows


if __name__ == "__main__":
    for r in run({"quick": "--quick" in sys.argv}):
        print(r)
