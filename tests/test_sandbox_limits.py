"""Limits for the submission as a whole: a cgroup per sandboxed run (memory, processes)
and a size-limited tmpfs for scratch; and linclass-grade's refusal to grade unsandboxed.

Each attack here beats limits that hold per process: memory in memfds (not in any
process's address space), memory spread over several processes, scratch space held by
files deleted while still open, a fork storm where the process limit does not apply (an
unsandboxed grader running as root). The fallback without cgroups or tmpfs is forced
too: it warns once and keeps the per-process limits.
"""
from __future__ import annotations

import errno
import json
import logging
import os
import time
import uuid
from pathlib import Path

import pytest

import autograder  # noqa: F401  (first: it keeps nbformat's import fast)

# isort: split
import nbformat
from test_sandbox import processes_with, wait_gone  # the same process finders as the sandbox tests

from autograder import cli, sandbox
from autograder.layout import CourseLayout
from autograder.sandbox import Limits, python_executable, read_scratch_file, run_sandboxed, scratch_mount

PY = python_executable()
MB = 1024 * 1024

needs_bwrap = pytest.mark.skipif(not sandbox.sandbox_available(),
                                 reason="bubblewrap is not installed or cannot create namespaces here")
needs_cgroups = pytest.mark.skipif(not sandbox.cgroups_available(),
                                   reason="no writable cgroup memory controller here (needs root and "
                                   "the cgroup v1 memory/pids or cgroup v2 controllers mounted)")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs for scratch needs root")


def marker() -> str:
    return f"linclass-limits-{uuid.uuid4().hex}"


def leftover_cgroups() -> list[Path]:
    """Cgroup folders of this test process's runs that still exist."""
    found = []
    for h in sandbox._cgroup_hierarchies() or ():
        found += list((h.root / sandbox._CGROUP_PARENT).glob(f"run-{os.getpid()}-*"))
    return found


def run_py(code: str, scratch: Path, limits: Limits, token: str | None = None, **kw):
    token = token or marker()
    result = run_sandboxed([PY, "-c", f"# {token}\n{code}"], scratch, limits=limits, **kw)
    # After every run: nothing of it is left, neither processes nor its cgroup.
    assert wait_gone(token) == [], f"processes of the run survived: {processes_with(token)}"
    assert leftover_cgroups() == []
    return result


@pytest.fixture
def fresh_warnings(monkeypatch):
    """The sandbox's once-per-process warnings as in a fresh process."""
    monkeypatch.setattr(sandbox, "_warned", set())
    monkeypatch.delenv(sandbox.UNSANDBOXED_WARNED_ENV, raising=False)


@pytest.fixture
def no_cgroups(monkeypatch, fresh_warnings):
    """Force the fallback: this machine seems to have no cgroup controllers."""
    monkeypatch.setattr(sandbox, "_cgroup_mounts", lambda: [])
    sandbox._cgroup_hierarchies.cache_clear()
    yield
    sandbox._cgroup_hierarchies.cache_clear()


MEMFDS = """
import os, sys
chunk = b"x" * (16 << 20)
fds, total = [], 0
while total < int(sys.argv[1]):
    fd = os.memfd_create("hoard")
    os.write(fd, chunk)
    fds.append(fd)
    total += 16
    print(total, flush=True)
print("done", flush=True)
"""


def _last_number(stdout: str) -> int:
    numbers = [int(line) for line in stdout.split() if line.isdigit()]
    return numbers[-1] if numbers else 0


