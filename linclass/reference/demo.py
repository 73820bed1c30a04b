"""The interactive linear-classifier demo: 2-D points, 3 classes, a live loss and its gradient.

This is a notebook port of the CS231n web demo "linear-classify". The math is kept in pure
functions at the top of this module so it can be tested and reused; the widget class
`LinearClassifierDemo` at the bottom only wires ipywidgets and a matplotlib picture to them.

Conventions (the same as the rest of linclass):
    X: array of shape (N, 2), the points.
    y: array of shape (N,), ints in [0, C), the classes.
    W: array of shape (2, C), one column of weights per class. The lecture writes the same
       numbers as a C x 2 matrix (one row per class); the widget shows them that way.
    b: array of shape (C,), one bias per class.
    scores = X @ W + b, of shape (N, C).

Two flaws of the original web demo are fixed here:
    * its regularization gradient did not match its loss. Here the loss is
      reg * sum(W**2) and its gradient is exactly 2 * reg * W (the bias is not regularized).
    * its softmax took exp() of raw scores, which overflows for scores above ~700. Here the
      largest score of each row is subtracted first, which leaves the probabilities unchanged.
"""
from __future__ import annotations

import asyncio
import contextlib
import io
import time
from typing import NamedTuple

import numpy as np

from .losses import _check_nonnegative

# Loss names used by the functions, and the labels the widget shows for them.
LOSS_KINDS = ("ww", "ova", "structured", "softmax")
LOSS_LABELS = {
    "ww": "Multiclass SVM (Weston-Watkins)",
    "ova": "One-vs-all SVM",
    "structured": "Structured SVM (Crammer-Singer)",
    "softmax": "Softmax (cross-entropy)",
}
# Red, green, blue as in the original demo; light versions colour the plane.
CLASS_COLORS = np.array([[0.85, 0.15, 0.15], [0.15, 0.65, 0.15], [0.15, 0.3, 0.9]])
PLANE_COLORS = 0.55 * CLASS_COLORS + 0.45
# The same as 8-bit RGBA: matplotlib draws such an image without converting it, twice as fast.
PLANE_RGBA = np.concatenate([np.round(255 * PLANE_COLORS), np.full((3, 1), 255)], axis=1).astype(np.uint8)


class DemoLoss(NamedTuple):
    """Everything `demo_loss` computes.

    data_loss: float, mean loss over the points.
    reg_loss: float, reg * sum(W**2).
    dW: array of shape (D, C), gradient of data_loss + reg_loss with respect to W.
    db: array of shape (C,), gradient of data_loss with respect to b.
    per_point: array of shape (N,), the loss of each point.
    scores: array of shape (N, C), X @ W + b.
    """

    data_loss: float
    reg_loss: float
    dW: np.ndarray
    db: np.ndarray
    per_point: np.ndarray
    scores: np.ndarray

    @property
    def total(self) -> float:
        """data_loss + reg_loss."""
        return self.data_loss + self.reg_loss


class StepResult(NamedTuple):
    """What `step` returns: the new parameters, the loss at the old ones, the points used.

    W: array of shape (D, C). b: array of shape (C,).
    loss: DemoLoss computed on the points used, before the update.
    batch: array of shape (B,), the indices of the points used.
    """

    W: np.ndarray
    b: np.ndarray
    loss: DemoLoss
    batch: np.ndarray


def _check_inputs(W, b, X, y):
    W = np.asarray(W, dtype=float)
    b = np.asarray(b, dtype=float)
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if W.ndim != 2:
        raise ValueError(f"W must have shape (D, C), got shape {W.shape}")
    D, C = W.shape
    if b.shape != (C,):
        raise ValueError(f"b must have shape ({C},) to match W of shape {W.shape}, got {b.shape}")
    if X.ndim != 2 or X.shape[1] != D:
        raise ValueError(f"X must have shape (N, {D}) to match W of shape {W.shape}, got {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},), one label per row of X, got {y.shape}")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must hold integer class labels, got dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= C):
        raise ValueError(f"y must hold labels in [0, {C}), got values from {y.min()} to {y.max()}")
    if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b)) and np.all(np.isfinite(X))):
        raise ValueError("W, b and X must be finite; reset the parameters or the points")
    return W, b, X, y.astype(np.intp)


def _check_kind(kind):
    if kind not in LOSS_KINDS:
        raise ValueError(f"kind must be one of {LOSS_KINDS}, got {kind!r}")


def scores_of(W, b, X):
    """Class scores of every point.

    W: array of shape (D, C); b: array of shape (C,); X: array of shape (N, D).
    Returns an array of shape (N, C): X @ W + b.
    """
    return np.asarray(X, dtype=float) @ np.asarray(W, dtype=float) + np.asarray(b, dtype=float)


