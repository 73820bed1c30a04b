"""Make the sample submissions in autograder/samples/ from the course's notebooks.

    python3 tools/make_samples.py               # writes autograder/samples/submitted/
    python3 tools/make_samples.py --root DIR    # the same for the course in DIR
    python3 tasks.py samples                    # the same, with the venv's python

A developer tool: it lives in tools/, which is not installed with the package.

Each sample is the student release (``assignments/<a>/<a>.ipynb``) with its answer cells
filled in by student-style code: correct code, or correct code with one catalogued mistake
(``autograder/bugs.py``). The samples are laid out like nbgrader's
``submitted/<student>/<assignment>/<assignment>.ipynb``, and ``EXPECTED`` below is what
grading them must give (tests/test_autograder_samples.py asserts it). The output is
deterministic: the same notebooks in give the same bytes out (tests/test_layout.py
regenerates the samples and fails when the committed ones are stale). Every sample says
in its top-level metadata (``GENERATED``) that it is generated and must not be edited.

``mini_course(dest)`` writes a tiny course with the same nbgrader structure as the real
one (source with hidden tests, release made with nbgrader's own preprocessors); the tests
and the grading benchmark use it to run in seconds.
"""
from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "autograder" / "samples"  # the folder `linclass-grade run` is given
SUBMITTED = SAMPLES / "submitted"
ASSIGNMENTS = ("svm", "softmax")

# Written into every sample's top-level metadata (no extra cell: the grader treats cells
# that are not in the release specially).
GENERATED = {"generated": "by tools/make_samples.py from solutions/ and assignments/; "
                          "do not edit, run python3 tasks.py samples"}

# ------------------------------------------------------------------ student-style code

CODE = {
    "svm_loss_naive": '''\
def svm_loss_naive(W, X, y, reg):
    dW = np.zeros(W.shape)
    num_classes = W.shape[1]
    num_train = X.shape[0]
    loss = 0.0
    for i in range(num_train):
        scores = X[i].dot(W)
        correct_class_score = scores[y[i]]
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct_class_score + 1
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss /= num_train
    dW /= num_train
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
    return loss, dW
''',
    "svm_loss_vectorized": '''\
def svm_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    scores = X.dot(W)
    correct = scores[np.arange(num_train), y][:, None]
    margins = np.maximum(0, scores - correct + 1)
    margins[np.arange(num_train), y] = 0
    loss = margins.sum() / num_train
    loss += reg * np.sum(W * W)
    mask = (margins > 0).astype(X.dtype)
    mask[np.arange(num_train), y] = -mask.sum(axis=1)
    dW = X.T.dot(mask) / num_train
    dW += 2 * reg * W
    return loss, dW
''',
    "softmax_loss_naive": '''\
def softmax_loss_naive(W, X, y, reg):
    loss = 0.0
    dW = np.zeros_like(W)
    num_train = X.shape[0]
    num_classes = W.shape[1]
    for i in range(num_train):
        scores = X[i].dot(W)
        scores -= np.max(scores)
        exp_scores = np.exp(scores)
        total = np.sum(exp_scores)
        loss += np.log(total) - scores[y[i]]
        for j in range(num_classes):
            p = exp_scores[j] / total
            dW[:, j] += (p - (j == y[i])) * X[i]
    loss /= num_train
    dW /= num_train
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
    return loss, dW
''',
    "softmax_loss_vectorized": '''\
def softmax_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    scores = X.dot(W)
    scores -= scores.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(scores).sum(axis=1, keepdims=True))
    log_probs = scores - log_norm
    loss = -log_probs[np.arange(num_train), y].sum() / num_train
    loss += reg * np.sum(W * W)
    dscores = np.exp(log_probs)
    dscores[np.arange(num_train), y] -= 1
    dW = X.T.dot(dscores) / num_train
    dW += 2 * reg * W
    return loss, dW
''',
    "sample_batch": '''\
def sample_batch(X, y, batch_size, rng):
    idx = rng.choice(X.shape[0], batch_size, replace=True)
    return X[idx], y[idx]
''',
    "sgd_step": '''\
def sgd_step(loss_fn, W, X_batch, y_batch, learning_rate, reg):
    loss, dW = loss_fn(W, X_batch, y_batch, reg)
    W = W - learning_rate * dW
    return W, loss
''',
    "predict": '''\
def predict(W, X):
    return np.argmax(X.dot(W), axis=1)
''',
}