@needs_bwrap
@needs_cgroups
@pytest.mark.slow
def test_memory_in_memfds_stopped_at_the_whole_run_limit(tmp_path):
    # memfds live in no process's address space: RLIMIT_AS never sees them.
    limits = Limits(total_timeout=60, memory_mb=1024, max_procs=48, max_output_bytes=20_000_000)
    result = run_py(MEMFDS.replace("sys.argv[1]", "4096"), tmp_path, limits)
    reached = _last_number(result.stdout)
    print(f"memfd attack: 4096 MB attempted, {reached} MB written, peak {result.peak_memory_mb} MB, "
          f"{result.duration:.2f} s: {result.reason}")
    assert result.reason == "memory limit (1024 MB) for the submission as a whole", result.stderr[-500:]
    assert result.returncode is None and not result.timed_out
    assert "done" not in result.stdout and reached <= 1024
    assert result.peak_memory_mb is not None and result.peak_memory_mb <= 1024 + 1


@needs_bwrap
@needs_cgroups
@pytest.mark.slow
def test_five_processes_of_800_mb_stopped_under_a_2_gb_limit(tmp_path):
    # Each process stays far below its own address-space limit; together they hold 4 GB.
    code = """
import os, time
for i in range(5):
    if os.fork() == 0:
        block = b"\\x01" * (800 << 20)
        print("filled", i, flush=True)
        time.sleep(60)
        os._exit(0)
for _ in range(5):
    os.wait()
print("all five held 800 MB", flush=True)
"""
    limits = Limits(total_timeout=60, memory_mb=2048, max_procs=48)
    result = run_py(code, tmp_path, limits)
    print(f"5 x 800 MB: {result.stdout.count('filled')} filled, peak {result.peak_memory_mb} MB, "
          f"{result.duration:.2f} s: {result.reason}")
    assert result.reason == "memory limit (2048 MB) for the submission as a whole", result.stderr[-500:]
    assert result.returncode is None and not result.timed_out
    assert result.stdout.count("filled") <= 2 and "all five" not in result.stdout
    assert result.peak_memory_mb <= 2048 + 1
    assert result.duration < 30  # stopped at once, not at the timeout


DELETED = """
import os
held, total = [], 0
while total < 1800:
    name = f"f{total}"
    f = open(name, "wb")
    os.unlink(name)  # gone from the folder, still taking space while open
    f.write(b"x" * (4 << 20))
    f.flush()
    held.append(f)
    total += 4
    print(total, flush=True)
print("done", flush=True)
"""


@needs_bwrap
@needs_root
@pytest.mark.slow
def test_open_but_deleted_files_stopped_at_the_scratch_cap(tmp_path):
    limits = Limits(total_timeout=60, memory_mb=1024, max_procs=48, max_scratch_bytes=50_000_000)
    with scratch_mount(tmp_path / "s", limits.max_scratch_bytes) as scratch:
        assert os.path.ismount(scratch)
        result = run_py(DELETED, scratch, limits)
    reached = _last_number(result.stdout)
    print(f"open-but-deleted files: 1800 MB attempted, {reached} MB held, {result.duration:.2f} s: "
          f"{result.reason}")
    assert "done" not in result.stdout and reached * MB <= limits.max_scratch_bytes
    assert "No space left on device" in result.stderr or result.returncode is None
    assert result.reason.startswith("scratch folder limit"), (result.reason, result.stderr[-300:])
    assert not os.path.ismount(scratch) and list(scratch.iterdir()) == []


TMP_FILES = """
import os
made = 0
try:
    for k in range(60_000):
        open(f"/tmp/f{k}", "w").close()
        made += 1
except OSError as err:
    print("stopped", err.errno, flush=True)
print("files", made, flush=True)
"""

TMP_BYTES = """
import os
held = 0
try:
    for k in range(100):  # files of 1 MB: one file may not pass max_output_bytes
        with open(f"/tmp/big{k}", "wb") as fh:
            fh.write(b"x" * 1_000_000)
        held += 1
except OSError as err:
    print("stopped", err.errno, flush=True)
print("held", held, flush=True)
"""


