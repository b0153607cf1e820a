"""Trace.search: phrases and regular expressions over the joined tokens of each sequence."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnn_widgets as rw


def _trace(sequences: list[list[str]]) -> rw.Trace:
    n_steps = sum(len(tokens) for tokens in sequences)
    return rw.Trace.from_arrays(sequences, {"h": np.zeros((n_steps, 2), dtype=np.float32)})


def test_a_character_trace_is_searched_without_separators() -> None:
    trace = _trace([list("((4))(1)"), list("(4)x")])
    np.testing.assert_array_equal(trace.search("(4)"), [[1, 4], [8, 11]])
    np.testing.assert_array_equal(trace.search(r"\(\d\)", regex=True), [[1, 4], [5, 8], [8, 11]])


def test_a_word_trace_is_searched_with_spaces_and_hits_cover_whole_tokens() -> None:
    trace = _trace([["the", "little", "prince", "."], ["a", "little", "prince"]])
    np.testing.assert_array_equal(trace.search("little prince"), [[1, 3], [5, 7]])
    np.testing.assert_array_equal(trace.search("ttle pri"), [[1, 3], [5, 7]])


def test_a_hit_never_crosses_a_sequence_boundary() -> None:
    trace = _trace([list("ab"), list("cd")])
    assert trace.search("bc").shape == (0, 2)


def test_no_hit_is_an_empty_array_and_bad_phrases_say_why() -> None:
    trace = _trace([list("abc")])
    assert trace.search("zz").shape == (0, 2)
    with pytest.raises(ValueError, match="empty"):
        trace.search("")
    with pytest.raises(ValueError, match="regular expression"):
        trace.search("(", regex=True)
    with pytest.raises(TypeError, match="phrase must be a str"):
        trace.search(3)  # type: ignore[arg-type]


def test_tokens_are_searched_as_text_not_as_patterns() -> None:
    trace = _trace([list("a.c"), list("abc")])
    np.testing.assert_array_equal(trace.search("a.c"), [[0, 3]])
    np.testing.assert_array_equal(trace.search("a.c", regex=True), [[0, 3], [3, 6]])


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.text(alphabet="ab(", min_size=1, max_size=30), min_size=1, max_size=4),
    st.text(alphabet="ab(", min_size=1, max_size=3),
)
def test_character_search_finds_every_non_overlapping_occurrence(texts, phrase) -> None:
    trace = _trace([list(text) for text in texts])
    expected = []
    offset = 0
    for text in texts:
        position = text.find(phrase)
        while position >= 0:
            expected.append([offset + position, offset + position + len(phrase)])
            position = text.find(phrase, position + len(phrase))
        offset += len(text)
    np.testing.assert_array_equal(trace.search(phrase), np.array(expected).reshape(-1, 2))
