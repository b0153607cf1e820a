"""`Explorer`: every view of a trace in one widget, linked through one :class:`Selection`.

The Explorer composes the views; it computes nothing itself. What it is given (a model,
hypotheses, fixed points, relevance scores, a response table) decides which views it shows:
a view without its data is left out and a one-line notice says why and how to add it. A
problem with one input (a model that does not fit the trace, a hypothesis that raises on
some sequence) is shown the same way, and everything else still works.

``Explorer.state`` is a finding saved as JSON, which may come from someone else: the setter
reads exactly the fields the getter writes (``_VIEW_FIELDS``), validates every value with the
Selection's checks against this trace and each view's own trait validation, and only then
changes anything (all or nothing). Nothing in a state is evaluated; a value is set on a
trait only after it has been validated as that trait's type. Its typed hypotheses are data:
regular expressions and token sets label the trace again; a Python expression runs only when
the user asks (``restore(state, evaluate_python=True)``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import ipywidgets
import numpy as np
import traitlets

from .. import analysis
from .. import hypotheses as hy
from .._validation import as_kind, as_layer
from ..models import RecurrentModel, wrap
from ..trace import Trace, as_trace
from ._explorer_layout import arrange, checked_views, fit_views, left_out_notice
from ._export import ImageExport, StackedImageExport
from .decay_view import DecayView
from .match_view import MatchView
from .relevance_bars import RelevanceBars
from .response_view import ResponseView
from .select_view import SelectView, check_examples
from .selection import MAX_INDEX, Selection
from .state_space_view import StateSpaceView

__all__ = ["Explorer"]

_STATE_VERSION = 1
_TABLES = ("matches", "fixed_points", "scores", "response")
_TRAJECTORIES = 4
_STIMULUS_STEPS = 20_000
#: The fields of each view that ``Explorer.state`` writes and reads, in order; nothing else.
_VIEW_FIELDS: dict[str, tuple[str, ...]] = {
    "select_view": ("window_start", "examples", "labelling"),
    "match_view": ("top", "track"),
    "state_space_view": ("dims", "condition", "sequences", "spectrum_point"),
    "relevance_bars": ("current", "threshold"),
    "response_view": ("metric", "cell"),
    "decay_view": ("current",),
}
#: Names in a state (tracks, score names, metrics) are at most this long.
_MAX_NAME_CHARS = 256
#: The kinds of typed hypotheses a state restores, and what each restores as.
_TYPED_KINDS = ("regex", "tokens", "python")
#: The most hypotheses a state lists (each is labelled and scored again on restoring).
_MAX_STATE_HYPOTHESES = 100
#: The most characters of one typed hypothesis (as the hypothesis box takes).
_MAX_HYPOTHESIS_CHARS = 10_000


class Explorer(StackedImageExport, ipywidgets.VBox):
    """All views of a trace in one widget: select & match, state space, relevance, response.

    The :class:`SelectView` across the top (brush a range to select cells); under it, side by
    side, the :class:`MatchView` (where else those cells are on), the
    :class:`StateSpaceView` (the brushed range's trajectory drawn thick) and the
    :class:`RelevanceBars` (the selected cells highlighted among the cells ranked by the active
    hypothesis), so that a brush's effect on each is in sight at once (in JupyterLab at
    1,400 x 900 with the side panel open). The :class:`ResponseView` of a model's isolated
    cells is one click away, on the second tab of the strip above the row; for a model linear
    in its state (minGRU, minLSTM, Mamba), the :class:`DecayView` of its cells' memory time
    constants (:func:`~rnn_widgets.analysis.memory_timescales`: which tokens hold a cell, which
    reset it) is on a third tab, "Memory". An output narrower
    than 900 px wraps the row, and under about 640 px the views stack, one under the other.
    All share one :class:`Selection`: cells chosen in any view light up in all, and a hovered
    token is marked in all. The Explorer gives its views compact heights (the SelectView's
    plot 130 px, the state space's 220, the bars' 130 under their hypothesis box, the
    ResponseView's 140); set
    ``explorer.select_view.height`` and so on to change them.

    Each view is an attribute named for its class (``explorer.select_view``,
    ``.match_view``, ``.state_space_view``, ``.relevance_bars``, ``.response_view``,
    ``.decay_view``; also :attr:`views` by the same names); the results keep their nouns
    (``explorer.matches``, ``.fixed_points``, ``.scores``, ``.response``, ``.timescales``;
    :meth:`table`).

    Try a hypothesis without leaving the widget (the guess, look, refine loop of Deep Neural
    Inspection [1]_):
    type a regular expression, tokens or a Python expression over ``tokens`` and ``i`` in the
    bars' box and press Enter (:meth:`RelevanceBars.try_hypothesis`), or label by example
    (the SelectView's "label by example" toggle: drag positive ranges, Shift-drag negative
    ones; :meth:`~rnn_widgets.analysis.CellScorer.score_examples`). Every cell is scored on
    held-out folds as ``score_cells`` does, by one ``CellScorer`` prepared once, the bars
    re-sort, and the labels become a track ``"tried: <name>"`` under the tokens. Each try
    is listed in the box and in :attr:`hypotheses`, and goes into :attr:`state`.

    Views without their data are left out (their attribute None) with a one-line notice
    (``explorer.notices``): no model means no fixed points, no ``response_view`` and no
    ``decay_view`` (which needs a model linear in its state, too); without
    hypotheses or scores the bars start empty, waiting for one typed in their box.
    ``explorer.save_image("all.svg")``
    writes every view, one under the other, in one file (after the Explorer has been
    displayed; see ``docs/export.md``).

    Parameters
    ----------
    trace : Trace
        The captured states (:func:`rnn_widgets.capture`).
    model : RecurrentModel or nn.LSTM / nn.GRU / nn.RNN, optional
        The network the trace was captured from; enables fixed points, the readout
        direction and the response view. A model whose cell count differs from the trace's
        is set aside with a notice.
    hypotheses : Hypothesis, sequence or mapping of Hypothesis, optional
        Labelling functions over tokens (``rnn_widgets.hypotheses``), scored with
        :func:`~rnn_widgets.analysis.score_cells`; one that fails on some sequence is left
        out with a notice naming the sequence and the error.
    scores : CellScores, optional
        Relevance computed beforehand (then ``hypotheses`` are not scored again).
    fixed_points : FixedPoints or bool, optional
        From :func:`~rnn_widgets.analysis.find_fixed_points` on the same layer; ``True``
        searches them from the model (with a progress bar), under zero input for a model of
        float inputs and under the trace's average input (``average_input``) for a token
        model or a deeper layer (in closed form, with no search, for a layer linear in its
        state). A search that fails (a trace without the kinds of the layer's state) leaves
        a notice instead. Points of a flat state wider than the kinds the state space shows
        (a Mamba's ``(h, conv, ssm)``) are placed by their ``h``.
    condition_names : sequence of str, optional
        Names of the fixed points' input conditions (``fixed_points.conditions``), for the
        state space's picker (default ``"input 0"``, ``"input 1"`` ...).
    response : Response or bool, optional
        From :func:`~rnn_widgets.analysis.characterize`; ``True`` (the default when a model
        is given) characterizes the model's cells with the trace as data; ``False`` hides
        the view.
    timescales : MemoryTimescales or bool, optional
        From :func:`~rnn_widgets.analysis.memory_timescales` on the same layer, for the
        ``decay_view``; by default (None) computed from the model when it is linear in its
        state (minGRU, minLSTM, Mamba: ``analysis.LINEAR_FAMILIES``) and the view is shown;
        ``False`` hides the view.
    labels : str or array-like, optional
        Colours the state-space cloud: a track name of the trace or one value per step
        (default: the trace's first track, if any).
    layer : int, optional
        The layer shown (default: the trace's first).
    kind : str, optional
        The state kind shown in the SelectView and scored (default ``"h"``).
    selection : Selection, optional
        A selection to share with views outside the Explorer.
    window_size : int
        Steps the SelectView shows at once (default 40).
    top : int
        Matches listed (default 50).
    views : sequence of str, optional
        The views to show, by their names in :attr:`views` (``"select_view"``,
        ``"match_view"``, ``"state_space_view"``, ``"relevance_bars"``, ``"response_view"``,
        ``"decay_view"``),
        in any order; the layout stays the same. Default: every view there is data for. A
        view left out is None, like one without its data, and a notice names it; without
        ``"response_view"`` the response is not characterized (unless ``response=`` gives it).
        An unknown name raises a ValueError that lists the names.
    progress : bool
        Show progress bars for the work done here (scores, fixed points, time constants).

    References
    ----------
    .. [1] Lin, K., & Wu, E. (2017). Searching for meaning in RNNs using Deep Neural
       Inspection. Columbia University Computer Science Technical Report 003-17.

    Examples
    --------
    >>> from rnn_widgets import zoo, capture, Explorer, hypotheses as hy  # doctest: +SKIP
    >>> data = zoo.data("parentheses_lstm")                         # doctest: +SKIP
    >>> model = zoo.load("parentheses_lstm")                        # doctest: +SKIP
    >>> trace = data.annotate(capture(model, data.sequences))       # doctest: +SKIP
    >>> explorer = Explorer(trace, model, hy.from_task(data))       # doctest: +SKIP
    >>> explorer.selection.cells                                    # doctest: +SKIP

    """

    def __init__(
        self,
        trace: Trace,
        model: Any = None,
        hypotheses: Any = (),
        *,
        scores: Any = None,
        fixed_points: Any = None,
        condition_names: Sequence[str] | None = None,
        response: Any = True,
        timescales: Any = None,
        labels: Any = None,
        layer: int | None = None,
        kind: str | None = None,
        selection: Selection | None = None,
        window_size: int = 40,
        top: int = 50,
        views: Any = None,
        progress: bool = True,
        **kwargs: Any,
    ) -> None:
        self._chosen_views = chosen = checked_views(views)
        if response is True and "response_view" not in chosen:
            response = False  # characterized only for the view
        self._trace = trace = as_trace(trace)
        self._layer = _checked_layer(trace, layer)
        self._kind = _checked_kind(trace, self._layer, kind)
        self._notices: list[str] = []
        self._owns_selection = selection is None
        self._selection = _checked_selection(selection, self._layer, self._kind)
        self._model = self._checked_model(model)
        self._scores = self._relevance(hypotheses, scores, progress)
        self._fixed_points = self._searched_fixed_points(fixed_points, progress)
        self._response = self._characterized(response)
        self._timescales = (
            self._memory_timescales(timescales, progress) if "decay_view" in chosen else None
        )

        self.select_view = (
            SelectView(trace, selection=self._selection, window_size=window_size)
            if "select_view" in chosen
            else None
        )
        self.match_view = (
            MatchView(trace, selection=self._selection, top=top, select_view=self.select_view)
            if "match_view" in chosen
            else None
        )
        self.state_space_view = (
            self._state_space_view(labels, condition_names)
            if "state_space_view" in chosen
            else None
        )
        self.relevance_bars = self._relevance_bars() if "relevance_bars" in chosen else None
        self.response_view = (
            None
            if self._response is None or "response_view" not in chosen
            else ResponseView(
                self._response, selection=self._selection, cell_kinds=self._response_kinds()
            )
        )
        self.decay_view = self._decay_view()
        left_out = left_out_notice(chosen)
        if left_out is not None:
            self._note(left_out)
        self._notice_box = ipywidgets.VBox(
            [_notice(text) for text in self._notices], layout={"margin": "0 0 4px 0"}
        )
        self._notice_box.add_class("rnnw-explorer-notices")
        super().__init__(children=self._children(), **kwargs)
        self.add_class("rnnw-explorer")
        self._selection.observe(self._follow_range, names=["start", "stop"])
        self._following = True
        self._link_hypotheses()

    # ------------------------------------------------------------------ public API

    @property
    def trace(self) -> Trace:
        """The trace every view shows."""
        return self._trace

    @property
    def model(self) -> Any:
        """The model the views that need one use, or None (none given, or it did not fit)."""
        return self._model

    @property
    def selection(self) -> Selection:
        """The Selection every view shares.

        Set it with a :class:`Selection` or a dict from :meth:`Selection.to_dict` (its fields
        are copied into the shared one, so every view follows; cells given are kept even when
        a range is given too), or with an iterable of cell
        indices (selects those cells). Either is validated against the trace first
        (:meth:`Selection.check_state`) and changes nothing when a field is bad.
        """
        return self._selection

    @selection.setter
    def selection(self, value: Any) -> None:
        if isinstance(value, Selection):
            self._restore_selection(value.to_dict())
        elif isinstance(value, Mapping):
            self._restore_selection(value)
        elif isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
            self._restore_selection({"cells": value})
        else:
            raise TypeError(
                "selection must be a Selection, a dict from Selection.to_dict(), or cell "
                f"indices; got {type(value).__name__}"
            )

    @property
    def notices(self) -> tuple[str, ...]:
        """The one-line notices shown above the views (what is hidden or left out, and why)."""
        return tuple(self._notices)

    @property
    def views(self) -> dict[str, Any]:
        """The views shown, by their attribute names (``select_view``, ``match_view``, ...).

        ``select_view``, ``match_view``, ``state_space_view``, ``relevance_bars``,
        ``response_view`` and ``decay_view``; a view left out (its attribute None) is not
        listed.
        """
        views = {
            "select_view": self.select_view,
            "match_view": self.match_view,
            "state_space_view": self.state_space_view,
            "relevance_bars": self.relevance_bars,
            "response_view": self.response_view,
            "decay_view": self.decay_view,
        }
        return {name: view for name, view in views.items() if view is not None}

    @property
    def hypotheses(self) -> tuple[dict[str, Any], ...]:
        """Every hypothesis tried in the bars' box or by example, oldest first.

        Each a dict: ``name``, ``text``, ``kind`` (``"regex"``, ``"tokens"``, ``"python"``
        or ``"examples"``), ``feature``, ``label_type``, ``best_cell`` and ``best_score``
        (and ``examples`` for labelled examples). Their labels are
        ``explorer.relevance_bars.labels(name)``; each is a track ``"tried: <name>"`` in the
        SelectView. Typed ones go into :attr:`state`.
        """
        bars = self.relevance_bars
        return () if bars is None else tuple(dict(entry) for entry in bars.tried)

    @property
    def matches(self) -> Any:
        """The current matches of the selection (a ``MatchResult``), or None before any."""
        return None if self.match_view is None else self.match_view.result

    @property
    def fixed_points(self) -> Any:
        """The fixed points drawn (a ``FixedPoints``), or None."""
        return self._fixed_points

    @property
    def scores(self) -> Any:
        """The relevance of every cell to every hypothesis (a ``CellScores``), or None."""
        return self._scores

    @property
    def response(self) -> Any:
        """The response characterization of the model's cells (a ``Response``), or None."""
        return self._response

    @property
    def timescales(self) -> Any:
        """The memory time constants of the layer's cells (``MemoryTimescales``), or None."""
        return self._timescales

    def table(self, name: str) -> Any:
        """One of the Explorer's results as a ``pandas.DataFrame`` (needs pandas).

        Parameters
        ----------
        name : {"matches", "fixed_points", "scores", "response"}
            ``matches``: one row per current match (sequence, start, stop, shared, union,
            text); ``fixed_points``: one row per point (condition, q, stability, largest
            |eigenvalue|, its time constant, attractor); ``scores``: the tidy relevance table
            (hypothesis, cell, score, ...); ``response``: one row per cell, one column per
            metric.

        Raises
        ------
        ValueError
            For an unknown name, or a result this Explorer does not have.

        """
        if name not in _TABLES:
            raise ValueError(f"name must be one of {list(_TABLES)}, got {name!r}")
        pd = _pandas()
        rows = {
            "matches": self._match_rows,
            "fixed_points": self._fixed_point_rows,
            "scores": self._score_rows,
            "response": self._response_rows,
        }[name]()
        if rows is None:
            raise ValueError(f"this Explorer has no {name}: {self._missing_reason(name)}")
        return pd.DataFrame(rows)

    @property
    def state(self) -> dict[str, Any]:
        """A finding as JSON-ready values: the selection and where each view stands.

        Keys: ``version``, ``selection`` (:meth:`Selection.to_dict`) and one per view shown,
        named as in :attr:`views` (``select_view``, ``match_view``, ``state_space_view``,
        ``relevance_bars``, ``response_view``), each a dict of that view's traits. Set it
        (with what an earlier ``state`` returned, e.g. read back from a JSON file) to restore
        the finding in this Explorer; parts and fields left out keep their values.

        Setting it validates everything before changing anything: the version, the parts
        (only views this Explorer shows) and their fields (only those listed above), each
        value's type (an int is not a bool, a float or a string) and range (the selection
        against this trace, as :meth:`Selection.check_state`; each view's value as the view
        itself validates it). A state with one bad field raises a ``TypeError`` or
        ``ValueError`` naming it, e.g. ``state['selection']['cells'][3]``, and changes
        nothing. Nothing in a state is evaluated as code.

        ``hypotheses`` lists the hypotheses typed in the bars' box (kind, text, feature), and
        ``select_view`` holds the labelled ``examples``: restoring labels and scores them
        again (:meth:`restore`); a saved Python expression is not run unless
        ``restore(state, evaluate_python=True)`` says so.
        """
        state: dict[str, Any] = {
            "version": _STATE_VERSION,
            "selection": self._selection.to_dict(),
        }
        for part, view in self.views.items():
            state[part] = {name: _plain(getattr(view, name)) for name in _VIEW_FIELDS[part]}
        typed = [entry for entry in self.hypotheses if entry["kind"] in _TYPED_KINDS]
        if typed:
            state["hypotheses"] = [
                {"kind": e["kind"], "text": e["text"], "feature": e["feature"]} for e in typed
            ]
        return state

    @state.setter
    def state(self, state: Mapping[str, Any]) -> None:
        self.restore(state)

    def restore(self, state: Mapping[str, Any], *, evaluate_python: bool = False) -> None:
        """Restore a finding saved by :attr:`state`; ``explorer.state = saved`` does the same.

        Everything is validated before anything changes (see :attr:`state`). Then the
        selection is set, the saved hypotheses are labelled and scored again in their order
        (regular expressions and token sets as data), the SelectView's examples are scored
        again, and each view's fields are set; the bars show the saved ``current`` when it
        exists again.

        Parameters
        ----------
        state : dict
            What :attr:`state` returned (e.g. read back from a JSON file).
        evaluate_python : bool
            Whether saved Python-expression hypotheses are evaluated in this kernel. Off by
            default: a state may come from someone else, and a Python expression runs any code;
            without it they are listed in the bars' notice instead, to try by hand.

        Raises
        ------
        TypeError, ValueError
            On a bad state, naming the first bad field; nothing changes then.

        """
        if type(evaluate_python) is not bool:
            raise TypeError(f"evaluate_python must be True or False, got {evaluate_python!r}")
        selection, views = self._checked_state(state)
        hypotheses = self._checked_hypotheses(state.get("hypotheses", []))
        if "current" in views.get("relevance_bars", {}):
            self._check_current(views, hypotheses)
        if selection is not None:
            self._apply_selection(selection)
        self._retry_hypotheses(hypotheses, evaluate_python)
        for part, fields in views.items():
            view = self.views[part]
            current = fields.pop("current", None) if part == "relevance_bars" else None
            with view.hold_sync():
                for name, value in fields.items():
                    setattr(view, name, value)
                if current is not None and current in view.names:
                    view.current = current

    def _checked_hypotheses(self, entries: Any) -> list[dict[str, str]]:
        """The typed hypotheses of a state, each a dict of kind, text and feature."""
        where = "state['hypotheses']"
        if not isinstance(entries, list):
            raise TypeError(f"{where} must be a list, got {type(entries).__name__}")
        if entries and (self.relevance_bars is None or self.relevance_bars.trace is None):
            raise ValueError(
                f"{where} lists hypotheses but this Explorer has no hypothesis box "
                f"({self._why_absent('relevance_bars')}); drop that part of the state"
            )
        if len(entries) > _MAX_STATE_HYPOTHESES:
            raise ValueError(
                f"{where} lists {len(entries)} hypotheses, more than {_MAX_STATE_HYPOTHESES}"
            )
        checked = []
        for index, entry in enumerate(entries):
            path = f"{where}[{index}]"
            if not isinstance(entry, Mapping) or set(entry) != {"kind", "text", "feature"}:
                raise ValueError(f"{path} must be a dict of exactly 'kind', 'text' and 'feature'")
            kind, text, feature = entry["kind"], entry["text"], entry["feature"]
            if kind not in _TYPED_KINDS:
                raise ValueError(f"{path}['kind'] is {kind!r:.60}; one of {list(_TYPED_KINDS)}")
            if not isinstance(text, str) or not text or len(text) > _MAX_HYPOTHESIS_CHARS:
                raise ValueError(
                    f"{path}['text'] must be a non-empty str of at most "
                    f"{_MAX_HYPOTHESIS_CHARS:,} characters"
                )
            if feature not in ("range", "impulse"):
                raise ValueError(f"{path}['feature'] is {feature!r:.60}; 'range' or 'impulse'")
            checked.append({"kind": kind, "text": text, "feature": feature})
        return checked

    def _check_current(self, views: dict[str, dict[str, Any]], hypotheses: list[dict]) -> None:
        """The bars' saved ``current`` must name a vector shown once the state is restored."""
        bars = self.relevance_bars
        names = set(bars.names)
        for entry in hypotheses:  # their names, without labelling anything
            with contextlib.suppress(TypeError, ValueError):
                names.add(
                    hy.from_text(entry["text"], kind=entry["kind"], feature=entry["feature"]).name
                )
        examples = views.get("select_view", {}).get("examples", [])
        if any(example["label"] == 1 for example in examples):
            names.add("examples")
        current = views["relevance_bars"]["current"]
        if current not in names and not (current == "" and not bars.names):
            raise ValueError(
                f"state['relevance_bars']['current'] {current!r:.80} is not one of the score "
                f"names {sorted(names)} (nor a hypothesis of the state)"
            )

    def _retry_hypotheses(self, hypotheses: list[dict[str, str]], evaluate_python: bool) -> None:
        """Label and score the saved hypotheses again; an error shows under the box."""
        bars = self.relevance_bars
        skipped = []
        for entry in hypotheses:
            if entry["kind"] == "python" and not evaluate_python:
                skipped.append(entry["text"])
                continue
            with contextlib.suppress(TypeError, ValueError, RuntimeError):
                bars.try_hypothesis(entry["text"], kind=entry["kind"], feature=entry["feature"])
        if skipped:
            listed = "; ".join(repr(text[:80]) for text in skipped[:5])
            bars.message = (
                f"{len(skipped)} saved Python hypothesis(es) not evaluated ({listed}): a state "
                "may come from someone else; try them in the box, or restore with "
                "explorer.restore(state, evaluate_python=True)"
            )

    def _checked_state(self, state: Any) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
        """Every field of a saved state, validated; raises naming the first bad one."""
        if not isinstance(state, Mapping):
            raise TypeError(f"state must be a dict from Explorer.state, got {type(state).__name__}")
        version = state.get("version")
        if type(version) is not int or version != _STATE_VERSION:
            raise ValueError(
                f"state has version {version!r:.60} ({type(version).__name__}); this release "
                f"reads version {_STATE_VERSION} (a dict from Explorer.state)"
            )
        shown = self.views
        parts = ["version", "selection", "hypotheses", *_VIEW_FIELDS]
        unknown = [part for part in state if part not in parts]
        if unknown:
            raise ValueError(
                f"state has unknown parts [{', '.join(sorted(map(repr, unknown)))}]; its parts "
                f"are 'version', 'selection', 'hypotheses' and one per view, named as in "
                "Explorer.views: "
                f"{list(_VIEW_FIELDS)}"
            )
        absent = [part for part in _VIEW_FIELDS if part in state and part not in shown]
        if absent:
            raise ValueError(
                f"state['{absent[0]}'] is for a view this Explorer does not show "
                f"({self._why_absent(absent[0])}); drop that part of the state, or build the "
                "Explorer with what the view needs"
            )
        selection = None
        if "selection" in state:
            selection = self._selection.check_state(
                state["selection"], trace=self._trace, name="state['selection']"
            )
        views: dict[str, dict[str, Any]] = {}
        for part in _VIEW_FIELDS:
            if part in state:
                views[part] = self._checked_view_fields(part, shown[part], state[part])
        return selection, views

    def _checked_view_fields(self, part: str, view: Any, fields: Any) -> dict[str, Any]:
        where = f"state[{part!r}]"
        if not isinstance(fields, Mapping):
            raise TypeError(
                f"{where} must be a dict of the view's fields {list(_VIEW_FIELDS[part])}, got "
                f"{type(fields).__name__}"
            )
        unknown = [name for name in fields if name not in _VIEW_FIELDS[part]]
        if unknown:
            raise ValueError(
                f"{where} has unknown fields [{', '.join(sorted(map(repr, unknown)))}]; "
                f"{part} saves only {list(_VIEW_FIELDS[part])}"
            )
        checked = {}
        for name in _VIEW_FIELDS[part]:
            if name in fields:
                checked[name] = self._checked_view_value(view, name, fields[name], where)
        return checked

    def _checked_view_value(self, view: Any, name: str, value: Any, where: str) -> Any:
        """``value`` validated as the view's trait ``name`` would validate it, and stricter.

        The view's own validation (its trait type and ``@validate`` handlers) runs without
        setting anything; before it, ints must be ints ``0 .. 2**32 - 1`` (not bools, floats
        or strings), lists must be lists of such ints and names short strings.
        """
        path = f"{where}[{name!r}]"
        if name == "examples":
            return check_examples(value, int(self._trace.n_steps), name=path)
        if name == "labelling" and type(value) is not bool:
            raise TypeError(f"{path} must be True or False, got {type(value).__name__}")
        if name == "current" and isinstance(view, DecayView):
            if not isinstance(value, str):
                raise TypeError(f"{path} must be a str, got {type(value).__name__}")
            if value not in view.names:
                raise ValueError(f"{path} {value!r:.80} is not one of the bars {list(view.names)}")
            return value
        if name == "current" and isinstance(view, RelevanceBars):
            # A tried hypothesis's name exists again only once the hypotheses are restored.
            if not isinstance(value, str):
                raise TypeError(f"{path} must be a str, got {type(value).__name__}")
            if len(value) > _MAX_NAME_CHARS:
                raise ValueError(f"{path} must be a name of at most {_MAX_NAME_CHARS} characters")
            return value
        owner = _trait_owner(view, name)
        trait = owner.traits()[name]
        if value is None and trait.allow_none:
            return None
        if isinstance(trait, traitlets.Int):
            _strict_index(value, path)
        elif isinstance(trait, traitlets.List):
            if not isinstance(value, (list, tuple)):
                raise TypeError(f"{path} must be a list of ints, got {type(value).__name__}")
            for position, item in enumerate(value):
                _strict_index(item, f"{path}[{position}]")
        elif isinstance(trait, traitlets.Unicode):
            if not isinstance(value, str):
                raise TypeError(f"{path} must be a str, got {type(value).__name__}")
            if len(value) > _MAX_NAME_CHARS:
                raise ValueError(f"{path} must be a name of at most {_MAX_NAME_CHARS} characters")
        elif isinstance(trait, traitlets.Float):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{path} must be a number, got {type(value).__name__}")
        if name == "window_start" and value >= self._trace.n_steps:
            raise ValueError(
                f"{path} is {value}, but the trace has {self._trace.n_steps} steps; it must be "
                f"below {self._trace.n_steps}"
            )
        if name == "metric" and value not in self._response.metric_names:
            raise ValueError(
                f"{path} is {value!r}, which is not one of the response's metrics "
                f"{list(self._response.metric_names)}"
            )
        try:
            return trait._validate(owner, value)  # the view's own checks; sets nothing
        except ValueError as error:  # first: a bound's BoundError is also a TraitError
            raise ValueError(f"{path}: {error}") from None
        except traitlets.TraitError as error:
            raise TypeError(f"{path}: {_one_line(error)}") from None
        except TypeError as error:
            raise TypeError(f"{path}: {error}") from None

    def _why_absent(self, part: str) -> str:
        if part not in self._chosen_views:
            return "views= leaves it out"
        if part == "relevance_bars":
            return "its scores could not be shown (see explorer.notices)"
        if part == "response_view":
            return "it has no model of token inputs, or response=False"
        if part == "decay_view":
            return "it has no model linear in its state, or timescales=False"
        return "it was left out"

    def _restore_selection(self, state: Any) -> None:
        """Validate ``state`` against the trace, then set the fields given."""
        self._apply_selection(
            self._selection.check_state(state, trace=self._trace, name="selection")
        )

    def _apply_selection(self, fields: Mapping[str, Any]) -> None:
        """Set validated fields; cells given explicitly win over those the range selects."""
        self._selection.apply_fields(fields)
        if "cells" in fields:
            # A new range makes the SelectView compute its cells; a saved finding keeps the
            # cells it had (perhaps toggled by hand after the brush).
            self._selection.cells = fields["cells"]

    # ------------------------------------------------------------------ inputs

    def _note(self, text: str) -> None:
        self._notices.append(text)

    def _checked_model(self, model: Any) -> Any:
        if model is None:
            self._note(
                "Fixed points, response_view and decay_view need the model: "
                "Explorer(trace, model, ...)"
            )
            return None
        if not isinstance(model, RecurrentModel):
            try:
                model = wrap(model)
            except (TypeError, ValueError) as error:
                self._note(f"The model was set aside: {error}")
                return None
        if self._layer not in model.layers:
            self._note(
                f"The model was set aside: it has layers {list(model.layers)}, the trace shows "
                f"layer {self._layer}"
            )
            return None
        # Compare a kind both have (h, the layer's output): a Mamba layer's cells are its SSM
        # channels, wider than its output.
        kinds = [k for k in self._trace.kinds(layer=self._layer) if k in model.kinds]
        kind = "h" if "h" in kinds else (kinds[0] if kinds else None)
        if kind is None:
            self._note(
                f"The model was set aside: the trace records none of its kinds "
                f"{list(model.kinds)} in layer {self._layer}"
            )
            return None
        ours = model.n_cells(layer=self._layer, kind=kind)
        theirs = self._trace.n_cells(layer=self._layer, kind=kind)
        if ours != theirs:
            self._note(
                f"The model was set aside: its kind {kind!r} has {ours} cells in layer "
                f"{self._layer} but the trace's has {theirs}; capture the trace from this model "
                "with rnn_widgets.capture(model, sequences)"
            )
            return None
        return model

    def _relevance(self, hypotheses: Any, scores: Any, progress: bool) -> Any:
        self._scorer = None
        if scores is not None:
            return scores
        if hypotheses is None or (isinstance(hypotheses, (Sequence, Mapping)) and not hypotheses):
            return None  # the bars start empty, with the hypothesis box
        labels = self._labels_that_work(hypotheses)
        if labels is None:
            return None
        try:
            # Prepared once and handed to the bars, so a hypothesis typed later scores at once.
            self._scorer = analysis.CellScorer(
                self._trace, layer=self._layer, kind=self._kind, progress=progress
            )
            return self._scorer.score(labels, progress=progress)
        except (TypeError, ValueError) as error:
            self._note(f"relevance_bars is left out: {_one_line(error)}")
            return None

    def _labels_that_work(self, hypotheses: Any) -> Any:
        """Every hypothesis's labels; one that raises is left out with a notice."""
        try:
            chosen = hy.as_hypotheses(hypotheses)
        except (TypeError, ValueError) as error:
            self._note(f"relevance_bars is left out: {error}")
            return None
        working = []
        for item in chosen:
            try:
                labels = hy.evaluate(self._trace, [item])
            except Exception as error:  # a user's function may raise anything
                self._note(f"Hypothesis {item.name!r} was left out: {_one_line(error)}")
                continue
            if np.ptp(labels.values) == 0:
                self._note(
                    f"Hypothesis {item.name!r} was left out: it is constant over the trace "
                    "(nothing to predict)"
                )
                continue
            working.append(labels)
        if not working:
            self._note("relevance_bars is left out: no hypothesis could be evaluated")
            return None
        return hy.LabelSet(
            names=tuple(name for labels in working for name in labels.names),
            label_types=tuple(t for labels in working for t in labels.label_types),
            values=np.concatenate([labels.values for labels in working]),
            descriptions=tuple(d for labels in working for d in labels.descriptions),
        )

    def _searched_fixed_points(self, fixed_points: Any, progress: bool) -> Any:
        if fixed_points is None or fixed_points is False:
            if self._model is not None:
                self._note(
                    "Fixed points are not drawn: pass fixed_points=True to search them, or "
                    "fixed_points=find_fixed_points(model, trace)"
                )
            return None
        if fixed_points is True:
            if self._model is None:
                return None  # the model's notice says why
            try:
                return analysis.find_fixed_points(
                    self._model,
                    self._trace,
                    self._constant_input(),
                    layer=self._layer,
                    progress=progress,
                )
            except (TypeError, ValueError) as error:
                self._note(f"Fixed points are not drawn: {_one_line(error)}")
                return None
        return fixed_points

    def _constant_input(self) -> Any:
        """Zero for float inputs; for tokens, the average input the trace's sequences read.

        Zero is not a token: a token model never reads it, and its dynamics under it can
        differ from those it integrates with (the line-attractor paper's alternative: see
        ``average_input``).
        """
        if self._model.vocab is None and self._layer == 0:
            return None
        return analysis.average_input(self._model, self._trace, layer=self._layer)

    def _response_kinds(self) -> tuple[str, ...]:
        """The trace's kinds whose cells are the response's cells, its own kind first.

        The cell group of the characterized kind (a Mamba's channels: ``y``, ``x``, ``delta``;
        an LSTM's h, c and gates); the response's kind alone when the trace lacks it.
        """
        layer, kind = self._response.layer, self._response.kind
        if layer not in self._trace.layers or kind not in self._trace.kinds(layer=layer):
            return (kind,)
        group = self._trace.cell_group(layer=layer, kind=kind)
        same = [
            other
            for other in self._trace.kinds(layer=layer)
            if other != kind and self._trace.cell_group(layer=layer, kind=other) == group
        ]
        return (kind, *same)

    def _characterized(self, response: Any) -> Any:
        if response is False or response is None:
            return None
        if response is not True:
            return response
        if self._model is None:
            return None  # the model's notice says why
        try:
            analysis.isolate(self._model, layer=self._layer)
        except TypeError as error:
            self._note(f"response_view is left out: {_one_line(error)}")
            return None
        if self._model.vocab is None:
            self._note(
                "response_view is left out: this model reads float inputs, which a trace does "
                "not hold; pass response=characterize(model, sequences=inputs)"
            )
            return None
        try:
            return analysis.characterize(
                self._model, layer=self._layer, sequences=self._stimulus_data()
            )
        except (TypeError, ValueError) as error:
            self._note(f"response_view is left out: {_one_line(error)}")
            return None

    def _stimulus_data(self) -> list[Any]:
        """The trace's first sequences, up to enough steps to design the stimuli from.

        The stimuli need the inputs' range and main frequency, which a few ten thousand
        steps pin down; encoding a whole long corpus would only slow the Explorer down.
        """
        tokens, sequences, steps = self._trace.tokens, [], 0
        for start, stop in self._trace.sequence_bounds:
            sequences.append(list(tokens[start:stop]))
            steps += stop - start
            if steps >= _STIMULUS_STEPS:
                break
        return sequences

    def _memory_timescales(self, timescales: Any, progress: bool) -> Any:
        """The layer's memory time constants: given, or computed for a linear model."""
        if timescales is False:
            return None
        if timescales is not None and timescales is not True:
            if not isinstance(timescales, analysis.MemoryTimescales):
                raise TypeError(
                    "timescales must be a MemoryTimescales from "
                    "rnn_widgets.analysis.memory_timescales, True, False or None; got "
                    f"{type(timescales).__name__}"
                )
            if timescales.layer != self._layer or len(timescales.tau) != self._trace.n_steps:
                raise ValueError(
                    f"timescales are of layer {timescales.layer} over {len(timescales.tau)} "
                    f"steps, but the Explorer shows layer {self._layer} of a trace of "
                    f"{self._trace.n_steps} steps; compute them with "
                    f"memory_timescales(trace, model, layer={self._layer})"
                )
            return timescales
        if self._model is None:
            return None  # the model's notice says why
        if self._model.family not in analysis.LINEAR_FAMILIES:
            # Not missing data: the panel does not apply to an LSTM or GRU, so no notice
            # (every LSTM's Explorer would carry one).
            return None
        try:
            return analysis.memory_timescales(
                self._trace, self._model, layer=self._layer, progress=progress
            )
        except (TypeError, ValueError) as error:
            self._note(f"decay_view is left out: {_one_line(error)}")
            return None

    # ------------------------------------------------------------------ views

    def _state_space_view(
        self, labels: Any, condition_names: Sequence[str] | None
    ) -> StateSpaceView:
        trace, layer = self._trace, self._layer
        kinds: tuple[str, ...] = ("h",) if "h" in trace.kinds(layer=layer) else (self._kind,)
        if self._fixed_points is not None and "c" in trace.kinds(layer=layer):
            width = np.asarray(self._fixed_points.states).shape[1]
            both = ("h", "c")
            if "h" in kinds and width == sum(trace.n_cells(layer=layer, kind=k) for k in both):
                kinds = ("h", "c")
        if labels is None and trace.tracks:
            labels = next(iter(trace.tracks))
        return StateSpaceView(
            trace,
            fixed_points=self._fixed_points,
            model=self._model,
            selection=self._selection,
            layer=layer,
            kinds=kinds,
            labels=labels,
            readout=self._readout(),
            condition_names=None if self._fixed_points is None else condition_names,
            height=380,
        )

    def _decay_view(self) -> DecayView | None:
        """The DecayView on a kind of the trace with as many cells as the time constants."""
        timescales = self._timescales
        if timescales is None:
            return None
        kinds = self._trace.kinds(layer=self._layer)
        family = analysis.LINEAR_FAMILIES.get(timescales.family)
        candidates = [self._kind, "h", *(family.decay_kinds if family else ()), *kinds]
        fitting = [
            kind
            for kind in dict.fromkeys(candidates)
            if kind in kinds
            and self._trace.n_cells(layer=self._layer, kind=kind) == timescales.n_cells
        ]
        if not fitting:
            self._note(
                f"decay_view is left out: no kind of layer {self._layer} of the trace has the "
                f"{timescales.n_cells} cells of the time constants"
            )
            return None
        return DecayView(timescales, selection=self._selection, kind=fitting[0])

    def _readout(self) -> Any:
        module = None if self._model is None else self._model.readout_module
        weight = getattr(module, "weight", None)
        if weight is None or weight.ndim != 2 or len(weight) > 2:
            return None  # a language model's readout has one row per token: no one direction
        if weight.shape[1] != self._trace.n_cells(layer=self._layer):
            return None
        return weight.detach().cpu().numpy()

    def _relevance_bars(self) -> RelevanceBars | None:
        if self._scores is None:
            return RelevanceBars(
                {}, selection=self._selection, layer=self._layer, kind=self._kind,
                trace=self._trace,
            )  # fmt: skip
        try:
            return RelevanceBars.from_scores(
                self._scores,
                selection=self._selection,
                current=_best_explained(self._scores),
                height=380,
                trace=self._trace,
                scorer=self._scorer,
            )
        except (TypeError, ValueError):
            pass  # scores of some cells only: bars without the hypothesis box
        try:
            bars = RelevanceBars.from_scores(
                self._scores,
                selection=self._selection,
                current=_best_explained(self._scores),
                height=380,
            )
        except (TypeError, ValueError) as error:
            self._note(f"relevance_bars is left out: {_one_line(error)}")
            return None
        self._note(
            "The hypothesis box is left out: the scores given cover only some cells; pass "
            "scores of every cell (score_cells without cells=) to try hypotheses here"
        )
        return bars

    def _children(self) -> list[Any]:
        """The views sized for the Explorer and laid out (``_explorer_layout``), notices first."""
        views = self.views
        fit_views(views)
        return arrange(views, self._notice_box if self._notices else None)

    def close(self) -> None:
        """Close the Explorer and every widget in it, and stop following the selection.

        A selection passed in (shared with views outside) stays open; one the Explorer made
        is closed with it.
        """
        built = self.__dict__.get("_following", False)  # False when __init__ failed
        if built:
            self._selection.unobserve(self._follow_range, names=["start", "stop"])
            self._following = False
            for widget in self._owned_widgets():
                widget.close()
            if self._owns_selection:
                self._selection.close()
        super().close()

    def _owned_widgets(self) -> list[Any]:
        """Every widget the Explorer made, innermost first (views, their parts, the boxes)."""
        candidates: list[Any] = []
        for view in self.views.values():
            candidates += [*getattr(view, "children", ()), view]
        for box in (self._notice_box, *self.children):
            candidates += [*getattr(box, "children", ()), box]
        owned: list[Any] = []
        for widget in candidates:  # each once: closing twice would unobserve twice
            if not any(widget is seen for seen in owned):
                owned.append(widget)
        return owned

    def _exportable_children(self) -> list[ImageExport]:
        """Every view shown, top to bottom (a composite view's parts in its own order)."""
        views: list[Any] = []
        for view in self.views.values():
            views += getattr(view, "children", None) or [view]
        return [view for view in views if isinstance(view, ImageExport)]

    # ------------------------------------------------------------------ linking

    def _link_hypotheses(self) -> None:
        """Tried hypotheses become tracks in the SelectView; its examples are scored."""
        bars = self.relevance_bars
        if bars is None or bars.trace is None:
            return
        if self.select_view is not None:
            bars.observe(self._show_tried_tracks, names=["tried"])
            self.select_view.observe(self._score_examples, names=["examples"])

    def _show_tried_tracks(self, change: dict[str, Any]) -> None:
        """The SelectView's trace: this trace with each tried hypothesis's labels as a track."""
        bars = self.relevance_bars
        trace = self._trace
        for entry in change["new"]:
            trace = trace.with_track(_track_name(entry["name"]), bars.labels(entry["name"]),
                                     "numeric")  # fmt: skip
        self.select_view.trace = trace

    def _score_examples(self, change: dict[str, Any]) -> None:
        """Rank the cells by the examples brushed in the SelectView (errors shown in place)."""
        examples = change["new"]
        if not any(example["label"] == 1 for example in examples):
            return  # nothing to score yet: the first positive brush starts it
        with contextlib.suppress(TypeError, ValueError, RuntimeError):
            self.relevance_bars.try_examples(examples)  # an error shows under the box

    def _follow_range(self, change: dict[str, Any]) -> None:
        """Draw the brushed range's sequence among the state-space trajectories."""
        selected = self._selection.range
        if selected is None or self.state_space_view is None:
            return
        sequence = int(self._trace.sequence_of(selected[0]))
        shown = list(self.state_space_view.sequences)
        if sequence in shown:
            return
        self.state_space_view.sequences = [sequence, *shown][:_TRAJECTORIES]

    # ------------------------------------------------------------------ tables

    def _match_rows(self) -> list[dict[str, Any]] | None:
        result = self.matches
        if result is None:
            return None
        tokens = self._trace.tokens
        return [
            {
                "rank": rank,
                "sequence": m.sequence,
                "start": m.start,
                "stop": m.stop,
                "shared": m.shared,
                "union": m.union,
                "text": " ".join(str(t) for t in tokens[m.start : m.stop]),
            }
            for rank, m in enumerate(result.matches)
        ]

    def _fixed_point_rows(self) -> list[dict[str, Any]] | None:
        return None if self._fixed_points is None else self._fixed_points.to_rows()

    def _score_rows(self) -> list[dict[str, Any]] | None:
        return None if self._scores is None else self._scores.to_rows()

    def _response_rows(self) -> list[dict[str, Any]] | None:
        return None if self._response is None else self._response.to_rows()

    def _missing_reason(self, name: str) -> str:
        if name == "matches":
            return "brush a range in the SelectView first (or set selection.cells)"
        if name == "scores":
            return "pass hypotheses=[...] or scores="
        return "pass a model (and fixed_points=True for fixed points)"


def _track_name(name: str) -> str:
    """The SelectView track of a tried hypothesis."""
    return f"tried: {name}"


def _best_explained(scores: Any) -> str | None:
    """The hypothesis some cell predicts best above chance: the bars' first view."""
    above = np.asarray(scores.score, dtype=np.float64) - np.asarray(scores.chance)[:, None]
    best = np.nanmax(np.where(np.isnan(above), -np.inf, above), axis=1)
    return str(scores.hypotheses[int(np.argmax(best))]) if len(best) else None


def _checked_layer(trace: Trace, layer: Any) -> int:
    return trace.layers[0] if layer is None else as_layer(layer, trace.layers)


def _checked_kind(trace: Trace, layer: int, kind: Any) -> str:
    available = trace.kinds(layer=layer)
    if kind is None:
        return "h" if "h" in available else available[0]
    return as_kind(kind, kinds=available, of=f"layer {layer} of the trace")


def _checked_selection(selection: Any, layer: int, kind: str) -> Selection:
    if selection is None:
        return Selection(layer=layer, kind=kind)
    if not isinstance(selection, Selection):
        raise TypeError(
            f"selection must be an rnn_widgets.Selection, got {type(selection).__name__}"
        )
    return selection


def _notice(text: str) -> ipywidgets.Label:
    label = ipywidgets.Label(value=text)  # a Label shows text, never markup
    label.add_class("rnnw-explorer-notice")
    return label


def _trait_owner(view: Any, name: str) -> Any:
    """The widget holding trait ``name``: the view, or the part a composite view delegates to."""
    if view.has_trait(name):
        return view
    for part in getattr(view, "children", ()):
        if isinstance(part, traitlets.HasTraits) and part.has_trait(name):
            return part
    raise AttributeError(f"{type(view).__name__} has no trait {name!r}")  # a bug, not input


def _strict_index(value: Any, path: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{path} must be an int, got {type(value).__name__} {value!r:.60}")
    if not 0 <= value <= MAX_INDEX:
        raise ValueError(f"{path} must be from 0 to 2**32 - 1, got {value}")


def _plain(value: Any) -> Any:
    """A trait value as JSON-ready data (a traitlets list or tuple as a plain list)."""
    return list(value) if isinstance(value, (list, tuple)) else value


def _one_line(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    first = text.splitlines()[0] if text else type(error).__name__
    return first if len(first) <= 300 else first[:297] + "..."


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError as error:
        raise ImportError(
            "Explorer.table needs pandas (pip install pandas); the same results are on "
            "explorer.matches, .fixed_points, .scores and .response"
        ) from error
    return pd
