"""Calling a student's function: the part of the grader that runs next to student code.

This module runs inside the grading sandbox (imported by ``probe.py``) and, for plain
``nbgrader autograde``, inside the student's kernel (imported by ``autograder.hidden``). It
imports only numpy and the standard library, and holds no reference answer: it calls the
student's function on inputs it is given, traces which lines run, and fingerprints code.

- :func:`run_case`: call a graded function on one case's inputs (copied first).
- :func:`traced_call`: the same under a line tracer; counts the Python line events that run
  in the student's own code (not in numpy, the standard library or installed packages).
- :func:`code_fingerprint`: a digest of what a function's code does, blind to file names,
  line numbers and docstrings.
- :func:`probe_loss`: the simple squared-error loss ``sgd_step`` is called with.
"""
from __future__ import annotations

import hashlib
import sys
import sysconfig
import types
import warnings
from pathlib import Path

import numpy as np


def strip_magics(source: str) -> str:
    """IPython-only lines (%magic, !shell) are not Python; comment them out."""
    return "\n".join("# " + line if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


def probe_loss(W, X, y, reg):
    """A simple squared-error loss that ``sgd_step`` is graded with.

    Inputs: W (D, C), X (N, D), y (N,) ints in [0, C), reg float.
    Returns (loss float, dW of shape (D, C)): the mean over examples of
    0.5 * ||X[i] @ W - onehot(y[i])||^2, plus reg * sum(W * W).
    """
    N = X.shape[0]
    diff = X @ W
    diff[np.arange(N), y] -= 1.0
    loss = 0.5 * np.sum(diff * diff) / N + reg * np.sum(W * W)
    dW = X.T @ diff / N + 2 * reg * W
    return float(loss), dW


def _copy(value):
    return value.copy() if isinstance(value, np.ndarray) else value


def call_args(function_name: str, inputs: dict) -> list:
    """The positional arguments of one call, copied, from a case's inputs (in call order).

    ``sgd_step`` gets :func:`probe_loss` for its ``loss_fn``; ``sample_batch`` gets a fresh
    ``np.random.Generator`` seeded with ``rng_seed``.
    """
    args: list = []
    for key, value in inputs.items():
        if key == "loss_fn":
            args.append(probe_loss)
        elif key == "rng_seed":
            args.append(np.random.default_rng(int(value)))
        else:
            args.append(_copy(value))
    return args


def run_case(fn, function_name: str, inputs: dict):
    """Call a student's function on one case; return what it returned.

    ``sample_batch`` is random, so it is called three times: with a generator seeded with
    ``rng_seed``, again with the same seed, and with another seed; the result is a dict
    ``{"batch", "same_seed", "other_seed"}``. Inputs are copied first, so a function that
    changes its arguments cannot spoil the comparison. Exceptions propagate.
    """
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if function_name == "sample_batch":
            seed = int(inputs["rng_seed"])
            out = {}
            for key, s in (("batch", seed), ("same_seed", seed), ("other_seed", seed + 1)):
                out[key] = fn(*call_args(function_name, {**inputs, "rng_seed": s}))
            return out
        return fn(*call_args(function_name, inputs))


# ------------------------------------------------------------------------------ tracing

def library_prefixes(extra_folders=()) -> tuple[str, ...]:
    """Folder prefixes whose code is "library", not the student's: the standard library,
    the installed packages, and extra_folders (for example the student kit)."""
    paths = sysconfig.get_paths()
    prefixes = {str(Path(paths[key]).resolve()) for key in ("stdlib", "platstdlib", "purelib", "platlib")
                if key in paths}
    prefixes.update(str(Path(p).resolve()) for p in extra_folders)
    # A folder prefix must end with a separator, or /x/lib would also claim /x/library.
    return tuple(sorted(p.rstrip("/\\") + "/" for p in prefixes if len(p) > 1))


def _make_tracer(prefixes: tuple[str, ...], counts: dict, called_files: set):
    library_cache: dict[str, bool] = {}

    def is_library(filename: str) -> bool:
        hit = library_cache.get(filename)
        if hit is None:
            resolved = filename
            if not filename.startswith("<"):
                try:
                    resolved = str(Path(filename).resolve())
                except OSError:
                    pass
            hit = filename.startswith("<frozen") or resolved.startswith(prefixes)
            library_cache[filename] = hit
            if hit:
                called_files.add(resolved)
        return hit

    def local(frame, event, arg):
        if event == "line":
            counts["events"] += 1
        return local

    def tracer(frame, event, arg):
        if is_library(frame.f_code.co_filename):
            return None  # no line events inside numpy, the standard library or the kit
        counts["events"] += 1
        return local

    return tracer


def traced_call(fn, args: list, prefixes: tuple[str, ...]):
    """Call fn(*args) under a line tracer.

    Returns (events: int, called_files: set of library files that ran, error: str or None,
    output or None). events counts Python line and call events in code outside prefixes.
    """
    counts = {"events": 0}
    called: set[str] = set()
    tracer = _make_tracer(prefixes, counts, called)
    previous = sys.gettrace()
    error, output = None, None
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        sys.settrace(tracer)
        try:
            output = fn(*args)
        except Exception as err:  # the verdict reports it; the grader must keep going
            error = f"{type(err).__name__}: {err}"
        finally:
            sys.settrace(previous)
    return counts["events"], called, error, output


def own_calls(fn, args: list, cell_prefix: str = "<cell") -> list[str]:
    """Names of the student's own Python functions (code compiled from answer cells) that
    one call runs; exceptions from the call are swallowed (only the calls matter here)."""
    seen: set[str] = set()

    def profiler(frame, event, arg):
        if event == "call" and frame.f_code.co_filename.startswith(cell_prefix):
            seen.add(frame.f_code.co_name)

    previous = sys.getprofile()
    sys.setprofile(profiler)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            fn(*args)
    except BaseException:
        pass
    finally:
        sys.setprofile(previous)
    return sorted(seen)


def defined_in(fn) -> str | None:
    """The file name of fn's code (after functools.wraps), or None when fn is not Python code."""
    code = getattr(getattr(fn, "__wrapped__", fn), "__code__", None)
    return None if not isinstance(code, types.CodeType) else code.co_filename


def code_fingerprint(fn) -> str | None:
    """sha256 of what a function's code does, or None when fn is not a Python function.

    Bytecode, names, local variable names and constants go in, nested functions included;
    the file name, the line numbers and the docstring stay out. So two functions compiled
    from the same source text get the same fingerprint wherever and under whatever file
    name they were compiled, while code a student wrote differs in at least a name.
    """
    fn = getattr(fn, "__wrapped__", fn)
    code = getattr(fn, "__code__", None)
    if not isinstance(code, types.CodeType):
        return None
    digest = hashlib.sha256()
    doc = getattr(fn, "__doc__", None)

    def feed(c, docstring):
        digest.update(c.co_code)
        digest.update(repr((c.co_names, c.co_varnames)).encode())
        for const in c.co_consts:
            if isinstance(const, types.CodeType):
                feed(const, None)
            elif not (docstring is not None and const == docstring):
                digest.update(repr(const).encode())

    feed(code, doc)
    return digest.hexdigest()
