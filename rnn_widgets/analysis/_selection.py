"""LSTMVis's select and match, exact over a whole corpus.

The select and match of LSTMVis (Strobelt et al. 2018 [1]_, sections 5.2-5.3).

Select: the cells *on* (value >= threshold) at every step of a token range and *off* at the
padding steps around it. Match: the ranges of the corpus whose on-cells resemble that
selection S1, ranked as LSTMVis ranks them. LSTMVis's matcher samples (its fast mode never
looks past step 500,000; its precise mode stops after 10,000 candidates); this one is
exhaustive and deterministic.

How it stays fast on a million steps x 512 cells
------------------------------------------------
* For one (layer, kind, threshold) the on/off matrix is packed into bits twice, once per step
  (rows of 64 bytes for 512 cells) and once per cell (bitsets along the steps), block by
  block over the (memory-mapped) states. That costs one pass over the states and is cached
  per trace, so a second match with the same threshold never reads the states again.
* The count of S1 cells on at every step comes from |S1| bitsets. The maximal runs at every
  level k are found with a few vectorised passes; all levels together are the candidates.
* S2 of every run of one level is one ``bitwise_and.reduceat`` over the step bits (the runs
  of a level are disjoint). Levels are taken from the highest k down: a run first found at
  level k shares at most k cells with S1, so once the top results all share more than the
  next level could, the remaining levels cannot enter them and are skipped.

References
----------
.. [1] Strobelt, H., Gehrmann, S., Pfister, H., & Rush, A. M. (2018). LSTMVis: A tool for visual
   analysis of hidden state dynamics in recurrent neural networks. IEEE Transactions on
   Visualization and Computer Graphics, 24(1), 667-676. arXiv:1606.07461.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .._validation import as_float, as_int, as_layer
from ..trace import Trace, as_trace
from ._chunks import StateSource

__all__ = ["Match", "MatchResult", "match", "select_cells"]

# Steps packed per block: bounds the temporary bool matrix (block x n_cells bytes).
_BLOCK_STEPS = 1 << 15
# How many packed thresholds each trace keeps (each costs n_steps * n_cells / 4 bytes).
_CACHED_THRESHOLDS = 2


@dataclass(frozen=True)
class Match:
    """One ranked range of the corpus whose on-cells resemble the selection.

    Attributes
    ----------
    sequence : int
        The sequence that holds it.
    start, stop : int
        Its global steps, ``stop`` exclusive.
    shared : int
        ``|S1 ∩ S2|``: selected cells that are on over the whole range (and off at the
        padding steps).
    union : int
        ``|S1 ∪ S2|``.
    cells : ndarray of int64
        S2: every cell on at each step of the range and off at its padding steps, sorted.
    context_start : int
        The first step of ``counts``: a little before ``start``, never before the sequence.
    counts : ndarray of int64
        How many S1 cells are on at each step from ``context_start`` to ``context_stop``.

    """

    sequence: int
    start: int
    stop: int
    shared: int
    union: int
    cells: np.ndarray
    context_start: int
    counts: np.ndarray

    @property
    def length(self) -> int:
        """The number of steps, ``stop - start``."""
        return self.stop - self.start

    @property
    def context_stop(self) -> int:
        """The step after the last of ``counts``."""
        return self.context_start + len(self.counts)


@dataclass(frozen=True)
class MatchResult:
    """The top matches of a selection, best first, and the query that produced them.

    Attributes
    ----------
    matches : tuple of Match
        Ranked by ``shared`` (descending), ``union`` (ascending), length (descending), start.
    cells : ndarray of int64
        S1, the selected cells, sorted.
    threshold : float
    pad_before, pad_after : int
    layer : int
    kind : str
    n_candidates : int
        How many distinct candidate ranges the corpus holds (before keeping the top ones).

    """

    matches: tuple[Match, ...]
    cells: np.ndarray
    threshold: float
    pad_before: int
    pad_after: int
    layer: int
    kind: str
    n_candidates: int

    def __len__(self) -> int:
        return len(self.matches)

    def __iter__(self) -> Iterator[Match]:
        return iter(self.matches)

    def __getitem__(self, index: int) -> Match:
        return self.matches[index]


# ---------------------------------------------------------------------------------- select


def select_cells(
    trace: Trace,
    start: int,
    stop: int,
    threshold: float,
    pad_before: int = 1,
    pad_after: int = 0,
    *,
    layer: int = 0,
    kind: str = "h",
) -> np.ndarray:
    """The cells on over ``start:stop`` and off at the padding steps around it.

    LSTMVis's selection (Strobelt et al. 2018 [1]_, section 5.2): a range, a threshold and an
    on/off pattern.

    Parameters
    ----------
    trace : Trace
        The recorded states.
    start, stop : int
        A non-empty range of global steps inside one sequence, ``stop`` exclusive.
    threshold : float
        A cell is on at a step when its value is ``>= threshold``.
    pad_before, pad_after : int
        How many steps before ``start`` and after ``stop - 1`` the cell must be off (below
        the threshold). Padding steps outside the sequence impose no constraint.
    layer : int
        The layer whose states are read.
    kind : str
        The kind of state read (``"h"``, ``"c"``, a gate).

    Returns
    -------
    ndarray of int64
        The selected cells, sorted.

    Raises
    ------
    TypeError, ValueError
        On a range that is empty, reversed, out of the trace or crossing a sequence
        boundary, a threshold outside the data, negative padding, or an unknown layer/kind.

    References
    ----------
    .. [1] Strobelt, H., Gehrmann, S., Pfister, H., & Rush, A. M. (2018). LSTMVis: A tool for
       visual analysis of hidden state dynamics in recurrent neural networks. IEEE Transactions
       on Visualization and Computer Graphics, 24(1), 667-676. arXiv:1606.07461.

    """
    trace, layer, threshold = _checked_threshold(trace, layer, kind, threshold)
    pad_before, pad_after = _padding(pad_before, pad_after)
    start, stop = as_int(start, "start"), as_int(stop, "stop")
    first, last = _sequence_span(trace, start, stop)
    # Only the padded range's rows are read: a Zarr store past its budget selects too.
    low, high = max(first, start - pad_before), min(last, stop + pad_after)
    window = trace.states_in(low, high, layer=layer, kind=kind)
    if not np.isfinite(window).all():
        trace.check_finite(layer=layer, kind=kind)  # raises, naming the file and dataset
    bound = _float32_threshold(threshold) if window.dtype == np.float32 else threshold
    on = (window[start - low : stop - low] >= bound).all(axis=0)
    before, after = window[: start - low], window[stop - low :]
    off = ~((before >= bound).any(axis=0) | (after >= bound).any(axis=0))
    return np.flatnonzero(on & off).astype(np.int64)


# ---------------------------------------------------------------------------------- match


def match(
    trace: Trace,
    cells: Iterable[int] | np.ndarray,
    threshold: float,
    pad_before: int = 1,
    pad_after: int = 0,
    *,
    top: int = 50,
    min_shared: int = 1,
    min_length: int = 1,
    layer: int = 0,
    kind: str = "h",
    context: int = 3,
) -> MatchResult:
    """The ranges of the whole trace whose on-cells resemble the selection ``cells``.

    Candidates, as in LSTMVis (Strobelt et al. 2018 [1]_, section 5.3) but exhaustive: for every
    k from ``len(cells)`` down to ``min_shared``, the maximal runs of steps (within one
    sequence, at least ``min_length`` long) where at least k of the selected cells S1 are on.
    For a candidate a:b, S2 is the set of all cells on at every step of a:b and, where the
    selection was padded, off at the padding steps (inside the sequence). Ranked by
    ``|S1 ∩ S2|`` (descending), ``|S1 ∪ S2|`` (ascending: fewer extra cells first), length
    (descending), then start, so results are deterministic.

    Parameters
    ----------
    trace : Trace
        The recorded states; every sequence is searched.
    cells : iterable of int
        S1, the selected cells (e.g. from `select_cells`); not empty.
    threshold : float
        On means ``>= threshold``.
    pad_before, pad_after : int
        The padding of the selection, applied to every candidate.
    top : int
        How many matches to return.
    min_shared : int
        The lowest level k, ``1 <= min_shared <= len(cells)``.
    min_length : int
        The shortest candidate run, in steps.
    layer : int
        The layer whose states are read.
    kind : str
        The kind of state read (``"h"``, ``"c"``, a gate).
    context : int
        Steps of context on each side for each match's ``counts``.

    Returns
    -------
    MatchResult

    Raises
    ------
    TypeError, ValueError
        On an empty selection, a cell out of range, a threshold outside the data, a bad
        count, or an unknown layer/kind.

    References
    ----------
    .. [1] Strobelt, H., Gehrmann, S., Pfister, H., & Rush, A. M. (2018). LSTMVis: A tool for
       visual analysis of hidden state dynamics in recurrent neural networks. IEEE Transactions
       on Visualization and Computer Graphics, 24(1), 667-676. arXiv:1606.07461.

    """
    n_cells, threshold = _checked(trace, layer, kind, threshold)
    pad_before, pad_after = _padding(pad_before, pad_after)
    selected = _cells(cells, n_cells)
    top = as_int(top, "top", minimum=1)
    min_length = as_int(min_length, "min_length", minimum=1)
    context = as_int(context, "context", minimum=0)
    min_shared = as_int(min_shared, "min_shared", minimum=1)
    if min_shared > len(selected):
        raise ValueError(
            f"min_shared ({min_shared}) is larger than the selection ({len(selected)} cells); "
            "lower it or select more cells"
        )
    if not trace.is_lazy(layer=layer, kind=kind):  # a store's packing pass checks as it reads
        trace.check_finite(layer=layer, kind=kind)  # NaN would read as "off": refuse it instead
    bits = _on_bits(trace, layer, kind, threshold)
    bounds = np.asarray(trace.sequence_bounds, dtype=np.int64)
    count = bits.count(selected)
    levels = _candidate_levels(count, bounds, len(selected), min_shared, min_length)
    ranked = _rank(bits, bounds, selected, levels, pad_before, pad_after, top)
    matches = tuple(
        _match(trace, bounds, bits, count, selected, start, stop, s2, context)
        for start, stop, s2 in ranked
    )
    return MatchResult(
        matches=matches,
        cells=selected,
        threshold=threshold,
        pad_before=pad_before,
        pad_after=pad_after,
        layer=layer,
        kind=kind,
        n_candidates=sum(len(starts) for _, starts, _ in levels),
    )


# ---------------------------------------------------------------------------------- validation


def _checked(trace: Any, layer: Any, kind: Any, threshold: Any) -> tuple[int, float]:
    """The number of cells of (layer, kind) and the threshold, checked."""
    trace, layer, threshold = _checked_threshold(trace, layer, kind, threshold)
    return trace.n_cells(layer=layer, kind=kind), threshold


def _checked_threshold(
    trace: Any, layer: Any, kind: Any, threshold: Any
) -> tuple[Trace, int, float]:
    """The trace, the layer and the threshold, checked against the kind's values."""
    trace = as_trace(trace)
    layer = as_layer(layer, trace.layers)
    if not isinstance(kind, str):
        raise TypeError(f"kind must be a str such as 'h', got {kind!r}")
    trace.n_cells(layer=layer, kind=kind)  # raises, naming a kind the layer lacks
    threshold = as_float(threshold, "threshold")
    low, high = trace.value_range(layer=layer, kind=kind)
    if not low <= threshold <= high:  # a saved file's range is a hint: verify it first
        low, high = trace.value_range(layer=layer, kind=kind, exact=True)
    if not low <= threshold <= high:
        raise ValueError(
            f"threshold {threshold:g} is outside the values of layer {layer} kind {kind!r} "
            f"({low:g} to {high:g}); choose a threshold within them"
        )
    return trace, layer, threshold


def _padding(pad_before: Any, pad_after: Any) -> tuple[int, int]:
    return as_int(pad_before, "pad_before", minimum=0), as_int(pad_after, "pad_after", minimum=0)


def _sequence_span(trace: Trace, start: int, stop: int) -> tuple[int, int]:
    if not 0 <= start < stop <= trace.n_steps:
        raise ValueError(
            f"start:stop must be a non-empty range within 0:{trace.n_steps}, got {start}:{stop}"
        )
    sequence = int(trace.sequence_of(start))
    first, last = trace.sequence_range(sequence)
    if stop > last:
        raise ValueError(
            f"start:stop ({start}:{stop}) crosses the end of sequence {sequence} at step "
            f"{last}; select within one sequence"
        )
    return first, last


def _cells(cells: Any, n_cells: int) -> np.ndarray:
    if isinstance(cells, (str, bytes)) or not isinstance(cells, (Iterable, np.ndarray)):
        raise TypeError(f"cells must be a list of cell indices, got {type(cells).__name__}")
    values = np.asarray(list(cells) if not isinstance(cells, np.ndarray) else cells)
    if values.size == 0:
        raise ValueError("cells is empty: select at least one cell to match")
    if values.dtype.kind not in "iu" or values.ndim != 1:
        raise TypeError(f"cells must be a flat list of ints, got {values.dtype} {values.shape}")
    if values.min() < 0 or values.max() >= n_cells:
        raise ValueError(f"cells must lie in 0..{n_cells - 1}, got {values.min()}..{values.max()}")
    return np.unique(values.astype(np.int64))


