"""The course layout: every folder the instructor tools read or write, in one object.

A course is a folder (the *course root*) laid out the way nbgrader expects it here::

    <root>/solutions/<a>/<a>.ipynb      nbgrader's source folder (the instructor's notebooks)
    <root>/assignments/<a>/<a>.ipynb    nbgrader's release folder (what students get)
    <root>/build/grading/               the grader's output (see the properties below)

The root is ``--course-root`` when given, else the current working folder, so
``linclass-grade`` works the same when installed as from a checkout. The folder names are
the ones the course's nbgrader configuration sets (``CourseDirectory.source_directory`` and
``release_directory`` in ``autograder/nbgrader_config.py``); that file is not executed
here (it imports nbgrader and creates folders), and ``--source``, ``--release`` and
``--out`` override each folder.

Nothing is checked when a layout is made, because the commands need different parts of
it (a student's selfcheck has no ``solutions/``); ``require_source`` and
``require_release`` give the clear errors.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # grade.py imports the sandbox and nbformat; a layout needs neither
    from autograder.grade import GradeConfig

SOURCE_DIR = "solutions"
"""nbgrader's source folder, relative to the course root."""
RELEASE_DIR = "assignments"
"""nbgrader's release folder, relative to the course root."""
OUT_DIR = os.path.join("build", "grading")
"""The grader's output folder, relative to the course root."""

PathLike = str | os.PathLike


