"""capture: exact states from torch RNNs into a Trace, predictions, tokens, bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from rnn_widgets import Trace
from rnn_widgets.models import RecurrentModel, _cores, _workspace, capture

from ._rnn_reference import reference_states

LENGTHS = [1, 7, 4, 7, 2]  # variable lengths, two equal, one of a single step


def _module(family, input_size, hidden, layers, batch_first=False, bidirectional=False, seed=0):
    torch.manual_seed(seed)
    kwargs = {"num_layers": layers, "batch_first": batch_first, "bidirectional": bidirectional}
    if family == "lstm":
        return nn.LSTM(input_size, hidden, **kwargs)
    if family == "gru":
        return nn.GRU(input_size, hidden, **kwargs)
    return nn.RNN(input_size, hidden, nonlinearity=family, **kwargs)


def _sequences(lengths, input_size, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(n, input_size, generator=generator) for n in lengths]


def _module_output(module, x):
    """The module's own output and final (h, c) for one sequence (steps, input_size)."""
    with torch.no_grad():
        batched = x[None] if module.batch_first else x[:, None]
        output, final = module(batched)
    output = output[0] if module.batch_first else output[:, 0]
    h_n, c_n = final if isinstance(final, tuple) else (final, None)
    return output, h_n[:, 0], None if c_n is None else c_n[:, 0]


def _check_exact(module, sequences, trace):
    directions = 2 if module.bidirectional else 1
    size = module.hidden_size
    last = (module.num_layers - 1) * directions
    for index, x in enumerate(sequences):
        start, stop = trace.sequence_range(index)
        output, h_n, c_n = _module_output(module, x)
        for direction in range(directions):
            captured = trace.states(layer=last + direction, kind="h")[start:stop]
            own = output[:, direction * size : (direction + 1) * size].numpy()
            np.testing.assert_allclose(captured, own, atol=1e-5, err_msg="h vs module output")
        for layer in range(module.num_layers * directions):
            final_step = stop - 1 if layer % directions == 0 else start
            np.testing.assert_allclose(
                trace.states(layer=layer, kind="h")[final_step], h_n[layer].numpy(), atol=1e-5
            )
            if c_n is not None:
                np.testing.assert_allclose(
                    trace.states(layer=layer, kind="c")[final_step], c_n[layer].numpy(), atol=1e-5
                )
        for key, values in reference_states(module, x.numpy()).items():
            np.testing.assert_allclose(
                trace.states(layer=key[0], kind=key[1])[start:stop],
                values,
                atol=1e-5,
                err_msg=f"{key} sequence {index}",
            )


# ---------------------------------------------------------------------- exactness


@pytest.mark.parametrize(
    ("family", "layers", "batch_first", "bidirectional"),
    list(
        itertools.product(["lstm", "gru", "tanh", "relu"], [1, 2, 3], [False, True], [False, True])
    ),
)
def test_capture_is_exact_against_the_module_and_a_step_by_step_reference(
    family, layers, batch_first, bidirectional
):
    hidden = 2 + layers  # hidden sizes 3, 4, 5
    module = _module(family, 4, hidden, layers, batch_first, bidirectional, seed=layers)
    sequences = _sequences(LENGTHS, 4)
    trace = capture(module, sequences, batch_size=2, progress=False)
    assert trace.layers == tuple(range(layers * (2 if bidirectional else 1)))
    _check_exact(module, sequences, trace)


