"""The shared select cases (tests/shared/select_cases.json) hold for the kernel's select_cells.

The same file drives js/tests/select_preview.test.ts, so the browser's drag preview and the
kernel's selection agree case by case (float32 rounding and exact-equality thresholds too).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rnn_widgets import Trace
from rnn_widgets.analysis import select_cells

_CASES = json.loads((Path(__file__).parent / "shared" / "select_cases.json").read_text())["cases"]


def _trace(case: dict) -> Trace:
    values = np.asarray(case["values"], dtype=np.float64)
    tokens, step = [], 0
    for length in case["lengths"]:
        tokens.append([f"t{s}" for s in range(step, step + length)])
        step += length
    return Trace.from_arrays(tokens, values)


def test_there_are_enough_cases():
    assert len(_CASES) >= 20
    assert len({case["name"] for case in _CASES}) == len(_CASES)


@pytest.mark.parametrize("case", _CASES, ids=[case["name"] for case in _CASES])
def test_select_cells_gives_the_expected_cells(case):
    trace = _trace(case)
    assert trace.states().dtype == np.float32
    arguments = (
        case["start"],
        case["stop"],
        case["threshold"],
        case["pad_before"],
        case["pad_after"],
    )
    if case["expected"] is None:
        with pytest.raises(ValueError, match=case["error"]):
            select_cells(trace, *arguments)
    else:
        assert select_cells(trace, *arguments).tolist() == case["expected"]
