"""What a Binder user waits for and what the session holds: install size, first view, memory.

Binder itself cannot be reached from here, so this does what repo2docker does with the files
of ``binder/`` (as ``tests/test_binder.py`` does, whose helpers it imports):

1. install: a fresh virtual environment in a temp folder, the CPU torch wheel (2.13.0, which
   lies on this machine's disk; Binder downloads it from PyTorch's CPU index), then
   ``pip install -r binder/requirements.txt`` from a clean copy of the repository (tracked and
   untracked-but-not-ignored files: no built bundle, no ``node_modules``; the package's build
   hook runs npm and esbuild). Reports the install time of each step and the venv's size on
   disk (allocated blocks, each inode once): the total, per installed distribution (from
   their ``RECORD`` files, so ``share/jupyter/lab`` counts as JupyterLab's) and the parts of
   ``rnn_widgets`` (shipped weights, front-end bundles, the rest).
2. time to first view: JupyterLab from that fresh venv (``--lab-python`` picks another Python)
   over a copy of ``notebooks/``, a fresh server per run, ``00_quickstart.ipynb`` opened in
   Debian's headless Chromium (Playwright, the flags of ``tests/browser/conftest.py``) and
   run with Run > Run All Cells. Page timestamps (``performance.now()``) from the pointerup on
   the menu item to the ``requestAnimationFrame`` after the first SelectView's canvas has ink
   ("painted"), and to the frame after every view of the notebook has drawn (the SelectView
   and the Explorer's SelectView, MatchView, StateSpaceView, RelevanceBars and ResponseView
   with its own RelevanceBars).
   The server's start (process start to ``/api/status`` answering) is reported apart.
3. kernel memory: the resident set (RSS) of each kernel process, children included, sampled
   every 100 ms with psutil while the quickstart runs, then (last run, same tab) while a
   second notebook shows ``rw.demo("parentheses_lstm")`` and ``rw.demo("sentiment_gru")``
   (its own kernel, the quickstart's still alive). The value after each cell is the first
   sample after the kernel's ``execute_reply`` (JupyterLab's ``recordTiming``). Also the
   whole server tree (server and both kernels): what the Binder container holds besides the
   browser.

Prints markdown tables. Usage:
python benchmarks/binder.py [--runs 3] [--keep DIR] [--venv DIR] [--lab-python PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import venv
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    VIEWPORT,
    Server,
    _free_port,
    _isolated_env,
    _stop,
    _wait_ready,
    open_notebook,
    playwright_api,
    server_command,
)
from tests.test_binder import _fresh_copy, _torch_version

QUICKSTART = "notebooks/00_quickstart.ipynb"
DEMO = "notebooks/binder_demo_bench.ipynb"
DEMO_CELLS = [
    "import rnn_widgets as rw",
    'rw.demo("parentheses_lstm")',
    'rw.demo("sentiment_gru")',
]
VIEW_CLASSES = [
    "rnnw-select-view",
    "rnnw-match-view",
    "rnnw-state-space-view",
    "rnnw-relevance-bars",
    "rnnw-response-view",
]
GIB = 1 << 30
SAMPLE_S = 0.1
RUN_TIMEOUT_MS = 900_000
DRAW_MS = 120_000  # after the last cell is done


# ---------------------------------------------------------------------------- install


@dataclass
class Install:
    torch_s: float
    requirements_s: float
    total_bytes: int
    by_distribution: dict[str, int]
    rnn_widgets_parts: dict[str, int]


def install(work: Path) -> tuple[Path, Install]:
    """A fresh venv with what binder/ installs; its python and the install's figures."""
    repo = _fresh_copy(work / "repo")
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "-q", "--retries", "0"]
    start = time.perf_counter()
    subprocess.run([*pip, f"torch=={_torch_version()}"], check=True, cwd=repo)
    torch_s = time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run([*pip, "-r", "binder/requirements.txt"], check=True, cwd=repo)
    requirements_s = time.perf_counter() - start
    return python, Install(torch_s, requirements_s, *venv_sizes(env_dir))


