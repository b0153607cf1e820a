"""The Explorer in real Chromium against a real JupyterLab: first paint of every view, brush.

Starts JupyterLab on 127.0.0.1 over a temp folder holding one notebook. Cell 1 captures the
shipped Python-source language model (``python_lstm``, one LSTM layer of 256 cells) over
the first held-out stdlib modules until ``--steps`` steps (default 100,000; whole modules,
so a little more), scores its cells for every ground-truth hypothesis of the task
(``score_cells``) and searches its fixed points (``find_fixed_points``, ``n=64``), all
beforehand. Cell 2 runs ``Explorer(trace, model, scores=scores, fixed_points=fp)`` (the
response table is computed inside, so it is counted) and shows it. Debian's headless
Chromium (Playwright, the flags of ``tests/browser/conftest.py``) measures, with timestamps
taken in the page (``performance.now()``):

* first paint: from the Ctrl+Enter that re-runs cell 2 (a capturing keydown listener) to
  the ``requestAnimationFrame`` after every view of the new Explorer has drawn its data:
  the SelectView's window, the MatchView (empty until a selection), the StateSpaceView's
  cloud (``data-n-points``), the 256 relevance bars and the response curves;
* brush: from the ``pointerup`` that ends a drag over three tokens of the SelectView to the
  frame after the MatchView's rows, the StateSpaceView's range (``data-range-points``) and
  the RelevanceBars' highlighted cells all show the kernel's new selection (the SelectView's
  ``data-highlighted``);
* breakdown: kernel compute timed in the kernel (``Explorer(...)``; for a brush, the
  Selection's ``set_state`` with every observer it triggers: ``select_cells``, ``match`` and
  the response view's cell), the bytes the kernel sent (JSON and binary buffers, counted in
  ``Widget._send``), and the rest (transfer, decoding, paint) as the difference; the
  baseline is an empty execute request from the page (page -> kernel -> page).

Prints markdown tables. Usage:
python benchmarks/explorer.py [--repeats 7] [--steps 100000] [--screenshot explorer.png]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.browser.conftest import (
    CHROMIUM,
    VIEWPORT,
    Server,
    execute_in_kernel,
    expect,
    open_notebook,
    run_all_cells,
    run_in_lab,
    write_notebook,
)

NOTEBOOK = "explorer_bench.ipynb"

SETUP = """\
import json
import time

import ipywidgets
import numpy as np

import rnn_widgets as rw
from rnn_widgets import hypotheses as hy
from rnn_widgets import zoo
from rnn_widgets.analysis import find_fixed_points, score_cells

model = zoo.load("python_lstm")
data = zoo.data("python_lstm")
enough = int(np.searchsorted(np.cumsum(data.lengths), {steps})) + 1
data = data.subset(range(min(enough, len(data))))
trace = data.annotate(rw.capture(model, data.sequences, kinds=["h", "c"], progress=False))
scores = score_cells(trace, hy.from_task(data), progress=False)
fp = find_fixed_points(model, trace, n={fixed}, progress=False) if {fixed} else None

SENT = {{"bytes": 0, "messages": 0}}
_send = ipywidgets.Widget._send


def counted_send(self, msg, buffers=None):
    SENT["messages"] += 1
    SENT["bytes"] += len(json.dumps(msg, default=str)) + sum(len(b) for b in buffers or [])
    return _send(self, msg, buffers)


ipywidgets.Widget._send = counted_send
BUILD_MS, BRUSH_MS = [], []


def timed_set_state(selection):
    original = selection.set_state

    def timed(state):
        start = time.perf_counter()
        original(state)
        if "start" in state or "stop" in state:
            BRUSH_MS.append((time.perf_counter() - start) * 1000)

    selection.set_state = timed


