"""Response characterization of isolated recurrent cells (Hasani et al. 2019 [1]_, section IV).

Every cell ``u`` of a trained layer is cut out as its own one-cell dynamical system: its
recurrent input from the other cells is removed. The cell is then driven by designed inputs
(Definition 1) and its output is measured (Definitions 2-5):

* a **step**, ``x_t = low + (high - low) [t >= T/2]`` (their ``[t > T/2]`` counted from 1):
  initial and final (steady-state) response, their difference (the *delta response*), and the
  *settling time*: how many steps of the new input it takes until the output stays within
  10 % of ``|final - initial|`` of the final value;
* **sinusoids**, ``x_t = mid + A sin(2 pi f t)``, at the data's main frequency and at chosen ones:
  the *amplitude* (half the peak-to-peak of the output after the transient), the *response
  frequency* (the peak of the output's power spectral density) and the input-output
  *correlation*, both Hasani et al.'s unnormalised ``sum_t (x_t - E x)(y_t - E y)`` and Pearson's
  coefficient.

How a cell is cut out depends on whether the cells read each other's state:

* **nn.LSTM, nn.GRU, nn.RNN**: the cell keeps its rows of the input weights, its biases and
  its **own** recurrent weight (the diagonal entry ``W_hh[u, u]`` of each gate) and drops
  every other cell's recurrent contribution (:class:`IsolatedCells`).
* **MinGRU, MinLSTM** (Feng et al. 2024 [2]_): no gate reads ``h``, so a cell's state is
  updated from the layer's input and its own previous value only
  (``h_t = (1 - z_t) h_{t-1} + z_t h~_t``, ``z`` and ``h~`` functions of ``x_t``); there is
  nothing to drop and the isolated cell *is* the cell (:class:`IsolatedCells` with zero
  recurrent weights).
* **Mamba** (Gu & Dao 2023 [3]_): a cell is an SSM channel ``d``. Its state
  ``s_t[d] = exp(Δ_t[d] A[d]) s_{t-1}[d] + Δ_t[d] B_t x_t[d]`` is linear in itself with
  coefficients that are functions of the layer's *input*: ``Δ``, ``B`` and ``C`` come from
  ``x_proj`` of the convolved input (every channel reads every channel of the input, through
  the convolution's window of past inputs, but no channel of the state), and the convolution's
  window is written by the input alone. So no channel's state ever reaches another's (the
  Jacobian of the SSM state by itself is block-diagonal per channel), cutting a channel out
  drops nothing, and the channel's response to a stimulus is exactly its response when the
  whole layer is driven by it: the layer is driven as it is (:class:`DrivenLayer`,
  through ``RecurrentModel.run_layer``), every channel measured at once.
* a **user cell** (:class:`~rnn_widgets.models.RecurrentCell`) is refused: its step is opaque,
  so which of its inputs come from the other cells is unknown.

The output of a cell is ``y = o * tanh(c)`` for an LSTM (its ``h``), ``h`` for a GRU, a
vanilla RNN, a MinGRU and a MinLSTM, and for a Mamba channel the gated SSM output
``y_t[d] = (C_t . s_t[d] + D[d] x_t[d]) silu(z_t[d])`` (the trace kind ``y``). Hasani et al.
define a cell's output as its *output state* ``y = o * tanh(c)``: the cell's state read out
through its output gate, the one value per cell that the rest of the network reads. A Mamba
channel's ``y`` is that value: its state read out by ``C`` and gated by ``silu(z)``, and the
only quantity of the channel the network reads (``out_proj`` sums the channels into the
residual stream). The block output ``h`` is no channel's output (it mixes every channel and
the residual input), and the SSM state ``s[d, :]`` is the channel's inner state (``c``'s
counterpart, ``state_size`` values per channel), not what it outputs.

Every stimulus is a scalar signal ``s_t`` along one direction of the input space,
``x_t = base + s_t * direction``, so a gate's input drive is ``W base + s_t (W direction)``: two
numbers per cell and gate. All cells of a layer and all stimuli are then simulated at once as
independent one-cell systems: one loop over time whose every operation is elementwise over
``(stimulus, gate, cell)`` arrays, in float64. As the operations are elementwise, running a
single cell through the same code gives bit-for-bit the same numbers (the benchmark checks).
A Mamba layer is driven on a float64 copy of the model, one batch of every stimulus.

Token inputs (an embedding): the baseline is the mean input vector of the data (the
frequency-weighted mean embedding), the step goes from it to a chosen token's embedding and
the sine oscillates along that direction, around the baseline, with the same amplitude.

References
----------
.. [1] Hasani, R., Amini, A., Lechner, M., Naser, F., Grosu, R., & Rus, D. (2019). Response
   characterization for auditing cell dynamics in long short-term memory networks. International
   Joint Conference on Neural Networks (IJCNN 2019). doi:10.1109/IJCNN.2019.8851954.
   arXiv:1809.03864.
.. [2] Feng, L., Tung, F., Ahmed, M. O., Bengio, Y., & Hajimirsadeghi, H. (2024). Were RNNs all
   we needed? arXiv:2410.01201.
.. [3] Gu, A., & Dao, T. (2023). Mamba: Linear-time sequence modeling with selective state
   spaces. arXiv:2312.00752.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import torch
from scipy import signal as scipy_signal
from tqdm.auto import tqdm

from .. import zoo
from .._validation import as_float, as_int, to_numpy
from ..models import RecurrentModel, RunResult, as_model
from ..trace import Trace

__all__ = [
    "CapacitySweep",
    "RankingValidation",
    "Response",
    "ResponseSummary",
    "Stimulus",
    "StimulusDesign",
    "capacity_sweep",
    "characterize",
    "design_stimuli",
    "validate_ranking",
]

#: The metrics of the step response and of the main sinusoid, in table order.
STEP_METRICS = ("initial", "final", "delta", "settling_time")
SINE_METRICS = ("amplitude", "frequency", "correlation", "pearson")
#: Metrics ranked by their absolute value unless told otherwise.
ABSOLUTE_METRICS = ("delta",)

#: The settling band: a fraction of |final - initial| around the final value (Definition 3).
SETTLING_BAND = 0.1
#: Below this spread (in output units) a response counts as flat: no settling, no frequency.
FLAT = 1e-12
#: The fewest steps a sequence needs for its spectrum to say anything.
MIN_SPECTRUM_STEPS = 16
#: The fewest cycles of a sinusoid the analysis window must hold.
MIN_CYCLES = 2
_MAX_SEGMENT = 512
#: The longest stimulus: every stimulus runs through the model for this many steps and its
#: response is kept per cell. 100,000 steps resolve frequencies down to 1e-5 per step, far
#: below any a network trained on sequences of thousands of steps follows; a typo such as
#: 10**9 would allocate gigabytes per stimulus.
MAX_STIMULUS_STEPS = 100_000
_STEPS_WHY = "stimulus steps, each run through the model and kept per cell"


# ---------------------------------------------------------------------------------- results


@dataclass(frozen=True, eq=False)
class Stimulus:
    """One designed input: ``x_t = base + signal[t] * direction``.

    Attributes
    ----------
    name : str
        ``"step"`` or ``"sine@<frequency>"``.
    waveform : {"step", "sine"}
    frequency : float or None
        Cycles per step of a sinusoid; None for the step.
    signal : ndarray, shape (steps,)
        The scalar signal ``s_t``: 0 then 1 for the step, ``sin(2 pi f t)`` for a sinusoid.
    base, direction : ndarray, shape (input_size,)
        Where the input sits at ``s = 0`` and where ``s = 1`` moves it to, relative to ``base``.
    inputs : ndarray, shape (steps,)
        The input as one number per step: its coordinate along the unit ``direction``. For a
        one-channel input with a positive direction it is ``x_t`` itself.

    """

    name: str
    waveform: str
    frequency: float | None
    signal: np.ndarray
    base: np.ndarray
    direction: np.ndarray
    inputs: np.ndarray


@dataclass(frozen=True, eq=False)
class StimulusDesign:
    """The inputs designed from the data (Definition 1).

    Attributes
    ----------
    n_channels : int
        The width of the layer's input.
    low, high : ndarray, shape (n_channels,)
        The data's amplitude range per channel (minimum and maximum over every step).
    main_frequency : float
        The data's main frequency component, cycles per step (or the one given).
    spectrum_frequencies, spectrum_power : ndarray, shape (n_bins,)
        The data's averaged power spectral density (Welch) the main frequency was read from;
        empty when the main frequency was given.
    token : str or int or None
        For token inputs, the token the step goes to.
    steps : int
        The length of every stimulus.
    change_step : int
        The first step of the step stimulus's new input (``steps // 2``).
    transient : int
        Sinusoid steps discarded before measuring (the analysis window is the rest).
    stimuli : tuple of Stimulus
        The step, then the sinusoids: the main frequency first.

    """

    n_channels: int
    low: np.ndarray
    high: np.ndarray
    main_frequency: float
    spectrum_frequencies: np.ndarray
    spectrum_power: np.ndarray
    token: str | int | None
    steps: int
    change_step: int
    transient: int
    stimuli: tuple[Stimulus, ...]

    @property
    def frequencies(self) -> tuple[float, ...]:
        """The sinusoids' frequencies, the main one first."""
        return tuple(float(s.frequency) for s in self.stimuli if s.frequency is not None)


