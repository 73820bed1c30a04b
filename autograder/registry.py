"""The registry of graded functions: everything the grader knows about each, in one place.

For every function a student writes and the grader scores, one :class:`GradedFunction`
states its signature, the cases it is called on, how its output is compared, its catalogue
of named mistakes and what the check looks at in plain words. Grading, the bug catalogue,
feedback, the self-check and the sample generator all read this table; adding a graded
function means adding an entry here (and its reference in ``linclass/reference``, its cells
in the solution notebook), nothing else.

A test cell's nbgrader ``grade_id`` is ``<function>_<part>``; :func:`function_of` splits it
and :func:`part_check` says which part's verdict a test cell scores ("loss", "grad", "reg",
"speed" or "all"; see ``autograder.scoring``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from autograder import answer_key, bugs, cases
from autograder.harness.calls import probe_loss

CHECKS = ("loss", "grad", "reg", "speed", "all")

_LOSS_WHERE = "at reg = 0, on random inputs of several shapes (N = 1 included) and with tied scores"


@dataclass(frozen=True)
class GradedFunction:
    """One function that students write and the grader scores."""

    name: str
    """Its name in the notebook, e.g. ``svm_loss_vectorized``."""
    args: tuple[str, ...]
    """Its argument names, in call order."""
    kind: str
    """"loss", "sample_batch", "sgd_step" or "predict": how it is called and compared."""
    make_cases: Callable[[str, np.random.Generator], list[dict]]
    """(name, rng) -> the cases it is called on (see ``autograder.cases``)."""
    compare: Callable
    """(name, case, student output, expected output, part) -> (ok, message)."""
    catalogue: Callable[[], list] | None
    """() -> [(bugs tuple, buggy function)]: the named mistakes, or None."""
    description: str
    """What the checks look at, in plain words, without the hidden code."""
    speed_graded: bool = False
    """True when a part scores vectorization (no Python loop over the examples)."""
    naive: str | None = None
    """The naive version a vectorized function must not call."""

    @property
    def is_loss(self) -> bool:
        return self.kind == "loss"


def _loss(name: str, speed: bool) -> GradedFunction:
    where = _LOSS_WHERE + (", and with every score shifted up by 1000" if name.startswith("softmax") else "")
    return GradedFunction(
        name=name, args=("W", "X", "y", "reg"), kind="loss", make_cases=cases.loss_cases,
        compare=cases.compare_loss, catalogue=lambda: [(b, fn) for b, fn in bugs.loss_variants(name) if b],
        description=where, speed_graded=speed,
        naive=name.replace("_vectorized", "_naive") if speed else None)


def _with_probe_loss(fn):
    def call(loss_fn, W, X, y, lr, reg):
        return fn(probe_loss, W, X, y, lr, reg)
    return call


_ENTRIES = (
    _loss("svm_loss_naive", False),
    _loss("svm_loss_vectorized", True),
    _loss("softmax_loss_naive", False),
    _loss("softmax_loss_vectorized", True),
    GradedFunction(
        name="sample_batch", args=("X", "y", "batch_size", "rng"), kind="sample_batch",
        make_cases=cases.sample_batch_cases, compare=lambda n, c, s, e, p=None: cases.compare_sample_batch(n, c, s),
        catalogue=None,
        description=("the batch's shapes, that its rows come from X with their own labels, that it "
                     "uses the rng argument and draws with replacement")),
    GradedFunction(
        name="sgd_step", args=("loss_fn", "W", "X_batch", "y_batch", "learning_rate", "reg"), kind="sgd_step",
        make_cases=cases.sgd_step_cases, compare=lambda n, c, s, e, p=None: cases.compare_sgd_step(n, c, s, e),
        catalogue=lambda: [(b, _with_probe_loss(fn)) for b, fn in bugs.sgd_variants()],
        description="one gradient-descent step W - learning_rate * dW and the loss before the step"),
    GradedFunction(
        name="predict", args=("W", "X"), kind="predict",
        make_cases=cases.predict_cases, compare=lambda n, c, s, e, p=None: cases.compare_predict(n, c, s, e),
        catalogue=lambda: list(bugs.predict_variants()),
        description="the predicted labels (argmax of the scores) on several inputs"),
)

REGISTRY: dict[str, GradedFunction] = {f.name: f for f in _ENTRIES}
GRADED_FUNCTIONS = tuple(REGISTRY)
LOSS_FUNCTIONS = tuple(n for n, f in REGISTRY.items() if f.is_loss)
OTHER_FUNCTIONS = tuple(n for n, f in REGISTRY.items() if not f.is_loss)


def get(function_name: str) -> GradedFunction:
    """The registry entry of a graded function; ValueError naming the known ones otherwise."""
    try:
        return REGISTRY[function_name]
    except (KeyError, TypeError):
        raise ValueError(f"function_name must be one of {', '.join(GRADED_FUNCTIONS)}; "
                         f"got {function_name!r}") from None


def _rng(function_name: str, seed: int, *salt: int) -> np.random.Generator:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int; got {seed!r}")
    # A naive loss and its vectorized version get the same cases, so that the speed part can
    # compare the student's two versions case by case.
    if function_name in LOSS_FUNCTIONS:
        function_name = function_name.replace("_vectorized", "_naive")
    return np.random.default_rng([int(seed), *salt, GRADED_FUNCTIONS.index(function_name)])


def make_cases(function_name: str, seed: int) -> list[dict]:
    """Fresh random cases for one graded function; the same seed gives the same cases.

    Returns a list of dicts ``{"function", "label", "inputs"}``; ``inputs`` maps argument
    names (in call order) to float64 arrays of shape W (D, C), X (N, D), int64 y (N,) and
    plain numbers. Loss cases also have a "role" (and "base" for reg pairs; see
    ``cases.loss_cases``); a naive loss and its vectorized version get the same cases.
    ``sgd_step`` cases name their loss ("probe", see ``probe_loss``) and ``sample_batch``
    cases give an ``rng_seed`` instead of a Generator.
    """
    entry = get(function_name)
    return entry.make_cases(function_name, _rng(function_name, seed))


def trace_cases(function_name: str, seed: int) -> list[dict]:
    """Two fresh cases at N = cases.VECTOR_SIZES for the vectorization trace (outputs checked too)."""
    entry = get(function_name)
    rng = _rng(function_name, seed, 99)
    D, C = 30, 10
    W = 0.01 * rng.standard_normal((D, C))
    out = []
    for N in cases.VECTOR_SIZES:
        X = rng.standard_normal((N, D))
        y = rng.integers(0, C, N).astype(np.int64)
        label = f"vectorization check, X ({N}, {D})"
        if entry.kind == "loss":
            inputs = {"W": W.copy(), "X": X, "y": y, "reg": 0.0}
        elif entry.kind == "sample_batch":
            X[:, 0] = np.arange(N)
            inputs = {"X": X, "y": y, "batch_size": N // 2, "rng_seed": int(rng.integers(2**31))}
        elif entry.kind == "sgd_step":
            inputs = {"loss_fn": "probe", "W": W.copy(), "X_batch": X, "y_batch": y,
                      "learning_rate": 1e-3, "reg": 0.1}
        else:
            inputs = {"W": W.copy(), "X": X}
        out.append({"function": function_name, "label": label, "inputs": inputs, "role": "data"})
    return out


def reference_output(case: dict):
    """The expected output for one case, computed with the answer key (grader only).

    ``sample_batch`` is random, so it has no single expected output; this returns None and
    the comparison checks the batch's properties instead.
    """
    entry = get(case["function"])
    inp = case["inputs"]
    if entry.kind == "loss":
        return answer_key.reference(entry.name)(inp["W"].copy(), inp["X"].copy(), inp["y"].copy(), inp["reg"])
    if entry.kind == "sgd_step":
        loss, dW = probe_loss(inp["W"], inp["X_batch"], inp["y_batch"], inp["reg"])
        return inp["W"] - inp["learning_rate"] * dW, loss
    if entry.kind == "predict":
        return np.argmax(inp["X"] @ inp["W"], axis=1)
    return None


def compare_outputs(function_name: str, case: dict, student_output, expected, part=None):
    """Compare a student's output on one case with the expected output. Pure: runs no student code.

    part: for the losses, "loss", "grad" or None (both); ignored otherwise.
    Returns (ok: bool, message: str); the message names the check and the case.
    """
    entry = get(function_name)
    if part not in (None, "loss", "grad"):
        raise ValueError(f"part must be 'loss', 'grad' or None; got {part!r}")
    with np.errstate(all="ignore"):
        try:
            return entry.compare(function_name, case, student_output, expected, part)
        except (TypeError, ValueError, IndexError, KeyError, OverflowError, AttributeError) as err:
            # Outputs of an unexpected kind must give a verdict, not crash the grader.
            return False, (f"{function_name}: the output on the case '{case.get('label')}' could not be "
                           f"checked ({type(err).__name__}: {str(err)[:200]}).")


def function_of(grade_id: str) -> tuple[str | None, str]:
    """Split a test cell's grade_id "<function>_<part>" into (function, part)."""
    best = None
    for name in GRADED_FUNCTIONS:
        if (grade_id == name or grade_id.startswith(name + "_")) and (best is None or len(name) > len(best)):
            best = name
    if best is None:
        return None, grade_id
    return best, grade_id[len(best) + 1:]


