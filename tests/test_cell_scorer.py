"""CellScorer: score_cells prepared once per trace, for hypotheses tried one after another."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_widgets import Trace
from rnn_widgets.analysis import CellScorer, CellScores, score_cells
from rnn_widgets.analysis import _relevance as relevance
from rnn_widgets.hypotheses import regex

_FIELDS = ("score", "accuracy", "balanced_accuracy", "roc_auc", "r2", "correlation")


def _trace(states: np.ndarray, tokens: list[str], n_sequences: int = 30) -> Trace:
    cuts = np.linspace(0, len(states), n_sequences + 1).astype(int)
    sequences = [tokens[a:b] for a, b in itertools.pairwise(cuts)]
    return Trace.from_arrays(sequences, {"h": states})


def _planted(n_steps: int = 6000, n_cells: int = 10, seed: int = 0):
    """Tokens of a small alphabet; cell 2 tracks '(' and cell 6 is minus a slow depth."""
    rng = np.random.default_rng(seed)
    tokens = list(rng.choice(list("ab(c)"), size=n_steps))
    is_open = np.array([t == "(" for t in tokens], dtype=float)
    depth = np.cumsum(is_open - np.array([t == ")" for t in tokens], dtype=float))
    depth = (depth - depth.min()) / max(np.ptp(depth), 1.0)
    states = rng.normal(size=(n_steps, n_cells)).astype(np.float32)
    states[:, 2] = is_open + 0.4 * rng.normal(size=n_steps)
    states[:, 6] = -depth + 0.1 * rng.normal(size=n_steps)
    return states, tokens, is_open, depth


def _assert_same(a: CellScores, b: CellScores, atol: float = 0.0) -> None:
    assert a.hypotheses == b.hypotheses
    assert a.label_types == b.label_types
    for name in _FIELDS:
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), atol=atol, rtol=0)
    np.testing.assert_array_equal(a.sign, b.sign)
    np.testing.assert_allclose(a.fold_scores, b.fold_scores, atol=atol, rtol=0)


def test_the_planted_cells_rank_first_for_each_hypothesis_tried_in_turn() -> None:
    states, tokens, _, depth = _planted()
    scorer = CellScorer(_trace(states, tokens), folds=10, progress=False)
    opening = scorer.score(regex(r"\(", name="open"))
    deep = scorer.score({"depth": depth})
    assert opening.ranking("open")[0] == 2
    assert opening.score[0, 2] > 0.8
    assert deep.ranking("depth")[0] == 6
    assert deep.sign[0, 6] == -1
    assert deep.label_types == ("continuous",)


def test_scores_equal_score_cells_whatever_the_order_or_grouping_of_hypotheses() -> None:
    states, tokens, is_open, depth = _planted(seed=1)
    trace = _trace(states, tokens)
    labels = {"open": is_open, "depth": depth, "late": (np.arange(len(states)) % 7 < 3) * 1.0}
    together = score_cells(trace, labels, folds=8, progress=False)
    scorer = CellScorer(trace, folds=8, progress=False)
    for position, name in enumerate(labels):
        alone = scorer.score({name: labels[name]})
        for field in _FIELDS:
            np.testing.assert_allclose(
                getattr(alone, field)[0], getattr(together, field)[position], atol=1e-12, rtol=0
            )


def test_a_label_and_its_negation_score_alike() -> None:
    """A label on for most steps is read through its rarer class; its negation directly."""
    states, tokens, is_open, _ = _planted(seed=2)
    scorer = CellScorer(_trace(states, tokens), folds=6, progress=False)
    common = 1.0 - is_open  # on at ~80 % of the steps
    scores = scorer.score({"rare": is_open, "common": common})
    for field in ("balanced_accuracy", "accuracy", "roc_auc"):
        values = getattr(scores, field)
        np.testing.assert_allclose(values[0], values[1], atol=1e-9, rtol=0)
    np.testing.assert_array_equal(scores.sign[0], -scores.sign[1])


def test_without_the_bin_cache_the_scores_are_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    states, tokens, is_open, depth = _planted(seed=3)
    trace = _trace(states, tokens)
    labels = {"open": is_open, "common": 1.0 - is_open, "depth": depth}
    cached = CellScorer(trace, folds=5, progress=False)
    assert cached._binned.index is not None
    monkeypatch.setattr(relevance, "INDEX_CACHE_BYTES", 0)
    uncached = CellScorer(trace, folds=5, progress=False)
    assert uncached._binned.index is None
    _assert_same(cached.score(labels), uncached.score(labels), atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_steps=st.integers(60, 600),
    block_size=st.integers(1, 700),
    bins=st.integers(2, 300),
    fraction=st.floats(0.05, 0.95),
)
def test_blocks_and_bins_never_change_what_a_block_of_all_steps_gives(
    seed: int, n_steps: int, block_size: int, bins: int, fraction: float
) -> None:
    rng = np.random.default_rng(seed)
    label = (rng.random(n_steps) < fraction).astype(float)
    label[:2], label[-2:] = 1.0, 0.0  # never constant
    states = rng.normal(size=(n_steps, 3)) + label[:, None] * rng.normal(size=3)
    trace = _trace(states, ["x"] * n_steps, n_sequences=6)
    kwargs = {"folds": 3, "fold_by": "blocks", "bins": bins, "progress": False}
    one_block = CellScorer(trace, block_size=n_steps, **kwargs).score({"y": label})
    blocked = CellScorer(trace, block_size=block_size, **kwargs).score({"y": label})
    _assert_same(one_block, blocked, atol=1e-9)


def test_only_the_chosen_cells_are_scored_and_named() -> None:
    states, tokens, is_open, _ = _planted(seed=4)
    scorer = CellScorer(_trace(states, tokens), cells=[6, 2], folds=5, progress=False)
    scores = scorer.score({"open": is_open})
    assert scorer.cells.tolist() == [6, 2]
    assert scores.cells.tolist() == [6, 2]
    assert scores.ranking("open")[0] == 2
    with pytest.raises(ValueError):
        scorer.cells[0] = 1  # read-only


def test_bad_hypotheses_are_refused_and_the_scorer_still_works() -> None:
    states, tokens, is_open, _ = _planted(seed=5, n_steps=1200)
    scorer = CellScorer(_trace(states, tokens), folds=4, progress=False)
    with pytest.raises(ValueError, match="constant"):
        scorer.score({"never": np.zeros(len(states))})
    with pytest.raises(ValueError, match="one label per token"):
        scorer.score({"short": is_open[:-1]})
    assert scorer.score({"open": is_open}).ranking("open")[0] == 2


def test_bad_arguments_name_the_argument() -> None:
    states, tokens, *_ = _planted(n_steps=600)
    trace = _trace(states, tokens)
    with pytest.raises(ValueError, match="bins"):
        CellScorer(trace, bins=1)
    with pytest.raises(ValueError, match="folds"):
        CellScorer(trace, folds=1)
    with pytest.raises(ValueError, match="cell 99"):
        CellScorer(trace, cells=[99])
    with pytest.raises(TypeError, match="block_size"):
        CellScorer(trace, block_size="big")


def test_the_trace_is_not_modified() -> None:
    states, tokens, is_open, _ = _planted(n_steps=900)
    original = states.copy()
    trace = _trace(states, tokens)
    CellScorer(trace, folds=3, progress=False).score({"open": is_open})
    np.testing.assert_array_equal(trace.states(layer=0, kind="h"), original)


# ---------------------------------------------------------------------- label by example


def test_positive_examples_alone_score_as_their_labels_with_every_other_step_negative() -> None:
    states, tokens, *_ = _planted(seed=6)
    scorer = CellScorer(_trace(states, tokens), folds=5, progress=False)
    examples = [(100, 140, 1), (2000, 2100, 1), (4000, 4010, 1)]
    label = np.zeros(len(states))
    for start, stop, _ in examples:
        label[start:stop] = 1.0
    _assert_same(scorer.score_examples(examples, name="e"), scorer.score({"e": label}))


def test_the_cell_that_separates_brushed_examples_ranks_first() -> None:
    states, tokens, is_open, _ = _planted(seed=7)
    scorer = CellScorer(_trace(states, tokens), folds=20, progress=False)
    opens = np.flatnonzero(is_open)
    closes = np.flatnonzero(is_open == 0)
    examples = [(int(s), int(s) + 1, 1) for s in opens[::40][:12]]
    examples += [(int(s), int(s) + 1, 0) for s in closes[::90][:12]]
    scores = scorer.score_examples(examples)
    assert scores.fold_by == "examples"
    assert scores.ranking("examples")[0] == 2
    assert scores.score[0, 2] > 0.8
    assert np.nanmax(np.delete(scores.score[0], 2)) < scores.score[0, 2]
    assert scores.sign[0, 2] == 1
    assert scores.fold_scores.shape == (1, 10, 20)
    assert np.isnan(scores.roc_auc).all()


def test_a_cell_equal_to_the_label_classifies_every_held_out_example_right() -> None:
    """Pooled over held-out groups: 1.0 for the label's cell, near chance for noise."""
    rng = np.random.default_rng(8)
    n = 3000
    label = (np.arange(n) // 100) % 2 * 1.0
    states = np.stack([label + 0.01 * rng.normal(size=n), rng.normal(size=n)], 1)
    scorer = CellScorer(_trace(states, ["x"] * n), folds=4, progress=False)
    examples = [(a, a + 50, int(label[a])) for a in range(0, 2400, 300)]
    scores = scorer.score_examples(examples)
    assert scores.score[0, 0] == 1.0
    assert scores.accuracy[0, 0] == 1.0
    assert 0.2 < scores.score[0, 1] < 0.8


@pytest.mark.parametrize(
    ("examples", "error", "match"),
    [
        ("0:10", TypeError, "sequence of"),
        ([], ValueError, "empty"),
        ([(0, 10)], ValueError, r"\(start, stop, label\)"),
        ([(5, 5, 1)], ValueError, "stop"),
        ([(0, 10, 2)], ValueError, "label"),
        ([(0, 10**9, 1)], ValueError, "stop"),
        ([(0, 10, 0), (20, 30, 0)], ValueError, "no positive"),
        ([(0, 10, 1), (5, 15, 0), (40, 50, 1), (60, 70, 0)], ValueError, "overlap"),
        ([(0, 10, 1), (20, 30, 0)], ValueError, "at least 2"),
    ],
)
def test_bad_examples_say_what_to_fix(examples, error, match) -> None:
    states, tokens, *_ = _planted(n_steps=600)
    scorer = CellScorer(_trace(states, tokens), folds=3, progress=False)
    with pytest.raises(error, match=match):
        scorer.score_examples(examples)
