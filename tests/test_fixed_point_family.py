"""Fixed points of flip-flop networks trained by recipes the zoo does not use (issue 23).

The reduced family of ``benchmarks/flip_flop_family.py`` (a GRU and an LSTM of 64 units,
trained here from their seeds into a temporary cache: about 25 s on one core) is searched with
the public ``find_fixed_points``. The readout judges the result (the sign pattern at a point is
its memory); the search never sees it, and a test proves that by withholding and permuting it.
The full family's figures are in ``benchmarks/README.md``.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import rnn_widgets as rw
from rnn_widgets.analysis import find_fixed_points

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def family(tmp_path_factory: pytest.TempPathFactory):
    """The two CI members, trained from their seeds into a fresh cache."""
    cache = tmp_path_factory.mktemp("flip_flop_family")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RNN_WIDGETS_FAMILY_CACHE", str(cache))
        patch.syspath_prepend(str(BENCHMARKS))
        sys.modules.pop("flip_flop_family", None)
        module = importlib.import_module("flip_flop_family")
        threads = torch.get_num_threads()
        try:
            members = {}
            for member in module.family(reduced=True):
                result = module.train_member(member)
                weights = torch.load(module.folder(member) / "weights.pt", weights_only=True)
                members[member.arch] = (module.load_member(member), result, weights)
        finally:
            torch.set_num_threads(threads)
        sys.modules.pop("flip_flop_family", None)
    return members


def _visited(model: rw.RecurrentModel) -> rw.Trace:
    data = rw.tasks.flip_flop(3, 32, 200, p_pulse=0.05, seed=7)
    kinds = ("h",) if model.family == "gru" else ("h", "c")
    return rw.capture(model, list(data.sequences), kinds=kinds, top_k=0, progress=False)


def _memories(model: rw.RecurrentModel, states: np.ndarray) -> np.ndarray:
    h = torch.as_tensor(states[:, model.state_layout()["h"]], dtype=model.dtype)
    with torch.no_grad():
        out = model.readout(h).numpy()
    return np.array(["".join("+" if v > 0 else "-" for v in row) for row in out])


@pytest.fixture(scope="module")
def searched(family):
    found = {}
    for arch, (model, _, _) in family.items():
        trace = _visited(model)
        points = find_fixed_points(model, trace, inputs=np.zeros(3), progress=False)
        found[arch] = (model, trace, points)
    return found


@pytest.mark.parametrize("arch", ["gru", "lstm"])
def test_members_learn_the_task_and_hold_every_memory(family, arch):
    _, result, _ = family[arch]
    assert result["trained"], result["per_memory"]
    assert result["silent_hold_2000"] == 8


@pytest.mark.parametrize("arch", ["gru", "lstm"])
def test_every_memory_is_an_attractor_and_no_id_holds_two(searched, arch):
    model, _, points = searched[arch]
    assert points.is_fixed.any()
    assert points.q[points.is_fixed].max() < 1e-10
    held = (points.attractor >= 0) & points.is_fixed
    memory = _memories(model, points.states)
    assert len(set(memory[held])) == 8
    for attractor in np.unique(points.attractor[held]):
        assert len(set(memory[held & (points.attractor == attractor)])) == 1
    # A saddle sits between memories: the readout changes sign somewhere near each one.
    saddles = np.flatnonzero((points.stability == "saddle") & points.is_fixed)
    assert len(saddles) > 0
    assert (points.n_unstable[saddles] >= 1).all()


def test_gru_holds_one_attractor_id_per_memory(searched):
    """On this member, which keeps its memories as separate attractors, ids are memories."""
    model, _, points = searched["gru"]
    held = (points.attractor >= 0) & points.is_fixed
    memory = _memories(model, points.states)
    per_memory = {m: set(points.attractor[held & (memory == m)]) for m in set(memory[held])}
    assert all(len(ids) == 1 for ids in per_memory.values()), per_memory


def test_lstm_stable_nodes_each_get_their_own_id(searched):
    """Stable nodes are never linked: every one is its own attractor (separate basins)."""
    _, _, points = searched["lstm"]
    nodes = np.flatnonzero((points.stability == "stable") & points.is_fixed)
    assert len(nodes) >= 8
    assert len(set(points.attractor[nodes])) == len(nodes)


@pytest.mark.parametrize("arch", ["gru", "lstm"])
@pytest.mark.parametrize("readout", ["withheld", "permuted"])
def test_the_ids_come_from_the_dynamics_alone(family, searched, arch, readout):
    model, trace, points = searched[arch]
    weights = family[arch][2]
    if readout == "withheld":
        other = rw.RecurrentModel(model.core)
    else:
        linear = torch.nn.Linear(model.n_cells(), 3)
        with torch.no_grad():
            order = torch.randperm(3, generator=torch.Generator().manual_seed(0))
            linear.weight.copy_(-weights["readout.weight"][order])
            linear.bias.copy_(weights["readout.bias"][order])
        other = rw.RecurrentModel(model.core, readout=linear)
    again = find_fixed_points(other, trace, inputs=np.zeros(3), progress=False)
    np.testing.assert_array_equal(again.states, points.states)
    np.testing.assert_array_equal(again.attractor, points.attractor)
    np.testing.assert_array_equal(again.stability, points.stability)


@pytest.mark.parametrize("arch", ["gru", "lstm"])
def test_classes_equal_the_full_decomposition(searched, arch):
    """The classes follow from the full float64 spectrum of each point's Jacobian."""
    _, _, points = searched[arch]
    magnitude = np.abs(np.linalg.eigvals(points.jacobians()))
    largest = magnitude.max(axis=1)
    unstable = (magnitude > 1 + points.eps).sum(axis=1)
    expected = np.where(
        unstable == magnitude.shape[1],
        "unstable",
        np.where(unstable > 0, "saddle", np.where(largest < 1 - points.eps, "stable", "marginal")),
    )
    np.testing.assert_array_equal(points.stability, expected)
    np.testing.assert_array_equal(points.n_unstable, unstable)
