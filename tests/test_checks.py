"""linclass.checks, the visible checks of the student kit: stored numbers, agreement, vectorization."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from linclass import checks
from linclass.reference import losses

ROOT = Path(__file__).resolve().parent.parent


def test_stored_numbers_are_current():
    # The file is generated from the answer key; a stale file fails here, not in a student's notebook.
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "make_expected.py"), "--check"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_example_inputs_are_fixed_and_small():
    W, X, y, reg = checks.example_inputs(1)
    W2, X2, y2, reg2 = checks.example_inputs(1)
    assert W.shape == (5, 4) and X.shape == (7, 5) and y.shape == (7,) and y.dtype == np.int64
    assert np.array_equal(W, W2) and np.array_equal(X, X2) and reg == reg2 == 0.5
    with pytest.raises(ValueError, match="case must be"):
        checks.example_inputs(3)


@pytest.mark.parametrize("loss", ["svm", "softmax"])
def test_reference_passes_and_bugs_fail(loss):
    ref = getattr(losses, f"{loss}_loss_vectorized")
    for part in ("loss", "grad", "reg", None):
        checks.check_expected(ref, loss, part=part)

    def no_reg_grad(W, X, y, reg):
        value, dW = ref(W, X, y, reg)
        return value, dW - 2 * reg * W

    # The loss and grad parts are checked at reg = 0: a regularization mistake fails only "reg".
    checks.check_expected(no_reg_grad, loss, part="loss")
    checks.check_expected(no_reg_grad, loss, part="grad")
    with pytest.raises(AssertionError, match="something other than 2 \\* reg \\* W"):
        checks.check_expected(no_reg_grad, loss, part="reg")

    def wrong_grad(W, X, y, reg):
        value, dW = ref(W, X, y, reg)
        return value, 1.5 * dW

    with pytest.raises(AssertionError, match="differs from the stored gradient"):
        checks.check_expected(wrong_grad, loss, part="grad")

    def doubled(W, X, y, reg):
        value, dW = ref(W, X, y, reg)
        return 2 * value, dW

    with pytest.raises(AssertionError, match="expected"):
        checks.check_expected(doubled, loss, part="loss")


@pytest.mark.parametrize("loss", ["svm", "softmax"])
def test_reg_part_names_the_half_convention_and_the_bias_row(loss):
    ref = getattr(losses, f"{loss}_loss_vectorized")

    def half(W, X, y, reg):
        value, dW = ref(W, X, y, 0.0)
        return value + 0.5 * reg * np.sum(W * W), dW + reg * W

    def no_bias(W, X, y, reg):
        value, dW = ref(W, X, y, 0.0)
        V = W.copy()
        V[-1] = 0.0
        return value + reg * np.sum(V * V), dW + 2 * reg * V

    with pytest.raises(AssertionError, match="0.5 convention"):
        checks.check_expected(half, loss, part="reg")
    checks.check_expected(half, loss, part="loss")
    with pytest.raises(AssertionError, match="every row of W"):
        checks.check_expected(no_bias, loss, part="reg")


def test_softmax_loss_part_shifts_every_score():
    def no_max(W, X, y, reg):
        e = np.exp(X @ W)
        p = e / e.sum(axis=1, keepdims=True)
        n = X.shape[0]
        loss = -np.log(p[np.arange(n), y]).mean() + reg * np.sum(W * W)
        p[np.arange(n), y] -= 1
        return loss, X.T @ p / n + 2 * reg * W

    def global_max(W, X, y, reg):
        s = X @ W
        s = s - s.max()
        p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
        n = X.shape[0]
        loss = -np.log(p[np.arange(n), y]).mean() + reg * np.sum(W * W)
        p[np.arange(n), y] -= 1
        return loss, X.T @ p / n + 2 * reg * W

    W, X, _, _ = checks.shifted_inputs(0)
    assert W.shape == (6, 4) and X.shape == (7, 6)
    assert np.allclose(X @ W - checks.example_inputs(0)[1] @ checks.example_inputs(0)[0], 1000.0)
    with pytest.raises(AssertionError, match="shifted by 1000"):
        checks.check_expected(no_max, "softmax", part="loss")
    checks.check_expected(global_max, "softmax")


def test_the_stored_names_are_the_graders():
    # The kit's self-check names mistakes from stored numbers; they come from autograder.bugs.
    from autograder import bugs

    stored = checks._expected()
    assert stored["names"]["svm"]["reg"]["half|half"] == [[b.key, b.words, b.convention] for b in
                                                          (bugs.REG_PAIR_BUGS["half"],)]
    labels = [label for label, _ in stored["parts"]["softmax"]["data_grad"]]
    assert labels == list(bugs.DATA_VARIANTS["softmax"])


def test_agreement_of_naive_and_vectorized():
    assert "agree" in checks.check_agree(losses.svm_loss_naive, losses.svm_loss_vectorized)

    def off(W, X, y, reg):
        value, dW = losses.svm_loss_vectorized(W, X, y, reg)
        return value + 1e-3, dW

    with pytest.raises(AssertionError, match="losses differ"):
        checks.check_agree(losses.svm_loss_naive, off)

    def stub(W, X, y, reg):
        raise NotImplementedError

    assert "not checked" in checks.check_agree(stub, losses.svm_loss_vectorized)


def _scaled(fn, data=1.0, reg_factor=1.0, name=None):
    """fn with its data loss and dW times data and its regularization times reg_factor."""
    def loss(W, X, y, reg):
        value0, dW0 = fn(W, X, y, 0.0)
        return data * value0 + reg_factor * reg * np.sum(W * W), data * dW0 + reg_factor * 2 * reg * W
    loss.__name__ = name or fn.__name__
    return loss


@pytest.mark.parametrize("family", ["svm", "softmax"])
def test_agreement_with_a_wrong_naive_version_blames_the_naive_version(family):
    naive = getattr(losses, f"{family}_loss_naive")
    vectorized = getattr(losses, f"{family}_loss_vectorized")
    # The naive version forgot to divide by N; the vectorized one is right: no error, and the
    # report says which one to fix.
    report = checks.check_agree(_scaled(naive, data=7.0), vectorized)
    assert "differ" in report and "mistake is in your naive version" in report
    # Only the naive version's regularization is wrong.
    assert "mistake is in your naive version" in checks.check_agree(_scaled(naive, reg_factor=0.5), vectorized)
    # The vectorized version's regularization is wrong, the naive one is right: no error (it is right
    # at reg = 0), and the report sends the student to the _reg test, not to the naive version.
    report = checks.check_agree(naive, _scaled(vectorized, reg_factor=0.5))
    assert "its _reg test says what to change" in report and "naive version;" not in report
    # The vectorized version is wrong at reg = 0 and the naive one right: it still raises.
    with pytest.raises(AssertionError, match="the vectorized version is wrong too"):
        checks.check_agree(naive, _scaled(vectorized, data=2.0))
    # A name that says no family: loss= says it.
    anonymous = _scaled(vectorized, name="mine")
    with pytest.raises(AssertionError, match="pass loss="):
        checks.check_agree(_scaled(naive, data=7.0), anonymous)
    assert "mistake is in your naive version" in checks.check_agree(_scaled(naive, data=7.0), anonymous,
                                                                     loss=family)


def test_vectorization_report_tells_a_loop_from_array_code():
    ok, message = checks.vectorization_report(losses.svm_loss_vectorized)
    assert ok and "is vectorized" in message

    def svm_loop(W, X, y, reg):  # written here: code in linclass's folder counts as library
        total = 0.0
        for i in range(X.shape[0]):
            total += float(X[i] @ W[:, 0])
        return total, np.zeros_like(W)

    ok, message = checks.vectorization_report(svm_loop)
    assert not ok and "once per example" in message


def test_quiet_silences_numpy_warnings(recwarn):
    with checks.quiet():
        np.log(np.zeros(1))
    assert len(recwarn) == 0
