"""The SVM and softmax assignments: course config, release, nbgrader validation, execution.

Notebooks run with LINCLASS_FAST=1 on a small synthetic CIFAR-10, so these tests always run;
the real-data run (accuracy targets) is marked slow and needs LINCLASS_DATA_DIR.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from linclass import data

ASSIGNMENTS = ("svm", "softmax")
BIN = Path(sys.executable).parent
TARGETS = {"svm": 0.39, "softmax": 0.39}

AUTOGRADED = {  # grade_id -> points (loss, gradient, regularization and speed scored apart)
    "svm": {"svm_loss_naive_loss": 3, "svm_loss_naive_grad": 5, "svm_loss_naive_reg": 2,
            "svm_loss_vectorized_loss": 2, "svm_loss_vectorized_grad": 3, "svm_loss_vectorized_reg": 2,
            "svm_loss_vectorized_speed": 4, "sample_batch_check": 3, "sgd_step_check": 3, "predict_check": 2},
    "softmax": {"softmax_loss_naive_loss": 3, "softmax_loss_naive_grad": 5, "softmax_loss_naive_reg": 2,
                "softmax_loss_vectorized_loss": 2, "softmax_loss_vectorized_grad": 3,
                "softmax_loss_vectorized_reg": 2, "softmax_loss_vectorized_speed": 4,
                "sample_batch_check": 2, "sgd_step_check": 2, "predict_check": 1},
}
MANUAL = {  # grade_id -> points
    "svm": {"q_derive_grad": 3, "q_kink": 3, "q_sum_all_classes": 1, "q_mean": 2, "q_squared_hinge": 1,
            "q_min_max": 1, "q_loss_at_init": 1, "q_train_val_gap": 2, "q_weights": 2},
    "softmax": {"q_derive_grad": 3, "q_loss_at_init": 2, "q_train_val_gap": 2, "q_weights": 2, "q_datapoint": 2,
                "q_jiggle": 2},
}
GRADED_FUNCTIONS = {
    "svm": ["svm_loss_naive", "svm_loss_vectorized", "sample_batch", "sgd_step", "predict"],
    "softmax": ["softmax_loss_naive", "softmax_loss_vectorized", "sample_batch", "sgd_step", "predict"],
}


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def cells_by_id(nb) -> dict:
    return {nbgrader_meta(c)["grade_id"]: c for c in nb.cells if "grade_id" in nbgrader_meta(c)}


def read(path: Path):
    return nbformat.read(path, as_version=4)


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthetic-cifar10")
    data.write_synthetic_cifar10(root)
    return root


def course_env(data_dir: Path, fast: bool) -> dict:
    env = dict(os.environ)
    env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")  # nbgrader runs alembic from the venv
    env["LINCLASS_DATA_DIR"] = str(data_dir)
    env["MPLBACKEND"] = "Agg"
    env.pop("LINCLASS_FAST", None)
    if fast:
        env["LINCLASS_FAST"] = "1"
    return env


@contextlib.contextmanager
def environment(env: dict):
    """The kernel inherits this process's environment, so set it for the duration."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def execute(path: Path, env: dict, timeout: int = 600):
    """Run every cell of the notebook at path; return the executed notebook."""
    nb = read(path)
    with environment(env):
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def nbgrader(args, cwd: Path, env: dict) -> str:
    result = subprocess.run([str(BIN / "nbgrader"), *args], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def copy_course(repo_root: Path, dest: Path) -> Path:
    """The files nbgrader needs to generate the release, in a fresh folder."""
    shutil.copytree(repo_root / "solutions", dest / "solutions",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copy(repo_root / "nbgrader_config.py", dest / "nbgrader_config.py")
    (dest / "autograder").mkdir()
    shutil.copy(repo_root / "autograder" / "nbgrader_config.py", dest / "autograder" / "nbgrader_config.py")
    return dest


def stream_text(cell, name="stdout") -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == name)


# ------------------------------------------------------------------ static checks

def test_course_config(repo_root):
    from traitlets.config.loader import PyFileConfigLoader

    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(repo_root)).load_config()
    cd = cfg.CourseDirectory
    assert Path(cd.root) == repo_root
    assert (cd.source_directory, cd.release_directory, cd.course_id) == ("solutions", "assignments", "linclass")
    db = Path(cd.db_url.removeprefix("sqlite:///"))
    assert db.is_relative_to(repo_root / "autograder" / "work")
    ignored = subprocess.run(["git", "check-ignore", "-q", str(db.relative_to(repo_root))], cwd=repo_root)
    assert ignored.returncode == 0, "the gradebook must live in a git-ignored folder"
    # `nbgrader export` run from the repository root must not leave grades.csv in it.
    assert Path(cfg.ExportPlugin.to) == repo_root / "autograder" / "work" / "grades.csv"
    assert cfg.IgnorePattern.enabled and re.search(cfg.IgnorePattern.pattern,
                                                   "x.py:3: RuntimeWarning: overflow encountered in exp")


