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
* :class:`DecayView` -- each cell's memory time constant by token, and what resets or holds it
* :class:`Explorer` -- every view of a trace in one widget, linked; :func:`demo` opens it on a
  shipped model in one line
* :class:`RecurrentModel`, :func:`wrap`, :func:`capture` -- the model adapter and exact
  capture of states from torch RNNs, and from Hugging Face's Mamba (Gu & Dao 2023 [8]_; the
  ``hf`` extra) (``rnn_widgets.models``)
* :class:`MinGRU`, :class:`MinLSTM` -- minGRU and minLSTM (Feng et al. 2024 [7]_), parallel
  recurrent modules the model adapter recognises
* ``rnn_widgets.analysis`` -- pure analyses over traces: ``select_cells``, ``match`` (LSTMVis)
* ``rnn_widgets.hypotheses`` -- labelling functions over tokens, for neuron relevance (Deep
  Neural Inspection)
* ``rnn_widgets.tasks`` -- embedded tasks with per-step ground truth (generated languages,
  flip-flops, automata, Python source, sentiment, digits, CO2)
* ``rnn_widgets.zoo`` -- small pretrained models shipped in the package (``zoo.load(name)``)

The views and analyses follow their sources: LSTMVis (Strobelt et al. 2018 [1]_), Deep Neural
Inspection (Lin & Wu 2017 [2]_), response characterization (Hasani et al. 2019 [3]_), line
attractors (Maheswaranathan et al. 2019 [4]_), fixed points (Sussillo & Barak 2013 [5]_) and
phase portraits and limit cycles (*Explaining RNN computations through hidden state
dynamics* [6]_).

References
----------
.. [1] Strobelt, H., Gehrmann, S., Pfister, H., & Rush, A. M. (2018). LSTMVis: A tool for visual
   analysis of hidden state dynamics in recurrent neural networks. IEEE Transactions on
   Visualization and Computer Graphics, 24(1), 667-676. arXiv:1606.07461.
.. [2] Lin, K., & Wu, E. (2017). Searching for meaning in RNNs using Deep Neural Inspection.
   Columbia University Computer Science Technical Report 003-17.
.. [3] Hasani, R., Amini, A., Lechner, M., Naser, F., Grosu, R., & Rus, D. (2019). Response
   characterization for auditing cell dynamics in long short-term memory networks. International
   Joint Conference on Neural Networks (IJCNN 2019). doi:10.1109/IJCNN.2019.8851954.
   arXiv:1809.03864.
.. [4] Maheswaranathan, N., Williams, A. H., Golub, M. D., Ganguli, S., & Sussillo, D. (2019).
   Reverse engineering recurrent networks for sentiment classification reveals line attractor
   dynamics. Advances in Neural Information Processing Systems 32 (NeurIPS 2019), 15696-15705.
.. [5] Sussillo, D., & Barak, O. (2013). Opening the black box: low-dimensional dynamics in
   high-dimensional recurrent neural networks. Neural Computation, 25(3), 626-649.
.. [6] Explaining RNN computations through hidden state dynamics. (The copy this project follows
   names no authors or venue.)
.. [7] Feng, L., Tung, F., Ahmed, M. O., Bengio, Y., & Hajimirsadeghi, H. (2024). Were RNNs all
   we needed? arXiv:2410.01201.
.. [8] Gu, A., & Dao, T. (2023). Mamba: Linear-time sequence modeling with selective state
   spaces. arXiv:2312.00752.
"""

from importlib.metadata import PackageNotFoundError, version

from . import analysis, hypotheses, tasks, zoo
from ._demo import demo
from .models import MinGRU, MinLSTM, RecurrentModel, capture, wrap
from .trace import KNOWN_KINDS, Predictions, Tokens, Trace, Track
from .widgets import (
    AblationPlot,
    DecayView,
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
    "DecayView",
    "Explorer",
    "MatchView",
    "MinGRU",
    "MinLSTM",
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