@needs_bwrap
@needs_root
@pytest.mark.slow
def test_files_in_tmp_count_against_the_scratch_file_cap(tmp_path):
    # /tmp is scratch's .tmp folder: a tmpfs of its own would cap bytes but not files.
    limits = Limits(total_timeout=60, memory_mb=1024, max_procs=48, max_scratch_bytes=50_000_000)
    with scratch_mount(tmp_path / "s", limits.max_scratch_bytes) as scratch:
        result = run_py(TMP_FILES, scratch, limits)
        in_tmp = len(list((scratch / ".tmp").iterdir()))
    print(f"empty files in /tmp: 60000 attempted, {in_tmp} made: {result.reason}")
    assert in_tmp <= sandbox._MAX_SCRATCH_FILES
    assert "files 60000" not in result.stdout
    # Stopped by the watchdog, or the code caught ENOSPC (no inode left) first and ended.
    stopped = (result.reason or "").startswith("scratch folder limit") or f"stopped {errno.ENOSPC}" in result.stdout
    assert stopped, (result.reason, result.stdout[-300:], result.stderr[-300:])


@needs_bwrap
@needs_root
def test_bytes_in_tmp_count_against_the_scratch_byte_cap(tmp_path):
    limits = Limits(total_timeout=60, memory_mb=1024, max_procs=48, max_scratch_bytes=20_000_000)
    with scratch_mount(tmp_path / "s", limits.max_scratch_bytes) as scratch:
        result = run_py(TMP_BYTES, scratch, limits)
    held = _last_number(result.stdout)
    print(f"1 MB files in /tmp: 100 MB attempted, {held} MB written: {result.reason}")
    assert 0 < held and held * 1_000_000 <= limits.max_scratch_bytes
    # The code caught ENOSPC (no space left on device) and ended by itself.
    assert f"stopped {errno.ENOSPC}" in result.stdout, (result.stdout, result.stderr[-300:])


@needs_bwrap
def test_tmp_is_the_runs_own_tmpdir(tmp_path):
    # Without a tmpfs (the watchdog measures scratch), /tmp still lands in scratch.
    code = "import os, tempfile\nopen('/tmp/a.txt', 'w').write('a')\nprint(sorted(os.listdir(tempfile.gettempdir())))"
    result = run_sandboxed([PY, "-c", code], tmp_path / "s", limits=Limits(total_timeout=60))
    assert result.returncode == 0, result.stderr
    assert "'a.txt'" in result.stdout
    assert (tmp_path / "s" / ".tmp" / "a.txt").read_text() == "a"


@needs_cgroups
@pytest.mark.skipif(os.geteuid() != 0, reason="only root is exempt from RLIMIT_NPROC")
def test_fork_storm_capped_by_pids_max_even_for_root_unsandboxed(tmp_path, monkeypatch):
    # Unsandboxed as root, RLIMIT_NPROC does nothing: only the cgroup's pids.max caps it.
    monkeypatch.setenv("LINCLASS_NO_SANDBOX", "1")
    monkeypatch.setenv(sandbox.UNSANDBOXED_WARNED_ENV, "1")
    code = """
import os, time
n = 0
try:
    while n < 2000:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        n += 1
except OSError as e:
    print("stopped after", n, e.errno, flush=True)
"""
    result = run_py(code, tmp_path, Limits(total_timeout=20, memory_mb=768, max_procs=32))
    assert result.sandboxed is False
    assert "stopped after" in result.stdout, result.stdout + result.stderr
    assert int(result.stdout.split()[2]) < 32 and int(result.stdout.split()[3]) == errno.EAGAIN


