"""Traces in Zarr stores: an exact round trip, one verb to load, streaming conversion, clear errors.

The store's layout is the HDF5 one (``rnn_widgets/trace/_layout.py``); ``docs/scale.md`` says
when to use it. The hostile stores come from ``tests/hostile_zarr.py`` (generated).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

if sys.version_info < (3, 11):  # the scale extra brings zarr only there (Zarr 3 needs 3.11)
    pytest.skip("Zarr 3 needs Python 3.11 or later", allow_module_level=True)
# No importorskip: ./run setup installs the scale extra, and a missing install must fail here.
import dask.array as dask_array
import h5py
import zarr

from rnn_widgets import SelectView, Trace
from rnn_widgets.analysis import match, score_cells, select_cells
from rnn_widgets.trace import STATES_BUDGET
from rnn_widgets.trace._chunked import CHUNK_BYTES, chunk_steps
from rnn_widgets.trace._layout import TraceFileError

from .hostile_traces import Hostile, valid_trace
from .hostile_zarr import ZarrHostile, copy_hdf5, translated_cases, zarr_cases

_EXTRA = 'pip install "rnn_widgets[scale]"'


@pytest.fixture(scope="module")
def valid() -> Trace:
    return valid_trace()


@pytest.fixture(scope="module")
def valid_store(valid, tmp_path_factory) -> Path:
    return valid.save(tmp_path_factory.mktemp("valid") / "valid.zarr")


@pytest.fixture(scope="module")
def valid_h5(valid, tmp_path_factory) -> Path:
    return valid.save(tmp_path_factory.mktemp("valid") / "valid.h5")


def _same(loaded: Trace, trace: Trace) -> None:
    """Every field of ``loaded`` equals ``trace``'s."""
    assert list(loaded.tokens) == list(trace.tokens)
    assert loaded.sequence_bounds.tolist() == trace.sequence_bounds.tolist()
    assert loaded.layers == trace.layers
    for layer in trace.layers:
        assert loaded.kinds(layer=layer) == trace.kinds(layer=layer)
        for kind in trace.kinds(layer=layer):
            where = {"layer": layer, "kind": kind}
            np.testing.assert_array_equal(loaded.states(**where), trace.states(**where))
            assert loaded.value_range(**where) == trace.value_range(**where)
            assert loaded.cell_group(**where) == trace.cell_group(**where)
    assert list(loaded.tracks) == list(trace.tracks)
    for name, track in trace.tracks.items():
        assert loaded.tracks[name].label_type == track.label_type
        assert loaded.tracks[name].categories == track.categories
        np.testing.assert_array_equal(loaded.tracks[name].values, track.values)
    assert (loaded.predictions is None) == (trace.predictions is None)
    if trace.predictions is not None:
        assert list(loaded.predictions.label_tokens) == list(trace.predictions.label_tokens)
        np.testing.assert_array_equal(
            loaded.predictions.probabilities, trace.predictions.probabilities
        )


# ---------------------------------------------------------------------------- round trips


def test_round_trip_is_exact(valid, tmp_path):
    path = valid.save(tmp_path / "t.zarr")
    assert path.is_dir() and (path / "zarr.json").is_file()
    _same(Trace.load(path), valid)


def test_non_ascii_tokens_tracks_and_predictions_round_trip(tmp_path):
    tokens = [["naïve", "😀", "日本"], ["", "ÿ"]]
    trace = (
        Trace.from_arrays(tokens, np.arange(10, dtype=np.float32).reshape(5, 2))
        .with_track("tag", ["é", "ü", "é", "日", "ü"])
        .with_track("depth", [0.5, 1, 2, 3, 4])
        .with_predictions(np.array([["→", "x"]] * 5), np.tile([0.7, 0.2], (5, 1)))
    )
    loaded = Trace.load(trace.save(tmp_path / "t.zarr"))
    _same(loaded, trace)
    assert loaded.tracks["tag"].labels(0, 4) == ["é", "ü", "é", "日"]
    assert loaded.predictions.top(1, 2) == [["→", "x"]]


