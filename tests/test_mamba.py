"""Mamba (Gu & Dao 2023) from Hugging Face transformers: exact capture, the step, every analysis.

Models are built from tiny configs with random weights (no weights are ever downloaded: the
hub is offline for this module). The reference below is the paper's equations (Gu & Dao 2023
[1]_, algorithm 2, with the implementation's ``B̄ = Δ B``) written in numpy, float64, one
step at a time; it shares nothing with the package under test but the weights' names in
``transformers``' ``MambaMixer``.

References
----------
.. [1] Gu, A., & Dao, T. (2023). Mamba: Linear-time sequence modeling with selective state
   spaces. arXiv:2312.00752.
"""

from __future__ import annotations

import inspect
import os
import sys
from types import SimpleNamespace

os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers is imported: nothing is downloaded

import numpy as np
import pytest
import torch
from transformers import GPT2Config, GPT2Model, MambaConfig, MambaForCausalLM, MambaModel
from transformers.models.mamba import modeling_mamba
from transformers.utils import logging as hf_logging

import rnn_widgets as rw
from rnn_widgets.analysis import (
    ablate,
    characterize,
    find_fixed_points,
    match,
    probe,
    score_cells,
    select_cells,
    validate_ranking,
)
from rnn_widgets.models import (
    ProjectedMamba,
    RecurrentModel,
    _mamba,
    capture,
    mamba_forward,
    transformers_available,
)

from ._selection_reference import reference_match, reference_select_cells
from .test_selection_analysis import assert_same_matches, plain

hf_logging.set_verbosity_error()  # its note that the CUDA kernels fall back to PyTorch

RAGGED = [1, 2000, 17, 1, 300, 2, 999]  # lengths 1 .. 2000, two of one step
VOCAB = 20
KINDS = ("h", "x", "delta", "y", "conv", "ssm")


def _config(**overrides):
    values = {
        "vocab_size": VOCAB,
        "hidden_size": 16,
        "state_size": 4,
        "num_hidden_layers": 3,
        "expand": 2,
        "conv_kernel": 4,
        "time_step_rank": 4,  # "auto" gives rank 1: every channel's Δ one function of a scalar
    }
    return MambaConfig(**{**values, **overrides})


def _lm(seed=0, **overrides):
    torch.manual_seed(seed)
    return MambaForCausalLM(_config(**overrides)).eval()


def _ids(lengths, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randint(0, VOCAB, (n,), generator=generator).tolist() for n in lengths]


def _close(actual, expected, rtol):
    """|a - b| <= rtol * max(1, |b|), elementwise, with the worst offender in the message."""
    actual, expected = (
        np.asarray(v.detach().cpu() if isinstance(v, torch.Tensor) else v, np.float64)
        for v in (actual, expected)
    )
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    excess = np.abs(actual - expected) - rtol * np.maximum(1.0, np.abs(expected))
    assert excess.max(initial=-1.0) <= 0, f"off by up to {np.abs(actual - expected).max()}"


def _np(tensor):
    return None if tensor is None else tensor.detach().double().cpu().numpy()


def _softplus(v):
    return np.logaddexp(0.0, v)


def _silu(v):
    return v / (1.0 + np.exp(-v))


def reference_states(hf_model, ids, clamp=None, residual=None):
    """Every layer's kinds over one sequence of token ids, by the paper's equations, float64.

    ``clamp`` is ``{layer: {channel: value}}``: that channel's SSM state is forced to the value
    at the start and after every step (its ``y`` reads the state before the clamp).
    ``residual`` (steps, hidden_size), if given, is layer 0's input instead of the embedding
    of ``ids`` (a projection of float inputs).
    """
    clamp = clamp or {}
    backbone = getattr(hf_model, "backbone", hf_model)
    if residual is None:
        residual = _np(backbone.embeddings.weight)[ids]
    states = {}
    for layer, block in enumerate(backbone.layers):
        mixer = block.mixer
        norm, eps = _np(block.norm.weight), block.norm.variance_epsilon
        w_in, b_in = _np(mixer.in_proj.weight), _np(mixer.in_proj.bias)
        w_conv, b_conv = _np(mixer.conv1d.weight)[:, 0, :], _np(mixer.conv1d.bias)
        w_x, w_dt = _np(mixer.x_proj.weight), _np(mixer.dt_proj.weight)
        b_dt = _np(mixer.dt_proj.bias)
        a, skip = -np.exp(_np(mixer.A_log)), _np(mixer.D)
        w_out, b_out = _np(mixer.out_proj.weight), _np(mixer.out_proj.bias)
        channels, n = a.shape
        kernel, rank = w_conv.shape[1], w_dt.shape[1]
        history = np.zeros((kernel - 1, channels))  # v of the last K - 1 steps
        s = np.zeros((channels, n))
        for channel, value in clamp.get(layer, {}).items():
            s[channel] = value
        rows = {kind: [] for kind in KINDS}
        for r in residual:
            normed = norm * r / np.sqrt(np.mean(r**2) + eps)
            projected = w_in @ normed + (0 if b_in is None else b_in)
            v, z = projected[:channels], projected[channels:]
            window = np.vstack([history, v])  # (K, D), oldest first
            u = _silu((w_conv * window.T).sum(axis=1) + (0 if b_conv is None else b_conv))
            low = w_x @ u
            delta = _softplus(w_dt @ low[:rank] + b_dt)
            b, c = low[rank : rank + n], low[rank + n :]
            s = np.exp(delta[:, None] * a) * s + (delta[:, None] * b[None, :]) * u[:, None]
            y = (s @ c + skip * u) * _silu(z)
            for channel, value in clamp.get(layer, {}).items():
                s[channel] = value
            h = r + w_out @ y + (0 if b_out is None else b_out)
            history = window[1:]
            values = {"h": h, "x": u, "delta": delta, "y": y, "conv": history.T.reshape(-1)}
            values["ssm"] = s.reshape(-1)
            for kind in KINDS:
                rows[kind].append(values[kind])
        for kind in KINDS:
            states[(layer, kind)] = np.array(rows[kind])
        residual = states[(layer, "h")]
    return states