@needs_bwrap
@needs_cgroups
def test_sandboxed_run_has_its_cgroup_limits_and_leaves_nothing(tmp_path):
    limits = Limits(total_timeout=20, memory_mb=640, max_procs=24)
    token = marker()
    code = f"# {token}\nimport os, sys, time\nprint('ready', flush=True)\nsys.stdin.read()"
    running = sandbox.start_sandboxed([PY, "-c", code], tmp_path, limits=limits)
    try:
        assert running.proc.stdout is not None
        lines = {}
        deadline = time.monotonic() + 10
        while not lines and time.monotonic() < deadline:
            with open(f"/proc/{running.proc.pid}/cgroup") as fh:
                lines = {ln.split(":")[1]: ln.split(":")[2] for ln in fh.read().splitlines()
                         if f"/{sandbox._CGROUP_PARENT}/run-" in ln}
        folders = {h.root / lines[c].lstrip("/") for h in sandbox._cgroup_hierarchies() for c in h.controllers
                   if c in lines}
        assert folders and all(f.is_dir() for f in folders)
        memory = next(f for f in folders if (f / "memory.limit_in_bytes").exists() or (f / "memory.max").exists())
        limit_file = memory / ("memory.limit_in_bytes" if (memory / "memory.limit_in_bytes").exists() else "memory.max")
        assert int(limit_file.read_text()) == 640 * MB
        pids = next((f for f in folders if (f / "pids.max").exists()), None)
        if pids is not None:
            assert int((pids / "pids.max").read_text()) == 24 + sandbox._BWRAP_TASKS
            time.sleep(0.3)
            # bwrap, the namespace's init and the program: every one of them is counted.
            assert int((pids / "pids.current").read_text()) >= 3
    finally:
        result = running.wait()
    assert result.returncode == 0, result.stderr
    assert not any(f.exists() for f in folders)
    assert wait_gone(token) == [] and leftover_cgroups() == []


@needs_cgroups
def test_detached_child_of_an_unsandboxed_run_is_killed_with_it(tmp_path, monkeypatch):
    # Without bubblewrap's process namespace, a child in a session of its own used to
    # outlive the run; the cgroup finds it wherever it went.
    monkeypatch.setenv("LINCLASS_NO_SANDBOX", "1")
    monkeypatch.setenv(sandbox.UNSANDBOXED_WARNED_ENV, "1")
    token = marker()
    code = ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
            "        time.sleep(60)\n    os._exit(0)\nprint('parent done')")
    result = run_py(code, tmp_path, Limits(total_timeout=20, memory_mb=768, max_procs=32), token=token)
    assert result.returncode == 0 and result.stdout.strip() == "parent done"


@needs_bwrap
@needs_root
def test_honest_run_unaffected_and_tmpfs_gone_after_cleanup(tmp_path):
    limits = Limits(total_timeout=60, memory_mb=1024, max_procs=48, max_scratch_bytes=30_000_000)
    code = ("import json, numpy as np\nx = np.random.default_rng(0).normal(size=(500, 500))\n"
            "json.dump({'sum': float((x @ x.T).trace())}, open('out.json', 'w'))\n"
            "open('data.bin', 'wb').write(b'y' * 3_000_000)\nprint('ok')")
    with scratch_mount(tmp_path / "s", limits.max_scratch_bytes) as scratch:
        (scratch / "input.txt").write_text("written by the grader before the run")
        assert os.path.ismount(scratch)
        info = os.statvfs(scratch)
        assert limits.max_scratch_bytes <= info.f_blocks * info.f_frsize < limits.max_scratch_bytes + 4096 * 2
        result = run_py(code, scratch, limits)
        # The grader reads the results after the sandbox is gone, before the tmpfs goes.
        out = json.loads(read_scratch_file(scratch, "out.json"))
    assert result.returncode == 0 and result.reason is None and result.stdout == "ok\n", result.stderr
    assert result.sandboxed and not result.timed_out
    assert out["sum"] > 0
    if sandbox.cgroups_available():
        assert result.peak_memory_mb is not None and 3 <= result.peak_memory_mb < 1024
    assert not os.path.ismount(scratch) and list(scratch.iterdir()) == []
    with pytest.raises(ValueError, match="not empty"):
        (tmp_path / "full").mkdir()
        (tmp_path / "full" / "x").write_text("grader's file")
        with scratch_mount(tmp_path / "full", 10_000_000):
            pass


