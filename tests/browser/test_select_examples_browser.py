"""Label by example in the SelectView, in a real JupyterLab driven by headless Chromium.

``select_examples_e2e.ipynb`` shows a SelectView over two sequences of 12 letters and a Label
that only Python observers write: what the kernel sees of ``labelling``, ``examples`` and the
Selection's range and cells.
"""

from __future__ import annotations

import re

import pytest

from .conftest import (
    HERE,
    error_outputs,
    execute_in_kernel,
    expect,
    open_notebook,
    run_all_cells,
)
from .conftest import widget_errors as widget_failures

pytestmark = pytest.mark.browser

# Colour maths in the page (colours.js, as test_themes_browser.py uses it).
_COLOURS = (HERE / "colours.js").read_text()
_SET_THEME_JS = """async (theme) => {
  await window.jupyterapp.commands.execute("apputils:change-theme", { theme });
}"""


def _wait_for_label(page, pattern: str) -> str:
    label = page.locator(".widget-label", has_text="python sees").first
    expect(label).to_have_text(re.compile(pattern))
    return label.inner_text()


def _brush(page, tokens, first: int, last: int) -> None:
    """Drag across the token axis from token ``first`` to token ``last``."""
    a, b = tokens.nth(first).bounding_box(), tokens.nth(last).bounding_box()
    assert a is not None and b is not None
    y = a["y"] + a["height"] / 2
    page.mouse.move(a["x"] + a["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(b["x"] + b["width"] / 2, y, steps=5)
    page.mouse.up()


def test_labelling_brushes_examples_and_leaves_the_selection_alone(lab_server, page):
    p = page.page
    open_notebook(p, lab_server, "select_examples_e2e.ipynb")
    run_all_cells(p)
    view = p.locator(".rnnw-select-view").first
    tokens = view.locator(".rnnw-token")
    expect(tokens).to_have_count(12)
    _wait_for_label(p, r"labelling=False examples=\[\] range=0:0 cells=\[\] ")

    # The toolbar toggle turns labelling on, in the kernel too.
    toggle = view.locator("button.rnnw-label-toggle")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    _wait_for_label(p, r"labelling=True ")

    # A brush adds a positive example; Shift + brush a negative one. The range stays unset.
    _brush(p, tokens, 2, 4)
    _wait_for_label(p, r"examples=\[\(2, 5, 1\)\] range=0:0 cells=\[\] ")
    p.keyboard.down("Shift")
    _brush(p, tokens, 8, 7)
    p.keyboard.up("Shift")
    _wait_for_label(p, r"examples=\[\(2, 5, 1\), \(7, 9, 0\)\] range=0:0 cells=\[\] ")
    bands = view.locator(".rnnw-example")
    expect(bands).to_have_count(2)
    expect(bands.nth(1)).to_have_class(re.compile(r"rnnw-example-negative"))
    labels = execute_in_kernel(p, "print(view.example_labels().labels[:12].tolist())")
    assert labels.strip() == "[0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]"

    # A click on an example removes it.
    bands.nth(1).click()
    _wait_for_label(p, r"examples=\[\(2, 5, 1\)\] ")
    expect(bands).to_have_count(1)

    # L (the view focused) turns labelling off; the brush selects cells again.
    view.focus()
    p.keyboard.press("l")
    _wait_for_label(p, r"labelling=False ")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    _brush(p, tokens, 2, 4)
    _wait_for_label(p, r"examples=\[\(2, 5, 1\)\] range=2:5 cells=\[0\] ")

    assert error_outputs(p) == []
    assert widget_failures(page.errors) == []


def _contrast(page, view) -> tuple[str, list[dict]]:
    """The view's backdrop and every text in it below 4.5:1 (WCAG 2), the bands' included."""
    found = page.evaluate(f"(arg) => ({_COLOURS}).textContrast(arg)", view.element_handle())
    return found["background"], [r for r in found["results"] if r["ratio"] < 4.5]


def test_examples_follow_jupyterlabs_dark_theme(lab_server, page):
    p = page.page
    open_notebook(p, lab_server, "select_examples_e2e.ipynb")
    run_all_cells(p)
    execute_in_kernel(
        p,
        "view.examples = [{'start': 1, 'stop': 5, 'label': 1}, {'start': 7, 'stop': 9, 'label': 0}]"
        "\nview.labelling = True",
    )
    view = p.locator(".rnnw-select-view").first
    band = view.locator(".rnnw-example-positive")
    expect(band).to_be_visible()
    fill = "(e) => getComputedStyle(e).borderBottomColor"
    light = band.evaluate(fill)
    assert _contrast(p, view) == ("rgb(255, 255, 255)", [])
    try:
        p.evaluate(_SET_THEME_JS, "JupyterLab Dark")
        expect(view).to_have_css("background-color", "rgb(17, 17, 17)")
        assert band.evaluate(fill) != light  # the dark palette's green
        background, low = _contrast(p, view)
        assert (background, low) == ("rgb(17, 17, 17)", [])
    finally:
        p.evaluate(_SET_THEME_JS, "JupyterLab Light")