# ---------------------------------------------------------------------------------- recognition


@pytest.mark.parametrize("cls", [MambaModel, MambaForCausalLM])
def test_wrap_and_recurrent_model_recognise_mamba_with_its_kinds_widths_groups_and_layout(cls):
    torch.manual_seed(0)
    hf_model = cls(_config())
    for model in (rw.wrap(hf_model), RecurrentModel(hf_model)):
        assert model.family == "mamba" and model.kinds == KINDS
        assert model.n_layers == 3 and model.directions == 1 and not model.has_gate_weights
        assert model.n_cells(layer=2) == 32  # the channels a clamp addresses
        widths = {kind: model.n_cells(layer=2, kind=kind) for kind in KINDS}
        assert widths == {"h": 16, "x": 32, "delta": 32, "y": 32, "conv": 32 * 3, "ssm": 32 * 4}
        groups = {kind: model.cell_group(layer=1, kind=kind) for kind in KINDS}
        assert groups == {
            "h": "model",
            "x": "channels",
            "delta": "channels",
            "y": "channels",
            "conv": "conv",
            "ssm": "state",
        }
        assert dict(model.values_per_channel(layer=0)) == {"conv": 3, "ssm": 4}
        assert dict(model.state_layout(layer=1)) == {
            "h": slice(0, 16),
            "conv": slice(16, 112),
            "ssm": slice(112, 240),
        }
        assert model.state_size(layer=1) == 240 and model.input_size(layer=1) == 16
        assert model.n_features == 16 and model.embedding is hf_model.get_input_embeddings()
    with pytest.raises(TypeError, match=r"a Mamba layer has no recurrent gate weights"):
        model.gate_weights(layer=0)
    with pytest.raises(ValueError, match=r"kind 'c' is not a kind of this mamba model"):
        model.n_cells(layer=0, kind="c")


def test_another_transformers_model_is_refused_listing_the_supported_ones():
    gpt2 = GPT2Model(GPT2Config(n_layer=1, n_embd=8, n_head=2, vocab_size=10, n_positions=16))
    supported = r"transformers models: MambaModel, MambaForCausalLM; got GPT2Model"
    with pytest.raises(TypeError, match=supported):
        rw.wrap(gpt2)
    with pytest.raises(TypeError, match=supported):
        rw.capture(gpt2, [[1, 2]], progress=False)


def test_without_transformers_wrapping_a_hugging_face_model_names_the_hf_extra(monkeypatch):
    hf_model = _lm()
    for name in [name for name in sys.modules if name.split(".")[0] == "transformers"]:
        monkeypatch.setitem(sys.modules, name, None)  # `import transformers...` now fails
    message = r"optional dependency transformers: pip install 'rnn_widgets\[hf\]'"
    with pytest.raises(ImportError, match=message):
        rw.wrap(hf_model)
    with pytest.raises(ImportError, match=message):
        RecurrentModel(hf_model)
    with pytest.raises(ImportError, match=message):
        _mamba.require_transformers()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_is_refused_with_the_cast_that_fixes_it(dtype):
    with pytest.raises(TypeError, match=rf"weights are {dtype}.*refused; cast .* model\.float\(\)"):
        rw.wrap(_lm().to(dtype))


def test_a_replaced_or_subclassed_block_is_named_with_its_layer():
    class OtherMixer(modeling_mamba.MambaMixer):
        pass

    hf_model = _lm()
    hf_model.backbone.layers[1].mixer.__class__ = OtherMixer
    with pytest.raises(TypeError, match=r"layer 1 of the MambaForCausalLM: its mixer is a Other"):
        rw.wrap(hf_model)
    hf_model = _lm()
    hf_model.backbone.layers[2] = torch.nn.Identity()
    with pytest.raises(TypeError, match=r"layer 2 .* its block is a Identity, not .* MambaBlock"):
        rw.wrap(hf_model)


def test_a_convolution_without_state_is_named_in_the_config():
    with pytest.raises(ValueError, match=r"config.conv_kernel = 1 is not supported"):
        rw.wrap(_lm(conv_kernel=1))


# ---------------------------------------------------------------------------------- exactness


def test_captured_h_is_transformers_hidden_states_and_the_readout_gives_its_logits():
    hf_model = _lm()
    sequences = _ids([1, 700, 35, 2])
    names = [f"t{i}" for i in range(VOCAB)]
    trace = capture(hf_model, sequences, batch_size=3, labels=names, progress=False)
    model = rw.wrap(hf_model)
    run = model.run(sequences)
    for index, ids in enumerate(sequences):
        start, stop = trace.sequence_range(index)
        with torch.no_grad():
            out = hf_model(torch.tensor([ids]), output_hidden_states=True, use_cache=False)
        assert len(out.hidden_states) == 4  # each block's output, then the final norm's
        for layer in range(3):
            expected = out.hidden_states[layer][0].numpy()
            _close(trace.states(layer=layer, kind="h")[start:stop], expected, 1e-4)
        _close(run.outputs[index, : len(ids)], out.logits[0].numpy(), 1e-4)
        _close(model.readout(run.states[(2, "h")][index, : len(ids)]), out.logits[0], 1e-4)
    top = out.logits[0].argmax(-1).numpy()
    assert trace.predictions.labels[start:stop, 0].tolist() == [names[t] for t in top]


