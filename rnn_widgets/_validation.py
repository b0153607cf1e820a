"""Input checks shared by the public API, in every layer of the package.

Every public function validates its arguments once, at the boundary, and raises a
``TypeError`` or ``ValueError`` whose message names the argument and says how to fix it. The
checks of one concept live here once, with one message shape: a layer that is not there reads
``layer 5 is not a layer of the trace; choose one of [0, 1]`` whether a trace, a model or a
view refused it.

This module sits below every layer (``trace`` included) and imports nothing of the package.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

__all__ = ["as_float", "as_int", "as_kind", "as_layer", "as_state_array", "to_numpy"]

# A state kind is a short identifier: "h", "c", a gate ("i", "f", "z"), a cell's own name.
_KIND_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def as_int(value: Any, name: str, *, minimum: int | None = None) -> int:
    """Return ``value`` as a Python int, or raise naming ``name``.

    Booleans are refused: ``True`` as a layer index is almost always a mistake.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def as_float(value: Any, name: str) -> float:
    """Return ``value`` as a finite Python float, or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def as_layer(
    value: Any, layers: Sequence[int], name: str = "layer", *, of: str = "the trace", hint: str = ""
) -> int:
    """Return ``value`` as one of ``layers``, or raise naming ``name`` and the choices.

    Parameters
    ----------
    value : int
        The layer asked for.
    layers : sequence of int
        The layers there are (a trace's recorded layers, a model's layers).
    name : str
        How to name the argument in the message, e.g. ``"layer"`` or ``"clamp layer"``.
    of : str
        What has the layers, for the message: ``"the trace"``, ``"the model"``.
    hint : str
        Appended to the message, e.g. how a bidirectional model numbers its layers.

    Raises
    ------
    TypeError
        If ``value`` is not an int.
    ValueError
        If it is not one of ``layers``:
        ``layer 5 is not a layer of the trace; choose one of [0, 1]``.

    """
    layer = as_int(value, name)
    if layer not in layers:
        raise ValueError(
            f"{name} {layer} is not a layer of {of}; choose one of {list(layers)}{hint}"
        )
    return layer


def as_kind(
    value: Any, name: str = "kind", *, kinds: Collection[str] | None = None, of: str = ""
) -> str:
    """Return ``value`` as a state kind name, or raise naming ``name``.

    Parameters
    ----------
    value : str
        A kind such as ``"h"``, ``"c"`` or a gate name: a short identifier.
    name : str
        How to name the argument in the message.
    kinds : collection of str, optional
        The kinds there are (a layer's recorded kinds); ``value`` must be one of them.
    of : str
        What has ``kinds``, for the message, e.g. ``"layer 1 of the trace"``.

    Raises
    ------
    ValueError
        If ``value`` is not a short identifier (``kind must be a state kind: a short name
        such as 'h' or 'c', got 3``), or not one of ``kinds`` (``kind 'c' is not a kind of
        layer 1 of the trace; choose one of ['h']``).

    """
    if not isinstance(value, str) or not _KIND_PATTERN.match(value):
        raise ValueError(
            f"{name} must be a state kind: a short name such as 'h', 'c' or a gate's 'f', "
            f"got {value!r}"
        )
    if kinds is not None and value not in kinds:
        raise ValueError(f"{name} {value!r} is not a kind of {of}; choose one of {list(kinds)}")
    return value


def to_numpy(value: Any) -> np.ndarray:
    """Convert an array-like from any framework (numpy, torch, jax, lists) to numpy.

    Torch tensors are detached and moved to the CPU first; nothing is modified in place.
    """
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def as_state_array(value: Any, name: str, n_steps: int) -> np.ndarray:
    """Return a new read-only float32 C-contiguous copy of a state array.

    Parameters
    ----------
    value : array-like, shape (n_steps, n_cells)
        The states, from any framework.
    name : str
        How to name the array in error messages, e.g. ``"states[(0, 'h')]"``.
    n_steps : int
        The number of rows required: one per token.

    Raises
    ------
    TypeError
        If the values are not numeric.
    ValueError
        If the shape is wrong or a value is NaN or infinite.

    """
    array = to_numpy(value)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"{name} must hold numbers, got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real-valued, got dtype {array.dtype}")
    if array.ndim != 2:
        raise ValueError(
            f"{name} must have shape (n_steps, n_cells), got shape {array.shape}; "
            "stack the per-step state vectors row by row"
        )
    if array.shape[0] != n_steps:
        raise ValueError(
            f"{name} has {array.shape[0]} rows but the tokens have {n_steps} steps; "
            "pass exactly one state row per token"
        )
    if array.shape[1] == 0:
        raise ValueError(f"{name} has no cells (shape {array.shape}); pass at least one column")
    array = np.array(array, dtype=np.float32, order="C", copy=True)
    bad = ~np.isfinite(array)
    if bad.any():
        step, cell = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} has {int(bad.sum())} NaN or infinite values (first at step {step}, "
            f"cell {cell}); check the model's outputs, or clean them with np.nan_to_num"
        )
    array.flags.writeable = False
    return array
