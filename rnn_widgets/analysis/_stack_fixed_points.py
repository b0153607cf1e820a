"""The fixed point and spectrum of a whole stack linear in its state, layer by layer.

In a stack whose layers are linear in their state for a fixed input (minGRU and minLSTM,
Feng et al. 2024 [1]_; Mamba, Gu & Dao 2023 [2]_, whose fixed point per input is in closed
form too), layer ``k`` reads the ``h`` of layer ``k - 1`` at the same step.
Under a constant bottom input, once layer ``k - 1`` sits at its fixed point its output is a
constant input to layer ``k``, whose fixed point then follows in closed form: the stack's
fixed point is found layer by layer, bottom up.

The stack's Jacobian at that point is block lower triangular (a layer's new state depends on
its own state and the new states of the layers below, never on those above), so its
eigenvalues are the union of the layers' own: every ``a`` of every layer.

References
----------
.. [1] Feng, L., Tung, F., Ahmed, M. O., Bengio, Y., & Hajimirsadeghi, H. (2024). Were RNNs
   all we needed? arXiv:2410.01201.
.. [2] Gu, A., & Dao, T. (2023). Mamba: Linear-time sequence modeling with selective state
   spaces. arXiv:2312.00752.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..models import as_model
from ..trace import Trace
from ._fixed_points import (
    FixedPoints,
    constant_inputs,
    find_fixed_points,
    stability_classes,
    time_constants_of,
)
from ._linear_recurrence import fixed_point_of, not_linear_message, recurrence_of

__all__ = ["StackFixedPoints", "stack_fixed_points"]


@dataclass(frozen=True)
class StackFixedPoints:
    """The fixed point of every layer of a stack, and of the stack, under constant inputs.

    Condition ``c`` is the bottom input ``conditions[c]`` throughout: in every layer's
    :class:`FixedPoints`, ``condition`` indexes the bottom inputs and ``conditions`` holds
    what that layer reads under each (the ``h*`` of the layer below), with NaN rows where a
    layer below has no fixed point under that condition.

    Attributes
    ----------
    layers : tuple of FixedPoints
        One per layer, bottom first, each from :func:`find_fixed_points` (closed form).
    conditions : ndarray, shape (n_conditions, input_size)
        The constant bottom inputs.
    states : ndarray, shape (n_conditions, total_state_size)
        The stack's fixed point, every layer's state side by side (bottom first); NaN rows
        where some layer has none.
    eigenvalues : ndarray of complex, shape (n_conditions, total_state_size)
        The stack's Jacobian's eigenvalues, every layer's together, sorted by magnitude
        (largest first); NaN rows where there is no fixed point.
    time_constants : ndarray, shape (n_conditions, total_state_size)
        ``1 / |log |lambda||`` in steps, in the order of ``eigenvalues``.
    stability : ndarray of str, shape (n_conditions,)
        The classes of :attr:`FixedPoints.stability` for the stack as a whole; ``"none"``
        where there is no fixed point.
    eps : float

    """

    layers: tuple[FixedPoints, ...]
    conditions: np.ndarray
    states: np.ndarray
    eigenvalues: np.ndarray
    time_constants: np.ndarray
    stability: np.ndarray
    eps: float

    def __len__(self) -> int:
        return len(self.conditions)


def stack_fixed_points(
    model: Any,
    inputs: Any = None,
    *,
    initial_states: Trace | None = None,
    tolerance: float = 1e-10,
    eps: float = 1e-3,
    attractor_distance: float = 0.3,
) -> StackFixedPoints:
    """Every layer's fixed point and spectrum under a constant bottom input, bottom up.

    For a stack whose layers are linear in their state (minGRU, minLSTM: Feng et al. 2024
    [1]_; Mamba, whose fixed point is in closed form too): layer 0's fixed point under each
    input comes in closed form from :func:`find_fixed_points`, its ``h*`` is layer 1's
    constant input, and so on up. The stack's eigenvalues are the union of the layers' (see
    the module docstring).

    Parameters
    ----------
    model : RecurrentModel, MinGRU or MinLSTM
        Not modified; a bare module is wrapped.
    inputs : None, array of shape (input_size,) or (n_conditions, input_size)
        The constant bottom input(s); zero by default.
    initial_states : Trace, optional
        A trace of the model: each layer's visited states, which :func:`find_fixed_points`
        validates and whose mean a free cell takes (``a == 1``, ``b == 0``); the zero state
        by default.
    tolerance, eps, attractor_distance : float
        As for :func:`find_fixed_points`.

    Returns
    -------
    StackFixedPoints

    Raises
    ------
    TypeError
        If a layer is not linear in its state (naming the families that are); search those
        layer by layer with :func:`find_fixed_points`, passing what each layer reads.
    ValueError
        On inputs of the wrong width or not finite, or bad numbers.

    Warns
    -----
    RuntimeWarning
        Where a condition has no fixed point in some layer (a cell with ``a == 1`` in float64
        and ``b != 0``); the layers above have none under it either.

    References
    ----------
    .. [1] Feng, L., Tung, F., Ahmed, M. O., Bengio, Y., & Hajimirsadeghi, H. (2024). Were
       RNNs all we needed? arXiv:2410.01201.

    """
    model = as_model(model)
    for layer in model.layers:
        if recurrence_of(model, layer) is None and fixed_point_of(model, layer) is None:
            raise TypeError(
                not_linear_message(model, "stack_fixed_points")
                + "; search each layer with find_fixed_points(model, trace, inputs, layer=k)"
            )
    if initial_states is not None and not isinstance(initial_states, Trace):
        raise TypeError(
            "initial_states must be a Trace of the model (each layer's visited states) or "
            f"None for the zero state, got {type(initial_states).__name__}"
        )
    conditions = constant_inputs(model, inputs, 0)  # the bottom layer's inputs
    present = np.arange(len(conditions))
    layer_inputs = conditions
    per_layer = []
    for layer in model.layers:
        visited = initial_states
        if visited is None:
            visited = model.initial_state(layer=layer).double().cpu().numpy()
        points = find_fixed_points(
            model,
            visited,
            layer_inputs,
            layer=layer,
            tolerance=tolerance,
            eps=eps,
            attractor_distance=attractor_distance,
            progress=False,
        )
        read = np.full((len(conditions), layer_inputs.shape[1]), np.nan)
        read[present] = layer_inputs
        present = present[points.condition]
        per_layer.append(dataclasses.replace(points, condition=present, conditions=read))
        layer_inputs = points.states[:, model.state_layout(layer=layer)["h"]]
    return _joined(tuple(per_layer), conditions, present, float(eps))


def _joined(
    layers: tuple[FixedPoints, ...], conditions: np.ndarray, present: np.ndarray, eps: float
) -> StackFixedPoints:
    """The stack's state and spectrum under the conditions every layer has a point for."""
    total = sum(points.states.shape[1] for points in layers)
    states = np.full((len(conditions), total), np.nan)
    eigenvalues = np.full((len(conditions), total), np.nan, dtype=np.complex128)
    stability = np.full(len(conditions), "none", dtype=object)
    if len(present):
        rows = [np.searchsorted(points.condition, present) for points in layers]
        states[present] = np.concatenate(
            [points.states[row] for points, row in zip(layers, rows, strict=True)], axis=1
        )
        values = np.concatenate(
            [points.eigenvalues[row] for points, row in zip(layers, rows, strict=True)], axis=1
        )
        order = np.argsort(-np.abs(values), axis=1, kind="stable")
        eigenvalues[present] = np.take_along_axis(values, order, axis=1)
        stability[present] = stability_classes(np.abs(eigenvalues[present]), eps)[0]
    time_constants = np.full((len(conditions), total), np.nan)
    time_constants[present] = time_constants_of(np.abs(eigenvalues[present]))
    return StackFixedPoints(
        layers=layers,
        conditions=conditions,
        states=states,
        eigenvalues=eigenvalues,
        time_constants=time_constants,
        stability=stability.astype(str),
        eps=eps,
    )