def loss_from_scores(scores, y, kind, delta=1.0):
    """Per-point loss and its gradient with respect to the scores.

    scores: array of shape (N, C), float.
    y: array of shape (N,), ints in [0, C).
    kind: one of LOSS_KINDS:
        "ww"          sum over j != y of max(0, s_j - s_y + delta)       (Weston-Watkins)
        "ova"         sum over j of max(0, delta - t_j * s_j), t_j = +1 if j == y else -1
        "structured"  max(0, max over j != y of s_j - s_y + delta)       (Crammer-Singer)
        "softmax"     -log(exp(s_y) / sum_j exp(s_j)), computed stably
    delta: float > 0, the margin of the SVM losses (unused by softmax).
    Returns (per_point, dscores): arrays of shape (N,) and (N, C). dscores is the gradient of
    sum(per_point); divide by N for the mean.
    """
    _check_kind(kind)
    s = np.asarray(scores, dtype=float)
    y = np.asarray(y, dtype=np.intp)
    N = s.shape[0]
    rows = np.arange(N)
    correct = s[rows, y][:, None]
    is_y = np.zeros_like(s, dtype=bool)
    is_y[rows, y] = True

    if kind == "ww":
        margins = np.where(is_y, 0.0, np.maximum(0.0, s - correct + delta))
        active = (margins > 0).astype(float)
        dscores = active
        dscores[rows, y] = -active.sum(axis=1)
        return margins.sum(axis=1), dscores

    if kind == "ova":
        t = np.where(is_y, 1.0, -1.0)
        margins = np.maximum(0.0, delta - t * s)
        dscores = -t * (margins > 0)
        return margins.sum(axis=1), dscores

    if kind == "structured":
        others = np.where(is_y, -np.inf, s)
        worst = others.argmax(axis=1)
        per_point = np.maximum(0.0, others[rows, worst] - correct[:, 0] + delta)
        dscores = np.zeros_like(s)
        active = per_point > 0
        dscores[rows[active], worst[active]] = 1.0
        dscores[rows[active], y[active]] = -1.0
        return per_point, dscores

    # Softmax. Subtracting each row's largest score keeps exp() <= 1, so it cannot overflow,
    # and it does not change the probabilities: the same factor cancels above and below.
    shifted = s - s.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1))
    per_point = log_norm - shifted[rows, y]
    probs = np.exp(shifted - log_norm[:, None])
    probs[rows, y] -= 1.0
    return per_point, probs


def demo_loss(W, b, X, y, kind="ww", reg=0.1, delta=1.0):
    """The demo's loss: mean data loss plus L2 regularization of W, with gradients.

    W: array of shape (D, C), float; b: array of shape (C,), float.
    X: array of shape (N, D), float; y: array of shape (N,), ints in [0, C).
    kind: one of LOSS_KINDS (see `loss_from_scores`).
    reg: float >= 0, the regularization strength.
    delta: float > 0, the SVM margin.
    Returns a DemoLoss named tuple (data_loss, reg_loss, dW, db, per_point, scores);
    its `total` is data_loss + reg_loss.

    reg_loss = reg * sum(W**2), so its gradient is 2 * reg * W. The original web demo added
    reg * W instead, which is the gradient of a different loss; the gradient check in the
    tests would catch that.
    """
    W, b, X, y = _check_inputs(W, b, X, y)
    _check_kind(kind)
    reg = _check_nonnegative(reg, "reg")
    if _check_nonnegative(delta, "delta") == 0:
        raise ValueError("delta must be > 0; the lecture uses delta = 1")
    N = X.shape[0]
    if N == 0:
        raise ValueError("X has no points; add at least one point")
    scores = X @ W + b
    per_point, dscores = loss_from_scores(scores, y, kind, delta)
    dscores /= N
    data_loss = float(per_point.mean())
    reg_loss = float(reg * np.sum(W * W))
    dW = X.T @ dscores + 2.0 * reg * W
    db = dscores.sum(axis=0)
    return DemoLoss(data_loss, reg_loss, dW, db, per_point, scores)


def step(W, b, X, y, kind="ww", reg=0.1, learning_rate=0.1, batch_size=None, rng=None, delta=1.0):
    """One gradient-descent update of W and b, on all points or on a random minibatch.

    W: array of shape (D, C); b: array of shape (C,).
    X: array of shape (N, D); y: array of shape (N,), ints in [0, C).
    kind, reg, delta: as in `demo_loss`.
    learning_rate: float >= 0, the step size.
    batch_size: None for all points, or an int in [1, N]: that many distinct points drawn at
        random with `rng` (a np.random.Generator; a new one is made when rng is None).
    Returns a StepResult (W, b, loss, batch); loss is measured on the batch before the update.
    """
    learning_rate = _check_nonnegative(learning_rate, "learning_rate")
    N = np.asarray(X).shape[0]
    if batch_size is None:
        batch = np.arange(N)
    else:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise ValueError(f"batch_size must be None or an int, got {batch_size!r}")
        if not 1 <= batch_size <= N:
            raise ValueError(f"batch_size must be between 1 and the number of points ({N}), "
                             f"got {batch_size}")
        rng = np.random.default_rng() if rng is None else rng
        batch = np.sort(rng.choice(N, size=int(batch_size), replace=False))
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    loss = demo_loss(W, b, X[batch], y[batch], kind, reg, delta)
    W_new = np.asarray(W, dtype=float) - learning_rate * loss.dW
    b_new = np.asarray(b, dtype=float) - learning_rate * loss.db
    return StepResult(W_new, b_new, loss, batch)


def zero_score_line(w, b_k, extent):
    """Where one class's score is zero, clipped to the square [-extent, extent]^2.

    w: array of shape (2,), the class's weights (a column of W); b_k: float, its bias.
    extent: float > 0, half the side of the square shown.
    Returns an array of shape (2, 2), the two end points (one per row), or None when the
    line misses the square or w is zero (then the score is the same everywhere).
    """
    w = np.asarray(w, dtype=float)
    norm2 = float(w @ w)
    if norm2 < 1e-12:
        return None
    # The line is {p0 + t * d}: p0 is the point closest to the origin, d runs along it.
    p0 = -b_k * w / norm2
    d = np.array([-w[1], w[0]]) / np.sqrt(norm2)
    t_lo, t_hi = -np.inf, np.inf
    for axis in range(2):
        if abs(d[axis]) < 1e-12:
            if abs(p0[axis]) > extent:
                return None
            continue
        ta = (-extent - p0[axis]) / d[axis]
        tb = (extent - p0[axis]) / d[axis]
        t_lo = max(t_lo, min(ta, tb))
        t_hi = min(t_hi, max(ta, tb))
    if t_lo >= t_hi:
        return None
    return np.array([p0 + t_lo * d, p0 + t_hi * d])


