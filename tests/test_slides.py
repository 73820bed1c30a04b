"""The lecture slides in a real browser, offline, at the two screen sizes of a lecture hall.

`python3 tasks.py slides` builds lectures/walkthrough.ipynb into one HTML page with reveal.js
and MathJax inlined (lectures/slides/build.py). Here headless Chromium (Debian's `chromium`,
driven by Playwright) opens that page as a file with every host name unresolvable and every
non-file request refused, and at 1280 x 720 and 1920 x 1080:

* visits every slide with all its fragments shown and checks that the slide's content lies
  within the window and that no code or output box hides part of its text behind a scroll bar;
* checks that MathJax typeset the formulas (no raw `$$` left) and nothing asked for the network;
* finds the worked example's numbers 2.9, 0, 12.9 and 5.27 on screen.

Screenshots of every slide go to test-artifacts/slides/. The test builds the slides itself
(it needs npm the first time, for reveal.js and MathJax) and skips only when Chromium is absent.
Run by hand, `python tests/test_slides.py PAGE.html` prints each slide's height at both sizes.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import chromium_path

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "slides"
BUILD = ROOT / "lectures" / "slides" / "build.py"
SIZES = [(1280, 720), (1920, 1080)]
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # No network: every host name fails to resolve.
    "--host-resolver-rules=MAP * ~NOTFOUND",
]

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# For the slide shown now: the union of the boxes of everything on it (hidden fragments
# included, since they take their place on the slide), the elements that scroll or are cut off,
# and the slide's height in slide pixels.
MEASURE_JS = r"""
() => {
  const slide = Reveal.getCurrentSlide();
  let top = Infinity, left = Infinity, bottom = -Infinity, right = -Infinity;
  const clipped = [];
  for (const el of slide.querySelectorAll('*')) {
    // Speaker notes are not shown; MathJax's copy of each formula for screen readers is
    // clipped to nothing on purpose.
    if (el.closest('aside.notes') || el.closest('mjx-assistive-mml')) continue;
    const style = getComputedStyle(el);
    if (style.display === 'none') continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    top = Math.min(top, r.top); left = Math.min(left, r.left);
    bottom = Math.max(bottom, r.bottom); right = Math.max(right, r.right);
    const scrolls = ['auto', 'scroll', 'hidden'];
    if ((scrolls.includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1) ||
        (scrolls.includes(style.overflowY) && el.scrollHeight > el.clientHeight + 1)) {
      clipped.push(el.tagName.toLowerCase() + '.' + el.className + ': ' +
                   el.scrollWidth + 'x' + el.scrollHeight + ' in ' + el.clientWidth + 'x' + el.clientHeight);
    }
  }
  const indices = Reveal.getIndices();
  const heading = slide.querySelector('h1, h2, h3');
  return {h: indices.h, v: indices.v || 0, title: heading ? heading.innerText.trim() : '',
          top, left, bottom, right, clipped, scale: Reveal.getScale(),
          height: slide.scrollHeight, text: slide.innerText,
          viewport: [window.innerWidth, window.innerHeight]};
}
"""

# Where a piece of text is drawn, and whether it is what the browser shows at that point.
FIND_TEXT_JS = r"""
(needle) => {
  const slide = Reveal.getCurrentSlide();
  const walker = document.createTreeWalker(slide, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const at = node.textContent.indexOf(needle);
    if (at < 0) continue;
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + needle.length);
    const r = range.getBoundingClientRect();
    const hit = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
    const parent = node.parentElement;
    const style = getComputedStyle(parent);
    return {top: r.top, bottom: r.bottom, left: r.left, right: r.right,
            hit: !!hit && (hit === parent || parent.contains(hit) || hit.contains(parent)),
            opacity: parseFloat(getComputedStyle(parent.closest('.fragment') || parent).opacity),
            visibility: style.visibility};
  }
  return null;
}
"""


@pytest.fixture(scope="module")
def chromium():
    """Path of the Chromium binary; the test skips only when Chromium is not installed."""
    path = chromium_path()
    if path is None:
        pytest.skip("Chromium is not installed: apt-get install -y chromium")
    return path


@pytest.fixture(scope="module")
def slides_page(chromium, tmp_path_factory):
    """The slides, built by the same script as `python3 tasks.py slides` (fast training)."""
    out = tmp_path_factory.mktemp("slides")
    result = subprocess.run([sys.executable, str(BUILD), "--fast", "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out / "walkthrough.slides.html"


def open_deck(p, chromium, page_path, size, profile):
    """Chromium at one window size, offline, showing the deck; returns (context, page, requests)."""
    context = p.chromium.launch_persistent_context(
        str(profile), executable_path=chromium, headless=True, args=CHROMIUM_FLAGS,
        viewport={"width": size[0], "height": size[1]}, offline=True)
    requests = []

    def refuse_network(route):
        requests.append(route.request.url)
        route.abort()

    context.route(re.compile(r"^(?!file:|data:|about:).*"), refuse_network)
    page = context.pages[0] if context.pages else context.new_page()
    page.set_default_timeout(60_000)
    page.goto(page_path.as_uri())
    page.wait_for_function("document.body.getAttribute('data-mathjax') === 'done'")
    page.wait_for_function("window.Reveal && Reveal.isReady()")
    return context, page, requests


# True once every fragment of the slide shown now has finished fading in.
FRAGMENTS_SHOWN_JS = r"""
() => Array.from(Reveal.getCurrentSlide().querySelectorAll('.fragment')).every(el => {
  const style = getComputedStyle(el);
  return style.opacity === '1' && style.visibility !== 'hidden';
})
"""


def show_all_fragments(page, h, v):
    """Go to slide (h, v) with all of its fragments shown, and wait until they have faded in."""
    page.evaluate(f"Reveal.slide({h}, {v}, 1000)")   # past the last fragment: all shown
    page.wait_for_function(FRAGMENTS_SHOWN_JS)


def visit_every_slide(page, screenshots: Path | None):
    """Measure each slide with all of its fragments shown; optionally screenshot it."""
    slides = []
    for h, column in enumerate(page.evaluate(
            "Reveal.getHorizontalSlides().map(s => Math.max(1, s.querySelectorAll(':scope > section').length))")):
        for v in range(column):
            show_all_fragments(page, h, v)
            info = page.evaluate(MEASURE_JS)
            slides.append(info)
            if screenshots is not None:
                page.screenshot(path=str(screenshots / f"slide-{h:02d}-{v}.png"))
    return slides


def overflows(info):
    width, height = info["viewport"]
    return (info["top"] < -0.5 or info["left"] < -0.5 or info["bottom"] > height + 0.5
            or info["right"] > width + 0.5)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_slide_fits_offline(chromium, slides_page, size, tmp_path):
    from playwright.sync_api import sync_playwright

    shots = ARTIFACTS / f"{size[0]}x{size[1]}"
    if shots.exists():
        shutil.rmtree(shots)
    shots.mkdir(parents=True)
    with sync_playwright() as p:
        context, page, requests = open_deck(p, chromium, slides_page, size, tmp_path / "profile")
        try:
            # MathJax typeset every formula: none is left as raw TeX.
            body_text = page.evaluate("document.querySelector('.slides').innerText")
            assert page.evaluate("document.querySelectorAll('mjx-container').length") >= 20
            assert "$$" not in body_text
            assert not re.search(r"\$\\|\\frac|\\sum|\\log|\\max", body_text), \
                "raw TeX left on a slide"
            slides = visit_every_slide(page, shots)
            # The worked example: its slide shows 2.9, 0, 12.9 and 5.27 inside the window.
            worked = [s for s in slides if "mean L = 5.27" in s["text"]]
            assert worked, "no slide shows the worked example's mean loss 5.27"
            show_all_fragments(page, worked[0]["h"], worked[0]["v"])
            page.screenshot(path=str(shots / "worked-example.png"))
            seen = {}
            for needle in ("2.9", "0.", "12.9", "5.27", "losses: [ 2.9  0.  12.9]   mean L = 5.27"):
                box = page.evaluate(FIND_TEXT_JS, needle)
                assert box is not None, f"{needle!r} is not on the worked example's slide"
                seen[needle] = box
        finally:
            context.close()

    (shots / "measurements.json").write_text(json.dumps(
        [{k: s[k] for k in ("h", "v", "title", "top", "bottom", "height", "clipped")} for s in slides],
        indent=1))
    assert requests == [], f"the slides asked for the network: {requests[:5]}"
    assert len(slides) >= 24
    too_big = [f"slide {s['h']}.{s['v']} {s['title']!r}: content spans x {s['left']:.0f}..{s['right']:.0f}, "
               f"y {s['top']:.0f}..{s['bottom']:.0f} in a {size[0]}x{size[1]} window"
               for s in slides if overflows(s)]
    assert too_big == [], "\n".join(too_big)
    cut_off = [f"slide {s['h']}.{s['v']} {s['title']!r}: {s['clipped']}" for s in slides if s["clipped"]]
    assert cut_off == [], "\n".join(cut_off)
    for needle, box in seen.items():
        assert 0 <= box["top"] and box["bottom"] <= size[1], f"{needle!r} is off screen: {box}"
        assert 0 <= box["left"] and box["right"] <= size[0], f"{needle!r} is off screen: {box}"
        assert box["hit"] and box["opacity"] == 1 and box["visibility"] == "visible", \
            f"{needle!r} is on the slide but not visible: {box}"


def main(argv):
    """Print every slide's height (slide pixels) and bottom edge (window pixels) at both sizes."""
    import tempfile

    from playwright.sync_api import sync_playwright

    page_path = Path(argv[0]).resolve()
    rows = {}
    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        for size in SIZES:
            context, page, _ = open_deck(p, chromium_path(), page_path, size, Path(profile) / str(size))
            try:
                for s in visit_every_slide(page, None):
                    rows.setdefault((s["h"], s["v"]), [" ".join(s["title"].split())]).extend(
                        [s["height"], round(s["bottom"]), overflows(s)])
            finally:
                context.close()
    print("slide  height  bottom@1280x720  bottom@1920x1080  title")
    for (h, v), (title, height, b1, o1, _, b2, o2) in sorted(rows.items()):
        flag = " OVER" if (o1 or o2) else ""
        print(f"{h:>2}.{v}  {height:>6}  {b1:>7}  {b2:>7}{flag}  {title[:50]}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main(sys.argv[1:]))
