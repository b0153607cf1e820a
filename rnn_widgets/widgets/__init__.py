"""Jupyter views over traces and analysis results; thin wiring, no algorithms."""

from .match_view import MatchView
from .select_view import SelectView
from .selection import Selection

__all__ = ["MatchView", "SelectView", "Selection"]