@dataclass(frozen=True, eq=False)
class ResponseSummary:
    """Mean and standard deviation of each metric over the cells (Hasani et al.'s Table I).

    Table I of Hasani et al. (2019) [1]_ summarises the metrics so.

    Attributes
    ----------
    metric_names : tuple of str
    mean, std : ndarray, shape (n_metrics,)
        Over the cells where the metric is defined (NaN-aware).
    defined : ndarray of int, shape (n_metrics,)
        How many cells have the metric defined (a flat output has no frequency or Pearson).

    References
    ----------
    .. [1] Hasani, R., Amini, A., Lechner, M., Naser, F., Grosu, R., & Rus, D. (2019). Response
       characterization for auditing cell dynamics in long short-term memory networks.
       International Joint Conference on Neural Networks (IJCNN 2019).
       doi:10.1109/IJCNN.2019.8851954. arXiv:1809.03864.

    """

    metric_names: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    defined: np.ndarray

    def __getitem__(self, name: str) -> tuple[float, float]:
        index = _metric_index(self.metric_names, name)
        return float(self.mean[index]), float(self.std[index])

    def to_markdown(self, metrics: Sequence[str] | None = None, digits: int = 2) -> str:
        """A one-row Markdown table of ``mean ± std`` per metric."""
        names = tuple(metrics) if metrics is not None else self.metric_names
        cells = [f"{self[name][0]:.{digits}f} ± {self[name][1]:.{digits}f}" for name in names]
        return "\n".join(
            [
                "| " + " | ".join(names) + " |",
                "| " + " | ".join("---" for _ in names) + " |",
                "| " + " | ".join(cells) + " |",
            ]
        )

    def __str__(self) -> str:
        return self.to_markdown()


@dataclass(frozen=True, eq=False)
class Response:
    """The response characterization of every cell of one layer.

    The method of Hasani et al. (2019) [1]_: each cell, isolated, is driven by a step and by
    sinusoids, and its responses are measured (see :func:`characterize`).

    Attributes
    ----------
    metric_names : tuple of str
        ``initial final delta settling_time`` (step), ``amplitude frequency correlation
        pearson`` (the main sinusoid), then the same four for each further sinusoid, suffixed
        ``@<frequency>``.
    values : ndarray, shape (n_cells, n_metrics)
        The metric table, float64. ``frequency`` and ``pearson`` are NaN for a cell whose
        sine response is flat; settling times are whole steps.
    outputs : ndarray, shape (n_stimuli, steps, n_cells)
        The raw response curves: each cell's output for each stimulus.
    design : StimulusDesign
        The stimuli (``design.stimuli[k]`` drove ``outputs[k]``).
    family : str
        ``"lstm"``, ``"gru"``, ``"rnn_tanh"``, ``"rnn_relu"``, ``"min_gru"``, ``"min_lstm"``
        or ``"mamba"``.
    layer : int
    cells : ndarray of int, shape (n_cells,)
        The layer's cell index of each row (a Mamba layer's: its SSM channels).
    kind : str
        The state kind a cell's output is, as a capture of the layer records it: ``"h"``
        (an LSTM's ``o * tanh(c)``, every other family's ``h``), ``"y"`` for a Mamba
        channel (its gated SSM output; see :func:`characterize`).

    References
    ----------
    .. [1] Hasani, R., Amini, A., Lechner, M., Naser, F., Grosu, R., & Rus, D. (2019). Response
       characterization for auditing cell dynamics in long short-term memory networks.
       International Joint Conference on Neural Networks (IJCNN 2019).
       doi:10.1109/IJCNN.2019.8851954. arXiv:1809.03864.

    """

    metric_names: tuple[str, ...]
    values: np.ndarray
    outputs: np.ndarray
    design: StimulusDesign
    family: str
    layer: int
    cells: np.ndarray
    kind: str = "h"

    @property
    def n_cells(self) -> int:
        """The number of cells characterized."""
        return int(self.values.shape[0])

    @property
    def stimuli(self) -> tuple[Stimulus, ...]:
        """The stimuli, in the order of ``outputs``."""
        return self.design.stimuli

    def metric(self, name: str) -> np.ndarray:
        """One column of the table, shape (n_cells,)."""
        return self.values[:, _metric_index(self.metric_names, name)]

    def to_dict(self) -> dict[str, np.ndarray]:
        """The table as ``{metric: values per cell}`` (e.g. for ``pandas.DataFrame``)."""
        return {name: self.metric(name) for name in self.metric_names}

    def to_rows(self) -> list[dict[str, Any]]:
        """One dict per cell: ``cell`` (the layer's index), then one key per metric."""
        return [
            {"cell": int(cell), **dict(zip(self.metric_names, map(float, row), strict=True))}
            for cell, row in zip(self.cells, self.values, strict=True)
        ]

    def ranks_by_absolute_value(self, metric: str) -> bool:
        """Whether :meth:`ranking` ranks ``metric`` by its absolute value by default.

        True for ``delta`` (and its ``delta@<frequency>`` columns): the response
        characterization paper (see :class:`Response`) ranks excitatory and inhibitory cells
        alike by ``|delta response|``.
        """
        _metric_index(self.metric_names, metric)
        return metric.split("@")[0] in ABSOLUTE_METRICS

    def curve(self, stimulus: int | str, cell: int) -> tuple[np.ndarray, np.ndarray]:
        """``(inputs, output)`` over time, each shape (steps,), for one stimulus and cell."""
        index = self._stimulus_index(stimulus)
        row = self._row(cell)
        return self.stimuli[index].inputs, self.outputs[index, :, row]

    def summary(self) -> ResponseSummary:
        """Mean ± std of each metric over the cells, as in Table I of the paper Response cites."""
        with np.errstate(invalid="ignore"):
            defined = np.isfinite(self.values).sum(axis=0)
            mean = np.array([_nan_stat(np.nanmean, column) for column in self.values.T])
            std = np.array([_nan_stat(np.nanstd, column) for column in self.values.T])
        return ResponseSummary(self.metric_names, mean, std, defined.astype(np.int64))

    def plot(self, metric: str = "settling_time", *, bins: int | str = "auto") -> Any:
        """The distribution of one metric over the cells, as a histogram (a bqplot Figure).

        Cells where the metric is undefined (NaN) are left out; the title says how many.

        Parameters
        ----------
        metric : str
            A name of ``metric_names``.
        bins : int or str
            As ``numpy.histogram`` takes them (default ``"auto"``).

        Returns
        -------
        bqplot.Figure
            ``figure.marks[0]`` holds the bars: ``x`` the bin centres, ``y`` the counts.

        """
        from .._figures import histogram

        values = self.metric(metric)
        if not isinstance(bins, str):
            bins = as_int(bins, "bins", minimum=1)
        defined = int(np.isfinite(values).sum())
        title = f"{metric} over {defined} of {self.n_cells} cells (layer {self.layer})"
        return histogram(values, bins=bins, title=title, x_label=metric)

    def ranking(self, metric: str, *, absolute: bool | None = None) -> np.ndarray:
        """The cells sorted by a metric, largest first (NaN last).

        Parameters
        ----------
        metric : str
            A name of ``metric_names``.
        absolute : bool, optional
            Rank by the absolute value; by default only for ``delta`` (``|delta response|``,
            as the paper :class:`Response` cites ranks excitatory and inhibitory cells alike).

        Returns
        -------
        ndarray of int, shape (n_cells,)
            Cell indices of the layer.

        """
        values = self.metric(metric)
        if absolute is None:
            absolute = self.ranks_by_absolute_value(metric)
        elif not isinstance(absolute, bool):
            raise TypeError(f"absolute must be a bool or None, got {type(absolute).__name__}")
        keys = np.abs(values) if absolute else values
        keys = np.where(np.isnan(keys), -np.inf, keys)
        order = np.argsort(-keys, kind="stable")
        return self.cells[order].copy()

    def _stimulus_index(self, stimulus: int | str) -> int:
        names = [s.name for s in self.stimuli]
        if isinstance(stimulus, str):
            if stimulus not in names:
                raise ValueError(f"stimulus {stimulus!r} is not one of {names}")
            return names.index(stimulus)
        index = as_int(stimulus, "stimulus")
        if not 0 <= index < len(names):
            raise ValueError(f"stimulus must be 0 .. {len(names) - 1} or a name in {names}")
        return index

    def _row(self, cell: int) -> int:
        cell = as_int(cell, "cell")
        rows = np.flatnonzero(self.cells == cell)
        if len(rows) == 0:
            raise ValueError(
                f"cell {cell} was not characterized; cells run over {self.cells.min()} .. "
                f"{self.cells.max()}"
            )
        return int(rows[0])


