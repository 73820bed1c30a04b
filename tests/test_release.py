"""The student release (tools/release.py, `python3 tasks.py release`).

- what dist/student/ and dist/student.zip hold, and that a second build gives the same bytes;
- the leak scan: nothing of the answer key (linclass/reference/, linclass/grading.py, the
  solution blocks and hidden tests of solutions/) is in the release, with positive controls
  that inject each kind of leak and expect the scan to report it;
- (slow) a fresh virtual environment with nothing but the wheel (and what pip installs for
  it) runs both release notebooks, filled with the solutions, to the end, and the instructor's
  self-check passes on them; the answer key and the grader cannot be imported there.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from tools import release

ROOT = Path(__file__).resolve().parents[1]


ASSIGNMENTS = release.assignment_names(ROOT)
# What a student needs to run the notebooks and the self-check (python -m linclass.selfcheck runs
# a notebook with nbclient): the Jupyter stack JupyterLab brings anyway, nothing of the grader's.
STUDENT_DEPENDENCIES = {"numpy", "matplotlib", "pillow", "tqdm", "jupyterlab", "ipykernel", "nbformat", "nbclient",
                        "jupyter-client"}
# Offline: any download attempt in the kernel goes to a closed port and fails at once.
NO_NETWORK = {name: "http://127.0.0.1:9" for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A release built from the repository: the folder holding student/ and student.zip."""
    out = tmp_path_factory.mktemp("dist")
    release.build(out)
    return out


def _wheel(folder: Path) -> Path:
    (wheel,) = folder.glob("*.whl")
    return wheel


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ----------------------------------------------------------------------------------------
# What the release holds
# ----------------------------------------------------------------------------------------

def test_release_holds_readme_notebooks_and_wheel(built):
    files = _files(built / "student")
    wheel = _wheel(built / "student").name
    assert set(files) == {"README.md", wheel} | {f"{a}/{a}.ipynb" for a in ASSIGNMENTS}
    assert {"svm", "softmax"} <= set(ASSIGNMENTS)
    for a in ASSIGNMENTS:
        assert files[f"{a}/{a}.ipynb"] == (ROOT / "assignments" / a / f"{a}.ipynb").read_bytes()
    readme = files["README.md"].decode()
    for needed in (f"pip install {wheel}", "jupyter lab", "LINCLASS_DATA_DIR", "python -m linclass.data fetch",
                   "python -m linclass.data synthetic", "linclass-grade selfcheck", "svm/svm.ipynb"):
        assert needed in readme, needed


def test_zip_matches_the_folder_and_is_reproducible(built, tmp_path):
    with zipfile.ZipFile(built / "student.zip") as zf:
        assert {i.filename: zf.read(i) for i in zf.infolist()} == \
            {f"student/{name}": data for name, data in _files(built / "student").items()}
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    release.build(tmp_path)
    assert (tmp_path / "student.zip").read_bytes() == (built / "student.zip").read_bytes()


def test_wheel_is_the_student_kit_only(built):
    kit = {f"linclass/{p.relative_to(ROOT / 'linclass').as_posix()}" for p in release.kit_files(ROOT)}
    expected = {"linclass/__init__.py", "linclass/data.py", "linclass/gradcheck.py", "linclass/plots.py"}
    if (ROOT / "linclass" / "checks.py").exists():
        expected.add("linclass/checks.py")
    assert expected <= kit
    with zipfile.ZipFile(_wheel(built / "student")) as zf:
        names = zf.namelist()
        code = {n for n in names if ".dist-info/" not in n}
        assert code == kit
        assert not [n for n in names if n.startswith(("linclass/reference/", "autograder/"))
                    or n == "linclass/grading.py"]
        # RECORD lists every other file with its right hash and size, as pip expects.
        (record_name,) = [n for n in names if n.endswith(".dist-info/RECORD")]
        rows = [line.split(",") for line in zf.read(record_name).decode().splitlines()]
        assert {r[0] for r in rows} == set(names)
        for name, digest, size in rows:
            if name != record_name:
                data = zf.read(name)
                assert digest == "sha256=" + base64.urlsafe_b64encode(
                    hashlib.sha256(data).digest()).rstrip(b"=").decode() and int(size) == len(data), name
        metadata = zf.read(record_name.replace("RECORD", "METADATA")).decode()
    requires = {re.match(r"[A-Za-z0-9_.-]+", line.split(":", 1)[1].strip()).group(0).lower()
                for line in metadata.splitlines() if line.startswith("Requires-Dist:")}
    assert {"numpy", "matplotlib", "jupyterlab", "ipykernel"} <= requires <= STUDENT_DEPENDENCIES


# ----------------------------------------------------------------------------------------
# The leak scan
# ----------------------------------------------------------------------------------------

