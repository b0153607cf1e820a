"""The `Trace`: tokens, sequence boundaries, recorded states, tracks and predictions.

Contracts every other module relies on
--------------------------------------
* A trace holds one or more **sequences** (documents) laid end to end. A **step** is a
  global row index into the trace, ``0 .. n_steps - 1``. ``trace.sequence_bounds[s]`` is the
  ``start, stop`` of sequence ``s``; ranges are ``start:stop`` with ``stop`` exclusive.
* States are named by **layer** (int, 0-based) and **kind** (``"h"``; for LSTMs also ``"c"``
  and the gates ``"i" "f" "g" "o"``; for GRUs ``"r" "z" "n"``).
  ``trace.states(layer=layer, kind=kind)`` (keyword-only, as ``layer`` is everywhere) is a
  read-only float32 array of shape ``(n_steps, n_cells)``, ``n_cells`` being
  ``trace.n_cells(layer=layer, kind=kind)``. A trace opened from a Zarr store keeps its
  states in the store: ``states()`` reads a whole array only up to a budget
  (:data:`~rnn_widgets.trace.STATES_BUDGET`), ``states_in(start, stop)`` reads a window of
  rows from any trace, and ``lazy_states()`` is a dask array over the store's chunks.
* **Cell groups.** Kinds of one layer that have the same width and the same units share cell
  identity: an LSTM's h, c and gates, a GRU's h and gates, so a cell index means the same unit
  whichever of them is shown. Each kind belongs to one cell group of its layer
  (``trace.cell_group(layer=layer, kind=kind)``); kinds of other widths (a Mamba layer's SSM
  state, its step size, its block output) are groups of their own, and a cell index of one
  group means nothing in another. Unless declared otherwise, the kinds of a layer with one
  width form one group, named after the first of them.
* A trace is immutable. ``with_track`` and ``with_predictions`` return a new trace that
  shares the (read-only) arrays of the old one.
"""

from __future__ import annotations

import math
import numbers
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import regex as regex_engine

from .._validation import as_int, as_kind, as_layer, as_state_array, encodable_text, to_numpy
from ._chunked import (
    STATES_BUDGET,
    ChunkedStates,
    block_steps,
    describe_bytes,
    lazy_array,
    require_scale,
)
from ._layout import TraceFileError
from ._tokens import Tokens

__all__ = [
    "KNOWN_KINDS",
    "SEARCH_TIMEOUT",
    "Predictions",
    "Trace",
    "Track",
    "as_trace",
    "display_range",
    "resolve_cell_groups",
]

#: State kinds with a fixed meaning: hidden state, LSTM cell state and gates, GRU gates.
KNOWN_KINDS: tuple[str, ...] = ("h", "c", "i", "f", "g", "o", "r", "z", "n")

TrackLabelType = Literal["numeric", "categorical"]

#: Seconds a regular-expression search may take over a whole trace. A catastrophic pattern
#: (``(a|aa)+$``) backtracks for minutes on a few dozen characters; one second is far more
#: than any sensible pattern needs on a million characters (a literal search of a million-step
#: trace takes milliseconds), and short enough that a search box stays responsive.
SEARCH_TIMEOUT = 1.0


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class Track:
    """An annotation track: one value per step of a trace.

    Attributes
    ----------
    name : str
        The track's name, unique within a trace.
    label_type : {"numeric", "categorical"}
        Numeric tracks are drawn as heat maps, categorical ones as labels.
    values : ndarray, shape (n_steps,)
        float32 values for a numeric track; int32 codes into ``categories`` for a
        categorical track.
    categories : tuple of str
        The labels of a categorical track (empty for a numeric one).

    """

    name: str
    label_type: TrackLabelType
    values: np.ndarray = field(repr=False)
    categories: tuple[str, ...] = ()

    def labels(self, start: int, stop: int) -> list[str]:
        """The track's values on steps ``start:stop`` as display strings."""
        window = self.values[start:stop]
        if self.label_type == "categorical":
            return [self.categories[code] for code in window]
        return [f"{value:.3g}" for value in window]


@dataclass(frozen=True, eq=False)
class Predictions:
    """The model's top-k predictions after each step.

    Attributes
    ----------
    label_tokens : Tokens
        The predicted tokens, row-major over (n_steps, k), best first.
    probabilities : ndarray, shape (n_steps, k)
        Their probabilities (float32).

    """

    label_tokens: Tokens = field(repr=False)
    probabilities: np.ndarray = field(repr=False)

    @property
    def k(self) -> int:
        """How many predictions are kept per step."""
        return int(self.probabilities.shape[1])

    @property
    def labels(self) -> np.ndarray:
        """All predicted tokens as an array of str, shape (n_steps, k) (decodes everything)."""
        return np.array(list(self.label_tokens), dtype=object).reshape(self.probabilities.shape)

    def top(self, start: int, stop: int) -> list[list[str]]:
        """The predicted tokens after each step of ``start:stop``, best first."""
        flat = self.label_tokens[start * self.k : stop * self.k]
        return [flat[i : i + self.k] for i in range(0, len(flat), self.k)]


