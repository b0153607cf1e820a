"""AblationPlot's kernel side: the summary it sends, from_ablation, validation, no aliasing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from rnn_widgets import AblationPlot

from .conftest import CommRecorder

KS = [0, 1, 2, 4]
TOP = {"zero": [0.9, 0.6, 0.4, 0.2], "mean": [0.9, 0.7, 0.5, 0.3]}
# Draws chosen so that mean, std, min and max are exact: columns (a, b) have mean (a+b)/2,
# population std |a-b|/2.
RANDOM = {
    "zero": [[0.9, 0.9, 0.8, 0.8], [0.9, 0.7, 0.8, 0.6]],
    "mean": [[0.9, 0.85, 0.8, 0.75], [0.9, 0.85, 0.8, 0.75], [0.9, 0.85, 0.8, 0.75]],
}


def _f32(payload: dict) -> np.ndarray:
    assert payload["dtype"] == "float32"
    return np.frombuffer(bytes(payload["data"]), dtype="<f4").reshape(payload["shape"])


def test_sends_top_lines_and_random_mean_with_a_std_band():
    plot = AblationPlot(KS, TOP, RANDOM, baseline=0.9, metric_name="accuracy")
    p = plot._plot
    assert p["modes"] == ["zero", "mean"]
    assert p["n_draws"] == [2, 3]
    assert p["band"] == "std"
    assert p["baseline"] == 0.9
    np.testing.assert_array_equal(_f32(p["ks"]), [0, 1, 2, 4])
    np.testing.assert_allclose(_f32(p["top"]), [TOP["zero"], TOP["mean"]], rtol=1e-6)
    np.testing.assert_allclose(_f32(p["random_mean"])[0], [0.9, 0.8, 0.8, 0.7], rtol=1e-6)
    np.testing.assert_allclose(_f32(p["random_low"])[0], [0.9, 0.7, 0.8, 0.6], rtol=1e-6)
    np.testing.assert_allclose(_f32(p["random_high"])[0], [0.9, 0.9, 0.8, 0.8], rtol=1e-6)
    # Identical draws: no band at all.
    np.testing.assert_allclose(_f32(p["random_low"])[1], _f32(p["random_high"])[1])


def test_the_minmax_band_is_the_range_of_the_draws():
    draws = {"zero": [[0.9, 0.5, 0.1, 0.2], [0.9, 0.7, 0.3, 0.0], [0.9, 0.6, 0.2, 0.4]]}
    plot = AblationPlot(KS, {"zero": TOP["zero"]}, draws, band="minmax")
    np.testing.assert_allclose(_f32(plot._plot["random_low"])[0], [0.9, 0.5, 0.1, 0.0], rtol=1e-6)
    np.testing.assert_allclose(_f32(plot._plot["random_high"])[0], [0.9, 0.7, 0.3, 0.4], rtol=1e-6)
    assert plot._plot["band"] == "minmax"


def test_arrays_travel_as_binary_buffers():
    plot = AblationPlot(KS, TOP, RANDOM)
    recorder = CommRecorder(plot)
    plot.send_state("_plot")
    message = recorder.updated("_plot")[-1]
    assert ["_plot", "top", "data"] in message["buffer_paths"]
    assert all(isinstance(b, (bytes, memoryview)) for b in message["buffers"])
    assert not isinstance(message["state"]["_plot"]["top"].get("data"), list)


def test_points_are_drawn_in_order_of_k_whatever_order_they_ran_in():
    order = [2, 0, 3, 1]  # ks 2, 0, 4, 1
    ks = [KS[i] for i in order]
    top = {"zero": [TOP["zero"][i] for i in order]}
    random = {"zero": np.array(RANDOM["zero"])[:, order]}
    plot = AblationPlot(ks, top, random)
    np.testing.assert_array_equal(_f32(plot._plot["ks"]), KS)
    np.testing.assert_allclose(_f32(plot._plot["top"])[0], TOP["zero"], rtol=1e-6)
    np.testing.assert_allclose(_f32(plot._plot["random_mean"])[0], [0.9, 0.8, 0.8, 0.7], rtol=1e-6)


def test_mode_names_name_modes_and_default_to_the_mode():
    plot = AblationPlot(KS, TOP, RANDOM, mode_names={"mean": "clamp to mean"})
    assert plot._plot["labels"] == ["zero", "clamp to mean"]
    assert plot.modes == ["zero", "mean"]


@dataclass(frozen=True)
class _Ablation:  # the fields of the backend's Ablation result, nothing more
    ks: np.ndarray
    baseline: float
    top: dict
    random: dict
    ranked_cells: np.ndarray
    metric_name: str


def test_from_ablation_reads_the_result_fields():
    result = _Ablation(np.array(KS), 0.9, TOP, RANDOM, np.arange(8), "accuracy")
    plot = AblationPlot.from_ablation(result, band="minmax")
    assert plot.metric_name == "accuracy"
    assert plot._plot["baseline"] == 0.9
    assert plot._plot["band"] == "minmax"
    np.testing.assert_allclose(_f32(plot._plot["top"])[1], TOP["mean"], rtol=1e-6)


def test_from_ablation_refuses_other_objects_naming_the_missing_fields():
    with pytest.raises(
        TypeError, match=r"has no \['ks', 'top', 'random', 'baseline', 'metric_name'\]"
    ):
        AblationPlot.from_ablation(object())


def test_the_users_arrays_are_not_modified():
    ks = np.array(KS)
    top = {"zero": np.array(TOP["zero"])}
    random = {"zero": np.array(RANDOM["zero"])}
    copies = (ks.copy(), top["zero"].copy(), random["zero"].copy())
    AblationPlot(ks, top, random)
    np.testing.assert_array_equal(ks, copies[0])
    np.testing.assert_array_equal(top["zero"], copies[1])
    np.testing.assert_array_equal(random["zero"], copies[2])


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        (([], TOP, RANDOM), {}, ValueError, "ks is empty"),
        (([0, -1, 2, 4], TOP, RANDOM), {}, ValueError, "non-negative whole numbers"),
        (([0, 0.5, 1, 2], TOP, RANDOM), {}, ValueError, "whole numbers"),
        ((KS, [0.1], RANDOM), {}, TypeError, "top must be a mapping of ablation mode"),
        ((KS, {}, RANDOM), {}, ValueError, "top is empty"),
        (
            (KS, {"zero": [1, 2]}, RANDOM),
            {},
            ValueError,
            r"top\['zero'\] has 2 values but ks has 4",
        ),
        ((KS, TOP, {"zero": RANDOM["zero"]}), {}, ValueError, "give both the same modes"),
        ((KS, TOP, {**RANDOM, "zero": [0.1, 0.2, 0.3, 0.4]}), {}, ValueError, r"\(n_draws, n_k\)"),
        ((KS, TOP, {**RANDOM, "zero": [[0.1, 0.2]]}), {}, ValueError, r"one column per k"),
        ((KS, {**TOP, "zero": [0.9, np.nan, 0.1, 0.1]}), {}, ValueError, "NaN"),
        ((KS, TOP, RANDOM), {"band": "iqr"}, ValueError, "band must be one of"),
        ((KS, TOP, RANDOM), {"baseline": np.inf}, ValueError, "baseline must be finite"),
        (
            (KS, TOP, RANDOM),
            {"mode_names": {"max": "x"}},
            ValueError,
            r"mode_names has modes \['max'\]",
        ),
        ((KS, TOP, RANDOM), {"metric_name": 3}, TypeError, "metric_name must be a str"),
    ],
)
def test_bad_arguments_are_refused_with_the_fix(args, kwargs, error, message):
    if len(args) == 2:
        args = (*args, RANDOM)
    with pytest.raises(error, match=message):
        AblationPlot(*args, **kwargs)
