"""Results plot themselves: each ``plot`` returns a bqplot Figure whose marks hold the data."""

from __future__ import annotations

import bqplot
import numpy as np
import pytest

import rnn_widgets as rw
from rnn_widgets.analysis import Ablation, CapacitySweep, Response, find_fixed_points, score_cells

from .test_byom_doc import REPO, python_blocks, run_blocks
from .test_fixed_points import LinearCell
from .test_relevance import _planted, _trace


def _response(values: np.ndarray, names: tuple[str, ...] = ("settling_time", "delta")) -> Response:
    n_cells = len(values)
    return Response(
        metric_names=names,
        values=values,
        outputs=np.zeros((0, 1, n_cells)),
        design=None,
        family="lstm",
        layer=0,
        cells=np.arange(n_cells),
    )


def test_cell_scores_plot_sorted_bars_best_first_with_sign_and_chance():
    states, label = _planted(n_steps=2000)
    scores = score_cells(_trace(states), {"on": label}, progress=False)
    figure = scores.plot("on")
    assert isinstance(figure, bqplot.Figure)
    bars, chance = figure.marks
    ranked = scores.ranking("on")
    assert list(bars.x) == [str(cell) for cell in ranked]
    assert list(bars.x[:2]) == ["7", "3"]  # the planted cells
    expected = scores.scores_of("on")[ranked]  # cells are 0..n-1 here, in order
    np.testing.assert_allclose(bars.y, expected)
    assert bars.color[0] == 1 and bars.color[1] == -1  # cell 7 rises, cell 3 falls
    assert list(chance.y) == [0.5, 0.5]


def test_cell_scores_plot_top_keeps_only_the_best_cells():
    states, label = _planted(n_steps=2000)
    scores = score_cells(_trace(states), {"on": label}, progress=False)
    assert list(scores.plot(0, top=3).marks[0].x) == [str(c) for c in scores.ranking(0)[:3]]
    with pytest.raises(ValueError, match="top"):
        scores.plot("on", top=0)
    with pytest.raises(KeyError, match="no hypothesis named"):
        scores.plot("off")


def test_fixed_points_plot_spectrum_shows_the_eigenvalues_and_the_unit_circle():
    rng = np.random.default_rng(0)
    a = np.array([[0.5, -0.8], [0.8, 0.5]])  # eigenvalues 0.5 ± 0.8i
    model = rw.RecurrentModel(LinearCell(a, rng.standard_normal((2, 1))))
    points = find_fixed_points(model, rng.standard_normal((20, 2)), n=16, progress=False)
    figure = points.plot_spectrum(0)
    circle, eigenvalues = figure.marks
    assert sorted(np.round(eigenvalues.y, 9)) == [-0.8, 0.8]
    np.testing.assert_allclose(eigenvalues.x, [0.5, 0.5])
    np.testing.assert_allclose(np.hypot(circle.x, circle.y), 1.0)
    assert "stable" in figure.title
    with pytest.raises(ValueError, match="points must index"):
        points.plot_spectrum(5)


def test_response_plot_is_the_histogram_of_the_defined_values():
    values = np.array([[1.0, 0.1], [2.0, 0.2], [2.0, np.nan], [9.0, 0.4]])
    figure = _response(values).plot("delta", bins=3)
    (bars,) = figure.marks
    counts, edges = np.histogram([0.1, 0.2, 0.4], bins=3)
    np.testing.assert_allclose(bars.y, counts)
    np.testing.assert_allclose(bars.x, (edges[:-1] + edges[1:]) / 2)
    assert "3 of 4 cells" in figure.title
    with pytest.raises(ValueError, match="metric 'speed' is unknown"):
        _response(values).plot("speed")


def test_ablation_plot_has_top_random_mean_with_its_band_and_the_baseline():
    random = np.array([[0.9, 0.8, 0.6], [0.7, 0.8, 0.4]])
    ablation = Ablation(
        ks=np.array([1, 5, 10]),
        baseline=0.95,
        top={"zero": np.array([0.5, 0.3, 0.1])},
        random={"zero": random},
        ranked_cells=np.arange(10),
        metric_name="accuracy",
    )
    figure = ablation.plot()
    band, top, random_mean, baseline = figure.marks
    np.testing.assert_allclose(top.y, [0.5, 0.3, 0.1])
    np.testing.assert_allclose(random_mean.y, [0.8, 0.8, 0.5])
    np.testing.assert_allclose(band.y, [[0.7, 0.8, 0.4], [0.9, 0.8, 0.6]])
    np.testing.assert_allclose(top.x, [1, 5, 10])
    assert list(baseline.y) == [0.95, 0.95]
    with pytest.raises(ValueError, match="mode 'mean' was not run"):
        ablation.plot("mean")


def test_capacity_sweep_plot_is_the_trend_over_sizes():
    small = _response(np.array([[1.0, 0.0], [3.0, 0.0]]))
    large = _response(np.array([[5.0, 0.0], [5.0, 0.0], [8.0, 0.0]]))
    sweep = CapacitySweep("digits_lstm", (32, 128), (small, large), ({}, {}))
    figure = sweep.plot("settling_time")
    band, line = figure.marks
    np.testing.assert_allclose(line.x, [32, 128])
    np.testing.assert_allclose(line.y, [2.0, 6.0])
    np.testing.assert_allclose(band.y[1] - band.y[0], 2 * np.array([1.0, np.std([5, 5, 8])]))
    assert isinstance(figure.axes[0].scale, bqplot.LogScale)


def test_a_figure_can_be_restyled_with_bqplots_own_api():
    values = np.array([[1.0, 0.1], [2.0, 0.2]])
    figure = _response(values).plot("settling_time")
    figure.marks[0].colors = ["black"]
    figure.title = "mine"
    assert figure.marks[0].colors == ["black"] and figure.title == "mine"


def test_the_figures_guide_runs(monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    guide = (REPO / "docs" / "figures.md").read_text(encoding="utf-8")
    namespace = run_blocks(python_blocks(guide), "figures")
    bars = namespace["figure"].marks[0]
    assert len(bars.x) == 20
    assert list(bars.x) == [str(c) for c in namespace["scores"].ranking(0)[:20]]
    assert bars.scales["color"].colors == ["#b2182b", "#cccccc", "#2166ac"]
