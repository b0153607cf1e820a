"""Shifted inverse iteration gives the eigenvector numpy.linalg.eig gives."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_widgets.analysis._eigen import eigenvectors_of


def _aligned(a: np.ndarray, b: np.ndarray) -> float:
    """|<a, b>| for unit vectors: 1 when they span the same complex line."""
    return float(np.abs(np.vdot(a, b)))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 40))
def test_the_top_eigenvector_equals_eigs(seed, n):
    rng = np.random.default_rng(seed)
    matrices = rng.normal(size=(3, n, n)) / np.sqrt(n)
    values, vectors = np.linalg.eig(matrices)
    top = np.argmax(np.abs(values), axis=1)
    ours = eigenvectors_of(matrices, values[np.arange(3), top])
    for k in range(3):
        reference = vectors[k, :, top[k]]
        # a repeated top magnitude (a complex pair) still gives an eigenvector of that value
        residual = matrices[k] @ ours[k] - values[k, top[k]] * ours[k]
        assert np.linalg.norm(residual) < 1e-6
        gap = np.sort(np.abs(values[k] - values[k, top[k]]))[1]
        if gap > 1e-3:
            assert _aligned(ours[k], reference) == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0)


def test_a_diagonal_matrix_gives_the_axis_with_largest_component_real_positive():
    matrices = np.diag([0.5, 0.99, -0.3])[None]
    vector = eigenvectors_of(matrices, np.array([0.99]))[0]
    np.testing.assert_allclose(vector, [0, 1, 0], atol=1e-12)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match=r"shape \(m, n, n\)"):
        eigenvectors_of(np.zeros((2, 3)), np.zeros(2))
    with pytest.raises(ValueError, match="eigenvalues must have shape"):
        eigenvectors_of(np.zeros((2, 3, 3)), np.zeros(3))