def part_check(part: str) -> str:
    """Which part's verdict a test cell scores: "loss", "grad", "reg", "speed" or "all"."""
    p = part.lower()
    if p in ("loss", "value", "sanity"):
        return "loss"
    if p.startswith("grad"):
        return "grad"
    if p.startswith("reg"):
        return "reg"
    if any(w in p for w in ("vector", "speed", "loop", "fast")):
        return "speed"
    return "all"


def describe_check(function_name: str, check: str) -> str:
    """What a check looks at, in plain words, without revealing the hidden test's code."""
    entry = get(function_name)
    if check == "loss":
        return f"the loss returned by {function_name}, compared with the reference {entry.description}"
    if check == "grad":
        return f"the gradient dW returned by {function_name}, compared with the reference {entry.description}"
    if check == "reg":
        return (f"the regularization of {function_name}: how its loss and dW change from reg = 0 to reg > 0 "
                "on the same inputs (expected reg * np.sum(W * W) and 2 * reg * W), at reg = 0.1, 3 and 2.5e4")
    if check == "speed":
        naive = entry.naive or "the naive version"
        return (f"{function_name} runs no Python loop over the examples (the lines it runs do not grow "
                f"with N) and gives the same loss and dW as your own {naive}")
    if entry.is_loss:
        return f"the outputs of {function_name}, compared with the reference {entry.description}"
    return entry.description
