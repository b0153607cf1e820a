"""The DecayView and the Explorer's "Memory" tab, on a hand-built minGRU with known decays.

In minGRU (Feng et al. 2024 [1]_) ``h_t = (1 - z_t) h_{t-1} + z_t h~_t``: with one-hot inputs,
a token's column of ``W_z`` sets ``z`` when it is read. Token ``"R"`` opens cell 0's update gate
(``z = σ(3)``: a reset, ``tau`` about 0.33 steps), ``"K"`` closes it (``z = σ(-8)``: a hold of
about 3,000 steps, past the median sequence length of 8), ``"n"`` leaves it half open; cell 1 is
half open under every token (``tau = 1 / log 2``).

References
----------
.. [1] Feng, L., Tung, F., Ahmed, M. O., Bengio, Y., & Hajimirsadeghi, H. (2024). Were RNNs all
   we needed? arXiv:2410.01201.
"""

from __future__ import annotations

import dataclasses

import ipywidgets
import numpy as np
import pytest
import torch

import rnn_widgets as rw
from rnn_widgets.analysis import memory_timescales
from rnn_widgets.models import MinGRU, RecurrentModel

VOCAB = ["R", "K", "n"]
LOGITS = {"R": 3.0, "K": -8.0, "n": 0.0}  # cell 0's z logit when each token is read
SEQUENCES = [list("nnRnKnnn"), list("KnnnnRRn"), list("nKnRnnnn"), list("nn")]
HINT = "select a cell to see which tokens hold or reset it"


def _tau(logit: float) -> float:
    return -1.0 / np.log1p(-1.0 / (1.0 + np.exp(-logit)))


def _model() -> RecurrentModel:
    module = MinGRU(3, 2)
    with torch.no_grad():
        module.weight_ih_l0.zero_()
        module.bias_ih_l0.zero_()
        for token, logit in LOGITS.items():
            module.weight_ih_l0[0, VOCAB.index(token)] = logit  # z of cell 0
        module.weight_ih_l0[2:, :] = 0.3  # the candidate: any value
    return RecurrentModel(module, embedding="one_hot", vocab=VOCAB)


@pytest.fixture(scope="module")
def model() -> RecurrentModel:
    return _model()


@pytest.fixture(scope="module")
def trace(model) -> rw.Trace:
    return rw.capture(model, SEQUENCES, progress=False)


@pytest.fixture(scope="module")
def timescales(trace, model):
    return memory_timescales(trace, model, progress=False)


def _bars(view: rw.DecayView, name: str) -> np.ndarray:
    return view.relevance_bars.scores(name)


# ---------------------------------------------------------------------- the bars


def test_the_bars_show_log10_of_the_median_time_constant_over_all_steps(timescales):
    view = rw.DecayView(timescales)
    expected = np.log10(np.median(timescales.tau.astype(np.float64), axis=0))
    assert view.current == "all steps"
    np.testing.assert_allclose(_bars(view, "all steps"), expected, rtol=1e-6)
    np.testing.assert_allclose(_bars(view, "all steps")[1], np.log10(_tau(0.0)), rtol=1e-5)
    view.close()


def test_a_tokens_bars_are_log10_of_its_median_time_constant(timescales):
    view = rw.DecayView(timescales)
    k = timescales.token_types.index("K")
    np.testing.assert_allclose(
        _bars(view, "τ after 'K'"), np.log10(timescales.median_tau[k]), rtol=1e-6
    )
    np.testing.assert_allclose(_bars(view, "τ after 'K'")[0], np.log10(_tau(-8.0)), rtol=1e-4)
    np.testing.assert_allclose(_bars(view, "τ after 'R'")[0], np.log10(_tau(3.0)), rtol=1e-4)
    view.close()


def test_the_picker_lists_all_steps_then_the_most_frequent_tokens_first(timescales):
    view = rw.DecayView(timescales, n_tokens=2)  # n: 23 reads, R: 4, K: 3
    assert view.names == ("all steps", "τ after 'n'", "τ after 'R'")
    view.current = "τ after 'R'"
    assert view.relevance_bars.current == "τ after 'R'"
    assert view.relevance_bars.score_name == "log10 time constant (steps)"
    view.close()


def test_a_time_constant_of_infinity_or_zero_is_clipped_to_a_finite_bar(timescales):
    median = np.array(timescales.median_tau)
    median[:, 0], median[:, 1] = np.inf, 0.0
    view = rw.DecayView(dataclasses.replace(timescales, median_tau=median))
    assert list(_bars(view, "τ after 'n'")) == [6.0, -2.0]
    view.close()


# ---------------------------------------------------------------------- the text line


def test_an_empty_selection_shows_a_neutral_hint(timescales):
    view = rw.DecayView(timescales)
    assert isinstance(view.text, ipywidgets.Label)  # text, never HTML
    assert view.text.value == HINT and view.cell is None
    view.close()


