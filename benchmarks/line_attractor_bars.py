"""The line-attractor pass bars (issue 7) on the shipped sentiment networks.

The measures are those of Maheswaranathan et al. (2019) [1]_ ("the paper" below).
For each model, on its held-out documents: the variance of the visited h explained by the top
3 principal components, trained and for an untrained copy (the baseline, run in the same
process on the same documents, and their ratio); approximate fixed points
(a short search of ``--searches`` starts of ``--iterations`` Levenberg-Marquardt steps, 10 by
default, kept where ``q < 1e-8``, as in the paper; 200 runs every search to convergence) under the
average input the network reads (``--input mean``, the paper's alternative to zero input, which
it found equivalent because its average embedding was nearly zero; ``--input zero`` for zero);
the top
mode's median ``|lambda1|`` over the points and its time constant ``tau = 1 / |log
|lambda1||`` (in words: how long it takes to decay, or for ``|lambda1| > 1`` to grow,
e-fold) against the mean document length; the input projection ``l1^T J_inp x`` of the
positive, negative and neutral words (mean over each group, median over the points); the
median ``|r1 . m|`` against the 99th percentile of the random-direction null; the median
one-step linearization error (over the full state, and over h alone); the held-out accuracy.
Each figure is one deterministic measurement (seeded searches), not a timing. The verdicts
read issue 7's bars as: top 3 PCs >= 0.8 and the untrained copy's at least 0.1 lower; tau > 5
x the mean length (a mode that neither decays nor grows over a document); positive and
negative projections of opposite signs with the neutral one under a fifth of the smaller;
``|r1 . m|`` above the null's 99th percentile; the full state's linearization error <= 0.2.
1,024 starts (the paper analysed about 500 points).
Usage: python benchmarks/line_attractor_bars.py [--models sentiment_gru sentiment_lstm]
       [--fit 300] [--error 100] [--searches 1024] [--input mean|zero] [--iterations 10]

References
----------
.. [1] Maheswaranathan, N., Williams, A. H., Golub, M. D., Ganguli, S., & Sussillo, D. (2019).
   Reverse engineering recurrent networks for sentiment classification reveals line attractor
   dynamics. Advances in Neural Information Processing Systems 32 (NeurIPS 2019), 15696-15705.
"""

from __future__ import annotations

import argparse
import itertools
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

import rnn_widgets as rw
from rnn_widgets import zoo
from rnn_widgets.analysis import (
    average_input,
    find_fixed_points,
    line_attractor,
    linearization_error,
    state_pca,
    untrained_copy,
)
from rnn_widgets.tasks import SENTIMENT_FILLERS, TaskData, sentiment_words

#: The paper's criterion for an approximate fixed point.
APPROXIMATE_Q = 1e-8


@dataclass(frozen=True)
class Bars:
    """The measured figures of one model (see the module docstring)."""

    top3_trained: float
    top3_untrained: float
    n_points: int
    eigenvalue_top: float
    tau_top: float
    mean_length: float
    projection_positive: float
    projection_negative: float
    projection_neutral: float
    r1_overlap: float
    null_99: float
    linearization_error: float
    linearization_error_h: float
    accuracy: float

    def passes(self) -> dict[str, bool]:
        """Each of issue 7's bars: met or not."""
        largest = min(abs(self.projection_positive), abs(self.projection_negative))
        return {
            "top3 >= 0.8, untrained clearly less": self.top3_trained >= 0.8
            and self.top3_untrained < self.top3_trained - 0.1,
            "tau >> length": self.tau_top > 5 * self.mean_length,  # neither decays nor grows
            "projections +/-, neutral ~0": self.projection_positive * self.projection_negative < 0
            and abs(self.projection_neutral) < 0.2 * largest,
            "|r1.m| > null 99th": self.r1_overlap > self.null_99,
            "linearization <= 0.2": self.linearization_error <= 0.2,
        }


