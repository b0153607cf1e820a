"""SelectView's kernel side: what it sends, how it answers gestures, errors in place."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_widgets import Selection, SelectView, Trace

from .conftest import CommRecorder, send_from_frontend


def _values(view: SelectView) -> np.ndarray:
    payload = view._window["values"]
    return np.frombuffer(bytes(payload["data"]), dtype=payload["dtype"]).reshape(payload["shape"])


def _u32(view: SelectView, key: str) -> list[int]:
    return np.frombuffer(bytes(view._window[key]["data"]), dtype="<u4").tolist()


def test_sends_only_the_window_it_shows(two_layer_trace):
    view = SelectView(two_layer_trace, window_size=4)
    values = _values(view)
    assert values.dtype == np.float32
    assert values.shape == (4, 4)  # 4 steps of 9, all 4 cells
    assert values[:, 0].tolist() == [0, 1, 2, 3]
    assert view._window["tokens"] == ["the", "cat", "sat", "a"]
    assert _u32(view, "sequence_starts") == [0, 3]
    assert _u32(view, "positions") == [0, 1, 2, 0]


def test_window_arrays_travel_as_binary_buffers_not_json(two_layer_trace):
    view = SelectView(two_layer_trace, window_size=4)
    recorder = CommRecorder(view)
    view.window_start = 3
    message = recorder.updated("_window")[-1]
    assert ["_window", "values", "data"] in message["buffer_paths"]
    assert all(isinstance(b, (bytes, memoryview)) for b in message["buffers"])
    assert not isinstance(message["state"]["_window"].get("values", {}).get("data"), list)


def test_scroll_from_the_browser_sends_the_new_window(two_layer_trace):
    view = SelectView(two_layer_trace, window_size=3)
    send_from_frontend(view, {"window_start": 5})
    assert view._window["start"] == 5
    assert view._window["tokens"][0] == "<img src=x onerror=alert(1)>"
    assert _values(view)[0, 1] == pytest.approx(5.1)


def test_scroll_past_the_end_is_clamped(two_layer_trace):
    view = SelectView(two_layer_trace, window_size=4)
    send_from_frontend(view, {"window_start": 100})
    assert view.window_start == 5
    assert view.window == (5, 9)


def test_window_larger_than_the_trace_shows_everything(two_layer_trace):
    view = SelectView(two_layer_trace, window_size=50)
    assert view.window == (0, 9)
    assert len(view._window["tokens"]) == 9


def test_choosing_a_layer_and_kind_sends_those_states(two_layer_trace):
    view = SelectView(two_layer_trace, window_size=3)
    view.selection.kind = "c"
    assert _values(view)[1, 0] == pytest.approx(-1.0)
    assert view._window["kind"] == "c"
    view.selection.update({"layer": 1, "kind": "h"})
    assert _values(view).shape == (3, 6)
    assert view._window["value_range"] == pytest.approx([-1.0, 1.0])


def test_value_range_is_stable_while_scrolling(two_layer_trace):
    view = SelectView(two_layer_trace, window_size=2)
    first = view._window["value_range"]
    view.window_start = 6
    assert view._window["value_range"] == first


def test_next_sequence_scrolls_to_its_start(two_layer_trace):
    view = SelectView(two_layer_trace, window_size=2)
    send_from_frontend(view.selection, {"sequence": 2})
    assert view.window_start == 5


def test_scrolling_moves_the_sequence_in_focus(two_layer_trace):
    view = SelectView(two_layer_trace, window_size=2)
    view.window_start = 4
    assert view.selection.sequence == 1
    assert view.window_start == 4  # no jump back to the sequence start


def test_scroll_to_makes_a_step_visible(two_layer_trace):
    view = SelectView(two_layer_trace, window_size=4)
    view.scroll_to(7)
    start, stop = view.window
    assert start <= 7 < stop


def test_views_share_one_selection(two_layer_trace):
    selection = Selection()
    first = SelectView(two_layer_trace, selection)
    second = SelectView(two_layer_trace, selection)
    first.selection.kind = "c"
    assert second._window["kind"] == "c"


def test_threshold_changes_need_no_new_window(two_layer_trace):
    view = SelectView(two_layer_trace)
    recorder = CommRecorder(view)
    view.selection.threshold = 0.9
    assert recorder.updated("_window") == []  # the browser redraws from the Selection alone


def test_unknown_kind_is_shown_in_place_not_raised(two_layer_trace):
    view = SelectView(two_layer_trace)
    view.selection.update({"layer": 1, "kind": "c"})
    assert "kind 'c' was not recorded for layer 1" in view.error
    assert view._window is None
    view.selection.kind = "h"
    assert view.error == ""
    assert view._window is not None


def test_unknown_layer_is_shown_in_place(two_layer_trace):
    view = SelectView(two_layer_trace)
    view.selection.layer = 7
    assert "layer 7 was not recorded" in view.error


def test_unknown_sequence_is_shown_in_place(two_layer_trace):
    view = SelectView(two_layer_trace)
    view.selection.sequence = 30
    assert "selection.sequence is 30" in view.error


def test_describes_layers_for_the_drop_downs(two_layer_trace):
    view = SelectView(two_layer_trace)
    assert view._layers == [
        {"layer": 0, "kinds": ["h", "c"], "n_cells": 4},
        {"layer": 1, "kinds": ["h"], "n_cells": 6},
    ]
    assert (view._n_steps, view._n_sequences) == (9, 3)


def test_replacing_the_trace_redraws(two_layer_trace):
    view = SelectView(two_layer_trace)
    view.trace = Trace.from_arrays(["x", "y"], np.ones((2, 3)))
    assert view._window["tokens"] == ["x", "y"]
    assert view._layers == [{"layer": 0, "kinds": ["h"], "n_cells": 3}]


def test_closed_view_stops_listening(two_layer_trace):
    selection = Selection()
    view = SelectView(two_layer_trace, selection)
    view.close()
    selection.kind = "c"
    assert view._window["kind"] == "h"  # the closed view no longer recomputes


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"trace": "not a trace"}, TypeError, "Trace.from_arrays"),
        ({"selection": {"layer": 0}}, TypeError, "rnn_widgets.Selection"),
        ({"window_size": 0}, ValueError, "window_size must be >= 1"),
        ({"height": 10}, ValueError, "height must be >= 50"),
    ],
)
def test_bad_arguments_are_refused(two_layer_trace, kwargs, error, message):
    arguments = {"trace": two_layer_trace, **kwargs}
    with pytest.raises(error, match=message):
        SelectView(**arguments)


def test_a_scroll_into_another_sequence_computes_one_window(two_layer_trace, monkeypatch):
    view = SelectView(two_layer_trace, window_size=2)
    calls = []
    original = view._window_payload
    monkeypatch.setattr(view, "_window_payload", lambda: calls.append(1) or original())
    send_from_frontend(view, {"window_start": 6})
    assert view.selection.sequence == 2
    assert view._window["start"] == 6
    assert len(calls) == 1


def test_next_sequence_near_the_end_keeps_its_focus(two_layer_trace):
    view = SelectView(two_layer_trace, window_size=5)
    view.selection.sequence = 2  # starts at step 5, but a 5-step window can start at 4 at most
    assert view.window == (4, 9)
    assert view.selection.sequence == 2


def test_next_sequence_already_visible_does_not_scroll(two_layer_trace):
    view = SelectView(two_layer_trace, window_size=9)
    view.selection.sequence = 1
    assert view.window == (0, 9)
    assert view.selection.sequence == 1


def test_a_trace_loaded_from_disk_shows_the_same_window(two_layer_trace, tmp_path):
    loaded = Trace.load(two_layer_trace.save(tmp_path / "t.h5"))
    on_disk, in_memory = (
        SelectView(loaded, window_size=4),
        SelectView(two_layer_trace, window_size=4),
    )
    np.testing.assert_array_equal(_values(on_disk), _values(in_memory))
    assert on_disk._window["tokens"] == in_memory._window["tokens"]
