"""Kinds of different widths (issue 24, section 1): cell groups through trace, selection,
analyses and views.

A Mamba-like layer is built by hand: block output ``h`` (4 cells), step size ``delta`` and
gated output ``y`` (6 channels, one group), SSM state ``ssm`` (12 values); a second layer is an
LSTM-like one whose kinds all share one group.
"""

from __future__ import annotations

import numpy as np
import pytest

from rnn_widgets import MatchView, Selection, SelectView, Trace
from rnn_widgets.analysis import match, score_cells, select_cells

N_STEPS = 40


@pytest.fixture
def mixed_trace() -> Trace:
    rng = np.random.default_rng(0)
    steps = np.arange(N_STEPS)
    on = ((steps % 10) >= 3) & ((steps % 10) < 7)  # on at steps 3..6 of every 10
    ssm = rng.uniform(-1, -0.5, (N_STEPS, 12))
    ssm[:, 9] = np.where(on, 1.0, -1.0)  # SSM value 9 is on exactly there
    delta = rng.uniform(-1, -0.5, (N_STEPS, 6))
    delta[:, 2] = np.where(on, 0.9, -0.9)
    states = {
        (0, "h"): rng.uniform(-1, 1, (N_STEPS, 4)),
        (0, "delta"): delta,
        (0, "y"): rng.uniform(-1, 1, (N_STEPS, 6)),
        (0, "ssm"): ssm,
        (1, "h"): rng.uniform(-1, 1, (N_STEPS, 3)),
        (1, "c"): rng.uniform(-1, 1, (N_STEPS, 3)),
    }
    tokens = [f"t{i % 10}" for i in range(N_STEPS)]
    return Trace.from_arrays(
        [tokens[:20], tokens[20:]],
        states,
        cell_groups={"delta": "channels", "y": "channels", "ssm": "state"},
    )


def test_each_kind_has_its_width_and_group(mixed_trace):
    assert [mixed_trace.n_cells(kind=k) for k in ("h", "delta", "y", "ssm")] == [4, 6, 6, 12]
    assert mixed_trace.n_cells() == 4  # the first kind, h
    assert mixed_trace.cell_group(kind="delta") == mixed_trace.cell_group(kind="y")
    assert mixed_trace.cell_group(kind="ssm") != mixed_trace.cell_group(kind="h")
    assert mixed_trace.cell_group(layer=1, kind="c") == mixed_trace.cell_group(layer=1, kind="h")
    with pytest.raises(ValueError, match="not a kind of layer 1"):
        mixed_trace.n_cells(layer=1, kind="ssm")


def test_analyses_read_the_kind_they_are_given(mixed_trace):
    cells = select_cells(mixed_trace, 3, 7, threshold=0.0, kind="ssm")
    assert 9 in cells.tolist() and all(c < 12 for c in cells.tolist())
    result = match(mixed_trace, np.array([9]), 0.0, 1, 1, kind="ssm")
    assert len(result.matches) > 0
    labels = (np.arange(N_STEPS) % 10 >= 3) & (np.arange(N_STEPS) % 10 < 7)
    scores = score_cells(
        mixed_trace, {"on": labels.astype(int)}, kind="delta", folds=2, progress=False
    )
    assert scores.score.shape == (1, 6)
    assert int(np.argmax(scores.score[0])) == 2
    with pytest.raises(ValueError, match="cell"):
        match(mixed_trace, np.array([9]), 0.0, 1, 1, kind="h")  # h has 4 cells


def test_saved_selections_are_checked_against_the_kind(mixed_trace):
    Selection().check_state({"kind": "ssm", "cells": [11]}, trace=mixed_trace)
    with pytest.raises(ValueError, match=r"kind 'h' of layer 0 of the trace has 4 cells"):
        Selection().check_state({"kind": "h", "cells": [11]}, trace=mixed_trace)
    selection = Selection(kind="ssm", cells=[11])
    with pytest.raises(ValueError, match="keeps cell 11"):
        selection.update({"kind": "delta"}, trace=mixed_trace)
    assert selection.kind == "ssm" and selection.cells == (11,)  # all or nothing


def test_switching_to_another_group_clears_chosen_cells_and_says_so(mixed_trace):
    view = SelectView(mixed_trace, window_size=8)
    view.selection.cells = (1, 3)
    view.selection.kind = "y"  # h -> y: other units
    assert view.selection.cells == ()
    assert "cleared" in view.message and "'y'" in view.message
    assert view.error == ""
    assert view._window["kind"] == "y"
    view.selection.cells = (0, 5)
    view.selection.kind = "delta"  # same group: the cells carry over
    assert view.selection.cells == (0, 5)


def test_a_brushed_range_selects_again_on_the_new_kind(mixed_trace):
    view = SelectView(mixed_trace, window_size=8)
    view.selection.update({"kind": "ssm", "start": 3, "stop": 7, "threshold": 0.0})
    assert 9 in view.selection.cells
    view.selection.kind = "delta"
    assert 2 in view.selection.cells
    assert all(cell < 6 for cell in view.selection.cells)


def test_same_group_kinds_keep_cells_on_an_lstm_layer(mixed_trace):
    view = SelectView(mixed_trace, window_size=8)
    view.selection.update({"layer": 1, "cells": [2]})
    view.selection.kind = "c"
    assert view.selection.cells == (2,)
    assert view.message == ""


def test_match_view_works_on_a_wide_kind(mixed_trace):
    selection = Selection(kind="ssm", cells=[9], threshold=0.0)
    view = MatchView(mixed_trace, selection=selection)
    assert view.error == ""
    selection.kind = "h"
    assert "has 4 cells" in view.error
