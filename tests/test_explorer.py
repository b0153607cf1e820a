"""Explorer: composition, linking through one Selection, bad input shown in place, state."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import rnn_widgets as rw
from rnn_widgets import Explorer, Selection, Trace, capture, zoo
from rnn_widgets import hypotheses as hy
from rnn_widgets.analysis import average_input, score_cells

# A planted trace: cell 2 is on exactly where the token is "x"; the other cells are noise.
_RNG = np.random.default_rng(0)
_TOKENS = [list(_RNG.choice(list("xyz"), size=30)) for _ in range(12)]
_IS_X = np.concatenate([[t == "x" for t in seq] for seq in _TOKENS]).astype(float)
_STATES = _RNG.normal(0, 0.3, size=(len(_IS_X), 6))
_STATES[:, 2] = _IS_X * 0.9 - 0.1


def _planted() -> Trace:
    return Trace.from_arrays(_TOKENS, {"h": _STATES})


@hy.hypothesis
def is_x(tokens):
    """The token is x."""
    return [t == "x" for t in tokens]


@hy.hypothesis
def fails_on_long_z_runs(tokens):
    """Raises on any sequence that starts with z (a user's bug)."""
    if tokens[0] == "z":
        raise KeyError("no rule for a leading z")
    return [t == "y" for t in tokens]


@pytest.fixture(scope="module")
def parentheses() -> tuple[Trace, rw.RecurrentModel, object]:
    data = zoo.data("parentheses_lstm").subset(range(12))
    model = zoo.load("parentheses_lstm")
    trace = data.annotate(capture(model, data.sequences, kinds=["h", "c"], progress=False))
    return trace, model, data


def test_without_a_model_the_model_views_are_hidden_with_a_reason():
    explorer = Explorer(_planted(), hypotheses=[is_x], progress=False)
    assert set(explorer.views) == {
        "select_view",
        "match_view",
        "state_space_view",
        "relevance_bars",
    }
    assert explorer.response_view is None and explorer.fixed_points is None
    assert any("need the model" in notice for notice in explorer.notices)
    # the notice is shown in the widget, as text, above the views
    box = explorer.children[0]
    assert [label.value for label in box.children] == list(explorer.notices)
    assert all(isinstance(label, rw.widgets.explorer.ipywidgets.Label) for label in box.children)


def test_every_view_holds_the_one_selection(parentheses):
    trace, model, data = parentheses
    explorer = Explorer(trace, model, hy.from_task(data), progress=False)
    views = explorer.views
    assert set(views) == {
        "select_view",
        "match_view",
        "state_space_view",
        "relevance_bars",
        "response_view",
    }
    for name, view in views.items():
        assert getattr(explorer, name) is view, name  # the keys are the attribute names
        assert view.selection is explorer.selection, name
    assert explorer.response_view.selection is explorer.selection
    assert explorer.response_view.relevance_bars.selection is explorer.selection
    assert explorer.match_view.select_view is explorer.select_view


def test_the_planted_cell_ranks_first_and_scores_equal_score_cells():
    trace = _planted()
    explorer = Explorer(trace, hypotheses=[is_x], progress=False)
    direct = score_cells(trace, [is_x], progress=False)
    np.testing.assert_array_equal(explorer.scores.score, direct.score)
    assert explorer.relevance_bars.top(1) == (2,)
    frame = explorer.table("scores")
    assert frame.sort_values("score", ascending=False).iloc[0]["cell"] == 2


def test_a_hypothesis_failing_on_some_sequences_is_left_out_and_named():
    explorer = Explorer(_planted(), hypotheses=[fails_on_long_z_runs, is_x], progress=False)
    notice = next(n for n in explorer.notices if "fails_on_long_z_runs" in n)
    first_z = next(i for i, seq in enumerate(_TOKENS) if seq[0] == "z")
    assert f"sequence {first_z}" in notice and "no rule for a leading z" in notice
    assert explorer.scores.hypotheses == ("is_x",)
    assert explorer.relevance_bars is not None and explorer.relevance_bars.names == ["is_x"]


def test_a_model_of_another_size_is_set_aside_and_the_rest_works(parentheses):
    trace, _, data = parentheses
    other = rw.wrap(torch.nn.LSTM(3, 16, batch_first=True))
    explorer = Explorer(trace, other, hy.from_task(data), progress=False)
    notice = next(n for n in explorer.notices if "set aside" in n)
    assert "16 cells" in notice and "64" in notice
    assert explorer.model is None and explorer.response_view is None
    explorer.selection.cells = [1, 5]
    assert explorer.matches is not None and len(explorer.matches) > 0


def test_without_hypotheses_the_bars_wait_for_one_typed_with_a_neutral_hint():
    explorer = Explorer(_planted(), progress=False)
    bars = explorer.relevance_bars
    assert bars is not None and bars.trace is explorer.trace
    assert bars.names == [] and bars.error == "" and "type one in the box" in bars.hint
    assert not any("relevance_bars" in n for n in explorer.notices)
    assert explorer.hypotheses == ()


def test_a_brushed_range_draws_its_sequence_among_the_trajectories(parentheses):
    trace, model, _ = parentheses
    explorer = Explorer(trace, model, response=False, progress=False)
    assert 9 not in explorer.state_space_view.sequences
    start, _ = trace.sequence_range(9)
    explorer.selection.set_range(start + 3, start + 6)
    assert explorer.state_space_view.sequences[0] == 9
    assert len(explorer.state_space_view.sequences) <= 4


def test_setting_cells_anywhere_updates_the_matches(parentheses):
    trace, model, _ = parentheses
    explorer = Explorer(trace, model, response=False, progress=False)
    assert explorer.matches is None
    explorer.selection = [3, 7, 12]
    result = explorer.matches
    assert result is not None and list(result.cells) == [3, 7, 12]
    frame = explorer.table("matches")
    assert list(frame["start"]) == [m.start for m in result.matches]
    first = result.matches[0]
    assert frame.iloc[0]["text"] == " ".join(trace.tokens[first.start : first.stop])


def test_selection_can_be_set_from_a_selection_or_a_dict(parentheses):
    trace, model, _ = parentheses
    explorer = Explorer(trace, model, response=False, progress=False)
    shared = explorer.selection
    explorer.selection = Selection(cells=[4, 2], threshold=0.5)
    assert explorer.selection is shared and shared.cells == (2, 4) and shared.threshold == 0.5
    explorer.selection = {"cells": [9], "start": 5, "stop": 8}
    assert shared.cells == (9,) and shared.range == (5, 8)
    with pytest.raises(TypeError, match="selection must be"):
        explorer.selection = 3.5


def test_state_round_trips_through_json_into_a_new_explorer(parentheses):
    trace, model, data = parentheses
    first = Explorer(trace, model, hy.from_task(data), progress=False)
    first.selection = {"cells": [3, 12], "threshold": 0.4, "start": 30, "stop": 33}
    first.select_view.scroll_to(200)
    first.state_space_view.dims = 3
    first.match_view.top = 20
    first.relevance_bars.current = first.relevance_bars.names[1]
    saved = json.loads(json.dumps(first.state))
    assert set(saved) == {"version", "selection", *first.views}  # one part per view, by name

    second = Explorer(trace, model, hy.from_task(data), progress=False)
    second.state = saved
    assert second.state == first.state
    assert second.selection.cells == (3, 12) and second.state_space_view.dims == 3


def test_bad_state_and_bad_arguments_are_refused_with_the_fix():
    explorer = Explorer(_planted(), progress=False)
    with pytest.raises(ValueError, match="version"):
        explorer.state = {"version": 99}
    with pytest.raises(ValueError, match="unknown parts"):
        explorer.state = {"version": 1, "zoom": {}}
    with pytest.raises(TypeError, match="capture"):
        Explorer(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="layer 2 is not a layer of the trace"):
        Explorer(_planted(), layer=2)
    with pytest.raises(ValueError, match="kind 'c' is not a kind of layer 0 of the trace"):
        Explorer(_planted(), kind="c")
    with pytest.raises(ValueError, match="name must be one of"):
        explorer.table("cells")
    with pytest.raises(ValueError, match="no fixed_points"):
        explorer.table("fixed_points")


def test_fixed_points_true_searches_them_and_the_table_lists_each(parentheses):
    data = zoo.data("flip_flop_gru").subset(range(8))
    model = zoo.load("flip_flop_gru")
    trace = data.annotate(capture(model, data.sequences, progress=False))
    explorer = Explorer(trace, model, fixed_points=True, response=False, progress=False)
    fp = explorer.fixed_points
    assert fp is not None and len(fp) > 0
    frame = explorer.table("fixed_points")
    assert len(frame) == len(fp)
    assert set(frame["stability"]) <= {"stable", "marginal", "saddle", "unstable"}
    np.testing.assert_allclose(frame["q"], fp.q)
    assert explorer.state_space_view._fixed_points is fp
    np.testing.assert_array_equal(fp.inputs, 0.0)  # float inputs: the flip-flop's hold


def test_fixed_points_true_searches_a_token_model_under_its_average_input():
    model = zoo.load("sentiment_gru")
    sequences = zoo.data("sentiment_gru").sequences[:20]
    trace = capture(model, sequences, progress=False)
    explorer = Explorer(trace, model, fixed_points=True, response=False, progress=False)
    expected = average_input(model, trace)
    assert np.abs(expected).max() > 0.01  # not zero, so the test tells the two apart
    np.testing.assert_allclose(
        explorer.fixed_points.inputs, np.tile(expected, (len(explorer.fixed_points), 1))
    )


def test_demo_opens_the_explorer_on_a_shipped_model():
    explorer = rw.demo("parentheses_lstm", max_steps=2_000, progress=False)
    assert isinstance(explorer, Explorer)
    assert explorer.trace.n_steps <= 2_000 and explorer.trace.tracks
    assert set(explorer.views) == {
        "select_view",
        "match_view",
        "state_space_view",
        "relevance_bars",
        "response_view",
    }
    with pytest.raises(ValueError, match="name must be one of"):
        rw.demo("gpt")


@pytest.mark.parametrize("name", ["flip_flop_min_gru", "parentheses_min_gru"])
def test_demo_opens_the_explorer_on_a_min_gru(name):
    explorer = rw.demo(name, max_steps=1_000, progress=False)
    assert explorer.trace.n_steps <= 1_000
    assert set(explorer.views) == {
        "select_view",
        "match_view",
        "state_space_view",
        "relevance_bars",
        "response_view",
        "decay_view",
    }
    assert explorer.children[-1].titles[-1] == "Memory"  # the DecayView's tab
    assert explorer.decay_view.timescales is explorer.timescales  # computed once, by demo
    if name.startswith("flip_flop"):
        assert explorer.fixed_points is not None and explorer.fixed_points.is_fixed.any()
    track = explorer.trace.tracks["mean log10 tau, layer 0"]
    assert np.isfinite(track.values).all() and np.ptp(track.values) > 0


def test_nothing_the_user_passes_is_modified():
    trace = _planted()
    before = trace.states().copy()
    Explorer(trace, hypotheses=[is_x], progress=False)
    np.testing.assert_array_equal(trace.states(), before)


def test_save_image_needs_the_explorer_displayed_first_and_exports_every_view(parentheses):
    trace, model, data = parentheses
    explorer = Explorer(trace, model, hy.from_task(data), progress=False)
    parts = explorer._exportable_children()
    response = explorer.response_view
    assert parts == [
        explorer.select_view,
        explorer.match_view,
        explorer.state_space_view,
        explorer.relevance_bars,
        response.response_curves,
        response.relevance_bars,
    ]
    with pytest.raises(RuntimeError, match="has not been displayed"):
        explorer.save_image("explorer.svg")
    with pytest.raises(ValueError, match="png|svg"):
        explorer.save_image("explorer.gif")


def test_the_bars_open_on_the_hypothesis_a_cell_predicts_best():
    @hy.hypothesis
    def is_y_noise(tokens):
        """Unrelated to any cell: every third step."""
        return [i % 3 == 0 for i in range(len(tokens))]

    explorer = Explorer(_planted(), hypotheses=[is_y_noise, is_x], progress=False)
    assert explorer.relevance_bars.current == "is_x"


def test_close_closes_every_widget_it_made_but_not_a_shared_selection(parentheses):
    trace, model, data = parentheses
    shared = Selection()
    explorer = Explorer(trace, model, hy.from_task(data), selection=shared, progress=False)
    made = explorer._owned_widgets()
    assert explorer.select_view in made and explorer.response_view.response_curves in made
    explorer.close()
    assert all(widget.comm is None for widget in made)
    assert explorer.comm is None
    assert shared.comm is not None  # other views may still share it
    shared.set_range(3, 6)  # no observer of the closed Explorer runs
    own = Explorer(_planted(), progress=False)
    selection = own.selection
    own.close()
    assert selection.comm is None


def _observers(widget) -> dict[str, int]:
    """How many handlers observe each trait of ``widget`` (traits with none left out)."""
    counts = {
        name: sum(len(handlers) for handlers in by_type.values())
        for name, by_type in widget._trait_notifiers.items()
    }
    return {name: count for name, count in counts.items() if count}


def test_closing_twice_is_harmless_and_leaves_no_observer(parentheses):
    # The Explorer closes its views, then the garbage collector's __del__ closes them again.
    trace, model, data = parentheses
    shared = Selection()
    before = _observers(shared)
    explorer = Explorer(trace, model, hy.from_task(data), selection=shared, progress=False)
    assert _observers(shared) != before  # the views follow it ...
    views = explorer._owned_widgets()
    explorer.close()
    for widget in [*views, explorer]:
        widget.close()  # ... and closing them again raises nothing
    assert _observers(shared) == before


def test_fixed_points_true_on_a_deeper_layer_use_the_average_h_below():
    torch.manual_seed(2)
    model = rw.wrap(torch.nn.GRU(2, 4, num_layers=2))
    rng = np.random.default_rng(7)
    sequences = [rng.standard_normal((12, 2)).astype(np.float32) for _ in range(3)]
    trace = capture(model, sequences, progress=False)
    explorer = Explorer(trace, model, layer=1, fixed_points=True, response=False, progress=False)
    expected = trace.states().astype(np.float64).mean(axis=0)
    points = explorer.fixed_points
    assert len(points) > 0 and points.layer == 1
    np.testing.assert_allclose(points.inputs, np.tile(expected, (len(points), 1)), rtol=1e-5)
