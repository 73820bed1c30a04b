"""The lecture notebooks: committed clean, marked up as slides, and executable headless."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import SlidesExporter

ROOT = Path(__file__).resolve().parents[1]
LECTURES = ROOT / "lectures"
NOTEBOOKS = sorted(LECTURES.glob("*.ipynb"))
WALKTHROUGH = LECTURES / "walkthrough.ipynb"
SLIDE_TYPES = {"slide", "subslide", "fragment", "-", "skip", "notes"}


def read(path):
    return nbformat.read(path, as_version=4)


def execute(path, cwd):
    """Run every cell of the notebook in a fresh kernel; return the executed notebook."""
    nb = read(path)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def printed_text(nb):
    """Everything the notebook printed or displayed as text or Markdown, joined."""
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                parts.append(output.text)
            elif output.output_type in ("display_data", "execute_result"):
                parts.append(output.data.get("text/markdown", ""))
                parts.append(output.data.get("text/plain", ""))
    return "\n".join(parts)


def count_images(nb):
    return sum("image/png" in output.get("data", {})
               for cell in nb.cells for output in cell.get("outputs", []))


def test_the_lecture_notebooks_exist():
    assert WALKTHROUGH in NOTEBOOKS
    assert LECTURES / "demo.ipynb" in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_with_outputs_cleared(path):
    for index, cell in enumerate(read(path).cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {index} has outputs; clear them"
            assert cell.execution_count is None, f"{path.name} cell {index} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_cell_is_marked_up_for_slides(path):
    cells = read(path).cells
    assert cells[0].metadata["slideshow"]["slide_type"] == "slide"
    for index, cell in enumerate(cells):
        slide_type = cell.metadata.get("slideshow", {}).get("slide_type")
        assert slide_type in SLIDE_TYPES, f"{path.name} cell {index}: slide_type {slide_type!r}"


def test_walkthrough_follows_the_lecture_order():
    headings = [line for cell in read(WALKTHROUGH).cells if cell.cell_type == "markdown"
                for line in cell.source.splitlines() if line.startswith("## ")]
    numbers = [int(m.group(1)) for h in headings if (m := re.match(r"## (\d)\.", h))]
    assert numbers == list(range(1, 9))
    titles = " ".join(headings)
    for topic in ("Linear classifiers", "Class scores", "multiclass SVM", "regularization",
                  "Softmax", "Softmax vs SVM", "Other loss functions", "interactive demo"):
        assert topic in titles


def test_walkthrough_has_the_theory_of_the_notes():
    """Delta vs lambda, L2 as MAP, cross-entropy as KL, temperature, the bias: each a subslide."""
    cells = read(WALKTHROUGH).cells
    titles = [cell.source.splitlines()[0] for cell in cells if cell.cell_type == "markdown"
              and cell.metadata["slideshow"]["slide_type"] == "subslide"]
    for topic in ("The margin $\\Delta$ and the strength $\\lambda$", "L2 regularization is a Gaussian prior",
                  "Cross-entropy is a KL divergence", "Temperature", "Should the bias be regularized?"):
        assert any(topic in title for title in titles), topic


def test_the_inline_question_asks_before_it_tells():
    """The bias question is on its slide first; the answer comes on a later click (a fragment)."""
    cells = read(WALKTHROUGH).cells
    index = next(i for i, cell in enumerate(cells) if "**Q: Which one is right?**" in cell.source)
    assert cells[index].metadata["slideshow"]["slide_type"] == "subslide"
    answer = cells[index + 1]
    assert answer.metadata["slideshow"]["slide_type"] == "fragment"
    assert answer.source.startswith("Both;")


def test_slide_tags_are_known_and_the_title_says_how_to_present():
    cells = read(WALKTHROUGH).cells
    tags = {tag for cell in cells for tag in cell.metadata.get("tags", [])}
    assert tags <= {"slides-hide-input", "slides-remove"}, tags
    assert "slides-hide-input" in tags
    # Only code is hidden, and a hidden cell still shows its result.
    for cell in cells:
        if "slides-hide-input" in cell.metadata.get("tags", []):
            assert cell.cell_type == "code"
    assert "python3 tasks.py slides" in cells[0].source
    assert "nbconvert" not in cells[0].source


def test_walkthrough_converts_to_reveal_slides(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "nbconvert", "--to", "slides", str(WALKTHROUGH),
         "--output-dir", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "walkthrough.slides.html").read_text()
    assert "reveal" in html.lower()
    slides = sum(cell.metadata["slideshow"]["slide_type"] in ("slide", "subslide")
                 for cell in read(WALKTHROUGH).cells)
    assert html.count("<section") >= slides
    assert 'class="fragment"' in html


@pytest.mark.slow
def test_walkthrough_executes_on_synthetic_data(tmp_path, monkeypatch):
    monkeypatch.delenv("LINCLASS_DATA_DIR", raising=False)
    monkeypatch.setenv("LINCLASS_FAST", "1")
    nb = execute(WALKTHROUGH, tmp_path)
    text = printed_text(nb)
    assert "synthetic stand-in data" in text
    # The lecture's numbers, computed by the notebook.
    assert "losses: [ 2.9  0.  12.9]   mean L = 5.27" in text
    assert "= 6.3 + 6.6 = 12.9" in text
    assert "losses: [ 3.9  1.  13.9]  mean: 6.27" in text
    assert re.search(r"loss at a tiny random W: 9\.0\d\d   C - 1 = 9", text)
    assert re.search(r"loss at a tiny random W: 2\.30\d\d   log\(C\) = log\(10\) = 2\.3026", text)
    assert "L_i = -log(0.13) = 2.04" in text
    assert "literal formula: nan" in text
    assert "R(w1) = 1.0   R(w2) = 0.25" in text
    assert " 2 x W: data loss 0.000" in text
    # The slide's ship score leaves out the bias; the walkthrough says so.
    assert "ship without its bias: 61.95   with it: 60.75" in text
    # The theory slides, computed live.
    assert "delta = 10 learns 10 x the W of delta = 1: True   same predictions: True" in text
    both_sides = re.search(r"on the images: L\(10 W; delta 10, reg 0\.01\) = ([\d.]+) = "
                           r"10 x L\(W; delta 1, reg 0\.1\) = ([\d.]+)", text)
    assert both_sides and both_sides.group(1) == both_sides.group(2)
    differences = re.findall(r"W_[ab]: -log posterior .* difference (-?[\d.]+)", text)
    assert len(differences) == 2 and differences[0] == differences[1]
    share = re.search(r"its 10 biases carry (\d\.\de[+-]\d\d) of R\(W\)", text)
    assert share and float(share.group(1)) < 0.01
    assert "training accuracy 89% with the bias penalized, 100% without" in text
    assert "one-hot p = [1, 0, 0]     H(p, q) = 2.04 = H(p) 0.00 + KL 2.04" in text
    assert "H(p, q) = 2.34 = H(p) 0.64 + KL 1.70" in text
    assert "[1, -2, 0]                 probabilities [0.71 0.04 0.26]   argmax 0" in text
    assert "[0.5, -1, 0]  (W halved)   probabilities [0.55 0.12 0.33]   argmax 0" in text
    assert "temperature T = 10.0: softmax(s / T) = [0.38 0.28 0.34]" in text
    assert count_images(nb) >= 7
    last = nb.cells[-1].outputs[0]
    assert "application/vnd.jupyter.widget-view+json" in last.data
    # The executed notebook as slides: the figures are embedded in the deck.
    html, _ = SlidesExporter().from_notebook_node(nb)
    assert html.count("data:image/png;base64") >= 7


@pytest.mark.slow
@pytest.mark.realdata
def test_walkthrough_executes_on_real_cifar10(tmp_path, monkeypatch, real_data_dir):
    monkeypatch.setenv("LINCLASS_DATA_DIR", str(real_data_dir))
    monkeypatch.setenv("LINCLASS_FAST", "1")
    nb = execute(WALKTHROUGH, tmp_path)
    text = printed_text(nb)
    assert "synthetic" not in text
    assert "CIFAR-10 from" in text
    accuracy = float(re.search(r"validation accuracy ([\d.]+)%", text).group(1))
    # A linear SVM after a few hundred SGD steps is far above the 10% of guessing.
    assert accuracy > 25


@pytest.mark.slow
def test_demo_notebook_executes(tmp_path):
    nb = execute(LECTURES / "demo.ipynb", tmp_path)
    outputs = [o for cell in nb.cells for o in cell.get("outputs", [])]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
    text = printed_text(nb)
    error = float(re.search(r"numerical dW: ([\d.e+-]+)", text).group(1))
    assert error < 1e-7


def load_slide_builder():
    import importlib.util

    spec = importlib.util.spec_from_file_location("slides_build", LECTURES / "slides" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_slide_build_without_npm_says_how_to_get_it(tmp_path, monkeypatch):
    """The first build needs npm; without it the error names what is missing and how to install it."""
    build = load_slide_builder()
    monkeypatch.setattr(build, "STAMP", tmp_path / "no-stamp")
    monkeypatch.setattr(build.shutil, "which", lambda name: None)
    with pytest.raises(SystemExit) as error:
        build.npm_ci()
    assert "npm is not installed" in str(error.value)
    assert "apt-get install nodejs npm" in str(error.value)


def test_slide_build_refuses_a_page_that_loads_from_the_network():
    build = load_slide_builder()
    build.check_offline('<script src="file.js"></script><img src="data:image/png;base64,AA">')
    for bad in ('<script src="https://unpkg.com/reveal.js@4.0.2/dist/reveal.js"></script>',
                '<link rel="stylesheet" href="//cdn.example.org/theme.css">'):
        with pytest.raises(SystemExit, match="from the network"):
            build.check_offline(bad)


def test_the_slides_pin_reveal_and_mathjax():
    import json

    slides = LECTURES / "slides"
    package = json.loads((slides / "package.json").read_text())
    lock = json.loads((slides / "package-lock.json").read_text())
    for name in ("reveal.js", "mathjax"):
        version = package["dependencies"][name]
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} is not pinned: {version}"
        entry = lock["packages"][f"node_modules/{name}"]
        assert entry["version"] == version and entry["integrity"].startswith("sha512-")
