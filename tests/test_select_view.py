"""SelectView's kernel side: what it sends, how it answers gestures, errors in place."""

from __future__ import annotations

import numpy as np
import pytest
import traitlets

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
    first = SelectView(two_layer_trace, selection=selection)
    second = SelectView(two_layer_trace, selection=selection)
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
    assert "kind 'c' is not a kind of layer 1 of the trace" in view.error
    assert view._window is None
    view.selection.kind = "h"
    assert view.error == ""
    assert view._window is not None


def test_unknown_layer_is_shown_in_place(two_layer_trace):
    view = SelectView(two_layer_trace)
    view.selection.layer = 7
    assert "layer 7 is not a layer of the trace" in view.error


def test_unknown_sequence_is_shown_in_place(two_layer_trace):
    view = SelectView(two_layer_trace)
    view.selection.sequence = 30
    assert "selection.sequence is 30" in view.error


def test_describes_layers_for_the_drop_downs(two_layer_trace):
    view = SelectView(two_layer_trace)
    assert view._layers == [
        {"layer": 0, "kinds": ["h", "c"], "n_cells": 4, "widths": {"h": 4, "c": 4}},
        {"layer": 1, "kinds": ["h"], "n_cells": 6, "widths": {"h": 6}},
    ]
    assert (view._n_steps, view._n_sequences) == (9, 3)


def test_replacing_the_trace_redraws(two_layer_trace):
    view = SelectView(two_layer_trace)
    view.trace = Trace.from_arrays(["x", "y"], np.ones((2, 3)))
    assert view._window["tokens"] == ["x", "y"]
    assert view._layers == [{"layer": 0, "kinds": ["h"], "n_cells": 3, "widths": {"h": 3}}]


def test_closed_view_stops_listening(two_layer_trace):
    selection = Selection()
    view = SelectView(two_layer_trace, selection=selection)
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


# ---------------------------------------------------------------- selected cells from the range


def test_brushed_range_defines_the_selected_cells(two_layer_trace):
    view = SelectView(two_layer_trace, window_size=4)
    recorder = CommRecorder(view.selection)
    send_from_frontend(view.selection, {"start": 1, "stop": 3, "threshold": 1.0})
    assert view.selection.cells == (0, 1, 2, 3)  # on at steps 1-2, off at step 0
    assert len(recorder.updated("cells")) == 1  # one kernel -> browser message
    assert not any("start" in m["state"] for m in recorder.messages)  # no echo
    send_from_frontend(view.selection, {"threshold": 1.2})
    assert view.selection.cells == (2, 3)
    assert view.select_error == ""


def test_padding_after_the_range_switches_cells_off(two_layer_trace):
    view = SelectView(two_layer_trace)
    view.selection.update({"start": 5, "stop": 6, "threshold": 5.0, "pad_before": 0})
    assert view.selection.cells == (0, 1, 2, 3)
    view.selection.pad_after = 1  # step 6 is on for every cell
    assert view.selection.cells == ()


def test_a_clicked_cell_still_toggles_after_the_range_selected(two_layer_trace):
    view = SelectView(two_layer_trace)
    view.selection.update({"start": 1, "stop": 3, "threshold": 1.2})
    send_from_frontend(
        view.selection, {"cells": None}, buffer_paths=[["cells"]], buffers=[b"\x00\x00\x00\x00"]
    )
    assert view.selection.cells == (0,)  # not recomputed: the range did not change


def test_start_and_stop_saved_together_compute_once(two_layer_trace, monkeypatch):
    import rnn_widgets.widgets.select_view as module

    calls = []
    original = module.select_cells
    monkeypatch.setattr(
        module, "select_cells", lambda *a, **k: calls.append(a) or original(*a, **k)
    )
    view = SelectView(two_layer_trace)
    send_from_frontend(view.selection, {"start": 1, "stop": 3, "threshold": 1.0})
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"start": 2, "stop": 4}, "crosses the end of sequence 0"),
        ({"start": 1, "stop": 3, "threshold": 100.0}, "threshold 100 is outside the values"),
    ],
)
def test_a_bad_range_is_shown_in_place_and_keeps_the_plot(two_layer_trace, fields, message):
    view = SelectView(two_layer_trace)
    view.selection.cells = [1]
    send_from_frontend(view.selection, fields)
    assert message in view.select_error
    assert view.error == ""
    assert view._window is not None
    assert view.selection.cells == (1,)
    send_from_frontend(view.selection, {"start": 1, "stop": 3, "threshold": 1.0})
    assert view.select_error == ""


def test_no_range_computes_nothing(two_layer_trace):
    view = SelectView(two_layer_trace)
    view.selection.cells = [2]
    view.selection.threshold = 100.0  # stop <= start: no range, no error
    assert view.selection.cells == (2,)
    assert view.select_error == ""


# ---------------------------------------------------------------- tracks and predictions


def _decode(payload):
    return np.frombuffer(bytes(payload["data"]), dtype=payload["dtype"]).reshape(payload["shape"])


