"""`Network`: the one architecture every zoo model uses, and how it is rebuilt from its spec.

An optional embedding (token tasks), one recurrent core (``nn.LSTM``, ``nn.GRU``, or the
minGRU / minLSTM stacks of Feng et al. 2024 [1]_, all ``batch_first``) and a linear readout applied
to every step's ``h``. A model is stored as its `Spec` (JSON, in the
metadata file) plus a ``state_dict`` (read with ``torch.load(..., weights_only=True)``).

A Mamba (Gu & Dao 2023 [2]_; family ``"mamba"``, the ``hf`` extra) is a Hugging Face
``MambaModel`` built from a ``MambaConfig`` (never downloaded): for a token task it reads the
ids through its own embedding (``embedding_dim`` is its ``hidden_size``), for float inputs it
is a `ProjectedMamba` (a linear projection to ``hidden_size`` in front of layer 0). The readout
reads the model's final norm of the last layer's ``h``, as the model's own output does; the
network computes it with `mamba_forward`, whose backward pass is linear in the steps.

References
----------
.. [1] Feng, L., Tung, F., Ahmed, M. O., Bengio, Y., & Hajimirsadeghi, H. (2024). Were RNNs
   all we needed? arXiv:2410.01201.
.. [2] Gu, A., & Dao, T. (2023). Mamba: Linear-time sequence modeling with selective state
   spaces. arXiv:2312.00752.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch
from torch import nn

from ..models import (
    MinGRU,
    MinLSTM,
    ProjectedMamba,
    RecurrentModel,
    mamba_forward,
    require_transformers,
    transformers_available,
)

__all__ = ["Network", "Spec", "loadable"]

_CORES: dict[str, type[nn.Module]] = {
    "lstm": nn.LSTM,
    "gru": nn.GRU,
    "min_gru": MinGRU,
    "min_lstm": MinLSTM,
}

#: Every family a zoo network can have.
_FAMILIES: tuple[str, ...] = (*_CORES, "mamba")

#: A zoo Mamba's ``expand`` (channels per ``hidden_size``) and ``conv_kernel``: the paper's.
_MAMBA_EXPAND = 2
_MAMBA_CONV_KERNEL = 4


def loadable(family: str) -> bool:
    """Whether this install can build a network of ``family`` (a Mamba needs ``transformers``)."""
    return family != "mamba" or transformers_available()


@dataclass(frozen=True)
class Spec:
    """The architecture of a zoo network.

    Attributes
    ----------
    family : {"lstm", "gru", "min_gru", "min_lstm", "mamba"}
    n_inputs : int
        The width of a float input step, or the vocabulary size of a token task.
    hidden : int
        Cells per layer; for a Mamba its ``hidden_size`` (the residual stream's width; its
        SSM has ``2 * hidden`` channels).
    layers : int
    n_outputs : int
    embedding_dim : int or None
        For token tasks, the embedding width (a Mamba's is ``hidden``); None for float inputs.
    state_size : int or None
        A Mamba's ``state_size``, the SSM state per channel; None for the other families.

    """

    family: Literal["lstm", "gru", "min_gru", "min_lstm", "mamba"]
    n_inputs: int
    hidden: int
    layers: int
    n_outputs: int
    embedding_dim: int | None = None
    state_size: int | None = None

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

    Raises
    ------
    ImportError
        For a Mamba when ``transformers`` is not installed, naming the ``hf`` extra.

    """

    def __init__(self, spec: Spec) -> None:
        super().__init__()
        self.spec = spec
        if spec.family == "mamba":
            self.embedding = None
            self.core = _mamba_core(spec)
            self.readout = nn.Linear(spec.hidden, spec.n_outputs)
            return
        self.embedding = (
            nn.Embedding(spec.n_inputs, spec.embedding_dim) if spec.embedding_dim else None
        )
        width = spec.embedding_dim or spec.n_inputs
        core_class = _CORES.get(spec.family)
        if core_class is None:
            raise ValueError(f"spec.family must be one of {list(_FAMILIES)}, got {spec.family!r}")
        self.core = core_class(width, spec.hidden, num_layers=spec.layers, batch_first=True)
        self.readout = nn.Linear(spec.hidden, spec.n_outputs)

    def forward(self, inputs: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        """Outputs of every step, shape (batch, steps, n_outputs), and the final state.

        A Mamba starts every sequence from the zero state and returns None as its state.
        """
        if self.spec.family == "mamba":
            if state is not None:
                raise ValueError("a zoo Mamba starts from the zero state; pass state=None")
            return self.readout(mamba_forward(self.core, inputs)), None
        x = self.embedding(inputs) if self.embedding is not None else inputs
        h, state = self.core(x, state)
        return self.readout(h), state

    def recurrent_model(self, vocab: tuple[str, ...] | None = None) -> RecurrentModel:
        """The network behind rnn_widgets' model adapter (shares its modules, no copy)."""
        if self.spec.family == "mamba":
            # The model's own final norm, then the readout: what forward computes.
            hf_model = self.core.model if isinstance(self.core, ProjectedMamba) else self.core
            readout = nn.Sequential(hf_model.norm_f, self.readout)
            return RecurrentModel(self.core, readout=readout, vocab=vocab)
        return RecurrentModel(
            self.core, embedding=self.embedding, readout=self.readout, vocab=vocab
        )


def _mamba_core(spec: Spec) -> nn.Module:
    """A ``MambaModel`` of ``spec`` (token ids), or a `ProjectedMamba` around one (floats)."""
    hf = require_transformers()
    if spec.state_size is None:
        raise ValueError("a Mamba spec needs state_size (the SSM state per channel)")
    if spec.embedding_dim is not None and spec.embedding_dim != spec.hidden:
        raise ValueError(
            f"a Mamba reads its tokens through its own embedding of hidden_size = {spec.hidden}; "
            f"embedding_dim must be {spec.hidden} (or None for float inputs), got "
            f"{spec.embedding_dim}"
        )
    tokens = spec.embedding_dim is not None
    config = hf.MambaConfig(
        vocab_size=spec.n_inputs if tokens else 1,  # float inputs never read the embedding
        hidden_size=spec.hidden,
        state_size=spec.state_size,
        num_hidden_layers=spec.layers,
        expand=_MAMBA_EXPAND,
        conv_kernel=_MAMBA_CONV_KERNEL,
    )
    model = hf.MambaModel(config)
    return model if tokens else ProjectedMamba(model, spec.n_inputs)
