"""hypotheses.from_text: what a user types in a hypothesis box, read as a Hypothesis."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_widgets import Trace
from rnn_widgets.hypotheses import Hypothesis, evaluate, from_text

CATASTROPHIC = r"(a|aa)+$"


def _trace(*texts: str) -> Trace:
    """A character-level trace, one sequence per text."""
    sequences = [list(text) for text in texts]
    n_steps = sum(len(s) for s in sequences)
    return Trace.from_arrays(sequences, {"h": np.zeros((n_steps, 2))})


def _labels(hypothesis: Hypothesis, *texts: str) -> list[float]:
    return evaluate(_trace(*texts), hypothesis).values[0].tolist()


# ---------------------------------------------------------------------- regex


def test_a_regex_marks_every_step_of_each_match_in_each_sequence():
    hypothesis = from_text(r"\(\w*\)")
    assert hypothesis.label_type == "binary"
    assert _labels(hypothesis, "a(bc)d", "()x") == [0, 1, 1, 1, 1, 0, 1, 1, 0]


def test_a_regex_with_the_impulse_feature_marks_each_match_first_and_last_step():
    hypothesis = from_text(r"\(\w*\)", feature="impulse")
    assert _labels(hypothesis, "a(bc)d", "()x") == [0, 1, 0, 0, 1, 0, 1, 1, 0]


def test_a_regex_never_matches_across_a_sequence_boundary():
    assert _labels(from_text("ab"), "xa", "bx") == [0, 0, 0, 0]


def test_a_regex_over_word_tokens_reads_them_joined_with_nothing_between():
    trace = Trace.from_arrays([["the", "cat", "sat"]], {"h": np.zeros((3, 2))})
    assert evaluate(trace, from_text("cats")).values[0].tolist() == [0, 1, 1]


def test_a_regex_keeps_its_spaces_and_inline_flags():
    assert _labels(from_text(" b"), "a b") == [0, 1, 1]
    assert _labels(from_text("(?i)B"), "abB") == [0, 1, 1]


def test_regex_names_say_the_pattern_and_the_feature():
    assert from_text(r"\(").name == r"/\(/"
    assert from_text(r"\(", feature="impulse").name == r"/\(/ (impulse)"


def test_a_long_text_gives_a_name_of_at_most_60_characters():
    many = " ".join(f"t{n}" for n in range(100))
    texts = {"regex": "a" * 200, "tokens": many, "python": "i > 0" + " and i > 0" * 30}
    names = [from_text(text, kind=kind).name for kind, text in texts.items()]
    assert [len(name) for name in names] == [60, 60, 60]
    assert names[0] == "/" + "a" * 57 + "…/"
    assert names[1].startswith("tokens: t0 t1 t2") and names[1].endswith("…")
    assert names[2].startswith("py: i > 0 and") and names[2].endswith("…")


def test_an_invalid_regex_is_refused_with_the_engines_own_message():
    with pytest.raises(ValueError, match=r"'\(' is not a valid regular expression: missing \)"):
        from_text("(")


def test_a_catastrophic_regex_stops_at_the_time_bound_of_trace_search():
    hypothesis = from_text(CATASTROPHIC)
    with pytest.raises(ValueError, match=r"too costly.*1 s \(SEARCH_TIMEOUT\).*simplify"):
        evaluate(_trace("a" * 40 + "!"), hypothesis)


# ---------------------------------------------------------------------- tokens


def test_tokens_separated_by_spaces_mark_the_steps_holding_one_of_them():
    hypothesis = from_text("( )", kind="tokens")
    assert hypothesis.name == "tokens: ( )"
    assert _labels(hypothesis, "a(b)", ")") == [0, 1, 0, 1, 1]


def test_word_tokens_are_whole_tokens_not_substrings():
    trace = Trace.from_arrays([["the", "cat", "theme"]], {"h": np.zeros((3, 2))})
    assert evaluate(trace, from_text("the  cat", kind="tokens")).values[0].tolist() == [1, 1, 0]


def test_escapes_give_space_tab_newline_and_backslash_tokens():
    hypothesis = from_text(r"\s \t \n \\", kind="tokens")
    assert _labels(hypothesis, "a b\tc\nd\\e") == [0, 1, 0, 1, 0, 1, 0, 1, 0]
    assert hypothesis.name == r"tokens: \s \t \n \\"


def test_a_backslash_space_is_a_space_token_too():
    assert _labels(from_text("\\  x", kind="tokens"), "a x") == [0, 1, 1]


def test_an_unknown_escape_is_refused_with_the_escapes_there_are():
    with pytest.raises(ValueError, match=r"unknown escape \\d at character 2; write \\s for a sp"):
        from_text(r"a \d", kind="tokens")
    with pytest.raises(ValueError, match=r"a lone \\ at the end"):
        from_text("a \\", kind="tokens")


# ---------------------------------------------------------------------- python


def test_a_python_expression_reads_tokens_and_i_at_every_step():
    hypothesis = from_text('i > 0 and tokens[i - 1] == "("', kind="python")
    assert hypothesis.name == 'py: i > 0 and tokens[i - 1] == "("'
    assert _labels(hypothesis, "(ab(", "(c") == [0, 1, 0, 0, 0, 1]


def test_a_python_expression_uses_names_of_the_namespace_given():
    namespace = {"vowels": set("aeiou")}
    hypothesis = from_text("tokens[i] in vowels", kind="python", namespace=namespace)
    assert _labels(hypothesis, "rnn_widgets") == [0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0]
    assert namespace == {"vowels": set("aeiou")}  # never modified


def test_a_python_expression_sees_tokens_and_i_inside_a_comprehension():
    hypothesis = from_text('sum(t == "(" for t in tokens[: i + 1]) > 1', kind="python")
    assert _labels(hypothesis, "((a") == [0, 1, 1]


def test_a_continuous_python_expression_gives_numbers_in_0_1():
    hypothesis = from_text("i / 4", kind="python", label_type="continuous")
    assert hypothesis.label_type == "continuous"
    assert _labels(hypothesis, "abcde") == [0, 0.25, 0.5, 0.75, 1]


def test_a_python_expression_that_raises_names_the_sequence_step_and_token():
    hypothesis = from_text('tokens[0] == "c" and tokens[i + 1] == "x"', kind="python")
    with pytest.raises(
        RuntimeError, match=r"raised IndexError on sequence 1: at step 1 \(token 'd'\): list index"
    ):
        evaluate(_trace("ab", "cd"), hypothesis)


def test_a_python_expression_of_the_wrong_type_names_the_step():
    hypothesis = from_text("tokens[i]", kind="python")
    with pytest.raises(RuntimeError, match=r"at step 0 \(token 'a'\) the expression gave str 'a'"):
        evaluate(_trace("ab"), hypothesis)


def test_a_binary_python_expression_refuses_fractions_with_the_fix():
    hypothesis = from_text("0.5", kind="python")
    with pytest.raises(RuntimeError, match=r"gave 0.5.*label_type='continuous'"):
        evaluate(_trace("ab"), hypothesis)


def test_a_continuous_python_expression_refuses_values_outside_0_1():
    hypothesis = from_text("i - 1", kind="python", label_type="continuous")
    with pytest.raises(RuntimeError, match=r"at step 0 \(token 'a'\) the expression gave -1"):
        evaluate(_trace("ab"), hypothesis)


def test_a_statement_is_refused_as_not_an_expression():
    with pytest.raises(ValueError, match=r"'x = 1' is not a valid Python expression"):
        from_text("x = 1", kind="python")


# ---------------------------------------------------------------------- arguments


@pytest.mark.parametrize("kind", ["regex", "tokens", "python"])
def test_empty_text_is_refused_with_an_example_of_the_kind(kind):
    with pytest.raises(ValueError, match=r"text is empty; type .*e\.g\."):
        from_text("   " if kind != "regex" else "", kind=kind)


def test_text_that_is_not_a_str_is_refused():
    with pytest.raises(TypeError, match="text must be a str"):
        from_text(None)  # type: ignore[arg-type]


def test_an_unknown_kind_is_refused_naming_the_kinds():
    with pytest.raises(ValueError, match=r"kind must be one of \['regex', 'tokens', 'python'\]"):
        from_text("a", kind="glob")


def test_the_impulse_feature_applies_to_regexes_only():
    with pytest.raises(ValueError, match=r"feature='impulse' applies to kind='regex' only"):
        from_text("a", kind="tokens", feature="impulse")
    with pytest.raises(ValueError, match=r"feature must be 'range' or 'impulse'"):
        from_text("a", feature="spike")


def test_a_continuous_label_type_applies_to_python_only():
    with pytest.raises(ValueError, match=r"label_type='continuous' applies to kind='python' only"):
        from_text("a", kind="regex", label_type="continuous")


def test_a_namespace_that_is_not_a_mapping_is_refused():
    with pytest.raises(TypeError, match="namespace must be a mapping"):
        from_text("i", kind="python", namespace=[1])  # type: ignore[arg-type]
