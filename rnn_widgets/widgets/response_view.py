"""`ResponseView`: the response characterization of a layer's cells, linked through a Selection.

Three linked parts over one :class:`~rnn_widgets.analysis.Response` (the response
characterization of Hasani et al. 2019 [1]_, section IV):

* the step and sine responses of one cell (its input and its output over time, one panel
  per stimulus);
* the distribution over the cells of a chosen metric, as a sorted curve with the shown cell
  and the selected cells marked (a click selects the cell at that rank);
* a :class:`RelevanceBars` ranking the cells by the same metric (``|delta|`` for the delta
  response, coloured excitatory / inhibitory by its sign, as ``Response.ranking`` ranks).

All three hold the same :class:`Selection`: a bar clicked, a point clicked on the curve or
``selection.cells`` set from Python changes the cell whose curves are shown. The widget holds
no algorithm: it reads the response's arrays and sends only what is drawn, as float32 buffers
(the shown cell's curves over their windows, one metric vector). The wire format is described
in ``docs/response_view_contract.md``.

Why a composition (an ``ipywidgets.VBox`` of two synced widgets) rather than one widget: the
ranking is the shared :class:`RelevanceBars`, reused as it is rather than redrawn, and both
parts share the Selection's browser-side model, so a click in either updates the other's
marks without a kernel round trip.

References
----------
.. [1] Hasani, R., Amini, A., Lechner, M., Naser, F., Grosu, R., & Rus, D. (2019). Response
   characterization for auditing cell dynamics in long short-term memory networks. International
   Joint Conference on Neural Networks (IJCNN 2019). doi:10.1109/IJCNN.2019.8851954.
   arXiv:1809.03864.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import anywidget
import ipywidgets
import numpy as np
import traitlets
from ipywidgets import widget_serialization

from .._validation import as_int
from ..analysis import Response
from ._assets import asset, require_bundle
from ._bounds import bounded_height, check_height
from ._buffers import packed
from ._export import ImageExport, StackedImageExport
from .relevance_bars import RelevanceBars
from .selection import Selection, Subscriptions, unsubscribe

__all__ = ["ResponseCurves", "ResponseView"]

#: Steps shown before the step input changes, at least.
STEP_LEAD = 10
#: Steps shown after the change, at least; more when cells settle slower (3x the slowest).
STEP_TAIL = 30
#: Cycles of the sinusoid shown: the last ones, once the transient is over.
SINE_CYCLES = 6


class ResponseCurves(ImageExport, anywidget.AnyWidget):
    """The shown cell's step and sine responses and the distribution of one metric.

    The synced half of :class:`ResponseView` (which adds the ranking bars); use it alone
    for the curves without the bars. ``cell`` follows ``selection.cells`` on the response's
    layer: the cell most recently added to the selection (of several added at once, the one
    the metric ranks highest); when the shown cell leaves the selection, the first remaining
    one in the ranking. With no cell of the layer selected, the cell shown stays. Only a
    selection of a kind in ``cell_kinds`` is followed: a Mamba response's cells are channels
    (its kind ``"y"``), while the block output ``h`` of the same layer has other units.

    Parameters
    ----------
    response : Response
        From :func:`rnn_widgets.analysis.characterize`.
    selection : Selection, optional
        The selection shared with other views; a new one on the response's layer when omitted.
    metric : str
        A name of ``response.metric_names`` whose distribution is drawn.
    cell_kinds : sequence of str, optional
        The kinds whose cells are the response's cells (a trace's cell group of
        ``response.kind``: ``trace.cell_group``). Default: every kind for a response of
        ``"h"`` (an LSTM's, GRU's or RNN's kinds share cells), else ``response.kind`` alone.
    height : int
        The height of the distribution plot in pixels (the curve panels are 0.8 of it),
        80 .. ``MAX_HEIGHT`` (4000): past it, set from Python it raises; set by the browser
        it is clamped and ``message`` says so.

    """

    _esm = asset("response_view.js")
    _css = asset("response_view.css")

    selection = traitlets.Instance(Selection).tag(sync=True, **widget_serialization)
    #: The metric whose distribution is drawn; the picker sets it.
    metric = traitlets.Unicode("settling_time").tag(sync=True)
    #: The cell whose curves are drawn (a cell index of the layer).
    cell = traitlets.Int(0).tag(sync=True)
    layer = traitlets.Int(0).tag(sync=True)
    height = traitlets.Int(200).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    #: A notice that is not an error, shown in place (a size clamped to its bound).
    message = traitlets.Unicode("").tag(sync=True)
    _metrics = traitlets.List(traitlets.Unicode()).tag(sync=True)
    _curves = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    _distribution = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)

    def __init__(
        self,
        response: Response,
        *,
        selection: Selection | None = None,
        metric: str = "settling_time",
        cell_kinds: Sequence[str] | None = None,
        height: int = 200,
        **kwargs: Any,
    ) -> None:
        require_bundle(type(self)._esm, "response_view.js")
        self._response = _check_response(response)
        metric = _known_metric(metric, response)
        selection = _check_selection(selection, response.layer, response.kind)
        self._cell_kinds = _cell_kinds(cell_kinds, response)
        height = check_height(height, minimum=80)
        self._windows = _windows(response)
        self._known_cells = frozenset(response.cells.tolist())
        super().__init__(
            selection=selection,
            metric=metric,
            layer=response.layer,
            height=height,
            cell=int(response.cells[0]),
            _metrics=list(response.metric_names),
            **kwargs,
        )
        chosen = self._cells_on_layer(selection.cells)
        if chosen and self._follows():
            self.cell = self._best_ranked(chosen)
        self._subscriptions = Subscriptions()
        self._subscriptions.observe(selection, self._on_cells, ["cells"])
        self._subscriptions.observe(selection, self._on_layer, ["layer", "kind"])
        self.observe(self._on_metric, names=["metric"])
        self.observe(self._on_cell, names=["cell"])
        self._send_distribution()
        self._send_curves()

    @traitlets.validate("cell")
    def _valid_cell(self, proposal: dict[str, Any]) -> int:
        cell = as_int(proposal["value"], "cell", minimum=0)
        if cell not in self._known_cells:
            raise ValueError(
                f"cell {cell} was not characterized; choose one of the response's cells "
                f"({int(self._response.cells.min())} .. {int(self._response.cells.max())})"
            )
        return cell

    @traitlets.validate("height")
    def _valid_height(self, proposal: dict[str, Any]) -> int:
        return bounded_height(self, proposal, minimum=80)

    @traitlets.validate("layer")
    def _fixed_layer(self, proposal: dict[str, Any]) -> int:
        if proposal["value"] != self._response.layer:
            raise ValueError(f"layer is the response's layer ({self._response.layer})")
        return proposal["value"]

    @property
    def response(self) -> Response:
        """The response drawn (never modified)."""
        return self._response

    def close(self) -> None:
        """Close the widget and stop following the (shared) selection."""
        unsubscribe(self)
        super().close()

    # ------------------------------------------------------------------ selection -> cell

    def _cells_on_layer(self, cells: Iterable[int]) -> list[int]:
        return [int(c) for c in cells if int(c) in self._known_cells]

    def _follows(self) -> bool:
        """Whether the selection names this response's cells (its layer, a kind of them)."""
        return self.selection.layer == self._response.layer and (
            self._cell_kinds is None or self.selection.kind in self._cell_kinds
        )

    def _best_ranked(self, cells: list[int]) -> int:
        """Of several cells, the one the metric ranks highest (the order of the bars)."""
        try:
            ranking = self._response.ranking(self.metric).tolist()
        except (TypeError, ValueError):  # an unknown metric is shown as an error in place
            return min(cells)
        position = {cell: rank for rank, cell in enumerate(ranking)}
        return min(cells, key=lambda cell: position[cell])

    def _on_cells(self, change: dict[str, Any]) -> None:
        if not self._follows():
            return
        now = self._cells_on_layer(change["new"])
        before = set(change["old"])
        added = [cell for cell in now if cell not in before]
        if added:
            self.cell = self._best_ranked(added)
        elif now and self.cell not in now:
            self.cell = self._best_ranked(now)

    def _on_layer(self, change: dict[str, Any]) -> None:
        if not self._follows():
            return
        now = self._cells_on_layer(self.selection.cells)
        if now and self.cell not in now:
            self.cell = self._best_ranked(now)

    # ------------------------------------------------------------------ what the browser draws

    def _on_metric(self, change: dict[str, Any]) -> None:
        self._send_distribution()

    def _on_cell(self, change: dict[str, Any]) -> None:
        self._send_curves()

    def _send_distribution(self) -> None:
        """Send the metric vector; an unknown metric is shown in place, never raised."""
        try:
            payload = _distribution_payload(self._response, self.metric)
        except (TypeError, ValueError) as exc:
            with self.hold_sync():
                self.error = str(exc)
                self._distribution = None
            return
        with self.hold_sync():
            self.error = ""
            self._distribution = payload

    def _send_curves(self) -> None:
        self._curves = _curves_payload(self._response, self.cell, self._windows)


class ResponseView(StackedImageExport, ipywidgets.VBox):
    """A cell's step and sine responses, a metric's distribution and the cells ranked by it.

    The curves and the distribution (:class:`ResponseCurves`, ``view.response_curves``) sit
    above a :class:`RelevanceBars` (``view.relevance_bars``; each part named for its class, as
    in the :class:`Explorer`) holding one score vector per metric (``|delta|`` for ``delta``;
    a metric undefined for a flat cell scores 0 there: a flat output has no correlation and
    no frequency but DC). Both hold one :class:`Selection`: clicking a bar or
    a point of the distribution selects that cell and shows its curves; setting
    ``selection.cells`` from Python does the same. Choosing a metric in either picker
    switches both. The response characterization shown is that of Hasani et al. (2019) [1]_.

    Parameters
    ----------
    response : Response
        From :func:`rnn_widgets.analysis.characterize`; read, never modified.
    selection : Selection, optional
        The selection shared with other views (a :class:`SelectView` of a trace of the same
        model shows the same cells); a new one on the response's layer when omitted.
    metric : str
        The metric drawn and ranked by (default ``"settling_time"``).
    cell_kinds : sequence of str, optional
        The kinds whose cells are the response's cells, as in :class:`ResponseCurves`; a bar
        clicked selects its cell as the first of them.
    height : int
        The height of the distribution plot and of the bars, in pixels (default 200).

    References
    ----------
    .. [1] Hasani, R., Amini, A., Lechner, M., Naser, F., Grosu, R., & Rus, D. (2019). Response
       characterization for auditing cell dynamics in long short-term memory networks.
       International Joint Conference on Neural Networks (IJCNN 2019).
       doi:10.1109/IJCNN.2019.8851954. arXiv:1809.03864.

    Examples
    --------
    >>> from rnn_widgets import zoo
    >>> from rnn_widgets.analysis import characterize
    >>> response = characterize(zoo.load("co2_lstm"), sequences=zoo.data("co2_lstm", "train"))
    >>> view = ResponseView(response, metric="delta")  # doctest: +SKIP
    >>> view.relevance_bars.top(3); view.cell          # doctest: +SKIP

    """

    def __init__(
        self,
        response: Response,
        *,
        selection: Selection | None = None,
        metric: str = "settling_time",
        cell_kinds: Sequence[str] | None = None,
        height: int = 200,
        **kwargs: Any,
    ) -> None:
        response = _check_response(response)
        metric = _known_metric(metric, response)
        selection = _check_selection(selection, response.layer, response.kind)
        kinds = _cell_kinds(cell_kinds, response)
        height = check_height(height, minimum=80)
        curves = ResponseCurves(
            response, selection=selection, metric=metric, cell_kinds=kinds, height=height
        )
        scores, signs = _bar_scores(response)
        bars = RelevanceBars(
            scores,
            selection=selection,
            layer=response.layer,
            kind=response.kind if kinds is None else kinds[0],
            signs=signs,
            score_name=_score_name(response, metric),
            current=metric,
            height=max(height, 80),
        )
        super().__init__(children=[curves, bars], **kwargs)
        self.response_curves = curves
        self.relevance_bars = bars
        curves.observe(self._metric_from_curves, names=["metric"])
        bars.observe(self._metric_from_bars, names=["current"])

    @property
    def response(self) -> Response:
        """The response drawn (never modified)."""
        return self.response_curves.response

    @property
    def selection(self) -> Selection:
        """The Selection both parts share."""
        return self.response_curves.selection

    @property
    def metric(self) -> str:
        """The metric drawn and ranked by; set it to switch both parts."""
        return self.response_curves.metric

    @metric.setter
    def metric(self, name: str) -> None:
        self.response_curves.metric = name

    @property
    def cell(self) -> int:
        """The cell whose curves are shown; set it to show another (the selection stays)."""
        return self.response_curves.cell

    @cell.setter
    def cell(self, cell: int) -> None:
        self.response_curves.cell = cell

    @property
    def error(self) -> str:
        """The message shown in place of the plots, or ``""``."""
        return self.response_curves.error

    def _metric_from_curves(self, change: dict[str, Any]) -> None:
        name = change["new"]
        if name in self.relevance_bars.names:
            with self.relevance_bars.hold_sync():
                self.relevance_bars.current = name
                self.relevance_bars.score_name = _score_name(self.response, name)

    def _metric_from_bars(self, change: dict[str, Any]) -> None:
        self.response_curves.metric = change["new"]


# ---------------------------------------------------------------------------------- checks


def _check_response(response: Any) -> Response:
    if not isinstance(response, Response):
        raise TypeError(
            f"response must be a Response from rnn_widgets.analysis.characterize, got "
            f"{type(response).__name__}"
        )
    n_stimuli, steps, n_cells = response.outputs.shape
    if n_stimuli != len(response.stimuli) or n_cells != response.n_cells or steps < 2:
        raise ValueError(
            f"response is inconsistent: outputs of shape {response.outputs.shape} for "
            f"{len(response.stimuli)} stimuli and {response.n_cells} cells; pass the Response "
            "that characterize returned, unchanged"
        )
    return response


def _known_metric(metric: Any, response: Response) -> str:
    if not isinstance(metric, str):
        raise TypeError(f"metric must be a metric name (str), got {type(metric).__name__}")
    if metric not in response.metric_names:
        raise ValueError(
            f"metric {metric!r} is not one of the response's metrics {list(response.metric_names)}"
        )
    return metric


def _cell_kinds(cell_kinds: Any, response: Response) -> tuple[str, ...] | None:
    """The kinds naming the response's cells; None: every kind (see ``ResponseCurves``)."""
    if cell_kinds is None:
        return None if response.kind == "h" else (response.kind,)
    if isinstance(cell_kinds, str) or not isinstance(cell_kinds, Iterable):
        raise TypeError(
            f"cell_kinds must be a list of kinds such as ['h', 'c'], got {cell_kinds!r}"
        )
    kinds = tuple(cell_kinds)
    if not kinds or not all(isinstance(kind, str) and kind for kind in kinds):
        raise ValueError(f"cell_kinds must name at least one kind, got {cell_kinds!r}")
    return kinds


def _check_selection(selection: Any, layer: int, kind: str = "h") -> Selection:
    if selection is None:
        return Selection(layer=layer, kind=kind)
    if not isinstance(selection, Selection):
        raise TypeError(
            f"selection must be an rnn_widgets.Selection, got {type(selection).__name__}"
        )
    return selection


def _score_name(response: Response, metric: str) -> str:
    return f"|{metric}|" if response.ranks_by_absolute_value(metric) else metric


def _bar_scores(response: Response) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """One score vector per metric as the bars rank it, and the signs of the absolute ones."""
    scores: dict[str, np.ndarray] = {}
    signs: dict[str, np.ndarray] = {}
    for name in response.metric_names:
        values = np.nan_to_num(response.metric(name), nan=0.0)
        if response.ranks_by_absolute_value(name):
            signs[name] = np.sign(values)
            values = np.abs(values)
        scores[name] = values
    return scores, signs


# ---------------------------------------------------------------------------------- payloads


def _windows(response: Response) -> list[tuple[int, int]]:
    """The steps ``(start, stop)`` drawn of each stimulus.

    The step: from ``STEP_LEAD`` (or a third of the tail) before the change to three times the
    slowest settling time after it (at least ``STEP_TAIL``). A sinusoid: its last
    ``SINE_CYCLES`` cycles, where the metrics are measured.
    """
    design = response.design
    steps = design.steps
    windows = []
    for stimulus in response.stimuli:
        if stimulus.waveform == "step":
            settling = _slowest_settling(response)
            tail = max(STEP_TAIL, 3 * settling)
            lead = max(STEP_LEAD, tail // 3)
            windows.append(
                (max(0, design.change_step - lead), min(steps, design.change_step + tail))
            )
        else:
            length = math.ceil(SINE_CYCLES / float(stimulus.frequency or 1.0))
            windows.append((max(0, steps - length), steps))
    return windows


def _slowest_settling(response: Response) -> int:
    if "settling_time" not in response.metric_names:
        return 0
    settling = response.metric("settling_time")
    finite = settling[np.isfinite(settling)]
    return int(finite.max()) if finite.size else 0


def _curves_payload(
    response: Response, cell: int, windows: list[tuple[int, int]]
) -> dict[str, Any]:
    row = int(np.flatnonzero(response.cells == cell)[0])
    panels = []
    for index, (stimulus, (start, stop)) in enumerate(zip(response.stimuli, windows, strict=True)):
        panels.append(
            {
                "name": stimulus.name,
                "waveform": stimulus.waveform,
                "start": int(start),
                "change": response.design.change_step if stimulus.waveform == "step" else None,
                "inputs": packed(stimulus.inputs[start:stop], "float32"),
                "output": packed(response.outputs[index, start:stop, row], "float32"),
            }
        )
    return {
        "cell": int(cell),
        "names": list(response.metric_names),
        "values": packed(response.values[row], "float32"),
        "panels": panels,
    }


def _distribution_payload(response: Response, metric: str) -> dict[str, Any]:
    values = response.metric(_known_metric(metric, response))
    defined = np.flatnonzero(np.isfinite(values))
    ascending = defined[np.argsort(values[defined], kind="stable")]
    return {
        "metric": metric,
        "values": packed(values, "float32"),
        "cells": packed(response.cells, "uint32"),
        "order": packed(ascending, "uint32"),
    }
