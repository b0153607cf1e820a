"""The RecurrentModel contract: layers, encode, step, gate weights, run with clamps, readout."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from rnn_widgets.models import RecurrentCell, RecurrentModel, StateLayout, wrap

from ._rnn_reference import reference_states


def _module(family: str, input_size=3, hidden=4, layers=1, **kwargs) -> nn.Module:
    torch.manual_seed(sum(map(ord, family)) + hidden + layers)
    if family == "lstm":
        return nn.LSTM(input_size, hidden, num_layers=layers, **kwargs)
    if family == "gru":
        return nn.GRU(input_size, hidden, num_layers=layers, **kwargs)
    return nn.RNN(input_size, hidden, num_layers=layers, nonlinearity=family, **kwargs)


def _one_unit_rnn(recurrent=0.5, nonlinearity="tanh") -> nn.RNN:
    rnn = nn.RNN(1, 1, nonlinearity=nonlinearity)
    with torch.no_grad():
        rnn.weight_ih_l0.fill_(1.0)
        rnn.weight_hh_l0.fill_(recurrent)
        rnn.bias_ih_l0.zero_()
        rnn.bias_hh_l0.zero_()
    return rnn


class Leaky:
    """A hand-written cell: h' = decay * h + x, one cell per input."""

    kinds = ("h",)

    def __init__(self, decay: float = 0.5, size: int = 1) -> None:
        self.decay = decay
        self.state_size = size
        self.input_size = size

    def step(self, state, x):
        new = self.decay * state + x
        return new, {"h": new}


class TinyLSTMCell(nn.Module):
    """A user cell with a (h, c) state and a state_layout: c' = c + x, h' = tanh(c')."""

    kinds = ("h", "c")
    state_size = 4
    input_size = 2
    state_layout = {"h": slice(0, 2), "c": slice(2, 4)}  # noqa: RUF012

    def step(self, state, x):
        c = state[..., 2:] + x
        h = torch.tanh(c)
        return torch.cat([h, c], dim=-1), {"h": h, "c": c}


# ---------------------------------------------------------------------- wrapping


@pytest.mark.parametrize("family", ["lstm", "gru", "tanh", "relu"])
def test_wrap_accepts_the_three_torch_modules(family):
    model = wrap(_module(family))
    assert isinstance(model, RecurrentModel)
    assert model.family == {"tanh": "rnn_tanh", "relu": "rnn_relu"}.get(family, family)


def test_wrap_returns_a_recurrent_model_unchanged():
    model = RecurrentModel(_module("lstm"))
    assert wrap(model) is model


def test_wrap_refuses_a_module_that_is_not_recurrent_and_names_the_fix():
    with pytest.raises(TypeError, match="RecurrentModel"):
        wrap(nn.Linear(3, 4))


def test_a_core_that_is_not_recurrent_is_refused_naming_core():
    with pytest.raises(TypeError, match="core must be an nn.LSTM"):
        RecurrentModel(nn.Sequential(nn.Linear(3, 4)))


def test_an_lstm_with_projections_is_refused():
    with pytest.raises(ValueError, match="proj_size"):
        RecurrentModel(nn.LSTM(3, 4, proj_size=2))


def test_an_embedding_that_is_not_callable_is_refused():
    with pytest.raises(TypeError, match="embedding must be an nn.Module"):
        RecurrentModel(_module("lstm"), embedding=3)


def test_an_unknown_embedding_name_is_refused():
    with pytest.raises(ValueError, match="'one_hot', got 'onehot'"):
        RecurrentModel(_module("lstm"), embedding="onehot")


def test_kinds_per_family_follow_the_contract():
    assert wrap(_module("lstm")).kinds == ("h", "c", "i", "f", "g", "o")
    assert wrap(_module("gru")).kinds == ("h", "r", "z", "n")
    assert wrap(_module("tanh")).kinds == ("h",)


def test_each_direction_of_a_bidirectional_module_is_its_own_layer():
    model = wrap(_module("lstm", input_size=3, hidden=4, layers=2, bidirectional=True))
    assert model.n_layers == 4
    assert [model.input_size(layer=layer) for layer in model.layers] == [3, 3, 8, 8]
    assert model.n_features == 8


