"""Traces on disk: one HDF5 file of contiguous, uncompressed datasets, memory-mapped on load.

This module is also where ``Trace.save`` and ``Trace.load`` choose their store: a Zarr store
(a path ending in ``.zarr``, a URL, a folder holding ``zarr.json``) goes to
``rnn_widgets.trace._zarr``, a file to HDF5 here; see ``docs/scale.md`` for when to use which.

Why HDF5 and memory maps: one self-describing file that any HDF5 reader (h5py, MATLAB, R,
LSTMVis' own tooling) can open, while on load every large dataset is mapped with
``np.memmap`` at its byte offset in the file. A state array is then a read-only ndarray whose
pages the operating system reads on first touch: opening a million-step trace reads only the
small metadata, a 200-step window reads 200 rows, and no analysis needs an h5py-specific path.
(One ``.npy`` file per array would map the same way, but scatters a trace over many files.)
Datasets that some other writer chunked or compressed cannot be mapped; they are read whole.

The layout (format ``rnn_widgets.trace``, version 2) is stated once for every store, with
what is checked and when, in ``rnn_widgets.trace._layout``; this module writes it to HDF5 and
gives ``_layout`` a reader over the file.

A file is untrusted input. Opening checks the whole layout (shapes, dtypes, widths, monotonic
bounds, token offsets and UTF-8, categorical codes, attributes) but never reads the states'
values; a broken file raises one ``ValueError`` naming the file, the dataset and the problem,
and nothing is returned. A file cut short fails as truncated; a dataset whose bytes lie past
the end of the file is refused before it is mapped. What only a full read can tell (NaN or
infinite states; whether the stored ``min``/``max`` are true) is checked by the analyses that
read whole arrays (``Trace.check_finite``, ``Trace.value_range(exact=True)``).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from ._chunked import STATES_BUDGET
from ._hdf5 import read_only_view
from ._layout import FORMAT, VERSION, damaged, read_trace
from ._tokens import Tokens

if TYPE_CHECKING:
    from ._trace import Trace

__all__ = ["FORMATS", "is_url", "load_trace", "local", "save_trace", "store_format"]

#: The stores ``Trace.save`` writes (its ``format`` argument).
FORMATS = ("hdf5", "zarr")


def is_url(path: Any) -> bool:
    """Whether ``path`` is a URL (``s3://...``, ``memory://...``): a Zarr store's, never HDF5."""
    return isinstance(path, str) and "://" in path


def local(path: Any) -> Any:
    """A ``file://`` URL as the local path it names (saved atomically, as paths are)."""
    if isinstance(path, str) and path.startswith("file://"):
        return Path(path.removeprefix("file://"))
    return path


def store_format(path: Any, format: str | None) -> str:
    """The store to save ``path`` as: ``format`` if given, else Zarr for ``.zarr`` and URLs."""
    if format is not None:
        if not isinstance(format, str) or format not in FORMATS:
            raise ValueError(f"format must be one of {list(FORMATS)} or None, got {format!r}")
        if format == "hdf5" and is_url(path):
            raise ValueError(
                f"format='hdf5' but {path} is a URL; HDF5 traces are local files: save to a "
                "local path, or to the URL with format='zarr'"
            )
        return format
    if is_url(path):
        return "zarr"
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or a path, got {type(path).__name__}")
    return "zarr" if Path(path).suffix.lower() == ".zarr" else "hdf5"


def save_trace(
    trace: Trace,
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    format: str | None = None,
) -> Path | str:
    """Write ``trace`` to an HDF5 file or a Zarr store (as ``path`` or ``format`` says).

    Returns where it was written: the path, or the URL as given.
    """
    target = local(path)
    if store_format(target, format) == "zarr":
        from ._zarr import save_zarr

        written = save_zarr(trace, target, overwrite=overwrite)
    else:
        written = save_hdf5(trace, target, overwrite=overwrite)
    return path if is_url(path) else written


def load_trace(path: str | os.PathLike[str], *, states_budget: int = STATES_BUDGET) -> Trace:
    """Open the trace at ``path``: a Zarr store (a folder or a URL) or an HDF5 file."""
    path = local(path)
    if is_url(path):
        from ._zarr import load_zarr

        return load_zarr(path, states_budget=states_budget)
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or a path, got {type(path).__name__}")
    source = Path(path)
    if source.is_dir():
        from ._zarr import load_zarr

        return load_zarr(source, states_budget=states_budget)
    return load_hdf5(source)


def save_hdf5(trace: Trace, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write ``trace`` to an HDF5 file (see the module docstring for the layout).

    The file is written next to its destination and moved into place when complete, so an
    interrupted save never leaves a half-written trace behind.

    Parameters
    ----------
    trace : Trace
        The trace to save.
    path : str or path-like
        Where to write it; ``.h5`` is the customary suffix.
    overwrite : bool
        Replace an existing file (default: refuse).

    Returns
    -------
    Path
        The path written.
    """
    destination = Path(path)
    if destination.exists() and not overwrite:
        raise FileExistsError(f"{destination} exists; pass overwrite=True to replace it")
    if destination.is_dir():
        raise IsADirectoryError(
            f"{destination} is a folder; an HDF5 trace is one file: remove the folder first or "
            "choose another path (a path ending in .zarr saves a Zarr store)"
        )
    if not destination.parent.is_dir():
        raise FileNotFoundError(f"the folder {destination.parent} does not exist; create it first")
    handle, temporary = tempfile.mkstemp(suffix=".h5.part", dir=destination.parent)
    os.close(handle)
    try:
        with h5py.File(temporary, "w") as file:
            _write(file, trace)
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return destination


def load_hdf5(path: str | os.PathLike[str]) -> Trace:
    """Open a trace written by :func:`save_hdf5`, mapping its arrays instead of reading them.

    Parameters
    ----------
    path : str or path-like
        The ``.h5`` file.

    Returns
    -------
    Trace
        A trace whose state arrays are read-only memory maps of the file.
    """
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"no trace file at {source}; save one with trace.save(path)")
    if source.name == "zarr.json":
        raise ValueError(
            f"{source} is the metadata of a Zarr store: pass the folder that holds it, "
            f"Trace.load({str(source.parent)!r})"
        )
    try:
        file = h5py.File(source, "r")
    except OSError as exc:
        if "truncated" in str(exc):
            raise damaged(
                str(source),
                "/",
                f"is truncated: the file ends early ({exc})",
                "it was cut short while being copied or written; copy or save it again",
            ) from exc
        raise ValueError(
            f"{source} is not an HDF5 file, so not a saved trace ({exc}); a trace is an HDF5 "
            "file or a Zarr store (a folder holding zarr.json)"
        ) from exc
    with file:
        return read_trace(_HDF5Reader(file, source))


class _HDF5Reader:
    """The :class:`~._layout.StoreReader` of an open HDF5 file; arrays are memory-mapped."""

    def __init__(self, file: h5py.File, path: Path) -> None:
        self.source = str(path)
        self._file = file
        self._path = path
        self._size = path.stat().st_size

    def _get(self, path: str) -> h5py.Group | h5py.Dataset | None:
        try:
            return self._file.get(path)
        except (KeyError, TypeError, ValueError):  # a path through a dataset, say
            return None

    def members(self, path: str) -> list[str] | None:
        found = self._get(path)
        return list(found.keys()) if isinstance(found, h5py.Group) else None

    def info(self, path: str) -> tuple[tuple[int, ...], np.dtype] | None:
        found = self._get(path)
        return (found.shape, found.dtype) if isinstance(found, h5py.Dataset) else None

    def attrs(self, path: str) -> h5py.AttributeManager:
        found = self._get(path)
        if found is None:
            raise KeyError(f"no group or dataset at {path}")
        return found.attrs

    def read(self, path: str) -> np.ndarray:
        return np.asarray(self._dataset(path)[()])

    def array(self, path: str) -> np.ndarray:
        return read_only_view(self._dataset(path), self._path)

    states = array  # memory-mapped too

    def _dataset(self, path: str) -> h5py.Dataset:
        """The dataset at ``path``, refused when its stored bytes run past the end of the file."""
        dataset = self._file[path]
        offset = dataset.id.get_offset()
        if offset is not None:
            end = offset + dataset.id.get_storage_size()
            if end > self._size:
                raise OSError(
                    f"its bytes end at {end} but the file ends at {self._size} (truncated)"
                )
        return dataset


def _write(file: h5py.File, trace: Trace) -> None:
    file.attrs["format"] = FORMAT
    file.attrs["version"] = VERSION
    _write_tokens(file.create_group("tokens"), trace.tokens)
    bounds = trace.sequence_bounds
    file.create_dataset("sequence_starts", data=np.append(bounds[:, 0], bounds[-1, 1]))
    states = file.create_group("states")
    for layer in trace.layers:
        group = states.create_group(str(layer))
        for kind in trace.kinds(layer=layer):
            dataset = _write_states(group, trace, layer, kind)
            dataset.attrs["min"], dataset.attrs["max"] = trace.value_range(layer=layer, kind=kind)
            dataset.attrs["cell_group"] = trace.cell_group(layer=layer, kind=kind)
    tracks = file.create_group("tracks")
    for index, track in enumerate(trace.tracks.values()):
        dataset = tracks.create_dataset(str(index), data=track.values)
        dataset.attrs["name"] = track.name
        dataset.attrs["kind"] = track.label_type  # the on-disk name, as version 1 reads it
        dataset.attrs["categories"] = json.dumps(list(track.categories))
    if trace.predictions is not None:
        group = file.create_group("predictions")
        _write_tokens(group.create_group("labels"), trace.predictions.label_tokens)
        group.create_dataset("probabilities", data=trace.predictions.probabilities)


def _write_tokens(group: h5py.Group, tokens: Tokens) -> None:
    group.create_dataset("data", data=tokens.data)
    group.create_dataset("offsets", data=tokens.offsets)


def _write_states(group: h5py.Group, trace: Trace, layer: int, kind: str) -> h5py.Dataset:
    """A contiguous float32 dataset filled block by block (never a whole copy in memory).

    The blocks are whole chunks of the source when it is a chunked store (each read once),
    else :func:`~._chunked.block_steps` rows: about 32 MiB whatever the trace's size.
    """
    n_steps, n_cells = trace.n_steps, trace.n_cells(layer=layer, kind=kind)
    dataset = group.create_dataset(kind, shape=(n_steps, n_cells), dtype=np.float32)
    block = trace.block_steps(layer=layer, kind=kind)
    for start in range(0, n_steps, block):
        stop = min(start + block, n_steps)
        dataset[start:stop] = trace.states_in(start, stop, layer=layer, kind=kind)
    return dataset
