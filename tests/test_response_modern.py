"""Response characterization of minGRU and minLSTM layers, and the layer drive it rests on.

A min-RNN's gates read only the layer's input (Feng et al. 2024 [1]_), so under a constant
input a cell is the first-order filter ``h_t = (1 - z) h_{t-1} + z h~``: from ``h_0``, ``h_t =
h~ + (h_0 - h~) (1 - z)^t``, and the step response of Hasani et al. (2019) [2]_ (initial and
final response, settling time in its 10 % band) has a closed form, checked here to the
last bit. The minLSTM's normalised gates give the same filter with ``z = i / (i + f)``.

References
----------
.. [1] Feng, L., Tung, F., Ahmed, M. O., Bengio, Y., & Hajimirsadeghi, H. (2024). Were RNNs all
   we needed? arXiv:2410.01201.
.. [2] Hasani, R., Amini, A., Lechner, M., Naser, F., Grosu, R., & Rus, D. (2019). Response
   characterization for auditing cell dynamics in long short-term memory networks.
   International Joint Conference on Neural Networks (IJCNN 2019).
   doi:10.1109/IJCNN.2019.8851954. arXiv:1809.03864.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.func import jacrev

from rnn_widgets.analysis import IsolatedCells, characterize, design_stimuli, isolate
from rnn_widgets.analysis._response import simulate
from rnn_widgets.models import MinGRU, MinLSTM, RecurrentModel

FAMILIES = {"min_gru": MinGRU, "min_lstm": MinLSTM}

#: The write gate each cell is given under the high input, and the settling time it implies:
#: the first k with (1 - z)^k <= 0.1, i.e. ceil(ln 10 / -ln(1 - z)).
WRITE_GATES = np.array([0.05, 0.1, 0.3, 0.6])
SETTLING_TIMES = np.array([45.0, 22.0, 7.0, 3.0])
#: The candidate's pre-activation under the high input; g(p) = p + 1/2 (p >= 0) or sigmoid(p).
CANDIDATE_LOGITS = np.array([1.0, -2.0, 1.0, 0.3])


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def _g(v):
    return np.where(v >= 0, v + 0.5, _sigmoid(v))


def _logit(p):
    return np.log(p / (1 - p))


def _module(family, input_size=3, hidden=6, layers=2, seed=0):
    torch.manual_seed(seed)
    module = FAMILIES[family](input_size, hidden, num_layers=layers, dtype=torch.float64)
    with torch.no_grad():  # wider than the default init: gates near 0 and 1, h~ on both sides
        for parameter in module.parameters():
            parameter.mul_(3.0)
    return module


def _filter_cells(family):
    """One layer of 4 cells reading one input: at x = 0 every write gate is 1/2 and h~ = 1/2;
    at x = 1 cell u writes with WRITE_GATES[u] towards g(CANDIDATE_LOGITS[u])."""
    module = FAMILIES[family](1, 4, dtype=torch.float64)
    if family == "min_gru":
        gates = [_logit(WRITE_GATES)]  # z
    else:  # z = i / (i + f) with f = 1/2: i = z / (2 (1 - z))
        gates = [_logit(WRITE_GATES / (2 * (1 - WRITE_GATES))), np.zeros(4)]  # i, f
    weight = np.concatenate([*gates, CANDIDATE_LOGITS])[:, None]
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.from_numpy(weight))
        module.bias_ih_l0.zero_()
    return RecurrentModel(module)


def _stimulus_inputs(design):
    return np.stack([s.base[None] + s.signal[:, None] * s.direction[None] for s in design.stimuli])


# ---------------------------------------------------------------------------------- the claim


@pytest.mark.parametrize("family", FAMILIES)
def test_no_cell_of_a_min_rnn_reads_another_cells_state(family):
    """The Jacobian of a layer's next state by its state is diagonal: nothing to cut out."""
    model = RecurrentModel(_module(family))
    generator = torch.Generator().manual_seed(2)
    state = torch.randn(6, generator=generator, dtype=torch.float64)
    x = torch.randn(6, generator=generator, dtype=torch.float64)  # layer 1 reads layer 0's h
    jacobian = jacrev(lambda s: model.step(s, x, layer=1))(state)
    diagonal = torch.diagonal(jacobian)
    assert torch.equal(jacobian - torch.diag(diagonal), torch.zeros(6, 6))
    assert bool((diagonal > 0).all() and (diagonal < 1).all())  # 1 - z (minLSTM f / (i + f))


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("layer", [0, 1])
def test_isolated_cells_respond_as_the_whole_layer_driven_by_the_stimulus(family, layer):
    model = RecurrentModel(_module(family))
    data = [np.random.default_rng(5).normal(size=(300, 3))]
    design = design_stimuli(model, data, layer=layer, steps=120, main_frequency=0.1)
    cells = isolate(model, layer=layer)
    assert isinstance(cells, IsolatedCells) and not cells.recurrent.any()
    driven = model.run_layer(_stimulus_inputs(design), layer=layer, kinds=["h"])["h"].numpy()
    np.testing.assert_allclose(simulate(cells, design.stimuli), driven, rtol=1e-11, atol=1e-15)


