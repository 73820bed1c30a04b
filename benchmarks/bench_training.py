"""1500 SGD iterations with batch 200 against the memory bound of reading those batches.

    python benchmarks/bench_training.py [--quick]

Side by side in one run, interleaved:
- "CS231n": LinearSVM.train with sampling="replacement" (random rows with replacement and
  a fancy-indexing copy every step, the vectorized loss with its input checks);
- "fast": LinearSVM.train with sampling="epoch" (one shuffle per epoch, each batch gathered
  into one reused buffer: no allocation per step, X never copied; the kernel of
  linclass.reference.fast without per-step checks);
- the memory bound: bytes of the 1500 batches / read bandwidth, the bandwidth measured in
  the same run (BLAS gemv over X).

Target (issue 8, target 2): the fast trainer within 3x of that bound. Both float64 and
float32. Both trainers run with one BLAS thread (see LinearClassifier.train).
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
from linclass.reference.classifiers import LinearSVM, Softmax  # noqa: E402

TARGET_RATIO = 3.0
ITERS, BATCH = 1500, 200
# Seconds of quiet before each timed call: BLAS threads of the previous call stop spinning.
SETTLE = 0.3


def _data(ctx, dtype):
    cifar = option(ctx, "cifar", lambda dtype: None)(dtype)
    if cifar is not None:
        return cifar["X_train"], cifar["y_train"], "CIFAR-10 (real split)"
    rng = np.random.default_rng(0)
    X = (rng.standard_normal((49000, 3073)) * 60).astype(dtype)
    X[:, -1] = 1
    return X, rng.integers(0, 10, 49000), "random data of CIFAR-10's shape (no real data)"


def run(ctx=None) -> list[dict]:
    quick = bool(option(ctx, "quick", False))
    repeats = 1 if quick else 3
    rows = []
    for dtype in (np.float64, np.float32):
        X, y, source = _data(ctx, dtype)
        dt = np.dtype(dtype).name
        batch_bytes = ITERS * BATCH * X.shape[1] * X.dtype.itemsize
        flops = ITERS * 2 * (2.0 * BATCH * X.shape[1] * 10)
        reads = read_bandwidth_fns(X)
        mms, mm_flops = matmul_rate_fns(dtype)

        def train(cls, sampling):
            return lambda: cls().train(X, y, learning_rate=1e-7, reg=2.5e4, num_iters=ITERS,
                                       batch_size=BATCH, seed=0, sampling=sampling)

        fns = [*reads, *mms, train(LinearSVM, "replacement"), train(LinearSVM, "epoch"), train(Softmax, "epoch")]
        for fn in fns[:4]:
            fn()
        t_read1, t_read2, t_mm1, t_mm2, t_plain, t_fast, t_soft = interleaved(fns, repeats, SETTLE)
        t_read, t_mm = min(t_read1, t_read2), min(t_mm1, t_mm2)
        bandwidth = X.nbytes / t_read
        bound = batch_bytes / bandwidth
        note = (f"bound {bound:.3f} s = {batch_bytes / 1e9:.2f} GB of batches at {bandwidth / 1e9:.1f} GB/s; "
                f"for scale, the {flops / 1e9:.0f} GFLOP at the large-matmul rate "
                f"({mm_flops / t_mm / 1e9:.0f} GFLOP/s) take {flops / (mm_flops / t_mm):.3f} s; {source}")
        rows.append(row(f"{ITERS} SGD steps batch {BATCH}, SVM, CS231n sampling, {dt}", round(t_plain, 3), "s",
                        round(t_plain / bound, 2), None, None, f"median of {repeats}; " + note))
        rows.append(row(f"{ITERS} SGD steps batch {BATCH}, SVM, epoch sampling + fast kernel, {dt}",
                        round(t_fast, 3), "s", round(t_fast / bound, 2), f"<= {TARGET_RATIO}x bound",
                        t_fast / bound <= TARGET_RATIO,
                        f"median of {repeats}; {t_plain / t_fast:.2f}x faster than CS231n sampling"))
        rows.append(row(f"{ITERS} SGD steps batch {BATCH}, softmax, epoch sampling + fast kernel, {dt}",
                        round(t_soft, 3), "s", round(t_soft / bound, 2), f"<= {TARGET_RATIO}x bound",
                        t_soft / bound <= TARGET_RATIO, f"median of {repeats}"))
    return rows


if __name__ == "__main__":
    for r in run({"quick": "--quick" in sys.argv}):
        print(r)
