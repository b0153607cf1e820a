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
