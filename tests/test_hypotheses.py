"""Hypotheses: labelling functions, built-ins, task ground truth, evaluation over a trace."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_widgets import Trace, hypotheses, tasks
from rnn_widgets.hypotheses import (
    Hypothesis,
    LabelSet,
    annotate,
    bracket_spans,
    evaluate,
    from_labels,
    from_task,
    hypothesis,
    inside_quotes,
    nesting_depth,
    productions,
    python_call_arguments,
    python_features,
    python_function_definition,
    python_in_comment,
    python_in_string,
    python_indentation,
    range_and_impulse,
    regex,
    spans,
    token_in,
)


def _trace(texts: list[str]) -> Trace:
    sequences = [list(text) for text in texts]
    n_steps = sum(len(s) for s in sequences)
    return Trace.from_arrays(sequences, {"h": np.zeros((n_steps, 2))})


# ---------------------------------------------------------------------- the decorator


def test_the_decorator_names_a_plain_function_and_keeps_its_labels():
    @hypothesis(label_type="continuous")
    def position(tokens):
        """Where in the sequence we are."""
        return np.arange(len(tokens)) / max(len(tokens) - 1, 1)

    assert isinstance(position, Hypothesis)
    assert (position.name, position.label_type) == ("position", "continuous")
    assert position.description == "Where in the sequence we are."
    assert position(list("abc")).tolist() == [0.0, 0.5, 1.0]
    assert position(list("abc")).dtype == np.float32


def test_the_bare_decorator_makes_a_binary_hypothesis_and_accepts_bools():
    @hypothesis
    def space(tokens):
        return [t == " " for t in tokens]

    assert space.label_type == "binary"
    assert space(list("a b")).tolist() == [0.0, 1.0, 0.0]


def test_a_lambda_needs_a_name():
    with pytest.raises(TypeError, match="give the hypothesis a name"):
        hypothesis(lambda tokens: [0] * len(tokens))
    assert hypothesis(lambda t: [1] * len(t), name="all").name == "all"


@pytest.mark.parametrize(
    ("output", "label_type", "error", "message"),
    [
        (lambda t: [0] * (len(t) - 1), "binary", ValueError, r"shape \(2,\) for 3 tokens"),
        (lambda t: [0.0, np.nan, 0.0], "binary", ValueError, "NaN or infinite labels"),
        (lambda t: ["x"] * len(t), "binary", TypeError, "not strings"),
        (lambda t: [0, 2, 0], "binary", ValueError, "binary labels are 0 or 1"),
        (lambda t: [0, 1.5, 0], "continuous", ValueError, r"normalise them to \[0, 1\]"),
        (lambda t: None, "binary", TypeError, "returned None"),
        (lambda t: np.zeros((3, 1)), "binary", ValueError, r"shape \(3, 1\)"),
    ],
)
def test_bad_labels_are_refused_with_a_clear_message(output, label_type, error, message):
    bad = hypothesis(output, label_type=label_type, name="bad")
    with pytest.raises(error, match=message):
        bad(list("abc"))


def test_a_hypothesis_that_raises_is_named_with_its_sequence():
    @hypothesis
    def broken(tokens):
        raise KeyError("oops")

    with pytest.raises(
        RuntimeError, match=r"hypothesis 'broken' raised KeyError on sequence 0: 'oops'"
    ):
        evaluate(_trace(["ab", "cd"]), broken)


def test_a_bad_label_type_and_duplicate_names_are_refused():
    with pytest.raises(ValueError, match="label_type must be 'binary' or 'continuous'"):
        hypothesis(lambda t: t, name="x", label_type="ordinal")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"names must be unique, \['digit'\] repeat"):
        evaluate(_trace(["a1"]), [token_in("1", name="digit"), token_in("2", name="digit")])


# ---------------------------------------------------------------------- built-ins


def test_token_in_and_regex_mark_the_right_steps():
    assert token_in({"(", ")"})(list("(a)")).tolist() == [1.0, 0.0, 1.0]
    assert regex(r"\d+")(list("ab12c3")).tolist() == [0, 0, 1, 1, 0, 1]
    impulse = regex(r"\d+", feature="impulse")(list("ab123c"))
    assert impulse.tolist() == [0, 0, 1, 0, 1, 0]


def test_regex_over_multi_character_tokens_marks_every_overlapped_token():
    tokens = ["def", " ", "foo", "(", "x", ")"]
    assert regex(r"f foo\(")(tokens).tolist() == [1, 1, 1, 1, 0, 0]


def test_regex_refuses_a_bad_pattern():
    with pytest.raises(ValueError, match="not a valid regular expression"):
        regex("(")


def test_nesting_depth_equals_the_parentheses_task_depth():
    task = tasks.parentheses(20, 60, seed=3)
    depth = nesting_depth(max_depth=4)
    for sequence, truth in zip(task.sequences, task.labels["depth"], strict=True):
        np.testing.assert_allclose(depth(list(sequence)), truth / 4.0)


def test_nesting_depth_clips_and_ignores_unmatched_closers():
    assert nesting_depth("[", "]", max_depth=2)(list("][[[x]]]")).tolist() == [
        0.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5,
    ]  # fmt: skip


def test_inside_quotes_covers_the_quotes_and_honours_escapes():
    text = 'x = "a\\"b" + \'c"\' ;'
    labels = inside_quotes()(list(text))
    inside = "".join("1" if v else "0" for v in labels)
    assert inside == "0000111111000111100"
    assert inside_quotes()(list('a "open')).tolist() == [0, 0, 1, 1, 1, 1, 1]


def test_spans_give_range_and_impulse_features_as_in_dni_section_4():
    # The paper's figure 1: "((1+2))", the outer and the inner parentheses.
    text = list("((1+2))")
    outer, inner = (0, 7), (1, 6)
    find = bracket_spans("(", ")")
    assert sorted(find(text)) == [outer, inner]
    range_, impulse = range_and_impulse("paren", find)
    assert range_.name == "paren (range)" and impulse.name == "paren (impulse)"
    assert range_(text).tolist() == [1, 1, 1, 1, 1, 1, 1]
    assert impulse(text).tolist() == [1, 1, 0, 0, 0, 1, 1]
    only_inner = spans("inner", lambda t: [inner], feature="range")
    assert only_inner(text).tolist() == [0, 1, 1, 1, 1, 1, 0]


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet="()ab", max_size=40))
def test_bracket_range_feature_is_on_exactly_where_the_depth_is_positive(text):
    tokens = list(text)
    # Every step inside a matched pair has depth > 0; with unmatched brackets only the
    # matched pairs count, so compare on balanced prefixes.
    depth, balanced = 0, True
    for token in tokens:
        depth += {"(": 1, ")": -1}.get(token, 0)
        balanced &= depth >= 0
    if not balanced or depth != 0:
        return
    covered = spans("b", bracket_spans())(tokens)
    np.testing.assert_array_equal(covered > 0, nesting_depth(max_depth=40)(tokens) > 0)


# ---------------------------------------------------------------------- Python source


CODE = '''import os  # a comment

def greet(name, times=2):
    """Say hello."""
    for _ in range(times):
        print(f"hi {name}", end="")
    return len(name)
'''


def _marked(hyp: Hypothesis, text: str) -> str:
    """The text with every unmarked character but newlines replaced by ``_``."""
    labels = hyp(list(text))
    return "".join(c if v or c == "\n" else "_" for c, v in zip(text, labels, strict=True))


def test_python_strings_and_comments_follow_tokenize():
    assert _marked(python_in_comment(), CODE).split("\n")[0] == "___________# a comment"
    strings = _marked(python_in_string(), CODE).replace("_", " ").split()
    assert strings == ['"""Say', 'hello."""', 'f"hi', '{name}"', '""']


def test_python_call_arguments_span_each_calls_parentheses():
    text = "f(a, g(b))\nx = h()\n"
    assert _marked(python_call_arguments(), text) == "_(a, g(b))\n_____()\n"
    assert _marked(python_call_arguments("impulse"), text) == "_(____(_))\n_____()\n"


def test_python_function_definition_spans_def_to_the_end_of_its_body():
    marked = _marked(python_function_definition(), CODE).split("\n")
    assert marked[0] == "_" * len("import os  # a comment")
    assert marked[2].startswith("def greet(") and marked[6] == "    return len(name)"
    impulse = python_function_definition("impulse")(list(CODE))
    assert np.flatnonzero(impulse).tolist() == [CODE.index("def"), CODE.index("(name)\n") + 5]


def test_python_indentation_is_the_block_depth():
    depth = python_indentation(max_depth=2)(list(CODE))
    lines = CODE.split("\n")
    starts = np.cumsum([0] + [len(line) + 1 for line in lines[:-1]])
    per_line = [
        float(depth[s]) if len(line) else None for s, line in zip(starts, lines, strict=True)
    ]
    assert per_line[:7] == [0.0, None, 0.0, 0.5, 0.5, 1.0, 0.5]


def test_python_features_survive_code_cut_mid_statement():
    cut = CODE + "value = compute(1,\n"
    labels = evaluate(_trace([cut]), list(python_features()))
    assert labels.values.shape == (8, len(cut))
    tail = len(CODE)
    assert (labels.values[:, tail:] == 0).all()  # past the last readable statement
    assert labels["python in string"][: len(CODE)].max() == 1.0


def test_python_ast_offsets_count_characters_not_utf8_bytes():
    text = 's = "é"; f(1)\n'
    assert _marked(python_call_arguments(), text) == "__________(1)\n"


def test_python_features_agree_with_the_python_source_task_labels():
    task = tasks.python_source(files=[tasks.PYTHON_HELDOUT_FILES[0]])  # one whole file
    text = list(task.sequences[0])
    np.testing.assert_array_equal(python_in_string()(text), task.labels["in_string"][0])
    depth = python_indentation(max_depth=64)(text) * 64
    np.testing.assert_allclose(depth, task.labels["indent"][0], atol=1e-4)


# ---------------------------------------------------------------------- task ground truth


def test_grammar_productions_are_the_tasks_range_and_impulse_features():
    task = tasks.arithmetic(30, 30, seed=5)
    found = productions(task)
    assert len(found) == 2 * len(task.productions())
    trace = _trace([task.text(i) for i in range(len(task))])
    labels = evaluate(trace, found)
    for production in task.productions():
        covered = np.concatenate(task.range_feature(production)) > 0
        ends = np.concatenate(task.impulse_feature(production))
        np.testing.assert_array_equal(labels[f"{production} (range)"], covered)
        np.testing.assert_array_equal(labels[f"{production} (impulse)"], ends)


def test_from_task_gives_depth_levels_and_states():
    nesting = from_task(tasks.nesting_grammar(20, 60, seed=1))
    assert {"depth", "depth=0", "depth=4", "e2 -> ( e3 ) (range)"} <= set(nesting)
    assert nesting["depth"].label_type == "continuous"
    assert nesting["depth=2"].label_type == "binary"
    machine = tasks.automaton("mod3", 4, 30, seed=0)
    found = from_task(machine)
    trace = Trace.from_arrays(
        [[str(int(v)) for v in seq[:, 0]] for seq in machine.sequences],
        {"h": np.zeros((int(machine.lengths.sum()), 1))},
    )
    labels = evaluate(trace, [found["state=0"], found["state=1"], found["state=2"]])
    np.testing.assert_array_equal(labels.values.sum(axis=0), 1.0)  # one state at a time
    np.testing.assert_array_equal(labels["state=1"], machine.label("state") == 1)


def test_from_task_splits_string_labels_into_one_binary_hypothesis_per_value():
    found = from_task(tasks.python_source(files=[tasks.PYTHON_HELDOUT_FILES[0]]))
    assert {"token_type=STRING", "token_type=NAME", "in_string", "indent"} <= set(found)
    assert found["in_string"].label_type == "binary"
    assert found["indent"].label_type == "continuous"


def test_fixed_labels_refuse_a_trace_of_other_sequences():
    found = from_task(tasks.parentheses(3, 20, seed=0))
    with pytest.raises(ValueError, match="holds labels for 3 sequences but the trace has 2"):
        evaluate(_trace(["()", "(1)"]), found["depth"])
    with pytest.raises(ValueError, match=r"returned shape \(20,\) on sequence 0 for 2 tokens"):
        evaluate(_trace(["()", "()", "()"]), found["depth"])


def test_from_labels_infers_the_label_type():
    assert from_labels("a", [np.array([0, 1, 1])]).label_type == "binary"
    assert from_labels("b", [np.array([0.0, 0.5])]).label_type == "continuous"
    with pytest.raises(TypeError, match="one array per sequence"):
        from_labels("c", np.zeros(3))


# ---------------------------------------------------------------------- over a trace


def test_evaluate_aligns_labels_with_the_trace_steps():
    trace = _trace(["(a)", "((b))"])
    labels = evaluate(trace, {"depth": nesting_depth(max_depth=2), "b": token_in("b")})
    assert labels.names == ("depth", "b") and labels.label_types == ("continuous", "binary")
    assert labels["depth"].tolist() == [0.5, 0.5, 0.5, 0.5, 1.0, 1.0, 1.0, 0.5]
    assert labels["b"].tolist() == [0, 0, 0, 0, 0, 1, 0, 0]
    assert not labels.values.flags.writeable


def test_label_set_to_dict_maps_each_name_to_its_labels():
    labels = evaluate(_trace(["(a)"]), {"depth": nesting_depth(max_depth=2), "b": token_in("b")})
    as_mapping = labels.to_dict()
    assert list(as_mapping) == ["depth", "b"]
    assert as_mapping["depth"].tolist() == labels["depth"].tolist()
    with pytest.raises(TypeError):
        as_mapping["b"] = labels["b"]  # type: ignore[index]


def test_annotate_returns_a_new_trace_and_leaves_the_original_alone():
    trace = _trace(["(a)", "((b))"])
    annotated = annotate(trace, [nesting_depth(max_depth=2)])
    assert "depth ()" in annotated.tracks and "depth ()" not in trace.tracks
    assert annotated.tracks["depth ()"].values.tolist() == [0.5, 0.5, 0.5, 0.5, 1, 1, 1, 0.5]
    assert annotated.tracks["depth ()"].label_type == "numeric"


def test_the_package_is_exported_from_rnn_widgets():
    import rnn_widgets

    assert rnn_widgets.hypotheses is hypotheses
    assert "hypotheses" in rnn_widgets.__all__


def test_evaluate_refuses_what_is_not_a_trace_or_a_hypothesis():
    with pytest.raises(TypeError, match="trace must be an rnn_widgets.Trace, got ndarray"):
        evaluate(np.zeros(3), token_in("a"))
    with pytest.raises(TypeError, match="must be a Hypothesis or a list of them"):
        evaluate(_trace(["a"]), "a")


def test_python_source_labels_give_each_character_its_token_type_brackets_and_block() -> None:
    text = "f(a)\nif x:\n    y\n"
    labels = tasks.python_source_labels(text)
    assert "".join(str(t)[0] for t in labels.token_type) == "NONONNNWNONIIIINN"
    assert labels.bracket_depth.tolist() == [0, 1, 1] + [0] * 14
    assert labels.indent.tolist() == [0] * 11 + [1] * 6
    np.testing.assert_array_equal(labels.token_type, tasks.python_token_types(text))


def test_a_label_set_from_values_infers_each_kind_and_checks_the_length() -> None:
    labels = LabelSet.from_values({"on": [0, 1, 1], "level": [0.5, 0.0, 1.0]}, 3)
    assert labels.names == ("on", "level") and labels.label_types == ("binary", "continuous")
    np.testing.assert_array_equal(labels["level"], [0.5, 0.0, 1.0])
    with pytest.raises(ValueError, match=r"shape \(2,\) for 3 tokens"):
        LabelSet.from_values({"short": [0, 1]}, 3)
