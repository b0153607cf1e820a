"""Image export from Python: format checks, the not-displayed error, and the message round trip
with a simulated front end (the request it sends, the file its answer writes)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from rnn_widgets import (
    AblationPlot,
    MatchView,
    RelevanceBars,
    ResponseView,
    SelectView,
    StateSpaceView,
    Trace,
)
from rnn_widgets.analysis import characterize
from rnn_widgets.models import wrap
from rnn_widgets.widgets._export import ImageExport, compose_svgs, image_format
from rnn_widgets.widgets.response_view import ResponseCurves

from .conftest import send_from_frontend

SVG_NS = "http://www.w3.org/2000/svg"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WAIT = 10  # seconds: a bound on a Future that is already settled, never reached when correct


class CustomMessages:
    """The custom messages a widget sends to its front end."""

    def __init__(self, widget: Any) -> None:
        self.sent: list[dict[str, Any]] = []
        widget.comm.publish_msg = self._record

    def _record(self, msg_type: str, data: Any = None, *args: Any, **keys: Any) -> None:
        if msg_type == "comm_msg" and data and data.get("method") == "custom":
            self.sent.append(data["content"])


def reply(widget: Any, content: dict[str, Any], buffers: list[bytes] = ()) -> None:
    """Deliver a custom message from the front end exactly as the browser's comm would."""
    widget.comm.handle_msg(
        {"content": {"data": {"method": "custom", "content": content}}, "buffers": list(buffers)}
    )


def rendered(widget: Any) -> Any:
    send_from_frontend(widget, {"_rendered": 1})
    return widget


def svg_file(width: float, height: float, text: str = "") -> bytes:
    root = ET.Element(f"{{{SVG_NS}}}svg", {"width": f"{width:g}", "height": f"{height:g}"})
    ET.SubElement(root, f"{{{SVG_NS}}}path", {"d": f"M0,0L{width:g},{height:g}"})
    if text:
        ET.SubElement(root, f"{{{SVG_NS}}}text").text = text
    return ET.tostring(root)


@pytest.fixture
def trace() -> Trace:
    rng = np.random.default_rng(0)
    tokens = [["a", "b", "c", "d"], ["e", "f", "g"]]
    return Trace.from_arrays(tokens, {(0, "h"): rng.normal(size=(7, 5))})


@pytest.fixture
def view(trace: Trace) -> SelectView:
    return SelectView(trace)


# ---------------------------------------------------------------------------------- checks


@pytest.mark.parametrize(
    ("name", "fmt", "expected"),
    [("a.png", None, "png"), ("a.SVG", None, "svg"), ("a", "svg", "svg"), ("a.png", "PNG", "png")],
)
def test_the_format_comes_from_the_suffix_or_the_argument(tmp_path, name, fmt, expected):
    path, chosen = image_format(tmp_path / name, fmt)
    assert chosen == expected
    assert path == tmp_path / name


def test_an_unknown_suffix_without_a_format_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"end in \.png or \.svg"):
        image_format(tmp_path / "plot.jpg")


def test_a_format_that_contradicts_the_suffix_is_refused(tmp_path):
    with pytest.raises(ValueError, match="make them agree"):
        image_format(tmp_path / "plot.png", "svg")


def test_an_unknown_format_is_refused(tmp_path):
    with pytest.raises(ValueError, match="format must be 'png' or 'svg'"):
        image_format(tmp_path / "plot", "pdf")


def test_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        image_format(tmp_path / "nowhere" / "plot.svg")


def test_a_path_that_is_not_a_path_is_refused():
    with pytest.raises(TypeError, match="path must be a str or a pathlib.Path"):
        image_format(3)


def test_a_timeout_that_is_not_positive_is_refused(view, tmp_path):
    rendered(view)
    with pytest.raises(ValueError, match="timeout must be > 0"):
        view.save_image(tmp_path / "a.svg", timeout=0)


@pytest.mark.parametrize(
    "cls",
    [SelectView, MatchView, RelevanceBars, AblationPlot, StateSpaceView, ResponseCurves],
)
def test_every_view_counts_its_renderings_in_a_synced_trait(cls):
    assert issubclass(cls, ImageExport)
    assert "_rendered" in cls.class_trait_names(sync=True)


# ---------------------------------------------------------------------------------- round trip


def test_a_view_no_front_end_has_rendered_says_to_display_it_first(view, tmp_path):
    messages = CustomMessages(view)
    with pytest.raises(RuntimeError, match="has not been displayed in a front end yet"):
        view.save_image(tmp_path / "a.svg")
    assert messages.sent == []
    assert not (tmp_path / "a.svg").exists()


def test_save_image_asks_the_front_end_for_the_format(view, tmp_path):
    messages = CustomMessages(rendered(view))
    future = view.save_image(tmp_path / "a.png")
    assert isinstance(future, Future)
    assert not future.done()
    [request] = messages.sent
    assert request["type"] == "export"
    assert request["format"] == "png"
    assert isinstance(request["id"], str) and request["id"]


def test_the_answer_writes_the_file_and_resolves_the_future(view, tmp_path):
    messages = CustomMessages(rendered(view))
    future = view.save_image(str(tmp_path / "a.svg"))
    data = svg_file(30, 20, "<b> & </b>")
    request = messages.sent[0]
    reply(view, {"type": "export_result", "id": request["id"], "ok": True}, [data])
    assert future.result(timeout=WAIT) == tmp_path / "a.svg"
    assert (tmp_path / "a.svg").read_bytes() == data


