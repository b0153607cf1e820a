"""Phase portraits and limit cycles: hand-built maps with known orbits and multipliers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq
from torch import nn

import rnn_widgets as rw
from rnn_widgets import zoo
from rnn_widgets.analysis import find_limit_cycles, phase_portrait, state_pca

torch.set_num_threads(1)

W = 2.0
H_STAR = brentq(lambda h: h - np.tanh(W * h), 0.5, 1.0)  # h = tanh(2 h), ~0.9575
SLOPE = W * (1 - H_STAR**2)  # d tanh(2 h) / dh at +-h*


class PermutedTanhCell:
    """h' = P tanh(w h), P the cyclic shift (h0, h1, h2) -> (h2, h0, h1).

    P commutes with the elementwise tanh, so F^3 = T^3: every sign pattern of (+-h*)^3 that is
    not constant is a stable period-3 orbit with all multipliers SLOPE^3; (+h*)^3 and (-h*)^3
    are fixed points.
    """

    kinds = ("h",)
    state_size = 3
    input_size = 1

    def step(self, state: torch.Tensor, x: torch.Tensor):
        new = torch.roll(torch.tanh(W * state + x), 1, dims=-1)
        return new, {"h": new}


class TanhUnit:
    """h' = tanh(w h + x): for w = 2 two stable points, for w = -2 a period-2 orbit +-h*."""

    kinds = ("h",)
    state_size = 1
    input_size = 1

    def __init__(self, w: float) -> None:
        self.w = w

    def step(self, state: torch.Tensor, x: torch.Tensor):
        new = torch.tanh(self.w * state + x)
        return new, {"h": new}


def _phases(pattern: np.ndarray) -> list[np.ndarray]:
    return [np.roll(pattern, k) for k in range(len(pattern))]


# ---------------------------------------------------------------------------------- limit cycles


def test_a_period_3_rotation_found_from_all_its_phases_is_one_orbit() -> None:
    model = rw.RecurrentModel(PermutedTanhCell())
    pattern = np.array([1.0, -1.0, -1.0])
    rng = np.random.default_rng(0)
    starts = np.concatenate([p + 0.2 * rng.standard_normal((20, 3)) for p in _phases(pattern)])
    cycles = find_limit_cycles(model, starts, n=60, progress=False)
    assert len(cycles) == 1
    orbit = cycles[0]
    assert orbit.period == 3 and orbit.stability == "stable" and orbit.n_found == 60
    expected = {tuple(np.round(H_STAR * p, 9)) for p in _phases(pattern)}
    assert {tuple(np.round(state, 9)) for state in orbit.states} == expected
    np.testing.assert_allclose(orbit.multipliers, [SLOPE**3] * 3, atol=1e-9)
    assert orbit.residual < 1e-8
    # each state follows from the one before
    np.testing.assert_allclose(
        np.roll(np.tanh(W * orbit.states), 1, axis=1), np.roll(orbit.states, -1, axis=0), atol=1e-9
    )


def test_all_sign_patterns_give_two_period_3_orbits_and_two_fixed_points() -> None:
    model = rw.RecurrentModel(PermutedTanhCell())
    starts = np.random.default_rng(1).uniform(-1, 1, (400, 3))
    cycles = find_limit_cycles(model, starts, n=400, progress=False)
    assert cycles.periods.tolist() == [3, 3]
    plus_counts = sorted(int((orbit.states[0] > 0).sum()) for orbit in cycles)
    assert plus_counts == [1, 2]
    with_points = find_limit_cycles(model, starts, n=400, include_fixed_points=True, progress=False)
    assert with_points.periods.tolist() == [1, 1, 3, 3]
    fixed = sorted(float(orbit.states[0, 0]) for orbit in with_points if orbit.period == 1)
    np.testing.assert_allclose(fixed, [-H_STAR, H_STAR], atol=1e-9)
    for orbit in with_points:
        if orbit.period == 1:  # J = SLOPE * P: eigenvalues SLOPE times the cube roots of 1
            np.testing.assert_allclose(np.abs(orbit.multipliers), [SLOPE] * 3, atol=1e-9)


class ShiftedTanhCell:
    """h' = roll(tanh(w h), 1) on n units: a sign pattern's orbit has its rotation period."""

    kinds = ("h",)
    input_size = 1

    def __init__(self, n: int) -> None:
        self.state_size = n

    def step(self, state: torch.Tensor, x: torch.Tensor):
        new = torch.roll(torch.tanh(W * state + x), 1, dims=-1)
        return new, {"h": new}


