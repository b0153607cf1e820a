"""Hypotheses over Python source, from the standard library's ``tokenize`` and ``ast``.

The Python-source model can be inspected as Lin & Wu (2017) [1]_ inspected their Linux-kernel
model with Deep Neural Inspection: each feature here labels every character of a sequence of
Python code (the tokens of a sequence are joined into its text, so character tokens are the
usual case).

A sequence cut in the middle of a statement (``tasks.python_source(max_characters=...)`` keeps the
beginning of the last file) does not tokenize or parse; then the features are computed on the
longest prefix that ends before a top-level line and does, and the steps after it are
labelled 0. Text that does not read as Python at all is labelled 0 throughout.

References
----------
.. [1] Lin, K., & Wu, E. (2017). Searching for meaning in RNNs using Deep Neural Inspection.
   Columbia University Computer Science Technical Report 003-17.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

from .._validation import as_int
from ..tasks import PythonSourceLabels, python_source_labels
from ._core import Hypothesis
from ._text import Feature, char_steps, check_feature, span_labels

__all__ = [
    "python_bracket_depth",
    "python_call_arguments",
    "python_features",
    "python_function_definition",
    "python_in_comment",
    "python_in_string",
    "python_indentation",
]

_T = TypeVar("_T")

# How many top-level line starts to try cutting back to when a text does not parse.
_MAX_CUTS = 64


def python_in_string() -> Hypothesis:
    """Binary: the character is inside a string literal (quotes and prefix included)."""
    return _token_hypothesis("python in string", lambda labels: labels.token_type == "STRING")


def python_in_comment() -> Hypothesis:
    """Binary: the character is inside a comment (from ``#`` to the end of the line)."""
    return _token_hypothesis("python in comment", lambda labels: labels.token_type == "COMMENT")


def python_indentation(max_depth: int = 8) -> Hypothesis:
    """Continuous: the block depth (``INDENT``/``DEDENT``) of the line, / ``max_depth``.

    As ``tasks.python_source``'s ``indent`` label: the whole line of a statement that changes
    the depth has the new depth; depths above ``max_depth`` count as ``max_depth``.
    """
    max_depth = as_int(max_depth, "max_depth", minimum=1)
    return _token_hypothesis(
        "python indentation",
        lambda labels: np.minimum(labels.indent, max_depth) / max_depth,
        label_type="continuous",
    )


def python_bracket_depth(max_depth: int = 8) -> Hypothesis:
    """Continuous: how many ``( [ {`` are open outside strings and comments, / ``max_depth``."""
    max_depth = as_int(max_depth, "max_depth", minimum=1)
    return _token_hypothesis(
        "python bracket depth",
        lambda labels: np.minimum(labels.bracket_depth, max_depth) / max_depth,
        label_type="continuous",
    )


def python_call_arguments(feature: Feature = "range") -> Hypothesis:
    """Binary: inside a call's argument list, from its ``(`` to its ``)`` (``ast.Call``).

    ``feature="impulse"`` marks only the two parentheses.
    """
    feature = check_feature(feature)  # type: ignore[assignment]

    def find(tree: ast.AST, offset: Callable[[int, int], int]) -> list[tuple[int, int]]:
        found = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and node.end_lineno is not None:
                func = node.func
                if func.end_lineno is None or func.end_col_offset is None:
                    continue
                start = offset(func.end_lineno, func.end_col_offset)
                stop = offset(node.end_lineno, node.end_col_offset or 0)
                found.append((start, stop))
        return found

    return _ast_hypothesis(f"python call arguments ({feature})", find, feature)


def python_function_definition(feature: Feature = "range") -> Hypothesis:
    """Binary: inside a function definition, from ``def`` to the end of its body.

    Decorators are outside; ``async def`` counts. ``feature="impulse"`` marks the first
    character of ``def`` and the last character of the body.
    """
    feature = check_feature(feature)  # type: ignore[assignment]

    def find(tree: ast.AST, offset: Callable[[int, int], int]) -> list[tuple[int, int]]:
        found = []
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                start = offset(node.lineno, node.col_offset)
                stop = offset(node.end_lineno or node.lineno, node.end_col_offset or 0)
                found.append((start, stop))
        return found

    return _ast_hypothesis(f"python function definition ({feature})", find, feature)


def python_features(max_depth: int = 8) -> tuple[Hypothesis, ...]:
    """Every Python-source hypothesis, in one tuple.

    Strings, comments, indentation, bracket depth, and the range and impulse features of call
    arguments and function definitions.
    """
    return (
        python_in_string(),
        python_in_comment(),
        python_indentation(max_depth),
        python_bracket_depth(max_depth),
        python_call_arguments("range"),
        python_call_arguments("impulse"),
        python_function_definition("range"),
        python_function_definition("impulse"),
    )


# ---------------------------------------------------------------------- internals


def _token_hypothesis(
    name: str, read: Callable[[PythonSourceLabels], np.ndarray], label_type: str = "binary"
) -> Hypothesis:
    def labels(tokens: Sequence[str]) -> np.ndarray:
        text = "".join(tokens)
        per_char = np.zeros(len(text), dtype=np.float32)
        prefix, source = _readable_prefix(text, python_source_labels)
        if source is not None:
            per_char[:prefix] = np.asarray(read(source), dtype=np.float32)
        return _per_step(tokens, per_char)

    return Hypothesis(name, label_type, function=labels, description=f"{name} (Python tokenize)")  # type: ignore[arg-type]


def _ast_hypothesis(
    name: str,
    find: Callable[[ast.AST, Callable[[int, int], int]], list[tuple[int, int]]],
    feature: str,
) -> Hypothesis:
    def labels(tokens: Sequence[str]) -> np.ndarray:
        text = "".join(tokens)
        prefix, tree = _readable_prefix(text, _parse)
        per_char = np.zeros(len(text), dtype=np.float32)
        if tree is not None:
            offset = _offset_function(text[:prefix])
            per_char[:prefix] = span_labels(prefix, find(tree, offset), feature)
        return _per_step(tokens, per_char)

    return Hypothesis(name, "binary", function=labels, description=f"{name} (Python ast)")


def _per_step(tokens: Sequence[str], per_char: np.ndarray) -> np.ndarray:
    """A per-character feature as one label per token: the maximum over its characters."""
    steps = char_steps(tokens)
    labels = np.zeros(len(tokens), dtype=np.float32)
    np.maximum.at(labels, steps, per_char)
    return labels


def _parse(text: str) -> ast.AST:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError) as error:
        raise ValueError(str(error)) from error


