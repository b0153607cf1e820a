"""`DecayView`: how long each cell's memory lasts, by token, linked through a Selection.

The panel of :func:`~rnn_widgets.analysis.memory_timescales` (issue 24 §4): for a layer
linear in its state, ``h_t = a(x_t) * h_{t-1} + b(x_t)`` (minGRU and minLSTM [1]_, Mamba
[2]_), each step's time constant
``tau = -1 / log|a(x_t)|`` summarised per cell. Two parts, both reading one
:class:`~rnn_widgets.analysis.MemoryTimescales`:

* a :class:`RelevanceBars` of each cell's ``log10`` median time constant, over all steps or
  over the steps that read one of the most frequent token types (the picker: ``"all steps"``,
  ``"τ after '('"``, ...), longest memory first; a click selects the cell, so the SelectView
  and every view sharing the :class:`Selection` follow;
* one line of text (an ``ipywidgets.Label``: text, never markup, so a token is shown as it is)
  for the first selected cell: which tokens hold it longest and which reset it
  (:meth:`MemoryTimescales.top_tokens`), updated when the selection's cells change.

Why a composition of existing widgets rather than a new front end: the ranking is the
:class:`RelevanceBars`, reused as the :class:`ResponseView` reuses it, and the text is a
Label; nothing here needs drawing of its own. The widget computes nothing: it reads the
result's arrays (a median over steps for ``"all steps"``) and its ``top_tokens``.

References
----------
.. [1] Feng, L., Tung, F., Ahmed, M. O., Bengio, Y., & Hajimirsadeghi, H. (2024). Were RNNs
   all we needed? arXiv:2410.01201.
.. [2] Gu, A., & Dao, T. (2023). Mamba: Linear-time sequence modeling with selective state
   spaces. arXiv:2312.00752.
"""

from __future__ import annotations

from typing import Any

import ipywidgets
import numpy as np

from .._validation import as_int, as_kind
from ..analysis import MemoryTimescales
from ._bounds import check_height
from ._export import StackedImageExport
from .relevance_bars import RelevanceBars
from .selection import Selection

__all__ = ["ALL_STEPS", "DecayView"]

#: The name of the bars over every step (the others are ``"τ after <token>"``).
ALL_STEPS = "all steps"
#: What the text line says while no cell is selected.
HINT = "select a cell to see which tokens hold or reset it"
_SCORE_NAME = "log10 time constant (steps)"
# log10(tau) is clipped to 0.01 .. a million steps, as MemoryTimescales.to_track clips it: a
# bar needs a finite length (inf: the cell never decays; 0: it is overwritten).
_LOG10_RANGE = (-2.0, 6.0)
_MAX_TOKEN_CHARS = 20


