"""MatchView's kernel side: what it sends, when it recomputes, errors in place, navigation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from rnn_widgets import Selection, SelectView, Trace
from rnn_widgets.analysis import match
from rnn_widgets.widgets.match_view import EMPTY_SELECTION, MatchView

from .conftest import CommRecorder, send_from_frontend

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def trace() -> Trace:
    """Three sequences (12, 8, 10 steps), 6 on/off cells, a categorical and a numeric track."""
    rng = np.random.default_rng(0)
    tokens = [
        [f"w{i}" for i in range(12)],
        [f"v{i}" for i in range(8)],
        [XSS] + [f"u{i}" for i in range(9)],
    ]
    on = (rng.random((30, 6)) > 0.5).astype(np.float32)
    base = Trace.from_arrays(tokens, {(0, "h"): on, (0, "c"): 1 - on, (1, "h"): on[:, :3]})
    return base.with_track("pos", [["N", "V", "D"][i % 3] for i in range(30)]).with_track(
        "surprise", np.arange(30, dtype=float) / 2
    )


def _selected(trace: Trace, cells=(0, 2), **kwargs) -> Selection:
    return Selection(cells=cells, threshold=0.5, **kwargs)


def _u32(payload: dict) -> np.ndarray:
    assert payload["dtype"] == "uint32"
    array = np.frombuffer(bytes(payload["data"]), dtype="<u4")
    assert list(array.shape) == payload["shape"]
    return array


def _f32(payload: dict) -> np.ndarray:
    assert payload["dtype"] == "float32"
    return np.frombuffer(bytes(payload["data"]), dtype="<f4")


def _row_counts(view: MatchView) -> list[list[int]]:
    counts, offsets = _u32(view._rows["counts"]), _u32(view._rows["offsets"])
    return [counts[a:b].tolist() for a, b in itertools.pairwise(offsets)]


def _expected(trace: Trace, view: MatchView):
    s = view.selection
    return match(
        trace,
        list(s.cells),
        s.threshold,
        s.pad_before,
        s.pad_after,
        top=view.top,
        min_length=view.min_length,
        layer=s.layer,
        kind=s.kind,
        context=view.context,
    )


def _assert_rows_equal_match(trace: Trace, view: MatchView) -> None:
    expected = _expected(trace, view)
    rows = view._rows["rows"]
    assert len(rows) == len(expected.matches)
    for row, m in zip(rows, expected.matches, strict=True):
        assert (row["sequence"], row["start"], row["stop"]) == (m.sequence, m.start, m.stop)
        assert (row["shared"], row["union"]) == (m.shared, m.union)
        assert row["context_start"] == m.context_start
        assert row["position"] == m.start - trace.sequence_range(m.sequence)[0]
        assert row["tokens"] == trace.tokens[m.context_start : m.context_stop]
    assert _row_counts(view) == [m.counts.tolist() for m in expected.matches]
    assert view._rows["n_selected"] == len(expected.cells)
    assert view._rows["n_candidates"] == expected.n_candidates


# ---------------------------------------------------------------------------------- payload


def test_rows_equal_the_results_of_match(trace):
    view = MatchView(trace, selection=_selected(trace), top=50, context=2)
    assert view.error == ""
    assert len(view._rows["rows"]) > 3
    _assert_rows_equal_match(trace, view)
    assert view.result is not None
    assert view.result.matches[0].start == view._rows["rows"][0]["start"]


def test_only_the_top_rows_are_sent(trace):
    everything = match(trace, [0, 2], 0.5, top=1000)
    assert len(everything) > 3
    view = MatchView(trace, selection=_selected(trace), top=3)
    assert len(view._rows["rows"]) == 3
    assert [r["start"] for r in view._rows["rows"]] == [m.start for m in everything.matches[:3]]
    assert view._rows["n_candidates"] == everything.n_candidates
    assert set(view._rows) == {"rows", "counts", "offsets", "n_selected", "n_candidates", "track"}
    assert set(view._rows["rows"][0]) == {
        "sequence",
        "start",
        "stop",
        "shared",
        "union",
        "position",
        "context_start",
        "tokens",
    }


def test_counts_travel_as_one_uint32_buffer_not_json(trace):
    view = MatchView(trace, selection=_selected(trace), top=4, context=1)
    counts, offsets = _u32(view._rows["counts"]), _u32(view._rows["offsets"])
    assert counts.dtype == np.dtype("<u4") and offsets.dtype == np.dtype("<u4")
    assert len(offsets) == 5 and offsets[0] == 0 and offsets[-1] == len(counts)
    assert all(
        len(row["tokens"]) == b - a
        for row, a, b in zip(view._rows["rows"], offsets[:-1], offsets[1:], strict=True)
    )
    recorder = CommRecorder(view)
    view.top = 5
    message = recorder.updated("_rows")[-1]
    assert ["_rows", "counts", "data"] in message["buffer_paths"]
    assert ["_rows", "offsets", "data"] in message["buffer_paths"]
    assert all(isinstance(b, (bytes, memoryview)) for b in message["buffers"])
    assert not isinstance(message["state"]["_rows"]["counts"].get("data"), list)


def test_tokens_are_sent_as_plain_strings(trace):
    selection = _selected(trace)
    view = MatchView(trace, selection=selection, top=50, context=3)
    tokens = [t for row in view._rows["rows"] for t in row["tokens"]]
    assert all(isinstance(t, str) for t in tokens)
    assert tokens  # sent as is: the front end renders them as text


def test_tracks_lists_the_trace_tracks(trace):
    assert MatchView(trace)._tracks == ["pos", "surprise"]


# ---------------------------------------------------------------------------------- tracks


def test_categorical_track_values_over_each_context_window(trace):
    view = MatchView(trace, selection=_selected(trace), top=5, context=2, track="pos")
    payload = view._rows["track"]
    assert payload["label_type"] == "categorical" and payload["name"] == "pos"
    assert payload["categories"] == ["D", "N", "V"]
    codes = _u32(payload["values"])
    assert len(codes) == len(_u32(view._rows["counts"]))
    offsets = _u32(view._rows["offsets"])
    for row, a, b in zip(view._rows["rows"], offsets[:-1], offsets[1:], strict=True):
        steps = range(row["context_start"], row["context_start"] + b - a)
        labels = [payload["categories"][c] for c in codes[a:b]]
        assert labels == [["N", "V", "D"][s % 3] for s in steps]


def test_numeric_track_values_are_float32(trace):
    view = MatchView(trace, selection=_selected(trace), top=5, context=2)
    assert view._rows["track"] is None
    view.track = "surprise"
    payload = view._rows["track"]
    assert payload["label_type"] == "numeric"
    assert payload["value_range"] == [0.0, 14.5]
    values = _f32(payload["values"])
    offsets = _u32(view._rows["offsets"])
    for row, a, b in zip(view._rows["rows"], offsets[:-1], offsets[1:], strict=True):
        steps = np.arange(row["context_start"], row["context_start"] + b - a)
        np.testing.assert_array_equal(values[a:b], steps / 2)
    view.track = None
    assert view._rows["track"] is None


def test_the_browser_chooses_a_track(trace):
    view = MatchView(trace, selection=_selected(trace), top=3)
    send_from_frontend(view, {"track": "pos"})
    assert view._rows["track"]["name"] == "pos"
    send_from_frontend(view, {"track": None})
    assert view._rows["track"] is None


# ---------------------------------------------------------------------------------- recompute


def test_recomputes_when_the_selection_changes(trace):
    selection = _selected(trace)
    view = MatchView(trace, selection=selection, top=50, context=2)
    first = view._rows
    selection.cells = [1, 3, 4]
    assert view._rows["n_selected"] == 3
    _assert_rows_equal_match(trace, view)
    assert view._rows != first
    selection.pad_before = 0
    _assert_rows_equal_match(trace, view)
    selection.pad_after = 1
    _assert_rows_equal_match(trace, view)
    selection.threshold = 0.0  # every cell on at every step
    _assert_rows_equal_match(trace, view)
    selection.kind = "c"
    _assert_rows_equal_match(trace, view)
    selection.update({"layer": 1, "kind": "h", "cells": [0, 1], "threshold": 0.5})
    assert view.error == ""
    _assert_rows_equal_match(trace, view)


def test_recomputes_on_a_selection_message_from_the_browser(trace):
    selection = _selected(trace)
    view = MatchView(trace, selection=selection, top=50)
    send_from_frontend(selection, {"pad_before": 0, "threshold": 0.25})
    assert selection.threshold == 0.25
    _assert_rows_equal_match(trace, view)


def test_recomputes_when_its_own_options_change(trace):
    view = MatchView(trace, selection=_selected(trace), top=50, context=1)
    view.top = 2
    assert len(view._rows["rows"]) == 2
    view.context = 0
    assert all(len(r["tokens"]) == r["stop"] - r["start"] for r in view._rows["rows"])
    view.min_length = 2
    assert all(r["stop"] - r["start"] >= 2 for r in view._rows["rows"])
    _assert_rows_equal_match(trace, view)


def test_hover_and_sequence_do_not_recompute(trace):
    selection = _selected(trace)
    view = MatchView(trace, selection=selection)
    recorder = CommRecorder(view)
    selection.hovered_step = 4
    selection.sequence = 1
    assert recorder.updated("_rows") == []


def test_the_users_cells_are_not_modified(trace):
    cells = [4, 0, 2]
    selection = Selection(cells=cells, threshold=0.5)
    view = MatchView(trace, selection=selection)
    view.top = 3
    assert cells == [4, 0, 2]
    assert selection.cells == (0, 2, 4)
    array = np.array([3, 1])
    selection.cells = array
    assert array.tolist() == [3, 1]


# ---------------------------------------------------------------------------------- errors


def test_an_empty_selection_shows_a_hint_not_an_error(trace):
    view = MatchView(trace)
    assert view.hint == EMPTY_SELECTION and view.error == ""
    assert "Select cells to match" in view.hint
    assert view._rows is None and view.result is None
    view.selection.cells = [1]
    assert view.hint == "" and view.error == "" and view._rows is not None
    view.selection.cells = []
    assert view.hint == EMPTY_SELECTION and view.error == "" and view._rows is None


def test_an_error_replaces_the_hint(trace):
    view = MatchView(trace)
    view.selection.update({"cells": [1], "threshold": 7.0})
    assert "threshold" in view.error and view.hint == ""


def test_a_threshold_outside_the_data_is_reported_in_place(trace):
    selection = _selected(trace)
    view = MatchView(trace, selection=selection)
    selection.threshold = 7.0  # no raise
    assert "threshold" in view.error and "outside" in view.error
    assert view._rows is None
    selection.threshold = 0.5
    assert view.error == ""
    _assert_rows_equal_match(trace, view)


def test_an_unknown_layer_or_kind_or_cell_is_reported_in_place(trace):
    selection = _selected(trace)
    view = MatchView(trace, selection=selection)
    selection.layer = 5
    assert "layer 5" in view.error and view._rows is None
    selection.layer = 1
    selection.kind = "c"
    assert "'c'" in view.error
    selection.kind = "h"
    selection.cells = [0, 5]  # layer 1 has 3 cells
    assert "3 cells" in view.error
    selection.cells = [0, 2]
    assert view.error == ""


# ---------------------------------------------------------------------------------- navigation


def test_navigate_to_focuses_the_sequence_and_scrolls_the_select_view(trace):
    select = SelectView(trace, selection=_selected(trace), window_size=4)
    view = MatchView(trace, select_view=select)
    assert view.selection is select.selection
    assert view.select_view is select
    send_from_frontend(view, {"navigate_to": 25})
    assert view.selection.sequence == 2
    start, stop = select.window
    assert start <= 25 < stop
    assert view.navigate_to is None
    send_from_frontend(view, {"navigate_to": 14})
    assert view.selection.sequence == 1
    start, stop = select.window
    assert start <= 14 < stop
    assert view.navigate_to is None


def test_link_attaches_a_select_view_later(trace):
    selection = _selected(trace)
    view = MatchView(trace, selection=selection)
    send_from_frontend(view, {"navigate_to": 13})
    assert selection.sequence == 1 and view.navigate_to is None
    select = SelectView(trace, selection=selection, window_size=3)
    view.link(select)
    send_from_frontend(view, {"navigate_to": 27})
    assert selection.sequence == 2
    assert select.window[0] <= 27 < select.window[1]


def test_navigate_to_outside_the_trace_is_ignored(trace):
    selection = _selected(trace)
    view = MatchView(trace, selection=selection)
    send_from_frontend(view, {"navigate_to": 999})
    assert selection.sequence == 0 and view.navigate_to is None


def test_close_stops_listening(trace):
    selection = _selected(trace)
    view = MatchView(trace, selection=selection)
    rows = view._rows
    view.close()
    selection.cells = [1]
    assert view._rows is rows


# ---------------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"top": 0}, ValueError, "top"),
        ({"top": 2.5}, TypeError, "top"),
        ({"context": -1}, ValueError, "context"),
        ({"min_length": 0}, ValueError, "min_length"),
        ({"track": "nope"}, ValueError, "track"),
        ({"track": 3}, TypeError, "track"),
        ({"select_view": "view"}, TypeError, "select_view"),
    ],
)
def test_bad_arguments_raise_naming_them(trace, kwargs, error, name):
    with pytest.raises(error, match=name):
        MatchView(trace, **kwargs)


def test_bad_trace_and_selection_raise(trace):
    with pytest.raises(TypeError, match="trace"):
        MatchView("not a trace")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="selection"):
        MatchView(trace, selection={"cells": [1]})  # type: ignore[arg-type]


def test_a_select_view_of_another_trace_or_selection_is_refused(trace, two_layer_trace):
    with pytest.raises(ValueError, match="same trace"):
        MatchView(trace, select_view=SelectView(two_layer_trace))
    view = MatchView(trace, selection=Selection())
    with pytest.raises(ValueError, match="selection"):
        view.link(SelectView(trace))
    with pytest.raises(TypeError, match="select_view"):
        view.link(object())  # type: ignore[arg-type]


def test_bad_values_set_later_raise_naming_them(trace):
    view = MatchView(trace, selection=_selected(trace))
    with pytest.raises(ValueError, match="top"):
        view.top = -3
    with pytest.raises(ValueError, match="track"):
        view.track = "missing"
    assert view.error == ""


def test_several_fields_changed_at_once_compute_once(trace, monkeypatch):
    selection = _selected(trace)
    view = MatchView(trace, selection=selection)
    calls = []
    original = view._payload
    monkeypatch.setattr(view, "_payload", lambda: calls.append(1) or original())
    selection.update({"cells": [1, 3], "threshold": 0.25, "pad_before": 0})
    assert len(calls) == 1
    _assert_rows_equal_match(trace, view)
    view.refresh()
    assert len(calls) == 2
