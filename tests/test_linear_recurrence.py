"""Layers linear in their state get their fixed points in closed form, checked against torch.

For minGRU and minLSTM (Feng et al. 2024 [1]_) one step under a fixed input is ``h' = a * h +
b`` with ``a = 1 - z`` (``f'``) and the one fixed point ``h* = g(Linear_h(x))``. The reference
below is those equations in numpy from the documented row order of ``weight_ih_l{k}``; the
step and its Jacobian come from the module itself (``torch.func.jacrev``).

References
----------
.. [1] Feng, L., Tung, F., Ahmed, M. O., Bengio, Y., & Hajimirsadeghi, H. (2024). Were RNNs all
   we needed? arXiv:2410.01201.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.func import jacrev

from rnn_widgets.analysis import (
    find_fixed_points,
    linear_recurrence,
    stack_fixed_points,
)
from rnn_widgets.models import MinGRU, MinLSTM, RecurrentModel, capture

FAMILIES = {"min_gru": MinGRU, "min_lstm": MinLSTM}


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def _g(v: np.ndarray) -> np.ndarray:
    return np.where(v >= 0, v + 0.5, _sigmoid(v))


def _module(family: str, layers: int, hidden: int = 5, input_size: int = 3, seed: int = 0):
    torch.manual_seed(seed)
    module = FAMILIES[family](input_size, hidden, num_layers=layers, dtype=torch.float64)
    with torch.no_grad():  # wider than the default init: gates near 0 and 1
        for parameter in module.parameters():
            parameter.mul_(3.0)
    return module


def _reference(module, x: np.ndarray, layer: int) -> tuple[np.ndarray, np.ndarray]:
    """``(h*, a)`` of one layer under inputs x (n, width), by the paper's equations."""
    weight = getattr(module, f"weight_ih_l{layer}").detach().numpy()
    bias = getattr(module, f"bias_ih_l{layer}").detach().numpy()
    pre = x @ weight.T + bias
    size = module.hidden_size
    if module.family == "min_gru":
        a = 1 - _sigmoid(pre[:, :size])
    else:
        i, f = _sigmoid(pre[:, :size]), _sigmoid(pre[:, size : 2 * size])
        a = f / (f + i)
    return _g(pre[:, -size:]), a


def _inputs(n: int = 4, width: int = 3) -> np.ndarray:
    return np.random.default_rng(1).normal(size=(n, width)) * 2


def _layer_inputs(module, x: np.ndarray) -> list[np.ndarray]:
    """What each layer reads at the stack's fixed point: x, then the h* of the layer below."""
    reads = [x]
    for layer in range(module.num_layers - 1):
        reads.append(_reference(module, reads[-1], layer)[0])
    return reads


def _sorted_by_magnitude(values: np.ndarray) -> np.ndarray:
    return values[np.argsort(-np.abs(values), kind="stable")]


# ---------------------------------------------------------------------------------- one layer


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("layers", [1, 3])
def test_find_fixed_points_returns_the_closed_form_point_and_spectrum_of_every_layer(
    family, layers
):
    module = _module(family, layers)
    for layer, x in enumerate(_layer_inputs(module, _inputs())):
        points = find_fixed_points(module, np.zeros((1, 5)), x, layer=layer, progress=False)
        fixed, a = _reference(module, x, layer)
        assert len(points) == len(x)
        np.testing.assert_array_equal(points.condition, np.arange(len(x)))
        np.testing.assert_allclose(points.states, fixed, rtol=1e-12, atol=1e-14)
        expected = np.stack([_sorted_by_magnitude(row) for row in a])
        np.testing.assert_allclose(points.eigenvalues, expected, rtol=1e-12)
        np.testing.assert_allclose(points.time_constants, -1 / np.log(expected.real), rtol=1e-10)


@pytest.mark.parametrize("family", FAMILIES)
def test_the_closed_form_point_is_fixed_under_the_models_own_step(family):
    module = _module(family, 3)
    model = RecurrentModel(module)
    for layer, x in enumerate(_layer_inputs(module, _inputs())):
        points = find_fixed_points(model, np.zeros((1, 5)), x, layer=layer, progress=False)
        h, x_t = torch.from_numpy(points.states), torch.from_numpy(points.inputs)
        moved = model.step(h, x_t, layer=layer).detach().numpy()
        np.testing.assert_allclose(moved, points.states, rtol=0, atol=1e-14)
        assert (points.q < 1e-28).all() and points.is_fixed.all()


@pytest.mark.parametrize("family", FAMILIES)
def test_eigenvalues_equal_those_of_the_steps_jacobian_by_jacrev(family):
    module = _module(family, 3)
    model = RecurrentModel(module)
    for layer, x in enumerate(_layer_inputs(module, _inputs())):
        points = find_fixed_points(model, np.zeros((1, 5)), x, layer=layer, progress=False)
        for state, x_i, eigenvalues in zip(
            points.states, points.inputs, points.eigenvalues, strict=True
        ):
            x_t = torch.from_numpy(x_i)
            jacobian = jacrev(lambda h, x_t=x_t, k=layer: model.step(h, x_t, layer=k))(
                torch.from_numpy(state)
            )
            values = torch.linalg.eigvals(jacobian.detach()).numpy()
            np.testing.assert_allclose(eigenvalues, _sorted_by_magnitude(values), atol=1e-14)
        np.testing.assert_allclose(  # the linearization it carries is the same diagonal
            points.jacobians(),
            np.stack([np.diag(row.real) for row in _reference(module, x, layer)[1]]),
            atol=1e-14,
        )


