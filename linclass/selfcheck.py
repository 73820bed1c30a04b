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
   - ``_speed``: no Python loop over the examples (lines counted, not timed) and the same
     loss and dW as your own naive version;
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
# For softmax, every score is shifted by this much in the stability input.
SHIFT = 1000.0
STUB_TEXT = "YOUR ANSWER HERE"
PROBE_MARKER = "LINCLASS-SELFCHECK-PROBE "


# ------------------------------------------------------------------------- results

@dataclass
class PartResult:
    """One graded cell: the points the self-check expects, and why.

    grade_id: str, the cell's nbgrader id; max_points: float; points: float or None (None for
    a written answer, which a person grades); message: str; mistake: str or None, a known
    mistake in the grader's words.
    """
    grade_id: str
    max_points: float
    points: float | None
    message: str
    mistake: str | None = None

    @property
    def lost(self) -> bool:
        return self.points is not None and self.points < self.max_points

    def to_dict(self) -> dict:
        return {"grade_id": self.grade_id, "max_points": self.max_points, "points": self.points,
                "message": self.message, "mistake": self.mistake}


@dataclass
class Report:
    """What the self-check found. ``ok`` is True only when nothing is wrong."""
    parts: list = field(default_factory=list)      # PartResult, in notebook order
    problems: list = field(default_factory=list)   # str, each one makes the check fail
    notes: list = field(default_factory=list)      # str, for reading

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
            if p.mistake:
                lines.append(f"  {'':<{width}}             mistake: {p.mistake}")
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
        lines.append("selfcheck passed" if self.ok else f"selfcheck FAILED: {count} problem(s)")
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

    Returns dicts {"label", "W", "X", "y", "reg", "loss0", "dW0"}: W (D, C), X (N, D) float64,
    y (N,) int64, reg the case's regularization strength, and the stored loss and dW at
    reg = 0. For softmax a last case shifts every score by SHIFT (a column of SHIFT is added
    to X and a row of ones to W): the loss and the first D rows of dW stay the same.
    """
    out = []
    for k in (0, 1, 2):
        W, X, y, reg = checks.example_inputs(k)
        loss0, dW0 = _stored_reg0(loss, k, W, reg)
        out.append({"label": f"checks.example_inputs({k})", "W": W, "X": X, "y": y, "reg": reg,
                    "loss0": loss0, "dW0": dW0})
    if loss == "softmax":
        base = out[0]
        X = np.hstack([base["X"], np.full((base["X"].shape[0], 1), SHIFT)])
        W = np.vstack([base["W"], np.ones((1, base["W"].shape[1]))])
        out.append({"label": f"checks.example_inputs(0) with every score shifted by {SHIFT:g}",
                    "W": W, "X": X, "y": base["y"], "reg": 0.0, "loss0": base["loss0"],
                    "dW0": base["dW0"], "rows": base["W"].shape[0]})
    return out


def _stored_reg0(loss: str, k: int, W: np.ndarray, reg: float) -> tuple[float, np.ndarray]:
    """The stored loss and dW of case k at reg = 0."""
    item = checks._expected()[loss][str(k)]
    if "loss0" in item:
        return float(item["loss0"]), np.array(item["dW0"], dtype=np.float64)
    # Stored at the case's reg: the course's regularization, reg * sum(W^2) with gradient
    # 2 * reg * W, is stated in the notebook, so the data part is the difference.
    stored_loss, stored_dW = checks.expected(loss, k)
    return stored_loss - reg * float(np.sum(W * W)), stored_dW - 2.0 * reg * W


def stored_mistakes(loss: str) -> list[dict]:
    """The known mistakes of a loss as stored numbers (see ``tools/make_expected.py``).

    Each is a dict {"key", "words", "part": "data" | "reg", "convention", "cases": {k: {"loss", "dW"}}}:
    for "data" the loss and dW at reg = 0 on example_inputs(k), for "reg" the differences
    loss(reg) - loss(0) and dW(reg) - dW(0). An empty list when none are stored.
    """
    found = checks._expected().get("mistakes", {})
    return list(found.get(loss, [])) if isinstance(found, dict) else []


# ------------------------------------------------------------------ calling code

class _Failed(Exception):
    """A call that did not give a usable (loss, dW); the message says why."""


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0][:200]}" if text else type(err).__name__


def _call(fn, name: str, W, X, y, reg) -> tuple[float, np.ndarray]:
    """fn(W, X, y, reg) on copies, quietly; returns (loss float, dW float64 array) or raises _Failed."""
    try:
        with checks.quiet(), contextlib.redirect_stdout(io.StringIO()):
            out = fn(W.copy(), X.copy(), y.copy(), reg)
    except NotImplementedError:
        raise _Failed(f"{name} is not written yet (it raises NotImplementedError)") from None
    except Exception as err:  # the student's code: any error is a finding, not a crash
        raise _Failed(f"{name} raised {_first_line(err)}") from None
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise _Failed(f"{name} must return a pair (loss, dW); it returned {type(out).__name__}")
    loss, dW = out
    try:
        value = float(np.asarray(loss, dtype=np.float64).reshape(()))
    except (TypeError, ValueError):
        raise _Failed(f"{name}: the loss must be a single number; got {str(loss)[:60]!r}") from None
    try:
        grad = np.asarray(dW, dtype=np.float64)
    except (TypeError, ValueError):
        raise _Failed(f"{name}: dW must be an array of numbers") from None
    if grad.shape != W.shape:
        raise _Failed(f"{name}: dW must have the shape of W, {W.shape}; got {grad.shape}")
    return value, grad


def _loss_close(got: float, want: float, rtol: float = LOSS_RTOL) -> bool:
    return bool(np.isfinite(got)) and abs(got - want) <= rtol * max(abs(want), 1.0)


def _grad_close(got: np.ndarray, want: np.ndarray, rtol: float = GRAD_RTOL) -> bool:
    if not np.all(np.isfinite(got)):
        return False
    return float(np.max(np.abs(got - want))) <= rtol * max(float(np.max(np.abs(want))), 1e-8)


@dataclass
class LossRun:
    """One loss function's outputs on the visible inputs: at reg = 0 and at each case's reg."""
    name: str
    error: str | None = None
    at0: list = field(default_factory=list)      # (loss, dW) per visible case, reg = 0
    at_reg: list = field(default_factory=list)   # (loss, dW) per visible case with reg > 0, or None


def run_loss(fn, name: str) -> LossRun:
    """Call a loss on every visible input at reg = 0, and again at the case's reg when reg > 0."""
    run = LossRun(name)
    loss = name.split("_")[0]
    try:
        for case in visible_cases(loss):
            run.at0.append(_call(fn, name, case["W"], case["X"], case["y"], 0.0))
            run.at_reg.append(_call(fn, name, case["W"], case["X"], case["y"], case["reg"])
                              if case["reg"] > 0 else None)
    except _Failed as err:
        run.error = str(err)
    return run


