"""Traces in Zarr stores: one group of chunked, uncompressed arrays, for traces past memory.

Why Zarr beside HDF5: an HDF5 trace is one file on one machine, memory-mapped; a Zarr store
is a folder (or a prefix of an object store) of one small object per chunk, which many
processes and machines read at once without a shared file handle, which dask reads chunk by
chunk (``trace.lazy_states()``), and which any fsspec URL the user's zarr supports can hold
(``s3://bucket/run.zarr``). The layout is the HDF5 one, group for group and attribute for
attribute: it is stated once, with every check made on opening, in
``rnn_widgets.trace._layout``; this module writes it to Zarr and gives ``_layout`` a reader
over a store. ``docs/scale.md`` is the user's guide.

Writing (:func:`save_zarr`): Zarr format 3; state arrays chunked by whole rows, a power of two
of steps of at most 4 MiB (``_chunked.chunk_steps``, which says why), so that the analyses'
blocks (powers of two of steps too) line up with them; the other arrays by up to 4 MiB of
values. No compressor: recorded states are dense float32 noise to a compressor (tanh
outputs, gate activations), which zstd or blosc shrink by 10 to 15% while reading at a third
to two thirds of the speed and taking two to five times as long for a view's window (measured
in ``docs/scale.md``); and an uncompressed chunk's size is known, so a chunk cut short is
found on opening. The states' fill value is NaN and every chunk is written
(``write_empty_chunks``), so a chunk lost later is refused on opening, and would read as NaN
(caught by ``Trace.check_finite``) rather than as plausible zeros. States are copied block
by block from the source trace, so converting an HDF5 trace (memory-mapped) or another Zarr
store never holds a whole state array in memory. A local store is written into a hidden
folder beside its destination and renamed into place when complete; a store at a URL is
written in place (object stores cannot rename a prefix).

Reading (:func:`load_zarr`): the group's metadata is read without consolidated metadata
(which another tool may have left stale); each node is opened by its path, group members are
listed from the store, so one damaged ``zarr.json`` is named by its own path. The tokens,
bounds, tracks and predictions are read into memory (they are checked value by value, and
take a byte or a few per step); each state array stays in the store as a
``_chunked.ChunkedStates``. Every array's chunks are listed once: a store missing one is
refused; for a local, uncompressed array each chunk file's length is checked too. A store
that ``rw.capture(..., store=path)`` has not finished writing (its root attribute ``capture``
says so; ``_store_writer`` writes it) is refused first, saying how to resume the capture.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._chunked import (
    CHUNK_BYTES,
    STATES_BUDGET,
    ChunkedStates,
    chunk_steps,
    require_scale,
)
from ._layout import FORMAT, VERSION, TraceFileError, damaged, read_trace
from ._storage import is_url
from ._tokens import Tokens

if TYPE_CHECKING:
    from ._trace import Trace

__all__ = [
    "CAPTURE_ATTRIBUTE",
    "create_rows",
    "is_store",
    "load_zarr",
    "save_zarr",
    "unfinished_capture",
    "vector_chunk",
    "write_tokens",
    "write_vector",
]

#: The root attribute where a capture into a store (``rw.capture(..., store=path)``) keeps
#: its record: ``complete``, the steps written so far, and what it captured (a fingerprint).
CAPTURE_ATTRIBUTE = "capture"

_METADATA = ("zarr.json", ".zgroup", ".zarray")
_INCOMPLETE = (
    "the store was copied or written only in part: copy or save it again (a tool that "
    "leaves empty chunks out must write them: zarr's write_empty_chunks=True)"
)


def unfinished_capture(source: str, attributes: Any) -> TraceFileError | None:
    """The error for a store whose capture has not finished; None for any other store.

    A capture into a store (``rw.capture(..., store=path)``) marks the store unfinished
    until its last step is written; such a store holds NaN where states are still missing,
    so it is refused, saying how to resume it.
    """
    record = attributes.get(CAPTURE_ATTRIBUTE) if isinstance(attributes, dict) else None
    if not isinstance(record, dict) or record.get("complete") is True:
        return None
    steps, total = record.get("steps"), record.get("n_steps")
    if isinstance(steps, int) and isinstance(total, int):
        progress = f"{steps:,} of its {total:,} steps written"
    else:
        progress = "its progress unknown"
    return damaged(
        source,
        "/",
        f"holds an unfinished capture ({progress}): it was interrupted, or is still running",
        f"resume it by calling rw.capture(model, sequences, store={source!r}) again with the "
        "same model, sequences and arguments (it resumes from the steps written); "
        "overwrite=True there starts over",
    )


def is_store(folder: Path) -> bool:
    """Whether ``folder`` holds a Zarr group or array (``zarr.json``, or Zarr 2's files)."""
    return any((folder / name).is_file() for name in _METADATA)


# ---------------------------------------------------------------------------- writing


def save_zarr(
    trace: Trace,
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    compressors: Any = None,
) -> Path | str:
    """Write ``trace`` as a Zarr store at a local path or a URL (see the module docstring).

    Parameters
    ----------
    trace : Trace
        The trace to save.
    path : str or path-like
        A folder to create (``.zarr`` is customary) or a URL.
    overwrite : bool
        Replace what is there (default: refuse). A local folder that holds no Zarr store is
        never replaced.
    compressors : optional
        zarr's ``compressors`` for every array (default none; used to measure them).

    Returns
    -------
    Path or str
        The folder written, or the URL as given.

    """
    zarr = require_scale("zarr")
    if is_url(path):
        return _save_url(zarr, trace, str(path), overwrite, compressors)
    destination = Path(path)
    if os.path.lexists(destination):
        if not overwrite:
            raise FileExistsError(f"{destination} exists; pass overwrite=True to replace it")
        if destination.is_dir() and not destination.is_symlink() and not is_store(destination):
            raise FileExistsError(
                f"{destination} is a folder that holds no Zarr store (no zarr.json), so "
                "overwrite=True does not replace it; remove it yourself or choose another path"
            )
    if not destination.parent.is_dir():
        raise FileNotFoundError(f"the folder {destination.parent} does not exist; create it first")
    temporary = Path(
        tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".part", dir=destination.parent)
    )
    try:
        store = zarr.storage.LocalStore(temporary)
        _write(zarr.open_group(store, mode="w", zarr_format=3), trace, compressors)
        _swap(temporary, destination)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return destination


