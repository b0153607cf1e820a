"""Fixed and slow points: known answers from hand-built networks and the shipped flip-flop."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import rnn_widgets as rw
from rnn_widgets import tasks, zoo
from rnn_widgets.analysis import find_fixed_points
from rnn_widgets.analysis._fixed_points import _damped_step, _each_distinct, _in_threads


class LinearCell:
    """h' = A h + B x: one fixed point at 0 under zero input, eigenvalues eig(A)."""

    kinds = ("h",)

    def __init__(self, a: np.ndarray, b: np.ndarray) -> None:
        self.a = torch.as_tensor(a)
        self.b = torch.as_tensor(b)
        self.state_size = a.shape[0]
        self.input_size = b.shape[1]

    def step(self, state: torch.Tensor, x: torch.Tensor):
        new = state @ self.a.to(state.dtype).T + x @ self.b.to(state.dtype).T
        return new, {"h": new}


class TanhCell:
    """h' = tanh(w h): for w > 1, fixed points at 0 (unstable) and +-h* with h* = tanh(w h*)."""

    kinds = ("h",)
    state_size = 1
    input_size = 1

    def __init__(self, w: float) -> None:
        self.w = w

    def step(self, state: torch.Tensor, x: torch.Tensor):
        new = torch.tanh(self.w * state + x)
        return new, {"h": new}


class SaddleNodeGhostCell:
    """h' = h + a + h^2 with a > 0: just past a saddle-node bifurcation, no fixed point.

    The two fixed points ``h = +-sqrt(-a)`` of ``a < 0`` have collided and vanished, leaving
    a "ghost" (Strogatz, *Nonlinear Dynamics and Chaos*, section 4.3): the flow crawls through
    ``h = 0``, where ``q(h) = (a + h^2)^2`` has its minimum ``a^2 > 0`` (gradient
    ``4 h (a + h^2)`` zero, curvature ``4 a`` positive). A true slow point, at a known place.
    """

    kinds = ("h",)
    state_size = 1
    input_size = 1

    def __init__(self, a: float) -> None:
        self.a = a

    def step(self, state: torch.Tensor, x: torch.Tensor):
        new = state + self.a + state * state + 0.0 * x
        return new, {"h": new}


class SaddleOfQCell:
    """h' = h + (a + h1^2 - h2^2, 0): q = (a + h1^2 - h2^2)^2 / 2 has a saddle at the origin.

    Its gradient is zero there but its Hessian, diag(2a, -2a), has a direction of descent: a
    search that stops at the origin has stalled, it has not found a slow point.
    """

    kinds = ("h",)
    state_size = 2
    input_size = 1

    def __init__(self, a: float) -> None:
        self.a = a

    def step(self, state: torch.Tensor, x: torch.Tensor):
        h1, h2 = state[..., :1], state[..., 1:]
        push = self.a + h1 * h1 - h2 * h2 + 0.0 * x
        new = state + torch.cat([push, torch.zeros_like(push)], dim=-1)
        return new, {"h": new}


def test_a_ghost_past_a_saddle_node_bifurcation_is_a_true_slow_point_at_its_known_place() -> None:
    a = 0.01
    model = rw.RecurrentModel(SaddleNodeGhostCell(a))
    starts = np.linspace(-0.3, 0.3, 13)[:, None]
    points = find_fixed_points(model, starts, n=13, progress=False)
    assert len(points) == 1
    np.testing.assert_allclose(points.states[0], 0.0, atol=1e-8)
    np.testing.assert_allclose(points.q[0], a**2, rtol=1e-12)
    assert not points.is_fixed[0] and points.is_minimum[0]
    assert points.counts()["slow"] == 1 and points.counts()["stalled"] == 0


def test_a_search_stopped_on_a_saddle_of_q_is_reported_stalled_not_slow() -> None:
    model = rw.RecurrentModel(SaddleOfQCell(0.01))
    points = find_fixed_points(model, np.zeros((4, 2)), n=4, progress=False)
    assert len(points) == 1
    np.testing.assert_array_equal(points.states[0], [0.0, 0.0])
    assert not points.is_fixed[0] and not points.is_minimum[0]
    assert points.counts()["stalled"] == 1 and points.counts()["slow"] == 0