# Each mistake is an edit of the correct code: (function, old text, new text).
EDITS = {
    "svm_counts_correct_class": ("svm_loss_naive", "            if j == y[i]:\n                continue\n", ""),
    "forgot_divide_by_n": ("svm_loss_naive", "    loss /= num_train\n    dW /= num_train\n", ""),
    "reg_half_convention": ("svm_loss_vectorized",
                            "    loss += reg * np.sum(W * W)\n", "    loss += 0.5 * reg * np.sum(W * W)\n"),
    "reg_half_convention_grad": ("svm_loss_vectorized", "    dW += 2 * reg * W\n", "    dW += reg * W\n"),
    "reg_grad_missing_factor_2": ("svm_loss_naive", "    dW += 2 * reg * W\n", "    dW += reg * W\n"),
    "reg_half_convention_naive": ("svm_loss_naive",
                                  "    loss += reg * np.sum(W * W)\n", "    loss += 0.5 * reg * np.sum(W * W)\n"),
    "reg_half_convention_naive_grad": ("svm_loss_naive", "    dW += 2 * reg * W\n", "    dW += reg * W\n"),
    "svm_wrong_sign_correct_class": ("svm_loss_naive", "dW[:, y[i]] -= X[i]", "dW[:, y[i]] += X[i]"),
    "no_regularization": ("svm_loss_vectorized", "    loss += reg * np.sum(W * W)\n", ""),
    "no_regularization_grad": ("svm_loss_vectorized", "    dW += 2 * reg * W\n", ""),
    "vectorized_calls_naive": ("svm_loss_vectorized", "    num_train = X.shape[0]\n",
                               "    return svm_loss_naive(W, X, y, reg)\n    num_train = X.shape[0]\n"),
    "softmax_no_max_subtraction": ("softmax_loss_vectorized",
                                   "    scores -= scores.max(axis=1, keepdims=True)\n", ""),
    "softmax_forgot_minus_one": ("softmax_loss_vectorized",
                                 "    dscores[np.arange(num_train), y] -= 1\n", ""),
    "softmax_wrong_axis": ("softmax_loss_vectorized",
                           "    log_norm = np.log(np.exp(scores).sum(axis=1, keepdims=True))\n",
                           "    log_norm = np.log(np.exp(scores).sum(axis=0, keepdims=True))\n"),
    "sgd_wrong_sign": ("sgd_step", "W - learning_rate * dW", "W + learning_rate * dW"),
    "predict_argmin": ("predict", "np.argmax", "np.argmin"),
}


def buggy(function: str, *edit_names: str) -> str:
    """The correct code of function with the named edits applied (each must apply)."""
    code = CODE[function]
    for name in edit_names:
        fn, old, new = EDITS[name]
        if fn != function:
            raise ValueError(f"edit {name!r} is for {fn}, not {function}")
        if old not in code:
            raise ValueError(f"edit {name!r} does not apply to the code of {function}")
        code = code.replace(old, new)
    return code


def _defined_functions(source: str) -> list[str]:
    text = "\n".join("# " + line if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]


def fill(release_nb, answers: dict[str, str]):
    """A copy of the release with answer cells replaced by the given code.

    answers: function name -> code defining it. A release cell defining several functions
    gets the code of each one given (the others keep their stubs).
    """
    nb = nbformat.from_dict(json.loads(json.dumps(release_nb)))
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("solution"):
            continue
        if meta.get("grade_id") in answers:  # an answer that is not a function
            cell.source = answers[meta["grade_id"]]
            continue
        names = _defined_functions(cell.source)
        if not any(n in answers for n in names):
            continue
        # Keep the stubs' module-level lines (imports); redefine the written functions after.
        cell.source = cell.source.rstrip() + "\n\n\n" + "\n\n".join(answers[n] for n in names if n in answers)
    return nb


