"""The Explorer's hypothesis loop: typed hypotheses and labelled examples, tracks and state."""

from __future__ import annotations

import builtins
import json
from typing import Any

import numpy as np
import pytest

from rnn_widgets import Explorer, Trace, analysis
from rnn_widgets import hypotheses as hy

_N_SEQUENCES, _LENGTH, _CELLS = 40, 60, 6


def _trace() -> Trace:
    """Cell 4 is on at '(' (plus noise), cell 1 at vowels; the rest is noise."""
    rng = np.random.default_rng(0)
    tokens = [list(rng.choice(list("ab(e)xyz"), size=_LENGTH)) for _ in range(_N_SEQUENCES)]
    flat = [t for sequence in tokens for t in sequence]
    states = rng.normal(size=(len(flat), _CELLS))
    states[:, 4] = np.array([t == "(" for t in flat]) + 0.2 * rng.normal(size=len(flat))
    states[:, 1] = np.array([t in "ae" for t in flat]) + 0.2 * rng.normal(size=len(flat))
    return Trace.from_arrays(tokens, {"h": states})


@pytest.fixture
def explorer() -> Explorer:
    return Explorer(_trace(), progress=False)


def _steps_of(trace: Trace, token: str) -> np.ndarray:
    return np.flatnonzero(np.array([t == token for t in trace.tokens]))


def test_a_typed_regex_ranks_its_cell_first_and_becomes_a_track(explorer):
    explorer.relevance_bars.try_hypothesis(r"\(")
    bars = explorer.relevance_bars
    assert bars.ranked_cells()[0] == 4
    (entry,) = explorer.hypotheses
    assert entry["kind"] == "regex" and entry["best_cell"] == 4
    track = explorer.select_view.trace.tracks[f"tried: {entry['name']}"]
    np.testing.assert_array_equal(track.values, bars.labels(entry["name"]))
    assert track.values.sum() == len(_steps_of(explorer.trace, "("))
    assert not any(name.startswith("tried: ") for name in explorer.trace.tracks)  # untouched


def test_each_try_adds_its_own_track_and_keeps_the_examples(explorer):
    explorer.select_view.examples = [{"start": 0, "stop": 3, "label": 1}]
    explorer.relevance_bars.try_hypothesis("a e", kind="tokens")
    explorer.relevance_bars.try_hypothesis(r"\(")
    tracks = explorer.select_view.trace.tracks
    assert sum(name.startswith("tried: ") for name in tracks) == 3  # examples, tokens, regex
    assert explorer.select_view.examples == [{"start": 0, "stop": 3, "label": 1}]


def test_brushed_examples_rank_the_cell_that_separates_them(explorer):
    opens = _steps_of(explorer.trace, "(")
    others = _steps_of(explorer.trace, "x")
    examples = [{"start": int(s), "stop": int(s) + 1, "label": 1} for s in opens[:8:2]]
    examples += [{"start": int(s), "stop": int(s) + 1, "label": 0} for s in others[:8:2]]
    explorer.select_view.examples = examples
    bars = explorer.relevance_bars
    assert bars.current == "examples"
    assert bars.ranked_cells()[0] == 4
    assert explorer.hypotheses[-1]["kind"] == "examples"
    assert len(explorer.hypotheses[-1]["examples"]) == 8


def test_too_few_examples_say_so_in_place_and_raise_nothing(explorer):
    explorer.select_view.examples = [
        {"start": 0, "stop": 4, "label": 1},
        {"start": 10, "stop": 12, "label": 0},
    ]
    bars = explorer.relevance_bars
    assert "at least 2" in bars.hypothesis_error
    assert bars.names == []


def test_only_negative_examples_score_nothing_yet(explorer):
    explorer.select_view.examples = [{"start": 0, "stop": 4, "label": 0}]
    assert explorer.relevance_bars.names == [] and explorer.relevance_bars.hypothesis_error == ""


