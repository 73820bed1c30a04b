"""hyperparameter_search picks the pair with the best validation accuracy."""
import numpy as np
import pytest

from linclass.reference.classifiers import LinearSVM, Softmax
from linclass.reference.tuning import format_results, hyperparameter_search, random_search


def blobs(N, seed, D=8, C=3, noise=2.5):
    rng = np.random.default_rng(123)
    centers = rng.standard_normal((C, D)) * 2
    rng = np.random.default_rng(seed)
    y = rng.integers(0, C, N)
    X = centers[y] + noise * rng.standard_normal((N, D))
    return np.hstack([X, np.ones((N, 1))]), y


@pytest.mark.parametrize("cls", [LinearSVM, Softmax])
def test_search_returns_the_best(cls):
    X_train, y_train = blobs(400, 1)
    X_val, y_val = blobs(200, 2)
    lrs, regs = [1e-9, 1e-2], [0.0, 1e3]
    results, best_model, best_val = hyperparameter_search(
        cls, X_train, y_train, X_val, y_val, lrs, regs, num_iters=60, batch_size=50, seed=0)
    assert set(results) == {(lr, reg) for lr in lrs for reg in regs}
    for train_acc, val_acc in results.values():
        assert 0.0 <= train_acc <= 1.0 and 0.0 <= val_acc <= 1.0
    assert best_val == max(v for _, v in results.values())
    assert isinstance(best_model, cls)
    assert best_model.accuracy(X_val, y_val) == best_val
    # lr 1e-9 barely moves W from its random start; a useful lr with no huge reg wins.
    best_key = max(results, key=lambda k: results[k][1])
    assert best_key == (1e-2, 0.0)
    assert best_val > results[(1e-9, 0.0)][1] + 0.2


def test_search_is_repeatable_and_passes_train_arguments():
    X_train, y_train = blobs(300, 3)
    X_val, y_val = blobs(100, 4)
    a = hyperparameter_search(Softmax, X_train, y_train, X_val, y_val, [1e-2], [1e-3],
                              num_iters=20, seed=7, sampling="epoch", momentum=0.9)
    b = hyperparameter_search(Softmax, X_train, y_train, X_val, y_val, [1e-2], [1e-3],
                              num_iters=20, seed=7, sampling="epoch", momentum=0.9)
    assert a[0] == b[0]
    np.testing.assert_array_equal(a[1].W, b[1].W)


def test_format_results_marks_the_best():
    results = {(1e-7, 2.5e4): (0.37, 0.38), (1e-6, 5e4): (0.35, 0.36)}
    text = format_results(results)
    lines = text.splitlines()
    assert len(lines) == 2
    assert lines[0] == "lr 1.00e-07  reg 2.50e+04  train 0.3700  val 0.3800 *"
    assert lines[1].endswith("val 0.3600")
    with pytest.raises(ValueError, match="results"):
        format_results({})


def test_bad_arguments_named():
    X, y = blobs(50, 0)
    with pytest.raises(ValueError, match="learning_rates"):
        hyperparameter_search(LinearSVM, X, y, X, y, [], [1.0])
    with pytest.raises(ValueError, match="learning_rates"):
        hyperparameter_search(LinearSVM, X, y, X, y, [0.0], [1.0])
    with pytest.raises(ValueError, match="regs"):
        hyperparameter_search(LinearSVM, X, y, X, y, [1e-3], [-1.0])
    with pytest.raises(ValueError, match="X_val"):
        hyperparameter_search(LinearSVM, X, y, X[:, :3], y, [1e-3], [1.0])
    with pytest.raises(ValueError, match="y_train"):
        hyperparameter_search(LinearSVM, X, y[:3], X, y, [1e-3], [1.0])
    with pytest.raises(ValueError, match="model_cls"):
        hyperparameter_search(object, X, y, X, y, [1e-3], [1.0], num_iters=1)


def test_fast_fit_learns_and_folds_the_scaling():
    # Features on very different scales: fast_fit standardizes them, and the returned W
    # must work on the original features.
    from linclass.reference.tuning import fast_fit
    X_train, y_train = blobs(2000, 5, noise=1.0)
    X_val, y_val = blobs(500, 6, noise=1.0)
    scales = np.r_[np.logspace(-2, 2, X_train.shape[1] - 1), 1.0]
    for cls in (LinearSVM, Softmax):
        model, info = fast_fit(cls, X_train * scales, y_train, X_val * scales, y_val, epochs=3,
                               batch_size=100, learning_rate=1e-2, reg=1e-4, workers=2)
        assert isinstance(model, cls) and model.W.shape == (X_train.shape[1], 3)
        assert model.W.dtype == np.float64
        assert len(info["val_history"]) == 3 and info["best_val"] == max(info["val_history"])
        # The folded W gives exactly the accuracy measured on the scaled validation set.
        assert model.accuracy(X_val * scales, y_val) == pytest.approx(info["best_val"], abs=0.004)
        assert info["best_val"] > 0.9
        assert 0 < info["seconds_prepare"] <= info["seconds_total"]


