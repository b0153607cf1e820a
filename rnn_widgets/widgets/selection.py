"""The shared `Selection`: one synced model that every view holds by reference.

The Selection is an ``ipywidgets.Widget`` with no view of its own. Each view's front end
resolves the same browser-side model, so a hover or a drag preview set by one view is seen
by all the others at once, without a round trip through the kernel; a gesture reaches the
kernel when the view calls ``save_changes`` (on release). Python can read and set every
field; setting one from Python redraws every view.

Only the fields below are synced. ``to_dict`` / ``from_dict`` is the one shareable state of
a finding (the transient ``hovered_step`` is not part of it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import ipywidgets
import numpy as np
import traitlets

from .._validation import as_float, as_int, as_kind

__all__ = ["Selection"]

_FORMAT_VERSION = 1


def _cells_to_json(cells: tuple[int, ...], widget: Any) -> memoryview:
    return memoryview(np.asarray(cells, dtype="<u4").tobytes())


def _cells_from_json(data: Any, widget: Any) -> tuple[int, ...]:
    if data is None:
        return ()
    if isinstance(data, list):  # tolerate a JSON list from an older front end
        return tuple(int(c) for c in data)
    return tuple(np.frombuffer(bytes(data), dtype="<u4").tolist())


class CellSet(traitlets.TraitType):  # type: ignore[type-arg]
    """A set of cell indices, held as a sorted tuple of unique non-negative ints.

    Accepts any iterable of ints (a list, a numpy array, a set); crosses to the front end
    as a little-endian uint32 buffer.
    """

    default_value: ClassVar[tuple[int, ...]] = ()
    info_text = "an iterable of non-negative cell indices"

    def validate(self, obj: Any, value: Any) -> tuple[int, ...]:
        if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
            raise TypeError(f"cells must be an iterable of ints, got {type(value).__name__}")
        array = np.asarray(list(value))
        if array.size == 0:
            return ()
        if not np.issubdtype(array.dtype, np.integer):
            raise TypeError(f"cells must be ints, got dtype {array.dtype}")
        if array.min() < 0 or array.max() >= 2**32:
            raise ValueError("cells must be non-negative cell indices below 2**32")
        return tuple(np.unique(array).tolist())


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
    def from_dict(cls, state: Mapping[str, Any]) -> Selection:
        """A new Selection from :meth:`to_dict` output; missing fields take their defaults."""
        return cls(**cls._fields_from(state))

    def update(self, state: Mapping[str, Any]) -> None:
        """Set several fields at once from a (partial) :meth:`to_dict` state, in one message."""
        fields = self._fields_from(state)
        with self.hold_sync(), self.hold_trait_notifications():
            for name, value in fields.items():
                setattr(self, name, value)

    @classmethod
    def _fields_from(cls, state: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(state, Mapping):
            raise TypeError(f"state must be a dict from Selection.to_dict(), got {type(state)}")
        version = state.get("version", _FORMAT_VERSION)
        if version != _FORMAT_VERSION:
            raise ValueError(f"state has version {version!r}; this release reads version 1")
        unknown = set(state) - set(cls.FIELDS) - {"version"}
        if unknown:
            raise ValueError(
                f"state has unknown fields {sorted(unknown)}; expected some of {list(cls.FIELDS)}"
            )
        return {name: state[name] for name in cls.FIELDS if name in state}

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.FIELDS)
        return f"Selection({fields}, hovered_step={self.hovered_step!r})"


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