# ---------------------------------------------------------------------------------- known answers


@pytest.mark.parametrize("family", FAMILIES)
def test_a_cells_step_response_is_its_first_order_filter_in_closed_form(family):
    model = _filter_cells(family)
    data = [np.random.default_rng(0).integers(0, 2, size=(200, 1)).astype(np.float64)]
    response = characterize(model, sequences=data, main_frequency=0.05)
    design = response.design
    assert (design.low, design.high) == (np.zeros(1), np.ones(1))
    change, steps = design.change_step, design.steps
    # Before the change: x = 0, z = 1/2, h~ = 1/2, from h_0 = 0.
    t = np.arange(1, change + 1)[:, None]
    before = 0.5 * (1 - 0.5**t)
    # After: x = 1, towards h~ = g(logit) at the rate of WRITE_GATES, from where it stood.
    target = _g(CANDIDATE_LOGITS)
    k = np.arange(1, steps - change + 1)[:, None]
    after = target + (before[-1] - target) * (1 - WRITE_GATES) ** k
    expected = np.concatenate([np.broadcast_to(before, (change, 4)), after])
    np.testing.assert_allclose(response.outputs[0], expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(response.metric("initial"), 0.5, rtol=1e-12)
    np.testing.assert_allclose(response.metric("final"), target, rtol=1e-9)
    np.testing.assert_allclose(response.metric("delta"), target - 0.5, rtol=1e-8)
    expected_settling = np.ceil(math.log(10) / -np.log1p(-WRITE_GATES))
    np.testing.assert_array_equal(expected_settling, SETTLING_TIMES)
    np.testing.assert_array_equal(response.metric("settling_time"), SETTLING_TIMES)
    assert (response.family, response.kind) == (family, "h")


@pytest.mark.parametrize("family", FAMILIES)
def test_a_deeper_min_rnn_layer_is_characterized_cell_by_cell(family):
    model = RecurrentModel(_module(family))
    data = [np.random.default_rng(5).normal(size=(300, 3))]
    response = characterize(model, layer=1, sequences=data, steps=120, main_frequency=0.1)
    expected = model.run_layer(_stimulus_inputs(response.design), layer=1, kinds=["h"])["h"]
    np.testing.assert_allclose(response.outputs, expected.numpy(), rtol=1e-11, atol=1e-15)
    assert response.values.shape == (6, 8) and np.isfinite(response.values).all()


# ---------------------------------------------------------------------------------- refusals


class _Leaky:
    """A user cell, ``h' = 0.5 h + x``: correct, but opaque to rnn_widgets."""

    state_size, input_size, kinds = 2, 2, ("h",)

    def step(self, state, x):
        new = 0.5 * state + x
        return new, {"h": new}


def test_a_user_cell_is_refused_saying_why_and_how_to_drive_it_anyway():
    model = RecurrentModel(_Leaky())
    data = [np.random.default_rng(0).normal(size=(100, 2))]
    for call in (lambda: isolate(model), lambda: characterize(model, sequences=data)):
        with pytest.raises(TypeError, match=r"user cell .*opaque.*run_layer"):
            call()
    # The way out the message names: the cell driven by the designed stimuli.
    design = design_stimuli(model, data, steps=64)
    h = model.run_layer(_stimulus_inputs(design).astype(np.float32), kinds=["h"])["h"]
    assert h.shape == (2, 64, 2)
    np.testing.assert_allclose(h[0, -1].numpy(), 2 * design.high, rtol=1e-5)  # x / (1 - 0.5)


# ---------------------------------------------------------------------------------- run_layer


@pytest.mark.parametrize(
    "core", [lambda: _module("min_lstm"), lambda: nn.LSTM(3, 6, num_layers=2).double()]
)
def test_run_layer_on_the_layer_belows_h_gives_what_run_recorded(core):
    torch.manual_seed(0)
    model = RecurrentModel(core())
    inputs = torch.randn(2, 40, 3, dtype=torch.float64)
    run = model.run(inputs)
    driven = model.run_layer(run.states[(0, "h")], layer=1)
    assert tuple(driven) == model.kinds
    for kind in model.kinds:
        torch.testing.assert_close(driven[kind], run.states[(1, kind)], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("inputs", "error", "message"),
    [
        (np.zeros((2, 5, 4)), ValueError, r"shape \(batch >= 1, steps >= 1, input_size\(1\)=6\)"),
        (np.zeros((5, 6)), ValueError, r"input_size\(1\)=6\), got \(5, 6\)"),
        (np.zeros((2, 0, 6)), ValueError, r"steps >= 1"),
        (torch.zeros(2, 5, 6, dtype=torch.long), TypeError, r"float .* got torch.int64"),
        ([[0.0] * 6], TypeError, r"float torch.Tensor or ndarray .* got list"),
    ],
)
def test_run_layer_refuses_inputs_of_another_shape_or_type(inputs, error, message):
    model = RecurrentModel(_module("min_gru"))
    with pytest.raises(error, match=message):
        model.run_layer(inputs, layer=1)
