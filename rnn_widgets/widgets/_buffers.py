"""Arrays to the front end as binary buffers, never as JSON lists.

An array travels as ``{"dtype": ..., "shape": [...], "data": memoryview}``; ipywidgets moves
the memoryview into a binary buffer of the comm message and the front end decodes it with
``js/src/lib/binary.ts``. Floats are sent as float32, indices as uint32.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["packed"]

_WIRE_DTYPES = {
    "f": np.dtype("<f4"),
    "u": np.dtype("<u4"),
    "i": np.dtype("<i4"),
    "b": np.dtype("u1"),
}


def packed(array: Any, dtype: str | None = None) -> dict[str, Any]:
    """Pack an array for a synced trait.

    Parameters
    ----------
    array : array-like
        Any numeric array.
    dtype : str, optional
        The wire dtype (``"float32"``, ``"uint32"``, ``"int32"``, ``"uint8"``); by default
        floats become float32, unsigned ints uint32, signed ints int32, booleans uint8.

    Returns
    -------
    dict
        ``{"dtype": str, "shape": list of int, "data": memoryview}``.

    """
    values = np.asarray(array)
    wire = np.dtype(dtype).newbyteorder("<") if dtype else _WIRE_DTYPES[values.dtype.kind]
    contiguous = np.ascontiguousarray(values, dtype=wire)
    return {
        "dtype": contiguous.dtype.name,
        "shape": list(contiguous.shape),
        "data": memoryview(contiguous.tobytes()),
    }
