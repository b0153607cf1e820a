"""Jupyter views over traces and analysis results; thin wiring, no algorithms."""

from .ablation_plot import AblationPlot
from .decay_view import DecayView
from .explorer import Explorer
from .match_view import MatchView
from .relevance_bars import RelevanceBars
from .response_view import ResponseView
from .select_view import SelectView
from .selection import Selection
from .state_space_view import StateSpaceView

__all__ = [
    "AblationPlot",
    "DecayView",
    "Explorer",
    "MatchView",
    "RelevanceBars",
    "ResponseView",
    "SelectView",
    "Selection",
    "StateSpaceView",
]
