"""The grader's cases and comparisons: fresh inputs, the expected outputs, and the verdicts.

This module runs only in the grader's own process (it reads the answer key); nothing here
ever enters the grading sandbox. The probe there receives one case at a time over a pipe.

1. **Cases** (plain data, no student code involved)::

       cases = registry.make_cases("svm_loss_vectorized", seed)

   Each case is a dict ``{"function": name, "label": str, "inputs": {...}}`` whose ``inputs``
   hold numpy arrays and plain numbers, keyed by argument name in call order. The cases cover
   several shapes, ties between scores, a large regularization strength (2.5e4, with W scaled
   so it matters) and, for softmax, scores shifted up by 1e3 (only code that subtracts the
   maximum score survives that). The grader draws a fresh seed for every submission.

2. **Comparing** (pure)::

       expected = registry.reference_output(case)
       ok, message = registry.compare_outputs("svm_loss_vectorized", case, student, expected, part="loss")

   Messages say what was checked and what went wrong, never the hidden code.

Which function uses which maker and comparison is stated once, in ``autograder.registry``.
"""
from __future__ import annotations

import numpy as np

LARGE_REG = 2.5e4
LOSS_RTOL = 1e-6      # the reference and a correct answer agree to ~1e-12; this leaves room
GRAD_RTOL = 1e-6      # relative to the largest entry of the expected gradient
VECTOR_SIZES = (40, 160)  # N for the two runs of the vectorization trace


# ----------------------------------------------------------------------------- cases

def _loss_case(label, W, X, y, reg, function_name):
    return {"function": function_name, "label": label,
            "inputs": {"W": np.asarray(W, dtype=np.float64), "X": np.asarray(X, dtype=np.float64),
                       "y": np.asarray(y, dtype=np.int64), "reg": float(reg)}}


def loss_cases(function_name: str, rng: np.random.Generator) -> list[dict]:
    """Cases for a loss, each with a "role" that says which part it counts for.

    - "data": reg = 0; the loss part and the gradient part compare with the reference.
      Several shapes (N = 1 included) and tied scores.
    - "stability" (softmax): reg = 0 and EVERY score of the problem shifted up by the same
      1e3. Any max-subtraction (of each example's scores or of the whole score matrix) and
      log-sum-exp pass it; exponentiating the raw scores overflows. It counts like "data".
    - "reg": reg > 0 on the same W, X, y as the "data" case at index ``base``; the
      regularization part compares the differences loss(reg) - loss(0) and dW(reg) - dW(0)
      with reg * sum(W * W) and 2 * reg * W. Three pairs (N = 50, 40, 4; reg = 0.1, 2.5e4
      with W scaled so the term matters, 3.0) tell the conventions and mistakes apart.
    - "advice" (softmax): reg = 0 and the scores of only some examples shifted up by 1e3. A
      single maximum for the whole matrix underflows there; that is reported as advice,
      never scored.
    """
    cases: list[dict] = []

    def add(label, W, X, y, reg, role, base=None):
        case = _loss_case(label, W, X, y, reg, function_name)
        case["role"] = role
        if base is not None:
            case["base"] = base
        cases.append(case)
        return len(cases) - 1

    def random_problem(D, C, N, scale):
        return scale * rng.standard_normal((D, C)), rng.standard_normal((N, D)), rng.integers(0, C, N)

    pairs = []
    for D, C, N, scale, reg in [(5, 3, 4, 0.5, 3.0), (20, 10, 50, 0.5, 0.1), (12, 4, 1, 0.5, None),
                                (30, 10, 40, 1e-3, LARGE_REG)]:
        W, X, y = random_problem(D, C, N, scale)
        base = add(f"random inputs, W {W.shape}, X {X.shape}, reg=0", W, X, y, 0.0, "data")
        if reg is not None:
            pairs.append((base, W, X, y, reg))

    # Ties: scores on a grid of 0.75 so many classes score exactly the same as the
    # correct class, while no SVM margin lands exactly on the hinge's kink
    # (s_j - s_y + 1 = 0 would need a difference of exactly -1).
    D, C, N = 8, 5, 30
    X = (rng.random((N, D)) < 0.5).astype(np.float64)
    W = 0.75 * rng.integers(-1, 2, (D, C)).astype(np.float64)
    y = rng.integers(0, C, N)
    add(f"tied scores, W {W.shape}, X {X.shape}, reg=0", W, X, y, 0.0, "data")

    if function_name.startswith("softmax"):
        # The last feature adds the same amount to every class's score.
        D, C, N = 10, 6, 20
        W = 0.5 * rng.standard_normal((D, C))
        W[-1] = 1.0
        X = rng.standard_normal((N, D))
        X[:, -1] = 1000.0
        y = rng.integers(0, C, N)
        add(f"every score shifted up by 1e3, W {W.shape}, X {X.shape}, reg=0", W, X, y, 0.0, "stability")
        X = X.copy()
        X[:, -1] = np.where(np.arange(N) % 2 == 0, 1000.0, 0.0)
        add(f"half of the examples' scores shifted up by 1e3, W {W.shape}, X {X.shape}, reg=0",
            W, X, y, 0.0, "advice")

    for base, W, X, y, reg in pairs:
        add(f"the same inputs as '{cases[base]['label'][:-len(', reg=0')]}' at reg={reg:g}",
            W, X, y, reg, "reg", base)
    return cases