@pytest.mark.parametrize("family", ["lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_reconstruction_is_exact_across_chunks_of_steps(monkeypatch, family, bidirectional):
    monkeypatch.setattr(_cores, "_CHUNK_ROWS", 5)  # a few steps per chunk: many boundaries
    module = _module(family, 3, 4, 2, bidirectional=bidirectional)
    sequences = _sequences([9, 3, 6], 3)
    trace = capture(module, sequences, batch_size=3, progress=False)
    _check_exact(module, sequences, trace)


@pytest.mark.parametrize("lengths", [[6, 6, 6, 6, 6], [6, 6, 6, 2, 6]])
def test_sequences_of_one_length_are_copied_whole_and_exactly(monkeypatch, lengths):
    # Equal lengths end to end take one copy per piece of steps (the fast path); a shorter
    # sequence among them (sorted last in its batch) takes the per-sequence one.
    monkeypatch.setattr(_cores, "_CHUNK_ROWS", 4)  # pieces of steps inside the sequences,
    monkeypatch.setattr(_workspace, "_CALL_ROWS", 4)  # on either path
    monkeypatch.setattr(_workspace, "_PIECE_ROWS", 10)
    module = _module("lstm", 3, 4, 2)
    sequences = _sequences(lengths, 3)
    trace = capture(module, sequences, batch_size=4, progress=False)
    _check_exact(module, sequences, trace)


def test_a_float64_model_is_captured_as_float32():
    module = _module("lstm", 3, 4, 1).double()
    sequences = [x.double() for x in _sequences([5, 3], 3)]
    trace = capture(module, sequences, progress=False)
    assert trace.states(layer=0, kind="c").dtype == np.float32
    _check_exact(module, sequences, trace)


@settings(max_examples=20, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 9), min_size=1, max_size=6),
    batch_size=st.integers(1, 4),
    bidirectional=st.booleans(),
)
def test_capture_does_not_depend_on_batch_size(lengths, batch_size, bidirectional):
    module = _module("lstm", 3, 3, 2, bidirectional=bidirectional)
    sequences = _sequences(lengths, 3, seed=len(lengths))
    one_by_one = capture(module, sequences, batch_size=1, progress=False)
    batched = capture(module, sequences, batch_size=batch_size, progress=False)
    for layer in batched.layers:
        for kind in batched.kinds(layer=layer):
            np.testing.assert_allclose(
                batched.states(layer=layer, kind=kind),
                one_by_one.states(layer=layer, kind=kind),
                atol=1e-6,
            )


@settings(max_examples=15, deadline=None)
@given(permutation=st.permutations(range(4)))
def test_each_sequence_keeps_its_rows_whatever_the_order(permutation):
    module = _module("gru", 3, 3, 1, bidirectional=True)
    sequences = _sequences([3, 5, 1, 4], 3)
    reference = capture(module, sequences, progress=False)
    shuffled = capture(module, [sequences[i] for i in permutation], progress=False)
    for position, original in enumerate(permutation):
        start, stop = reference.sequence_range(original)
        new_start, new_stop = shuffled.sequence_range(position)
        np.testing.assert_allclose(
            shuffled.states(layer=1, kind="r")[new_start:new_stop],
            reference.states(layer=1, kind="r")[start:stop],
            atol=1e-6,
        )


# ---------------------------------------------------------------------- what is recorded


def test_a_bare_module_and_a_recurrent_model_give_the_same_trace():
    module = _module("gru", 3, 4, 1)
    sequences = _sequences([4, 2], 3)
    bare = capture(module, sequences, progress=False)
    wrapped = capture(RecurrentModel(module), sequences, progress=False)
    assert np.array_equal(bare.states(layer=0, kind="n"), wrapped.states(layer=0, kind="n"))


def test_layers_and_kinds_choose_what_is_recorded():
    module = _module("lstm", 3, 4, 3)
    sequences = _sequences([4, 2], 3)
    trace = capture(module, sequences, layers=[2, 0], kinds=["c", "h"], progress=False)
    assert trace.layers == (0, 2)
    assert trace.kinds(layer=2) == ("h", "c")
    full = capture(module, sequences, progress=False)
    assert np.array_equal(trace.states(layer=2, kind="c"), full.states(layer=2, kind="c"))


def test_the_cell_state_alone_is_still_exact():
    module = _module("lstm", 3, 4, 2)
    sequences = _sequences([5, 3], 3)
    trace = capture(module, sequences, kinds="c", layers=1, progress=False)
    assert trace.kinds(layer=1) == ("c",)
    expected = reference_states(module, sequences[0].numpy())[(1, "c")]
    np.testing.assert_allclose(trace.states(layer=1, kind="c")[:5], expected, atol=1e-5)


def test_states_are_read_only_float32_rows_per_step():
    trace = capture(_module("gru", 3, 4, 1), _sequences([4, 2], 3), progress=False)
    states = trace.states(layer=0, kind="z")
    assert states.dtype == np.float32 and states.shape == (6, 4)
    assert states.flags.c_contiguous and not states.flags.writeable


