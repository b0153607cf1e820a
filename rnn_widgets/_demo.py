"""`demo(name)`: the Explorer on a shipped model and its held-out data, in one line."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import hypotheses as hy
from . import zoo
from ._validation import as_int
from .analysis import LINEAR_FAMILIES, characterize, memory_timescales
from .models import capture
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
        Search the fixed points; by default only for the models whose story is their
        dynamics (flip-flop, automata, sentiment).
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
    search = name in _DYNAMICS_MODELS if fixed_points is None else bool(fixed_points)
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
        fixed_points=search,
        progress=progress,
        **kwargs,
    )
