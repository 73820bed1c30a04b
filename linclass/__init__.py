"""linclass: the reference code for the lecture "Loss functions and linear classification"."""

__version__ = "0.1.0"