def normal_arrow(w, b_k, extent, length=None):
    """The arrow drawn on a class's zero-score line, pointing where the score grows.

    w: array of shape (2,); b_k: float; extent: float > 0.
    length: float, the arrow's length; extent / 4 when None.
    Returns (start, delta), two arrays of shape (2,): the arrow starts at the middle of the
    visible part of the line and its direction is w / |w|. None when there is no line.
    """
    line = zero_score_line(w, b_k, extent)
    if line is None:
        return None
    w = np.asarray(w, dtype=float)
    length = extent / 4 if length is None else float(length)
    return line.mean(axis=0), length * w / np.linalg.norm(w)


def plane_grid(W, b, extent, resolution=120):
    """Scores over a grid of the plane, for colouring it by the winning class.

    W: array of shape (2, C); b: array of shape (C,); extent: float > 0; resolution: int >= 2.
    Returns (winner, margin), arrays of shape (resolution, resolution): the index of the
    highest score at each grid point, and how far it is ahead of the second highest.
    Row 0 is the bottom of the picture (y = -extent), as imshow(origin="lower") expects.
    """
    if int(resolution) < 2:
        raise ValueError(f"resolution must be an int >= 2, got {resolution}")
    ticks = np.linspace(-extent, extent, int(resolution))
    gx, gy = np.meshgrid(ticks, ticks)
    points = np.column_stack([gx.ravel(), gy.ravel()])
    s = scores_of(W, b, points)
    top2 = np.partition(s, -2, axis=1)[:, -2:]
    winner = s.argmax(axis=1).reshape(gx.shape)
    margin = (top2[:, 1] - top2[:, 0]).reshape(gx.shape)
    return winner, margin


def default_points():
    """The demo's starting data: 9 points, 3 per class.

    Returns (X, y): X of shape (9, 2), float64, inside [-1, 1]^2; y of shape (9,), int64.
    """
    X = np.array([[0.5, 0.4], [0.8, 0.3], [0.3, 0.8],
                  [-0.4, 0.3], [-0.3, 0.7], [-0.7, 0.2],
                  [0.7, -0.4], [0.5, -0.6], [-0.4, -0.5]])
    y = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2], dtype=np.int64)
    return X, y


def default_params():
    """The demo's starting W and b: W of shape (2, 3), b of shape (3,), float64."""
    W = np.array([[1.0, 2.0, 3.0], [2.0, -4.0, -1.0]])
    b = np.array([0.0, 0.5, -0.5])
    return W, b


def random_points(rng, per_class=3, num_classes=3, extent=1.0):
    """Random clustered points: each class gathers around its own random centre.

    rng: np.random.Generator. per_class: int >= 1. num_classes: int >= 1.
    extent: float > 0; the points stay inside [-0.9 * extent, 0.9 * extent]^2.
    Returns (X, y): X of shape (per_class * num_classes, 2), float64; y of shape (same,), int64.
    """
    if per_class < 1 or num_classes < 1:
        raise ValueError(f"per_class and num_classes must be >= 1, got {per_class}, {num_classes}")
    centres = rng.uniform(-0.6 * extent, 0.6 * extent, size=(num_classes, 2))
    y = np.repeat(np.arange(num_classes), per_class).astype(np.int64)
    X = centres[y] + rng.normal(0.0, 0.2 * extent, size=(y.size, 2))
    return np.clip(X, -0.9 * extent, 0.9 * extent), y


def random_params(rng, num_classes=3, scale=1.0):
    """Random W of shape (2, num_classes) and b of shape (num_classes,), normal with std `scale`."""
    return rng.normal(0.0, scale, size=(2, num_classes)), rng.normal(0.0, scale / 2, size=num_classes)


def _fmt(value):
    # Adding 0.0 turns -0.0 into 0.0, so a zero gradient never shows as "-0.000".
    return f"{round(float(value), 3) + 0.0:+.3f}" if np.isfinite(value) else str(value)


