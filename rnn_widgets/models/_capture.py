"""`capture`: record a model's states over sequences into a `Trace`, exactly and fast.

How
---
* Sequences are checked first (a vocabulary miss in the last one fails at once), then read in
  batches of similar length (sorted by length, so little padding is computed).
* The model is read through its public pass interface (``prepare``, ``embed``,
  ``forward_pass``, ``eval_mode``), the same path ``RecurrentModel.run`` takes.
* For each batch and each layer of a torch module, ``h`` comes from the module's own fused
  forward pass (so it equals the module's output). A float32 LSTM on the CPU reads its gates
  from oneDNN's training workspace of that same pass (``_workspace``; 1.8-2.3x the bare
  forward pass for every gate of a 2 x 512 LSTM, against 2.5-2.8x when rebuilt); otherwise
  every gate is one batched matrix product over a chunk of steps (``_cores``). The LSTM's
  ``c`` comes from its elementwise recurrence. A `MinGRU` or `MinLSTM` layer runs its own
  log-space parallel scan, its gates read from the same chunk's pre-activations. A Mamba
  layer runs its blocked pass, whose scan buffer is the recorded SSM state (``_mamba``). A
  user cell is stepped in Python.
* Each kind gets its own width (``model.n_cells(layer=, kind=)``) and cell group
  (``model.cell_group``), handed to the trace. The kinds with several values per channel (a
  Mamba layer's ``ssm`` and ``conv``: ``model.values_per_channel``) are budgeted: before
  anything is allocated, their arrays must fit ``state_budget`` (:data:`DEFAULT_STATE_BUDGET`,
  1 GiB), else capture raises naming the bytes it would need and how to keep chosen channels
  (``channels=``) instead of filling memory.
* The float32 arrays of the trace are allocated once (and their pages faulted in at once),
  filled in place chunk by chunk, and handed to the trace without a copy
  (``Trace.from_owned_arrays``). Peak memory is the arrays plus about one batch of
  intermediates (``batch_size`` bounds it).
* The model is put in eval mode and every training flag restored afterwards, also on an
  exception or a KeyboardInterrupt (which propagates).
* Into a Zarr store (``store=``), for traces larger than memory: the sequences are read in
  windows of consecutive sequences (at least one batch, about ``window_bytes`` of states),
  each sorted by length into batches as above; `rnn_widgets.trace.StoreWriter` hands out a
  window's rows, writes the chunks of the store each window completes (in the background,
  while the next window is computed), and records the progress in the store, so two windows
  of states (and less than a chunk per array each) are held. Nothing is held per step: the
  sequences are checked up front and prepared again when a batch reads them (a
  ``_corpus.Corpus``), and the tokens are encoded and written a block at a time. A
  fingerprint of what is captured (digests of the model's weights, the inputs and tokens;
  the batching, kinds, widths, dtype, device and versions) is kept in the store: calling
  capture again with the same one resumes an interrupted capture from the steps written,
  repeating the same batches, so the store equals an uninterrupted capture's bit for bit.
  When every sequence fits in one window the batches are those of the capture into memory.
"""

from __future__ import annotations

import hashlib
import itertools
import mmap
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .._validation import as_int, encodable_text
from ..trace import StoreWriter, Trace
from ._corpus import Corpus, checked_token_list, checked_token_lists
from ._inputs import Prepared
from ._model import RecurrentModel, as_model

__all__ = ["DEFAULT_STATE_BUDGET", "DEFAULT_WINDOW_BYTES", "capture"]

#: The top predictions kept per step by default (every output when the readout has fewer).
_DEFAULT_TOP_K = 5

#: The bytes capture may allocate by default for kinds with several values per channel (a
#: Mamba layer's ``ssm`` and ``conv``), over every recorded layer: 1 GiB.
DEFAULT_STATE_BUDGET = 1 << 30

#: The bytes of states in one window of a capture into a store (``store=``) by default: 64 MiB
#: (or one batch of sequences, when more). Two windows are held: one computed, one written.
DEFAULT_WINDOW_BYTES = 64 << 20