def test_a_mamba_model_outputs_its_last_hidden_state():
    torch.manual_seed(0)
    hf_model = MambaModel(_config()).eval()
    ids = _ids([50])[0]
    with torch.no_grad():
        expected = hf_model(torch.tensor([ids])).last_hidden_state[0]
    _close(rw.wrap(hf_model).run(ids).outputs, expected, 1e-4)


@pytest.mark.parametrize("small_blocks", [False, True])
def test_every_kind_equals_a_float64_step_by_step_reference_over_ragged_batches(
    small_blocks, monkeypatch
):
    if small_blocks:  # blocks of 2 steps, scan chunks of 1 step: every boundary is crossed
        monkeypatch.setattr(_mamba, "BLOCK_ROWS", 6)
        monkeypatch.setattr(_mamba, "SCAN_CHUNK_VALUES", 1)
    hf_model = _lm(use_bias=True, use_conv_bias=not small_blocks)
    sequences = _ids(RAGGED) if not small_blocks else _ids([1, 90, 17, 2])
    trace = capture(hf_model, sequences, batch_size=3, progress=False)
    assert trace.layers == (0, 1, 2)
    for index, ids in enumerate(sequences):
        start, stop = trace.sequence_range(index)
        for (layer, kind), expected in reference_states(hf_model, ids).items():
            _close(trace.states(layer=layer, kind=kind)[start:stop], expected, 1e-4)


def test_capture_records_each_kind_with_its_width_and_cell_group():
    trace = capture(_lm(), _ids([5, 3]), layers=[1], progress=False)
    assert trace.layers == (1,)
    for kind, width in {"h": 16, "delta": 32, "y": 32, "x": 32, "conv": 96, "ssm": 128}.items():
        assert trace.n_cells(layer=1, kind=kind) == width
    assert trace.cell_group(layer=1, kind="delta") == trace.cell_group(layer=1, kind="y")
    assert trace.cell_group(layer=1, kind="ssm") != trace.cell_group(layer=1, kind="delta")
    assert trace.cell_group(layer=1, kind="h") != trace.cell_group(layer=1, kind="x")


def test_the_ssm_and_conv_state_are_transformers_cache_of_the_last_step():
    hf_model = _lm()
    ids = _ids([40])[0]
    trace = capture(hf_model, [ids], kinds=["conv", "ssm"], progress=False)
    with torch.no_grad():
        cache = hf_model(torch.tensor([ids]), use_cache=True).cache
    for layer in range(3):
        ssm = cache.get_recurrent_state(layer)[0].numpy()  # (D, N)
        _close(trace.states(layer=layer, kind="ssm")[-1], ssm.reshape(-1), 1e-5)
        conv = cache.get_conv_state(layer)[0].numpy()  # (D, K): the last K inputs
        _close(trace.states(layer=layer, kind="conv")[-1], conv[:, 1:].reshape(-1), 1e-5)


def test_stepping_token_by_token_carries_conv_and_ssm_and_reproduces_the_forward():
    hf_model = _lm()
    model = rw.wrap(hf_model)
    ids = _ids([60])[0]
    trace = capture(model, [ids], progress=False)
    x = model.encode(ids)
    states = [model.initial_state(1, layer=layer) for layer in model.layers]
    with torch.no_grad():
        for t in range(len(ids)):
            inputs = x[t : t + 1]
            for layer in model.layers:
                states[layer] = model.step(states[layer], inputs, layer=layer)
                layout = model.state_layout(layer=layer)
                for part in ("h", "conv", "ssm"):
                    expected = trace.states(layer=layer, kind=part)[t]
                    _close(states[layer][0, layout[part]], expected, 1e-5)
                inputs = states[layer][:, layout["h"]]
        logits = model.readout(inputs)
        _close(logits[0], hf_model(torch.tensor([ids])).logits[0, -1], 1e-4)


def test_the_step_is_unbatched_and_differentiable_for_torch_func():
    model = RecurrentModel(_lm().double())
    state = torch.randn(model.state_size(layer=1), dtype=torch.float64)
    x = torch.randn(16, dtype=torch.float64)
    batched = model.step(state[None], x[None], layer=1)[0]
    _close(model.step(state, x, layer=1).detach(), batched.detach(), 1e-14)
    jacobian = torch.func.jacrev(lambda s: model.step(s, x, layer=1))(state)
    assert jacobian.shape == (240, 240)
    assert bool((jacobian[:, :16] == 0).all())  # h is carried, never read by the next step


# ---------------------------------------------------------------------------------- budget


def test_the_state_budget_is_one_gib_by_default():
    assert inspect.signature(capture).parameters["state_budget"].default == 1 << 30


def test_past_the_state_budget_capture_asks_for_channels_instead_of_filling_memory():
    sequences = _ids([100, 28])  # 128 steps x 128 SSM values x 3 layers x 4 bytes = 196,608
    with pytest.raises(ValueError) as error:
        capture(_lm(), sequences, kinds=["h", "ssm"], state_budget=100_000, progress=False)
    message = str(error.value)
    assert "capture would need 192.0 KiB for 'ssm' of layer 0, 'ssm' of layer 1" in message
    assert "past state_budget=97.7 KiB" in message
    assert "channels={'ssm': [0, 5, 17]}" in message and "2.0 KiB per layer" in message
    assert "16 channels of each layer fit" in message
    trace = capture(_lm(), sequences, kinds=["h", "ssm"], state_budget=196_608, progress=False)
    assert trace.n_cells(layer=2, kind="ssm") == 128


