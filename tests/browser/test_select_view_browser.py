"""SelectView in a real JupyterLab, driven by a real headless Chromium.

The kernel side is read from an ipywidgets Label that only Python observers write, and the
kernel is changed by executing code in it, as a user would in a cell.
"""

from __future__ import annotations

import os
import re

import pytest

from .conftest import (
    REPO,
    SERVED,
    canvas_ink,
    error_outputs,
    execute_in_kernel,
    expect,
    open_notebook,
    reveal,
    run_all_cells,
    widget_errors,
)

pytestmark = pytest.mark.browser

NOTEBOOKS = [path.name for path in SERVED if path.parent.name == "notebooks"]
SCREENSHOT = REPO / "docs" / "images" / "quickstart.png"

_VIEWS = ", ".join(
    f".rnnw-{name}"
    for name in (
        "select-view",
        "match-view",
        "relevance-bars",
        "ablation-plot",
        "response-view",
        "state-space-view",
    )
)


def _kernel_label(page):
    return page.locator(".widget-label", has_text="python sees").first


def _wait_for_label(page, pattern: str) -> str:
    label = _kernel_label(page)
    expect(label).to_have_text(re.compile(pattern))
    return label.inner_text()


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_jupyterlab_without_errors(lab_server, page, name, artifacts_dir):
    p = page.page
    open_notebook(p, lab_server, name)
    run_all_cells(p, timeout=240_000)  # the paper notebooks compute for up to a minute
    assert error_outputs(p) == []
    assert widget_errors(page.errors) == []
    # Every view the notebook shows draws: ink on its canvases, its SVGs, or (a list) rows.
    views = p.locator(_VIEWS)
    expect(views.first).to_be_visible()
    for index in range(views.count()):
        view = views.nth(index)
        reveal(view)  # an Explorer's ResponseView is on its second tab
        view.scroll_into_view_if_needed()
        canvases = view.locator("canvas")
        if canvases.count():
            assert canvas_ink(p, canvases.first) > 0.001, index
        elif view.locator("svg").count():
            expect(view.locator("svg").first).to_be_visible()
        else:
            expect(view.locator(".rnnw-match-row").first).to_be_visible()
    view = p.locator(".rnnw-select-view").first
    if name == "00_quickstart.ipynb":
        # The last cells select the indentation cell and scroll to a nested block.
        expect(view.locator(".rnnw-position")).not_to_have_text(re.compile(r"steps 0–"))
        view.scroll_into_view_if_needed()
        view.screenshot(path=str(artifacts_dir / "quickstart-view.png"))
        if os.environ.get("RNNW_UPDATE_SCREENSHOT"):  # ./run screenshot: the README's image
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            view.screenshot(path=str(SCREENSHOT))


def test_select_view_round_trip_in_jupyterlab(lab_server, page):
    p = page.page
    open_notebook(p, lab_server, "select_view_e2e.ipynb")
    run_all_cells(p)
    view = p.locator(".rnnw-select-view").first
    expect(view.locator(".rnnw-token")).to_have_count(8)
    _wait_for_label(p, r"threshold=0\.300")

    # Tokens are text: the <img> token shows literally and never becomes an element.
    expect(view.locator(".rnnw-token").first).to_have_text("<img src=x onerror=alert(1)>")
    assert view.locator("img").count() == 0
    assert page.dialogs == []

    # Dragging the threshold handle upward raises the threshold in the kernel.
    handle = view.locator(".rnnw-threshold-handle")
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    p.mouse.move(x, y)
    p.mouse.down()
    p.mouse.move(x, y - 60, steps=8)
    p.mouse.up()
    text = _wait_for_label(p, r"threshold=(?!0\.300)-?\d\.\d{3}")
    kernel_threshold = float(re.search(r"threshold=(-?\d\.\d+)", text).group(1))
    drawn_threshold = float(view.get_attribute("data-threshold"))
    assert kernel_threshold > 0.3
    assert kernel_threshold == pytest.approx(drawn_threshold, abs=1e-3)

    # A change made in the kernel moves the line in the browser.
    renders = int(view.get_attribute("data-render-count"))
    execute_in_kernel(p, "sel.threshold = -0.5")
    expect(view).to_have_attribute("data-threshold", re.compile(r"^-0\.5"))
    assert int(view.get_attribute("data-render-count")) > renders
    moved = handle.bounding_box()
    assert moved is not None and moved["y"] > box["y"] + 20  # lower value, lower on screen

    # Hover reaches the kernel as hovered_step.
    canvas = view.locator("canvas.rnnw-plot")
    cbox = canvas.bounding_box()
    assert cbox is not None
    p.mouse.move(cbox["x"] + cbox["width"] * 0.55, cbox["y"] + cbox["height"] / 2)
    _wait_for_label(p, r"hovered=\d+ ")
    expect(view.locator(".rnnw-tooltip")).to_be_visible()

    # The next-sequence button moves the sequence in focus in the kernel.
    view.locator("button.rnnw-next-seq").click()
    _wait_for_label(p, r"sequence=1 ")

    # Choosing a kind in the toolbar reaches the kernel, and the view keeps drawing.
    view.locator("select.rnnw-kind").select_option("c")
    _wait_for_label(p, r"kind=c ")

    # A kernel-side bad value shows an error in place instead of a blank view.
    execute_in_kernel(p, "sel.layer = 3")
    expect(view.locator(".rnnw-error")).to_contain_text("layer 3 is not a layer of the trace")
    execute_in_kernel(p, "sel.layer = 0")
    expect(view.locator(".rnnw-error")).to_be_hidden()

    assert widget_errors(page.errors) == []
    assert page.dialogs == []


def test_a_brushed_range_selects_exactly_the_cells_of_select_cells(lab_server, page):
    p = page.page
    open_notebook(p, lab_server, "select_cells_e2e.ipynb")
    run_all_cells(p)
    view = p.locator(".rnnw-select-view").first
    tokens = view.locator(".rnnw-token")
    expect(tokens).to_have_count(12)

    # Brush tokens 2..4 (c, d, e) on the token axis.
    first, last = tokens.nth(2).bounding_box(), tokens.nth(4).bounding_box()
    assert first is not None and last is not None
    y = first["y"] + first["height"] / 2
    p.mouse.move(first["x"] + first["width"] / 2, y)
    p.mouse.down()
    p.mouse.move(last["x"] + last["width"] / 2, y, steps=6)
    p.mouse.up()
    # The kernel computed the cells from the range, threshold and pattern: select_cells's.
    _wait_for_label(p, r"range=2:5 pads=1,0 cells=\[0, 2\] expected=\[0, 2\] ")
    expect(view).to_have_attribute("data-highlighted", "0,2")

    # Extending the pattern one step to the right drops the cell still on after the range.
    view.locator("button.rnnw-pad-after-more").click()
    _wait_for_label(p, r"pads=1,1 cells=\[0\] expected=\[0\] ")
    # No padding before: every cell on over the range.
    view.locator("button.rnnw-pad-before-less").click()
    _wait_for_label(p, r"pads=0,1 cells=\[0, 1\] expected=\[0, 1\] ")

    # A phrase search scrolls to the hit in the next sequence and marks it.
    search = view.locator("input.rnnw-search")
    search.fill("stu")
    search.press("Enter")
    _wait_for_label(p, r"window=12 ")
    expect(view.locator(".rnnw-token-hit")).to_have_count(3)

    assert widget_errors(page.errors) == []
