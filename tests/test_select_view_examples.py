"""SelectView's label by example: the ``examples`` and ``labelling`` traits, ``example_labels``."""

from __future__ import annotations

import numpy as np
import pytest
import traitlets
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_widgets import SelectView, Trace
from rnn_widgets.widgets.select_view import MAX_EXAMPLES, check_examples

from .conftest import CommRecorder, send_from_frontend

N_STEPS = 9  # two_layer_trace: sequences of 3, 2 and 4 tokens


def _example(start: int, stop: int, label: int = 1) -> dict[str, int]:
    return {"start": start, "stop": stop, "label": label}


@pytest.fixture
def view(two_layer_trace) -> SelectView:
    return SelectView(two_layer_trace, window_size=4)


# ---------------------------------------------------------------- the traits


def test_a_new_view_is_not_labelling_and_has_no_examples(view):
    assert view.labelling is False
    assert view.examples == []


def test_examples_set_from_python_are_kept_as_plain_dicts_in_order(view):
    view.examples = [_example(np.int64(5), 7, 0), _example(1, 3, True)]
    assert view.examples == [_example(5, 7, 0), _example(1, 3, 1)]
    assert all(type(value) is int for e in view.examples for value in e.values())


def test_examples_outside_the_window_are_kept(view):
    view.examples = [_example(6, 9)]  # the window shows steps 0:4
    assert view.window == (0, 4)
    assert view.examples == [_example(6, 9)]


def test_examples_travel_to_the_browser_as_small_json(view):
    recorder = CommRecorder(view)
    view.examples = [_example(1, 3)]
    message = recorder.updated("examples")[-1]
    assert message["state"]["examples"] == [_example(1, 3)]
    assert message["buffers"] == []


@pytest.mark.parametrize(
    ("examples", "message"),
    [
        ("abc", r"examples\[0\] must be a dict \{'start': int"),
        (5, r"examples must be a list of \{'start': int, 'stop': int, 'label': 1 or 0\}"),
        ([(1, 3, 1)], r"examples\[0\] must be a dict .*got tuple"),
        ([{"start": 1, "stop": 3}], r"exactly the keys 'start', 'stop' and 'label'; missing"),
        ([{"start": 1, "stop": 3, "label": 1, "end": 4}], r"unknown keys \['end'\]"),
        ([_example(1.5, 3)], r"examples\[0\]\['start'\] must be an int, got float"),
        ([_example(-1, 3)], r"examples\[0\]\['start'\] must be >= 0"),
        ([_example(3, 3)], r"steps 3:3; start must be < stop \(stop is exclusive"),
        ([_example(1, 2), _example(4, 10)], r"examples\[1\]\['stop'\] must be <= 9 \(the trace's"),
        ([_example(1, 3, 2)], r"label'\] must be 1 \(positive\) or 0 \(negative\), got 2"),
        (
            [_example(0, 4), _example(3, 5, 0)],
            r"examples\[1\] \(steps 3:5\) overlaps examples\[0\]",
        ),
        ([_example(0, 4), _example(1, 2)], r"must not overlap: merge them, or shorten one"),
        ([_example(0, 1)] * (MAX_EXAMPLES + 1), r"at most 1000 items \(the most examples"),
    ],
)
def test_bad_examples_from_python_raise_a_trait_error_naming_the_fix(view, examples, message):
    view.examples = [_example(0, 2)]
    with pytest.raises(traitlets.TraitError, match=message):
        view.examples = examples
    assert view.examples == [_example(0, 2)]  # rolled back


def test_check_examples_raises_type_and_value_errors_for_saved_state():
    with pytest.raises(TypeError, match="must be an int"):
        check_examples([_example("1", 2)], N_STEPS)
    with pytest.raises(ValueError, match="start must be < stop"):
        check_examples([_example(2, 1)], N_STEPS)
    assert check_examples((_example(0, 9, 0),), N_STEPS) == [_example(0, 9, 0)]


def test_examples_from_the_browser_are_validated_and_bad_ones_dropped_in_place(view):
    send_from_frontend(view, {"examples": [_example(1, 3), _example(4, 99, 0), _example(5, 6, 0)]})
    assert view.examples == [_example(1, 3), _example(5, 6, 0)]
    assert view.message.startswith("dropped 1 example(s): examples[1]['stop'] must be <= 9")


def test_an_example_from_the_browser_overlapping_an_earlier_one_is_dropped(view):
    send_from_frontend(view, {"examples": [_example(4, 6), _example(0, 2, 0), _example(1, 5)]})
    assert view.examples == [_example(4, 6), _example(0, 2, 0)]
    assert "examples[2] (steps 1:5) overlaps examples[1] (steps 0:2)" in view.message


def test_touching_examples_do_not_overlap(view):
    view.examples = [_example(0, 3), _example(3, 5, 0), _example(5, 6)]
    assert len(view.examples) == 3


