"""rnn_widgets: linked Jupyter widgets for reverse-engineering trained recurrent networks.

The public API, re-exported from the subpackages:

* :class:`Trace` -- recorded states over token sequences (``rnn_widgets.trace``)
* :class:`Selection` -- the selection every view shares (``rnn_widgets.widgets``)
* :class:`SelectView` -- hidden-state parallel coordinates (``rnn_widgets.widgets``)
* :class:`MatchView` -- the ranked matches of the selection over the corpus (LSTMVis)
* :class:`RelevanceBars` -- cells sorted by any per-cell score; clicks select cells
* :class:`AblationPlot` -- a task metric against k for top-k cells against random cells
* :class:`ResponseView` -- a cell's step and sine responses, a metric's distribution, the ranking
* :class:`StateSpaceView` -- visited states in PCA coordinates, trajectories, fixed points, spectra
* :class:`Explorer` -- every view of a trace in one widget, linked; :func:`demo` opens it on a
  shipped model in one line
* :class:`RecurrentModel`, :func:`wrap`, :func:`capture` -- the model adapter and exact
  capture of states from torch RNNs (``rnn_widgets.models``)
* ``rnn_widgets.analysis`` -- pure analyses over traces: ``select_cells``, ``match`` (LSTMVis)
* ``rnn_widgets.hypotheses`` -- labelling functions over tokens, for neuron relevance (DNI)
* ``rnn_widgets.tasks`` -- embedded tasks with per-step ground truth (generated languages,
  flip-flops, automata, Python source, sentiment, digits, CO2)
* ``rnn_widgets.zoo`` -- small pretrained models shipped in the package (``zoo.load(name)``)
"""

from importlib.metadata import PackageNotFoundError, version

from . import analysis, hypotheses, tasks, zoo
from ._demo import demo
from .models import RecurrentModel, capture, wrap
from .trace import KNOWN_KINDS, Predictions, Tokens, Trace, Track
from .widgets import (
    AblationPlot,
    Explorer,
    MatchView,
    RelevanceBars,
    ResponseView,
    Selection,
    SelectView,
    StateSpaceView,
)

try:
    __version__ = version("rnn_widgets")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "KNOWN_KINDS",
    "AblationPlot",
    "Explorer",
    "MatchView",
    "Predictions",
    "RecurrentModel",
    "RelevanceBars",
    "ResponseView",
    "SelectView",
    "Selection",
    "StateSpaceView",
    "Tokens",
    "Trace",
    "Track",
    "__version__",
    "analysis",
    "capture",
    "demo",
    "hypotheses",
    "tasks",
    "wrap",
    "zoo",
]