def test_an_unknown_layer_is_refused_with_the_valid_range():
    model = wrap(_module("gru", layers=2))
    with pytest.raises(
        ValueError, match=r"layer 2 is not a layer of the model; choose one of \[0, 1\]"
    ):
        model.n_cells(layer=2)
    with pytest.raises(TypeError, match="layer must be an int"):
        model.state_layout(layer="0")


# ---------------------------------------------------------------------- state layout


def test_lstm_flat_state_is_h_then_c():
    layout = wrap(_module("lstm", hidden=4)).state_layout()
    assert isinstance(layout, StateLayout)
    assert dict(layout) == {"h": slice(0, 4), "c": slice(4, 8)}
    assert layout.size == 8
    assert layout.n_cells == 4


def test_gru_and_rnn_flat_state_is_h_alone():
    assert dict(wrap(_module("gru", hidden=5)).state_layout()) == {"h": slice(0, 5)}
    assert dict(wrap(_module("relu", hidden=5)).state_layout()) == {"h": slice(0, 5)}


def test_state_layout_splits_a_state_into_views():
    state = torch.arange(8.0)
    parts = wrap(_module("lstm", hidden=4)).state_layout().split(state)
    assert parts["c"].tolist() == [4.0, 5.0, 6.0, 7.0]


def test_initial_state_is_zeros_of_the_flat_state_size():
    state = wrap(_module("lstm", hidden=4)).initial_state(3)
    assert state.shape == (3, 8)
    assert state.dtype == torch.float32
    assert not state.any()


# ---------------------------------------------------------------------- step


def test_step_of_a_one_unit_rnn_has_the_known_value():
    model = wrap(_one_unit_rnn(recurrent=0.5))
    new = model.step(torch.tensor([[0.4]]), torch.tensor([[0.3]]))
    assert new.item() == pytest.approx(math.tanh(0.5 * 0.4 + 0.3), abs=1e-7)


@pytest.mark.parametrize("family", ["lstm", "gru", "tanh", "relu"])
def test_step_matches_the_module_from_a_nonzero_state(family):
    module = _module(family, input_size=3, hidden=4)
    model = wrap(module)
    torch.manual_seed(1)
    x = torch.randn(5, 3)
    state = torch.randn(5, model.state_size()) * 0.5
    h0 = state[:, :4].unsqueeze(0).contiguous()
    with torch.no_grad():
        if family == "lstm":
            _, (h1, c1) = module(x.unsqueeze(0), (h0, state[:, 4:].unsqueeze(0).contiguous()))
            expected = torch.cat([h1[0], c1[0]], dim=1)
        else:
            _, h1 = module(x.unsqueeze(0), h0)
            expected = h1[0]
        assert torch.allclose(model.step(state, x), expected, atol=1e-6)


def test_step_of_a_reverse_direction_uses_the_reverse_weights():
    module = _module("gru", hidden=3, layers=2, bidirectional=True)
    model = wrap(module)
    x, state = torch.randn(1, 6), torch.randn(1, 3)
    w_ih, w_hh = module.weight_ih_l1_reverse, module.weight_hh_l1_reverse
    b_ih, b_hh = module.bias_ih_l1_reverse, module.bias_hh_l1_reverse
    gi, gh = x @ w_ih.T + b_ih, state @ w_hh.T + b_hh
    r = torch.sigmoid(gi[:, :3] + gh[:, :3])
    z = torch.sigmoid(gi[:, 3:6] + gh[:, 3:6])
    n = torch.tanh(gi[:, 6:] + r * gh[:, 6:])
    expected = (1 - z) * n + z * state
    assert torch.allclose(model.step(state, x, layer=3), expected, atol=1e-6)


def test_step_jacobian_by_vmap_jacrev_is_the_known_rnn_jacobian():
    module = _module("tanh", input_size=2, hidden=3)
    model = wrap(module)
    states, x = torch.randn(4, 3), torch.randn(4, 2)
    jacobians = torch.func.vmap(torch.func.jacrev(lambda s, u: model.step(s, u)))(states, x)
    new = model.step(states, x).detach()
    for b in range(4):
        expected = torch.diag(1 - new[b] ** 2) @ module.weight_hh_l0.detach()
        assert torch.allclose(jacobians[b], expected, atol=1e-6)


