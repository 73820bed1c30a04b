"""Every committed notebook is stored clean: no outputs and no execution counts.

Outputs in git make diffs unreadable, can leak solutions or data, and make the release
differ from a fresh `nbgrader generate_assignment`.
"""
from __future__ import annotations

import json
import subprocess

import pytest


def tracked_notebooks(root):
    out = subprocess.run(["git", "ls-files", "-z", "--", "*.ipynb"], cwd=root, capture_output=True,
                         check=True).stdout.decode()
    return [name for name in out.split("\0") if name]


def test_the_repository_has_notebooks(repo_root):
    names = tracked_notebooks(repo_root)
    assert "solutions/svm/svm.ipynb" in names and "solutions/softmax/softmax.ipynb" in names


def dirty_cells(notebook: dict) -> list[str]:
    problems = []
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        if cell.get("outputs"):
            problems.append(f"cell {index} has outputs")
        if cell.get("execution_count") is not None:
            problems.append(f"cell {index} has execution_count {cell['execution_count']}")
    return problems


def test_dirty_cells_are_found():
    nb = {"cells": [{"cell_type": "code", "outputs": [{"output_type": "stream"}], "execution_count": 3},
                    {"cell_type": "code", "outputs": [], "execution_count": None},
                    {"cell_type": "markdown"}]}
    assert dirty_cells(nb) == ["cell 0 has outputs", "cell 0 has execution_count 3"]


def test_committed_notebooks_have_no_outputs_or_execution_counts(repo_root):
    dirty = {}
    for name in tracked_notebooks(repo_root):
        path = repo_root / name
        if not path.exists():  # deleted in the working tree, not yet committed
            continue
        problems = dirty_cells(json.loads(path.read_text(encoding="utf-8")))
        if problems:
            dirty[name] = problems[:3]
    if dirty:
        pytest.fail("notebooks must be committed with outputs cleared "
                    "(jupyter nbconvert --clear-output --inplace FILE): "
                    + "; ".join(f"{k}: {', '.join(v)}" for k, v in dirty.items()))
