"""Build the walkthrough as offline reveal.js slides: one HTML file that needs no network.

    python3 tasks.py slides                     # -> build/slides/walkthrough.slides.html
    .venv/bin/python lectures/slides/build.py --out DIR [--fast] [--no-execute]

Steps:
1. `npm ci` in lectures/slides/ installs reveal.js and MathJax at the versions pinned in
   package-lock.json into lectures/slides/node_modules/ (git-ignored). It runs again only when
   package-lock.json changed.
2. The walkthrough is executed in a fresh kernel, so every number and figure is computed now
   (on real CIFAR-10 when LINCLASS_DATA_DIR points at it, else on the synthetic stand-in).
3. nbconvert renders it with the template in lectures/slides/template/, which inlines reveal.js,
   its theme and MathJax (SVG output, fonts included) into the page. The page loads nothing from
   a CDN, so it works on a projector laptop with no network, opened as a plain file.

Cells tagged `slides-hide-input` show only their output on the slides; cells tagged
`slides-remove` are left out of the slides (they stay in the notebook).
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

SLIDES_DIR = Path(__file__).resolve().parent
LECTURES = SLIDES_DIR.parent
WALKTHROUGH = LECTURES / "walkthrough.ipynb"
TEMPLATE = SLIDES_DIR / "template"
NODE_MODULES = SLIDES_DIR / "node_modules"
STAMP = NODE_MODULES / ".linclass-lock-sha256"

# The slide canvas, in CSS pixels: 16:9 like the projectors and screens it is shown on.
# reveal.js scales the whole canvas to the window, so a slide that fits 1280 x 720 fits a
# 1280 x 720 screen at scale 1 and a 1920 x 1080 screen at scale 1.5.
WIDTH, HEIGHT, MARGIN = 1280, 720, 0.02

HIDE_INPUT_TAG = "slides-hide-input"
REMOVE_TAG = "slides-remove"

# Sizes chosen for a lecture hall: text readable from the back row, code a little smaller.
SLIDES_CSS = """
:root {
  --jp-ui-font-size1: 20px;
  --jp-content-font-size1: 22px;
  --jp-code-font-size: 17px;
}
.reveal { font-size: 22px; }
.reveal .slides section { padding: 0; }
.reveal h1 { font-size: 46px; margin: 0 0 14px 0; }
.reveal h2 { font-size: 36px; margin: 0 0 10px 0; }
.reveal h3 { font-size: 30px; margin: 0 0 8px 0; }
.reveal p, .reveal li { line-height: 1.3; }
.reveal p { margin: 6px 0; }
.reveal ul, .reveal ol { margin: 4px 0 4px 1.2em; }
.reveal .jp-RenderedHTMLCommon { padding-right: 0; }
.reveal .jp-RenderedHTMLCommon h1, .reveal .jp-RenderedHTMLCommon h2,
.reveal .jp-RenderedHTMLCommon h3 { margin-top: 0; }
.reveal .jp-Cell { padding: 2px 0; }
.reveal .jp-OutputArea-output pre, .reveal div.highlight > pre { line-height: 1.25; }
.reveal .jp-OutputArea-output img { max-height: 400px; width: auto; }
.reveal h1, .reveal h2, .reveal h3 { text-transform: none; }
.reveal a.anchor-link { display: none; }
.reveal .jp-RenderedHTMLCommon table { font-size: 17px; }
.reveal mjx-container[display="true"] { margin: 8px 0 !important; }
.reveal div.highlight > pre, .reveal .jp-OutputArea-output > pre { box-sizing: border-box; width: 100%; }
"""


def say(message: str) -> None:
    print(f"[slides] {message}", flush=True)


def npm_ci(force: bool = False) -> None:
    """Install reveal.js and MathJax with `npm ci` unless the installed copy matches the lock file."""
    lock = SLIDES_DIR / "package-lock.json"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if not force and STAMP.exists() and STAMP.read_text().strip() == digest:
        return
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("[slides] npm is not installed, and the slides need it once to fetch reveal.js and "
                 "MathJax (lectures/slides/package.json). Install Node.js with npm "
                 "(Debian/Ubuntu: sudo apt-get install nodejs npm), then run this again.")
    say("npm ci: installing reveal.js and MathJax into lectures/slides/node_modules/")
    start = time.monotonic()
    result = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
                            cwd=SLIDES_DIR, capture_output=True, text=True)
    if result.returncode != 0:
        print(result.stdout[-3000:], result.stderr[-3000:], sep="\n", file=sys.stderr)
        sys.exit(f"[slides] npm ci failed (exit {result.returncode}); see npm's output above. "
                 "It needs access to the npm registry the first time.")
    STAMP.write_text(digest)
    say(f"npm ci took {time.monotonic() - start:.1f} s")


def script_tag(path: Path) -> str:
    """A <script> element holding the file's code.

    Inline when the HTML parser cannot mistake part of the code for markup; otherwise (code
    that contains "</script" or "<!--" with "<script") as a base64 data: URL, which works
    offline just as well.
    """
    code = path.read_text(encoding="utf-8")
    lowered = code.lower()
    if "</script" not in lowered and not ("<!--" in lowered and "<script" in lowered):
        return f"<script>\n{code}\n</script>"
    encoded = base64.b64encode(code.encode("utf-8")).decode("ascii")
    return f'<script src="data:text/javascript;base64,{encoded}"></script>'


def offline_assets() -> dict:
    """reveal.js, its theme and MathJax from node_modules, ready to inline."""
    reveal = NODE_MODULES / "reveal.js"
    mathjax = NODE_MODULES / "mathjax" / "es5" / "tex-svg-full.js"
    for path in (reveal / "dist" / "reveal.js", mathjax):
        if not path.exists():
            sys.exit(f"[slides] {path} is missing: run `npm ci` in {SLIDES_DIR} (or delete {STAMP}).")
    css = (reveal / "dist" / "reveal.css").read_text(encoding="utf-8")
    theme = (reveal / "dist" / "theme" / "white.css").read_text(encoding="utf-8")
    # The theme imports web fonts from Google; the slides use the local sans-serif instead.
    theme = re.sub(r"@import url\([^)]*\);", "", theme)
    return {
        "reveal_css": css,
        "theme_css": theme,
        "slides_css": SLIDES_CSS,
        "reveal_script": script_tag(reveal / "dist" / "reveal.js"),
        "mathjax_script": script_tag(mathjax),
        "width": WIDTH,
        "height": HEIGHT,
        "margin": MARGIN,
    }


def execute(nb: nbformat.NotebookNode, fast: bool) -> None:
    """Run every cell of the walkthrough in a fresh kernel, in a temporary folder."""
    import tempfile

    from nbclient import NotebookClient

    if fast:
        os.environ["LINCLASS_FAST"] = "1"
    os.environ.setdefault("MPLBACKEND", "Agg")
    with tempfile.TemporaryDirectory(prefix="linclass-slides-") as work:
        NotebookClient(nb, timeout=900, kernel_name="python3",
                       resources={"metadata": {"path": work}}).execute()


def export(nb: nbformat.NotebookNode) -> str:
    """The executed notebook as one offline HTML page."""
    from nbconvert import SlidesExporter
    from traitlets.config import Config

    config = Config()
    config.SlidesExporter.extra_template_basedirs = [str(TEMPLATE.parent)]
    config.SlidesExporter.template_name = TEMPLATE.name
    config.SlidesExporter.exclude_input_prompt = True
    config.SlidesExporter.exclude_output_prompt = True
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_input_tags = {HIDE_INPUT_TAG}
    config.TagRemovePreprocessor.remove_cell_tags = {REMOVE_TAG}
    exporter = SlidesExporter(config=config)
    html, _ = exporter.from_notebook_node(nb, resources={"offline": offline_assets()})
    return html


def check_offline(html: str) -> None:
    """Refuse to write a page that would reach for the network when opened."""
    found = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="(?:https?:)?//[^"]*"', html)
    if found:
        sys.exit(f"[slides] the page would load {found[0]!r} from the network; the template "
                 "must inline it instead")


def build(out_dir: Path, *, run: bool = True, fast: bool = False) -> Path:
    npm_ci()
    nb = nbformat.read(WALKTHROUGH, as_version=4)
    if run:
        start = time.monotonic()
        say("executing lectures/walkthrough.ipynb" + (" (LINCLASS_FAST=1)" if fast else ""))
        execute(nb, fast)
        say(f"executed in {time.monotonic() - start:.0f} s")
    html = export(nb)
    check_offline(html)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "walkthrough.slides.html"
    target.write_text(html, encoding="utf-8")
    say(f"wrote {target} ({len(html.encode()) / 1e6:.1f} MB, works offline: open it in a browser)")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(LECTURES.parent / "build" / "slides"),
                        help="output folder (default: build/slides/)")
    parser.add_argument("--fast", action="store_true",
                        help="set LINCLASS_FAST=1: train on fewer images for fewer steps (a preview)")
    parser.add_argument("--no-execute", action="store_true",
                        help="render the notebook as committed (no outputs); for checking the layout only")
    parser.add_argument("--npm-only", action="store_true", help="only run npm ci")
    args = parser.parse_args(argv)
    if args.npm_only:
        npm_ci(force=True)
        return 0
    build(Path(args.out), run=not args.no_execute, fast=args.fast)
    return 0


if __name__ == "__main__":
    sys.exit(main())