def test_step_of_an_lstm_is_differentiable_under_vmap():
    model = wrap(_module("lstm", input_size=2, hidden=3))
    states, x = torch.randn(4, 6), torch.randn(4, 2)
    jacobians = torch.func.vmap(torch.func.jacrev(lambda s, u: model.step(s, u)))(states, x)
    assert jacobians.shape == (4, 6, 6)
    # dc'/dc = diag(f): the forget gate, between 0 and 1.
    diagonal = torch.diagonal(jacobians[:, 3:, 3:], dim1=1, dim2=2)
    assert ((diagonal > 0) & (diagonal < 1)).all()


def test_step_refuses_a_state_of_the_wrong_width():
    model = wrap(_module("lstm", hidden=4))
    with pytest.raises(ValueError, match="state_size=8"):
        model.step(torch.zeros(1, 4), torch.zeros(1, 3))


def test_step_refuses_an_input_of_the_wrong_width():
    model = wrap(_module("lstm", hidden=4, layers=2))
    with pytest.raises(ValueError, match=r"input_size\(1\)=4"):
        model.step(torch.zeros(1, 8), torch.zeros(1, 3), layer=1)


def test_iterating_step_reproduces_the_module_output():
    module = _module("lstm", input_size=3, hidden=4)
    model = wrap(module)
    x = torch.randn(6, 3)
    state = model.initial_state(1)
    rows = []
    for t in range(6):
        state = model.step(state, x[t : t + 1])
        rows.append(state[0, :4])
    with torch.no_grad():
        expected, _ = module(x)
    assert torch.allclose(torch.stack(rows), expected, atol=1e-6)


# ---------------------------------------------------------------------- gate weights


def test_lstm_gate_weights_are_the_module_rows_in_i_f_g_o_order():
    module = _module("lstm", input_size=3, hidden=4)
    gates = wrap(module).gate_weights()
    assert list(gates) == ["i", "f", "g", "o"]
    forget = gates["f"]
    assert forget.activation == "sigmoid" and gates["g"].activation == "tanh"
    assert forget.input_weights.shape == (4, 3)
    assert forget.recurrent_weights.shape == (4, 4)
    np.testing.assert_array_equal(forget.input_weights, module.weight_ih_l0[4:8].detach())
    np.testing.assert_array_equal(forget.recurrent_bias, module.bias_hh_l0[4:8].detach())


def test_gate_weights_are_read_only_copies():
    module = _module("gru", hidden=3)
    gates = wrap(module).gate_weights()
    assert not gates["n"].input_weights.flags.writeable
    with torch.no_grad():
        module.weight_ih_l0.add_(1.0)
    assert not np.allclose(gates["n"].input_weights, module.weight_ih_l0[6:9].detach())


def test_gate_weights_rebuild_an_lstm_step():
    model = wrap(_module("lstm", input_size=3, hidden=4))
    state, x = torch.randn(6, 8), torch.randn(6, 3)
    h, c = state[:, :4].numpy(), state[:, 4:].numpy()
    gates = model.gate_weights()

    def pre(name):
        w = gates[name]
        return (
            x.numpy() @ w.input_weights.T
            + w.input_bias
            + h @ w.recurrent_weights.T
            + w.recurrent_bias
        )

    def sigmoid(v):
        return 1 / (1 + np.exp(-v))

    c_new = sigmoid(pre("f")) * c + sigmoid(pre("i")) * np.tanh(pre("g"))
    h_new = sigmoid(pre("o")) * np.tanh(c_new)
    result = model.step(state, x).detach().numpy()
    np.testing.assert_allclose(result, np.concatenate([h_new, c_new], axis=1), atol=1e-6)


def test_gate_weights_without_bias_are_zeros():
    gates = wrap(nn.GRU(2, 3, bias=False)).gate_weights()
    assert not gates["r"].input_bias.any()


def test_an_rnn_has_one_gate_named_h_with_its_nonlinearity():
    gates = wrap(_module("relu", hidden=3)).gate_weights()
    assert list(gates) == ["h"]
    assert gates["h"].activation == "relu"


def test_gate_weights_of_a_user_cell_are_refused():
    with pytest.raises(TypeError, match="user cell"):
        RecurrentModel(Leaky()).gate_weights()


