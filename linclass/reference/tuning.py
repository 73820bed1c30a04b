"""Choosing the learning rate and the regularization strength on the validation set.

    from linclass.reference.classifiers import LinearSVM
    from linclass.reference.tuning import hyperparameter_search, format_results
    results, best_model, best_val = hyperparameter_search(
        LinearSVM, X_train, y_train, X_val, y_val,
        learning_rates=[1e-7, 5e-5], regs=[2.5e4, 5e4])
    print(format_results(results))

    results, best_model, best_val = random_search(
        LinearSVM, X_train, y_train, X_val, y_val,
        learning_rate_range=(1e-7, 5e-7), reg_range=(1e2, 5e3), num_trials=5, num_iters=300,
        final_iters=1200)

Every (learning rate, reg) pair trains a new model on the training set; the pair with the
best validation accuracy wins. ``hyperparameter_search`` tries a grid, ``random_search``
draws each pair at random on a log scale (the assignments' search). The test set is never
looked at here: it is used once, at the very end, on the chosen model.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from linclass.reference.classifiers import LinearClassifier, _check_X, _check_y, _positive_int

__all__ = ["hyperparameter_search", "random_search", "format_results", "fast_fit"]


def _values(values, name):
    try:
        values = [float(v) for v in values]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a list of numbers, got {values!r}") from None
    if not values:
        raise ValueError(f"{name} is empty; give at least one value")
    bad = [v for v in values if not math.isfinite(v) or v < 0]
    if bad:
        raise ValueError(f"{name} must hold finite numbers >= 0, got {bad}")
    return values


def hyperparameter_search(model_cls, X_train, y_train, X_val, y_val, learning_rates, regs,
                          num_iters=1500, batch_size=200, seed=0, progress=False, **train_kwargs):
    """Grid search over (learning rate, reg), choosing by validation accuracy.

    Inputs:
    - model_cls: a LinearClassifier subclass such as LinearSVM or Softmax (called with no
      arguments), or any function returning a fresh LinearClassifier.
    - X_train: array of shape (N, D); y_train: int array of shape (N,).
    - X_val: array of shape (M, D); y_val: int array of shape (M,).
    - learning_rates: list of floats > 0.
    - regs: list of floats >= 0.
    - num_iters, batch_size: passed to train() for every pair.
    - seed: int; every pair trains from the same initial W and the same batches, so the
      comparison only reflects the hyperparameters.
    - progress: bool, show a tqdm bar over the pairs.
    - train_kwargs: other arguments for train() (for example lr_decay or sampling).

    Returns a tuple of:
    - results: dict mapping (lr, reg) to (train_accuracy, val_accuracy), floats.
    - best_model: the trained model with the highest validation accuracy (the first
      such pair in grid order on a tie).
    - best_val: float, its validation accuracy.
    """
    if not callable(model_cls):
        raise ValueError(f"model_cls must be a classifier class such as LinearSVM, got {model_cls!r}")
    learning_rates = _values(learning_rates, "learning_rates")
    if any(lr == 0 for lr in learning_rates):
        raise ValueError("learning_rates must be > 0; a learning rate of 0 never moves W")
    regs = _values(regs, "regs")
    X_train = _check_X(X_train, name="X_train")
    y_train = _check_y(y_train, X_train.shape[0], name="y_train")
    X_val = _check_X(X_val, X_train.shape[1], name="X_val")
    y_val = _check_y(y_val, X_val.shape[0], name="y_val")
    num_iters = _positive_int(num_iters, "num_iters")
    batch_size = _positive_int(batch_size, "batch_size")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (numbers.Integral, np.integer))):
        raise ValueError(f"seed must be an int or None, got {seed!r}")

    pairs = [(lr, reg) for lr in learning_rates for reg in regs]
    if progress:
        from tqdm.auto import tqdm
        pairs = tqdm(pairs, desc="hyperparameter search", unit="pair")
    results = {}
    best_model, best_val = None, -1.0
    for lr, reg in pairs:
        model = model_cls()
        if not isinstance(model, LinearClassifier):
            raise ValueError(f"model_cls() must return a LinearClassifier, got {type(model).__name__}")
        model.train(X_train, y_train, learning_rate=lr, reg=reg, num_iters=num_iters,
                    batch_size=batch_size, seed=seed, **train_kwargs)
        train_acc = model.accuracy(X_train, y_train)
        val_acc = model.accuracy(X_val, y_val)
        results[(lr, reg)] = (train_acc, val_acc)
        if val_acc > best_val:
            best_model, best_val = model, val_acc
    return results, best_model, best_val


def _log_range(values, name):
    try:
        low, high = (float(v) for v in values)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high) of numbers > 0, got {values!r}") from None
    if not (math.isfinite(low) and math.isfinite(high)) or not 0 < low <= high:
        raise ValueError(f"{name} must be a pair (low, high) with 0 < low <= high, got {values!r}")
    return math.log10(low), math.log10(high)


def random_search(model_cls, X_train, y_train, X_val, y_val, learning_rate_range, reg_range,
                  num_trials=6, num_iters=300, final_iters=None, batch_size=200, seed=0, **train_kwargs):
    """Random search on a log scale over (learning rate, reg), choosing by validation accuracy.

    Inputs:
    - model_cls: a LinearClassifier subclass such as LinearSVM or Softmax.
    - X_train: array of shape (N, D); y_train: int array of shape (N,).
    - X_val: array of shape (M, D); y_val: int array of shape (M,).
    - learning_rate_range, reg_range: pairs (low, high) of floats, 0 < low <= high. Each trial
      draws 10 ** uniform(log10(low), log10(high)) for each, so every factor of 10 in the range
      is tried equally often.
    - num_trials: int >= 1, the pairs to try; num_iters: int >= 1, SGD steps per pair.
    - final_iters: int or None. When given, the best pair is trained again for final_iters
      steps, and that model is returned if its validation accuracy is higher.
    - batch_size: passed to train(); seed: int, seeds the draws and (as in
      hyperparameter_search) every training run; train_kwargs: other arguments for train().

    Returns (results, best_model, best_val), as hyperparameter_search: results maps each drawn
    (lr, reg) to (train_accuracy, val_accuracy) after num_iters steps.
    """
    lr_low, lr_high = _log_range(learning_rate_range, "learning_rate_range")
    reg_low, reg_high = _log_range(reg_range, "reg_range")
    num_trials = _positive_int(num_trials, "num_trials")
    draws = np.random.default_rng(seed)
    pairs = [(10 ** draws.uniform(lr_low, lr_high), 10 ** draws.uniform(reg_low, reg_high))
             for _ in range(num_trials)]
    results, best_model, best_val = {}, None, -1.0
    for lr, reg in pairs:
        found, model, val = hyperparameter_search(model_cls, X_train, y_train, X_val, y_val, [lr], [reg],
                                                  num_iters=num_iters, batch_size=batch_size, seed=seed,
                                                  **train_kwargs)
        results.update(found)
        if val > best_val:
            best_model, best_val, best_pair = model, val, (lr, reg)
    if final_iters is not None:
        _, model, val = hyperparameter_search(model_cls, X_train, y_train, X_val, y_val, [best_pair[0]],
                                              [best_pair[1]], num_iters=_positive_int(final_iters, "final_iters"),
                                              batch_size=batch_size, seed=seed, **train_kwargs)
        if val > best_val:
            best_model, best_val = model, val
    return results, best_model, best_val


def format_results(results, best=None):
    """A plain-text table of a search, sorted by learning rate then reg.

    Inputs:
    - results: dict mapping (lr, reg) to (train_accuracy, val_accuracy).
    - best: optional (lr, reg) key to mark with "*"; default: the best validation accuracy.

    Returns a str, one line per pair, e.g. "lr 1.00e-07  reg 2.50e+04  train 0.3712  val 0.3790".
    """
    if not isinstance(results, dict) or not results:
        raise ValueError("results must be a non-empty dict {(lr, reg): (train_acc, val_acc)}")
    if best is None:
        best = max(results, key=lambda k: results[k][1])
    lines = []
    for (lr, reg) in sorted(results):
        train_acc, val_acc = results[(lr, reg)]
        mark = " *" if (lr, reg) == best else ""
        lines.append(f"lr {lr:.2e}  reg {reg:.2e}  train {train_acc:.4f}  val {val_acc:.4f}{mark}")
    return "\n".join(lines)


def _standardizer(X, rng, sample_rows=2000):
    """1 / (standard deviation of each feature), estimated on a random subset of rows.

    A constant feature (the bias column of ones) keeps the scale 1.
    """
    rows = rng.choice(X.shape[0], min(sample_rows, X.shape[0]), replace=False)
    sd = X[np.sort(rows)].std(axis=0, dtype=np.float64)
    sd[sd <= 1e-12 * max(1.0, float(sd.max()))] = 1.0
    return 1.0 / sd


def fast_fit(model_cls, X_train, y_train, X_val, y_val, epochs=4, batch_size=500,
             learning_rate=1e-3, reg=1e-4, momentum=0.9, seed=0, workers=None, progress=False):
    """Train a LinearSVM or Softmax quickly to a good validation accuracy.

    The loss is the lecture's (multiclass hinge or cross-entropy plus reg * sum(W * W));
    what changes is how it is minimized:
    - each feature is divided by its standard deviation (estimated on 2000 random rows),
      so one learning rate suits all pixels; the scaling is applied to the small W, not to X,
      so there is no pass over X before training;
    - minibatch SGD with Nesterov momentum and a cosine learning-rate schedule, with one
      shuffle per epoch;
    - each step's batch is split between `workers` threads, which run the compiled kernel
      of linclass.reference.fast on their rows straight from X (no batch is copied out);
    - the steps run in float32 (the kernel casts each block of rows while it reads it);
    - after each epoch the validation accuracy is measured, and the best W is kept
      (early stopping on the validation set).
    The returned model takes the same features as X_train: model.predict(X_test) needs no
    extra step.

    Inputs:
    - model_cls: LinearSVM or Softmax (a built-in loss that linclass.reference.fast compiles).
    - X_train: array of shape (N, D); y_train: int array of shape (N,).
    - X_val: array of shape (M, D); y_val: int array of shape (M,).
    - epochs: int >= 1, passes over the training set.
    - batch_size: int >= 1, examples per step.
    - learning_rate: float > 0, the peak step size (for the standardized features).
    - reg: float >= 0, the L2 strength in the standardized features' units.
    - momentum: float in [0, 1).
    - seed: int, seeds the row subset, the shuffle and the batch order.
    - workers: int or None, threads per step (None: one per usable core).
    - progress: bool, show a tqdm bar over the epochs.

    Returns (model, info): model has W of shape (D, C) in X_train's float dtype; info is a
    dict with "val_history" (validation accuracy after each epoch), "best_epoch",
    "best_val", "seconds_prepare" and "seconds_total".
    """
    import time

    from linclass.reference.fast import _batch_loss, default_workers, single_threaded_blas

    t_start = time.perf_counter()
    model = model_cls()
    if not isinstance(model, LinearClassifier) or model._fast_kind() is None:
        raise ValueError(f"model_cls must be LinearSVM or Softmax (a built-in loss), got {model_cls!r}")
    X_train = _check_X(X_train, name="X_train")
    N, D = X_train.shape
    y_train = _check_y(y_train, N, name="y_train")
    X_val = _check_X(X_val, D, name="X_val")
    y_val = _check_y(y_val, X_val.shape[0], name="y_val")
    epochs = _positive_int(epochs, "epochs")
    batch_size = _positive_int(batch_size, "batch_size")
    if batch_size > N:
        raise ValueError(f"batch_size ({batch_size}) must be <= the number of training rows ({N})")
    for value, name in ((learning_rate, "learning_rate"), (reg, "reg"), (momentum, "momentum")):
        if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)) \
                or not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    if learning_rate == 0:
        raise ValueError("learning_rate must be > 0")
    if momentum >= 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    workers = default_workers() if workers is None else _positive_int(workers, "workers")
    workers = min(workers, batch_size)
    kind = model._fast_kind()
    num_classes = int(max(y_train.max(), y_val.max())) + 1

    rng = np.random.default_rng(seed)
    # Steps run in float32 whatever X's dtype: the kernel casts each block of rows as it reads it.
    dtype = np.dtype(np.float32)
    inv_sd = _standardizer(X_train, rng).astype(dtype)[:, None]          # (D, 1)
    t_prepared = time.perf_counter()

    # Training on standardized features x * inv_sd with weights V is training on x with
    # W = inv_sd * V: scores x @ W are the same, and dL/dV = inv_sd * dL/dW. So X is never
    # rescaled or copied; only the small W is.
    V = np.zeros((D, num_classes), dtype=dtype)
    velocity = np.zeros_like(V)
    steps_per_epoch = N // batch_size
    total_steps = epochs * steps_per_epoch
    cast = dtype.type
    val_history = []
    best_val, best_V, best_epoch = -1.0, V.copy(), 0
    epoch_iter = range(epochs)
    if progress:
        from tqdm.auto import tqdm
        epoch_iter = tqdm(epoch_iter, desc=f"fast_fit {model_cls.__name__}", unit="epoch")

    y64 = y_train.astype(np.int64, copy=False)
    scratch = np.empty((workers, num_classes, D), dtype=dtype)  # per-worker gradients, reused
    k = 0
    with single_threaded_blas():
        for epoch in epoch_iter:
            order = rng.permutation(N)              # one shuffle per epoch
            for s in range(0, steps_per_epoch * batch_size, batch_size):
                idx = order[s:s + batch_size]
                lr = cast(learning_rate * 0.5 * (1.0 + math.cos(math.pi * k / total_steps)))
                k += 1
                look_ahead = V + cast(momentum) * velocity        # Nesterov: gradient ahead
                W_eff_t = np.ascontiguousarray((look_ahead * inv_sd).T)
                _, grad_t = _batch_loss(kind, W_eff_t, X_train, y64, idx, 1.0, workers, scratch)
                grad = grad_t.T * inv_sd
                grad *= cast(1.0 / batch_size)
                grad += cast(2.0 * reg) * look_ahead
                velocity *= cast(momentum)
                velocity -= lr * grad
                V += velocity
            W_val = (V * inv_sd).astype(X_val.dtype)
            val = float(np.mean(np.argmax(X_val @ W_val, axis=1) == y_val))
            val_history.append(val)
            if val > best_val:
                best_val, best_V, best_epoch = val, V.copy(), epoch + 1

    model.W = (best_V * inv_sd).astype(X_train.dtype)
    t_end = time.perf_counter()
    return model, {"val_history": val_history, "best_epoch": best_epoch, "best_val": best_val,
                   "seconds_prepare": t_prepared - t_start, "seconds_total": t_end - t_start}