def test_fixed_points_are_minima_of_q() -> None:
    model = rw.RecurrentModel(TanhCell(2.0))
    points = find_fixed_points(model, np.linspace(-1, 1, 21)[:, None], n=21, progress=False)
    assert points.is_fixed.all() and points.is_minimum.all()
    assert points.counts()["slow"] == 0 and points.counts()["stalled"] == 0


def test_a_linear_network_has_one_fixed_point_at_zero_with_the_eigenvalues_of_a() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5, 5)) * 0.3
    model = rw.RecurrentModel(LinearCell(a, rng.standard_normal((5, 2))))
    points = find_fixed_points(model, rng.standard_normal((50, 5)), n=64, progress=False)
    assert len(points) == 1
    np.testing.assert_allclose(points.states[0], 0.0, atol=1e-9)
    expected = np.linalg.eigvals(a)
    expected = expected[np.argsort(-np.abs(expected), kind="stable")]
    np.testing.assert_allclose(np.abs(points.eigenvalues[0]), np.abs(expected), atol=1e-9)
    assert points.is_fixed[0] and points.q[0] < 1e-20


def test_a_linear_network_linearizes_to_its_own_matrices() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((5, 5)) * 0.3, rng.standard_normal((5, 2))
    model = rw.RecurrentModel(LinearCell(a, b))
    points = find_fixed_points(model, rng.standard_normal((50, 5)), n=16, progress=False)
    np.testing.assert_allclose(points.jacobians()[0], a, atol=1e-12)
    np.testing.assert_allclose(points.input_jacobians([0])[0], b, atol=1e-12)
    modes = points.eigenmodes(np.array([True]))
    np.testing.assert_allclose(modes.left[0] @ modes.right[0], np.eye(5), atol=1e-10)
    np.testing.assert_allclose(modes.values, points.eigenvalues, atol=1e-12)
    # Each right eigenvector is one: A r = lambda r; each left one: l A = lambda l.
    right, left, values = modes.right[0], modes.left[0], modes.values[0]
    np.testing.assert_allclose(a @ right, right * values, atol=1e-10)
    np.testing.assert_allclose(left @ a, values[:, None] * left, atol=1e-10)
    np.testing.assert_allclose(modes.time_constants, points.time_constants)
    with pytest.raises(ValueError, match="points must index"):
        points.jacobians([3])
    with pytest.raises(ValueError, match="mask must have shape"):
        points.eigenmodes(np.array([True, False]))


def test_a_tanh_unit_with_self_weight_above_one_has_two_stable_points_and_one_unstable() -> None:
    w = 2.0
    model = rw.RecurrentModel(TanhCell(w))
    starts = np.linspace(-1, 1, 41)[:, None]
    points = find_fixed_points(model, starts, n=200, outlier_distance=10.0, progress=False)
    order = np.argsort(points.states[:, 0])
    values = points.states[order, 0]
    h_star = 0.9575040240772687  # solves h = tanh(2 h)
    np.testing.assert_allclose(values, [-h_star, 0.0, h_star], atol=1e-9)
    assert points.stability[order].tolist() == ["stable", "unstable", "stable"]
    slope = w * (1 - h_star**2)
    np.testing.assert_allclose(np.abs(points.eigenvalues[order, 0]), [slope, w, slope], atol=1e-8)
    np.testing.assert_allclose(points.time_constants[order[0], 0], 1 / abs(np.log(slope)))
    assert points.attractor[order[1]] == -1
    assert points.attractor[order[0]] != points.attractor[order[2]]


def test_a_subset_keeps_the_chosen_points_and_their_linearization() -> None:
    model = rw.RecurrentModel(TanhCell(2.0))
    points = find_fixed_points(model, np.linspace(-1, 1, 41)[:, None], n=200, progress=False)
    stable = points.subset(points.stability == "stable")
    assert len(stable) == 2 and set(stable.stability) == {"stable"}
    np.testing.assert_array_equal(stable.states, points.states[points.stability == "stable"])
    np.testing.assert_allclose(stable.jacobians(), points.jacobians(points.stability == "stable"))
    assert len(points) == 3  # the original is untouched