# ---------------------------------------------------------------------- encode


def _token_model(**kwargs) -> RecurrentModel:
    torch.manual_seed(0)
    embedding = nn.Embedding(3, 4)
    vocab = kwargs.pop("vocab", ["a", "b", "c"])
    return RecurrentModel(nn.LSTM(4, 5), embedding=embedding, vocab=vocab, **kwargs)


def test_encode_reads_tokens_through_vocab_and_embedding():
    model = _token_model()
    vectors = model.encode(["c", "a"])
    expected = model.embedding.weight[[2, 0]].detach()
    assert torch.equal(vectors, expected)
    assert not vectors.requires_grad


def test_encode_accepts_a_vocab_mapping():
    model = _token_model(vocab={"x": 1, "y": 2})
    assert torch.equal(model.encode(["y"]), model.embedding.weight[[2]].detach())


def test_encode_reads_ids_through_the_embedding():
    model = _token_model()
    assert torch.equal(model.encode([1, 1]), model.embedding.weight[[1, 1]].detach())
    assert torch.equal(model.encode(np.array([2])), model.embedding.weight[[2]].detach())


def test_encode_one_hot_gives_unit_vectors():
    model = RecurrentModel(nn.GRU(3, 2), embedding="one_hot", vocab=["a", "b", "c"])
    assert model.encode(["b", "c"]).tolist() == [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]


def test_encode_accepts_a_numpy_array_of_token_strings():
    model = _token_model()
    assert torch.equal(model.encode(np.array(["b", "a"])), model.embedding.weight[[1, 0]].detach())


def test_encode_passes_float_vectors_through_as_the_model_dtype():
    model = wrap(nn.RNN(2, 3).double())
    vectors = model.encode(np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32))
    assert vectors.dtype == torch.float64
    assert vectors.tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_a_vocabulary_miss_names_the_token_and_its_position():
    with pytest.raises(ValueError, match=r"sequence\[2\]: token 'zz' is not in the vocabulary"):
        _token_model().encode(["a", "b", "zz"])


def test_an_id_outside_the_embedding_is_refused():
    with pytest.raises(ValueError, match=r"token id 7 is outside the embedding's ids 0 \.\. 2"):
        _token_model().encode([0, 7])


def test_float_inputs_with_the_wrong_number_of_features_are_refused():
    with pytest.raises(ValueError, match="3 features per step but the model's input_size is 2"):
        wrap(nn.LSTM(2, 3)).encode(np.zeros((4, 3), dtype=np.float32))


def test_one_dimensional_float_inputs_suggest_a_reshape():
    with pytest.raises(ValueError, match=r"reshape it to \(-1, 1\)"):
        wrap(nn.LSTM(1, 3)).encode(np.zeros(4, dtype=np.float32))


def test_non_finite_inputs_are_refused_naming_the_step():
    x = np.zeros((4, 2), dtype=np.float32)
    x[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"sequence\[2\] has NaN"):
        wrap(nn.LSTM(2, 3)).encode(x)


def test_tokens_without_a_vocab_are_refused_naming_vocab():
    model = RecurrentModel(nn.LSTM(4, 5), embedding=nn.Embedding(3, 4))
    with pytest.raises(TypeError, match="no vocab"):
        model.encode(["a"])


def test_ids_without_an_embedding_are_refused_naming_embedding():
    with pytest.raises(TypeError, match="no embedding"):
        wrap(nn.LSTM(4, 5)).encode([0, 1])


def test_one_string_instead_of_a_token_list_is_refused():
    with pytest.raises(TypeError, match=r"list\(text\)"):
        _token_model().encode("abc")


def test_an_empty_sequence_is_refused():
    with pytest.raises(ValueError, match="no steps"):
        _token_model().encode([])


def test_an_embedding_of_the_wrong_width_is_refused_when_wrapped():
    with pytest.raises(ValueError, match="the core reads 4 features"):
        RecurrentModel(nn.LSTM(4, 5), embedding=nn.Embedding(3, 6), vocab=["a", "b", "c"])


def test_a_vocab_given_as_one_string_is_refused_with_a_hint():
    with pytest.raises(TypeError, match=r"list\(chars\)"):
        _token_model(vocab="abc")


