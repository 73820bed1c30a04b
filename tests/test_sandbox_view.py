"""Search everything graded code can see for the answer key and the solutions.

A program runs inside the sandbox exactly as the grader runs student code (the kit folder,
the harness folder and a data folder shown, ``answer_key.hidden_paths()`` hidden) and reads
every regular file it can reach from ``/`` (not following links; ``/proc``, ``/sys`` and
``/dev`` skipped), the environment and command line of every process it can see, and every
descriptor it inherited. It looks for needles taken on the host:

- reference: the code lines of every function body of every module of the answer key
  (``linclass/reference/``), docstrings and comments left out, at least 30 characters;
- hidden-test and hidden-marker: the lines between ``### BEGIN HIDDEN TESTS`` and
  ``### END HIDDEN TESTS`` in ``solutions/*/*.ipynb``, and the two markers;
- solution: the lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` there, at
  least 30 characters; solution-file: every file of ``solutions/`` by its sha256.

A needle that also occurs in what the sandbox is meant to show (the kit's .py files, the
release notebooks ``assignments/*/*.ipynb``, the harness files) is no secret and is dropped
first. Some lines of the answer key are common Python (``except (TypeError, ValueError):``)
and the markers are nbgrader's own words, so a hit in a file that others published,
unchanged (a file of an installed distribution other than linclass matching its RECORD
hash, a Debian package's file matching its md5, the Python standard library: see
:class:`Published`) is printed but is not a finding. Hidden test lines and solution files
are findings wherever they are.

How the needles reach the searcher without being found by it: the needles file in scratch
holds every needle line base64-encoded, and the searcher decodes them in memory only. No
file the search reads then contains a needle's text, so nothing has to be left out of the
search, not even scratch (leaving a folder out would also leave a place where a leak goes
unnoticed). Line-wise matching, not digests of lines, because the searcher matches lines
after normalising them (surrounding white space, quotes, commas and a trailing ``\\n``
removed, the same on both sides), which finds a line inside a notebook's JSON as well as in
a .py file; needle lines are also given in their JSON-escaped form. The match is a set
intersection over each file's lines, so the cost is one pass over the data whatever the
number of needles. ELF binaries and files over 20 MB are skipped (compiled code holds no
source lines; the count of skipped files is printed).

Positive controls, so that the test can fail: the same searcher, unsandboxed, finds needles
of every kind in the real ``linclass/reference/`` and ``solutions/`` folders; and sandboxed
with nothing hidden it finds the answer key's lines from ``/``.
"""
from __future__ import annotations

import ast
import base64
import hashlib
import importlib.metadata
import json
import os
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import nbformat
import pytest

from autograder import answer_key, sandbox
from autograder.sandbox import Limits, python_executable, run_sandboxed

ROOT = Path(__file__).resolve().parents[1]
HARNESS = answer_key.grader_folder() / "harness"
KINDS = ("reference", "hidden-test", "hidden-marker", "solution", "solution-file")
MARKERS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
MIN_CHARS = 30
LIMITS = Limits(total_timeout=900, memory_mb=2048, max_procs=48, max_output_bytes=5_000_000)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sandbox.sandbox_available(),
                       reason="bubblewrap is not installed or cannot create namespaces here "
                              "(apt-get install -y bubblewrap)"),
]

