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
  log-space parallel scan, its gates read from the same chunk's pre-activations. A user cell
  is stepped in Python.
* The float32 arrays of the trace are allocated once (and their pages faulted in at once),
  filled in place chunk by chunk, and handed to the trace without a copy
  (``Trace.from_owned_arrays``). Peak memory is the arrays plus about one batch of
  intermediates (``batch_size`` bounds it).
* The model is put in eval mode and every training flag restored afterwards, also on an
  exception or a KeyboardInterrupt (which propagates).
"""

from __future__ import annotations

import mmap
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .._validation import as_int, encodable_text
from ..trace import Trace
from ._model import RecurrentModel, as_model

__all__ = ["capture"]

#: The top predictions kept per step by default (every output when the readout has fewer).
_DEFAULT_TOP_K = 5


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
) -> Trace:
    """Record a model's states over sequences as a `Trace`.

    Parameters
    ----------
    model : RecurrentModel, nn.LSTM, nn.GRU, nn.RNN, MinGRU or MinLSTM
        A bare module is wrapped with :func:`wrap`.
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
        a MinLSTM; a cell's ``kinds``). Gates are recorded after
        their nonlinearity.
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

    Returns
    -------
    Trace
        States ``(layer, kind)`` of shape (n_steps, n_cells), float32, sequences in the order
        given; top-k predictions where available.

    Raises
    ------
    TypeError, ValueError
        On a model that is not recurrent, malformed sequences (the message names the
        sequence and the position), unknown layers or kinds.

    Examples
    --------
    >>> import torch
    >>> lstm = torch.nn.LSTM(input_size=2, hidden_size=3)
    >>> trace = capture(lstm, [torch.randn(5, 2), torch.randn(3, 2)], progress=False)
    >>> trace.n_steps, trace.kinds()
    (8, ('h', 'c', 'i', 'f', 'g', 'o'))

    """
    model = as_model(model)
    batch_size = as_int(batch_size, "batch_size", minimum=1)
    top_k = None if top_k is None else as_int(top_k, "top_k", minimum=0)
    prepared, _ = model.prepare(sequences, "sequences")
    record_layers = _layers(model, layers)
    record_kinds = _kinds(model, kinds)
    trace_tokens = _trace_tokens(tokens, prepared)
    lengths = np.array([len(p) for p in prepared], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    n_steps = int(lengths.sum())

    arrays = {
        (layer, kind): _small_page_array((n_steps, model.n_cells(layer=layer)))
        for layer in record_layers
        for kind in record_kinds
    }
    targets = {key: torch.from_numpy(array) for key, array in arrays.items()}
    for target in targets.values():
        # Fault the fresh pages in now, in one sequential, multi-threaded sweep: the same
        # faults taken one chunk at a time by the scattered writes below cost several times
        # more (measured; see benchmarks/capture.py).
        target.zero_()
    wanted = {layer: record_kinds for layer in record_layers}
    order = np.argsort(-lengths, kind="stable")
    k = 0

    with model.eval_mode(), torch.no_grad():
        output_labels, k = _output_labels(model, top_k, labels)
        forward = model.forward_pass(wanted, outputs=output_labels is not None)
        if output_labels is not None:
            probabilities = np.empty((n_steps, k), dtype=np.float32)
            predicted = np.empty((n_steps, k), dtype=np.int64)
            prob_target = torch.from_numpy(probabilities)
            id_target = torch.from_numpy(predicted)
        with tqdm(total=n_steps, unit="step", desc="capture", disable=not progress) as bar:
            # Equal batches: a small last batch would cost nearly as much per step as a full one.
            for batch in np.array_split(order, -(-len(order) // batch_size)):
                batch_lengths = lengths[batch]
                batch_starts = starts[batch]
                x = model.embed([prepared[i] for i in batch])
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
                        _scatter(values, piece.t0, target, batch_starts, batch_lengths)
                bar.update(int(batch_lengths.sum()))

    trace = Trace.from_owned_arrays(trace_tokens, lengths, arrays)
    if output_labels is not None:
        label_table = np.array(output_labels, dtype=object)
        trace = trace.with_predictions(label_table[predicted], probabilities)
    return trace


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
    """Copy a time-major piece (steps, batch, n) into the rows of each sequence."""
    span = values.shape[0]
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
            names = {"cell": "cell", "min_gru": "MinGRU", "min_lstm": "MinLSTM"}
            family = names.get(model.family, model.family.upper())
            raise ValueError(
                f"kinds: {kind!r} is not a kind of this {family}; choose from {list(available)}"
            )
        chosen.add(kind)
    if not chosen:
        raise ValueError("kinds is empty; pass None to record every kind")
    return tuple(kind for kind in available if kind in chosen)


def _trace_tokens(tokens: Any, prepared: Sequence[Any]) -> list[str]:
    if tokens is None:
        return [token for p in prepared for token in p.tokens]
    if isinstance(tokens, (str, bytes)) or not isinstance(tokens, Sequence):
        raise TypeError("tokens must be a list with one list of tokens per sequence")
    if len(tokens) != len(prepared):
        raise ValueError(
            f"tokens has {len(tokens)} lists but there are {len(prepared)} sequences; pass one "
            "list of tokens per sequence"
        )
    flat: list[str] = []
    for index, (given, p) in enumerate(zip(tokens, prepared, strict=True)):
        if isinstance(given, (str, bytes)) or len(given) != len(p):
            size = len(given) if not isinstance(given, (str, bytes)) else "a string"
            raise ValueError(f"tokens[{index}] must list one token per step ({len(p)}), got {size}")
        flat.extend(str(token) for token in given)
    return flat


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