def test_selecting_a_cell_names_the_tokens_that_hold_and_reset_it(timescales):
    view = rw.DecayView(timescales, min_count=1)
    view.selection.cells = [0]
    assert view.cell == 0
    assert view.text.value == (
        f"cell 0: held longest after 'K' (τ {_tau(-8.0):,.0f}, 100% of 3); "
        "reset by 'R' (τ 0.33, 100% of 4)"
    )
    view.selection.cells = [1]
    assert view.text.value == (
        "cell 1: no token holds it past 8 steps; no token resets it (τ under 1 step)"
    )
    view.selection.cells = []
    assert view.text.value == HINT
    view.close()


def test_min_count_leaves_out_tokens_read_too_rarely(timescales):
    view = rw.DecayView(timescales, min_count=4)  # K is read 3 times
    view.selection.cells = [0]
    assert "no token holds it" in view.text.value and "'R'" in view.text.value
    view.close()


def test_a_selection_of_another_layer_or_kind_shows_the_hint(timescales):
    selection = rw.Selection(layer=0, kind="z")
    view = rw.DecayView(timescales, selection=selection)
    selection.cells = [0]
    assert view.text.value == HINT
    selection.kind = "h"
    assert view.text.value.startswith("cell 0:")
    view.close()
    selection.cells = [1]  # a closed view no longer follows
    assert view.text.value.startswith("cell 0:")


# ---------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_tokens": -1}, ValueError, "n_tokens"),
        ({"k": 0}, ValueError, "k"),
        ({"min_count": 1.5}, TypeError, "min_count"),
        ({"selection": {"cells": [0]}}, TypeError, "selection must be an rnn_widgets.Selection"),
        ({"height": 10}, ValueError, "height"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(timescales, kwargs, error, match):
    with pytest.raises(error, match=match):
        rw.DecayView(timescales, **kwargs)


def test_timescales_must_be_a_memory_timescales():
    with pytest.raises(TypeError, match=r"timescales must be a MemoryTimescales.*got ndarray"):
        rw.DecayView(np.zeros((4, 2)))


def test_current_must_name_a_bar(timescales):
    view = rw.DecayView(timescales)
    with pytest.raises(ValueError, match="not one of the bars"):
        view.current = "τ after 'x'"
    view.close()


# ---------------------------------------------------------------------- the Explorer


@pytest.fixture(scope="module")
def explorer(trace, model):
    explorer = rw.Explorer(trace, model, progress=False)
    yield explorer
    explorer.close()


def test_the_explorer_of_a_min_gru_shows_the_memory_tab(explorer, timescales):
    tabs = explorer.children[-1]
    assert isinstance(tabs, ipywidgets.Tab) and tabs.titles[-1] == "Memory"
    assert tabs.children[-1] is explorer.decay_view is explorer.views["decay_view"]
    assert explorer.decay_view.selection is explorer.selection
    np.testing.assert_array_equal(explorer.timescales.tau, timescales.tau)
    assert explorer.decay_view.relevance_bars in explorer._exportable_children()


def test_a_bar_clicked_in_the_explorer_selects_the_cell_everywhere(explorer):
    explorer.selection.cells = [0]  # what a click on cell 0's bar sets
    assert explorer.decay_view.text.value.startswith("cell 0:")
    explorer.selection.cells = []


def test_the_explorer_state_saves_and_restores_the_bars_shown(explorer):
    explorer.decay_view.current = "τ after 'K'"
    state = explorer.state
    assert state["decay_view"] == {"current": "τ after 'K'"}
    explorer.decay_view.current = "all steps"
    explorer.state = state
    assert explorer.decay_view.current == "τ after 'K'"
    with pytest.raises(ValueError, match=r"state\['decay_view'\]\['current'\]"):
        explorer.state = {**state, "decay_view": {"current": "nope"}}
    assert explorer.decay_view.current == "τ after 'K'"


def test_the_explorer_of_an_lstm_has_no_memory_tab():
    trace = rw.capture(torch.nn.LSTM(3, 2), [torch.randn(6, 3)], progress=False)
    explorer = rw.Explorer(trace, torch.nn.LSTM(3, 2), progress=False)
    assert explorer.decay_view is None and "decay_view" not in explorer.views
    assert not any("decay_view" in n for n in explorer.notices)  # not applicable, not missing
    assert not any(
        isinstance(w, ipywidgets.Tab) and "Memory" in w.titles for w in explorer.children
    )
    explorer.close()


def test_views_can_leave_the_memory_tab_out_and_nothing_is_computed(trace, model):
    explorer = rw.Explorer(trace, model, views=["select_view", "relevance_bars"], progress=False)
    assert explorer.decay_view is None and explorer.timescales is None
    explorer.close()


def test_timescales_false_hides_the_view_and_others_layers_are_refused(trace, model, timescales):
    explorer = rw.Explorer(trace, model, timescales=False, progress=False)
    assert explorer.decay_view is None
    explorer.close()
    other = dataclasses.replace(timescales, layer=1)
    with pytest.raises(ValueError, match="memory_timescales"):
        rw.Explorer(trace, model, timescales=other, progress=False)
    with pytest.raises(TypeError, match="timescales must be a MemoryTimescales"):
        rw.Explorer(trace, model, timescales="yes", progress=False)