# The searcher: standard library only, started with python -I. It holds no needle itself.
SEARCHER = r'''
import base64, hashlib, itertools, json, os, stat, sys, time

CAP = 20_000_000  # bytes; larger files are counted and skipped
# Stripped from both ends of every line, and of every needle: white space, JSON quotes and
# commas, and the "\n" that ends a line of a notebook's source in JSON.
STRIP = b" \t\r\n\x0b\x0c\",\\n"
SKIP_TOP = ("/proc", "/sys", "/dev")


def load_needles(path):
    with open(path, "rb") as fh:
        raw = json.load(fh)
    lines = {}
    for encoded, label in raw["lines"]:
        lines[base64.b64decode(encoded)] = label
    files = {digest: label for digest, label in raw["files"]}
    sizes = set(raw["sizes"])
    return lines, frozenset(lines), files, sizes


class Search:
    def __init__(self, needles):
        self.lines, self.keys, self.files, self.sizes = needles
        self.hits, self.stats = [], dict.fromkeys(
            ("files", "bytes", "elf", "too_big", "unreadable", "dirs_unreadable", "proc", "fds"), 0)

    def scan(self, data, where):
        if len(data) in self.sizes:
            label = self.files.get(hashlib.sha256(data).hexdigest())
            if label:
                self.hits.append(label + [where])
        found = self.keys.intersection(map(bytes.strip, data.splitlines(), itertools.repeat(STRIP)))
        for line in found:
            self.hits.append(self.lines[line] + [where])

    def scan_file(self, path):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            self.stats["unreadable"] += 1
            return
        with open(fd, "rb") as fh:
            try:
                info = os.fstat(fd)
                if not stat.S_ISREG(info.st_mode):
                    return
                if info.st_size > CAP:
                    self.stats["too_big"] += 1
                    return
                head = fh.read(4)
                if head == b"\x7fELF":
                    self.stats["elf"] += 1
                    return
                data = head + fh.read(CAP)
            except OSError:
                self.stats["unreadable"] += 1
                return
        self.stats["files"] += 1
        self.stats["bytes"] += len(data)
        self.scan(data, path)


def list_files(roots, skip=()):
    out, dirs_unreadable = [], 0
    stack = list(roots)
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            dirs_unreadable += 1
            continue
        for entry in entries:
            if entry.path in skip or (entry.path in SKIP_TOP and folder == "/"):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode):
                stack.append(entry.path)
            elif stat.S_ISREG(info.st_mode):
                out.append((info.st_size, entry.path))
    return out, dirs_unreadable


def scan_fds(search, fds):
    """Every descriptor open when the program started: regular files are read from offset 0
    with pread (nothing is re-opened, a pipe is never read); all are listed."""
    listing = []
    for fd in fds:
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
            info = os.fstat(fd)
        except OSError:
            continue
        listing.append([fd, target, stat.filemode(info.st_mode)])
        search.stats["fds"] += 1
        if stat.S_ISREG(info.st_mode):
            search.scan(os.pread(fd, min(info.st_size, CAP), 0), f"fd {fd} -> {target}")
    return listing


def scan_proc(search):
    for name in ["self"] + [n for n in os.listdir("/proc") if n.isdigit()]:
        for part in ("cmdline", "environ"):
            try:
                with open(f"/proc/{name}/{part}", "rb") as fh:
                    data = fh.read(CAP)
            except OSError:
                continue
            search.stats["proc"] += 1
            search.scan(data.replace(b"\0", b"\n"), f"/proc/{name}/{part}")


def main():
    t0 = time.monotonic()
    fds = sorted(int(n) for n in os.listdir("/proc/self/fd"))  # before opening anything
    needles_path = sys.argv[1]
    roots = [a for a in sys.argv[2:] if not a.startswith("--skip=")]
    skip = {a[len("--skip="):] for a in sys.argv[2:] if a.startswith("--skip=")}
    needles = load_needles(needles_path)
    search = Search(needles)
    fd_listing = scan_fds(search, fds) if "/" in roots else []
    if "/" in roots:
        scan_proc(search)
    files, search.stats["dirs_unreadable"] = list_files(roots, skip)
    # Two workers: biggest files first, dealt out in turn.
    files.sort(reverse=True)
    read_end, write_end = os.pipe()
    pid = os.fork()
    mine = files[1::2] if pid == 0 else files[0::2]
    if pid == 0:
        os.close(read_end)
        worker = Search(needles)
        for _, path in mine:
            worker.scan_file(path)
        with os.fdopen(write_end, "w") as out:
            json.dump({"hits": worker.hits, "stats": worker.stats}, out)
        os._exit(0)
    os.close(write_end)
    for _, path in mine:
        search.scan_file(path)
    with os.fdopen(read_end) as fh:
        other = json.load(fh)
    os.waitpid(pid, 0)
    search.hits += other["hits"]
    for key, value in other["stats"].items():
        search.stats[key] += value if key not in ("dirs_unreadable", "proc", "fds") else 0
    search.stats["seconds"] = round(time.monotonic() - t0, 2)
    print(json.dumps({"hits": search.hits, "stats": search.stats, "fds": fd_listing}))


if __name__ == "__main__":
    main()
'''


