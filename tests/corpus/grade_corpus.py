"""Grade the corpus of student-style losses through the real per-part scoring (no sandbox).

Each variant (``variants/<file>.cell``, the text of an answer cell) is run exactly as the
sandboxed probe runs an answer cell: compiled as ``<cell-...>`` code next to its naive version, called on the grader's
cases with the harness's own call and tracer, its outputs framed and decoded by the wire,
its code read by the static scan. ``autograder.verify.verify_function`` then decides each
part through ``autograder.scoring``. ``expected.csv`` says what each must get.

    .venv/bin/python tests/corpus/grade_corpus.py      # prints the confusion table

The kit never imports this (tests are not shipped).
"""
from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
VARIANTS = HERE / "variants"
EXPECTED = HERE / "expected.csv"
SEED = 20261129
# Points of each part (the notebooks' test cells, /docs: graded parts).
POINTS = {
    "svm_loss_naive": {"loss": 3, "grad": 5, "reg": 2},
    "svm_loss_vectorized": {"loss": 2, "grad": 3, "reg": 2, "speed": 4},
    "softmax_loss_naive": {"loss": 3, "grad": 5, "reg": 2},
    "softmax_loss_vectorized": {"loss": 2, "grad": 3, "reg": 2, "speed": 4},
}
CATEGORIES = ("correct/full", "correct/penalized", "buggy/named", "buggy/unnamed", "buggy/wrong name",
              "buggy/full marks")


def table() -> list[dict]:
    """The rows of expected.csv: id, file, function, naive, kind, points per part, names (a tuple)."""
    lines = [line for line in EXPECTED.read_text().splitlines() if line and not line.startswith("#")]
    rows = []
    for row in csv.DictReader(io.StringIO("\n".join(lines))):
        row["names"] = tuple(n for n in row["names"].split(";") if n)
        row["points"] = {part: int(row[part]) for part in POINTS[row["function"]]}
        rows.append(row)
    return rows


def source(file: str) -> str:
    return (VARIANTS / f"{file}.cell").read_text()


def _roundtrip(value):
    from autograder.harness import wire

    return wire.receive(io.BytesIO(wire.pack({}, value)).read)[1]


def probe_record(name: str, ns: dict, seed: int = SEED):
    """The ProbeRecord of ns[name], made as the sandboxed probe makes it."""
    from autograder import answer_key, registry
    from autograder.harness import calls
    from autograder.probe_driver import ProbeRecord

    fn = ns.get(name)
    rec = ProbeRecord(name, defined=callable(fn))
    if not rec.defined:
        return rec
    rec.defined_in, rec.fingerprint = calls.defined_in(fn), calls.code_fingerprint(fn)
    rec.cases, rec.trace_cases = registry.make_cases(name, seed), registry.trace_cases(name, seed)
    for case in rec.cases:
        try:
            rec.outputs.append((True, _roundtrip(calls.run_case(fn, name, case["inputs"]))))
        except Exception as err:
            rec.outputs.append((False, f"{type(err).__name__}: {err}"))
    prefixes = calls.library_prefixes([answer_key.kit_folder()])
    for case in rec.trace_cases:
        events, called, err, out = calls.traced_call(fn, calls.call_args(name, case["inputs"]), prefixes)
        rec.events.append(events)
        rec.reference_calls += [f for f in called if answer_key.is_answer_key_file(f)]
        rec.trace_outputs.append((True, _roundtrip(out)) if err is None else (False, err))
    rec.own_calls = calls.own_calls(fn, calls.call_args(name, rec.cases[0]["inputs"]))
    return rec


def namespace(row: dict) -> tuple[dict, str]:
    """The answer cells' namespace of a row (its naive version first) and their code."""
    ns: dict = {"np": np}
    code = []
    for file, cell in ((row.get("naive"), "naive"), (row["file"], "code")):
        if file:
            text = source(file)
            exec(compile(text, f"<cell-{row['id']}-{cell}>", "exec"), ns)
            code.append(text)
    return ns, "\n\n".join(code)


def grade_row(row: dict, seed: int = SEED) -> dict:
    """{"points": {part: points}, "names": (bug keys...), "messages": {part: text}, "notes": [...]}."""
    from autograder import registry, static_scan
    from autograder.verify import verify_function

    name = row["function"]
    ns, code = namespace(row)
    record = probe_record(name, ns, seed)
    entry = registry.get(name)
    naive = probe_record(entry.naive, ns, seed) if entry.naive and row.get("naive") else None
    loops = ()
    if entry.speed_graded:
        loops = tuple(static_scan.loops_over_examples(code, name, tuple(c for c in record.own_calls if c != name)))
    v = verify_function(record, name, naive=naive, loops=loops)
    points = {part: (p if v.checks[part][0] else 0) for part, p in POINTS[name].items()}
    return {"points": points, "names": tuple(b.key for b in v.bugs),
            "messages": {part: v.checks[part][1] for part in POINTS[name]},
            "part_names": {part: tuple(b.key for b in v.part_bugs.get(part, ())) for part in POINTS[name]},
            "notes": list(v.notes)}


def category(row: dict, points: dict, names) -> str:
    """Where one graded variant falls in the confusion table."""
    full = sum(POINTS[row["function"]].values())
    allowed = full - (POINTS[row["function"]]["reg"] if row["kind"] == "convention" else 0)
    got = sum(points.values())
    if row["kind"] in ("correct", "convention"):
        return "correct/full" if got >= allowed else "correct/penalized"
    if got >= full:
        return "buggy/full marks"
    expected, produced = set(row["names"]), set(names)
    if produced - expected:
        return "buggy/wrong name"
    return "buggy/named" if produced == expected else "buggy/unnamed"


def confusion(results: list[tuple[dict, dict]]) -> dict:
    counts = dict.fromkeys(CATEGORIES, 0)
    for row, res in results:
        counts[category(row, res["points"], res["names"])] += 1
    return counts


def main() -> int:
    sys.path.insert(0, str(HERE.parents[1]))
    results = [(row, grade_row(row)) for row in table()]
    for row, res in results:
        print(f"{row['id']:32s} {category(row, res['points'], res['names']):18s} "
              f"{res['points']} {';'.join(res['names'])}")
    print(confusion(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
