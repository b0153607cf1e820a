"""What tokens do to memory: the time constant of every cell at every step, and by token.

In a layer linear in its state, ``h_t = a(x_t) * h_{t-1} + b(x_t)``, the decay ``a(x_t)`` says
how much of a cell's memory survives step ``t``: a cell keeps ``exp(-1 / tau)`` of itself per
step with the time constant ``tau = -1 / log|a|``, the reading of an eigenvalue ``lambda``
as ``-1 / log|lambda|`` steps that Maheswaranathan et al. (2019) [1]_ apply at fixed points.
Here it is read at every step, from the token the layer reads:

* minGRU (Feng et al. 2024 [2]_): ``a = 1 - z``, from the recorded update gate ``z``
  (``log a = log1p(-z)``);
* minLSTM: ``a = f'``, the normalised forget gate (``log1p(-i')`` where ``f'`` is near 1);
* Mamba (Gu & Dao 2023 [3]_), whose state update is ``s_t = exp(Δ_t A) * s_{t-1} + Δ_t B_t
  x_t`` per channel and state dimension: ``a = exp(Δ_t A)``, summarised per channel by its
  largest ``|a|`` over the state dimensions, the slowest mode (a family plugs in through
  ``LINEAR_FAMILIES``: see ``_linear_recurrence``).

Without the recorded kinds the decay is recomputed in float64 from the model and the layer's
inputs (the trace's tokens through the model's vocabulary for layer 0, the recorded ``h`` of
the layer below for a deeper one).

Per token type (the token's string), for every cell: the median ``tau`` over the steps that
read it, how often it *resets* the cell (``0 <= tau < 1``: less than ``1/e`` of the cell
survives, the token overwrites it) and how often it *holds* it (``tau > hold`` steps, by
default the trace's median sequence length: the cell outlasts a typical sequence).

Memory: the per-step results are (n_steps, n_cells) float32 arrays; everything else is
computed in blocks of steps (float64 intermediates of about ``BLOCK_VALUES`` values), and
the per-token statistics gather one token's rows at a time (in blocks of cells for a
frequent token).

References
----------
.. [1] Maheswaranathan, N., Williams, A. H., Golub, M. D., Ganguli, S., & Sussillo, D. (2019).
   Reverse engineering recurrent networks for sentiment classification reveals line attractor
   dynamics. Advances in Neural Information Processing Systems 32 (NeurIPS 2019), 15696-15705.
.. [2] Feng, L., Tung, F., Ahmed, M. O., Bengio, Y., & Hajimirsadeghi, H. (2024). Were RNNs
   all we needed? arXiv:2410.01201.
.. [3] Gu, A., & Dao, T. (2023). Mamba: Linear-time sequence modeling with selective state
   spaces. arXiv:2312.00752.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from tqdm.auto import tqdm

from .._validation import as_float, as_int, as_layer
from ..models import RecurrentModel, as_model
from ..trace import Trace, as_trace
from ._linear_recurrence import LINEAR_FAMILIES, LinearFamily, recurrence_of

__all__ = ["BLOCK_VALUES", "MemoryTimescales", "memory_timescales"]

#: About this many float64 values of intermediates are held at once (steps x cells x modes).
BLOCK_VALUES = 1 << 22

# The log10(tau) a track shows is clipped to this range: 0.01 to a million steps.
_TRACK_RANGE = (-2.0, 6.0)
_EFFECTS = ("reset", "hold")


@dataclass(frozen=True)
class MemoryTimescales:
    """Per step and cell, how long a layer's memory lasts; per token, what it does to it.

    Attributes
    ----------
    decay : ndarray of float32, shape (n_steps, n_cells)
        ``|a(x_t)|``: the fraction of each cell kept by step t (Mamba: the largest over a
        channel's state dimensions).
    tau : ndarray of float32, shape (n_steps, n_cells)
        ``-1 / log|a|`` in steps, computed from ``log|a|`` in float64 (so it stays finite
        where ``decay`` rounds to 1.0 in float32): ``inf`` where ``|a| == 1``, 0 where
        ``a == 0``, negative where ``|a| > 1`` (the e-folding time of growth).
    token_types : tuple of str
        The distinct token strings of the trace, sorted.
    token_type : ndarray of int32, shape (n_steps,)
        The index into ``token_types`` of the token read at each step.
    counts : ndarray of int64, shape (n_types,)
        How many steps read each token type.
    median_tau : ndarray of float32, shape (n_types, n_cells)
        The median ``tau`` over the steps that read each token type.
    resets : ndarray of int64, shape (n_types, n_cells)
        Of those steps, how many have ``0 <= tau < 1``: the token overwrites the cell.
    holds : ndarray of int64, shape (n_types, n_cells)
        Of those steps, how many have ``tau > hold``: the cell outlasts a sequence.
    hold : float
        The threshold of ``holds``, in steps.
    layer : int
    family : str
        The model family whose decay was read (``"min_gru"``, ``"min_lstm"``, ...).
    source : str
        Where the decay came from: ``"kinds z"`` (recorded kinds) or ``"model"``.

    """

    decay: np.ndarray
    tau: np.ndarray
    token_types: tuple[str, ...]
    token_type: np.ndarray
    counts: np.ndarray
    median_tau: np.ndarray
    resets: np.ndarray
    holds: np.ndarray
    hold: float
    layer: int
    family: str
    source: str

    @property
    def n_cells(self) -> int:
        """The number of cells (channels) of the layer."""
        return int(self.tau.shape[1])

    def top_tokens(
        self,
        cell: int,
        *,
        effect: Literal["reset", "hold"] = "reset",
        k: int = 10,
        min_count: int = 1,
    ) -> list[dict[str, Any]]:
        """The token types that most reset (or most hold) one cell.

        Ranked by the fraction of their reads that reset (hold) the cell, then by their
        median ``tau`` (shortest first for ``"reset"``, longest first for ``"hold"``), then
        by count; token types whose fraction is 0 are left out.

        Parameters
        ----------
        cell : int
            The cell (channel).
        effect : {"reset", "hold"}
            Rank by resets (``0 <= tau < 1``) or by holds (``tau > hold``).
        k : int
            At most this many token types.
        min_count : int
            Only token types read at least this often.

        Returns
        -------
        list of dict
            Keys ``token``, ``count``, ``fraction`` (of its reads) and ``median_tau``, best
            first: a table for ``pandas.DataFrame(...)``.

        Raises
        ------
        TypeError, ValueError
            On a cell that is not one of the layer's, an unknown effect, or bad counts.

        """
        cell = as_int(cell, "cell", minimum=0, maximum=self.n_cells - 1, why="the layer's cells")
        if effect not in _EFFECTS:
            raise ValueError(f"effect must be 'reset' or 'hold', got {effect!r}")
        k = as_int(k, "k", minimum=1)
        min_count = as_int(min_count, "min_count", minimum=1)
        hits = (self.resets if effect == "reset" else self.holds)[:, cell]
        fraction = hits / np.maximum(self.counts, 1)
        median = self.median_tau[:, cell].astype(np.float64)
        eligible = np.flatnonzero((hits > 0) & (self.counts >= min_count))
        by_tau = median[eligible] if effect == "reset" else -median[eligible]
        order = np.lexsort((-self.counts[eligible], by_tau, -fraction[eligible]))
        return [
            {
                "token": self.token_types[i],
                "count": int(self.counts[i]),
                "fraction": float(fraction[i]),
                "median_tau": float(median[i]),
            }
            for i in eligible[order[:k]]
        ]

    def to_track(self, cell: int | None = None, *, name: str | None = None) -> tuple[str, Any]:
        """A numeric track of ``log10(tau)``: ``trace.with_track(*result.to_track(cell=3))``.

        Parameters
        ----------
        cell : int, optional
            The cell whose time constant to show; None for the mean over cells.
        name : str, optional
            The track's name; by default ``"log10 tau, layer L, cell C"`` (or ``"mean log10
            tau, layer L"``).

        Returns
        -------
        name : str
        values : ndarray of float32, shape (n_steps,)
            ``log10(tau)`` clipped to [-2, 6] (0.01 to a million steps; ``inf`` shows as 6,
            0 and growth as -2), finite as a track must be; for ``cell=None`` the mean of
            those over the cells.

        """
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"name must be a non-empty str or None, got {name!r}")
        if cell is None:
            values = np.empty(len(self.tau), dtype=np.float32)
            block = max(1, BLOCK_VALUES // self.n_cells)
            for start in range(0, len(self.tau), block):
                chunk = _clipped_log10(self.tau[start : start + block])
                values[start : start + block] = chunk.mean(axis=1)
            return name or f"mean log10 tau, layer {self.layer}", values
        cell = as_int(cell, "cell", minimum=0, maximum=self.n_cells - 1, why="the layer's cells")
        values = _clipped_log10(self.tau[:, cell]).astype(np.float32)
        return name or f"log10 tau, layer {self.layer}, cell {cell}", values


def _clipped_log10(tau: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log10(np.where(tau > 0, tau, 0.0).astype(np.float64))
    return np.clip(np.nan_to_num(logs, nan=_TRACK_RANGE[0]), *_TRACK_RANGE)


def memory_timescales(
    trace: Trace,
    model: Any = None,
    *,
    layer: int = 0,
    family: str | None = None,
    hold: float | None = None,
    block_steps: int | None = None,
    progress: bool = True,
) -> MemoryTimescales:
    """How long each cell's memory lasts at every step, and which tokens reset or hold it.

    For a layer linear in its state, ``h_t = a(x_t) * h_{t-1} + b(x_t)``: the decay
    ``|a(x_t)|`` and time constant ``tau = -1 / log|a|`` per step and cell (the reading of
    eigenvalues as time constants of Maheswaranathan et al. 2019 [1]_, applied to each step's
    input), summarised per token type. minGRU (Feng et al. 2024 [2]_): ``a = 1 - z``; minLSTM:
    ``a = f'``. See the module docstring for Mamba's form and the memory bound.

    Parameters
    ----------
    trace : Trace
        The trace of the model; read from its recorded kinds (minGRU ``z``; minLSTM ``i``
        or ``f``) where it has them.
    model : RecurrentModel, MinGRU or MinLSTM, optional
        Gives the family, and recomputes the decay (float64) where the trace lacks those
        kinds: layer 0 from the trace's tokens through the model's vocabulary, a deeper
        layer from the recorded ``h`` of the layer below. Not modified.
    layer : int
        The layer.
    family : {"min_gru", "min_lstm"}, optional
        The family, when no model is given (a trace does not record it); must agree with
        the model's when both are given.
    hold : float, optional
        ``tau`` above this many steps counts as holding a cell; by default the median
        sequence length of the trace.
    block_steps : int, optional
        Steps computed at once (default: about ``BLOCK_VALUES`` values); the result does not
        depend on it.
    progress : bool
        Show a progress bar over the blocks.

    Returns
    -------
    MemoryTimescales

    Raises
    ------
    TypeError
        If neither a model nor a family is given, or the family is not linear in its state
        (naming the supported families).
    ValueError
        On a layer the trace or model lacks, a trace that records none of the kinds the decay
        is read from and no model to recompute it (naming the kinds to capture), gate values
        outside [0, 1] or not finite, widths that differ from the model's, or bad numbers.

    References
    ----------
    .. [1] Maheswaranathan, N., Williams, A. H., Golub, M. D., Ganguli, S., & Sussillo, D.
       (2019). Reverse engineering recurrent networks for sentiment classification reveals line
       attractor dynamics. Advances in Neural Information Processing Systems 32 (NeurIPS 2019),
       15696-15705.
    .. [2] Feng, L., Tung, F., Ahmed, M. O., Bengio, Y., & Hajimirsadeghi, H. (2024). Were
       RNNs all we needed? arXiv:2410.01201.

    Examples
    --------
    >>> timescales = memory_timescales(trace, model)  # doctest: +SKIP
    >>> timescales.top_tokens(cell=0, effect="reset")  # doctest: +SKIP
    >>> trace = trace.with_track(*timescales.to_track(cell=0))  # doctest: +SKIP

    """
    trace = as_trace(trace)
    layer = as_layer(layer, trace.layers)
    if model is not None:
        model = as_model(model)
        model.check_layer(layer=layer)
    name, spec = _family(model, family)
    reader = _decay_reader(trace, model, layer, name, spec)
    n_cells = reader.n_cells
    hold = _hold(trace, hold)
    block = max(1, BLOCK_VALUES // n_cells) if block_steps is None else block_steps
    block = as_int(block, "block_steps", minimum=1)
    decay = np.empty((trace.n_steps, n_cells), dtype=np.float32)
    tau = np.empty((trace.n_steps, n_cells), dtype=np.float32)
    starts = range(0, trace.n_steps, block)
    for start in tqdm(starts, desc="time constants", disable=not progress):
        stop = min(start + block, trace.n_steps)
        log_a = reader(start, stop)
        decay[start:stop] = np.exp(log_a)
        tau[start:stop] = _tau(log_a)
    types, token_type = _token_types(trace)
    counts, median, resets, holds = _per_type(tau, token_type, len(types), hold)
    return MemoryTimescales(
        decay=decay,
        tau=tau,
        token_types=types,
        token_type=token_type,
        counts=counts,
        median_tau=median,
        resets=resets,
        holds=holds,
        hold=hold,
        layer=layer,
        family=name,
        source=reader.source,
    )


def _family(model: RecurrentModel | None, family: Any) -> tuple[str, LinearFamily]:
    """The family's name and entry, from the model or the ``family`` argument."""
    supported = ", ".join(repr(name) for name in LINEAR_FAMILIES)
    if family is not None and not isinstance(family, str):
        raise TypeError(f"family must be a str such as 'min_gru', got {type(family).__name__}")
    if model is None and family is None:
        raise TypeError(
            "memory_timescales needs to know how the trace's kinds read as a decay: pass the "
            f"model (model=...) or its family (family=, one of {supported})"
        )
    if model is not None and family is not None and family != model.family:
        raise ValueError(
            f"family={family!r} contradicts the model's family {model.family!r}; leave family "
            "out when passing the model"
        )
    name = model.family if model is not None else family
    spec = LINEAR_FAMILIES.get(name)  # type: ignore[arg-type]
    if spec is None:
        raise TypeError(
            f"memory_timescales reads the decay of layers linear in their state (families "
            f"{supported}); got the family {name!r}, whose gates read the state, so its decay "
            "is not a function of the token alone"
        )
    return name, spec  # type: ignore[return-value]


def _hold(trace: Trace, hold: Any) -> float:
    if hold is None:
        lengths = np.diff(np.asarray(trace.sequence_bounds), axis=1)[:, 0]
        return float(np.median(lengths))
    value = as_float(hold, "hold")
    if value <= 0:
        raise ValueError(f"hold must be > 0 steps (a time constant above it holds), got {value}")
    return value


def _tau(log_a: np.ndarray) -> np.ndarray:
    """``-1 / log|a|``: inf where ``log|a| == 0`` or past float32's range, 0 at ``-inf``."""
    with np.errstate(divide="ignore"):
        tau = np.where(log_a == 0, np.inf, -1.0 / log_a)
    # Stored as float32: a time constant past its range is as good as infinite (and a cast
    # would warn of an overflow).
    return np.where(tau > _FLOAT32_MAX, np.inf, tau)


_FLOAT32_MAX = float(np.finfo(np.float32).max)


# ---------------------------------------------------------------------------------- reading


class _DecayReader:
    """``reader(start, stop) -> log|a|`` (steps, n_cells), float64, over a block of steps."""

    def __init__(self, n_cells: int, source: str, read: Any) -> None:
        self.n_cells = n_cells
        self.source = source
        self.read = read

    def __call__(self, start: int, stop: int) -> np.ndarray:
        log_a = self.read(start, stop)
        if np.isnan(log_a).any():
            raise ValueError(
                f"the decay at steps {start}:{stop} is NaN: a recorded gate lies outside [0, 1] "
                "or is not finite; is the trace from a model of this family?"
            )
        return log_a.max(axis=2)  # the slowest mode of each cell (channel)


def _decay_reader(
    trace: Trace, model: RecurrentModel | None, layer: int, name: str, spec: LinearFamily
) -> _DecayReader:
    recorded = [kind for kind in spec.decay_kinds if kind in trace.kinds(layer=layer)]
    if recorded and spec.needs_model and model is None:
        raise ValueError(
            f"a {name} decay is read from the recorded {recorded[0]!r} and the model's weights; "
            "pass the model (model=...)"
        )
    if recorded:
        return _from_kinds(trace, model, layer, spec, recorded)
    kinds = " or ".join(repr(kind) for kind in spec.decay_kinds)
    capture = f"rw.capture(model, sequences, kinds=['h', {spec.decay_kinds[0]!r}])"
    if model is None:
        raise ValueError(
            f"layer {layer} of the trace records none of the kinds a {name} decay is read from "
            f"({kinds}); capture one ({capture}) or pass the model to recompute it"
        )
    if spec.recurrence is None or not spec.reads_step_input:
        raise ValueError(
            f"a {name} layer's decay cannot be recomputed from its inputs step by step; "
            f"capture the kind {kinds} ({capture})"
        )
    return _from_model(trace, model, layer, kinds, capture)


def _from_kinds(
    trace: Trace,
    model: RecurrentModel | None,
    layer: int,
    spec: LinearFamily,
    recorded: list[str],
) -> _DecayReader:
    n_cells = trace.n_cells(layer=layer, kind=recorded[0])
    if model is not None and model.n_cells(layer=layer) != n_cells:
        raise ValueError(
            f"the trace's layer {layer} has {n_cells} cells, the model's "
            f"{model.n_cells(layer=layer)}; pass the trace captured from this model"
        )
    arrays = {kind: trace.states(layer=layer, kind=kind) for kind in recorded}

    def read(start: int, stop: int) -> np.ndarray:
        values = {kind: np.asarray(array[start:stop], np.float64) for kind, array in arrays.items()}
        for kind, block in values.items():
            if not np.isfinite(block).all():
                raise ValueError(
                    f"kind {kind!r} of layer {layer} holds NaN or infinite values at steps "
                    f"{start}:{stop}; a saved trace may be damaged (trace.check_finite says where)"
                )
        try:
            return spec.log_decay(values, model if spec.needs_model else None, layer)
        except ValueError as error:
            raise ValueError(f"{error} (layer {layer}, steps {start}:{stop})") from None

    return _DecayReader(n_cells, "kinds " + " ".join(recorded), read)


def _from_model(
    trace: Trace, model: RecurrentModel, layer: int, kinds: str, capture: str
) -> _DecayReader:
    recurrence = recurrence_of(model, layer)
    assert recurrence is not None  # the family's entry has one
    n_cells = model.n_cells(layer=layer)
    if layer == 0 and model.vocab is None:
        raise ValueError(
            f"layer 0 of the trace records none of {kinds}, and the model has no vocabulary to "
            f"encode the trace's tokens with; capture the kind ({capture})"
        )
    if layer > 0 and "h" not in trace.kinds(layer=layer - 1):
        raise ValueError(
            f"layer {layer}'s inputs are the h of layer {layer - 1}, which the trace does not "
            f"record; capture it, or capture the kind {kinds} of layer {layer} ({capture})"
        )
    if layer > 0 and trace.n_cells(layer=layer - 1, kind="h") != model.input_size(layer=layer):
        raise ValueError(
            f"the trace's h of layer {layer - 1} has {trace.n_cells(layer=layer - 1, kind='h')} "
            f"cells, but layer {layer} of the model reads {model.input_size(layer=layer)}; pass "
            "the trace captured from this model"
        )

    def inputs(start: int, stop: int) -> torch.Tensor:
        if layer > 0:
            return torch.from_numpy(
                np.asarray(trace.states(layer=layer - 1, kind="h")[start:stop], np.float64)
            )
        return model.encode(trace.tokens[start:stop]).detach().cpu().to(torch.float64)

    def read(start: int, stop: int) -> np.ndarray:
        with torch.no_grad():
            log_a = recurrence(inputs(start, stop))[0].numpy()
        return log_a.reshape(stop - start, n_cells, -1)

    return _DecayReader(n_cells, "model", read)


# ---------------------------------------------------------------------------------- by token


def _token_types(trace: Trace) -> tuple[tuple[str, ...], np.ndarray]:
    """The distinct token strings, sorted, and each step's index among them."""
    index: dict[str, int] = {}
    codes = np.fromiter(
        (index.setdefault(token, len(index)) for token in trace.tokens),
        dtype=np.int64,
        count=trace.n_steps,
    )
    names = list(index)
    order = sorted(range(len(names)), key=names.__getitem__)
    rank = np.empty(len(names), dtype=np.int64)
    rank[order] = np.arange(len(names))
    return tuple(names[i] for i in order), rank[codes].astype(np.int32)


def _per_type(
    tau: np.ndarray, token_type: np.ndarray, n_types: int, hold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Counts, median tau, resets and holds per token type; one type's rows at a time."""
    n_cells = tau.shape[1]
    counts = np.bincount(token_type, minlength=n_types).astype(np.int64)
    order = np.argsort(token_type, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(counts)])
    median = np.empty((n_types, n_cells), dtype=np.float32)
    resets = np.empty((n_types, n_cells), dtype=np.int64)
    holds = np.empty((n_types, n_cells), dtype=np.int64)
    for kind in range(n_types):
        rows = order[bounds[kind] : bounds[kind + 1]]
        width = max(1, BLOCK_VALUES // max(1, len(rows)))
        for c0 in range(0, n_cells, width):
            cells = slice(c0, c0 + width)
            values = tau[rows, cells]
            median[kind, cells] = np.median(values, axis=0)
            resets[kind, cells] = ((values >= 0) & (values < 1)).sum(axis=0)
            holds[kind, cells] = (values > hold).sum(axis=0)
    return counts, median, resets, holds