def test_forbidden_names_come_from_the_answer_key_and_the_solutions():
    import ast

    names = release.graded_names(ROOT)
    assert {"svm_loss_naive", "svm_loss_vectorized", "softmax_loss_naive", "softmax_loss_vectorized",
            "sample_batch", "sgd_step", "predict"} <= names
    lecture_losses = {node.name for node in ast.parse((ROOT / "linclass/reference/losses.py").read_text()).body
                      if isinstance(node, ast.FunctionDef)}
    assert lecture_losses - release.GENERIC_NAMES <= names
    assert not names & release.GENERIC_NAMES and "__init__" not in names


def test_scan_finds_no_leak_in_the_release(built):
    assert release.scan_release(built / "student", ROOT) == []


def _solution_cell(assignment: str, grade_id: str) -> str:
    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    return cell.source


def _strip_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def _set_cell(folder: Path, assignment: str, grade_id: str, source: str) -> None:
    path = folder / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(path, as_version=4)
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    cell.source = source
    nbformat.write(nb, path)


def _add_to_wheel(folder: Path, name: str, data: bytes) -> None:
    wheel = _wheel(folder)
    buf = io.BytesIO()
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr(name, data)
    wheel.write_bytes(buf.getvalue())


def _answer_line() -> str:
    """A line of a written answer of solutions/svm (a markdown solution block)."""
    source = _solution_cell("svm", "q_kink")
    inside = source.split("### BEGIN SOLUTION", 1)[1].split("### END SOLUTION", 1)[0]
    return max(inside.strip().splitlines(), key=len)


def _inject_reference_module(folder):
    _add_to_wheel(folder, "linclass/reference/losses.py", (ROOT / "linclass/reference/losses.py").read_bytes())


def _inject_kit_module_with_a_graded_function(folder):
    loss = _strip_markers(_solution_cell("softmax", "softmax_loss_vectorized_code"))
    _add_to_wheel(folder, "linclass/helpers.py", ("import numpy as np\n\n\n" + loss).encode())


def _inject_grading_module(folder):
    _add_to_wheel(folder, "linclass/grading.py", b"def quiet():\n    pass\n")


def _inject_solution_cell(folder):
    _set_cell(folder, "svm", "svm_loss_vectorized_code",
              _strip_markers(_solution_cell("svm", "svm_loss_vectorized_code")))


def _inject_solution_with_markers(folder):
    _set_cell(folder, "softmax", "predict_code", _solution_cell("softmax", "predict_code"))


def _inject_hidden_tests(folder):
    _set_cell(folder, "svm", "predict_check", _solution_cell("svm", "predict_check"))


def _inject_implemented_function(folder):
    _set_cell(folder, "svm", "predict_code", "def predict(W, X):\n    return (X @ W).argmax(axis=1)\n")


def _inject_code_above_the_raise(folder):
    stub = nbformat.read(folder / "svm" / "svm.ipynb", as_version=4)
    (cell,) = [c for c in stub.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "predict_code"]
    _set_cell(folder, "svm", "predict_code",
              cell.source.replace("    # YOUR CODE HERE\n", "    # YOUR CODE HERE\n    y_pred = X.dot(W).argmax(1)\n"))


def _inject_hidden_test_in_an_output(folder):
    path = folder / "softmax" / "softmax.ipynb"
    nb = nbformat.read(path, as_version=4)
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "predict_check"]
    hidden = _solution_cell("softmax", "predict_check").split("### BEGIN HIDDEN TESTS", 1)[1]
    cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="",
                                           traceback=[line for line in hidden.splitlines() if line.strip()])]
    nbformat.write(nb, path)


def _inject_answer_in_readme(folder):
    with open(folder / "README.md", "a") as f:
        f.write("\n" + _answer_line() + "\n")


LEAKS = {
    "reference module in the wheel": (_inject_reference_module, ["must not reach students", "'svm_loss_naive'"]),
    "graded function in a kit module": (_inject_kit_module_with_a_graded_function,
                                        ["linclass/helpers.py line", "'softmax_loss_vectorized'",
                                         "a line of a solution"]),
    "grading.py in the wheel": (_inject_grading_module, ["linclass/grading.py: this file must not reach students"]),
    "solution code in a notebook": (_inject_solution_cell,
                                    ["(svm_loss_vectorized_code)", "beyond the release stub", "a line of a solution"]),
    "solution markers in a notebook": (_inject_solution_with_markers, ["'BEGIN SOLUTION'"]),
    "hidden tests in a notebook": (_inject_hidden_tests, ["'BEGIN HIDDEN TESTS'", "(predict_check)"]),
    "implemented graded function": (_inject_implemented_function, ["'predict' is not a stub"]),
    "code above the stub's raise": (_inject_code_above_the_raise,
                                    ["(predict_code) line 1: graded function 'predict' has 1 statement(s) beyond"]),
    "hidden test in an output": (_inject_hidden_test_in_an_output, ["(predict_check) output line",
                                                                     "a line of a solution or hidden test"]),
    "written answer in the README": (_inject_answer_in_readme, ["README.md line", "a line of a solution"]),
}


