"""The repository's layout: what ships and what stays.

Shipped code is everything under linclass/ and autograder/. It must not import the test
suite, the attack suite, the benchmarks or the developer tools in tools/, which are not
installed.
"""
from __future__ import annotations

import ast
import fnmatch
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("linclass", "autograder")
NOT_SHIPPED = {"tests", "tools", "attacks", "benchmarks"}


def _shipped_modules() -> list[Path]:
    return sorted(p for top in SHIPPED for p in (ROOT / top).rglob("*.py"))


def _imported_tops(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, top-level module name) of every absolute import, including
    importlib.import_module("...") and __import__("...") with a literal name."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in ("import_module", "__import__"):
                found.append((node.lineno, node.args[0].value.split(".")[0]))
    return found


def test_shipped_code_imports_no_tests_tools_or_benchmarks():
    modules = _shipped_modules()
    assert len(modules) > 20, "the walk found the shipped packages"
    bad = []
    for path in modules:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        bad += [f"{path.relative_to(ROOT)}:{line} imports {top}"
                for line, top in _imported_tops(tree) if top in NOT_SHIPPED]
    assert not bad, "shipped code imports code that is not installed:\n" + "\n".join(bad)


def test_the_import_check_sees_every_form_of_import():
    tree = ast.parse("import tests.attacks\nfrom tools import make_samples\nfrom . import tools\n"
                     "import importlib\nimportlib.import_module('benchmarks.run')\n__import__('attacks')\n")
    assert [top for _, top in _imported_tops(tree)] == ["tests", "tools", "importlib", "benchmarks", "attacks"]


def test_only_the_shipped_packages_are_installed():
    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    for top in SHIPPED:
        assert any(fnmatch.fnmatch(top, pattern) for pattern in include), top
    for top in sorted(NOT_SHIPPED):
        assert not any(fnmatch.fnmatch(top, pattern) for pattern in include), f"{top}/ would be installed"
