"""The closed-form step Jacobians equal torch.func's, for every torch family."""

from __future__ import annotations

import pytest
import torch
from torch.func import jacrev, vmap

import rnn_widgets as rw
from rnn_widgets.analysis._jacobians import closed_form_jacobian


@pytest.mark.parametrize(
    "module",
    [
        torch.nn.GRU(3, 5),
        torch.nn.LSTM(3, 5),
        torch.nn.RNN(3, 5),
        torch.nn.RNN(3, 5, nonlinearity="relu"),
        torch.nn.GRU(3, 4, num_layers=2),
        torch.nn.LSTM(3, 4, bias=False),
    ],
    ids=["gru", "lstm", "rnn_tanh", "rnn_relu", "gru_layer1", "lstm_no_bias"],
)
def test_closed_form_jacobian_equals_autodiff(module: torch.nn.Module) -> None:
    torch.manual_seed(0)
    model = rw.wrap(module.double())
    layer = model.n_layers - 1
    jacobian = closed_form_jacobian(model, layer)
    assert jacobian is not None
    states = torch.randn(7, model.state_size(layer=layer), dtype=torch.float64)
    inputs = torch.randn(7, model.input_size(layer=layer), dtype=torch.float64)
    expected = vmap(jacrev(lambda s, x: model.step(s, x, layer=layer)))(states, inputs)
    torch.testing.assert_close(jacobian(states, inputs), expected, atol=1e-12, rtol=1e-10)


def test_a_user_cell_has_no_closed_form() -> None:
    class Cell:
        kinds = ("h",)
        state_size = 2
        input_size = 1

        def step(self, state, x):
            return state, {"h": state}

    assert closed_form_jacobian(rw.RecurrentModel(Cell()), 0) is None
