"""The attack suite: every cheating or harmful submission in tests/attacks, through the grader.

Round one (``tests/attacks/__init__.py``): all submissions are graded once (two at a time,
small limits) in a module fixture; each attack then has its own test with its expected
outcome: a score no higher than the honest work in it, a flag where the attack is
detectable, a "failed" status with a reason where the run cannot finish, nothing changed
outside the sandbox, and every grading returning. The zip attacks go through the collect step.

Round two (``tests/attacks/round2.py``), one class of attack per section:

1. forged probe results          5. breaking the class run (through ``linclass-grade run``)
2. results that change when read 6. limits per process versus per submission
3. detecting the probe           7. leaks into grades.csv or the feedback page
4. fooling the vectorization     8. identity at collect time (through ``linclass-grade run``)

Classes 1-4, 6 and 7 are graded with ``grade_submission`` two attacks at a time, with two
honest neighbours graded beside every pair (alice: correct; bob: correct but for one loop
over the examples). Each test checks that grading returned, that the score is no higher than
the honest content deserves (the score of its base), that it is flagged where it must be,
that what it reports it achieved stays within the limits, that nothing of the hidden tests,
the answer key, the grader's secret or its hidden inputs lands in the result or the feedback
page, and that both neighbours' records are byte-identical to their records graded alone.

Classes 5 and 8 go through ``linclass-grade run`` (``autograder.cli.main``) as an LMS export,
next to the same two honest neighbours. Each test checks that run, feedback and export
finish, that grades.csv has a row for every student, that the neighbours' records are
identical to grading them alone, and that no cell of grades.csv is a spreadsheet formula and
no feedback page holds the student's HTML.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

import attacks
from attacks import Kit
from attacks.harm import LeakServer, digest
from attacks.round2 import ATTACKS2, BY_NAME2, LMS_ATTACKS, LmsAttack, lms_files, zip_bytes
from attacks.source import build_source_notebook
from autograder import cli, registry, sandbox
from autograder.collect import collect
from autograder.feedback import render
from autograder.grade import GradeConfig, grade_submission, submission_seed

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


def speed_points(result) -> float:
    """The points of the speed parts: judged on their own evidence (a vectorized function that
    agrees with the student's own naive one), so answers that return zeros can earn them."""
    return sum(p.points for gid, p in result.parts.items() if gid.endswith("_speed"))


def test_reference_points(graded):
    results = graded[0]
    assert results["correct"][0].score == results["correct"][0].max_score == 12
    assert results["stub"][0].score == 0
    assert results["zeros"][0].score == speed_points(results["zeros"][0]) <= 1


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


# =================================================================== round two

REPO = Path(__file__).resolve().parents[1]
MAX_FILES = sandbox._MAX_SCRATCH_FILES
REPORT_LIMITS = {"memory_mb": LIMITS.memory_mb * 1024 * 1024, "max_scratch_bytes": LIMITS.max_scratch_bytes,
                 "max_files": MAX_FILES}

# ------------------------------------------- round two, classes 1-4, 6, 7: beside two neighbours

# The honest neighbours graded beside every pair of attacks: (student, the submission they hand in).
NEIGHBOURS = {"alice": "correct", "bob": "loopy"}
NEIGHBOUR_LIMITS = sandbox.Limits(cell_timeout=60, total_timeout=180, memory_mb=1536, max_procs=64,
                                  max_output_bytes=2_000_000, max_scratch_bytes=100_000_000)


def _course(root: Path):
    source = build_source_notebook()
    kit = Kit(source)
    (root / "source" / "svm").mkdir(parents=True)
    nbformat.write(source, root / "source" / "svm" / "svm.ipynb")
    (root / "release" / "svm").mkdir(parents=True)
    nbformat.write(kit.release(), root / "release" / "svm" / "svm.ipynb")
    return source, kit


def _record(result) -> bytes:
    """A result as the bytes of its JSON record, without its duration."""
    data = result.to_dict()
    data.pop("duration", None)
    return json.dumps(data, sort_keys=True, ensure_ascii=True).encode()


@pytest.fixture(scope="module")
def graded2(tmp_path_factory):
    """Every round-two notebook attack graded once, two at a time, each pair beside alice and bob."""
    root = tmp_path_factory.mktemp("round2")
    source, kit = _course(root)
    config = GradeConfig(source_dir=root / "source", release_dir=root / "release", work_dir=root / "work",
                         limits=LIMITS, probe_timeout=PROBE_TIMEOUT, call_timeout=10)
    subs = {}
    for attack in ATTACKS2:
        path = root / "submissions" / attack.name / "svm.ipynb"
        path.parent.mkdir(parents=True)
        path.write_bytes(attack.make(kit))
        subs[attack.name] = path
    for student, base in NEIGHBOURS.items():
        path = root / "submissions" / student / "svm.ipynb"
        path.parent.mkdir(parents=True)
        path.write_bytes(BY_NAME2[base].make(kit))
        subs[student] = path

    # The neighbours get time enough that a busy machine (four gradings at once) cannot make
    # them time out: what must not change is what the attacks do to them.
    roomy = GradeConfig(source_dir=root / "source", release_dir=root / "release", work_dir=root / "work",
                        limits=NEIGHBOUR_LIMITS, probe_timeout=120, call_timeout=60)

    def grade(name):
        t0 = time.monotonic()
        try:
            result = grade_submission(subs[name], "svm", name, roomy if name in NEIGHBOURS else config)
            return name, result, None, time.monotonic() - t0
        except BaseException as err:  # recorded: grading must never raise for a submission
            return name, None, f"{type(err).__name__}: {str(err)[:300]}", time.monotonic() - t0

    with ThreadPoolExecutor(max_workers=2) as pool:
        alone = {name: res for name, res, _, _ in pool.map(grade, list(NEIGHBOURS))}
    names = [a.name for a in ATTACKS2]
    results, beside = {}, {}
    with ThreadPoolExecutor(max_workers=2 + len(NEIGHBOURS)) as pool:
        for i in range(0, len(names), 2):
            pair = names[i:i + 2]
            graded = {name: (res, err, sec) for name, res, err, sec in pool.map(grade, pair + list(NEIGHBOURS))}
            for name in pair:
                results[name] = graded[name]
                beside[name] = {student: graded[student][0] for student in NEIGHBOURS}
    secret = (root / "work" / ".case-secret").read_text().strip()
    leftovers = sorted(p.name for p in (root / "work" / "scratch").iterdir())
    return {"results": results, "config": config, "subs": subs, "source": source, "secret": secret,
            "leftovers": leftovers, "alone": alone, "beside": beside}


def _secrets_of_the_course(source) -> list[str]:
    """Texts no result or feedback page may hold: hidden tests and the answer key's code."""
    out = []
    for cell in source.cells:
        text = cell.source
        if "### BEGIN HIDDEN TESTS" in text:
            hidden = text.split("### BEGIN HIDDEN TESTS", 1)[1].split("### END HIDDEN TESTS", 1)[0]
            out += [line.strip() for line in hidden.splitlines() if len(line.strip()) >= 20]
    release_text = json.dumps(Kit(source).release())
    for path in (REPO / "linclass" / "reference").glob("*.py"):
        for line in path.read_text().splitlines():
            line = line.strip()
            skip = ("#", '"""', "def ", "from ", "import ")
            if len(line) >= 40 and line not in release_text and not line.startswith(skip):
                out.append(line)
    return out


def _hidden_inputs(graded, name) -> list[str]:
    """The first numbers of every float input the grader gave this submission, as the attack prints them."""
    config = graded["config"]
    digest = hashlib.sha256(graded["subs"][name].read_bytes()).hexdigest()
    seed = submission_seed(config, "svm", name, digest)
    out = []
    for fn in ("svm_loss_naive", "svm_loss_vectorized"):
        for case in registry.make_cases(fn, seed) + registry.trace_cases(fn, seed):
            w = case["inputs"]["W"].ravel()[:2]
            out.append(" ".join(f"{v:.12e}" for v in w))
    return out


def _reported(result, key) -> int | None:
    for note in result.notes:
        found = re.search(rf"R2REPORT {key}=(\d+)", note)
        if found:
            return int(found.group(1))
    return None


def _public_text(result) -> str:
    """Everything of a result a student or the class sees: the record and the feedback page."""
    return json.dumps(result.to_dict(), ensure_ascii=False) + render(result, None)


@pytest.mark.parametrize("attack", [a for a in ATTACKS2 if a.klass], ids=[a.name for a in ATTACKS2 if a.klass])
def test_attack_round2(graded2, attack):
    result, error, seconds = graded2["results"][attack.name]
    assert error is None, f"grade_submission raised {error}"
    # The two honest neighbours graded at the same time come out byte-identical.
    for student, alone in graded2["alone"].items():
        next_to = graded2["beside"][attack.name][student]
        assert next_to is not None, student
        assert _record(next_to) == _record(alone), (student, next_to.status, next_to.reason, next_to.score)
    assert seconds < PROBE_TIMEOUT + LIMITS.total_timeout + 40, f"grading took {seconds:.0f} s"
    honest = graded2["results"][attack.deserved][0]
    correct = graded2["results"]["correct"][0]
    assert result.max_score == correct.max_score
    assert result.score <= honest.score + 1e-9, (result.score, honest.score,
                                                 {g: (p.points, p.message) for g, p in result.parts.items()})
    if attack.flagged is True:
        assert result.status in ("flagged", "failed") and (result.flags or result.reason), result
    if attack.report:
        achieved = _reported(result, attack.report)
        limit = REPORT_LIMITS[attack.limit_key]
        assert achieved is None or achieved <= limit, \
            f"{attack.report}={achieved} got past the limit {attack.limit_key}={limit} (notes: {result.notes})"
    text = _public_text(result)
    assert graded2["secret"] not in text
    for line in _secrets_of_the_course(graded2["source"]):
        assert line not in text, f"leaked: {line!r}"
    for numbers in _hidden_inputs(graded2, attack.name):
        assert numbers not in text, f"the grader's hidden input leaked: {numbers}"


def test_neighbours_graded_alone(graded2):
    alone = graded2["alone"]
    assert alone["alice"].score == alone["alice"].max_score == 12
    assert alone["bob"].score == 11


def test_references_round2(graded2):
    res = {name: graded2["results"][name][0] for name in ("correct", "stub", "zeros", "loopy")}
    assert res["correct"].score == res["correct"].max_score == 12
    assert res["stub"].score == 0
    assert res["zeros"].score == speed_points(res["zeros"]) <= 1
    # The loop over examples costs exactly the vectorization point, and nothing else.
    assert res["loopy"].score == 11, {g: (p.points, p.message) for g, p in res["loopy"].parts.items()}
    assert res["loopy"].parts["svm_loss_vectorized_speed"].points == 0


def test_scratch_is_cleaned_after_every_attack(graded2):
    assert graded2["leftovers"] == []


# --------------------------------------------- round two, classes 5 and 8: linclass-grade run

CLI_OPTIONS = ["--seed", "7", "--no-kernel", "--workers", "2", "--cell-timeout", "20", "--total-timeout", "60"]


def _cli_run(course, submissions: Path, out: Path):
    """linclass-grade run on submissions; returns (exit code or the exception's text, stdout+stderr)."""
    argv = ["run", str(submissions), "--source", str(course["source"]), "--release", str(course["release"]),
            "--out", str(out), *CLI_OPTIONS]
    try:
        return cli.main(argv)
    except BaseException as err:
        return f"{type(err).__name__}: {str(err)[:300]}"


def _records(out: Path) -> dict:
    records = {}
    for path in sorted((out / "results" / "svm").glob("*.json")):
        data = json.loads(path.read_text())["result"]
        data.pop("duration", None)
        records[path.stem] = data
    return records


def _export(files: dict, where: Path, as_zip: bool = True) -> Path:
    if as_zip:
        where.parent.mkdir(parents=True, exist_ok=True)
        where.write_bytes(zip_bytes(files))
    else:
        where.mkdir(parents=True)
        for name, data in files.items():
            (where / name).write_bytes(data)
    return where


def _rows(out: Path) -> list[list[str]]:
    with open(out / "grades.csv", newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


@pytest.fixture(scope="module")
def cli_course(tmp_path_factory):
    """The course, and the two neighbours graded alone from an LMS export of their own."""
    root = tmp_path_factory.mktemp("round2-cli")
    source, kit = _course(root)
    course = {"root": root, "source": root / "source", "release": root / "release", "kit": kit}
    alone = LmsAttack("alone", "", 0, lambda kit, neighbours: {
        f"{s}_{1000 + i}_{2000 + i}_svm.ipynb": data for i, (s, data) in enumerate(sorted(neighbours.items()))}, 0)
    course["files"] = lms_files(alone, kit)
    code = _cli_run(course, _export(course["files"], root / "alone.zip"), root / "alone-out")
    assert code == 0, code
    course["alone"] = _records(root / "alone-out")
    assert len(course["alone"]) == 2
    course["ids"] = {("alice" if r["score"] == 12 else "bob"): sid for sid, r in course["alone"].items()}
    assert set(course["ids"]) == {"alice", "bob"}, course["alone"]
    assert 0 < course["alone"][course["ids"]["bob"]]["score"] < 12
    return course


@pytest.mark.parametrize("attack", LMS_ATTACKS, ids=[a.name for a in LMS_ATTACKS])
def test_batch_attack(cli_course, attack, tmp_path):
    files = lms_files(attack, cli_course["kit"])
    submissions = _export(files, tmp_path / ("export.zip" if attack.as_zip else "export"), attack.as_zip)
    out = tmp_path / "out"
    code = _cli_run(cli_course, submissions, out)
    # (d) run, feedback and export finish, with a row per student in grades.csv.
    assert code == 0, f"linclass-grade run ended with {code}"
    rows = _rows(out)
    ids = [row[0] for row in rows[1:]]
    neighbours = set(cli_course["ids"].values())
    # (c) the neighbours are graded exactly as when graded alone.
    records = _records(out)
    for student in neighbours:
        assert records.get(student) == cli_course["alone"][student], student
    assert neighbours <= set(ids), ids
    assert len(ids) == 2 + attack.attackers, f"expected {2 + attack.attackers} students, grades.csv has {ids}"
    for student in ids:
        assert (out / "feedback" / student / "svm" / "svm.html").is_file(), student
    # (a) no attacker earns more than its honest content.
    if attack.deserved is not None:
        for student in set(ids) - neighbours:
            assert records[student]["score"] <= attack.deserved, (student, records[student]["score"])
    # No formula in grades.csv, no student HTML in a feedback page.
    for row in rows:
        for value in row:
            assert not value.startswith(("=", "+", "@", "\t", "\r")) and not re.match(r"-[^0-9]", value), value
    for page in (out / "feedback").rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "<script" not in text and "<img" not in text, page
    assert (out / "report.txt").is_file() and (out / "report.png").is_file()


def test_neighbours_alone_are_stable(cli_course, tmp_path):
    """Grading the two neighbours again gives the same records: the comparison above is fair."""
    code = _cli_run(cli_course, _export(cli_course["files"], tmp_path / "again.zip"), tmp_path / "out")
    assert code == 0
    assert _records(tmp_path / "out") == cli_course["alone"]
