"""Probe a student's functions outside the notebook kernel; runs inside the sandbox.

    python probe.py        # started by the grader, which talks to it over two pipes

The grader drives the probe one message at a time (``wire.py`` frames): requests arrive on
standard input, results leave on the file descriptor named by LINCLASS_RESULT_FD. Student
code prints to stdout and stderr as usual; those never carry results.

1. ``{"op": "start"}``: setup (import statements from the release's own cells), cells (the
   student's answer cells, in notebook order), functions (the graded names), call_timeout,
   stuck_cells (a shorter allowance for answer cells the notebook run already stopped at),
   library_folders (folders whose code counts as library for the tracer: the student kit).
   The probe runs the setup and the cells and answers ``{"op": "cells"}`` with the errors
   and, per function, whether it is defined, its code's file and its code fingerprint.
2. ``{"op": "call"}`` with the inputs of one case as the value: the probe calls the
   function (under the line tracer when ``trace`` is set) and answers ``{"op": "result"}``
   with the returned value, encoded as plain bounded data, and the request's ``id``.
3. ``{"op": "end"}``: the probe exits.

The grader never sends an input before the call that uses it, reads each result as soon as
the call returns and ends the process when it has what it needs, so nothing student code
does after its last call can change a result. The probe holds no seed, no expected output
and no reference code.
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import signal
import sys
import traceback

import calls  # noqa: E402  (this folder is the script's own: sys.path[0])
import wire  # noqa: E402


class CallTimeout(BaseException):
    """Raised by the alarm when one cell or one call runs too long."""


def _on_alarm(signum, frame):
    raise CallTimeout()


def _short(text: str, n: int = 500) -> str:
    text = str(text)
    return text if len(text) <= n else text[:n] + "..."


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
    uses them; most answer cells never touch plt, and importing matplotlib.pyplot alone was
    over half of the probe's time. A lazily loaded module is the real module object: it runs
    its code at the first attribute access. Other statements are exec'd as written.
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


def _run_cells(spec: dict, ns: dict) -> dict:
    setup_errors, cell_errors = [], {}
    for stmt in spec.get("setup", []):
        try:
            _bind_setup(stmt, ns)
        except Exception as err:
            setup_errors.append(_short(f"{stmt}: {type(err).__name__}: {err}"))
    timeout = float(spec["call_timeout"])
    stuck = spec.get("stuck_cells") or {}
    for cell in spec.get("cells", []):
        gid = cell["grade_id"]
        allowed = float(stuck.get(gid, timeout))
        signal.setitimer(signal.ITIMER_REAL, allowed)
        try:
            exec(compile(calls.strip_magics(cell["source"]), f"<cell-{gid}>", "exec"), ns)
        except CallTimeout:
            cell_errors[gid] = (f"the cell ran longer than {allowed:g} s" if gid not in stuck else
                                f"the cell did not end (stopped after {allowed:g} s here, as in the notebook run)")
        except BaseException as err:  # SystemExit and KeyboardInterrupt from student code too
            cell_errors[gid] = _short(f"{type(err).__name__}: {err}")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    functions = {}
    for name in spec.get("functions", []):
        fn = ns.get(name)
        info: dict[str, object] = {"defined": callable(fn), "defined_in": None, "fingerprint": None}
        if callable(fn):
            where = calls.defined_in(fn)
            info["defined_in"] = None if where is None else _short(where, 300)
            info["fingerprint"] = calls.code_fingerprint(fn)
        functions[name] = info
    return {"op": "cells", "setup_errors": setup_errors, "cell_errors": cell_errors, "functions": functions}


def _call(request: dict, inputs: dict, ns: dict, prefixes, kit_prefixes, timeout: float) -> tuple[dict, object]:
    name = request["function"]
    reply = {"op": "result", "id": request.get("id"), "ok": True, "error": None, "events": None,
             "own_calls": None}
    fn = ns.get(name)
    output = None
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        if not callable(fn):
            raise NameError(f"{name} is not defined")
        if request.get("trace"):
            events, called, error, output = calls.traced_call(fn, calls.call_args(name, inputs), prefixes)
            reply["events"] = events
            # Files of the kit (and whatever lies inside it) that ran: the grader looks for
            # the answer key among them, in case it was ever visible here.
            reply["called"] = sorted(f for f in called if f.startswith(kit_prefixes))[:20]
            if error:
                reply["ok"], reply["error"] = False, _short(error)
        elif request.get("own_calls"):
            reply["own_calls"] = calls.own_calls(fn, calls.call_args(name, inputs))
        else:
            output = calls.run_case(fn, name, inputs)
    except CallTimeout:
        reply["ok"], reply["error"], reply["timeout"] = False, f"the call ran longer than {timeout:g} s", True
    except BaseException as err:  # SystemExit and KeyboardInterrupt from student code too
        reply["ok"], reply["error"] = False, _short(f"{type(err).__name__}: {err}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    reply["hooks_changed"] = sys.gettrace() is not None or sys.getprofile() is not None
    return reply, output


def main() -> int:
    # Private copies of the two pipes; standard input is closed for student code.
    request_fd = os.dup(0)
    result_fd = os.dup(int(os.environ["LINCLASS_RESULT_FD"]))
    os.close(int(os.environ["LINCLASS_RESULT_FD"]))
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    read = wire.fd_reader(request_fd)
    signal.signal(signal.SIGALRM, _on_alarm)

    spec, _ = wire.receive(read)
    ns: dict = {"__name__": "__main__"}
    wire.send(result_fd, _run_cells(spec, ns))
    prefixes = calls.library_prefixes(spec.get("library_folders", []))
    kit_prefixes = tuple(str(f).rstrip("/") + "/" for f in spec.get("library_folders", []))
    timeout = float(spec["call_timeout"])
    while True:
        request, inputs = wire.receive(read)
        if request.get("op") != "call":
            return 0
        reply, output = _call(request, inputs if isinstance(inputs, dict) else {}, ns, prefixes, kit_prefixes,
                              timeout)
        try:
            wire.send(result_fd, reply, output)
        except (TypeError, ValueError, OverflowError) as err:
            # The value could not be framed (text that is not UTF-8, say): say so instead.
            reply.update(ok=False, error=_short(f"the returned value could not be sent ({type(err).__name__})"))
            wire.send(result_fd, reply, None)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except EOFError:
        sys.exit(0)
    except Exception:
        traceback.print_exc()
        sys.exit(3)