def test_a_vocab_with_a_duplicate_token_is_refused():
    with pytest.raises(ValueError, match="'a' twice"):
        _token_model(vocab=["a", "b", "a"])


# ---------------------------------------------------------------------- run and readout


def _classifier() -> RecurrentModel:
    torch.manual_seed(3)
    return RecurrentModel(
        nn.GRU(4, 5, num_layers=2, batch_first=True),
        embedding=nn.Embedding(3, 4),
        readout=nn.Linear(5, 2),
        vocab=["a", "b", "c"],
    )


def test_run_outputs_are_the_readout_of_the_module_output():
    model = _classifier()
    result = model.run(["a", "b", "c", "a"])
    with torch.no_grad():
        hidden, _ = model.core(model.encode(["a", "b", "c", "a"])[None])
        expected = model.readout_module(hidden[0])
    assert result.outputs.shape == (4, 2)
    assert torch.allclose(result.outputs, expected, atol=1e-6)


def test_run_of_a_batch_pads_each_sequence_with_zeros_after_its_end():
    model = _classifier()
    result = model.run([["a", "b", "c"], ["c"]])
    assert result.outputs.shape == (2, 3, 2)
    assert result.lengths.tolist() == [3, 1]
    assert not result.outputs[1, 1:].any()
    assert not result.states[(1, "z")][1, 1:].any()
    alone = model.run(["c"])
    assert torch.allclose(result.outputs[1, :1], alone.outputs, atol=1e-6)


def test_run_returns_every_layer_and_kind():
    result = wrap(_module("lstm", layers=2)).run(torch.randn(5, 3))
    assert list(result.states) == [(layer, k) for layer in (0, 1) for k in "hcifgo"]
    assert result.states[(1, "g")].shape == (5, 4)


def test_run_without_readout_outputs_the_last_layer_h_of_both_directions():
    module = _module("gru", input_size=3, hidden=4, layers=2, bidirectional=True)
    x = torch.randn(6, 3)
    result = wrap(module).run(x)
    with torch.no_grad():
        expected, _ = module(x)
    assert torch.allclose(result.outputs, expected, atol=1e-6)


def test_readout_maps_h_to_outputs_differentiably():
    model = _classifier()
    h = torch.randn(2, 7, 5, requires_grad=True)
    outputs = model.readout(h)
    assert outputs.shape == (2, 7, 2)
    outputs.sum().backward()
    assert h.grad is not None


def test_readout_without_a_readout_module_is_refused():
    with pytest.raises(ValueError, match="no readout"):
        wrap(_module("lstm")).readout(torch.zeros(1, 4))


def test_readout_refuses_h_of_the_wrong_width():
    with pytest.raises(ValueError, match="n_features=5"):
        _classifier().readout(torch.zeros(1, 4))


# ---------------------------------------------------------------------- clamp


def test_clamping_a_cell_to_zero_gives_the_hand_computed_readout():
    rnn = nn.RNN(1, 2)
    readout = nn.Linear(2, 1)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.tensor([[1.0], [1.0]]))
        rnn.weight_hh_l0.copy_(torch.tensor([[0.5, 0.3], [0.2, 0.5]]))
        rnn.bias_ih_l0.zero_()
        rnn.bias_hh_l0.zero_()
        readout.weight.copy_(torch.tensor([[2.0, 3.0]]))
        readout.bias.fill_(1.0)
    model = RecurrentModel(rnn, readout=readout)
    inputs = [0.5, -1.0, 2.0]
    result = model.run(torch.tensor(inputs).reshape(3, 1), clamp={0: {0: 0.0}})
    h1, expected = 0.0, []
    for x in inputs:  # cell 0 is held at 0, so cell 1 only sees itself
        h1 = math.tanh(0.5 * h1 + 0.2 * 0.0 + x)
        expected.append(2.0 * 0.0 + 3.0 * h1 + 1.0)
    assert result.outputs[:, 0].tolist() == pytest.approx(expected, abs=1e-6)


def test_a_clamped_lstm_cell_holds_its_value_in_h_and_c():
    model = wrap(_module("lstm", layers=2))
    result = model.run(torch.randn(5, 3), clamp={0: {1: 0.25}})
    assert (result.states[(0, "h")][:, 1] == 0.25).all()
    assert (result.states[(0, "c")][:, 1] == 0.25).all()


