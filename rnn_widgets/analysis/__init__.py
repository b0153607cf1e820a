"""Analyses over traces and models: pure functions returning frozen dataclasses; no widgets.

* :func:`select_cells`, :func:`match` -- LSTMVis's select and match, exact over the corpus
* :func:`find_fixed_points` -- fixed and slow points (Sussillo & Barak) by Levenberg-Marquardt
* :func:`state_pca`, :func:`line_attractor`, :func:`linearisation_error`,
  :func:`average_input` -- line attractors
* :func:`phase_portrait`, :func:`find_limit_cycles` -- phase portraits, periodic orbits (003)
* :func:`score_cells`, :func:`probe` -- which cells predict a hypothesis (DNI), cross-validated
* :func:`ablate` -- the task metric with top-k cells clamped against random cells (DNI), with
  the task metrics it is measured by (:func:`digit_accuracy`, :func:`next_type_accuracy`,
  :func:`classification_accuracy`, from ``rnn_widgets.tasks``)
* :func:`characterize` -- step and sine responses of isolated cells, their metrics (paper 000)
"""

from ..tasks import classification_accuracy, digit_accuracy, next_type_accuracy
from ._ablate import Ablation, ablate
from ._cycles import LimitCycles, Orbit, PhasePortrait, find_limit_cycles, phase_portrait
from ._dynamics import (
    LinearisationError,
    LineAttractor,
    StatePCA,
    average_input,
    line_attractor,
    linearisation_error,
    state_pca,
    untrained_copy,
)
from ._fixed_points import Eigenmodes, FixedPoints, Linearisation, find_fixed_points
from ._relevance import CellScores, ProbeResult, probe, score_cells
from ._response import (
    CapacitySweep,
    RankingValidation,
    Response,
    ResponseSummary,
    Stimulus,
    StimulusDesign,
    capacity_sweep,
    characterize,
    design_stimuli,
    validate_ranking,
)
from ._selection import Match, MatchResult, match, select_cells

__all__ = [
    "Ablation",
    "CapacitySweep",
    "CellScores",
    "Eigenmodes",
    "FixedPoints",
    "LimitCycles",
    "LineAttractor",
    "Linearisation",
    "LinearisationError",
    "Match",
    "MatchResult",
    "Orbit",
    "PhasePortrait",
    "ProbeResult",
    "RankingValidation",
    "Response",
    "ResponseSummary",
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
    "line_attractor",
    "linearisation_error",
    "match",
    "next_type_accuracy",
    "phase_portrait",
    "probe",
    "score_cells",
    "select_cells",
    "state_pca",
    "untrained_copy",
    "validate_ranking",
]
