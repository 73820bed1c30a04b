"""Run untrusted student code in a bubblewrap sandbox, under limits.

The grader starts every piece of student code through :func:`run_sandboxed`. Inside the
sandbox the code sees:

- a read-only view of the system libraries (``/usr`` and its ``/lib``, ``/bin`` links),
  the Python installation, the virtual environment, the ``linclass`` package folder, and
  the extra folders the caller lists in ``readonly`` (the harness scripts, the synthetic
  dataset);
- one writable folder, ``scratch``, mounted at its own path (``/tmp`` inside the sandbox
  is the subfolder ``scratch/.tmp``, and ``HOME`` is ``scratch/.home``);
- no network at all (a private network namespace with only a loopback device), its own
  process ids, and no way to signal the grader.

Nothing else exists inside: not the course folder, not ``solutions/``, not the
autograder's own code, not the gradebook and not other students' files.

Limits (:class:`Limits`): the whole run is killed after ``total_timeout`` seconds (the
process group and the sandbox's process namespace go down together, so code that ignores
SIGINT dies too); every process gets an address-space limit of ``memory_mb``; the number
of processes and threads is capped by ``max_procs``; captured stdout and stderr are cut at
``max_output_bytes`` (a run that prints 20 times more is stopped), which is also the
largest file the code may write; the scratch
folder as a whole may hold at most ``max_scratch_bytes``. ``cell_timeout`` is not enforced
here: it is handed to the code inside as ``LINCLASS_CELL_TIMEOUT`` for nbclient to use.

When the grader runs as root, student code runs under a fresh unprivileged user id
(chosen per run), because the kernel does not apply the process limit to root.

Where bubblewrap is missing or does not work (for example inside a container without
the needed privileges), the same limits are applied with ``setrlimit`` and a process
group, a loud warning is logged, and the result says ``sandboxed=False``. (Without the
sandbox nothing hides the machine's files from student code, and a grader running as root
gets no process limit, because the kernel exempts root from it.) Setting
``LINCLASS_NO_SANDBOX=1`` forces that mode. Install bubblewrap on Debian or Ubuntu with
``apt-get install -y bubblewrap``.

Reading results back: files in ``scratch`` were written by student code, so read them
with :func:`read_scratch_file`, which refuses symbolic links, non-regular files and
files larger than a given size.
"""
from __future__ import annotations

import functools
import logging
import os
import resource
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("autograder.sandbox")

# A run that has not ended this long after SIGKILL is reported as stuck, never waited on forever.
_KILL_GRACE = 5.0
# How often the watchdog looks at the clock and the size of the scratch folder.
_POLL_SECONDS = 0.1
# More files than this in scratch counts as an attempt to exhaust the disk's inodes.
_MAX_SCRATCH_FILES = 20_000
# Student code runs under one of these user ids when the grader is root.
_UID_BASE = 200_000
_UID_SPAN = 100_000
# Output beyond this many times max_output_bytes stops the run (the rest was thrown away).
_OUTPUT_KILL_FACTOR = 20
# Size of the private in-memory /tmp inside the sandbox (TMPDIR points into scratch).
_TMP_BYTES = 64_000_000

# The first program inside the sandbox (as root inside the namespace when the grader is
# root): it caps processes, drops to an unprivileged user id, then starts the real command.
# -I -S keeps it independent of the environment and quick to start.
_LAUNCHER = """\
import os, resource, sys
uid, nproc = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
if uid >= 0:
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
os.umask(0o077)
try:
    os.execvp(sys.argv[3], sys.argv[3:])
except OSError as exc:
    sys.stderr.write(f"sandbox: cannot start {sys.argv[3]!r}: {exc}\\n")
    os._exit(127)
"""