def test_a_clamp_changes_later_layers_but_not_earlier_ones():
    model = wrap(_module("gru", layers=2))
    x = torch.randn(6, 3)
    free, clamped = model.run(x), model.run(x, clamp={1: {0: 0.9}})
    assert torch.equal(free.states[(0, "h")], clamped.states[(0, "h")])
    assert not torch.allclose(free.outputs, clamped.outputs)
    free_again, clamped_first = model.run(x), model.run(x, clamp={0: {0: 0.9}})
    assert not torch.allclose(free_again.states[(1, "h")], clamped_first.states[(1, "h")])


@pytest.mark.parametrize("family", ["lstm", "gru"])
def test_clamped_runs_match_the_reference_in_both_directions(family):
    module = _module(family, input_size=3, hidden=4, layers=2, bidirectional=True)
    clamp = {1: {2: -0.5}, 2: {0: 0.3}}
    sequences = [torch.randn(n, 3) for n in (5, 2, 4)]
    result = wrap(module).run(sequences, clamp=clamp)
    for b, x in enumerate(sequences):
        expected = reference_states(module, x.numpy(), clamp)
        for key, values in expected.items():
            np.testing.assert_allclose(
                result.states[key][b, : len(x)].numpy(), values, atol=1e-5, err_msg=str(key)
            )


def test_an_empty_clamp_changes_nothing():
    model = wrap(_module("lstm"))
    x = torch.randn(4, 3)
    assert torch.equal(model.run(x).outputs, model.run(x, clamp={0: {}}).outputs)


def test_clamp_refuses_an_unknown_layer():
    with pytest.raises(ValueError, match="clamp layer 3 is not a layer of the model"):
        wrap(_module("lstm")).run(torch.randn(2, 3), clamp={3: {0: 0.0}})


def test_clamp_refuses_an_unknown_cell():
    with pytest.raises(ValueError, match=r"cell 4 does not exist; layer 0 has cells 0 \.\. 3"):
        wrap(_module("lstm")).run(torch.randn(2, 3), clamp={0: {4: 0.0}})


def test_clamp_refuses_a_non_finite_value():
    with pytest.raises(ValueError, match=r"clamp\[0\]\[1\] must be finite"):
        wrap(_module("lstm")).run(torch.randn(2, 3), clamp={0: {1: float("nan")}})


def test_clamp_refuses_a_flat_mapping():
    with pytest.raises(TypeError, match=r"clamp\[0\] must map cells to values"):
        wrap(_module("lstm")).run(torch.randn(2, 3), clamp={0: 0.0})


# ---------------------------------------------------------------------- the model is not changed


def _snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    return {name: value.clone() for name, value in module.state_dict().items()}


def test_run_leaves_training_flags_and_weights_as_they_were():
    model = _classifier()
    model.core.train()
    model.readout_module.eval()
    before = _snapshot(model.core)
    model.run(["a", "b"])
    model.encode(["a"])
    model.readout(torch.zeros(1, 5))
    assert model.core.training and not model.readout_module.training
    assert model.embedding.training
    after = model.core.state_dict()
    assert all(torch.equal(before[name], after[name]) for name in before)
    assert all(p.grad is None for p in model.core.parameters())


def test_run_is_in_eval_mode_so_dropout_is_off():
    torch.manual_seed(0)
    module = nn.LSTM(3, 4, num_layers=2, dropout=0.9).train()
    x = torch.randn(6, 3)
    result = wrap(module).run(x)
    with torch.no_grad():
        expected, _ = module.eval()(x)
    assert torch.allclose(result.outputs, expected, atol=1e-6)


def test_run_puts_the_embedding_and_readout_in_eval_mode():
    torch.manual_seed(0)
    embedding = nn.Sequential(nn.Embedding(3, 4), nn.Dropout(0.9)).train()
    readout = nn.Sequential(nn.Dropout(0.9), nn.Linear(5, 2)).train()
    model = RecurrentModel(nn.GRU(4, 5), embedding=embedding, readout=readout, vocab=list("abc"))
    result = model.run(list("abcab"))
    with torch.no_grad():
        hidden, _ = model.core(embedding.eval()(torch.tensor([0, 1, 2, 0, 1])))
        expected = readout.eval()(hidden)
    assert torch.allclose(result.outputs, expected, atol=1e-6)


