"""StateSpaceView in real Chromium against a real JupyterLab: first paint, hover, rotation.

Starts JupyterLab on 127.0.0.1 over a temp folder holding one notebook, which builds a trace
of ``--sequences`` x ``--length`` steps (``--states`` in all, default 50,000) of a 64-cell
state (smoothed noise), ``--fixed`` hand-placed fixed points (default 1,000: states drawn
among the visited ones, random classes, q and 64 eigenvalues each) and a random
``nn.GRU(1, 64)`` for the eigenvector segments and an 11 x 11 grid portrait, and shows
``StateSpaceView(trace, fixed_points=fp, model=model, labels=..., portrait=True)`` (cell 1)
and, in cell 2, ``display(view)``: another view of the same widget. Debian's headless
Chromium (Playwright, the flags of ``tests/browser/conftest.py``) opens the notebook, runs it,
and measures with timestamps taken in the page (``performance.now()``):

* first paint: from the Ctrl+Enter that re-runs cell 2 (a capturing keydown listener) to the
  ``requestAnimationFrame`` after the new view's first draw with every state decoded
  (``data-n-points``): the display message, the decoding of the buffers already in the
  browser and the drawing of the cloud, trajectories, portrait and fixed points;
* hover: from a ``pointermove`` on the plot (a capturing listener on the window) to the end
  of the view's handler (a bubbling listener on the window: hit testing over every drawn
  point and the overlay redraw), and to the next painted frame; only moves that changed the
  marked step (``data-hovered-step``) count;
* rotate (3-D): from a ``pointermove`` with the button down to the frame after the redraw it
  scheduled (``data-render-count``) has been painted;
* baselines in the same page: one empty ``requestAnimationFrame`` (the frame interval) and an
  empty execute request (page -> kernel -> page).

Prints markdown tables. Usage:
python benchmarks/state_space_view_browser.py [--repeats 30] [--states 50000] [--fixed 1000]
       [--screenshot view.png]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

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

NOTEBOOK = "state_space_view_bench.ipynb"

SETUP = """\
import json
import time

import numpy as np
import torch
from scipy.signal import lfilter

import rnn_widgets as rw
from rnn_widgets.analysis import FixedPoints

N_SEQUENCES, LENGTH, N_FIXED, N_CELLS = {sequences}, {length}, {fixed}, 64
rng = np.random.default_rng(0)
noise = rng.standard_normal((N_SEQUENCES * LENGTH, N_CELLS))
states = np.tanh(lfilter([0.3], [1.0, -0.95], noise, axis=0) + 0.5 * rng.standard_normal(N_CELLS))
tokens = [[f"w{{i}}" for i in range(LENGTH)] for _ in range(N_SEQUENCES)]
trace = rw.Trace.from_arrays(tokens, {{"h": states}}).with_track(
    "sign", np.where(states[:, 0] > 0, "positive", "negative")
)
torch.manual_seed(0)
model = rw.wrap(torch.nn.GRU(1, N_CELLS, batch_first=True))
magnitude = -np.sort(-rng.uniform(0, 1.2, (N_FIXED, N_CELLS)), axis=1)
eigenvalues = magnitude * np.exp(1j * rng.uniform(0, np.pi, (N_FIXED, N_CELLS)))
fp = FixedPoints(
    states=states[rng.choice(len(states), N_FIXED, replace=False)],
    inputs=np.zeros((N_FIXED, 1)),
    condition=np.zeros(N_FIXED, int),
    q=10.0 ** rng.uniform(-14, -4, N_FIXED),
    iterations=np.full(N_FIXED, 10),
    converged=np.ones(N_FIXED, bool),
    is_fixed=np.ones(N_FIXED, bool),
    eigenvalues=eigenvalues,
    stability=rng.choice(["stable", "marginal", "saddle", "unstable"], N_FIXED),
    n_unstable=np.zeros(N_FIXED, int),
    time_constants=1 / np.abs(np.log(np.abs(eigenvalues))),
    attractor=np.arange(N_FIXED),
    tolerance=1e-10,
    eps=1e-3,
    layer=0,
)
built = []
for _ in range(3):
    start = time.perf_counter()
    view = rw.StateSpaceView(trace, fixed_points=fp, model=model, labels="sign", portrait=True)
    built.append(time.perf_counter() - start)
