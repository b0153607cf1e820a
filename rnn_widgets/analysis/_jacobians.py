"""Batched Jacobians ``dF/dh`` of one step of torch's LSTM, GRU and RNN layers, in closed form.

``torch.func.jacrev`` under ``vmap`` builds a Jacobian from N vector-Jacobian products; for
torch's own cells the closed form below costs a few batched elementwise products of
(batch, N, N) arrays instead, which is what makes Levenberg-Marquardt over a thousand states
of a few hundred cells fast. The fixed-point search falls back to ``jacrev`` for user cells,
and the tests check every formula against it.

Equations and gate order as in ``rnn_widgets.models._cores`` (PyTorch's).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..models import RecurrentModel

__all__ = ["closed_form_jacobian"]

Jacobian = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def closed_form_jacobian(model: RecurrentModel, layer: int) -> Jacobian | None:
    """``J(h, x)``: (batch, state) x (batch, input) -> (batch, state, state), float64, or None.

    None for a user cell, whose equations are its own.
    """
    if model.family == "cell":
        return None
    weights = {
        name: {
            key: torch.tensor(np.asarray(getattr(gate, key), dtype=np.float64))
            for key in ("input_weights", "recurrent_weights", "input_bias", "recurrent_bias")
        }
        for name, gate in model.gate_weights(layer).items()
    }
    if model.family == "gru":
        return _gru(weights)
    if model.family == "lstm":
        return _lstm(weights, model.n_cells(layer))
    return _rnn(weights["h"], relu=model.family == "rnn_relu")


def _pre(gate: dict[str, torch.Tensor], h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return (
        x @ gate["input_weights"].T
        + gate["input_bias"]
        + h @ gate["recurrent_weights"].T
        + gate["recurrent_bias"]
    )


def _gru(w: dict[str, dict[str, torch.Tensor]]) -> Jacobian:
    def jacobian(h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        r = torch.sigmoid(_pre(w["r"], h, x))
        z = torch.sigmoid(_pre(w["z"], h, x))
        recurrent_n = h @ w["n"]["recurrent_weights"].T + w["n"]["recurrent_bias"]
        n = torch.tanh(x @ w["n"]["input_weights"].T + w["n"]["input_bias"] + r * recurrent_n)
        dr = (r * (1 - r))[:, :, None] * w["r"]["recurrent_weights"]
        dz = (z * (1 - z))[:, :, None] * w["z"]["recurrent_weights"]
        dn = (1 - n * n)[:, :, None] * (
            recurrent_n[:, :, None] * dr + r[:, :, None] * w["n"]["recurrent_weights"]
        )
        result = (1 - z)[:, :, None] * dn + (h - n)[:, :, None] * dz
        return result + torch.diag_embed(z)

    return jacobian


def _lstm(w: dict[str, dict[str, torch.Tensor]], size: int) -> Jacobian:
    def jacobian(state: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        h, c = state[:, :size], state[:, size:]
        i = torch.sigmoid(_pre(w["i"], h, x))
        f = torch.sigmoid(_pre(w["f"], h, x))
        g = torch.tanh(_pre(w["g"], h, x))
        o = torch.sigmoid(_pre(w["o"], h, x))
        c_new = f * c + i * g
        tanh_c = torch.tanh(c_new)
        di = (i * (1 - i) * g)[:, :, None] * w["i"]["recurrent_weights"]
        df = (f * (1 - f) * c)[:, :, None] * w["f"]["recurrent_weights"]
        dg = ((1 - g * g) * i)[:, :, None] * w["g"]["recurrent_weights"]
        do = (o * (1 - o) * tanh_c)[:, :, None] * w["o"]["recurrent_weights"]
        dc_dh = di + df + dg
        dc_dc = torch.diag_embed(f)
        scale = (o * (1 - tanh_c * tanh_c))[:, :, None]
        top = torch.cat([do + scale * dc_dh, scale * dc_dc], dim=2)
        bottom = torch.cat([dc_dh, dc_dc], dim=2)
        return torch.cat([top, bottom], dim=1)

    return jacobian


def _rnn(gate: dict[str, torch.Tensor], relu: bool) -> Jacobian:
    def jacobian(h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        pre = _pre(gate, h, x)
        slope = (pre > 0).to(pre.dtype) if relu else 1 - torch.tanh(pre) ** 2
        return slope[:, :, None] * gate["recurrent_weights"]

    return jacobian
