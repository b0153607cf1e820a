"""`StateSpaceView`: the PCA projection of visited states, with fixed points and trajectories.

The kernel projects everything drawn onto the top principal components of the visited states
(:func:`~rnn_widgets.analysis.state_pca`) and sends only those coordinates, as float32 buffers:
the point cloud of visited states (subsampled beyond ``max_points``), the trajectories of
chosen sequences, the fixed points of the chosen input condition with their class, log10 q,
attractor id and top right eigenvector, the readout direction and the faint grid trajectories
of a phase portrait. Clicking a fixed point sets ``spectrum_point``; the kernel answers with
that one point's eigenvalues and time constants. Hovering a point sets the shared
``selection.hovered_step``; a step hovered in another view is marked here. The wire format is
``docs/state_space_view_contract.md``.

The widget holds no algorithm beyond projecting given vectors onto the PCA basis: the PCA,
fixed points, eigenvalues and portraits come from ``rnn_widgets.analysis``; the top
eigenvector of each point is asked for in one place, ``StateSpaceView._top_right_eigenvectors``
(``FixedPoints.top_eigenvectors``), for the points of a condition when it is first shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import anywidget
import numpy as np
import traitlets
from ipywidgets import widget_serialization

from .._validation import as_int, as_kind, as_layer, to_numpy
from ..analysis import FixedPoints, Linearization, StatePCA, phase_portrait, state_pca
from ..models import as_model
from ..trace import Trace, as_trace
from ._assets import asset, require_bundle
from ._bounds import bounded_height, bounded_length, check_height
from ._buffers import packed
from ._export import ImageExport
from .selection import Selection, Subscriptions, unsubscribe

__all__ = ["MAX_POINTS", "MAX_TRAJECTORIES", "StateSpaceView"]

#: Fixed-point classes in the order of their uint8 codes on the wire.
STABILITY_CLASSES = ("stable", "marginal", "saddle", "unstable")
#: Categorical labels beyond this many are refused (uint8 codes, one colour each).
MAX_CATEGORIES = 255
#: The eigenvector segments' half-length as a fraction of the cloud's largest extent.
SEGMENT_FRACTION = 0.06
#: The readout arrow's length as a fraction of the cloud's largest extent.
READOUT_FRACTION = 0.35


_PCA_STATES = 20_000  # states the default basis is fitted on
#: The most visited states drawn as the cloud. Each costs 12-16 bytes on the wire (two or
#: three float32 coordinates, its uint32 step, its label) and one splat per frame: a million
#: is 16 MB and already a solid blob on any screen; max_points=10**9 would send the trace.
MAX_POINTS = 1_000_000
_POINTS_WHY = "the most visited states a view sends"
#: The most sequences drawn as trajectories: each is drawn whole, and past a hundred lines
#: the plot is a tangle; a list of every sequence of a corpus would send the whole trace.
MAX_TRAJECTORIES = 100
_TRAJECTORIES_WHY = "the most trajectories a view draws, each a whole sequence"


class StateSpaceView(ImageExport, anywidget.AnyWidget):
    """Visited states in PCA coordinates, with trajectories, fixed points and their spectra.

    Parameters
    ----------
    trace : Trace
        The captured states.
    fixed_points : FixedPoints, optional
        From :func:`~rnn_widgets.analysis.find_fixed_points` on the same layer; drawn
        coloured by class (stable, marginal, saddle, unstable) and sized by q. Their states
        are the layer's flat state; where ``kinds`` shows only some of its parts (a Mamba's
        ``h`` of its ``(h, conv, ssm)``), each point, and its eigenvector segment, is placed
        by those parts, read from ``model``'s ``state_layout``.
    model : RecurrentModel, optional
        The network, needed only for ``portrait=True``, for fixed points shown by some parts
        of their state, and for the eigenvector segments of fixed points built by hand
        (those of ``find_fixed_points`` carry their own linearization).
    selection : Selection, optional
        The selection shared with other views; a new one is made when omitted.
    layer : int
        The trace's layer (default 0).
    kinds : str or tuple of str
        The kinds concatenated into each state (default ``"h"``); ``("h", "c")`` for an
        LSTM's full flat state, which is what its fixed points live in.
    labels : str or array-like of shape (n_steps,), optional
        Colours the visited states: a track name of the trace, or one value per step
        (strings or ints are categories, floats are a numeric scale).
    sequences : sequence of int, optional
        The sequences drawn as trajectories (default: the first four), at most
        :data:`MAX_TRAJECTORIES` (100); a longer list from the browser is cut to its first
        100 and ``message`` says so.
    dims : {2, 3}
        2-D, or 3-D projected to the screen (drag to rotate).
    readout : array-like of shape (width,) or (n_outputs, width), optional
        Readout weights over the state (or over its h part); one row is drawn as an arrow
        from the mean; with two rows, their difference (row 1 - row 0).
    portrait : PhasePortrait or True, optional
        Grid trajectories drawn as faint lines (re-projected on this view's PCA); True
        computes one with :func:`~rnn_widgets.analysis.phase_portrait` from ``model``.
    condition_names : sequence of str, optional
        Names for the input conditions of ``fixed_points`` in the picker.
    pca : StatePCA, optional
        The basis to project on (default: ``state_pca`` of the trace's layer and kinds,
        fitted on at most 20,000 of its states: a seeded uniform sample beyond that, whose
        axes differ from the full fit's by about 1 / sqrt(20,000), under 1 %, in a fraction of
        the time).
    max_points : int
        Visited states drawn at most (default 100,000), 1 .. :data:`MAX_POINTS` (1,000,000).
        Beyond it, a uniform sample without replacement of ``max_points`` steps
        (``numpy.random.default_rng(0)``), kept in step order; trajectories are always drawn
        whole.
    height : int
        The plot's height in pixels (default 420), 120 .. ``MAX_HEIGHT`` (4000): past it, set
        from Python it raises; set by the browser it is clamped and ``message`` says so.

    Examples
    --------
    >>> fp = find_fixed_points(model, trace)                  # doctest: +SKIP
    >>> view = StateSpaceView(trace, fixed_points=fp, model=model, labels="sentiment")
    ... # doctest: +SKIP
    >>> view.spectrum_point = 0      # opens the spectrum of fixed point 0   # doctest: +SKIP

    """

    _esm = asset("state_space_view.js")
    _css = asset("state_space_view.css")

    selection = traitlets.Instance(Selection).tag(sync=True, **widget_serialization)
    #: The input condition whose fixed points and portrait are drawn (the picker sets it).
    condition = traitlets.Int(0).tag(sync=True)
    #: 2 or 3 PCA dimensions.
    dims = traitlets.Int(2).tag(sync=True)
    #: The sequences drawn as trajectories.
    sequences = traitlets.List(traitlets.Int()).tag(sync=True)
    #: The fixed point (index into ``fixed_points``) whose spectrum is shown; None: none.
    spectrum_point = traitlets.Int(None, allow_none=True).tag(sync=True)
    height = traitlets.Int(420).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    #: A notice that is not an error, shown in place (a size clamped to its bound).
    message = traitlets.Unicode("").tag(sync=True)
    _conditions = traitlets.List(traitlets.Unicode()).tag(sync=True)
    _axes = traitlets.List(traitlets.Unicode()).tag(sync=True)
    _cloud = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    _trajectories = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    _fixed = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    _readout = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    _portrait = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    _spectrum = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    _hovered = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)

    def __init__(
        self,
        trace: Trace,
        *,
        fixed_points: Any = None,
        model: Any = None,
        selection: Selection | None = None,
        layer: int = 0,
        kinds: str | Sequence[str] = "h",
        labels: str | Any = None,
        sequences: Sequence[int] | None = None,
        dims: int = 2,
        readout: Any = None,
        portrait: Any = None,
        condition_names: Sequence[str] | None = None,
        pca: StatePCA | None = None,
        max_points: int = 100_000,
        height: int = 420,
        **kwargs: Any,
    ) -> None:
        require_bundle(type(self)._esm, "state_space_view.js")
        self._trace = trace = as_trace(trace)
        self._lazy_cloud: dict[str, np.ndarray] = {}  # the cloud's rows of a lazy trace
        self._layer = as_layer(layer, trace.layers)
        self._kinds = _checked_kinds(trace, self._layer, kinds)
        self._width = sum(trace.n_cells(layer=self._layer, kind=kind) for kind in self._kinds)
        self._pca = _checked_pca(pca, trace, self._layer, self._kinds, self._width)
        self._max_points = as_int(
            max_points, "max_points", minimum=1, maximum=MAX_POINTS, why=_POINTS_WHY
        )
        self._labels = _labels(trace, labels)
        self._fixed_points = _checked_fixed_points(fixed_points, self._layer)
        self._columns = _shown_columns(self._fixed_points, model, self._layer, self._kinds)
        _check_fixed_width(self._fixed_points, self._columns, self._width, self._kinds)
        self._model = model
        self._conditions_in = _condition_inputs(self._fixed_points)
        self._portrait_in = _checked_portrait(
            portrait, model, self._pca, self._fixed_points, self._conditions_in, self._layer
        )
        if self._conditions_in is None and self._portrait_in is not None:
            self._conditions_in = self._portrait_in.inputs
        self._readout_direction = _readout_vector(
            readout, trace.n_cells(layer=self._layer, kind=self._kinds[0]), self._width
        )
        self._linearized = _linearized(self._fixed_points, model, self._layer)
        # Each condition's top eigenvectors, computed when it is first shown: a Jacobian per
        # point (a Mamba layer's is 736 x 736 in the zoo), so not for every condition at once.
        self._eigenvectors: dict[int, np.ndarray] = {}
        names = _condition_labels(condition_names, self._conditions_in)
        if selection is None:
            selection = Selection(layer=self._layer, kind=self._kinds[0])
        elif not isinstance(selection, Selection):
            raise TypeError(
                f"selection must be an rnn_widgets.Selection, got {type(selection).__name__}"
            )
        n_sequences = trace.n_sequences
        chosen = list(range(min(4, n_sequences))) if sequences is None else sequences
        super().__init__(
            selection=selection,
            dims=_checked_dims(dims, len(self._pca.components)),
            sequences=_checked_sequences(chosen, n_sequences),
            height=check_height(height, minimum=120),
            _conditions=names,
            **kwargs,
        )
        self.observe(self._on_geometry, names=["dims"])
        self.observe(self._on_condition, names=["condition"])
        self.observe(self._on_sequences, names=["sequences"])
        self.observe(self._on_spectrum_point, names=["spectrum_point"])
        self._subscriptions = Subscriptions()
        self._subscriptions.observe(self.selection, self._on_hovered, ["hovered_step"])
        self._refresh()

    # ------------------------------------------------------------------ validation

    @traitlets.validate("dims")
    def _valid_dims(self, proposal: dict[str, Any]) -> int:
        return _checked_dims(proposal["value"], len(self._pca.components))

    @traitlets.validate("condition")
    def _valid_condition(self, proposal: dict[str, Any]) -> int:
        value = as_int(proposal["value"], "condition", minimum=0)
        count = 1 if self._conditions_in is None else len(self._conditions_in)
        if value >= count:
            raise ValueError(f"condition must be in 0 .. {count - 1}, got {value}")
        return value

    @traitlets.validate("sequences")
    def _valid_sequences(self, proposal: dict[str, Any]) -> list[int]:
        chosen = _checked_sequences(proposal["value"], self._trace.n_sequences)
        proposal = {**proposal, "value": chosen}
        return bounded_length(
            self, proposal, maximum=MAX_TRAJECTORIES, why=_TRAJECTORIES_WHY, notice="message"
        )

    @traitlets.validate("spectrum_point")
    def _valid_spectrum_point(self, proposal: dict[str, Any]) -> int | None:
        value = proposal["value"]
        if value is None:
            return None
        value = as_int(value, "spectrum_point", minimum=0)
        count = 0 if self._fixed_points is None else len(self._fixed_points.q)
        if value >= count:
            raise ValueError(
                f"spectrum_point must index the {count} fixed points (0 .. {count - 1}), "
                f"got {value}"
            )
        return value

    @traitlets.validate("height")
    def _valid_height(self, proposal: dict[str, Any]) -> int:
        return bounded_height(self, proposal, minimum=120)

    # ------------------------------------------------------------------ public API

    @property
    def pca(self) -> StatePCA:
        """The PCA basis every drawn vector is projected on."""
        return self._pca

    @property
    def cloud_steps(self) -> np.ndarray:
        """The steps drawn as the point cloud (all, or the ``max_points`` sample), sorted."""
        return _cloud_steps(self._trace.n_steps, self._max_points)

    def close(self) -> None:
        """Close the view and stop listening to the shared selection."""
        unsubscribe(self)
        super().close()

    def project(self, states: Any) -> np.ndarray:
        """PCA coordinates of states, shape (n, dims): what the view draws for them."""
        return self._pca.transform(states)[:, : self.dims]

    # ------------------------------------------------------------------ what the browser draws

    def _on_geometry(self, change: dict[str, Any]) -> None:
        self._refresh()

    def _on_condition(self, change: dict[str, Any]) -> None:
        self._refresh(("_fixed", "_portrait"))

    def _on_sequences(self, change: dict[str, Any]) -> None:
        self._refresh(("_trajectories",))

    def _on_spectrum_point(self, change: dict[str, Any]) -> None:
        self._refresh(("_spectrum",))

    def _on_hovered(self, change: dict[str, Any]) -> None:
        self._refresh(("_hovered",))

    def _refresh(self, names: Sequence[str] | None = None) -> None:
        """Send the payloads named (default: all); a bad state shows in place, never raised."""
        builders = {
            "_axes": self._axes_payload,
            "_cloud": self._cloud_payload,
            "_trajectories": self._trajectories_payload,
            "_fixed": self._fixed_payload,
            "_readout": self._readout_payload,
            "_portrait": self._portrait_payload,
            "_spectrum": self._spectrum_payload,
            "_hovered": self._hovered_payload,
        }
        try:
            payloads = {name: builders[name]() for name in names or builders}
        except (ValueError, TypeError, IndexError) as exc:
            with self.hold_sync():
                self.error = str(exc)
            return
        with self.hold_sync():
            self.error = ""
            for name, payload in payloads.items():
                setattr(self, name, payload)

    def _coordinates(self, states: np.ndarray) -> np.ndarray:
        return self._pca.transform(states)[:, : self.dims]

    def _visited(self, steps: np.ndarray) -> np.ndarray:
        parts = [self._trace.states_at(steps, layer=self._layer, kind=k) for k in self._kinds]
        return np.concatenate(parts, axis=1).astype(np.float64)

    def _visited_coordinates(self, steps: np.ndarray) -> np.ndarray:
        """The shown coordinates of visited steps, kind by kind in float32.

        Equal to ``_coordinates(_visited(steps))`` to float32 rounding, without building the
        concatenated float64 copy of every state (400 MB for 100,000 LSTM steps of 256
        cells), which took most of the view's start-up time.
        """
        components = self._pca.components[: self.dims]
        offset = components @ self._pca.mean
        coordinates = np.zeros((len(steps), self.dims), dtype=np.float64)
        start = 0
        for kind in self._kinds:
            rows = self._rows(steps, kind)
            stop = start + rows.shape[1]
            part = components[:, start:stop].T.astype(np.float32)
            coordinates += rows @ part
            start = stop
        return coordinates - offset

    def _rows(self, steps: np.ndarray, kind: str) -> np.ndarray:
        """The states of ``steps`` (sorted); the cloud's are read once from a lazy trace."""
        if not self._trace.is_lazy(layer=self._layer, kind=kind):
            return self._trace.states_at(steps, layer=self._layer, kind=kind)
        cloud = self.cloud_steps
        if len(steps) == len(cloud) and np.array_equal(steps, cloud):
            # A pass over the store (dask): kept, since every redraw of the cloud needs it.
            if kind not in self._lazy_cloud:
                self._lazy_cloud[kind] = self._trace.states_at(cloud, layer=self._layer, kind=kind)
            return self._lazy_cloud[kind]
        return self._trace.states_at(steps, layer=self._layer, kind=kind)

    def _extent(self) -> float:
        projected = self._pca.projected[:, : self.dims]
        return float(np.max(projected.max(axis=0) - projected.min(axis=0))) or 1.0

    def _axes_payload(self) -> list[str]:
        ratio = self._pca.explained_variance_ratio
        return [f"PC{i + 1} ({100 * ratio[i]:.1f} %)" for i in range(self.dims)]

    def _cloud_payload(self) -> dict[str, Any]:
        steps = self.cloud_steps
        return {
            "xy": packed(self._visited_coordinates(steps), "float32"),
            "steps": packed(steps, "uint32"),
            **_label_payload(self._labels, steps),
        }

    def _trajectories_payload(self) -> dict[str, Any]:
        ranges = [self._trace.sequence_range(s) for s in self.sequences]
        steps = np.concatenate([np.arange(a, b) for a, b in ranges] or [np.zeros(0, int)])
        offsets = np.cumsum([0, *(b - a for a, b in ranges)])
        xy = self._visited_coordinates(steps) if len(steps) else np.zeros((0, self.dims))
        return {
            "xy": packed(xy, "float32"),
            "steps": packed(steps, "uint32"),
            "offsets": packed(offsets, "uint32"),
            "sequences": list(self.sequences),
            **_label_payload(self._labels, steps),
        }

    def _fixed_payload(self) -> dict[str, Any] | None:
        fp = self._fixed_points
        if fp is None:
            return None
        index = np.flatnonzero(np.asarray(fp.condition) == self.condition)
        states = np.asarray(fp.states, dtype=np.float64)[index]
        if self._columns is not None:
            states = states[:, self._columns]
        xy = self._coordinates(states) if len(index) else np.zeros((0, self.dims))
        payload: dict[str, Any] = {
            "xy": packed(xy, "float32"),
            "index": packed(index, "uint32"),
            "stability": packed(_stability_codes(np.asarray(fp.stability)[index]), "uint8"),
            "log_q": packed(np.log10(np.maximum(np.asarray(fp.q)[index], 1e-300)), "float32"),
            "attractor": packed(np.asarray(fp.attractor)[index], "int32"),
            "modes": None,
        }
        vectors = self._top_right_eigenvectors(index)
        if vectors is not None:
            direction = vectors @ self._pca.components[: self.dims].T
            payload["modes"] = packed(direction * SEGMENT_FRACTION * self._extent(), "float32")
        return payload

    def _top_right_eigenvectors(self, index: np.ndarray) -> np.ndarray | None:
        """The shown condition's points' top right eigenvectors in the shown state, or None.

        The one place the view asks for eigenvectors (``FixedPoints.top_eigenvectors``),
        once per condition; each is the real part at unit norm, restricted to the columns
        shown and scaled to unit norm again.
        """
        if self._linearized is None:
            return None
        if self.condition not in self._eigenvectors:
            vectors = self._linearized.top_eigenvectors(index)
            self._eigenvectors[self.condition] = _shown_directions(vectors, self._columns)
        return self._eigenvectors[self.condition]

    def _readout_payload(self) -> dict[str, Any] | None:
        if self._readout_direction is None:
            return None
        direction = self._pca.components[: self.dims] @ self._readout_direction
        norm = float(np.linalg.norm(self._readout_direction))
        return {
            "origin": packed(np.zeros(self.dims), "float32"),  # the mean state
            "direction": packed(direction / norm * READOUT_FRACTION * self._extent(), "float32"),
        }

    def _portrait_payload(self) -> dict[str, Any] | None:
        portrait = self._portrait_in
        if portrait is None or self._conditions_in is None:
            return None
        target = self._conditions_in[self.condition]
        distance = np.abs(portrait.inputs - target[None]).max(axis=1)
        if distance.min() > 1e-9:
            return None  # the portrait was not run under this condition's input
        lines = np.asarray(portrait.trajectories[int(np.argmin(distance))], dtype=np.float64)
        n_starts, length, size = lines.shape
        xy = self._coordinates(lines.reshape(-1, size)).reshape(n_starts, length, self.dims)
        return {"lines": packed(xy, "float32")}

    def _spectrum_payload(self) -> dict[str, Any] | None:
        point, fp = self.spectrum_point, self._fixed_points
        if point is None or fp is None:
            return None
        values = np.asarray(fp.eigenvalues)[point]
        return {
            "index": point,
            "real": packed(values.real, "float32"),
            "imag": packed(values.imag, "float32"),
            "time_constants": packed(np.asarray(fp.time_constants)[point], "float32"),
            "stability": str(np.asarray(fp.stability)[point]),
            "q": float(np.asarray(fp.q)[point]),
            "attractor": int(np.asarray(fp.attractor)[point]),
            "condition": int(np.asarray(fp.condition)[point]),
        }

    def _hovered_payload(self) -> dict[str, Any] | None:
        step = self.selection.hovered_step
        if step is None or step >= self._trace.n_steps:
            return None
        xy = self._coordinates(self._visited(np.array([step])))[0]
        return {"step": int(step), "xy": packed(xy, "float32")}


# ---------------------------------------------------------------------------------- checks


def _checked_kinds(trace: Trace, layer: int, kinds: Any) -> tuple[str, ...]:
    given = kinds
    kinds = (given,) if isinstance(given, str) else tuple(given)
    if not kinds or not all(isinstance(k, str) for k in kinds):
        raise TypeError(f"kinds must be a str or a tuple of str such as ('h', 'c'), got {given!r}")
    for one in kinds:
        as_kind(one, kinds=trace.kinds(layer=layer), of=f"layer {layer} of the trace")
    return kinds


def _checked_pca(pca: Any, trace: Trace, layer: int, kinds: tuple[str, ...], width: int) -> Any:
    if pca is None:
        n_components = min(3, width, trace.n_steps)
        return state_pca(
            trace, layer=layer, kinds=kinds, n_components=n_components, max_states=_PCA_STATES
        )
    if not isinstance(pca, StatePCA):
        raise TypeError(f"pca must be a StatePCA from state_pca, got {type(pca).__name__}")
    if pca.mean.shape != (width,):
        raise ValueError(
            f"pca was fitted on {pca.mean.shape[0]} features but layer {layer} {kinds} has "
            f"{width}; fit it with state_pca(trace, layer={layer}, kinds={kinds})"
        )
    return pca


def _checked_dims(dims: Any, n_components: int) -> int:
    dims = as_int(dims, "dims")
    if dims not in (2, 3):
        raise ValueError(f"dims must be 2 or 3, got {dims}")
    if dims > n_components:
        raise ValueError(
            f"dims={dims} needs {dims} principal components; the PCA has {n_components}"
        )
    return dims


def _checked_sequences(sequences: Any, n_sequences: int) -> list[int]:
    if isinstance(sequences, (str, bytes)) or not isinstance(sequences, Sequence | np.ndarray):
        raise TypeError(f"sequences must be a list of sequence indices, got {sequences!r}")
    chosen = [as_int(s, "sequences[i]", minimum=0) for s in sequences]
    bad = [s for s in chosen if s >= n_sequences]
    if bad:
        raise ValueError(
            f"sequences {bad} are not in the trace; it has sequences 0 .. {n_sequences - 1}"
        )
    return chosen


def _checked_fixed_points(fixed_points: Any, layer: int) -> Any:
    if fixed_points is None:
        return None
    needed = ("states", "stability", "q", "eigenvalues", "condition", "attractor", "layer")
    missing = [name for name in needed if not hasattr(fixed_points, name)]
    if missing:
        raise TypeError(
            "fixed_points must be a FixedPoints from find_fixed_points; "
            f"{type(fixed_points).__name__} has no {missing}"
        )
    if np.ndim(fixed_points.states) != 2:
        raise ValueError(
            "fixed_points.states must have shape (n_points, state_size), got shape "
            f"{np.shape(fixed_points.states)}"
        )
    if int(fixed_points.layer) != layer:
        raise ValueError(f"fixed_points are of layer {fixed_points.layer}, the view shows {layer}")
    return fixed_points


def _shown_columns(
    fixed_points: Any, model: Any, layer: int, kinds: tuple[str, ...]
) -> np.ndarray | None:
    """The columns of the points' flat state that the view's kinds are; None: all, in order.

    A layer's fixed points live in its whole flat state (``model.state_layout``); a view of
    some of its parts (a Mamba's ``h``, which the trace holds, of ``(h, conv, ssm)``, which
    it need not) places each point by those parts. Without a model, or where the layout does
    not name every kind, None: the states must then be as wide as the view's.
    """
    if fixed_points is None or model is None:
        return None
    layout = as_model(model).state_layout(layer=layer)
    width = np.shape(fixed_points.states)[1]
    if layout.size != width or not all(kind in layout for kind in kinds):
        return None
    columns = np.concatenate([np.arange(layout[k].start, layout[k].stop) for k in kinds])
    return None if np.array_equal(columns, np.arange(width)) else columns


def _check_fixed_width(
    fixed_points: Any, columns: np.ndarray | None, width: int, kinds: tuple[str, ...]
) -> None:
    """The points must be placeable: as wide as the view's state, or shown by some parts."""
    if fixed_points is None or columns is not None:
        return
    size = np.shape(fixed_points.states)[1]
    if size != width:
        raise ValueError(
            f"fixed_points.states has width {size} but the view's state {kinds} has {width}; "
            "for an LSTM pass kinds=('h', 'c') (its fixed points live in the flat (h, c) "
            "state), or pass model= so that each point is shown by the parts of its state "
            f"that are {kinds} (model.state_layout)"
        )


def _condition_inputs(fixed_points: Any) -> np.ndarray | None:
    """The input of each condition index of the fixed points, shape (n_conditions, input_size)."""
    if fixed_points is None:
        return None
    searched = getattr(fixed_points, "conditions", None)
    if searched is not None:  # every input searched, also those that kept no point
        return np.asarray(searched, dtype=np.float64)
    if len(fixed_points.q) == 0:
        return None
    condition = np.asarray(fixed_points.condition)
    inputs = np.asarray(fixed_points.inputs, dtype=np.float64)
    table = np.full((int(condition.max()) + 1, inputs.shape[1]), np.nan)
    table[condition] = inputs
    return table


def _condition_labels(names: Any, conditions: np.ndarray | None) -> list[str]:
    count = 0 if conditions is None else len(conditions)
    if names is None:
        return [f"input {i}" for i in range(count)]
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise TypeError("condition_names must be a list of str, one per input condition")
    if len(names) != count:
        raise ValueError(f"condition_names has {len(names)} names for {count} input conditions")
    return list(names)


def _checked_portrait(
    portrait: Any,
    model: Any,
    pca: StatePCA,
    fixed_points: Any,
    conditions: np.ndarray | None,
    layer: int,
) -> Any:
    if portrait is None or portrait is False:
        return None
    if portrait is True:
        if model is None:
            raise ValueError("portrait=True needs model=; or pass a PhasePortrait")
        inputs = None if conditions is None else np.nan_to_num(conditions)
        return phase_portrait(model, pca, inputs=inputs, layer=layer)
    if not hasattr(portrait, "trajectories") or not hasattr(portrait, "inputs"):
        raise TypeError(
            f"portrait must be a PhasePortrait from phase_portrait (or True), got "
            f"{type(portrait).__name__}"
        )
    if np.shape(portrait.trajectories)[-1] != pca.mean.shape[0]:
        raise ValueError(
            f"portrait states have width {np.shape(portrait.trajectories)[-1]}, the view's "
            f"{pca.mean.shape[0]}; run phase_portrait on this layer's full state"
        )
    return portrait


def _readout_vector(readout: Any, n_cells: int, width: int) -> np.ndarray | None:
    """One readout direction over the full state (zero over the non-h part), or None."""
    if readout is None:
        return None
    weights = np.asarray(to_numpy(readout), dtype=np.float64)
    weights = weights[None] if weights.ndim == 1 else weights
    if weights.ndim != 2 or weights.shape[1] not in (n_cells, width) or len(weights) > 2:
        raise ValueError(
            f"readout must have shape ({n_cells},) or (n_outputs <= 2, {n_cells} or {width}), "
            f"got {np.shape(readout)}; pass the row you want drawn"
        )
    direction = weights[0] if len(weights) == 1 else weights[1] - weights[0]
    if not np.isfinite(direction).all() or not np.any(direction):
        raise ValueError("readout must be finite and not all zero")
    full = np.zeros(width)
    full[: len(direction)] = direction
    return full


def _shown_directions(vectors: np.ndarray, columns: np.ndarray | None) -> np.ndarray:
    """Each direction's part in the shown columns, at unit norm (zero where it has none there)."""
    if columns is None:
        return vectors
    part = vectors[:, columns]
    norm = np.linalg.norm(part, axis=1, keepdims=True)
    return part / np.where(norm > 0, norm, 1.0)


def _linearized(fixed_points: Any, model: Any, layer: int) -> FixedPoints | None:
    """The points with a linearization to ask their top eigenvectors of, or None.

    Their own, which ``find_fixed_points`` sets, or, for points built by hand, one made from
    ``model``; None when there is neither (no segments are drawn).
    """
    if not isinstance(fixed_points, FixedPoints) or len(fixed_points) == 0:
        return None
    if fixed_points.linearization is None:
        if model is None:
            return None
        fixed_points = replace(fixed_points, linearization=Linearization.of(model, layer=layer))
    return fixed_points


# ---------------------------------------------------------------------------------- labels


def _labels(trace: Trace, labels: Any) -> tuple[str, np.ndarray, tuple[str, ...]] | None:
    """(label_type, values, categories): codes for categorical labels, floats for numeric ones."""
    if labels is None:
        return None
    if isinstance(labels, str):
        if labels not in trace.tracks:
            raise ValueError(
                f"labels {labels!r} is not a track of the trace; it has {sorted(trace.tracks)}"
            )
        track = trace.tracks[labels]
        if track.label_type == "categorical":
            return _categorical(np.asarray(track.values), track.categories)
        return ("numeric", np.asarray(track.values, dtype=np.float64), ())
    values = np.asarray(to_numpy(labels))
    if values.shape != (trace.n_steps,):
        raise ValueError(
            f"labels must be a track name or one value per step, shape ({trace.n_steps},), "
            f"got shape {values.shape}"
        )
    if np.issubdtype(values.dtype, np.floating):
        if not np.isfinite(values).all():
            raise ValueError("labels holds NaN or infinite values; give every step a value")
        return ("numeric", values.astype(np.float64), ())
    categories, codes = np.unique(values.astype(str), return_inverse=True)
    return _categorical(codes, tuple(str(c) for c in categories))


def _categorical(
    codes: np.ndarray, categories: tuple[str, ...]
) -> tuple[str, np.ndarray, tuple[str, ...]]:
    if len(categories) > MAX_CATEGORIES:
        raise ValueError(
            f"labels has {len(categories)} categories; at most {MAX_CATEGORIES} can be coloured"
        )
    return ("categorical", codes.astype(np.int64), categories)


def _label_payload(labels: Any, steps: np.ndarray) -> dict[str, Any]:
    if labels is None:
        return {"labels": None, "values": None, "categories": [], "range": None}
    label_type, values, categories = labels
    if label_type == "categorical":
        return {
            "labels": packed(values[steps], "uint8"),
            "values": None,
            "categories": list(categories),
            "range": None,
        }
    return {
        "labels": None,
        "values": packed(values[steps], "float32"),
        "categories": [],
        "range": [float(values.min()), float(values.max())],
    }


def _stability_codes(stability: np.ndarray) -> np.ndarray:
    codes = np.array([STABILITY_CLASSES.index(str(s)) for s in stability], dtype=np.uint8)
    return codes.reshape(len(stability))


def _cloud_steps(n_steps: int, max_points: int) -> np.ndarray:
    if n_steps <= max_points:
        return np.arange(n_steps)
    return np.sort(np.random.default_rng(0).choice(n_steps, max_points, replace=False))
