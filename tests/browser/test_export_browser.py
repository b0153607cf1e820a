"""Image export in a real JupyterLab and headless Chromium: ``save_image`` to SVG and PNG from
later cells, and the toolbar's SVG button.

``export_e2e.ipynb`` displays a SelectView and a StateSpaceView of a hand-built trace whose
first token is the markup ``<b>&amp;</b>``. The kernel checks the files it wrote: each SVG
parses, holds vector paths and no bitmap (``<image>``), the state cloud is vector rects, the
markup token is text, not an element; each PNG has the PNG signature and twice the view's CSS size.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path

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

SVG_NS = "{http://www.w3.org/2000/svg}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Runs in the kernel: what the written files hold, as JSON.
INSPECT = """
import json, struct, xml.etree.ElementTree as ET
def _inspect(futures):
    report = {}
    for name, future in futures.items():
        path = future.result(timeout=0)
        data = path.read_bytes()
        if name.endswith(".png"):
            width, height = struct.unpack(">II", data[16:24])
            report[name] = {"signature": data[:8].hex(), "width": width, "height": height,
                            "bytes": len(data)}
            continue
        root = ET.fromstring(data)
        tags = [element.tag.split("}")[-1] for element in root.iter()]
        report[name] = {
            "width": float(root.get("width")), "height": float(root.get("height")),
            "counts": {tag: tags.count(tag) for tag in set(tags)},
            "texts": [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")],
            "pixel_rects": sum(len(g) for g in root.iter("{http://www.w3.org/2000/svg}g")
                               if g.get("class") == "rnnw-export-pixels"),
        }
    print(json.dumps(report))
"""


def _wait_until_done(page, expression: str, seconds: float = 60) -> None:
    """Poll the kernel (each poll a new execution, so comm messages arrive between them)."""
    deadline = time.monotonic() + seconds
    while execute_in_kernel(page, f"print({expression})").strip() != "True":
        assert time.monotonic() < deadline, f"still not true after {seconds} s: {expression}"
        time.sleep(0.3)


def _open(lab_server, page):
    p = page.page
    open_notebook(p, lab_server, "export_e2e.ipynb")
    run_all_cells(p)
    for view in (".rnnw-select-view", ".rnnw-state-space-view"):
        expect(p.locator(view).first).not_to_have_attribute("data-render-count", "0")
    expect(p.locator(".rnnw-state-space-view").first).to_have_attribute("data-n-points", "12")
    _wait_until_done(p, "select._rendered > 0 and space._rendered > 0")
    return p


def test_save_image_writes_vector_svg_and_png_of_both_views(lab_server, page, tmp_path):
    p = _open(lab_server, page)
    names = ["select.svg", "select.png", "space.svg", "space.png"]
    execute_in_kernel(
        p,
        "from pathlib import Path\n"
        f"out = Path({str(tmp_path)!r})\n"
        "futures = {name: (select if name.startswith('select') else space).save_image(out / name)"
        f" for name in {names!r}}}\n",
    )
    _wait_until_done(p, "all(f.done() for f in futures.values())")
    failures = execute_in_kernel(
        p, "print([f'{n}: {f.exception()!r}' for n, f in futures.items() if f.exception()])"
    )
    assert failures.strip() == "[]"
    report = json.loads(execute_in_kernel(p, INSPECT + "_inspect(futures)"))

    select_svg, space_svg = report["select.svg"], report["space.svg"]
    for svg in (select_svg, space_svg):
        assert svg["counts"].get("image", 0) == 0
        assert svg["counts"].get("foreignObject", 0) == 0
        assert svg["counts"].get("path", 0) > 0
    # the markup token stays text (clipped with an ellipsis where its column is narrow)
    assert any(t.startswith("<b>&") for t in select_svg["texts"] if t)
    assert "b" not in select_svg["counts"]
    assert space_svg["pixel_rects"] > 0  # the state cloud, as vector rects

    for name in ("select", "space"):
        png, svg = report[f"{name}.png"], report[f"{name}.svg"]
        assert bytes.fromhex(png["signature"]) == PNG_SIGNATURE
        assert (png["width"], png["height"]) == (round(svg["width"] * 2), round(svg["height"] * 2))
        assert png["bytes"] > 2000
    assert error_outputs(p) == []
    assert widget_errors(page.errors) == []


def test_a_view_not_displayed_says_so(lab_server, page):
    p = _open(lab_server, page)
    said = execute_in_kernel(
        p,
        "try:\n"
        "    rw.SelectView(trace).save_image('never.svg')\n"
        "except RuntimeError as error:\n"
        "    print(error)\n",
    )
    assert "has not been displayed in a front end yet" in said


def test_the_toolbar_svg_button_downloads_the_view(lab_server, page, tmp_path):
    p = _open(lab_server, page)
    view = p.locator(".rnnw-select-view").first
    view.scroll_into_view_if_needed()
    with p.expect_download() as info:
        view.locator("button.rnnw-export-svg").click()
    download = info.value
    assert download.suggested_filename == "SelectView.svg"
    saved = Path(tmp_path / download.suggested_filename)
    download.save_as(saved)
    root = ET.parse(saved).getroot()
    assert root.tag == f"{SVG_NS}svg"
    assert root.find(f".//{SVG_NS}path") is not None
    assert root.find(f".//{SVG_NS}image") is None
    assert widget_errors(page.errors) == []