def _searcher_namespace() -> dict:
    namespace = {"__name__": "searcher"}
    exec(compile(SEARCHER, "searcher", "exec"), namespace)
    return namespace


# ---------------------------------------------------------------- needles, on the host

def _docstring_lines(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                out.update(range(body[0].lineno, body[0].end_lineno + 1))
    return out


def reference_lines() -> set[str]:
    """Stripped code lines of every function body in the answer key, docstrings and comments
    left out, at least MIN_CHARS characters."""
    out = set()
    files = sorted(answer_key.folder().rglob("*.py"))
    assert files, "the answer key has no modules"
    for path in files:
        source = path.read_text()
        lines = source.splitlines()
        tree = ast.parse(source)
        docstrings = _docstring_lines(tree)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for number in range(node.body[0].lineno, node.body[-1].end_lineno + 1):
                    text = lines[number - 1].strip()
                    if number not in docstrings and not text.startswith("#") and len(text) >= MIN_CHARS:
                        out.add(text)
    return out


def _between(source: str, begin: str, end: str) -> list[str]:
    out, inside = [], False
    for line in source.splitlines():
        text = line.strip()
        if text == begin:
            inside = True
        elif text == end:
            inside = False
        elif inside and text:
            out.append(text)
    return out


def notebook_lines() -> tuple[set[str], set[str]]:
    """(hidden test lines, solution lines of at least MIN_CHARS) of solutions/*/*.ipynb."""
    hidden, solution = set(), set()
    notebooks = sorted((ROOT / "solutions").glob("*/*.ipynb"))
    assert notebooks, "no solution notebooks"
    for path in notebooks:
        for cell in nbformat.read(path, as_version=4).cells:
            hidden.update(_between(cell.source, *MARKERS))
            solution.update(t for t in _between(cell.source, "### BEGIN SOLUTION", "### END SOLUTION")
                            if len(t) >= MIN_CHARS)
    return hidden, solution


def build_needles() -> tuple[dict, dict]:
    """({line: kind}, {sha256: (kind, size, name)})."""
    hidden, solution = notebook_lines()
    lines: dict[str, str] = {}
    for kind, texts in (("reference", reference_lines()), ("hidden-test", hidden),
                        ("hidden-marker", set(MARKERS)), ("solution", solution)):
        for text in sorted(texts):
            lines.setdefault(text, kind)
    files = {}
    for path in sorted((ROOT / "solutions").rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            files[hashlib.sha256(data).hexdigest()] = ("solution-file", len(data), str(path.relative_to(ROOT)))
    return lines, files


def write_needles(path: Path, lines: dict, files: dict) -> dict[int, tuple[str, str]]:
    """Write the needles file (every line base64-encoded, in its plain and its JSON-escaped
    form, normalised as the searcher normalises lines); returns {id: (kind, text)}."""
    strip = _searcher_namespace()["STRIP"]
    by_id, encoded = {}, []
    for number, (text, kind) in enumerate(sorted(lines.items())):
        by_id[number] = (kind, text)
        for form in {text, json.dumps(text)[1:-1]}:
            key = form.encode().strip(strip)
            if key:
                encoded.append([base64.b64encode(key).decode(), [kind, number]])
    digests = []
    for offset, (digest, (kind, size, name)) in enumerate(sorted(files.items())):
        by_id[len(lines) + offset] = (kind, name)
        digests.append([digest, [kind, len(lines) + offset]])
    sizes = sorted({size for _, size, _ in files.values()})
    path.write_text(json.dumps({"lines": encoded, "files": digests, "sizes": sizes}))
    return by_id


def shown_files() -> list[Path]:
    """What the sandbox is meant to show of the course: the kit's .py files (the answer key
    excluded), the release notebooks and the harness files."""
    kit = [p for p in answer_key.kit_folder().rglob("*.py") if not p.is_relative_to(answer_key.folder())]
    release = sorted((ROOT / "assignments").glob("*/*.ipynb"))
    harness = [p for p in HARNESS.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert kit and release and harness
    return kit + release + harness


def drop_shown(lines: dict, files: dict) -> tuple[dict, dict, int]:
    """Needles left after dropping those found in shown_files(); and how many were dropped."""
    ns = _searcher_namespace()
    strip = ns["STRIP"]
    keys = {}
    for text in lines:
        for form in {text, json.dumps(text)[1:-1]}:
            keys[form.encode().strip(strip)] = [text]
    sizes = {size for _, size, _ in files.values()}
    search = ns["Search"]((keys, frozenset(keys), {d: [d] for d in files}, sizes))
    found_lines, found_files = set(), set()
    for path in shown_files():
        search.hits.clear()
        search.scan(path.read_bytes(), str(path))
        for hit in search.hits:
            (found_files if hit[0] in files else found_lines).add(hit[0])
    kept_lines = {t: k for t, k in lines.items() if t not in found_lines}
    kept_files = {d: v for d, v in files.items() if d not in found_files}
    dropped = len(lines) - len(kept_lines) + len(files) - len(kept_files)
    return kept_lines, kept_files, dropped


# ---------------------------------------------------------------- running the searcher

@pytest.fixture(scope="module")
def needles(tmp_path_factory):
    lines, files = build_needles()
    total = len(lines) + len(files)
    lines, files, dropped = drop_shown(lines, files)
    kinds = {kind: sum(1 for k in lines.values() if k == kind) for kind in KINDS}
    kinds["solution-file"] = len(files)
    print(f"\nneedles: {total} taken, {dropped} dropped (they occur in the kit, the release "
          f"notebooks or the harness), {len(lines) + len(files)} searched: {kinds}")
    for kind in KINDS:
        assert kinds[kind] > 0, f"no needles of kind {kind} left: the search would prove nothing"
    folder = tmp_path_factory.mktemp("needles")
    path = folder / "needles.json"
    by_id = write_needles(path, lines, files)
    path.chmod(0o644)
    searcher = folder / "search_view.py"
    searcher.write_text(SEARCHER)
    searcher.chmod(0o644)
    return {"file": path, "searcher": searcher, "by_id": by_id}


@pytest.fixture(scope="module")
def data_folder(tmp_path_factory):
    from linclass.data import write_synthetic_cifar10

    folder = tmp_path_factory.mktemp("data")
    write_synthetic_cifar10(folder)
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return folder


def _report(output: str, by_id: dict) -> dict:
    report = json.loads(output)
    report["found"] = [(kind, by_id[number][1], where) for kind, number, where in report["hits"]]
    return report


def _run_inside(tmp_path, needles, data_folder, hidden, skip=()) -> dict:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    # The searcher and its needles are copied into scratch, where the graded code's files are.
    for name in ("file", "searcher"):
        (scratch / needles[name].name).write_bytes(needles[name].read_bytes())
    t0 = time.monotonic()
    result = run_sandboxed([python_executable(), "-I", str(scratch / "search_view.py"),
                            str(scratch / "needles.json"), "/", *(f"--skip={p}" for p in skip)], scratch,
                           readonly=[answer_key.kit_folder(), HARNESS, data_folder], hidden=hidden,
                           limits=LIMITS,
                           env={"LINCLASS_FAST": "1", "LINCLASS_DATA_DIR": str(data_folder), "PYTHONHASHSEED": "0"})
    assert result.sandboxed
    assert result.returncode == 0, (result.reason, result.stderr[-3000:])
    report = _report(result.stdout, needles["by_id"])
    print(f"\nsandboxed search (hidden={len(hidden)} paths) took {time.monotonic() - t0:.1f} s: {report['stats']}")
    return report


class Published:
    """Files that others published, unchanged: a file of an installed distribution other than
    linclass whose sha256 matches its RECORD (a ``__pycache__`` file counts when its source
    does), a file of a Debian package whose md5 matches the package's list, and the Python
    standard library. A line of the answer key found in such a file is a common line of
    Python (``except (TypeError, ValueError):``), not a leak; nbgrader's package ships
    notebooks with its own markers. A copy of the answer key is never such a file: it would
    belong to linclass, or to nobody, or not match the published hash."""

    def __init__(self):
        self.records: dict[Path, tuple[str, str]] = {}
        paths = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"],
                 sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_prefix})["purelib"]}
        for dist in importlib.metadata.distributions(path=sorted(paths)):
            name = dist.metadata["Name"] or "?"
            if name.lower() == "linclass":
                continue
            for file in dist.files or []:
                if file.hash is not None and file.hash.mode == "sha256":
                    self.records[Path(dist.locate_file(file)).absolute()] = (name, file.hash.value)
        self.debian: dict[str, tuple[str, str]] = {}
        for listing in Path("/var/lib/dpkg/info").glob("*.md5sums"):
            for line in listing.read_text(errors="replace").splitlines():
                digest, _, name = line.partition("  ")
                self.debian["/" + name] = (listing.stem, digest)
        stdlib = Path(sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_prefix})["stdlib"])
        self.stdlib = stdlib.resolve()
        self.site = [Path(p).resolve() for p in paths]

    def by_whom(self, where: str) -> str | None:
        path = Path(where)
        if path.parent.name == "__pycache__":
            source = path.parent.parent / (path.name.split(".")[0] + ".py")
            return self.by_whom(str(source)) if source.exists() else None
        if path in self.records:
            name, expected = self.records[path]
            actual = base64.urlsafe_b64encode(hashlib.sha256(path.read_bytes()).digest()).rstrip(b"=").decode()
            return f"distribution {name}" if actual == expected else None
        if where in self.debian:
            package, expected = self.debian[where]
            return f"Debian package {package}" if hashlib.md5(path.read_bytes()).hexdigest() == expected else None
        real = path.resolve()
        if real.is_relative_to(self.stdlib) and not any(real.is_relative_to(site) for site in self.site):
            return "the Python standard library"
        return None