def disk_bytes(path: Path, seen: set[tuple[int, int]]) -> int:
    """Allocated size of one file, zero if its inode was counted already."""
    info = path.lstat()
    key = (info.st_dev, info.st_ino)
    if key in seen:
        return 0
    seen.add(key)
    return info.st_blocks * 512


def tree_bytes(root: Path, seen: set[tuple[int, int]]) -> int:
    total = 0
    for folder, _, files in os.walk(root):
        total += sum(disk_bytes(Path(folder) / name, seen) for name in files)
    return total


def venv_sizes(env_dir: Path) -> tuple[int, dict[str, int], dict[str, int]]:
    """The venv's size, per distribution (by RECORD) and the parts of rnn_widgets."""
    total = tree_bytes(env_dir, set())
    site = next(env_dir.glob("lib/python*/site-packages"))
    seen: set[tuple[int, int]] = set()
    by_distribution: dict[str, int] = {}
    for record in site.glob("*.dist-info/RECORD"):
        name = record.parent.name.split("-")[0].lower()
        size = 0
        for line in record.read_text().splitlines():
            relative = line.rsplit(",", 2)[0]
            path = (site / relative).resolve()
            if relative and path.is_file():
                size += disk_bytes(path, seen)
        by_distribution[name] = size
    package = site / "rnn_widgets"
    parts = {
        "zoo (weights and recipes)": tree_bytes(package / "zoo", set()),
        "static (front-end bundles)": tree_bytes(package / "static", set()),
    }
    parts["the rest (Python code)"] = tree_bytes(package, set()) - sum(parts.values())
    return total, by_distribution, parts


# ---------------------------------------------------------------------------- memory


@dataclass
class Sampler:
    """RSS of every kernel of a server (children included) and of the server tree, 100 ms."""

    server_pid: int
    kernels: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    tree: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        server = psutil.Process(self.server_pid)
        while not self._stop.is_set():
            now = time.time()
            with contextlib.suppress(psutil.Error):
                processes = [server, *server.children(recursive=True)]
                self.tree.append((now, sum(rss(p) for p in processes)))
                for process in processes:
                    kernel_id = kernel_of(process)
                    if kernel_id:
                        family = [process, *process.children(recursive=True)]
                        size = sum(rss(p) for p in family)
                        self.kernels.setdefault(kernel_id, []).append((now, size))
            self._stop.wait(SAMPLE_S)

    @contextlib.contextmanager
    def sampling(self) -> Iterator[Sampler]:
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()


def rss(process: psutil.Process) -> int:
    try:
        return process.memory_info().rss
    except psutil.Error:
        return 0


def kernel_of(process: psutil.Process) -> str | None:
    """The kernel id of an ipykernel process (from its connection file), else None."""
    try:
        command = process.cmdline()
    except psutil.Error:
        return None
    if not any("ipykernel" in part for part in command):
        return None
    for part in command:
        name = Path(part).name
        if name.startswith("kernel-") and name.endswith(".json"):
            return name.removeprefix("kernel-").removesuffix(".json")
    return None


def after(samples: list[tuple[float, int]], moment: float) -> int:
    """The first sample taken at or after ``moment`` (the last one if none)."""
    return next((size for when, size in samples if when >= moment), samples[-1][1])


# ---------------------------------------------------------------------------- JupyterLab


