"""Careless arguments fail at the boundary, naming the argument; sizes and work are bounded.

Issue 22, sections 4 and 5: impossible shapes, misleading blame, raw library errors,
unbounded sizes (Python raises naming the bound; a browser gesture is clamped and told in
place) and a regular-expression search bounded in time.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import rnn_widgets as rw
from rnn_widgets.analysis import ablate, find_fixed_points, score_cells
from rnn_widgets.models import RecurrentModel
from rnn_widgets.trace import Trace
from rnn_widgets.widgets.select_view import MAX_WINDOW_SIZE, SelectView

from .conftest import send_from_frontend

CATASTROPHIC = r"(a|aa)+$"


def _trace(tokens, n_cells=3):
    n = sum(len(t) for t in tokens) if isinstance(tokens[0], list) else len(tokens)
    return Trace.from_arrays(tokens, np.zeros((n, n_cells)))


# ---------------------------------------------------------------------- trace


def test_a_negative_sequence_length_is_refused_naming_it():
    with pytest.raises(ValueError, match=r"lengths\[1\] must be >= 1, got -2"):
        Trace.from_arrays(list("abcdefg"), np.zeros((7, 2)), lengths=[5, -2, 4])


def test_lengths_that_are_not_a_list_are_refused():
    with pytest.raises(TypeError, match="lengths must be a list of ints"):
        Trace.from_arrays(list("ab"), np.zeros((2, 2)), lengths=2)


def test_a_token_with_a_lone_surrogate_is_refused_naming_its_place():
    with pytest.raises(ValueError, match=r"tokens\[1\]\[0\] holds '\\ud800'.*lone surrogate"):
        _trace([["a"], ["\ud800", "b"]])


def test_a_bytes_token_that_is_not_utf8_is_refused_with_the_fix():
    with pytest.raises(ValueError, match=r"tokens\[1\] is bytes that are not UTF-8.*latin-1"):
        _trace([b"ok", b"\xff"])


def test_utf8_bytes_tokens_are_still_decoded():
    assert list(_trace([b"caf\xc3\xa9", "x"]).tokens) == ["café", "x"]


def test_a_catastrophic_regex_stops_at_the_time_bound_with_a_clear_message():
    trace = _trace(list("a" * 40 + "!"))
    with pytest.raises(ValueError, match=r"too costly.*1 s \(SEARCH_TIMEOUT\).*simplify"):
        trace.search(CATASTROPHIC, regex=True)


def test_regexes_keep_python_syntax_backreferences_and_lookarounds():
    trace = _trace(list("abba cddc"))
    assert trace.search(r"(\w)(\w)\2\1", regex=True).tolist() == [[0, 4], [5, 9]]
    assert trace.search(r"b(?=a)", regex=True).tolist() == [[2, 3]]


def test_a_literal_search_reads_regex_characters_as_text():
    assert _trace(list("a(a|aa)+$")).search("(a|aa)+$").tolist() == [[1, 9]]


# ---------------------------------------------------------------------- models


def test_a_readout_of_the_wrong_width_is_refused_when_wrapped():
    with pytest.raises(ValueError, match=r"readout does not fit the core.*nn.Linear\(4, n_outputs"):
        RecurrentModel(nn.LSTM(3, 4), readout=nn.Linear(5, 2))


def test_a_bidirectional_readout_must_read_both_directions():
    with pytest.raises(ValueError, match=r"gives 8 features"):
        RecurrentModel(nn.GRU(3, 4, bidirectional=True), readout=nn.Linear(4, 2))


def test_an_embedding_smaller_than_the_vocab_is_refused_when_wrapped():
    with pytest.raises(ValueError, match=r"vocab has ids up to 5.*num_embeddings >= 6"):
        RecurrentModel(nn.LSTM(3, 4), embedding=nn.Embedding(3, 3), vocab=list("abcdef"))


def test_a_one_hot_embedding_narrower_than_the_vocab_is_refused():
    with pytest.raises(ValueError, match="one-hot embedding"):
        RecurrentModel(nn.LSTM(3, 4), embedding="one_hot", vocab=list("abcdef"))


def test_a_model_on_the_meta_device_is_refused_when_wrapped():
    with pytest.raises(ValueError, match=r"core.weight_ih_l0 is on the meta device.*to_empty"):
        RecurrentModel(nn.LSTM(3, 4, device="meta"))


def test_a_lazy_readout_that_never_ran_is_refused():
    with pytest.raises(ValueError, match=r"readout.weight is not initialised"):
        RecurrentModel(nn.LSTM(3, 4), readout=nn.LazyLinear(2))


def test_a_vocab_token_utf8_cannot_encode_is_refused():
    with pytest.raises(ValueError, match=r"vocab\[1\] holds '\\udc80'"):
        RecurrentModel(nn.LSTM(3, 4), embedding=nn.Embedding(2, 3), vocab=["a", "\udc80"])


def test_wrapping_a_fitting_model_leaves_it_unchanged():
    core, readout = nn.LSTM(3, 4).train(), nn.Linear(4, 2)
    before = {k: v.clone() for k, v in core.state_dict().items()}
    RecurrentModel(core, embedding=nn.Embedding(5, 3), readout=readout, vocab=list("abcde"))
    assert core.training and all(torch.equal(before[k], v) for k, v in core.state_dict().items())


# ---------------------------------------------------------------------- analyses


@pytest.fixture
def rnn():
    torch.manual_seed(0)
    return nn.RNN(2, 3)


def test_a_nan_input_of_find_fixed_points_names_inputs_not_the_weights(rnn):
    states = np.zeros((4, 3))
    with pytest.raises(
        ValueError, match=r"inputs has 1 NaN or infinite values \(first at index \(0, 1\)\)"
    ):
        find_fixed_points(rnn, states, inputs=np.array([[0.0, np.nan]]), progress=False)


def test_an_infinite_initial_state_names_initial_states(rnn):
    states = np.zeros((4, 3))
    states[2, 1] = np.inf
    with pytest.raises(ValueError, match=r"initial_states has 1 NaN.*\(2, 1\)"):
        find_fixed_points(rnn, states, progress=False)


def test_string_inputs_are_a_type_error_naming_inputs(rnn):
    with pytest.raises(TypeError, match="inputs must hold"):
        find_fixed_points(rnn, np.zeros((4, 3)), inputs=["a", "b"], progress=False)


@pytest.mark.parametrize("name", ["merge_distance", "outlier_distance", "attractor_distance"])
def test_a_negative_distance_of_find_fixed_points_is_refused(rnn, name):
    with pytest.raises(ValueError, match=f"{name} must be >= 0"):
        find_fixed_points(rnn, np.zeros((4, 3)), progress=False, **{name: -1.0})


@pytest.mark.filterwarnings("ignore:.*ran out of max_iterations")
def test_find_fixed_points_does_not_modify_the_arrays_passed(rnn):
    states, inputs = np.zeros((4, 3)), np.zeros((1, 2))
    find_fixed_points(rnn, states, inputs=inputs, n=4, max_iterations=2, progress=False)
    assert not states.any() and not inputs.any()


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (float("nan"), ValueError, r"returned nan with nothing clamped"),
        ("high", TypeError, r"must return a float, got str"),
        (np.zeros(3), TypeError, r"must return one float, got an array of shape \(3,\)"),
        (torch.ones(2, 2), TypeError, r"must return one float, got an array of shape \(2, 2\)"),
    ],
)
def test_a_metric_that_does_not_return_a_finite_float_is_named(rnn, value, error, message):
    def score(result):
        return value

    with pytest.raises(error, match=f"metric score {message}"):
        ablate(rnn, torch.zeros(1, 5, 2), score, [0, 1], ks=[1], progress=False)


def test_a_metric_that_turns_nan_under_a_clamp_names_the_clamp(rnn):
    def score(result):
        return 1.0 if result.states[(0, "h")].abs().sum() > 0 else float("nan")

    with pytest.raises(ValueError, match=r"with layer 0: cells \[0\] clamped"):
        ablate(
            RecurrentModel(nn.RNN(1, 1)), torch.ones(1, 3, 1), score, [0], ks=[1],
            random_draws=1, progress=False,
        )  # fmt: skip


@pytest.fixture
def labelled_trace():
    rng = np.random.default_rng(0)
    label = (rng.random(200) < 0.4).astype(float)
    tokens = [["a" if v else "b" for v in label[i : i + 20]] for i in range(0, 200, 20)]
    states = np.stack([label + 0.2 * rng.normal(size=200), rng.normal(size=200)], 1)
    return Trace.from_arrays(tokens, {"h": states}), label


def test_score_cells_refuses_bins_past_the_bound_naming_it(labelled_trace):
    trace, label = labelled_trace
    with pytest.raises(ValueError, match=r"bins must be <= 10000 \(histogram bins"):
        score_cells(trace, {"on": label}, folds=5, bins=10**9, progress=False)


def test_ctrl_c_in_a_hypothesis_stops_score_cells_and_propagates(labelled_trace):
    trace, _ = labelled_trace
    calls = []

    @rw.hypotheses.hypothesis
    def interrupted(tokens):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return [float(t == "a") for t in tokens]

    with pytest.raises(KeyboardInterrupt):
        score_cells(trace, interrupted, folds=5, progress=True)
    assert len(calls) == 3  # stopped at once, the remaining sequences not labelled


def test_score_cells_shows_progress_while_hypotheses_label(labelled_trace, capsys):
    trace, _ = labelled_trace

    @rw.hypotheses.hypothesis
    def is_a(tokens):
        return [float(t == "a") for t in tokens]

    score_cells(trace, is_a, folds=5, progress=True)
    assert "label" in capsys.readouterr().err


# ---------------------------------------------------------------------- views


@pytest.fixture
def long_trace():
    return _trace(list("ab" * 3000))


def test_a_window_size_past_the_bound_from_python_raises_naming_it(long_trace):
    message = r"window_size must be <= 2000 \(the most steps a view sends at once\)"
    with pytest.raises(ValueError, match=message):
        SelectView(long_trace, window_size=10**9)
    view = SelectView(long_trace, window_size=10)
    with pytest.raises(ValueError, match=message):
        view.window_size = 10**9
    assert view.window_size == 10


def test_a_window_size_past_the_bound_from_the_browser_is_clamped_and_told(long_trace):
    view = SelectView(long_trace, window_size=10)
    send_from_frontend(view, {"window_size": 10**9})
    assert view.window_size == MAX_WINDOW_SIZE
    assert len(view._window["tokens"]) == MAX_WINDOW_SIZE
    assert "window_size 1000000000 is more than 2000" in view.message


def test_a_zoom_out_on_a_huge_plot_is_clamped_and_told(long_trace):
    view = SelectView(long_trace, window_size=10)
    send_from_frontend(view, {"_plot_width": 10**7, "column_width": 4})
    assert view.window_size == MAX_WINDOW_SIZE
    assert "showing 2000" in view.message


def test_the_search_box_searches_a_regex_between_slashes(long_trace):
    view = SelectView(long_trace, window_size=10)
    send_from_frontend(view, {"search_query": "/b(?=a)/", "_search_request": 1})
    assert "hit 1 of 2999" in view.message


def test_a_catastrophic_regex_in_the_search_box_is_told_in_place(long_trace):
    view = SelectView(_trace(list("a" * 40 + "!")), window_size=10)
    send_from_frontend(view, {"search_query": f"/{CATASTROPHIC}/", "_search_request": 1})
    assert "too costly" in view.message
