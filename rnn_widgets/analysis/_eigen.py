"""The eigenvector of one known eigenvalue per matrix, by shifted inverse iteration.

A full eigen-decomposition costs about ten times an LU factorisation; drawing each fixed
point's slowest direction needs only the eigenvector of its largest eigenvalue, which the
search has already computed.
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

__all__ = ["eigenvectors_of"]

# The shift sits this far (relative) from the eigenvalue: close enough that one solve
# amplifies its eigenvector by ~1e8 over the others, far enough to stay non-singular.
_RELATIVE_SHIFT = 1e-8
_SOLVES = 2


def eigenvectors_of(matrices: np.ndarray, eigenvalues: np.ndarray) -> np.ndarray:
    """The right eigenvector of ``matrices[k]`` for ``eigenvalues[k]``, for every k.

    Parameters
    ----------
    matrices : ndarray, shape (m, n, n)
        Square matrices (real or complex).
    eigenvalues : ndarray, shape (m,)
        One eigenvalue of each matrix (e.g. its largest, from ``numpy.linalg.eigvals``).

    Returns
    -------
    ndarray of complex, shape (m, n)
        Unit-norm eigenvectors, each scaled so that its largest component is real and
        positive (LAPACK's convention for ``numpy.linalg.eig``, up to the sign).

    Raises
    ------
    ValueError
        On shapes that do not fit.

    """
    matrices = np.asarray(matrices)
    eigenvalues = np.asarray(eigenvalues, dtype=np.complex128)
    if matrices.ndim != 3 or matrices.shape[1] != matrices.shape[2]:
        raise ValueError(f"matrices must have shape (m, n, n), got {matrices.shape}")
    if eigenvalues.shape != matrices.shape[:1]:
        raise ValueError(
            f"eigenvalues must have shape ({matrices.shape[0]},), got {eigenvalues.shape}"
        )
    m, n = matrices.shape[:2]
    if m == 0:
        return np.zeros((0, n), dtype=np.complex128)
    scale = np.maximum(np.abs(eigenvalues), 1.0) * _RELATIVE_SHIFT
    shifted = matrices.astype(np.complex128) - (eigenvalues + scale)[:, None, None] * np.eye(n)
    vector = np.full((m, n, 1), 1 / np.sqrt(n), dtype=np.complex128)
    # One BLAS thread: threaded OpenBLAS on a busy machine took 0.5 s for one 512 x 512 solve.
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(_SOLVES):
            vector = np.linalg.solve(shifted, vector)
            vector /= np.linalg.norm(vector, axis=1, keepdims=True)
    vector = vector[:, :, 0]
    largest = vector[np.arange(m), np.argmax(np.abs(vector), axis=1)]
    return vector * (np.abs(largest) / largest)[:, None]