def measure(
    model: Any,
    task: TaskData,
    *,
    n_fit: int = 300,
    n_error: int = 100,
    n_searches: int = 1024,
    constant_input: str = "mean",
    max_iterations: int = 10,
) -> Bars:
    """Measure the bars of ``model`` on the held-out documents of ``task``.

    The first ``n_fit`` documents give the visited states (PCA, the search's starts) and the
    average input; the next ``n_error`` the linearization error; all of them the accuracy.
    """
    fit = task.sequences[:n_fit]
    trace = rw.capture(model, fit, progress=False)
    x_star = average_input(model, trace) if constant_input == "mean" else None
    untrained = rw.capture(untrained_copy(model), fit, progress=False)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*ran out of max_iterations")
        points = find_fixed_points(
            model,
            trace,
            x_star,
            n=n_searches,
            max_iterations=max_iterations,
            tolerance=APPROXIMATE_Q,
            progress=False,
        )
    approximate = points.q < APPROXIMATE_Q
    positive, negative = sentiment_words()
    groups = (positive, negative, SENTIMENT_FILLERS)
    words = [word for group in groups for word in group]
    result = line_attractor(model, points, points=approximate, inputs=model.encode(words))
    projections = _group_projections(result.input_projection, [len(g) for g in groups])
    error = linearization_error(
        model, points, task.sequences[n_fit : n_fit + n_error], points=approximate, progress=False
    )
    magnitude = float(np.median(np.abs(result.eigenvalue)))
    return Bars(
        top3_trained=float(state_pca(trace).cumulative[2]),
        top3_untrained=float(state_pca(untrained).cumulative[2]),
        n_points=int(approximate.sum()),
        eigenvalue_top=magnitude,
        tau_top=_time_constant(magnitude),
        mean_length=float(np.mean([len(s) for s in task.sequences])),
        projection_positive=projections[0],
        projection_negative=projections[1],
        projection_neutral=projections[2],
        r1_overlap=float(np.median(result.r1_overlap)),
        null_99=float(np.percentile(result.null_overlap, 99)),
        linearization_error=error.median,
        linearization_error_h=float(np.median(error.errors_h)),
        accuracy=_accuracy(model, task),
    )


def _time_constant(magnitude: float) -> float:
    """``1 / |log |lambda||`` in steps: how long the mode takes to decay (or grow) e-fold."""
    return float(1.0 / abs(np.log(magnitude))) if magnitude != 1.0 else float("inf")


def _group_projections(projection: np.ndarray, sizes: list[int]) -> list[float]:
    """Per group of consecutive inputs: the mean projection, then its median over points."""
    bounds = np.cumsum([0, *sizes])
    return [
        float(np.median(projection[:, start:stop].mean(axis=1)))
        for start, stop in itertools.pairwise(bounds)
    ]


def _accuracy(model: Any, task: TaskData) -> float:
    """The share of documents whose class, read at the last word, is right."""
    result = model.run(task.sequences)
    outputs = result.outputs.detach().numpy()
    last = outputs[np.arange(len(outputs)), np.asarray(result.lengths) - 1]
    targets = np.array([int(t) for t in task.targets])
    return float((last.argmax(axis=1) == targets).mean())


def _table(rows: dict[str, Bars]) -> str:
    header = (
        "| model | top-3 PCs trained / untrained (ratio) | fixed points | median \\|lambda1\\|, "
        "its tau / mean length | input projection + / - / neutral | median \\|r1.m\\| / null "
        "99th pct | median linearization error, full state (h part) | accuracy |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- |"
    )
    lines = [header]
    for name, bars in rows.items():
        lines.append(
            f"| `{name}` | {bars.top3_trained:.3f} / {bars.top3_untrained:.3f} "
            f"({bars.top3_trained / bars.top3_untrained:.2f}x) | {bars.n_points} | "
            f"{bars.eigenvalue_top:.4f}, {bars.tau_top:.0f} "
            f"({'grows' if bars.eigenvalue_top > 1 else 'decays'}) / {bars.mean_length:.0f} | "
            f"{bars.projection_positive:+.3f} / {bars.projection_negative:+.3f} / "
            f"{bars.projection_neutral:+.3f} | "
            f"{bars.r1_overlap:.3f} / {bars.null_99:.3f} | {bars.linearization_error:.3f} "
            f"({bars.linearization_error_h:.3f}) | "
            f"{bars.accuracy:.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["sentiment_gru", "sentiment_lstm"])
    parser.add_argument("--fit", type=int, default=300)
    parser.add_argument("--error", type=int, default=100)
    parser.add_argument("--searches", type=int, default=1024)
    parser.add_argument("--input", choices=["mean", "zero"], default="mean")
    parser.add_argument("--iterations", type=int, default=10)
    args = parser.parse_args()
    rows = {}
    for name in args.models:
        rows[name] = measure(
            zoo.load(name),
            zoo.data(name),
            n_fit=args.fit,
            n_error=args.error,
            n_searches=args.searches,
            constant_input=args.input,
            max_iterations=args.iterations,
        )
    print(_table(rows))
    for name, bars in rows.items():
        verdicts = ", ".join(f"{bar}: {'yes' if ok else 'NO'}" for bar, ok in bars.passes().items())
        print(f"{name}: {verdicts}")


if __name__ == "__main__":
    main()
