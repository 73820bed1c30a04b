"""Verdicts in the grader's clean process: compare the probe's outputs with the answer key.

Nothing here runs student code. The probe driver (``autograder.probe_driver``) called each
student function on the cases of ``autograder.registry`` and brought back plain, bounded
data; this module computes the reference outputs on the same cases, decides each check, and
names the mistake from the catalogue in ``autograder/bugs.py``.

Vectorization and "own code" are judged from a profile: the Python line events that ran in
the student's own code on two fresh cases of different N (a loop over examples runs more
lines when N grows), the file the function's code comes from, and its code fingerprint.
Timing is never used, so the verdict does not depend on how busy the machine is.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autograder import answer_key, bugs, cases, registry
from autograder.harness.calls import library_prefixes
from autograder.harness.wire import Unsupported
from autograder.probe_driver import ProbeRecord

# A vectorized loss runs a few dozen Python lines (a loop over the C classes included); a
# loop padded to a fixed count so that it does not grow with N runs hundreds.
MAX_VECTORIZED_LINES = 400


@dataclass
class FunctionVerdict:
    """Everything the grader concluded about one graded function."""

    name: str
    """The function's name."""
    defined: bool
    """True when the answer cells define it."""
    checks: dict = field(default_factory=dict)
    """check ("loss", "grad", "vectorized", "all") -> (ok, message)."""
    bugs: tuple = ()
    """The named mistakes (bugs.Bug)."""
    calls_reference: bool = False
    """True when it is, copies or calls the reference, or its code is not the answer cell's."""


def profile_of(record: ProbeRecord) -> dict:
    """The plain-data profile of a record, for judge_vectorized and judge_not_reference."""
    errors = [v for ok, v in record.trace_outputs if not ok]
    return {"function": record.name, "sizes": list(cases.VECTOR_SIZES), "events": list(record.events),
            "reference_calls": sorted(set(record.reference_calls)), "defined_in": record.defined_in,
            "fingerprint": record.fingerprint,
            "error": errors[0] if errors else (record.error if not record.events else None)}


def judge_not_reference(profile: dict) -> tuple[bool, str]:
    """From a profile: did the student write the function, rather than take the reference's?"""
    name = profile["function"]
    where = profile["defined_in"]
    if where is None:
        return False, f"{name} must be a function you define with def in the notebook."
    if answer_key.is_answer_key_file(where):
        return False, f"{name} is imported from the reference; write it yourself in the notebook. It earns no points."
    try:
        resolved = str(Path(where).resolve())
    except (OSError, ValueError):
        resolved = where
    if not where.startswith("<") and resolved.startswith(library_prefixes([answer_key.kit_folder()])):
        return False, f"{name} must be a function you define with def in the notebook, not a library function."
    copied = answer_key.fingerprints().get(profile.get("fingerprint") or "")
    if copied:
        return False, (f"{name} is a copy of the reference implementation {copied}, compiled in the "
                       "notebook; write it yourself. It earns no points.")
    if profile.get("reference_calls"):
        return False, (f"{name} calls the reference implementation "
                       f"({', '.join(profile['reference_calls'])}); write it yourself. It earns no points.")
    return True, f"{name} is your own code."


def judge_vectorized(profile: dict) -> tuple[bool, str]:
    """From a profile: does the function run the same Python lines whatever N is?"""
    name = profile["function"]
    if profile.get("error"):
        return False, f"{name} raised {profile['error']} while checking vectorization."
    events = profile.get("events") or []
    if len(events) != 2 or not all(type(e) is int for e in events):
        return False, f"{name}: the vectorization check did not finish."
    (n1, n2), (e1, e2) = profile["sizes"], events
    # A loop over examples adds at least one line event per extra example.
    if e2 - e1 >= (n2 - n1) // 2:
        return False, (f"{name} still runs Python code once per example: {e1} lines ran for N={n1} "
                       f"and {e2} for N={n2}. Remove the loop over examples (and any call to the naive "
                       "version) and use whole-array numpy operations.")
    if e1 > MAX_VECTORIZED_LINES:
        return False, (f"{name} runs {e1} Python lines for N={n1} examples: a vectorized loss runs a few "
                       "dozen. Remove the loop and use whole-array numpy operations.")
    return True, f"{name} is vectorized: the same Python lines run for N={n1} and N={n2}."


def _unsupported(value) -> str | None:
    """The description of the first value that was not plain data, or None."""
    if isinstance(value, Unsupported):
        return str(value)
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (tuple, list)) else ()
    for item in items:
        found = _unsupported(item)
        if found:
            return found
    return None


