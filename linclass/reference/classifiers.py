"""Linear classifiers trained with minibatch stochastic gradient descent (CS231n style).

    from linclass.reference.classifiers import LinearSVM
    svm = LinearSVM()
    history = svm.train(X_train, y_train, learning_rate=1e-7, reg=2.5e4, num_iters=1500)
    print(svm.accuracy(X_val, y_val))

A linear classifier computes class scores s = x @ W for an image x (a row with the bias 1
appended) and predicts the class with the highest score. Training lowers a loss on W:
``LinearSVM`` uses the multiclass hinge loss, ``Softmax`` the cross-entropy loss, both
the vectorized versions from ``linclass.reference.losses``.
"""
from __future__ import annotations

import math
import numbers
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from linclass.reference.fast import single_threaded_blas

__all__ = ["LinearClassifier", "LinearSVM", "Softmax", "SAMPLING_MODES"]

# How train() draws its minibatches:
# - "replacement": every step draws batch_size row indices at random with replacement and
#   copies those rows (X[idx]), exactly as in the CS231n assignment.
# - "epoch": one shuffle (a permutation of the row indices) per epoch; each step takes the
#   next batch_size rows of that order. Every example is seen once per epoch. LinearSVM and
#   Softmax then read those rows straight from X in a compiled kernel (linclass.reference.fast): no
#   batch is copied and no array is allocated per step. This is the fast mode.
SAMPLING_MODES = ("replacement", "epoch")

_FORMAT_VERSION = 1


def _positive_int(value, name, minimum=1):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return int(value)


def _real(value, name, minimum=None, strictly=False):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None and (value < minimum or (strictly and value == minimum)):
        relation = ">" if strictly else ">="
        raise ValueError(f"{name} must be {relation} {minimum}, got {value}")
    return value


def _check_X(X, D=None, name="X"):
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{name} must have shape (N, D), got shape {X.shape}; "
                         f"flatten images with {name}.reshape(len({name}), -1)")
    if not (np.issubdtype(X.dtype, np.floating) or np.issubdtype(X.dtype, np.integer)):
        raise ValueError(f"{name} must hold real numbers, got dtype {X.dtype}")
    if not np.issubdtype(X.dtype, np.floating):
        X = X.astype(np.float64)
    if X.shape[0] == 0:
        raise ValueError(f"{name} has no rows; it needs at least one example")
    if D is not None and X.shape[1] != D:
        raise ValueError(f"{name} has {X.shape[1]} columns but W has {D} rows; "
                         f"did you forget (or add twice) the bias column?")
    return X


def _check_y(y, N, name="y"):
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{name} must be an integer array of shape (N,), got dtype {y.dtype} "
                         f"and shape {y.shape}; convert with {name}.astype(int)")
    if y.shape[0] != N:
        raise ValueError(f"{name} has {y.shape[0]} labels but X has {N} rows; they must match")
    if y.min() < 0:
        raise ValueError(f"{name} must hold labels >= 0, found {y.min()}")
    return y


class _TrainOptions(NamedTuple):
    """The arguments of LinearClassifier.train after checking (see its docstring)."""

    learning_rate: float
    reg: float
    num_iters: int
    batch_size: int
    lr_decay: float
    decay_every: int
    max_norm: float | None
    momentum: float
    sampling: str
    verbose: bool
    progress: bool

    @property
    def plain(self):
        """True when train()'s plain CS231n loop is enough: no option beyond it is used."""
        return (self.sampling == "replacement" and self.momentum == 0 and self.lr_decay == 1
                and self.max_norm is None and not self.progress)


