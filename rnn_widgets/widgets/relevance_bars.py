"""`RelevanceBars`: one bar per cell, sorted by a per-cell score, linked through a Selection.

Any per-cell ranking fits (Deep Neural Inspection relevance scores, response
characterization metrics, probe weights): the view takes named score vectors, not the objects
that made them, and a picker switches between them. Only the vector shown crosses to the
browser: its scores as float32, the cells in rank order as uint32 and, when given, the signs
as int8. Clicking bars sets ``selection.cells``, so a :class:`SelectView` sharing the
selection highlights those cells and a :class:`MatchView` matches them. The wire format is
described in ``docs/relevance_bars_contract.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anywidget
import numpy as np
import traitlets
from ipywidgets import widget_serialization

from .._validation import as_float, as_int, as_kind, to_numpy
from ._assets import asset, require_bundle
from ._bounds import bounded_height, check_height
from ._buffers import packed
from ._export import ImageExport
from .selection import Selection

__all__ = ["RelevanceBars"]


class RelevanceBars(ImageExport, anywidget.AnyWidget):
    """Bars of per-cell scores, best first; clicking a bar selects its cell.

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

    Examples
    --------
    >>> bars = RelevanceBars({"depth": r_depth, "quote": r_quote}, selection=view.selection)
    ... # doctest: +SKIP
    >>> bars.top(5)                                 # doctest: +SKIP
    >>> view.selection.cells                        # doctest: +SKIP

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
    _names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    _bars = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)

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
        **kwargs: Any,
    ) -> None:
        require_bundle(type(self)._esm, "relevance_bars.js")
        self._scores = _score_vectors(scores)
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
        current = names[0] if current is None else _known_name(current, names, "current")
        threshold = None if threshold is None else as_float(threshold, "threshold")
        height = check_height(height, minimum=80)
        super().__init__(
            selection=selection,
            current=current,
            threshold=threshold,
            score_name=score_name,
            layer=layer,
            kind=kind,
            height=height,
            _names=names,
            **kwargs,
        )
        self.observe(self._on_current, names=["current"])
        self._refresh()

    @classmethod
    def from_scores(cls, scores: Any, **kwargs: Any) -> RelevanceBars:
        """Bars of a relevance table: one score vector per hypothesis, coloured by sign.

        Reads ``hypotheses``, ``cells``, ``score``, ``sign``, ``chance``, ``layer`` and
        ``kind`` from any object that has them (``rnn_widgets.analysis.CellScores``), so this
        module imports no backend. Cells the table did not score, and NaN scores (a constant
        cell), show at the chance score (0.5 for balanced accuracy, 0 for R²).

        Parameters
        ----------
        scores : CellScores
            What ``score_cells`` returns.
        **kwargs
            Passed on (``selection``, ``threshold``, ``current``, ``height``).

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
            chance = float(scores.chance[row]) if len(scores.chance) else 0.0
            vector = np.full(width, chance)
            vector[cells] = np.where(np.isnan(scores.score[row]), chance, scores.score[row])
            sign = np.ones(width, dtype=np.int8)
            sign[cells] = np.where(np.asarray(scores.sign[row]) < 0, -1, 1)
            vectors[name], signs[name] = vector, sign
        kwargs.setdefault("score_name", "held-out score")
        return cls(vectors, signs=signs, layer=scores.layer, kind=scores.kind, **kwargs)

    # ------------------------------------------------------------------ validation

    @traitlets.validate("current")
    def _valid_current(self, proposal: dict[str, Any]) -> str:
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
        return len(next(iter(self._scores.values())))

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

    # ------------------------------------------------------------------ what the browser draws

    def _name_or_current(self, name: str | None) -> str:
        return self.current if name is None else _known_name(name, list(self._scores), "name")

    def _on_current(self, change: dict[str, Any]) -> None:
        self._refresh()

    def _refresh(self) -> None:
        """Send the vector shown; an unexpected problem is shown in place, never raised."""
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


def _score_vectors(scores: Any) -> dict[str, np.ndarray]:
    """Read-only float64 copies of the score vectors, checked once."""
    if not isinstance(scores, Mapping):
        raise TypeError(
            f"scores must be a mapping of name -> (n_cells,) array, got {type(scores).__name__}; "
            "wrap a single vector as {'score': vector}"
        )
    if not scores:
        raise ValueError("scores is empty; pass at least one name -> (n_cells,) array")
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
