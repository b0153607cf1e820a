"""The hostile corpus of ``tests/hostile_traces.py`` as Zarr stores, plus a Zarr store's own damage.

Two families, both opened with ``Trace.load`` and refused naming the store and ``where``:

* :func:`translated_cases`: every HDF5 case that a Zarr store can hold, the same corruption
  carried over. The damaged HDF5 file is copied into a Zarr store group by group, array by
  array, attribute by attribute (:func:`copy_hdf5`), as another tool would write it: zarr's
  own codecs (zstd), chunks of 4 steps and 2 cells. Left out: the HDF5 files cut short (a
  Zarr store has no single file; :func:`zarr_cases` cuts its chunks instead) and attributes
  JSON cannot hold (bytes that are not UTF-8).
* :func:`zarr_cases`: damage only a Zarr store can have, made on the store ``trace.save``
  writes: a chunk missing, cut short or emptied; a ``zarr.json`` missing, not JSON, of a
  group where an array belongs, naming an unknown codec, a chunk shape of another width or
  rank, another data type or more rows than stored.

Run as a script to write the corpus into a folder: ``python tests/hostile_zarr.py DIR``.
"""

from __future__ import annotations

import json
import shutil
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import zarr

from .hostile_traces import DATASETS, Hostile, cases, valid_trace

__all__ = [
    "HDF5_ONLY",
    "ZarrHostile",
    "copy_hdf5",
    "translated_cases",
    "write_corpus",
    "zarr_cases",
]

#: HDF5 cases a Zarr store cannot hold: a file cut short, an attribute of non-UTF-8 bytes.
HDF5_ONLY = ("truncated ", "track name not UTF-8")


def translated_cases() -> list[Hostile]:
    """The cases of ``hostile_traces`` that apply to a Zarr store (see the module)."""
    return [case for case in cases() if not case.name.startswith(HDF5_ONLY)]


def copy_hdf5(source: Path, store: Path, *, zarr_format: int = 3) -> None:
    """Copy every group, dataset and attribute of an HDF5 file into a new Zarr store.

    What another tool writing the same layout would make: zarr's default codecs, chunks of
    up to 4 rows and 2 columns (so cells are split over chunks too).
    """
    with h5py.File(source, "r") as file, warnings.catch_warnings():
        warnings.simplefilter("ignore", zarr.errors.ZarrFutureWarning)  # bytes dtypes
        root = zarr.open_group(store, mode="w", zarr_format=zarr_format)
        _copy_group(file, root)


def _copy_group(group: h5py.Group, target: Any) -> None:
    target.attrs.update({name: _json(value) for name, value in group.attrs.items()})
    for name, item in group.items():
        if isinstance(item, h5py.Group):
            _copy_group(item, target.create_group(name))
            continue
        values = item[()]
        chunks = tuple(max(1, min(4 if axis == 0 else 2, n)) for axis, n in enumerate(values.shape))
        array = target.create_array(
            name,
            shape=values.shape,
            dtype=values.dtype,
            chunks=chunks,
            attributes={key: _json(value) for key, value in item.attrs.items()},
        )
        if values.size:
            array[...] = values


def _json(value: Any) -> Any:
    """An HDF5 attribute as JSON holds it (numpy scalars and arrays to Python's)."""
    if isinstance(value, np.ndarray):
        return [_json(item) for item in value.tolist()]
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    return value


# ---------------------------------------------------------------------------- Zarr's own damage


@dataclass(frozen=True)
class ZarrHostile:
    """One way to break a store ``trace.save`` wrote: ``corrupt(store)`` edits it in place."""

    name: str
    where: str
    corrupt: Callable[[Path], None]
    expect: str = ""  # a word the message must hold besides the store and ``where``

    def __repr__(self) -> str:
        return self.name


def _first_chunk(store: Path, where: str) -> Path:
    chunks = sorted(path for path in (store / where.strip("/") / "c").rglob("*") if path.is_file())
    return chunks[0]


def _delete_chunk(where: str) -> Callable[[Path], None]:
    return lambda store: _first_chunk(store, where).unlink()


def _cut_chunk(where: str, fraction: float) -> Callable[[Path], None]:
    def corrupt(store: Path) -> None:
        chunk = _first_chunk(store, where)
        with open(chunk, "r+b") as handle:
            handle.truncate(int(chunk.stat().st_size * fraction))

    return corrupt


def _metadata(store: Path, where: str) -> Path:
    return store / where.strip("/") / "zarr.json"


def _delete_metadata(where: str) -> Callable[[Path], None]:
    return lambda store: _metadata(store, where).unlink()


def _write_metadata(where: str, text: str) -> Callable[[Path], None]:
    return lambda store: _metadata(store, where).write_text(text)