def capture(
    model: Any,
    sequences: Any,
    *,
    layers: int | Iterable[int] | None = None,
    kinds: str | Iterable[str] | None = None,
    top_k: int | None = None,
    batch_size: int = 64,
    progress: bool = True,
    tokens: Sequence[Sequence[Any]] | None = None,
    labels: Sequence[str] | None = None,
    state_budget: int = DEFAULT_STATE_BUDGET,
    channels: Mapping[Any, Any] | None = None,
    store: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    window_bytes: int | None = None,
) -> Trace:
    """Record a model's states over sequences as a `Trace`, in memory or into a Zarr store.

    Parameters
    ----------
    model : RecurrentModel, nn.LSTM, nn.GRU, nn.RNN, MinGRU, MinLSTM, MambaModel or MambaForCausalLM
        A bare module is wrapped with :func:`wrap` (a Hugging Face Mamba needs the ``hf``
        extra).
    sequences : list of sequences, or one sequence
        Each sequence is a list of token strings (through the model's vocab and embedding),
        a list or 1-D array of token ids (through the embedding), or a float array of shape
        (steps, input_size). A 3-D float array (batch, steps, input_size) or a 2-D integer
        array (batch, steps) is a batch. Sequences may differ in length.
    layers : int or iterable of int, optional
        The layers to record (default: all). Each direction of a bidirectional module is its
        own layer, ``2 * l + d``.
    kinds : str or iterable of str, optional
        The kinds to record for each layer (default: all the model has: ``h``, and ``c i f g
        o`` for an LSTM, ``r z n`` for a GRU, ``z h_tilde`` for a MinGRU, ``i f h_tilde`` for
        a MinLSTM, ``x delta y conv ssm`` for Mamba; a cell's ``kinds``). Gates are recorded
        after their nonlinearity.
    top_k : int, optional
        How many of the readout's top predictions (softmax probabilities) to attach with
        ``trace.with_predictions``; 0 for none. By default 5, or every output when the
        readout has fewer; a ``top_k`` larger than the readout's number of outputs is refused
        (a ValueError naming both). Predictions are recorded only when the model
        has a readout and its outputs have names: ``labels``, or else the vocabulary when it
        has exactly one token per output.
    batch_size : int
        At most this many sequences are read at once (in batches of equal size); bounds the
        memory of intermediates, about ``batch_size x longest x 3 x n_cells`` floats.
    progress : bool
        Show a progress bar (``tqdm.auto``), counting steps.
    tokens : list of lists, optional
        What the trace shows for each step of each sequence. By default: the token strings;
        for ids, their vocab tokens (or the ids as text); for float inputs of at most 4
        features their values as short text (``"1 0 -1"``), else the step's position in its
        sequence (``"0"``, ``"1"``, ...).
    labels : sequence of str, optional
        The names of the readout's outputs, for predictions.
    state_budget : int
        The most bytes capture allocates for the kinds with several values per channel
        (``model.values_per_channel``: a Mamba layer's ``ssm``, ``state_size`` values per
        channel, and ``conv``), over every recorded layer; default 1 GiB
        (:data:`DEFAULT_STATE_BUDGET`). Past it capture raises before allocating anything,
        saying how many bytes it would need and how many channels fit. Other kinds are not
        budgeted (their size is what an LSTM's would be).
    channels : mapping, optional
        Channels to keep of those kinds, e.g. ``{"ssm": [0, 5, 17]}`` (every recorded layer)
        or ``{(1, "ssm"): [3]}`` (layer 1; overrides a kind's entry). The trace's ``ssm`` then
        holds those channels' values in the order given: column ``j`` is value ``j % k`` of
        channel ``channels[j // k]``, ``k`` being the values per channel. By default every
        channel.
    store : str or path-like, optional
        Capture into this Zarr store (a folder, ``"run.zarr"``, or a URL such as
        ``"s3://bucket/run.zarr"``) instead of memory, and return the trace opened from it:
        the store ``trace.save(store)`` would write, written while the states are computed,
        holding two windows of states in memory (``window_bytes``) and nothing per step (the
        sequences are checked up front, then prepared again a batch at a time; the tokens are
        written a block at a time), so a trace far larger than memory can be captured: 20 GB
        with 369 MiB above the inputs at the defaults (``docs/scale.md``). Needs the
        ``scale`` extra. The store is marked
        unfinished until its last step is written (``Trace.load`` refuses it until then); a
        capture interrupted (Ctrl+C, a crash) is resumed by calling ``capture`` again with
        the same model, sequences and arguments: it continues from the steps written and
        gives the same bits as an uninterrupted capture. Called again on a finished store of
        the same capture, it opens the store without computing anything. See
        ``docs/scale.md``.
    overwrite : bool
        With ``store``: start over, replacing whatever store is at ``store`` (a finished or
        unfinished capture, a saved trace). By default an unfinished capture of the same
        model, sequences and arguments is resumed, and anything else there is refused. A
        local folder that holds no Zarr store is never replaced.
    window_bytes : int, optional
        With ``store``: the bytes of states of one window (default 64 MiB,
        :data:`DEFAULT_WINDOW_BYTES`). Consecutive sequences are captured in windows of at
        most this many bytes of states (more when one batch of sequences needs more), each
        sorted by length into equal batches of at most ``batch_size``, as the capture into
        memory sorts all of them; when every sequence fits in one window the batches, and so
        the states, are exactly the in-memory capture's. A window's complete chunks are
        written while the next window is computed, so two windows are held (plus less than
        a 4 MiB chunk per recorded kind and layer each). With ``batch_size`` it sets the
        capture's memory: lower both to capture in less. A resume needs the same value.

    Returns
    -------
    Trace
        States ``(layer, kind)`` of shape (n_steps, n_cells) (``n_cells`` the kind's width),
        float32, sequences in the order given, with the model's cell groups; top-k predictions
        where available. With ``store``, the trace opened from the store (``Trace.load``):
        its states stay there and are read by window.

    Raises
    ------
    TypeError, ValueError
        On a model that is not recurrent, malformed sequences (the message names the
        sequence and the position), unknown layers or kinds, malformed ``channels``, or
        budgeted kinds past ``state_budget`` (naming the bytes needed and the fix).
    FileExistsError
        With ``store``: the path holds something other than an unfinished capture of the
        same model, sequences and arguments (the message says what differs), and
        ``overwrite`` is False; or a folder that is not a Zarr store.
    ImportError
        With ``store``, when zarr is not installed: ``pip install "rnn_widgets[scale]"``.
    KeyboardInterrupt
        Propagated (the model's modes restored); with ``store``, the store is left
        resumable, and the exception notes how many steps are written.

    Examples
    --------
    >>> import torch
    >>> lstm = torch.nn.LSTM(input_size=2, hidden_size=3)
    >>> trace = capture(lstm, [torch.randn(5, 2), torch.randn(3, 2)], progress=False)
    >>> trace.n_steps, trace.kinds()
    (8, ('h', 'c', 'i', 'f', 'g', 'o'))

    Into a store (``trace`` is opened from it; run again after an interruption to resume):

    >>> trace = capture(lstm, [torch.randn(5, 2)], store="run.zarr")  # doctest: +SKIP

    """
    model = as_model(model)
    batch_size = as_int(batch_size, "batch_size", minimum=1)
    top_k = None if top_k is None else as_int(top_k, "top_k", minimum=0)
    if not isinstance(overwrite, bool):
        raise TypeError(f"overwrite must be True or False, got {type(overwrite).__name__}")
    if store is not None:
        store = _store_path(store)
        window = as_int(
            DEFAULT_WINDOW_BYTES if window_bytes is None else window_bytes,
            "window_bytes",
            minimum=1,
        )
    elif overwrite or window_bytes is not None:
        raise ValueError(
            "overwrite and window_bytes are for a capture into a store (store='run.zarr'); a "
            "capture into memory holds every state and writes nothing"
        )
    # Into a store, nothing per step is held: the sequences are prepared again when read.
    prepared: Sequence[Prepared] = (
        model.prepare(sequences, "sequences")[0] if store is None else Corpus(model, sequences)
    )
    record_layers = _layers(model, layers)
    record_kinds = _kinds(model, kinds)
    state_budget = as_int(state_budget, "state_budget", minimum=0)
    columns = _channel_columns(model, channels, record_layers, record_kinds)
    lengths = (
        prepared.lengths
        if isinstance(prepared, Corpus)
        else np.array([len(p) for p in prepared], dtype=np.int64)
    )
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    n_steps = int(lengths.sum())

    widths = {
        (layer, kind): len(columns[(layer, kind)])
        if (layer, kind) in columns
        else model.n_cells(layer=layer, kind=kind)
        for layer in record_layers
        for kind in record_kinds
    }
    groups = {key: model.cell_group(layer=key[0], kind=key[1]) for key in widths}
    # Kinds of other widths name their groups; when every kind shares h's cells, the trace's
    # own grouping by width says so.
    declared = groups if len(set(groups.values())) > 1 else None
    selected = {key: torch.from_numpy(cols) for key, cols in columns.items()}
    run = _Run(model, prepared, lengths, batch_size, selected)
    if isinstance(prepared, Corpus):
        assert store is not None
        return _capture_into_store(
            run,
            prepared,
            store,
            overwrite=overwrite,
            window_bytes=window,
            widths=widths,
            declared=declared,
            tokens=prepared.tokens(tokens),
            top_k=top_k,
            labels=labels,
            state_budget=state_budget,
            columns=columns,
            progress=progress,
        )

    trace_tokens = _trace_tokens(tokens, prepared)
    _check_budget(model, widths, n_steps, state_budget)
    arrays = {key: _small_page_array((n_steps, width)) for key, width in widths.items()}
    targets = {key: torch.from_numpy(array) for key, array in arrays.items()}
    for target in targets.values():
        # Fault the fresh pages in now, in one sequential, multi-threaded sweep: the same
        # faults taken one chunk at a time by the scattered writes below cost several times
        # more (measured; see benchmarks/capture.py).
        target.zero_()
    wanted = {layer: record_kinds for layer in record_layers}

    with model.eval_mode(), torch.no_grad():
        output_labels, k = _output_labels(model, top_k, labels)
        forward = model.forward_pass(wanted, outputs=output_labels is not None)
        probabilities = predicted = None
        if output_labels is not None:
            probabilities = np.empty((n_steps, k), dtype=np.float32)
            predicted = np.empty((n_steps, k), dtype=np.int64)
        with tqdm(total=n_steps, unit="step", desc="capture", disable=not progress) as bar:
            run.fill(
                forward,
                np.arange(len(prepared)),
                starts,
                targets,
                probabilities,
                predicted,
                k,
                bar,
            )

    if declared is not None:
        trace = Trace.from_owned_arrays(trace_tokens, lengths, arrays, cell_groups=declared)
    else:
        trace = Trace.from_owned_arrays(trace_tokens, lengths, arrays)
    if output_labels is not None:
        label_table = np.array(output_labels, dtype=object)
        trace = trace.with_predictions(label_table[predicted], probabilities)
    return trace


