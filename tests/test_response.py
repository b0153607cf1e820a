"""Response characterization: isolation, stimuli, metrics, known answers, bad input.

The method of Hasani et al. (2019) [1]_.

References
----------
.. [1] Hasani, R., Amini, A., Lechner, M., Naser, F., Grosu, R., & Rus, D. (2019). Response
   characterization for auditing cell dynamics in long short-term memory networks. International
   Joint Conference on Neural Networks (IJCNN 2019). doi:10.1109/IJCNN.2019.8851954.
   arXiv:1809.03864.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from rnn_widgets import capture, tasks, zoo
from rnn_widgets.analysis import (
    Response,
    capacity_sweep,
    characterize,
    design_stimuli,
    validate_ranking,
)
from rnn_widgets.analysis._response import isolate, measure, simulate
from rnn_widgets.models import RecurrentModel, wrap

STEPS = 400


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def filter_lstm(a: float, input_weight: float = 0.02) -> RecurrentModel:
    """One LSTM cell whose c is the first-order filter c' = a c + (1 - a) tanh(w x).

    i and f are constant (1 - a and a), no recurrence, o ~ 1, so y = o tanh(c) follows c
    (c stays below 0.05 in magnitude, where tanh is linear to 1e-3).
    """
    double = {"dtype": torch.float64}
    lstm = nn.LSTM(1, 1, **double)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.tensor([[0.0], [0.0], [input_weight], [0.0]], **double))
        lstm.weight_hh_l0.zero_()
        lstm.bias_ih_l0.copy_(torch.tensor([logit(1 - a), logit(a), 0.0, 30.0], **double))
        lstm.bias_hh_l0.zero_()
    return wrap(lstm)


def square_wave(period: int = 16, steps: int = 256) -> np.ndarray:
    """Inputs in [0, 1] whose main frequency is 1 / period, shape (1, steps, 1)."""
    wave = (np.arange(steps) % period < period // 2).astype(np.float32)
    return wave[None, :, None]


# ---------------------------------------------------------------------------------- known answers


@settings(max_examples=25, deadline=None)
@given(a=st.floats(0.3, 0.97))
def test_settling_time_of_a_first_order_filter_is_within_one_step_of_tau_ln10(a: float) -> None:
    response = characterize(filter_lstm(a), sequences=square_wave(), steps=STEPS)
    tau = -1 / math.log(a)
    assert abs(response.metric("settling_time")[0] - tau * math.log(10)) <= 1


def test_step_response_initial_final_and_delta_of_the_filter() -> None:
    a, w = 0.8, 0.02
    response = characterize(filter_lstm(a, w), sequences=square_wave(), steps=STEPS)
    output = 1 / (1 + math.exp(-30.0)) * math.tanh(math.tanh(w))
    assert response.metric("initial")[0] == 0.0  # x = 0 before the step: c never moves
    assert response.metric("final")[0] == pytest.approx(output, rel=1e-9)
    assert response.metric("delta")[0] == pytest.approx(output, rel=1e-9)


@settings(max_examples=20, deadline=None)
@given(period=st.floats(2.2, 100.0))
def test_response_frequency_equals_the_sine_frequency_within_the_resolution(period: float) -> None:
    frequency = 1 / period
    response = characterize(
        filter_lstm(0.5), sequences=square_wave(), steps=STEPS, frequencies=[0.3, frequency]
    )
    window = STEPS - response.design.transient
    name = (
        "frequency" if frequency == response.design.main_frequency else f"frequency@{frequency:g}"
    )
    assert abs(response.metric(name)[0] - frequency) <= 1 / window
    assert abs(response.metric("frequency@0.3")[0] - 0.3) <= 1 / window


def test_main_frequency_of_the_data_is_recovered_within_welch_resolution() -> None:
    for period in (8, 16, 40):
        design = design_stimuli(filter_lstm(0.5), square_wave(period, 2048))
        assert abs(design.main_frequency - 1 / period) <= 1 / 512
    assert design_stimuli(zoo.load("digits_lstm"), tasks.digits("train")).main_frequency == 1 / 8


def test_negative_input_weight_gives_negative_correlation_and_delta() -> None:
    negative = characterize(filter_lstm(0.7, -0.5), sequences=square_wave(), steps=STEPS)
    positive = characterize(filter_lstm(0.7, 0.5), sequences=square_wave(), steps=STEPS)
    assert negative.metric("correlation")[0] < 0 and negative.metric("pearson")[0] < -0.5
    assert negative.metric("delta")[0] < 0
    assert positive.metric("correlation")[0] > 0 and positive.metric("pearson")[0] > 0.5


def test_zero_input_weight_gives_zero_delta_and_a_flat_sine_response() -> None:
    lstm = nn.LSTM(2, 3)
    with torch.no_grad():
        lstm.weight_ih_l0.zero_()
    data = np.random.default_rng(0).normal(size=(3, 64, 2))
    response = characterize(wrap(lstm), sequences=data, steps=STEPS)
    assert np.all(np.abs(response.metric("delta")) < 1e-12)
    assert np.all(response.metric("settling_time") == 0)
    assert np.all(response.metric("amplitude") < 1e-15)
    assert np.all(np.isnan(response.metric("frequency")))
    assert np.all(np.isnan(response.metric("pearson")))


def test_correlation_is_the_unnormalised_sum_and_pearson_its_normalised_form() -> None:
    response = characterize(filter_lstm(0.6, 0.4), sequences=square_wave(), steps=STEPS)
    x, y = response.curve(1, 0)
    start = response.design.transient
    cx, cy = x[start:] - x[start:].mean(), y[start:] - y[start:].mean()
    assert response.metric("correlation")[0] == pytest.approx(np.sum(cx * cy), rel=1e-12)
    assert response.metric("pearson")[0] == pytest.approx(np.corrcoef(cx, cy)[0, 1], rel=1e-9)
    assert response.metric("amplitude")[0] == pytest.approx((cy.max() - cy.min()) / 2)


# ---------------------------------------------------------------------------------- isolation


def diagonal_module(family: str, n_inputs: int = 2, n_cells: int = 4) -> nn.RNNBase:
    """A module whose recurrent weights are diagonal: its cells are already independent."""
    torch.manual_seed(3)
    module = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[family](n_inputs, n_cells)
    with torch.no_grad():
        gates = module.weight_hh_l0.shape[0] // n_cells
        mask = torch.eye(n_cells).repeat(gates, 1)
        module.weight_hh_l0.mul_(mask)
    return module.double()


@pytest.mark.parametrize("family", ["lstm", "gru", "rnn"])
def test_isolated_cells_of_a_diagonal_network_respond_as_the_network(family: str) -> None:
    model = wrap(diagonal_module(family))
    data = np.random.default_rng(1).uniform(-1, 2, size=(2, 80, 2))
    response = characterize(model, sequences=data, steps=200)
    for k, stimulus in enumerate(response.stimuli):
        x = stimulus.base + stimulus.signal[:, None] * stimulus.direction
        h = model.run(torch.from_numpy(x)).states[(0, "h")].numpy()
        np.testing.assert_allclose(response.outputs[k], h, atol=1e-12)


def test_isolation_drops_the_other_cells_recurrent_weights() -> None:
    lstm = diagonal_module("lstm")
    isolated_before = isolate(wrap(lstm), layer=0)
    with torch.no_grad():
        lstm.weight_hh_l0.add_(
            torch.randn_like(lstm.weight_hh_l0) * (1 - torch.eye(4).repeat(4, 1))
        )
    isolated_after = isolate(wrap(lstm), layer=0)
    np.testing.assert_array_equal(isolated_before.recurrent, isolated_after.recurrent)
    np.testing.assert_array_equal(isolated_before.input_weights, isolated_after.input_weights)


@pytest.mark.parametrize("family", ["lstm", "gru", "rnn"])
def test_batched_equals_one_cell_at_a_time_exactly(family: str) -> None:
    torch.manual_seed(0)
    module = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[family](3, 7)
    model = wrap(module)
    data = np.random.default_rng(2).normal(size=(4, 100, 3))
    design = design_stimuli(model, data, steps=300, frequencies=[0.05, 0.21])
    cells = isolate(model, layer=0)
    outputs = simulate(cells, design.stimuli)
    names, values = measure(outputs, design)
    settling = names.index("settling_time")
    for cell in range(7):
        one_names, one = measure(simulate(cells.subset([cell]), design.stimuli), design)
        assert one_names == names
        assert one[0, settling] == values[cell, settling]
        # Bit-for-bit where numpy's kernels round an array's SIMD body and tail alike.
        np.testing.assert_allclose(one[0], values[cell], rtol=1e-12, atol=1e-15)


def test_the_model_and_the_data_are_not_modified() -> None:
    model = zoo.load("co2_lstm")
    before = {k: v.clone() for k, v in model.core.state_dict().items()}
    data = np.random.default_rng(4).normal(size=(2, 60, 1)).astype(np.float32)
    copy = data.copy()
    response = characterize(model, sequences=data, steps=200)
    assert all(torch.equal(before[k], v) for k, v in model.core.state_dict().items())
    np.testing.assert_array_equal(data, copy)
    assert not response.values.flags.writeable and not response.outputs.flags.writeable


def test_a_deeper_layer_is_driven_in_the_range_of_the_layer_below() -> None:
    torch.manual_seed(0)
    model = wrap(nn.GRU(2, 5, num_layers=2))
    data = np.random.default_rng(5).normal(size=(3, 80, 2))
    h0 = model.run(data).states[(0, "h")].numpy().reshape(-1, 5)
    design = design_stimuli(model, data, layer=1, steps=200)
    assert design.n_channels == 5
    np.testing.assert_allclose(design.low, h0.min(axis=0), atol=1e-6)
    np.testing.assert_allclose(design.high, h0.max(axis=0), atol=1e-6)
    assert characterize(model, layer=1, design=design).n_cells == 5


def test_each_direction_of_a_bidirectional_stack_reads_its_own_input() -> None:
    torch.manual_seed(0)
    model = wrap(nn.LSTM(2, 3, num_layers=2, bidirectional=True))
    data = np.random.default_rng(6).normal(size=(2, 60, 2))
    assert [
        design_stimuli(model, data, layer=k, main_frequency=0.1).n_channels for k in range(4)
    ] == [
        2,
        2,
        6,
        6,
    ]


# ---------------------------------------------------------------------------------- stimuli


def test_float_stimuli_span_the_data_range() -> None:
    data = np.stack([np.linspace(-2, 3, 100), np.linspace(1, 1.5, 100)], axis=1)[None]
    design = design_stimuli(wrap(nn.LSTM(2, 2)), data, steps=200, main_frequency=0.125)
    step, sine = design.stimuli[:2]
    np.testing.assert_allclose(step.base, [-2, 1])
    np.testing.assert_allclose(step.base + step.direction, [3, 1.5])
    assert step.signal[99] == 0 and step.signal[100] == 1 and design.change_step == 100
    x = sine.base + sine.signal[:, None] * sine.direction
    assert x.min(axis=0) == pytest.approx([-2, 1], abs=1e-3)
    assert x.max(axis=0) == pytest.approx([3, 1.5], abs=1e-3)
    np.testing.assert_allclose(sine.signal, np.sin(2 * np.pi * 0.125 * np.arange(200)))


def test_token_stimuli_go_from_the_mean_embedding_to_the_token() -> None:
    model = zoo.load("parentheses_lstm")
    data = zoo.data("parentheses_lstm").subset(range(20))
    design = design_stimuli(model, data, token="(", steps=300)
    mean = np.concatenate([model.encode(s).double().numpy() for s in data.sequences]).mean(0)
    embedding = model.encode(["("])[0].double().numpy()
    step, sine = design.stimuli[:2]
    np.testing.assert_allclose(step.base, mean, atol=1e-9)
    np.testing.assert_allclose(step.base + step.direction, embedding, atol=1e-9)
    np.testing.assert_allclose(sine.base, mean, atol=1e-9)
    assert design.token == "("
    default = design_stimuli(model, data, steps=300)
    counts = {t: sum(s.count(t) for s in data.sequences) for t in model.vocab}
    assert default.token == max(counts, key=counts.get)


def test_a_trace_of_a_token_model_gives_the_same_design_as_its_sequences() -> None:
    model = zoo.load("parentheses_lstm")
    data = zoo.data("parentheses_lstm").subset(range(10))
    trace = capture(model, data.sequences, progress=False)
    from_trace = design_stimuli(model, trace, token="(", steps=300)
    from_data = design_stimuli(model, data, token="(", steps=300)
    np.testing.assert_array_equal(from_trace.stimuli[0].base, from_data.stimuli[0].base)
    assert from_trace.main_frequency == from_data.main_frequency


def test_a_trace_of_float_inputs_asks_for_the_arrays() -> None:
    model = zoo.load("digits_lstm")
    trace = capture(model, tasks.digits("test").sequences[:3], progress=False)
    with pytest.raises(ValueError, match="pass the input arrays"):
        design_stimuli(model, trace)


# ---------------------------------------------------------------------------------- results


def test_ranking_by_delta_uses_the_absolute_value_and_puts_nan_last() -> None:
    response = characterize(
        zoo.load("co2_lstm"), sequences=zoo.data("co2_lstm", "train"), steps=300
    )
    delta = response.metric("delta")
    ranked = response.ranking("delta")
    assert np.all(np.diff(np.abs(delta[ranked])) <= 0)
    signed = response.ranking("delta", absolute=False)
    assert np.all(np.diff(delta[signed]) <= 0)
    values = np.array(response.metric("frequency"))
    frequency_rank = response.ranking("frequency")
    finite = np.isfinite(values[frequency_rank])
    assert not np.any(finite[np.argmin(finite) :]) or finite.all()


def test_summary_is_the_mean_and_std_over_cells() -> None:
    response = characterize(zoo.load("digits_lstm"), sequences=tasks.digits("train"), steps=300)
    summary = response.summary()
    for name in response.metric_names:
        column = response.metric(name)
        assert summary[name][0] == pytest.approx(np.nanmean(column))
        assert summary[name][1] == pytest.approx(np.nanstd(column))
    assert "settling_time" in summary.to_markdown() and "±" in str(summary)


@pytest.mark.parametrize("name", ["digits_lstm", "co2_lstm"])
def test_shipped_models_characterize(name: str) -> None:
    model = zoo.load(name)
    response = characterize(model, sequences=zoo.data(name, "train"), frequencies=[0.05, 0.2])
    assert isinstance(response, Response)
    assert response.values.shape == (128, 16)
    assert response.outputs.shape == (4, 1000, 128)
    settling = response.metric("settling_time")
    assert np.all(settling == np.round(settling)) and np.all(settling >= 0)
    # The paper's finding on every network: nearly all cells keep the input's frequency.
    kept = np.isclose(response.metric("frequency"), response.design.main_frequency, atol=2e-3)
    assert kept.mean() > 0.8
    if name == "co2_lstm":  # weekly data: the yearly cycle
        assert abs(response.design.main_frequency - 1 / 52.18) <= 1 / 512


def test_validate_ranking_ablates_top_cells_against_random_ones() -> None:
    model = zoo.load("digits_lstm")
    test = tasks.digits("test").subset(range(60))
    from rnn_widgets.tasks import classification_accuracy

    response = characterize(model, sequences=tasks.digits("train"), steps=300)
    result = validate_ranking(
        model,
        response,
        test.sequences,
        classification_accuracy(test),
        ks=(1, 4),
        random_draws=2,
        progress=False,
    )
    assert result.by == ("amplitude", "delta")
    ablation = result.ablations["delta"]
    np.testing.assert_array_equal(ablation.ranked_cells, response.ranking("delta"))
    assert ablation.top["zero"].shape == (2,) and ablation.random["zero"].shape == (2, 2)


def test_capacity_sweep_trains_once_then_reads_the_cache(tmp_path: Path) -> None:
    first = capacity_sweep(
        "co2_lstm", (3, 5), training_steps=2, cache_dir=tmp_path, progress=False, steps=300
    )
    assert first.sizes == (3, 5) and [r.n_cells for r in first.responses] == [3, 5]
    names = sorted(p.name for p in tmp_path.iterdir())
    assert [name.rsplit("_", 1)[0] for name in names] == ["co2_lstm_3", "co2_lstm_5"]
    again = capacity_sweep(
        "co2_lstm", (3, 5), training_steps=2, cache_dir=tmp_path, progress=False, steps=300
    )
    for a, b in zip(first.responses, again.responses, strict=True):
        np.testing.assert_array_equal(a.values, b.values)
    mean, std = first.trend("amplitude")
    assert mean.shape == std.shape == (2,)
    assert "rmse_ratio" in first.task_metrics[0]


def test_capacity_sweep_trains_each_size_with_every_training_field_of_the_recipe(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The sweep once trained with spec, steps, batch size, learning rate, window and seed
    # only: a recipe's state noise, decays and forget bias were left out of the training and
    # of the cache key. An instant training routine records what reaches it.
    calls: list[dict] = []

    def instant(spec, task, **kwargs):
        calls.append(kwargs)
        torch.manual_seed(0)
        return zoo.TrainResult(zoo.Network(spec).eval())

    monkeypatch.setattr("rnn_widgets.zoo._train.train", instant)
    monkeypatch.setattr("rnn_widgets.zoo._recipes.train", instant)
    special = {"state_noise": 0.1, "embedding_decay": 0.2, "core_decay": 0.3, "forget_bias": 1.5}
    recipe = dataclasses.replace(zoo.RECIPES["co2_lstm"], **special)
    monkeypatch.setitem(zoo.RECIPES, "co2_lstm", recipe)
    sweep = dict(training_steps=2, cache_dir=tmp_path, progress=False, steps=300)
    capacity_sweep("co2_lstm", (3, 5), **sweep)
    assert len(calls) == 2
    for call in calls:
        assert {name: call.get(name) for name in special} == special
        assert call["steps"] == 2
    # A recipe differing in one training field is trained anew, never read from the cache.
    other = dataclasses.replace(recipe, forget_bias=0.5)
    monkeypatch.setitem(zoo.RECIPES, "co2_lstm", other)
    capacity_sweep("co2_lstm", (3,), **sweep)
    assert len(calls) == 3 and calls[-1]["forget_bias"] == 0.5
    assert len(list(tmp_path.iterdir())) == 3


def test_to_rows_gives_one_row_per_cell_with_every_metric() -> None:
    response = characterize(filter_lstm(0.5), sequences=square_wave(), steps=STEPS)
    (row,) = response.to_rows()
    assert row == {
        "cell": 0,
        **{name: float(response.metric(name)[0]) for name in response.metric_names},
    }


def test_to_dict_gives_one_column_per_metric() -> None:
    response = characterize(filter_lstm(0.5), sequences=square_wave(), steps=STEPS)
    columns = response.to_dict()
    assert list(columns) == list(response.metric_names)
    for name, values in columns.items():
        np.testing.assert_array_equal(values, response.metric(name))


def test_each_stimulus_names_its_waveform() -> None:
    response = characterize(filter_lstm(0.5), sequences=square_wave(), steps=STEPS)
    waveforms = [stimulus.waveform for stimulus in response.stimuli]
    assert waveforms[0] == "step" and set(waveforms[1:]) == {"sine"}


def test_only_delta_ranks_by_its_absolute_value_by_default() -> None:
    response = characterize(filter_lstm(0.5), sequences=square_wave(), steps=STEPS)
    assert response.ranks_by_absolute_value("delta")
    assert not response.ranks_by_absolute_value("amplitude")
    with pytest.raises(ValueError, match="metric 'speed' is unknown"):
        response.ranks_by_absolute_value("speed")


# ---------------------------------------------------------------------------------- bad input


class Leaky:
    state_size, input_size, kinds = 1, 1, ("h",)

    def step(self, state: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, dict]:
        new = 0.5 * state + x
        return new, {"h": new}


def test_a_user_cell_cannot_be_isolated() -> None:
    with pytest.raises(TypeError, match="cannot be isolated.*gate"):
        characterize(RecurrentModel(Leaky()), sequences=square_wave())


def test_not_a_model_is_refused() -> None:
    with pytest.raises(TypeError, match="RecurrentModel"):
        characterize("lstm", sequences=square_wave())


def test_constant_and_empty_data_are_refused() -> None:
    model = filter_lstm(0.5)
    with pytest.raises(ValueError, match="constant"):
        characterize(model, sequences=np.ones((2, 50, 1)))
    with pytest.raises(ValueError, match="empty"):
        characterize(model, sequences=[])
    with pytest.raises(ValueError, match="empty"):
        characterize(model, sequences=np.zeros((2, 0, 1)))
    with pytest.raises(ValueError, match="sequences is required"):
        characterize(model)


def test_frequencies_at_or_above_nyquist_are_refused() -> None:
    model = filter_lstm(0.5)
    for frequency in (0.5, 0.7):
        with pytest.raises(ValueError, match="Nyquist"):
            characterize(model, sequences=square_wave(), frequencies=[frequency])
    with pytest.raises(ValueError, match="Nyquist"):
        characterize(model, sequences=square_wave(), main_frequency=0.6)
    with pytest.raises(ValueError, match="fewer than 2 cycles"):
        characterize(model, sequences=square_wave(), steps=200, frequencies=[0.005])
    with pytest.raises(ValueError, match="> 0"):
        characterize(model, sequences=square_wave(), frequencies=[-0.1])


def test_too_few_steps_to_estimate_the_data_frequency_is_refused() -> None:
    model = filter_lstm(0.5)
    with pytest.raises(ValueError, match="too few to estimate the main frequency"):
        characterize(model, sequences=square_wave(4, 10))
    response = characterize(model, sequences=square_wave(4, 10), main_frequency=0.25, steps=200)
    assert response.design.main_frequency == 0.25


def test_bad_arguments_name_the_argument() -> None:
    model = filter_lstm(0.5)
    with pytest.raises(ValueError, match="steps must be >= 32"):
        characterize(model, sequences=square_wave(), steps=10)
    with pytest.raises(ValueError, match="layer 1 is not a layer of the model"):
        characterize(model, layer=1, sequences=square_wave())
    with pytest.raises(ValueError, match="token applies only"):
        characterize(model, sequences=square_wave(), token="a")
    with pytest.raises(ValueError, match="metric 'speed' is unknown"):
        characterize(model, sequences=square_wave()).ranking("speed")
    with pytest.raises(ValueError, match="cannot be encoded"):
        characterize(zoo.load("parentheses_lstm"), sequences=[list("(0)")] * 30, token="x")
