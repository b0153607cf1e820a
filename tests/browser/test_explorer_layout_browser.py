"""The Explorer's layout in a real JupyterLab: the linked views in sight at once (issue 26, 2).

``explorer_layout_e2e.ipynb`` opens ``rw.demo("parentheses_lstm")``. The window is the issue's,
1,400 x 900, with JupyterLab's side panel (the file browser) open as it opens by default. With
the output's top scrolled into view, the SelectView, the MatchView, the state space and the bars
lie inside the notebook's visible area, a brush shows its effect in each without scrolling, the
response view is one click away, and a narrow window stacks the views.
"""

from __future__ import annotations

import itertools
import re

import pytest

from .conftest import (
    canvas_ink,
    error_outputs,
    execute_in_kernel,
    expect,
    open_notebook,
    run_all_cells,
    widget_errors,
)

pytestmark = pytest.mark.browser

WINDOW = {"width": 1400, "height": 900}
NARROW = {"width": 800, "height": 900}
MAIN = {
    "SelectView": ".rnnw-select-view",
    "MatchView": ".rnnw-match-view",
    "StateSpaceView": ".rnnw-state-space-view",
    "RelevanceBars": ".rnnw-relevance-bars",
}
# What the user sees of the notebook: the scrolled area under its toolbar.
NOTEBOOK_AREA = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer"


def _box(locator) -> dict[str, float]:
    box = locator.bounding_box()
    assert box is not None, "not displayed"
    return box


def _inside(box: dict[str, float], area: dict[str, float]) -> bool:
    return (
        box["x"] >= area["x"] - 0.5
        and box["y"] >= area["y"] - 0.5
        and box["x"] + box["width"] <= area["x"] + area["width"] + 0.5
        and box["y"] + box["height"] <= area["y"] + area["height"] + 0.5
    )


def _scroll_output_top_into_view(page, explorer) -> None:
    explorer.evaluate("(el) => el.scrollIntoView({ block: 'start' })")
    page.wait_for_timeout(200)


def _drag(page, start, end) -> None:
    a, b = _box(start), _box(end)
    y = a["y"] + a["height"] / 2
    page.mouse.move(a["x"] + a["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(b["x"] + b["width"] / 2, y, steps=6)
    page.mouse.up()


def test_the_linked_views_are_in_sight_together_and_the_response_one_click_away(
    lab_server, page, artifacts_dir
):
    p = page.page
    p.set_viewport_size(WINDOW)
    open_notebook(p, lab_server, "explorer_layout_e2e.ipynb")
    side_panel = p.locator("#jp-left-stack")
    expect(side_panel).to_be_visible()  # the file browser, open as JupyterLab opens
    assert _box(side_panel)["width"] > 200
    run_all_cells(p, timeout=120_000)
    explorer = p.locator(".rnnw-explorer").first
    views = {name: explorer.locator(css).first for name, css in MAIN.items()}
    expect(views["RelevanceBars"].locator("rect.rnnw-bar")).to_have_count(64)
    assert _box(explorer)["width"] >= 900  # the wide layout: an output of 900 px or more
    _scroll_output_top_into_view(p, explorer)

    # The four views at once, inside what the notebook shows and so inside the window; the
    # page itself never scrolls (JupyterLab scrolls the notebook).
    area = _box(p.locator(NOTEBOOK_AREA))
    assert _inside(area, {"x": 0, "y": 0, **WINDOW})
    boxes = {name: _box(view) for name, view in views.items()}
    outside = {name: box for name, box in boxes.items() if not _inside(box, area)}
    assert outside == {}, f"outside the notebook's visible area {area}: {outside}"
    assert p.evaluate("() => [window.scrollX, window.scrollY]") == [0, 0]
    print("\nat 1,400 x 900:", {name: _rounded(box) for name, box in boxes.items()})
    # the MatchView, the state space and the bars side by side, under the SelectView
    row = [boxes[name] for name in ("MatchView", "StateSpaceView", "RelevanceBars")]
    assert all(box["y"] >= boxes["SelectView"]["y"] + boxes["SelectView"]["height"] for box in row)
    assert row[0]["x"] + row[0]["width"] <= row[1]["x"] <= row[2]["x"] - row[1]["width"]
    assert len({round(box["y"]) for box in row}) == 1

    # A brush in the SelectView (three tokens of sequence 7, where some cells are on throughout):
    # its effect on the other three views shows without scrolling.
    start = execute_in_kernel(
        p,
        "explorer.select_view.scroll_to(explorer.trace.sequence_range(7)[0])\n"
        "print(explorer.select_view.window_start)",
    ).strip()
    expect(views["SelectView"]).to_have_attribute("data-window-start", start)
    tokens = views["SelectView"].locator(".rnnw-token")
    _drag(p, tokens.nth(10), tokens.nth(12))
    expect(views["MatchView"].locator(".rnnw-match-row").first).to_be_visible()
    expect(views["StateSpaceView"]).to_have_attribute("data-range-points", "3")
    selected = views["RelevanceBars"].locator("rect.rnnw-bar-selected")
    expect(selected.first).to_be_visible()
    for effect in (views["MatchView"].locator(".rnnw-match-row").first, selected.first):
        assert _inside(_box(effect), area)
    assert canvas_ink(p, views["StateSpaceView"].locator("canvas").first) > 0.001
    p.screenshot(path=str(artifacts_dir / "explorer-layout-1400x900.png"))

    # The response view: one click on its tab, then in sight under the SelectView.
    response = explorer.locator(".rnnw-response-view").first
    expect(response).to_be_hidden()
    explorer.get_by_role("tab", name="Response").click()
    expect(response).to_be_visible()
    response_bars = explorer.locator(".rnnw-explorer-split .rnnw-relevance-bars").first
    expect(response_bars.locator("rect.rnnw-bar")).to_have_count(64)
    for part in (response, response_bars):
        assert _inside(_box(part), area), _box(part)
    assert _inside(_box(views["SelectView"]), area)
    print("response tab:", _rounded(_box(response)), _rounded(_box(response_bars)))
    p.screenshot(path=str(artifacts_dir / "explorer-layout-response.png"))
    explorer.get_by_role("tab", name=re.compile("^Matches")).click()
    expect(views["StateSpaceView"]).to_be_visible()

    # A narrow window (the output under 640 px): the views stack, each as wide as the row.
    p.set_viewport_size(NARROW)
    p.wait_for_function(
        "(el) => el.getBoundingClientRect().width < 640", arg=explorer.element_handle()
    )
    stacked = [_box(views[name]) for name in ("MatchView", "StateSpaceView", "RelevanceBars")]
    print("stacked at 800 px:", [_rounded(box) for box in stacked])
    assert len({round(box["x"]) for box in stacked}) == 1
    assert len({round(box["width"]) for box in stacked}) == 1
    for upper, lower in itertools.pairwise(stacked):
        assert lower["y"] >= upper["y"] + upper["height"] - 0.5

    assert error_outputs(p) == []
    assert widget_errors(page.errors) == []


def _rounded(box: dict[str, float]) -> dict[str, int]:
    return {key: round(value) for key, value in box.items()}