def test_capture_keeps_chosen_channels_of_the_ssm_state_in_the_order_given():
    hf_model = _lm()
    sequences = _ids([30, 9])
    full = capture(hf_model, sequences, kinds=["ssm", "conv"], progress=False)
    kept = capture(
        hf_model,
        sequences,
        kinds=["ssm", "conv"],
        channels={"ssm": [7, 0], (1, "ssm"): [31], "conv": [2]},
        state_budget=4 * 39 * (8 + 4 + 8 + 3 * 3),
        progress=False,
    )
    every = full.states(layer=0, kind="ssm")
    np.testing.assert_array_equal(
        kept.states(layer=0, kind="ssm"), np.hstack([every[:, 28:32], every[:, 0:4]])
    )
    np.testing.assert_array_equal(
        kept.states(layer=1, kind="ssm"), full.states(layer=1, kind="ssm")[:, 124:128]
    )
    np.testing.assert_array_equal(
        kept.states(layer=2, kind="conv"), full.states(layer=2, kind="conv")[:, 6:9]
    )


@pytest.mark.parametrize(
    ("channels", "error", "message"),
    [
        ({"delta": [1]}, ValueError, r"'delta' is not a kind with several values per channel"),
        ({"ssm": [32]}, ValueError, r"channel 32 does not exist; the layer has channels 0 .. 31"),
        ({"ssm": []}, ValueError, r"channels\['ssm'\] is empty"),
        ({"ssm": [1, 1]}, ValueError, r"repeats a channel"),
        ({"conv": [1]}, ValueError, r"names 'conv', which capture does not record"),
        ([1, 2], TypeError, r"channels must map a kind .* to channel indices"),
    ],
)
def test_malformed_channels_are_refused_naming_the_fix(channels, error, message):
    with pytest.raises(error, match=message):
        capture(_lm(), _ids([4]), kinds=["h", "ssm"], channels=channels, progress=False)


# ---------------------------------------------------------------------------------- clamps


def test_clamping_a_channel_forces_its_ssm_state_and_matches_the_reference():
    hf_model = _lm()
    model = rw.wrap(hf_model)
    sequences = _ids([25, 8])
    free = model.run(sequences)
    clamped = model.run(sequences, clamp={1: {3: 0.5, 10: 0.0}})
    for index, ids in enumerate(sequences):
        n = len(ids)
        reference = reference_states(hf_model, ids, clamp={1: {3: 0.5, 10: 0.0}})
        for key, expected in reference.items():
            _close(clamped.states[key][index, :n], expected, 1e-4)
    ssm = clamped.states[(1, "ssm")][0].reshape(25, 32, 4)
    assert bool((ssm[:, 3] == 0.5).all()) and bool((ssm[:, 10] == 0).all())
    torch.testing.assert_close(clamped.states[(0, "ssm")], free.states[(0, "ssm")])
    assert not torch.allclose(clamped.outputs, free.outputs)


def test_ablate_clamps_ssm_channels_of_a_layer():
    model = rw.wrap(_lm())
    sequences = _ids([30, 12])

    def mean_logit(run):
        return float(run.outputs[..., 0].mean())

    result = ablate(model, sequences, mean_logit, [3, 7, 1], layer=1, ks=[1, 3], random_draws=1)
    assert result.baseline == pytest.approx(mean_logit(model.run(sequences)))
    expected = mean_logit(model.run(sequences, clamp={1: {3: 0.0, 7: 0.0, 1: 0.0}}))
    assert result.top["zero"][1] == pytest.approx(expected)
    assert result.top["zero"][1] != pytest.approx(result.baseline)


def test_ablate_reads_only_h_by_default_so_the_ssm_state_is_never_gathered():
    model = rw.wrap(_lm())
    sequences = _ids([20, 9])
    seen = []

    def kinds_seen(run):
        seen.append(sorted({kind for _, kind in run.states}))
        return float(run.outputs[..., 0].mean())

    ablate(model, sequences, kinds_seen, [3, 7], layer=1, ks=[2], random_draws=1,
           progress=False)  # fmt: skip
    assert seen and all(kinds == ["h"] for kinds in seen)
    seen.clear()
    ablate(model, sequences, kinds_seen, [3, 7], layer=1, ks=[2], random_draws=1, kinds=None,
           progress=False)  # fmt: skip
    assert all("ssm" in kinds and "delta" in kinds for kinds in seen)
    with pytest.raises(ValueError, match="kind"):
        ablate(model, sequences, kinds_seen, [3], layer=1, ks=[1], kinds=["nope"],
               progress=False)  # fmt: skip


# ---------------------------------------------------------------------------------- analyses


@pytest.fixture(scope="module")
def mamba_trace():
    hf_model = _lm()
    return rw.wrap(hf_model), capture(hf_model, _ids([120, 80, 40]), progress=False)


@pytest.mark.parametrize("kind", ["ssm", "delta"])
def test_select_cells_and_match_read_the_ssm_and_delta_kinds(mamba_trace, kind):
    _, trace = mamba_trace
    states = trace.states(layer=1, kind=kind)
    threshold = float(np.quantile(states, 0.6))
    bounds = trace.sequence_bounds
    selected = select_cells(trace, 10, 13, threshold, pad_before=0, layer=1, kind=kind)
    expected = reference_select_cells(states, bounds, 10, 13, threshold, 0, 0)
    assert selected.tolist() == list(expected) and len(selected) > 0
    cells = selected[:3]
    got = match(trace, cells, threshold, pad_before=0, layer=1, kind=kind, top=10_000)
    assert (got.layer, got.kind) == (1, kind) and len(got.matches) > 0
    expected_matches = reference_match(states, bounds, cells, threshold, 0, 0, 10_000, 1, 1, 3)
    assert_same_matches(plain(got), expected_matches)


def test_score_cells_and_probe_find_the_delta_channel_that_carries_a_label(mamba_trace):
    _, trace = mamba_trace
    delta = trace.states(layer=1, kind="delta")
    label = (delta[:, 5] > np.median(delta[:, 5])).astype(float)  # channel 5 carries it exactly
    scores = score_cells(trace, {"label": label}, layer=1, kind="delta", folds=3, progress=False)
    assert scores.score.shape == (1, 32) and scores.kind == "delta"
    assert int(np.argmax(scores.score[0])) == 5
    result = probe(trace, {"label": label}, k=2, layer=1, kind="delta", folds=3, progress=False)
    assert result.best_cell == 5


