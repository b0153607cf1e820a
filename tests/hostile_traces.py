"""A corpus of hostile trace files, generated (never stored as binaries).

Each :class:`Hostile` case starts from one valid saved trace (:func:`valid_trace`: two layers,
several kinds, a numeric and a categorical track, predictions, three sequences, tokens of one
and two UTF-8 bytes) and breaks it in one way: a file cut at each dataset's first byte and in
its middle; each field missing, of the wrong rank, dtype, length or width, non-monotonic, out
of range, named wrongly; false or malformed attributes and JSON; swapped datasets; a newer
format version; bytes that are not UTF-8. ``where`` is the dataset the error must name.

Run as a script to write the corpus into a folder: ``python tests/hostile_traces.py DIR``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from rnn_widgets import Trace
from rnn_widgets.trace._layout import VERSION

__all__ = ["DATASETS", "Hostile", "cases", "valid_trace", "write_corpus"]

#: Every dataset of the valid trace's file.
DATASETS = (
    "/tokens/data",
    "/tokens/offsets",
    "/sequence_starts",
    "/states/0/c",
    "/states/0/h",
    "/states/1/f",
    "/states/1/h",
    "/tracks/0",
    "/tracks/1",
    "/predictions/labels/data",
    "/predictions/labels/offsets",
    "/predictions/probabilities",
)
N_STEPS = 9


def valid_trace() -> Trace:
    """Three sequences (3, 2, 4 tokens); layer 0: h and c of 4 cells, layer 1: h and f of 3."""
    tokens = [["the", "cät", "sat"], ["ä", "dog"], ["b", "ÿ", "c", "d"]]
    steps = np.arange(N_STEPS, dtype=np.float64)[:, None]
    h0 = np.tanh(steps / 4 - np.arange(4)[None, :] / 3)
    h1 = np.cos(steps + np.arange(3)[None, :])
    states = {(0, "h"): h0, (0, "c"): 2 * h0, (1, "h"): h1, (1, "f"): (h1 + 1) / 2}
    trace = Trace.from_arrays(tokens, states)
    return (
        trace.with_track("depth", np.arange(N_STEPS) % 3 / 2)
        .with_track("tag", ["D", "N", "V"] * 3)
        .with_predictions(np.array([["x", "ÿ"]] * N_STEPS), np.tile([0.6, 0.3], (N_STEPS, 1)))
    )


@dataclass(frozen=True)
class Hostile:
    """One way to break the valid file: ``corrupt(path)`` edits it in place."""

    name: str
    where: str
    corrupt: Callable[[Path], None]
    expect: str = ""  # a word the message must hold besides the file and ``where``

    def __repr__(self) -> str:
        return self.name


# ---------------------------------------------------------------------------- edits


def _edit(function: Callable[[h5py.File], None]) -> Callable[[Path], None]:
    def corrupt(path: Path) -> None:
        with h5py.File(path, "a") as file:
            function(file)

    return corrupt


def _replace(where: str, make: Callable[[np.ndarray], Any]) -> Callable[[Path], None]:
    """Replace a dataset by ``make(old values)``, keeping its attributes."""
    return _edit(_apply(where, make))


_GROUP = object()  # make() returns it: put an empty group where the dataset was


def _delete(where: str) -> Callable[[Path], None]:
    def edit(file: h5py.File) -> None:
        del file[where]

    return _edit(edit)


def _set_attr(where: str, name: str, value: Any) -> Callable[[Path], None]:
    def edit(file: h5py.File) -> None:
        file[where].attrs[name] = value

    return _edit(edit)


def _version_1_two_widths(where: str) -> Callable[[Path], None]:
    """A version 1 file (no cell groups) whose kinds of one layer differ in width."""
    narrower = _apply(where, lambda v: v[:, :2])

    def edit(file: h5py.File) -> None:
        narrower(file)
        file.attrs["version"] = 1
        for layer in file["states"].values():
            for dataset in layer.values():
                del dataset.attrs["cell_group"]

    return _edit(edit)


def _del_attr(where: str, name: str) -> Callable[[Path], None]:
    def edit(file: h5py.File) -> None:
        del file[where].attrs[name]

    return _edit(edit)


def _rename(old: str, new: str) -> Callable[[Path], None]:
    def edit(file: h5py.File) -> None:
        file.move(old, new)

    return _edit(edit)


def _truncate(where: str, fraction: float) -> Callable[[Path], None]:
    """Cut the file at ``fraction`` of the way through the bytes of dataset ``where``."""

    def corrupt(path: Path) -> None:
        with h5py.File(path, "r") as file:
            dataset = file[where]
            offset = dataset.id.get_offset()
            cut = offset + int(dataset.id.get_storage_size() * fraction)
        with open(path, "r+b") as handle:
            handle.truncate(cut)

    return corrupt


def _apply(where: str, make: Callable[[np.ndarray], Any]) -> Callable[[h5py.File], None]:
    def edit(file: h5py.File) -> None:
        old = file[where]
        values, attrs = old[()], dict(old.attrs)
        del file[where]
        new = make(values)
        if new is _GROUP:
            file.create_group(where)
            return
        file.create_dataset(where, data=new)
        for key, value in attrs.items():
            file[where].attrs[key] = value

    return edit


def _swap_edit(a: str, b: str) -> Callable[[Path], None]:
    def edit(file: h5py.File) -> None:
        first, second = file[a][()], file[b][()]
        _apply(a, lambda _: second)(file)
        _apply(b, lambda _: first)(file)

    return _edit(edit)


def _array_instead(group: str) -> Callable[[Path], None]:
    """Put a small array where the group ``group`` was."""

    def edit(file: h5py.File) -> None:
        del file[group]
        file.create_dataset(group, data=[1])

    return _edit(edit)


def _empty_group(group: str) -> Callable[[Path], None]:
    """Put an empty group at ``group`` (replacing what is there)."""

    def edit(file: h5py.File) -> None:
        if group in file:
            del file[group]
        file.create_group(group)

    return _edit(edit)


def _set(index: Any, value: Any) -> Callable[[np.ndarray], np.ndarray]:
    def make(values: np.ndarray) -> np.ndarray:
        values = values.copy()
        values[index] = value
        return values

    return make


# ---------------------------------------------------------------------------- the corpus


def cases() -> list[Hostile]:
    """Every hostile case, each named for the field and the way it is broken."""
    found: list[Hostile] = []

    def add(name: str, where: str, corrupt: Callable[[Path], None], expect: str = "") -> None:
        found.append(Hostile(name, where, corrupt, expect))

    for where in DATASETS:
        add(f"truncated at start of {where}", "/", _truncate(where, 0.0), "truncated")
        add(f"truncated inside {where}", "/", _truncate(where, 0.5), "truncated")
        if not where.startswith(("/states/", "/tracks/")):  # fewer kinds or tracks: still valid
            add(f"{where} missing", where, _delete(where), "missing")
        add(f"{where} a group", where, _replace(where, lambda _: _GROUP), "group")
        add(f"{where} strings", where, _replace(where, lambda v: np.array([b"x"] * len(v))))

    # the file's own attributes
    add("format missing", "/", _del_attr("/", "format"), "not a saved trace")
    add("format wrong", "/", _set_attr("/", "format", "lstmvis"), "not a saved trace")
    add("version missing", "/", _del_attr("/", "version"), "version")
    add("version newer", "/", _set_attr("/", "version", VERSION + 1), "upgrade")
    add("version zero", "/", _set_attr("/", "version", 0), "version")
    add("version a string", "/", _set_attr("/", "version", "1"), "version")
    add("version a float", "/", _set_attr("/", "version", 1.5), "version")

    # tokens
    add("token bytes rank 2", "/tokens/data", _replace("/tokens/data", lambda v: v[:, None]))
    add("token bytes int32", "/tokens/data", _replace("/tokens/data", lambda v: v.astype("i4")))
    add("token bytes not UTF-8", "/tokens/data", _replace("/tokens/data", _set(5, 0xFF)), "UTF-8")
    add("token bytes shorter", "/tokens/offsets", _replace("/tokens/data", lambda v: v[:-1]))
    off = "/tokens/offsets"
    add("token offsets float", off, _replace(off, lambda v: v.astype("f8")))
    add("token offsets rank 2", off, _replace(off, lambda v: v[:, None]))
    add("token offsets one short", off, _replace(off, lambda v: v[:-1]))
    add("token offsets not from 0", off, _replace(off, lambda v: v + 1))
    add("token offsets decrease", off, _replace(off, _set(2, 1)), "decrease")
    add("token offsets past the bytes", off, _replace(off, _set(-1, 1000)))
    add("token offsets negative", off, _replace(off, lambda v: v.astype("i8") - 3))
    add("token split inside a character", off, _replace(off, _set(4, 11)), "UTF-8")
    add("token offsets empty", off, _replace(off, lambda v: v[:0]))

    # sequence starts
    seq = "/sequence_starts"
    add("sequence starts float", seq, _replace(seq, lambda v: v.astype("f8")))
    add("sequence starts rank 2", seq, _replace(seq, lambda v: v[:, None]))
    add("sequence starts not from 0", seq, _replace(seq, _set(0, 1)))
    add("sequence starts repeat (empty sequence)", seq, _replace(seq, _set(1, 0)))
    add("sequence starts decrease", seq, _replace(seq, _set(1, 7)))
    add("sequence starts end early", seq, _replace(seq, _set(-1, N_STEPS - 1)))
    add("sequence starts end late", seq, _replace(seq, _set(-1, N_STEPS + 1)))
    add("sequence starts one entry", seq, _replace(seq, lambda v: v[:1]))
    add("sequence starts huge unsigned", seq, _replace(seq, lambda v: v.astype("u8") - 1))

    # states
    add("states missing", "/states", _delete("/states"), "missing")
    add("states empty", "/states", _empty_group("/states"))
    add("layer named x", "/states/x", _rename("/states/1", "/states/x"))
    add("layer named 01", "/states/01", _rename("/states/1", "/states/01"))
    add("layer named -1", "/states/-1", _rename("/states/1", "/states/-1"))
    add("layer without kinds", "/states/2", _empty_group("/states/2"))
    add("kind named 1x", "/states/1/1x", _rename("/states/1/f", "/states/1/1x"))
    add("kind named with a space", "/states/1/a b", _rename("/states/1/f", "/states/1/a b"))
    h = "/states/1/h"
    add("states rank 1", h, _replace(h, lambda v: v[:, 0]))
    add("states rank 3", h, _replace(h, lambda v: v[:, :, None]))
    add("states float64", h, _replace(h, lambda v: v.astype("f8")))
    add("states int32", h, _replace(h, lambda v: v.astype("i4")))
    add("states a row short", h, _replace(h, lambda v: v[:-1]), "rows")
    add("states a row long", h, _replace(h, lambda v: np.vstack([v, v[:1]])), "rows")
    add("states without cells", h, _replace(h, lambda v: v[:, :0]))
    add("states another width", h, _replace(h, lambda v: v[:, :2]), "cells")
    add("cell group not a name", h, _set_attr(h, "cell_group", "a b"), "cell_group")
    add("cell group a number", h, _set_attr(h, "cell_group", 3), "cell_group")
    add("version 1 with kinds of two widths", h, _version_1_two_widths(h), "version 1")
    add("states min missing", h, _del_attr(h, "min"), "min")
    add("states max missing", h, _del_attr(h, "max"), "max")
    add("states max a string", h, _set_attr(h, "max", "high"), "max")
    add("states min NaN", h, _set_attr(h, "min", np.nan), "min")
    add("states max infinite", h, _set_attr(h, "max", np.inf), "max")
    add("states min above max", h, _set_attr(h, "min", 5.0), "min")
    add("states max an array", h, _set_attr(h, "max", np.array([1.0, 2.0])), "max")
    add("states max a bool", h, _set_attr(h, "max", True), "max")

    # tracks
    num, cat = "/tracks/0", "/tracks/1"
    add("track named by a word", "/tracks/a", _rename(num, "/tracks/a"))
    add("tracks an array", "/tracks", _array_instead("/tracks"))
    add("track a value short", num, _replace(num, lambda v: v[:-1]))
    add("track rank 2", num, _replace(num, lambda v: v[:, None]))
    add("track name missing", num, _del_attr(num, "name"), "name")
    add("track name a number", num, _set_attr(num, "name", 3), "name")
    add("track name empty", num, _set_attr(num, "name", ""), "name")
    add("track name not UTF-8", num, _set_attr(num, "name", np.bytes_(b"\xff\xfe")), "name")
    add("track names repeat", cat, _set_attr(cat, "name", "depth"), "unique")
    add("track kind unknown", num, _set_attr(num, "kind", "ordinal"), "kind")
    add("track kind missing", num, _del_attr(num, "kind"), "kind")
    add("numeric track holds ints", num, _replace(num, lambda v: v.astype("i4")))
    add("numeric track holds NaN", num, _replace(num, _set(3, np.nan)), "NaN")
    add("numeric track has categories", num, _set_attr(num, "categories", '["a"]'), "categories")
    add("categories bad JSON", cat, _set_attr(cat, "categories", '["D", "N"'), "JSON")
    add("categories not a list", cat, _set_attr(cat, "categories", '{"D": 0}'), "categories")
    add("categories not strings", cat, _set_attr(cat, "categories", "[1, 2, 3]"), "categories")
    add("categories repeat", cat, _set_attr(cat, "categories", '["D", "D", "V"]'), "repeat")
    add("categories too few", cat, _set_attr(cat, "categories", '["D", "N"]'), "codes")
    add("categories missing", cat, _del_attr(cat, "categories"), "codes")
    add("categorical code too large", cat, _replace(cat, _set(4, 3)), "codes")
    add("categorical code negative", cat, _replace(cat, _set(4, -1)), "codes")
    add("categorical track holds floats", cat, _replace(cat, lambda v: v.astype("f4")))
    add("swapped tracks", num, _swap_edit(num, cat))

    # predictions
    prob = "/predictions/probabilities"
    add("probabilities a row short", prob, _replace(prob, lambda v: v[:-1]), "rows")
    add("probabilities rank 1", prob, _replace(prob, lambda v: v[:, 0]))
    add("probabilities ints", prob, _replace(prob, lambda v: (v * 10).astype("i4")))
    add("probabilities above 1", prob, _replace(prob, _set((2, 0), 1.5)), "[0, 1]")
    add("probabilities NaN", prob, _replace(prob, _set((2, 0), np.nan)), "NaN")
    add("probabilities without columns", prob, _replace(prob, lambda v: v[:, :0]))
    add(
        "probabilities k disagrees with labels",
        "/predictions/labels/offsets",
        _replace(prob, lambda v: np.hstack([v, v[:, :1]])),
    )
    lab = "/predictions/labels/data"
    add("prediction labels not UTF-8", lab, _replace(lab, _set(1, 0xFF)), "UTF-8")
    add("predictions an array", "/predictions", _array_instead("/predictions"))

    # swapped datasets
    add("swapped token bytes and offsets", "/tokens/data", _swap_edit("/tokens/data", off))
    add("swapped sequence starts and offsets", off, _swap_edit(seq, off))
    add("swapped layers' states", "/states/0/h", _swap_edit("/states/0/h", h))
    add("swapped states and probabilities", "/states/0/c", _swap_edit("/states/0/c", prob))
    return found


def write_corpus(folder: Path) -> list[tuple[Hostile, Path]]:
    """Save the valid trace once and one broken copy per case into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    valid = valid_trace().save(folder / "valid.h5", overwrite=True)
    written = []
    for number, case in enumerate(cases()):
        path = folder / f"hostile_{number:03d}.h5"
        path.write_bytes(valid.read_bytes())
        case.corrupt(path)
        written.append((case, path))
    return written


if __name__ == "__main__":
    for case, path in write_corpus(Path(sys.argv[1] if len(sys.argv) > 1 else "hostile")):
        print(f"{path.name}: {case.name}")
