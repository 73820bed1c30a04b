"""Choosing the learning rate and the regularization strength on the validation set.

    from linclass.classifiers import LinearSVM
    from linclass.tuning import hyperparameter_search, format_results
    results, best_model, best_val = hyperparameter_search(
        LinearSVM, X_train, y_train, X_val, y_val,
        learning_rates=[1e-7, 5e-5], regs=[2.5e4, 5e4])
    print(format_results(results))

Every (learning rate, reg) pair trains a new model on the training set; the pair with the
best validation accuracy wins. The test set is never looked at here: it is used once, at
the very end, on the chosen model.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from linclass.classifiers import LinearClassifier, _check_X, _check_y, _positive_int

__all__ = ["hyperparameter_search", "format_results"]


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
