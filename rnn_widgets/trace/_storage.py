"""Traces on disk: one HDF5 file of contiguous, uncompressed datasets, memory-mapped on load.

Why HDF5 and memory maps: one self-describing file that any HDF5 reader (h5py, MATLAB, R,
LSTMVis' own tooling) can open, while on load every large dataset is mapped with
``np.memmap`` at its byte offset in the file. A state array is then a read-only ndarray whose
pages the operating system reads on first touch: opening a million-step trace reads only the
small metadata, a 200-step window reads 200 rows, and no analysis needs an h5py-specific path.
(One ``.npy`` file per array would map the same way, but scatters a trace over many files.)
Datasets that some other writer chunked or compressed cannot be mapped; they are read whole.

Layout (format ``rnn_widgets.trace``, version 1)::

    /                        attrs: format, version
    /tokens/data             uint8    UTF-8 bytes of all tokens
    /tokens/offsets          uint64   (n_steps + 1,)
    /sequence_starts         int64    (n_sequences + 1,)
    /states/<layer>/<kind>   float32  (n_steps, n_cells); attrs min, max
    /tracks/<i>              float32 or int32 (n_steps,); attrs name, kind, categories (JSON)
    /predictions/labels/data, /predictions/labels/offsets, /predictions/probabilities

A track's ``kind`` attribute holds its ``Track.label_type`` (``"numeric"`` or
``"categorical"``): the attribute keeps the name version 1 files were written with.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import h5py
import numpy as np

from ._hdf5 import read_only_view
from ._tokens import Tokens

if TYPE_CHECKING:
    from ._trace import Trace

__all__ = ["load_trace", "save_trace"]

FORMAT = "rnn_widgets.trace"
VERSION = 1
_BLOCK_ROWS = 1 << 16  # rows written per block, so a memory-mapped source is never read whole


def save_trace(trace: Trace, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
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


def load_trace(path: str | os.PathLike[str]) -> Trace:
    """Open a trace written by :func:`save_trace`, mapping its arrays instead of reading them.

    Parameters
    ----------
    path : str or path-like
        The ``.h5`` file.

    Returns
    -------
    Trace
        A trace whose state arrays are read-only memory maps of the file.
    """
    from ._trace import Predictions, Trace, Track

    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"no trace file at {source}; save one with trace.save(path)")
    try:
        file = h5py.File(source, "r")
    except OSError as exc:
        raise ValueError(f"{source} is not an HDF5 file, so not a saved trace ({exc})") from exc
    with file:
        if file.attrs.get("format") != FORMAT:
            raise ValueError(
                f"{source} is an HDF5 file but not a saved trace (no format={FORMAT!r} "
                "attribute); for an LSTMVis project use Trace.from_lstmvis"
            )
        version = int(file.attrs.get("version", 0))
        if version > VERSION:
            raise ValueError(f"{source} has trace format version {version}; upgrade rnn_widgets")
        tokens = Tokens(
            read_only_view(file["tokens/data"], source),
            read_only_view(file["tokens/offsets"], source),
        )
        starts = np.asarray(file["sequence_starts"][...], dtype=np.int64)
        states: dict[tuple[int, str], np.ndarray] = {}
        ranges: dict[tuple[int, str], tuple[float, float]] = {}
        for layer_name, group in file["states"].items():
            for kind, dataset in group.items():
                key = (int(layer_name), kind)
                states[key] = read_only_view(dataset, source)
                ranges[key] = (float(dataset.attrs["min"]), float(dataset.attrs["max"]))
        tracks = {}
        for index in sorted(file.get("tracks", {}), key=int):
            dataset = file["tracks"][index]
            name = str(dataset.attrs["name"])
            categories = tuple(json.loads(dataset.attrs.get("categories", "[]")))
            label_type = str(dataset.attrs["kind"])  # the on-disk name of Track.label_type
            tracks[name] = Track(name, label_type, read_only_view(dataset, source), categories)
        predictions = None
        if "predictions" in file:
            group = file["predictions"]
            labels = Tokens(
                read_only_view(group["labels/data"], source),
                read_only_view(group["labels/offsets"], source),
            )
            predictions = Predictions(labels, read_only_view(group["probabilities"], source))
    if len(tokens) != int(starts[-1]):
        raise ValueError(f"{source} is damaged: {len(tokens)} tokens but {starts[-1]} steps")
    return Trace(tokens, starts, states, tracks, predictions, value_ranges=ranges)


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
            values = trace.states(layer=layer, kind=kind)
            dataset = _write_blocks(group, kind, values)
            dataset.attrs["min"], dataset.attrs["max"] = trace.value_range(layer=layer, kind=kind)
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


def _write_blocks(group: h5py.Group, name: str, values: np.ndarray) -> h5py.Dataset:
    """A contiguous float32 dataset filled block by block (never a whole copy in memory)."""
    dataset = group.create_dataset(name, shape=values.shape, dtype=np.float32)
    for start in range(0, values.shape[0], _BLOCK_ROWS):
        dataset[start : start + _BLOCK_ROWS] = values[start : start + _BLOCK_ROWS]
    return dataset
