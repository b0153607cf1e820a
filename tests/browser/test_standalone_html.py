"""The views in a notebook saved as standalone HTML, opened in Chromium with no network.

``standalone_e2e.ipynb`` is executed with nbclient, which stores the widget state (every
model, buffers included) in the notebook's metadata, as JupyterLab's "Save Widget State
Automatically" does; nbconvert turns it into one HTML file that loads require.js, the
widget html-manager and anywidget's front end from CDNs. Here every CDN request is served
from the pinned copies in ``js/node_modules`` (``npm --prefix js ci`` installs them) and
every other request is blocked, so the page proves the views draw from the embedded state
alone and that the front-end-only interactions work without a kernel.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import nbclient
import nbconvert
import nbformat
import numpy as np
import pytest

from .conftest import HERE, REPO, expect, playwright_api

pytestmark = pytest.mark.browser

Locator = playwright_api.Locator
Page = playwright_api.Page
Route = playwright_api.Route

NODE_MODULES = REPO / "js" / "node_modules"
NOTEBOOK = HERE / "standalone_e2e.ipynb"

# nbconvert's default page loads require.js from cdnjs and the html-manager from unpkg; the
# html-manager loads every other widget package (anywidget) from jsDelivr.
_REQUIRE_JS = re.compile(r"https://cdnjs\.cloudflare\.com/ajax/libs/require\.js/[^/]+/require")
_NPM_CDN = re.compile(
    r"https://(?:unpkg\.com|cdn\.jsdelivr\.net/npm)/"
    r"(?P<package>(?:@[^/@]+/)?[^/@]+)(?:@[^/]*)?/(?P<path>[^?#]+)"
)
# The one script the page asks for that the views do not need (there is no math).
_NOT_NEEDED = re.compile(r"https://cdnjs\.cloudflare\.com/ajax/libs/mathjax/")

# The share of a canvas's pixels that are painted and not near-white.
CANVAS_INK_JS = """(canvas) => {
  const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
  let ink = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] > 0 && data[i] + data[i + 1] + data[i + 2] < 600) ink++;
  }
  return ink / (canvas.width * canvas.height);
}"""


def local_copy(url: str) -> Path | None:
    """The file in ``js/node_modules`` that a CDN URL of the page stands for, if any."""
    if _REQUIRE_JS.match(url):
        return NODE_MODULES / "requirejs" / "require.js"
    found = _NPM_CDN.fullmatch(unquote(url))
    if found is None:
        return None
    package = NODE_MODULES / found["package"]
    path = (package / found["path"]).resolve()
    return path if path.is_relative_to(package.resolve()) and path.is_file() else None


@dataclass
class OfflinePage:
    """A Chromium page whose network is the routing table below, and what it logged."""

    page: Page
    served: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _route(offline: OfflinePage, route: Route) -> None:
    url = route.request.url
    if url.startswith("file://"):  # the saved page itself, and require.js's local probes
        route.continue_()
        return
    path = local_copy(url)
    if path is None:
        offline.blocked.append(url)
        route.abort()
        return
    offline.served.append(url)
    route.fulfill(path=str(path), content_type="text/javascript")


@pytest.fixture(scope="module")
def standalone_html(tmp_path_factory) -> Path:
    """``standalone_e2e.ipynb`` executed (widget state stored) and saved as HTML."""
    work = tmp_path_factory.mktemp("standalone")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(work)}},
    ).execute()
    assert "application/vnd.jupyter.widget-state+json" in notebook.metadata["widgets"]
    html, _ = nbconvert.HTMLExporter().from_notebook_node(notebook)
    path = work / "standalone_e2e.html"
    path.write_text(html, encoding="utf-8")
    return path


@pytest.fixture
def offline(browser, request, artifacts_dir) -> Iterator[OfflinePage]:
    context = browser.new_context(viewport={"width": 1280, "height": 1600})
    offline = OfflinePage(context.new_page())
    context.route("**/*", lambda route: _route(offline, route))
    page = offline.page
    page.on("pageerror", lambda exc: offline.errors.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: offline.errors.append(msg.text) if msg.type == "error" else None,
    )
    try:
        yield offline
    finally:
        with contextlib.suppress(Exception):
            shot = artifacts_dir / f"{request.node.name}.png"
            page.screenshot(path=str(shot), full_page=True)
        if offline.errors or offline.blocked:
            print("blocked:", *offline.blocked, "errors:", *offline.errors[:30], sep="\n  ")
        context.close()


def expected_trace() -> tuple[Any, Any]:
    """The task and trace the notebook shows, computed here the same way (all deterministic)."""
    import rnn_widgets as rw
    from rnn_widgets import zoo

    task = zoo.data("parentheses_lstm").subset([0, 1, 2])
    return task, rw.capture(zoo.load("parentheses_lstm"), task.sequences, progress=False)


def _expected_bar_order(task: Any, trace: Any) -> list[int]:
    """The cells of the notebook's first relevance vector, best first (ties: lower index)."""
    from rnn_widgets import hypotheses as hyp
    from rnn_widgets.analysis import score_cells

    table = score_cells(trace, hyp.from_task(task, levels=4), folds=3, progress=False)
    scores = np.where(np.isnan(table.score[0]), table.chance[0], table.score[0])
    return [int(cell) for cell in np.asarray(table.cells)[np.lexsort((table.cells, -scores))]]


@dataclass
class Views:
    """The four views of ``standalone_e2e.ipynb`` on a page."""

    select: Locator
    matches: Locator
    bars: Locator
    space: Locator

    @classmethod
    def on(cls, page: Page) -> Views:
        return cls(
            page.locator(".rnnw-select-view").first,
            page.locator(".rnnw-match-view").first,
            page.locator(".rnnw-relevance-bars").first,
            page.locator(".rnnw-state-space-view").first,
        )


