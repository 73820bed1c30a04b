"""Build the student release that a course hands out: dist/student/ and dist/student.zip.

    python3 tasks.py release               # the usual way (runs this with .venv's python)
    python tools/release.py [--out DIR]    # writes DIR/student/ and DIR/student.zip

dist/student/ holds

- README.md: how to install, get the data, work, check and submit;
- <a>/<a>.ipynb for every assignment in assignments/ (copied byte for byte);
- linclass-<version>-py3-none-any.whl: the student kit, that is ``linclass/`` without the
  answer key (``linclass/reference/``) and without ``linclass/grading.py``. Its dependencies
  are derived from what the kit modules and the release notebooks import, with the version
  ranges of pyproject.toml, plus JupyterLab and ipykernel to run the notebooks.

The wheel is written here with zipfile, not by a build backend: the setuptools in .venv
(65.x) has no ``bdist_wheel`` without the ``wheel`` package, and a pure-Python wheel of a few
modules needs nothing but its METADATA, WHEEL and RECORD files (PEP 427). Every zip entry has
the same fixed time stamp and mode, in sorted order, so the same inputs give the same bytes.

Before anything is written to the output folder, :func:`scan_release` checks the staged
release for leaks of the answer key; the build fails when it finds any.
"""
from __future__ import annotations

import argparse
import ast
import base64
import copy
import hashlib
import importlib.metadata
import io
import json
import re
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]
KIT = "linclass"
# Parts of linclass/ that never reach a student: the answer key, and the checks of the hidden
# tests (they move to the grader).
EXCLUDED = ("reference", "grading.py")
# The notebooks need these to run, whatever the kit imports.
NOTEBOOK_RUNTIME = ("jupyterlab", "ipykernel")
# The order the course takes the assignments in (the README lists them so).
COURSE_ORDER = ("svm", "softmax")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold
FILE_MODE = 0o100644 << 16

SOLUTION_MARKERS = ("BEGIN SOLUTION", "END SOLUTION")
HIDDEN_MARKERS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
# A secret line shorter than this is too generic to call a leak ("return loss, dW").
MIN_SECRET_LINE = 25
# Names the answer key defines that are not a graded piece of work, so the kit and the
# release notebooks may define them too:
# - "train": the notebooks' ready-made training loop (a locked, given cell) shares the name
#   of LinearClassifier.train; a common verb, not an answer.
# - "_float_dtype": linclass.data's own check of the dtype argument (np.float32 or
#   np.float64) shares the name of a private helper of reference/losses.py; no loss math.
# Dunder methods (__init__, ...) are skipped as well: every class has them.
GENERIC_NAMES = frozenset({"train", "_float_dtype"})


def say(msg: str) -> None:
    print(f"[release] {msg}", flush=True)


# ----------------------------------------------------------------------------------------
# Reading the course: versions, kit modules, notebooks
# ----------------------------------------------------------------------------------------

def _pyproject(root: Path) -> dict:
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    try:
        import tomllib
    except ImportError:  # Python 3.10: read the few keys we need
        project = text.split("[project]", 1)[1].split("\n[", 1)[0]
        get = lambda key: re.search(rf'^{key}\s*=\s*"([^"]*)"', project, re.M).group(1)  # noqa: E731
        deps = re.search(r"^dependencies\s*=\s*\[(.*?)^\]", project, re.M | re.S).group(1)
        deps = [re.sub(r"#.*", "", line).strip().rstrip(",") for line in deps.splitlines()]
        return {"version": get("version"), "requires-python": get("requires-python"),
                "dependencies": [ast.literal_eval(d) for d in deps if d]}
    return tomllib.loads(text)["project"]


def _dist_key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(req: str) -> str:
    return _dist_key(re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req).group(1))


def kit_files(root: Path = ROOT) -> list[Path]:
    """Every file of the student kit: linclass/ minus EXCLUDED, caches and compiled files."""
    kit = root / KIT
    out = []
    for path in sorted(kit.rglob("*")):
        rel = path.relative_to(kit)
        if not path.is_file() or rel.parts[0] in EXCLUDED or "__pycache__" in rel.parts \
                or path.suffix in (".pyc", ".pyo", ".so"):
            continue
        out.append(path)
    return out


