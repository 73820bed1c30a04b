"""Run untrusted student code in a bubblewrap sandbox, under limits.

The grader starts every piece of student code through :func:`run_sandboxed` (run to the
end) or :func:`start_sandboxed` (a handle on the running program, for a driver that talks
to it). The caller decides what the code sees; this module only enforces it. Inside the
sandbox the code sees:

- a read-only view of the system libraries (``/usr`` and its ``/lib``, ``/bin`` links),
  the Python installation and the virtual environment (:func:`python_paths`), and the
  folders or files the caller lists in ``readonly`` (for the grader: the ``linclass`` kit
  folder, which an editable install keeps outside the virtual environment, the harness
  scripts and the synthetic dataset);
- nothing of what the caller lists in ``hidden``: a hidden folder that lies inside a shown
  one is an empty read-only folder, a hidden file cannot be opened (it is ``/dev/null`` on
  a mount that allows no devices: PermissionError) (the grader hides the answer
  key, the compiler of its kernels and its own package). A ``readonly`` path inside a
  hidden folder is shown again on top of it (the grader shows ``autograder/harness`` while
  ``autograder/`` is hidden);
- one writable folder, ``scratch``, mounted at its own path (``TMPDIR`` is the subfolder
  ``scratch/.tmp``, ``HOME`` is ``scratch/.home``, and ``/tmp`` is a small private tmpfs);
- no network at all (a private network namespace with only a loopback device), its own
  process ids, and no way to signal the grader.

Nothing else exists inside: not the course folder, not ``solutions/``, not the gradebook
and not other students' files.

Limits (:class:`Limits`): the whole run is killed after ``total_timeout`` seconds (the
process group and the sandbox's process namespace go down together, so code that ignores
SIGINT dies too); every process gets an address-space limit of ``memory_mb``; the number
of processes and threads is capped by ``max_procs``; captured stdout and stderr are cut at
``max_output_bytes`` (a run that prints 20 times more is stopped), which is also the
largest file the code may write; the scratch
folder as a whole may hold at most ``max_scratch_bytes``. ``cell_timeout`` is not enforced
here: it is handed to the code inside as ``LINCLASS_CELL_TIMEOUT`` for nbclient to use.
A watchdog thread enforces the time, scratch and output limits from the moment the
program starts.

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
    """Folders that the sandbox always shows read-only: the Python installation and the
    virtual environment, each at its own path and at the path its links resolve to.

    Anything else a program needs (an editable install's package folder, data) the caller
    passes in ``readonly``.
    """
    paths = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix),
             Path(sys.executable).parent]
    out: list[Path] = []
    for path in paths:
        for candidate in (path.absolute(), path.resolve()):
            if candidate not in out and str(candidate) != "/usr":
                out.append(candidate)
    return out


@dataclass(frozen=True)
class View:
    """What a sandboxed program sees besides the system libraries, python_paths() and its
    scratch folder.

    readonly: tuple of Path, absolute; existing folders or files shown read-only at the
        same path.
    hidden: tuple of Path, absolute; folders shown empty, and files that cannot be opened,
        wherever they lie inside a shown path (a readonly path inside a hidden folder is
        shown on top).
    """

    readonly: tuple[Path, ...] = ()
    hidden: tuple[Path, ...] = ()


def _inside(path: Path, folder: Path) -> bool:
    """True when path is folder or lies below it (compared as written, not resolved)."""
    return path == folder or folder in path.parents


def _make_view(readonly, hidden, scratch: Path) -> View:
    """Check the caller's paths; raises ValueError for a missing readonly path, a scratch
    folder inside a readonly one (or the other way round) and a path both shown and hidden."""
    ro_paths: list[Path] = []
    for path in readonly:
        path = Path(path).absolute()
        if not path.exists():
            raise ValueError(f"readonly path {path} does not exist; pass only existing folders or files")
        ro_paths.append(path)
    hidden_paths = [Path(path).absolute() for path in hidden]
    for path in ro_paths:
        if scratch == path.resolve() or path.resolve() in scratch.parents:
            raise ValueError(f"scratch {scratch} lies inside readonly path {path}; "
                             "use a scratch folder of its own")
        if scratch in path.resolve().parents:
            raise ValueError(f"readonly path {path} lies inside scratch {scratch}, which is writable")
        if any(path.resolve() == h.resolve() for h in hidden_paths):
            raise ValueError(f"{path} is both readonly and hidden; pass it in one of them")
    return View(tuple(ro_paths), tuple(hidden_paths))


def _system_mounts() -> list[Path]:
    """The read-only system folders and files that _system_binds() mounts."""
    names = ["/usr", "/etc/ld.so.cache", "/etc/localtime", "/etc/fonts"]
    names += [top for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
              if os.path.isdir(top) and not os.path.islink(top)]
    return [Path(name) for name in names if os.path.exists(name)]


def _hidden_targets(view: View, shown: list[Path]) -> list[Path]:
    """Where each hidden path appears inside the sandbox: at its own path and at the path
    it has under every shown folder reached through a link (a virtual environment at
    /opt/venv -> /data/venv shows numba at both). Only paths that exist on the host."""
    out: list[Path] = []
    for path in view.hidden:
        if not os.path.lexists(path):
            continue  # nothing there, so nothing to hide
        real = path.resolve()
        candidates = [path, real]
        for folder in shown:
            folder_real = folder.resolve()
            if folder_real != folder and _inside(real, folder_real):
                candidates.append(folder / real.relative_to(folder_real))
        for candidate in candidates:
            if candidate not in out:
                out.append(candidate)
    return out


def _mount_args(view: View, scratch: Path) -> list[str]:
    """bwrap arguments that mount python_paths(), the view and scratch, in this order:
    python paths, hidden paths, readonly paths, scratch.

    Every mount covers what was mounted before it at or below its path, so two refinements
    keep the order correct: a readonly path that contains a hidden one (the kit folder
    contains the answer key) is mounted together with the python paths, before the hidden
    ones; and mounts of one group go shallow to deep. A hidden path is mounted only where
    it lies inside a read-only view (as an empty read-only tmpfs, or /dev/null for a file);
    anywhere else nothing of it is shown anyway, so it is skipped.
    """
    hidden = _hidden_targets(view, python_paths() + list(view.readonly))
    inner = [p for p in view.readonly if any(_inside(p, h) for h in hidden)]
    outer = python_paths() + [p for p in view.readonly if p not in inner]
    views = _system_mounts() + outer

    def depth(path: Path) -> int:
        return len(path.parts)

    masked: list[Path] = []

    def shown_by_view(path: Path) -> bool:
        # The deepest mount above path is a read-only view (not a hidden path, not a tmpfs).
        above = [m for m in views + masked if _inside(path, m) and m != path]
        return bool(above) and max(above, key=depth) not in masked

    made = {Path("/"), Path("/tmp")}  # folders that exist in the sandbox's root

    def parents(path: Path) -> list[str]:
        # bwrap makes missing parent folders private to root (0700); the student's user id
        # must be able to walk through them. A folder inside a read-only view is left alone.
        # (Mounts go shallow to deep, so no later mount covers a folder made here.)
        args = []
        for parent in reversed(path.parents):
            if parent not in made and parent not in views + masked and not shown_by_view(parent):
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        return args

    args: list[str] = []
    for path in sorted(outer, key=depth):
        args += parents(path) + ["--ro-bind", str(path), str(path)]
    for path in sorted(hidden, key=depth):
        if not shown_by_view(path):
            continue  # not shown by any view: nothing to hide, and no empty folder to create
        if path.is_dir() and not path.is_symlink():
            args += ["--perms", "0755", "--tmpfs", str(path)]
        else:
            args += ["--ro-bind", "/dev/null", str(path)]
        masked.append(path)
    for path in sorted(inner, key=depth):
        args += parents(path) + ["--ro-bind", str(path), str(path)]
    args += parents(scratch) + ["--bind", str(scratch), str(scratch)]
    for path in masked:  # after the mounts inside them are in place
        if path.is_dir() and not path.is_symlink():
            args += ["--remount-ro", str(path)]
    return args


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


def _bwrap_command(view: View, scratch: Path, limits: Limits, uid: int, nproc: int,
                   argv: list[str]) -> list[str]:
    """The bwrap command line that runs argv (through the launcher) inside view."""
    # /tmp first: read-only views and a scratch folder under /tmp are mounted on top of it.
    return [_bwrap_path(), *_system_binds(),
            "--perms", "1777", "--size", str(min(limits.max_scratch_bytes, _TMP_BYTES)),
            "--tmpfs", "/tmp",
            *_mount_args(view, scratch),
            "--proc", "/proc", "--dev", "/dev",
            "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--hostname", "sandbox",
            "--die-with-parent", "--new-session",
            "--chdir", str(scratch),
            "--remount-ro", "/",
            python_executable(), "-I", "-S", "-c", _LAUNCHER, str(uid), str(nproc), *argv]


@dataclass
class _Launch:
    """Everything needed to start one run: the command, its environment and limits."""

    cmd: list[str]
    scratch: Path
    env: dict
    limits: Limits
    preexec: object
    sandboxed: bool


def _prepare(argv, scratch, readonly, hidden, limits, env) -> _Launch:
    """Check the arguments, make scratch ready for the sandbox's user id and build the command."""
    if not argv or not all(isinstance(a, (str, os.PathLike)) for a in argv):
        raise ValueError(f"argv must be a non-empty list of strings, got {argv!r}")
    argv = [os.fspath(a) for a in argv]
    if not isinstance(limits, Limits):
        raise ValueError(f"limits must be an autograder.sandbox.Limits, got {type(limits).__name__}")
    scratch = Path(scratch).absolute()
    scratch.mkdir(parents=True, exist_ok=True)
    scratch = scratch.resolve()
    view = _make_view(readonly, hidden, scratch)
    for sub in (".home", ".tmp"):
        (scratch / sub).mkdir(exist_ok=True)
    run_env = _sandbox_env(scratch, limits, env)

    if not sandbox_available():
        _warn_unsandboxed()
        nproc = _tasks_of_uid(os.getuid()) + limits.max_procs if os.geteuid() != 0 else limits.max_procs
        return _Launch(argv, scratch, run_env, limits, _rlimit_setter(limits, nproc), False)
    uid = _UID_BASE + secrets.randbelow(_UID_SPAN) if os.geteuid() == 0 else -1
    if uid >= 0:
        _chown_tree(scratch, uid)
        # The launcher sets the process limit once it runs as the new user id.
        cmd = _bwrap_command(view, scratch, limits, uid, limits.max_procs, argv)
        return _Launch(cmd, scratch, run_env, limits, _rlimit_setter(limits, None), True)
    nproc = _tasks_of_uid(os.getuid()) + limits.max_procs
    cmd = _bwrap_command(view, scratch, limits, uid, nproc, argv)
    return _Launch(cmd, scratch, run_env, limits, _rlimit_setter(limits, nproc), True)


def _check_pass_fds(pass_fds) -> tuple[int, ...]:
    fds = tuple(pass_fds)
    for fd in fds:
        if not isinstance(fd, int) or isinstance(fd, bool) or fd < 3:
            raise ValueError(f"pass_fds must hold file descriptors >= 3, got {fd!r}")
        os.fstat(fd)  # raises OSError for a closed descriptor
    return fds


class _Watchdog:
    """Enforces the time, scratch and output limits of one run from a background thread,
    then reaps the process and its output readers.

    killed_for: str or None, why the run was killed; timed_out: bool; end: float, the
    monotonic time the run was over (set when the thread ends).
    """

    def __init__(self, proc: subprocess.Popen, launch: _Launch, captures: list[_Capture], start: float):
        self.proc, self.launch, self.captures, self.start = proc, launch, captures, start
        self.killed_for: str | None = None
        self.timed_out = False
        self.end: float | None = None
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name="sandbox-watchdog", daemon=True)
        self.thread.start()

    def stop(self, reason: str, timed_out: bool = False) -> None:
        """Kill the run now (if it still runs), recording reason."""
        with self._lock:
            if self.killed_for is None and self.proc.poll() is None:
                self.killed_for, self.timed_out = reason, timed_out
                _kill_group(self.proc)

    def _over_time(self, now: float) -> str | None:
        limit = self.launch.limits.total_timeout
        return f"timeout after {limit:g} s" if now - self.start > limit else None

    def _over_scratch(self) -> tuple[str | None, int]:
        """(reason or None, number of entries) from one scan of the scratch folder."""
        limit = self.launch.limits.max_scratch_bytes
        used, files = _scratch_usage(self.launch.scratch, _MAX_SCRATCH_FILES)
        if used > limit:
            return f"scratch folder limit ({limit} bytes written)", files
        if files > _MAX_SCRATCH_FILES:
            return f"scratch folder limit (more than {_MAX_SCRATCH_FILES} files)", files
        return None, files

    def _over_output(self) -> str | None:
        # Draining gigabytes only burns the grader's time: the kept part is enough.
        limit = _OUTPUT_KILL_FACTOR * self.launch.limits.max_output_bytes
        if sum(c.dropped for c in self.captures) > limit:
            return f"output limit (more than {limit} bytes on stdout/stderr)"
        return None

    def _run(self) -> None:
        try:
            self._watch()
        finally:
            self._reap()
            self.end = time.monotonic()

    def _watch(self) -> None:
        next_scan = self.start
        while self.proc.poll() is None and self.killed_for is None:
            now = time.monotonic()
            if (reason := self._over_time(now)) is not None:
                self.stop(reason, timed_out=True)
                return
            if now >= next_scan:  # reason is None here
                reason, files = self._over_scratch()
                # Scanning a big folder costs time; look less often when it is big.
                next_scan = now + max(_POLL_SECONDS, 0.5 * min(files, _MAX_SCRATCH_FILES) / 10_000)
            if reason is None:
                reason = self._over_output()
            if reason is not None:
                self.stop(reason)
                return
            try:
                self.proc.wait(timeout=_POLL_SECONDS)
            except subprocess.TimeoutExpired:
                pass

    def _reap(self) -> None:
        try:
            self.proc.wait(timeout=_KILL_GRACE)
        except subprocess.TimeoutExpired:
            _kill_group(self.proc)
            self.proc.wait(timeout=_KILL_GRACE)
        if not self.launch.sandboxed:
            # Without a process namespace, children that left the group may survive the
            # parent; the group at least goes down with it.
            _kill_group(self.proc)
        for capture in self.captures:
            capture.thread.join(timeout=_KILL_GRACE)