def test_warning_on_stderr_no_longer_zeroes_a_test_cell(repo_root):
    """nbgrader scores any stderr as a failure; the course config strips warnings first."""
    from nbgrader.preprocessors import IgnorePattern
    from nbgrader.utils import determine_grade
    from traitlets.config.loader import PyFileConfigLoader

    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(repo_root)).load_config()
    cell = nbformat.v4.new_code_cell("check()")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": 3, "solution": False,
                                 "locked": True, "schema_version": 3}
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr",
                                           text="/tmp/x.py:5: RuntimeWarning: overflow encountered in exp\n"),
                    nbformat.v4.new_output("stream", name="stdout", text="Visible tests passed.\n")]
    assert determine_grade(cell)[0] == 0  # what plain nbgrader does
    cell, _ = IgnorePattern(config=cfg).preprocess_cell(cell, {}, 0)
    assert determine_grade(cell) == (3, 3)
    error = nbformat.v4.new_output("error", ename="AssertionError", evalue="wrong", traceback=[])
    cell.outputs.append(error)
    assert determine_grade(cell)[0] == 0  # a real failure still scores 0


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_source_notebook_has_the_graded_cells(repo_root, name):
    nb = read(repo_root / "solutions" / name / f"{name}.ipynb")
    cells = cells_by_id(nb)
    for gid, points in AUTOGRADED[name].items():
        meta = nbgrader_meta(cells[gid])
        assert meta["grade"] and not meta["solution"] and meta["locked"] and meta["points"] == points, gid
        assert "### BEGIN HIDDEN TESTS" in cells[gid].source and "### END HIDDEN TESTS" in cells[gid].source
    for gid, points in MANUAL[name].items():
        meta = nbgrader_meta(cells[gid])
        assert cells[gid].cell_type == "markdown" and meta["grade"] and meta["solution"], gid
        assert meta["points"] == points, gid
    ids = [nbgrader_meta(c)["grade_id"] for c in nb.cells if "grade_id" in nbgrader_meta(c)]
    assert len(ids) == len(set(ids)), "grade ids must be unique"
    for fn in GRADED_FUNCTIONS[name]:
        assert any(c.cell_type == "code" and nbgrader_meta(c).get("solution") and f"def {fn}(" in c.source
                   for c in nb.cells), f"no solution cell defines {fn}"
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert not re.search(r"linclass\s*(\.|import\s.*)\s*(reference|losses|fast|classifiers)\b", source), \
        "the notebook must not import the reference implementation"
    assert "LINCLASS_FAST" in source


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_written_answer_has_a_rubric(repo_root, name):
    """A markdown cell tagged "rubric" right after each manual answer, its points adding up."""
    nb = read(repo_root / "solutions" / name / f"{name}.ipynb")
    for i, cell in enumerate(nb.cells):
        meta = nbgrader_meta(cell)
        tags = cell.get("metadata", {}).get("tags", [])
        if meta.get("grade") and meta.get("solution"):   # a manually graded answer
            rubric = nb.cells[i + 1]
            assert "rubric" in rubric.metadata.get("tags", []), f"{meta['grade_id']} has no rubric cell after it"
            assert rubric.metadata["linclass"]["rubric_for"] == meta["grade_id"]
            assert rubric.cell_type == "markdown" and "nbgrader" not in rubric.metadata
            header = re.match(r"\*\*Rubric \((\d+) points?\)\.\*\*", rubric.source)
            assert header and int(header.group(1)) == meta["points"], rubric.source[:80]
            earned = sum(int(p) for p in re.findall(r"^- (\d+) points?:", rubric.source, flags=re.M))
            assert earned == meta["points"], f"{meta['grade_id']}: the rubric's points add up to {earned}"
        elif "rubric" in tags:
            assert nbgrader_meta(nb.cells[i - 1]).get("solution"), "a rubric cell follows its answer"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_students_derive_before_they_code(repo_root, name):
    """The derivation is asked before the naive code, the TODOs say what, not how, and the
    vectorization hint is collapsed."""
    nb = read(repo_root / "solutions" / name / f"{name}.ipynb")
    ids = [nbgrader_meta(c).get("grade_id") for c in nb.cells]
    assert ids.index("q_derive_grad") < ids.index(f"{name}_loss_naive_code")
    for fn in (f"{name}_loss_naive", f"{name}_loss_vectorized"):
        cell = cells_by_id(nb)[f"{fn}_code"]
        todo = cell.source[cell.source.index("# TODO:"):cell.source.index("### BEGIN SOLUTION")]
        for how in ("X[i]", "dW[:", "X.T", "indicator", "p_j", "np.sum(W * W)", "2 * reg * W", "maximum",
                    "log(sum", "(N, C)"):
            assert how not in todo, f"{fn}: the TODO says how ({how!r})"
    section = next(c.source for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("## 3."))
    assert "<details>" in section and "</details>" in section and "first attempt" in section
    hint = section[section.index("<details>"):]
    assert "X.T @" in hint and "X.T @" not in section[:section.index("<details>")]
    intro = next(c.source for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("## 2."))
    assert "Its gradient" not in intro and "adds $x_i$" not in intro


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_student_text_states_no_unmeasured_claims(repo_root, name):
    nb = read(repo_root / "assignments" / name / f"{name}.ipynb")
    text = "\n".join(c.source for c in nb.cells)
    for claim in ("JPEG copy", "10 to 30 times", "issue 253", "0.38**", "0.37**"):
        assert claim not in text, f"the student text still says {claim!r}"
    assert f"at least **{TARGETS[name]:.2f}**" in text
    assert "measured on your machine" in text


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_has_no_solutions_and_friendly_stubs(repo_root, name):
    nb = read(repo_root / "assignments" / name / f"{name}.ipynb")
    text = json.dumps(nb.cells)
    for secret in ["BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "autograder", "hidden.check_",
                   "rng.choice(X.shape[0]",
                   "np.argmax(X @ W, axis=1)"]:
        assert secret not in text, f"the release leaks {secret!r}"
    cells = cells_by_id(nb)
    assert set(AUTOGRADED[name]) | set(MANUAL[name]) <= set(cells)
    for gid in MANUAL[name]:
        assert "YOUR ANSWER HERE" in cells[gid].source
    assert not any("rubric" in c.get("metadata", {}).get("tags", []) or "Rubric (" in c.source
                   for c in nb.cells), "the release must not hold a rubric"
    search = cells["search"]
    assert "raise NotImplementedError" in search.source and "10 ** search_rng.uniform" not in search.source
    for fn in GRADED_FUNCTIONS[name]:
        cell = next(c for c in nb.cells if f"def {fn}(" in c.source and nbgrader_meta(c).get("solution"))
        match = re.search(r"raise NotImplementedError\((['\"])(.*)\1\)", cell.source)
        assert match, f"{fn}: the stub must raise NotImplementedError with a message"
        message = match.group(2)
        assert message.startswith(f"{fn} is not implemented yet: ") and len(message) > len(fn) + 40, message
        assert "# TODO:" in cell.source and '"""' in cell.source, f"{fn} keeps its docstring and TODO"


