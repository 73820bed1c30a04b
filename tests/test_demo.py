"""Tests of linclass.reference.demo: the math as pure functions, then the widget wiring driven from Python."""
from __future__ import annotations

import asyncio
import copy

import numpy as np
import pytest

from linclass.gradcheck import eval_numerical_gradient, rel_error
from linclass.reference import demo
from linclass.reference.losses import softmax_loss_from_scores, svm_loss_from_scores

# The lecture's three examples (columns of the slide): scores for cat, car, frog.
LECTURE_SCORES = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
LECTURE_LABELS = np.array([0, 1, 2])


def random_problem(seed, n=7):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(2, 3))
    b = rng.normal(size=3)
    X = rng.uniform(-1, 1, size=(n, 2))
    y = rng.integers(0, 3, size=n)
    return W, b, X, y


# ----- losses --------------------------------------------------------------------------------

def test_ww_matches_the_lecture_example():
    per_point, _ = demo.loss_from_scores(LECTURE_SCORES, LECTURE_LABELS, "ww")
    np.testing.assert_allclose(per_point, [2.9, 0.0, 12.9], atol=1e-12)
    assert per_point.mean() == pytest.approx(5.27, abs=0.005)


def test_ova_and_structured_by_hand():
    per_point, _ = demo.loss_from_scores(LECTURE_SCORES, LECTURE_LABELS, "ova")
    # cat image: max(0, 1 - 3.2) + max(0, 1 + 5.1) + max(0, 1 - 1.7) = 6.1
    # car image: max(0, 1 + 1.3) + max(0, 1 - 4.9) + max(0, 1 + 2.0) = 5.3
    # frog image: max(0, 1 + 2.2) + max(0, 1 + 2.5) + max(0, 1 + 3.1) = 10.8
    np.testing.assert_allclose(per_point, [6.1, 5.3, 10.8], atol=1e-12)
    per_point, _ = demo.loss_from_scores(LECTURE_SCORES, LECTURE_LABELS, "structured")
    # Only the worst wrong class counts: 5.1 - 3.2 + 1, nothing, 2.5 + 3.1 + 1.
    np.testing.assert_allclose(per_point, [2.9, 0.0, 6.6], atol=1e-12)


def test_ww_and_softmax_agree_with_linclass_losses():
    rng = np.random.default_rng(3)
    scores = rng.normal(scale=3, size=(20, 3))
    y = rng.integers(0, 3, size=20)
    for kind, reference in (("ww", svm_loss_from_scores), ("softmax", softmax_loss_from_scores)):
        per_point, dscores = demo.loss_from_scores(scores, y, kind)
        ref_losses, ref_dscores = reference(scores, y)
        np.testing.assert_allclose(per_point, ref_losses, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dscores, ref_dscores, rtol=1e-12, atol=1e-12)