def test_the_top_eigenvector_of_a_linear_network_is_that_of_the_largest_eigenvalue() -> None:
    # A symmetric A: real eigenvectors, the top one that of the largest |eigenvalue|.
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    a = q @ np.diag([0.9, -0.5, 0.3, 0.1]) @ q.T
    model = rw.RecurrentModel(LinearCell(a, rng.standard_normal((4, 1))))
    points = find_fixed_points(model, rng.standard_normal((30, 4)), n=16, progress=False)
    (vector,) = points.top_eigenvectors()
    assert np.linalg.norm(vector) == pytest.approx(1.0)
    assert abs(vector @ q[:, 0]) == pytest.approx(1.0, abs=1e-6)
    assert points.top_eigenvectors(np.array([], dtype=int)).shape == (0, 4)


def test_to_rows_gives_one_row_per_point_with_its_class_and_slowest_mode() -> None:
    model = rw.RecurrentModel(TanhCell(2.0))
    points = find_fixed_points(model, np.linspace(-1, 1, 41)[:, None], n=200, progress=False)
    rows = points.to_rows()
    assert [row["point"] for row in rows] == [0, 1, 2]
    assert sorted(row["stability"] for row in rows) == ["stable", "stable", "unstable"]
    for row, magnitude in zip(rows, np.abs(points.eigenvalues[:, 0]), strict=True):
        assert row["max_abs_eigenvalue"] == pytest.approx(magnitude)
        assert set(row) == {
            "point", "condition", "q", "is_fixed", "is_minimum", "stability",
            "max_abs_eigenvalue", "time_constant", "attractor",
        }  # fmt: skip
        assert row["is_minimum"] is True  # every point of a tanh unit is a fixed point


def test_the_same_seed_gives_the_same_points() -> None:
    model = rw.RecurrentModel(TanhCell(1.5))
    starts = np.linspace(-1, 1, 21)[:, None]
    first = find_fixed_points(model, starts, n=30, noise=0.1, seed=4, progress=False)
    again = find_fixed_points(model, starts, n=30, noise=0.1, seed=4, progress=False)
    np.testing.assert_array_equal(first.states, again.states)


@pytest.fixture(scope="module")
def flip_flop_points():
    model = zoo.load("flip_flop_gru")
    data = tasks.flip_flop(3, 64, 200, seed=3)
    trace = rw.capture(model, data.sequences, progress=False)
    return find_fixed_points(model, trace, n=1024, progress=False)


def test_the_flip_flop_gru_holds_its_eight_memories_with_saddles_between(flip_flop_points) -> None:
    points = flip_flop_points
    holding = np.isin(points.stability, ["stable", "marginal"]) & points.is_fixed
    net = zoo.network("flip_flop_gru")
    with torch.no_grad():
        outputs = net.readout(torch.from_numpy(points.states[holding]).float()).numpy()
    patterns = {tuple(np.sign(row).astype(int)) for row in outputs}
    assert len(patterns) == 8
    assert (points.q[points.is_fixed] < 1e-10).all()
    assert points.counts()["saddle"] > 0
    # No attractor mixes two memories.
    for attractor in set(points.attractor[holding].tolist()):
        members = points.attractor[holding] == attractor
        assert len({tuple(np.sign(row).astype(int)) for row in outputs[members]}) == 1
    # One attractor per memory: the marginal points on the slow manifolds leading into a
    # memory share its stable node's id (not hundreds of separate attractors); this network
    # holds seven memories as stable nodes and one on a marginal manifold alone.
    assert len(set(points.attractor[holding].tolist())) == 8
    nodes = np.flatnonzero((points.stability == "stable") & points.is_fixed)
    assert len(nodes) >= 7
    marginal = (points.stability == "marginal") & points.is_fixed
    assert np.isin(points.attractor[marginal], points.attractor[nodes]).mean() > 0.6


