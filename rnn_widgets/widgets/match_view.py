"""`MatchView`: the ranges of the corpus whose on-cells resemble the selection (LSTMVis 5.3).

The view holds the shared :class:`Selection`; whenever its cells, threshold, padding, layer
or kind reach the kernel (a gesture ended), it calls :func:`rnn_widgets.analysis.match` and
sends only what it draws: per match its rank data, the tokens of a context window around it
and, as one uint32 buffer, how many selected cells are on at each of those steps. A click on
a row asks the kernel to focus that sequence and scroll a linked :class:`SelectView` there.
The wire format is described in ``docs/match_view_contract.md``.

The view reproduces the Match View of LSTMVis (Strobelt et al. 2018 [1]_, section 5.3).

References
----------
.. [1] Strobelt, H., Gehrmann, S., Pfister, H., & Rush, A. M. (2018). LSTMVis: A tool for visual
   analysis of hidden state dynamics in recurrent neural networks. IEEE Transactions on
   Visualization and Computer Graphics, 24(1), 667-676. arXiv:1606.07461.
"""

from __future__ import annotations

from typing import Any

import anywidget
import numpy as np
import traitlets
from ipywidgets import widget_serialization

from .._validation import as_int
from ..analysis import MatchResult, match
from ..trace import Trace, as_trace
from ._assets import asset, require_bundle
from ._bounds import bounded_trait
from ._buffers import packed
from ._export import ImageExport
from .select_view import SelectView
from .selection import Selection, Subscriptions, unsubscribe

__all__ = ["MAX_CONTEXT", "MAX_TOP", "MatchView"]

#: What the view shows when no cell is selected yet: a hint (``hint``), not an error.
EMPTY_SELECTION = "Select cells to match: click lines in the SelectView or brush a range."

_SELECTION_FIELDS = ["cells", "threshold", "pad_before", "pad_after", "layer", "kind"]
#: The most rows the view sends. Each row carries its tokens with context and one count per
#: step; 1,000 rows are far more than anyone scrolls through (the ranking puts the best
#: first), while top=10**9 on a large corpus would send every candidate (hundreds of MB).
MAX_TOP = 1000
_TOP_WHY = "the most match rows a view sends"
#: The most context steps on each side of a match: 200 already run far past the width of a
#: row; 10**9 would send the whole sequence around every match.
MAX_CONTEXT = 200
_CONTEXT_WHY = "the most steps of context on each side of a match"