class DecayView(StackedImageExport, ipywidgets.VBox):
    """Each cell's memory time constant, by token, and what resets or holds a selected cell.

    For a layer linear in its state (minGRU, Feng et al. 2024 [1]_: ``a = 1 - z``; minLSTM;
    Mamba, Gu & Dao 2023 [2]_: ``a = exp(Δ_t A)``), a :class:`RelevanceBars`
    (``view.relevance_bars``) ranks the cells by ``log10`` of their median time constant
    ``tau = -1 / log|a(x_t)|`` in steps, longest first: over all steps (``"all steps"``), or
    over the steps that read one token type (``"τ after '('"``: what the cell's memory is
    right after that token). A click on a bar selects its cell in the shared
    :class:`Selection`. Under the bars, a line of text (``view.text``, an
    ``ipywidgets.Label``) names the tokens that hold the first selected cell longest
    (``tau`` above ``timescales.hold`` steps) and those that reset it (``tau`` under one
    step), from :meth:`MemoryTimescales.top_tokens`.

    Parameters
    ----------
    timescales : MemoryTimescales
        From :func:`rnn_widgets.analysis.memory_timescales`; read, never modified.
    selection : Selection, optional
        The selection shared with other views; a new one on the timescales' layer when
        omitted.
    kind : str
        The state kind whose cells the time constants are over, set on the selection by a
        click (default ``"h"``; for Mamba, whose time constants are per SSM channel, a
        channel kind such as ``"delta"``).
    n_tokens : int
        Bars for at most this many token types, the most frequent first (default 12).
    k : int
        At most this many tokens named for holding, and for resetting, a cell (default 3).
    min_count : int
        Only token types read at least this often are named (default 3): a token read once
        that happens to reset a cell says little.
    height : int
        The bars' height in pixels (default 240).

    Notes
    -----
    The bars show ``log10(median tau)`` clipped to [-2, 6] (0.01 to a million steps): a cell
    that never decays (``tau = inf``) shows as 6, one overwritten or growing (``tau <= 0``)
    as -2.

    References
    ----------
    .. [1] Feng, L., Tung, F., Ahmed, M. O., Bengio, Y., & Hajimirsadeghi, H. (2024). Were
       RNNs all we needed? arXiv:2410.01201.
    .. [2] Gu, A., & Dao, T. (2023). Mamba: Linear-time sequence modeling with selective
       state spaces. arXiv:2312.00752.

    Examples
    --------
    >>> from rnn_widgets.analysis import memory_timescales
    >>> view = DecayView(memory_timescales(trace, model), selection=select_view.selection)
    ... # doctest: +SKIP
    >>> view.current = "τ after '('"; view.selection.cells = [3]; view.text.value
    ... # doctest: +SKIP

    """

    def __init__(
        self,
        timescales: MemoryTimescales,
        *,
        selection: Selection | None = None,
        kind: str = "h",
        n_tokens: int = 12,
        k: int = 3,
        min_count: int = 3,
        height: int = 240,
        **kwargs: Any,
    ) -> None:
        if not isinstance(timescales, MemoryTimescales):
            raise TypeError(
                "timescales must be a MemoryTimescales from "
                f"rnn_widgets.analysis.memory_timescales(trace, model), got "
                f"{type(timescales).__name__}"
            )
        kind = as_kind(kind)
        n_tokens = as_int(n_tokens, "n_tokens", minimum=0)
        self._k = as_int(k, "k", minimum=1)
        self._min_count = as_int(min_count, "min_count", minimum=1)
        height = check_height(height, minimum=80)
        if selection is None:
            selection = Selection(layer=timescales.layer, kind=kind)
        elif not isinstance(selection, Selection):
            raise TypeError(
                f"selection must be an rnn_widgets.Selection, got {type(selection).__name__}"
            )
        self._timescales = timescales
        self._kind = kind
        bars = RelevanceBars(
            _log10_vectors(timescales, n_tokens),
            selection=selection,
            layer=timescales.layer,
            kind=kind,
            score_name=_SCORE_NAME,
            current=ALL_STEPS,
            height=height,
        )
        text = ipywidgets.Label(value=HINT)  # a Label shows text, never markup
        text.add_class("rnnw-decay-text")
        super().__init__(children=[bars, text], **kwargs)
        self.add_class("rnnw-decay-view")
        self.relevance_bars = bars
        self.text = text
        self._selection = selection
        selection.observe(self._on_selection, names=["cells", "layer", "kind"])
        self._following = True
        self._show_cell()

    @property
    def timescales(self) -> MemoryTimescales:
        """The time constants shown (never modified)."""
        return self._timescales

    @property
    def selection(self) -> Selection:
        """The Selection the bars share."""
        return self._selection

    @property
    def names(self) -> tuple[str, ...]:
        """The names of the bars' vectors: ``"all steps"``, then one per token type shown."""
        return tuple(self.relevance_bars.names)

    @property
    def current(self) -> str:
        """The vector shown (``"all steps"`` or ``"τ after <token>"``); set it to switch."""
        return self.relevance_bars.current

    @current.setter
    def current(self, name: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"current must be a str of {list(self.names)}, got {name!r:.60}")
        if name not in self.names:
            raise ValueError(f"current {name!r:.80} is not one of the bars {list(self.names)}")
        self.relevance_bars.current = name

    @property
    def cell(self) -> int | None:
        """The cell the text describes: the first selected one of this layer, or None."""
        selection = self._selection
        if selection.layer != self._timescales.layer or selection.kind != self._kind:
            return None
        cells = [c for c in selection.cells if 0 <= c < self._timescales.n_cells]
        return int(cells[0]) if cells else None

    def close(self) -> None:
        """Stop following the selection and close the parts (the selection stays open)."""
        if self.__dict__.get("_following", False):  # once: closing twice would unobserve twice
            self._following = False
            self._selection.unobserve(self._on_selection, names=["cells", "layer", "kind"])
            self.relevance_bars.close()
            self.text.close()
        super().close()

    def _on_selection(self, change: dict[str, Any]) -> None:
        self._show_cell()

    def _show_cell(self) -> None:
        cell = self.cell
        self.text.value = HINT if cell is None else _describe_cell(
            self._timescales, cell, k=self._k, min_count=self._min_count
        )  # fmt: skip


