"""Neuron relevance (Deep Neural Inspection, section 3.2): which cells predict a hypothesis.

Deep Neural Inspection is the method of Lin & Wu (2017) [1]_.
For every cell and every hypothesis, :func:`score_cells` fits a one-input model that predicts
the hypothesis's label from that cell's value and scores it on held-out folds:

* **binary** labels: logistic regression with an L2 penalty on the weight, C = 1 and an
  unpenalised intercept (scikit-learn's ``LogisticRegression()`` defaults, lbfgs solver),
  on the cell's values divided by their standard deviation over the trace, so that the
  penalty and the scores do not depend on a kind's units (a Mamba SSM state of 1e-2 is scored
  as a gate of 1; on raw values the penalty pins such a cell's weight near 0 and every
  score at chance);
  scores: accuracy, balanced accuracy and ROC AUC; cells are ranked by **balanced
  accuracy**. Lin & Wu used a linear SVM scored by plain accuracy; plain accuracy rewards a
  model that always predicts the majority label (a feature on at 5 % of the steps gives every
  cell 95 %), and the logistic fit of one input is a two-parameter convex problem solved for
  all cells at once.
* **continuous** labels: ordinary least squares, scored by R² on the held-out fold.

Folds are **contiguous**: whole sequences (``fold_by="sequences"``) or contiguous blocks of
steps (``"blocks"``), never shuffled steps. Neighbouring steps of a recurrent network are
nearly copies of each other, so shuffled folds would test each model on near-duplicates of
its training steps and report scores that do not carry over to new text. Per-fold scores
are averaged over folds (a fold where a score is undefined, e.g. the AUC of a fold holding one
class, is left out of the average).

How it is fast (no Python loop over cells or folds)
---------------------------------------------------
The states are read block by block (each block inside one fold). What does not depend on a
hypothesis is read once per trace (:class:`CellScorer`; :func:`score_cells` makes one):

1. moments per fold: counts, sums of x and x², each cell's range; then per fold and cell a
   histogram of the cell's values (``bins`` bins, uniform in ``tanh`` of the standardised
   value, see ``_Binning``) with the count and sum of x per bin, and each step's bin (kept
   within :data:`INDEX_CACHE_BYTES`).

Then per hypothesis:

2. the label's sums per fold (y, y²) and its products with every cell (x·y: one matrix product
   per block for continuous labels); OLS on the training folds and the held-out R² follow in
   closed form from them;
3. for binary hypotheses, the count and sum of x of class 1 per fold, cell and bin, read from
   the steps of the rarer class only (the other class is the fold's histogram less it). The
   logistic loss over a bin is evaluated at the bin's class mean, so the first-order error of
   binning vanishes; a batched 2x2 Newton solve with backtracking then fits every (fold,
   hypothesis, cell) at once on these summaries, in threads over chunks;
4. the held-out predictions of every fitted model, on the raw values (accuracy and balanced
   accuracy are exact for the fitted weights). The AUC of a one-input model is the AUC of the
   cell's value (or its negation), computed from the held-out fold's histogram, ties within a
   bin counted half.

Every pass accumulates sums over blocks, so running block by block gives the same result as
one block (up to float rounding), and a memory-mapped million-step trace is never loaded.

References
----------
.. [1] Lin, K., & Wu, E. (2017). Searching for meaning in RNNs using Deep Neural Inspection.
   Columbia University Computer Science Technical Report 003-17.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
from tqdm.auto import tqdm

from .._validation import as_allocation, as_int, to_numpy
from ..hypotheses import Hypothesis, LabelSet, evaluate
from ._chunks import Reduction, StateSource

__all__ = ["CellScorer", "CellScores", "ProbeResult", "fold_bounds", "probe", "score_cells"]

FoldBy = Literal["auto", "sequences", "blocks"]

# The inverse L2 strength on the weight, as scikit-learn's LogisticRegression(C=1.0).
_C = 1.0
_NEWTON_ITERATIONS = 100
_NEWTON_TOLERANCE = 1e-10
_NEWTON_FULL_STEP_TOLERANCE = math.sqrt(_NEWTON_TOLERANCE)
_BACKTRACKS = 30
# An intercept standing in for +-infinity when a training fold holds one class only.
_ONE_CLASS_INTERCEPT = 30.0


@dataclass(frozen=True, eq=False)
class CellScores:
    """Cross-validated relevance of every cell for every hypothesis: a tidy, ranked table.

    Arrays are indexed ``[hypothesis, cell]`` in the order of ``hypotheses`` and ``cells``;
    entries that do not apply to a hypothesis's label type are NaN.

    Attributes
    ----------
    hypotheses : tuple of str
    label_types : tuple of str
        ``"binary"`` or ``"continuous"`` per hypothesis.
    cells : ndarray of int, shape (n_cells,)
        The cells scored (cell indices of ``layer``).
    layer : int
    kind : str
        The state kind scored (``"h"``, ``"c"``, a gate).
    score : ndarray, shape (n_hypotheses, n_cells)
        What cells are ranked by: balanced accuracy (binary) or R² (continuous).
    accuracy, balanced_accuracy, roc_auc : ndarray, shape (n_hypotheses, n_cells)
        Held-out scores of the logistic model, mean over folds (binary hypotheses).
    r2 : ndarray, shape (n_hypotheses, n_cells)
        Held-out R² of the least-squares model, mean over folds (continuous hypotheses).
    sign : ndarray of int8, shape (n_hypotheses, n_cells)
        +1 where the cell rises with the label, -1 where it falls, 0 for a constant cell.
    correlation : ndarray, shape (n_hypotheses, n_cells)
        Pearson's correlation of cell and label over all steps.
    fold_scores : ndarray, shape (n_hypotheses, n_cells, n_folds)
        ``score`` on each held-out fold (NaN where undefined); for examples, the accuracy on
        each held-out group of examples.
    fold_bounds : ndarray of int, shape (n_folds + 1,), or (n_folds, 2) for examples
        Fold ``f`` holds the steps ``fold_bounds[f]:fold_bounds[f + 1]``; for examples, row
        ``f`` is the first step and the end of the group's examples.
    fold_by : str
        ``"sequences"``, ``"blocks"`` or ``"examples"`` (:meth:`CellScorer.score_examples`).
    chance : ndarray, shape (n_hypotheses,)
        The score of a cell that knows nothing: 0.5 (balanced accuracy) or 0 (R²).

    """

    hypotheses: tuple[str, ...]
    label_types: tuple[str, ...]
    cells: np.ndarray
    layer: int
    kind: str
    score: np.ndarray = field(repr=False)
    accuracy: np.ndarray = field(repr=False)
    balanced_accuracy: np.ndarray = field(repr=False)
    roc_auc: np.ndarray = field(repr=False)
    r2: np.ndarray = field(repr=False)
    sign: np.ndarray = field(repr=False)
    correlation: np.ndarray = field(repr=False)
    fold_scores: np.ndarray = field(repr=False)
    fold_bounds: np.ndarray = field(repr=False)
    fold_by: str = "sequences"
    chance: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)

    def index(self, hypothesis: str | int) -> int:
        """The row of a hypothesis, by name or position."""
        if isinstance(hypothesis, (int, np.integer)) and not isinstance(hypothesis, bool):
            if not 0 <= int(hypothesis) < len(self.hypotheses):
                raise ValueError(
                    f"hypothesis {hypothesis} does not exist; there are {len(self.hypotheses)}"
                )
            return int(hypothesis)
        if hypothesis not in self.hypotheses:
            raise KeyError(
                f"no hypothesis named {hypothesis!r}; choose from {list(self.hypotheses)}"
            )
        return self.hypotheses.index(hypothesis)

    def ranking(self, hypothesis: str | int) -> np.ndarray:
        """The cells, best first by ``score``; NaN scores last.

        Ties (a rare binary label, where every weak cell's model predicts the majority
        label and scores a balanced accuracy of exactly 0.5) are broken by ROC AUC, then by
        the absolute correlation, then by cell index.
        """
        h = self.index(hypothesis)
        row = self.score[h]
        second = np.where(np.isnan(self.roc_auc[h]), 0.0, self.roc_auc[h])
        third = np.nan_to_num(np.abs(self.correlation[h]))
        order = np.lexsort((self.cells, -third, -second, np.where(np.isnan(row), np.inf, -row)))
        return self.cells[order]

    def top(self, k: int = 10, minimum: float | None = None) -> Mapping[str, np.ndarray]:
        """Per hypothesis, its ``k`` best cells (those scoring at least ``minimum``, if given)."""
        k = as_int(k, "k", minimum=1)
        result = {}
        for name in self.hypotheses:
            ranked = self.ranking(name)[:k]
            if minimum is not None:
                position = {cell: i for i, cell in enumerate(self.cells.tolist())}
                row = self.score[self.index(name)]
                ranked = np.array(
                    [c for c in ranked.tolist() if row[position[c]] >= minimum], dtype=np.int64
                )
            result[name] = ranked
        return MappingProxyType(result)

    def scores_of(self, hypothesis: str | int) -> np.ndarray:
        """The ``score`` of every cell (in the order of ``cells``) for one hypothesis."""
        return self.score[self.index(hypothesis)]

    def to_rows(self) -> list[dict[str, Any]]:
        """The tidy table: one dict per (hypothesis, cell), best cells first per hypothesis."""
        rows = []
        position = {cell: i for i, cell in enumerate(self.cells.tolist())}
        for h, name in enumerate(self.hypotheses):
            for rank, cell in enumerate(self.ranking(h).tolist()):
                c = position[cell]
                rows.append(
                    {
                        "hypothesis": name,
                        "label_type": self.label_types[h],
                        "cell": cell,
                        "rank": rank,
                        "score": float(self.score[h, c]),
                        "accuracy": float(self.accuracy[h, c]),
                        "balanced_accuracy": float(self.balanced_accuracy[h, c]),
                        "roc_auc": float(self.roc_auc[h, c]),
                        "r2": float(self.r2[h, c]),
                        "sign": int(self.sign[h, c]),
                        "correlation": float(self.correlation[h, c]),
                    }
                )
        return rows

    def to_pandas(self) -> Any:
        """The tidy table as a ``pandas.DataFrame`` (needs pandas)."""
        try:
            import pandas as pd
        except ImportError as error:
            raise ImportError(
                "to_pandas needs pandas (pip install pandas); to_rows() gives the same table "
                "as a list of dicts"
            ) from error
        return pd.DataFrame(self.to_rows())

    def plot(self, hypothesis: str | int, *, top: int | None = None) -> Any:
        """The cells' scores for one hypothesis as sorted bars, best first (a bqplot Figure).

        Bars are coloured by the cell's sign (rising with the label or falling), and a dashed
        line marks chance. Restyle or compose the figure with bqplot's own API.

        Parameters
        ----------
        hypothesis : str or int
            A name of ``hypotheses`` or its position.
        top : int, optional
            Show only the ``top`` best cells (default all).

        Returns
        -------
        bqplot.Figure
            ``figure.marks[0]`` holds the bars: ``x`` the cells as text, ``y`` their scores.

        """
        from .._figures import sorted_bars

        h = self.index(hypothesis)
        ranked = self.ranking(h)
        if top is not None:
            ranked = ranked[: as_int(top, "top", minimum=1)]
        position = {cell: i for i, cell in enumerate(self.cells.tolist())}
        columns = np.array([position[cell] for cell in ranked.tolist()], dtype=np.int64)
        measure = "balanced accuracy" if self.label_types[h] == "binary" else "R²"
        chance = float(self.chance[h]) if len(self.chance) else math.nan
        return sorted_bars(
            [str(cell) for cell in ranked.tolist()],
            self.score[h, columns],
            signs=self.sign[h, columns],
            reference=None if math.isnan(chance) else (chance, "chance"),
            title=f"{self.hypotheses[h]}: layer {self.layer} {self.kind}",
            x_label="cell",
            y_label=f"held-out {measure}",
        )


# ---------------------------------------------------------------------- folds


def fold_bounds(trace: Any, folds: int = 20, fold_by: FoldBy = "auto") -> tuple[np.ndarray, str]:
    """The contiguous folds of a trace: boundaries (n_folds + 1,) in steps, and how cut.

    ``"sequences"`` cuts only between sequences, into folds of about equal numbers of steps
    (it needs at least ``folds`` sequences); ``"blocks"`` cuts the steps into ``folds``
    contiguous blocks of equal size; ``"auto"`` takes sequences when there are enough.

    Raises
    ------
    ValueError
        With fewer than 2 steps per fold, or fewer sequences than folds for ``"sequences"``.

    """
    folds = as_int(folds, "folds", minimum=2, maximum=MAX_FOLDS, why=_FOLDS_WHY)
    if fold_by not in ("auto", "sequences", "blocks"):
        raise ValueError(f"fold_by must be 'auto', 'sequences' or 'blocks', got {fold_by!r}")
    n_steps = int(trace.n_steps)
    if n_steps < 2 * folds:
        raise ValueError(
            f"the trace has {n_steps} steps, too few for {folds} folds (each needs at least 2 "
            "held-out steps); capture more text or pass fewer folds"
        )
    starts = np.asarray(trace.sequence_bounds)[:, 0].astype(np.int64)
    if fold_by == "auto":
        fold_by = "sequences" if len(starts) >= folds else "blocks"
    if fold_by == "blocks":
        return np.linspace(0, n_steps, folds + 1).round().astype(np.int64), "blocks"
    if len(starts) < folds:
        raise ValueError(
            f"fold_by='sequences' needs at least {folds} sequences, the trace has {len(starts)}; "
            "pass fold_by='blocks' (contiguous blocks of steps) or fewer folds"
        )
    # Cut at the sequence starts nearest to equal shares of the steps, keeping them distinct.
    targets = np.linspace(0, n_steps, folds + 1)[1:-1]
    chosen = np.clip(np.searchsorted(starts, targets), 1, len(starts) - 1)
    before = np.abs(starts[chosen - 1] - targets) < np.abs(starts[chosen] - targets)
    chosen = chosen - before.astype(np.int64)
    # Strictly increasing sequence indices in 1 .. n_sequences - 1: chosen - i non-decreasing.
    offsets = np.arange(folds - 1)
    lifted = np.maximum.accumulate(chosen - offsets)
    chosen = np.clip(lifted, 1, len(starts) - folds + 1) + offsets
    bounds = np.concatenate([[0], starts[chosen], [n_steps]]).astype(np.int64)
    if (np.diff(bounds) < 2).any():
        raise ValueError(
            "some sequence folds hold fewer than 2 steps; pass fold_by='blocks' or fewer folds"
        )
    return bounds, "sequences"


def _blocks(bounds: np.ndarray, block_size: int) -> Iterator[tuple[int, int, int]]:
    """``(fold, start, stop)`` blocks of at most ``block_size`` steps, each inside one fold."""
    for fold in range(len(bounds) - 1):
        for start in range(int(bounds[fold]), int(bounds[fold + 1]), block_size):
            yield fold, start, min(start + block_size, int(bounds[fold + 1]))


# ---------------------------------------------------------------------- inputs


def _label_set(trace: Any, hypotheses: Any, progress: bool = False) -> LabelSet:
    """Hypotheses, a LabelSet, or ``{name: labels over all steps}`` as a LabelSet.

    Hypotheses label the trace's tokens with a progress bar (``progress``); Ctrl+C stops
    the labelling and propagates, leaving nothing behind.
    """
    if isinstance(hypotheses, LabelSet):
        if hypotheses.values.shape[1] != trace.n_steps:
            raise ValueError(
                f"the labels cover {hypotheses.values.shape[1]} steps but the trace has "
                f"{trace.n_steps}; evaluate them on this trace"
            )
        return hypotheses
    if isinstance(hypotheses, Mapping) and not any(
        isinstance(v, Hypothesis) for v in hypotheses.values()
    ):
        return LabelSet.from_values(hypotheses, trace.n_steps)
    return evaluate(trace, hypotheses, progress=progress)


def _check_not_constant(labels: LabelSet) -> None:
    for name, row in zip(labels.names, labels.values, strict=True):
        if row.min() == row.max():
            raise ValueError(
                f"hypothesis {name!r} is constant over the trace (every label {row[0]:g}); "
                "there is nothing to predict: check it on text where it varies"
            )


def _cell_columns(trace: Any, layer: int, kind: str, cells: Any) -> tuple[StateSource, np.ndarray]:
    """The states of (layer, kind), in memory or lazy, and the validated cells to score."""
    states = StateSource(trace, layer, kind)
    trace.check_finite(layer=layer, kind=kind)  # every row is read: refuse NaN, name the file
    n_cells = states.shape[1]
    if cells is None:
        return states, np.arange(n_cells, dtype=np.int64)
    array = to_numpy(cells)
    if array.ndim != 1 or array.size == 0 or not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"cells must be a non-empty list of cell indices, got {cells!r}")
    bad = array[(array < 0) | (array >= n_cells)]
    if bad.size:
        raise ValueError(
            f"cell {int(bad[0])} does not exist; layer {layer} has cells 0 .. {n_cells - 1}"
        )
    if len(np.unique(array)) != len(array):
        raise ValueError("cells repeats a cell; pass each cell once")
    return states, array.astype(np.int64)


# ---------------------------------------------------------------------- score_cells


def score_cells(
    trace: Any,
    hypotheses: Any,
    *,
    layer: int = 0,
    kind: str = "h",
    cells: Sequence[int] | None = None,
    folds: int = 20,
    fold_by: FoldBy = "auto",
    bins: int = 128,
    block_size: int = 16384,
    progress: bool = True,
) -> CellScores:
    """Score every cell for every hypothesis by a cross-validated one-input model.

    The per-neuron relevance of Deep Neural Inspection (Lin & Wu 2017 [1]_, section 3.2), with
    contiguous folds and a logistic model (see the module docstring).

    Parameters
    ----------
    trace : Trace
        The recorded states (a memory-mapped trace is read block by block).
    hypotheses : Hypothesis, sequence or mapping of Hypothesis, LabelSet, or mapping of str to array
        What to predict (see ``rnn_widgets.hypotheses``); arrays give labels over all steps,
        binary when every value is 0 or 1, else continuous in [0, 1].
    layer : int
        The layer whose cells are scored.
    kind : str
        The state kind whose cells are scored (``"h"``, ``"c"``, a gate).
    cells : sequence of int, optional
        Score only these cells (default: every cell of the layer).
    folds : int
        The number of cross-validation folds (Lin & Wu's 20), 2 .. :data:`MAX_FOLDS`
        (1,000).
    fold_by : {"auto", "sequences", "blocks"}
        Folds of whole sequences, or contiguous blocks of steps; ``"auto"``: sequences when
        there are at least ``folds`` of them. Never shuffled steps (see the module docstring).
    bins : int
        Histogram bins per cell for the logistic fits and the AUC (see the module docstring);
        2 .. :data:`MAX_BINS` (10,000).
    block_size : int
        Steps read at a time; any value gives the same scores.
    progress : bool
        Show progress bars (``tqdm.auto``): one while the hypotheses label the trace, one
        over the scoring passes. Ctrl+C stops either and propagates (KeyboardInterrupt);
        nothing is left half-built.

    Returns
    -------
    CellScores
        ``score`` (balanced accuracy or R²) and every other score per hypothesis and cell;
        ``ranking(name)``, ``top(k)``, ``to_rows()``, ``to_pandas()``.

    Raises
    ------
    TypeError, ValueError
        On a bad hypothesis (wrong length, NaN, strings, constant over the trace), too few
        steps or sequences for the folds, an unknown layer, kind or cell.

    References
    ----------
    .. [1] Lin, K., & Wu, E. (2017). Searching for meaning in RNNs using Deep Neural Inspection.
       Columbia University Computer Science Technical Report 003-17.

    Examples
    --------
    >>> import numpy as np, rnn_widgets as rw
    >>> rng = np.random.default_rng(0)
    >>> label = (rng.random(400) < 0.3).astype(float)
    >>> states = np.stack([label + 0.3 * rng.normal(size=400), rng.normal(size=400)], 1)
    >>> trace = rw.Trace.from_arrays([["x"] * 400], {"h": states})
    >>> scores = score_cells(trace, {"on": label}, folds=5, progress=False)
    >>> scores.ranking("on").tolist(), bool(scores.score[0, 0] > 0.9)
    ([0, 1], True)

    """
    labels = _label_set(trace, hypotheses, progress)
    _check_not_constant(labels)
    scorer = CellScorer(
        trace, layer=layer, kind=kind, cells=cells, folds=folds, fold_by=fold_by, bins=bins,
        block_size=block_size, progress=progress,
    )  # fmt: skip
    return scorer.score(labels, progress=progress)


class CellScorer:
    """:func:`score_cells` for one trace, layer and kind, prepared once for many hypotheses.

    Everything that does not depend on a hypothesis is computed once here: the folds, each
    cell's moments and histogram bins, the per-fold histograms of every cell and, within
    :data:`INDEX_CACHE_BYTES`, each step's bin per cell. :meth:`score` then reads only what a
    hypothesis adds: the steps of its rarer class for the class histograms and one comparison
    per step and cell for the held-out accuracy. This is what lets a widget score a typed
    hypothesis while the user waits (Lin & Wu 2017 [1]_'s guess, look, refine loop).

    Parameters
    ----------
    trace : Trace
        The recorded states.
    layer, kind, cells, folds, fold_by, bins, block_size
        As in :func:`score_cells`; ``block_size`` changes nothing but the memory in use.
    progress : bool
        Show a progress bar over the two preparing passes (``tqdm.auto``); Ctrl+C stops it.

    Examples
    --------
    >>> import numpy as np, rnn_widgets as rw
    >>> rng = np.random.default_rng(0)
    >>> label = (rng.random(400) < 0.3).astype(float)
    >>> states = np.stack([rng.normal(size=400), label + 0.3 * rng.normal(size=400)], 1)
    >>> trace = rw.Trace.from_arrays([["x"] * 400], {"h": states})
    >>> scorer = CellScorer(trace, folds=5, progress=False)
    >>> scorer.score({"on": label}).ranking("on").tolist()
    [1, 0]

    References
    ----------
    .. [1] Lin, K., & Wu, E. (2017). Searching for meaning in RNNs using Deep Neural
       Inspection. Columbia University Computer Science Technical Report 003-17.

    """

    def __init__(
        self,
        trace: Any,
        *,
        layer: int = 0,
        kind: str = "h",
        cells: Sequence[int] | None = None,
        folds: int = 20,
        fold_by: FoldBy = "auto",
        bins: int = 128,
        block_size: int = 16384,
        progress: bool = True,
    ) -> None:
        layer = as_int(layer, "layer")
        bins = as_int(bins, "bins", minimum=2, maximum=MAX_BINS, why=_BINS_WHY)
        block_size = as_int(block_size, "block_size", minimum=1)
        self._trace = trace
        self._layer, self._kind = layer, kind
        self._states, self._columns = _cell_columns(trace, layer, kind, cells)
        self._bounds, self._fold_by = fold_bounds(trace, folds, fold_by)
        self._blocks = list(_blocks(self._bounds, block_size))
        with tqdm(
            total=2 * len(self._blocks), desc="prepare scoring", unit="block",
            disable=not progress,
        ) as bar:  # fmt: skip
            self._sums = _CellSums.collect(self._states, self._columns, self._bounds,
                                           self._blocks, bar)  # fmt: skip
            self._binned = _BinnedCells.collect(
                self._states, self._columns, self._blocks, len(self._bounds) - 1,
                self._sums.shift, self._sums.binning(bins), bar,
            )  # fmt: skip

    @property
    def trace(self) -> Any:
        """The trace scored."""
        return self._trace

    @property
    def layer(self) -> int:
        """The layer scored."""
        return self._layer

    @property
    def kind(self) -> str:
        """The state kind scored."""
        return self._kind

    @property
    def cells(self) -> np.ndarray:
        """The cells scored (cell indices of :attr:`layer`)."""
        return _readonly(self._columns)

    def score(self, hypotheses: Any, *, progress: bool = False) -> CellScores:
        """Score every cell for ``hypotheses``: the same as :func:`score_cells` on this trace.

        Parameters
        ----------
        hypotheses : Hypothesis, sequence or mapping of Hypothesis, LabelSet, or mapping
            As in :func:`score_cells` (a mapping of names to label arrays, too).
        progress : bool
            Show progress bars while labelling and scoring; Ctrl+C stops them.

        Returns
        -------
        CellScores

        Raises
        ------
        TypeError, ValueError
            On a bad hypothesis (wrong length, NaN, strings, constant over the trace).

        """
        labels = _label_set(self._trace, hypotheses, progress)
        _check_not_constant(labels)
        binary = np.array([t == "binary" for t in labels.label_types])
        n_folds = len(self._bounds) - 1
        groups = _hypothesis_groups(
            np.flatnonzero(binary), n_folds, len(self._columns), self._binned.bins,
            _LAZY_HISTOGRAM_BYTES if self._states.lazy else _HISTOGRAM_BYTES,
        )  # fmt: skip
        continuous = np.flatnonzero(~binary)
        n_passes = 2 * len(groups) + (1 if continuous.size else 0)
        shape = (len(labels.names), len(self._columns))
        results = {name: np.full(shape, np.nan) for name in _SCORE_NAMES}
        fold_scores = np.full((*shape, n_folds), np.nan)
        with tqdm(
            total=n_passes * len(self._blocks), desc="score cells", unit="block",
            disable=not progress,
        ) as bar:  # fmt: skip
            moments = self._sums.with_labels(labels.values, self._bounds)
            if continuous.size:
                moments.sxy[:, :, continuous] = self._products(labels.values[continuous], bar)
                r2_folds = moments.held_out_r2(continuous)  # (F, H, C)
                fold_scores[continuous] = r2_folds.transpose(1, 2, 0)
                results["r2"][continuous] = _mean_over_folds(r2_folds)
            for chosen in groups:
                histogram, on_sums = _Histogram.collect(
                    self._states, self._columns, labels.values[chosen], self._blocks,
                    self._bounds, self._binned, self._sums.shift, bar,
                )  # fmt: skip
                moments.sxy[:, :, chosen] = on_sums - 0.5 * moments.sx[:, :, None]
                weight, intercept = histogram.fit_logistic(moments.spread())
                accuracy, balanced = _held_out_accuracy(
                    self._states, self._columns, labels.values[chosen], self._blocks,
                    moments, chosen, weight, intercept, bar,
                )  # fmt: skip
                auc = histogram.held_out_auc(np.sign(weight))
                fold_scores[chosen] = balanced.transpose(1, 2, 0)
                results["accuracy"][chosen] = _mean_over_folds(accuracy)
                results["balanced_accuracy"][chosen] = _mean_over_folds(balanced)
                results["roc_auc"][chosen] = _mean_over_folds(auc)
        correlation = moments.correlation()
        score = np.where(binary[:, None], results["balanced_accuracy"], results["r2"])
        return CellScores(
            hypotheses=labels.names,
            label_types=labels.label_types,
            cells=_readonly(self._columns),
            layer=self._layer,
            kind=self._kind,
            score=_readonly(score),
            accuracy=_readonly(results["accuracy"]),
            balanced_accuracy=_readonly(results["balanced_accuracy"]),
            roc_auc=_readonly(results["roc_auc"]),
            r2=_readonly(results["r2"]),
            sign=_readonly(np.sign(np.nan_to_num(correlation)).astype(np.int8)),
            correlation=_readonly(correlation),
            fold_scores=_readonly(fold_scores),
            fold_bounds=_readonly(self._bounds),
            fold_by=self._fold_by,
            chance=_readonly(np.where(binary, 0.5, 0.0)),
        )

    def score_examples(
        self, examples: Sequence[tuple[int, int, int]], *, name: str = "examples"
    ) -> CellScores:
        """Rank the cells by how well each separates ranges of steps labelled by hand.

        Label by example: ``examples`` are ``(start, stop, label)`` ranges of global steps
        (``stop`` exclusive), ``label`` 1 (positive) or 0 (negative), as a SelectView's
        labelling mode brushes them. The same one-input logistic model as :meth:`score`:

        * with positive examples only, every other step is negative and the hypothesis is
          scored exactly as :meth:`score` scores its labels;
        * with negative examples too, only the examples' steps count. Examples are held out
          whole (neighbouring steps are near-copies, see the module docstring): up to
          ``folds`` groups of consecutive examples, each group scored by a model fitted on
          all the others; balanced accuracy and accuracy are computed over the pooled
          held-out predictions (a group usually holds one class, where a per-fold balanced
          accuracy is undefined). ``roc_auc`` and ``r2`` are NaN.

        Parameters
        ----------
        examples : sequence of (int, int, int)
            ``(start, stop, label)`` per example; ranges of different labels must not
            overlap. With negatives, at least 2 examples of each label.
        name : str
            The hypothesis's name in the result.

        Returns
        -------
        CellScores
            One hypothesis; ``fold_by`` is ``"examples"`` when negatives are given.

        Raises
        ------
        TypeError, ValueError
            On a malformed example, a range outside the trace, overlapping examples of
            different labels, no positive example, or too few examples to hold any out.

        """
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty str, got {name!r}")
        ranges = _checked_examples(examples, int(self._trace.n_steps))
        labels = np.full(int(self._trace.n_steps), -1, dtype=np.int8)
        for label in (1, 0):  # a step brushed both ways is caught below
            for start, stop, _ in ranges[ranges[:, 2] == label]:
                if (labels[start:stop] == 1 - label).any():
                    raise ValueError(
                        f"the examples overlap at steps {start}..{stop - 1} with opposite "
                        "labels; remove one of them"
                    )
                labels[start:stop] = label
        if not (ranges[:, 2] == 0).any():
            return self.score({name: (labels == 1).astype(np.float32)})
        return self._score_held_out_examples(ranges, labels, name)

    def _score_held_out_examples(
        self, ranges: np.ndarray, labels: np.ndarray, name: str
    ) -> CellScores:
        groups = _example_groups(ranges, len(self._bounds) - 1)
        steps = [_group_steps(ranges[g], labels) for g in groups]
        n_cells, bins = len(self._columns), self._binned.bins
        size = n_cells * bins
        n_groups = len(groups)
        histogram = _Histogram(
            n=np.zeros((n_groups, size)),
            s=np.zeros((n_groups, size)),
            n1=np.zeros((n_groups, 1, size)),
            s1=np.zeros((n_groups, 1, size)),
        )
        offsets = np.arange(n_cells) * bins
        x_groups = []
        for g, rows in enumerate(steps):
            x = _read_rows(self._states, self._columns, 0, rows) - self._sums.shift
            index = (
                self._binned.binning.index(x)
                if self._binned.index is None
                else self._binned.index[rows].astype(np.intp)
            )
            flat = index + offsets
            on = labels[rows] == 1
            histogram.n[g] = np.bincount(flat.ravel(), minlength=size)
            histogram.s[g] = np.bincount(flat.ravel(), weights=x.ravel(), minlength=size)
            histogram.n1[g, 0] = np.bincount(flat[on].ravel(), minlength=size)
            histogram.s1[g, 0] = np.bincount(
                flat[on].ravel(), weights=x[on].ravel(), minlength=size
            )
            x_groups.append((x, on))
        histogram.n = histogram.n.reshape(n_groups, n_cells, bins)
        histogram.s = histogram.s.reshape(n_groups, n_cells, bins)
        histogram.n1 = histogram.n1.reshape(n_groups, 1, n_cells, bins)
        histogram.s1 = histogram.s1.reshape(n_groups, 1, n_cells, bins)
        weight, intercept = histogram.fit_logistic(self._sums.spread())
        right = np.zeros((2, n_cells))  # held-out steps predicted right, per class (0, 1)
        fold_scores = np.full((1, n_cells, n_groups), np.nan)
        for g, (x, on) in enumerate(x_groups):
            predicted = _predicted_class(x, weight[g, 0], intercept[g, 0])
            correct = predicted == on[:, None]
            right[1] += correct[on].sum(axis=0)
            right[0] += correct[~on].sum(axis=0)
            fold_scores[0, :, g] = correct.mean(axis=0)
        every = np.concatenate([rows for rows in steps])
        counts = np.array([(labels[every] == 0).sum(), (labels[every] == 1).sum()], float)
        balanced = 0.5 * (right[1] / counts[1] + right[0] / counts[0])
        accuracy = right.sum(axis=0) / counts.sum()
        x_all = _read_rows(self._states, self._columns, 0, every)
        correlation = _pearson(x_all, (labels[every] == 1).astype(np.float64))
        nan = np.full((1, n_cells), np.nan)
        spans = np.array([[steps_g[0], steps_g[-1] + 1] for steps_g in steps], dtype=np.int64)
        return CellScores(
            hypotheses=(name,),
            label_types=("binary",),
            cells=_readonly(self._columns),
            layer=self._layer,
            kind=self._kind,
            score=_readonly(balanced[None]),
            accuracy=_readonly(accuracy[None]),
            balanced_accuracy=_readonly(balanced[None]),
            roc_auc=_readonly(nan),
            r2=_readonly(nan),
            sign=_readonly(np.sign(np.nan_to_num(correlation))[None].astype(np.int8)),
            correlation=_readonly(correlation[None]),
            fold_scores=_readonly(fold_scores),
            fold_bounds=_readonly(spans),
            fold_by="examples",
            chance=_readonly(np.array([0.5])),
        )

    def _products(self, labels: np.ndarray, bar: Any) -> np.ndarray:
        """Per fold, the sums of (x - shift) * (y - 1/2) of every cell and label, (F, C, H)."""
        n_folds = len(self._bounds) - 1
        return self._states.reduce(
            _products_kernel, self._blocks, {"sxy": "fold_sum"},
            args=(self._columns, self._sums.shift, n_folds), step_arrays=(labels,),
            n_folds=n_folds, bar=bar,
        )["sxy"]  # fmt: skip


def _products_kernel(
    states: np.ndarray,
    blocks: list[tuple[int, int, int]],
    columns: np.ndarray,
    shift: np.ndarray,
    n_folds: int,
    labels: np.ndarray,
    bar: Any,
) -> dict[str, np.ndarray]:
    """Per fold, the sums of (x - shift) * (y - 1/2), (F, C, H); ``labels`` (H, steps)."""
    sxy = np.zeros((n_folds, len(columns), len(labels)))
    for fold, start, stop in blocks:
        x = _read(states, columns, start, stop) - shift
        sxy[fold] += x.T @ (labels[:, start:stop].T.astype(np.float64) - 0.5)
        bar.update(1)
    return {"sxy": sxy}


# ---------------------------------------------------------------------- examples

#: The most examples :meth:`CellScorer.score_examples` takes (a labelling mode's brushes).
MAX_EXAMPLES = 10_000


def _checked_examples(examples: Any, n_steps: int) -> np.ndarray:
    """``(start, stop, label)`` rows as an int64 array (E, 3), sorted by start, validated."""
    if isinstance(examples, (str, bytes)) or not isinstance(examples, Sequence):
        raise TypeError(
            "examples must be a sequence of (start, stop, label) ranges, got "
            f"{type(examples).__name__}"
        )
    if not examples:
        raise ValueError("examples is empty; brush at least one positive example")
    if len(examples) > MAX_EXAMPLES:
        raise ValueError(f"{len(examples)} examples, more than {MAX_EXAMPLES}; merge some")
    rows = []
    for i, example in enumerate(examples):
        if isinstance(example, (str, bytes)) or not isinstance(example, Sequence):
            raise TypeError(f"examples[{i}] must be (start, stop, label), got {example!r}")
        if len(example) != 3:
            raise ValueError(f"examples[{i}] must be (start, stop, label), got {example!r}")
        start = as_int(example[0], f"examples[{i}] start", minimum=0, maximum=n_steps - 1)
        stop = as_int(example[1], f"examples[{i}] stop", minimum=start + 1, maximum=n_steps)
        label = as_int(example[2], f"examples[{i}] label", minimum=0, maximum=1)
        rows.append((start, stop, label))
    ranges = np.array(sorted(rows), dtype=np.int64)
    n_positive, n_negative = (ranges[:, 2] == 1).sum(), (ranges[:, 2] == 0).sum()
    if n_positive == 0:
        raise ValueError("examples has no positive example (label 1); brush one")
    if n_negative and (n_positive < 2 or n_negative < 2):
        raise ValueError(
            f"with negative examples, each label needs at least 2 examples to hold one out "
            f"(got {n_positive} positive, {n_negative} negative); brush more, or drop the "
            "negatives to count every other step as negative"
        )
    return ranges


def _example_groups(ranges: np.ndarray, folds: int) -> list[np.ndarray]:
    """Up to ``folds`` groups of consecutive examples (indices into ``ranges``)."""
    cuts = np.linspace(0, len(ranges), min(folds, len(ranges)) + 1).round().astype(int)
    return [np.arange(a, b) for a, b in itertools.pairwise(cuts) if b > a]


def _group_steps(ranges: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The sorted, distinct labelled steps of some examples."""
    steps = np.unique(np.concatenate([np.arange(a, b) for a, b, _ in ranges]))
    return steps[labels[steps] >= 0]


def _predicted_class(x: np.ndarray, weight: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """``w * x + b > 0`` per step and cell (x shifted), as bool (steps, C)."""
    return x * weight[None, :] + intercept[None, :] > 0


def _pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson's correlation of every column of ``x`` with ``y`` (C,); NaN if constant."""
    xc, yc = x - x.mean(axis=0), y - y.mean()
    denominator = np.sqrt((xc * xc).sum(axis=0) * (yc * yc).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, yc @ xc / denominator, np.nan)


_SCORE_NAMES = ("accuracy", "balanced_accuracy", "roc_auc", "r2")
#: The most cross-validation folds. Each fold keeps its own statistics per cell (moments and
#: histograms; the probe's cells x cells Gram matrix) and its own score per hypothesis and
#: cell; past a few dozen folds a held-out estimate changes no further, while a typo such as
#: 10**6 on a long trace would allocate gigabytes of per-fold statistics.
MAX_FOLDS = 1000
_FOLDS_WHY = "cross-validation folds; each keeps its own statistics per cell"
#: The most histogram bins per cell ``score_cells`` takes. The default 128 already resolves a
#: cell's values finely (the AUC and the fits change in the third decimal past ~100); more
#: only grows the histograms, 2 x 8 bytes x folds x cells x bins per hypothesis (10,000 bins
#: of 512 cells in 20 folds: 1.6 GB), so a typo such as 10**9 is refused before allocating.
MAX_BINS = 10_000
_BINS_WHY = "histogram bins per cell; more only costs memory"
# The bytes the class histograms of one group of binary hypotheses may take. The logistic
# fits make about six more arrays of that size, so a group's peak is ~7x this: 32 MiB keeps
# a quickstart-sized scoring (20 hypotheses x 256 cells) near 230 MB instead of 1.3 GB, no
# slower (Binder gives a whole session 1-2 GB).
_HISTOGRAM_BYTES = 1 << 25
# The same for a lazy trace, larger: each group costs two passes over a store larger than
# memory (its bins are not cached), so fewer groups save whole passes. 256 MiB holds 24
# hypotheses of 256 cells in one group (a peak near 1.8 GB in the client, ~260 MB per task).
_LAZY_HISTOGRAM_BYTES = 1 << 28


def _hypothesis_groups(
    binary: np.ndarray, n_folds: int, n_cells: int, bins: int, budget: int = _HISTOGRAM_BYTES
) -> list[np.ndarray]:
    """The binary hypotheses in groups whose histograms fit in ``budget`` bytes."""
    per_hypothesis = 2 * 8 * n_folds * n_cells * bins  # count and sum, float64
    size = max(1, budget // per_hypothesis)
    return [binary[i : i + size] for i in range(0, len(binary), size)]


def _mean_over_folds(per_fold: np.ndarray) -> np.ndarray:
    """The mean over axis 0 of the folds where the score is defined (NaN if none)."""
    defined = np.isfinite(per_fold)
    count = defined.sum(axis=0)
    total = np.where(defined, per_fold, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


@dataclass
class _CellSums:
    """Per-fold sums over the steps of each cell, which no hypothesis changes (x shifted).

    Shapes: ``n`` (F,), ``sx``/``sxx`` (F, C); ``shift``, ``low``, ``high`` (C,).
    """

    n: np.ndarray
    sx: np.ndarray
    sxx: np.ndarray
    shift: np.ndarray  # subtracted from x before summing, for precision
    low: np.ndarray  # each cell's minimum (shifted)
    high: np.ndarray  # each cell's maximum (shifted)

    @classmethod
    def collect(
        cls,
        states: StateSource,
        columns: np.ndarray,
        bounds: np.ndarray,
        blocks: list[tuple[int, int, int]],
        bar: Any,
    ) -> _CellSums:
        n_folds = len(bounds) - 1
        shift = _read(states, columns, 0, min(len(states), 4096)).mean(axis=0)
        sums = states.reduce(
            _sums_kernel, blocks, _SUMS, args=(columns, shift, n_folds), n_folds=n_folds,
            bar=bar,
        )  # fmt: skip
        return cls(shift=shift, **sums)

    def binning(self, bins: int) -> _Binning:
        """The histogram bins of every cell, from its mean, spread and range (shifted x)."""
        n = self.n.sum()
        mean = self.sx.sum(axis=0) / n
        variance = np.maximum(self.sxx.sum(axis=0) / n - mean**2, 0.0)
        scale = np.sqrt(variance)
        width = self.high - self.low
        return _Binning(
            mean, np.where(scale > 0, scale, 1.0), self.low, np.where(width > 0, width, 1.0), bins
        )

    def spread(self) -> np.ndarray:
        """Each cell's standard deviation over all steps (C,); 1 where a cell is constant."""
        n = self.n.sum()
        mean = self.sx.sum(axis=0) / n
        variance = np.maximum(self.sxx.sum(axis=0) / n - mean**2, 0.0)
        scale = np.sqrt(variance)
        return np.where(scale > np.sqrt(_tiny(variance + mean**2)), scale, 1.0)

    def with_labels(self, labels: np.ndarray, bounds: np.ndarray) -> _Moments:
        """These sums with the labels' own per-fold sums; ``sxy`` is left for the caller."""
        y = labels.astype(np.float64) - 0.5  # (H, N)
        starts = bounds[:-1]
        return _Moments(
            n=self.n, sx=self.sx, sxx=self.sxx, shift=self.shift, low=self.low, high=self.high,
            sy=np.add.reduceat(y, starts, axis=1).T,
            syy=np.add.reduceat(y * y, starts, axis=1).T,
            sxy=np.zeros((len(starts), self.sx.shape[1], len(labels))),
        )  # fmt: skip


_SUMS: dict[str, Reduction] = {
    "n": "fold_sum", "sx": "fold_sum", "sxx": "fold_sum", "low": "min", "high": "max"
}  # fmt: skip


def _sums_kernel(
    states: np.ndarray,
    blocks: list[tuple[int, int, int]],
    columns: np.ndarray,
    shift: np.ndarray,
    n_folds: int,
    bar: Any,
) -> dict[str, np.ndarray]:
    """Per fold: steps, sums of x and x² (x shifted); each cell's minimum and maximum."""
    n_cells = len(columns)
    sums = {
        "n": np.zeros(n_folds),
        "sx": np.zeros((n_folds, n_cells)),
        "sxx": np.zeros((n_folds, n_cells)),
        "low": np.full(n_cells, np.inf),
        "high": np.full(n_cells, -np.inf),
    }
    for fold, start, stop in blocks:
        x = _read(states, columns, start, stop) - shift
        np.minimum(sums["low"], x.min(axis=0), out=sums["low"])
        np.maximum(sums["high"], x.max(axis=0), out=sums["high"])
        sums["n"][fold] += stop - start
        sums["sx"][fold] += x.sum(axis=0)
        sums["sxx"][fold] += np.einsum("nc,nc->c", x, x)
        bar.update(1)
    return sums


@dataclass
class _Moments(_CellSums):
    """The cells' sums with the labels': y, y², x·y (y shifted by 1/2).

    Shapes: ``sy``/``syy`` (F, H), ``sxy`` (F, C, H).
    """

    sy: np.ndarray = field(default_factory=lambda: np.empty(0))
    syy: np.ndarray = field(default_factory=lambda: np.empty(0))
    sxy: np.ndarray = field(default_factory=lambda: np.empty(0))

    def correlation(self) -> np.ndarray:
        """Pearson's correlation of every hypothesis with every cell, (H, C); NaN if constant."""
        n = self.n.sum()
        mx, my = self.sx.sum(0) / n, self.sy.sum(0) / n
        cov = self.sxy.sum(0) / n - mx[:, None] * my[None, :]
        vx = np.maximum(self.sxx.sum(0) / n - mx**2, 0.0)
        vy = np.maximum(self.syy.sum(0) / n - my**2, 0.0)
        denominator = np.sqrt(vx[:, None] * vy[None, :])
        with np.errstate(invalid="ignore", divide="ignore"):
            result = np.where(denominator > _tiny(vx)[:, None], cov / denominator, np.nan)
        return result.T

    def held_out_r2(self, chosen: np.ndarray) -> np.ndarray:
        """OLS on each training fold, R² on its held-out fold: (F, H_chosen, C)."""
        sy, syy, sxy = self.sy[:, chosen], self.syy[:, chosen], self.sxy[:, :, chosen]
        n_t = (self.n.sum() - self.n)[:, None, None]
        sx_t = (self.sx.sum(0) - self.sx)[:, :, None]
        sxx_t = (self.sxx.sum(0) - self.sxx)[:, :, None]
        sy_t = (sy.sum(0) - sy)[:, None, :]
        sxy_t = sxy.sum(0) - sxy
        mx, my = sx_t / n_t, sy_t / n_t
        cxx = sxx_t - n_t * mx**2
        cxy = sxy_t - n_t * mx * my
        usable = cxx > _tiny(sxx_t / n_t) * n_t
        slope = np.where(usable, cxy / np.where(usable, cxx, 1.0), 0.0)
        intercept = my - slope * mx
        # Held-out sums of squared errors from the held-out fold's moments.
        n_f = self.n[:, None, None]
        sx_f, sxx_f = self.sx[:, :, None], self.sxx[:, :, None]
        sy_f, syy_f = sy[:, None, :], syy[:, None, :]
        sse = (
            syy_f
            - 2 * intercept * sy_f
            - 2 * slope * sxy
            + n_f * intercept**2
            + 2 * intercept * slope * sx_f
            + slope**2 * sxx_f
        )
        sst = syy_f - sy_f**2 / n_f
        with np.errstate(invalid="ignore", divide="ignore"):
            r2 = np.where(sst > 1e-12 * n_f, 1.0 - np.maximum(sse, 0.0) / sst, np.nan)
        return r2.transpose(0, 2, 1)


@dataclass(frozen=True)
class _Binning:
    """Maps each cell's (shifted) values to ``bins`` bins, monotonically.

    Bins are uniform in ``g = tanh(z / 2) / 2 + logit(p) / (2 * logit(1))``, with ``z`` the
    standardised value and ``p`` its position between the cell's minimum and maximum (logit
    with a floor of 1e-6): the first term spreads the bulk of the values, the second
    separates values crowded against the ends of the range, as a saturated ``tanh`` cell's are.
    """

    centre: np.ndarray
    scale: np.ndarray
    low: np.ndarray
    width: np.ndarray
    bins: int

    def index(self, x: np.ndarray) -> np.ndarray:
        """Bin indices (int64), shape of ``x`` (steps, cells)."""
        bulk = np.tanh((x - self.centre) / (2.0 * self.scale))
        position = np.clip((x - self.low) / self.width, 0.0, 1.0)
        ends = np.log((position + _FLOOR) / (1.0 + _FLOOR - position)) / _LOGIT_RANGE
        g = 0.5 * (bulk + ends)  # in [-1, 1]
        return np.minimum(((g + 1.0) * (0.5 * self.bins)).astype(np.int64), self.bins - 1)


_FLOOR = 1e-6
_LOGIT_RANGE = float(np.log((1.0 + _FLOOR) / _FLOOR))


def _tiny(scale: np.ndarray) -> np.ndarray:
    """A variance below which a cell counts as constant, relative to its magnitude."""
    return 1e-12 * np.maximum(np.abs(scale), 1e-300)


def _read(
    states: np.ndarray, columns: np.ndarray, start: int, stop: int, dtype: Any = np.float64
) -> np.ndarray:
    """Rows ``start:stop`` of the chosen columns, as ``dtype`` (never written to)."""
    block = states[start:stop]
    if len(columns) != states.shape[1] or not np.array_equal(columns, np.arange(len(columns))):
        block = block[:, columns]
    return np.asarray(block, dtype=dtype)


#: The most bytes :class:`CellScorer` keeps for each step's bin per cell (one byte per step
#: and cell for up to 256 bins): 256 MiB holds a 1,000,000-step x 256-cell trace. Past it each
#: score recomputes the bins from the states (slower, the same result).
INDEX_CACHE_BYTES = 1 << 28


@dataclass
class _BinnedCells:
    """Per fold, each cell's histogram (count, sum of shifted x), and each step's bins.

    ``n``, ``s`` have shape (F, C * B); ``index`` (steps, C) holds the bin of every step and
    cell, or is None past :data:`INDEX_CACHE_BYTES`.
    """

    binning: _Binning
    n: np.ndarray
    s: np.ndarray
    index: np.ndarray | None

    @property
    def bins(self) -> int:
        return self.binning.bins

    @classmethod
    def collect(
        cls,
        states: StateSource,
        columns: np.ndarray,
        blocks: list[tuple[int, int, int]],
        n_folds: int,
        shift: np.ndarray,
        binning: _Binning,
        bar: Any,
    ) -> _BinnedCells:
        n_cells, bins = len(columns), binning.bins
        dtype = np.dtype(np.uint8 if bins <= 256 else np.uint16)
        # A lazy trace is larger than memory: its bins are computed again from the states.
        keep = not states.lazy and len(states) * n_cells * dtype.itemsize <= INDEX_CACHE_BYTES
        index = np.empty((len(states), n_cells), dtype) if keep else None
        histograms = states.reduce(
            _binned_kernel, blocks, {"n": "fold_sum", "s": "fold_sum"},
            args=(columns, shift, binning, n_folds, index), n_folds=n_folds, bar=bar,
        )  # fmt: skip
        return cls(binning=binning, index=index, **histograms)


def _binned_kernel(
    states: np.ndarray,
    blocks: list[tuple[int, int, int]],
    columns: np.ndarray,
    shift: np.ndarray,
    binning: _Binning,
    n_folds: int,
    index_out: np.ndarray | None,
    bar: Any,
) -> dict[str, np.ndarray]:
    """Per fold, each cell's histogram: count and sum of shifted x per bin, (F, C * B).

    Writes each step's bins into ``index_out`` (all the steps, in memory) when given.
    """
    n_cells, bins = len(columns), binning.bins
    size = n_cells * bins
    n, s = np.zeros((n_folds, size)), np.zeros((n_folds, size))
    offsets = np.arange(n_cells) * bins
    for fold, start, stop in blocks:
        x = _read(states, columns, start, stop) - shift
        index = binning.index(x)
        if index_out is not None:
            index_out[start:stop] = index
        flat = (index + offsets).ravel()
        n[fold] += np.bincount(flat, minlength=size)
        s[fold] += np.bincount(flat, weights=x.ravel(), minlength=size)
        bar.update(1)
    return {"n": n, "s": s}


def _read_rows(states: Any, columns: np.ndarray, start: int, rows: np.ndarray) -> np.ndarray:
    """The rows ``start + rows`` (sorted) of the chosen columns, as float64.

    Rows spread thinly over a lazy trace are read run by run, not as one span.
    """
    span = int(rows[-1]) - int(rows[0]) + 1
    if getattr(states, "lazy", False) and span > 4 * len(rows):
        breaks = np.flatnonzero(np.diff(rows) > 1) + 1
        runs = np.split(rows, breaks)
        block = np.concatenate([states[start + int(r[0]) : start + int(r[-1]) + 1] for r in runs])
    else:
        block = states[start + int(rows[0]) : start + int(rows[-1]) + 1][rows - rows[0]]
    if len(columns) != states.shape[1] or not np.array_equal(columns, np.arange(len(columns))):
        block = block[:, columns]
    return np.asarray(block, dtype=np.float64)


@dataclass
class _Histogram:
    """Per fold, hypothesis, cell and bin: count and sum of x of each class (x shifted).

    ``n1``, ``s1`` (class 1) have shape (F, H, C, B); ``n``, ``s`` (both classes) (F, C, B).
    """

    n: np.ndarray
    s: np.ndarray
    n1: np.ndarray
    s1: np.ndarray

    @classmethod
    def collect(
        cls,
        states: StateSource,
        columns: np.ndarray,
        labels: np.ndarray,
        blocks: list[tuple[int, int, int]],
        bounds: np.ndarray,
        binned: _BinnedCells,
        shift: np.ndarray,
        bar: Any,
    ) -> tuple[_Histogram, np.ndarray]:
        """The class histograms of binary ``labels`` (H, steps), and x summed over class 1.

        The sums are per fold, cell and hypothesis (F, C, H). Only one class's steps are
        read per fold and hypothesis, the rarer one; the other class is the fold's histogram
        of all steps less it.
        """
        n_folds, n_hyp, n_cells, bins = len(bounds) - 1, len(labels), len(columns), binned.bins
        on = labels > 0.5
        positives = np.add.reduceat(on, bounds[:-1], axis=1).T  # (F, H)
        complement = 2 * positives > np.diff(bounds)[:, None]  # read class 0 instead
        read = states.reduce(
            _class_kernel, blocks,
            {"n_read": "fold_sum", "s_read": "fold_sum", "x_read": "fold_sum"},
            args=(columns, shift, binned.binning, binned.index, complement), step_arrays=(on,),
            n_folds=n_folds, bar=bar,
        )  # fmt: skip
        n_read, s_read, x_read = read["n_read"], read["s_read"], read["x_read"]
        flip = complement[:, :, None]
        shape = (n_folds, n_hyp, n_cells, bins)
        # In place (no temporaries the size of the histograms): where class 0 was read,
        # class 1 is the fold's histogram less it.
        np.subtract(binned.n[:, None], n_read, out=n_read, where=flip)
        np.subtract(binned.s[:, None], s_read, out=s_read, where=flip)
        n1, s1 = n_read.reshape(shape), s_read.reshape(shape)
        sx = binned.s.reshape(n_folds, n_cells, bins).sum(axis=-1)[:, None]
        on_sums = np.where(flip, sx - x_read, x_read).transpose(0, 2, 1)
        histogram = cls(
            n=binned.n.reshape(n_folds, n_cells, bins),
            s=binned.s.reshape(n_folds, n_cells, bins),
            n1=n1,
            s1=s1,
        )
        return histogram, on_sums

    def fit_logistic(self, spread: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weight and intercept (F, H, C) of the L2 logistic fit on each training fold.

        The fit reads each cell's values divided by its ``spread`` (C,), so the penalty on
        the weight does not depend on the cell's units; the weight returned is per raw unit.
        """
        n1 = self.n1.sum(axis=0)[None] - self.n1  # training counts: all folds but this one
        s1 = self.s1.sum(axis=0)[None] - self.s1
        n0 = (self.n.sum(axis=0)[None] - self.n)[:, None] - n1
        s0 = (self.s.sum(axis=0)[None] - self.s)[:, None] - s1
        np.maximum(n0, 0.0, out=n0)
        m1 = np.divide(s1, n1, out=np.zeros_like(s1), where=n1 > 0)
        m0 = np.divide(s0, n0, out=np.zeros_like(s0), where=n0 > 0)
        per_unit = spread[None, None, :, None]
        weight, intercept = _newton_binned(n1, m1 / per_unit, n0, m0 / per_unit)
        return weight / spread[None, None, :], intercept

    def held_out_auc(self, direction: np.ndarray) -> np.ndarray:
        """AUC (F, H, C) of each fitted model on its held-out fold, from the fold's histogram.

        The AUC of ``w * x + b`` is the AUC of x for ``w > 0``, of -x for ``w < 0`` and 1/2
        for ``w = 0``; ties within a bin count half.
        """
        n1 = self.n1
        n0 = np.maximum(self.n[:, None] - n1, 0.0)
        below0 = np.cumsum(n0, axis=-1) - n0
        pairs = (n1 * (below0 + 0.5 * n0)).sum(axis=-1)
        total1, total0 = n1.sum(axis=-1), n0.sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            auc = np.where((total1 > 0) & (total0 > 0), pairs / (total1 * total0), np.nan)
        auc = np.where(direction < 0, 1.0 - auc, auc)
        return np.where(direction == 0, np.where(np.isnan(auc), np.nan, 0.5), auc)


def _class_kernel(
    states: np.ndarray,
    blocks: list[tuple[int, int, int]],
    columns: np.ndarray,
    shift: np.ndarray,
    binning: _Binning,
    index: np.ndarray | None,
    complement: np.ndarray,
    on: np.ndarray,
    bar: Any,
) -> dict[str, np.ndarray]:
    """Per fold and hypothesis, the histogram and x sums of the class read (the rarer one).

    ``complement`` (F, H) says where class 0 is read; ``on`` (H, steps) is class 1;
    ``index`` holds each step's bins (all the steps, in memory) or is None.
    """
    n_folds, n_hyp = complement.shape
    n_cells, bins = len(columns), binning.bins
    size = n_cells * bins
    n_read = np.zeros((n_folds, n_hyp, size))
    s_read = np.zeros((n_folds, n_hyp, size))
    x_read = np.zeros((n_folds, n_hyp, n_cells))
    offsets = np.arange(n_cells) * bins
    for fold, start, stop in blocks:
        x_block, block_index = None, None
        if index is None:
            x_block = _read(states, columns, start, stop) - shift
            block_index = binning.index(x_block)
        for h in range(n_hyp):
            rows = np.flatnonzero(on[h, start:stop] != complement[fold, h])
            if not rows.size:
                continue
            if x_block is None:
                x = _read_rows(states, columns, start, rows) - shift
                flat = (index[start + rows].astype(np.intp) + offsets).ravel()
            else:
                x = x_block[rows]
                flat = (block_index[rows] + offsets).ravel()
            n_read[fold, h] += np.bincount(flat, minlength=size)
            s_read[fold, h] += np.bincount(flat, weights=x.ravel(), minlength=size)
            x_read[fold, h] += x.sum(axis=0)
        bar.update(1)
    return {"n_read": n_read, "s_read": s_read, "x_read": x_read}


def _newton_binned(
    n1: np.ndarray, m1: np.ndarray, n0: np.ndarray, m0: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Minimise ``C * sum(logistic loss) + w**2 / 2`` over (w, b), batched over leading axes.

    The data are bins: ``n1`` points of class 1 at ``m1`` and ``n0`` of class 0 at ``m0``
    (shape (..., B)). Newton's method on the 2x2 system, with backtracking so the objective
    never rises, over chunks of the batch (to bound memory); an entry stops once its step is
    below the tolerance. A training set of one class gets ``w = 0`` and a large intercept of
    that class's sign (the optimum lies at infinity).
    """
    batch, n_bins = n1.shape[:-1], n1.shape[-1]
    counts = np.concatenate([n1, n0], axis=-1).reshape(-1, 2 * n_bins)
    means = np.concatenate([m1, m0], axis=-1).reshape(-1, 2 * n_bins)
    signs = np.concatenate([-np.ones(n_bins), np.ones(n_bins)])
    count1, count0 = n1.sum(-1).ravel(), n0.sum(-1).ravel()
    weight = np.zeros(len(counts))
    with np.errstate(divide="ignore"):
        intercept = np.log(np.maximum(count1, 0.5) / np.maximum(count0, 0.5))
    one_class = (count1 == 0) | (count0 == 0)
    intercept[one_class] = np.sign(count1 - count0)[one_class] * _ONE_CLASS_INTERCEPT
    fit = np.flatnonzero(~one_class)
    workers = max(1, min(os.cpu_count() or 1, _NEWTON_THREADS))
    # The chunks solved at once share one chunk's memory budget (the peak stays as serial).
    size = max(1, min(_NEWTON_CHUNK // workers, -(-len(fit) // workers)))
    chunks = [fit[begin : begin + size] for begin in range(0, len(fit), size)]

    def solve(rows: np.ndarray) -> None:
        weight[rows], intercept[rows] = _newton_chunk(
            counts[rows], means[rows], signs, weight[rows], intercept[rows]
        )

    # NumPy's ufuncs release the GIL on arrays this large, so chunks solve in parallel.
    if len(chunks) > 1 and workers > 1:
        list(_newton_pool(workers).map(solve, chunks))
    else:
        for rows in chunks:
            solve(rows)
    return weight.reshape(batch), intercept.reshape(batch)


# Models fitted together by _newton_binned (bounds its temporaries to a few MB per bin).
_NEWTON_CHUNK = 4096
# Threads solving chunks at once: the fits are independent and the work is in NumPy.
_NEWTON_THREADS = 4
_POOLS: dict[int, ThreadPoolExecutor] = {}


def _newton_pool(workers: int) -> ThreadPoolExecutor:
    """One pool per size, kept: a typed hypothesis should not wait for threads to start."""
    if workers not in _POOLS:
        _POOLS[workers] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rnnw-fit")
    return _POOLS[workers]


def _newton_chunk(
    counts: np.ndarray, means: np.ndarray, signs: np.ndarray, w: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    state = _evaluate(w, b, counts, means, signs)
    active = np.arange(len(w))
    for _ in range(_NEWTON_ITERATIONS):
        if active.size == 0:
            break
        objective, g_w, g_b, h_ww, h_wb, h_bb = (part[active] for part in state)
        det = np.maximum(h_ww * h_bb - h_wb**2, 1e-300)
        step_w = (h_bb * g_w - h_wb * g_b) / det
        step_b = (h_ww * g_b - h_wb * g_w) / det
        wa, ba = w[active], b[active]
        # A Newton step of relative size s lands within O(s**2) of the optimum (quadratic
        # convergence): one below sqrt(tolerance) is taken without evaluating where it lands.
        last = np.abs(step_w) + np.abs(step_b) <= _NEWTON_FULL_STEP_TOLERANCE * (
            1.0 + np.abs(wa) + np.abs(ba)
        )
        w[active[last]] = wa[last] - step_w[last]
        b[active[last]] = ba[last] - step_b[last]
        keep = ~last
        active, objective, step_w, step_b = (
            active[keep],
            objective[keep],
            step_w[keep],
            step_b[keep],
        )
        if active.size == 0:
            break
        factor = np.ones(len(active))
        wa, ba = wa[keep], ba[keep]
        trial = _evaluate(wa - step_w, ba - step_b, counts[active], means[active], signs)
        for _ in range(_BACKTRACKS):
            worse = np.flatnonzero(trial[0] > objective + 1e-12 * np.abs(objective))
            if worse.size == 0:
                break
            factor[worse] *= 0.5
            again = _evaluate(
                wa[worse] - factor[worse] * step_w[worse],
                ba[worse] - factor[worse] * step_b[worse],
                counts[active[worse]],
                means[active[worse]],
                signs,
            )
            for part, value in zip(trial, again, strict=True):
                part[worse] = value
        w[active] = wa - factor * step_w
        b[active] = ba - factor * step_b
        for part, value in zip(state, trial, strict=True):
            part[active] = value
        size = np.abs(factor * step_w) + np.abs(factor * step_b)
        tolerance = np.where(factor == 1.0, _NEWTON_FULL_STEP_TOLERANCE, _NEWTON_TOLERANCE)
        active = active[size > tolerance * (1.0 + np.abs(wa) + np.abs(ba))]
    return w, b


def _evaluate(
    w: np.ndarray, b: np.ndarray, counts: np.ndarray, means: np.ndarray, signs: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Objective, gradient (w, b) and Hessian (ww, wb, bb) of the binned L2 logistic loss.

    Each bin's loss is ``softplus(sign * (w * mean + b))`` per point: class 1 has sign -1,
    class 0 sign +1; one ``exp`` and one ``log1p`` per bin.
    """
    u = means * w[:, None]
    u += b[:, None]
    u *= signs
    e = np.abs(u)
    np.negative(e, out=e)
    np.exp(e, out=e)  # exp(-|u|)
    loss = np.log1p(e)
    loss += np.maximum(u, 0.0)
    inverse = e + 1.0
    np.reciprocal(inverse, out=inverse)  # 1 / (1 + exp(-|u|))
    slope = np.where(u >= 0, inverse, e * inverse)  # sigmoid(u)
    slope *= counts
    slope *= signs
    curvature = e * inverse
    curvature *= inverse
    curvature *= counts
    weighted = curvature * means
    objective = _C * np.einsum("ij,ij->i", counts, loss) + 0.5 * w**2
    g_w = _C * np.einsum("ij,ij->i", slope, means) + w
    g_b = _C * slope.sum(-1)
    h_ww = _C * np.einsum("ij,ij->i", weighted, means) + 1.0
    h_wb = _C * weighted.sum(-1)
    h_bb = _C * curvature.sum(-1)
    return objective, g_w, g_b, h_ww, h_wb, h_bb


def _held_out_accuracy(
    states: StateSource,
    columns: np.ndarray,
    labels: np.ndarray,
    blocks: list[tuple[int, int, int]],
    moments: _Moments,
    chosen: np.ndarray,
    weight: np.ndarray,
    intercept: np.ndarray,
    bar: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy and balanced accuracy (F, H, C) of each fold's model on its held-out steps."""
    n_folds = weight.shape[0]
    # w * (x - shift) + b > 0 is x > threshold for w > 0, x < threshold for w < 0.
    with np.errstate(invalid="ignore", divide="ignore"):
        threshold = moments.shift - intercept / weight
    flip = weight < 0
    constant = weight == 0
    threshold[constant] = np.where(intercept[constant] > 0, -np.inf, np.inf)
    threshold = threshold.astype(states.dtype if states.dtype.kind == "f" else np.float64)
    counts = states.reduce(
        _predictions_kernel, blocks, {"predicted": "fold_sum", "true_positive": "fold_sum"},
        args=(columns, threshold, flip), step_arrays=(labels,), n_folds=n_folds, bar=bar,
    )  # fmt: skip
    predicted, true_positive = counts["predicted"], counts["true_positive"]
    n = moments.n[:, None, None]
    positives = (moments.sy[:, chosen] + 0.5 * moments.n[:, None])[:, :, None]
    positives = np.round(positives)
    negatives = n - positives
    true_negative = negatives - (predicted - true_positive)
    accuracy = (true_positive + true_negative) / n
    with np.errstate(invalid="ignore", divide="ignore"):
        recall1 = np.where(positives > 0, true_positive / positives, np.nan)
        recall0 = np.where(negatives > 0, true_negative / negatives, np.nan)
    # Undefined (NaN, left out of the mean over folds) where a fold holds one class only:
    # scikit-learn's convention, the recall of the class present, scores the model that always
    # predicts that class 1.0 there and lifts every cell of a rare feature alike.
    balanced = 0.5 * (recall1 + recall0)
    return accuracy, balanced


def _predictions_kernel(
    states: np.ndarray,
    blocks: list[tuple[int, int, int]],
    columns: np.ndarray,
    threshold: np.ndarray,
    flip: np.ndarray,
    labels: np.ndarray,
    bar: Any,
) -> dict[str, np.ndarray]:
    """Per fold, hypothesis and cell: steps predicted 1, and those of them labelled 1."""
    n_folds, n_hyp, n_cells = threshold.shape
    predicted = np.zeros((n_folds, n_hyp, n_cells))
    true_positive = np.zeros((n_folds, n_hyp, n_cells))
    for fold, start, stop in blocks:
        x = _read(states, columns, start, stop, dtype=threshold.dtype)
        for h in range(n_hyp):
            on = np.greater(x, threshold[fold, h])
            np.logical_xor(on, flip[fold, h], out=on)
            predicted[fold, h] += np.count_nonzero(on, axis=0)
            true_positive[fold, h] += np.count_nonzero(on[labels[h, start:stop] > 0.5], axis=0)
        bar.update(1)
    return {"predicted": predicted, "true_positive": true_positive}


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.array(array)
    array.flags.writeable = False
    return array


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _softplus(z: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, z)


# ---------------------------------------------------------------------- probe


@dataclass(frozen=True, eq=False)
class ProbeResult:
    """A sparse multi-cell linear probe for one hypothesis, next to the best single cell.

    Attributes
    ----------
    hypothesis : str
    label_type : str
        ``"binary"`` or ``"continuous"``.
    cells : ndarray of int, shape (k,)
        The cells the probe uses, fitted on all steps, in the order they were chosen.
    weights : ndarray, shape (k,)
        The probe's weight of each cell (on the raw values), fitted on all steps.
    intercept : float
    score : float
        Held-out ``score`` (balanced accuracy or R²) of the probe, mean over folds; cells are
        chosen again on each training fold, so the choice is part of what is tested.
    scores_by_size : ndarray, shape (k,)
        The held-out score of the probe restricted to its first 1, 2, ..., k chosen cells.
    fold_scores : ndarray, shape (n_folds,)
    selection_frequency : ndarray, shape (k,)
        In how many training folds each of ``cells`` was chosen too.
    best_cell : int
        The best single cell by :func:`score_cells` with the same folds.
    best_cell_score : float
    metric : str
        ``"balanced_accuracy"`` or ``"r2"``.

    """

    hypothesis: str
    label_type: str
    cells: np.ndarray
    weights: np.ndarray
    intercept: float
    score: float
    scores_by_size: np.ndarray
    fold_scores: np.ndarray
    selection_frequency: np.ndarray
    best_cell: int
    best_cell_score: float
    metric: str

    @property
    def gain(self) -> float:
        """How much the probe beats the best single cell (``score - best_cell_score``)."""
        return self.score - self.best_cell_score


def probe(
    trace: Any,
    hypothesis: Any,
    cells: Sequence[int] | None = None,
    k: int = 10,
    *,
    layer: int = 0,
    kind: str = "h",
    folds: int = 20,
    fold_by: FoldBy = "auto",
    progress: bool = True,
) -> ProbeResult:
    """Fit a sparse linear probe on ``k`` cells that together predict one hypothesis.

    Cells are chosen greedily (orthogonal matching pursuit on the standardised cells: at each
    step the cell most correlated with what the chosen ones do not yet explain); the probe is
    then a logistic regression (binary; L2, C = 1, as :func:`score_cells`) or least squares
    (continuous) on the chosen cells. Cross-validation uses the folds of :func:`score_cells`,
    and chooses the cells again on every training fold, batched over folds. It extends the
    one-cell relevance of Deep Neural Inspection (Lin & Wu 2017 [1]_) to ``k`` cells together.

    Parameters
    ----------
    trace : Trace
        The recorded states.
    hypothesis : Hypothesis, or a mapping of one name to labels over all steps
        What the probe predicts.
    cells : sequence of int, optional
        The candidate cells (default: every cell of the layer).
    k : int
        How many cells the probe uses (at most the number of candidates).
    layer, kind, folds, fold_by, progress
        As in :func:`score_cells`.

    Returns
    -------
    ProbeResult
        The cells, the probe's held-out score for 1 .. k cells, the best single cell.

    Raises
    ------
    TypeError, ValueError
        As :func:`score_cells`; also if ``k`` exceeds the candidates or more than one
        hypothesis is given.

    References
    ----------
    .. [1] Lin, K., & Wu, E. (2017). Searching for meaning in RNNs using Deep Neural Inspection.
       Columbia University Computer Science Technical Report 003-17.

    """
    layer = as_int(layer, "layer")
    k = as_int(k, "k", minimum=1)
    states, columns = _cell_columns(trace, layer, kind, cells)
    labels = _label_set(trace, hypothesis)
    if len(labels.names) != 1:
        raise ValueError(
            f"probe fits one hypothesis at a time, got {len(labels.names)}: "
            f"{list(labels.names)}; call it once per hypothesis"
        )
    _check_not_constant(labels)
    if k > len(columns):
        raise ValueError(
            f"k={k} exceeds the {len(columns)} candidate cells; use k <= {len(columns)}"
        )
    bounds, _ = fold_bounds(trace, folds, fold_by)
    n_folds = len(bounds) - 1
    as_allocation(
        "probe's Gram matrices",
        {"folds + 1": n_folds + 1, "cells**2": len(columns) ** 2},
        fix="lower folds or pass fewer cells",
    )
    y = labels.values[0].astype(np.float64)
    binary = labels.label_types[0] == "binary"
    blocks = list(_blocks(bounds, 16384))

    with tqdm(total=3, desc="probe", disable=not progress) as bar:
        gram = _FoldGram.collect(states, columns, y, bounds, blocks)
        bar.update(1)
        # Selection on every training fold (index 0 .. F-1) and on all steps (index F).
        chosen = gram.select(k)
        bar.update(1)
        by_size, fold_scores = _probe_scores(
            states, columns, y, blocks, bounds, gram, chosen[:n_folds], binary
        )
        weights, intercept = _probe_fit_all(
            states, columns, y, blocks, gram, chosen[n_folds], binary
        )
        bar.update(1)
    single = score_cells(
        trace, labels, layer=layer, kind=kind, cells=columns, folds=folds, fold_by=fold_by,
        progress=False,
    )  # fmt: skip
    best = int(single.ranking(0)[0])
    best_score = float(single.score[0, int(np.flatnonzero(single.cells == best)[0])])
    final = chosen[n_folds]
    frequency = (chosen[:n_folds, :, None] == final[None, None, :]).any(axis=1).sum(axis=0)
    return ProbeResult(
        hypothesis=labels.names[0],
        label_type=labels.label_types[0],
        cells=_readonly(columns[final]),
        weights=_readonly(weights),
        intercept=float(intercept),
        score=float(by_size[-1]),
        scores_by_size=_readonly(by_size),
        fold_scores=_readonly(fold_scores),
        selection_frequency=_readonly(frequency),
        best_cell=best,
        best_cell_score=best_score,
        metric="balanced_accuracy" if binary else "r2",
    )


@dataclass
class _FoldGram:
    """Per fold: n, sums of x and y, X^T X (C, C) and X^T y (C,), x shifted."""

    n: np.ndarray
    sx: np.ndarray
    sy: np.ndarray
    xx: np.ndarray
    xy: np.ndarray
    shift: np.ndarray

    @classmethod
    def collect(
        cls,
        states: StateSource,
        columns: np.ndarray,
        y: np.ndarray,
        bounds: np.ndarray,
        blocks: list[tuple[int, int, int]],
    ) -> _FoldGram:
        n_folds = len(bounds) - 1
        shift = _read(states, columns, 0, min(len(states), 4096)).mean(axis=0)
        sums = states.reduce(
            _gram_kernel, blocks, dict.fromkeys(("n", "sx", "sy", "xx", "xy"), "fold_sum"),
            args=(columns, shift, n_folds), step_arrays=(y,), n_folds=n_folds,
        )  # fmt: skip
        return cls(shift=shift, **sums)

    def spread(self) -> np.ndarray:
        """Each cell's standard deviation over all steps (C,); 1 where a cell is constant."""
        n = self.n.sum()
        mean = self.sx.sum(axis=0) / n
        second = np.einsum("fcc->c", self.xx) / n
        variance = np.maximum(second - mean**2, 0.0)
        scale = np.sqrt(variance)
        return np.where(scale > np.sqrt(_tiny(second)), scale, 1.0)

    def training(self) -> tuple[np.ndarray, ...]:
        """Centred covariances per training fold (F, ...) and over all steps (index F)."""
        parts = []
        for total, per_fold in ((self.n, self.n), (self.sx, self.sx), (self.sy, self.sy)):
            parts.append(np.concatenate([total.sum(0)[None] - per_fold, total.sum(0)[None]]))
        n, sx, sy = parts
        xx = np.concatenate([self.xx.sum(0)[None] - self.xx, self.xx.sum(0)[None]])
        xy = np.concatenate([self.xy.sum(0)[None] - self.xy, self.xy.sum(0)[None]])
        mx, my = sx / n[:, None], sy / n
        cxx = xx / n[:, None, None] - mx[:, :, None] * mx[:, None, :]
        cxy = xy / n[:, None] - mx * my[:, None]
        return n, mx, my, cxx, cxy

    def select(self, k: int) -> np.ndarray:
        """Orthogonal matching pursuit on standardised cells: (F + 1, k) column positions."""
        _, _, _, cxx, cxy = self.training()
        std = np.sqrt(np.maximum(np.einsum("fcc->fc", cxx), 0.0))
        usable = std > 1e-12 * np.maximum(std.max(axis=1, keepdims=True), 1e-300)
        safe = np.where(usable, std, 1.0)
        corr = cxx / (safe[:, :, None] * safe[:, None, :])
        target = cxy / safe
        n_sets = target.shape[0]
        chosen = np.zeros((n_sets, 0), dtype=np.int64)
        for _ in range(k):
            residual = target
            if chosen.shape[1]:
                columns = np.take_along_axis(corr, chosen[:, None, :], axis=2)  # (S, C, s)
                sub = np.take_along_axis(columns, chosen[:, :, None], axis=1)  # (S, s, s)
                rhs = np.take_along_axis(target, chosen, axis=1)
                ridge = 1e-10 * np.eye(chosen.shape[1])
                beta = np.linalg.solve(sub + ridge, rhs[..., None])[..., 0]
                residual = target - np.einsum("fcs,fs->fc", columns, beta)
            score = np.where(usable, np.abs(residual), -np.inf)
            np.put_along_axis(score, chosen, -np.inf, axis=1)
            chosen = np.concatenate([chosen, np.argmax(score, axis=1)[:, None]], axis=1)
        return chosen


def _gram_kernel(
    states: np.ndarray,
    blocks: list[tuple[int, int, int]],
    columns: np.ndarray,
    shift: np.ndarray,
    n_folds: int,
    y: np.ndarray,
    bar: Any,
) -> dict[str, np.ndarray]:
    """Per fold: steps, sums of x and y, X^T X and X^T y (x shifted)."""
    n_cells = len(columns)
    sums = {
        "n": np.zeros(n_folds),
        "sx": np.zeros((n_folds, n_cells)),
        "sy": np.zeros(n_folds),
        "xx": np.zeros((n_folds, n_cells, n_cells)),
        "xy": np.zeros((n_folds, n_cells)),
    }
    for fold, start, stop in blocks:
        x = _read(states, columns, start, stop) - shift
        yy = y[start:stop]
        sums["n"][fold] += stop - start
        sums["sx"][fold] += x.sum(axis=0)
        sums["sy"][fold] += yy.sum()
        sums["xx"][fold] += x.T @ x
        sums["xy"][fold] += x.T @ yy
        bar.update(1)
    return sums


def _probe_scores(
    states: StateSource,
    columns: np.ndarray,
    y: np.ndarray,
    blocks: list[tuple[int, int, int]],
    bounds: np.ndarray,
    gram: _FoldGram,
    chosen: np.ndarray,
    binary: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """The held-out score for each probe size 1 .. k (mean over folds), and per fold at k."""
    n_folds, k = chosen.shape
    by_size, per_fold = np.zeros(k), np.zeros(n_folds)
    for size in range(1, k + 1):
        cells = chosen[:, :size]
        if binary:
            weights, intercepts = _probe_logistic(states, columns, y, blocks, gram, cells, True)
        else:
            weights, intercepts = _probe_least_squares(gram, cells)
        fold_scores = _probe_held_out(
            states, columns, y, blocks, gram, cells, weights, intercepts, binary
        )
        by_size[size - 1] = np.nanmean(fold_scores)
        per_fold = fold_scores
    return by_size, per_fold


def _probe_least_squares(gram: _FoldGram, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OLS on each training fold's chosen cells: weights (F, s) and intercepts (F,)."""
    _, mx, my, cxx, cxy = gram.training()
    n_folds = cells.shape[0]
    rows = np.arange(n_folds)
    sub = cxx[rows[:, None, None], cells[:, :, None], cells[:, None, :]]
    rhs = cxy[rows[:, None], cells]
    ridge = (
        1e-10 * np.eye(cells.shape[1]) * np.maximum(np.einsum("fss->f", sub), 1e-300)[:, None, None]
    )
    weights = np.linalg.solve(sub + ridge, rhs[..., None])[..., 0]
    intercepts = my[:n_folds] - np.einsum("fs,fs->f", weights, mx[rows[:, None], cells])
    return weights, intercepts


def _probe_logistic(
    states: StateSource,
    columns: np.ndarray,
    y: np.ndarray,
    blocks: list[tuple[int, int, int]],
    gram: _FoldGram,
    cells: np.ndarray,
    held_out: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """L2 logistic regression (C = 1) of each fold on its chosen cells, by batched Newton.

    ``held_out``: fold ``f``'s model trains on every fold but ``f``; else on all steps
    (``cells`` then has one row). The fit reads each cell in units of its spread (as
    ``score_cells`` does), and the weights returned are per raw unit.
    """
    n_models, size = cells.shape
    needed, local = _needed_columns(cells)
    spread = gram.spread()[needed]
    theta = np.zeros((n_models, size + 1))  # weights, then the intercept
    rate = np.clip(gram.sy.sum() / gram.n.sum(), 1e-6, 1 - 1e-6)
    theta[:, -1] = np.log(rate / (1 - rate))
    penalised = np.append(np.ones(size), 0.0)  # the intercept is not penalised
    for _ in range(_NEWTON_ITERATIONS):
        sums = states.reduce(
            _logistic_kernel, blocks, {"gradient": "sum", "hessian": "sum"},
            args=(columns[needed], gram.shift[needed], spread, local, theta, held_out),
            step_arrays=(y,),
        )  # fmt: skip
        gradient = _C * sums["gradient"] + theta * penalised
        hessian = sums["hessian"]
        hessian = _C * hessian + np.diag(penalised)
        step = np.linalg.solve(hessian, gradient[..., None])[..., 0]
        theta = theta - step
        if np.abs(step).max() < 1e-9 * (1.0 + np.abs(theta).max()):
            break
    return theta[:, :-1] / spread[local], theta[:, -1]


def _logistic_kernel(
    states: np.ndarray,
    blocks: list[tuple[int, int, int]],
    columns: np.ndarray,
    shift: np.ndarray,
    spread: np.ndarray,
    local: np.ndarray,
    theta: np.ndarray,
    held_out: bool,
    y: np.ndarray,
    bar: Any,
) -> dict[str, np.ndarray]:
    """The logistic loss's gradient and Hessian of every model at ``theta``, summed over steps.

    Model ``m`` reads the cells ``local[m]`` of ``columns`` (x shifted, divided by
    ``spread``); with ``held_out``, model ``m`` leaves out fold ``m``.
    """
    n_models, size = local.shape
    gradient = np.zeros((n_models, size + 1))
    hessian = np.zeros((n_models, size + 1, size + 1))
    for fold, start, stop in blocks:
        x = (_read(states, columns, start, stop) - shift) / spread
        features = np.concatenate([x[:, local], np.ones((stop - start, n_models, 1))], axis=2)
        features = features.transpose(1, 0, 2)  # (models, n, size + 1)
        z = np.einsum("mns,ms->mn", features, theta)
        use = np.ones(n_models) if not held_out else (np.arange(n_models) != fold) * 1.0
        p = _sigmoid(z)
        gradient += use[:, None] * np.einsum("mn,mns->ms", p - y[None, start:stop], features)
        weighted = features * (p * (1 - p) * use[:, None])[:, :, None]
        hessian += weighted.transpose(0, 2, 1) @ features
        bar.update(1)
    return {"gradient": gradient, "hessian": hessian}


def _needed_columns(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct column positions in ``cells`` and ``cells`` renumbered into them."""
    needed = np.unique(cells)
    return needed, np.searchsorted(needed, cells)


def _probe_held_out(
    states: StateSource,
    columns: np.ndarray,
    y: np.ndarray,
    blocks: list[tuple[int, int, int]],
    gram: _FoldGram,
    cells: np.ndarray,
    weights: np.ndarray,
    intercepts: np.ndarray,
    binary: bool,
) -> np.ndarray:
    """Each fold's probe scored on its held-out steps: balanced accuracy or R², (F,)."""
    n_folds = cells.shape[0]
    needed, local = _needed_columns(cells)
    sums = states.reduce(
        _held_out_kernel, blocks, {"sums": "fold_sum"},
        args=(columns[needed], gram.shift[needed], local, weights, intercepts, binary),
        step_arrays=(y,), n_folds=n_folds,
    )["sums"]  # fmt: skip
    if binary:
        tp, predicted, positives, n = sums.T
        negatives = n - positives
        tn = negatives - (predicted - tp)
        with np.errstate(invalid="ignore", divide="ignore"):
            r1 = np.where(positives > 0, tp / positives, np.nan)
            r0 = np.where(negatives > 0, tn / negatives, np.nan)
        return np.where(np.isnan(r1), r0, np.where(np.isnan(r0), r1, 0.5 * (r1 + r0)))
    sse, sy, syy, n = sums.T
    sst = syy - sy**2 / n
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sst > 1e-12 * n, 1.0 - sse / sst, np.nan)


def _held_out_kernel(
    states: np.ndarray,
    blocks: list[tuple[int, int, int]],
    columns: np.ndarray,
    shift: np.ndarray,
    local: np.ndarray,
    weights: np.ndarray,
    intercepts: np.ndarray,
    binary: bool,
    y: np.ndarray,
    bar: Any,
) -> dict[str, np.ndarray]:
    """Per fold, its probe's sums on its own steps, (F, 4).

    Binary: true positives, predicted positives, positives, steps; else SSE, Sy, Syy, steps.
    """
    sums = np.zeros((len(weights), 4))
    for fold, start, stop in blocks:
        x = _read(states, columns, start, stop) - shift
        z = x[:, local[fold]] @ weights[fold] + intercepts[fold]
        yy = y[start:stop]
        if binary:
            on = z > 0
            sums[fold] += (float(yy @ on), float(on.sum()), float(yy.sum()), stop - start)
        else:
            sums[fold] += (
                float(((yy - z) ** 2).sum()),
                float(yy.sum()),
                float(yy @ yy),
                stop - start,
            )
        bar.update(1)
    return {"sums": sums}


def _probe_fit_all(
    states: StateSource,
    columns: np.ndarray,
    y: np.ndarray,
    blocks: list[tuple[int, int, int]],
    gram: _FoldGram,
    cells: np.ndarray,
    binary: bool,
) -> tuple[np.ndarray, float]:
    """The probe on all steps: weights on the raw values (k,) and the intercept."""
    chosen = cells[None]
    if binary:
        weights, intercepts = _probe_logistic(states, columns, y, blocks, gram, chosen, False)
    else:
        _, mx, my, cxx, cxy = gram.training()
        sub = cxx[-1][np.ix_(cells, cells)]
        weights = np.linalg.solve(sub + 1e-10 * np.trace(sub) * np.eye(len(cells)), cxy[-1][cells])[
            None
        ]
        intercepts = np.array([my[-1] - weights[0] @ mx[-1][cells]])
    # Undo the shift: w * (x - shift) + b = w * x + (b - w . shift).
    intercept = float(intercepts[0] - weights[0] @ gram.shift[cells])
    return weights[0], intercept