@pytest.mark.parametrize("leak", sorted(LEAKS))
def test_scan_reports_an_injected_leak(built, tmp_path, leak):
    """Positive controls: the scan must see each kind of leak (else the test above proves nothing)."""
    folder = tmp_path / "student"
    shutil.copytree(built / "student", folder)
    inject, expected = LEAKS[leak]
    inject(folder)
    found = release.scan_release(folder, ROOT)
    report = "\n".join(found)
    for text in expected:
        assert text in report, f"the scan missed {leak!r} ({text!r}); it reported:\n{report}"


def test_build_refuses_a_leaky_kit_and_writes_nothing(tmp_path):
    root = tmp_path / "repo"
    for name in ("linclass", "solutions", "assignments"):
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root)
    (root / "linclass" / "shortcuts.py").write_text(
        "import numpy as np\n\n\n" + _strip_markers(_solution_cell("svm", "svm_loss_naive_code")))
    with pytest.raises(SystemExit, match="shortcuts.py line .*'svm_loss_naive'"):
        release.build(tmp_path / "dist", root)
    assert not (tmp_path / "dist" / "student").exists() and not (tmp_path / "dist" / "student.zip").exists()


# ----------------------------------------------------------------------------------------
# A fresh virtual environment with only the wheel
# ----------------------------------------------------------------------------------------

def _clean_env(**extra) -> dict:
    """os.environ without anything that could point Python at the repository."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "LINCLASS_DATA_DIR", "LINCLASS_FAST")}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def student_venv(built, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed by pip (dependencies from the package index);
    returns its python."""
    venv = tmp_path_factory.mktemp("student") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    t0 = time.monotonic()
    result = subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check",
                             str(_wheel(built / "student"))], capture_output=True, text=True,
                            env=_clean_env(), cwd=venv.parent)
    assert result.returncode == 0, f"pip install of the wheel failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    print(f"\n[release] pip install of the wheel into a fresh venv took {time.monotonic() - t0:.1f} s")
    check = subprocess.run([str(python), "-m", "pip", "check"], capture_output=True, text=True, env=_clean_env())
    assert check.returncode == 0, check.stdout + check.stderr
    return python


PROBE = """
import importlib, importlib.util, json, sys
out = {"prefix": sys.prefix, "imports": {}, "installed": {}}
for name in sys.argv[1:]:
    try:
        module = importlib.import_module(name)
        out["imports"][name] = getattr(module, "__file__", "?")
    except ImportError as err:
        out["imports"][name] = None
for name in ("numba", "nbgrader", "dask", "autograder"):
    out["installed"][name] = importlib.util.find_spec(name) is not None
print(json.dumps(out))
"""


@pytest.mark.slow
def test_fresh_venv_has_the_kit_and_nothing_of_the_answer_key(student_venv, tmp_path):
    kit = ["linclass", "linclass.data", "linclass.gradcheck", "linclass.plots"]
    if (ROOT / "linclass" / "checks.py").exists():
        kit.append("linclass.checks")
    secret = ["linclass.reference", "linclass.reference.losses", "linclass.grading", "autograder"]
    result = subprocess.run([str(student_venv), "-c", PROBE, *kit, *secret], capture_output=True, text=True,
                            env=_clean_env(), cwd=tmp_path, check=True)
    probe = json.loads(result.stdout)
    venv = Path(probe["prefix"]).resolve()
    for name in kit:
        assert probe["imports"][name] and venv in Path(probe["imports"][name]).resolve().parents, \
            f"{name} does not come from the fresh venv: {probe['imports'][name]}"
    for name in secret:
        assert probe["imports"][name] is None, f"{name} can be imported in the student's venv: {probe['imports'][name]}"
    assert probe["installed"] == {"numba": False, "nbgrader": False, "dask": False, "autograder": False}


def fill(release_nb: Path, assignment: str):
    """The release notebook with every answer cell (nbgrader solution: true) replaced by the
    solution of solutions/ with the same grade_id, marker lines removed."""
    nb = nbformat.read(release_nb, as_version=4)
    source = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    filled = 0
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = _strip_markers(answers[meta["grade_id"]])
            assert cell.source.strip()
            filled += 1
    assert filled == len(answers)
    return nb


def _kernelspec(folder: Path, python: Path) -> Path:
    spec = folder / "kernels" / "student-venv"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "the student's fresh venv", "language": "python"}))
    return spec.parent