def _nan_stat(function: Callable[[np.ndarray], Any], column: np.ndarray) -> float:
    return float(function(column)) if np.isfinite(column).any() else math.nan


def _metric_index(names: Sequence[str], name: str) -> int:
    if not isinstance(name, str):
        raise TypeError(f"metric must be a str, got {type(name).__name__}")
    if name not in names:
        raise ValueError(f"metric {name!r} is unknown; choose from {list(names)}")
    return list(names).index(name)


# ---------------------------------------------------------------------------------- isolation


@dataclass(frozen=True, eq=False)
class IsolatedCells:
    """Cells of one layer as independent one-cell systems (float64).

    Attributes
    ----------
    family : str
    gates : tuple of str
        In PyTorch's order (``i f g o``, ``r z n`` or ``h``).
    input_weights : ndarray, shape (n_gates, n_cells, input_size)
    recurrent : ndarray, shape (n_gates, n_cells)
        Each cell's own recurrent weight per gate (the diagonal of ``W_hh``).
    input_bias, recurrent_bias : ndarray, shape (n_gates, n_cells)
    cells : ndarray of int, shape (n_cells,)

    """

    family: str
    gates: tuple[str, ...]
    input_weights: np.ndarray
    recurrent: np.ndarray
    input_bias: np.ndarray
    recurrent_bias: np.ndarray
    cells: np.ndarray

    def subset(self, cells: Sequence[int] | np.ndarray) -> IsolatedCells:
        """The same systems for some of the cells (positions into ``cells``)."""
        rows = np.asarray(cells, dtype=np.int64)
        return IsolatedCells(
            self.family,
            self.gates,
            np.ascontiguousarray(self.input_weights[:, rows]),
            np.ascontiguousarray(self.recurrent[:, rows]),
            np.ascontiguousarray(self.input_bias[:, rows]),
            np.ascontiguousarray(self.recurrent_bias[:, rows]),
            self.cells[rows].copy(),
        )


@dataclass(frozen=True, eq=False)
class DrivenLayer:
    """A layer whose cells are independent given its input, to be driven whole (Mamba).

    No cell's state reads another's, so each cell's response to a stimulus is its response
    when the whole layer reads that stimulus: :func:`simulate` drives the layer (on a float64
    copy, through ``RecurrentModel.run_layer``) and reads ``kind`` per cell.

    Attributes
    ----------
    model : RecurrentModel
        The model as given.
    family : str
    layer : int
    kind : str
        The kind whose per-cell values are the cells' outputs (``"y"`` for Mamba).
    cells : ndarray of int, shape (n_cells,)

    """

    model: RecurrentModel
    family: str
    layer: int
    kind: str
    cells: np.ndarray


#: The families whose layers are driven whole, and the kind that is a cell's output there.
_DRIVEN_OUTPUT = {"mamba": "y"}


def isolate(model: Any, *, layer: int = 0) -> IsolatedCells | DrivenLayer:
    """Cut every cell of a layer out as its own one-cell system (Hasani et al., section IV).

    As in Hasani et al. (2019) [1]_, each cell's recurrent input from the other cells is
    removed. An nn.LSTM, nn.GRU or nn.RNN cell keeps its input weights, its biases and its
    own recurrent weight per gate. A MinGRU or MinLSTM cell (Feng et al. 2024 [2]_) reads no
    other cell's state, so it is kept as it is (zero recurrent weights). A Mamba layer's cells
    are its SSM channels (Gu & Dao 2023 [3]_), whose states never read each other either:
    their coefficients come from the layer's input alone (see the module docstring), so the
    layer is returned to be driven whole.

    Parameters
    ----------
    model : RecurrentModel or a module ``wrap`` accepts
        The model whose layer is cut apart.
    layer : int
        The layer whose cells are isolated.

    Returns
    -------
    IsolatedCells or DrivenLayer
        One-cell systems in float64 (torch cores, min-RNNs), or the layer to drive (Mamba).

    Raises
    ------
    TypeError
        For a user cell (its step is opaque: which of its inputs come from the other cells
        cannot be known, so none can be removed), and for a core of another family.

    References
    ----------
    .. [1] Hasani, R., Amini, A., Lechner, M., Naser, F., Grosu, R., & Rus, D. (2019). Response
       characterization for auditing cell dynamics in long short-term memory networks.
       International Joint Conference on Neural Networks (IJCNN 2019).
       doi:10.1109/IJCNN.2019.8851954. arXiv:1809.03864.
    .. [2] Feng, L., Tung, F., Ahmed, M. O., Bengio, Y., & Hajimirsadeghi, H. (2024). Were
       RNNs all we needed? arXiv:2410.01201.
    .. [3] Gu, A., & Dao, T. (2023). Mamba: Linear-time sequence modeling with selective state
       spaces. arXiv:2312.00752.

    """
    model = as_model(model)
    layer = model.check_layer(layer=layer)
    if model.family == "cell":
        raise TypeError(
            "model: a user cell (RecurrentCell) cannot be isolated cell by cell: its step is "
            "opaque to rnn_widgets (no gate weights to read), so which of a cell's inputs come "
            "from the other cells is unknown and cannot be removed. Response characterization "
            "supports nn.LSTM, nn.GRU, nn.RNN, MinGRU, MinLSTM and Mamba; to measure a user "
            "cell's responses anyway, drive it with model.run_layer(inputs) on the stimuli of "
            "design_stimuli"
        )
    if model.family in _MIN_GATES:
        return _isolated_min_cells(model, layer)
    if model.family in _DRIVEN_OUTPUT:
        cells = np.arange(model.n_cells(layer=layer), dtype=np.int64)
        return DrivenLayer(model, model.family, layer, _DRIVEN_OUTPUT[model.family], cells)
    if not model.has_gate_weights:
        raise TypeError(
            f"model: response characterization supports nn.LSTM, nn.GRU, nn.RNN, MinGRU, "
            f"MinLSTM and Mamba cores, not a {model.family} core (how its cells read each "
            "other's state is not known here); drive it with RecurrentModel.run_layer"
        )
    gates = model.gate_weights(layer=layer)
    names = tuple(gates)

    def stack(attribute: str) -> np.ndarray:
        return np.stack([np.asarray(getattr(gates[g], attribute), np.float64) for g in names])

    recurrent = np.stack(
        [np.diagonal(np.asarray(gates[g].recurrent_weights, np.float64)) for g in names]
    )
    return IsolatedCells(
        model.family,
        names,
        np.ascontiguousarray(stack("input_weights")),
        np.ascontiguousarray(recurrent),
        np.ascontiguousarray(stack("input_bias")),
        np.ascontiguousarray(stack("recurrent_bias")),
        np.arange(model.n_cells(layer=layer), dtype=np.int64),
    )