GENERATE_BOTH = """
import sys
from nbgrader.apps import NbGraderAPI
from traitlets.config.loader import PyFileConfigLoader

api = NbGraderAPI(config=PyFileConfigLoader("nbgrader_config.py", path=".").load_config())
for name in sys.argv[1:]:
    result = api.generate_assignment(name, force=True)
    if not result["success"]:
        sys.exit(f"generate_assignment {name} failed:\\n{result['log']}\\n{result.get('error', '')}")
"""


@pytest.fixture(scope="session")
def fresh_course(repo_root, tmp_path_factory, synthetic_dir) -> Path:
    """A copy of the course with the release generated from solutions/ (one process for both)."""
    course = copy_course(repo_root, tmp_path_factory.mktemp("course"))
    result = subprocess.run([sys.executable, "-c", GENERATE_BOTH, *ASSIGNMENTS], cwd=course,
                            env=course_env(synthetic_dir, fast=True), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return course


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_is_regenerated_exactly(repo_root, fresh_course, name):
    fresh = json.loads((fresh_course / "assignments" / name / f"{name}.ipynb").read_text())
    committed = json.loads((repo_root / "assignments" / name / f"{name}.ipynb").read_text())
    assert fresh == committed, (f"assignments/{name} is out of date: run `nbgrader generate_assignment {name} "
                                "--force` from the repository root and commit it")
    extra = sorted(p.name for p in (repo_root / "assignments" / name).iterdir())
    assert extra == [f"{name}.ipynb"], f"unexpected files in assignments/{name}: {extra}"


# ------------------------------------------------------- running the notebooks

@pytest.fixture(scope="session")
def executed_solutions(repo_root, synthetic_dir):
    env = course_env(synthetic_dir, fast=True)
    return {name: execute(repo_root / "solutions" / name / f"{name}.ipynb", env) for name in ASSIGNMENTS}


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solution_runs_end_to_end_on_synthetic_data(executed_solutions, name):
    nb = executed_solutions[name]
    cells = cells_by_id(nb)
    for cell in nb.cells:
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, f"{nbgrader_meta(cell).get('grade_id')}: {errors[0]['ename']}: {errors[0]['evalue']}"
    for gid in AUTOGRADED[name]:
        assert stream_text(cells[gid], "stderr") == "", f"{gid} wrote to stderr, which nbgrader scores as 0"
        assert "Visible tests passed." in stream_text(cells[gid]) or "is vectorized" in stream_text(cells[gid])
    timing = stream_text(cells[f"{name}_timing"])
    for line in ["naive loss:", "vectorized loss:", "speed-up:", "loss difference:", "gradient difference:"]:
        assert line in timing
    loss_diff = float(re.search(r"loss difference:\s+(\S+)", timing).group(1))
    grad_diff = float(re.search(r"gradient difference:\s+(\S+)", timing).group(1))
    assert loss_diff < 1e-9 and grad_diff < 1e-7
    assert re.search(r"best validation accuracy: \d\.\d{4}", stream_text(cells["search"]))
    assert re.search(r"final test accuracy: \d\.\d{4}", stream_text(cells["test_accuracy"]))
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 5, "samples, mean image, loss curve, search scatter and templates are shown"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_nbgrader_validate_passes_on_the_solution(repo_root, synthetic_dir, name):
    out = nbgrader(["validate", str(repo_root / "solutions" / name / f"{name}.ipynb")], repo_root,
                   course_env(synthetic_dir, fast=True))
    # nbgrader validate exits 0 even when tests fail, so read what it printed.
    assert "Success! Your notebook passes all the tests." in out, out[-3000:]


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_nbgrader_validate_invert_fails_on_the_release(repo_root, synthetic_dir, name):
    out = nbgrader(["validate", "--invert", str(repo_root / "assignments" / name / f"{name}.ipynb")], repo_root,
                   course_env(synthetic_dir, fast=True))
    assert "Success! The notebook does not pass any tests." in out, out[-3000:]


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_run_all_on_the_release_stops_at_the_first_todo(repo_root, synthetic_dir, name):
    with pytest.raises(CellExecutionError) as err:
        execute(repo_root / "assignments" / name / f"{name}.ipynb", course_env(synthetic_dir, fast=True))
    message = str(err.value)
    assert "NotImplementedError" in message
    assert f"{name}_loss_naive is not implemented yet: loop over the examples" in message


# ---------------------------------------------------- autograding with warnings

WARNING_SOLUTION = '''
    import warnings
    # A harmless warning that escapes any filter: a correct answer must keep its points.
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("overflow encountered in exp", RuntimeWarning)
        np.log(np.zeros(1))
'''


def test_a_correct_answer_that_warns_keeps_full_marks(fresh_course, synthetic_dir):
    from nbgrader.api import Gradebook

    course = fresh_course
    env = course_env(synthetic_dir, fast=True)
    nb = read(course / "solutions" / "svm" / "svm.ipynb")
    cell = cells_by_id(nb)["svm_loss_vectorized_code"]
    marker = "    ### BEGIN SOLUTION\n"
    cell.source = cell.source.replace(marker, marker + WARNING_SOLUTION.strip("\n") + "\n")
    assert "warnings.warn" in cell.source
    submitted = course / "autograder" / "work" / "submitted" / "student1" / "svm"
    submitted.mkdir(parents=True)
    nbformat.write(nb, submitted / "svm.ipynb")
    nbgrader(["autograde", "svm", "--create", "--force"], course, env)

    autograded = read(course / "autograder" / "work" / "autograded" / "student1" / "svm" / "svm.ipynb")
    speed = cells_by_id(autograded)["svm_loss_vectorized_speed"]
    assert speed.outputs, "the test cell ran"
    with Gradebook(f"sqlite:///{course / 'autograder' / 'work' / 'gradebook.db'}") as gb:
        submission = gb.find_submission_notebook("svm", "svm", "student1")
        scores = {g.name: (g.score, g.max_score) for g in submission.grades if g.name in AUTOGRADED["svm"]}
    assert scores == {gid: (float(p), float(p)) for gid, p in AUTOGRADED["svm"].items()}, scores


# --------------------------------------------------------------- the real data

@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solution_reaches_the_accuracy_target_on_real_data(repo_root, real_data_dir, name):
    tic = time.perf_counter()
    nb = execute(repo_root / "solutions" / name / f"{name}.ipynb", course_env(real_data_dir, fast=False),
                 timeout=900)
    seconds = time.perf_counter() - tic
    cells = cells_by_id(nb)
    best = float(re.search(r"best validation accuracy: (\d\.\d+)", stream_text(cells["search"])).group(1))
    test_acc = float(re.search(r"final test accuracy: (\d\.\d+)", stream_text(cells["test_accuracy"])).group(1))
    print(f"\n{name}: end to end {seconds:.1f} s, best validation accuracy {best:.4f}, test accuracy {test_acc:.4f}")
    assert best >= TARGETS[name], f"{name}: validation accuracy {best} is below the target {TARGETS[name]}"
    for gid in AUTOGRADED[name]:
        assert stream_text(cells[gid], "stderr") == "", gid