class _Run:
    """The sequences of one capture read batch by batch into rows of target arrays."""

    def __init__(
        self,
        model: RecurrentModel,
        prepared: Sequence[Any],
        lengths: np.ndarray,
        batch_size: int,
        selected: Mapping[tuple[int, str], torch.Tensor],
    ) -> None:
        self.model = model
        self.prepared = prepared
        self.lengths = lengths
        self.batch_size = batch_size
        self.selected = selected

    def fill(
        self,
        forward: Any,
        indices: np.ndarray,
        starts: np.ndarray,
        targets: Mapping[tuple[int, str], torch.Tensor],
        probabilities: np.ndarray | None,
        predicted: np.ndarray | None,
        k: int,
        bar: Any,
    ) -> None:
        """Capture the sequences ``indices``; sequence ``i``'s rows start at ``starts[i]``.

        The sequences are sorted by length (longest first, ties in order) and read in equal
        batches of at most ``batch_size``: a small last batch would cost nearly as much per
        step as a full one. The batches depend only on the lengths of ``indices`` and on
        ``batch_size``, so the same sequences give the same batches, and the same bits.
        """
        order = indices[np.argsort(-self.lengths[indices], kind="stable")]
        prob_target = None if probabilities is None else torch.from_numpy(probabilities)
        id_target = None if predicted is None else torch.from_numpy(predicted)
        for batch in np.array_split(order, -(-len(order) // self.batch_size)):
            batch_lengths = self.lengths[batch]
            batch_starts = starts[batch]
            x = self.model.embed([self.prepared[i] for i in batch])
            for piece in forward.pieces(x, batch_lengths):
                values = piece.values
                if values.device.type != "cpu":
                    values = values.cpu()
                if piece.key == "out":
                    probs, ids = _top(values, k)
                    _scatter(probs, piece.t0, prob_target, batch_starts, batch_lengths)
                    _scatter(ids, piece.t0, id_target, batch_starts, batch_lengths)
                else:
                    target = targets[piece.key]
                    if piece.key in self.selected:
                        values = values.index_select(-1, self.selected[piece.key])
                    _scatter(values, piece.t0, target, batch_starts, batch_lengths)
            bar.update(int(batch_lengths.sum()))


def _capture_into_store(
    run: _Run,
    corpus: Corpus,
    store: str | Path,
    *,
    overwrite: bool,
    window_bytes: int,
    widths: Mapping[tuple[int, str], int],
    declared: Mapping[tuple[int, str], str] | None,
    tokens: Sequence[str],
    top_k: int | None,
    labels: Any,
    state_budget: int,
    columns: Mapping[tuple[int, str], np.ndarray],
    progress: bool,
) -> Trace:
    """``capture(..., store=)``: window by window into a Zarr store (``trace.StoreWriter``)."""
    model, lengths = run.model, run.lengths
    window_steps = max(1, window_bytes // (4 * sum(widths.values())))
    partition = _windows(lengths, run.batch_size, window_steps)
    largest = int(max(lengths[a:b].sum() for a, b in itertools.pairwise(partition)))
    _check_budget(model, widths, largest, state_budget)
    wanted: dict[int, list[str]] = {}
    for layer, kind in widths:
        wanted.setdefault(layer, []).append(kind)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    with model.eval_mode(), torch.no_grad():
        output_labels, k = _output_labels(model, top_k, labels)
        fingerprint = {
            "model": _model_digest(model),
            "inputs": corpus.digest,
            "batch_size": run.batch_size,
            "window_steps": window_steps,
            "channels": _columns_digest(columns),
            "dtype": str(model.dtype),
            "device": str(model.device),
            "torch": str(torch.__version__),
            "rnn_widgets": _version(),
        }
        writer = StoreWriter(
            store,
            tokens=tokens,
            lengths=lengths,
            widths=widths,
            cell_groups=declared,
            labels=output_labels,
            k=k,
            fingerprint=fingerprint,
            overwrite=overwrite,
        )
        if writer.complete:
            return Trace.load(writer.path)
        pending = writer.pending(partition)
        forward = model.forward_pass(wanted, outputs=output_labels is not None)
        initial = pending[0].start if pending else writer.n_steps
        description = "capture (resumed)" if writer.resumed else "capture"
        try:
            with tqdm(
                total=writer.n_steps,
                initial=initial,
                unit="step",
                desc=description,
                disable=not progress,
            ) as bar:
                for window in pending:
                    rows = writer.rows(window)
                    targets = {key: torch.from_numpy(array) for key, array in rows.states.items()}
                    run.fill(
                        forward,
                        np.asarray(window.sequences),
                        starts - window.start,
                        targets,
                        rows.probabilities,
                        rows.predicted,
                        k,
                        bar,
                    )
                    writer.commit(window)
                    del rows, targets  # a larger next window may replace the buffers
            writer.finish()
        except BaseException as error:
            try:  # let the window being written finish, so the store counts it
                writer.close()
            except Exception:  # the error at hand says more
                pass
            resumable = isinstance(error, (KeyboardInterrupt, OSError, MemoryError))
            if resumable and hasattr(error, "add_note"):  # Python 3.11, as zarr is
                error.add_note(
                    f"capture into {writer.source} stopped with {writer.steps:,} of its "
                    f"{writer.n_steps:,} steps stored; call rw.capture with the same model, "
                    "sequences and arguments to resume it"
                )
            raise
    return Trace.load(writer.path)


def _windows(lengths: np.ndarray, batch_size: int, window_steps: int) -> list[int]:
    """Where each window of consecutive sequences starts, plus the end (a partition).

    A window takes sequences while it holds fewer than ``batch_size`` of them or its steps
    stay within ``window_steps``: one batch at least, about ``window_steps`` steps at most.
    """
    bounds = [0]
    count = steps = 0
    for index, length in enumerate(lengths.tolist()):
        if count >= batch_size and steps + length > window_steps:
            bounds.append(index)
            count = steps = 0
        count += 1
        steps += length
    bounds.append(len(lengths))
    return bounds


def _store_path(store: Any) -> str | Path:
    """``store`` as a URL or a local path, refusing other types and HDF5 names."""
    if isinstance(store, str) and "://" in store and not store.startswith("file://"):
        return store
    if not isinstance(store, (str, os.PathLike)):
        raise TypeError(f"store must be a path or a URL, got {type(store).__name__}")
    path = Path(str(store).removeprefix("file://"))
    if path.suffix.lower() in (".h5", ".hdf5", ".hdf"):
        raise ValueError(
            f"store={str(store)!r} names an HDF5 file, but capture writes a Zarr store: name it "
            "run.zarr, or capture into memory and save it, trace.save('run.h5')"
        )
    return path


def _model_digest(model: RecurrentModel) -> str:
    """A digest of the model's weights, buffers and description (for resuming a capture)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{model!r} {model.family}".encode())
    for part in (model.core, model.embedding, model.readout_module):
        digest.update(type(part).__qualname__.encode())
        for name, value in _weights(part):
            flat = value.detach().cpu().contiguous().reshape(-1)
            digest.update(f"{name} {flat.dtype} {tuple(value.shape)}".encode())
            digest.update(flat.view(torch.uint8).numpy())
    return digest.hexdigest()


def _weights(part: Any) -> list[tuple[str, torch.Tensor]]:
    """The tensors of a module (its state dict) or of a cell's attributes."""
    if isinstance(part, torch.nn.Module):
        return [(n, v) for n, v in part.state_dict().items() if isinstance(v, torch.Tensor)]
    found: list[tuple[str, torch.Tensor]] = []
    for name, value in sorted(getattr(part, "__dict__", {}).items()):
        if isinstance(value, torch.nn.Module):
            found.extend((f"{name}.{n}", v) for n, v in _weights(value))
        elif isinstance(value, torch.Tensor):
            found.append((name, value))
        elif isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            found.append((name, torch.from_numpy(np.ascontiguousarray(value))))
    return found


def _columns_digest(columns: Mapping[tuple[int, str], np.ndarray]) -> str | None:
    if not columns:
        return None
    digest = hashlib.blake2b(digest_size=16)
    for (layer, kind), chosen in sorted(columns.items()):
        digest.update(f"{layer} {kind} ".encode())
        digest.update(np.ascontiguousarray(chosen, dtype=np.int64))
    return digest.hexdigest()


def _version() -> str:
    try:
        return version("rnn_widgets")
    except PackageNotFoundError:
        return "unknown"


def _small_page_array(shape: tuple[int, int]) -> np.ndarray:
    """A new float32 array in anonymous memory that the kernel backs with ordinary pages.

    numpy asks Linux for transparent huge pages on large arrays (``madvise``); on a machine
    whose THP ``defrag`` setting is ``madvise`` (a common default) every first touch then
    compacts memory to build a 2 MiB page, which made touching capture's arrays about six
    times slower (measured: 4 GiB filled in 9.7 s against 1.6 s; benchmarks/capture.py).
    An anonymous ``mmap`` is never advised, so it gets ordinary pages.
    """
    n_bytes = int(np.prod(shape)) * 4
    if n_bytes == 0:
        return np.empty(shape, dtype=np.float32)
    return np.frombuffer(mmap.mmap(-1, n_bytes), dtype=np.float32).reshape(shape)


def _scatter(
    values: torch.Tensor,
    t0: int,
    target: torch.Tensor,
    starts: np.ndarray,
    lengths: np.ndarray,
) -> None:
    """Copy a time-major piece (steps, batch, n) into the rows of each sequence.

    Sequences of one length stored end to end (a batch of the common case) take one copy:
    one call per sequence made a capture into a store wait on the GIL, which its writer
    thread holds between calls (measured: 17 of 31 s in ``copy_`` on a busy machine).
    """
    span = values.shape[0]
    length = int(lengths[0]) if len(lengths) else 0
    if (
        len(lengths) > 1
        and (lengths == length).all()
        and (np.diff(starts) == length).all()
        and t0 + span <= length
        and target.is_contiguous()
    ):
        rows = target[int(starts[0]) : int(starts[0]) + len(lengths) * length]
        rows.view(len(lengths), length, -1)[:, t0 : t0 + span].copy_(values.transpose(0, 1))
        return
    for column, (start, length) in enumerate(zip(starts.tolist(), lengths.tolist(), strict=True)):
        stop = min(t0 + span, length)
        if stop > t0:
            target[start + t0 : start + stop].copy_(values[: stop - t0, column])


def _top(logits: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    if not bool(torch.isfinite(logits).all()):
        raise ValueError(
            "the readout produced NaN or infinite outputs; check its weights, or pass top_k=0"
        )
    probabilities = torch.softmax(logits.float(), dim=-1)
    return probabilities.topk(k, dim=-1)


def _layers(model: RecurrentModel, layers: Any) -> list[int]:
    if layers is None:
        return list(model.layers)
    if isinstance(layers, (int, np.integer)) and not isinstance(layers, bool):
        layers = [layers]
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Iterable):
        raise TypeError(f"layers must be an int or a list of ints, got {layers!r}")
    chosen = sorted({model.check_layer(layer=layer, name="layers: layer") for layer in layers})
    if not chosen:
        raise ValueError("layers is empty; pass None to record every layer")
    return chosen


def _kinds(model: RecurrentModel, kinds: Any) -> tuple[str, ...]:
    available = model.kinds
    if kinds is None:
        return available
    if isinstance(kinds, str):
        kinds = [kinds]
    if not isinstance(kinds, Iterable):
        raise TypeError(f"kinds must be a str or a list of str, got {kinds!r}")
    chosen = set()
    for kind in kinds:
        if kind not in available:
            names = {"cell": "cell", "min_gru": "MinGRU", "min_lstm": "MinLSTM", "mamba": "Mamba"}
            family = names.get(model.family, model.family.upper())
            raise ValueError(
                f"kinds: {kind!r} is not a kind of this {family}; choose from {list(available)}"
            )
        chosen.add(kind)
    if not chosen:
        raise ValueError("kinds is empty; pass None to record every kind")
    return tuple(kind for kind in available if kind in chosen)


def _channel_columns(
    model: RecurrentModel, channels: Any, layers: Sequence[int], kinds: Sequence[str]
) -> dict[tuple[int, str], np.ndarray]:
    """The columns to keep of each recorded ``(layer, kind)`` that ``channels`` names."""
    if channels is None:
        return {}
    if not isinstance(channels, Mapping):
        raise TypeError(
            "channels must map a kind (or a (layer, kind) tuple) to channel indices, e.g. "
            f"{{'ssm': [0, 5]}}; got {type(channels).__name__}"
        )
    by_kind: dict[str, Any] = {}
    by_layer: dict[tuple[int, str], Any] = {}
    for key, chosen in channels.items():
        if isinstance(key, tuple) and len(key) == 2:
            layer = model.check_layer(layer=key[0], name="channels: layer")
            if layer not in layers:
                raise ValueError(
                    f"channels names layer {layer}, which capture does not record (layers="
                    f"{list(layers)}); record it or drop the entry"
                )
            by_layer[(layer, _channel_kind(model, layer, key[1], kinds))] = chosen
        else:
            for layer in layers:
                _channel_kind(model, layer, key, kinds)
            by_kind[key] = chosen
    result = {}
    for layer in layers:
        per_channel = model.values_per_channel(layer=layer)
        for kind in kinds:
            chosen = by_layer.get((layer, kind), by_kind.get(kind))
            if chosen is None:
                continue
            n_channels = model.n_cells(layer=layer)
            indices = _channel_indices(chosen, n_channels, f"channels[{kind!r}]")
            result[(layer, kind)] = (
                indices[:, None] * per_channel[kind] + np.arange(per_channel[kind])
            ).reshape(-1)
    return result


def _channel_kind(model: RecurrentModel, layer: int, kind: Any, kinds: Sequence[str]) -> str:
    per_channel = model.values_per_channel(layer=layer)
    if kind not in per_channel:
        offered = list(per_channel) or "none (every kind of this model has one value per cell)"
        raise ValueError(
            f"channels: {kind!r} is not a kind with several values per channel; this model "
            f"offers {offered}"
        )
    if kind not in kinds:
        raise ValueError(
            f"channels names {kind!r}, which capture does not record (kinds={list(kinds)}); "
            "record it or drop the entry"
        )
    return kind


def _channel_indices(chosen: Any, n_channels: int, name: str) -> np.ndarray:
    if isinstance(chosen, (str, bytes)) or not isinstance(chosen, Iterable):
        raise TypeError(f"{name} must be a list of channel indices, got {chosen!r}")
    indices = [as_int(value, f"{name} channel") for value in chosen]
    if not indices:
        raise ValueError(f"{name} is empty; name at least one channel, or leave the kind out")
    bad = [value for value in indices if not 0 <= value < n_channels]
    if bad:
        raise ValueError(
            f"{name}: channel {bad[0]} does not exist; the layer has channels 0 .. {n_channels - 1}"
        )
    if len(set(indices)) != len(indices):
        raise ValueError(f"{name} repeats a channel; name each channel once")
    return np.array(indices, dtype=np.int64)


def _check_budget(
    model: RecurrentModel, widths: Mapping[tuple[int, str], int], n_steps: int, budget: int
) -> None:
    """Refuse budgeted kinds whose arrays would pass ``budget`` bytes, saying what fits."""
    budgeted = {
        key: width
        for key, width in widths.items()
        if key[1] in model.values_per_channel(layer=key[0])
    }
    need = 4 * n_steps * sum(budgeted.values())
    if need <= budget:
        return
    layer, kind = max(budgeted, key=budgeted.__getitem__)
    channel_bytes = 4 * n_steps * model.values_per_channel(layer=layer)[kind]
    with_kind = [key for key in budgeted if key[1] == kind]
    others = need - 4 * n_steps * sum(budgeted[key] for key in with_kind)
    fit = max(0, budget - others) // (channel_bytes * len(with_kind))
    names = ", ".join(f"{k!r} of layer {lay}" for lay, k in sorted(budgeted))
    raise ValueError(
        f"capture would need {_bytes(need)} for {names} ({n_steps:,} steps, float32), past "
        f"state_budget={_bytes(budget)}. Keep chosen channels, e.g. channels={{{kind!r}: "
        f"[0, 5, 17]}}: each channel of {kind!r} costs {_bytes(channel_bytes)} per layer, so "
        f"{fit} channels of each layer fit; or leave {kind!r} out (kinds=[...]), record fewer "
        "layers or steps, or raise state_budget (bytes)"
    )


def _bytes(count: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} bytes"


def _trace_tokens(tokens: Any, prepared: Sequence[Any]) -> list[str]:
    """Every step's token as one flat list (a capture into memory)."""
    flat: list[str] = []
    for sequence_tokens in _token_lists(tokens, prepared):
        flat.extend(sequence_tokens)
    return flat


def _token_lists(tokens: Any, prepared: Sequence[Any]) -> Iterator[list[str]]:
    """Each sequence's tokens (``tokens`` if given, checked; else the prepared ones)."""
    if tokens is None:
        for p in prepared:
            yield p.tokens
        return
    given = checked_token_lists(tokens, len(prepared))
    for index, p in enumerate(prepared):
        yield checked_token_list(given[index], index, len(p))


def _output_labels(
    model: RecurrentModel, top_k: int | None, labels: Any
) -> tuple[list[str] | None, int]:
    """The names of the readout's outputs (None: no predictions recorded), and the k to keep.

    ``top_k`` None keeps :data:`_DEFAULT_TOP_K`, or every output when there are fewer; a
    ``top_k`` past the readout's outputs is refused, naming both.
    """
    readout = model.readout_module
    if labels is not None and readout is None:
        raise ValueError("labels names the readout's outputs, but the model has no readout")
    if top_k == 0 or readout is None:
        return None, 0
    probe = torch.zeros(1, model.n_features, dtype=model.readout_dtype, device=model.device)
    n_outputs = int(readout(probe).shape[-1])
    if top_k is None:
        top_k = min(_DEFAULT_TOP_K, n_outputs)
    elif top_k > n_outputs:
        raise ValueError(
            f"top_k={top_k} is more than the readout's {n_outputs} outputs; pass top_k <= "
            f"{n_outputs} (or 0 for no predictions)"
        )
    return _output_names(model, n_outputs, labels), top_k


def _output_names(model: RecurrentModel, n_outputs: int, labels: Any) -> list[str] | None:
    """The names of the readout's ``n_outputs`` outputs, or None when they have none."""
    if labels is not None:
        if isinstance(labels, (str, bytes)) or not isinstance(labels, Sequence):
            raise TypeError("labels must be a list of str, one per output of the readout")
        if len(labels) != n_outputs:
            raise ValueError(
                f"labels has {len(labels)} names but the readout has {n_outputs} outputs; "
                "pass one name per output"
            )
        return [encodable_text(str(label), f"labels[{i}]") for i, label in enumerate(labels)]
    vocab = model.vocab
    if vocab is None:
        return None
    tokens: dict[int, str] = {}
    for token, index in vocab.items():
        tokens.setdefault(index, token)  # the first token of an id names it, as encode reads it
    if max(tokens) + 1 == n_outputs:
        return [tokens.get(index, str(index)) for index in range(n_outputs)]
    return None
