"""`RelevanceBars`: one bar per cell, sorted by a per-cell score, linked through a Selection.

Any per-cell ranking fits (Deep Neural Inspection relevance scores, response
characterization metrics, probe weights): the view takes named score vectors, not the objects
that made them, and a picker switches between them. Only the vector shown crosses to the
browser: its scores as float32, the cells in rank order as uint32 and, when given, the signs
as int8. Clicking bars sets ``selection.cells``, so a :class:`SelectView` sharing the
selection highlights those cells and a :class:`MatchView` matches them. The wire format is
described in ``docs/relevance_bars_contract.md``.

Given a trace, the view holds a hypothesis box: what the user types becomes a hypothesis
(``hypotheses.from_text``), an ``analysis.CellScorer`` made once per trace, layer and kind
scores every cell on held-out folds, and the new vector joins the others and is shown. This is
Deep Neural Inspection's guess, look, refine loop (Lin & Wu 2017 [1]_) run while the user waits:
the scorer prepares everything that does not depend on the hypothesis once, so a try costs one
labelling pass and the hypothesis-dependent passes of the scorer. The browser asks with a
custom message (a request, not state); the answer is state (``_bars``, ``tried``,
``hypothesis_error``) and a reply that ends the view's busy indicator.

References
----------
.. [1] Lin, K., & Wu, E. (2017). Searching for meaning in RNNs using Deep Neural Inspection.
   Columbia University Computer Science Technical Report 003-17.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import anywidget
import numpy as np
import traitlets
from ipywidgets import widget_serialization

from .. import analysis
from .. import hypotheses as hy
from .._validation import as_float, as_int, as_kind, to_numpy
from ..trace import Trace, as_trace
from ._assets import asset, require_bundle
from ._bounds import bounded_height, check_height
from ._buffers import packed
from ._export import ImageExport
from .selection import Selection

__all__ = ["RelevanceBars"]

#: The name the scores of labelled examples are shown under (``try_examples``).
_EXAMPLES = "examples"
_EMPTY_HINT = (
    "No hypothesis yet: type one in the box above (a regular expression, tokens, or a Python "
    "expression over tokens and i) and press Enter; the cells that predict it rank first."
)

# The longest text a hypothesis box takes (a typed hypothesis, not a file).
_MAX_TEXT = 10_000


class RelevanceBars(ImageExport, anywidget.AnyWidget):
    r"""Bars of per-cell scores, best first; clicking a bar selects its cell.

    One bar per cell of one layer, sorted by score (descending; ties by cell index), the
    sign of the relation shown by colour, and a dashed threshold line (drag it in the
    browser, or set ``threshold``). Hovering a bar shows ``cell N: score``; a click toggles
    that cell in ``selection.cells`` and sets ``selection.layer`` / ``selection.kind`` to
    this view's; shift-drag across bars adds every bar passed over. Cells already selected
    are highlighted.

    Parameters
    ----------
    scores : mapping of str to array-like, shape (n_cells,)
        Named score vectors (one per hypothesis or metric), all over the same cells.
    selection : Selection, optional
        The selection shared with other views; a new one is made when omitted.
    layer : int
        The layer whose cells are scored (default 0).
    kind : str
        The state kind the scores were computed on (default ``"h"``); set on the selection
        with a click, so a linked SelectView shows it.
    signs : mapping of str to array-like, shape (n_cells,), optional
        For some or all names, the sign of each cell's relation (+1, -1, or 0 for none);
        the bars are coloured by it. Without signs every bar has one colour.
    threshold : float, optional
        Where the dashed threshold line is drawn; None draws none.
    score_name : str
        What the scores are, for the axis label (default ``"score"``).
    current : str, optional
        The name shown first (default: the first name of ``scores``).
    height : int
        The plot's height in pixels (default 240), 80 .. ``MAX_HEIGHT`` (4000): past it, set
        from Python it raises; set by the browser it is clamped and ``message`` says so.
    trace : Trace, optional
        The trace the scores were computed on. Given, the view shows a hypothesis box above
        the bars (see Notes); its ``layer`` and ``kind`` must have ``n_cells`` cells.
    scorer : CellScorer, optional
        An ``analysis.CellScorer`` already prepared on ``trace`` for this ``layer`` and
        ``kind`` (``trace`` may then be omitted). Without one, the first hypothesis tried
        prepares one with the defaults of ``score_cells`` (20 folds) and keeps it.

    Notes
    -----
    **The hypothesis box** (with a ``trace``): pick a kind, type a hypothesis and press Enter
    (Escape clears the text). Kinds (``hypotheses.from_text``): a regular expression over each
    sequence's text, marking every step of a match (``"regex"``, DNI's range feature) or only
    its first and last steps (``"regex"`` with ``feature="impulse"``); a set of tokens
    separated by spaces (``"tokens"``: ``( )``; ``\s`` is a space); or a Python expression
    over ``tokens`` and ``i`` evaluated at every step in the notebook's own namespace
    (``"python"``: ``tokens[i] in vowels`` with ``vowels`` defined in the notebook; bools, or
    numbers in [0, 1] scored by R² when not all 0 or 1). Each try labels the trace, scores
    every cell on held-out folds as ``score_cells`` does, adds the scores under the
    hypothesis's name (coloured by each cell's sign) and shows them. An error (an invalid
    regex, one past the time bound of ``Trace.search``, a hypothesis constant over the trace,
    an expression that raises) is shown under the box and changes nothing else.

    Every hypothesis tried is listed in ``tried`` and under the box (click an entry to show
    it again); ``labels(name)`` returns its labels over the trace's steps. Observe ``tried``
    (``bars.observe(callback, names=["tried"])``) to follow new hypotheses, e.g. to add
    ``bars.labels(bars.tried[-1]["name"])`` as a track.

    Examples
    --------
    >>> bars = RelevanceBars({"depth": r_depth, "quote": r_quote}, selection=view.selection)
    ... # doctest: +SKIP
    >>> bars.top(5)                                 # doctest: +SKIP
    >>> view.selection.cells                        # doctest: +SKIP
    >>> bars = RelevanceBars.from_scores(scores, trace=trace)  # doctest: +SKIP
    >>> bars.try_hypothesis(r"\(", kind="regex")  # doctest: +SKIP
    >>> bars.tried[-1]["best_cell"], bars.labels(bars.current)  # doctest: +SKIP

    """

    _esm = asset("relevance_bars.js")
    _css = asset("relevance_bars.css")

    selection = traitlets.Instance(Selection).tag(sync=True, **widget_serialization)
    #: The name of the vector shown; the picker sets it.
    current = traitlets.Unicode("").tag(sync=True)
    #: Where the threshold line is drawn (dragged in the browser); None draws none.
    threshold = traitlets.Float(None, allow_none=True).tag(sync=True)
    score_name = traitlets.Unicode("score").tag(sync=True)
    layer = traitlets.Int(0).tag(sync=True)
    kind = traitlets.Unicode("h").tag(sync=True)
    height = traitlets.Int(240).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    #: A notice that is not an error, shown in place (a size clamped to its bound).
    message = traitlets.Unicode("").tag(sync=True)
    #: Every hypothesis tried in the box or with ``try_hypothesis``, oldest first: dicts
    #: with ``name``, ``text``, ``kind``, ``feature``, ``label_type``, ``best_cell`` and
    #: ``best_score``. A new list each time, so observers see every try.
    tried = traitlets.List(traitlets.Dict(), read_only=True).tag(sync=True)
    #: The last hypothesis's error, shown under the box ("" when it worked).
    hypothesis_error = traitlets.Unicode("").tag(sync=True)
    #: What the view shows before any hypothesis is scored: a neutral hint, never an error.
    hint = traitlets.Unicode("").tag(sync=True)
    _names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    _bars = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    #: Whether the view shows the hypothesis box (a trace was given).
    _hypothesis_box = traitlets.Bool(False).tag(sync=True)

    def __init__(
        self,
        scores: Mapping[str, Any],
        *,
        selection: Selection | None = None,
        layer: int = 0,
        kind: str = "h",
        signs: Mapping[str, Any] | None = None,
        threshold: float | None = None,
        score_name: str = "score",
        current: str | None = None,
        height: int = 240,
        trace: Trace | None = None,
        scorer: Any = None,
        **kwargs: Any,
    ) -> None:
        require_bundle(type(self)._esm, "relevance_bars.js")
        self._scores = _score_vectors(scores, empty_ok=trace is not None or scorer is not None)
        self._signs = _sign_vectors(signs, self._scores)
        self._orders = {name: _descending(vector) for name, vector in self._scores.items()}
        layer = as_int(layer, "layer", minimum=0)
        kind = as_kind(kind)
        if selection is None:
            selection = Selection(layer=layer, kind=kind)
        elif not isinstance(selection, Selection):
            raise TypeError(
                f"selection must be an rnn_widgets.Selection, got {type(selection).__name__}"
            )
        if not isinstance(score_name, str):
            raise TypeError(f"score_name must be a str, got {type(score_name).__name__}")
        names = list(self._scores)
        if current is None:
            current = names[0] if names else ""
        else:
            current = _known_name(current, names, "current")
        threshold = None if threshold is None else as_float(threshold, "threshold")
        height = check_height(height, minimum=80)
        self._trace, self._scorer = _trace_and_scorer(
            trace, scorer, layer, kind, len(next(iter(self._scores.values()))) if names else None
        )
        self._n_cells = (
            len(next(iter(self._scores.values())))
            if names
            else self._trace.n_cells(layer=layer, kind=kind)
        )
        self._labels: dict[str, np.ndarray] = {}
        self._typed: dict[tuple[str, str, str], str] = {}  # (kind, feature, text) -> name
        super().__init__(
            selection=selection,
            current=current,
            threshold=threshold,
            score_name=score_name,
            layer=layer,
            kind=kind,
            height=height,
            _names=names,
            _hypothesis_box=self._trace is not None,
            **kwargs,
        )
        self.observe(self._on_current, names=["current"])
        self.on_msg(self._on_custom_message)
        self._refresh()

    @classmethod
    def from_scores(cls, scores: Any, **kwargs: Any) -> RelevanceBars:
        """Bars of a relevance table: one score vector per hypothesis, coloured by sign.

        Reads ``hypotheses``, ``cells``, ``score``, ``sign``, ``chance``, ``layer`` and
        ``kind`` from any object that has them (``rnn_widgets.analysis.CellScores``, or a
        table of your own). Cells the table did not score, and NaN scores (a constant cell),
        show at the chance score (0.5 for balanced accuracy, 0 for R²).

        Parameters
        ----------
        scores : CellScores
            What ``score_cells`` returns.
        **kwargs
            Passed on (``selection``, ``threshold``, ``current``, ``height``, ``trace``,
            ``scorer``).

        """
        fields = ("hypotheses", "cells", "score", "sign", "chance", "layer", "kind")
        missing = [name for name in fields if not hasattr(scores, name)]
        if missing:
            raise TypeError(
                f"scores must be a relevance table with fields {list(fields)} (what "
                f"score_cells returns); {type(scores).__name__} has no {missing}"
            )
        cells = np.asarray(scores.cells, dtype=np.int64)
        width = int(cells.max()) + 1 if len(cells) else 0
        vectors, signs = {}, {}
        for row, name in enumerate(scores.hypotheses):
            vectors[name], signs[name] = _vector_and_signs(scores, row, width)
        kwargs.setdefault("score_name", "held-out score")
        return cls(vectors, signs=signs, layer=scores.layer, kind=scores.kind, **kwargs)

    # ------------------------------------------------------------------ validation

    @traitlets.validate("current")
    def _valid_current(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] == "" and not self._scores:
            return ""  # nothing tried yet
        return _known_name(proposal["value"], list(self._scores), "current")

    @traitlets.validate("threshold")
    def _finite_threshold(self, proposal: dict[str, Any]) -> float | None:
        value = proposal["value"]
        return None if value is None else as_float(value, "threshold")

    @traitlets.validate("height")
    def _valid_height(self, proposal: dict[str, Any]) -> int:
        return bounded_height(self, proposal, minimum=80)

    @traitlets.validate("layer")
    def _valid_layer(self, proposal: dict[str, Any]) -> int:
        return as_int(proposal["value"], "layer", minimum=0)

    @traitlets.validate("kind")
    def _valid_kind(self, proposal: dict[str, Any]) -> str:
        return as_kind(proposal["value"])

    # ------------------------------------------------------------------ public API

    @property
    def names(self) -> list[str]:
        """The names of the score vectors, in the picker's order."""
        return list(self._scores)

    @property
    def n_cells(self) -> int:
        """How many cells every vector scores."""
        return self._n_cells

    def scores(self, name: str | None = None) -> np.ndarray:
        """A read-only view of the scores of ``name`` (default: the vector shown).

        Returns
        -------
        ndarray, shape (n_cells,)
            The scores as given (a float64 copy made at construction).

        """
        return self._scores[self._name_or_current(name)]

    def ranked_cells(self, name: str | None = None) -> np.ndarray:
        """The cells best first, as the bars are drawn (ties by cell index).

        Returns
        -------
        ndarray of int64, shape (n_cells,)

        """
        order = self._orders[self._name_or_current(name)].astype(np.int64)
        order.flags.writeable = False
        return order

    def top(self, k: int, name: str | None = None) -> tuple[int, ...]:
        """Select the ``k`` best cells of ``name`` (default: the vector shown).

        Sets ``selection.layer``, ``selection.kind`` and ``selection.cells`` in one message.

        Parameters
        ----------
        k : int
            How many cells, 1 .. n_cells.
        name : str, optional
            The score vector to rank by.

        Returns
        -------
        tuple of int
            The selected cells, sorted (as ``selection.cells`` holds them).

        """
        k = as_int(k, "k", minimum=1)
        if k > self.n_cells:
            raise ValueError(f"k must be at most n_cells ({self.n_cells}), got {k}")
        cells = self.ranked_cells(name)[:k]
        self.selection.update({"layer": self.layer, "kind": self.kind, "cells": cells})
        return self.selection.cells

    # ------------------------------------------------------------------ hypotheses

    @property
    def trace(self) -> Trace | None:
        """The trace hypotheses are tried on (None: the view has no hypothesis box)."""
        return self._trace

    def try_hypothesis(
        self, text: str, *, kind: str = "regex", feature: str = "range"
    ) -> analysis.CellScores:
        r"""Score every cell for a typed hypothesis and show its bars, as the box does on Enter.

        The hypothesis is built by :func:`rnn_widgets.hypotheses.from_text`, labels the trace,
        and is scored on held-out folds by this view's ``CellScorer`` (prepared on the first
        try and kept). Its scores are added under its name (NaN scores at chance, as
        :meth:`from_scores`), coloured by each cell's sign, and become ``current``; an entry
        is appended to ``tried``. Trying the same text, kind and feature again scores it
        anew (a Python expression may read names that changed) and moves its entry last.

        Parameters
        ----------
        text : str
            What was typed (at most 10,000 characters).
        kind : {"regex", "tokens", "python"}
            A regular expression, tokens separated by spaces, or a Python expression over
            ``tokens`` and ``i`` evaluated in the notebook's namespace
            (``IPython.get_ipython().user_ns``; an empty one outside IPython). Its values may
            be bools or numbers in [0, 1]: labels all 0 or 1 are scored as binary (balanced
            accuracy), others as continuous (R²).
        feature : {"range", "impulse"}
            For a regex: mark every step of a match, or only its first and last steps.

        Returns
        -------
        CellScores
            The scores of this one hypothesis (its ``hypotheses`` is ``(name,)``).

        Raises
        ------
        RuntimeError
            Without a trace (``RelevanceBars(..., trace=trace)``), or when a Python
            expression raises at some step (the message names the sequence, step and token).
        TypeError, ValueError
            On a bad text, kind or feature, an invalid regex, one that passes the time bound,
            or a hypothesis that is constant over the trace. The message is also shown in
            ``hypothesis_error``, and the bars shown before stay.

        """
        try:
            scores = self._try(text, kind, feature)
        except Exception as error:
            self.hypothesis_error = _error_text(error)
            raise
        return scores

    def labels(self, name: str | None = None) -> np.ndarray:
        """The labels of a tried hypothesis at every step of the trace (default: the one shown).

        Returns
        -------
        ndarray of float32, shape (n_steps,)
            Read-only: 0 or 1 (binary), or values in [0, 1].

        Raises
        ------
        KeyError
            If no hypothesis of that name was tried.

        """
        chosen = self.current if name is None else name
        if chosen not in self._labels:
            raise KeyError(f"no hypothesis named {chosen!r} was tried; tried: {list(self._labels)}")
        return self._labels[chosen]

    def _try(self, text: Any, kind: Any, feature: Any) -> analysis.CellScores:
        if self._trace is None:
            raise RuntimeError(
                "this RelevanceBars has no trace to try hypotheses on; make it with "
                "RelevanceBars(..., trace=trace) or RelevanceBars.from_scores(scores, "
                "trace=trace)"
            )
        if isinstance(text, str) and len(text) > _MAX_TEXT:
            raise ValueError(
                f"text is {len(text):,} characters; a hypothesis box takes at most {_MAX_TEXT:,}"
            )
        python = kind == "python"
        hypothesis = hy.from_text(
            text,
            kind=kind,
            feature=feature,
            label_type="continuous" if python else "binary",
            namespace=_user_namespace() if python else None,
        )
        key = (str(kind), str(feature), str(text))
        name = self._typed.get(key) or self._free_name(hypothesis.name)
        labels = hy.evaluate(self._trace, hypothesis).values[0]
        _check_varies(labels, hypothesis.name, kind)
        scores = self._cell_scorer().score({name: labels})
        self._typed[key] = name
        self._show_tried(
            scores, labels, {"text": str(text), "kind": str(kind), "feature": str(feature)}
        )
        return scores

    def try_examples(self, examples: Sequence[Sequence[int]]) -> analysis.CellScores:
        """Rank the cells by how well each separates labelled ranges of steps (by example).

        What a SelectView's labelling mode brushes (``select_view.examples``): positive
        ranges, and optionally negative ones, scored by this view's ``CellScorer``
        (:meth:`~rnn_widgets.analysis.CellScorer.score_examples`, which says how examples
        are held out). The scores are shown under the name ``"examples"`` (replaced by the
        next call) and listed in ``tried`` with kind ``"examples"`` and the ranges.

        Parameters
        ----------
        examples : sequence of (start, stop, label), or of {"start", "stop", "label"} dicts
            Global steps, ``stop`` exclusive, ``label`` 1 or 0.

        Returns
        -------
        CellScores

        Raises
        ------
        RuntimeError
            Without a trace.
        TypeError, ValueError
            On malformed or too few examples (also shown in ``hypothesis_error``).

        """
        try:
            if self._trace is None:
                raise RuntimeError(
                    "this RelevanceBars has no trace to score examples on; make it with "
                    "RelevanceBars(..., trace=trace)"
                )
            ranges = [_example_tuple(item, i) for i, item in enumerate(_as_list(examples))]
            scores = self._cell_scorer().score_examples(ranges, name=_EXAMPLES)
        except Exception as error:
            self.hypothesis_error = _error_text(error)
            raise
        labels = np.zeros(int(self._trace.n_steps), dtype=np.float32)
        for start, stop, label in ranges:
            if label == 1:
                labels[start:stop] = 1.0
        labels.flags.writeable = False
        n_positive = sum(1 for *_, label in ranges if label == 1)
        text = f"{n_positive} positive, {len(ranges) - n_positive} negative examples"
        self._show_tried(
            scores, labels, {"text": text, "kind": "examples", "feature": "",
                             "examples": [list(r) for r in ranges]},
        )  # fmt: skip
        return scores

    def _show_tried(
        self, scores: analysis.CellScores, labels: np.ndarray, fields: dict[str, Any]
    ) -> None:
        """Show one scored hypothesis as the current bars and list it last in ``tried``."""
        name = scores.hypotheses[0]
        vector, signs = _vector_and_signs(scores, 0, self.n_cells)
        order = _descending(vector)
        self._scores[name], self._signs[name], self._orders[name] = vector, signs, order
        self._labels[name] = labels
        best = int(order[0])
        entry = {
            "name": name,
            **fields,
            "label_type": scores.label_types[0],
            "best_cell": best,
            "best_score": float(vector[best]),
        }
        tried = [item for item in self.tried if item["name"] != name] + [entry]
        with self.hold_sync():
            self._names = list(self._scores)
            self.hypothesis_error = ""
            self.set_trait("tried", tried)
            if self.current == name:
                self._refresh()  # the same name scored anew: send its new vector
            else:
                self.current = name

    def _free_name(self, name: str) -> str:
        """``name``, or ``name (2)``, ``(3)``, ... when a score vector already has it."""
        chosen, count = name, 1
        while chosen in self._scores:
            count += 1
            chosen = f"{name} ({count})"
        return chosen

    def _cell_scorer(self) -> Any:
        scorer = self._scorer
        if scorer is None or (scorer.layer, scorer.kind) != (self.layer, self.kind):
            scorer = analysis.CellScorer(
                self._trace, layer=self.layer, kind=self.kind, progress=False
            )
            self._scorer = scorer
        return scorer

    def _on_custom_message(self, _widget: Any, content: Any, _buffers: Sequence[Any]) -> None:
        """The box's request ``{"type": "try_hypothesis", id, text, kind, feature}``.

        Answers ``{"type": "hypothesis_done", id, ok, name, error}`` after the traits it
        changed, so the view ends its busy indicator on state already drawn.
        """
        if not isinstance(content, dict) or content.get("type") != "try_hypothesis":
            return
        request = content.get("id")
        reply: dict[str, Any] = {
            "type": "hypothesis_done",
            "id": request if isinstance(request, (int, str)) else None,
        }
        try:
            self.try_hypothesis(
                content.get("text"),
                kind=content.get("kind", "regex"),
                feature=content.get("feature", "range"),
            )
        except Exception as error:  # shown in place; the kernel keeps running
            reply.update(ok=False, error=_error_text(error))
        else:
            reply.update(ok=True, name=self.current)
        self.send(reply)

    # ------------------------------------------------------------------ what the browser draws

    def _name_or_current(self, name: str | None) -> str:
        return self.current if name is None else _known_name(name, list(self._scores), "name")

    def _on_current(self, change: dict[str, Any]) -> None:
        self._refresh()

    def _refresh(self) -> None:
        """Send the vector shown; an unexpected problem is shown in place, never raised."""
        if not self._scores:
            with self.hold_sync():
                self.error = ""
                self._bars = None
                self.hint = _EMPTY_HINT
            return
        self.hint = ""
        try:
            bars = self._bars_payload()
        except (ValueError, TypeError) as exc:
            with self.hold_sync():
                self.error = str(exc)
                self._bars = None
            return
        with self.hold_sync():
            self.error = ""
            self._bars = bars

    def _bars_payload(self) -> dict[str, Any]:
        name = self.current
        signs = self._signs.get(name)
        return {
            "name": name,
            "scores": packed(self._scores[name], "float32"),
            "order": packed(self._orders[name], "uint32"),
            "signs": None if signs is None else packed(signs, "int8"),
        }