def test_capture_hands_its_arrays_to_the_trace_without_a_copy(monkeypatch):
    handed = {}
    adopt = Trace.from_owned_arrays.__func__

    def spy(cls, tokens, lengths, states):
        handed.update(states)
        return adopt(cls, tokens, lengths, states)

    monkeypatch.setattr(Trace, "from_owned_arrays", classmethod(spy))
    trace = capture(_module("lstm", 3, 4, 1), _sequences([3], 3), progress=False)
    assert trace.states(layer=0, kind="f") is handed[(0, "f")]


def test_a_user_cell_is_captured_with_its_own_kinds():
    class Leaky:
        state_size, input_size, kinds = 1, 1, ("h", "drive")

        def step(self, state, x):
            new = 0.5 * state + x
            return new, {"h": new, "drive": x}

    trace = capture(RecurrentModel(Leaky()), [torch.tensor([[1.0], [0.0], [0.0]])], progress=False)
    assert trace.kinds() == ("h", "drive")
    assert trace.states()[:, 0].tolist() == [1.0, 0.5, 0.25]
    assert trace.states(layer=0, kind="drive")[:, 0].tolist() == [1.0, 0.0, 0.0]


# ---------------------------------------------------------------------- tokens


def _language_model(vocab=("a", "b", "c", "d")) -> RecurrentModel:
    torch.manual_seed(5)
    return RecurrentModel(
        nn.LSTM(3, 6, num_layers=2),
        embedding=nn.Embedding(len(vocab), 3),
        readout=nn.Linear(6, len(vocab)),
        vocab=list(vocab),
    )


def test_the_trace_shows_the_token_strings():
    trace = capture(_language_model(), [["a", "b"], ["d"]], progress=False)
    assert list(trace.tokens) == ["a", "b", "d"]
    assert trace.sequence_bounds.tolist() == [[0, 2], [2, 3]]


def test_ids_are_shown_as_their_vocab_tokens():
    trace = capture(_language_model(), [[0, 3]], progress=False)
    assert list(trace.tokens) == ["a", "d"]


def test_ids_without_a_vocab_are_shown_as_numbers():
    model = RecurrentModel(nn.GRU(3, 2), embedding=nn.Embedding(5, 3))
    assert list(capture(model, [[4, 1]], progress=False).tokens) == ["4", "1"]


def test_float_inputs_with_few_features_are_shown_as_their_values():
    trace = capture(nn.GRU(3, 2), [np.array([[1, 0, -1], [0.5, 0, 0]], np.float32)], progress=False)
    assert list(trace.tokens) == ["1 0 -1", "0.5 0 0"]


def test_float_inputs_with_many_features_are_shown_as_positions():
    trace = capture(nn.GRU(5, 2), [torch.zeros(3, 5), torch.zeros(2, 5)], progress=False)
    assert list(trace.tokens) == ["0", "1", "2", "0", "1"]


def test_tokens_can_be_given_for_each_step():
    trace = capture(nn.GRU(5, 2), [torch.zeros(2, 5)], tokens=[["x", 7]], progress=False)
    assert list(trace.tokens) == ["x", "7"]


def test_tokens_of_the_wrong_length_are_refused():
    with pytest.raises(ValueError, match=r"tokens\[0\] must list one token per step \(2\)"):
        capture(nn.GRU(5, 2), [torch.zeros(2, 5)], tokens=[["x"]], progress=False)


def test_a_batch_array_of_float_inputs_is_read_as_sequences():
    trace = capture(nn.LSTM(5, 2), np.zeros((3, 4, 5), np.float32), progress=False)
    assert trace.n_sequences == 3 and trace.n_steps == 12


# ---------------------------------------------------------------------- predictions


def test_top_k_predictions_are_the_softmax_of_the_readout():
    model = _language_model()
    sequence = ["a", "c", "b"]
    trace = capture(model, [sequence], top_k=2, progress=False)
    with torch.no_grad():
        hidden, _ = model.core(model.encode(sequence))
        probabilities = torch.softmax(model.readout_module(hidden), dim=-1)
    best, ids = probabilities.topk(2, dim=-1)
    vocab = ["a", "b", "c", "d"]
    assert trace.predictions.k == 2
    assert trace.predictions.top(0, 3) == [[vocab[i] for i in row] for row in ids.tolist()]
    np.testing.assert_allclose(trace.predictions.probabilities, best.numpy(), atol=1e-6)


