"""Check your notebook before you submit it: which points each graded part should get.

    python -m linclass.selfcheck svm.ipynb            # run it, then check every graded part
    python -m linclass.selfcheck svm.ipynb --no-run   # read the cells only (a second)
    python -m linclass.selfcheck svm.ipynb --fast     # run with LINCLASS_FAST=1 (few iterations)

What it does, in order:

1. It reads the notebook: which written answers still say ``YOUR ANSWER HERE`` (or are
   empty), and which graded functions are still the TODO stub (``raise NotImplementedError``).
2. It runs the notebook from the top in a fresh kernel, on your CIFAR-10 (``LINCLASS_DATA_DIR``
   or the cache folder) or, when none is found, on a small synthetic stand-in it writes to a
   temporary folder. The first cell that fails is reported with its error.
3. It calls each graded function on the visible inputs (``checks.example_inputs``) and scores
   each part the way the grader does, with the stored numbers in ``expected_values.json``:

   - ``_loss``: the loss at reg = 0 (for softmax also with every score shifted by 1000);
   - ``_grad``: dW at reg = 0;
   - ``_reg``: loss(reg) - loss(0) = reg * sum(W * W) and dW(reg) - dW(0) = 2 * reg * W;
   - ``_speed``: no Python loop over the examples (lines counted, not timed), and the same
     loss and dW as your own naive version, or a right loss and dW at reg = 0 (then the
     mistake is in your naive version, which loses its own points only);
   - other graded functions: their visible test cell.

   When your outputs match a stored outcome of a known mistake, it names that mistake, in
   the grader's words; otherwise it says what differs.
4. It prints per part the points it expects and exits 1 when anything is wrong: a part that
   loses points, a stub, an empty written answer, a cell that fails.

The grader checks the same parts on other (hidden) inputs, so the points printed here are
what your notebook gets when it is right on those as well. Nothing here knows a right answer
as code: the checks compare with stored numbers, facts and your own naive version.
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import io
import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from linclass import checks

# The grader's tolerances (relative): a correct answer agrees with the stored numbers to ~1e-12.
LOSS_RTOL = 1e-6
GRAD_RTOL = 1e-6
# Line events above which a "vectorized" loss fails whatever N is (a padded loop), as in the grader.
MAX_VECTORIZED_LINES = 400
STUB_TEXT = "YOUR ANSWER HERE"
PROBE_MARKER = "LINCLASS-SELFCHECK-PROBE "


# ------------------------------------------------------------------------- results

@dataclass
class PartResult:
    """One graded cell: the points the self-check expects, and why.

    grade_id: str, the cell's nbgrader id; max_points: float; points: float or None (None for
    a written answer, which a person grades); message: str; mistakes: list of str, the
    known mistakes that explain it, in the grader's words.
    """
    grade_id: str
    max_points: float
    points: float | None
    message: str
    mistakes: list = field(default_factory=list)

    @property
    def lost(self) -> bool:
        return self.points is not None and self.points < self.max_points

    def to_dict(self) -> dict:
        return {"grade_id": self.grade_id, "max_points": self.max_points, "points": self.points,
                "message": self.message, "mistakes": list(self.mistakes)}


@dataclass
class Report:
    """What the self-check found. ``ok`` is True only when nothing is wrong."""
    parts: list = field(default_factory=list)      # PartResult, in notebook order
    problems: list = field(default_factory=list)   # str, each one makes the check fail
    notes: list = field(default_factory=list)      # str, for reading
    ran: bool = True                               # False: the cells were read, not run

    @property
    def ok(self) -> bool:
        return not self.problems and not any(p.lost for p in self.parts)

    def points(self) -> dict:
        """grade_id -> expected points of every autograded part."""
        return {p.grade_id: p.points for p in self.parts if p.points is not None}

    def text(self) -> str:
        lines = []
        width = max([len(p.grade_id) for p in self.parts] + [10])
        for p in self.parts:
            got = "  ?" if p.points is None else f"{p.points:3g}"
            lines.append(f"  {p.grade_id:<{width}}  {got} / {p.max_points:g}   {p.message}")
            for words in p.mistakes:
                lines.append(f"  {'':<{width}}             mistake: {words}")
        auto = [p for p in self.parts if p.points is not None]
        if auto:
            got, total = sum(p.points for p in auto), sum(p.max_points for p in auto)
            manual = sum(p.max_points for p in self.parts if p.points is None)
            lines.append(f"  expected: {got:g} of {total:g} autograded points"
                         + (f" (written answers, {manual:g} points, are graded by a person)" if manual else ""))
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  PROBLEM: {p}" for p in self.problems]
        lost = [p.grade_id for p in self.parts if p.lost]
        if lost:
            lines.append(f"  PROBLEM: {len(lost)} part(s) lose points: {', '.join(lost)}")
        count = len(self.problems) + (1 if lost else 0)
        if not self.ok:
            lines.append(f"selfcheck FAILED: {count} problem(s)")
        else:
            lines.append("selfcheck passed" if self.ran else
                         "selfcheck passed for the cells only: run it without --no-run to check the graded parts")
        return "\n".join(lines)


# ------------------------------------------------------------------- reading cells

def _nbgrader(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def graded_cells(nb) -> list[dict]:
    """The graded cells of a notebook, in order.

    Returns dicts {"grade_id", "kind", "points", "source", "index"} where kind is "test"
    (an autograded test cell), "manual" (a written answer graded by a person) or "answer"
    (a code cell you write in, not graded by itself).
    """
    out = []
    for i, cell in enumerate(nb.get("cells", [])):
        meta = _nbgrader(cell)
        gid = meta.get("grade_id")
        if not isinstance(gid, str):
            continue
        if meta.get("grade") and meta.get("solution"):
            kind = "manual"
        elif meta.get("grade"):
            kind = "test"
        elif meta.get("solution"):
            kind = "answer"
        else:
            continue
        try:
            points = float(meta.get("points", 0) or 0)
        except (TypeError, ValueError):
            points = 0.0
        out.append({"grade_id": gid, "kind": kind, "points": points, "source": _source(cell),
                    "index": i, "cell_type": cell.get("cell_type")})
    return out


def split_grade_id(grade_id: str) -> tuple[str, str]:
    """'svm_loss_naive_grad' -> ('svm_loss_naive', 'grad'); 'predict_check' -> ('predict', 'check')."""
    function, _, part = grade_id.rpartition("_")
    return (function, part) if function else (grade_id, "")


def loss_part(part: str) -> str | None:
    """Which part of a loss a test cell's part name scores: "loss", "grad", "reg", "speed", or None.

    The names the grader reads the same way: "value" and "sanity" score the loss, "grad..."
    the gradient, "reg..." the regularization, a name with "vector", "speed", "loop" or
    "fast" the speed; any other part checks everything (None).
    """
    p = part.lower()
    if p in ("loss", "value", "sanity"):
        return "loss"
    if p.startswith("grad"):
        return "grad"
    if p.startswith("reg"):
        return "reg"
    if any(w in p for w in ("vector", "speed", "loop", "fast")):
        return "speed"
    return None


def is_loss(function: str) -> bool:
    return function.startswith(("svm_loss_", "softmax_loss_"))


def empty_answers(nb) -> list[str]:
    """grade_ids of written answers that are still empty or still say YOUR ANSWER HERE."""
    return [c["grade_id"] for c in graded_cells(nb)
            if c["kind"] == "manual" and (not c["source"].strip() or STUB_TEXT in c["source"])]


def _python(text: str) -> str:
    # IPython magics and shell lines are not Python; blank them so the rest still parses.
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in text.splitlines())


def _raises_not_implemented(body) -> bool:
    for node in body:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Raise) and sub.exc is not None:
                exc = sub.exc.func if isinstance(sub.exc, ast.Call) else sub.exc
                if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                    return True
    return False


def stubs(nb, functions) -> dict:
    """Which of the graded functions are still the TODO stub, read from the answer cells.

    functions: the graded function names. Returns {name or grade_id: reason}. The last
    definition of a name counts (a later cell redefines it); an answer cell whose own code
    (not a function) still raises NotImplementedError is reported by its grade_id.
    """
    last: dict[str, tuple[str, bool]] = {}
    found = {}
    for c in graded_cells(nb):
        if c["kind"] != "answer" or c["cell_type"] != "code":
            continue
        try:
            tree = ast.parse(_python(c["source"]))
        except SyntaxError as err:
            found[c["grade_id"]] = (f"the answer cell {c['grade_id']!r} is not valid Python "
                                    f"(line {err.lineno}: {err.msg})")
            continue
        top = [n for n in tree.body if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        if _raises_not_implemented(top):
            found[c["grade_id"]] = f"the answer cell {c['grade_id']!r} still raises NotImplementedError: write it"
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name in functions:
                last[node.name] = (c["grade_id"], _raises_not_implemented(node.body))
    for name in functions:
        if name not in last:
            found[name] = f"{name} is not defined in any answer cell"
        elif last[name][1]:
            found[name] = (f"{name} is still the TODO stub (it raises NotImplementedError): write it in "
                           f"the cell {last[name][0]!r}")
    return found


# ------------------------------------------------------------- the visible inputs

def visible_cases(loss: str) -> list[dict]:
    """The visible inputs of a loss ("svm" or "softmax") with their stored numbers.

    Returns dicts {"label", "W", "X", "y", "reg", "loss0", "dW0", "reg_loss", "reg_dW"}: W (D, C),
    X (N, D) float64, y (N,) int64, reg the case's regularization strength, the stored loss and
    dW at reg = 0, and the stored loss(reg) - loss(0) and dW(reg) - dW(0). First the three
    checks.example_inputs(k); for softmax then the three checks.shifted_inputs(k) (every
    score shifted by 1000; reg 0 only, "shifted": True).
    """
    out = []
    for k in (0, 1, 2):
        W, X, y, reg = checks.example_inputs(k)
        loss0, dW0 = checks.expected(loss, k)
        item = checks._expected()[loss][str(k)]
        out.append({"label": f"checks.example_inputs({k})", "W": W, "X": X, "y": y, "reg": reg,
                    "loss0": loss0, "dW0": dW0, "reg_loss": float(item["reg_loss"]),
                    "reg_dW": np.array(item["reg_dW"], dtype=np.float64), "shifted": False})
    if loss == "softmax":
        for k in (0, 1, 2):
            W, X, y, _ = checks.shifted_inputs(k)
            loss0, dW0 = checks.expected(loss, k, shifted=True)
            out.append({"label": f"checks.shifted_inputs({k}) (every score shifted by 1000)", "W": W, "X": X,
                        "y": y, "reg": 0.0, "loss0": loss0, "dW0": dW0, "shifted": True})
    return out


def step_loss(W, X, y, reg):
    """The loss the self-check steps sgd_step with: 0.5 * sum((W - 1)^2) + reg * sum(W * W).

    W: array of shape (D, C); X, y: ignored; reg: float. Returns (loss float, dW of W's shape).
    """
    return 0.5 * float(np.sum((W - 1.0) ** 2)) + reg * float(np.sum(W * W)), (W - 1.0) + 2.0 * reg * W


def other_inputs(function: str) -> tuple:
    """The fixed arguments the self-check calls predict or sgd_step with (to name a known mistake)."""
    W, X, y, _ = checks.example_inputs(1)
    if function == "predict":
        return W, X
    if function == "sgd_step":
        return step_loss, W, X, y, 0.1, 0.5
    raise ValueError(f"function must be 'predict' or 'sgd_step'; got {function!r}")


def stored_parts(loss: str) -> dict:
    """The outcomes of the catalogued variants of each part of a loss, as stored numbers.

    Returns {"data_loss", "data_grad", "reg_loss", "reg_grad"} -> [(label, values), ...] in the
    grader's order ("correct" first): for the data parts the loss or dW at reg = 0 on each
    example_inputs(k); for the regularization parts loss(reg) - loss(0) or dW(reg) - dW(0) on
    each case with reg > 0. Empty when the file stores none (see ``tools/make_expected.py``).
    """
    found = checks._expected().get("parts", {})
    return dict(found.get(loss, {})) if isinstance(found, dict) else {}


def stored_names(loss: str) -> dict:
    """{"data": {"<loss label>|<grad label>": names}, "reg": {...}, "stability": {...}, "speed": {...}}.

    Each name is [key, words, convention], written by the grader's own naming of those labels.
    """
    found = checks._expected().get("names", {})
    return dict(found.get(loss, {})) if isinstance(found, dict) else {}


# ------------------------------------------------------------------ calling code

def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0][:200]}" if text else type(err).__name__


def _call(fn, name: str, W, X, y, reg) -> tuple[bool, object]:
    """fn(W, X, y, reg) on copies, quietly.

    Returns (True, (loss float, dW float64 array of the shape of W)) or (False, why: str).
    """
    try:
        with checks.quiet(), contextlib.redirect_stdout(io.StringIO()):
            out = fn(W.copy(), X.copy(), y.copy(), reg)
    except NotImplementedError:
        return False, f"{name} is not written yet (it raises NotImplementedError)"
    except Exception as err:  # the student's code: any error is a finding, not a crash
        return False, f"{name} raised {_first_line(err)}"
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        return False, f"{name} must return a pair (loss, dW); it returned {type(out).__name__}"
    loss, dW = out
    try:
        value = float(np.asarray(loss, dtype=np.float64).reshape(()))
    except (TypeError, ValueError):
        return False, f"{name}: the loss must be a single number; got {str(loss)[:60]!r}"
    try:
        grad = np.asarray(dW, dtype=np.float64)
    except (TypeError, ValueError):
        return False, f"{name}: dW must be an array of numbers"
    if grad.shape != W.shape:
        return False, f"{name}: dW must have the shape of W, {W.shape}; got {grad.shape}"
    return True, (value, grad)


def _loss_close(got: float, want: float, scale: float = 1.0) -> bool:
    """The grader's comparison of a loss: within LOSS_RTOL of max(|want|, scale)."""
    return bool(np.isfinite(got)) and abs(got - want) <= LOSS_RTOL * max(abs(want), scale)


def _grad_close(got: np.ndarray, want: np.ndarray, scale: float = 1e-8) -> bool:
    """The grader's comparison of dW: largest difference within GRAD_RTOL of the largest entry."""
    if got.shape != want.shape or not np.all(np.isfinite(got)):
        return False
    return float(np.max(np.abs(got - want))) <= GRAD_RTOL * max(float(np.max(np.abs(want))), scale)


def _outputs_match(a, b) -> bool:
    """Two (loss, dW) pairs agree: close values (rtol 1e-6, atol 1e-9), or both not finite."""
    for u, v in zip(a, b):
        u, v = np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64)
        bad_u, bad_v = not np.all(np.isfinite(u)), not np.all(np.isfinite(v))
        if bad_u or bad_v:
            if not (bad_u and bad_v):
                return False
        elif u.shape != v.shape or not np.allclose(u, v, rtol=1e-6, atol=1e-9):
            return False
    return True


