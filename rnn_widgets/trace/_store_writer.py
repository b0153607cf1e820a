"""A trace written into a Zarr store window by window, resumable: what ``capture(store=)`` uses.

Why: a trace larger than memory cannot be captured into memory and saved afterwards.
:class:`StoreWriter` writes the store that ``trace.save("run.zarr")`` writes (``_zarr``: the
same layout and version, chunks, codecs and fill values, so ``Trace.load`` opens it and checks
it the same way) while the states are being computed. The number of steps is known from the
sequences, so every array is created at full size first; the tokens (encoded a block at a
time, never held whole) and sequence bounds are written at once, and the states are filled a
*window* at a time.

Windows and chunks
------------------
A window is a run of consecutive sequences; the caller chooses them (``capture`` takes at
least one batch of sequences and about ``window_bytes`` of states, and sorts each window by
length into batches). The writer hands out, for every array, a buffer of the window's rows;
when the window is committed, each chunk of the store that the window completes is written
whole, and the rows past the last complete chunk (less than a chunk per array, at most 4 MiB)
are carried into the next window's buffer. No chunk is written in part or twice, so none is
read back, and an interrupted store holds whole chunks only: a chunk written is final.
The chunks are written by a background thread while the next window is computed, into a
second buffer (a disk of 100-300 MB/s otherwise doubled the time of a capture that
computes as fast; torch and zarr's I/O release the GIL). Memory: two windows of every
recorded array and less than a chunk per array each, whatever the number of steps (the
sequence bounds take 8 bytes a sequence).

Progress, interruption, resumption
----------------------------------
The root attribute ``capture`` (:data:`~._zarr.CAPTURE_ATTRIBUTE`) is the record: whether
the capture is ``complete``; ``steps``, the rows every array holds in chunks already written;
the running ``ranges`` (min, max) of each state array; and the ``fingerprint`` of what is
captured. It is rewritten after the chunks of a window are written (by the thread that
wrote them), never before, so an interruption (Ctrl+C, a crash, a full disk) leaves a record
that never claims more than the store holds. Locally zarr writes each object to a temporary
file and renames it into place, so a chunk or the record is replaced whole. ``Trace.load``
refuses a store whose capture is unfinished, saying how to resume it
(``_zarr.unfinished_capture``).

A writer opened on an unfinished store with the same fingerprint resumes: it starts again at
the window holding the first step not written in every array (repeating at most that window
and one chunk) and writes each array from its first unwritten chunk. Computed by the same
windows and batches, the repeated rows are the same bits, so a resumed store equals an
uninterrupted one byte for byte. A different fingerprint is refused, naming what differs;
``overwrite=True`` starts over. A complete store with the same fingerprint is left as it is
(:attr:`StoreWriter.complete`).

Finishing (:meth:`StoreWriter.finish`): the predicted labels, whose byte offsets depend on
every label before them, are written from the predicted ids kept meanwhile in a scratch
array (``/predictions/predicted``), which is then deleted; each state array gets its ``min``
and ``max``; last, the record says ``complete``. An interrupted finish is done again.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._chunked import chunk_steps, require_scale
from ._layout import FORMAT, VERSION
from ._storage import is_url, local
from ._tokens import encoded_blocks
from ._trace import display_range, resolve_cell_groups
from ._zarr import (
    CAPTURE_ATTRIBUTE,
    create_rows,
    is_store,
    vector_chunk,
    write_vector,
)

__all__ = ["StoreWindow", "StoreWriter", "WindowRows"]

#: The scratch array of predicted ids (one per step and prediction) until the labels are written.
_PREDICTED = "predicted"
#: What the writer's own fingerprint entries mean, for the message of a refused resume.
_OWN = {
    "tokens": "the tokens or sequence lengths",
    "states": "the recorded layers, kinds or widths",
    "predictions": "the predictions recorded (their number or labels)",
}


@dataclass(frozen=True)
class StoreWindow:
    """A run of consecutive sequences whose states are written together.

    Attributes
    ----------
    index : int
        Its place among all windows.
    sequences : range
        The sequences it holds.
    start, stop : int
        The steps it covers, ``start:stop``.

    """

    index: int
    sequences: range
    start: int
    stop: int


@dataclass(frozen=True)
class WindowRows:
    """The writable rows of one window, to fill before ``writer.commit(window)``.

    Row ``i`` of each array is step ``window.start + i``; every row must be filled.

    Attributes
    ----------
    states : mapping of (int, str) to ndarray, shape (stop - start, n_cells)
        float32, one per recorded ``(layer, kind)``.
    probabilities : ndarray of float32, shape (stop - start, k), or None
        The top-k probabilities (None: no predictions recorded).
    predicted : ndarray of int32, shape (stop - start, k), or None
        Each prediction as an index into the writer's ``labels``.

    """

    states: Mapping[tuple[int, str], np.ndarray]
    probabilities: np.ndarray | None
    predicted: np.ndarray | None


class _Rows:
    """One array of the store filled by rows: buffered from ``start``, stored up to ``written``.

    The current buffer holds rows ``start:`` (the carry, rows past the last chunk handed
    over, then the window's). :meth:`hand_over` gives the whole chunks the filled rows
    complete to be written, copies the carry into the spare buffer and makes it current, so
    the next window is filled while the last one is written; the caller waits for that
    write before the next hand-over.
    """

    def __init__(self, array: Any, chunk: int, n_steps: int) -> None:
        self.array = array
        self.chunk = chunk
        self.n_steps = n_steps
        self.written = 0
        self.start = 0
        empty = np.empty((0, *array.shape[1:]), dtype=np.dtype(array.dtype))
        self.buffer, self.spare = empty, empty

    def resume(self, steps: int, start: int) -> None:
        """Rows ``0:steps`` are stored (in whole chunks); the next window starts at ``start``."""
        self.written = self.n_steps if steps == self.n_steps else steps // self.chunk * self.chunk
        self.start = start

    def rows(self, start: int, stop: int) -> np.ndarray:
        """A writable view of rows ``start:stop``, after the carried rows ``self.start:start``."""
        need = stop - self.start
        if need > len(self.buffer):
            carried = start - self.start
            grown = self._new(max(need, self._room(stop - start)))
            grown[:carried] = self.buffer[:carried]
            self.buffer = grown
        return self.buffer[start - self.start : stop - self.start]

    def hand_over(self, stop: int) -> tuple[Any, int, np.ndarray] | None:
        """The whole chunks among the rows filled up to ``stop``: ``(array, row, values)``.

        ``values`` stays untouched until the next hand-over (it is the spare buffer then).
        """
        end = self.n_steps if stop == self.n_steps else stop // self.chunk * self.chunk
        job = None
        if end > self.written:
            job = (
                self.array,
                self.written,
                self.buffer[self.written - self.start : end - self.start],
            )
            self.written = end
        carried = self.buffer[self.written - self.start : max(0, stop - self.start)]
        if len(self.spare) < len(carried):
            self.spare = self._new(len(self.buffer))
        self.spare[: len(carried)] = carried
        self.buffer, self.spare = self.spare, self.buffer
        self.start = min(self.written, stop)
        return job

    def release(self) -> None:
        """Let go of both buffers (every row is written)."""
        empty = self.buffer[:0].copy()
        self.buffer, self.spare = empty, empty

    def _room(self, window: int) -> int:
        """Rows to allocate for a window: any carry (less than a chunk), and an eighth more."""
        return max(0, window) * 9 // 8 + self.chunk

    def _new(self, rows: int) -> np.ndarray:
        return np.empty((rows, *self.buffer.shape[1:]), dtype=self.buffer.dtype)


class _Appender:
    """A 1-D array of the store written in whole chunks from values appended in order."""

    def __init__(self, array: Any) -> None:
        self.array = array
        self.chunk = int(array.chunks[0])
        self.buffer = np.empty(self.chunk, dtype=np.dtype(array.dtype))
        self.filled = 0
        self.position = 0

    def append(self, values: np.ndarray) -> None:
        while len(values):
            take = min(self.chunk - self.filled, len(values))
            self.buffer[self.filled : self.filled + take] = values[:take]
            self.filled += take
            values = values[take:]
            if self.filled == self.chunk:
                self.close()

    def close(self) -> None:
        if self.filled:
            self.array[self.position : self.position + self.filled] = self.buffer[: self.filled]
            self.position += self.filled
            self.filled = 0


class StoreWriter:
    """A trace written into a Zarr store window by window; resumes an interrupted capture.

    What ``rw.capture(model, sequences, store=path)`` uses; any code that computes states
    sequence by sequence (another framework's model) can use it the same way. The store has
    the layout ``trace.save(path)`` writes, and is marked unfinished until :meth:`finish`
    (``Trace.load`` refuses it until then). See the module docstring of
    ``rnn_widgets.trace._store_writer`` for the windows, the record and the resumption.

    Parameters
    ----------
    path : str or path-like
        The store: a local folder (``.zarr`` is customary) or a URL, written in place.
    tokens : sequence of str
        Every step's token, sequences end to end: a list, `Tokens`, or any `TokenSequence`.
        Read by slices of :data:`~._tokens.TOKEN_BLOCK` tokens, twice (checked and digested,
        then written when the store is created) and never held whole, so a `TokenSequence`
        that makes its tokens on demand keeps a capture's memory from growing with its steps.
    lengths : sequence of int
        The length of each sequence (positive).
    widths : mapping of (int, str) to int
        The cells of each recorded ``(layer, kind)``.
    cell_groups : mapping of (int, str) to str, optional
        Declared cell groups; the others by width, as ``Trace.from_arrays`` groups them.
    labels : sequence of str, optional
        The names of the readout's outputs; given, ``k`` predictions per step are recorded.
    k : int
        Predictions per step (with ``labels``).
    fingerprint : mapping of str to JSON values
        What must be equal for a resume (the model, the inputs, the batching); the writer
        adds the tokens, lengths, states and predictions.
    overwrite : bool
        Start over, replacing whatever store is at ``path`` (a local folder that holds no
        Zarr store is never replaced). Else an unfinished capture with the same fingerprint
        is resumed, and anything else there is refused.

    Attributes
    ----------
    path : Path or str
        The store's folder, or its URL.
    n_steps : int
        The steps of the trace.
    steps : int
        The steps stored in every array so far (whole chunks).
    complete : bool
        Whether the store is finished (with this fingerprint: nothing to do).
    resumed : bool
        Whether an unfinished capture is being resumed.

    Raises
    ------
    FileExistsError
        ``path`` holds something other than an unfinished capture with this fingerprint (a
        trace saved there, another capture, other files) and ``overwrite`` is False; the
        message says what differs.
    ImportError
        zarr is not installed: ``pip install "rnn_widgets[scale]"``.

    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        tokens: Sequence[str],
        lengths: Sequence[int] | np.ndarray,
        widths: Mapping[tuple[int, str], int],
        cell_groups: Mapping[tuple[int, str], str] | None = None,
        labels: Sequence[str] | None = None,
        k: int = 0,
        fingerprint: Mapping[str, Any],
        overwrite: bool = False,
    ) -> None:
        zarr = require_scale("zarr")
        self._zarr = zarr
        self._lengths = np.asarray(lengths, dtype=np.int64)
        if self._lengths.ndim != 1 or not len(self._lengths) or (self._lengths <= 0).any():
            raise ValueError("lengths must be one positive int per sequence, at least one")
        self._starts = np.concatenate([[0], np.cumsum(self._lengths)]).astype(np.int64)
        self.n_steps = int(self._starts[-1])
        if isinstance(tokens, (str, bytes)) or not isinstance(tokens, Sequence):
            raise TypeError(
                f"tokens must be a sequence of str (one per step), got {type(tokens).__name__}"
            )
        if len(tokens) != self.n_steps:
            raise ValueError(f"{len(tokens)} tokens but the lengths add up to {self.n_steps}")
        self._tokens: Sequence[str] | None = tokens
        self._token_bytes, self._token_digest = _scan_tokens(tokens)
        self._widths = {key: int(width) for key, width in widths.items()}
        self._groups = resolve_cell_groups(self._widths, dict(cell_groups or {}))
        self._labels = None if labels is None else [str(label) for label in labels]
        self._k = int(k) if self._labels is not None else 0
        self._fingerprint = self._full_fingerprint(fingerprint)
        self.path: Path | str = str(path) if is_url(local(path)) else Path(local(path))
        self.source = str(self.path)
        self.steps = 0
        self.complete = False
        self.resumed = False
        self._ranges: dict[str, list[float]] = {}
        self._next = 0
        self._windows: list[StoreWindow] = []
        self._executor: ThreadPoolExecutor | None = None
        self._writing: Future[None] | None = None
        self._root = self._open(overwrite)
        self._tokens = None  # in the store, or checked against it by the fingerprint

    # ------------------------------------------------------------------ the store

    def _full_fingerprint(self, given: Mapping[str, Any]) -> dict[str, Any]:
        digest = hashlib.blake2b(digest_size=16)
        digest.update(self._lengths.tobytes())
        digest.update(self._token_digest.encode())
        states = [
            f"{layer}/{kind}: {width} cells of group {self._groups[(layer, kind)]}"
            for (layer, kind), width in sorted(self._widths.items())
        ]
        predictions = None
        if self._labels is not None:
            predictions = [self._k, _digest(json.dumps(self._labels).encode())]
        own = {"tokens": digest.hexdigest(), "states": states, "predictions": predictions}
        return json.loads(json.dumps({**dict(given), **own}))

    def _record(self, stage: str, steps: int | None = None) -> dict[str, Any]:
        return {
            "complete": stage == "done",
            "stage": stage,
            "steps": self.steps if steps is None else steps,
            "n_steps": self.n_steps,
            **({"ranges": self._ranges} if stage != "done" else {}),
            "fingerprint": self._fingerprint,
        }

    def _save_record(self, stage: str) -> None:
        self._stage = stage
        self._root.attrs.update({CAPTURE_ATTRIBUTE: self._record(stage)})

    def _open(self, overwrite: bool) -> Any:
        """The store's root group: resumed, left complete, or created afresh."""
        root, refusal = self._existing()
        if root is not None and not overwrite:
            record = _attributes(root).get(CAPTURE_ATTRIBUTE)
            if isinstance(record, dict) and record.get("stage") in ("states", "labels", "done"):
                if record.get("fingerprint") == self._fingerprint:
                    return self._resume(root, record)
                difference = _difference(record.get("fingerprint"), self._fingerprint)
                if record.get("complete") is True:
                    what, advice = "a capture", "pass overwrite=True to replace it"
                else:
                    what = "an unfinished capture"
                    advice = (
                        "resuming it needs the same model, sequences and arguments; pass "
                        "overwrite=True to start over"
                    )
                refusal = (
                    f"{self.source} holds {what} of something else (what differs: "
                    f"{difference}); {advice}, or choose another path"
                )
            elif isinstance(record, dict) and record.get("stage") == "setup":
                refusal = None  # interrupted before its first window: nothing to keep
        if refusal is not None and not overwrite:
            raise FileExistsError(refusal)
        return self._create()

    def _existing(self) -> tuple[Any, str | None]:
        """The group already at the path (or None) and why it may not be replaced silently."""
        zarr = self._zarr
        exists = f"{self.source} exists; pass overwrite=True to replace it"
        if isinstance(self.path, str):
            try:
                root = zarr.open_group(self.path, mode="r+", use_consolidated=False)
            except FileNotFoundError:
                return None, None
            except Exception:  # something unreadable is there
                return None, exists
            return root, f"{self.source} holds a Zarr store; pass overwrite=True to replace it"
        if not os.path.lexists(self.path):
            if not self.path.parent.is_dir():
                raise FileNotFoundError(
                    f"the folder {self.path.parent} does not exist; create it first"
                )
            return None, None
        if self.path.is_dir() and not self.path.is_symlink():
            if not is_store(self.path):
                raise FileExistsError(
                    f"{self.path} is a folder that holds no Zarr store (no zarr.json), so "
                    "capture does not write into it, even with overwrite=True; remove it "
                    "yourself or choose another path"
                )
            try:
                store = zarr.storage.LocalStore(self.path)
                root = zarr.open_group(store, mode="r+", use_consolidated=False)
            except Exception:
                return None, exists
            return root, f"{self.source} holds a Zarr store; pass overwrite=True to replace it"
        return None, exists

    def _remove_local(self) -> None:
        """Move what is at the local path aside and delete it (a store or a file)."""
        assert isinstance(self.path, Path)
        if not os.path.lexists(self.path):
            return
        if self.path.is_dir() and not self.path.is_symlink():
            old = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:12]}.old")
            os.rename(self.path, old)
            shutil.rmtree(old)
        else:
            self.path.unlink()

    def _create(self) -> Any:
        zarr = self._zarr
        attributes = {
            "format": FORMAT,
            "version": VERSION,
            CAPTURE_ATTRIBUTE: self._record("setup"),
        }
        if isinstance(self.path, str):
            root = zarr.open_group(self.path, mode="w", zarr_format=3, attributes=attributes)
        else:
            self._remove_local()
            store = zarr.storage.LocalStore(self.path)
            root = zarr.open_group(store, mode="w", zarr_format=3, attributes=attributes)
        self._root = root
        assert self._tokens is not None
        self._write_tokens(root.require_group("tokens"), self._tokens)
        write_vector(root, "sequence_starts", self._starts)
        self._rows: dict[Any, _Rows] = {}
        states = root.require_group("states")
        for (layer, kind), width in sorted(self._widths.items()):
            chunk = chunk_steps(width, self.n_steps)
            array = create_rows(
                states.require_group(str(layer)),
                kind,
                (self.n_steps, width),
                np.dtype(np.float32),
                chunk=chunk,
                attributes={"min": 0.0, "max": 0.0, "cell_group": self._groups[(layer, kind)]},
                fill_value=np.nan,
            )
            self._rows[(layer, kind)] = _Rows(array, chunk, self.n_steps)
        root.require_group("tracks")  # none, as trace.save writes them
        if self._labels is not None:
            group = root.require_group("predictions")
            chunk = chunk_steps(self._k, self.n_steps)
            for name, dtype in (("probabilities", np.float32), (_PREDICTED, np.int32)):
                shape = (self.n_steps, self._k)
                array = create_rows(group, name, shape, np.dtype(dtype), chunk=chunk)
                self._rows[name] = _Rows(array, chunk, self.n_steps)
        self._save_record("states")
        return root

    def _write_tokens(self, group: Any, tokens: Sequence[str]) -> None:
        """The ``data`` and ``offsets`` of ``tokens``, as ``trace.save`` writes them, by blocks.

        The tokens are encoded a second time (:func:`~._tokens.encoded_blocks`); should they
        differ from those digested (a sequence changed meanwhile), the store is refused.
        """
        blocks = (
            (sizes, np.frombuffer(block, dtype=np.uint8)) for sizes, block in encoded_blocks(tokens)
        )
        digest = _write_strings(group, self.n_steps, self._token_bytes, blocks)
        if digest != self._token_digest:
            raise ValueError(
                "the tokens changed while the store was being created (they were read twice "
                "and differ); do not change the sequences during a capture"
            )

    def _resume(self, root: Any, record: dict[str, Any]) -> Any:
        self._root = root
        self._stage = str(record["stage"])
        self.steps = int(record.get("steps", 0))
        if self._stage == "done":
            self.complete = True
            return root
        self.resumed = True
        ranges = record.get("ranges") or {}
        self._ranges = {str(key): [float(v) for v in value] for key, value in ranges.items()}
        self._rows = {}
        for layer, kind in sorted(self._widths):
            array = root[f"states/{layer}/{kind}"]
            self._rows[(layer, kind)] = _Rows(array, int(array.chunks[0]), self.n_steps)
        if self._labels is not None:
            for name in ("probabilities", _PREDICTED):
                if f"predictions/{name}" in root:
                    array = root[f"predictions/{name}"]
                    self._rows[name] = _Rows(array, int(array.chunks[0]), self.n_steps)
        if isinstance(self.path, Path):  # zarr's temporary files of writes cut short
            for leftover in self.path.rglob("*.partial"):
                leftover.unlink(missing_ok=True)
        return root

    # ------------------------------------------------------------------ windows

    def pending(self, partition: Sequence[int]) -> list[StoreWindow]:
        """The windows still to fill, in order; fill and :meth:`commit` each in turn.

        Parameters
        ----------
        partition : sequence of int
            Where the windows start, as sequence indices: ``0``, then increasing, then the
            number of sequences (``[0, 40, 100]``: sequences 0-39, then 40-99). A resumed
            capture must be given the same windows.

        Returns
        -------
        list of StoreWindow
            From the window holding the first step not yet stored in every array (every
            window when the capture is new; none when every step is stored).

        """
        if self.complete:
            return []
        bounds = [int(b) for b in partition]
        n_sequences = len(self._lengths)
        if (
            bounds[0] != 0
            or bounds[-1] != n_sequences
            or any(b >= c for b, c in itertools.pairwise(bounds))
        ):
            raise ValueError(
                f"partition must run from 0 to {n_sequences} (the sequences), increasing"
            )
        windows = [
            StoreWindow(i, range(a, b), int(self._starts[a]), int(self._starts[b]))
            for i, (a, b) in enumerate(itertools.pairwise(bounds))
        ]
        if self.steps >= self.n_steps:
            self._windows, self._next = [], 0
            for rows in self._rows.values():
                rows.resume(self.n_steps, self.n_steps)
            return []
        first_unwritten = min(
            (self.steps // rows.chunk) * rows.chunk for rows in self._rows.values()
        )
        first = next(w for w in windows if w.stop > first_unwritten)
        for rows in self._rows.values():
            rows.resume(self.steps, first.start)
        self._windows = windows[first.index :]
        self._next = 0
        return list(self._windows)

    def rows(self, window: StoreWindow) -> WindowRows:
        """The buffers to fill with the states of ``window`` (the next pending window)."""
        if self._next >= len(self._windows) or window != self._windows[self._next]:
            raise ValueError("windows are filled and committed in the order pending() gives")

        def view(key: Any) -> np.ndarray:
            return self._rows[key].rows(window.start, window.stop)

        has = self._labels is not None
        return WindowRows(
            {key: view(key) for key in sorted(self._widths)},
            view("probabilities") if has else None,
            view(_PREDICTED) if has else None,
        )

    def commit(self, window: StoreWindow) -> None:
        """Hand the chunks the filled ``window`` completes to be written, then recorded.

        A background thread writes them and then rewrites the record; this returns once the
        previous window's chunks are written (its buffers are then filled next), so the next
        window is computed while this one is written. :meth:`close` waits for the last.

        Raises
        ------
        ValueError
            A state array holds NaN or infinite values (nothing of the window is recorded).
        OSError
            Writing the previous window failed (a full disk, a lost connection).

        """
        if self._next >= len(self._windows) or window != self._windows[self._next]:
            raise ValueError("windows are filled and committed in the order pending() gives")
        for key in sorted(self._widths):
            rows = self._rows[key]
            values = rows.buffer[window.start - rows.start : window.stop - rows.start]
            low, high = float(values.min()), float(values.max())
            if not (math.isfinite(low) and math.isfinite(high)):
                raise ValueError(
                    f"layer {key[0]} kind {key[1]!r} holds NaN or infinite states in steps "
                    f"{window.start}:{window.stop} (is the network diverging?); nothing of "
                    "them was stored"
                )
            name = f"{key[0]}/{key[1]}"
            old = self._ranges.get(name, [low, high])
            self._ranges[name] = [min(old[0], low), max(old[1], high)]
        self._wait()  # the last window's chunks are written: its buffers are free again
        jobs = [job for rows in self._rows.values() if (job := rows.hand_over(window.stop))]
        steps = min(rows.written for rows in self._rows.values())
        record = json.loads(json.dumps(self._record("states", steps)))  # a snapshot
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="rnn_widgets-store")
        self._writing = self._executor.submit(self._write, jobs, record)
        self._next += 1

    def _write(self, jobs: list[tuple[Any, int, np.ndarray]], record: dict[str, Any]) -> None:
        """Write the chunks a window completed, then the record saying so (in the background)."""
        for array, row, values in jobs:
            array[row : row + len(values)] = values
        self._root.attrs.update({CAPTURE_ATTRIBUTE: record})
        self.steps = record["steps"]

    def _wait(self) -> None:
        """Wait for the chunks handed over last to be written; raise what writing them raised."""
        writing, self._writing = self._writing, None
        if writing is not None:
            writing.result()

    def close(self) -> None:
        """Wait for the chunks handed over to be written and stop the writing thread.

        What ``capture`` does when it is interrupted, so that the store's record counts
        every window written before the exception propagates. Raises what writing raised.
        """
        try:
            self._wait()
        finally:
            if self._executor is not None:
                self._executor.shutdown()
                self._executor = None

    def finish(self) -> Path | str:
        """Write the predicted labels and each state array's range; mark the store complete.

        Returns
        -------
        Path or str
            The store's folder, or its URL.

        """
        if self.complete:
            return self.path
        self.close()
        for rows in self._rows.values():  # the windows are written: their buffers are not needed
            rows.release()
        if self.steps < self.n_steps:
            raise ValueError(
                f"{self.steps} of {self.n_steps} steps are stored; commit every pending window "
                "before finish()"
            )
        if self._labels is not None and self._stage == "states":
            self._write_labels()
            self._save_record("labels")
        if self._labels is not None:
            group = self._root["predictions"]
            if _PREDICTED in group:
                del group[_PREDICTED]
        for layer, kind in sorted(self._widths):
            low, high = display_range(*self._ranges[f"{layer}/{kind}"])
            self._root[f"states/{layer}/{kind}"].attrs.update({"min": low, "max": high})
        self._save_record("done")
        self.complete = True
        return self.path

    def _write_labels(self) -> None:
        """``/predictions/labels`` from the predicted ids, chunked as ``trace.save`` chunks it."""
        assert self._labels is not None
        encoded = [label.encode("utf-8") for label in self._labels]
        sizes = np.array([len(b) for b in encoded], dtype=np.int64)
        firsts = np.cumsum(sizes) - sizes
        table = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        predicted = self._root[f"predictions/{_PREDICTED}"]
        block = int(predicted.chunks[0])

        def blocks() -> Any:
            for start in range(0, self.n_steps, block):
                ids = np.asarray(predicted[start : start + block]).ravel()
                for offset in range(0, len(ids), 1 << 16):
                    yield ids[offset : offset + (1 << 16)]

        def label_blocks() -> Any:
            for ids in blocks():
                lengths = sizes[ids]
                ends = np.cumsum(lengths)
                count = int(ends[-1]) if len(ends) else 0
                index = np.repeat(firsts[ids] - (ends - lengths), lengths) + np.arange(count)
                yield lengths.astype(np.uint64), table[index]

        total = sum(int(sizes[ids].sum()) for ids in blocks())
        group = self._root["predictions"].require_group("labels")
        _write_strings(group, self.n_steps * self._k, total, label_blocks(), overwrite=True)