def constant_input_fixed_point(hf_model, r):
    """The one fixed point ``(h, conv, ssm)`` of layer 0 under the constant input ``r``, and
    the moduli of its Jacobian's eigenvalues.

    Every quantity is constant there: ``v``, ``x``, ``Δ``, ``B``, ``C`` from ``r`` alone, and
    ``s* = Δ B x / (1 - exp(Δ A))``. The Jacobian is block-triangular (the conv state shifts,
    ``s`` decays by ``exp(Δ A)``, ``h`` is never read), so its eigenvalues are ``exp(Δ A)`` and
    zeros.
    """
    block = getattr(hf_model, "backbone", hf_model).layers[0]
    mixer = block.mixer
    normed = _np(block.norm.weight) * r / np.sqrt(np.mean(r**2) + block.norm.variance_epsilon)
    a = -np.exp(_np(mixer.A_log))
    channels, n = a.shape
    v = (_np(mixer.in_proj.weight) @ normed)[:channels]
    z = (_np(mixer.in_proj.weight) @ normed)[channels:]
    kernel = mixer.conv1d.weight.shape[-1]
    u = _silu(_np(mixer.conv1d.weight)[:, 0, :].sum(axis=1) * v + _np(mixer.conv1d.bias))
    low = _np(mixer.x_proj.weight) @ u
    rank = mixer.dt_proj.weight.shape[1]
    delta = _softplus(_np(mixer.dt_proj.weight) @ low[:rank] + _np(mixer.dt_proj.bias))
    b, c = low[rank : rank + n], low[rank + n :]
    decay = np.exp(delta[:, None] * a)
    s = (delta[:, None] * b[None, :]) * u[:, None] / (1 - decay)
    y = (s @ c + _np(mixer.D) * u) * _silu(z)
    h = r + _np(mixer.out_proj.weight) @ y
    conv = np.repeat(v[:, None], kernel - 1, axis=1).reshape(-1)
    state = np.concatenate([h, conv, s.reshape(-1)])
    moduli = np.concatenate([decay.reshape(-1), np.zeros(len(h) + len(conv))])
    return state, np.sort(moduli)


def test_find_fixed_points_finds_the_closed_form_fixed_point_of_a_layer():
    # Δ near 1 (not the default 0.001 .. 0.1): decays exp(Δ A) <= 0.6, so the search converges
    # to the point itself, not to a slow region around it.
    small = {"hidden_size": 8, "state_size": 2, "conv_kernel": 3, "num_hidden_layers": 1}
    hf_model = _lm(time_step_min=0.5, time_step_max=1.0, **small).double()
    model = RecurrentModel(hf_model)
    r = _np(hf_model.backbone.embeddings.weight[3])  # the input of token 3, read on and on
    fixed, moduli = constant_input_fixed_point(hf_model, r)
    _close(model.step(torch.from_numpy(fixed), torch.from_numpy(r)).detach(), fixed, 1e-12)
    trace = capture(model, [*_ids([60]), [3] * 500], progress=False)
    points = find_fixed_points(model, trace, r, n=8, progress=False)
    assert len(points) == 1 and bool(points.is_fixed[0])
    _close(points.states[0], fixed, 1e-8)
    _close(np.sort(np.abs(points.eigenvalues[0])), moduli, 1e-8)
    assert points.stability[0] == "stable"
    view = rw.StateSpaceView(
        trace, fixed_points=points, model=model, layer=0, kinds=("h", "conv", "ssm")
    )
    assert view.error == "" and view._fixed is not None


# ---------------------------------------------------------------------------------- response


def test_no_channel_of_a_mamba_layer_reads_another_channels_state():
    """The SSM state's Jacobian by itself is block-diagonal per channel; no state writes conv.

    So a channel cut out of the layer (its recurrent input from the other channels removed) is
    the channel in the layer: response characterization drives the layer whole. The
    convolution's window does reach every channel (through x_proj), but it holds the layer's
    past inputs, which no state writes, and h is carried along unread.
    """
    model = RecurrentModel(_lm(num_hidden_layers=2).double())
    layout = model.state_layout(layer=1)
    generator = torch.Generator().manual_seed(3)
    state = torch.randn(model.state_size(layer=1), generator=generator, dtype=torch.float64)
    x = torch.randn(16, generator=generator, dtype=torch.float64)
    jacobian = torch.func.jacrev(lambda s: model.step(s, x, layer=1))(state)
    ssm, conv, h = layout["ssm"], layout["conv"], layout["h"]
    blocks = jacobian[ssm, ssm].reshape(32, 4, 32, 4).permute(0, 2, 1, 3)  # [d, d', n, n']
    cross = blocks * (1 - torch.eye(32, dtype=torch.float64))[:, :, None, None]
    assert torch.equal(cross, torch.zeros_like(cross))
    assert bool((jacobian[ssm, ssm].diagonal() > 0).all())  # each value's own decay exp(Δ A)
    assert torch.equal(jacobian[conv, ssm], torch.zeros_like(jacobian[conv, ssm]))
    assert torch.equal(jacobian[:, h], torch.zeros_like(jacobian[:, h]))
    assert bool(jacobian[ssm, conv].abs().max() > 0)  # x_proj reads the window of past inputs


def _stimulus_inputs(design):
    return np.stack([s.base[None] + s.signal[:, None] * s.direction[None] for s in design.stimuli])


@pytest.fixture(scope="module")
def mamba_response():
    model = rw.wrap(_lm())
    return model, characterize(model, layer=0, sequences=_ids([300]), steps=200)


