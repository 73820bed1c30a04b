"""The demo in a real browser: JupyterLab serves it, headless Chromium runs it and presses Step.

Needs Debian's `chromium` (the CI script installs it); Playwright drives that binary and never
downloads a browser of its own. A screenshot goes to test-artifacts/demo_browser.png.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import chromium_path

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_server(url, proc, log_path, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"JupyterLab exited early with code {proc.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"JupyterLab did not answer {url} within {timeout} s")


@pytest.fixture
def chromium():
    """Path of the Chromium binary; the test skips only when Chromium is not installed."""
    path = chromium_path()
    if path is None:
        pytest.skip("Chromium is not installed: apt-get install -y chromium")
    return path


@pytest.fixture
def jupyterlab(chromium, tmp_path):
    """JupyterLab on 127.0.0.1 with a token, serving a copy of the demo notebook."""
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(ROOT / "lectures" / "demo.ipynb", work / "demo.ipynb")
    port = free_port()
    token = secrets.token_hex(16)
    env = dict(os.environ)
    # Private config, data and runtime folders: nothing from the user's own Jupyter set-up.
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        env[name] = str(tmp_path / name.lower())
    env["JUPYTERLAB_SETTINGS_DIR"] = str(tmp_path / "lab-settings")
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(tmp_path / "lab-workspaces")
    env["MPLBACKEND"] = "Agg"
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--ServerApp.allow_root=True",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
           "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    log = open(tmp_path / "jupyterlab.log", "wb")
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(f"{base}/api/status?token={token}", proc, tmp_path / "jupyterlab.log")
        yield base, token
    finally:
        # SIGTERM lets the server shut its kernels down; kill only if it hangs.
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        log.close()


def test_demo_step_changes_the_loss_in_chromium(chromium, jupyterlab, tmp_path):
    from playwright.sync_api import sync_playwright

    base, token = jupyterlab
    ARTIFACTS.mkdir(exist_ok=True)

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=chromium, headless=True,
            args=CHROMIUM_FLAGS, viewport={"width": 1400, "height": 1400})
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(180_000)
            page.goto(f"{base}/lab/tree/demo.ipynb?token={token}")
            page.wait_for_function("window.jupyterapp && window.jupyterapp.shell "
                                   "&& document.querySelector('.jp-Notebook')")
            # Wait until the kernel is ready, then run every cell through JupyterLab's command.
            page.wait_for_selector(".jp-Notebook .jp-Cell", state="visible")
            page.wait_for_function(
                "(() => { const w = window.jupyterapp.shell.currentWidget;"
                " return w && w.sessionContext && w.sessionContext.session"
                " && w.sessionContext.session.kernel"
                " && w.sessionContext.session.kernel.status === 'idle'; })()")
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")

            loss = page.locator(".linclass-loss")
            loss.wait_for(state="visible")
            page.wait_for_function(
                "document.querySelector('.linclass-loss').innerText.includes('total')")
            before = loss.inner_text()
            step = page.locator("button.linclass-step")
            step.scroll_into_view_if_needed()
            step.click()
            page.wait_for_function(
                "before => document.querySelector('.linclass-loss').innerText !== before",
                arg=before)
            after = loss.inner_text()

            # Start runs updates as an asyncio task in the kernel: the loss keeps changing
            # while the notebook stays responsive, and Stop ends it.
            start = page.locator("button.linclass-start")
            start.click()
            seen = {after}
            for _ in range(3):
                page.wait_for_function(
                    "seen => !seen.includes(document.querySelector('.linclass-loss').innerText)",
                    arg=sorted(seen))
                seen.add(loss.inner_text())
            page.wait_for_function("document.querySelector('button.linclass-start')"
                                   ".innerText.includes('Stop')")
            start.click()
            page.wait_for_function("document.querySelector('button.linclass-start')"
                                   ".innerText.includes('Start')")
            # Mouse editing: a click on an empty spot of the plane adds a point (a new table
            # row); dragging it moves it (its x0 in the table changes).
            rows = "document.querySelectorAll('.linclass-table tr').length"
            rows_before = page.evaluate(rows)
            plane = page.locator("img.linclass-plane")
            plane.scroll_into_view_if_needed()
            box = plane.bounding_box()
            # Near the bottom-left corner of the axes, where the default points leave space.
            x, y = box["x"] + 0.25 * box["width"], box["y"] + 0.85 * box["height"]
            page.mouse.click(x, y)
            page.wait_for_function(f"{rows} === {rows_before + 1}")
            last_x0 = ("(() => { const r = document.querySelectorAll('.linclass-table tr');"
                       " return r[r.length - 1].children[1].innerText; })()")
            x0_before = page.evaluate(last_x0)
            page.mouse.move(x, y)
            page.mouse.down()
            for k in range(1, 6):
                page.mouse.move(x + 0.04 * k * box["width"], y, steps=2)
                page.wait_for_timeout(100)
            page.mouse.up()
            page.wait_for_function(f"{last_x0} !== {x0_before!r}")
            assert page.evaluate(rows) == rows_before + 1

            # The pictures arrive in their own messages just after the text; let them land.
            page.wait_for_timeout(2000)
            page.locator(".linclass-loss").scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "demo_browser.png"), full_page=True)
        finally:
            context.close()

    assert "total" in before and after != before
    assert len(seen) == 4
    total_before = float(before.split("total")[-1].split()[0])
    total_after = float(after.split("total")[-1].split()[0])
    # The default step size is small, so one update lowers the total loss.
    assert total_after < total_before
