"""Compiled kernels behind linclass.reference.fast (numba). Not teaching code: read losses.py first.

A full-batch loss and gradient is two products that are only C = 10 columns wide,

    S  = Xb @ W          scores,   (B, D) @ (D, C)
    dW = Xb.T @ G        gradient, (D, B) @ (B, C), G = d(loss)/dS

and a general-purpose BLAS runs such skinny products at a fraction of its large-matrix
rate (benchmarks/bench_kernel.py prints the figures). The kernels here compute them with
register tiles written out by hand: for the scores a tile of 4 rows x 5 classes keeps 20
running sums in registers while one pass over d loads each x and each w once; for the
gradient a tile of 8 rows x 5 classes loads each x once and updates 5 rows of dW.T. The
compiler turns the loop over d into SIMD instructions. The rows of a block (64 by default,
about 1.5 MB in float64) are read from memory once for the scores and stay in the cache
for the gradient.

Every function works on Wt = W.T of shape (C, D) and on float32 or float64 arrays; sums of
losses are float64. fastmath is limited to reassociation and contraction (what SIMD sums
need): NaN and inf still propagate, which linclass.reference.fast relies on to name bad input.
"""
from __future__ import annotations

import math
import os
import sys


def _import_numba():
    """Import numba, letting it use 512-bit SIMD registers on CPUs that have them (AVX-512).

    LLVM's tuning for many AVX-512 CPUs prefers 256-bit vectors, which suits code that
    mixes in scalar work but halves the multiply-add rate of the tiles below (measured on
    a 2-core Xeon: the products ran 1.2-1.7x faster with 512-bit vectors). Only the
    tuning changes, never a result. numba fixes its CPU features when it is imported, so
    this works only when this module imports numba first, and the user's own choice
    (NUMBA_CPU_FEATURES, NUMBA_CPU_NAME) always wins. The variable is removed again at
    once, so child processes do not inherit it.
    """
    if "numba" in sys.modules or "NUMBA_CPU_FEATURES" in os.environ or "NUMBA_CPU_NAME" in os.environ:
        import numba
        return numba
    import llvmlite.binding as llvm

    features = llvm.get_host_cpu_features()
    if not features.get("avx512f"):
        import numba
        return numba
    os.environ["NUMBA_CPU_FEATURES"] = features.flatten() + ",-prefer-256-bit"
    try:
        import numba
    finally:
        del os.environ["NUMBA_CPU_FEATURES"]
    return numba


numba = _import_numba()

# reassoc: SIMD partial sums in any order; contract: fused multiply-add.
_FLAGS = {"reassoc", "contract"}
_jit = numba.njit(nogil=True, cache=True, fastmath=_FLAGS)

SVM, SOFTMAX = 0, 1


@_jit
def scores_into(Xb, Wt, S):
    """S[:n] = Xb @ Wt.T. Xb: (n, D), Wt: (C, D), S: (>= n, C); all one float dtype."""
    n, D = Xb.shape
    C = Wt.shape[0]
    zero = Wt.dtype.type(0)
    n4 = n - n % 4
    c5 = C - C % 5
    for i in range(0, n4, 4):
        xb = Xb[i:i + 4]
        for c in range(0, c5, 5):
            wb = Wt[c:c + 5]
            a00 = a01 = a02 = a03 = a04 = zero
            a10 = a11 = a12 = a13 = a14 = zero
            a20 = a21 = a22 = a23 = a24 = zero
            a30 = a31 = a32 = a33 = a34 = zero
            for d in range(D):
                x0 = xb[0, d]
                x1 = xb[1, d]
                x2 = xb[2, d]
                x3 = xb[3, d]
                w0 = wb[0, d]
                w1 = wb[1, d]
                w2 = wb[2, d]
                w3 = wb[3, d]
                w4 = wb[4, d]
                a00 += x0 * w0; a01 += x0 * w1; a02 += x0 * w2; a03 += x0 * w3; a04 += x0 * w4  # noqa: E702
                a10 += x1 * w0; a11 += x1 * w1; a12 += x1 * w2; a13 += x1 * w3; a14 += x1 * w4  # noqa: E702
                a20 += x2 * w0; a21 += x2 * w1; a22 += x2 * w2; a23 += x2 * w3; a24 += x2 * w4  # noqa: E702
                a30 += x3 * w0; a31 += x3 * w1; a32 += x3 * w2; a33 += x3 * w3; a34 += x3 * w4  # noqa: E702
            S[i, c], S[i, c + 1], S[i, c + 2], S[i, c + 3], S[i, c + 4] = a00, a01, a02, a03, a04
            S[i + 1, c], S[i + 1, c + 1], S[i + 1, c + 2], S[i + 1, c + 3], S[i + 1, c + 4] = a10, a11, a12, a13, a14
            S[i + 2, c], S[i + 2, c + 1], S[i + 2, c + 2], S[i + 2, c + 3], S[i + 2, c + 4] = a20, a21, a22, a23, a24
            S[i + 3, c], S[i + 3, c + 1], S[i + 3, c + 2], S[i + 3, c + 3], S[i + 3, c + 4] = a30, a31, a32, a33, a34
    # The edges the tiles do not cover: the last n % 4 rows, the last C % 5 classes.
    for i in range(n):
        for c in range(C):
            if i < n4 and c < c5:
                continue
            acc = zero
            for d in range(D):
                acc += Xb[i, d] * Wt[c, d]
            S[i, c] = acc