class MatchView(ImageExport, anywidget.AnyWidget):
    """The best matches of the selected cells over the whole trace, aligned at their start.

    One row per match, best first: its rank, ``shared / union`` (``|S1 ∩ S2|`` and
    ``|S1 ∪ S2|``), and its words with some context, aligned at the match's first word. Each
    word's background shows how many of the selected cells are on at that step, or the
    value of an annotation track chosen in the drop-down. Hovering a word sets
    ``selection.hovered_step``; clicking a row focuses its sequence (``selection.sequence``)
    and scrolls a linked :class:`SelectView` to it. Before any cell is selected the view shows
    a neutral hint (``hint``) saying how to select some; ``error`` is kept for what went
    wrong. It reproduces the Match View of LSTMVis
    (Strobelt et al. 2018 [1]_, section 5.3).

    Parameters
    ----------
    trace : Trace
        The recorded states searched.
    selection : Selection, optional
        The selection shared with other views. When omitted, the selection of
        ``select_view`` is used, else a new one is made.
    top : int
        How many matches to show (default 50), 1 .. :data:`MAX_TOP` (1,000).
    context : int
        Steps of context shown on each side of a match (default 5), 0 .. :data:`MAX_CONTEXT`
        (200). Past either bound a value set from Python raises; one set by the browser is
        clamped and ``message`` says so.
    min_length : int
        The shortest match, in steps (default 1).
    track : str, optional
        The name of an annotation track of ``trace`` that colours the words instead of the
        count of selected cells on.
    select_view : SelectView, optional
        A view of the same trace to scroll when a row is clicked (see :meth:`link`).

    References
    ----------
    .. [1] Strobelt, H., Gehrmann, S., Pfister, H., & Rush, A. M. (2018). LSTMVis: A tool for
       visual analysis of hidden state dynamics in recurrent neural networks. IEEE Transactions
       on Visualization and Computer Graphics, 24(1), 667-676. arXiv:1606.07461.

    Examples
    --------
    >>> select = SelectView(trace)                          # doctest: +SKIP
    >>> matches = MatchView(trace, select_view=select)      # doctest: +SKIP
    >>> select.selection.cells = [3, 17]                    # doctest: +SKIP
    >>> matches.result.matches[0].start                     # doctest: +SKIP

    """

    _esm = asset("match_view.js")
    _css = asset("match_view.css")

    selection = traitlets.Instance(Selection).tag(sync=True, **widget_serialization)
    top = traitlets.Int(50).tag(sync=True)
    context = traitlets.Int(5).tag(sync=True)
    min_length = traitlets.Int(1).tag(sync=True)
    track = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    navigate_to = traitlets.Int(None, allow_none=True).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    #: What the view shows in place of rows while there is nothing to match (no cell selected):
    #: a neutral hint, not an error.
    hint = traitlets.Unicode("").tag(sync=True)
    #: A notice that is not an error, shown above the rows (a size clamped to its bound).
    message = traitlets.Unicode("").tag(sync=True)
    _rows = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    _tracks = traitlets.List().tag(sync=True)

    def __init__(
        self,
        trace: Trace,
        *,
        selection: Selection | None = None,
        top: int = 50,
        context: int = 5,
        min_length: int = 1,
        track: str | None = None,
        select_view: SelectView | None = None,
        **kwargs: Any,
    ) -> None:
        require_bundle(type(self)._esm, "match_view.js")
        trace = as_trace(trace)
        if select_view is not None:
            _check_select_view(select_view, trace)
        if selection is None:
            if select_view is not None:
                selection = select_view.selection
            else:
                first = trace.layers[0]
                selection = Selection(layer=first, kind=trace.kinds(layer=first)[0])
        elif not isinstance(selection, Selection):
            raise TypeError(
                f"selection must be an rnn_widgets.Selection, got {type(selection).__name__}"
            )
        top = as_int(top, "top", minimum=1, maximum=MAX_TOP, why=_TOP_WHY)
        context = as_int(context, "context", minimum=0, maximum=MAX_CONTEXT, why=_CONTEXT_WHY)
        min_length = as_int(min_length, "min_length", minimum=1)
        if track is not None and not isinstance(track, str):
            raise TypeError(f"track must be a track name (str) or None, got {type(track).__name__}")
        self._trace = trace
        self._select_view: SelectView | None = None
        self._result: MatchResult | None = None
        self._computed: tuple[Any, ...] | None = None  # the inputs of the rows shown
        self._ready = False
        super().__init__(
            selection=selection,
            top=top,
            context=context,
            min_length=min_length,
            track=track,
            _tracks=list(trace.tracks),
            **kwargs,
        )
        if select_view is not None:
            self.link(select_view)
        self._subscriptions = Subscriptions()
        self._subscriptions.observe(self.selection, self._on_selection, _SELECTION_FIELDS)
        self.observe(self._on_option, names=["top", "context", "min_length", "track"])
        self.observe(self._on_navigate, names=["navigate_to"])
        self._ready = True
        self._refresh()

    # ------------------------------------------------------------------ validation

    @traitlets.validate("top")
    def _valid_top(self, proposal: dict[str, Any]) -> int:
        return bounded_trait(self, proposal, maximum=MAX_TOP, why=_TOP_WHY, notice="message")

    @traitlets.validate("context")
    def _valid_context(self, proposal: dict[str, Any]) -> int:
        return bounded_trait(
            self, proposal, maximum=MAX_CONTEXT, why=_CONTEXT_WHY, notice="message", minimum=0
        )

    @traitlets.validate("min_length")
    def _at_least_one(self, proposal: dict[str, Any]) -> int:
        # A filter, not a size: a long min_length sends fewer rows, never more.
        return as_int(proposal["value"], "min_length", minimum=1)

    @traitlets.validate("track")
    def _known_track(self, proposal: dict[str, Any]) -> str | None:
        value = proposal["value"]
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise TypeError(f"track must be a track name (str) or None, got {type(value).__name__}")
        if value not in self._trace.tracks:
            known = list(self._trace.tracks) or "none; add one with trace.with_track(...)"
            raise ValueError(f"track {value!r} is not a track of the trace; its tracks: {known}")
        return value

    # ------------------------------------------------------------------ public API

    @property
    def trace(self) -> Trace:
        """The trace searched."""
        return self._trace

    @property
    def result(self) -> MatchResult | None:
        """The last :class:`~rnn_widgets.analysis.MatchResult`, or None after an error."""
        return self._result

    @property
    def select_view(self) -> SelectView | None:
        """The linked :class:`SelectView` scrolled when a row is clicked, if any."""
        return self._select_view

    def link(self, select_view: SelectView) -> None:
        """Scroll ``select_view`` to a match when its row is clicked.

        Parameters
        ----------
        select_view : SelectView
            A view of the same trace that shares this view's selection.

        """
        _check_select_view(select_view, self._trace)
        if select_view.selection is not self.selection:
            raise ValueError(
                "select_view must share this MatchView's selection; build the MatchView "
                "with MatchView(trace, selection=select_view.selection, select_view=select_view)"
            )
        self._select_view = select_view

    def refresh(self) -> None:
        """Recompute the matches now (they are recomputed on every change anyway)."""
        self._refresh(force=True)

    def close(self) -> None:
        """Close the view and stop listening to the shared selection."""
        unsubscribe(self)
        super().close()

    # ------------------------------------------------------------------ kernel side

    def _on_selection(self, change: dict[str, Any]) -> None:
        self._refresh()

    def _on_option(self, change: dict[str, Any]) -> None:
        self._refresh()

    def _on_navigate(self, change: dict[str, Any]) -> None:
        step = change["new"]
        if step is None:
            return
        try:
            if 0 <= step < self._trace.n_steps:
                self.selection.sequence = int(self._trace.sequence_of(step))
                if self._select_view is not None:
                    self._select_view.scroll_to(step)
        finally:
            self.navigate_to = None  # ready for the next click, even on the same row

    def _inputs(self) -> tuple[Any, ...]:
        s = self.selection
        return (
            s.cells,
            s.threshold,
            s.pad_before,
            s.pad_after,
            s.layer,
            s.kind,
            self.top,
            self.context,
            self.min_length,
            self.track,
        )

    def _refresh(self, *, force: bool = False) -> None:
        """Recompute the matches; show an empty or bad selection in place, never raise."""
        if not self._ready:
            return
        inputs = self._inputs()
        if inputs == self._computed and not force:
            return  # e.g. Selection.update fires once per field changed, all after the last
        self._computed = inputs
        if not self.selection.cells:  # nothing to match yet: say how, without an error
            self._result = None
            with self.hold_sync():
                self.error = ""
                self.hint = EMPTY_SELECTION
                self._rows = None
            return
        try:
            rows = self._payload()
        except (ValueError, TypeError) as exc:
            self._result = None
            with self.hold_sync():
                self.error = str(exc)
                self.hint = ""
                self._rows = None
            return
        with self.hold_sync():
            self.error = ""
            self.hint = ""
            self._rows = rows

    def _payload(self) -> dict[str, Any]:
        selection, trace = self.selection, self._trace
        # raises naming the layer or kind when unknown
        n_cells = trace.n_cells(layer=selection.layer, kind=selection.kind)
        if max(selection.cells) >= n_cells:
            raise ValueError(
                f"selected cells go up to {max(selection.cells)} but kind {selection.kind!r} "
                f"of layer {selection.layer} has {n_cells} cells (0 .. {n_cells - 1}); select "
                "cells of this kind"
            )
        result = match(
            trace,
            np.asarray(selection.cells, dtype=np.int64),  # a copy: the selection stays as is
            selection.threshold,
            selection.pad_before,
            selection.pad_after,
            top=self.top,
            min_length=self.min_length,
            layer=selection.layer,
            kind=selection.kind,
            context=self.context,
        )
        self._result = result
        bounds = trace.sequence_bounds
        offsets = np.zeros(len(result.matches) + 1, dtype=np.int64)
        rows = []
        for i, m in enumerate(result.matches):
            offsets[i + 1] = offsets[i] + len(m.counts)
            rows.append(
                {
                    "sequence": m.sequence,
                    "start": m.start,
                    "stop": m.stop,
                    "shared": m.shared,
                    "union": m.union,
                    "position": int(m.start - bounds[m.sequence, 0]),
                    "context_start": m.context_start,
                    "tokens": trace.tokens[m.context_start : m.context_stop],
                }
            )
        counts = (
            np.concatenate([m.counts for m in result.matches])
            if result.matches
            else np.zeros(0, dtype=np.int64)
        )
        return {
            "rows": rows,
            "counts": packed(counts, "uint32"),
            "offsets": packed(offsets, "uint32"),
            "n_selected": len(result.cells),
            "n_candidates": int(result.n_candidates),
            "track": self._track_payload(result),
        }

    def _track_payload(self, result: MatchResult) -> dict[str, Any] | None:
        if self.track is None:
            return None
        track = self._trace.tracks[self.track]
        windows = [track.values[m.context_start : m.context_stop] for m in result.matches]
        if track.label_type == "categorical":
            codes = np.concatenate(windows) if windows else np.zeros(0)
            return {
                "name": track.name,
                "label_type": "categorical",
                "values": packed(codes, "uint32"),
                "categories": list(track.categories),
            }
        values = np.concatenate(windows) if windows else np.zeros(0)
        return {
            "name": track.name,
            "label_type": "numeric",
            "values": packed(values, "float32"),
            "value_range": [float(track.values.min()), float(track.values.max())],
        }


def _check_select_view(select_view: Any, trace: Trace) -> None:
    if not isinstance(select_view, SelectView):
        raise TypeError(
            f"select_view must be an rnn_widgets.SelectView, got {type(select_view).__name__}"
        )
    if select_view.trace is not trace:
        raise ValueError(
            "select_view must show the same trace as the MatchView (its steps are the "
            "matches' steps); pass the trace the SelectView was built with"
        )
