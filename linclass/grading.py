"""Checks that grade a student's function against the reference in ``linclass``.

The hidden tests in the assignment notebooks call these checks inside the student's
kernel, and the autograder reuses the same pieces in its own clean process. So the
module has three layers:

1. **Cases** (plain data, no student code involved)::

       cases = make_cases("svm_loss_vectorized", seed=0)

   Each case is a dict ``{"function": name, "label": str, "inputs": {...}}`` whose
   ``inputs`` hold numpy arrays and plain numbers, keyed by argument name in call order.
   The cases cover several shapes, ties between scores, a large regularization
   strength (2.5e4, with W scaled so it matters) and, for softmax, scores shifted up
   by 1e3 (only code that subtracts the maximum score survives that).

2. **Running and comparing** (``run_case`` runs student code; everything else is pure)::

       student = run_case(fn, case)              # in the student's process
       expected = reference_output(case)         # in the grader's process
       ok, message = compare_outputs("svm_loss_vectorized", case, student, expected,
                                     part="loss")  # or "grad", or None for both

   Outputs are plain data: ``(loss, dW)`` for the losses, ``(W_new, loss)`` for
   ``sgd_step``, ``y_pred`` for ``predict``, and for ``sample_batch`` a dict with the
   batch drawn from ``rng``, the batch drawn again with the same seed and one drawn with
   another seed. Messages say what was checked and what went wrong, never the hidden code.

   Vectorization and "did not call the reference" are judged from a trace profile::

       profile = trace_profile(fn, "svm_loss_vectorized", seed=0)   # student's process
       ok, message = judge_vectorized(profile)                       # anywhere
       ok, message = judge_not_reference(profile)                    # anywhere

   The profile counts the Python line and call events that run inside code the student
   wrote (anything that is not numpy, the standard library or ``linclass``) while the
   function runs at two sizes of N. A vectorized function runs the same lines whatever
   N is; a loop over examples runs more lines when N grows. Timing is never used, so the
   verdict does not depend on how busy the machine is.

3. **In-kernel wrappers** for the hidden tests; each raises ``AssertionError`` with the
   message when a check fails::

       check_loss(fn, "svm_loss_naive", seed=0, part="loss")
       check_vectorized(fn, "svm_loss_vectorized", seed=0)
       check_not_reference(fn, "svm_loss_vectorized")
       check_function(fn, "sample_batch", seed=0)     # also "sgd_step", "predict"

   ``with quiet():`` silences warnings around the visible tests' own calls.

   Numpy warnings raised by the student's code are silenced inside the checks: nbgrader
   counts any text on stderr as a failed test, and a harmless overflow warning from a
   correct answer must not cost points.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import inspect
import sys
import types
import sysconfig
import warnings
from pathlib import Path

import numpy as np

LOSS_FUNCTIONS = ("svm_loss_naive", "svm_loss_vectorized", "softmax_loss_naive", "softmax_loss_vectorized")
OTHER_FUNCTIONS = ("sample_batch", "sgd_step", "predict")
GRADED_FUNCTIONS = LOSS_FUNCTIONS + OTHER_FUNCTIONS

LARGE_REG = 2.5e4
LOSS_RTOL = 1e-6      # the reference and a correct answer agree to ~1e-12; this leaves room
GRAD_RTOL = 1e-6      # relative to the largest entry of the expected gradient
VECTOR_SIZES = (40, 160)  # N for the two runs of the vectorization trace

_PACKAGE_DIR = Path(__file__).resolve().parent
# Files whose code is the reference answer: a graded function must never run them.
REFERENCE_FILES = tuple(str(_PACKAGE_DIR / "reference" / name) for name in
                        ("losses.py", "fast.py", "_kernels.py", "classifiers.py", "tuning.py"))


# ----------------------------------------------------------------------------- cases

def _check_name(function_name: str) -> None:
    if function_name not in GRADED_FUNCTIONS:
        raise ValueError(f"function_name must be one of {', '.join(GRADED_FUNCTIONS)}; "
                         f"got {function_name!r}")


def _loss_case(label, W, X, y, reg, function_name):
    return {"function": function_name, "label": label,
            "inputs": {"W": np.asarray(W, dtype=np.float64), "X": np.asarray(X, dtype=np.float64),
                       "y": np.asarray(y, dtype=np.int64), "reg": float(reg)}}


def _loss_cases(function_name: str, rng: np.random.Generator) -> list[dict]:
    cases = []
    for D, C, N, reg in [(5, 3, 4, 0.0), (20, 10, 50, 0.0), (12, 4, 1, 0.0), (20, 10, 50, 0.1)]:
        W = 0.5 * rng.standard_normal((D, C))
        X = rng.standard_normal((N, D))
        y = rng.integers(0, C, N)
        cases.append(_loss_case(f"random inputs, W {W.shape}, X {X.shape}, reg={reg:g}",
                                W, X, y, reg, function_name))

    # Ties: scores on a grid of 0.75 so many classes score exactly the same as the
    # correct class, while no SVM margin lands exactly on the hinge's kink
    # (s_j - s_y + 1 = 0 would need a difference of exactly -1).
    D, C, N = 8, 5, 30
    X = (rng.random((N, D)) < 0.5).astype(np.float64)
    W = 0.75 * rng.integers(-1, 2, (D, C))
    y = rng.integers(0, C, N)
    cases.append(_loss_case(f"tied scores, W {W.shape}, X {X.shape}, reg=0", W, X, y, 0.0, function_name))

    # A large reg with W scaled so the regularization term and its gradient matter:
    # a missing or halved 2 * reg * W shows here, unlike at CS231n's tiny reg.
    D, C, N = 30, 10, 40
    W = 1e-3 * rng.standard_normal((D, C))
    X = rng.standard_normal((N, D))
    y = rng.integers(0, C, N)
    cases.append(_loss_case(f"large reg, W {W.shape}, X {X.shape}, reg={LARGE_REG:g}",
                            W, X, y, LARGE_REG, function_name))

    if function_name.startswith("softmax"):
        # Every score of some examples shifted up by about 1e3: exp overflows unless the
        # largest score of each example is subtracted first.
        D, C, N = 10, 6, 20
        W = 0.5 * rng.standard_normal((D, C))
        W[-1] = 1.0  # the last feature adds the same amount to every class's score
        X = rng.standard_normal((N, D))
        X[:, -1] = np.where(rng.random(N) < 0.5, 1000.0, 0.0)
        y = rng.integers(0, C, N)
        cases.append(_loss_case(f"scores shifted up by 1e3, W {W.shape}, X {X.shape}, reg=0",
                                W, X, y, 0.0, function_name))
    return cases


def make_cases(function_name: str, seed: int = 0) -> list[dict]:
    """Fresh random inputs for one graded function.

    Inputs:
    - function_name: str, one of GRADED_FUNCTIONS.
    - seed: int, seeds numpy's Generator so the same seed gives the same cases.

    Returns a list of dicts ``{"function", "label", "inputs"}``; ``inputs`` maps argument
    names (in call order) to float64 arrays of shape W (D, C), X (N, D), int64 y (N,) and
    plain numbers. ``sgd_step`` cases name their loss ("probe", see ``probe_loss``) and
    ``sample_batch`` cases give an ``rng_seed`` instead of a Generator.
    """
    _check_name(function_name)
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int; got {seed!r}")
    rng = np.random.default_rng([int(seed), GRADED_FUNCTIONS.index(function_name)])
    if function_name in LOSS_FUNCTIONS:
        return _loss_cases(function_name, rng)

    cases = []
    if function_name == "sample_batch":
        for N, D, B in [(50, 4, 200), (1000, 3, 16), (5, 2, 1)]:
            X = rng.standard_normal((N, D))
            X[:, 0] = np.arange(N)  # a row id, so each sampled row can be traced back
            y = rng.integers(0, 10, N)
            cases.append({"function": function_name,
                          "label": f"X {X.shape}, batch_size={B}",
                          "inputs": {"X": X, "y": y.astype(np.int64), "batch_size": B,
                                     "rng_seed": int(rng.integers(2**31))}})
    elif function_name == "sgd_step":
        for D, C, N, lr, reg in [(6, 3, 5, 0.1, 0.0), (20, 10, 32, 1e-3, 0.5), (4, 2, 1, 0.5, 2.0)]:
            cases.append({"function": function_name,
                          "label": f"W ({D}, {C}), X_batch ({N}, {D}), learning_rate={lr:g}, reg={reg:g}",
                          "inputs": {"loss_fn": "probe", "W": rng.standard_normal((D, C)),
                                     "X_batch": rng.standard_normal((N, D)),
                                     "y_batch": rng.integers(0, C, N).astype(np.int64),
                                     "learning_rate": lr, "reg": reg}})
    else:  # predict
        for D, C, N in [(5, 3, 7), (30, 10, 100), (4, 2, 1)]:
            cases.append({"function": function_name, "label": f"W ({D}, {C}), X ({N}, {D})",
                          "inputs": {"W": rng.standard_normal((D, C)), "X": rng.standard_normal((N, D))}})
    return cases


def probe_loss(W, X, y, reg):
    """A simple squared-error loss that ``sgd_step`` is graded with.

    Inputs: W (D, C), X (N, D), y (N,) ints in [0, C), reg float.
    Returns (loss float, dW of shape (D, C)): the mean over examples of
    0.5 * ||X[i] @ W - onehot(y[i])||^2, plus reg * sum(W * W).
    """
    N = X.shape[0]
    diff = X @ W
    diff[np.arange(N), y] -= 1.0
    loss = 0.5 * np.sum(diff * diff) / N + reg * np.sum(W * W)
    dW = X.T @ diff / N + 2 * reg * W
    return float(loss), dW


# ----------------------------------------------------------- running and comparing

def _copy_inputs(inputs: dict) -> dict:
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in inputs.items()}


def run_case(fn, case: dict):
    """Call a student's function on one case and return its output as plain data.

    Inputs are copied first, so a function that changes its arguments cannot spoil the
    comparison. Exceptions from the student's code propagate to the caller.
    """
    name = case["function"]
    args = _copy_inputs(case["inputs"])
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if name == "sample_batch":
            seed = args.pop("rng_seed")
            X, y, B = args["X"], args["y"], args["batch_size"]
            return {"batch": fn(X.copy(), y.copy(), B, np.random.default_rng(seed)),
                    "same_seed": fn(X.copy(), y.copy(), B, np.random.default_rng(seed)),
                    "other_seed": fn(X.copy(), y.copy(), B, np.random.default_rng(seed + 1))}
        if name == "sgd_step":
            args["loss_fn"] = probe_loss
        return fn(*args.values())


def reference_output(case: dict):
    """The expected output for one case, computed with the reference in ``linclass``.

    ``sample_batch`` is random, so it has no single expected output; this returns None and
    ``compare_outputs`` checks the batch's properties instead.
    """
    name = case["function"]
    inp = case["inputs"]
    if name in LOSS_FUNCTIONS:
        from linclass.reference import losses
        reference = getattr(losses, name.replace("_naive", "_vectorized"))
        return reference(inp["W"].copy(), inp["X"].copy(), inp["y"].copy(), inp["reg"])
    if name == "sgd_step":
        loss, dW = probe_loss(inp["W"], inp["X_batch"], inp["y_batch"], inp["reg"])
        return inp["W"] - inp["learning_rate"] * dW, loss
    if name == "predict":
        return np.argmax(inp["X"] @ inp["W"], axis=1)
    return None


def _rel_error(got, expected) -> float:
    """Largest absolute difference, relative to the largest expected magnitude."""
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    return float(np.max(np.abs(got - expected)) / max(np.max(np.abs(expected)), 1e-8))


def _as_scalar(value):
    """A real number from a Python/numpy scalar or a 0-d / 1-element array, else None."""
    try:
        arr = np.asarray(value)
    except Exception:
        return None
    if arr.size != 1 or arr.dtype.kind not in "fiub":
        return None
    return float(arr.reshape(()))


def _as_array(value, shape):
    try:
        arr = np.asarray(value)
    except Exception:
        return None, "not an array"
    if arr.dtype.kind not in "fiub":
        return None, f"an array of dtype {arr.dtype}, not numbers"
    if arr.shape != shape:
        return None, f"an array of shape {arr.shape}, expected {shape}"
    return arr.astype(np.float64), ""


def _compare_loss(name, case, student, expected, part):
    label = case["label"]
    inp = case["inputs"]
    if not isinstance(student, (tuple, list)) or len(student) != 2:
        return False, (f"{name} must return a pair (loss, dW); on the case '{label}' it returned "
                       f"{type(student).__name__}.")
    loss, dW = student
    exp_loss, exp_dW = expected
    big_reg = inp["reg"] >= 1.0
    shifted = "shifted" in label
    if part in (None, "loss"):
        value = _as_scalar(loss)
        if value is None:
            return False, f"{name}: the loss must be a single number; on the case '{label}' it was {loss!r:.80}."
        if not np.isfinite(value):
            hint = (" Subtract each example's largest score before np.exp so it cannot overflow."
                    if shifted else "")
            return False, f"{name}: the loss is {value} (not finite) on the case '{label}'.{hint}"
        err = abs(value - exp_loss) / max(abs(exp_loss), 1.0)
        if err > LOSS_RTOL:
            hint = ""
            if big_reg:
                hint = " The regularization term dominates here: check that you add reg * np.sum(W * W) once."
            elif shifted:
                hint = " Subtracting each example's largest score must not change the loss."
            return False, (f"{name}: the loss on the case '{label}' is {value:.6g}, expected "
                           f"{exp_loss:.6g} (relative error {err:.1e}).{hint}")
    if part in (None, "grad"):
        arr, problem = _as_array(dW, inp["W"].shape)
        if arr is None:
            return False, f"{name}: dW must have the shape of W {inp['W'].shape}; on the case '{label}' it was {problem}."
        if not np.all(np.isfinite(arr)):
            hint = (" Subtract each example's largest score before np.exp so it cannot overflow."
                    if shifted else "")
            return False, f"{name}: dW contains NaN or inf on the case '{label}'.{hint}"
        err = _rel_error(arr, exp_dW)
        if err > GRAD_RTOL:
            hint = ""
            if big_reg:
                hint = " The regularization gradient dominates here: it is 2 * reg * W."
            elif inp["reg"] > 0:
                hint = " If dW is right at reg=0, check the regularization gradient, 2 * reg * W."
            return False, (f"{name}: dW on the case '{label}' differs from the expected gradient "
                           f"(largest difference {err:.1e} of its largest entry).{hint}")
    return True, f"{name}: {'loss and dW' if part is None else ('loss' if part == 'loss' else 'dW')} correct on the case '{label}'."


def _compare_sample_batch(name, case, student):
    label = case["label"]
    inp = case["inputs"]
    X, y, B = inp["X"], inp["y"], inp["batch_size"]
    N, D = X.shape
    batches = {}
    for key in ("batch", "same_seed", "other_seed"):
        out = student[key]
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            return False, f"{name} must return a pair (X_batch, y_batch); on the case '{label}' it returned {type(out).__name__}."
        Xb, problem = _as_array(out[0], (B, D))
        if Xb is None:
            return False, f"{name}: X_batch must have shape (batch_size, D) = {(B, D)}; on the case '{label}' it was {problem}."
        yb = np.asarray(out[1])
        if yb.shape != (B,) or yb.dtype.kind not in "iu":
            return False, (f"{name}: y_batch must be an int array of shape (batch_size,) = ({B},); "
                           f"on the case '{label}' it had shape {yb.shape} and dtype {yb.dtype}.")
        batches[key] = (Xb, yb)
    Xb, yb = batches["batch"]
    rows = Xb[:, 0]
    if not np.all((rows == np.round(rows)) & (rows >= 0) & (rows < N)):
        return False, f"{name}: on the case '{label}' some rows of X_batch are not rows of X."
    idx = rows.astype(np.int64)
    if not np.array_equal(X[idx], Xb):
        return False, f"{name}: on the case '{label}' some rows of X_batch are not rows of X."
    if not np.array_equal(y[idx], yb):
        return False, (f"{name}: on the case '{label}' y_batch does not hold the labels of the rows in "
                       "X_batch; use the same indices for X and y.")
    same_X, same_y = batches["same_seed"]
    if not (np.array_equal(same_X, Xb) and np.array_equal(same_y, yb)):
        return False, (f"{name}: two generators with the same seed gave different batches on the case "
                       f"'{label}'; draw the indices with the rng argument (rng.choice or rng.integers), "
                       "not with np.random.")
    if B > N:
        # Drawn with replacement, 200 rows out of 50 cover almost every row; a fixed
        # slice or a sampler that ignores most rows does not.
        if len(np.unique(idx)) < 0.7 * N:
            return False, (f"{name}: on the case '{label}' the batch covers only {len(np.unique(idx))} "
                           f"of the {N} rows; draw every index uniformly from 0..N-1.")
        other_X = batches["other_seed"][0]
        if np.array_equal(other_X, Xb):
            return False, (f"{name}: generators with different seeds gave the same batch on the case "
                           f"'{label}'; draw the indices with the rng argument.")
    return True, f"{name}: the batch is drawn correctly on the case '{label}'."


def _compare_sgd_step(name, case, student, expected):
    label = case["label"]
    inp = case["inputs"]
    if not isinstance(student, (tuple, list)) or len(student) != 2:
        return False, f"{name} must return a pair (W_new, loss); on the case '{label}' it returned {type(student).__name__}."
    W_new, problem = _as_array(student[0], inp["W"].shape)
    if W_new is None:
        return False, f"{name}: W_new must have the shape of W {inp['W'].shape}; on the case '{label}' it was {problem}."
    loss = _as_scalar(student[1])
    if loss is None:
        return False, f"{name}: the loss must be a single number; on the case '{label}' it was {student[1]!r:.80}."
    exp_W, exp_loss = expected
    W, lr = inp["W"], inp["learning_rate"]
    if _rel_error(W_new, exp_W) > GRAD_RTOL:
        grad = (W - exp_W) / lr
        if _rel_error(W_new, W + lr * grad) <= GRAD_RTOL:
            hint = " It moved W uphill: subtract learning_rate * dW."
        elif _rel_error(W_new, W - grad) <= GRAD_RTOL:
            hint = " Multiply the gradient by learning_rate."
        elif _rel_error(W_new, W) <= GRAD_RTOL:
            hint = " W did not change: return the updated weights."
        else:
            hint = " Call loss_fn(W, X_batch, y_batch, reg) and step to W - learning_rate * dW."
        return False, f"{name}: W_new on the case '{label}' is not one gradient-descent step from W.{hint}"
    if abs(loss - exp_loss) > LOSS_RTOL * max(abs(exp_loss), 1.0):
        return False, (f"{name}: the returned loss on the case '{label}' is {loss:.6g}, expected "
                       f"{exp_loss:.6g}: return the loss that loss_fn gave at W, before the step.")
    return True, f"{name}: the step is correct on the case '{label}'."


def _compare_predict(name, case, student, expected):
    label = case["label"]
    N = case["inputs"]["X"].shape[0]
    pred = np.asarray(student)
    if pred.shape != (N,):
        return False, f"{name}: y_pred must have shape (N,) = ({N},); on the case '{label}' it had shape {pred.shape}."
    if pred.dtype.kind not in "iu":
        return False, f"{name}: y_pred must hold ints (class indices); on the case '{label}' its dtype was {pred.dtype}."
    wrong = int(np.sum(pred != expected))
    if wrong:
        return False, (f"{name}: on the case '{label}' {wrong} of {N} predictions are wrong; predict the class "
                       "with the highest score, np.argmax(scores, axis=1).")
    return True, f"{name}: predictions correct on the case '{label}'."


def compare_outputs(function_name: str, case: dict, student_output, reference_output, part=None):
    """Compare a student's output on one case with the expected output. Pure: runs no student code.

    Inputs:
    - function_name: str, one of GRADED_FUNCTIONS.
    - case: dict from ``make_cases``.
    - student_output: what ``run_case`` returned (plain data).
    - reference_output: what ``reference_output(case)`` returned.
    - part: for the losses, "loss", "grad" or None (both); ignored otherwise.

    Returns (ok: bool, message: str); the message names the check and the case.
    """
    _check_name(function_name)
    if part not in (None, "loss", "grad"):
        raise ValueError(f"part must be 'loss', 'grad' or None; got {part!r}")
    with np.errstate(all="ignore"):
        try:
            if function_name in LOSS_FUNCTIONS:
                return _compare_loss(function_name, case, student_output, reference_output, part)
            if function_name == "sample_batch":
                return _compare_sample_batch(function_name, case, student_output)
            if function_name == "sgd_step":
                return _compare_sgd_step(function_name, case, student_output, reference_output)
            return _compare_predict(function_name, case, student_output, reference_output)
        except (TypeError, ValueError, IndexError, KeyError, OverflowError) as err:
            # Outputs of an unexpected kind must give a verdict, not crash the grader.
            return False, (f"{function_name}: the output on the case '{case.get('label')}' could not be "
                           f"checked ({type(err).__name__}: {err}).")


# ------------------------------------------------------------------------ tracing

def _library_prefixes() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    prefixes = {str(Path(paths[key]).resolve()) for key in ("stdlib", "platstdlib", "purelib", "platlib")
                if key in paths}
    prefixes.add(str(_PACKAGE_DIR))
    # A folder prefix must end with a separator, or /x/lib would also claim /x/library.
    return tuple(sorted(p.rstrip("/\\") + "/" if p != "/" else p for p in prefixes if len(p) > 1))


def _make_tracer(library_prefixes, counts: dict, called_files: set):
    library_cache: dict[str, bool] = {}

    def is_library(filename: str) -> bool:
        hit = library_cache.get(filename)
        if hit is None:
            resolved = filename
            if not filename.startswith("<"):
                try:
                    resolved = str(Path(filename).resolve())
                except OSError:
                    pass
            hit = filename.startswith("<frozen") or resolved.startswith(library_prefixes)
            library_cache[filename] = hit
            if hit:
                called_files.add(resolved)
        return hit

    def local(frame, event, arg):
        if event == "line":
            counts["events"] += 1
        return local

    def tracer(frame, event, arg):
        if is_library(frame.f_code.co_filename):
            return None  # no line events inside numpy, the standard library or linclass
        counts["events"] += 1
        return local

    return tracer


def _traced_call(fn, args):
    counts = {"events": 0}
    called: set[str] = set()
    tracer = _make_tracer(_library_prefixes(), counts, called)
    previous = sys.gettrace()
    error = None
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        sys.settrace(tracer)
        try:
            fn(*args)
        except Exception as err:  # the verdict reports it; the grader must keep going
            error = f"{type(err).__name__}: {err}"
        finally:
            sys.settrace(previous)
    return counts["events"], called, error


def _defined_in(fn):
    code = getattr(getattr(fn, "__wrapped__", fn), "__code__", None)
    return None if code is None else code.co_filename


def code_fingerprint(fn) -> str | None:
    """sha256 of what a function's code does, or None when fn is not a Python function.

    Bytecode, names, local variable names and constants go in, nested functions included;
    the file name, the line numbers and the docstring stay out. So two functions compiled
    from the same source text get the same fingerprint wherever and under whatever file
    name they were compiled, while code a student wrote differs in at least a name.
    """
    fn = getattr(fn, "__wrapped__", fn)
    code = getattr(fn, "__code__", None)
    if not isinstance(code, types.CodeType):
        return None
    digest = hashlib.sha256()

    def feed(c, docstring):
        digest.update(c.co_code)
        digest.update(repr((c.co_names, c.co_varnames)).encode())
        for const in c.co_consts:
            if isinstance(const, types.CodeType):
                feed(const, None)
            elif not (docstring is not None and const == docstring):
                digest.update(repr(const).encode())

    feed(code, fn.__doc__)
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def reference_fingerprints() -> dict:
    """{fingerprint: "linclass.module.function"} for every function and method of the reference."""
    found = {}
    for module_name in ("losses", "fast", "classifiers", "tuning", "regularizers"):
        module = importlib.import_module(f"linclass.reference.{module_name}")
        for name, obj in vars(module).items():
            members = [(name, obj)]
            if inspect.isclass(obj) and obj.__module__ == module.__name__:
                members = [(f"{name}.{k}", v) for k, v in vars(obj).items()]
            for qualname, member in members:
                if inspect.isfunction(member) and member.__module__ == module.__name__:
                    found.setdefault(code_fingerprint(member), f"linclass.reference.{module_name}.{qualname}")
    return found


def trace_profile(fn, function_name: str, seed: int = 0) -> dict:
    """Run a student's function under a line tracer at two sizes of N; return plain data.

    Inputs: fn, the student's function; function_name, one of GRADED_FUNCTIONS; seed, int.
    Returns a dict: ``function``, ``sizes`` (the two N), ``events`` (Python line and call
    events in the student's own code at each size), ``reference_calls`` (files of the
    reference that ran during the calls), ``defined_in`` (the file holding fn's code, or
    None when fn is not a Python function), ``fingerprint`` (``code_fingerprint(fn)``) and
    ``error`` (an exception message or None).
    """
    _check_name(function_name)
    rng = np.random.default_rng([int(seed), 99, GRADED_FUNCTIONS.index(function_name)])
    D, C = 30, 10
    W = 0.01 * rng.standard_normal((D, C))
    events, reference_calls, error = [], set(), None
    for N in VECTOR_SIZES:
        X = rng.standard_normal((N, D))
        y = rng.integers(0, C, N)
        if function_name in LOSS_FUNCTIONS:
            args = (W.copy(), X, y, 0.1)
        elif function_name == "sample_batch":
            args = (X, y, N // 2, np.random.default_rng(seed))
        elif function_name == "sgd_step":
            args = (probe_loss, W.copy(), X, y, 1e-3, 0.1)
        else:
            args = (W.copy(), X)
        count, called, err = _traced_call(fn, args)
        events.append(count)
        reference_calls |= {f for f in called if f in REFERENCE_FILES}
        error = error or err
    return {"function": function_name, "sizes": list(VECTOR_SIZES), "events": events,
            "reference_calls": sorted(Path(f).name for f in reference_calls),
            "defined_in": _defined_in(fn), "fingerprint": code_fingerprint(fn), "error": error}


def judge_not_reference(profile: dict) -> tuple[bool, str]:
    """From a trace profile: did the student write the function, rather than call linclass's?"""
    name = profile["function"]
    where = profile["defined_in"]
    if where is None:
        return False, f"{name} must be a function you define with def in the notebook."
    try:
        resolved = str(Path(where).resolve())
    except (OSError, ValueError):
        resolved = where
    if resolved.startswith(str(_PACKAGE_DIR) + "/"):
        return False, f"{name} is imported from linclass; write it yourself in the notebook. It earns no points."
    if resolved.startswith(_library_prefixes()):
        return False, f"{name} must be a function you define with def in the notebook, not a library function."
    copied = reference_fingerprints().get(profile.get("fingerprint"))
    if copied:
        return False, (f"{name} is a copy of the reference implementation {copied}, compiled in the "
                       "notebook; write it yourself. It earns no points.")
    if profile["reference_calls"]:
        return False, (f"{name} calls the reference implementation in linclass "
                       f"({', '.join(profile['reference_calls'])}); write it yourself. It earns no points.")
    return True, f"{name} is your own code."


