"""The Trace contract: steps, sequences, layers and kinds, immutability, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rnn_widgets import Trace


def test_sequence_bounds_are_start_stop_with_stop_exclusive(two_layer_trace):
    assert two_layer_trace.sequence_bounds.tolist() == [[0, 3], [3, 5], [5, 9]]
    assert two_layer_trace.n_steps == 9
    assert two_layer_trace.n_sequences == 3


def test_position_and_step_convert_both_ways(two_layer_trace):
    assert two_layer_trace.position_of(4) == (1, 1)
    assert two_layer_trace.step_of(1, 1) == 4
    assert two_layer_trace.step_of(2, -1) == 8


def test_sequence_of_accepts_arrays(two_layer_trace):
    assert two_layer_trace.sequence_of(np.arange(9)).tolist() == [0, 0, 0, 1, 1, 2, 2, 2, 2]


@given(st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=12))
def test_step_and_position_are_inverse_for_any_lengths(lengths):
    n = sum(lengths)
    trace = Trace.from_arrays(["t"] * n, np.zeros((n, 2)), lengths=lengths)
    for step in range(n):
        sequence, position = trace.position_of(step)
        assert 0 <= position < lengths[sequence]
        assert trace.step_of(sequence, position) == step


def test_layers_and_kinds_are_reported_in_canonical_order(two_layer_trace):
    assert two_layer_trace.layers == (0, 1)
    assert two_layer_trace.kinds(layer=0) == ("h", "c")
    assert two_layer_trace.n_cells(layer=0) == 4
    assert two_layer_trace.n_cells(layer=1) == 6


def test_states_returns_float32_rows_in_step_order(two_layer_trace):
    h = two_layer_trace.states()
    assert h.dtype == np.float32
    assert h.shape == (9, 4)
    assert h[5, 2] == pytest.approx(5.2)


def test_states_accepts_one_array_per_sequence():
    parts = [np.full((2, 3), 1.0), np.full((1, 3), 2.0)]
    trace = Trace.from_arrays([["a", "b"], ["c"]], {"h": parts})
    assert trace.states()[:, 0].tolist() == [1.0, 1.0, 2.0]


def test_torch_tensors_are_accepted():
    import torch

    states = torch.ones(3, 2, requires_grad=True)
    trace = Trace.from_arrays(["a", "b", "c"], states)
    assert trace.states().sum() == 6


def test_trace_is_read_only_and_does_not_alias_user_arrays():
    user = np.zeros((2, 2), dtype=np.float32)
    trace = Trace.from_arrays(["a", "b"], user)
    user[0, 0] = 5
    assert trace.states()[0, 0] == 0
    with pytest.raises(ValueError, match="read-only"):
        trace.states()[0, 0] = 1


def test_user_input_is_not_modified():
    tokens = [["a", "b"]]
    states = {"h": np.ones((2, 2))}
    Trace.from_arrays(tokens, states)
    assert tokens == [["a", "b"]]
    assert states["h"].dtype == np.float64 and states["h"].flags.writeable


def test_with_track_returns_new_trace_sharing_state_arrays(two_layer_trace):
    tagged = two_layer_trace.with_track("depth", np.arange(9))
    assert "depth" not in two_layer_trace.tracks
    assert tagged.tracks["depth"].label_type == "numeric"
    assert tagged.states() is two_layer_trace.states()


def test_categorical_track_from_per_sequence_labels(two_layer_trace):
    labels = [["D", "N", "V"], ["D", "N"], ["X", "X", "X", "X"]]
    track = two_layer_trace.with_track("pos", labels).tracks["pos"]
    assert track.label_type == "categorical"
    assert track.labels(0, 5) == ["D", "N", "V", "D", "N"]


def test_integer_class_ids_can_be_categorical(two_layer_trace):
    tagged = two_layer_trace.with_track("state", [0, 1, 2] * 3, label_type="categorical")
    track = tagged.tracks["state"]
    assert track.categories == ("0", "1", "2")


def test_predictions_round_trip(two_layer_trace):
    labels = np.array([["x", "y"]] * 9)
    probs = np.tile([0.7, 0.2], (9, 1))
    trace = two_layer_trace.with_predictions(labels, probs)
    assert trace.predictions.k == 2
    assert trace.predictions.labels[3, 1] == "y"
    assert trace.predictions.top(3, 5) == [["x", "y"], ["x", "y"]]
    assert two_layer_trace.predictions is None


def test_value_range_is_min_and_max(two_layer_trace):
    low, high = two_layer_trace.value_range()
    assert low == pytest.approx(0.0) and high == pytest.approx(8.3)


def test_repr_summarises(two_layer_trace):
    assert "9 steps in 3 sequences" in repr(two_layer_trace)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("tokens", "states", "kwargs", "error", "message"),
    [
        (["a", "b"], np.zeros((3, 2)), {}, ValueError, "3 rows but the tokens have 2 steps"),
        ([["a"], []], np.zeros((1, 2)), {}, ValueError, "sequence 1 has no tokens"),
        ([], np.zeros((0, 2)), {}, ValueError, "tokens is empty"),
        ("abc", np.zeros((3, 2)), {}, TypeError, "list\\(text\\)"),
        (["a", "b"], np.array([[0.0, np.nan], [0, 0]]), {}, ValueError, "NaN or infinite"),
        (["a", "b"], np.array([[0.0, np.inf], [0, 0]]), {}, ValueError, "first at step 0, cell 1"),
        (["a", "b"], np.zeros(2), {}, ValueError, "shape \\(n_steps, n_cells\\)"),
        (["a", "b"], np.zeros((2, 0)), {}, ValueError, "no cells"),
        (["a", "b"], np.array([["x", "y"], ["z", "w"]]), {}, TypeError, "must hold numbers"),
        (["a", "b", "c"], np.zeros((3, 2)), {"lengths": [1, 1]}, ValueError, "lengths add up"),
        (
            ["a", "b"],
            {(0, "h"): np.zeros((2, 2)), (0, "c"): np.zeros((2, 3))},
            {"cell_groups": {"c": "h"}},
            ValueError,
            "give kinds of different widths different groups",
        ),
        (
            ["a", "b"],
            {(0, "h"): np.zeros((2, 2))},
            {"cell_groups": {"ssm": "state"}},
            ValueError,
            "name recorded kinds only",
        ),
        (
            ["a", "b"],
            {(0, "h"): np.zeros((2, 2))},
            {"cell_groups": ["h"]},
            TypeError,
            "cell_groups must map",
        ),
        (
            ["a", "b"],
            {(0, "h"): np.zeros((2, 2))},
            {"cell_groups": {"h": "two words"}},
            ValueError,
            "must be a group name",
        ),
        (["a", "b"], {(0, "h h"): np.zeros((2, 2))}, {}, ValueError, "short name"),
        (["a", "b"], {(-1, "h"): np.zeros((2, 2))}, {}, ValueError, "layer must be >= 0"),
        (
            [["a", "b"], ["c"]],
            {"h": [np.zeros((2, 2)), np.zeros((2, 2))]},
            {},
            ValueError,
            "sequence 1 has 2 rows but the sequence has 1 tokens",
        ),
        ([["a", object()]], np.zeros((2, 2)), {}, TypeError, "tokens\\[0\\]\\[1\\] must be a str"),
    ],
)
def test_bad_input_names_the_argument_and_the_fix(tokens, states, kwargs, error, message):
    with pytest.raises(error, match=message):
        Trace.from_arrays(tokens, states, **kwargs)


def test_unknown_layer_lists_the_recorded_ones(two_layer_trace):
    with pytest.raises(
        ValueError, match=r"layer 5 is not a layer of the trace; choose one of \[0, 1\]"
    ):
        two_layer_trace.states(layer=5, kind="h")


def test_unknown_kind_lists_the_recorded_ones(two_layer_trace):
    with pytest.raises(
        ValueError, match=r"kind 'c' is not a kind of layer 1 of the trace; choose one of \['h'\]"
    ):
        two_layer_trace.states(layer=1, kind="c")


def test_out_of_range_steps_and_sequences_are_refused(two_layer_trace):
    with pytest.raises(ValueError, match="step must lie in 0 .. 8"):
        two_layer_trace.sequence_of(9)
    with pytest.raises(ValueError, match="sequence 3 does not exist"):
        two_layer_trace.sequence_range(3)
    with pytest.raises(ValueError, match="outside sequence 1 of length 2"):
        two_layer_trace.step_of(1, 2)
    with pytest.raises(TypeError, match="layer must be an int"):
        two_layer_trace.states(layer="0", kind="h")


def test_bad_tracks_are_refused(two_layer_trace):
    with pytest.raises(ValueError, match="one value per step \\(9\\)"):
        two_layer_trace.with_track("x", np.zeros(8))
    with pytest.raises(ValueError, match="NaN"):
        two_layer_trace.with_track("x", np.full(9, np.nan))
    with pytest.raises(ValueError, match="probabilities must lie in"):
        two_layer_trace.with_predictions(np.array([["a"]] * 9), np.full((9, 1), 2.0))


def test_from_owned_arrays_takes_arrays_without_copying():
    states = np.zeros((3, 2), dtype=np.float32)
    trace = Trace.from_owned_arrays(["a", "b", "c"], [2, 1], {(0, "h"): states})
    assert np.shares_memory(trace.states(), states)
    assert not states.flags.writeable
    assert trace.sequence_bounds.tolist() == [[0, 2], [2, 3]]


def test_from_owned_arrays_refuses_arrays_it_would_have_to_convert():
    with pytest.raises(ValueError, match="C-contiguous float32"):
        Trace.from_owned_arrays(["a"], [1], {(0, "h"): np.zeros((1, 2))})


def test_a_categorical_track_keeps_labels_of_equal_values_of_other_types_apart() -> None:
    # True == 1 == 1.0 in Python; each distinct value is checked once, by type and value.
    trace = Trace.from_arrays(list("abcd"), np.zeros((4, 1), np.float32))
    track = trace.with_track("mixed", [True, 1, "a", 1], "categorical").tracks["mixed"]
    assert track.labels(0, 4) == ["True", "1", "a", "1"]