@dataclass(frozen=True)
class CourseLayout:
    """Where one course's notebooks are and where grading writes; all paths absolute."""

    root: Path
    """The course folder: ``--course-root``, else the current working folder."""
    source: Path
    """nbgrader's source folder of ``<a>/<a>.ipynb`` notebooks (default ``root/solutions``)."""
    release: Path
    """nbgrader's release folder, the students' copies (default ``root/assignments``)."""
    out: Path
    """The grading output folder (default ``root/build/grading``)."""

    def __post_init__(self) -> None:
        for name in ("root", "source", "release", "out"):
            object.__setattr__(self, name, Path(getattr(self, name)).absolute())

    @classmethod
    def from_options(cls, course_root: PathLike | None = None, *, source: PathLike | None = None,
                     release: PathLike | None = None, out: PathLike | None = None) -> CourseLayout:
        """The layout of the course at course_root (default: the current working folder).

        source, release, out: override one folder each; a relative path is taken from the
        current working folder, like any path given on the command line.
        Raises ValueError when course_root is given but is not a folder.
        """
        if course_root is not None and not Path(course_root).is_dir():
            raise ValueError(f"the course root {Path(course_root).absolute()} is not a folder; "
                             "pass --course-root the folder holding solutions/ and assignments/")
        root = Path(course_root if course_root is not None else Path.cwd()).absolute()
        return cls(root=root,
                   source=Path(source) if source is not None else root / SOURCE_DIR,
                   release=Path(release) if release is not None else root / RELEASE_DIR,
                   out=Path(out) if out is not None else root / OUT_DIR)

    # -- below out ------------------------------------------------------------------

    @property
    def submitted(self) -> Path:
        """Collected submissions, nbgrader's ``submitted/<student>/<a>/<a>.ipynb``."""
        return self.out / "submitted"

    @property
    def results(self) -> Path:
        """One JSON record per graded submission, ``results/<a>/<student>.json``."""
        return self.out / "results"

    @property
    def work(self) -> Path:
        """The grader's scratch folder (``GradeConfig.work_dir``)."""
        return self.out / "work"

    @property
    def feedback(self) -> Path:
        """One HTML page per submission, ``feedback/<student>/<a>/<a>.html``."""
        return self.out / "feedback"

    @property
    def gradebook(self) -> Path:
        """nbgrader's gradebook (SQLite) that the grader fills."""
        return self.out / "gradebook.db"

    @property
    def grades_csv(self) -> Path:
        """The grades, one row per student."""
        return self.out / "grades.csv"

    @property
    def report_txt(self) -> Path:
        """The class report as text."""
        return self.out / "report.txt"

    @property
    def report_png(self) -> Path:
        """The class report as a plot."""
        return self.out / "report.png"

    @property
    def roster(self) -> Path:
        """The course's roster as last given with ``--roster`` (a copy; later commands use it)."""
        return self.out / "roster.csv"

    @property
    def manifest(self) -> Path:
        """What collect filed (who sent which file, when) and what it could not file."""
        return self.out / "collect" / "manifest.json"

    @property
    def unmatched(self) -> Path:
        """Copies of the notebooks collect could not file under a student and an assignment."""
        return self.out / "unmatched"

    @property
    def superseded(self) -> Path:
        """Earlier submissions replaced by newer ones, ``superseded/<student>/<a>/<time>/``."""
        return self.out / "superseded"

    @property
    def course_config(self) -> Path:
        """The course's deadlines and late rules (``grading.cfg`` in the course root; optional)."""
        from autograder.lateness import COURSE_CONFIG

        return self.root / COURSE_CONFIG

    # -- the assignments ------------------------------------------------------------

    def assignments(self) -> list[str]:
        """The assignments: the folders of source holding ``<a>/<a>.ipynb``, sorted."""
        if not self.source.is_dir():
            return []
        return sorted(p.name for p in self.source.iterdir() if (p / f"{p.name}.ipynb").is_file())

    def source_notebook(self, assignment: str) -> Path:
        """source/<assignment>/<assignment>.ipynb (which may not exist)."""
        return self.source / assignment / f"{assignment}.ipynb"

    def release_notebook(self, assignment: str) -> Path:
        """release/<assignment>/<assignment>.ipynb (which may not exist)."""
        return self.release / assignment / f"{assignment}.ipynb"

    def submitted_notebook(self, student: str, assignment: str) -> Path:
        """submitted/<student>/<assignment>/<assignment>.ipynb (which may not exist)."""
        return self.submitted / student / assignment / f"{assignment}.ipynb"

    # -- checks ---------------------------------------------------------------------

    def require_source(self) -> CourseLayout:
        """Self, once source holds at least one assignment; else a ValueError that says what to pass."""
        if not self.source.is_dir():
            where = (f" (the course root {self.root} has no {SOURCE_DIR}/ folder)"
                     if self.source == self.root / SOURCE_DIR else "")
            raise ValueError(f"there is no nbgrader source folder {self.source}{where}; "
                             "pass --course-root or --source")
        if not self.assignments():
            raise ValueError(f"the source folder {self.source} holds no assignment "
                             "(<a>/<a>.ipynb); pass --course-root or --source")
        return self

    def require_release(self) -> CourseLayout:
        """Self, once the release folder exists; else a ValueError that says what to pass."""
        if not self.release.is_dir():
            where = (f" (the course root {self.root} has no {RELEASE_DIR}/ folder)"
                     if self.release == self.root / RELEASE_DIR else "")
            raise ValueError(f"there is no release folder {self.release}{where}; "
                             "pass --release or --course-root")
        return self

    # -- grading ----------------------------------------------------------------------

    def grade_config(self, **overrides: Any) -> GradeConfig:
        """A GradeConfig whose source_dir, release_dir and work_dir are this layout's.

        overrides: any other GradeConfig field (limits, seed, data_dir, run_notebook, ...).
        """
        from autograder.grade import GradeConfig

        paths: dict[str, object] = {"source_dir": self.source, "release_dir": self.release, "work_dir": self.work}
        clash = sorted(set(paths) & set(overrides))
        if clash:
            raise TypeError(f"{', '.join(clash)} come(s) from the layout; make the layout with "
                            "other folders instead")
        return GradeConfig(**paths, **overrides)  # type: ignore[arg-type]  # checked by GradeConfig
