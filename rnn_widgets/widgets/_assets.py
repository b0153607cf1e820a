"""The built front-end bundles every view loads, and what a view says when one is missing."""

from __future__ import annotations

from pathlib import Path

__all__ = ["STATIC", "asset", "require_bundle"]

STATIC = Path(__file__).resolve().parent.parent / "static"


def asset(name: str) -> Path | str:
    """The built front-end file, or an empty stand-in when the bundle was never built.

    anywidget reads the file when the class is created; the stand-in keeps
    ``import rnn_widgets`` working in an unbuilt source checkout (the analysis API needs no
    front end), and the view's constructor then says how to build it.
    """
    path = STATIC / name
    return path if path.is_file() else ""


def require_bundle(loaded: object, name: str) -> None:
    """Raise a RuntimeError that says how to build ``name`` when it was not found."""
    if isinstance(loaded, str) and not loaded:
        raise RuntimeError(
            f"the front-end bundle {name} is missing from {STATIC}. In a source checkout, "
            "build it with `npm --prefix js ci && npm --prefix js run build` (or `./run build`) "
            "and restart the kernel; installed wheels always include it"
        )