def _describe_cell(
    timescales: MemoryTimescales, cell: int, *, k: int = 3, min_count: int = 3
) -> str:
    """One line: which tokens hold ``cell`` longest and which reset it.

    Parameters
    ----------
    timescales : MemoryTimescales
        What the text reads.
    cell : int
        The cell (channel).
    k : int
        At most this many tokens of each kind.
    min_count : int
        Only token types read at least this often.

    Returns
    -------
    str
        e.g. ``"cell 3: held longest after '(' (τ 210 steps, 96% of 40 reads); reset by ')'
        (τ 0.4, 88% of 40)"``; tokens are ``repr``-quoted, so spaces and line breaks show.
    """
    parts = [f"cell {cell}"]
    held = timescales.top_tokens(cell, effect="hold", k=k, min_count=min_count)
    reset = timescales.top_tokens(cell, effect="reset", k=k, min_count=min_count)
    hold = f"{timescales.hold:g}"
    if held:
        parts.append("held longest after " + ", ".join(_entry(row) for row in held))
    else:
        parts.append(f"no token holds it past {hold} steps")
    if reset:
        parts.append("reset by " + ", ".join(_entry(row) for row in reset))
    else:
        parts.append("no token resets it (τ under 1 step)")
    return f"{parts[0]}: {parts[1]}; {parts[2]}"


def _entry(row: dict[str, Any]) -> str:
    return (
        f"{_token(row['token'])} (τ {_steps(row['median_tau'])}, "
        f"{row['fraction']:.0%} of {row['count']})"
    )


def _steps(tau: float) -> str:
    if np.isinf(tau):
        return "∞"
    return f"{tau:.2g}" if abs(tau) < 100 else f"{tau:,.0f}"


def _token(token: str) -> str:
    text = repr(token)
    return text if len(text) <= _MAX_TOKEN_CHARS else text[: _MAX_TOKEN_CHARS - 1] + "…"


def _clipped_log10(tau: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log10(np.where(tau > 0, tau, 0.0).astype(np.float64))
    return np.clip(np.nan_to_num(logs, nan=_LOG10_RANGE[0]), *_LOG10_RANGE)


def _log10_vectors(timescales: MemoryTimescales, n_tokens: int) -> dict[str, np.ndarray]:
    """``"all steps"`` then the ``n_tokens`` most frequent token types (ties: sorted order)."""
    vectors = {ALL_STEPS: _clipped_log10(np.median(timescales.tau, axis=0))}
    order = np.argsort(-np.asarray(timescales.counts), kind="stable")[:n_tokens]
    for index in order:
        name = f"τ after {_token(timescales.token_types[index])}"
        vectors.setdefault(name, _clipped_log10(timescales.median_tau[index]))
    return vectors