@dataclass
class LossRun:
    """One loss function's outputs on the visible inputs (see visible_cases).

    at0: per case, _call's (ok, value) at reg = 0; at_reg: per case, at the case's reg when
    it is > 0, else None.
    """
    name: str
    at0: list = field(default_factory=list)
    at_reg: list = field(default_factory=list)

    @property
    def ran(self) -> bool:
        """True when at least one call returned."""
        return any(ok for ok, _ in self.at0 + [o for o in self.at_reg if o is not None])


def run_loss(fn, name: str) -> LossRun:
    """Call a loss on every visible input at reg = 0, and again at the case's reg when reg > 0."""
    run = LossRun(name)
    for case in visible_cases(name.split("_")[0]):
        run.at0.append(_call(fn, name, case["W"], case["X"], case["y"], 0.0))
        run.at_reg.append(_call(fn, name, case["W"], case["X"], case["y"], case["reg"])
                          if case["reg"] > 0 else None)
    return run


# ------------------------------------------------------------------- the parts

def _judge_data(run: LossRun, cases: list[dict], part: str) -> tuple[bool, str]:
    """The loss part (part="loss") or the gradient part ("grad"): reg = 0, every visible input."""
    for (ok, value), case in zip(run.at0, cases):
        if not ok:
            return False, f"{value} on {case['label']}"
        loss, dW = value
        shifted = case["shifted"]
        hint = (" Subtract a maximum score (each example's, or the largest of all) before np.exp so it "
                "cannot overflow." if shifted else "")
        if part == "loss":
            if not np.isfinite(loss):
                return False, f"the loss at reg = 0 on {case['label']} is {loss} (not finite).{hint}"
            if not _loss_close(loss, case["loss0"]):
                if shifted:
                    hint = " Shifting every score by the same amount must not change the loss."
                return False, (f"the loss at reg = 0 on {case['label']} is {loss:.10g}; expected "
                               f"{case['loss0']:.10g}.{hint}")
        else:
            if not np.all(np.isfinite(dW)):
                return False, f"dW at reg = 0 on {case['label']} holds NaN or inf.{hint}"
            if not _grad_close(dW, case["dW0"]):
                return False, (f"dW at reg = 0 on {case['label']} differs from the stored gradient; check it "
                               "with a numerical gradient (linclass.gradcheck) first")
    what = "the loss" if part == "loss" else "dW"
    return True, f"{what} at reg = 0 is right on the {len(cases)} visible inputs"


