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
# Anything reached through these names (the operating system, the interpreter) is a finding.
MACHINERY_BASES = {"os", "sys", "posix", "nt"}
# Calls of these names (bare) are findings.
MACHINERY_CALLS = {"exec", "eval", "compile", "__import__", "globals", "vars", "locals", "setattr",
                   "delattr", "open", "breakpoint", "get_ipython", "exit", "quit", "input"}


def _module_of(node: ast.AST) -> str | None:
    """The dotted name an attribute chain starts from (``np.testing.x`` -> ``np``)."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def scan(source: str) -> list[str]:
    """The constructs in one answer cell's source that an honest answer never needs.

    Returns a sorted list of short findings ("sys.settrace at line 3"); empty when none.
    Code that does not parse gives no findings (it fails on its own when it runs).
    """
    text = "\n".join("# " + l if l.lstrip().startswith(("%", "!")) else l for l in source.splitlines())
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
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
        elif isinstance(node, ast.Attribute) and (node.attr in MACHINERY_ATTRIBUTES or
                                                  (isinstance(node.value, ast.Name) and node.value.id in MACHINERY_BASES)):
            findings.add(f"{ast.unparse(node)[:60]} at line {line}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in MACHINERY_CALLS:
            findings.add(f"{node.func.id}() at line {line}")
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Attribute) and _module_of(sub) in imported:
                        findings.add(f"replaces {ast.unparse(sub)[:60]} at line {line}")
        elif isinstance(node, ast.Name) and node.id in ("__builtins__", "__loader__", "__spec__"):
            findings.add(f"{node.id} at line {line}")
    return sorted(findings)


def _is_machinery_module(name: str) -> bool:
    parts = name.split(".")
    return any(".".join(parts[:i]) in MACHINERY_MODULES for i in range(1, len(parts) + 1)) or name == "sys"