def assignment_names(root: Path = ROOT) -> list[str]:
    """Every assignment released in assignments/ (the folders <a> holding <a>.ipynb), in the
    order of the course: COURSE_ORDER first, then any other by name."""
    folder = root / "assignments"
    names = [p.name for p in folder.iterdir() if (p / f"{p.name}.ipynb").is_file()]
    return sorted(names, key=lambda a: (COURSE_ORDER.index(a) if a in COURSE_ORDER else len(COURSE_ORDER), a))


def notebook_title(nb_path: Path) -> str:
    """The notebook's first heading without "Assignment:", e.g. "the Multiclass SVM on CIFAR-10"."""
    for cell in _cells(nb_path):
        if cell.get("cell_type") == "markdown":
            for line in _source(cell).splitlines():
                if line.startswith("# "):
                    return re.sub(r"^Assignment:\s*", "", line[2:].strip())
    return nb_path.stem


def _code_to_python(source: str) -> str:
    """A notebook cell's code as plain Python (IPython magics and shell escapes turned into
    calls, as IPython itself does, or blanked when IPython is not installed)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                         for line in source.splitlines())
    return TransformerManager().transform_cell(source)


def _cells(nb_path: Path) -> list[dict]:
    return json.loads(nb_path.read_text(encoding="utf-8")).get("cells", [])


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _grade_id(cell: dict) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _cell_name(nb_name: str, index: int, cell: dict) -> str:
    gid = _grade_id(cell)
    return f"{nb_name} cell {index}" + (f" ({gid})" if gid else "")


def _imports(tree: ast.AST, module_name: str | None = None) -> set[str]:
    """Absolute dotted names imported in tree (relative imports resolved inside linclass)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level and module_name:
                parent = module_name.split(".")[:-node.level]
                base = ".".join(parent + ([base] if base else []))
            out.add(base)
            # `from linclass import grading` imports the module linclass.grading
            out |= {f"{base}.{alias.name}" for alias in node.names if base == KIT}
    return out


# ----------------------------------------------------------------------------------------
# Dependencies
# ----------------------------------------------------------------------------------------

@dataclass
class Imports:
    """What the release imports: third-party distributions, and kit modules it lacks."""
    distributions: set = field(default_factory=set)
    missing: list = field(default_factory=list)  # (where, module) of linclass modules not shipped
    unknown: list = field(default_factory=list)  # (where, module) with no installed distribution


def _module_of(path: Path, root: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts[:-1]) if rel.name == "__init__" else list(rel.parts)
    return ".".join(parts)


def scan_imports(root: Path, files: list[Path], notebooks: list[Path]) -> Imports:
    shipped = {_module_of(p, root) for p in files if p.suffix == ".py"}
    to_dist = importlib.metadata.packages_distributions()
    stdlib = set(getattr(sys, "stdlib_module_names", ())) | set(sys.builtin_module_names)
    found = Imports()
    sources = [(str(p.relative_to(root)), p.read_text(encoding="utf-8"), _module_of(p, root))
               for p in files if p.suffix == ".py"]
    for nb in notebooks:
        for i, cell in enumerate(_cells(nb)):
            if cell.get("cell_type") == "code":
                sources.append((_cell_name(nb.name, i, cell), _code_to_python(_source(cell)), None))
    for where, text, module in sources:
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue  # the leak scan reports cells that do not parse
        for name in sorted(_imports(tree, module)):
            top = name.split(".")[0]
            if top == KIT:
                if name not in shipped and not any(m.startswith(name + ".") for m in shipped):
                    found.missing.append((where, name))
            elif top and top not in stdlib and top != "__future__":
                dists = to_dist.get(top)
                if dists:
                    found.distributions.add(_dist_key(dists[0]))
                else:
                    found.unknown.append((where, name))
    return found


def requirements(root: Path, imported: set[str]) -> list[str]:
    """Requires-Dist lines: each imported distribution and the notebook runtime, with the
    version range pyproject.toml gives it (unpinned when pyproject.toml does not list it)."""
    declared = {_requirement_name(r): re.sub(r"\s+", "", r) for r in _pyproject(root)["dependencies"]}
    wanted = set(imported) | {_dist_key(n) for n in NOTEBOOK_RUNTIME}
    # IPython comes with ipykernel; the notebooks' display() is IPython's.
    wanted.discard("ipython")
    return sorted(declared.get(name, name) for name in wanted)


