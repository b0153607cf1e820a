"""Layers that are linear in their state for a fixed input: ``h' = a(x) * h + b(x)``.

minGRU and minLSTM (Feng et al. 2024 [1]_) read their gates from the input alone, so for a
fixed input ``x`` one step of a layer is elementwise affine in its state::

    h' = a(x) * h + b(x),    a = σ(-u),  b = σ(u) g(p)    (u, p linear in x)

with ``a = 1 - z`` for minGRU and ``a = f'`` (the normalised forget gate) for minLSTM. Under a
constant input the layer has the one fixed point ``h* = b / (1 - a)`` (for these two,
``g(p)``: the candidate), its Jacobian is ``diag(a)`` and its eigenvalues are ``a``; how long a
cell remembers at a step is the time constant ``-1 / log a(x_t)``. Mamba's selective state
space layer (Gu & Dao 2023 [2]_) has the same form per channel and state dimension,
``s' = exp(Δ A) * s + Δ B x``, with ``Δ`` read from a short convolution over past inputs.

The plug-in point
-----------------
What the analyses need of such a family is one :class:`LinearFamily` in
:data:`LINEAR_FAMILIES`, keyed by ``RecurrentModel.family``:

* ``recurrence(model, layer, x) -> (log_a, b)``: the decay's logarithm and the drive, each
  (batch, state_size), float64, for inputs (batch, input_size(layer)), such that the layer's
  step is exactly ``h' = exp(log_a) * h + b``. ``log a`` rather than ``a``: ``1 - a =
  -expm1(log a)`` keeps its precision where ``a`` is within 1e-16 of 1 (``a = σ(-u)`` rounds
  to 1 in float64 for ``u < -37``, where ``h* = g(p)`` is still well defined). None where a
  layer's state holds more than such an ``h`` (fixed points are then searched).
* ``decay_kinds`` and ``log_decay(values, model, layer)``: how the decay is read from
  recorded kinds (minGRU: ``log a = log1p(-z)``; minLSTM: ``log f'``, or ``log1p(-i')``
  where ``f'`` is near 1, which float32 keeps better through ``i'``).
* ``fixed_point(model, layer, x) -> (states, eigenvalues)``: for a family whose state holds
  more than such an ``h`` but still has one fixed point per constant input in closed form
  (Mamba: the convolution's last inputs, a shift register, before its linear SSM state; see
  ``_mamba_fixed_point``), that point and the Jacobian's eigenvalues there; None otherwise.

A model may also answer for itself: a ``RecurrentModel`` with a ``linear_recurrence(x, *,
layer)`` method returning ``(log_a, b)`` (or None where the layer is not linear) is asked
first, on a float64 copy, so a new family plugs in from ``rnn_widgets.models`` without
touching this table.

References
----------
.. [1] Feng, L., Tung, F., Ahmed, M. O., Bengio, Y., & Hajimirsadeghi, H. (2024). Were RNNs
   all we needed? arXiv:2410.01201.
.. [2] Gu, A., & Dao, T. (2023). Mamba: Linear-time sequence modeling with selective state
   spaces. arXiv:2312.00752.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from .._validation import as_finite_array
from ..models import RecurrentModel, as_model
from ._mamba_fixed_point import mamba_fixed_point

__all__ = [
    "LINEAR_FAMILIES",
    "LinearFamily",
    "LinearRecurrence",
    "closed_form_states",
    "fixed_point_of",
    "linear_recurrence",
    "not_linear_message",
    "recurrence_of",
]

Recurrence = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
FixedPointForm = Callable[[RecurrentModel, int, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class LinearFamily:
    """How the analyses read one family whose layers are linear in their state.

    Attributes
    ----------
    recurrence : callable or None
        ``recurrence(model, layer, x) -> (log_a, b)``: for float64 inputs ``x`` of shape
        (batch, input_size(layer)), ``log a`` and ``b`` of shape (batch, state_size),
        float64, with the step exactly ``h' = exp(log_a) * h + b``. None where the state
        holds more than that.
    decay_kinds : tuple of str
        The recorded kinds the decay can be read from; any one of them suffices.
    log_decay : callable
        ``log_decay(values, model, layer) -> log|a|`` of shape (steps, n_cells, modes):
        ``values`` maps the kinds of ``decay_kinds`` the trace has to float64 blocks
        (steps, n_cells); ``model`` is None unless ``needs_model``. ``modes`` is 1 for an
        elementwise layer (Mamba: its state dimensions per channel).
    needs_model : bool
        Whether ``log_decay`` needs the model (Mamba's ``A``).
    reads_step_input : bool
        Whether ``a(x_t)`` depends on the layer's input at step t alone, so that it can be
        recomputed step by step from the inputs (Mamba: False, its ``Δ_t`` reads a
        convolution over past inputs).
    fixed_point : callable or None
        ``fixed_point(model, layer, x) -> (states, eigenvalues)``, where ``recurrence`` is
        None but the layer still has one fixed point per constant input in closed form: for
        float64 inputs (batch, input_size(layer)), the flat fixed points and the Jacobian's
        eigenvalues there, each (batch, state_size), float64 (Mamba's, in any order).

    """

    recurrence: (
        Callable[[RecurrentModel, int, torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None
    )
    decay_kinds: tuple[str, ...]
    log_decay: Callable[[Mapping[str, np.ndarray], RecurrentModel | None, int], np.ndarray]
    needs_model: bool = False
    reads_step_input: bool = True
    fixed_point: FixedPointForm | None = None


@dataclass(frozen=True)
class LinearRecurrence:
    """One layer's step under fixed inputs, ``h' = a * h + b``, for each input.

    Attributes
    ----------
    a : ndarray, shape (n_inputs, state_size)
        The decay (the diagonal of the Jacobian ``dh'/dh``), float64.
    log_a : ndarray, shape (n_inputs, state_size)
        ``log a``, computed directly (``1 - a = -expm1(log_a)`` is exact near ``a = 1``).
    b : ndarray, shape (n_inputs, state_size)
        The drive, float64.
    inputs : ndarray, shape (n_inputs, input_size)
        The inputs, float64.
    layer : int

    """

    a: np.ndarray
    log_a: np.ndarray
    b: np.ndarray
    inputs: np.ndarray
    layer: int

    def fixed_points(self) -> np.ndarray:
        """``h* = b / (1 - a)`` for each input, shape (n_inputs, state_size).

        NaN in a row where some cell has ``a == 1`` (in float64): no isolated fixed point
        there (see :func:`closed_form_states`).
        """
        states, found = closed_form_states(self.log_a, self.b, np.full(self.b.shape[1], np.nan))
        states[~found] = np.nan
        return states


def _min_rnn_recurrence(
    model: RecurrentModel, layer: int, x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The recurrence of minGRU and minLSTM: ``log a = log σ(-u)``, ``b = σ(u) g(p)``, float64."""
    core = model.core
    weight, bias = core.weights(layer)
    pre = F.linear(
        x,
        weight.detach().to(torch.float64),
        None if bias is None else bias.detach().to(torch.float64),
    )
    u, _ = core.write_logit(pre)
    candidate = core.gate_values(pre)["h_tilde"]
    return F.logsigmoid(-u), torch.sigmoid(u) * candidate


def _gates(values: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
    """The recorded gates, or a ValueError naming one that leaves [0, 1]."""
    for kind, block in values.items():
        if not ((block >= 0) & (block <= 1)).all():
            raise ValueError(
                f"kind {kind!r} holds values outside [0, 1]; a gate lies in [0, 1]: is the "
                "trace from a model of this family?"
            )
    return values


def _min_gru_log_decay(
    values: Mapping[str, np.ndarray], model: RecurrentModel | None, layer: int
) -> np.ndarray:
    """``log(1 - z)``: ``log1p`` keeps a held cell's tiny ``z`` (float32) exact."""
    with np.errstate(divide="ignore"):
        return np.log1p(-_gates(values)["z"])[:, :, None]


def _mamba_log_decay(
    values: Mapping[str, np.ndarray], model: RecurrentModel | None, layer: int
) -> np.ndarray:
    """``delta_t[d] * A[d, n]``: the log decay of every channel's state dimensions per step.

    Mamba's discretised state matrix is ``exp(delta A)`` (Gu & Dao 2023, section 3.2); the
    slowest of a channel's modes is its largest ``|a|`` (``memory_timescales`` reads it).
    """
    if model is None:
        raise TypeError("Mamba's decay needs the model's state matrix A: pass model=")
    a = model.ssm_matrix(layer=layer)  # (channels, state_size), negative
    return values["delta"][:, :, None] * a[None]


def _min_lstm_log_decay(
    values: Mapping[str, np.ndarray], model: RecurrentModel | None, layer: int
) -> np.ndarray:
    """``log f'``; ``log1p(-i')`` where ``f' > 1/2`` and ``i'`` is recorded (``i' + f' = 1``)."""
    values = _gates(values)
    with np.errstate(divide="ignore"):
        if "i" not in values:
            return np.log(values["f"])[:, :, None]
        from_i = np.log1p(-values["i"])
        if "f" not in values:
            return from_i[:, :, None]
        f = values["f"]
        return np.where(f > 0.5, from_i, np.log(f))[:, :, None]


#: The families whose layers are linear in their state, by ``RecurrentModel.family``: the one
#: entry a family adds to be read in closed form (fixed points) and as time constants.
LINEAR_FAMILIES: Mapping[str, LinearFamily] = MappingProxyType(
    {
        "min_gru": LinearFamily(_min_rnn_recurrence, ("z",), _min_gru_log_decay),
        "min_lstm": LinearFamily(_min_rnn_recurrence, ("i", "f"), _min_lstm_log_decay),
        # The SSM state is linear in itself, but the layer's state also holds the convolution's
        # inputs, which feed delta, B and x: no h' = a h + b, a decay per step, and a fixed
        # point per input in closed form all the same (the convolution's window is a shift).
        "mamba": LinearFamily(
            None,
            ("delta",),
            _mamba_log_decay,
            needs_model=True,
            reads_step_input=False,
            fixed_point=mamba_fixed_point,
        ),
    }
)


def recurrence_of(model: RecurrentModel, layer: int) -> Recurrence | None:
    """``x -> (log_a, b)`` of one layer in float64 (batched torch), or None if not linear.

    The model is asked first (a ``linear_recurrence(x, *, layer)`` method, on a float64
    copy); then :data:`LINEAR_FAMILIES` (on a float64 copy of the core). The function reads
    those copies, so it describes the weights as they were when it was made, as
    ``float64_step`` does; the model is never modified.
    """
    hook = getattr(model, "linear_recurrence", None)
    if callable(hook):
        # Asked on the model itself first: a family that is not linear costs no copy.
        width = model.input_size(layer=layer)
        probe = torch.zeros(1, width, dtype=model.dtype, device=model.device)
        with torch.no_grad():
            if hook(probe, layer=layer) is None:
                return None
        twin = _float64_twin(model)
        return lambda x: _as_pair(twin.linear_recurrence(x, layer=layer))  # type: ignore[attr-defined]
    family = LINEAR_FAMILIES.get(model.family)
    if family is None or family.recurrence is None:
        return None
    recurrence = family.recurrence
    twin = _float64_twin(model, core_only=True)
    return lambda x: recurrence(twin, layer, x)


def fixed_point_of(
    model: RecurrentModel, layer: int
) -> Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None:
    """``x -> (states, eigenvalues)`` of a layer whose fixed point is in closed form, or None.

    From :attr:`LinearFamily.fixed_point` (Mamba), on a float64 copy of the core; None for a
    family without one (a layer with a :func:`recurrence_of` gets its point from that).
    """
    family = LINEAR_FAMILIES.get(model.family)
    if family is None or family.fixed_point is None:
        return None
    form = family.fixed_point
    twin = _float64_twin(model, core_only=True)
    return lambda x: form(twin, layer, x)


def _float64_twin(model: RecurrentModel, core_only: bool = False) -> RecurrentModel:
    """A private copy computing in float64: later changes to the model do not reach it.

    ``core_only``: a bare ``RecurrentModel`` of a copy of the core (no embedding or readout
    copied), enough for the table's recurrences; else the whole model, for its own method. A
    plain cell (not an ``nn.Module``) is used as it is.
    """
    if not isinstance(model.core, torch.nn.Module):
        return model
    if core_only:
        core = copy.deepcopy(model.core).double().cpu().requires_grad_(False)
        return RecurrentModel(core)
    twin = copy.deepcopy(model)
    twin.core.double().cpu().requires_grad_(False)
    return twin


def _as_pair(result: Any) -> tuple[torch.Tensor, torch.Tensor]:
    if not (isinstance(result, tuple) and len(result) == 2):
        raise TypeError(
            "model.linear_recurrence(x, layer=...) must return (log_a, b), two tensors of "
            f"shape (batch, state_size), or None; got {type(result).__name__}"
        )
    return result[0].to(torch.float64), result[1].to(torch.float64)


def closed_form_states(
    log_a: np.ndarray, b: np.ndarray, free_value: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``h* = b / (1 - a)`` per row, and whether each row has a fixed point.

    Where ``a == 1`` exactly (``log_a == 0``) a cell has no isolated fixed point: with
    ``b == 0`` every value of it is fixed (a line of fixed points along it), and the cell
    takes ``free_value`` (one point on that line); with ``b != 0`` it moves by ``b`` every
    step forever, so the row has no fixed point. A row whose ``h*`` overflows has none either.

    Parameters
    ----------
    log_a : ndarray, shape (n, state_size)
        ``log a`` of each row.
    b : ndarray, shape (n, state_size)
        ``b`` of each row.
    free_value : ndarray, shape (state_size,)
        The value a free cell takes.

    Returns
    -------
    states : ndarray, shape (n, state_size)
        Meaningful in the rows where ``found``.
    found : ndarray of bool, shape (n,)

    """
    one_minus_a = -np.expm1(log_a)
    held = one_minus_a == 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        states = b / np.where(held, 1.0, one_minus_a)
    states = np.where(held & (b == 0), free_value[None, :], states)
    drifting = (held & (b != 0)).any(axis=1)
    found = ~drifting & np.isfinite(states).all(axis=1)
    return states, found


def linear_recurrence(model: Any, inputs: Any, *, layer: int = 0) -> LinearRecurrence:
    """The decay ``a(x)`` and drive ``b(x)`` of a layer that is linear in its state.

    For minGRU and minLSTM (Feng et al. 2024 [1]_) one step under a fixed input is ``h' =
    a(x) * h + b(x)`` elementwise, with ``a = σ(-u)`` (``1 - z``, or the normalised forget
    gate ``f'``) and ``b = σ(u) g(p)``. ``a`` is the layer's spectrum under that input and
    ``b / (1 - a)`` its one fixed point. Computed in float64 from the model's weights (which
    are not modified).

    Parameters
    ----------
    model : RecurrentModel, MinGRU or MinLSTM
        A bare module is wrapped.
    inputs : array-like, shape (input_size,) or (n_inputs, input_size)
        The layer's inputs (for layer > 0, the h of the layer below).
    layer : int
        The layer.

    Returns
    -------
    LinearRecurrence

    Raises
    ------
    TypeError
        If the model's layers are not linear in their state (naming the families that are).
    ValueError
        On a layer the model lacks, or inputs of the wrong width or not finite.

    References
    ----------
    .. [1] Feng, L., Tung, F., Ahmed, M. O., Bengio, Y., & Hajimirsadeghi, H. (2024). Were
       RNNs all we needed? arXiv:2410.01201.

    """
    model = as_model(model)
    layer = model.check_layer(layer=layer)
    width = model.input_size(layer=layer)
    values = as_finite_array(inputs, "inputs")
    values = values[None] if values.ndim == 1 else values
    if values.ndim != 2 or values.shape[1] != width:
        raise ValueError(
            f"inputs must have shape (input_size={width},) or (n_inputs, {width}), got "
            f"{np.shape(inputs)}"
        )
    recurrence = recurrence_of(model, layer)
    if recurrence is None:
        raise TypeError(not_linear_message(model, "linear_recurrence"))
    with torch.no_grad():
        log_a, b = (part.detach().numpy() for part in recurrence(torch.from_numpy(values)))
    return LinearRecurrence(np.exp(log_a), log_a, b, values, layer)


def not_linear_message(model: RecurrentModel, who: str) -> str:
    """Why ``who`` refuses a model whose layers are not linear in their state."""
    supported = ", ".join(repr(name) for name in LINEAR_FAMILIES)
    return (
        f"{who} needs a layer that is linear in its state for a fixed input (families "
        f"{supported}); the model's family is {model.family!r}, whose gates read the state"
    )
