"""SelectView in real Chromium against a real JupyterLab: drag, brush and scroll costs.

Starts JupyterLab on 127.0.0.1 over a temp folder holding one notebook, which builds a trace
of ``--steps`` x ``--cells`` float32 states (smoothed noise: tanh of an AR(1) process per cell,
``--sequences`` documents) and shows ``SelectView(trace, window_size=--window)``. Debian's
headless Chromium (Playwright, the flags of ``tests/browser/conftest.py``) opens the notebook,
runs it, and then measures, with timestamps taken in the page (``performance.now()``):

* threshold drag: from a ``pointermove`` on the threshold handle with the button down (a
  capturing listener on the window, before the view's own) to the ``requestAnimationFrame``
  after the redraw that shows the new threshold (the frame after the drawn one has been
  painted), over ``--repeats`` single-step ``page.mouse.move`` calls;
* token brush: from the ``pointerup`` that ends a brush across the token axis to the
  ``requestAnimationFrame`` after the first redraw that shows the kernel's ``selection.cells``
  (the browser's preview dropped, ``data-preview`` empty), kernel round trip included; the
  range changes at each repetition and a brush counts only if the kernel's cells changed and
  equal the drawn ``data-highlighted``;
* one-window scroll (PageDown on the focused view): the bytes the kernel's comm sends for it
  (the JSON of each message plus its binary buffers, counted by wrapping ``view.comm.send``
  in the kernel) and the bytes of every websocket frame the browser receives on the kernel
  channel meanwhile, against the whole trace's and the window's float32 states.

Prints markdown tables. Usage:
python benchmarks/select_view_browser.py [--repeats 30] [--steps 20000] [--cells 512]
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

NOTEBOOK = "select_view_bench.ipynb"

SETUP = """\
import json

import numpy as np
from scipy.signal import lfilter

import rnn_widgets as rw

N_STEPS, N_CELLS, N_SEQUENCES, WINDOW = {steps}, {cells}, {sequences}, {window}
rng = np.random.default_rng(0)
states = np.empty((N_STEPS, N_CELLS), dtype=np.float32)
for first in range(0, N_CELLS, 64):
    noise = rng.standard_normal((N_STEPS, min(64, N_CELLS - first)), dtype=np.float32)
    states[:, first : first + noise.shape[1]] = np.tanh(lfilter([0.44], [1.0, -0.9], noise, axis=0))
cuts = np.linspace(0, N_STEPS, N_SEQUENCES + 1).astype(int)
tokens = [[f"w{{i % 1000}}" for i in range(a, b)] for a, b in zip(cuts[:-1], cuts[1:])]
trace = rw.Trace.from_arrays(tokens, {{"h": states}})
view = rw.SelectView(trace, window_size=WINDOW, height=300)
sel = view.selection
sel.update({{"threshold": 0.3, "pad_before": 1, "pad_after": 0}})
cell_changes = [0]
sel.observe(lambda _: cell_changes.__setitem__(0, cell_changes[0] + 1), names=["cells"])

sent = []  # (JSON bytes, buffer bytes) of each message the view's comm sends
_comm_send = view.comm.send


def counting_send(data=None, metadata=None, buffers=None, **kwargs):
    text = json.dumps(data, separators=(",", ":"), default=str)
    sent.append((len(text.encode()), sum(memoryview(b).nbytes for b in buffers or ())))
    return _comm_send(data=data, metadata=metadata, buffers=buffers, **kwargs)