@pytest.mark.parametrize("family", FAMILIES)
def test_closed_form_points_say_they_were_not_searched(family):
    module = _module(family, 1)
    points = find_fixed_points(module, np.zeros((1, 5)), _inputs(), progress=False)
    assert (points.iterations == 0).all()
    assert points.converged.all() and points.is_minimum.all()
    assert (points.n_unstable == 0).all()
    assert points.counts()["stalled"] == 0


def test_the_input_jacobians_are_those_of_the_step():
    module = _module("min_lstm", 1)
    model = RecurrentModel(module)
    points = find_fixed_points(model, np.zeros((1, 5)), _inputs(2), progress=False)
    h, x = torch.from_numpy(points.states[1]), torch.from_numpy(points.inputs[1])
    expected = jacrev(lambda x_t: model.step(h, x_t))(x).detach().numpy()
    np.testing.assert_allclose(points.input_jacobians()[1], expected, atol=1e-14)


def _with_z_logit(cell_logits: dict[int, float]) -> MinGRU:
    """A one-layer minGRU (3 inputs, 4 cells) whose z logits are set by bias, weights zero."""
    module = _module("min_gru", 1, hidden=4)
    with torch.no_grad():
        for cell, logit in cell_logits.items():
            module.weight_ih_l0[cell].zero_()
            module.bias_ih_l0[cell] = logit
    return module


def test_stability_is_stable_below_one_minus_eps_and_marginal_within_it():
    stable = _with_z_logit({cell: 2.0 for cell in range(4)})  # a = 1 - σ(2) = 0.12
    marginal = _with_z_logit({0: -10.0})  # a = 1 - σ(-10) = 1 - 4.5e-5, within eps = 1e-3
    visited = np.zeros((1, 4))
    assert find_fixed_points(stable, visited, progress=False).stability.tolist() == ["stable"]
    points = find_fixed_points(marginal, visited, progress=False)
    assert points.stability.tolist() == ["marginal"]
    tau = -1 / np.log1p(-_sigmoid(-10.0))  # about 22,000 steps
    assert points.time_constants[0, 0] == pytest.approx(tau, rel=1e-9)
    assert points.attractor.tolist() == [0]  # a marginal point is an attractor of its own


def test_a_cell_with_a_equal_to_one_is_a_line_of_fixed_points_and_takes_the_visited_mean():
    module = _with_z_logit({2: -800.0})  # σ(-800) is 0 in float64: a == 1, b == 0 exactly
    visited = np.random.default_rng(0).normal(size=(30, 4))
    points = find_fixed_points(module, visited, np.zeros(3), progress=False)
    assert len(points) == 1 and points.is_fixed[0]
    assert points.states[0, 2] == pytest.approx(visited[:, 2].mean(), abs=1e-15)
    assert points.eigenvalues[0, 0] == 1 and points.stability[0] == "marginal"
    assert np.isinf(points.time_constants[0, 0])


# ---------------------------------------------------------------------------------- the stack


@pytest.mark.parametrize("family", FAMILIES)
def test_the_stacks_fixed_point_is_every_layers_in_turn_and_fixed_under_the_stacks_step(family):
    module = _module(family, 3)
    x = _inputs()
    stack = stack_fixed_points(module, x)
    assert len(stack.layers) == 3 and stack.states.shape == (4, 15)
    for layer, (points, read) in enumerate(
        zip(stack.layers, _layer_inputs(module, x), strict=True)
    ):
        np.testing.assert_allclose(points.conditions, read, rtol=1e-12)
        np.testing.assert_allclose(stack.states[:, 5 * layer : 5 * layer + 5], points.states)
    for state, x_i in zip(stack.states, x, strict=True):
        h = torch.from_numpy(state.reshape(3, 5))
        _, h_new = module.step(torch.from_numpy(x_i), h)
        np.testing.assert_allclose(h_new.detach().numpy(), h.numpy(), atol=1e-14)


@pytest.mark.parametrize("family", FAMILIES)
def test_the_stacks_eigenvalues_are_those_of_the_whole_stacks_jacobian(family):
    module = _module(family, 3)
    x = _inputs(2)
    stack = stack_fixed_points(module, x)
    for state, x_i, eigenvalues in zip(stack.states, x, stack.eigenvalues, strict=True):
        x_t = torch.from_numpy(x_i)
        jacobian = jacrev(lambda h, x_t=x_t: module.step(x_t, h)[1])(
            torch.from_numpy(state.reshape(3, 5))
        )
        values = torch.linalg.eigvals(jacobian.detach().reshape(15, 15)).numpy()
        np.testing.assert_allclose(eigenvalues, _sorted_by_magnitude(values), atol=1e-13)
    # The stack is as stable as its least stable layer (a decays below 1 in these families).
    for condition, stability in enumerate(stack.stability):
        layer_classes = {str(points.stability[condition]) for points in stack.layers}
        assert stability == ("marginal" if "marginal" in layer_classes else "stable")