print(trace, flush=True)
"""

SHOW = """\
SENT.update(bytes=0, messages=0)
start = time.perf_counter()
explorer = rw.Explorer(trace, model, scores=scores, fixed_points=fp, progress=False)
BUILD_MS.append((time.perf_counter() - start) * 1000)
timed_set_state(explorer.selection)
explorer
"""

_PROBE_JS = """(nPoints) => {
  const B = (window.__rnnwBench = { mode: null, pending: null, results: [], seen: new WeakSet() });
  const frame = (p) => requestAnimationFrame(() => {
    p.painted = performance.now();
    B.results.push(p);
  });
  for (const root of document.querySelectorAll(".rnnw-explorer")) B.seen.add(root);
  const newest = () => [...document.querySelectorAll(".rnnw-explorer")].pop();
  const bars = (root) => root.querySelector(".rnnw-relevance-bars") ?? root;
  const allDrawn = (root) => {
    const select = root.querySelector(".rnnw-select-view");
    const space = root.querySelector(".rnnw-state-space-view");
    return !!select && Number(select.dataset.renderCount) >= 1
      && !!root.querySelector(".rnnw-match-view")
      && !!space && space.dataset.nPoints === String(nPoints)
      && Number(space.dataset.renderCount) >= 1
      && bars(root).querySelectorAll("rect.rnnw-bar").length === 256
      && !!root.querySelector(".rnnw-response-view svg path");
  };
  const selected = (root) =>
    [...bars(root).querySelectorAll("rect.rnnw-bar-selected")]
      .map((r) => Number(r.dataset.cell)).sort((a, b) => a - b).join(",");
  window.addEventListener("keydown", (e) => {
    if (B.mode === "paint" && e.key === "Enter") B.pending = { t: performance.now() };
  }, { capture: true });
  window.addEventListener("pointerup", () => {
    if (B.mode !== "brush") return;
    const root = newest();
    B.pending = { t: performance.now(), matchChanged: false };
  }, { capture: true });
  new MutationObserver((records) => {
    const p = B.pending;
    if (!p) return;
    if (B.mode === "paint") {
      const fresh = [...document.querySelectorAll(".rnnw-explorer")]
        .find((r) => !B.seen.has(r) && allDrawn(r));
      if (!fresh) return;
      B.seen.add(fresh);
      B.pending = null;
      p.drawn = performance.now();
      frame(p);
      return;
    }
    const root = newest();
    const match = root.querySelector(".rnnw-match-view");
    const highlighted = root.querySelector(".rnnw-select-view").dataset.highlighted ?? "";
    // The kernel sends the new rows before the new cells (observers run before send_state).
    if (records.some((r) => match.contains(r.target))) p.matchChanged = true;
    const space = root.querySelector(".rnnw-state-space-view");
    // The SelectView previews the cells in the browser during the drag; the bars show the
    // Selection's cells, which only the kernel sets (cleared before each brush).
    const cells = selected(root);
    if (cells !== "" && cells === highlighted && p.matchChanged
        && Number(space.dataset.rangePoints) === 3) {
      B.pending = null;
      p.drawn = performance.now();
      p.cells = cells.split(",").length;
      frame(p);
    }
  }).observe(document.body,
    { subtree: true, childList: true, attributes: true, characterData: true });
}"""

_STATE_JS = """() => [...document.querySelectorAll(".rnnw-explorer")].map((root) => ({
  select: root.querySelector(".rnnw-select-view")?.dataset.renderCount,
  match: !!root.querySelector(".rnnw-match-view"),
  points: root.querySelector(".rnnw-state-space-view")?.dataset.nPoints,
  space: root.querySelector(".rnnw-state-space-view")?.dataset.renderCount,
  bars: root.querySelectorAll(".rnnw-relevance-bars rect.rnnw-bar").length,
  response: !!root.querySelector(".rnnw-response-view svg path"),
  highlighted: root.querySelector(".rnnw-select-view")?.dataset.highlighted,
  range: root.querySelector(".rnnw-state-space-view")?.dataset.rangePoints,
  selected: [...root.querySelectorAll(".rnnw-relevance-bars")].map((b) =>
    [...b.querySelectorAll("rect.rnnw-bar-selected")].map((r) => r.dataset.cell).join(",")),
  pending: JSON.stringify(window.__rnnwBench.pending),
}))"""

_NO_CELLS_JS = """() => {
  const root = [...document.querySelectorAll(".rnnw-explorer")].pop();
  return root.querySelector(".rnnw-relevance-bars rect.rnnw-bar-selected") === null;
}"""

_EMPTY_EXECUTE_JS = """async () => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const t = performance.now();
  await kernel.requestExecute({ code: "", store_history: false }).done;
  return performance.now() - t;
}"""


def _write_notebook(root: Path, args: argparse.Namespace) -> None:
    sources = (SETUP.format(steps=args.steps, fixed=args.fixed), SHOW)
    write_notebook(root / NOTEBOOK, list(sources))


def _wait_results(page, count: int, timeout_s: float = 60.0) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        results = page.evaluate("() => window.__rnnwBench.results")
        if len(results) >= count:
            return results
        time.sleep(0.05)
    state = page.evaluate(_STATE_JS)
    raise TimeoutError(f"only {len(results)} of {count} measurements arrived; page: {state}")


def _kernel_list(page, name: str) -> list[float]:
    return json.loads(execute_in_kernel(page, f"print(json.dumps({name}))"))


def _measure(browser, server: Server, args: argparse.Namespace) -> dict:
    page = browser.new_page(viewport={**VIEWPORT, "height": 2400})
    page.set_default_timeout(600_000)
    open_notebook(page, server, NOTEBOOK)
    run_all_cells(page, timeout=900_000)
    n_steps = int(execute_in_kernel(page, "print(explorer.trace.n_steps)"))
    n_points = int(execute_in_kernel(page, "print(len(explorer.state_space_view.cloud_steps))"))
    page.evaluate(_PROBE_JS, n_points)
    baseline = [page.evaluate(_EMPTY_EXECUTE_JS) for _ in range(args.repeats)]

    # First paint: re-run cell 2 (a fresh Explorer replaces the old one).
    page.evaluate("() => { window.__rnnwBench.mode = 'paint'; }")
    cell = page.locator(".jp-Notebook .jp-CodeCell").nth(1)
    paint_bytes = []
    for i in range(args.repeats):
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Control+Enter")
        _wait_results(page, i + 1, timeout_s=120)
        paint_bytes.append(json.loads(execute_in_kernel(page, "print(json.dumps(SENT))")))
    paints = page.evaluate("() => window.__rnnwBench.results")
    page.evaluate("() => { window.__rnnwBench.results = []; window.__rnnwBench.mode = 'brush'; }")
    execute_in_kernel(page, "BRUSH_MS.clear()")

    # Brush: three tokens at a time, a new range each time.
    select = page.locator(".rnnw-explorer").last.locator(".rnnw-select-view")
    select.scroll_into_view_if_needed()
    tokens = select.locator(".rnnw-token")
    expect(tokens.first).to_be_visible()
    brush_bytes = []
    for i in range(args.repeats):
        first = 2 + 4 * i
        a, b = tokens.nth(first).bounding_box(), tokens.nth(first + 2).bounding_box()
        y = a["y"] + a["height"] / 2
        execute_in_kernel(page, "explorer.selection.cells = []")
        page.wait_for_function(_NO_CELLS_JS)
        execute_in_kernel(page, "SENT.update(bytes=0, messages=0)")
        page.mouse.move(a["x"] + a["width"] / 2, y)
        page.mouse.down()
        page.mouse.move(b["x"] + b["width"] / 2, y, steps=5)
        page.mouse.up()
        _wait_results(page, i + 1)
        time.sleep(0.3)  # let every message of this brush arrive before counting bytes
        brush_bytes.append(json.loads(execute_in_kernel(page, "print(json.dumps(SENT))")))
    brushes = page.evaluate("() => window.__rnnwBench.results")
    if args.screenshot:
        root = page.locator(".rnnw-explorer").last
        root.scroll_into_view_if_needed()
        root.screenshot(path=args.screenshot)
    return {
        "n_steps": n_steps,
        "n_points": n_points,
        "baseline": baseline,
        "paints": paints,
        "paint_kernel": _kernel_list(page, "BUILD_MS")[-args.repeats :],
        "paint_bytes": paint_bytes,
        "brushes": brushes,
        "brush_kernel": _kernel_list(page, "BRUSH_MS"),
        "brush_bytes": brush_bytes,
    }


def _report(result: dict, args: argparse.Namespace) -> None:
    med = statistics.median
    base = med(result["baseline"])
    paint = [p["painted"] - p["t"] for p in result["paints"]]
    paint_kernel = med(result["paint_kernel"])
    brush = [p["painted"] - p["t"] for p in result["brushes"]]
    brush_kernel = med(result["brush_kernel"]) if result["brush_kernel"] else float("nan")
    print(
        f"\nExplorer on python_lstm, {result['n_steps']:,} steps x 256 cells (h and c), "
        f"{result['n_points']:,} states drawn,"
    )
    print(f"{args.repeats} runs each; Chromium {CHROMIUM}\n")
    print("| measure | median (ms) | p95 (ms) | target (ms) | ratio to empty execute |")
    print("| --- | --- | --- | --- | --- |")
    for name, values, target in (
        ("first paint of every view", paint, 3000),
        ("brush to all painted", brush, 300),
    ):
        p95 = sorted(values)[max(0, round(0.95 * len(values)) - 1)]
        print(f"| {name} | {med(values):.1f} | {p95:.1f} | {target} | {med(values) / base:.1f} |")
    print(f"| empty execute (baseline) | {base:.1f} | | | 1.0 |")
    print(
        "\n| breakdown (medians) | kernel compute (ms) | sent (kB, messages) "
        "| transfer + decode + paint (ms) |"
    )
    print("| --- | --- | --- | --- |")
    pb = result["paint_bytes"]
    bb = result["brush_bytes"]
    print(
        f"| first paint | {paint_kernel:.1f} | {med(b['bytes'] for b in pb) / 1000:.1f} kB, "
        f"{med(b['messages'] for b in pb):.0f} | {med(paint) - paint_kernel:.1f} |"
    )
    print(
        f"| brush | {brush_kernel:.1f} | {med(b['bytes'] for b in bb) / 1000:.1f} kB, "
        f"{med(b['messages'] for b in bb):.0f} | {med(brush) - brush_kernel:.1f} |"
    )
    cells = [p.get("cells", 0) for p in result["brushes"]]
    print(f"\ncells selected per brush: {cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--fixed", type=int, default=64, help="initial states of the search")
    parser.add_argument("--screenshot", default="")
    args = parser.parse_args()
    result = run_in_lab(_write_notebook, _measure, args)
    _report(result, args)


if __name__ == "__main__":
    main()