# ------------------------------------------------------------------- the parts

def _judge_loss(run: LossRun, cases: list[dict]) -> tuple[bool, str]:
    for (value, _), case in zip(run.at0, cases):
        if not np.isfinite(value):
            hint = (" Subtract a maximum score (each row's, or the largest of all) before np.exp so it "
                    "cannot overflow." if "shifted" in case["label"] else "")
            return False, f"the loss at reg = 0 on {case['label']} is {value} (not finite).{hint}"
        if not _loss_close(value, case["loss0"]):
            hint = (" Shifting every score by the same amount must not change the loss."
                    if "shifted" in case["label"] else "")
            return False, (f"the loss at reg = 0 on {case['label']} is {value:.10g}; expected "
                           f"{case['loss0']:.10g}.{hint}")
    return True, f"the loss at reg = 0 is right on the {len(cases)} visible inputs"


def _judge_grad(run: LossRun, cases: list[dict]) -> tuple[bool, str]:
    for (_, dW), case in zip(run.at0, cases):
        rows = case.get("rows", dW.shape[0])
        if not np.all(np.isfinite(dW)):
            return False, f"dW at reg = 0 on {case['label']} holds NaN or inf"
        if not _grad_close(dW[:rows], case["dW0"]):
            return False, (f"dW at reg = 0 on {case['label']} differs from the stored gradient; check it "
                           "with a numerical gradient (linclass.gradcheck) first")
    return True, f"dW at reg = 0 is right on the {len(cases)} visible inputs"


def _reg_observed(run: LossRun, cases: list[dict]) -> list[tuple[dict, float, np.ndarray]]:
    """(case, loss(reg) - loss(0), dW(reg) - dW(0)) for every visible case with reg > 0."""
    out = []
    for (l0, g0), at_reg, case in zip(run.at0, run.at_reg, cases):
        if at_reg is not None:
            out.append((case, at_reg[0] - l0, at_reg[1] - g0))
    return out


def _ratio(got, want) -> float:
    got, want = np.ravel(got), np.ravel(want)
    return float(got @ want / (want @ want)) if float(want @ want) > 0 else float("nan")


def _judge_reg(run: LossRun, cases: list[dict]) -> tuple[bool, str]:
    for case, dloss, ddW in _reg_observed(run, cases):
        W, reg = case["W"], case["reg"]
        want_loss, want_grad = reg * float(np.sum(W * W)), 2.0 * reg * W
        loss_ok = _loss_close(dloss, want_loss)
        grad_ok = _grad_close(ddW, want_grad)
        if loss_ok and grad_ok:
            continue
        where = f"on {case['label']} (reg = {reg:g})"
        if not loss_ok and not grad_ok:
            what = (f"loss(reg) - loss(0) is {_ratio(dloss, want_loss):.3g} x reg * sum(W * W) and "
                    f"dW(reg) - dW(0) is {_ratio(ddW, want_grad):.3g} x 2 * reg * W")
        elif not loss_ok:
            what = f"loss(reg) - loss(0) is {_ratio(dloss, want_loss):.3g} x reg * sum(W * W) (dW is right)"
        else:
            what = f"dW(reg) - dW(0) is {_ratio(ddW, want_grad):.3g} x 2 * reg * W (the loss is right)"
        return False, (f"the regularization {where}: {what}. This course adds reg * np.sum(W * W) to the "
                       "loss, once, and 2 * reg * W to dW (the bias row included)")
    return True, "the regularization is reg * sum(W * W), with gradient 2 * reg * W"


