"""Ready-made hypotheses from the ground truth of ``rnn_widgets.tasks``.

A task's labels (nesting depth, automaton state, token type, ...) and, for grammar tasks, its
parse (one range and one impulse feature per production, as in Deep Neural Inspection: Lin &
Wu 2017 [1]_, section 4) become hypotheses with fixed labels per sequence, to evaluate on the
trace of ``capture(model, task.sequences)``.

References
----------
.. [1] Lin, K., & Wu, E. (2017). Searching for meaning in RNNs using Deep Neural Inspection.
   Columbia University Computer Science Technical Report 003-17.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from .._validation import as_int
from ._core import Hypothesis, from_labels

__all__ = ["from_task", "productions"]


def from_task(task: Any, *, levels: int = 12, spans: bool = True) -> Mapping[str, Hypothesis]:
    """Every piece of a task's ground truth as a hypothesis, by name.

    Parameters
    ----------
    task : TaskData
        From ``rnn_widgets.tasks`` or ``zoo.data(name)``; the trace to evaluate on must hold
        its sequences in order.
    levels : int
        An integer label with at most this many distinct values (a depth, an automaton state)
        also gives one binary hypothesis per value, ``"depth=2"``; 0 turns this off.
    spans : bool
        For grammar tasks, add each production's range and impulse features
        (:func:`productions`).

    Returns
    -------
    mapping of str to Hypothesis
        Labels of 0 and 1 are binary; other numbers continuous, scaled to [0, 1] by the
        task's minimum and maximum (``"depth"``: depth / max depth); string labels (a token
        type, a flip-flop memory) one binary hypothesis per value, ``"token_type=STRING"``.

    Examples
    --------
    >>> from rnn_widgets import tasks
    >>> sorted(from_task(tasks.parentheses(3, 20, seed=0)))[:3]
    ['depth', 'depth=0', 'depth=1']

    """
    _check_task(task)
    levels = as_int(levels, "levels", minimum=0)
    found: dict[str, Hypothesis] = {}
    for name, parts in task.labels.items():
        found.update(_label_hypotheses(name, [np.asarray(p) for p in parts], levels))
    if spans and task.spans is not None:
        found.update(productions(task))
    return MappingProxyType(found)


def productions(task: Any) -> Mapping[str, Hypothesis]:
    """One range and one impulse hypothesis per production of a grammar task's parse.

    Range: on at every step that a span of the production covers; impulse: on where one
    opens or closes (``TaskData.range_feature`` > 0 and ``TaskData.impulse_feature``).
    Named ``"e -> e + e (range)"``, ``"e -> e + e (impulse)"``.
    """
    _check_task(task)
    if task.spans is None:
        raise ValueError(
            f"task {task.name!r} has no parse; productions come from grammar tasks "
            "(tasks.nesting_grammar, tasks.arithmetic)"
        )
    found = {}
    for production in task.productions():
        covered = [(part > 0).astype(np.float32) for part in task.range_feature(production)]
        ends = list(task.impulse_feature(production))
        for name, parts in ((f"{production} (range)", covered), (f"{production} (impulse)", ends)):
            found[name] = from_labels(
                name, parts, label_type="binary", description=f"production {production} ({name})"
            )
    return MappingProxyType(found)


def _label_hypotheses(name: str, parts: list[np.ndarray], levels: int) -> dict[str, Hypothesis]:
    flat = np.concatenate(parts) if parts else np.empty(0)
    if flat.dtype.kind in "OUS":
        values = sorted({str(v) for v in flat.tolist()})
        return {
            f"{name}={value}": from_labels(
                f"{name}={value}",
                [(p.astype(str) == value).astype(np.float32) for p in parts],
                label_type="binary",
                description=f"{name} is {value}",
            )
            for value in values
        }
    numbers = flat.astype(np.float64)
    distinct = np.unique(numbers)
    if np.isin(distinct, (0.0, 1.0)).all():
        return {
            name: from_labels(name, parts, label_type="binary", description=f"{name} (task label)")
        }
    if len(distinct) < 2:
        return {}  # a constant label predicts nothing
    low, high = float(distinct[0]), float(distinct[-1])
    scaled = [(p.astype(np.float64) - low) / (high - low) for p in parts]
    found = {
        name: from_labels(
            name,
            scaled,
            label_type="continuous",
            description=f"{name}, scaled from [{low:g}, {high:g}]",
        )
    }
    integral = flat.dtype.kind in "iu" or bool(np.all(distinct == np.round(distinct)))
    if levels and integral and len(distinct) <= levels:
        for value in distinct.tolist():
            level = f"{name}={value:g}"
            found[level] = from_labels(
                level,
                [(p.astype(np.float64) == value).astype(np.float32) for p in parts],
                label_type="binary",
                description=f"{name} is {value:g}",
            )
    return found


def _check_task(task: Any) -> None:
    if not all(hasattr(task, a) for a in ("labels", "spans", "sequences", "productions")):
        raise TypeError(
            f"task must be a TaskData (from rnn_widgets.tasks or zoo.data), got "
            f"{type(task).__name__}"
        )
