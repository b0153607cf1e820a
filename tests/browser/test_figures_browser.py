"""A result's bqplot figure draws in JupyterLab: the bars are there, one per cell shown."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import REPO, error_outputs, expect, open_notebook, run_all_cells

pytestmark = pytest.mark.browser

SCREENSHOT = REPO / "docs" / "images" / "cell_scores_plot.png"


def test_cell_scores_plot_draws_its_bars_in_jupyterlab(lab_server, page, artifacts_dir: Path):
    p = page.page
    open_notebook(p, lab_server, "figures_e2e.ipynb")
    run_all_cells(p)
    figure = p.locator(".bqplot.figure").first
    expect(figure.locator("rect.bar")).to_have_count(20)
    expect(figure.locator("text.mainheading")).to_have_text(
        "Cells most relevant to the nesting depth"
    )
    assert error_outputs(p) == []
    figure.scroll_into_view_if_needed()
    figure.screenshot(path=str(artifacts_dir / "cell_scores_plot.png"))
    if os.environ.get("RNNW_UPDATE_SCREENSHOT"):  # ./run screenshot: the docs' image
        figure.screenshot(path=str(SCREENSHOT))
