r"""Hypotheses typed as text: what a user enters in a hypothesis box, as a `Hypothesis`.

:func:`from_text` reads one line of text in one of three kinds:

* ``"regex"``: a regular expression over the text of each sequence (its tokens joined with
  nothing between them, as :func:`~rnn_widgets.hypotheses.regex` joins them), with one of Deep
  Neural Inspection's two span features (Lin & Wu 2017 [1]_, section 4): ``feature="range"``
  marks every step of a match, ``"impulse"`` only each match's first and last steps. The
  regex work is bounded as :meth:`Trace.search` bounds it (:data:`~rnn_widgets.trace.SEARCH_TIMEOUT`
  per sequence).
* ``"tokens"``: a set of tokens, separated by whitespace (``( )`` is the two brackets,
  ``a e i o u`` the vowels of a character-level trace, ``the a an`` three words of a word-level
  one). A token holding whitespace or a backslash is written with an escape: ``\s`` a space,
  ``\t`` a tab, ``\n`` a newline, ``\\`` a backslash (``\s \n`` is the space and the newline).
* ``"python"``: a Python expression over ``tokens`` (the sequence's tokens, a list of str)
  and ``i`` (the step's position in the sequence), evaluated once per step with a namespace
  the caller gives (a notebook passes its own, so the expression may use the user's names):
  ``tokens[i] in "aeiou"``, ``i > 0 and tokens[i - 1] == "("``. It gives a bool, or a number in
  [0, 1] with ``label_type="continuous"``.

The hypothesis's name says the kind and the text, short enough for a picker (at most
60 characters): ``/\(/``, ``/\(/ (impulse)``, ``tokens: ( )``,
``py: tokens[i] == "("``.

References
----------
.. [1] Lin, K., & Wu, E. (2017). Searching for meaning in RNNs using Deep Neural Inspection.
   Columbia University Computer Science Technical Report 003-17.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._core import LABEL_TYPES, Hypothesis
from ._text import check_feature, regex, token_in

__all__ = ["from_text"]

# The kinds of typed hypotheses from_text reads.
_KINDS: tuple[str, ...] = ("regex", "tokens", "python")
# The longest name a typed hypothesis gets; longer texts are cut with "…".
_MAX_NAME = 60

_ESCAPES = {"s": " ", "t": "\t", "n": "\n", "\\": "\\", " ": " "}
_SHOWN = {" ": r"\s", "\t": r"\t", "\n": r"\n", "\\": "\\\\"}
_NUMBER_TYPES = (bool, numbers.Real, np.bool_, np.integer, np.floating)


def from_text(
    text: str,
    *,
    kind: str = "regex",
    feature: str = "range",
    label_type: str = "binary",
    namespace: Mapping[str, Any] | None = None,
) -> Hypothesis:
    r"""The hypothesis a user typed: a regular expression, a set of tokens or a Python expression.

    Parameters
    ----------
    text : str
        What was typed. A regular expression is taken as it is (spaces count); tokens and an
        expression are stripped of surrounding whitespace.
    kind : {"regex", "tokens", "python"}
        ``"regex"``: Python's regular-expression syntax (inline flags such as ``(?i)`` work),
        over each sequence's tokens joined with nothing between them; labelling one sequence
        may take at most :data:`~rnn_widgets.trace.SEARCH_TIMEOUT` (1 s), as ``Trace.search``.
        ``"tokens"``: tokens separated by whitespace; ``\s`` is a space, ``\t`` a tab, ``\n``
        a newline, ``\\`` a backslash. ``"python"``: an expression over ``tokens`` (the
        sequence's tokens, list of str) and ``i`` (the step's position in the sequence),
        evaluated at every step.
    feature : {"range", "impulse"}
        For ``kind="regex"``, Deep Neural Inspection's span features: ``"range"`` marks every
        step of a match, ``"impulse"`` its first and last steps only. Other kinds take
        ``"range"`` (a token is its own one-step span).
    label_type : {"binary", "continuous"}
        For ``kind="python"``: ``"binary"`` expressions give bools (or 0 and 1),
        ``"continuous"`` ones numbers in [0, 1] (bools count as 0 and 1). Regexes and token
        sets are binary.
    namespace : mapping, optional
        For ``kind="python"``: the names the expression may use besides ``tokens`` and ``i``
        (which shadow names of the same spelling), such as a notebook's ``user_ns``. It is
        copied when the hypothesis is made and never modified.

    Returns
    -------
    Hypothesis
        Named for its kind and text, at most 60 characters (longer texts are cut with
        "…"): ``/\(/``, ``/\(/ (impulse)``, ``tokens: ( )``, ``py: tokens[i] == "("``.

    Raises
    ------
    TypeError
        If ``text`` is not a str, or ``namespace`` not a mapping.
    ValueError
        On empty text, an unknown ``kind``, ``feature`` or ``label_type``, an invalid regular
        expression (with the regex engine's own message), an unknown escape in tokens, or an
        expression that is not valid Python. Labelling (``evaluate``) raises when a regex
        passes its time bound, or when an expression raises or gives something other than a
        bool or a number in range, naming the sequence, the step and its token.

    Examples
    --------
    >>> from_text(r"\(").name, from_text(r"\(")(list("a(b")).tolist()
    ('/\\(/', [0.0, 1.0, 0.0])
    >>> from_text("( )", kind="tokens")(list("(a)")).tolist()
    [1.0, 0.0, 1.0]
    >>> from_text('i > 0 and tokens[i - 1] == "("', kind="python")(list("(ab")).tolist()
    [0.0, 1.0, 0.0]

    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str (what was typed), got {type(text).__name__}")
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {list(_KINDS)}, got {kind!r}")
    check_feature(feature)
    if feature != "range" and kind != "regex":
        raise ValueError(
            f"feature={feature!r} applies to kind='regex' only (a {kind} hypothesis marks "
            "single steps); pass feature='range'"
        )
    if label_type not in LABEL_TYPES:
        raise ValueError(f"label_type must be one of {list(LABEL_TYPES)}, got {label_type!r}")
    if label_type != "binary" and kind != "python":
        raise ValueError(
            f"a {kind} hypothesis is binary (on or off at each step); label_type="
            f"{label_type!r} applies to kind='python' only"
        )
    if namespace is not None and not isinstance(namespace, Mapping):
        raise TypeError(
            f"namespace must be a mapping of names (such as a notebook's user_ns), got "
            f"{type(namespace).__name__}"
        )
    stripped = text.strip()
    if not stripped:
        raise ValueError(f"text is empty; type {_EXAMPLES[kind]}")
    if kind == "regex":
        return _regex(text, feature)
    if kind == "tokens":
        return _tokens(stripped)
    return _python(stripped, label_type, dict(namespace or {}))


_EXAMPLES = {
    "regex": r"a regular expression, e.g. \(",
    "tokens": "tokens separated by spaces, e.g. ( )",
    "python": 'an expression over tokens and i, e.g. tokens[i] == "("',
}


def _regex(text: str, feature: str) -> Hypothesis:
    suffix = "" if feature == "range" else " (impulse)"
    name = _bounded(f"/{text}", _MAX_NAME - len(suffix) - 1) + "/" + suffix
    # hy.regex checks the pattern (naming the engine's message) and bounds its work.
    built = regex(text, name=name, feature=feature)  # type: ignore[arg-type]
    what = "a match" if feature == "range" else "the first or last step of a match"
    return Hypothesis(
        name, "binary", function=built.function, description=f"inside {what} of /{text}/"
    )


def _tokens(text: str) -> Hypothesis:
    chosen = _parse_tokens(text)
    shown = " ".join("".join(_SHOWN.get(c, c) for c in token) for token in chosen)
    name = _bounded(f"tokens: {shown}", _MAX_NAME)
    built = token_in(chosen, name=name)
    return Hypothesis(
        name, "binary", function=built.function, description=f"the token is one of: {shown}"
    )


def _parse_tokens(text: str) -> list[str]:
    r"""Whitespace-separated tokens with ``\s \t \n \\`` escapes, each once, in order."""
    tokens: list[str] = []
    current: list[str] = []
    position = 0
    while position < len(text):
        character = text[position]
        if character == "\\":
            following = text[position + 1 : position + 2]
            if following not in _ESCAPES:
                shown = "\\" + following if following else "a lone \\ at the end"
                raise ValueError(
                    f"tokens: unknown escape {shown} at character {position}; write \\s for "
                    "a space, \\t a tab, \\n a newline, \\\\ a backslash"
                )
            current.append(_ESCAPES[following])
            position += 2
            continue
        if character.isspace():
            if current:
                tokens.append("".join(current))
                current = []
        else:
            current.append(character)
        position += 1
    if current:
        tokens.append("".join(current))
    return list(dict.fromkeys(tokens))


def _python(text: str, label_type: str, scope: dict[str, Any]) -> Hypothesis:
    try:
        code = compile(text, "<hypothesis>", "eval")
    except SyntaxError as error:
        raise ValueError(
            f"{text!r} is not a valid Python expression: {error.msg} (column "
            f"{error.offset}); write one expression over tokens and i, e.g. "
            'tokens[i] == "("'
        ) from None
    name = _bounded(f"py: {' '.join(text.split())}", _MAX_NAME)
    binary = label_type == "binary"
    wanted = "a bool (or 0 or 1)" if binary else "a bool or a number in [0, 1]"

    def labels(tokens: Sequence[str]) -> np.ndarray:
        tokens = list(tokens)
        values = np.empty(len(tokens), dtype=np.float32)
        scope["tokens"] = tokens
        for step in range(len(tokens)):
            scope["i"] = step
            try:
                value = eval(code, scope)  # the user's own expression, in their own kernel
            except Exception as error:  # a user's expression: name the step, keep the cause
                raise _at_step(error, step, tokens[step]) from error
            if not isinstance(value, _NUMBER_TYPES):
                raise TypeError(
                    f"at step {step} (token {tokens[step]!r}) the expression gave "
                    f"{type(value).__name__} {_short(value)}; it must give {wanted}"
                )
            number = float(value)
            if not (number in (0.0, 1.0) if binary else 0.0 <= number <= 1.0):
                hint = " (for graded labels use label_type='continuous')" if binary else ""
                raise ValueError(
                    f"at step {step} (token {tokens[step]!r}) the expression gave {number:g}; "
                    f"it must give {wanted}{hint}"
                )
            values[step] = number
        return values

    return Hypothesis(
        name,
        label_type,  # type: ignore[arg-type]
        function=labels,
        description=f"the Python expression {text}",
    )


def _at_step(error: Exception, step: int, token: str) -> Exception:
    """``error``'s kind with a message that names the step and its token."""
    text = f"at step {step} (token {token!r}): {error}"
    try:
        return type(error)(text)
    except Exception:  # an exception type that takes other arguments
        return RuntimeError(f"{type(error).__name__} {text}")


def _short(value: Any) -> str:
    return _bounded(repr(value), 40)


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
