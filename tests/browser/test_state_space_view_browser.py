"""StateSpaceView in a real JupyterLab, driven by a real headless Chromium.

``state_space_view_e2e.ipynb`` builds a trace whose states lie on an ellipse centred on 0
(x-radius 2 along PC1, y-radius 1 along PC2) and two hand-built fixed points, and shows a
SelectView and a StateSpaceView sharing one Selection. The view fits the data box
``[-2, 2] x [-1, 1]`` into the plot with one scale for both axes and a 16 px margin
(``fitBounds`` in ``js/src/lib/projection.ts``), so the pixel of a known state is known. The
kernel side is read from an ipywidgets Label that only Python observers write.
"""

from __future__ import annotations

import re

import pytest

from .conftest import error_outputs, expect, open_notebook, run_all_cells, widget_errors

pytestmark = pytest.mark.browser

MARGIN = 16


def _wait_for_label(page, pattern: str) -> str:
    label = page.locator(".widget-label", has_text="python sees").first
    expect(label).to_have_text(re.compile(pattern))
    return label.inner_text()


def _pixel(overlay, x: float, y: float) -> tuple[float, float]:
    """The page pixel of plane point (x, y): the data box [-2, 2] x [-1, 1] fitted, y up."""
    box = overlay.bounding_box()
    assert box is not None
    scale = min((box["width"] - 2 * MARGIN) / 4, (box["height"] - 2 * MARGIN) / 2)
    return box["x"] + box["width"] / 2 + x * scale, box["y"] + box["height"] / 2 - y * scale


def _open(lab_server, page):
    p = page.page
    open_notebook(p, lab_server, "state_space_view_e2e.ipynb")
    run_all_cells(p)
    space = p.locator(".rnnw-state-space-view").first
    expect(space).to_have_attribute("data-n-points", "12")
    expect(space).to_have_attribute("data-n-fixed", "2")
    space.scroll_into_view_if_needed()
    return p, space


def test_hovering_a_token_in_the_select_view_marks_its_state(lab_server, page):
    p, space = _open(lab_server, page)
    _wait_for_label(p, r"hovered=None ")
    expect(space).to_have_attribute("data-hovered-step", "")
    select_view = p.locator(".rnnw-select-view").first
    select_view.scroll_into_view_if_needed()
    canvas = select_view.locator("canvas.rnnw-plot")
    box = canvas.bounding_box()
    assert box is not None
    p.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)
    step = re.search(r"hovered=(\d+)", _wait_for_label(p, r"hovered=\d+ ")).group(1)
    expect(space).to_have_attribute("data-hovered-step", step)

    # Hovering a trajectory point sets the kernel's hovered_step: step 0 is at (2, 0).
    space.scroll_into_view_if_needed()
    overlay = space.locator("canvas.rnnw-ssv-overlay")
    p.mouse.move(*_pixel(overlay, 2.0, 0.0))
    _wait_for_label(p, r"hovered=0 ")
    expect(space).to_have_attribute("data-hovered-step", "0")
    expect(space.locator(".rnnw-ssv-hover")).to_contain_text("step 0 · sequence 0 · right")
    # Step 4 is at (-2, 0), on the left.
    p.mouse.move(*_pixel(overlay, -2.0, 0.0))
    _wait_for_label(p, r"hovered=4 ")
    expect(space).to_have_attribute("data-hovered-step", "4")

    assert error_outputs(p) == []
    assert widget_errors(page.errors) == []


def test_clicking_a_fixed_point_opens_its_spectrum(lab_server, page, artifacts_dir):
    p, space = _open(lab_server, page)
    panel = space.locator(".rnnw-ssv-spectrum")
    expect(panel).to_be_hidden()
    overlay = space.locator("canvas.rnnw-ssv-overlay")

    # Fixed point 0 sits at the mean: the middle of the plot. Hover names it, a click opens it.
    p.mouse.move(*_pixel(overlay, 0.0, 0.0))
    expect(space).to_have_attribute("data-hovered-point", "0")
    expect(space.locator(".rnnw-ssv-hover")).to_contain_text("fixed point 0 · stable")
    p.mouse.click(*_pixel(overlay, 0.0, 0.0))
    _wait_for_label(p, r"spectrum=0 ")
    expect(panel).to_be_visible()
    expect(panel).to_have_attribute("data-n-eigenvalues", "3")
    expect(panel.locator("circle.rnnw-ssv-eig")).to_have_count(3)
    expect(panel.locator("circle.rnnw-ssv-unit-circle")).to_have_count(1)
    expect(panel.locator("circle.rnnw-ssv-eig-unstable")).to_have_count(0)
    expect(panel).to_contain_text("fixed point 0 · stable")
    expect(panel.locator(".rnnw-ssv-tau")).to_contain_text("9.49")  # 1 / |log 0.9|
    space.screenshot(path=str(artifacts_dir / "state-space-view.png"))

    # Fixed point 1 (a saddle at (1, 0)): one eigenvalue outside the unit circle.
    p.mouse.click(*_pixel(overlay, 1.0, 0.0))
    _wait_for_label(p, r"spectrum=1 ")
    expect(panel).to_contain_text("fixed point 1 · saddle")
    expect(panel.locator("circle.rnnw-ssv-eig-unstable")).to_have_count(1)

    # The close button clears it in the kernel.
    panel.locator("button.rnnw-ssv-close").click()
    _wait_for_label(p, r"spectrum=None ")
    expect(panel).to_be_hidden()

    # The 3-D view: chosen in the browser, set in the kernel.
    space.locator("select.rnnw-ssv-dims").select_option("3")
    _wait_for_label(p, r"dims=3")
    expect(space).to_have_attribute("data-dims", "3")

    assert error_outputs(p) == []
    assert widget_errors(page.errors) == []