@contextlib.contextmanager
def lab(python: Path, root: Path, state: Path) -> Iterator[tuple[Server, float]]:
    """JupyterLab of ``python`` over ``root``; the server and its start time in seconds.

    As ``tests/browser/conftest.running_lab`` (same flags and isolated settings), with
    another Python and JupyterLab's ``recordTiming`` on (cells keep the kernel's timestamps).
    """
    env = _isolated_env(state)
    tracker = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True, exist_ok=True)
    (tracker / "tracker.jupyterlab-settings").write_text('{"recordTiming": true}')
    port = _free_port()
    command = server_command(python, "lab", port, root)
    log_path = state / "server.log"
    with open(log_path, "w") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(
            command, cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
        server = Server(proc, f"http://127.0.0.1:{port}", log_path)
        try:
            _wait_ready(server)
            yield server, time.perf_counter() - start
        except Exception:
            print(server.log_tail(), file=sys.stderr)
            raise
        finally:
            _stop(proc)


_PROBE_JS = """(classes) => {
  const B = (window.__binderBench = { t0: null, origin: performance.timeOrigin, drawn: [],
                                      pending: [] });
  document.addEventListener("pointerup", (e) => {
    const runAll = "[data-command='runmenu:run-all']";
    const item = e.target instanceof Element && e.target.closest(runAll);
    if (item && B.t0 === null) B.t0 = performance.now();
  }, { capture: true });
  const ink = (canvas) => {
    if (!canvas.width || !canvas.height) return false;
    const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) return true;
    return false;
  };
  const text = (root, selector) => (root.querySelector(selector)?.textContent ?? "").trim();
  const drawn = {
    "rnnw-select-view": (r) => Number(r.dataset.renderCount) >= 1
      && [...r.querySelectorAll("canvas")].some(ink),
    "rnnw-match-view": (r) => text(r, ".rnnw-match-summary") !== ""
      || (r.querySelector(".rnnw-match-list")?.childElementCount ?? 0) > 0
      || text(r, ".rnnw-error") !== "",  // "Select cells to match ..." with no cell selected
    "rnnw-state-space-view": (r) => Number(r.dataset.renderCount) >= 1
      && Number(r.dataset.nPoints) > 0,
    "rnnw-relevance-bars": (r) => r.querySelector("rect.rnnw-bar") !== null,
    "rnnw-response-view": (r) =>
      (r.querySelector(".rnnw-response-dist-svg")?.childElementCount ?? 0) > 0,
  };
  const done = new WeakSet();
  const tick = (now) => {
    for (const p of B.pending.splice(0)) B.drawn.push({ ...p, painted: now });
    if (B.t0 !== null) {
      for (const kind of classes) {
        for (const root of document.querySelectorAll("." + kind)) {
          if (done.has(root) || !drawn[kind](root)) continue;
          done.add(root);
          B.pending.push({ kind, drawn: performance.now(),
                           inExplorer: root.closest(".rnnw-explorer") !== null });
        }
      }
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""

_CELL_TIMES_JS = """() => {
  const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
  const out = [];
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== "code") continue;
    const timing = cell.getMetadata("execution") || {};
    out.push({ source: cell.sharedModel.getSource().split("\\n")[0],
               started: timing["shell.execute_reply.started"] || null,
               reply: timing["shell.execute_reply"] || null });
  }
  return out;
}"""

_CELLS_DONE_JS = """() => {
  const prompts = document.querySelectorAll(
    ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt");
  return prompts.length > 0 && [...prompts].every((p) => /\\[\\d+\\]/.test(p.textContent));
}"""

_ALL_DRAWN_JS = """([classes, minimum]) => {
  const roots = document.querySelectorAll(classes.map((c) => "." + c).join(","));
  const drawn = window.__binderBench.drawn.length;
  return drawn >= minimum && drawn >= roots.length;
}"""

_KERNEL_ID_JS = "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.id"


def run_all(page: Any, n_views: int) -> dict:
    """Run > Run All Cells; wait for every cell and every view drawn; the page's figures.

    At least ``n_views`` views, and every view in the page once the cells are done.
    """
    page.evaluate(_PROBE_JS, VIEW_CLASSES)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator("li.lm-Menu-item[data-command='runmenu:run-all']").click()
    page.wait_for_function(_CELLS_DONE_JS, polling=200, timeout=RUN_TIMEOUT_MS)
    with contextlib.suppress(playwright_api.TimeoutError):  # reported as views not drawn
        page.wait_for_function(_ALL_DRAWN_JS, arg=[VIEW_CLASSES, n_views], timeout=DRAW_MS)
    figures = page.evaluate("() => window.__binderBench")
    selector = ",".join("." + kind for kind in VIEW_CLASSES)
    figures["n_views"] = max(n_views, page.locator(selector).count())
    figures["cells"] = page.evaluate(_CELL_TIMES_JS)
    figures["kernel"] = page.evaluate(_KERNEL_ID_JS)
    return figures


def epoch(iso: str | None) -> float:
    if not iso:
        return float("nan")
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def count_views(notebook: Path) -> int:
    """Views expected in the quickstart: its SelectView and the Explorer's five."""
    source = notebook.read_text()
    return source.count("rw.SelectView(") + 5 * source.count("rw.Explorer(")


def write_demo_notebook(path: Path) -> None:
    cells = [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": f"demo{index}",
            "metadata": {},
            "outputs": [],
            "source": [text],
        }
        for index, text in enumerate(DEMO_CELLS)
    ]
    notebook = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook, indent=1))


