"""Every size a view or an analysis can be asked for has a bound (issue 22, sizes).

From Python a value past its bound raises a ``ValueError`` naming the bound; the same value
sent by the browser is clamped and the view says so in place, in its ``message`` trait,
without hiding its content. Analyses refuse sizes that multiply into an absurd allocation
before allocating; a hypothesis's regex is bounded in time.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from torch import nn

from rnn_widgets import capture, tasks
from rnn_widgets.analysis import (
    ablate,
    design_stimuli,
    find_fixed_points,
    find_limit_cycles,
    phase_portrait,
    score_cells,
    state_pca,
)
from rnn_widgets.hypotheses import regex
from rnn_widgets.models import RecurrentModel
from rnn_widgets.trace import Trace
from rnn_widgets.widgets._bounds import MAX_HEIGHT
from rnn_widgets.widgets.ablation_plot import AblationPlot
from rnn_widgets.widgets.match_view import MAX_CONTEXT, MAX_TOP, MatchView
from rnn_widgets.widgets.relevance_bars import RelevanceBars
from rnn_widgets.widgets.select_view import SelectView
from rnn_widgets.widgets.state_space_view import MAX_POINTS, MAX_TRAJECTORIES, StateSpaceView

from .conftest import send_from_frontend

HUGE = 10**9


@pytest.fixture(scope="module")
def trace() -> Trace:
    rng = np.random.default_rng(0)
    tokens = [list("abcab" * 4) for _ in range(120)]
    return Trace.from_arrays(tokens, rng.normal(size=(120 * 20, 4)))


def _view(trace: Trace, name: str) -> object:
    """A view with a ``height`` (MatchView has none: its rows set its height)."""
    make = {
        "SelectView": lambda: SelectView(trace),
        "StateSpaceView": lambda: StateSpaceView(trace),
        "RelevanceBars": lambda: RelevanceBars({"s": np.arange(4.0)}),
        "AblationPlot": lambda: AblationPlot([1, 2], {"zero": [0.5, 0.4]}, {"zero": [[0.5, 0.5]]}),
    }
    return make[name]()


VIEWS = ["SelectView", "StateSpaceView", "RelevanceBars", "AblationPlot"]

# ---------------------------------------------------------------------------------- views


@pytest.mark.parametrize("name", VIEWS)
def test_a_height_past_the_bound_set_from_python_raises_naming_it(trace, name):
    view = _view(trace, name)
    before = view.height
    with pytest.raises(ValueError, match=r"height must be <= 4000 \(the tallest plot"):
        view.height = HUGE
    assert view.height == before


@pytest.mark.parametrize("name", VIEWS)
def test_a_height_past_the_bound_from_the_browser_is_clamped_and_told(trace, name):
    view = _view(trace, name)
    send_from_frontend(view, {"height": HUGE})
    assert view.height == MAX_HEIGHT
    assert "height 1000000000 is more than 4000" in view.message
    assert view.error == ""


def test_a_height_past_the_bound_is_refused_when_a_view_is_built(trace):
    with pytest.raises(ValueError, match=r"height must be <= 4000"):
        SelectView(trace, height=HUGE)
    with pytest.raises(ValueError, match=r"height must be <= 4000"):
        AblationPlot([1], {"zero": [0.5]}, {"zero": [[0.5]]}, height=HUGE)


@pytest.mark.parametrize(
    ("trait", "bound", "message"),
    [
        ("top", MAX_TOP, r"top must be <= 1000 \(the most match rows"),
        ("context", MAX_CONTEXT, r"context must be <= 200 \(the most steps of context"),
    ],
)
def test_match_view_sizes_past_their_bound_from_python_raise_naming_it(
    trace, trait, bound, message
):
    with pytest.raises(ValueError, match=message):
        MatchView(trace, **{trait: HUGE})
    view = MatchView(trace)
    with pytest.raises(ValueError, match=message):
        setattr(view, trait, bound + 1)


@pytest.mark.parametrize(("trait", "bound"), [("top", MAX_TOP), ("context", MAX_CONTEXT)])
def test_match_view_sizes_from_the_browser_are_clamped_and_told(trace, trait, bound):
    view = MatchView(trace)
    send_from_frontend(view, {trait: HUGE})
    assert getattr(view, trait) == bound
    assert f"{trait} 1000000000 is more than {bound}" in view.message


def test_max_points_past_the_bound_is_refused_naming_it(trace):
    with pytest.raises(ValueError, match=r"max_points must be <= 1000000 \(the most visited"):
        StateSpaceView(trace, max_points=MAX_POINTS + 1)


def test_too_many_trajectories_from_python_raise_naming_the_bound(trace):
    with pytest.raises(ValueError, match=r"sequences must have at most 100 items"):
        StateSpaceView(trace, sequences=list(range(MAX_TRAJECTORIES + 1)))
    view = StateSpaceView(trace)
    with pytest.raises(ValueError, match=r"at most 100 items"):
        view.sequences = list(range(110))
    assert view.sequences == [0, 1, 2, 3]


def test_too_many_trajectories_from_the_browser_are_cut_and_told(trace):
    view = StateSpaceView(trace)
    send_from_frontend(view, {"sequences": list(range(120))})
    assert view.sequences == list(range(MAX_TRAJECTORIES))
    assert "sequences has 120 items, more than 100" in view.message
    assert len(view._trajectories["sequences"]) == MAX_TRAJECTORIES


# ---------------------------------------------------------------------------------- analyses


@pytest.fixture(scope="module")
def rnn() -> RecurrentModel:
    torch.manual_seed(0)
    return RecurrentModel(nn.RNN(2, 3))


def test_ablate_refuses_random_draws_past_the_bound_naming_it(rnn):
    with pytest.raises(ValueError, match=r"random_draws must be <= 1000 \(random cell sets"):
        ablate(rnn, torch.zeros(1, 4, 2), lambda r: 1.0, [0, 1], ks=[1], random_draws=HUGE)


def test_phase_portrait_refuses_a_grid_past_the_bound_naming_it(rnn):
    plane = (np.zeros(3), np.eye(3)[:2])
    with pytest.raises(ValueError, match=r"grid must be <= 200 \(grid points per side"):
        phase_portrait(rnn, plane, grid=10**6, extent=(-1, 1, -1, 1), progress=False)


def test_phase_portrait_refuses_steps_that_multiply_past_the_array_bound(rnn):
    plane = (np.zeros(3), np.eye(3)[:2])
    with pytest.raises(ValueError, match=r"trajectories would hold .*MAX_ARRAY_VALUES.*steps"):
        phase_portrait(rnn, plane, grid=200, steps=10**6, extent=(-1, 1, -1, 1), progress=False)


def test_find_fixed_points_refuses_n_whose_jacobians_exhaust_memory(rnn):
    with pytest.raises(ValueError, match=r"find_fixed_points's Jacobians would hold.*lower n"):
        find_fixed_points(rnn, np.zeros((4, 3)), n=HUGE, progress=False)


def test_find_limit_cycles_refuses_a_max_period_past_the_array_bound(rnn):
    with pytest.raises(ValueError, match=r"find_limit_cycles's paths would hold"):
        find_limit_cycles(rnn, np.zeros((4, 3)), max_period=HUGE, progress=False)


def test_design_stimuli_refuses_steps_past_the_bound_naming_it(rnn):
    with pytest.raises(ValueError, match=r"steps must be <= 100000 \(stimulus steps"):
        design_stimuli(rnn, np.zeros((1, 64, 2)), steps=HUGE)


def test_score_cells_refuses_folds_past_the_bound_naming_it(trace):
    labels = {"a": np.array([float(t == "a") for t in trace.tokens])}
    with pytest.raises(ValueError, match=r"folds must be <= 1000 \(cross-validation folds"):
        score_cells(trace, labels, folds=HUGE, progress=False)


def test_state_pca_takes_max_states_past_the_trace_as_every_state(trace):
    assert state_pca(trace, max_states=HUGE).projected.shape[0] == trace.n_steps


def test_capture_refuses_top_k_past_the_readouts_outputs_naming_them():
    model = RecurrentModel(
        nn.GRU(3, 4), embedding=nn.Embedding(3, 3), readout=nn.Linear(4, 3), vocab=list("abc")
    )
    with pytest.raises(ValueError, match=r"top_k=1000000000 is more than the readout's 3"):
        capture(model, [list("abc")], top_k=HUGE, progress=False)
    assert capture(model, [list("abc")], progress=False).predictions.k == 3


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: tasks.parentheses(HUGE, 40), r"n_sequences \* length must be <= 10000000"),
        (lambda: tasks.flip_flop(2, 10, HUGE), r"n_sequences \* length must be <= 10000000"),
        (lambda: tasks.arithmetic(HUGE), r"n_sequences \* max_length must be <= 10000000"),
        (lambda: tasks.automaton("mod3", HUGE, 10), r"n_sequences \* length must be <="),
    ],
)
def test_task_generators_refuse_sizes_past_the_step_bound(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# ---------------------------------------------------------------------------------- regex


CATASTROPHIC = r"(a|aa)+$"


def test_a_catastrophic_regex_hypothesis_stops_at_the_time_bound_naming_the_pattern():
    hypothesis = regex(CATASTROPHIC)
    with pytest.raises(ValueError, match=r"'\(a\|aa\)\+\$' is too costly.*SEARCH_TIMEOUT"):
        hypothesis(list("a" * 40 + "!"))


def test_a_compiled_pattern_keeps_its_flags():
    assert regex(re.compile("A", re.IGNORECASE))(list("xaA")).tolist() == [0, 1, 1]
    assert regex("a", flags=re.IGNORECASE)(list("xaA")).tolist() == [0, 1, 1]


def test_regex_hypotheses_keep_python_syntax_lookarounds_and_backreferences():
    assert regex(r"(?<=a)b")(list("abcb")).tolist() == [0, 1, 0, 0]
    assert regex(r"(\w)\1")(list("xyyz")).tolist() == [0, 1, 1, 0]


def test_a_bytes_pattern_is_refused_naming_it():
    with pytest.raises(ValueError, match="not a valid regular expression"):
        regex(re.compile(b"a"))


# ---------------------------------------------------------------------------------- models


def test_a_float64_readout_over_a_float32_default_cell_is_probed_in_float64():
    class Cell:
        kinds = ("h",)
        state_size = input_size = 2

        def step(self, state, x):
            return state + x, {"h": state + x}

    readout = nn.Linear(2, 2).double()
    model = RecurrentModel(Cell(), readout=readout)
    assert model.readout_module is readout


def test_a_double_model_wraps_and_reads_out():
    model = RecurrentModel(nn.LSTM(2, 3).double(), readout=nn.Linear(3, 2).double())
    assert model.readout(torch.zeros(1, 3, dtype=torch.float64)).dtype == torch.float64
