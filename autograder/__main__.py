"""`python -m autograder` is the same as the `linclass-grade` command."""
import sys

from autograder.cli import main

sys.exit(main())
