"""The hidden tests' checks, for plain ``nbgrader autograde`` on the instructor's machine.

The solution notebooks' hidden tests call these (``from autograder import hidden``). They
run the student's function in the kernel and compare with the answer key, so they run only
where the grader is installed: nbgrader's own autograde on the instructor's machine.
``linclass-grade`` never runs them: it strips the hidden tests before the notebook enters
the sandbox and checks the same things in its own process (``autograder.verify``).

Each check raises AssertionError with a message that names what failed, never the hidden
code. Numpy warnings from the student's code are silenced: nbgrader counts any text on
stderr as a failed test, and a harmless overflow warning must not cost points.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from autograder import answer_key, cases, registry
from autograder.harness import calls
from autograder.verify import judge_not_reference, judge_vectorized


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


def _run_checks(fn, function_name: str, seed: int, part) -> None:
    for case in registry.make_cases(function_name, seed):
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                student = calls.run_case(fn, function_name, case["inputs"])
        except NotImplementedError as err:
            raise AssertionError(f"{function_name} is not written yet ({err})") from None
        except Exception as err:
            raise AssertionError(f"{function_name} raised {type(err).__name__}: {err} on the case "
                                 f"'{case['label']}'.") from None
        ok, message = registry.compare_outputs(function_name, case, student, registry.reference_output(case),
                                               part=part)
        if not ok:
            raise AssertionError(message)


def check_loss(fn, function_name: str, seed: int = 0, part=None) -> None:
    """Hidden test for a loss: own code, and loss and/or dW equal to the reference's.

    fn: the student's loss (W, X, y, reg) -> (loss, dW); function_name: a loss in
    registry.LOSS_FUNCTIONS; seed: int; part: "loss", "grad" or None (both).
    """
    if function_name not in registry.LOSS_FUNCTIONS:
        raise ValueError(f"function_name must be one of {', '.join(registry.LOSS_FUNCTIONS)}; got {function_name!r}")
    _check_own(fn, function_name, seed)
    _run_checks(fn, function_name, seed, part)


def check_vectorized(fn, function_name: str, seed: int = 0) -> None:
    """Hidden test for vectorization: correct, own code, and no loop over the examples."""
    check_loss(fn, function_name, seed, part=None)
    ok, message = judge_vectorized(trace_profile(fn, function_name, seed))
    if not ok:
        raise AssertionError(message)


def check_function(fn, function_name: str, seed: int = 0) -> None:
    """Hidden test for sample_batch, sgd_step or predict: own code and correct on every case."""
    if function_name not in registry.OTHER_FUNCTIONS:
        raise ValueError(f"function_name must be one of {', '.join(registry.OTHER_FUNCTIONS)}; got {function_name!r}")
    _check_own(fn, function_name, seed)
    _run_checks(fn, function_name, seed, None)
