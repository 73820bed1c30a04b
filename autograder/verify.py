"""Verdicts in the grader's clean process: compare the probe's outputs with the answer key.

Nothing here runs student code. The probe driver (``autograder.probe_driver``) called each
student function on the cases of ``autograder.registry`` and brought back plain, bounded
data; this module computes the reference outputs on the same cases and hands them, with
the vectorization profile and the naive version's outputs, to ``autograder.scoring``, which
decides each part and names the mistakes from the catalogue in ``autograder/bugs.py``.

Vectorization and "own code" are judged from a profile: the Python line events that ran in
the student's own code on two fresh cases of different N (a loop over examples runs more
lines when N grows), the file the function's code comes from, and its code fingerprint.
Timing is never used, so the verdict does not depend on how busy the machine is.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from autograder import answer_key, bugs, cases, registry, scoring
from autograder.harness.calls import library_prefixes
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
    """part ("loss", "grad", "reg", "speed", "all") -> (ok, message)."""
    bugs: tuple = ()
    """The named mistakes (bugs.Bug)."""
    part_bugs: dict = field(default_factory=dict)
    """part -> the named mistakes that explain that part's result."""
    notes: list = field(default_factory=list)
    """Advice that costs no points."""
    labels: dict = field(default_factory=dict)
    """The label of each component of a loss (see bugs.name_parts)."""
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


def _undefined(name: str, message: str, bug=None) -> FunctionVerdict:
    v = FunctionVerdict(name, False, bugs=(bug,) if bug else ())
    v.checks = {c: (False, message) for c in registry.CHECKS}
    v.part_bugs = {c: v.bugs for c in registry.CHECKS}
    return v


def record_cases(record: ProbeRecord) -> tuple[list, list]:
    """(cases, outputs) of a record: the grader's cases, then (losses) the traced calls.

    The traced calls' outputs count like any other case's (reg = 0, role "data"): a loss
    that behaves differently when traced gains nothing. (sample_batch's traced call is a
    single draw, not the three draws its comparison needs.)
    """
    case_list, outputs = list(record.cases), list(record.outputs)
    if registry.get(record.name).is_loss:
        case_list += record.trace_cases[:len(record.trace_outputs)]
        outputs += record.trace_outputs
    return case_list, outputs


def verify_function(record: ProbeRecord | None, name: str, naive: ProbeRecord | None = None,
                    loops: tuple = ()) -> FunctionVerdict:
    """Decide every part of one function from its probe record (None: never reached).

    naive: the probe record of the student's naive version (for a vectorized loss's speed
    part), or None; loops: what the static scan read of loops over the examples in its code.
    The per-part judgement itself is ``autograder.scoring.judge``.
    """
    if record is None:
        return _undefined(name, f"{name} could not be checked: the probe stopped before reaching it.")
    if not record.defined:
        return _undefined(name, f"{name} is not defined after running your answer cells.", bugs.NOT_DEFINED)
    entry = registry.get(name)
    case_list, outputs = record_cases(record)
    references = [registry.reference_output(c) for c in case_list]
    profile = profile_of(record)
    evidence: dict = {}
    if entry.is_loss:
        naive_outputs = None
        if naive is not None and naive.defined and naive.cases and \
                [c["label"] for c in naive.cases] == [c["label"] for c in record.cases]:
            naive_outputs = list(naive.outputs)
        evidence = {"profile": profile, "naive_outputs": naive_outputs, "loops": tuple(loops),
                    "calls_naive": bool(entry.naive and entry.naive in record.own_calls)}
    judged = scoring.judge(name, case_list, outputs, references, **evidence)
    v = FunctionVerdict(name, True)
    v.checks = {part: (pv.ok, pv.message) for part, pv in judged.parts.items()}
    v.part_bugs = {part: pv.mistakes for part, pv in judged.parts.items()}
    v.notes = list(judged.notes)
    v.labels = dict(judged.labels)
    if len(outputs) < len(case_list):
        v.checks = {c: (False, f"{name}: only {len(outputs)} of {len(case_list)} cases finished "
                                "(the probe stopped early).") for c in v.checks}

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
        bug = bugs.CALLS_REFERENCE if v.calls_reference and (copied or from_key) else bugs.NOT_OWN_CELL
        v.bugs = (bug,) if v.calls_reference else ()
        v.part_bugs = {c: v.bugs for c in v.checks}
        v.notes = []
        return v
    v.bugs = judged.bugs
    return v
