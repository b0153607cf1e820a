"""A trace larger than memory, captured into Zarr and analysed on dask workers (issue 25).

An ``nn.LSTM`` of ``--cells`` units (random weights, eval mode, after an ``nn.Embedding`` of 64
tokens into 32 features) reads ``--steps`` random tokens in sequences of ``--length``; ``h`` is
recorded into a Zarr store on local disk (``--folder``): 20,000,000 steps of 256 cells by
default, 20.5 GB of float32.

1. **Capture**, in a fresh process (so its peak resident memory is its own): the bare forward
   pass over the first ``--forward-steps`` steps (the baseline, timed in the same process),
   then ``rw.capture(..., store=...)`` over every step. Reported: both throughputs, their
   ratio, and the process's peak resident memory (``VmHWM``) above what it held before the
   capture (the imports, the model and the user's inputs).
2. **Analyses**, for each ``--workers`` count, on a fresh ``LocalCluster(n_workers=N,
   threads_per_worker=1, processes=True)`` with an active ``Client`` (so they run on the
   workers): ``match`` with a threshold not used before (one pass packing the on-bits), then
   again with it (the packed bits cached: the ranking alone); ``score_cells`` with 10 binary
   hypotheses over the tokens, 20 folds; ``state_pca`` (its default draw of 200,000 steps);
   then each worker's peak resident memory (``VmHWM`` of its process, which the cluster
   started fresh) and the client's.

Results are appended to ``--out`` (JSON lines) as each finishes, so an interrupted run keeps
what it measured; a markdown table is printed at the end. ``--reuse`` skips the capture when
the store is complete. Usage:
    python benchmarks/scale_analyses.py [--steps 20000000] [--workers 1 2] [--folder DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

VOCAB = [chr(ord("a") + i % 26) + str(i // 26) for i in range(64)]


def _status_bytes(field: str = "VmHWM") -> int:
    """A memory field of /proc/self/status in bytes: ``VmRSS`` now, ``VmHWM`` its peak."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    return 0


def _ids(args: argparse.Namespace) -> np.ndarray:
    """Token ids, shape (sequences, length): ``--steps`` rounded up to whole sequences."""
    n_sequences = -(-args.steps // args.length)
    rng = np.random.default_rng(0)
    return rng.integers(0, len(VOCAB), size=(n_sequences, args.length), dtype=np.int16)


def _model(args: argparse.Namespace) -> object:
    import torch

    import rnn_widgets as rw

    torch.manual_seed(0)
    embedding = torch.nn.Embedding(len(VOCAB), 32).eval()
    lstm = torch.nn.LSTM(32, args.cells).eval()
    return rw.RecurrentModel(lstm, embedding=embedding, vocab=VOCAB)


def _capture(args: argparse.Namespace) -> None:
    """Child process: time the bare forward and the capture; print JSON."""
    import torch

    import rnn_widgets as rw

    torch.set_num_threads(1)
    model, ids = _model(args), _ids(args)
    table = np.array(VOCAB, dtype=object)
    sequences = [list(row) for row in table[ids]]
    forward_rows = max(1, args.forward_steps // args.length)
    with torch.no_grad():  # torch's lazy setup, then the baseline
        model.core(model.embedding(torch.from_numpy(ids[:64].T.astype(np.int64))))
        start = time.perf_counter()
        for first in range(0, forward_rows, 64):
            batch = torch.from_numpy(ids[first : min(first + 64, forward_rows)].T.astype(np.int64))
            model.core(model.embedding(batch))
        bare = time.perf_counter() - start
    before = _status_bytes("VmRSS")
    start = time.perf_counter()
    trace = rw.capture(
        model, sequences, kinds=["h"], batch_size=64, store=args.store, progress=False
    )
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "phase": "capture",
                "steps": int(trace.n_steps),
                "bare_steps": forward_rows * args.length,
                "bare_s": bare,
                "capture_s": seconds,
                "before_bytes": before,
                "peak_bytes": _status_bytes("VmHWM"),
                "store_bytes": int(trace.n_steps) * args.cells * 4,
            }
        )
    )


def _labels(args: argparse.Namespace, n_steps: int) -> dict[str, np.ndarray]:
    """Ten binary hypotheses over the tokens (float32 labels over every step)."""
    ids = _ids(args).ravel()[:n_steps]
    previous = np.concatenate([[-1], ids[:-1]])
    hypotheses = {f"token {VOCAB[v]}": ids == v for v in (0, 7, 19, 33)}
    hypotheses["a vowel"] = np.isin(ids % 26, [0, 4, 8, 14, 20])
    hypotheses["a first half"] = ids < 32
    hypotheses["repeats"] = ids == previous
    hypotheses["after a0"] = previous == 0
    hypotheses["id % 3 == 0"] = ids % 3 == 0
    hypotheses["id % 7 == 1"] = ids % 7 == 1
    return {name: value.astype(np.float32) for name, value in hypotheses.items()}


def _peak() -> int:
    return _status_bytes("VmHWM")


