"""Analyses over traces and models: pure functions returning frozen dataclasses; no widgets.

* :func:`select_cells`, :func:`match` -- LSTMVis's select and match, exact over the corpus
"""

from ._selection import Match, MatchResult, match, select_cells

__all__ = ["Match", "MatchResult", "match", "select_cells"]