# ----------------------------------------------------------------------------------------
# The wheel
# ----------------------------------------------------------------------------------------

def _zip_bytes(entries: list[tuple[str, bytes]]) -> bytes:
    """A zip of entries in the given order, every entry with the same time and mode."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.external_attr = FILE_MODE
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so that the mode above is read as one
            zf.writestr(info, data, compresslevel=9)
    return buf.getvalue()


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_wheel(root: Path, files: list[Path], requires: list[str]) -> tuple[str, bytes]:
    """Return (file name, bytes) of the kit's wheel."""
    project = _pyproject(root)
    version = project["version"]
    dist_info = f"{KIT}-{version}.dist-info"
    metadata = "\n".join([
        "Metadata-Version: 2.1",
        f"Name: {KIT}",
        f"Version: {version}",
        "Summary: The student kit of the lecture 'Loss functions and linear classification': "
        "CIFAR-10 data, gradient checks, plots and the notebooks' checks.",
        "License: MIT",
        f"Requires-Python: {project['requires-python']}",
        *[f"Requires-Dist: {r}" for r in requires],
        "",
    ])
    wheel = "\n".join(["Wheel-Version: 1.0", "Generator: linclass tools/release.py",
                       "Root-Is-Purelib: true", "Tag: py3-none-any", ""])
    entries = [(PurePosixPath(p.relative_to(root)).as_posix(), p.read_bytes()) for p in files]
    entries.sort()
    entries += [(f"{dist_info}/METADATA", metadata.encode()), (f"{dist_info}/WHEEL", wheel.encode()),
                (f"{dist_info}/top_level.txt", f"{KIT}\n".encode())]
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in entries)
    record += f"{dist_info}/RECORD,,\n"
    entries.append((f"{dist_info}/RECORD", record.encode()))
    return f"{KIT}-{version}-py3-none-any.whl", _zip_bytes(entries)


# ----------------------------------------------------------------------------------------
# The students' README
# ----------------------------------------------------------------------------------------

README = """\
# Loss functions and linear classification: the assignments

This folder holds what you need for the assignments of the lecture
"Loss functions and linear classification":

{notebooks}
- `{wheel}`: the `linclass` package the notebooks import
  (loading CIFAR-10, gradient checks, plots, the checks of the visible tests).

Work in this folder, your own copy. You need Python 3.10, 3.11 or 3.12.

## 1. Install (once)

Make a virtual environment in this folder and install the package into it; pip also installs
NumPy, Matplotlib, JupyterLab and the rest it needs (a few minutes the first time):

```bash
python3 -m venv .venv
source .venv/bin/activate          # Windows: .venv\\Scripts\\activate
pip install {wheel}
```

## 2. Get CIFAR-10 (once)

The notebooks read CIFAR-10 from the folder named by the environment variable
`LINCLASS_DATA_DIR` or, when it is not set, from the cache folder `~/.cache/linclass`
(`$XDG_CACHE_HOME/linclass` if you set `XDG_CACHE_HOME`). They never download anything
themselves. Do one of these:

- Download it into the cache folder (163 MB, checked against its md5):
  `python -m linclass.data fetch`
- If your course gives you a copy, point `LINCLASS_DATA_DIR` at the folder that holds
  `cifar-10-batches-py/` before you start JupyterLab:
  `export LINCLASS_DATA_DIR=/path/to/folder` (Windows: `set LINCLASS_DATA_DIR=C:\\path\\to\\folder`).
  If that folder holds only the archive `cifar-10-python.tar.gz`, unpack it once with
  `python -m linclass.data fetch --data-dir /path/to/folder`.
- No network, or just trying things out? Write a small synthetic stand-in and run the
  notebooks quickly on it (the accuracies then mean nothing):
  `python -m linclass.data synthetic ~/linclass-synthetic`, then start JupyterLab with
  `LINCLASS_DATA_DIR=~/linclass-synthetic LINCLASS_FAST=1 jupyter lab`.

## 3. Work

```bash
source .venv/bin/activate
jupyter lab
```

Open {first} first. Write your code where it says `# YOUR CODE HERE` (delete the
`raise NotImplementedError(...)` line under it) and your answers where it says
`YOUR ANSWER HERE`. Do not delete, copy or retype the graded cells, and do not edit the test
cells: the grader recognises the cells by their hidden metadata.

## 4. Check, then submit

Restart the kernel and run every cell from the top (Kernel > Restart Kernel and Run All
Cells): every cell must run without an error, and each visible test tells you whether it
passed. Then save the notebook and run the self-check that comes with the wheel:

```bash
python -m linclass.selfcheck svm/svm.ipynb          # add --fast for few training iterations
python -m linclass.selfcheck svm/svm.ipynb --no-run # only the empty answers and stubs, in a second
```

It runs your notebook in a fresh kernel (on your CIFAR-10, or a small synthetic stand-in
when it finds none), checks each graded part the way the grader does on the visible inputs,
and prints the points it expects per part, the known mistake it recognises, the written
answers still empty and the functions still unwritten. It exits with 1 when anything is
wrong. Your course may also run `linclass-grade selfcheck`, the same check plus a check
that your graded cells are intact.

Submit your notebooks the way your course tells you, keeping their names ({names}).
Hidden tests run when your notebook is graded, so passing the visible tests does not
guarantee full marks.
"""


