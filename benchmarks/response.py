"""Response characterization of all 512 cells of a layer: batched against one cell at a time.

An LSTM layer of ``--cells`` cells reading one input channel (seeded weights drawn from
N(0, 0.5^2), so the cells span fast and slow, excitatory and inhibitory), stimuli designed
from the sequential digits (one step input and three sinusoids: the data's main frequency
1/8 and 0.05 and 0.2 cycles per step), ``--steps`` steps each. Times, as medians of
``--repeats`` runs, the characterization of every cell at once (one batched simulation and
the vectorised metrics) and the same code (``simulate`` and ``measure`` of
``rnn_widgets.analysis._response``) run on one cell at a time, then checks that both give the
same metrics (within 1e-6; settling times exactly). Prints a markdown table.
Usage: python benchmarks/response.py [--cells 512] [--steps 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from _timing import median_ms
from torch import nn

from rnn_widgets import tasks, wrap
from rnn_widgets.analysis._response import design_stimuli, isolate, measure, simulate


def seeded_lstm(cells: int) -> nn.LSTM:
    """An LSTM(1, cells) with every weight drawn from N(0, 0.5^2), seed 0."""
    torch.manual_seed(0)
    lstm = nn.LSTM(1, cells)
    with torch.no_grad():
        for parameter in lstm.parameters():
            parameter.normal_(0.0, 0.5)
    return lstm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=512)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    model = wrap(seeded_lstm(args.cells))
    design = design_stimuli(model, tasks.digits("train"), steps=args.steps, frequencies=[0.05, 0.2])
    isolated = isolate(model, layer=0)
    results: dict[str, np.ndarray] = {}

    def batched(_: int) -> None:
        results["batched"] = measure(simulate(isolate(model, layer=0), design.stimuli), design)[1]

    def one_at_a_time(_: int) -> None:
        rows = [
            measure(simulate(isolated.subset([cell]), design.stimuli), design)[1][0]
            for cell in range(args.cells)
        ]
        results["single"] = np.stack(rows)

    fast = median_ms(batched, args.repeats)
    slow = median_ms(one_at_a_time, args.repeats)
    names = measure(simulate(isolated.subset([0]), design.stimuli), design)[0]
    a, b = results["batched"], results["single"]
    same_nan = np.array_equal(np.isnan(a), np.isnan(b))
    difference = float(np.nanmax(np.abs(a - b)))
    settling = names.index("settling_time")
    settling_equal = np.array_equal(a[:, settling], b[:, settling])

    print(
        f"LSTM layer of {args.cells} cells, {len(design.stimuli)} stimuli (step; sines at "
        f"{', '.join(f'{f:g}' for f in design.frequencies)} cycles/step) of {args.steps} "
        f"steps; median of {args.repeats} runs\n"
    )
    print("| characterization | median (ms) | ratio |")
    print("| --- | --- | --- |")
    print(f"| all cells at once (batched) | {fast:.1f} | {slow / fast:.0f}x faster |")
    print(f"| one cell at a time, same code | {slow:.1f} | 1 |")
    print(
        f"\n{len(names)} metrics per cell; largest difference {difference:.1e} (target "
        f"1e-6), undefined (NaN) entries identical: {same_nan}, settling times exactly "
        f"equal: {settling_equal}; exactly equal tables: "
        f"{np.array_equal(a, b, equal_nan=True)}"
    )


if __name__ == "__main__":
    main()