def _analyses(args: argparse.Namespace, n_workers: int, out: Path) -> None:
    from dask.distributed import Client, LocalCluster

    import rnn_widgets as rw
    from rnn_widgets.analysis import match, score_cells, select_cells, state_pca

    with (
        LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        trace = rw.Trace.load(args.store, states_budget=args.states_budget)
        assert trace.is_lazy(layer=0, kind="h"), "the store fits the budget: raise --steps"
        record = {"phase": "analyses", "workers": n_workers, "steps": int(trace.n_steps)}
        threshold = 0.05 + 0.01 * n_workers  # new for each cluster: the bits are packed anew
        start = time.perf_counter()
        window = trace.step_of(3, 100)
        cells = select_cells(trace, window, window + 4, threshold)
        cells = cells if len(cells) else np.arange(4)
        found = match(trace, cells, threshold, top=50)
        record["match_new_threshold_s"] = time.perf_counter() - start
        start = time.perf_counter()
        match(trace, cells[: max(1, len(cells) // 2)], threshold, top=50)
        record["match_cached_bits_s"] = time.perf_counter() - start
        record["match_cells"], record["match_top_shared"] = len(cells), found.matches[0].shared
        _write(out, record)
        labels = _labels(args, trace.n_steps)
        start = time.perf_counter()
        scores = score_cells(trace, labels, folds=20, progress=False)
        record["score_cells_10_s"] = time.perf_counter() - start
        record["best_scores"] = [round(float(s.max()), 4) for s in scores.score]
        del labels
        _write(out, record)
        start = time.perf_counter()
        pca = state_pca(trace)
        record["state_pca_s"] = time.perf_counter() - start
        record["pca_top3"] = [round(float(r), 4) for r in pca.cumulative[:3]]
        record["worker_peak_bytes"] = sorted(client.run(_peak).values())
        record["client_peak_bytes"] = _peak()
        _write(out, record)


def _write(out: Path, record: dict) -> None:
    with out.open("a") as file:
        file.write(json.dumps(record) + "\n")
    print(json.dumps(record), flush=True)


def _table(out: Path) -> None:
    records = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    capture = [r for r in records if r["phase"] == "capture"]
    if capture:
        c = capture[-1]
        bare, stored = c["bare_steps"] / c["bare_s"], c["steps"] / c["capture_s"]
        rate = c["store_bytes"] / c["capture_s"] / 1e6
        above = (c["peak_bytes"] - c["before_bytes"]) / 2**20
        print(
            f"capture: {c['steps']:,} steps ({c['store_bytes'] / 1e9:.1f} GB) in "
            f"{c['capture_s']:.0f} s ({stored:,.0f} steps/s, {rate:.0f} MB/s); bare forward "
            f"{bare:,.0f} steps/s; ratio {bare / stored:.2f}x; peak resident "
            f"{c['peak_bytes'] / 2**20:,.0f} MiB, {above:,.0f} MiB above the inputs"
        )
    print("| workers | match, new threshold | match, cached bits | score_cells, 10 | state_pca "
          "| worker peaks (MiB) | client peak (MiB) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    finals = {}
    for r in records:
        if r["phase"] == "analyses":
            finals[r["workers"]] = r
    for workers, r in sorted(finals.items()):
        peaks = ", ".join(f"{p / 2**20:,.0f}" for p in r.get("worker_peak_bytes", []))
        print(
            f"| {workers} | {r.get('match_new_threshold_s', float('nan')):.0f} s "
            f"| {r.get('match_cached_bits_s', float('nan')):.1f} s "
            f"| {r.get('score_cells_10_s', float('nan')):.0f} s "
            f"| {r.get('state_pca_s', float('nan')):.0f} s | {peaks} "
            f"| {r.get('client_peak_bytes', 0) / 2**20:,.0f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000_000)
    parser.add_argument("--length", type=int, default=1024)
    parser.add_argument("--cells", type=int, default=256)
    parser.add_argument("--forward-steps", type=int, default=2_000_000)
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--folder", default="/tmp/scale_analyses")
    parser.add_argument("--out", default=None, help="JSON lines (default: FOLDER/results.jsonl)")
    parser.add_argument("--reuse", action="store_true", help="keep a complete store")
    parser.add_argument("--skip-capture", action="store_true")
    parser.add_argument(
        "--states-budget", type=int, default=None, help="0 makes a small store lazy (a trial run)"
    )
    parser.add_argument("--child-capture", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    args.store = str(folder / "run.zarr")
    out = Path(args.out or folder / "results.jsonl")
    if args.child_capture:
        _capture(args)
        return
    if not args.skip_capture:
        command = [sys.executable, __file__, *sys.argv[1:], "--child-capture"]
        if not (args.reuse and (folder / "run.zarr" / "zarr.json").exists()):
            shutil.rmtree(folder / "run.zarr", ignore_errors=True)
            env = dict(os.environ, OMP_NUM_THREADS="1")
            done = subprocess.run(command, capture_output=True, text=True, env=env)
            if done.returncode:
                sys.exit(done.stderr[-4000:])
            _write(out, json.loads(done.stdout.strip().splitlines()[-1]))
    for n_workers in args.workers:
        _analyses(args, n_workers, out)
    _table(out)


if __name__ == "__main__":
    main()
