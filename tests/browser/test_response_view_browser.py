"""ResponseView in a real JupyterLab, driven by a real headless Chromium.

A tiny seeded random LSTM's response (8 cells). The kernel side is read from an ipywidgets
Label that only Python observers write; the cell whose curves are drawn from the view's
``data-cell`` attribute and its output path.
"""

from __future__ import annotations

import base64
import re

import pytest

from .conftest import (
    error_outputs,
    execute_in_kernel,
    expect,
    open_notebook,
    run_all_cells,
    widget_errors,
)

pytestmark = pytest.mark.browser

# The distribution plot's margins (MARGIN in js/src/views/response_view.ts).
LEFT, RIGHT = 48, 44
# Settling times of the 8 cells sort (ascending, ties by cell) as 1 3 4 6 2 7 0 5.
ASCENDING = [1, 3, 4, 6, 2, 7, 0, 5]

# The share of pixels of a PNG screenshot that are clearly blue (the output line's colour).
_BLUE_INK_JS = """async (b64) => {
  const blob = await (await fetch(`data:image/png;base64,${b64}`)).blob();
  const bitmap = await createImageBitmap(blob);
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(bitmap, 0, 0);
  const { data } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
  let ink = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i + 2] - data[i] > 80) ink++;
  return ink / (bitmap.width * bitmap.height);
}"""


def _wait_for_label(page, pattern: str) -> str:
    label = page.locator(".widget-label", has_text="python sees").first
    expect(label).to_have_text(re.compile(pattern))
    return label.inner_text()


def _center(locator) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _click_rank(dist, rank: int, *, shift: bool = False) -> None:
    box = dist.bounding_box()
    assert box is not None
    x = LEFT + rank / (len(ASCENDING) - 1) * (box["width"] - LEFT - RIGHT)
    position = {"x": x, "y": box["height"] / 2}
    dist.click(position=position, modifiers=["Shift"] if shift else [])


def test_bars_and_the_distribution_select_the_cell_whose_curves_are_drawn(lab_server, page):
    p = page.page
    open_notebook(p, lab_server, "response_view_e2e.ipynb")
    run_all_cells(p)
    _wait_for_label(p, r"cells=\[\] layer=0 cell=0 metric=settling_time bars=settling_time ")
    view = p.locator(".rnnw-response-view").first
    bars = p.locator(".rnnw-relevance-bars").first
    expect(view).to_have_attribute("data-cell", "0")
    expect(view).to_have_attribute("data-order", ",".join(map(str, ASCENDING)))
    panels = view.locator("svg.rnnw-response-panel")
    expect(panels).to_have_count(2)
    expect(bars.locator("rect.rnnw-bar")).to_have_count(8)

    # The curves have ink: the output lines are drawn in blue in both panels.
    view.scroll_into_view_if_needed()
    for index in range(2):
        shot = base64.b64encode(panels.nth(index).screenshot()).decode()
        assert p.evaluate(_BLUE_INK_JS, shot) > 0.002
    step_output = panels.nth(0).locator("path.rnnw-response-output")
    before = step_output.get_attribute("d")

    # A bar clicked in the shared ranking selects its cell, and its curves are drawn.
    bars.locator('rect.rnnw-bar[data-cell="5"]').click()
    _wait_for_label(p, r"cells=\[5\] layer=0 cell=5 ")
    expect(view).to_have_attribute("data-cell", "5")
    expect(step_output).not_to_have_attribute("d", before)
    expect(view.locator(".rnnw-response-dist-shown")).to_have_attribute("data-cell", "5")

    # A click on the sorted curve selects the cell at that rank, in the bars too.
    dist = view.locator("svg.rnnw-response-dist-svg")
    _click_rank(dist, ASCENDING.index(3))
    _wait_for_label(p, r"cells=\[3\] layer=0 cell=3 ")
    expect(view).to_have_attribute("data-cell", "3")
    expect(bars.locator('rect.rnnw-bar[data-cell="3"]')).to_have_class(
        re.compile(r"rnnw-bar-selected")
    )

    # Shift-click adds a cell; the one added is shown.
    _click_rank(dist, ASCENDING.index(7), shift=True)
    _wait_for_label(p, r"cells=\[3, 7\] layer=0 cell=7 ")
    expect(view).to_have_attribute("data-selected", "3,7")

    # The metric picker switches the distribution and the bars together.
    view.locator("select.rnnw-response-picker").select_option("delta")
    _wait_for_label(p, r"metric=delta bars=delta ")
    expect(view).to_have_attribute("data-metric", "delta")
    expect(bars).to_have_attribute("data-current", "delta")

    # Python sets the selection: the view follows.
    execute_in_kernel(p, "sel.cells = [6]")
    _wait_for_label(p, r"cells=\[6\] layer=0 cell=6 ")
    expect(view).to_have_attribute("data-cell", "6")

    assert error_outputs(p) == []
    assert widget_errors(page.errors) == []
    assert [e for e in page.errors if "Error setting state" in e] == []
    assert page.dialogs == []
