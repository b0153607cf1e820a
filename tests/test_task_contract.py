"""The TaskData contract shared by every task: labels, parse features, subsets, annotation."""

from __future__ import annotations

import numpy as np
import pytest

import rnn_widgets as rw
from rnn_widgets import tasks


def _trace_of(task: tasks.TaskData) -> rw.Trace:
    states = np.zeros((int(task.lengths.sum()), 2), dtype=np.float32)
    return rw.Trace.from_arrays([list(s) for s in task.sequences], {"h": states})


def test_annotate_adds_every_label_as_a_track_with_its_values() -> None:
    task = tasks.parentheses(4, 30, seed=2)
    trace = task.annotate(_trace_of(task))
    assert set(task.labels) <= set(trace.tracks)
    depth = trace.tracks["depth"]
    assert depth.label_type == "categorical"
    shown = [int(label) for label in depth.labels(0, trace.n_steps)]
    assert shown == task.label("depth").tolist()


def test_annotate_refuses_a_trace_of_other_sequences() -> None:
    task = tasks.parentheses(4, 30, seed=2)
    other = tasks.parentheses(4, 31, seed=2)
    with pytest.raises(ValueError, match="annotate the trace returned by capture"):
        task.annotate(_trace_of(other))


def test_range_and_impulse_features_follow_the_spans() -> None:
    task = tasks.parentheses(1, 12, seed=0)
    (spans,) = task.spans
    (ranged,) = task.range_feature("group")
    (impulse,) = task.impulse_feature("group")
    expected_range = np.zeros(12)
    expected_impulse = np.zeros(12)
    for span in spans:
        expected_range[span.start : span.stop] += 1
        expected_impulse[[span.start, span.stop - 1]] = 1
    np.testing.assert_array_equal(ranged, expected_range)
    np.testing.assert_array_equal(impulse, expected_impulse)


def test_parse_features_need_a_parse_and_a_known_production() -> None:
    with pytest.raises(ValueError, match="choose from"):
        tasks.parentheses(2, 20).range_feature("e -> d")
    with pytest.raises(ValueError, match="no parse"):
        tasks.automaton("mod3", 2, 10).impulse_feature("group")


def test_subset_keeps_sequences_targets_labels_and_spans_aligned() -> None:
    task = tasks.arithmetic(6, 15, seed=4)
    part = task.subset([4, 1])
    assert part.sequences == (task.sequences[4], task.sequences[1])
    assert part.spans == (task.spans[4], task.spans[1])
    np.testing.assert_array_equal(part.targets[0], task.targets[4])
    np.testing.assert_array_equal(part.labels["depth"][1], task.labels["depth"][1])
    assert part.text(0) == task.text(4)


def test_label_names_the_choices_when_missing() -> None:
    with pytest.raises(KeyError, match="depth"):
        tasks.parentheses(2, 10).label("nesting")


def test_task_arrays_are_read_only() -> None:
    task = tasks.flip_flop(2, 3, 20, seed=1)
    with pytest.raises(ValueError, match="read-only"):
        task.targets[0][0, 0] = 5.0
    with pytest.raises(ValueError, match="read-only"):
        task.sequences[0][0, 0] = 1.0
