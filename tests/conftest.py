"""Shared fixtures: small traces with known contents, and a recorder for comm messages."""

from __future__ import annotations

import collections
import os
from typing import Any

import numpy as np
import pytest

from rnn_widgets import Trace

# A skip whose reason names a `./run` step is a missing prerequisite of this machine, not of
# the test: the run ends with one line per such reason, so it is never silent.
_setup_skips: collections.Counter[str] = collections.Counter()


def skip_or_fail_missing(reason: str) -> None:
    """Skip for a missing prerequisite (``reason`` names the ``./run`` step that installs it).

    In CI (``CI`` set) the test fails instead: there every prerequisite must be installed.
    """
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and isinstance(report.longrepr, tuple):
        reason = str(report.longrepr[2]).removeprefix("Skipped: ")
        if "./run " in reason:
            _setup_skips[reason] += 1


def pytest_unconfigure(config: pytest.Config) -> None:
    for reason, count in sorted(_setup_skips.items()):
        noun = "test was" if count == 1 else "tests were"
        print(f"\n{count} {noun} skipped: {reason}", flush=True)


@pytest.fixture
def two_layer_trace() -> Trace:
    """Three sequences (3, 2 and 4 tokens); layer 0 has h and c, layer 1 only h.

    Every value encodes where it lives: h[step, cell] = step + cell / 10 (layer 0),
    so a test can tell exactly which rows and columns were sent.
    """
    tokens = [["the", "cat", "sat"], ["a", "dog"], ["<img src=x onerror=alert(1)>", "b", "c", "d"]]
    n_steps = 9
    steps = np.arange(n_steps, dtype=np.float64)[:, None]
    h0 = steps + np.arange(4)[None, :] / 10
    c0 = -h0
    h1 = np.tile(np.linspace(-1, 1, 6), (n_steps, 1))
    return Trace.from_arrays(tokens, {(0, "h"): h0, (0, "c"): c0, (1, "h"): h1})


class CommRecorder:
    """Captures what a widget sends to the front end (state updates and their buffers)."""

    def __init__(self, widget: Any) -> None:
        self.messages: list[dict[str, Any]] = []
        widget.comm.publish_msg = self._record

    def _record(
        self,
        msg_type: str,
        data: Any = None,
        metadata: Any = None,
        buffers: Any = None,
        **keys: Any,
    ) -> None:
        if msg_type == "comm_msg" and data and data.get("method") == "update":
            self.messages.append(
                {
                    "state": data["state"],
                    "buffer_paths": data["buffer_paths"],
                    "buffers": list(buffers or []),
                }
            )

    def updated(self, name: str) -> list[dict[str, Any]]:
        return [
            m
            for m in self.messages
            if name in m["state"] or any(path[0] == name for path in m["buffer_paths"])
        ]


def send_from_frontend(widget: Any, state: dict[str, Any], buffer_paths=(), buffers=()) -> None:
    """Deliver an update to the kernel-side widget exactly as the browser's comm would."""
    widget.comm.handle_msg(
        {
            "content": {
                "data": {
                    "method": "update",
                    "state": state,
                    "buffer_paths": [list(p) for p in buffer_paths],
                }
            },
            "buffers": list(buffers),
        }
    )
