"""Opening a large saved trace, and reading a window of it.

Saves a trace of ``--steps`` x ``--cells`` float32 states (layer 0, kind "h"; 2 GB at the
default 1,000,000 x 512) once, then measures, as medians of repeated runs:

* ``Trace.load``: opening the file, with the file's pages dropped from the OS cache first (cold)
  and again with them cached (warm). Opening checks the whole layout (``trace/_layout.py``):
  metadata, token offsets and bytes, sequence starts; the states are memory-mapped, not read;
* reading a ``--window``-step window of states and tokens at random positions, with the
  file's pages dropped from the OS cache first (``posix_fadvise``), i.e. from disk;

and the same two for a same-process baseline: ``np.load(mmap_mode="r")`` of the states as a
plain ``.npy`` file. Prints a markdown table.
Usage: python benchmarks/trace_load.py [--steps 1000000] [--cells 512] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from _timing import median_ms

from rnn_widgets import Trace


def _drop_cache(path: Path) -> None:
    with open(path, "rb") as file:
        os.posix_fadvise(file.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--cells", type=int, default=512)
    parser.add_argument("--window", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--dir", default=None, help="where to write the 2 GB test files")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        trace_path, npy_path = Path(folder) / "trace.h5", Path(folder) / "states.npy"
        states = rng.standard_normal((args.steps, args.cells), dtype=np.float32)
        lengths = np.full(args.steps // 500, 500)
        tokens = [f"w{i % 5000}" for i in range(args.steps)]
        start = time.perf_counter()
        Trace.from_owned_arrays(tokens, lengths, {(0, "h"): states}).save(trace_path)
        save_s = time.perf_counter() - start
        np.save(npy_path, states)
        del states, tokens
        positions = rng.integers(0, args.steps - args.window, size=args.repeats)

        def open_trace(_: int) -> None:
            _drop_cache(trace_path)
            Trace.load(trace_path)

        def open_npy(_: int) -> None:
            _drop_cache(npy_path)
            np.load(npy_path, mmap_mode="r")

        def open_trace_warm(_: int) -> None:
            Trace.load(trace_path)

        def open_npy_warm(_: int) -> None:
            np.load(npy_path, mmap_mode="r")

        trace = Trace.load(trace_path)
        npy = np.load(npy_path, mmap_mode="r")

        def window_trace(index: int) -> None:
            _drop_cache(trace_path)
            begin = int(positions[index])
            np.array(trace.states()[begin : begin + args.window])
            trace.tokens[begin : begin + args.window]

        def window_npy(index: int) -> None:
            _drop_cache(npy_path)
            begin = int(positions[index])
            np.array(npy[begin : begin + args.window])

        results = {
            "open, cold": (median_ms(open_trace, args.repeats), median_ms(open_npy, args.repeats)),
            "open, warm": (
                median_ms(open_trace_warm, args.repeats),
                median_ms(open_npy_warm, args.repeats),
            ),
            f"read a {args.window}-step window (states + tokens), cold": (
                median_ms(window_trace, args.repeats),
                median_ms(window_npy, args.repeats),
            ),
        }
        size_gb = trace_path.stat().st_size / 1e9
    print(
        f"trace: {args.steps:,} steps x {args.cells} cells, {size_gb:.2f} GB on disk; "
        f"saved in {save_s:.1f} s; median of {args.repeats}"
    )
    print("| what | Trace (ms) | baseline np.load mmap (ms) | ratio |")
    print("| --- | --- | --- | --- |")
    for what, (ours, baseline) in results.items():
        print(f"| {what} | {ours:.2f} | {baseline:.2f} | {ours / baseline:.1f} |")


if __name__ == "__main__":
    main()