def test_fast_fit_float32_and_bad_arguments():
    from linclass.reference.classifiers import LinearClassifier
    from linclass.reference.losses import svm_loss_vectorized
    from linclass.reference.tuning import fast_fit
    X, y = blobs(300, 7, noise=1.0)
    model, _ = fast_fit(Softmax, X.astype(np.float32), y, X.astype(np.float32), y, epochs=1,
                        batch_size=50, workers=1)
    assert model.W.dtype == np.float32
    with pytest.raises(ValueError, match="model_cls"):
        fast_fit(lambda: LinearClassifier(svm_loss_vectorized), X, y, X, y)
    with pytest.raises(ValueError, match="batch_size"):
        fast_fit(LinearSVM, X, y, X, y, batch_size=1000)
    with pytest.raises(ValueError, match="momentum"):
        fast_fit(LinearSVM, X, y, X, y, batch_size=50, momentum=1.0)
    with pytest.raises(ValueError, match="learning_rate"):
        fast_fit(LinearSVM, X, y, X, y, batch_size=50, learning_rate=0.0)
    with pytest.raises(ValueError, match="epochs"):
        fast_fit(LinearSVM, X, y, X, y, batch_size=50, epochs=0)


# --- random search on a log scale -----------------------------------------------------------

def test_random_search_draws_on_a_log_scale_inside_the_ranges():
    X_train, y_train = blobs(200, 5)
    X_val, y_val = blobs(100, 6)
    results, best_model, best_val = random_search(Softmax, X_train, y_train, X_val, y_val,
                                                  learning_rate_range=(1e-4, 1e-1), reg_range=(1e-3, 1e1),
                                                  num_trials=40, num_iters=5, batch_size=20, seed=3)
    assert len(results) == 40
    lrs = np.log10([lr for lr, _ in results])
    regs = np.log10([reg for _, reg in results])
    assert lrs.min() >= -4 and lrs.max() <= -1 and regs.min() >= -3 and regs.max() <= 1
    # On a log scale every decade is drawn about equally often: each of the 3 decades of lr
    # holds between 6 and 22 of the 40 draws (a linear draw would put about 36 in the top one).
    counts = np.histogram(lrs, bins=[-4, -3, -2, -1])[0]
    assert counts.min() >= 6 and counts.max() <= 22, counts
    assert best_val == max(v for _, v in results.values()) and isinstance(best_model, Softmax)
    again = random_search(Softmax, X_train, y_train, X_val, y_val, (1e-4, 1e-1), (1e-3, 1e1),
                          num_trials=40, num_iters=5, batch_size=20, seed=3)[0]
    assert again == results


def test_random_search_trains_the_best_pair_longer():
    X_train, y_train = blobs(400, 7)
    X_val, y_val = blobs(200, 8)
    results, short_model, short_val = random_search(LinearSVM, X_train, y_train, X_val, y_val, (1e-4, 1e-3),
                                                    (1e-4, 1e-3), num_trials=3, num_iters=2, batch_size=50)
    _, long_model, long_val = random_search(LinearSVM, X_train, y_train, X_val, y_val, (1e-4, 1e-3),
                                            (1e-4, 1e-3), num_trials=3, num_iters=2, final_iters=300,
                                            batch_size=50)
    assert long_val > short_val and long_val == long_model.accuracy(X_val, y_val)
    assert long_val > max(v for _, v in results.values())


@pytest.mark.parametrize("bad, match", [
    ({"learning_rate_range": (0.0, 1e-3)}, "learning_rate_range"),
    ({"learning_rate_range": (1e-2, 1e-3)}, "learning_rate_range"),
    ({"reg_range": "big"}, "reg_range"),
    ({"num_trials": 0}, "num_trials"),
    ({"final_iters": 0}, "final_iters"),
])
def test_random_search_bad_input(bad, match):
    X_train, y_train = blobs(50, 9)
    args = {"learning_rate_range": (1e-4, 1e-3), "reg_range": (1e-4, 1e-3), "num_trials": 1, "num_iters": 1,
            "batch_size": 10, **bad}
    with pytest.raises(ValueError, match=match):
        random_search(Softmax, X_train, y_train, X_train, y_train, **args)
