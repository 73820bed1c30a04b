"""Per-part judgement of a graded function: one pure function, used by every grading path.

``linclass-grade`` (``autograder.grade`` through ``autograder.verify``), the hidden tests of
plain ``nbgrader autograde`` (``autograder.hidden``) and the self-check all decide points
here, so they cannot disagree. Nothing here runs student code: the caller ran the function
and passes its outputs.

    from autograder import registry, scoring

    cases = registry.make_cases("svm_loss_vectorized", seed)          # or any cases, see below
    outputs = [(True, fn(*args)) or (False, "ValueError: ...") ...]  # one per case, in order
    expected = [registry.reference_output(c) for c in cases]         # the answer key's outputs
    judged = scoring.judge("svm_loss_vectorized", cases, outputs, expected,
                           profile=..., naive_outputs=..., loops=..., calls_naive=...)
    judged.parts["reg"].ok, judged.parts["reg"].message, judged.parts["reg"].mistakes
    judged.bugs    # every named mistake (bugs.Bug), loss/grad/reg/speed together
    judged.notes   # advice that costs nothing

Parts of a loss (the contract of the notebooks' test cells ``<function>_<part>``):

- ``loss``: the loss at reg = 0 equals the reference on every case of role "data" and
  "stability" (every score shifted by the same 1e3: any max-subtraction passes).
- ``grad``: dW at reg = 0 equals the reference on the same cases.
- ``reg``: on every case of role "reg" (reg > 0, with ``case["base"]`` the index of the same
  W, X, y at reg = 0), loss(reg) - loss(0) == reg·ΣW² and dW(reg) - dW(0) == 2·reg·W. A
  self-consistent other convention (0.5·reg, bias row left out) fails only this part; its
  mistake is a ``Bug(convention=True)`` whose words say what to change.
- ``speed`` (vectorized functions): passes when the function is vectorized AND (it agrees
  with the student's OWN naive version, OR its data loss and data gradient are right).

  Vectorized: no Python loop over the examples (``loops``: what the static scan read in
  the answer cells; ``profile``: traced line counts for N = 40 and 160 that do not grow with
  N and are not above 400 at N = 40, see ``verify.judge_vectorized``), no call to the naive
  version (``calls_naive``), a well-formed (loss, dW) on every case but "advice", and not a
  constant stub (the loss not the same on every case, dW not all zeros; a constant stub is
  no loss, even when its naive version is the same stub). Any of these failing fails the
  part, whatever the correctness.

  Then either branch passes. Agreement: ``bugs.outputs_match`` (rtol 1e-6, atol 1e-9) with
  ``naive_outputs`` on every case but "advice" where the naive version returned; when the
  naive version is missing (None, or it raised on every case: the release's stub) there is
  nothing to disagree with. Or correctness ("correct is correct"): the ``loss`` and ``grad``
  parts pass against the reference, so a bug in the naive version alone costs only the
  naive version's points. Passing through this second branch only, the message says so and
  points at the naive version (or, when the two differ only at reg > 0 and this function's
  ``reg`` part fails, at that part). So a vectorized function with one wrong factor keeps
  its speed points when its naive version has the same factor, and loses them when it
  disagrees with a right naive version. The visible test mirrors this with
  ``checks.vectorization_report`` and ``checks.check_agree``, the self-check with its own
  ``_judge_speed`` on the stored numbers.

Tolerances: loss part |loss - ref| <= 1e-6 * max(|ref|, 1); grad part max|dW - ref| <=
1e-6 * max|ref|; reg part |Δloss - reg·ΣW²| <= 1e-6 * max(|reg·ΣW²|, |loss(0)|) and
max|ΔdW - 2·reg·W| <= 1e-6 * max(max|2·reg·W|, max|dW(0)|) (``cases.compare_reg``). The
names use the same tolerances.
- ``all``: loss, grad and reg together (the single part of sample_batch, sgd_step, predict).

Case roles ("data" when absent): "data", "stability", "reg", "advice" (some examples' scores
shifted by 1e3: a single maximum for the whole matrix underflows; reported in ``notes``,
never scored). Cases without a role at reg > 0 (older callers) count as "reg" cases without
a base and are compared whole.

Naming (``bugs.name_parts``): the data loss and the data gradient are matched separately
against ``bugs.DATA_VARIANTS`` on every reg = 0 case, the stability case on its own, the
regularization terms against ``bugs.REG_LOSS`` / ``bugs.REG_GRAD`` on every reg pair. A
part that matches no variant gives an "observed" line (``Bug`` key ``observed_<part>``).
A loop in a vectorized function is named whether or not the function is also wrong.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from autograder import bugs, cases, registry
from autograder.harness.wire import Unsupported

LOSS_PARTS = ("loss", "grad", "reg", "speed", "all")


@dataclass(frozen=True)
class PartVerdict:
    """The verdict on one part of one function."""

    ok: bool
    """True when the part earns its points."""
    message: str
    """What was found, in plain words (names the case, never the hidden code)."""
    mistakes: tuple = ()
    """The named mistakes (bugs.Bug) that explain this part's result."""