@_jit
def add_gradient(Xb, G, dWt):
    """dWt += G[:n].T @ Xb. Xb: (n, D), G: (>= n, C), dWt: (C, D); all one float dtype."""
    n, D = Xb.shape
    C = dWt.shape[0]
    n8 = n - n % 8
    c5 = C - C % 5
    for i in range(0, n8, 8):
        xb = Xb[i:i + 8]
        for c in range(0, c5, 5):
            g = G[i:i + 8, c:c + 5]
            g00, g01, g02, g03, g04 = g[0, 0], g[0, 1], g[0, 2], g[0, 3], g[0, 4]
            g10, g11, g12, g13, g14 = g[1, 0], g[1, 1], g[1, 2], g[1, 3], g[1, 4]
            g20, g21, g22, g23, g24 = g[2, 0], g[2, 1], g[2, 2], g[2, 3], g[2, 4]
            g30, g31, g32, g33, g34 = g[3, 0], g[3, 1], g[3, 2], g[3, 3], g[3, 4]
            g40, g41, g42, g43, g44 = g[4, 0], g[4, 1], g[4, 2], g[4, 3], g[4, 4]
            g50, g51, g52, g53, g54 = g[5, 0], g[5, 1], g[5, 2], g[5, 3], g[5, 4]
            g60, g61, g62, g63, g64 = g[6, 0], g[6, 1], g[6, 2], g[6, 3], g[6, 4]
            g70, g71, g72, g73, g74 = g[7, 0], g[7, 1], g[7, 2], g[7, 3], g[7, 4]
            db = dWt[c:c + 5]
            for d in range(D):
                x0 = xb[0, d]
                x1 = xb[1, d]
                x2 = xb[2, d]
                x3 = xb[3, d]
                x4 = xb[4, d]
                x5 = xb[5, d]
                x6 = xb[6, d]
                x7 = xb[7, d]
                db[0, d] += g00 * x0 + g10 * x1 + g20 * x2 + g30 * x3 + g40 * x4 + g50 * x5 + g60 * x6 + g70 * x7
                db[1, d] += g01 * x0 + g11 * x1 + g21 * x2 + g31 * x3 + g41 * x4 + g51 * x5 + g61 * x6 + g71 * x7
                db[2, d] += g02 * x0 + g12 * x1 + g22 * x2 + g32 * x3 + g42 * x4 + g52 * x5 + g62 * x6 + g72 * x7
                db[3, d] += g03 * x0 + g13 * x1 + g23 * x2 + g33 * x3 + g43 * x4 + g53 * x5 + g63 * x6 + g73 * x7
                db[4, d] += g04 * x0 + g14 * x1 + g24 * x2 + g34 * x3 + g44 * x4 + g54 * x5 + g64 * x6 + g74 * x7
    for i in range(n):
        for c in range(C):
            if i < n8 and c < c5:
                continue
            gic = G[i, c]
            for d in range(D):
                dWt[c, d] += gic * Xb[i, d]


@_jit
def svm_rows(S, yb, n, delta):
    """Hinge loss of the first n rows of S (n, C); S becomes d(loss)/dS. Returns the sum."""
    C = S.shape[1]
    total = 0.0
    for i in range(n):
        label = yb[i]
        correct = S[i, label]
        positive = 0
        for c in range(C):
            if c == label:
                continue
            margin = S[i, c] - correct + delta
            if margin > 0:
                total += margin
                S[i, c] = 1
                positive += 1
            else:
                S[i, c] = 0
        S[i, label] = -positive
    return total


@_jit
def softmax_rows(S, yb, n):
    """Cross-entropy of the first n rows of S (n, C); S becomes d(loss)/dS. Returns the sum.

    As in fast.py: shift by the largest score, and log(sum exp) = log1p(sum of the others),
    so a tiny loss such as 3e-48 is not rounded to 0.
    """
    C = S.shape[1]
    total = 0.0
    for i in range(n):
        top = 0
        for c in range(1, C):
            if S[i, c] > S[i, top]:
                top = c
        highest = S[i, top]
        correct = S[i, yb[i]] - highest
        rest = 0.0
        for c in range(C):
            if c == top:
                S[i, c] = 1
            else:
                e = math.exp(S[i, c] - highest)
                S[i, c] = e
                rest += e
        total += math.log1p(rest) - correct
        scale = 1.0 / (1.0 + rest)
        for c in range(C):
            S[i, c] *= scale
        S[i, yb[i]] -= 1
    return total


@_jit
def _block(Xb, yb, n, Wt, kind, delta, S, dWt):
    scores_into(Xb, Wt, S)
    if kind == SVM:
        total = svm_rows(S, yb, n, delta)
    else:
        total = softmax_rows(S, yb, n)
    add_gradient(Xb, S, dWt)
    return total


@_jit
def loss_range(X, y, start, stop, Wt, kind, delta, block, S, dWt):
    """Loss sum of rows start..stop of X (N, D); adds their gradient to dWt (C, D).

    X is used in place (C-contiguous, Wt's dtype); S: scratch of shape (block, C).
    """
    total = 0.0
    for b in range(start, stop, block):
        e = min(stop, b + block)
        total += _block(X[b:e], y[b:e], e - b, Wt, kind, delta, S, dWt)
    return total


@_jit
def loss_rows(X, y, rows, Wt, kind, delta, buf, ybuf, S, dWt):
    """Loss sum of the rows X[rows] (any dtype X, int64 rows); adds their gradient to dWt.

    A block of rows is copied (and cast to Wt's dtype) into buf (block, D) while it is
    read, so the batch is never gathered by a separate pass; ybuf: int64 (block,).
    """
    block = buf.shape[0]
    total = 0.0
    for b in range(0, rows.shape[0], block):
        e = min(rows.shape[0], b + block)
        for k in range(e - b):
            r = rows[b + k]
            buf[k, :] = X[r, :]
            ybuf[k] = y[r]
        total += _block(buf[:e - b], ybuf, e - b, Wt, kind, delta, S, dWt)
    return total
