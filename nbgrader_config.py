"""nbgrader reads this file when run from the repository root.

The course settings live in autograder/nbgrader_config.py so that the instructor tools
and this file share one copy.
"""
import os

c = get_config()  # noqa: F821 (provided by nbgrader when it reads this file)
load_subconfig(os.path.join(os.path.dirname(os.path.abspath(__file__)),  # noqa: F821
                            "autograder", "nbgrader_config.py"))
