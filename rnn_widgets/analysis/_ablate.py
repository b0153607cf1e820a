"""Ablation: how much a task metric depends on chosen cells (DNI's Rm-Neuron_k and Oracle_k).

:func:`ablate` runs a model through :meth:`RecurrentModel.run` with the top ``k`` cells of a
ranking clamped, for several ``k``, and beside it ``random_draws`` sets of ``k`` random cells
(the baseline a ranking must beat). Two modes, as in Deep Neural Inspection (Lin & Wu
2017 [1]_, section 5.4):

* ``"zero"`` (Rm-Neuron_k): the cells are forced to 0 at every step;
* ``"oracle"`` (Oracle_k): the cells are forced, step by step, to a hypothesis's label
  (in [0, 1]) scaled to [-1, 1], i.e. ``2 * label - 1``.

The metric is any function of a :class:`~rnn_widgets.models.RunResult`; ``rnn_widgets.tasks``
builds the ones Lin & Wu use for language models (``digit_accuracy``,
``next_type_accuracy``) and for classifiers (``classification_accuracy``) from the
``TaskData`` whose sequences are run (``rnn_widgets.analysis`` re-exports them). They are the
one definition of these measures: the zoo's held-out figures (``rnn_widgets.zoo``) are
computed by the same functions, so an ablation's baseline is the shipped figure.

Random cells are drawn from all cells of the layer (the top cells included), one random
permutation per draw, and the first ``k`` of it are clamped: the random sets grow with ``k``
like the top sets do, and both modes see the same random cells.

References
----------
.. [1] Lin, K., & Wu, E. (2017). Searching for meaning in RNNs using Deep Neural Inspection.
   Columbia University Computer Science Technical Report 003-17.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .._validation import as_int, to_numpy
from ..models import RunResult, as_model

__all__ = ["MODES", "Ablation", "ablate"]

#: The ablation modes: ``"zero"`` (Rm-Neuron_k) and ``"oracle"`` (Oracle_k).
MODES = ("zero", "oracle")
#: The most random draws per k. Each draw costs one forward pass over all the sequences per
#: k and mode, and keeps a permutation of the layer's cells: 1,000 already resolve the random
#: baseline's 0.1 % tail, while a typo such as 10**9 would allocate ~19 GB of draws first.
MAX_RANDOM_DRAWS = 1000
_DRAWS_WHY = "random cell sets per k, each a forward pass per k and mode"

Metric = Callable[[RunResult], float]


@dataclass(frozen=True, eq=False)
class Ablation:
    """The task metric with the top-k ranked cells clamped, against k random cells.

    Attributes
    ----------
    ks : ndarray of int, shape (n_k,)
        The numbers of cells clamped.
    baseline : float
        The metric with nothing clamped.
    top : mapping of str to ndarray, shape (n_k,)
        Per mode, the metric with the first ``k`` of ``ranked_cells`` clamped.
    random : mapping of str to ndarray, shape (random_draws, n_k)
        Per mode, the metric with ``k`` random cells clamped, one row per draw.
    ranked_cells : ndarray of int, shape (n_ranked,)
        The ranking the top cells were taken from.
    metric_name : str
        The metric's ``__name__``.
    random_cells : ndarray of int, shape (random_draws, max(ks))
        The random cells of each draw; a draw clamps the first ``k`` of its row.

    """

    ks: np.ndarray
    baseline: float
    top: Mapping[str, np.ndarray]
    random: Mapping[str, np.ndarray]
    ranked_cells: np.ndarray
    metric_name: str
    random_cells: np.ndarray | None = None

    def drop(self, mode: str = "zero") -> tuple[np.ndarray, np.ndarray]:
        """How much the metric falls: ``(baseline - top, baseline - mean of random)``.

        Returns
        -------
        top_drop, random_drop : ndarray, shape (n_k,)

        """
        if mode not in self.top:
            raise ValueError(f"mode {mode!r} was not run; choose from {list(self.top)}")
        return self.baseline - self.top[mode], self.baseline - self.random[mode].mean(axis=0)

    def to_rows(self) -> list[dict[str, Any]]:
        """One dict per mode and k: top, random mean and spread (std), and both drops."""
        rows = []
        for mode in self.top:
            top_drop, random_drop = self.drop(mode)
            for i, k in enumerate(self.ks.tolist()):
                rows.append(
                    {
                        "mode": mode,
                        "k": k,
                        "baseline": self.baseline,
                        "top": float(self.top[mode][i]),
                        "random_mean": float(self.random[mode][:, i].mean()),
                        "random_std": float(self.random[mode][:, i].std()),
                        "top_drop": float(top_drop[i]),
                        "random_drop": float(random_drop[i]),
                    }
                )
        return rows

    def plot(self, mode: str = "zero") -> Any:
        """The metric against k for the top-ranked and for random cells (a bqplot Figure).

        Random draws are drawn as their mean with a band of ± one standard deviation; a dashed
        line marks the metric with nothing clamped.

        Parameters
        ----------
        mode : str
            One of the modes that were run (``"zero"``, ``"mean"``, ...).

        Returns
        -------
        bqplot.Figure
            Its line marks hold ``top[mode]`` and the mean of ``random[mode]`` over ``ks``.

        """
        from .._figures import line_chart

        if mode not in self.top:
            raise ValueError(f"mode {mode!r} was not run; choose from {list(self.top)}")
        random = self.random[mode]
        return line_chart(
            self.ks,
            {"top-ranked cells": self.top[mode], "random cells": random.mean(axis=0)},
            spreads={"random cells": random.std(axis=0)},
            reference=(self.baseline, "nothing clamped"),
            title=f"{self.metric_name} with cells clamped ({mode})",
            x_label="cells clamped (k)",
            y_label=self.metric_name,
        )


def ablate(
    model: Any,
    sequences: Any,
    metric: Metric,
    ranked_cells: Sequence[int],
    *,
    layer: int = 0,
    ks: Sequence[int] = (1, 5, 10, 20),
    modes: Sequence[str] = ("zero",),
    oracle: np.ndarray | Sequence[np.ndarray] | None = None,
    random_draws: int = 5,
    seed: int = 0,
    signs: Sequence[float] | None = None,
    kinds: Sequence[str] | None = ("h",),
    progress: bool = True,
) -> Ablation:
    """The metric with the top-k ranked cells clamped, against k random cells, for each k.

    The ablations of Deep Neural Inspection (Lin & Wu 2017 [1]_, section 5.4): Rm-Neuron_k
    (``"zero"``) and Oracle_k (``"oracle"``).

    Parameters
    ----------
    model : RecurrentModel, nn.LSTM, nn.GRU or nn.RNN
        The model (``rnn_widgets.zoo.load(name)`` or ``RecurrentModel(...)``); a bare module
        is wrapped with ``wrap``, as ``capture`` does.
    sequences : sequence or batch
        What :meth:`RecurrentModel.run` reads: one sequence or a batch.
    metric : callable
        Maps a :class:`RunResult` of ``model.run(sequences, ...)`` to a float, higher better
        (e.g. ``tasks.digit_accuracy(task)``).
    ranked_cells : sequence of int
        Cells of ``layer``, best first (e.g. the ranking of ``score_cells``); at least
        ``max(ks)`` of them, no repeats.
    layer : int
        The layer whose cells are clamped.
    ks : sequence of int
        How many cells to clamp, each in ``1 .. n_cells``.
    modes : sequence of {"zero", "oracle"}
        ``"zero"`` clamps to 0 (Rm-Neuron_k); ``"oracle"`` to ``2 * oracle - 1`` per step
        (Oracle_k).
    oracle : array or sequence of arrays, optional
        Needed for ``"oracle"``: the hypothesis's label in [0, 1] per step, either one array
        per sequence, or one array over all steps laid end to end (as a trace's global
        steps; for one sequence, its steps).
    random_draws : int
        How many random sets of cells per k, 1 .. :data:`MAX_RANDOM_DRAWS` (1,000).
    seed : int
        Seeds the random cells; the same seed gives the same result.
    signs : sequence of float, optional
        One sign (+1 or -1) per ranked cell, e.g. ``score_cells``'s ``sign``: in oracle mode a
        ranked cell with sign -1 is clamped to ``1 - 2 * oracle`` (a cell that falls when the
        label rises gets the label upside down). Random cells always get ``2 * oracle - 1``.
    kinds : sequence of str, optional
        The state kinds each forward pass returns to ``metric`` besides the outputs (default
        ``("h",)``: the task metrics read only the outputs); None for every kind, which for
        a large Mamba includes its SSM state and may exceed ``RecurrentModel.run``'s budget.
    progress : bool
        Show a progress bar (one tick per forward pass).

    Returns
    -------
    Ablation

    Raises
    ------
    TypeError, ValueError
        On a bad argument, named with the fix.

    References
    ----------
    .. [1] Lin, K., & Wu, E. (2017). Searching for meaning in RNNs using Deep Neural Inspection.
       Columbia University Computer Science Technical Report 003-17.

    Examples
    --------
    >>> from rnn_widgets import zoo
    >>> task = zoo.data("parentheses_lstm").subset(range(4))
    >>> result = ablate(zoo.load("parentheses_lstm"), task.sequences, digit_accuracy(task),
    ...                 [0, 1, 2], ks=[1, 3], random_draws=2, progress=False)
    >>> result.top["zero"].shape, result.random["zero"].shape
    ((2,), (2, 2))

    """
    model = as_model(model)
    if not callable(metric):
        raise TypeError(f"metric must map a RunResult to a float, got {type(metric).__name__}")
    n_cells = model.n_cells(layer=layer)
    ks_array = _check_ks(ks, n_cells)
    ranked = _check_ranked(ranked_cells, n_cells, int(ks_array.max()))
    modes = _check_modes(modes, oracle)
    random_draws = as_int(
        random_draws, "random_draws", minimum=1, maximum=MAX_RANDOM_DRAWS, why=_DRAWS_WHY
    )
    seed = as_int(seed, "seed")
    cell_signs = _check_signs(signs, len(ranked))

    metric_name = str(getattr(metric, "__name__", type(metric).__name__))
    passes = 1 + len(modes) * len(ks_array) * (1 + random_draws)
    bar = tqdm(total=passes, desc="ablation", disable=not progress, leave=False)

    def measure(clamp: Mapping[int, Mapping[int, Any]] | None) -> float:
        value = metric(model.run(sequences, clamp=clamp, kinds=kinds))
        bar.update(1)
        return _metric_value(value, metric_name, clamp)

    with bar:
        free = model.run(sequences, kinds=kinds)
        baseline = _metric_value(metric(free), metric_name, None)
        bar.update(1)
        single, lengths = free.outputs.ndim == 2, free.lengths
        scaled = _scaled_oracle(oracle, lengths, single) if "oracle" in modes else None
        rng = np.random.default_rng(seed)
        random_cells = np.stack(
            [rng.permutation(n_cells)[: int(ks_array.max())] for _ in range(random_draws)]
        )
        top, random = {}, {}
        for mode in modes:

            def values(cells: np.ndarray, cell_signs: np.ndarray, mode: str = mode) -> dict:
                if mode == "zero":
                    return {int(cell): 0.0 for cell in cells}
                return {int(c): s * scaled for c, s in zip(cells, cell_signs, strict=True)}

            top[mode] = np.array(
                [measure({layer: values(ranked[:k], cell_signs[:k])}) for k in ks_array]
            )
            ones = np.ones(int(ks_array.max()))
            random[mode] = np.array(
                [
                    [measure({layer: values(row[:k], ones[:k])}) for k in ks_array]
                    for row in random_cells
                ]
            )
    return Ablation(
        ks=_readonly(ks_array),
        baseline=baseline,
        top=MappingProxyType({m: _readonly(v) for m, v in top.items()}),
        random=MappingProxyType({m: _readonly(v) for m, v in random.items()}),
        ranked_cells=_readonly(ranked),
        metric_name=metric_name,
        random_cells=_readonly(random_cells),
    )


# ---------------------------------------------------------------------- internals


def _check_ks(ks: Sequence[int], n_cells: int) -> np.ndarray:
    if isinstance(ks, (str, bytes)) or not isinstance(ks, (Sequence, np.ndarray)):
        raise TypeError(f"ks must be a sequence of ints such as (1, 5, 10, 20), got {ks!r}")
    values = [as_int(k, f"ks[{i}]", minimum=1) for i, k in enumerate(ks)]
    if not values:
        raise ValueError("ks is empty; pass at least one k, e.g. (1, 5, 10, 20)")
    too_many = [k for k in values if k > n_cells]
    if too_many:
        raise ValueError(f"ks {too_many} exceed the layer's {n_cells} cells; use k <= {n_cells}")
    return np.array(values, dtype=np.int64)


def _check_ranked(ranked_cells: Sequence[int], n_cells: int, needed: int) -> np.ndarray:
    array = to_numpy(ranked_cells)
    if array.ndim != 1 or not (array.size == 0 or np.issubdtype(array.dtype, np.integer)):
        raise TypeError(
            f"ranked_cells must be a 1-D sequence of cell indices, got {array.dtype} of shape "
            f"{array.shape}"
        )
    array = array.astype(np.int64)
    if len(array) < needed:
        raise ValueError(
            f"ranked_cells has {len(array)} cells but max(ks) is {needed}; rank more cells or "
            "use smaller ks"
        )
    bad = array[(array < 0) | (array >= n_cells)]
    if len(bad):
        raise ValueError(
            f"ranked_cells: cell {int(bad[0])} does not exist; the layer has cells 0 .. "
            f"{n_cells - 1}"
        )
    if len(np.unique(array)) != len(array):
        raise ValueError("ranked_cells repeats a cell; pass each cell at most once")
    return array


def _check_modes(modes: Sequence[str], oracle: Any) -> tuple[str, ...]:
    if isinstance(modes, str):
        modes = (modes,)
    modes = tuple(modes)
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise ValueError(f"modes must be a non-empty subset of {MODES}, got {modes!r}")
    if "oracle" in modes and oracle is None:
        raise ValueError(
            "mode 'oracle' needs oracle=: the hypothesis's labels in [0, 1] per step (e.g. "
            "the labels that score_cells ranked the cells by)"
        )
    return tuple(dict.fromkeys(modes))


def _metric_value(value: Any, metric_name: str, clamp: Any) -> float:
    """The metric's value as a finite float, or an error naming ``metric`` and what it gave."""
    where = "with nothing clamped"
    if clamp:
        cells = "; ".join(f"layer {layer}: cells {sorted(c)}" for layer, c in clamp.items())
        where = f"with {cells} clamped"
    size = value.numel() if isinstance(value, torch.Tensor) else np.size(value)
    if isinstance(value, (torch.Tensor, np.ndarray)) and size != 1:
        raise TypeError(
            f"metric {metric_name} must return one float, got an array of shape "
            f"{tuple(value.shape)} {where}; reduce it, e.g. with .mean()"
        )
    if isinstance(value, (str, bytes, bool)) or not isinstance(
        value, (numbers.Real, np.ndarray, np.generic, torch.Tensor)
    ):
        raise TypeError(
            f"metric {metric_name} must return a float, got {type(value).__name__} "
            f"{value!r:.60} {where}"
        )
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(
            f"metric {metric_name} must return a real float, got {value!r:.60} {where}"
        ) from None
    if not np.isfinite(number):
        raise ValueError(
            f"metric {metric_name} returned {number} {where}; it must return a finite number "
            "(a mean over no steps is NaN: check that the sequences have the steps it scores)"
        )
    return number


