"""Developer tools: regenerate the sample submissions, compare graders on the attack suite.

Not part of the installed package (pyproject.toml installs only linclass* and autograder*),
and no module of linclass/ or autograder/ may import from here (tests/test_layout.py).
"""
