"""Every view as a newcomer meets it, in JupyterLab's light and dark themes (issue 26, 2 and 3).

``themes_e2e.ipynb`` opens ``rw.demo("parentheses_lstm")`` (SelectView, MatchView,
StateSpaceView, RelevanceBars, ResponseView and its bars) and an AblationPlot. The window is the
issue's: 1,400 x 900. Colours are read from the page as the browser computes them; contrast is
WCAG 2's (relative luminance), text composited over the background it sits on.
"""

from __future__ import annotations

import os

import pytest

from .conftest import (
    HERE,
    REPO,
    error_outputs,
    execute_in_kernel,
    expect,
    open_notebook,
    reveal,
    run_all_cells,
)

pytestmark = pytest.mark.browser

WINDOW = {"width": 1400, "height": 900}
SCREENSHOTS = {"light": "theme-light.png", "dark": "theme-dark.png"}
VIEWS = ".rnnw-view"
# Brushing steps 22:26 of sequence 7 selects four cells of the demo's LSTM.
BRUSH = (
    "a = explorer.trace.sequence_range(7)[0]\n"
    "explorer.select_view.scroll_to(a)\n"
    "explorer.selection.update({'start': a + 22, 'stop': a + 26})\n"
    "print(list(explorer.selection.cells))"
)

# Colour maths in the page (colours.js): call as _js("method"), with one argument.
_COLOURS = (HERE / "colours.js").read_text()


def _js(method: str) -> str:
    return f"(arg) => ({_COLOURS}).{method}(arg)"


_SET_THEME_JS = """async (theme) => {
  await window.jupyterapp.commands.execute("apputils:change-theme", { theme });
}"""


def _views(page):
    views = page.locator(VIEWS)
    expect(views).to_have_count(7)  # 5 in the Explorer, the ResponseView's bars, the AblationPlot
    return [views.nth(i) for i in range(7)]


def _open(page, lab_server):
    page.set_viewport_size(WINDOW)
    open_notebook(page, lab_server, "themes_e2e.ipynb")
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    run_all_cells(page, timeout=120_000)
    expect(page.locator(".rnnw-explorer").first).to_be_visible()
    return page.locator(".rnnw-explorer").first


def _brush(page, explorer) -> None:
    cells = execute_in_kernel(page, BRUSH).strip()
    assert cells != "[]"
    reveal(explorer.locator(".rnnw-match-view").first)  # the first tab, if the second shows
    expect(explorer.locator(".rnnw-match-row").first).to_be_visible()


def _check_colours(page, views, background: str) -> dict[str, float]:
    """Every view's backdrop is ``background`` and all its text (and canvas ink) reads at 4.5:1."""
    worst = {}
    for view in views:
        reveal(view)  # the ResponseView is on the Explorer's second tab
        view.scroll_into_view_if_needed()
        name = view.get_attribute("class").split()[0]
        found = page.evaluate(_js("textContrast"), view.element_handle())
        assert found["background"] == background, name
        assert len(found["results"]) >= 3, name
        low = [r for r in found["results"] if r["ratio"] < 4.5]
        assert low == [], f"{name}: text under 4.5:1 {low[:5]}"
        ratios = [r["ratio"] for r in found["results"]]
        for canvas in found["canvases"]:  # the palette the canvas was painted with
            assert canvas["background"] == background, name
            assert canvas["ratio"] >= 4.5, f"{name}: canvas ink {canvas}"
            ratios.append(canvas["ratio"])
        worst[name] = round(min(ratios), 2)
    return worst


def _screenshot(page, explorer, theme: str, artifacts_dir) -> None:
    reveal(explorer.locator(".rnnw-match-view").first)  # the linked views' tab
    explorer.evaluate("(el) => el.scrollIntoView({ block: 'start' })")
    page.wait_for_timeout(300)  # let the canvases repaint after the scroll
    page.screenshot(path=str(artifacts_dir / SCREENSHOTS[theme]))
    if os.environ.get("RNNW_UPDATE_SCREENSHOT"):  # ./run screenshot: the README's images
        page.screenshot(path=str(REPO / "docs" / "images" / SCREENSHOTS[theme]))