class Trace:
    """Recorded states of a recurrent network over one or more token sequences.

    Build one with :meth:`Trace.from_arrays` (any framework's arrays) or, later, by capture
    from a model. See the module docstring for the step, layer and kind contracts.
    """

    # __weakref__: analyses cache derived data (packed on/off bits) per trace, weakly.
    __slots__ = (
        "__weakref__",
        "_budget",
        "_groups",
        "_loaded",
        "_predictions",
        "_source",
        "_starts",
        "_states",
        "_tokens",
        "_tracks",
        "_value_ranges",
        "_verified",
    )

    def __init__(
        self,
        tokens: Tokens,
        starts: np.ndarray,
        states: Mapping[tuple[int, str], np.ndarray],
        tracks: Mapping[str, Track] | None = None,
        predictions: Predictions | None = None,
        value_ranges: Mapping[tuple[int, str], tuple[float, float]] | None = None,
        source: str | None = None,
        cell_groups: Mapping[tuple[int, str], str] | None = None,
        states_budget: int = STATES_BUDGET,
    ) -> None:
        # The constructor of the loaders: arguments are already validated and read-only.
        # ``value_ranges`` (a saved file's) are the states' ``(min, max)`` as stored: a hint,
        # verified from the states before a value is refused for lying outside them.
        # ``source`` names the file in the messages of the lazy checks (check_finite).
        # ``cell_groups`` declares the groups of some kinds (see the module docstring); the
        # others are grouped by width. ``states`` may hold ChunkedStates (a Zarr store's):
        # ``states()`` reads one whole only up to ``states_budget`` bytes, once (``_loaded``).
        # Users call Trace.from_arrays (or Trace.from_owned_arrays).
        self._groups = _cell_groups(states, cell_groups or {})
        self._tokens = tokens
        self._starts = starts
        self._states = MappingProxyType(dict(states))
        self._tracks = MappingProxyType(dict(tracks or {}))
        self._predictions = predictions
        self._value_ranges: dict[tuple[int, str], tuple[float, float]] = dict(value_ranges or {})
        self._source = source
        # (layer, kind) -> (min, max) computed from the states, which were found finite.
        self._verified: dict[tuple[int, str], tuple[float, float]] = {}
        self._budget = states_budget
        # (layer, kind) -> a chunked array read whole by states(), shared by derived traces.
        self._loaded: dict[tuple[int, str], np.ndarray] = {}

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_arrays(
        cls,
        tokens: Sequence[Any] | Sequence[Sequence[Any]],
        states: Any,
        *,
        lengths: Sequence[int] | None = None,
        tracks: Mapping[str, Any] | None = None,
        predictions: tuple[Any, Any] | None = None,
        cell_groups: Mapping[Any, str] | None = None,
    ) -> Trace:
        """Build a trace from tokens and state arrays made by any framework.

        Parameters
        ----------
        tokens : list of str, or list of lists of str
            A list of sequences, each a list of tokens; or one flat list of tokens, split
            into sequences by ``lengths`` (one sequence when ``lengths`` is None).
            Numbers are accepted as tokens and shown as text.
        states : array-like or mapping
            An array of shape (n_steps, n_cells) (layer 0, kind ``"h"``); or a mapping
            whose keys are ``(layer, kind)`` tuples, kinds (layer 0) or layers (each mapped to
            ``{kind: array}``). Each array is either of shape (n_steps, n_cells), rows in
            step order, or a list with one (sequence_length, n_cells) array per sequence.
            Torch tensors are detached and copied. Stored as float32.
        lengths : sequence of int, optional
            Sequence lengths splitting a flat ``tokens`` list.
        tracks : mapping of str to array-like, optional
            Annotation tracks, one value per step (or one list per sequence); see
            :meth:`with_track`.
        predictions : (labels, probabilities), optional
            Top-k predictions, each of shape (n_steps, k); see :meth:`with_predictions`.
        cell_groups : mapping, optional
            Which kinds share cells, keyed as ``states`` is (``(layer, kind)`` tuples, or kinds
            of layer 0), each mapped to a group name. Kinds not named here are grouped by
            width: the kinds of a layer with one width share cells. Name groups where two
            kinds have one width but different units (e.g. a Mamba layer whose block output
            and channels happen to be equally wide).

        Returns
        -------
        Trace

        Raises
        ------
        TypeError, ValueError
            On mismatched lengths, empty sequences, NaN or infinite states, malformed
            layers and kinds, or one cell group over kinds of different widths; the message
            names the argument and the fix.

        Examples
        --------
        >>> import numpy as np
        >>> trace = Trace.from_arrays([["a", "b"], ["c"]], np.zeros((3, 4)))
        >>> trace.sequence_bounds.tolist()
        [[0, 2], [2, 3]]

        """
        flat_tokens, seq_lengths = _split_tokens(tokens, lengths)
        starts = np.concatenate([[0], np.cumsum(seq_lengths)]).astype(np.int64)
        n_steps = int(starts[-1])
        state_arrays = {
            key: as_state_array(_join_sequences(value, seq_lengths), f"states[{key!r}]", n_steps)
            for key, value in _state_entries(states)
        }
        groups = _declared_groups(cell_groups, state_arrays)
        trace = cls(
            Tokens.from_strings(flat_tokens), _read_only(starts), state_arrays, cell_groups=groups
        )
        for name, values in (tracks or {}).items():
            trace = trace.with_track(name, values)
        if predictions is not None:
            if not (isinstance(predictions, tuple) and len(predictions) == 2):
                raise TypeError("predictions must be a (labels, probabilities) tuple")
            trace = trace.with_predictions(*predictions)
        return trace

    @classmethod
    def from_owned_arrays(
        cls,
        tokens: Sequence[str] | Tokens,
        lengths: Sequence[int] | np.ndarray,
        states: Mapping[tuple[int, str], np.ndarray],
        cell_groups: Mapping[tuple[int, str], str] | None = None,
    ) -> Trace:
        """Build a trace from arrays the caller hands over, without copying them.

        What ``capture`` and the LSTMVis import use for arrays they filled themselves: no
        float32 copy of a large corpus is made. The arrays change hands: each is made
        read-only in place, and the caller must not write to it afterwards.

        Parameters
        ----------
        tokens : list of str, or Tokens
            All tokens, sequences laid end to end.
        lengths : sequence of int
            The length of each sequence; positive, adding up to the number of tokens.
        states : mapping of (int, str) to ndarray, shape (n_steps, n_cells)
            Each array already float32, C-contiguous and finite (not checked: the caller
            computed it); one row per token.
        cell_groups : mapping of (int, str) to str, optional
            Which kinds share cells (see :meth:`from_arrays`); the others by width.

        Returns
        -------
        Trace

        Raises
        ------
        ValueError
            On an array that would have to be converted (another dtype, not contiguous, the
            wrong shape), bad lengths, or a malformed kind.

        """
        if not isinstance(tokens, Tokens):
            flat, seq_lengths = _split_tokens(list(tokens), list(lengths))
            tokens = Tokens.from_strings(flat)
        else:
            seq_lengths = np.asarray(lengths, dtype=np.int64)
            if seq_lengths.sum() != len(tokens) or (seq_lengths <= 0).any():
                raise ValueError("lengths must be positive and add up to the number of tokens")
        starts = np.concatenate([[0], np.cumsum(seq_lengths)]).astype(np.int64)
        n_steps = int(starts[-1])
        for key, array in states.items():
            if array.dtype != np.float32 or not array.flags.c_contiguous:
                raise ValueError(f"states[{key!r}] must be a C-contiguous float32 array")
            if array.ndim != 2 or array.shape[0] != n_steps:
                raise ValueError(f"states[{key!r}] must have shape ({n_steps}, n_cells)")
            as_kind(key[1], "states kind")
            array.flags.writeable = False
        return cls(
            tokens,
            _read_only(starts),
            states,
            cell_groups=_declared_groups(cell_groups, states),
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, states_budget: int | None = None) -> Trace:
        """Open a trace saved with :meth:`save`, from an HDF5 file or a Zarr store.

        The format is told by the content: a file is HDF5 (its arrays memory-mapped), a folder
        holding ``zarr.json`` (or a Zarr 2 ``.zgroup``) or a URL (``s3://bucket/run.zarr``,
        anything the installed zarr and fsspec open) is a Zarr store, whose state arrays stay
        in the store and are read by window. Opening reads only the metadata and the small
        arrays, checking the whole layout, so a million-step trace opens at once. See
        ``docs/scale.md`` and ``rnn_widgets.trace._layout``.

        Parameters
        ----------
        path : str or path-like
            The ``.h5`` file, the ``.zarr`` folder, or a Zarr URL.
        states_budget : int, optional
            The most bytes :meth:`states` reads into memory for one state array of a Zarr
            store (default :data:`~rnn_widgets.trace.STATES_BUDGET`, 1 GiB); larger arrays
            are read with :meth:`states_in` or :meth:`lazy_states`.

        Returns
        -------
        Trace

        Raises
        ------
        FileNotFoundError
            Nothing at ``path``.
        ValueError
            A damaged or foreign file or store (a ``TraceFileError`` naming it and the
            dataset), or a folder that is not a Zarr store.
        ImportError
            A Zarr store without zarr installed: ``pip install "rnn_widgets[scale]"``.

        """
        from ._storage import load_trace

        budget = STATES_BUDGET if states_budget is None else states_budget
        return load_trace(path, states_budget=as_int(budget, "states_budget", minimum=0))

    @classmethod
    def from_lstmvis(cls, path: str | os.PathLike[str], *, allow_outside: bool = False) -> Trace:
        """Import an LSTMVis project folder (its ``lstm.yml``, HDF5 states and ``.dict`` files).

        LSTMVis layer ``L`` becomes layer ``L - 1``; its ``states`` become kind ``"c"`` and its
        ``output`` kind ``"h"``; ``transform`` (tanh by default, as in LSTMVis) is applied; meta
        tracks become annotation tracks. Contiguous float32 datasets that need no transform are
        memory-mapped. See ``rnn_widgets.trace._lstmvis`` for every rule.

        A project folder is untrusted input: every file it reads (``lstm.yml`` included) must
        resolve, through ``..``, absolute paths, symbolic links and HDF5 external links, to a
        file inside the folder, so a folder from someone else cannot read other files of yours
        into the trace. Pass ``allow_outside=True`` (keyword-only) for a project you trust
        whose ``lstm.yml`` points at data kept elsewhere on purpose. Corrupt content (lengths
        or ranks that disagree, ids that are not in the dict or not integers, malformed dict
        lines, words that are not UTF-8) raises a ``ValueError`` naming the file and the fix.
        """
        from ._lstmvis import load_lstmvis

        return load_lstmvis(path, allow_outside=allow_outside)

    def save(
        self,
        path: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        format: Literal["hdf5", "zarr"] | None = None,
    ) -> Path | str:
        """Write this trace to an HDF5 file or a Zarr store; returns where.

        Either store holds the layout of ``rnn_widgets.trace._layout``, uncompressed: one HDF5
        file of contiguous datasets (memory-mapped when loaded), or one Zarr group whose
        state arrays are chunked by whole rows of about 4 MiB (for traces larger than
        memory, read by window and by dask; see ``docs/scale.md``). States are copied block
        by block, so saving a trace opened from the other store never holds a whole state
        array in memory.

        Parameters
        ----------
        path : str or path-like
            Where to write. A path ending in ``.zarr``, or a URL (``s3://bucket/run.zarr``),
            is saved as Zarr, any other as HDF5 (``.h5`` is customary).
        overwrite : bool
            Replace what is there (default: refuse). A folder that is not a Zarr store is
            never replaced.
        format : {"hdf5", "zarr"}, optional
            The store, overriding the one the path implies.

        Returns
        -------
        Path or str
            The path written (a URL as given).

        Raises
        ------
        FileExistsError
            ``path`` exists and ``overwrite`` is False.
        ImportError
            Zarr without zarr installed: ``pip install "rnn_widgets[scale]"``.

        Notes
        -----
        A local file or folder appears only when complete (written beside it, then renamed);
        a URL's store is written in place.

        """
        from ._storage import save_trace

        if not isinstance(overwrite, bool):
            raise TypeError(f"overwrite must be True or False, got {type(overwrite).__name__}")
        return save_trace(self, path, overwrite=overwrite, format=format)

    # ------------------------------------------------------------------ sizes and names

    @property
    def n_steps(self) -> int:
        """The number of steps (tokens) over all sequences."""
        return int(self._starts[-1])

    @property
    def n_sequences(self) -> int:
        """The number of sequences (documents)."""
        return len(self._starts) - 1

    @property
    def tokens(self) -> Tokens:
        """All tokens: a read-only sequence of str (``tokens[a:b]`` decodes only that slice)."""
        return self._tokens

    @property
    def sequence_bounds(self) -> np.ndarray:
        """``start, stop`` of every sequence, shape (n_sequences, 2), stop exclusive."""
        return _read_only(np.stack([self._starts[:-1], self._starts[1:]], axis=1))

    @property
    def layers(self) -> tuple[int, ...]:
        """The recorded layers, ascending."""
        return tuple(sorted({layer for layer, _ in self._states}))

    def kinds(self, *, layer: int = 0) -> tuple[str, ...]:
        """The state kinds recorded for ``layer``, in the order of :data:`KNOWN_KINDS`."""
        layer = self._check_layer(layer)
        recorded = [kind for lay, kind in self._states if lay == layer]
        return tuple(sorted(recorded, key=_kind_order))

    def n_cells(self, *, layer: int = 0, kind: str | None = None) -> int:
        """The number of cells (units) of one kind of ``layer``: its states' width.

        ``kind=None`` means the layer's first kind (``"h"`` where recorded). Kinds of one cell
        group have the same width (see :meth:`cell_group`).
        """
        layer = self._check_layer(layer)
        kind = self.kinds(layer=layer)[0] if kind is None else self._check_kind(layer, kind)
        return int(self._states[(layer, kind)].shape[1])

    def cell_group(self, *, layer: int = 0, kind: str = "h") -> str:
        """The cell group of one kind: kinds of a layer in one group share cell identity.

        An LSTM's h, c and gates are one group (cell 3 is one unit in each); a Mamba layer's
        SSM state, step size and block output are groups of their own. A cell selection
        made on one kind carries over to the kinds of its group, and to no other.
        """
        layer = self._check_layer(layer)
        return self._groups[(layer, self._check_kind(layer, kind))]

    def _check_kind(self, layer: int, kind: str) -> str:
        return as_kind(
            kind, "kind", kinds=self.kinds(layer=layer), of=f"layer {layer} of the trace"
        )

    @property
    def tracks(self) -> Mapping[str, Track]:
        """The annotation tracks by name (read-only mapping)."""
        return self._tracks

    @property
    def predictions(self) -> Predictions | None:
        """The top-k predictions, or None when none were recorded."""
        return self._predictions

    # ------------------------------------------------------------------ states

    def states(self, *, layer: int = 0, kind: str = "h") -> np.ndarray:
        """The recorded states of one layer and kind.

        Parameters
        ----------
        layer : int
            0-based layer index.
        kind : str
            ``"h"``, ``"c"``, a gate name, ... (see :attr:`kinds`).

        Returns
        -------
        ndarray, shape (n_steps, n_cells)
            Read-only float32 array; row ``step`` is the state after reading token ``step``.
            Memory-mapped for a trace loaded from HDF5; read whole (once) from a Zarr store.

        Raises
        ------
        ValueError
            For a Zarr store's array larger than the trace's states budget
            (:data:`~rnn_widgets.trace.STATES_BUDGET` unless ``Trace.load`` set another):
            the message names :meth:`lazy_states` and :meth:`states_in`, which read it by
            chunk or by window.

        """
        key = self._state_key(layer, kind)
        values = self._states[key]
        if isinstance(values, np.ndarray):
            return values
        if key not in self._loaded:
            if values.nbytes > self._budget:
                raise ValueError(
                    f"layer {key[0]} kind {key[1]!r} of {values.source} holds "
                    f"{describe_bytes(values.nbytes)} of states, more than the "
                    f"{describe_bytes(self._budget)} that states() reads into memory "
                    f"(STATES_BUDGET); use trace.lazy_states(layer={key[0]}, kind={key[1]!r}) "
                    "for a dask array over the store's chunks, or trace.states_in(start, stop, "
                    f"layer={key[0]}, kind={key[1]!r}) for a window of steps (or load the "
                    "trace with Trace.load(path, states_budget=...))"
                )
            self._loaded[key] = values.read()
        return self._loaded[key]

    def states_in(self, start: int, stop: int, *, layer: int = 0, kind: str = "h") -> np.ndarray:
        """The states of steps ``start:stop`` of one layer and kind, reading only those rows.

        What a view shows: from a Zarr store only the chunks the window touches are read, from
        HDF5 only its pages, whatever the trace's size.

        Parameters
        ----------
        start, stop : int
            The steps, ``0 <= start <= stop <= n_steps``, stop exclusive.
        layer : int
            0-based layer index.
        kind : str
            ``"h"``, ``"c"``, a gate name, ... (see :attr:`kinds`).

        Returns
        -------
        ndarray, shape (stop - start, n_cells)
            Read-only float32 rows.

        """
        key = self._state_key(layer, kind)
        start = as_int(start, "start", minimum=0, maximum=self.n_steps)
        stop = as_int(stop, "stop", minimum=start, maximum=self.n_steps)
        values = self._loaded.get(key, self._states[key])
        return values[start:stop]

    def states_at(self, steps: Any, *, layer: int = 0, kind: str = "h") -> np.ndarray:
        """The states of chosen steps of one layer and kind, reading only what holds them.

        From memory or HDF5 this is ``states()[steps]``. From a Zarr store, steps within one
        block (about 32 MiB of rows) are read by window; steps spread further are gathered
        through dask, one task per block they touch (on the cluster of an active
        ``dask.distributed.Client``), so a draw of steps from a store larger than memory
        never loads it.

        Parameters
        ----------
        steps : array-like of int
            Global steps in ``0 .. n_steps - 1``, in any order (repeats allowed).
        layer : int
            0-based layer index.
        kind : str
            ``"h"``, ``"c"``, a gate name, ... (see :attr:`kinds`).

        Returns
        -------
        ndarray, shape (len(steps), n_cells)
            float32 rows, in the order of ``steps``.

        Raises
        ------
        TypeError, ValueError
            On steps that are not a flat array of integers within the trace.

        """
        key = self._state_key(layer, kind)
        chosen = np.asarray(steps)
        chosen = self._check_steps(chosen.astype(np.int64) if chosen.size == 0 else chosen, "steps")
        if chosen.ndim != 1:
            raise ValueError(f"steps must be a 1-D array of steps, got shape {chosen.shape}")
        values = self._loaded.get(key, self._states[key])
        if not isinstance(values, ChunkedStates):
            return np.asarray(values)[chosen]
        if chosen.size == 0:
            return np.empty((0, values.shape[1]), dtype=values.dtype)
        unique, order = np.unique(chosen, return_inverse=True)
        first, last = int(unique[0]), int(unique[-1]) + 1
        if last - first <= block_steps(values):
            rows = values[first:last][unique - first]
        else:
            rows = np.asarray(lazy_array(values)[unique].compute(), dtype=values.dtype)
        return (
            rows
            if len(unique) == len(chosen) and (order == np.arange(len(order))).all()
            else rows[order]
        )

    def lazy_states(self, *, layer: int = 0, kind: str = "h") -> Any:
        """The states of one layer and kind as a dask array, read chunk by chunk when computed.

        One task per block of whole rows, about 32 MiB: whole chunks of a Zarr store (a chunk
        is read by one task only); for a trace in memory or in HDF5, rows of the same size.
        Needs dask (``pip install "rnn_widgets[scale]"``).

        Returns
        -------
        dask.array.Array, shape (n_steps, n_cells)
            float32; computing a chunk of a damaged store raises a ``TraceFileError``.

        """
        key = self._state_key(layer, kind)
        return lazy_array(self._states[key])

    def is_lazy(self, *, layer: int = 0, kind: str = "h") -> bool:
        """Whether the states of one layer and kind stay in their store when read whole.

        True for an array of a Zarr store larger than the trace's states budget (and not read
        already): :meth:`states` refuses it, and the analyses that read every row (``match``,
        ``score_cells``, ``probe``, ``state_pca``, :meth:`value_range`) read it chunk by chunk
        through dask instead, on the cluster of an active ``dask.distributed.Client`` or on
        dask's local scheduler. ``Trace.load(path, states_budget=0)`` makes every state array
        of a store lazy. False for a trace in memory or in HDF5 (memory-mapped).

        Returns
        -------
        bool

        """
        key = self._state_key(layer, kind)
        values = self._states[key]
        return (
            isinstance(values, ChunkedStates)
            and key not in self._loaded
            and values.nbytes > self._budget
        )

    def block_steps(self, *, layer: int = 0, kind: str = "h") -> int:
        """How many steps of one layer and kind to read at once when reading them all.

        Whole chunks of a Zarr store, about 32 MiB of rows (a power of two of steps for
        the stores ``save`` writes); for a trace in memory or in HDF5, rows of about the
        same size. The blocks of :meth:`lazy_states`; what a copy between stores reads at once.

        Returns
        -------
        int
            Steps, at least 1.

        """
        return block_steps(self._states[self._state_key(layer, kind)])

    def _state_key(self, layer: int, kind: str) -> tuple[int, str]:
        """``(layer, kind)`` checked against the recorded states."""
        layer = self._check_layer(layer)
        if not isinstance(kind, str):
            raise TypeError(f"kind must be a str such as 'h', got {type(kind).__name__}")
        as_kind(kind, kinds=self.kinds(layer=layer), of=f"layer {layer} of the trace")
        return layer, kind

    def value_range(
        self, *, layer: int = 0, kind: str = "h", exact: bool = False
    ) -> tuple[float, float]:
        """``(min, max)`` of the states of one layer and kind (cached; never empty).

        A constant array's range is widened by 0.5 on each side. A loaded trace answers from
        the ``min`` / ``max`` its file stores: a hint for display, which a damaged file could
        get wrong. ``exact=True`` computes the range from the states instead (one pass over
        them, cached, which also runs :meth:`check_finite`); do so before refusing a value for
        lying outside the range.
        """
        key = self._state_key(layer, kind)
        if key in self._verified or exact or key not in self._value_ranges:
            return self._verify(key)
        return self._value_ranges[key]

    def check_finite(self, *, layer: int = 0, kind: str = "h") -> None:
        """Raise a ``ValueError`` if the states of one layer and kind hold NaN or infinities.

        Traces built with :meth:`from_arrays` never do, but a saved file is untrusted and
        opening it does not read the states' values. The analyses that read every row of a
        state array (match, score_cells, PCA, ...) call this first, so a damaged file fails
        with a message naming it instead of giving a wrong answer; ``match`` on a store
        checks the values of its one pass instead, and calls this only to name a bad one.
        Reads the array once (block by block); the answer is cached per trace.

        Raises
        ------
        ValueError
            ``cannot use /tmp/t.h5: /states/0/h holds NaN or infinite values (the first at
            step 4, cell 2); ...``, naming the layer and kind for a trace not read from a file.

        """
        self._verify(self._state_key(layer, kind))

    def _verify(self, key: tuple[int, str]) -> tuple[float, float]:
        """The exact ``(min, max)`` of one state array, checking it is finite (cached)."""
        if key in self._verified:
            return self._verified[key]
        values = self._loaded.get(key, self._states[key])
        if self.is_lazy(layer=key[0], kind=key[1]):
            low, high = _lazy_range(values.to_dask())
            if not (np.isfinite(low) and np.isfinite(high)):
                low, high = np.nan, np.nan  # find the first bad value below, block by block
            else:
                self._verified[key] = display_range(low, high)
                return self._verified[key]
        if isinstance(values, ChunkedStates):  # whole chunks, each read once
            block = block_steps(values)
        else:
            block = max(1, (1 << 20) // max(1, values.shape[1]))  # ~4 MB of float32 per block
        low, high = np.inf, -np.inf
        for start in range(0, values.shape[0], block):
            part = values[start : start + block]
            part_low, part_high = part.min(), part.max()  # NaN propagates through both
            if not (np.isfinite(part_low) and np.isfinite(part_high)):
                step, cell = (int(i) for i in np.argwhere(~np.isfinite(part))[0])
                raise self._not_finite(key, start + step, cell)
            low, high = min(low, float(part_low)), max(high, float(part_high))
        low, high = display_range(low, high)
        self._verified[key] = (low, high)
        return low, high

    def _not_finite(self, key: tuple[int, str], step: int, cell: int) -> ValueError:
        problem = f"holds NaN or infinite values (the first at step {step}, cell {cell})"
        if self._source is None:
            return ValueError(
                f"layer {key[0]} kind {key[1]!r} of the trace {problem}; rebuild the trace "
                "from finite states (np.nan_to_num cleans them)"
            )
        where = f"/states/{key[0]}/{key[1]}"
        return TraceFileError(
            f"cannot use {self._source}: {where} {problem}; the file is damaged or the model "
            "produced them: save the trace again from finite states",
            source=self._source,
            where=where,
        )

    # ------------------------------------------------------------------ steps and positions

    def sequence_of(self, step: int | np.ndarray) -> int | np.ndarray:
        """The sequence that contains ``step`` (int, or an int array for an array of steps)."""
        steps = self._check_steps(step, "step")
        sequences = np.searchsorted(self._starts, steps, side="right") - 1
        return int(sequences) if np.ndim(sequences) == 0 else sequences

    def position_of(self, step: int) -> tuple[int, int]:
        """``(sequence, position)`` of a global step; position is 0-based in the sequence."""
        sequence = int(self.sequence_of(step))
        return sequence, int(step) - int(self._starts[sequence])

    def step_of(self, sequence: int, position: int = 0) -> int:
        """The global step of ``position`` within ``sequence`` (negative counts from the end)."""
        start, stop = self.sequence_range(sequence)
        position = as_int(position, "position")
        length = stop - start
        if not -length <= position < length:
            raise ValueError(
                f"position {position} is outside sequence {sequence} of length {length}; "
                f"use 0 .. {length - 1} (or negative positions from the end)"
            )
        return start + position % length

    def sequence_range(self, sequence: int) -> tuple[int, int]:
        """``(start, stop)`` steps of one sequence, stop exclusive."""
        sequence = as_int(sequence, "sequence")
        if not 0 <= sequence < self.n_sequences:
            raise ValueError(
                f"sequence {sequence} does not exist; the trace has sequences "
                f"0 .. {self.n_sequences - 1}"
            )
        return int(self._starts[sequence]), int(self._starts[sequence + 1])

    def sequence_tokens(self, sequence: int) -> list[str]:
        """The tokens of one sequence."""
        start, stop = self.sequence_range(sequence)
        return self._tokens[start:stop]

    def search(self, phrase: str, *, regex: bool = False) -> np.ndarray:
        """The step ranges whose tokens spell ``phrase``, in every sequence, in order.

        The tokens of each sequence are joined into one text (with nothing between them when
        every token of the trace is one character, as in a character-level model; with one
        space otherwise) and searched there, so a phrase may span several tokens: ``"(4)"``
        in a character trace, ``"little prince"`` in a word trace. A hit never crosses a
        sequence boundary.

        Parameters
        ----------
        phrase : str
            The text to find, exactly; or a regular expression (``re`` syntax, run by the
            ``regex`` package, which keeps it) with ``regex=True``.
        regex : bool
            Treat ``phrase`` as a regular expression. Empty matches are skipped.

        Returns
        -------
        ndarray of int64, shape (n_hits, 2)
            ``start, stop`` steps of each hit (the tokens it touches), ``stop`` exclusive;
            empty when there is none.

        Raises
        ------
        ValueError
            On an empty or invalid phrase, or a regular expression that takes longer than
            :data:`SEARCH_TIMEOUT` (1 s) over the whole trace: a pattern that backtracks
            catastrophically, such as ``(a|aa)+$``; simplify it.

        """
        if not isinstance(phrase, str):
            raise TypeError(f"phrase must be a str, got {type(phrase).__name__}")
        if not phrase:
            raise ValueError("phrase is empty; pass the text to find")
        if not isinstance(regex, bool):
            raise TypeError(f"regex must be True or False, got {type(regex).__name__}")
        if not regex:
            pattern = re.compile(re.escape(phrase))  # a literal: linear time, no bound needed
        else:
            try:
                pattern = regex_engine.compile(phrase)
            except regex_engine.error as error:
                raise ValueError(f"phrase is not a valid regular expression: {error}") from None
        deadline = time.monotonic() + SEARCH_TIMEOUT
        separator = "" if self._single_characters() else " "
        hits: list[tuple[int, int]] = []
        for sequence in range(self.n_sequences):
            tokens = self.sequence_tokens(sequence)
            if not tokens:
                continue
            lengths = np.fromiter((len(token) for token in tokens), np.int64, len(tokens))
            token_starts = np.concatenate([[0], np.cumsum(lengths + len(separator))[:-1]])
            text = separator.join(tokens)
            first = self._starts[sequence]
            for found in _find_all(pattern, text, deadline if regex else None, phrase):
                if found.end() == found.start():
                    continue
                start = np.searchsorted(token_starts, found.start(), side="right") - 1
                last = np.searchsorted(token_starts, found.end() - 1, side="right") - 1
                hits.append((int(first + start), int(first + last + 1)))
        return np.array(hits, dtype=np.int64).reshape(-1, 2)

    def _single_characters(self) -> bool:
        """Whether every token is exactly one character (a character-level trace)."""
        data = self._tokens.data
        if len(data) == self.n_steps:  # one byte per token: ASCII characters
            return True
        return all(len(token) == 1 for token in self._tokens)

    def sequence_starts_in(self, start: int, stop: int) -> np.ndarray:
        """The steps in ``start:stop`` at which a sequence begins (int64, ascending)."""
        lo, hi = np.searchsorted(self._starts[:-1], [start, stop], side="left")
        return self._starts[lo:hi]

    # ------------------------------------------------------------------ derived traces

    def with_track(self, name: str, values: Any, label_type: TrackLabelType | None = None) -> Trace:
        """A new trace with an annotation track added (or replaced); this one is unchanged.

        Parameters
        ----------
        name : str
            The track's name.
        values : array-like, shape (n_steps,), or one list per sequence
            Numbers (a numeric track) or labels such as part-of-speech tags (categorical).
        label_type : {"numeric", "categorical"}, optional
            Inferred from the values when omitted: numbers are numeric, anything else
            categorical. Pass ``"categorical"`` for integer class ids.

        """
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty str, got {name!r}")
        track = _make_track(name, values, label_type, self._sequence_lengths(), self.n_steps)
        return self._derived({**self._tracks, name: track}, self._predictions)

    def with_predictions(self, labels: Any, probabilities: Any) -> Trace:
        """A new trace with top-k predictions attached; this one is unchanged.

        Parameters
        ----------
        labels : array-like of str, shape (n_steps, k)
            The predicted tokens after each step, best first.
        probabilities : array-like, shape (n_steps, k)
            Their probabilities, each in [0, 1].

        """
        label_array = np.array(to_numpy(labels), dtype=object)
        prob_array = np.array(to_numpy(probabilities), dtype=np.float32)
        shape = (self.n_steps, label_array.shape[1] if label_array.ndim == 2 else -1)
        if label_array.ndim != 2 or label_array.shape[0] != self.n_steps:
            raise ValueError(
                f"prediction labels must have shape (n_steps={self.n_steps}, k), "
                f"got {label_array.shape}"
            )
        if prob_array.shape != shape:
            raise ValueError(
                f"prediction probabilities must have the labels' shape {shape}, "
                f"got {prob_array.shape}"
            )
        if not np.all((prob_array >= 0) & (prob_array <= 1)):
            raise ValueError("prediction probabilities must lie in [0, 1] (apply a softmax first)")
        texts = _label_texts(label_array.ravel().tolist(), "labels", "the predicted tokens")
        label_tokens = Tokens.from_strings(texts)
        predictions = Predictions(label_tokens, _read_only(prob_array))
        return self._derived(self._tracks, predictions)

    # ------------------------------------------------------------------ helpers

    def __repr__(self) -> str:
        layers = ", ".join(f"{layer}: {self._describe_layer(layer)}" for layer in self.layers)
        return (
            f"Trace({self.n_steps} steps in {self.n_sequences} sequences; layers {{{layers}}}; "
            f"tracks {list(self._tracks)})"
        )

    def _describe_layer(self, layer: int) -> str:
        groups: dict[str, list[str]] = {}
        for kind in self.kinds(layer=layer):
            groups.setdefault(self._groups[(layer, kind)], []).append(kind)
        return " + ".join(
            f"{self.n_cells(layer=layer, kind=kinds[0])} cells {'/'.join(kinds)}"
            for kinds in groups.values()
        )

    def _derived(self, tracks: Mapping[str, Track], predictions: Predictions | None) -> Trace:
        """A trace of the same states (and what is known of them) with other annotations."""
        trace = Trace(
            self._tokens,
            self._starts,
            self._states,
            tracks,
            predictions,
            value_ranges=self._value_ranges,
            source=self._source,
            cell_groups=self._groups,
            states_budget=self._budget,
        )
        trace._verified = self._verified  # the same arrays: share the checks made on them
        trace._loaded = self._loaded  # and what was read of them
        return trace

    def _sequence_lengths(self) -> np.ndarray:
        return np.diff(self._starts)

    def _check_layer(self, layer: int) -> int:
        return as_layer(layer, self.layers)

    def _check_steps(self, step: int | np.ndarray, name: str) -> np.ndarray:
        steps = np.asarray(step)
        if not np.issubdtype(steps.dtype, np.integer):
            raise TypeError(f"{name} must be an int or an int array, got dtype {steps.dtype}")
        if steps.size and (steps.min() < 0 or steps.max() >= self.n_steps):
            raise ValueError(f"{name} must lie in 0 .. {self.n_steps - 1}, got {step}")
        return steps


def _lazy_range(values: Any) -> tuple[float, float]:
    """``(min, max)`` of a dask array, one pass over its chunks (NaN propagates)."""
    dask = require_scale("dask", "lazy states")
    low, high = dask.compute(values.min(), values.max())
    return float(low), float(high)


def display_range(low: float, high: float) -> tuple[float, float]:
    """The ``(min, max)`` a trace gives for states from ``low`` to ``high``, as saved with them.

    A constant array's range (narrower than 1e-6) is widened by 0.5 on each side, so a view
    has an axis to draw it on.
    """
    if high - low < 1e-6:
        return low - 0.5, high + 0.5
    return low, high


def as_trace(value: Any, name: str = "trace") -> Trace:
    """Return ``value`` if it is a :class:`Trace`, or raise naming ``name`` and the fix.

    The one check of a trace argument, shared by the analyses and the views.

    Raises
    ------
    TypeError
        ``trace must be an rnn_widgets.Trace, got ndarray; capture one with
        rnn_widgets.capture(model, sequences) or build one with Trace.from_arrays``.

    """
    if not isinstance(value, Trace):
        raise TypeError(
            f"{name} must be an rnn_widgets.Trace, got {type(value).__name__}; capture one "
            "with rnn_widgets.capture(model, sequences) or build one with Trace.from_arrays"
        )
    return value


def _find_all(pattern: Any, text: str, deadline: float | None, phrase: str) -> Iterable[Any]:
    """``pattern.finditer(text)``; a regular expression stops at ``deadline`` with a ValueError."""
    if deadline is None:
        return pattern.finditer(text)
    try:
        # The regex package's timeout bounds the whole iteration, backtracking included.
        return list(pattern.finditer(text, timeout=max(deadline - time.monotonic(), 1e-3)))
    except TimeoutError:
        raise ValueError(
            f"the regular expression {phrase!r} is too costly: searching the trace took more "
            f"than {SEARCH_TIMEOUT:g} s (SEARCH_TIMEOUT), which a pattern that backtracks "
            "catastrophically does (nested or overlapping repeats such as (a|aa)+ or (a+)+); "
            "simplify it, e.g. drop the repeat around a repeat"
        ) from None


# ---------------------------------------------------------------------- input parsing


def _is_token(value: Any) -> bool:
    return isinstance(value, (str, bytes, numbers.Number, np.generic))


def _split_tokens(tokens: Any, lengths: Sequence[int] | None) -> tuple[list[str], np.ndarray]:
    """Flatten ``tokens`` into one list of str and the per-sequence lengths."""
    if isinstance(tokens, (str, bytes)):
        raise TypeError(
            "tokens must be a list of tokens or a list of sequences, not one string; "
            "for characters pass list(text)"
        )
    if not isinstance(tokens, Iterable):
        raise TypeError(f"tokens must be a list, got {type(tokens).__name__}")
    items = list(tokens)
    if not items:
        raise ValueError("tokens is empty; pass at least one sequence with one token")
    nested = not _is_token(items[0])
    if nested:
        if lengths is not None:
            raise ValueError("pass lengths only with a flat list of tokens, not with sequences")
        sequences = [_as_token_list(seq, f"tokens[{i}]") for i, seq in enumerate(items)]
        seq_lengths = np.array([len(seq) for seq in sequences], dtype=np.int64)
        flat = [token for seq in sequences for token in seq]
    else:
        flat = _as_token_list(items, "tokens")
        if lengths is None:
            seq_lengths = np.array([len(flat)], dtype=np.int64)
        else:
            if isinstance(lengths, (str, bytes)) or not isinstance(lengths, Iterable):
                raise TypeError(
                    "lengths must be a list of ints, one per sequence, got "
                    f"{type(lengths).__name__}"
                )
            # Checked element by element (not through np.asarray, which turns True into 1).
            values = lengths.tolist() if isinstance(lengths, np.ndarray) else list(lengths)
            seq_lengths = np.array(
                [as_int(n, f"lengths[{i}]", minimum=1) for i, n in enumerate(values)],
                dtype=np.int64,
            )
            if seq_lengths.sum() != len(flat):
                raise ValueError(
                    f"lengths add up to {int(seq_lengths.sum())} but there are {len(flat)} "
                    "tokens; the lengths must split the tokens exactly"
                )
    empty = np.flatnonzero(seq_lengths == 0)
    if empty.size:
        raise ValueError(
            f"sequence {int(empty[0])} has no tokens; drop empty sequences before building a Trace"
        )
    return flat, seq_lengths


def _as_token_list(sequence: Any, name: str) -> list[str]:
    if isinstance(sequence, (str, bytes)) or not isinstance(sequence, Iterable):
        raise TypeError(
            f"{name} must be a list of tokens, got {type(sequence).__name__}; "
            "for characters pass list(text)"
        )
    tokens = list(sequence)
    for position, token in enumerate(tokens):
        if not _is_token(token):
            raise TypeError(
                f"{name}[{position}] must be a str (or a number), got {type(token).__name__}"
            )
    texts = [
        _token_text(t, f"{name}[{i}]") if isinstance(t, bytes) else str(t)
        for i, t in enumerate(tokens)
    ]
    try:
        "".join(texts).encode("utf-8")  # one pass: what Tokens stores must be UTF-8
    except UnicodeEncodeError:
        for position, text in enumerate(texts):
            encodable_text(text, f"{name}[{position}]")
    return texts


def _token_text(token: bytes, name: str) -> str:
    """A bytes token decoded as UTF-8, or a ValueError naming it and the fix."""
    try:
        return token.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{name} is bytes that are not UTF-8 ({error.reason} at byte {error.start}: "
            f"{token[error.start : error.start + 1]!r}); decode it yourself, e.g. "
            "token.decode('latin-1') or token.decode('utf-8', 'replace')"
        ) from None


def _state_entries(states: Any) -> list[tuple[tuple[int, str], Any]]:
    """Normalise the accepted ``states`` forms into ``[((layer, kind), array), ...]``."""
    if not isinstance(states, Mapping):
        return [((0, "h"), states)]
    if not states:
        raise ValueError("states is empty; pass at least one (n_steps, n_cells) array")
    entries: list[tuple[tuple[int, str], Any]] = []
    for key, value in states.items():
        if isinstance(key, tuple):
            if len(key) != 2:
                raise ValueError(f"states key {key!r} must be a (layer, kind) pair")
            entries.append(
                ((as_int(key[0], "states layer", minimum=0), as_kind(key[1], "states kind")), value)
            )
        elif isinstance(key, str):
            entries.append(((0, as_kind(key, "states kind")), value))
        elif isinstance(key, numbers.Integral) and not isinstance(key, bool):
            if not isinstance(value, Mapping):
                raise TypeError(f"states[{key}] must map kinds to arrays, e.g. {{'h': array}}")
            layer = as_int(key, "states layer", minimum=0)
            entries.extend(
                ((layer, as_kind(kind, "states kind")), arr) for kind, arr in value.items()
            )
        else:
            raise TypeError(
                f"states key {key!r} must be (layer, kind), a kind such as 'h', or a layer int"
            )
    keys = [key for key, _ in entries]
    if len(set(keys)) != len(keys):
        raise ValueError("states names the same (layer, kind) twice")
    return entries


def _join_sequences(value: Any, seq_lengths: np.ndarray) -> Any:
    """Concatenate one-array-per-sequence input; pass flat arrays through."""
    if isinstance(value, (list, tuple)) and value and np.ndim(to_numpy(value[0])) == 2:
        if len(value) != len(seq_lengths):
            raise ValueError(
                f"states has {len(value)} per-sequence arrays but there are "
                f"{len(seq_lengths)} sequences; pass one array per sequence"
            )
        parts = [to_numpy(part) for part in value]
        for index, (part, length) in enumerate(zip(parts, seq_lengths, strict=True)):
            if part.shape[0] != length:
                raise ValueError(
                    f"states for sequence {index} has {part.shape[0]} rows but the sequence "
                    f"has {length} tokens; pass one state row per token"
                )
        return np.concatenate(parts, axis=0)
    return value


def _cell_groups(
    states: Mapping[tuple[int, str], np.ndarray], declared: Mapping[tuple[int, str], str]
) -> dict[tuple[int, str], str]:
    """Every kind's cell group (see :func:`resolve_cell_groups`)."""
    return resolve_cell_groups({key: int(v.shape[1]) for key, v in states.items()}, declared)


def resolve_cell_groups(
    widths: Mapping[tuple[int, str], int], declared: Mapping[tuple[int, str], str]
) -> dict[tuple[int, str], str]:
    """Every kind's cell group: as declared, else the first undeclared kind of its width.

    ``widths`` are the cells of each ``(layer, kind)``; what a trace of such states holds,
    before its states exist (a capture into a store writes them as it goes).

    Raises ValueError if one group would hold kinds of different widths.
    """
    groups: dict[tuple[int, str], str] = {}
    for layer in sorted({lay for lay, _ in widths}):
        kinds = sorted((kind for lay, kind in widths if lay == layer), key=_kind_order)
        by_width: dict[int, str] = {}
        first_of: dict[str, tuple[str, int]] = {}
        for kind in kinds:
            width = int(widths[(layer, kind)])
            group = declared.get((layer, kind)) or by_width.setdefault(width, kind)
            first = first_of.setdefault(group, (kind, width))
            if first[1] != width:
                raise ValueError(
                    f"layer {layer}: kind {kind!r} has {width} cells but kind {first[0]!r} of "
                    f"the same cell group {group!r} has {first[1]}; kinds of one group share "
                    "their cells, so give kinds of different widths different groups"
                )
            groups[(layer, kind)] = group
    return groups


def _declared_groups(declared: Any, states: Mapping[tuple[int, str], Any]) -> dict:
    """``cell_groups`` as ``{(layer, kind): name}``, checked against the states' keys."""
    if declared is None:
        return {}
    if not isinstance(declared, Mapping):
        raise TypeError(
            "cell_groups must map (layer, kind) tuples (or kinds of layer 0) to group names, "
            f"got {type(declared).__name__}"
        )
    groups = {}
    for key, name in declared.items():
        full = (0, key) if isinstance(key, str) else key
        if full not in states:
            raise ValueError(
                f"cell_groups names {key!r}, which is not among the states' (layer, kind) keys "
                f"{sorted(states)}; name recorded kinds only"
            )
        try:
            groups[full] = as_kind(name)
        except ValueError:
            raise ValueError(
                f"cell_groups[{key!r}] must be a group name, a short identifier such as "
                f"'channels', got {name!r}"
            ) from None
    return groups


def _kind_order(kind: str) -> tuple[int, str]:
    return (KNOWN_KINDS.index(kind) if kind in KNOWN_KINDS else len(KNOWN_KINDS), kind)


def _make_track(
    name: str,
    values: Any,
    label_type: TrackLabelType | None,
    seq_lengths: np.ndarray,
    n_steps: int,
) -> Track:
    if label_type not in (None, "numeric", "categorical"):
        raise ValueError(f"label_type must be 'numeric' or 'categorical', got {label_type!r}")
    array = to_numpy(_join_track_sequences(values, seq_lengths))
    if array.ndim != 1 or array.shape[0] != n_steps:
        raise ValueError(
            f"track {name!r} must have one value per step ({n_steps}), got shape {array.shape}"
        )
    numeric = np.issubdtype(array.dtype, np.number) and not np.issubdtype(
        array.dtype, np.complexfloating
    )
    if label_type is None:
        label_type = "numeric" if numeric else "categorical"
    if label_type == "numeric":
        if not numeric:
            raise TypeError(f"track {name!r} is numeric but holds {array.dtype} values")
        numbers_ = np.array(array, dtype=np.float32)
        if not np.isfinite(numbers_).all():
            raise ValueError(f"track {name!r} has NaN or infinite values; clean them first")
        return Track(name, "numeric", _read_only(numbers_))
    texts = _label_texts(
        array.tolist(), f"track {name!r}", "a categorical track: one label per step"
    )
    labels = np.array(texts, dtype=object)
    categories, codes = np.unique(labels, return_inverse=True)
    return Track(
        name, "categorical", _read_only(codes.astype(np.int32)), tuple(categories.tolist())
    )


def _label_texts(values: list[Any], name: str, what: str) -> list[str]:
    """Each value as label text (strings and integers); any other object is refused.

    ``name`` names the argument in errors (``track 'pos'``, ``labels``); ``what`` says what
    one value is (``one label per step``).
    """
    # Each distinct value is checked once: a million-step track holds a few dozen labels.
    checked: dict[Any, str] = {}
    texts = []
    for index, value in enumerate(values):
        key = (type(value), value)  # True == 1 == 1.0, but their labels differ
        try:
            texts.append(checked[key])
            continue
        except (KeyError, TypeError):  # new, or unhashable (refused below)
            pass
        if isinstance(value, (str, numbers.Integral)):
            text = encodable_text(str(value), f"{name} at {index}")
        elif isinstance(value, numbers.Real) and math.isfinite(value):
            text = str(value)
        else:
            raise TypeError(
                f"{name} holds {type(value).__name__} {value!r} at {index}; its values must be "
                f"strings or integers ({what})"
            )
        checked[key] = text
        texts.append(text)
    return texts


def _join_track_sequences(values: Any, seq_lengths: np.ndarray) -> Any:
    """Flatten one-list-per-sequence track values; pass flat values through."""
    per_sequence = (
        isinstance(values, (list, tuple))
        and len(values) == len(seq_lengths)
        and all(
            isinstance(v, (list, tuple, np.ndarray)) and len(v) == n
            for v, n in zip(values, seq_lengths, strict=True)
        )
    )
    if per_sequence:
        return np.asarray([item for v in values for item in list(v)])
    return values
