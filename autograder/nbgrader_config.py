"""The linclass course configuration for nbgrader 0.9.

The root folder of the course is the repository: nbgrader's source folder is
``solutions/`` and its release folder is ``assignments/``, so

    nbgrader generate_assignment svm --force

run from the repository root writes ``assignments/svm/``. The gradebook and every
folder nbgrader fills while grading (submitted, autograded, feedback) live in the
git-ignored ``autograder/work/``.
"""
import os
import re

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearHiddenTests,
    ClearMarkScheme,
    ClearOutput,
    ClearSolutions,
    ComputeChecksums,
    GetGrades,
    IncludeHeaderFooter,
    InstantiateTests,
    LockCells,
    SaveCells,
)

from autograder.rubric import ClearRubric

c = get_config()  # noqa: F821 (provided by nbgrader when it reads this file)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "autograder", "work")

c.CourseDirectory.root = ROOT
c.CourseDirectory.course_id = "linclass"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.submitted_directory = os.path.join("autograder", "work", "submitted")
c.CourseDirectory.autograded_directory = os.path.join("autograder", "work", "autograded")
c.CourseDirectory.feedback_directory = os.path.join("autograder", "work", "feedback")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(WORK, "gradebook.db")
os.makedirs(WORK, exist_ok=True)  # sqlite does not create the folder of its database
# `nbgrader export` writes grades.csv beside the gradebook, never into the folder it runs in
# (the repository root); `--to FILE` still chooses another place.
c.ExportPlugin.to = os.path.join(WORK, "grades.csv")

# A test cell fails in nbgrader 0.9 when its output holds an error OR any text on stderr
# (nbgrader.utils.determine_grade). A correct answer that triggers a harmless numpy
# RuntimeWarning would score 0, so autograding drops stderr text that is a Python warning.
# The test cells themselves also run student code with warnings silenced
# (autograder.hidden), which covers `nbgrader validate`, whose preprocessors are fixed.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"\w*Warning: "

# Training cells on the real data take tens of seconds; student code gets a fixed budget.
c.Execute.timeout = 300

# Solution regions are replaced by a stub whose error names what to write. The text after
# "TODO:" in the comment just above "### BEGIN SOLUTION" becomes the message, so "Run all"
# on the release stops at the first unanswered cell and says what goes there.
c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError({message})",
}


def describe_solution(source):
    """The message for the stub that replaces the solution region in one cell's source."""
    lines = source.split("\n")
    end = next((i for i, line in enumerate(lines) if "BEGIN SOLUTION" in line), len(lines))
    name = None
    todo = []
    for line in lines[:end]:
        text = line.strip()
        match = re.match(r"def (\w+)\(", text)
        if match:
            name, todo = match.group(1), []
        elif text.startswith("# TODO:"):
            todo = [text[len("# TODO:"):].strip()]
        elif todo and text.startswith("#") and not text.startswith("# TODO"):
            todo.append(text.lstrip("#").strip())
        elif todo and not text:
            continue
        elif todo:
            todo = []
    what = " ".join(todo).strip() or "write your code below '# YOUR CODE HERE'"
    subject = f"{name} is" if name else "This cell is"
    return f"{subject} not implemented yet: {what}"


class ClearSolutionsWithMessage(ClearSolutions):
    """ClearSolutions whose stub raises NotImplementedError naming the missing code."""

    def preprocess_cell(self, cell, resources, cell_index):
        language = resources["language"]
        template = self.code_stub[language]
        if cell.cell_type != "code" or "{message}" not in template:
            return super().preprocess_cell(cell, resources, cell_index)
        stubs = dict(self.code_stub)
        self.code_stub = {**stubs, language: template.replace("{message}", repr(describe_solution(cell.source)))}
        try:
            return super().preprocess_cell(cell, resources, cell_index)
        finally:
            self.code_stub = stubs


# nbgrader's own list (nbgrader/converters/generate_assignment.py) with ClearSolutions
# swapped for the subclass above, and the rubric cells removed first.
c.GenerateAssignment.preprocessors = [
    IncludeHeaderFooter, ClearRubric, InstantiateTests, LockCells, ClearSolutionsWithMessage, ClearOutput,
    CheckCellMetadata, ComputeChecksums, SaveCells, ClearHiddenTests, ClearMarkScheme,
    ComputeChecksums, CheckCellMetadata,
]


# nbgrader's own feedback (generate_feedback reads the autograded notebooks): no rubric
# (autograder/rubric.py) and no hidden test reaches a student, then nbgrader's own list
# (converters/generate_feedback.py).
c.GenerateFeedback.preprocessors = [ClearRubric, ClearHiddenTests, GetGrades, CSSHTMLHeaderPreprocessor]