@dataclass
class Run:
    server_s: float
    page: dict
    memory: dict[str, list[tuple[float, int]]]
    tree: list[tuple[float, int]]
    demo_page: dict | None = None


def one_run(browser: Any, python: Path, notebooks: Path, with_demo: bool) -> Run:
    """A fresh server and page: the quickstart, then (``with_demo``) the demo notebook."""
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        root = work / "root"
        shutil.copytree(notebooks, root / "notebooks")
        write_demo_notebook(root / DEMO)
        (work / "state").mkdir()
        with lab(python, root, work / "state") as (server, server_s):
            sampler = Sampler(server.proc.pid)
            context = browser.new_context(viewport=VIEWPORT)
            try:
                with sampler.sampling():
                    page = context.new_page()
                    page.set_default_timeout(RUN_TIMEOUT_MS)
                    open_notebook(page, server, QUICKSTART)
                    figures = run_all(page, count_views(root / QUICKSTART))
                    time.sleep(2)  # the quickstart shown: what it holds once settled
                    demo = None
                    if with_demo:  # same tab: a background tab gets no animation frames
                        open_notebook(page, server, DEMO)
                        demo = run_all(page, 10)
                        time.sleep(2)
            finally:
                context.close()
    return Run(server_s, figures, sampler.kernels, sampler.tree, demo)


# ---------------------------------------------------------------------------- report


def mb(size: float) -> str:
    return f"{size / 1e6:,.0f}"


def report_install(figures: Install) -> None:
    print(f"Install: torch wheel {figures.torch_s:.0f} s (from the local wheel file), ")
    print(f"binder/requirements.txt {figures.requirements_s:.0f} s (PyPI, npm build).")
    print()
    print("| part of the venv | MB on disk | share |")
    print("| --- | --- | --- |")
    total = figures.total_bytes
    print(f"| total | {mb(total)} | 100 % |")
    ranked = sorted(figures.by_distribution.items(), key=lambda item: -item[1])
    for name, size in ranked[:8]:
        print(f"| {name} | {mb(size)} | {100 * size / total:.1f} % |")
    listed = sum(size for _, size in ranked[:8])
    rest = len(ranked) - 8
    print(f"| {rest} other distributions, files of none | {mb(total - listed)} | - |")
    rnn = figures.by_distribution.get("rnn_widgets", 0)
    print(f"| rnn_widgets | {mb(rnn)} | {100 * rnn / total:.2f} % |")
    for name, size in figures.rnn_widgets_parts.items():
        print(f"| rnn_widgets: {name} | {size / 1e6:.2f} | - |")
    print()


def view_times(page: dict) -> tuple[float, float, float]:
    """First SelectView painted, every view drawn and painted (seconds after Run All)."""
    t0 = page["t0"]
    if len(page["drawn"]) < page["n_views"]:
        print(f"only {len(page['drawn'])} of {page['n_views']} views drew", file=sys.stderr)
        return float("nan"), float("nan"), float("nan")
    selects = [d["painted"] for d in page["drawn"] if d["kind"] == "rnnw-select-view"]
    return (
        (min(selects) - t0) / 1000,
        (max(d["drawn"] for d in page["drawn"]) - t0) / 1000,
        (max(d["painted"] for d in page["drawn"]) - t0) / 1000,
    )


