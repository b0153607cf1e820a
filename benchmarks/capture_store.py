"""Capture into a Zarr store against capture into memory and the bare forward pass.

An ``nn.LSTM`` (``--hidden`` units, one layer, after an ``nn.Embedding`` of 64 tokens into
``--input-size`` features; random weights, eval mode) reads ``--sequences`` sequences of
``--steps`` random tokens; ``--kinds`` are recorded (default ``h``: 256 cells, 1 KiB a step).
The disk's own speed is measured first: 256 MiB written in 4 MiB blocks, then fsynced.

Throughput, in one process (``--repeats`` rounds of the three, interleaved; medians):

* the baseline: the module's own forward pass, ``--batch-size`` sequences at a time (the
  embedding, then the LSTM, under ``no_grad``; nothing kept);
* ``rw.capture`` into memory;
* ``rw.capture(..., store=...)`` into a fresh local store (``--window-bytes``, default 64 MiB),
  the store deleted between rounds.

Memory: each capture once more in a fresh subprocess, which reports its resident memory
after the imports and the inputs (``VmRSS``) and its peak (``VmHWM``), and the peak of what
numpy and Python allocated (``tracemalloc``: the capture's own buffers, not torch's).

``--threads`` sets torch's threads (default 1: on the shared 2-core development machine, two
threads made the bare LSTM 30 times slower, each waiting on the other's busy core).

Prints a markdown table. Usage:
    python benchmarks/capture_store.py [--sequences 2048] [--steps 1024] [--hidden 256]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch

import rnn_widgets as rw

VOCAB = [chr(ord("a") + i % 26) + str(i // 26) for i in range(64)]


def _model(args: argparse.Namespace) -> rw.RecurrentModel:
    torch.manual_seed(0)
    embedding = torch.nn.Embedding(len(VOCAB), args.input_size).eval()
    lstm = torch.nn.LSTM(args.input_size, args.hidden).eval()
    return rw.RecurrentModel(lstm, embedding=embedding, vocab=VOCAB)


def _ids(args: argparse.Namespace) -> np.ndarray:
    """The token ids of every sequence, shape (sequences, steps)."""
    return np.random.default_rng(0).integers(0, len(VOCAB), size=(args.sequences, args.steps))


def _sequences(ids: np.ndarray) -> list[list[str]]:
    table = np.array(VOCAB, dtype=object)
    return [list(row) for row in table[ids]]


def _status_bytes(field: str) -> int:
    """A memory field of /proc/self/status: ``VmRSS`` (resident now), ``VmHWM`` (its peak).

    Not ``ru_maxrss``: Linux keeps it across ``exec``, so a child reports its parent's peak.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    return 0


def _disk_mb_s(folder: Path) -> float:
    """MB/s of 256 MiB written to ``folder`` in 4 MiB blocks and fsynced (the disk's speed)."""
    block = np.random.default_rng(0).bytes(4 << 20)
    start = time.perf_counter()
    with open(folder / "disk.bin", "wb") as file:
        for _ in range(64):
            file.write(block)
        file.flush()
        os.fsync(file.fileno())
    seconds = time.perf_counter() - start
    (folder / "disk.bin").unlink()
    return 256 * 2**20 / seconds / 1e6


def _bare(model: rw.RecurrentModel, ids: np.ndarray, batch_size: int) -> None:
    """The embedding and the LSTM over every batch (time-major), nothing kept."""
    with torch.no_grad():
        for start in range(0, len(ids), batch_size):
            batch = torch.from_numpy(ids[start : start + batch_size].T.copy())
            model.core(model.embedding(batch))


def _capture(model, sequences, args, store: Path | None) -> rw.Trace:
    extra = {} if store is None else {"store": store, "window_bytes": args.window_bytes}
    return rw.capture(
        model,
        sequences,
        kinds=args.kinds,
        batch_size=args.batch_size,
        progress=False,
        **extra,
    )


