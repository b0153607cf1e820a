"""RelevanceBars and AblationPlot in a real JupyterLab, driven by a real headless Chromium.

A SelectView and a RelevanceBars share one Selection. The kernel side is read from an
ipywidgets Label that only Python observers write; the SelectView's highlighted cells from its
``data-highlighted`` attribute (the cells it draws highlighted).
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

# The share of pixels of a PNG screenshot that are not near-white, decoded by the browser.
_INK_JS = """async (b64) => {
  const blob = await (await fetch(`data:image/png;base64,${b64}`)).blob();
  const bitmap = await createImageBitmap(blob);
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(bitmap, 0, 0);
  const { data } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
  let ink = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i] + data[i + 1] + data[i + 2] < 600) ink++;
  return ink / (bitmap.width * bitmap.height);
}"""


def _label(page):
    return page.locator(".widget-label", has_text="python sees").first


def _wait_for_label(page, pattern: str) -> str:
    label = _label(page)
    expect(label).to_have_text(re.compile(pattern))
    return label.inner_text()


def _center(locator) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def test_clicking_a_bar_selects_its_cell_in_the_kernel_and_the_select_view(lab_server, page):
    p = page.page
    open_notebook(p, lab_server, "relevance_bars_e2e.ipynb")
    run_all_cells(p)
    _wait_for_label(p, r"cells=\[\] layer=0 kind=h current=depth threshold=0\.2 ")
    select_view = p.locator(".rnnw-select-view").first
    bars = p.locator(".rnnw-relevance-bars").first
    expect(bars.locator("rect.rnnw-bar")).to_have_count(8)
    expect(bars).to_have_attribute("data-order", "3,5,1,6,0,4,7,2")

    # Names are text: the "<b>quote</b>" option shows literally and makes no element.
    expect(bars.locator("select.rnnw-bars-picker option").nth(1)).to_have_text("<b>quote</b>")
    assert bars.locator("b").count() == 0

    # Hover shows the cell and its score as text.
    best = bars.locator('rect.rnnw-bar[data-cell="3"]')
    best.scroll_into_view_if_needed()
    p.mouse.move(*_center(best))
    expect(bars.locator(".rnnw-bars-hover")).to_have_text("cell 3: 0.9")

    # A click selects the cell in the kernel, and the SelectView highlights it.
    best.click()
    _wait_for_label(p, r"cells=\[3\] layer=0 kind=h ")
    expect(select_view).to_have_attribute("data-highlighted", "3")
    expect(best).to_have_class(re.compile(r"rnnw-bar-selected"))

    # Shift-drag from the second bar to the third adds cells 5 and 1.
    x, y = _center(bars.locator('rect.rnnw-bar[data-cell="5"]'))
    x_end, _ = _center(bars.locator('rect.rnnw-bar[data-cell="1"]'))
    p.keyboard.down("Shift")
    p.mouse.move(x, y)
    p.mouse.down()
    p.mouse.move(x_end, y, steps=5)
    p.mouse.up()
    p.keyboard.up("Shift")
    _wait_for_label(p, r"cells=\[1, 3, 5\] ")
    expect(select_view).to_have_attribute("data-highlighted", "1,3,5")

    # A click on a selected bar deselects it.
    best.click()
    _wait_for_label(p, r"cells=\[1, 5\] ")
    expect(select_view).to_have_attribute("data-highlighted", "1,5")

    # The picker switches the vector: the kernel sends the other one, in its order.
    bars.locator("select.rnnw-bars-picker").select_option("<b>quote</b>")
    _wait_for_label(p, r"current=<b>quote</b> ")
    expect(bars).to_have_attribute("data-order", "4,0,6,7,3,2,1,5")

    # top(k) from Python reaches both views.
    execute_in_kernel(p, "bars.top(2)")
    _wait_for_label(p, r"cells=\[0, 4\] ")
    expect(select_view).to_have_attribute("data-highlighted", "0,4")
    expect(bars).to_have_attribute("data-selected", "0,4")

    # Dragging the threshold line up raises the threshold in the kernel.
    line = bars.locator(".rnnw-bars-threshold")
    bars.locator("svg.rnnw-bars-svg").scroll_into_view_if_needed()  # the whole plot on screen
    lx, ly = _center(line)
    p.mouse.move(lx - 100, ly)
    p.mouse.down()
    p.mouse.move(lx - 100, ly - 40, steps=6)
    p.mouse.up()
    text = _wait_for_label(p, r"threshold=(?!0\.2 )\d\.\d+ ")
    assert float(re.search(r"threshold=(\d\.\d+)", text).group(1)) > 0.2
    _wait_for_label(p, r"cells=\[0, 4\] ")  # the drag selected nothing

    assert error_outputs(p) == []
    assert widget_errors(page.errors) == []
    # A DataView through the plain Selection model's JSON serializer arrives as {}.
    assert [e for e in page.errors if "Error setting state" in e] == []
    assert page.dialogs == []


def test_the_ablation_plot_draws_its_lines_and_hover_text(lab_server, page):
    p = page.page
    open_notebook(p, lab_server, "relevance_bars_e2e.ipynb")
    run_all_cells(p)
    plot = p.locator(".rnnw-ablation-plot").first
    expect(plot.locator("path.rnnw-ablation-top-line")).to_have_count(2)
    plot.scroll_into_view_if_needed()
    svg = plot.locator("svg.rnnw-ablation-svg")
    box = svg.bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 100
    ink = p.evaluate(_INK_JS, base64.b64encode(svg.screenshot()).decode())
    assert ink > 0.01

    legend = plot.locator(".rnnw-ablation-legend-item")
    expect(legend.nth(1)).to_have_text("zero: k random cells, mean ± 1 std over 20 draws")
    point = plot.locator('.rnnw-ablation-point[data-series="top"][data-mode="zero"]').nth(1)
    p.mouse.move(*_center(point))
    expect(plot.locator(".rnnw-ablation-hover")).to_have_text("zero: top 1 cells ablated → 0.7")

    assert error_outputs(p) == []
    assert widget_errors(page.errors) == []
