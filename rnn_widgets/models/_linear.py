"""`RowLinear`: ``rows @ weight.T (+ bias)`` over many rows, as fast as the CPU allows.

Capture rebuilds every gate with one matrix product per chunk of steps. On CPU, torch's
default float32 ``addmm`` (MKL) reaches about half the throughput of the oneDNN kernels that
``nn.LSTM`` itself uses (measured: 160-210 against 300-330 GFLOP/s on 2 AVX-512 cores, see
benchmarks/README.md). oneDNN's dense linear with a weight packed once in its own layout gives
the same results to float32 rounding and doubles the speed of that half of capture. The
operator is private to torch, so it is probed once and every other case (GPU, float64, a torch
build without oneDNN) falls back to ``addmm``.
"""

from __future__ import annotations

import torch

__all__ = ["RowLinear"]


_ACTIVATIONS = {"none": None, "sigmoid": torch.sigmoid, "tanh": torch.tanh}


class RowLinear:
    """A fixed ``weight`` (out, in) and optional ``bias`` (out,), applied to (rows, in) tensors.

    ``activation`` (``"none"``, ``"sigmoid"`` or ``"tanh"``) is applied to the result; oneDNN
    applies it as the product's epilogue, while the values are still in cache (a separate
    ``tanh`` pass over the result costs about as much again as the product, measured).
    """

    def __init__(
        self,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        rows_hint: int,
        activation: str = "none",
    ) -> None:
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {list(_ACTIVATIONS)}, got {activation!r}")
        self.weight = weight
        self.bias = bias
        self.activation = activation
        self._packed = _pack(weight, rows_hint)

    def __call__(self, rows: torch.Tensor) -> torch.Tensor:
        """``activation(rows @ weight.T + bias)``, a new dense tensor of shape (len(rows), out)."""
        if self._packed is not None and rows.dtype == torch.float32 and rows.device.type == "cpu":
            rows = rows.contiguous()
            return torch.ops.mkldnn._linear_pointwise(
                rows, self._packed, self.bias, self.activation, [], ""
            )
        if self.bias is None:
            result = rows @ self.weight.T
        else:
            result = torch.addmm(self.bias, rows, self.weight.T)
        function = _ACTIVATIONS[self.activation]
        return result if function is None else function(result, out=result)


def _pack(weight: torch.Tensor, rows_hint: int) -> torch.Tensor | None:
    """The weight in oneDNN's layout, or None where that path is unavailable or inexact."""
    if weight.dtype != torch.float32 or weight.device.type != "cpu":
        return None
    if not torch.backends.mkldnn.is_available():
        return None
    try:
        packed = torch.ops.mkldnn._reorder_linear_weight(weight.contiguous(), rows_hint)
        probe = torch.randn(3, weight.shape[1], generator=torch.Generator().manual_seed(0))
        got = torch.ops.mkldnn._linear_pointwise(probe, packed, None, "none", [], "")
    except (AttributeError, RuntimeError, NotImplementedError):
        return None
    expected = probe.double() @ weight.double().T
    scale = float(expected.abs().max()) + 1.0
    if float((got.double() - expected).abs().max()) > 1e-5 * scale:
        return None
    return packed