def sample_batch_cases(function_name: str, rng: np.random.Generator) -> list[dict]:
    """Cases for sample_batch: B > N (drawn with replacement), B < N, and N = B = 1... small."""
    cases = []
    for N, D, B in [(50, 4, 200), (1000, 3, 16), (5, 2, 1)]:
        X = rng.standard_normal((N, D))
        X[:, 0] = np.arange(N)  # a row id, so each sampled row can be traced back
        y = rng.integers(0, 10, N)
        cases.append({"function": function_name,
                      "label": f"X {X.shape}, batch_size={B}",
                      "inputs": {"X": X, "y": y.astype(np.int64), "batch_size": B,
                                 "rng_seed": int(rng.integers(2**31))}})
    return cases


def sgd_step_cases(function_name: str, rng: np.random.Generator) -> list[dict]:
    """Cases for sgd_step, called with the squared-error ``probe_loss``."""
    cases = []
    for D, C, N, lr, reg in [(6, 3, 5, 0.1, 0.0), (20, 10, 32, 1e-3, 0.5), (4, 2, 1, 0.5, 2.0)]:
        cases.append({"function": function_name,
                      "label": f"W ({D}, {C}), X_batch ({N}, {D}), learning_rate={lr:g}, reg={reg:g}",
                      "inputs": {"loss_fn": "probe", "W": rng.standard_normal((D, C)),
                                 "X_batch": rng.standard_normal((N, D)),
                                 "y_batch": rng.integers(0, C, N).astype(np.int64),
                                 "learning_rate": lr, "reg": reg}})
    return cases


def predict_cases(function_name: str, rng: np.random.Generator) -> list[dict]:
    """Cases for predict: several shapes, N = 1 included."""
    return [{"function": function_name, "label": f"W ({D}, {C}), X ({N}, {D})",
             "inputs": {"W": rng.standard_normal((D, C)), "X": rng.standard_normal((N, D))}}
            for D, C, N in [(5, 3, 7), (30, 10, 100), (4, 2, 1)]]


# ----------------------------------------------------------- running and comparing

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


def compare_loss(name, case, student, expected, part):
    """Compare a loss's output on one case with the reference's: part "loss", "grad" or None (both).

    Returns (ok, message). The hints speak only about what this case isolates: the data
    cases are at reg = 0, so a message here never blames the regularization.
    """
    label = case["label"]
    inp = case["inputs"]
    if not isinstance(student, (tuple, list)) or len(student) != 2:
        return False, (f"{name} must return a pair (loss, dW); on the case '{label}' it returned "
                       f"{type(student).__name__}.")
    loss, dW = student
    exp_loss, exp_dW = expected
    shifted = case.get("role") == "stability"
    overflow = (" Subtract the largest score before np.exp (each example's, or the whole score "
                "matrix's) so that it cannot overflow." if shifted else "")
    if part in (None, "loss"):
        value = _as_scalar(loss)
        if value is None:
            return False, f"{name}: the loss must be a single number; on the case '{label}' it was {loss!r:.80}."
        if not np.isfinite(value):
            return False, f"{name}: the loss is {value} (not finite) on the case '{label}'.{overflow}"
        err = abs(value - exp_loss) / max(abs(exp_loss), 1.0)
        if err > LOSS_RTOL:
            hint = " Subtracting a constant from the scores must not change the loss." if shifted else ""
            return False, (f"{name}: the loss on the case '{label}' is {value:.6g}, expected "
                           f"{exp_loss:.6g} (relative error {err:.1e}).{hint}")
    if part in (None, "grad"):
        arr, problem = _as_array(dW, inp["W"].shape)
        if arr is None:
            return False, (f"{name}: dW must have the shape of W {inp['W'].shape}; on the case '{label}' "
                           f"it was {problem}.")
        if not np.all(np.isfinite(arr)):
            return False, f"{name}: dW contains NaN or inf on the case '{label}'.{overflow}"
        err = _rel_error(arr, exp_dW)
        if err > GRAD_RTOL:
            return False, (f"{name}: dW on the case '{label}' differs from the expected gradient "
                           f"(largest difference {err:.1e} of its largest entry).")
    what = "loss and dW" if part is None else ("loss" if part == "loss" else "dW")
    return True, f"{name}: {what} correct on the case '{label}'."