def _describe_run(proc: subprocess.Popen, watchdog: _Watchdog, captures: list[_Capture],
                  launch: _Launch) -> SandboxResult:
    """The SandboxResult of a run that is over."""
    stdout, stderr = (c.text() for c in captures)
    duration = (watchdog.end or time.monotonic()) - watchdog.start
    if watchdog.killed_for:
        return SandboxResult(None, watchdog.timed_out, watchdog.killed_for, stdout, stderr,
                             duration, launch.sandboxed)
    return SandboxResult(proc.returncode, False, _describe_exit(proc.returncode, stderr, launch.limits),
                         stdout, stderr, duration, launch.sandboxed)


class Running:
    """A sandboxed program that runs now, watched from the moment it started.

    proc: subprocess.Popen; proc.stdin is a pipe to the program (None for run_sandboxed's
        runs), its stdout and stderr are captured for the result, do not read them.
    wait(): closes proc.stdin, waits for the end (the limits still apply) and returns the
        SandboxResult. kill(): stops the run now; wait() then reports it. Usable as a
        context manager that kills the run if it is still going on exit.
    """

    def __init__(self, proc: subprocess.Popen, launch: _Launch, start: float):
        self.proc = proc
        self._launch = launch
        budget, lock = [int(launch.limits.max_output_bytes)], threading.Lock()
        self._captures = [_Capture(proc.stdout, budget, lock), _Capture(proc.stderr, budget, lock)]
        self._watchdog = _Watchdog(proc, launch, self._captures, start)
        self._result: SandboxResult | None = None

    @property
    def sandboxed(self) -> bool:
        return self._launch.sandboxed

    def kill(self, reason: str = "stopped by the grader") -> None:
        """Stop the run now; wait() then returns returncode None and this reason."""
        self._watchdog.stop(reason)

    def wait(self) -> SandboxResult:
        """Wait for the run to end (or be ended by a limit) and return its SandboxResult."""
        if self._result is None:
            if self.proc.stdin is not None and not self.proc.stdin.closed:
                try:
                    self.proc.stdin.close()
                except OSError:  # BrokenPipeError: the program is gone, nothing was lost
                    pass
            self._watchdog.thread.join()
            self._result = _describe_run(self.proc, self._watchdog, self._captures, self._launch)
        return self._result

    def __enter__(self) -> "Running":
        return self

    def __exit__(self, *exc) -> None:
        self.kill()
        self.wait()