payload_bytes = sum(
    len(packed["data"])
    for name in ("_cloud", "_trajectories", "_fixed", "_portrait")
    for packed in (getattr(view, name) or {{}}).values()
    if isinstance(packed, dict) and "data" in packed
)
display(view)
"""

_PROBE_JS = """(nPoints) => {
  const B = (window.__rnnwBench = { mode: null, pending: null, results: [], seen: new WeakSet() });
  const frame = (p) => requestAnimationFrame(() => {
    p.painted = performance.now();
    B.results.push(p);
  });
  for (const root of document.querySelectorAll(".rnnw-state-space-view")) B.seen.add(root);
  window.addEventListener("keydown", (e) => {
    if (B.mode === "paint" && e.key === "Enter") B.pending = { t: performance.now() };
  }, { capture: true });
  window.addEventListener("pointermove", (e) => {
    if (B.mode === "hover" || (B.mode === "rotate" && (e.buttons & 1))) {
      const root = document.querySelector(".rnnw-state-space-view");
      const d = root.dataset;
      B.pending = { t: performance.now(), step: d.hoveredStep, rc: d.renderCount, root };
    }
  }, { capture: true });
  window.addEventListener("pointermove", () => {
    const p = B.pending;
    if (B.mode !== "hover" || !p) return;
    B.pending = null;
    p.handled = performance.now();
    p.changed = p.root.dataset.hoveredStep !== p.step;
    delete p.root;
    frame(p);
  });
  new MutationObserver(() => {
    const p = B.pending;
    if (!p) return;
    if (B.mode === "paint") {
      const fresh = [...document.querySelectorAll(".rnnw-state-space-view")].find(
        (r) => !B.seen.has(r) && r.dataset.nPoints === String(nPoints)
          && Number(r.dataset.renderCount) >= 1);
      if (!fresh) return;
      B.seen.add(fresh);
      B.pending = null;
      p.drawn = performance.now();
      frame(p);
    } else if (B.mode === "rotate" && p.root && p.root.dataset.renderCount !== p.rc) {
      B.pending = null;
      p.drawn = performance.now();
      delete p.root;
      frame(p);
    }
  }).observe(document.body, { subtree: true, childList: true, attributes: true,
                              attributeFilter: ["data-n-points", "data-render-count"] });
}"""

_BASELINE_JS = """async (n) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const trips = [], frames = [];
  for (let i = 0; i < n; i++) {
    let t = performance.now();
    await kernel.requestExecute({ code: "", silent: true, store_history: false }).done;
    trips.push(performance.now() - t);
    t = performance.now();
    await new Promise((resolve) => requestAnimationFrame(resolve));
    frames.push(performance.now() - t);
  }
  return { trips, frames };
}"""

_WAIT_RESULTS_JS = "(n) => window.__rnnwBench.results.length >= n"


def write_bench_notebook(folder: Path, args: argparse.Namespace) -> None:
    length = args.states // args.sequences
    source = SETUP.format(sequences=args.sequences, length=length, fixed=args.fixed)
    cells = [source, "display(view)\n"]
    write_notebook(folder / NOTEBOOK, cells)


def results(page) -> list[dict]:
    return page.evaluate("() => window.__rnnwBench.results")


def set_mode(page, mode: str | None) -> None:
    page.evaluate("(m) => Object.assign(window.__rnnwBench, { mode: m, pending: null })", mode)


def measure_first_paint(page, repeats: int) -> list[dict]:
    cell = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell").nth(1)
    out = []
    for _ in range(repeats + 1):  # the first is a warm-up
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Escape")  # command mode: Ctrl+Enter runs the cell in place
        page.wait_for_timeout(300)
        done = len(results(page))
        set_mode(page, "paint")
        page.keyboard.press("Control+Enter")
        page.wait_for_function(_WAIT_RESULTS_JS, arg=done + 1, timeout=60_000)
        set_mode(page, None)
        out.append(results(page)[-1])
    return out[1:]


def plot_box(view) -> dict:
    view.scroll_into_view_if_needed()
    box = view.locator("canvas.rnnw-ssv-overlay").bounding_box()
    assert box is not None
    return box


def measure_hover(page, view, repeats: int) -> tuple[list[dict], int]:
    box = plot_box(view)
    rng = np.random.default_rng(1)
    kept: list[dict] = []
    moves = 0
    while len(kept) < repeats + 3 and moves < 20 * repeats:
        moves += 1
        x = box["x"] + box["width"] * rng.uniform(0.3, 0.7)
        y = box["y"] + box["height"] * rng.uniform(0.3, 0.7)
        done = len(results(page))
        set_mode(page, "hover")
        page.mouse.move(x, y)
        page.wait_for_function(_WAIT_RESULTS_JS, arg=done + 1, timeout=10_000)
        set_mode(page, None)
        result = results(page)[-1]
        if result["changed"]:
            kept.append(result)
    return kept[3:], moves


def drag(page, x: float, y: float, repeats: int, mode: str, timeout_ms: int = 10_000) -> list[dict]:
    """Press at ``(x, y)`` and move 5 px at a time (20 moves one way, then back), one result
    of the probe's ``mode`` per move; the first 3 are a warm-up and dropped."""
    page.mouse.move(x, y)
    page.mouse.down()
    out = []
    for index in range(repeats + 3):
        done = len(results(page))
        set_mode(page, mode)
        x += 5 if (index // 20) % 2 == 0 else -5
        page.mouse.move(x, y)
        page.wait_for_function(_WAIT_RESULTS_JS, arg=done + 1, timeout=timeout_ms, polling=100)
        set_mode(page, None)
        out.append(results(page)[-1])
    page.mouse.up()
    return out[3:]


def measure_rotate(page, view, repeats: int) -> list[dict]:
    execute_in_kernel(page, "view.dims = 3")
    expect(view).to_have_attribute("data-dims", "3")
    box = plot_box(view)
    # A corner: no fixed point to grab (a click there would open a spectrum).
    return drag(page, box["x"] + 30, box["y"] + 30, repeats, "rotate")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="hover moves and rotate frames")
    parser.add_argument("--paints", type=int, default=8, help="first paints")
    parser.add_argument("--states", type=int, default=50_000)
    parser.add_argument("--sequences", type=int, default=50)
    parser.add_argument("--fixed", type=int, default=1000)
    parser.add_argument("--screenshot", default=None, help="save the view as this PNG")
    args = parser.parse_args()

    report(run_in_lab(write_bench_notebook, run, args), args)


