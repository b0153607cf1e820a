"""Time constants per step and token: a hand-built minGRU whose tokens reset or hold a cell.

In minGRU (Feng et al. 2024 [1]_) ``h_t = (1 - z_t) h_{t-1} + z_t h~_t`` with ``z_t = σ(W_z
x_t + b_z)``: with one-hot inputs, the column of ``W_z`` of a token sets ``z`` when it is read.
Token ``"R"`` opens cell 0's update gate (``z = σ(3)``, a reset), ``"K"`` closes it (``z =
σ(-8)``, a hold of about 3,000 steps), ``"n"`` leaves it half open; cell 1 is half open under
every token. The expected time constants are ``-1 / log(1 - σ(logit))`` in float64. A family
with several modes per channel (Mamba's form, Gu & Dao 2023 [2]_) plugs in by one table entry.

References
----------
.. [1] Feng, L., Tung, F., Ahmed, M. O., Bengio, Y., & Hajimirsadeghi, H. (2024). Were RNNs all
   we needed? arXiv:2410.01201.
.. [2] Gu, A., & Dao, T. (2023). Mamba: Linear-time sequence modeling with selective state
   spaces. arXiv:2312.00752.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import rnn_widgets as rw
from rnn_widgets.analysis import memory_timescales
from rnn_widgets.models import MinGRU, MinLSTM, RecurrentModel

VOCAB = ["R", "K", "n"]
LOGITS = {"R": 3.0, "K": -8.0, "n": 0.0}  # cell 0's z logit when each token is read
SEQUENCES = [list("nnRnKnnn"), list("KnnnnRRn"), list("nKnRnnnn"), list("nn")]


def _sigmoid(v: float) -> float:
    return 1.0 / (1.0 + np.exp(-v))


def _tau(logit: float) -> float:
    return -1.0 / np.log1p(-_sigmoid(logit))


def _model() -> RecurrentModel:
    module = MinGRU(3, 2)
    with torch.no_grad():
        module.weight_ih_l0.zero_()
        module.bias_ih_l0.zero_()
        for token, logit in LOGITS.items():
            module.weight_ih_l0[0, VOCAB.index(token)] = logit  # z of cell 0
        module.weight_ih_l0[2:, :] = 0.3  # the candidate: any value
    return RecurrentModel(module, embedding="one_hot", vocab=VOCAB)


def _trace(kinds=None) -> rw.Trace:
    return rw.capture(_model(), SEQUENCES, kinds=kinds, progress=False)


def _expected_tau(trace: rw.Trace) -> np.ndarray:
    expected = np.empty((trace.n_steps, 2))
    for step, token in enumerate(trace.tokens):
        expected[step] = [_tau(LOGITS[token]), _tau(0.0)]
    return expected


def test_tau_is_minus_one_over_log_of_one_minus_z_at_every_step():
    trace = _trace()
    result = memory_timescales(trace, _model(), progress=False)
    assert result.tau.shape == (trace.n_steps, 2) and result.tau.dtype == np.float32
    np.testing.assert_allclose(result.tau, _expected_tau(trace), rtol=1e-6)
    np.testing.assert_allclose(result.decay, np.exp(-1 / _expected_tau(trace)), rtol=1e-6)
    assert result.source == "kinds z"


def test_without_the_recorded_gate_the_model_recomputes_the_same_tau():
    trace = _trace(kinds=["h"])
    result = memory_timescales(trace, _model(), progress=False)
    assert result.source == "model"
    np.testing.assert_allclose(result.tau, _expected_tau(trace), rtol=1e-6)


def test_a_trace_alone_is_read_given_the_family():
    trace = _trace()
    alone = memory_timescales(trace, family="min_gru", progress=False)
    with_model = memory_timescales(trace, _model(), progress=False)
    np.testing.assert_array_equal(alone.tau, with_model.tau)


def test_the_summary_names_the_token_that_resets_and_the_token_that_holds_cell_0():
    result = memory_timescales(_trace(), _model(), progress=False)
    assert result.hold == 8  # the median sequence length
    assert [row["token"] for row in result.top_tokens(0, effect="reset")] == ["R"]
    assert [row["token"] for row in result.top_tokens(0, effect="hold")] == ["K"]
    reset = result.top_tokens(0, effect="reset")[0]
    assert reset["count"] == 4 and reset["fraction"] == 1.0
    assert reset["median_tau"] == pytest.approx(_tau(3.0), rel=1e-6)
    assert result.top_tokens(1, effect="reset") == []  # tau = 1.44 under every token
    assert result.top_tokens(1, effect="hold") == []


def test_per_token_counts_and_medians():
    result = memory_timescales(_trace(), _model(), progress=False)
    assert result.token_types == ("K", "R", "n")
    assert result.counts.tolist() == [3, 4, 19]
    np.testing.assert_allclose(
        result.median_tau[:, 0], [_tau(-8.0), _tau(3.0), _tau(0.0)], rtol=1e-6
    )
    assert result.resets[:, 0].tolist() == [0, 4, 0]
    assert result.holds[:, 0].tolist() == [3, 0, 0]
    assert [result.token_types[i] for i in result.token_type[:3]] == ["n", "n", "R"]


def test_the_track_has_one_finite_value_per_step_and_goes_on_the_trace():
    trace = _trace()
    result = memory_timescales(trace, _model(), progress=False)
    name, values = result.to_track(cell=0)
    assert values.shape == (trace.n_steps,) and np.isfinite(values).all()
    np.testing.assert_allclose(values, np.log10(_expected_tau(trace)[:, 0]), rtol=1e-5)
    shown = trace.with_track(name, values)
    assert shown.tracks[name].label_type == "numeric"
    name, mean = result.to_track()
    assert name == "mean log10 tau, layer 0"
    np.testing.assert_allclose(mean, np.log10(_expected_tau(trace)).mean(axis=1), rtol=1e-5)


def test_a_hold_and_a_reset_beyond_the_tracks_range_are_clipped():
    module = _model()
    with torch.no_grad():
        module.core.weight_ih_l0[0, 0] = 800.0  # "R": z == 1, tau == 0
        module.core.weight_ih_l0[0, 1] = -800.0  # "K": z == 0, tau == inf
    trace = rw.capture(module, SEQUENCES, progress=False)
    result = memory_timescales(trace, module, progress=False)
    steps = np.array([token for token in trace.tokens])
    assert (result.tau[steps == "R", 0] == 0).all()
    assert np.isinf(result.tau[steps == "K", 0]).all()
    _, values = result.to_track(cell=0)
    assert (values[steps == "R"] == -2).all() and (values[steps == "K"] == 6).all()


@pytest.mark.parametrize("block_steps", [1, 5, 7])
def test_blocks_give_the_same_result_as_one_pass(block_steps):
    trace = _trace()
    whole = memory_timescales(trace, _model(), progress=False)
    blocked = memory_timescales(trace, _model(), block_steps=block_steps, progress=False)
    for field in ("decay", "tau", "median_tau", "resets", "holds", "counts"):
        np.testing.assert_array_equal(getattr(blocked, field), getattr(whole, field))
    recomputed = memory_timescales(
        _trace(kinds=["h"]), _model(), block_steps=block_steps, progress=False
    )
    np.testing.assert_allclose(recomputed.tau, whole.tau, rtol=1e-6)


def test_min_lstm_reads_the_normalised_forget_gate_from_i_f_or_the_model():
    torch.manual_seed(0)
    module = MinLSTM(3, 4, num_layers=2)
    sequences = [torch.randn(20, 3), torch.randn(9, 3)]
    trace = rw.capture(module, sequences, progress=False)
    f = np.asarray(trace.states(layer=1, kind="f"), np.float64)
    both = memory_timescales(trace, module, layer=1, progress=False)
    np.testing.assert_allclose(both.tau, -1 / np.log(f), rtol=1e-5)
    only_f = rw.capture(module, sequences, kinds=["h", "f"], progress=False)
    np.testing.assert_allclose(
        memory_timescales(only_f, module, layer=1, progress=False).tau, both.tau, rtol=1e-5
    )
    recomputed = memory_timescales(
        rw.capture(module, sequences, kinds=["h"], progress=False), module, layer=1, progress=False
    )
    assert recomputed.source == "model"
    np.testing.assert_allclose(recomputed.tau, both.tau, rtol=1e-5)


# ---------------------------------------------------------------------------------- arguments


def test_a_trace_without_model_or_family_is_refused_saying_what_to_pass():
    with pytest.raises(TypeError, match=r"pass the model .* or its family"):
        memory_timescales(_trace(), progress=False)


def test_a_family_not_linear_in_its_state_is_refused_naming_the_supported_ones():
    trace = rw.capture(torch.nn.GRU(3, 2), [torch.randn(5, 3)], progress=False)
    with pytest.raises(TypeError, match=r"'min_gru', 'min_lstm'.*'gru'"):
        memory_timescales(trace, torch.nn.GRU(3, 2), progress=False)
    with pytest.raises(TypeError, match=r"'min_gru', 'min_lstm'.*'lstm'"):
        memory_timescales(trace, family="lstm", progress=False)


def test_a_trace_without_the_gate_and_no_model_says_which_kind_to_capture():
    with pytest.raises(ValueError, match=r"\('z'\).*kinds=\['h', 'z'\]"):
        memory_timescales(_trace(kinds=["h"]), family="min_gru", progress=False)


def test_a_model_without_vocabulary_cannot_encode_the_tokens_and_says_to_capture_z():
    module = _model().core
    trace = rw.capture(module, [torch.randn(6, 3)], kinds=["h"], progress=False)
    with pytest.raises(ValueError, match=r"no vocabulary.*kinds=\['h', 'z'\]"):
        memory_timescales(trace, module, progress=False)


def test_gate_values_outside_zero_one_are_refused():
    bad = rw.Trace.from_arrays(
        list("ab"), {(0, "h"): np.zeros((2, 1)), (0, "z"): np.array([[0.5], [1.5]])}
    )
    with pytest.raises(
        ValueError, match=r"kind .z. holds values outside \[0, 1\].*layer 0, steps 0:2"
    ):
        memory_timescales(bad, family="min_gru", progress=False)


def test_bad_numbers_and_names_are_refused_naming_the_argument():
    trace = _trace()
    with pytest.raises(ValueError, match="contradicts the model's family 'min_gru'"):
        memory_timescales(trace, _model(), family="min_lstm", progress=False)
    with pytest.raises(ValueError, match="hold must be > 0"):
        memory_timescales(trace, _model(), hold=0, progress=False)
    with pytest.raises(ValueError, match="block_steps must be >= 1"):
        memory_timescales(trace, _model(), block_steps=0, progress=False)
    with pytest.raises(ValueError, match="layer 1 is not a layer of the trace"):
        memory_timescales(trace, _model(), layer=1, progress=False)
    result = memory_timescales(trace, _model(), progress=False)
    with pytest.raises(ValueError, match=r"cell must be <= 1 \(the layer's cells\)"):
        result.to_track(cell=2)
    with pytest.raises(ValueError, match="effect must be 'reset' or 'hold'"):
        result.top_tokens(0, effect="keep")  # type: ignore[arg-type]


def test_a_family_with_several_modes_per_channel_is_summarised_by_its_slowest(monkeypatch):
    # Mamba's form: a = exp(delta_t A) per channel and state dimension.
    from rnn_widgets.analysis import _linear_recurrence, _timescales

    a_matrix = np.array([[-1.0, -0.1], [-2.0, -4.0]])  # (channels, state dims)

    def log_decay(values, model, layer):
        return values["delta"][:, :, None] * a_matrix[None]

    family = _linear_recurrence.LinearFamily(None, ("delta",), log_decay, reads_step_input=False)
    monkeypatch.setattr(
        _timescales, "LINEAR_FAMILIES", {**_linear_recurrence.LINEAR_FAMILIES, "ssm": family}
    )
    delta = np.array([[0.5, 1.0], [2.0, 0.25], [1.0, 1.0]])
    trace = rw.Trace.from_arrays(list("abc"), {(0, "h"): np.zeros((3, 2)), (0, "delta"): delta})
    result = memory_timescales(trace, family="ssm", progress=False)
    slowest = delta * a_matrix.max(axis=1)  # the largest log a of each channel
    np.testing.assert_allclose(result.tau, -1 / slowest, rtol=1e-6)
    np.testing.assert_allclose(result.decay, np.exp(slowest), rtol=1e-6)


def test_a_time_constant_past_float32s_range_is_infinite_without_a_warning():
    module = MinGRU(3, 2)
    with torch.no_grad():
        module.weight_ih_l0.zero_()
        module.bias_ih_l0.zero_()
        module.bias_ih_l0[0] = -100.0  # z of cell 0 ~ 4e-44: tau ~ 3e43, past float32's 3.4e38
    model = RecurrentModel(module, embedding="one_hot", vocab=VOCAB)
    trace = rw.capture(model, SEQUENCES, kinds=["h"], progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = memory_timescales(trace, model, progress=False)
    assert np.isinf(result.tau[:, 0]).all()
    assert np.isfinite(result.tau[:, 1]).all()
