"""Every corpus analysis on the kinds of the modern families (issue 24, section 3).

For minGRU, minLSTM and Mamba (tiny models, random weights): a cell whose value is planted
high on the steps of one token is found by ``select_cells``, matched by ``match``, ranked
first by ``score_cells`` (ties allowed) and fitted perfectly by ``probe`` on each family's
own kinds; and
``ablate`` clamping the top cells changes the model's outputs where clamping random ones
changes them less. Known answers, not just "it runs".
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import MambaConfig, MambaForCausalLM

import rnn_widgets as rw
from rnn_widgets.analysis import ablate, match, probe, score_cells, select_cells

VOCAB = ("a", "b", "c", "(")
MARKER = "("


def _min_model(cls: type) -> rw.RecurrentModel:
    torch.manual_seed(0)
    embedding = torch.nn.Embedding(len(VOCAB), 4)
    core = cls(4, 8, num_layers=2, batch_first=True)
    readout = torch.nn.Linear(8, len(VOCAB))
    return rw.RecurrentModel(core, embedding=embedding, readout=readout, vocab=VOCAB)


def _mamba() -> rw.RecurrentModel:
    torch.manual_seed(0)
    config = MambaConfig(
        vocab_size=len(VOCAB), hidden_size=8, num_hidden_layers=2, state_size=4, use_cache=False
    )
    return rw.wrap(MambaForCausalLM(config).eval())


FAMILIES = {
    "min_gru": (lambda: _min_model(rw.MinGRU), ("h", "z", "h_tilde")),
    "min_lstm": (lambda: _min_model(rw.MinLSTM), ("h", "f", "h_tilde")),
    "mamba": (_mamba, ("h", "delta", "ssm")),
}


def _sequences() -> list[list[str]]:
    rng = np.random.default_rng(3)
    return [[VOCAB[i] for i in rng.integers(0, len(VOCAB), 60)] for _ in range(12)]


def _as_input(model: rw.RecurrentModel, sequence: list[str]) -> list:
    return sequence if model.family != "mamba" else [VOCAB.index(t) for t in sequence]


def _planted(model: rw.RecurrentModel, kind: str) -> tuple[rw.Trace, int]:
    """The model's trace with one cell of ``kind`` (layer 1) set high exactly on the marker."""
    sequences = _sequences()
    trace = rw.capture(model, [_as_input(model, s) for s in sequences], progress=False)
    marker = np.array([t == MARKER for s in sequences for t in s])
    states = {
        (layer, k): np.array(trace.states(layer=layer, kind=k))
        for layer in trace.layers
        for k in trace.kinds(layer=layer)
    }
    cell = trace.n_cells(layer=1, kind=kind) // 2
    values = states[(1, kind)]
    spread = float(np.ptp(values)) or 1.0
    values[:, cell] = np.where(marker, values.max() + spread, values.min() - spread)
    groups = {key: trace.cell_group(layer=key[0], kind=key[1]) for key in states}
    planted = rw.Trace.from_arrays(
        [[str(t) for t in s] for s in sequences], states, cell_groups=groups
    )
    return planted, cell


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family(request):
    build, kinds = FAMILIES[request.param]
    return request.param, build(), kinds


def test_select_match_score_and_probe_find_the_planted_cell_on_every_kind(family):
    name, model, kinds = family
    for kind in kinds:
        trace, cell = _planted(model, kind)
        first = next(i for i, t in enumerate(trace.tokens) if t == MARKER)
        chosen = select_cells(trace, first, first + 1, threshold=0.5 * _high(trace, kind, cell),
                              layer=1, kind=kind)  # fmt: skip
        assert cell in chosen.tolist(), (name, kind)
        result = match(trace, np.array([cell]), 0.5 * _high(trace, kind, cell), 0, 0,
                       layer=1, kind=kind)  # fmt: skip
        matched = {trace.tokens[m.start] for m in result.matches}
        assert matched == {MARKER}, (name, kind)
        labels = np.array([t == MARKER for t in trace.tokens], dtype=int)
        scores = score_cells(trace, {"marker": labels}, layer=1, kind=kind, folds=3,
                             progress=False)  # fmt: skip
        # The planted cell separates the marker perfectly; another cell may too (Mamba's h
        # carries the token's embedding in its residual stream).
        assert scores.score[0, cell] == pytest.approx(1.0), (name, kind)
        assert scores.score[0, cell] == scores.score[0].max()
        fitted = probe(trace, {"marker": labels}, k=1, layer=1, kind=kind, folds=3,
                       progress=False)  # fmt: skip
        assert fitted.score == pytest.approx(1.0), (name, kind)
        assert scores.score[0, int(fitted.cells[0])] == pytest.approx(1.0)


def _high(trace: rw.Trace, kind: str, cell: int) -> float:
    values = trace.states(layer=1, kind=kind)[:, cell]
    return float(values.max())


def test_ablating_top_cells_changes_the_outputs_and_is_reproducible(family):
    name, model, _ = family
    sequences = [_as_input(model, s) for s in _sequences()[:4]]
    reference = model.run(sequences).outputs.detach().numpy()

    def closeness(result) -> float:
        # higher is better: minus the mean squared change of the outputs
        return -float(((result.outputs.detach().numpy() - reference) ** 2).mean())

    ranked = list(range(model.n_cells(layer=1)))
    first = ablate(model, sequences, closeness, ranked, layer=1, ks=(2,), random_draws=2,
                   progress=False)  # fmt: skip
    again = ablate(model, sequences, closeness, ranked, layer=1, ks=(2,), random_draws=2,
                   progress=False)  # fmt: skip
    assert first.baseline == pytest.approx(0.0, abs=1e-12)
    assert first.top["zero"][0] < 0, name  # clamping cells changes the outputs
    np.testing.assert_array_equal(first.top["zero"], again.top["zero"])
    np.testing.assert_array_equal(first.random["zero"], again.random["zero"])
