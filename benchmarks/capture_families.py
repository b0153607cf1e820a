"""Capture's cost over each family's bare forward pass (issue 24, section 3).

For each family (``nn.LSTM``, ``nn.GRU``, ``rw.MinGRU``, ``rw.MinLSTM``, and Mamba from
``transformers`` when installed and supported by ``rw.wrap``): a model of ``--layers`` layers
of ``--hidden`` units (Mamba: ``d_model = --hidden``), random weights, float32, eval mode,
reads ``--sequences`` sequences of ``--steps`` random inputs (token ids for Mamba). Timed in
one process, ``--repeats`` rounds interleaving the two passes per family; medians of the
times and of the per-round ratios:

* the baseline: the module's own forward over the whole batch (one call, no_grad);
* ``rw.capture`` recording every kind of every layer (Mamba's whole SSM state too: the
  budget is raised to 8 GiB).

Prints a markdown table. Usage::

    python benchmarks/capture_families.py [--sequences 32] [--steps 1000] [--hidden 256]
        [--layers 2] [--repeats 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

import rnn_widgets as rw


def _families(args: argparse.Namespace) -> dict[str, Callable[[], tuple[Any, Any, Any]]]:
    """name -> builder of (module, bare forward thunk, sequences for capture)."""
    width = 16

    def torch_core(kind: type) -> tuple[Any, Any, Any]:
        torch.manual_seed(0)
        module = kind(width, args.hidden, num_layers=args.layers, batch_first=True).eval()
        x = torch.randn(args.sequences, args.steps, width)
        return module, lambda: module(x), list(x)

    families: dict[str, Callable[[], tuple[Any, Any, Any]]] = {
        "LSTM": lambda: torch_core(torch.nn.LSTM),
        "GRU": lambda: torch_core(torch.nn.GRU),
        "minGRU": lambda: torch_core(rw.MinGRU),
        "minLSTM": lambda: torch_core(rw.MinLSTM),
    }
    try:
        from transformers import MambaConfig, MambaModel
    except ImportError:
        return families

    def mamba() -> tuple[Any, Any, Any]:
        torch.manual_seed(0)
        config = MambaConfig(
            vocab_size=64,
            hidden_size=args.hidden,
            num_hidden_layers=args.layers,
            state_size=16,
            use_cache=False,
        )
        module = MambaModel(config).eval()
        ids = torch.randint(0, 64, (args.sequences, args.steps))
        return module, lambda: module(input_ids=ids), list(ids)

    families["Mamba"] = mamba
    return families


# Mamba's full SSM state at the default sizes is 2.3 GB, past capture's 1 GiB default budget.
_BUDGET = 8 << 30


def _time(function: Callable[[], Any]) -> float:
    start = time.perf_counter()
    with torch.no_grad():
        function()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sequences", type=int, default=32)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", action="append", help="family names, e.g. minGRU")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"{args.sequences} sequences x {args.steps} steps, {args.layers} layers x {args.hidden} "
        f"units, float32, {args.threads} thread(s), {args.repeats} rounds; medians"
    )
    print("| family | kinds per layer | bare forward (s) | capture, every kind (s) | ratio |")
    print("| --- | --- | --- | --- | --- |")
    for name, build in _families(args).items():
        if args.only and name not in args.only:
            continue
        module, forward, sequences = build()
        try:
            model = rw.wrap(module)
        except TypeError as exc:
            print(f"| {name} | not wrapped here: {exc} | | | |")
            continue
        bare, captured, ratios = [], [], []
        for _ in range(args.repeats):
            bare.append(_time(forward))
            captured.append(
                _time(
                    functools.partial(
                        rw.capture,
                        model,
                        sequences,
                        kinds=model.kinds,
                        state_budget=_BUDGET,
                        progress=False,
                    )
                )
            )
            ratios.append(captured[-1] / bare[-1])
        print(
            f"| {name} | {' '.join(model.kinds)} | {statistics.median(bare):.3f} | "
            f"{statistics.median(captured):.3f} | {statistics.median(ratios):.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