@needs_bwrap
def test_fallback_without_cgroups_warns_once_and_keeps_per_process_limits(tmp_path, no_cgroups, caplog):
    limits = Limits(total_timeout=30, memory_mb=768, max_procs=48, max_output_bytes=20_000_000)
    with caplog.at_level(logging.WARNING, logger="autograder.sandbox"):
        assert sandbox.cgroups_available() is False
        honest = run_py("print('hi')", tmp_path / "a", limits)
        big = run_py("x = bytearray(4 * 1024**3)", tmp_path / "b", limits)
        # The attack that per-process limits miss goes through: this is what the cgroup adds.
        hoard = run_py(MEMFDS.replace("sys.argv[1]", "1024"), tmp_path / "c", limits)
    assert honest.returncode == 0 and honest.stdout == "hi\n" and honest.peak_memory_mb is None
    assert big.reason == "memory limit (768 MB)"
    assert hoard.returncode == 0 and "done" in hoard.stdout
    warnings = [r.getMessage() for r in caplog.records if "no cgroup limits" in r.getMessage()]
    assert len(warnings) == 1 and "no cgroup memory controller is mounted" in warnings[0]


@needs_bwrap
def test_fallback_without_tmpfs_warns_once_and_the_watchdog_measures(tmp_path, monkeypatch, fresh_warnings,
                                                                      caplog):
    def refuse(path, size, inodes):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(sandbox, "_mount_tmpfs", refuse)
    limits = Limits(total_timeout=30, memory_mb=768, max_procs=48, max_output_bytes=200_000,
                    max_scratch_bytes=5_000_000)
    many = "i = 0\nwhile True:\n    open(f'f{i}', 'wb').write(b'x' * 150_000)\n    i += 1"
    with caplog.at_level(logging.WARNING, logger="autograder.sandbox"):
        with scratch_mount(tmp_path / "a", limits.max_scratch_bytes) as first:
            assert not os.path.ismount(first)
            result = run_py(many, first, limits)
        with scratch_mount(tmp_path / "b", limits.max_scratch_bytes) as second:
            assert not os.path.ismount(second)
    assert result.reason.startswith("scratch folder limit") and "bytes written" in result.reason
    warnings = [r.getMessage() for r in caplog.records if "tmpfs" in r.getMessage()]
    assert len(warnings) == 1 and "Operation not permitted" in warnings[0]


def test_cgroup_v2_files_written_on_a_stand_in_hierarchy(tmp_path, monkeypatch, fresh_warnings):
    # This machine may have only cgroup v1 controllers: the v2 code path runs on plain
    # folders standing in for a cgroup2 mount, to check what it writes where.
    root = tmp_path / "unified"
    root.mkdir()
    (root / "cgroup.subtree_control").write_text("")
    hierarchy = sandbox._Hierarchy(2, root, frozenset({"memory", "pids"}))
    monkeypatch.setattr(sandbox, "_cgroup_mounts", lambda: [hierarchy])
    sandbox._cgroup_hierarchies.cache_clear()
    try:
        (root / "linclass").mkdir()
        (root / "linclass" / "cgroup.subtree_control").write_text("")
        assert sandbox._cgroup_hierarchies() == (hierarchy,)
        # Controllers enabled for the children, at the top and in linclass/.
        assert (root / "cgroup.subtree_control").read_text() == "+memory +pids"
        assert (root / "linclass" / "cgroup.subtree_control").read_text() == "+memory +pids"
        group = sandbox._Cgroup.create(Limits(memory_mb=300, max_procs=10), 12)
        assert group is not None
        [(_, folder)] = group.folders
        assert folder.parent == root / "linclass" and folder.name.startswith(f"run-{os.getpid()}-")
        assert (folder / "memory.max").read_text() == str(300 * MB)
        assert (folder / "pids.max").read_text() == "12"
        assert (folder / "memory.oom.group").read_text() == "1"
        (folder / "memory.events").write_text("low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n")
        assert group.oom_kills() == 1
        (folder / "memory.peak").write_text(str(123 * MB))
        assert group.peak_bytes() == 123 * MB
        (folder / "cgroup.procs").write_text("")
        (folder / "cgroup.kill").write_text("")
        assert group.kill_all(wait=0.1) is True
        for f in folder.iterdir():
            f.unlink()
        group.remove()
        assert not folder.exists()
    finally:
        sandbox._cgroup_hierarchies.cache_clear()


