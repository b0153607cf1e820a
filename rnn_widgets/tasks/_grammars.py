"""Context-free grammar tasks of Deep Neural Inspection (Lin & Wu 2017 [1]_), with their parse.

``nesting_grammar`` samples the parenthesis grammar of DNI section 5.1 and ``arithmetic`` the
expression grammar of DNI section 4. Every sequence comes with the derivation tree that
produced it: one `Span` per production application, covering the characters its subtree
derives, so ``TaskData.range_feature`` and ``impulse_feature`` give DNI's range and impulse
features.

References
----------
.. [1] Lin, K., & Wu, E. (2017). Searching for meaning in RNNs using Deep Neural Inspection.
   Columbia University Computer Science Technical Report 003-17.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import as_int
from ._base import Span, TaskData, task_steps
from ._parentheses import text_task

__all__ = ["arithmetic", "nesting_grammar"]

_NESTING_LEVELS = 5  # e0 .. e4
_SHORTEST_NESTING = 2 * (_NESTING_LEVELS - 1)  # "(((())))"
_OPERATORS = "+-*/"
_DIGITS = "0123456789"


@dataclass
class _Derivation:
    """A derived string being built, with the spans of the productions applied so far."""

    characters: list[str]
    spans: list[Span]

    def apply(self, production: str, start: int, depth: int) -> None:
        """Record ``production`` as covering everything derived since ``start``."""
        self.spans.append(Span(production, start, len(self.characters), depth))

    def text(self) -> str:
        """The derived string."""
        return "".join(self.characters)

    def parse(self) -> tuple[Span, ...]:
        """The spans in document order (outer before inner)."""
        return tuple(sorted(self.spans, key=lambda span: (span.start, -span.stop, span.depth)))


def nesting_grammar(n_sequences: int = 200, max_length: int = 120, *, seed: int = 0) -> TaskData:
    """Strings of the DNI nesting grammar (section 5.1) with their parse trees.

    The grammar, as printed in Lin & Wu (2017) [1]_::

        e0 -> 0 e0 | ( e1 )
        e1 -> e1 1 | 1 e1 | ( e2 )
        e2 -> e2 2 | 2 e2 | ( e3 )
        e3 -> e3 3 | 3 e3 | ( e4 )
        e4 -> 4 e4 | empty

    Only ``e4`` has an empty alternative, so a derivation terminates by descending through
    ``( e1 )``, ..., ``( e4 )`` and ending ``e4 -> empty``: every string holds one chain of four
    nested groups, with digits equal to the nesting level around each group, e.g.
    ``00(1(2(33(44)3)2)11)``. At each ``e_k`` the sampler applies a digit production with
    probability ``m / (m + 1)`` (``m = (max_length - 8) / 10``; left and right digit
    productions equally likely) and otherwise the descending one (``e4 -> empty`` for
    ``e4``), so the mean length is about ``8 + (max_length - 8) / 2``; a derivation longer
    than ``max_length`` is discarded and sampled again.

    Parameters
    ----------
    n_sequences : int
        How many sequences, at least 1.
    max_length : int
        The longest string allowed, at least 8 (the shortest string is ``(((())))``).
    seed : int, keyword-only
        Seed of the random generator; the same seed gives the same task.

    Returns
    -------
    TaskData
        ``name`` ``"nesting_grammar"``; ``sequences`` tuples of 1-character strings;
        ``vocab`` ``("(", ")", "0", "1", "2", "3", "4")``; ``targets`` the id of the next
        character (``"next_token"``); label ``"depth"`` (int64) the nesting level (``(`` the
        level inside the group it opens, ``)`` the level inside the group it closes);
        ``spans`` one span per production application, named ``"e0 -> 0 e0"``,
        ``"e0 -> ( e1 )"``, ``"e1 -> e1 1"``, ``"e1 -> 1 e1"``, ``"e1 -> ( e2 )"``, ...,
        ``"e4 -> 4 e4"``, with ``depth`` its depth in the derivation tree (the root is 0).
        ``"e4 -> empty"`` derives no character and has no span.

    References
    ----------
    .. [1] Lin, K., & Wu, E. (2017). Searching for meaning in RNNs using Deep Neural Inspection.
       Columbia University Computer Science Technical Report 003-17.

    Examples
    --------
    >>> task = nesting_grammar(3, 20, seed=0)
    >>> task.text(0).count("(")
    4

    """
    n_sequences = as_int(n_sequences, "n_sequences", minimum=1)
    max_length = as_int(max_length, "max_length", minimum=_SHORTEST_NESTING)
    task_steps(n_sequences, max_length, "max_length")
    seed = as_int(seed, "seed", minimum=0)
    rng = np.random.default_rng(seed)
    mean_digits = (max_length - _SHORTEST_NESTING) / (2 * _NESTING_LEVELS)
    p_digit = mean_digits / (mean_digits + 1)
    derivations = [_bounded_nesting(rng, p_digit, max_length) for _ in range(n_sequences)]
    return text_task(
        name="nesting_grammar",
        texts=[derivation.text() for derivation in derivations],
        vocab=("(", ")", *(str(level) for level in range(_NESTING_LEVELS))),
        spans=[derivation.parse() for derivation in derivations],
        description=(
            "Deep Neural Inspection (Lin & Wu 2017, section 5.1) nesting grammar: "
            "e0 -> 0 e0 | ( e1 ); e_k -> e_k k | k e_k | ( e_k+1 ) for k = 1..3; "
            "e4 -> 4 e4 | empty. Digits state the nesting level; the parse gives DNI's range "
            "and impulse features per production."
        ),
    )


def _bounded_nesting(rng: np.random.Generator, p_digit: float, max_length: int) -> _Derivation:
    while True:
        derivation = _Derivation([], [])
        _derive_nesting(rng, p_digit, derivation, level=0, depth=0)
        if len(derivation.characters) <= max_length:
            return derivation


def _derive_nesting(
    rng: np.random.Generator, p_digit: float, derivation: _Derivation, level: int, depth: int
) -> None:
    """Expand ``e{level}`` at tree ``depth``, appending its characters and spans."""
    start = len(derivation.characters)
    digit = str(level)
    innermost = level == _NESTING_LEVELS - 1
    if rng.random() >= p_digit:
        if innermost:
            return  # e4 -> empty: no character, no span
        derivation.characters.append("(")
        _derive_nesting(rng, p_digit, derivation, level + 1, depth + 1)
        derivation.characters.append(")")
        derivation.apply(f"e{level} -> ( e{level + 1} )", start, depth)
        return
    digit_first = level == 0 or innermost or rng.random() < 0.5
    if digit_first:
        derivation.characters.append(digit)
    _derive_nesting(rng, p_digit, derivation, level, depth + 1)
    if not digit_first:
        derivation.characters.append(digit)
    production = f"e{level} -> {digit} e{level}" if digit_first else f"e{level} -> e{level} {digit}"
    derivation.apply(production, start, depth)


def arithmetic(n_sequences: int = 200, max_length: int = 40, *, seed: int = 0) -> TaskData:
    """Arithmetic expressions of the DNI grammar (section 4) with their parse trees.

    The grammar of Lin & Wu (2017) [1]_, section 4::

        e -> d | ( e ) | e + e | e - e | e * e | e / e

    with ``d`` a single digit and no spaces. Every expression has an odd length, so each
    sequence first draws its length uniformly among the odd numbers ``3..max_length`` and then
    derives an expression of exactly that length top down: an expression of length 1 is a
    digit; a longer one is ``( e )`` with probability 1/4 and otherwise ``e op e`` with the
    operator uniform and the split of the length uniform over odd lengths of the left
    operand. The grammar is ambiguous (``1-2-3``); the parse is the derivation that produced
    the string. Digits are uniform, so a division by zero can occur, as the grammar allows.

    Parameters
    ----------
    n_sequences : int
        How many sequences, at least 1.
    max_length : int
        The longest expression, at least 3.
    seed : int, keyword-only
        Seed of the random generator; the same seed gives the same task.

    Returns
    -------
    TaskData
        ``name`` ``"arithmetic"``; ``sequences`` tuples of 1-character strings; ``vocab``
        the digits ``0``-``9`` then ``( ) + - * /``; ``targets`` the id of the next
        character (``"next_token"``); label ``"depth"`` (int64) the parenthesis nesting level
        (``(`` the level inside the group it opens, ``)`` the level inside the group it
        closes); ``spans`` one span per production application, named ``"e -> d"``,
        ``"e -> ( e )"``, ``"e -> e + e"``, ``"e -> e - e"``, ``"e -> e * e"``,
        ``"e -> e / e"``, with ``depth`` its depth in the derivation tree (the root is 0).

    References
    ----------
    .. [1] Lin, K., & Wu, E. (2017). Searching for meaning in RNNs using Deep Neural Inspection.
       Columbia University Computer Science Technical Report 003-17.

    Examples
    --------
    >>> task = arithmetic(2, 9, seed=3)
    >>> len(task.text(0)) % 2
    1

    """
    n_sequences = as_int(n_sequences, "n_sequences", minimum=1)
    max_length = as_int(max_length, "max_length", minimum=3)
    task_steps(n_sequences, max_length, "max_length")
    seed = as_int(seed, "seed", minimum=0)
    rng = np.random.default_rng(seed)
    derivations = []
    for _ in range(n_sequences):
        length = 2 * int(rng.integers(1, (max_length - 1) // 2 + 1)) + 1
        derivation = _Derivation([], [])
        _derive_expression(rng, derivation, length, depth=0)
        derivations.append(derivation)
    return text_task(
        name="arithmetic",
        texts=[derivation.text() for derivation in derivations],
        vocab=(*_DIGITS, "(", ")", *_OPERATORS),
        spans=[derivation.parse() for derivation in derivations],
        description=(
            "Deep Neural Inspection (Lin & Wu 2017, section 4) arithmetic grammar: "
            "e -> d | ( e ) | e + e | e - e | e * e | e / e over single digits; the parse is "
            "the derivation that produced each string, for DNI's range and impulse features."
        ),
    )


def _derive_expression(
    rng: np.random.Generator, derivation: _Derivation, length: int, depth: int
) -> None:
    """Derive an expression of exactly ``length`` (odd) characters at tree ``depth``."""
    start = len(derivation.characters)
    if length == 1:
        derivation.characters.append(_DIGITS[int(rng.integers(len(_DIGITS)))])
        derivation.apply("e -> d", start, depth)
        return
    if rng.random() < 0.25:
        derivation.characters.append("(")
        _derive_expression(rng, derivation, length - 2, depth + 1)
        derivation.characters.append(")")
        derivation.apply("e -> ( e )", start, depth)
        return
    operator = _OPERATORS[int(rng.integers(len(_OPERATORS)))]
    left = 2 * int(rng.integers((length - 1) // 2)) + 1
    _derive_expression(rng, derivation, left, depth + 1)
    derivation.characters.append(operator)
    _derive_expression(rng, derivation, length - 1 - left, depth + 1)
    derivation.apply(f"e -> e {operator} e", start, depth)
