"""linclass: the reference code for the lecture "Loss functions and linear classification".

Import the module you need; the package itself loads nothing, so ``import linclass.data``
stays fast and does not put the reference answers in a student's namespace.

- ``linclass.data``: CIFAR-10 download, loading, the CS231n split, synthetic data
- ``linclass.reference.losses``, ``linclass.reference.regularizers``: the losses and regularizers with gradients
- ``linclass.gradcheck``: numerical gradients and gradient checks
- ``linclass.reference.classifiers``, ``linclass.reference.tuning``: linear classifiers, SGD, hyperparameter search
- ``linclass.reference.fast``: fast full-batch loss and gradient for large N (compiled kernels in
  ``linclass.reference._kernels``)
- ``linclass.plots``: class templates, loss curves, search results, score tables
- ``linclass.grading``: the checks hidden tests and the autograder run on students' functions
- ``linclass.reference.demo``: the interactive linear-classifier demo
"""

__version__ = "0.1.0"
