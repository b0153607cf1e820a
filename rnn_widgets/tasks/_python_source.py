"""Python source code, character by character, from the standard library's own files.

The text is read from the running interpreter's standard library (nothing is downloaded), so
its exact contents follow the Python version; the module lists are fixed and exist in every
CPython from 3.9 to 3.13. Every character is labelled from Python's own ``tokenize``.
"""

from __future__ import annotations

import io
import sysconfig
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._validation import as_int
from ._base import TaskData, readonly

__all__ = [
    "PYTHON_HELDOUT_FILES",
    "PYTHON_REPLACEMENT",
    "PYTHON_TRAIN_FILES",
    "PYTHON_VOCAB",
    "PythonSourceLabels",
    "python_source",
    "python_source_labels",
    "python_token_types",
]

#: Training modules (45 files, about 2.2 MB on CPython 3.11), paths relative to
#: ``sysconfig.get_paths()["stdlib"]``: general-purpose, hand-written modules; no tests, no
#: generated tables, no files that moved between CPython 3.9 and 3.13 (``re``, ``pathlib``,
#: ``zipfile`` and ``sysconfig`` became packages; ``asyncore``, ``imp`` ... were removed).
PYTHON_TRAIN_FILES: tuple[str, ...] = (
    "argparse.py",
    "ast.py",
    "bdb.py",
    "cmd.py",
    "code.py",
    "codecs.py",
    "configparser.py",
    "contextlib.py",
    "dataclasses.py",
    "datetime.py",
    "difflib.py",
    "dis.py",
    "enum.py",
    "functools.py",
    "gzip.py",
    "inspect.py",
    "os.py",
    "pickle.py",
    "pkgutil.py",
    "platform.py",
    "posixpath.py",
    "random.py",
    "selectors.py",
    "shutil.py",
    "socket.py",
    "statistics.py",
    "subprocess.py",
    "tempfile.py",
    "threading.py",
    "tokenize.py",
    "traceback.py",
    "typing.py",
    "warnings.py",
    "weakref.py",
    "collections/__init__.py",
    "http/client.py",
    "urllib/parse.py",
    "logging/__init__.py",
    "email/message.py",
    "unittest/case.py",
    "asyncio/base_events.py",
    "asyncio/events.py",
    "asyncio/tasks.py",
    "concurrent/futures/_base.py",
    "xml/etree/ElementTree.py",
)

#: Held-out modules (20 files, about 250 KB), none of them in ``PYTHON_TRAIN_FILES``.
PYTHON_HELDOUT_FILES: tuple[str, ...] = (
    "json/__init__.py",
    "json/decoder.py",
    "json/encoder.py",
    "json/scanner.py",
    "base64.py",
    "bisect.py",
    "calendar.py",
    "colorsys.py",
    "copy.py",
    "csv.py",
    "fnmatch.py",
    "glob.py",
    "graphlib.py",
    "heapq.py",
    "pprint.py",
    "queue.py",
    "sched.py",
    "shelve.py",
    "string.py",
    "textwrap.py",
)

#: The symbol that stands for every character outside printable ASCII and ``"\n"`` (tabs,
#: form feeds, non-ASCII letters); one character replaces one, so offsets never shift.
PYTHON_REPLACEMENT = "\ufffd"

#: The character vocabulary: ``"\n"`` (id 0), printable ASCII ``" "`` to ``"~"`` (ids 1-95,
#: in code-point order), then ``PYTHON_REPLACEMENT`` (id 96).
PYTHON_VOCAB: tuple[str, ...] = ("\n", *(chr(code) for code in range(32, 127)), PYTHON_REPLACEMENT)

_SPLITS = {
    "train": PYTHON_TRAIN_FILES,
    "test": PYTHON_HELDOUT_FILES,
    "heldout": PYTHON_HELDOUT_FILES,
}
_REPLACEMENT_ID = len(PYTHON_VOCAB) - 1
#: Token types in code order; any other type that covers characters is appended when met.
_TOKEN_TYPES = (
    "WHITESPACE",
    "NAME",
    "OP",
    "STRING",
    "NUMBER",
    "COMMENT",
    "NEWLINE",
    "NL",
    "INDENT",
    "ERRORTOKEN",
)
#: Python 3.12+ splits f-strings (3.14: t-strings) into parts; they are labelled as one STRING.
_STRING_OPENERS = frozenset({"FSTRING_START", "TSTRING_START"})
_STRING_CLOSERS = frozenset({"FSTRING_END", "TSTRING_END"})
_BRACKETS = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}


