"""The Mamba demos' fixed points (issue 24): one per constant input, in closed form, drawn.

A Mamba layer under a constant input has exactly one fixed point: its convolution's window
fills with the input's ``v``, then its SSM state is linear, ``s* = Δ B x / (1 - exp(Δ A))``
(Gu & Dao 2023 [1]_, algorithm 2), and the Jacobian's eigenvalues are the decays ``exp(Δ A)``
and zeros. The reference below is those equations in numpy, float64, from the module's own
weights; it shares nothing with the package but the weights' names in ``transformers``.

References
----------
.. [1] Gu, A., & Dao, T. (2023). Mamba: Linear-time sequence modeling with selective state
   spaces. arXiv:2312.00752.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers is imported: nothing is downloaded

import numpy as np
import pytest
import torch
from transformers.utils import logging as hf_logging

import rnn_widgets as rw
from rnn_widgets import StateSpaceView, zoo
from rnn_widgets.analysis import find_fixed_points, linear_recurrence

hf_logging.set_verbosity_error()

MAX_STEPS = 2_000  # ten flip-flop sequences: ten distinct pulse patterns


def _np(tensor):
    return None if tensor is None else tensor.detach().double().cpu().numpy()


def _silu(v):
    return v / (1.0 + np.exp(-v))


def reference_fixed_point(block, r):
    """The flat fixed point ``(h, conv, ssm)`` of one Mamba block under the residual input r,
    and the moduli of the Jacobian's eigenvalues there, sorted ascending."""
    mixer = block.mixer
    assert mixer.activation == "silu"
    norm, eps = _np(block.norm.weight), block.norm.variance_epsilon
    projected = _np(mixer.in_proj.weight) @ (norm * r / np.sqrt(np.mean(r**2) + eps))
    if mixer.in_proj.bias is not None:
        projected += _np(mixer.in_proj.bias)
    channels, n = mixer.A_log.shape
    v, z = projected[:channels], projected[channels:]
    w_conv = _np(mixer.conv1d.weight)[:, 0, :]  # (D, K): every slot holds v
    u = _silu(v * w_conv.sum(axis=1) + _np(mixer.conv1d.bias))
    low = _np(mixer.x_proj.weight) @ u
    rank = mixer.dt_proj.weight.shape[1]
    delta = np.logaddexp(0.0, _np(mixer.dt_proj.weight) @ low[:rank] + _np(mixer.dt_proj.bias))
    b, c = low[rank : rank + n], low[rank + n :]
    log_a = delta[:, None] * -np.exp(_np(mixer.A_log))
    s = delta[:, None] * b[None, :] * u[:, None] / -np.expm1(log_a)
    y = (s @ c + _np(mixer.D) * u) * _silu(z)
    h = r + _np(mixer.out_proj.weight) @ y
    conv = np.repeat(v[:, None], w_conv.shape[1] - 1, axis=1).reshape(-1)
    state = np.concatenate([h, conv, s.reshape(-1)])
    moduli = np.concatenate([np.exp(log_a).reshape(-1), np.zeros(len(h) + len(conv))])
    return state, np.sort(moduli)


def _pulses(data) -> np.ndarray:
    """Every distinct input vector of a float task's sequences."""
    return np.unique(np.concatenate([np.asarray(s, np.float64) for s in data.sequences]), axis=0)


def _decoded(payload, dtype):
    return np.frombuffer(bytes(payload["data"]), dtype=dtype).reshape(payload["shape"])


@pytest.fixture(scope="module")
def flip_flop():
    explorer = rw.demo("flip_flop_mamba", max_steps=MAX_STEPS, progress=False)
    data = zoo.data("flip_flop_mamba").subset(range(explorer.trace.n_sequences))
    return explorer, data


# ------------------------------------------------------------------------------ the demo


def test_the_flip_flop_mamba_demo_has_one_fixed_point_per_input_pulse_pattern(flip_flop):
    explorer, data = flip_flop
    fp = explorer.fixed_points
    pulses = _pulses(data)
    assert len(pulses) > 7  # the hold, six single pulses, and pulses on several bits at once
    assert fp is not None and len(fp) == len(fp.conditions) == len(pulses)
    np.testing.assert_array_equal(fp.condition, np.arange(len(pulses)))
    assert {tuple(row) for row in fp.conditions} == {tuple(row) for row in pulses}
    np.testing.assert_array_equal(fp.conditions[0], 0.0)  # the hold, shown first
    assert (fp.iterations == 0).all() and fp.is_fixed.all()
    assert not any("Fixed points" in notice for notice in explorer.notices)