def _reg_observed(run: LossRun, cases: list[dict]) -> list[tuple]:
    """(case, loss(reg) - loss(0), dW(reg) - dW(0), loss(0), dW(0)) per case with reg > 0.

    A case whose two calls did not both return finite outputs gives (case, None, why, None, None).
    """
    out = []
    for (ok0, v0), at_reg, case in zip(run.at0, run.at_reg, cases):
        if at_reg is None:
            continue
        ok1, v1 = at_reg
        if not (ok0 and ok1):
            out.append((case, None, v0 if not ok0 else v1, None, None))
        elif not all(np.isfinite(v[0]) and np.all(np.isfinite(v[1])) for v in (v0, v1)):
            out.append((case, None, "the loss or dW was not finite", None, None))
        else:
            out.append((case, v1[0] - v0[0], v1[1] - v0[1], v0[0], v0[1]))
    return out


def _reg_loss_ok(diff: float, term: float, base_loss: float) -> bool:
    return abs(diff - term) <= LOSS_RTOL * max(abs(term), abs(base_loss), 1e-12)


def _reg_grad_ok(diff: np.ndarray, term: np.ndarray, base_grad: np.ndarray) -> bool:
    scale = max(float(np.max(np.abs(term))), float(np.max(np.abs(base_grad))), 1e-12)
    return float(np.max(np.abs(diff - term))) <= GRAD_RTOL * scale