view.comm.send = counting_send
display(view)
"""

# Probes in the page: an input event opens a pending record (capturing listeners on the window
# run before the view's own), the first redraw that shows its effect closes it, and the
# requestAnimationFrame after that redraw stamps the painted time.
_PROBE_JS = """(root) => {
  const B = (window.__rnnwBench = { mode: null, pending: null, results: [] });
  const open = (e, extra) => {
    B.pending = { t: performance.now(), ts: e.timeStamp, rc: root.dataset.renderCount, ...extra };
  };
  window.addEventListener("pointermove", (e) => {
    if (B.mode === "drag" && (e.buttons & 1) && !B.pending) {
      open(e, { threshold: root.dataset.threshold });
    }
  }, { capture: true });
  window.addEventListener("pointerup", (e) => {
    if (B.mode === "brush") open(e, {});
  }, { capture: true });
  window.addEventListener("keydown", (e) => {
    if (B.mode === "scroll") open(e, { start: root.dataset.windowStart });
  }, { capture: true });
  new MutationObserver(() => {
    const p = B.pending;
    if (!p || root.dataset.renderCount === p.rc) return;
    const shown = B.mode === "drag" ? root.dataset.threshold !== p.threshold
      : B.mode === "brush" ? root.dataset.preview === ""
      : root.dataset.windowStart !== p.start;
    if (!shown) return;
    B.pending = null;
    Object.assign(p, {
      drawn: performance.now(),
      highlighted: root.dataset.highlighted,
      windowStart: root.dataset.windowStart,
    });
    requestAnimationFrame(() => { p.painted = performance.now(); B.results.push(p); });
  }).observe(root, { attributes: true, attributeFilter: [
    "data-render-count", "data-threshold", "data-preview", "data-highlighted", "data-window-start",
  ] });
}"""

# Baseline: the round trip of an empty execute request, page -> kernel -> page.
_ROUND_TRIP_JS = """async (n) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const out = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await kernel.requestExecute({ code: "", silent: true, store_history: false }).done;
    out.push(performance.now() - t);
  }
  return out;
}"""

_WAIT_RESULTS_JS = "(n) => window.__rnnwBench.results.length >= n"
_NEXT_FRAME_JS = "() => new Promise((resolve) => requestAnimationFrame(() => resolve()))"


def write_bench_notebook(folder: Path, args: argparse.Namespace) -> None:
    source = SETUP.format(
        steps=args.steps, cells=args.cells, sequences=args.sequences, window=args.window
    )
    write_notebook(folder / NOTEBOOK, [source])


def new_results(page, count: int, timeout_ms: int = 10_000) -> list[dict]:
    page.wait_for_function(_WAIT_RESULTS_JS, arg=count, timeout=timeout_ms)
    return page.evaluate("() => window.__rnnwBench.results")


def set_mode(page, mode: str | None) -> None:
    page.evaluate("(m) => Object.assign(window.__rnnwBench, { mode: m, pending: null })", mode)


def measure_drag(page, view, moves: int, warmup: int) -> list[dict]:
    handle = view.locator(".rnnw-threshold-handle")
    box = handle.bounding_box()
    assert box is not None, "no threshold handle"
    x, y0 = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y0)
    page.mouse.down()
    page.evaluate(_NEXT_FRAME_JS)
    set_mode(page, "drag")
    done = len(page.evaluate("() => window.__rnnwBench.results"))
    y = y0
    direction = -1
    for _ in range(warmup + moves):
        if abs(y - y0) >= 60:  # zig-zag 60 px around the start: the threshold stays in range
            direction = -direction
        y += 4 * direction
        page.mouse.move(x, y)
        done += 1
        results = new_results(page, done)
    page.mouse.up()
    set_mode(page, None)
    page.wait_for_timeout(500)  # the release saves the threshold; let the kernel answer
    return results[-moves:]


def token_centres(page, view) -> tuple[list[float], float]:
    rects = view.locator(".rnnw-token").evaluate_all(
        "(els) => els.map((e) => { const r = e.getBoundingClientRect();"
        " return [r.x + r.width / 2, r.y + r.height / 2]; })"
    )
    return [r[0] for r in rects], rects[0][1]


def measure_brush(page, view, brushes: int, warmup: int, n_columns: int) -> list[dict]:
    xs, y = token_centres(page, view)
    rng = np.random.default_rng(2)
    page.mouse.move(xs[0], y)
    page.wait_for_timeout(300)  # hover left the canvas; its throttled save is done
    kept: list[dict] = []
    done = len(page.evaluate("() => window.__rnnwBench.results"))
    changes = int(execute_in_kernel(page, "print(cell_changes[0])"))
    attempts = 0
    while len(kept) < warmup + brushes and attempts < 3 * (warmup + brushes):
        attempts += 1
        length = int(rng.integers(2, 7))
        first = int(rng.integers(2, n_columns - length - 2))
        last = first + length - 1
        page.mouse.move(xs[first], y)
        page.mouse.down()
        page.mouse.move(xs[last], y, steps=3)
        page.evaluate(_NEXT_FRAME_JS)
        set_mode(page, "brush")
        page.mouse.up()
        done += 1
        result = new_results(page, done)[-1]
        set_mode(page, None)
        now, cells = execute_in_kernel(
            page, "print(cell_changes[0], ','.join(map(str, sel.cells)))"
        )[:-1].split(" ", 1)
        # Unchanged cells send nothing: the preview then stays 1.5 s; such a brush is skipped.
        if int(now) > changes and result["highlighted"] == cells:
            kept.append({**result, "cells": cells, "range": (first, last + 1)})
        changes = int(now)
    if len(kept) < warmup + brushes:
        print(f"warning: only {len(kept) - warmup} valid brushes of {brushes}", file=sys.stderr)
    for result in kept:
        result["attempts"] = attempts
    return kept[warmup:]


def measure_scroll(page, view, scrolls: int, warmup: int, ws_bytes: list[int]) -> list[dict]:
    out = []
    done = len(page.evaluate("() => window.__rnnwBench.results"))
    for index in range(warmup + scrolls):
        execute_in_kernel(page, "sent.clear()")
        view.focus()
        page.wait_for_timeout(300)  # quiet: the websocket count starts from nothing in flight
        before = ws_bytes[0]
        set_mode(page, "scroll")
        page.keyboard.press("PageDown")
        done += 1
        result = new_results(page, done)[-1]
        set_mode(page, None)
        page.wait_for_timeout(500)  # the status messages that close the request
        received = ws_bytes[0] - before
        sent = json.loads(execute_in_kernel(page, "print(json.dumps(sent))"))
        if index >= warmup:
            out.append({**result, "ws": received, "sent": sent})
    return out


def stats(values: list[float]) -> tuple[float, float]:
    return statistics.median(values), float(np.percentile(values, 95))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="drag moves and brushes")
    parser.add_argument("--scrolls", type=int, default=10)
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--cells", type=int, default=512)
    parser.add_argument("--sequences", type=int, default=20)
    parser.add_argument("--window", type=int, default=200)
    args = parser.parse_args()

    report(run_in_lab(write_bench_notebook, run, args), args)


def run(browser, server: Server, args: argparse.Namespace) -> dict:
    expect.set_options(timeout=120_000)
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(120_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    ws_bytes = [0]

    def on_frame(payload: str | bytes) -> None:
        ws_bytes[0] += len(payload) if isinstance(payload, bytes) else len(payload.encode())

    def on_websocket(ws) -> None:
        if "/api/kernels/" in ws.url:
            ws.on("framereceived", on_frame)

    page.on("websocket", on_websocket)
    started = time.perf_counter()
    open_notebook(page, server, NOTEBOOK)
    run_all_cells(page)
    view = page.locator(".rnnw-select-view").first
    expect(view).to_have_attribute("data-n-cells", str(args.cells))
    expect(view.locator(".rnnw-token")).to_have_count(args.window)
    view.scroll_into_view_if_needed()
    print(f"notebook ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    page.evaluate(_PROBE_JS, view.element_handle())
    figures = {
        "drag": measure_drag(page, view, args.repeats, warmup=5),
        "brush": measure_brush(page, view, args.repeats, warmup=3, n_columns=args.window),
        "scroll": measure_scroll(page, view, args.scrolls, warmup=2, ws_bytes=ws_bytes),
        "round_trip": page.evaluate(_ROUND_TRIP_JS, args.repeats + 3)[3:],
        "errors": errors,
    }
    context.close()
    return figures


def report(figures: dict, args: argparse.Namespace) -> None:
    full = args.steps * args.cells * 4
    window = args.window * args.cells * 4
    print(
        f"trace: {args.steps:,} steps x {args.cells} cells in {args.sequences} sequences; "
        f"window {args.window} steps; headless Chromium {CHROMIUM}, JupyterLab on 127.0.0.1"
    )
    print()
    print("| what | n | median ms | p95 ms | median ms from event.timeStamp | target median ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    rows = [
        ("threshold drag: pointermove to painted frame", figures["drag"], "< 50"),
        ("brush release to painted kernel selection", figures["brush"], "< 150"),
        ("PageDown scroll to painted new window", figures["scroll"], "-"),
    ]
    for name, results, target in rows:
        if not results:
            print(f"| {name} | 0 | - | - | - | {target} |")
            continue
        median, p95 = stats([r["painted"] - r["t"] for r in results])
        from_stamp = statistics.median([r["painted"] - r["ts"] for r in results])
        print(
            f"| {name} | {len(results)} | {median:.1f} | {p95:.1f} | {from_stamp:.1f} | {target} |"
        )
    median, p95 = stats(figures["round_trip"])
    n = len(figures["round_trip"])
    print(
        f"| baseline: empty execute request, page -> kernel -> page | {n} | {median:.1f} | "
        f"{p95:.1f} | - | - |"
    )
    print()
    for name in ("drag", "brush", "scroll"):
        if figures[name]:
            drawn = statistics.median([r["drawn"] - r["t"] for r in figures[name]])
            print(f"({name}: event to the end of the redraw that shows it, median {drawn:.1f} ms)")
    if figures["brush"]:
        n_cells = [len(r["cells"].split(",")) if r["cells"] else 0 for r in figures["brush"]]
        print(
            f"(brush: {min(n_cells)}-{max(n_cells)} cells selected per range; "
            f"{len(figures['brush'])} kept + 3 warm-up of {figures['brush'][0]['attempts']} "
            "brushes, the others left the kernel's cells unchanged)"
        )

    scrolls = figures["scroll"]
    if scrolls:
        comm = [sum(j + b for j, b in r["sent"]) for r in scrolls]
        buffers = [sum(b for _, b in r["sent"]) for r in scrolls]
        messages = [len(r["sent"]) for r in scrolls]
        ws = [r["ws"] for r in scrolls]
        print()
        print(f"One-window scroll (PageDown, {args.window} steps), median of {len(scrolls)}:")
        print()
        print("| bytes per scroll | bytes | ratio to the window | ratio to the trace |")
        print("| --- | --- | --- | --- |")
        for name, value in [
            (
                f"kernel comm: {statistics.median(messages):.0f} message(s), JSON + buffers",
                statistics.median(comm),
            ),
            ("  of which binary buffers", statistics.median(buffers)),
            ("browser: websocket frames received (kernel channel)", statistics.median(ws)),
            (f"visible window, float32 ({args.window} x {args.cells} x 4)", window),
            (f"whole trace, float32 ({args.steps:,} x {args.cells} x 4)", full),
        ]:
            print(f"| {name} | {value:,.0f} | {value / window:.3f} | {value / full:.5f} |")
    if figures["errors"]:
        print("\npage errors:\n  " + "\n  ".join(figures["errors"][:10]), file=sys.stderr)


if __name__ == "__main__":
    main()