def test_training_flags_are_restored_when_a_pass_raises():
    class Broken(nn.Embedding):
        broken = False  # breaks after wrapping (wrapping probes it once)

        def forward(self, ids):
            if self.broken:
                raise RuntimeError("broken embedding")
            return super().forward(ids)

    embedding = Broken(1, 2).train()
    model = RecurrentModel(nn.LSTM(2, 3).train(), embedding=embedding, vocab=["a"])
    assert model.core.training and embedding.training  # the wrap-time probe restored them
    embedding.broken = True
    with pytest.raises(RuntimeError, match="broken embedding"):
        model.run(["a"])
    assert model.core.training and embedding.training


# ---------------------------------------------------------------------- user cells


def test_a_hand_written_cell_follows_the_protocol():
    assert isinstance(Leaky(), RecurrentCell)
    assert not isinstance(nn.Linear(1, 1), RecurrentCell)


def test_a_leaky_cell_decays_geometrically():
    model = RecurrentModel(Leaky(decay=0.5))
    inputs = torch.tensor([[1.0], [0.0], [0.0], [0.0]])
    h = model.run(inputs).states[(0, "h")][:, 0]
    assert h.tolist() == [1.0, 0.5, 0.25, 0.125]


def test_a_cell_state_layout_is_reported_and_clamped_in_every_part():
    model = RecurrentModel(TinyLSTMCell())
    assert dict(model.state_layout()) == {"h": slice(0, 2), "c": slice(2, 4)}
    result = model.run(torch.ones(3, 2), clamp={0: {0: 0.0}})
    assert result.states[(0, "c")][:, 0].tolist() == [0.0, 0.0, 0.0]
    assert result.states[(0, "c")][:, 1].tolist() == [1.0, 2.0, 3.0]
    assert result.states[(0, "h")][:, 1].tolist() == pytest.approx(np.tanh([1, 2, 3]).tolist())


def test_a_cell_step_is_the_model_step():
    model = RecurrentModel(TinyLSTMCell())
    new = model.step(torch.tensor([[0.0, 0.0, 1.0, 2.0]]), torch.tensor([[1.0, 1.0]]))
    assert new[0, 2:].tolist() == [2.0, 3.0]


def test_a_cell_without_the_protocol_attributes_is_refused():
    class NoKinds:
        state_size, input_size = 1, 1

        def step(self, state, x):
            return state, {"h": state}

    with pytest.raises(TypeError, match="core must be"):
        RecurrentModel(NoKinds())


def test_a_cell_whose_kinds_lack_h_is_refused():
    cell = Leaky()
    cell.kinds = ("c",)
    with pytest.raises(TypeError, match="includes 'h'"):
        RecurrentModel(cell)


def test_a_cell_that_omits_a_kind_it_lists_is_refused_at_the_first_step():
    cell = Leaky()
    cell.kinds = ("h", "gate")
    with pytest.raises(ValueError, match=r"no values for kinds \['gate'\]"):
        RecurrentModel(cell).run(torch.ones(2, 1))


def test_a_cell_layout_with_parts_of_different_widths_is_refused():
    cell = TinyLSTMCell()
    cell.state_layout = {"h": slice(0, 2), "c": slice(2, 3)}
    with pytest.raises(ValueError, match="same width"):
        RecurrentModel(cell)


# ---------------------------------------------------------------------- properties


@settings(max_examples=25, deadline=None)
@given(
    family=st.sampled_from(["lstm", "gru", "tanh", "relu"]),
    hidden=st.integers(1, 5),
    steps=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_stepping_layer_zero_reproduces_runs_h(family, hidden, steps, seed):
    torch.manual_seed(seed)
    model = wrap(_module(family, input_size=2, hidden=hidden))
    x = torch.randn(steps, 2)
    state = model.initial_state(1)
    layout = model.state_layout()
    rows = []
    with torch.no_grad():
        for t in range(steps):
            state = model.step(state, x[t : t + 1])
            rows.append(state[0, layout["h"]])
    assert torch.allclose(torch.stack(rows), model.run(x).states[(0, "h")], atol=1e-5)
