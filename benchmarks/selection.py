"""LSTMVis's match over a million steps: exact, with and without a fresh threshold.

Builds a trace of ``--steps`` x ``--cells`` float32 states in ``--sequences`` documents (2 GB
at the default 1,000,000 x 512 in 100 documents), saves it and opens it with ``Trace.load``
(memory-mapped), then times, as medians of ``--repeats`` runs:

* ``match`` for a fresh random selection of 10 cells at each repetition (no result can be
  cached), with a threshold already used (its packed on/off bits are cached);
* the same with a new threshold at each repetition (one pass over the 2 GB of states);
* and, on a 20,000-step subsample, ``match`` against the obviously-correct reference of the
  tests (``tests/_selection_reference.py``), whose ratio is printed beside it.

States are smoothed noise (an AR(1) process per cell through tanh), so cells switch on and
off in runs of a few to a few dozen steps, like an LSTM's. Prints a markdown table.
Usage: python benchmarks/selection.py [--steps 1000000] [--cells 512] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
from pathlib import Path

import numpy as np
from _timing import median_ms
from scipy.signal import lfilter

from rnn_widgets import Trace
from rnn_widgets.analysis import match

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests._selection_reference import reference_match


def smoothed_states(n_steps: int, n_cells: int, seed: int) -> np.ndarray:
    """tanh of an AR(1) process per cell (coefficient 0.9), float32 (n_steps, n_cells)."""
    rng = np.random.default_rng(seed)
    states = np.empty((n_steps, n_cells), dtype=np.float32)
    for first in range(0, n_cells, 64):
        noise = rng.standard_normal((n_steps, min(64, n_cells - first)), dtype=np.float32)
        walk = lfilter([0.44], [1.0, -0.9], noise, axis=0)
        states[:, first : first + walk.shape[1]] = np.tanh(walk)
    return states


def _trace(states: np.ndarray, n_sequences: int) -> Trace:
    n_steps = len(states)
    cuts = np.linspace(0, n_steps, n_sequences + 1).astype(int).tolist()
    tokens = [[f"w{i % 1000}" for i in range(a, b)] for a, b in itertools.pairwise(cuts)]
    return Trace.from_arrays(tokens, {"h": states})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--cells", type=int, default=512)
    parser.add_argument("--sequences", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--dir", default=None, help="where to write the 2 GB trace")
    args = parser.parse_args()

    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory(dir=args.dir) as directory:
        path = Path(directory) / "trace.h5"
        _trace(smoothed_states(args.steps, args.cells, seed=0), args.sequences).save(path)
        trace = Trace.load(path)

        def selection() -> list[int]:
            return rng.choice(args.cells, 10, replace=False).tolist()

        match(trace, selection(), 0.3)  # pack the bits of threshold 0.3 once
        cached = median_ms(lambda _: match(trace, selection(), 0.3), args.repeats)
        thresholds = iter(np.linspace(0.2, 0.5, args.repeats + 1)[1:].tolist())
        fresh = median_ms(lambda _: match(trace, selection(), next(thresholds)), args.repeats)
        result = match(trace, selection(), 0.3)

        sample_steps = 20_000
        sample = _trace(np.array(trace.states()[:sample_steps]), 2)
        bounds = np.asarray(sample.sequence_bounds)
        states = sample.states()
        queries = [selection() for _ in range(args.repeats)]
        match(sample, queries[0], 0.3)
        fast = median_ms(lambda i: match(sample, queries[i], 0.3), args.repeats)
        slow = median_ms(
            lambda i: reference_match(states, bounds, queries[i], 0.3, 1, 0, 50, 1, 1, 3),
            min(3, args.repeats),
        )

    print(
        f"{args.steps:,} steps x {args.cells} cells in {args.sequences} documents, loaded "
        f"from HDF5 (memory-mapped); selections of 10 random cells, top 50; "
        f"{args.repeats} repeats\n"
    )
    print("| match | median (ms) | target (ms) |")
    print("| --- | --- | --- |")
    print(f"| threshold already used | {cached:.1f} | 200 |")
    print(f"| new threshold | {fresh:.1f} | 1500 |")
    print(
        f"\nLast query: {result.n_candidates:,} candidates, best shares {result[0].shared} "
        f"cells over {result[0].length} steps.\n"
    )
    print(f"| on {sample_steps:,} steps | median (ms) | ratio to the reference |")
    print("| --- | --- | --- |")
    print(f"| `match` (threshold already used) | {fast:.2f} | {fast / slow:.5f} |")
    print(f"| reference (tests/_selection_reference.py) | {slow:.1f} | 1 |")


if __name__ == "__main__":
    main()
