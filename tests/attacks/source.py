"""A compact nbgrader source notebook for the attack suite.

It has the graded functions and test-cell ``grade_id``s of the svm assignment
(``svm_loss_naive_loss``, ``svm_loss_vectorized_speed``, ...), visible tests that use
``np.allclose``/``np.testing.assert_allclose``/``np.isclose`` (the checks students try to
monkeypatch), hidden tests that call ``autograder.hidden`` like the real assignment, and
two hidden tests that compare with ``np.allclose`` in the kernel, as many course notebooks
do (plain nbgrader believes them; our grader verifies outside the kernel).
It loads no data and trains nothing, so every attack grades in seconds.
"""
from __future__ import annotations

import nbformat

SOLUTIONS = {
    "svm_loss_naive": '''\
def svm_loss_naive(W, X, y, reg):
    """Multiclass SVM loss with loops. W (D, C), X (N, D), y (N,) ints; returns (loss, dW)."""
    ### BEGIN SOLUTION
    dW = np.zeros_like(W)
    N, C = X.shape[0], W.shape[1]
    loss = 0.0
    for i in range(N):
        scores = X[i] @ W
        for j in range(C):
            if j == y[i]:
                continue
            margin = scores[j] - scores[y[i]] + 1.0
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss = loss / N + reg * np.sum(W * W)
    dW = dW / N + 2 * reg * W
    ### END SOLUTION
    return loss, dW
''',
    "svm_loss_vectorized": '''\
def svm_loss_vectorized(W, X, y, reg):
    """Multiclass SVM loss without loops. Same shapes as svm_loss_naive."""
    ### BEGIN SOLUTION
    N = X.shape[0]
    scores = X @ W
    correct = scores[np.arange(N), y][:, None]
    margins = np.maximum(0.0, scores - correct + 1.0)
    margins[np.arange(N), y] = 0.0
    loss = margins.sum() / N + reg * np.sum(W * W)
    mask = (margins > 0).astype(W.dtype)
    mask[np.arange(N), y] = -mask.sum(axis=1)
    dW = X.T @ mask / N + 2 * reg * W
    ### END SOLUTION
    return loss, dW
''',
    "sample_batch": '''\
def sample_batch(X, y, batch_size, rng):
    """Rows drawn with replacement using rng. Returns X_batch (B, D), y_batch (B,)."""
    ### BEGIN SOLUTION
    idx = rng.choice(X.shape[0], batch_size, replace=True)
    return X[idx], y[idx]
    ### END SOLUTION
''',
    "sgd_step": '''\
def sgd_step(loss_fn, W, X_batch, y_batch, learning_rate, reg):
    """One gradient step. Returns (W_new (D, C), loss before the step)."""
    ### BEGIN SOLUTION
    loss, dW = loss_fn(W, X_batch, y_batch, reg)
    return W - learning_rate * dW, loss
    ### END SOLUTION
''',
    "predict": '''\
def predict(W, X):
    """Predicted labels (N,) int: the class with the highest score."""
    ### BEGIN SOLUTION
    return np.argmax(X @ W, axis=1)
    ### END SOLUTION
''',
}

# grade_id -> (points, visible test, hidden test)
TESTS = {
    "svm_loss_naive_loss": (2, '''\
W = np.zeros((3, 2)); X = np.ones((4, 3)); y = np.array([0, 1, 0, 1])
loss, _ = svm_loss_naive(W, X, y, 0.0)
assert np.isclose(loss, 1.0)''', 'hidden.check_loss(svm_loss_naive, "svm_loss_naive", seed=11, part="loss")'),
    "svm_loss_naive_grad": (2, '''\
_, dW = svm_loss_naive(np.zeros((3, 2)), np.ones((4, 3)), np.array([0, 1, 0, 1]), 0.0)
np.testing.assert_allclose(dW, np.zeros((3, 2)), atol=1e-12)''',
                            'hidden.check_loss(svm_loss_naive, "svm_loss_naive", seed=12, part="grad")'),
    "svm_loss_vectorized_loss": (2, '''\
rng = np.random.default_rng(0)
W = rng.standard_normal((5, 3)); X = rng.standard_normal((8, 5)); y = rng.integers(0, 3, 8)
assert np.allclose(svm_loss_vectorized(W, X, y, 0.1)[0], svm_loss_naive(W, X, y, 0.1)[0])''',
                                 # Like many course notebooks, this hidden test compares with
                                 # np.allclose in the student's kernel: plain nbgrader trusts it.
                                 'from linclass.reference import losses as _ref\n'
                                 'W2 = rng.standard_normal((20, 4)); X2 = rng.standard_normal((30, 20)); y2 = rng.integers(0, 4, 30)\n'
                                 'assert np.allclose(svm_loss_vectorized(W2, X2, y2, 2.0)[0], _ref.svm_loss_vectorized(W2, X2, y2, 2.0)[0])'),
    "svm_loss_vectorized_grad": (2, '''\
np.testing.assert_allclose(svm_loss_vectorized(W, X, y, 0.1)[1], svm_loss_naive(W, X, y, 0.1)[1])''',
                                 'np.testing.assert_allclose(svm_loss_vectorized(W2, X2, y2, 2.0)[1], '
                                 '_ref.svm_loss_vectorized(W2, X2, y2, 2.0)[1], rtol=1e-6)'),
    "svm_loss_vectorized_speed": (1, "assert callable(svm_loss_vectorized)",
                                  'hidden.check_vectorized(svm_loss_vectorized, "svm_loss_vectorized", seed=15)'),
    "sample_batch_check": (1, '''\
Xb, yb = sample_batch(np.eye(4), np.arange(4), 3, np.random.default_rng(0))
assert Xb.shape == (3, 4) and yb.shape == (3,)''', 'hidden.check_function(sample_batch, "sample_batch", seed=16)'),
    "sgd_step_check": (1, '''\
W1, l1 = sgd_step(svm_loss_vectorized, np.zeros((3, 2)), np.ones((4, 3)), np.array([0, 1, 0, 1]), 0.1, 0.0)
assert np.isclose(l1, 1.0)''', 'hidden.check_function(sgd_step, "sgd_step", seed=17)'),
    "predict_check": (1, "assert np.all(predict(np.eye(2), np.eye(2)) == np.array([0, 1]))",
                      'hidden.check_function(predict, "predict", seed=18)'),
}


def _meta(grade_id, *, solution=False, grade=False, locked=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def build_source_notebook():
    """The nbgrader source notebook (answers and hidden tests included) as a NotebookNode."""
    v4 = nbformat.v4
    cells = [v4.new_markdown_cell("# Multiclass SVM (attack-suite edition)\nWrite each function, then run its tests.",
                                  metadata=_meta("intro", locked=True)),
             v4.new_code_cell("import numpy as np\nfrom linclass import checks", metadata=_meta("setup", locked=True))]
    order = ["svm_loss_naive", "svm_loss_vectorized", "sample_batch", "sgd_step", "predict"]
    for fn in order:
        cells.append(v4.new_code_cell(SOLUTIONS[fn], metadata=_meta(fn, solution=True)))
        for gid, (points, visible, hidden) in TESTS.items():
            if gid.rsplit("_", 1)[0] == fn:
                if "hidden." in hidden:
                    hidden = "from autograder import hidden\n" + hidden
                source = f"{visible}\n### BEGIN HIDDEN TESTS\n{hidden}\n### END HIDDEN TESTS"
                cells.append(v4.new_code_cell(source, metadata=_meta(gid, grade=True, locked=True, points=points)))
    nb = v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb
