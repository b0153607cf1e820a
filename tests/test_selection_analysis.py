"""LSTMVis's select and match (paper §5.2-5.3): known answers, the reference, bad input."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnn_widgets import Trace
from rnn_widgets.analysis import Match, MatchResult, match, select_cells

from ._selection_reference import reference_match, reference_select_cells

ON = 0.5  # threshold for the hand-built traces: on cells are 1.0, off cells 0.0

# ---------------------------------------------------------------------------- helpers


def trace_of(lengths: list[int], n_cells: int, on: dict[int, list[tuple[int, int]]]) -> Trace:
    """A trace whose cell ``c`` is 1.0 over each global range in ``on[c]`` and 0.0 elsewhere."""
    states = np.zeros((sum(lengths), n_cells), dtype=np.float32)
    for cell, ranges in on.items():
        for a, b in ranges:
            states[a:b, cell] = 1.0
    tokens = [[str(i) for i in range(length)] for length in lengths]
    return Trace.from_arrays(tokens, {"h": states})


def plain_match(m: Match) -> dict[str, Any]:
    return {
        "sequence": m.sequence,
        "start": m.start,
        "stop": m.stop,
        "shared": m.shared,
        "union": m.union,
        "cells": tuple(np.asarray(m.cells).tolist()),
        "context_start": m.context_start,
        "context_stop": m.context_stop,
        "counts": tuple(np.asarray(m.counts).tolist()),
    }


def plain(result: MatchResult) -> dict[str, Any]:
    return {
        "cells": tuple(np.asarray(result.cells).tolist()),
        "n_candidates": result.n_candidates,
        "matches": [plain_match(m) for m in result],
    }


def spans(result: MatchResult) -> list[tuple[int, int]]:
    return [(m.start, m.stop) for m in result]


def assert_same_matches(got: dict[str, Any], expected: dict[str, Any]) -> None:
    """Compare plain results, pointing at the first differing match rather than a huge diff."""
    assert got["cells"] == expected["cells"]
    assert got["n_candidates"] == expected["n_candidates"], "candidate set size differs"
    for rank, (g, e) in enumerate(zip(got["matches"], expected["matches"], strict=False)):
        assert g == e, f"match #{rank} differs:\n got      {g}\n expected {e}"
    assert len(got["matches"]) == len(expected["matches"])


@pytest.fixture
def nested_trace() -> Trace:
    """One 10-step sequence: cells 0 and 1 on over 3:6, cell 2 over 2:7, cell 3 never."""
    return trace_of([10], 4, {0: [(3, 6)], 1: [(3, 6)], 2: [(2, 7)]})


# ---------------------------------------------------------------------------- select_cells


def test_select_cells_requires_off_at_the_step_before_by_default(nested_trace: Trace) -> None:
    assert select_cells(nested_trace, 3, 6, ON).tolist() == [0, 1]


def test_select_cells_without_padding_keeps_every_cell_on_throughout(nested_trace: Trace) -> None:
    assert select_cells(nested_trace, 3, 6, ON, pad_before=0).tolist() == [0, 1, 2]


def test_select_cells_pad_after_requires_off_after_the_range(nested_trace: Trace) -> None:
    assert select_cells(nested_trace, 3, 6, ON, pad_before=0, pad_after=1).tolist() == [0, 1]
    assert select_cells(nested_trace, 3, 5, ON, pad_before=0, pad_after=1).tolist() == []


def test_select_cells_wider_padding_checks_every_padding_step(nested_trace: Trace) -> None:
    assert select_cells(nested_trace, 4, 6, ON, pad_before=2).tolist() == []
    assert select_cells(nested_trace, 2, 7, ON, pad_before=2, pad_after=2).tolist() == [2]


def test_select_cells_returns_sorted_int64_array(nested_trace: Trace) -> None:
    cells = select_cells(nested_trace, 3, 6, ON, pad_before=0)
    assert isinstance(cells, np.ndarray)
    assert cells.dtype == np.int64
    assert cells.ndim == 1


def test_select_cells_threshold_is_inclusive() -> None:
    states = np.array([[0, 0], [0.5, 1], [0.5, 1], [0, 0.5]], dtype=np.float32)
    trace = Trace.from_arrays([["a", "b", "c", "d"]], {"h": states})
    assert select_cells(trace, 1, 3, 0.5).tolist() == [0, 1]
    assert select_cells(trace, 1, 3, 0.5, pad_after=1).tolist() == [0]  # 0.5 >= 0.5 is on
    assert select_cells(trace, 1, 3, 0.625, pad_after=1).tolist() == [1]


def test_select_cells_padding_outside_the_sequence_imposes_nothing() -> None:
    # Sequences 0:4 and 4:8; cell 0 is on over 2:6 and cell 1 over 3:6, across the boundary.
    trace = trace_of([4, 4], 2, {0: [(2, 6)], 1: [(3, 6)]})
    assert select_cells(trace, 4, 6, ON, pad_before=1).tolist() == [0, 1]
    assert select_cells(trace, 4, 6, ON, pad_before=2).tolist() == [0, 1]
    assert select_cells(trace, 2, 4, ON, pad_before=0, pad_after=1).tolist() == [0]
    assert select_cells(trace, 3, 4, ON, pad_before=0, pad_after=2).tolist() == [0, 1]


@pytest.mark.parametrize(
    ("start", "stop"),
    [(3, 5), (0, 8), (3, 3), (5, 3), (8, 9), (-1, 2), (2, 9)],
    ids=["crosses", "spans-all", "empty", "reversed", "past-end", "negative", "stop-past-end"],
)
def test_select_cells_rejects_ranges_not_inside_one_sequence(start: int, stop: int) -> None:
    trace = trace_of([4, 4], 2, {0: [(2, 6)]})
    with pytest.raises(ValueError, match=r"(?i)sequence|empty|start|stop"):
        select_cells(trace, start, stop, ON)


# ---------------------------------------------------------------------------- match: known answers


def worked_example() -> Trace:
    """One 10-step sequence: cell 0 on over 2:7, cell 1 over 4:9, cell 2 over 4:6."""
    return trace_of([10], 4, {0: [(2, 7)], 1: [(4, 9)], 2: [(4, 6)]})


def test_match_worked_example_with_pad_before() -> None:
    result = match(worked_example(), [0, 1], ON, context=2)
    # k=2: run 4:7; k=1: run 2:9. At 4:7 cell 0 is on at step 3 (the padding step), so S2={1}.
    assert plain(result) == {
        "cells": (0, 1),
        "n_candidates": 2,
        "matches": [
            {
                "sequence": 0,
                "start": 4,
                "stop": 7,
                "shared": 1,
                "union": 2,
                "cells": (1,),
                "context_start": 2,
                "context_stop": 9,
                "counts": (1, 1, 2, 2, 2, 1, 1),
            },
            {
                "sequence": 0,
                "start": 2,
                "stop": 9,
                "shared": 0,
                "union": 2,
                "cells": (),
                "context_start": 0,
                "context_stop": 10,
                "counts": (0, 0, 1, 1, 2, 2, 2, 1, 1, 0),
            },
        ],
    }


def test_match_worked_example_without_padding() -> None:
    result = match(worked_example(), [0, 1], ON, pad_before=0, context=2)
    assert spans(result) == [(4, 7), (2, 9)]
    assert result[0].cells.tolist() == [0, 1]
    assert (result[0].shared, result[0].union) == (2, 2)


def test_match_never_returns_a_run_crossing_a_sequence_boundary() -> None:
    # Sequences 0:5 and 5:10; cells 0 and 1 on over 3:8, straight across the boundary.
    trace = trace_of([5, 5], 3, {0: [(3, 8)], 1: [(3, 8)]})
    result = match(trace, [1, 0], ON, pad_before=0, context=3)
    assert result.n_candidates == 2
    assert [(m.sequence, m.start, m.stop) for m in result] == [(1, 5, 8), (0, 3, 5)]  # longer first
    # context and counts are clipped at the sequence's edges, never reach into the neighbour
    assert (result[0].context_start, result[0].context_stop) == (5, 10)
    assert result[0].counts.tolist() == [2, 2, 2, 0, 0]
    assert (result[1].context_start, result[1].context_stop) == (0, 5)
    assert result[1].counts.tolist() == [0, 0, 0, 2, 2]


def test_match_padding_before_a_run_at_a_sequence_start_imposes_nothing() -> None:
    # Cell 0 on over 3:8 across the 0:5 | 5:10 boundary: 5:8 starts sequence 1, so step 4
    # (sequence 0) is no padding step and cell 0 stays in S2.
    trace = trace_of([5, 5], 2, {0: [(3, 8)]})
    result = match(trace, [0], ON, pad_before=1, pad_after=1)
    by_span = {(m.start, m.stop): m.cells.tolist() for m in result}
    assert by_span == {(3, 5): [0], (5, 8): [0]}


def test_match_run_found_at_several_k_is_one_candidate(nested_trace: Trace) -> None:
    result = match(nested_trace, [0, 1], ON)  # 3:6 is the run for k=2 and for k=1
    assert result.n_candidates == 1
    assert spans(result) == [(3, 6)]


def test_match_ranks_by_shared_then_union_then_length_then_start() -> None:
    # Cell 0 (S1) on over 1:3, 5:8, 10:13 (with non-S1 cell 1) and 15:17.
    trace = trace_of([20], 3, {0: [(1, 3), (5, 8), (10, 13), (15, 17)], 1: [(10, 13)]})
    result = match(trace, [0], ON, pad_before=0)
    assert spans(result) == [(5, 8), (1, 3), (15, 17), (10, 13)]
    assert [m.union for m in result] == [1, 1, 1, 2]


def test_match_ranks_identical_patterns_by_position() -> None:
    trace = trace_of([12], 2, {0: [(8, 10), (2, 4), (5, 7)], 1: [(8, 10), (2, 4), (5, 7)]})
    assert spans(match(trace, [0, 1], ON)) == [(2, 4), (5, 7), (8, 10)]


def test_match_top_cuts_the_list_but_n_candidates_counts_all() -> None:
    trace = trace_of([12], 2, {0: [(8, 10), (2, 4), (5, 7)], 1: [(8, 10), (2, 4), (5, 7)]})
    result = match(trace, [0, 1], ON, top=2)
    assert spans(result) == [(2, 4), (5, 7)]
    assert result.n_candidates == 3


def test_match_min_length_drops_short_runs() -> None:
    trace = trace_of([12], 1, {0: [(1, 2), (4, 6), (8, 11)]})
    assert spans(match(trace, [0], ON, min_length=2)) == [(8, 11), (4, 6)]
    assert match(trace, [0], ON, min_length=4).n_candidates == 0
    assert len(match(trace, [0], ON, min_length=4)) == 0


def test_match_min_shared_limits_the_smallest_k(nested_trace: Trace) -> None:
    # S1 = {0, 2}: k=2 gives 3:6, k=1 gives 2:7.
    assert spans(match(nested_trace, [0, 2], ON, pad_before=0)) == [(3, 6), (2, 7)]
    assert spans(match(nested_trace, [0, 2], ON, pad_before=0, min_shared=2)) == [(3, 6)]


def test_match_treats_cells_as_a_set(nested_trace: Trace) -> None:
    once = match(nested_trace, [2, 0], ON)
    twice = match(nested_trace, [0, 2, 0, 2], ON)
    assert once.cells.tolist() == [0, 2]
    assert plain(twice) == plain(once)
    assert match(nested_trace, [0, 2, 0, 2], ON, min_shared=2).n_candidates == 1  # |S1| = 2
    with pytest.raises(ValueError, match="min_shared"):
        match(nested_trace, [0, 0], ON, min_shared=2)  # |S1| = 1


def test_match_result_echoes_its_settings_and_is_a_sequence_of_matches() -> None:
    result = match(worked_example(), np.array([1, 0]), ON, pad_before=2, pad_after=1)
    assert isinstance(result, MatchResult)
    assert result.cells.dtype == np.int64
    assert result.cells.tolist() == [0, 1]
    assert result.threshold == ON
    assert (result.pad_before, result.pad_after) == (2, 1)
    assert (result.layer, result.kind) == (0, "h")
    assert isinstance(result.matches, tuple)
    assert len(result) == len(result.matches) == 2
    assert list(result) == list(result.matches)
    assert result[0] is result.matches[0]
    assert result[-1] is result.matches[-1]


def test_match_is_a_frozen_dataclass_with_length_and_context_stop() -> None:
    first = match(worked_example(), [0, 1], ON, context=2)[0]
    assert isinstance(first, Match)
    assert first.length == first.stop - first.start == 3
    assert first.context_stop == 9
    assert first.cells.dtype == np.int64
    assert np.issubdtype(np.asarray(first.counts).dtype, np.integer)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.start = 0  # type: ignore[misc]
    result = match(worked_example(), [0, 1], ON)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.n_candidates = 0  # type: ignore[misc]


def test_match_reads_the_requested_layer_and_kind() -> None:
    rng = np.random.default_rng(0)
    h = np.zeros((30, 5), dtype=np.float32)
    c = (rng.integers(0, 3, size=(30, 5)) / 2).astype(np.float32)
    deep = (rng.integers(0, 3, size=(30, 5)) / 2).astype(np.float32)
    trace = Trace.from_arrays(
        [[str(i) for i in range(12)], [str(i) for i in range(18)]],
        {(0, "h"): h, (0, "c"): c, (1, "h"): deep},
    )
    bounds = trace.sequence_bounds
    for layer, kind, states in [(0, "c", c), (1, "h", deep)]:
        got = match(trace, [0, 3], 0.5, layer=layer, kind=kind, top=10_000)
        assert (got.layer, got.kind) == (layer, kind)
        expected = reference_match(states, bounds, [0, 3], 0.5, 1, 0, 10_000, 1, 1, 3)
        assert_same_matches(plain(got), expected)
        assert select_cells(trace, 2, 7, 0.5, layer=layer, kind=kind).tolist() == list(
            reference_select_cells(states, bounds, 2, 7, 0.5, 1, 0)
        )


# ---------------------------------------------------------------------------- against the reference


@st.composite
def random_traces(draw: st.DrawFn) -> Trace:
    """Up to ~2,400 steps in 1-6 sequences; piecewise-constant quantised cells plus noise."""
    n_cells = draw(st.integers(4, 24))
    lengths = draw(
        st.lists(st.one_of(st.integers(1, 4), st.integers(1, 400)), min_size=1, max_size=6)
    )
    seed = draw(st.integers(0, 2**32 - 1))
    mean_block = draw(st.sampled_from([1, 3, 10, 40]))
    noise = draw(st.sampled_from([0.0, 0.02, 0.1]))
    n_levels = draw(st.integers(2, 9))
    rng = np.random.default_rng(seed)
    levels = (np.arange(n_levels) / 4 - 1).astype(np.float32)  # exact in float32
    n_steps = sum(lengths)
    states = np.empty((n_steps, n_cells), dtype=np.float32)
    for cell in range(n_cells):
        step = 0
        while step < n_steps:
            block = int(rng.geometric(1 / mean_block))
            states[step : step + block, cell] = rng.choice(levels)
            step += block
    noisy = rng.random(states.shape) < noise
    states[noisy] = rng.choice(levels, size=int(noisy.sum()))
    tokens = [[str(i) for i in range(length)] for length in lengths]
    return Trace.from_arrays(tokens, {"h": states})


def threshold_among_values(data: st.DataObject, states: np.ndarray) -> float:
    return float(data.draw(st.sampled_from(np.unique(states).tolist()), label="threshold"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_traces(), st.data())
def test_match_equals_the_reference(trace: Trace, data: st.DataObject) -> None:
    states = trace.states()
    n_cells = states.shape[1]
    cells = data.draw(
        st.lists(st.integers(0, n_cells - 1), min_size=1, max_size=8, unique=True), label="cells"
    )
    threshold = threshold_among_values(data, states)
    pad_before = data.draw(st.integers(0, 2), label="pad_before")
    pad_after = data.draw(st.integers(0, 2), label="pad_after")
    min_shared = data.draw(st.integers(1, len(cells)), label="min_shared")
    min_length = data.draw(st.integers(1, 3), label="min_length")
    top = data.draw(st.sampled_from([1, 5, 50, 10_000]), label="top")
    context = data.draw(st.integers(0, 3), label="context")

    result = match(
        trace,
        cells,
        threshold,
        pad_before,
        pad_after,
        top=top,
        min_shared=min_shared,
        min_length=min_length,
        context=context,
    )
    expected = reference_match(
        states,
        trace.sequence_bounds,
        cells,
        threshold,
        pad_before,
        pad_after,
        top,
        min_shared,
        min_length,
        context,
    )
    assert_same_matches(plain(result), expected)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_traces(), st.data())
def test_select_cells_equals_the_reference(trace: Trace, data: st.DataObject) -> None:
    states = trace.states()
    bounds = trace.sequence_bounds
    threshold = threshold_among_values(data, states)
    pad_before = data.draw(st.integers(0, 2), label="pad_before")
    pad_after = data.draw(st.integers(0, 2), label="pad_after")
    for _ in range(5):
        sequence = data.draw(st.integers(0, trace.n_sequences - 1), label="sequence")
        lo, hi = (int(x) for x in bounds[sequence])
        start = data.draw(st.integers(lo, hi - 1), label="start")
        stop = data.draw(st.integers(start + 1, hi), label="stop")
        got = select_cells(trace, start, stop, threshold, pad_before, pad_after)
        expected = reference_select_cells(
            states, bounds, start, stop, threshold, pad_before, pad_after
        )
        assert got.dtype == np.int64
        assert tuple(got.tolist()) == expected


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("threshold", [1.5, -0.5, float("nan")])
def test_match_rejects_a_threshold_outside_the_data_range(
    nested_trace: Trace, threshold: float
) -> None:
    with pytest.raises(ValueError, match="threshold"):
        match(nested_trace, [0], threshold)


@pytest.mark.parametrize("threshold", [1.5, -0.5, float("nan")])
def test_select_cells_rejects_a_threshold_outside_the_data_range(
    nested_trace: Trace, threshold: float
) -> None:
    with pytest.raises(ValueError, match="threshold"):
        select_cells(nested_trace, 3, 6, threshold)


def test_thresholds_at_the_data_extremes_are_accepted(nested_trace: Trace) -> None:
    assert match(nested_trace, [0], 0.0).n_candidates == 1  # everything on: the whole sequence
    assert select_cells(nested_trace, 3, 6, 1.0, pad_before=0).tolist() == [0, 1, 2]


@pytest.mark.parametrize("cells", [[], (), np.array([], dtype=np.int64)])
def test_match_rejects_empty_cells(nested_trace: Trace, cells: Any) -> None:
    with pytest.raises(ValueError, match="empty"):
        match(nested_trace, cells, ON)


@pytest.mark.parametrize("cells", [[4], [0, 99], [-1]])
def test_match_rejects_cell_ids_out_of_range(nested_trace: Trace, cells: list[int]) -> None:
    with pytest.raises(ValueError, match="cells"):
        match(nested_trace, cells, ON)


@pytest.mark.parametrize(("layer", "kind"), [(1, "h"), (0, "c")])
def test_unknown_layer_or_kind_is_rejected(nested_trace: Trace, layer: int, kind: str) -> None:
    with pytest.raises(ValueError):
        match(nested_trace, [0], ON, layer=layer, kind=kind)
    with pytest.raises(ValueError):
        select_cells(nested_trace, 3, 6, ON, layer=layer, kind=kind)


@pytest.mark.parametrize(
    ("argument", "value"),
    [("top", 0), ("top", -1), ("min_shared", 0), ("min_shared", 3), ("min_length", 0)],
)
def test_match_rejects_bad_counts_naming_the_argument(
    nested_trace: Trace, argument: str, value: int
) -> None:
    with pytest.raises(ValueError, match=argument):
        match(nested_trace, [0, 1], ON, **{argument: value})


@pytest.mark.parametrize("argument", ["pad_before", "pad_after"])
def test_negative_padding_is_rejected_naming_the_argument(
    nested_trace: Trace, argument: str
) -> None:
    with pytest.raises(ValueError, match=argument):
        match(nested_trace, [0, 1], ON, **{argument: -1})
    with pytest.raises(ValueError, match=argument):
        select_cells(nested_trace, 3, 6, ON, **{argument: -1})


def test_nothing_passed_in_is_modified(nested_trace: Trace) -> None:
    cells = [2, 0, 2]
    array = np.array([2, 0], dtype=np.int64)
    before = nested_trace.states().copy()
    match(nested_trace, cells, ON)
    match(nested_trace, array, ON)
    select_cells(nested_trace, 3, 6, ON)
    assert cells == [2, 0, 2]
    assert array.tolist() == [2, 0]
    np.testing.assert_array_equal(nested_trace.states(), before)


def test_packing_block_by_block_gives_identical_bits() -> None:
    from rnn_widgets.analysis._chunks import StateSource
    from rnn_widgets.analysis._selection import _OnBits

    rng = np.random.default_rng(5)
    states = rng.standard_normal((1003, 70)).astype(np.float32)
    source = StateSource(Trace.from_arrays(["x"] * 1003, states), 0, "h")
    whole = _OnBits(source, 0.25, block=1 << 15)
    for block in (8, 24, 1000):
        parts = _OnBits(source, 0.25, block=block)
        np.testing.assert_array_equal(parts.rows, whole.rows)
        np.testing.assert_array_equal(parts.byte_columns, whole.byte_columns)
    cells = np.array([0, 3, 64, 69])
    expected = (states[:, cells] >= 0.25).sum(axis=1)
    np.testing.assert_array_equal(whole.count(cells), expected)


def test_a_threshold_between_float32_values_is_compared_exactly() -> None:
    value = np.float32(0.1)  # 0.100000001490116...
    states = np.array([[value], [0.0], [1.0]], dtype=np.float32)
    trace = Trace.from_arrays([["a", "b", "c"]], {"h": states})
    just_above = float(value) + 1e-12  # not representable in float32
    assert select_cells(trace, 0, 1, float(value), pad_before=0).tolist() == [0]
    assert select_cells(trace, 0, 1, just_above, pad_before=0).tolist() == []
    assert [(m.start, m.stop) for m in match(trace, [0], float(value))] == [(0, 1), (2, 3)]
    assert [(m.start, m.stop) for m in match(trace, [0], just_above)] == [(2, 3)]
