# IPython kernel settings for the grading run (loaded with `--config` by run_notebook.py).
# No image formats for figures: a figure displayed in the kernel shows only its text form.
# Nothing graded reads the figures, and rendering them to PNG was about a fifth of every
# kernel run; the cells still run, so everything they compute and every error stays.
c = get_config()  # noqa: F821
c.InlineBackend.figure_formats = set()
