"""Execute the rebuilt notebook with nbclient; runs inside the sandbox with its kernel.

    python run_notebook.py rebuilt.ipynb executed.ipynb

Every cell runs, errors included (allow_errors), with the per-cell timeout from
LINCLASS_CELL_TIMEOUT. The kernel loads kernel_config.py (next to this file): figures are not
rendered to images, since nothing graded reads them. The executed notebook is written every
few seconds while it runs, so a run that is killed still leaves the cells that finished
before. run_status.json says how the run ended:
{"status": "ok" | "cell timeout" | "dead kernel" | "error", "detail": str, "cell": int or None},
where "cell" is the index of the cell that was running when the run stopped.
The grader reads both files as untrusted data.
"""
from __future__ import annotations

import json
import os
import sys
import time

# jsonschema imports rfc3987_syntax for a URI format check that notebooks never use; it
# builds a grammar at import time and makes every `import nbformat` about 4 s slower.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # None: "not installed"

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402
from nbclient.exceptions import CellTimeoutError, DeadKernelError  # noqa: E402

SAVE_EVERY = 5.0  # seconds between saves of the partly executed notebook
KERNEL_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernel_config.py")


def _save(nb, path: str) -> None:
    # Plain JSON, no schema validation: this runs after every cell and must stay cheap.
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(nb, fh)
    os.replace(tmp, path)


def _status(status: str, detail: str = "", cell: int | None = None) -> None:
    with open("run_status.tmp.json", "w") as fh:
        json.dump({"status": status, "detail": detail[:2000], "cell": cell}, fh)
    os.replace("run_status.tmp.json", "run_status.json")


def main(argv: list[str]) -> int:
    src, dest = argv
    # The grader wrote this notebook itself (a valid v4 notebook): no schema validation,
    # which would cost more than the rest of reading it.
    with open(src, encoding="utf-8") as fh:
        nb = nbformat.v4.reads(fh.read())
    timeout = float(os.environ.get("LINCLASS_CELL_TIMEOUT", "120"))
    running: list[int | None] = [None]     # the index of the cell that is running
    saved = [time.monotonic()]             # when the notebook was last written

    def before_cell(cell, cell_index, **kw):
        # Every cell, markdown too: when a cell times out, this is the one that was running.
        running[0] = cell_index

    def after_cell(cell, cell_index, **kw):
        # Plots make the notebook large; writing it after every cell costs real time, so
        # a run that is killed loses at most the last few seconds of cells.
        if time.monotonic() - saved[0] > SAVE_EVERY:
            _save(nb, dest)
            saved[0] = time.monotonic()

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            interrupt_on_timeout=False, record_timing=False, shutdown_kernel="immediate",
                            resources={"metadata": {"path": os.getcwd()}},
                            on_cell_start=before_cell, on_cell_executed=after_cell,
                            extra_arguments=[f"--config={KERNEL_CONFIG}"])
    _status("running")
    try:
        client.execute()
    except CellTimeoutError:
        _save(nb, dest)
        _status("cell timeout", f"a cell ran longer than {timeout:g} s", running[0])
        return 0
    except DeadKernelError as err:
        _save(nb, dest)
        _status("dead kernel", f"the kernel died: {err}", running[0])
        return 0
    except Exception as err:
        _save(nb, dest)
        _status("error", f"{type(err).__name__}: {err}", running[0])
        return 0
    _save(nb, dest)
    _status("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