@dataclass
class Judgement:
    """Every part of one function, the named mistakes and the advice."""

    name: str
    parts: dict = field(default_factory=dict)
    """part ("loss", "grad", "reg", "speed", "all") -> PartVerdict."""
    bugs: tuple = ()
    """Every named mistake (bugs.Bug), in the order data, stability, regularization, speed."""
    labels: dict = field(default_factory=dict)
    """The label of each component of a loss (see bugs.name_parts); empty for other functions."""
    notes: tuple = ()
    """Advice that costs no points."""


def role(case: dict) -> str:
    """The role of a case: "data", "stability", "reg" or "advice"."""
    if "role" in case:
        return case["role"]
    reg = case.get("inputs", {}).get("reg")
    return "reg" if isinstance(reg, (int, float)) and reg > 0 else "data"


# ------------------------------------------------------------------------ helpers

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


def _problem(name, case, output) -> str | None:
    """Why an output cannot be compared at all (raised, not plain data), or None."""
    ok, value = output
    if not ok:
        return f"{name} raised {value} on the case '{case['label']}'."
    odd = _unsupported(value)
    if odd:
        return (f"{name} returned {odd} on the case '{case['label']}': return plain numbers (float), "
                "tuples and numpy arrays.")
    return None


def _compare_each(name, items, part) -> tuple[bool, str]:
    """items: [(case, output, expected)] -> the first failure, or ok with a summary."""
    if not items:
        return False, f"{name}: no case of this part finished."
    for case, output, expected in items:
        problem = _problem(name, case, output)
        if problem:
            return False, problem
        good, message = registry.compare_outputs(name, case, output[1], expected, part=part)
        if not good:
            return False, message
    return True, f"{name}: correct on all {len(items)} cases of this part."


def _well_formed(output, shape) -> bool:
    ok, value = output
    if not ok or not isinstance(value, (tuple, list)) or len(value) != 2 or _unsupported(value):
        return False
    loss, dW = cases._as_scalar(value[0]), cases._as_array(value[1], shape)[0]
    return loss is not None and dW is not None


def _pair(output):
    """(loss float, dW float64 array) of a well-formed output."""
    value = output[1]
    return float(cases._as_scalar(value[0])), np.asarray(value[1], dtype=np.float64)


def _finite(loss, dW) -> bool:
    return bool(np.isfinite(loss) and np.all(np.isfinite(dW)))


def _close(a, b, rtol, floor) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    scale = max(float(np.max(np.abs(b))) if b.size else 0.0, floor)
    return bool(float(np.max(np.abs(a - b))) <= rtol * scale) if a.size else True


# ------------------------------------------------------------------ naming the parts

