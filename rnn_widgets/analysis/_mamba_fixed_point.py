"""The one fixed point of a Mamba layer under a constant input, and its spectrum, in closed form.

A Mamba layer's flat state is ``(h, conv, ssm)`` (``rnn_widgets.models``): the block output
``h``, the convolution's last ``K - 1`` inputs ``v`` of each channel, and the selective SSM
state ``s`` (Gu & Dao 2023 [1]_, algorithm 2). Under a constant input ``x`` one step is a
cascade, each part reading only the parts before it:

* ``conv' = shift(conv, v(x))``: a shift register, which holds ``v(x)`` in every slot after
  ``K - 1`` steps whatever it held before;
* ``s' = exp(Δ A) * s + Δ B x_c``, with ``Δ``, ``B`` and the convolution's output ``x_c``
  read from ``conv`` and ``v(x)``: elementwise affine in ``s`` once ``conv`` is fixed;
* ``h' = r + out_proj(y(s', x))``: read from the new ``s``, never from the old ``h``.

So the layer has exactly one fixed point per input: ``conv*`` holds ``v(x)`` ``K - 1`` times,
``s* = Δ* B* x_c* / (1 - exp(Δ* A))`` and ``h*`` is the step's output there. Ordered
``(conv, s, h)``, the Jacobian at it is block lower triangular with diagonal blocks the shift
(nilpotent: eigenvalues 0), ``diag(exp(Δ* A))`` and zero: its eigenvalues are the ``D N``
decays ``exp(Δ* A)``, all in (0, 1), and ``D_m + D (K - 1)`` zeros. Every fixed point is
stable; how slowly each memory fades is its decay.

Everything is read through the model's public interface (``run_layer``, ``step``,
``state_layout``, ``ssm_matrix``) on a float64 copy, so the point is the model's own
equations' to rounding, with ``1 - a = -expm1(Δ A)`` exact where a decay is near 1.

References
----------
.. [1] Gu, A., & Dao, T. (2023). Mamba: Linear-time sequence modeling with selective state
   spaces. arXiv:2312.00752.
"""

from __future__ import annotations

import torch

from ..models import RecurrentModel

__all__ = ["mamba_fixed_point"]


def mamba_fixed_point(
    model: RecurrentModel, layer: int, x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each input's fixed point of a Mamba layer and the Jacobian's eigenvalues there.

    Parameters
    ----------
    model : RecurrentModel
        A Mamba, computing in float64 (the caller's private copy).
    layer : int
        The layer.
    x : Tensor, shape (n_inputs, input_size(layer))
        The constant inputs, float64.

    Returns
    -------
    states : Tensor, shape (n_inputs, state_size)
        The flat fixed point ``(h*, conv*, s*)``.
    eigenvalues : Tensor, shape (n_inputs, state_size)
        Real and >= 0: ``exp(Δ* A)`` at the SSM state's columns, 0 elsewhere (unsorted).

    """
    layout = model.state_layout(layer=layer)
    lags = model.values_per_channel(layer=layer)["conv"]
    n_inputs = x.shape[0]
    # K steps from the zero state fill the convolution's window with v(x): from the K-th step
    # on, Δ is Δ* and conv is conv*.
    steady = model.run_layer(
        x[:, None, :].expand(-1, lags + 1, -1), layer=layer, kinds=("conv", "delta")
    )
    log_a = steady["delta"][:, -1, :, None] * torch.from_numpy(model.ssm_matrix(layer=layer))
    log_a = log_a.reshape(n_inputs, -1)
    with torch.no_grad():
        state = x.new_zeros(n_inputs, model.state_size(layer=layer))
        state[:, layout["conv"]] = steady["conv"][:, -1]
        drive = model.step(state, x, layer=layer)[:, layout["ssm"]]  # Δ B x_c: from s = 0
        state[:, layout["ssm"]] = drive / -torch.expm1(log_a)
        state[:, layout["h"]] = model.step(state, x, layer=layer)[:, layout["h"]]
    eigenvalues = torch.zeros_like(state)
    eigenvalues[:, layout["ssm"]] = torch.exp(log_a)
    return state, eigenvalues
