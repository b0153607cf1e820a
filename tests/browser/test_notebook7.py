"""The views in Jupyter Notebook 7 (not JupyterLab), driven by a real headless Chromium.

Notebook 7 runs ``standalone_e2e.ipynb`` (a SelectView, a MatchView, a RelevanceBars and a
StateSpaceView over the shipped ``parentheses_lstm``, sharing one Selection): every view
draws the data that the test computes again here, a click on a bar reaches the kernel (read
back by an execution in that kernel), and a change made in the kernel reaches the views.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from .conftest import (
    _KERNEL_READY_JS,
    NOTEBOOK,
    Server,
    error_outputs,
    execute_in_kernel,
    expect,
    run_all_cells,
    widget_errors,
)
from .test_standalone_html import Page, expect_views_drew, expected_trace

pytestmark = pytest.mark.browser

NAME = "standalone_e2e.ipynb"


def _open_in_notebook7(page: Page, server: Server) -> None:
    page.goto(f"{server.base_url}/notebooks/{NAME}")
    page.locator(NOTEBOOK).first.wait_for()
    page.wait_for_function(_KERNEL_READY_JS, polling=100)


def _kernel_cells(page: Page, expected: list[int], timeout: float = 30.0) -> list[int]:
    """``sel.cells`` in the kernel, read until it equals ``expected`` or ``timeout`` s pass.

    ipywidgets holds back updates while one is in flight, so the first read may be early.
    """
    deadline = time.monotonic() + timeout
    while True:
        cells = json.loads(execute_in_kernel(page, "print(list(sel.cells))"))
        if cells == expected or time.monotonic() > deadline:
            return cells
        time.sleep(0.2)


def test_every_view_draws_and_a_bar_click_reaches_the_kernel(notebook7_server, page):
    p = page.page
    _open_in_notebook7(p, notebook7_server)
    assert p.evaluate("() => window.jupyterapp.name") == "Jupyter Notebook"  # not JupyterLab
    run_all_cells(p)

    views = expect_views_drew(p, *expected_trace())
    assert _kernel_cells(p, [0, 1]) == [0, 1]

    # A click on the best bar toggles its cell in the kernel's selection and in every view.
    best = views.bars.locator("rect.rnnw-bar").first
    cell = int(best.get_attribute("data-cell"))
    best.scroll_into_view_if_needed()
    best.click()
    expected = sorted({0, 1} ^ {cell})
    assert _kernel_cells(p, expected) == expected
    shown = ",".join(map(str, expected))
    expect(views.select).to_have_attribute("data-highlighted", shown)
    expect(views.bars).to_have_attribute("data-selected", shown)

    # And Python reaches the views: the kernel clears the selection.
    execute_in_kernel(p, "sel.cells = []")
    expect(views.bars).to_have_attribute("data-selected", "")
    expect(views.select).to_have_attribute("data-highlighted", re.compile(r"^$"))

    assert error_outputs(p) == []
    assert widget_errors(page.errors) == []
