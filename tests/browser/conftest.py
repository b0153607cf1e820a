"""Fixtures for browser tests: a real JupyterLab server and Debian's headless Chromium.

Adapted from the proven recipe in ../shared/recipes/browser_e2e (see its README for the
pitfalls each step avoids). The server runs on 127.0.0.1 over a temp copy of the notebooks,
so running them never rewrites the committed files.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import playwright.sync_api as playwright_api
import psutil
import pytest

Page = playwright_api.Page
expect = playwright_api.expect

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SERVED = [*sorted((REPO / "notebooks").glob("*.ipynb")), *sorted(HERE.glob("*_e2e.ipynb"))]

# The program `./run browser` installs: Debian's Chromium, found on PATH as the step finds it.
CHROMIUM = os.environ.get("E2E_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_MISSING = (
    f"Chromium not found at {CHROMIUM}: run './run browser' (as root) to install Debian's chromium"
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
TIMEOUT_MS = int(os.environ.get("E2E_TIMEOUT_MS", "90000"))
VIEWPORT = {"width": 1280, "height": 1400}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    proc: subprocess.Popen
    base_url: str
    log_path: Path

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "<no log>"


def server_command(python: str | Path, app: str, port: int, root: Path) -> list[str]:
    """The command that serves ``app`` ("lab" or "notebook") on 127.0.0.1:``port``, no token."""
    return [
        str(python),
        "-m",
        "jupyter",
        app,
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        "--allow-root",
        "--expose-app-in-browser",
    ]


def _isolated_env(state_dir: Path) -> dict[str, str]:
    settings = state_dir / "lab-user-settings"
    notification = settings / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True, exist_ok=True)
    (notification / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}'
    )
    env = dict(os.environ)
    env.update(
        JUPYTER_CONFIG_DIR=str(state_dir / "config"),
        JUPYTER_RUNTIME_DIR=str(state_dir / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(state_dir / "workspaces"),
        IPYTHONDIR=str(state_dir / "ipython"),
        PYTHONUNBUFFERED="1",
    )
    env.pop("BROWSER", None)
    return env


def _stop(proc: subprocess.Popen) -> None:
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(15)
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            if child.is_running():
                child.kill()


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + 90
    while True:
        if server.proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited early. Log tail:\n{server.log_tail()}")
        with contextlib.suppress(OSError, urllib.error.URLError):
            with urllib.request.urlopen(server.base_url + "/api/status", timeout=2) as r:
                if r.status == 200:
                    return
        if time.monotonic() > deadline:
            raise TimeoutError(f"jupyter lab not ready after 90 s. Log:\n{server.log_tail()}")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def artifacts_dir(tmp_path_factory) -> Path:
    env_dir = os.environ.get("E2E_ARTIFACTS_DIR")
    path = Path(env_dir) if env_dir else tmp_path_factory.mktemp("e2e-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def running_lab(root: Path, state: Path, log_path: Path, app: str = "lab") -> Iterator[Server]:
    """JupyterLab on 127.0.0.1 serving ``root`` (isolated settings in ``state``), stopped on exit.

    A port taken between choosing and binding it is retried twice with another one.
    ``app="notebook"`` starts Jupyter Notebook 7 with the same flags instead.
    """
    env = _isolated_env(state)
    with open(log_path, "w") as log:
        for attempt in range(3):
            port = _free_port()
            command = server_command(sys.executable, app, port, root)
            proc = subprocess.Popen(
                command,
                cwd=root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            server = Server(proc, f"http://127.0.0.1:{port}", log_path)
            try:
                _wait_ready(server)
                break
            except RuntimeError:
                _stop(proc)
                if attempt == 2 or not re.search(r"in use|not available", server.log_tail()):
                    raise
        try:
            yield server
        finally:
            _stop(server.proc)


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory, artifacts_dir) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("lab")
    root = work / "root"
    root.mkdir()
    for path in SERVED:
        shutil.copy(path, root / path.name)
    with running_lab(root, work / "state", artifacts_dir / "server-lab.log") as server:
        yield server


@pytest.fixture(scope="session")
def notebook7_server(tmp_path_factory, artifacts_dir) -> Iterator[Server]:
    """Jupyter Notebook 7 over a temp copy of the served notebooks."""
    work = tmp_path_factory.mktemp("notebook7")
    root = work / "root"
    root.mkdir()
    for path in SERVED:
        shutil.copy(path, root / path.name)
    with running_lab(
        root, work / "state", artifacts_dir / "server-notebook7.log", "notebook"
    ) as server:
        yield server


def chromium_available() -> bool:
    return os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without Chromium, skip the browser tests up front (no server started), except in CI.

    In CI (``CI`` set, as ``.ci/run`` does) they run and fail instead: a skip there would let
    a machine without the browser pass.
    """
    if chromium_available() or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason=CHROMIUM_MISSING)
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser():
    if not chromium_available():
        pytest.fail(CHROMIUM_MISSING)
    expect.set_options(timeout=TIMEOUT_MS)
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class BrowserPage:
    page: Page
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture
def page(browser, request, artifacts_dir) -> Iterator[BrowserPage]:
    context = browser.new_context(viewport=VIEWPORT)
    bp = BrowserPage(context.new_page())
    bp.page.set_default_timeout(TIMEOUT_MS)
    bp.page.on("pageerror", lambda exc: bp.errors.append(f"pageerror: {exc}"))
    bp.page.on(
        "console",
        lambda msg: bp.errors.append(f"console.error: {msg.text}") if msg.type == "error" else None,
    )

    def on_dialog(dialog) -> None:  # an alert() here would mean a token ran as HTML
        bp.dialogs.append(dialog.message)
        dialog.dismiss()

    bp.page.on("dialog", on_dialog)
    try:
        yield bp
    finally:
        shot = artifacts_dir / f"{request.node.name}.png"
        with contextlib.suppress(Exception):
            bp.page.screenshot(path=str(shot), full_page=True)
        if bp.errors:
            print("browser errors:\n  " + "\n  ".join(bp.errors[:30]))
        context.close()


