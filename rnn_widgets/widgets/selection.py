"""The shared `Selection`: one synced model that every view holds by reference.

The Selection is an ``ipywidgets.Widget`` with no view of its own. Each view's front end
resolves the same browser-side model, so a hover or a drag preview set by one view is seen
by all the others at once, without a round trip through the kernel; a gesture reaches the
kernel when the view calls ``save_changes`` (on release). Python can read and set every
field; setting one from Python redraws every view.

Only the fields below are synced. ``to_dict`` / ``from_dict`` is the one shareable state of
a finding (the transient ``hovered_step`` is not part of it).

A saved state is data that may come from someone else, so ``from_dict``, ``update`` and
``check_state`` validate every field before changing anything (all or nothing): the version,
unknown fields, types (an int is an int: not a bool, a float or a string; cells a flat list
of unique ints; the threshold a finite number), ranges (indices ``0 .. 2**32 - 1``, the
uint32 the front end receives; ``stop >= start``) and, given the trace, the layer, kind,
cells, steps and sequence it has. Each message names the field's path, such as
``state['cells'][3]``. Nothing in a state is ever evaluated: strings stay strings.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import ipywidgets
import numpy as np
import traitlets

from .._validation import as_float, as_int, as_kind, as_layer

if TYPE_CHECKING:
    from ..trace import Trace

__all__ = ["Selection"]

_FORMAT_VERSION = 1
#: The largest index a state may hold (cells cross to the front end as uint32).
MAX_INDEX = 2**32 - 1
#: How many characters of a refused value a message quotes.
_QUOTE_CHARS = 60
#: A state kind is a short name; longer strings are refused before they are quoted.
_MAX_KIND_CHARS = 32
_INDEX_FIELDS = ("layer", "start", "stop", "pad_before", "pad_after", "sequence")


def _cells_to_json(cells: tuple[int, ...], widget: Any) -> memoryview:
    return memoryview(np.asarray(cells, dtype="<u4").tobytes())


def _cells_from_json(data: Any, widget: Any) -> Any:
    if data is None:
        return ()
    if isinstance(data, list):  # tolerate a JSON list from an older front end (validated)
        return data
    return tuple(np.frombuffer(bytes(data), dtype="<u4").tolist())


def _shown(value: Any) -> str:
    """``value``'s type and repr for a message, the repr shortened."""
    text = repr(value)
    if len(text) > _QUOTE_CHARS:
        text = text[:_QUOTE_CHARS] + "..."
    return f"{type(value).__name__} {text}"


