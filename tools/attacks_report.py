"""Run every attack of the attack suite through our grader and through plain `nbgrader autograde`.

    python3 tools/attacks_report.py              # prints the comparison table
    python3 tools/attacks_report.py --json out.json --only patch_numpy_top,network

A developer tool (it needs the attack suite in tests/): it lives in tools/, which is not
installed with the package.

Both graders get the same submissions, built from the attack suite's source notebook
(tests/attacks) and nbgrader's own release of it, in a throw-away course folder. For each
attack the table shows, for both graders: the score, whether a human is told (our flag;
plain nbgrader has none), and the seconds it took. "Harm" lists what the submission
managed to do outside its own notebook: change the gradebook, the source notebook, the
course folder or another student's notebook, or open a network connection.

Plain nbgrader runs student code with no sandbox. The fork bomb and the disk flood are
therefore not run through it (they would take down the machine): they show "not run".
Its other runs get a 120 s wall-clock limit and an address-space limit.
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
from attacks.source import build_source_notebook  # noqa: E402
from autograder import sandbox  # noqa: E402
from autograder.grade import GradeConfig, grade_submission  # noqa: E402

UNSAFE_WITHOUT_SANDBOX = {"fork_bomb": "would exhaust the machine's processes",
                          "disk_flood": "would fill the disk"}
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
        path.write_bytes(attacks.BY_NAME[name].make(course.kit))
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
        course.submit(student, attacks.BY_NAME[name].make(course.kit))
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


def table(ours: dict, plain: dict, leaks: dict) -> str:
    head = ("| attack | ours: score | status | flagged | s | nbgrader: score | flagged | s | harm with nbgrader |\n"
            "|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for name in ours:
        o, p = ours[name], plain.get(name, {})
        harm = list(p.get("changed", []))
        if leaks.get(("plain", name)):
            harm.append("network")
        if o.get("changed") or leaks.get(("ours", name)):
            harm.append("OURS: " + ", ".join(o.get("changed", []) + (["network"] if leaks.get(("ours", name)) else [])))
        p_seconds = "-" if p.get("seconds") is None else f"{p['seconds']:.1f}"
        p_score = _fmt_score(p) + (f" ({p['note']})" if p.get("note") else "")
        lines.append(f"| {name} | {_fmt_score(o)} | {o['status']} | {'yes' if o['flagged'] else 'no'} | "
                     f"{o['seconds']:.1f} | {p_score} | no | {p_seconds} | {', '.join(harm) or '-'} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated attack names (default: all)")
    parser.add_argument("--json", help="also write the results as JSON to this file")
    parser.add_argument("--workers", type=int, default=2, help="our grader's parallel gradings (default 2)")
    parser.add_argument("--skip-nbgrader", action="store_true", help="run only our grader")
    args = parser.parse_args(argv)
    names = [a.name for a in attacks.ATTACKS]
    if args.only:
        wanted = args.only.split(",")
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            parser.error(f"unknown attack(s): {', '.join(unknown)}; known: {', '.join(names)}")
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
    print(table(ours, plain, leaks))
    total_ours = sum(r["seconds"] for r in ours.values())
    print(f"\nour grader: {len(ours)} submissions, {total_ours:.0f} s of grading in total "
          f"({args.workers} at a time), sandboxed={all(r['sandboxed'] for r in ours.values())}")
    if plain:
        ran = [r for r in plain.values() if r.get("seconds") is not None]
        print(f"plain nbgrader: {len(ran)} submissions run, {sum(r['seconds'] for r in ran):.0f} s in total")
    if args.json:
        Path(args.json).write_text(json.dumps({"ours": ours, "nbgrader": plain,
                                               "leaks": {f"{k[0]}:{k[1]}": v for k, v in leaks.items()}},
                                              indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