def test_a_front_end_error_fails_the_future_and_writes_nothing(view, tmp_path):
    messages = CustomMessages(rendered(view))
    future = view.save_image(tmp_path / "a.png")
    request = messages.sent[0]
    reply(view, {"type": "export_result", "id": request["id"], "ok": False, "error": "no canvas"})
    with pytest.raises(RuntimeError, match="could not export: no canvas"):
        future.result(timeout=WAIT)
    assert not (tmp_path / "a.png").exists()


def test_the_first_of_two_renderings_answers(view, tmp_path):
    messages = CustomMessages(rendered(view))
    future = view.save_image(tmp_path / "a.png")
    request_id = messages.sent[0]["id"]
    reply(view, {"type": "export_result", "id": request_id, "ok": True}, [PNG_SIGNATURE + b"1"])
    reply(view, {"type": "export_result", "id": request_id, "ok": True}, [PNG_SIGNATURE + b"2"])
    future.result(timeout=WAIT)
    assert (tmp_path / "a.png").read_bytes() == PNG_SIGNATURE + b"1"


def test_an_answer_to_another_request_changes_nothing(view, tmp_path):
    messages = CustomMessages(rendered(view))
    future = view.save_image(tmp_path / "a.png")
    reply(
        view, {"type": "export_result", "id": "not-" + messages.sent[0]["id"], "ok": True}, [b"x"]
    )
    assert not future.done()
    future.cancel()


def test_no_answer_fails_the_future_after_the_timeout(view, tmp_path):
    rendered(view)
    future = view.save_image(tmp_path / "a.png", timeout=0.05)
    with pytest.raises(TimeoutError, match="no front end answered"):
        future.result(timeout=WAIT)
    assert not (tmp_path / "a.png").exists()


# ---------------------------------------------------------------------------------- composite


@pytest.fixture(scope="module")
def response():
    torch.manual_seed(0)
    model = wrap(nn.LSTM(1, 4, batch_first=True))
    data = (np.sin(np.arange(96) / 3) > 0).astype(np.float32)[None, :, None]
    return characterize(model, sequences=data, steps=120)


def test_compose_stacks_the_parts_at_their_offsets():
    composed = ET.fromstring(compose_svgs([svg_file(300, 120), svg_file(250, 80, "a < b")]))
    assert (composed.get("width"), composed.get("height")) == ("300", "200")
    parts = composed.findall(f"{{{SVG_NS}}}svg")
    assert [(p.get("x"), p.get("y")) for p in parts] == [("0", "0"), ("0", "120")]
    assert parts[1].find(f"{{{SVG_NS}}}text").text == "a < b"


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 900), st.integers(1, 900)), min_size=1, max_size=5))
def test_composed_size_is_the_widest_part_and_the_sum_of_heights(sizes):
    composed = ET.fromstring(compose_svgs([svg_file(w, h) for w, h in sizes]))
    assert float(composed.get("width")) == max(w for w, _ in sizes)
    assert float(composed.get("height")) == sum(h for _, h in sizes)
    offsets = [float(p.get("y")) for p in composed.findall(f"{{{SVG_NS}}}svg")]
    assert offsets == list(np.cumsum([0] + [h for _, h in sizes[:-1]]))


def test_a_response_view_needs_both_parts_displayed(response, tmp_path):
    view = ResponseView(response)
    rendered(view.response_curves)
    with pytest.raises(RuntimeError, match="RelevanceBars has not been displayed"):
        view.save_image(tmp_path / "r.svg")


def test_a_response_view_svg_stacks_the_curves_above_the_bars(response, tmp_path):
    view = ResponseView(response)
    curves, bars = (
        CustomMessages(rendered(view.response_curves)),
        CustomMessages(rendered(view.relevance_bars)),
    )
    future = view.save_image(tmp_path / "r.svg")
    [to_curves], [to_bars] = curves.sent, bars.sent
    assert to_curves["format"] == to_bars["format"] == "svg"
    reply(
        view.relevance_bars,
        {"type": "export_result", "id": to_bars["id"], "ok": True},
        [svg_file(400, 90)],
    )
    assert not future.done()  # still waiting for the curves
    ok = {"type": "export_result", "id": to_curves["id"], "ok": True}
    reply(view.response_curves, ok, [svg_file(500, 300)])
    assert future.result(timeout=WAIT) == tmp_path / "r.svg"
    written = ET.parse(tmp_path / "r.svg").getroot()
    assert (written.get("width"), written.get("height")) == ("500", "390")
    parts = written.findall(f"{{{SVG_NS}}}svg")
    assert [(p.get("width"), p.get("y")) for p in parts] == [("500", "0"), ("400", "300")]


def test_a_response_view_png_is_the_stacked_svg_rasterised_by_the_front_end(response, tmp_path):
    view = ResponseView(response)
    curves, bars = (
        CustomMessages(rendered(view.response_curves)),
        CustomMessages(rendered(view.relevance_bars)),
    )
    future = view.save_image(tmp_path / "r.png")
    for widget, messages, size in (
        (view.response_curves, curves, 200),
        (view.relevance_bars, bars, 100),
    ):
        ok = {"type": "export_result", "id": messages.sent[0]["id"], "ok": True}
        reply(widget, ok, [svg_file(300, size)])
    raster = curves.sent[-1]
    assert raster["format"] == "png"
    assert ET.fromstring(raster["svg"]).get("height") == "300"
    png = PNG_SIGNATURE + b"stacked"
    reply(view.response_curves, {"type": "export_result", "id": raster["id"], "ok": True}, [png])
    assert future.result(timeout=WAIT) == Path(tmp_path / "r.png")
    assert (tmp_path / "r.png").read_bytes() == png
