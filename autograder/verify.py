"""Verdicts in the grader's clean process: compare the probe's plain-data outputs with linclass.

Nothing here runs student code. The probe (``autograder/harness/probe.py``, in the sandbox)
wrote what each student function returned on the cases of ``linclass.grading.make_cases``;
this module recomputes the reference outputs on the same cases, decides each graded part,
and names the mistake from the catalogue in ``autograder/bugs.py``.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

import numpy as np

from autograder import bugs
from linclass import grading


class Unsupported(str):
    """A return value the probe could not turn into plain data (its description)."""


def decode(value, arrays):
    """Rebuild one encoded return value (see the probe's Encoder) from JSON and arrays."""
    if not isinstance(value, dict):
        return Unsupported("malformed")
    if "array" in value:
        key = value["array"]
        return arrays[key] if key in arrays else Unsupported("missing array")
    if "seq" in value:
        items = [decode(v, arrays) for v in value["seq"]]
        return tuple(items) if value.get("type") == "tuple" else items
    if "dict" in value:
        return {k: decode(v, arrays) for k, v in value["dict"].items()}
    if "none" in value:
        return None
    if "str" in value:
        return str(value["str"])
    return Unsupported(str(value.get("unsupported", "unsupported value")))


def load_probe(json_bytes: bytes, npz_bytes: bytes | None) -> dict:
    """Parse the probe's two files (bytes read from scratch) into plain Python data.

    Returns the probe_output dict with every function's "outputs" decoded into a list of
    (ok: bool, value or error message). Raises ValueError when the files are malformed.
    """
    try:
        out = json.loads(json_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"probe output is not valid JSON: {err}") from None
    arrays = {}
    if npz_bytes:
        with np.load(io.BytesIO(npz_bytes), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    if not isinstance(out, dict) or not isinstance(out.get("functions"), dict):
        raise ValueError("probe output has no 'functions' table")
    for record in out["functions"].values():
        decoded = []
        for item in record.get("outputs", []):
            if item.get("ok"):
                decoded.append((True, decode(item.get("value"), arrays)))
            else:
                decoded.append((False, str(item.get("error", "error"))[:500]))
        record["decoded"] = decoded
    return out


def function_of(grade_id: str) -> tuple[str | None, str]:
    """Split a test cell's grade_id "<function>_<part>" into (function, part)."""
    best = None
    for name in grading.GRADED_FUNCTIONS:
        if (grade_id == name or grade_id.startswith(name + "_")) and (best is None or len(name) > len(best)):
            best = name
    if best is None:
        return None, grade_id
    return best, grade_id[len(best) + 1:]


def part_check(part: str) -> str:
    """Which check a part's name asks for: "loss", "grad", "vectorized" or "all"."""
    p = part.lower()
    if p in ("loss", "value", "sanity"):
        return "loss"
    if p.startswith("grad"):
        return "grad"
    if any(w in p for w in ("vector", "speed", "loop", "fast")):
        return "vectorized"
    return "all"


@dataclass
class FunctionVerdict:
    """Everything the grader concluded about one graded function."""
    name: str
    defined: bool
    checks: dict = field(default_factory=dict)   # check -> (ok, message)
    bugs: tuple = ()                              # named Bug objects
    calls_reference: bool = False


def _case_errors(decoded, cases):
    for (ok, value), case in zip(decoded, cases):
        if not ok:
            yield case, value


def _compare_all(name, decoded, cases, references, part):
    if len(decoded) < len(cases):
        return False, f"{name}: only {len(decoded)} of {len(cases)} cases finished (the probe stopped early)."
    for (ok, value), case, ref in zip(decoded, cases, references):
        if not ok:
            return False, f"{name} raised {value} on the case '{case['label']}'."
        good, message = grading.compare_outputs(name, case, value, ref, part=part)
        if not good:
            return False, message
    return True, f"{name}: correct on all {len(cases)} cases."


def _variant_matches(fn, decoded, cases) -> bool:
    for (ok, value), case in zip(decoded, cases):
        with np.errstate(all="ignore"):
            try:
                expected = fn(*[v.copy() if isinstance(v, np.ndarray) else v
                                for v in case["inputs"].values()])
            except (FloatingPointError, ValueError, ZeroDivisionError):
                expected = None
        if not ok:
            # A crash matches a variant that crashes or overflows on the same case.
            if expected is not None and _all_finite(expected):
                return False
            continue
        if expected is None:
            return False
        if not _all_finite(expected):
            # Overflow shows up differently in different code (nan in dW here, an infinite
            # loss and a finite but wrong dW there): any non-finite output is the same mistake.
            if _all_finite(value):
                return False
            continue
        if not bugs.outputs_match(value, expected):
            return False
    return True


def _all_finite(value) -> bool:
    if isinstance(value, (tuple, list)):
        return all(_all_finite(v) for v in value)
    try:
        return bool(np.all(np.isfinite(np.asarray(value, dtype=np.float64))))
    except (TypeError, ValueError):
        return True


def _name_bugs(name, decoded, cases) -> tuple:
    if len(decoded) < len(cases) or not any(ok for ok, _ in decoded):
        return ()
    if name in grading.LOSS_FUNCTIONS:
        candidates = [(b, fn) for b, fn in bugs.loss_variants(name) if b]
    elif name == "sgd_step":
        candidates = [(b, _with_probe_loss(fn)) for b, fn in bugs.sgd_variants()]
    elif name == "predict":
        candidates = list(bugs.predict_variants())
    else:
        return ()
    candidates.sort(key=lambda item: len(item[0]))
    for found, fn in candidates:
        if _variant_matches(fn, decoded, cases):
            return found
    return ()


def _with_probe_loss(fn):
    def call(loss_fn, W, X, y, lr, reg):
        return fn(grading.probe_loss, W, X, y, lr, reg)
    return call


def verify_function(name: str, record: dict | None, seed: int) -> FunctionVerdict:
    """Decide every check for one function from its probe record.

    name: one of linclass.grading.GRADED_FUNCTIONS; record: the probe's record for it
    (None when the probe never reached it); seed: the seed the probe used.
    """
    if record is None:
        v = FunctionVerdict(name, False)
        msg = f"{name} could not be checked: the probe stopped before reaching it."
        v.checks = {c: (False, msg) for c in ("loss", "grad", "vectorized", "all")}
        return v
    if not record.get("defined"):
        v = FunctionVerdict(name, False, bugs=(bugs.NOT_DEFINED,))
        msg = f"{name} is not defined after running your answer cells."
        v.checks = {c: (False, msg) for c in ("loss", "grad", "vectorized", "all")}
        return v
    cases = grading.make_cases(name, seed)
    references = [grading.reference_output(c) for c in cases]
    decoded = record.get("decoded", [])
    v = FunctionVerdict(name, True)
    parts = ("loss", "grad") if name in grading.LOSS_FUNCTIONS else ()
    for part in parts:
        v.checks[part] = _compare_all(name, decoded, cases, references, part)
    v.checks["all"] = _compare_all(name, decoded, cases, references, None)

    profile = record.get("profile")
    own = True
    if isinstance(profile, dict):
        try:
            own, own_msg = grading.judge_not_reference(profile)
        except (KeyError, TypeError, ValueError):
            own, own_msg = False, f"{name}: its trace could not be read."
    else:
        own, own_msg = False, f"{name}: could not be traced ({record.get('error') or 'no trace'})."
        profile = None
    copied = isinstance(profile, dict) and grading.reference_fingerprints().get(profile.get("fingerprint"))
    if not own and profile is not None and (copied or profile.get("reference_calls") or
                                            profile.get("defined_in") is None or
                                            "linclass" in str(profile.get("defined_in"))):
        v.calls_reference = True
    code_file = record.get("code_file")
    if own and not str(code_file).startswith("<cell-"):
        own, own_msg = False, (f"{name} is not defined by the code in your answer cell (its code comes "
                               f"from {str(code_file)[:80]!r}); write it there yourself. It earns no points.")
        v.calls_reference = True
    if not own:
        v.checks = {c: (False, own_msg) for c in v.checks}

    named = []
    if v.calls_reference:
        named.append(bugs.CALLS_REFERENCE if profile is not None and (
            copied or profile.get("reference_calls") or "linclass" in str(profile.get("defined_in")))
            else bugs.NOT_OWN_CELL)
    elif not v.checks["all"][0]:
        named.extend(_name_bugs(name, decoded, cases))
        if decoded and not any(ok for ok, _ in decoded):
            stub = all(str(err).startswith("NotImplementedError") for _, err in decoded)
            named.append(bugs.NOT_WRITTEN if stub else bugs.RAISES)
    vec_ok, vec_msg = v.checks["all"]
    if vec_ok:
        if profile is not None:
            try:
                vec_ok, vec_msg = grading.judge_vectorized(profile)
            except (KeyError, TypeError, ValueError):
                vec_ok, vec_msg = False, f"{name}: its trace could not be read."
        naive = name.replace("_vectorized", "_naive")
        if name.endswith("_vectorized") and naive in record.get("own_calls", []):
            vec_ok, vec_msg = False, f"{name} calls {naive}; write the vectorized loss without it."
            named.append(bugs.CALLS_NAIVE)
        elif name.endswith("_vectorized") and not vec_ok and profile is not None:
            named.append(bugs.LOOPS_OVER_EXAMPLES)
    v.checks["vectorized"] = (vec_ok, vec_msg)
    v.bugs = tuple(named)
    return v


def describe_check(function: str, check: str) -> str:
    """What a check looks at, in plain words, without revealing the hidden test's code."""
    where = ("on random inputs of several shapes, with tied scores, at reg = 0 and at a large "
             "reg (2.5e4)")
    if function.startswith("softmax"):
        where += ", and with scores shifted up by 1000"
    if check == "loss":
        return f"the loss returned by {function}, compared with the reference {where}"
    if check == "grad":
        return f"the gradient dW returned by {function}, compared with the reference {where}"
    if check == "vectorized":
        return (f"{function} gives correct loss and gradient, and runs no Python loop over the "
                "examples (the lines it runs do not grow with N)")
    if function == "sample_batch":
        return ("the batch's shapes, that its rows come from X with their own labels, that it "
                "uses the rng argument and draws with replacement")
    if function == "sgd_step":
        return "one gradient-descent step W - learning_rate * dW and the loss before the step"
    if function == "predict":
        return "the predicted labels (argmax of the scores) on several inputs"
    return f"the outputs of {function}, compared with the reference {where}"
