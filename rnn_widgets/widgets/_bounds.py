"""Bounds on the sizes a view sends: one policy for Python and for the browser.

A size a front end can request (how many steps a SelectView sends at once) has an upper
bound. The same value is treated by where it comes from:

* from Python (a constructor argument, or the trait set in Python) a value over the bound
  raises :class:`BoundError`, a ``ValueError`` naming the bound;
* from a front-end gesture (ipywidgets' ``set_state``, which holds the incoming keys in
  ``_property_lock`` while it sets them) the kernel clamps it to the bound and says so in
  place, in the view's notice trait.
"""

from __future__ import annotations

from typing import Any

import traitlets

from .._validation import as_int, clamp_int

__all__ = [
    "HEIGHT_WHY",
    "MAX_HEIGHT",
    "BoundError",
    "bounded_height",
    "bounded_length",
    "bounded_trait",
    "check_height",
]

#: The tallest plot a view draws, in pixels: 4000 px is two 4K screens stacked, taller than
#: any plot one looks at; beyond it a canvas only costs the browser memory (a 10**9 px
#: canvas fails to allocate and leaves the view blank). Every view's ``height`` has it.
MAX_HEIGHT = 4000
HEIGHT_WHY = "the tallest plot a view draws, in pixels"


class BoundError(traitlets.TraitError, ValueError):
    """A size over its bound, set from Python: a ``ValueError`` that traitlets rolls back."""


def from_front_end(widget: Any, name: str) -> bool:
    """Whether ``widget.name`` is being set by a message from the browser."""
    return name in getattr(widget, "_property_lock", {})


def bounded_trait(
    widget: Any, proposal: Any, *, maximum: int, why: str, notice: str, minimum: int = 1
) -> int:
    """A traitlets validator's answer for a bounded size (see the module docstring).

    ``notice`` names the trait that shows a clamp in place (e.g. ``"message"``).
    """
    name = proposal["trait"].name
    value = proposal["value"]
    if from_front_end(widget, name):
        value, text = clamp_int(max(int(value), minimum), name, maximum=maximum, why=why)
        if text:
            setattr(widget, notice, text)
        return value
    try:
        return as_int(value, name, minimum=minimum, maximum=maximum, why=why)
    except ValueError as error:
        raise BoundError(str(error)) from None


def bounded_height(widget: Any, proposal: Any, *, minimum: int, notice: str = "message") -> int:
    """The validator's answer for a view's ``height``: ``minimum`` .. :data:`MAX_HEIGHT`."""
    return bounded_trait(
        widget, proposal, maximum=MAX_HEIGHT, why=HEIGHT_WHY, notice=notice, minimum=minimum
    )


def check_height(value: Any, *, minimum: int) -> int:
    """A ``height`` argument from Python: an int in ``minimum`` .. :data:`MAX_HEIGHT`, or raise."""
    return as_int(value, "height", minimum=minimum, maximum=MAX_HEIGHT, why=HEIGHT_WHY)


def bounded_length(widget: Any, proposal: Any, *, maximum: int, why: str, notice: str) -> list[Any]:
    """A traitlets validator's answer for a list trait of at most ``maximum`` items.

    From the browser the list is cut to its first ``maximum`` items and ``notice`` says so;
    from Python a longer list raises :class:`BoundError`, naming the bound.
    """
    name = proposal["trait"].name
    value = list(proposal["value"])
    if len(value) <= maximum:
        return value
    if from_front_end(widget, name):
        setattr(
            widget,
            notice,
            f"{name} has {len(value)} items, more than {maximum} ({why}); "
            f"showing the first {maximum}",
        )
        return value[:maximum]
    raise BoundError(f"{name} must have at most {maximum} items ({why}), got {len(value)}")
