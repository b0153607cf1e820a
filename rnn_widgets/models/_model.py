"""`RecurrentModel`: the one interface between trained recurrent networks and the analyses.

Every analysis talks to a model only through the methods documented here (``encode``,
``initial_state``, ``state_layout``, ``step``, ``gate_weights``, ``run``, ``run_layer``,
``readout``), so a new kind of network needs only a new core, never a change to an analysis.

Layers
------
Layers are numbered from 0. A bidirectional module reports each direction as its own layer:
direction ``d`` (0 forward, 1 reverse) of the module's layer ``l`` is layer ``2 * l + d``.
The input of layer ``2 * l + d`` (for ``l > 0``) is the concatenation of both directions' h
of the module's layer ``l - 1``, as in PyTorch.

The flat state
--------------
``step`` works on one layer's **flat state**, shape (batch, state_size): for an LSTM the
concatenation ``(h, c)`` (state_size = 2 * hidden_size), for a GRU, an RNN, a `MinGRU` or a
`MinLSTM` just ``h``, for a Mamba layer ``(h, conv, ssm)`` (its block output, the
convolution's last inputs and the SSM state; ``rnn_widgets.models._mamba``), for a user cell
whatever its ``state_layout`` says. :meth:`RecurrentModel.state_layout` names the slices.

Cells and kinds of other widths
-------------------------------
A layer's **cells** are what ``run(clamp=...)`` and ``ablate`` address: the units of ``h`` for
every family but Mamba, whose cells are its SSM channels. Every kind of a torch module, a
min-RNN or a user cell has one value per cell; a Mamba layer's kinds have their own widths
(:meth:`RecurrentModel.n_cells` with ``kind=``) and cell groups
(:meth:`RecurrentModel.cell_group`), which ``capture`` records in the trace.

The model is never changed
--------------------------
Nothing here modifies a weight. Passes over data (``encode``, ``run``, ``readout`` and
``capture``) put the modules in eval mode (so dropout is off) and restore every submodule's
training flag afterwards, also when they raise or are interrupted; ``encode`` and ``run`` run
under ``torch.no_grad``. ``step`` and ``readout`` keep autograd on, for Jacobians and
gradients.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.parameter import UninitializedBuffer, UninitializedParameter

from .._validation import as_float, as_int, as_kind, as_layer, to_numpy
from ..trace import KNOWN_KINDS
from ._cores import GATE_ACTIVATIONS, CellCore, MinCore, TorchCore, make_core
from ._forward import Forward
from ._inputs import Prepared, Vocabulary, parse_batch, prepare
from ._mamba import MambaCore, is_transformers_model
from ._min_rnn import MinRNNBase

__all__ = [
    "GateWeights",
    "RecurrentCell",
    "RecurrentModel",
    "RunResult",
    "StateLayout",
    "as_model",
    "wrap",
]

#: The bytes ``RecurrentModel.run`` may spend on kinds holding several values per cell
#: (Mamba's ``conv`` and ``ssm``), as ``capture``'s default ``state_budget``.
RUN_STATE_BUDGET = 1 << 30


@runtime_checkable
class RecurrentCell(Protocol):
    """The step protocol a user-written recurrent cell follows to be used as a core.

    Any object with these attributes and this method works (an ``nn.Module`` or not); it is
    reported as one layer, layer 0. ``RecurrentModel(core=cell, ...)`` checks the attributes.

    Attributes
    ----------
    state_size : int
        The width of the flat state.
    input_size : int
        The width of one input vector.
    kinds : sequence of str
        The kinds :meth:`step` reports, ``"h"`` among them, e.g. ``("h",)`` or
        ``("h", "c", "i", "f", "g", "o")``. Every kind has one value per cell, cells being
        the units of ``h``.
    state_layout : mapping of str to slice, optional
        Where the named parts of the state lie, each one value per cell, e.g.
        ``{"h": slice(0, 4), "c": slice(4, 8)}``. Without it the whole state is ``h``.
        ``clamp`` in :meth:`RecurrentModel.run` forces a cell in every part.

    Methods
    -------
    step(state, x) -> (new_state, values)
        ``state`` of shape (batch, state_size) and ``x`` of shape (batch, input_size) give the
        new state (batch, state_size) and a dict ``{kind: tensor (batch, n_cells)}`` with
        every kind in ``kinds`` (``values["h"]`` is the new state's ``h``). Batched,
        differentiable and free of in-place changes to its arguments, so that
        ``torch.func.vmap`` and ``jacrev`` work on it (then it also sees unbatched
        ``(state_size,)`` and ``(input_size,)`` arguments).

    Examples
    --------
    A leaky integrator, ``h' = a * h + x``:

    >>> class Leaky:
    ...     state_size, input_size, kinds = 1, 1, ("h",)
    ...     def step(self, state, x):
    ...         new = 0.5 * state + x
    ...         return new, {"h": new}
    >>> model = RecurrentModel(Leaky())
    >>> model.run(torch.ones(3, 1)).states[(0, "h")].flatten().tolist()
    [1.0, 1.5, 1.75]

    """

    state_size: int
    input_size: int
    kinds: Sequence[str]

    def step(
        self, state: torch.Tensor, x: torch.Tensor
    ) -> tuple[torch.Tensor, Mapping[str, torch.Tensor]]:
        """One batched, differentiable step: ``(new_state, {kind: values})``."""
        ...


@dataclass(frozen=True, eq=False)
class StateLayout(Mapping[str, slice]):
    """The named parts of one layer's flat state: a read-only mapping from name to slice.

    For an LSTM ``{"h": slice(0, H), "c": slice(H, 2 * H)}``; for a GRU or an RNN
    ``{"h": slice(0, H)}``. ``state[..., layout["c"]]`` is the cell state.

    Attributes
    ----------
    parts : mapping of str to slice
        The parts, ``"h"`` first.
    size : int
        The width of the flat state (``state_size``).

    """

    parts: Mapping[str, slice]
    size: int

    def __getitem__(self, name: str) -> slice:
        return self.parts[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.parts)

    def __len__(self) -> int:
        return len(self.parts)

    @property
    def n_cells(self) -> int:
        """The number of cells (the width of each part)."""
        part = self.parts["h"]
        return part.stop - part.start

    def split(self, state: torch.Tensor) -> dict[str, torch.Tensor]:
        """The parts of a flat state ``(..., size)`` as ``{name: (..., n_cells)}`` views."""
        return {name: state[..., part] for name, part in self.parts.items()}


@dataclass(frozen=True, eq=False)
class GateWeights:
    """The weights of one gate of one layer, as numpy copies (the model is never aliased).

    The gate's pre-activation at a step is
    ``input_weights @ x + input_bias + recurrent_weights @ h + recurrent_bias``, passed
    through ``activation``; except the GRU's ``n`` gate, where the recurrent part is scaled by
    the reset gate: ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``. An RNN has one "gate",
    named ``"h"``: its new hidden state.

    Attributes
    ----------
    name : str
        ``"i" "f" "g" "o"`` (LSTM), ``"r" "z" "n"`` (GRU) or ``"h"`` (RNN).
    activation : {"sigmoid", "tanh", "relu"}
    input_weights : ndarray, shape (n_cells, input_size)
    recurrent_weights : ndarray, shape (n_cells, n_cells)
    input_bias : ndarray, shape (n_cells,)
        Zeros for a module built with ``bias=False``.
    recurrent_bias : ndarray, shape (n_cells,)

    """

    name: str
    activation: str
    input_weights: np.ndarray
    recurrent_weights: np.ndarray
    input_bias: np.ndarray
    recurrent_bias: np.ndarray


@dataclass(frozen=True, eq=False)
class RunResult:
    """What :meth:`RecurrentModel.run` returns: outputs and every layer's states.

    Shapes are batched, ``(batch, steps, ...)``, with each sequence's steps past its length
    set to zero; when ``run`` was given one sequence the batch axis is dropped.

    Attributes
    ----------
    outputs : Tensor, shape (batch, steps, n_outputs)
        The readout's outputs (logits), or the last layer's h where there is no readout
        (both directions concatenated for a bidirectional module).
    states : mapping of (int, str) to Tensor, shape (batch, steps, n_cells)
        Every layer's kinds (``h``; ``c`` and ``i f g o`` for an LSTM; ``r z n`` for a GRU;
        ``z h_tilde`` for a MinGRU; ``i f h_tilde`` for a MinLSTM; ``x delta y conv ssm`` for
        Mamba, each of its own width; a cell's ``kinds``). A clamped cell shows its clamped
        value in ``h`` (and ``c``; a Mamba channel in ``ssm``); the gates show what was
        computed at that step.
    lengths : ndarray of int, shape (batch,)
        The length of each sequence.

    """

    outputs: torch.Tensor
    states: Mapping[tuple[int, str], torch.Tensor]
    lengths: np.ndarray


class RecurrentModel:
    """A trained recurrent network, wrapped explicitly: core, embedding, readout, vocabulary.

    Parameters
    ----------
    core : nn.LSTM, nn.GRU, nn.RNN, MinGRU, MinLSTM, MambaModel, MambaForCausalLM or RecurrentCell
        The recurrent part: a torch module (any ``num_layers``, ``batch_first`` either way,
        bidirectional or not; ``nn.RNN`` with tanh or relu; ``nn.LSTM`` without
        ``proj_size``), a :class:`MinGRU` or :class:`MinLSTM` (any ``num_layers``), a Hugging
        Face ``transformers`` ``MambaModel`` or ``MambaForCausalLM`` (the ``hf`` extra; see
        ``rnn_widgets.models._mamba``), or a user cell following :class:`RecurrentCell`.
    embedding : nn.Module or "one_hot", optional
        Maps an int64 tensor of token ids of any shape ``(...)`` to input vectors
        ``(..., input_size)``, as ``nn.Embedding`` does; ``"one_hot"`` encodes id ``k`` as the
        k-th unit vector (then ids run over ``0 .. input_size - 1``). Needed to read tokens
        or ids; float input vectors are read as they are. For a Mamba model, its own
        embedding by default.
    readout : nn.Module, optional
        Maps the last layer's h, shape (n, features), to outputs (n, n_outputs) (logits for
        a softmax), e.g. ``nn.Linear``. ``features`` is ``hidden_size`` (both directions:
        ``2 * hidden_size``), as in the module's own output. For a ``MambaForCausalLM`` its
        final norm and ``lm_head`` by default (its logits), for a ``MambaModel`` its final
        norm (its ``last_hidden_state``).
    vocab : mapping of str to int, or list of str, optional
        Token strings to ids (a list gives each token its index). Used to read token strings
        and to name top-k predictions.

    Notes
    -----
    The wrapper holds references and never changes a weight (a fast pass copies each
    layer's weights into a private one-layer module, never the other way); see the module
    docstring for modes and gradients. Nothing is guessed from attribute names: a
    model class with ``.lstm``, ``.embed`` and ``.fc`` is wrapped as
    ``RecurrentModel(model.lstm, embedding=model.embed, readout=model.fc, vocab=...)``.

    Examples
    --------
    >>> lstm = nn.LSTM(input_size=3, hidden_size=4, num_layers=2)
    >>> model = RecurrentModel(lstm)
    >>> model.n_layers, model.kinds
    (2, ('h', 'c', 'i', 'f', 'g', 'o'))
    >>> model.state_layout()["c"]
    slice(4, 8, None)

    """

    def __init__(
        self,
        core: Any,
        embedding: nn.Module | Literal["one_hot"] | None = None,
        readout: nn.Module | None = None,
        vocab: Mapping[str, int] | Sequence[str] | None = None,
    ) -> None:
        self._core: TorchCore | MinCore | CellCore | MambaCore = make_core(core)
        if isinstance(self._core, MambaCore):
            embedding = self._core.embedding if embedding is None else embedding
            readout = self._core.readout if readout is None else readout
        if isinstance(embedding, str) and embedding != "one_hot":
            raise ValueError(f"embedding must be an nn.Module or 'one_hot', got {embedding!r}")
        if embedding is not None and not isinstance(embedding, str) and not callable(embedding):
            raise TypeError(
                "embedding must be an nn.Module mapping token ids to vectors (such as "
                f"nn.Embedding) or 'one_hot', got {type(embedding).__name__}"
            )
        if readout is not None and not callable(readout):
            raise TypeError(
                f"readout must be an nn.Module such as nn.Linear, got {type(readout).__name__}"
            )
        self.core = core
        self.embedding = embedding
        self._readout = readout
        self._vocab = Vocabulary(vocab) if vocab is not None else None
        self._one_hot = isinstance(embedding, str)
        self._check_materialised()
        self._check_fits()

    # ------------------------------------------------------------------ description

    @property
    def family(self) -> str:
        """The kind of core, one of the names below.

        ``"lstm"``, ``"gru"``, ``"rnn_tanh"`` or ``"rnn_relu"`` (torch's modules),
        ``"min_gru"`` or ``"min_lstm"`` (:class:`MinGRU`, :class:`MinLSTM`), ``"mamba"`` (a
        Hugging Face ``MambaModel`` or ``MambaForCausalLM``), or ``"cell"`` (a user cell).
        """
        return self._core.family

    @property
    def has_gate_weights(self) -> bool:
        """Whether :meth:`gate_weights` describes the core: True for torch's LSTM, GRU and RNN.

        Analyses that build on PyTorch's gate equations (closed-form Jacobians, response
        characterization, fused runs) take them only where this holds; for a min-RNN or a user
        cell they use :meth:`step` (``torch.func``) or refuse.
        """
        return isinstance(self._core, TorchCore)

    @property
    def n_layers(self) -> int:
        """The number of layers, each direction of a bidirectional module counted once."""
        return self._core.n_layers

    @property
    def layers(self) -> tuple[int, ...]:
        """The layer indices, ``0 .. n_layers - 1``."""
        return tuple(range(self.n_layers))

    @property
    def directions(self) -> int:
        """2 for a bidirectional module, else 1."""
        return self._core.directions

    @property
    def kinds(self) -> tuple[str, ...]:
        """The state kinds every layer has: ``h``, then those of the core's family.

        ``c i f g o`` (LSTM), ``r z n`` (GRU), ``z h_tilde`` (MinGRU), ``i f h_tilde``
        (MinLSTM), ``x delta y conv ssm`` (Mamba: conv output, step size, gated SSM output,
        convolution state, SSM state; of other widths than ``h``) or a cell's own ``kinds``.
        """
        return tuple(self._core.kinds)

    @property
    def vocab(self) -> Mapping[str, int] | None:
        """The vocabulary as a read-only mapping token -> id, or None."""
        return MappingProxyType(self._vocab.ids) if self._vocab is not None else None

    @property
    def readout_module(self) -> nn.Module | None:
        """The readout module, or None."""
        return self._readout

    @property
    def device(self) -> torch.device:
        """Where the core's weights live (the CPU for a cell without parameters)."""
        parameters = self._core.parameters
        return parameters[0].device if parameters else torch.device("cpu")

    @property
    def dtype(self) -> torch.dtype:
        """The core's floating-point type (the default dtype for a cell without parameters)."""
        parameters = self._core.parameters
        return parameters[0].dtype if parameters else torch.get_default_dtype()

    @property
    def readout_dtype(self) -> torch.dtype:
        """The floating dtype the readout's weights hold (:attr:`dtype` for one without any).

        What the readout computes in: a float64 readout over a cell without parameters (whose
        states default to float32) reads float64.
        """
        if isinstance(self._readout, nn.Module):
            for tensor in (*self._readout.parameters(), *self._readout.buffers()):
                if tensor.is_floating_point():
                    return tensor.dtype
        return self.dtype

    def n_cells(self, *, layer: int = 0, kind: str | None = None) -> int:
        """The number of cells of a layer, or the width of one of its kinds.

        Parameters
        ----------
        layer : int
            The layer.
        kind : str, optional
            None: the layer's cells, which ``run(clamp=...)`` addresses (the units of ``h``;
            for Mamba its SSM channels, ``intermediate_size``). A kind: the number of values it
            has per step, as capture records it (for Mamba ``h`` has ``hidden_size``, ``ssm``
            ``intermediate_size * state_size``; for every other family ``n_cells``).

        """
        layer = self.check_layer(layer=layer)
        if kind is None:
            return self._core.n_cells(layer)
        return self._core.width(layer, self._check_kind(kind))

    def cell_group(self, *, layer: int = 0, kind: str = "h") -> str:
        """The cell group of a kind: kinds of one group share cells (see ``Trace.cell_group``).

        Every kind of an LSTM, GRU, RNN, min-RNN or cell layer is one group, ``"h"``; a Mamba
        layer's are ``"model"`` (``h``), ``"channels"`` (``x``, ``delta``, ``y``), ``"conv"``
        and ``"state"`` (``ssm``).
        """
        layer = self.check_layer(layer=layer)
        return self._core.cell_group(layer, self._check_kind(kind))

    def ssm_matrix(self, *, layer: int = 0) -> np.ndarray:
        """A Mamba layer's diagonal state matrix ``A = -exp(A_log)``, a float64 copy.

        Each channel ``d`` and state dimension ``n`` decays by ``exp(delta_t[d] * A[d, n])``
        per step (Gu & Dao 2023, section 3.2), the time constants of the layer's memory.

        Returns
        -------
        ndarray, shape (n_channels, state_size)

        Raises
        ------
        TypeError
            For a family without a selective state space (every one but Mamba).

        """
        layer = self.check_layer(layer=layer)
        weights = getattr(self._core, "weights", None)
        if self.family != "mamba" or weights is None:
            raise TypeError(
                f"ssm_matrix is a Mamba layer's state matrix; this model is a {self.family}"
            )
        return weights(layer).a.detach().to("cpu", torch.float64).numpy().copy()

    def values_per_channel(self, *, layer: int = 0) -> Mapping[str, int]:
        """The kinds that hold several values per cell, and how many; empty for most families.

        For Mamba ``{"conv": conv_kernel - 1, "ssm": state_size}``: their columns are laid
        out channel-major (column ``d * k + j`` is value ``j`` of channel ``d``), and capture
        budgets their memory and can keep chosen channels of them.
        """
        return MappingProxyType(self._core.values_per_channel(self.check_layer(layer=layer)))

    def input_size(self, *, layer: int = 0) -> int:
        """The width of a layer's input vectors."""
        return self._core.input_size(self.check_layer(layer=layer))

    def state_size(self, *, layer: int = 0) -> int:
        """The width of a layer's flat state."""
        return self._core.state_size(self.check_layer(layer=layer))

    @property
    def n_features(self) -> int:
        """The width of what the readout reads: the last layer's h, directions concatenated."""
        return self._core.directions * self._core.width(self.n_layers - 1, "h")

    def __repr__(self) -> str:
        parts = [f"core={type(self.core).__name__}", f"{self.n_layers} layers"]
        if self.embedding is not None:
            name = self.embedding if isinstance(self.embedding, str) else type(self.embedding)
            parts.append(f"embedding={getattr(name, '__name__', name)}")
        if self._readout is not None:
            parts.append(f"readout={type(self._readout).__name__}")
        if self._vocab is not None:
            parts.append(f"vocab of {len(self._vocab.ids)} tokens")
        return f"RecurrentModel({', '.join(parts)})"

    # ------------------------------------------------------------------ inputs

    def encode(self, sequence: Any) -> torch.Tensor:
        """The input vectors of one sequence.

        Parameters
        ----------
        sequence : list of str, list of int, or array-like of shape (steps, input_size)
            Token strings (through ``vocab`` and ``embedding``), token ids (through
            ``embedding``), or float input vectors (returned as they are, as the model's
            dtype).

        Returns
        -------
        Tensor, shape (steps, input_size)
            Detached, on the model's device, in the model's dtype.

        Raises
        ------
        TypeError, ValueError
            On a token missing from the vocabulary (named with its position), an id outside
            the embedding, vectors of the wrong width, or tokens without an embedding.

        """
        prepared = self.prepare_sequence(sequence, "sequence")
        with self.eval_mode(), torch.no_grad():
            return self.embed([prepared])[:, 0]

    def initial_state(self, batch: int = 1, *, layer: int = 0) -> torch.Tensor:
        """The initial flat state, zeros of shape (batch, state_size), as PyTorch starts."""
        batch = as_int(batch, "batch", minimum=1)
        size = self.state_size(layer=layer)
        return torch.zeros(batch, size, dtype=self.dtype, device=self.device)

    def state_layout(self, *, layer: int = 0) -> StateLayout:
        """The named slices of a layer's flat state: h; c (LSTM); conv and ssm (Mamba)."""
        layer = self.check_layer(layer=layer)
        parts = self._core.layout(layer)
        return StateLayout(MappingProxyType(parts), self._core.state_size(layer))

    # ------------------------------------------------------------------ the dynamics

    def step(self, state: torch.Tensor, x: torch.Tensor, *, layer: int = 0) -> torch.Tensor:
        """One step of one layer: the new flat state, computed from the module's own weights.

        The exact PyTorch equations (see ``rnn_widgets.models._cores``), differentiable and
        free of in-place operations, so ``torch.func.jacrev`` and ``vmap`` work on it (for
        fixed points and Jacobians). For a reverse direction the step is the same; reading the
        sequence backwards is the caller's business. Inter-layer dropout is never applied.

        Parameters
        ----------
        state : Tensor, shape (batch, state_size)
            The flat state (see :meth:`state_layout`); unbatched ``(state_size,)`` works too.
        x : Tensor, shape (batch, input_size(layer))
            The layer's input at this step.
        layer : int
            The layer to step.

        Returns
        -------
        Tensor, shape (batch, state_size)

        """
        layer = self.check_layer(layer=layer)
        self._check_width(state, self._core.state_size(layer), "state", "state_size")
        self._check_width(x, self._core.input_size(layer), "x", f"input_size({layer})")
        new_state, _ = self._core.step(state, x, layer)
        return new_state

    def gate_weights(self, *, layer: int = 0) -> Mapping[str, GateWeights]:
        """The input and recurrent weights and biases of each gate of one layer.

        Returns
        -------
        mapping of str to GateWeights
            Read-only, in PyTorch's gate order: ``i f g o`` (LSTM), ``r z n`` (GRU), ``h``
            (RNN).

        Raises
        ------
        TypeError
            For a user cell, whose gates are its own business, and for a MinGRU or MinLSTM,
            whose gates read no recurrent weights (see :attr:`has_gate_weights`).

        """
        layer = self.check_layer(layer=layer)
        core = self._core
        if isinstance(core, MambaCore):
            raise TypeError(
                "gate_weights needs an nn.LSTM, nn.GRU or nn.RNN core; a Mamba layer has no "
                "recurrent gate weights (its weights are the mixer's: "
                "model.core.backbone.layers[layer].mixer)"
            )
        if isinstance(core, MinCore):
            raise TypeError(
                f"gate_weights needs an nn.LSTM, nn.GRU or nn.RNN core; a {core.family} core's "
                "gates read only the input (read them from model.core.weights(layer), rows in "
                "the order of model.core.gates)"
            )
        if not isinstance(core, TorchCore):
            raise TypeError(
                "gate_weights needs an nn.LSTM, nn.GRU or nn.RNN core; a user cell has no "
                "standard gates (read its weights from the cell itself)"
            )
        w_ih, w_hh, b_ih, b_hh = core.weights(layer)
        size = core.hidden_size

        dtype = w_ih.detach().cpu().numpy().dtype

        def part(tensor: torch.Tensor | None, k: int, shape: tuple[int, ...]) -> np.ndarray:
            if tensor is None:
                array = np.zeros(shape, dtype=dtype)
            else:
                array = tensor.detach()[k * size : (k + 1) * size].cpu().numpy().copy()
            array.flags.writeable = False
            return array

        gates = {}
        for k, name in enumerate(core.gates):
            gates[name] = GateWeights(
                name,
                GATE_ACTIVATIONS[core.family][name],
                part(w_ih, k, (size, w_ih.shape[1])),
                part(w_hh, k, (size, size)),
                part(b_ih, k, (size,)),
                part(b_hh, k, (size,)),
            )
        return MappingProxyType(gates)

    def run(
        self,
        sequences: Any,
        clamp: Mapping[int, Mapping[int, Any]] | None = None,
        *,
        kinds: Sequence[str] | None = None,
        state_budget: int = RUN_STATE_BUDGET,
    ) -> RunResult:
        """A full forward pass over a batch (or one sequence), optionally clamping cells.

        Parameters
        ----------
        sequences : sequence or batch
            One sequence (token strings, ids, or a (steps, input_size) float array) or a
            batch: a list of sequences, ids (batch, steps) or floats (batch, steps,
            input_size). Sequences may differ in length.
        clamp : mapping of int to mapping of int to float or array, optional
            ``{layer: {cell: value}}``: force these cells to these values, for ablation. The
            clamp is applied to the state after each step (and to the initial state), in every
            part of the state layout (``h``, and ``c`` for an LSTM), so the layer's next step
            and the later layers see it; the gates are not clamped. A Mamba layer's cells are
            its SSM channels: clamping channel ``d`` forces its SSM state ``s[d, :]`` (all
            ``state_size`` values), not ``h`` nor the convolution's state. A value is a number (the
            same at every step) or per-step values: shape (steps,) for one sequence, (batch,
            steps) for a batch (``steps`` the longest length; values past a sequence's end
            are ignored). With per-step values, the initial state takes the value of the
            first step the layer reads (a reverse direction: each sequence's last step).
        kinds : sequence of str, optional
            The kinds whose states to return (default: every kind of :attr:`kinds`).
        state_budget : int
            Bytes the kinds holding several values per cell (:meth:`values_per_channel`:
            Mamba's ``conv`` and ``ssm``) may take over the batch, 1 GiB by default; past it
            ``run`` refuses before computing, naming ``kinds=``.

        Returns
        -------
        RunResult
            Outputs and the chosen kinds' states of every layer; batched unless
            ``sequences`` was one sequence.

        Notes
        -----
        Without a clamp, h comes from the module's fused forward pass and the gates from the
        same exact path as :func:`capture` (oneDNN's workspace or a reconstruction); a
        clamped layer is stepped with :meth:`step`.
        Runs under ``torch.no_grad`` in eval mode; for gradients use :meth:`step`.

        """
        prepared, single = self.prepare(sequences, "sequences")
        lengths = np.array([len(p) for p in prepared], dtype=np.int64)
        clamps = self._parse_clamp(clamp, lengths, single)
        steps, batch = int(lengths.max()), len(prepared)
        chosen = self._run_kinds(kinds)
        self._check_run_budget(chosen, steps * batch, state_budget)
        wanted = {layer: chosen for layer in self.layers}
        collected: dict[Any, torch.Tensor] = {}
        with self.eval_mode(), torch.no_grad():
            forward = Forward(self._core, wanted, self._readout, clamps)
            x = self.embed(prepared)
            for piece in forward.pieces(x, lengths):
                if piece.key not in collected:
                    collected[piece.key] = torch.zeros(
                        steps, batch, piece.values.shape[-1], dtype=x.dtype, device=x.device
                    )
                t1 = piece.t0 + piece.values.shape[0]
                collected[piece.key][piece.t0 : t1] = piece.values
        valid = torch.as_tensor(
            np.arange(steps)[None, :, None] < lengths[:, None, None], device=x.device
        )

        def finish(values: torch.Tensor) -> torch.Tensor:
            result = values.transpose(0, 1).contiguous() * valid.to(values.dtype)
            return result[0] if single else result

        outputs = finish(collected.pop("out"))
        states = {key: finish(collected[key]) for key in sorted(collected, key=_state_order)}
        return RunResult(outputs, MappingProxyType(states), lengths)

    def run_layer(
        self, inputs: Any, *, layer: int = 0, kinds: Sequence[str] | None = None
    ) -> Mapping[str, torch.Tensor]:
        """One layer alone, driven by given input vectors from the zero state.

        The layer reads ``inputs`` as its own input (what the embedding gives layer 0, or the
        layer below's h), so designed inputs can drive any layer, e.g. for response
        characterization. The layer is stepped with :meth:`step`'s equations, forward in the
        order given (a reverse direction's caller reverses the inputs), under
        ``torch.no_grad`` in eval mode.

        Parameters
        ----------
        inputs : Tensor or ndarray, shape (batch, steps, input_size(layer))
            Float input vectors, cast to the model's dtype and device.
        layer : int
            The layer to drive.
        kinds : sequence of str, optional
            The kinds to return (default: every kind of :attr:`kinds`).

        Returns
        -------
        mapping of str to Tensor, shape (batch, steps, n_cells(layer=layer, kind=kind))
            Read-only mapping; a kind of the state layout (``h``, ``c``, ``conv``, ``ssm``)
            is read from the new state, the others from the step's values.

        Raises
        ------
        TypeError, ValueError
            Inputs that are not a float array of that shape, or kinds holding several values
            per cell past :data:`RUN_STATE_BUDGET` bytes.

        """
        layer = self.check_layer(layer=layer)
        chosen = self._run_kinds(kinds)
        x = self._layer_inputs(inputs, layer)
        batch, steps, _ = x.shape
        heavy = [k for k in chosen if k in self._core.values_per_channel(layer)]
        need = x.element_size() * batch * steps * sum(self._core.width(layer, k) for k in heavy)
        if need > RUN_STATE_BUDGET:
            raise ValueError(
                f"run_layer would need {need / (1 << 30):.1f} GiB for {heavy}; pass kinds "
                "without them (e.g. kinds=['h']) or fewer steps"
            )
        layout = self._core.layout(layer)
        store = {kind: x.new_empty(batch, steps, self._core.width(layer, kind)) for kind in chosen}
        with self.eval_mode(), torch.no_grad():
            state = self.initial_state(batch, layer=layer)
            for t in range(steps):
                state, values = self._core.step(state, x[:, t], layer)
                for kind in chosen:
                    part = layout.get(kind)
                    store[kind][:, t] = state[:, part] if part is not None else values[kind]
        return MappingProxyType(store)

    def _layer_inputs(self, inputs: Any, layer: int) -> torch.Tensor:
        if isinstance(inputs, np.ndarray):
            inputs = torch.from_numpy(inputs)
        if not isinstance(inputs, torch.Tensor) or not inputs.is_floating_point():
            raise TypeError(
                "inputs must be a float torch.Tensor or ndarray of shape (batch, steps, "
                f"input_size), got {getattr(inputs, 'dtype', type(inputs).__name__)}"
            )
        width = self._core.input_size(layer)
        if inputs.ndim != 3 or inputs.shape[-1] != width or 0 in inputs.shape[:2]:
            raise ValueError(
                f"inputs must have shape (batch >= 1, steps >= 1, input_size({layer})={width}), "
                f"got {tuple(inputs.shape)}"
            )
        return inputs.to(device=self.device, dtype=self.dtype)

    def _run_kinds(self, kinds: Any) -> tuple[str, ...]:
        if kinds is None:
            return self.kinds
        if isinstance(kinds, str) or not isinstance(kinds, Sequence) or not kinds:
            raise TypeError(f"kinds must be a non-empty list of kind names, got {kinds!r}")
        for kind in kinds:
            self._check_kind(kind)
        return tuple(kind for kind in self.kinds if kind in kinds)

    def _check_run_budget(self, kinds: tuple[str, ...], rows: int, budget: Any) -> None:
        budget = as_int(budget, "state_budget", minimum=0)
        size = torch.finfo(self.dtype).bits // 8 if self.dtype.is_floating_point else 4
        heavy = [
            (layer, kind)
            for layer in self.layers
            for kind in kinds
            if kind in self.values_per_channel(layer=layer)
        ]
        need = size * rows * sum(self.n_cells(layer=lay, kind=k) for lay, k in heavy)
        if need > budget:
            light = [k for k in kinds if all(k != kind for _, kind in heavy)]
            raise ValueError(
                f"run would need {need / (1 << 30):.1f} GiB for "
                f"{sorted({k for _, k in heavy})} over {rows:,} steps, past "
                f"state_budget={budget:,} bytes; pass kinds={light or ['h']!r} (or fewer "
                "sequences, or a larger state_budget)"
            )

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        """The model's outputs from the last layer's h.

        Parameters
        ----------
        h : Tensor, shape (..., n_features)
            The last layer's h (both directions concatenated for a bidirectional module).

        Returns
        -------
        Tensor, shape (..., n_outputs)
            The readout's outputs (logits), differentiable with respect to ``h``.

        """
        if self._readout is None:
            raise ValueError(
                "this model has no readout; wrap it as RecurrentModel(core, readout=nn.Linear("
                "...)) to read outputs"
            )
        if not isinstance(h, torch.Tensor):
            h = torch.as_tensor(np.asarray(h), dtype=self.dtype, device=self.device)
        self._check_width(h, self.n_features, "h", "n_features")
        with self.eval_mode():
            flat = self._readout(h.reshape(-1, h.shape[-1]))
        return flat.reshape(*h.shape[:-1], flat.shape[-1])

    # ------------------------------------------------------------------ passes over data

    @contextmanager
    def eval_mode(self) -> Iterator[None]:
        """Eval mode for a pass over data; every submodule's training flag restored afterwards.

        ``run``, ``encode``, ``readout`` and ``capture`` run inside it, so dropout is off; the
        flags come back also when the pass raises or is interrupted.

        Examples
        --------
        >>> model = RecurrentModel(nn.GRU(2, 3, dropout=0.0))
        >>> with model.eval_mode():
        ...     model.core.training
        False

        """
        roots = self._modules()
        saved = [(module, module.training) for root in roots for module in root.modules()]
        try:
            for root in roots:
                root.eval()
            yield
        finally:
            for module, training in saved:
                module.training = training

    def prepare(self, sequences: Any, name: str = "sequences") -> tuple[list[Prepared], bool]:
        """Check a batch (or one sequence) once, up front, as ``run`` and ``capture`` do.

        Parameters
        ----------
        sequences : sequence or batch
            As :meth:`run` reads it: one sequence or a batch of sequences.
        name : str
            How messages name the argument (``"sequences"`` gives ``sequences[2][7]: token
            'x' is not in the vocabulary``).

        Returns
        -------
        prepared : list of Prepared
            Per sequence, its token ids or input vectors and the tokens a trace shows.
        single : bool
            Whether ``sequences`` was one sequence rather than a batch.

        Raises
        ------
        TypeError, ValueError
            On a token missing from the vocabulary (named with its sequence and position), an
            id outside the embedding, vectors of the wrong width, or tokens without an
            embedding.

        """
        parsed, single = parse_batch(sequences, name)
        label = name if single else name + "[{}]"
        return [
            self.prepare_sequence(item, label.format(i)) for i, item in enumerate(parsed)
        ], single

    def prepare_sequence(self, sequence: Any, name: str = "sequence") -> Prepared:
        """Check one sequence, as :meth:`prepare` checks each sequence of a batch.

        Parameters
        ----------
        sequence : sequence
            Token strings, token ids, or a (steps, input_size) float array.
        name : str
            How messages name it (``"sequences[7]"``).

        Returns
        -------
        Prepared
            Its token ids or input vectors, and the tokens a trace shows.

        Raises
        ------
        TypeError, ValueError
            As :meth:`prepare`.

        """
        return prepare(
            sequence,
            name,
            vocab=self._vocab,
            input_size=self._core.input_size(0),
            has_embedding=self.embedding is not None,
            n_ids=self._n_ids(),
        )

    def embed(self, batch: Sequence[Prepared]) -> torch.Tensor:
        """The input vectors of prepared sequences, time-major and zero past each end.

        Parameters
        ----------
        batch : sequence of Prepared
            From :meth:`prepare`.

        Returns
        -------
        Tensor, shape (steps, batch, input_size)
            ``steps`` the longest length; on the model's device, in its dtype. Call it inside
            :meth:`eval_mode` and ``torch.no_grad()`` for a pass over data.

        """
        input_size = self._core.input_size(0)
        lengths = [len(p) for p in batch]
        steps = max(lengths)
        x = torch.zeros(steps, len(batch), input_size, dtype=self.dtype, device=self.device)
        with_ids = [b for b, p in enumerate(batch) if p.ids is not None]
        if with_ids:
            ids = np.zeros((steps, len(with_ids)), dtype=np.int64)
            for column, b in enumerate(with_ids):
                ids[: lengths[b], column] = batch[b].ids
            id_tensor = torch.from_numpy(ids).to(self.device)
            if self._one_hot:
                vectors = F.one_hot(id_tensor, input_size)
            else:
                vectors = self.embedding(id_tensor)
            if not isinstance(vectors, torch.Tensor) or tuple(vectors.shape) != (
                steps,
                len(with_ids),
                input_size,
            ):
                shape = tuple(getattr(vectors, "shape", ()))
                raise ValueError(
                    f"embedding maps ids of shape {tuple(ids.shape)} to shape {shape}, but "
                    f"the core reads {input_size} features; it must return (..., "
                    f"{input_size})"
                )
            for column, b in enumerate(with_ids):
                x[: lengths[b], b] = vectors[: lengths[b], column]
        for b, p in enumerate(batch):
            if p.vectors is not None:
                x[: lengths[b], b] = p.vectors
        if with_ids and not bool(torch.isfinite(x).all()):
            raise ValueError("embedding produced NaN or infinite vectors; check its weights")
        return x

    def forward_pass(self, kinds: Mapping[int, Sequence[str]], *, outputs: bool = True) -> Forward:
        """A configured forward pass without clamps, for a loop over batches such as capture's.

        Parameters
        ----------
        kinds : mapping of int to sequence of str
            The kinds to yield for each layer, e.g. ``{0: ("h", "c")}``.
        outputs : bool
            Whether to yield the outputs too (key ``"out"``): the readout's, else the last
            layer's h.

        Returns
        -------
        Forward
            ``forward.pieces(x, lengths)`` yields, for one batch embedded by :meth:`embed`,
            the values of each ``(layer, kind)`` for a run of steps of every sequence
            (``piece.key``, ``piece.t0``, ``piece.values`` of shape (steps, batch, n)), by
            the same exact path as :meth:`run`. Use it inside :meth:`eval_mode` and
            ``torch.no_grad()``.

        """
        for layer in kinds:
            self.check_layer(layer=layer, name="kinds layer")
        return Forward(self._core, kinds, self._readout, {}, outputs)

    def check_layer(self, *, layer: Any, name: str = "layer") -> int:
        """Return ``layer`` as one of this model's layers, or raise naming ``name``.

        The check every analysis applies to a layer argument of a model (one message shape,
        :func:`rnn_widgets._validation.as_layer`'s, with how a bidirectional module numbers
        its layers).

        Raises
        ------
        TypeError
            If ``layer`` is not an int.
        ValueError
            ``layer 2 is not a layer of the model; choose one of [0, 1]``.

        """
        hint = " (each direction of a bidirectional layer counts: 2 * l + d)"
        return as_layer(
            layer, self.layers, name, of="the model", hint=hint if self.directions == 2 else ""
        )

    # ------------------------------------------------------------------ internals

    def _check_kind(self, kind: Any) -> str:
        return as_kind(kind, "kind", kinds=self.kinds, of=f"this {self.family} model")

    def _check_materialised(self) -> None:
        """Refuse weights that hold no values (meta device, lazy modules) or sit apart.

        Found here, at wrap time, such weights would otherwise fail deep inside a pass with
        torch's own message.
        """
        named = {"core": self.core, "embedding": self.embedding, "readout": self._readout}
        devices: dict[str, torch.device] = {}
        for part, module in named.items():
            if not isinstance(module, nn.Module):
                continue
            tensors = [*module.named_parameters(), *module.named_buffers()]
            for name, tensor in tensors:
                if isinstance(tensor, (UninitializedParameter, UninitializedBuffer)):
                    raise ValueError(
                        f"{part}.{name} is not initialised (a lazy module that never ran); "
                        f"run the model once on an input, or load its weights, before wrapping"
                    )
                if tensor.is_meta:
                    raise ValueError(
                        f"{part}.{name} is on the meta device: it has a shape but no values; "
                        f"load the weights first, e.g. module.to_empty(device='cpu') then "
                        f"load_state_dict(...), or build the module on a real device"
                    )
            if tensors:
                devices[part] = tensors[0][1].device
        if len(set(devices.values())) > 1:
            where = ", ".join(f"{part} on {device}" for part, device in devices.items())
            raise ValueError(
                f"the model's parts are on different devices ({where}); move them to one, "
                "e.g. .to('cpu') on each"
            )

    def _check_fits(self) -> None:
        """Check that the embedding's and readout's widths fit the core, at wrap time.

        Each is run once on a tiny input (in eval mode, without gradients): the embedding on
        one id, the readout on one h of ``n_features``; a module built for other widths fails
        here with a message naming it and the width the core needs.
        """
        input_size = self._core.input_size(0)
        if isinstance(self.embedding, nn.Module) or (
            self.embedding is not None and not self._one_hot
        ):
            n_ids = self._n_ids()
            if self._vocab is not None and n_ids is not None and len(self._vocab) > n_ids:
                raise ValueError(
                    f"vocab has ids up to {len(self._vocab) - 1} but the embedding holds "
                    f"{n_ids} vectors (0 .. {n_ids - 1}); build it with num_embeddings >= "
                    f"{len(self._vocab)}"
                )
            ids = torch.zeros(1, 1, dtype=torch.int64, device=self.device)  # as embed calls it
            vectors = self._probe("embedding", self.embedding, ids, "reads (token ids)")
            shape = tuple(getattr(vectors, "shape", ()))
            if shape != (1, 1, input_size):
                raise ValueError(
                    f"embedding maps one id to shape {shape[2:]}, but the core reads "
                    f"{input_size} features; build it for the core, e.g. nn.Embedding(n_tokens, "
                    f"{input_size})"
                )
        if self._one_hot and self._vocab is not None and len(self._vocab) > input_size:
            raise ValueError(
                f"vocab has ids up to {len(self._vocab) - 1} but a one-hot embedding of the "
                f"core's {input_size} inputs encodes ids 0 .. {input_size - 1}; the core must "
                f"read {len(self._vocab)} features"
            )
        if self._readout is not None:
            width = self.n_features
            h = torch.zeros(1, width, dtype=self.readout_dtype, device=self.device)
            out = self._probe("readout", self._readout, h, "gives (its last h)")
            if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != 1:
                raise ValueError(
                    f"readout maps h of shape (1, {width}) to "
                    f"{tuple(getattr(out, 'shape', ())) or type(out).__name__}; it must return "
                    "(n, n_outputs), as nn.Linear does"
                )

    def _probe(self, part: str, module: Any, value: torch.Tensor, needs: str) -> Any:
        """``module(value)`` in eval mode; an exception becomes a ValueError naming ``part``."""
        try:
            with self.eval_mode(), torch.no_grad():
                return module(value)
        except Exception as error:  # a user's module: name it and the width, keep the cause
            if part == "readout":
                width = self.n_features
                fix = f"the core's last layer gives {width} features, so build it as "
                fix += f"nn.Linear({width}, n_outputs)"
            else:
                width = self._core.input_size(0)
                fix = f"the core reads {width} features, so build it as "
                fix += f"nn.Embedding(n_tokens, {width})"
            raise ValueError(
                f"{part} does not fit the core: it must take what the core {needs}, but on an "
                f"input of shape {tuple(value.shape)} it raised {type(error).__name__}: {error}; "
                f"{fix}"
            ) from error

    def _modules(self) -> list[nn.Module]:
        candidates = [self.core, self.embedding, self._readout]
        return [m for m in candidates if isinstance(m, nn.Module)]

    @staticmethod
    def _check_width(value: Any, width: int, name: str, what: str) -> None:
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
        if value.ndim == 0 or value.shape[-1] != width:
            raise ValueError(
                f"{name} must have shape (..., {what}={width}), got {tuple(value.shape)}"
            )

    def _n_ids(self) -> int | None:
        if self._one_hot:
            return self._core.input_size(0)
        count = getattr(self.embedding, "num_embeddings", None)
        return int(count) if isinstance(count, int) else None

    def _parse_clamp(
        self, clamp: Any, lengths: np.ndarray, single: bool
    ) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
        """``{layer: (mask, values)}`` over the flat state, from ``{layer: {cell: value}}``.

        ``mask`` has shape (state_size,). ``values`` has shape (state_size,) when every value
        is a number, else (steps, batch, state_size), time-major like the forward pass.
        """
        if clamp is None:
            return {}
        if not isinstance(clamp, Mapping):
            raise TypeError(
                "clamp must map layers to {cell: value}, e.g. {0: {3: 0.0}}, got "
                f"{type(clamp).__name__}"
            )
        result = {}
        for layer_key, cells in clamp.items():
            layer = self.check_layer(layer=layer_key, name="clamp layer")
            if not isinstance(cells, Mapping):
                raise TypeError(
                    f"clamp[{layer}] must map cells to values, e.g. {{3: 0.0}}, got "
                    f"{type(cells).__name__}"
                )
            if not cells:
                continue
            n_cells = self._core.n_cells(layer)
            size = self._core.state_size(layer)
            parsed = {}
            for cell_key, value in cells.items():
                cell = as_int(cell_key, f"clamp[{layer}] cell")
                if not 0 <= cell < n_cells:
                    raise ValueError(
                        f"clamp[{layer}]: cell {cell} does not exist; layer {layer} has cells "
                        f"0 .. {n_cells - 1}"
                    )
                parsed[cell] = _clamp_value(value, f"clamp[{layer}][{cell}]", lengths, single)
            mask = torch.zeros(size, dtype=torch.bool, device=self.device)
            per_step = any(isinstance(v, np.ndarray) for v in parsed.values())
            shape = (int(lengths.max()), len(lengths), size) if per_step else (size,)
            values = torch.zeros(shape, dtype=self.dtype, device=self.device)
            for cell, value in parsed.items():
                column = torch.as_tensor(value.T if isinstance(value, np.ndarray) else value)
                for position in self._core.clamp_positions(layer, cell):
                    mask[position] = True
                    values[..., position] = column
            result[layer] = (mask, values)
        return result


def _clamp_value(value: Any, name: str, lengths: np.ndarray, single: bool) -> float | np.ndarray:
    """One clamp value: a finite float, or per-step values as a (batch, steps) float64 array.

    Values past a sequence's length are ignored (set to zero); the ones inside must be finite.
    """
    if isinstance(value, (torch.Tensor, np.ndarray)) and value.ndim == 0:
        value = value.item()
    if isinstance(value, str) or not isinstance(value, (torch.Tensor, np.ndarray, Sequence)):
        return as_float(value, name)
    array = to_numpy(value)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"{name} must be a number or an array of numbers, got dtype {array.dtype}")
    steps = int(lengths.max())
    expected = (steps,) if single else (len(lengths), steps)
    if array.shape != expected:
        form = "(steps,) for one sequence" if single else "(batch, steps) for a batch"
        raise ValueError(
            f"{name} must be a number or per-step values of shape {form}, here {expected}; "
            f"got shape {array.shape}"
        )
    array = np.array(array, dtype=np.float64).reshape(len(lengths), steps)
    valid = np.arange(steps)[None, :] < lengths[:, None]
    bad = valid & ~np.isfinite(array)
    if bad.any():
        row, step = (int(i) for i in np.argwhere(bad)[0])
        where = f"step {step}" if single else f"sequence {row}, step {step}"
        raise ValueError(f"{name} must be finite, got {array[row, step]} at {where}")
    return np.where(valid, array, 0.0)


