"""The answer key: linclass's reference implementations.

Everything that computes a graded answer lives in this folder, and only here: the losses
and their gradients, the regularizers, the linear classifiers and their training, the
hyperparameter search, the fast path and its compiled kernels, and the lecture demo's
loss math. The grader compares students' functions with these.

This folder never reaches a student: the student release (``python3 tasks.py release``)
ships ``linclass`` without it, and the grading sandbox does not show it. Nothing in the
student kit (the rest of ``linclass``) imports it; a test checks that direction.

- ``losses``, ``regularizers``: the losses and regularizers with gradients
- ``classifiers``, ``tuning``: linear classifiers, SGD, hyperparameter search, ``fast_fit``
- ``fast``: fast full-batch loss and gradient for large N (compiled kernels in ``_kernels``)
- ``demo``: the interactive linear-classifier demo of the lectures
"""
