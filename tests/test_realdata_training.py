"""On the JPEG copy of CIFAR-10, CS231n's default settings reach the lecture's accuracies.

lr 1e-7, reg 2.5e4, 1500 iterations of batch 200 (the assignment's defaults) gave about
0.36 (SVM) and 0.30 (softmax) validation accuracy with another implementation.
"""
import pytest

from linclass.reference.classifiers import LinearSVM, Softmax

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


@pytest.fixture(scope="module")
def cifar(real_data_dir):
    from linclass.data import get_cifar10_data
    return get_cifar10_data(real_data_dir, num_dev=0, num_test=0)


@pytest.mark.parametrize("cls, minimum", [(LinearSVM, 0.34), (Softmax, 0.29)])
def test_cs231n_defaults_reach_lecture_accuracy(cifar, cls, minimum):
    model = cls()
    history = model.train(cifar["X_train"], cifar["y_train"], learning_rate=1e-7, reg=2.5e4,
                          num_iters=1500, batch_size=200, seed=0)
    assert history[-1] < history[0]
    val = model.accuracy(cifar["X_val"], cifar["y_val"])
    assert val >= minimum, f"{cls.__name__} validation accuracy {val:.3f} < {minimum}"
    print(f"{cls.__name__}: validation accuracy {val:.3f}")