def _state_order(key: tuple[int, str]) -> tuple[int, int]:
    layer, kind = key
    return layer, KNOWN_KINDS.index(kind) if kind in KNOWN_KINDS else len(KNOWN_KINDS)


def as_model(model: Any, name: str = "model") -> RecurrentModel:
    """The one coercion of a model argument: a `RecurrentModel` as it is, a bare module wrapped.

    Every public function that takes a model reads it through this, so each accepts the same
    things: a :class:`RecurrentModel`, or a bare ``nn.LSTM``, ``nn.GRU``, ``nn.RNN``,
    :class:`MinGRU`, :class:`MinLSTM`, or Hugging Face ``MambaModel`` or ``MambaForCausalLM``
    (wrapped with :func:`wrap`).

    Parameters
    ----------
    model : RecurrentModel, nn.LSTM, nn.GRU, nn.RNN, MinGRU, MinLSTM, MambaModel or MambaForCausalLM
        The model argument as the user passed it.
    name : str
        How the message names the argument.

    Raises
    ------
    TypeError
        For anything else, naming ``name`` and how to wrap a model with an embedding and a
        readout; for another ``transformers`` model, listing the supported ones.
    ImportError
        For a ``transformers`` model when ``transformers`` cannot be imported, naming the
        ``hf`` extra.

    """
    if isinstance(model, (RecurrentModel, nn.LSTM, nn.GRU, nn.RNN, MinRNNBase)):
        return wrap(model)
    if is_transformers_model(model):
        return wrap(model)
    raise TypeError(
        f"{name} must be a RecurrentModel or an nn.LSTM, nn.GRU or nn.RNN (or a MinGRU, "
        f"MinLSTM, or Hugging Face MambaModel or MambaForCausalLM), got "
        f"{type(model).__name__}; wrap a model with an embedding and a readout as "
        "RecurrentModel(model.rnn, embedding=model.embed, readout=model.fc, vocab=...), a "
        "custom cell as RecurrentModel(cell)"
    )


