"""The self-check (``python -m linclass.selfcheck``, ``linclass-grade selfcheck``) predicts the grade.

- It agrees with the grader's points on every autograded part of every sample submission
  (``autograder/samples/``) and every corpus variant (``tests/corpus/``): the grader's side is
  ``autograder.scoring`` on the grader's own cases and the answer key, run in-process like
  the hidden tests; the self-check's side is the kit alone, on the visible inputs.
- It names the catalogued mistake the grader names, and never says "passed" while a graded
  function is a stub, an answer is empty, a "vectorized" function loops, or a part loses points.
- It passes on the instructor's solutions with the real data and without it (a synthetic
  stand-in); CI sets LINCLASS_DATA_DIR, so one run keeps the variable and one removes it.
- Its output has no Jupyter warnings, and the kit never imports the grader.
"""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import autograder  # noqa: F401  (first: it keeps nbformat's import fast)

# isort: split
import nbformat
import numpy as np

from autograder import bugs, cli, hidden, registry, scoring
from autograder.harness import calls
from linclass import checks, gradcheck
from linclass import selfcheck as sc
from tools import make_samples as ms

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = ("svm", "softmax")
SAMPLES = sorted((ROOT / "autograder" / "samples" / "submitted").glob("*/*/*.ipynb"))
CORPUS = ROOT / "tests" / "corpus"
SEED = 20240


# ------------------------------------------------------------------------ helpers

def release(assignment: str):
    return nbformat.read(ROOT / "assignments" / assignment / f"{assignment}.ipynb", as_version=4)


def _strip_markers(text: str) -> str:
    return "\n".join(line for line in text.splitlines()
                     if not line.strip().startswith(("### BEGIN SOLUTION", "### END SOLUTION")))


def filled(assignment: str):
    """The release with every answer cell (code and written) taken from the instructor's solution."""
    nb = release(assignment)
    source = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = _strip_markers(answers[meta["grade_id"]])
    return nb


def namespace(nb) -> dict:
    """The functions a notebook's answer cells define, run in-process (the data cells are not run)."""
    ns: dict = {"np": np, "checks": checks, "gradcheck": gradcheck}
    for c in sc.graded_cells(nb):
        if c["kind"] == "answer" and c["cell_type"] == "code":
            try:
                exec(compile(sc._python(c["source"]), f"<cell-{c['grade_id']}>", "exec"), ns)  # noqa: S102
            except Exception:  # a cell that needs the notebook's data (a search grid): not a function
                pass
    return ns


def graded_tests(nb) -> list[dict]:
    """The autograded test cells of a notebook (sc.graded_cells of kind "test")."""
    return [c for c in sc.graded_cells(nb) if c["kind"] == "test"]


def kit_points(nb) -> dict:
    """grade_id -> (points, message, mistake) the self-check gives, from the answer cells alone."""
    tests = graded_tests(nb)
    functions = list(dict.fromkeys(sc.split_grade_id(c["grade_id"])[0] for c in tests))
    results = sc.check_functions(namespace(nb), tests, sc.stubs(nb, functions))
    return {r.grade_id: (r.points, r.message, r.mistakes) for r in results}


def _outputs(fn, name, case_list):
    out = []
    for case in case_list:
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                out.append((True, calls.run_case(fn, name, case["inputs"])))
        except Exception as err:
            out.append((False, f"{type(err).__name__}: {err}"))
    return out


def grader_judgement(ns: dict, name: str):
    """autograder.scoring's judgement of ns[name] on the grader's own cases (None: not defined)."""
    fn = ns.get(name)
    if not callable(fn):
        return None
    entry = registry.get(name)
    case_list = registry.make_cases(name, SEED)
    evidence: dict = {}
    if entry.is_loss and entry.speed_graded:
        naive = ns.get(entry.naive)
        evidence = {"profile": hidden.trace_profile(fn, name, SEED),
                    "naive_outputs": _outputs(naive, name, case_list) if callable(naive) else None,
                    "calls_naive": entry.naive in calls.own_calls(fn, calls.call_args(name, case_list[0]["inputs"]))}
    return scoring.judge(name, case_list, _outputs(fn, name, case_list),
                         [registry.reference_output(c) for c in case_list], **evidence)


