"""The Gradescope autograder zip: its layout, and run_autograder run in a temporary folder
laid out as Gradescope's (source/, submission/, results/) for a correct, a buggy and a
broken submission, with results.json checked against Gradescope's documented format."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile

import pytest

import autograder  # noqa: F401  (first: it keeps nbformat's import fast)

# isort: split
import jsonschema
import nbformat

from autograder import cli
from tools import make_samples as ms

VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
# Gradescope's "Autograder Specifications" (gradescope-autograders.readthedocs.io/en/latest/specs/),
# results.json: a score at the top level or on every test; tests with score, max_score,
# status, name, number, output, visibility; top-level output, visibility, stdout_visibility,
# execution_time, extra_data.
SCHEMA = {
    "type": "object",
    "properties": {
        "score": {"type": "number"},
        "execution_time": {"type": "number", "minimum": 0},
        "output": {"type": "string"},
        "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "visibility": VISIBILITY,
        "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "tests": {"type": "array", "items": {
            "type": "object",
            "properties": {
                "score": {"type": "number"}, "max_score": {"type": "number"},
                "status": {"enum": ["passed", "failed"]}, "name": {"type": "string"},
                "number": {"type": "string"}, "output": {"type": "string"}, "tags": {"type": "array"},
                "visibility": VISIBILITY, "extra_data": {"type": "object"},
            },
            "required": ["max_score", "name", "output"],
            "additionalProperties": False,
        }},
        "leaderboard": {"type": "array"},
    },
    "anyOf": [{"required": ["score"]},
              {"properties": {"tests": {"items": {"required": ["score"]}}}, "required": ["tests"]}],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def zipped(tmp_path_factory):
    root = tmp_path_factory.mktemp("gs")
    source, release = ms.mini_course(root)
    path = root / "svm.zip"
    assert cli.main(["gradescope", "--source", str(source), "--release", str(release), "--assignment", "svm",
                     "--zip", str(path), "--visibility", "visible"]) == 0
    rel = nbformat.read(release / "svm" / "svm.ipynb", as_version=4)
    ok = ms.all_correct(["svm_loss_naive", "svm_loss_vectorized", "sample_batch", "sgd_step", "predict"])
    return {"zip": path, "root": root, "correct": ms.fill(rel, ok),
            "buggy": ms.fill(rel, {**ok, "svm_loss_naive": ms.buggy("svm_loss_naive", "forgot_divide_by_n")})}


def test_zip_layout(zipped):
    with zipfile.ZipFile(zipped["zip"]) as zf:
        names = set(zf.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
        config = json.loads(zf.read("linclass_gradescope.json"))
        requirements = zf.read("requirements.txt").decode()
    assert {"setup.sh", "run_autograder", "requirements.txt", "course/source/svm/svm.ipynb",
            "course/release/svm/svm.ipynb", "src/autograder/gradescope.py", "src/autograder/harness/probe.py",
            "src/linclass/reference/losses.py"} <= names
    assert modes["run_autograder"] & stat.S_IXUSR and modes["setup.sh"] & stat.S_IXUSR
    assert not any(n.startswith("src/autograder/samples/") or "__pycache__" in n for n in names)
    assert config["assignment"] == "svm" and config["visibility"] == "visible" and len(config["secret"]) == 64
    assert "nbgrader==" in requirements and "numpy==" in requirements


def _run(zipped, tmp_path, files, **extra_env):
    """Lay out tmp_path as Gradescope's /autograder and run run_autograder there."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(zipped["zip"]) as zf:
        zf.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "run_autograder").chmod(0o755)
    (root / "submission").mkdir()
    (root / "results").mkdir()
    for name, content in files.items():
        target = root / "submission" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            target.write_text(content)
        else:
            nbformat.write(content, target)
    env = {**os.environ, "GRADESCOPE_ROOT": str(root), "LINCLASS_PYTHON": sys.executable, **extra_env}
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(["bash", str(root / "run_autograder")], cwd=root, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(data, SCHEMA)
    return data, proc.stdout


@pytest.mark.slow
def test_correct_submission(zipped, tmp_path):
    data, stdout = _run(zipped, tmp_path, {"svm.ipynb": zipped["correct"]})
    assert data["score"] == 10.0 and data["extra_data"]["status"] == "graded"
    assert all(t["status"] == "passed" and t["visibility"] == "visible" for t in data["tests"])
    assert sum(t["max_score"] for t in data["tests"]) == 10.0  # the written answer is not in it
    assert "q_initial_loss" not in {t["name"].split(":")[0] for t in data["tests"]}
    assert "written answers (1 points) are graded separately" in data["output"]
    assert "linclass: svm: graded 10/11" in stdout and data["extra_data"]["sandboxed"]
    assert "HIDDEN TESTS" not in json.dumps(data) and "check_loss(" not in json.dumps(data)


@pytest.mark.slow
def test_buggy_submission_names_the_mistake(zipped, tmp_path):
    # Gradescope keeps the student's file name; a notebook in a folder is found too.
    data, _ = _run(zipped, tmp_path, {"hw/svm (1).ipynb": zipped["buggy"], "notes.txt": "hello"})
    tests = {t["name"].split(":")[0]: t for t in data["tests"]}
    assert tests["svm_loss_naive_loss"]["status"] == "failed" and tests["svm_loss_naive_loss"]["score"] == 0
    assert "divide" in tests["svm_loss_naive_loss"]["output"].lower()
    assert tests["svm_loss_naive_grad"]["score"] == 0 and tests["predict_correct"]["score"] == 1
    # The naive version's loss (2) and gradient (1) parts are lost; the vectorized version is right,
    # so it keeps its speed point (one bug costs only the parts it breaks).
    assert data["score"] == sum(t["score"] for t in data["tests"]) == 10.0 - 2 - 1
    assert data["extra_data"]["mistake_keys"] == ["svm_loss_naive: forgot_divide_by_n"]


@pytest.mark.slow
def test_broken_submission_is_not_graded(zipped, tmp_path):
    data, stdout = _run(zipped, tmp_path, {"svm.ipynb": "{not json"})
    assert data["extra_data"]["status"] == "failed" and "not valid JSON" in data["extra_data"]["reason"]
    assert data["score"] == 0.0 and "The 0 shown is not a grade" in data["output"]
    assert all(t["status"] == "failed" and t["output"].startswith("not graded") for t in data["tests"])
    empty, _ = _run(zipped, tmp_path / "empty", {"answers.pdf": "%PDF"})
    assert "no notebook in the submission (files: answers.pdf)" in empty["extra_data"]["reason"]


@pytest.mark.slow
def test_container_without_bubblewrap_grades_unsandboxed_and_says_so(zipped, tmp_path):
    data, stdout = _run(zipped, tmp_path, {"svm.ipynb": zipped["correct"]}, LINCLASS_NO_SANDBOX="1")
    assert data["score"] == 10.0 and data["extra_data"]["sandboxed"] is False
    assert "student code runs unsandboxed inside Gradescope's container" in stdout
    assert "unsandboxed" not in data["output"].lower()  # instructor-only: stdout is hidden from students
    assert data["stdout_visibility"] == "hidden"
