"""Neuron relevance (DNI): score_cells on 512 cells x 100,000 steps x 10 hypotheses, 20 folds.

Times, as medians of ``--repeats`` runs, ``score_cells`` on a trace of smoothed states (tanh of
an AR(1) process per cell, so cells hold their value for a few dozen steps like an LSTM's)
with 5 binary hypotheses (runs of on-steps, 2 % to 30 % of the steps) and 5 continuous ones
(smoothed levels in [0, 1]), each carried by a few planted cells with noise.

Beside it, the plain scikit-learn loop, one ``LogisticRegression`` (binary) or
``LinearRegression`` (continuous) per cell, hypothesis and fold, on the same contiguous
folds and all steps, is timed on a subsample of cells and hypotheses and extrapolated to the
whole problem; the largest difference between the two's scores on that subsample is printed
(accuracy, balanced accuracy, ROC AUC, R²). For scale, one ``LinearSVC`` 20-fold
cross-validation of one cell (the model of Lin & Wu 2017 [1]_, who introduced DNI) is timed and
extrapolated too.
Usage: python benchmarks/relevance.py [--steps 100000] [--cells 512] [--repeats 3]

References
----------
.. [1] Lin, K., & Wu, E. (2017). Searching for meaning in RNNs using Deep Neural Inspection.
   Columbia University Computer Science Technical Report 003-17.
"""

from __future__ import annotations

import argparse
import itertools
import time
import warnings

import numpy as np
from _timing import median_ms
from scipy.signal import lfilter

from rnn_widgets import Trace
from rnn_widgets.analysis import score_cells


def smoothed_states(n_steps: int, n_cells: int, rng: np.random.Generator) -> np.ndarray:
    """tanh of an AR(1) process per cell (coefficient 0.9), float32 (n_steps, n_cells)."""
    states = np.empty((n_steps, n_cells), dtype=np.float32)
    for first in range(0, n_cells, 64):
        noise = rng.standard_normal((n_steps, min(64, n_cells - first)), dtype=np.float32)
        walk = lfilter([0.44], [1.0, -0.9], noise, axis=0)
        states[:, first : first + walk.shape[1]] = np.tanh(walk)
    return states