@dataclass(frozen=True)
class PythonSourceLabels:
    """Per-character labels of one text of Python code, from one pass of ``tokenize``.

    Attributes
    ----------
    token_type : ndarray of str, shape (n_chars,)
        The token type covering each character, as :func:`python_token_types` gives it.
    bracket_depth : ndarray of int, shape (n_chars,)
        How many ``( [ {`` are open outside strings and comments.
    indent : ndarray of int, shape (n_chars,)
        The block depth (``INDENT``/``DEDENT``) of the character's line; the whole line of a
        statement that changes the depth has the new depth.

    """

    token_type: np.ndarray
    bracket_depth: np.ndarray
    indent: np.ndarray


def python_token_types(text: str) -> np.ndarray:
    r"""The ``tokenize`` token type of the token that covers each character of Python code.

    Parameters
    ----------
    text : str
        Python source code (it must tokenize: balanced brackets, closed strings).

    Returns
    -------
    ndarray of str, shape (len(text),)
        ``"NAME"``, ``"OP"``, ``"STRING"``, ``"NUMBER"``, ``"COMMENT"``, ``"NEWLINE"`` (the
        ``"\n"`` that ends a statement), ``"NL"`` (any other line break), ``"INDENT"`` (the
        leading blanks of a line that opens a block), ``"ERRORTOKEN"`` (Python <= 3.11 only),
        and ``"WHITESPACE"`` for characters between tokens. A whole f-string, expressions
        included, is one ``"STRING"`` on every Python version (3.12+ tokenizes its parts).

    Raises
    ------
    TypeError
        If ``text`` is not a str.
    ValueError
        If ``tokenize`` cannot read the text.

    Examples
    --------
    >>> "".join(t[0] for t in python_token_types('x = "a"  # c\n'))
    'NWOWSSSWWCCCN'

    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str of Python code, got {type(text).__name__}")
    return python_source_labels(text).token_type


def python_source(
    split: str = "train",
    *,
    max_characters: int | None = None,
    files: Sequence[str] | None = None,
) -> TaskData:
    """Next-character prediction on the Python standard library's own source files.

    Parameters
    ----------
    split : {"train", "test"}
        ``"train"`` reads ``PYTHON_TRAIN_FILES``, ``"test"`` (alias ``"heldout"``)
        ``PYTHON_HELDOUT_FILES``.
    max_characters : int, optional
        Keep at most this many characters in total: whole files in list order first, then
        the beginning of the next one. Labels are computed on the whole file first, so a cut
        never changes them.
    files : sequence of str, optional
        Read these files instead of the split's list: paths relative to the standard library
        directory, or absolute paths (any Python file, e.g. your own code).

    Returns
    -------
    TaskData
        One sequence per file: its characters as 1-character strings, each mapped into
        ``PYTHON_VOCAB`` (tabs and non-ASCII characters become ``PYTHON_REPLACEMENT``).
        ``target_type`` is ``"next_token"``. Labels, one per character: ``"token_type"``
        (str, as `python_token_types`), ``"bracket_depth"`` (int32, the number of ``( [ {``
        open after reading the character, outside strings and comments: an opening bracket
        counts itself, a closing one does not), ``"in_string"`` (int8, 1 inside a string
        literal, quotes and prefixes included, 0 elsewhere) and ``"indent"`` (int32, the
        block depth from ``INDENT``/``DEDENT``, for the whole line of the statement that
        changes it; blank and comment lines keep the depth of the line above).

    Raises
    ------
    ValueError
        If ``split`` is unknown, ``max_characters`` < 1, ``files`` is empty, or a file cannot be
        tokenized.
    FileNotFoundError
        If a file does not exist (a differently packaged Python lacks some modules: pass
        ``files`` to choose others).

    """
    paths = _resolve_paths(split, files)
    limit = None if max_characters is None else as_int(max_characters, "max_characters", minimum=1)
    texts = _read_texts(paths, limit)
    per_file = [_file_labels(path, text, length) for path, text, length in texts]
    sequences = tuple(_as_vocab(text[:length]) for _, text, length in texts)
    n_chars = sum(length for _, _, length in texts)
    return TaskData(
        name="python_source",
        sequences=sequences,
        targets=tuple(_next_ids(sequence) for sequence in sequences),
        target_type="next_token",
        labels={
            name: tuple(labels[name] for labels in per_file)
            for name in ("token_type", "bracket_depth", "in_string", "indent")
        },
        vocab=PYTHON_VOCAB,
        description=(
            f"Python source code, character by character: {len(sequences)} file(s) of the "
            f"Python {sysconfig.get_python_version()} standard library ({n_chars} characters, "
            f"split {split!r}). Predict the next character; the labels come from tokenize "
            "(token type, bracket depth, inside a string, block depth)."
        ),
    )


def _resolve_paths(split: str, files: Sequence[str] | None) -> list[Path]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    if files is not None:
        if isinstance(files, str) or not all(isinstance(name, str) for name in files):
            raise TypeError("files must be a sequence of path strings, e.g. ['json/decoder.py']")
        if len(files) == 0:
            raise ValueError("files must name at least one file, or be None to use the split")
        return [stdlib / name for name in files]
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {sorted(_SPLITS)}, got {split!r}")
    paths = [stdlib / name for name in _SPLITS[split]]
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(
                f"the standard library file {path} is missing (this Python is packaged "
                "differently); pass files=[...] to python_source to read other files"
            )
    return paths


def _read_texts(paths: list[Path], limit: int | None) -> list[tuple[Path, str, int]]:
    """Each file with its text and the number of characters kept; empty files are skipped."""
    kept: list[tuple[Path, str, int]] = []
    total = 0
    for path in paths:
        if limit is not None and total >= limit:
            break
        text = _read_source(path)
        length = len(text) if limit is None else min(len(text), limit - total)
        if length > 0:
            kept.append((path, text, length))
            total += length
    return kept


def _read_source(path: Path) -> str:
    if not path.is_file():
        raise FileNotFoundError(f"no Python file at {path}; check the path in files")
    with tokenize.open(path) as handle:
        return handle.read()


def _file_labels(path: Path, text: str, length: int) -> dict[str, np.ndarray]:
    try:
        labels = python_source_labels(text)
    except ValueError as error:
        raise ValueError(f"cannot label {path}: {error}") from error
    in_string = (labels.token_type == "STRING").astype(np.int8)
    arrays = {
        "token_type": labels.token_type,
        "bracket_depth": labels.bracket_depth,
        "in_string": in_string,
        "indent": labels.indent,
    }
    return {name: readonly(array[:length].copy()) for name, array in arrays.items()}


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _vocab_ids(text: str) -> np.ndarray:
    r"""int64 ids into ``PYTHON_VOCAB``: ``"\n"`` 0, ``" "``-``"~"`` 1-95, anything else 96."""
    codes = _code_points(text).astype(np.int64)
    printable = (codes >= 32) & (codes <= 126)
    ids = np.where(printable, codes - 31, _REPLACEMENT_ID)
    ids[codes == 10] = 0
    return ids


def _as_vocab(text: str) -> tuple[str, ...]:
    return tuple(np.asarray(PYTHON_VOCAB)[_vocab_ids(text)].tolist())


def _next_ids(sequence: tuple[str, ...]) -> np.ndarray:
    ids = _vocab_ids("".join(sequence))
    return readonly(np.append(ids[1:], -1).astype(np.int64))


def _line_starts(text: str) -> np.ndarray:
    """The offset of each line's first character (1-based row r at index r - 1), plus len."""
    newlines = np.flatnonzero(_code_points(text) == 10) + 1
    return np.concatenate([[0], newlines, [len(text)]]).astype(np.int64)


def _tokens(text: str) -> list[tokenize.TokenInfo]:
    try:
        return list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError) as error:
        raise ValueError(f"tokenize cannot read the text as Python ({error})") from error


def python_source_labels(text: str) -> PythonSourceLabels:
    """Label every character of Python code from one pass of ``tokenize``.

    The labels of ``python_source``'s tasks and of the Python-source hypotheses
    (``rnn_widgets.hypotheses.python_features``), computed in one place; spans are filled
    with numpy.

    Parameters
    ----------
    text : str
        Python source code (it must tokenize: balanced brackets, closed strings).

    Returns
    -------
    PythonSourceLabels

    Raises
    ------
    TypeError
        If ``text`` is not a str.
    ValueError
        If ``tokenize`` cannot read the text.

    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str of Python code, got {type(text).__name__}")
    type_codes = {name: code for code, name in enumerate(_TOKEN_TYPES)}
    spans: list[tuple[int, int, int, int, int]] = []  # start row/col, end row/col, code
    brackets: list[tuple[int, int, int]] = []  # row, col, +1 or -1
    blocks: list[tuple[int, int]] = []  # row, +1 (INDENT) or -1 (DEDENT)
    string_depth, string_start = 0, (0, 0)
    for token in _tokens(text):
        name = tokenize.tok_name[token.type]
        if name in _STRING_OPENERS:
            string_start = token.start if string_depth == 0 else string_start
            string_depth += 1
            continue
        if name in _STRING_CLOSERS:
            string_depth -= 1
            if string_depth == 0:
                spans.append((*string_start, *token.end, type_codes["STRING"]))
            continue
        if string_depth:
            continue
        if name in ("INDENT", "DEDENT"):
            blocks.append((token.start[0], 1 if name == "INDENT" else -1))
        if name == "OP" and token.string in _BRACKETS:
            brackets.append((*token.start, _BRACKETS[token.string]))
        code = type_codes.setdefault(name, len(type_codes))
        spans.append((*token.start, *token.end, code))
    starts = _line_starts(text)
    names = np.asarray(list(type_codes))
    return PythonSourceLabels(
        token_type=names[_fill_spans(len(text), starts, spans)],
        bracket_depth=_bracket_depth(len(text), starts, brackets),
        indent=_block_depth(len(text), starts, blocks),
    )


def _offsets(starts: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    rows = np.clip(rows - 1, 0, len(starts) - 1)
    return np.minimum(starts[rows] + cols, starts[-1])


def _cumulative(n_chars: int, at: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """The running sum of ``steps`` added at offsets ``at``, one value per character."""
    delta = np.zeros(n_chars + 1, dtype=np.int64)
    np.add.at(delta, at, steps)
    return np.cumsum(delta)[:n_chars]


def _fill_spans(
    n_chars: int, starts: np.ndarray, spans: list[tuple[int, int, int, int, int]]
) -> np.ndarray:
    """Type codes per character: each (non-overlapping) token span filled with its code."""
    table = np.asarray(spans, dtype=np.int64).reshape(-1, 5)
    begin = _offsets(starts, table[:, 0], table[:, 1])
    end = _offsets(starts, table[:, 2], table[:, 3])
    codes = table[:, 4]
    at = np.concatenate([begin, end])
    return _cumulative(n_chars, at, np.concatenate([codes, -codes]))


def _bracket_depth(
    n_chars: int, starts: np.ndarray, brackets: list[tuple[int, int, int]]
) -> np.ndarray:
    table = np.asarray(brackets, dtype=np.int64).reshape(-1, 3)
    at = _offsets(starts, table[:, 0], table[:, 1])
    return _cumulative(n_chars, at, table[:, 2]).astype(np.int32)


def _block_depth(n_chars: int, starts: np.ndarray, blocks: list[tuple[int, int]]) -> np.ndarray:
    table = np.asarray(blocks, dtype=np.int64).reshape(-1, 2)
    at = _offsets(starts, table[:, 0], np.zeros(len(table), dtype=np.int64))
    return _cumulative(n_chars, at, table[:, 1]).astype(np.int32)
