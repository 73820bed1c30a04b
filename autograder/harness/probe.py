"""Probe a student's functions outside the notebook kernel; runs inside the sandbox.

    python probe.py            # in the scratch folder, which holds probe_input.json

probe_input.json (written by the grader) holds:
    setup: list of str, import statements taken from the release notebook's own cells;
    cells: list of {"grade_id", "source"}, the student's solution cells in notebook order;
    functions: list of str, the graded functions to call;
    seed: int, the seed for linclass.grading.make_cases (chosen by the grader per run);
    call_timeout: float, seconds allowed for one cell or one call;
    stuck_cells: dict grade_id -> float (optional), a shorter allowance for answer cells the
        notebook run already stopped for the cell timeout.

It writes plain data only (no pickle), replacing the files atomically after every function,
so a crash or a timeout keeps what was already measured:
    probe_output.json: per function, the encoded outputs per case, the trace profile, the
        names of the student's own functions it called, and any error;
    probe_arrays.npz: the arrays the JSON refers to by key.
The grader decides every verdict from these files in its own process.
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import os
import signal
import sys
import time
import traceback

import numpy as np

# Taken before any student code runs, so a student cell cannot swap them out.
from linclass import grading as _grading

_run_case = _grading.run_case
_make_cases = _grading.make_cases
_trace_profile = _grading.trace_profile
_settrace, _setprofile, _gettrace = sys.settrace, sys.setprofile, sys.gettrace
_savez, _dumps, _replace = np.savez, json.dumps, os.replace
# The module's own functions as they were before student code ran; a change means tampering.
_grading_snapshot = {k: v for k, v in vars(_grading).items() if callable(v)}

MAX_ARRAY_ELEMENTS = 2_000_000
MAX_TEXT = 500


class CallTimeout(BaseException):
    """Raised by the alarm when one cell or one call runs too long."""


def _on_alarm(signum, frame):
    raise CallTimeout()


def _lazy_module(name: str):
    """The module called name (str, absolute), loaded on first attribute access.

    Already imported modules are returned as they are. A module that cannot be found
    raises ImportError now, as the import statement would.
    """
    if name in sys.modules:
        return sys.modules[name]
    parent, _, child = name.rpartition(".")
    if parent:
        importlib.import_module(parent)  # find_spec needs the parent's __path__
        if name in sys.modules:
            return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
        return importlib.import_module(name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    if parent:
        setattr(sys.modules[parent], child, module)
    return module


def _bind_setup(stmt: str, ns: dict) -> None:
    """Run one setup import (str) into ns, loading modules not yet imported lazily.

    The setup imports exist so that names like np and plt are there when an answer cell
    uses them; most answer cells never touch plt or the plotting modules, and importing
    matplotlib.pyplot alone was over half of the probe's time. A lazily loaded module is
    the real module object: it runs its code at the first attribute access.
    Statements other than plain absolute imports are exec'd as written.
    """
    tree = ast.parse(stmt)
    node = tree.body[0] if len(tree.body) == 1 else None
    if isinstance(node, ast.Import):
        for alias in node.names:
            module = _lazy_module(alias.name)
            if alias.asname:
                ns[alias.asname] = module
            else:
                top = alias.name.partition(".")[0]
                ns[top] = sys.modules[top] if top != alias.name else module
        return
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
            and all(a.name != "*" for a in node.names):
        package = importlib.import_module(node.module)
        for alias in node.names:
            full = f"{node.module}.{alias.name}"
            if hasattr(package, alias.name):
                value = getattr(package, alias.name)
            elif hasattr(package, "__path__") and importlib.util.find_spec(full) is not None:
                value = _lazy_module(full)  # a submodule not imported yet
            else:
                value = importlib.import_module(full)  # raises ImportError as `from` would
            ns[alias.asname or alias.name] = value
        return
    exec(compile(stmt, "<setup>", "exec"), ns)


def _short(text: str) -> str:
    text = str(text)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "..."


def _strip_magics(source: str) -> str:
    """IPython-only lines (%magic, !shell) are not Python; comment them out."""
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        lines.append("# " + line if stripped.startswith(("%", "!")) else line)
    return "\n".join(lines)


class Encoder:
    """Turns return values into JSON plus named arrays."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}

    def encode(self, value, key: str, depth: int = 0):
        if depth > 4:
            return {"unsupported": "nested too deeply"}
        if value is None:
            return {"none": True}
        if isinstance(value, dict):
            return {"dict": {str(k)[:50]: self.encode(v, f"{key}.{i}", depth + 1)
                             for i, (k, v) in enumerate(list(value.items())[:10])}}
        if isinstance(value, (tuple, list)):
            if len(value) > 10 and not all(isinstance(v, (int, float)) for v in value):
                return {"unsupported": f"a {type(value).__name__} of {len(value)} items"}
            if len(value) <= 10:
                return {"seq": [self.encode(v, f"{key}.{i}", depth + 1) for i, v in enumerate(value)],
                        "type": "tuple" if isinstance(value, tuple) else "list"}
        if isinstance(value, str):
            return {"str": _short(value)}
        if not isinstance(value, (np.ndarray, np.generic, int, float, bool)):
            # Only plain numbers and arrays: converting a custom object (one with __array__,
            # say) would run student code here, outside every check.
            return {"unsupported": _short(f"a {type(value).__name__} object, not a number or a numpy array")}
        try:
            arr = np.asarray(value)
        except Exception as err:
            return {"unsupported": _short(f"{type(value).__name__} ({type(err).__name__})")}
        if arr.dtype.kind not in "biuf" or arr.size > MAX_ARRAY_ELEMENTS:
            return {"unsupported": _short(f"{type(value).__name__} of dtype {arr.dtype}, size {arr.size}")}
        self.arrays[key] = np.array(arr, copy=True)
        return {"array": key}


