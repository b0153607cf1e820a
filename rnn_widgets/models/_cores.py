"""The recurrent cores behind a `RecurrentModel`: torch's RNN modules, min-RNNs, user cells.

A core knows its layers, their sizes, their state kinds and the exact step equations. The
torch core also runs the fast path used by capture and by unclamped runs (see
:func:`torch_layer_pieces`): ``h`` comes from the module's own fused forward pass, one layer at
a time, so it is exactly what the module computes; every gate is then one batched matrix
product over many steps (``[x_t, h_{t-1}] [W_ih, W_hh]^T`` with ``h_{t-1}`` read from the fused
output; for an LSTM the gates' nonlinearity is the product's epilogue), and only the
elementwise LSTM cell recurrence ``c_t = f_t c_{t-1} + i_t g_t`` is a loop over steps.

Equations (as in ``torch/nn/modules/rnn.py``; ``σ`` the logistic sigmoid)::

    LSTM  i, f, g, o = σ(.), σ(.), tanh(.), σ(.)  of  W_ih x + b_ih + W_hh h + b_hh
          c' = f * c + i * g,   h' = o * tanh(c')
    GRU   r, z = σ(W_ir x + b_ir + W_hr h + b_hr), σ(W_iz x + b_iz + W_hz h + b_hz)
          n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),   h' = (1 - z) * n + z * h
    RNN   h' = tanh or relu (W_ih x + b_ih + W_hh h + b_hh)

A `MinGRU` or `MinLSTM` (:class:`MinCore`) runs its own log-space parallel scan one layer at a
time, chunk by chunk of steps, and its gates are elementwise functions of each chunk's
pre-activations (``rnn_widgets.models._min_rnn`` holds the equations). A Hugging Face Mamba
(``MambaCore``, in ``rnn_widgets.models._mamba``) follows the same core interface.

Every core answers, besides its sizes and its step, four questions that :class:`CoreDefaults`
answers for the cores whose kinds all share ``h``'s cells (one cell group, one value per cell):
the width of each kind, its cell group, the positions of the flat state a clamp of one cell
forces, and which kinds hold several values per channel (none here).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ._linear import RowLinear
from ._min_rnn import MinRNNBase

__all__ = ["CellCore", "CoreDefaults", "MinCore", "TorchCore", "cell_recurrence", "make_core"]

#: The state kinds each family records, in the order of ``KNOWN_KINDS``.
FAMILY_KINDS: dict[str, tuple[str, ...]] = {
    "lstm": ("h", "c", "i", "f", "g", "o"),
    "gru": ("h", "r", "z", "n"),
    "rnn_tanh": ("h",),
    "rnn_relu": ("h",),
}

#: The gates of each family, in PyTorch's row order of ``weight_ih`` / ``weight_hh``.
FAMILY_GATES: dict[str, tuple[str, ...]] = {
    "lstm": ("i", "f", "g", "o"),
    "gru": ("r", "z", "n"),
    "rnn_tanh": ("h",),
    "rnn_relu": ("h",),
}

GATE_ACTIVATIONS: dict[str, dict[str, str]] = {
    "lstm": {"i": "sigmoid", "f": "sigmoid", "g": "tanh", "o": "sigmoid"},
    "gru": {"r": "sigmoid", "z": "sigmoid", "n": "tanh"},
    "rnn_tanh": {"h": "tanh"},
    "rnn_relu": {"h": "relu"},
}

# About this many rows (steps x sequences) of gate pre-activations are computed at once: large
# enough for an efficient matrix product, small enough to stay in cache for the activations.
_CHUNK_ROWS = 4096


@dataclass(frozen=True)
class Piece:
    """Recorded values of a run of steps: ``values[j, b]`` is step ``t0 + j`` of sequence ``b``.

    ``key`` is ``(layer, kind)``, or ``"out"`` for the outputs (the readout's logits, or the
    last layer's h); ``values`` has shape (steps, batch, n) and is only valid until the next
    piece is requested (buffers are reused).
    """

    key: tuple[int, str] | str
    t0: int
    values: torch.Tensor


class CoreDefaults:
    """The answers of a core whose kinds are all one value per cell of ``h``.

    A subclass defines ``n_cells(layer)`` and ``layout(layer)``; a core with kinds of other
    widths (a Mamba layer's) defines every method below itself.
    """

    def width(self, layer: int, kind: str) -> int:
        """The number of values ``kind`` has at one step of ``layer``: here ``n_cells``."""
        return self.n_cells(layer)

    def cell_group(self, layer: int, kind: str) -> str:
        """The cell group of ``kind``: one group, ``"h"``, for every kind of the layer."""
        return "h"

    def clamp_positions(self, layer: int, cell: int) -> list[int]:
        """The positions of the flat state that clamping ``cell`` forces: one in every part."""
        return [part.start + cell for part in self.layout(layer).values()]

    def values_per_channel(self, layer: int) -> dict[str, int]:
        """Kinds laid out as several values per cell (channel-major); none here."""
        return {}


def _family(module: nn.Module) -> str:
    if isinstance(module, nn.LSTM):
        return "lstm"
    if isinstance(module, nn.GRU):
        return "gru"
    return "rnn_relu" if module.nonlinearity == "relu" else "rnn_tanh"


class TorchCore(CoreDefaults):
    """An ``nn.LSTM``, ``nn.GRU`` or ``nn.RNN``; direction ``d`` of layer ``l`` is ``2l + d``."""

    is_cell = False

    def __init__(self, module: nn.RNNBase) -> None:
        if getattr(module, "proj_size", 0):
            raise ValueError(
                "core: an nn.LSTM with proj_size > 0 is not supported (its h and c have "
                "different sizes, so they cannot share cells); use proj_size=0"
            )
        self.module = module
        self.family = _family(module)
        self.hidden_size = int(module.hidden_size)
        self.num_layers = int(module.num_layers)
        self.directions = 2 if module.bidirectional else 1
        self.n_layers = self.num_layers * self.directions
        self.kinds = FAMILY_KINDS[self.family]
        self.gates = FAMILY_GATES[self.family]

    # ---------------------------------------------------------------- sizes

    def input_size(self, layer: int) -> int:
        if layer < self.directions:
            return int(self.module.input_size)
        return self.directions * self.hidden_size

    def state_size(self, layer: int) -> int:
        return 2 * self.hidden_size if self.family == "lstm" else self.hidden_size

    def n_cells(self, layer: int) -> int:
        return self.hidden_size

    def layout(self, layer: int) -> dict[str, slice]:
        size = self.hidden_size
        if self.family == "lstm":
            return {"h": slice(0, size), "c": slice(size, 2 * size)}
        return {"h": slice(0, size)}

    @property
    def parameters(self) -> list[torch.Tensor]:
        return list(self.module.parameters())

    # ---------------------------------------------------------------- weights

    def weights(
        self, layer: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """``(weight_ih, weight_hh, bias_ih, bias_hh)`` of one layer; the module's own tensors."""
        physical, direction = divmod(layer, self.directions)
        suffix = f"_l{physical}" + ("_reverse" if direction else "")
        module = self.module
        bias_ih = getattr(module, "bias_ih" + suffix) if module.bias else None
        bias_hh = getattr(module, "bias_hh" + suffix) if module.bias else None
        return (
            getattr(module, "weight_ih" + suffix),
            getattr(module, "weight_hh" + suffix),
            bias_ih,
            bias_hh,
        )

    # ---------------------------------------------------------------- one step

    def step(
        self, state: torch.Tensor, x: torch.Tensor, layer: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """One step of one layer: the new flat state and every kind's values (no in-place ops)."""
        w_ih, w_hh, b_ih, b_hh = self.weights(layer)
        size = self.hidden_size
        h = state[..., :size]
        if self.family == "lstm":
            c = state[..., size:]
            gates = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)
            i, f, g, o = gates.chunk(4, dim=-1)
            i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
            c_new = f * c + i * g
            h_new = o * torch.tanh(c_new)
            values = {"h": h_new, "c": c_new, "i": i, "f": f, "g": g, "o": o}
            return torch.cat([h_new, c_new], dim=-1), values
        if self.family == "gru":
            x_r, x_z, x_n = F.linear(x, w_ih, b_ih).chunk(3, dim=-1)
            h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, dim=-1)
            r = torch.sigmoid(x_r + h_r)
            z = torch.sigmoid(x_z + h_z)
            n = torch.tanh(x_n + r * h_n)
            h_new = (1 - z) * n + z * h
            return h_new, {"h": h_new, "r": r, "z": z, "n": n}
        pre = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)
        h_new = torch.relu(pre) if self.family == "rnn_relu" else torch.tanh(pre)
        return h_new, {"h": h_new}

    # ---------------------------------------------------------------- the fused layer

    def layer_module(self, physical: int) -> nn.RNNBase:
        """A one-layer copy of physical layer ``physical`` (time-major), in eval mode.

        The weights are copied, so the user's module is never touched; its multi-layer fused
        call would hide the input of every layer but the first.
        """
        module = self.module
        reference = module.weight_ih_l0
        kwargs: dict[str, Any] = {
            "num_layers": 1,
            "bias": module.bias,
            "batch_first": False,
            "bidirectional": self.directions == 2,
            "device": reference.device,
            "dtype": reference.dtype,
        }
        input_size = self.input_size(physical * self.directions)
        if self.family == "lstm":
            helper: nn.RNNBase = nn.LSTM(input_size, self.hidden_size, **kwargs)
        elif self.family == "gru":
            helper = nn.GRU(input_size, self.hidden_size, **kwargs)
        else:
            nonlinearity = "relu" if self.family == "rnn_relu" else "tanh"
            helper = nn.RNN(input_size, self.hidden_size, nonlinearity=nonlinearity, **kwargs)
        helper.eval()
        with torch.no_grad():
            for name, parameter in helper.named_parameters():
                parameter.requires_grad_(False)
                parameter.copy_(getattr(module, name.replace("_l0", f"_l{physical}")))
        return helper


