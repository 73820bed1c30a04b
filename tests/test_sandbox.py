"""The sandbox that runs student code: isolation, limits and the unsandboxed fallback.

Every test runs a few lines of Python through run_sandboxed and checks what the code could
see or do, and that the run ends within seconds whatever the code tries.
"""
from __future__ import annotations

import ast
import logging
import os
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest

from autograder import answer_key, sandbox
from autograder.sandbox import (
    Limits,
    SandboxResult,
    python_executable,
    read_scratch_file,
    run_sandboxed,
    start_sandboxed,
)

ROOT = Path(__file__).resolve().parents[1]
HARNESS = answer_key.grader_folder() / "harness"
PY = python_executable()
SMALL = Limits(cell_timeout=5, total_timeout=10, memory_mb=768, max_procs=48,
               max_output_bytes=200_000, max_scratch_bytes=20_000_000)

needs_bwrap = pytest.mark.skipif(not sandbox.sandbox_available(),
                                 reason="bubblewrap is not installed or cannot create namespaces here")


def run_py(code: str, scratch: Path, limits: Limits = SMALL, **kw) -> SandboxResult:
    return run_sandboxed([PY, "-c", code], scratch, limits=limits, **kw)


def marker() -> str:
    """A token put into a run's command lines, to find exactly that run's processes
    (other sandboxes may run on the machine at the same time)."""
    return f"linclass-test-{uuid.uuid4().hex}"