class LinearClassifierDemo:
    """The interactive demo: ipywidgets controls around a matplotlib picture of the plane.

    Show it by making it the last expression of a notebook cell. Everything it displays is
    computed by `demo_loss`, `step` and `plane_grid` above; `state` returns the current values
    so the wiring can be tested without a browser.

    extent: float > 0, the plane shown is [-extent, extent]^2.
    seed: int or None, seeds the random choices (randomize buttons, minibatches).
    interval: float > 0, seconds between continuous updates.
    """

    def __init__(self, extent=1.0, seed=0, interval=0.05):
        if not extent > 0:
            raise ValueError(f"extent must be > 0, got {extent}")
        if not interval > 0:
            raise ValueError(f"interval must be > 0 seconds, got {interval}")
        self._init_state(extent, seed, interval)
        self._make_controls()
        self._make_param_grid()
        self._make_point_editor()
        self._make_outputs()
        self._make_figures()
        self._connect_controls()
        self._connect_mouse()
        self.widget = self._layout()
        self._refresh_point_menu(0)
        self.refresh(record=True)

    # ----- building the demo ----------------------------------------------------------------
    # Each builder imports ipywidgets (or ipyevents, matplotlib) itself: importing this module
    # for its math needs none of them.
    def _init_state(self, extent, seed, interval):
        """The numbers behind the picture: settings, points, parameters, loss curve, run state."""
        self.extent = float(extent)
        self.interval = float(interval)
        self.rng = np.random.default_rng(seed)
        self.X, self.y = default_points()
        self.W, self.b = default_params()
        self.history = []
        self.steps = 0
        self.running = False
        self._task = None  # the asyncio task of repeated updates (see start)
        self._syncing = False  # True while the demo writes into its own widgets (see _quiet)
        self._dragging = None  # the index of the point the mouse is dragging
        self.last_frame_seconds = 0.0

    def _make_controls(self):
        """The loss menu, the sliders, the buttons and the check boxes above the picture."""
        import ipywidgets as widgets

        # Log-scale sliders because useful values span several powers of ten.
        self.loss_menu = widgets.Dropdown(
            options=[(LOSS_LABELS[k], k) for k in LOSS_KINDS], value="ww", description="loss",
            layout=widgets.Layout(width="330px"))
        self.reg_slider = widgets.FloatLogSlider(
            value=0.1, base=10, min=-4, max=1, step=0.1, description="reg strength",
            readout_format=".1e", style={"description_width": "90px"})
        self.lr_slider = widgets.FloatLogSlider(
            value=0.1, base=10, min=-4, max=0, step=0.1, description="step size",
            readout_format=".1e", style={"description_width": "90px"})
        self.step_button = widgets.Button(description="Step", tooltip="one parameter update",
                                          button_style="primary")
        self.start_button = widgets.Button(description="Start", tooltip="start or stop repeated updates",
                                           button_style="success")
        wide = widgets.Layout(width="auto")
        self.randomize_params_button = widgets.Button(description="Randomize parameters", layout=wide)
        self.randomize_points_button = widgets.Button(description="Randomize points", layout=wide)
        self.minibatch_box = widgets.Checkbox(value=False, description="minibatch", indent=False,
                                              layout=widgets.Layout(width="100px"))
        self.batch_slider = widgets.IntSlider(value=3, min=1, max=len(self.y), description="batch size",
                                              style={"description_width": "70px"})
        self.margins_box = widgets.Checkbox(value=False, description="show margins", indent=False)
        # CSS classes the browser test finds the buttons by.
        self.step_button.add_class("linclass-step")
        self.start_button.add_class("linclass-start")

    def _make_param_grid(self):
        """The parameters as the lecture's 3 x 2 matrix plus bias: one row per class.

        Sets value_boxes and grad_labels, dicts keyed by (name, k) with name "w0", "w1" or
        "b" and k the class: an editable number and the gradient shown under it.
        """
        import ipywidgets as widgets

        self.value_boxes = {}
        self.grad_labels = {}
        cells = [widgets.HTML("<b>class</b>"), widgets.HTML("<b>weight on x0</b>"),
                 widgets.HTML("<b>weight on x1</b>"), widgets.HTML("<b>bias</b>")]
        for k in range(3):
            color = "#%02x%02x%02x" % tuple(int(255 * c) for c in CLASS_COLORS[k])
            cells.append(widgets.HTML(f"<span style='color:{color}'><b>class {k}</b></span>"))
            for name in ("w0", "w1", "b"):
                box = widgets.FloatText(step=0.1, layout=widgets.Layout(width="90px"))
                grad = widgets.HTML()
                self.value_boxes[(name, k)] = box
                self.grad_labels[(name, k)] = grad
                cells.append(widgets.VBox([box, grad]))
        self.param_grid = widgets.GridBox(
            cells, layout=widgets.Layout(grid_template_columns="80px 100px 100px 100px"))

    def _make_point_editor(self):
        """Pick a point, move it with the sliders, change its class, add or remove points."""
        import ipywidgets as widgets

        e = self.extent
        self.point_menu = widgets.Dropdown(description="point", layout=widgets.Layout(width="150px"),
                                           style={"description_width": "40px"})
        self.x_slider = widgets.FloatSlider(min=-e, max=e, step=0.01, description="x0",
                                            style={"description_width": "25px"})
        self.y_slider = widgets.FloatSlider(min=-e, max=e, step=0.01, description="x1",
                                            style={"description_width": "25px"})
        self.class_menu = widgets.Dropdown(options=[("class 0 (red)", 0), ("class 1 (green)", 1),
                                                    ("class 2 (blue)", 2)],
                                           layout=widgets.Layout(width="140px"))
        self.add_button = widgets.Button(description="Add point")
        self.remove_button = widgets.Button(description="Remove point")
        self.new_class_buttons = widgets.ToggleButtons(
            options=[("red", 0), ("green", 1), ("blue", 2)], value=0,
            description="a click adds", style={"button_width": "55px", "description_width": "80px"})

    def _make_outputs(self):
        """The widgets that only show things: the two pictures, the loss, the table, the status."""
        import ipywidgets as widgets

        # The CSS classes are how the browser test finds these.
        self.plane_image = widgets.Image(format="jpeg")
        self.plane_image.add_class("linclass-plane")
        self.curve_image = widgets.Image(format="jpeg")
        self.loss_html = widgets.HTML()
        self.loss_html.add_class("linclass-loss")
        self.table_html = widgets.HTML()
        self.table_html.add_class("linclass-table")
        self.status = widgets.HTML()

    def _make_figures(self):
        """The matplotlib figures of the plane and of the loss curve, with their artists."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        # The figures are drawn off screen and sent as images, so the demo needs no
        # interactive matplotlib backend and shows the same in JupyterLab, Notebook and tests.
        self.fig = Figure(figsize=(4.2, 4.2), dpi=100)
        FigureCanvasAgg(self.fig)
        self.ax = self.fig.add_axes([0.15, 0.1, 0.82, 0.84])
        self.curve_fig = Figure(figsize=(4.2, 2.0), dpi=100)
        FigureCanvasAgg(self.curve_fig)
        self.curve_ax = self.curve_fig.add_axes([0.16, 0.22, 0.8, 0.68])
        self._setup_plane_axes()
        self._setup_curve_axes()

    def _connect_controls(self):
        """Make every control call its handler (the handlers are under "widget callbacks")."""
        for box in self.value_boxes.values():
            box.observe(self._on_param_edit, names="value")
        for control in (self.reg_slider, self.minibatch_box, self.batch_slider, self.margins_box):
            control.observe(self._on_setting, names="value")
        self.loss_menu.observe(self._on_loss_change, names="value")
        self.lr_slider.observe(lambda change: self._update_status(), names="value")
        self.step_button.on_click(lambda _: self.step())
        self.start_button.on_click(lambda _: self.toggle_running())
        self.randomize_params_button.on_click(lambda _: self.randomize_params())
        self.randomize_points_button.on_click(lambda _: self.randomize_points())
        self.add_button.on_click(lambda _: self.add_point())
        self.remove_button.on_click(lambda _: self.remove_point())
        self.point_menu.observe(self._on_select_point, names="value")
        for control in (self.x_slider, self.y_slider, self.class_menu):
            control.observe(self._on_point_edit, names="value")

    def _connect_mouse(self):
        """Mouse editing on the picture, as in the original: press on a point and drag it, or
        press on an empty spot to add a point there."""
        from ipyevents import Event

        # Moves are throttled to one per 40 ms; presses and releases are never dropped.
        # prevent_default_action stops the browser's own image drag-and-drop.
        self.press_events = Event(source=self.plane_image, prevent_default_action=True,
                                  watched_events=["mousedown", "mouseup", "mouseleave"])
        self.move_events = Event(source=self.plane_image, prevent_default_action=True,
                                 watched_events=["mousemove"], throttle_or_debounce="throttle",
                                 wait=40)
        self.press_events.on_dom_event(self._on_mouse)
        self.move_events.on_dom_event(self._on_mouse)

    def _layout(self):
        """The whole demo as one widget: controls, picture and parameters, point editor, table."""
        import ipywidgets as widgets

        return widgets.VBox([
            widgets.HBox([self.loss_menu, self.reg_slider, self.lr_slider]),
            widgets.HBox([self.step_button, self.start_button, self.randomize_params_button,
                          self.randomize_points_button]),
            widgets.HBox([self.minibatch_box, self.batch_slider, self.margins_box]),
            widgets.HBox([self.plane_image,
                          widgets.VBox([self.param_grid, self.loss_html, self.curve_image])]),
            widgets.HBox([self.point_menu, self.x_slider, self.y_slider, self.class_menu,
                          self.add_button, self.remove_button]),
            self.new_class_buttons,
            self.table_html,
            self.status,
        ])

    # ----- what tests and notebooks read -------------------------------------------------
    @property
    def kind(self):
        """The loss chosen in the menu, one of LOSS_KINDS."""
        return self.loss_menu.value

    @property
    def reg(self):
        """The regularization strength on the slider, a float."""
        return float(self.reg_slider.value)

    @property
    def learning_rate(self):
        """The step size on the slider, a float."""
        return float(self.lr_slider.value)

    @property
    def batch_size(self):
        """None in full-batch mode, else the minibatch size (at most the number of points)."""
        if not self.minibatch_box.value:
            return None
        return min(int(self.batch_slider.value), len(self.y))

    @property
    def state(self):
        """A snapshot of everything the demo shows, as plain numpy values and floats."""
        loss = self.loss
        return {
            "W": self.W.copy(), "b": self.b.copy(), "X": self.X.copy(), "y": self.y.copy(),
            "kind": self.kind, "reg": self.reg, "learning_rate": self.learning_rate,
            "batch_size": self.batch_size, "show_margins": bool(self.margins_box.value),
            "data_loss": loss.data_loss, "reg_loss": loss.reg_loss, "total_loss": loss.total,
            "per_point": loss.per_point.copy(), "scores": loss.scores.copy(),
            "dW": loss.dW.copy(), "db": loss.db.copy(),
            "history": list(self.history), "steps": self.steps, "running": self.running,
            "selected": self.point_menu.value,
        }

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # ----- actions ------------------------------------------------------------------------
    def step(self):
        """One update of W and b (on a minibatch in minibatch mode), then redraw."""
        result = step(self.W, self.b, self.X, self.y, self.kind, self.reg, self.learning_rate,
                      batch_size=self.batch_size, rng=self.rng)
        if not (np.all(np.isfinite(result.W)) and np.all(np.isfinite(result.b))):
            self.stop()
            self.status.value = ("<span style='color:#b00'>The update diverged; lower the step size "
                                 "and press Randomize parameters.</span>")
            return
        self.W, self.b = result.W, result.b
        self.steps += 1
        self.refresh(record=True)

    def toggle_running(self):
        """Start repeated updates, or stop them if they are running."""
        if self.running:
            self.stop()
        else:
            self.start()

    def start(self):
        """Start repeated updates as an asyncio task, so the notebook stays responsive."""
        if self.running:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.status.value = ("Repeated updates need a running event loop (Jupyter has one); "
                                 "use Step here.")
            return
        self.running = True
        self.start_button.description = "Stop"
        self.start_button.button_style = "danger"
        # After a quick Stop then Start the old task may still be asleep; it carries on, so
        # there is never more than one loop of updates.
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run())

    def stop(self):
        """Stop repeated updates; the task ends at its next wake-up."""
        self.running = False
        self.start_button.description = "Start"
        self.start_button.button_style = "success"

    async def _run(self):
        try:
            while self.running:
                began = time.perf_counter()
                self.step()
                await asyncio.sleep(max(0.0, self.interval - (time.perf_counter() - began)))
        except Exception as error:
            # An error inside a task is otherwise silent: stop and show it.
            self.stop()
            self.status.value = f"<span style='color:#b00'>Updates stopped: {error}</span>"
        finally:
            self._task = None

    def randomize_params(self):
        """New random W and b; the loss curve starts again."""
        self.W, self.b = random_params(self.rng, num_classes=3, scale=1.0)
        self.history = []
        self.refresh(record=True)

    def randomize_points(self):
        """Nine new clustered points, three per class."""
        self.X, self.y = random_points(self.rng, per_class=3, num_classes=3, extent=self.extent)
        self.history = []
        self._refresh_point_menu(0)
        self.refresh(record=True)

    def add_point(self, x0=None, x1=None, label=None):
        """Add a point (random position and class when not given) and select it."""
        if x0 is None or x1 is None:
            x0, x1 = self.rng.uniform(-0.8 * self.extent, 0.8 * self.extent, size=2)
        label = int(self.rng.integers(3)) if label is None else int(label)
        if label not in (0, 1, 2):
            raise ValueError(f"label must be 0, 1 or 2, got {label}")
        self.X = np.vstack([self.X, [float(x0), float(x1)]])
        self.y = np.append(self.y, label)
        self._refresh_point_menu(len(self.y) - 1)
        self.refresh()

    def remove_point(self):
        """Remove the selected point (one point always stays)."""
        if len(self.y) <= 1:
            self.status.value = "The demo keeps at least one point."
            return
        i = self.point_menu.value
        self.X = np.delete(self.X, i, axis=0)
        self.y = np.delete(self.y, i)
        self._refresh_point_menu(min(i, len(self.y) - 1))
        self.refresh()

    def move_point(self, i, x0, x1, label=None):
        """Move point i to (x0, x1), optionally giving it a new class."""
        if not 0 <= i < len(self.y):
            raise ValueError(f"i must be a point index in [0, {len(self.y)}), got {i}")
        with self._quiet():
            self.point_menu.value = i
            # The sliders clamp the point to the plane shown.
            self.x_slider.value, self.y_slider.value = float(x0), float(x1)
            self.class_menu.value = int(self.y[i]) if label is None else int(label)
        self._on_point_edit(None)

    # ----- mouse editing --------------------------------------------------------------------
    def press(self, x0, x1):
        """A mouse press at (x0, x1) in data coordinates.

        On a point (within 8 pixels): select it and start dragging it. Elsewhere in the plane:
        add a point of the class chosen under "a click adds" and drag that one.
        """
        e = self.extent
        if not (-e <= x0 <= e and -e <= x1 <= e):
            return
        to_pixels = self.ax.transData.transform
        distances = np.linalg.norm(to_pixels(self.X) - to_pixels([[x0, x1]]), axis=1)
        nearest = int(np.argmin(distances))
        if distances[nearest] <= 8.0:
            self.point_menu.value = nearest
            self._dragging = nearest
        else:
            self.add_point(x0, x1, label=self.new_class_buttons.value)
            self._dragging = len(self.y) - 1

    def drag(self, x0, x1):
        """The mouse moved to (x0, x1) in data coordinates: move the point being dragged."""
        if self._dragging is not None:
            self.move_point(self._dragging, x0, x1)

    def release(self):
        """The mouse button went up (or left the picture): stop dragging."""
        self._dragging = None

    def _event_to_data(self, event):
        # The browser reports the position within the image as shown, which may be scaled;
        # turn it into figure pixels, then into data coordinates (matplotlib's y points up).
        width, height = self.fig.canvas.get_width_height()
        px = event["relativeX"] / max(event["boundingRectWidth"], 1) * width
        py = event["relativeY"] / max(event["boundingRectHeight"], 1) * height
        return self.ax.transData.inverted().transform((px, height - py))

    def _on_mouse(self, event):
        kind = event.get("type")
        if kind in ("mouseup", "mouseleave"):
            self.release()
        elif kind == "mousedown" and event.get("button", 0) == 0:
            self.press(*self._event_to_data(event))
        elif kind == "mousemove" and self._dragging is not None:
            if event.get("buttons", 1) == 0:   # the button was released outside the picture
                self.release()
            else:
                self.drag(*self._event_to_data(event))

    def set_params(self, W, b):
        """Set W of shape (2, 3) and b of shape (3,) and redraw."""
        W = np.array(W, dtype=float)
        b = np.array(b, dtype=float)
        _check_inputs(W, b, self.X, self.y)
        if W.shape != (2, 3):
            raise ValueError(f"W must have shape (2, 3), got {W.shape}")
        self.W, self.b = W, b
        self.refresh()

    # ----- widget callbacks ---------------------------------------------------------------
    @contextlib.contextmanager
    def _quiet(self):
        # Values the demo writes into its own widgets must not echo back as user edits.
        saved = self._syncing
        self._syncing = True
        try:
            yield
        finally:
            self._syncing = saved

    def _on_param_edit(self, change):
        if self._syncing:
            return
        # Only the edited entry changes: the boxes show rounded values of the others.
        for (name, k), box in self.value_boxes.items():
            if box is change["owner"]:
                if name == "b":
                    self.b[k] = float(change["new"])
                else:
                    self.W[int(name[1]), k] = float(change["new"])
        self.refresh()

    def _on_setting(self, change):
        if self._syncing:
            return
        self.refresh()

    def _on_loss_change(self, change):
        # Losses of different kinds are not comparable: the curve starts again.
        self.history = []
        self.refresh(record=True)

    def _on_select_point(self, change):
        if self._syncing or self.point_menu.value is None:
            return
        i = self.point_menu.value
        with self._quiet():
            self.x_slider.value = float(self.X[i, 0])
            self.y_slider.value = float(self.X[i, 1])
            self.class_menu.value = int(self.y[i])
        self.refresh()

    def _on_point_edit(self, change):
        if self._syncing:
            return
        i = self.point_menu.value
        self.X[i] = [self.x_slider.value, self.y_slider.value]
        self.y[i] = self.class_menu.value
        self.refresh()

    def _refresh_point_menu(self, selected):
        with self._quiet():
            self.point_menu.options = [(f"point {i}", i) for i in range(len(self.y))]
            self.point_menu.value = selected
            self.x_slider.value = float(self.X[selected, 0])
            self.y_slider.value = float(self.X[selected, 1])
            self.class_menu.value = int(self.y[selected])
            self.batch_slider.max = len(self.y)

    def _update_status(self):
        mode = (f"minibatch of {self.batch_size} points" if self.batch_size else "all points")
        self.status.value = (f"{self.steps} updates so far; step size {self.learning_rate:.1e}, "
                             f"{mode}.")

    # ----- drawing ------------------------------------------------------------------------
    def refresh(self, record=False):
        """Recompute the loss on all points, update every number shown and redraw.

        record: bool, append the total loss to the loss curve (done after updates).
        """
        began = time.perf_counter()
        self.loss = demo_loss(self.W, self.b, self.X, self.y, self.kind, self.reg)
        if record:
            self.history.append(self.loss.total)
        with self._quiet():
            for k in range(3):
                for row, name in enumerate(("w0", "w1")):
                    self.value_boxes[(name, k)].value = round(float(self.W[row, k]), 4)
                    self.grad_labels[(name, k)].value = self._grad_html(self.loss.dW[row, k])
                self.value_boxes[("b", k)].value = round(float(self.b[k]), 4)
                self.grad_labels[("b", k)].value = self._grad_html(self.loss.db[k])
        loss = self.loss
        self.loss_html.value = (
            f"<div style='font-size:14px'>data loss <b>{loss.data_loss:.4f}</b> + "
            f"regularization <b>{loss.reg_loss:.4f}</b> = total <b>{loss.total:.4f}</b></div>")
        self.table_html.value = self._table_html()
        self._update_status()
        self.plane_image.value = self._draw_plane()
        self.curve_image.value = self._draw_curve()
        self.last_frame_seconds = time.perf_counter() - began

    @staticmethod
    def _grad_html(value):
        return f"<span style='color:#777;font-size:11px'>grad {_fmt(value)}</span>"

    def _table_html(self):
        loss = self.loss
        head = "".join(f"<th>{h}</th>" for h in ("point", "x0", "x1", "class", "score 0",
                                                  "score 1", "score 2", "loss"))
        rows = []
        for i in range(len(self.y)):
            color = "#%02x%02x%02x" % tuple(int(255 * c) for c in CLASS_COLORS[self.y[i]])
            best = int(np.argmax(loss.scores[i]))
            scores = "".join(
                f"<td>{'<b>' if k == best else ''}{loss.scores[i, k]:.2f}{'</b>' if k == best else ''}</td>"
                for k in range(3))
            rows.append(f"<tr><td>{i}</td><td>{self.X[i, 0]:.2f}</td><td>{self.X[i, 1]:.2f}</td>"
                        f"<td style='color:{color}'><b>{self.y[i]}</b></td>{scores}"
                        f"<td>{loss.per_point[i]:.3f}</td></tr>")
        return ("<table style='font-family:monospace;font-size:12px;text-align:right'>"
                f"<tr>{head}</tr>{''.join(rows)}</table>"
                "<div style='font-size:11px;color:#555'>bold score: the winning class</div>")

    def _setup_plane_axes(self):
        """The plane's axes and the artists every frame updates: colours, lines, arrows, points."""
        from matplotlib.patches import FancyArrow

        e = self.extent
        ax = self.ax
        # Everything that changes between frames is "animated": the full draw that makes the
        # cached background skips it, and each frame pastes the background and draws only these
        # artists. Redrawing the tick labels every frame would cost most of the 50 ms budget.
        # interpolation="none" lets Agg draw the grid unresampled: half the cost of "nearest".
        self.plane_artist = ax.imshow(np.zeros((2, 2, 4), np.uint8), extent=(-e, e, -e, e),
                                      origin="lower", interpolation="none", animated=True)
        self.line_artists = [ax.plot([], [], color=CLASS_COLORS[k], lw=2, animated=True)[0]
                             for k in range(3)]
        self.ring_artist = ax.scatter([], [], s=220, facecolors="none", edgecolors="k",
                                      linewidths=1.2, linestyles="--", zorder=3, animated=True)
        self.point_artist = ax.scatter(self.X[:, 0], self.X[:, 1], s=60, edgecolors="k", zorder=4,
                                       animated=True)
        self.select_artist = ax.scatter([], [], s=160, facecolors="none", edgecolors="yellow",
                                        linewidths=2.5, zorder=5, animated=True)
        self.arrow_artists = []
        for k in range(3):
            arrow = FancyArrow(0, 0, 1, 0, width=0.012 * e, head_width=0.06 * e,
                               length_includes_head=True, color=CLASS_COLORS[k], zorder=3,
                               animated=True)
            ax.add_patch(arrow)
            self.arrow_artists.append(arrow)
        for spine in ax.spines.values():
            spine.set_animated(True)
        ax.set_xlim(-e, e)
        ax.set_ylim(-e, e)
        ax.set_xlabel("x0", labelpad=1)
        ax.set_ylabel("x1", labelpad=1)
        ax.tick_params(labelsize=8)
        self._plane_background = None

    def _setup_curve_axes(self):
        """The loss curve's axes and its line."""
        self.curve_line = self.curve_ax.plot([], [], color="k", lw=1.5, animated=True)[0]
        self.curve_ax.set_xlabel("update", fontsize=8, labelpad=1)
        self.curve_ax.set_ylabel("total loss", fontsize=8)
        self.curve_ax.tick_params(labelsize=7)
        self._curve_background = None
        self._curve_limits = None

    def _draw_plane(self):
        e = self.extent
        if self._plane_background is None:
            self.fig.canvas.draw()
            self._plane_background = self.fig.canvas.copy_from_bbox(self.fig.bbox)
        winner, margin = plane_grid(self.W, self.b, e, resolution=160)
        colors = PLANE_RGBA[winner]
        if self.margins_box.value:
            # The band where the winning score leads the runner-up by less than the margin 1
            # is drawn paler; ringed points lie in it or on the wrong side (positive loss).
            inside = margin < 1.0
            colors[inside, :3] = (0.45 * colors[inside, :3] + 0.55 * 255).astype(np.uint8)
            self.ring_artist.set_offsets(self.X[self.loss.per_point > 1e-12].reshape(-1, 2))
        else:
            self.ring_artist.set_offsets(np.empty((0, 2)))
        self.plane_artist.set_data(colors)
        for k in range(3):
            line = zero_score_line(self.W[:, k], self.b[k], e)
            visible = line is not None
            self.line_artists[k].set_visible(visible)
            self.arrow_artists[k].set_visible(visible)
            if visible:
                self.line_artists[k].set_data(line[:, 0], line[:, 1])
                start, delta = normal_arrow(self.W[:, k], self.b[k], e)
                self.arrow_artists[k].set_data(x=start[0], y=start[1], dx=delta[0], dy=delta[1])
        self.point_artist.set_offsets(self.X)
        self.point_artist.set_facecolors(CLASS_COLORS[self.y])
        i = self.point_menu.value if self.point_menu.value is not None else 0
        self.select_artist.set_offsets(self.X[i:i + 1])
        artists = [self.plane_artist, *self.line_artists, *self.arrow_artists, self.ring_artist,
                   self.point_artist, self.select_artist]
        artists.sort(key=lambda a: a.get_zorder())
        artists += list(self.ax.spines.values())
        return self._blit_image(self.fig, self._plane_background, artists)

    def _draw_curve(self):
        history = np.asarray(self.history, dtype=float)
        # The axes limits change in jumps (x doubles, y snaps outwards), so most frames reuse
        # the cached axes and only redraw the line.
        x_max = 10
        while x_max < len(history) - 1:
            x_max *= 2
        if len(history):
            low, high = float(history.min()), float(history.max())
        else:
            low, high = 0.0, 1.0
        limits = self._curve_limits
        if (limits is None or limits[0] != x_max or low < limits[1] or high > limits[2]
                or (high - low) < 0.2 * (limits[2] - limits[1])):
            pad = 0.5 * (high - low) + 0.01 * abs(high) + 1e-3
            limits = (x_max, low - pad, high + pad)
            self._curve_limits = limits
            self.curve_ax.set_xlim(0, x_max)
            self.curve_ax.set_ylim(limits[1], limits[2])
            self.curve_fig.canvas.draw()
            self._curve_background = self.curve_fig.canvas.copy_from_bbox(self.curve_fig.bbox)
        self.curve_line.set_data(np.arange(len(history)), history)
        return self._blit_image(self.curve_fig, self._curve_background, [self.curve_line])

    @staticmethod
    def _blit_image(fig, background, artists):
        from PIL import Image

        canvas = fig.canvas
        canvas.restore_region(background)
        for artist in artists:
            fig.draw_artist(artist)
        width, height = canvas.get_width_height()
        buffer = io.BytesIO()
        # JPEG at high quality without chroma subsampling: it encodes in ~2 ms where PNG
        # takes ~10 ms, and the thin coloured lines stay sharp.
        image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        image.convert("RGB").save(buffer, format="jpeg", quality=92, subsampling=0)
        return buffer.getvalue()
