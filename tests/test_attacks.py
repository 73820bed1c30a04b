"""The attack suite: every cheating or harmful submission in tests/attacks, through the grader.

All submissions are graded once (two at a time, small limits) in a module fixture; each
attack then has its own test with its expected outcome: a score no higher than the honest
work in it, a flag where the attack is detectable, a "failed" status with a reason where
the run cannot finish, nothing changed outside the sandbox, and every grading returning.
The zip attacks go through the collect step.
"""
from __future__ import annotations

import os
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

import attacks
from attacks.harm import LeakServer, digest
from attacks.source import build_source_notebook
from autograder import sandbox
from autograder.collect import collect
from autograder.grade import GradeConfig, grade_submission

pytestmark = pytest.mark.slow

LIMITS = sandbox.Limits(cell_timeout=10, total_timeout=40, memory_mb=1536, max_procs=64,
                        max_output_bytes=2_000_000, max_scratch_bytes=100_000_000)
PROBE_TIMEOUT = 30
# Probe and notebook run each end within their timeouts; the rest is start-up and slack.
MAX_SECONDS = PROBE_TIMEOUT + LIMITS.total_timeout + 30

def autograded_points(result) -> float:
    """The points a perfect submission earns before a person grades the written answers."""
    return sum(p.max_points for p in result.parts.values() if not p.manual)


def grade_attacks(root: Path, source, names: list[str], limits: sandbox.Limits, probe_timeout: float):
    """Grade the named attacks built from source; returns (results, before, after, server)."""
    course = root / "course"
    (course / "source" / "svm").mkdir(parents=True)
    nbformat.write(source, course / "source" / "svm" / "svm.ipynb")
    server = LeakServer()
    kit = attacks.Kit(source, {
        "source": str(course / "source" / "svm" / "svm.ipynb"),
        "solutions": str(course / "solutions"),
        "gradebook": str(course / "gradebook.db"),
        "other_student": str(course / "submitted" / "bob" / "svm" / "svm.ipynb"),
        "course": str(course),
    }, server.port)
    (course / "release" / "svm").mkdir(parents=True)
    nbformat.write(kit.release(), course / "release" / "svm" / "svm.ipynb")
    (course / "solutions" / "svm").mkdir(parents=True)
    nbformat.write(source, course / "solutions" / "svm" / "svm.ipynb")
    (course / "submitted" / "bob" / "svm").mkdir(parents=True)
    Path(kit.targets["other_student"]).write_bytes(attacks.BY_NAME["correct"].make(kit))
    db = sqlite3.connect(kit.targets["gradebook"])
    db.execute("CREATE TABLE grade (id TEXT, manual_score REAL)")
    db.execute("INSERT INTO grade VALUES ('bob', 3.0)")
    db.commit()
    db.close()
    before = {name: digest(Path(p)) for name, p in kit.targets.items()}

    subs = {}
    for name in names:
        path = root / "submissions" / name / "svm.ipynb"
        path.parent.mkdir(parents=True)
        path.write_bytes(attacks.BY_NAME[name].make(kit))
        subs[name] = path
    config = GradeConfig(source_dir=course / "source", release_dir=course / "release",
                         work_dir=root / "work", limits=limits, probe_timeout=probe_timeout,
                         call_timeout=10)

    def grade(name):
        t0 = time.monotonic()
        result = grade_submission(subs[name], "svm", name, config)
        return name, result, time.monotonic() - t0

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = {name: (result, seconds) for name, result, seconds in pool.map(grade, names)}
    finally:
        server.close()
    after = {name: digest(Path(p)) for name, p in kit.targets.items()}
    return results, before, after, server