# ---------------------------------------------------------------------- steps

_KERNEL_READY_JS = """() => {
  const app = window.jupyterapp;
  const panel = app && app.shell && app.shell.currentWidget;
  const ctx = panel && panel.sessionContext;
  const kernel = ctx && ctx.session && ctx.session.kernel;
  return !!(ctx && ctx.isReady && kernel
            && kernel.connectionStatus === "connected" && kernel.status === "idle");
}"""

_EXECUTE_JS = """async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({ code, store_history: false });
  let out = "", error = null;
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === "stream") out += msg.content.text;
    if (msg.header.msg_type === "error") error = msg.content.evalue;
  };
  await future.done;
  return { out, error };
}"""


# The notebook in the active tab (other tabs stay in the DOM, hidden).
NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"


def open_notebook(page: Page, server: Server, name: str) -> None:
    # ?reset starts from an empty workspace: no tab left open by an earlier test.
    page.goto(f"{server.base_url}/lab/tree/{name}?reset")
    page.locator(NOTEBOOK).first.wait_for()
    page.wait_for_function(_KERNEL_READY_JS, polling=100)


def run_in_lab(write_notebook: Any, run: Any, args: Any) -> Any:
    """A benchmark's run: its notebook in a temporary Lab root, JupyterLab and Chromium started.

    ``write_notebook(root, args)`` writes the notebook; the result is ``run(browser, server,
    args)``. On failure the server's log tail goes to stderr.
    """
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        (work / "root").mkdir()
        write_notebook(work / "root", args)
        with running_lab(work / "root", work / "state", work / "server-lab.log") as server:
            try:
                with playwright_api.sync_playwright() as pw:
                    browser = pw.chromium.launch(
                        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
                    )
                    try:
                        return run(browser, server, args)
                    finally:
                        browser.close()
            except Exception:
                print(server.log_tail(), file=sys.stderr)
                raise


def write_notebook(path: Path, sources: list[str]) -> None:
    """A Python 3 notebook at ``path`` whose code cells hold ``sources``, not yet run."""
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"cell{index}",
                "metadata": {},
                "outputs": [],
                "source": text.splitlines(keepends=True),
            }
            for index, text in enumerate(sources)
        ],
        "metadata": {
            "kernelspec": {
                "display_name": "Python 3 (ipykernel)",
                "language": "python",
                "name": "python3",
            },
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook, indent=1))


_CANVAS_INK_JS = """(canvas) => {
  const ctx = canvas.getContext("2d");
  const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
  let ink = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) ink++;
  return ink / (canvas.width * canvas.height);
}"""


_HIDDEN_TAB_JS = """(el) => {
  const page = el.closest(".widget-tab-contents > .lm-Widget");
  if (!page || !page.classList.contains("lm-mod-hidden")) return -1;
  return [...page.parentElement.children].indexOf(page);
}"""


def reveal(view: Any) -> None:
    """Click the tab that holds ``view`` (a Locator) if it lies on a tab not shown.

    The Explorer keeps its secondary views (the ResponseView) on a second tab of a tab strip.
    The pointer then leaves the page's content, so that what scrolls under it is not hovered.
    """
    index = view.evaluate(_HIDDEN_TAB_JS)
    if index >= 0:
        strip = view.locator("xpath=ancestor::div[contains(@class, 'jupyter-widget-tab')][1]")
        strip.locator(":scope > .lm-TabBar .lm-TabBar-tab").nth(index).click()
        view.page.mouse.move(0, 0)
        expect(view).to_be_visible()


def canvas_ink(page: Page, canvas: Any) -> float:
    """The share of a canvas's pixels that are not transparent (``canvas``: a Locator)."""
    return page.evaluate(_CANVAS_INK_JS, canvas.element_handle())


def run_all_cells(page: Page, timeout: float | None = None) -> None:
    """Run > Run All Cells, then wait until every code cell has finished (``timeout`` ms)."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    item = page.locator("li.lm-Menu-item[data-command='runmenu:run-all']")
    expect(item).not_to_have_class(re.compile(r"lm-mod-disabled"))
    item.click()
    prompts = page.locator(f"{NOTEBOOK} .jp-CodeCell .jp-InputPrompt")
    expect(prompts.first).to_have_text(re.compile(r"\[(\*|\d+)\]"), timeout=15_000)
    # Every prompt shows an execution count once the last cell is done.
    expect(prompts.last).to_have_text(re.compile(r"\[\d+\]"), timeout=timeout)
    page.wait_for_function(_KERNEL_READY_JS, polling=100)


def execute_in_kernel(page: Page, code: str) -> str:
    """Run code in the notebook's kernel (as a user typing in a cell would); what it printed."""
    result = page.evaluate(_EXECUTE_JS, code)
    assert result["error"] is None, f"kernel error: {result['error']}"
    return result["out"]


def error_outputs(page: Page) -> list[str]:
    """Texts of tracebacks and widget errors shown in the notebook."""
    outputs = page.locator(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
    ).all_inner_texts()
    bad = [text for text in outputs if re.search(r"Traceback|Error", text)]
    bad += page.get_by_text("Error displaying widget").all_inner_texts()
    return bad


def widget_errors(errors: list[str]) -> list[str]:
    pattern = (
        r"model not found|Error displaying widget|Could not create (a )?model"
        r"|Failed to (fetch|import)"
    )
    return [e for e in errors if re.search(pattern, e, re.I)]