def expect_views_drew(page: Page, task: Any, trace: Any) -> Views:
    """Assert that every view of the notebook drew its data (the kernel's or the embedded)."""
    views = Views.on(page)
    expect(views.select).to_have_attribute("data-n-cells", str(trace.n_cells()))
    expect(views.select).to_have_attribute("data-highlighted", "0,1")
    tokens = views.select.locator(".rnnw-token")
    expect(tokens).to_have_count(24)
    shown = [tokens.nth(i).get_attribute("title") for i in range(24)]
    assert shown == list(task.sequences[0][:24])
    expect(views.space).to_have_attribute("data-n-points", str(trace.n_steps))
    expect(views.bars.locator("rect.rnnw-bar")).to_have_count(trace.n_cells())
    expect(views.bars).to_have_attribute("data-selected", "0,1")
    order = ",".join(map(str, _expected_bar_order(task, trace)))
    expect(views.bars).to_have_attribute("data-order", order)
    expect(views.matches.locator(".rnnw-match-summary")).to_contain_text("2 cells selected")
    assert views.matches.locator(".rnnw-match-row").count() > 0
    for canvas in (
        views.select.locator("canvas.rnnw-plot"),
        views.space.locator("canvas.rnnw-ssv-canvas"),
    ):
        canvas.scroll_into_view_if_needed()
        assert canvas.evaluate(CANVAS_INK_JS) > 0.005
    for error in page.locator(".rnnw-error").all():
        expect(error).to_be_hidden()
    # No JupyterLab theme switched on here: every view uses the light palette.
    for view in (views.select, views.matches, views.bars, views.space):
        expect(view).to_have_css("background-color", "rgb(255, 255, 255)")
    return views


def _center(locator: Locator) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _expect_token_hover_marks_the_state(page: Page, views: Views) -> None:
    """Hover a token in the SelectView: its tooltip and the StateSpaceView show one step."""
    views.select.scroll_into_view_if_needed()
    box = views.select.locator("canvas.rnnw-plot").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)
    tooltip = views.select.locator(".rnnw-tooltip")
    expect(tooltip).to_contain_text(re.compile(r"step \d+"))
    step = re.search(r"step (\d+)", tooltip.inner_text()).group(1)
    expect(views.space).to_have_attribute("data-hovered-step", step)


def _expect_bar_hover_and_click(page: Page, views: Views) -> None:
    """Hover the best bar (its cell and score show), click it (its cell lights up everywhere)."""
    best = views.bars.locator("rect.rnnw-bar").first
    cell = int(best.get_attribute("data-cell"))
    score = float(best.get_attribute("data-score"))
    best.scroll_into_view_if_needed()
    page.mouse.move(*_center(best))
    hover = views.bars.locator(".rnnw-bars-hover")
    expect(hover).to_have_text(re.compile(rf"^cell {cell}: -?\d"))
    assert float(hover.inner_text().split(": ")[1]) == pytest.approx(score, abs=5e-4)
    best.click()
    selected = ",".join(map(str, sorted({0, 1} ^ {cell})))
    expect(views.bars).to_have_attribute("data-selected", selected)
    expect(views.select).to_have_attribute("data-highlighted", selected)


def test_local_widget_scripts_match_the_python_packages():
    """The pinned npm copies are the versions the saved page asks the CDNs for."""
    import anywidget
    import ipywidgets

    pinned = json.loads((REPO / "js" / "package.json").read_text())["devDependencies"]
    python_minor = ".".join(anywidget.__version__.split(".")[:2])
    assert pinned["anywidget"].startswith(python_minor + "."), (
        f"js/package.json pins anywidget {pinned['anywidget']} but Python has "
        f"{anywidget.__version__}: pin the same minor version"
    )
    # ipywidgets 8 writes widget state of protocol 2, which html-manager 1.x reads.
    assert ipywidgets.__version__.startswith("8.")
    assert pinned["@jupyter-widgets/html-manager"].startswith("1.")
    for url in (
        "https://cdnjs.cloudflare.com/ajax/libs/require.js/2.1.10/require.min.js",
        "https://unpkg.com/@jupyter-widgets/html-manager@*/dist/embed-amd.js",
        "https://cdn.jsdelivr.net/npm/anywidget@~0.11.*/dist/index.js",
    ):
        path = local_copy(url)
        assert path is not None and path.is_file(), f"{url}: run `npm --prefix js ci`"
    assert local_copy("https://unpkg.com/anywidget@1/../../package.json") is None
    assert local_copy("https://example.com/anywidget/dist/index.js") is None


def test_the_saved_page_draws_every_view_and_links_them_offline(standalone_html, offline):
    task, trace = expected_trace()
    page = offline.page
    page.goto(standalone_html.as_uri())
    views = expect_views_drew(page, task, trace)
    # Front-end-only gestures, through the shared Selection model, with no kernel.
    _expect_token_hover_marks_the_state(page, views)
    _expect_bar_hover_and_click(page, views)

    # Only the widget scripts were fetched, each from js/node_modules; MathJax was refused.
    assert {local_copy(url) for url in offline.served} == {
        NODE_MODULES / "requirejs" / "require.js",
        NODE_MODULES / "@jupyter-widgets" / "html-manager" / "dist" / "embed-amd.js",
        NODE_MODULES / "anywidget" / "dist" / "index.js",
    }
    assert [url for url in offline.blocked if not _NOT_NEEDED.match(url)] == []
    assert [e for e in offline.errors if "pageerror" in e or "rror setting state" in e] == []