@settings(max_examples=15, deadline=None)
@given(st.lists(st.sampled_from([-1.0, 1.0]), min_size=2, max_size=6))
def test_a_sign_patterns_orbit_has_its_rotation_period_and_multipliers(signs) -> None:
    pattern = np.array(signs)
    n = len(pattern)
    period = next(k for k in range(1, n + 1) if np.array_equal(np.roll(pattern, k), pattern))
    model = rw.RecurrentModel(ShiftedTanhCell(n))
    start = pattern[None] * 0.8
    cycles = find_limit_cycles(
        model, start, n=1, max_period=6, include_fixed_points=True, progress=False
    )
    assert cycles.periods.tolist() == [period]
    orbit = cycles[0]
    assert {tuple(np.round(s, 9)) for s in orbit.states} == {
        tuple(np.round(H_STAR * np.roll(pattern, k), 9)) for k in range(period)
    }
    # the Jacobian of F^p is P^p SLOPE^p: multipliers SLOPE^p times roots of unity
    np.testing.assert_allclose(np.abs(orbit.multipliers), [SLOPE**period] * n, atol=1e-9)


def test_a_saddle_orbit_has_the_multipliers_of_the_cube_of_its_coordinate_maps() -> None:
    model = rw.RecurrentModel(PermutedTanhCell())
    start = np.array([[H_STAR, 0.0, -H_STAR]])  # the 0 coordinate is unstable: slope 2 per step
    cycles = find_limit_cycles(model, start, n=1, transient=0, progress=False)
    assert len(cycles) == 1 and cycles[0].period == 3
    np.testing.assert_allclose(cycles[0].multipliers, [W**3, SLOPE**3, SLOPE**3], atol=1e-9)
    assert cycles[0].stability == "saddle"


def test_a_one_unit_tanh_rnn_with_positive_weight_has_no_cycles() -> None:
    model = rw.RecurrentModel(TanhUnit(W))
    starts = np.linspace(-1, 1, 101)[:, None]
    assert len(find_limit_cycles(model, starts, n=101, max_period=8, progress=False)) == 0
    points = find_limit_cycles(model, starts, n=101, include_fixed_points=True, progress=False)
    # the start at exactly 0 stays on the unstable point there (slope W)
    assert points.periods.tolist() == [1, 1, 1]
    by_value = sorted(points, key=lambda orbit: orbit.states[0, 0])
    np.testing.assert_allclose([o.states[0, 0] for o in by_value], [-H_STAR, 0.0, H_STAR])
    assert [o.stability for o in by_value] == ["stable", "unstable", "stable"]
    np.testing.assert_allclose([o.multipliers[0] for o in by_value], [SLOPE, W, SLOPE])


def test_a_one_unit_tanh_rnn_with_negative_weight_flips_with_period_2() -> None:
    model = rw.RecurrentModel(TanhUnit(-W))
    starts = np.linspace(-1, 1, 50)[:, None]
    cycles = find_limit_cycles(model, starts, n=50, progress=False)
    assert len(cycles) == 1
    orbit = cycles[0]
    assert orbit.period == 2 and orbit.stability == "stable"
    np.testing.assert_allclose(orbit.states[:, 0], [-H_STAR, H_STAR], atol=1e-9)
    np.testing.assert_allclose(orbit.multipliers, [SLOPE**2], atol=1e-9)


def test_each_constant_input_is_searched_on_its_own() -> None:
    model = rw.RecurrentModel(TanhUnit(-W))
    starts = np.linspace(-1, 1, 30)[:, None]
    # a large input makes the map contract to one fixed point: no cycle under it
    cycles = find_limit_cycles(model, starts, inputs=[[0.0], [5.0]], n=30, progress=False)
    assert [o.condition for o in cycles] == [0]
    np.testing.assert_array_equal(cycles.inputs, [[0.0], [5.0]])


def test_the_search_leaves_a_torch_model_unchanged() -> None:
    torch.manual_seed(0)
    gru = nn.GRU(2, 4)
    before = [p.detach().clone() for p in gru.parameters()]
    find_limit_cycles(rw.wrap(gru), np.zeros((3, 4)), n=3, transient=20, progress=False)
    for old, new in zip(before, gru.parameters(), strict=True):
        assert torch.equal(old, new) and new.dtype == torch.float32


def test_the_mod3_gru_cycles_with_period_3_under_a_constant_1() -> None:
    """The modulo-3 counter holds a stable period-3 orbit under input 1.

    As in Fig. 8 of *Explaining RNN computations through hidden state dynamics* [1]_.

    References
    ----------
    .. [1] Explaining RNN computations through hidden state dynamics. (The copy this project
       follows names no authors or venue.)
    """
    model = zoo.load("mod3_gru")
    trace = rw.capture(model, zoo.data("mod3_gru").sequences[:50], progress=False)
    cycles = find_limit_cycles(model, trace, inputs=[[0.0], [1.0]], n=64, progress=False)
    for orbit in cycles:
        print(
            f"\nmod3_gru: input {orbit.input}, period {orbit.period}, {orbit.stability}, "
            f"|multipliers| {np.round(np.abs(orbit.multipliers[:3]), 4).tolist()}"
        )
    assert [(o.condition, o.period, o.stability) for o in cycles] == [(1, 3, "stable")]


