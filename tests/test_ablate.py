"""Ablation (DNI's Rm-Neuron_k and Oracle_k) and the per-step clamp of RecurrentModel.run."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from rnn_widgets import tasks, zoo
from rnn_widgets.analysis import Ablation, ablate
from rnn_widgets.models import RecurrentModel, RunResult, wrap
from rnn_widgets.tasks import (
    CHARACTER_TYPES,
    character_type_accuracy,
    character_types,
    classification_accuracy,
    digit_accuracy,
    next_type_accuracy,
)
from rnn_widgets.zoo import _recipes

# ---------------------------------------------------------------------- per-step clamp


def _two_cell_rnn() -> tuple[nn.RNN, nn.Linear]:
    rnn = nn.RNN(1, 2)
    readout = nn.Linear(2, 1)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.tensor([[1.0], [1.0]]))
        rnn.weight_hh_l0.copy_(torch.tensor([[0.5, 0.3], [0.2, 0.5]]))
        rnn.bias_ih_l0.zero_()
        rnn.bias_hh_l0.zero_()
        readout.weight.copy_(torch.tensor([[2.0, 3.0]]))
        readout.bias.fill_(1.0)
    return rnn, readout


def test_a_per_step_clamp_gives_the_hand_computed_states():
    rnn, readout = _two_cell_rnn()
    model = RecurrentModel(rnn, readout=readout)
    inputs, forced = [0.5, -1.0, 2.0, 0.1], [0.3, -0.7, 0.9, 0.0]
    result = model.run(torch.tensor(inputs).reshape(4, 1), clamp={0: {0: np.array(forced)}})
    # The initial state takes the first step's value; cell 1 reads cell 0's previous value.
    h0, h1, expected = forced[0], 0.0, []
    for x, value in zip(inputs, forced, strict=True):
        h1 = math.tanh(0.2 * h0 + 0.5 * h1 + x)
        h0 = value
        expected.append(2.0 * h0 + 3.0 * h1 + 1.0)
    assert result.states[(0, "h")][:, 0].tolist() == pytest.approx(forced, abs=1e-7)
    assert result.outputs[:, 0].tolist() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("family", ["lstm", "gru"])
def test_a_constant_per_step_clamp_equals_the_float_clamp(family):
    torch.manual_seed(1)
    core = (nn.LSTM if family == "lstm" else nn.GRU)(3, 4, num_layers=2, bidirectional=True)
    model = wrap(core)
    sequences = [torch.randn(n, 3) for n in (5, 2, 4)]
    constant = np.full((3, 5), -0.4)
    by_float = model.run(sequences, clamp={1: {2: -0.4}, 2: {0: 0.3}})
    by_array = model.run(sequences, clamp={1: {2: constant}, 2: {0: 0.3}})
    for key, values in by_float.states.items():
        assert torch.allclose(values, by_array.states[key], atol=1e-7), key


def test_a_batch_per_step_clamp_equals_each_sequence_run_alone():
    torch.manual_seed(2)
    model = wrap(nn.LSTM(3, 4, num_layers=2, bidirectional=True))
    sequences = [torch.randn(n, 3) for n in (5, 2, 4)]
    rng = np.random.default_rng(0)
    values = rng.uniform(-1, 1, size=(3, 5))
    batched = model.run(sequences, clamp={0: {1: values}, 3: {2: values}})
    for b, x in enumerate(sequences):
        own = values[b, : len(x)]
        alone = model.run(x, clamp={0: {1: own}, 3: {2: own}})
        for key, states in alone.states.items():
            np.testing.assert_allclose(
                batched.states[key][b, : len(x)].numpy(), states.numpy(), atol=1e-6
            )
        assert (batched.states[(0, "c")][b, : len(x), 1].numpy() == own.astype(np.float32)).all()


def test_a_per_step_clamp_ignores_values_past_a_sequence_end():
    model = wrap(nn.GRU(3, 4))
    sequences = [torch.randn(n, 3) for n in (4, 2)]
    values = np.zeros((2, 4))
    padded = values.copy()
    padded[1, 2:] = np.nan
    free = model.run(sequences, clamp={0: {0: values}})
    assert torch.equal(free.outputs, model.run(sequences, clamp={0: {0: padded}}).outputs)


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (np.zeros(3), ValueError, r"clamp\[0\]\[1\] must be a number or per-step values of shape"),
        (np.zeros((1, 4)), ValueError, r"\(steps,\) for one sequence, here \(4,\)"),
        (np.array([0.0, np.nan, 0.0, 0.0]), ValueError, r"must be finite, got nan at step 1"),
        (np.array(["a", "b", "c", "d"]), TypeError, "must be a number or an array of numbers"),
        ("0.5", TypeError, "must be a real number"),
    ],
)
def test_a_bad_per_step_clamp_is_refused_with_its_shape(value, error, message):
    with pytest.raises(error, match=message):
        wrap(nn.LSTM(3, 4)).run(torch.randn(4, 3), clamp={0: {1: value}})


def test_a_batch_needs_batch_by_steps_clamp_values():
    with pytest.raises(ValueError, match=r"\(batch, steps\) for a batch, here \(2, 4\)"):
        wrap(nn.LSTM(3, 4)).run([torch.randn(4, 3), torch.randn(3, 3)], clamp={0: {1: np.zeros(4)}})


def test_a_per_step_clamp_accepts_a_tensor_and_leaves_it_unchanged():
    values = torch.linspace(-1, 1, 4)
    before = values.clone()
    result = wrap(nn.LSTM(3, 4)).run(torch.randn(4, 3), clamp={0: {2: values}})
    assert torch.allclose(result.states[(0, "h")][:, 2], values)
    assert torch.equal(values, before)


# ---------------------------------------------------------------------- ablate


def _lstm_with_a_dead_cell(dead: int = 2) -> RecurrentModel:
    """An LSTM whose cell ``dead`` has no weights: its c and h are 0 at every step."""
    torch.manual_seed(3)
    lstm = nn.LSTM(3, 5)
    readout = nn.Linear(5, 3)
    with torch.no_grad():
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            getattr(lstm, name)[dead::5] = 0.0
    return RecurrentModel(lstm, readout=readout)


def _mean_output(result: RunResult) -> float:
    return float(result.outputs.mean())


def test_zero_clamping_a_cell_that_is_always_zero_changes_nothing():
    model = _lstm_with_a_dead_cell(dead=2)
    x = [torch.randn(6, 3), torch.randn(4, 3)]
    result = ablate(model, x, _mean_output, [2, 0, 1], ks=[1], random_draws=2, progress=False)
    assert result.top["zero"][0] == result.baseline
    assert result.baseline == _mean_output(model.run(x))


def test_a_bare_lstm_is_ablated_as_its_wrapped_model_is():
    torch.manual_seed(4)
    lstm = nn.LSTM(3, 5)
    x = [torch.randn(6, 3), torch.randn(4, 3)]
    kwargs = {"ks": [1, 3], "random_draws": 2, "seed": 1, "progress": False}
    bare = ablate(lstm, x, _mean_output, [4, 0, 2], **kwargs)
    wrapped = ablate(wrap(lstm), x, _mean_output, [4, 0, 2], **kwargs)
    assert bare.baseline == wrapped.baseline
    np.testing.assert_array_equal(bare.top["zero"], wrapped.top["zero"])
    np.testing.assert_array_equal(bare.random["zero"], wrapped.random["zero"])


def test_clamping_cells_of_a_trained_model_changes_its_metric():
    task = zoo.data("parentheses_lstm").subset(range(6))
    depth = [d / 4.0 for d in task.labels["depth"]]
    result = ablate(
        zoo.load("parentheses_lstm"),
        task.sequences,
        digit_accuracy(task),
        list(range(64)),
        ks=[64],
        modes=("zero", "oracle"),
        oracle=depth,
        random_draws=1,
        progress=False,
    )
    assert result.baseline > 0.95
    assert result.top["zero"][0] < result.baseline - 0.3  # every cell off: no memory left
    assert result.top["oracle"][0] != result.top["zero"][0]


def test_the_oracle_clamps_the_ranked_cells_to_the_label_scaled_to_minus_one_one():
    model = _lstm_with_a_dead_cell()
    x = [torch.randn(3, 3), torch.randn(2, 3)]
    labels = [np.array([0.0, 0.5, 1.0]), np.array([1.0, 0.25])]

    def mean_of_cell_4(result: RunResult) -> float:
        h = result.states[(0, "h")][:, :, 4]
        return float(torch.cat([h[0, :3], h[1, :2]]).mean())

    scaled_mean = float(np.mean(2 * np.concatenate(labels) - 1))
    kwargs = {"ks": [1], "modes": ["oracle"], "random_draws": 1, "progress": False}
    plain = ablate(model, x, mean_of_cell_4, [4], oracle=labels, **kwargs)
    flipped = ablate(model, x, mean_of_cell_4, [4], oracle=labels, signs=[-1], **kwargs)
    flat = ablate(model, x, mean_of_cell_4, [4], oracle=np.concatenate(labels), **kwargs)
    assert plain.top["oracle"][0] == pytest.approx(scaled_mean, abs=1e-6)
    assert flipped.top["oracle"][0] == pytest.approx(-scaled_mean, abs=1e-6)
    assert flat.top["oracle"][0] == plain.top["oracle"][0]


def test_ablation_is_deterministic_for_a_seed_and_its_shapes_follow_the_arguments():
    model = _lstm_with_a_dead_cell()
    x = torch.randn(7, 3)
    run = {"ks": [1, 2, 4], "random_draws": 3, "progress": False}
    first = ablate(model, x, _mean_output, [4, 3, 2, 1], seed=5, **run)
    again = ablate(model, x, _mean_output, [4, 3, 2, 1], seed=5, **run)
    other = ablate(model, x, _mean_output, [4, 3, 2, 1], seed=6, **run)
    assert isinstance(first, Ablation)
    assert first.ks.tolist() == [1, 2, 4] and first.random["zero"].shape == (3, 3)
    assert np.array_equal(first.random["zero"], again.random["zero"])
    assert np.array_equal(first.random_cells, again.random_cells)
    assert not np.array_equal(first.random_cells, other.random_cells)
    assert first.metric_name == "_mean_output"
    assert [row["k"] for row in first.to_rows()] == [1, 2, 4]
    for row in first.random_cells:  # each draw is distinct cells of the layer
        assert len(set(row.tolist())) == 4 and set(row.tolist()) <= set(range(5))


def test_random_cells_are_clamped_as_drawn():
    model = _lstm_with_a_dead_cell()
    x = torch.randn(5, 3)
    result = ablate(model, x, _mean_output, [0], ks=[1], random_draws=2, progress=False)
    for draw, row in enumerate(result.random_cells):
        expected = _mean_output(model.run(x, clamp={0: {int(row[0]): 0.0}}))
        assert result.random["zero"][draw, 0] == expected


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"ranked_cells": [0, 9]},
            ValueError,
            r"cell 9 does not exist; the layer has cells 0 \.\. 4",
        ),
        ({"ranked_cells": [0, 0]}, ValueError, "repeats a cell"),
        ({"ranked_cells": [0], "ks": [2]}, ValueError, "ranked_cells has 1 cells but max"),
        ({"ks": [6]}, ValueError, r"exceed the layer's 5 cells"),
        ({"ks": []}, ValueError, "ks is empty"),
        ({"modes": ["oracle"]}, ValueError, "mode 'oracle' needs oracle="),
        ({"modes": ["off"]}, ValueError, "modes must be a non-empty subset"),
        ({"modes": ["oracle"], "oracle": np.full(4, 2.0)}, ValueError, r"in \[0, 1\]"),
        ({"modes": ["oracle"], "oracle": np.zeros(3)}, ValueError, "oracle has 3 values"),
        ({"signs": [1, 0, 1]}, ValueError, "signs must hold one"),
        ({"metric": "accuracy"}, TypeError, "metric must map a RunResult"),
        ({"model": nn.Linear(3, 5)}, TypeError, "model must be a RecurrentModel or an nn.LSTM"),
    ],
)
def test_ablate_refuses_bad_arguments(kwargs, error, message):
    arguments = {
        "model": _lstm_with_a_dead_cell(),
        "sequences": torch.randn(4, 3),
        "metric": _mean_output,
        "ranked_cells": [0, 1, 2],
        "ks": [1],
        "progress": False,
    }
    arguments.update(kwargs)
    with pytest.raises(error, match=message):
        ablate(**arguments)


# ---------------------------------------------------------------------- metrics


def test_digit_accuracy_equals_the_zoo_figure():
    task = zoo.data("parentheses_lstm").subset(range(10))
    expected = _recipes.digit_accuracy(zoo.network("parentheses_lstm"), task)["digit_accuracy"]
    metric = digit_accuracy(task)
    assert metric(zoo.load("parentheses_lstm").run(task.sequences)) == pytest.approx(expected)


def _fake_result(task, predict, logit: float = 1.0) -> RunResult:
    """Outputs whose most likely token at each step is ``predict(target)``."""
    lengths = task.lengths
    outputs = torch.zeros(len(task), int(lengths.max()), len(task.vocab))
    for b, target in enumerate(task.targets):
        for t, token in enumerate(target.tolist()):
            outputs[b, t, predict(token)] = logit
    return RunResult(outputs, {}, lengths)


def test_next_type_accuracy_counts_the_type_of_a_confident_prediction():
    task = tasks.arithmetic(5, 30, seed=1)
    vocab = task.vocab
    metric = next_type_accuracy(task)
    assert metric(_fake_result(task, lambda t: max(t, 0), logit=30.0)) == 1.0
    # Any other digit for a digit is still the right type; "+" for a digit is not.
    other_digit = lambda t: (t + 1) % 10 if 0 <= t <= 9 else max(t, 0)  # noqa: E731
    assert metric(_fake_result(task, other_digit, logit=30.0)) == 1.0
    plus = vocab.index("+")
    targets = np.concatenate(task.targets)
    valid = targets[targets >= 0]
    digits = np.isin(valid, range(10)).mean()
    wrong_digit = lambda t: plus if 0 <= t <= 9 else max(t, 0)  # noqa: E731
    assert metric(_fake_result(task, wrong_digit, logit=30.0)) == pytest.approx(1.0 - digits)


def test_next_type_accuracy_sums_each_types_probability():
    # A logit of 1 on the right token, 0 elsewhere: that token is the likeliest single one,
    # but the ten digits together hold 10 / (e + 15) against at most (e + 3) / (e + 15) for
    # the operators: the type read is "digit" at every step, right only where a digit comes.
    task = tasks.arithmetic(5, 30, seed=1)
    targets = np.concatenate(task.targets)
    digit_share = np.isin(targets[targets >= 0], range(10)).mean()
    assert 0.2 < digit_share < 0.8
    right_token = _fake_result(task, lambda t: max(t, 0), logit=1.0)
    assert next_type_accuracy(task)(right_token) == pytest.approx(digit_share)


def test_character_types_names_the_four_types():
    types = character_types(("(", ")", "7", "-", "/", "x", " "))
    assert [CHARACTER_TYPES[t] for t in types] == [
        "parenthesis",
        "parenthesis",
        "digit",
        "operator",
        "operator",
        "other",
        "other",
    ]
    with pytest.raises(TypeError, match="vocab must be a tuple of str"):
        character_types(["(", ")"])


def test_character_type_accuracy_refuses_types_of_another_vocabulary():
    with pytest.raises(ValueError, match="one type per token"):
        character_type_accuracy(
            np.zeros((3, 4)), np.zeros(3, dtype=np.int64), np.zeros(5, dtype=np.int64)
        )


def test_next_type_accuracy_equals_the_shipped_arithmetic_type_accuracy():
    # The ablation baseline is the zoo's figure: one definition (the per-type sum), 0.79 here,
    # where the likeliest single character's type would give about 0.39.
    task = zoo.data("arithmetic_lstm")
    result = zoo.load("arithmetic_lstm").run(list(task.sequences))
    expected = zoo.info("arithmetic_lstm").metrics["type_accuracy"]
    assert next_type_accuracy(task)(result) == pytest.approx(expected, abs=1e-6)
    assert _recipes.next_type_accuracy(result, task) == next_type_accuracy(task)(result)


def test_classification_accuracy_reads_the_last_step():
    digits = tasks.digits("test").subset(range(6))
    classes = [int(t) for t in digits.targets]
    outputs = torch.zeros(6, 64, 10)
    for b, label in enumerate(classes):
        outputs[b, -1, label if b < 4 else (label + 1) % 10] = 1.0
        outputs[b, :-1, (label + 1) % 10] = 5.0  # earlier steps are never read
    result = RunResult(outputs, {}, digits.lengths)
    assert classification_accuracy(digits)(result) == pytest.approx(4 / 6)


def test_metrics_refuse_a_task_of_the_wrong_kind_or_a_run_of_other_sequences():
    with pytest.raises(ValueError, match="needs a sequence_class or step_class task"):
        classification_accuracy(tasks.parentheses(2, 10, seed=0))
    with pytest.raises(ValueError, match="needs a next-character task"):
        digit_accuracy(tasks.digits("test"))
    task = tasks.parentheses(2, 10, seed=0)
    other = tasks.parentheses(3, 10, seed=0)
    with pytest.raises(ValueError, match="run task.sequences in order"):
        digit_accuracy(task)(_fake_result(other, lambda t: max(t, 0)))
    with pytest.raises(TypeError, match="reads the RunResult"):
        next_type_accuracy(task)(_fake_result(task, lambda t: max(t, 0)).outputs)
    narrow = RunResult(torch.zeros(2, 10, 3), {}, task.lengths)
    with pytest.raises(ValueError, match="3 outputs per step, the task's vocabulary 7"):
        digit_accuracy(task)(narrow)