def test_too_many_examples_from_the_browser_keep_the_first_ones_and_say_so():
    n_steps = MAX_EXAMPLES + 5
    trace = Trace.from_arrays([["a"] * n_steps], {"h": np.zeros((n_steps, 1))})
    view = SelectView(trace)
    send_from_frontend(view, {"examples": [_example(s, s + 1) for s in range(n_steps)]})
    assert view.examples == [_example(s, s + 1) for s in range(MAX_EXAMPLES)]
    assert "more than 1000 (the most examples a view keeps)" in view.message


def test_the_browser_toggles_labelling(view):
    send_from_frontend(view, {"labelling": True})
    assert view.labelling is True


def test_labelling_examples_leave_the_selection_alone(view):
    before = view.selection.to_dict()
    send_from_frontend(view, {"labelling": True, "examples": [_example(0, 3), _example(3, 5, 0)]})
    assert view.selection.to_dict() == before


def test_a_trace_of_other_sequences_clears_the_examples(view):
    view.examples = [_example(1, 3)]
    other = Trace.from_arrays([["x"] * 5, ["y"] * 4], {"h": np.zeros((9, 4))})
    view.trace = other
    assert view.examples == []


def test_the_same_sequences_with_another_track_keep_the_examples(view):
    view.examples = [_example(1, 3)]
    labels = np.zeros(view.trace.n_steps)
    labels[::2] = 1
    view.trace = view.trace.with_track("tried", labels, "numeric")
    assert view.examples == [_example(1, 3)]
    assert "tried" in view.trace.tracks


# ---------------------------------------------------------------- example_labels


def test_positive_examples_alone_make_every_other_step_negative(view):
    view.examples = [_example(1, 3), _example(6, 7)]
    labels, mask = view.example_labels()
    assert labels.tolist() == [0, 1, 1, 0, 0, 0, 1, 0, 0]
    assert mask.all()
    assert view.example_labels().implicit_negatives is True


def test_with_negative_examples_only_the_examples_are_labelled(view):
    view.examples = [_example(1, 3), _example(5, 8, 0)]
    result = view.example_labels()
    assert result.labels.tolist() == [0, 1, 1, 0, 0, 0, 0, 0, 0]
    assert result.mask.tolist() == [False, True, True, False, False, True, True, True, False]
    assert (result.n_positive, result.n_negative, result.implicit_negatives) == (2, 3, False)


def test_a_negative_example_cut_out_of_a_positive_one_is_labelled_negative(view):
    view.examples = [_example(0, 2), _example(4, 6), _example(2, 4, 0)]  # as the brush leaves them
    labels, mask = view.example_labels()
    assert labels.tolist() == [1, 1, 0, 0, 1, 1, 0, 0, 0]
    assert mask.tolist() == [True] * 6 + [False] * 3


def test_no_examples_label_nothing(view):
    labels, mask = view.example_labels()
    assert labels.shape == mask.shape == (N_STEPS,)
    assert not mask.any() and not labels.any()


def test_negative_examples_only_label_no_step_positive(view):
    view.examples = [_example(2, 4, 0)]
    labels, mask = view.example_labels()
    assert not labels.any()
    assert mask.tolist() == [False, False, True, True, False, False, False, False, False]


def test_labels_and_mask_cover_the_whole_trace_with_their_dtypes(view):
    view.examples = [_example(8, 9)]
    labels, mask = view.example_labels()
    assert (labels.dtype, mask.dtype) == (np.uint8, np.bool_)
    assert labels.shape == (N_STEPS,)


@st.composite
def _disjoint_examples(draw) -> list[tuple[int, int, int]]:
    """Up to 5 examples that do not overlap (some touch), in a random order."""
    bounds = sorted(draw(st.sets(st.integers(0, N_STEPS), max_size=10)))
    ranges = [(a, b) for a, b in zip(bounds[::2], bounds[1::2], strict=False) if a < b]
    ranges += [
        (b, c) for b, c in zip(bounds[1::2], bounds[2::2], strict=False) if draw(st.booleans())
    ]
    labels = draw(st.lists(st.integers(0, 1), min_size=len(ranges), max_size=len(ranges)))
    examples = [(a, b, label) for (a, b), label in zip(ranges, labels, strict=True)]
    return draw(st.permutations(examples)) if examples else []


@settings(max_examples=200, deadline=None)
@given(_disjoint_examples())
def test_labels_and_mask_agree_with_a_step_by_step_reference(examples):
    trace = Trace.from_arrays([list("abc"), list("de"), list("fghi")], {"h": np.zeros((9, 2))})
    view = SelectView(trace)
    view.examples = [_example(*e) for e in examples]
    result = view.example_labels()
    has_negative = any(label == 0 for _, _, label in examples)
    has_positive = any(label == 1 for _, _, label in examples)
    for step in range(N_STEPS):
        covering = [label for start, stop, label in examples if start <= step < stop]
        assert len(covering) <= 1
        if covering:
            assert result.mask[step] and result.labels[step] == covering[0]
        else:
            assert result.labels[step] == 0
            assert result.mask[step] == (has_positive and not has_negative)
    assert result.implicit_negatives == (has_positive and not has_negative)
    assert result.n_positive + result.n_negative == int(result.mask.sum())
    assert not result.labels[~result.mask].any()
    view.close()