def _readable_prefix(text: str, read: Callable[[str], _T]) -> tuple[int, _T | None]:
    """The longest prefix (cut before a top-level line) that ``read`` accepts, and its result."""
    cuts = [len(text), *reversed(_top_level_line_starts(text))][:_MAX_CUTS]
    for cut in cuts:
        try:
            return cut, read(text[:cut])
        except (ValueError, SyntaxError, RecursionError):
            continue
    return 0, None


def _top_level_line_starts(text: str) -> list[int]:
    """Offsets of the lines that start a top-level statement (no indent, not a comment)."""
    starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
    return [s for s in starts if s < len(text) and text[s] not in " \t#\n\ufffd"]


def _offset_function(text: str) -> Callable[[int, int], int]:
    """Map ``ast``'s (1-based line, UTF-8 byte column) to a character offset into ``text``."""
    lines = text.splitlines(keepends=True)
    starts = np.concatenate([[0], np.cumsum([len(line) for line in lines])]).astype(int)

    @functools.cache
    def offset(line: int, column: int) -> int:
        if line - 1 >= len(lines):
            return len(text)
        content = lines[line - 1]
        if not content.isascii():
            column = len(content.encode("utf-8")[:column].decode("utf-8", errors="ignore"))
        return int(min(starts[line - 1] + column, len(text)))

    return offset