def test_kinds_of_different_widths_keep_their_cell_groups(tmp_path):
    states = {
        (0, "h"): np.ones((3, 4)),
        (0, "delta"): np.ones((3, 8)),
        (0, "y"): np.zeros((3, 8)),
        (0, "ssm"): np.ones((3, 16)),
    }
    trace = Trace.from_arrays([["a", "b", "c"]], states, cell_groups={"delta": "channels"})
    loaded = Trace.load(trace.save(tmp_path / "t.zarr"))
    assert loaded.cell_group(kind="delta") == "channels"
    assert loaded.cell_group(kind="y") == trace.cell_group(kind="y")
    assert loaded.cell_group(kind="ssm") == "ssm"
    assert loaded.n_cells(kind="ssm") == 16


def test_hdf5_and_zarr_convert_both_ways_exactly(valid, tmp_path):
    from_h5 = Trace.load(valid.save(tmp_path / "a.h5")).save(tmp_path / "b.zarr")
    back = Trace.load(Trace.load(from_h5).save(tmp_path / "c.h5"))
    _same(back, valid)
    with h5py.File(tmp_path / "c.h5") as file:
        assert file["states/0/h"].chunks is None  # contiguous again: memory-mapped
    assert isinstance(back.states(), np.memmap)


def test_a_loaded_store_can_replace_itself(valid, tmp_path):
    path = valid.save(tmp_path / "t.zarr")
    Trace.load(path).save(path, overwrite=True)
    _same(Trace.load(path), valid)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.zarr"]


# ---------------------------------------------------------------------------- the store written


def test_states_are_uncompressed_chunked_by_whole_rows_with_nan_fill(tmp_path):
    trace = Trace.from_arrays(["a"] * 3000, np.zeros((3000, 600), dtype=np.float32))
    path = trace.save(tmp_path / "t.zarr")
    array = zarr.open_array(path / "states" / "0" / "h", mode="r")
    assert array.chunks == (chunk_steps(600, 3000), 600) == (1024, 600)
    assert array.compressors == () and array.filters == ()
    assert np.isnan(array.fill_value)
    # every chunk is stored, also the all-zero ones a default zarr writer leaves out
    assert array.nchunks_initialized == array.nchunks
    root = json.loads((path / "zarr.json").read_text())
    assert root["attributes"] == {"format": "rnn_widgets.trace", "version": 2}
    assert root["zarr_format"] == 3


def test_chunks_are_powers_of_two_of_steps_of_at_most_4_mib():
    assert chunk_steps(512, 10**6) == 2048  # exactly 4 MiB
    assert chunk_steps(64, 10**6) == 16384
    assert chunk_steps(1, 10**9) == 1 << 20  # the most steps
    assert chunk_steps(2**21, 10**6) == 1  # wider than 4 MiB a row: one step
    assert chunk_steps(512, 300) == 300  # one chunk, not mostly padding
    for cells in (1, 3, 100, 256, 700, 4096, 30_000):
        steps = chunk_steps(cells, 10**7)
        assert steps & (steps - 1) == 0, "a power of two"
        assert steps * cells * 4 <= CHUNK_BYTES
        for block in (16384, 32768):  # score_cells' and match's blocks line up with chunks
            assert block % steps == 0 or steps % block == 0


def test_lazy_blocks_are_whole_chunks_of_about_32_mib(tmp_path):
    trace = Trace.from_arrays(["a"] * 40_000, np.zeros((40_000, 512), dtype=np.float32))
    loaded = Trace.load(trace.save(tmp_path / "t.zarr"))
    lazy = loaded.lazy_states()
    assert lazy.chunks[0][:2] == (16384, 16384) and lazy.chunks[1] == (512,)
    assert loaded.block_steps() == trace.block_steps() == 16384
    assert 16384 % chunk_steps(512, 40_000) == 0


def test_the_path_or_format_chooses_the_store(valid, tmp_path):
    assert valid.save(tmp_path / "a.zarr").is_dir()
    assert valid.save(tmp_path / "a.h5").is_file()
    assert valid.save(tmp_path / "b.trace", format="zarr").is_dir()
    assert valid.save(tmp_path / "b.zarr", format="hdf5").is_file()
    with pytest.raises(ValueError, match="format must be one of"):
        valid.save(tmp_path / "c.zarr", format="netcdf")