def _child(args: argparse.Namespace) -> None:
    """One capture in this fresh process; prints its memory as JSON."""
    model, ids = _model(args), _ids(args)
    sequences = _sequences(ids)
    _bare(model, ids[: args.batch_size], args.batch_size)  # torch's lazy setup
    store = Path(args.child_store) if args.child_store else None
    if store is not None:  # zarr's imports, outside the measurement
        warm = store.with_name("warm.zarr")
        rw.capture(model, sequences[:1], kinds=args.kinds, store=warm, progress=False)
        shutil.rmtree(warm)
    gc.collect()
    before = _status_bytes("VmRSS")
    tracemalloc.start()
    trace = _capture(model, sequences, args, store)
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    peak = _status_bytes("VmHWM")
    print(
        json.dumps(
            {"before": before, "peak": peak, "traced": traced, "states": _state_bytes(trace)}
        )
    )


def _state_bytes(trace: rw.Trace) -> int:
    return sum(
        trace.n_steps * trace.n_cells(layer=layer, kind=kind) * 4
        for layer in trace.layers
        for kind in trace.kinds(layer=layer)
    )


def _memory(args: argparse.Namespace, store: Path | None) -> dict[str, int]:
    command = [sys.executable, __file__, *sys.argv[1:], "--child"]
    if store is not None:
        command += ["--child-store", str(store)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=2048)
    parser.add_argument("--steps", type=int, default=1024)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--input-size", type=int, default=32)
    parser.add_argument("--kinds", nargs="+", default=["h"])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--window-bytes", type=int, default=64 << 20)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--folder",
        default=None,
        help="where to write the stores (default: the system's temporary folder; /dev/shm "
        "measures the capture without the disk)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (1: on a shared 2-core machine two threads wait on each other)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-store", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        _child(args)
        return

    model, ids = _model(args), _ids(args)
    sequences = _sequences(ids)
    n_steps = args.sequences * args.steps
    folder = Path(tempfile.mkdtemp(prefix="capture_store.", dir=args.folder))
    times: dict[str, list[float]] = {"bare": [], "memory": [], "store": []}
    try:
        disk = _disk_mb_s(folder)
        _bare(model, ids[: args.batch_size], args.batch_size)  # warm up
        for _ in range(args.repeats):
            for name in times:
                store = folder / "run.zarr" if name == "store" else None
                gc.collect()
                start = time.perf_counter()
                if name == "bare":
                    _bare(model, ids, args.batch_size)
                else:
                    trace = _capture(model, sequences, args, store)
                    states = _state_bytes(trace)
                    del trace
                times[name].append(time.perf_counter() - start)
                if store is not None:
                    shutil.rmtree(store)
        memory = {
            "memory": _memory(args, None),
            "store": _memory(args, folder / "child.zarr"),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    bare = statistics.median(times["bare"])
    mib = 2**20
    print(
        f"{args.sequences:,} sequences x {args.steps:,} steps = {n_steps:,} steps; "
        f"LSTM({args.input_size}, {args.hidden}), kinds {' '.join(args.kinds)}: "
        f"{states / mib:,.0f} MiB of float32 states; batch_size {args.batch_size}, "
        f"window_bytes {args.window_bytes / mib:.0f} MiB; torch threads "
        f"{torch.get_num_threads()}; {args.repeats} round(s), medians; stores in {folder.parent}, "
        f"which wrote {disk:,.0f} MB/s (fsynced)\n"
    )
    print("| pass | time (s) | steps/s | x bare forward | MB/s of states |")
    print("| --- | --- | --- | --- | --- |")
    for name, label in (
        ("bare", "bare forward (embedding + nn.LSTM)"),
        ("memory", "rw.capture into memory"),
        ("store", "rw.capture(..., store=) into a local Zarr store"),
    ):
        seconds = statistics.median(times[name])
        rate = states / seconds / 1e6 if name != "bare" else float("nan")
        print(
            f"| {label} | {seconds:.1f} | {n_steps / seconds:,.0f} | {seconds / bare:.2f} | "
            f"{'' if name == 'bare' else f'{rate:,.0f}'} |"
        )
    print(
        "\n| capture | resident after imports and inputs (MiB) | peak resident (MiB) | "
        "peak above it (MiB) | peak traced by tracemalloc (MiB) |"
    )
    print("| --- | --- | --- | --- | --- |")
    for name, label in (("memory", "into memory"), ("store", "into a store")):
        found = memory[name]
        print(
            f"| {label} | {found['before'] / mib:,.0f} | {found['peak'] / mib:,.0f} | "
            f"{(found['peak'] - found['before']) / mib:,.0f} | {found['traced'] / mib:,.1f} |"
        )


if __name__ == "__main__":
    main()
