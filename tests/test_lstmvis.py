"""Importing an LSTMVis project folder (lstm.yml, HDF5 states and word ids, .dict files).

Every test writes a small but complete LSTMVis project into tmp_path, laid out as the LSTMVis
README and docs/chapter/{config_states,meta}.md document it, with known values.
"""

from __future__ import annotations

import mmap
from pathlib import Path

import h5py
import numpy as np
import pytest

from rnn_widgets import Trace
from rnn_widgets.trace._lstmvis import load_lstmvis

# "the cat sat </s> a dog </s>" with the ids txt_to_hdf5_dict.py would give (1 is <s>)
DICT = "<s> 1\n<unk> 2\n</s> 3\nthe 4\ncat 5\nsat 6\na 7\ndog 8\n"
WORD_IDS = [4, 5, 6, 3, 7, 8, 3]
WORDS = ["the", "cat", "sat", "</s>", "a", "dog", "</s>"]
N = len(WORD_IDS)

POS_DICT = "DET 1\nNOUN 2\nVERB 3\nPUNCT 4\nADJ 5\n"
POS_IDS = [1, 2, 3, 4, 1, 2, 4]
POS = ["DET", "NOUN", "VERB", "PUNCT", "DET", "NOUN", "PUNCT"]
MOOD = np.array([0.0, 0.25, 0.5, 0.75, 1.0, 0.5, 0.125], dtype=np.float32)


def raw_states(cells: int, shift: float) -> np.ndarray:
    """Distinct float32 values in about [-3, 3], so tanh visibly changes them."""
    grid = np.arange(N * cells, dtype=np.float32).reshape(N, cells)
    return (grid / (N * cells) * 6 - 3 + shift).astype(np.float32)


RAW = {
    "states1": raw_states(3, 0.0),
    "output1": raw_states(3, 0.1),
    "states2": raw_states(4, 0.2),
    "output2": raw_states(4, 0.3),
}

YML = """\
name: tiny  # project name
description: a tiny test project

files: # assign files to reference name
  states: states.h5 # HDF5 files have to end with .h5 or .hdf5 !!!
  train: train.h5
  words: words.dict # dict files have to end with .dict !!
  pos: pos.h5
  pos_dict: pos.dict

word_sequence: # defines the word sequence
  file: train # HDF5 file
  path: word_ids # path to table in HDF5
  dict_file: words # dictionary to map IDs from HDF5 to words

states: # section to define which states of your model you want to look at
  file: states # HDF5 files containing the state for each position
  types: [
    {type: state, layer: 1, path: states1},
    {type: output, layer: 1, path: output1},
    {type: state, layer: 2, path: states2},
    {type: output, layer: 2, path: output2}
  ]

meta:
  part_of_speech: # name of the annotation
    file: pos # reference to HDF5 file
    path: pos # path within HDF5 file
    dict: pos_dict # use the dictionary file
    vis:
      type: discrete # we have discrete values
      range: dict # use the dictionary texts to map colors
  mood:
    file: pos # reference to HDF5 file
    path: mood # path in HDF5 file
    vis:
      type: scalar # scalar values
      range: [0,1] # defines the range of values to be matched to color [min,max]
"""


