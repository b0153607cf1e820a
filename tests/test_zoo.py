"""The zoo: every shipped model loads safely, meets its floor, and retrains reproducibly."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from rnn_widgets import RecurrentModel, capture, tasks, zoo
from rnn_widgets.models import RunResult
from rnn_widgets.tasks import CHARACTER_TYPES, character_types
from rnn_widgets.zoo import Spec
from rnn_widgets.zoo.__main__ import main as zoo_cli
from rnn_widgets.zoo._network import Network
from rnn_widgets.zoo._recipes import nesting_digit_accuracy, next_type_accuracy
from rnn_widgets.zoo._train import _optimiser, set_forget_bias, train
from rnn_widgets.zoo._zoo import _SMOKE_STEPS, _smoke_losses

SHIPPED = zoo.names()


@pytest.mark.parametrize("name", SHIPPED)
def test_every_recipe_has_shipped_weights_and_metadata(name: str) -> None:
    meta = zoo.info(name)
    assert meta.name == name
    assert meta.size_bytes == (zoo.WEIGHTS / f"{name}.pt").stat().st_size
    assert meta.parameters == sum(p.numel() for p in zoo.network(name).parameters())
    assert meta.training_seconds > 0


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_meets_its_floor_on_held_out_data(name: str) -> None:
    meta = zoo.info(name)
    measured = zoo.evaluate(name)
    value = measured[meta.metric_name]
    assert zoo.RECIPES[name].meets_floor(value), f"{name}: {meta.metric_name} = {value}"
    # The figure written at training time is the one measured now (the data are seeded).
    assert value == pytest.approx(meta.metric, rel=1e-4, abs=1e-6)


def test_evaluate_measures_the_network_it_is_given() -> None:
    untrained = Network(zoo.info("mod3_gru").spec)
    assert zoo.evaluate("mod3_gru", network=zoo.network("mod3_gru")) == zoo.evaluate("mod3_gru")
    assert zoo.evaluate("mod3_gru", network=untrained) != zoo.evaluate("mod3_gru")


@pytest.mark.parametrize("name", SHIPPED)
def test_a_short_seeded_training_repeats_the_stored_losses(name: str) -> None:
    stored = zoo.info(name).smoke_losses
    again = _smoke_losses(name)
    assert len(again) == _SMOKE_STEPS
    np.testing.assert_allclose(again, stored, rtol=2e-3, atol=1e-5)


@pytest.mark.parametrize("name", SHIPPED)
def test_load_gives_a_recurrent_model_that_captures(name: str) -> None:
    model = zoo.load(name)
    assert isinstance(model, RecurrentModel)
    task = zoo.data(name, "test")
    task = task.subset(range(min(2, len(task))))
    trace = capture(model, list(task.sequences), progress=False)
    assert trace.n_steps == int(task.lengths.sum())
    net = zoo.network(name)
    first = task.sequences[0]
    inputs = (
        torch.tensor([[task.vocab.index(t) for t in first]])
        if task.vocab is not None
        else torch.from_numpy(np.asarray(first))[None]
    )
    with torch.no_grad():
        _, _ = net(inputs)
        h = _last_layer_h(net, inputs)
    last_layer = trace.layers[-1]
    # rtol: a Mamba's residual stream runs to about 100, where float32 rounds at 1e-5
    np.testing.assert_allclose(
        trace.states(layer=last_layer, kind="h")[: len(first)], h[0].numpy(), rtol=1e-5, atol=1e-5
    )


def _last_layer_h(net: Network, inputs: torch.Tensor) -> torch.Tensor:
    """The last layer's h at every step, as the network's own core computes it."""
    if net.spec.family == "mamba":  # transformers' hidden states: each block's, then the norm's
        return net.core(inputs, output_hidden_states=True).hidden_states[-2]
    h, _ = net.core(net.embedding(inputs) if net.embedding is not None else inputs)
    return h


def test_weights_are_read_without_unpickling_objects(tmp_path, monkeypatch) -> None:
    name = SHIPPED[0]
    (tmp_path / f"{name}.json").write_text((zoo.WEIGHTS / f"{name}.json").read_text())
    torch.save({"weight": torch.zeros(1), "payload": _Evil()}, tmp_path / f"{name}.pt")
    monkeypatch.setattr("rnn_widgets.zoo._zoo.WEIGHTS", tmp_path)
    with pytest.raises(Exception, match="(?i)weights_only|unpickl|global"):
        zoo.network(name)


class _Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_unknown_names_are_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="parentheses_lstm"):
        zoo.load("no_such_model")
    with pytest.raises(TypeError, match="name must be a str"):
        zoo.info(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="split"):
        zoo.data(SHIPPED[0], "validation")


def test_train_and_save_writes_a_loadable_model(tmp_path) -> None:
    meta = zoo.train_and_save("mod3_gru", directory=tmp_path, steps=30, progress=False)
    assert (tmp_path / "mod3_gru.pt").exists()
    assert meta.steps == 30
    assert len(meta.smoke_losses) == _SMOKE_STEPS
    assert 0.0 <= meta.metric <= 1.0 and math.isfinite(meta.training_seconds)


def test_cli_lists_every_model(capsys) -> None:
    assert zoo_cli(["list"]) == 0
    out = capsys.readouterr().out
    for name in SHIPPED:
        assert name in out


# ------------------------------------------- the grammar models' metrics, for ablations


def _planted_run(task, logits_of_step) -> RunResult:
    """A RunResult over ``task`` whose logits at each step are ``logits_of_step(target)``."""
    steps = int(task.lengths.max())
    outputs = torch.zeros(len(task), steps, len(task.vocab))
    for row, target in enumerate(task.targets):
        for step, next_id in enumerate(target):
            outputs[row, step] = torch.as_tensor(logits_of_step(int(next_id)))
    return RunResult(outputs, {}, task.lengths)


def test_character_types_sorts_the_arithmetic_vocabulary_into_its_three_kinds() -> None:
    vocab = tasks.arithmetic(1, 5, seed=0).vocab
    kinds = character_types(vocab)
    assert [CHARACTER_TYPES[k] for k in kinds] == ["digit"] * 10 + ["parenthesis"] * 2 + [
        "operator"
    ] * 4


def test_nesting_digit_accuracy_counts_the_digit_steps_whose_likeliest_digit_is_right() -> None:
    task = tasks.nesting_grammar(4, 40, seed=2)
    digits = [task.vocab.index(str(d)) for d in range(5)]
    wrong_at = {digits[1], digits[3]}  # next digits 1 and 3 are predicted as 0

    def logits(next_id: int) -> np.ndarray:
        values = np.zeros(len(task.vocab))
        values[digits[0] if next_id in wrong_at else next_id] = 5.0
        values[task.vocab.index("(")] = 9.0  # the parentheses are not digits: ignored
        return values

    targets = np.concatenate(task.targets)
    is_digit = np.isin(targets, digits)
    expected = 1.0 - np.isin(targets[is_digit], list(wrong_at)).mean()
    assert 0.0 < expected < 1.0
    assert nesting_digit_accuracy(_planted_run(task, logits), task) == pytest.approx(expected)


def test_next_type_accuracy_sums_the_probability_of_each_kind() -> None:
    task = tasks.arithmetic(6, 21, seed=4)
    kinds = character_types(task.vocab)

    def logits(next_id: int) -> np.ndarray:
        # ")" is the likeliest single character, but the four operators together hold more
        # probability: the kind read is "operator", whatever comes next.
        values = np.zeros(len(task.vocab))
        values[kinds == 2] = 3.0
        values[task.vocab.index(")")] = 3.5
        return values

    targets = np.concatenate(task.targets)
    expected = (kinds[targets[targets >= 0]] == 2).mean()
    assert 0.2 < expected < 0.8
    assert next_type_accuracy(_planted_run(task, logits), task) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("name", "figure", "function"),
    [
        ("nesting_grammar_lstm", "digit_accuracy", nesting_digit_accuracy),
        ("arithmetic_lstm", "type_accuracy", next_type_accuracy),
    ],
)
def test_the_run_result_metrics_equal_the_shipped_figures(name, figure, function) -> None:
    task = zoo.data(name, "test")
    result = zoo.load(name).run(list(task.sequences))
    assert function(result, task) == pytest.approx(zoo.info(name).metrics[figure], abs=1e-6)


def test_clamping_every_cell_to_zero_leaves_only_the_readout_bias() -> None:
    # With h and c held at 0 the logits are the readout's bias at every step, so the digit
    # read is always the bias's likeliest digit: the accuracy is that digit's share.
    name = "nesting_grammar_lstm"
    task = zoo.data(name, "test").subset(range(40))
    model = zoo.load(name)
    result = model.run(
        list(task.sequences), clamp={0: dict.fromkeys(range(zoo.info(name).spec.hidden), 0.0)}
    )
    bias = zoo.network(name).readout.bias.detach().numpy()
    digits = np.flatnonzero(character_types(task.vocab) == 1)
    favourite = digits[np.argmax(bias[digits])]
    targets = np.concatenate(task.targets)
    share = (targets[np.isin(targets, digits)] == favourite).mean()
    assert nesting_digit_accuracy(result, task) == pytest.approx(share)
    assert share < zoo.info(name).metrics["digit_accuracy"] - 0.3


def test_run_result_metrics_refuse_a_run_over_other_sequences() -> None:
    task = tasks.nesting_grammar(3, 30, seed=0)
    model = zoo.load("nesting_grammar_lstm")
    result = model.run(list(task.sequences[:2]))
    with pytest.raises(ValueError, match="task.sequences"):
        nesting_digit_accuracy(result, task)
    with pytest.raises(TypeError, match="RunResult"):
        next_type_accuracy(result.outputs, task)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a next-character task"):
        next_type_accuracy(result, tasks.flip_flop(3, 2, 30, seed=0))


# ------------------------------------------------------------- training with state noise


def _noisy_training_losses(state_noise: float, family: str) -> list[float]:
    task = tasks.automaton("mod3", 16, 20, seed=3)
    spec = Spec(family=family, n_inputs=1, hidden=8, layers=2, n_outputs=3, embedding_dim=None)
    result = train(
        spec,
        task,
        steps=4,
        batch_size=8,
        learning_rate=1e-2,
        seed=5,
        progress=False,
        state_noise=state_noise,
    )
    return result.losses


@pytest.mark.parametrize("family", ["gru", "lstm"])
def test_training_with_state_noise_is_seeded_and_differs_from_training_without(family) -> None:
    noisy = _noisy_training_losses(0.5, family)
    assert noisy == _noisy_training_losses(0.5, family)
    # The first loss is of the same initial weights on the same batch: only the noise differs.
    assert noisy[0] != pytest.approx(_noisy_training_losses(0.0, family)[0], abs=1e-6)


def test_a_tiny_state_noise_matches_the_fused_core_step_by_step() -> None:
    # The per-step loop with negligible noise computes what the fused core does.
    tiny = _noisy_training_losses(1e-9, "lstm")
    np.testing.assert_allclose(tiny, _noisy_training_losses(0.0, "lstm"), rtol=1e-5)


@pytest.mark.parametrize("bad", [-0.1, float("nan"), "0.1"])
def test_training_refuses_a_bad_state_noise(bad) -> None:
    with pytest.raises(ValueError, match="state_noise"):
        _noisy_training_losses(bad, "gru")


# ------------------------------------------------------------- embedding decay


def _token_spec() -> Spec:
    return Spec(family="gru", n_inputs=12, hidden=6, layers=1, n_outputs=2, embedding_dim=4)


def test_embedding_decay_shrinks_the_embedding_table_only() -> None:
    # With every gradient zero, one AdamW step multiplies a decayed weight by 1 - lr * decay.
    network = Network(_token_spec())
    before = {name: p.detach().clone() for name, p in network.named_parameters()}
    optimiser = _optimiser(network, learning_rate=0.1, embedding_decay=0.5)
    for parameter in network.parameters():
        parameter.grad = torch.zeros_like(parameter)
    optimiser.step()
    for name, parameter in network.named_parameters():
        factor = 0.95 if name == "embedding.weight" else 1.0
        torch.testing.assert_close(parameter.detach(), before[name] * factor)


def test_training_with_embedding_decay_keeps_smaller_embeddings() -> None:
    task = tasks.sentiment(64, min_words=5, max_words=12, seed=1)
    spec = Spec(family="gru", n_inputs=len(task.vocab), hidden=6, layers=1, n_outputs=2,
                embedding_dim=4)  # fmt: skip

    def embedding_norm(decay: float) -> float:
        kwargs = {"steps": 40, "batch_size": 16, "learning_rate": 1e-2, "seed": 2}
        result = train(spec, task, progress=False, embedding_decay=decay, **kwargs)
        return float(result.network.embedding.weight.detach().norm())

    assert embedding_norm(1.0) < 0.9 * embedding_norm(0.0)


def test_embedding_decay_is_refused_without_an_embedding_or_when_negative() -> None:
    task = tasks.automaton("mod3", 4, 10, seed=0)
    spec = Spec(family="gru", n_inputs=1, hidden=4, layers=1, n_outputs=3, embedding_dim=None)
    with pytest.raises(ValueError, match="embedding_decay needs a network with an embedding"):
        train(spec, task, steps=1, batch_size=2, learning_rate=1e-2, embedding_decay=0.1)
    with pytest.raises(ValueError, match="embedding_decay must be a finite number >= 0"):
        train(spec, task, steps=1, batch_size=2, learning_rate=1e-2, embedding_decay=-1.0)


@pytest.mark.parametrize(
    ("embedding_decay", "core_decay", "expected"),
    [
        (0.0, 0.5, {"embedding": 1.0, "core": 0.95, "readout": 1.0}),
        (0.5, 0.2, {"embedding": 0.95, "core": 0.98, "readout": 1.0}),
    ],
)
def test_each_decay_reaches_its_own_weights_at_its_own_rate(
    embedding_decay: float, core_decay: float, expected: dict[str, float]
) -> None:
    # With every gradient zero, one AdamW step multiplies a decayed weight by 1 - lr * decay.
    network = Network(_token_spec())
    before = {name: p.detach().clone() for name, p in network.named_parameters()}
    optimiser = _optimiser(network, 0.1, embedding_decay, core_decay)
    for parameter in network.parameters():
        parameter.grad = torch.zeros_like(parameter)
    optimiser.step()
    for name, parameter in network.named_parameters():
        factor = expected[name.split(".")[0]]
        torch.testing.assert_close(parameter.detach(), before[name] * factor)


def test_core_decay_is_refused_when_negative() -> None:
    task = tasks.automaton("mod3", 4, 10, seed=0)
    spec = Spec(family="gru", n_inputs=1, hidden=4, layers=1, n_outputs=3, embedding_dim=None)
    with pytest.raises(ValueError, match="core_decay must be a finite number >= 0"):
        train(spec, task, steps=1, batch_size=2, learning_rate=1e-2, core_decay=float("nan"))


def _forget_gate_of_layer_0(network: Network) -> torch.Tensor:
    # From h0 = 0 and x = 0, c1 = f * c0 + i * g with i * g independent of c0, so the change of
    # c1 over a unit change of c0 is the forget gate.
    core = network.core
    spec = network.spec
    zeros = torch.zeros(spec.layers, 1, spec.hidden)
    x = torch.zeros(1, 1, core.input_size)
    with torch.no_grad():
        _, (_, c_from_zero) = core(x, (zeros, zeros))
        _, (_, c_from_one) = core(x, (zeros, zeros + 1.0))
    return (c_from_one - c_from_zero)[0, 0]


def test_set_forget_bias_opens_every_forget_gate_to_the_sigmoid_of_the_bias() -> None:
    spec = Spec(family="lstm", n_inputs=5, hidden=7, layers=2, n_outputs=2, embedding_dim=3)
    network = Network(spec)
    before = {name: p.detach().clone() for name, p in network.named_parameters()}
    set_forget_bias(network, 2.0)
    gate = _forget_gate_of_layer_0(network)
    torch.testing.assert_close(gate, torch.full((7,), 1 / (1 + math.exp(-2.0))))
    for layer in range(2):
        total = getattr(network.core, f"bias_ih_l{layer}") + getattr(
            network.core, f"bias_hh_l{layer}"
        )
        torch.testing.assert_close(total[7:14].detach(), torch.full((7,), 2.0))
    changed = {n for n, p in network.named_parameters() if not torch.equal(p, before[n])}
    assert changed == {f"core.bias_{kind}_l{layer}" for kind in ("ih", "hh") for layer in (0, 1)}
    for name in changed:  # the input, cell and output gates keep their biases
        kept = torch.cat([before[name][:7], before[name][14:]])
        current = dict(network.named_parameters())[name].detach()
        torch.testing.assert_close(torch.cat([current[:7], current[14:]]), kept)


def test_training_starts_from_the_forget_bias() -> None:
    task = tasks.sentiment(16, min_words=5, max_words=8, seed=1)
    spec = Spec(family="lstm", n_inputs=len(task.vocab), hidden=4, layers=1, n_outputs=2,
                embedding_dim=3)  # fmt: skip
    kwargs = {"steps": 1, "batch_size": 4, "learning_rate": 1e-9, "progress": False}
    network = train(spec, task, forget_bias=3.0, **kwargs).network
    gate = _forget_gate_of_layer_0(network)
    torch.testing.assert_close(gate, torch.full((4,), 1 / (1 + math.exp(-3.0))), atol=1e-6, rtol=0)
    default = _forget_gate_of_layer_0(train(spec, task, **kwargs).network)
    assert default.max() < 0.75  # PyTorch's own initialisation keeps about half


@pytest.mark.parametrize(
    ("family", "value", "error", "message"),
    [
        ("gru", 1.0, ValueError, "forget_bias applies to LSTM networks only, this one is a GRU"),
        ("lstm", float("inf"), ValueError, "forget_bias must be finite"),
        ("lstm", "2", TypeError, "forget_bias must be a real number"),
    ],
)
def test_forget_bias_is_refused_for_a_gru_or_a_bad_value(
    family: str, value: object, error: type[Exception], message: str
) -> None:
    task = tasks.automaton("mod3", 4, 10, seed=0)
    spec = Spec(family=family, n_inputs=1, hidden=4, layers=1, n_outputs=3, embedding_dim=None)
    with pytest.raises(error, match=message):
        train(spec, task, steps=1, batch_size=2, learning_rate=1e-2, forget_bias=value)


# ---------------------------------------------------------------------- training by recipe

# The training fields that only some recipes set: a recipe that left one out would train
# another network than the shipped one.
SPECIAL_FIELDS = {"state_noise": 0.1, "embedding_decay": 0.2, "core_decay": 0.3, "forget_bias": 1.5}


def _spy_training(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Replace the zoo's training routine by an instant one that records its arguments."""
    calls: list[dict] = []

    def instant(spec: Spec, task: tasks.TaskData, **kwargs: object) -> zoo.TrainResult:
        calls.append({"spec": spec, **kwargs})
        torch.manual_seed(0)
        return zoo.TrainResult(Network(spec).eval())

    monkeypatch.setattr("rnn_widgets.zoo._train.train", instant)
    monkeypatch.setattr("rnn_widgets.zoo._recipes.train", instant)
    return calls


