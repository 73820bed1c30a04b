"""linclass: the reference code for the lecture "Loss functions and linear classification"."""

__version__ = "0.1.0"

from .losses import (
    svm_loss_naive,
    svm_loss_vectorized,
    softmax_loss_naive,
    softmax_loss_vectorized,
    svm_loss_from_scores,
    softmax_loss_from_scores,
    svm_loss_variant,
    binary_loss,
)
from .regularizers import l2, l1, elastic_net, max_norm_project
from .gradcheck import eval_numerical_gradient, grad_check_sparse, rel_error, check_gradient