def test_the_mod3_gru_holds_each_count_at_its_own_stable_node() -> None:
    """Under input 0, three stable nodes, one per state of the counter.

    As in Fig. 8 of *Explaining RNN computations through hidden state dynamics* [1]_.

    References
    ----------
    .. [1] Explaining RNN computations through hidden state dynamics. (The copy this project
       follows names no authors or venue.)
    """
    model = zoo.load("mod3_gru")
    trace = rw.capture(model, zoo.data("mod3_gru").sequences[:50], progress=False)
    points = find_fixed_points(model, trace, np.array([0.0]), n=256, progress=False)
    nodes = (points.stability == "stable") & points.is_fixed
    with torch.no_grad():
        read = zoo.network("mod3_gru").readout(torch.from_numpy(points.states[nodes]).float())
    assert sorted(read.argmax(dim=1).tolist()) == [0, 1, 2]
    assert (np.abs(points.eigenvalues[nodes, 0]) < 1 - points.eps).all()
    assert points.counts()["marginal"] == 0  # no count is held by a shut gate
    assert len(set(points.attractor[nodes].tolist())) == 3


def test_the_search_does_not_modify_the_model() -> None:
    model = zoo.load("mod3_gru")
    before = {name: p.clone() for name, p in model.core.named_parameters()}
    states = np.random.default_rng(0).uniform(-0.5, 0.5, (20, model.state_size()))
    with pytest.warns(RuntimeWarning, match="max_iterations"):
        find_fixed_points(model, states, n=16, max_iterations=5, progress=False)
    for name, parameter in model.core.named_parameters():
        assert torch.equal(parameter, before[name])
        assert parameter.dtype == torch.float32


class OpaqueCell(TanhCell):
    """A cell whose step leaves torch (through numpy): it cannot be differentiated."""

    def step(self, state: torch.Tensor, x: torch.Tensor):
        new = torch.as_tensor(np.tanh(self.w * state.detach().numpy()))
        return new, {"h": new}


def test_a_step_that_cannot_be_differentiated_is_refused_with_the_reason() -> None:
    model = rw.RecurrentModel(OpaqueCell(2.0))
    with pytest.raises(TypeError, match="torch.func can differentiate"):
        find_fixed_points(model, np.zeros((4, 1)), progress=False)


def test_bad_input_names_the_argument() -> None:
    model = rw.RecurrentModel(TanhCell(2.0))
    with pytest.raises(ValueError, match="initial_states"):
        find_fixed_points(model, np.zeros((4, 3)), progress=False)
    with pytest.raises(ValueError, match="initial_states is empty"):
        find_fixed_points(model, np.zeros((0, 1)), progress=False)
    with pytest.raises(ValueError, match="inputs"):
        find_fixed_points(model, np.zeros((4, 1)), inputs=np.zeros(3), progress=False)
    with pytest.raises(ValueError, match="n must be"):
        find_fixed_points(model, np.zeros((4, 1)), n=0, progress=False)


def test_a_search_cut_short_returns_its_points_and_says_so() -> None:
    model = rw.RecurrentModel(TanhCell(2.0))
    starts = np.linspace(-1.5, 1.5, 7)[:, None]
    with pytest.warns(RuntimeWarning, match=r"\d+ of 7 searches ran out of max_iterations=1"):
        cut = find_fixed_points(model, starts, n=7, max_iterations=1, progress=False)
    assert len(cut) > 0 and not cut.converged.all()
    assert np.isfinite(cut.q).all()
    finished = find_fixed_points(model, starts, n=7, progress=False)
    assert finished.converged.all()
    assert finished.q.max() < cut.q.max()


# ------------------------------------------------------------------ the search's parts


