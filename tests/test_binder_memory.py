"""The quickstart's kernel stays under 1 GB resident: Binder gives a session 1-2 GB in all.

Runs ``notebooks/00_quickstart.ipynb`` headless (nbclient, this environment's kernel) while a
thread samples the kernel process's resident set (children included) every 100 ms.
``benchmarks/binder.py`` measures the same in JupyterLab with the views drawn.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import nbformat
import psutil
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

QUICKSTART = Path(__file__).resolve().parent.parent / "notebooks" / "00_quickstart.ipynb"
LIMIT_BYTES = 1_000_000_000  # 1 GB, not GiB: Binder's smallest sessions leave little over
TORCH_LOADED_BYTES = 200_000_000  # `import torch` alone takes about this much


def _family_rss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += member.memory_info().rss
    return total


@contextlib.contextmanager
def _peak_rss(process: psutil.Process) -> Iterator[list[int]]:
    """Yields a one-item list that holds the largest resident set seen so far."""
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            with contextlib.suppress(psutil.Error):
                peak[0] = max(peak[0], _family_rss(process))
            stop.wait(0.1)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()
        with contextlib.suppress(psutil.Error):
            peak[0] = max(peak[0], _family_rss(process))


def test_quickstart_kernel_stays_under_1_gb(tmp_path: Path):
    notebook = nbformat.read(QUICKSTART, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    with client.setup_kernel():
        kernel = psutil.Process(client.km.provisioner.process.pid)
        with _peak_rss(kernel) as peak:
            for index, cell in enumerate(notebook.cells):
                client.execute_cell(cell, index)
    errors = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.output_type == "error"
    ]
    assert not errors, errors[0]
    assert peak[0] > TORCH_LOADED_BYTES, "the sampler did not watch the notebook's kernel"
    assert peak[0] < LIMIT_BYTES, f"the quickstart's kernel peaked at {peak[0] / 1e6:,.0f} MB"
