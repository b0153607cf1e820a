"""StateSpaceView's kernel side: what it sends, hover and picker round trips, validation.

The trace's states lie on an ellipse centred on 0 (x-radius 2 along cell 0, y-radius 1 along
cell 1, a small third cell), so the PCA axes are the cell axes and every projected coordinate
is known up to the sign of each component.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_widgets import Selection, StateSpaceView, Trace, wrap
from rnn_widgets.analysis import FixedPoints, find_fixed_points
from rnn_widgets.analysis._cycles import phase_portrait
from rnn_widgets.widgets.state_space_view import READOUT_FRACTION, SEGMENT_FRACTION

from .conftest import CommRecorder, send_from_frontend


def _ellipse(angles_degrees: np.ndarray) -> np.ndarray:
    a = np.radians(angles_degrees)
    return np.stack([2 * np.cos(a), np.sin(a), 0.1 * np.sin(2 * a)], axis=1)


STATES = np.concatenate([_ellipse(np.arange(8) * 45.0), _ellipse(22.5 + np.arange(4) * 90.0)])
TOKENS = [[f"a{i}" for i in range(8)], [f"b{i}" for i in range(4)]]
EXTENT = 4.0  # the cloud's largest extent in PCA coordinates: x from -2 to 2


def _trace(**tracks) -> Trace:
    return Trace.from_arrays(TOKENS, {"h": STATES}, tracks=tracks or None)


def _fixed_points(states=None, condition=(0, 0, 1), inputs=None) -> FixedPoints:
    states = (
        np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.5, 0.0]]) if states is None else states
    )
    k = len(states)
    eigenvalues = np.array([[0.9, 0.5 + 0.2j, 0.5 - 0.2j], [1.5, 0.3, 0.1], [1.2, 1.1, 1.05]])[:k]
    condition = np.asarray(condition)[:k]
    inputs = condition[:, None].astype(float) if inputs is None else inputs
    return FixedPoints(
        states=states,
        inputs=inputs,
        condition=condition,
        q=np.array([1e-14, 1e-6, 1e-9])[:k],
        iterations=np.full(k, 10),
        converged=np.ones(k, bool),
        is_fixed=np.ones(k, bool),
        is_minimum=np.ones(k, bool),
        eigenvalues=eigenvalues,
        stability=np.array(["stable", "saddle", "unstable"])[:k],
        n_unstable=np.array([0, 1, 3])[:k],
        time_constants=1 / np.abs(np.log(np.abs(eigenvalues))),
        attractor=np.array([0, -1, -1])[:k],
        tolerance=1e-10,
        eps=1e-3,
        layer=0,
    )


def _decoded(payload: dict, dtype: str) -> np.ndarray:
    assert payload["dtype"] == np.dtype(dtype).name
    array = np.frombuffer(bytes(payload["data"]), dtype=dtype)
    return array.reshape(payload["shape"])


def _signs(view: StateSpaceView) -> np.ndarray:
    """The sign of each PCA component against the cell axes (PCA fixes no sign)."""
    return np.sign(np.diag(view.pca.components[:3, :3]))


# ------------------------------------------------------------------------------ the cloud


def test_the_cloud_is_every_state_projected_on_the_top_components_as_float32():
    view = StateSpaceView(_trace())
    xy = _decoded(view._cloud["xy"], "<f4")
    assert xy.shape == (12, 2) and len(view._cloud["xy"]["data"]) == 12 * 2 * 4
    np.testing.assert_allclose(xy * _signs(view)[:2], STATES[:, :2], atol=1e-6)
    assert _decoded(view._cloud["steps"], "<u4").tolist() == list(range(12))
    assert view._axes[0].startswith("PC1 (") and len(view._axes) == 2


def test_three_dims_send_three_columns():
    view = StateSpaceView(_trace(), dims=3)
    xy = _decoded(view._cloud["xy"], "<f4")
    assert xy.shape == (12, 3)
    np.testing.assert_allclose(xy * _signs(view), STATES, atol=1e-6)
    view.dims = 2
    assert _decoded(view._cloud["xy"], "<f4").shape == (12, 2)


def test_arrays_travel_as_binary_buffers_not_json_lists():
    view = StateSpaceView(_trace(), fixed_points=_fixed_points())
    recorder = CommRecorder(view)
    view.dims = 3
    message = recorder.updated("_cloud")[-1]
    assert ["_cloud", "xy", "data"] in message["buffer_paths"]
    assert ["_fixed", "xy", "data"] in message["buffer_paths"]
    assert all(isinstance(b, (bytes, memoryview)) for b in message["buffers"])
    assert not isinstance(message["state"]["_cloud"].get("xy", {}).get("data"), list)


def test_categorical_labels_cross_as_uint8_codes_with_their_names():
    halves = ["left" if x < 0 else "right" for x in STATES[:, 0]]
    view = StateSpaceView(_trace(half=halves), labels="half")
    codes = _decoded(view._cloud["labels"], "u1")
    names = view._cloud["categories"]
    assert [names[c] for c in codes] == halves
    assert view._cloud["values"] is None


def test_numeric_labels_cross_as_float32_with_their_range():
    values = np.linspace(-3.0, 5.0, 12)
    view = StateSpaceView(_trace(), labels=values)
    np.testing.assert_allclose(_decoded(view._cloud["values"], "<f4"), values, rtol=1e-6)
    assert view._cloud["range"] == [-3.0, 5.0]
    assert view._cloud["labels"] is None


@settings(max_examples=25, deadline=None)
@given(n_steps=st.integers(3, 60), max_points=st.integers(1, 80), seed=st.integers(0, 99))
def test_beyond_max_points_a_sorted_seeded_sample_is_sent(n_steps, max_points, seed):
    states = np.random.default_rng(seed).standard_normal((n_steps, 3))
    trace = Trace.from_arrays([[f"t{i}" for i in range(n_steps)]], {"h": states})
    view = StateSpaceView(trace, max_points=max_points, sequences=[])
    steps = _decoded(view._cloud["steps"], "<u4").astype(int)
    expected = (
        np.arange(n_steps)
        if n_steps <= max_points
        else np.sort(np.random.default_rng(0).choice(n_steps, max_points, replace=False))
    )
    np.testing.assert_array_equal(steps, expected)
    assert len(np.unique(steps)) == len(steps) == min(n_steps, max_points)
    xy = _decoded(view._cloud["xy"], "<f4")
    np.testing.assert_allclose(xy, view.pca.transform(trace.states()[steps])[:, :2], atol=1e-5)


# ------------------------------------------------------------------------------ trajectories


def test_trajectories_are_the_chosen_sequences_whole_with_their_offsets():
    view = StateSpaceView(_trace(), sequences=[1, 0])
    t = view._trajectories
    assert _decoded(t["offsets"], "<u4").tolist() == [0, 4, 12]
    assert _decoded(t["steps"], "<u4").tolist() == [8, 9, 10, 11, *range(8)]
    xy = _decoded(t["xy"], "<f4")
    np.testing.assert_allclose(
        xy * _signs(view)[:2], STATES[[8, 9, 10, 11, *range(8)], :2], atol=1e-6
    )
    send_from_frontend(view, {"sequences": [1]})
    assert _decoded(view._trajectories["steps"], "<u4").tolist() == [8, 9, 10, 11]


def test_by_default_the_first_four_sequences_are_drawn():
    assert StateSpaceView(_trace()).sequences == [0, 1]


# ------------------------------------------------------------------------------ hover


def test_a_hovered_step_from_any_view_is_sent_with_its_projected_state():
    view = StateSpaceView(_trace())
    assert view._hovered is None
    send_from_frontend(view.selection, {"hovered_step": 3})
    assert view.selection.hovered_step == 3
    assert view._hovered["step"] == 3
    xy = _decoded(view._hovered["xy"], "<f4")
    np.testing.assert_allclose(xy * _signs(view)[:2], STATES[3, :2], atol=1e-6)
    view.selection.hovered_step = None
    assert view._hovered is None


def test_a_closed_view_stops_following_the_selection():
    view = StateSpaceView(_trace())
    selection = view.selection
    view.close()
    selection.hovered_step = 4
    assert view._hovered is None


def test_a_shared_selection_is_used_as_given():
    selection = Selection(hovered_step=5)
    view = StateSpaceView(_trace(), selection=selection)
    assert view.selection is selection
    assert view._hovered["step"] == 5


# ------------------------------------------------------------------------------ fixed points


def test_fixed_points_of_the_chosen_condition_are_sent_with_class_q_and_attractor():
    view = StateSpaceView(_trace(), fixed_points=_fixed_points())
    f = view._fixed
    assert _decoded(f["index"], "<u4").tolist() == [0, 1]
    assert _decoded(f["stability"], "u1").tolist() == [0, 2]  # stable, saddle
    np.testing.assert_allclose(_decoded(f["log_q"], "<f4"), [-14, -6], rtol=1e-6)
    assert _decoded(f["attractor"], "<i4").tolist() == [0, -1]
    xy = _decoded(f["xy"], "<f4") * _signs(view)[:2]
    np.testing.assert_allclose(xy, [[0, 0], [1, 0]], atol=1e-6)
    assert f["modes"] is None  # no model: no eigenvector segments
    assert view._conditions == ["input 0", "input 1"]


def test_the_condition_picker_switches_the_fixed_points_sent():
    view = StateSpaceView(_trace(), fixed_points=_fixed_points(), condition_names=["off", "on"])
    assert view._conditions == ["off", "on"]
    send_from_frontend(view, {"condition": 1})
    assert view.condition == 1
    assert _decoded(view._fixed["index"], "<u4").tolist() == [2]
    assert _decoded(view._fixed["stability"], "u1").tolist() == [3]  # unstable
    with pytest.raises(ValueError, match="condition must be in 0 .. 1"):
        view.condition = 2


def test_clicking_a_fixed_point_sends_its_spectrum_only():
    fp = _fixed_points()
    view = StateSpaceView(_trace(), fixed_points=fp)
    assert view._spectrum is None
    send_from_frontend(view, {"spectrum_point": 0})
    s = view._spectrum
    np.testing.assert_allclose(_decoded(s["real"], "<f4"), [0.9, 0.5, 0.5], rtol=1e-6)
    np.testing.assert_allclose(_decoded(s["imag"], "<f4"), [0.0, 0.2, -0.2], rtol=1e-6)
    np.testing.assert_allclose(
        _decoded(s["time_constants"], "<f4")[0], 1 / abs(np.log(0.9)), rtol=1e-6
    )
    assert (s["stability"], s["attractor"], s["condition"]) == ("stable", 0, 0)
    send_from_frontend(view, {"spectrum_point": None})
    assert view._spectrum is None
    with pytest.raises(ValueError, match="spectrum_point must index the 3 fixed points"):
        view.spectrum_point = 3


def _linear_rnn() -> tuple[torch.nn.RNN, np.ndarray]:
    """An RNN with zero biases: h = 0 is fixed under x = 0 and J_rec there is W_hh."""
    rnn = torch.nn.RNN(1, 3, batch_first=True)
    basis = np.array([[1.0, 1.0, 0.0], [1.0, -1.0, 0.0], [0.0, 0.0, 1.0]]).T / np.array(
        [np.sqrt(2), np.sqrt(2), 1.0]
    )
    w_hh = basis @ np.diag([0.9, 0.5, 0.2]) @ np.linalg.inv(basis)
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(torch.from_numpy(w_hh))
        rnn.bias_hh_l0.zero_()
        rnn.bias_ih_l0.zero_()
    return rnn, basis[:, 0]


def test_eigenvector_segments_are_the_top_right_eigenvector_projected():
    rnn, top = _linear_rnn()
    fp = _fixed_points(states=np.zeros((1, 3)), condition=(0,), inputs=np.zeros((1, 1)))
    view = StateSpaceView(_trace(), fixed_points=fp, model=wrap(rnn))
    mode = _decoded(view._fixed["modes"], "<f4")[0] * _signs(view)[:2]
    expected = top[:2] * SEGMENT_FRACTION * EXTENT
    assert np.allclose(mode, expected, atol=1e-5) or np.allclose(mode, -expected, atol=1e-5)


def test_fixed_points_found_by_the_backend_carry_their_segments_without_a_model():
    rnn, top = _linear_rnn()
    fp = find_fixed_points(rnn, STATES, n=4, progress=False)
    assert len(fp) == 1  # h = 0: the map is a contraction
    view = StateSpaceView(_trace(), fixed_points=fp)
    mode = _decoded(view._fixed["modes"], "<f4")[0] * _signs(view)[:2]
    expected = top[:2] * SEGMENT_FRACTION * EXTENT
    assert np.allclose(mode, expected, atol=1e-5) or np.allclose(mode, -expected, atol=1e-5)


def test_the_portrait_is_re_projected_on_the_views_basis():
    rnn, _ = _linear_rnn()
    model = wrap(rnn)
    view = StateSpaceView(_trace(), model=model)
    portrait = phase_portrait(model, view.pca, grid=3, steps=4, progress=False)
    view = StateSpaceView(_trace(), model=model, portrait=portrait)
    lines = _decoded(view._portrait["lines"], "<f4")
    assert lines.shape == (9, 5, 2)
    np.testing.assert_allclose(lines[:, 0], portrait.starts, atol=1e-5)
    # a linear map with spectral radius 0.9 pulls every start towards the mean
    assert (
        np.linalg.norm(lines[:, -1], axis=1) <= np.linalg.norm(lines[:, 0], axis=1) + 1e-6
    ).all()


def test_portrait_true_runs_a_grid_over_the_clouds_range_from_the_model():
    rnn, _ = _linear_rnn()
    fp = _fixed_points(states=np.zeros((1, 3)), condition=(0,), inputs=np.zeros((1, 1)))
    view = StateSpaceView(_trace(), fixed_points=fp, model=wrap(rnn), portrait=True)
    lines = _decoded(view._portrait["lines"], "<f4")
    assert lines.shape == (121, 31, 2)  # an 11 x 11 grid, 30 steps
    starts = lines[:, 0]
    # the cloud's range widened by 10 %: x in [-2.4, 2.4], y in [-1.2, 1.2]
    np.testing.assert_allclose(np.abs(starts).max(axis=0), [2.4, 1.2], rtol=1e-5)


def test_the_readout_is_an_arrow_from_the_mean_along_its_projected_direction():
    view = StateSpaceView(_trace(), readout=[0.0, 3.0, 0.0])
    direction = _decoded(view._readout["direction"], "<f4") * _signs(view)[:2]
    np.testing.assert_allclose(direction, [0, READOUT_FRACTION * EXTENT], atol=1e-6)
    np.testing.assert_array_equal(_decoded(view._readout["origin"], "<f4"), [0, 0])
    two_outputs = StateSpaceView(_trace(), readout=[[1.0, 0.0, 0.0], [1.0, 0.0, 2.0]])
    direction = _decoded(two_outputs._readout["direction"], "<f4")
    np.testing.assert_allclose(np.abs(direction), [0, 0], atol=1e-6)  # row 1 - row 0 is cell 2


def test_an_lstm_state_needs_its_h_and_c():
    c = -STATES
    trace = Trace.from_arrays(TOKENS, {"h": STATES, "c": c})
    fp = _fixed_points(states=np.zeros((1, 6)), condition=(0,), inputs=np.zeros((1, 1)))
    with pytest.raises(ValueError, match=r"kinds=\('h', 'c'\)"):
        StateSpaceView(trace, fixed_points=fp)
    view = StateSpaceView(trace, fixed_points=fp, kinds=("h", "c"), readout=[0.0, 1.0, 0.0])
    assert view.pca.mean.shape == (6,)
    assert _decoded(view._fixed["xy"], "<f4").shape == (1, 2)


# ------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"layer": 2}, ValueError, "layer 2 is not a layer of the trace"),
        ({"kinds": "c"}, ValueError, "kind 'c' is not a kind of layer 0 of the trace"),
        ({"labels": "depth"}, ValueError, "'depth' is not a track"),
        ({"labels": np.zeros(5)}, ValueError, r"shape \(12,\)"),
        ({"labels": np.full(12, np.nan)}, ValueError, "NaN"),
        ({"sequences": [0, 7]}, ValueError, r"sequences \[7\] are not in the trace"),
        ({"sequences": "01"}, TypeError, "list of sequence indices"),
        ({"dims": 4}, ValueError, "dims must be 2 or 3"),
        ({"max_points": 0}, ValueError, "max_points must be >= 1"),
        ({"readout": np.zeros((3, 3))}, ValueError, "readout must have shape"),
        ({"readout": np.zeros(3)}, ValueError, "not all zero"),
        ({"selection": "sel"}, TypeError, "selection must be an rnn_widgets.Selection"),
        ({"fixed_points": object()}, TypeError, "FixedPoints from find_fixed_points"),
        ({"fixed_points": _fixed_points(np.zeros((2, 4)))}, ValueError, "width 4"),
        ({"portrait": True}, ValueError, "portrait=True needs model="),
        ({"portrait": 3}, TypeError, "PhasePortrait"),
        ({"fixed_points": _fixed_points(), "condition_names": ["a"]}, ValueError, "1 names"),
        ({"pca": "pca"}, TypeError, "StatePCA"),
        ({"height": 10}, ValueError, "height must be >= 120"),
    ],
)
def test_bad_arguments_are_refused_with_the_fix(kwargs, error, message):
    with pytest.raises(error, match=message):
        StateSpaceView(_trace(), **kwargs)


def test_a_trace_is_required():
    with pytest.raises(TypeError, match="trace must be an rnn_widgets.Trace"):
        StateSpaceView(STATES)


def test_nothing_the_user_passes_is_modified():
    trace = _trace()
    fp = _fixed_points()
    before = {
        name: np.array(getattr(fp, name), copy=True) for name in ("states", "q", "eigenvalues")
    }
    states_before = np.array(trace.states(), copy=True)
    readout = np.array([0.0, 1.0, 0.0])
    view = StateSpaceView(trace, fixed_points=fp, readout=readout, dims=3)
    view.spectrum_point = 1
    view.condition = 1
    view.selection.hovered_step = 2
    np.testing.assert_array_equal(trace.states(), states_before)
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(fp, name), value)
    np.testing.assert_array_equal(readout, [0.0, 1.0, 0.0])


def test_every_searched_condition_is_offered_even_one_that_kept_no_point() -> None:
    from rnn_widgets import capture, tasks, zoo

    model = zoo.load("flip_flop_gru")
    trace = capture(model, tasks.flip_flop(3, 4, 100, seed=1).sequences, progress=False)
    inputs = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [5.0, 5.0, 5.0]]  # the last drives far away
    points = find_fixed_points(model, trace, inputs, n=16, progress=False)
    assert 2 not in set(points.condition.tolist())  # its points were dropped as outliers
    np.testing.assert_array_equal(points.conditions, inputs)
    view = StateSpaceView(trace, fixed_points=points, condition_names=["zero", "pulse", "far"])
    assert view.error == ""
