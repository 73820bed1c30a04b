"""Developer tools, run from a checkout (e.g. python3 tools/make_samples.py).

Not part of the installed package (pyproject.toml installs only linclass* and autograder*),
and no module of linclass/ or autograder/ may import from here (tests/test_layout.py).
"""