def _save_url(zarr: Any, trace: Trace, url: str, overwrite: bool, compressors: Any) -> str:
    """Write the store at ``url`` in place (an object store cannot rename a prefix)."""
    try:
        root = zarr.open_group(url, mode="w" if overwrite else "w-", zarr_format=3)
    except (zarr.errors.ContainsGroupError, zarr.errors.ContainsArrayError, FileExistsError):
        raise FileExistsError(
            f"{url} holds a Zarr store; pass overwrite=True to replace it"
        ) from None
    _write(root, trace, compressors)
    return url


def _swap(temporary: Path, destination: Path) -> None:
    """Move the finished store ``temporary`` to ``destination``, replacing what is there."""
    if not os.path.lexists(destination):
        os.rename(temporary, destination)
        return
    old = destination.with_name(f".{destination.name}.{uuid.uuid4().hex[:12]}.old")
    os.rename(destination, old)
    try:
        os.rename(temporary, destination)
    except BaseException:
        os.rename(old, destination)
        raise
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old)
    else:
        old.unlink()


def _write(root: Any, trace: Trace, compressors: Any) -> None:
    root.attrs.update({"format": FORMAT, "version": VERSION})
    write_tokens(root.require_group("tokens"), trace.tokens, compressors)
    bounds = trace.sequence_bounds
    starts = np.append(bounds[:, 0], bounds[-1, 1]).astype(np.int64)
    write_vector(root, "sequence_starts", starts, compressors)
    n_steps = trace.n_steps
    for layer in trace.layers:
        group = root.require_group("states").require_group(str(layer))
        for kind in trace.kinds(layer=layer):
            low, high = trace.value_range(layer=layer, kind=kind)
            attributes = {
                "min": float(low),
                "max": float(high),
                "cell_group": trace.cell_group(layer=layer, kind=kind),
            }
            n_cells = trace.n_cells(layer=layer, kind=kind)

            def rows(start: int, stop: int, layer: int = layer, kind: str = kind) -> np.ndarray:
                return trace.states_in(start, stop, layer=layer, kind=kind)

            _write_rows(
                group,
                kind,
                (n_steps, n_cells),
                np.dtype(np.float32),
                rows,
                chunk=chunk_steps(n_cells, n_steps),
                read_block=trace.block_steps(layer=layer, kind=kind),
                attributes=attributes,
                compressors=compressors,
                fill_value=np.nan,
            )
    tracks = root.require_group("tracks")
    for index, track in enumerate(trace.tracks.values()):
        attributes = {
            "name": track.name,
            "kind": track.label_type,  # the on-disk name, as version 1 reads it
            "categories": json.dumps(list(track.categories)),
        }
        write_vector(tracks, str(index), track.values, compressors, attributes)
    if trace.predictions is not None:
        group = root.require_group("predictions")
        write_tokens(group.require_group("labels"), trace.predictions.label_tokens, compressors)
        probabilities = trace.predictions.probabilities
        k = probabilities.shape[1]
        _write_rows(
            group,
            "probabilities",
            probabilities.shape,
            probabilities.dtype,
            lambda start, stop: probabilities[start:stop],
            chunk=chunk_steps(k, n_steps),
            compressors=compressors,
        )


