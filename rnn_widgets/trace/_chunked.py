"""State arrays that stay in a chunked store: the chunk size, the budget, the lazy array.

A trace opened from a Zarr store keeps each state array in the store as a
:class:`ChunkedStates`: its shape and chunks are known, its values are read only where they
are asked for, a window of rows (``trace.states_in(start, stop)``) or a block of chunks at a
time (``trace.lazy_states()``, a dask array). ``trace.states()`` reads the whole array into
memory only while it holds at most :data:`STATES_BUDGET` bytes, and otherwise refuses, naming
the lazy accessor: a trace larger than memory never fills memory by accident.

Two sizes, both whole rows (every cell of a step) and a power of two of steps
(:func:`chunk_steps`):

* a **chunk** of the store, about :data:`CHUNK_BYTES` (4 MiB): what one read fetches, so what a
  view's window costs. zarr reads a chunk whole: 32 MiB chunks made a 200-step window of a
  256-cell trace take 17 ms, 4 MiB chunks 1.3 ms, and reading everything was no slower
  (measured in ``docs/scale.md``). 4 MiB is also a good object size for object stores.
* a **block**, about :data:`BLOCK_BYTES` (32 MiB), a whole number of chunks: one dask task of
  ``lazy_states()``, and what a copy between stores holds at once. dask's tasks should hold
  tens of MB or more, not a few (its per-task overhead is about a millisecond).

The analyses walk the states in blocks that are powers of two too (``score_cells``' 16,384
steps, ``match`` and ``select_cells``' 32,768), so either a block covers whole chunks or a
chunk covers whole blocks, and no chunk is read twice by one pass. Whole rows because every
analysis and view reads whole rows: no row is split over several objects of the store.

Zarr and dask are optional (the ``scale`` extra, Zarr 3 needing Python 3.11 or later):
:func:`require_scale` imports them or raises an ``ImportError`` saying what to install.
"""

from __future__ import annotations

import importlib
import math
import uuid
from types import ModuleType
from typing import Any

import numpy as np

from ._layout import TraceFileError

__all__ = [
    "BLOCK_BYTES",
    "CHUNK_BYTES",
    "STATES_BUDGET",
    "ChunkedStates",
    "block_steps",
    "chunk_steps",
    "describe_bytes",
    "lazy_array",
    "require_scale",
]

#: The bytes of one chunk of a state array as ``trace.save`` writes it to Zarr (at most; a
#: layer wider than a million cells has chunks of one step): 4 MiB, what a view's window reads.
CHUNK_BYTES = 4 * 2**20
#: The bytes of one block: a dask task of ``trace.lazy_states()``, and what a copy between
#: stores holds at once (32 MiB, a whole number of chunks).
BLOCK_BYTES = 32 * 2**20
#: The most steps of a chunk or a block (a layer of one cell), a power of two.
MAX_STEPS = 1 << 20
#: The most bytes ``trace.states()`` reads into memory from a chunked store for one state
#: array (1 GiB: 500,000 steps of 512 cells). A larger array is read by window
#: (``trace.states_in``) or by chunk (``trace.lazy_states``); ``Trace.load(path,
#: states_budget=...)`` sets another bound for one trace.
STATES_BUDGET = 2**30

_EXTRA = 'pip install "rnn_widgets[scale]"'


def require_scale(module: str, what: str = "Zarr stores") -> ModuleType:
    """Import an optional module of the ``scale`` extra, or say how to install it.

    Raises
    ------
    ImportError
        ``Zarr stores need zarr (the scale extra): pip install "rnn_widgets[scale]"``,
        noting that Zarr 3 needs Python 3.11 or later.

    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        package = module.split(".")[0]
        raise ImportError(
            f"{what} need {package} (the scale extra): {_EXTRA}; Zarr 3 needs Python 3.11 or "
            f"later ({error})"
        ) from error


def chunk_steps(n_cells: int, n_steps: int, nbytes: int = CHUNK_BYTES) -> int:
    """The steps of one chunk (or block) of an ``(n_steps, n_cells)`` float32 array.

    The largest power of two of steps whose rows fit in ``nbytes`` (at least 1, at most
    :data:`MAX_STEPS`); ``n_steps`` itself when the array is shorter (one chunk, not a chunk
    mostly of padding). See the module docstring for the sizes.

    Examples
    --------
    >>> chunk_steps(512, 10**6), chunk_steps(64, 10**6), chunk_steps(512, 300)
    (2048, 16384, 300)
    >>> chunk_steps(512, 10**6, BLOCK_BYTES)
    16384

    """
    rows = nbytes // (4 * max(1, n_cells))
    power = 1 << max(0, math.floor(math.log2(max(1, rows))))
    return max(1, min(power, MAX_STEPS, n_steps))


def block_steps(values: np.ndarray | ChunkedStates) -> int:
    """The steps of one block of a state array: whole chunks of a store, about 32 MiB."""
    n_steps, n_cells = values.shape
    if not isinstance(values, ChunkedStates):
        return chunk_steps(n_cells, n_steps, BLOCK_BYTES)
    chunk = values.chunks[0]
    return chunk * max(1, BLOCK_BYTES // (4 * chunk * max(1, n_cells)))


def describe_bytes(n: int) -> str:
    """``n`` bytes for a message: ``"1.5 GiB"``, ``"12.0 MiB"``."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