def test_tracks_and_predictions_of_the_window_travel_as_buffers(two_layer_trace):
    labels = ["DT", "NN", "VB", "DT", "NN", "X", "X", "X", "X"]
    trace = (
        two_layer_trace.with_track("pos", labels)
        .with_track("depth", np.arange(9) * 0.5)
        .with_predictions([[f"p{s}", f"q{s}"] for s in range(9)], [[0.75, 0.25] for _ in range(9)])
    )
    view = SelectView(trace, window_size=3)
    recorder = CommRecorder(view)
    view.window_start = 3
    window = view._window
    pos, depth = window["tracks"]
    assert pos["name"] == "pos" and pos["label_type"] == "categorical"
    assert [pos["categories"][c] for c in _decode(pos["codes"])] == ["DT", "NN", "X"]
    assert _decode(pos["codes"]).dtype == np.uint32
    assert depth["label_type"] == "numeric"
    assert _decode(depth["values"]).tolist() == [1.5, 2.0, 2.5]
    assert (depth["min"], depth["max"]) == (0.0, 4.0)  # the whole track's, stable
    assert window["predictions"]["labels"] == ["p3", "q3", "p4", "q4", "p5", "q5"]
    assert _decode(window["predictions"]["probabilities"]).shape == (3, 2)
    paths = recorder.updated("_window")[-1]["buffer_paths"]
    assert ["_window", "tracks", 0, "codes", "data"] in paths
    assert ["_window", "predictions", "probabilities", "data"] in paths


def test_no_tracks_or_predictions_send_empty_fields(two_layer_trace):
    view = SelectView(two_layer_trace)
    assert view._window["tracks"] == []
    assert view._window["predictions"] is None


# ---------------------------------------------------------------- navigation and zoom


def test_search_scrolls_to_the_next_hit_and_marks_it(two_layer_trace):
    view = SelectView(two_layer_trace, window_size=2)
    send_from_frontend(view, {"search_query": "dog", "_search_request": 1})
    assert view.window == (4, 6)
    assert "hit 1 of 1" in view.message
    assert _decode(view._search_hits).tolist() == [[4, 5]]
    view.window_start = 0
    assert _decode(view._search_hits).shape == (0, 2)  # the hit is out of the window


def test_search_again_moves_to_the_next_hit_and_wraps(two_layer_trace):
    trace = Trace.from_arrays([["x", "a", "x"], ["b", "x"]], np.zeros((5, 2)))
    view = SelectView(trace, window_size=1)
    seen = []
    for request in range(1, 5):
        send_from_frontend(view, {"search_query": "x", "_search_request": request})
        seen.append(view.window[0])
    assert seen == [0, 2, 4, 0]


def test_search_without_a_hit_says_so_as_a_message_not_an_error(two_layer_trace):
    view = SelectView(two_layer_trace, window_size=2)
    send_from_frontend(view, {"search_query": "zebra", "_search_request": 1})
    assert view.message == "no hit for 'zebra'"
    assert view.error == ""
    assert view.window == (0, 2)


def test_go_to_a_step_or_a_sequence_position(two_layer_trace):
    view = SelectView(two_layer_trace, window_size=2)
    send_from_frontend(view, {"goto_query": "2:1", "_goto_request": 1})
    assert view.window == (6, 8)
    send_from_frontend(view, {"goto_query": "3", "_goto_request": 2})
    assert view.window == (3, 5)
    send_from_frontend(view, {"goto_query": "7:0", "_goto_request": 3})
    assert "cannot go to '7:0'" in view.message
    assert view.window == (3, 5)


def test_zoom_fits_the_window_to_the_plot_width(two_layer_trace):
    view = SelectView(two_layer_trace, window_size=3)
    send_from_frontend(view, {"_plot_width": 120})
    assert view.window_size == 3  # column_width 0: window_size as given
    send_from_frontend(view, {"column_width": 20})
    assert view.window_size == 6
    assert len(view._window["tokens"]) == 6
    view.column_width = 1
    assert view.column_width == 4  # clamped
    assert view.window_size == 30


# ---------------------------------------------------------------- several layers


def test_side_by_side_pins_one_layer_per_view(two_layer_trace):
    box = SelectView.side_by_side(two_layer_trace, layers=[0, 1], window_size=3)
    first, second = box.children
    assert first.selection is second.selection
    assert (first.layer, second.layer) == (0, 1)
    assert _values(first).shape == (3, 4)
    assert _values(second).shape == (3, 6)
    first.selection.kind = "c"
    assert (first._window["kind"], second._window["kind"]) == ("c", "h")
    first.selection.kind = "h"
    first.selection.update({"start": 1, "stop": 3, "threshold": 1.0})
    assert first.selection.cells == (0, 1, 2, 3)  # from layer 0, the selection's layer
    assert second.select_error == ""


def test_a_pinned_view_ignores_the_selection_layer(two_layer_trace):
    view = SelectView(two_layer_trace, layer=1)
    view.selection.layer = 0
    assert view._window["layer"] == 1
    with pytest.raises(ValueError, match="layer 5 is not a layer of the trace"):
        SelectView(two_layer_trace, layer=5)


def test_only_the_view_of_the_selection_layer_computes_the_cells(two_layer_trace, monkeypatch):
    import rnn_widgets.widgets.select_view as module

    layers = []
    original = module.select_cells
    monkeypatch.setattr(
        module,
        "select_cells",
        lambda *a, **k: layers.append(k["layer"]) or original(*a, **k),
    )
    box = SelectView.side_by_side(two_layer_trace)
    box.children[0].selection.update(
        {"layer": 1, "start": 1, "stop": 3, "threshold": 0.0, "pad_before": 0}
    )
    assert layers == [1]
    assert box.children[0].selection.cells == (3, 4, 5)  # linspace(-1, 1, 6) >= 0, every step
    with pytest.raises(traitlets.TraitError, match="layer 9 is not a layer of the trace"):
        box.children[1].layer = 9
