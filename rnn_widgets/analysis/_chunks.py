"""Passes over a trace's states, in memory or chunk by chunk on dask.

The analyses that read every row of a state array (``score_cells``, ``probe``, ``match``,
``state_pca``) walk it in blocks of steps and add up small statistics per block: sums per
fold, histograms, Gram matrices, packed bits. :class:`StateSource` runs such a pass
wherever the states are:

* in memory or memory-mapped (a trace built from arrays, an HDF5 file, a Zarr store within
  its states budget): the per-block code runs here, over the whole array;
* in a Zarr store past the states budget (``trace.is_lazy(layer=, kind=)``): one dask task per
  block of the store's chunks (``trace.lazy_states()``) runs the *same* per-block code on its
  rows and returns its statistics, trimmed to the folds it touched; the client adds them up
  as they arrive. With an active ``dask.distributed.Client`` the tasks run on its cluster,
  otherwise on dask's local threaded scheduler. No task holds more than its chunk and its
  statistics, whatever the trace's size, and the client holds one set of statistics.

Sums then differ from the in-memory pass only in the order of additions (within 1e-12
relative); comparisons (thresholds, bins, packed bits) are the same bit for bit.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..trace import Trace, require_scale

__all__ = ["Reduction", "StateSource", "active_client"]

#: How a statistic of the per-block code combines over chunks: ``"sum"``; ``"fold_sum"``, a
#: sum of an array whose first axis is the fold (each task returns only the folds it
#: touched); ``"min"``; ``"max"``; ``"concat"``, rows of a per-step result, in step order.
Reduction = Literal["sum", "fold_sum", "min", "max", "concat"]

#: A per-block function: ``kernel(states, blocks, *args, *step_arrays) -> {name: array}``,
#: with ``blocks`` as ``(fold, start, stop)`` rows of ``states``; a module-level function,
#: since a distributed cluster pickles it.
Kernel = Callable[..., dict[str, np.ndarray]]


class _NoBar:
    def update(self, n: int = 1) -> None:
        """Nothing: a task's blocks are counted by the client."""


NO_BAR = _NoBar()


def active_client() -> Any:
    """The active ``dask.distributed.Client``, or None (then dask's local scheduler runs)."""
    distributed = sys.modules.get("distributed")  # a user with a client has imported it
    if distributed is None:
        return None
    try:
        return distributed.default_client()
    except ValueError:  # no client: distributed is imported but not in use
        return None


@dataclass(frozen=True)
class _Task:
    """One chunk's share of a pass: its blocks (in the chunk's rows) and the folds touched."""

    start: int
    stop: int
    blocks: tuple[tuple[int, int, int], ...]
    folds: np.ndarray
    n_blocks: int  # the pass's blocks that start in this chunk, for the progress bar


class StateSource:
    """The states of one layer and kind of a trace, for passes block by block.

    Parameters
    ----------
    trace : Trace
        The recorded states.
    layer : int
        The layer.
    kind : str
        The kind (validated by the trace).

    Attributes
    ----------
    lazy : bool
        True when the states stay in their store (``trace.is_lazy``): passes run on dask.
    shape : tuple of int
        ``(n_steps, n_cells)``.

    """

    dtype = np.dtype(np.float32)

    def __init__(self, trace: Trace, layer: int, kind: str) -> None:
        self.trace, self.layer, self.kind = trace, layer, kind
        self.lazy = trace.is_lazy(layer=layer, kind=kind)
        self._array = None if self.lazy else trace.states(layer=layer, kind=kind)
        if self._array is not None:
            self.dtype = self._array.dtype
        self.shape = (int(trace.n_steps), int(trace.n_cells(layer=layer, kind=kind)))

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: slice) -> np.ndarray:
        """Rows ``start:stop`` (a slice of steps), reading only those from a store."""
        if self._array is not None:
            return self._array[rows]
        start, stop, step = rows.indices(self.shape[0])
        if step != 1:
            raise ValueError("StateSource reads contiguous rows only")
        return self.trace.states_in(start, max(start, stop), layer=self.layer, kind=self.kind)

    def reduce(
        self,
        kernel: Kernel,
        blocks: Sequence[tuple[int, int, int]],
        reductions: dict[str, Reduction],
        *,
        args: Sequence[Any] = (),
        step_arrays: Sequence[np.ndarray] = (),
        n_folds: int = 1,
        bar: Any = NO_BAR,
    ) -> dict[str, np.ndarray]:
        """Run ``kernel`` over ``blocks`` of the states and combine its statistics.

        Parameters
        ----------
        kernel : callable
            ``kernel(states, blocks, *args, *step_arrays) -> {name: array}``; it indexes
            ``states`` and every array of ``step_arrays`` (last axis: steps) by the rows of
            ``blocks``, and returns per-fold statistics with the fold first.
        blocks : sequence of (fold, start, stop)
            The pass, in global steps.
        reductions : dict
            How each statistic combines (:data:`Reduction`).
        args : sequence
            Passed to every call (small: they travel with every task).
        step_arrays : sequence of ndarray
            Arrays over the steps (last axis), sliced to each chunk.
        n_folds : int
            The folds of ``"fold_sum"`` statistics.
        bar : tqdm-like
            Updated by one per block done.

        Returns
        -------
        dict of ndarray
            The combined statistics, by name.

        """
        if self._array is not None:
            return kernel(self._array, list(blocks), *args, *step_arrays, bar)
        lazy = self.trace.lazy_states(layer=self.layer, kind=self.kind)
        chunk_delayed = lazy.to_delayed().ravel()
        edges = np.concatenate([[0], np.cumsum(lazy.chunks[0])]).astype(np.int64)
        tasks = _tasks(edges, blocks)
        dask = require_scale("dask", "lazy states")
        work = [
            dask.delayed(_run_task, pure=False)(
                kernel,
                chunk_delayed[index],
                task,
                reductions,
                tuple(args),
                tuple(array[..., task.start : task.stop] for array in step_arrays),
            )
            for index, task in tasks
        ]
        totals = _Totals(reductions, n_folds)
        for task, statistics in _computed(work):  # in the order they finish
            totals.add(task, statistics)
            bar.update(task.n_blocks)
        return totals.result()