def _start(launch: _Launch, stdin, pass_fds: tuple[int, ...] = ()) -> Running:
    """Start the launch's command with its output captured and its watchdog running.
    Raises OSError when the command cannot be started."""
    start = time.monotonic()
    proc = subprocess.Popen(launch.cmd, cwd=launch.scratch, env=launch.env, stdin=stdin,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=pass_fds,
                            preexec_fn=launch.preexec, start_new_session=True)
    return Running(proc, launch, start)


def start_sandboxed(argv: list[str], scratch: Path, readonly: list[Path] = (), hidden: list[Path] = (),
                    limits: Limits = Limits(), env: dict | None = None,
                    pass_fds: tuple[int, ...] = ()) -> Running:
    """Start argv in the sandbox and return a Running handle; the limits apply at once.

    Arguments as for :func:`run_sandboxed`, plus pass_fds: file descriptors (>= 3) of the caller
    that the program inherits under the same numbers (for example the write end of a pipe
    that the caller reads results from). The program's stdin is a pipe (Running.proc.stdin).

    Raises ValueError for bad arguments (see run_sandboxed) or a closed descriptor in
    pass_fds, and OSError when the command cannot be started.
    """
    fds = _check_pass_fds(pass_fds)
    launch = _prepare(argv, scratch, readonly, hidden, limits, env)
    return _start(launch, subprocess.PIPE, fds)


