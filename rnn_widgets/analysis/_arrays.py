"""Array arguments shared by the dynamics analyses, each checked once with one message.

* :func:`as_matrix` -- a float64 copy of a 2-D array (one row for a 1-D one), width checked.
* :func:`trace_states` -- a layer's kinds of a trace side by side, as the flat state.
* :func:`fixed_point_arrays` -- the states, inputs and layer of a ``FixedPoints``, checked
  against the model.

``state_pca``, ``line_attractor``, ``linearization_error``, ``phase_portrait`` and
``find_limit_cycles`` read their arguments through these.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_kind, as_layer, to_numpy
from ..models import RecurrentModel
from ..trace import Trace

__all__ = ["as_matrix", "fixed_point_arrays", "trace_states"]


def as_matrix(value: Any, name: str, width: int | None) -> np.ndarray:
    """A float64 copy of a 2-D array (a 1-D one is one row), its width checked.

    Raises
    ------
    TypeError
        If the values are not numbers.
    ValueError
        If the shape is not (n, width), or a value is NaN or infinite.

    """
    array = to_numpy(value)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"{name} must hold numbers, got dtype {array.dtype}")
    array = np.array(array, dtype=np.float64)
    array = array[None] if array.ndim == 1 else array
    if array.ndim != 2 or (width is not None and array.shape[1] != width):
        expected = f"(n, {width})" if width is not None else "(n, n_features)"
        raise ValueError(f"{name} must have shape {expected}, got {np.shape(value)}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return array


def trace_states(
    trace: Trace, layer: int, kinds: tuple[str, ...], steps: np.ndarray | None = None
) -> np.ndarray:
    """The states of ``kinds`` of one layer side by side, float64, shape (n, sum of widths).

    ``steps`` (sorted indices) reads only those rows of the trace (``trace.states_at``: from a
    store past its budget, through dask); None reads them all.
    """
    layer = as_layer(layer, trace.layers)
    recorded = trace.kinds(layer=layer)
    for kind in kinds:
        as_kind(kind, kinds=recorded, of=f"layer {layer} of the trace")
    values = np.concatenate(
        [
            np.asarray(
                trace.states(layer=layer, kind=kind)
                if steps is None
                else trace.states_at(steps, layer=layer, kind=kind),  # a lazy store too
                np.float64,
            )
            for kind in kinds
        ],
        axis=1,
    )
    if not np.isfinite(values).all():  # a damaged saved trace: name the file and dataset
        for kind in kinds:
            trace.check_finite(layer=layer, kind=kind)
    return values


def fixed_point_arrays(
    model: RecurrentModel, fixed_points: Any
) -> tuple[np.ndarray, np.ndarray, int]:
    """``(states, inputs, layer)`` of fixed points, float64, checked against ``model``.

    Raises
    ------
    TypeError
        If ``fixed_points`` has no ``states``, ``inputs`` and ``layer``.
    ValueError
        If their widths do not fit the model's layer, or their lengths differ.

    """
    try:
        states, inputs, layer = fixed_points.states, fixed_points.inputs, fixed_points.layer
    except AttributeError:
        raise TypeError(
            "fixed_points must be a FixedPoints from find_fixed_points (with states, inputs and "
            f"layer), got {type(fixed_points).__name__}"
        ) from None
    layer = model.check_layer(layer=layer, name="fixed_points.layer")
    states = as_matrix(states, "fixed_points.states", model.state_size(layer=layer))
    inputs = as_matrix(inputs, "fixed_points.inputs", model.input_size(layer=layer))
    if len(states) != len(inputs):
        raise ValueError("fixed_points.states and fixed_points.inputs differ in length")
    return states, inputs, layer