def _first_error(nb) -> str | None:
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                gid = cell.metadata.get("nbgrader", {}).get("grade_id")
                return f"cell {i} ({gid}): {out.get('ename')}: {str(out.get('evalue'))[:400]}"
    return None


def _execute_in_venv(nb, python: Path, workdir: Path, monkeypatch, env: dict) -> str:
    """Run nb to the end in a kernel of the fresh venv; return the kernel's identity line."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.from_dict(json.loads(json.dumps(nb)))  # a copy
    nb.cells.append(nbformat.v4.new_code_cell(
        "import json, sys, linclass\n"
        "print('KERNEL ' + json.dumps({'prefix': sys.prefix, 'linclass': linclass.__file__,\n"
        "                              'n_train': len(X_train) if 'X_train' in globals() else None}))"))
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "LINCLASS_DATA_DIR", "LINCLASS_FAST"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    km = KernelManager(kernel_name="student-venv",
                       kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(_kernelspec(workdir, python))]))
    client = NotebookClient(nb, km=km, timeout=600, resources={"metadata": {"path": str(workdir)}})
    try:
        client.execute()
    except CellExecutionError:
        pytest.fail(f"{workdir.name}.ipynb fails in the fresh venv at {_first_error(nb)}", pytrace=False)
    text = "".join(out.get("text", "") for out in nb.cells[-1].outputs)
    return text


def _run_release(built, python, tmp_path, monkeypatch, data_dir: Path | None):
    synthetic = data_dir is None
    if synthetic:  # a small synthetic CIFAR-10, written by the wheel's own linclass.data
        data_dir = tmp_path / "synthetic"
        subprocess.run([str(python), "-m", "linclass.data", "synthetic", str(data_dir)], check=True,
                       env=_clean_env(), cwd=tmp_path, capture_output=True)
    cache = tmp_path / "cache"
    env = {"LINCLASS_FAST": "1", "LINCLASS_DATA_DIR": str(data_dir), "XDG_CACHE_HOME": str(cache),
           "MPLBACKEND": "Agg", **NO_NETWORK}
    for a in ASSIGNMENTS:
        t0 = time.monotonic()
        work = tmp_path / "work" / a
        work.mkdir(parents=True)
        nb = fill(built / "student" / a / f"{a}.ipynb", a)
        nbformat.write(nb, work / f"{a}.ipynb")
        identity = _execute_in_venv(nb, python, work, monkeypatch, env)
        kernel = json.loads(identity.split("KERNEL ", 1)[1])
        venv = python.parent.parent.resolve()
        assert Path(kernel["prefix"]).resolve() == venv, kernel
        assert venv in Path(kernel["linclass"]).resolve().parents, kernel
        # the notebook trained on the data it was given: 490 synthetic or 49,000 real images
        assert (kernel["n_train"] < 1000) if synthetic else (kernel["n_train"] == 49000), kernel
        t1 = time.monotonic()
        check = subprocess.run([sys.executable, "-m", "autograder", "selfcheck", str(work / f"{a}.ipynb"),
                                "--release", str(built / "student"), "--fast"],
                               capture_output=True, text=True, cwd=ROOT, timeout=1800,
                               env={**_clean_env(), **env})
        assert check.returncode == 0, f"selfcheck of the filled {a} failed:\n{check.stdout}\n{check.stderr[-3000:]}"
        # The student's own self-check, from the wheel alone (no grader, no answer key in that venv).
        kit = subprocess.run([str(python), "-m", "linclass.selfcheck", str(work / f"{a}.ipynb"), "--fast"],
                             capture_output=True, text=True, cwd=work, timeout=1800, env=_clean_env(**env))
        assert kit.returncode == 0, f"the kit's selfcheck of the filled {a} failed:\n{kit.stdout}\n{kit.stderr[-3000:]}"
        assert "selfcheck passed" in kit.stdout and "WARNING" not in kit.stdout + kit.stderr
        print(f"\n[release] {a}: ran in the fresh venv in {t1 - t0:.1f} s, selfcheck {time.monotonic() - t1:.1f} s")
    assert not (cache / "linclass").exists() or not any((cache / "linclass").iterdir()), \
        "a notebook wrote to the CIFAR-10 cache folder"


@pytest.mark.slow
def test_fresh_venv_runs_the_filled_release_on_synthetic_data(built, student_venv, tmp_path, monkeypatch):
    _run_release(built, student_venv, tmp_path, monkeypatch, data_dir=None)


@pytest.mark.slow
@pytest.mark.realdata
def test_fresh_venv_runs_the_filled_release_on_real_data(built, student_venv, tmp_path, monkeypatch, real_data_dir):
    _run_release(built, student_venv, tmp_path, monkeypatch, data_dir=real_data_dir)
