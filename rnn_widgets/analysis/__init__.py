"""Analyses over traces and models: pure functions returning frozen dataclasses; no widgets.

* :func:`select_cells`, :func:`match` -- LSTMVis's select and match (Strobelt et al. 2018 [1]_),
  exact over the corpus
* :func:`find_fixed_points` -- fixed and slow points (Sussillo & Barak 2013 [2]_) by
  Levenberg-Marquardt; in closed form for layers linear in their state (minGRU and minLSTM,
  Feng et al. 2024 [7]_), whose stacks :func:`stack_fixed_points` solves layer by layer
* :func:`linear_recurrence` -- the decay ``a(x)`` and drive ``b(x)`` of such a layer,
  ``h' = a * h + b``
* :func:`memory_timescales` -- per step and cell the time constant ``-1 / log|a(x_t)|``, and
  which tokens reset or hold each cell
* :func:`state_pca`, :func:`line_attractor`, :func:`linearization_error`,
  :func:`average_input` -- line attractors (Maheswaranathan et al. 2019 [3]_)
* :func:`phase_portrait`, :func:`find_limit_cycles` -- phase portraits, periodic orbits
  (*Explaining RNN computations through hidden state dynamics* [4]_)
* :func:`score_cells`, :func:`probe` -- which cells predict a hypothesis (Deep Neural
  Inspection, Lin & Wu 2017 [5]_), cross-validated
* :func:`ablate` -- the task metric with top-k cells clamped against random cells (Lin & Wu
  2017 [5]_), with the task metrics it is measured by (:func:`digit_accuracy`,
  :func:`next_type_accuracy`, :func:`classification_accuracy`, from ``rnn_widgets.tasks``)
* :func:`characterize` -- step and sine responses of isolated cells, their metrics (Hasani et
  al. 2019 [6]_)

References
----------
.. [1] Strobelt, H., Gehrmann, S., Pfister, H., & Rush, A. M. (2018). LSTMVis: A tool for
   visual analysis of hidden state dynamics in recurrent neural networks. IEEE Transactions on
   Visualization and Computer Graphics, 24(1), 667-676. arXiv:1606.07461.
.. [2] Sussillo, D., & Barak, O. (2013). Opening the black box: low-dimensional dynamics in
   high-dimensional recurrent neural networks. Neural Computation, 25(3), 626-649.
.. [3] Maheswaranathan, N., Williams, A. H., Golub, M. D., Ganguli, S., & Sussillo, D. (2019).
   Reverse engineering recurrent networks for sentiment classification reveals line attractor
   dynamics. Advances in Neural Information Processing Systems 32 (NeurIPS 2019),
   15696-15705.
.. [4] Explaining RNN computations through hidden state dynamics. (The copy this project
   follows names no authors or venue.)
.. [5] Lin, K., & Wu, E. (2017). Searching for meaning in RNNs using Deep Neural Inspection.
   Columbia University Computer Science Technical Report 003-17.
.. [6] Hasani, R., Amini, A., Lechner, M., Naser, F., Grosu, R., & Rus, D. (2019). Response
   characterization for auditing cell dynamics in long short-term memory networks.
   International Joint Conference on Neural Networks (IJCNN 2019).
   doi:10.1109/IJCNN.2019.8851954. arXiv:1809.03864.
.. [7] Feng, L., Tung, F., Ahmed, M. O., Bengio, Y., & Hajimirsadeghi, H. (2024). Were RNNs
   all we needed? arXiv:2410.01201.
"""

from ..tasks import classification_accuracy, digit_accuracy, next_type_accuracy
from ._ablate import Ablation, ablate
from ._cycles import LimitCycles, Orbit, PhasePortrait, find_limit_cycles, phase_portrait
from ._dynamics import (
    LinearizationError,
    LineAttractor,
    StatePCA,
    average_input,
    line_attractor,
    linearization_error,
    state_pca,
    untrained_copy,
)
from ._fixed_points import Eigenmodes, FixedPoints, Linearization, find_fixed_points
from ._linear_recurrence import LINEAR_FAMILIES, LinearFamily, LinearRecurrence, linear_recurrence
from ._relevance import CellScorer, CellScores, ProbeResult, probe, score_cells
from ._response import (
    CapacitySweep,
    DrivenLayer,
    IsolatedCells,
    RankingValidation,
    Response,
    ResponseSummary,
    Stimulus,
    StimulusDesign,
    capacity_sweep,
    characterize,
    design_stimuli,
    isolate,
    validate_ranking,
)
from ._selection import Match, MatchResult, match, select_cells
from ._stack_fixed_points import StackFixedPoints, stack_fixed_points
from ._timescales import MemoryTimescales, memory_timescales

__all__ = [
    "LINEAR_FAMILIES",
    "Ablation",
    "CapacitySweep",
    "CellScorer",
    "CellScores",
    "DrivenLayer",
    "Eigenmodes",
    "FixedPoints",
    "IsolatedCells",
    "LimitCycles",
    "LineAttractor",
    "LinearFamily",
    "LinearRecurrence",
    "Linearization",
    "LinearizationError",
    "Match",
    "MatchResult",
    "MemoryTimescales",
    "Orbit",
    "PhasePortrait",
    "ProbeResult",
    "RankingValidation",
    "Response",
    "ResponseSummary",
    "StackFixedPoints",
    "StatePCA",
    "Stimulus",
    "StimulusDesign",
    "ablate",
    "average_input",
    "capacity_sweep",
    "characterize",
    "classification_accuracy",
    "design_stimuli",
    "digit_accuracy",
    "find_fixed_points",
    "find_limit_cycles",
    "isolate",
    "line_attractor",
    "linear_recurrence",
    "linearization_error",
    "match",
    "memory_timescales",
    "next_type_accuracy",
    "phase_portrait",
    "probe",
    "score_cells",
    "select_cells",
    "stack_fixed_points",
    "state_pca",
    "untrained_copy",
    "validate_ranking",
]
