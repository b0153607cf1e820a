"""Memory-mapping HDF5 datasets: the one place that knows how.

h5py stores a contiguous, unfiltered dataset as one run of bytes at a known offset in the
file, so ``np.memmap`` can map it directly: the OS reads pages on first touch and nothing is
loaded whole. Both the trace format and the LSTMVis import rely on this.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

__all__ = ["memory_map", "read_only_view"]


def memory_map(dataset: h5py.Dataset, file: Path) -> np.ndarray | None:
    """A read-only ndarray mapped onto ``dataset`` in ``file``, or None when it cannot be.

    Only a contiguous (unchunked, so unfiltered), internally stored, allocated dataset of a
    native-order numeric dtype maps. The first and last rows are compared with h5py's reads,
    so a layout this function misjudges falls back to reading.
    """
    dtype = dataset.dtype
    if dataset.chunks is not None or dataset.external or dtype.kind not in "biuf":
        return None
    if not dtype.isnative or dataset.size == 0:
        return None
    offset = dataset.id.get_offset()
    if offset is None:
        return None
    array = np.memmap(file, dtype=dtype, mode="r", offset=offset, shape=dataset.shape)
    for row in (0, dataset.shape[0] - 1):
        expected = np.asarray(dataset[row], dtype=dtype)
        if not np.array_equal(np.asarray(array[row]).tobytes(), expected.tobytes()):
            return None
    return array


def read_only_view(dataset: h5py.Dataset, file: Path) -> np.ndarray:
    """``dataset`` memory-mapped when it can be, else read whole; read-only either way."""
    mapped = memory_map(dataset, file)
    if mapped is not None:
        return mapped
    array = np.asarray(dataset[...])
    array.flags.writeable = False
    return array