def processes_with(token: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    if token.encode() in fh.read():
                        pids.append(int(entry))
            except OSError:
                continue
    return pids


def wait_gone(token: str, timeout: float = 5.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := processes_with(token)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


@needs_bwrap
def test_runs_python_with_numpy_and_linclass(tmp_path):
    # The kit folder of an editable install lies outside the virtual environment: the
    # caller shows it, as the grader does.
    result = run_py("import numpy, linclass, os; print('ok', numpy.ones(3).sum(), os.getcwd())", tmp_path,
                    readonly=[answer_key.kit_folder()])
    assert result.sandboxed is True
    assert result.returncode == 0, result.stderr
    assert result.reason is None and not result.timed_out
    assert result.stdout.split() == ["ok", "3.0", str(tmp_path.resolve())]


def test_the_mechanism_knows_nothing_of_the_course():
    # What to show and hide comes from the caller (autograder.answer_key); the sandbox
    # module imports nothing of linclass and keeps no list of its own.
    tree = ast.parse((ROOT / "autograder" / "sandbox.py").read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name.split(".")[0] in ("linclass", "autograder") for name in imported), imported
    assert not hasattr(sandbox, "hidden_paths")
    assert answer_key.kit_folder() not in sandbox.python_paths()


@needs_bwrap
def test_linclass_is_shown_only_when_the_caller_asks(tmp_path):
    if any(answer_key.kit_folder().is_relative_to(p) for p in sandbox.python_paths()):
        pytest.skip("linclass is installed inside the virtual environment here, not editable")
    result = run_py("import linclass", tmp_path)
    assert result.returncode == 1 and "ModuleNotFoundError" in result.stderr


@needs_bwrap
def test_answer_key_compiler_and_grader_hidden(tmp_path):
    # Graded code could call the answer key's compiled loss kernels without running a
    # traced Python line of it; inside the sandbox the whole answer key, its compiler and
    # the grader's package are gone, except the harness folder the grader shows on top.
    hidden = answer_key.hidden_paths()
    assert answer_key.folder() in hidden and answer_key.grader_folder() in hidden
    code = """
import importlib, json, os, sys
out = {"reference": os.listdir(sys.argv[1]), "grader": os.listdir(sys.argv[2]),
       "harness": sorted(os.listdir(os.path.join(sys.argv[2], "harness")))}
for name in sys.argv[3:]:
    try:
        module = importlib.import_module(name)
        out[name] = ("njit" in vars(module) or "loss_range" in vars(module)
                     or hasattr(module, "__file__") and bool(module.__file__))
    except Exception as err:
        out[name] = type(err).__name__
print(json.dumps(out))
"""
    names = answer_key.module_names() + ["numba", "llvmlite", "autograder", "autograder.sandbox",
                                         "autograder.answer_key"]
    result = run_sandboxed([PY, "-c", code, str(answer_key.folder()), str(answer_key.grader_folder()), *names],
                           tmp_path, readonly=[answer_key.kit_folder(), HARNESS], hidden=hidden, limits=SMALL)
    assert result.returncode == 0, result.stderr
    seen = __import__("json").loads(result.stdout)
    assert seen.pop("reference") == []
    assert seen.pop("grader") == ["harness"]
    assert seen.pop("harness") == sorted(os.listdir(HARNESS))
    assert len(names) > 5
    for name in names:
        # An empty folder imports as a namespace package with nothing in it (False).
        assert seen[name] in (False, "ImportError", "ModuleNotFoundError"), (name, seen[name])
    for name in answer_key.module_names():
        assert seen[name] == "ModuleNotFoundError", (name, seen[name])


@needs_bwrap
def test_hidden_paths_and_readonly_on_top(tmp_path):
    data = tmp_path / "data"
    (data / "secret" / "shown").mkdir(parents=True)
    (data / "secret" / "key.py").write_text("ANSWER = 42")
    (data / "secret" / "shown" / "ok.txt").write_text("fine")
    (data / "notes.txt").write_text("private notes")
    (data / "batch").write_text("pixels")
    nowhere = tmp_path / "not-mounted" / "deep"
    nowhere.mkdir(parents=True)
    code = ("import os, sys\nfor p in sys.argv[1:]:\n    try:\n"
            "        print(p, os.path.isdir(p) and sorted(os.listdir(p)) "
            "or os.path.exists(p) and open(p).read())\n    except OSError as e:\n        print(p, type(e).__name__)")
    paths = [data / "secret", data / "secret" / "shown" / "ok.txt", data / "notes.txt", data / "batch",
             nowhere, nowhere.parent]
    result = run_sandboxed([PY, "-c", code, *map(str, paths)], tmp_path / "s",
                           readonly=[data, data / "secret" / "shown"],
                           hidden=[data / "secret", data / "notes.txt", nowhere, tmp_path / "missing"],
                           limits=SMALL)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert lines[str(data / "secret")] == "['shown']"  # key.py gone, the readonly folder on top
    assert lines[str(data / "secret" / "shown" / "ok.txt")] == "fine"
    # A hidden file is /dev/null on a mount without devices: it cannot be opened.
    assert lines[str(data / "notes.txt")] == "PermissionError"
    assert lines[str(data / "batch")] == "pixels"
    # A hidden folder that no view shows leaves nothing behind, not even an empty folder.
    assert lines[str(nowhere)] == "False" and lines[str(nowhere.parent)] == "False"
    scratch = (tmp_path / "s").resolve()
    args = sandbox._mount_args(sandbox._make_view([data], [nowhere], scratch), scratch)
    assert str(nowhere) not in args


@needs_bwrap
def test_pass_fds_reach_the_sandboxed_program(tmp_path):
    # bwrap keeps inherited descriptors open for its command, and the launcher's exec keeps
    # them too: the program writes to the pipe under the caller's descriptor number.
    read_end, write_end = os.pipe()
    number = write_end
    try:
        code = "import os, sys\nfd = int(sys.argv[1])\nos.write(fd, b'hello from fd %d' % fd)"
        running = start_sandboxed([PY, "-c", code, str(number)], tmp_path, limits=SMALL, pass_fds=(number,))
        os.close(write_end)
        write_end = -1
        result = running.wait()
        assert result.returncode == 0, result.stderr
        assert result.sandboxed
        with os.fdopen(read_end, "rb") as fh:
            read_end = -1
            message = fh.read()  # EOF once the program, the only writer left, is gone
        assert message == b"hello from fd %d" % number
    finally:
        for fd in (read_end, write_end):
            if fd >= 0:
                os.close(fd)


@needs_bwrap
def test_start_sandboxed_talks_over_stdin_and_kills(tmp_path):
    code = "import sys\nfor line in sys.stdin:\n    print(line.strip().upper(), flush=True)"
    running = start_sandboxed([PY, "-c", code], tmp_path, limits=SMALL)
    running.proc.stdin.write(b"one\ntwo\n")
    result = running.wait()  # closes stdin: the loop ends
    assert result.returncode == 0 and result.stdout.split() == ["ONE", "TWO"]
    with start_sandboxed([PY, "-c", "import time\ntime.sleep(60)"], tmp_path, limits=SMALL) as sleeper:
        time.sleep(0.3)
        sleeper.kill()
        killed = sleeper.wait()
    assert killed.returncode is None and killed.reason == "stopped by the grader"
    assert killed.duration < 10


@needs_bwrap
def test_watchdog_runs_without_wait(tmp_path):
    token = marker()
    running = start_sandboxed([PY, "-c", f"# {token}\nwhile True: pass"], tmp_path,
                              limits=Limits(total_timeout=1, memory_mb=768, max_procs=48))
    deadline = time.monotonic() + 15
    while running.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running.proc.poll() is not None, "the timeout applies before anyone calls wait()"
    result = running.wait()
    assert result.timed_out and result.reason == "timeout after 1 s"
    assert wait_gone(token) == []


@needs_bwrap
def test_no_network_even_to_localhost(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    code = (f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
            f"    print('connected')\nexcept OSError as e:\n    print('refused', type(e).__name__)")
    try:
        result = run_py(code, tmp_path)
        assert result.stdout.startswith("refused"), result.stdout + result.stderr
        # The same code outside the sandbox does reach the server, so the check is real.
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    finally:
        server.close()


@needs_bwrap
def test_cannot_see_course_gradebook_or_other_students(tmp_path):
    course = tmp_path / "course"
    (course / "source" / "svm").mkdir(parents=True)
    (course / "source" / "svm" / "svm.ipynb").write_text("{}")
    (course / "gradebook.db").write_text("hidden tests")
    (course / "submitted" / "bob" / "svm").mkdir(parents=True)
    (course / "submitted" / "bob" / "svm" / "svm.ipynb").write_text("{}")
    scratch = course / "autograded" / "alice" / "scratch"
    dataset = tmp_path / "data"
    dataset.mkdir()
    (dataset / "batch").write_text("pixels")
    secret = [course / "gradebook.db", course / "source" / "svm" / "svm.ipynb",
              course / "submitted" / "bob" / "svm" / "svm.ipynb",
              ROOT / "solutions", ROOT / "autograder" / "sandbox.py", ROOT / "tests", ROOT / "pyproject.toml",
              Path("/root/.bashrc"), Path("/etc/passwd")]
    secret = [p for p in secret if p.exists()]
    assert len(secret) >= 5  # the host side does hold them
    code = "import os, sys\nfor p in sys.argv[1:]:\n    print(os.path.exists(p))"
    result = run_sandboxed([PY, "-c", code, *map(str, secret), str(dataset / "batch")], scratch,
                           readonly=[dataset], limits=SMALL)
    lines = result.stdout.split("\n")
    assert lines[:len(secret)] == ["False"] * len(secret), result.stdout + result.stderr
    assert lines[len(secret)] == "True"  # the readonly dataset is visible
    assert "gradebook.db" not in result.stdout


@needs_bwrap
def test_writes_only_to_scratch(tmp_path):
    scratch = tmp_path / "scratch"
    outside = tmp_path / "outside.txt"
    targets = [str(outside), str(ROOT / "linclass" / "planted.py"), "/usr/planted", "/planted",
               str(Path(sandbox.sys.prefix) / "planted")]
    code = ("import sys\nopen('mine.txt', 'w').write('kept')\nfor p in sys.argv[1:]:\n"
            "    try:\n        open(p, 'w').write('x'); print('wrote', p)\n"
            "    except OSError as e:\n        print('denied', type(e).__name__)")
    result = run_sandboxed([PY, "-c", code, *targets], scratch, readonly=[answer_key.kit_folder()],
                           limits=SMALL)
    assert result.returncode == 0, result.stderr
    assert "wrote" not in result.stdout
    assert result.stdout.count("denied") == len(targets)
    assert (scratch / "mine.txt").read_text() == "kept"
    assert not outside.exists() and not (ROOT / "linclass" / "planted.py").exists()


@needs_bwrap
def test_readonly_folder_cannot_be_changed(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "batch").write_text("original")
    code = "open(__import__('sys').argv[1], 'w').write('changed')"
    result = run_sandboxed([PY, "-c", code, str(data / "batch")], tmp_path / "s", readonly=[data], limits=SMALL)
    assert result.returncode == 1 and "Error" in result.stderr
    assert (data / "batch").read_text() == "original"


@needs_bwrap
def test_timeout_kills_loop_that_ignores_interrupts_and_its_children(tmp_path):
    token = marker()
    code = ("import signal, subprocess, sys\nfor s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):\n"
            "    signal.signal(s, signal.SIG_IGN)\n"
            f"subprocess.Popen([sys.executable, '-c', '# {token}\\nimport os, signal; os.setsid(); "
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\\nwhile True: pass'])\n"
            "while True:\n    pass")
    limits = Limits(total_timeout=2, memory_mb=768, max_procs=48)
    result = run_py(f"# {token}\n" + code, tmp_path, limits)
    assert result.timed_out is True and result.returncode is None
    assert result.reason == "timeout after 2 s"
    # Generous bound: it only proves the run was killed, not how fast.
    assert 2 <= result.duration < 30
    assert wait_gone(token) == []


@needs_bwrap
def test_detached_child_dies_with_the_run(tmp_path):
    code = ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)\n"
            "else:\n    print('parent done')")
    token = marker()
    result = run_py(f"# {token}\n" + code, tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == "parent done"
    assert not result.timed_out and result.duration < 30  # the child would sleep 60 s
    assert wait_gone(token) == []


@needs_bwrap
@pytest.mark.parametrize("code", ["x = bytearray(4 * 1024**3)",
                                  "import numpy as np\nx = np.ones((40000, 40000))",
                                  "chunks = []\nwhile True:\n    chunks.append(bytearray(50 * 1024**2))"])
def test_memory_bomb_stopped(tmp_path, code):
    result = run_py(code, tmp_path)
    assert result.returncode not in (0, None)
    assert result.reason == "memory limit (768 MB)", (result.reason, result.stderr[-500:])
    assert not result.timed_out


@needs_bwrap
def test_fork_bomb_stopped(tmp_path):
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    token = marker()
    result = run_py(f"# {token}\n" + code, tmp_path, Limits(total_timeout=4, memory_mb=768, max_procs=32))
    # The bomb never ends by itself; what matters is that it is contained and then gone.
    assert result.timed_out or result.returncode != 0
    assert result.duration < 30
    assert wait_gone(token) == []


@needs_bwrap
def test_fork_bomb_hits_the_process_limit(tmp_path):
    code = ("import os, time\nn = 0\ntry:\n    while True:\n        if os.fork() == 0:\n"
            "            time.sleep(30)\n            os._exit(0)\n        n += 1\n"
            "except OSError as e:\n    print('stopped after', n, type(e).__name__)")
    token = marker()
    result = run_py(f"# {token}\n" + code, tmp_path, Limits(total_timeout=8, memory_mb=768, max_procs=32))
    assert "stopped after" in result.stdout, result.stdout + result.stderr
    assert int(result.stdout.split()[2]) < 32
    assert wait_gone(token) == []


@needs_bwrap
def test_gigabytes_of_output_truncated(tmp_path):
    code = "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n    sys.stderr.write('y' * 65536)"
    result = run_py(code, tmp_path)
    kept = len(result.stdout.split("\n[output truncated")[0]) + len(result.stderr.split("\n[output truncated")[0])
    assert kept == SMALL.max_output_bytes
    assert "[output truncated" in result.stdout + result.stderr
    assert result.reason.startswith("output limit")
    assert not result.timed_out


@needs_bwrap
def test_big_file_refused_and_scratch_limit(tmp_path):
    one = run_py("open('big', 'wb').write(b'x' * 10_000_000)", tmp_path / "a")
    assert one.returncode == 1 and "File too large" in one.stderr
    assert (tmp_path / "a" / "big").stat().st_size <= SMALL.max_output_bytes
    writer = "i = 0\nwhile True:\n    open(f'f{i}', 'wb').write(b'x' * 150_000)\n    i += 1"
    # Without a tmpfs (the fallback) a watchdog that looks every 0.1 s stops the run; how far a
    # fast writer gets before it looks depends on the disk and the load, so only the stop is asserted.
    many = run_py(writer, tmp_path / "b")
    assert many.reason.startswith("scratch folder limit"), many.reason
    # Grading runs in a size-limited tmpfs: there the cap is exact, whatever the speed.
    (tmp_path / "t").mkdir()
    with sandbox.scratch_mount(tmp_path / "t", SMALL.max_scratch_bytes) as scratch:
        capped = run_py(writer, scratch)
        used = sum(p.stat().st_size for p in scratch.rglob("*") if p.is_file())
    assert capped.returncode != 0 and ("No space left" in capped.stderr
                                       or capped.reason.startswith("scratch folder limit")), capped
    assert used <= SMALL.max_scratch_bytes, used
    sparse = run_py("f = open('sparse', 'wb')\nf.truncate(10**12)", tmp_path / "c")
    assert sparse.returncode == 1 and "File too large" in sparse.stderr


@needs_bwrap
@pytest.mark.parametrize("code, returncode, reason", [
    ("import sys; sys.exit(5)", 5, "exit code 5"),
    ("import os; os._exit(3)", 3, "exit code 3"),
    ("import os; os.kill(os.getpid(), 9)", 137, "killed by signal 9 (SIGKILL)"),
    ("raise SystemExit(0)", 0, None),
])
def test_exits_reported(tmp_path, code, returncode, reason):
    result = run_py(code, tmp_path)
    assert (result.returncode, result.reason) == (returncode, reason)


@needs_bwrap
def test_killing_the_parent_fails_and_the_grader_lives(tmp_path):
    code = ("import os, signal\nfor pid in (os.getppid(), 1):\n    try:\n"
            "        os.kill(pid, signal.SIGKILL); print('killed', pid)\n"
            "    except OSError as e:\n        print('denied', type(e).__name__)\nprint('alive')")
    result = run_py(code, tmp_path)
    assert result.returncode == 0
    assert "killed" not in result.stdout
    assert result.stdout.split()[-1] == "alive"
    # Our own pid is invisible inside the sandbox's process namespace.
    result = run_py(f"import os; os.kill({os.getpid()}, 9)", tmp_path)
    assert result.returncode == 1 and "ProcessLookupError" in result.stderr


def test_unsandboxed_fallback_is_loud_and_keeps_limits(tmp_path, monkeypatch, caplog, capsys):
    monkeypatch.setenv("LINCLASS_NO_SANDBOX", "1")
    monkeypatch.delenv(sandbox.UNSANDBOXED_WARNED_ENV, raising=False)
    monkeypatch.setattr(sandbox, "_warned", set())  # as in a fresh process
    assert sandbox.sandbox_available() is False
    assert "LINCLASS_NO_SANDBOX" in sandbox.sandbox_problem()
    with caplog.at_level(logging.WARNING, logger="autograder.sandbox"):
        result = run_py("print('hi')", tmp_path)
        again = run_py("print('hi')", tmp_path)
    assert result.sandboxed is False and result.stdout == "hi\n" and again.stdout == "hi\n"
    # Loud, but once per process, not once per run.
    assert sum("UNSANDBOXED" in r.getMessage() for r in caplog.records) == 1
    assert capsys.readouterr().err.count("UNSANDBOXED") == 1
    loop = run_py("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True: pass",
                  tmp_path, Limits(total_timeout=1.5, memory_mb=768))
    assert loop.timed_out and loop.reason == "timeout after 1.5 s" and loop.sandboxed is False
    bomb = run_py("x = bytearray(4 * 1024**3)", tmp_path)
    assert bomb.reason == "memory limit (768 MB)"


def test_bad_arguments_raise_value_error(tmp_path):
    with pytest.raises(ValueError, match="argv"):
        run_sandboxed([], tmp_path)
    with pytest.raises(ValueError, match="readonly"):
        run_sandboxed([PY, "-c", "pass"], tmp_path, readonly=[tmp_path / "missing"])
    with pytest.raises(ValueError, match="inside readonly"):
        run_sandboxed([PY, "-c", "pass"], tmp_path / "s", readonly=[tmp_path])
    with pytest.raises(ValueError, match="memory_mb"):
        Limits(memory_mb=0)
    with pytest.raises(ValueError, match="env"):
        run_sandboxed([PY, "-c", "pass"], tmp_path, env={"A": 1})
    (tmp_path / "d").mkdir()
    with pytest.raises(ValueError, match="both readonly and hidden"):
        run_sandboxed([PY, "-c", "pass"], tmp_path / "s", readonly=[tmp_path / "d"], hidden=[tmp_path / "d"])
    with pytest.raises(ValueError, match="inside scratch"):
        run_sandboxed([PY, "-c", "pass"], tmp_path, readonly=[tmp_path / "d"])
    with pytest.raises(ValueError, match="pass_fds"):
        start_sandboxed([PY, "-c", "pass"], tmp_path / "s", pass_fds=(1,))


def test_read_scratch_file_refuses_links_fifos_and_big_files(tmp_path):
    (tmp_path / "out.json").write_text('{"a": 1}')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.npz").write_bytes(b"data")
    secret = tmp_path.parent / f"{tmp_path.name}-secret"
    secret.write_text("gradebook")
    (tmp_path / "link").symlink_to(secret)
    (tmp_path / "dirlink").symlink_to(tmp_path.parent)
    os.mkfifo(tmp_path / "fifo")
    assert read_scratch_file(tmp_path, "out.json") == b'{"a": 1}'
    assert read_scratch_file(tmp_path, "sub/x.npz") == b"data"
    for name in ("link", f"dirlink/{secret.name}", "fifo", "sub"):
        with pytest.raises(ValueError):
            read_scratch_file(tmp_path, name)
    for name in ("../x", "/etc/passwd", ""):
        with pytest.raises(ValueError, match="relative path"):
            read_scratch_file(tmp_path, name)
    with pytest.raises(ValueError, match="max_bytes"):
        read_scratch_file(tmp_path, "out.json", max_bytes=3)
    with pytest.raises(FileNotFoundError):
        read_scratch_file(tmp_path, "missing")


PREDICT = "def predict(W, X):\n    return np.argmax(X.dot(W), axis=1)\n"


@needs_bwrap
def test_probe_started_ahead_waits_for_its_cells_and_its_time_limit_counts_from_them(tmp_path):
    # The grader starts the probe while the notebook run goes on: the wait is not its time.
    from autograder.probe_driver import Probe

    limits = Limits(cell_timeout=5, total_timeout=3, memory_mb=768, max_procs=48)
    with Probe(tmp_path / "early", limits, wait=20) as probe:
        time.sleep(4)  # longer than total_timeout, before the cells are sent
        run = probe.run([{"grade_id": "predict", "source": PREDICT}], ["import numpy as np"], ["predict"],
                        7, call_timeout=2.0)
    assert run.problem is None, run.problem
    record = run.records["predict"]
    assert record.defined and record.outputs and all(ok for ok, _ in record.outputs), record.outputs
    assert not os.path.ismount(tmp_path / "early")
    # From the cells on, total_timeout holds as before.
    t0 = time.monotonic()
    with Probe(tmp_path / "late", Limits(cell_timeout=5, total_timeout=2, memory_mb=768, max_procs=48),
               wait=20) as probe:
        run = probe.run([{"grade_id": "predict", "source": "while True:\n    pass\n"}], [], ["predict"], 7,
                        call_timeout=30.0)
    assert run.problem and "timeout after 2 s" in run.problem, run.problem
    assert time.monotonic() - t0 < 15
