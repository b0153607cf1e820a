"""The forward pass shared by `RecurrentModel.run` and `capture`, yielding pieces of states.

A pass over one batch of time-major padded inputs yields `Piece`s: the values of one
``(layer, kind)`` (or of the outputs, key ``"out"``) for a run of steps of every sequence in
the batch. ``run`` gathers them into tensors; ``capture`` copies each straight into the rows
of its float32 arrays, so no full-size intermediate is ever held.

An unclamped layer of a torch module takes a fast, exact path: a float32 LSTM on the CPU
reads its gates from oneDNN's workspace (``_workspace``), any other layer the fused forward
and batched gate reconstruction of ``_cores``; an unclamped layer of a `MinGRU` or `MinLSTM`
its own log-space parallel scan, one of a Mamba its blocked pass (``_mamba``); a clamped layer
and a user cell are stepped one step at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ._cores import CellCore, MinCore, Piece, TorchCore, fused_layer, torch_layer_pieces
from ._mamba import MambaCore
from ._workspace import workspace_lstm_pieces, workspace_usable

__all__ = ["Forward"]

# The readout's outputs are computed this many values (steps x batch x n_outputs) at a time.
_OUTPUT_CHUNK = 1 << 21


class Forward:
    """One configured pass: which kinds of which layers to yield, the clamps, the outputs.

    Parameters
    ----------
    core : TorchCore, MinCore, MambaCore or CellCore
    wanted : mapping of int to sequence of str
        The kinds to yield for each layer (layers not listed are computed only if a later
        layer or the outputs need them).
    readout : callable or None
        Maps (n, features) to (n, n_outputs).
    clamps : mapping of int to (Tensor, Tensor)
        Per layer, a boolean mask over the flat state, shape (state_size,), and the values
        to force there: shape (state_size,), or (steps, batch, state_size) per step.
    outputs : bool
        Whether to yield the outputs (key ``"out"``): the readout's, else the last layer's h.

    """

    def __init__(
        self,
        core: TorchCore | MinCore | MambaCore | CellCore,
        wanted: Mapping[int, Sequence[str]],
        readout: Any,
        clamps: Mapping[int, tuple[torch.Tensor, torch.Tensor]],
        outputs: bool = True,
    ) -> None:
        self.core = core
        self.wanted = {layer: tuple(kinds) for layer, kinds in wanted.items() if kinds}
        self.readout = readout
        self.clamps = dict(clamps)
        self.outputs = outputs
        if isinstance(core, CellCore):
            self.n_physical = 1
        else:
            deepest = max([*self.wanted, *self.clamps, -1])
            self.n_physical = core.num_layers if outputs else deepest // core.directions + 1
        for parameter in core.parameters:
            if not bool(torch.isfinite(parameter).all()):
                raise ValueError(
                    "the core has NaN or infinite weights; a trace of it would be meaningless"
                )
        self._helpers: dict[int, torch.nn.RNNBase] = {}
        # Read LSTM gates from oneDNN's workspace until it once fails its own check.
        self._use_workspace = True
        self.n_outputs = None
        if readout is not None and outputs:
            parameters = core.parameters
            probe = torch.zeros(
                1,
                core.directions * core.width(core.n_layers - 1, "h"),
                dtype=parameters[0].dtype if parameters else torch.get_default_dtype(),
                device=parameters[0].device if parameters else "cpu",
            )
            self.n_outputs = int(readout(probe).shape[-1])

    def pieces(self, x: torch.Tensor, lengths: np.ndarray) -> Iterator[Piece]:
        """Yield the pieces of one batch; ``x`` is (steps, batch, input_size), time-major."""
        core = self.core
        for physical in range(self.n_physical):
            layers = [physical * core.directions + d for d in range(core.directions)]
            if isinstance(core, CellCore) or any(layer in self.clamps for layer in layers):
                out = yield from self._stepped_layer(physical, x, lengths)
            elif isinstance(core, (MinCore, MambaCore)):
                # One direction: padding past a sequence's end never reaches its earlier steps.
                out = yield from core.layer_pieces(physical, x, self.wanted.get(physical, ()))
            else:
                if physical not in self._helpers:
                    self._helpers[physical] = core.layer_module(physical)
                helper = self._helpers[physical]
                kinds = self.wanted.get(layers[0], ())
                out = None
                if self._use_workspace and workspace_usable(helper, x, kinds):
                    out = yield from workspace_lstm_pieces(helper, layers[0], x, kinds)
                    self._use_workspace = out is not None
                if out is None:
                    out = fused_layer(helper, x, lengths, core.directions == 2)
                    if core.family == "rnn_relu":
                        _check_finite(out, f"layer {layers[0]}")
                    yield from torch_layer_pieces(core, physical, x, out, lengths, self.wanted)
            x = out
        if self.outputs:
            yield from self._output_pieces(x)

    def _output_pieces(self, features: torch.Tensor) -> Iterator[Piece]:
        if self.readout is None:
            yield Piece("out", 0, features)
            return
        steps, batch, width = features.shape
        chunk = max(1, _OUTPUT_CHUNK // (batch * max(1, self.n_outputs or 1)))
        for t0 in range(0, steps, chunk):
            t1 = min(t0 + chunk, steps)
            flat = features[t0:t1].reshape(-1, width)
            logits = self.readout(flat)
            yield Piece("out", t0, logits.reshape(t1 - t0, batch, logits.shape[-1]))

    def _stepped_layer(
        self, physical: int, x: torch.Tensor, lengths: np.ndarray
    ) -> Iterator[Piece]:
        """Step both directions of one layer; yields its pieces, returns its output."""
        core = self.core
        outputs = []
        for direction in range(core.directions):
            layer = physical * core.directions + direction
            store = self._scan(layer, x, lengths, reverse=direction == 1)
            for kind in self.wanted.get(layer, ()):
                yield Piece((layer, kind), 0, store[kind])
            outputs.append(store["h"])
        return outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=-1)

    def _scan(
        self, layer: int, x: torch.Tensor, lengths: np.ndarray, reverse: bool
    ) -> dict[str, torch.Tensor]:
        core = self.core
        steps, batch, _ = x.shape
        size = core.state_size(layer)
        layout = core.layout(layer)
        kinds = {"h", *self.wanted.get(layer, ())}
        store = {
            kind: torch.empty(steps, batch, core.width(layer, kind), dtype=x.dtype, device=x.device)
            for kind in kinds
        }
        clamp = self.clamps.get(layer)
        per_step = clamp is not None and clamp[1].ndim == 3
        first = _first_steps(lengths, steps, reverse)

        def clamped(state: torch.Tensor, t: int | None) -> torch.Tensor:
            if clamp is None:
                return state
            mask, values = clamp
            if per_step:
                # t None: the initial state, clamped to the value of the first step read.
                values = values[first, torch.arange(batch)] if t is None else values[t]
            return torch.where(mask, values, state)

        initial = clamped(torch.zeros(batch, size, dtype=x.dtype, device=x.device), None)
        uneven = reverse and not (lengths == steps).all()
        valid = torch.as_tensor(np.arange(steps)[:, None, None] < lengths[None, :, None])
        valid = valid.to(x.device)
        state = initial
        for t in range(steps - 1, -1, -1) if reverse else range(steps):
            new_state, values = core.step(state, x[t], layer)
            new_state = clamped(new_state, t)
            for kind in kinds:
                part = layout.get(kind)
                store[kind][t] = new_state[:, part] if part is not None else values[kind]
            # A reverse direction starts at each sequence's own end, from the initial state.
            state = torch.where(valid[t], new_state, initial) if uneven else new_state
        if isinstance(core, CellCore) or core.family == "rnn_relu":
            for kind, values in store.items():
                _check_finite(values, f"layer {layer} kind {kind!r}")
        return store


def _first_steps(lengths: np.ndarray, steps: int, reverse: bool) -> torch.Tensor:
    """The first step each sequence's pass reads: 0 forward, its last step in reverse."""
    first = lengths - 1 if reverse else np.zeros_like(lengths)
    return torch.as_tensor(np.minimum(first, steps - 1), dtype=torch.long)


def _check_finite(values: torch.Tensor, name: str) -> None:
    if not bool(torch.isfinite(values).all()):
        raise ValueError(
            f"{name} produced NaN or infinite states (is the network diverging?); check its "
            "weights and inputs"
        )
