"""Shared pieces of the linclass benchmarks: options, timing, and the machine's bounds.

Not a benchmark itself (run.py only picks up files named bench_*.py).
"""
from __future__ import annotations

import statistics
import time

import numpy as np


def option(ctx, name, default):
    """ctx may be the dict-like context of run.py, a plain dict, or None."""
    if isinstance(ctx, dict):
        return ctx.get(name, default)
    return getattr(ctx, name, default)


def seconds(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def interleaved(fns, repeats):
    """Time each of fns once per round, for `repeats` rounds; return the medians in seconds.

    Interleaving makes every function see the same machine load, which matters on a
    shared, noisy machine: ratios of medians from one run are comparable.
    """
    times = [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            times[i].append(seconds(fn))
    return [statistics.median(t) for t in times]


def read_bandwidth_fn(X):
    """A function that reads all of X once, as fast as this machine can (BLAS gemv).

    X @ v streams every byte of X once with a few flops per element, so its time is the
    time to read X from memory with all cores.
    """
    v = np.ones(X.shape[1], dtype=X.dtype)
    return lambda: X @ v


def matmul_rate_fn(dtype, n=2048):
    """(function, flops): a large square matrix product, the machine's best flop rate."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((n, n)).astype(dtype)
    B = rng.standard_normal((n, n)).astype(dtype)
    return (lambda: A @ B), 2.0 * n ** 3


def blas_threads():
    """BLAS thread count and name, from threadpoolctl when installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return [{k: v for k, v in info.items() if k in ("internal_api", "num_threads", "version", "architecture")}
            for info in threadpool_info() if info.get("user_api") == "blas"]


def row(figure, value, unit, ratio=None, target=None, met=None, notes=""):
    return {"figure": figure, "value": value, "unit": unit, "ratio": ratio, "target": target,
            "met": met, "notes": notes}


def skipped(figure, why):
    return row(figure, None, "", None, None, None, "SKIPPED: " + why)
