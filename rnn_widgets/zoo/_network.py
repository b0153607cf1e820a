"""`Network`: the one architecture every zoo model uses, and how it is rebuilt from its spec.

An optional embedding (token tasks), one ``nn.LSTM`` or ``nn.GRU`` (``batch_first``) and a
linear readout applied to every step's ``h``. A model is stored as its `Spec` (JSON, in the
metadata file) plus a ``state_dict`` (read with ``torch.load(..., weights_only=True)``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch
from torch import nn

from ..models import RecurrentModel

__all__ = ["Network", "Spec"]


@dataclass(frozen=True)
class Spec:
    """The architecture of a zoo network.

    Attributes
    ----------
    family : {"lstm", "gru"}
    n_inputs : int
        The width of a float input step, or the vocabulary size of a token task.
    hidden : int
        Cells per layer.
    layers : int
    n_outputs : int
    embedding_dim : int or None
        For token tasks, the embedding width; None for float inputs.

    """

    family: Literal["lstm", "gru"]
    n_inputs: int
    hidden: int
    layers: int
    n_outputs: int
    embedding_dim: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain JSON values."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Spec:
        """The spec written by `to_dict`."""
        return cls(**values)


class Network(nn.Module):
    """Embedding (optional), recurrent core, readout on every step.

    Parameters
    ----------
    spec : Spec

    """

    def __init__(self, spec: Spec) -> None:
        super().__init__()
        self.spec = spec
        self.embedding = (
            nn.Embedding(spec.n_inputs, spec.embedding_dim) if spec.embedding_dim else None
        )
        width = spec.embedding_dim or spec.n_inputs
        core_class = nn.LSTM if spec.family == "lstm" else nn.GRU
        self.core = core_class(width, spec.hidden, num_layers=spec.layers, batch_first=True)
        self.readout = nn.Linear(spec.hidden, spec.n_outputs)

    def forward(self, inputs: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        """Outputs of every step, shape (batch, steps, n_outputs), and the final state."""
        x = self.embedding(inputs) if self.embedding is not None else inputs
        h, state = self.core(x, state)
        return self.readout(h), state

    def recurrent_model(self, vocab: tuple[str, ...] | None = None) -> RecurrentModel:
        """The network behind rnn_widgets' model adapter (shares its modules, no copy)."""
        return RecurrentModel(
            self.core, embedding=self.embedding, readout=self.readout, vocab=vocab
        )