#: The gate rows of ``weight_ih_l{k}`` of a MinGRU and a MinLSTM.
_MIN_GATES = {"min_gru": ("z", "h_tilde"), "min_lstm": ("i", "f", "h_tilde")}


def _isolated_min_cells(model: RecurrentModel, layer: int) -> IsolatedCells:
    """A minGRU or minLSTM layer as one-cell systems: exactly the layer, as no gate reads h.

    Each cell's gates read only the layer's input (Feng et al. 2024 [1]_), so cutting a cell
    out drops nothing: the recurrent weights are zero and the isolated cell is the cell.

    References
    ----------
    .. [1] Feng, L., Tung, F., Ahmed, M. O., Bengio, Y., & Hajimirsadeghi, H. (2024). Were
       RNNs all we needed? arXiv:2410.01201.
    """
    weight, bias = model.core.weights(layer)
    n_cells, names = model.n_cells(layer=layer), _MIN_GATES[model.family]
    weights = weight.detach().to("cpu", torch.float64).numpy().reshape(len(names), n_cells, -1)
    biases = (
        np.zeros((len(names), n_cells))
        if bias is None
        else bias.detach().to("cpu", torch.float64).numpy().reshape(len(names), n_cells)
    )
    zeros = np.zeros((len(names), n_cells))
    return IsolatedCells(
        model.family,
        names,
        np.ascontiguousarray(weights),
        zeros,
        np.ascontiguousarray(biases),
        zeros.copy(),
        np.arange(n_cells, dtype=np.int64),
    )


def simulate(cells: IsolatedCells | DrivenLayer, stimuli: Sequence[Stimulus]) -> np.ndarray:
    """The output of every isolated cell for every stimulus, from the zero state.

    Parameters
    ----------
    cells : IsolatedCells or DrivenLayer
        The one-cell systems, or the layer to drive whole, from :func:`isolate`.
    stimuli : sequence of Stimulus
        All of the same length.

    Returns
    -------
    ndarray, shape (n_stimuli, steps, n_cells)
        ``o * tanh(c)`` for an LSTM, the kind ``y`` for a Mamba channel, ``h`` otherwise.

    """
    if isinstance(cells, DrivenLayer):
        return _drive(cells, stimuli)
    signals = np.stack([s.signal for s in stimuli])  # (n_stimuli, steps)
    # The input drive of each gate is offset + s_t * slope, both (n_stimuli, n_gates, n_cells).
    bases = np.stack([s.base for s in stimuli])
    directions = np.stack([s.direction for s in stimuli])
    offset = _project(cells.input_weights, bases) + cells.input_bias
    slope = _project(cells.input_weights, directions)
    n_stimuli, steps = signals.shape
    n_cells = cells.recurrent.shape[1]
    outputs = np.empty((n_stimuli, steps, n_cells))
    step = _STEPPERS[cells.family]
    h = np.zeros((n_stimuli, n_cells))
    c = np.zeros((n_stimuli, n_cells))
    for t in range(steps):
        drive = offset + signals[:, t, None, None] * slope
        h, c = step(cells, drive, h, c)
        outputs[:, t] = h
    return outputs


def _drive(layer: DrivenLayer, stimuli: Sequence[Stimulus]) -> np.ndarray:
    """Every stimulus through the whole layer at once (one batch), on a float64 copy."""
    model = layer.model
    if model.dtype != torch.float64:
        # A private copy: the caller's model is never changed (RecurrentModel never casts).
        model = RecurrentModel(copy.deepcopy(model.core).double())
    inputs = np.stack([s.base[None] + s.signal[:, None] * s.direction[None] for s in stimuli])
    states = model.run_layer(torch.from_numpy(inputs), layer=layer.layer, kinds=[layer.kind])
    return states[layer.kind].to("cpu", torch.float64).numpy()


