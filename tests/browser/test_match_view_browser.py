"""The MatchView in a real JupyterLab: rows drawn as text, a click navigates the SelectView."""

from __future__ import annotations

import re

import pytest

from .conftest import expect, open_notebook, run_all_cells, widget_errors

pytestmark = pytest.mark.browser


def test_match_rows_render_and_a_click_scrolls_the_select_view(lab_server, page):
    p = page.page
    open_notebook(p, lab_server, "match_view_e2e.ipynb")
    run_all_cells(p)
    label = p.locator(".widget-label", has_text="python sees").first
    expect(label).to_have_text(re.compile(r"rows=3 "))
    view = p.locator(".rnnw-match-view").first
    rows = view.locator(".rnnw-match-row")
    expect(rows).to_have_count(3)
    # Ranked as LSTMVis ranks: equal shared and union, longer first, then by position.
    assert [rows.nth(i).get_attribute("data-start") for i in range(3)] == ["2", "25", "12"]

    # Tokens are text: the <img> token shows literally and never becomes an element.
    literal = view.locator(".rnnw-match-token", has_text="<img src=x onerror=alert(1)>")
    expect(literal).to_have_count(1)
    assert view.locator("img").count() == 0

    # Clicking the second row scrolls the linked SelectView there, in the kernel.
    rows.nth(1).click()
    expect(label).to_have_text(re.compile(r"window=20 sequence=2 "))
    select_view = p.locator(".rnnw-select-view").first
    expect(select_view).to_have_attribute("data-window-start", "20")

    assert widget_errors(page.errors) == []
    assert page.dialogs == []
