"""Saved states are data, not code: ``Explorer.state`` and ``Selection.from_dict`` refuse
every bad field with a TypeError or ValueError naming its path, change nothing when one field
is bad, never modify the dict passed in, and never evaluate a string found in it.

One Explorer with every view (a small zoo model, its task's hypotheses) is built once; every
hostile state is tried on it, and each test checks that its state is what it was.
"""

from __future__ import annotations

import builtins
import copy
import json
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnn_widgets import Explorer, Selection, Trace, capture, zoo
from rnn_widgets import hypotheses as hy

CODE = "__import__('os').system('touch pwned')"


@pytest.fixture(scope="module")
def explorer() -> Explorer:
    data = zoo.data("parentheses_lstm").subset(range(6))
    model = zoo.load("parentheses_lstm")
    trace = data.annotate(capture(model, data.sequences, kinds=["h", "c"], progress=False))
    explorer = Explorer(trace, model, hy.from_task(data), progress=False)
    assert set(explorer.views) == {
        "select_view",
        "match_view",
        "state_space_view",
        "relevance_bars",
        "response_view",
    }
    explorer.selection = {"cells": [1, 4], "threshold": 0.4, "start": 3, "stop": 6}
    return explorer


@pytest.fixture
def saved(explorer: Explorer) -> dict[str, Any]:
    """The explorer's state as JSON gives it back."""
    return json.loads(json.dumps(explorer.state))


