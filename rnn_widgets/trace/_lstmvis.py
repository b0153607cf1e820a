"""Import an LSTMVis project folder as a :class:`~rnn_widgets.trace.Trace`.

LSTMVis (Strobelt et al. 2018 [1]_, https://github.com/HendrikStrobelt/LSTMVis) reads a project
folder holding a config file ``lstm.yml``, HDF5 files and ``.dict`` word files. What this
module honours, and where LSTMVis defines it (``README.md`` "Adding Your Own Data",
``docs/chapter/config_states.md``, ``docs/chapter/meta.md``, ``lstmdata/data_handler.py``,
``lstm_server.py``, ``lstm_server.yaml``, ``model/get_states.lua``,
``tools/txt_to_hdf5_dict.py``)::

    files:                      # reference name -> file name, relative to the folder
      states: cbt_epoch10.h5    #   HDF5 files end in .h5 or .hdf5
      word_ids: train.h5
      words: words.dict         #   dict files end in .dict (LSTMVis also reads .txt)
      pos: pos.h5
      pos_dict: pos.dict
      other: more_states.h5
    word_sequence:              # the token of every step: one long sequence of word ids
      file: word_ids            #   a name from `files` (an HDF5 file)
      path: word_ids            #   the dataset inside it, shape (n_steps,)
      dict_file: words          #   a name from `files` (a dict file)
    states:
      file: states              # default HDF5 file of every entry below
      types: [
        {type: state, layer: 1, path: states1},                 # cell state c, layer 1
        {type: output, layer: 1, path: output1, transform: none},
        {file: other, type: state, layer: 2, path: states2, unsigned: true},
      ]
    meta:                       # annotation tracks, one value per step
      part_of_speech: {file: pos, path: pos, dict: pos_dict, vis: {type: discrete, range: dict}}
      mood: {file: pos, path: mood, vis: {type: scalar, range: [0, 1]}}

Mapping to a Trace
------------------
* **Tokens.** ``word_sequence`` is read whole (ids are small) and decoded through its dict.
  Every id must be in the dict. LSTMVis stores one long sequence and its extraction scripts
  (``get_states.lua``) run the model over it without resetting the state, so a state at an
  end-of-sentence token (``</s>`` from ``txt_to_hdf5_dict.py``) flows into the next sentence.
  No ``lstm.yml`` key marks sequence boundaries, so the trace holds **one sequence**; splitting
  at ``</s>`` would claim state resets that never happened.
* **Layers.** LSTMVis layers are 1-based (``layer: 1`` is the first), ours 0-based: layer ``L``
  becomes layer ``L - 1``.
* **Kinds.** ``get_states.lua`` writes each LSTM layer's ``module.cell`` (the cell state
  ``c_t``) as ``states<L>`` and its ``module.output`` (the hidden state ``h_t``) as
  ``output<L>``, listed in ``lstm.yml`` as ``type: state`` and ``type: output``. So
  ``state`` (or ``states``) becomes kind ``"c"`` and ``output`` (or ``outputs``) kind ``"h"``.
  A ``type`` that is one of our kind names (``h c i f g o r z n``) is taken as that kind, so
  gate datasets can be imported too. Any other type is an error (name the kind instead).
  When two entries map to the same (layer, kind), for example the signed and the
  ``unsigned: true`` copy of one layer in ``config_states.md``, the first one wins and the
  others are skipped with a warning.
* **transform** (per entry; LSTMVis' default is ``tanh``). Absent or ``tanh``: the stored
  values pass through ``np.tanh`` in their stored dtype (float32 stays float32), exactly as the
  LSTMVis server does before showing or matching them. ``tanh_abs``: ``tanh`` then absolute
  value (the server's other transform). ``none`` or ``raw``, or a key present with an empty
  (null) value: the values are used as stored (LSTMVis applies ``tanh`` only when the value is
  ``tanh``). Any other value is an error. (LSTMVis' version-1 client sends each entry's
  ``transform`` to the server; its version-2 client never sends it, so the server's default
  ``tanh`` applies there whatever ``lstm.yml`` says. We follow the documented per-entry
  meaning.)
* **unsigned** (per entry; default false) tells LSTMVis' client to draw the axis from 0 to 1
  instead of -1 to 1; it changes no value. Our views scale to the data
  (``Trace.value_range``), so it is only checked: it must be a boolean, and an unsigned entry
  with negative values (after the transform) draws a warning.
* **meta** tracks of LSTMVis' default ``type: general``: one value per step
  (``index: self``, the default) or a table looked up by another section's ids
  (``index: word_sequence`` gives ``table[word_id]`` at each step). With a ``dict`` the values
  are decoded through it into a categorical track of its labels; without one,
  ``vis.type: discrete`` gives a categorical track whose labels are the numbers and
  ``vis.type: scalar`` (or no ``vis``) a numeric track. ``type: wordvec`` tracks (a list of
  words per step, such as top-k predictions with arbitrary scores) have no faithful mapping
  and are skipped with a warning; attach predictions with ``trace.with_predictions``.
* **Ignored**: ``name``, ``description``, ``word_embedding``, ``etc``, ``vis.range`` (colour
  scales) and a search ``indexdir``.

The ``.dict`` format is LSTMVis' reader's: one ``word id`` pair per line, split at ASCII
whitespace; a line that starts with a space and holds only an id is the space token (for
character models); blank lines are skipped; a later line for the same id wins. Words must be
UTF-8 (LSTMVis' server sends them as JSON, which fails on other bytes) and ids plain decimal
integers ``0 .. 2**31 - 1``. Lines LSTMVis would silently skip (more or fewer than two
fields), a word that is not UTF-8 and an absurd id (negative, huge, ``1_000``) are an error
here, with the line number.

A project folder is untrusted input
-----------------------------------
Project folders are shared (downloaded, unzipped, mounted), and ``lstm.yml`` names the files
to read. Every file read, ``lstm.yml`` included, must resolve (``Path.resolve``: ``..``,
absolute paths and symbolic links followed) to a path inside the project folder, and so must
the file an HDF5 external link leads to; an HDF5 dataset stored in external raw files or a
virtual dataset drawing on other files is refused too (HDF5 looks those files up through
environment variables and the working directory, so where they are cannot be checked). Else a
folder from someone else could read any ``.h5``, ``.hdf5``, ``.dict`` or ``.txt`` file its
user can read into the trace's tokens or tracks. ``allow_outside=True`` lifts these checks for
a project you trust that keeps its data elsewhere on purpose. Every content check below holds
either way, and each failure is a ``ValueError`` (or ``FileNotFoundError``) naming the file,
the ``lstm.yml`` key and the fix.

Memory: a state dataset that is contiguous, uncompressed, native float32 and imported
without a transform is memory-mapped at its byte offset in the HDF5 file (nothing is read
but one pass that checks the values are finite). Everything else (the ``tanh`` default,
chunked or compressed datasets, other dtypes) is read in blocks of about 64 MB straight into
one float32 array, transformed in place, and handed to the trace without a further copy.
``lstm.yml`` is parsed with ``yaml.safe_load`` only.

References
----------
.. [1] Strobelt, H., Gehrmann, S., Pfister, H., & Rush, A. M. (2018). LSTMVis: A tool for visual
   analysis of hidden state dynamics in recurrent neural networks. IEEE Transactions on
   Visualization and Computer Graphics, 24(1), 667-676. arXiv:1606.07461.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import yaml

from ._hdf5 import memory_map
from ._tokens import Tokens
from ._trace import KNOWN_KINDS, Trace

__all__ = ["CONFIG_NAME", "load_lstmvis"]

#: The config file LSTMVis looks for in a project folder.
CONFIG_NAME = "lstm.yml"

_HDF5_SUFFIXES = (".h5", ".hdf5")
_DICT_SUFFIXES = (".dict", ".txt")
_TYPE_KINDS = {"state": "c", "states": "c", "output": "h", "outputs": "h"}
_TRANSFORMS = ("tanh", "tanh_abs", "none", "raw")
_BLOCK_BYTES = 64 << 20
_MISSING = object()
#: Word ids, dict ids and table positions are at most this (a vocabulary of 2**31 words);
#: larger ones are corrupt data, not ids.
_MAX_ID = 2**31 - 1
#: LSTMVis layer numbers above this are corrupt, not layers.
_MAX_LAYER = 2**16
#: How much of a bad dict line an error message quotes.
_QUOTE_CHARS = 80


class _Folder:
    """The project folder every file read must stay in (unless ``allow_outside``)."""

    def __init__(self, folder: Path, allow_outside: bool) -> None:
        self.folder = folder
        self.allow_outside = allow_outside
        self.root = _resolved(folder, f"the project folder {folder}")

    def inside(self, file: Path, what: str) -> Path:
        """``file`` resolved (symbolic links followed); refused when outside the folder."""
        resolved = _resolved(file, what)
        if self.allow_outside or resolved.is_relative_to(self.root):
            return resolved
        raise ValueError(
            f"{what} resolves to {resolved}, outside the project folder {self.root} (through "
            "`..`, an absolute path or a symbolic link); a project folder may only read its own "
            "files, so a folder from someone else cannot read yours. Copy the file into the "
            "folder, or pass allow_outside=True if you trust this project"
        )


def _resolved(file: Path, what: str) -> Path:
    if "\x00" in str(file):
        raise ValueError(f"{what} holds a NUL character; name a real file")
    try:
        return file.resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symbolic link loop
        raise ValueError(f"{what} cannot be resolved ({exc}); fix the symbolic link") from exc


def load_lstmvis(path: str | os.PathLike[str], *, allow_outside: bool = False) -> Trace:
    """Import an LSTMVis project (its ``lstm.yml``, HDF5 files and ``.dict`` files) as a Trace.

    Parameters
    ----------
    path : str or path-like
        The project folder (the one holding ``lstm.yml``), or the ``lstm.yml`` file itself.
        File names in ``lstm.yml`` are relative to the folder of the config file.
    allow_outside : bool, keyword-only
        False (the default): every file read must resolve (``..``, absolute paths and
        symbolic links followed, HDF5 external links too) inside the project folder, so a
        project folder from someone else cannot read other files of yours into the trace.
        True: read files outside the folder as well, for a project you trust whose
        ``lstm.yml`` points at data kept elsewhere on purpose.

    Returns
    -------
    Trace
        One sequence holding LSTMVis' whole word sequence; a state array per ``states.types``
        entry, at layer ``layer - 1`` and kind ``"c"`` (``type: state``) or ``"h"``
        (``type: output``), after LSTMVis' ``transform`` (``tanh`` unless the entry says
        ``none``); a track per ``meta`` entry. See the module docstring for every rule.

    Raises
    ------
    TypeError
        If ``path`` is not a str or path-like, or ``allow_outside`` not a bool.
    FileNotFoundError
        If the folder, its ``lstm.yml`` or a file named in ``files`` does not exist.
    ValueError
        If a file read resolves outside the project folder (without ``allow_outside``);
        if ``lstm.yml`` is not valid YAML, lacks a required key (the message names its path,
        such as ``states.types[1].path``), names an unknown file or dataset; if a word id is
        missing from the dict, a dict line or id is malformed, lengths or ranks disagree,
        ids are not integers, or states are NaN or infinite. Every message names the file
        and says how to fix it.

    Warns
    -----
    UserWarning
        When an entry is skipped (a second entry for the same layer and kind, a ``wordvec``
        meta track) or an ``unsigned`` entry holds negative values.

    Examples
    --------
    >>> trace = load_lstmvis("data/children_book")  # doctest: +SKIP
    >>> trace.states(kind="c")  # LSTMVis layer 1, type state, tanh applied  # doctest: +SKIP

    """
    if not isinstance(allow_outside, bool):
        raise TypeError(f"allow_outside must be True or False, got {allow_outside!r}")
    config_path = _config_path(path)
    folder = _Folder(config_path.parent, allow_outside)
    config = _read_config(config_path, folder.inside(config_path, str(config_path)))
    with ExitStack() as stack:
        project = _Project(config_path, config, stack, folder)
        return project.load()


# ---------------------------------------------------------------------- the config file


def _config_path(path: Any) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"path must be a str or path-like naming an LSTMVis project folder (or its "
            f"{CONFIG_NAME}), got {type(path).__name__}"
        )
    location = Path(path)
    if location.is_file():
        return location
    if not location.exists():
        raise FileNotFoundError(
            f"path {str(location)!r} does not exist; pass an LSTMVis project folder, the one "
            f"that holds {CONFIG_NAME}"
        )
    config = location / CONFIG_NAME
    if config.is_file():
        return config
    below = sorted(str(p.parent) for p in location.glob(f"*/{CONFIG_NAME}"))
    hint = (
        f"; projects found below it: {', '.join(below)} (pass one of them)"
        if below
        else f"; pass the project folder that holds {CONFIG_NAME}"
    )
    raise FileNotFoundError(f"path {str(location)!r} has no {CONFIG_NAME}{hint}")


def _read_config(config_path: Path, source: Path) -> dict[str, Any]:
    """Parse ``source`` (``config_path`` resolved) with ``yaml.safe_load``: data, never code."""
    try:
        text = source.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{config_path} is not UTF-8 text ({exc}); save it as UTF-8") from exc
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        hint = ""
        if "'\\t'" in str(exc):
            hint = " (YAML forbids tabs as indentation: replace them with spaces)"
        raise ValueError(f"{config_path} is not valid YAML{hint}: {exc}") from exc
    except RecursionError:
        raise ValueError(
            f"{config_path} nests lists or mappings too deeply to read; lstm.yml needs only a "
            "few levels (files, word_sequence, states, meta)"
        ) from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. a date such as 2001-02-30
        raise ValueError(f"{config_path} holds a value YAML cannot read ({exc}); fix it") from exc
    if not isinstance(config, dict):
        raise ValueError(
            f"{config_path} must hold a YAML mapping with the keys files, word_sequence and "
            f"states (see the LSTMVis README), got {type(config).__name__}"
        )
    return config


@dataclass(frozen=True)
class _StateEntry:
    """One ``states.types`` entry, checked."""

    where: str  # "states.types[i]"
    file: str  # a name from `files`
    path: str  # the dataset in that file
    layer: int  # ours, 0-based
    kind: str
    transform: str  # one of _TRANSFORMS
    unsigned: bool


class _Project:
    """One LSTMVis project being read: its config, open HDF5 files and decoded dicts."""

    def __init__(
        self, config_path: Path, config: dict[str, Any], stack: ExitStack, folder: _Folder
    ) -> None:
        self.config_path = config_path
        self.folder = config_path.parent
        self.confined = folder
        self.config = config
        self.stack = stack
        self.files = self._files()
        self.h5: dict[str, h5py.File] = {}
        self.dicts: dict[str, tuple[np.ndarray, list[str]]] = {}

    # ------------------------------------------------------------------ loading

    def load(self) -> Trace:
        ids = self._word_ids()
        tokens = self._tokens(ids)
        n_steps = len(ids)
        entries = self._state_entries(n_steps)
        states: dict[tuple[int, str], np.ndarray] = {}
        for entry in entries:
            states[(entry.layer, entry.kind)] = self._read_states(entry)
        trace = Trace.from_owned_arrays(tokens, [n_steps], states)
        meta = self.config.get("meta")
        if meta:
            if not isinstance(meta, Mapping):
                raise self.error("meta", "must be a mapping of track names to their settings")
            for name, settings in meta.items():
                trace = self._add_meta(trace, str(name), settings, ids)
        return trace

    # ------------------------------------------------------------------ keys and files

    def error(self, key: str, problem: str) -> ValueError:
        return ValueError(f"{self.config_path}: `{key}` {problem}")

    def require(self, section: Any, key: str, where: str, fix: str) -> Any:
        if not isinstance(section, Mapping):
            parent = where.rpartition(".")[0]
            raise self.error(
                parent, f"must be a mapping holding `{key}`, got {type(section).__name__}"
            )
        value = section.get(key, _MISSING)
        if value is _MISSING or value is None:
            raise ValueError(f"{self.config_path} is missing `{where}`; {fix}")
        return value

    def _files(self) -> dict[str, str]:
        files = self.require(
            self.config,
            "files",
            "files",
            "add a `files:` section mapping reference names to file names "
            "(e.g. states: states.h5, words: words.dict)",
        )
        if not isinstance(files, Mapping):
            raise self.error("files", "must map reference names to file names")
        names = {}
        for key, value in files.items():
            if not isinstance(value, str) or not value:
                raise self.error(f"files.{key}", f"must be a file name, got {value!r}")
            names[str(key)] = value
        return names

    def file_path(self, name: Any, where: str, suffixes: tuple[str, ...], role: str) -> Path:
        if not isinstance(name, str) or name not in self.files:
            known = ", ".join(sorted(self.files)) or "none"
            raise self.error(
                where,
                f"is {name!r}, which is not a name in `files` (known: {known}); "
                f"use one of them or add it to `files`",
            )
        file_name = self.files[name]
        if not file_name.lower().endswith(suffixes):
            raise self.error(
                f"files.{name}",
                f"is {file_name!r}; LSTMVis reads {role} files only when their names end in "
                f"{' or '.join(suffixes)}: rename the file and this entry",
            )
        file = self.folder / file_name
        resolved = self.confined.inside(file, f"{self.config_path}: `files.{name}` ({file_name!r})")
        if not resolved.is_file():
            raise FileNotFoundError(
                f"{self.config_path}: `files.{name}` names {file_name!r}, but {file} does not "
                f"exist (or is not a regular file); put the file in the project folder or fix "
                "the name"
            )
        return resolved

    def dataset(self, file_key: Any, path: Any, where: str) -> tuple[h5py.Dataset, Path]:
        file = self.file_path(file_key, f"{where}.file", _HDF5_SUFFIXES, "HDF5")
        if file_key not in self.h5:
            try:
                self.h5[file_key] = self.stack.enter_context(h5py.File(file, "r"))
            except OSError as exc:
                raise ValueError(
                    f"{self.config_path}: `files.{file_key}` ({file.name}) is not a readable "
                    f"HDF5 file ({exc}); write it with h5py"
                ) from exc
        h5 = self.h5[file_key]
        if not isinstance(path, str) or not path:
            raise self.error(f"{where}.path", f"must be a dataset path, got {path!r}")
        try:
            node = h5.get(path)
        except (KeyError, OSError, ValueError) as exc:  # e.g. a dangling external link
            raise self.error(
                f"{where}.path", f"is {path!r}, which {file.name} cannot open ({exc})"
            ) from exc
        if not isinstance(node, h5py.Dataset):
            found: list[str] = []
            h5.visititems(lambda name, obj: found.append(name) if _is_dataset(obj) else None)
            raise ValueError(
                f"{self.config_path}: `{where}.path` is {path!r}, but {file.name} has no dataset "
                f"there; its datasets are: {', '.join(found) or 'none'}"
            )
        return node, self._stored_in(node, file, f"{where}.path")

    def _stored_in(self, node: h5py.Dataset, file: Path, where: str) -> Path:
        """The file holding ``node``'s values, checked to be inside the project folder.

        An HDF5 external link leads to another file (checked like any file); external raw
        storage and virtual datasets read files that HDF5 looks up through environment
        variables and the working directory, so they are refused unless ``allow_outside``.
        """
        label = f"{self.config_path}: `{where}` ({file.name}:{node.name})"
        holder = self.confined.inside(Path(node.file.filename), f"{label}, an HDF5 link,")
        if self.confined.allow_outside:
            return holder
        sources = []
        if node.external:
            sources = [str(entry[0]) for entry in node.external]
        elif node.is_virtual:
            sources = [m.file_name for m in node.virtual_sources() if m.file_name != "."]
        if sources:
            raise ValueError(
                f"{label} stores its values in other files ({', '.join(sources)}), which this "
                "import cannot confine to the project folder; write the values into the "
                "dataset itself (h5py: f.create_dataset(path, data=values)), or pass "
                "allow_outside=True if you trust this project"
            )
        return holder

    def dictionary(self, name: Any, where: str) -> tuple[np.ndarray, list[str]]:
        """The dict ``name`` as ids (sorted, int64) and their words."""
        file = self.file_path(name, where, _DICT_SUFFIXES, "dict")
        if name not in self.dicts:
            mapping = _read_dict(file, str(self.folder / self.files[name]))
            ids = np.array(sorted(mapping), dtype=np.int64)
            self.dicts[name] = (ids, [mapping[i] for i in ids.tolist()])
        return self.dicts[name]

    # ------------------------------------------------------------------ tokens

    def _word_ids(self) -> np.ndarray:
        section = self.require(
            self.config,
            "word_sequence",
            "word_sequence",
            "add `word_sequence: {file: ..., path: ..., dict_file: ...}` naming the word ids",
        )
        for key, fix in (
            ("file", "name the HDF5 file of word ids (a name from `files`)"),
            ("path", "give the dataset of word ids inside that file"),
            ("dict_file", "name the .dict file that maps ids to words (a name from `files`)"),
        ):
            self.require(section, key, f"word_sequence.{key}", fix)
        dataset, file = self.dataset(section["file"], section["path"], "word_sequence")
        ids = _integers(
            dataset[()],
            f"{self.config_path}: `word_sequence.path` ({file.name}:{section['path']})",
        )
        if ids.ndim != 1 or ids.size == 0:
            raise self.error(
                "word_sequence.path",
                f"must name a non-empty 1-D dataset of word ids, one per step; {file.name}:"
                f"{section['path']} has shape {ids.shape}",
            )
        return ids

    def _tokens(self, ids: np.ndarray) -> Tokens:
        dict_name = self.config["word_sequence"]["dict_file"]
        where = "word_sequence.dict_file"
        dict_ids, words = self.dictionary(dict_name, where)
        index = _lookup(dict_ids, ids)
        missing = index < 0
        if missing.any():
            step = int(np.argmax(missing))
            raise ValueError(
                f"{self.config_path}: word id {int(ids[step])} (at step {step}; "
                f"{int(np.unique(ids[missing]).size)} unknown ids in all) is not in the dict "
                f"{self.files[dict_name]!r} (`{where}`); add a line `WORD {int(ids[step])}` to "
                "it, or point `word_sequence.dict_file` at the dict these ids were made with"
            )
        return _gather_tokens(words, index)

    # ------------------------------------------------------------------ states

    def _state_entries(self, n_steps: int) -> list[_StateEntry]:
        section = self.require(
            self.config,
            "states",
            "states",
            "add `states: {file: ..., types: [{type: state, layer: 1, path: ...}]}`",
        )
        types = self.require(
            section,
            "types",
            "states.types",
            "list the state datasets, e.g. [{type: state, layer: 1, path: states1}]",
        )
        if not isinstance(types, list) or not types:
            raise self.error("states.types", "must be a non-empty list of {type, layer, path}")
        entries: dict[tuple[int, str], _StateEntry] = {}
        widths: dict[int, tuple[str, int]] = {}
        for number, item in enumerate(types):
            entry = self._state_entry(section, item, f"states.types[{number}]")
            key = (entry.layer, entry.kind)
            if key in entries:
                warnings.warn(
                    f"{self.config_path}: `{entry.where}` is skipped: `{entries[key].where}` "
                    f"already gives layer {entry.layer + 1} ({entry.kind!r} in the trace); a "
                    "trace holds one array per layer and kind, so list only one of them",
                    UserWarning,
                    stacklevel=4,
                )
                continue
            dataset, file = self.dataset(entry.file, entry.path, entry.where)
            shape = dataset.shape
            if shape is None or len(shape) != 2 or shape[1] == 0:
                raise self.error(
                    f"{entry.where}.path",
                    f"must name a 2-D dataset of shape (n_steps, n_cells); {file.name}:"
                    f"{entry.path} has shape {shape}",
                )
            if shape[0] != n_steps:
                raise self.error(
                    f"{entry.where}.path",
                    f"names {file.name}:{entry.path} with {shape[0]} rows, but the word "
                    f"sequence has {n_steps} steps; states need one row per word: export both "
                    "from the same run (or trim them to the same length)",
                )
            first = widths.setdefault(entry.layer, (entry.where, shape[1]))
            if first[1] != shape[1]:
                raise self.error(
                    entry.where,
                    f"has {shape[1]} cells but `{first[0]}` (the same layer "
                    f"{entry.layer + 1}) has {first[1]}; all kinds of a layer share its cells, "
                    "so list only one of them (an unsigned copy doubles the cells)",
                )
            entries[key] = entry
        return list(entries.values())

    def _state_entry(self, section: Mapping[str, Any], item: Any, where: str) -> _StateEntry:
        if not isinstance(item, Mapping):
            raise self.error(
                where,
                f"must be a mapping like {{type: state, layer: 1, path: states1}}, got {item!r}",
            )
        path = self.require(item, "path", f"{where}.path", "give the dataset path in the file")
        file = item.get("file")
        if file is None:
            file = self.require(
                section,
                "file",
                "states.file",
                f"`{where}` has no `file`, so `states.file` must name the default HDF5 file",
            )
        layer = self.require(item, "layer", f"{where}.layer", "give its 1-based layer number")
        if isinstance(layer, bool) or not isinstance(layer, int) or not 1 <= layer <= _MAX_LAYER:
            raise self.error(
                f"{where}.layer",
                f"is {layer!r}; LSTMVis layers are 1-based integers (layer: 1 is the first, "
                f"at most {_MAX_LAYER})",
            )
        kind_name = self.require(
            item, "type", f"{where}.type", "say `type: state` (cell state) or `type: output`"
        )
        kind = _TYPE_KINDS.get(str(kind_name).lower(), str(kind_name))
        if kind not in KNOWN_KINDS:
            raise self.error(
                f"{where}.type",
                f"is {kind_name!r}; use `state` (the LSTM cell state, kind 'c'), `output` "
                f"(the hidden state, kind 'h') or one of our kinds {', '.join(KNOWN_KINDS)}",
            )
        transform = item.get("transform", "tanh")
        if transform is None:
            transform = "none"
        if transform not in _TRANSFORMS:
            raise self.error(
                f"{where}.transform",
                f"is {transform!r}; use tanh (LSTMVis' default), tanh_abs, or none",
            )
        unsigned = item.get("unsigned", False)
        if not isinstance(unsigned, bool):
            raise self.error(f"{where}.unsigned", f"must be true or false, got {unsigned!r}")
        return _StateEntry(where, file, path, layer - 1, kind, transform, unsigned)

    def _read_states(self, entry: _StateEntry) -> np.ndarray:
        dataset, file = self.dataset(entry.file, entry.path, entry.where)
        label = f"{file.name}:{entry.path} (`{entry.where}`)"
        if dataset.dtype.kind not in "fiu":
            raise ValueError(f"{label} holds {dataset.dtype} values; states must be numbers")
        states = None
        if entry.transform in ("none", "raw") and dataset.dtype == np.float32:
            states = memory_map(dataset, file)
        if states is None:
            states = _read_transformed(dataset, entry.transform, label)
        low = _check_finite(states, label)
        if entry.unsigned and low < 0:
            warnings.warn(
                f"{label} is marked `unsigned: true` but holds negative values (down to "
                f"{low:.3g}); LSTMVis would draw them below its 0..1 axis. Drop `unsigned` or "
                "convert the states with LSTMVis' signed_to_unsigned tool",
                UserWarning,
                stacklevel=4,
            )
        return states

    # ------------------------------------------------------------------ meta tracks

    def _add_meta(self, trace: Trace, name: str, settings: Any, ids: np.ndarray) -> Trace:
        where = f"meta.{name}"
        if not isinstance(settings, Mapping):
            raise self.error(where, "must be a mapping with file, path and vis")
        meta_type = settings.get("type") or "general"
        if meta_type == "wordvec":
            warnings.warn(
                f"{self.config_path}: `{where}` is a wordvec track (several words per step) "
                "and is not imported; attach top-k predictions with trace.with_predictions",
                UserWarning,
                stacklevel=4,
            )
            return trace
        if meta_type != "general":
            raise self.error(f"{where}.type", f"is {meta_type!r}; use general or wordvec")
        self.require(settings, "file", f"{where}.file", "name its HDF5 file from `files`")
        self.require(settings, "path", f"{where}.path", "give its dataset path in that file")
        vis = settings.get("vis") or {}
        if not isinstance(vis, Mapping):
            raise self.error(f"{where}.vis", "must be a mapping such as {type: discrete}")
        vis_type = vis.get("type")
        if vis_type not in (None, "discrete", "scalar"):
            raise self.error(f"{where}.vis.type", f"is {vis_type!r}; use discrete or scalar")
        dataset, file = self.dataset(settings["file"], settings["path"], where)
        values = np.asarray(dataset[()])
        label = f"{file.name}:{settings['path']}"
        if values.ndim != 1:
            raise self.error(
                f"{where}.path", f"must name a 1-D dataset; {label} has shape {values.shape}"
            )
        values = self._indexed(values, settings.get("index") or "self", where, label, ids)
        if values.shape[0] != len(ids):
            raise self.error(
                f"{where}.path",
                f"names {label} with {values.shape[0]} values but the word sequence has "
                f"{len(ids)} steps; give one value per step",
            )
        dict_name = settings.get("dict")
        try:
            if dict_name is not None:
                labels = self._labels(values, dict_name, where)
                return trace.with_track(name, labels, label_type="categorical")
            if vis_type == "discrete":
                if values.dtype.kind == "f" and _whole(values):
                    values = values.astype(np.int64)
                return trace.with_track(name, values, label_type="categorical")
            return trace.with_track(name, values, label_type="numeric")
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{self.config_path}: `{where}`: {exc}") from exc

    def _indexed(
        self, values: np.ndarray, index: Any, where: str, label: str, ids: np.ndarray
    ) -> np.ndarray:
        """Resolve LSTMVis' ``index``: ``self`` (one value per step) or another section's ids."""
        if index == "self":
            return values
        section = self.config.get(index) if isinstance(index, str) else None
        if not isinstance(section, Mapping) or "file" not in section or "path" not in section:
            raise self.error(
                f"{where}.index",
                f"is {index!r}; use self (one value per step) or the name of a section with "
                "file and path, such as word_sequence",
            )
        if index == "word_sequence":
            positions = ids
        else:
            dataset, _ = self.dataset(section["file"], section["path"], index)
            positions = _integers(dataset[()], f"{self.config_path}: `{index}.path`")
            if positions.shape != ids.shape:
                raise self.error(
                    f"{index}.path",
                    f"must name one id per step, shape ({len(ids)},), to index `{where}`; it "
                    f"has shape {positions.shape}",
                )
        bad = (positions < 0) | (positions >= values.shape[0])
        if bad.any():
            step = int(np.argmax(bad))
            raise self.error(
                f"{where}.index",
                f"looks up entry {int(positions[step])} (at step {step}) in {label}, which has "
                f"{values.shape[0]} entries; give a table with one entry per id",
            )
        return values[positions]

    def _labels(self, values: np.ndarray, dict_name: Any, where: str) -> np.ndarray:
        codes = _integers(values, f"{self.config_path}: `{where}.path` (with a dict)")
        dict_ids, words = self.dictionary(dict_name, f"{where}.dict")
        index = _lookup(dict_ids, codes)
        missing = index < 0
        if missing.any():
            step = int(np.argmax(missing))
            raise self.error(
                f"{where}.dict",
                f"{self.files[dict_name]!r} has no label for value {int(codes[step])} (at step "
                f"{step}); add a line `LABEL {int(codes[step])}` to it",
            )
        return np.array(words, dtype=object)[index]


# ---------------------------------------------------------------------- dict files


def _read_dict(file: Path, label: str) -> dict[int, str]:
    """Read an LSTMVis ``.dict`` file: ``word id`` per line (see the module docstring).

    ``label`` names the file in messages (as ``lstm.yml`` names it).
    """
    mapping: dict[int, str] = {}
    with open(file, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.split()  # bytes.split: ASCII whitespace, as LSTMVis' Python 2 did
            if not fields:
                continue
            if len(fields) == 2:
                word, ident = fields
            elif len(fields) == 1 and line.startswith(b" "):
                word, ident = b" ", fields[0]
            else:
                raise ValueError(
                    f"{label} line {number} is {_quote(line.rstrip())}; each line of an "
                    "LSTMVis dict must be `word id` (two fields, one space)"
                )
            mapping[_dict_id(ident, label, number)] = _decode(word, label, number)
    if not mapping:
        raise ValueError(f"{label} holds no `word id` lines; it is not an LSTMVis dict")
    return mapping


def _dict_id(ident: bytes, label: str, number: int) -> int:
    """A dict line's id: plain decimal digits, 0 .. _MAX_ID (``int`` would take ``1_0``)."""
    if ident.isdigit() and ident.isascii() and len(ident) <= len(str(_MAX_ID)):
        value = int(ident)
        if value <= _MAX_ID:
            return value
    raise ValueError(
        f"{label} line {number}: the id {_quote(ident)} is not a word id; ids are plain "
        f"decimal integers from 0 to {_MAX_ID} (each line is `word id`): renumber the dict "
        "and the word ids with LSTMVis' txt_to_hdf5_dict.py"
    )


