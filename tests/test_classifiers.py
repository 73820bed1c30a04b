"""LinearClassifier, LinearSVM and Softmax: training, prediction, saving, float32."""
import numpy as np
import pytest

from linclass.reference.classifiers import LinearClassifier, LinearSVM, Softmax
from linclass.reference.losses import softmax_loss_vectorized, svm_loss_vectorized

MODELS = [LinearSVM, Softmax]


def blobs(N=300, D=10, C=3, seed=0, dtype=np.float64):
    """Linearly separable classes: well separated Gaussian blobs, with a bias column."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((C, D)) * 4
    y = rng.integers(0, C, N)
    X = centers[y] + 0.3 * rng.standard_normal((N, D))
    return np.hstack([X, np.ones((N, 1))]).astype(dtype), y


@pytest.mark.parametrize("cls", MODELS)
@pytest.mark.parametrize("sampling", ["replacement", "epoch"])
def test_training_lowers_the_loss_and_separates(cls, sampling):
    X, y = blobs()
    model = cls()
    history = model.train(X, y, learning_rate=1e-2, reg=1e-4, num_iters=200, batch_size=32,
                          seed=0, sampling=sampling)
    assert len(history) == 200 and all(isinstance(h, float) for h in history)
    assert np.mean(history[-20:]) < 0.2 * np.mean(history[:5])
    assert model.accuracy(X, y) == 1.0


def test_epoch_sampling_with_a_custom_loss_sees_every_row_once_per_epoch():
    # A LinearClassifier with its own loss_fn gets arrays, not row indices, in epoch mode.
    X, y = blobs(N=60)
    seen = []

    def loss_fn(W, X_batch, y_batch, reg):
        seen.append(X_batch[:, 0].copy())
        return svm_loss_vectorized(W, X_batch, y_batch, reg)

    LinearClassifier(loss_fn).train(X, y, learning_rate=1e-3, num_iters=3, batch_size=20, seed=0,
                                    sampling="epoch")
    assert [len(s) for s in seen] == [20, 20, 20]
    assert sorted(np.concatenate(seen)) == sorted(X[:, 0])


@pytest.mark.parametrize("cls", MODELS)
def test_first_loss_is_the_chance_value(cls):
    # With W ~ 0.001 * randn the scores are almost 0: SVM loss C - 1, softmax loss log C.
    X, y = blobs(C=4)
    history = cls().train(X, y, learning_rate=1e-6, reg=0.0, num_iters=1, batch_size=300, seed=0)
    expected = 3.0 if cls is LinearSVM else np.log(4)
    assert history[0] == pytest.approx(expected, abs=0.1)


def test_custom_loss_fn_and_same_seed_same_result():
    X, y = blobs()
    a = LinearClassifier(svm_loss_vectorized)
    b = LinearSVM()
    ha = a.train(X, y, learning_rate=1e-3, num_iters=30, seed=5)
    hb = b.train(X, y, learning_rate=1e-3, num_iters=30, seed=5)
    np.testing.assert_allclose(ha, hb, rtol=1e-12)
    np.testing.assert_allclose(a.W, b.W, rtol=1e-12)
    c = Softmax()
    c.train(X, y, learning_rate=1e-3, num_iters=30, seed=6)
    assert not np.allclose(c.W, b.W)


@pytest.mark.parametrize("cls", MODELS)
def test_epoch_kernel_matches_vectorized_loss(cls):
    # One full-batch step: "epoch" sampling with batch_size=N sees every row once, so its
    # first loss is the vectorized loss at the initial W.
    X, y = blobs(N=50)
    model = cls()
    history = model.train(X, y, learning_rate=1e-9, reg=0.3, num_iters=1, batch_size=50,
                          seed=2, sampling="epoch")
    W0 = 0.001 * np.random.default_rng(2).standard_normal((X.shape[1], 3))
    loss_fn = svm_loss_vectorized if cls is LinearSVM else softmax_loss_vectorized
    assert history[0] == pytest.approx(float(loss_fn(W0, X, y, 0.3)[0]), rel=1e-10)


def test_predict_and_accuracy():
    model = LinearSVM()
    model.W = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    X = np.array([[3.0, 1.0, 0.0], [0.0, 0.0, 2.0], [0.0, 5.0, 1.0], [1.0, 2.0, 0.0]])
    pred = model.predict(X)
    assert pred.dtype == np.int64 and pred.shape == (4,)
    np.testing.assert_array_equal(pred, [0, 2, 1, 1])
    assert model.accuracy(X, np.array([0, 2, 1, 0])) == 0.75


def test_lr_decay_max_norm_and_momentum():
    X, y = blobs()
    model = LinearSVM()
    model.train(X, y, learning_rate=1e-1, num_iters=100, seed=0, max_norm=0.5, momentum=0.9,
                lr_decay=0.5, decay_every=10)
    assert np.all(np.linalg.norm(model.W, axis=0) <= 0.5 + 1e-12)
    assert model.accuracy(X, y) > 0.9
    # A decayed learning rate moves W less than a constant one, from the same start.
    slow, fast = LinearSVM(), LinearSVM()
    slow.train(X, y, learning_rate=1e-3, num_iters=50, seed=1, lr_decay=0.1, decay_every=1)
    fast.train(X, y, learning_rate=1e-3, num_iters=50, seed=1)
    W0 = 0.001 * np.random.default_rng(1).standard_normal(slow.W.shape)
    assert np.linalg.norm(slow.W - W0) < np.linalg.norm(fast.W - W0)


def test_training_continues_from_current_W():
    X, y = blobs()
    model = Softmax()
    first = model.train(X, y, learning_rate=1e-2, num_iters=50, seed=0)
    second = model.train(X, y, learning_rate=1e-2, num_iters=50, seed=0)
    assert second[0] < first[0]


@pytest.mark.parametrize("cls", MODELS)
@pytest.mark.parametrize("sampling", ["replacement", "epoch"])
def test_float32_end_to_end(cls, sampling, tmp_path):
    X, y = blobs(dtype=np.float32)
    model = cls()
    history = model.train(X, y, learning_rate=1e-2, num_iters=100, batch_size=32, seed=0,
                          sampling=sampling, momentum=0.5)
    assert model.W.dtype == np.float32
    assert model.scores(X).dtype == np.float32
    assert model.accuracy(X, y) == 1.0
    assert np.isfinite(history).all()
    model.save(tmp_path / "m.npz")
    assert LinearClassifier.load(tmp_path / "m.npz").W.dtype == np.float32


@pytest.mark.parametrize("cls", [LinearSVM, Softmax, LinearClassifier])
def test_save_load_round_trip(cls, tmp_path):
    X, y = blobs()
    model = cls(svm_loss_vectorized) if cls is LinearClassifier else cls()
    model.train(X, y, learning_rate=1e-2, num_iters=20, seed=0)
    model.save(tmp_path / "model")          # numpy adds .npz
    for path in (tmp_path / "model.npz", tmp_path / "model", str(tmp_path / "model.npz")):
        loaded = LinearClassifier.load(path)
        assert type(loaded) is cls
        np.testing.assert_array_equal(loaded.W, model.W)
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_load_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no saved classifier"):
        LinearClassifier.load(tmp_path / "missing.npz")
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"this is not a zip file")
    with pytest.raises(ValueError, match="not a classifier saved"):
        LinearClassifier.load(corrupt)
    other = tmp_path / "other.npz"
    np.savez(other, weights=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="not a classifier saved"):
        LinearClassifier.load(other)
    alien = tmp_path / "alien.npz"
    np.savez(alien, W=np.zeros((3, 2)), class_name=np.array("os.system"))
    with pytest.raises(ValueError, match="os.system"):
        LinearClassifier.load(alien)


def test_bad_arguments_named():
    X, y = blobs()
    model = LinearSVM()
    with pytest.raises(ValueError, match="no weights yet"):
        model.predict(X)
    cases = [
        (dict(learning_rate=0.0), "learning_rate"), (dict(reg=-1.0), "reg"),
        (dict(num_iters=0), "num_iters"), (dict(batch_size=2.5), "batch_size"),
        (dict(lr_decay=1.5), "lr_decay"), (dict(max_norm=0.0), "max_norm"),
        (dict(momentum=1.0), "momentum"), (dict(sampling="bootstrap"), "sampling"),
        (dict(sampling="epoch", batch_size=1000), "batch_size"),
    ]
    for kwargs, name in cases:
        with pytest.raises(ValueError, match=name):
            model.train(X, y, **kwargs)
    with pytest.raises(ValueError, match="y"):
        model.train(X, y[:-1])
    with pytest.raises(ValueError, match="y"):
        model.train(X, y.astype(float))
    with pytest.raises(ValueError, match="X"):
        model.train(X[0], y)
    with pytest.raises(ValueError, match="loss"):
        LinearClassifier().train(X, y, num_iters=1)
    model.train(X, y, num_iters=1)
    with pytest.raises(ValueError, match="bias column"):
        model.predict(X[:, :-1])


def svm_loss_in_float64(W, X, y, reg):
    """A custom loss that returns float64 whatever the dtype of W and X."""
    loss, dW = svm_loss_vectorized(W, X, y, reg)
    return float(loss), dW.astype(np.float64)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("make", [LinearSVM, lambda: LinearClassifier(svm_loss_in_float64)],
                         ids=["LinearSVM", "custom-float64-loss"])
def test_plain_loop_and_careful_loop_take_the_same_steps(make, dtype):
    # train() runs its plain CS231n loop unless an option needs the careful one; an option
    # that leaves the steps alone (a progress bar) must not change W by a bit, also for a
    # custom loss that returns float64 gradients for a float32 W.
    X, y = blobs(dtype=dtype)
    plain, careful = make(), make()
    h_plain = plain.train(X, y, learning_rate=1e-2, reg=1e-3, num_iters=40, batch_size=32, seed=7)
    h_careful = careful.train(X, y, learning_rate=1e-2, reg=1e-3, num_iters=40, batch_size=32, seed=7,
                              progress=True)
    assert h_plain == h_careful
    np.testing.assert_array_equal(plain.W, careful.W)
    assert plain.W.dtype == careful.W.dtype == dtype