def _findings(report: dict) -> tuple[list, list]:
    """(findings, hits in published files that are not findings)."""
    published = Published()
    findings, common = [], []
    for kind, text, where in report["found"]:
        whom = None if kind in ("hidden-test", "solution-file") else published.by_whom(where)
        (common if whom else findings).append((kind, text, where))
    return findings, common


def test_searcher_finds_every_kind_outside_the_sandbox(needles):
    # Positive control: the same program, run plainly over the real answer key and solutions.
    done = subprocess.run([python_executable(), "-I", str(needles["searcher"]), str(needles["file"]),
                           str(answer_key.folder()), str(ROOT / "solutions")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = _report(done.stdout, needles["by_id"])
    kinds = {kind for kind, _, _ in report["found"]}
    assert kinds == set(KINDS), f"found only {sorted(kinds)}"
    where = {w for _, _, w in report["found"]}
    assert any(w.endswith(".py") for w in where) and any(w.endswith(".ipynb") for w in where)


def test_nothing_of_the_answer_key_or_solutions_is_visible_to_graded_code(tmp_path, needles, data_folder):
    report = _run_inside(tmp_path, needles, data_folder, answer_key.hidden_paths())
    stats = report["stats"]
    # The search did look at the machine: the Python library and the venv's packages.
    assert stats["files"] > 1000 and stats["bytes"] > 50_000_000, stats
    assert stats["proc"] >= 2 and stats["fds"] >= 3, (stats, report["fds"])
    findings, common = _findings(report)
    lines = sorted({text for _, text, _ in common})
    print(f"{len(common)} hits of {len(lines)} needles in published files, not findings: {lines}")
    assert findings == [], "\n".join(f"{kind}: {where}: {text[:80]!r}" for kind, text, where in findings[:40])


def test_searcher_finds_the_answer_key_when_nothing_is_hidden(tmp_path, needles, data_folder):
    # Positive control inside the sandbox: the same view without the hidden paths, and the
    # same walk from /, leaving out only the system and Python folders (searched above).
    report = _run_inside(tmp_path, needles, data_folder, [], skip=["/usr", *map(str, sandbox.python_paths())])
    findings, _ = _findings(report)
    where = {w for kind, _, w in findings if kind == "reference"}
    folder = str(answer_key.folder()) + os.sep
    assert len(where) >= 3 and all(w.startswith(folder) for w in where), sorted(where)[:10]
    assert {kind for kind, _, _ in findings} == {"reference"}, findings[:10]