def _match_data(family, items, which) -> str | None:
    """The first DATA_VARIANTS label whose loss (which=0) or dW (which=1) fits every item."""
    if not items:
        return None
    for label, fn in bugs.DATA_VARIANTS[family].items():
        fits = True
        for case, (loss, dW) in items:
            inp = case["inputs"]
            with np.errstate(all="ignore"):
                want = fn(inp["W"].copy(), inp["X"].copy(), inp["y"].copy())[which]
            got = loss if which == 0 else dW
            if not _finite(np.sum(got), want) or not _close(got, want, 1e-6, 1.0 if which == 0 else 1e-8):
                fits = False
                break
        if fits:
            return label
    return "unknown"


def _match_reg(table, diffs, which) -> str | None:
    """The first REG_LOSS (which=0) / REG_GRAD (which=1) label that fits every reg pair."""
    if not diffs:
        return None
    for label, fn in table.items():
        fits = True
        for case, (dloss, dgrad, l0, g0) in diffs:
            inp = case["inputs"]
            want = fn(inp["W"], inp["reg"], inp["X"].shape[0])
            ok = (cases.reg_term_matches(dloss, float(want), l0) if which == 0
                  else cases.reg_grad_matches(dgrad, np.asarray(want), g0))
            if not ok:
                fits = False
                break
        if fits:
            return label
    return "unknown"


def loss_labels(name: str, case_list: list, outputs: list) -> dict:
    """The label of each component of a loss from its outputs (see bugs.name_parts).

    A component is labelled only from cases whose outputs are well formed and finite (the
    stability case aside); it is None when no such case exists.
    """
    family = "svm" if name.startswith("svm") else "softmax"
    labels: dict = {}
    good = [(c, _pair(o)) for c, o in zip(case_list, outputs)
            if role(c) == "data" and _well_formed(o, c["inputs"]["W"].shape)]
    finite = [(c, p) for c, p in good if _finite(*p)]
    if len(finite) == len(good):
        labels["data_loss"] = _match_data(family, finite, 0)
        labels["data_grad"] = _match_data(family, finite, 1)
    else:
        labels["data_loss"] = labels["data_grad"] = "unknown"
    for c, o in zip(case_list, outputs):
        if role(c) != "stability":
            continue
        if not o[0]:
            labels["stability"] = "overflows"  # a crash on the shifted scores (overflow error)
        elif _well_formed(o, c["inputs"]["W"].shape):
            loss, dW = _pair(o)
            if not _finite(loss, dW):
                labels["stability"] = "overflows"
            else:
                # Right on the shifted scores means: the same variant as on the ordinary ones.
                fits = {_match_data(family, [(c, (loss, dW))], k) for k in (0, 1)}
                labels["stability"] = ("ok" if fits <= {labels.get("data_loss"), labels.get("data_grad")}
                                       else "unknown")
    diffs = []
    for c, o in zip(case_list, outputs):
        if role(c) != "reg" or "base" not in c:
            continue
        base = c["base"]
        if not (o[0] and outputs[base][0]) or _unsupported(o[1]) or _unsupported(outputs[base][1]):
            continue
        found, _ = cases.reg_differences(outputs[base][1], o[1], c["inputs"]["W"].shape)
        if found is not None:
            diffs.append((c, found))
    labels["reg_loss"] = _match_reg(bugs.REG_LOSS, diffs, 0)
    labels["reg_grad"] = _match_reg(bugs.REG_GRAD, diffs, 1)
    return labels


# ------------------------------------------------------------------------- judging

def _judge_reg(name, case_list, outputs) -> tuple[bool, str]:
    pairs = [(c, outputs[c["base"]], o) for c, o in zip(case_list, outputs) if role(c) == "reg" and "base" in c]
    if not pairs:
        return False, f"{name}: no case checked the regularization."
    for case, base_out, reg_out in pairs:
        for out, which in ((base_out, case_list[case["base"]]), (reg_out, case)):
            problem = _problem(name, which, out)
            if problem:
                return False, problem
        good, message = cases.compare_reg(name, case, base_out[1], reg_out[1])
        if not good:
            return False, message
    return True, f"{name}: the regularization is right on all {len(pairs)} pairs of cases (reg = 0 and reg > 0)."


