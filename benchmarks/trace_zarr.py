"""Zarr stores of a trace: with and without compression, and the memory of a conversion.

Records a trained character model (the zoo's ``python_lstm``: one LSTM layer of 256 cells
reading Python source) over ``--steps`` characters, all six kinds (h, c and the gates i, f,
g, o; float32), then, for each compressor (none, zstd at levels 1 and 3, blosc lz4 and zstd
with byte shuffle):

* saves the trace as a Zarr store (``trace.save``'s chunking) and reports its size as a
  fraction of the uncompressed states, and the write throughput;
* reads every state array back block by block (``trace.block_steps``; the OS cache warm: what
  a second pass of an analysis sees; the decoding is the difference): the read throughput;
* reads 200-step windows at random positions (what a view does);

and, uncompressed, the same reads from stores of the ``h`` states chunked by 1, 4 (the
default) and 32 MiB of rows: the chunk size is what a window costs, since zarr reads whole
chunks.

Then converts a ``--convert-mb`` MB trace HDF5 -> Zarr -> HDF5 in a fresh process and reports
its peak memory above what the imports took: tracemalloc's peak (numpy's and Python's
allocations) and the peak of anonymous resident memory (sampled every 2 ms); and the peak
resident set, which also counts the memory-mapped source's pages (file-backed, dropped under
memory pressure).
Prints markdown tables. Usage: python benchmarks/trace_zarr.py [--steps 131072] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _timing import median_ms

import rnn_widgets as rw
from rnn_widgets.trace._chunked import BLOCK_BYTES, chunk_steps
from rnn_widgets.trace._zarr import save_zarr

_CONVERT = r"""
import json, re, sys, threading, time, tracemalloc
from pathlib import Path
from rnn_widgets import Trace

def status(field):  # bytes; VmHWM, unlike ru_maxrss, starts afresh at exec
    text = Path("/proc/self/status").read_text()
    return int(re.search(field + r":\s+(\d+)", text).group(1)) * 1024

def anonymous():  # resident private memory (not the pages of mapped files)
    return status("RssAnon")

folder, imported, peak, done = sys.argv[1], anonymous(), [0], []
imported_rss = status("VmRSS")

def watch():
    while not done:
        peak[0] = max(peak[0], anonymous())
        time.sleep(0.002)