def _judge_speed(fn, name: str, namespace: dict, naive_stub: bool) -> tuple[bool, str]:
    try:
        ok, message = checks.vectorization_report(fn)
    except Exception as err:  # the student's code raised while traced
        return False, f"{name} raised {_first_line(err)} while its lines were counted"
    if not ok:
        return False, message
    naive_name = name.replace("_vectorized", "_naive")
    naive = namespace.get(naive_name)
    if naive is None or naive_stub or not callable(naive):
        return True, f"{message} ({naive_name} is not written, so there is nothing to agree with)"
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            agree = checks.check_agree(naive, fn)
    except AssertionError as err:
        return False, f"{message} But it does not agree with your {naive_name}: {err}"
    except Exception as err:
        return False, f"comparing with your {naive_name} raised {_first_line(err)}"
    return True, f"{message} {agree[0].upper()}{agree[1:]}"


def name_mistake(run: LossRun, loss: str) -> list[str]:
    """The known mistakes (grader's words) whose stored outcomes match run's, in catalogue order."""
    cases = visible_cases(loss)[:3]
    named = []
    reg_seen = {i: (dl, dg) for i, (case, dl, dg) in enumerate(_reg_observed(run, cases))}
    reg_index = [k for k, c in enumerate(cases) if c["reg"] > 0]
    for m in stored_mistakes(loss):
        stored = m.get("cases", {})
        if not stored:
            continue
        match = True
        for key, out in stored.items():
            k = int(key)
            if m.get("part") == "reg":
                if k not in reg_index:
                    continue
                got_loss, got_dW = reg_seen[reg_index.index(k)]
            else:
                got_loss, got_dW = run.at0[k]
            want_dW = np.array(out["dW"], dtype=np.float64)
            if not (_loss_close(got_loss, float(out["loss"])) and _grad_close(got_dW, want_dW)):
                match = False
                break
        if match and m.get("words") not in named:
            named.append(m["words"])
    return named


def _not_defined(gid, points, fn) -> PartResult:
    return PartResult(gid, points, 0.0, f"{fn} is not defined after running your answer cells")


def check_functions(namespace: dict, test_cells: list[dict], stubbed=()) -> list[PartResult]:
    """Score every autograded test cell from the functions in namespace (run no notebook).

    namespace: the notebook's globals after its cells ran; test_cells: the "test" entries of
    graded_cells(); stubbed: names found still stubbed by stubs(). Returns PartResult per cell.
    """
    results, runs, speed = [], {}, {}
    for cell in test_cells:
        gid, points = cell["grade_id"], cell["points"]
        fn_name, part_name = split_grade_id(gid)
        fn = namespace.get(fn_name)
        part = loss_part(part_name) if is_loss(fn_name) else None
        if part is None:
            results.append(_visible_test(cell, namespace, fn_name))
            continue
        if not callable(fn):
            results.append(_not_defined(gid, points, fn_name))
            continue
        loss = fn_name.split("_")[0]
        if part == "speed":
            if fn_name not in speed:
                speed[fn_name] = _judge_speed(fn, fn_name, namespace, fn_name.replace("_vectorized", "_naive")
                                              in stubbed)
            ok, message = speed[fn_name]
            mistake = None
            if not ok and "once per example" in message:
                mistake = ("the 'vectorized' version still loops in Python over the examples (its work grows "
                           "with N); use matrix operations on all examples at once")
            results.append(PartResult(gid, points, points if ok else 0.0, message, mistake))
            continue
        if fn_name not in runs:
            runs[fn_name] = run_loss(fn, fn_name)
        run = runs[fn_name]
        if run.error:
            results.append(PartResult(gid, points, 0.0, run.error))
            continue
        cases = visible_cases(loss)
        judge = {"loss": _judge_loss, "grad": _judge_grad, "reg": _judge_reg}[part]
        ok, message = judge(run, cases if part != "reg" else cases[:3])
        mistake = None
        if not ok:
            named = name_mistake(run, loss)
            mistake = "; ".join(named) if named else None
        results.append(PartResult(gid, points, points if ok else 0.0, message, mistake))
    return results


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
        return PartResult(gid, points, 0.0, f"the visible test fails: {str(err).strip()[:300] or 'an assertion'}")
    except Exception as err:
        return PartResult(gid, points, 0.0, f"the visible test fails: {_first_line(err)}")
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
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": str(Path(path).parent.resolve())}})
        try:
            # The kernel's own log (Jupyter's warnings) goes to a file: only the cells' output counts.
            client.execute(env=env, stderr=kernel_log)
        except CellTimeoutError:
            problems.append(f"a cell ran longer than {timeout:g} s and was stopped; grading stops it too")
        except DeadKernelError as err:
            problems.append(f"the kernel died while running the notebook ({_first_line(err)})")
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
    elif tests:
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