def _edit_metadata(where: str, edit: Callable[[dict], None]) -> Callable[[Path], None]:
    def corrupt(store: Path) -> None:
        path = _metadata(store, where)
        metadata = json.loads(path.read_text())
        edit(metadata)
        path.write_text(json.dumps(metadata))

    return corrupt


def _set_chunk_shape(shape: Callable[[list[int]], list[int]]) -> Callable[[dict], None]:
    def edit(metadata: dict) -> None:
        grid = metadata["chunk_grid"]["configuration"]
        grid["chunk_shape"] = shape(grid["chunk_shape"])

    return edit


def _set(key: str, value: Any) -> Callable[[dict], None]:
    def edit(metadata: dict) -> None:
        metadata[key] = value

    return edit


def _group_instead(metadata: dict) -> None:
    for key in list(metadata):
        if key not in ("attributes", "zarr_format"):
            del metadata[key]
    metadata["node_type"] = "group"


def _more_rows(metadata: dict) -> None:
    metadata["shape"][0] += 4


def zarr_cases() -> list[ZarrHostile]:
    """Every Zarr-only case, each named for the array and the way it is broken."""
    found: list[ZarrHostile] = []

    def add(name: str, where: str, corrupt: Callable[[Path], None], expect: str = "") -> None:
        found.append(ZarrHostile(name, where, corrupt, expect))

    for where in DATASETS:
        add(f"chunk of {where} missing", where, _delete_chunk(where), "chunks stored")
        add(f"chunk of {where} cut short", where, _cut_chunk(where, 0.5), "bytes")
        add(f"chunk of {where} empty", where, _cut_chunk(where, 0.0), "bytes")
        add(f"zarr.json of {where} missing", where, _delete_metadata(where), "missing")
        add(f"zarr.json of {where} not JSON", where, _write_metadata(where, "{"), "cannot be read")
        add(f"{where} a group", where, _edit_metadata(where, _group_instead), "group")
        unknown = _set("codecs", [{"name": "no_such_codec"}])
        add(f"{where} of an unknown codec", where, _edit_metadata(where, unknown), "cannot be read")

    h = "/states/1/h"  # 3 cells, one chunk of 9 steps
    wider = _set_chunk_shape(lambda shape: [shape[0], shape[1] + 1])
    add("chunk shape of another width", h, _edit_metadata(h, wider), "bytes")
    narrower = _set_chunk_shape(lambda shape: [shape[0], shape[1] - 1])
    add("chunk shape narrower than the cells", h, _edit_metadata(h, narrower), "chunks stored")
    longer = _set_chunk_shape(lambda shape: [shape[0] + 1, shape[1]])
    add("chunk shape of more steps", h, _edit_metadata(h, longer), "bytes")
    rank_1 = _set_chunk_shape(lambda shape: shape[:1])
    add("chunk shape of rank 1", h, _edit_metadata(h, rank_1), "cannot be read")
    zero = _set_chunk_shape(lambda shape: [0, shape[1]])
    add("chunk shape of zero steps", h, _edit_metadata(h, zero), "cannot be read")
    add("data type float64", h, _edit_metadata(h, _set("data_type", "float64")), "float32")
    add("more rows than the trace", h, _edit_metadata(h, _more_rows), "rows")
    add("root zarr.json not JSON", "/", _write_metadata("/", "[1, 2"), "cannot be read")
    add("root zarr.json an array's", "/", _edit_metadata("/", _set("node_type", "array")))
    add("root format missing", "/", _edit_metadata("/", _set("attributes", {"version": 2})))
    newer = _set("attributes", {"format": "rnn_widgets.trace", "version": 3})
    add("root version newer", "/", _edit_metadata("/", newer), "upgrade")
    return found


def write_corpus(folder: Path) -> list[tuple[Any, Path]]:
    """Save the valid trace once and one broken store per case of both families."""
    folder.mkdir(parents=True, exist_ok=True)
    valid_h5 = valid_trace().save(folder / "valid.h5", overwrite=True)
    valid_zarr = valid_trace().save(folder / "valid.zarr", overwrite=True)
    written: list[tuple[Any, Path]] = []
    for number, case in enumerate(translated_cases()):
        damaged = folder / f"translated_{number:03d}.h5"
        shutil.copyfile(valid_h5, damaged)
        case.corrupt(damaged)
        store = folder / f"translated_{number:03d}.zarr"
        copy_hdf5(damaged, store)
        damaged.unlink()
        written.append((case, store))
    for number, zarr_case in enumerate(zarr_cases()):
        store = folder / f"zarr_{number:03d}.zarr"
        shutil.copytree(valid_zarr, store)
        zarr_case.corrupt(store)
        written.append((zarr_case, store))
    return written


if __name__ == "__main__":
    for case, path in write_corpus(Path(sys.argv[1] if len(sys.argv) > 1 else "hostile_zarr")):
        print(f"{path.name}: {case.name}")