def _judge_speed(name, case_list, outputs, parts, profile, naive_outputs, loops, calls_naive):
    from autograder.verify import judge_vectorized  # verify imports this module

    mistakes: list = []
    entry = registry.get(name)
    if calls_naive:
        return PartVerdict(False, f"{name} calls {entry.naive}; write the vectorized loss without it.",
                           (bugs.CALLS_NAIVE,))
    vec_ok, vec_msg = (judge_vectorized(profile) if profile is not None
                       else (False, f"{name}: the vectorization check did not run."))
    if loops:
        vec_ok, vec_msg = False, f"{name} has {loops[0]}: write it with whole-array numpy operations."
    looped = not vec_ok and (bool(loops) or "once per example" in vec_msg or "Python lines" in vec_msg)
    if looped:
        mistakes.append(bugs.LOOPS_OVER_EXAMPLES)
    if not vec_ok:
        return PartVerdict(False, vec_msg, tuple(mistakes))
    # Vectorized: now its own evidence that it computes the same thing as the naive version.
    comparable = [(c, o) for c, o in zip(case_list, outputs) if role(c) != "advice"]
    broken = [c for c, o in comparable if not _well_formed(o, c["inputs"]["W"].shape)]
    if broken:
        return PartVerdict(False, f"{name} is vectorized but did not return a pair (loss, dW) of the right "
                                  f"shapes on the case '{broken[0]['label']}'.")
    # The function must compute something from its inputs: a stub returning a constant is
    # vectorized, and agrees with a naive stub returning the same constant, but it is no loss.
    data = [_pair(o) for c, o in comparable if role(c) == "data"]
    if len({round(loss, 12) for loss, _ in data}) <= 1 or all(not np.any(dW) for _, dW in data):
        return PartVerdict(False, (f"{name} returns the same loss on every case, or a gradient of zeros: "
                                   "speed points need a loss that is computed from W, X and y."))
    naive = list(naive_outputs or [])
    usable = [(c, o, n) for (c, o), n in zip(zip(case_list, outputs), naive)
              if role(c) != "advice" and n[0] and not _unsupported(n[1])]
    if not usable:
        return PartVerdict(True, vec_msg + " (no naive version ran to compare with)")
    differ = [c for c, o, n in usable if not bugs.outputs_match(o[1], n[1], rtol=1e-6, atol=1e-9)]
    if not differ:
        return PartVerdict(True, vec_msg + f" It agrees with your {entry.naive} on {len(usable)} cases.")
    # Correct is correct: when the data loss and dW are right against the reference, the
    # disagreement is no reason to take the speed points.
    if parts["loss"].ok and parts["grad"].ok:
        at_data = [c for c in differ if role(c) != "reg"]
        where = (at_data or differ)[0]["label"]
        if at_data:
            why = f"the mistake is in the naive version (it differs at reg = 0, on the case '{where}')."
        elif parts["reg"].ok:
            why = (f"the mistake is in the naive version's regularization (it differs only when reg > 0, "
                   f"on the case '{where}').")
        else:
            why = (f"the two differ only when reg > 0 (on the case '{where}'), and the regularization part "
                   "of this function says what to change.")
        return PartVerdict(True, (f"{vec_msg} Its loss and dW at reg = 0 are right, so it keeps the speed "
                                  f"points, but your {entry.naive} disagrees with it: {why}"))
    return PartVerdict(False, (f"{name} is vectorized, but it does not agree with your "
                               f"{entry.naive} on the case '{differ[0]['label']}' and its loss or dW at "
                               "reg = 0 is wrong: speed points need the two versions to compute the same "
                               "loss and dW, or this one to be right."))