def _write_strings(
    group: Any, n_strings: int, n_bytes: int, blocks: Any, *, overwrite: bool = False
) -> str:
    """The ``data`` and ``offsets`` arrays of `Tokens` in ``group``, written block by block.

    ``blocks`` yields ``(sizes, data)``: uint64 byte lengths and the uint8 bytes of the next
    strings; together ``n_strings`` strings of ``n_bytes`` bytes. Chunked as
    ``_zarr.write_tokens`` chunks them, so the store equals what ``trace.save`` writes.
    Returns a digest of the blocks, as :func:`_scan_tokens` digests them.
    """

    def appender(name: str, length: int, dtype: type) -> _Appender:
        chunk = vector_chunk(length, np.dtype(dtype))
        shape = (length,)
        array = create_rows(group, name, shape, np.dtype(dtype), chunk=chunk, overwrite=overwrite)
        return _Appender(array)

    data = appender("data", n_bytes, np.uint8)
    offsets = appender("offsets", n_strings + 1, np.uint64)
    offsets.append(np.zeros(1, dtype=np.uint64))
    written = np.uint64(0)
    digest = hashlib.blake2b(digest_size=16)
    for sizes, block in blocks:
        digest.update(sizes.tobytes())
        digest.update(block)
        ends = np.cumsum(sizes, dtype=np.uint64)
        ends += written
        offsets.append(ends)
        data.append(block)
        written = ends[-1] if len(ends) else written
    if int(written) != n_bytes or offsets.position + offsets.filled != n_strings + 1:
        raise ValueError(f"{int(written)} bytes of strings were written, {n_bytes} expected")
    data.close()
    offsets.close()
    return digest.hexdigest()


