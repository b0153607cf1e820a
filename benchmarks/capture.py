"""How much capture costs over the model's bare forward pass, in time and in memory.

An ``nn.LSTM`` (``--layers`` layers of ``--hidden`` units, ``--input-size`` inputs, random
weights, eval mode) reads ``--sequences`` sequences of ``--steps`` random input vectors.
Timed in one process, ``--repeats`` rounds of the three passes interleaved; medians of the
times and of the per-round ratios:

* the baseline: the module's own forward pass over the whole batch (one call, no_grad);
* ``capture`` recording every layer's h only;
* ``capture`` recording every layer's h, c and gates i f g o.

``--touch`` also times zero-filling new float32 arrays of the trace's size, once right after
freeing as much memory and once after a 20 s pause: a virtual machine that hands freed memory
back to its host pays the first touch again, and capture must write all of its arrays. Both
numpy's own allocation (which asks for transparent huge pages) and capture's (ordinary pages)
are timed.

``--pairs`` times instead rounds of (bare forward, capture everything) back to back: each
capture then lands on memory its predecessor freed seconds before, which the virtual
machine has not yet taken back; the difference to the interleaved rounds is the price of
fresh memory on this machine, not of capture's work.

Memory: a fresh subprocess builds the same inputs and captures h, c and gates once; its peak
resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) is compared with the size
of the float32 arrays the trace holds.

Prints a markdown table. Usage:
    python benchmarks/capture.py [--sequences 100] [--steps 2000] [--hidden 512] [--layers 2]
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

import rnn_widgets.models as rm
from rnn_widgets.models._capture import _small_page_array


def _inputs(args: argparse.Namespace) -> tuple[torch.nn.LSTM, torch.Tensor]:
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(args.input_size, args.hidden, num_layers=args.layers).eval()
    inputs = torch.randn(args.sequences, args.steps, args.input_size)  # (batch, steps, input)
    return lstm, inputs


def _timed_s(function) -> float:
    gc.collect()
    start = time.perf_counter()
    result = function()
    elapsed = time.perf_counter() - start
    del result
    return elapsed


def _resident_bytes() -> int:
    """The current resident memory (VmRSS) of this process."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _child(args: argparse.Namespace) -> None:
    lstm, inputs = _inputs(args)
    before = _resident_bytes()
    trace = rm.capture(lstm, inputs, batch_size=args.batch_size, progress=False)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    array_bytes = sum(
        trace.states(layer=layer, kind=kind).nbytes
        for layer in trace.layers
        for kind in trace.kinds(layer=layer)
    )
    print(json.dumps({"before": before, "peak": peak_kib * 1024, "arrays": array_bytes}))


def _memory(args: argparse.Namespace) -> dict[str, int]:
    # Run before this process grows: Linux carries a parent's peak RSS over into the
    # ru_maxrss of a child it spawns (vfork + exec), so a big parent would inflate the figure.
    command = [sys.executable, __file__, "--child", *_size_flags(args)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def _size_flags(args: argparse.Namespace) -> list[str]:
    return [
        f"--sequences={args.sequences}",
        f"--steps={args.steps}",
        f"--hidden={args.hidden}",
        f"--layers={args.layers}",
        f"--input-size={args.input_size}",
        f"--batch-size={args.batch_size}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=100)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--input-size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64, help="capture's batch_size")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-memory", action="store_true", help="skip the subprocess")
    parser.add_argument("--touch", action="store_true", help="time first touches of memory")
    parser.add_argument("--pairs", action="store_true", help="rounds of (bare, all) only")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args)
        return
    memory = None if args.no_memory else _memory(args)

    lstm, inputs = _inputs(args)
    time_major = inputs.transpose(0, 1).contiguous()  # the module's own layout

    def bare() -> torch.Tensor:
        with torch.no_grad():
            return lstm(time_major)[0]

    def capture(kinds: list[str] | None):
        return lambda: rm.capture(
            lstm, inputs, kinds=kinds, batch_size=args.batch_size, progress=False
        )

    n_steps = args.sequences * args.steps
    passes = {"bare": bare, "h": capture(["h"]), "all": capture(None)}
    if args.pairs:
        passes = {"bare": bare, "all": capture(None)}
        passes["all"]()  # the first capture of the process pays for fresh memory
    bare()  # warm up
    # Interleaved (bare, h, all, bare, ...) so that a slow spell of this shared machine hits
    # every pass alike; each ratio is taken within one round, the median over the rounds.
    times: dict[str, list[float]] = {name: [] for name in passes}
    for _ in range(args.repeats):
        for name, function in passes.items():
            times[name].append(_timed_s(function))
    median = {name: statistics.median(values) for name, values in times.items()}
    ratio = {
        name: statistics.median(t / b for t, b in zip(values, times["bare"], strict=True))
        for name, values in times.items()
    }

    print(
        f"LSTM {args.layers} x {args.hidden} units, input {args.input_size}; "
        f"{args.sequences} sequences x {args.steps:,} steps = {n_steps:,} steps; "
        f"capture batch_size {args.batch_size}; {torch.get_num_threads()} threads; "
        f"{args.repeats} {'back-to-back (bare, all)' if args.pairs else 'interleaved'} rounds\n"
    )
    print("| pass | median time (s) | range (s) | median ratio to bare forward |")
    print("| --- | --- | --- | --- |")
    labels = {
        "bare": "bare forward (`lstm(x)`, no_grad)",
        "h": "capture h",
        "all": "capture h, c, i, f, g, o",
    }
    for name, label in labels.items():
        if name not in times:
            continue
        low, high = min(times[name]), max(times[name])
        print(f"| {label} | {median[name]:.2f} | {low:.2f}-{high:.2f} | {ratio[name]:.2f} |")
    if args.touch:
        size = (6 * args.layers * n_steps, args.hidden)
        allocators = {
            "numpy's `np.empty` (huge pages advised)": lambda: np.empty(size, dtype=np.float32),
            "capture's arrays (ordinary pages)": lambda: _small_page_array(size),
        }
        touch = {}
        for name, allocate in allocators.items():
            for label, pause in (("just freed", 0.0), ("after a 20 s pause", 20.0)):
                np.ones(size, dtype=np.float32)  # allocate, touch and free as much memory
                time.sleep(pause)
                start = time.perf_counter()
                torch.from_numpy(allocate()).zero_()
                touch[name, label] = time.perf_counter() - start
        print()
        print("| zero-fill new arrays of the trace's size | memory | time (s) |")
        print("| --- | --- | --- |")
        for (name, label), seconds in touch.items():
            print(f"| {name} | {label} | {seconds:.2f} |")
    if memory is not None:
        gib = 1024**3
        print()
        print("| memory (capture of h, c and gates, fresh process) | GiB | ratio to arrays |")
        print("| --- | --- | --- |")
        print(f"| float32 arrays returned | {memory['arrays'] / gib:.2f} | 1.00 |")
        print(
            f"| peak resident memory (ru_maxrss) | {memory['peak'] / gib:.2f} | "
            f"{memory['peak'] / memory['arrays']:.2f} |"
        )
        print(
            f"| resident before capture (torch, model, inputs) | {memory['before'] / gib:.2f} "
            f"| {memory['before'] / memory['arrays']:.2f} |"
        )


if __name__ == "__main__":
    main()
