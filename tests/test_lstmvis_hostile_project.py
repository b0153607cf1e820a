"""A hostile LSTMVis project folder: it reads only its own files, and corrupt content says so.

A project folder may come from someone else. Every file it reads must resolve inside it
(``..``, absolute paths, symbolic links and HDF5 links followed) unless the user opts in with
``allow_outside=True``; every corrupt content is one ``ValueError`` naming the file (or the
``lstm.yml`` key) and the problem. Each test builds its folders in ``tmp_path``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import h5py
import numpy as np
import pytest

from rnn_widgets import Trace
from rnn_widgets.trace._lstmvis import load_lstmvis

from .test_lstmvis import DICT, WORD_IDS, WORDS, YML, edited, make_project

OUTSIDE = "outside the project folder"
SECRET_DICT = "<s> 1\n<unk> 2\n</s> 3\nSECRET 4\ncat 5\nsat 6\na 7\ndog 8\n"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A folder beside the project holding files the project must not read."""
    folder = tmp_path / "private"
    folder.mkdir()
    (folder / "secret.dict").write_text(SECRET_DICT)
    with h5py.File(folder / "secret.h5", "w") as f:
        f.create_dataset("word_ids", data=np.array(WORD_IDS, dtype=np.int64))
    return folder


def refused(folder: Path, *, match: str, naming: str = "") -> str:
    """Load ``folder``, expecting exactly a ValueError (never KeyError, IndexError, ...).

    Its message must match ``match`` and hold ``naming`` (a file or dataset name).
    """
    with pytest.raises(Exception) as info:
        load_lstmvis(folder)
    assert type(info.value) is ValueError, f"{type(info.value).__name__}: {info.value}"
    message = str(info.value)
    assert re.search(match, message), message
    assert naming in message, message
    return message


# ---------------------------------------------------------------------- paths stay inside


@pytest.mark.parametrize(
    ("entry", "target"),
    [
        ("words: ../private/secret.dict", "words"),
        ("words: sub/../../private/secret.dict", "words"),
        ("train: ../private/secret.h5", "train"),
        ("words: ABSOLUTE/secret.dict", "words"),
        ("train: ABSOLUTE/secret.h5", "train"),
    ],
)
def test_a_path_leaving_the_folder_is_refused_with_the_reason(tmp_path, secret, entry, target):
    line = {"words": "  words: words.dict", "train": "  train: train.h5"}[target]
    entry = entry.replace("ABSOLUTE", str(secret))
    folder = make_project(tmp_path / "p", edited(line, f"  {entry}"))
    message = refused(folder, match=rf"`files.{target}`.*{OUTSIDE}.*allow_outside=True")
    assert str(secret.resolve()) in message  # says where it leads


def test_a_symbolic_link_to_a_file_outside_is_refused(tmp_path, secret):
    folder = make_project(tmp_path / "p")
    (folder / "words.dict").unlink()
    (folder / "words.dict").symlink_to(secret / "secret.dict")
    refused(folder, match=r"`files.words`.*symbolic link.*allow_outside=True")


def test_a_symbolic_link_to_a_folder_outside_is_refused(tmp_path, secret):
    folder = make_project(tmp_path / "p", edited("words: words.dict", "words: data/secret.dict"))
    (folder / "data").symlink_to(secret, target_is_directory=True)
    refused(folder, match=rf"`files.words`.*{OUTSIDE}")


def test_a_lstm_yml_linking_outside_is_refused(tmp_path):
    elsewhere = make_project(tmp_path / "elsewhere")
    folder = make_project(tmp_path / "p")
    (folder / "lstm.yml").unlink()
    (folder / "lstm.yml").symlink_to(elsewhere / "lstm.yml")
    refused(folder, match=rf"lstm.yml resolves to .*elsewhere.*{OUTSIDE}")


def test_allow_outside_reads_files_outside_the_folder(tmp_path, secret):
    folder = make_project(tmp_path / "p", edited("words: words.dict", "words: ../private/s.dict"))
    (secret / "s.dict").symlink_to(secret / "secret.dict")
    assert Trace.from_lstmvis(folder, allow_outside=True).tokens[0] == "SECRET"
    assert load_lstmvis(folder, allow_outside=True).tokens[0] == "SECRET"


def test_links_and_dot_dots_that_stay_inside_are_read(tmp_path):
    folder = make_project(tmp_path / "p", edited("words: words.dict", "words: sub/../w.dict"))
    (folder / "sub").mkdir()
    (folder / "w.dict").symlink_to(folder / "words.dict")
    assert list(load_lstmvis(folder).tokens) == WORDS


def test_a_project_folder_reached_through_a_link_is_read(tmp_path):
    folder = make_project(tmp_path / "real")
    (tmp_path / "alias").symlink_to(folder, target_is_directory=True)
    assert list(load_lstmvis(tmp_path / "alias").tokens) == WORDS


