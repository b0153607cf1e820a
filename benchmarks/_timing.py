"""Shared timing for the benchmark scripts (run as ``python benchmarks/<script>.py``)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_ms(function: Callable[[int], object], repeats: int) -> float:
    """Median wall time in milliseconds of ``function(i)`` for ``i`` in ``range(repeats)``."""
    timings = []
    for index in range(repeats):
        start = time.perf_counter()
        function(index)
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)
