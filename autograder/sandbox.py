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
  ``scratch/.tmp``, which is also what the code sees at ``/tmp``, and ``HOME`` is
  ``scratch/.home``);
- no network at all (a private network namespace with only a loopback device), its own
  process ids, and no way to signal the grader.

Nothing else exists inside: not the course folder, not ``solutions/``, not the gradebook
and not other students' files.

Limits (:class:`Limits`): the whole run is killed after ``total_timeout`` seconds (the
process group and the sandbox's process namespace go down together, so code that ignores
SIGINT dies too); the run as a whole may use ``memory_mb`` of memory and ``max_procs``
processes and threads; captured stdout and stderr are cut at ``max_output_bytes`` (a run
that prints 20 times more is stopped), which is also the largest file the code may write;
the scratch folder as a whole may hold at most ``max_scratch_bytes``. ``cell_timeout`` is
not enforced here: it is handed to the code inside as ``LINCLASS_CELL_TIMEOUT`` for
nbclient to use. A watchdog thread enforces the time, scratch and output limits from the
moment the program starts.

The limits hold for the submission as a whole, not per process:

- every run gets a fresh cgroup (cgroup v1 ``memory`` and ``pids``, or cgroup v2, whichever
  holds the controllers; under ``linclass/`` in each hierarchy) with ``memory_mb`` as its
  memory limit (memfds and tmpfs pages included, no swap) and ``max_procs`` (plus
  bubblewrap's own two processes) as ``pids.max``. The child joins it before it runs
  anything, so everything it starts is in it; when the run ends whatever is left in it is
  killed and the cgroup removed. A process killed by the kernel for the cgroup's memory
  limit stops the run: "memory limit (3072 MB) for the submission as a whole". Each
  process still gets an address-space limit of ``memory_mb`` (RLIMIT_AS) as well: a
  single huge allocation then fails at once with a MemoryError inside, which the student
  can read, instead of the kernel's kill;
- :func:`scratch_mount` makes the scratch folder a tmpfs of ``max_scratch_bytes`` (and a
  capped number of files), so files deleted while still open count too. The caller wraps
  the run and the reading of its results in it; the watchdog then only checks whether the
  tmpfs is full. Without it, the watchdog measures the folder's size every 0.1 s.

Both need root. Without it (or without the controllers mounted) one warning per process
says so, and the per-process limits remain: RLIMIT_AS, RLIMIT_NPROC and the watchdog.

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

import contextlib
import ctypes
import errno
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
from collections.abc import Callable, Sequence
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
# The cgroup folder (under each controller's hierarchy) that holds one cgroup per run.
_CGROUP_PARENT = "linclass"
# Tasks of bubblewrap itself in a run's cgroup (the outer bwrap and the namespace's init),
# on top of max_procs for the student's code.
_BWRAP_TASKS = 2
# Environment variable a caller sets once it has warned, once for the whole grading run,
# that student code runs unsandboxed (linclass-grade's batch): workers then stay quiet.
UNSANDBOXED_WARNED_ENV = "LINCLASS_UNSANDBOXED_WARNED"

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
    memory_mb: int, memory of the run as a whole (its cgroup), and the address-space limit
        of every process, in MiB.
    max_procs: int, processes plus threads the run (its cgroup; and the student's user id)
        may have at once.
    max_output_bytes: int, bytes of stdout+stderr kept, and the largest file that may be written.
    max_scratch_bytes: int, bytes the whole scratch folder may hold (the size of its tmpfs
        under scratch_mount; otherwise the run is killed once it holds more).
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
        None when the run had to be killed (timeout, output, scratch or whole-run memory limit).
    timed_out: bool, True when total_timeout ran out.
    reason: str or None, why the run did not end normally, in plain words
        ("timeout after 60 s", "memory limit (3072 MB)", "memory limit (3072 MB) for the
        submission as a whole", "scratch folder limit (...)", "killed by signal 9",
        "exit code 1"); None for a clean exit 0.
    stdout, stderr: str, decoded as UTF-8 (bad bytes replaced), cut at max_output_bytes.
    duration: float, wall-clock seconds.
    sandboxed: bool, False when bubblewrap was not used (a warning was logged).
    peak_memory_mb: int or None, the most memory the run used at once as a whole (every
        process, memfds, tmpfs pages), in MiB; None when the run had no cgroup.
    """

    returncode: int | None
    timed_out: bool
    reason: str | None
    stdout: str
    stderr: str
    duration: float
    sandboxed: bool
    peak_memory_mb: int | None = None


def _bwrap_path() -> str | None:
    return shutil.which("bwrap")


@functools.lru_cache(maxsize=1)
def _bwrap_problem() -> str | None:
    """Try a tiny sandbox once: bwrap can be installed yet unusable (no namespaces).
    Returns what is wrong, or None when bwrap works."""
    bwrap = _bwrap_path()
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed"
    probe = [bwrap, *_system_binds(), "--unshare-net", "--unshare-pid", "--die-with-parent",
             "--proc", "/proc", "--dev", "/dev", "true"]
    try:
        done = subprocess.run(probe, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap ({bwrap}) could not be started: {exc}"
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip()
        log.warning("bubblewrap is installed but cannot create a sandbox here: %s", detail)
        return f"bubblewrap ({bwrap}) is installed but cannot create a sandbox here: {detail[:300]}"
    return None


def _bwrap_works() -> bool:
    return _bwrap_problem() is None


def sandbox_available() -> bool:
    """True when student code will run inside bubblewrap.

    False when bwrap is not installed, cannot create namespaces on this machine, or
    LINCLASS_NO_SANDBOX=1 is set.
    """
    return sandbox_problem() is None


def sandbox_problem() -> str | None:
    """Why student code would not run inside bubblewrap, in plain words; None when it will."""
    if os.environ.get("LINCLASS_NO_SANDBOX", "") not in ("", "0"):
        return "LINCLASS_NO_SANDBOX is set, which turns the sandbox off"
    return _bwrap_problem()


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


_warned: set[str] = set()
_warned_lock = threading.Lock()


def _warn_once(key: str, message: str) -> None:
    """Log message as a warning the first time key comes up in this process."""
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    log.warning(message)


# -- one cgroup per run: memory and processes of the submission as a whole ---------------

@dataclass(frozen=True)
class _Hierarchy:
    """A mounted cgroup hierarchy that holds some of the controllers the sandbox uses."""

    version: int  # 1 or 2
    root: Path  # where it is mounted
    controllers: frozenset[str]  # of "memory" and "pids"


def _cgroup_mounts() -> list[_Hierarchy]:
    """The hierarchies (from /proc/self/mountinfo) that hold the memory or pids controller."""
    found: list[_Hierarchy] = []
    taken: set[str] = set()
    with open("/proc/self/mountinfo") as fh:
        lines = fh.read().splitlines()
    for line in lines:
        mine, sep, theirs = line.partition(" - ")
        fields, other = mine.split(), theirs.split()
        if not sep or len(fields) < 5 or len(other) < 3 or fields[3] != "/":
            continue  # a bind mount of a sub-folder: use the hierarchy's own root mount
        fstype, root = other[0], Path(fields[4].replace("\\040", " "))
        if fstype == "cgroup":
            wanted = set(other[2].split(",")) & {"memory", "pids"}
            version = 1
        elif fstype == "cgroup2":
            try:
                wanted = set((root / "cgroup.controllers").read_text().split()) & {"memory", "pids"}
            except OSError:
                continue
            version = 2
        else:
            continue
        wanted -= taken
        if wanted:
            found.append(_Hierarchy(version, root, frozenset(wanted)))
            taken |= wanted
    return found


def _write(path: Path, value: str) -> None:
    with open(path, "w") as fh:
        fh.write(value)


@functools.lru_cache(maxsize=1)
def _cgroup_hierarchies() -> tuple[_Hierarchy, ...] | None:
    """The hierarchies to make each run's cgroup in, with their parent folder ready; None
    (after one warning) when this machine gives no usable memory controller."""
    why = None
    try:
        found = _cgroup_mounts()
    except OSError as exc:
        found, why = [], f"cannot read /proc/self/mountinfo ({exc})"
    if not any("memory" in h.controllers for h in found):
        why = why or "no cgroup memory controller is mounted"
    else:
        try:
            for h in found:
                parent = h.root / _CGROUP_PARENT
                parent.mkdir(exist_ok=True)
                if h.version == 2:
                    # cgroup v2: a controller reaches a child only when every folder above
                    # it lists the controller in cgroup.subtree_control.
                    wanted = " ".join(f"+{c}" for c in sorted(h.controllers))
                    for folder in (h.root, parent):
                        if not h.controllers <= set((folder / "cgroup.subtree_control").read_text().split()):
                            _write(folder / "cgroup.subtree_control", wanted)
            return tuple(found)
        except OSError as exc:
            why = f"cannot create cgroups ({exc.strerror or exc}; the grader must run as root)"
    _warn_once("cgroups", f"no cgroup limits for sandboxed runs: {why}. Memory and processes are "
               "limited per process only (RLIMIT_AS, RLIMIT_NPROC), so a submission can use more "
               "memory in total by spreading it over processes or memfds.")
    return None


def cgroups_available() -> bool:
    """True when every run gets a cgroup of its own that limits its memory (and processes)
    as a whole."""
    return _cgroup_hierarchies() is not None


class _Cgroup:
    """The fresh cgroup of one run: a folder per hierarchy, limits set, removed at the end.

    Processes join it before they run anything (see _start), so everything the run starts
    is counted and can be killed, whatever it does with process groups or sessions.
    """

    def __init__(self, folders: list[tuple[_Hierarchy, Path]], name: str, limits: Limits):
        self.folders, self.name, self.limits = folders, name, limits

    @classmethod
    def create(cls, limits: Limits, tasks: int) -> "_Cgroup | None":
        """A new cgroup with memory.limit = limits.memory_mb and pids.max = tasks; None when
        cgroups are not available (warned once)."""
        hierarchies = _cgroup_hierarchies()
        if hierarchies is None:
            return None
        name = f"run-{os.getpid()}-{secrets.token_hex(6)}"
        memory = str(int(limits.memory_mb) * 1024 * 1024)
        group = cls([], name, limits)
        try:
            for h in hierarchies:
                folder = h.root / _CGROUP_PARENT / name
                folder.mkdir()
                group.folders.append((h, folder))
                if "memory" in h.controllers and h.version == 1:
                    _write(folder / "memory.limit_in_bytes", memory)
                    if (folder / "memory.memsw.limit_in_bytes").exists():  # memory + swap
                        _write(folder / "memory.memsw.limit_in_bytes", memory)
                elif "memory" in h.controllers:
                    _write(folder / "memory.max", memory)
                    if (folder / "memory.swap.max").exists():
                        _write(folder / "memory.swap.max", "0")
                    _write(folder / "memory.oom.group", "1")  # an OOM kill ends the whole run
                if "pids" in h.controllers:
                    _write(folder / "pids.max", str(int(tasks)))
        except OSError as exc:
            group.remove()
            _warn_once("cgroup-create", f"could not create a cgroup for a sandboxed run ({exc}); "
                       "this run has per-process limits only")
            return None
        return group

    def _file(self, controller: str, name: str) -> Path | None:
        for h, folder in self.folders:
            if controller in h.controllers:
                return folder / name
        return None

    def open_procs(self) -> list[int]:
        """Descriptors of every folder's cgroup.procs, for the child to write its pid into
        before it runs anything (opened here: the child only calls write)."""
        return [os.open(folder / "cgroup.procs", os.O_WRONLY | os.O_CLOEXEC) for _, folder in self.folders]

    def oom_kills(self) -> int:
        """How many processes the kernel killed because the run as a whole ran out of memory."""
        h = next((h for h, _ in self.folders if "memory" in h.controllers), None)
        path = self._file("memory", "memory.oom_control" if h and h.version == 1 else "memory.events")
        try:
            text = path.read_text() if path else ""
        except OSError:
            return 0
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def peak_bytes(self) -> int | None:
        """The most memory the run used at once (v2 kernels before 5.19: None)."""
        for name in ("memory.max_usage_in_bytes", "memory.peak"):
            path = self._file("memory", name)
            if path is not None and path.exists():
                try:
                    return int(path.read_text().split()[0])
                except (OSError, ValueError, IndexError):
                    return None
        return None

    def pids(self) -> set[int]:
        found: set[int] = set()
        for _, folder in self.folders:
            try:
                found |= {int(p) for p in (folder / "cgroup.procs").read_text().split()}
            except (OSError, ValueError):
                continue
        return found

    def _kill(self, pid: int) -> None:
        # SIGKILL pid only while it is still in this cgroup: a pid read from cgroup.procs
        # may have ended and been reused by another process since.
        try:
            fd = os.pidfd_open(pid)
        except OSError:
            return
        try:
            with open(f"/proc/{pid}/cgroup") as fh:
                mine = any(line.endswith(f"/{_CGROUP_PARENT}/{self.name}") for line in fh.read().splitlines())
            if mine:
                signal.pidfd_send_signal(fd, signal.SIGKILL)
        except OSError:
            pass
        finally:
            os.close(fd)

    def kill_all(self, wait: float = 0.0) -> bool:
        """SIGKILL every process of the run; with wait > 0, until none is left or wait
        seconds passed. True when none is left."""
        deadline = time.monotonic() + wait
        kill_file = next((folder / "cgroup.kill" for h, folder in self.folders if h.version == 2
                          and (folder / "cgroup.kill").exists()), None)
        while True:
            left = self.pids()
            if not left:
                return True
            if kill_file is not None:
                try:
                    _write(kill_file, "1")
                except OSError:
                    kill_file = None
            if kill_file is None:
                for pid in left:
                    self._kill(pid)
            if time.monotonic() >= deadline:
                return not self.pids()
            time.sleep(0.01)

    def remove(self) -> None:
        """Remove the cgroup's folders (kill_all first); a folder still busy is logged."""
        for _, folder in reversed(self.folders):
            for attempt in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as exc:
                    if exc.errno != errno.EBUSY or attempt == 49:
                        log.warning("could not remove cgroup %s: %s", folder, exc)
                        break
                    self.kill_all()
                    time.sleep(0.02)
        self.folders = []


# -- scratch as a tmpfs of its own: the scratch limit counts every byte, open or deleted --

_libc = ctypes.CDLL(None, use_errno=True)
_MS_NOSUID, _MS_NODEV = 2, 4
_MNT_DETACH = 2
_mounts: dict[Path, int] = {}  # scratch folders mounted by scratch_mount -> size in bytes
_mounts_lock = threading.Lock()


def _mount_tmpfs(path: Path, size: int, inodes: int) -> None:
    options = f"size={int(size)},nr_inodes={int(inodes)},mode=0700".encode()
    if _libc.mount(b"tmpfs", os.fsencode(path), b"tmpfs", ctypes.c_ulong(_MS_NOSUID | _MS_NODEV), options) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount tmpfs on {path}: {os.strerror(err)}")


def _unmount(path: Path) -> None:
    if _libc.umount2(os.fsencode(path), 0) == 0:
        return
    err = ctypes.get_errno()
    if err == errno.EBUSY and _libc.umount2(os.fsencode(path), _MNT_DETACH) == 0:
        # Something still holds a file there (the run's processes are gone by now): the
        # kernel frees the tmpfs when it lets go.
        log.warning("scratch tmpfs %s was busy; detached it", path)
        return
    raise OSError(err, f"umount {path}: {os.strerror(err)}")


@contextlib.contextmanager
def scratch_mount(scratch: Path, max_bytes: int):
    """Make scratch a tmpfs of max_bytes for the runs inside the with block; yields the
    resolved folder.

    Every byte the sandboxed code writes there counts, open-but-deleted files included, and
    a write beyond max_bytes fails with ENOSPC (no space left on device); the number of
    files is capped too. The pages belong to the run's cgroup, so they also count against
    its memory. Read the results (read_scratch_file) inside the with block: on leaving it
    the tmpfs is unmounted and everything in it is gone (the empty folder stays, for the
    caller to remove).

    scratch: Path, a new or empty folder (a folder with files in it raises ValueError: they
    would be hidden); max_bytes: int, the size of the tmpfs (Limits.max_scratch_bytes).
    Where mounting is not possible (the grader is not root, or the kernel refuses), a
    warning is logged once, the folder stays as it is and the watchdog measures its size
    instead, as without this context manager.
    """
    scratch = Path(scratch).absolute()
    scratch.mkdir(parents=True, exist_ok=True)
    scratch = scratch.resolve()
    if any(scratch.iterdir()):
        raise ValueError(f"scratch {scratch} is not empty; mount the tmpfs before writing into it")
    if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes <= 0:
        raise ValueError(f"max_bytes must be a positive int, got {max_bytes!r}")
    try:
        _mount_tmpfs(scratch, max_bytes, _MAX_SCRATCH_FILES)
    except OSError as exc:
        _warn_once("tmpfs", f"scratch folders are not size-limited tmpfs mounts ({exc.strerror or exc}; "
                   "the grader must run as root): the watchdog measures their size instead, which "
                   "does not see files that are deleted while still open")
        yield scratch
        return
    with _mounts_lock:
        _mounts[scratch] = max_bytes
    try:
        yield scratch
    finally:
        with _mounts_lock:
            _mounts.pop(scratch, None)
        _unmount(scratch)


def _scratch_tmpfs(scratch: Path) -> int | None:
    """The size of the tmpfs scratch_mount put on scratch, or None."""
    with _mounts_lock:
        size = _mounts.get(scratch)
    return size if size is not None and os.path.ismount(scratch) else None


def _tmpfs_full(scratch: Path, limit: int) -> str | None:
    """Why the tmpfs (of limit bytes) on scratch is full, or None."""
    try:
        info = os.statvfs(scratch)
    except OSError:
        return None
    if info.f_bavail == 0:
        return f"scratch folder limit ({limit} bytes: no space left)"
    if info.f_favail == 0:
        return f"scratch folder limit (more than {_MAX_SCRATCH_FILES} files)"
    return None


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
    if "No space left on device" in tail:
        return f"scratch folder limit ({limits.max_scratch_bytes} bytes: no space left)"
    if returncode < 0:
        return f"killed by signal {-returncode} ({signal.Signals(-returncode).name})" \
            if -returncode in signal.valid_signals() else f"killed by signal {-returncode}"
    if returncode > 128 and returncode - 128 in {int(s) for s in signal.valid_signals()}:
        # bwrap reports a command killed by signal N as exit code 128 + N.
        sig = returncode - 128
        return f"killed by signal {sig} ({signal.Signals(sig).name})"
    return f"exit code {returncode}"


def _warn_unsandboxed() -> None:
    """Warn, once per process, that student code runs without bubblewrap; nothing when the
    caller already warned for the whole grading run (UNSANDBOXED_WARNED_ENV is set)."""
    if os.environ.get(UNSANDBOXED_WARNED_ENV, "") not in ("", "0"):
        return
    with _warned_lock:
        if "unsandboxed" in _warned:
            return
        _warned.add("unsandboxed")
    message = ("UNSANDBOXED: bubblewrap is not available, so student code runs with only "
               "resource limits and can read and write this machine's files. Install it "
               "with `apt-get install -y bubblewrap` before grading real submissions.")
    log.warning(message)
    print(f"WARNING: {message}", file=sys.stderr, flush=True)


def _bwrap_command(view: View, scratch: Path, limits: Limits, uid: int, nproc: int,
                   argv: list[str]) -> list[str]:
    """The bwrap command line that runs argv (through the launcher) inside view."""
    # /tmp is scratch's own .tmp folder (TMPDIR), so that what the code writes there counts
    # against the scratch limits of the run as a whole, bytes and number of files alike (a
    # tmpfs of its own would cap the bytes only). It goes first: read-only views and a
    # scratch folder under /tmp are mounted on top of it.
    return [_bwrap_path() or "bwrap", *_system_binds(),
            "--bind", str(scratch / ".tmp"), "/tmp",
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
    preexec: Callable[[], None]
    sandboxed: bool
    tasks: int  # pids.max of the run's cgroup: max_procs plus bubblewrap's own
    tmpfs: int | None = None  # size of scratch's tmpfs (scratch_mount), None: measured by scanning


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

    tmpfs = _scratch_tmpfs(scratch)
    if not sandbox_available():
        _warn_unsandboxed()
        nproc = _tasks_of_uid(os.getuid()) + limits.max_procs if os.geteuid() != 0 else limits.max_procs
        return _Launch(argv, scratch, run_env, limits, _rlimit_setter(limits, nproc), False,
                       limits.max_procs, tmpfs)
    tasks = limits.max_procs + _BWRAP_TASKS
    uid = _UID_BASE + secrets.randbelow(_UID_SPAN) if os.geteuid() == 0 else -1
    if uid >= 0:
        _chown_tree(scratch, uid)
        # The launcher sets the process limit once it runs as the new user id.
        cmd = _bwrap_command(view, scratch, limits, uid, limits.max_procs, argv)
        return _Launch(cmd, scratch, run_env, limits, _rlimit_setter(limits, None), True, tasks, tmpfs)
    nproc = _tasks_of_uid(os.getuid()) + limits.max_procs
    cmd = _bwrap_command(view, scratch, limits, uid, nproc, argv)
    return _Launch(cmd, scratch, run_env, limits, _rlimit_setter(limits, nproc), True, tasks, tmpfs)


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

    def __init__(self, proc: subprocess.Popen, launch: _Launch, captures: list[_Capture], start: float,
                 cgroup: _Cgroup | None = None):
        self.proc, self.launch, self.captures, self.start = proc, launch, captures, start
        self.cgroup = cgroup
        self.killed_for: str | None = None
        self.timed_out = False
        self.end: float | None = None
        self.oom_killed = False  # the kernel killed a process: the run as a whole ran out of memory
        self.scratch_full: str | None = None  # scratch's tmpfs was full when the run ended
        self.peak_memory: int | None = None  # bytes, from the cgroup
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name="sandbox-watchdog", daemon=True)
        self.thread.start()

    def stop(self, reason: str, timed_out: bool = False) -> None:
        """Kill the run now (if it still runs), recording reason."""
        with self._lock:
            if self.killed_for is None and self.proc.poll() is None:
                self.killed_for, self.timed_out = reason, timed_out
                _kill_group(self.proc)
                if self.cgroup is not None:
                    self.cgroup.kill_all()

    def _over_time(self, now: float) -> str | None:
        limit = self.launch.limits.total_timeout
        return f"timeout after {limit:g} s" if now - self.start > limit else None

    def _over_memory(self) -> str | None:
        if self.cgroup is not None and self.cgroup.oom_kills():
            return _whole_memory_reason(self.launch.limits)
        return None

    def _over_scratch(self) -> tuple[str | None, int]:
        """(reason or None, number of entries) from one look at the scratch folder."""
        if self.launch.tmpfs is not None:
            # The kernel enforces the size and the number of files; a full tmpfs means the
            # code tried to write more.
            return _tmpfs_full(self.launch.scratch, self.launch.tmpfs), 0
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
            reason = self._over_memory()
            if reason is None and now >= next_scan:
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
            # parent; the group at least goes down with it (and the cgroup takes the rest).
            _kill_group(self.proc)
        if self.cgroup is not None:
            # Whatever is left of the run, wherever it went, is in the cgroup.
            if not self.cgroup.kill_all(wait=_KILL_GRACE):
                log.warning("processes of a sandboxed run survived SIGKILL: %s", sorted(self.cgroup.pids()))
            self.oom_killed = self.cgroup.oom_kills() > 0
            self.peak_memory = self.cgroup.peak_bytes()
            self.cgroup.remove()
        if self.launch.tmpfs is not None:
            self.scratch_full = _tmpfs_full(self.launch.scratch, self.launch.tmpfs)
        for capture in self.captures:
            capture.thread.join(timeout=_KILL_GRACE)


def _describe_run(proc: subprocess.Popen, watchdog: _Watchdog, captures: list[_Capture],
                  launch: _Launch) -> SandboxResult:
    """The SandboxResult of a run that is over."""
    stdout, stderr = (c.text() for c in captures)
    duration = (watchdog.end or time.monotonic()) - watchdog.start
    peak = None if watchdog.peak_memory is None else round(watchdog.peak_memory / 2**20)
    if watchdog.killed_for:
        return SandboxResult(None, watchdog.timed_out, watchdog.killed_for, stdout, stderr,
                             duration, launch.sandboxed, peak)
    # The kernel stopped the run (it may have ended before the watchdog looked): the same
    # answer whatever the timing.
    if watchdog.oom_killed:
        return SandboxResult(None, False, _whole_memory_reason(launch.limits), stdout, stderr,
                             duration, launch.sandboxed, peak)
    reason = _describe_exit(proc.returncode, stderr, launch.limits)
    if watchdog.scratch_full and proc.returncode != 0:
        reason = watchdog.scratch_full
    return SandboxResult(proc.returncode, False, reason, stdout, stderr, duration, launch.sandboxed, peak)


def _whole_memory_reason(limits: Limits) -> str:
    return f"memory limit ({limits.memory_mb} MB) for the submission as a whole"


class Running:
    """A sandboxed program that runs now, watched from the moment it started.

    proc: subprocess.Popen; proc.stdin is a pipe to the program (None for run_sandboxed's
        runs), its stdout and stderr are captured for the result, do not read them.
    wait(): closes proc.stdin, waits for the end (the limits still apply) and returns the
        SandboxResult. kill(): stops the run now; wait() then reports it. Usable as a
        context manager that kills the run if it is still going on exit.
    """

    def __init__(self, proc: subprocess.Popen, launch: _Launch, start: float, cgroup: _Cgroup | None = None):
        self.proc = proc
        self._launch = launch
        budget, lock = [int(launch.limits.max_output_bytes)], threading.Lock()
        self._captures = [_Capture(proc.stdout, budget, lock), _Capture(proc.stderr, budget, lock)]
        self._watchdog = _Watchdog(proc, launch, self._captures, start, cgroup)
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
    """Start the launch's command in a cgroup of its own (when cgroups are available), with
    its output captured and its watchdog running.
    Raises OSError when the command cannot be started."""
    cgroup = _Cgroup.create(launch.limits, launch.tasks)
    join: list[int] = []
    try:
        join = cgroup.open_procs() if cgroup is not None else []

        def preexec():
            # In the child, before it runs anything: join the cgroup, so every process it
            # starts is in it too, then the per-process limits.
            pid = str(os.getpid()).encode()
            for fd in join:
                os.write(fd, pid)
            launch.preexec()

        start = time.monotonic()
        proc = subprocess.Popen(launch.cmd, cwd=launch.scratch, env=launch.env, stdin=stdin,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=pass_fds,
                                preexec_fn=preexec, start_new_session=True)
    except (OSError, subprocess.SubprocessError) as exc:
        if cgroup is not None:
            cgroup.kill_all(wait=_KILL_GRACE)
            cgroup.remove()
        if isinstance(exc, OSError):
            raise
        raise OSError(f"the sandbox's child could not be set up: {exc}") from exc
    finally:
        for fd in join:
            os.close(fd)
    return Running(proc, launch, start, cgroup)


def start_sandboxed(argv: list[str], scratch: Path, readonly: Sequence[Path] = (), hidden: Sequence[Path] = (),
                    limits: Limits | None = None, env: dict | None = None,
                    pass_fds: tuple[int, ...] = ()) -> Running:
    """Start argv in the sandbox and return a Running handle; the limits apply at once.

    Arguments as for :func:`run_sandboxed`, plus pass_fds: file descriptors (>= 3) of the caller
    that the program inherits under the same numbers (for example the write end of a pipe
    that the caller reads results from). The program's stdin is a pipe (Running.proc.stdin).

    Raises ValueError for bad arguments (see run_sandboxed) or a closed descriptor in
    pass_fds, and OSError when the command cannot be started.
    """
    fds = _check_pass_fds(pass_fds)
    launch = _prepare(argv, scratch, readonly, hidden, limits or Limits(), env)
    return _start(launch, subprocess.PIPE, fds)


def run_sandboxed(argv: list[str], scratch: Path, readonly: Sequence[Path] = (), hidden: Sequence[Path] = (),
                  limits: Limits | None = None, env: dict | None = None) -> SandboxResult:
    """Run argv with scratch as the only writable folder, no network, under limits, to its end.

    Returns a SandboxResult (stdin is /dev/null). Raises ValueError for an empty argv, a
    missing readonly path, a scratch folder inside a readonly one or the other way round,
    or a path that is both readonly and hidden.

    argv: list of str, the command; argv[0] must be visible inside (for example
        python_executable(), or a program under /usr/bin).
    scratch: Path, an existing or new folder; the command's working folder, mounted at the
        same path. Only this folder survives the run. For the scratch limit to count every
        byte (files deleted while open too), make it a tmpfs first: run, and read the
        results, inside ``with scratch_mount(scratch, limits.max_scratch_bytes):``.
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
    launch = _prepare(argv, scratch, readonly, hidden, limits or Limits(), env)
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