def test_an_hdf5_external_link_leading_outside_is_refused(tmp_path, secret):
    folder = make_project(tmp_path / "p")
    with h5py.File(folder / "train.h5", "w") as f:
        f["word_ids"] = h5py.ExternalLink(str(secret / "secret.h5"), "word_ids")
    refused(folder, match=rf"`word_sequence.path`.*HDF5 link.*{OUTSIDE}")
    assert load_lstmvis(folder, allow_outside=True).tokens[0] == "the"


def test_an_hdf5_external_link_inside_the_folder_is_followed(tmp_path):
    folder = make_project(tmp_path / "p")
    with h5py.File(folder / "ids.h5", "w") as f:
        f.create_dataset("word_ids", data=np.array(WORD_IDS, dtype=np.int64))
    with h5py.File(folder / "train.h5", "w") as f:
        f["word_ids"] = h5py.ExternalLink("ids.h5", "word_ids")
    assert list(load_lstmvis(folder).tokens) == WORDS


def test_a_dataset_stored_in_external_raw_files_is_refused(tmp_path):
    folder = make_project(tmp_path / "p")
    raw = tmp_path / "raw.bin"
    np.array(WORD_IDS, dtype=np.int64).tofile(raw)
    with h5py.File(folder / "train.h5", "w") as f:
        f.create_dataset("word_ids", shape=(7,), dtype=np.int64, external=[(str(raw), 0, 56)])
    refused(folder, match=r"`word_sequence.path`.*stores its values in other files.*raw.bin")


def test_a_virtual_dataset_drawing_on_other_files_is_refused(tmp_path, secret):
    folder = make_project(tmp_path / "p")
    layout = h5py.VirtualLayout(shape=(7,), dtype=np.int64)
    layout[:] = h5py.VirtualSource(str(secret / "secret.h5"), "word_ids", shape=(7,))
    with h5py.File(folder / "train.h5", "w") as f:
        f.create_virtual_dataset("word_ids", layout)
    refused(folder, match=r"stores its values in other files.*secret.h5.*allow_outside=True")


def test_a_symbolic_link_loop_is_refused(tmp_path):
    folder = make_project(tmp_path / "p")
    (folder / "words.dict").unlink()
    (folder / "words.dict").symlink_to(folder / "words.dict")
    refused(folder, match=r"`files.words`.*cannot be resolved.*Symlink loop")


def test_a_file_name_with_a_nul_character_is_refused(tmp_path):
    folder = make_project(tmp_path / "p", edited("words: words.dict", 'words: "w\\0.dict"'))
    refused(folder, match=r"`files.words`.*NUL")


def test_allow_outside_must_be_a_bool(tmp_path):
    folder = make_project(tmp_path / "p")
    with pytest.raises(TypeError, match="allow_outside must be True or False"):
        load_lstmvis(folder, allow_outside="yes")  # type: ignore[arg-type]


def test_a_refused_project_is_left_as_it_was(tmp_path, secret):
    folder = make_project(tmp_path / "p", edited("words: words.dict", "words: ../private/x.dict"))
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}
    refused(folder, match=OUTSIDE)
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()} == before


# ---------------------------------------------------------------------- dict files


@pytest.mark.parametrize(
    "ident",
    ["-4", "99999999999999999999", "2147483648", "1_000", "0x10", "+4", "4.0", "1e3", "٤"],
)
def test_an_absurd_dict_id_is_refused_with_its_line(project_folder, ident):
    (project_folder / "words.dict").write_text(DICT.replace("the 4", f"the {ident}"))
    refused(project_folder, match=r"words.dict line 4: the id .* is not a word id.*0 to 2147483647")


def test_a_dict_word_that_is_not_utf8_is_refused_with_its_line(project_folder):
    (project_folder / "words.dict").write_bytes(DICT.replace("cat", "K\xe4tze").encode("latin-1"))
    refused(project_folder, match=r"words.dict line 5: the word 'K.tze' is not UTF-8.*iconv")


def test_a_binary_file_as_dict_is_quoted_briefly(project_folder):
    (project_folder / "words.dict").write_bytes(b"x y z " * 10_000 + b"\n")
    message = refused(project_folder, match=r"words.dict line 1 is 'x y z .*\.\.\.'; each line")
    assert len(message) < 600


# ---------------------------------------------------------------------- word ids and states


