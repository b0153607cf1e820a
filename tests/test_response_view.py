"""ResponseView's kernel side: the buffers it sends, the shown cell following the Selection,
the metric picker shared with the ranking bars, validation, and no change to the Response."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from torch import nn

import rnn_widgets as rw
from rnn_widgets import RelevanceBars, ResponseView, Selection
from rnn_widgets.analysis import Response, characterize
from rnn_widgets.models import wrap
from rnn_widgets.widgets.response_view import SINE_CYCLES, STEP_LEAD, STEP_TAIL, ResponseCurves

from .conftest import CommRecorder, send_from_frontend

N_CELLS = 6
STEPS = 200


@pytest.fixture(scope="module")
def response() -> Response:
    """A seeded random 6-cell LSTM driven by stimuli designed from a square wave."""
    torch.manual_seed(0)
    model = wrap(nn.LSTM(1, N_CELLS, batch_first=True))
    time = np.arange(128)
    data = (np.sin(2 * np.pi * time / 16) > 0).astype(np.float32)[None, :, None]
    return characterize(model, sequences=data, steps=STEPS)


def _decoded(payload: dict, dtype: str) -> np.ndarray:
    assert payload["dtype"] == np.dtype(dtype).name
    assert isinstance(payload["data"], memoryview)
    array = np.frombuffer(bytes(payload["data"]), dtype=dtype)
    return array.reshape(payload["shape"])


def _row(response: Response, cell: int) -> int:
    return int(np.flatnonzero(response.cells == cell)[0])


def _shown_outputs(view: ResponseView) -> list[np.ndarray]:
    return [_decoded(p["output"], "<f4") for p in view.response_curves._curves["panels"]]


# ---------------------------------------------------------------------------------- buffers


def test_the_shown_cells_curves_cross_as_float32_buffers_of_its_windows(response):
    view = ResponseView(response, selection=Selection(cells=[3]))
    payload = view.response_curves._curves
    assert payload["cell"] == 3
    assert [p["name"] for p in payload["panels"]] == [s.name for s in response.stimuli]
    for index, panel in enumerate(payload["panels"]):
        start = panel["start"]
        output = _decoded(panel["output"], "<f4")
        inputs = _decoded(panel["inputs"], "<f4")
        stop = start + len(output)
        np.testing.assert_array_equal(
            output, response.outputs[index, start:stop, _row(response, 3)].astype(np.float32)
        )
        stimulus_inputs, _ = response.curve(index, 3)
        np.testing.assert_array_equal(inputs, stimulus_inputs[start:stop].astype(np.float32))
    values = _decoded(payload["values"], "<f4")
    np.testing.assert_array_equal(values, response.values[_row(response, 3)].astype(np.float32))


def test_the_step_window_holds_the_change_and_the_sine_window_its_last_cycles(response):
    view = ResponseView(response)
    step, sine = view.response_curves._curves["panels"][:2]
    change = response.design.change_step
    slowest = int(np.nanmax(response.metric("settling_time")))
    tail = max(STEP_TAIL, 3 * slowest)
    assert step["change"] == change
    assert step["start"] == change - max(STEP_LEAD, tail // 3)
    assert step["start"] + step["output"]["shape"][0] == min(STEPS, change + tail)
    cycles = math.ceil(SINE_CYCLES / response.stimuli[1].frequency)
    assert sine["change"] is None
    assert sine["start"] == STEPS - cycles and sine["output"]["shape"] == [cycles]


def test_a_selection_change_sends_binary_buffers_not_json_lists(response):
    view = ResponseView(response)
    recorder = CommRecorder(view.response_curves)
    view.selection.cells = [4]
    message = recorder.updated("_curves")[-1]
    assert ["_curves", "panels", 0, "output", "data"] in message["buffer_paths"]
    assert all(isinstance(b, (bytes, memoryview)) for b in message["buffers"])
    sent = [bytes(b) for b in message["buffers"]]
    start = message["state"]["_curves"]["panels"][0]["start"]
    stop = start + message["state"]["_curves"]["panels"][0]["output"]["shape"][0]
    expected = response.outputs[0, start:stop, _row(response, 4)].astype("<f4").tobytes()
    assert expected in sent
    assert not any(
        isinstance(panel["output"].get("data"), list)
        for panel in message["state"]["_curves"]["panels"]
    )


def test_only_one_metric_vector_crosses_as_float32(response):
    view = ResponseView(response, metric="amplitude")
    payload = view.response_curves._distribution
    assert payload["metric"] == "amplitude"
    np.testing.assert_array_equal(
        _decoded(payload["values"], "<f4"), response.metric("amplitude").astype(np.float32)
    )
    order = _decoded(payload["order"], "<u4")
    assert np.all(np.diff(response.metric("amplitude")[order]) >= 0)  # ascending
    assert sorted(order.tolist()) == list(range(N_CELLS))
    np.testing.assert_array_equal(_decoded(payload["cells"], "<u4"), response.cells)


def test_undefined_values_are_left_out_of_the_sorted_order(response):
    values = response.values.copy()
    pearson = response.metric_names.index("pearson")
    values[[1, 4], pearson] = np.nan
    planted = dataclasses.replace(response, values=values)
    view = ResponseView(planted, metric="pearson")
    order = _decoded(view.response_curves._distribution["order"], "<u4").tolist()
    assert sorted(order) == [0, 2, 3, 5]
    # The bars need finite scores: a flat cell (no correlation) scores 0 there.
    assert (
        view.relevance_bars.scores("pearson")[1] == 0
        and view.relevance_bars.scores("pearson")[4] == 0
    )


# ---------------------------------------------------------------------------------- selection


def test_the_shown_cell_follows_the_most_recently_added_cell(response):
    view = ResponseView(response)
    before = _shown_outputs(view)
    view.selection.cells = [2]
    assert view.cell == 2
    view.selection.cells = [2, 5]
    assert view.cell == 5
    after = _shown_outputs(view)
    assert not np.array_equal(before[0], after[0])
    np.testing.assert_array_equal(
        after[0], _decoded(view.response_curves._curves["panels"][0]["output"], "<f4")
    )
    view.selection.cells = [2]  # the shown cell left the selection: the remaining one
    assert view.cell == 2
    view.selection.cells = []  # nothing selected: the cell shown stays
    assert view.cell == 2


def test_of_several_cells_added_at_once_the_best_ranked_is_shown(response):
    view = ResponseView(response, metric="amplitude")
    view.relevance_bars.top(3)
    assert view.cell == int(response.ranking("amplitude")[0])
    assert view.selection.cells == tuple(sorted(response.ranking("amplitude")[:3].tolist()))


def test_cells_of_another_layer_do_not_change_the_shown_cell(response):
    selection = Selection(layer=1, cells=[0])
    view = ResponseView(response, selection=selection)
    shown = view.cell
    selection.cells = [4]
    assert view.cell == shown
    selection.layer = 0  # now the selection's cells are the response's
    assert view.cell == 4


def test_a_click_from_the_browser_selects_and_shows_that_cell(response):
    view = ResponseView(response)
    # What the front end sends: the cells as a plain list (cellsToSave), with the layer.
    send_from_frontend(view.selection, {"layer": 0, "cells": [1]})
    assert view.selection.cells == (1,)
    assert view.cell == 1
    assert view.response_curves._curves["cell"] == 1


def test_a_selection_already_holding_cells_shows_one_of_them(response):
    view = ResponseView(response, selection=Selection(cells=[1, 4]), metric="amplitude")
    ranking = response.ranking("amplitude").tolist()
    assert view.cell == min((1, 4), key=ranking.index)


# ---------------------------------------------------------------------------------- metric


def test_the_metric_picker_switches_the_distribution_and_the_bars(response):
    view = ResponseView(response)
    send_from_frontend(view.response_curves, {"metric": "delta"})
    assert view.metric == "delta"
    assert view.relevance_bars.current == "delta" and view.relevance_bars.score_name == "|delta|"
    np.testing.assert_array_equal(
        _decoded(view.response_curves._distribution["values"], "<f4"),
        response.metric("delta").astype(np.float32),
    )
    send_from_frontend(view.relevance_bars, {"current": "amplitude"})
    assert view.metric == "amplitude"
    assert view.response_curves._distribution["metric"] == "amplitude"


def test_the_bars_rank_as_the_response_does_delta_by_its_absolute_value(response):
    view = ResponseView(response)
    assert isinstance(view.relevance_bars, RelevanceBars)
    assert view.relevance_bars.names == list(response.metric_names)
    delta = response.metric("delta")
    np.testing.assert_array_equal(view.relevance_bars.scores("delta"), np.abs(delta))
    np.testing.assert_array_equal(
        view.relevance_bars._signs["delta"], np.sign(delta).astype(np.int8)
    )
    for name in ("delta", "settling_time", "amplitude"):
        np.testing.assert_array_equal(
            view.relevance_bars.ranked_cells(name), response.ranking(name)
        )
    assert view.relevance_bars.selection is view.selection is view.response_curves.selection


def test_an_unknown_metric_shows_an_error_in_place_and_recovers(response):
    view = ResponseView(response)
    view.metric = "bogus"
    assert "bogus" in view.error and "settling_time" in view.error
    assert view.response_curves._distribution is None
    assert view.response_curves._curves is not None  # the curves still show
    view.metric = "amplitude"
    assert view.error == ""
    assert view.response_curves._distribution["metric"] == "amplitude"


# ---------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"metric": "speed"}, ValueError, r"metric 'speed' is not one of .*settling_time"),
        ({"metric": 3}, TypeError, r"metric must be a metric name"),
        ({"selection": {"cells": [1]}}, TypeError, r"selection must be an rnn_widgets.Selection"),
        ({"height": 10}, ValueError, r"height"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(response, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        ResponseView(response, **kwargs)


def test_a_non_response_is_refused_with_the_fix(response):
    with pytest.raises(TypeError, match=r"response must be a Response from .*characterize"):
        ResponseView(response.values)
    with pytest.raises(TypeError, match=r"response must be a Response"):
        ResponseCurves({"values": response.values})


def test_an_inconsistent_response_is_refused(response):
    broken = dataclasses.replace(response, outputs=response.outputs[:1])
    with pytest.raises(ValueError, match=r"response is inconsistent"):
        ResponseView(broken)


def test_a_cell_that_was_not_characterized_is_refused(response):
    view = ResponseView(response)
    with pytest.raises(ValueError, match=r"cell 99 was not characterized"):
        view.cell = 99
    view.cell = 2
    assert view.response_curves._curves["cell"] == 2


# ---------------------------------------------------------------------------------- no mutation


def test_the_users_response_is_not_modified(response):
    before = (response.values.copy(), response.outputs.copy(), response.cells.copy())
    view = ResponseView(response, metric="delta")
    view.selection.cells = [0, 3]
    view.metric = "amplitude"
    view.relevance_bars.top(2)
    np.testing.assert_array_equal(response.values, before[0])
    np.testing.assert_array_equal(response.outputs, before[1])
    np.testing.assert_array_equal(response.cells, before[2])
    assert not response.values.flags.writeable and not response.outputs.flags.writeable
    assert view.response is response


def test_a_closed_view_stops_following_the_selection(response):
    selection = Selection()
    view = ResponseView(response, selection=selection)
    view.response_curves.close()
    selection.cells = [3]
    assert view.response_curves.cell == 0


def test_response_view_is_exported():
    assert rw.ResponseView is ResponseView
    assert "ResponseView" in rw.__all__


def test_a_response_follows_only_a_selection_of_its_own_cells(response):
    # A Mamba response's cells are channels (kind "y"); the block output "h" of the same
    # layer has other units, so selecting h's unit 2 must not show channel 2's curves.
    channels = dataclasses.replace(response, kind="y")
    selection = Selection(layer=channels.layer, kind="h")
    view = ResponseView(channels, selection=selection, cell_kinds=["y", "x"])
    shown = view.cell
    other = next(int(c) for c in channels.cells if int(c) != shown)
    selection.cells = [other]
    assert view.cell == shown  # h's units are not the response's cells
    selection.kind = "x"  # a kind of the channels: the selected cell is now a channel
    assert view.cell == other
    best = view.relevance_bars.top(1)  # the bars select channels, as the first kind
    assert selection.kind == "y" and view.cell == best[0]
    alone = ResponseView(channels)  # without cell_kinds: the response's kind alone
    assert alone.selection.kind == "y"
    before = alone.response_curves.cell
    alone.selection.update({"kind": "h", "cells": [other]})
    assert alone.response_curves.cell == before != other


def test_an_lstm_response_follows_every_kind_of_its_layer(response):
    selection = Selection(layer=response.layer, kind="c")
    view = ResponseView(response, selection=selection)
    cell = int(response.cells[-1])
    selection.cells = [cell]
    assert view.cell == cell


def test_cell_kinds_must_name_kinds(response):
    with pytest.raises(TypeError, match="cell_kinds must be a list of kinds"):
        ResponseView(response, cell_kinds="y")
    with pytest.raises(ValueError, match="cell_kinds must name at least one kind"):
        ResponseView(response, cell_kinds=[])