# ---------------------------------------------------------------------------------- portraits


class HalvingCell:
    """h' = h / 2 + x: trajectories shrink towards x * 2 geometrically."""

    kinds = ("h",)
    state_size = 4
    input_size = 4

    def step(self, state: torch.Tensor, x: torch.Tensor):
        new = 0.5 * state + x
        return new, {"h": new}


def test_a_phase_portrait_starts_on_the_plane_and_follows_the_dynamics() -> None:
    model = rw.RecurrentModel(HalvingCell())
    rng = np.random.default_rng(0)
    pca = state_pca(rng.standard_normal((50, 4)) * [3.0, 2.0, 0.1, 0.1] + 1.0)
    portrait = phase_portrait(model, pca, grid=3, steps=4, progress=False)
    assert portrait.trajectories.shape == (1, 9, 5, 4)
    first = portrait.trajectories[0, :, 0]
    np.testing.assert_allclose(first, pca.mean + portrait.starts @ pca.components[:2])
    np.testing.assert_allclose(portrait.projected[0, :, 0], portrait.starts, atol=1e-12)
    decay = 0.5 ** np.arange(5)[None, :, None]
    np.testing.assert_allclose(portrait.trajectories[0], first[:, None] * decay)
    assert portrait.starts[:, 0].min() < pca.projected[:, 0].min()  # the grid covers the data


def test_a_phase_portrait_runs_each_input_and_projects_the_fixed_points() -> None:
    model = rw.RecurrentModel(HalvingCell())
    mean, basis = np.zeros(4), np.eye(4)[:2] * 3.0  # normalised on the way in
    inputs = np.array([np.zeros(4), [1.0, 0.0, 0.0, 0.0]])

    class Points:
        states = np.array([np.zeros(4), [2.0, 0.0, 0.0, 0.0]])
        inputs = np.array([np.zeros(4), [1.0, 0.0, 0.0, 0.0]])
        layer = 0

    portrait = phase_portrait(
        model,
        (mean, basis),
        inputs=inputs,
        grid=[[1.0, 1.0]],
        steps=60,
        fixed_points=Points(),
        progress=False,
    )
    np.testing.assert_allclose(portrait.projected[:, 0, -1], [[0.0, 0.0], [2.0, 0.0]], atol=1e-12)
    np.testing.assert_allclose(portrait.fixed_points, [[0.0, 0.0], [2.0, 0.0]])
    assert portrait.fixed_point_condition.tolist() == [0, 1]


# ---------------------------------------------------------------------------------- bad input


def test_bad_input_names_the_argument() -> None:
    model = rw.RecurrentModel(PermutedTanhCell())
    starts = np.zeros((4, 3))
    with pytest.raises(ValueError, match="state_size=3"):
        find_limit_cycles(model, np.zeros((4, 2)), progress=False)
    with pytest.raises(ValueError, match="inputs"):
        find_limit_cycles(model, starts, inputs=np.zeros((2, 2)), progress=False)
    with pytest.raises(ValueError, match="max_period"):
        find_limit_cycles(model, starts, max_period=0, progress=False)
    with pytest.raises(TypeError, match="max_period"):
        find_limit_cycles(model, starts, max_period=2.5, progress=False)
    with pytest.raises(ValueError, match="tolerance"):
        find_limit_cycles(model, starts, tolerance=-1.0, progress=False)
    with pytest.raises(ValueError, match="empty"):
        find_limit_cycles(model, np.zeros((0, 3)), progress=False)
    with pytest.raises(TypeError, match="model"):
        find_limit_cycles("gru", starts, progress=False)
    with pytest.raises(TypeError, match="pca_or_basis"):
        phase_portrait(model, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="extent"):
        phase_portrait(model, (np.zeros(3), np.eye(3)[:2]))
    with pytest.raises(ValueError, match="extent"):
        phase_portrait(model, (np.zeros(3), np.eye(3)[:2]), extent=(1, 0, 0, 1))


def test_an_lstm_plane_fitted_on_h_alone_is_refused_with_the_fix() -> None:
    lstm = rw.wrap(nn.LSTM(2, 3))
    pca = state_pca(np.random.default_rng(0).standard_normal((20, 3)))
    with pytest.raises(ValueError, match=r"kinds=\('h', 'c'\)"):
        phase_portrait(lstm, pca)
