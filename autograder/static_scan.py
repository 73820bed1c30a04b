"""Read an answer cell's code, without running it, for constructs an honest answer never needs.

An answer cell of these assignments computes a loss with numpy. Code that reaches into the
interpreter's machinery (tracing and profiling hooks, threads and processes, frames and code
objects, exec and compile, the module table, builtins, signals, exit handlers, the garbage
collector, IPython's own hooks), replaces a function of a library module, imports the answer
key or the grader, or opens files outside its own folder can fool a check run in the same
process. Such a cell is not scored down here: it is sent to a person ("needs a person"),
with each construct named, and its functions earn no automatic speed points.

:func:`scan` returns the findings of one cell's source; the honest notebooks (the solutions
and the sample submissions) have none, and a test keeps it so.
"""
from __future__ import annotations

import ast

from autograder.harness.calls import strip_magics

# Modules whose import alone is a finding: none of them has a use in a loss function.
MACHINERY_MODULES = {
    "threading", "_thread", "multiprocessing", "concurrent", "ctypes", "cffi", "atexit", "signal",
    "gc", "inspect", "builtins", "importlib", "subprocess", "socket", "code", "codeop", "dis",
    "marshal", "types", "faulthandler", "resource", "sysconfig", "site", "tracemalloc", "trace",
    "IPython", "ipykernel", "linclass.reference", "autograder", "pty", "fcntl", "mmap", "shutil",
    "tempfile", "pickle", "io", "pathlib", "glob", "asyncio",
}
# Attribute names that only machinery uses.
MACHINERY_ATTRIBUTES = {
    "settrace", "setprofile", "gettrace", "getprofile", "excepthook", "meta_path", "path_hooks",
    "_getframe", "f_back", "f_globals", "f_locals", "f_code", "f_trace", "tb_frame", "gi_frame",
    "cr_frame", "__code__", "__globals__", "__builtins__", "__closure__", "co_code", "co_filename",
    "co_consts", "__subclasses__", "__import__", "__loader__", "__spec__", "get_ipython",
    "register_magic_function", "input_transformers_post", "input_transformers_cleanup",
    "showtraceback", "set_custom_exc",
}
# Anything reached through these names (the operating system, the interpreter) is a finding,
# and so is reaching these modules as an attribute of another (np.testing._private.utils.sys).
MACHINERY_BASES = {"os", "sys", "posix", "nt"}
MACHINERY_MODULE_ATTRIBUTES = {"os", "sys", "builtins", "modules", "_private", "posix", "nt", "gc",
                               "inspect", "threading", "ctypes", "signal", "atexit", "importlib"}
# Dunder attributes plain numpy code may use.
PLAIN_DUNDERS = {"__init__", "__name__", "__doc__", "__len__", "__call__", "__repr__", "__str__"}
# Calls that reach an attribute by a name computed at run time.
DYNAMIC_ATTRIBUTE_CALLS = {"getattr", "hasattr", "setattr", "delattr"}
# Calls of these names (bare) are findings.
MACHINERY_CALLS = {"exec", "eval", "compile", "__import__", "globals", "vars", "locals", "setattr",
                   "delattr", "open", "breakpoint", "get_ipython", "exit", "quit", "input"}


# Names the release's setup cell binds to modules (answer cells use them without importing).
SETUP_MODULES = {"np", "numpy", "plt", "matplotlib", "linclass", "gradcheck", "plots", "checks", "math",
                 "time", "os", "sys"}


def _flat(targets):
    for target in targets:
        if isinstance(target, (ast.Tuple, ast.List)):
            yield from _flat(target.elts)
        elif isinstance(target, ast.Starred):
            yield from _flat([target.value])
        else:
            yield target


