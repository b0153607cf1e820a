"""MinGRU and MinLSTM: the paper's equations, the parallel scan, and the model adapter.

The reference below is the paper's equations (Feng et al. 2024 [1]_, log-space variant with
``h~ = g(Linear_h(x))``) written in numpy, float64, one step at a time; it shares nothing with
the package under test but the documented row order of ``weight_ih_l{k}``.

References
----------
.. [1] Feng, L., Tung, F., Ahmed, M. O., Bengio, Y., & Hajimirsadeghi, H. (2024). Were RNNs all
   we needed? arXiv:2410.01201.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch.func import jacrev

import rnn_widgets as rw
from rnn_widgets.analysis import (
    characterize,
    design_stimuli,
    find_fixed_points,
    isolate,
    score_cells,
    select_cells,
)
from rnn_widgets.analysis._response import simulate
from rnn_widgets.models import MinGRU, MinLSTM, RecurrentModel, _min_rnn, capture

FAMILIES = {"min_gru": MinGRU, "min_lstm": MinLSTM}
RAGGED = [1, 2000, 17, 1, 300, 2, 999]  # lengths 1 .. 2000, two of one step


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def _g(v: np.ndarray) -> np.ndarray:
    return np.where(v >= 0, v + 0.5, _sigmoid(v))


def reference_states(module, inputs, clamp=None):
    """Every layer's kinds over one sequence (steps, input_size), by the paper's equations."""
    clamp = clamp or {}
    layer_input = np.asarray(inputs, dtype=np.float64)
    size = module.hidden_size
    states = {}
    for layer in range(module.num_layers):
        weight = getattr(module, f"weight_ih_l{layer}").detach().double().numpy()
        bias = getattr(module, f"bias_ih_l{layer}")
        bias = np.zeros(len(weight)) if bias is None else bias.detach().double().numpy()
        h = np.zeros(size)
        for cell, value in clamp.get(layer, {}).items():
            h[cell] = value
        kinds = {kind: [] for kind in module.kinds}
        for x in layer_input:
            pre = weight @ x + bias
            if module.family == "min_gru":
                z, candidate = _sigmoid(pre[:size]), _g(pre[size:])
                h = (1 - z) * h + z * candidate
                values = {"z": z}
            else:
                i, f = _sigmoid(pre[:size]), _sigmoid(pre[size : 2 * size])
                candidate = _g(pre[2 * size :])
                i_norm, f_norm = i / (f + i), f / (f + i)
                h = f_norm * h + i_norm * candidate
                values = {"i": i_norm, "f": f_norm}
            for cell, value in clamp.get(layer, {}).items():
                h[cell] = value
            values.update(h=h.copy(), h_tilde=candidate)
            for kind in kinds:
                kinds[kind].append(values[kind])
        for kind, rows in kinds.items():
            states[(layer, kind)] = np.array(rows)
        layer_input = states[(layer, "h")]
    return states


def _module(family, input_size=3, hidden=6, layers=2, seed=0, **kwargs):
    torch.manual_seed(seed)
    module = FAMILIES[family](input_size, hidden, num_layers=layers, **kwargs)
    with torch.no_grad():  # wider than the default init: gates near 0 and 1, h~ on both sides
        for parameter in module.parameters():
            parameter.mul_(3.0)
    return module


def _sequences(lengths, input_size=3, seed=1, dtype=torch.float32):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(n, input_size, generator=generator, dtype=dtype) for n in lengths]


def _close(actual, expected, rtol):
    """|a - b| <= rtol * max(1, |b|), elementwise, with the worst offender in the message."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    excess = np.abs(actual - expected) - rtol * np.maximum(1.0, np.abs(expected))
    assert excess.max(initial=-1.0) <= 0, f"off by up to {np.abs(actual - expected).max()}"


# ---------------------------------------------------------------------------------- the module


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("batch_first", [False, True])
def test_forward_equals_the_papers_equations_in_float64(family, batch_first):
    module = _module(family, layers=3, dtype=torch.float64, batch_first=batch_first)
    sequences = _sequences([40, 40], dtype=torch.float64)
    x = torch.stack(sequences, dim=0 if batch_first else 1)
    with torch.no_grad():
        output, h_n = module(x)
    for index, sequence in enumerate(sequences):
        reference = reference_states(module, sequence.numpy())
        own = output[index] if batch_first else output[:, index]
        _close(own, reference[(2, "h")], 1e-12)
        for layer in range(3):
            _close(h_n[layer, index], reference[(layer, "h")][-1], 1e-12)