def _vector_and_signs(scores: Any, row: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Row ``row`` of a relevance table over cells ``0 .. width - 1``, and its signs.

    Cells not scored and NaN scores (a constant cell) get the chance score; signs are +1
    where the table's sign is not negative.
    """
    cells = np.asarray(scores.cells, dtype=np.int64)
    if len(cells) and int(cells.max()) >= width:
        raise ValueError(
            f"the scores cover cell {int(cells.max())} but the bars show {width} cells; score "
            "the layer and kind the bars show"
        )
    chance = float(scores.chance[row]) if len(scores.chance) else 0.0
    vector = np.full(width, chance)
    vector[cells] = np.where(np.isnan(scores.score[row]), chance, scores.score[row])
    vector.flags.writeable = False
    sign = np.ones(width, dtype=np.int8)
    sign[cells] = np.where(np.asarray(scores.sign[row]) < 0, -1, 1)
    return vector, sign


def _trace_and_scorer(
    trace: Any, scorer: Any, layer: int, kind: str, n_cells: int | None
) -> tuple[Trace | None, Any]:
    """The trace hypotheses are tried on and a prepared scorer, checked against the bars."""
    if scorer is not None:
        if not all(hasattr(scorer, name) for name in ("score", "trace", "layer", "kind")):
            raise TypeError(
                f"scorer must be an rnn_widgets.analysis.CellScorer, got {type(scorer).__name__}"
            )
        if trace is None:
            trace = scorer.trace
        elif scorer.trace is not trace:
            raise ValueError("scorer was prepared on another trace; pass the scorer's trace")
        if (scorer.layer, scorer.kind) != (layer, kind):
            raise ValueError(
                f"scorer scores layer {scorer.layer} {scorer.kind!r} but the bars show layer "
                f"{layer} {kind!r}; prepare it with CellScorer(trace, layer={layer}, "
                f"kind={kind!r})"
            )
    if trace is None:
        return None, None
    trace = as_trace(trace)
    cells = trace.n_cells(layer=as_int(layer, "layer"), kind=kind)
    if n_cells is not None and cells != n_cells:
        raise ValueError(
            f"the trace's layer {layer} {kind!r} has {cells} cells but the scores have "
            f"{n_cells}; pass the trace the scores were computed on"
        )
    return trace, scorer


def _user_namespace() -> Mapping[str, Any]:
    """The notebook's namespace (IPython's ``user_ns``), or an empty one outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return {}
    shell = get_ipython()
    namespace = getattr(shell, "user_ns", None)
    return namespace if isinstance(namespace, Mapping) else {}


