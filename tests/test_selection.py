"""The shared Selection: validation, the shareable state, and its wire format."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rnn_widgets import Selection

from .conftest import CommRecorder, send_from_frontend


def test_defaults_follow_lstmvis():
    selection = Selection()
    assert selection.threshold == 0.3  # LSTMVis's default threshold (its Fig. 5a)
    assert (selection.pad_before, selection.pad_after) == (1, 0)
    assert selection.range is None
    assert selection.hovered_step is None


def test_cells_are_stored_sorted_and_unique_from_any_iterable():
    selection = Selection(cells=np.array([7, 2, 7, 0]))
    assert selection.cells == (0, 2, 7)
    selection.cells = {5, 1}
    assert selection.cells == (1, 5)


@given(st.lists(st.integers(min_value=0, max_value=2**32 - 1), max_size=50))
def test_to_dict_from_dict_round_trips(cells):
    original = Selection(
        layer=1,
        kind="c",
        cells=cells,
        start=3,
        stop=9,
        threshold=-0.25,
        pad_before=2,
        pad_after=1,
        sequence=4,
    )
    copy = Selection.from_dict(original.to_dict())
    assert copy.to_dict() == original.to_dict()
    assert copy.cells == tuple(sorted(set(cells)))


def test_to_dict_is_plain_json():
    import json

    state = Selection(cells=[3, 1]).to_dict()
    assert json.loads(json.dumps(state)) == state
    assert state["cells"] == [1, 3]
    assert "hovered_step" not in state  # transient, not part of a finding


def test_update_sets_several_fields_in_one_message():
    selection = Selection()
    recorder = CommRecorder(selection)
    selection.update({"threshold": 0.6, "cells": [4], "layer": 1})
    assert (selection.threshold, selection.cells, selection.layer) == (0.6, (4,), 1)
    assert len(recorder.messages) == 1


def test_set_range_is_one_message_and_validated():
    selection = Selection()
    recorder = CommRecorder(selection)
    selection.set_range(4, 9)
    assert selection.range == (4, 9)
    assert len(recorder.messages) == 1
    with pytest.raises(ValueError, match="stop \\(3\\) must be greater than start \\(4\\)"):
        selection.set_range(4, 3)


def test_cells_cross_to_the_front_end_as_a_uint32_buffer():
    selection = Selection()
    recorder = CommRecorder(selection)
    selection.cells = [2, 70000]
    message = recorder.updated("cells")[-1]
    assert message["buffer_paths"] == [["cells"]]
    assert np.frombuffer(bytes(message["buffers"][0]), dtype="<u4").tolist() == [2, 70000]


def test_cells_from_the_front_end_are_decoded():
    selection = Selection()
    buffer = memoryview(np.array([9, 3], dtype="<u4").tobytes())
    send_from_frontend(selection, {"cells": None}, buffer_paths=[["cells"]], buffers=[buffer])
    assert selection.cells == (3, 9)


def test_threshold_from_the_front_end_reaches_python_observers():
    selection = Selection()
    seen = []
    selection.observe(lambda change: seen.append(change["new"]), names="threshold")
    send_from_frontend(selection, {"threshold": 0.75})
    assert seen == [0.75]


@pytest.mark.parametrize(
    ("field", "value", "error", "message"),
    [
        ("layer", -1, ValueError, "layer must be >= 0"),
        ("threshold", float("nan"), ValueError, "threshold must be finite"),
        ("cells", [-1], ValueError, "non-negative"),
        ("cells", "12", TypeError, "iterable of ints"),
        ("cells", [1.5], TypeError, "must be ints"),
        ("kind", "not a kind", ValueError, "short name"),
        ("hovered_step", -3, ValueError, "hovered_step must be >= 0"),
        ("pad_before", -1, ValueError, "pad_before must be >= 0"),
    ],
)
def test_bad_values_are_refused_with_the_field_name(field, value, error, message):
    selection = Selection()
    with pytest.raises(error, match=message):
        setattr(selection, field, value)


def test_from_dict_refuses_unknown_fields_and_versions():
    with pytest.raises(ValueError, match="unknown fields \\['cell'\\]"):
        Selection.from_dict({"cell": [1]})
    with pytest.raises(ValueError, match="version 2"):
        Selection.from_dict({"version": 2})
    with pytest.raises(TypeError, match="Selection.to_dict"):
        Selection.from_dict([1, 2])


def _two_layer_trace():
    from rnn_widgets import Trace

    states = {(0, "h"): np.zeros((10, 4)), (1, "h"): np.zeros((10, 2)), (1, "c"): np.ones((10, 2))}
    return Trace.from_arrays([list("abcde"), list("fghij")], states)


def test_from_dict_with_a_trace_checks_layer_kind_cells_steps_and_sequence():
    trace = _two_layer_trace()
    good = Selection.from_dict({"layer": 1, "kind": "c", "cells": [1], "stop": 10}, trace=trace)
    assert (good.layer, good.kind, good.cells, good.range) == (1, "c", (1,), (0, 10))
    for state, message in [
        ({"layer": 2}, r"state\['layer'\] 2 is not a layer of the trace; choose one of \[0, 1\]"),
        ({"kind": "c"}, r"state\['kind'\] 'c' is not a kind of layer 0 of the trace"),
        (
            {"layer": 1, "cells": [0, 3]},
            r"state\['cells'\]\[1\] is 3, but kind 'h' of layer 1 .* 2 cells",
        ),
        ({"stop": 11}, r"state\['stop'\] is 11, but the trace has 10 steps"),
        ({"sequence": 2}, r"state\['sequence'\] is 2, but the trace has sequences 0 .. 1"),
    ]:
        with pytest.raises(ValueError, match=message):
            Selection.from_dict(state, trace=trace)


def test_update_validates_every_field_before_changing_any():
    selection = Selection(cells=[1], threshold=0.5)
    recorder = CommRecorder(selection)
    with pytest.raises(TypeError, match=r"state\['cells'\] must be ints: .*\[1\] is bool"):
        selection.update({"threshold": 0.9, "cells": [2, True]})
    with pytest.raises(ValueError, match=r"state\['stop'\] \(2\) must be >= state\['start'\]"):
        selection.update({"threshold": 0.9, "start": 4, "stop": 2})
    assert (selection.threshold, selection.cells) == (0.5, (1,))
    assert recorder.messages == []


def test_check_state_changes_nothing_and_returns_the_fields_as_set():
    selection = Selection(layer=1, cells=[1])
    fields = selection.check_state({"cells": [1, 0], "threshold": 2}, trace=_two_layer_trace())
    assert fields == {"cells": (0, 1), "threshold": 2.0}
    assert (selection.cells, selection.threshold) == ((1,), 0.3)


def test_changing_the_layer_refuses_kept_cells_the_new_layer_lacks():
    selection = Selection(cells=[3])
    message = r"state\['layer'\] gives kind 'h' of layer 1, which has 2 cells, but the"
    with pytest.raises(ValueError, match=message):
        selection.check_state({"layer": 1}, trace=_two_layer_trace())


@pytest.mark.parametrize(
    ("cells", "error", "message"),
    [
        ([1, True], TypeError, r"cells\[1\] is bool True"),
        (np.array([[1, 2]]), ValueError, r"flat list of cell indices, got an array of shape"),
        ([[1], [2]], TypeError, r"cells\[0\] is list"),
        ({"a": 1}, TypeError, "iterable of ints"),
        ([2**32], ValueError, "below 2\\*\\*32"),
    ],
)
def test_cells_set_from_python_are_a_flat_list_of_ints(cells, error, message):
    with pytest.raises(error, match=message):
        Selection(cells=cells)