# -- linclass-grade refuses to grade unsandboxed ----------------------------------------


@pytest.fixture(scope="module")
def mini_course(tmp_path_factory):
    from tools import make_samples as ms

    root = tmp_path_factory.mktemp("course")
    source, release = ms.mini_course(root)
    rel = nbformat.read(release / "svm" / "svm.ipynb", as_version=4)
    functions = ["svm_loss_naive", "svm_loss_vectorized", "sample_batch", "sgd_step", "predict"]
    subs = root / "subs" / "submitted"
    for student in ("ann", "bob", "cy"):
        path = subs / student / "svm" / "svm.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(ms.fill(rel, ms.all_correct(functions)), path)
    return {"root": root, "source": source, "release": release, "subs": subs.parent}


def test_grading_refuses_without_bubblewrap(mini_course, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LINCLASS_NO_SANDBOX", "1")
    common = ["--source", str(mini_course["source"]), "--release", str(mini_course["release"]),
              "--out", str(tmp_path / "out")]
    for argv in (["run", str(mini_course["subs"]), *common], ["autograde", str(mini_course["subs"] / "submitted"),
                                                              *common]):
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert "refusing to grade" in err and "LINCLASS_NO_SANDBOX" in err
        assert "apt-get install -y bubblewrap" in err and "--allow-unsandboxed" in err
    assert not (tmp_path / "out" / "submitted").exists()  # run stopped before collecting
    assert not (tmp_path / "out" / "results").exists()
    # The course build's grading step refuses the same way.
    from autograder.course import grade_samples

    layout = CourseLayout.from_options(mini_course["root"], source=mini_course["source"],
                                       release=mini_course["release"], out=tmp_path / "build")
    assert grade_samples(layout, mini_course["subs"]) == 2
    assert "--allow-unsandboxed" in capsys.readouterr().err
    # The student's selfcheck runs their own notebook on their own machine: no sandbox needed.
    notebook = mini_course["subs"] / "submitted" / "ann" / "svm" / "svm.ipynb"
    # (exit 1, not 2: nothing is refused; ann's written answer is still empty)
    assert cli.main(["selfcheck", str(notebook), "--release", str(mini_course["release"]), "--no-run"]) == 1


@pytest.mark.slow
def test_allow_unsandboxed_grades_and_warns_once_per_run(mini_course, tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("LINCLASS_NO_SANDBOX", "1")
    monkeypatch.delenv(sandbox.UNSANDBOXED_WARNED_ENV, raising=False)
    monkeypatch.setattr(sandbox, "_warned", set())
    out = tmp_path / "out"
    argv = ["run", str(mini_course["subs"]), "--source", str(mini_course["source"]), "--release",
            str(mini_course["release"]), "--out", str(out), "--no-kernel", "--workers", "2",
            "--allow-unsandboxed"]
    assert cli.main(argv) == 0
    captured = capfd.readouterr()
    # One warning for three submissions graded by two worker processes (each probe run
    # used to print the sandbox's own); the class report still says it, once.
    text = captured.out + captured.err
    assert text.count("student code runs UNSANDBOXED") == 1, captured.err
    assert "UNSANDBOXED: bubblewrap is not available" not in text
    assert text.count("some submissions ran UNSANDBOXED") == 1
    results = {p.stem: json.loads(p.read_text())["result"] for p in (out / "results" / "svm").glob("*.json")}
    assert set(results) == {"ann", "bob", "cy"}
    assert all(r["status"] == "graded" and r["sandboxed"] is False for r in results.values())
    assert sandbox.UNSANDBOXED_WARNED_ENV not in os.environ