def _check_varies(labels: np.ndarray, name: str, kind: Any) -> None:
    """Refuse labels that are constant over the trace, saying what the kind's text missed."""
    if labels.size == 0 or labels.min() != labels.max():
        return
    value = float(labels[0])
    hints = {
        "regex": "the regular expression matches nowhere in the trace"
        if value == 0
        else "every step is inside a match",
        "tokens": "no token of the trace is one of these (separate tokens by spaces: a e i o u "
        "for single characters)"
        if value == 0
        else "every token of the trace is one of these",
    }
    why = hints.get(str(kind), f"the expression gives {value:g} at every step")
    raise ValueError(
        f"hypothesis {name!r} is constant over the trace (every label {value:g}): {why}; "
        "there is nothing to predict"
    )


def _error_text(error: BaseException) -> str:
    """What the box shows for an error: its message (its kind too, when unexpected)."""
    if isinstance(error, (TypeError, ValueError, RuntimeError, KeyError)):
        return str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    return f"{type(error).__name__}: {error}"


def _known_name(value: Any, names: list[str], argument: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{argument} must be a score name (str), got {type(value).__name__}")
    if value not in names:
        raise ValueError(f"{argument} {value!r} is not one of the score names {names}")
    return value


def _numeric_vector(value: Any, label: str) -> np.ndarray:
    array = to_numpy(value)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"{label} must hold numbers, got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.complexfloating):
        raise TypeError(f"{label} must be real-valued, got dtype {array.dtype}")
    if array.ndim != 1:
        raise ValueError(
            f"{label} must be one score per cell, shape (n_cells,), got shape {array.shape}"
        )
    if array.size == 0:
        raise ValueError(f"{label} is empty; pass one score per cell")
    return array


def _score_vectors(scores: Any, *, empty_ok: bool = False) -> dict[str, np.ndarray]:
    """Read-only float64 copies of the score vectors, checked once."""
    if not isinstance(scores, Mapping):
        raise TypeError(
            f"scores must be a mapping of name -> (n_cells,) array, got {type(scores).__name__}; "
            "wrap a single vector as {'score': vector}"
        )
    if not scores and not empty_ok:
        raise ValueError(
            "scores is empty; pass at least one name -> (n_cells,) array, or a trace "
            "(RelevanceBars({}, trace=trace)) to score hypotheses typed in the view"
        )
    vectors: dict[str, np.ndarray] = {}
    first: tuple[str, int] | None = None
    for name, value in scores.items():
        if not isinstance(name, str):
            raise TypeError(f"score names must be str, got {type(name).__name__} {name!r}")
        label = f"scores[{name!r}]"
        vector = np.array(_numeric_vector(value, label), dtype=np.float64, copy=True)
        bad = ~np.isfinite(vector)
        if bad.any():
            raise ValueError(
                f"{label} has {int(bad.sum())} NaN or infinite scores (first at cell "
                f"{int(np.flatnonzero(bad)[0])}); give those cells a score (e.g. 0 with "
                "np.nan_to_num) or drop the vector"
            )
        if first is None:
            first = (name, len(vector))
        elif len(vector) != first[1]:
            raise ValueError(
                f"{label} has {len(vector)} cells but scores[{first[0]!r}] has {first[1]}; "
                "every vector must score the same cells of one layer"
            )
        vector.flags.writeable = False
        vectors[name] = vector
    return vectors


def _sign_vectors(signs: Any, scores: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """int8 copies of the signs (-1, 0 or +1), checked against the score vectors."""
    if signs is None:
        return {}
    if not isinstance(signs, Mapping):
        raise TypeError(
            f"signs must be a mapping of score name -> (n_cells,) array of +1/-1, "
            f"got {type(signs).__name__}"
        )
    result: dict[str, np.ndarray] = {}
    for name, value in signs.items():
        if name not in scores:
            raise ValueError(
                f"signs has the name {name!r}, which is not one of the score names "
                f"{list(scores)}; key signs by the names of scores"
            )
        label = f"signs[{name!r}]"
        array = _numeric_vector(value, label)
        if len(array) != len(scores[name]):
            raise ValueError(
                f"{label} has {len(array)} cells but scores[{name!r}] has {len(scores[name])}"
            )
        if not np.isin(array, (-1, 0, 1)).all():
            raise ValueError(
                f"{label} must hold only +1, -1 (or 0 for no sign); pass np.sign(correlation)"
            )
        result[name] = np.array(array, dtype=np.int8, copy=True)
    return result


def _descending(vector: np.ndarray) -> np.ndarray:
    """Cells by score, highest first; equal scores keep cell order (a stable sort)."""
    return np.argsort(-vector, kind="stable").astype(np.uint32)


def _as_list(examples: Any) -> list[Any]:
    if isinstance(examples, (str, bytes, Mapping)) or not isinstance(examples, Sequence):
        raise TypeError(
            "examples must be a list of (start, stop, label) ranges or of "
            f"{{'start', 'stop', 'label'}} dicts, got {type(examples).__name__}"
        )
    return list(examples)


def _example_tuple(item: Any, index: int) -> tuple[int, int, int]:
    """A ``(start, stop, label)`` from a tuple or a SelectView's example dict."""
    if isinstance(item, Mapping):
        missing = {"start", "stop", "label"} - set(item)
        if missing:
            raise ValueError(f"examples[{index}] lacks {sorted(missing)}")
        item = (item["start"], item["stop"], item["label"])
    if isinstance(item, (str, bytes)) or not isinstance(item, Sequence) or len(item) != 3:
        raise TypeError(f"examples[{index}] must be (start, stop, label), got {item!r}")
    return (
        as_int(item[0], f"examples[{index}] start"),
        as_int(item[1], f"examples[{index}] stop"),
        as_int(item[2], f"examples[{index}] label"),
    )
