"""How the :class:`~rnn_widgets.Explorer` lays out its views, and which it shows (``views=``).

A brush in the SelectView changes the MatchView, the state space and the relevance bars at
once, so those four are in sight together on a laptop's screen (1,400 x 900, JupyterLab with
its side panel open: an output about 970 px wide and 780 px tall):

.. code-block:: text

    notices (one line each: what is left out, and why)
    SelectView                                   across the top, a compact plot
    [ Matches · state space · relevance | Response | Memory ]   a tab strip
    MatchView      | StateSpaceView | RelevanceBars     side by side, the MatchView widest

The secondary panels (the ResponseView, with its own bars, and for a model linear in its state
the DecayView of its memory time constants) are one click away behind the tab strip; the first
tab holds the three views side by side. An output narrower than 900 px wraps the row: the bars
go under the other two, then (under about 640 px) every view takes the whole width, one under
the other, as the Explorer stacked them before.

Why the layout is CSS (``js/src/lib/explorer.css``, carried by every view's stylesheet) and
not a width check in Python: the kernel never learns the output's width, and it changes with
every resize of the window or the side panel. The boxes are plain ipywidgets with classes;
flex-wrap does the rest, in the browser, with no round trip. Why an ``ipywidgets.Tab`` rather
than a ``Stack`` or buttons: a Tab renders every panel, the hidden ones too, so a view behind
a tab keeps its state, follows the shared Selection and can still be exported
(``Explorer.save_image``), while a ``Stack`` re-creates a view each time it is shown.

The Explorer's views are sized to fit (:data:`HEIGHTS`, and :data:`MATCH_CONTEXT` steps of
context in the MatchView so that a match shows whole in its column); a view made on its own
keeps its own defaults.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

import ipywidgets

__all__ = [
    "HEIGHTS",
    "MAIN_VIEWS",
    "MATCH_CONTEXT",
    "SECONDARY_VIEWS",
    "VIEW_NAMES",
    "arrange",
    "checked_views",
    "fit_views",
    "left_out_notice",
]

#: Every view an Explorer can show, by its attribute name (the keys of ``Explorer.views``).
VIEW_NAMES = (
    "select_view",
    "match_view",
    "state_space_view",
    "relevance_bars",
    "response_view",
    "decay_view",
)
#: The views side by side under the SelectView, left to right.
MAIN_VIEWS = ("match_view", "state_space_view", "relevance_bars")
#: The views behind the tab strip, one tab each.
SECONDARY_VIEWS = ("response_view", "decay_view")
#: The plot heights (px) the Explorer gives its views (a composite view's ``height`` goes to each
#: of its parts); the views' own defaults are 300, 420, 240 and 200. With them the SelectView,
#: the tab strip and the row of three views take about 720 px under one notice, and the
#: ResponseView's curves and bars, side by side, fit under the SelectView too.
HEIGHTS: dict[str, int] = {
    "select_view": 130,
    "state_space_view": 220,
    "relevance_bars": 130,
    "response_view": 140,
    "decay_view": 220,
}
#: Steps of context on each side of a match in the Explorer's MatchView (its own default is 5).
MATCH_CONTEXT = 2

_TITLES = {
    "match_view": "matches",
    "state_space_view": "state space",
    "relevance_bars": "relevance",
    "response_view": "response",
    "decay_view": "memory",
}
# The secondary views whose parts sit side by side (the others stack theirs: the DecayView's
# line of text goes under its bars).
_SPLIT = frozenset({"response_view"})


def checked_views(views: Any) -> tuple[str, ...]:
    """The view names ``views`` chooses, in the Explorer's order, or raise naming the bad one.

    Parameters
    ----------
    views : iterable of str, optional
        Names of :data:`VIEW_NAMES`, each at most once, in any order; None chooses them all.

    Returns
    -------
    tuple of str
        The chosen names in the order of :data:`VIEW_NAMES`.

    Raises
    ------
    TypeError
        If ``views`` is a single string, not an iterable, or holds something not a string.
    ValueError
        If it names no view, a view twice, or a name that is not a view (the message lists
        the names there are).

    """
    if views is None:
        return VIEW_NAMES
    if isinstance(views, (str, bytes)):
        raise TypeError(
            f"views must be a list of view names such as ['select_view', 'match_view'], not "
            f"one {type(views).__name__}; got {views!r:.80}; the views are {list(VIEW_NAMES)}"
        )
    if isinstance(views, Mapping) or not isinstance(views, Iterable):
        raise TypeError(
            f"views must be a list of view names from {list(VIEW_NAMES)}, got "
            f"{type(views).__name__}"
        )
    chosen: list[str] = []
    for position, name in enumerate(views):
        if not isinstance(name, str):
            raise TypeError(
                f"views[{position}] must be a view name (a str) from {list(VIEW_NAMES)}, got "
                f"{type(name).__name__} {name!r:.60}"
            )
        if name not in VIEW_NAMES:
            close = difflib.get_close_matches(name, VIEW_NAMES, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"views[{position}] is {name!r:.80}, which is not a view of the Explorer; the "
                f"views are {list(VIEW_NAMES)}{hint}"
            )
        if name in chosen:
            raise ValueError(f"views names {name!r} twice; name each view at most once")
        chosen.append(name)
    if not chosen:
        raise ValueError(f"views must name at least one view of {list(VIEW_NAMES)}")
    return tuple(name for name in VIEW_NAMES if name in chosen)


def left_out_notice(chosen: Iterable[str]) -> str | None:
    """The notice for the views ``views=`` leaves out, or None when it leaves none out."""
    chosen = tuple(chosen)
    left_out = [name for name in VIEW_NAMES if name not in chosen]
    if not left_out:
        return None
    one = len(left_out) == 1
    return (
        f"{', '.join(left_out)} {'is' if one else 'are'} left out: views={list(chosen)} does "
        f"not name {'it' if one else 'them'}"
    )


def fit_views(views: Mapping[str, Any]) -> None:
    """Size the Explorer's views for its layout: :data:`HEIGHTS`, :data:`MATCH_CONTEXT`.

    ``views`` maps names of :data:`VIEW_NAMES` to the views the Explorer made (None for a view
    it does not show).
    """
    for name, height in HEIGHTS.items():
        view = views.get(name)
        for part in [] if view is None else getattr(view, "children", None) or [view]:
            if part.has_trait("height"):
                part.height = height
    match_view = views.get("match_view")
    if match_view is not None:
        match_view.context = MATCH_CONTEXT


def arrange(views: Mapping[str, Any], notices: Any = None) -> list[Any]:
    """The Explorer's children: the notices, the SelectView, then the views under it.

    Parameters
    ----------
    views : mapping of str to widget or None
        The views by their names in :data:`VIEW_NAMES`; None (or absent) for a view not shown.
    notices : widget, optional
        The box of notices, put first; None when there is none.

    Returns
    -------
    list of widgets
        The notices, the SelectView (when shown), then the :data:`MAIN_VIEWS` side by side in a
        box of class ``rnnw-explorer-main``; with :data:`SECONDARY_VIEWS` too, that box and
        each secondary view are the tabs of an ``ipywidgets.Tab`` (class
        ``rnnw-explorer-tabs``). The views get the classes the CSS places them by:
        ``rnnw-explorer-panel``, and ``rnnw-explorer-fill`` for the MatchView; a secondary view
        made of parts side by side (the ResponseView) gets ``rnnw-explorer-split``.
    """
    shown = {name: views[name] for name in VIEW_NAMES if views.get(name) is not None}
    children: list[Any] = [] if notices is None else [notices]
    if "select_view" in shown:
        children.append(shown["select_view"])
    main = [name for name in MAIN_VIEWS if name in shown]
    for name in main:
        shown[name].add_class("rnnw-explorer-panel")
    if "match_view" in shown:
        shown["match_view"].add_class("rnnw-explorer-fill")
    panels: list[tuple[str, Any]] = []
    if main:
        row = ipywidgets.Box([shown[name] for name in main])
        row.add_class("rnnw-explorer-main")
        title = " · ".join(_TITLES[name] for name in main)
        panels.append((title[:1].upper() + title[1:], row))
    for name in SECONDARY_VIEWS:
        if name in shown:
            if name in _SPLIT:
                shown[name].add_class("rnnw-explorer-split")
            panels.append((_TITLES[name].capitalize(), shown[name]))
    if len(panels) == 1:
        children.append(panels[0][1])
    elif panels:
        tabs = ipywidgets.Tab(
            [panel for _, panel in panels], titles=[title for title, _ in panels], selected_index=0
        )
        tabs.add_class("rnnw-explorer-tabs")
        children.append(tabs)
    return children