def _ratio(got, want) -> float:
    got, want = np.ravel(got), np.ravel(want)
    return float(got @ want / (want @ want)) if float(want @ want) > 0 else float("nan")


def _judge_reg(run: LossRun, cases: list[dict]) -> tuple[bool, str]:
    observed = _reg_observed(run, cases)
    for case, dloss, ddW, l0, g0 in observed:
        reg = case["reg"]
        where = f"on {case['label']} (reg = {reg:g})"
        if dloss is None:
            return False, f"the regularization could not be checked {where}: {ddW}"
        want_loss, want_grad = case["reg_loss"], case["reg_dW"]  # reg * sum(W * W) and 2 * reg * W
        loss_ok, grad_ok = _reg_loss_ok(dloss, want_loss, l0), _reg_grad_ok(ddW, want_grad, g0)
        if loss_ok and grad_ok:
            continue
        parts = []
        if not loss_ok:
            parts.append(f"loss(reg) - loss(0) is {_ratio(dloss, want_loss):.3g} x reg * sum(W * W)")
        if not grad_ok:
            parts.append(f"dW(reg) - dW(0) is about {_ratio(ddW, want_grad):.3g} x 2 * reg * W")
        return False, (f"the regularization {where}: {' and '.join(parts)}. This course adds "
                       "reg * np.sum(W * W) to the loss, once, and 2 * reg * W to dW (the bias row included)")
    if not observed:
        return False, "no visible input checked the regularization"
    return True, "the regularization is reg * sum(W * W), with gradient 2 * reg * W"


# How the grader words the two speed mistakes (used when expected_values.json stores none).
LOOPS_WORDS = ("the 'vectorized' version still loops in Python over the examples (its work grows with N); "
               "use matrix operations on all examples at once")
CALLS_NAIVE_WORDS = "the 'vectorized' version calls the naive version instead of computing the loss itself"


def _calls(fn, target, args) -> bool:
    """True when calling fn(*args) runs the code of the function target."""
    code = getattr(target, "__code__", None)
    seen = [False]

    def profiler(frame, event, arg):
        if event == "call" and frame.f_code is code:
            seen[0] = True

    previous = sys.getprofile()
    sys.setprofile(profiler)
    try:
        with checks.quiet(), contextlib.redirect_stdout(io.StringIO()):
            fn(*args)
    except Exception:  # the student's code; its errors are reported by the other parts
        pass
    finally:
        sys.setprofile(previous)
    return seen[0]


