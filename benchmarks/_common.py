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


def interleaved(fns, repeats, settle=0.0):
    """Time each of fns once per round, for `repeats` rounds; return the medians in seconds.

    Interleaving makes every function see the same machine load, which matters on a
    shared, noisy machine: ratios of medians from one run are comparable.

    settle: seconds to wait before each timed call. After a multi-threaded BLAS call,
    OpenBLAS keeps its worker threads spinning on the other cores for a while (about 0.1 s
    by default); without a pause, whatever is timed next shares those cores with them.
    """
    times = [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            if settle:
                time.sleep(settle)
            times[i].append(seconds(fn))
    return [statistics.median(t) for t in times]


def _split(fn_of_part, parts):
    """Run fn_of_part on each part in its own thread, BLAS limited to one thread each."""
    from linclass.reference.fast import _pool, single_threaded_blas

    def go():
        with single_threaded_blas():
            list(_pool(len(parts)).map(fn_of_part, parts))
    return go


def read_bandwidth_fns(X, workers=2):
    """Two functions that each read all of X once: BLAS gemv, and gemv on row halves in threads.

    X @ v streams every byte of X once with a few flops per element, so its time is the
    time to read X from memory. The bound uses the faster of the two ways, so that a
    multi-threaded BLAS slowed down by a busy machine does not make the bound look easy.
    """
    v = np.ones(X.shape[1], dtype=X.dtype)
    return [lambda: X @ v, _split(lambda part: part @ v, np.array_split(X, workers))]


def matmul_rate_fns(dtype, n=2048, workers=2):
    """(functions, flops): a large square product, by BLAS alone and split by rows in threads."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((n, n)).astype(dtype)
    B = rng.standard_normal((n, n)).astype(dtype)
    return [lambda: A @ B, _split(lambda part: part @ B, np.array_split(A, workers))], 2.0 * n ** 3


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