def _module_of(node: ast.AST) -> str | None:
    """The dotted name an attribute chain starts from (``np.testing.x`` -> ``np``)."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _parse(source: str) -> ast.Module | None:
    """The AST of an answer cell's code (IPython magics commented out), or None when it does
    not parse: such code fails on its own when it runs."""
    try:
        return ast.parse(strip_magics(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def scan(source: str) -> list[str]:
    """The constructs in one answer cell's source that an honest answer never needs.

    Returns a sorted list of short findings ("sys.settrace at line 3"); empty when none.
    Code that does not parse gives no findings (it fails on its own when it runs).
    """
    tree = _parse(source)
    if tree is None:
        return []
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                imported.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.update(alias.asname or alias.name for alias in node.names)
            imported.add(node.module.split(".")[0])
    findings: set[str] = set()
    for node in ast.walk(tree):
        line = getattr(node, "lineno", "?")
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _is_machinery_module(alias.name):
                    findings.add(f"import {alias.name} at line {line}")
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            if node.level or _is_machinery_module(node.module or ""):
                findings.add(f"from {module} import ... at line {line}")
            elif node.module == "sys":
                findings.add(f"from sys import ... at line {line}")
        elif isinstance(node, ast.Attribute) and (
                node.attr in MACHINERY_ATTRIBUTES or node.attr in MACHINERY_MODULE_ATTRIBUTES
                or (node.attr.startswith("__") and node.attr not in PLAIN_DUNDERS)
                or node.attr.startswith(("co_", "f_", "tb_", "gi_", "cr_"))
                or (isinstance(node.value, ast.Name) and node.value.id in MACHINERY_BASES)):
            findings.add(f"{ast.unparse(node)[:60]} at line {line}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in DYNAMIC_ATTRIBUTE_CALLS and len(node.args) >= 2:
            name = node.args[1]
            if not (isinstance(name, ast.Constant) and isinstance(name.value, str)) or name.value.startswith("_"):
                findings.add(f"{node.func.id}() with the name {ast.unparse(name)[:40]} at line {line}")
        elif isinstance(node, ast.keyword) and node.arg and node.arg.startswith("co_"):
            findings.add(f"{node.arg}= at line {getattr(node.value, 'lineno', '?')}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in MACHINERY_CALLS:
            findings.add(f"{node.func.id}() at line {line}")
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in _flat(targets):
                # Only the target itself: np.allclose = f replaces a library function, while
                # margins[np.arange(N), y] = 0 merely uses one in an index.
                if isinstance(target, ast.Attribute) and _module_of(target) in imported | SETUP_MODULES:
                    findings.add(f"replaces {ast.unparse(target)[:60]} at line {line}")
        elif isinstance(node, ast.Name) and node.id in ("__builtins__", "__loader__", "__spec__"):
            findings.add(f"{node.id} at line {line}")
    return sorted(findings)


def _is_machinery_module(name: str) -> bool:
    parts = name.split(".")
    return any(".".join(parts[:i]) in MACHINERY_MODULES for i in range(1, len(parts) + 1)) or name == "sys"


# ------------------------------------------------------------------ loops over examples

def _mentions(node: ast.AST, names: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node))


def _is_example_count(node: ast.AST, examples: set[str], sizes: set[str]) -> bool:
    """X.shape[0], len(X), y.size, or a name bound to one of them."""
    if isinstance(node, ast.Name):
        return node.id in sizes
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "shape":
        index = node.slice
        return _mentions(node.value.value, examples) and isinstance(index, ast.Constant) and index.value == 0
    if isinstance(node, ast.Attribute) and node.attr == "size":
        return isinstance(node.value, ast.Name) and node.value.id in examples - {"X"}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len":
        return bool(node.args) and _mentions(node.args[0], examples)
    return False


def _size_names(fn: ast.FunctionDef, examples: set[str]) -> set[str]:
    sizes: set[str] = set()
    for _ in range(2):  # names bound to names bound to the count
        for node in ast.walk(fn):
            if not isinstance(node, ast.Assign):
                continue
            value = node.value
            for target in node.targets:
                if isinstance(target, ast.Name) and _is_example_count(value, examples, sizes):
                    sizes.add(target.id)
                elif (isinstance(target, ast.Tuple) and target.elts and isinstance(target.elts[0], ast.Name)
                      and isinstance(value, ast.Attribute) and value.attr == "shape"
                      and _mentions(value.value, examples)):
                    sizes.add(target.elts[0].id)  # N, D = X.shape
    return sizes


def _iterates_examples(it: ast.AST, examples: set[str], sizes: set[str]) -> bool:
    if isinstance(it, ast.Name):
        return it.id in examples
    if isinstance(it, ast.Call) and isinstance(it.func, ast.Name):
        if it.func.id == "range":
            return any(_is_example_count(a, examples, sizes) or _mentions(a, sizes) for a in it.args)
        if it.func.id in ("zip", "enumerate", "reversed", "iter", "list"):
            return any(_iterates_examples(a, examples, sizes) for a in it.args)
    if isinstance(it, ast.Call) and isinstance(it.func, ast.Attribute) and it.func.attr in ("arange",):
        return any(_is_example_count(a, examples, sizes) or _mentions(a, sizes) for a in it.args)
    return False


def _indexes_examples(loop: ast.For | ast.AsyncFor, examples: set[str]) -> bool:
    """True when the loop's variable picks rows of the examples: X[i], y[i], X[i:i + 1]."""
    variables = {n.id for n in ast.walk(loop.target) if isinstance(n, ast.Name)}
    for node in ast.walk(ast.Module(body=loop.body, type_ignores=[])):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in examples:
            first = node.slice.elts[0] if isinstance(node.slice, ast.Tuple) and node.slice.elts else node.slice
            if _mentions(first, variables):
                return True
    return False


def loops_over_examples(source: str, function_name: str, also: tuple[str, ...] = (),
                        examples: tuple[str, ...] = ("X", "y")) -> list[str]:
    """Loops over the examples in a function's code, read without running it.

    source: the answer cells' code; function_name: the function to read; also: other
    functions of the same code it calls (read too); examples: the argument names whose
    first axis is the examples. A loop over ``range(N)`` (N bound to ``X.shape[0]`` or
    ``len(y)``), over ``X``, ``y``, ``zip(X, y)`` or ``enumerate(X)``, or a ``while`` whose
    test names N, is a finding ("for loop over the examples at line 7"). Loops over the
    classes or over a constant are not.
    """
    tree = _parse(source)
    if tree is None:
        return []
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    findings: list[str] = []
    for name in (function_name, *also):
        fn = defs.get(name)
        if fn is None:
            continue
        params = {a.arg for a in fn.args.args}
        names = {e for e in examples if e in params} or set(examples)
        sizes = _size_names(fn, names)
        where = "" if name == function_name else f" (in {name}, which it calls)"
        for node in ast.walk(fn):
            if isinstance(node, (ast.For, ast.AsyncFor)) and (_iterates_examples(node.iter, names, sizes)
                                                            or _indexes_examples(node, names)):
                findings.append(f"a for loop over the examples at line {node.lineno}{where}")
            elif isinstance(node, ast.comprehension) and _iterates_examples(node.iter, names, sizes):
                findings.append(f"a comprehension over the examples at line {node.iter.lineno}{where}")
            elif isinstance(node, ast.While) and (_mentions(node.test, sizes) or _mentions(node.test, names)):
                findings.append(f"a while loop over the examples at line {node.lineno}{where}")
    return findings