def test_softmax_is_stable_for_huge_scores():
    scores = np.array([[1000.0, 999.0, 0.0], [-1000.0, 0.0, 1000.0]])
    y = np.array([0, 0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        per_point, dscores = demo.loss_from_scores(scores, y, "softmax")
    expected_first = np.log(1 + np.exp(-1.0) + np.exp(-1000.0))
    np.testing.assert_allclose(per_point, [expected_first, 2000.0], rtol=1e-12)
    assert np.all(np.isfinite(dscores))
    # Shifting every score of a row by the same amount changes nothing.
    shifted, _ = demo.loss_from_scores(scores - 1000.0, y, "softmax")
    np.testing.assert_allclose(shifted, per_point, rtol=1e-12)


def test_softmax_at_equal_scores_is_log_c():
    per_point, _ = demo.loss_from_scores(np.zeros((4, 3)), np.array([0, 1, 2, 0]), "softmax")
    np.testing.assert_allclose(per_point, np.log(3))


@pytest.mark.parametrize("kind", demo.LOSS_KINDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradients_match_numerical_gradients(kind, seed):
    W, b, X, y = random_problem(seed)
    reg = 0.3
    result = demo.demo_loss(W, b, X, y, kind, reg)
    num_dW = eval_numerical_gradient(lambda W_: demo.demo_loss(W_, b, X, y, kind, reg).total, W.copy())
    num_db = eval_numerical_gradient(lambda b_: demo.demo_loss(W, b_, X, y, kind, reg).total, b.copy())
    # Random real-valued data puts no margin within 1e-5 of a kink, so even the hinge
    # losses must match to the accuracy of the centered difference.
    assert rel_error(result.dW, num_dW) < 1e-7
    assert rel_error(result.db, num_db) < 1e-7


def test_regularization_gradient_matches_its_loss():
    # The original web demo added reg * W; the gradient of reg * sum(W**2) is 2 * reg * W.
    W, b, X, y = random_problem(4)
    without = demo.demo_loss(W, b, X, y, "ww", 0.0)
    with_reg = demo.demo_loss(W, b, X, y, "ww", 0.5)
    assert with_reg.reg_loss == pytest.approx(0.5 * np.sum(W * W))
    np.testing.assert_allclose(with_reg.dW - without.dW, 2 * 0.5 * W, atol=1e-12)
    np.testing.assert_array_equal(with_reg.db, without.db)   # the bias is not regularized
    assert with_reg.data_loss == without.data_loss


def test_demo_loss_totals_and_shapes():
    W, b, X, y = random_problem(5, n=6)
    result = demo.demo_loss(W, b, X, y, "softmax", 0.2)
    assert result.per_point.shape == (6,)
    assert result.dW.shape == (2, 3) and result.db.shape == (3,)
    np.testing.assert_allclose(result.scores, X @ W + b)
    assert result.data_loss == pytest.approx(result.per_point.mean())
    assert result.total == pytest.approx(result.data_loss + result.reg_loss)


@pytest.mark.parametrize("bad, message", [
    (dict(kind="hinge"), "kind"),
    (dict(reg=-1.0), "reg"),
    (dict(delta=0.0), "delta"),
    (dict(y=np.array([0, 1, 3])), "y must hold labels"),
    (dict(y=np.array([0.0, 1.0, 2.0])), "integer"),
    (dict(b=np.zeros(2)), "b must have shape"),
    (dict(X=np.zeros((3, 3))), "X must have shape"),
    (dict(X=np.full((3, 2), np.nan)), "finite"),
])
def test_demo_loss_rejects_bad_input(bad, message):
    args = dict(W=np.ones((2, 3)), b=np.zeros(3), X=np.zeros((3, 2)), y=np.array([0, 1, 2]),
                kind="ww", reg=0.1, delta=1.0)
    args.update(bad)
    with pytest.raises(ValueError, match=message):
        demo.demo_loss(**args)


# ----- updates -------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", demo.LOSS_KINDS)
def test_small_steps_decrease_the_loss(kind):
    W, b, X, y = random_problem(6, n=9)
    losses = []
    for _ in range(20):
        result = demo.step(W, b, X, y, kind, reg=0.1, learning_rate=1e-3)
        W, b = result.W, result.b
        losses.append(result.loss.total)
    assert np.all(np.diff(losses) < 0)


def test_step_is_one_gradient_descent_update():
    W, b, X, y = random_problem(7)
    result = demo.step(W, b, X, y, "ova", reg=0.2, learning_rate=0.5)
    loss = demo.demo_loss(W, b, X, y, "ova", 0.2)
    np.testing.assert_allclose(result.W, W - 0.5 * loss.dW)
    np.testing.assert_allclose(result.b, b - 0.5 * loss.db)
    np.testing.assert_array_equal(result.batch, np.arange(len(y)))


def test_minibatch_step_uses_distinct_points_and_their_loss():
    W, b, X, y = random_problem(8, n=9)
    result = demo.step(W, b, X, y, "softmax", reg=0.1, learning_rate=0.1, batch_size=4,
                       rng=np.random.default_rng(0))
    assert len(set(result.batch.tolist())) == 4
    expected = demo.demo_loss(W, b, X[result.batch], y[result.batch], "softmax", 0.1)
    assert result.loss.total == pytest.approx(expected.total)
    np.testing.assert_allclose(result.W, W - 0.1 * expected.dW)


@pytest.mark.parametrize("batch_size", [0, 10, 2.5, True])
def test_step_rejects_bad_batch_size(batch_size):
    W, b, X, y = random_problem(9, n=9)
    with pytest.raises(ValueError, match="batch_size"):
        demo.step(W, b, X, y, batch_size=batch_size)


def test_step_rejects_negative_learning_rate():
    W, b, X, y = random_problem(9)
    with pytest.raises(ValueError, match="learning_rate"):
        demo.step(W, b, X, y, learning_rate=-0.1)


# ----- geometry ------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(5))
def test_zero_score_line_lies_on_the_line_and_in_the_box(seed):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=2)
    b_k = rng.normal(scale=0.3)
    line = demo.zero_score_line(w, b_k, 1.0)
    assert line is not None
    np.testing.assert_allclose(line @ w + b_k, 0, atol=1e-12)
    assert np.all(np.abs(line) <= 1 + 1e-12)
    # The ends are on the border of the square.
    assert np.allclose(np.abs(line).max(axis=1), 1.0)
    start, delta = demo.normal_arrow(w, b_k, 1.0, length=0.3)
    np.testing.assert_allclose(start @ w + b_k, 0, atol=1e-12)
    np.testing.assert_allclose(delta, 0.3 * w / np.linalg.norm(w))


def test_zero_score_line_absent_cases():
    assert demo.zero_score_line([0.0, 0.0], 1.0, 1.0) is None          # constant score
    assert demo.zero_score_line([1.0, 0.0], -5.0, 1.0) is None         # x0 = 5, outside
    assert demo.normal_arrow([0.0, 1.0], 3.0, 1.0) is None
    np.testing.assert_allclose(demo.zero_score_line([1.0, 0.0], -0.5, 1.0)[:, 0], 0.5)


def test_plane_grid_marks_the_winning_class():
    W, b = demo.default_params()
    winner, margin = demo.plane_grid(W, b, 1.0, resolution=5)
    ticks = np.linspace(-1, 1, 5)
    for row, x1 in enumerate(ticks):
        for col, x0 in enumerate(ticks):
            s = np.array([x0, x1]) @ W + b
            assert winner[row, col] == np.argmax(s)
            assert margin[row, col] == pytest.approx(np.sort(s)[-1] - np.sort(s)[-2])


def test_random_points_and_params():
    X, y = demo.random_points(np.random.default_rng(0), per_class=4, extent=2.0)
    assert X.shape == (12, 2) and np.bincount(y).tolist() == [4, 4, 4]
    assert np.all(np.abs(X) <= 1.8)
    W, b = demo.random_params(np.random.default_rng(0))
    assert W.shape == (2, 3) and b.shape == (3,)


# ----- the widget ----------------------------------------------------------------------------

@pytest.fixture
def widget():
    return demo.LinearClassifierDemo(seed=0)


def expected_loss(state, kind=None):
    return demo.demo_loss(state["W"], state["b"], state["X"], state["y"],
                          kind or state["kind"], state["reg"])


def test_widget_shows_what_demo_loss_computes(widget):
    state = widget.state
    expected = expected_loss(state)
    assert state["total_loss"] == expected.total
    assert f"{expected.total:.4f}" in widget.loss_html.value
    assert widget.value_boxes[("w1", 1)].value == pytest.approx(state["W"][1, 1])
    assert f"{expected.dW[1, 1]:+.3f}" in widget.grad_labels[("w1", 1)].value
    assert widget.plane_image.value[:2] == b"\xff\xd8"     # a JPEG picture
    assert state["history"] == [expected.total]


def test_step_button_decreases_the_loss_at_a_small_learning_rate(widget):
    widget.lr_slider.value = 1e-3
    for _ in range(5):
        widget.step_button.click()
    state = widget.state
    assert state["steps"] == 5
    assert len(state["history"]) == 6
    assert np.all(np.diff(state["history"]) < 0)
    assert state["total_loss"] == expected_loss(state).total


@pytest.mark.parametrize("kind", demo.LOSS_KINDS)
def test_switching_the_loss_shows_its_values(widget, kind):
    widget.loss_menu.value = kind
    state = widget.state
    expected = expected_loss(state, kind)
    assert state["kind"] == kind
    assert state["data_loss"] == expected.data_loss
    np.testing.assert_array_equal(state["per_point"], expected.per_point)
    np.testing.assert_array_equal(state["dW"], expected.dW)


def test_switching_the_loss_restarts_the_loss_curve(widget):
    widget.step_button.click()
    widget.loss_menu.value = "softmax"
    assert widget.state["history"] == [widget.state["total_loss"]]


def test_switching_the_loss_changes_the_values(widget):
    totals = set()
    for kind in demo.LOSS_KINDS:
        widget.loss_menu.value = kind
        totals.add(round(widget.state["data_loss"], 9))
    assert len(totals) == len(demo.LOSS_KINDS)


def test_reg_slider_sets_the_regularization(widget):
    widget.reg_slider.value = 1.0
    state = widget.state
    assert state["reg"] == pytest.approx(1.0)
    assert state["reg_loss"] == pytest.approx(np.sum(state["W"] ** 2))


def test_editing_a_weight_box_changes_w(widget):
    widget.lr_slider.value = 0.0123
    widget.step_button.click()          # W now has more digits than the boxes show
    before = widget.state
    widget.value_boxes[("w0", 2)].value = -1.5
    widget.value_boxes[("b", 0)].value = 0.25
    state = widget.state
    assert state["W"][0, 2] == -1.5 and state["b"][0] == 0.25
    expected_W, expected_b = before["W"].copy(), before["b"].copy()
    expected_W[0, 2], expected_b[0] = -1.5, 0.25
    np.testing.assert_array_equal(state["W"], expected_W)
    np.testing.assert_array_equal(state["b"], expected_b)
    assert state["total_loss"] == expected_loss(state).total


def test_randomize_buttons(widget):
    before = widget.state
    widget.randomize_params_button.click()
    after = widget.state
    assert not np.allclose(before["W"], after["W"])
    assert after["history"] == [after["total_loss"]]
    widget.randomize_points_button.click()
    assert not np.allclose(after["X"], widget.state["X"])
    assert widget.state["total_loss"] == expected_loss(widget.state).total


def test_points_can_be_added_moved_and_removed(widget):
    widget.add_button.click()
    assert len(widget.state["y"]) == 10 and widget.state["selected"] == 9
    widget.x_slider.value = 0.33
    widget.y_slider.value = -0.66
    widget.class_menu.value = 1
    state = widget.state
    np.testing.assert_allclose(state["X"][9], [0.33, -0.66])
    assert state["y"][9] == 1
    assert state["total_loss"] == expected_loss(state).total
    widget.point_menu.value = 2
    assert widget.x_slider.value == pytest.approx(state["X"][2, 0])
    widget.remove_button.click()
    assert len(widget.state["y"]) == 9
    widget.move_point(0, 0.1, 0.2, label=2)
    np.testing.assert_allclose(widget.state["X"][0], [0.1, 0.2])
    assert widget.state["y"][0] == 2


def test_minibatch_mode_steps_on_a_batch(widget):
    widget.minibatch_box.value = True
    widget.batch_slider.value = 2
    assert widget.state["batch_size"] == 2
    before = widget.state
    rng = copy.deepcopy(widget.rng)
    widget.step_button.click()
    expected = demo.step(before["W"], before["b"], before["X"], before["y"], before["kind"],
                         before["reg"], before["learning_rate"], batch_size=2, rng=rng)
    np.testing.assert_allclose(widget.state["W"], expected.W)
    np.testing.assert_allclose(widget.state["b"], expected.b)


def test_margins_toggle_changes_the_picture(widget):
    plain = widget.plane_image.value
    widget.margins_box.value = True
    assert widget.state["show_margins"]
    assert widget.plane_image.value != plain


def test_start_and_stop_run_updates_without_blocking(widget):
    widget.lr_slider.value = 1e-3

    async def drive():
        widget.start_button.click()
        assert widget.state["running"] and widget.start_button.description == "Stop"
        for _ in range(200):               # wait for a few updates, at most ~10 s
            await asyncio.sleep(0.05)
            if widget.state["steps"] >= 3:
                break
        widget.start_button.click()
        for _ in range(100):
            await asyncio.sleep(0.05)
            if widget._task is None:
                break

    asyncio.run(drive())
    state = widget.state
    assert state["steps"] >= 3 and not state["running"]
    assert widget._task is None and widget.start_button.description == "Start"
    assert np.all(np.diff(state["history"]) < 0)


def test_quick_stop_and_start_keeps_a_single_update_loop(widget):
    async def drive():
        widget.start_button.click()
        first = widget._task
        widget.start_button.click()          # stop
        widget.start_button.click()          # start again before the task woke up
        assert widget._task is first and widget.state["running"]
        await asyncio.sleep(0.2)
        widget.stop()
        await first

    asyncio.run(drive())
    assert widget._task is None and not widget.state["running"]


def test_an_error_during_updates_stops_them_and_is_shown(widget, monkeypatch):
    def broken_step():
        raise ValueError("W must be finite")

    monkeypatch.setattr(widget, "step", broken_step)

    async def drive():
        widget.start_button.click()
        await widget._task

    asyncio.run(drive())
    assert not widget.state["running"] and widget.start_button.description == "Start"
    assert "W must be finite" in widget.status.value


def test_start_outside_an_event_loop_says_why(widget):
    widget.start_button.click()
    assert not widget.state["running"]
    assert "event loop" in widget.status.value


def test_press_on_an_empty_spot_adds_a_point_of_the_chosen_class(widget):
    widget.new_class_buttons.value = 2
    widget.press(-0.8, -0.9)
    state = widget.state
    assert len(state["y"]) == 10 and state["y"][9] == 2 and state["selected"] == 9
    np.testing.assert_allclose(state["X"][9], [-0.8, -0.9])
    widget.drag(-0.7, -0.75)
    np.testing.assert_allclose(widget.state["X"][9], [-0.7, -0.75])
    widget.release()
    widget.drag(0.0, 0.0)                  # no button held: nothing moves
    np.testing.assert_allclose(widget.state["X"][9], [-0.7, -0.75])
    assert widget.state["total_loss"] == expected_loss(widget.state).total


def test_press_on_a_point_selects_and_drags_it(widget):
    x0, x1 = widget.state["X"][4]
    widget.press(x0 + 0.01, x1)            # a few pixels off still hits the point
    assert widget.state["selected"] == 4 and len(widget.state["y"]) == 9
    widget.drag(5.0, -5.0)                 # dragged off the plane: clamped to its edge
    np.testing.assert_allclose(widget.state["X"][4], [1.0, -1.0])


def test_press_outside_the_plane_does_nothing(widget):
    widget.press(1.5, 0.0)
    assert len(widget.state["y"]) == 9


def test_browser_mouse_events_map_to_data_coordinates(widget):
    width, height = widget.fig.canvas.get_width_height()
    px, py = widget.ax.transData.transform(widget.state["X"][3])

    def event(kind, px, py, **extra):
        # The image shown at half size: the browser reports positions in shown pixels.
        return {"type": kind, "relativeX": px / 2, "relativeY": (height - py) / 2,
                "boundingRectWidth": width / 2, "boundingRectHeight": height / 2,
                "button": 0, "buttons": 1, **extra}

    widget._on_mouse(event("mousedown", px, py))
    assert widget.state["selected"] == 3
    target_px, target_py = widget.ax.transData.transform([0.25, -0.5])
    widget._on_mouse(event("mousemove", target_px, target_py))
    np.testing.assert_allclose(widget.state["X"][3], [0.25, -0.5], atol=0.01)
    widget._on_mouse(event("mouseup", target_px, target_py))
    widget._on_mouse(event("mousemove", px, py))
    np.testing.assert_allclose(widget.state["X"][3], [0.25, -0.5], atol=0.01)


def test_the_picture_colours_the_plane_by_the_winning_class(widget):
    from io import BytesIO

    from PIL import Image

    picture = np.asarray(Image.open(BytesIO(widget.plane_image.value)).convert("RGB"), dtype=float)
    height = picture.shape[0]
    state = widget.state
    checked = 0
    for x0 in np.linspace(-0.9, 0.9, 7):
        for x1 in np.linspace(-0.9, 0.9, 7):
            s = np.array([x0, x1]) @ state["W"] + state["b"]
            top, second = np.sort(s)[-1], np.sort(s)[-2]
            near_point = np.min(np.linalg.norm(state["X"] - [x0, x1], axis=1)) < 0.1
            if top - second < 0.3 or near_point:
                continue                   # too close to a boundary, a line or a point
            px, py = widget.ax.transData.transform([x0, x1])
            pixel = picture[int(round(height - py)), int(round(px))]
            expected = demo.PLANE_RGBA[np.argmax(s), :3]
            if np.abs(pixel - expected).max() > 30:
                # A zero-score line or an arrow may cross this spot; it must then be drawn
                # in a class colour, darker than the plane.
                assert pixel.sum() < expected.sum()
                continue
            checked += 1
    assert checked >= 15