def test_the_state_restores_typed_hypotheses_and_examples(explorer):
    explorer.relevance_bars.try_hypothesis("a e", kind="tokens")
    explorer.relevance_bars.try_hypothesis(r"\(", feature="impulse")
    explorer.select_view.examples = [
        {"start": 5, "stop": 9, "label": 1},
        {"start": 130, "stop": 133, "label": 1},
    ]
    explorer.relevance_bars.current = explorer.hypotheses[1]["name"]
    saved = json.loads(json.dumps(explorer.state))
    assert [h["kind"] for h in saved["hypotheses"]] == ["tokens", "regex"]

    fresh = Explorer(explorer.trace, progress=False)
    fresh.state = saved
    assert [h["name"] for h in fresh.hypotheses] == [h["name"] for h in explorer.hypotheses]
    assert fresh.relevance_bars.current == explorer.relevance_bars.current
    assert fresh.select_view.examples == explorer.select_view.examples
    for name in fresh.relevance_bars.names:
        np.testing.assert_array_equal(
            fresh.relevance_bars.scores(name), explorer.relevance_bars.scores(name)
        )


def test_a_saved_python_hypothesis_is_not_evaluated_unless_asked(explorer, monkeypatch):
    state: dict[str, Any] = {
        "version": 1,
        "hypotheses": [
            {"kind": "python", "text": "tokens[i] == '('", "feature": "range"},
            {"kind": "regex", "text": "x", "feature": "range"},
        ],
    }
    real_eval = builtins.eval

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a saved Python hypothesis was evaluated")

    monkeypatch.setattr(builtins, "eval", refuse)
    explorer.state = state
    assert [h["kind"] for h in explorer.hypotheses] == ["regex"]
    assert "not evaluated" in explorer.relevance_bars.message
    assert "evaluate_python=True" in explorer.relevance_bars.message
    monkeypatch.setattr(builtins, "eval", real_eval)
    explorer.restore(state, evaluate_python=True)
    kinds = {h["kind"]: h["name"] for h in explorer.hypotheses}
    assert sorted(kinds) == ["python", "regex"]  # the regex scored again, listed last
    assert explorer.hypotheses[-1]["kind"] == "regex"
    assert explorer.relevance_bars.ranked_cells(kinds["python"])[0] == 4


@pytest.mark.parametrize(
    ("hypotheses", "match"),
    [
        ("x", "must be a list"),
        ([{"kind": "regex", "text": "x"}], "exactly 'kind', 'text' and 'feature'"),
        ([{"kind": "shell", "text": "ls", "feature": "range"}], r"\['kind'\]"),
        ([{"kind": "regex", "text": "", "feature": "range"}], r"\['text'\]"),
        ([{"kind": "regex", "text": "x", "feature": "all"}], r"\['feature'\]"),
    ],
)
def test_bad_saved_hypotheses_are_refused_and_change_nothing(explorer, hypotheses, match):
    explorer.relevance_bars.try_hypothesis("x")
    before = (explorer.hypotheses, explorer.selection.to_dict())
    state = {"version": 1, "selection": {**explorer.selection.to_dict(), "cells": [2]},
             "hypotheses": hypotheses}  # fmt: skip
    with pytest.raises((TypeError, ValueError), match=match):
        explorer.state = state
    assert (explorer.hypotheses, explorer.selection.to_dict()) == before


def test_a_current_that_no_hypothesis_of_the_state_makes_is_refused(explorer):
    state = {
        "version": 1,
        "hypotheses": [{"kind": "regex", "text": "x", "feature": "range"}],
        "relevance_bars": {"current": "/y/"},
    }
    with pytest.raises(ValueError, match="is not one of the score names"):
        explorer.state = state
    assert explorer.hypotheses == ()


def test_given_hypotheses_prepare_the_scorer_the_box_then_reuses(monkeypatch):
    made = []
    original = analysis.CellScorer.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        made.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(analysis.CellScorer, "__init__", counting)
    explorer = Explorer(_trace(), hypotheses=[hy.token_in("(", name="open")], progress=False)
    explorer.relevance_bars.try_hypothesis("a e", kind="tokens")
    assert len(made) == 1
    assert explorer.relevance_bars.ranked_cells()[0] == 1