def _project(weights: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """``weights @ vector`` per stimulus, (n_stimuli, n_gates, n_cells), row by row.

    An elementwise product and a sum over the last axis (not a BLAS product), so each cell's
    number does not depend on which other cells are computed with it.
    """
    return (weights[None] * vectors[:, None, None, :]).sum(axis=-1)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function as ``(1 + tanh(x / 2)) / 2``: exact, and faster than expit here."""
    return 0.5 + 0.5 * np.tanh(0.5 * x)


def _lstm_step(
    cells: IsolatedCells, drive: np.ndarray, h: np.ndarray, c: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    pre = drive + cells.recurrent_bias + cells.recurrent * h[:, None, :]
    gates = _sigmoid(pre)  # i, f, o (g is recomputed with tanh below)
    c = gates[:, 1] * c + gates[:, 0] * np.tanh(pre[:, 2])
    return gates[:, 3] * np.tanh(c), c


def _gru_step(
    cells: IsolatedCells, drive: np.ndarray, h: np.ndarray, c: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    hidden = cells.recurrent * h[:, None, :] + cells.recurrent_bias
    gates = _sigmoid(drive[:, :2] + hidden[:, :2])  # r, z
    n = np.tanh(drive[:, 2] + gates[:, 0] * hidden[:, 2])
    return (1 - gates[:, 1]) * n + gates[:, 1] * h, c


def _rnn_tanh_step(
    cells: IsolatedCells, drive: np.ndarray, h: np.ndarray, c: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    return np.tanh(drive[:, 0] + cells.recurrent_bias[0] + cells.recurrent[0] * h), c


def _rnn_relu_step(
    cells: IsolatedCells, drive: np.ndarray, h: np.ndarray, c: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    return np.maximum(drive[:, 0] + cells.recurrent_bias[0] + cells.recurrent[0] * h, 0.0), c


def _min_candidate(p: np.ndarray) -> np.ndarray:
    """The candidate activation ``g`` of the log-space min-RNNs: ``p + 1/2`` or ``sigmoid(p)``."""
    return np.where(p >= 0, p + 0.5, _sigmoid(np.minimum(p, 0.0)))


def _min_gru_step(
    cells: IsolatedCells, drive: np.ndarray, h: np.ndarray, c: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    z = _sigmoid(drive[:, 0])
    return (1 - z) * h + z * _min_candidate(drive[:, 1]), c


def _min_lstm_step(
    cells: IsolatedCells, drive: np.ndarray, h: np.ndarray, c: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    i, f = _sigmoid(drive[:, 0]), _sigmoid(drive[:, 1])
    return (f * h + i * _min_candidate(drive[:, 2])) / (f + i), c


_STEPPERS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "lstm": _lstm_step,
    "gru": _gru_step,
    "rnn_tanh": _rnn_tanh_step,
    "rnn_relu": _rnn_relu_step,
    "min_gru": _min_gru_step,
    "min_lstm": _min_lstm_step,
}


# ---------------------------------------------------------------------------------- metrics


def measure(outputs: np.ndarray, design: StimulusDesign) -> tuple[tuple[str, ...], np.ndarray]:
    """The metric table of simulated responses: ``(metric_names, values (n_cells, n))``.

    Every metric is computed for all cells at once and depends only on that cell's curves.
    """
    names: list[str] = []
    columns: list[np.ndarray] = []
    for name, column in zip(
        STEP_METRICS, _step_metrics(outputs[0], design.change_step), strict=True
    ):
        names.append(name)
        columns.append(column)
    for k, stimulus in enumerate(design.stimuli[1:], start=1):
        suffix = "" if k == 1 else f"@{stimulus.frequency:g}"
        values = _sine_metrics(stimulus.inputs, outputs[k], design.transient)
        for name, column in zip(SINE_METRICS, values, strict=True):
            names.append(name + suffix)
            columns.append(column)
    return tuple(names), np.stack(columns, axis=1)


def _step_metrics(y: np.ndarray, change: int) -> tuple[np.ndarray, ...]:
    """Initial, final, delta and settling time of step responses ``y`` (steps, n_cells).

    The settling time counts the steps of the new input read until the output is within the
    band for good: 1 if the first output after the change is already (and stays) inside; 0
    for a flat response (no change to settle).
    """
    initial = y[change - 1]
    final = y[-1]
    delta = final - initial
    band = SETTLING_BAND * np.abs(delta)
    after = y[change:]
    outside = np.abs(after - final) > band
    count = after.shape[0]
    # Index of the last step outside the band (-1 when none), read from the end.
    last_outside = np.where(outside.any(axis=0), count - 1 - np.argmax(outside[::-1], axis=0), -1)
    settling = (last_outside + 2).astype(np.float64)
    settling[np.abs(delta) <= FLAT] = 0.0
    return initial.copy(), final.copy(), delta, settling


def _sine_metrics(x: np.ndarray, y: np.ndarray, transient: int) -> tuple[np.ndarray, ...]:
    """Amplitude, response frequency, correlation and Pearson of sine responses after a transient.

    ``x`` (steps,) is the input coordinate, ``y`` (steps, n_cells) the outputs. Every
    reduction runs along the contiguous time axis of one cell's row, so a cell's numbers do
    not depend on which other cells are measured with it.
    """
    window_x = x[transient:]
    rows = np.ascontiguousarray(y[transient:].T)  # (n_cells, window)
    amplitude = (rows.max(axis=1) - rows.min(axis=1)) / 2
    flat = amplitude <= FLAT
    frequencies, power = scipy_signal.periodogram(rows, detrend="constant", axis=-1)
    # The DC bin is the output's mean, removed by the detrending: the peak is among the rest.
    peak = np.argmax(power[:, 1:], axis=1) + 1
    frequency = np.where(flat, np.nan, frequencies[peak])
    centred_x = window_x - window_x.mean()
    centred_y = rows - rows.mean(axis=1, keepdims=True)
    correlation = (centred_y * centred_x).sum(axis=1)
    norms = np.sqrt((centred_x * centred_x).sum() * (centred_y * centred_y).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        pearson = np.where(flat, np.nan, correlation / np.where(flat, 1.0, norms))
    return amplitude, frequency, correlation, pearson


# ---------------------------------------------------------------------------------- data


@dataclass(frozen=True, eq=False)
class _LayerInputs:
    """The data as the layer sees it: float64 input vectors per sequence, and token counts."""

    sequences: list[np.ndarray]
    token_counts: Counter[Any] | None


def _raw_sequences(sequences: Any) -> list[Any]:
    """The sequences of a TaskData, a Trace, an array or a list of sequences."""
    if sequences is None:
        raise ValueError(
            "sequences is required to design the stimuli (Definition 1): pass the training "
            "inputs (a TaskData, a Trace, a list of sequences or an array (n, steps, "
            "input_size)), or a design= from design_stimuli"
        )
    if isinstance(sequences, Trace):
        return [sequences.sequence_tokens(s) for s in range(sequences.n_sequences)]
    if hasattr(sequences, "sequences") and hasattr(sequences, "target_type"):
        return list(sequences.sequences)
    if isinstance(sequences, (str, bytes)):
        raise TypeError("sequences must be a list of sequences, not one string; wrap it in a list")
    if isinstance(sequences, torch.Tensor) or isinstance(sequences, np.ndarray):
        array = to_numpy(sequences)
        if array.ndim == 3:
            return list(array)
        if array.ndim in (1, 2):
            return [array]
        raise ValueError(f"sequences as an array must be (n, steps, input_size), got {array.shape}")
    if isinstance(sequences, Sequence):
        return list(sequences)
    raise TypeError(
        f"sequences must be a TaskData, a Trace, an array or a list of sequences, got "
        f"{type(sequences).__name__}"
    )


def _layer_inputs(model: RecurrentModel, sequences: Any, layer: int) -> _LayerInputs:
    raw = _raw_sequences(sequences)
    if not raw or all(len(sequence) == 0 for sequence in raw):
        raise ValueError("sequences is empty: it holds no steps; pass the inputs the model read")
    raw = [sequence for sequence in raw if len(sequence) > 0]
    counts: Counter[Any] | None = None
    if layer < model.directions:  # the first layer (either direction) reads the data
        try:
            encoded = [model.encode(sequence).double().cpu().numpy() for sequence in raw]
        except (TypeError, ValueError) as error:
            hint = (
                "; a Trace holds only tokens, so for float inputs pass the input arrays"
                if isinstance(sequences, Trace)
                else ""
            )
            raise ValueError(f"sequences cannot be read by the model: {error}{hint}") from None
        if model.embedding is not None and all(_is_token_sequence(s) for s in raw):
            counts = Counter(_token_key(t) for sequence in raw for t in _tokens_of(sequence))
        return _LayerInputs(encoded, counts)
    below = _input_layers(model, layer)
    run = model.run(raw, kinds=["h"])  # the layers below: only their h is read
    sequences = []
    for b, length in enumerate(run.lengths):
        parts = [run.states[(lower, "h")][b, :length] for lower in below]
        sequences.append(torch.cat(parts, dim=-1).double().cpu().numpy())
    return _LayerInputs(sequences, None)


def _input_layers(model: RecurrentModel, layer: int) -> list[int]:
    """The layers whose h (concatenated) is the input of ``layer``."""
    physical = layer // model.directions
    return [(physical - 1) * model.directions + d for d in range(model.directions)]


def _is_token_sequence(sequence: Any) -> bool:
    """Token strings or ids (read through the embedding), not float input vectors."""
    if isinstance(sequence, (np.ndarray, torch.Tensor)):
        array = to_numpy(sequence)
        return array.ndim == 1 and np.issubdtype(array.dtype, np.integer)
    return all(isinstance(t, (str, int, np.integer)) for t in sequence)


def _tokens_of(sequence: Any) -> list[Any]:
    if isinstance(sequence, np.ndarray) or isinstance(sequence, torch.Tensor):
        return [int(v) for v in to_numpy(sequence).ravel()]
    return list(sequence)


def _token_key(token: Any) -> Any:
    return int(token) if isinstance(token, (int, np.integer)) else token


def _data_range(inputs: _LayerInputs) -> tuple[np.ndarray, np.ndarray]:
    stacked = np.concatenate(inputs.sequences)
    return stacked.min(axis=0), stacked.max(axis=0)


def _spectrum(signals: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The averaged Welch power spectrum of (steps, channels) signals, summed over channels."""
    usable = [s for s in signals if len(s) >= MIN_SPECTRUM_STEPS]
    if not usable:
        longest = max(len(s) for s in signals)
        raise ValueError(
            f"sequences: the longest one has {longest} steps, too few to estimate the main "
            f"frequency (at least {MIN_SPECTRUM_STEPS} are needed); pass longer sequences or "
            "give main_frequency= explicitly"
        )
    segment = int(min(_MAX_SEGMENT, np.median([len(s) for s in usable])))
    usable = [s for s in usable if len(s) >= segment]
    total = None
    weight = 0
    for values in usable:
        frequencies, power = scipy_signal.welch(values, nperseg=segment, detrend="constant", axis=0)
        power = power.sum(axis=1) * len(values)
        total = power if total is None else total + power
        weight += len(values)
    assert total is not None
    return frequencies, total / weight


def _main_frequency(frequencies: np.ndarray, power: np.ndarray) -> float:
    if not np.any(power[1:] > 0):
        raise ValueError(
            "sequences: the input signal has no frequency content (each sequence is constant); "
            "pass inputs that vary over time, or give main_frequency= explicitly"
        )
    return float(frequencies[np.argmax(power[1:]) + 1])


def _check_frequency(value: Any, name: str, window: int) -> float:
    frequency = as_float(value, name)
    if frequency <= 0:
        raise ValueError(f"{name} must be > 0 cycles per step, got {frequency}")
    if frequency >= 0.5:
        raise ValueError(
            f"{name} = {frequency} cycles per step is at or above the Nyquist frequency 0.5: a "
            "sampled sinusoid cannot oscillate faster than once every two steps; choose a "
            "frequency below 0.5"
        )
    if frequency * window < MIN_CYCLES:
        raise ValueError(
            f"{name} = {frequency} cycles per step completes fewer than {MIN_CYCLES} cycles in "
            f"the {window}-step analysis window; raise steps (or lower transient) to at "
            f"least {math.ceil(MIN_CYCLES / frequency)} analysed steps, or raise the frequency"
        )
    return frequency


def design_stimuli(
    model: Any,
    sequences: Any,
    *,
    layer: int = 0,
    steps: int = 1000,
    frequencies: Sequence[float] | None = None,
    main_frequency: float | None = None,
    token: str | int | None = None,
    transient: int | None = None,
) -> StimulusDesign:
    """Design the step and sinusoid inputs from the data, per Hasani et al.'s Definition 1.

    Definition 1 of Hasani et al. (2019) [1]_: a step between two levels of the data and
    sinusoids at its main frequency and at chosen ones.

    Parameters
    ----------
    model : RecurrentModel
        The model whose layer the stimuli drive.
    sequences : TaskData, Trace, array or list of sequences
        The inputs the model was trained on (token strings or ids for an embedding, float
        arrays (steps, input_size) otherwise; a Trace gives its tokens). For a layer above
        the first, the model is run over them and the layer below's ``h`` is the data.
    layer : int
        The layer whose input is designed.
    steps : int
        The length T of every stimulus, 32 .. :data:`MAX_STIMULUS_STEPS` (100,000).
    frequencies : sequence of float, optional
        Further sinusoid frequencies (cycles per step, below the Nyquist 0.5).
    main_frequency : float, optional
        Use this instead of the data's estimated main frequency.
    token : str or int, optional
        Token inputs: the token whose embedding the step goes to (default: the most frequent
        token of the data).
    transient : int, optional
        Sinusoid steps discarded before measuring; default ``steps // 2``.

    Returns
    -------
    StimulusDesign

    Raises
    ------
    ValueError
        Empty or constant sequences, too few steps to estimate a frequency, a frequency at or
        above Nyquist or too low to complete two cycles in the analysis window.

    References
    ----------
    .. [1] Hasani, R., Amini, A., Lechner, M., Naser, F., Grosu, R., & Rus, D. (2019). Response
       characterization for auditing cell dynamics in long short-term memory networks.
       International Joint Conference on Neural Networks (IJCNN 2019).
       doi:10.1109/IJCNN.2019.8851954. arXiv:1809.03864.

    """
    model = as_model(model)
    layer = model.check_layer(layer=layer)
    steps = as_int(steps, "steps", minimum=32, maximum=MAX_STIMULUS_STEPS, why=_STEPS_WHY)
    transient = steps // 2 if transient is None else as_int(transient, "transient", minimum=0)
    window = steps - transient
    if window < MIN_SPECTRUM_STEPS:
        raise ValueError(
            f"transient {transient} leaves {window} of {steps} steps to analyse; leave at "
            f"least {MIN_SPECTRUM_STEPS}"
        )
    if token is not None and (layer >= model.directions or model.embedding is None):
        raise ValueError(
            "token applies only to the first layer of a model with an embedding (token "
            "inputs); leave it None here"
        )
    extra = [] if frequencies is None else _frequency_list(frequencies, window)
    inputs = _layer_inputs(model, sequences, layer)
    low, high = _data_range(inputs)
    if inputs.token_counts is not None:
        chosen, step_base, step_direction = _token_direction(model, inputs, token)
        sine_base, sine_direction = step_base, step_direction
        projections = [(s - step_base) @ _unit(step_direction) for s in inputs.sequences]
        signals = [p[:, None] for p in projections]
    else:
        chosen = None
        if not np.any(high > low):
            raise ValueError(
                f"sequences: the input signal is constant (every value {low.tolist()}); a step or "
                "sine needs a range of input values; pass the inputs the model was trained on"
            )
        step_base, step_direction = low, high - low
        sine_base, sine_direction = (low + high) / 2, (high - low) / 2
        signals = inputs.sequences
    if main_frequency is None:
        spectrum_f, spectrum_p = _spectrum(signals)
        main = _main_frequency(spectrum_f, spectrum_p)
        main = _check_frequency(main, "the data's main frequency", window)
    else:
        spectrum_f = spectrum_p = np.zeros(0)
        main = _check_frequency(main_frequency, "main_frequency", window)
    all_frequencies = [main] + [f for f in extra if not math.isclose(f, main)]
    change = steps // 2
    time = np.arange(steps, dtype=np.float64)
    stimuli = [
        _stimulus("step", None, (time >= change).astype(np.float64), step_base, step_direction)
    ]
    for frequency in dict.fromkeys(all_frequencies):
        wave = np.sin(2 * np.pi * frequency * time)
        stimuli.append(_stimulus(f"sine@{frequency:g}", frequency, wave, sine_base, sine_direction))
    return StimulusDesign(
        n_channels=int(low.shape[0]),
        low=_frozen(low),
        high=_frozen(high),
        main_frequency=main,
        spectrum_frequencies=_frozen(spectrum_f),
        spectrum_power=_frozen(spectrum_p),
        token=chosen,
        steps=steps,
        change_step=change,
        transient=transient,
        stimuli=tuple(stimuli),
    )


def _frequency_list(frequencies: Any, window: int) -> list[float]:
    if isinstance(frequencies, (str, bytes)) or not isinstance(frequencies, (Sequence, np.ndarray)):
        raise TypeError(
            f"frequencies must be a list of floats (cycles per step), got "
            f"{type(frequencies).__name__}"
        )
    return [_check_frequency(f, f"frequencies[{i}]", window) for i, f in enumerate(frequencies)]


def _token_direction(
    model: RecurrentModel, inputs: _LayerInputs, token: str | int | None
) -> tuple[str | int, np.ndarray, np.ndarray]:
    """The chosen token, the baseline (mean input vector) and the direction to the token."""
    assert inputs.token_counts is not None
    if token is None:
        token = inputs.token_counts.most_common(1)[0][0]
    if not isinstance(token, (str, int, np.integer)) or isinstance(token, bool):
        raise TypeError(f"token must be a token string or an id, got {type(token).__name__}")
    baseline = np.concatenate(inputs.sequences).mean(axis=0)
    try:
        target = model.encode([token] if isinstance(token, str) else [int(token)])
    except (TypeError, ValueError) as error:
        raise ValueError(f"token {token!r} cannot be encoded by the model: {error}") from None
    direction = target[0].double().cpu().numpy() - baseline
    if not np.any(np.abs(direction) > FLAT):
        raise ValueError(
            f"token {token!r}'s embedding equals the mean input (the data is constant); choose "
            "another token or pass sequences with more than one token"
        )
    return _token_key(token), baseline, direction


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def _stimulus(
    name: str, frequency: float | None, wave: np.ndarray, base: np.ndarray, direction: np.ndarray
) -> Stimulus:
    unit = _unit(direction)
    coordinate = float(base @ unit) + wave * float(np.linalg.norm(direction))
    return Stimulus(
        name,
        "step" if frequency is None else "sine",
        frequency,
        _frozen(wave),
        _frozen(np.asarray(base, np.float64)),
        _frozen(np.asarray(direction, np.float64)),
        _frozen(coordinate),
    )


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.float64, copy=True)
    array.flags.writeable = False
    return array