def written_cells(source_nb) -> dict[str, str]:
    """grade_id -> filled source of every answer cell that defines no function.

    These are the hyperparameter search and the code cells of the written questions; every
    sample student writes them the way the instructor did (the solution with its markers
    removed), so that a sample's notebook runs to the end like a finished submission's.
    """
    cells = {}
    for cell in source_nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("solution") or _defined_functions(cell.source):
            continue
        lines = [line for line in cell.source.splitlines()
                 if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]
        cells[meta["grade_id"]] = "\n".join(lines)
    return cells


def all_correct(functions) -> dict[str, str]:
    return {f: CODE[f] for f in functions}


def plan(assignment: str) -> dict[str, dict[str, str]]:
    """student id -> {function: code} for one assignment's sample submissions."""
    if assignment == "svm":
        fns = ("svm_loss_naive", "svm_loss_vectorized", "sample_batch", "sgd_step", "predict")
        ok = all_correct(fns)
        return {
            "correct_student": ok,
            "bug_counts_correct_class": {**ok, "svm_loss_naive": buggy("svm_loss_naive", "svm_counts_correct_class")},
            "bug_no_divide": {**ok, "svm_loss_naive": buggy("svm_loss_naive", "forgot_divide_by_n")},
            "bug_reg_factor2": {**ok, "svm_loss_naive": buggy("svm_loss_naive", "reg_grad_missing_factor_2")},
            "bug_wrong_sign": {**ok, "svm_loss_naive": buggy("svm_loss_naive", "svm_wrong_sign_correct_class")},
            # The 2015/2016 starter's convention, the same in both functions (consistent).
            "bug_half_convention": {**ok, "svm_loss_naive": buggy(
                "svm_loss_naive", "reg_half_convention_naive", "reg_half_convention_naive_grad"),
                                    "svm_loss_vectorized": buggy(
                "svm_loss_vectorized", "reg_half_convention", "reg_half_convention_grad")},
            "bug_calls_naive": {**ok, "svm_loss_vectorized": buggy("svm_loss_vectorized", "vectorized_calls_naive")},
            "partly_correct": {"svm_loss_naive": CODE["svm_loss_naive"],
                               "svm_loss_vectorized": buggy("svm_loss_vectorized", "no_regularization",
                                                            "no_regularization_grad"),
                               "sgd_step": buggy("sgd_step", "sgd_wrong_sign"),
                               "predict": CODE["predict"]},
        }
    if assignment == "softmax":
        fns = ("softmax_loss_naive", "softmax_loss_vectorized", "sample_batch", "sgd_step", "predict")
        ok = all_correct(fns)
        return {
            "correct_student": ok,
            "bug_no_max": {**ok, "softmax_loss_vectorized": buggy("softmax_loss_vectorized",
                                                                  "softmax_no_max_subtraction")},
            "bug_minus_one": {**ok, "softmax_loss_vectorized": buggy("softmax_loss_vectorized",
                                                                     "softmax_forgot_minus_one")},
            "bug_wrong_axis": {**ok, "softmax_loss_vectorized": buggy("softmax_loss_vectorized",
                                                                      "softmax_wrong_axis")},
            "partly_correct": {"softmax_loss_naive": CODE["softmax_loss_naive"],
                               "sample_batch": CODE["sample_batch"],
                               "predict": buggy("predict", "predict_argmin")},
        }
    raise ValueError(f"assignment must be 'svm' or 'softmax', got {assignment!r}")


