"""Embedded tasks with ground truth; nothing is ever downloaded.

Generated languages and signals, and data that ships with Python and with PyPI packages.
Every generator returns a :class:`TaskData`: the sequences (ready for ``capture``), the
targets a model is trained on, per-step ground-truth labels and, for grammars, the parse.
The sentiment and CO2 tasks need the optional packages of ``pip install 'rnn_widgets[data]'``.
"""

from ._automata import AUTOMATA, Automaton, automaton, run_automaton
from ._base import Span, TaskData
from ._flip_flop import flip_flop
from ._grammars import arithmetic, nesting_grammar
from ._parentheses import parentheses
from ._python_source import (
    PYTHON_HELDOUT_FILES,
    PYTHON_TRAIN_FILES,
    PYTHON_VOCAB,
    python_source,
    python_token_types,
)
from ._sentiment import SENTIMENT_FILLERS, sentiment, sentiment_words, vader_lexicon
from ._signals import CO2_MEAN, CO2_STD, co2, co2_to_ppm, digits

__all__ = [
    "AUTOMATA",
    "CO2_MEAN",
    "CO2_STD",
    "PYTHON_HELDOUT_FILES",
    "PYTHON_TRAIN_FILES",
    "PYTHON_VOCAB",
    "SENTIMENT_FILLERS",
    "Automaton",
    "Span",
    "TaskData",
    "arithmetic",
    "automaton",
    "co2",
    "co2_to_ppm",
    "digits",
    "flip_flop",
    "nesting_grammar",
    "parentheses",
    "python_source",
    "python_token_types",
    "run_automaton",
    "sentiment",
    "sentiment_words",
    "vader_lexicon",
]
