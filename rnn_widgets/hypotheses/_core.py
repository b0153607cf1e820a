"""The `Hypothesis`: a named labelling function over the tokens of a sequence.

A hypothesis maps the tokens of one sequence to one label per step, ``binary`` (0 or 1: is
this character inside a string?) or ``continuous`` (a value in [0, 1]: nesting depth divided
by its maximum). :func:`evaluate` runs hypotheses over every sequence of a `Trace` and returns
their labels laid end to end, aligned with the trace's global steps; :func:`annotate` adds them
to a new trace as annotation tracks (the trace given is never modified).

Ground truth that is not a function of the tokens (a task's parse, an automaton's state) is a
hypothesis with fixed labels per sequence (:func:`from_labels`); evaluating it over a trace
checks that the trace holds sequences of those lengths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal, overload

import numpy as np
from tqdm.auto import tqdm

from .._validation import to_numpy
from ..trace import as_trace

__all__ = [
    "LABEL_TYPES",
    "Hypothesis",
    "LabelSet",
    "LabelType",
    "annotate",
    "as_hypotheses",
    "evaluate",
    "from_labels",
    "hypothesis",
]


class WorkBoundError(ValueError):
    """A built-in hypothesis hit a bound on its work (a regex's time bound).

    Its message already names the hypothesis's pattern and the bound, so labelling passes it
    on as it is, not wrapped in the ``RuntimeError`` that names a user's failing function.
    """


LabelType = Literal["binary", "continuous"]
#: The label types of hypotheses: ``"binary"`` labels are 0 or 1, ``"continuous"`` lie in
#: [0, 1].
LABEL_TYPES: tuple[str, ...] = ("binary", "continuous")

LabelFunction = Callable[[Sequence[str]], Any]


@dataclass(frozen=True, eq=False)
class Hypothesis:
    """A named labelling function: the tokens of one sequence to one label per step.

    Build one with the :func:`hypothesis` decorator, a built-in (``token_in``, ``regex``,
    ``nesting_depth``, ...), or :func:`from_labels` for fixed ground truth.

    Attributes
    ----------
    name : str
        The name shown in score tables and as the annotation track.
    label_type : {"binary", "continuous"}
        Binary labels are 0 or 1; continuous ones lie in [0, 1].
    function : callable or None
        ``function(tokens) -> labels``: a list of str to an array-like of shape
        ``(len(tokens),)``. None for fixed labels.
    description : str
        One line on what the labels mean.
    fixed : tuple of ndarray or None
        The labels of each sequence, for ground truth given as data.

    """

    name: str
    label_type: LabelType
    function: LabelFunction | None = field(default=None, repr=False)
    description: str = ""
    fixed: tuple[np.ndarray, ...] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"a hypothesis's name must be a non-empty str, got {self.name!r}")
        if self.label_type not in LABEL_TYPES:
            raise ValueError(
                f"hypothesis {self.name!r}: label_type must be 'binary' or 'continuous', "
                f"got {self.label_type!r}"
            )
        if (self.function is None) == (self.fixed is None):
            raise TypeError(
                f"hypothesis {self.name!r} needs exactly one of a function of the tokens or "
                "fixed labels (from_labels)"
            )
        if self.function is not None and not callable(self.function):
            raise TypeError(
                f"hypothesis {self.name!r}: function must be callable, got "
                f"{type(self.function).__name__}"
            )

    def __call__(self, tokens: Sequence[str]) -> np.ndarray:
        """The validated labels of one sequence, float32 of shape (len(tokens),)."""
        if self.function is None:
            raise TypeError(
                f"hypothesis {self.name!r} holds fixed labels per sequence; use "
                "evaluate(trace, hypothesis) or .labels_of(index, tokens)"
            )
        return self.labels_of(None, tokens)

    def labels_of(self, index: int | None, tokens: Sequence[str]) -> np.ndarray:
        """The validated labels of sequence ``index`` (for fixed labels) with these tokens."""
        tokens = list(tokens)
        if self.fixed is not None:
            if index is None or not 0 <= index < len(self.fixed):
                count = len(self.fixed)
                raise ValueError(
                    f"hypothesis {self.name!r} holds fixed labels for {count} sequences; the "
                    f"trace has more (sequence {index}); evaluate it on the trace of its task"
                )
            raw: Any = self.fixed[index]
        else:
            assert self.function is not None
            try:
                raw = self.function(tokens)
            except WorkBoundError:
                raise
            except Exception as error:  # a user's function: name it, keep the cause
                where = "" if index is None else f" on sequence {index}"
                raise RuntimeError(
                    f"hypothesis {self.name!r} raised {type(error).__name__}{where}: {error}"
                ) from error
        return check_labels(raw, self.name, self.label_type, len(tokens), index)


def check_labels(
    raw: Any, name: str, label_type: str, n_steps: int, index: int | None = None
) -> np.ndarray:
    """Validate one sequence's labels; return them as a new read-only float32 array.

    Raises
    ------
    TypeError
        For strings, objects or complex numbers.
    ValueError
        For the wrong shape, NaN or infinite values, or values outside the label type's range.

    """
    where = "" if index is None else f" on sequence {index}"
    if raw is None:
        raise TypeError(f"hypothesis {name!r} returned None{where}; return one label per token")
    array = to_numpy(raw)
    if array.dtype == object or array.dtype.kind in "USV" or array.dtype.kind == "c":
        raise TypeError(
            f"hypothesis {name!r} returned {array.dtype} labels{where}; return numbers (0/1 "
            "for a binary hypothesis, values in [0, 1] for a continuous one), not strings"
        )
    if array.ndim != 1 or len(array) != n_steps:
        raise ValueError(
            f"hypothesis {name!r} returned shape {array.shape}{where} for {n_steps} tokens; "
            f"return exactly one label per token, shape ({n_steps},)"
        )
    values = np.array(array, dtype=np.float32)
    bad = ~np.isfinite(values)
    if bad.any():
        step = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"hypothesis {name!r} returned NaN or infinite labels{where} (first at step "
            f"{step}); label every token with a number"
        )
    if label_type == "binary" and not np.isin(values, (0.0, 1.0)).all():
        other = values[~np.isin(values, (0.0, 1.0))][0]
        raise ValueError(
            f"binary hypothesis {name!r} returned {other:g}{where}; binary labels are 0 or 1 "
            "(for graded labels use label_type='continuous', normalised to [0, 1])"
        )
    if label_type == "continuous" and (values.min(initial=0.0) < 0 or values.max(initial=0.0) > 1):
        low, high = float(values.min()), float(values.max())
        raise ValueError(
            f"continuous hypothesis {name!r} returned values in [{low:g}, {high:g}]{where}; "
            "normalise them to [0, 1] (e.g. depth / max_depth)"
        )
    values.flags.writeable = False
    return values


@overload
def hypothesis(
    function: LabelFunction, *, label_type: LabelType = ..., name: str | None = ...
) -> Hypothesis: ...
@overload
def hypothesis(
    function: None = ..., *, label_type: LabelType = ..., name: str | None = ...
) -> Callable[[LabelFunction], Hypothesis]: ...
def hypothesis(
    function: LabelFunction | str | None = None,
    *,
    label_type: LabelType = "binary",
    name: str | None = None,
    description: str | None = None,
) -> Hypothesis | Callable[[LabelFunction], Hypothesis]:
    """Make a plain function of the tokens a named `Hypothesis` (a decorator).

    Parameters
    ----------
    function : callable, optional
        ``function(tokens) -> labels``: the tokens of one sequence (a list of str) to one
        number per token. Used bare (``@hypothesis``) or called (``@hypothesis(label_type=...)``).
    label_type : {"binary", "continuous"}
        Binary labels are 0 or 1 (bools work); continuous ones must lie in [0, 1].
    name : str, optional
        Defaults to the function's ``__name__``.
    description : str, optional
        Defaults to the first line of the function's docstring.

    Examples
    --------
    >>> @hypothesis(label_type="binary")
    ... def vowel(tokens):
    ...     return [token in "aeiou" for token in tokens]
    >>> vowel(list("rnn_widgets")).tolist()
    [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0]

    """
    if isinstance(function, str):
        raise TypeError(
            "hypothesis takes keyword arguments: @hypothesis(label_type='continuous', name='depth')"
        )

    def make(target: LabelFunction) -> Hypothesis:
        if not callable(target):
            raise TypeError(f"@hypothesis decorates a function, got {type(target).__name__}")
        label = name if name is not None else getattr(target, "__name__", None)
        if not label or label == "<lambda>":
            raise TypeError("give the hypothesis a name: hypothesis(function, name='...')")
        doc = (getattr(target, "__doc__", None) or "").strip().splitlines()
        text = description if description is not None else (doc[0] if doc else "")
        return Hypothesis(label, label_type, function=target, description=text)

    return make if function is None else make(function)


def from_labels(
    name: str,
    labels: Sequence[Any],
    *,
    label_type: LabelType | None = None,
    description: str = "",
) -> Hypothesis:
    """A hypothesis with fixed labels per sequence (ground truth given as data).

    Parameters
    ----------
    name : str
        The hypothesis's name.
    labels : sequence of array-like
        One array of shape (steps,) per sequence, in the trace's order.
    label_type : {"binary", "continuous"}, optional
        Inferred when omitted: binary if every label is 0 or 1, else continuous.
    description : str
        One line on what the labels mean.

    Raises
    ------
    TypeError, ValueError
        If a sequence's labels are not numbers, not finite, or out of the label type's range.

    """
    if isinstance(labels, (str, bytes, np.ndarray)) or not isinstance(labels, Sequence):
        raise TypeError(
            f"labels of {name!r} must be one array per sequence (a list), got "
            f"{type(labels).__name__}"
        )
    if label_type is not None and label_type not in LABEL_TYPES:
        raise ValueError(
            f"label_type must be one of {list(LABEL_TYPES)} or None, got {label_type!r}"
        )
    arrays = [to_numpy(part) for part in labels]
    for index, part in enumerate(arrays):
        if part.ndim != 1:
            raise ValueError(
                f"labels of {name!r}[{index}] has shape {part.shape}; labels must be one array "
                "of shape (steps,) per sequence, e.g. [[0, 1, 1], [1, 0]]"
            )
    if label_type is None:
        numeric = all(a.dtype.kind in "biuf" for a in arrays)
        binary = numeric and all(np.isin(a, (0, 1)).all() for a in arrays)
        label_type = "binary" if binary else "continuous"
    checked = tuple(
        check_labels(part, name, label_type, len(np.atleast_1d(part)), index)
        for index, part in enumerate(arrays)
    )
    return Hypothesis(name, label_type, description=description, fixed=checked)


@dataclass(frozen=True, eq=False)
class LabelSet:
    """The labels of several hypotheses over one trace, laid end to end like its steps.

    Attributes
    ----------
    names : tuple of str
    label_types : tuple of str
        ``"binary"`` or ``"continuous"`` per hypothesis.
    values : ndarray, shape (n_hypotheses, n_steps)
        float32, read-only; row ``i`` is hypothesis ``names[i]`` at every global step.
    descriptions : tuple of str

    """

    names: tuple[str, ...]
    label_types: tuple[str, ...]
    values: np.ndarray = field(repr=False)
    descriptions: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[self.index(name)]

    def index(self, name: str) -> int:
        """The row of hypothesis ``name``."""
        if name not in self.names:
            raise KeyError(f"no hypothesis named {name!r}; choose from {list(self.names)}")
        return self.names.index(name)

    def to_dict(self) -> Mapping[str, np.ndarray]:
        """``{name: labels}``, read-only."""
        return MappingProxyType(dict(zip(self.names, self.values, strict=True)))

    @classmethod
    def from_values(cls, labels: Mapping[str, Any], n_steps: int) -> LabelSet:
        """Labels given as arrays over all steps, ``{name: labels}``, checked as a LabelSet.

        Parameters
        ----------
        labels : mapping of str to array-like, shape (n_steps,)
            Each hypothesis's label at every global step of a trace. Binary when every label
            is 0 or 1, else continuous (values in [0, 1]).
        n_steps : int
            The trace's number of steps.

        Raises
        ------
        TypeError, ValueError
            As :func:`from_labels` does: labels that are not numbers, not finite, of the
            wrong length or out of their label type's range; or no labels at all.

        """
        names, label_types, rows = [], [], []
        for name, values in labels.items():
            array = to_numpy(values)
            numeric = array.dtype.kind in "biuf"
            label_type = "binary" if numeric and np.isin(array, (0, 1)).all() else "continuous"
            rows.append(check_labels(array, str(name), label_type, n_steps))
            names.append(str(name))
            label_types.append(label_type)
        if not rows:
            raise ValueError("hypotheses is empty; pass at least one")
        values = np.stack(rows)
        values.flags.writeable = False
        return cls(tuple(names), tuple(label_types), values)


HypothesesLike = Hypothesis | Iterable[Hypothesis] | Mapping[str, Hypothesis]


def as_hypotheses(hypotheses: Any, name: str = "hypotheses") -> tuple[Hypothesis, ...]:
    """One hypothesis, a sequence of them or a mapping ``{name: hypothesis}``, as a tuple.

    A mapping's keys name its hypotheses (so ``{"depth": nesting_depth()}`` is "depth").

    Raises
    ------
    TypeError
        If an entry is not a `Hypothesis`.
    ValueError
        If there is none, or two share a name.

    """
    if isinstance(hypotheses, Hypothesis):
        items: list[Any] = [hypotheses]
    elif isinstance(hypotheses, Mapping):
        items = [
            replace(item, name=str(key)) if isinstance(item, Hypothesis) else item
            for key, item in hypotheses.items()
        ]
    elif isinstance(hypotheses, Iterable) and not isinstance(hypotheses, (str, bytes)):
        items = list(hypotheses)
    else:
        raise TypeError(
            f"{name} must be a Hypothesis or a list of them (see rnn_widgets.hypotheses), got "
            f"{type(hypotheses).__name__}"
        )
    for item in items:
        if not isinstance(item, Hypothesis):
            hint = " (decorate it with @hypothesis)" if callable(item) else ""
            raise TypeError(f"{name} must hold Hypothesis objects, got {item!r}{hint}")
    if not items:
        raise ValueError(f"{name} is empty; pass at least one hypothesis")
    names = [item.name for item in items]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"{name}: names must be unique, {repeated} repeat; rename one")
    return tuple(items)


def evaluate(trace: Any, hypotheses: HypothesesLike, *, progress: bool = False) -> LabelSet:
    """Every hypothesis's labels over every sequence of a trace, aligned with its steps.

    Parameters
    ----------
    trace : Trace
        The trace whose sequences are labelled.
    hypotheses : Hypothesis, sequence of Hypothesis, or mapping of str to Hypothesis
        What to evaluate; names must be unique.
    progress : bool
        Show a progress bar (``tqdm.auto``) counting the steps labelled. Ctrl+C stops the
        labelling and propagates (KeyboardInterrupt); nothing is returned or kept.

    Returns
    -------
    LabelSet
        ``values[i, step]`` is hypothesis ``i``'s label at global ``step``.

    Raises
    ------
    TypeError, ValueError, RuntimeError
        On a bad hypothesis's output (named, with the sequence) or a function that raised.

    """
    trace = as_trace(trace)
    chosen = as_hypotheses(hypotheses)
    bounds = np.asarray(trace.sequence_bounds)
    values = np.empty((len(chosen), trace.n_steps), dtype=np.float32)
    for item in chosen:
        if item.fixed is not None and len(item.fixed) != len(bounds):
            raise ValueError(
                f"hypothesis {item.name!r} holds labels for {len(item.fixed)} sequences but the "
                f"trace has {len(bounds)}; evaluate it on the trace of its own task"
            )
    with tqdm(
        total=trace.n_steps, desc="label", unit="step", disable=not progress, leave=False
    ) as bar:
        for index, (start, stop) in enumerate(bounds.tolist()):
            tokens = trace.tokens[start:stop]
            for row, item in enumerate(chosen):
                values[row, start:stop] = item.labels_of(index, tokens)
            bar.update(stop - start)
    values.flags.writeable = False
    return LabelSet(
        names=tuple(item.name for item in chosen),
        label_types=tuple(item.label_type for item in chosen),
        values=values,
        descriptions=tuple(item.description for item in chosen),
    )


def annotate(trace: Any, hypotheses: HypothesesLike | LabelSet) -> Any:
    """A new trace with each hypothesis's labels as a numeric annotation track.

    The SelectView draws them under the tokens; the trace given is not modified. A track of
    the same name is replaced.

    Parameters
    ----------
    trace : Trace
        The trace to annotate (it is not modified).
    hypotheses : Hypothesis, sequence or mapping of them, or a LabelSet from :func:`evaluate`
        What to add, one track per hypothesis, named like it.

    Returns
    -------
    Trace

    """
    labels = hypotheses if isinstance(hypotheses, LabelSet) else evaluate(trace, hypotheses)
    trace = as_trace(trace)
    if labels.values.shape[1] != trace.n_steps:
        raise ValueError(
            f"the labels cover {labels.values.shape[1]} steps but the trace has "
            f"{trace.n_steps}; evaluate them on this trace"
        )
    for name, values in zip(labels.names, labels.values, strict=True):
        trace = trace.with_track(name, values, "numeric")
    return trace