def test_the_stack_reads_a_trace_for_its_initial_states():
    module = _module("min_gru", 2)
    trace = capture(module, [torch.randn(30, 3, dtype=torch.float64)], progress=False)
    stack = stack_fixed_points(module, _inputs(2), initial_states=trace)
    np.testing.assert_allclose(
        stack.states, stack_fixed_points(module, _inputs(2)).states, rtol=1e-15
    )


# ---------------------------------------------------------------------------------- plug-in


class ScalarCell:
    """A user cell h' = 0.5 h + x (or h' = h + x with ``hold=True``), two cells."""

    kinds = ("h",)
    state_size = 2
    input_size = 2

    def __init__(self, hold: bool = False) -> None:
        self.a = 1.0 if hold else 0.5

    def step(self, state: torch.Tensor, x: torch.Tensor):
        new = self.a * state + x
        return new, {"h": new}


class LinearModel(RecurrentModel):
    """A model that says it is linear in its state: the hook a family provides."""

    def linear_recurrence(self, x: torch.Tensor, *, layer: int = 0):
        log_a = torch.full_like(x, float(np.log(self.core.a)))
        return log_a, x


def test_a_model_that_provides_linear_recurrence_gets_the_closed_form():
    points = find_fixed_points(
        LinearModel(ScalarCell()), np.zeros((1, 2)), np.array([1.0, -3.0]), progress=False
    )
    np.testing.assert_allclose(points.states, [[2.0, -6.0]])
    np.testing.assert_allclose(points.eigenvalues, [[0.5, 0.5]])
    assert points.iterations.tolist() == [0]


def test_a_cell_with_a_equal_to_one_and_a_drive_has_no_fixed_point_and_warns():
    model = LinearModel(ScalarCell(hold=True))
    with pytest.warns(RuntimeWarning, match="no fixed point"):
        points = find_fixed_points(model, np.zeros((1, 2)), [[1.0, 0.0], [0.0, 0.0]])
    assert points.condition.tolist() == [1]  # zero input: every state is fixed
    assert len(points.conditions) == 2


def test_a_model_not_linear_in_its_state_is_still_searched():
    torch.manual_seed(0)
    gru = torch.nn.GRU(2, 3)
    points = find_fixed_points(gru, np.zeros((1, 3)), n=8, progress=False)
    assert points.iterations.max() > 0


# ---------------------------------------------------------------------------------- arguments


def test_linear_recurrence_gives_a_b_and_the_fixed_point():
    module = _module("min_gru", 1)
    x = _inputs(3)
    result = linear_recurrence(module, x)
    fixed, a = _reference(module, x, 0)
    np.testing.assert_allclose(result.a, a, rtol=1e-12)
    np.testing.assert_allclose(result.fixed_points(), fixed, rtol=1e-12)
    np.testing.assert_allclose(result.b, fixed * (1 - a), rtol=1e-12)


def test_a_model_whose_gates_read_the_state_is_refused_naming_the_linear_families():
    gru = torch.nn.GRU(2, 3)
    with pytest.raises(TypeError, match=r"'min_gru', 'min_lstm'.*'gru'"):
        linear_recurrence(gru, np.zeros(2))
    with pytest.raises(TypeError, match=r"'min_gru', 'min_lstm'.*find_fixed_points"):
        stack_fixed_points(gru)


def test_inputs_of_the_wrong_width_are_refused_naming_input_size():
    module = _module("min_lstm", 2)
    with pytest.raises(ValueError, match=r"inputs must have shape \(input_size=3,\)"):
        stack_fixed_points(module, np.zeros(4))
    with pytest.raises(ValueError, match=r"input_size=5"):
        linear_recurrence(module, np.zeros(3), layer=1)
    with pytest.raises(TypeError, match="initial_states must be a Trace"):
        stack_fixed_points(module, initial_states=np.zeros((1, 5)))


class SometimesLinearModel(LinearModel):
    """A model whose hook answers None: its layer is not linear, so it is searched."""

    def linear_recurrence(self, x: torch.Tensor, *, layer: int = 0):
        return None


def test_a_model_whose_hook_answers_none_is_searched():
    points = find_fixed_points(
        SometimesLinearModel(ScalarCell()),
        np.zeros((1, 2)),
        np.array([1.0, -3.0]),
        n=4,
        outlier_distance=np.inf,
        progress=False,
    )
    np.testing.assert_allclose(points.states, [[2.0, -6.0]], atol=1e-9)
    assert points.iterations.max() > 0


def test_the_linearization_describes_the_weights_the_points_were_found_with():
    module = _module("min_gru", 1)
    points = find_fixed_points(module, np.zeros((1, 5)), _inputs(2), progress=False)
    before = points.jacobians()
    with torch.no_grad():
        module.bias_ih_l0.add_(5.0)
    np.testing.assert_array_equal(points.jacobians(), before)