# ---------------------------------------------------------------------------------- entry point


def characterize(
    model: Any,
    *,
    layer: int = 0,
    sequences: Any = None,
    design: StimulusDesign | None = None,
    steps: int = 1000,
    frequencies: Sequence[float] | None = None,
    main_frequency: float | None = None,
    token: str | int | None = None,
    transient: int | None = None,
) -> Response:
    """Characterize the step and sine responses of every isolated cell of a layer.

    The response characterization of Hasani et al. (2019) [1]_, section IV: every cell is cut
    out as its own one-cell system, driven by a step and by sinusoids designed from the data,
    and measured (initial, final and delta response, settling time, amplitude, frequency,
    correlation). How a cell is cut out (:func:`isolate`): an LSTM, GRU or RNN cell keeps its
    own recurrent weight and drops the others'; the cells of a MinGRU, a MinLSTM (Feng et al.
    2024 [2]_) and a Mamba layer (its SSM channels; Gu & Dao 2023 [3]_) read no other cell's
    state, so their layer is simulated, or driven, as it is and each cell read from it.

    Parameters
    ----------
    model : RecurrentModel
        An nn.LSTM, nn.GRU, nn.RNN, MinGRU, MinLSTM or Mamba core. A user cell is refused
        with a TypeError: its step is opaque, so its cells cannot be cut out.
    layer : int
        The layer whose cells are characterized. A cell's output is ``h`` (an LSTM's
        ``o * tanh(c)``), and for a Mamba channel its gated SSM output ``y`` (the
        ``kind`` of the result; the module docstring says why).
    sequences : TaskData, Trace, array or list of sequences
        The training inputs the stimuli are designed from (see :func:`design_stimuli`).
    design : StimulusDesign, optional
        Stimuli designed already (e.g. the same for several networks); then ``sequences``,
        ``steps``, ``frequencies``, ``main_frequency``, ``token`` and ``transient`` are unused.
    steps, frequencies, main_frequency, token, transient
        Passed to :func:`design_stimuli`.

    Returns
    -------
    Response
        The metric table (cell x metric), the raw curves, the stimuli.

    Raises
    ------
    TypeError
        For a user cell (see :func:`isolate`).

    References
    ----------
    .. [1] Hasani, R., Amini, A., Lechner, M., Naser, F., Grosu, R., & Rus, D. (2019). Response
       characterization for auditing cell dynamics in long short-term memory networks.
       International Joint Conference on Neural Networks (IJCNN 2019).
       doi:10.1109/IJCNN.2019.8851954. arXiv:1809.03864.
    .. [2] Feng, L., Tung, F., Ahmed, M. O., Bengio, Y., & Hajimirsadeghi, H. (2024). Were
       RNNs all we needed? arXiv:2410.01201.
    .. [3] Gu, A., & Dao, T. (2023). Mamba: Linear-time sequence modeling with selective state
       spaces. arXiv:2312.00752.

    Examples
    --------
    >>> from rnn_widgets import zoo
    >>> response = characterize(zoo.load("co2_lstm"), sequences=zoo.data("co2_lstm", "train"))
    >>> response.summary()["settling_time"]  # doctest: +SKIP

    """
    model = as_model(model)
    layer = model.check_layer(layer=layer)
    cells = isolate(model, layer=layer)
    if design is None:
        design = design_stimuli(
            model,
            sequences,
            layer=layer,
            steps=steps,
            frequencies=frequencies,
            main_frequency=main_frequency,
            token=token,
            transient=transient,
        )
    elif not isinstance(design, StimulusDesign):
        raise TypeError(f"design must be a StimulusDesign, got {type(design).__name__}")
    elif design.n_channels != model.input_size(layer=layer):
        raise ValueError(
            f"design has {design.n_channels} input channels but layer {layer} reads "
            f"{model.input_size(layer=layer)}; design the stimuli for this model and layer"
        )
    outputs = simulate(cells, design.stimuli)
    names, values = measure(outputs, design)
    outputs.flags.writeable = False
    values.flags.writeable = False
    kind = cells.kind if isinstance(cells, DrivenLayer) else "h"
    return Response(names, values, outputs, design, model.family, layer, cells.cells, kind)


