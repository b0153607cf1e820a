"""The zoo's Mamba models (issue 24, section 5): listed only where they load, and demo-ready.

Their floors, stored figures, smoke losses and capture are checked with every other shipped
model in ``test_zoo.py``; nothing here trains. Without ``transformers`` (simulated by hiding
it from the import system, as ``test_mamba.py`` does) the zoo lists only what loads, and
loading a Mamba names the extra to install.
"""

from __future__ import annotations

import os
import sys

os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers is imported: nothing is downloaded

import numpy as np
import pytest
import torch
from transformers.utils import logging as hf_logging

import rnn_widgets as rw
from rnn_widgets import zoo
from rnn_widgets.models import ProjectedMamba
from rnn_widgets.zoo import Network, Spec
from rnn_widgets.zoo.__main__ import main as zoo_cli

hf_logging.set_verbosity_error()

MAMBAS = ("flip_flop_mamba", "parentheses_mamba")
EXTRA = r"optional dependency transformers: pip install 'rnn_widgets\[hf\]'"


@pytest.fixture
def without_transformers(monkeypatch):
    """``import transformers`` (and every submodule) fails, as on an install without it."""
    for name in [name for name in sys.modules if name.split(".")[0] == "transformers"]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "transformers", None)


def test_with_transformers_the_zoo_lists_both_mamba_models():
    assert set(MAMBAS) <= set(zoo.names())


def test_without_transformers_the_zoo_lists_only_what_loads(without_transformers, capsys):
    listed = zoo.names()
    assert not set(MAMBAS) & set(listed)
    assert {"flip_flop_gru", "parentheses_lstm", "flip_flop_min_gru"} <= set(listed)
    assert zoo_cli(["list"]) == 0
    assert "mamba" not in capsys.readouterr().out
    with pytest.raises(ValueError, match=r"name must be one of \[") as error:
        rw.demo("flip_flop_mamba")
    assert "mamba" not in str(error.value).split("got")[0]


@pytest.mark.parametrize("name", MAMBAS)
def test_without_transformers_loading_a_mamba_names_the_hf_extra(name, without_transformers):
    for load in (zoo.load, zoo.network, zoo.evaluate):
        with pytest.raises(ImportError, match=EXTRA):
            load(name)
    assert zoo.info(name).spec.family == "mamba"  # its metadata needs no transformers


def test_without_transformers_the_cli_names_the_hf_extra(without_transformers, capsys):
    with pytest.raises(SystemExit):
        zoo_cli(["evaluate", "flip_flop_mamba"])
    assert "pip install 'rnn_widgets[hf]'" in capsys.readouterr().err


@pytest.mark.parametrize("name", MAMBAS)
def test_a_zoo_mamba_is_the_network_its_recurrent_model_runs(name):
    meta = zoo.info(name)
    recipe = zoo.RECIPES[name]
    assert (meta.spec.family, meta.spec.layers, meta.spec.state_size) == (
        "mamba",
        recipe.layers,
        recipe.state_size,
    )
    network = zoo.network(name)
    model = zoo.load(name)
    assert model.family == "mamba" and model.n_cells(layer=0) == 2 * meta.spec.hidden
    task = zoo.data(name).subset(range(3))
    if task.vocab is None:
        assert isinstance(network.core, ProjectedMamba) and model.input_size(layer=0) == 3
        rows = [torch.from_numpy(np.array(s)) for s in task.sequences]
    else:
        assert network.recurrent_model(meta.vocab).embedding is network.core.embeddings
        rows = [torch.tensor([task.vocab.index(t) for t in s]) for s in task.sequences]
    run = model.run(list(task.sequences))
    for index, row in enumerate(rows):
        with torch.no_grad():
            expected, _ = network(row[None])
        torch.testing.assert_close(run.outputs[index, : len(row)], expected[0])


@pytest.mark.parametrize("name", MAMBAS)
def test_demo_opens_the_explorer_on_a_mamba(name):
    explorer = rw.demo(name, max_steps=1_000, progress=False)
    assert explorer.trace.n_steps <= 1_000
    assert explorer.model.family == "mamba"
    assert {"select_view", "match_view", "state_space_view", "relevance_bars"} <= set(
        explorer.views
    )
    # Response characterization drives the layer whole and reads each channel's gated output.
    assert explorer.response_view.response.kind == "y"
    # The selective step size: how long each step lets memory last, as a track.
    assert any("log10 tau" in track for track in explorer.trace.tracks)


def test_a_mamba_spec_needs_its_state_size_and_reads_tokens_at_its_own_width():
    spec = Spec(family="mamba", n_inputs=7, hidden=16, layers=1, n_outputs=7, embedding_dim=16)
    with pytest.raises(ValueError, match="a Mamba spec needs state_size"):
        Network(spec)
    wide = Spec(**{**spec.to_dict(), "embedding_dim": 8, "state_size": 4})
    with pytest.raises(ValueError, match="embedding_dim must be 16 .* got 8"):
        Network(wide)


def test_training_a_mamba_refuses_state_noise_and_embedding_decay():
    task = rw.tasks.flip_flop(3, 4, 20, seed=0)
    spec = Spec(family="mamba", n_inputs=3, hidden=8, layers=1, n_outputs=3, state_size=2)
    for extra in ({"state_noise": 0.1}, {"embedding_decay": 0.1}):
        with pytest.raises(ValueError, match="a Mamba trains on whole sequences"):
            zoo.train(spec, task, steps=1, batch_size=2, learning_rate=1e-2, **extra)
