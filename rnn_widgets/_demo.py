"""`demo(name)`: the Explorer on a shipped model and its held-out data, in one line.

Fixed points are drawn by default where they tell the model's story (the flip-flop's
memories, an automaton's states) and wherever they cost nothing: a model whose every layer
has one fixed point per constant input in closed form (minGRU, minLSTM, Mamba: see
:func:`~rnn_widgets.analysis.stack_fixed_points`) gets them under each input its task
reads (each token; each distinct input vector, the flip-flop's pulses and its hold), with
no search and no start states, layer by layer up the stack.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import hypotheses as hy
from . import zoo
from ._validation import as_int
from .analysis import (
    LINEAR_FAMILIES,
    FixedPoints,
    characterize,
    memory_timescales,
    stack_fixed_points,
)
from .models import RecurrentModel, capture
from .tasks import TaskData
from .widgets.explorer import Explorer

__all__ = ["demo"]

# Models whose story is their dynamics: fixed points are searched by default (seconds).
_DYNAMICS_MODELS = frozenset(
    {
        "flip_flop_gru",
        "flip_flop_min_gru",
        "mod3_gru",
        "substring_0101_gru",
        "sentiment_gru",
        "sentiment_lstm",
    }
)
#: A float task with more distinct input vectors than this (a continuous signal) is held under
#: zero input alone: a condition each would crowd the state space's picker.
_MAX_CONDITIONS = 32


def demo(
    name: str = "parentheses_lstm",
    *,
    max_steps: int = 40_000,
    fixed_points: bool | None = None,
    progress: bool = True,
    **kwargs: Any,
) -> Explorer:
    """The :class:`Explorer` on a shipped model (``rnn_widgets.zoo``), ready to explore.

    Captures the model's ``h`` (and an LSTM's ``c``) over the first sequences of its
    held-out data, with the task's ground truth as annotation tracks and as hypotheses for
    the relevance bars. For a layer linear in its state (minGRU), its gate too, and a track
    of the mean ``log10`` time constant of its cells at every step
    (:func:`~rnn_widgets.analysis.memory_timescales`), whose per-cell summary the Explorer's
    "Memory" tab shows (:class:`DecayView`). Works offline: the model and the data
    ship in the package.

    Parameters
    ----------
    name : str
        A model of ``rnn_widgets.zoo.names()`` (default ``"parentheses_lstm"``).
    max_steps : int
        At most this many steps are captured (whole sequences; at least one).
    fixed_points : bool, optional
        Draw the fixed points; by default for the models whose story is their dynamics
        (flip-flop, automata, sentiment), searched under one constant input, and for every
        model whose layers are linear in their state (minGRU, minLSTM, Mamba), in closed form
        under each constant input the task reads (each token, or each distinct input
        vector: the flip-flop's pulses and zero), named in the state space's picker.
    progress : bool
        Show progress bars.
    **kwargs
        Passed to :class:`Explorer` (``window_size``, ``top``, ``labels`` ...).

    Returns
    -------
    Explorer

    Examples
    --------
    >>> import rnn_widgets as rw
    >>> rw.demo("flip_flop_gru")  # doctest: +SKIP

    """
    if not isinstance(name, str) or name not in zoo.names():
        raise ValueError(f"name must be one of {list(zoo.names())}, got {name!r}")
    max_steps = as_int(max_steps, "max_steps", minimum=1)
    model = zoo.load(name)
    data = zoo.data(name)
    lengths = data.lengths
    fits = int(np.searchsorted(np.cumsum(lengths), max_steps, side="right"))
    data = data.subset(range(max(1, fits)))
    linear = LINEAR_FAMILIES.get(model.family)
    wanted = ("h", "c", *(linear.decay_kinds if linear else ()))
    kinds = [kind for kind in wanted if kind in model.kinds]
    trace = data.annotate(capture(model, data.sequences, kinds=kinds, progress=progress))
    if linear is not None:
        # How long each step lets memory last, under the tokens (Feng et al.'s a(x_t)).
        timescales = memory_timescales(trace, model, progress=progress)
        trace = trace.with_track(*timescales.to_track())
        if kwargs.get("layer", trace.layers[0]) == timescales.layer:
            kwargs.setdefault("timescales", timescales)  # the Explorer's "Memory" tab
    closed = _closed_form(model)
    drawn: Any = (name in _DYNAMICS_MODELS or closed) if fixed_points is None else fixed_points
    if drawn and closed:
        drawn, names = _fixed_points_per_input(model, data, kwargs.get("layer", trace.layers[0]))
        kwargs.setdefault("condition_names", names)
    # A float-input model's stimuli are designed from its inputs, which a trace does not hold.
    response: Any = True
    if model.vocab is None:
        try:
            response = characterize(model, sequences=data)
        except TypeError:  # cells that cannot be isolated (Mamba's): the Explorer says why
            response = True
    kwargs.setdefault("response", response)
    return Explorer(
        trace,
        model,
        hy.from_task(data),
        fixed_points=drawn if isinstance(drawn, FixedPoints) else bool(drawn),
        progress=progress,
        **kwargs,
    )


def _closed_form(model: RecurrentModel) -> bool:
    """Whether every layer's fixed point per constant input comes in closed form."""
    family = LINEAR_FAMILIES.get(model.family)
    return family is not None and (family.recurrence or family.fixed_point) is not None


def _fixed_points_per_input(
    model: RecurrentModel, data: TaskData, layer: int
) -> tuple[FixedPoints, list[str]]:
    """One layer's closed-form fixed point under each input the task reads, and their names.

    The conditions are the bottom inputs; a deeper layer's are what it reads under each (the
    ``h*`` of the layer below: :func:`stack_fixed_points`).
    """
    layer = model.check_layer(layer=layer)
    inputs, names = _task_inputs(model, data)
    return stack_fixed_points(model, inputs).layers[layer], names


def _task_inputs(model: RecurrentModel, data: TaskData) -> tuple[np.ndarray, list[str]]:
    """Each token's input vector, or each distinct input vector of a float task (zero first).

    A float task with more than ``_MAX_CONDITIONS`` distinct vectors gets zero alone.
    """
    if model.vocab is not None:
        tokens = list(model.vocab)
        vectors = np.stack([model.encode([token]).double().cpu().numpy()[0] for token in tokens])
        return vectors, [f"token {token}" for token in tokens]
    width = model.input_size(layer=0)
    rows = np.concatenate(
        [np.asarray(s, dtype=np.float64).reshape(-1, width) for s in data.sequences]
    )
    distinct = np.unique(rows, axis=0)
    if len(distinct) > _MAX_CONDITIONS:
        distinct = np.zeros((1, width))
    # Zero (the hold) first, then by how many channels pulse, channel by channel, positive
    # before negative: (+1, 0, 0), (-1, 0, 0), (0, +1, 0) ... (+1, +1, 0), (+1, -1, 0) ...
    distinct = np.array(sorted(distinct, key=_input_order))
    return distinct, [_input_name(vector) for vector in distinct]


def _input_order(vector: np.ndarray) -> tuple[float, tuple[tuple[bool, float], ...]]:
    return float(np.abs(vector).sum()), tuple((bool(v == 0), -float(v)) for v in vector)


def _input_name(vector: np.ndarray) -> str:
    """``"input (+1, 0, 0)"``; ``"zero input"``; a long vector by its norm."""
    if not np.any(vector):
        return "zero input"
    if len(vector) > 8:
        return f"input of norm {np.linalg.norm(vector):.3g}"
    return "input (" + ", ".join("0" if v == 0 else f"{v:+g}" for v in vector) + ")"
