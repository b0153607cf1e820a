"""Trained recurrent networks behind one interface, and capture of their states.

* :class:`RecurrentModel` -- an explicit wrapper (core, embedding, readout, vocabulary) with
  ``encode``, ``initial_state``, ``state_layout``, ``step``, ``gate_weights``, ``run`` and
  ``readout``: the only model interface the analyses rely on.
* :func:`wrap` -- a `RecurrentModel` around a bare ``nn.LSTM``, ``nn.GRU`` or ``nn.RNN``, a
  min-RNN, or a Hugging Face ``MambaModel`` or ``MambaForCausalLM``; :func:`as_model` -- the
  one coercion of a model argument that every public function uses.
* :class:`MinGRU`, :class:`MinLSTM` -- the minimal RNNs of Feng et al. (2024) [1]_, whose
  gates read only the input, computed by a log-space parallel scan; recognised as cores.
* Mamba (Gu & Dao 2023 [2]_) from Hugging Face ``transformers`` (the ``hf`` extra), recognised
  as a core: kinds ``h x delta y conv ssm`` of their own widths and cell groups, the state
  ``(h, conv, ssm)``; :func:`require_transformers` is the one import of it, naming the extra.
  :class:`ProjectedMamba` reads float input vectors through a linear projection
  (``inputs_embeds``); :func:`mamba_forward` is a Mamba's output with a backward pass linear
  in the steps, for training.
* :class:`RecurrentCell` -- the step protocol a user-written cell follows to be a core.
* :func:`capture` -- record every layer's ``h`` (and ``c`` and gates) over sequences into a
  :class:`~rnn_widgets.trace.Trace`.

References
----------
.. [1] Feng, L., Tung, F., Ahmed, M. O., Bengio, Y., & Hajimirsadeghi, H. (2024). Were RNNs all
   we needed? arXiv:2410.01201.
.. [2] Gu, A., & Dao, T. (2023). Mamba: Linear-time sequence modeling with selective state
   spaces. arXiv:2312.00752.
"""

from ._capture import capture
from ._mamba import ProjectedMamba, mamba_forward, require_transformers, transformers_available
from ._min_rnn import MinGRU, MinLSTM
from ._model import (
    GateWeights,
    RecurrentCell,
    RecurrentModel,
    RunResult,
    StateLayout,
    as_model,
    wrap,
)

__all__ = [
    "GateWeights",
    "MinGRU",
    "MinLSTM",
    "ProjectedMamba",
    "RecurrentCell",
    "RecurrentModel",
    "RunResult",
    "StateLayout",
    "as_model",
    "capture",
    "mamba_forward",
    "require_transformers",
    "transformers_available",
    "wrap",
]