# ---------------------------------------------------------------------------------- capacity


@dataclass(frozen=True, eq=False)
class CapacitySweep:
    """Networks of several sizes trained on one task, each characterized (Hasani et al.'s Fig. 5).

    Fig. 5 of Hasani et al. (2019) [1]_ compares the metrics' distributions across sizes.

    Attributes
    ----------
    recipe : str
        The zoo recipe whose task, training and seed every size shares.
    sizes : tuple of int
    responses : tuple of Response
        One per size, all driven by the same stimuli.
    task_metrics : tuple of dict
        Each network's held-out figures (the recipe's metric).

    References
    ----------
    .. [1] Hasani, R., Amini, A., Lechner, M., Naser, F., Grosu, R., & Rus, D. (2019). Response
       characterization for auditing cell dynamics in long short-term memory networks.
       International Joint Conference on Neural Networks (IJCNN 2019).
       doi:10.1109/IJCNN.2019.8851954. arXiv:1809.03864.

    """

    recipe: str
    sizes: tuple[int, ...]
    responses: tuple[Response, ...]
    task_metrics: tuple[dict[str, float], ...]

    def trend(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, std)`` of one metric per size, each shape (n_sizes,)."""
        summaries = [response.summary()[metric] for response in self.responses]
        return np.array([m for m, _ in summaries]), np.array([s for _, s in summaries])

    def plot(self, metric: str = "settling_time") -> Any:
        """One metric's mean over the cells against network size, ± one std (a bqplot Figure).

        Parameters
        ----------
        metric : str
            A name of the responses' ``metric_names``.

        Returns
        -------
        bqplot.Figure
            Its line mark holds :meth:`trend`'s mean over ``sizes`` (a logarithmic axis).

        """
        from .._figures import line_chart

        mean, std = self.trend(metric)
        return line_chart(
            np.asarray(self.sizes),
            {f"mean {metric}": mean},
            spreads={f"mean {metric}": std},
            log_x=True,
            title=f"{metric} by network size ({self.recipe})",
            x_label="cells",
            y_label=metric,
        )


def default_cache_dir() -> Path:
    """Where trained sweep networks are kept: ``$XDG_CACHE_HOME/rnn_widgets/capacity``."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "rnn_widgets" / "capacity"


