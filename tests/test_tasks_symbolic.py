"""Symbolic tasks: parentheses, DNI grammars, flip-flop and the automata of an RNN-dynamics study.

The automata are those of *Explaining RNN computations through hidden state dynamics* [1]_.

References
----------
.. [1] Explaining RNN computations through hidden state dynamics. (The copy this project follows
   names no authors or venue.)
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_widgets.tasks._automata import AUTOMATA, automaton, run_automaton
from rnn_widgets.tasks._base import Span, TaskData
from rnn_widgets.tasks._flip_flop import flip_flop
from rnn_widgets.tasks._grammars import arithmetic, nesting_grammar
from rnn_widgets.tasks._parentheses import parentheses

FAST = settings(max_examples=25, deadline=None)
seeds = st.integers(0, 2**32 - 1)


# --- shared checks -----------------------------------------------------------------------


def reference_depths(text: str) -> list[int]:
    """Nesting level per character: "(" the level it opens, ")" the level it closes."""
    depths, level = [], 0
    for character in text:
        if character == "(":
            level += 1
        depths.append(level)
        if character == ")":
            level -= 1
    return depths


def assert_all_readonly(task: TaskData) -> None:
    arrays = list(task.targets) + [a for values in task.labels.values() for a in values]
    arrays += [s for s in task.sequences if isinstance(s, np.ndarray)]
    assert all(not array.flags.writeable for array in arrays)


def assert_next_token(task: TaskData) -> None:
    assert task.target_type == "next_token"
    assert task.vocab is not None
    for index, target in enumerate(task.targets):
        text = task.text(index)
        assert target.dtype == np.int64
        assert target[-1] == -1
        assert [task.vocab[i] for i in target[:-1]] == list(text[1:])
        assert all(len(token) == 1 for token in task.sequences[index])


def assert_same_task(a: TaskData, b: TaskData) -> None:
    for x, y in zip(a.sequences, b.sequences, strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    assert a.spans == b.spans
    for name in a.labels:
        for x, y in zip(a.labels[name], b.labels[name], strict=True):
            np.testing.assert_array_equal(x, y)
    for x, y in zip(a.targets, b.targets, strict=True):
        np.testing.assert_array_equal(x, y)


def rederive(text: str, spans: tuple[Span, ...], rules: dict[str, Any]) -> None:
    """Check that the spans are a derivation tree of ``text``.

    The root covers the whole text; every other span lies inside a span one level up; each
    span's characters are exactly its production's right-hand side, with the children's
    characters in place of the non-terminals (``rules[production]`` is a regex over the
    span text where each child is written ``E``).
    """
    assert spans, "a derivation has at least one span"
    roots = [span for span in spans if span.depth == 0]
    assert roots == [Span(roots[0].production, 0, len(text), 0)]
    for span in spans:
        assert 0 <= span.start < span.stop <= len(text)
        children = sorted(
            (
                child
                for child in spans
                if child.depth == span.depth + 1
                and span.start <= child.start
                and child.stop <= span.stop
            ),
            key=lambda child: child.start,
        )
        if span.depth > 0:
            parents = [
                p
                for p in spans
                if p.depth == span.depth - 1 and p.start <= span.start and span.stop <= p.stop
            ]
            assert len(parents) == 1
        pattern, position = "", span.start
        for child in children:
            assert child.start >= position, "children overlap"
            pattern += text[position : child.start] + "E"
            position = child.stop
        pattern += text[position : span.stop]
        assert re.fullmatch(rules[span.production], pattern), (span, pattern)


# --- parentheses ---------------------------------------------------------------------------


@FAST
@given(
    seed=seeds,
    length=st.integers(1, 120),
    max_depth=st.integers(1, 6),
)
def test_parentheses_are_balanced_with_digits_equal_to_depth(
    seed: int, length: int, max_depth: int
) -> None:
    task = parentheses(3, length, max_depth=max_depth, seed=seed)
    assert task.name == "parentheses"
    assert task.vocab == ("(", ")", *map(str, range(max_depth + 1)))
    assert task.lengths.tolist() == [length] * 3
    for index in range(3):
        text = task.text(index)
        depths = reference_depths(text)
        assert text.count("(") == text.count(")")
        assert min(d - (c == ")") for c, d in zip(text, depths, strict=True)) >= 0
        assert max(depths) <= max_depth
        assert task.labels["depth"][index].tolist() == depths
        for character, depth in zip(text, depths, strict=True):
            if character.isdigit():
                assert int(character) == depth
        # one group span per matching pair, nested depth = enclosing groups
        stack, pairs = [], []
        for position, character in enumerate(text):
            if character == "(":
                stack.append(position)
            elif character == ")":
                start = stack.pop()
                pairs.append(Span("group", start, position + 1, len(stack)))
        assert sorted(task.spans[index], key=lambda s: s.start) == sorted(
            pairs, key=lambda s: s.start
        )
    assert_next_token(task)
    assert_all_readonly(task)


def test_parentheses_range_feature_of_groups_is_the_depth() -> None:
    task = parentheses(20, 200, seed=3)
    for feature, depth in zip(task.range_feature("group"), task.labels["depth"], strict=True):
        np.testing.assert_array_equal(feature, depth)


def test_parentheses_visit_every_depth_often_with_empty_groups_and_siblings() -> None:
    task = parentheses(50, 200, seed=0)
    counts = np.bincount(task.label("depth"), minlength=5)
    assert counts.size == 5
    assert (counts / counts.sum() > 0.05).all()
    texts = "".join(task.text(i) for i in range(len(task)))
    assert "()" in texts
    assert ")(" in texts  # sibling groups
    assert re.search(r"\(\d+\(", texts)  # digits before a child group


def test_parentheses_are_deterministic_per_seed() -> None:
    assert_same_task(parentheses(5, 50, seed=7), parentheses(5, 50, seed=7))
    assert parentheses(5, 50, seed=7).sequences != parentheses(5, 50, seed=8).sequences


def test_parentheses_small_example_has_the_documented_layout() -> None:
    task = parentheses(1, 2, max_depth=1, seed=0)
    assert task.text(0) in {"()", "00"}
    assert parentheses(1, 1, seed=0).text(0) == "0"


# --- nesting grammar ---------------------------------------------------------------------

NESTING_RULES = {
    **{f"e{k} -> ( e{k + 1} )": r"\(E\)" if k < 3 else r"\((E)?\)" for k in range(4)},
    **{f"e{k} -> {k} e{k}": rf"{k}E" for k in range(4)},
    **{f"e{k} -> e{k} {k}": rf"E{k}" for k in range(1, 4)},
    "e4 -> 4 e4": r"4E?",
}
NESTING_LANGUAGE = re.compile(r"0*\(1*\(2*\(3*\(4*\)3*\)2*\)1*\)")


@FAST
@given(seed=seeds, max_length=st.integers(8, 60))
def test_nesting_grammar_strings_and_parse_rederive(seed: int, max_length: int) -> None:
    task = nesting_grammar(4, max_length, seed=seed)
    assert task.name == "nesting_grammar"
    assert task.vocab == ("(", ")", "0", "1", "2", "3", "4")
    assert (task.lengths <= max_length).all()
    for index in range(len(task)):
        text = task.text(index)
        assert NESTING_LANGUAGE.fullmatch(text), text
        depths = reference_depths(text)
        assert task.labels["depth"][index].tolist() == depths
        assert all(int(c) == d for c, d in zip(text, depths, strict=True) if c.isdigit())
        rederive(text, task.spans[index], NESTING_RULES)
    assert_next_token(task)
    assert_all_readonly(task)


def test_nesting_grammar_uses_every_nonempty_production() -> None:
    task = nesting_grammar(100, 120, seed=0)
    assert set(task.productions()) == set(NESTING_RULES)
    assert "e4 -> empty" not in task.productions()
    assert task.lengths.min() >= 8
    assert 30 <= task.lengths.mean() <= 90


def test_nesting_grammar_range_feature_of_parentheses_is_the_depth() -> None:
    task = nesting_grammar(20, 60, seed=1)
    groups = [f"e{k} -> ( e{k + 1} )" for k in range(4)]
    for index, depth in enumerate(task.labels["depth"]):
        total = sum(task.range_feature(group)[index] for group in groups)
        np.testing.assert_array_equal(total, depth)


def test_nesting_grammar_is_deterministic_per_seed() -> None:
    assert_same_task(nesting_grammar(5, seed=2), nesting_grammar(5, seed=2))
    assert nesting_grammar(5, seed=2).sequences != nesting_grammar(5, seed=3).sequences


def test_nesting_grammar_shortest_string() -> None:
    task = nesting_grammar(3, 8, seed=0)
    assert {task.text(i) for i in range(3)} == {"(((())))"}
    productions = [span.production for span in task.spans[0]]
    assert productions == ["e0 -> ( e1 )", "e1 -> ( e2 )", "e2 -> ( e3 )", "e3 -> ( e4 )"]
    assert [span.depth for span in task.spans[0]] == [0, 1, 2, 3]


# --- arithmetic --------------------------------------------------------------------------

ARITHMETIC_RULES = {
    "e -> d": r"\d",
    "e -> ( e )": r"\(E\)",
    **{f"e -> e {op} e": rf"E{re.escape(op)}E" for op in "+-*/"},
}


def tree_value(text: str, spans: tuple[Span, ...]) -> float | None:
    """Evaluate the derivation tree (None on a division by zero)."""

    def value(span: Span) -> float | None:
        children = sorted(
            (
                c
                for c in spans
                if c.depth == span.depth + 1 and span.start <= c.start and c.stop <= span.stop
            ),
            key=lambda c: c.start,
        )
        if span.production == "e -> d":
            return float(text[span.start])
        if span.production == "e -> ( e )":
            return value(children[0])
        left, right = (value(child) for child in children)
        if left is None or right is None:
            return None
        operator = span.production.split()[3]
        if operator == "/":
            return None if right == 0 else left / right
        return {"+": left + right, "-": left - right, "*": left * right}[operator]

    return value(next(span for span in spans if span.depth == 0))


@FAST
@given(seed=seeds, max_length=st.integers(3, 41))
def test_arithmetic_strings_are_expressions_with_their_parse(seed: int, max_length: int) -> None:
    task = arithmetic(4, max_length, seed=seed)
    assert task.name == "arithmetic"
    assert task.vocab == (*"0123456789", "(", ")", "+", "-", "*", "/")
    assert ((task.lengths >= 3) & (task.lengths <= max_length)).all()
    for index in range(len(task)):
        text, spans = task.text(index), task.spans[index]
        assert re.fullmatch(r"[0-9()+\-*/]+", text)
        try:
            eval(text)  # a valid Python expression; the parse is checked below
        except ZeroDivisionError:
            pass
        rederive(text, spans, ARITHMETIC_RULES)
        assert sum(span.production == "e -> d" for span in spans) == sum(map(str.isdigit, text))
        for span in spans:
            if span.production == "e -> ( e )":
                assert text[span.start] == "(" and text[span.stop - 1] == ")"
        assert task.labels["depth"][index].tolist() == reference_depths(text)
    assert_next_token(task)
    assert_all_readonly(task)


def test_arithmetic_tree_value_matches_python_when_unambiguous() -> None:
    """Where the tree adds explicit parentheses nowhere ambiguous, values agree with eval."""
    task = arithmetic(300, 7, seed=5)
    agreed = 0
    for index in range(len(task)):
        text, spans = task.text(index), task.spans[index]
        if sum(c in "+-*/" for c in text) != 1:
            continue
        expected = tree_value(text, spans)
        try:
            actual = eval(text)
        except ZeroDivisionError:
            actual = None
        if actual is None:
            assert expected is None
        else:
            assert expected == pytest.approx(actual)
        agreed += 1
    assert agreed > 50


def test_arithmetic_uses_every_production_and_is_deterministic() -> None:
    task = arithmetic(100, seed=0)
    assert set(task.productions()) == set(ARITHMETIC_RULES)
    assert_same_task(task, arithmetic(100, seed=0))
    assert task.sequences != arithmetic(100, seed=1).sequences


# --- flip-flop ---------------------------------------------------------------------------


def reference_flip_flop(inputs: np.ndarray, n_bits: int, variant: str, delay: int) -> np.ndarray:
    """Recompute the targets from the inputs, step by step."""
    if variant == "one_hot":
        codes = np.zeros((len(inputs), n_bits))
        codes[inputs[:, 0::2] == 1] = 1.0
        codes[inputs[:, 1::2] == 1] = -1.0
    else:
        codes = inputs
    memory = np.zeros(n_bits)
    held = []
    for row in codes:
        memory = np.where(row != 0, row, memory)
        held.append(memory.copy())
    held = np.array(held)
    shifted = np.zeros_like(held)
    shifted[delay:] = held[: len(held) - delay]
    if variant == "one_hot":
        lines = np.zeros((len(held), 2 * n_bits))
        lines[:, 0::2] = shifted == 1
        lines[:, 1::2] = shifted == -1
        return lines
    return shifted


@FAST
@given(
    seed=seeds,
    n_bits=st.integers(1, 4),
    variant=st.sampled_from(["signed", "one_two", "one_hot"]),
    delay=st.integers(0, 5),
    p_pulse=st.floats(0.01, 1.0),
)
def test_flip_flop_targets_recompute_from_inputs(
    seed: int, n_bits: int, variant: str, delay: int, p_pulse: float
) -> None:
    task = flip_flop(n_bits, 3, 30, p_pulse=p_pulse, variant=variant, delay=delay, seed=seed)
    lines = 2 * n_bits if variant == "one_hot" else n_bits
    assert task.target_type == "step_value"
    assert task.classes is not None and len(task.classes) == lines
    allowed = {"signed": {-1, 0, 1}, "one_two": {0, 1, 2}, "one_hot": {0, 1}}[variant]
    symbols = {"signed": "+-?", "one_two": "12?", "one_hot": "+-?"}[variant]
    for inputs, targets, memory, pulse in zip(
        task.sequences, task.targets, task.labels["memory"], task.labels["pulse"], strict=True
    ):
        assert inputs.dtype == np.float32 and inputs.shape == (30, lines)
        assert targets.dtype == np.float32 and targets.shape == (30, lines)
        assert set(np.unique(inputs).tolist()) <= allowed
        if variant == "one_hot":
            assert (inputs.reshape(30, n_bits, 2).sum(axis=2) <= 1).all()
        np.testing.assert_array_equal(targets, reference_flip_flop(inputs, n_bits, variant, delay))
        np.testing.assert_array_equal(pulse, (inputs != 0).any(axis=1).astype(np.int64))
        assert all(len(pattern) == n_bits and set(pattern) <= set(symbols) for pattern in memory)
        # the memory label spells the targets
        for pattern, row in zip(memory, targets, strict=True):
            if variant == "one_hot":
                row = row[0::2] - row[1::2]
            spelled = {"signed": {1: "+", -1: "-", 0: "?"}, "one_two": {1: "1", 2: "2", 0: "?"}}
            mapping = spelled.get(variant, spelled["signed"])
            assert pattern == "".join(mapping[int(v)] for v in row)
    assert_all_readonly(task)


def test_flip_flop_pulses_are_sparse_at_the_expected_rate() -> None:
    task = flip_flop(3, 200, 100, p_pulse=0.05, seed=0)
    inputs = np.concatenate(task.sequences)
    rate = (inputs != 0).mean()
    assert abs(rate - 0.05) < 0.005
    assert abs((inputs == 1).mean() - (inputs == -1).mean()) < 0.005
    any_rate = 1 - 0.95**3
    assert abs(task.label("pulse").mean() - any_rate) < 0.01


def test_flip_flop_known_example_and_names() -> None:
    task = flip_flop(1, 1, 4, p_pulse=1.0, seed=0)
    inputs = task.sequences[0][:, 0]
    np.testing.assert_array_equal(task.targets[0][:, 0], inputs)  # every step pulses
    delayed = flip_flop(1, 1, 4, p_pulse=1.0, delay=2, seed=0)
    np.testing.assert_array_equal(delayed.targets[0][:, 0], [0, 0, *inputs[:2]])
    assert delayed.labels["memory"][0][:2].tolist() == ["?", "?"]
    assert flip_flop().name == "flip_flop_3bit"
    assert flip_flop(2, variant="one_hot").name == "flip_flop_2bit_one_hot"
    assert flip_flop(2, variant="one_two", delay=3).name == "flip_flop_2bit_one_two_delay3"
    assert flip_flop(2, variant="one_hot").classes == ("bit0+", "bit0-", "bit1+", "bit1-")
    assert_same_task(flip_flop(seed=4), flip_flop(seed=4))
    assert not np.array_equal(flip_flop(seed=4).sequences[0], flip_flop(seed=5).sequences[0])


# --- automata ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "symbols", "states"),
    [
        ("mod3", "1101", [1, 2, 2, 0]),
        ("mod3", "0000", [0, 0, 0, 0]),
        ("repeat_trap", "0101", [1, 2, 1, 2]),
        ("repeat_trap", "0110", [1, 2, 3, 3]),
        ("repeat_trap", "1001", [2, 1, 3, 3]),
        ("substring_0101", "0101", [1, 2, 3, 4]),
        ("substring_0101", "0100101", [1, 2, 3, 1, 2, 3, 4]),
        ("substring_0101", "0110", [1, 2, 0, 1]),
        ("substring_0101", "01010000", [1, 2, 3, 4, 4, 4, 4, 4]),
    ],
)
def test_run_automaton_known_strings(name: str, symbols: str, states: list[int]) -> None:
    assert run_automaton(name, symbols).tolist() == states
    assert run_automaton(name, [int(s) for s in symbols]).tolist() == states


def test_p_one_sets_how_often_mod3_reads_a_1_and_the_labels_follow() -> None:
    rare = automaton("mod3", 200, 100, seed=3, p_one=0.1)
    common = automaton("mod3", 200, 100, seed=3, p_one=0.9)
    ranged = automaton("mod3", 400, 100, seed=3, p_one=(0.05, 0.45))
    assert abs(np.mean(np.concatenate(rare.sequences)) - 0.1) < 0.01
    assert abs(np.mean(np.concatenate(common.sequences)) - 0.9) < 0.01
    per_sequence = np.array([sequence.mean() for sequence in ranged.sequences])
    assert per_sequence.min() < 0.12 and 0.38 < per_sequence.max() < 0.6
    assert abs(per_sequence.mean() - 0.25) < 0.02  # the range's middle
    for sequence, states in zip(ranged.sequences[:20], ranged.targets[:20], strict=True):
        text = "".join(str(int(v)) for v in sequence[:, 0])
        assert states.tolist() == [text[: i + 1].count("1") % 3 for i in range(len(text))]
    # Rare 1s make long runs of 0s, which a network can only bridge with a held state.
    longest = max(
        max(len(run) for run in "".join(str(int(v)) for v in s[:, 0]).split("1"))
        for s in rare.sequences
    )
    assert longest >= 50
    assert automaton("mod3", 5, 30, seed=1).sequences[0].tolist() == (
        automaton("mod3", 5, 30, seed=1, p_one=0.5).sequences[0].tolist()
    )


def reference_state(name: str, prefix: str) -> int:
    """The state after ``prefix``, from its definition rather than the table."""
    if name == "mod3":
        return prefix.count("1") % 3
    if name == "repeat_trap":
        if any(a == b for a, b in itertools.pairwise(prefix)):
            return 3
        return 0 if not prefix else 1 + int(prefix[-1])
    if "0101" in prefix:
        return 4
    return max(k for k in range(4) if prefix.endswith("0101"[:k]))


@FAST
@given(
    name=st.sampled_from(sorted(AUTOMATA)),
    symbols=st.text(alphabet="01", min_size=1, max_size=30),
)
def test_run_automaton_matches_the_definitions(name: str, symbols: str) -> None:
    states = run_automaton(name, symbols).tolist()
    assert states == [reference_state(name, symbols[: i + 1]) for i in range(len(symbols))]


@pytest.mark.parametrize("name", sorted(AUTOMATA))
def test_automaton_task_layout_and_balance(name: str) -> None:
    task = automaton(name, 200, 50, seed=0)
    machine = AUTOMATA[name]
    assert task.name == f"automaton_{name}"
    assert task.target_type == "step_class"
    assert task.classes == machine.states
    assert machine.transitions.shape == (len(machine.states), 2)
    assert not machine.transitions.flags.writeable
    for inputs, targets, state, symbol in zip(
        task.sequences, task.targets, task.labels["state"], task.labels["symbol"], strict=True
    ):
        assert inputs.dtype == np.float32 and inputs.shape == (50, 1)
        assert set(np.unique(inputs).tolist()) <= {0.0, 1.0}
        np.testing.assert_array_equal(symbol, inputs[:, 0].astype(np.int64))
        np.testing.assert_array_equal(targets, run_automaton(name, symbol))
        np.testing.assert_array_equal(state, targets)
    shares = np.bincount(task.label("state"), minlength=len(machine.states)) / (200 * 50)
    visited = shares if name != "repeat_trap" else shares[1:]  # q0 is left at once
    assert (visited > 0.05).all(), shares
    if machine.trap is not None:
        assert 0.3 < shares[machine.trap] < 0.65
        never_trapped = sum(machine.trap not in states for states in task.targets)
        assert never_trapped > 0
    assert_all_readonly(task)
    assert_same_task(task, automaton(name, 200, 50, seed=0))
    assert task.sequences[0].tobytes() != automaton(name, 200, 50, seed=1).sequences[0].tobytes()


# --- argument checks ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: parentheses(0), ValueError, "n_sequences"),
        (lambda: parentheses(1.5), TypeError, "n_sequences"),
        (lambda: parentheses(2, 0), ValueError, "length"),
        (lambda: parentheses(2, 10, max_depth=0), ValueError, "max_depth"),
        (lambda: parentheses(2, 10, max_depth=10), ValueError, "max_depth"),
        (lambda: parentheses(2, 10, seed=-1), ValueError, "seed"),
        (lambda: parentheses(2, 10, seed="a"), TypeError, "seed"),
        (lambda: nesting_grammar(0), ValueError, "n_sequences"),
        (lambda: nesting_grammar(2, 7), ValueError, "max_length"),
        (lambda: nesting_grammar(2, seed=1.0), TypeError, "seed"),
        (lambda: arithmetic(-1), ValueError, "n_sequences"),
        (lambda: arithmetic(2, 2), ValueError, "max_length"),
        (lambda: arithmetic(2, "40"), TypeError, "max_length"),
        (lambda: flip_flop(0), ValueError, "n_bits"),
        (lambda: flip_flop(17), ValueError, "n_bits"),
        (lambda: flip_flop(True), TypeError, "n_bits"),
        (lambda: flip_flop(2, 0), ValueError, "n_sequences"),
        (lambda: flip_flop(2, 4, 0), ValueError, "length"),
        (lambda: flip_flop(p_pulse=0.0), ValueError, "p_pulse"),
        (lambda: flip_flop(p_pulse=1.5), ValueError, "p_pulse"),
        (lambda: flip_flop(p_pulse=float("nan")), ValueError, "p_pulse"),
        (lambda: flip_flop(p_pulse="x"), TypeError, "p_pulse"),
        (lambda: flip_flop(variant="two_hot"), ValueError, "variant"),
        (lambda: flip_flop(delay=-1), ValueError, "delay"),
        (lambda: flip_flop(length=10, delay=10), ValueError, "delay"),
        (lambda: automaton("mod4"), ValueError, "name"),
        (lambda: automaton(3), TypeError, "name"),
        (lambda: automaton("mod3", 0), ValueError, "n_sequences"),
        (lambda: automaton("mod3", 2, 0), ValueError, "length"),
        (lambda: automaton("mod3", seed=-2), ValueError, "seed"),
        (lambda: automaton("mod3", p_one=1.0), ValueError, "p_one"),
        (lambda: automaton("mod3", p_one=(0.6, 0.2)), ValueError, "p_one"),
        (lambda: automaton("mod3", p_one=(0.1,)), ValueError, "p_one"),
        (lambda: automaton("mod3", p_one="x"), TypeError, "p_one"),
        (lambda: automaton("substring_0101", p_one=0.2), ValueError, "p_one"),
        (lambda: run_automaton("mod3", "012"), ValueError, "symbols"),
        (lambda: run_automaton("mod3", [0, 2]), ValueError, "symbols"),
        (lambda: run_automaton("nope", "01"), ValueError, "name"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(call: Any, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call()