def _speed_words(loss: str, which: str) -> str:
    stored = _names(stored_names(loss).get("speed", {}), which)
    return stored[0] if stored else (LOOPS_WORDS if which == "loops" else CALLS_NAIVE_WORDS)


def _judge_speed(fn, name: str, namespace: dict, run: LossRun,
                 parts: dict | None = None) -> tuple[bool, str, str | None]:
    """The speed part, as the grader judges it: vectorized, and agreeing or right.

    Vectorized: no call to the naive version; the same Python lines for N = 40 and N = 160
    (and not hundreds); a (loss, dW) on every visible input. Then it passes when it gives the
    same outputs as your own naive version wherever that one runs (a naive version still a
    stub: nothing to compare with), or, when the two disagree, when its loss and dW at
    reg = 0 are right (parts: this function's {"loss", "grad", "reg"} -> (ok, ...) on the
    visible inputs, as judge_loss found them); the message then says the mistake is in the
    naive version.
    Returns (ok, message, the grader's words for the mistake or None).
    """
    loss = name.split("_")[0]
    naive_name = name.replace("_vectorized", "_naive")
    naive = namespace.get(naive_name)
    W, X, y, _ = checks.example_inputs(1)
    if callable(naive) and _calls(fn, naive, (W, X, y, 0.1)):
        return (False, f"{name} calls {naive_name}; write the vectorized loss without it.",
                _speed_words(loss, "calls_naive"))
    try:
        counts = checks.line_counts(fn)
    except Exception as err:  # the student's code raised while traced
        return False, f"{name} raised {_first_line(err)} while its lines were counted", None
    vectorized, message = checks.vectorization_report(fn, counts)
    if vectorized:
        N, lines = checks.VECTOR_SIZES[0], counts[0]
        if lines > MAX_VECTORIZED_LINES:
            vectorized, message = False, (f"{name} runs {lines} Python lines for N={N} examples: a vectorized "
                                          "loss runs a few dozen. Remove the loop and use whole-array numpy "
                                          "operations.")
    if not vectorized:
        return False, message, _speed_words(loss, "loops")
    calls = run.at0 + [o for o in run.at_reg if o is not None]
    if not calls or not all(ok for ok, _ in calls):
        why = next((v for ok, v in calls if not ok), "no output")
        return False, f"{message} But it did not return a usable (loss, dW) on every visible input: {why}.", None
    if not callable(naive):
        return True, f"{message} ({naive_name} is not defined: nothing to compare with)", None
    mine = run_loss(naive, naive_name)
    # (index in at0 + at_reg, vectorized output, naive output), where the naive version returned.
    pairs = [(k, a, b) for k, (a, b) in enumerate(zip(run.at0 + run.at_reg, mine.at0 + mine.at_reg))
             if a is not None and b is not None and b[0]]
    if not pairs:
        return True, f"{message} ({naive_name} did not run: nothing to compare with)", None
    differ = [k for k, (ok, value), (_, naive_value) in pairs if not ok or not _outputs_match(value, naive_value)]
    if not differ:
        return True, f"{message} It agrees with your {naive_name} on {len(pairs)} visible inputs.", None
    parts = parts or {}
    if all(parts.get(p, (False,))[0] for p in ("loss", "grad")):
        # Correct is correct: a mistake in the naive version costs the naive version's points only.
        if any(k < len(run.at0) for k in differ):
            why = "the mistake is in the naive version (it differs at reg = 0)."
        elif parts.get("reg", (False,))[0]:
            why = "the mistake is in the naive version's regularization (it differs only when reg > 0)."
        else:
            why = ("the two differ only when reg > 0, and the regularization part of this function says "
                   "what to change.")
        return True, (f"{message} Its loss and dW at reg = 0 are right, so it keeps the speed points, but "
                      f"your {naive_name} disagrees with it: {why}"), None
    return False, (f"{message} But it does not agree with your {naive_name} on the visible inputs, and its "
                   "loss or dW at reg = 0 is wrong: speed points need the two versions to compute the same "
                   "loss and dW, or this one to be right."), None


# ------------------------------------------------------------------- naming

def _label(part: list, got: list, close) -> str:
    """The first stored label whose values all match got (the grader's order), else "unknown"."""
    for label, values in part:
        if len(values) == len(got) and all(close(g, v) for g, v in zip(got, values)):
            return str(label)
    return "unknown"