def capacity_sweep(
    recipe: str = "digits_lstm",
    sizes: Sequence[int] = (32, 64, 128, 256),
    *,
    training_steps: int | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    steps: int = 1000,
    frequencies: Sequence[float] | None = None,
) -> CapacitySweep:
    """Train networks of several sizes on one zoo task (fixed seed) and characterize each.

    The capacity study of Hasani et al. (2019) [1]_, Fig. 5.

    Parameters
    ----------
    recipe : str
        A zoo recipe (``"digits_lstm"``, ``"co2_lstm"``, ...): task, training, seed.
    sizes : sequence of int
        Cells per network.
    training_steps : int, optional
        Optimiser steps per network; default the recipe's. The recipe's own size with its
        own steps is the shipped model, used as it is. Every other size is trained by the
        recipe itself (``Recipe.train``: all its fields, state noise, embedding and core decay
        and forget bias included), with only ``hidden`` and the steps replaced.
    cache_dir : path, optional
        Trained weights are kept here (default :func:`default_cache_dir`), keyed by recipe,
        size and the fingerprint of every training field (``Recipe.fingerprint``), so a
        second sweep trains nothing and a changed recipe never reads another's weights.
    progress : bool
        Show a progress bar over the sizes (and the training).
    steps, frequencies
        Passed to :func:`design_stimuli`; one design (from the recipe's training data) is
        used for every size.

    Returns
    -------
    CapacitySweep

    References
    ----------
    .. [1] Hasani, R., Amini, A., Lechner, M., Naser, F., Grosu, R., & Rus, D. (2019). Response
       characterization for auditing cell dynamics in long short-term memory networks.
       International Joint Conference on Neural Networks (IJCNN 2019).
       doi:10.1109/IJCNN.2019.8851954. arXiv:1809.03864.

    """
    if not isinstance(recipe, str) or recipe not in zoo.RECIPES:
        raise ValueError(f"recipe must be one of {sorted(zoo.RECIPES)}, got {recipe!r}")
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence) or not sizes:
        raise TypeError("sizes must be a non-empty list of ints, e.g. (32, 64, 128, 256)")
    sizes = tuple(as_int(size, f"sizes[{i}]", minimum=1) for i, size in enumerate(sizes))
    shipped = zoo.RECIPES[recipe]
    n_steps = (
        shipped.steps
        if training_steps is None
        else as_int(training_steps, "training_steps", minimum=1)
    )
    cache = default_cache_dir() if cache_dir is None else Path(cache_dir)
    train_data = shipped.train_data()
    responses: list[Response] = []
    metrics: list[dict[str, float]] = []
    design: StimulusDesign | None = None
    for size in tqdm(sizes, desc=f"capacity sweep {recipe}", disable=not progress):
        chosen = dataclasses.replace(shipped, hidden=size, steps=n_steps)
        path = cache / f"{recipe}_{size}_{chosen.fingerprint()}.pt"
        if (size, n_steps) == (shipped.hidden, shipped.steps):
            network = zoo.network(recipe)
        elif path.exists():
            network = zoo.Network(chosen.spec(train_data))
            network.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            network.eval()
        else:
            network = chosen.train(train_data, progress=progress).network
            cache.mkdir(parents=True, exist_ok=True)
            torch.save(network.state_dict(), path)
        model = network.recurrent_model(train_data.vocab)
        if design is None:
            design = design_stimuli(model, train_data, steps=steps, frequencies=frequencies)
        responses.append(characterize(model, design=design))
        metrics.append(shipped.metric(network, shipped.test_data()))
    return CapacitySweep(recipe, sizes, tuple(responses), tuple(metrics))


# ---------------------------------------------------------------------------------- validation


@dataclass(frozen=True, eq=False)
class RankingValidation:
    """Ablation of the cells ranked highest by response metrics, against random cells.

    The validation by ablation of Hasani et al. (2019) [1]_, Fig. 4.

    Attributes
    ----------
    by : tuple of str
        The metrics the cells were ranked by.
    ablations : mapping of str to Ablation
        For each metric, what :func:`rnn_widgets.analysis.ablate` measured: the task
        metric with the top-k ranked cells ablated and with k random cells (several draws).

    References
    ----------
    .. [1] Hasani, R., Amini, A., Lechner, M., Naser, F., Grosu, R., & Rus, D. (2019). Response
       characterization for auditing cell dynamics in long short-term memory networks.
       International Joint Conference on Neural Networks (IJCNN 2019).
       doi:10.1109/IJCNN.2019.8851954. arXiv:1809.03864.

    """

    by: tuple[str, ...]
    ablations: Mapping[str, Any] = field(default_factory=dict)


def validate_ranking(
    model: Any,
    response: Response,
    sequences: Any,
    metric: Callable[[RunResult], float],
    *,
    by: Sequence[str] = ("amplitude", "delta"),
    ks: Sequence[int] = (1, 5, 10, 20),
    modes: Sequence[str] = ("zero",),
    random_draws: int = 5,
    seed: int = 0,
    progress: bool = True,
) -> RankingValidation:
    """Ablate the cells a metric ranks highest against random cells (Hasani et al.'s Fig. 4).

    The validation by ablation of Hasani et al. (2019) [1]_: if a response metric ranks the
    cells the task depends on, ablating the top-ranked cells costs more than random ones.

    Parameters
    ----------
    model : RecurrentModel
        The model ``response`` characterized.
    response : Response
        Its characterization, from :func:`characterize`.
    sequences : sequence or batch
        What the task metric is measured on (as for ``RecurrentModel.run``).
    metric : callable (RunResult) -> float
        The task metric of a run.
    by : sequence of str
        Metrics to rank by (``delta`` by its absolute value, see :meth:`Response.ranking`).
    ks, modes, random_draws, seed, progress
        Passed to the shared ablation helper (:func:`rnn_widgets.analysis.ablate`).

    Returns
    -------
    RankingValidation

    References
    ----------
    .. [1] Hasani, R., Amini, A., Lechner, M., Naser, F., Grosu, R., & Rus, D. (2019). Response
       characterization for auditing cell dynamics in long short-term memory networks.
       International Joint Conference on Neural Networks (IJCNN 2019).
       doi:10.1109/IJCNN.2019.8851954. arXiv:1809.03864.

    """
    from ._ablate import ablate

    model = as_model(model)
    if not isinstance(response, Response):
        raise TypeError(
            f"response must be a Response from characterize, got {type(response).__name__}"
        )
    if response.n_cells != model.n_cells(layer=response.layer):
        raise ValueError(
            f"response has {response.n_cells} cells but layer {response.layer} of the model has "
            f"{model.n_cells(layer=response.layer)}; pass the model that was characterized"
        )
    if not callable(metric):
        raise TypeError("metric must be a callable taking a RunResult and returning a float")
    if isinstance(by, str):
        by = (by,)
    by = tuple(by)
    for name in by:
        _metric_index(response.metric_names, name)
    results = {}
    for name in tqdm(by, desc="validate ranking", disable=not progress or len(by) < 2):
        results[name] = ablate(
            model,
            sequences,
            metric,
            response.ranking(name),
            layer=response.layer,
            ks=tuple(ks),
            modes=tuple(modes),
            random_draws=random_draws,
            seed=seed,
            progress=progress,
        )
    return RankingValidation(by, MappingProxyType(results))