def _write(out: dict, encoder: Encoder) -> None:
    # Atomic: a kill between the two replaces leaves an older but consistent pair.
    _savez("probe_arrays.tmp.npz", **encoder.arrays)
    _replace("probe_arrays.tmp.npz", "probe_arrays.npz")
    with open("probe_output.tmp.json", "w") as fh:
        fh.write(_dumps(out))
    _replace("probe_output.tmp.json", "probe_output.json")


def _own_calls(fn, case) -> list[str]:
    """Names of the student's own Python functions (cell code) that one call runs."""
    seen: set[str] = set()

    def profiler(frame, event, arg):
        if event == "call" and frame.f_code.co_filename.startswith("<cell"):
            seen.add(frame.f_code.co_name)

    _setprofile(profiler)
    try:
        _run_case(fn, case)
    except BaseException:  # the verdict comes from the outputs; only the calls matter here
        pass
    finally:
        _setprofile(None)
    return sorted(seen)


def main() -> int:
    with open("probe_input.json") as fh:
        spec = json.load(fh)
    timeout = float(spec["call_timeout"])
    signal.signal(signal.SIGALRM, _on_alarm)
    out = {"setup_errors": [], "cell_errors": {}, "functions": {}, "tampering": []}
    encoder = Encoder()
    ns: dict = {"__name__": "__main__"}

    for stmt in spec["setup"]:
        try:
            _bind_setup(stmt, ns)
        except Exception as err:
            out["setup_errors"].append(_short(f"{stmt}: {type(err).__name__}: {err}"))

    stuck = spec.get("stuck_cells") or {}
    for cell in spec["cells"]:
        name = f"<cell-{cell['grade_id']}>"
        allowed = float(stuck.get(cell["grade_id"], timeout))
        signal.setitimer(signal.ITIMER_REAL, allowed)
        try:
            exec(compile(_strip_magics(cell["source"]), name, "exec"), ns)
        except CallTimeout:
            out["cell_errors"][cell["grade_id"]] = (
                f"the cell ran longer than {allowed:g} s" if cell["grade_id"] not in stuck else
                f"the cell did not end (stopped after {allowed:g} s here, as in the notebook run)")
        except BaseException as err:  # SystemExit and KeyboardInterrupt from student code too
            out["cell_errors"][cell["grade_id"]] = _short(f"{type(err).__name__}: {err}")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    _write(out, encoder)

    for fname in spec["functions"]:
        record = {"defined": False, "outputs": [], "profile": None, "own_calls": [], "error": None}
        out["functions"][fname] = record
        fn = ns.get(fname)
        if not callable(fn):
            _write(out, encoder)
            continue
        record["defined"] = True
        code = getattr(fn, "__code__", None)
        record["code_file"] = None if code is None else str(code.co_filename)[:200]
        cases = _make_cases(fname, int(spec["seed"]))
        started = time.monotonic()
        timed_out = False
        for i, case in enumerate(cases):
            if timed_out:
                # One call that never ends is enough: the rest would each cost the full timeout.
                record["outputs"].append({"ok": False, "error": "not run: an earlier call timed out"})
                continue
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                value = _run_case(fn, case)
                record["outputs"].append({"ok": True, "value": encoder.encode(value, f"{fname}.{i}")})
            except CallTimeout:
                timed_out = True
                record["outputs"].append({"ok": False, "error": f"the call ran longer than {timeout:g} s"})
            except BaseException as err:
                record["outputs"].append({"ok": False, "error": _short(f"{type(err).__name__}: {err}")})
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        if timed_out:
            record["error"] = "not traced: a call timed out"
            record["seconds"] = time.monotonic() - started
            _write(out, encoder)
            continue
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            record["profile"] = _trace_profile(fn, fname, int(spec["seed"]))
            record["own_calls"] = _own_calls(fn, cases[0])
        except BaseException as err:
            record["error"] = _short(f"tracing failed: {type(err).__name__}: {err}")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if _gettrace() is not None or sys.settrace is not _settrace or sys.setprofile is not _setprofile:
            out["tampering"].append(f"{fname} changed Python's tracing hooks")
        changed = sorted(k for k, v in _grading_snapshot.items() if vars(_grading).get(k) is not v)
        if changed:
            out["tampering"].append(f"linclass.grading was modified ({', '.join(changed[:5])})")
        record["seconds"] = time.monotonic() - started
        _write(out, encoder)
    out["finished"] = True
    _write(out, encoder)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:
        traceback.print_exc()
        sys.exit(3)