def labels(run: LossRun, loss: str) -> dict:
    """The label of each part of run, matched against the stored variants like the grader does.

    Returns {"data_loss", "data_grad", "stability", "reg_loss", "reg_grad"} -> label,
    "unknown" (no stored variant fits) or None (nothing stored, or nothing to judge).
    """
    parts = stored_parts(loss)
    cases = visible_cases(loss)
    out: dict = {k: None for k in ("data_loss", "data_grad", "stability", "reg_loss", "reg_grad")}
    if not parts:
        return out
    base = run.at0[:3]
    if all(ok for ok, _ in base):
        values = [v for _, v in base]
        if all(np.isfinite(lv) and np.all(np.isfinite(g)) for lv, g in values):
            out["data_loss"] = _label(parts.get("data_loss", []), [lv for lv, _ in values],
                                      lambda g, v: _loss_close(g, float(v)))
            out["data_grad"] = _label(parts.get("data_grad", []), [g for _, g in values],
                                      lambda g, v: _grad_close(g, np.asarray(v, dtype=np.float64)))
        else:
            out["data_loss"] = out["data_grad"] = "unknown"
    reg = [r for r in _reg_observed(run, cases[:3]) if r[1] is not None]
    if reg:
        out["reg_loss"] = _label(parts.get("reg_loss", []), [(dl, l0) for _, dl, _, l0, _ in reg],
                                 lambda g, v: _reg_loss_ok(g[0], float(v), g[1]))
        out["reg_grad"] = _label(parts.get("reg_grad", []), [(dg, g0) for _, _, dg, _, g0 in reg],
                                 lambda g, v: _reg_grad_ok(g[0], np.asarray(v, dtype=np.float64), g[1]))
    if loss == "softmax":
        # Overflow shows as an error or as inf / nan; a finite answer must be what the same code
        # gives on the unshifted scores (shifting every score changes nothing but dW's last row).
        out["stability"] = "ok"
        for k, (ok, value) in enumerate(run.at0[3:6]):
            if not ok or not (np.isfinite(value[0]) and np.all(np.isfinite(value[1]))):
                out["stability"] = "overflows"
                break
            same = base[k][0] and _loss_close(value[0], base[k][1][0]) and \
                _grad_close(value[1][:-1], base[k][1][1])
            if not (same or (_loss_close(value[0], cases[3 + k]["loss0"])
                             and _grad_close(value[1], cases[3 + k]["dW0"]))):
                out["stability"] = "unknown"
    return out


def _names(table: dict, key: str) -> list[str]:
    """The words of the names stored under key: each name is [key, words, convention]."""
    return [str(item[1]) for item in table.get(key, [])]


def name_mistakes(run: LossRun, loss: str) -> dict:
    """The grader's words for the mistakes of run, per part: {"loss", "grad", "reg"} -> [words].

    The labels of the parts are looked up in the table the grader's own naming wrote into
    expected_values.json; nothing is named when no table is stored.
    """
    found = labels(run, loss)
    names = stored_names(loss)
    out: dict = {"loss": [], "grad": [], "reg": []}
    dl, dg = found["data_loss"], found["data_grad"]
    if dl and dg:
        # The grader's words for the data part; when the file says which part each name explains,
        # each part shows its own, else both parts show them all.
        key = f"{dl}|{dg}"
        data = names.get("data", {}).get(key, [])
        split = names.get("data_parts", {}).get(key)
        for part in ("loss", "grad"):
            out[part] = [str(item[1]) for item in data if split is None or item[0] in split.get(part, [])]
    if found["stability"] in ("overflows", "unknown"):
        extra = _names(names.get("stability", {}), found["stability"])
        out["loss"] += [w for w in extra if w not in out["loss"]]
        out["grad"] += [w for w in extra if w not in out["grad"]]
    rl, rg = found["reg_loss"], found["reg_grad"]
    if rl and rg:
        out["reg"] = _names(names.get("reg", {}), f"{rl}|{rg}")
    return out


# ---------------------------------------------------------------- scoring cells

def _not_defined(gid, points, fn) -> PartResult:
    return PartResult(gid, points, 0.0, f"{fn} is not defined after running your answer cells")


def judge_loss(fn, name: str, namespace: dict) -> dict:
    """Every part of one loss function: {"loss", "grad", "reg", "speed"} -> (ok, message, mistakes)."""
    loss = name.split("_")[0]
    cases = visible_cases(loss)
    run = run_loss(fn, name)
    named = name_mistakes(run, loss) if run.ran else {"loss": [], "grad": [], "reg": []}
    out = {}
    for part in ("loss", "grad", "reg"):
        ok, message = _judge_reg(run, cases[:3]) if part == "reg" else _judge_data(run, cases, part)
        out[part] = (ok, message, [] if ok else list(named[part]))
    if name.endswith("_vectorized"):
        ok, message, words = _judge_speed(fn, name, namespace, run, out)
        out["speed"] = (ok, message, [words] if words else [])
    return out


def check_functions(namespace: dict, test_cells: list[dict], stubbed=()) -> list[PartResult]:
    """Score every autograded test cell from the functions in namespace (run no notebook).

    namespace: the notebook's globals after its cells ran; test_cells: the "test" entries of
    graded_cells(); stubbed: what stubs() found (kept for the call's form; a stub shows up
    when it is called). Returns one PartResult per test cell, in order.
    """
    results, judged = [], {}
    for cell in test_cells:
        gid, points = cell["grade_id"], cell["points"]
        fn_name, part_name = split_grade_id(gid)
        part = loss_part(part_name) if is_loss(fn_name) else None
        if part is None:
            results.append(_visible_test(cell, namespace, fn_name))
            continue
        fn = namespace.get(fn_name)
        if not callable(fn):
            results.append(_not_defined(gid, points, fn_name))
            continue
        if fn_name not in judged:
            judged[fn_name] = judge_loss(fn, fn_name, namespace)
        if part not in judged[fn_name]:
            results.append(PartResult(gid, points, 0.0, f"{fn_name} has no part {part!r} to check"))
            continue
        ok, message, mistakes = judged[fn_name][part]
        results.append(PartResult(gid, points, points if ok else 0.0, message, mistakes))
    return results