def write_ids(folder: Path, data: object, **kwargs: object) -> None:
    with h5py.File(folder / "train.h5", "w") as f:
        f.create_dataset("word_ids", data=data, **kwargs)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (
            np.array([4, 5, 6, 3, 7, 8, 2**63 + 5], dtype=np.uint64),
            r"id 9223372036854775813 \(at index 6\)",
        ),
        (np.array([4, 5, 6, 3, 7, 8, 1e300]), r"id 1e\+300 \(at index 6\)"),
        (np.array([4, 5, -1, 3, 7, 8, 3]), r"id -1 \(at index 2\)"),
        (np.array([4, 5, 6.5, 3, 7, 8, 3]), "must hold integer ids, got float64"),
        (np.array([4, 5, np.nan, 3, 7, 8, 3]), "must hold integer ids, got float64"),
        (np.array([True, False] * 3 + [True]), "must hold integer ids, got bool"),
        (np.array([b"the", b"cat"]), "must hold integer ids, got |S3"),
        (np.array([[4, 5], [6, 3]]), r"1-D dataset of word ids.*shape \(2, 2\)"),
        (h5py.Empty("int64"), "must hold integer ids, got no values"),
        (np.zeros(0, dtype=np.int64), r"non-empty 1-D.*shape \(0,\)"),
    ],
)
def test_corrupt_word_ids_are_refused_naming_the_file(project_folder, data, match):
    write_ids(project_folder, data)
    refused(project_folder, match=rf"`word_sequence.path`.*{match}", naming="train.h5")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (np.zeros((7, 3, 2), dtype=np.float32), r"2-D dataset.*shape \(7, 3, 2\)"),
        (np.zeros(7, dtype=np.float32), r"2-D dataset.*shape \(7,\)"),
        (h5py.Empty("float32"), r"2-D dataset.*shape None"),
        (np.zeros((6, 3), dtype=np.float32), "6 rows, but the word sequence has 7 steps"),
        (np.full((7, 3), np.inf, dtype=np.float32), "NaN or infinite values"),
        (np.array([[b"a"] * 3] * 7), "states must be numbers"),
    ],
)
def test_corrupt_states_are_refused_naming_the_dataset(tmp_path, data, match):
    folder = make_project(tmp_path / "p")
    with h5py.File(folder / "states.h5", "a") as f:
        del f["states1"]
        f.create_dataset("states1", data=data)
    refused(folder, match=match, naming="states1")


# ---------------------------------------------------------------------- lstm.yml


@pytest.mark.parametrize(
    ("yml", "match"),
    [
        ("- just\n- a list\n", "must hold a YAML mapping"),
        ("", "must hold a YAML mapping.*NoneType"),
        ("files: 2001-02-30\n", "holds a value YAML cannot read"),
        ("files: " + "[" * 3000 + "]" * 3000 + "\n", "nests lists or mappings too deeply"),
        ("a: !!python/object/apply:os.system ['echo pwned']\n", "not valid YAML"),
        ("? [1, 2]\n: 3\n", "not valid YAML"),
        (
            YML.replace("word_sequence: # defines the word sequence", "word_sequence: 5\nx:"),
            "`word_sequence` must be a mapping",
        ),
        (
            edited("states: # section to define", "states: [1]\nold_states: #"),
            "`states` must be a mapping",
        ),
        (
            edited("layer: 2, path: states2", "layer: 99999999999999, path: states2"),
            r"states.types\[2\].layer` is 99999999999999",
        ),
        (
            edited("  states: states.h5 #", "  states: [1, 2] #"),
            r"`files.states` must be a file name",
        ),
    ],
)
def test_a_malformed_lstm_yml_is_one_value_error(tmp_path, yml, match):
    folder = make_project(tmp_path / "p", yml)
    refused(folder, match=rf"lstm.yml.*{match}")


def test_yaml_tags_are_never_run(tmp_path):
    marker = tmp_path / "pwned"
    path = f"!!python/object/apply:pathlib.Path ['{marker}']"
    yml = f"a: !!python/object/apply:pathlib.Path.touch [{path}]\n"
    folder = make_project(tmp_path / "p", yml + YML)
    refused(folder, match="not valid YAML")
    assert not marker.exists()


def test_a_meta_index_of_the_wrong_shape_is_refused(tmp_path):
    yml = YML + "ids:\n  file: pos\n  path: pos2d\n"
    yml = yml.replace("    path: mood # path in HDF5 file\n", "    path: mood\n    index: ids\n")
    folder = make_project(tmp_path / "p", yml)
    with h5py.File(folder / "pos.h5", "a") as f:
        f.create_dataset("pos2d", data=np.ones((7, 2), dtype=np.int64))
    refused(folder, match=r"`ids.path` must name one id per step, shape \(7,\).*\(7, 2\)")


@pytest.fixture
def project_folder(tmp_path: Path) -> Path:
    return make_project(tmp_path / "tiny")


def test_the_hostile_checks_cost_nothing_on_a_good_project(project_folder):
    assert os.path.isfile(project_folder / "lstm.yml")
    assert list(load_lstmvis(project_folder).tokens) == WORDS
