"""The visible checks: what the test cells in your notebook run.

Nothing here knows a right answer as code. The checks compare your functions with

- **stored numbers**: the loss and gradient at reg = 0 on a few small inputs made from
  fixed seeds (:func:`example_inputs`, and :func:`shifted_inputs` with every score shifted
  by 1000), and how they change with reg, kept in ``expected_values.json`` next to this file;
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


def shifted_inputs(case: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """example_inputs(case) with EVERY score shifted up by the same 1000.

    Returns (W, X, y, reg): W of shape (6, 4) (a last row of ones added), X of shape (7, 6)
    (a last column of 1000 added), y and reg as in example_inputs(case). Every score
    X @ W grows by exactly 1000, so the softmax loss must not change; exponentiating the raw
    scores overflows. Subtracting any maximum first (each example's, or the whole matrix's)
    keeps it finite.
    """
    W, X, y, reg = example_inputs(case)
    W = np.vstack([W, np.ones((1, W.shape[1]))])
    X = np.hstack([X, np.full((X.shape[0], 1), 1000.0)])
    return W, X, y, reg


@lru_cache(maxsize=1)
def _expected() -> dict:
    return json.loads(EXPECTED_FILE.read_text())


def expected(loss: str, case: int, shifted: bool = False) -> tuple[float, np.ndarray]:
    """The stored (loss, dW) at reg = 0 of the ``loss`` ("svm" or "softmax") on example_inputs(case).

    shifted: True for the stored numbers on shifted_inputs(case) (softmax only).
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}; got {loss!r}")
    if shifted:
        if loss != "softmax":
            raise ValueError("shifted=True exists for the softmax loss only")
        item = _expected()["stability"][loss][str(case)]
    else:
        item = _expected()[loss][str(case)]
    return float(item["loss"]), np.array(item["dW"], dtype=np.float64)


def expected_reg(loss: str, case: int) -> tuple[float, np.ndarray]:
    """The stored regularization of case ``case``: (loss(reg) - loss(0), dW(reg) - dW(0)) at its reg."""
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}; got {loss!r}")
    item = _expected()[loss][str(case)]
    return float(item["reg_loss"]), np.array(item["reg_dW"], dtype=np.float64)


def _call(fn, W, X, y, reg):
    with quiet():
        got = fn(W.copy(), X.copy(), y.copy(), reg)
    assert isinstance(got, tuple) and len(got) == 2, "return a pair (loss, dW)"
    loss, dW = got
    assert np.ndim(loss) == 0, "the loss must be a single number"
    assert np.shape(dW) == W.shape, f"dW must have the shape of W, {W.shape}; got {np.shape(dW)}"
    return float(loss), np.asarray(dW, dtype=np.float64)


def _grad_error(got, want) -> float:
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-8))


def _check_data(fn, loss, part, rtol, case, shifted):
    W, X, y, _ = shifted_inputs(case) if shifted else example_inputs(case)
    want_loss, want_dW = expected(loss, case, shifted)
    got_loss, got_dW = _call(fn, W, X, y, 0.0)
    where = (f"on checks.shifted_inputs({case}) (every score shifted by 1000), reg = 0" if shifted
             else f"on checks.example_inputs({case}) called with reg = 0")
    hint = (" Subtract the largest score before np.exp (each example's, or the whole matrix's)."
            if shifted else "")
    if part in (None, "loss"):
        err = abs(got_loss - want_loss) / max(abs(want_loss), 1.0)
        assert err < rtol, f"the loss {where} is {got_loss:.10g}; expected {want_loss:.10g}.{hint}"
    if part in (None, "grad"):
        assert np.all(np.isfinite(got_dW)), f"dW {where} contains NaN or inf.{hint}"
        err = _grad_error(got_dW, want_dW)
        assert err < rtol, (f"dW {where} differs from the stored gradient (largest difference {err:.1e} of "
                            "its largest entry); check it with gradcheck at reg = 0 first")


def _check_reg_part(fn, loss, rtol, case):
    W, X, y, reg = example_inputs(case)
    want_loss, want_dW = expected_reg(loss, case)
    loss0, dW0 = _call(fn, W, X, y, 0.0)
    loss_r, dW_r = _call(fn, W, X, y, reg)
    got_loss, got_dW = loss_r - loss0, dW_r - dW0
    where = f"on checks.example_inputs({case}), from reg = 0 to reg = {reg:g}"
    if abs(got_loss - want_loss) > rtol * max(abs(want_loss), abs(loss0), 1e-12):
        ratio = got_loss / want_loss if want_loss else float("nan")
        hint = (" That is half of reg * np.sum(W * W): this notebook does not use the 0.5 convention."
                if abs(ratio - 0.5) < 1e-6 else "")
        raise AssertionError(f"the loss grows by {got_loss:.10g} {where}; it should grow by "
                             f"reg * np.sum(W * W) = {want_loss:.10g}, over every row of W.{hint}")
    err = float(np.max(np.abs(got_dW - want_dW)) / max(np.max(np.abs(want_dW)), np.max(np.abs(dW0)), 1e-12))
    if err > rtol:
        hint = ""
        if np.allclose(got_dW, 0.5 * want_dW, rtol=1e-6, atol=1e-12):
            hint = " It changed by reg * W: the factor 2 is missing."
        elif np.allclose(got_dW[:-1], want_dW[:-1], rtol=1e-6, atol=1e-12):
            hint = " Only the last row (the bias row) differs: regularize every row of W."
        raise AssertionError(f"dW changes {where} by something other than 2 * reg * W, the gradient of "
                             f"reg * np.sum(W * W).{hint}")