def wrap(module: Any) -> RecurrentModel:
    """Wrap a bare ``nn.LSTM``, ``nn.GRU``, ``nn.RNN``, `MinGRU`, `MinLSTM`, or a Mamba.

    A torch module or min-RNN has no embedding, readout or vocab. A Hugging Face
    ``MambaModel`` or ``MambaForCausalLM`` (``transformers``, the ``hf`` extra) keeps its own
    embedding and readout (see :class:`RecurrentModel`), and no vocab (read token ids).

    A `RecurrentModel` is returned unchanged. For a model with an embedding and a readout,
    build ``RecurrentModel(core, embedding=..., readout=..., vocab=...)`` instead.

    Raises
    ------
    TypeError
        If ``module`` is not recurrent; for another ``transformers`` model, listing the ones
        supported.
    ImportError
        For a ``transformers`` model when ``transformers`` cannot be imported, naming the
        ``hf`` extra (``pip install 'rnn_widgets[hf]'``).

    """
    if isinstance(module, RecurrentModel):
        return module
    if isinstance(module, (nn.LSTM, nn.GRU, nn.RNN, MinRNNBase)) or is_transformers_model(module):
        return RecurrentModel(module)
    raise TypeError(
        f"wrap expects an nn.LSTM, nn.GRU or nn.RNN (or a MinGRU, MinLSTM, or Hugging Face "
        f"MambaModel or MambaForCausalLM), got "
        f"{type(module).__name__}; for a model "
        "with an embedding and a readout, use RecurrentModel(model.rnn, embedding=model.embed, "
        "readout=model.fc, vocab=...) with its own attribute names; for a custom cell, "
        "RecurrentModel(cell) (see RecurrentCell)"
    )