def test_characterize_reads_each_mamba_channel_as_a_capture_of_the_stimulus_does(mamba_response):
    model, response = mamba_response
    assert (response.family, response.kind, response.layer) == ("mamba", "y", 0)
    assert response.n_cells == 32 and response.cells.tolist() == list(range(32))
    assert response.values.shape == (32, 8) and np.isfinite(response.values).all()
    inputs = _stimulus_inputs(response.design)
    trace = capture(model, list(inputs.astype(np.float32)), progress=False)  # float32 model
    for k, (start, stop) in enumerate(trace.sequence_bounds):
        _close(response.outputs[k], trace.states(layer=0, kind="y")[start:stop], 1e-4)


def test_a_deeper_mamba_layer_is_driven_by_its_own_input_as_the_layer_alone():
    hf_model = _lm().double()
    model = rw.wrap(hf_model)
    response = characterize(model, layer=2, sequences=_ids([300]), steps=120, main_frequency=0.1)
    # The stimuli span layer 1's h over the data: the residual stream layer 2 reads.
    below = model.run(_ids([300])[0], kinds=["h"]).states[(1, "h")].numpy()
    np.testing.assert_allclose(response.design.low, below.min(axis=0), rtol=1e-12)
    block = hf_model.backbone.layers[2]
    for k, stimulus in enumerate(_stimulus_inputs(response.design)):
        one_block = SimpleNamespace(layers=[block])
        expected = reference_states(one_block, None, residual=stimulus)[(0, "y")]
        _close(response.outputs[k], expected, 1e-10)


def test_a_mamba_channel_with_one_state_and_no_skip_settles_as_its_first_order_filter():
    """``y_k = y* (1 - rho^k)`` after the step, ``rho = exp(-delta a)``: settling ceil(tau ln 10).

    One state per channel, a convolution that passes the current input only, a constant
    step size (``dt_proj``'s weight zero) and no skip (``D = 0``); the projection has no bias,
    so the low input 0 keeps every channel at exactly 0 before the step.
    """
    torch.manual_seed(0)
    config = _config(state_size=1, num_hidden_layers=1, conv_kernel=3)
    projected = ProjectedMamba(MambaModel(config), n_inputs=2, bias=False).double().eval()
    mixer = projected.model.layers[0].mixer
    delta = np.geomspace(0.06, 1.5, 32)  # tau = 1 / delta from 0.67 to 16.7 steps
    with torch.no_grad():
        mixer.conv1d.weight.zero_()
        mixer.conv1d.weight[:, 0, -1] = 1.0
        mixer.conv1d.bias.zero_()
        mixer.dt_proj.weight.zero_()
        mixer.dt_proj.bias.copy_(torch.from_numpy(np.log(np.expm1(delta))))  # softplus^-1
        mixer.A_log.zero_()  # A = -1
        mixer.D.zero_()
        mixer.x_proj.weight.mul_(30.0)  # B and C well away from 0
    data = np.random.default_rng(0).integers(0, 2, size=(4, 100, 2)).astype(np.float64)
    response = characterize(rw.wrap(projected), sequences=data, main_frequency=0.05)
    assert np.array_equal(response.metric("initial"), np.zeros(32))
    final = response.metric("final")
    assert (np.abs(final) > 1e-4).all()
    change = response.design.change_step
    k = np.arange(1, 21)[:, None]
    expected = final * (1 - np.exp(-delta) ** k)
    np.testing.assert_allclose(response.outputs[0, change : change + 20], expected, rtol=1e-9)
    settling = np.ceil(np.log(10) / delta)
    np.testing.assert_array_equal(response.metric("settling_time"), settling)
    assert len(np.unique(settling)) > 10


def test_the_response_view_and_ablation_by_ranking_read_mamba_channels(mamba_response):
    model, response = mamba_response
    view = rw.ResponseView(response, metric="amplitude")
    view.selection.cells = [31]
    assert view.response_curves.cell == 31  # the channel, the response's own cell index
    sequences = _ids([40, 40])
    check = validate_ranking(
        model,
        response,
        sequences,
        lambda run: float(run.outputs.float().mean()),
        by=("amplitude",),
        ks=(1, 4),
        random_draws=2,
        progress=False,
    )
    top = response.ranking("amplitude")[:4]
    clamped = model.run(sequences, clamp={0: {int(c): 0.0 for c in top}}).outputs.float().mean()
    assert check.ablations["amplitude"].top["zero"][-1] == pytest.approx(float(clamped), rel=1e-6)


def test_the_views_show_every_kind_of_a_mamba_trace(mamba_trace):
    _, trace = mamba_trace
    for kind in KINDS:
        explorer = rw.Explorer(trace, layer=1, kind=kind, progress=False)
        assert explorer.selection.kind == kind
        assert explorer.select_view.selection is explorer.selection
        assert explorer.match_view.selection is explorer.selection


def test_the_explorer_keeps_a_mamba_model_whose_cells_are_wider_than_its_output(mamba_trace):
    model, trace = mamba_trace
    assert model.n_cells(layer=0) != trace.n_cells(layer=0, kind="h")  # channels vs d_model
    explorer = rw.Explorer(trace, model, layer=0, response=False, progress=False)
    assert explorer.model is model
    assert not any("set aside" in notice for notice in explorer.notices)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_model_on_a_gpu_captures_there_as_on_the_cpu():
    hf_model = _lm()
    sequences = _ids([300, 7])
    on_cpu = capture(hf_model, sequences, progress=False)
    on_gpu = capture(_lm().cuda(), sequences, progress=False)
    for layer in range(3):
        for kind in KINDS:
            expected = on_cpu.states(layer=layer, kind=kind)
            _close(on_gpu.states(layer=layer, kind=kind), expected, 1e-4)


