"""The second round of attacks (tests/attacks/round2.py), graded as an instructor grades.

Classes 1-4, 6 and 7: every attack is graded once with ``grade_submission`` (two at a time)
on the compact course of ``tests/attacks/source.py``; each test checks that grading returned,
that the score is no higher than the honest content deserves (the score of its base), that it
is flagged where it must be, that what it reports it achieved stays within the limits, and
that nothing of the hidden tests, the answer key, the grader's secret or its hidden inputs
lands in the result or the feedback page.

Classes 5 and 8: every attack goes through ``linclass-grade run`` (``autograder.cli.main``)
as an LMS export, next to two honest neighbours (alice: correct; bob: partly correct). Each
test checks that run, feedback and export finish, that grades.csv has a row for every
student, that the neighbours' results are identical to grading them alone, and that no
cell of grades.csv is a spreadsheet formula and no feedback page holds the student's HTML.

An attack that currently succeeds is marked xfail(strict=True) with the reason in the code:
the fix turns it into a pass, and the strict mark then asks for the mark to go.
"""
from __future__ import annotations

import csv
import hashlib
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from attacks import Kit
from attacks.round2 import ATTACKS2, LMS_ATTACKS, LmsAttack, lms_files, zip_bytes
from attacks.source import build_source_notebook
from autograder import cli, registry, sandbox
from autograder.feedback import render
from autograder.grade import GradeConfig, grade_submission, submission_seed

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
LIMITS = sandbox.Limits(cell_timeout=10, total_timeout=40, memory_mb=1536, max_procs=64,
                        max_output_bytes=2_000_000, max_scratch_bytes=100_000_000)
PROBE_TIMEOUT = 30
MAX_FILES = sandbox._MAX_SCRATCH_FILES
REPORT_LIMITS = {"memory_mb": LIMITS.memory_mb * 1024 * 1024, "max_scratch_bytes": LIMITS.max_scratch_bytes,
                 "max_files": MAX_FILES}

# Attacks that still succeed: name -> where and why (each fix flips one of these into a pass).
# Fixed since the round was written (now plain passing tests): the vectorization forgeries
# (static_scan sends computed attribute names, dunders, frame/code attributes and modules
# reached as attributes to a person), the padded loop (verify.MAX_VECTORIZED_LINES and loops
# that index X or y), the forged executed notebook, the leaked inputs (first line, long
# numbers masked), the 300-byte zip member name, the display name holding another id, and
# the open-but-deleted and too-deep files (scratch is a size-limited tmpfs, sandbox.scratch_mount).
XFAIL = {
    "tiny_files_in_tmp": "the private /tmp is a tmpfs with a size but no inode cap: "
                         "60,000 files against the 20,000-file limit",
}


def _param(items, key):
    out = []
    for item in items:
        reason = XFAIL.get(item.name)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param(item, id=item.name, marks=marks))
    return out


# ----------------------------------------------------------- classes 1-4, 6, 7: one by one

def _course(root: Path):
    source = build_source_notebook()
    kit = Kit(source)
    (root / "source" / "svm").mkdir(parents=True)
    nbformat.write(source, root / "source" / "svm" / "svm.ipynb")
    (root / "release" / "svm").mkdir(parents=True)
    nbformat.write(kit.release(), root / "release" / "svm" / "svm.ipynb")
    return source, kit


@pytest.fixture(scope="module")
def graded2(tmp_path_factory):
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

    def grade(name):
        t0 = time.monotonic()
        try:
            return name, grade_submission(subs[name], "svm", name, config), None, time.monotonic() - t0
        except BaseException as err:  # recorded: grading must never raise for a submission
            return name, None, f"{type(err).__name__}: {str(err)[:300]}", time.monotonic() - t0

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = {name: (res, err, sec) for name, res, err, sec in pool.map(grade, list(subs))}
    secret = (root / "work" / ".case-secret").read_text().strip()
    leftovers = sorted(p.name for p in (root / "work" / "scratch").iterdir())
    return {"results": results, "config": config, "subs": subs, "source": source, "secret": secret,
            "leftovers": leftovers}


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


@pytest.mark.parametrize("attack", _param([a for a in ATTACKS2 if a.klass], "name"))
def test_attack_round2(graded2, attack):
    result, error, seconds = graded2["results"][attack.name]
    assert error is None, f"grade_submission raised {error}"
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


def test_references_round2(graded2):
    res = {name: graded2["results"][name][0] for name in ("correct", "stub", "zeros", "loopy")}
    assert res["correct"].score == res["correct"].max_score == 12
    assert res["stub"].score == res["zeros"].score == 0
    # The loop over examples costs exactly the vectorization point, and nothing else.
    assert res["loopy"].score == 11, {g: (p.points, p.message) for g, p in res["loopy"].parts.items()}
    assert res["loopy"].parts["svm_loss_vectorized_speed"].points == 0


def test_scratch_is_cleaned_after_every_attack(graded2):
    assert graded2["leftovers"] == []


# --------------------------------------------------------------- classes 5 and 8: the CLI

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


@pytest.mark.parametrize("attack", _param(LMS_ATTACKS, "name"))
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