watcher = threading.Thread(target=watch)
watcher.start()
tracemalloc.start()
start = time.perf_counter()
Trace.load(folder + "/big.h5").save(folder + "/big.zarr")
middle = time.perf_counter()
Trace.load(folder + "/big.zarr").save(folder + "/back.h5")
end = time.perf_counter()
done.append(True)
watcher.join()
print(json.dumps({
    "tracemalloc_peak": tracemalloc.get_traced_memory()[1],
    "anonymous_peak": peak[0] - imported,
    "maxrss": status("VmHWM"), "imported_rss": imported_rss,
    "h5_to_zarr_s": middle - start, "zarr_to_h5_s": end - middle,
}))
"""


def _codecs() -> dict[str, object]:
    from zarr.codecs import BloscCodec, ZstdCodec

    return {
        "none (default)": None,
        "zstd level 1": [ZstdCodec(level=1)],
        "zstd level 3": [ZstdCodec(level=3)],
        "blosc lz4, shuffle": [BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")],
        "blosc zstd, shuffle": [BloscCodec(cname="zstd", clevel=3, shuffle="shuffle")],
        "none, measured again last": None,  # the machine's disk and cache drift
    }


def _record(steps: int) -> rw.Trace:
    model = rw.zoo.load("python_lstm")
    characters = [c for sequence in rw.zoo.data("python_lstm", "train").sequences for c in sequence]
    sequences = [characters[i : i + 4096] for i in range(0, steps, 4096)]
    return rw.capture(model, sequences, top_k=0, progress=False)


def _size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def _compression(trace: rw.Trace, folder: Path, repeats: int) -> list[str]:
    keys = [(layer, kind) for layer in trace.layers for kind in trace.kinds(layer=layer)]
    raw = sum(trace.n_steps * trace.n_cells(layer=lay, kind=k) * 4 for lay, k in keys)
    rng = np.random.default_rng(0)
    rows = [
        "| compressor | size (% of raw) | write (MB/s) | read, warm (MB/s) "
        "| 200-step window (ms) |",
        "| --- | --- | --- | --- | --- |",
    ]
    path = folder / "c.zarr"
    starts = rng.integers(0, trace.n_steps - 200, size=50)
    for name, codecs in _codecs().items():

        def write(_: int, codecs: object = codecs) -> None:
            save_zarr(trace, path, overwrite=True, compressors=codecs)

        write_ms = median_ms(write, repeats)
        loaded = rw.Trace.load(path)

        def read_all(_: int, loaded: rw.Trace = loaded) -> None:
            for layer, kind in keys:  # block by block, as an analysis reads
                step = loaded.block_steps(layer=layer, kind=kind)
                for start in range(0, loaded.n_steps, step):
                    stop = min(start + step, loaded.n_steps)
                    loaded.states_in(start, stop, layer=layer, kind=kind)

        read_ms = median_ms(read_all, repeats)

        def window(i: int, loaded: rw.Trace = loaded) -> None:
            loaded.states_in(int(starts[i]), int(starts[i]) + 200, kind="h")

        window_ms = median_ms(window, 50)
        rows.append(
            f"| {name} | {100 * _size(path) / raw:.1f} | {raw / 1e6 / (write_ms / 1e3):.0f} "
            f"| {raw / 1e6 / (read_ms / 1e3):.0f} | {window_ms:.2f} |"
        )
    return rows


def _chunk_sizes(trace: rw.Trace, folder: Path, repeats: int) -> list[str]:
    import zarr

    states = trace.states(kind="h")
    n_steps, n_cells = states.shape
    rng = np.random.default_rng(2)
    starts = rng.integers(0, n_steps - 200, size=50)
    block = chunk_steps(n_cells, n_steps, BLOCK_BYTES)
    rows = [
        "| chunk | steps per chunk | read, warm (MB/s) | 200-step window (ms) |",
        "| --- | --- | --- | --- |",
    ]
    for megabytes in (1, 4, 32):
        steps = chunk_steps(n_cells, n_steps, megabytes * 2**20)
        path = folder / f"chunks{megabytes}.zarr"
        array = zarr.create_array(
            path, shape=states.shape, dtype=states.dtype, chunks=(steps, n_cells), compressors=None
        )
        array[...] = states
        array = zarr.open_array(path, mode="r")

        def read_all(_: int, array: object = array, step: int = max(block, steps)) -> None:
            for start in range(0, n_steps, step):
                array[start : start + step]

        def window(i: int, array: object = array) -> None:
            array[int(starts[i]) : int(starts[i]) + 200]

        read_ms, window_ms = median_ms(read_all, repeats), median_ms(window, 50)
        rows.append(
            f"| {megabytes} MiB | {steps:,} | {states.nbytes / 1e6 / (read_ms / 1e3):.0f} "
            f"| {window_ms:.2f} |"
        )
    return rows


def _conversion(folder: Path, megabytes: int) -> list[str]:
    cells = 512
    steps = megabytes * 2**20 // (4 * cells)
    states = np.lib.format.open_memmap(
        folder / "states.npy", mode="w+", dtype=np.float32, shape=(steps, cells)
    )
    rng = np.random.default_rng(1)
    for start in range(0, steps, 8192):
        block = rng.standard_normal((min(8192, steps - start), cells), dtype=np.float32)
        states[start : start + len(block)] = np.tanh(block)
    states.flush()
    tokens = ["ab"[i % 2] for i in range(steps)]
    rw.Trace.from_owned_arrays(tokens, [steps], {(0, "h"): states}).save(folder / "big.h5")
    del states
    done = subprocess.run(
        [sys.executable, "-c", _CONVERT, str(folder)], capture_output=True, text=True, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return [
        "| trace | HDF5 -> Zarr (s) | Zarr -> HDF5 (s) | tracemalloc peak "
        "| anonymous memory peak | peak RSS (after import) |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| {steps:,} x {cells} float32 ({megabytes} MiB) | {result['h5_to_zarr_s']:.2f} "
        f"| {result['zarr_to_h5_s']:.2f} | {result['tracemalloc_peak'] / 2**20:.0f} MiB "
        f"| {result['anonymous_peak'] / 2**20:.0f} MiB | {result['maxrss'] / 2**20:.0f} MiB "
        f"({result['imported_rss'] / 2**20:.0f} MiB) |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=131_072)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--convert-mb", type=int, default=1024)
    parser.add_argument("--dir", default=None, help="where to write the stores")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as name:
        folder = Path(name)
        start = time.perf_counter()
        trace = _record(args.steps)
        print(f"recorded {trace!r} in {time.perf_counter() - start:.1f} s\n")
        print("\n".join(_compression(trace, folder, args.repeats)))
        print()
        print("\n".join(_chunk_sizes(trace, folder, args.repeats)))
        print()
        print("\n".join(_conversion(folder, args.convert_mb)))


if __name__ == "__main__":
    main()
