"""The hidden tests' checks, for plain ``nbgrader autograde`` on the instructor's machine.

The solution notebooks' hidden tests call these (``from autograder import hidden``). They
run the student's function in the kernel and compare with the answer key, so they run only
where the grader is installed: nbgrader's own autograde on the instructor's machine.
``linclass-grade`` never runs them: it strips the hidden tests before the notebook enters
the sandbox and checks the same things in its own process (``autograder.verify``).

The points are decided by ``autograder.scoring``, the same per-part judgement as
``linclass-grade``'s, on the same cases. Each check raises AssertionError with a message
that names what failed and the likely mistake, never the hidden code. Numpy warnings from
the student's code are silenced: nbgrader counts any text on stderr as a failed test, and a
harmless overflow warning must not cost points.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from autograder import answer_key, cases, registry, scoring
from autograder.harness import calls
from autograder.verify import judge_not_reference


def trace_profile(fn, function_name: str, seed: int = 0) -> dict:
    """The vectorization profile of fn on the two trace cases of the seed (plain data)."""
    prefixes = calls.library_prefixes([answer_key.kit_folder()])
    events, reference_calls, error = [], set(), None
    for case in registry.trace_cases(function_name, seed):
        count, called, err, _ = calls.traced_call(fn, calls.call_args(function_name, case["inputs"]), prefixes)
        events.append(count)
        reference_calls |= {f for f in called if answer_key.is_answer_key_file(f)}
        error = error or err
    return {"function": function_name, "sizes": list(cases.VECTOR_SIZES), "events": events,
            "reference_calls": sorted(Path(f).name for f in reference_calls),
            "defined_in": calls.defined_in(fn), "fingerprint": calls.code_fingerprint(fn), "error": error}


def _check_own(fn, function_name: str, seed: int) -> None:
    ok, message = judge_not_reference(trace_profile(fn, function_name, seed))
    if not ok:
        raise AssertionError(message)


def _outputs(fn, function_name: str, case_list: list) -> list:
    """One (ok, value or error text) per case, as the probe records them; warnings silenced."""
    out = []
    for case in case_list:
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                out.append((True, calls.run_case(fn, function_name, case["inputs"])))
        except NotImplementedError as err:
            raise AssertionError(f"{function_name} is not written yet ({err})") from None
        except Exception as err:
            out.append((False, f"{type(err).__name__}: {err}"))
    return out


def _judge(fn, function_name: str, seed: int, speed: bool = False):
    case_list = registry.make_cases(function_name, seed)
    outputs = _outputs(fn, function_name, case_list)
    expected = [registry.reference_output(c) for c in case_list]
    evidence: dict = {}
    entry = registry.get(function_name)
    if speed:
        naive = getattr(fn, "__globals__", {}).get(entry.naive) if entry.naive else None
        naive_outputs = None
        if callable(naive):
            try:
                naive_outputs = _outputs(naive, function_name, case_list)
            except AssertionError:  # the naive version is still the release's stub
                naive_outputs = None
        evidence = {"profile": trace_profile(fn, function_name, seed), "naive_outputs": naive_outputs,
                    "calls_naive": bool(entry.naive and entry.naive in calls.own_calls(
                        fn, calls.call_args(function_name, case_list[0]["inputs"])))}
    return scoring.judge(function_name, case_list, outputs, expected, **evidence)


def _raise_unless(judged, part: str) -> None:
    verdict = judged.parts[part]
    if not verdict.ok:
        words = "; ".join(b.words for b in verdict.mistakes)
        raise AssertionError(verdict.message + (f" Likely cause: {words}." if words else ""))


def check_loss(fn, function_name: str, seed: int = 0, part=None) -> None:
    """Hidden test for a loss: own code, and one part right (see ``autograder.scoring``).

    fn: the student's loss (W, X, y, reg) -> (loss, dW); function_name: a loss in
    registry.LOSS_FUNCTIONS; seed: int; part: "loss" (at reg = 0), "grad" (dW at reg = 0),
    "reg" (the regularization, as differences from reg = 0) or None (all three).
    """
    if function_name not in registry.LOSS_FUNCTIONS:
        raise ValueError(f"function_name must be one of {', '.join(registry.LOSS_FUNCTIONS)}; got {function_name!r}")
    if part not in (None, "loss", "grad", "reg"):
        raise ValueError(f"part must be 'loss', 'grad', 'reg' or None; got {part!r}")
    _check_own(fn, function_name, seed)
    _raise_unless(_judge(fn, function_name, seed), part or "all")


def check_vectorized(fn, function_name: str, seed: int = 0) -> None:
    """Hidden test for speed: own code, no loop over the examples, and agreement with the
    student's own naive version (found by name in the notebook) or a right loss and dW at
    reg = 0 (see autograder.scoring, part "speed")."""
    if function_name not in registry.LOSS_FUNCTIONS or not registry.get(function_name).speed_graded:
        raise ValueError(f"function_name must be a vectorized loss; got {function_name!r}")
    _check_own(fn, function_name, seed)
    _raise_unless(_judge(fn, function_name, seed, speed=True), "speed")


def check_function(fn, function_name: str, seed: int = 0) -> None:
    """Hidden test for sample_batch, sgd_step or predict: own code and correct on every case."""
    if function_name not in registry.OTHER_FUNCTIONS:
        raise ValueError(f"function_name must be one of {', '.join(registry.OTHER_FUNCTIONS)}; got {function_name!r}")
    _check_own(fn, function_name, seed)
    case_list = registry.make_cases(function_name, seed)
    outputs = [(ok, value) for ok, value in _outputs(fn, function_name, case_list)]
    expected = [registry.reference_output(c) for c in case_list]
    _raise_unless(scoring.judge(function_name, case_list, outputs, expected), "all")