def test_a_newcomer_sees_a_hint_legends_and_each_views_gestures(lab_server, page):
    p = page.page
    explorer = _open(p, lab_server)
    views = _views(p)

    # Before any selection the MatchView shows how to select cells, as a neutral hint.
    match = explorer.locator(".rnnw-match-view")
    hint = match.locator(".rnnw-hint")
    expect(hint).to_be_visible()
    expect(hint).to_contain_text("Select cells to match")
    expect(match.locator(".rnnw-error")).to_be_hidden()
    looks = "(e) => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]"
    error_look = match.locator(".rnnw-error").evaluate(looks)  # hidden, still styled
    hint_look = hint.evaluate(looks)
    assert hint_look[0] != error_look[0] and hint_look[1] == "rgba(0, 0, 0, 0)"

    # The ? button of every view shows its gestures, and hides them again.
    for view in views:
        button = view.locator(".rnnw-help-button").first
        panel = view.locator(".rnnw-help").first
        reveal(view)
        view.scroll_into_view_if_needed()
        expect(panel).to_be_hidden()
        button.click()
        expect(panel).to_be_visible()
        assert panel.locator(".rnnw-help-gesture").count() >= 2
        button.click()
        expect(panel).to_be_hidden()

    # Every view names its colours; the bars' colours are exactly the legend's.
    _brush(p, explorer)
    for view in views:
        reveal(view)
        items = p.evaluate(_js("legend"), view.element_handle())
        assert items, view.get_attribute("class")
        assert all(i["swatch"] or i["textOnly"] for i in items), items
    bars = explorer.locator(".rnnw-relevance-bars").first
    reveal(bars)
    fill_of = "rs => rs.map(r => getComputedStyle(r).fill)"
    fills = set(bars.locator("rect.rnnw-bar").evaluate_all(fill_of))
    legend = {i["text"]: i["fill"] for i in p.evaluate(_js("legend"), bars.element_handle())}
    assert len(fills) == 2 and fills <= set(legend.values()), (fills, legend)
    assert {"positive relation", "negative relation", "selected cell"} <= set(legend)

    # In the MatchView the match is framed in the legend's colour; its context is not.
    texts = {i["text"]: i for i in p.evaluate(_js("legend"), match.element_handle())}
    assert "selected cells on: 1 … 4 of 4" in texts and "context: faded" in texts
    frame = texts["match: framed, bold"]["line"]
    row = match.locator(".rnnw-match-row").first
    edge = "(e) => getComputedStyle(e).borderTopColor"
    assert row.locator(".rnnw-match-in").first.evaluate(edge) == frame
    assert row.locator(".rnnw-match-context").first.evaluate(edge) == "rgba(0, 0, 0, 0)"

    assert error_outputs(p) == []


def test_every_view_follows_jupyterlabs_dark_theme_and_back(lab_server, page, artifacts_dir):
    p = page.page
    explorer = _open(p, lab_server)
    views = _views(p)
    _brush(p, explorer)
    select_canvas = explorer.locator("canvas.rnnw-plot").first
    light = _check_colours(p, views, "rgb(255, 255, 255)")
    assert p.evaluate(_js("tickInk"), select_canvas.element_handle()) < 0.3  # dark ticks
    _screenshot(p, explorer, "light", artifacts_dir)
    try:
        p.evaluate(_SET_THEME_JS, "JupyterLab Dark")
        p.wait_for_function(_js("themeApplied"), arg=["false", "#111"], polling=100)
        dark = _check_colours(p, views, "rgb(17, 17, 17)")
        select_canvas.scroll_into_view_if_needed()
        assert p.evaluate(_js("tickInk"), select_canvas.element_handle()) > 0.7  # light ticks
        _screenshot(p, explorer, "dark", artifacts_dir)

        # An export uses the palette on screen: the dark backdrop, light text.
        execute_in_kernel(p, "import tempfile, pathlib\nout = pathlib.Path(tempfile.mkdtemp())")
        execute_in_kernel(p, "future = explorer.match_view.save_image(out / 'dark.svg')")
        check = (
            "import re\n"
            "if future.done():\n"
            "    text = future.result().read_text()\n"
            '    print(re.search(r\'<rect [^>]*fill="([^"]+)"\', text).group(1))\n'
            "    print('rgba(255, 255, 255, 0.87)' in text or 'rgb(255, 255, 255)' in text)"
        )
        answer = ""
        for _ in range(100):
            answer = execute_in_kernel(p, check).strip()
            if answer:
                break
            p.wait_for_timeout(100)
        assert answer.splitlines() == ["rgb(17, 17, 17)", "True"]
    finally:
        p.evaluate(_SET_THEME_JS, "JupyterLab Light")  # the Lab settings outlive this test
    p.wait_for_function(_js("themeApplied"), arg=["true", "white"], polling=100)
    _check_colours(p, views, "rgb(255, 255, 255)")
    print(f"lowest contrast per view, light: {light}, dark: {dark}")
    assert error_outputs(p) == []