def make_project(folder: Path, yml: str = YML, *, states: dict | None = None) -> Path:
    """Write a complete LSTMVis project into ``folder``; return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    with h5py.File(folder / "states.h5", "w") as f:
        for path, values in (states or RAW).items():
            f.create_dataset(path, data=values)
    with h5py.File(folder / "train.h5", "w") as f:
        f.create_dataset("word_ids", data=np.array(WORD_IDS, dtype=np.int64))
    with h5py.File(folder / "pos.h5", "w") as f:
        f.create_dataset("pos", data=np.array(POS_IDS, dtype=np.int64))
        f.create_dataset("mood", data=MOOD)
    (folder / "words.dict").write_text(DICT)
    (folder / "pos.dict").write_text(POS_DICT)
    (folder / "lstm.yml").write_text(yml)
    return folder


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "tiny")


def edited(old: str, new: str) -> str:
    assert old in YML, old
    return YML.replace(old, new)


def in_mmap(array: np.ndarray) -> bool:
    base = array
    while base is not None:
        if isinstance(base, mmap.mmap):
            return True
        base = getattr(base, "base", None)
    return False


# ---------------------------------------------------------------------- tokens and sequences


def test_tokens_are_the_word_ids_decoded_through_the_dict(project):
    assert list(load_lstmvis(project).tokens) == WORDS


def test_the_word_sequence_is_one_sequence_even_across_end_of_sentence_tokens(project):
    trace = load_lstmvis(project)
    assert isinstance(trace, Trace)
    assert trace.sequence_bounds.tolist() == [[0, N]]


def test_path_may_name_the_lstm_yml_file_itself(project):
    trace = load_lstmvis(str(project / "lstm.yml"))
    assert list(trace.tokens) == WORDS


def test_dict_line_starting_with_a_space_is_the_space_token(tmp_path):
    folder = make_project(tmp_path / "chars")
    (folder / "words.dict").write_text(" 1\nthe 4\ncat 5\nsat 6\n</s> 3\na 7\ndog 8\n")
    with h5py.File(folder / "train.h5", "w") as f:
        f.create_dataset("word_ids", data=np.array([4, 1, 5, 1, 6, 1, 3]))
    assert list(load_lstmvis(folder).tokens) == ["the", " ", "cat", " ", "sat", " ", "</s>"]


def test_dict_skips_blank_lines_and_accepts_crlf_and_tabs(project):
    (project / "words.dict").write_bytes(
        (DICT.replace("\n", "\r\n").replace(" 5", "\t5") + "\n").encode()
    )
    assert list(load_lstmvis(project).tokens) == WORDS


def test_dict_words_are_utf8(project):
    (project / "words.dict").write_text(DICT.replace("cat ", "Kätzchen🐈 "), encoding="utf-8")
    assert load_lstmvis(project).tokens[1] == "Kätzchen🐈"


# ---------------------------------------------------------------------- layers, kinds, values


def test_state_and_output_become_kinds_c_and_h_at_zero_based_layers(project):
    trace = load_lstmvis(project)
    assert trace.layers == (0, 1)
    assert trace.kinds(layer=0) == ("h", "c")
    assert trace.kinds(layer=1) == ("h", "c")
    assert (trace.n_cells(layer=0), trace.n_cells(layer=1)) == (3, 4)


def test_states_are_tanh_of_the_stored_values_by_default(project):
    trace = load_lstmvis(project)
    for (layer, kind), path in {
        (0, "c"): "states1",
        (0, "h"): "output1",
        (1, "c"): "states2",
        (1, "h"): "output2",
    }.items():
        values = trace.states(layer=layer, kind=kind)
        assert values.dtype == np.float32
        np.testing.assert_array_equal(values, np.tanh(RAW[path]))


@pytest.mark.parametrize("value", ["none", "raw", "null"])
def test_transform_none_keeps_the_stored_values(tmp_path, value):
    yml = edited("path: output1}", f"path: output1, transform: {value}}}")
    trace = load_lstmvis(make_project(tmp_path / "p", yml))
    np.testing.assert_array_equal(trace.states(), RAW["output1"])


def test_transform_applies_per_entry(tmp_path):
    yml = edited("path: output1}", "path: output1, transform: none}")
    trace = load_lstmvis(make_project(tmp_path / "p", yml))
    np.testing.assert_array_equal(trace.states(layer=0, kind="c"), np.tanh(RAW["states1"]))


def test_transform_tanh_abs_is_the_absolute_tanh(tmp_path):
    yml = edited("path: states2}", "path: states2, transform: tanh_abs}")
    trace = load_lstmvis(make_project(tmp_path / "p", yml))
    np.testing.assert_array_equal(trace.states(layer=1, kind="c"), np.abs(np.tanh(RAW["states2"])))


def test_untransformed_contiguous_float32_states_are_memory_mapped(tmp_path):
    yml = edited("path: states1}", "path: states1, transform: none}")
    trace = load_lstmvis(make_project(tmp_path / "p", yml))
    mapped = trace.states(layer=0, kind="c")
    assert in_mmap(mapped)
    assert not mapped.flags.writeable
    np.testing.assert_array_equal(mapped, RAW["states1"])


def test_transformed_states_are_read_into_memory_not_mapped(project):
    assert not in_mmap(load_lstmvis(project).states(layer=0, kind="c"))


@pytest.mark.parametrize("transform", ["tanh", "none"])
def test_chunked_compressed_states_are_read_into_one_float32_array(tmp_path, transform):
    folder = make_project(
        tmp_path / "p", edited("path: states1}", f"path: states1, transform: {transform}}}")
    )
    with h5py.File(folder / "states.h5", "a") as f:
        del f["states1"]
        f.create_dataset("states1", data=RAW["states1"], chunks=(2, 3), compression="gzip")
    values = load_lstmvis(folder).states(layer=0, kind="c")
    expected = np.tanh(RAW["states1"]) if transform == "tanh" else RAW["states1"]
    assert values.dtype == np.float32 and values.flags.c_contiguous
    np.testing.assert_array_equal(values, expected)


def test_float64_states_take_tanh_in_float64_and_are_stored_as_float32(tmp_path):
    wide = {**RAW, "states1": RAW["states1"].astype(np.float64) + 1e-9}
    trace = load_lstmvis(make_project(tmp_path / "p", states=wide))
    expected = np.tanh(wide["states1"]).astype(np.float32)
    np.testing.assert_array_equal(trace.states(layer=0, kind="c"), expected)


def test_an_entry_file_overrides_the_default_states_file(tmp_path):
    yml = edited("  pos_dict: pos.dict\n", "  pos_dict: pos.dict\n  other: other.hdf5\n")
    yml = yml.replace(
        "{type: state, layer: 2, path: states2}", "{file: other, type: state, layer: 2, path: s}"
    )
    folder = make_project(tmp_path / "p", yml)
    replacement = np.full((N, 4), 0.5, dtype=np.float32)
    with h5py.File(folder / "other.hdf5", "w") as f:
        f.create_dataset("s", data=replacement)
    np.testing.assert_array_equal(
        load_lstmvis(folder).states(layer=1, kind="c"), np.tanh(replacement)
    )


def test_a_type_named_after_one_of_our_kinds_is_taken_as_that_kind(tmp_path):
    yml = edited("{type: output, layer: 2, path: output2}", "{type: f, layer: 2, path: output2}")
    trace = load_lstmvis(make_project(tmp_path / "p", yml))
    assert trace.kinds(layer=1) == ("c", "f")


def test_unsigned_changes_no_value(tmp_path):
    positive = {**RAW, "states1": np.abs(RAW["states1"])}
    yml = edited("path: states1}", "path: states1, unsigned: true}")
    trace = load_lstmvis(make_project(tmp_path / "p", yml, states=positive))
    np.testing.assert_array_equal(trace.states(layer=0, kind="c"), np.tanh(positive["states1"]))


def test_unsigned_entry_with_negative_values_warns(tmp_path):
    yml = edited("path: states1}", "path: states1, unsigned: true}")
    with pytest.warns(UserWarning, match="unsigned: true` but holds negative values"):
        load_lstmvis(make_project(tmp_path / "p", yml))


def test_a_second_entry_for_the_same_layer_and_kind_is_skipped_with_a_warning(tmp_path):
    yml = edited(
        "{type: state, layer: 2, path: states2},",
        "{type: state, layer: 2, path: states2},\n    {type: state, layer: 2, path: output1},",
    )
    with pytest.warns(UserWarning, match=r"states.types\[3\]` is skipped"):
        trace = load_lstmvis(make_project(tmp_path / "p", yml))
    np.testing.assert_array_equal(trace.states(layer=1, kind="c"), np.tanh(RAW["states2"]))


# ---------------------------------------------------------------------- meta tracks


def test_discrete_meta_with_a_dict_becomes_a_categorical_track_of_its_labels(project):
    track = load_lstmvis(project).tracks["part_of_speech"]
    assert track.label_type == "categorical"
    assert track.labels(0, N) == POS
    assert set(track.categories) <= {"DET", "NOUN", "VERB", "PUNCT", "ADJ"}


def test_discrete_meta_without_a_dict_is_labelled_by_its_numbers(tmp_path):
    yml = edited("    dict: pos_dict # use the dictionary file\n", "")
    track = load_lstmvis(make_project(tmp_path / "p", yml)).tracks["part_of_speech"]
    assert track.label_type == "categorical"
    assert track.labels(0, N) == [str(i) for i in POS_IDS]


def test_scalar_meta_becomes_a_numeric_track(project):
    track = load_lstmvis(project).tracks["mood"]
    assert track.label_type == "numeric"
    np.testing.assert_array_equal(track.values, MOOD)


def test_meta_indexed_by_the_word_sequence_is_looked_up_per_word(tmp_path):
    yml = YML + "  frequency:\n    file: pos\n    path: freq\n    index: word_sequence\n"
    folder = make_project(tmp_path / "p", yml)
    per_word = np.arange(9, dtype=np.float32) * 10  # entry i belongs to word id i
    with h5py.File(folder / "pos.h5", "a") as f:
        f.create_dataset("freq", data=per_word)
    track = load_lstmvis(folder).tracks["frequency"]
    np.testing.assert_array_equal(track.values, per_word[WORD_IDS])


def test_wordvec_meta_is_skipped_with_a_warning(tmp_path):
    yml = (
        YML
        + "  top_k:\n    type: wordvec\n    file: pos\n    path: pos\n    vis: {type: wordvec}\n"
    )
    with pytest.warns(UserWarning, match="wordvec"):
        trace = load_lstmvis(make_project(tmp_path / "p", yml))
    assert set(trace.tracks) == {"part_of_speech", "mood"}


# ---------------------------------------------------------------------- bad input


def test_a_path_that_is_not_a_path_raises_type_error():
    with pytest.raises(TypeError, match="path must be a str or path-like"):
        load_lstmvis(42)


def test_a_missing_folder_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_lstmvis(tmp_path / "nowhere")


def test_a_folder_without_lstm_yml_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"has no lstm.yml; pass the project folder"):
        load_lstmvis(tmp_path)


def test_a_data_folder_above_projects_names_them(tmp_path):
    make_project(tmp_path / "children_book")
    with pytest.raises(FileNotFoundError, match="children_book"):
        load_lstmvis(tmp_path)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("files: # assign", "filez: # assign", "files"),
        ("word_sequence: # defines", "words_sequence: # defines", "word_sequence"),
        ("  path: word_ids # path to table in HDF5\n", "", "word_sequence.path"),
        ("  dict_file: words #", "  dict: words #", "word_sequence.dict_file"),
        ("  types: [", "  typez: [", "states.types"),
        (
            "{type: output, layer: 1, path: output1}",
            "{type: output, layer: 1}",
            r"states.types\[1\].path",
        ),
        (
            "{type: state, layer: 1, path: states1}",
            "{type: state, path: states1}",
            r"states.types\[0\].layer",
        ),
        (
            "{type: state, layer: 2, path: states2}",
            "{layer: 2, path: states2}",
            r"states.types\[2\].type",
        ),
        ("  file: states # HDF5 files containing", "  # no default file", "states.file"),
        (
            "    file: pos # reference to HDF5 file\n    path: mood",
            "    path: mood",
            "meta.mood.file",
        ),
    ],
)
def test_a_missing_required_key_is_named_with_its_fix(tmp_path, old, new, key):
    folder = make_project(tmp_path / "p", edited(old, new))
    with pytest.raises(ValueError, match=rf"missing `{key}`; \S+"):
        load_lstmvis(folder)


def test_a_file_reference_not_in_files_is_named(tmp_path):
    folder = make_project(tmp_path / "p", edited("  file: train # HDF5 file", "  file: trains"))
    with pytest.raises(
        ValueError, match=r"`word_sequence.file` is 'trains', which is not a name in `files`"
    ):
        load_lstmvis(folder)


def test_a_referenced_file_that_does_not_exist_raises_file_not_found(project):
    (project / "pos.dict").unlink()
    with pytest.raises(FileNotFoundError, match=r"`files.pos_dict` names 'pos.dict'"):
        load_lstmvis(project)


def test_an_hdf5_file_without_h5_suffix_is_refused_as_lstmvis_does(tmp_path):
    folder = make_project(tmp_path / "p", edited("states: states.h5", "states: states.data"))
    with pytest.raises(ValueError, match=r"`files.states` is 'states.data'.*\.h5 or \.hdf5"):
        load_lstmvis(folder)


def test_a_dataset_path_missing_from_the_hdf5_file_is_named(tmp_path):
    folder = make_project(tmp_path / "p", edited("path: output2}", "path: output3}"))
    with pytest.raises(
        ValueError, match=r"`states.types\[3\].path` is 'output3'.*datasets are: output1"
    ):
        load_lstmvis(folder)


def test_a_word_id_missing_from_the_dict_is_named_with_its_step(project):
    (project / "words.dict").write_text(DICT.replace("dog 8\n", ""))
    with pytest.raises(
        ValueError, match=r"word id 8 \(at step 5; 1 unknown ids in all\) is not in the dict"
    ):
        load_lstmvis(project)


def test_states_and_words_of_different_lengths_are_refused(tmp_path):
    short = {**RAW, "output2": RAW["output2"][:-1]}
    folder = make_project(tmp_path / "p", states=short)
    with pytest.raises(
        ValueError, match=r"`states.types\[3\].path` names states.h5:output2 with 6 rows.*7 steps"
    ):
        load_lstmvis(folder)


def test_a_meta_track_of_the_wrong_length_is_refused(project):
    with h5py.File(project / "pos.h5", "a") as f:
        del f["mood"]
        f.create_dataset("mood", data=MOOD[:3])
    with pytest.raises(ValueError, match=r"`meta.mood.path` names pos.h5:mood with 3 values"):
        load_lstmvis(project)


def test_a_meta_value_missing_from_its_dict_is_named(project):
    (project / "pos.dict").write_text(POS_DICT.replace("VERB 3\n", ""))
    with pytest.raises(
        ValueError, match=r"`meta.part_of_speech.dict` 'pos.dict' has no label for value 3"
    ):
        load_lstmvis(project)


def test_layer_zero_is_refused_because_lstmvis_layers_are_one_based(tmp_path):
    folder = make_project(
        tmp_path / "p", edited("{type: state, layer: 1,", "{type: state, layer: 0,")
    )
    with pytest.raises(
        ValueError, match=r"`states.types\[0\].layer` is 0; LSTMVis layers are 1-based"
    ):
        load_lstmvis(folder)


def test_an_unknown_type_is_refused_with_the_accepted_ones(tmp_path):
    folder = make_project(
        tmp_path / "p", edited("{type: output, layer: 2,", "{type: gates, layer: 2,")
    )
    with pytest.raises(ValueError, match=r"`states.types\[3\].type` is 'gates'; use `state`"):
        load_lstmvis(folder)


def test_an_unknown_transform_is_refused(tmp_path):
    folder = make_project(
        tmp_path / "p", edited("path: states1}", "path: states1, transform: sigmoid}")
    )
    with pytest.raises(ValueError, match=r"`states.types\[0\].transform` is 'sigmoid'; use tanh"):
        load_lstmvis(folder)


def test_a_malformed_dict_line_is_named_by_number(project):
    (project / "words.dict").write_text(DICT.replace("cat 5", "cat 5 extra"))
    with pytest.raises(ValueError, match=r"words.dict line 5 is 'cat 5 extra'"):
        load_lstmvis(project)


def test_tabs_as_in_the_lstmvis_readme_example_are_reported_with_the_fix(tmp_path):
    folder = make_project(
        tmp_path / "p", edited("    {type: output, layer: 1,", "\t{type: output, layer: 1,")
    )
    with pytest.raises(ValueError, match="replace them with spaces"):
        load_lstmvis(folder)


def test_the_yml_is_parsed_safely(tmp_path):
    folder = make_project(
        tmp_path / "p", "name: !!python/object/apply:os.system ['echo unsafe']\n" + YML
    )
    with pytest.raises(ValueError, match="is not valid YAML"):
        load_lstmvis(folder)


def test_a_yml_that_is_not_a_mapping_is_refused(tmp_path):
    folder = make_project(tmp_path / "p", "- just\n- a list\n")
    with pytest.raises(ValueError, match="must hold a YAML mapping"):
        load_lstmvis(folder)


def test_nan_states_are_refused_with_their_position(tmp_path):
    broken = RAW["output1"].copy()
    broken[2, 1] = np.nan
    folder = make_project(tmp_path / "p", states={**RAW, "output1": broken})
    with pytest.raises(
        ValueError, match=r"output1 .*NaN or infinite values \(first at step 2, cell 1\)"
    ):
        load_lstmvis(folder)


def test_kinds_of_one_layer_with_different_cell_counts_are_refused(tmp_path):
    wide = {**RAW, "output1": np.zeros((N, 6), dtype=np.float32)}
    folder = make_project(tmp_path / "p", states=wide)
    with pytest.raises(
        ValueError, match=r"`states.types\[1\]` has 6 cells but `states.types\[0\]`"
    ):
        load_lstmvis(folder)


def test_word_ids_stored_as_whole_floats_are_accepted_as_lstmvis_does(project):
    with h5py.File(project / "train.h5", "w") as f:
        f.create_dataset("word_ids", data=np.array(WORD_IDS, dtype=np.float32))
    assert list(load_lstmvis(project).tokens) == WORDS


def test_word_ids_that_are_not_whole_numbers_are_refused(project):
    with h5py.File(project / "train.h5", "w") as f:
        f.create_dataset("word_ids", data=np.array(WORD_IDS, dtype=np.float32) + 0.5)
    with pytest.raises(
        ValueError, match=r"`word_sequence.path` \(train.h5:word_ids\) must hold integer ids"
    ):
        load_lstmvis(project)


def test_trace_from_lstmvis_is_the_public_entry_point(project):
    trace = Trace.from_lstmvis(project)
    assert list(trace.tokens) == list(load_lstmvis(project).tokens)
    assert trace.layers == (0, 1)