@dataclass
class Limits:
    """Resource limits for one sandboxed run.

    cell_timeout: float, seconds per notebook cell (handed to nbclient as LINCLASS_CELL_TIMEOUT).
    total_timeout: float, seconds for the whole run; the sandbox is killed after it.
    memory_mb: int, address-space limit of every process, in MiB.
    max_procs: int, processes plus threads the student's user id may have at once.
    max_output_bytes: int, bytes of stdout+stderr kept, and the largest file that may be written.
    max_scratch_bytes: int, bytes the whole scratch folder may hold before the run is killed.
    """

    cell_timeout: float = 120.0
    total_timeout: float = 900.0
    memory_mb: int = 3072
    max_procs: int = 64
    max_output_bytes: int = 5_000_000
    max_scratch_bytes: int = 200_000_000

    def __post_init__(self):
        for name in ("cell_timeout", "total_timeout", "memory_mb", "max_procs",
                     "max_output_bytes", "max_scratch_bytes"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive number, got {value!r}")


@dataclass
class SandboxResult:
    """What happened in one sandboxed run.

    returncode: int or None, the command's exit code (negative: killed by that signal);
        None when the run had to be killed (timeout, output or scratch limit).
    timed_out: bool, True when total_timeout ran out.
    reason: str or None, why the run did not end normally, in plain words
        ("timeout after 60 s", "memory limit (3072 MB)", "killed by signal 9", "exit code 1");
        None for a clean exit 0.
    stdout, stderr: str, decoded as UTF-8 (bad bytes replaced), cut at max_output_bytes.
    duration: float, wall-clock seconds.
    sandboxed: bool, False when bubblewrap was not used (a warning was logged).
    """

    returncode: int | None
    timed_out: bool
    reason: str | None
    stdout: str
    stderr: str
    duration: float
    sandboxed: bool


def _bwrap_path() -> str | None:
    return shutil.which("bwrap")


@functools.lru_cache(maxsize=1)
def _bwrap_works() -> bool:
    """Try a tiny sandbox once: bwrap can be installed yet unusable (no namespaces)."""
    bwrap = _bwrap_path()
    if bwrap is None:
        return False
    probe = [bwrap, *_system_binds(), "--unshare-net", "--unshare-pid", "--die-with-parent",
             "--proc", "/proc", "--dev", "/dev", "true"]
    try:
        done = subprocess.run(probe, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    if done.returncode != 0:
        log.warning("bubblewrap is installed but cannot create a sandbox here: %s",
                    done.stderr.decode(errors="replace").strip())
    return done.returncode == 0


def sandbox_available() -> bool:
    """True when student code will run inside bubblewrap.

    False when bwrap is not installed, cannot create namespaces on this machine, or
    LINCLASS_NO_SANDBOX=1 is set.
    """
    if os.environ.get("LINCLASS_NO_SANDBOX", "") not in ("", "0"):
        return False
    return _bwrap_works()


def _system_binds() -> list[str]:
    """bwrap arguments for the read-only system folders a Python program needs."""
    args = ["--ro-bind", "/usr", "/usr", "--perms", "0755", "--dir", "/etc"]
    # On merged-/usr systems /bin, /lib... are links into /usr; elsewhere they are folders.
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for name in ("/etc/ld.so.cache", "/etc/localtime", "/etc/fonts"):
        if os.path.exists(name):
            args += ["--ro-bind", name, name]
    return args


def python_paths() -> list[Path]:
    """Folders that the sandbox always shows read-only: the Python installation, the
    virtual environment and the ``linclass`` package folder (for its editable install)."""
    import linclass  # here, not at the top: the grader imports this module before setup

    paths = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix),
             Path(sys.executable).parent, Path(linclass.__file__).resolve().parent]
    out: list[Path] = []
    for path in paths:
        for candidate in (path.absolute(), path.resolve()):
            if candidate not in out and str(candidate) != "/usr":
                out.append(candidate)
    return out


def hidden_paths() -> list[Path]:
    """Files and folders that graded code must not see, though they lie inside python_paths().

    linclass's compiled loss kernels (linclass/_kernels.py) compute the graded losses, and
    a call into compiled code runs no Python line that the grader's tracer could attribute
    to the reference. So inside the sandbox that file is empty and the compiler packages
    (numba, llvmlite) are empty folders: the kernels cannot be imported, or rebuilt.
    """
    import importlib.util

    import linclass

    out = [Path(linclass.__file__).resolve().parent / "reference"]
    for name in ("numba", "llvmlite"):
        spec = importlib.util.find_spec(name)  # finds the folder without importing it
        if spec is not None and spec.submodule_search_locations:
            out += [Path(p).resolve() for p in spec.submodule_search_locations]
    return [p for p in out if p.exists()]


def python_executable() -> str:
    """The Python to start inside the sandbox: the grader's own interpreter (venv path)."""
    return str(Path(sys.executable).absolute())