def _tasks(edges: np.ndarray, blocks: Sequence[tuple[int, int, int]]) -> list[tuple[int, _Task]]:
    """Per chunk (index into the dask array's row chunks), its share of ``blocks``."""
    tasks = []
    starts = np.array([start for _, start, _ in blocks], dtype=np.int64)
    for index in range(len(edges) - 1):
        a, b = int(edges[index]), int(edges[index + 1])
        local = tuple(
            (fold, max(start, a) - a, min(stop, b) - a)
            for fold, start, stop in blocks
            if start < b and stop > a
        )
        if not local:
            continue
        folds = np.unique(np.array([fold for fold, _, _ in local], dtype=np.int64))
        n_blocks = int(((starts >= a) & (starts < b)).sum())
        tasks.append((index, _Task(a, b, local, folds, n_blocks)))
    return tasks


def _run_task(
    kernel: Kernel,
    chunk: np.ndarray,
    task: _Task,
    reductions: dict[str, Reduction],
    args: tuple[Any, ...],
    step_arrays: tuple[np.ndarray, ...],
) -> tuple[_Task, dict[str, np.ndarray]]:
    """One chunk's statistics, the per-fold ones trimmed to the folds it touched."""
    result = kernel(np.asarray(chunk), list(task.blocks), *args, *step_arrays, NO_BAR)
    trimmed = {
        name: value[task.folds] if reductions[name] == "fold_sum" else value
        for name, value in result.items()
    }
    return task, trimmed


class _Totals:
    """The statistics of a pass, combined one chunk at a time."""

    def __init__(self, reductions: dict[str, Reduction], n_folds: int) -> None:
        self._reductions, self._n_folds = reductions, n_folds
        self._totals: dict[str, np.ndarray] = {}
        self._rows: dict[str, list[tuple[int, np.ndarray]]] = {}

    def add(self, task: _Task, statistics: dict[str, np.ndarray]) -> None:
        for name, value in statistics.items():
            how = self._reductions[name]
            total = self._totals.get(name)
            if how == "concat":
                self._rows.setdefault(name, []).append((task.start, value))
            elif how == "fold_sum":
                if total is None:
                    total = self._totals[name] = np.zeros(
                        (self._n_folds, *value.shape[1:]), dtype=value.dtype
                    )
                total[task.folds] += value
            elif total is None:
                self._totals[name] = np.array(value, copy=True)
            elif how == "sum":
                total += value
            elif how == "min":
                np.minimum(total, value, out=total)
            else:
                np.maximum(total, value, out=total)

    def result(self) -> dict[str, np.ndarray]:
        for name, parts in self._rows.items():
            parts.sort(key=lambda part: part[0])
            self._totals[name] = np.concatenate([value for _, value in parts], axis=0)
        return self._totals


def _computed(work: list[Any]) -> Any:
    """The results of ``work`` (delayed), as they finish; Ctrl+C cancels what is left."""
    client = active_client()
    if client is not None:
        distributed = require_scale("distributed", "analyses on a dask cluster")
        futures = client.compute(work)
        try:
            for future in distributed.as_completed(futures):
                yield future.result()
                future.release()
        except BaseException:
            client.cancel(futures)
            raise
        return
    dask = require_scale("dask", "lazy states")
    width = 2 * (os.cpu_count() or 1)  # a few tasks per thread in flight, results freed
    for first in range(0, len(work), width):
        yield from dask.compute(*work[first : first + width], scheduler="threads")