def _decode(word: bytes, label: str, number: int) -> str:
    try:
        return word.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{label} line {number}: the word {_quote(word)} is not UTF-8 ({exc.reason} at "
            f"byte {exc.start}); LSTMVis sends words as JSON, which needs UTF-8: convert the "
            "dict, e.g. `iconv -f latin1 -t utf-8`"
        ) from None


def _quote(data: bytes) -> str:
    """``data`` for a message: decoded with replacements, shortened, quoted."""
    text = data.decode("utf-8", "replace")
    if len(text) > _QUOTE_CHARS:
        text = text[:_QUOTE_CHARS] + "..."
    return repr(text)


def _lookup(dict_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Positions of ``ids`` in the sorted ``dict_ids``; -1 where an id is missing."""
    position = np.searchsorted(dict_ids, ids)
    clipped = np.minimum(position, len(dict_ids) - 1)
    return np.where(dict_ids[clipped] == ids, clipped, -1)


def _gather_tokens(words: list[str], index: np.ndarray) -> Tokens:
    """The Tokens ``words[index[0]], words[index[1]], ...`` built without a str per step."""
    encoded = [word.encode("utf-8") for word in words]
    sizes = np.array([len(b) for b in encoded], dtype=np.int64)
    blob = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    word_starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    lengths = sizes[index]
    offsets = np.zeros(len(index) + 1, dtype=np.uint64)
    np.cumsum(lengths, out=offsets[1:])
    token_starts = offsets[:-1].astype(np.int64)
    source = np.repeat(word_starts[index] - token_starts, lengths)
    source += np.arange(int(offsets[-1]), dtype=np.int64)
    data = blob[source]
    data.flags.writeable = False
    offsets.flags.writeable = False
    return Tokens(data, offsets)


def _integers(values: Any, where: str) -> np.ndarray:
    """``values`` as int64 ids in ``0 .. _MAX_ID``; floats only when they are whole numbers.

    Negative and huge ids are refused here, before a cast could wrap them (a uint64 above
    2**63 would become negative, a float of 1e300 an arbitrary int).
    """
    array = np.asarray(values)
    kind = array.dtype.kind
    whole = kind == "f" and bool(np.all(np.isfinite(array)) and np.all(np.mod(array, 1) == 0))
    if kind not in "iu" and not whole:
        shown = "no" if isinstance(values, h5py.Empty) else f"{array.dtype}"
        raise ValueError(f"{where} must hold integer ids, got {shown} values")
    if array.size:
        low, high = array.min(), array.max()
        if low < 0 or high > _MAX_ID:
            bad = (array < 0) | (array > _MAX_ID)
            at = tuple(int(i) for i in np.argwhere(np.atleast_1d(bad))[0])
            value = np.atleast_1d(array)[at].item()
            index = at[0] if len(at) == 1 else at
            raise ValueError(
                f"{where} holds the id {value} (at index {index}); ids are integers from 0 to "
                f"{_MAX_ID}: the dataset is not ids or is corrupt"
            )
    return array.astype(np.int64, copy=False)


def _whole(values: np.ndarray) -> bool:
    """Whether float ``values`` are whole numbers that int64 holds exactly (|v| <= 2**53)."""
    finite = np.isfinite(values)
    return bool(finite.all() and np.all(np.abs(values) <= 2**53) and np.all(np.mod(values, 1) == 0))


def _is_dataset(node: Any) -> bool:
    return isinstance(node, h5py.Dataset)


# ---------------------------------------------------------------------- state arrays


def _read_transformed(dataset: h5py.Dataset, transform: str, label: str) -> np.ndarray:
    """Read ``dataset`` block by block into one float32 array, applying LSTMVis' transform.

    A float32 dataset is read straight into the result and transformed in place (``np.tanh``
    in float32, as LSTMVis does); other dtypes are read a block at a time, transformed in their
    own precision and stored as float32. Stored NaN or infinite values are refused before the
    transform, which would hide an infinity as +-1.
    """
    n_steps, n_cells = dataset.shape
    out = np.empty((n_steps, n_cells), dtype=np.float32)
    direct = dataset.dtype == np.dtype(np.float32)
    rows = max(1, _BLOCK_BYTES // (n_cells * max(dataset.dtype.itemsize, 4)))
    for start in range(0, n_steps, rows):
        stop = min(start + rows, n_steps)
        target = out[start:stop]
        if direct:
            dataset.read_direct(out, np.s_[start:stop], np.s_[start:stop])
            block = target
        else:
            block = dataset[start:stop]
        if transform in ("tanh", "tanh_abs"):
            _refuse_non_finite(block, start, label)
            np.tanh(block, out=target)
            if transform == "tanh_abs":
                np.abs(target, out=target)
        elif block is not target:
            np.copyto(target, block, casting="unsafe")
    return out


def _check_finite(states: np.ndarray, label: str) -> float:
    """Raise on NaN or infinite values (scanning in blocks); return the minimum."""
    rows = max(1, _BLOCK_BYTES // (4 * states.shape[1]))
    low = np.inf
    for start in range(0, states.shape[0], rows):
        block = states[start : start + rows]
        _refuse_non_finite(block, start, label)
        low = min(low, float(block.min()))
    return low


def _refuse_non_finite(block: np.ndarray, start: int, label: str) -> None:
    """Raise naming the first NaN or infinite value of ``block`` (rows from ``start``)."""
    if block.dtype.kind != "f":
        return
    finite = np.isfinite(block)
    if not finite.all():
        step, cell = (int(i) for i in np.argwhere(~finite)[0])
        raise ValueError(
            f"{label} has NaN or infinite values (first at step {start + step}, cell "
            f"{cell}); clean the exported states (e.g. np.nan_to_num) and write them again"
        )
