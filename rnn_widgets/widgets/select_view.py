"""`SelectView`: hidden-state parallel coordinates over the tokens of a window (LSTMVis).

The kernel sends only the window the view shows (its tokens and a float32 buffer of shape
(window, n_cells)); the browser draws it on a canvas and answers with gestures: a scroll
sets ``window_start``, the threshold drag, hover, cell clicks and the token brush set fields
of the shared :class:`Selection`. The wire format is described in
``docs/select_view_contract.md``.

Label by example (issue 26): in labelling mode (``labelling``, a toolbar toggle) the token
brush adds step ranges to ``examples`` instead of selecting cells: positive ranges, and with
Shift negative ones. :meth:`SelectView.example_labels` turns them into per-step labels and a
mask for :func:`~rnn_widgets.analysis.score_cells`. The examples are a small JSON list (at most
:data:`MAX_EXAMPLES`), kept for the whole trace; the browser draws the parts in its window.

The view reproduces the Select View of LSTMVis (Strobelt et al. 2018 [1]_, section 5.2).

References
----------
.. [1] Strobelt, H., Gehrmann, S., Pfister, H., & Rush, A. M. (2018). LSTMVis: A tool for visual
   analysis of hidden state dynamics in recurrent neural networks. IEEE Transactions on
   Visualization and Computer Graphics, 24(1), 667-676. arXiv:1606.07461.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import anywidget
import ipywidgets
import numpy as np
import traitlets
from ipywidgets import widget_serialization

from .._validation import as_int, as_layer, clamp_int
from ..analysis import select_cells
from ..trace import Trace, as_trace
from ._assets import asset, require_bundle
from ._bounds import (
    BoundError,
    bounded_height,
    bounded_length,
    bounded_trait,
    check_height,
    from_front_end,
)
from ._buffers import packed
from ._export import ImageExport
from .selection import Selection, Subscriptions, clear_cells_of_another_group, unsubscribe

__all__ = ["MAX_EXAMPLES", "MAX_WINDOW_SIZE", "ExampleLabels", "SelectView", "check_examples"]

# The Selection fields that define the selected cells (LSTMVis: range + threshold + pattern).
_RANGE_FIELDS = ["start", "stop", "threshold", "pad_before", "pad_after", "layer", "kind"]
_MIN_COLUMN_WIDTH = 4
_MAX_COLUMN_WIDTH = 200
#: The most steps a view sends at once. Each step costs its token and one float32 per cell
#: (2 kB for 512 cells); 2000 columns of the narrowest 4 px fill an 8000 px wide screen, so
#: more is never visible, while 10**9 would send the whole trace (hundreds of MB).
MAX_WINDOW_SIZE = 2000
_WINDOW_WHY = "the most steps a view sends at once"
#: The most labelled examples a view keeps. Each is three ints on the wire (about 40 bytes of
#: JSON); a thousand brushed ranges is far more than anyone labels by hand, while an unbounded
#: list would let one stray loop send megabytes with every change.
MAX_EXAMPLES = 1000
_EXAMPLES_WHY = "the most examples a view keeps"
_EXAMPLE_KEYS = ("start", "stop", "label")
_EXAMPLE_SHAPE = "{'start': int, 'stop': int, 'label': 1 or 0}"


class _ExampleTypeError(traitlets.TraitError, TypeError):
    """An example of the wrong type, set from Python (traitlets rolls it back)."""


class _ExampleValueError(traitlets.TraitError, ValueError):
    """An example out of range, set from Python (traitlets rolls it back)."""


class _ExamplesTrait(traitlets.List):
    """A list trait whose refusal of a non-list names the shape of an example."""

    def validate(self, obj: Any, value: Any) -> Any:
        if not isinstance(value, (list, tuple)):
            raise _ExampleTypeError(
                f"examples must be a list of {_EXAMPLE_SHAPE} dicts, got {type(value).__name__}"
            )
        return super().validate(obj, value)


def _check_example(item: Any, n_steps: int, where: str) -> dict[str, int]:
    if not isinstance(item, Mapping):
        raise TypeError(
            f"{where} must be a dict {_EXAMPLE_SHAPE}, got {type(item).__name__} {item!r}"
        )
    missing = [key for key in _EXAMPLE_KEYS if key not in item]
    unknown = [key for key in item if key not in _EXAMPLE_KEYS]
    if missing or unknown:
        problem = f"missing {missing}" if missing else f"unknown keys {unknown}"
        raise ValueError(
            f"{where} must have exactly the keys 'start', 'stop' and 'label'; {problem}"
        )
    start = as_int(item["start"], f"{where}['start']", minimum=0)
    stop = as_int(item["stop"], f"{where}['stop']", minimum=1)
    label = item["label"]
    label = int(label) if isinstance(label, bool) else as_int(label, f"{where}['label']")
    if label not in (0, 1):
        raise ValueError(f"{where}['label'] must be 1 (positive) or 0 (negative), got {label}")
    if stop > n_steps:
        raise ValueError(
            f"{where}['stop'] must be <= {n_steps} (the trace's n_steps; stop is exclusive), "
            f"got {stop}"
        )
    if start >= stop:
        raise ValueError(
            f"{where} is steps {start}:{stop}; start must be < stop (stop is exclusive: "
            f"one step is {{'start': s, 'stop': s + 1}})"
        )
    return {"start": start, "stop": stop, "label": label}


def _disjoint(
    examples: list[dict[str, int]], name: str, *, strict: bool
) -> tuple[list[dict[str, int]], list[str]]:
    """The examples that overlap no earlier one, and why the others were left out.

    ``strict``: raise ``ValueError`` at the first overlap instead.
    """
    starts: list[int] = []  # the kept examples' starts, sorted (they do not overlap)
    spans: list[tuple[int, int, int]] = []  # (start, stop, index), in the same order
    kept: list[dict[str, int]] = []
    problems: list[str] = []
    for index, example in enumerate(examples):
        start, stop = example["start"], example["stop"]
        k = bisect.bisect_left(starts, start)
        clash = None
        if k > 0 and spans[k - 1][1] > start:
            clash = spans[k - 1]
        elif k < len(spans) and spans[k][0] < stop:
            clash = spans[k]
        if clash is not None:
            problem = (
                f"{name}[{index}] (steps {start}:{stop}) overlaps {name}[{clash[2]}] "
                f"(steps {clash[0]}:{clash[1]}); examples must not overlap: merge them, or "
                "shorten one (the view's brush does so as it adds one)"
            )
            if strict:
                raise ValueError(problem)
            problems.append(problem)
            continue
        starts.insert(k, start)
        spans.insert(k, (start, stop, index))
        kept.append(example)
    return kept, problems


def check_examples(examples: Any, n_steps: int, name: str = "examples") -> list[dict[str, int]]:
    """Labelled examples, checked against a trace of ``n_steps`` steps, as plain dicts.

    Parameters
    ----------
    examples : list of dict
        Each ``{"start": int, "stop": int, "label": 1 or 0}``: the global steps
        ``start:stop`` (stop exclusive, ``0 <= start < stop <= n_steps``) labelled positive
        (1) or negative (0); no two overlap (touching is fine); at most
        :data:`MAX_EXAMPLES`. A ``bool`` label is read as 1 or 0.
    n_steps : int
        The steps of the trace the examples refer to.
    name : str
        How to name the argument in messages.

    Returns
    -------
    list of dict
        New dicts with exactly the keys ``start``, ``stop`` and ``label`` (Python ints), in the
        order given. ``[(e["start"], e["stop"], e["label"]) for e in examples]`` is what
        :meth:`~rnn_widgets.analysis.CellScorer.score_examples` takes.

    Raises
    ------
    TypeError
        If ``examples`` is not a list or tuple, an example not a dict, or a field not an int.
    ValueError
        If an example has other keys, lies outside ``0 .. n_steps``, is empty
        (``start >= stop``), has a label other than 0 and 1 or overlaps another, or there are
        more than :data:`MAX_EXAMPLES` (``BoundError``).

    """
    if not isinstance(examples, (list, tuple)):
        raise TypeError(
            f"{name} must be a list of {_EXAMPLE_SHAPE} dicts, got {type(examples).__name__}"
        )
    if len(examples) > MAX_EXAMPLES:
        raise BoundError(
            f"{name} must have at most {MAX_EXAMPLES} items ({_EXAMPLES_WHY}), got {len(examples)}"
        )
    checked = [_check_example(item, n_steps, f"{name}[{i}]") for i, item in enumerate(examples)]
    return _disjoint(checked, name, strict=True)[0]


@dataclass(frozen=True)
class ExampleLabels:
    """Per-step labels from a view's labelled examples, for scoring cells.

    Unpacks as ``labels, mask = view.example_labels()``.

    Attributes
    ----------
    labels : ndarray, shape (n_steps,), dtype uint8
        1 on steps labelled positive, 0 elsewhere (negative, or not labelled).
    mask : ndarray, shape (n_steps,), dtype bool
        The steps that carry a label: score only ``labels[mask]`` (and the states of those
        steps). All True when ``implicit_negatives``.
    implicit_negatives : bool
        True when there are positive examples and no negative one: every step outside the
        positive ranges then counts as negative.

    """

    labels: np.ndarray
    mask: np.ndarray
    implicit_negatives: bool

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.labels, self.mask))

    @property
    def n_positive(self) -> int:
        """The steps labelled positive."""
        return int(self.labels.sum())

    @property
    def n_negative(self) -> int:
        """The steps labelled negative (explicitly, or implicitly)."""
        return int(self.mask.sum()) - self.n_positive


class SelectView(ImageExport, anywidget.AnyWidget):
    """Hidden-state parallel coordinates of a trace, linked through a :class:`Selection`.

    One line per cell of the selected layer and kind, over the tokens of a window that
    scrolls through the trace and jumps between sequences. Drag the dashed threshold line
    to set ``selection.threshold``; drag across the tokens to set ``selection.start`` /
    ``selection.stop``: the range, the threshold and the on/off pattern (``pad_before`` /
    ``pad_after``, set with the pattern buttons) define ``selection.cells`` through
    :func:`~rnn_widgets.analysis.select_cells`, previewed live in the browser while dragging.
    Clicking a line toggles its cell. Annotation tracks and predictions of the trace are
    drawn as rows under the tokens; the toolbar searches phrases, goes to a step and zooms.
    It reproduces the Select View of LSTMVis (Strobelt et al. 2018 [1]_, sections 5.1-5.2).

    Label by example: with ``labelling`` on (the toolbar's "label by example" toggle, or the
    L key) a brush across the tokens adds a positive example to ``examples`` and leaves the
    selection alone; Shift + brush adds a negative one. Clicking an example removes it. The
    labels for scoring cells come from :meth:`example_labels`.

    Parameters
    ----------
    trace : Trace
        The recorded states to show.
    selection : Selection, optional
        The selection shared with other views; a new one is made when omitted.
    window_size : int
        How many steps are shown at once (default 40), 1 .. :data:`MAX_WINDOW_SIZE` (2000).
        Set from Python beyond that bound it raises; asked for by the browser (zoomed out
        on a wide plot) it is clamped and ``message`` says so.
    height : int
        The plot's height in pixels (default 300), 50 .. ``MAX_HEIGHT`` (4000); bounded as
        ``window_size`` is.
    layer : int, optional
        Pin the view to this layer; by default it follows ``selection.layer``. See
        :meth:`side_by_side`.

    Attributes
    ----------
    examples : list of dict
        The labelled examples, ``{"start": int, "stop": int, "label": 1 or 0}`` in global
        steps (stop exclusive), in the order they were made; no two overlap (a brush over
        examples merges those of its label and cuts the others); at most
        :data:`MAX_EXAMPLES`.
        Set it from Python (a new list: changing the list in place is not seen) to restore
        examples; a bad value raises a ``TraitError`` naming the fix (see
        :func:`check_examples`). Replacing the ``trace`` by one of other sequences clears it;
        the same sequences with another track (``hypotheses.annotate``) keep it.
    labelling : bool
        Labelling mode: the token brush adds examples instead of selecting cells.

    References
    ----------
    .. [1] Strobelt, H., Gehrmann, S., Pfister, H., & Rush, A. M. (2018). LSTMVis: A tool for
       visual analysis of hidden state dynamics in recurrent neural networks. IEEE Transactions
       on Visualization and Computer Graphics, 24(1), 667-676. arXiv:1606.07461.

    Examples
    --------
    >>> view = SelectView(trace)                    # doctest: +SKIP
    >>> view.selection.threshold = 0.5              # doctest: +SKIP

    """

    _esm = asset("select_view.js")
    _css = asset("select_view.css")

    selection = traitlets.Instance(Selection).tag(sync=True, **widget_serialization)
    window_start = traitlets.Int(0).tag(sync=True)
    window_size = traitlets.Int(40).tag(sync=True)
    height = traitlets.Int(300).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    #: Why the brushed range selects no cells (a range crossing a sequence, a threshold
    #: outside the data); shown above the plot, which stays usable.
    select_error = traitlets.Unicode("").tag(sync=True)
    #: A notice that is not an error ("no hit for 'x'", "hit 2 of 5 ...").
    message = traitlets.Unicode("").tag(sync=True)
    #: The layer this view shows; None follows ``selection.layer``.
    layer = traitlets.Int(None, allow_none=True).tag(sync=True)
    #: Column width in px; 0 keeps ``window_size`` as given, otherwise the kernel fits
    #: ``window_size`` to ``_plot_width``.
    column_width = traitlets.Int(0).tag(sync=True)
    search_query = traitlets.Unicode("").tag(sync=True)
    goto_query = traitlets.Unicode("").tag(sync=True)
    _search_request = traitlets.Int(0).tag(sync=True)
    _goto_request = traitlets.Int(0).tag(sync=True)
    _search_hits = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    _plot_width = traitlets.Int(0).tag(sync=True)
    _window = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    _layers = traitlets.List().tag(sync=True)
    _n_steps = traitlets.Int(0).tag(sync=True)
    _n_sequences = traitlets.Int(0).tag(sync=True)
    #: Labelling mode: the token brush adds ``examples`` instead of setting the selection.
    labelling = traitlets.Bool(False).tag(sync=True)
    #: Labelled step ranges, ``{"start", "stop", "label"}`` dicts (see :func:`check_examples`).
    examples = _ExamplesTrait().tag(sync=True)

    def __init__(
        self,
        trace: Trace,
        *,
        selection: Selection | None = None,
        window_size: int = 40,
        height: int = 300,
        layer: int | None = None,
        **kwargs: Any,
    ) -> None:
        require_bundle(type(self)._esm, "select_view.js")
        trace = as_trace(trace)
        if selection is None:
            first = trace.layers[0]
            selection = Selection(layer=first, kind=trace.kinds(layer=first)[0])
        elif not isinstance(selection, Selection):
            raise TypeError(f"selection must be an rnn_widgets.Selection, got {type(selection)}")
        window_size = as_int(
            window_size, "window_size", minimum=1, maximum=MAX_WINDOW_SIZE, why=_WINDOW_WHY
        )
        height = check_height(height, minimum=50)
        if layer is not None:
            layer = as_layer(layer, trace.layers)
        self._trace = trace
        self._following_scroll = False
        self._selected_for: tuple[Any, ...] | None = None  # the range the cells came from
        self._hits = np.zeros((0, 2), dtype=np.int64)
        self._hits_query = ""
        self._last_hit: int | None = None
        self._track_ranges: dict[str, tuple[float, float]] = {}
        super().__init__(
            selection=selection, window_size=window_size, height=height, layer=layer, **kwargs
        )
        self._describe_trace()
        self._subscriptions = Subscriptions()
        self._subscriptions.observe(
            self.selection, self._on_selection, ["layer", "kind", "sequence"]
        )
        self._subscriptions.observe(self.selection, self._on_range, _RANGE_FIELDS)
        self.observe(self._on_window_request, names=["window_start", "window_size"])
        self.observe(self._on_layer, names=["layer"])
        self.observe(self._fit_window, names=["column_width", "_plot_width"])
        self.observe(lambda _: self.search(self.search_query), names=["_search_request"])
        self.observe(lambda _: self.go_to(self.goto_query), names=["_goto_request"])
        self._scroll_to_sequence(self.selection.sequence)
        self._refresh()

    # ------------------------------------------------------------------ public API

    @property
    def trace(self) -> Trace:
        """The trace shown; set it to show another one with the same selection."""
        return self._trace

    @trace.setter
    def trace(self, trace: Trace) -> None:
        old, self._trace = getattr(self, "_trace", None), as_trace(trace)
        # Examples name steps: they stay when the new trace has the same sequences (the same
        # trace with another track, say), and go otherwise.
        same_steps = old is not None and np.array_equal(
            np.asarray(old.sequence_bounds), np.asarray(self._trace.sequence_bounds)
        )
        self._track_ranges = {}
        self._selected_for = None
        self._hits, self._hits_query, self._last_hit = np.zeros((0, 2), np.int64), "", None
        with self.hold_sync():
            if not same_steps:
                self.examples = []  # steps of the old trace
            self._search_hits = None
            self._describe_trace()
            self._refresh()

    @property
    def window(self) -> tuple[int, int]:
        """The ``(start, stop)`` steps currently shown."""
        start = self._clamped_start(self.window_start)
        return start, min(start + self.window_size, self._trace.n_steps)

    def example_labels(self) -> ExampleLabels:
        """Per-step labels and a mask from ``examples``, for scoring cells.

        Every step of a positive example is labelled 1 and every step of a negative one 0
        (examples never overlap). The mask holds the labelled steps, with one exception: with
        positive examples and no negative one, every step outside the positive ranges counts
        as negative and the mask is all True. Without any example nothing is labelled (the
        mask is all False); with negative examples only, the mask holds them and no step is
        positive. This is how :meth:`~rnn_widgets.analysis.CellScorer.score_examples` reads
        the same examples (pass it ``[(e["start"], e["stop"], e["label"]) for e in
        view.examples]``).

        Returns
        -------
        ExampleLabels
            ``labels`` (uint8) and ``mask`` (bool), each of shape (n_steps,), over the whole
            trace; unpacks as ``labels, mask``. Score ``labels[mask]`` against the states of
            the steps in ``mask``.

        Examples
        --------
        >>> view.examples = [{"start": 2, "stop": 5, "label": 1}]   # doctest: +SKIP
        >>> labels, mask = view.example_labels()                     # doctest: +SKIP
        >>> labels[:6].tolist(), bool(mask.all())                     # doctest: +SKIP
        ([0, 0, 1, 1, 1, 0], True)

        """
        n_steps = self._trace.n_steps
        labels = np.zeros(n_steps, dtype=np.uint8)
        mask = np.zeros(n_steps, dtype=bool)
        for example in self.examples:  # disjoint, so the order does not matter
            start, stop = example["start"], example["stop"]
            labels[start:stop] = example["label"]
            mask[start:stop] = True
        kinds = {example["label"] for example in self.examples}
        implicit = kinds == {1}
        if implicit:
            mask[:] = True
        return ExampleLabels(labels=labels, mask=mask, implicit_negatives=implicit)

    def scroll_to(self, step: int) -> None:
        """Scroll so that ``step`` is visible, about a quarter from the left edge."""
        step = as_int(step, "step", minimum=0)
        if step >= self._trace.n_steps:
            raise ValueError(f"step must be < n_steps ({self._trace.n_steps}), got {step}")
        self.window_start = self._clamped_start(step - self.window_size // 4)

    @classmethod
    def side_by_side(
        cls,
        trace: Trace,
        *,
        layers: Any = None,
        selection: Selection | None = None,
        **kwargs: Any,
    ) -> ipywidgets.HBox:
        """Views of several layers next to each other, sharing one :class:`Selection`.

        Each view is pinned to one layer (its ``layer`` trait); selected cells are
        highlighted in the view whose layer is ``selection.layer``.

        Parameters
        ----------
        trace : Trace
            The recorded states.
        layers : iterable of int, optional
            The layers to show, left to right (default: every layer).
        selection : Selection, optional
            The shared selection; a new one is made when omitted.
        **kwargs
            Passed to every view (``window_size``, ``height``, ...).

        Returns
        -------
        ipywidgets.HBox
            The views are its ``children``.

        """
        trace = as_trace(trace)
        chosen = list(trace.layers if layers is None else layers)
        if not chosen:
            raise ValueError("layers is empty; pass at least one layer")
        if selection is None:
            selection = Selection(layer=chosen[0], kind=trace.kinds(layer=chosen[0])[0])
        views = [cls(trace, selection=selection, layer=layer, **kwargs) for layer in chosen]
        for view in views:
            view.layout = ipywidgets.Layout(flex="1 1 0", min_width="0")
        return ipywidgets.HBox(views, layout=ipywidgets.Layout(width="100%"))

    def search(self, phrase: str) -> None:
        """Scroll to the next hit of ``phrase`` after the window start, wrapping around.

        ``/pattern/`` searches a regular expression (``trace.search(pattern, regex=True)``),
        anything else the text itself. The hits in the window are marked; without any, or
        for an invalid or too costly pattern (``Trace.search``'s time bound), ``message``
        says so in place: this never raises.
        """
        phrase = str(phrase)
        if not phrase:
            self._hits, self._hits_query, self._last_hit = np.zeros((0, 2), np.int64), "", None
            with self.hold_sync():
                self.message = ""
                self._search_hits = self._hits_payload()
            return
        is_regex = len(phrase) > 2 and phrase.startswith("/") and phrase.endswith("/")
        try:
            hits = self._trace.search(phrase[1:-1] if is_regex else phrase, regex=is_regex)
        except (ValueError, TypeError) as exc:
            hits, problem = np.zeros((0, 2), np.int64), str(exc)
        else:
            problem = ""
        start, stop = self.window
        shown = self._last_hit
        if phrase == self._hits_query and shown is not None and start <= shown < stop:
            start = shown + 1  # Enter again: the hit after the one shown
        self._hits, self._hits_query = hits, phrase
        if len(hits) == 0:
            self._last_hit = None
            with self.hold_sync():
                self.message = problem or f"no hit for {phrase!r}"
                self._search_hits = self._hits_payload()
            return
        later = np.flatnonzero(hits[:, 0] >= start)
        index = int(later[0]) if len(later) else 0  # wrap to the first hit
        self._last_hit = int(hits[index, 0])
        with self.hold_sync():
            self.message = f"{phrase!r}: hit {index + 1} of {len(hits)} at step {self._last_hit}"
            self.scroll_to(self._last_hit)
            self._search_hits = self._hits_payload()

    def go_to(self, target: str | int) -> None:
        """Scroll to a step: ``"1234"`` (a global step) or ``"sequence:position"``."""
        text = str(target).strip()
        try:
            if ":" in text:
                sequence, position = (int(part) for part in text.split(":", 1))
                step = self._trace.step_of(sequence, position)
            else:
                step = int(text)
            self.scroll_to(step)
        except (ValueError, TypeError) as exc:
            self.message = f"cannot go to {text!r}: {exc}"
            return
        self.message = ""

    def close(self) -> None:
        """Close the view and stop listening to the shared selection."""
        unsubscribe(self)
        super().close()

    # ------------------------------------------------------------------ kernel side of gestures

    def _on_selection(self, change: dict[str, Any]) -> None:
        if change["name"] == "sequence" and not self._following_scroll:
            self._scroll_to_sequence(change["new"])
        if change["name"] == "kind":
            notice = clear_cells_of_another_group(self.selection, self._trace, change["old"])
            if notice:
                self.message = notice
        self._refresh()

    def _follows_selection_layer(self) -> bool:
        return self.layer is None or self.layer == self.selection.layer

    def _on_range(self, change: dict[str, Any]) -> None:
        """The brushed range, threshold and pattern define ``selection.cells`` (LSTMVis).

        Every view sharing the selection hears the change; only one that shows the
        selection's layer computes, and an unchanged query is not recomputed (a browser save
        of start and stop together notifies twice).
        """
        selection = self.selection
        if not self._follows_selection_layer():
            return
        key = tuple(getattr(selection, name) for name in _RANGE_FIELDS)
        if selection.stop <= selection.start:
            self._selected_for = key
            self.select_error = ""
            return
        if key == self._selected_for:
            return
        self._selected_for = key
        try:
            cells = select_cells(
                self._trace,
                selection.start,
                selection.stop,
                selection.threshold,
                selection.pad_before,
                selection.pad_after,
                layer=selection.layer,
                kind=selection.kind,
            )
        except (ValueError, TypeError) as exc:
            self.select_error = str(exc)
            return
        self.select_error = ""
        selection.cells = cells  # unchanged cells send nothing

    @traitlets.validate("window_size")
    def _valid_window_size(self, proposal: dict[str, Any]) -> int:
        return bounded_trait(
            self, proposal, maximum=MAX_WINDOW_SIZE, why=_WINDOW_WHY, notice="message"
        )

    @traitlets.validate("examples")
    def _valid_examples(self, proposal: dict[str, Any]) -> list[dict[str, int]]:
        """From Python a bad value raises; from the browser bad ones are dropped and said."""
        value = proposal["value"]
        trace = getattr(self, "_trace", None)
        n_steps = trace.n_steps if trace is not None else 0
        if not from_front_end(self, "examples"):
            try:
                return check_examples(value, n_steps)
            except BoundError:
                raise
            except ValueError as error:
                raise _ExampleValueError(str(error)) from None
            except TypeError as error:
                raise _ExampleTypeError(str(error)) from None
        kept: list[dict[str, int]] = []
        problems: list[str] = []
        for i, item in enumerate(
            bounded_length(
                self,
                proposal,
                maximum=MAX_EXAMPLES,
                why=_EXAMPLES_WHY,
                notice="message",
            )
        ):
            try:
                kept.append(_check_example(item, n_steps, f"examples[{i}]"))
            except (TypeError, ValueError) as error:
                problems.append(str(error))
        kept, overlaps = _disjoint(kept, "examples", strict=False)
        problems += overlaps
        if problems:
            self.message = f"dropped {len(problems)} example(s): {problems[0]}"
        return kept

    @traitlets.validate("height")
    def _valid_height(self, proposal: dict[str, Any]) -> int:
        return bounded_height(self, proposal, minimum=50)

    @traitlets.validate("layer")
    def _valid_layer(self, proposal: dict[str, Any]) -> int | None:
        value = proposal["value"]
        trace = getattr(self, "_trace", None)
        if value is not None and trace is not None:
            try:
                value = as_layer(value, trace.layers)
            except (TypeError, ValueError) as error:
                raise traitlets.TraitError(str(error)) from None
        return value

    def _on_layer(self, change: dict[str, Any]) -> None:
        self._refresh()

    def _fit_window(self, change: dict[str, Any]) -> None:
        """With a column width, show as many steps as fit the plot width."""
        width = self.column_width
        if width <= 0:
            return
        if not _MIN_COLUMN_WIDTH <= width <= _MAX_COLUMN_WIDTH:
            self.column_width = min(max(width, _MIN_COLUMN_WIDTH), _MAX_COLUMN_WIDTH)
            return
        if self._plot_width > 0:
            # A gesture (zoom, resize) asked for this size: clamp it and say so in place.
            size, notice = clamp_int(
                max(1, self._plot_width // width),
                "window_size",
                maximum=MAX_WINDOW_SIZE,
                why=_WINDOW_WHY,
            )
            with self.hold_sync():
                if notice:
                    self.message = notice
                self.window_size = size

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
            {
                "layer": layer,
                "kinds": list(trace.kinds(layer=layer)),
                "n_cells": trace.n_cells(layer=layer),
                "widths": {
                    kind: trace.n_cells(layer=layer, kind=kind) for kind in trace.kinds(layer=layer)
                },
            }
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
            if self._hits_query:
                self._search_hits = self._hits_payload()

    def _shown(self) -> tuple[int, str]:
        """The layer and kind drawn.

        A pinned view shows its layer, with the selection's kind when that layer has it;
        otherwise the selection's layer and kind.
        """
        selection = self.selection
        if self.layer is None:
            return selection.layer, selection.kind
        kinds = self._trace.kinds(layer=self.layer)
        return self.layer, selection.kind if selection.kind in kinds else kinds[0]

    def _hits_payload(self) -> dict[str, Any] | None:
        """The search hits overlapping the window, as uint32 (n, 2) step ranges."""
        if not self._hits_query:
            return None
        start, stop = self.window
        hits = self._hits[(self._hits[:, 1] > start) & (self._hits[:, 0] < stop)]
        return packed(hits.reshape(-1, 2), "uint32")

    def _track_range(self, name: str, values: np.ndarray) -> tuple[float, float]:
        if name not in self._track_ranges:
            self._track_ranges[name] = (float(values.min()), float(values.max()))
        return self._track_ranges[name]

    def _annotations(self, start: int, stop: int) -> dict[str, Any]:
        """The visible slice of every track and of the predictions."""
        trace = self._trace
        tracks = []
        for name, track in trace.tracks.items():
            if track.label_type == "categorical":
                tracks.append(
                    {
                        "name": name,
                        "label_type": "categorical",
                        "codes": packed(track.values[start:stop], "uint32"),
                        "categories": list(track.categories),
                    }
                )
            else:
                low, high = self._track_range(name, track.values)
                tracks.append(
                    {
                        "name": name,
                        "label_type": "numeric",
                        "values": packed(track.values[start:stop], "float32"),
                        "min": low,
                        "max": high,
                    }
                )
        predictions = None
        if trace.predictions is not None:
            top = trace.predictions.top(start, stop)
            predictions = {
                "labels": [label for row in top for label in row],
                "probabilities": packed(trace.predictions.probabilities[start:stop], "float32"),
            }
        return {"tracks": tracks, "predictions": predictions}

    def _window_payload(self) -> dict[str, Any]:
        trace, selection = self._trace, self.selection
        if not 0 <= selection.sequence < trace.n_sequences:
            raise ValueError(
                f"selection.sequence is {selection.sequence} but the trace has sequences "
                f"0 .. {trace.n_sequences - 1}"
            )
        layer, kind = self._shown()
        start, stop = self.window
        steps = np.arange(start, stop)
        sequences = trace.sequence_of(steps)
        positions = steps - trace.sequence_bounds[sequences, 0]
        return {
            "start": start,
            "tokens": trace.tokens[start:stop],
            "values": packed(trace.states_in(start, stop, layer=layer, kind=kind)),
            "sequence_starts": packed(trace.sequence_starts_in(start, stop), "uint32"),
            "sequence": int(sequences[0]),
            "positions": packed(positions, "uint32"),
            "value_range": list(trace.value_range(layer=layer, kind=kind)),
            "layer": layer,
            "kind": kind,
            **self._annotations(start, stop),
        }
