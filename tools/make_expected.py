"""Write linclass/expected_values.json: the visible checks' stored numbers.

    python tools/make_expected.py           # rewrite the file
    python tools/make_expected.py --check   # exit 1 when the file is stale

The file is generated: do not edit it. It holds, computed with the answer key:

- ``"svm"`` / ``"softmax"``: per case k of ``linclass.checks.example_inputs(k)``: ``reg``
  (the case's reg), ``loss`` and ``dW`` at reg = 0 (the ``_loss`` and ``_grad`` parts),
  ``reg_loss`` = loss(reg) - loss(0) and ``reg_dW`` = dW(reg) - dW(0) (the ``_reg`` part);
- ``"stability"``: ``{"softmax": {k: {"loss", "dW"}}}`` at reg = 0 on
  ``checks.shifted_inputs(k)`` (every score shifted by 1000);
- ``"parts"``: per loss family, the outputs of every catalogued variant of each part of
  ``autograder.bugs`` on the same inputs, in the catalogue's order (the first that fits is
  the grader's label): ``data_loss`` / ``data_grad`` ``[[label, [value per case in
  "cases"]]]`` at reg = 0, and ``reg_loss`` / ``reg_grad`` ``[[label, [difference per case
  in "reg_cases"]]]``;
- ``"names"``: per loss family, what ``autograder.bugs.name_parts`` prints for every pair of
  labels: ``data`` keyed ``"<data_loss>|<data_grad>"``, ``reg`` keyed
  ``"<reg_loss>|<reg_grad>"`` (with a correct data part), ``stability`` keyed by its label;
  each a list of ``[key, words, convention]``;
- ``"others"``: ``{"predict" | "sgd_step": [[key, words, output]]}``, the outputs of the catalogued
  mistakes of ``bugs.predict_variants`` / ``bugs.sgd_variants`` on ``linclass.selfcheck.other_inputs``
  (sgd_step: ``[W_new, loss]``), so that the self-check names them like the grader.

Students' checks and the kit's self-check compare with these numbers: outputs on the fixed
visible inputs only, never code, and the answer key itself never ships.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from autograder import bugs
from linclass import checks
from linclass.reference import losses

REFERENCES = {"svm": losses.svm_loss_vectorized, "softmax": losses.softmax_loss_vectorized}
CASES = (0, 1, 2)
REG_CASES = tuple(k for k in CASES if checks.example_inputs(k)[3] > 0)


def _num(value):
    """Plain JSON numbers (lists of lists for arrays)."""
    arr = np.asarray(value, dtype=np.float64)
    return float(arr) if arr.ndim == 0 else arr.tolist()


def _names(found) -> list:
    return [[b.key, b.words, b.convention] for b in found]


def _parts(name: str) -> dict:
    family: dict = {"cases": list(CASES), "reg_cases": list(REG_CASES)}
    variants = bugs.DATA_VARIANTS[name]
    for key, which in (("data_loss", 0), ("data_grad", 1)):
        rows = []
        for label, fn in variants.items():
            values = []
            for k in CASES:
                W, X, y, _ = checks.example_inputs(k)
                values.append(_num(fn(W, X, y)[which]))
            rows.append([label, values])
        family[key] = rows
    for key, table in (("reg_loss", bugs.REG_LOSS), ("reg_grad", bugs.REG_GRAD)):
        rows = []
        for label, fn in table.items():
            values = []
            for k in REG_CASES:
                W, X, _, reg = checks.example_inputs(k)
                values.append(_num(fn(W, reg, X.shape[0])))
            rows.append([label, values])
        family[key] = rows
    return family


def _name_table(name: str) -> dict:
    data_labels = [*bugs.DATA_VARIANTS[name], "unknown"]
    reg_loss, reg_grad = [*bugs.REG_LOSS, "unknown"], [*bugs.REG_GRAD, "unknown"]
    table: dict = {"data": {}, "reg": {}, "stability": {}}
    for dl in data_labels:
        for dg in data_labels:
            table["data"][f"{dl}|{dg}"] = _names(bugs.name_parts({"data_loss": dl, "data_grad": dg}))
    for rl in reg_loss:
        for rg in reg_grad:
            table["reg"][f"{rl}|{rg}"] = _names(bugs.name_parts(
                {"data_loss": "correct", "data_grad": "correct", "reg_loss": rl, "reg_grad": rg}))
    if name == "softmax":
        for label in ("ok", "overflows", "unknown"):
            table["stability"][label] = _names(bugs.name_parts({"stability": label}))
    return table


def _others() -> dict:
    """The outputs of the catalogued predict and sgd_step mistakes on the self-check's fixed inputs."""
    from linclass.selfcheck import other_inputs

    out: dict = {"predict": [], "sgd_step": []}
    for found, fn in bugs.predict_variants():
        out["predict"] += [[b.key, b.words, _num(fn(*other_inputs("predict")))] for b in found]
    for found, fn in bugs.sgd_variants():
        W_new, loss = fn(*other_inputs("sgd_step"))
        out["sgd_step"] += [[b.key, b.words, [_num(W_new), _num(loss)]] for b in found]
    return out


def build() -> str:
    data: dict = {"_generated": "by tools/make_expected.py from linclass.reference and autograder.bugs; "
                                "do not edit, run python tools/make_expected.py"}
    for name, fn in REFERENCES.items():
        data[name] = {}
        for case in CASES:
            W, X, y, reg = checks.example_inputs(case)
            loss0, dW0 = fn(W, X, y, 0.0)
            loss_r, dW_r = fn(W, X, y, reg)
            data[name][str(case)] = {"reg": reg, "loss": float(loss0), "dW": _num(dW0),
                                     "reg_loss": float(loss_r - loss0), "reg_dW": _num(dW_r - dW0)}
    data["stability"] = {"softmax": {}}
    for case in CASES:
        W, X, y, _ = checks.shifted_inputs(case)
        loss0, dW0 = REFERENCES["softmax"](W, X, y, 0.0)
        data["stability"]["softmax"][str(case)] = {"loss": float(loss0), "dW": _num(dW0)}
    data["parts"] = {name: _parts(name) for name in REFERENCES}
    data["names"] = {name: _name_table(name) for name in REFERENCES}
    data["others"] = _others()
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check that the file is up to date")
    args = parser.parse_args(argv)
    text = build()
    path = Path(checks.EXPECTED_FILE)
    if args.check:
        if not path.exists() or path.read_text() != text:
            print(f"{path} is stale: run python tools/make_expected.py", file=sys.stderr)
            return 1
        return 0
    path.write_text(text)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