def write_tokens(group: Any, tokens: Tokens, compressors: Any = None) -> None:
    """The ``data`` and ``offsets`` arrays of ``tokens`` in ``group`` (see :func:`write_vector`)."""
    write_vector(group, "data", tokens.data, compressors)
    write_vector(group, "offsets", tokens.offsets, compressors)


def vector_chunk(length: int, dtype: np.dtype) -> int:
    """The values in a chunk of a 1-D array of ``length``: up to :data:`~._chunked.CHUNK_BYTES`."""
    return max(1, min(length, CHUNK_BYTES // np.dtype(dtype).itemsize))


def write_vector(
    group: Any,
    name: str,
    values: np.ndarray,
    compressors: Any = None,
    attributes: dict[str, Any] | None = None,
) -> None:
    """A 1-D array in chunks of up to :data:`~._chunked.CHUNK_BYTES` (:func:`vector_chunk`)."""
    _write_rows(
        group,
        name,
        values.shape,
        values.dtype,
        lambda start, stop: values[start:stop],
        chunk=vector_chunk(len(values), values.dtype),
        attributes=attributes,
        compressors=compressors,
    )


def create_rows(
    group: Any,
    name: str,
    shape: tuple[int, ...],
    dtype: np.dtype,
    *,
    chunk: int,
    attributes: dict[str, Any] | None = None,
    compressors: Any = None,
    fill_value: Any = None,
    overwrite: bool = False,
) -> Any:
    """An empty array chunked by ``chunk`` whole rows, every chunk to be written when filled.

    The one place the store's arrays are made, by ``trace.save`` and by a capture into a
    store alike: same chunks, codecs, fill value and ``write_empty_chunks``.
    """
    return group.create_array(
        name,
        shape=shape,
        dtype=dtype,
        chunks=(chunk, *shape[1:]) if shape[0] else (1, *shape[1:]),
        compressors=compressors,
        fill_value=fill_value,
        attributes=attributes or {},
        config={"write_empty_chunks": True},
        overwrite=overwrite,
    )


def _write_rows(
    group: Any,
    name: str,
    shape: tuple[int, ...],
    dtype: np.dtype,
    rows: Callable[[int, int], np.ndarray],
    *,
    chunk: int,
    read_block: int | None = None,
    attributes: dict[str, Any] | None = None,
    compressors: Any = None,
    fill_value: Any = None,
) -> None:
    """An array chunked by ``chunk`` rows, filled from ``rows(start, stop)`` chunk by chunk.

    ``read_block`` is how many rows to read from the source at once (its own chunks; default
    ``chunk``); they are written one chunk of the store at a time.
    """
    array = create_rows(
        group,
        name,
        shape,
        dtype,
        chunk=chunk,
        attributes=attributes,
        compressors=compressors,
        fill_value=fill_value,
    )
    block = max(1, read_block or chunk)
    if block % chunk and chunk % block:  # unaligned: read by the store's chunks instead
        block = chunk
    for start in range(0, shape[0], block):
        values = rows(start, min(start + block, shape[0]))
        for offset in range(0, len(values), chunk):
            part = values[offset : offset + chunk]
            array[start + offset : start + offset + len(part)] = part


# ---------------------------------------------------------------------------- reading


def load_zarr(path: str | os.PathLike[str], *, states_budget: int = STATES_BUDGET) -> Trace:
    """Open the Zarr store at ``path`` (a folder or a URL) as a trace; states stay there.

    Raises
    ------
    FileNotFoundError
        Nothing at ``path``.
    ValueError
        A folder that is not a Zarr store; a store that breaks the layout
        (``TraceFileError``, naming the store and the array).
    ImportError
        zarr is not installed.

    """
    zarr = require_scale("zarr")
    local: Path | None = None
    if is_url(path):
        source, store = str(path), str(path)
    else:
        local = Path(path)
        source = str(local)
        if not local.is_dir():
            raise FileNotFoundError(f"no Zarr store at {local}; save one with trace.save(path)")
        if not is_store(local):
            raise ValueError(
                f"{local} is a folder but not a Zarr store: it holds no zarr.json (nor Zarr 2's "
                ".zgroup); a trace is an HDF5 file or the folder trace.save('run.zarr') writes "
                "(an LSTMVis project opens with Trace.from_lstmvis)"
            )
        store = zarr.storage.LocalStore(local, read_only=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", zarr.errors.ZarrFutureWarning)
            root = zarr.open_group(store, mode="r", use_consolidated=False)
    except FileNotFoundError as error:  # zarr's NodeNotFoundError, for a URL
        raise FileNotFoundError(f"no Zarr store at {source} ({error})") from error
    except Exception as error:  # a damaged zarr.json may raise anything: name the store
        raise damaged(source, "/", f"cannot be read ({type(error).__name__}: {error})") from error
    try:
        attributes = dict(root.attrs)
    except Exception:  # damaged attributes: the layout's checks name them
        attributes = {}
    unfinished = unfinished_capture(source, attributes)
    if unfinished is not None:
        raise unfinished
    return read_trace(_ZarrReader(zarr, root, source, local), states_budget=states_budget)


class _ZarrReader:
    """The :class:`~._layout.StoreReader` of an open Zarr group; states stay in the store."""

    def __init__(self, zarr: Any, root: Any, source: str, local: Path | None) -> None:
        self.source = source
        self._zarr = zarr
        self._root = root
        self._local = local
        self._nodes: dict[str, Any] = {}
        self._complete: set[str] = set()

    def _node(self, path: str) -> Any:
        """The group or array at ``path``, or None (opened once, by its own ``zarr.json``)."""
        if path not in self._nodes:
            key = path.strip("/")
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", self._zarr.errors.ZarrFutureWarning)
                    self._nodes[path] = self._root[key] if key else self._root
            except KeyError:
                self._nodes[path] = None
        return self._nodes[path]

    def _array(self, path: str) -> Any:
        node = self._node(path)
        if not isinstance(node, self._zarr.Array):
            raise KeyError(f"no array at {path}")
        self._check_chunks(path, node)
        return node

    def members(self, path: str) -> list[str] | None:
        node = self._node(path)
        if not isinstance(node, self._zarr.Group):
            return None
        names = _collect(self._root.store.list_dir(node.path))
        return sorted(name for name in names if not name.startswith(".") and name != "zarr.json")

    def info(self, path: str) -> tuple[tuple[int, ...], np.dtype] | None:
        node = self._node(path)
        if not isinstance(node, self._zarr.Array):
            return None
        return tuple(node.shape), np.dtype(node.dtype)

    def attrs(self, path: str) -> dict[str, Any]:
        node = self._node(path)
        if node is None:
            raise KeyError(f"no group or array at {path}")
        return dict(node.attrs)

    def read(self, path: str) -> np.ndarray:
        return np.asarray(self._array(path)[...])

    def array(self, path: str) -> np.ndarray:
        values = self.read(path)
        values.flags.writeable = False
        return values

    def states(self, path: str) -> ChunkedStates:
        return ChunkedStates(self._array(path), source=self.source, where=path)

    def _check_chunks(self, path: str, array: Any) -> None:
        """Refuse an array missing a chunk, or (local, uncompressed) with one of another size."""
        if path in self._complete or array.size == 0:
            return
        grid = array.shards or array.chunks
        counts = [math.ceil(n / c) for n, c in zip(array.shape, grid, strict=True)]
        prefix = f"{array.path}/"
        expected = [
            prefix + array.metadata.encode_chunk_key(coords)
            for coords in itertools.product(*(range(n) for n in counts))
        ]
        stored = set(_collect(self._root.store.list_prefix(prefix)))
        missing = [key for key in expected if key not in stored]
        if missing:
            raise damaged(
                self.source,
                path,
                f"has {len(expected) - len(missing)} of its {len(expected)} chunks stored "
                f"(chunk {missing[0][len(prefix) :]!r} is missing, and would read as the fill "
                f"value {np.asarray(array.fill_value).item()!r})",
                _INCOMPLETE,
            )
        size = self._chunk_bytes(array)
        if self._local is not None and size is not None:
            for key in expected:
                found = (self._local / key).stat().st_size
                if found != size:
                    raise damaged(
                        self.source,
                        path,
                        f"has a chunk {key[len(prefix) :]!r} of {found} bytes, but an "
                        f"uncompressed chunk of shape {tuple(array.chunks)} of {array.dtype} "
                        f"takes {size}: it was cut short or written for another shape "
                        "(a state array of another number of cells)",
                        "copy or save it again",
                    )
        self._complete.add(path)

    def _chunk_bytes(self, array: Any) -> int | None:
        """The bytes of every stored chunk of an uncompressed array, else None (not known)."""
        serializer = array.serializer
        plain = serializer is None or isinstance(serializer, self._zarr.codecs.BytesCodec)
        if array.compressors or array.filters or array.shards or not plain:
            return None
        dtype = np.dtype(array.dtype)
        if dtype.kind not in "biuf":
            return None
        return math.prod(array.chunks) * dtype.itemsize


def _collect(listing: Any) -> tuple[str, ...]:
    """A store's async listing, collected on zarr's own event loop (safe inside Jupyter's)."""
    from zarr.core.sync import collect_aiterator

    return collect_aiterator(listing)
