"""An LSTM layer's gates read from oneDNN's training workspace instead of computed again.

On the CPU, ``nn.LSTM`` runs oneDNN's fused LSTM. Its *training* forward keeps, for the
backward pass, every gate after its nonlinearity in a workspace laid out time-major as
``[step][sequence][ld]`` with the row ``i f g o`` (PyTorch's gate order) padded to ``ld``
floats. Reading the gates from there costs a copy, where rebuilding them costs a second set of
matrix products as large as the forward pass itself (about 40 % of a capture of every gate).

The operator (``torch.mkldnn_rnn_layer``) and the workspace layout are oneDNN's, not a public
contract, so this path checks itself: before a layer's first piece is yielded, the gates of
its first two steps are compared with the LSTM equations; on any mismatch, exception or
missing operator it yields nothing and returns None, and the caller takes the exact product
path of ``_cores`` instead. ``h`` is oneDNN's output of the same primitive family as the
module's own forward pass (measured equal to ``nn.LSTM``'s eval-mode output within 1.1e-6 on
random 512-cell layers, and bit-for-bit on the zoo's LSTMs).

The layer runs in chunks of steps, carrying ``(h, c)``, so that each workspace stays small
(tens of MB): the allocator then reuses its memory from chunk to chunk instead of faulting in
gigabytes of fresh pages.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import nn

from ._cores import Piece, cell_recurrence

__all__ = ["workspace_lstm_pieces", "workspace_usable"]

# Rows (steps x sequences) per oneDNN call: a workspace of about 16 MB at 512 cells.
_CALL_ROWS = 512
# Rows per yielded piece: few enough copies for capture's per-sequence scatter.
_PIECE_ROWS = 8192
_MODE_LSTM = 2  # oneDNN's / ATen's code for an LSTM cell in mkldnn_rnn_layer
_CHECK_TOLERANCE = 1e-5


def workspace_usable(helper: nn.RNNBase, x: torch.Tensor, kinds: Sequence[str]) -> bool:
    """Whether a one-layer helper can take the workspace path for input ``x``.

    Only a forward, biased, float32 LSTM on the CPU with oneDNN enabled (the module's own
    forward then runs oneDNN too), and only when a gate or ``c`` is wanted (for ``h`` alone the
    plain fused pass is cheaper).
    """
    return (
        isinstance(helper, nn.LSTM)
        and hasattr(torch, "mkldnn_rnn_layer")
        and torch.backends.mkldnn.is_available()
        and torch.backends.mkldnn.enabled
        and not helper.bidirectional
        and helper.bias
        and not getattr(helper, "proj_size", 0)
        and x.dtype == torch.float32
        and x.device.type == "cpu"
        and helper.weight_ih_l0.dtype == torch.float32
        and any(kind != "h" for kind in kinds)
    )


def workspace_lstm_pieces(
    helper: nn.LSTM, layer: int, x: torch.Tensor, kinds: Sequence[str]
) -> Iterator[Piece]:
    """Yield the wanted kinds of a one-layer LSTM helper over time-major ``x``; return its h.

    Returns None when the workspace cannot be read (see the module's docstring); the caller
    then runs the product path. That is decided at the first call, before anything is
    yielded; should a later call fail, the product path's pieces replace those yielded.
    """
    steps, batch, _ = x.shape
    size = helper.hidden_size
    weights = (helper.weight_ih_l0, helper.weight_hh_l0, helper.bias_ih_l0, helper.bias_hh_l0)
    call_steps = max(1, _CALL_ROWS // batch)
    piece_steps = max(call_steps, _PIECE_ROWS // batch // call_steps * call_steps)
    h = x.new_zeros(batch, size)
    c = x.new_zeros(batch, size)
    output = x.new_empty(steps, batch, size)
    gates = x.new_empty(min(piece_steps, steps), batch, 4 * size)
    cells = x.new_empty(min(piece_steps, steps), batch, size) if "c" in kinds else None
    c_carry = x.new_zeros(batch, size)
    ld = None
    for p0 in range(0, steps, piece_steps):
        p1 = min(p0 + piece_steps, steps)
        for t0 in range(p0, p1, call_steps):
            t1 = min(t0 + call_steps, p1)
            called = _call(x[t0:t1], weights, h, c, size)
            if called is None:
                return None
            out, h, c, workspace = called
            if ld is None:
                ld = _checked_row_width(workspace, x, weights, out, t1 - t0, batch, size)
                if ld is None:
                    return None
            output[t0:t1] = out
            rows = workspace[: (t1 - t0) * batch * ld].view(t1 - t0, batch, ld)
            gates[t0 - p0 : t1 - p0] = rows[..., : 4 * size]
        span = gates[: p1 - p0]
        if cells is not None:
            c_carry = _cell_states(span, c_carry, cells[: p1 - p0], size)
            yield Piece((layer, "c"), p0, cells[: p1 - p0])
        for k, name in enumerate("ifgo"):
            if name in kinds:
                yield Piece((layer, name), p0, span[..., k * size : (k + 1) * size])
    if "h" in kinds:
        yield Piece((layer, "h"), 0, output)
    return output


def _call(
    x: torch.Tensor,
    weights: tuple[torch.Tensor, ...],
    h: torch.Tensor,
    c: torch.Tensor,
    size: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """One training-mode oneDNN call over a chunk: (output, h_n, c_n, workspace as float32)."""
    try:
        # Grad mode is what makes ATen run oneDNN's training forward and keep the workspace;
        # nothing requires grad, so no graph is recorded.
        with torch.enable_grad():
            out, h_n, c_n, workspace = torch.mkldnn_rnn_layer(
                x, *weights, h, c, False, [], _MODE_LSTM, size, 1, True, False, False, True
            )
    except (RuntimeError, TypeError):
        return None
    if workspace is None or workspace.numel() % 4:
        return None
    return out, h_n, c_n, workspace.view(torch.float32)


def _checked_row_width(
    workspace: torch.Tensor,
    x: torch.Tensor,
    weights: tuple[torch.Tensor, ...],
    out: torch.Tensor,
    n_steps: int,
    batch: int,
    size: int,
) -> int | None:
    """The padded row width ``ld`` for which the workspace holds the first steps' gates."""
    w_ih, w_hh, b_ih, b_hh = weights
    checked = min(2, n_steps)
    previous = torch.cat([x.new_zeros(1, batch, size), out[: checked - 1]])
    pre = x[:checked] @ w_ih.T + previous @ w_hh.T + b_ih + b_hh
    expected = torch.cat(
        [pre[..., : 2 * size].sigmoid(), pre[..., 2 * size : 3 * size].tanh(),
         pre[..., 3 * size :].sigmoid()],
        dim=-1,
    )  # fmt: skip
    for ld in _row_widths(4 * size):
        if n_steps * batch * ld > workspace.numel():
            continue
        found = workspace[: checked * batch * ld].view(checked, batch, ld)[..., : 4 * size]
        if torch.allclose(found, expected, rtol=0, atol=_CHECK_TOLERANCE):
            return ld
    return None


def _row_widths(width: int) -> list[int]:
    """Candidate padded row widths, the likeliest first.

    oneDNN pads a row to 64 bytes, and by 64 more when it is a multiple of 256 bytes (to
    avoid cache aliasing); the unpadded width comes last.
    """
    padded = -(-width // 16) * 16
    aliased = padded + 16 if (padded * 4) % 256 == 0 else padded
    return list(dict.fromkeys([aliased, padded, width]))


def _cell_states(
    gates: torch.Tensor, c_previous: torch.Tensor, target: torch.Tensor, size: int
) -> torch.Tensor:
    """The c of a span of steps from its gates (rows ``i f g o``) into ``target``; the last c.

    The last c is copied: ``target`` is the next span's buffer too.
    """
    input_gate = gates[..., :size] * gates[..., 2 * size : 3 * size]
    forget = gates[..., size : 2 * size]
    return cell_recurrence(input_gate, forget, c_previous, target).clone()
