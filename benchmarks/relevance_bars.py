"""RelevanceBars: what switching the shown score vector costs the kernel, and what it sends.

For ``--cells`` cells and ``--names`` random score vectors (with signs), times, as medians of
``--repeats`` runs, the kernel's answer to the picker: setting ``current`` (validation, the
payload with its float32 scores, uint32 order and int8 signs, and ipywidgets' serialisation
into a comm message, captured instead of sent). The baseline, run in the same process, is the
same widget sending the vector as JSON lists of numbers (what the contract forbids), through
the same path; the table gives both times, the bytes each puts on the wire, and their ratios
(JSON lists / binary).
Usage: python benchmarks/relevance_bars.py [--cells 128 1024 8192] [--names 8] [--repeats 21]
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np
from _timing import median_ms

from rnn_widgets import RelevanceBars


class _Captured:
    """Takes the place of the comm's publish_msg: serialises the update as the session would
    (JSON for the state, raw bytes for the buffers) and keeps its size."""

    def __init__(self, widget: Any) -> None:
        self.bytes = 0
        widget.comm.publish_msg = self._record

    def _record(self, msg_type: str, data: Any = None, buffers: Any = None, **_: Any) -> None:
        if msg_type == "comm_msg" and data and data.get("method") == "update":
            self.bytes = len(json.dumps(data["state"])) + sum(len(bytes(b)) for b in buffers or [])


class _JsonListBars(RelevanceBars):
    """The baseline: the same widget sending the vector as JSON lists of numbers."""

    def _bars_payload(self) -> dict[str, Any]:
        name = self.current
        signs = self._signs.get(name)
        return {
            "name": name,
            "scores": self._scores[name].astype(np.float32).tolist(),
            "order": self._orders[name].tolist(),
            "signs": None if signs is None else signs.tolist(),
        }


def _switch_cost(widget_class: type, scores: dict, signs: dict, repeats: int) -> tuple[float, int]:
    """Median ms of the kernel's answer to the picker, and the bytes of that answer."""
    bars = widget_class(scores, signs=signs)
    captured = _Captured(bars)
    names = list(scores)

    def switch(index: int) -> None:
        bars.current = names[(index + 1) % len(names)]

    ms = median_ms(switch, repeats)
    bars.close()
    return ms, captured.bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, nargs="+", default=[128, 1024, 8192])
    parser.add_argument("--names", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    print(
        "| cells | switch, binary (ms) | switch, JSON lists (ms) | time ratio "
        "| bytes, binary | bytes, JSON lists | bytes ratio |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for n_cells in args.cells:
        scores = {f"h{i}": rng.standard_normal(n_cells) for i in range(args.names)}
        signs = {name: np.sign(vector) for name, vector in scores.items()}
        binary_ms, binary_bytes = _switch_cost(RelevanceBars, scores, signs, args.repeats)
        json_ms, json_bytes = _switch_cost(_JsonListBars, scores, signs, args.repeats)
        print(
            f"| {n_cells:,} | {binary_ms:.2f} | {json_ms:.2f} | {json_ms / binary_ms:.1f}x "
            f"| {binary_bytes:,} | {json_bytes:,} | {json_bytes / binary_bytes:.1f}x |"
        )


if __name__ == "__main__":
    main()
