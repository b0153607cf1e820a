"""The first `match` on a trace whose states stay in a Zarr store: one pass, or two.

A NaN reads as "off", so `match` must not pack the on-bits of a damaged store. It used to run
``trace.check_finite`` first (a pass over the store, cached per trace), then pack the bits (a
second pass). Now the packing pass checks the values it reads (each block's min and max).
Baseline, in the same process: ``check_finite`` then ``match`` on a fresh trace, which is
the old order of work. Each round opens the store afresh (no cached check, no cached bits)
and uses a threshold not used before, just above the middle of the states' stored range.
Reports the medians and their ratio.

Usage (a store written by ``benchmarks/scale_analyses.py``, or any lazy trace):
    python benchmarks/first_match_store.py --store /work/scale_bench/run.zarr [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--cells", type=int, default=8, help="the selection: cells 0 .. N-1")
    args = parser.parse_args()

    import rnn_widgets as rw
    from rnn_widgets.analysis import match

    cells = np.arange(args.cells)
    low, high = rw.Trace.load(args.store, states_budget=0).value_range()  # the stored hint
    # Thresholds inside the values, each new (so nothing is cached), whatever the network.
    thresholds = low + (high - low) * (0.5 + 0.001 * np.arange(1, 2 * args.rounds + 1))
    separate, fused = [], []
    for round_ in range(args.rounds):
        trace = rw.Trace.load(args.store, states_budget=0)
        start = time.perf_counter()
        trace.check_finite()
        match(trace, cells, float(thresholds[2 * round_]), top=50)
        separate.append(time.perf_counter() - start)
        trace = rw.Trace.load(args.store, states_budget=0)
        start = time.perf_counter()
        match(trace, cells, float(thresholds[2 * round_ + 1]), top=50)
        fused.append(time.perf_counter() - start)
    result = {
        "steps": int(trace.n_steps),
        "rounds": args.rounds,
        "check_then_match_s": statistics.median(separate),
        "match_alone_s": statistics.median(fused),
    }
    result["ratio"] = result["check_then_match_s"] / result["match_alone_s"]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