@pytest.mark.parametrize("family", FAMILIES)
def test_parallel_forward_equals_the_sequential_step_from_any_initial_state(family):
    module = _module(family, layers=2, dtype=torch.float64)
    x = _sequences([600], dtype=torch.float64)[0].reshape(200, 3, 3)  # 200 steps, batch 3
    h0 = torch.randn(2, 3, 6, dtype=torch.float64) * 2  # negative values too
    with torch.no_grad():
        output, h_n = module(x, h0)
        h, steps = h0, []
        for x_t in x:
            y, h = module.step(x_t, h)
            steps.append(y)
    _close(output, torch.stack(steps), 1e-11)
    _close(h_n, h, 1e-11)


@pytest.mark.parametrize("family", FAMILIES)
def test_a_float32_module_keeps_float64_precision_over_2000_steps_of_open_gates(family):
    # The scan's prefix sums run in float64: in float32 they lose 9e-4 to 1.6e-3 of h here.
    wide = _module(family, layers=1, dtype=torch.float64)
    with torch.no_grad():
        wide.bias_ih_l0[:6].add_(2.0)  # z (minGRU) or i (minLSTM) mostly open
    narrow = _module(family, layers=1)
    narrow.load_state_dict({k: v.float() for k, v in wide.state_dict().items()})
    x = _sequences([2000], dtype=torch.float64)[0]
    with torch.no_grad():
        _close(narrow(x.float())[0], wide(x)[0], 1e-5)


@pytest.mark.parametrize("family", FAMILIES)
def test_unbatched_input_gives_unbatched_output_as_nn_gru_does(family):
    module = _module(family)
    x = _sequences([9])[0]
    with torch.no_grad():
        output, h_n = module(x)
        batched, batched_h = module(x[:, None])
    assert tuple(output.shape) == (9, 6) and tuple(h_n.shape) == (2, 6)
    torch.testing.assert_close(output, batched[:, 0])
    torch.testing.assert_close(h_n, batched_h[:, 0])


@pytest.mark.parametrize("family", FAMILIES)
def test_gradients_through_the_scan_equal_those_through_the_steps(family):
    module = _module(family, layers=2, dtype=torch.float64)
    x = _sequences([50], dtype=torch.float64)[0][:, None]
    (module(x)[0] ** 2).sum().backward()
    scanned = [p.grad.clone() for p in module.parameters()]
    module.zero_grad()
    h, total = None, 0.0
    for x_t in x:
        y, h = module.step(x_t, h)
        total = total + (y**2).sum()
    total.backward()
    for by_scan, by_steps in zip(scanned, (p.grad for p in module.parameters()), strict=True):
        _close(by_scan, by_steps, 1e-9)


def _solved(module, solver, x, h0):
    """Output, h_n and the gradients of a loss w.r.t. every parameter, x and h0."""
    module.zero_grad()
    x, h0 = x.clone().requires_grad_(), h0.clone().requires_grad_()
    module.solver = solver
    output, h_n = module(x, h0)
    ((output**3).sum() + (h_n**2).sum()).backward()
    module.solver = "scan"
    grads = [p.grad.clone() for p in module.parameters()]
    return output.detach(), h_n.detach(), [*grads, x.grad, h0.grad]


@pytest.mark.parametrize("family", FAMILIES)
def test_the_sequential_solver_equals_the_scan_with_its_gradients_in_float64(family):
    module = _module(family, layers=2, dtype=torch.float64)
    x = _sequences([600], dtype=torch.float64)[0].reshape(200, 3, 3)  # 200 steps, batch 3
    h0 = torch.randn(2, 3, 6, dtype=torch.float64) * 2  # negative values too
    scanned = _solved(module, "scan", x, h0)
    stepped = _solved(module, "sequential", x, h0)
    _close(stepped[0], scanned[0], 1e-11)
    _close(stepped[1], scanned[1], 1e-11)
    for by_steps, by_scan in zip(stepped[2], scanned[2], strict=True):
        _close(by_steps, by_scan, 1e-9)


@pytest.mark.parametrize("family", FAMILIES)
def test_the_sequential_solver_of_a_float32_module_is_float32_exact_over_a_window(family):
    # A training window of 100 steps: h as close to the paper's equations in float64 as the
    # float32 rounding of the scan's own (float64-summed) output.
    module = _module(family, layers=2)
    sequences = _sequences([100] * 8)
    x = torch.stack(sequences, dim=1)
    with torch.no_grad():
        module.solver = "sequential"
        stepped = module(x)[0]
    for index, sequence in enumerate(sequences):
        reference = reference_states(module, sequence.numpy())[(1, "h")]
        _close(stepped[:, index], reference, 2e-6)


