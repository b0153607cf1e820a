"""Task metrics of a model's outputs: the one definition of each measure the package reports.

* Over next-token log-probabilities: :func:`next_token_log_probabilities`,
  :func:`within_type_accuracy` (e.g. which digit, where a digit comes next) and
  :func:`character_type_accuracy` (which type of character: :data:`CHARACTER_TYPES`, from
  :func:`character_types`).
* Metrics of a run over a task's sequences, ``metric(run_result) -> float``, built from the
  task: :func:`digit_accuracy` and :func:`next_type_accuracy` (Deep Neural Inspection's
  measures for the nesting and arithmetic languages, Lin & Wu 2017 [1]_) and
  :func:`classification_accuracy`.

The zoo's held-out figures (``rnn_widgets.zoo``) and the ablations of ``rnn_widgets.analysis``
are computed by these same functions, so an ablation's baseline is the shipped figure. A run
result is read by its ``outputs`` (batch, steps, n_outputs) and ``lengths``, as
``RecurrentModel.run`` returns them.

References
----------
.. [1] Lin, K., & Wu, E. (2017). Searching for meaning in RNNs using Deep Neural Inspection.
   Columbia University Computer Science Technical Report 003-17.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._validation import to_numpy

__all__ = [
    "CHARACTER_TYPES",
    "character_type_accuracy",
    "character_types",
    "classification_accuracy",
    "digit_accuracy",
    "next_token_log_probabilities",
    "next_type_accuracy",
    "within_type_accuracy",
]

#: A metric of a run: ``metric(run_result) -> float``, higher better.
Metric = Callable[[Any], float]

#: The types of next character that :func:`next_type_accuracy` tells apart, in the order of
#: :func:`character_types`' ids.
CHARACTER_TYPES = ("parenthesis", "digit", "operator", "other")

_OPERATORS = frozenset("+-*/")


def character_types(vocab: tuple[str, ...]) -> np.ndarray:
    """The type of each vocabulary token: an index into :data:`CHARACTER_TYPES`.

    Parameters
    ----------
    vocab : tuple of str
        A text task's vocabulary (``TaskData.vocab``).

    Returns
    -------
    ndarray of int64, shape (len(vocab),)
        0 for ``(`` and ``)``, 1 for a digit, 2 for an operator (``+ - * /``), 3 for
        anything else.

    Examples
    --------
    >>> [CHARACTER_TYPES[t] for t in character_types(("(", "7", "-", "x"))]
    ['parenthesis', 'digit', 'operator', 'other']

    """
    if not isinstance(vocab, tuple) or not all(isinstance(token, str) for token in vocab):
        raise TypeError(f"vocab must be a tuple of str (TaskData.vocab), got {vocab!r}")
    return np.array([_character_type(token) for token in vocab], dtype=np.int64)


def _character_type(token: str) -> int:
    if token in ("(", ")"):
        return 0
    if token.isdigit():
        return 1
    return 2 if token in _OPERATORS else 3


def next_token_log_probabilities(
    outputs_per_sequence: Sequence[np.ndarray], targets: Sequence[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Log-probabilities and true next ids of every predicted step, sequences end to end.

    Parameters
    ----------
    outputs_per_sequence : sequence of ndarray, shape (steps, vocab)
        A language model's logits, one array per sequence.
    targets : sequence of ndarray of int, shape (steps,)
        The next token's id per step; negative where there is none (a sequence's end).

    Returns
    -------
    log_probabilities : ndarray of float64, shape (n_predicted, vocab)
        The log-softmax of the logits at the steps with a next token.
    next_token_ids : ndarray of int64, shape (n_predicted,)

    """
    log_probabilities, next_token_ids = [], []
    for outputs, target in zip(outputs_per_sequence, targets, strict=True):
        keep = np.asarray(target) >= 0
        logits = np.asarray(outputs)[keep].astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        log_probabilities.append(logits - np.log(np.exp(logits).sum(axis=1, keepdims=True)))
        next_token_ids.append(np.asarray(target, dtype=np.int64)[keep])
    return np.concatenate(log_probabilities), np.concatenate(next_token_ids)


