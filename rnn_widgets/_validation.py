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

__all__ = [
    "MAX_ARRAY_VALUES",
    "as_allocation",
    "as_finite_array",
    "as_float",
    "as_int",
    "as_kind",
    "as_layer",
    "as_state_array",
    "clamp_int",
    "encodable_text",
    "to_numpy",
]

#: The most values one array of an analysis may hold: 2 * 10**8 float64 values are 1.6 GB,
#: more than any figure or statistic needs and about what a laptop spares for one result.
#: Sizes whose product passes it are a typo (``phase_portrait(grid=10**6)`` would ask for
#: 7 TiB), refused before anything is allocated (:func:`as_allocation`).
MAX_ARRAY_VALUES = 200_000_000

# A state kind is a short identifier: "h", "c", a gate ("i", "f", "z"), a cell's own name.
_KIND_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def as_int(
    value: Any,
    name: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    why: str = "",
) -> int:
    """Return ``value`` as a Python int, or raise naming ``name``.

    Booleans are refused: ``True`` as a layer index is almost always a mistake. ``maximum``
    is a bound on a size (how much a view sends, how much an analysis allocates); ``why``
    says what it bounds, for the one message shape of a bound:
    ``window_size must be <= 2000 (the most steps a view sends at once), got 1000000000``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}{_why(why)}, got {value}")
    return value


def clamp_int(value: int, name: str, *, maximum: int, why: str = "") -> tuple[int, str]:
    """``value`` clamped to ``maximum``, and the notice a view shows in place ("" if unclamped).

    The front-end side of a bound: what a gesture asked for beyond a bound is clamped, and
    the view says so (``window_size 1000000000 is more than 2000 (the most steps a view
    sends at once); showing 2000``); the same value from Python raises (:func:`as_int`).
    """
    if value <= maximum:
        return value, ""
    return maximum, f"{name} {value} is more than {maximum}{_why(why)}; showing {maximum}"


def as_allocation(
    what: str, sizes: dict[str, int], *, maximum: int = MAX_ARRAY_VALUES, fix: str = ""
) -> int:
    """The product of ``sizes`` (the shape of an array about to be allocated), or raise.

    The bound on work a few sizes multiply into: each may be reasonable alone, their
    product not. ``what`` names the array, ``sizes`` its factors (already checked ints), in
    the message: ``phase_portrait's trajectories would hold 6.4e+13 values (conditions 1 x
    starts 1000000000000 x steps + 1 101 x state_size 64), more than 200000000
    (MAX_ARRAY_VALUES, 1.6 GB of float64); lower grid or steps``.
    """
    total = 1
    for value in sizes.values():
        total *= int(value)
    if total > maximum:
        factors = " x ".join(f"{name} {int(value)}" for name, value in sizes.items())
        raise ValueError(
            f"{what} would hold {total:.3g} values ({factors}), more than {maximum} "
            f"(MAX_ARRAY_VALUES, {maximum * 8 / 1e9:.3g} GB of float64)"
            + (f"; {fix}" if fix else "")
        )
    return total


def _why(why: str) -> str:
    return f" ({why})" if why else ""


def as_float(value: Any, name: str, *, minimum: float | None = None) -> float:
    """Return ``value`` as a finite Python float (``>= minimum``), or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
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


def as_finite_array(value: Any, name: str, *, dtype: Any = np.float64) -> np.ndarray:
    """Return a new float array of ``value``'s numbers, or raise naming ``name``.

    The check of an array argument that must hold finite numbers (inputs, initial states):
    the message names the argument and the first bad entry, so a NaN in an input is not
    blamed on the model's weights.

    Raises
    ------
    TypeError
        If the values are not real numbers (strings, objects, complex).
    ValueError
        ``inputs has 1 NaN or infinite values (first at index (0, 2)); pass finite
        numbers (np.nan_to_num cleans them)``.

    """
    array = to_numpy(value)
    if array.dtype == object:
        try:
            array = np.array(array.tolist(), dtype=dtype)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must hold numbers, got {value!r:.80}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    array = np.array(array, dtype=dtype, copy=True)
    bad = ~np.isfinite(array)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f" (first at index {first[0] if len(first) == 1 else first})" if first else ""
        raise ValueError(
            f"{name} has {int(bad.sum())} NaN or infinite values{where}; pass finite numbers "
            "(np.nan_to_num cleans them)"
        )
    return array


def encodable_text(text: str, name: str) -> str:
    r"""Return ``text`` if UTF-8 can encode it (what a trace stores), or raise naming ``name``.

    A str holding a lone surrogate (``"\ud800"``, what ``surrogateescape`` decoding leaves)
    cannot be stored or sent to a browser.

    Raises
    ------
    ValueError
        ``tokens[0][3] holds '\ud800', which UTF-8 cannot encode (a lone surrogate); clean
        it, e.g. text.encode("utf-8", "replace").decode("utf-8")``.

    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        bad = text[error.start : error.end]
        raise ValueError(
            f"{name} holds {bad!r}, which UTF-8 cannot encode (a lone surrogate); clean it, "
            'e.g. text.encode("utf-8", "replace").decode("utf-8")'
        ) from None
    return text
