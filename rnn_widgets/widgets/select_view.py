"""`SelectView`: hidden-state parallel coordinates over the tokens of a window (LSTMVis).

The kernel sends only the window the view shows (its tokens and a float32 buffer of shape
(window, n_cells)); the browser draws it on a canvas and answers with gestures: a scroll
sets ``window_start``, the threshold drag, hover, cell clicks and the token brush set fields
of the shared :class:`Selection`. The wire format is described in
``docs/select_view_contract.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets
from ipywidgets import widget_serialization

from .._validation import as_int
from ..trace import Trace
from ._buffers import packed
from .selection import Selection

__all__ = ["SelectView"]

_STATIC = Path(__file__).resolve().parent.parent / "static"


def _asset(name: str) -> Path | str:
    """The built front-end file, or an empty stand-in when the bundle was never built.

    anywidget reads the file when the class is created; the stand-in keeps
    ``import rnn_widgets`` working in an unbuilt source checkout (the analysis API needs no
    front end), and the view's constructor then says how to build it.
    """
    path = _STATIC / name
    return path if path.is_file() else ""


def _require_bundle(asset: object, name: str) -> None:
    if isinstance(asset, str) and not asset:
        raise RuntimeError(
            f"the front-end bundle {name} is missing from {_STATIC}. In a source checkout, "
            "build it with `npm --prefix js ci && npm --prefix js run build` (or `./run build`) "
            "and restart the kernel; installed wheels always include it"
        )


class SelectView(anywidget.AnyWidget):
    """Hidden-state parallel coordinates of a trace, linked through a :class:`Selection`.

    One line per cell of the selected layer and kind, over the tokens of a window that
    scrolls through the trace and jumps between sequences. Drag the dashed threshold line
    to set ``selection.threshold``; click a line to toggle its cell in ``selection.cells``;
    drag across the tokens to set ``selection.start`` / ``selection.stop``.

    Parameters
    ----------
    trace : Trace
        The recorded states to show.
    selection : Selection, optional
        The selection shared with other views; a new one is made when omitted.
    window_size : int
        How many steps are shown at once (default 40).
    height : int
        The plot's height in pixels (default 300).

    Examples
    --------
    >>> view = SelectView(trace)                    # doctest: +SKIP
    >>> view.selection.threshold = 0.5              # doctest: +SKIP

    """

    _esm = _asset("select_view.js")
    _css = _asset("select_view.css")

    selection = traitlets.Instance(Selection).tag(sync=True, **widget_serialization)
    window_start = traitlets.Int(0).tag(sync=True)
    window_size = traitlets.Int(40).tag(sync=True)
    height = traitlets.Int(300).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    _window = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    _layers = traitlets.List().tag(sync=True)
    _n_steps = traitlets.Int(0).tag(sync=True)
    _n_sequences = traitlets.Int(0).tag(sync=True)

    def __init__(
        self,
        trace: Trace,
        selection: Selection | None = None,
        *,
        window_size: int = 40,
        height: int = 300,
        **kwargs: Any,
    ) -> None:
        _require_bundle(type(self)._esm, "select_view.js")
        if not isinstance(trace, Trace):
            raise TypeError(
                f"trace must be an rnn_widgets.Trace, got {type(trace).__name__}; "
                "build one with Trace.from_arrays(tokens, states)"
            )
        if selection is None:
            first = trace.layers[0]
            selection = Selection(layer=first, kind=trace.kinds(first)[0])
        elif not isinstance(selection, Selection):
            raise TypeError(f"selection must be an rnn_widgets.Selection, got {type(selection)}")
        window_size = as_int(window_size, "window_size", minimum=1)
        height = as_int(height, "height", minimum=50)
        self._trace = trace
        self._following_scroll = False
        super().__init__(selection=selection, window_size=window_size, height=height, **kwargs)
        self._describe_trace()
        self.selection.observe(self._on_selection, names=["layer", "kind", "sequence"])
        self.observe(self._on_window_request, names=["window_start", "window_size"])
        self._scroll_to_sequence(self.selection.sequence)
        self._refresh()

    # ------------------------------------------------------------------ public API

    @property
    def trace(self) -> Trace:
        """The trace shown; set it to show another one with the same selection."""
        return self._trace

    @trace.setter
    def trace(self, trace: Trace) -> None:
        if not isinstance(trace, Trace):
            raise TypeError(f"trace must be an rnn_widgets.Trace, got {type(trace).__name__}")
        self._trace = trace
        with self.hold_sync():
            self._describe_trace()
            self._refresh()

    @property
    def window(self) -> tuple[int, int]:
        """The ``(start, stop)`` steps currently shown."""
        start = self._clamped_start(self.window_start)
        return start, min(start + self.window_size, self._trace.n_steps)

    def scroll_to(self, step: int) -> None:
        """Scroll so that ``step`` is visible, about a quarter from the left edge."""
        step = as_int(step, "step", minimum=0)
        if step >= self._trace.n_steps:
            raise ValueError(f"step must be < n_steps ({self._trace.n_steps}), got {step}")
        self.window_start = self._clamped_start(step - self.window_size // 4)

    def close(self) -> None:
        """Close the view and stop listening to the shared selection."""
        selection = self._trait_values.get("selection")  # absent if __init__ failed early
        if selection is not None:
            selection.unobserve(self._on_selection, names=["layer", "kind", "sequence"])
        super().close()

    # ------------------------------------------------------------------ kernel side of gestures

    def _on_selection(self, change: dict[str, Any]) -> None:
        if change["name"] == "sequence" and not self._following_scroll:
            self._scroll_to_sequence(change["new"])
        self._refresh()

    def _on_window_request(self, change: dict[str, Any]) -> None:
        if change["name"] == "window_size" and change["new"] < 1:
            self.window_size = 1
            return
        clamped = self._clamped_start(self.window_start)
        if clamped != self.window_start:
            self.window_start = clamped  # re-enters this handler with a valid start
            return
        focus = self._sequence_in_focus()
        if focus != self.selection.sequence:
            self._following_scroll = True  # the focus moves with the window, not vice versa
            try:
                self.selection.sequence = focus  # its observer refreshes this view
            finally:
                self._following_scroll = False
            return
        self._refresh()

    def _sequence_in_focus(self) -> int:
        """The selected sequence while any of it is visible, else the one at the left edge."""
        start, stop = self.window
        current = self.selection.sequence
        if 0 <= current < self._trace.n_sequences:
            first, last = self._trace.sequence_range(current)
            if first < stop and start < last:
                return current
        return int(self._trace.sequence_of(start))

    def _scroll_to_sequence(self, sequence: int) -> None:
        """Bring the start of ``sequence`` into view unless it is visible already."""
        if not 0 <= sequence < self._trace.n_sequences:
            return  # _refresh reports the bad value in place
        first = self._trace.sequence_range(sequence)[0]
        start, stop = self.window
        if not start <= first < stop:
            self.window_start = self._clamped_start(first)

    # ------------------------------------------------------------------ what the browser draws

    def _describe_trace(self) -> None:
        trace = self._trace
        self._layers = [
            {"layer": layer, "kinds": list(trace.kinds(layer)), "n_cells": trace.n_cells(layer)}
            for layer in trace.layers
        ]
        self._n_steps = trace.n_steps
        self._n_sequences = trace.n_sequences

    def _clamped_start(self, start: int) -> int:
        return max(0, min(int(start), self._trace.n_steps - self.window_size))

    def _refresh(self) -> None:
        """Recompute the window; show a bad selection as an error in place, never raise."""
        try:
            window = self._window_payload()
        except (ValueError, TypeError) as exc:
            with self.hold_sync():
                self.error = str(exc)
                self._window = None
            return
        with self.hold_sync():
            self.error = ""
            self._window = window

    def _window_payload(self) -> dict[str, Any]:
        trace, selection = self._trace, self.selection
        if not 0 <= selection.sequence < trace.n_sequences:
            raise ValueError(
                f"selection.sequence is {selection.sequence} but the trace has sequences "
                f"0 .. {trace.n_sequences - 1}"
            )
        states = trace.states(selection.layer, selection.kind)
        start, stop = self.window
        steps = np.arange(start, stop)
        sequences = trace.sequence_of(steps)
        positions = steps - trace.sequence_bounds[sequences, 0]
        return {
            "start": start,
            "tokens": trace.tokens[start:stop],
            "values": packed(states[start:stop]),
            "sequence_starts": packed(trace.sequence_starts_in(start, stop), "uint32"),
            "sequence": int(sequences[0]),
            "positions": packed(positions, "uint32"),
            "value_range": list(trace.value_range(selection.layer, selection.kind)),
            "layer": selection.layer,
            "kind": selection.kind,
        }
