"""Figures for the lecture and the assignments. Every function returns a matplotlib Figure.

    fig = show_weights(svm.W, CLASSES)      # the learned class templates
    fig.savefig("templates.png")            # or let Jupyter display it

Nothing here calls plt.show(): the notebook (or the caller) decides when to display.
The figures are made with ``matplotlib.figure.Figure`` directly, not pyplot, so no window
or global state is touched; Jupyter shows a returned Figure inline.
"""
from __future__ import annotations

import html
import math

import numpy as np
from matplotlib.figure import Figure

__all__ = ["show_weights", "plot_loss_history", "plot_search_results", "score_table",
           "show_samples", "show_mean_image"]

IMAGE_SHAPE = (32, 32, 3)
PIXELS = 32 * 32 * 3


def _names(classes, C, name="classes"):
    classes = [str(c) for c in classes]
    if len(classes) != C:
        raise ValueError(f"{name} has {len(classes)} names but there are {C} classes")
    return classes


def _grid(n, max_cols=5):
    cols = min(n, max_cols)
    return math.ceil(n / cols), cols


def show_weights(W, classes):
    """The learned weights of each class, shown as a 32x32 colour image (a template).

    Inputs:
    - W: array of shape (3073, C) (bias row last, it is dropped) or (3072, C).
    - classes: sequence of C class names.

    Returns a Figure with one axes per class. Each template is min-max scaled on its own to
    [0, 1] (its smallest weight black, its largest white), so every class uses the full
    colour range.
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] not in (PIXELS, PIXELS + 1):
        raise ValueError(f"W must have shape (3073, C) or (3072, C) for 32x32x3 images, got {W.shape}")
    C = W.shape[1]
    classes = _names(classes, C)
    templates = W[:PIXELS].T.reshape(C, *IMAGE_SHAPE)
    rows, cols = _grid(C)
    fig = Figure(figsize=(2 * cols, 2.2 * rows))
    for i in range(C):
        ax = fig.add_subplot(rows, cols, i + 1)
        t = templates[i]
        span = t.max() - t.min()
        ax.imshow((t - t.min()) / span if span > 0 else np.zeros_like(t))
        ax.set_title(classes[i])
        ax.axis("off")
    fig.tight_layout()
    return fig


def plot_loss_history(history, title="Training loss"):
    """The minibatch loss against the iteration number.

    Inputs:
    - history: sequence of floats, the loss at each step (as returned by train()).

    Returns a Figure with one axes.
    """
    history = np.asarray(history, dtype=np.float64)
    if history.ndim != 1 or history.size == 0:
        raise ValueError(f"history must be a non-empty list of losses, got shape {history.shape}")
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(np.arange(history.size), history, linewidth=0.8)
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_search_results(results):
    """Training and validation accuracy of a hyperparameter search, over log lr and log reg.

    Inputs:
    - results: dict mapping (learning_rate, reg) to (train_accuracy, val_accuracy), the
      results of a search such as the notebooks' random search. The learning rates and regs
      must be > 0 (log axes).

    Returns a Figure with two scatter plots (training, validation) sharing a colour scale.
    """
    if not isinstance(results, dict) or not results:
        raise ValueError("results must be a non-empty dict {(lr, reg): (train_acc, val_acc)}")
    keys = list(results)
    lrs = np.array([k[0] for k in keys], dtype=np.float64)
    regs = np.array([k[1] for k in keys], dtype=np.float64)
    if np.any(lrs <= 0) or np.any(regs <= 0):
        raise ValueError("plot_search_results uses log axes: learning rates and regs must be > 0")
    accs = np.array([results[k] for k in keys], dtype=np.float64)
    fig = Figure(figsize=(10, 4))
    low, high = accs.min(), accs.max()
    for i, name in enumerate(("training accuracy", "validation accuracy")):
        ax = fig.add_subplot(1, 2, i + 1)
        points = ax.scatter(np.log10(lrs), np.log10(regs), c=accs[:, i], s=200, cmap="viridis",
                            vmin=low, vmax=high)
        ax.set_xlabel("log10 learning rate")
        ax.set_ylabel("log10 regularization strength")
        ax.set_title(name)
        fig.colorbar(points, ax=ax)
    fig.tight_layout()
    return fig


def score_table(scores, classes, image_names=None, html_table=False, figure=False):
    """A readable table of class scores: one row per class, one column per image.

    Inputs:
    - scores: array of shape (N, C), the scores of N images for C classes.
    - classes: sequence of C class names.
    - image_names: optional sequence of N column titles (default "image 0", ...).
    - html_table: bool, return an HTML <table> instead of plain text.
    - figure: bool, also return a Figure that draws the table.

    Returns the table as a str, or (str, Figure) when figure is True. The highest score of
    each image is marked with "*" (text) or bold (HTML): the predicted class.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2:
        raise ValueError(f"scores must have shape (N, C), got {scores.shape}")
    N, C = scores.shape
    classes = _names(classes, C)
    if image_names is None:
        image_names = [f"image {i}" for i in range(N)]
    image_names = [str(n) for n in image_names]
    if len(image_names) != N:
        raise ValueError(f"image_names has {len(image_names)} names but scores has {N} images (rows)")
    best = scores.argmax(axis=1) if C else np.zeros(N, dtype=int)
    cells = [[f"{scores[i, c]:.2f}" + ("*" if best[i] == c else "") for i in range(N)] for c in range(C)]
    if html_table:
        head = "".join(f"<th>{html.escape(n)}</th>" for n in image_names)
        rows = []
        for c in range(C):
            tds = "".join(
                f"<td><b>{scores[i, c]:.2f}</b></td>" if best[i] == c else f"<td>{scores[i, c]:.2f}</td>"
                for i in range(N))
            rows.append(f"<tr><th>{html.escape(classes[c])}</th>{tds}</tr>")
        text = f"<table><tr><th>class</th>{head}</tr>{''.join(rows)}</table>"
    else:
        first = max([len("class")] + [len(n) for n in classes])
        widths = [max([len(image_names[i])] + [len(cells[c][i]) for c in range(C)]) for i in range(N)]
        lines = ["class".ljust(first) + "".join("  " + image_names[i].rjust(widths[i]) for i in range(N))]
        for c in range(C):
            lines.append(classes[c].ljust(first) + "".join("  " + cells[c][i].rjust(widths[i]) for i in range(N)))
        text = "\n".join(lines)
    if not figure:
        return text
    fig = Figure(figsize=(1.5 + 1.3 * N, 0.5 + 0.35 * C))
    ax = fig.add_subplot(1, 1, 1)
    ax.axis("off")
    ax.table(cellText=cells, rowLabels=classes, colLabels=image_names, loc="center")
    return text, fig