def test_linear_recurrence_has_the_closed_form_and_its_gradient_passes_gradcheck():
    a = torch.full((30, 2), 0.5, dtype=torch.float64)
    b = torch.ones(30, 2, dtype=torch.float64)
    h0 = torch.tensor([0.0, 4.0], dtype=torch.float64)
    t = torch.arange(1, 31, dtype=torch.float64)[:, None]
    # h_t = 2 + (h0 - 2) / 2^t
    _close(_min_rnn.linear_recurrence(a, b, h0), 2 + (h0 - 2) / 2**t, 1e-14)
    generator = torch.Generator().manual_seed(0)
    inputs = [
        torch.rand(12, 3, 4, generator=generator, dtype=torch.float64).requires_grad_(),
        torch.randn(12, 3, 4, generator=generator, dtype=torch.float64).requires_grad_(),
        torch.randn(3, 4, generator=generator, dtype=torch.float64).requires_grad_(),
    ]
    assert torch.autograd.gradcheck(_min_rnn.linear_recurrence, inputs)


@pytest.mark.parametrize(
    ("a", "b", "h0", "error", "message"),
    [
        (torch.ones(5, 2), torch.ones(5, 3), torch.zeros(2), ValueError, "b must have a's shape"),
        (torch.ones(5, 2), torch.ones(5, 2), torch.zeros(3), ValueError, "h0 the shape"),
        (torch.ones(0, 2), torch.ones(0, 2), torch.zeros(2), ValueError, "steps >= 1"),
        (torch.ones(5, 2), torch.ones(5, 2).double(), torch.zeros(2), TypeError, "a's dtype"),
        (torch.ones(5, 2), [1.0] * 5, torch.zeros(2), TypeError, "b must be a torch.Tensor"),
    ],
)
def test_linear_recurrence_refuses_mismatched_arguments_naming_them(a, b, h0, error, message):
    with pytest.raises(error, match=message):
        _min_rnn.linear_recurrence(a, b, h0)


def test_an_unknown_solver_is_refused_with_the_choices():
    module = _module("min_gru")
    with pytest.raises(ValueError, match=r"solver must be one of \['scan', 'sequential'\]"):
        module.solver = "parallel"
    assert module.solver == "scan"


def test_the_zoo_trains_a_min_core_step_by_step_and_hands_it_back_on_the_scan(monkeypatch):
    from rnn_widgets import tasks
    from rnn_widgets.zoo import Spec
    from rnn_widgets.zoo._train import train

    calls = []
    solve = _min_rnn.linear_recurrence
    monkeypatch.setattr(_min_rnn, "linear_recurrence", lambda *a: calls.append(1) or solve(*a))
    spec = Spec(family="min_gru", n_inputs=3, hidden=8, layers=2, n_outputs=3, embedding_dim=None)
    task = tasks.flip_flop(3, 16, 20, seed=0)
    result = train(spec, task, steps=3, batch_size=4, learning_rate=1e-2, progress=False)
    assert len(calls) == 3 * 2  # every step, every layer
    assert result.network.core.solver == "scan"


def test_min_lstm_reports_its_gates_normalised():
    module = _module("min_lstm", layers=1, dtype=torch.float64)
    x = _sequences([30], dtype=torch.float64)[0]
    with torch.no_grad():
        values = module.layer_step(torch.zeros(6, dtype=torch.float64), x[0], 0)[1]
        pre = module.pre_activation(x[0], 0)
    i, f = torch.sigmoid(pre[:6]), torch.sigmoid(pre[6:12])
    _close(values["i"], i / (i + f), 1e-14)
    _close(values["i"] + values["f"], np.ones(6), 1e-14)


# ---------------------------------------------------------------------------------- the adapter


@pytest.mark.parametrize(
    ("family", "kinds"),
    [("min_gru", ("h", "z", "h_tilde")), ("min_lstm", ("h", "i", "f", "h_tilde"))],
)
def test_recurrent_model_and_wrap_recognise_the_family_its_kinds_and_layout(family, kinds):
    module = _module(family, input_size=3, hidden=5, layers=2)
    for model in (RecurrentModel(module), rw.wrap(module)):
        assert model.family == family
        assert model.kinds == kinds
        assert model.n_layers == 2 and model.directions == 1
        assert model.state_size(layer=1) == model.n_cells(layer=1) == 5
        assert model.input_size(layer=0) == 3 and model.input_size(layer=1) == 5
        assert dict(model.state_layout(layer=1)) == {"h": slice(0, 5)}
        assert not model.has_gate_weights
    assert rw.MinGRU is MinGRU and rw.MinLSTM is MinLSTM


