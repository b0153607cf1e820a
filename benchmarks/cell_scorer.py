"""A typed hypothesis scored while the user waits: CellScorer against score_cells.

The hypothesis box of the Explorer and of RelevanceBars (issue 26) labels the trace with what
the user typed and scores every cell on held-out folds. This times, on a trace of
``--steps`` characters of the standard library's source and ``--cells`` smoothed cells
(float32; tanh of an AR(1) process per cell, as in ``benchmarks/relevance.py``), with 20
folds and 128 bins:

* ``CellScorer(trace)``: the one-off preparation (folds, moments, histograms, bins);
* per hypothesis (regular expressions and a token set, 2 % to 50 % of the steps on), the
  labelling (``hypotheses.evaluate``), ``scorer.score(labels)`` and, as the baseline in the
  same process, ``score_cells(trace, labels)``, as medians of ``--repeats`` runs; the ratio
  is baseline / scorer.

The browser's side (Enter to re-sorted bars painted) is measured by
``benchmarks/hypothesis_box_browser.py``. Usage:
python benchmarks/cell_scorer.py [--steps 100000] [--cells 256] [--repeats 7]
"""

from __future__ import annotations

import argparse
import inspect
import json
import time

import numpy as np
from _timing import median_ms
from relevance import smoothed_states

import rnn_widgets as rw
from rnn_widgets import hypotheses as hy
from rnn_widgets.analysis import CellScorer, score_cells

_MODULES = ("inspect", "argparse", "json.decoder", "dataclasses", "textwrap", "typing")


def source_text(n_steps: int) -> str:
    """``n_steps`` characters of the standard library's source, repeated as needed."""
    import importlib

    text = "".join(inspect.getsource(importlib.import_module(m)) for m in _MODULES)
    return (text * (n_steps // len(text) + 1))[:n_steps]


def build_trace(n_steps: int, n_cells: int) -> rw.Trace:
    """Sequences of 500 characters with smoothed states."""
    text = source_text(n_steps)
    rng = np.random.default_rng(0)
    states = smoothed_states(n_steps, n_cells, rng)
    sequences = [list(text[i : i + 500]) for i in range(0, n_steps, 500)]
    return rw.Trace.from_arrays(sequences, {"h": states})


def measure(
    trace: rw.Trace, scorer: CellScorer, name: str, hypothesis: hy.Hypothesis, repeats: int
) -> dict[str, object]:
    """The medians of labelling, scoring with the scorer, and score_cells for one hypothesis."""
    labels = hy.evaluate(trace, {name: hypothesis})
    label_ms = median_ms(lambda _: hy.evaluate(trace, {name: hypothesis}), repeats)
    scorer_ms = median_ms(lambda _: scorer.score(labels), repeats)
    baseline_ms = median_ms(
        lambda _: score_cells(trace, labels, progress=False), max(3, repeats // 2)
    )
    same = np.array_equal(
        scorer.score(labels).score, score_cells(trace, labels, progress=False).score,
        equal_nan=True,
    )  # fmt: skip
    return {
        "hypothesis": name,
        "on": float(labels.values.mean()),
        "label_ms": label_ms,
        "scorer_ms": scorer_ms,
        "score_cells_ms": baseline_ms,
        "ratio": baseline_ms / scorer_ms,
        "same_scores": bool(same),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--cells", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    trace = build_trace(args.steps, args.cells)
    hypotheses = {
        "regex \\(": hy.regex(r"\("),
        "regex def \\w+": hy.regex(r"def \w+"),
        "regex [a-z]": hy.regex(r"[a-z]"),
        "tokens aeiou": hy.token_in("aeiou"),
    }
    start = time.perf_counter()
    scorer = CellScorer(trace, progress=False)
    prepare_ms = (time.perf_counter() - start) * 1000
    cache = scorer._binned.index
    rows = [measure(trace, scorer, name, h, args.repeats) for name, h in hypotheses.items()]
    print(f"trace: {args.steps} steps x {args.cells} cells; prepare {prepare_ms:.0f} ms; "
          f"bin cache {0 if cache is None else cache.nbytes / 2**20:.1f} MiB")  # fmt: skip
    print("| hypothesis | on | label (ms) | scorer.score (ms) | score_cells (ms) | ratio | same |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['hypothesis']} | {row['on']:.1%} | {row['label_ms']:.0f} | "
            f"{row['scorer_ms']:.0f} | {row['score_cells_ms']:.0f} | {row['ratio']:.1f} | "
            f"{row['same_scores']} |"
        )
    print(json.dumps({"prepare_ms": prepare_ms, "rows": rows}))


if __name__ == "__main__":
    main()
