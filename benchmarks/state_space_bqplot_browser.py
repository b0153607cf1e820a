"""bqplot against our canvas StateSpaceView on the same states, in Chromium: first paint, drag.

Issue 7 asks for bqplot where it renders smoothly with 50,000 visited states and 1,000 fixed
points, and a canvas view of our own where it does not. This script measures the bqplot
alternative on the data of ``state_space_view_browser.py`` (the same generated states, fixed
points and trajectories): a ``bqplot.Figure`` with the PCA plane of the visited states as one
``Scatter`` coloured by the label, the 4 trajectories as ``Lines``, the fixed points as a second
``Scatter`` coloured by class and sized by ``-log10 q``, a short segment through each (random
directions: only the drawing is timed) as one multi-line ``Lines`` mark, and a ``PanZoom``
interaction. bqplot 0.13's marks are SVG: one element per point (it has no WebGL scatter).

In one page, with timestamps taken in the page (``performance.now()``):

* first paint: from the Ctrl+Enter that re-runs ``display(fig)`` to the frame after every
  point's element is in the new figure (polled once a frame);
* drag: from a ``pointermove`` with the button down (bqplot: a pan of the plane; our view: a
  3-D rotation, the heavier redraw) to the second ``requestAnimationFrame`` after it, which
  is painted after any redraw the move caused, synchronous or in the next frame's callbacks;
  the same measure for both, and for an idle page as the baseline (the double frame itself).

Prints a markdown table. Usage:
python benchmarks/state_space_bqplot_browser.py [--repeats 20] [--paints 3] [--states 50000]
       [--fixed 1000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from state_space_view_browser import (
    _WAIT_RESULTS_JS,
    SETUP,
    drag,
    print_timings,
    results,
    set_mode,
    stats,
)

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

NOTEBOOK = "state_space_bqplot_bench.ipynb"

FIGURE = """\
import bqplot as bq

