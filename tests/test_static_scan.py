"""autograder.static_scan: what an answer cell's code shows without running it."""
from __future__ import annotations

import glob
import json
from pathlib import Path

import pytest

from autograder.static_scan import loops_over_examples, scan

ROOT = Path(__file__).resolve().parent.parent


def answer_cells(pattern: str):
    for path in sorted(glob.glob(str(ROOT / pattern))):
        nb = json.loads(Path(path).read_text())
        for cell in nb["cells"]:
            meta = cell["metadata"].get("nbgrader", {})
            if cell["cell_type"] == "code" and meta.get("solution"):
                yield path, meta["grade_id"], "".join(cell["source"])


@pytest.mark.parametrize("pattern", ["solutions/*/*.ipynb", "assignments/*/*.ipynb",
                                     "autograder/samples/submitted/*/*/*.ipynb"])
def test_honest_notebooks_have_no_findings(pattern):
    cells = list(answer_cells(pattern))
    assert cells
    assert [(p, gid, scan(src)) for p, gid, src in cells if scan(src)] == []


@pytest.mark.parametrize("code,fragment", [
    ("import sys\nsys.settrace(None)", "sys.settrace"),
    ("import threading", "import threading"),
    ("from multiprocessing import Pool", "from multiprocessing"),
    ("import ctypes", "import ctypes"),
    ("import atexit\natexit.register(print)", "import atexit"),
    ("import signal", "import signal"),
    ("import gc", "import gc"),
    ("import inspect", "import inspect"),
    ("f.__code__ = g.__code__", "__code__"),
    ("exec('x = 1')", "exec()"),
    ("code = compile('1', 'numpy/core.py', 'eval')", "compile()"),
    ("import sys\nsys.modules['numpy'] = None", "sys.modules"),
    ("import builtins", "import builtins"),
    ("__builtins__['abs'] = max", "__builtins__"),
    ("open('/etc/passwd').read()", "open()"),
    ("import numpy as np\nnp.allclose = lambda *a, **k: True", "replaces np.allclose"),
    ("np.testing.assert_allclose, x = None, 1", "replaces np.testing.assert_allclose"),
    ("get_ipython().events.register('pre_run_cell', f)", "get_ipython"),
    ("from linclass.reference.losses import svm_loss_vectorized", "linclass.reference"),
    ("from autograder import hidden", "from autograder"),
    ("os.system('true')", "os.system"),
    ("f = getattr(frame, 'f_ba' + 'ck')", "getattr() with the name"),
    ("getattr(sys_module, '_getframe')", "getattr() with the name"),
    ("s = np.testing._private.utils.sys", "_private"),
    ("fn.__globals__['np'] = None", "__globals__"),
    ("code = fn.__code__.replace(co_filename='numpy/core.py')", "co_filename="),
    ("tb = err.__traceback__", "__traceback__"),
    ("m = np.core.multiarray.sys.modules", "modules"),
])
def test_machinery_is_named(code, fragment):
    found = scan(code)
    assert any(fragment in f for f in found), found


def test_plain_numpy_code_is_clean():
    code = ("import numpy as np\n\ndef svm_loss_vectorized(W, X, y, reg):\n    scores = X @ W\n"
            "    scores[np.arange(X.shape[0]), y] = 0.0\n    scores.flat[0], W.T[0] = 1.0, 2.0\n"
            "    values = [1, 2]\n    values.remove(1)\n    return float(scores.sum()), np.zeros_like(W)\n")
    assert scan(code) == []


LOOPING = '''
def svm_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    n = num_train
    loss = 0.0
    for i in range(n):
        loss += X[i].sum()
    return loss, W
'''


@pytest.mark.parametrize("body,expected", [
    ("    for i in range(X.shape[0]):\n        pass\n", 1),
    ("    for x, label in zip(X, y):\n        pass\n", 1),
    ("    for i, x in enumerate(X):\n        pass\n", 1),
    ("    rows = [x.sum() for x in X]\n", 1),
    ("    N, D = X.shape\n    i = 0\n    while i < N:\n        i += 1\n", 1),
    ("    for j in range(W.shape[1]):\n        pass\n", 0),
    ("    for k in range(3):\n        pass\n", 0),
    ("    total = 0.0\n    for k in range(512):\n        if k < len(y):\n            total += X[k].sum()\n", 1),
    ("    for c in range(W.shape[1]):\n        s = X @ W[:, c]\n", 0),
])
def test_loops_over_examples(body, expected):
    code = f"def svm_loss_vectorized(W, X, y, reg):\n{body}    return 0.0, W\n"
    assert len(loops_over_examples(code, "svm_loss_vectorized")) == expected


def test_a_loop_through_names_and_helpers_is_found():
    assert loops_over_examples(LOOPING, "svm_loss_vectorized")
    helper = LOOPING.replace("def svm_loss_vectorized", "def helper") + \
        "\ndef svm_loss_vectorized(W, X, y, reg):\n    return helper(W, X, y, reg)\n"
    assert loops_over_examples(helper, "svm_loss_vectorized") == []
    assert "which it calls" in loops_over_examples(helper, "svm_loss_vectorized", also=("helper",))[0]


def test_the_vectorized_answers_of_the_honest_notebooks_do_not_loop():
    for pattern in ("solutions/*/*.ipynb", "autograder/samples/submitted/*/*/*.ipynb"):
        for path, gid, src in answer_cells(pattern):
            for fn in ("svm_loss_vectorized", "softmax_loss_vectorized"):
                if "calls_naive" in path:
                    continue
                assert loops_over_examples(src, fn) == [], (path, fn)
