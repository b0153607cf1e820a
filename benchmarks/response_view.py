"""ResponseView: what showing another cell costs the kernel, and what it sends.

For a response of ``--cells`` isolated cells (a seeded random ``nn.LSTM`` reading one channel,
stimuli designed from a square wave: one step and the main sinusoid, 1,000 steps each), times,
as medians of ``--repeats`` runs, the kernel's answer to a click: setting ``selection.cells``
to another cell, which moves the shown cell and sends its curves (the drawn windows of input
and output per stimulus, float32 buffers) through ipywidgets' serialisation into a comm
message, captured instead of sent. The baseline, run in the same process, is the same widget
sending those curves as JSON lists of numbers (what the contract forbids), through the same
path. The table gives both times, the bytes each puts on the wire, their ratios, and for
scale the bytes of every cell's whole curves (what a view that chose cells in the browser
alone would need up front).
Usage: python benchmarks/response_view.py [--cells 128 1024 4096] [--repeats 21]
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np
import torch
from _timing import median_ms
from torch import nn

from rnn_widgets.analysis import Response, characterize
from rnn_widgets.models import wrap
from rnn_widgets.widgets.response_view import ResponseCurves, _curves_payload


class _Captured:
    """Takes the place of the comm's publish_msg: serialises the update as the session would
    (JSON for the state, raw bytes for the buffers) and keeps its size."""

    def __init__(self, widget: Any) -> None:
        self.bytes = 0
        widget.comm.publish_msg = self._record

    def _record(self, msg_type: str, data: Any = None, buffers: Any = None, **_: Any) -> None:
        if msg_type == "comm_msg" and data and data.get("method") == "update":
            if "_curves" in data["state"]:
                self.bytes = len(json.dumps(data["state"])) + sum(
                    len(bytes(b)) for b in buffers or []
                )


class _JsonListCurves(ResponseCurves):
    """The baseline: the same widget sending the curves as JSON lists of numbers."""

    def _send_curves(self) -> None:
        payload = _curves_payload(self._response, self.cell, self._windows)
        payload["values"] = _as_list(payload["values"])
        for panel in payload["panels"]:
            panel["inputs"] = _as_list(panel["inputs"])
            panel["output"] = _as_list(panel["output"])
        self._curves = payload


def _as_list(packed: dict[str, Any]) -> list[float]:
    return np.frombuffer(bytes(packed["data"]), dtype="<f4").tolist()


def _response(n_cells: int) -> Response:
    torch.manual_seed(0)
    model = wrap(nn.LSTM(1, n_cells, batch_first=True))
    square = (np.sin(2 * np.pi * np.arange(512) / 16) > 0).astype(np.float32)[None, :, None]
    return characterize(model, sequences=square)


def _click_cost(widget_class: type, response: Response, repeats: int) -> tuple[float, int]:
    """Median ms of the kernel's answer to a click on another cell, and its bytes."""
    view = widget_class(response)
    captured = _Captured(view)
    n_cells = response.n_cells

    def click(index: int) -> None:
        view.selection.cells = [(index * 7 + 1) % n_cells]

    ms = median_ms(click, repeats)
    view.close()
    return ms, captured.bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, nargs="+", default=[128, 1024, 4096])
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args()

    print(
        "| cells | click, binary (ms) | click, JSON lists (ms) | time ratio "
        "| bytes, binary | bytes, JSON lists | bytes ratio | every cell's curves (bytes) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for n_cells in args.cells:
        response = _response(n_cells)
        binary_ms, binary_bytes = _click_cost(ResponseCurves, response, args.repeats)
        json_ms, json_bytes = _click_cost(_JsonListCurves, response, args.repeats)
        # every cell's output and the stimuli's inputs, whole, as float32
        everything = (
            response.outputs.size + response.outputs.shape[0] * response.outputs.shape[1]
        ) * 4
        print(
            f"| {n_cells:,} | {binary_ms:.2f} | {json_ms:.2f} | {json_ms / binary_ms:.1f}x "
            f"| {binary_bytes:,} | {json_bytes:,} | {json_bytes / binary_bytes:.1f}x "
            f"| {everything:,} |"
        )


if __name__ == "__main__":
    main()