def _compare_all(name, outputs, case_list, references, part):
    if len(outputs) < len(case_list):
        return False, f"{name}: only {len(outputs)} of {len(case_list)} cases finished (the probe stopped early)."
    for (ok, value), case, ref in zip(outputs, case_list, references):
        if not ok:
            return False, f"{name} raised {value} on the case '{case['label']}'."
        odd = _unsupported(value)
        if odd:
            return False, (f"{name} returned {odd} on the case '{case['label']}': return plain numbers "
                           "(float), tuples and numpy arrays.")
        good, message = registry.compare_outputs(name, case, value, ref, part=part)
        if not good:
            return False, message
    return True, f"{name}: correct on all {len(case_list)} cases."


def _all_finite(value) -> bool:
    if isinstance(value, (tuple, list)):
        return all(_all_finite(v) for v in value)
    try:
        return bool(np.all(np.isfinite(np.asarray(value, dtype=np.float64))))
    except (TypeError, ValueError):
        return True


def _variant_matches(fn, outputs, case_list) -> bool:
    for (ok, value), case in zip(outputs, case_list):
        with np.errstate(all="ignore"):
            try:
                expected = fn(*[v.copy() if isinstance(v, np.ndarray) else v for v in case["inputs"].values()])
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


def _name_bugs(name, outputs, case_list) -> tuple:
    entry = registry.get(name)
    if entry.catalogue is None or len(outputs) < len(case_list) or not any(ok for ok, _ in outputs):
        return ()
    candidates = sorted(entry.catalogue(), key=lambda item: len(item[0]))
    for found, fn in candidates:
        if _variant_matches(fn, outputs, case_list):
            return found
    return ()


def _undefined(name: str, message: str, bug=None) -> FunctionVerdict:
    v = FunctionVerdict(name, False, bugs=(bug,) if bug else ())
    v.checks = {c: (False, message) for c in registry.CHECKS}
    return v


def verify_function(record: ProbeRecord | None, name: str) -> FunctionVerdict:
    """Decide every check for one function from its probe record (None: never reached)."""
    if record is None:
        return _undefined(name, f"{name} could not be checked: the probe stopped before reaching it.")
    if not record.defined:
        return _undefined(name, f"{name} is not defined after running your answer cells.", bugs.NOT_DEFINED)
    entry = registry.get(name)
    case_list, outputs = list(record.cases), list(record.outputs)
    if entry.is_loss:
        # The traced calls' outputs count like any other case's: a loss that behaves
        # differently when traced gains nothing. (sample_batch's traced call is a single
        # draw, not the three draws its comparison needs.)
        case_list += record.trace_cases[:len(record.trace_outputs)]
        outputs += record.trace_outputs
    references = [registry.reference_output(c) for c in case_list]
    v = FunctionVerdict(name, True)
    if entry.is_loss:
        for part in ("loss", "grad"):
            v.checks[part] = _compare_all(name, outputs, case_list, references, part)
    v.checks["all"] = _compare_all(name, outputs, case_list, references, None)

    profile = profile_of(record)
    own, own_msg = judge_not_reference(profile)
    copied = answer_key.fingerprints().get(record.fingerprint or "")
    from_key = answer_key.is_answer_key_file(record.defined_in or "") or bool(record.reference_calls)
    if not own and (copied or from_key):
        v.calls_reference = True
    if own and not str(record.defined_in).startswith("<cell-"):
        own, own_msg = False, (f"{name} is not defined by the code in your answer cell (its code comes "
                               f"from {str(record.defined_in)[:80]!r}); write it there yourself. It earns no points.")
        v.calls_reference = True
    if not own:
        v.checks = {c: (False, own_msg) for c in v.checks}

    named = []
    if v.calls_reference:
        named.append(bugs.CALLS_REFERENCE if copied or from_key else bugs.NOT_OWN_CELL)
    elif not v.checks["all"][0]:
        named.extend(_name_bugs(name, record.outputs, record.cases))
        if record.outputs and not any(ok for ok, _ in record.outputs):
            stub = all(str(err).startswith("NotImplementedError") for _, err in record.outputs)
            named.append(bugs.NOT_WRITTEN if stub else bugs.RAISES)
    vec_ok, vec_msg = v.checks["all"]
    if vec_ok:
        vec_ok, vec_msg = judge_vectorized(profile)
        if entry.naive and entry.naive in record.own_calls:
            vec_ok, vec_msg = False, f"{name} calls {entry.naive}; write the vectorized loss without it."
            named.append(bugs.CALLS_NAIVE)
        elif entry.speed_graded and not vec_ok:
            named.append(bugs.LOOPS_OVER_EXAMPLES)
    v.checks["vectorized"] = (vec_ok, vec_msg)
    v.bugs = tuple(named)
    return v