def test_memory_timescales_read_a_mamba_layer_from_delta_and_its_state_matrix(mamba_trace):
    model, trace = mamba_trace
    a = model.ssm_matrix(layer=1)
    assert a.shape == (model.n_cells(layer=1), model.values_per_channel(layer=1)["ssm"])
    assert (a < 0).all()
    timescales = rw.analysis.memory_timescales(trace, model, layer=1, progress=False)
    delta = trace.states(layer=1, kind="delta").astype(np.float64)
    slowest = a.max(axis=1)  # the mode closest to no decay
    expected = -1.0 / (delta * slowest[None])
    np.testing.assert_allclose(timescales.tau, expected, rtol=1e-4)
    name, values = timescales.to_track(cell=3)
    assert name == "log10 tau, layer 1, cell 3"
    assert values.shape == (trace.n_steps,) and np.isfinite(values).all()


def test_ssm_matrix_is_refused_for_a_family_without_one():
    with pytest.raises(TypeError, match="ssm_matrix is a Mamba layer's state matrix"):
        rw.wrap(torch.nn.GRU(3, 4)).ssm_matrix()


def test_run_returns_the_kinds_asked_for_and_refuses_past_its_state_budget():
    model = rw.wrap(_lm())
    ids = _ids([30, 20])
    full = model.run(ids)
    light = model.run(ids, kinds=["h", "delta"])
    assert {kind for _, kind in light.states} == {"h", "delta"}
    torch.testing.assert_close(light.outputs, full.outputs)
    torch.testing.assert_close(light.states[(1, "delta")], full.states[(1, "delta")])
    with pytest.raises(ValueError, match=r"past state_budget=1,000 bytes; pass kinds=\['h'"):
        model.run(ids, state_budget=1000)
    assert {k for _, k in model.run(ids, kinds=["h"], state_budget=0).states} == {"h"}
    with pytest.raises(ValueError, match="is not a kind"):
        model.run(ids, kinds=["c"])


# ---------------------------------------------------------------------------------- float inputs

N_INPUTS = 3


def _projected(seed=0, dtype=torch.float32, **overrides):
    """A ProjectedMamba: 3 float features projected to hidden_size 16, then 3 Mamba layers."""
    torch.manual_seed(seed)
    model = ProjectedMamba(MambaModel(_config(**overrides)), N_INPUTS)
    return model.to(dtype).eval()


def _floats(lengths, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(n, N_INPUTS, generator=generator).numpy() for n in lengths]


def _projected_residual(projected, inputs):
    """Layer 0's input by hand, float64: ``W_p u + b_p`` at every step."""
    weight, bias = _np(projected.projection.weight), _np(projected.projection.bias)
    return np.asarray(inputs, np.float64) @ weight.T + bias


def test_a_projected_mamba_reads_float_vectors_of_n_inputs_at_layer_0_only():
    projected = _projected()
    model = rw.wrap(projected)
    assert model.family == "mamba" and model.kinds == KINDS and model.embedding is None
    assert model.input_size(layer=0) == N_INPUTS and model.input_size(layer=1) == 16
    assert model.state_size(layer=0) == 240 and model.n_cells(layer=0) == 32
    assert RecurrentModel(projected).input_size(layer=0) == N_INPUTS
    with pytest.raises(ValueError, match=r"16 features per step but the model.s input_size is 3"):
        model.run(np.zeros((5, 16), np.float32))  # vectors of the residual's width


@pytest.mark.parametrize("small_blocks", [False, True])
def test_float_inputs_every_kind_equals_a_float64_step_by_step_reference(small_blocks, monkeypatch):
    if small_blocks:
        monkeypatch.setattr(_mamba, "BLOCK_ROWS", 6)
        monkeypatch.setattr(_mamba, "SCAN_CHUNK_VALUES", 1)
    projected = _projected(use_bias=True)
    sequences = _floats([1, 400, 17, 2] if not small_blocks else [1, 90, 17, 2])
    trace = capture(projected, sequences, batch_size=3, progress=False)
    run = rw.wrap(projected).run(sequences)
    for index, inputs in enumerate(sequences):
        start, stop = trace.sequence_range(index)
        residual = _projected_residual(projected, inputs)
        for (layer, kind), expected in reference_states(
            projected.model, None, residual=residual
        ).items():
            _close(trace.states(layer=layer, kind=kind)[start:stop], expected, 1e-4)
        with torch.no_grad():
            own = projected(torch.from_numpy(inputs)[None]).last_hidden_state[0]
        _close(run.outputs[index, : len(inputs)], own, 1e-4)


def test_stepping_float_inputs_carries_conv_and_ssm_and_reproduces_the_forward():
    projected = _projected()
    model = rw.wrap(projected)
    inputs = _floats([60])[0]
    trace = capture(model, [inputs], progress=False)
    x = model.encode(inputs)
    torch.testing.assert_close(x, torch.from_numpy(inputs))  # read as they are, unprojected
    states = [model.initial_state(1, layer=layer) for layer in model.layers]
    with torch.no_grad():
        for t in range(len(inputs)):
            step_input = x[t : t + 1]
            for layer in model.layers:
                states[layer] = model.step(states[layer], step_input, layer=layer)
                layout = model.state_layout(layer=layer)
                for part in ("h", "conv", "ssm"):
                    expected = trace.states(layer=layer, kind=part)[t]
                    _close(states[layer][0, layout[part]], expected, 1e-5)
                step_input = states[layer][:, layout["h"]]
        own = projected(torch.from_numpy(inputs)[None]).last_hidden_state[0, -1]
        _close(model.readout(step_input)[0], own, 1e-4)


