"""The parenthesis counting language of LSTMVis (Strobelt et al. 2018 [1]_, section 6.1).

Balanced parentheses nested at most ``max_depth`` deep, with digits that state the nesting
level at their position, e.g. ``(1(2)())0(((3))1)``. A language model has to count the open
groups to predict the digits and the closing parentheses.

The helpers ``nesting_depths`` and ``text_task`` are shared with the grammar tasks.

References
----------
.. [1] Strobelt, H., Gehrmann, S., Pfister, H., & Rush, A. M. (2018). LSTMVis: A tool for visual
   analysis of hidden state dynamics in recurrent neural networks. IEEE Transactions on
   Visualization and Computer Graphics, 24(1), 667-676. arXiv:1606.07461.
"""

from __future__ import annotations

import numpy as np

from .._validation import as_int
from ._base import Span, TaskData, readonly, task_steps

__all__ = ["parentheses"]


def parentheses(
    n_sequences: int = 200, length: int = 200, *, max_depth: int = 4, seed: int = 0
) -> TaskData:
    """Balanced parentheses with digits that equal the nesting level (LSTMVis 6.1).

    The language Strobelt et al. (2018) [1]_ train an LSTM on in section 6.1.

    Each sequence is a random walk over the nesting level, one character a step. At level
    ``d`` with ``r`` characters left to write, the allowed moves are: open a group ``(``
    (if ``d < max_depth`` and ``r >= d + 2``, so there is room to close everything), close
    the innermost group ``)`` (if ``d > 0``), or write the digit ``str(d)`` (if ``r > d``);
    one of them is chosen with equal weight. When ``r == d`` only closing is allowed, so every
    sequence has exactly ``length`` characters and ends balanced. The walk produces siblings,
    empty groups ``()`` and digit runs of varied length, and visits every level
    ``0..max_depth`` often (its stationary distribution is close to uniform over levels).

    Parameters
    ----------
    n_sequences : int
        How many sequences, at least 1.
    length : int
        Characters per sequence, at least 1.
    max_depth : int, keyword-only
        The deepest nesting allowed, 1 to 9 (digits are single characters).
    seed : int, keyword-only
        Seed of the random generator; the same seed gives the same task.

    Returns
    -------
    TaskData
        ``name`` ``"parentheses"``; ``sequences`` tuples of 1-character strings;
        ``vocab`` ``("(", ")", "0", ..., str(max_depth))``; ``targets`` the id of the next
        character (``"next_token"``, -1 at the last step); label ``"depth"`` (int64) the
        nesting level of each character: a digit's own level, for ``(`` the level inside the
        group it opens, for ``)`` the level inside the group it closes (so a group's
        parentheses share the level of its content); ``spans`` one ``Span("group", start,
        stop, depth)`` per parenthesis pair, from its ``(`` to just after its ``)``, where
        ``depth`` counts the groups around it (0 for an outermost group), so
        ``range_feature("group")`` equals the ``"depth"`` label.

    References
    ----------
    .. [1] Strobelt, H., Gehrmann, S., Pfister, H., & Rush, A. M. (2018). LSTMVis: A tool for
       visual analysis of hidden state dynamics in recurrent neural networks. IEEE Transactions
       on Visualization and Computer Graphics, 24(1), 667-676. arXiv:1606.07461.

    Examples
    --------
    >>> task = parentheses(2, 12, seed=1)
    >>> len(task.text(0))
    12
    >>> task.vocab
    ('(', ')', '0', '1', '2', '3', '4')

    """
    n_sequences = as_int(n_sequences, "n_sequences", minimum=1)
    length = as_int(length, "length", minimum=1)
    task_steps(n_sequences, length)
    max_depth = as_int(max_depth, "max_depth", minimum=1)
    if max_depth > 9:
        raise ValueError(
            f"max_depth must be <= 9 so every level is one digit character, got {max_depth}"
        )
    seed = as_int(seed, "seed", minimum=0)
    rng = np.random.default_rng(seed)
    texts = [_random_walk(rng, length, max_depth) for _ in range(n_sequences)]
    vocab = ("(", ")", *(str(level) for level in range(max_depth + 1)))
    return text_task(
        name="parentheses",
        texts=texts,
        vocab=vocab,
        spans=[_group_spans(text) for text in texts],
        description=(
            "LSTMVis (Strobelt et al. 2018, section 6.1) parenthesis language: balanced "
            f"parentheses nested at most {max_depth} deep, with digits equal to the nesting "
            "level at their position; a language model must track the depth to predict the "
            "digits and the closing parentheses."
        ),
    )


def _random_walk(rng: np.random.Generator, length: int, max_depth: int) -> str:
    characters: list[str] = []
    depth = 0
    for position in range(length):
        moves = _allowed_moves(depth, length - position, max_depth)
        move = moves[int(rng.integers(len(moves)))]
        characters.append(move if move in "()" else str(depth))
        depth += {"(": 1, ")": -1}.get(move, 0)
    return "".join(characters)


def _allowed_moves(depth: int, remaining: int, max_depth: int) -> str:
    """The moves at nesting ``depth`` with ``remaining`` characters to write (``d`` = digit)."""
    moves = ""
    if depth < max_depth and remaining >= depth + 2:
        moves += "("
    if depth > 0:
        moves += ")"
    if remaining > depth:
        moves += "d"
    return moves


def _group_spans(text: str) -> tuple[Span, ...]:
    spans: list[Span] = []
    open_positions: list[int] = []
    for position, character in enumerate(text):
        if character == "(":
            open_positions.append(position)
        elif character == ")":
            start = open_positions.pop()
            spans.append(Span("group", start, position + 1, len(open_positions)))
    return tuple(sorted(spans, key=lambda span: (span.start, -span.stop)))


def nesting_depths(text: str) -> np.ndarray:
    """The parenthesis nesting level of each character, int64 of shape (len(text),).

    ``(`` gets the level inside the group it opens, ``)`` the level inside the group it
    closes, any other character the level it stands at.
    """
    depths = np.empty(len(text), dtype=np.int64)
    depth = 0
    for position, character in enumerate(text):
        if character == "(":
            depth += 1
        depths[position] = depth
        if character == ")":
            depth -= 1
    return depths


def next_token_targets(text: str, vocab: tuple[str, ...]) -> np.ndarray:
    """The id in ``vocab`` of each next character, int64, -1 at the last step."""
    ids = {token: index for index, token in enumerate(vocab)}
    targets = np.full(len(text), -1, dtype=np.int64)
    targets[:-1] = [ids[character] for character in text[1:]]
    return targets


def text_task(
    *,
    name: str,
    texts: list[str],
    vocab: tuple[str, ...],
    spans: list[tuple[Span, ...]],
    description: str,
) -> TaskData:
    """A next-character task over ``texts`` with the ``"depth"`` label and a parse."""
    return TaskData(
        name=name,
        sequences=tuple(tuple(text) for text in texts),
        targets=tuple(readonly(next_token_targets(text, vocab)) for text in texts),
        target_type="next_token",
        labels={"depth": tuple(readonly(nesting_depths(text)) for text in texts)},
        vocab=vocab,
        spans=tuple(spans),
        description=description,
    )