def test_load_tells_the_format_by_the_content(valid, tmp_path):
    # a Zarr store named .h5 and an HDF5 file named .zarr: each opens as what it holds
    zarr_store = valid.save(tmp_path / "store.h5", format="zarr")
    hdf5_file = valid.save(tmp_path / "file.zarr", format="hdf5")
    assert isinstance(Trace.load(hdf5_file).states(), np.memmap)
    assert not isinstance(Trace.load(zarr_store).states(), np.memmap)
    _same(Trace.load(zarr_store), valid)


def test_a_url_is_a_store_in_any_filesystem_fsspec_knows(valid):
    # fsspec's in-memory filesystem stands in for an object store (none is reachable here)
    url = "memory://bucket/run.zarr"
    assert valid.save(url) == url
    _same(Trace.load(url), valid)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        valid.save(url)
    valid.save(url, overwrite=True)
    with pytest.raises(ValueError, match="HDF5 traces are local files"):
        valid.save(url, format="hdf5")
    with pytest.raises(FileNotFoundError, match="no Zarr store at memory://bucket/none.zarr"):
        Trace.load("memory://bucket/none.zarr")


def test_a_file_url_is_a_local_path(valid, tmp_path):
    url = f"file://{tmp_path}/u.zarr"
    assert valid.save(url) == url
    assert (tmp_path / "u.zarr" / "zarr.json").is_file()
    _same(Trace.load(url), valid)


def test_an_existing_store_is_kept_unless_overwrite(valid, tmp_path):
    path = valid.save(tmp_path / "t.zarr")
    other = Trace.from_arrays([["x", "y"]], np.ones((2, 1)))
    with pytest.raises(FileExistsError, match="overwrite=True"):
        other.save(path)
    _same(Trace.load(path), valid)
    other.save(path, overwrite=True)
    _same(Trace.load(path), other)
    assert [p.name for p in tmp_path.iterdir()] == ["t.zarr"]  # no temporary left behind


def test_a_folder_that_is_not_a_store_is_never_replaced(valid, tmp_path):
    folder = tmp_path / "results.zarr"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="holds no Zarr store"):
        valid.save(folder, overwrite=True)
    assert (folder / "notes.txt").read_text() == "mine"
    with pytest.raises(IsADirectoryError, match="is a folder"):
        valid.save(folder, format="hdf5", overwrite=True)


