"""Jupyter views over traces and analysis results; thin wiring, no algorithms."""

from .ablation_plot import AblationPlot
from .match_view import MatchView
from .relevance_bars import RelevanceBars
from .select_view import SelectView
from .selection import Selection

__all__ = ["AblationPlot", "MatchView", "RelevanceBars", "SelectView", "Selection"]