def fused_layer(
    helper: nn.RNNBase, x: torch.Tensor, lengths: np.ndarray, bidirectional: bool
) -> torch.Tensor:
    """Run one fused layer over time-major padded input ``x`` (T, B, in) -> (T, B, D*H).

    Padding at the end of a sequence does not change the earlier steps of a forward
    direction, so unequal lengths need packing only for a reverse direction (which must start
    at each sequence's own end); packed output is zero past each sequence's end.
    """
    if not bidirectional or (lengths == lengths[0]).all():
        output, _ = helper(x)
        return output
    packed = pack_padded_sequence(x, torch.as_tensor(lengths), enforce_sorted=False)
    output, _ = helper(packed)
    padded, _ = pad_packed_sequence(output, total_length=x.shape[0])
    return padded


def torch_layer_pieces(
    core: TorchCore,
    physical: int,
    x: torch.Tensor,
    out: torch.Tensor,
    lengths: np.ndarray,
    wanted: Mapping[int, Sequence[str]],
) -> Iterator[Piece]:
    """The recorded kinds of both directions of one fused layer, reconstructed exactly.

    Parameters
    ----------
    core : TorchCore
        The module's adapter.
    physical : int
        The physical layer (``layer // directions``).
    x : Tensor, shape (T, B, input_size)
        The layer's time-major padded input.
    out : Tensor, shape (T, B, directions * hidden_size)
        The fused layer's output for ``x`` (zero past each sequence's end where packed).
    lengths : ndarray of int, shape (B,)
        The length of each sequence of the batch.
    wanted : mapping of int to sequence of str
        For each layer (``2 * physical + direction``), the kinds to yield.

    Yields
    ------
    Piece
        ``h`` as one piece over all steps; gates and ``c`` in chunks of steps.

    """
    size = core.hidden_size
    for direction in range(core.directions):
        layer = physical * core.directions + direction
        kinds = list(wanted.get(layer, ()))
        if not kinds:
            continue
        h_all = out[..., direction * size : (direction + 1) * size]
        if "h" in kinds:
            yield Piece((layer, "h"), 0, h_all)
        if core.family.startswith("rnn") or kinds == ["h"]:
            continue
        yield from _gate_pieces(core, layer, x, h_all, lengths, kinds, bool(direction))