def report_views(runs: list[Run]) -> None:
    print(
        "| run | server start | Run All -> SelectView cell done (kernel) | -> first SelectView "
        "painted | -> every view painted | -> last cell done (kernel) |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    rows = []
    for index, run in enumerate(runs, 1):
        first, _, every = view_times(run.page)
        clicked = (run.page["origin"] + run.page["t0"]) / 1000
        cells = run.page["cells"]
        select_cell = next(c for c in cells if "rw.SelectView(" in c["source"])
        kernel_view = epoch(select_cell["reply"]) - clicked
        done = max(epoch(c["reply"]) for c in cells) - clicked
        rows.append((run.server_s, kernel_view, first, every, done))
        print(f"| {index} | " + " | ".join(f"{value:.1f} s" for value in rows[-1]) + " |")
    medians = [statistics.median(column) for column in zip(*rows, strict=True)]
    print("| median | " + " | ".join(f"{value:.1f} s" for value in medians) + " |")
    print()


def report_memory(run: Run, page: dict, title: str) -> None:
    samples = run.memory.get(page["kernel"], [])
    if not samples:
        print(f"{title}: no kernel samples\n")
        return
    last = page["cells"][-1]["reply"]
    during = [s for s in samples if s[0] <= epoch(last) + 2.5]
    print(f"{title} kernel (RSS, children included, every {SAMPLE_S * 1000:.0f} ms):")
    print()
    print("| after cell | MB | GiB |")
    print("| --- | --- | --- |")
    for cell in page["cells"]:
        size = after(samples, epoch(cell["reply"]))
        print(f"| `{cell['source'][:60]}` | {mb(size)} | {size / GIB:.2f} |")
    peak = max(size for _, size in during)
    print(f"| **peak** | **{mb(peak)}** | **{peak / GIB:.2f}** |")
    print()


def report(install_figures: Install | None, runs: list[Run], python: Path) -> None:
    print(f"JupyterLab and the kernels run with {python}; headless Chromium {CHROMIUM}.")
    print()
    if install_figures:
        report_install(install_figures)
    report_views(runs)
    last = runs[-1]
    report_memory(last, last.page, "Quickstart")
    if last.demo_page:
        _, _, every = view_times(last.demo_page)
        n_views = last.demo_page["n_views"]
        print(f"Demo notebook: Run All -> its {n_views} views painted {every:.1f} s.")
        print()
        report_memory(last, last.demo_page, "Demo notebook (second kernel)")
    peak_tree = max(size for _, size in last.tree)
    print(f"Server tree (server and every kernel) peak: {mb(peak_tree)} MB.")
    peaks = [max(s for _, s in run.memory[run.page["kernel"]]) for run in runs]
    print(f"Quickstart kernel peak per run (MB): {', '.join(mb(p) for p in peaks)}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="quickstart runs (fresh servers)")
    parser.add_argument("--keep", type=Path, default=None, help="install here and keep it")
    parser.add_argument("--venv", type=Path, default=None, help="skip the install: this venv")
    parser.add_argument("--lab-python", type=Path, default=None, help="run JupyterLab with it")
    parser.add_argument("--raw", type=Path, default=None, help="save the raw figures (JSON)")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        work = args.keep or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        install_figures = None
        if args.venv:
            python = args.venv / "bin" / "python"
            repo = _fresh_copy(Path(stack.enter_context(tempfile.TemporaryDirectory())))
        else:
            python, install_figures = install(work)
            repo = work / "repo"
        lab_python = args.lab_python or python
        runs = []
        with playwright_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for index in range(args.runs):
                    with_demo = index == args.runs - 1
                    runs.append(one_run(browser, lab_python, repo / "notebooks", with_demo))
                    print(f"run {index + 1} done", file=sys.stderr)
            finally:
                browser.close()
        if args.raw:
            raw = {"install": install_figures, "runs": runs}
            args.raw.write_text(json.dumps(raw, default=lambda value: value.__dict__))
        report(install_figures, runs, lab_python)


if __name__ == "__main__":
    main()