def _check_signs(signs: Sequence[float] | None, n_ranked: int) -> np.ndarray:
    if signs is None:
        return np.ones(n_ranked)
    array = np.asarray(to_numpy(signs), dtype=np.float64)
    if array.shape != (n_ranked,) or not np.isin(array, (-1.0, 1.0)).all():
        raise ValueError(
            f"signs must hold one +1 or -1 per ranked cell ({n_ranked}), got shape {array.shape}"
        )
    return array


def _scaled_oracle(oracle: Any, lengths: np.ndarray, single: bool) -> np.ndarray:
    """``2 * oracle - 1`` as a per-step clamp: (steps,) for one sequence, else (batch, steps)."""
    total = int(lengths.sum())
    if isinstance(oracle, (np.ndarray, torch.Tensor)) and to_numpy(oracle).ndim == 1:
        flat = to_numpy(oracle)
        if len(flat) != total:
            raise ValueError(
                f"oracle has {len(flat)} values but the sequences have {total} steps; pass one "
                "label per step (or one array per sequence)"
            )
        parts = np.split(flat, np.cumsum(lengths)[:-1])
    elif isinstance(oracle, (Sequence, np.ndarray)) and not isinstance(oracle, str):
        parts = [to_numpy(part) for part in oracle]
        if len(parts) != len(lengths) or any(
            p.shape != (n,) for p, n in zip(parts, lengths.tolist(), strict=False)
        ):
            raise ValueError(
                f"oracle must hold one array per sequence with the sequence's length "
                f"({lengths[:5].tolist()}...), got {len(parts)} arrays"
            )
    else:
        raise TypeError(f"oracle must be an array of labels, got {type(oracle).__name__}")
    flat = np.concatenate([np.asarray(p, dtype=np.float64) for p in parts])
    if not np.isfinite(flat).all() or flat.min() < 0.0 or flat.max() > 1.0:
        raise ValueError(
            "oracle labels must be finite and in [0, 1] (a hypothesis's labels); normalize "
            "them first"
        )
    padded = np.zeros((len(lengths), int(lengths.max())))
    for b, (part, n) in enumerate(zip(parts, lengths.tolist(), strict=True)):
        padded[b, :n] = 2.0 * np.asarray(part, dtype=np.float64) - 1.0
    return padded[0] if single else padded


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.array(array)
    array.flags.writeable = False
    return array