# ---------------------------------------------------------------------------------- packed bits

_BYTE_POPCOUNT = np.array([bin(value).count("1") for value in range(256)], dtype=np.int64)
_BYTE_POPCOUNT_U8 = _BYTE_POPCOUNT.astype(np.uint8)


def _float32_threshold(threshold: float) -> np.float32:
    """The smallest float32 that is >= ``threshold``.

    For float32 states x, ``x >= threshold`` compared exactly (as Python and the browser
    compare) holds exactly when ``x >= _float32_threshold(threshold)``.
    """
    bound = np.float32(threshold)
    if float(bound) < threshold:
        bound = np.nextafter(bound, np.float32(np.inf))
    return bound


class _OnBits:
    """The on/off matrix of one (layer, kind, threshold), packed into bits.

    ``rows``: per step, one bit per cell (uint64 words), for the AND over a run;
    ``byte_columns``: the same bytes transposed, one contiguous row per group of 8 cells, so
    the count of selected cells at every step reads only the bytes that hold them.
    """

    def __init__(self, states: StateSource, threshold: float, block: int = _BLOCK_STEPS) -> None:
        n_steps, n_cells = states.shape
        self.n_steps, self.n_cells = n_steps, n_cells
        words = -(-n_cells // 64)
        bound = _float32_threshold(threshold)
        blocks = [(0, a, min(a + block, n_steps)) for a in range(0, n_steps, block)]
        if states.lazy:  # packed on dask, chunk by chunk: 1/32 of the states come back
            with tqdm(total=len(blocks), desc="match: on bits", unit="block") as bar:
                packed = states.reduce(
                    _pack_kernel,
                    blocks,
                    {"rows": "concat", "finite": "min"},
                    args=(bound, None),
                    bar=bar,
                )
            if not packed["finite"].all():  # the check's own pass names the first bad value
                states.trace.check_finite(layer=states.layer, kind=states.kind)
            rows = packed["rows"]
        else:
            rows = np.zeros((n_steps, words * 8), dtype=np.uint8)
            states.reduce(_pack_kernel, blocks, {}, args=(bound, rows))
        self.rows = rows.view(np.uint64)  # (n_steps, words)
        self.byte_columns = np.ascontiguousarray(rows.T)  # (words * 8, n_steps)

    def count(self, cells: np.ndarray) -> np.ndarray:
        """How many of ``cells`` are on at every step, int64 (n_steps,)."""
        total = np.zeros(self.n_steps, dtype=np.int16)
        masks = np.zeros(self.byte_columns.shape[0], dtype=np.uint8)
        np.bitwise_or.at(masks, cells >> 3, (1 << (cells & 7)).astype(np.uint8))
        for byte in np.flatnonzero(masks):
            total += _BYTE_POPCOUNT_U8[self.byte_columns[byte] & masks[byte]]
        return total.astype(np.int64)

    def mask(self, cells: np.ndarray) -> np.ndarray:
        """``cells`` as a row of bits, uint64 (words,)."""
        on = np.zeros(self.rows.shape[1] * 64, dtype=bool)
        on[cells] = True
        return np.packbits(on, bitorder="little").view(np.uint64)

    def cells_of(self, row: np.ndarray) -> np.ndarray:
        """The cells set in a row of bits, sorted int64."""
        bits = np.unpackbits(row.view(np.uint8), bitorder="little")[: self.n_cells]
        return np.flatnonzero(bits).astype(np.int64)


def _pack_kernel(
    states: np.ndarray,
    blocks: list[tuple[int, int, int]],
    bound: np.float32,
    out: np.ndarray | None,
    bar: Any,
) -> dict[str, np.ndarray]:
    """The on bits (``>= bound``) of the rows of ``blocks``, 8 bytes per 64 cells a row.

    Written into ``out`` (every step) when given, else returned as ``{"rows": ...}`` with
    ``"finite"``: whether every value read was finite. A NaN reads as "off", so a store's
    first pass checks what it reads (min and max, in memory) instead of reading the store a
    second time for ``trace.check_finite``.
    """
    n_cells = states.shape[1]
    width = -(-n_cells // 64) * 8
    parts = []
    finite = True
    for _, start, stop in blocks:
        block = states[start:stop]
        packed = np.packbits(block >= bound, axis=1, bitorder="little")
        if out is not None:
            out[start:stop, : packed.shape[1]] = packed
        else:
            finite = finite and bool(np.isfinite(block.min()) and np.isfinite(block.max()))
            part = np.zeros((stop - start, width), dtype=np.uint8)
            part[:, : packed.shape[1]] = packed
            parts.append(part)
        bar.update(1)
    if out is not None:
        return {}
    return {"rows": np.concatenate(parts), "finite": np.array([finite])}


_cache: weakref.WeakKeyDictionary[Trace, OrderedDict[tuple[int, str, float], _OnBits]] = (
    weakref.WeakKeyDictionary()
)
_cache_lock = threading.Lock()


def _on_bits(trace: Trace, layer: int, kind: str, threshold: float) -> _OnBits:
    key = (layer, kind, threshold)
    with _cache_lock:
        per_trace = _cache.setdefault(trace, OrderedDict())
        if key in per_trace:
            per_trace.move_to_end(key)
            return per_trace[key]
    bits = _OnBits(StateSource(trace, layer, kind), threshold)
    with _cache_lock:
        per_trace[key] = bits
        while len(per_trace) > _CACHED_THRESHOLDS:
            per_trace.popitem(last=False)
    return bits


# ---------------------------------------------------------------------------------- candidates


def _candidate_levels(
    count: np.ndarray, bounds: np.ndarray, n_selected: int, min_shared: int, min_length: int
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Per level k (highest first), the runs first found at k: (k, starts, stops)."""
    n_steps = len(count)
    first_step = np.zeros(n_steps, dtype=bool)
    first_step[bounds[:, 0][bounds[:, 0] < n_steps]] = True
    last_step = np.zeros(n_steps, dtype=bool)
    last_step[bounds[:, 1][bounds[:, 1] > bounds[:, 0]] - 1] = True
    found = []
    for k in range(n_selected, min_shared - 1, -1):
        on = count >= k
        if not on.any():
            continue
        previous_on = np.concatenate([[False], on[:-1]])
        next_on = np.concatenate([on[1:], [False]])
        starts = np.flatnonzero(on & (first_step | ~previous_on))
        stops = np.flatnonzero(on & (last_step | ~next_on)) + 1
        long_enough = stops - starts >= min_length
        if not long_enough.any():
            continue
        found.append((np.full(long_enough.sum(), k), starts[long_enough], stops[long_enough]))
    if not found:
        return []
    level, starts, stops = (np.concatenate(parts) for parts in zip(*found, strict=True))
    # A run found at several levels is one candidate, kept at its highest level (first seen).
    _, first = np.unique(starts * (n_steps + 1) + stops, return_index=True)
    first.sort()
    level, starts, stops = level[first], starts[first], stops[first]
    edges = np.flatnonzero(np.diff(level)) + 1
    return [
        (int(ks[0]), a, b)
        for ks, a, b in zip(
            np.split(level, edges), np.split(starts, edges), np.split(stops, edges), strict=True
        )
    ]


def _rank(
    bits: _OnBits,
    bounds: np.ndarray,
    selected: np.ndarray,
    levels: list[tuple[int, np.ndarray, np.ndarray]],
    pad_before: int,
    pad_after: int,
    top: int,
) -> list[tuple[int, int, np.ndarray]]:
    """The best ``top`` candidates as (start, stop, S2 bits), best first."""
    s1 = bits.mask(selected)
    n1 = len(selected)
    kept_starts, kept_stops, kept_s2 = [], [], []
    best: np.ndarray | None = None  # sort keys of the current top, as rows
    for k, starts, stops in levels:
        if best is not None and len(best) >= top and -best[-1, 0] > k:
            break  # every remaining candidate shares at most k cells with S1
        s2 = _s2(bits, bounds, starts, stops, pad_before, pad_after)
        kept_starts.append(starts)
        kept_stops.append(stops)
        kept_s2.append(s2)
        all_starts = np.concatenate(kept_starts)
        all_stops = np.concatenate(kept_stops)
        all_s2 = np.concatenate(kept_s2)
        shared = _popcount(all_s2 & s1)
        union = n1 + _popcount(all_s2) - shared
        order = np.lexsort((all_starts, -(all_stops - all_starts), union, -shared))[:top]
        kept_starts, kept_stops, kept_s2 = [all_starts[order]], [all_stops[order]], [all_s2[order]]
        best = np.stack([-shared[order], union[order]], axis=1)
    if not kept_starts:
        return []
    return list(zip(kept_starts[0].tolist(), kept_stops[0].tolist(), kept_s2[0], strict=True))


def _popcount(rows: np.ndarray) -> np.ndarray:
    """Set bits per row of a (n, words) uint64 array, int64 (n,)."""
    if hasattr(np, "bitwise_count"):  # numpy >= 2
        return np.bitwise_count(rows).sum(axis=1, dtype=np.int64)
    as_bytes = np.ascontiguousarray(rows).view(np.uint8).reshape(len(rows), -1)
    return _BYTE_POPCOUNT[as_bytes].sum(axis=1)


def _s2(
    bits: _OnBits,
    bounds: np.ndarray,
    starts: np.ndarray,
    stops: np.ndarray,
    pad_before: int,
    pad_after: int,
) -> np.ndarray:
    """S2 of disjoint runs ``starts:stops`` (sorted), as rows of bits (n_runs, words)."""
    rows = bits.rows
    lengths = stops - starts
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    if lengths.sum() * 4 < len(rows):
        # Few steps in runs (high levels): AND over just those rows, gathered.
        run_rows = np.arange(lengths.sum()) + np.repeat(starts - offsets, lengths)
        s2 = np.bitwise_and.reduceat(rows[run_rows], offsets, axis=0)
    else:
        indices = np.empty(2 * len(starts), dtype=np.int64)
        indices[0::2], indices[1::2] = starts, stops
        if indices[-1] == len(rows):
            indices = indices[:-1]  # reduceat runs the last index to the end
        s2 = np.bitwise_and.reduceat(rows, indices, axis=0)[0::2]
    sequence = np.searchsorted(bounds[:, 0], starts, side="right") - 1
    first, last = bounds[sequence, 0], bounds[sequence, 1]
    for offset in range(1, pad_before + 1):
        step = starts - offset
        inside = step >= first
        s2[inside] &= ~rows[step[inside]]
    for offset in range(pad_after):
        step = stops + offset
        inside = step < last
        s2[inside] &= ~rows[step[inside]]
    return s2


def _match(
    trace: Trace,
    bounds: np.ndarray,
    bits: _OnBits,
    count: np.ndarray,
    selected: np.ndarray,
    start: int,
    stop: int,
    s2: np.ndarray,
    context: int,
) -> Match:
    sequence = int(np.searchsorted(bounds[:, 0], start, side="right") - 1)
    first, last = int(bounds[sequence, 0]), int(bounds[sequence, 1])
    context_start, context_stop = max(first, start - context), min(last, stop + context)
    cells = bits.cells_of(s2)
    shared = int(np.isin(selected, cells).sum())
    return Match(
        sequence=sequence,
        start=start,
        stop=stop,
        shared=shared,
        union=len(selected) + len(cells) - shared,
        cells=cells,
        context_start=context_start,
        counts=count[context_start:context_stop].copy(),
    )