# Without bubblewrap a grader running as root has no process limit (the kernel exempts
# root), so a fork bomb would take down the test machine instead of being contained.
UNSAFE_HERE = {"fork_bomb"} if not sandbox.sandbox_available() and os.geteuid() == 0 else set()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every attack, built from the compact source notebook, graded once."""
    return grade_attacks(tmp_path_factory.mktemp("attacks"), build_source_notebook(),
                         [a.name for a in attacks.ATTACKS if a.name not in UNSAFE_HERE], LIMITS, PROBE_TIMEOUT)


def check_outcome(attack, graded, max_seconds):
    results, before, after, server = graded
    result, seconds = results[attack.name]
    honest = results[attack.base][0] if attack.base else None
    correct = results["correct"][0]

    assert result.status in ("graded", "failed", "needs manual grading", "flagged")
    assert seconds < max_seconds, f"grading took {seconds:.0f} s"
    assert result.sandboxed is sandbox.sandbox_available()
    # The points at stake never change, whatever the submission claims.
    assert result.max_score == correct.max_score
    if honest is not None:
        assert result.score <= honest.score + 1e-9, (result.score, honest.score, result.parts)
    else:
        assert result.score == 0
    if attack.full_marks:
        assert result.score == autograded_points(correct) > 0, result.parts
        assert result.status in ("graded", "needs manual grading"), result.reason
    if attack.flagged is True:
        # A human is told: by a flag, or by a "failed" status with its reason.
        assert result.status in ("flagged", "failed"), result
        assert result.flags or result.status == "failed", result
    elif attack.flagged is False:
        assert result.flags == [] and result.status != "flagged", result.flags
    if attack.failed:
        assert result.status == "failed" and result.reason, result
    if result.status == "failed":
        assert result.reason
    for target in attack.harms:
        assert after[target] == before[target], f"{target} was changed"
    assert server.connections == 0, "a submission reached the network"


@pytest.mark.parametrize("attack", attacks.ATTACKS, ids=[a.name for a in attacks.ATTACKS])
def test_attack(graded, attack):
    if attack.name in UNSAFE_HERE:
        pytest.skip("no sandbox and running as root: a fork bomb cannot be contained here")
    check_outcome(attack, graded, MAX_SECONDS)


# The assignment's own source notebook loads (synthetic) data and trains, so each grading
# takes longer: a representative subset of the attacks runs on it.
REAL_SOURCE = Path(__file__).resolve().parents[1] / "solutions" / "svm" / "svm.ipynb"
REAL_SUBSET = ["correct", "stub", "zeros", "tests_edited", "fake_test_100_points", "patch_numpy_top",
               "patch_numpy_in_function", "input_transformer", "hide_tracebacks", "import_reference",
               "read_course_files", "write_course_files", "kill_parent", "numpy_warnings", "network"]
REAL_LIMITS = sandbox.Limits(cell_timeout=60, total_timeout=180, memory_mb=2048, max_procs=64,
                             max_output_bytes=2_000_000, max_scratch_bytes=100_000_000)


@pytest.fixture(scope="module")
def graded_real(tmp_path_factory):
    if not REAL_SOURCE.exists():
        pytest.skip(f"{REAL_SOURCE} is not there")
    return grade_attacks(tmp_path_factory.mktemp("attacks-real"), nbformat.read(REAL_SOURCE, as_version=4),
                         REAL_SUBSET, REAL_LIMITS, 60)


@pytest.mark.parametrize("name", REAL_SUBSET)
def test_attack_on_the_solution_notebook(graded_real, name):
    check_outcome(attacks.BY_NAME[name], graded_real, 60 + REAL_LIMITS.total_timeout + 60)


def test_nothing_outside_the_sandbox_changed(graded):
    results, before, after, server = graded
    assert after == before
    assert server.connections == 0


def test_reference_points(graded):
    results = graded[0]
    assert results["correct"][0].score == results["correct"][0].max_score == 12
    assert results["stub"][0].score == 0
    assert results["zeros"][0].score == 0


def _notebook_bytes() -> bytes:
    return attacks.BY_NAME["correct"].make(attacks.Kit(build_source_notebook()))


def test_zip_with_path_traversal_is_refused(tmp_path):
    archive = tmp_path / "lms" / "export.zip"
    archive.parent.mkdir()
    archive.write_bytes(attacks.zip_with_traversal(_notebook_bytes()))
    dest = tmp_path / "deep" / "er" / "submitted"
    report = collect(archive, dest, ["svm", "softmax"], assignment="svm")
    assert report.submissions == []
    assert any("outside" in msg for _, msg in report.problems), report.problems
    escaped = [p for p in tmp_path.rglob("*escape*")] + list(Path("/tmp").glob("absolute_escape.ipynb"))
    assert escaped == []


def test_zip_bomb_is_refused_without_filling_the_disk(tmp_path):
    archive = tmp_path / "export.zip"
    archive.write_bytes(attacks.zip_bomb(_notebook_bytes(), gigabytes=1.0))
    assert archive.stat().st_size < 5_000_000
    dest = tmp_path / "submitted"
    report = collect(archive, dest, ["svm", "softmax"], assignment="svm")
    assert any("zip bomb" in msg for _, msg in report.problems), report.problems
    used = sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())
    assert used < archive.stat().st_size + 50_000_000
