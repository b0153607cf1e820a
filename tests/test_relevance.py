"""Neuron relevance (DNI): score_cells and probe, against planted answers and scikit-learn."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from rnn_widgets import Trace
from rnn_widgets.analysis import CellScores, ProbeResult, probe, score_cells
from rnn_widgets.analysis._relevance import fold_bounds
from rnn_widgets.hypotheses import hypothesis, token_in


def _trace(states: np.ndarray, n_sequences: int = 40, tokens: list[str] | None = None) -> Trace:
    n_steps = len(states)
    cuts = np.linspace(0, n_steps, n_sequences + 1).astype(int)
    words = tokens if tokens is not None else ["x"] * n_steps
    sequences = [words[a:b] for a, b in itertools.pairwise(cuts)]
    return Trace.from_arrays(sequences, {"h": states})


def _planted(n_steps: int = 20000, n_cells: int = 12, noise: float = 0.5, seed: int = 0):
    """Random cells; cell 7 = label + noise, cell 3 = -label + more noise, cell 5 constant."""
    rng = np.random.default_rng(seed)
    label = (rng.random(n_steps) < 0.5).astype(np.float32)
    states = rng.normal(size=(n_steps, n_cells))
    states[:, 7] = label + noise * rng.normal(size=n_steps)
    states[:, 3] = -label + 1.5 * noise * rng.normal(size=n_steps)
    states[:, 5] = 0.25
    return states, label


# ---------------------------------------------------------------------- planted answers


def test_a_noisy_copy_of_a_binary_label_ranks_first_at_its_noise_determined_score():
    states, label = _planted(noise=0.5)
    scores = score_cells(_trace(states), {"on": label}, progress=False)
    assert scores.ranking("on")[0] == 7
    # Threshold halfway between the classes: each class is right with probability Phi(0.5/0.5).
    expected = norm.cdf(0.5 / 0.5)
    assert scores.balanced_accuracy[0, 7] == pytest.approx(expected, abs=0.015)
    assert scores.roc_auc[0, 7] == pytest.approx(norm.cdf(1.0 / (0.5 * np.sqrt(2))), abs=0.015)
    assert scores.sign[0, 7] == 1


def test_an_anti_correlated_cell_ranks_high_with_a_negative_sign():
    states, label = _planted(noise=0.5)
    scores = score_cells(_trace(states), {"on": label}, progress=False)
    assert scores.ranking("on")[:2].tolist() == [7, 3]
    assert scores.sign[0, 3] == -1
    assert scores.correlation[0, 3] < -0.5
    # The model's weight flips sign: as predictive as its noise allows, Phi(0.5 / 0.75).
    assert scores.balanced_accuracy[0, 3] == pytest.approx(norm.cdf(0.5 / 0.75), abs=0.015)


def test_a_constant_cell_scores_at_chance():
    states, label = _planted()
    rng = np.random.default_rng(1)
    level = rng.random(len(label)).astype(np.float32)
    scores = score_cells(_trace(states), {"on": label, "level": level}, progress=False)
    assert scores.balanced_accuracy[0, 5] == 0.5
    assert scores.roc_auc[0, 5] == 0.5
    assert scores.sign[0, 5] == 0 and scores.sign[1, 5] == 0
    assert -0.01 < scores.r2[1, 5] <= 0.0  # the training mean, on held-out steps
    assert scores.chance.tolist() == [0.5, 0.0]


def test_folds_that_hold_one_class_do_not_lift_every_cell_of_a_rare_feature():
    # The label is on only in the first 5 of 40 sequences (one fold each): the 35 folds
    # without it cannot tell a noise cell from a perfect one, so they must not count.
    rng = np.random.default_rng(0)
    label = np.zeros(8000, dtype=np.float32)
    label[:1000] = rng.random(1000) < 0.5
    states = rng.normal(size=(8000, 4))
    scores = score_cells(_trace(states), {"rare": label}, folds=40, progress=False)
    assert np.all(np.abs(scores.balanced_accuracy[0] - 0.5) < 0.05)
    defined = np.isfinite(scores.fold_scores[0, 0])
    assert defined.sum() == 5


def test_a_noisy_copy_of_a_continuous_label_has_the_noise_determined_r2():
    rng = np.random.default_rng(2)
    n_steps = 20000
    level = rng.random(n_steps)
    states = rng.normal(size=(n_steps, 10))
    states[:, 7] = level + 0.2 * rng.normal(size=n_steps)
    scores = score_cells(_trace(states), {"level": level}, progress=False)
    variance = 1.0 / 12.0
    assert scores.ranking("level")[0] == 7
    assert scores.r2[0, 7] == pytest.approx(variance / (variance + 0.04), abs=0.02)
    assert np.isnan(scores.accuracy[0]).all() and scores.label_types == ("continuous",)


# ---------------------------------------------------------------------- equal to scikit-learn


def _sklearn_scores(states, label, level, bounds):
    """The plain loop: one scikit-learn model per cell and fold, the same contiguous folds."""
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, r2_score, roc_auc_score

    n_cells, n_folds = states.shape[1], len(bounds) - 1
    out = {name: np.full((n_cells, n_folds), np.nan) for name in ("acc", "bal", "auc", "r2")}
    x_all = states.astype(np.float32).astype(np.float64)
    for cell in range(n_cells):
        x = x_all[:, [cell]]
        scaled = x / x.std()  # score_cells fits the cell's values in units of their spread
        for fold in range(n_folds):
            test = np.zeros(len(label), dtype=bool)
            test[bounds[fold] : bounds[fold + 1]] = True
            model = LogisticRegression().fit(scaled[~test], label[~test])
            predicted = model.predict(scaled[test])
            out["acc"][cell, fold] = accuracy_score(label[test], predicted)
            # A fold holding one class says nothing about separating them: undefined, as AUC.
            if len(np.unique(label[test])) == 2:
                out["bal"][cell, fold] = balanced_accuracy_score(label[test], predicted)
                out["auc"][cell, fold] = roc_auc_score(
                    label[test], model.decision_function(scaled[test])
                )
            fitted = LinearRegression().fit(x[~test], level[~test])
            out["r2"][cell, fold] = r2_score(level[test], fitted.predict(x[test]))
    return {name: np.nanmean(values, axis=1) for name, values in out.items()}


@pytest.mark.parametrize("fold_by", ["sequences", "blocks"])
def test_scores_equal_scikit_learns_models_on_the_same_folds(fold_by):
    rng = np.random.default_rng(3)
    n_steps = 3000
    # Runs of on-steps (rare, as real features are) and a smooth level.
    label = (np.convolve(rng.random(n_steps) < 0.03, np.ones(15), "same") > 0).astype(float)
    level = np.clip(np.convolve(rng.normal(size=n_steps), np.ones(40) / 40, "same") * 3 + 0.5, 0, 1)
    states = rng.normal(size=(n_steps, 6))
    states[:, 1] = label + 0.7 * rng.normal(size=n_steps)
    states[:, 2] = -2 * level + 0.3 * rng.normal(size=n_steps)
    states[:, 4] = np.tanh(3 * states[:, 4])  # saturating, like h
    trace = _trace(states, n_sequences=30)
    scores = score_cells(trace, {"on": label, "level": level}, fold_by=fold_by, progress=False)
    reference = _sklearn_scores(states, label, level, scores.fold_bounds)
    np.testing.assert_allclose(scores.accuracy[0], reference["acc"], atol=1e-3)
    np.testing.assert_allclose(scores.balanced_accuracy[0], reference["bal"], atol=1e-3)
    np.testing.assert_allclose(scores.roc_auc[0], reference["auc"], atol=1e-3)
    np.testing.assert_allclose(scores.r2[1], reference["r2"], atol=1e-6)


def test_scores_are_the_same_block_by_block_and_whole():
    states, label = _planted(n_steps=4000, noise=0.8)
    level = np.random.default_rng(4).random(4000)
    hypotheses = {"on": label, "level": level}
    whole = score_cells(_trace(states), hypotheses, block_size=10**6, progress=False)
    pieces = score_cells(_trace(states), hypotheses, block_size=37, progress=False)
    for name in ("accuracy", "balanced_accuracy", "roc_auc", "r2", "correlation"):
        np.testing.assert_allclose(getattr(pieces, name), getattr(whole, name), atol=1e-9)


def test_a_memory_mapped_trace_scores_as_the_one_in_memory(tmp_path):
    states, label = _planted(n_steps=3000)
    trace = _trace(states)
    trace.save(tmp_path / "run.h5")
    loaded = Trace.load(tmp_path / "run.h5")
    in_memory = score_cells(trace, {"on": label}, progress=False)
    mapped = score_cells(loaded, {"on": label}, progress=False)
    np.testing.assert_array_equal(in_memory.score, mapped.score)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(0, 11), min_size=1, max_size=5, unique=True))
def test_scoring_a_subset_of_cells_gives_their_rows_of_the_full_table(cells):
    states, label = _planted(n_steps=1200)
    trace = _trace(states, n_sequences=25)
    full = score_cells(trace, {"on": label}, progress=False)
    part = score_cells(trace, {"on": label}, cells=cells, progress=False)
    assert part.cells.tolist() == cells
    np.testing.assert_allclose(part.score[0], full.score[0, cells], atol=1e-9)


# ---------------------------------------------------------------------- folds


def test_sequence_folds_cut_only_between_sequences_and_cover_every_step():
    trace = _trace(np.zeros((1000, 2)), n_sequences=50)
    bounds, how = fold_bounds(trace, folds=20)
    starts = set(np.asarray(trace.sequence_bounds)[:, 0].tolist())
    assert how == "sequences" and bounds[0] == 0 and bounds[-1] == 1000
    assert set(bounds[:-1].tolist()) <= starts
    assert (np.diff(bounds) > 0).all() and len(bounds) == 21


def test_block_folds_are_contiguous_and_used_when_there_are_few_sequences():
    trace = _trace(np.zeros((1000, 2)), n_sequences=3)
    bounds, how = fold_bounds(trace, folds=20)
    assert how == "blocks"
    assert np.diff(bounds).tolist() == [50] * 20


# ---------------------------------------------------------------------- the table


def test_top_ranking_rows_and_hypothesis_objects():
    states, label = _planted(n_steps=2000)
    tokens = ["a" if on else "b" for on in label]

    @hypothesis(label_type="binary")
    def is_a(words):
        return [w == "a" for w in words]

    trace = _trace(states, tokens=tokens)
    scores = score_cells(trace, [is_a, token_in({"b"}, name="is_b")], progress=False)
    assert isinstance(scores, CellScores)
    assert scores.hypotheses == ("is_a", "is_b")
    assert scores.top(2)["is_a"].tolist() == [7, 3]
    assert scores.sign[1, 7] == -1  # "b" is the complement of "a"
    assert scores.top(5, minimum=0.7)["is_a"].tolist() == [7, 3]
    rows = scores.to_rows()
    assert len(rows) == 2 * 12 and rows[0]["hypothesis"] == "is_a" and rows[0]["cell"] == 7
    assert rows[0]["rank"] == 0 and rows[0]["score"] == scores.score[0, 7]


def test_to_pandas_gives_the_tidy_table():
    import pandas

    states, label = _planted(n_steps=1000)
    frame = score_cells(_trace(states), {"on": label}, progress=False).to_pandas()
    assert isinstance(frame, pandas.DataFrame) and len(frame) == 12
    assert {"hypothesis", "cell", "score", "sign", "roc_auc"} <= set(frame.columns)


# ---------------------------------------------------------------------- bad input


def _small():
    states, label = _planted(n_steps=400)
    return _trace(states, n_sequences=20), label


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda t, y: {"on": y[:-1]}, ValueError, r"returned shape \(399,\) for 400 tokens"),
        (lambda t, y: {"on": np.where(y > 0, np.nan, 0)}, ValueError, "NaN or infinite"),
        (lambda t, y: {"on": np.array(["a"] * 400)}, TypeError, "not strings"),
        (lambda t, y: {"on": np.zeros(400)}, ValueError, "is constant over the trace"),
        (lambda t, y: {"on": 2 * y + 1}, ValueError, r"normalise them to \[0, 1\]"),
        (lambda t, y: [lambda tokens: tokens], TypeError, "decorate it with @hypothesis"),
    ],
)
def test_bad_hypotheses_are_refused_with_a_clear_message(make, error, message):
    trace, label = _small()
    with pytest.raises(error, match=message):
        score_cells(trace, make(trace, label), progress=False)


def test_a_hypothesis_that_returns_the_wrong_length_names_itself_and_the_sequence():
    trace, _ = _small()

    @hypothesis
    def short(tokens):
        return np.zeros(len(tokens) - 1)

    with pytest.raises(ValueError, match=r"hypothesis 'short' returned shape .* on sequence 0"):
        score_cells(trace, short, progress=False)


def test_too_few_steps_for_the_folds_is_refused():
    states, label = _planted(n_steps=30)
    with pytest.raises(ValueError, match="30 steps, too few for 20 folds"):
        score_cells(_trace(states, n_sequences=3), {"on": label}, progress=False)
    with pytest.raises(ValueError, match="fold_by=.sequences. needs at least 5 sequences"):
        score_cells(_trace(states, n_sequences=3), {"on": label}, folds=5, fold_by="sequences",
                    progress=False)  # fmt: skip


def test_unknown_cells_layers_and_kinds_are_refused():
    trace, label = _small()
    with pytest.raises(ValueError, match=r"cell 12 does not exist; layer 0 has cells 0 \.\. 11"):
        score_cells(trace, {"on": label}, cells=[1, 12], progress=False)
    with pytest.raises(ValueError, match="layer"):
        score_cells(trace, {"on": label}, layer=3, progress=False)
    with pytest.raises(ValueError, match="kind"):
        score_cells(trace, {"on": label}, kind="c", progress=False)
    with pytest.raises(ValueError, match="fold_by must be"):
        score_cells(trace, {"on": label}, fold_by="shuffled", progress=False)


# ---------------------------------------------------------------------- probe


def test_a_probe_finds_the_two_cells_that_carry_a_feature_together():
    rng = np.random.default_rng(5)
    n_steps = 6000
    a, b = rng.normal(size=n_steps), rng.normal(size=n_steps)
    label = (a + b > 0).astype(float)
    states = rng.normal(size=(n_steps, 16))
    states[:, 2], states[:, 9] = a, b
    result = probe(_trace(states), {"sum": label}, k=2, progress=False)
    assert isinstance(result, ProbeResult)
    assert sorted(result.cells.tolist()) == [2, 9]
    assert result.selection_frequency.tolist() == [20, 20]
    assert result.score > 0.97  # the two cells decide it exactly
    assert result.best_cell in (2, 9) and result.best_cell_score < 0.8
    assert result.gain > 0.15
    assert result.scores_by_size[0] == pytest.approx(result.best_cell_score, abs=0.02)
    assert np.sign(result.weights).tolist() == [1.0, 1.0]


def test_a_continuous_probe_recovers_the_weights_of_a_linear_mix():
    rng = np.random.default_rng(6)
    n_steps = 5000
    states = rng.normal(size=(n_steps, 10))
    level = 0.5 + 0.1 * (2 * states[:, 4] - states[:, 8]) + 0.01 * rng.normal(size=n_steps)
    result = probe(_trace(states), {"level": np.clip(level, 0, 1)}, k=2, progress=False)
    assert result.cells.tolist() == [4, 8] and result.metric == "r2"
    np.testing.assert_allclose(result.weights, [0.2, -0.1], atol=0.01)
    assert result.intercept == pytest.approx(0.5, abs=0.01)
    assert result.score > 0.95


def test_probe_refuses_several_hypotheses_and_too_many_cells():
    trace, label = _small()
    with pytest.raises(ValueError, match="one hypothesis at a time"):
        probe(trace, {"a": label, "b": 1 - label}, progress=False)
    with pytest.raises(ValueError, match="k=20 exceeds the 12 candidate cells"):
        probe(trace, {"a": label}, k=20, progress=False)


def test_cells_tied_at_chance_on_a_rare_label_are_ranked_by_auc():
    rng = np.random.default_rng(7)
    n_steps = 4000
    label = (rng.random(n_steps) < 0.03).astype(float)
    states = rng.normal(size=(n_steps, 6))
    states[:, 4] += 0.8 * label  # weak: its model still predicts "off" everywhere
    scores = score_cells(_trace(states), {"rare": label}, progress=False)
    assert (scores.score[0] == 0.5).all()  # every model predicts the majority label
    assert scores.ranking("rare")[0] == 4
    assert scores.roc_auc[0, 4] > 0.65


def test_binary_hypotheses_scored_in_memory_bounded_groups_score_the_same(monkeypatch):
    from rnn_widgets.analysis import _relevance

    states, label = _planted(n_steps=2000)
    rng = np.random.default_rng(8)
    hypotheses = {f"h{i}": (rng.random(2000) < 0.3 + 0.1 * i).astype(float) for i in range(3)}
    hypotheses["on"] = label
    together = score_cells(_trace(states), hypotheses, progress=False)
    monkeypatch.setattr(_relevance, "_HISTOGRAM_BYTES", 1)  # one hypothesis per group
    apart = score_cells(_trace(states), hypotheses, progress=False)
    np.testing.assert_array_equal(apart.score, together.score)
    np.testing.assert_array_equal(apart.roc_auc, together.roc_auc)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(2, 60), min_size=2, max_size=40),
    st.integers(2, 40),
)
def test_sequence_folds_are_strictly_increasing_sequence_starts_for_any_lengths(lengths, folds):
    if folds > len(lengths):
        return
    sequences = [["x"] * n for n in lengths]
    trace = Trace.from_arrays(sequences, {"h": np.zeros((sum(lengths), 1))})
    if trace.n_steps < 2 * folds:
        return
    bounds, how = fold_bounds(trace, folds=folds, fold_by="sequences")
    starts = np.asarray(trace.sequence_bounds)[:, 0].tolist()
    assert how == "sequences" and len(bounds) == folds + 1
    assert bounds[0] == 0 and bounds[-1] == trace.n_steps
    assert (np.diff(bounds) > 0).all() and set(bounds[:-1].tolist()) <= set(starts)