def judge_vectorized(profile: dict) -> tuple[bool, str]:
    """From a trace profile: does the function run the same Python lines whatever N is?"""
    name = profile["function"]
    if profile["error"]:
        return False, f"{name} raised {profile['error']} while checking vectorization."
    (n1, n2), (e1, e2) = profile["sizes"], profile["events"]
    # A loop over examples adds at least one line event per extra example.
    if e2 - e1 >= (n2 - n1) // 2:
        return False, (f"{name} still runs Python code once per example: {e1} lines ran for N={n1} "
                       f"and {e2} for N={n2}. Remove the loop over examples (and any call to the naive "
                       "version) and use whole-array numpy operations.")
    return True, f"{name} is vectorized: the same Python lines run for N={n1} and N={n2}."


# ---------------------------------------------------------------- in-kernel checks

@contextlib.contextmanager
def quiet():
    """Silence Python and numpy warnings inside a test cell.

    nbgrader scores a test cell 0 when anything reaches stderr, so the visible tests run
    the student's code inside ``with grading.quiet():``.
    """
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def _run_checks(fn, function_name, seed, part):
    for case in make_cases(function_name, seed):
        try:
            student = run_case(fn, case)
        except NotImplementedError as err:
            raise AssertionError(f"{function_name} is not written yet ({err})") from None
        except Exception as err:
            raise AssertionError(f"{function_name} raised {type(err).__name__}: {err} on the case "
                                 f"'{case['label']}'.") from None
        ok, message = compare_outputs(function_name, case, student, reference_output(case), part=part)
        if not ok:
            raise AssertionError(message)