def _sandbox_env(scratch: Path, limits: Limits, env: dict | None) -> dict:
    home = scratch / ".home"
    base = {
        "PATH": os.pathsep.join([str(Path(sys.executable).absolute().parent), "/usr/local/bin",
                                 "/usr/bin", "/bin"]),
        "HOME": str(home),
        "USER": "student",
        "LOGNAME": "student",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TMPDIR": str(scratch / ".tmp"),
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(home / ".matplotlib"),
        "JUPYTER_RUNTIME_DIR": str(home / ".jupyter-runtime"),
        "IPYTHONDIR": str(home / ".ipython"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        # One thread per BLAS library: fair sharing of the grading machine, and each
        # thread counts against max_procs and the address-space limit.
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",
        "LINCLASS_CELL_TIMEOUT": str(limits.cell_timeout),
    }
    for key, value in (env or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ValueError(f"env must map str to str, got {key!r}: {value!r}")
        base[key] = value
    return base


def _rlimit_setter(limits: Limits, nproc: int | None):
    """preexec_fn for the child: limits that every process below it inherits."""
    memory = int(limits.memory_mb) * 1024 * 1024
    fsize = int(limits.max_output_bytes)

    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if nproc is not None:
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))

    return apply


def _tasks_of_uid(uid: int) -> int:
    """Threads currently owned by uid (RLIMIT_NPROC counts all of them)."""
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid == uid:
                count += len(os.listdir(f"/proc/{entry}/task"))
        except OSError:
            continue
    return count


def _chown_tree(root: Path, uid: int) -> None:
    """Give scratch to the sandbox's user id, never following links planted inside."""
    for folder, dirs, files in os.walk(root):
        os.lchown(folder, uid, uid)
        for name in dirs + files:
            os.lchown(os.path.join(folder, name), uid, uid)


def _scratch_usage(root: Path, max_files: int) -> tuple[int, int]:
    """(bytes on disk, number of entries) under root, without following links."""
    total, count = 0, 0
    stack = [str(root)]
    while stack and count <= max_files:
        try:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    count += 1
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    # The larger of size and blocks: blocks lag behind delayed writes, and
                    # a sparse file's size is capped by the file size limit anyway.
                    total += max(info.st_size, info.st_blocks * 512)
                    if stat.S_ISDIR(info.st_mode):
                        stack.append(entry.path)
        except OSError:
            continue
    return total, count


class _Capture:
    """Reads one pipe to its end, keeping at most a shared byte budget."""

    def __init__(self, stream, budget: list[int], lock: threading.Lock):
        self.chunks: list[bytes] = []
        self.dropped = 0
        self._stream, self._budget, self._lock = stream, budget, lock
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        # Keep reading after the budget is spent so the writer never blocks on a full
        # pipe; the extra bytes are counted and thrown away.
        while True:
            chunk = self._stream.read1(1 << 16) if hasattr(self._stream, "read1") else self._stream.read(1 << 16)
            if not chunk:
                break
            with self._lock:
                keep = min(len(chunk), max(self._budget[0], 0))
                self._budget[0] -= keep
            if keep:
                self.chunks.append(chunk[:keep])
            self.dropped += len(chunk) - keep
        self._stream.close()

    def text(self) -> str:
        data = b"".join(self.chunks).decode("utf-8", errors="replace")
        if self.dropped:
            data += f"\n[output truncated: {self.dropped} more bytes not kept]\n"
        return data


def _describe_exit(returncode: int, stderr: str, limits: Limits) -> str | None:
    if returncode == 0:
        return None
    tail = stderr[-4000:]
    if "MemoryError" in tail or "Unable to allocate" in tail or "Cannot allocate memory" in tail:
        return f"memory limit ({limits.memory_mb} MB)"
    if "Resource temporarily unavailable" in tail or "can't start new thread" in tail:
        return f"process limit ({limits.max_procs} processes)"
    if returncode < 0:
        return f"killed by signal {-returncode} ({signal.Signals(-returncode).name})" \
            if -returncode in signal.valid_signals() else f"killed by signal {-returncode}"
    if returncode > 128 and returncode - 128 in {int(s) for s in signal.valid_signals()}:
        # bwrap reports a command killed by signal N as exit code 128 + N.
        sig = returncode - 128
        return f"killed by signal {sig} ({signal.Signals(sig).name})"
    return f"exit code {returncode}"