def test_gate_weights_of_a_min_core_is_refused_with_where_the_weights_are():
    model = RecurrentModel(_module("min_gru"))
    with pytest.raises(TypeError, match=r"min_gru core's gates read only the input"):
        model.gate_weights(layer=0)


@pytest.mark.parametrize("family", FAMILIES)
def test_model_step_is_the_layers_step(family):
    module = _module(family, layers=2, dtype=torch.float64)
    model = RecurrentModel(module)
    h, x = torch.randn(4, 6, dtype=torch.float64), torch.randn(4, 6, dtype=torch.float64)
    new = model.step(h, x, layer=1)
    pre = module.pre_activation(x, 1)
    if family == "min_gru":
        z, candidate = torch.sigmoid(pre[:, :6]), _min_rnn.g(pre[:, 6:])
        _close(new.detach(), ((1 - z) * h + z * candidate).detach(), 1e-14)
    else:
        i, f = torch.sigmoid(pre[:, :6]), torch.sigmoid(pre[:, 6:12])
        candidate = _min_rnn.g(pre[:, 12:])
        _close(new.detach(), ((f * h + i * candidate) / (f + i)).detach(), 1e-14)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("chunk_values", [_min_rnn.SCAN_CHUNK_VALUES, 4000])
def test_capture_equals_a_float64_step_by_step_reference_over_ragged_batches(
    family, chunk_values, monkeypatch
):
    monkeypatch.setattr(_min_rnn, "SCAN_CHUNK_VALUES", chunk_values)  # 4000: chunks of 74-222 steps
    module = _module(family, input_size=3, hidden=6, layers=3)
    sequences = _sequences(RAGGED)
    trace = capture(module, sequences, batch_size=3, progress=False)
    assert trace.layers == (0, 1, 2)
    for index, sequence in enumerate(sequences):
        start, stop = trace.sequence_range(index)
        reference = reference_states(module, sequence.numpy())
        for (layer, kind), expected in reference.items():
            _close(trace.states(layer=layer, kind=kind)[start:stop], expected, 1e-4)


def test_capture_names_the_min_family_when_a_kind_is_missing():
    with pytest.raises(ValueError, match=r"kinds: 'c' is not a kind of this MinGRU; choose"):
        capture(_module("min_gru"), _sequences([3]), kinds=["h", "c"], progress=False)


@pytest.mark.parametrize("family", FAMILIES)
def test_run_with_a_clamp_forces_h_and_changes_only_what_reads_it(family):
    module = _module(family, layers=2)
    model = RecurrentModel(module)
    sequences = _sequences([25, 8])
    free = model.run(sequences)
    clamped = model.run(sequences, clamp={0: {2: 0.75}})
    gate = "z" if family == "min_gru" else "i"
    for index, sequence in enumerate(sequences):
        n = len(sequence)
        reference = reference_states(module, sequence.numpy(), clamp={0: {2: 0.75}})
        for key, expected in reference.items():
            _close(clamped.states[key][index, :n], expected, 1e-5)
        # Layer 0's gates read only its input, so the clamp leaves them as they were; layer 1
        # reads the clamped h.
        torch.testing.assert_close(clamped.states[(0, gate)], free.states[(0, gate)])
        assert (clamped.states[(1, gate)][index, :n] != free.states[(1, gate)][index, :n]).any()
    assert bool((clamped.states[(0, "h")][0, :, 2] == 0.75).all())


# ---------------------------------------------------------------------------------- analyses


def _constant_input_closed_form(module, x):
    """The one fixed point ``h* = g(Linear_h(x))`` and the eigenvalues ``1 - z`` of minGRU."""
    with torch.no_grad():
        pre = module.pre_activation(torch.as_tensor(x), 0)
    size = module.hidden_size
    return _min_rnn.g(pre[size:]).numpy(), 1 - torch.sigmoid(pre[:size]).numpy()


def test_min_gru_under_a_constant_input_has_its_closed_form_fixed_point_and_spectrum():
    module = _module("min_gru", hidden=5, layers=1, dtype=torch.float64)
    model = RecurrentModel(module)
    x = np.array([0.4, -1.2, 2.0])
    fixed, eigenvalues = _constant_input_closed_form(module, x)
    h, x_t = torch.from_numpy(fixed), torch.from_numpy(x)
    _close(model.step(h, x_t).detach(), fixed, 1e-14)
    jacobian = jacrev(lambda state: model.step(state, x_t))(h).detach().numpy()
    _close(jacobian, np.diag(eigenvalues), 1e-14)