def _advice(name, case_list, outputs, expected) -> tuple:
    notes = []
    for c, o, e in zip(case_list, outputs, expected):
        if role(c) != "advice" or not o[0] or _unsupported(o[1]):
            continue
        good, _ = registry.compare_outputs(name, c, o[1], e, part=None)
        if not good:
            notes.append(f"{name}: advice (costs no points): when the scores of different examples are "
                         "about 1e3 apart, exp underflows in your code and the loss or dW comes out wrong "
                         "(you subtract one maximum for the whole score matrix). Subtracting each example's "
                         "own largest score, scores.max(axis=1, keepdims=True), avoids it.")
            break
    return tuple(notes)


def judge_loss(name: str, case_list: list, outputs: list, expected: list, *, profile: dict | None = None,
               naive_outputs: list | None = None, loops: tuple = (), calls_naive: bool = False) -> Judgement:
    """Judge every part of a loss function. Pure: runs no student code.

    name: a loss in registry.LOSS_FUNCTIONS; case_list: cases (see the module docstring);
    outputs: one (ok, value or error text) per case; expected: the reference output per case;
    profile: the vectorization profile (verify.profile_of / hidden.trace_profile) or None;
    naive_outputs: the student's naive version's outputs on the same cases, or None;
    loops: static-scan findings of loops over the examples; calls_naive: True when the
    vectorized function calls the naive one.
    """
    entry = registry.get(name)
    n = min(len(case_list), len(outputs), len(expected))
    case_list, outputs, expected = list(case_list[:n]), list(outputs[:n]), list(expected[:n])
    judged = Judgement(name)
    scored = [(c, o, e) for c, o, e in zip(case_list, outputs, expected) if role(c) in ("data", "stability")]
    plain_reg = [(c, o, e) for c, o, e in zip(case_list, outputs, expected) if role(c) == "reg" and "base" not in c]
    for part in ("loss", "grad"):
        ok, message = _compare_each(name, scored, part)
        judged.parts[part] = PartVerdict(ok, message)
    ok, message = _judge_reg(name, case_list, outputs) if not plain_reg else _compare_each(name, plain_reg, None)
    judged.parts["reg"] = PartVerdict(ok, message)

    named: tuple = ()
    if any(o[0] for o in outputs):
        judged.labels = loss_labels(name, case_list, outputs)
        named = bugs.name_parts(judged.labels)
    elif outputs:
        stub = all(str(err).startswith("NotImplementedError") for _, err in outputs)
        named = (bugs.NOT_WRITTEN if stub else bugs.RAISES,)
    data_keys = {"data_loss", "data_grad", "stability"}
    for part, failed in (("loss", "data_loss"), ("grad", "data_grad"), ("reg", None)):
        verdict = judged.parts[part]
        if verdict.ok:
            continue
        if part == "reg":
            mine = tuple(b for b in named if b.key.startswith(("reg_", "no_regularization", "observed_reg")))
        else:
            mine = tuple(b for b in named if not b.key.startswith(("reg_", "no_regularization", "observed_reg"))
                         and _touches(b, part, judged.labels, data_keys))
        if not mine and named and named[0] in (bugs.NOT_WRITTEN, bugs.RAISES):
            mine = named
        message = verdict.message
        if part == "reg" and mine and all(b.convention for b in mine):
            # Consistent with itself, another convention: say so, and exactly what to change.
            message = (f"{name}: only this part is lost. {mine[0].words[0].upper()}{mine[0].words[1:]}. "
                       f"({verdict.message})")
        judged.parts[part] = PartVerdict(False, message, mine)
    all_ok = all(judged.parts[p].ok for p in ("loss", "grad", "reg"))
    judged.parts["all"] = PartVerdict(all_ok, f"{name}: loss, dW and regularization correct on every case."
                                      if all_ok else next(judged.parts[p].message for p in ("loss", "grad", "reg")
                                                          if not judged.parts[p].ok),
                                      () if all_ok else named)
    if entry.speed_graded:
        defined = bool(outputs) and any(o[0] for o in outputs)
        if defined:
            judged.parts["speed"] = _judge_speed(name, case_list, outputs, judged.parts, profile, naive_outputs,
                                                 tuple(loops), calls_naive)
        else:
            judged.parts["speed"] = PartVerdict(False, judged.parts["all"].message, named)
        named = named + tuple(b for b in judged.parts["speed"].mistakes if b not in named)
    judged.bugs = named
    if all(judged.parts[p].ok for p in ("loss", "grad")):
        judged.notes = _advice(name, case_list, outputs, expected)
    return judged