def _gate_pieces(
    core: TorchCore,
    layer: int,
    x: torch.Tensor,
    h_all: torch.Tensor,
    lengths: np.ndarray,
    kinds: list[str],
    reverse: bool,
) -> Iterator[Piece]:
    steps, batch, input_size = x.shape
    size = core.hidden_size
    w_ih, w_hh, b_ih, b_hh = (w.detach() if w is not None else None for w in core.weights(layer))
    zeros = torch.zeros(w_ih.shape[0], dtype=x.dtype, device=x.device)
    b_ih = zeros if b_ih is None else b_ih
    b_hh = zeros if b_hh is None else b_hh
    lstm = core.family == "lstm"
    # LSTM: both biases go into one matrix product; GRU: the n gate needs W_hn h + b_hn apart.
    bias = b_ih + b_hh if lstm else b_ih
    n_gates = len(core.gates)
    chunk = max(1, _CHUNK_ROWS // batch)
    x_rows = x.reshape(steps * batch, input_size)
    h_rows = h_all.reshape(steps * batch, size)  # rows (t, b); a strided view, no copy
    if lstm:
        # One product over [x_t, h_{t-1}] per activation, applied as the product's epilogue:
        # sigmoid for the rows of i, f and o, tanh for those of g.
        joined = torch.cat([w_ih, w_hh], dim=1)
        ifo = torch.cat([torch.arange(0, 2 * size), torch.arange(3 * size, 4 * size)])
        ifo = ifo.to(joined.device)
        sigmoid_part = RowLinear(joined[ifo], bias[ifo], chunk * batch, "sigmoid")
        tanh_part = RowLinear(
            joined[2 * size : 3 * size], bias[2 * size : 3 * size], chunk * batch, "tanh"
        )
        joined_rows = x.new_empty(min(chunk, steps) * batch, input_size + size)
    else:
        from_input = RowLinear(w_ih, bias, chunk * batch)
        from_hidden = RowLinear(w_hh, b_hh, chunk * batch)
    uneven = reverse and not (lengths == steps).all()
    if uneven:
        valid = torch.as_tensor(np.arange(steps)[:, None] < lengths[None, :], device=x.device)
    c_prev = torch.zeros(batch, size, dtype=x.dtype, device=x.device)
    starts = range(0, steps, chunk)
    for t0 in reversed(starts) if reverse else starts:
        t1 = min(t0 + chunk, steps)
        # h_{t-1} (h_{t+1} in reverse) from the fused output; the first step has none (zero).
        if reverse:
            lo, hi = t0, min(t1, steps - 1)
            source = h_rows[(lo + 1) * batch : (hi + 1) * batch]
        else:
            lo, hi = max(t0, 1), t1
            source = h_rows[(lo - 1) * batch : (hi - 1) * batch]
        target = slice((lo - t0) * batch, (hi - t0) * batch)
        x_chunk = x_rows[t0 * batch : t1 * batch]
        if lstm:
            rows = joined_rows[: len(x_chunk)]  # [x_t, h_{t-1}], h_{-1} = 0
            rows[:, :input_size] = x_chunk
            rows[: target.start, input_size:] = 0
            rows[target.stop :, input_size:] = 0
            if hi > lo:
                rows[target, input_size:] = source
            ifo_values = sigmoid_part(rows).view(t1 - t0, batch, 3 * size)
            by_name = {
                "i": ifo_values[..., :size],
                "f": ifo_values[..., size : 2 * size],
                "g": tanh_part(rows).view(t1 - t0, batch, size),
                "o": ifo_values[..., 2 * size :],
            }
        else:
            pre = from_input(x_chunk)
            # No h_{t-1} at a sequence's first step: there W_hh h + b_hh is b_hh.
            hh = b_hh.expand(pre.shape).clone()
            if hi > lo:
                hh[target] = from_hidden(source)
            pre[:, : 2 * size].add_(hh[:, : 2 * size]).sigmoid_()
            pre[:, 2 * size :].addcmul_(pre[:, :size], hh[:, 2 * size :]).tanh_()
            gates = pre.view(t1 - t0, batch, n_gates * size)
            by_name = {
                name: gates[..., k * size : (k + 1) * size] for k, name in enumerate(core.gates)
            }
        if lstm and "c" in kinds:
            input_gate = by_name["i"] * by_name["g"]
            forget = by_name["f"]
            if uneven:
                # Past its end a reverse sequence must hold c = 0, its initial state.
                mask = valid[t0:t1, :, None].to(x.dtype)
                input_gate.mul_(mask)
                forget = forget * mask
            c = torch.empty(t1 - t0, batch, size, dtype=x.dtype, device=x.device)
            c_prev = cell_recurrence(input_gate, forget, c_prev, c, reverse)
            yield Piece((layer, "c"), t0, c)
        for name in core.gates:
            if name in kinds:
                yield Piece((layer, name), t0, by_name[name])


def cell_recurrence(
    input_gate: torch.Tensor,
    forget: torch.Tensor,
    c_previous: torch.Tensor,
    out: torch.Tensor,
    reverse: bool = False,
) -> torch.Tensor:
    """``c_t = f_t c_{t-1} + (i_t g_t)`` over a run of steps into ``out``; returns the last c.

    ``input_gate`` is ``i * g``; steps run backwards for a reverse direction. The returned c
    is a view of ``out``: copy it if ``out`` is reused before the next run.
    """
    order = range(len(out) - 1, -1, -1) if reverse else range(len(out))
    for j in order:
        torch.addcmul(input_gate[j], forget[j], c_previous, out=out[j])
        c_previous = out[j]
    return c_previous


class MinCore(CoreDefaults):
    """A `MinGRU` or `MinLSTM`: a plain stack of min-cells whose state is ``h`` alone.

    Layer ``l`` is the module's layer ``l`` (one direction). :meth:`step` is the module's
    sequential :meth:`~MinRNNBase.layer_step`; :meth:`layer_pieces` its parallel
    :meth:`~MinRNNBase.layer_scan`, the pass that capture and unclamped runs take.
    """

    is_cell = False
    directions = 1

    def __init__(self, module: MinRNNBase) -> None:
        module.check_precision()
        self.module = module
        self.family = module.family
        self.hidden_size = int(module.hidden_size)
        self.num_layers = int(module.num_layers)
        self.n_layers = self.num_layers
        self.kinds = tuple(module.kinds)

    def input_size(self, layer: int) -> int:
        return self.module.layer_input_size(layer)

    def state_size(self, layer: int) -> int:
        return self.hidden_size

    def n_cells(self, layer: int) -> int:
        return self.hidden_size

    def layout(self, layer: int) -> dict[str, slice]:
        return {"h": slice(0, self.hidden_size)}

    @property
    def parameters(self) -> list[torch.Tensor]:
        return list(self.module.parameters())

    def step(
        self, state: torch.Tensor, x: torch.Tensor, layer: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """One step of one layer: the new state (``h``) and every kind's values."""
        return self.module.layer_step(state, x, layer)

    def layer_pieces(
        self, layer: int, x: torch.Tensor, kinds: Sequence[str]
    ) -> Generator[Piece, None, torch.Tensor]:
        """Yield the wanted kinds of one layer over time-major ``x``; return its h (T, B, H).

        Each chunk of the scan gives ``h`` and the pre-activations its gates are read from,
        so the gates are exactly what the step computes from the same input.
        """
        gate_kinds = [kind for kind in kinds if kind != "h"]
        chunks = []
        for t0, pre, states in self.module.layer_scan(x, layer):
            chunks.append(states)
            if "h" in kinds:
                yield Piece((layer, "h"), t0, states)
            if gate_kinds:
                values = self.module.gate_values(pre)
                for kind in gate_kinds:
                    yield Piece((layer, kind), t0, values[kind])
        return chunks[0] if len(chunks) == 1 else torch.cat(chunks)


class CellCore(CoreDefaults):
    """A user cell following the `RecurrentCell` protocol: one layer, stepped in Python."""

    is_cell = True
    directions = 1
    n_layers = 1
    family = "cell"

    def __init__(self, cell: Any) -> None:
        state_size = _positive_int(getattr(cell, "state_size", None), "core.state_size")
        input_size = _positive_int(getattr(cell, "input_size", None), "core.input_size")
        kinds = getattr(cell, "kinds", None)
        if isinstance(kinds, str) or not isinstance(kinds, Sequence) or "h" not in kinds:
            raise TypeError(
                "core.kinds must be a sequence of kind names that includes 'h', "
                f"e.g. ('h',) or ('h', 'c', 'i'); got {kinds!r}"
            )
        if len(set(kinds)) != len(kinds) or not all(isinstance(k, str) for k in kinds):
            raise ValueError(f"core.kinds must be distinct str, got {kinds!r}")
        layout = getattr(cell, "state_layout", None)
        if layout is None:
            layout = {"h": slice(0, state_size)}
        self.layout_ = _check_layout(layout, state_size)
        self.cell = cell
        self.state_size_ = state_size
        self.input_size_ = input_size
        self.kinds = ("h", *(kind for kind in kinds if kind != "h"))
        self.hidden_size = _width(self.layout_["h"])

    def input_size(self, layer: int) -> int:
        return self.input_size_

    def state_size(self, layer: int) -> int:
        return self.state_size_

    def n_cells(self, layer: int) -> int:
        return self.hidden_size

    def layout(self, layer: int) -> dict[str, slice]:
        return dict(self.layout_)

    @property
    def parameters(self) -> list[torch.Tensor]:
        return list(self.cell.parameters()) if isinstance(self.cell, nn.Module) else []

    def step(
        self, state: torch.Tensor, x: torch.Tensor, layer: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        result = self.cell.step(state, x)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TypeError(
                "core.step(state, x) must return (new_state, {kind: values}), "
                f"got {type(result).__name__}"
            )
        new_state, values = result
        if not isinstance(values, Mapping):
            raise TypeError(
                f"core.step must return its kinds as a dict, got {type(values).__name__}"
            )
        missing = [kind for kind in self.kinds if kind not in values]
        if missing:
            raise ValueError(
                f"core.step returned no values for kinds {missing}; return every kind listed "
                "in core.kinds"
            )
        if tuple(new_state.shape) != tuple(state.shape):
            raise ValueError(
                f"core.step returned a state of shape {tuple(new_state.shape)} for a state of "
                f"shape {tuple(state.shape)}; the new state must keep the state's shape"
            )
        for kind in self.kinds:
            if values[kind].shape[-1] != self.hidden_size:
                raise ValueError(
                    f"core.step returned {values[kind].shape[-1]} cells for kind {kind!r} but "
                    f"the state's h has {self.hidden_size}; all kinds must share the cells"
                )
        return new_state, {kind: values[kind] for kind in self.kinds}


def make_core(core: Any) -> Any:
    """The core adapter for a module or a cell, or a TypeError that says what is accepted.

    Returns a `TorchCore`, `MinCore`, `CellCore` or (for a Hugging Face ``MambaModel`` or
    ``MambaForCausalLM``) a ``MambaCore``.
    """
    if isinstance(core, (nn.LSTM, nn.GRU, nn.RNN)):
        return TorchCore(core)
    if isinstance(core, MinRNNBase):
        return MinCore(core)
    # Imported here: _mamba builds on this module's Piece and CoreDefaults.
    from ._mamba import MambaCore, is_transformers_model

    if is_transformers_model(core):
        return MambaCore(core)
    if all(hasattr(core, name) for name in ("state_size", "input_size", "kinds", "step")):
        return CellCore(core)
    raise TypeError(
        f"core must be an nn.LSTM, nn.GRU or nn.RNN, a MinGRU or MinLSTM, a Hugging Face "
        "MambaModel or MambaForCausalLM, or a cell with state_size, input_size, "
        f"kinds and step(state, x) (see rnn_widgets.models.RecurrentCell); got "
        f"{type(core).__name__}. For a model with an embedding and a readout, pass its "
        "recurrent module as core and the others as embedding= and readout="
    )


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise TypeError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _width(part: slice) -> int:
    return int(part.stop) - int(part.start)


def _check_layout(layout: Any, state_size: int) -> dict[str, slice]:
    if not isinstance(layout, Mapping) or "h" not in layout:
        raise TypeError(
            "core.state_layout must map part names to slices of the state and include 'h', "
            f"e.g. {{'h': slice(0, 4), 'c': slice(4, 8)}}; got {layout!r}"
        )
    parts: dict[str, slice] = {}
    for name, part in layout.items():
        if not isinstance(part, slice) or part.step not in (None, 1):
            raise TypeError(f"core.state_layout[{name!r}] must be a slice, got {part!r}")
        start, stop = part.start or 0, part.stop
        if stop is None or not 0 <= start < stop <= state_size:
            raise ValueError(
                f"core.state_layout[{name!r}] = {part!r} must lie within 0:{state_size}"
            )
        parts[str(name)] = slice(int(start), int(stop))
    widths = {name: _width(part) for name, part in parts.items()}
    if len(set(widths.values())) != 1:
        raise ValueError(
            f"core.state_layout parts must all have the same width (one value per cell), "
            f"got {widths}"
        )
    return parts
