"""The zoo: every shipped model loads safely, meets its floor, and retrains reproducibly."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rnn_widgets import RecurrentModel, capture, zoo
from rnn_widgets.zoo.__main__ import main as zoo_cli

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


@pytest.mark.parametrize("name", SHIPPED)
def test_a_short_seeded_training_repeats_the_stored_losses(name: str) -> None:
    stored = zoo.info(name).smoke_losses
    again = zoo.smoke_losses(name)
    assert len(again) == zoo.SMOKE_STEPS
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
        h, _ = net.core(net.embedding(inputs) if net.embedding is not None else inputs)
    last_layer = trace.layers[-1]
    np.testing.assert_allclose(trace.states(last_layer, "h")[: len(first)], h[0].numpy(), atol=1e-5)


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
    assert len(meta.smoke_losses) == zoo.SMOKE_STEPS
    assert 0.0 <= meta.metric <= 1.0 and math.isfinite(meta.training_seconds)


def test_cli_lists_every_model(capsys) -> None:
    assert zoo_cli(["list"]) == 0
    out = capsys.readouterr().out
    for name in SHIPPED:
        assert name in out