def reg_differences(base_output, reg_output, shape):
    """(loss(reg) - loss(0), dW(reg) - dW(0)) from two outputs, or (None, problem) when unusable."""
    for out in (base_output, reg_output):
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            return None, "it did not return a pair (loss, dW)"
    l0, lr = _as_scalar(base_output[0]), _as_scalar(reg_output[0])
    g0, p0 = _as_array(base_output[1], shape)
    gr, pr = _as_array(reg_output[1], shape)
    if l0 is None or lr is None:
        return None, "the loss was not a single number"
    if g0 is None or gr is None:
        return None, f"dW was {p0 or pr}"
    if not (np.isfinite(l0) and np.isfinite(lr) and np.all(np.isfinite(g0)) and np.all(np.isfinite(gr))):
        return None, "the loss or dW was not finite"
    return (lr - l0, gr - g0, l0, g0), ""


def reg_term_matches(diff, term, base_loss) -> bool:
    """True when a loss difference equals a regularization term (rounding of the two losses allowed)."""
    return abs(diff - term) <= LOSS_RTOL * max(abs(term), abs(base_loss), 1e-12)


def reg_grad_matches(diff, term, base_grad) -> bool:
    """True when a gradient difference equals a regularization gradient, entry by entry."""
    scale = max(float(np.max(np.abs(term))), float(np.max(np.abs(base_grad))), 1e-12)
    return float(np.max(np.abs(diff - term))) <= GRAD_RTOL * scale


def compare_reg(name, reg_case, base_output, reg_output):
    """The regularization on one pair of cases (same W, X, y at reg = 0 and at reg > 0).

    loss(reg) - loss(0) must be reg * sum(W * W) and dW(reg) - dW(0) must be 2 * reg * W,
    whatever the data part does. Returns (ok, message).
    """
    inp = reg_case["inputs"]
    W, reg, label = inp["W"], inp["reg"], reg_case["label"]
    found, problem = reg_differences(base_output, reg_output, W.shape)
    if found is None:
        return False, f"{name}: the regularization could not be checked on the case '{label}': {problem}."
    dloss, dgrad, l0, g0 = found
    term = reg * float(np.sum(W * W))
    if not reg_term_matches(dloss, term, l0):
        return False, (f"{name}: on the case '{label}' the loss grew by {dloss:.6g} from reg = 0, expected "
                       f"reg * np.sum(W * W) = {term:.6g}.")
    if not reg_grad_matches(dgrad, 2 * reg * W, g0):
        return False, (f"{name}: on the case '{label}' dW changed from reg = 0 by something other than "
                       "2 * reg * W.")
    return True, f"{name}: the regularization is right on the case '{label}'."


def compare_sample_batch(name, case, student, expected=None):
    label = case["label"]
    inp = case["inputs"]
    X, y, B = inp["X"], inp["y"], inp["batch_size"]
    N, D = X.shape
    batches = {}
    for key in ("batch", "same_seed", "other_seed"):
        out = student[key]
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            return False, (f"{name} must return a pair (X_batch, y_batch); on the case '{label}' it returned "
                           f"{type(out).__name__}.")
        Xb, problem = _as_array(out[0], (B, D))
        if Xb is None:
            return False, (f"{name}: X_batch must have shape (batch_size, D) = {(B, D)}; on the case '{label}' "
                           f"it was {problem}.")
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


def compare_sgd_step(name, case, student, expected):
    label = case["label"]
    inp = case["inputs"]
    if not isinstance(student, (tuple, list)) or len(student) != 2:
        return False, (f"{name} must return a pair (W_new, loss); on the case '{label}' it returned "
                       f"{type(student).__name__}.")
    W_new, problem = _as_array(student[0], inp["W"].shape)
    if W_new is None:
        return False, (f"{name}: W_new must have the shape of W {inp['W'].shape}; on the case '{label}' "
                       f"it was {problem}.")
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


def compare_predict(name, case, student, expected):
    label = case["label"]
    N = case["inputs"]["X"].shape[0]
    pred = np.asarray(student)
    if pred.shape != (N,):
        return False, f"{name}: y_pred must have shape (N,) = ({N},); on the case '{label}' it had shape {pred.shape}."
    if pred.dtype.kind == "f" and np.all(np.isfinite(pred)) and np.all(pred == np.round(pred)):
        pred = pred.astype(np.int64)  # integer-valued floats are class indices too
    if pred.dtype.kind not in "iu":
        return False, (f"{name}: y_pred must hold class indices (whole numbers); on the case '{label}' "
                       f"it held {pred.dtype} values that are not whole numbers.")
    wrong = int(np.sum(pred != expected))
    if wrong:
        return False, (f"{name}: on the case '{label}' {wrong} of {N} predictions are wrong; predict the class "
                       "with the highest score, np.argmax(scores, axis=1).")
    return True, f"{name}: predictions correct on the case '{label}'."
