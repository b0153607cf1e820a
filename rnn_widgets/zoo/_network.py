"""`Network`: the one architecture every zoo model uses, and how it is rebuilt from its spec.

An optional embedding (token tasks), one recurrent core (``nn.LSTM``, ``nn.GRU``, or the
minGRU / minLSTM stacks of Feng et al. 2024 [1]_, all ``batch_first``) and a linear readout applied
to every step's ``h``. A model is stored as its `Spec` (JSON, in the
metadata file) plus a ``state_dict`` (read with ``torch.load(..., weights_only=True)``).

References
----------
.. [1] Feng, L., Tung, F., Ahmed, M. O., Bengio, Y., & Hajimirsadeghi, H. (2024). Were RNNs
   all we needed? arXiv:2410.01201.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch
from torch import nn

from ..models import MinGRU, MinLSTM, RecurrentModel

__all__ = ["Network", "Spec"]

_CORES: dict[str, type[nn.Module]] = {
    "lstm": nn.LSTM,
    "gru": nn.GRU,
    "min_gru": MinGRU,
    "min_lstm": MinLSTM,
}


@dataclass(frozen=True)
class Spec:
    """The architecture of a zoo network.

    Attributes
    ----------
    family : {"lstm", "gru", "min_gru", "min_lstm"}
    n_inputs : int
        The width of a float input step, or the vocabulary size of a token task.
    hidden : int
        Cells per layer.
    layers : int
    n_outputs : int
    embedding_dim : int or None
        For token tasks, the embedding width; None for float inputs.

    """

    family: Literal["lstm", "gru", "min_gru", "min_lstm"]
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
        core_class = _CORES.get(spec.family)
        if core_class is None:
            raise ValueError(f"spec.family must be one of {sorted(_CORES)}, got {spec.family!r}")
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
