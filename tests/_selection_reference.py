"""A slow, obviously-correct reference for LSTMVis's select and match (paper §5.2-5.3).

Works on plain numpy arrays and Python loops only; returns plain tuples and dicts so tests
can compare against :func:`rnn_widgets.analysis.select_cells` and ``match`` with ``==``.

Definitions (stop-exclusive ranges of global steps):

* on(t, c) := states[t, c] >= threshold, compared exactly (float32 value vs Python float).
* S2(a, b) := every cell on at each step of a:b, and off at each of the ``pad_before`` steps
  before ``a`` and the ``pad_after`` steps after ``b - 1`` that lie in the same sequence.
* Candidates: for each sequence and each k from |S1| down to ``min_shared``, every maximal
  run of steps at which at least k cells of S1 are on, at least ``min_length`` steps long;
  the union of these runs as a set of (a, b).
* Order: shared descending, union ascending, length descending, start ascending.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def _on_matrix(states: np.ndarray, threshold: float) -> list[list[bool]]:
    """on[t][c] as nested Python lists, comparing each value exactly as a Python float."""
    return [[float(value) >= threshold for value in row] for row in states]


def _sequence_of(bounds: np.ndarray, step: int) -> int:
    for index, (lo, hi) in enumerate(bounds.tolist()):
        if lo <= step < hi:
            return index
    raise ValueError(f"step {step} is in no sequence")


def _pattern_cells(
    on: list[list[bool]],
    n_cells: int,
    seq_lo: int,
    seq_hi: int,
    a: int,
    b: int,
    pad_before: int,
    pad_after: int,
) -> tuple[int, ...]:
    """S2: cells on at every step of a:b and off at the in-sequence padding steps."""
    before = [t for t in range(a - pad_before, a) if seq_lo <= t < seq_hi]
    after = [t for t in range(b, b + pad_after) if seq_lo <= t < seq_hi]
    cells = []
    for c in range(n_cells):
        on_inside = all(on[t][c] for t in range(a, b))
        off_outside = all(not on[t][c] for t in before + after)
        if on_inside and off_outside:
            cells.append(c)
    return tuple(cells)


def reference_select_cells(
    states: np.ndarray,
    bounds: np.ndarray,
    start: int,
    stop: int,
    threshold: float,
    pad_before: int,
    pad_after: int,
) -> tuple[int, ...]:
    """The cells selected by start:stop under the on/off pattern, ascending."""
    if not start < stop:
        raise ValueError("start:stop is empty")
    sequence = _sequence_of(bounds, start)
    seq_lo, seq_hi = (int(x) for x in bounds[sequence])
    if stop > seq_hi:
        raise ValueError("start:stop crosses a sequence boundary")
    on = _on_matrix(states, threshold)
    return _pattern_cells(on, states.shape[1], seq_lo, seq_hi, start, stop, pad_before, pad_after)


def _maximal_runs(flags: list[bool], offset: int) -> list[tuple[int, int]]:
    """Maximal runs of True in ``flags`` as (offset + first, offset + last + 1)."""
    runs = []
    run_start = None
    for i, flag in enumerate([*flags, False]):
        if flag and run_start is None:
            run_start = i
        elif not flag and run_start is not None:
            runs.append((offset + run_start, offset + i))
            run_start = None
    return runs


def reference_match(
    states: np.ndarray,
    bounds: np.ndarray,
    cells: Sequence[int],
    threshold: float,
    pad_before: int,
    pad_after: int,
    top: int,
    min_shared: int,
    min_length: int,
    context: int,
) -> dict[str, Any]:
    """All candidates ranked; returns {"cells", "n_candidates", "matches": [dict, ...]}.

    Each match dict holds sequence, start, stop, shared, union, cells (S2, tuple),
    context_start, context_stop and counts (tuple: S1 cells on per context step).
    """
    s1 = sorted({int(c) for c in cells})
    if not s1:
        raise ValueError("cells is empty")
    n_cells = states.shape[1]
    on = _on_matrix(states, threshold)

    def count(t: int) -> int:
        return sum(1 for c in s1 if on[t][c])

    candidates: set[tuple[int, int, int]] = set()  # (sequence, a, b)
    for sequence, (lo, hi) in enumerate(bounds.tolist()):
        for k in range(len(s1), min_shared - 1, -1):
            flags = [count(t) >= k for t in range(lo, hi)]
            for a, b in _maximal_runs(flags, lo):
                if b - a >= min_length:
                    candidates.add((sequence, a, b))

    matches = []
    for sequence, a, b in candidates:
        lo, hi = (int(x) for x in bounds[sequence])
        s2 = _pattern_cells(on, n_cells, lo, hi, a, b, pad_before, pad_after)
        context_start = max(lo, a - context)
        context_stop = min(hi, b + context)
        matches.append(
            {
                "sequence": sequence,
                "start": a,
                "stop": b,
                "shared": len(set(s1) & set(s2)),
                "union": len(set(s1) | set(s2)),
                "cells": s2,
                "context_start": context_start,
                "context_stop": context_stop,
                "counts": tuple(count(t) for t in range(context_start, context_stop)),
            }
        )
    matches.sort(key=lambda m: (-m["shared"], m["union"], -(m["stop"] - m["start"]), m["start"]))
    return {"cells": tuple(s1), "n_candidates": len(candidates), "matches": matches[:top]}
