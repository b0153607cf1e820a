"""RelevanceBars' hypothesis box in a real JupyterLab, driven by a real headless Chromium.

``hypothesis_box_e2e.ipynb`` shows bars over a trace whose cell 5 is on exactly at "(", with a
score vector that ranks cell 5 sixth. The kernel side is read from an ipywidgets Label that
only Python observers write.
"""

from __future__ import annotations

import re

import pytest

from .conftest import HERE, error_outputs, expect, open_notebook, run_all_cells, widget_errors

pytestmark = pytest.mark.browser

_COLOURS = (HERE / "colours.js").read_text()  # colour maths in the page, as the theme test's
_SET_THEME_JS = """async (theme) => {
  await window.jupyterapp.commands.execute("apputils:change-theme", { theme });
}"""


def _js(method: str) -> str:
    return f"(arg) => ({_COLOURS}).{method}(arg)"


def _low_contrast_text(page, view) -> list:
    """The view's texts (the box, its error and list included) that read under 4.5:1."""
    found = page.evaluate(_js("textContrast"), view.element_handle())
    assert any("best cell" in r["text"] for r in found["results"])
    return [r for r in found["results"] if r["ratio"] < 4.5]


def _wait_for_label(page, pattern: str) -> None:
    label = page.locator(".widget-label", has_text="python sees").first
    expect(label).to_have_text(re.compile(pattern))


def test_a_typed_hypothesis_re_sorts_the_bars_and_a_bad_one_shows_its_error(lab_server, page):
    p = page.page
    open_notebook(p, lab_server, "hypothesis_box_e2e.ipynb")
    run_all_cells(p)
    _wait_for_label(p, r"current=given tried=0 error=''")
    bars = p.locator(".rnnw-relevance-bars").first
    box = bars.locator(".rnnw-hypotheses")
    text = box.get_by_role("textbox", name="hypothesis")
    tried = box.locator("button.rnnw-hypothesis-show")
    expect(bars).to_have_attribute("data-order", "0,1,2,3,4,5,6,7")

    # A regex and Enter: the kernel scores every cell, the planted cell comes first.
    text.fill(r"\(")
    text.press("Enter")
    _wait_for_label(p, r"current=/\\\(/ tried=1 error=''")
    expect(bars).to_have_attribute("data-current", "/\\(/")
    expect(bars).to_have_attribute("data-order", re.compile(r"^5,"))
    expect(tried).to_have_count(1)
    expect(tried.first).to_have_text(re.compile(r"^/\\\(/ — best cell 5: 1 bal\. acc\.$"))
    expect(tried.first).to_have_attribute("aria-current", "true")
    expect(box.locator(".rnnw-hypothesis-busy")).to_be_hidden()
    order = bars.get_attribute("data-order")

    # A bad regex: its error shows under the box, the bars stay as they were.
    text.fill("(")
    text.press("Enter")
    error = box.locator(".rnnw-hypothesis-error")
    expect(error).to_contain_text("pattern '(' is not a valid regular expression")
    expect(error).to_be_visible()
    expect(box.locator(".rnnw-hypothesis-busy")).to_be_hidden()
    _wait_for_label(p, r"current=/\\\(/ tried=1 error=\"pattern '\(' is not")
    expect(bars).to_have_attribute("data-order", order)
    expect(bars.locator("rect.rnnw-bar")).to_have_count(8)

    # The box, its error and its list read in JupyterLab's dark theme as in the light one.
    assert _low_contrast_text(p, bars) == []
    try:
        p.evaluate(_SET_THEME_JS, "JupyterLab Dark")
        p.wait_for_function(_js("themeApplied"), arg=["false", "#111"], polling=100)
        assert _low_contrast_text(p, bars) == []
    finally:
        p.evaluate(_SET_THEME_JS, "JupyterLab Light")  # the Lab settings outlive this test
    p.wait_for_function(_js("themeApplied"), arg=["true", "white"], polling=100)

    # A Python expression reads the notebook's own names; the error clears.
    box.get_by_label("kind of hypothesis").select_option("python")
    text.fill("tokens[i] == opening")
    text.press("Enter")
    _wait_for_label(p, r"current=py: tokens\[i\] == opening tried=2 error=''")
    expect(error).to_be_hidden()
    expect(tried).to_have_count(2)
    expect(bars).to_have_attribute("data-order", re.compile(r"^5,"))

    # Clicking the earlier entry shows it again; Escape clears the text.
    tried.nth(1).click()
    _wait_for_label(p, r"current=/\\\(/ ")
    expect(text).to_have_value(r"\(")
    text.press("Escape")
    expect(text).to_have_value("")

    assert error_outputs(p) == []
    assert widget_errors(page.errors) == []
    assert page.dialogs == []


def _brush(page, token) -> None:
    """Drag across one token of the SelectView's token axis."""
    box = token.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 1, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 1, y, steps=4)
    page.mouse.up()


def test_in_the_explorer_a_typed_regex_adds_its_track_and_examples_rank_cells(lab_server, page):
    p = page.page
    open_notebook(p, lab_server, "explorer_hypotheses_e2e.ipynb")
    run_all_cells(p)
    _wait_for_label(p, r"current= tried=0 tracks=\[\] examples=0 error=''")
    bars = p.locator(".rnnw-explorer .rnnw-relevance-bars").first
    select = p.locator(".rnnw-explorer .rnnw-select-view").first
    # Before any hypothesis the bars hold a neutral hint, never the error box.
    expect(bars.locator(".rnnw-hint")).to_contain_text("No hypothesis yet")
    expect(bars.locator(".rnnw-error")).to_be_hidden()

    # A typed regex: the bars re-sort and the SelectView shows its labels as a track.
    text = bars.get_by_role("textbox", name="hypothesis")
    text.fill(r"\(")
    text.press("Enter")
    _wait_for_label(p, r"current=/\\\(/ tried=1 tracks=\['tried: /\\+\(/'\]")
    expect(bars).to_have_attribute("data-order", re.compile(r"^5,"))
    expect(bars.locator(".rnnw-hint")).to_be_hidden()
    track = select.locator('.rnnw-track[data-track^="tried: "]')
    expect(track).to_have_count(1)
    expect(track).to_have_attribute("data-track", "tried: /\\(/")
    expect(track).to_be_visible()

    # Label by example: two "(" brushed positive, two other tokens Shift-brushed negative.
    select.locator("button.rnnw-label-toggle").click()
    tokens = select.locator(".rnnw-token")
    opening = [i for i, t in enumerate(tokens.all_inner_texts()) if t == "("]
    others = [i for i, t in enumerate(tokens.all_inner_texts()) if t in "abcd"]
    assert len(opening) >= 2 and len(others) >= 2, "the window holds too few of each"
    # Each brush is scored at once (the tokens are drawn anew with its track): wait for it.
    for count, index in enumerate(opening[:2], start=1):
        _brush(p, tokens.nth(index))
        _wait_for_label(p, rf"examples={count} ")
    p.keyboard.down("Shift")
    for count, index in enumerate(others[:2], start=3):
        _brush(p, tokens.nth(index))
        _wait_for_label(p, rf"examples={count} ")
    p.keyboard.up("Shift")
    _wait_for_label(p, r"current=examples tried=2 .* examples=4 error=''")
    expect(bars).to_have_attribute("data-current", "examples")
    expect(bars).to_have_attribute("data-order", re.compile(r"^5,"))

    assert error_outputs(p) == []
    assert widget_errors(page.errors) == []
    assert page.dialogs == []