def within_type_accuracy(
    log_probabilities: np.ndarray, next_token_ids: np.ndarray, members: np.ndarray
) -> float:
    """Where the next id is among ``members``: how often the likeliest member is it.

    Parameters
    ----------
    log_probabilities : ndarray, shape (n, vocab)
        Log-probabilities of the next token (:func:`next_token_log_probabilities`).
    next_token_ids : ndarray of int, shape (n,)
        The true next token's id per row.
    members : ndarray of int
        The ids of one type (e.g. the digits).

    Returns
    -------
    float
        In [0, 1]; NaN when no next id is a member.

    """
    _check_log_probabilities(log_probabilities, next_token_ids)
    where = np.isin(next_token_ids, members)
    if not where.any():
        return float("nan")
    predicted = members[np.argmax(log_probabilities[where][:, members], axis=1)]
    return float((predicted == next_token_ids[where]).mean())


def character_type_accuracy(
    log_probabilities: np.ndarray, next_token_ids: np.ndarray, types: np.ndarray
) -> float:
    """How often the character type with the most probability is the next token's type.

    A type's probability is the **sum** over its tokens: four operators at 0.2 each (0.8)
    beat one parenthesis at 0.2, although the likeliest single token is the parenthesis.

    Parameters
    ----------
    log_probabilities : ndarray, shape (n, vocab)
        Log-probabilities of the next token (:func:`next_token_log_probabilities`).
    next_token_ids : ndarray of int, shape (n,)
        The true next token's id per row.
    types : ndarray of int, shape (vocab,)
        Each token's type (:func:`character_types`).

    Returns
    -------
    float
        In [0, 1], over the types the vocabulary has.

    """
    _check_log_probabilities(log_probabilities, next_token_ids)
    if np.shape(types) != log_probabilities.shape[1:]:
        raise ValueError(
            f"types must give one type per token ({log_probabilities.shape[1]}), got shape "
            f"{np.shape(types)}; use character_types(task.vocab)"
        )
    present = np.unique(types)
    members = (types[:, None] == present[None, :]).astype(np.float64)
    type_probabilities = np.exp(log_probabilities) @ members
    return float((present[type_probabilities.argmax(axis=1)] == types[next_token_ids]).mean())


def digit_accuracy(task: Any) -> Metric:
    """A metric for next-token models of nesting languages: the nesting-digit accuracy.

    Where the next token is a digit (whose value is the nesting level in the parentheses and
    DNI-grammar languages), how often the most likely digit (over the digits only) is it:
    the "accuracy for predicting the value of the nesting digit" of Deep Neural Inspection
    (Lin & Wu 2017 [1]_).

    Parameters
    ----------
    task : TaskData
        A ``next_token`` task whose vocabulary has digits; its sequences are the ones run,
        in order.

    Returns
    -------
    callable
        ``metric(run_result) -> float`` in [0, 1] (NaN when no next token is a digit), named
        ``digit_accuracy``.

    References
    ----------
    .. [1] Lin, K., & Wu, E. (2017). Searching for meaning in RNNs using Deep Neural Inspection.
       Columbia University Computer Science Technical Report 003-17.

    """
    vocab, targets = _next_token_task(task, "digit_accuracy")
    digits = np.flatnonzero(character_types(vocab) == CHARACTER_TYPES.index("digit"))
    if len(digits) == 0:
        raise ValueError(f"task {task.name!r} has no digit tokens; digit_accuracy needs some")

    def metric(result: Any) -> float:
        log_probabilities, next_token_ids = _run_log_probabilities(
            result, targets, len(vocab), "digit_accuracy"
        )
        return within_type_accuracy(log_probabilities, next_token_ids, digits)

    metric.__name__ = "digit_accuracy"
    return metric


def next_type_accuracy(task: Any) -> Metric:
    """A metric for next-token models: how often the likeliest type of next character is right.

    The types are :data:`CHARACTER_TYPES` (parenthesis, digit, operator ``+ - * /``, other);
    a type's probability is the sum of its tokens' probabilities
    (:func:`character_type_accuracy`), over every step that has a next token: the Figure 5
    measure of Deep Neural Inspection (Lin & Wu 2017 [1]_).

    Parameters
    ----------
    task : TaskData
        A ``next_token`` task; its sequences are the ones run, in order.

    Returns
    -------
    callable
        ``metric(run_result) -> float`` in [0, 1], named ``next_type_accuracy``.

    References
    ----------
    .. [1] Lin, K., & Wu, E. (2017). Searching for meaning in RNNs using Deep Neural Inspection.
       Columbia University Computer Science Technical Report 003-17.

    """
    vocab, targets = _next_token_task(task, "next_type_accuracy")
    types = character_types(vocab)

    def metric(result: Any) -> float:
        log_probabilities, next_token_ids = _run_log_probabilities(
            result, targets, len(vocab), "next_type_accuracy"
        )
        return character_type_accuracy(log_probabilities, next_token_ids, types)

    metric.__name__ = "next_type_accuracy"
    return metric