@settings(max_examples=25, deadline=None)
@given(
    size=st.integers(1, 6),
    damping=st.floats(1e-8, 10.0),
    seed=st.integers(0, 2**16),
)
def test_the_damped_step_solves_marquardts_equations(size: int, damping: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    jacobian = rng.standard_normal((3, size, size))
    residual = rng.standard_normal((3, size))
    velocity, moved, predicted, _ = _damped_step(
        torch.from_numpy(jacobian),
        torch.from_numpy(residual),
        torch.full((3,), damping, dtype=torch.float64),  # float32 would round the damping
    )
    for j, r, v, jv, reduction in zip(jacobian, residual, velocity, moved, predicted, strict=True):
        normal = j.T @ j
        system = normal + damping * np.diag(np.diag(normal) + 1)
        v = v.numpy()
        # Backward error, not forward error: a small damping can make the system
        # ill-conditioned, where any two stable solvers differ in the solution's last digits
        # but both solve the equations to machine precision.
        gradient = -j.T @ r
        backward = np.linalg.norm(system @ v - gradient)
        assert backward <= 1e-10 * (np.linalg.norm(system, 2) * np.linalg.norm(v) + 1e-300) + (
            1e-12 * np.linalg.norm(gradient)
        )
        np.testing.assert_allclose(jv.numpy(), j @ v, rtol=1e-9, atol=1e-12)
        # The reduction of ||r||^2 the linear model predicts: ||r||^2 - ||r + J v||^2.
        linear = r @ r - (r + j @ v) @ (r + j @ v)
        np.testing.assert_allclose(float(reduction), linear, rtol=1e-6, atol=1e-9)


def test_a_damped_step_that_does_not_descend_is_refused() -> None:
    # A negative damping makes the system -5 I, whose solution climbs: the step must be NaN
    # (rejected by the search), as a failed Cholesky factorisation would have made it.
    jacobian = torch.eye(3, dtype=torch.float64)[None]
    residual = torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64)
    velocity, _, predicted, _ = _damped_step(jacobian, residual, torch.tensor([-3.0]))
    assert float(predicted[0]) < 0
    assert torch.isnan(velocity).all()


def test_a_start_drawn_twice_is_searched_once_and_both_get_its_result() -> None:
    starts = np.array([[1.0, 2.0], [3.0, 4.0], [1.0, 2.0], [5.0, 6.0], [3.0, 4.0]])
    searched = []

    def search(distinct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        searched.append(len(distinct))
        return distinct * 2, np.arange(len(distinct))

    doubled, search_index = _each_distinct(search, starts)
    assert searched == [3]
    np.testing.assert_array_equal(doubled, starts * 2)
    assert search_index[0] == search_index[2] and search_index[1] == search_index[4]
    assert len(set(search_index.tolist())) == 3


@pytest.mark.parametrize("workers", [1, 2, 3, 7])
def test_eigenvalues_in_chunks_on_threads_equal_one_decomposition(workers: int) -> None:
    matrices = torch.from_numpy(np.random.default_rng(workers).standard_normal((7, 5, 5)))
    (values,) = _in_threads(lambda part: (torch.linalg.eigvals(part),), matrices, workers)
    whole = torch.linalg.eigvals(matrices)
    torch.testing.assert_close(values, whole, rtol=0, atol=0)
    values, right = _in_threads(torch.linalg.eig, matrices, workers)
    # Each column pair is an eigenpair of its own matrix (the chunks kept their order).
    torch.testing.assert_close(matrices.to(right.dtype) @ right, right * values[:, None, :])


def test_identical_starts_are_not_all_taken_for_outliers_and_an_empty_result_says_why() -> None:
    model = rw.RecurrentModel(TanhCell(2.0))
    h_star = 0.9575040240772687
    # Starts that coincide have no spread; their norm is the length scale, so the stable
    # point 0.16 away from 0.8 is kept ...
    near = find_fixed_points(model, np.full((9, 1), 0.8), n=9, progress=False)
    np.testing.assert_allclose(near.states[:, 0], [h_star], atol=1e-9)
    # ... and when every point found is farther than that (from 0.4 the search lands on the
    # other stable point, -0.96), the empty result comes with a warning saying how to keep it.
    with pytest.warns(RuntimeWarning, match="outlier_distance"):
        far = find_fixed_points(model, np.full((9, 1), 0.4), n=9, progress=False)
    assert len(far) == 0
    kept = find_fixed_points(
        model, np.full((9, 1), 0.4), n=9, outlier_distance=np.inf, progress=False
    )
    np.testing.assert_allclose(kept.states[:, 0], [-h_star], atol=1e-9)
