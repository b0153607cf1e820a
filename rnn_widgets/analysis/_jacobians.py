"""One layer's step in float64, and its batched Jacobians: by ``torch.func`` and in closed form.

* :func:`float64_step` -- ``F(h, x)`` of one layer on a private float64 copy of its weights:
  the function every dynamics analysis (fixed points, line attractors, limit cycles)
  differentiates, so the user's model is never modified.
* :func:`step_jacobians` -- ``dF/dh`` and ``dF/dx`` of any step at many points, with
  ``vmap(jacrev(...))``.
* :func:`closed_form_jacobian` -- ``dF/dh`` of torch's LSTM, GRU and RNN layers in closed form.

``torch.func.jacrev`` under ``vmap`` builds a Jacobian from N vector-Jacobian products; for
torch's own cells the closed form below costs a few batched elementwise products of
(batch, N, N) arrays instead, which is what makes Levenberg-Marquardt over a thousand states
of a few hundred cells fast. The fixed-point search falls back to ``jacrev`` for user cells,
and the tests check every formula against it.

Equations and gate order as in ``rnn_widgets.models._cores`` (PyTorch's).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.func import jacrev, vmap

from ..models import RecurrentModel

__all__ = ["closed_form_jacobian", "float64_step", "step_jacobians"]

Jacobian = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def float64_step(model: RecurrentModel, layer: int) -> Any:
    """``F(h, x)`` of one layer, unbatched, in float64, on a private copy of torch weights.

    A user cell that is not an ``nn.Module`` is stepped as it is, with float64 tensors.
    """
    if not isinstance(model.core, torch.nn.Module):
        return lambda h, x: model.step(h, x, layer=layer)
    core = copy.deepcopy(model.core).double().cpu()
    core.requires_grad_(False)
    twin = RecurrentModel(core)
    return lambda h, x: twin.step(h, x, layer=layer)


def step_jacobians(
    step: Any, states: np.ndarray, inputs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``J_rec = dF/dh`` (k, S, S) and ``J_inp = dF/dx`` (k, S, I) at each (state, input).

    Parameters
    ----------
    step : callable
        ``F(h, x)``, unbatched and differentiable, e.g. :func:`float64_step`'s.
    states : ndarray, shape (k, S)
        The points, float64.
    inputs : ndarray, shape (k, I)
        The input at each point, float64.

    """
    if len(states) == 0:
        return np.zeros((0, states.shape[1], states.shape[1])), np.zeros(
            (0, states.shape[1], inputs.shape[1])
        )
    jacobian = vmap(jacrev(step, argnums=(0, 1)))
    j_rec, j_inp = jacobian(torch.from_numpy(states), torch.from_numpy(inputs))
    return j_rec.detach().numpy(), j_inp.detach().numpy()


def closed_form_jacobian(model: RecurrentModel, layer: int) -> Jacobian | None:
    """``J(h, x)``: (batch, state) x (batch, input) -> (batch, state, state), float64, or None.

    None where the core is not one of torch's LSTM, GRU and RNN modules
    (``model.has_gate_weights``): a user cell, whose equations are its own, or a MinGRU or
    MinLSTM; their Jacobians come from ``torch.func`` (:func:`step_jacobians`).
    """
    if not model.has_gate_weights:
        return None
    weights = {
        name: {
            key: torch.tensor(np.asarray(getattr(gate, key), dtype=np.float64))
            for key in ("input_weights", "recurrent_weights", "input_bias", "recurrent_bias")
        }
        for name, gate in model.gate_weights(layer=layer).items()
    }
    if model.family == "gru":
        return _gru(weights)
    if model.family == "lstm":
        return _lstm(weights, model.n_cells(layer=layer))
    return _rnn(weights["h"], relu=model.family == "rnn_relu")


def _pre(gate: dict[str, torch.Tensor], h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return (
        x @ gate["input_weights"].T
        + gate["input_bias"]
        + h @ gate["recurrent_weights"].T
        + gate["recurrent_bias"]
    )


def _gru(w: dict[str, dict[str, torch.Tensor]]) -> Jacobian:
    stacked = torch.stack([w[name]["recurrent_weights"] for name in "rzn"])

    def jacobian(h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        r = torch.sigmoid(_pre(w["r"], h, x))
        z = torch.sigmoid(_pre(w["z"], h, x))
        recurrent_n = h @ w["n"]["recurrent_weights"].T + w["n"]["recurrent_bias"]
        n = torch.tanh(x @ w["n"]["input_weights"].T + w["n"]["input_bias"] + r * recurrent_n)
        dn = (1 - z) * (1 - n * n)
        # J = diag(a_r) W_hr + diag(a_z) W_hz + diag(a_n) W_hn + diag(z): one pass over the
        # (batch, N, N) output instead of a temporary per term.
        coefficients = torch.stack(
            [dn * recurrent_n * r * (1 - r), (h - n) * z * (1 - z), dn * r], dim=2
        )
        result = torch.einsum("bik,kij->bij", coefficients, stacked)
        result.diagonal(dim1=1, dim2=2).add_(z)
        return result

    return jacobian


def _lstm(w: dict[str, dict[str, torch.Tensor]], size: int) -> Jacobian:
    stacked = torch.stack([w[name]["recurrent_weights"] for name in "ifgo"])

    def jacobian(state: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        h, c = state[:, :size], state[:, size:]
        i = torch.sigmoid(_pre(w["i"], h, x))
        f = torch.sigmoid(_pre(w["f"], h, x))
        g = torch.tanh(_pre(w["g"], h, x))
        o = torch.sigmoid(_pre(w["o"], h, x))
        tanh_c = torch.tanh(f * c + i * g)
        scale = o * (1 - tanh_c * tanh_c)  # dh'/dc'
        gates = torch.stack([i * (1 - i) * g, f * (1 - f) * c, (1 - g * g) * i], dim=2)
        out = state.new_zeros(len(state), 2 * size, 2 * size)
        # dc'/dh = sum over i f g of diag(a) W; dh'/dh = diag(scale) dc'/dh + diag(a_o) W_o.
        out[:, size:, :size] = torch.einsum("bik,kij->bij", gates, stacked[:3])
        top = torch.cat([scale[:, :, None] * gates, (o * (1 - o) * tanh_c)[:, :, None]], dim=2)
        out[:, :size, :size] = torch.einsum("bik,kij->bij", top, stacked)
        out[:, size:, size:].diagonal(dim1=1, dim2=2).copy_(f)
        out[:, :size, size:].diagonal(dim1=1, dim2=2).copy_(scale * f)
        return out

    return jacobian


def _rnn(gate: dict[str, torch.Tensor], relu: bool) -> Jacobian:
    def jacobian(h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        pre = _pre(gate, h, x)
        slope = (pre > 0).to(pre.dtype) if relu else 1 - torch.tanh(pre) ** 2
        return slope[:, :, None] * gate["recurrent_weights"]

    return jacobian
