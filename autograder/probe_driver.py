"""Drive the probe: call a student's functions one case at a time, from outside the sandbox.

The grader starts ``harness/probe.py`` in the sandbox and talks to it over two pipes (see
``harness/wire.py``). It sends the answer cells, then one case at a time, and reads each
result as soon as the call returns, under a deadline and under the wire's size limits. The
probe never holds an input before the call that uses it, nor a seed, nor an expected output.
When the grader has what it needs it ends the process: nothing the sandbox does afterwards
can change a result.

:func:`probe_functions` returns a :class:`ProbeRecord` per function: the outputs on the
grader's cases, the traced line counts on two fresh cases, the student's own functions one
call ran, and where the function's code comes from.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import secrets
import select
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder import answer_key, registry, sandbox
from autograder.harness import wire

HARNESS = Path(__file__).resolve().parent / "harness"
# Extra seconds the grader waits for a reply beyond the probe's own alarm for the call:
# the alarm stops a slow call inside the probe; this deadline stops a probe that ignores it.
_DEADLINE_SLACK = 5.0


@dataclass
class ProbeRecord:
    """What the probe found about one graded function."""

    name: str
    """The function's name."""
    defined: bool = False
    """True when the answer cells define it as something callable."""
    defined_in: str | None = None
    """The file name of its code object (``<cell-...>`` for code from an answer cell)."""
    fingerprint: str | None = None
    """Its code fingerprint (``harness.calls.code_fingerprint``)."""
    cases: list = field(default_factory=list)
    """The grader's cases it was called on (``registry.make_cases``), in order."""
    outputs: list = field(default_factory=list)
    """One (ok, value or error message) per case that ran."""
    trace_cases: list = field(default_factory=list)
    """The two fresh cases of the vectorization trace."""
    trace_outputs: list = field(default_factory=list)
    """One (ok, value or error message) per trace case."""
    events: list = field(default_factory=list)
    """Traced line events in the student's own code, one per trace case."""
    own_calls: list = field(default_factory=list)
    """The student's own functions (answer-cell code) that one call ran."""
    reference_calls: list = field(default_factory=list)
    """Files of the answer key that ran during the traced calls (none where it is hidden)."""
    hooks_changed: bool = False
    """True when a call left a tracing or profiling hook set."""
    error: str | None = None
    """Why it could not be probed fully, or None."""


@dataclass
class ProbeRun:
    """The whole probe of one submission."""

    records: dict = field(default_factory=dict)
    """function name -> ProbeRecord."""
    cell_errors: dict = field(default_factory=dict)
    """answer cell grade_id -> the error it raised."""
    setup_errors: list = field(default_factory=list)
    """Setup imports that failed."""
    problem: str | None = None
    """Why the probe stopped before it finished, or None."""
    sandboxed: bool = True
    """False when the probe ran without the sandbox."""


class _Channel:
    """The grader's end of the two pipes, with a deadline on every read."""

    def __init__(self, running, result_fd: int):
        self.running, self.fd = running, result_fd
        self.deadline = 0.0
        self.buffer = bytearray()

    def send(self, header: dict, value=None) -> None:
        self.running.proc.stdin.write(wire.pack(header, value))
        self.running.proc.stdin.flush()

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                raise TimeoutError
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                raise EOFError("the probe stopped")
            self.buffer += chunk
        out = bytes(self.buffer[:n])
        del self.buffer[:n]
        return out

    def receive(self, seconds: float):
        self.deadline = time.monotonic() + seconds
        return wire.receive(self._read)


def _expect(channel: _Channel, op: str, seconds: float, request_id=None):
    header, value = channel.receive(seconds)
    if header.get("op") != op or (request_id is not None and header.get("id") != request_id):
        raise wire.WireError(f"the probe answered {str(header.get('op'))[:20]!r} out of turn")
    return header, value