def changed(state: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """A deep copy of ``state`` with ``path`` set to ``value``."""
    state = copy.deepcopy(state)
    target = state
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return state


def path_text(path: tuple[Any, ...]) -> str:
    return "state" + "".join(f"[{key!r}]" for key in path)


# (path, value, error, what the message says after naming the path)
N_CELLS, N_STEPS_PLUS = 9999, 10**7  # placeholders replaced per trace below
BAD_SELECTION = [
    (("cells",), [1, "2"], TypeError, r"must be ints: .*\['cells'\]\[1\] is str '2'"),
    (("cells",), [1, True], TypeError, r"\['cells'\]\[1\] is bool True"),
    (("cells",), [1, 2.0], TypeError, r"\['cells'\]\[1\] is float 2.0"),
    (("cells",), [[1], [2]], TypeError, r"\['cells'\]\[0\] is list"),
    (("cells",), {"1": 1}, TypeError, "must be an iterable of ints"),
    (("cells",), "12", TypeError, "must be an iterable of ints"),
    (("cells",), None, TypeError, "must be an iterable of ints"),
    (("cells",), 3, TypeError, "must be an iterable of ints"),
    (("cells",), [-1], ValueError, r"non-negative .*\['cells'\]\[0\] is -1"),
    (("cells",), [2**40], ValueError, r"below 2\*\*32"),
    (
        ("cells",),
        [1, N_CELLS],
        ValueError,
        r"\['cells'\]\[1\] is \d+, but kind 'h' of layer 0 .* cells",
    ),
    (("cells",), [1, 1], ValueError, r"\['cells'\]\[1\] repeats cell 1"),
    (("cells",), [CODE], TypeError, r"\['cells'\]\[0\] is str"),
    (("layer",), True, TypeError, "must be an int, got bool"),
    (("layer",), 0.0, TypeError, "must be an int, got float"),
    (("layer",), "0", TypeError, "must be an int, got str"),
    (("layer",), None, TypeError, "must be an int, got NoneType"),
    (("layer",), [0], TypeError, "must be an int, got list"),
    (("layer",), -1, ValueError, "from 0 to 2"),
    (("layer",), 2**64, ValueError, "from 0 to 2"),
    (("layer",), 5, ValueError, r"layer'\] 5 is not a layer of the trace; choose one of \[0\]"),
    (("kind",), CODE, ValueError, "must be a short state kind"),
    (("kind",), "os.system('x')", ValueError, "must be a state kind"),
    (("kind",), "f", ValueError, r"'f' is not a kind of layer 0 of the trace"),
    (("kind",), 3, ValueError, "must be a state kind"),
    (("kind",), "h" * 10_000, ValueError, "must be a short state kind"),
    (("start",), 10**30, ValueError, "from 0 to 2"),
    (("start",), -5, ValueError, "from 0 to 2"),
    (("start",), 1.5, TypeError, "must be an int"),
    (("start",), "3", TypeError, "must be an int"),
    (("start",), N_STEPS_PLUS, ValueError, r"but the trace has \d+ steps"),
    (("stop",), 2, ValueError, r"\['stop'\] \(2\) must be >= .*\['start'\] \(3\)"),
    (("threshold",), float("nan"), ValueError, "must be finite, got nan"),
    (("threshold",), float("inf"), ValueError, "must be finite, got inf"),
    (("threshold",), "0.3", TypeError, "must be a real number"),
    (("threshold",), True, TypeError, "must be a real number"),
    (("threshold",), None, TypeError, "must be a real number"),
    (("threshold",), {"value": 0.3}, TypeError, "must be a real number"),
    (("pad_before",), -1, ValueError, "from 0 to 2"),
    (("pad_after",), 2.0, TypeError, "must be an int"),
    (("pad_after",), N_STEPS_PLUS, ValueError, r"but the trace has \d+ steps"),
    (("sequence",), 6, ValueError, r"sequence'\] is 6, but the trace has sequences 0 .. 5"),
    (("sequence",), "0", TypeError, "must be an int"),
    (("version",), "1", ValueError, "has version '1' \\(str\\); this release reads version 1"),
    (("version",), True, ValueError, "has version True \\(bool\\)"),
    (("version",), 1.0, ValueError, "has version 1.0 \\(float\\)"),
    (("version",), 2, ValueError, "has version 2"),
    (("hovered_step",), 3, ValueError, r"unknown fields \['hovered_step'\]"),
    (("__class__",), "os.system", ValueError, r"unknown fields \['__class__'\]"),
]

BAD_VIEWS = [
    (("select_view", "window_start"), -1, ValueError, "from 0 to 2"),
    (("select_view", "window_start"), N_STEPS_PLUS, ValueError, r"the trace has \d+ steps"),
    (("select_view", "window_start"), 1.5, TypeError, "must be an int, got float"),
    (("select_view", "window_start"), True, TypeError, "must be an int, got bool"),
    (("select_view", "window_start"), "0", TypeError, "must be an int, got str"),
    (("select_view", "window_start"), None, TypeError, "must be an int, got NoneType"),
    (("select_view", "window_size"), 10, ValueError, r"unknown fields \['window_size'\]"),
    (("select_view", "_trace"), None, ValueError, r"unknown fields \['_trace'\]"),
    (("select_view", "__class__"), "x", ValueError, r"unknown fields \['__class__'\]"),
    (("match_view", "top"), 0, ValueError, "top must be >= 1"),
    (("match_view", "top"), 2**40, ValueError, "from 0 to 2"),
    (("match_view", "top"), "5", TypeError, "must be an int"),
    (("match_view", "top"), 5.5, TypeError, "must be an int"),
    (("match_view", "track"), CODE, ValueError, "is not a track of the trace"),
    (("match_view", "track"), 5, TypeError, "must be a str"),
    (("match_view", "track"), ["depth"], TypeError, "must be a str"),
    (("match_view", "track"), "t" * 1000, ValueError, "at most 256 characters"),
    (("state_space_view", "dims"), 4, ValueError, "dims must be 2 or 3"),
    (("state_space_view", "dims"), True, TypeError, "must be an int, got bool"),
    (("state_space_view", "dims"), "3", TypeError, "must be an int"),
    (("state_space_view", "condition"), 5, ValueError, "condition must be in 0 .. 0"),
    (("state_space_view", "sequences"), [0, 999], ValueError, r"sequences \[999\] are not"),
    (("state_space_view", "sequences"), [True], TypeError, r"\['sequences'\]\[0\] must be an"),
    (("state_space_view", "sequences"), [0.0], TypeError, r"\['sequences'\]\[0\] must be an"),
    (("state_space_view", "sequences"), [[0]], TypeError, r"\['sequences'\]\[0\] must be an"),
    (("state_space_view", "sequences"), "0,1", TypeError, "must be a list of ints"),
    (("state_space_view", "sequences"), {"0": 1}, TypeError, "must be a list of ints"),
    (("state_space_view", "spectrum_point"), 10**6, ValueError, "spectrum_point must index"),
    (("state_space_view", "spectrum_point"), -1, ValueError, "from 0 to 2"),
    (("relevance_bars", "current"), "nope", ValueError, "is not one of the score names"),
    (("relevance_bars", "current"), CODE, ValueError, "is not one of the score names"),
    (("relevance_bars", "current"), 3, TypeError, "must be a str"),
    (("relevance_bars", "threshold"), float("nan"), ValueError, "must be finite"),
    (("relevance_bars", "threshold"), "0.5", TypeError, "must be a number"),
    (("relevance_bars", "threshold"), True, TypeError, "must be a number"),
    (("response_view", "metric"), CODE, ValueError, "is not one of the response's metrics"),
    (("response_view", "metric"), 3, TypeError, "must be a str"),
    (("response_view", "cell"), 10**9, ValueError, "was not characterized"),
    (("response_view", "cell"), -1, ValueError, "from 0 to 2"),
    (("response_view", "cell"), False, TypeError, "must be an int, got bool"),
]

BAD_PARTS = [
    ((), "zoom", {}, ValueError, r"state has unknown parts \['zoom'\]"),
    ((), "__init__", {}, ValueError, r"state has unknown parts \['__init__'\]"),
    ((), "version", None, ValueError, r"state has version None"),
    ((), "version", "1", ValueError, r"state has version '1'"),
    ((), "selection", [1, 2], TypeError, r"state\['selection'\] must be a dict"),
    ((), "selection", CODE, TypeError, r"state\['selection'\] must be a dict"),
    ((), "select_view", [["window_start", 0]], TypeError, r"state\['select_view'\] must be a"),
    ((), "match_view", None, TypeError, r"state\['match_view'\] must be a dict"),
]


def concrete(explorer: Explorer, value: Any) -> Any:
    trace = explorer.trace
    if value == [1, N_CELLS]:
        return [1, trace.n_cells(layer=0)]
    if value == N_STEPS_PLUS:
        return trace.n_steps + 1
    return value


def assert_refused(
    explorer: Explorer, state: Any, error: type, message: str, naming: str = ""
) -> None:
    """Setting ``state`` raises exactly ``error``, naming ``naming``, and changes nothing."""
    before = explorer.state
    given_state = copy.deepcopy(state)
    with pytest.raises(Exception) as info:
        explorer.state = state
    assert type(info.value) is error, f"{type(info.value).__name__}: {info.value}"
    assert re.search(message, str(info.value)), str(info.value)
    assert naming in str(info.value), str(info.value)
    assert explorer.state == before  # nothing changed
    assert repr(state) == repr(given_state)  # the dict passed in is as it was (NaN-safe)


@pytest.mark.parametrize(("path", "value", "error", "message"), BAD_SELECTION)
def test_a_bad_selection_field_is_refused_naming_its_path(
    explorer, saved, path, value, error, message
):
    path = ("selection", *path)
    state = changed(saved, path, concrete(explorer, value))
    whole = "version" in path or "unknown" in message
    named = path_text(path[:1]) if whole else path_text(path)
    assert_refused(explorer, state, error, message, named)


@pytest.mark.parametrize(("path", "value", "error", "message"), BAD_VIEWS)
def test_a_bad_view_field_is_refused_naming_its_path(explorer, saved, path, value, error, message):
    state = changed(saved, path, concrete(explorer, value))
    named = path_text(path[:1]) if "unknown" in message else path_text(path)
    assert_refused(explorer, state, error, message, named)


@pytest.mark.parametrize(("path", "key", "value", "error", "message"), BAD_PARTS)
def test_a_bad_part_is_refused(explorer, saved, path, key, value, error, message):
    assert_refused(explorer, changed(saved, (*path, key), value), error, message)


@pytest.mark.parametrize("state", [None, [1], CODE, 1, b"{}"])
def test_a_state_that_is_not_a_dict_is_refused(explorer, state):
    assert_refused(explorer, state, TypeError, "state must be a dict from Explorer.state")


def test_a_state_without_a_version_is_refused(explorer, saved):
    del saved["version"]
    assert_refused(explorer, saved, ValueError, "state has version None")


def test_one_bad_field_changes_nothing_at_all(explorer, saved):
    good = changed(saved, ("selection", "cells"), [0, 2, 5])
    good = changed(good, ("selection", "threshold"), 0.1)
    good = changed(good, ("match_view", "top"), 7)
    good = changed(good, ("state_space_view", "dims"), 3)
    bad = changed(good, ("response_view", "cell"), -3)  # the last field read
    assert_refused(explorer, bad, ValueError, r"state\['response_view'\]\['cell'\]")
    explorer.state = good  # the same state without the bad field applies whole
    assert explorer.selection.cells == (0, 2, 5) and explorer.selection.threshold == 0.1
    assert explorer.match_view.top == 7 and explorer.state_space_view.dims == 3
    explorer.state = saved
    assert explorer.state == saved


def test_a_part_for_a_view_this_explorer_does_not_show_is_refused(explorer, saved):
    trace = explorer.trace
    without = Explorer(trace, views=["select_view", "match_view", "state_space_view"],
                       progress=False)  # fmt: skip
    assert "relevance_bars" not in without.views
    assert_refused(
        without,
        {"version": 1, "relevance_bars": saved["relevance_bars"]},
        ValueError,
        r"state\['relevance_bars'\] is for a view this Explorer does not show",
    )
    without.close()


def test_a_bad_selection_set_through_the_selection_property_changes_nothing(explorer):
    before = explorer.selection.to_dict()
    for value in ([0, 10**6], {"cells": [0], "layer": 3}, [True], np.array([[1, 2]])):
        with pytest.raises((TypeError, ValueError)):
            explorer.selection = value
        assert explorer.selection.to_dict() == before


def test_strings_in_a_state_are_never_evaluated(explorer, saved, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # CODE would touch ./pwned

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a saved state must never be evaluated")

    for name in ("eval", "exec"):
        monkeypatch.setattr(builtins, name, refuse)
    for path in [
        ("selection", "kind"),
        ("selection", "cells"),
        ("match_view", "track"),
        ("relevance_bars", "current"),
        ("response_view", "metric"),
        ("state_space_view", "dims"),
    ]:
        with pytest.raises((TypeError, ValueError)):
            explorer.state = changed(saved, path, CODE)
    with pytest.raises(ValueError):
        explorer.state = {**saved, CODE: 1}
    assert not (tmp_path / "pwned").exists()


def test_a_name_that_looks_like_code_is_kept_as_plain_text(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tokens = [list("abcab"), list("cabca")]
    trace = Trace.from_arrays(tokens, {"h": np.arange(30.0).reshape(10, 3) % 7})
    trace = trace.with_track(CODE, np.arange(10.0))
    explorer = Explorer(trace, progress=False)
    state = json.loads(json.dumps(explorer.state))
    state["match_view"]["track"] = CODE
    explorer.state = state
    assert explorer.match_view.track == CODE
    assert explorer.state["match_view"]["track"] == CODE
    assert not (tmp_path / "pwned").exists()
    explorer.close()


# ---------------------------------------------------------------------- Selection.from_dict

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=8,
)
FIELD_VALUES = st.one_of(
    JSON_VALUES,
    st.integers(min_value=0, max_value=40),
    st.lists(st.integers(min_value=0, max_value=40), max_size=6),
    st.sampled_from(["h", "c", "f", CODE]),
)
STATES = st.dictionaries(
    st.sampled_from([*Selection.FIELDS, "version", "hovered_step", "x"]), FIELD_VALUES, max_size=6
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(STATES)
def test_from_dict_accepts_a_valid_state_or_refuses_it_cleanly(state):
    given_state = copy.deepcopy(state)
    try:
        selection = Selection.from_dict(state)
    except (TypeError, ValueError) as error:
        assert str(error).startswith("state")  # names the state or one of its fields
    else:
        assert Selection.from_dict(selection.to_dict()).to_dict() == selection.to_dict()
        for name, value in state.items():
            if name == "cells":
                assert selection.cells == tuple(sorted(value))
            elif name != "version":
                assert getattr(selection, name) == value
        selection.close()
    assert repr(state) == repr(given_state)