def grader_points(nb) -> dict:
    """grade_id -> (points, mistake words) the grader's scoring gives each autograded test cell."""
    ns = namespace(nb)
    judged, out = {}, {}
    for c in graded_tests(nb):
        fn, part = registry.function_of(c["grade_id"])
        if fn not in judged:
            judged[fn] = grader_judgement(ns, fn)
        j = judged[fn]
        if j is None:
            out[c["grade_id"]] = (0.0, set())
            continue
        check = sc.loss_part(part) if registry.get(fn).is_loss else "all"
        verdict = j.parts[check or "all"]
        out[c["grade_id"]] = (c["points"] if verdict.ok else 0.0, {b.words for b in verdict.mistakes})
    return out


NOT_A_NAME = {bugs.NOT_WRITTEN.words, bugs.RAISES.words, bugs.NOT_DEFINED.words}


def assert_agree(nb, label: str) -> tuple[int, int]:
    """The self-check's points equal the grader's on every autograded part, and so do the names."""
    kit, grader = kit_points(nb), grader_points(nb)
    assert set(kit) == set(grader), label
    for gid, (points, words) in grader.items():
        got, message, mistake = kit[gid]
        assert got == points, f"{label}: {gid}: self-check {got}, grader {points} ({message})"
        fn, _ = registry.function_of(gid)
        if points == 0.0 and registry.get(fn).is_loss:
            named = set(mistake)
            catalogued = {w for w in words if w not in NOT_A_NAME}
            # Every catalogued name the grader gives this part, the self-check gives too.
            assert catalogued <= named, f"{label}: {gid}: grader names {catalogued}, self-check {named}"
    return len(grader), sum(1 for p, _ in grader.values() if p == 0)


# ------------------------------------------------------------ agreement with the grader

@pytest.mark.parametrize("path", SAMPLES, ids=[f"{p.parts[-3]}-{p.parts[-2]}" for p in SAMPLES])
def test_agrees_with_the_grader_on_every_sample(path):
    nb = nbformat.read(path, as_version=4)
    student, assignment = path.parts[-3], path.parts[-2]
    assert_agree(nb, f"{student}/{assignment}")
    # And with what the whole sandboxed grader gives it (tools/make_samples.EXPECTED, asserted by
    # tests/test_autograder_samples.py): the same total and every catalogued name.
    _, total, named = ms.EXPECTED[assignment][student]
    kit = kit_points(nb)
    assert sum(p for p, _, _ in kit.values()) == total, f"{student}/{assignment}"
    keys = _keys_of_words()
    mine = {f"{sc.split_grade_id(gid)[0]}: {keys.get(w, w)}" for gid, (_, _, words) in kit.items() for w in words}
    assert {n for n in named if not n.endswith(": not_written")} <= mine, f"{student}/{assignment}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_agrees_with_the_grader_on_the_samples_made_from_todays_release(assignment):
    # The committed samples are regenerated from the release by tools/make_samples.py; these are
    # the same submissions made from the release as it is now, so a stale sample cannot hide a
    # disagreement.
    plan = ms.plan(assignment)
    assert len(plan) >= 5
    for student, answers in plan.items():
        assert_agree(ms.fill(release(assignment), answers), f"{student}/{assignment}")