def run(browser, server: Server, args: argparse.Namespace) -> dict:
    expect.set_options(timeout=180_000)
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(180_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    started = time.perf_counter()
    open_notebook(page, server, NOTEBOOK)
    run_all_cells(page)
    n_points = (args.states // args.sequences) * args.sequences
    views = page.locator(".rnnw-state-space-view")
    expect(views).to_have_count(2)
    expect(views.first).to_have_attribute("data-n-points", str(n_points))
    expect(views.first).to_have_attribute("data-n-fixed", str(args.fixed))
    print(f"notebook ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    kernel = json.loads(execute_in_kernel(page, "print(json.dumps([built, payload_bytes]))"))
    page.evaluate(_PROBE_JS, n_points)
    figures = {
        "paint": measure_first_paint(page, args.paints),
        "baseline": page.evaluate(_BASELINE_JS, args.repeats),
        "built": kernel[0],
        "payload_bytes": kernel[1],
        "errors": errors,
    }
    view = views.first
    figures["hover"], figures["hover_moves"] = measure_hover(page, view, args.repeats)
    figures["rotate"] = measure_rotate(page, view, args.repeats)
    if args.screenshot:
        view.screenshot(path=args.screenshot)
    context.close()
    return figures


def stats(values: list[float]) -> tuple[float, float]:
    return statistics.median(values), float(np.percentile(values, 95))


def print_timings(rows: list[tuple[str, list[dict], str]], reference: float, unit: str) -> None:
    """A markdown table of ``(what, results, key)`` rows: ``result[key] - result["t"]`` in ms."""
    print(f"| what | n | median ms | p95 ms | ratio to {unit} |")
    print("| --- | --- | --- | --- | --- |")
    for name, values, key in rows:
        if not values:
            print(f"| {name} | 0 | - | - | - |")
            continue
        median, p95 = stats([r[key] - r["t"] for r in values])
        print(f"| {name} | {len(values)} | {median:.1f} | {p95:.1f} | {median / reference:.2f} |")


def report(figures: dict, args: argparse.Namespace) -> None:
    n_points = (args.states // args.sequences) * args.sequences
    frame = statistics.median(figures["baseline"]["frames"])
    print(
        f"{n_points:,} visited states (64 cells, {args.sequences} sequences, 4 drawn as "
        f"trajectories), {args.fixed:,} fixed points with eigenvector segments, an 11 x 11 grid "
        f"portrait of 31 steps; headless Chromium {CHROMIUM}, JupyterLab on 127.0.0.1"
    )
    print()
    rows = [
        ("first paint: Ctrl+Enter on display(view) to the first draw", figures["paint"], "drawn"),
        ("first paint: Ctrl+Enter on display(view) to painted view", figures["paint"], "painted"),
        ("hover: pointermove to the end of the view's handler", figures["hover"], "handled"),
        ("hover: pointermove to painted frame", figures["hover"], "painted"),
        ("rotate (3-D): pointermove to the end of the redraw", figures["rotate"], "drawn"),
        ("rotate (3-D): pointermove to painted redraw", figures["rotate"], "painted"),
    ]
    print_timings(rows, frame, "one frame")
    for name, key in [("one requestAnimationFrame", "frames"), ("empty execute", "trips")]:
        median, p95 = stats(figures["baseline"][key])
        n = len(figures["baseline"][key])
        print(f"| baseline: {name} | {n} | {median:.1f} | {p95:.1f} | {median / frame:.2f} |")
    print()
    built = statistics.median(figures["built"])
    print(
        f"Kernel: building the view (PCA, projections, eigenvectors of {args.fixed:,} "
        f"Jacobians, the portrait) median {1000 * built:.0f} ms of 3; the buffers sent "
        f"{figures['payload_bytes'] / 1e6:.2f} MB in all. Hover: {len(figures['hover'])} moves "
        f"that changed the marked step (+3 warm-up) of {figures['hover_moves']}."
    )
    if figures["errors"]:
        print("\npage errors:\n  " + "\n  ".join(figures["errors"][:10]), file=sys.stderr)


if __name__ == "__main__":
    main()