def test_clamping_a_channel_of_a_float_input_mamba_matches_the_reference():
    projected = _projected()
    sequences = _floats([25, 8])
    clamp = {0: {3: 0.5}, 2: {10: 0.0}}
    clamped = rw.wrap(projected).run(sequences, clamp=clamp)
    for index, inputs in enumerate(sequences):
        residual = _projected_residual(projected, inputs)
        reference = reference_states(projected.model, None, clamp=clamp, residual=residual)
        for key, expected in reference.items():
            _close(clamped.states[key][index, : len(inputs)], expected, 1e-4)


def test_the_input_jacobian_of_layer_0_is_the_residual_jacobian_times_the_projection():
    projected = _projected(dtype=torch.float64)
    model = rw.wrap(projected)
    on_residual = rw.wrap(projected.model)  # the same layers, read from the residual stream
    state = torch.randn(model.state_size(layer=0), dtype=torch.float64)
    u = torch.randn(N_INPUTS, dtype=torch.float64)
    r = projected.projection(u).detach()
    _close(model.step(state, u).detach(), on_residual.step(state, r).detach(), 1e-14)
    by_input = torch.func.jacrev(lambda x: model.step(state, x))(u)
    by_residual = torch.func.jacrev(lambda x: on_residual.step(state, x))(r)
    assert by_input.shape == (240, N_INPUTS)
    _close(by_input, by_residual @ projected.projection.weight.detach(), 1e-12)


def test_find_fixed_points_finds_the_closed_form_fixed_point_under_a_constant_float_input():
    small = {"hidden_size": 8, "state_size": 2, "conv_kernel": 3, "num_hidden_layers": 1}
    projected = _projected(dtype=torch.float64, time_step_min=0.5, time_step_max=1.0, **small)
    model = rw.wrap(projected)
    u = np.array([0.5, -1.0, 0.25])
    fixed, moduli = constant_input_fixed_point(projected.model, _projected_residual(projected, u))
    _close(model.step(torch.from_numpy(fixed), torch.from_numpy(u)).detach(), fixed, 1e-12)
    trace = capture(model, [*_floats([60]), np.tile(u, (500, 1))], progress=False)
    points = find_fixed_points(model, trace, u, n=8, progress=False)
    assert len(points) == 1 and bool(points.is_fixed[0])
    _close(points.states[0], fixed, 1e-8)
    _close(np.sort(np.abs(points.eigenvalues[0])), moduli, 1e-8)


def test_projected_mamba_refuses_another_model_and_a_bad_width():
    with pytest.raises(TypeError, match=r"wraps a transformers MambaModel or .*got GRU"):
        ProjectedMamba(torch.nn.GRU(3, 4), 3)
    with pytest.raises(ValueError, match=r"n_inputs must be >= 1, got 0"):
        ProjectedMamba(MambaModel(_config()), 0)


def test_without_transformers_a_projected_mamba_names_the_hf_extra(monkeypatch):
    projected = _projected()
    for name in [name for name in sys.modules if name.split(".")[0] == "transformers"]:
        monkeypatch.setitem(sys.modules, name, None)
    message = r"optional dependency transformers: pip install 'rnn_widgets\[hf\]'"
    with pytest.raises(ImportError, match=message):
        rw.wrap(projected)
    with pytest.raises(ImportError, match=message):
        mamba_forward(projected, torch.zeros(1, 2, N_INPUTS))
    assert not transformers_available()


# ---------------------------------------------------------------------------------- training pass


def _stepped_output(module, inputs):
    """The module's output by ``RecurrentModel.step`` one step at a time, with autograd on."""
    model = rw.wrap(module)
    x = inputs if model.embedding is None else model.embedding(inputs)
    states = [model.initial_state(len(inputs), layer=layer) for layer in model.layers]
    outputs = []
    for t in range(x.shape[1]):
        step_input = x[:, t]
        for layer in model.layers:
            states[layer] = model.step(states[layer], step_input, layer=layer)
            step_input = states[layer][:, model.state_layout(layer=layer)["h"]]
        outputs.append(model.readout(step_input))
    return torch.stack(outputs, dim=1)


def _module_and_inputs(kind, dtype):
    torch.manual_seed(0)
    if kind == "projected":
        module = _projected(dtype=dtype, use_bias=True)
        return module, torch.randn(3, 40, N_INPUTS, dtype=dtype)
    cls = MambaModel if kind == "model" else MambaForCausalLM
    return cls(_config(use_bias=True)).to(dtype).eval(), torch.tensor(_ids([40, 40, 40]))


@pytest.mark.parametrize("kind", ["model", "causal_lm", "projected"])
def test_mamba_forward_gives_the_module_output(kind):
    module, inputs = _module_and_inputs(kind, torch.float32)
    with torch.no_grad():
        if kind == "projected":
            own = module(inputs).last_hidden_state
        else:
            out = module(inputs, use_cache=False)
            own = out.last_hidden_state if kind == "model" else out.logits
        _close(mamba_forward(module, inputs), own, 1e-5)


@pytest.mark.parametrize("kind", ["model", "causal_lm", "projected"])
def test_mamba_forward_and_its_gradients_equal_the_float64_step_by_step_pass(kind):
    module, inputs = _module_and_inputs(kind, torch.float64)
    actual = mamba_forward(module, inputs)
    expected = _stepped_output(module, inputs)
    _close(actual.detach(), expected.detach(), 1e-12)
    weights = torch.randn_like(expected)
    parameters = list(module.parameters())
    mine = torch.autograd.grad((actual * weights).sum(), parameters, allow_unused=True)
    steps = torch.autograd.grad((expected * weights).sum(), parameters, allow_unused=True)
    for name, a, b in zip(dict(module.named_parameters()), mine, steps, strict=True):
        if b is None:  # a weight the output never reads (a ProjectedMamba's token embedding)
            assert a is None, name
        else:
            _close(a, b, 1e-10)
