"""Grading tools for the linclass course: collect, autograde in a sandbox, feedback, export."""
import sys

# jsonschema imports rfc3987_syntax for a URI format check that notebooks never use; it
# builds a grammar at import time and makes every `import nbformat` about 4 s slower,
# in the grader and in each of its worker processes.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # None: "not installed"