def _warn_unsandboxed() -> None:
    message = ("UNSANDBOXED: bubblewrap is not available, so student code runs with only "
               "resource limits and can read and write this machine's files. Install it "
               "with `apt-get install -y bubblewrap` before grading real submissions.")
    log.warning(message)
    print(f"WARNING: {message}", file=sys.stderr, flush=True)


def run_sandboxed(argv: list[str], scratch: Path, readonly: list[Path] = (),
                  limits: Limits = Limits(), env: dict | None = None) -> SandboxResult:
    """Run argv with scratch as the only writable folder, no network, under limits.

    argv: list of str, the command; argv[0] must be visible inside (for example
        python_executable(), or a program under /usr/bin).
    scratch: Path, an existing or new folder; the command's working folder, mounted at the
        same path. Only this folder survives the run.
    readonly: list of Path, existing folders or files shown read-only at the same path, on
        top of python_paths() and the system libraries.
    limits: Limits.
    env: dict str -> str, extra environment variables; the grader's own environment is
        not passed in.

    Returns a SandboxResult. Raises ValueError for an empty argv, a missing readonly path,
    or a scratch folder that is inside a readonly one.
    """
    if not argv or not all(isinstance(a, (str, os.PathLike)) for a in argv):
        raise ValueError(f"argv must be a non-empty list of strings, got {argv!r}")
    argv = [os.fspath(a) for a in argv]
    if not isinstance(limits, Limits):
        raise ValueError(f"limits must be an autograder.sandbox.Limits, got {type(limits).__name__}")
    scratch = Path(scratch).absolute()
    scratch.mkdir(parents=True, exist_ok=True)
    scratch = scratch.resolve()
    ro_paths = []
    for path in readonly:
        path = Path(path).absolute()
        if not path.exists():
            raise ValueError(f"readonly path {path} does not exist; pass only existing folders or files")
        ro_paths.append(path)
    for path in ro_paths:
        if scratch == path.resolve() or path.resolve() in scratch.parents:
            raise ValueError(f"scratch {scratch} lies inside readonly path {path}; "
                             "use a scratch folder of its own")
    for sub in (".home", ".tmp"):
        (scratch / sub).mkdir(exist_ok=True)
    run_env = _sandbox_env(scratch, limits, env)

    sandboxed = sandbox_available()
    if sandboxed:
        uid = _UID_BASE + secrets.randbelow(_UID_SPAN) if os.geteuid() == 0 else -1
        if uid >= 0:
            _chown_tree(scratch, uid)
            nproc = None  # set by the launcher, after which it applies to the new user id
        else:
            nproc = _tasks_of_uid(os.getuid()) + limits.max_procs
        # /tmp first: read-only views and a scratch folder under /tmp are mounted on top of it.
        cmd = [_bwrap_path(), *_system_binds(),
               "--perms", "1777", "--size", str(min(limits.max_scratch_bytes, _TMP_BYTES)),
               "--tmpfs", "/tmp"]
        binds = python_paths() + ro_paths
        # bwrap makes missing parent folders private to root (0700); the student's user id
        # must be able to walk through them to reach the read-only views.
        parents = {p for path in binds + [scratch] for p in path.parents if str(p) != "/"}
        for parent in sorted(parents, key=lambda p: len(p.parts)):
            cmd += ["--perms", "0755", "--dir", str(parent)]
        for path in binds:
            cmd += ["--ro-bind", str(path), str(path)]
        for path in hidden_paths():  # mounted over the read-only views above
            cmd += ["--tmpfs", str(path)] if path.is_dir() else ["--ro-bind", "/dev/null", str(path)]
        cmd += ["--bind", str(scratch), str(scratch),
                "--proc", "/proc", "--dev", "/dev",
                "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
                "--unshare-cgroup-try", "--hostname", "sandbox",
                "--die-with-parent", "--new-session",
                "--chdir", str(scratch),
                "--remount-ro", "/",
                python_executable(), "-I", "-S", "-c", _LAUNCHER,
                str(uid), str(limits.max_procs if uid >= 0 else nproc), *argv]
        preexec = _rlimit_setter(limits, nproc)
    else:
        _warn_unsandboxed()
        cmd = argv
        nproc = _tasks_of_uid(os.getuid()) + limits.max_procs if os.geteuid() != 0 else limits.max_procs
        preexec = _rlimit_setter(limits, nproc)

    start = time.monotonic()
    budget, lock = [int(limits.max_output_bytes)], threading.Lock()
    try:
        proc = subprocess.Popen(cmd, cwd=scratch, env=run_env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                preexec_fn=preexec, start_new_session=True)
    except OSError as exc:
        return SandboxResult(None, False, f"could not start {cmd[0]!r}: {exc}", "", "",
                             time.monotonic() - start, sandboxed)
    out = _Capture(proc.stdout, budget, lock)
    err = _Capture(proc.stderr, budget, lock)

    killed_for: str | None = None
    timed_out = False
    next_scan = start
    while proc.poll() is None:
        now = time.monotonic()
        if now - start > limits.total_timeout:
            timed_out = True
            killed_for = f"timeout after {limits.total_timeout:g} s"
        elif now >= next_scan:
            used, files = _scratch_usage(scratch, _MAX_SCRATCH_FILES)
            if used > limits.max_scratch_bytes:
                killed_for = f"scratch folder limit ({limits.max_scratch_bytes} bytes written)"
            elif files > _MAX_SCRATCH_FILES:
                killed_for = f"scratch folder limit (more than {_MAX_SCRATCH_FILES} files)"
            # Scanning a big folder costs time; look less often when it is big.
            next_scan = now + max(_POLL_SECONDS, 0.5 * min(files, _MAX_SCRATCH_FILES) / 10_000)
        if not killed_for and out.dropped + err.dropped > _OUTPUT_KILL_FACTOR * limits.max_output_bytes:
            # Draining gigabytes only burns the grader's time: the kept part is enough.
            killed_for = (f"output limit (more than {_OUTPUT_KILL_FACTOR * limits.max_output_bytes} "
                          "bytes on stdout/stderr)")
        if killed_for:
            _kill_group(proc)
            break
        try:
            proc.wait(timeout=_POLL_SECONDS)
        except subprocess.TimeoutExpired:
            pass
    try:
        proc.wait(timeout=_KILL_GRACE)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        proc.wait(timeout=_KILL_GRACE)
    if not sandboxed:
        # Without a process namespace, children that left the group may survive the
        # parent; the group at least goes down with it.
        _kill_group(proc)
    for capture in (out, err):
        capture.thread.join(timeout=_KILL_GRACE)
    duration = time.monotonic() - start
    stdout, stderr = out.text(), err.text()
    if killed_for:
        return SandboxResult(None, timed_out, killed_for, stdout, stderr, duration, sandboxed)
    return SandboxResult(proc.returncode, False, _describe_exit(proc.returncode, stderr, limits),
                         stdout, stderr, duration, sandboxed)


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the whole process group (bwrap then takes its namespace down with it)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def read_scratch_file(scratch: Path, name: str, max_bytes: int = 50_000_000) -> bytes:
    """Read a file that sandboxed code wrote into scratch, safely.

    scratch: Path, the run's scratch folder; name: str, a path relative to it.
    max_bytes: int, the largest file accepted.

    Raises ValueError when name leaves scratch, goes through a symbolic link, is not a
    regular file, or is larger than max_bytes; FileNotFoundError when it does not exist.
    """
    scratch = Path(scratch).resolve()
    parts = Path(name).parts
    if not parts or Path(name).is_absolute() or ".." in parts:
        raise ValueError(f"name must be a relative path inside scratch, got {name!r}")
    # Walk component by component with O_NOFOLLOW so a planted link cannot point outside.
    fd = os.open(scratch, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            flags = os.O_RDONLY | os.O_NOFOLLOW | (0 if last else os.O_DIRECTORY)
            if last:
                flags |= os.O_NONBLOCK  # a planted FIFO must not hang the grader
            try:
                nfd = os.open(part, flags, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (40, 20):  # ELOOP, ENOTDIR: a link or a file where a folder was
                    raise ValueError(f"{name!r} in scratch goes through a link or a non-folder") from exc
                raise
            os.close(fd)
            fd = nfd
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{name!r} in scratch is not a regular file")
        if info.st_size > max_bytes:
            raise ValueError(f"{name!r} in scratch has {info.st_size} bytes, more than max_bytes={max_bytes}")
        chunks, left = [], max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > max_bytes:
            raise ValueError(f"{name!r} in scratch grew past max_bytes={max_bytes} while being read")
        return data
    finally:
        os.close(fd)