# What grading the samples must give: student -> (status, score, named mistakes), per
# assignment, with the points of solutions/ (svm: 45 points, softmax: 39, of which 16 and 13
# are written answers graded by hand). tests/test_autograder_samples.py asserts every entry.
# Parts (docs and the notebooks' test cells): naive loss 3, grad 5, reg 2; vectorized loss 2,
# grad 3, reg 2, speed 4; then sample_batch, sgd_step, predict (svm 3, 3, 2; softmax 2, 2, 1).
# The loss and grad parts are at reg = 0 and the reg part is the regularization alone, so a
# regularization mistake costs only its reg part; the speed part needs the vectorized version
# to be vectorized and to agree with the student's own naive version or be right at reg = 0
# (a bug in the naive version alone costs only the naive version's points).
EXPECTED = {
    "svm": {
        "instructor_solution": ("needs manual grading", 29.0, []),
        "correct_student": ("graded", 29.0, []),
        "untouched_release": ("graded", 0.0, ["svm_loss_naive: not_written", "svm_loss_vectorized: not_written",
                                              "sample_batch: not_written", "sgd_step: not_written",
                                              "predict: not_written"]),
        # naive loss 3 (the vectorized version disagrees with the naive one but is right: it keeps speed)
        "bug_counts_correct_class": ("graded", 26.0, ["svm_loss_naive: svm_counts_correct_class"]),
        # naive loss 3 and grad 5
        "bug_no_divide": ("graded", 21.0, ["svm_loss_naive: forgot_divide_by_n"]),
        # naive reg 2
        "bug_reg_factor2": ("graded", 27.0, ["svm_loss_naive: reg_grad_missing_factor_2"]),
        # naive grad 5
        "bug_wrong_sign": ("graded", 24.0, ["svm_loss_naive: svm_wrong_sign_correct_class"]),
        # a consistent other convention: the two reg parts only (2 + 2); the two versions agree
        "bug_half_convention": ("graded", 25.0, ["svm_loss_naive: reg_half_convention",
                                                 "svm_loss_vectorized: reg_half_convention"]),
        # speed 4
        "bug_calls_naive": ("graded", 25.0, ["svm_loss_vectorized: vectorized_calls_naive"]),
        # vectorized reg 2 (right at reg = 0: it keeps speed), sample_batch 3, sgd_step 3
        "partly_correct": ("graded", 21.0, ["svm_loss_vectorized: no_regularization", "sample_batch: not_written",
                                            "sgd_step: sgd_wrong_sign"]),
    },
    "softmax": {
        "instructor_solution": ("needs manual grading", 26.0, []),
        "correct_student": ("graded", 26.0, []),
        "untouched_release": ("graded", 0.0, ["softmax_loss_naive: not_written",
                                              "softmax_loss_vectorized: not_written", "sample_batch: not_written",
                                              "sgd_step: not_written", "predict: not_written"]),
        # vectorized loss 2 and grad 3 (every score shifted by 1e3 overflows), speed 4
        "bug_no_max": ("graded", 17.0, ["softmax_loss_vectorized: softmax_no_max_subtraction"]),
        # vectorized grad 3, speed 4
        "bug_minus_one": ("graded", 19.0, ["softmax_loss_vectorized: softmax_forgot_minus_one"]),
        # vectorized loss 2, grad 3, speed 4
        "bug_wrong_axis": ("graded", 17.0, ["softmax_loss_vectorized: softmax_wrong_axis"]),
        # vectorized 11, sgd_step 2, predict 1
        "partly_correct": ("graded", 12.0, ["softmax_loss_vectorized: not_written", "sgd_step: not_written",
                                            "predict: predict_argmin"]),
    },
}


def write_sample(nb, path: Path, name: str) -> None:
    """Write one sample notebook, byte for byte the same for the same input.

    Marks it as generated (top-level metadata "linclass"), gives a cell that has no id a
    stable one (derived from name and position, never random) and writes sorted keys.
    """
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    nb.metadata["linclass"] = dict(GENERATED)
    if (nb.nbformat, nb.nbformat_minor) >= (4, 5):
        for i, cell in enumerate(nb.cells):
            if not cell.get("id"):
                cell["id"] = hashlib.sha256(f"{name}:{i}".encode()).hexdigest()[:12]
    text = nbformat.writes(nb)  # sorted keys, indent 1, validated
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text if text.endswith("\n") else text + "\n")


