"""`TaskData`: the sequences of a task together with their ground truth, step by step.

Every generator in ``rnn_widgets.tasks`` returns one `TaskData`. Its ``sequences`` go straight
into ``capture`` (token strings for text tasks, float32 arrays of shape (steps, n_inputs) for
signal tasks); ``targets`` are what a model is trained to output; ``labels`` are per-step ground
truth that an analysis compares states with (a nesting depth, an automaton state, a token type),
and ``spans`` the parse of grammar tasks. ``annotate`` puts every label on a captured trace as
an annotation track.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .._validation import as_int

__all__ = [
    "MAX_TASK_STEPS",
    "Span",
    "TargetType",
    "TaskData",
    "readonly",
    "require",
    "task_steps",
]

#: The most steps a task generator makes: ``n_sequences`` times the longest sequence asked
#: for. Generation runs in Python step by step and keeps every step's token, target and
#: labels: 10**7 steps take minutes and a few GB, ten times the largest corpus the demos use,
#: while a typo such as ``n_sequences=10**9`` would run for days before exhausting memory.
MAX_TASK_STEPS = 10_000_000

#: How ``TaskData.targets`` are laid out:
#: ``"next_token"``: int64 (steps,), the id (in ``vocab``) of the next token, -1 at the last step;
#: ``"step_class"``: int64 (steps,), a class id (in ``classes``) per step;
#: ``"step_value"``: float32 (steps, n_outputs), a target vector per step;
#: ``"sequence_class"``: int64 scalar array (shape ()), one class id per sequence;
#: ``"next_value"``: float32 (steps, n_outputs), the next step's value (NaN at the last step).
TargetType = Literal["next_token", "step_class", "step_value", "sequence_class", "next_value"]


@dataclass(frozen=True)
class Span:
    """One node of a parse: a production that covers the steps ``start:stop`` of a sequence.

    Attributes
    ----------
    production : str
        The production's name as the task documents it, e.g. ``"e2 -> (e3)"``.
    start, stop : int
        The steps it covers, ``stop`` exclusive; it opens at ``start`` and closes at
        ``stop - 1``.
    depth : int
        Its depth in the parse tree (the root is 0).

    """

    production: str
    start: int
    stop: int
    depth: int = 0


@dataclass(frozen=True)
class TaskData:
    """The sequences of a task with their targets and per-step ground truth.

    Attributes
    ----------
    name : str
        The task, e.g. ``"parentheses"`` or ``"flip_flop_3bit"``.
    sequences : tuple
        One entry per sequence: a tuple of token strings (text tasks) or a read-only float32
        array of shape (steps, n_inputs) (signal tasks).
    targets : tuple of ndarray
        One read-only array per sequence, laid out as ``target_type`` says.
    target_type : str
        One of ``TargetType``.
    labels : mapping of str to tuple of ndarray
        Per-step ground truth: for each name, one read-only array of shape (steps,) per
        sequence (numbers, or strings for categorical labels).
    vocab : tuple of str or None
        The input symbols of a text task, in id order.
    classes : tuple of str or None
        The names of the target classes (``step_class``, ``sequence_class``) or of the output
        channels (``step_value``, ``next_value``).
    spans : tuple of tuple of Span, or None
        For grammar tasks, the parse of each sequence.
    description : str
        One paragraph: where the task comes from and what it asks.

    """

    name: str
    sequences: tuple[Any, ...]
    targets: tuple[np.ndarray, ...]
    target_type: TargetType
    labels: Mapping[str, tuple[np.ndarray, ...]] = field(default_factory=dict)
    vocab: tuple[str, ...] | None = None
    classes: tuple[str, ...] | None = None
    spans: tuple[tuple[Span, ...], ...] | None = None
    description: str = ""

    def __len__(self) -> int:
        return len(self.sequences)

    @property
    def lengths(self) -> np.ndarray:
        """The number of steps of each sequence, int64 of shape (n_sequences,)."""
        return np.array([len(sequence) for sequence in self.sequences], dtype=np.int64)

    def label(self, name: str) -> np.ndarray:
        """One label over all sequences, concatenated in order (one value per step)."""
        if name not in self.labels:
            raise KeyError(
                f"{name!r} is not a label of task {self.name!r}; choose from {list(self.labels)}"
            )
        parts = self.labels[name]
        return np.concatenate(parts) if parts else np.empty(0)

    def text(self, index: int) -> str:
        """The tokens of one sequence joined into one string (text tasks only)."""
        sequence = self.sequences[index]
        if isinstance(sequence, np.ndarray):
            raise TypeError(f"task {self.name!r} has signal inputs, not text")
        return "".join(sequence)

    def productions(self) -> tuple[str, ...]:
        """The productions that occur in ``spans``, sorted (empty for tasks without a parse)."""
        if self.spans is None:
            return ()
        return tuple(sorted({span.production for spans in self.spans for span in spans}))

    def range_feature(self, production: str) -> tuple[np.ndarray, ...]:
        """Per sequence, float32 (steps,): how many spans of ``production`` cover each step.

        A step inside two nested spans of one production counts 2 (DNI's range feature, whose
        composite over nesting is the depth); ``> 0`` gives the binary range feature.
        """
        return self._span_feature(production, impulse=False)

    def impulse_feature(self, production: str) -> tuple[np.ndarray, ...]:
        """Per sequence, float32 (steps,): 1 where a span of ``production`` opens or closes."""
        return self._span_feature(production, impulse=True)

    def _span_feature(self, production: str, impulse: bool) -> tuple[np.ndarray, ...]:
        if self.spans is None:
            raise ValueError(f"task {self.name!r} has no parse; only grammar tasks have spans")
        if production not in self.productions():
            raise ValueError(
                f"{production!r} is not a production of task {self.name!r}; choose from "
                f"{list(self.productions())}"
            )
        features = []
        for spans, length in zip(self.spans, self.lengths.tolist(), strict=True):
            feature = np.zeros(length + 1, dtype=np.float32)
            for span in spans:
                if span.production != production:
                    continue
                if impulse:
                    feature[span.start] = 1.0
                    feature[span.stop - 1] = 1.0
                else:
                    feature[span.start] += 1.0
                    feature[span.stop] -= 1.0
            features.append(readonly(feature[:length] if impulse else np.cumsum(feature)[:length]))
        return tuple(features)

    def subset(self, indices: Sequence[int] | np.ndarray) -> TaskData:
        """A task with only the sequences at ``indices`` (in that order)."""
        chosen = [int(i) for i in np.asarray(indices, dtype=np.int64).ravel()]

        def pick(items: tuple[Any, ...] | None) -> Any:
            return None if items is None else tuple(items[i] for i in chosen)

        labels = {name: pick(values) for name, values in self.labels.items()}
        return TaskData(
            name=self.name,
            sequences=pick(self.sequences),
            targets=pick(self.targets),
            target_type=self.target_type,
            labels=labels,
            vocab=self.vocab,
            classes=self.classes,
            spans=pick(self.spans),
            description=self.description,
        )

    def annotate(self, trace: Any) -> Any:
        """The trace with every label added as an annotation track (the trace is unchanged).

        The trace must hold these sequences in this order (as ``capture(model,
        task.sequences)`` returns them). String labels become categorical tracks; integer
        labels of a few values (depth, automaton state) too; other numbers numeric.
        """
        bounds = np.asarray(trace.sequence_bounds, dtype=np.int64)
        lengths = bounds[:, 1] - bounds[:, 0]
        if not np.array_equal(lengths, self.lengths):
            raise ValueError(
                f"trace does not hold the sequences of task {self.name!r} (lengths differ); "
                "annotate the trace returned by capture(model, task.sequences)"
            )
        for name, values in self.labels.items():
            flat = np.concatenate(values) if values else np.empty(0)
            categorical = flat.dtype.kind in "OUSb" or (
                flat.dtype.kind in "iu" and len(np.unique(flat)) <= 32
            )
            trace = trace.with_track(
                name,
                flat if flat.dtype.kind not in "OU" else flat.astype(str),
                "categorical" if categorical else "numeric",
            )
        return trace


def readonly(array: np.ndarray) -> np.ndarray:
    """``array`` marked read-only (a task's arrays are shared, never modified)."""
    array.setflags(write=False)
    return array


def task_steps(n_sequences: int, length: int, length_name: str = "length") -> int:
    """``n_sequences * length`` (both checked ints), or a ValueError past :data:`MAX_TASK_STEPS`.

    ``task_steps(10**9, 40)`` raises ``n_sequences * length must be <= 10000000 (steps a
    task generator makes, each in Python), got 40000000000``.
    """
    return as_int(
        n_sequences * length,
        f"n_sequences * {length_name}",
        maximum=MAX_TASK_STEPS,
        why="steps a task generator makes, each in Python",
    )


def require(module: str, extra: str = "data") -> Any:
    """Import an optional data package, or raise an ImportError that says how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        package = module.split(".")[0]
        raise ImportError(
            f"this task needs the optional package {package!r}; install it with "
            f"pip install 'rnn_widgets[{extra}]' (or pip install {package})"
        ) from error
