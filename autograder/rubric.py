"""Rubrics: how the person grading written answers sees what earns each point.

A rubric is a markdown cell of the instructor's source notebook whose ``metadata.tags``
include ``"rubric"``, placed right after the manually graded answer it belongs to (or
naming it in ``metadata.linclass.rubric_for``). It never reaches a student:

- ``nbgrader generate_assignment`` removes it from the release (``ClearRubric`` in
  ``autograder/nbgrader_config.py``);
- ``linclass-grade`` copies it into the autograded notebook formgrader shows
  (``autograder.gradebook.write_autograded``), right under the student's answer;
- ``nbgrader generate_feedback`` removes it again (``ClearRubric``), and linclass's own
  feedback pages show only the student's answer cells.

This module imports nothing heavy, so the nbgrader configuration can import it.
"""
from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

RUBRIC_TAG = "rubric"
"""The cell tag of a rubric."""


def is_rubric(cell) -> bool:
    """True for a rubric cell: its metadata tags include "rubric"."""
    metadata = cell.get("metadata", {})
    tags = metadata.get("tags", []) if isinstance(metadata, dict) else []
    return isinstance(tags, list) and RUBRIC_TAG in tags


def rubric_cells(source_nb) -> dict[str, list]:
    """grade_id -> the rubric cells of that manually graded answer, in notebook order.

    A rubric cell belongs to ``metadata.linclass.rubric_for`` when it names a grade_id,
    else to the nearest graded cell above it. A rubric above every graded cell belongs to
    no answer and is left out.
    """
    out: dict[str, list] = {}
    last: str | None = None
    for cell in source_nb.cells:
        metadata = cell.get("metadata", {}) if isinstance(cell.get("metadata"), dict) else {}
        if is_rubric(cell):
            linclass_meta = metadata.get("linclass", {})
            target = linclass_meta.get("rubric_for") if isinstance(linclass_meta, dict) else None
            target = target if isinstance(target, str) and target else last
            if target:
                out.setdefault(target, []).append(cell)
            continue
        meta = metadata.get("nbgrader", {})
        gid = meta.get("grade_id") if isinstance(meta, dict) else None
        if isinstance(meta, dict) and meta.get("grade") and isinstance(gid, str) and gid:
            last = gid
    return out


class ClearRubric(Preprocessor):
    """An nbconvert preprocessor that removes the rubric cells: for the release
    (``GenerateAssignment``) and nbgrader's feedback (``GenerateFeedback``)."""

    enabled = Bool(True, help="nbconvert runs a preprocessor only when it is enabled").tag(config=True)

    def preprocess(self, nb, resources):
        nb.cells = [cell for cell in nb.cells if not is_rubric(cell)]
        return nb, resources