def hypotheses_and_states(
    n_steps: int, n_cells: int, rng: np.random.Generator
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """5 binary and 5 continuous labels; cells 10 * i .. 10 * i + 2 carry label i."""
    states = smoothed_states(n_steps, n_cells, rng)
    labels = {}
    for i, rate in enumerate((0.02, 0.05, 0.1, 0.2, 0.3)):
        walk = lfilter([1.0], [1.0, -0.97], rng.standard_normal(n_steps))
        labels[f"binary {i}"] = (walk > np.quantile(walk, 1 - rate)).astype(np.float32)
    for i in range(5):
        walk = lfilter([1.0], [1.0, -0.99], rng.standard_normal(n_steps))
        labels[f"continuous {i}"] = ((walk - walk.min()) / np.ptp(walk)).astype(np.float32)
    for i, values in enumerate(labels.values()):
        for j, noise in enumerate((0.3, 0.6, 1.0)):
            cell = 10 * i + j
            signal = 2 * values - 1 + noise * rng.standard_normal(n_steps)
            states[:, cell] = np.tanh(signal)
    return labels, states


def sklearn_loop(
    states: np.ndarray, label: np.ndarray, binary: bool, bounds: np.ndarray
) -> dict[str, float]:
    """One scikit-learn model per fold for one cell and one hypothesis: mean held-out scores."""
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, r2_score, roc_auc_score

    x = states.astype(np.float64)[:, None]
    scores: dict[str, list[float]] = {
        "accuracy": [],
        "balanced_accuracy": [],
        "roc_auc": [],
        "r2": [],
    }
    for fold in range(len(bounds) - 1):
        test = np.zeros(len(label), dtype=bool)
        test[bounds[fold] : bounds[fold + 1]] = True
        if binary:
            model = LogisticRegression().fit(x[~test], label[~test])
            predicted = model.predict(x[test])
            scores["accuracy"].append(accuracy_score(label[test], predicted))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                scores["balanced_accuracy"].append(balanced_accuracy_score(label[test], predicted))
            if len(np.unique(label[test])) == 2:
                decision = model.decision_function(x[test])
                scores["roc_auc"].append(roc_auc_score(label[test], decision))
        else:
            fitted = LinearRegression().fit(x[~test], label[~test])
            scores["r2"].append(r2_score(label[test], fitted.predict(x[test])))
    return {name: float(np.mean(values)) for name, values in scores.items() if values}


def linear_svc_seconds(states: np.ndarray, label: np.ndarray, bounds: np.ndarray) -> float:
    """Seconds for one LinearSVC 20-fold cross-validation of one cell (the paper's model)."""
    from sklearn.model_selection import PredefinedSplit, cross_val_score
    from sklearn.svm import LinearSVC

    fold_of_step = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cross_val_score(LinearSVC(), states[:, None], label, cv=PredefinedSplit(fold_of_step))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--cells", type=int, default=512)
    parser.add_argument("--sequences", type=int, default=200)
    parser.add_argument("--folds", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sample-cells", type=int, default=4)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    labels, states = hypotheses_and_states(args.steps, args.cells, rng)
    cuts = np.linspace(0, args.steps, args.sequences + 1).astype(int).tolist()
    tokens = [["x"] * (b - a) for a, b in itertools.pairwise(cuts)]
    trace = Trace.from_arrays(tokens, {"h": states})

    def run(_: int) -> object:
        return score_cells(trace, labels, folds=args.folds, progress=False)

    ours_ms = median_ms(run, args.repeats)
    scores = score_cells(trace, labels, folds=args.folds, progress=False)

    # The scikit-learn loop on a subsample: planted and random cells, one hypothesis per label
    # type.
    sample_cells = [
        0,
        1,
        *rng.choice(np.arange(100, args.cells), args.sample_cells - 2, replace=False),
    ]
    sample_cells += [50, 51]  # the cells of the first continuous hypothesis
    binary_name, continuous_name = "binary 0", "continuous 0"
    worst: dict[str, float] = {}
    seconds = {"binary": 0.0, "continuous": 0.0}
    for name, label_type in ((binary_name, "binary"), (continuous_name, "continuous")):
        h = scores.index(name)
        cells = sample_cells[:-2] if label_type == "binary" else sample_cells
        start = time.perf_counter()
        for cell in cells:
            reference = sklearn_loop(
                states[:, cell], labels[name], label_type == "binary", scores.fold_bounds
            )
            for metric, value in reference.items():
                ours = getattr(scores, metric)[h, cell]
                worst[metric] = max(worst.get(metric, 0.0), abs(float(ours) - value))
        seconds[label_type] = (time.perf_counter() - start) / len(cells)
    n_binary = sum(label_type == "binary" for label_type in scores.label_types)
    n_continuous = len(scores.label_types) - n_binary
    sklearn_s = args.cells * (n_binary * seconds["binary"] + n_continuous * seconds["continuous"])
    svc_s = linear_svc_seconds(states[:, 0], labels[binary_name], scores.fold_bounds)
    svc_total = svc_s * args.cells * len(scores.label_types)

    problem = (
        f"{args.cells} cells x {args.steps:,} steps x {len(labels)} hypotheses, {args.folds} folds"
    )
    print(f"{problem}; scikit-learn on {len(sample_cells)} cells x 2 hypotheses, extrapolated\n")
    print("| method | time (s) | ratio to score_cells | max score difference |")
    print("| --- | --- | --- | --- |")
    print(f"| score_cells (batched Newton, contiguous folds) | {ours_ms / 1000:.2f} | 1.0x | - |")
    print(
        f"| scikit-learn loop (LogisticRegression / LinearRegression) | {sklearn_s:,.0f} | "
        f"{sklearn_s / (ours_ms / 1000):,.0f}x | {max(worst.values()):.4f} |"
    )
    print(f"| LinearSVC cross-validation (the paper's) | {svc_total:,.0f} | "
          f"{svc_total / (ours_ms / 1000):,.0f}x | - |")  # fmt: skip
    print(
        f"\nper (cell, hypothesis): logistic loop {seconds['binary']:.2f} s, linear loop "
        f"{seconds['continuous']:.3f} s, LinearSVC {svc_s:.2f} s"
    )
    print("largest difference per score: " + ", ".join(f"{k} {v:.5f}" for k, v in worst.items()))
    top = {name: scores.ranking(name)[:3].tolist() for name in scores.hypotheses}
    print(f"top 3 cells per hypothesis (planted: 10 i .. 10 i + 2): {top}")


if __name__ == "__main__":
    main()
