"""The answer key as the grader sees it: the one place that knows where it is.

The answer key is the package ``linclass.reference`` (a folder). Everything the grader needs
to keep it away from students is derived here from that folder, never from a hand-kept list
of files:

- :func:`folder`: where it is; :func:`is_answer_key_file` tells whether code ran from it;
- :func:`fingerprints`: the code fingerprint of every function and method in every module
  of the folder, so a copy compiled in a notebook is recognised;
- :func:`hidden_paths`: what the grading sandbox must not show although it lies inside the
  folders it mounts: the answer key itself, the compiler its kernels need, and the grader's
  own package (the sandbox shows only the harness scripts of it);
- :func:`reference`: the reference implementation of a graded function, for the grader's
  own process only.
"""
from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import pkgutil
from pathlib import Path
from typing import Callable

PACKAGE = "linclass.reference"
KIT_PACKAGE = "linclass"
# The compiled kernels (linclass/reference/_kernels.py) are built with numba on llvmlite.
# A call into compiled code runs no Python line that a tracer could attribute to the answer
# key, so the compiler is hidden from graded code together with the kernels.
COMPILER_PACKAGES = ("numba", "llvmlite")


def _package_folder(name: str) -> Path:
    spec = importlib.util.find_spec(name)  # finds the folder without running the package
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the package {name} is not installed; install linclass with its answer key")
    return Path(list(spec.submodule_search_locations)[0]).resolve()


@functools.lru_cache(maxsize=1)
def folder() -> Path:
    """The answer key's folder (``linclass/reference``), resolved."""
    return _package_folder(PACKAGE)


@functools.lru_cache(maxsize=1)
def kit_folder() -> Path:
    """The student kit's folder (``linclass``), resolved; the answer key lies inside it."""
    return _package_folder(KIT_PACKAGE)


@functools.lru_cache(maxsize=1)
def grader_folder() -> Path:
    """The grader's package folder (``autograder``), resolved."""
    return Path(__file__).resolve().parent


def is_answer_key_file(path: str | Path) -> bool:
    """True when path (a code object's file name) lies inside the answer key's folder."""
    try:
        resolved = Path(path).resolve()
    except (OSError, ValueError):
        return False
    return resolved == folder() or folder() in resolved.parents


def module_names() -> list[str]:
    """Every module of the answer key, found in its folder: ``linclass.reference.losses``, ..."""
    return sorted(f"{PACKAGE}.{m.name}" for m in pkgutil.iter_modules([str(folder())]))


def reference(function_name: str) -> Callable:
    """The reference implementation of a graded loss (the naive ones map to the vectorized)."""
    from linclass.reference import losses

    return getattr(losses, function_name.replace("_naive", "_vectorized"))


@functools.lru_cache(maxsize=1)
def fingerprints() -> dict[str, str]:
    """{code fingerprint: "linclass.reference.module.function"} for every function and method
    defined in a module of the answer key (compiled kernels by their Python source)."""
    from autograder.harness.calls import code_fingerprint

    found: dict[str, str] = {}
    for module_name in module_names():
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # the compiler of the kernels may be missing; nothing to compare
            continue
        for name, obj in vars(module).items():
            members = [(name, obj)]
            if inspect.isclass(obj) and obj.__module__ == module.__name__:
                members = [(f"{name}.{k}", v) for k, v in vars(obj).items()]
            for qualname, member in members:
                member = getattr(member, "py_func", member)  # a numba dispatcher's Python function
                if inspect.isfunction(member) and member.__module__ == module.__name__:
                    fingerprint = code_fingerprint(member)
                    if fingerprint:
                        found.setdefault(fingerprint, f"{module_name}.{qualname}")
    return found


def hidden_paths() -> list[Path]:
    """What the grading sandbox hides although it lies inside a folder the sandbox shows.

    The answer key's folder, the compiler packages its kernels use, and the grader's own
    package (an installed, non-editable linclass puts it in site-packages; the sandbox shows
    only its harness scripts, mounted on top). Only paths that exist are returned.
    """
    out = [folder(), grader_folder()]
    for name in COMPILER_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            out += [Path(p).resolve() for p in spec.submodule_search_locations]
    return [p for p in out if p.exists()]