def _index(value: Any, name: str) -> int:
    """``value`` as an index ``0 .. MAX_INDEX``: an int, not a bool, float or string."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {_shown(value)}")
    value = int(value)
    if not 0 <= value <= MAX_INDEX:
        raise ValueError(f"{name} must be an index from 0 to 2**32 - 1, got {value}")
    return value


def _cell_list(value: Any, name: str) -> list[int]:
    """``value`` as a list of cell indices: a flat iterable of ints ``0 .. MAX_INDEX``."""
    if isinstance(value, np.ndarray):
        if value.ndim != 1:
            raise ValueError(
                f"{name} must be a flat list of cell indices, got an array of shape {value.shape}"
            )
        if value.size == 0:
            return []
        if not np.issubdtype(value.dtype, np.integer):
            raise TypeError(f"{name} must be ints, got dtype {value.dtype}")
        if value.min() < 0 or value.max() > MAX_INDEX:
            raise ValueError(f"{name} must be non-negative cell indices below 2**32")
        return [int(c) for c in value.tolist()]
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be an iterable of ints (cell indices), got {_shown(value)}")
    cells = []
    for position, cell in enumerate(value):
        if isinstance(cell, bool) or not isinstance(cell, numbers.Integral):
            raise TypeError(f"{name} must be ints: {name}[{position}] is {_shown(cell)}")
        cell = int(cell)
        if not 0 <= cell <= MAX_INDEX:
            raise ValueError(
                f"{name} must be non-negative cell indices below 2**32: {name}[{position}] "
                f"is {cell}"
            )
        cells.append(cell)
    return cells


class CellSet(traitlets.TraitType):  # type: ignore[type-arg]
    """A set of cell indices, held as a sorted tuple of unique non-negative ints.

    Accepts any iterable of ints (a list, a numpy array, a set); crosses to the front end
    as a little-endian uint32 buffer.
    """

    default_value: ClassVar[tuple[int, ...]] = ()
    info_text = "an iterable of non-negative cell indices"

    def validate(self, obj: Any, value: Any) -> tuple[int, ...]:
        return tuple(sorted(set(_cell_list(value, "cells"))))


class Selection(ipywidgets.Widget):
    """What the user has chosen, shared by every linked view.

    Parameters
    ----------
    layer : int
        The layer shown (0-based).
    kind : str
        The state kind shown: ``"h"``, ``"c"``, a gate ``"i" "f" "g" "o"`` or ``"r" "z" "n"``.
    cells : iterable of int
        The selected cells (stored sorted and unique).
    start, stop : int
        The selected step range ``start:stop``; ``stop <= start`` means no range.
    pad_before, pad_after : int
        Steps before / after the range where selected cells must be off (LSTMVis pattern).
    threshold : float
        The on/off threshold: a cell is on at a step when its value is >= threshold.
    hovered_step : int or None
        The step under the pointer in any view (transient).
    sequence : int
        The sequence (document) in focus.

    """

    layer = traitlets.Int(0).tag(sync=True)
    kind = traitlets.Unicode("h").tag(sync=True)
    cells = CellSet().tag(sync=True, to_json=_cells_to_json, from_json=_cells_from_json)
    start = traitlets.Int(0).tag(sync=True)
    stop = traitlets.Int(0).tag(sync=True)
    pad_before = traitlets.Int(1).tag(sync=True)
    pad_after = traitlets.Int(0).tag(sync=True)
    threshold = traitlets.Float(0.3).tag(sync=True)
    hovered_step = traitlets.Int(None, allow_none=True).tag(sync=True)
    sequence = traitlets.Int(0).tag(sync=True)

    #: The fields of a finding, in the order of ``to_dict``.
    FIELDS: ClassVar[tuple[str, ...]] = (
        "layer",
        "kind",
        "cells",
        "start",
        "stop",
        "pad_before",
        "pad_after",
        "threshold",
        "sequence",
    )

    @traitlets.validate("layer", "start", "stop", "pad_before", "pad_after", "sequence")
    def _non_negative(self, proposal: dict[str, Any]) -> int:
        name = proposal["trait"].name
        return as_int(proposal["value"], name, minimum=0)

    @traitlets.validate("hovered_step")
    def _hovered(self, proposal: dict[str, Any]) -> int | None:
        value = proposal["value"]
        return None if value is None else as_int(value, "hovered_step", minimum=0)

    @traitlets.validate("threshold")
    def _finite_threshold(self, proposal: dict[str, Any]) -> float:
        return as_float(proposal["value"], "threshold")

    @traitlets.validate("kind")
    def _valid_kind(self, proposal: dict[str, Any]) -> str:
        return as_kind(proposal["value"])

    @property
    def range(self) -> tuple[int, int] | None:
        """The selected ``(start, stop)``, or None when no range is selected."""
        return (self.start, self.stop) if self.stop > self.start else None

    def set_range(self, start: int, stop: int) -> None:
        """Select steps ``start:stop`` in one update (``stop`` exclusive, ``stop > start``)."""
        start = as_int(start, "start", minimum=0)
        stop = as_int(stop, "stop", minimum=0)
        if stop <= start:
            raise ValueError(f"stop ({stop}) must be greater than start ({start})")
        with self.hold_sync():
            self.start, self.stop = start, stop

    def to_dict(self) -> dict[str, Any]:
        """The shareable state of a finding as plain JSON-ready values."""
        state: dict[str, Any] = {"version": _FORMAT_VERSION}
        for name in self.FIELDS:
            value = getattr(self, name)
            state[name] = list(value) if name == "cells" else value
        return state

    @classmethod
    def from_dict(cls, state: Mapping[str, Any], *, trace: Trace | None = None) -> Selection:
        """A new Selection from :meth:`to_dict` output; missing fields take their defaults.

        Every field is validated first (see :meth:`check_state`); with ``trace``, also against
        the layers, kinds, cells, steps and sequences it has.
        """
        defaults = {name: cls.class_traits()[name].default_value for name in cls.FIELDS}
        return cls(**cls._fields_from(state, defaults, trace, "state"))

    def update(self, state: Mapping[str, Any], *, trace: Trace | None = None) -> None:
        """Set several fields at once from a (partial) :meth:`to_dict` state, in one message.

        Every field is validated before any changes (see :meth:`check_state`): a state with
        one bad field changes nothing.
        """
        self.apply_fields(self.check_state(state, trace=trace))

    def check_state(
        self, state: Mapping[str, Any], *, trace: Trace | None = None, name: str = "state"
    ) -> dict[str, Any]:
        """Validate a (partial) :meth:`to_dict` state against this selection; change nothing.

        Parameters
        ----------
        state : mapping
            Some of :attr:`FIELDS` and optionally ``version`` (1), e.g. read from JSON.
        trace : Trace, optional
            When given, ``layer`` must be one of its layers, ``kind`` one of that layer's
            kinds, every cell below its cell count, ``start`` / ``stop`` / the pads at most
            its step count and ``sequence`` one of its sequences. Fields the state leaves out
            keep this selection's values, and are checked with those given.
        name : str
            How messages name the state, e.g. ``"state['selection']"``.

        Returns
        -------
        dict
            The fields given, as they will be set (cells sorted).

        Raises
        ------
        TypeError
            If a field has the wrong type: ``state['cells'] must be ints: state['cells'][3]
            is str '2'``.
        ValueError
            If the version or a field name is unknown, or a value is out of range.

        """
        current = {field: getattr(self, field) for field in self.FIELDS}
        return self._fields_from(state, current, trace, name)

    def apply_fields(self, fields: Mapping[str, Any]) -> None:
        """Set fields returned by :meth:`check_state`, in one message."""
        with self.hold_sync(), self.hold_trait_notifications():
            for field, value in fields.items():
                setattr(self, field, value)

    @classmethod
    def _fields_from(
        cls, state: Any, current: Mapping[str, Any], trace: Trace | None, name: str
    ) -> dict[str, Any]:
        if not isinstance(state, Mapping):
            raise TypeError(
                f"{name} must be a dict from Selection.to_dict(), got {type(state).__name__}"
            )
        unknown = [key for key in state if key not in cls.FIELDS and key != "version"]
        if unknown:
            raise ValueError(
                f"{name} has unknown fields [{', '.join(sorted(map(repr, unknown)))}]; expected "
                f"some of {list(cls.FIELDS)} and 'version'"
            )
        if "version" in state:
            version = state["version"]
            if type(version) is not int or version != _FORMAT_VERSION:
                raise ValueError(
                    f"{name} has version {version!r:.60} ({type(version).__name__}); this "
                    f"release reads version {_FORMAT_VERSION} (a dict from Selection.to_dict())"
                )
        fields: dict[str, Any] = {}
        for field in cls.FIELDS:
            if field not in state:
                continue
            value, path = state[field], f"{name}[{field!r}]"
            if field in _INDEX_FIELDS:
                fields[field] = _index(value, path)
            elif field == "kind":
                if isinstance(value, str) and len(value) > _MAX_KIND_CHARS:
                    raise ValueError(f"{path} must be a short state kind such as 'h' or 'c'")
                fields[field] = as_kind(value, path)
            elif field == "threshold":
                fields[field] = as_float(value, path)
            else:
                fields[field] = _unique_cells(value, path)
        merged = {**current, **fields}
        if trace is not None:
            _check_against_trace(fields, merged, trace, name)
        if ("start" in fields or "stop" in fields) and merged["stop"] < merged["start"]:
            raise ValueError(
                f"{name}['stop'] ({merged['stop']}) must be >= {name}['start'] "
                f"({merged['start']}): stop == start means no range, stop > start selects "
                "steps start:stop"
            )
        if "cells" in fields:
            fields["cells"] = tuple(sorted(fields["cells"]))
        return fields

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.FIELDS)
        return f"Selection({fields}, hovered_step={self.hovered_step!r})"


def _unique_cells(value: Any, path: str) -> list[int]:
    cells = _cell_list(value, path)
    seen: set[int] = set()
    for position, cell in enumerate(cells):
        if cell in seen:
            raise ValueError(f"{path}[{position}] repeats cell {cell}; list each cell once")
        seen.add(cell)
    return cells


def _check_against_trace(
    fields: Mapping[str, Any], merged: Mapping[str, Any], trace: Trace, name: str
) -> None:
    """Refuse fields (given, or kept but tied to one given) that ``trace`` does not have."""
    layer = merged["layer"]
    if fields.keys() & {"layer", "kind", "cells"}:
        as_layer(layer, trace.layers, f"{name}['layer']")
    if fields.keys() & {"layer", "kind"}:
        as_kind(
            merged["kind"],
            f"{name}['kind']",
            kinds=trace.kinds(layer=layer),
            of=f"layer {layer} of the trace",
        )
    if fields.keys() & {"layer", "kind", "cells"}:
        kind = merged["kind"] if merged["kind"] in trace.kinds(layer=layer) else None
        n_cells = trace.n_cells(layer=layer, kind=kind)
        shown = f"kind {kind!r} of layer {layer}" if kind else f"layer {layer}"
        for position, cell in enumerate(merged["cells"]):
            if cell < n_cells:
                continue
            if "cells" in fields:
                raise ValueError(
                    f"{name}['cells'][{position}] is {cell}, but {shown} of the trace "
                    f"has {n_cells} cells (0 .. {n_cells - 1}); choose cells of that kind"
                )
            given = "layer" if "layer" in fields else "kind"
            raise ValueError(
                f"{name}[{given!r}] gives {shown}, which has {n_cells} cells, but the "
                f"selection keeps cell {cell}; give {name}['cells'] too"
            )
    for field in ("start", "stop", "pad_before", "pad_after"):
        if field in fields and fields[field] > trace.n_steps:
            raise ValueError(
                f"{name}[{field!r}] is {fields[field]}, but the trace has {trace.n_steps} "
                f"steps; it must be at most {trace.n_steps}"
            )
    if "sequence" in fields and fields["sequence"] >= trace.n_sequences:
        raise ValueError(
            f"{name}['sequence'] is {fields['sequence']}, but the trace has sequences 0 .. "
            f"{trace.n_sequences - 1}"
        )


def clear_cells_of_another_group(selection: Selection, trace: Trace, previous_kind: str) -> str:
    """After ``selection.kind`` changed: clear cells that meant units of another cell group.

    Kinds of one cell group share cells (an LSTM's h, c and gates), so the cells carry over;
    a kind of another group (a Mamba layer's SSM state after its output) has other units, and
    cell 3 there is another unit. Cells defined by a brushed range are left to the views,
    which select them again on the new kind. Returns the notice to show ("" if nothing was
    cleared).
    """
    layer, kind = selection.layer, selection.kind
    kinds = trace.kinds(layer=layer) if layer in trace.layers else ()
    if not selection.cells or previous_kind not in kinds or kind not in kinds:
        return ""
    if selection.stop > selection.start:
        return ""
    before = trace.cell_group(layer=layer, kind=previous_kind)
    after = trace.cell_group(layer=layer, kind=kind)
    if before == after:
        return ""
    count = len(selection.cells)
    selection.cells = ()
    return (
        f"{count} selected cell{'s' if count != 1 else ''} of {previous_kind!r} cleared: "
        f"{kind!r} has other units ({trace.n_cells(layer=layer, kind=kind)} cells of group "
        f"{after!r}); select its cells"
    )


class Subscriptions:
    """The observers a widget holds on other objects (its selection), removed exactly once.

    A view's ``close`` may run twice (the Explorer closes its views, then the garbage
    collector's ``__del__`` closes them again), and traitlets refuses to remove an observer
    that is already gone; ``clear`` forgets what it removed, so a second call does nothing.
    """

    def __init__(self) -> None:
        self._held: list[tuple[traitlets.HasTraits, Any, tuple[str, ...]]] = []

    def observe(self, source: traitlets.HasTraits, handler: Any, names: Iterable[str]) -> None:
        """``source.observe(handler, names)``, remembered for ``clear``."""
        names = tuple(names)
        source.observe(handler, names=list(names))
        self._held.append((source, handler, names))

    def clear(self) -> None:
        """Remove every observer added through this object (once)."""
        held, self._held = self._held, []
        for source, handler, names in held:
            source.unobserve(handler, names=list(names))


def unsubscribe(widget: Any) -> None:
    """Clear ``widget._subscriptions`` if its constructor got as far as making it."""
    subscriptions = widget.__dict__.get("_subscriptions")
    if subscriptions is not None:
        subscriptions.clear()
