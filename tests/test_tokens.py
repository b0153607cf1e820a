"""Tokens: a UTF-8 blob with offsets that decodes only what is asked for."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rnn_widgets.trace import Tokens


@given(st.lists(st.text(max_size=6), max_size=40))
def test_any_strings_round_trip(strings):
    tokens = Tokens.from_strings(strings)
    assert len(tokens) == len(strings)
    assert list(tokens) == strings
    assert tokens[:] == strings
    if strings:
        assert tokens[-1] == strings[-1]
        assert tokens[1:3] == strings[1:3]
        assert tokens[::2] == strings[::2]


def test_multibyte_tokens_keep_their_boundaries():
    tokens = Tokens.from_strings(["é", "", "日本", "<img src=x>"])
    assert tokens[1] == ""
    assert tokens[2:4] == ["日本", "<img src=x>"]
    assert tokens.data.nbytes == len("é日本<img src=x>".encode())


def test_out_of_range_index_raises_index_error():
    with pytest.raises(IndexError, match="out of range for 2 tokens"):
        Tokens.from_strings(["a", "b"])[2]


def test_storage_is_read_only():
    tokens = Tokens.from_strings(["a"])
    with pytest.raises(ValueError, match="read-only"):
        tokens.data[0] = 0
