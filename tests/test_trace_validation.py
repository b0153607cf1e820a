"""A saved trace is untrusted input: opening checks its layout, analyses check its values.

The hostile files come from ``tests/hostile_traces.py`` (generated, never stored).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnn_widgets import Trace
from rnn_widgets.analysis import match, score_cells, select_cells

from .hostile_traces import DATASETS, Hostile, cases, valid_trace

# Errors that must never escape Trace.load for a damaged file (some are ValueErrors too).
_BARE = (KeyError, IndexError, json.JSONDecodeError, UnicodeError, OSError, TypeError)


@pytest.fixture(scope="module")
def valid_file(tmp_path_factory) -> Path:
    return valid_trace().save(tmp_path_factory.mktemp("valid") / "valid.h5")


def _open_files() -> int:
    return len(h5py.h5f.get_obj_ids(types=h5py.h5f.OBJ_FILE))


def _refused(path: Path) -> ValueError:
    """The error Trace.load raises for ``path``; fails the test on any other outcome."""
    before = _open_files()
    try:
        trace = Trace.load(path)
    except ValueError as error:
        assert not isinstance(error, _BARE), f"a bare {type(error).__name__} escaped: {error}"
        assert _open_files() == before, "the file was left open"
        return error
    except Exception as error:  # the point: nothing else may escape
        pytest.fail(f"{type(error).__name__} escaped Trace.load: {error}")
    pytest.fail(f"Trace.load returned {trace!r} for a damaged file")


# ---------------------------------------------------------------------------- the corpus


def test_the_valid_file_of_the_corpus_opens(valid_file):
    trace = Trace.load(valid_file)
    assert trace.layers == (0, 1)
    assert trace.kinds(layer=1) == ("h", "f")
    assert set(trace.tracks) == {"depth", "tag"}
    assert trace.predictions.top(0, 1) == [["x", "ÿ"]]


def test_the_corpus_breaks_every_dataset_in_several_ways():
    broken = {case.where for case in cases()}
    assert set(DATASETS) <= broken
    assert len(cases()) > 100


@pytest.mark.parametrize("case", cases(), ids=repr)
def test_a_hostile_file_is_refused_naming_the_file_and_the_dataset(
    case: Hostile, valid_file, tmp_path
):
    path = tmp_path / "hostile.h5"
    shutil.copyfile(valid_file, path)
    case.corrupt(path)
    message = str(_refused(path))
    assert str(path) in message
    assert case.where in message
    assert case.expect in message


def test_a_newer_version_says_to_upgrade(valid_file, tmp_path):
    path = Path(shutil.copyfile(valid_file, tmp_path / "new.h5"))
    with h5py.File(path, "a") as file:
        file.attrs["version"] = 7
    assert "written by a newer rnn_widgets" in str(_refused(path))


def test_a_truncated_file_says_it_is_truncated(valid_file, tmp_path):
    path = Path(shutil.copyfile(valid_file, tmp_path / "cut.h5"))
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size // 2)
    message = str(_refused(path))
    assert "truncated" in message and "copy or save it again" in message


def test_the_error_carries_the_file_and_the_dataset(valid_file, tmp_path):
    path = Path(shutil.copyfile(valid_file, tmp_path / "t.h5"))
    with h5py.File(path, "a") as file:
        file["states/1/h"].attrs["min"] = 9.0
    error = _refused(path)
    assert (error.source, error.where) == (str(path), "/states/1/h")
    assert "save the trace again" in str(error)


# ---------------------------------------------------------------------------- lazy checks


def _with_states(valid_file: Path, tmp_path: Path, edit) -> Path:
    path = Path(shutil.copyfile(valid_file, tmp_path / "lazy.h5"))
    with h5py.File(path, "a") as file:
        edit(file["states/0/h"])
    return path


def _nan_at_step_4(dataset: h5py.Dataset) -> None:
    values = dataset[()]
    values[4, 2] = np.nan
    dataset[...] = values


@pytest.fixture
def nan_file(valid_file, tmp_path) -> Path:
    return _with_states(valid_file, tmp_path, _nan_at_step_4)


def test_nan_states_open_but_check_finite_names_the_file_and_dataset(nan_file):
    trace = Trace.load(nan_file)  # opening never reads the states' values
    with pytest.raises(ValueError, match=r"/states/0/h holds NaN .*step 4, cell 2") as error:
        trace.check_finite(layer=0, kind="h")
    assert str(nan_file) in str(error.value)
    trace.check_finite(layer=0, kind="c")  # the other kinds are fine


def test_score_cells_refuses_nan_states_of_a_file(nan_file):
    trace = Trace.load(nan_file)
    labels = {"odd": (np.arange(trace.n_steps) % 2).astype(float)}
    with pytest.raises(ValueError, match=r"lazy\.h5: /states/0/h holds NaN"):
        score_cells(trace, labels, folds=2, fold_by="blocks", bins=8, progress=False)


def test_match_refuses_nan_states_of_a_file(nan_file):
    with pytest.raises(ValueError, match=r"lazy\.h5: /states/0/h holds NaN"):
        match(Trace.load(nan_file), [0, 1], 0.0)


def test_select_cells_refuses_a_window_with_nan(nan_file):
    trace = Trace.load(nan_file)
    with pytest.raises(ValueError, match=r"/states/0/h holds NaN"):
        select_cells(trace, 3, 5, 0.0)
    assert select_cells(trace, 0, 2, 0.0, pad_before=0).dtype == np.int64  # away from it: fine


def test_a_derived_trace_still_names_the_file(nan_file):
    trace = Trace.load(nan_file).with_track("x", np.zeros(9))
    with pytest.raises(ValueError, match=r"lazy\.h5: /states/0/h"):
        trace.check_finite()


def test_nan_states_of_an_in_memory_trace_are_named_by_layer_and_kind():
    states = np.zeros((3, 2), dtype=np.float32)
    states[1, 1] = np.inf
    trace = Trace.from_owned_arrays(["a", "b", "c"], [3], {(0, "h"): states})
    with pytest.raises(ValueError, match=r"layer 0 kind 'h' of the trace holds NaN or infinite"):
        trace.check_finite()


def test_a_false_stored_max_does_not_refuse_a_valid_threshold(valid_file, tmp_path):
    def lie(dataset: h5py.Dataset) -> None:
        dataset.attrs["max"] = 0.1  # the states reach tanh(2) = 0.96

    trace = Trace.load(_with_states(valid_file, tmp_path, lie))
    assert trace.value_range()[1] == pytest.approx(0.1)  # the hint, for display
    true_max = float(np.max(trace.states()))
    assert trace.value_range(exact=True)[1] == pytest.approx(true_max)
    assert select_cells(trace, 8, 9, 0.9, pad_before=0).tolist() == [0, 1]  # 0.96, 0.93
    assert len(match(trace, [0], 0.9).matches) >= 1
    with pytest.raises(ValueError, match=f"to {true_max:g}"):  # refused quoting the true range
        select_cells(trace, 8, 9, 2.0)


# ---------------------------------------------------------------------------- properties

_DTYPES = ["u1", "i4", "i8", "u8", "f4", "f8"]
_ATTRIBUTES = {
    "/": ["format", "version"],
    "/states/0/h": ["min", "max"],
    "/tracks/0": ["name", "kind", "categories"],
    "/tracks/1": ["name", "kind", "categories"],
}
_ATTRIBUTE_VALUES = st.one_of(
    st.integers(-3, 3),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "numeric", "categorical", "[]", '["a"]', "[1]", "{", "rnn_widgets.trace"]),
    st.booleans(),
)


@st.composite
def _valid_traces(draw) -> Trace:
    lengths = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    n_steps = sum(lengths)
    width = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    alphabet = ["a", "b", "é", "ÿ", "dog"]
    tokens = [[alphabet[i] for i in rng.integers(0, len(alphabet), n)] for n in lengths]
    states = {
        (0, "h"): rng.standard_normal((n_steps, width)),
        (0, "c"): rng.random((n_steps, width)),
    }
    trace = Trace.from_arrays(tokens, states)
    trace = trace.with_track("num", rng.random(n_steps)).with_track(
        "cat", list(rng.choice(["x", "y"], n_steps))
    )
    return trace.with_predictions(np.full((n_steps, 1), "a"), rng.random((n_steps, 1)))


@st.composite
def _corruptions(draw):
    family = draw(st.sampled_from(["replace", "attribute", "delete", "shuffle"]))
    if family == "attribute":
        where = draw(st.sampled_from(sorted(_ATTRIBUTES)))
        name = draw(st.sampled_from(_ATTRIBUTES[where]))
        value = draw(_ATTRIBUTE_VALUES)
        return family, where, (name, value)
    paths = [p for p in DATASETS if not p.startswith(("/states/1", "/states/0/c"))]
    paths += ["/states/0/c"]
    where = draw(st.sampled_from(paths))
    if family == "replace":
        dtype = draw(st.sampled_from(_DTYPES))
        rank = draw(st.integers(1, 2))
        shape = tuple(draw(st.integers(0, 12)) for _ in range(rank))
        seed = draw(st.integers(0, 2**16))
        return family, where, (dtype, shape, seed)
    return family, where, draw(st.integers(0, 2**16))


def _corrupt(path: Path, corruption) -> None:
    family, where, detail = corruption
    with h5py.File(path, "a") as file:
        if family == "attribute":
            name, value = detail
            file[where].attrs[name] = value
        elif where not in file:
            return
        elif family == "delete":
            del file[where]
        elif family == "replace":
            dtype, shape, seed = detail
            rng = np.random.default_rng(seed)
            values = (rng.standard_normal(shape) * 4).astype(dtype)
            attrs = dict(file[where].attrs)
            del file[where]
            file.create_dataset(where, data=values)
            file[where].attrs.update(attrs)
        else:  # shuffle the values in place: offsets, starts, codes out of order
            values = file[where][()]
            np.random.default_rng(detail).shuffle(values.reshape(-1))
            file[where][...] = values


def _every_analysis_works(trace: Trace) -> None:
    """States, windows, tokens, search, select, match and score_cells run or refuse clearly."""
    for layer in trace.layers:
        for kind in trace.kinds(layer=layer):
            window = np.asarray(trace.states(layer=layer, kind=kind)[:2])
            assert window.shape == (min(2, trace.n_steps), trace.n_cells(layer=layer))
    assert len(trace.tokens[: trace.n_steps]) == trace.n_steps
    trace.search(trace.tokens[0])
    for track in trace.tracks.values():
        track.labels(0, trace.n_steps)
    if trace.predictions is not None:
        trace.predictions.top(0, trace.n_steps)
    layer = trace.layers[0]
    where = {"layer": layer, "kind": trace.kinds(layer=layer)[0]}
    try:
        low, high = trace.value_range(exact=True, **where)
    except ValueError as error:  # NaN states: the lazy check names the file
        assert "holds NaN or infinite values" in str(error)
        return
    threshold = (low + high) / 2
    select_cells(trace, 0, 1, threshold, **where)
    match(trace, [0], threshold, **where)
    labels = {"first": (np.arange(trace.n_steps) == 0).astype(float)}
    if trace.n_steps >= 4:  # two folds of two held-out steps
        score_cells(trace, labels, folds=2, fold_by="blocks", bins=4, progress=False, **where)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(trace=_valid_traces(), corruption=_corruptions())
def test_a_randomly_corrupted_file_is_refused_clearly_or_fully_usable(trace, corruption, tmp_path):
    path = trace.save(tmp_path / "random.h5", overwrite=True)
    _corrupt(path, corruption)
    try:
        opened = Trace.load(path)
    except ValueError as error:
        assert not isinstance(error, _BARE), f"a bare {type(error).__name__}: {error}"
        assert str(path) in str(error) and "/" in str(error)
        return
    _every_analysis_works(opened)
