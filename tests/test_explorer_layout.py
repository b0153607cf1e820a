"""The Explorer's layout and ``views=``: which views it shows, where, and how they are sized.

Where the views land on a screen is the browser test's (``test_explorer_layout_browser.py``);
here, the boxes the layout builds, their classes, the views' sizes and the validation of
``views=``.
"""

from __future__ import annotations

import ipywidgets
import numpy as np
import pytest

from rnn_widgets import Explorer, SelectView, Trace, capture, zoo
from rnn_widgets import hypotheses as hy
from rnn_widgets.widgets import _explorer_layout as layout
from rnn_widgets.widgets.match_view import MatchView

_RNG = np.random.default_rng(3)
_TOKENS = [list(_RNG.choice(list("xyz"), size=20)) for _ in range(6)]
_STATES = _RNG.normal(0, 0.3, size=(sum(map(len, _TOKENS)), 5))


def _planted() -> Trace:
    return Trace.from_arrays(_TOKENS, {"h": _STATES})


@hy.hypothesis
def is_x(tokens):
    """The token is x."""
    return [t == "x" for t in tokens]


@pytest.fixture(scope="module")
def full() -> Explorer:
    """The Explorer with all five views (a shipped model, its task's hypotheses)."""
    data = zoo.data("parentheses_lstm").subset(range(6))
    model = zoo.load("parentheses_lstm")
    trace = data.annotate(capture(model, data.sequences, kinds=["h", "c"], progress=False))
    explorer = Explorer(trace, model, hy.from_task(data), progress=False)
    yield explorer
    explorer.close()


def _widgets_under(widget) -> list:
    """Every widget in ``widget``'s tree of children, ``widget`` included."""
    found = [widget]
    for child in getattr(widget, "children", ()):
        found += _widgets_under(child)
    return found


# ---------------------------------------------------------------------- the layout


def test_the_selectview_is_on_top_and_the_three_linked_views_side_by_side_under_it(full):
    notices, select, tabs = full.children
    assert "rnnw-explorer-notices" in notices._dom_classes
    assert select is full.select_view
    assert isinstance(tabs, ipywidgets.Tab) and "rnnw-explorer-tabs" in tabs._dom_classes
    row, response = tabs.children
    assert "rnnw-explorer-main" in row._dom_classes
    assert list(row.children) == [full.match_view, full.state_space_view, full.relevance_bars]
    assert response is full.response_view


def test_the_response_view_is_one_click_away_on_the_second_tab(full):
    tabs = full.children[-1]
    assert tabs.selected_index == 0  # the linked views show first
    assert tabs.titles == ("Matches · state space · relevance", "Response")
    assert "rnnw-explorer-split" in full.response_view._dom_classes  # curves beside bars


def test_the_views_carry_the_classes_the_css_places_them_by(full):
    for view in (full.match_view, full.state_space_view, full.relevance_bars):
        assert "rnnw-explorer-panel" in view._dom_classes
    assert "rnnw-explorer-fill" in full.match_view._dom_classes  # scrolls in the row's height
    assert "rnnw-explorer-fill" not in full.state_space_view._dom_classes


def test_the_explorers_views_are_compact_and_standalone_views_keep_their_defaults(full):
    assert full.select_view.height == layout.HEIGHTS["select_view"] == 130
    assert full.state_space_view.height == layout.HEIGHTS["state_space_view"]
    assert full.relevance_bars.height == layout.HEIGHTS["relevance_bars"]
    response = full.response_view
    assert response.response_curves.height == response.relevance_bars.height == 140
    assert full.match_view.context == layout.MATCH_CONTEXT == 2
    alone = SelectView(full.trace)
    assert alone.height == 300
    assert MatchView(full.trace).context == 5
    alone.close()


def test_without_a_secondary_view_there_is_no_tab_strip():
    explorer = Explorer(_planted(), hypotheses=[is_x], progress=False)
    notices, select, row = explorer.children
    assert "rnnw-explorer-notices" in notices._dom_classes
    assert select is explorer.select_view
    assert list(row.children) == [
        explorer.match_view,
        explorer.state_space_view,
        explorer.relevance_bars,
    ]
    assert not any(isinstance(w, ipywidgets.Tab) for w in _widgets_under(explorer))
    explorer.close()


def test_arrange_puts_each_secondary_view_on_a_tab_after_the_linked_views():
    views = {name: ipywidgets.HTML(name) for name in layout.VIEW_NAMES}
    children = layout.arrange(views)
    assert children[0] is views["select_view"]
    (tabs,) = children[1:]
    assert [list(getattr(c, "children", [c])) for c in tabs.children] == [
        [views[name] for name in layout.MAIN_VIEWS],
        [views["response_view"]],
        [views["decay_view"]],
    ]
    assert tabs.titles == ("Matches · state space · relevance", "Response", "Memory")
    assert "rnnw-explorer-split" in views["response_view"]._dom_classes
    assert "rnnw-explorer-split" not in views["decay_view"]._dom_classes  # text under the bars


