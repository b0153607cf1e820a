"""How fast the kernel answers a scroll of the SelectView on a large trace.

A scroll gesture sets ``window_start``; the kernel clamps it, slices the window of the chosen
layer and kind, packs it as float32 buffers and sends it. This measures that whole answer
(``SelectView`` handling a front-end update, serialisation included) on a trace of
``--steps`` steps and ``--cells`` cells, and, as a same-process baseline, a bare numpy copy of
the same window (the least any implementation must do).

Prints the median of ``--repeats`` runs, in milliseconds, and the ratio to the baseline.
Usage: python benchmarks/select_view_scroll.py [--steps 1000000] [--cells 256]
"""

from __future__ import annotations

import argparse

import numpy as np
from _timing import median_ms

import rnn_widgets as rw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--cells", type=int, default=256)
    parser.add_argument("--window", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    lengths = rng.integers(20, 400, size=args.steps // 100)
    lengths = lengths[np.cumsum(lengths) <= args.steps]
    n_steps = int(lengths.sum())
    states = rng.standard_normal((n_steps, args.cells), dtype=np.float32)
    tokens = [f"w{i % 997}" for i in range(n_steps)]
    trace = rw.Trace.from_arrays(tokens, {"h": states}, lengths=lengths.tolist())
    del states
    view = rw.SelectView(trace, window_size=args.window)
    starts = rng.integers(0, n_steps - args.window, size=args.repeats)
    view.comm.publish_msg = lambda *a, **k: None  # no front end attached: drop the message

    def scroll(index: int) -> None:
        view.comm.handle_msg(
            {
                "content": {
                    "data": {
                        "method": "update",
                        "state": {"window_start": int(starts[index])},
                        "buffer_paths": [],
                    }
                },
                "buffers": [],
            }
        )
        view.send_state("_window")  # serialise and hand the buffers to the comm, as in Jupyter

    source = trace.states()

    def baseline(index: int) -> None:
        start = int(starts[index])
        np.array(source[start : start + args.window], copy=True)

    scroll(0)  # warm caches (value range)
    scroll_ms = median_ms(scroll, args.repeats)
    baseline_ms = median_ms(baseline, args.repeats)
    print(
        f"trace: {n_steps:,} steps x {args.cells} cells in {trace.n_sequences:,} sequences; "
        f"window {args.window}; median of {args.repeats}"
    )
    print("| what | median ms | ratio to baseline |")
    print("| --- | --- | --- |")
    print(
        f"| SelectView answers a scroll (slice, pack, send) | {scroll_ms:.3f} | "
        f"{scroll_ms / baseline_ms:.1f} |"
    )
    print(f"| baseline: numpy copy of the window | {baseline_ms:.4f} | 1.0 |")


if __name__ == "__main__":
    main()
