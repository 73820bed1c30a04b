"""Grading tools for the linclass course: collect, autograde in a sandbox, feedback, export."""
