"""The visible checks: what the test cells in your notebook run.

Nothing here knows a right answer as code. The checks compare your functions with

- **stored numbers**: the loss and gradient on a few small inputs made from fixed seeds
  (:func:`example_inputs`), kept in ``expected_values.json`` next to this file;
- **facts** you can check by hand (the test cells state them);
- **numerical gradients** (``linclass.gradcheck``);
- **your own naive version** (:func:`check_agree`);
- **how many Python lines run** as the number of examples grows (:func:`vectorization_report`).

The hidden tests that grade the notebook use other, random inputs; passing these checks is
necessary, not sufficient.

    with checks.quiet():
        loss, dW = svm_loss_naive(W, X, y, 0.0)
    checks.check_expected(svm_loss_naive, "svm", part="loss")
"""
from __future__ import annotations

import contextlib
import json
import sys
import sysconfig
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np

EXPECTED_FILE = Path(__file__).resolve().parent / "expected_values.json"
LOSSES = ("svm", "softmax")
VECTOR_SIZES = (40, 160)


@contextlib.contextmanager
def quiet():
    """Silence Python and numpy warnings inside a test cell.

    nbgrader scores a test cell 0 when anything reaches stderr, so the visible tests run
    your code inside ``with checks.quiet():``; a harmless overflow warning costs nothing.
    """
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def example_inputs(case: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The small, fixed inputs of stored case number ``case`` (0, 1 or 2).

    Returns (W, X, y, reg): W float64 of shape (5, 4), X float64 of shape (7, 5), y int64 of
    shape (7,) with labels in 0..3, and reg, a float (0.0 for case 0, larger after).
    The same case always gives the same arrays (they come from a fixed seed).
    """
    if case not in (0, 1, 2):
        raise ValueError(f"case must be 0, 1 or 2; got {case!r}")
    rng = np.random.default_rng(1000 + case)
    W = rng.standard_normal((5, 4))
    X = rng.standard_normal((7, 5))
    y = rng.integers(0, 4, 7).astype(np.int64)
    reg = (0.0, 0.5, 3.0)[case]
    return W, X, y, reg


@lru_cache(maxsize=1)
def _expected() -> dict:
    return json.loads(EXPECTED_FILE.read_text())


def expected(loss: str, case: int) -> tuple[float, np.ndarray]:
    """The stored (loss, dW) of the ``loss`` ("svm" or "softmax") on example_inputs(case)."""
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}; got {loss!r}")
    item = _expected()[loss][str(case)]
    return float(item["loss"]), np.array(item["dW"], dtype=np.float64)


def check_expected(fn, loss: str, part: str | None = None, rtol: float = 1e-8) -> None:
    """Compare fn's loss and/or gradient with the stored numbers on every stored case.

    fn: your loss function (W, X, y, reg) -> (loss, dW); loss: "svm" or "softmax";
    part: "loss", "grad" or None (both). Raises AssertionError saying which case and what
    differs (the expected number is shown for the loss, never a formula).
    """
    if part not in (None, "loss", "grad"):
        raise ValueError(f"part must be 'loss', 'grad' or None; got {part!r}")
    for case in (0, 1, 2):
        W, X, y, reg = example_inputs(case)
        want_loss, want_dW = expected(loss, case)
        with quiet():
            got = fn(W.copy(), X.copy(), y.copy(), reg)
        assert isinstance(got, tuple) and len(got) == 2, "return a pair (loss, dW)"
        got_loss, got_dW = got
        where = f"on checks.example_inputs({case}) (reg = {reg:g})"
        if part in (None, "loss"):
            assert np.ndim(got_loss) == 0, "the loss must be a single number"
            err = abs(float(got_loss) - want_loss) / max(abs(want_loss), 1.0)
            assert err < rtol, f"the loss {where} is {float(got_loss):.10g}; expected {want_loss:.10g}"
        if part in (None, "grad"):
            assert np.shape(got_dW) == W.shape, f"dW must have the shape of W, {W.shape}; got {np.shape(got_dW)}"
            diff = np.max(np.abs(np.asarray(got_dW, dtype=np.float64) - want_dW))
            err = float(diff / max(np.max(np.abs(want_dW)), 1e-8))
            assert err < rtol, (f"dW {where} differs from the stored gradient (largest difference {err:.1e} of "
                                "its largest entry); check it with gradcheck first")


def check_agree(naive, vectorized, seed: int = 0) -> str:
    """Check that your vectorized loss gives the same loss and dW as your naive one.

    naive, vectorized: your two functions (W, X, y, reg) -> (loss, dW); seed: int.
    Runs both on random inputs (N = 50 examples, D = 20, C = 10, reg = 0.1). Returns a
    short report; raises AssertionError when they differ.
    """
    rng = np.random.default_rng(seed)
    W = 0.01 * rng.standard_normal((20, 10))
    X = rng.standard_normal((50, 20))
    y = rng.integers(0, 10, 50)
    with quiet():
        loss_n, dW_n = naive(W.copy(), X.copy(), y.copy(), 0.1)
        loss_v, dW_v = vectorized(W.copy(), X.copy(), y.copy(), 0.1)
    loss_diff = abs(float(loss_n) - float(loss_v))
    grad_diff = float(np.linalg.norm(np.asarray(dW_n) - np.asarray(dW_v)))
    assert loss_diff < 1e-9 * max(1.0, abs(float(loss_n))), f"the two losses differ by {loss_diff:.2e}"
    assert grad_diff < 1e-7 * max(1.0, float(np.linalg.norm(dW_n))), f"the two gradients differ by {grad_diff:.2e}"
    return f"naive and vectorized agree: loss difference {loss_diff:.1e}, gradient difference {grad_diff:.1e}"


# --------------------------------------------------------------------- vectorization

def _library_prefixes() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    folders = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    folders.add(str(Path(__file__).resolve().parent))
    return tuple(str(Path(p).resolve()).rstrip("/") + "/" for p in folders)


def _count_lines(fn, args) -> int:
    """Python line events that run in your own code (not numpy, not the standard library).

    The grader counts the same way with its own tracer (autograder/harness/calls.py): the kit
    cannot import the grader, and the grader must not trust code a student's notebook imports.
    """
    prefixes = _library_prefixes()
    count = [0]

    def local(frame, event, arg):
        if event == "line":
            count[0] += 1
        return local

    def tracer(frame, event, arg):
        name = frame.f_code.co_filename
        if name.startswith("<frozen") or str(Path(name).resolve()).startswith(prefixes):
            return None
        count[0] += 1
        return local

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        with quiet():
            fn(*args)
    finally:
        sys.settrace(previous)
    return count[0]


def vectorization_report(loss_fn) -> tuple[bool, str]:
    """Does loss_fn run the same Python lines whatever the number of examples N is?

    loss_fn: (W, X, y, reg) -> (loss, dW). Counts the lines that run for N = 40 and
    N = 160 examples (it is traced, not timed). A loop over the examples, or a call to a
    naive version, makes the count grow with N. Returns (ok, message).
    """
    rng = np.random.default_rng(7)
    W = 0.01 * rng.standard_normal((30, 10))
    (n1, n2) = VECTOR_SIZES
    counts = []
    for n in VECTOR_SIZES:
        X = rng.standard_normal((n, 30))
        y = rng.integers(0, 10, n)
        counts.append(_count_lines(loss_fn, (W.copy(), X, y, 0.1)))
    e1, e2 = counts
    name = getattr(loss_fn, "__name__", "your function")
    if e2 - e1 >= (n2 - n1) // 2:
        return False, (f"{name} still runs Python code once per example: {e1} lines ran for N={n1} "
                       f"and {e2} for N={n2}.")
    return True, f"{name} is vectorized: {e1} lines ran for N={n1} and {e2} for N={n2}."
