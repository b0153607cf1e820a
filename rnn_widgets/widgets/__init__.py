"""Jupyter views over traces and analysis results; thin wiring, no algorithms."""

from .select_view import SelectView
from .selection import Selection

__all__ = ["SelectView", "Selection"]