def _touches(bug, part, labels, data_keys) -> bool:
    """Does a data-side bug explain the loss part (part="loss") or the gradient part ("grad")?"""
    if bug in (bugs.NOT_WRITTEN, bugs.RAISES):
        return True
    if bug.key == "softmax_no_max_subtraction" or bug.key == "observed_stability":
        return True
    if bug.key == "observed_data_loss":
        return part == "loss"
    if bug.key == "observed_data_grad":
        return part == "grad"
    loss_bug = bugs.DATA_LOSS_BUGS.get(labels.get("data_loss") or "")
    grad_bug = bugs.DATA_GRAD_BUGS.get(labels.get("data_grad") or "")
    pair_bug = bugs.DATA_PAIR_BUGS.get(labels.get("data_loss") or "")
    if bug == pair_bug and labels.get("data_loss") == labels.get("data_grad"):
        return True
    return bug == (loss_bug if part == "loss" else grad_bug)


def judge_other(name: str, case_list: list, outputs: list, expected: list) -> Judgement:
    """Judge sample_batch, sgd_step or predict: one part, "all", and its catalogued mistake."""
    entry = registry.get(name)
    judged = Judgement(name)
    n = min(len(case_list), len(outputs), len(expected))
    items = list(zip(case_list[:n], outputs[:n], expected[:n]))
    if len(outputs) < len(case_list):
        ok, message = False, (f"{name}: only {len(outputs)} of {len(case_list)} cases finished "
                              "(the probe stopped early).")
    else:
        ok, message = _compare_each(name, items, None)
    named: tuple = ()
    if not ok:
        if outputs and not any(o[0] for o in outputs):
            stub = all(str(err).startswith("NotImplementedError") for _, err in outputs)
            named = (bugs.NOT_WRITTEN if stub else bugs.RAISES,)
        elif entry.catalogue is not None and len(outputs) >= len(case_list):
            for found, fn in entry.catalogue():
                if _variant_matches(fn, outputs, case_list):
                    named = tuple(found)
                    break
        if name == "sample_batch":
            message += _sample_batch_hint(case_list, outputs)
    judged.parts["all"] = PartVerdict(ok, message, named)
    judged.bugs = named
    return judged


def _sample_batch_hint(case_list, outputs) -> str:
    for case, (ok, value) in zip(case_list, outputs):
        inp = case["inputs"]
        if not ok and inp["batch_size"] > inp["X"].shape[0]:
            return (" batch_size may be larger than N (the docstring says so): draw the indices with "
                    "replacement, rng.choice(N, batch_size) or rng.integers(0, N, batch_size).")
    return ""


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
            if expected is not None and _all_finite(expected):
                return False
            continue
        if expected is None or not bugs.outputs_match(value, expected):
            return False
    return True


def judge(name: str, case_list: list, outputs: list, expected: list, **evidence) -> Judgement:
    """Judge any graded function: judge_loss for the losses (evidence as its keywords), else judge_other."""
    if registry.get(name).is_loss:
        return judge_loss(name, case_list, outputs, expected, **evidence)
    return judge_other(name, case_list, outputs, expected)
