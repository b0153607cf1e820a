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
"""

from __future__ import annotations

import mmap
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .._validation import as_int, encodable_text
from ..trace import Trace
from ._model import RecurrentModel, as_model

__all__ = ["DEFAULT_STATE_BUDGET", "capture"]

#: The top predictions kept per step by default (every output when the readout has fewer).
_DEFAULT_TOP_K = 5

#: The bytes capture may allocate by default for kinds with several values per channel (a
#: Mamba layer's ``ssm`` and ``conv``), over every recorded layer: 1 GiB.
DEFAULT_STATE_BUDGET = 1 << 30


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
) -> Trace:
    """Record a model's states over sequences as a `Trace`.

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

    Returns
    -------
    Trace
        States ``(layer, kind)`` of shape (n_steps, n_cells) (``n_cells`` the kind's width),
        float32, sequences in the order given, with the model's cell groups; top-k predictions
        where available.

    Raises
    ------
    TypeError, ValueError
        On a model that is not recurrent, malformed sequences (the message names the
        sequence and the position), unknown layers or kinds, malformed ``channels``, or
        budgeted kinds past ``state_budget`` (naming the bytes needed and the fix).

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
    state_budget = as_int(state_budget, "state_budget", minimum=0)
    columns = _channel_columns(model, channels, record_layers, record_kinds)
    trace_tokens = _trace_tokens(tokens, prepared)
    lengths = np.array([len(p) for p in prepared], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    n_steps = int(lengths.sum())

    widths = {
        (layer, kind): len(columns[(layer, kind)])
        if (layer, kind) in columns
        else model.n_cells(layer=layer, kind=kind)
        for layer in record_layers
        for kind in record_kinds
    }
    _check_budget(model, widths, n_steps, state_budget)
    arrays = {key: _small_page_array((n_steps, width)) for key, width in widths.items()}
    groups = {key: model.cell_group(layer=key[0], kind=key[1]) for key in arrays}
    selected = {key: torch.from_numpy(cols) for key, cols in columns.items()}
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
                        if piece.key in selected:
                            values = values.index_select(-1, selected[piece.key])
                        _scatter(values, piece.t0, target, batch_starts, batch_lengths)
                bar.update(int(batch_lengths.sum()))

    if len(set(groups.values())) > 1:  # kinds of other widths: name their groups
        trace = Trace.from_owned_arrays(trace_tokens, lengths, arrays, cell_groups=groups)
    else:  # every kind shares h's cells: the trace's own grouping by width says so
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