def _attributes(group: Any) -> dict[str, Any]:
    try:
        return dict(group.attrs)
    except Exception:
        return {}


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _scan_tokens(tokens: Sequence[str]) -> tuple[int, str]:
    """The bytes ``tokens`` take in UTF-8, and a digest of them (block by block)."""
    digest = hashlib.blake2b(digest_size=16)
    n_bytes = 0
    for sizes, block in encoded_blocks(tokens):
        digest.update(sizes.tobytes())
        digest.update(block)
        n_bytes += len(block)
    return n_bytes, digest.hexdigest()


def _difference(old: Any, new: Mapping[str, Any]) -> str:
    """What differs between two fingerprints, for a message."""
    if not isinstance(old, dict):
        return "the store records no fingerprint"
    parts = []
    for key in [*new, *(key for key in old if key not in new)]:
        before, now = old.get(key), new.get(key)
        if before == now:
            continue
        if key in _OWN:
            parts.append(_OWN[key])
        elif _short(before) and _short(now):
            parts.append(f"{key} {before!r} in the store, {now!r} now")
        else:
            parts.append(f"the {key}")
    return "; ".join(parts) or "nothing named"


def _short(value: Any) -> bool:
    return (
        value is None
        or isinstance(value, (bool, int, float))
        or (isinstance(value, str) and len(value) <= 24)
    )