def probe_functions(scratch: Path, cells: list[dict], setup: list[str], functions: list[str],
                    seed: int, call_timeout: float, limits: sandbox.Limits,
                    stuck_cells: dict | None = None) -> ProbeRun:
    """Run the answer cells in a fresh sandboxed process and call every graded function.

    scratch: Path, an empty folder for the run; cells: [{"grade_id", "source"}], the code
    answer cells in notebook order; setup: import statements of the release; functions:
    graded names; seed: int, the seed of this submission's cases (never sent to the probe);
    call_timeout: seconds per cell and per call; limits: sandbox.Limits for the process;
    stuck_cells: grade_id -> seconds, a shorter allowance for cells that never ended.
    """
    with Probe(scratch, limits) as probe:
        return probe.run(cells, setup, functions, seed, call_timeout, stuck_cells)


class Probe:
    """A probe process started ahead of its work: ``Probe(scratch, limits, wait)`` starts
    the sandbox, its Python and the harness at once; :meth:`run` hands it the answer cells
    later. The grader starts it while the notebook run goes on, so that starting it costs no
    time of its own; until ``run`` sends the cells it holds no student code at all.

    scratch: Path, an empty folder for the run (a size-limited tmpfs while the probe lives);
    limits: sandbox.Limits; ``limits.total_timeout`` counts from the moment ``run`` sends the
    cells, and the sandbox is allowed ``wait`` more seconds before that (the notebook run's
    own limit). Use it as a context manager, or call :meth:`close`.
    """

    def __init__(self, scratch: Path, limits: sandbox.Limits, wait: float = 0.0):
        self.limits = limits
        self._stack = contextlib.ExitStack()
        self._running: sandbox.Running | None = None
        self._start_error: str | None = None
        try:
            self._start(scratch, limits, wait)
        except BaseException:
            self._stack.close()
            raise

    def _start(self, scratch: Path, limits: sandbox.Limits, wait: float) -> None:
        try:
            # A size-limited tmpfs while the probe runs: open-but-deleted files count too.
            self._stack.enter_context(sandbox.scratch_mount(scratch, int(limits.max_scratch_bytes)))
            self._result_read, result_write = os.pipe()
            self._stack.callback(os.close, self._result_read)
            env = {"LINCLASS_FAST": "1", "PYTHONHASHSEED": "0", "LINCLASS_RESULT_FD": str(result_write)}
            early = dataclasses.replace(limits, total_timeout=float(limits.total_timeout) + max(0.0, wait))
            try:
                self._running = sandbox.start_sandboxed(
                    [sandbox.python_executable(), str(HARNESS / "probe.py")], scratch,
                    readonly=[answer_key.kit_folder(), HARNESS], hidden=answer_key.hidden_paths(),
                    limits=early, env=env, pass_fds=(result_write,))
            finally:
                os.close(result_write)
        except OSError as err:
            self._start_error = f"the probe of your functions could not start ({str(err)[:200]})"

    def run(self, cells: list[dict], setup: list[str], functions: list[str], seed: int,
            call_timeout: float, stuck_cells: dict | None = None) -> ProbeRun:
        """Send the cells, call every graded function and end the process; arguments as for
        :func:`probe_functions`. Call it once."""
        run = ProbeRun()
        if self._running is None:
            run.problem = self._start_error or "the probe of your functions could not start"
            return run
        running = self._running
        # The time limit of the probe counts from here, whatever the sandbox's own allows.
        limit = float(self.limits.total_timeout)
        timer = threading.Timer(limit, running.kill, args=(f"timeout after {limit:g} s",))
        timer.daemon = True
        timer.start()
        channel = _Channel(running, self._result_read)
        try:
            _drive(channel, run, cells, setup, functions, seed, call_timeout, stuck_cells or {})
        except TimeoutError:
            run.problem = f"the probe of your functions gave no answer within {call_timeout + _DEADLINE_SLACK:g} s"
        except EOFError:
            run.problem = "the probe of your functions stopped"
        except (wire.WireError, BrokenPipeError, OSError, TypeError, ValueError, AttributeError) as err:
            run.problem = f"the probe of your functions sent something unusable ({str(err)[:200]})"
        finally:
            timer.cancel()
            running.kill()
            result = running.wait()
            run.sandboxed = result.sandboxed
            if run.problem and result.reason:
                run.problem += f": {result.reason}"
        return run

    def close(self) -> None:
        """End the process (if it still runs) and remove its tmpfs; safe to call twice."""
        if self._running is not None:
            self._running.kill()
            self._running.wait()
        self._stack.close()

    def __enter__(self) -> "Probe":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _drive(channel, run, cells, setup, functions, seed, call_timeout, stuck_cells) -> None:
    channel.send({"op": "start", "setup": setup, "cells": cells, "functions": functions,
                  "call_timeout": call_timeout, "stuck_cells": stuck_cells,
                  "library_folders": [str(answer_key.kit_folder())]})
    cell_seconds = sum(float(stuck_cells.get(c["grade_id"], call_timeout)) for c in cells) + 2 * _DEADLINE_SLACK
    header, _ = _expect(channel, "cells", cell_seconds)
    # The header came from the sandbox: every field is checked for its type before use.
    cell_errors, setup_errors, found = (header.get(k) for k in ("cell_errors", "setup_errors", "functions"))
    cell_errors = cell_errors if isinstance(cell_errors, dict) else {}
    run.cell_errors = {str(k)[:100]: str(v)[:500] for k, v in list(cell_errors.items())[:50]}
    run.setup_errors = [str(e)[:500] for e in (setup_errors if isinstance(setup_errors, list) else [])][:20]
    found = found if isinstance(found, dict) else {}
    deadline = call_timeout + _DEADLINE_SLACK
    for name in functions:
        entry = found.get(name)
        info: dict = entry if isinstance(entry, dict) else {}
        record = ProbeRecord(name, defined=info.get("defined") is True,
                             defined_in=str(info["defined_in"])[:300] if info.get("defined_in") else None,
                             fingerprint=str(info["fingerprint"])[:64] if info.get("fingerprint") else None)
        run.records[name] = record
        if not record.defined:
            continue
        record.cases = registry.make_cases(name, seed)
        record.trace_cases = registry.trace_cases(name, seed)
        timed_out = False
        for case in record.cases:
            if timed_out:
                record.outputs.append((False, "not run: an earlier call timed out"))
                continue
            reply, value = _call(channel, case, deadline)
            record.hooks_changed |= reply.get("hooks_changed") is True
            timed_out = reply.get("timeout") is True
            record.outputs.append((True, value) if reply.get("ok") else (False, _error_text(reply.get("error"))))
        if timed_out:
            record.error = "not traced: a call timed out"
            continue
        for case in record.trace_cases:
            reply, value = _call(channel, case, deadline, trace=True)
            record.hooks_changed |= reply.get("hooks_changed") is True
            events = reply.get("events")
            record.events.append(events if type(events) is int else None)
            record.trace_outputs.append((True, value) if reply.get("ok") else (False, _error_text(reply.get("error"))))
            called = reply.get("called")
            if isinstance(called, list):
                record.reference_calls += [Path(str(f)).name for f in called[:20]
                                           if answer_key.is_answer_key_file(str(f)[:500])]
            if reply.get("timeout"):
                break
        reply, _ = _call(channel, record.cases[0], deadline, own_calls=True)
        calls = reply.get("own_calls")
        record.own_calls = [str(c)[:100] for c in calls][:50] if isinstance(calls, list) else []
    channel.send({"op": "end"})


def _error_text(error) -> str:
    """The first line of an error the student's code raised, at most 300 characters, with
    numbers of many digits shown as "<number>".

    The feedback quotes it. The first line says what went wrong, and short numbers (an index,
    a shape) say where; the rest of a long message, and the long decimals of printed arrays,
    would only copy the grader's inputs onto the page.
    """
    text = str(error) if error is not None else "error"
    first = text.strip().splitlines()[0] if text.strip() else "error"
    first = _LONG_NUMBER.sub("<number>", first)
    return first if len(first) <= 300 else first[:297] + "..."


_LONG_NUMBER = re.compile(r"[-+]?(?:\d+\.\d{4,}|\d{6,})(?:[eE][-+]?\d+)?")


def _call(channel, case, deadline, trace=False, own_calls=False):
    request_id = secrets.token_hex(8)
    channel.send({"op": "call", "id": request_id, "function": case["function"], "trace": trace,
                  "own_calls": own_calls}, case["inputs"])
    return _expect(channel, "result", deadline, request_id)
