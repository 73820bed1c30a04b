"""Run every attack of the attack suite through our grader and through plain `nbgrader autograde`.

    python3 tools/attacks_report.py              # prints the comparison table
    python3 tools/attacks_report.py --json out.json --only patch_numpy_top,network
    python3 tools/attacks_report.py --markdown docs/attack_report.md   # the committed report

A developer tool (it needs the attack suite in tests/): it lives in tools/, which is not
installed with the package.

Both graders get the same submissions, built from the attack suite's source notebook
(tests/attacks) and nbgrader's own release of it, in a throw-away course folder. For each
attack the table shows, for both graders: the score, whether a human is told (our flag;
plain nbgrader has none), and the seconds it took. "Harm" lists what the submission
managed to do outside its own notebook: change the gradebook, the source notebook, the
course folder or another student's notebook, or open a network connection.

The attacks are those of round one (``tests/attacks/__init__.py``) and the notebook attacks
of round two (``tests/attacks/round2.py``, classes 1-4, 6 and 7; its LMS-export attacks,
classes 5 and 8, need an export and ``linclass-grade run`` and are tested in
``tests/test_attacks.py`` only). "Inflated" means a score above the score of the honest
content the attack is built on (its base), graded by the same grader.

Plain nbgrader runs student code with no sandbox. The fork bomb, the disk flood and the
attacks that fill the machine's own /tmp or /dev/shm are therefore not run through it: they
show "not run". Its other runs get a 120 s wall-clock limit and an address-space limit.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
if str(ROOT) not in sys.path:  # run as a script from a checkout that is not installed
    sys.path.insert(1, str(ROOT))

import attacks  # noqa: E402  (the attack suite lives with the tests)
from attacks.harm import LeakServer, digest  # noqa: E402
from attacks.round2 import ATTACKS2  # noqa: E402
from attacks.source import build_source_notebook  # noqa: E402
from autograder import sandbox  # noqa: E402
from autograder.grade import GradeConfig, grade_submission  # noqa: E402

UNSAFE_WITHOUT_SANDBOX = {"fork_bomb": "would exhaust the machine's processes",
                          "disk_flood": "would fill the disk",
                          "tiny_files_in_tmp": "would leave 60,000 files in the machine's /tmp",
                          "dev_shm": "would fill the machine's /dev/shm and /var/tmp"}
CLASSES = {1: "forged probe results", 2: "results that change when read", 3: "detecting the probe",
           4: "fooling the vectorization check", 6: "limits per process, not per submission", 7: "leaks"}
# Every attack by name: round one, then round two's notebook attacks (and its new base, loopy).
ATTACKS = {a.name: a for a in attacks.ATTACKS}
ATTACKS.update({a.name: a for a in ATTACKS2 if a.klass or a.name not in ATTACKS})


def base_of(name: str) -> str:
    """The attack whose score is the most this one's honest content deserves (an attack of
    round one without a base deserves nothing: the untouched release, "stub")."""
    attack = ATTACKS[name]
    if name in attacks.BASES or getattr(attack, "klass", None) == 0:
        return name
    return getattr(attack, "deserved", "") or attack.base or "stub"


def klass_of(name: str) -> str:
    klass = getattr(ATTACKS[name], "klass", None)
    return f"{klass}. {CLASSES[klass]}" if klass in CLASSES else ("base" if base_of(name) == name else "round 1")
NBGRADER_SECONDS = 120
NBGRADER_MEMORY = 4 * 1024**3


def _gradebook_digest(db: Path, student: str | None = None) -> str:
    """The gradebook rows a grading run of `student` has no business changing: the
    assignment's cells (hidden tests included) and every other student's grades."""
    con = sqlite3.connect(db)
    try:
        rows = []
        for table in ("base_cell", "grade_cells", "solution_cells", "task_cells", "source_cell"):
            try:
                rows.append(con.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall())
            except sqlite3.Error:
                rows.append(None)
        try:
            rows.append(con.execute(
                "SELECT g.* FROM grade g JOIN submitted_notebook n ON g.notebook_id = n.id "
                "JOIN submitted_assignment a ON n.assignment_id = a.id "
                "WHERE a.student_id != ? ORDER BY g.id", (student or "",)).fetchall())
        except sqlite3.Error as err:
            rows.append(str(err))
        return hashlib.sha256(repr(rows).encode()).hexdigest()
    finally:
        con.close()


class Course:
    """A throw-away nbgrader course with the attack suite's assignment `svm`."""

    def __init__(self, root: Path, port: int):
        self.root = root
        (root / "source" / "svm").mkdir(parents=True)
        self.source = build_source_notebook()
        nbformat.write(self.source, root / "source" / "svm" / "svm.ipynb")
        (root / "nbgrader_config.py").write_text(
            "c = get_config()\n"
            f"c.CourseDirectory.root = {str(root)!r}\n"
            "c.CourseDirectory.course_id = 'attacks'\n"
            "c.Execute.timeout = 30\n"
            "c.Execute.interrupt_on_timeout = True\n")
        self.nbgrader(["generate_assignment", "svm", "--force"], check=True)
        release = nbformat.read(root / "release" / "svm" / "svm.ipynb", as_version=4)
        (root / "solutions" / "svm").mkdir(parents=True)
        nbformat.write(self.source, root / "solutions" / "svm" / "svm.ipynb")
        self.targets = {"source": str(root / "source" / "svm" / "svm.ipynb"),
                        "solutions": str(root / "solutions"),
                        "gradebook": str(root / "gradebook.db"),
                        "other_student": str(root / "submitted" / "bob" / "svm" / "svm.ipynb"),
                        "course": str(root)}
        self.kit = attacks.Kit(self.source, self.targets, port, release)
        self.submit("bob", attacks.BY_NAME["correct"].make(self.kit))

    def submit(self, student: str, data: bytes) -> Path:
        folder = self.root / "submitted" / student / "svm"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "svm.ipynb").write_bytes(data)
        return folder / "svm.ipynb"

    def nbgrader(self, args, check=False, timeout=None):
        # nbgrader runs the `alembic` command of its own environment.
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1",
                   PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))

        def limit():
            resource.setrlimit(resource.RLIMIT_AS, (NBGRADER_MEMORY, NBGRADER_MEMORY))

        cmd = [sys.executable, "-m", "nbgrader", *args]
        proc = subprocess.Popen(cmd, cwd=self.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                preexec_fn=limit, start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.communicate()
            return None, "timed out"
        text = out.decode(errors="replace")
        if check and proc.returncode != 0:
            raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{text[-3000:]}")
        return proc.returncode, text

    def state(self, student: str | None = None) -> dict:
        out = {name: digest(Path(p), skip_parts=("autograded", "submitted", "feedback"), skip_suffixes=(".db",))
               for name, p in self.targets.items() if name != "gradebook"}
        out["gradebook"] = _gradebook_digest(self.root / "gradebook.db", student)
        return out

    def score(self, student: str):
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gb:
            try:
                sub = gb.find_submission("svm", student)
            except MissingEntry:
                return None, None
            return sub.score, sub.max_score


def run_ours(course: Course, names, workers: int) -> dict:
    config = GradeConfig(source_dir=course.root / "source", release_dir=course.root / "release",
                         work_dir=course.root.parent / "ours-work",
                         limits=sandbox.Limits(cell_timeout=10, total_timeout=40, memory_mb=1536, max_procs=64,
                                               max_output_bytes=2_000_000, max_scratch_bytes=100_000_000),
                         probe_timeout=30, call_timeout=10)
    paths = {}
    for name in names:
        path = course.root.parent / "ours-submissions" / name / "svm.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(ATTACKS[name].make(course.kit))
        paths[name] = path

    def one(name):
        before = course.state()
        t0 = time.monotonic()
        result = grade_submission(paths[name], "svm", name, config)
        seconds = time.monotonic() - t0
        return name, {"score": result.score, "max": result.max_score, "status": result.status,
                      "flagged": bool(result.flags), "reason": result.reason, "seconds": seconds,
                      "sandboxed": result.sandboxed,
                      "changed": sorted(k for k, v in course.state().items() if v != before.get(k))}

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(pool.map(one, names))


def run_nbgrader(course: Course, names) -> dict:
    out = {}
    for name in names:
        if name in UNSAFE_WITHOUT_SANDBOX:
            out[name] = {"score": None, "max": None, "flagged": False, "seconds": None,
                         "note": "not run: " + UNSAFE_WITHOUT_SANDBOX[name], "changed": []}
            continue
        student = "s_" + name
        course.submit(student, ATTACKS[name].make(course.kit))
        before = course.state(student)
        t0 = time.monotonic()
        code, text = course.nbgrader(["autograde", "svm", "--student", student, "--create", "--force"],
                                     timeout=NBGRADER_SECONDS)
        seconds = time.monotonic() - t0
        score, max_score = course.score(student)
        note = None
        if code is None:
            note = f"killed after {NBGRADER_SECONDS} s"
        elif score is None or "error" in text.lower() and code != 0:
            note = "autograde failed"
        out[name] = {"score": score, "max": max_score, "flagged": False, "seconds": seconds, "note": note,
                     "changed": sorted(k for k, v in course.state(student).items() if v != before.get(k))}
    return out


def _fmt_score(row) -> str:
    if row.get("score") is None:
        return "-"
    return f"{row['score']:g}/{row['max']:g}"


def _inflated(rows: dict, name: str) -> bool | None:
    """True when name scored more than its base with the same grader; None when unknown."""
    row, base = rows.get(name, {}), rows.get(base_of(name), {})
    if row.get("score") is None or base.get("score") is None:
        return None
    return row["score"] > base["score"] + 1e-9


def table(ours: dict, plain: dict, leaks: dict) -> str:
    head = ("| attack | class | ours: score | status | flagged | inflated | s | nbgrader: score | inflated | s "
            "| harm with nbgrader |\n|---|---|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    yes_no = {True: "YES", False: "no", None: "-"}
    for name in ours:
        o, p = ours[name], plain.get(name, {})
        harm = list(p.get("changed", []))
        if leaks.get(("plain", name)):
            harm.append("network")
        if o.get("changed") or leaks.get(("ours", name)):
            harm.append("OURS: " + ", ".join(o.get("changed", []) + (["network"] if leaks.get(("ours", name)) else [])))
        p_seconds = "-" if p.get("seconds") is None else f"{p['seconds']:.1f}"
        p_score = _fmt_score(p) + (f" ({p['note']})" if p.get("note") else "")
        lines.append(f"| {name} | {klass_of(name)} | {_fmt_score(o)} | {o['status']} | "
                     f"{'yes' if o['flagged'] else 'no'} | {yes_no[_inflated(ours, name)]} | {o['seconds']:.1f} | "
                     f"{p_score} | {yes_no[_inflated(plain, name)] if p else '-'} | {p_seconds} | "
                     f"{', '.join(harm) or '-'} |")
    return "\n".join(lines)


def summary(ours: dict, plain: dict) -> str:
    """Per class: attacks tried, inflated with each grader, flagged by ours."""
    head = ("| class | attacks | inflated: ours | flagged or failed: ours | inflated: nbgrader |\n"
            "|---|---|---|---|---|")
    groups: dict[str, list[str]] = {}
    for name in ours:
        if base_of(name) != name:
            groups.setdefault(klass_of(name), []).append(name)
    lines = [head]
    for klass, names in groups.items():
        told = sum(1 for n in names if ours[n]["flagged"] or str(ours[n]["status"]).endswith("failed"))
        lines.append(f"| {klass} | {len(names)} | {sum(_inflated(ours, n) is True for n in names)} | {told} | "
                     f"{sum(_inflated(plain, n) is True for n in names)} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated attack names (default: all)")
    parser.add_argument("--json", help="also write the results as JSON to this file")
    parser.add_argument("--workers", type=int, default=2, help="our grader's parallel gradings (default 2)")
    parser.add_argument("--skip-nbgrader", action="store_true", help="run only our grader")
    parser.add_argument("--markdown", help="also write the report (tables and totals) as Markdown to this file")
    parser.add_argument("--from-json", help="grade nothing: make the tables from the --json file of an earlier run")
    args = parser.parse_args(argv)
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        ours, plain = saved["ours"], saved["nbgrader"]
        leaks = {tuple(k.split(":", 1)): v for k, v in saved["leaks"].items()}
        totals = saved.get("totals", [])
        print(table(ours, plain, leaks) + "\n\n" + summary(ours, plain))
        if args.markdown:
            _write_markdown(Path(args.markdown), ours, plain, leaks, totals, saved.get("argv", argv))
        return 0
    names = list(ATTACKS)
    if args.only:
        wanted = args.only.split(",")
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            parser.error(f"unknown attack(s): {', '.join(unknown)}; known: {', '.join(names)}")
        wanted += [base_of(n) for n in wanted]  # the honest scores the attacks are measured against
        names = [n for n in names if n in wanted]
    if not sandbox.sandbox_available():
        print("WARNING: bubblewrap is not available; our grader runs UNSANDBOXED", file=sys.stderr)
        if os.geteuid() == 0:
            # The kernel exempts root from the process limit: nothing would contain the bomb.
            names = [n for n in names if n != "fork_bomb"]

    with tempfile.TemporaryDirectory(prefix="attacks-report-") as tmp:
        leaks = {}
        server = LeakServer()
        try:
            course = Course(Path(tmp) / "course", server.port)
            ours = {}
            for name in names:  # one at a time for the leak count, the others in parallel
                if name == "network":
                    start = server.connections
                    ours.update(run_ours(course, [name], 1))
                    leaks[("ours", name)] = server.connections - start
            rest = [n for n in names if n != "network"]
            ours.update(run_ours(course, rest, args.workers))
            ours = {n: ours[n] for n in names}
            plain = {}
            if not args.skip_nbgrader:
                for name in names:
                    start = server.connections
                    plain.update(run_nbgrader(course, [name]))
                    leaks[("plain", name)] = server.connections - start
        finally:
            server.close()
    totals = [f"our grader: {len(ours)} submissions, {sum(r['seconds'] for r in ours.values()):.0f} s of "
              f"grading in total ({args.workers} at a time), "
              f"sandboxed={all(r['sandboxed'] for r in ours.values())}"]
    if plain:
        ran = [r for r in plain.values() if r.get("seconds") is not None]
        totals.append(f"plain nbgrader: {len(ran)} submissions run, {sum(r['seconds'] for r in ran):.0f} s in total")
    print(table(ours, plain, leaks))
    print()
    print(summary(ours, plain))
    print("\n" + "\n".join(totals))
    if args.markdown:
        _write_markdown(Path(args.markdown), ours, plain, leaks, totals, argv)
    if args.json:
        Path(args.json).write_text(json.dumps({"ours": ours, "nbgrader": plain,
                                               "leaks": {f"{k[0]}:{k[1]}": v for k, v in leaks.items()},
                                               "totals": totals, "argv": argv if argv is not None else sys.argv[1:]},
                                              indent=1, default=str))
    return 0


def _write_markdown(path: Path, ours, plain, leaks, totals, argv) -> None:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    args = list(argv if argv is not None else sys.argv[1:])
    for option in ("--json", "--from-json"):  # where a copy of the data went is no part of the report
        while option in args and args.index(option) + 1 < len(args):
            i = args.index(option)
            del args[i:i + 2]
    command = " ".join(["python3 tools/attacks_report.py", *args])
    text = (f"<!-- Generated by `{command}`; do not edit by hand, run it again. -->\n"
            "# Attacks: linclass-grade against plain nbgrader autograde\n\n"
            f"Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} at commit {commit}. Every attack of "
            "`tests/attacks` (round one, and round two's notebook attacks) graded by both graders on the "
            "attack suite's compact course. \"Inflated\": a score above the honest content's (the attack's "
            "base) with the same grader. Plain nbgrader has no flag; its \"harm\" column lists what the "
            "submission changed outside its own notebook. Round two's LMS-export attacks (classes 5 and 8) "
            "are in `tests/test_attacks.py`.\n\n"
            "## Per class\n\n" + summary(ours, plain) + "\n\n"
            "## Per attack\n\n" + table(ours, plain, leaks) + "\n\n" + "\n".join(f"- {t}" for t in totals) + "\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
