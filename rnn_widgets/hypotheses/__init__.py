"""Hypotheses: labelling functions over the tokens of a trace (Deep Neural Inspection).

Hypotheses as labelling functions, and the range and impulse features of spans, come from
Deep Neural Inspection (Lin & Wu 2017 [1]_).
A hypothesis maps the tokens of each sequence to one label per step, binary (is this
character inside a string?) or continuous (nesting depth, scaled to [0, 1]). Write your own
as a plain function with the :func:`hypothesis` decorator, or use the built-ins:

* text: :func:`token_in`, :func:`regex`, :func:`nesting_depth`, :func:`inside_quotes`;
  spans to DNI's **range** and **impulse** features: :func:`spans`,
  :func:`range_and_impulse`, :func:`bracket_spans`
* Python source (``tokenize`` and ``ast``): :func:`python_features` and its parts
* a task's ground truth and a grammar's parse: :func:`from_task`, :func:`productions`
* what a user typed in a hypothesis box (a regular expression, a set of tokens, a Python
  expression over ``tokens`` and ``i``): :func:`from_text`

:func:`evaluate` runs hypotheses over a trace (labels aligned with its global steps);
:func:`annotate` returns a new trace with them as annotation tracks for the SelectView.
``rnn_widgets.analysis.score_cells`` ranks the cells that predict them.

References
----------
.. [1] Lin, K., & Wu, E. (2017). Searching for meaning in RNNs using Deep Neural Inspection.
   Columbia University Computer Science Technical Report 003-17.
"""

from ._core import (
    LABEL_TYPES,
    Hypothesis,
    LabelSet,
    annotate,
    as_hypotheses,
    evaluate,
    from_labels,
    hypothesis,
)
from ._python import (
    python_bracket_depth,
    python_call_arguments,
    python_features,
    python_function_definition,
    python_in_comment,
    python_in_string,
    python_indentation,
)
from ._tasks import from_task, productions
from ._text import (
    FEATURES,
    bracket_spans,
    inside_quotes,
    nesting_depth,
    range_and_impulse,
    regex,
    spans,
    token_in,
)
from ._typed import from_text

__all__ = [
    "FEATURES",
    "LABEL_TYPES",
    "Hypothesis",
    "LabelSet",
    "annotate",
    "as_hypotheses",
    "bracket_spans",
    "evaluate",
    "from_labels",
    "from_task",
    "from_text",
    "hypothesis",
    "inside_quotes",
    "nesting_depth",
    "productions",
    "python_bracket_depth",
    "python_call_arguments",
    "python_features",
    "python_function_definition",
    "python_in_comment",
    "python_in_string",
    "python_indentation",
    "range_and_impulse",
    "regex",
    "spans",
    "token_in",
]