def check_expected(fn, loss: str, part: str | None = None, rtol: float = 1e-8) -> None:
    """Compare your loss function with the stored numbers, part by part.

    fn: your loss function (W, X, y, reg) -> (loss, dW); loss: "svm" or "softmax";
    part: "loss" or "grad" (called with reg = 0 on example_inputs(0), (1), (2), and for
    softmax on shifted_inputs(0), (1), (2) too), "reg" (how the loss and dW change from
    reg = 0 to the case's reg on example_inputs(1) and (2)) or None (all three).
    Raises AssertionError saying which case and what differs (the expected number is shown
    for the loss, never a formula of the answer).
    """
    if part not in (None, "loss", "grad", "reg"):
        raise ValueError(f"part must be 'loss', 'grad', 'reg' or None; got {part!r}")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}; got {loss!r}")
    if part != "reg":
        for case in (0, 1, 2):
            _check_data(fn, loss, part, rtol, case, shifted=False)
        if loss == "softmax":
            for case in (0, 1, 2):
                _check_data(fn, loss, part, rtol, case, shifted=True)
    if part in (None, "reg"):
        for case in (1, 2):
            _check_reg_part(fn, loss, rtol, case)


def check_agree(naive, vectorized, seed: int = 0, loss: str | None = None) -> str:
    """Check that your vectorized loss gives the same loss and dW as your naive one, or is right.

    naive, vectorized: your two functions (W, X, y, reg) -> (loss, dW); seed: int; loss:
    "svm" or "softmax", or None to read it from the start of ``vectorized.__name__``.
    Runs both on random inputs (N = 50 examples, D = 20, C = 10, reg = 0.1) and returns a
    short report. When they differ, the vectorized version is compared with the stored
    numbers at reg = 0 (as ``check_expected(vectorized, loss, part="loss")`` and
    ``part="grad"``): when it matches them, the report says where the mistake is (the naive
    version, or the vectorized version's regularization); otherwise raises AssertionError.
    When the naive version raises (it is not written yet) there is nothing to agree with:
    the report says so.
    """
    rng = np.random.default_rng(seed)
    W = 0.01 * rng.standard_normal((20, 10))
    X = rng.standard_normal((50, 20))
    y = rng.integers(0, 10, 50)
    try:
        with quiet():
            loss_n, dW_n = naive(W.copy(), X.copy(), y.copy(), 0.1)
    except Exception as err:  # the naive version is not written (or fails): nothing to agree with
        return (f"your naive version raised {type(err).__name__}, so agreement was not checked "
                "(the speed part then looks at vectorization only)")
    with quiet():
        loss_v, dW_v = vectorized(W.copy(), X.copy(), y.copy(), 0.1)
    loss_diff = abs(float(loss_n) - float(loss_v))
    grad_diff = float(np.linalg.norm(np.asarray(dW_n) - np.asarray(dW_v)))
    problems = []
    if not loss_diff < 1e-9 * max(1.0, abs(float(loss_n))):
        problems.append(f"the two losses differ by {loss_diff:.2e}")
    if not grad_diff < 1e-7 * max(1.0, float(np.linalg.norm(dW_n))):
        problems.append(f"the two gradients differ by {grad_diff:.2e}")
    if not problems:
        return f"naive and vectorized agree: loss difference {loss_diff:.1e}, gradient difference {grad_diff:.1e}"
    differ = " and ".join(problems)
    family = loss if loss is not None else next(
        (f for f in LOSSES if str(getattr(vectorized, "__name__", "")).startswith(f)), None)
    if family is None:
        raise AssertionError(f"{differ} (pass loss='svm' or loss='softmax' to also compare the vectorized "
                             "version with the stored numbers)")
    try:
        check_expected(vectorized, family, part="loss")
        check_expected(vectorized, family, part="grad")
    except AssertionError as err:
        raise AssertionError(f"{differ}, and the vectorized version is wrong too: {err}") from None
    try:
        check_expected(vectorized, family, part="reg")
    except AssertionError:
        return (f"{differ}; the vectorized version's loss and dW at reg = 0 match the stored numbers, but its "
                "regularization does not: its _reg test says what to change, then compare the two again")
    return (f"{differ}, but the vectorized version matches the stored numbers: the mistake is in your naive "
            "version; fix that one")


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


def line_counts(loss_fn) -> tuple[int, int]:
    """The Python lines of your own code that loss_fn runs for N = 40 and for N = 160 examples.

    loss_fn: (W, X, y, reg) -> (loss, dW). Traced, not timed, on fixed random inputs
    (D = 30, C = 10, reg = 0.1).
    """
    rng = np.random.default_rng(7)
    W = 0.01 * rng.standard_normal((30, 10))
    counts = []
    for n in VECTOR_SIZES:
        X = rng.standard_normal((n, 30))
        y = rng.integers(0, 10, n)
        counts.append(_count_lines(loss_fn, (W.copy(), X, y, 0.1)))
    return counts[0], counts[1]


def vectorization_report(loss_fn, counts: tuple[int, int] | None = None) -> tuple[bool, str]:
    """Does loss_fn run the same Python lines whatever the number of examples N is?

    loss_fn: (W, X, y, reg) -> (loss, dW); counts: its line_counts, when already measured.
    Counts the lines that run for N = 40 and N = 160 examples (it is traced, not timed). A
    loop over the examples, or a call to a naive version, makes the count grow with N.
    Returns (ok, message).
    """
    (n1, n2) = VECTOR_SIZES
    e1, e2 = counts if counts is not None else line_counts(loss_fn)
    name = getattr(loss_fn, "__name__", "your function")
    if e2 - e1 >= (n2 - n1) // 2:
        return False, (f"{name} still runs Python code once per example: {e1} lines ran for N={n1} "
                       f"and {e2} for N={n2}.")
    return True, f"{name} is vectorized: {e1} lines ran for N={n1} and {e2} for N={n2}."