def _check_train_args(N, learning_rate, reg, num_iters, batch_size, lr_decay, decay_every, max_norm,
                      momentum, sampling, verbose, progress):
    """Check train()'s arguments for N training rows; returns them as a _TrainOptions."""
    learning_rate = _real(learning_rate, "learning_rate", 0.0, strictly=True)
    reg = _real(reg, "reg", 0.0)
    num_iters = _positive_int(num_iters, "num_iters")
    batch_size = _positive_int(batch_size, "batch_size")
    lr_decay = _real(lr_decay, "lr_decay", 0.0, strictly=True)
    if lr_decay > 1:
        raise ValueError(f"lr_decay must be in (0, 1] (1 means no decay), got {lr_decay}")
    if decay_every is None:
        decay_every = max(1, N // batch_size)
    decay_every = _positive_int(decay_every, "decay_every")
    if max_norm is not None:
        max_norm = _real(max_norm, "max_norm", 0.0, strictly=True)
    momentum = _real(momentum, "momentum", 0.0)
    if momentum >= 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    if sampling not in SAMPLING_MODES:
        raise ValueError(f"sampling must be one of {SAMPLING_MODES}, got {sampling!r}")
    if sampling == "epoch" and batch_size > N:
        raise ValueError(f"batch_size ({batch_size}) must be <= N ({N}) with sampling='epoch'")
    return _TrainOptions(learning_rate, reg, num_iters, batch_size, lr_decay, decay_every, max_norm,
                         momentum, sampling, verbose, progress)


class LinearClassifier:
    """A linear classifier s = X @ W trained by minibatch SGD on a loss function.

    Attributes:
    - W: array of shape (D, C) in the training data's float dtype, or None before
      training.
    - loss_fn: callable loss_fn(W, X, y, reg) -> (loss, dW), or None in the subclasses,
      which use their own loss.
    """

    def __init__(self, loss_fn=None):
        if loss_fn is not None and not callable(loss_fn):
            raise ValueError(f"loss_fn must be a function loss_fn(W, X, y, reg) -> (loss, dW), "
                             f"got {loss_fn!r}")
        self.loss_fn = loss_fn
        self.W = None

    # -- the loss --------------------------------------------------------------------
    def loss(self, X_batch, y_batch, reg):
        """Loss and gradient on a minibatch.

        Inputs:
        - X_batch: array of shape (B, D); y_batch: int array of shape (B,); reg: float >= 0.

        Returns (loss float, dW array of shape (D, C)).
        """
        if self.loss_fn is None:
            raise ValueError("LinearClassifier needs a loss: pass loss_fn=..., or use LinearSVM or Softmax")
        return self.loss_fn(self.W, X_batch, y_batch, reg)

    def _fast_kind(self):
        """"svm" or "softmax" when linclass.reference.fast has a compiled kernel for this loss, else None."""
        return None

    # -- training --------------------------------------------------------------------
    def train(self, X, y, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200, seed=None,
              lr_decay=1.0, decay_every=None, max_norm=None, momentum=0.0, sampling="replacement",
              verbose=False, progress=False):
        """Train W by minibatch stochastic gradient descent.

        Inputs:
        - X: array of shape (N, D), float32 or float64 (W gets X's dtype; ints become float64).
        - y: int array of shape (N,), labels in [0, C); C = max(y) + 1 when W is new.
        - learning_rate: float > 0, the step size.
        - reg: float >= 0, the L2 regularization strength.
        - num_iters: int >= 1, number of SGD steps.
        - batch_size: int >= 1, examples per step.
        - seed: int or None, seeds the initialization of W and the batch sampling.
        - lr_decay: float in (0, 1]; the learning rate is multiplied by it every
          decay_every steps (default: once per epoch, N / batch_size steps).
        - max_norm: float > 0 or None; after every step each class column of W is projected
          back onto the ball of that L2 norm (max-norm regularization).
        - momentum: float in [0, 1); 0 is plain SGD. With momentum the step follows a
          running average of the gradients: v = momentum * v - lr * dW; W += v.
        - sampling: "replacement" (CS231n: random rows with replacement each step) or
          "epoch" (one shuffle per epoch, each row used once per epoch; faster). See
          SAMPLING_MODES in this module. With "epoch", LinearSVM and Softmax compute the
          loss with the kernel of linclass.reference.fast (same values, no per-step input checks);
          with "replacement" they call the vectorized losses of linclass.reference.losses.
        - verbose: bool, print the loss every 100 steps.
        - progress: bool, show a tqdm progress bar.

        Returns loss_history: list of num_iters floats, the minibatch loss at each step.

        W is initialized to 0.001 * randn(D, C) when it is None or has the wrong shape;
        otherwise training continues from the current W.

        The loop below is the plain CS231n one. When any option beyond it is used (epoch
        sampling, momentum, decay, max-norm, a progress bar), `_train_with_options` runs
        instead: the same steps, with those options and the fast kernel.
        """
        X = _check_X(X)
        y = _check_y(y, X.shape[0])
        opts = _check_train_args(X.shape[0], learning_rate, reg, num_iters, batch_size, lr_decay,
                                 decay_every, max_norm, momentum, sampling, verbose, progress)
        rng = np.random.default_rng(seed)
        self._init_W(X, y, rng)
        if not opts.plain:
            return self._train_with_options(X, y, rng, opts)

        N = X.shape[0]
        # The step size in W's dtype, as in the careful loop: whichever loop runs, W comes
        # out the same to the last bit (a progress bar must not change the result).
        learning_rate = self.W.dtype.type(opts.learning_rate)
        loss_history = []
        # One BLAS thread: a step's products are small, and on a busy machine a 2-thread
        # BLAS waiting for a descheduled partner made 1500 steps 20x slower (measured).
        with single_threaded_blas():
            for it in range(opts.num_iters):
                idx = rng.choice(N, opts.batch_size, replace=True)  # a random minibatch
                X_batch, y_batch = X[idx], y[idx]
                loss, dW = self.loss(X_batch, y_batch, opts.reg)
                self.W -= learning_rate * dW
                loss_history.append(float(loss))
                if verbose and it % 100 == 0:
                    print(f"iteration {it} / {opts.num_iters}: loss {float(loss):f}")
        return loss_history

    def _init_W(self, X, y, rng):
        """Make W small and random (0.001 * randn(D, C)) unless it already fits X and y.

        X: array of shape (N, D), float; y: int array of shape (N,); rng: np.random.Generator.
        Sets self.W to an array of shape (D, C) in X's dtype.
        """
        D = X.shape[1]
        num_classes = int(y.max()) + 1
        if self.W is None or self.W.shape[0] != D or self.W.shape[1] < num_classes:
            self.W = (0.001 * rng.standard_normal((D, num_classes))).astype(X.dtype)
        else:
            self.W = self.W.astype(X.dtype, copy=False)
        if y.max() >= self.W.shape[1]:
            raise ValueError(f"y holds label {y.max()} but W has only {self.W.shape[1]} classes")

    def _train_with_options(self, X, y, rng, opts):
        """train() with its options and the fast kernel: the careful version of its loop.

        X: array of shape (N, D), float, checked; y: int array of shape (N,), checked.
        rng: the np.random.Generator that made W; it draws the batches.
        opts: _TrainOptions, train()'s arguments after checking.
        Returns the loss history, a list of opts.num_iters floats.

        Each step does what a step of the plain loop does, and then:
        - momentum, learning-rate decay and max-norm projection when asked for;
        - with sampling="epoch", LinearSVM and Softmax take their loss from the compiled
          kernel of linclass.reference.fast (see `_kernel_losses`): it reads the batch's rows
          straight from X, so no batch is copied out, and the step is taken in place on
          reused buffers, so a step allocates nothing of W's size.
        """
        kind = self._fast_kind() if opts.sampling == "epoch" else None
        if kind is not None:
            # The kernel works on Wt = W.T (C, D): both products of a step then read the
            # batch row by row, which suits a row-major X.
            target = np.ascontiguousarray(self.W.T)
            rows = _batches(X, y, opts.batch_size, "epoch", rng)
            losses = _kernel_losses(kind, X, y, target, opts.reg, opts.batch_size, rows)
        else:
            target = self.W
            losses = self._checked_losses(X, y, opts, rng)
        steps = range(opts.num_iters)
        if opts.progress:
            from tqdm.auto import tqdm
            steps = tqdm(steps, desc=f"training {type(self).__name__}", unit="step")
        with single_threaded_blas():  # one BLAS thread, as in train()
            history = _sgd_steps(target, losses, steps, opts, owns_grad=kind is not None,
                                 norm_axis=1 if kind is not None else 0)
        if kind is not None:
            self.W = np.ascontiguousarray(target.T)
        return history

    def _checked_losses(self, X, y, opts, rng):
        """Endless generator of (loss, dW) from self.loss on the batches of opts.sampling.

        dW is whatever the loss returned: a custom loss_fn may keep that array, so the
        caller must not change it.
        """
        for batch in _batches(X, y, opts.batch_size, opts.sampling, rng):
            if opts.sampling == "epoch":  # rows: a loss takes arrays
                batch = X[batch], y[batch]
            yield self.loss(*batch, opts.reg)

    # -- using the model ---------------------------------------------------------------
    def _trained_W(self):
        if self.W is None:
            raise ValueError(f"this {type(self).__name__} has no weights yet: call train() or load() first")
        return self.W

    def scores(self, X):
        """Class scores. X: array of shape (N, D). Returns array of shape (N, C)."""
        W = self._trained_W()
        X = _check_X(X, W.shape[0])
        return X @ W

    def predict(self, X):
        """Predicted labels. X: array of shape (N, D). Returns int64 array of shape (N,)."""
        return np.argmax(self.scores(X), axis=1).astype(np.int64)

    def accuracy(self, X, y):
        """Fraction of correct predictions. X: (N, D), y: int array (N,). Returns a float."""
        X = _check_X(X)
        y = _check_y(y, X.shape[0])
        return float(np.mean(self.predict(X) == y))

    # -- saving ----------------------------------------------------------------------
    def save(self, path):
        """Save W and the class name to an .npz file.

        Inputs:
        - path: str or Path; numpy adds ".npz" when the name has no extension.

        A custom loss_fn is not saved: a loaded plain LinearClassifier predicts, but
        needs loss_fn set before it can train again.
        """
        W = self._trained_W()
        np.savez(path, W=W, class_name=np.array(type(self).__name__),
                 format_version=np.array(_FORMAT_VERSION))

    @classmethod
    def load(cls, path):
        """Load a classifier saved with save(), as the class it was saved from.

        Inputs:
        - path: str or Path of an .npz file written by save().

        Returns a LinearClassifier, LinearSVM or Softmax with W restored (dtype kept).
        Raises FileNotFoundError for a missing file and ValueError for a file that is not
        a saved classifier (corrupt, or written by something else).
        """
        path = Path(path)
        if not path.exists() and path.suffix != ".npz" and path.with_name(path.name + ".npz").exists():
            path = path.with_name(path.name + ".npz")
        if not path.exists():
            raise FileNotFoundError(f"no saved classifier at {path}; check the path (save() adds .npz)")
        try:
            with np.load(path, allow_pickle=False) as data:
                W = data["W"]
                class_name = str(data["class_name"])
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
            raise ValueError(f"{path} is not a classifier saved by LinearClassifier.save ({exc})") from exc
        known = {k.__name__: k for k in (LinearClassifier, *_all_subclasses(LinearClassifier))}
        if class_name not in known:
            raise ValueError(f"{path} holds a {class_name!r}, not one of {sorted(known)}")
        if W.ndim != 2 or not np.issubdtype(W.dtype, np.floating):
            raise ValueError(f"{path} holds W of shape {W.shape} and dtype {W.dtype}, "
                             "expected a 2-D float array")
        model = known[class_name]()
        model.W = W
        return model


# -- the careful trainer's pieces ------------------------------------------------------
def _batches(X, y, batch_size, sampling, rng):
    """Endless generator of batches for the chosen sampling.

    "replacement" yields (X_batch (B, D), y_batch (B,)), fresh arrays each step.
    "epoch" yields rows, an int64 array of shape (B,): the batch is X[rows], y[rows].
    The fast loss reads those rows straight from X, so no batch is ever copied out.
    """
    N = X.shape[0]
    if sampling == "replacement":
        while True:
            idx = rng.choice(N, batch_size, replace=True)
            yield X[idx], y[idx]
    while True:
        order = rng.permutation(N)  # one shuffle per epoch
        for s in range(0, N - batch_size + 1, batch_size):
            yield order[s:s + batch_size]


def _kernel_losses(kind, X, y, Wt, reg, batch_size, rows_of_batches):
    """Endless generator of (loss, dWt) from the compiled kernel of linclass.reference.fast.

    kind: "svm" or "softmax". X: array of shape (N, D), float; y: int array of shape (N,).
    Wt: array of shape (C, D), W.T, which the caller updates in place between steps.
    reg: float >= 0. batch_size: int, rows per batch.
    rows_of_batches: iterator of int64 arrays of shape (B,), the rows of each batch.
    Yields loss, a float (mean data loss + reg * sum(Wt**2)), and dWt, its gradient: an
    array of shape (C, D) in Wt's dtype, one buffer reused at every step (valid until the
    next one; the caller may scale it in place).

    No input checks: train() checked X and y once. Nothing of W's size is allocated per
    step (each fresh 250 kB array costs page faults).
    """
    from linclass.reference.fast import _batch_loss, default_workers

    dtype = Wt.dtype.type
    workers = min(default_workers(), batch_size)
    y64 = y.astype(np.int64, copy=False)
    scratch = np.empty((workers,) + Wt.shape, dtype=Wt.dtype)  # the kernel sums into these
    tmp = np.empty_like(Wt)
    for rows in rows_of_batches:
        data_loss, grad = _batch_loss(kind, Wt, X, y64, rows, 1.0, workers, scratch)
        B = rows.shape[0]
        loss = data_loss / B + reg * float(np.vdot(Wt, Wt))
        grad *= dtype(1.0 / B)
        np.multiply(Wt, dtype(2.0 * reg), out=tmp)
        grad += tmp
        yield loss, grad


def _sgd_steps(W, losses, steps, opts, owns_grad, norm_axis):
    """The SGD steps of _train_with_options: update W in place, one batch per step.

    W: float array, the parameters: (D, C), or W.T of shape (C, D) for the kernel.
    losses: iterator of (loss, dW), the loss and its gradient (W's shape) at the current W.
    steps: iterable of the step numbers 0, 1, ... (a range, or a progress bar around one).
    opts: _TrainOptions. owns_grad: bool, dW is a buffer that may be scaled in place.
    norm_axis: int, the axis of W that max-norm sums over (0 for (D, C), 1 for (C, D)).
    Returns the loss history, a list of floats.
    """
    if opts.max_norm is not None:
        from linclass.reference.regularizers import max_norm_project
    dtype = W.dtype.type
    lr = opts.learning_rate
    velocity = None
    history = []
    for it in steps:
        loss, grad = next(losses)
        if owns_grad:  # the kernel's buffer: scale it in place
            grad *= dtype(lr)
            scaled = grad
        else:  # a custom loss_fn may keep the array it returned
            scaled = dtype(lr) * grad
        if opts.momentum:
            velocity = np.zeros_like(W) if velocity is None else velocity
            velocity *= dtype(opts.momentum)
            velocity -= scaled
            W += velocity
        else:
            W -= scaled
        if opts.max_norm is not None:
            W[...] = max_norm_project(W, opts.max_norm, axis=norm_axis)
        history.append(float(loss))
        if opts.verbose and it % 100 == 0:
            print(f"iteration {it} / {opts.num_iters}: loss {float(loss):f}")
        if (it + 1) % opts.decay_every == 0:
            lr *= opts.lr_decay
    return history


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


class LinearSVM(LinearClassifier):
    """A linear classifier trained with the multiclass SVM (hinge) loss, delta = 1."""

    def __init__(self):
        super().__init__(loss_fn=None)

    def loss(self, X_batch, y_batch, reg):
        """SVM loss and gradient; see linclass.reference.losses.svm_loss_vectorized."""
        from linclass.reference.losses import svm_loss_vectorized
        return svm_loss_vectorized(self.W, X_batch, y_batch, reg)

    def _fast_kind(self):
        return "svm"


class Softmax(LinearClassifier):
    """A linear classifier trained with the softmax (cross-entropy) loss."""

    def __init__(self):
        super().__init__(loss_fn=None)

    def loss(self, X_batch, y_batch, reg):
        """Softmax loss and gradient; see linclass.reference.losses.softmax_loss_vectorized."""
        from linclass.reference.losses import softmax_loss_vectorized
        return softmax_loss_vectorized(self.W, X_batch, y_batch, reg)

    def _fast_kind(self):
        return "softmax"