def test_find_fixed_points_finds_the_one_fixed_point_of_a_min_gru():
    module = _module("min_gru", hidden=5, layers=1, dtype=torch.float64)
    x = np.array([0.4, -1.2, 2.0])
    fixed, eigenvalues = _constant_input_closed_form(module, x)
    trace = capture(module, _sequences([200], dtype=torch.float64), progress=False)
    points = find_fixed_points(module, trace, x, n=32, progress=False)
    assert len(points) == 1 and bool(points.is_fixed[0])
    _close(points.states[0], fixed, 1e-8)
    _close(np.sort(np.abs(points.eigenvalues[0])), np.sort(eigenvalues), 1e-8)
    assert points.stability[0] == "stable"


def test_select_cells_and_score_cells_read_a_captured_min_lstm_trace():
    module = _module("min_lstm", hidden=6, layers=2)
    trace = capture(module, _sequences([60, 40]), progress=False)
    h = trace.states(layer=1, kind="h")
    threshold = float(np.median(h))
    selected = select_cells(trace, 10, 14, threshold, pad_before=0, layer=1, kind="h")
    expected = np.flatnonzero((h[10:14] >= threshold).all(axis=0))
    np.testing.assert_array_equal(selected, expected)
    label = (h[:, 0] > np.median(h[:, 0])).astype(float)  # cell 0 carries it exactly
    scores = score_cells(trace, {"cell0": label}, layer=1, folds=2, progress=False)
    assert int(np.argmax(scores.score[0])) == 0


# ---------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("family", FAMILIES)
def test_input_of_the_wrong_width_is_refused_naming_input_size(family):
    module = _module(family, input_size=3)
    with pytest.raises(ValueError, match=r"x must have shape .* input_size=3, got \(5, 2, 4\)"):
        module(torch.zeros(5, 2, 4))
    with pytest.raises(ValueError, match=r"input_size=3"):
        module.step(torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"4 features per step but the model.s input_size is 3"):
        RecurrentModel(module).run(torch.zeros(5, 4))


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ((0, 4), ValueError, r"MinGRU: input_size must be a positive int .*, got 0"),
        ((3, -1), ValueError, r"MinGRU: hidden_size must be a positive int .*, got -1"),
        ((3, 4, 0), ValueError, r"MinGRU: num_layers must be a positive int .*, got 0"),
        ((3, 4.0), TypeError, r"MinGRU: hidden_size must be an int, got float"),
    ],
)
def test_non_positive_sizes_are_refused_naming_the_argument(arguments, error, message):
    with pytest.raises(error, match=message):
        MinGRU(*arguments)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_is_refused_with_the_fix(dtype):
    with pytest.raises(TypeError, match=r"MinLSTM: dtype must be float32 or float64.*float32"):
        MinLSTM(3, 4, dtype=dtype)
    module = MinGRU(3, 4).to(dtype)
    with pytest.raises(TypeError, match=r"MinGRU's weights must be float32 or float64.*float\(\)"):
        module(torch.zeros(2, 1, 3, dtype=dtype))
    with pytest.raises(TypeError, match=r"MinGRU's weights must be float32 or float64"):
        RecurrentModel(module)


def test_input_of_another_dtype_is_refused_with_the_conversion():
    with pytest.raises(TypeError, match=r"x must have the module's dtype torch.float32"):
        MinGRU(3, 4)(torch.zeros(2, 1, 3, dtype=torch.float64))


@pytest.mark.parametrize("family", FAMILIES)
def test_response_characterization_isolates_each_cell_as_the_layer_itself(family):
    """No gate reads h, so an isolated cell is the cell: simulate equals the model's run."""
    module = _module(family, input_size=3, hidden=6, layers=2)
    model = RecurrentModel(module)
    data = [torch.randn(300, 3, generator=torch.Generator().manual_seed(5)).double().float()]
    design = design_stimuli(model, data, steps=120)
    outputs = simulate(isolate(model, layer=0), design.stimuli)
    inputs = np.stack(
        [s.base[None] + s.signal[:, None] * s.direction[None] for s in design.stimuli]
    )
    double = RecurrentModel(copy.deepcopy(module).double())
    run = double.run(torch.from_numpy(inputs))
    expected = run.states[(0, "h")].numpy()
    np.testing.assert_allclose(outputs, expected, rtol=1e-9, atol=1e-12)
    response = characterize(model, layer=1, sequences=data, steps=120)
    assert response.values.shape[0] == 6 and np.isfinite(response.values).any()