def write_submissions(release_path: Path, source_path: Path, assignment: str, dest: Path) -> list[Path]:
    """Write one notebook per sample student under dest/<student>/<assignment>/.

    Also writes the untouched release (student "untouched_release") and the instructor's
    solution notebook (student "instructor_solution").
    Returns the written paths.
    """
    release = nbformat.read(release_path, as_version=4)
    written = []

    def put(student, nb):
        path = dest / student / assignment / f"{assignment}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_sample(nb, path, f"{student}/{assignment}")
        written.append(path)

    put("untouched_release", release)
    from autograder.rubric import is_rubric

    solution = nbformat.read(source_path, as_version=4)
    # The instructor's rubric cells are removed from the release; a submission never has them.
    solution.cells = [cell for cell in solution.cells if not is_rubric(cell)]
    for cell in solution.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    put("instructor_solution", solution)
    cells = written_cells(solution)
    for student, answers in plan(assignment).items():
        put(student, fill(release, {**cells, **answers}))
    return written


# ------------------------------------------------------------------ the mini course

def _cell(kind, source, grade_id=None, points=None, solution=False, grade=False, locked=False):
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    if grade_id:
        meta = {"grade": grade, "solution": solution, "locked": locked, "grade_id": grade_id,
                "schema_version": 3}
        if points is not None:
            meta["points"] = points
        cell.metadata["nbgrader"] = meta
    return cell


def _solution_cell(function: str):
    code = CODE[function]
    head, body = code.split("\n", 1)
    text = f"{head}\n    ### BEGIN SOLUTION\n{body.rstrip()}\n    ### END SOLUTION\n"
    return _cell("code", text, grade_id=function, solution=True)


def _test(grade_id, function, check, points, visible=""):
    hidden = ("### BEGIN HIDDEN TESTS\nfrom autograder.hidden import check_function, check_loss, check_vectorized\n"
              f"{check}\n### END HIDDEN TESTS\n")
    return _cell("code", visible + hidden, grade_id=grade_id, points=points, grade=True, locked=True)