centred = states - states.mean(axis=0)
basis = np.linalg.svd(centred[:: max(1, len(centred) // 5000)], full_matrices=False)[2][:2]
xy = centred @ basis.T
fixed_xy = (fp.states - states.mean(axis=0)) @ basis.T
directions = rng.standard_normal((len(fixed_xy), 2))  # only their drawing is timed
directions *= 0.05 * np.ptp(xy) / np.linalg.norm(directions, axis=1, keepdims=True)
x_scale, y_scale = bq.LinearScale(), bq.LinearScale()
scales = {{"x": x_scale, "y": y_scale}}
labels = np.where(states[:, 0] > 0, 1.0, 0.0)
cloud = bq.Scatter(
    x=xy[:, 0], y=xy[:, 1], color=labels, default_size=4, default_opacities=[0.4],
    scales={{**scales, "color": bq.ColorScale(colors=["#2166ac", "#b2182b"])}},
)
trajectories = bq.Lines(
    x=xy[: 4 * LENGTH, 0].reshape(4, LENGTH), y=xy[: 4 * LENGTH, 1].reshape(4, LENGTH),
    scales=scales, stroke_width=1,
)
classes = {{"stable": 0.0, "marginal": 1.0, "saddle": 2.0, "unstable": 3.0}}
fixed = bq.Scatter(
    x=fixed_xy[:, 0], y=fixed_xy[:, 1],
    color=np.array([classes[s] for s in fp.stability]), size=-np.log10(fp.q),
    scales={{
        **scales,
        "color": bq.OrdinalColorScale(colors=["#1a9850", "#fee08b", "#f46d43", "#a50026"]),
        "size": bq.LinearScale(),
    }},
    tooltip=bq.Tooltip(fields=["x", "y"]),
)
segments = bq.Lines(
    x=np.stack([fixed_xy[:, 0] - directions[:, 0], fixed_xy[:, 0] + directions[:, 0]], axis=1),
    y=np.stack([fixed_xy[:, 1] - directions[:, 1], fixed_xy[:, 1] + directions[:, 1]], axis=1),
    scales=scales, stroke_width=1, colors=["#444444"],
)
figure = bq.Figure(
    marks=[cloud, trajectories, segments, fixed],
    axes=[
        bq.Axis(scale=x_scale, label="PC 1"),
        bq.Axis(scale=y_scale, label="PC 2", orientation="vertical"),
    ],
    interaction=bq.interacts.PanZoom(scales={{"x": [x_scale], "y": [y_scale]}}),
    layout={{"width": "900px", "height": "700px"}},
)
"""

_PROBE_JS = """(nDots) => {
  const B = (window.__rnnwBench = { mode: null, pending: null, results: [], seen: new WeakSet() });
  for (const f of document.querySelectorAll(".bqplot.figure")) B.seen.add(f);
  const twoFrames = (p) => requestAnimationFrame(() => requestAnimationFrame(() => {
    p.painted = performance.now();
    B.results.push(p);
  }));
  const poll = (p) => {
    const fresh = [...document.querySelectorAll(".bqplot.figure")].find((f) => !B.seen.has(f));
    if (fresh && fresh.querySelectorAll(".dot").length >= nDots) {
      B.seen.add(fresh);
      p.drawn = performance.now();
      requestAnimationFrame(() => { p.painted = performance.now(); B.results.push(p); });
    } else {
      requestAnimationFrame(() => poll(p));
    }
  };
  window.addEventListener("keydown", (e) => {
    if (B.mode === "paint" && e.key === "Enter") {
      const p = { t: performance.now() };
      requestAnimationFrame(() => poll(p));
    }
  }, { capture: true });
  window.addEventListener("pointermove", (e) => {
    if (B.mode === "drag" && (e.buttons & 1)) twoFrames({ t: performance.now() });
  }, { capture: true });
  B.idle = async (n) => {
    const out = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      out.push(performance.now() - t);
    }
    return out;
  };
}"""


def write_bench_notebook(folder: Path, args: argparse.Namespace) -> None:
    length = args.states // args.sequences
    setup = SETUP.format(sequences=args.sequences, length=length, fixed=args.fixed)
    figure = f"LENGTH = {length}\n" + FIGURE.format()
    write_notebook(folder / NOTEBOOK, [setup, figure, "display(figure)\n"])


def measure_first_paint(page, repeats: int) -> list[dict]:
    cell = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell").nth(2)
    out = []
    for _ in range(repeats):
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Escape")  # command mode: Ctrl+Enter runs the cell in place
        page.wait_for_timeout(500)
        done = len(results(page))
        set_mode(page, "paint")
        page.keyboard.press("Control+Enter")
        page.wait_for_function(_WAIT_RESULTS_JS, arg=done + 1, timeout=600_000, polling=1000)
        set_mode(page, None)
        out.append(results(page)[-1])
    return out


def measure_drag(page, element, repeats: int, corner: bool = False) -> list[dict]:
    """Drag from the element's centre, or from 30 px inside its top-left corner (where our
    view has no fixed point, whose click would open a spectrum)."""
    element.scroll_into_view_if_needed()
    box = element.bounding_box()
    assert box is not None
    if corner:
        x, y = box["x"] + 30, box["y"] + 30
    else:
        x, y = box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5
    return drag(page, x, y, repeats, "drag", timeout_ms=120_000)


def run(browser, server: Server, args: argparse.Namespace) -> dict:
    expect.set_options(timeout=600_000)
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(600_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    open_notebook(page, server, NOTEBOOK)
    started = time.perf_counter()
    run_all_cells(page, timeout=600_000)
    n_dots = (args.states // args.sequences) * args.sequences + args.fixed
    figures = page.locator(".bqplot.figure")
    expect(figures).to_have_count(1)
    page.wait_for_function(
        "(n) => document.querySelectorAll('.bqplot.figure .dot').length >= n",
        arg=n_dots,
        timeout=600_000,
        polling=1000,
    )
    print(f"notebook ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    page.evaluate(_PROBE_JS, n_dots)
    out = {"idle": page.evaluate("(n) => window.__rnnwBench.idle(n)", args.repeats)}
    out["bqplot_drag"] = measure_drag(page, figures.first.locator("svg").first, args.repeats)
    moved = execute_in_kernel(page, "print(json.dumps([x_scale.min, x_scale.max]))")
    out["panned"] = json.loads(moved)
    view = page.locator(".rnnw-state-space-view").first
    execute_in_kernel(page, "view.dims = 3")
    expect(view).to_have_attribute("data-dims", "3")
    canvas = view.locator("canvas.rnnw-ssv-overlay")
    out["ours_drag"] = measure_drag(page, canvas, args.repeats, corner=True)
    out["paint"] = measure_first_paint(page, args.paints)
    out["errors"] = errors
    context.close()
    return out


def report(figures: dict, args: argparse.Namespace) -> None:
    n_points = (args.states // args.sequences) * args.sequences
    idle = statistics.median(figures["idle"])
    print(
        f"{n_points:,} visited states and {args.fixed:,} fixed points with segments "
        f"(the data of state_space_view_browser.py); headless Chromium {CHROMIUM}, JupyterLab "
        f"on 127.0.0.1; the pan moved the x scale to {figures['panned']}"
    )
    print()
    rows = [
        ("bqplot first paint: Ctrl+Enter to every dot in the DOM", figures["paint"], "drawn"),
        ("bqplot first paint: Ctrl+Enter to the painted frame", figures["paint"], "painted"),
        ("bqplot pan: pointermove to the second frame", figures["bqplot_drag"], "painted"),
        ("ours, 3-D rotation: pointermove to the second frame", figures["ours_drag"], "painted"),
    ]
    print_timings(rows, idle, "an idle double frame")
    median, p95 = stats(figures["idle"])
    n = len(figures["idle"])
    print(f"| baseline: idle double frame | {n} | {median:.1f} | {p95:.1f} | 1.00 |")
    if figures["errors"]:
        print("\npage errors:\n  " + "\n  ".join(figures["errors"][:10]), file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="drag moves and idle frames")
    parser.add_argument("--paints", type=int, default=3, help="first paints")
    parser.add_argument("--states", type=int, default=50_000)
    parser.add_argument("--sequences", type=int, default=50)
    parser.add_argument("--fixed", type=int, default=1000)
    args = parser.parse_args()
    report(run_in_lab(write_bench_notebook, run, args), args)


if __name__ == "__main__":
    main()