def _name_other(fn_name: str, namespace: dict) -> list[str]:
    """The grader's words for the known mistake of predict or sgd_step, from the stored outcomes."""
    stored = checks._expected().get("others", {}).get(fn_name)
    fn = namespace.get(fn_name)
    if not stored or not callable(fn):
        return []
    args = [a.copy() if isinstance(a, np.ndarray) else a for a in other_inputs(fn_name)]
    try:
        with checks.quiet(), contextlib.redirect_stdout(io.StringIO()):
            got = fn(*args)
        got = [np.asarray(v, dtype=np.float64) for v in (got if isinstance(got, (tuple, list)) else [got])]
    except Exception:  # the student's code; its error is in the visible test's message
        return []
    for key, words, want in stored:
        want = [np.asarray(v, dtype=np.float64) for v in (want if fn_name == "sgd_step" else [want])]
        if len(got) == len(want) and all(g.shape == w.shape and np.allclose(g, w, rtol=1e-6, atol=1e-9)
                                         for g, w in zip(got, want)):
            return [str(words)]
    return []


def _visible_test(cell: dict, namespace: dict, fn_name: str) -> PartResult:
    """A graded function that is not a loss: its visible test cell decides."""
    gid, points = cell["grade_id"], cell["points"]
    if fn_name and fn_name in _function_names(cell) and not callable(namespace.get(fn_name)):
        return _not_defined(gid, points, fn_name)
    scope = dict(namespace)
    try:
        with checks.quiet(), contextlib.redirect_stdout(io.StringIO()):
            exec(compile(_python(cell["source"]), f"<test {gid}>", "exec"), scope)  # noqa: S102
    except NotImplementedError:
        return PartResult(gid, points, 0.0, f"{fn_name} is not written yet (it raises NotImplementedError)")
    except AssertionError as err:
        return PartResult(gid, points, 0.0, f"the visible test fails: {str(err).strip()[:300] or 'an assertion'}",
                          _name_other(fn_name, namespace))
    except Exception as err:
        return PartResult(gid, points, 0.0, f"the visible test fails: {_first_line(err)}",
                          _name_other(fn_name, namespace))
    return PartResult(gid, points, points, "the visible test passes")


def _function_names(cell: dict) -> set:
    try:
        tree = ast.parse(_python(cell["source"]))
    except SyntaxError:
        return set()
    return {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}


def probe(namespace: dict, test_cells: list[dict], stubbed=()) -> str:
    """The line the probe cell prints in the kernel: PROBE_MARKER and the results as JSON."""
    results = check_functions(namespace, test_cells, stubbed)
    return PROBE_MARKER + json.dumps([r.to_dict() for r in results])


# ---------------------------------------------------------------- running it

def find_data() -> tuple[str | None, str]:
    """(folder for LINCLASS_DATA_DIR or None to write a synthetic one, a note saying which)."""
    from linclass import data

    value = os.environ.get(data.ENV_VAR, "").strip()
    if value:
        return value, f"the notebook ran on the data in {data.ENV_VAR}={value}"
    folder = data.default_cache_dir()
    complete = all((folder / data.FOLDER / name).is_file() for name in data.REQUIRED_FILES)
    if complete or (folder / data.ARCHIVE).is_file():
        return str(folder), f"the notebook ran on CIFAR-10 in {folder}"
    return None, ("no CIFAR-10 was found, so the notebook ran on a small synthetic stand-in (its "
                  "accuracies mean nothing; the graded parts are checked all the same)")


def _probe_source(test_cells: list[dict], stubbed) -> str:
    cells = json.dumps([{k: c[k] for k in ("grade_id", "points", "source")} for c in test_cells])
    return ("from linclass import selfcheck as _linclass_selfcheck\n"
            f"print(_linclass_selfcheck.probe(globals(), __import__('json').loads({cells!r}), "
            f"{sorted(stubbed)!r}))\n")


