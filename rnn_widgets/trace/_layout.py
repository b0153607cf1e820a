"""The saved-trace layout and its checks, written once for every store that holds a trace.

A saved trace is untrusted input: a file copied half-way, written by another tool, edited by
hand. :func:`read_trace` opens one through a small :class:`StoreReader` (the HDF5 file of
``_storage``, the Zarr store of ``_zarr``), checks its whole layout and returns a
:class:`~rnn_widgets.trace.Trace`, or raises one :class:`TraceFileError` (a ``ValueError``)
naming the file, the dataset and the problem. Nothing is returned half-checked, and no
``KeyError``, ``IndexError``, ``JSONDecodeError`` or store error escapes: whatever a reader
raises on a damaged store is reported as that dataset being unreadable.

Layout (format ``rnn_widgets.trace``, version 2), the same groups, arrays and attributes in
both stores::

    /                        attrs: format, version
    /tokens/data             uint8    UTF-8 bytes of all tokens
    /tokens/offsets          uint64   (n_steps + 1,)
    /sequence_starts         int64    (n_sequences + 1,)
    /states/<layer>/<kind>   float32  (n_steps, n_cells); attrs min, max, cell_group
    /tracks/<i>              float32 or int32 (n_steps,); attrs name, kind, categories (JSON)
    /predictions/labels/data, /predictions/labels/offsets, /predictions/probabilities

Storage, per store:

* HDF5 (one file, ``rnn_widgets.trace._storage``): every dataset contiguous and
  uncompressed, so it is memory-mapped on load.
* Zarr (one group, a folder or any URL the user's zarr opens; ``rnn_widgets.trace._zarr``):
  Zarr format 3, one array per path above, attributes in its ``zarr.json``; uncompressed.
  State arrays are chunked by whole rows, a power of two of steps of at most 4 MiB
  (``_chunked.chunk_steps``: 2,048 steps of 512 cells), their fill value NaN; other arrays
  by up to 4 MiB of values. Every chunk is stored (``write_empty_chunks``). Stores that
  other tools wrote with other chunks, codecs or as Zarr format 2 open too.

Checked when the trace is opened (metadata and the small arrays; the states' values are never
read, so a million-step trace of 512 cells still opens in milliseconds):

* ``format`` is ``"rnn_widgets.trace"``; ``version`` an int from 1 to :data:`VERSION` (a newer
  one says to upgrade rnn_widgets).
* Tokens: ``data`` uint8 of rank 1; ``offsets`` integers of length n_steps + 1 (n_steps >= 1),
  starting at 0, never decreasing, ending at ``len(data)``; the bytes decode as UTF-8 and no
  token starts inside a character.
* ``sequence_starts``: integers of rank 1, starting at 0, strictly increasing, ending at
  n_steps (so no sequence is empty).
* States: layer groups named by non-negative ints (``"0"``, not ``"00"``), at least one, each
  with at least one kind named as :func:`~rnn_widgets._validation.as_kind` accepts; every state
  dataset float32 of rank 2 with n_steps rows and at least one cell; attributes ``min`` and
  ``max`` finite numbers with ``min <= max``. Version 2: attribute ``cell_group`` (optional:
  without it the kinds of a layer with one width are one group), a name as kinds have, the
  same width for every kind of a layer in one group (kinds of different widths,
  as a Mamba layer's, are different groups; see ``Trace.cell_group``). Version 1 (before
  kinds could differ in width) has no ``cell_group``: all kinds of a layer have one width and
  are one group.
* Tracks: named by ints; each of length n_steps; ``name`` a non-empty string unique in the
  trace; ``kind`` (its ``Track.label_type``) ``"numeric"`` or ``"categorical"``;
  ``categories`` a JSON list of distinct strings. Numeric values are floats and finite (empty
  categories); categorical codes are integers in ``0 .. len(categories) - 1`` (there is no
  "missing" code). Track values are one number per step, so they are read and checked.
* Predictions (optional): ``probabilities`` floats of shape (n_steps, k), k >= 1, finite and in
  [0, 1]; ``labels`` tokens as above, n_steps * k of them.
* The store itself: an HDF5 file not cut short (no dataset's bytes past its end); a Zarr
  store not marked as an unfinished capture (``rw.capture(..., store=)`` marks it so until
  its last step is written; the message says how to resume), with every chunk of every
  array present (a missing chunk would read as the fill value) and, where the store is a
  local folder and the array uncompressed, each chunk file exactly as long as its chunk
  shape needs (a chunk written with another width or cut short).

Checked lazily, by the analyses that read whole state arrays (one pass, cached per trace):

* NaN or infinite states: :meth:`Trace.check_finite` raises naming the file and dataset.
* A chunk of a remote Zarr store that fails while read (cut short, gone): the read raises a
  :class:`TraceFileError` naming the store and the array.
* The stored ``min`` / ``max`` are a hint, used for display. Before a value is refused for lying
  outside them, the range is computed from the states (``Trace.value_range(exact=True)``).

A store plugs in by implementing :class:`StoreReader` over its own groups and arrays; paths are
absolute and ``/``-separated (``/states/0/h``), as the messages name them.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np

from .._validation import as_kind
from ._tokens import Tokens

if TYPE_CHECKING:
    from ._chunked import ChunkedStates
    from ._trace import Predictions, Trace, Track

__all__ = ["FORMAT", "LABEL_TYPES", "VERSION", "StoreReader", "TraceFileError", "read_trace"]

FORMAT = "rnn_widgets.trace"
#: Version 2 (2026-12) added ``cell_group``: the kinds of a layer may differ in width.
VERSION = 2
#: The values of a track's ``kind`` attribute (its ``Track.label_type``).
LABEL_TYPES = ("numeric", "categorical")

_RESAVE = "the file is damaged or was not written by trace.save; save the trace again"
_T = TypeVar("_T")


class TraceFileError(ValueError):
    """A stored trace that breaks its layout; the message names the file and the dataset.

    Attributes
    ----------
    source : str
        The file (or store) as the reader names it.
    where : str
        The dataset or group, e.g. ``"/states/0/h"`` (``"/"`` for the file's own attributes).

    """

    def __init__(self, message: str, *, source: str, where: str) -> None:
        super().__init__(message)
        self.source = source
        self.where = where


def damaged(source: str, where: str, problem: str, advice: str = _RESAVE) -> TraceFileError:
    """The error for a stored trace whose ``where`` has ``problem`` (found when opening it)."""
    return TraceFileError(
        f"cannot open {source} as a trace: {where} {problem}; {advice}", source=source, where=where
    )


class StoreReader(Protocol):
    """What :func:`read_trace` needs of a store: groups, arrays, attributes; nothing more.

    Paths are absolute and ``/``-separated. Any method may raise on a damaged store: the
    error is reported as that path being unreadable.
    """

    #: How messages name the store, e.g. the file's path.
    source: str

    def members(self, path: str) -> list[str] | None:
        """The names in the group at ``path``; None when there is no group there."""

    def info(self, path: str) -> tuple[tuple[int, ...], np.dtype] | None:
        """``(shape, dtype)`` of the array at ``path``; None when there is no array there."""

    def attrs(self, path: str) -> Mapping[str, Any]:
        """The attributes of the group or array at ``path`` (read on access)."""

    def read(self, path: str) -> np.ndarray:
        """The whole array at ``path`` in memory (used for small arrays only)."""

    def array(self, path: str) -> np.ndarray:
        """The array at ``path``, read-only, without reading it where the store can."""

    def states(self, path: str) -> np.ndarray | ChunkedStates:
        """The state array at ``path``: an ndarray as :meth:`array`, or one read by window."""


def read_trace(reader: StoreReader, *, states_budget: int | None = None) -> Trace:
    """Check the layout of the trace ``reader`` holds and open it (see the module docstring).

    ``states_budget`` bounds what ``trace.states()`` reads whole from a chunked store.

    Raises
    ------
    TraceFileError
        A ``ValueError`` naming the file, the dataset and the problem.

    """
    from ._trace import Trace

    check = _Checker(reader)
    check.header()
    tokens = check.tokens("/tokens")
    n_steps = len(tokens)
    starts = check.sequence_starts(n_steps)
    states, ranges, groups = check.states(n_steps)
    tracks = check.tracks(n_steps)
    predictions = check.predictions(n_steps)
    return Trace(
        tokens,
        starts,
        states,
        tracks,
        predictions,
        value_ranges=ranges,
        source=reader.source,
        cell_groups=groups,
        **({} if states_budget is None else {"states_budget": states_budget}),
    )


class _Checker:
    """The checks of one store; every failure raises :class:`TraceFileError`."""

    def __init__(self, reader: StoreReader) -> None:
        self.reader = reader
        self.source = str(reader.source)

    # ----------------------------------------------------------------- access, wrapped

    def fail(self, where: str, problem: str, advice: str = _RESAVE) -> TraceFileError:
        return damaged(self.source, where, problem, advice)

    def call(self, where: str, function: Callable[[str], _T]) -> _T:
        """``function(where)``, any store error reported as ``where`` being unreadable."""
        try:
            return function(where)
        except (TraceFileError, MemoryError):
            raise
        except Exception as error:  # a damaged store may raise anything: name where it did
            raise self.fail(where, f"cannot be read ({type(error).__name__}: {error})") from error

    def group(self, path: str, *, required: bool = True) -> list[str] | None:
        names = self.call(path, self.reader.members)
        if names is None:
            if self.call(path, self.reader.info) is not None:
                raise self.fail(path, "is an array where a group belongs")
            if required:
                raise self.fail(path, "is missing")
            return None
        return [str(name) for name in names]

    def info(
        self, path: str, rank: int, dtype_kinds: str, what: str
    ) -> tuple[tuple[int, ...], np.dtype]:
        """``(shape, dtype)`` of the array at ``path``, checked for ``rank`` and dtype kind."""
        found = self.call(path, self.reader.info)
        if found is None:
            if self.call(path, self.reader.members) is not None:
                raise self.fail(path, "is a group where an array belongs")
            raise self.fail(path, "is missing")
        shape, dtype = tuple(int(n) for n in found[0]), np.dtype(found[1])
        if len(shape) != rank:
            raise self.fail(path, f"has shape {shape} but must have rank {rank}")
        if dtype.kind not in dtype_kinds:
            raise self.fail(path, f"holds {dtype} values but must hold {what}")
        return shape, dtype

    def attr(self, path: str, name: str, default: Any = None) -> Any:
        def get(where: str) -> Any:
            attrs = self.reader.attrs(where)
            return attrs[name] if name in attrs else default

        value = self.call(path, get)
        if value is None and default is None:
            raise self.fail(path, f"has no {name!r} attribute")
        return value

    def text(self, path: str, name: str, default: str | None = None) -> str:
        value = self.attr(path, name, default)
        if isinstance(value, np.ndarray) and value.shape == ():
            value = value[()]
        if isinstance(value, (bytes, np.bytes_)):
            try:
                value = bytes(value).decode("utf-8")
            except UnicodeDecodeError:
                raise self.fail(path, f"has a {name!r} attribute that is not UTF-8 text") from None
        if not isinstance(value, str):
            raise self.fail(
                path, f"has a {name!r} attribute of type {type(value).__name__}, not a string"
            )
        return str(value)

    def number(self, path: str, name: str) -> float:
        value = self.attr(path, name)
        if isinstance(value, np.ndarray) and value.shape == ():
            value = value[()]
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise self.fail(path, f"has a {name!r} attribute {value!r} that is not a number")
        number = float(value)
        if not math.isfinite(number):
            raise self.fail(path, f"has a {name!r} attribute of {number}, not a finite number")
        return number

    def array(self, path: str) -> np.ndarray:
        return self.call(path, self.reader.array)

    def read(self, path: str) -> np.ndarray:
        return self.call(path, lambda where: np.asarray(self.reader.read(where)))

    def converted(self, path: str, values: np.ndarray, dtype: type) -> np.ndarray:
        """``values`` as read-only ``dtype`` (itself when it already is; else read whole)."""
        if values.dtype == dtype:
            return values
        array = self.call(path, lambda _: np.array(values, dtype=dtype))
        array.flags.writeable = False
        return array

    # ----------------------------------------------------------------- the layout

    def header(self) -> None:
        fmt = self.attr("/", "format", "")
        if isinstance(fmt, (bytes, np.bytes_)):
            fmt = bytes(fmt).decode("utf-8", errors="replace")
        if fmt != FORMAT:
            raise self.fail(
                "/",
                f"has no format={FORMAT!r} attribute: the file is not a saved trace",
                "for an LSTMVis project use Trace.from_lstmvis; otherwise save the trace "
                "with trace.save",
            )
        version = self.attr("/", "version")
        if isinstance(version, np.ndarray) and version.shape == ():
            version = version[()]
        if isinstance(version, (bool, np.bool_)) or not isinstance(version, numbers.Integral):
            raise self.fail("/", f"has a 'version' attribute {version!r} that is not an int")
        if int(version) > VERSION:
            raise self.fail(
                "/",
                f"has trace format version {int(version)}: the file was written by a newer "
                f"rnn_widgets (this one reads versions 1 to {VERSION})",
                "upgrade rnn_widgets (pip install -U rnn_widgets) to open it",
            )
        if int(version) < 1:
            raise self.fail("/", f"has trace format version {int(version)}; versions start at 1")
        self.version = int(version)

    def tokens(self, group: str, count: int | None = None) -> Tokens:
        """The tokens of ``group`` (``data`` and ``offsets``); ``count`` of them if given."""
        self.group(group)
        data_path, offsets_path = f"{group}/data", f"{group}/offsets"
        _, dtype = self.info(data_path, 1, "u", "uint8 values (UTF-8 bytes)")
        if dtype != np.uint8:
            raise self.fail(data_path, f"holds {dtype} values but must hold uint8 (UTF-8 bytes)")
        (n_offsets,), _ = self.info(offsets_path, 1, "iu", "integers (byte offsets)")
        if count is None and n_offsets < 2:
            raise self.fail(offsets_path, f"has {n_offsets} entries; a trace has at least 1 token")
        if count is not None and n_offsets != count + 1:
            raise self.fail(
                offsets_path,
                f"has {n_offsets} entries but must have {count + 1} (one per token, plus 1)",
            )
        data = self.array(data_path)
        offsets = self.array(offsets_path)
        if n_offsets == 0 or offsets[0] != 0:
            raise self.fail(offsets_path, "does not start at 0")
        decreasing = np.flatnonzero(offsets[1:] < offsets[:-1])
        if decreasing.size:
            token = int(decreasing[0])
            raise self.fail(
                offsets_path, f"decreases after token {token}: token offsets must never decrease"
            )
        if int(offsets[-1]) != len(data):
            raise self.fail(
                offsets_path,
                f"ends at {int(offsets[-1])} but {data_path} has {len(data)} bytes",
            )
        if len(data) and int(data.max()) >= 0x80:  # ASCII needs no decoding
            try:
                bytes(data).decode("utf-8")
            except UnicodeDecodeError as error:
                raise self.fail(data_path, f"is not UTF-8 (byte {error.start})") from None
            inside = offsets[:-1][offsets[:-1] < len(data)]
            split = np.flatnonzero((data[inside] & 0xC0) == 0x80)
            if split.size:
                byte = int(inside[split[0]])
                raise self.fail(
                    offsets_path, f"starts a token inside a UTF-8 character (byte {byte})"
                )
        return Tokens(data, offsets)

    def sequence_starts(self, n_steps: int) -> np.ndarray:
        path = "/sequence_starts"
        (length,), _ = self.info(path, 1, "iu", "integers (steps)")
        if length < 2:
            raise self.fail(path, f"has {length} entries; a trace has at least 1 sequence (2)")
        raw = self.read(path)
        if raw[0] != 0:
            raise self.fail(path, f"starts at {raw[0]}, not at step 0")
        if (raw[1:] <= raw[:-1]).any():
            at = int(np.flatnonzero(raw[1:] <= raw[:-1])[0])
            raise self.fail(
                path, f"does not increase at sequence {at}: sequences must be non-empty, in order"
            )
        if int(raw[-1]) != n_steps:
            raise self.fail(path, f"ends at step {int(raw[-1])} but the trace has {n_steps} tokens")
        starts = raw.astype(np.int64)
        starts.flags.writeable = False
        return starts

    def states(
        self, n_steps: int
    ) -> tuple[
        dict[tuple[int, str], np.ndarray],
        dict[tuple[int, str], tuple[float, float]],
        dict[tuple[int, str], str],
    ]:
        layers = self.group("/states")
        if not layers:
            raise self.fail("/states", "holds no layer; a trace records at least one")
        states: dict[tuple[int, str], np.ndarray] = {}
        ranges: dict[tuple[int, str], tuple[float, float]] = {}
        groups: dict[tuple[int, str], str] = {}
        for name in layers:
            layer = self.index(f"/states/{name}", name, "layer")
            kinds = self.group(f"/states/{name}")
            if not kinds:
                raise self.fail(f"/states/{name}", "holds no state kind (such as 'h')")
            widths: dict[str, tuple[str, int]] = {}
            for kind in kinds:
                path = f"/states/{name}/{kind}"
                try:
                    as_kind(kind)
                except ValueError:
                    raise self.fail(
                        path, f"is named {kind!r}, not a state kind (a short name such as 'h')"
                    ) from None
                (rows, cells), dtype = self.info(path, 2, "f", "float32 values")
                if dtype.itemsize != 4:
                    raise self.fail(path, f"holds {dtype} values but must hold float32 values")
                if rows != n_steps:
                    raise self.fail(
                        path, f"has {rows} rows but the trace has {n_steps} steps (one per token)"
                    )
                if cells < 1:
                    raise self.fail(path, "has no cells (0 columns)")
                group = self.cell_group(path)
                # Kinds without a group are grouped by width, except in version 1.
                shared = group if group is not None else ("" if self.version == 1 else path)
                first = widths.setdefault(shared, (path, cells))
                if first[1] != cells:
                    raise self.fail(
                        path,
                        f"has {cells} cells but {first[0]} of the same cell group {group!r} has "
                        f"{first[1]}; kinds of one group share their cells"
                        if self.version > 1
                        else f"has {cells} cells but {first[0]} has {first[1]}; in a version 1 "
                        "file all kinds of a layer share its cells",
                    )
                if group is not None:
                    groups[(layer, kind)] = group
                low, high = self.number(path, "min"), self.number(path, "max")
                if low > high:
                    raise self.fail(path, f"has a 'min' attribute ({low}) above its 'max' ({high})")
                values = self.call(path, self.reader.states)
                if values.dtype != np.float32:  # the other byte order: convert, read whole
                    values = self.converted(path, values, np.float32)
                states[(layer, kind)] = values
                ranges[(layer, kind)] = (low, high)
        return states, ranges, groups

    def cell_group(self, path: str) -> str | None:
        """A state dataset's cell group: its attribute (version 2); None: group by width."""
        if self.version == 1 or self.attr(path, "cell_group", False) is False:
            return None
        group = self.text(path, "cell_group")
        try:
            return as_kind(group)
        except ValueError:
            raise self.fail(
                path, f"has a 'cell_group' attribute {group!r} that is not a short name"
            ) from None

    def tracks(self, n_steps: int) -> dict[str, Track]:
        from ._trace import Track

        names = self.group("/tracks", required=False) or []
        indexed = sorted((self.index(f"/tracks/{n}", n, "track"), n) for n in names)
        tracks: dict[str, Track] = {}
        seen: dict[str, str] = {}
        for _, index in indexed:
            path = f"/tracks/{index}"
            (length,), _ = self.info(path, 1, "fiu", "numbers (one per step)")
            if length != n_steps:
                raise self.fail(path, f"has {length} values but the trace has {n_steps} steps")
            name = self.text(path, "name")
            if not name:
                raise self.fail(path, "has an empty 'name' attribute")
            if name in seen:
                raise self.fail(
                    path, f"is named {name!r} like {seen[name]}; track names are unique"
                )
            seen[name] = path
            label_type = self.text(path, "kind")  # the on-disk name of Track.label_type
            if label_type not in LABEL_TYPES:
                raise self.fail(
                    path,
                    f"has a 'kind' attribute {label_type!r}; a track is one of {list(LABEL_TYPES)}",
                )
            categories = self.categories(path)
            values = self.array(path)
            if label_type == "numeric":
                if values.dtype.kind != "f":
                    raise self.fail(path, f"is a numeric track but holds {values.dtype} values")
                if categories:
                    raise self.fail(path, "is a numeric track but has categories")
                values = self.converted(path, values, np.float32)
                if not np.isfinite(values).all():
                    raise self.fail(path, "holds NaN or infinite values")
            else:
                if values.dtype.kind not in "iu":
                    raise self.fail(
                        path, f"is a categorical track but holds {values.dtype} values, not codes"
                    )
                low, high = int(values.min()), int(values.max())
                if low < 0 or high >= len(categories):
                    raise self.fail(
                        path,
                        f"holds codes {low} .. {high} but has {len(categories)} categories "
                        f"(codes 0 .. {len(categories) - 1})",
                    )
                values = self.converted(path, values, np.int32)
            tracks[name] = Track(name, label_type, values, categories)  # type: ignore[arg-type]
        return tracks

    def categories(self, path: str) -> tuple[str, ...]:
        raw = self.attr(path, "categories", "[]")
        if isinstance(raw, np.ndarray) and raw.shape == ():
            raw = raw[()]
        if isinstance(raw, (str, bytes, np.bytes_)):
            text = self.text(path, "categories", "[]")
            try:
                raw = json.loads(text)
            except ValueError as error:  # JSONDecodeError is a ValueError
                problem = f"has a 'categories' attribute that is not JSON ({error})"
                raise self.fail(path, problem) from None
        if not isinstance(raw, (list, tuple)) or not all(isinstance(c, str) for c in raw):
            raise self.fail(path, "has a 'categories' attribute that is not a list of strings")
        if len(set(raw)) != len(raw):
            raise self.fail(path, "has a 'categories' attribute that repeats a category")
        return tuple(raw)

    def predictions(self, n_steps: int) -> Predictions | None:
        from ._trace import Predictions

        if self.group("/predictions", required=False) is None:
            return None
        path = "/predictions/probabilities"
        (rows, k), _ = self.info(path, 2, "f", "float probabilities")
        if rows != n_steps:
            raise self.fail(path, f"has {rows} rows but the trace has {n_steps} steps")
        if k < 1:
            raise self.fail(path, "has no columns; k predictions per step need k >= 1")
        labels = self.tokens("/predictions/labels", count=n_steps * k)
        probabilities = self.array(path)
        checked = self.converted(path, probabilities, np.float32)
        if not ((checked >= 0) & (checked <= 1)).all():  # False for NaN too
            raise self.fail(path, "holds values outside [0, 1] (or NaN)")
        return Predictions(labels, checked)

    def index(self, path: str, name: str, what: str) -> int:
        """A group member named by a non-negative int, written plainly (``"3"``)."""
        if not (name.isascii() and name.isdigit() and str(int(name)) == name):
            raise self.fail(path, f"is not named by a {what} number (0, 1, ...)")
        return int(name)
