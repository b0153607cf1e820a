"""Analyses over traces and models: pure functions returning frozen dataclasses; no widgets.

* :func:`select_cells`, :func:`match` -- LSTMVis's select and match, exact over the corpus
* :func:`find_fixed_points` -- fixed and slow points (Sussillo & Barak) by Levenberg-Marquardt
"""

from ._fixed_points import FixedPoints, find_fixed_points
from ._selection import Match, MatchResult, match, select_cells

__all__ = ["FixedPoints", "Match", "MatchResult", "find_fixed_points", "match", "select_cells"]