def _kernel_manager(folder: Path):
    """A kernel manager whose kernel is this Python (the one linclass is installed in).

    Jupyter's "python3" kernel can be another environment's (a kernel spec in the user's
    folder wins), which may lack linclass or hold another version of it.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec = folder / "kernels" / "linclass-selfcheck"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "linclass self-check", "language": "python"}))
    specs = KernelSpecManager(kernel_dirs=[str(spec.parent)], ensure_native_kernel=False)
    return KernelManager(kernel_name="linclass-selfcheck", kernel_spec_manager=specs)


def run_notebook(path: Path, test_cells: list[dict], stubbed=(), timeout: float = 600.0,
                 fast: bool = False) -> tuple[list[PartResult] | None, list[str], list[str]]:
    """Run the notebook in a fresh kernel, then the probe; returns (parts or None, problems, notes)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    nb = nbformat.read(str(path), as_version=4)
    count = len(nb.cells)
    nb.cells.append(nbformat.v4.new_code_cell(_probe_source(test_cells, stubbed)))
    problems, notes = [], []
    env = dict(os.environ)
    env.setdefault("MPLBACKEND", "Agg")
    if fast:
        env["LINCLASS_FAST"] = "1"
    folder, note = find_data()
    notes.append(note)
    with tempfile.TemporaryDirectory(prefix="linclass-selfcheck-") as tmp, \
            tempfile.TemporaryFile() as kernel_log:
        if folder is None:
            from linclass.data import write_synthetic_cifar10

            write_synthetic_cifar10(tmp)
            folder = tmp
            env["LINCLASS_FAST"] = "1"
        env["LINCLASS_DATA_DIR"] = folder
        km = _kernel_manager(Path(tmp))
        client = NotebookClient(nb, km=km, timeout=timeout, allow_errors=True,
                                resources={"metadata": {"path": str(Path(path).parent.resolve())}})
        try:
            # The kernel's own log (Jupyter's warnings) goes to a file: only the cells' output counts.
            client.execute(env=env, stderr=kernel_log)
        except CellTimeoutError:
            problems.append(f"a cell ran longer than {timeout:g} s and was stopped; grading stops it too")
        except DeadKernelError as err:
            problems.append(f"the kernel died while running the notebook ({_first_line(err)})")
        finally:
            if km.has_kernel:  # a kernel manager passed in is not shut down by the client
                km.shutdown_kernel(now=True)
    first_error = None
    for i, cell in enumerate(nb.cells[:count]):
        error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
        if error is None:
            continue
        meta = _nbgrader(cell)
        gid = meta.get("grade_id")
        what = f"{error.get('ename')}: {str(error.get('evalue')).strip()[:300]}"
        if meta.get("grade") and not meta.get("solution"):
            problems.append(f"the visible test {gid!r} fails: {what}")
        elif first_error is None:
            first_error = f"cell {i}" + (f" ({gid})" if gid else "") + f" raises {what}"
    if first_error:
        problems.insert(0, f"the first cell that fails is {first_error}; the cells after it may fail "
                           "because of it")
    text = "".join(o.get("text", "") for o in nb.cells[-1].get("outputs", []) if o.get("output_type") == "stream")
    line = next((ln for ln in text.splitlines() if ln.startswith(PROBE_MARKER)), None)
    if line is None:
        error = next((o for o in nb.cells[-1].get("outputs", []) if o.get("output_type") == "error"), None)
        why = f": {error.get('ename')}: {str(error.get('evalue'))[:200]}" if error else ""
        problems.append(f"the graded functions could not be checked after the run{why}")
        return None, problems, notes
    parts = [PartResult(**d) for d in json.loads(line[len(PROBE_MARKER):])]
    return parts, problems, notes


def selfcheck(path, run: bool = True, timeout: float = 600.0, fast: bool = False) -> Report:
    """Check one notebook before submitting it.

    path: your .ipynb; run: run it and check each graded part (False: read the cells only);
    timeout: seconds per cell; fast: run with LINCLASS_FAST=1. Returns a Report.
    """
    import nbformat

    report = Report()
    path = Path(path)
    try:
        nb = nbformat.read(str(path), as_version=4)
    except OSError as err:
        report.problems.append(f"cannot read {path}: {err.strerror or err}")
        return report
    except Exception as err:  # not JSON, not a notebook
        report.problems.append(f"{path.name} is not a readable notebook: {_first_line(err)}")
        return report
    cells = graded_cells(nb)
    tests = [c for c in cells if c["kind"] == "test"]
    if not tests:
        report.problems.append(f"{path.name} has no graded test cells: is it the assignment's notebook?")
    functions = []
    for c in tests:
        fn, _ = split_grade_id(c["grade_id"])
        if fn not in functions:
            functions.append(fn)
    found = stubs(nb, functions)
    report.problems += list(found.values())
    empty = empty_answers(nb)
    if empty:
        report.problems.append(f"{len(empty)} written answer(s) still empty (YOUR ANSWER HERE): {', '.join(empty)}")
    parts = None
    if run and tests:
        parts, problems, notes = run_notebook(path, tests, found, timeout, fast)
        report.problems += problems
        report.notes += notes
    else:
        report.ran = False
        if not run:
            report.notes.append("--no-run: the cells were read, not run; no points are predicted")
    by_id = {p.grade_id: p for p in parts or []}
    for c in cells:
        if c["kind"] == "manual":
            state = "still empty" if c["grade_id"] in empty else "answered"
            report.parts.append(PartResult(c["grade_id"], c["points"], None,
                                           f"written answer, {state}; a person grades it"))
        elif c["kind"] == "test" and c["grade_id"] in by_id:
            report.parts.append(by_id[c["grade_id"]])
    if parts is not None:
        report.notes.append("the grader checks the same parts on other, hidden inputs: the points above "
                            "are what you get when your code is right on those too")
    return report


def main(argv=None) -> int:
    """``python -m linclass.selfcheck NOTEBOOK``; returns the exit code (0 passed, 1 problems)."""
    parser = argparse.ArgumentParser(prog="python -m linclass.selfcheck", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebook", help="your .ipynb (svm.ipynb or softmax.ipynb)")
    parser.add_argument("--no-run", action="store_true", help="read the cells only; do not run the notebook")
    parser.add_argument("--fast", action="store_true", help="run with LINCLASS_FAST=1 (few training iterations)")
    parser.add_argument("--cell-timeout", type=float, default=600.0, help="seconds per cell (default 600)")
    args = parser.parse_args(argv)
    report = selfcheck(args.notebook, run=not args.no_run, timeout=args.cell_timeout, fast=args.fast)
    print(report.text())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
