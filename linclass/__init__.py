"""linclass: the student kit for the lecture "Loss functions and linear classification".

Import the module you need; the package itself loads nothing, so ``import linclass.data``
stays fast.

- ``linclass.data``: CIFAR-10 download, loading, the CS231n split, synthetic data
- ``linclass.gradcheck``: numerical gradients and gradient checks
- ``linclass.plots``: class templates, loss curves, search results, score tables
- ``linclass.checks``: the visible checks the assignments' test cells run
- ``linclass.selfcheck``: the check before submitting (``python -m linclass.selfcheck svm.ipynb``)

The losses, the gradients and the training steps are yours to write in the assignments.
"""

__version__ = "0.1.0"