def test_a_recipe_trains_with_every_one_of_its_training_fields(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _spy_training(monkeypatch)
    recipe = dataclasses.replace(zoo.RECIPES["parentheses_lstm"], hidden=6, **SPECIAL_FIELDS)
    recipe.train(tasks.parentheses(4, 30, seed=0), progress=False)
    (call,) = calls
    assert {name: call.get(name) for name in SPECIAL_FIELDS} == SPECIAL_FIELDS
    assert call["spec"].hidden == 6
    for name in ("steps", "batch_size", "learning_rate", "window", "seed"):
        assert call[name] == getattr(recipe, name)


@pytest.mark.parametrize(
    ("field", "value"),
    [*SPECIAL_FIELDS.items(), ("hidden", 7), ("steps", 11), ("seed", 3), ("learning_rate", 0.1)],
)
def test_recipes_that_train_differently_have_different_fingerprints(
    field: str, value: float
) -> None:
    recipe = zoo.RECIPES["parentheses_lstm"]
    assert dataclasses.replace(recipe, **{field: value}).fingerprint() != recipe.fingerprint()


def test_the_fingerprint_ignores_how_a_network_is_judged() -> None:
    recipe = zoo.RECIPES["parentheses_lstm"]
    judged = dataclasses.replace(recipe, floor=0.5, description="another", metric_name="x")
    assert judged.fingerprint() == recipe.fingerprint()
    assert len(recipe.fingerprint()) == 12