def classification_accuracy(task: Any) -> Metric:
    """A metric for classifiers: the accuracy of the most likely class.

    ``sequence_class`` tasks are read at each sequence's last step; ``step_class`` tasks at
    every step.

    Parameters
    ----------
    task : TaskData
        A ``sequence_class`` or ``step_class`` task; its sequences are the ones run, in order.

    Returns
    -------
    callable
        ``metric(run_result) -> float``, named ``accuracy``.

    """
    target_type = getattr(task, "target_type", None)
    if target_type not in ("sequence_class", "step_class"):
        raise ValueError(
            f"classification_accuracy needs a sequence_class or step_class task, got "
            f"target_type {target_type!r}"
        )
    lengths = np.asarray(task.lengths)
    targets = [np.asarray(t, dtype=np.int64) for t in task.targets]

    def metric(result: Any) -> float:
        outputs = _batched_outputs(result, lengths, "accuracy")
        if target_type == "sequence_class":
            last = outputs[np.arange(len(lengths)), lengths - 1]
            return float((last.argmax(axis=1) == np.array([int(t) for t in targets])).mean())
        logits = np.concatenate([outputs[b, :n] for b, n in enumerate(lengths.tolist())])
        return float((logits.argmax(axis=1) == np.concatenate(targets)).mean())

    metric.__name__ = "accuracy"
    return metric


# ---------------------------------------------------------------------- internals


def _next_token_task(task: Any, name: str) -> tuple[tuple[str, ...], list[np.ndarray]]:
    if getattr(task, "target_type", None) != "next_token" or not getattr(task, "vocab", None):
        raise ValueError(
            f"{name} needs a next-character task (target_type 'next_token') with a "
            f"vocabulary, e.g. tasks.parentheses, tasks.arithmetic or zoo.data(name); got "
            f"{getattr(task, 'name', type(task).__name__)!r} with target_type "
            f"{getattr(task, 'target_type', None)!r}"
        )
    return tuple(task.vocab), [np.asarray(t, dtype=np.int64) for t in task.targets]


def _run_log_probabilities(
    result: Any, targets: Sequence[np.ndarray], vocab_size: int, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`next_token_log_probabilities` of a run over the task's sequences, checked."""
    lengths = np.array([len(t) for t in targets], dtype=np.int64)
    outputs = _batched_outputs(result, lengths, name)
    if outputs.shape[-1] != vocab_size:
        raise ValueError(
            f"{name}: the run has {outputs.shape[-1]} outputs per step, the task's vocabulary "
            f"{vocab_size}; use a language model with a readout over task.vocab"
        )
    per_sequence = [outputs[b, :n] for b, n in enumerate(lengths.tolist())]
    return next_token_log_probabilities(per_sequence, targets)


def _check_log_probabilities(log_probabilities: np.ndarray, next_token_ids: np.ndarray) -> None:
    if (
        np.ndim(log_probabilities) != 2
        or np.shape(next_token_ids) != np.shape(log_probabilities)[:1]
    ):
        raise ValueError(
            f"log_probabilities must be (n, vocab) and next_token_ids (n,), got "
            f"{np.shape(log_probabilities)} and {np.shape(next_token_ids)}; use "
            "next_token_log_probabilities(outputs, targets)"
        )


def _batched_outputs(result: Any, lengths: np.ndarray, name: str) -> np.ndarray:
    if not (hasattr(result, "outputs") and hasattr(result, "lengths")):
        raise TypeError(
            f"{name} reads the RunResult of model.run(task.sequences), got {type(result).__name__}"
        )
    outputs = to_numpy(result.outputs)
    if outputs.ndim == 2:
        outputs = outputs[None]
    if not np.array_equal(np.asarray(result.lengths), lengths):
        raise ValueError(
            f"{name}: the run's sequences ({len(result.lengths)}, lengths "
            f"{np.asarray(result.lengths)[:5].tolist()}...) are not the task's "
            f"({len(lengths)}, lengths {lengths[:5].tolist()}...); run task.sequences in order"
        )
    return outputs
