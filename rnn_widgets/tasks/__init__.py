"""Embedded tasks with ground truth; nothing is ever downloaded.

Generated languages and signals, and data that ships with Python and with PyPI packages.
Every generator returns a :class:`TaskData`: the sequences (ready for ``capture``), the
targets a model is trained on, per-step ground-truth labels and, for grammars, the parse.
The sentiment and CO2 tasks need the optional packages of ``pip install 'rnn_widgets[data]'``.

The task metrics live here too, beside the tasks they score: :func:`digit_accuracy`,
:func:`next_type_accuracy`, :func:`classification_accuracy` (each ``metric(run_result) ->
float``) and the next-token measures they are built from. The zoo's held-out figures and the
ablations of ``rnn_widgets.analysis`` are computed by them.
"""

from ._automata import AUTOMATA, Automaton, automaton, run_automaton
from ._base import Span, TaskData
from ._flip_flop import flip_flop
from ._grammars import arithmetic, nesting_grammar
from ._metrics import (
    CHARACTER_TYPES,
    character_type_accuracy,
    character_types,
    classification_accuracy,
    digit_accuracy,
    next_token_log_probabilities,
    next_type_accuracy,
    within_type_accuracy,
)
from ._parentheses import parentheses
from ._python_source import (
    PYTHON_HELDOUT_FILES,
    PYTHON_TRAIN_FILES,
    PYTHON_VOCAB,
    PythonSourceLabels,
    python_source,
    python_source_labels,
    python_token_types,
)
from ._sentiment import SENTIMENT_FILLERS, sentiment, sentiment_words, vader_lexicon
from ._signals import CO2_CHANGE_STD, CO2_MEAN, CO2_STD, co2, co2_to_ppm, digits

__all__ = [
    "AUTOMATA",
    "CHARACTER_TYPES",
    "CO2_CHANGE_STD",
    "CO2_MEAN",
    "CO2_STD",
    "PYTHON_HELDOUT_FILES",
    "PYTHON_TRAIN_FILES",
    "PYTHON_VOCAB",
    "SENTIMENT_FILLERS",
    "Automaton",
    "PythonSourceLabels",
    "Span",
    "TaskData",
    "arithmetic",
    "automaton",
    "character_type_accuracy",
    "character_types",
    "classification_accuracy",
    "co2",
    "co2_to_ppm",
    "digit_accuracy",
    "digits",
    "flip_flop",
    "nesting_grammar",
    "next_token_log_probabilities",
    "next_type_accuracy",
    "parentheses",
    "python_source",
    "python_source_labels",
    "python_token_types",
    "run_automaton",
    "sentiment",
    "sentiment_words",
    "vader_lexicon",
    "within_type_accuracy",
]
