"""The three parts of linclass and the one rule between them.

- The student kit (``linclass/`` without ``linclass/reference/``) never imports the answer key.
- The answer key (``linclass/reference/``) is found by the grader in one place only,
  ``autograder/answer_key.py``: the tracer's library rules, the fingerprints and the sandbox's
  hidden paths are derived from its folder, never from a list of files.
- Shipped code (the kit, the answer key, the grader) never imports tests or developer tools.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from autograder import answer_key

ROOT = Path(__file__).resolve().parent.parent
KIT = ROOT / "linclass"
KEY = KIT / "reference"


def _imports(path: Path) -> list[tuple[str, int]]:
    """(absolute module name, line) of every import in a file; relative ones resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            found.append((base, node.lineno))
            found += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
    return found


def kit_files() -> list[Path]:
    return sorted(p for p in KIT.rglob("*.py") if KEY not in p.parents)


def test_the_kit_never_imports_the_answer_key():
    offenders = [f"{p.relative_to(ROOT)}:{line} imports {name}" for p in kit_files()
                 for name, line in _imports(p)
                 if name == "linclass.reference" or name.startswith("linclass.reference.")]
    assert offenders == []


def test_the_import_check_can_fail(tmp_path):
    # The check above reads real import statements, relative ones included.
    pkg = ROOT / "linclass"
    fake = pkg / "_probe_of_the_layout_test.py"
    fake.write_text("from .reference import losses\nimport linclass.reference.fast\n")
    try:
        names = [n for n, _ in _imports(fake)]
    finally:
        fake.unlink()
    assert "linclass.reference.losses" in names and "linclass.reference.fast" in names


def test_the_kit_has_no_graded_function():
    graded = {"svm_loss_naive", "svm_loss_vectorized", "softmax_loss_naive", "softmax_loss_vectorized",
              "sample_batch", "sgd_step", "predict"}
    for path in kit_files():
        defined = {n.name for n in ast.walk(ast.parse(path.read_text()))
                   if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        assert not defined & graded, f"{path.relative_to(ROOT)} defines {defined & graded}"


def test_the_answer_key_is_named_in_one_place_only():
    # Every other grader module asks autograder.answer_key; none names the folder or its files.
    for path in sorted((ROOT / "autograder").rglob("*.py")):
        if path.name in ("answer_key.py", "static_scan.py"):
            continue  # static_scan lists the module name as a forbidden import
        text = path.read_text()
        code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
        tree = ast.parse(code)
        names = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
        docstrings = {ast.get_docstring(n, clean=False) for n in ast.walk(tree)
                      if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))}
        strings = [s for s in names if s not in docstrings]
        assert not any("linclass.reference" in s or "linclass/reference" in s or "_kernels" in s for s in strings), path
        assert not any(name.startswith("linclass.reference") for name, _ in _imports(path)), path


def test_what_is_derived_from_the_folder():
    assert answer_key.folder() == KEY.resolve()
    modules = answer_key.module_names()
    assert {"linclass.reference.losses", "linclass.reference.fast", "linclass.reference.demo"} <= set(modules)
    # Every module file in the folder is covered, whatever its name.
    assert len(modules) == len([p for p in KEY.glob("*.py") if p.name != "__init__.py"])
    fingerprinted = set(answer_key.fingerprints().values())
    assert "linclass.reference.losses.svm_loss_vectorized" in fingerprinted
    assert any(name.startswith("linclass.reference.demo.") for name in fingerprinted)
    hidden = answer_key.hidden_paths()
    assert KEY.resolve() in hidden and (ROOT / "autograder").resolve() in hidden
    assert answer_key.is_answer_key_file(KEY / "losses.py") and not answer_key.is_answer_key_file(KIT / "data.py")


@pytest.mark.parametrize("part", ["linclass", "autograder"])
def test_shipped_code_never_imports_tests_or_tools(part):
    for path in sorted((ROOT / part).rglob("*.py")):
        for name, line in _imports(path):
            top = name.split(".")[0]
            where = f"{path.relative_to(ROOT)}:{line}"
            assert top not in ("tests", "tools", "benchmarks", "attacks"), f"{where} imports {name}"