def _grade_corpus():
    import importlib.util

    spec = importlib.util.spec_from_file_location("grade_corpus", CORPUS / "grade_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _keys_of_words() -> dict:
    """The grader's words -> its Bug key, for every name the stored tables and the speed part can print."""
    out = {b.words: b.key for b in (bugs.LOOPS_OVER_EXAMPLES, bugs.CALLS_NAIVE)}
    for family in checks._expected()["names"].values():
        for table in family.values():
            for names in table.values():
                out.update({words: key for key, words, *_ in names})
    for names in checks._expected().get("others", {}).values():
        out.update({words: key for key, words, _ in names})
    return out


@pytest.mark.skipif(not (CORPUS / "grade_corpus.py").exists(), reason="tests/corpus/ is not there")
def test_agrees_with_the_grader_on_every_corpus_variant():
    corpus = _grade_corpus()
    keys = _keys_of_words()
    rows = corpus.table()
    assert len(rows) >= 40
    for row in rows:
        name = row["function"]
        graded = corpus.grade_row(row)
        ns, _ = corpus.namespace(row)
        kit = sc.judge_loss(ns[name], name, ns)
        for part, points in corpus.POINTS[name].items():
            ok, message, named = kit[part]
            got = points if ok else 0
            assert got == graded["points"][part] == row["points"][part], \
                f"{row['id']}: {part}: self-check {got}, grader {graded['points'][part]} ({message})"
            if not ok:
                # The names the grader gives this part (catalogued ones and "what differs" lines) the
                # self-check gives too, in the same words.
                want = {k for k in graded["part_names"][part] if k not in (bugs.NOT_WRITTEN.key, bugs.RAISES.key)}
                mine = {keys.get(w, w) for w in named}
                assert want <= mine, f"{row['id']}: {part}: grader {want}, self-check {mine}"


def test_agrees_on_the_solutions_and_the_release():
    for a in ASSIGNMENTS:
        total, lost = assert_agree(filled(a), f"solution {a}")
        assert lost == 0 and total >= 8
        total, lost = assert_agree(release(a), f"release {a}")
        assert lost == total  # every part of the untouched release loses its points


# ------------------------------------------------------------------ named reasons

SVM = ("svm_loss_naive", "svm_loss_vectorized", "sample_batch", "sgd_step", "predict")
LOOPED_VECTORIZED = '''\
def svm_loss_vectorized(W, X, y, reg):
    loss, dW = 0.0, np.zeros(W.shape)
    for i in range(X.shape[0]):
        scores = X[i] @ W
        margins = np.maximum(0, scores - scores[y[i]] + 1)
        margins[y[i]] = 0
        loss += margins.sum()
        mask = (margins > 0).astype(float)
        mask[y[i]] = -mask.sum()
        dW += np.outer(X[i], mask)
    loss = loss / X.shape[0] + reg * np.sum(W * W)
    dW = dW / X.shape[0] + 2 * reg * W
    return loss, dW
'''
HALF = ('    loss += reg * np.sum(W * W)\n', '    loss += 0.5 * reg * np.sum(W * W)\n')
HALF_GRAD = ('    dW += 2 * reg * W\n', '    dW += reg * W\n')


def _svm_with(**code):
    return ms.fill(release("svm"), {**ms.all_correct(SVM), **code})


def test_a_loop_in_the_vectorized_loss_costs_the_speed_part_only_and_is_named():
    got = kit_points(_svm_with(svm_loss_vectorized=LOOPED_VECTORIZED))
    assert got["svm_loss_vectorized_speed"][0] == 0.0
    assert "once per example" in got["svm_loss_vectorized_speed"][1]
    assert got["svm_loss_vectorized_speed"][2] == [bugs.LOOPS_OVER_EXAMPLES.words]
    assert all(got[f"svm_loss_vectorized_{p}"][0] > 0 for p in ("loss", "grad", "reg"))


def test_a_catalogued_bug_is_named_in_the_graders_words():
    got = kit_points(_svm_with(svm_loss_naive=ms.buggy("svm_loss_naive", "forgot_divide_by_n")))
    assert got["svm_loss_naive_loss"][0] == got["svm_loss_naive_grad"][0] == 0.0
    assert got["svm_loss_naive_loss"][2] == [bugs.DATA_PAIR_BUGS["times_n"].words]
    assert got["svm_loss_naive_reg"][0] == 2.0  # the regularization is right: only the data part is wrong


def test_a_self_consistent_convention_loses_the_regularization_part_only():
    code = ms.CODE["svm_loss_naive"]
    naive = code.replace(*HALF).replace(*HALF_GRAD)
    vec = ms.CODE["svm_loss_vectorized"].replace(*HALF).replace(*HALF_GRAD)
    assert naive != code and vec != ms.CODE["svm_loss_vectorized"]
    got = kit_points(_svm_with(svm_loss_naive=naive, svm_loss_vectorized=vec))
    lost = {gid for gid, (p, _, _) in got.items() if p == 0.0}
    assert lost == {"svm_loss_naive_reg", "svm_loss_vectorized_reg"}
    assert got["svm_loss_naive_reg"][2] == [bugs.REG_PAIR_BUGS["half"].words]
    assert "2 * reg * W" in got["svm_loss_naive_reg"][2][0]  # says exactly what to change


def test_a_right_vectorized_loss_keeps_its_speed_points_next_to_a_wrong_naive_version():
    got = kit_points(_svm_with(svm_loss_naive=ms.buggy("svm_loss_naive", "forgot_divide_by_n")))
    assert got["svm_loss_vectorized_speed"][0] == 4.0
    assert "your svm_loss_naive disagrees with it: the mistake is in the naive version" in \
        got["svm_loss_vectorized_speed"][1]
    # Wrong at reg = 0 and disagreeing with a right naive version: the speed points are lost.
    wrong = ms.CODE["svm_loss_vectorized"].replace("= -mask.sum(axis=1)", "= mask.sum(axis=1)")
    assert wrong != ms.CODE["svm_loss_vectorized"]
    got = kit_points(_svm_with(svm_loss_vectorized=wrong))
    assert got["svm_loss_vectorized_speed"][0] == 0.0 and "does not agree" in got["svm_loss_vectorized_speed"][1]


def test_calling_the_naive_version_is_named():
    code = ms.buggy("svm_loss_vectorized", "vectorized_calls_naive")
    got = kit_points(_svm_with(svm_loss_vectorized=code))
    assert got["svm_loss_vectorized_speed"][::2] == (0.0, [bugs.CALLS_NAIVE.words])


def test_stubs_and_empty_answers_are_found_without_running():
    for a in ASSIGNMENTS:
        nb = release(a)
        tests = graded_tests(nb)
        functions = list(dict.fromkeys(sc.split_grade_id(c["grade_id"])[0] for c in tests))
        found = sc.stubs(nb, functions)
        assert set(functions) <= set(found), found
        assert all("TODO stub" in found[f] for f in functions)
        manual = [c["grade_id"] for c in sc.graded_cells(nb) if c["kind"] == "manual"]
        assert manual and sc.empty_answers(nb) == manual
        # The solution has neither.
        nb = filled(a)
        assert sc.stubs(nb, functions) == {} and sc.empty_answers(nb) == []


def test_no_run_never_says_passed_on_a_stub(tmp_path, capsys):
    path = tmp_path / "svm.ipynb"
    nb = filled("svm")
    stubbed = release("svm")
    for cell, stub in zip(nb.cells, stubbed.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "sgd_step_code":
            cell.source = stub.source
    nbformat.write(nb, path)
    assert sc.main([str(path), "--no-run"]) == 1
    out = capsys.readouterr().out
    assert "sgd_step is still the TODO stub" in out and "selfcheck FAILED" in out and "passed" not in out
    nbformat.write(filled("svm"), path)
    assert sc.main([str(path), "--no-run"]) == 0
    assert "no points are predicted" in capsys.readouterr().out


def test_an_empty_written_answer_fails(tmp_path, capsys):
    path = tmp_path / "softmax.ipynb"
    nb = filled("softmax")
    manual = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "markdown"]
    manual[0].source = "YOUR ANSWER HERE"
    manual[1].source = "  \n"
    nbformat.write(nb, path)
    assert sc.main([str(path), "--no-run"]) == 1
    out = capsys.readouterr().out
    gids = [c.metadata["nbgrader"]["grade_id"] for c in manual[:2]]
    assert f"2 written answer(s) still empty (YOUR ANSWER HERE): {', '.join(gids)}" in out


def test_the_kit_never_imports_the_grader():
    tree = ast.parse((ROOT / "linclass" / "selfcheck.py").read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any(n.split(".")[0] in ("autograder", "tools", "tests") or n.startswith("linclass.reference")
                   for n in names), names


# --------------------------------------------------------------- integrity (instructor side)

FUNCTIONS = ["svm_loss_naive", "svm_loss_vectorized", "sample_batch", "sgd_step", "predict"]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    source, rel_dir = ms.mini_course(root)
    rel = nbformat.read(rel_dir / "svm" / "svm.ipynb", as_version=4)

    def written(nb):
        for cell in nb.cells:
            if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution"):
                cell.source = "Every class scores about the same at the start."
        return nb

    good = root / "good" / "svm.ipynb"
    good.parent.mkdir()
    nbformat.write(written(ms.fill(rel, ms.all_correct(FUNCTIONS))), good)
    edited = root / "edited" / "svm.ipynb"
    edited.parent.mkdir()
    nb = written(ms.fill(rel, ms.all_correct(FUNCTIONS)))
    next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "svm_loss_naive_loss").source = "pass"
    nbformat.write(nb, edited)
    return {"root": root, "source": source, "release": rel_dir, "good": good, "edited": edited}


def test_integrity_exit_codes(course, capsys):
    assert cli.main(["selfcheck", str(course["good"]), "--release", str(course["release"]), "--no-run"]) == 0
    out = capsys.readouterr().out
    assert "selfcheck passed" in out and "graded cells are intact" in out
    assert cli.main(["selfcheck", str(course["edited"]), "--release", str(course["release"]), "--no-run"]) == 1
    out = capsys.readouterr().out
    assert "svm_loss_naive_loss" in out and "edited" in out and "FAILED" in out


def test_unreadable_notebook(course, tmp_path, capsys):
    bad = tmp_path / "svm.ipynb"
    bad.write_text("{")
    assert cli.main(["selfcheck", str(bad), "--release", str(course["release"]), "--no-run"]) == 1
    assert sc.main([str(bad), "--no-run"]) == 1
    assert "not a readable notebook" in capsys.readouterr().out


# ----------------------------------------------------------------- whole runs (a kernel)

def _run_selfcheck(path: Path, env: dict, instructor: bool = True) -> subprocess.CompletedProcess:
    cmd = ([sys.executable, "-m", "autograder", "selfcheck", str(path), "--release", str(ROOT / "assignments")]
           if instructor else [sys.executable, "-m", "linclass.selfcheck", str(path)])
    return subprocess.run([*cmd, "--fast"], capture_output=True, text=True, cwd=path.parent, env=env, timeout=1200)


def _env(tmp_path: Path, real_data: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("LINCLASS_FAST", "MPLBACKEND")}
    if not real_data:
        env.pop("LINCLASS_DATA_DIR", None)
        env["XDG_CACHE_HOME"] = str(tmp_path / "empty-cache")  # no CIFAR-10 in the cache folder either
    return env


def _no_jupyter_noise(result: subprocess.CompletedProcess) -> None:
    text = result.stdout + result.stderr
    for noise in ("Kernel is running", "WARNING", "[IPKernelApp]", "without encryption"):
        assert noise not in text, f"{noise!r} in the self-check's output:\n{text}"
    assert result.stderr.strip() == "", result.stderr[-2000:]
    # The first line is the first graded cell's row, not a log line.
    assert re.match(r"  [a-z_]+ +[ ?0-9.]+ / [0-9.]+ ", result.stdout), result.stdout[:200]


@pytest.mark.slow
@pytest.mark.parametrize("real_data", [True, False], ids=["LINCLASS_DATA_DIR", "no-data"])
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_solutions_pass(assignment, real_data, tmp_path):
    if real_data and not os.environ.get("LINCLASS_DATA_DIR"):
        pytest.skip("LINCLASS_DATA_DIR is not set (the run without it is the other case)")
    path = tmp_path / f"{assignment}.ipynb"
    nb = filled(assignment)
    nbformat.write(nb, path)
    result = _run_selfcheck(path, _env(tmp_path, real_data))
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "selfcheck passed" in result.stdout
    assert "graded cells are intact" in result.stdout
    assert ("synthetic stand-in" in result.stdout) != real_data
    _no_jupyter_noise(result)
    auto = sum(c["points"] for c in graded_tests(nb))
    assert f"expected: {auto:g} of {auto:g} autograded points" in result.stdout


@pytest.mark.slow
def test_a_run_fails_with_named_reasons(tmp_path):
    nb = _svm_with(svm_loss_naive=ms.buggy("svm_loss_naive", "forgot_divide_by_n"),
                   svm_loss_vectorized=LOOPED_VECTORIZED)
    answers = filled("svm")
    for cell, answer in zip(nb.cells, answers.cells):
        if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = answer.source
    stub = next(c for c in release("svm").cells if c.metadata.get("nbgrader", {}).get("grade_id") == "sgd_step_code")
    next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "sgd_step_code").source = stub.source
    manual = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "q_kink")
    manual.source = "YOUR ANSWER HERE"
    path = tmp_path / "svm.ipynb"
    nbformat.write(nb, path)
    result = _run_selfcheck(path, _env(tmp_path, real_data=False), instructor=False)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr[-2000:]
    assert "selfcheck FAILED" in out and "selfcheck passed" not in out
    assert bugs.DATA_PAIR_BUGS["times_n"].words in out
    assert bugs.LOOPS_OVER_EXAMPLES.words in out
    assert "sgd_step is still the TODO stub" in out and "q_kink" in out
    assert re.search(r"sgd_step_check\s+0 / 3 ", out) and re.search(r"svm_loss_naive_loss\s+0 / 3 ", out)
    _no_jupyter_noise(result)


def test_kit_reads_part_names_as_the_grader_does():
    # The kit cannot import the grader, so it keeps its own copy of this rule: they must agree.
    from autograder.registry import part_check
    from linclass.selfcheck import loss_part

    for part in ("loss", "value", "sanity", "grad", "gradient", "reg", "regularization", "speed",
                 "vectorized", "no_loop", "fast", "check", "correct", "all"):
        assert (loss_part(part) or "all") == part_check(part), part