def readme(assignments: list[str], titles: list[str], wheel: str) -> str:
    notebooks = "\n".join(f"- `{a}/{a}.ipynb`: {title}" + (" (do it first)" if i == 0 and len(assignments) > 1 else "")
                          for i, (a, title) in enumerate(zip(assignments, titles)))
    first = f"`{assignments[0]}/{assignments[0]}.ipynb`"
    names = ", ".join(f"`{a}.ipynb`" for a in assignments)
    return README.format(notebooks=notebooks, wheel=wheel, first=first, names=names)


# ----------------------------------------------------------------------------------------
# The leak scan
# ----------------------------------------------------------------------------------------

def _defs(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def _source_notebooks(root: Path) -> list[Path]:
    return sorted((root / "solutions").glob("*/*.ipynb"))


def graded_names(root: Path = ROOT) -> set[str]:
    """Names no release file may define (beyond a stub): every top-level function and class
    method of every module of linclass/reference/, and every function defined in a solution
    cell of solutions/; minus GENERIC_NAMES and dunder methods."""
    names = set()
    for path in sorted((root / KIT / "reference").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names.add(node.name)
            elif isinstance(node, ast.ClassDef):
                names |= {m.name for m in node.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))}
    for nb in _source_notebooks(root):
        for cell in _cells(nb):
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell.get("cell_type") == "code" and meta.get("solution"):
                text = "\n".join(line for line in _source(cell).splitlines()
                                 if not any(m in line for m in SOLUTION_MARKERS))
                try:
                    names |= {d.name for d in _defs(ast.parse(_code_to_python(text)))}
                except SyntaxError:
                    pass
    return {n for n in names if n not in GENERIC_NAMES and not _is_dunder(n)}


def secret_lines(root: Path = ROOT) -> set[str]:
    """Stripped lines of the solution blocks and hidden tests of solutions/, without the short
    ones and without those the source notebooks also show outside such blocks."""
    secret, public = set(), set()
    markers = SOLUTION_MARKERS + HIDDEN_MARKERS
    for nb in _source_notebooks(root):
        for cell in _cells(nb):
            inside = False
            for line in _source(cell).splitlines():
                if markers[0] in line or markers[2] in line:
                    inside = True
                elif markers[1] in line or markers[3] in line:
                    inside = False
                else:
                    (secret if inside else public).add(line.strip())
    return {s for s in secret - public if len(s) >= MIN_SECRET_LINE}


_RAISE = "raise NotImplementedError"


class _NormalizeStub(ast.NodeTransformer):
    """`raise NotImplementedError(<any message>)` -> `raise NotImplementedError`."""

    def visit_Raise(self, node):
        exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
            return ast.Raise(exc=ast.Name(id="NotImplementedError", ctx=ast.Load()), cause=None)
        return node


