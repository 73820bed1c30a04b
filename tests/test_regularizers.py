"""Tests of linclass.reference.regularizers: values, (sub)gradients, max-norm projection, bad input."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linclass.gradcheck import eval_numerical_gradient, rel_error
from linclass.reference.regularizers import elastic_net, l1, l2, max_norm_project


def weights_away_from_zero(seed, shape=(4, 3)):
    """Random weights with |w| >= 0.1, so |w| is differentiable within h of every entry."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal(shape)
    return np.where(np.abs(W) < 0.1, np.sign(W + 1e-12) * 0.1 + W, W)


def test_values_on_a_small_matrix():
    W = np.array([[1.0, -2.0], [0.0, 0.5]])
    R, dR = l2(W)
    assert R == 5.25
    np.testing.assert_array_equal(dR, 2 * W)
    R, dR = l1(W)
    assert R == 3.5
    np.testing.assert_array_equal(dR, [[1.0, -1.0], [0.0, 1.0]])
    R, dR = elastic_net(W, beta=0.5)
    assert R == pytest.approx(0.5 * 5.25 + 3.5)
    np.testing.assert_allclose(dR, W + np.sign(W))


@pytest.mark.parametrize("reg_fn", [l2, l1, lambda W: elastic_net(W, 0.3)], ids=["l2", "l1", "elastic"])
@pytest.mark.parametrize("seed", range(3))
def test_gradients_match_numerical(reg_fn, seed):
    W = weights_away_from_zero(seed)
    _, dR = reg_fn(W)
    numerical = eval_numerical_gradient(lambda w: reg_fn(w)[0], W)
    assert rel_error(dR, numerical) < 1e-7


def test_l1_subgradient_is_zero_at_zero():
    _, dR = l1(np.zeros((2, 2)))
    np.testing.assert_array_equal(dR, 0.0)
    _, dR = elastic_net(np.zeros(3), beta=2.0)
    np.testing.assert_array_equal(dR, 0.0)


def test_elastic_net_interpolates_between_l1_and_l2():
    W = weights_away_from_zero(7)
    assert elastic_net(W, 0.0)[0] == pytest.approx(l1(W)[0])
    for beta in (0.1, 3.0):
        R, dR = elastic_net(W, beta)
        assert R == pytest.approx(beta * l2(W)[0] + l1(W)[0])
        np.testing.assert_allclose(dR, beta * l2(W)[1] + l1(W)[1])


@pytest.mark.parametrize("reg_fn", [l2, l1, lambda W: elastic_net(W, 0.3)], ids=["l2", "l1", "elastic"])
def test_dtype_is_kept(reg_fn):
    W = weights_away_from_zero(1).astype(np.float32)
    R, dR = reg_fn(W)
    assert isinstance(R, np.float32) and dR.dtype == np.float32
    R, dR = reg_fn(np.array([[1, -2]]))
    assert dR.dtype == np.float64


# --- max norm ---------------------------------------------------------------------------

@settings(max_examples=40, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32 - 1), max_norm=st.floats(0.01, 10), scale=st.floats(0.01, 10),
       axis=st.sampled_from([0, 1, -1]))
def test_max_norm_projection_properties(seed, max_norm, scale, axis):
    W = scale * np.random.default_rng(seed).standard_normal((5, 4))
    before = W.copy()
    P = max_norm_project(W, max_norm, axis=axis)
    np.testing.assert_array_equal(W, before)                      # a new array
    norms = np.linalg.norm(W, axis=axis, keepdims=True)
    new_norms = np.linalg.norm(P, axis=axis, keepdims=True)
    assert np.all(new_norms <= max_norm * (1 + 1e-12))
    inside = (norms <= max_norm).ravel()
    other = 1 - axis % 2            # the axis that numbers the vectors
    np.testing.assert_array_equal(np.compress(inside, P, axis=other), np.compress(inside, W, axis=other))
    # Long vectors keep their direction and land exactly on the sphere.
    np.testing.assert_allclose(new_norms.ravel()[~inside], max_norm, rtol=1e-12)
    np.testing.assert_allclose(P * norms, W * np.minimum(norms, max_norm), rtol=1e-12, atol=1e-15)
    # Projecting twice changes nothing more.
    np.testing.assert_allclose(max_norm_project(P, max_norm, axis=axis), P, rtol=1e-12)


def test_max_norm_default_axis_is_the_class_columns():
    W = np.array([[3.0, 0.1, 0.0], [4.0, 0.0, 0.0]])   # column norms 5, 0.1, 0
    P = max_norm_project(W, 1.0)
    np.testing.assert_allclose(P, [[0.6, 0.1, 0.0], [0.8, 0.0, 0.0]])
    P32 = max_norm_project(W.astype(np.float32), 1.0)
    assert P32.dtype == np.float32


def test_bad_input():
    with pytest.raises(ValueError, match="W contains NaN"):
        l2(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="W must be an array of real numbers"):
        l1(np.array(["a"]))
    with pytest.raises(ValueError, match="beta"):
        elastic_net(np.ones(2), -1.0)
    with pytest.raises(ValueError, match="max_norm"):
        max_norm_project(np.ones((2, 2)), 0.0)
    with pytest.raises(ValueError, match="max_norm"):
        max_norm_project(np.ones((2, 2)), float("inf"))
    with pytest.raises(ValueError, match="axis"):
        max_norm_project(np.ones((2, 2)), 1.0, axis=2)


def test_swapping_the_regularizer_as_the_losses_module_describes():
    """Loss with reg = 0 plus reg * R(W): with R = l2 it equals the built-in L2 loss."""
    from linclass.reference.losses import softmax_loss_vectorized

    rng = np.random.default_rng(3)
    W, X, y = 0.1 * rng.standard_normal((5, 4)), rng.standard_normal((9, 5)), rng.integers(0, 4, 9)
    reg = 0.7
    loss0, dW0 = softmax_loss_vectorized(W, X, y, 0.0)
    R, dR = l2(W)
    built_in = softmax_loss_vectorized(W, X, y, reg)
    assert loss0 + reg * R == pytest.approx(built_in[0], rel=1e-12)
    np.testing.assert_allclose(dW0 + reg * dR, built_in[1], rtol=1e-12)

    W = weights_away_from_zero(3, (5, 4))
    R, dR = l1(W)
    numerical = eval_numerical_gradient(lambda w: softmax_loss_vectorized(w, X, y, 0.0)[0] + reg * l1(w)[0], W)
    assert rel_error(softmax_loss_vectorized(W, X, y, 0.0)[1] + reg * dR, numerical) < 1e-7