def test_arrange_shows_a_lone_secondary_view_without_a_tab():
    views = {"select_view": ipywidgets.HTML("s"), "response_view": ipywidgets.HTML("r")}
    notices = ipywidgets.VBox()
    assert layout.arrange(views, notices) == [notices, views["select_view"], views["response_view"]]


def test_close_closes_every_widget_of_the_layout(full):
    explorer = Explorer(full.trace, response=full.response, progress=False)  # with a tab strip
    made = _widgets_under(explorer)
    assert any(isinstance(w, ipywidgets.Tab) for w in made)
    explorer.close()
    open_ones = [w for w in made if w.comm is not None]
    assert open_ones == []


# ---------------------------------------------------------------------- views=


def test_views_chooses_the_views_shown_and_the_rest_are_none_with_a_notice():
    explorer = Explorer(
        _planted(), hypotheses=[is_x], views=["relevance_bars", "select_view"], progress=False
    )
    assert list(explorer.views) == ["select_view", "relevance_bars"]  # the Explorer's order
    assert explorer.match_view is None and explorer.state_space_view is None
    assert (
        "match_view, state_space_view, response_view, decay_view are left out: "
        "views=['select_view', 'relevance_bars'] does not name them"
    ) in explorer.notices
    notices, select, row = explorer.children
    assert select is explorer.select_view
    assert [label.value for label in notices.children] == list(explorer.notices)
    assert list(row.children) == [explorer.relevance_bars]
    assert explorer._exportable_children() == [explorer.select_view, explorer.relevance_bars]
    explorer.close()


def test_every_view_named_means_no_notice_about_views():
    explorer = Explorer(_planted(), hypotheses=[is_x], views=layout.VIEW_NAMES, progress=False)
    assert not any("views=" in notice for notice in explorer.notices)
    explorer.close()


def test_one_view_left_out_is_named_alone():
    explorer = Explorer(
        _planted(),
        hypotheses=[is_x],
        views=["select_view", "match_view", "relevance_bars", "response_view", "decay_view"],
        progress=False,
    )
    assert explorer.state_space_view is None
    assert any(n.startswith("state_space_view is left out: views=") for n in explorer.notices)
    explorer.selection.set_range(3, 6)  # the brushed range has no state space to follow
    assert explorer.selection.range == (3, 6)
    explorer.close()


def test_without_the_response_view_the_response_is_not_characterized(full):
    explorer = Explorer(full.trace, full.model, views=["select_view", "match_view"], progress=False)
    assert explorer.response is None and explorer.response_view is None
    with pytest.raises(ValueError, match="no response"):
        explorer.table("response")
    explorer.close()


def test_a_state_for_a_view_left_out_is_refused_naming_views():
    explorer = Explorer(_planted(), views=["select_view", "state_space_view"], progress=False)
    assert set(explorer.state) == {"version", "selection", "select_view", "state_space_view"}
    assert explorer.matches is None
    with pytest.raises(ValueError, match=r"state\['match_view'\].*views= leaves it out"):
        explorer.state = {"version": 1, "match_view": {"top": 3}}
    explorer.close()


@pytest.mark.parametrize(
    ("views", "error", "message"),
    [
        ("select_view", TypeError, r"views must be a list of view names.*not one str"),
        (3, TypeError, r"views must be a list of view names .*got int"),
        ({"select_view": True}, TypeError, r"views must be a list of view names .*got dict"),
        (["select_view", 2], TypeError, r"views\[1\] must be a view name \(a str\).*got int"),
        (
            ["select_view", "state_space"],
            ValueError,
            r"views\[1\] is 'state_space', which is not a view of the Explorer; the views are "
            r"\['select_view', 'match_view', 'state_space_view', 'relevance_bars', "
            r"'response_view', 'decay_view'\]; did you mean 'state_space_view'\?",
        ),
        (["match_view", "match_view"], ValueError, r"views names 'match_view' twice"),
        ([], ValueError, r"views must name at least one view"),
    ],
    ids=["a str", "an int", "a dict", "not a str", "unknown", "twice", "empty"],
)
def test_bad_views_are_refused_naming_the_argument_and_the_views(views, error, message):
    with pytest.raises(error, match=message):
        Explorer(_planted(), views=views, progress=False)


def test_checked_views_returns_the_names_in_the_explorers_order():
    assert layout.checked_views(None) == layout.VIEW_NAMES
    assert layout.checked_views(("response_view", "select_view")) == (
        "select_view",
        "response_view",
    )
    assert layout.checked_views(name for name in ["match_view"]) == ("match_view",)
