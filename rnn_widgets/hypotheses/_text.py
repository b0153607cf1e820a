"""Built-in hypotheses over text: token sets, regexes, bracket nesting, quotes, spans.

Spans (step ranges ``start:stop``, stop exclusive) become two features, as in Deep Neural
Inspection (Lin & Wu 2017 [1]_, section 4): **range** (on at every step inside a span) and
**impulse** (on at a span's opening and closing steps). Tokens may be single characters or
longer; text features join the tokens of a sequence into one string and map each character back
to its token.

References
----------
.. [1] Lin, K., & Wu, E. (2017). Searching for meaning in RNNs using Deep Neural Inspection.
   Columbia University Computer Science Technical Report 003-17.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Literal

import numpy as np
import regex as regex_engine

from .._validation import as_int
from ..trace import SEARCH_TIMEOUT
from ._core import Hypothesis, WorkBoundError

__all__ = [
    "FEATURES",
    "bracket_spans",
    "char_steps",
    "check_feature",
    "inside_quotes",
    "nesting_depth",
    "range_and_impulse",
    "regex",
    "span_labels",
    "spans",
    "token_in",
]

Feature = Literal["range", "impulse"]
#: The two featurisations of spans: ``"range"`` and ``"impulse"``.
FEATURES: tuple[str, ...] = ("range", "impulse")

SpanFinder = Callable[[Sequence[str]], Iterable[tuple[int, int]]]


def char_steps(tokens: Sequence[str]) -> np.ndarray:
    """The step (token index) of each character of ``"".join(tokens)``, int64."""
    lengths = np.fromiter((len(t) for t in tokens), dtype=np.int64, count=len(tokens))
    return np.repeat(np.arange(len(tokens), dtype=np.int64), lengths)


def span_labels(n_steps: int, found: Iterable[tuple[int, int]], feature: str) -> np.ndarray:
    """Range or impulse labels (float32, shape (n_steps,)) of step spans ``start:stop``."""
    labels = np.zeros(n_steps, dtype=np.float32)
    table = np.asarray([(int(a), int(b)) for a, b in found], dtype=np.int64).reshape(-1, 2)
    table = table[(table[:, 1] > table[:, 0]) & (table[:, 0] >= 0) & (table[:, 1] <= n_steps)]
    if feature == "impulse":
        labels[table[:, 0]] = 1.0
        labels[table[:, 1] - 1] = 1.0
        return labels
    delta = np.zeros(n_steps + 1, dtype=np.int64)
    np.add.at(delta, table[:, 0], 1)
    np.add.at(delta, table[:, 1], -1)
    return (np.cumsum(delta)[:n_steps] > 0).astype(np.float32)


def check_feature(feature: str) -> str:
    """Return ``feature`` if it is ``"range"`` or ``"impulse"`` (DNI's span features), or raise."""
    if feature not in FEATURES:
        raise ValueError(f"feature must be 'range' or 'impulse', got {feature!r}")
    return feature


def spans(
    name: str, find_spans: SpanFinder, *, feature: Feature = "range", description: str = ""
) -> Hypothesis:
    """A binary hypothesis from a function that finds spans of steps in a sequence.

    Range and impulse are the span features of Deep Neural Inspection (Lin & Wu 2017 [1]_,
    section 4).

    Parameters
    ----------
    name : str
        The hypothesis's name.
    find_spans : callable
        ``find_spans(tokens) -> iterable of (start, stop)``: step ranges, stop exclusive.
    feature : {"range", "impulse"}
        Range: on at every step inside a span. Impulse: on at each span's first and last
        step (its opening and closing tokens).
    description : str
        One line on what the spans are.

    References
    ----------
    .. [1] Lin, K., & Wu, E. (2017). Searching for meaning in RNNs using Deep Neural Inspection.
       Columbia University Computer Science Technical Report 003-17.

    Examples
    --------
    >>> words = spans("word", lambda t: [(0, 3)], feature="impulse")
    >>> words(list("abcd")).tolist()
    [1.0, 0.0, 1.0, 0.0]

    """
    feature = check_feature(feature)  # type: ignore[assignment]
    if not callable(find_spans):
        raise TypeError(f"find_spans must be a function of the tokens, got {find_spans!r}")

    def labels(tokens: Sequence[str]) -> np.ndarray:
        return span_labels(len(tokens), find_spans(tokens), feature)

    return Hypothesis(name, "binary", function=labels, description=description)


def range_and_impulse(
    name: str, find_spans: SpanFinder, *, description: str = ""
) -> tuple[Hypothesis, Hypothesis]:
    """The range and the impulse hypotheses of one span finder: ``name (range)``, ``(impulse)``."""
    return (
        spans(f"{name} (range)", find_spans, feature="range", description=description),
        spans(f"{name} (impulse)", find_spans, feature="impulse", description=description),
    )


def token_in(tokens: Iterable[str], *, name: str | None = None) -> Hypothesis:
    """Binary: the token is one of ``tokens``.

    Examples
    --------
    >>> token_in("0123456789", name="digit")(list("a1(2")).tolist()
    [0.0, 1.0, 0.0, 1.0]

    """
    if isinstance(tokens, str):
        chosen = frozenset(tokens)
    elif isinstance(tokens, Iterable):
        chosen = frozenset(tokens)
        if not all(isinstance(t, str) for t in chosen):
            raise TypeError("tokens must be strings, e.g. token_in({'(', ')'})")
    else:
        raise TypeError(f"tokens must be an iterable of str, got {type(tokens).__name__}")
    if not chosen:
        raise ValueError("tokens is empty; name at least one token")
    label = name or f"token in {{{', '.join(sorted(map(repr, chosen)))}}}"

    def labels(sequence: Sequence[str]) -> np.ndarray:
        return np.fromiter((t in chosen for t in sequence), dtype=np.float32, count=len(sequence))

    return Hypothesis(label, "binary", function=labels, description=f"the token is in {label}")


def regex(
    pattern: str | re.Pattern[str],
    *,
    name: str | None = None,
    flags: int = 0,
    feature: Feature = "range",
) -> Hypothesis:
    r"""Binary: the step's token overlaps a match of ``pattern`` in the sequence's text.

    The tokens of a sequence are joined with nothing between them (character tokens give the
    text itself). ``feature="impulse"`` marks only each match's first and last steps.

    ``pattern`` is Python's regular-expression syntax (a str, or a compiled ``re.Pattern``
    whose flags are kept; ``flags`` adds ``re`` flags), run by the ``regex`` package with a
    time bound: labelling one sequence may take at most
    :data:`~rnn_widgets.trace.SEARCH_TIMEOUT` (1 s), as ``Trace.search`` does.

    Raises
    ------
    ValueError
        If ``pattern`` is not a valid regular expression, or (when labelling) if matching it
        over one sequence takes longer than the bound: a pattern that backtracks
        catastrophically, such as ``(a|aa)+$``; simplify it.

    Examples
    --------
    >>> regex(r"def \w+")(list("x def f(")).tolist()
    [0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0]

    """
    feature = check_feature(feature)  # type: ignore[assignment]
    compiled = _bounded_pattern(pattern, flags)

    def find(tokens: Sequence[str]) -> list[tuple[int, int]]:
        steps = char_steps(tokens)
        found = []
        try:
            # The regex package's timeout bounds the whole iteration, backtracking included.
            matches = list(compiled.finditer("".join(tokens), timeout=SEARCH_TIMEOUT))
        except TimeoutError:
            raise WorkBoundError(
                f"the regular expression {compiled.pattern!r} is too costly: matching it over "
                f"one sequence took more than {SEARCH_TIMEOUT:g} s (SEARCH_TIMEOUT), which a "
                "pattern that backtracks catastrophically does (nested or overlapping repeats "
                "such as (a|aa)+ or (a+)+); simplify it, e.g. drop the repeat around a repeat"
            ) from None
        for match in matches:
            if match.end() > match.start():
                found.append((int(steps[match.start()]), int(steps[match.end() - 1]) + 1))
        return found

    label = name or f"/{compiled.pattern}/" + ("" if feature == "range" else " (impulse)")
    return spans(label, find, feature=feature, description=f"inside a match of {label}")


def _bounded_pattern(pattern: str | re.Pattern[str], flags: int) -> regex_engine.Pattern:
    """``pattern`` (Python syntax, str or compiled ``re.Pattern``) compiled by ``regex``.

    ``regex``'s default VERSION0 reads Python's syntax and numbers its flags as ``re`` does,
    so a compiled pattern converts through its ``.pattern`` and ``.flags``.
    """
    if isinstance(pattern, re.Pattern):
        text, flags = pattern.pattern, pattern.flags | int(flags)
    else:
        text = pattern
    if not isinstance(text, str):
        raise ValueError(
            f"pattern {pattern!r} is not a valid regular expression: it must be a str "
            f"(or a compiled str pattern), got {type(text).__name__}"
        )
    try:
        return regex_engine.compile(text, int(flags))
    except (regex_engine.error, TypeError, ValueError) as error:
        raise ValueError(f"pattern {text!r} is not a valid regular expression: {error}") from None


def nesting_depth(
    open: str = "(", close: str = ")", *, max_depth: int = 4, name: str | None = None
) -> Hypothesis:
    """Continuous: the bracket nesting depth at each step, divided by ``max_depth``.

    An opening token gets the depth inside the group it opens, a closing token the depth
    inside the group it closes, any other token the depth it stands at (the convention of
    ``tasks.parentheses``'s ``depth``). Depths above ``max_depth`` count as ``max_depth``; a
    closing token with no open group leaves the depth at 0.

    Examples
    --------
    >>> nesting_depth(max_depth=2)(list("a(b(c))")).tolist()
    [0.0, 0.5, 0.5, 1.0, 1.0, 1.0, 0.5]

    """
    if not isinstance(open, str) or not isinstance(close, str) or not open or not close:
        raise TypeError(f"open and close must be non-empty str tokens, got {open!r}, {close!r}")
    if open == close:
        raise ValueError(f"open and close must differ (for quotes use inside_quotes), got {open!r}")
    max_depth = as_int(max_depth, "max_depth", minimum=1)
    label = name or f"depth {open}{close}"

    def labels(tokens: Sequence[str]) -> np.ndarray:
        depths = np.zeros(len(tokens), dtype=np.float32)
        depth = 0
        for step, token in enumerate(tokens):
            if token == open:
                depth += 1
            depths[step] = depth
            if token == close:
                depth = max(depth - 1, 0)
        return np.minimum(depths, max_depth) / max_depth

    return Hypothesis(
        label,
        "continuous",
        function=labels,
        description=f"nesting depth of {open} {close}, / {max_depth}",
    )


def bracket_spans(open: str = "(", close: str = ")") -> SpanFinder:
    """A span finder: the steps from each opening token to its matching closing token."""

    def find(tokens: Sequence[str]) -> list[tuple[int, int]]:
        found, stack = [], []
        for step, token in enumerate(tokens):
            if token == open:
                stack.append(step)
            elif token == close and stack:
                found.append((stack.pop(), step + 1))
        return found

    return find


def inside_quotes(
    quotes: Iterable[str] = ("'", '"'), *, escape: str | None = "\\", name: str | None = None
) -> Hypothesis:
    r"""Binary: the step is inside a quoted string, the quotes included.

    A string opens at one of ``quotes`` and closes at the same quote; other quote characters
    inside it, and any character after ``escape``, do not close it. An unclosed string runs
    to the end of the sequence. Works over the joined text, so tokens may be longer than one
    character.

    Examples
    --------
    >>> inside_quotes()(list('a "b\'c" d')).tolist()
    [0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0]

    """
    chosen = frozenset(quotes)
    if not chosen or not all(isinstance(q, str) and len(q) == 1 for q in chosen):
        raise ValueError(f"quotes must be single characters, e.g. ('\"', \"'\"), got {quotes!r}")
    if escape is not None and (not isinstance(escape, str) or len(escape) != 1):
        raise ValueError(f"escape must be one character or None, got {escape!r}")
    label = name or "inside quotes"

    def find(tokens: Sequence[str]) -> list[tuple[int, int]]:
        text = "".join(tokens)
        steps = char_steps(tokens)
        found, opened, quote, escaped = [], -1, "", False
        for offset, character in enumerate(text):
            if opened < 0:
                if character in chosen:
                    opened, quote = offset, character
            elif escaped:
                escaped = False
            elif character == escape:
                escaped = True
            elif character == quote:
                found.append((int(steps[opened]), int(steps[offset]) + 1))
                opened = -1
        if opened >= 0:
            found.append((int(steps[opened]), len(tokens)))
        return found

    return spans(label, find, feature="range", description="inside a quoted string")
