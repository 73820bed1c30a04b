"""The repository's own promises: layout, one dependency list, a stdlib-only task runner, CI."""
from __future__ import annotations

import ast
import re
import sys

import pytest
import yaml

tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the project's CI runs 3.11

TOP_LEVEL = ["assignments", "solutions", "autograder", "linclass", "lectures", "tests",
             "environment.yml", "pyproject.toml", "README.md", "tasks.py"]


def test_layout(repo_root):
    missing = [name for name in TOP_LEVEL if not (repo_root / name).exists()]
    assert not missing, f"missing from the top level: {missing}"


def test_pyproject_is_the_dependency_list(repo_root):
    meta = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=!\[ ;]", dep, maxsplit=1)[0].lower() for dep in meta["dependencies"]}
    for needed in ["numpy", "matplotlib", "jupyterlab", "notebook", "nbgrader", "ipywidgets", "tqdm"]:
        assert needed in names, f"{needed} is not in pyproject.toml's dependencies"
    extras = meta["optional-dependencies"]
    assert any(d.startswith("pytest") for d in extras["test"])
    assert any(d.startswith("hypothesis") for d in extras["test"])
    assert any(d.startswith("dask[distributed]") for d in extras["scale"])
    # Version ranges, not pins, so that 3.10 to 3.12 all resolve.
    assert not [d for d in meta["dependencies"] if "==" in d]
    assert meta["requires-python"] == ">=3.10,<3.13"


def test_environment_yml_installs_this_repo_and_lists_nothing_else(repo_root):
    env = yaml.safe_load((repo_root / "environment.yml").read_text())
    deps = env["dependencies"]
    conda_deps = [d for d in deps if isinstance(d, str)]
    pip_sections = [d["pip"] for d in deps if isinstance(d, dict)]
    assert [d.split("=")[0] for d in conda_deps] == ["python", "pip"], (
        "environment.yml must only bring python and pip; packages belong in pyproject.toml")
    assert len(pip_sections) == 1 and len(pip_sections[0]) == 1
    (install,) = pip_sections[0]
    assert re.fullmatch(r"(-e |--editable=)\.(\[[a-z,]+\])?", install), install


def test_task_runner_uses_only_the_standard_library(repo_root):
    tree = ast.parse((repo_root / "tasks.py").read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add(node.module.split(".")[0])
    outside = sorted(m for m in imported if m not in sys.stdlib_module_names and m != "__future__")
    assert not outside, f"tasks.py must run before anything is installed, but imports {outside}"


def test_ci_runs_exactly_the_readme_test_command(repo_root):
    readme = (repo_root / "README.md").read_text()
    ci = (repo_root / ".ci" / "run").read_text()
    assert "python3 tasks.py test" in readme
    assert "python3 tasks.py build" in readme
    assert re.search(r"^python3 tasks\.py test$", ci, re.M), ".ci/run must call the README's test command"


def test_readme_maps_every_folder(repo_root):
    readme = (repo_root / "README.md").read_text()
    for folder in ["assignments/", "solutions/", "autograder/", "linclass/", "lectures/", "tests/", "benchmarks/"]:
        assert f"`{folder}`" in readme, f"README's folder table does not mention {folder}"