def _as_images(X, name):
    X = np.asarray(X)
    if X.ndim == 4 and X.shape[1:] == IMAGE_SHAPE:
        return X
    if X.ndim == 2 and X.shape[1] in (PIXELS, PIXELS + 1):
        return X[:, :PIXELS].reshape(len(X), *IMAGE_SHAPE)
    raise ValueError(f"{name} must have shape (N, 32, 32, 3) or (N, 3072[+1]), got {X.shape}")


def _to_unit(img):
    """Scale an image to [0, 1] for imshow: raw pixels by 255, anything else min-max."""
    img = np.asarray(img, dtype=np.float64)
    if img.min() >= 0 and img.max() <= 255 and img.max() > 1:
        return img / 255.0
    span = img.max() - img.min()
    return (img - img.min()) / span if span > 0 else np.zeros_like(img)


def show_samples(X, y, classes, per_class=7, seed=0):
    """A grid of random training images: one column per class, per_class rows.

    Inputs:
    - X: array of shape (N, 32, 32, 3) (raw pixels 0..255) or (N, 3072) / (N, 3073).
    - y: int array of shape (N,), labels in [0, len(classes)).
    - classes: sequence of C class names.
    - per_class: int >= 1, images per class (fewer when a class has fewer images).
    - seed: int, which images are picked.

    Returns a Figure with C * per_class axes.
    """
    images = _as_images(X, "X")
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != len(images) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be an int array of shape ({len(images)},), got {y.dtype} {y.shape}")
    if isinstance(per_class, bool) or not isinstance(per_class, (int, np.integer)) or per_class < 1:
        raise ValueError(f"per_class must be an int >= 1, got {per_class!r}")
    classes = [str(c) for c in classes]
    C = len(classes)
    if len(y) and (y.min() < 0 or y.max() >= C):
        raise ValueError(f"y holds labels outside [0, {C}) for the {C} names in classes")
    rng = np.random.default_rng(seed)
    fig = Figure(figsize=(1.2 * C, 1.2 * per_class + 0.4))
    for c in range(C):
        idx = np.flatnonzero(y == c)
        chosen = rng.choice(idx, min(per_class, idx.size), replace=False) if idx.size else []
        for row in range(per_class):
            ax = fig.add_subplot(per_class, C, row * C + c + 1)
            ax.axis("off")
            if row < len(chosen):
                ax.imshow(_to_unit(images[chosen[row]]))
            if row == 0:
                ax.set_title(classes[c], fontsize=8)
    return fig


def show_mean_image(mean_image):
    """The mean training image.

    Inputs:
    - mean_image: array of shape (3072,) or (32, 32, 3), pixel values 0..255.

    Returns a Figure with one axes.
    """
    img = np.asarray(mean_image, dtype=np.float64)
    if img.shape not in ((PIXELS,), IMAGE_SHAPE):
        raise ValueError(f"mean_image must have shape (3072,) or (32, 32, 3), got {img.shape}")
    fig = Figure(figsize=(3, 3))
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(_to_unit(img.reshape(IMAGE_SHAPE)))
    ax.set_title("mean image")
    ax.axis("off")
    return fig