def mini_source(assignment: str = "svm"):
    """A small nbgrader source notebook with the real course's structure and grade ids."""
    loss = "svm" if assignment == "svm" else "softmax"
    naive, vec = f"{loss}_loss_naive", f"{loss}_loss_vectorized"
    cells = [
        _cell("markdown", f"# {assignment}: a short version for tests", grade_id="intro", locked=True),
        _cell("code", "import numpy as np\nfrom linclass import checks\nfrom linclass.data import get_cifar10_data",
              grade_id="setup", locked=True),
        _cell("code", "data = get_cifar10_data(num_training=200, num_validation=50, num_test=50, num_dev=20)\n"
              "print(data['X_dev'].shape)"),
        _solution_cell(naive),
        _test(f"{naive}_loss", naive, f"check_loss({naive}, '{naive}', seed=0, part='loss')", 2,
              visible=f"W = 0.0001 * np.random.randn(3073, 10)\nloss, _ = {naive}(W, data['X_dev'], "
              "data['y_dev'], 0.0)\nassert np.isfinite(loss)\n"),
        _test(f"{naive}_grad", naive, f"check_loss({naive}, '{naive}', seed=0, part='grad')", 1),
        _test(f"{naive}_reg", naive, f"check_loss({naive}, '{naive}', seed=0, part='reg')", 1),
        _solution_cell(vec),
        _test(f"{vec}_loss", vec, f"check_loss({vec}, '{vec}', seed=0, part='loss')", 1),
        _test(f"{vec}_grad", vec, f"check_loss({vec}, '{vec}', seed=0, part='grad')", 1),
        _test(f"{vec}_vectorized", vec, f"check_vectorized({vec}, '{vec}', seed=0)", 1),
        _solution_cell("sample_batch"),
        _test("sample_batch_correct", "sample_batch", "check_function(sample_batch, 'sample_batch', seed=0)", 1),
        _solution_cell("sgd_step"),
        _test("sgd_step_correct", "sgd_step", "check_function(sgd_step, 'sgd_step', seed=0)", 1),
        _solution_cell("predict"),
        _test("predict_correct", "predict", "check_function(predict, 'predict', seed=0)", 1),
        _cell("markdown", "**Inline question:** why is the initial loss about what it is?",
              grade_id="q_intro_text", locked=True),
        _cell("markdown", "### BEGIN SOLUTION\nBecause every class scores about the same.\n### END SOLUTION",
              grade_id="q_initial_loss", points=1, solution=True, grade=True),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def make_release(source_nb):
    """The student version of a source notebook, made with nbgrader's own preprocessors."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions, ComputeChecksums

    nb = nbformat.from_dict(json.loads(json.dumps(source_nb)))
    resources = {"metadata": {"path": "."}}
    for pre in (ClearSolutions(), ClearHiddenTests(), ClearOutput(), ComputeChecksums()):
        nb, resources = pre.preprocess(nb, resources)
    return nb


def add_rubric(source_path: Path, grade_id: str, text: str) -> None:
    """Put a rubric cell (markdown tagged "rubric") right after the cell grade_id of a source notebook."""
    src = nbformat.read(source_path, as_version=4)
    at = next(i for i, c in enumerate(src.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    rubric = nbformat.v4.new_markdown_cell(text)
    rubric.metadata["tags"] = ["rubric"]
    src.cells.insert(at + 1, rubric)
    nbformat.write(src, source_path)


def mini_course(dest: Path, assignments=("svm",)) -> tuple[Path, Path]:
    """Write dest/source/<a>/<a>.ipynb and dest/release/<a>/<a>.ipynb; return both folders."""
    dest = Path(dest)
    for a in assignments:
        src = mini_source(a)
        for folder, nb in (("source", src), ("release", make_release(src))):
            path = dest / folder / a / f"{a}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, path)
    return dest / "source", dest / "release"


def generate(source_dir: Path, release_dir: Path, dest: Path) -> list[Path]:
    """Write the samples of every assignment (ASSIGNMENTS) to dest; return the written paths.

    Raises FileNotFoundError when a source or release notebook is missing: samples made
    from part of the course would silently drop the others.
    """
    pairs = [(a, Path(release_dir) / a / f"{a}.ipynb", Path(source_dir) / a / f"{a}.ipynb") for a in ASSIGNMENTS]
    missing = [str(p) for _, release, source in pairs for p in (release, source) if not p.exists()]
    if missing:
        raise FileNotFoundError("missing course notebooks: " + ", ".join(missing))
    written = []
    for a, release, source in pairs:
        written += write_submissions(release, source, a, Path(dest))
    return written


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=str(ROOT),
                        help="the course's top folder (default: this repository)")
    parser.add_argument("--source", help="folder of source notebooks (default: ROOT/solutions)")
    parser.add_argument("--release", help="folder of release notebooks (default: ROOT/assignments)")
    parser.add_argument("--dest", help="where to write the samples (default: ROOT/autograder/samples/submitted)")
    args = parser.parse_args(argv)
    root = Path(args.root)
    args.source = args.source or str(root / "solutions")
    args.release = args.release or str(root / "assignments")
    dest = Path(args.dest or root / "autograder" / "samples" / "submitted")
    # Write next to dest first, so that a failure leaves the old samples in place.
    dest.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    os.chmod(fresh, 0o755)  # mkdtemp's 0700 would otherwise become dest's
    try:
        count = len(generate(Path(args.source), Path(args.release), fresh))
        if dest.exists():
            shutil.rmtree(dest)
        fresh.rename(dest)
    except FileNotFoundError as err:
        print(f"{err}; the samples in {dest} are left as they were", file=sys.stderr)
        return 1
    finally:
        if fresh.exists():
            shutil.rmtree(fresh)
    print(f"wrote {count} sample submissions to {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