def test_the_demo_fixed_points_equal_the_closed_form_of_the_equations(flip_flop):
    explorer, _ = flip_flop
    fp = explorer.fixed_points
    projected = explorer.model.core  # a ProjectedMamba: float pulses -> the residual stream
    (block,) = projected.model.layers
    for row, pulse in enumerate(fp.conditions):
        r = _np(projected.projection.weight) @ pulse + _np(projected.projection.bias)
        state, moduli = reference_fixed_point(block, r)
        np.testing.assert_allclose(fp.states[row], state, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(np.sort(np.abs(fp.eigenvalues[row])), moduli, atol=1e-12)


def test_under_a_constant_pulse_the_fixed_point_holds_the_pulsed_bit(flip_flop):
    # The task's answer: each output holds the sign of the last pulse on its input.
    explorer, _ = flip_flop
    fp = explorer.fixed_points
    single = np.flatnonzero(np.abs(fp.conditions).sum(axis=1) == 1)
    assert len(single) == 6
    h = torch.from_numpy(fp.states[single][:, : explorer.model.n_features]).float()
    with torch.no_grad():
        outputs = explorer.model.readout(h).numpy()
    for pulse, output in zip(fp.conditions[single], outputs, strict=True):
        bit = int(np.flatnonzero(pulse)[0])
        assert np.sign(output[bit]) == pulse[bit], (pulse, output)
        assert np.argmax(np.abs(output)) == bit, (pulse, output)


def test_every_point_is_stable_or_marginal_with_the_decays_as_eigenvalues(flip_flop):
    explorer, _ = flip_flop
    fp = explorer.fixed_points
    magnitude = np.abs(fp.eigenvalues)
    assert (magnitude[:, 0] < 1).all()  # exp(Δ A) < 1: every memory fades, however slowly
    expected = np.where(magnitude[:, 0] < 1 - fp.eps, "stable", "marginal")
    np.testing.assert_array_equal(fp.stability, expected)
    d, n = explorer.model.ssm_matrix().shape
    assert ((magnitude > 0).sum(axis=1) == d * n).all()  # the rest, h and conv, are zeros


def test_the_state_space_view_shows_the_points_by_their_h_without_error(flip_flop):
    explorer, _ = flip_flop
    view, fp = explorer.state_space_view, explorer.fixed_points
    h = explorer.model.state_layout()["h"]
    assert view.error == ""
    assert view._conditions[:3] == ["zero input", "input (+1, 0, 0)", "input (-1, 0, 0)"]
    for condition in (0, 3):
        view.condition = condition
        assert view.error == ""
        np.testing.assert_array_equal(_decoded(view._fixed["index"], "<u4"), [condition])
        xy = _decoded(view._fixed["xy"], "<f4")
        np.testing.assert_allclose(xy, view.project(fp.states[[condition], h]), rtol=1e-5)
        segment = _decoded(view._fixed["modes"], "<f4")
        assert segment.shape == (1, 2) and np.abs(segment).max() > 0


def test_a_point_clicked_sends_its_decays_as_its_spectrum(flip_flop):
    explorer, _ = flip_flop
    view, fp = explorer.state_space_view, explorer.fixed_points
    view.spectrum_point = 1
    assert view.error == "" and view._spectrum["stability"] == fp.stability[1]
    real = _decoded(view._spectrum["real"], "<f4")
    np.testing.assert_allclose(real, np.abs(fp.eigenvalues[1]).astype(np.float32))
    view.spectrum_point = None


def test_the_parentheses_mamba_demo_has_one_fixed_point_per_token_in_each_layer():
    bottom = rw.demo("parentheses_mamba", max_steps=MAX_STEPS, progress=False)
    model, fp = bottom.model, bottom.fixed_points
    names = list(model.vocab)
    assert bottom.state_space_view._conditions == [f"token {t}" for t in names]
    embedding = _np(model.embedding.weight)[[model.vocab[t] for t in names]]
    np.testing.assert_allclose(fp.conditions, embedding)
    layers = getattr(model.core, "backbone", model.core).layers
    for row in range(len(names)):
        state, _ = reference_fixed_point(layers[0], embedding[row])
        np.testing.assert_allclose(fp.states[row], state, rtol=1e-9, atol=1e-9)
    upper = rw.demo("parentheses_mamba", max_steps=MAX_STEPS, progress=False, layer=1)
    # Layer 1 reads what layer 0 holds under each token: the h of its fixed point.
    h = model.state_layout()["h"]
    np.testing.assert_allclose(upper.fixed_points.conditions, fp.states[:, h])
    for row in range(len(names)):
        state, _ = reference_fixed_point(layers[1], fp.states[row, h])
        np.testing.assert_allclose(upper.fixed_points.states[row], state, rtol=1e-9, atol=1e-9)
    assert upper.state_space_view.error == ""


def test_the_flip_flop_min_gru_demo_has_the_closed_form_under_every_pulse_pattern():
    explorer = rw.demo("flip_flop_min_gru", max_steps=MAX_STEPS, progress=False)
    fp = explorer.fixed_points
    assert len(fp) == len(_pulses(zoo.data("flip_flop_min_gru").subset(range(10)))) > 7
    expected = linear_recurrence(explorer.model, fp.conditions).fixed_points()
    np.testing.assert_allclose(fp.states, expected, rtol=1e-12)
    assert explorer.state_space_view.error == ""


# ------------------------------------------------------------------------------ the analysis


@pytest.mark.parametrize("name", ["flip_flop_mamba", "flip_flop_min_gru"])
def test_find_fixed_points_with_default_arguments_gives_the_closed_form(name):
    model = zoo.load(name)
    trace = rw.capture(model, zoo.data(name).sequences[:3], progress=False)
    state = model.state_size()
    if name == "flip_flop_mamba":  # n = 1024 Jacobians of this state would pass the cap
        assert 1024 * state**2 > 2 * 10**8
    fp = find_fixed_points(model, trace, progress=False)
    assert len(fp) == 1 and fp.iterations[0] == 0 and bool(fp.is_fixed[0])
    if name == "flip_flop_mamba":
        (block,) = model.core.model.layers
        expected, moduli = reference_fixed_point(block, _np(model.core.projection.bias))
        np.testing.assert_allclose(np.sort(np.abs(fp.eigenvalues[0])), moduli, atol=1e-12)
    else:
        expected = linear_recurrence(model, np.zeros(3)).fixed_points()[0]
    np.testing.assert_allclose(fp.states[0], expected, rtol=1e-9, atol=1e-9)


def test_a_search_past_the_jacobian_cap_names_n_and_the_largest_that_fits():
    model = rw.wrap(torch.nn.GRU(2, 450))
    with pytest.raises(ValueError, match=r"lower n \(to at most 987 for this state\)"):
        find_fixed_points(model, np.zeros((4, 450)), progress=False)


def test_a_trace_without_the_state_kinds_names_them_and_how_to_capture_them():
    model = zoo.load("flip_flop_mamba")
    trace = rw.capture(
        model, zoo.data("flip_flop_mamba").sequences[:2], kinds=["h"], progress=False
    )
    with pytest.raises(
        ValueError, match=r"lacks \['conv', 'ssm'\] .* kinds=\['h', 'conv', 'ssm'\]"
    ):
        find_fixed_points(model, trace, progress=False)
    explorer = rw.Explorer(trace, model, fixed_points=True, response=False, progress=False)
    assert explorer.fixed_points is None
    assert any(
        notice.startswith("Fixed points are not drawn: ValueError: initial_states: the trace lacks")
        for notice in explorer.notices
    )


def test_the_view_places_points_of_a_wider_state_only_with_the_model():
    model = zoo.load("flip_flop_mamba")
    trace = rw.capture(model, zoo.data("flip_flop_mamba").sequences[:2], progress=False)
    fp = find_fixed_points(model, trace, progress=False)
    with pytest.raises(ValueError, match=r"width 736 but the view's state \('h',\) .* model="):
        StateSpaceView(trace, fixed_points=fp)
    view = StateSpaceView(trace, fixed_points=fp, model=model)
    xy = _decoded(view._fixed["xy"], "<f4")
    np.testing.assert_allclose(xy, view.project(fp.states[:, :32]), rtol=1e-5)
    whole = StateSpaceView(trace, fixed_points=fp, kinds=("h", "conv", "ssm"))
    np.testing.assert_allclose(_decoded(whole._fixed["xy"], "<f4"), whole.project(fp.states))
