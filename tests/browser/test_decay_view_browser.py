"""The Explorer's "Memory" tab in a real JupyterLab: the DecayView's bars, a click, the text.

``decay_view_e2e.ipynb`` opens ``rw.demo("parentheses_min_gru")`` with the SelectView, the
relevance bars and the DecayView. The memory tab is hidden until clicked; then its bars draw
one per cell, the line under them shows the neutral hint, and a click on a bar selects that
cell in the kernel and the line names the tokens that hold or reset it.
"""

from __future__ import annotations

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


def test_the_memory_tab_draws_its_bars_and_a_click_names_the_cells_tokens(
    lab_server, page, artifacts_dir
):
    p = page.page
    open_notebook(p, lab_server, "decay_view_e2e.ipynb")
    run_all_cells(p, timeout=120_000)
    explorer = p.locator(".rnnw-explorer").first
    memory = explorer.locator(".rnnw-decay-view").first
    expect(memory).to_be_hidden()
    explorer.get_by_role("tab", name="Memory").click()
    expect(memory).to_be_visible()
    bars = memory.locator("rect.rnnw-bar")
    expect(bars).to_have_count(64)
    text = memory.locator(".rnnw-decay-text")
    expect(text).to_have_text("select a cell to see which tokens hold or reset it")

    longest = bars.first  # the cell of the longest median time constant
    cell = longest.get_attribute("data-cell")
    longest.click()
    expect(text).to_have_text(re.compile(rf"^cell {cell}: "))
    printed = execute_in_kernel(p, "print(list(explorer.selection.cells))").strip()
    assert printed == f"[{cell}]"
    kernel_text = execute_in_kernel(p, "print(explorer.decay_view.text.value)").strip()
    expect(text).to_have_text(kernel_text)
    p.screenshot(path=str(artifacts_dir / "explorer-memory-tab.png"))
    assert widget_errors(error_outputs(p)) == []
