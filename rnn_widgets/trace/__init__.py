"""Recorded states of recurrent networks: the `Trace` and its annotation tracks."""

from ._chunked import STATES_BUDGET, require_scale
from ._store_writer import StoreWriter
from ._tokens import Tokens, TokenSequence
from ._trace import KNOWN_KINDS, SEARCH_TIMEOUT, Predictions, Trace, Track, as_trace

__all__ = [
    "KNOWN_KINDS",
    "SEARCH_TIMEOUT",
    "STATES_BUDGET",
    "Predictions",
    "StoreWriter",
    "TokenSequence",
    "Tokens",
    "Trace",
    "Track",
    "as_trace",
    "require_scale",
]
