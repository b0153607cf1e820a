"""Mamba (Gu & Dao 2023): Hugging Face's ``MambaModel`` and ``MambaForCausalLM`` as cores.

A Mamba layer is a residual block around a selective state-space model (SSM), as in the
paper [1]_ (section 3, algorithm 2) and in ``transformers``' pure-PyTorch path
(``models/mamba/modeling_mamba.py``: ``MambaBlock``, ``MambaMixer``, ``MambaRMSNorm``) [2]_.
Nothing here calls that path: the equations below are written out from the module's own
weights, one layer at a time, so every per-step quantity can be read; the tests check them
against the module's ``output_hidden_states`` and logits, and against a float64 reference.

The equations of layer ``l`` at step ``t``
-------------------------------------------
With ``r_t`` the layer's input (the residual stream: the embedding for layer 0, else layer
``l - 1``'s ``h``), ``D_m`` = ``hidden_size``, ``D`` = ``intermediate_size`` (channels), ``N`` =
``state_size``, ``K`` = ``conv_kernel``::

    n_t       = RMSNorm(r_t)                       = w_norm * r_t / sqrt(mean(r_t^2) + eps)
    (v_t, z_t) = in_proj(n_t)                       two halves of D channels each
    x_t       = act(Σ_{k<K} w_conv[:, k] * v_{t-K+1+k} + b_conv)   depthwise causal conv
    (δ_t, B_t, C_t) = x_proj(x_t)                   rank R, N, N
    Δ_t       = softplus(dt_proj(δ_t))              one step size per channel
    s_t[d, n] = exp(Δ_t[d] A[d, n]) s_{t-1}[d, n] + Δ_t[d] B_t[n] x_t[d],   A = -exp(A_log)
    y_t[d]    = (Σ_n C_t[n] s_t[d, n] + D[d] x_t[d]) * silu(z_t[d])
    h_t       = r_t + out_proj(y_t)

``act`` is the mixer's activation (``config.hidden_act``, SiLU by default), ``v`` is zero before
the first step and ``s_0 = 0``. This is the zero-order-hold discretisation of ``A`` with the
simplified ``B̄ = Δ B`` the paper's implementation uses (section 3.5 and appendix).

Kinds, cell groups and the flat state
-------------------------------------
Each layer records these kinds; a **channel** is one of the ``D`` channels of the SSM:

=========  ============  ===========  ================================================
kind       width         cell group   what it is
=========  ============  ===========  ================================================
``h``      ``D_m``       ``model``    the block's output ``h_t`` (the residual stream
                                      after the block: what layer ``l + 1`` reads, and
                                      ``output_hidden_states[l]`` of ``transformers``)
``x``      ``D``         ``channels`` the convolution's output ``x_t``, the SSM's input
``delta``  ``D``         ``channels`` the step size ``Δ_t``
``y``      ``D``         ``channels`` the gated SSM output ``y_t`` (before ``out_proj``)
``conv``   ``D (K-1)``   ``conv``     the convolution's state: ``v_{t-K+2} .. v_t`` of
                                      each channel, oldest first (channel-major)
``ssm``    ``D N``       ``state``    the SSM state ``s_t``, flattened channel-major:
                                      column ``d N + n`` is ``s_t[d, n]``
=========  ============  ===========  ================================================

The **flat state** that :meth:`MambaCore.step` carries is ``(h, conv, ssm)``, of width
``D_m + D (K - 1) + D N``: the convolution's last inputs and the SSM state are the whole
recurrent state, and ``h`` is carried along (it never feeds the next step) so that the state
names the block output the analyses project on (fixed points, line attractors). The
**cells** of a layer, which ``RecurrentModel.run(clamp=...)`` and ``ablate`` address, are its
``D`` channels: clamping channel ``d`` forces the ``N`` values ``s[d, :]`` of the SSM state.

Float inputs
------------
A ``MambaModel`` reads token ids through its embedding, or vectors of ``hidden_size`` through
``inputs_embeds``. :class:`ProjectedMamba` wraps one with a linear projection from
``n_inputs`` float features to ``hidden_size`` and calls it with ``inputs_embeds``; as a core
its layer 0 reads the raw input ``u_t`` (``input_size(0) = n_inputs``) and its residual stream
starts at ``r_t = W_p u_t + b_p``. So ``run``, ``capture``, ``step`` and the analyses that
differentiate the step by its input (Jacobians, fixed points under a constant input) see the
task's own inputs, as for the other families.

The pass that capture and unclamped runs take
----------------------------------------------
One layer at a time, in blocks of steps (:data:`BLOCK_ROWS` rows of steps x sequences): the
projections, the convolution and ``Δ`` are batched matrix products over a block; the SSM is
a loop over steps of one fused multiply-add on a ``(batch, D, N)`` tensor, in sub-chunks of
:data:`SCAN_CHUNK_VALUES` values whose buffer *is* the recorded ``ssm`` (so the state of every
step costs no extra pass); ``y`` is one batched contraction of that buffer with ``C``. Memory
stays at about one block, however long the sequences. The step (:meth:`MambaCore.step`)
computes the same equations one step at a time, differentiable and free of in-place
operations, for ``torch.func``.

Training: :func:`mamba_forward`
-------------------------------
``transformers``' pure-PyTorch path scans by indexing one step at a time out of
whole-sequence tensors, and the backward pass of each index allocates a gradient of the whole
sequence: quadratic in the steps (measured on one CPU thread: 1.19 s backward against 0.075 s
forward for 64 sequences of 100 steps, ``hidden_size`` 32, one layer). :func:`mamba_forward`
computes the module's output by the equations above with the steps unbound once and the
states stacked once, so its backward is linear in the steps; the tests check it against the
module's own output and gradients.

Precision and devices
---------------------
The model is computed in its own dtype, float32 or float64; half precision is refused (the
SSM state's sums lose it over long sequences), with the fix ``model.float()``. In float64 the
RMS norm and the residual stay float64 (``transformers`` computes the norm in float32 and,
with ``residual_in_fp32``, the residual too, whatever the model's dtype), so a float64 model
gives the float64 reference that a float32 one is checked against. A model on a GPU is
computed there (the pass uses only torch operations); capture copies each piece of states
to the CPU as it comes.

References
----------
.. [1] Gu, A., & Dao, T. (2023). Mamba: Linear-time sequence modeling with selective state
   spaces. arXiv:2312.00752.
.. [2] Wolf, T., Debut, L., Sanh, V., et al. (2020). Transformers: State-of-the-art natural
   language processing. Proceedings of EMNLP 2020: System Demonstrations, 38-45.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Generator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from .._validation import as_int
from ._cores import Piece

__all__ = [
    "BLOCK_ROWS",
    "HF_EXTRA",
    "SCAN_CHUNK_VALUES",
    "SUPPORTED_TRANSFORMERS_MODELS",
    "MambaCore",
    "ProjectedMamba",
    "is_transformers_model",
    "mamba_forward",
    "require_transformers",
    "transformers_available",
]

#: How to install the optional dependency that Hugging Face models need.
HF_EXTRA = "pip install 'rnn_widgets[hf]'"

#: The ``transformers`` model classes that ``wrap`` and ``RecurrentModel`` recognise.
SUPPORTED_TRANSFORMERS_MODELS: tuple[str, ...] = ("MambaModel", "MambaForCausalLM")

#: About this many rows (steps x sequences) of a layer are projected at once.
BLOCK_ROWS = 1 << 13

#: About this many SSM values (steps x sequences x channels x state_size) are scanned at once.
SCAN_CHUNK_VALUES = 1 << 20

_SUPPORTED_DTYPES = (torch.float32, torch.float64)

#: The kinds of a Mamba layer and their cell groups (see the module docstring).
KIND_GROUPS: dict[str, str] = {
    "h": "model",
    "x": "channels",
    "delta": "channels",
    "y": "channels",
    "conv": "conv",
    "ssm": "state",
}


def is_transformers_model(value: Any) -> bool:
    """Whether ``value`` is a torch module defined by Hugging Face ``transformers``.

    Read from the class's module name, so it needs no ``transformers`` import. A
    :class:`ProjectedMamba` counts as one: it is a ``transformers`` model read through a
    projection.
    """
    if isinstance(value, ProjectedMamba):
        return True
    if not isinstance(value, nn.Module):
        return False
    return any(cls.__module__.split(".")[0] == "transformers" for cls in type(value).__mro__)


def transformers_available() -> bool:
    """Whether ``transformers`` can be found by an import, without importing it (fast)."""
    try:
        return importlib.util.find_spec("transformers") is not None
    except (ImportError, ValueError):  # a broken install, or a module without a spec
        return False


def require_transformers() -> ModuleType:
    """``transformers``' Mamba module, or an ImportError naming the extra to install.

    Returns
    -------
    module
        ``transformers.models.mamba.modeling_mamba``.

    Raises
    ------
    ImportError
        ``Hugging Face models need the optional dependency transformers: pip install
        'rnn_widgets[hf]'``.

    """
    try:
        from transformers.models.mamba import modeling_mamba
    except ImportError as error:
        raise ImportError(
            f"Hugging Face models need the optional dependency transformers: {HF_EXTRA}"
        ) from error
    return modeling_mamba


class ProjectedMamba(nn.Module):
    """A Hugging Face Mamba reading float input vectors through a linear projection.

    ``forward(inputs)`` calls the model with ``inputs_embeds = projection(inputs)``, so a task
    whose steps are vectors (the flip-flop's pulses, a sensor's readings) drives the residual
    stream directly; the model's token embedding is never read. ``rw.wrap`` and
    ``RecurrentModel`` read it as a Mamba whose layer 0 takes ``n_inputs`` features (see the
    module docstring).

    Parameters
    ----------
    model : MambaModel or MambaForCausalLM
        Built by ``transformers``; its readout (final norm, and ``lm_head`` for a causal LM)
        stays the readout.
    n_inputs : int
        The width of one input vector.
    bias : bool
        Whether the projection has a bias.

    Attributes
    ----------
    projection : nn.Linear
        From ``n_inputs`` to the model's ``hidden_size``.
    model : MambaModel or MambaForCausalLM

    Raises
    ------
    ImportError
        Without ``transformers`` (naming :data:`HF_EXTRA`).
    TypeError
        If ``model`` is not a ``MambaModel`` or ``MambaForCausalLM``, or ``n_inputs`` not an
        int.
    ValueError
        If ``n_inputs < 1``.

    Examples
    --------
    >>> from transformers import MambaConfig, MambaModel
    >>> mamba = MambaModel(MambaConfig(hidden_size=16, state_size=4, num_hidden_layers=2))
    >>> model = rw.wrap(ProjectedMamba(mamba, n_inputs=3))
    >>> model.input_size(layer=0), model.input_size(layer=1)
    (3, 16)

    """

    def __init__(self, model: nn.Module, n_inputs: int, *, bias: bool = True) -> None:
        super().__init__()
        hf = require_transformers()
        if not isinstance(model, (hf.MambaModel, hf.MambaForCausalLM)):
            raise TypeError(
                f"ProjectedMamba wraps a transformers MambaModel or MambaForCausalLM, got "
                f"{type(model).__name__}"
            )
        n_inputs = as_int(n_inputs, "n_inputs", minimum=1)
        hidden = int(model.config.hidden_size)
        reference = next(model.parameters())
        self.projection = nn.Linear(
            n_inputs, hidden, bias=bias, dtype=reference.dtype, device=reference.device
        )
        self.model = model

    @property
    def n_inputs(self) -> int:
        """The width of one input vector."""
        return int(self.projection.in_features)

    def forward(self, inputs: torch.Tensor, **kwargs: Any) -> Any:
        """The model's output on ``inputs`` of shape (batch, steps, n_inputs).

        ``kwargs`` go to the model (``output_hidden_states=True``, ``use_cache=False`` ...).
        """
        return self.model(inputs_embeds=self.projection(inputs), **kwargs)


@dataclass(frozen=True)
class _Weights:
    """One layer's tensors, the module's own (not copies), with ``A = -exp(A_log)``."""

    norm: torch.Tensor
    eps: float
    in_proj: nn.Linear
    conv_weight: torch.Tensor  # (D, K)
    conv_bias: torch.Tensor | None
    act: Any
    x_proj: nn.Linear
    dt_proj: nn.Linear
    a: torch.Tensor  # (D, N)
    d: torch.Tensor  # (D,)
    out_proj: nn.Linear


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """``weight * x / sqrt(mean(x^2) + eps)`` over the last axis, in ``x``'s dtype.

    Parameters
    ----------
    x : Tensor, shape (..., D_m)
        The residual stream.
    weight : Tensor, shape (D_m,)
        The norm's gain.
    eps : float
        Added to the mean square.

    Returns
    -------
    Tensor, shape (..., D_m)

    """
    return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def causal_conv(
    window: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
) -> torch.Tensor:
    """A depthwise causal convolution over time-major ``window``, before the activation.

    Parameters
    ----------
    window : Tensor, shape (K - 1 + steps, batch, D)
        The ``K - 1`` inputs before the first step (zeros at a sequence's start), then the
        inputs of ``steps`` steps.
    weight : Tensor, shape (D, K)
        ``conv1d.weight[:, 0]``; as ``F.conv1d`` (a cross-correlation), ``weight[:, K - 1]``
        multiplies the current input.
    bias : Tensor, shape (D,), or None
        ``conv1d.bias`` (None with ``use_conv_bias=False``).

    Returns
    -------
    Tensor, shape (steps, batch, D)

    """
    kernel = weight.shape[1]
    steps = window.shape[0] - kernel + 1
    out = window[:steps] * weight[:, 0]
    for k in range(1, kernel):
        out = out.addcmul_(window[k : k + steps], weight[:, k])
    return out if bias is None else out.add_(bias)


class MambaCore:
    """A Hugging Face ``MambaModel`` or ``MambaForCausalLM`` as a core: one layer per block.

    Parameters
    ----------
    model : MambaModel, MambaForCausalLM or ProjectedMamba
        Built by ``transformers`` (from a config or with loaded weights), float32 or float64,
        on any device; its blocks must be ``transformers``' own ``MambaBlock`` (``MambaRMSNorm``
        and ``MambaMixer``). A :class:`ProjectedMamba` is read as the model it wraps, with
        its projection in front of layer 0.

    Attributes
    ----------
    embedding : nn.Embedding or None
        The model's token embedding, which layer 0 reads; None for a ProjectedMamba, whose
        layer 0 reads float vectors through ``projection``.
    projection : nn.Linear or None
        A ProjectedMamba's projection of its float inputs to ``hidden_size``.
    readout : nn.Module
        What the last layer's ``h`` goes through: the final norm and ``lm_head`` for a
        ``MambaForCausalLM`` (its logits), the final norm for a ``MambaModel`` (its
        ``last_hidden_state``).

    Raises
    ------
    ImportError
        Without ``transformers`` (naming :data:`HF_EXTRA`).
    TypeError
        For another ``transformers`` model (listing the supported ones), a block, mixer or
        norm of another class (named with its layer), or weights in half precision or of
        mixed dtypes (with the fix).
    ValueError
        For a configuration whose equations are not the ones above (``conv_kernel < 2``, no
        layers).

    """

    is_cell = False
    directions = 1
    family = "mamba"
    kinds: tuple[str, ...] = tuple(KIND_GROUPS)

    def __init__(self, model: nn.Module) -> None:
        hf = require_transformers()
        self.projection: nn.Linear | None = None
        outer = model
        if isinstance(model, ProjectedMamba):
            self.projection = model.projection
            model = model.model
        name = type(model).__name__
        if isinstance(model, hf.MambaForCausalLM):
            backbone = model.backbone
            self.readout: nn.Module = nn.Sequential(backbone.norm_f, model.lm_head)
        elif isinstance(model, hf.MambaModel):
            backbone = model
            self.readout = backbone.norm_f
        else:
            raise TypeError(
                f"rnn_widgets reads these Hugging Face transformers models: "
                f"{', '.join(SUPPORTED_TRANSFORMERS_MODELS)}; got {name}. Other families "
                "(attention, RWKV, Mamba-2, ...) have no adapter yet"
            )
        blocks = list(backbone.layers)
        if not blocks:
            raise ValueError(f"{name} has no layers (config.num_hidden_layers = 0)")
        for layer, block in enumerate(blocks):
            _check_block(hf, block, layer, name)
        if type(backbone.norm_f) is not hf.MambaRMSNorm:
            raise TypeError(
                f"{name}'s final norm is a {type(backbone.norm_f).__name__}, not transformers' "
                "MambaRMSNorm; rnn_widgets follows only the blocks transformers builds"
            )
        mixer = blocks[0].mixer
        if int(mixer.conv_kernel_size) < 2:
            raise ValueError(
                f"{name}: config.conv_kernel = {mixer.conv_kernel_size} is not supported (the "
                "convolution would keep no state); use conv_kernel >= 2"
            )
        if self.projection is not None and self.projection.out_features != mixer.hidden_size:
            raise ValueError(
                f"the ProjectedMamba's projection gives {self.projection.out_features} "
                f"features, but its {name} reads hidden_size = {mixer.hidden_size}"
            )
        _check_precision(outer, type(outer).__name__)
        self.module = outer
        self.backbone = backbone
        self.embedding: nn.Module | None = backbone.embeddings if self.projection is None else None
        self.blocks = blocks
        self.hidden_size = int(mixer.hidden_size)
        self.d_inner = int(mixer.intermediate_size)
        self.d_state = int(mixer.ssm_state_size)
        self.d_conv = int(mixer.conv_kernel_size)
        self.rank = int(mixer.time_step_rank)
        self.num_layers = self.n_layers = len(blocks)

    # ---------------------------------------------------------------- sizes

    def input_size(self, layer: int) -> int:
        """``hidden_size``; a ProjectedMamba's layer 0 reads ``n_inputs`` float features."""
        if layer == 0 and self.projection is not None:
            return int(self.projection.in_features)
        return self.hidden_size

    def n_cells(self, layer: int) -> int:
        """The layer's cells: its channels (``intermediate_size``), what a clamp addresses."""
        return self.d_inner

    def width(self, layer: int, kind: str) -> int:
        """The number of values ``kind`` has at one step (see the module docstring)."""
        per_channel = {"conv": self.d_conv - 1, "ssm": self.d_state}
        if kind == "h":
            return self.hidden_size
        return self.d_inner * per_channel.get(kind, 1)

    def cell_group(self, layer: int, kind: str) -> str:
        return KIND_GROUPS[kind]

    def values_per_channel(self, layer: int) -> dict[str, int]:
        """``{"conv": K - 1, "ssm": N}``: the kinds with several values per channel."""
        return {"conv": self.d_conv - 1, "ssm": self.d_state}

    def state_size(self, layer: int) -> int:
        return self.hidden_size + self.d_inner * (self.d_conv - 1 + self.d_state)

    def layout(self, layer: int) -> dict[str, slice]:
        """``h``, ``conv`` and ``ssm``, in this order, in the flat state."""
        conv = self.hidden_size + self.d_inner * (self.d_conv - 1)
        return {
            "h": slice(0, self.hidden_size),
            "conv": slice(self.hidden_size, conv),
            "ssm": slice(conv, self.state_size(layer)),
        }

    def clamp_positions(self, layer: int, cell: int) -> list[int]:
        """The ``N`` values of channel ``cell``'s SSM state, ``s[cell, :]``."""
        start = self.layout(layer)["ssm"].start + cell * self.d_state
        return list(range(start, start + self.d_state))

    @property
    def parameters(self) -> list[torch.Tensor]:
        return list(self.module.parameters())

    # ---------------------------------------------------------------- weights

    def weights(self, layer: int) -> _Weights:
        """One layer's tensors: the module's own (differentiable), and ``A = -exp(A_log)``."""
        block = self.blocks[layer]
        mixer = block.mixer
        return _Weights(
            norm=block.norm.weight,
            eps=float(block.norm.variance_epsilon),
            in_proj=mixer.in_proj,
            conv_weight=mixer.conv1d.weight[:, 0],
            conv_bias=mixer.conv1d.bias,
            act=mixer.act,
            x_proj=mixer.x_proj,
            dt_proj=mixer.dt_proj,
            a=-torch.exp(mixer.A_log),
            d=mixer.D,
            out_proj=mixer.out_proj,
        )

    def residual_input(self, layer: int, x: torch.Tensor) -> torch.Tensor:
        """The residual stream ``r`` a layer starts from, shape (..., hidden_size).

        ``x`` of shape (..., input_size(layer)) as it is, or through the projection for a
        ProjectedMamba's layer 0.
        """
        if layer == 0 and self.projection is not None:
            return self.projection(x)
        return x

    # ---------------------------------------------------------------- one step

    def step(
        self, state: torch.Tensor, x: torch.Tensor, layer: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """One step of one layer: the new flat state ``(h, conv, ssm)`` and every kind.

        Differentiable and free of in-place operations (for ``torch.func``); ``state`` of
        shape (..., state_size) and ``x`` of shape (..., hidden_size).
        """
        w = self.weights(layer)
        x = self.residual_input(layer, x)
        channels, n, lags = self.d_inner, self.d_state, self.d_conv - 1
        lead = state.shape[:-1]
        layout = self.layout(layer)
        conv_before = state[..., layout["conv"]].reshape(*lead, channels, lags)
        ssm_before = state[..., layout["ssm"]].reshape(*lead, channels, n)
        projected = w.in_proj(rms_norm(x, w.norm, w.eps))
        v, z = projected[..., :channels], projected[..., channels:]
        window = torch.cat([conv_before, v[..., None]], dim=-1)  # (..., D, K), oldest first
        pre = (window * w.conv_weight).sum(-1)
        u = w.act(pre if w.conv_bias is None else pre + w.conv_bias)
        rank_part, b, c = w.x_proj(u).split([self.rank, n, n], dim=-1)
        delta = F.softplus(w.dt_proj(rank_part))
        decay = torch.exp(delta[..., None] * w.a)
        ssm = decay * ssm_before + (delta[..., None] * b[..., None, :]) * u[..., None]
        y = ((ssm * c[..., None, :]).sum(-1) + u * w.d) * F.silu(z)
        h = x + w.out_proj(y)
        conv = window[..., 1:].reshape(*lead, channels * lags)
        flat_ssm = ssm.reshape(*lead, channels * n)
        values = {"h": h, "x": u, "delta": delta, "y": y, "conv": conv, "ssm": flat_ssm}
        return torch.cat([h, conv, flat_ssm], dim=-1), values

    # ---------------------------------------------------------------- the pass

    def layer_pieces(
        self, layer: int, x: torch.Tensor, kinds: Any
    ) -> Generator[Piece, None, torch.Tensor]:
        """Yield the wanted kinds of one layer over time-major ``x``; return its h (T, B, D_m).

        ``x`` is the layer's padded input, shape (steps, batch, hidden_size); padding past a
        sequence's end never reaches its earlier steps (everything is causal). See the module
        docstring for the blocks and the scan.
        """
        x = self.residual_input(layer, x)
        steps, batch, _ = x.shape
        w = self.weights(layer)
        wanted = set(kinds)
        channels, lags = self.d_inner, self.d_conv - 1
        h = torch.empty_like(x)
        tail = x.new_zeros(lags, batch, channels)  # v of the K - 1 steps before the block
        state = x.new_zeros(batch, channels, self.d_state)
        block = max(1, BLOCK_ROWS // batch)
        for t0 in range(0, steps, block):
            t1 = min(t0 + block, steps)
            projected = w.in_proj(rms_norm(x[t0:t1], w.norm, w.eps))
            v, z = projected[..., :channels], projected[..., channels:]
            window = torch.cat([tail, v], dim=0)
            if "conv" in wanted:
                lagged = window.unfold(0, lags, 1)[1:]  # (steps, B, D, K - 1), oldest first
                yield Piece((layer, "conv"), t0, lagged.reshape(t1 - t0, batch, -1))
            tail = window[t1 - t0 :]
            u = w.act(causal_conv(window, w.conv_weight, w.conv_bias))
            rank_part, b, c = w.x_proj(u).split([self.rank, self.d_state, self.d_state], dim=-1)
            delta = F.softplus(w.dt_proj(rank_part))
            for kind, values in (("x", u), ("delta", delta)):
                if kind in wanted:
                    yield Piece((layer, kind), t0, values)
            scanned = torch.empty_like(u)
            for s0, states in self._scan(w.a, delta, b, u, state):
                s1 = s0 + len(states)
                scanned[s0:s1] = (states @ c[s0:s1, :, :, None])[..., 0]
                if "ssm" in wanted:
                    yield Piece((layer, "ssm"), t0 + s0, states.view(s1 - s0, batch, -1))
                state = states[-1]
            y = scanned.addcmul_(u, w.d).mul_(F.silu(z))
            if "y" in wanted:
                yield Piece((layer, "y"), t0, y)
            torch.add(x[t0:t1], w.out_proj(y), out=h[t0:t1])
            if "h" in wanted:
                yield Piece((layer, "h"), t0, h[t0:t1])
        return h

    def sequence(self, layer: int, x: torch.Tensor) -> torch.Tensor:
        """One layer's ``h`` over time-major ``x`` (steps, batch, input_size), differentiable.

        The equations of the module docstring over whole sequences: projections, convolution
        and ``Δ`` batched over the steps, the scan a loop over the steps unbound once, the
        states stacked once, so the backward pass is linear in the steps (see
        :func:`mamba_forward`). No in-place operation touches a tensor autograd keeps.

        Returns
        -------
        Tensor, shape (steps, batch, hidden_size)

        """
        x = self.residual_input(layer, x)
        w = self.weights(layer)
        steps, batch, _ = x.shape
        channels, lags = self.d_inner, self.d_conv - 1
        projected = w.in_proj(rms_norm(x, w.norm, w.eps))
        v, z = projected[..., :channels], projected[..., channels:]
        window = torch.cat([v.new_zeros(lags, batch, channels), v], dim=0)
        pre = sum(window[k : k + steps] * w.conv_weight[:, k] for k in range(self.d_conv))
        u = w.act(pre if w.conv_bias is None else pre + w.conv_bias)
        rank_part, b, c = w.x_proj(u).split([self.rank, self.d_state, self.d_state], dim=-1)
        delta = F.softplus(w.dt_proj(rank_part))
        decay = torch.exp(delta[..., None] * w.a)  # (steps, batch, D, N)
        drive = (delta * u)[..., None] * b[:, :, None, :]
        state = x.new_zeros(batch, channels, self.d_state)
        states = []
        for decay_t, drive_t in zip(decay.unbind(0), drive.unbind(0), strict=True):
            state = torch.addcmul(drive_t, decay_t, state)
            states.append(state)
        read = (torch.stack(states) @ c[..., None])[..., 0]
        y = (read + u * w.d) * F.silu(z)
        return x + w.out_proj(y)

    def _scan(
        self,
        a: torch.Tensor,
        delta: torch.Tensor,
        b: torch.Tensor,
        u: torch.Tensor,
        state: torch.Tensor,
    ) -> Generator[tuple[int, torch.Tensor], None, None]:
        """The SSM states of a block, sub-chunk by sub-chunk: ``(s0, states (m, B, D, N))``.

        ``states[j] = exp(Δ_j A) states[j - 1] + Δ_j B_j x_j``, from ``state`` before the
        first; each yielded buffer is new, so a caller may keep its last state.
        """
        steps, batch, channels = u.shape
        chunk = max(1, SCAN_CHUNK_VALUES // (batch * channels * self.d_state))
        for s0 in range(0, steps, chunk):
            s1 = min(s0 + chunk, steps)
            step_size = delta[s0:s1, :, :, None]
            decay = torch.exp(step_size * a)
            states = (step_size * b[s0:s1, :, None, :]).mul_(u[s0:s1, :, :, None])
            previous = state
            for j in range(s1 - s0):
                states[j].addcmul_(decay[j], previous)
                previous = states[j]
            yield s0, states
            state = states[-1]


def mamba_forward(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """The output of a Mamba, by this module's equations: differentiable, linear in time.

    What the module itself returns (``last_hidden_state`` of a ``MambaModel``, ``logits`` of a
    ``MambaForCausalLM``, the wrapped model's of a :class:`ProjectedMamba`), computed as
    :meth:`MambaCore.sequence` does, so that training through it costs time linear in the
    steps (see the module docstring; ``transformers``' own pure-PyTorch backward is quadratic).
    Every sequence starts from the zero state.

    Parameters
    ----------
    model : MambaModel, MambaForCausalLM or ProjectedMamba
        As :class:`MambaCore` reads it.
    inputs : Tensor, shape (batch, steps) of token ids, or (batch, steps, n_inputs) of floats
        Token ids for a ``MambaModel`` or ``MambaForCausalLM``, float vectors for a
        ``ProjectedMamba``.

    Returns
    -------
    Tensor, shape (batch, steps, n_outputs)
        ``n_outputs`` is ``hidden_size`` for a ``MambaModel`` (its final norm's output), the
        vocabulary size for a ``MambaForCausalLM``.

    Raises
    ------
    ImportError
        Without ``transformers`` (naming :data:`HF_EXTRA`).

    """
    core = MambaCore(model)
    x = inputs if core.embedding is None else core.embedding(inputs)
    x = x.transpose(0, 1)
    for layer in range(core.n_layers):
        x = core.sequence(layer, x)
    return core.readout(x.transpose(0, 1))


def _check_block(hf: ModuleType, block: nn.Module, layer: int, name: str) -> None:
    """Refuse a block, mixer or norm that is not ``transformers``' own, naming it."""
    parts = (
        ("block", block, "MambaBlock"),
        ("mixer", getattr(block, "mixer", None), "MambaMixer"),
        ("norm", getattr(block, "norm", None), "MambaRMSNorm"),
    )
    for part, module, expected in parts:
        if type(module) is not getattr(hf, expected):
            raise TypeError(
                f"layer {layer} of the {name}: its {part} is a {type(module).__name__}, not "
                f"transformers' {expected}; rnn_widgets follows the equations of transformers' "
                "own Mamba blocks only (RMSNorm, MambaMixer, residual), so a replaced or "
                "subclassed block is not supported"
            )


def _check_precision(model: nn.Module, name: str) -> None:
    """Refuse half precision and mixed dtypes, with the fix."""
    dtypes = {p.dtype for p in model.parameters() if p.is_floating_point()}
    half = sorted(str(d) for d in dtypes if d not in _SUPPORTED_DTYPES)
    if half:
        raise TypeError(
            f"{name}'s weights are {', '.join(half)}: Mamba's SSM state loses its precision "
            "over long sequences there, so half precision is refused; cast the model with "
            "model.float() (or model.double())"
        )
    if len(dtypes) > 1:
        raise TypeError(
            f"{name} mixes weight dtypes {sorted(str(d) for d in dtypes)}; cast it to one with "
            "model.float() or model.double()"
        )
