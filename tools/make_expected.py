"""Write linclass/expected_values.json: the visible checks' stored numbers.

    python tools/make_expected.py           # rewrite the file
    python tools/make_expected.py --check   # exit 1 when the file is stale

For each loss ("svm", "softmax") and each case of ``linclass.checks.example_inputs``, the
file holds the loss and dW computed with the answer key. Students' checks compare with these
numbers; the answer key itself never ships. The file is generated: do not edit it.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from linclass import checks
from linclass.reference import losses

REFERENCES = {"svm": losses.svm_loss_vectorized, "softmax": losses.softmax_loss_vectorized}


def build() -> str:
    data: dict = {"_generated": "by tools/make_expected.py from linclass.reference; do not edit, "
                                "run python tools/make_expected.py"}
    for name, fn in REFERENCES.items():
        data[name] = {}
        for case in (0, 1, 2):
            W, X, y, reg = checks.example_inputs(case)
            loss, dW = fn(W, X, y, reg)
            data[name][str(case)] = {"loss": float(loss), "dW": [[float(v) for v in row] for row in dW]}
    return json.dumps(data, indent=1) + "\n"


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