def check_not_reference(fn, function_name: str, seed: int = 0) -> None:
    """Raise AssertionError if fn is, or calls, the reference answer in linclass."""
    ok, message = judge_not_reference(trace_profile(fn, function_name, seed))
    if not ok:
        raise AssertionError(message)


def check_loss(fn, function_name: str, seed: int = 0, part=None) -> None:
    """Hidden test for a loss: compare loss and/or dW with the reference on every case.

    Inputs: fn, the student's loss (W, X, y, reg) -> (loss, dW); function_name, one of
    LOSS_FUNCTIONS; seed, int; part, "loss", "grad" or None (both).
    Raises AssertionError with a message naming the failed check.
    """
    if function_name not in LOSS_FUNCTIONS:
        raise ValueError(f"function_name must be one of {', '.join(LOSS_FUNCTIONS)}; got {function_name!r}")
    check_not_reference(fn, function_name, seed)
    _run_checks(fn, function_name, seed, part)


def check_vectorized(fn, function_name: str, seed: int = 0) -> None:
    """Hidden test for vectorization: correct on every case, own code, and no loop over examples."""
    check_loss(fn, function_name, seed, part=None)
    ok, message = judge_vectorized(trace_profile(fn, function_name, seed))
    if not ok:
        raise AssertionError(message)


def check_function(fn, function_name: str, seed: int = 0) -> None:
    """Hidden test for sample_batch, sgd_step or predict: own code and correct on every case."""
    if function_name not in OTHER_FUNCTIONS:
        raise ValueError(f"function_name must be one of {', '.join(OTHER_FUNCTIONS)}; got {function_name!r}")
    check_not_reference(fn, function_name, seed)
    _run_checks(fn, function_name, seed, None)