def test_the_default_top_k_is_capped_at_the_number_of_outputs():
    trace = capture(_language_model(), [["a"]], progress=False)
    assert trace.predictions.k == 4


def test_a_top_k_past_the_number_of_outputs_is_refused_naming_them():
    with pytest.raises(ValueError, match=r"top_k=10 is more than the readout's 4 outputs"):
        capture(_language_model(), [["a"]], top_k=10, progress=False)


def test_top_k_zero_records_no_predictions():
    assert capture(_language_model(), [["a"]], top_k=0, progress=False).predictions is None


def test_a_readout_that_does_not_match_the_vocab_records_no_predictions():
    model = RecurrentModel(
        nn.GRU(3, 4), embedding=nn.Embedding(5, 3), readout=nn.Linear(4, 2), vocab=list("abcde")
    )
    assert capture(model, [["a", "b"]], progress=False).predictions is None


def test_labels_name_the_readout_outputs():
    model = RecurrentModel(nn.GRU(3, 4), readout=nn.Linear(4, 2))
    trace = capture(model, [torch.randn(3, 3)], labels=["neg", "pos"], top_k=1, progress=False)
    assert {label for row in trace.predictions.top(0, 3) for label in row} <= {"neg", "pos"}


def test_labels_of_the_wrong_length_are_refused():
    model = RecurrentModel(nn.GRU(3, 4), readout=nn.Linear(4, 2))
    with pytest.raises(ValueError, match="labels has 3 names but the readout has 2 outputs"):
        capture(model, [torch.randn(3, 3)], labels=["a", "b", "c"], progress=False)


# ---------------------------------------------------------------------- the model is not changed


def test_capture_leaves_the_model_in_training_mode_with_its_weights():
    model = _language_model()
    model.core.train()
    before = {name: value.clone() for name, value in model.core.state_dict().items()}
    capture(model, [["a", "b", "c"]], progress=False)
    assert model.core.training and model.embedding.training and model.readout_module.training
    after = model.core.state_dict()
    assert all(torch.equal(before[name], after[name]) for name in before)
    assert all(p.grad is None for p in model.core.parameters())


def test_capture_reads_with_dropout_off():
    torch.manual_seed(0)
    embedding = nn.Sequential(nn.Embedding(4, 3), nn.Dropout(0.9)).train()
    model = RecurrentModel(nn.LSTM(3, 2), embedding=embedding, vocab=list("abcd"))
    trace = capture(model, [list("abcd")], progress=False)
    with torch.no_grad():
        expected, _ = model.core(embedding.eval()(torch.arange(4)))
    np.testing.assert_allclose(trace.states(), expected.numpy(), atol=1e-6)


def test_a_keyboard_interrupt_propagates_and_the_modes_are_restored():
    class InterruptOnSecondBatch(nn.Embedding):
        calls = 0

        def forward(self, ids):
            self.calls += 1
            if self.calls == 2:
                raise KeyboardInterrupt
            return super().forward(ids)

    embedding = InterruptOnSecondBatch(4, 3).train()
    model = RecurrentModel(nn.LSTM(3, 2).train(), embedding=embedding, vocab=list("abcd"))
    with pytest.raises(KeyboardInterrupt):
        capture(model, [["a"], ["b", "c"], ["d"]], batch_size=1, progress=False)
    assert model.core.training and embedding.training


def test_progress_is_shown_in_steps_and_can_be_turned_off(capsys):
    capture(nn.GRU(2, 2), [torch.zeros(3, 2), torch.zeros(2, 2)], progress=True)
    shown = capsys.readouterr().err
    assert "capture" in shown and "5/5" in shown
    capture(nn.GRU(2, 2), [torch.zeros(3, 2)], progress=False)
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------------- bad input


def test_a_module_that_is_not_recurrent_is_refused():
    with pytest.raises(TypeError, match="model must be a RecurrentModel or an nn.LSTM, nn.GRU or"):
        capture(nn.Linear(3, 3), [torch.zeros(2, 3)])


def test_a_vocabulary_miss_names_the_sequence_token_and_position():
    with pytest.raises(ValueError, match=r"sequences\[1\]\[2\]: token 'z' is not in the vocab"):
        capture(_language_model(), [["a"], ["b", "c", "z"]], progress=False)


