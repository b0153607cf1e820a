"""Traces on disk: an exact round trip, memory-mapped arrays, clear errors."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from rnn_widgets import Trace


@pytest.fixture
def rich_trace(two_layer_trace):
    return (
        two_layer_trace.with_track("depth", np.arange(9) % 3)
        .with_track("pos/tag", ["D", "N", "V"] * 3)
        .with_predictions(np.array([["x", "ÿ"]] * 9), np.tile([0.6, 0.3], (9, 1)))
    )


def test_round_trip_is_exact(rich_trace, tmp_path):
    loaded = Trace.load(rich_trace.save(tmp_path / "t.h5"))
    assert list(loaded.tokens) == list(rich_trace.tokens)
    assert loaded.sequence_bounds.tolist() == rich_trace.sequence_bounds.tolist()
    assert loaded.layers == rich_trace.layers
    for layer in rich_trace.layers:
        assert loaded.kinds(layer=layer) == rich_trace.kinds(layer=layer)
        for kind in rich_trace.kinds(layer=layer):
            np.testing.assert_array_equal(
                loaded.states(layer=layer, kind=kind), rich_trace.states(layer=layer, kind=kind)
            )
            assert loaded.value_range(layer=layer, kind=kind) == rich_trace.value_range(
                layer=layer, kind=kind
            )
    assert loaded.tracks["pos/tag"].labels(0, 3) == ["D", "N", "V"]
    np.testing.assert_array_equal(loaded.tracks["depth"].values, rich_trace.tracks["depth"].values)
    assert loaded.predictions.top(2, 3) == [["x", "ÿ"]]
    np.testing.assert_array_equal(
        loaded.predictions.probabilities, rich_trace.predictions.probabilities
    )


def test_track_label_types_are_stored_in_the_version_1_kind_attribute(rich_trace, tmp_path):
    path = rich_trace.save(tmp_path / "t.h5")
    with h5py.File(path) as file:
        stored = {track.attrs["name"]: track.attrs["kind"] for track in file["tracks"].values()}
    assert stored == {"depth": "numeric", "pos/tag": "categorical"}
    loaded = Trace.load(path)
    assert loaded.tracks["depth"].label_type == "numeric"
    assert loaded.tracks["pos/tag"].label_type == "categorical"


def test_loaded_states_are_read_only_memory_maps(two_layer_trace, tmp_path):
    loaded = Trace.load(two_layer_trace.save(tmp_path / "t.h5"))
    states = loaded.states()
    assert isinstance(states, np.memmap)
    assert not states.flags.writeable
    assert isinstance(loaded.tokens.data, np.memmap)


def test_saved_datasets_are_contiguous_and_uncompressed(two_layer_trace, tmp_path):
    path = two_layer_trace.save(tmp_path / "t.h5")
    with h5py.File(path) as file:
        dataset = file["states/0/h"]
        assert dataset.chunks is None and dataset.compression is None
        assert dataset.dtype == np.float32


def test_chunked_datasets_from_other_writers_still_load(two_layer_trace, tmp_path):
    path = two_layer_trace.save(tmp_path / "t.h5")
    with h5py.File(path, "a") as file:
        values = file["states/0/h"][...]
        del file["states/0/h"]
        file["states/0"].create_dataset("h", data=values, chunks=(2, 4), compression="gzip")
        file["states/0/h"].attrs["min"], file["states/0/h"].attrs["max"] = 0.0, 8.3
    loaded = Trace.load(path)
    np.testing.assert_array_equal(loaded.states(), two_layer_trace.states())


def test_a_saved_trace_can_be_saved_again(two_layer_trace, tmp_path):
    loaded = Trace.load(two_layer_trace.save(tmp_path / "a.h5"))
    again = Trace.load(loaded.save(tmp_path / "b.h5"))
    np.testing.assert_array_equal(
        again.states(layer=1, kind="h"), two_layer_trace.states(layer=1, kind="h")
    )


def test_existing_files_are_kept_unless_overwrite(two_layer_trace, tmp_path):
    path = two_layer_trace.save(tmp_path / "t.h5")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        two_layer_trace.save(path)
    two_layer_trace.save(path, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["t.h5"]  # no temporary left behind


def test_missing_file_and_foreign_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no trace file"):
        Trace.load(tmp_path / "missing.h5")
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(ValueError, match="not an HDF5 file"):
        Trace.load(tmp_path / "text.h5")
    with h5py.File(tmp_path / "other.h5", "w") as file:
        file["x"] = np.zeros(3)
    with pytest.raises(ValueError, match="not a saved trace"):
        Trace.load(tmp_path / "other.h5")


def test_save_into_a_missing_folder_says_so(two_layer_trace, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        two_layer_trace.save(tmp_path / "nowhere" / "t.h5")


def test_kinds_of_different_widths_round_trip_with_their_cell_groups(tmp_path):
    states = {
        (0, "h"): np.arange(12, dtype=np.float32).reshape(3, 4),
        (0, "delta"): np.ones((3, 8), dtype=np.float32),
        (0, "y"): np.zeros((3, 8), dtype=np.float32),
        (0, "ssm"): np.ones((3, 16), dtype=np.float32),
        (1, "h"): np.ones((3, 4), dtype=np.float32),
        (1, "g"): np.ones((3, 4), dtype=np.float32),
    }
    groups = {"delta": "channels", "y": "channels"}
    trace = Trace.from_arrays([["a", "b", "c"]], states, cell_groups=groups)
    assert trace.cell_group(kind="delta") == trace.cell_group(kind="y") == "channels"
    assert trace.cell_group(kind="ssm") == "ssm"
    assert trace.cell_group(layer=1, kind="g") == trace.cell_group(layer=1, kind="h") == "h"
    assert trace.n_cells(kind="ssm") == 16 and trace.n_cells() == 4
    loaded = Trace.load(trace.save(tmp_path / "t.h5"))
    for layer, kind in states:
        assert loaded.cell_group(layer=layer, kind=kind) == trace.cell_group(layer=layer, kind=kind)
        assert loaded.n_cells(layer=layer, kind=kind) == states[(layer, kind)].shape[1]
    assert "4 cells h + 8 cells" in repr(loaded)


def test_a_version_1_file_still_opens_as_one_cell_group(two_layer_trace, tmp_path):
    path = two_layer_trace.save(tmp_path / "t.h5")
    with h5py.File(path, "a") as file:
        file.attrs["version"] = 1
        for layer in file["states"].values():
            for dataset in layer.values():
                del dataset.attrs["cell_group"]
    loaded = Trace.load(path)
    for layer in loaded.layers:
        groups = {loaded.cell_group(layer=layer, kind=k) for k in loaded.kinds(layer=layer)}
        assert len(groups) == 1
    np.testing.assert_array_equal(loaded.states(layer=1), two_layer_trace.states(layer=1))
