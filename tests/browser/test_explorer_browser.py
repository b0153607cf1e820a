"""The Explorer in a real JupyterLab: every view draws, and one gesture reaches every view.

``explorer_e2e.ipynb`` opens ``rw.demo("parentheses_lstm")`` and a Label that only Python
observers write (the kernel's side).
"""

from __future__ import annotations

import os
import re

import pytest

from .conftest import (
    REPO,
    canvas_ink,
    error_outputs,
    execute_in_kernel,
    expect,
    open_notebook,
    run_all_cells,
    widget_errors,
)

pytestmark = pytest.mark.browser

SCREENSHOT = REPO / "docs" / "images" / "explorer.png"


def _wait_for_label(page, pattern: str) -> str:
    label = page.locator(".widget-label", has_text="python sees").first
    expect(label).to_have_text(re.compile(pattern), timeout=30_000)
    return label.inner_text()


def _drag(page, start, end) -> None:
    a, b = start.bounding_box(), end.bounding_box()
    assert a is not None and b is not None
    y = a["y"] + a["height"] / 2
    page.mouse.move(a["x"] + a["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(b["x"] + b["width"] / 2, y, steps=6)
    page.mouse.up()


def test_explorer_draws_every_view_and_links_them(lab_server, page, artifacts_dir):
    p = page.page
    open_notebook(p, lab_server, "explorer_e2e.ipynb")
    run_all_cells(p, timeout=120_000)
    explorer = p.locator(".rnnw-explorer").first
    expect(explorer).to_be_visible()
    select = explorer.locator(".rnnw-select-view").first
    match = explorer.locator(".rnnw-match-view").first
    space = explorer.locator(".rnnw-state-space-view").first
    bars = explorer.locator(".rnnw-relevance-bars").first
    response = explorer.locator(".rnnw-response-view").first
    # The views the demo has data for all draw; the one it has not (fixed points) says why.
    expect(explorer.locator(".rnnw-explorer-notice")).to_contain_text("Fixed points")
    for canvas_view in (select, space):
        canvas_view.scroll_into_view_if_needed()
        ink = canvas_ink(p, canvas_view.locator("canvas").first)
        assert ink > 0.001
    expect(bars.locator("rect.rnnw-bar")).to_have_count(64)
    # The response view waits on the second tab, drawn; one click shows it.
    expect(response.locator("svg").first).to_be_hidden()
    explorer.get_by_role("tab", name="Response").click()
    expect(response.locator("svg").first).to_be_visible()
    explorer.get_by_role("tab", name=re.compile("^Matches")).click()
    expect(space).not_to_have_attribute("data-n-points", "0")

    # Brush three tokens of sequence 7 (not drawn yet): the kernel selects cells and matches
    # them, the state space draws the range's trajectory, the bars mark the selected cells.
    start = execute_in_kernel(
        p,
        "explorer.select_view.scroll_to(explorer.trace.sequence_range(7)[0])\n"
        "print(explorer.select_view.window_start)",
    ).strip()
    expect(select).to_have_attribute("data-window-start", start)  # the tokens redrawn there
    tokens = select.locator(".rnnw-token")
    expect(tokens.first).to_be_visible()
    _drag(p, tokens.nth(10), tokens.nth(12))
    text = _wait_for_label(p, r"cells=\[\d[^\]]*\] matches=[1-9]\d* traj=\[7, ")
    start, stop = map(int, re.search(r"range=(\d+):(\d+)", text).groups())
    cells = [int(c) for c in re.search(r"cells=\[([^\]]*)\]", text).group(1).split(", ")]
    assert stop - start == 3
    expect(match.locator(".rnnw-match-row").first).to_be_visible()
    expect(space).to_have_attribute("data-range-points", "3")
    for cell in cells:
        expect(bars.locator(f'rect.rnnw-bar[data-cell="{cell}"]')).to_have_class(
            re.compile(r"rnnw-bar-selected")
        )

    # A hovered token is marked in the state space.
    select.scroll_into_view_if_needed()
    box = select.locator("canvas.rnnw-plot").bounding_box()
    assert box is not None
    p.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
    step = re.search(r"hovered=(\d+)", _wait_for_label(p, r"hovered=\d+ ")).group(1)
    expect(space).to_have_attribute("data-hovered-step", step)

    # A bar click toggles its cell everywhere: the kernel and the SelectView.
    extra = next(c for c in range(64) if c not in cells)
    bars.scroll_into_view_if_needed()
    bars.locator(f'rect.rnnw-bar[data-cell="{extra}"]').click()
    _wait_for_label(p, rf"cells=\[[^\]]*\b{extra}\b")
    expect(select).to_have_attribute("data-highlighted", re.compile(rf"\b{extra}\b"))

    # The whole Explorer as one vector SVG: every view nested, one under the other.
    execute_in_kernel(p, "import tempfile, pathlib\nout = pathlib.Path(tempfile.mkdtemp())")
    execute_in_kernel(p, "future = explorer.save_image(out / 'explorer.svg')")
    check = (
        "import xml.etree.ElementTree as ET\n"
        "if future.done():\n"
        "    root = ET.parse(future.result()).getroot()\n"
        "    nested = root.findall('{http://www.w3.org/2000/svg}svg')\n"
        "    images = root.findall('.//{http://www.w3.org/2000/svg}image')\n"
        "    print(len(nested), len(images))"
    )
    answer = ""
    for _ in range(100):
        answer = execute_in_kernel(p, check).strip()
        if answer:
            break
        p.wait_for_timeout(100)
    assert answer == "6 0"

    # The second Explorer, without a model, hides the views that need one and says why.
    bare = p.locator(".rnnw-explorer").nth(1)
    bare.scroll_into_view_if_needed()
    expect(bare.locator(".rnnw-explorer-notice").first).to_contain_text("need the model")
    expect(bare.locator(".rnnw-relevance-bars rect.rnnw-bar")).to_have_count(64)
    expect(bare.locator(".rnnw-response-view")).to_have_count(0)

    assert error_outputs(p) == []
    assert widget_errors(page.errors) == []
    # The window width (the wide layout) and as tall as the Explorer, so that the
    # screenshot shows all of it at once.
    first = p.locator(".rnnw-explorer").first
    p.set_viewport_size({"width": 1400, "height": 900})
    height = first.bounding_box()["height"]
    p.set_viewport_size({"width": 1400, "height": int(height) + 400})
    first.scroll_into_view_if_needed()
    first.screenshot(path=str(artifacts_dir / "explorer.png"))
    if os.environ.get("RNNW_UPDATE_SCREENSHOT"):  # ./run screenshot: the README's image
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        first.screenshot(path=str(SCREENSHOT))