class ChunkedStates:
    """A read-only float32 state array in a chunked store, read by window or by chunk.

    Indexing (``values[a:b]``) reads only the chunks the rows touch and returns a read-only
    ndarray; a store that fails while being read (a chunk cut short, a file gone) raises a
    :class:`TraceFileError` naming the store and the array. There is no ``__array__``: reading
    the whole array goes through ``trace.states()`` and its budget.

    Attributes
    ----------
    shape : tuple of int
        ``(n_steps, n_cells)``.
    chunks : tuple of int
        The store's chunk shape, ``(steps, cells)``.
    source, where : str
        The store and the array's path in it (``"/states/0/h"``), for messages.

    """

    __slots__ = ("_array", "_name", "chunks", "shape", "source", "where")

    dtype = np.dtype(np.float32)
    ndim = 2

    def __init__(self, array: Any, *, source: str, where: str) -> None:
        self._array = array
        self.shape = tuple(int(n) for n in array.shape)
        self.chunks = tuple(int(n) for n in (array.shards or array.chunks))
        self.source = source
        self.where = where
        self._name = f"rnn-widgets-states-{uuid.uuid4().hex}"  # one dask name per array

    @property
    def nbytes(self) -> int:
        """The bytes the whole array takes in memory."""
        return self.shape[0] * self.shape[1] * self.dtype.itemsize

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"ChunkedStates({self.source}{self.where}, shape={self.shape}, chunks={self.chunks})"

    def __getitem__(self, key: Any) -> np.ndarray:
        try:
            values = np.asarray(self._array[key])
        except MemoryError:
            raise
        except Exception as error:  # a damaged chunk may raise anything: name the array
            raise TraceFileError(
                f"cannot read {self.source}: {self.where} cannot be read "
                f"({type(error).__name__}: {error}); the store is damaged (a chunk cut short, "
                "moved or deleted): copy or save it again",
                source=self.source,
                where=self.where,
            ) from error
        if values.dtype != self.dtype:  # the other byte order (a foreign Zarr 2 store)
            values = values.astype(self.dtype)
        values.flags.writeable = False
        return values

    def read(self) -> np.ndarray:
        """The whole array in memory, read block by block (read-only)."""
        out = np.empty(self.shape, dtype=self.dtype)
        step = block_steps(self)
        for start in range(0, self.shape[0], step):
            out[start : start + step] = self[start : start + step]
        out.flags.writeable = False
        return out

    def to_dask(self) -> Any:
        """A dask array over this one, one task per block (:func:`block_steps`) of chunks."""
        dask_array = require_scale("dask.array", "lazy states")
        return dask_array.from_array(
            self,
            chunks=(block_steps(self), self.shape[1]),
            name=self._name,
            asarray=False,
            fancy=False,
            lock=False,
            meta=np.empty((0, 0), dtype=self.dtype),
        )


def lazy_array(values: np.ndarray | ChunkedStates) -> Any:
    """A dask array over a state array, one task per block (:func:`block_steps`)."""
    if isinstance(values, ChunkedStates):
        return values.to_dask()
    dask_array = require_scale("dask.array", "lazy states")
    rows = block_steps(values)
    # A fresh name: dask would otherwise hash the whole array to name it.
    name = f"rnn-widgets-states-{uuid.uuid4().hex}"
    return dask_array.from_array(values, chunks=(rows, values.shape[1]), name=name, lock=False)