def test_float_inputs_of_the_wrong_width_name_the_sequence_and_input_size():
    with pytest.raises(ValueError, match=r"sequences\[1\] has 4 features .* input_size is 3"):
        capture(nn.LSTM(3, 2), [torch.zeros(2, 3), torch.zeros(2, 4)], progress=False)


def test_an_unknown_layer_is_refused_naming_layers():
    with pytest.raises(
        ValueError, match=r"layers: layer 2 is not a layer of the model; choose one of \[0, 1\]"
    ):
        capture(nn.LSTM(3, 2, num_layers=2), [torch.zeros(2, 3)], layers=[2], progress=False)


def test_an_unknown_kind_is_refused_with_the_choices():
    with pytest.raises(ValueError, match=r"kinds: 'c' is not a kind of this GRU; choose from"):
        capture(nn.GRU(3, 2), [torch.zeros(2, 3)], kinds=["h", "c"], progress=False)


def test_an_empty_list_of_sequences_is_refused():
    with pytest.raises(ValueError, match="sequences is empty"):
        capture(nn.GRU(3, 2), [], progress=False)


def test_one_string_is_refused_with_a_hint():
    with pytest.raises(TypeError, match=r"list\(text\)"):
        capture(_language_model(), "abc", progress=False)


def test_a_batch_size_of_zero_is_refused():
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        capture(nn.GRU(3, 2), [torch.zeros(2, 3)], batch_size=0, progress=False)


def test_a_diverging_relu_network_is_refused_rather_than_traced():
    module = nn.RNN(1, 1, nonlinearity="relu")
    with torch.no_grad():
        module.weight_hh_l0.fill_(1e30)
        module.weight_ih_l0.fill_(1e30)
    with pytest.raises(ValueError, match="NaN or infinite states"):
        capture(module, [torch.ones(4, 1)], progress=False)


def test_row_linear_matches_a_float64_product_on_both_paths() -> None:
    from rnn_widgets.models._linear import RowLinear

    generator = torch.Generator().manual_seed(3)
    weight = torch.randn(48, 20, generator=generator)
    bias = torch.randn(48, generator=generator)
    rows = torch.randn(33, 20, generator=generator)
    expected = (rows.double() @ weight.double().T + bias.double()).float()
    fast = RowLinear(weight, bias, rows_hint=33)
    plain = RowLinear(weight.double(), bias.double(), rows_hint=33)  # float64: no oneDNN path
    assert plain._packed is None
    torch.testing.assert_close(fast(rows), expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(fast(rows[:, :]), expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(plain(rows.double()).float(), expected, atol=1e-5, rtol=1e-5)
    strided = torch.randn(33, 40, generator=generator)[:, ::2]  # non-contiguous rows
    torch.testing.assert_close(
        fast(strided),
        (strided.double() @ weight.double().T + bias.double()).float(),
        atol=1e-5,
        rtol=1e-5,
    )


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_row_linear_applies_its_activation_on_both_paths(activation: str) -> None:
    from rnn_widgets.models._linear import RowLinear

    generator = torch.Generator().manual_seed(4)
    weight = torch.randn(24, 16, generator=generator) * 0.3
    bias = torch.randn(24, generator=generator)
    rows = torch.randn(40, 16, generator=generator)
    expected = getattr(torch, activation)(rows.double() @ weight.double().T + bias.double())
    fast = RowLinear(weight, bias, rows_hint=40, activation=activation)
    plain = RowLinear(weight.double(), bias.double(), rows_hint=40, activation=activation)
    torch.testing.assert_close(fast(rows).double(), expected, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(plain(rows.double()), expected, atol=1e-12, rtol=1e-12)
    with pytest.raises(ValueError, match="activation"):
        RowLinear(weight, bias, rows_hint=40, activation="relu")


def test_capture_allocates_writable_float32_arrays_of_any_size() -> None:
    from rnn_widgets.models._capture import _small_page_array

    array = _small_page_array((5, 3))
    array[:] = 2.5
    assert array.dtype == np.float32 and array.shape == (5, 3) and array.sum() == 37.5
    assert _small_page_array((0, 3)).shape == (0, 3)
