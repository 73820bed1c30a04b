"""The fast paths in linclass.reference.fast agree with the vectorized losses of linclass.reference.losses."""
import numpy as np
import pytest

from linclass.reference.fast import softmax_loss_fast, svm_loss_fast
from linclass.reference.losses import softmax_loss_vectorized, svm_loss_vectorized

PAIRS = [(svm_loss_fast, svm_loss_vectorized), (softmax_loss_fast, softmax_loss_vectorized)]
SHAPES = [(1, 1, 2), (7, 3, 2), (50, 20, 10), (333, 65, 4)]


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = max(np.abs(a).max(), np.abs(b).max())
    return 0.0 if scale == 0 else float(np.abs(a - b).max() / scale)


def problem(N, D, C, dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((N, D)) * 20).astype(dtype)
    y = rng.integers(0, C, N)
    W = (rng.standard_normal((D, C)) * 0.01).astype(dtype)
    return W, X, y


@pytest.mark.parametrize("fast, reference", PAIRS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("block_rows", [None, 1, 16])
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_agrees_with_vectorized_float64(fast, reference, shape, block_rows, workers):
    W, X, y = problem(*shape, np.float64)
    loss, dW = fast(W, X, y, 0.1, block_rows=block_rows, workers=workers)
    loss0, dW0 = reference(W, X, y, 0.1)
    assert rel(loss, loss0) < 1e-10
    assert rel(dW, dW0) < 1e-10
    assert dW.shape == W.shape and dW.dtype == np.float64


@pytest.mark.parametrize("fast, reference", PAIRS)
def test_float32_stays_float32_and_agrees(fast, reference):
    W, X, y = problem(400, 30, 10, np.float32)
    loss, dW = fast(W, X, y, 0.5, block_rows=64, workers=2)
    loss0, dW0 = reference(W, X, y, 0.5)
    assert dW.dtype == np.float32 and np.asarray(loss).dtype == np.float32
    assert rel(loss, loss0) < 1e-5
    assert rel(dW, dW0) < 1e-4


def test_svm_margin_parameter():
    W, X, y = problem(100, 8, 5, np.float64, seed=3)
    for delta in (0.0, 1.0, 7.5):
        loss, dW = svm_loss_fast(W, X, y, 0.0, delta=delta, block_rows=7)
        loss0, dW0 = svm_loss_vectorized(W, X, y, 0.0, delta=delta)
        assert rel(loss, loss0) < 1e-10 and rel(dW, dW0) < 1e-10


def test_softmax_stable_for_huge_scores():
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    W = np.array([[1e4, -1e4, 0.0], [-3e4, 2e4, 1e4]])
    y = np.array([0, 2])
    with np.errstate(all="raise"):
        loss, dW = softmax_loss_fast(W, X, y, 0.0, block_rows=1)
    loss0, dW0 = softmax_loss_vectorized(W, X, y, 0.0)
    assert np.isfinite(loss) and np.isfinite(dW).all()
    assert rel(loss, loss0) < 1e-10 and rel(dW, dW0) < 1e-10


def test_tiny_softmax_loss_not_rounded_to_zero():
    # scores [10, -100, -100] with the right class 0: the loss is about 2 * exp(-110).
    W = np.array([[10.0, -100.0, -100.0]])
    loss, _ = softmax_loss_fast(W, np.ones((1, 1)), np.array([0]), 0.0)
    assert loss > 0
    assert rel(loss, softmax_loss_vectorized(W, np.ones((1, 1)), np.array([0]), 0.0)[0]) < 1e-10


@pytest.mark.parametrize("fast", [svm_loss_fast, softmax_loss_fast])
def test_nan_or_inf_in_X_named(fast):
    W, X, y = problem(40, 6, 3, np.float64)
    for bad in (np.nan, np.inf, -np.inf):
        X_bad = X.copy()
        X_bad[17, 2] = bad
        with pytest.raises(ValueError, match="X contains NaN or inf"):
            fast(W, X_bad, y, 0.1, block_rows=8)


@pytest.mark.parametrize("fast", [svm_loss_fast, softmax_loss_fast])
def test_bad_arguments_named(fast):
    W, X, y = problem(20, 6, 3, np.float64)
    with pytest.raises(ValueError, match="y"):
        fast(W, X, y[:-1], 0.1)
    with pytest.raises(ValueError, match="y"):
        fast(W, X, y + 3, 0.1)
    with pytest.raises(ValueError, match="y"):
        fast(W, X, y.astype(float), 0.1)
    with pytest.raises(ValueError, match="X"):
        fast(W, X[:, :5], y, 0.1)
    with pytest.raises(ValueError, match="reg"):
        fast(W, X, y, -1.0)
    with pytest.raises(ValueError, match="block_rows"):
        fast(W, X, y, 0.1, block_rows=0)
    with pytest.raises(ValueError, match="workers"):
        fast(W, X, y, 0.1, workers=0)


def test_non_contiguous_X_gives_same_result():
    W, X, y = problem(60, 10, 4, np.float64)
    X_fortran = np.asfortranarray(X)
    a = svm_loss_fast(W, X_fortran, y, 0.2, block_rows=9)
    b = svm_loss_vectorized(W, X, y, 0.2)
    assert rel(a[0], b[0]) < 1e-10 and rel(a[1], b[1]) < 1e-10


# ------------------------------------------------- the compiled kernels' edge cases

@pytest.mark.parametrize("fast, reference", PAIRS)
@pytest.mark.parametrize("shape", [(203, 3073, 10), (97, 11, 13), (9, 5, 5), (8, 40, 6), (3, 7, 11)])
def test_tiles_and_their_edges(fast, reference, shape):
    # The kernels work in tiles of 4 or 8 rows and 5 classes; these shapes leave partial
    # tiles of rows and of classes, and CIFAR-10's D.
    W, X, y = problem(*shape, np.float64, seed=5)
    for block_rows in (None, 5, 64):
        loss, dW = fast(W, X, y, 0.3, block_rows=block_rows, workers=2)
        loss0, dW0 = reference(W, X, y, 0.3)
        assert rel(loss, loss0) < 1e-10 and rel(dW, dW0) < 1e-10


@pytest.mark.parametrize("kind, reference", [("svm", svm_loss_vectorized), ("softmax", softmax_loss_vectorized)])
@pytest.mark.parametrize("workers", [1, 2])
def test_batch_loss_reads_the_rows_in_place(kind, reference, workers):
    # The training path: rows X[rows] (repeats allowed) read straight from X, without checks.
    from linclass.reference.fast import _batch_loss
    W, X, y = problem(300, 70, 10, np.float64, seed=6)
    rows = np.random.default_rng(7).integers(0, 300, 150)
    loss_sum, dWt = _batch_loss(kind, np.ascontiguousarray(W.T), X, y.astype(np.int64), rows, 1.0, workers)
    loss0, dW0 = reference(W, X[rows], y[rows], 0.0)
    assert rel(loss_sum / len(rows), loss0) < 1e-10
    assert rel(dWt.T / len(rows), dW0) < 1e-10


def test_batch_loss_casts_rows_to_the_weights_dtype():
    # fast_fit trains in float32 on float64 data: each block of rows is cast as it is read.
    from linclass.reference.fast import _batch_loss
    W, X, y = problem(100, 30, 10, np.float64, seed=8)
    rows = np.arange(100)[::-1].copy()
    loss_sum, dWt = _batch_loss("softmax", np.ascontiguousarray(W.T, dtype=np.float32), X,
                                y.astype(np.int64), rows, 1.0, 2)
    loss0, dW0 = softmax_loss_vectorized(W.astype(np.float32), X.astype(np.float32), y, 0.0)
    assert dWt.dtype == np.float32
    assert rel(loss_sum / 100, loss0) < 1e-5 and rel(dWt.T / 100, dW0) < 1e-4


def test_importing_fast_does_not_import_numba():
    # linclass.reference.fast is imported by the classifiers and the grader; the compiler is loaded
    # only when a kernel first runs.
    import subprocess
    import sys
    code = "import sys, linclass.reference.fast, linclass.reference.classifiers; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