def _body(fn) -> list[str]:
    """The function's statements without its docstring, normalized, as ast dumps."""
    body = list(fn.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    return [ast.dump(_NormalizeStub().visit(copy.deepcopy(s))) for s in body]


def stub_statements(root: Path = ROOT) -> dict[str, set[str]]:
    """{function name: statements its release stub may hold}: the function of each solution
    cell of solutions/, its solution block replaced by `raise NotImplementedError`."""
    allowed: dict[str, set[str]] = {}
    for nb in _source_notebooks(root):
        for cell in _cells(nb):
            if cell.get("cell_type") != "code":
                continue
            text = _strip_blocks_to_raise(_source(cell))
            try:
                tree = ast.parse(_code_to_python(text))
            except SyntaxError:
                continue
            for fn in _defs(tree):
                allowed.setdefault(fn.name, set()).update(_body(fn))
    return allowed


def _strip_blocks_to_raise(source: str) -> str:
    """source with each solution block (markers included) replaced by one
    `raise NotImplementedError` at the indentation of its BEGIN marker."""
    out, inside = [], False
    for line in source.splitlines():
        if SOLUTION_MARKERS[0] in line:
            inside = True
            out.append(line[:len(line) - len(line.lstrip())] + _RAISE)
        elif SOLUTION_MARKERS[1] in line:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


@dataclass
class _Rules:
    names: set
    secrets: set
    stubs: dict

    @classmethod
    def of(cls, root: Path) -> "_Rules":
        return cls(graded_names(root), secret_lines(root), stub_statements(root))


def _scan_text(where: str, text: str, rules: _Rules) -> list[str]:
    found = []
    for marker in (SOLUTION_MARKERS[0], HIDDEN_MARKERS[0]):
        if marker in text:
            found.append(f"{where}: contains the marker {marker!r}")
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip() in rules.secrets:
            found.append(f"{where} line {n}: a line of a solution or hidden test: {line.strip()[:80]!r}")
    return found


def _scan_python(where: str, text: str, rules: _Rules) -> list[str]:
    try:
        tree = ast.parse(text)
    except SyntaxError as err:
        return [f"{where}: does not parse as Python ({err.msg}, line {err.lineno}), so it cannot be scanned"]
    return [f"{where} line {fn.lineno}: defines {fn.name!r}, a name of the answer key / a graded function"
            for fn in _defs(tree) if fn.name in rules.names]


def _scan_notebook(where: str, data: bytes, rules: _Rules) -> list[str]:
    found = []
    try:
        cells = json.loads(data.decode("utf-8")).get("cells", [])
    except (UnicodeDecodeError, ValueError) as err:
        return [f"{where}: is not a readable notebook ({err})"]
    for i, cell in enumerate(cells):
        name = _cell_name(where, i, cell)
        text = _source(cell)
        found += _scan_text(name, text, rules)
        if cell.get("cell_type") != "code":
            continue
        outputs = []  # a release has none, but an executed output could show a hidden test
        for out in cell.get("outputs", []):
            values = [out.get("text", ""), *out.get("data", {}).values(), "\n".join(out.get("traceback", []))]
            outputs += ["".join(v) if isinstance(v, list) else v for v in values if isinstance(v, (str, list))]
        if outputs:
            found += _scan_text(f"{name} output", "\n".join(outputs), rules)
        try:
            tree = ast.parse(_code_to_python(text))
        except SyntaxError as err:
            found.append(f"{name}: does not parse as Python ({err.msg}), so it cannot be scanned")
            continue
        for fn in _defs(tree):
            if fn.name not in rules.names:
                continue
            body = _body(fn)
            allowed = rules.stubs.get(fn.name, set()) | {ast.dump(ast.Pass())}
            extra = [s for s in body if s not in allowed and s != _RAISE_DUMP]
            if not any(isinstance(n, ast.Raise) and ast.dump(_NormalizeStub().visit(copy.deepcopy(n))) == _RAISE_DUMP
                       for n in ast.walk(fn)):
                found.append(f"{name} line {fn.lineno}: graded function {fn.name!r} is not a stub "
                             "(it does not raise NotImplementedError)")
            if extra:
                found.append(f"{name} line {fn.lineno}: graded function {fn.name!r} has {len(extra)} "
                             "statement(s) beyond the release stub")
    return found


_RAISE_DUMP = ast.dump(ast.parse(_RAISE).body[0])


def scan_release(folder: Path, root: Path = ROOT) -> list[str]:
    """Every leak of the answer key found in the release folder; empty when it is clean.

    - in the wheel: no file of linclass/reference/, linclass/grading.py or autograder/, and no
      .py file that defines a graded name (``graded_names``);
    - in the notebooks: no solution or hidden-test marker, and no def of a graded name whose
      body does more than the release stub (the source function, its solution block
      replaced by `raise NotImplementedError`);
    - in every file (the wheel's files one by one): no line of a solution block or hidden
      test of solutions/ (``secret_lines``).
    """
    rules = _Rules.of(root)
    found = []
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        where = path.relative_to(folder).as_posix()
        data = path.read_bytes()
        if path.suffix == ".whl":
            found += _scan_wheel(where, data, rules)
        elif path.suffix == ".ipynb":
            found += _scan_notebook(where, data, rules)
        else:
            text = data.decode("utf-8", errors="replace")
            found += _scan_text(where, text, rules)
            if path.suffix == ".py":
                found += _scan_python(where, text, rules)
    return found


def _scan_wheel(where: str, data: bytes, rules: _Rules) -> list[str]:
    found = []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            inner = f"{where}:{name}"
            parts = PurePosixPath(name).parts
            if parts[:2] == (KIT, "reference") or name == f"{KIT}/grading.py" or parts[0] == "autograder":
                found.append(f"{inner}: this file must not reach students")
            content = zf.read(name)
            text = content.decode("utf-8", errors="replace")
            found += _scan_text(inner, text, rules)
            if name.endswith(".py"):
                found += _scan_python(inner, text, rules)
    return found


# ----------------------------------------------------------------------------------------
# The build
# ----------------------------------------------------------------------------------------

def build(out: Path, root: Path = ROOT) -> Path:
    """Write out/student/ and out/student.zip; return the folder. Raises SystemExit on a leak."""
    out = Path(out).resolve()
    assignments = assignment_names(root)
    notebooks = [root / "assignments" / a / f"{a}.ipynb" for a in assignments]
    files = kit_files(root)
    imports = scan_imports(root, files, notebooks)
    for module in sorted({m for _, m in imports.missing}):
        cells = [where for where, m in imports.missing if m == module]
        say(f"WARNING: {module} is not in the student kit, yet {len(cells)} place(s) import it, "
            f"and fail for every student: {'; '.join(cells)}")
    for where, module in imports.unknown:
        say(f"WARNING: {where} imports {module}, which no installed distribution provides; "
            "it is not a dependency of the wheel")
    requires = requirements(root, imports.distributions)
    wheel_name, wheel = build_wheel(root, files, requires)

    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".student-", dir=out))
    stage.chmod(0o755)
    try:
        text = readme(assignments, [notebook_title(nb) for nb in notebooks], wheel_name)
        release: dict[str, bytes] = {"README.md": text.encode(), wheel_name: wheel}
        for a, nb in zip(assignments, notebooks):
            release[f"{a}/{a}.ipynb"] = nb.read_bytes()
        for name, data in release.items():
            (stage / name).parent.mkdir(parents=True, exist_ok=True)
            (stage / name).write_bytes(data)
        leaks = scan_release(stage, root)
        if leaks:
            raise SystemExit("[release] the release would leak the answer key; nothing was written:\n  "
                             + "\n  ".join(leaks))
        folder, archive = out / "student", out / "student.zip"
        if folder.exists():
            shutil.rmtree(folder)
        stage.rename(folder)
        tmp_zip = archive.with_name(archive.name + ".part")
        tmp_zip.write_bytes(_zip_bytes([(f"student/{name}", release[name]) for name in sorted(release)]))
        tmp_zip.replace(archive)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    say(f"wheel {wheel_name}: {len(wheel) / 1024:.1f} KiB, {len(files)} kit file(s): "
        + ", ".join(p.relative_to(root / KIT).as_posix() for p in files))
    say("wheel dependencies: " + ", ".join(requires))
    say(f"wrote {folder} ({', '.join(sorted(release))})")
    say(f"wrote {archive} ({archive.stat().st_size / 1024:.1f} KiB, "
        f"sha256 {hashlib.sha256(archive.read_bytes()).hexdigest()[:16]})")
    return folder


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Build the student release: OUT/student/ and OUT/student.zip.")
    parser.add_argument("--out", default=str(ROOT / "dist"), help="output folder (default: dist/)")
    args = parser.parse_args(argv)
    build(Path(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