def run_sandboxed(argv: list[str], scratch: Path, readonly: list[Path] = (), hidden: list[Path] = (),
                  limits: Limits = Limits(), env: dict | None = None) -> SandboxResult:
    """Run argv with scratch as the only writable folder, no network, under limits, to its end.

    Returns a SandboxResult (stdin is /dev/null). Raises ValueError for an empty argv, a
    missing readonly path, a scratch folder inside a readonly one or the other way round,
    or a path that is both readonly and hidden.

    argv: list of str, the command; argv[0] must be visible inside (for example
        python_executable(), or a program under /usr/bin).
    scratch: Path, an existing or new folder; the command's working folder, mounted at the
        same path. Only this folder survives the run.
    readonly: list of Path, existing folders or files shown read-only at the same path, on
        top of python_paths() and the system libraries (for the grader: the kit folder,
        the harness folder, the data folder).
    hidden: list of Path, folders and files not to show although they lie inside a shown
        folder (for the grader: autograder.answer_key.hidden_paths()). A readonly path that
        lies inside a hidden folder is shown.
    limits: Limits.
    env: dict str -> str, extra environment variables; the grader's own environment is
        not passed in.
    """
    launch = _prepare(argv, scratch, readonly, hidden, limits, env)
    start = time.monotonic()
    try:
        running = _start(launch, subprocess.DEVNULL)
    except OSError as exc:
        return SandboxResult(None, False, f"could not start {launch.cmd[0]!r}: {exc}", "", "",
                             time.monotonic() - start, launch.sandboxed)
    return running.wait()


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