def test_an_interrupted_save_leaves_the_old_store_and_no_temporary(valid, tmp_path, monkeypatch):
    from rnn_widgets.trace import _zarr

    path = valid.save(tmp_path / "t.zarr")

    def fail(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(_zarr, "_write", fail)
    with pytest.raises(KeyboardInterrupt):
        valid.save(path, overwrite=True)
    with pytest.raises(KeyboardInterrupt):
        valid.save(tmp_path / "new.zarr")
    assert [p.name for p in tmp_path.iterdir()] == ["t.zarr"]
    _same(Trace.load(path), valid)


def test_save_into_a_missing_folder_says_so(valid, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        valid.save(tmp_path / "nowhere" / "t.zarr")


# ---------------------------------------------------------------------------- loading


def test_a_folder_that_is_not_a_store_is_refused_clearly(tmp_path):
    (tmp_path / "project").mkdir()
    with pytest.raises(ValueError, match=r"is a folder but not a Zarr store.*zarr\.json"):
        Trace.load(tmp_path / "project")


def test_the_metadata_file_of_a_store_points_to_its_folder(valid_store):
    with pytest.raises(ValueError, match="pass the folder that holds it"):
        Trace.load(valid_store / "zarr.json")


def test_a_missing_store_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no trace file"):
        Trace.load(tmp_path / "missing.zarr")


def test_a_store_another_tool_chunked_and_compressed_opens(valid, valid_h5, tmp_path):
    copy_hdf5(valid_h5, tmp_path / "other.zarr")  # chunks of 4 steps x 2 cells, zstd
    array = zarr.open_array(tmp_path / "other.zarr" / "states" / "0" / "h", mode="r")
    assert array.chunks == (4, 2) and array.compressors
    loaded = Trace.load(tmp_path / "other.zarr")
    _same(loaded, valid)
    np.testing.assert_array_equal(
        loaded.states_in(3, 7, layer=0, kind="c"), valid.states(layer=0, kind="c")[3:7]
    )
    assert loaded.lazy_states(layer=1).chunks == ((9,), (3,))  # whole rows, whole chunks


def test_a_zarr_2_store_opens(valid, valid_h5, tmp_path):
    copy_hdf5(valid_h5, tmp_path / "v2.zarr", zarr_format=2)
    assert (tmp_path / "v2.zarr" / ".zgroup").is_file()
    _same(Trace.load(tmp_path / "v2.zarr"), valid)


# ---------------------------------------------------------------------------- without zarr


def test_without_zarr_saving_and_loading_a_store_say_what_to_install(
    valid, valid_store, tmp_path, monkeypatch
):
    monkeypatch.setitem(sys.modules, "zarr", None)
    with pytest.raises(ImportError, match=r"rnn_widgets\[scale\]"):
        valid.save(tmp_path / "t.zarr")
    with pytest.raises(ImportError, match="Python 3.11"):
        Trace.load(valid_store)
    assert not (tmp_path / "t.zarr").exists()
    Trace.load(valid.save(tmp_path / "t.h5"))  # HDF5 needs neither


def test_without_dask_the_lazy_accessor_says_what_to_install(valid_store, monkeypatch):
    trace = Trace.load(valid_store)
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "dask.array", None)
    with pytest.raises(ImportError, match=r"rnn_widgets\[scale\]"):
        trace.lazy_states()
    assert trace.states_in(0, 2).shape == (2, 4)  # windows need no dask


# ---------------------------------------------------------------------------- states, windows, dask


def test_states_of_a_small_store_are_a_read_only_array_read_once(valid, valid_store):
    trace = Trace.load(valid_store)
    states = trace.states(layer=1, kind="f")
    assert type(states) is np.ndarray and states.dtype == np.float32
    assert not states.flags.writeable
    assert trace.states(layer=1, kind="f") is states  # read once, kept
    assert trace.with_track("x", np.zeros(9)).states(layer=1, kind="f") is states
    np.testing.assert_array_equal(states, valid.states(layer=1, kind="f"))


def test_states_past_the_budget_refuse_naming_the_lazy_accessor(valid_store):
    trace = Trace.load(valid_store, states_budget=120)  # layer 0's 9 x 4 float32: 144 bytes
    with pytest.raises(ValueError, match=r"trace\.lazy_states\(layer=0, kind='h'\)") as error:
        trace.states(layer=0, kind="h")
    assert "states_in" in str(error.value) and str(valid_store) in str(error.value)
    assert trace.states(layer=1, kind="h").shape == (9, 3)  # 108 bytes: within it
    assert STATES_BUDGET == 2**30


def test_the_budget_must_be_a_non_negative_int(valid_store):
    with pytest.raises(ValueError, match="states_budget must be >= 0"):
        Trace.load(valid_store, states_budget=-1)
    with pytest.raises(TypeError, match="states_budget must be an int"):
        Trace.load(valid_store, states_budget=1.5)


def test_a_window_reads_only_its_chunks(tmp_path):
    states = np.arange(3000 * 2, dtype=np.float32).reshape(3000, 2)
    trace = Trace.from_arrays(["a"] * 3000, states)
    store = _rechunked(trace.save(tmp_path / "t.zarr"), tmp_path / "small.zarr", 1024)
    loaded = Trace.load(store)
    # the third chunk (steps 2048 ..) is cut short after opening: windows before it still read
    with open(store / "states" / "0" / "h" / "c" / "2" / "0", "r+b") as chunk:
        chunk.truncate(100)
    np.testing.assert_array_equal(loaded.states_in(1000, 2048), states[1000:2048])
    with pytest.raises(TraceFileError, match=r"/states/0/h cannot be read") as error:
        loaded.states_in(2000, 2100)
    assert str(store) in str(error.value)


def _rechunked(source: Path, target: Path, steps: int) -> Path:
    """A copy of the store ``source`` whose state arrays have chunks of ``steps`` rows."""
    shutil.copytree(source, target)
    h = target / "states" / "0" / "h"
    values = zarr.open_array(h, mode="r")[...]
    attributes = dict(zarr.open_array(h, mode="r").attrs)
    shutil.rmtree(h)
    group = zarr.open_group(target / "states" / "0", mode="a")
    group.create_array(
        "h",
        shape=values.shape,
        dtype=values.dtype,
        chunks=(steps, values.shape[1]),
        attributes=attributes,
        compressors=None,
    )[...] = values
    return target


def test_a_window_is_the_same_from_every_store(valid, valid_store, valid_h5):
    for trace in (valid, Trace.load(valid_store), Trace.load(valid_h5)):
        window = trace.states_in(2, 6, layer=1, kind="f")
        np.testing.assert_array_equal(window, valid.states(layer=1, kind="f")[2:6])
        assert not window.flags.writeable
        assert trace.states_in(4, 4).shape == (0, 4)


@pytest.mark.parametrize(
    ("start", "stop", "error", "message"),
    [
        (5, 3, ValueError, "stop must be >= 5"),
        (0, 10, ValueError, "stop must be <= 9"),
        (-1, 3, ValueError, "start must be >= 0"),
        (0.5, 3, TypeError, "start must be an int"),
    ],
)
def test_a_window_outside_the_trace_is_refused(valid_store, start, stop, error, message):
    with pytest.raises(error, match=message):
        Trace.load(valid_store).states_in(start, stop)


def test_lazy_states_have_the_stores_chunks_and_values(valid, valid_store, valid_h5):
    lazy = Trace.load(valid_store).lazy_states(layer=1, kind="h")
    assert isinstance(lazy, dask_array.Array) and lazy.dtype == np.float32
    assert lazy.chunks == ((9,), (3,))
    np.testing.assert_array_equal(lazy.compute(), valid.states(layer=1, kind="h"))
    for trace in (valid, Trace.load(valid_h5)):  # the same accessor on any trace
        assert float(trace.lazy_states().sum().compute()) == pytest.approx(
            float(valid.states().sum()), rel=1e-6
        )


def test_a_view_shows_its_window_of_a_store_past_the_budget(valid, valid_store):
    trace = Trace.load(valid_store, states_budget=0)
    view = SelectView(trace, window_size=4)
    payload = view._window["values"]
    values = np.frombuffer(bytes(payload["data"]), dtype=payload["dtype"])
    np.testing.assert_array_equal(values.reshape(payload["shape"]), valid.states()[:4])


def test_brushing_selects_cells_of_a_store_past_the_budget(valid, valid_store):
    trace = Trace.load(valid_store, states_budget=0)
    with pytest.raises(ValueError, match="lazy_states"):
        trace.states()  # the whole array is refused, yet a brushed range reads its rows only
    low, high = valid.value_range()
    selected = 0
    for start, stop, pad in ((0, 2, 0), (1, 3, 1), (5, 7, 2)):
        threshold = (low + high) / 2
        expected = select_cells(valid, start, stop, threshold, pad, pad)
        got = select_cells(trace, start, stop, threshold, pad, pad)
        np.testing.assert_array_equal(got, expected)
        selected += len(expected)
    assert selected > 0  # the ranges select cells: the comparison is not of empty sets


def test_analyses_read_a_small_store_as_they_read_memory(valid, valid_store):
    loaded = Trace.load(valid_store)
    low, high = valid.value_range(exact=True)
    assert loaded.value_range(exact=True) == (low, high)
    threshold = (low + high) / 2
    found = [(m.start, m.stop) for m in match(loaded, [0], threshold).matches]
    assert found == [(m.start, m.stop) for m in match(valid, [0], threshold).matches]
    labels = {"first": (np.arange(9) < 4).astype(float)}
    options = {"folds": 2, "fold_by": "blocks", "bins": 4, "progress": False}
    np.testing.assert_allclose(
        score_cells(loaded, labels, **options).score, score_cells(valid, labels, **options).score
    )


def test_nan_in_a_chunk_opens_but_check_finite_names_the_store(valid_store, tmp_path):
    path = Path(shutil.copytree(valid_store, tmp_path / "nan.zarr"))
    array = zarr.open_array(path / "states" / "0" / "h", mode="r+")
    array[4, 2] = np.nan
    trace = Trace.load(path)
    with pytest.raises(TraceFileError, match=r"/states/0/h holds NaN .*step 4, cell 2") as error:
        trace.check_finite()
    assert str(path) in str(error.value)


# ---------------------------------------------------------------------------- streaming, measured

_CONVERT = textwrap.dedent(
    """
    import re, resource, sys, threading
    from pathlib import Path
    threading.stack_size(1 << 20)  # zarr's I/O threads: count their buffers, not 8 MiB stacks
    import numpy as np
    from rnn_widgets import Trace

    folder, limit = Path(sys.argv[1]), int(sys.argv[2])
    small = Trace.from_arrays([["a", "b"]], np.zeros((2, 3)))  # start zarr's threads first
    Trace.load(small.save(folder / "warm.zarr")).save(folder / "warm.h5")
    status = Path("/proc/self/status").read_text()
    data = int(re.search(r"VmData:\\s+(\\d+)", status).group(1)) * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (data + limit, resource.RLIM_INFINITY))
    Trace.load(folder / "big.h5").save(folder / "big.zarr")
    Trace.load(folder / "big.zarr").save(folder / "back.h5")
    try:  # the limit bites: one state array read whole does not fit under it
        Trace.load(folder / "big.zarr").states()
    except MemoryError:
        print("a whole array does not fit")
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_DATA as Linux counts it")
def test_conversion_both_ways_streams_under_a_memory_limit(tmp_path):
    steps, cells = 131_072, 512  # 256 MiB of float32 states, 8 blocks of 32 MiB
    states = np.lib.format.open_memmap(
        tmp_path / "states.npy", mode="w+", dtype=np.float32, shape=(steps, cells)
    )
    for start in range(0, steps, 16384):
        rows = np.arange(start, start + 16384, dtype=np.float32)[:, None]
        states[start : start + 16384] = np.sin(rows / 100 + np.arange(cells) / 7)
    tokens = ["ab"[i % 2] for i in range(steps)]
    Trace.from_owned_arrays(tokens, [steps // 2] * 2, {(0, "h"): states}).save(tmp_path / "big.h5")
    limit = 128 * 2**20  # half the trace: a whole state array cannot be held
    done = subprocess.run(
        [sys.executable, "-c", _CONVERT, str(tmp_path), str(limit)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "MALLOC_ARENA_MAX": "2"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "a whole array does not fit" in done.stdout
    back = Trace.load(tmp_path / "back.h5")
    assert back.sequence_bounds.tolist() == [[0, steps // 2], [steps // 2, steps]]
    for start in range(0, steps, 16384):
        np.testing.assert_array_equal(
            back.states_in(start, start + 16384), states[start : start + 16384]
        )


# ---------------------------------------------------------------------------- hostile stores


def _refused(path: Path) -> TraceFileError:
    try:
        trace = Trace.load(path)
    except TraceFileError as error:
        return error
    except Exception as error:  # the point: nothing else may escape
        pytest.fail(f"{type(error).__name__} escaped Trace.load: {error}")
    pytest.fail(f"Trace.load returned {trace!r} for a damaged store")


def test_the_corpus_holds_most_hdf5_cases_and_zarr_own_damage():
    assert len(translated_cases()) > 100
    assert len(zarr_cases()) > 80


@pytest.mark.parametrize("case", translated_cases(), ids=repr)
def test_an_hdf5_corruption_carried_into_zarr_is_refused_the_same_way(
    case: Hostile, valid_h5, tmp_path
):
    damaged = Path(shutil.copyfile(valid_h5, tmp_path / "damaged.h5"))
    case.corrupt(damaged)
    store = tmp_path / "hostile.zarr"
    copy_hdf5(damaged, store)
    message = str(_refused(store))
    assert str(store) in message
    assert case.where in message
    assert case.expect in message


@pytest.mark.parametrize("case", zarr_cases(), ids=repr)
def test_a_damaged_store_is_refused_naming_the_store_and_the_array(
    case: ZarrHostile, valid_store, tmp_path
):
    store = Path(shutil.copytree(valid_store, tmp_path / "hostile.zarr"))
    case.corrupt(store)
    error = _refused(store)
    assert (error.source, error.where) == (str(store), case.where)
    assert str(store) in str(error) and case.where in str(error)
    assert case.expect in str(error)
