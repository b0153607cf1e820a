"""`AblationPlot`: a task metric against k, ablating the top-k ranked cells or k random ones.

The check that validates a per-cell ranking (relevance scores, response metrics): if the
ranking finds the cells the task needs, ablating the top k hurts the metric far more than
ablating k random cells. One solid line per ablation mode for the top-k cells; for the random
draws their mean as a dashed line in the same colour with a band (mean ± one standard
deviation, or min–max over the draws; the legend says which); the unablated baseline as a
grey dashed line. The kernel sends the summary only (float32 buffers); the band statistics
are computed here so that the browser draws and never reduces. The wire format is described
in ``docs/relevance_bars_contract.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import anywidget
import numpy as np
import traitlets

from .._validation import as_float, to_numpy
from ._assets import asset, require_bundle
from ._bounds import bounded_height, check_height
from ._buffers import packed
from ._export import ImageExport

__all__ = ["AblationPlot"]

_BANDS = ("std", "minmax")


class AblationPlot(ImageExport, anywidget.AnyWidget):
    """The metric against k for the top-k cells and for random cells, one line per mode.

    Parameters
    ----------
    ks : array-like of int, shape (n_k,)
        How many cells were ablated at each point, in any order (drawn sorted by k).
    top : mapping of str to array-like, shape (n_k,)
        Per ablation mode (e.g. ``"zero"``, ``"mean"``), the metric with the top-k cells
        ablated.
    random : mapping of str to array-like, shape (n_draws, n_k)
        Per mode (the same modes as ``top``), the metric with k random cells ablated, one
        row per draw.
    baseline : float, optional
        The metric with nothing ablated, drawn as a dashed line.
    metric_name : str
        The metric's name, for the axis label (default ``"metric"``).
    mode_names : mapping of str to str, optional
        Display names of some modes in the legend (default: the mode names); named like
        :class:`StateSpaceView`'s ``condition_names`` (``labels`` are per-step values).
    band : {"std", "minmax"}
        The band around the random mean: ± one standard deviation (default) or the range
        of the draws.
    height : int
        The plot's height in pixels (default 260), 100 .. ``MAX_HEIGHT`` (4000): past it, set
        from Python it raises; set by the browser it is clamped and ``message`` says so.

    Examples
    --------
    >>> AblationPlot([0, 1, 2], {"zero": [0.9, 0.6, 0.3]},
    ...              {"zero": [[0.9, 0.88, 0.87], [0.9, 0.89, 0.85]]}, baseline=0.9)
    ... # doctest: +SKIP

    """

    _esm = asset("ablation_plot.js")
    _css = asset("ablation_plot.css")

    metric_name = traitlets.Unicode("metric").tag(sync=True)
    height = traitlets.Int(260).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    #: A notice that is not an error, shown in place (a size clamped to its bound).
    message = traitlets.Unicode("").tag(sync=True)
    _plot = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)

    def __init__(
        self,
        ks: Any,
        top: Mapping[str, Any],
        random: Mapping[str, Any],
        *,
        baseline: float | None = None,
        metric_name: str = "metric",
        mode_names: Mapping[str, str] | None = None,
        band: Literal["std", "minmax"] = "std",
        height: int = 260,
        **kwargs: Any,
    ) -> None:
        require_bundle(type(self)._esm, "ablation_plot.js")
        ks_array = _check_ks(ks)
        top_curves = _check_top(top, len(ks_array))
        random_draws = _check_random(random, top_curves, len(ks_array))
        baseline = None if baseline is None else as_float(baseline, "baseline")
        if not isinstance(metric_name, str):
            raise TypeError(f"metric_name must be a str, got {type(metric_name).__name__}")
        display = _check_mode_names(mode_names, list(top_curves))
        if band not in _BANDS:
            raise ValueError(f"band must be one of {_BANDS}, got {band!r}")
        height = check_height(height, minimum=100)
        # The lines run left to right: points are drawn in order of k, whatever order the
        # ablation ran them in (a stable sort keeps repeated ks in their given order).
        by_k = np.argsort(ks_array, kind="stable")
        top_curves = {mode: curve[by_k] for mode, curve in top_curves.items()}
        random_draws = {mode: draws[:, by_k] for mode, draws in random_draws.items()}
        self._modes = list(top_curves)
        super().__init__(metric_name=metric_name, height=height, **kwargs)
        self._plot = _plot_payload(
            ks_array[by_k], top_curves, random_draws, baseline, display, band
        )

    @traitlets.validate("height")
    def _valid_height(self, proposal: dict[str, Any]) -> int:
        return bounded_height(self, proposal, minimum=100)

    @classmethod
    def from_ablation(cls, result: Any, **kwargs: Any) -> AblationPlot:
        """The plot of an ablation result.

        Reads ``ks``, ``top``, ``random``, ``baseline`` and ``metric_name`` from any object
        that has them (the backend's ``Ablation`` dataclass), so this module imports no
        backend.

        Parameters
        ----------
        result : object
            With attributes ``ks``, ``top``, ``random``, ``baseline`` and ``metric_name``.
        **kwargs
            Passed on (``mode_names``, ``band``, ``height``).

        """
        fields = ("ks", "top", "random", "baseline", "metric_name")
        missing = [name for name in fields if not hasattr(result, name)]
        if missing:
            raise TypeError(
                f"result must be an ablation result with fields {list(fields)}; "
                f"{type(result).__name__} has no {missing}"
            )
        return cls(
            result.ks,
            result.top,
            result.random,
            baseline=result.baseline,
            metric_name=result.metric_name,
            **kwargs,
        )

    @property
    def modes(self) -> list[str]:
        """The ablation modes, in the legend's order."""
        return list(self._modes)


def _float_array(value: Any, label: str, ndim: int, shape_text: str) -> np.ndarray:
    array = to_numpy(value)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"{label} must hold numbers, got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.complexfloating):
        raise TypeError(f"{label} must be real-valued, got dtype {array.dtype}")
    if array.ndim != ndim:
        raise ValueError(f"{label} must have shape {shape_text}, got shape {array.shape}")
    array = np.array(array, dtype=np.float64, copy=True)
    bad = ~np.isfinite(array)
    if bad.any():
        raise ValueError(
            f"{label} has {int(bad.sum())} NaN or infinite values; check the metric, "
            "or leave those points out of ks"
        )
    return array


def _check_ks(ks: Any) -> np.ndarray:
    array = _float_array(ks, "ks", 1, "(n_k,)")
    if array.size == 0:
        raise ValueError("ks is empty; pass the numbers of cells ablated, e.g. [0, 1, 2, 4]")
    if (array < 0).any() or (array != np.round(array)).any():
        raise ValueError(f"ks must be non-negative whole numbers of cells, got {array.tolist()}")
    return array


def _check_mapping(value: Any, name: str, shape_text: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(
            f"{name} must be a mapping of ablation mode -> {shape_text} array, "
            f"got {type(value).__name__}"
        )
    if not value:
        raise ValueError(f"{name} is empty; pass at least one mode, e.g. {{'zero': ...}}")
    for mode in value:
        if not isinstance(mode, str):
            raise TypeError(f"{name}'s modes must be str, got {type(mode).__name__} {mode!r}")
    return value


def _check_top(top: Any, n_k: int) -> dict[str, np.ndarray]:
    curves = {}
    for mode, value in _check_mapping(top, "top", "(n_k,)").items():
        curve = _float_array(value, f"top[{mode!r}]", 1, "(n_k,)")
        if len(curve) != n_k:
            raise ValueError(f"top[{mode!r}] has {len(curve)} values but ks has {n_k}")
        curves[mode] = curve
    return curves


def _check_random(random: Any, top: dict[str, np.ndarray], n_k: int) -> dict[str, np.ndarray]:
    mapping = _check_mapping(random, "random", "(n_draws, n_k)")
    if set(mapping) != set(top):
        raise ValueError(
            f"random has the modes {sorted(mapping)} but top has {sorted(top)}; "
            "give both the same modes"
        )
    draws = {}
    for mode in top:
        label = f"random[{mode!r}]"
        array = _float_array(mapping[mode], label, 2, "(n_draws, n_k)")
        if array.shape[1] != n_k or array.shape[0] == 0:
            raise ValueError(
                f"{label} must have shape (n_draws >= 1, {n_k}) (one column per k), "
                f"got {array.shape}"
            )
        draws[mode] = array
    return draws


def _check_mode_names(mode_names: Any, modes: list[str]) -> list[str]:
    if mode_names is None:
        return modes
    if not isinstance(mode_names, Mapping):
        raise TypeError(
            f"mode_names must be a mapping of mode -> str, got {type(mode_names).__name__}"
        )
    unknown = [mode for mode in mode_names if mode not in modes]
    if unknown:
        raise ValueError(f"mode_names has modes {unknown} that are not among {modes}")
    for mode, name in mode_names.items():
        if not isinstance(name, str):
            raise TypeError(f"mode_names[{mode!r}] must be a str, got {type(name).__name__}")
    return [mode_names.get(mode, mode) for mode in modes]


def _plot_payload(
    ks: np.ndarray,
    top: dict[str, np.ndarray],
    random: dict[str, np.ndarray],
    baseline: float | None,
    labels: list[str],
    band: str,
) -> dict[str, Any]:
    modes = list(top)
    means, lows, highs = [], [], []
    for mode in modes:  # each mode may have its own number of draws
        draws = random[mode]
        mean = draws.mean(axis=0)
        if band == "std":
            spread = draws.std(axis=0)
            low, high = mean - spread, mean + spread
        else:
            low, high = draws.min(axis=0), draws.max(axis=0)
        means.append(mean)
        lows.append(low)
        highs.append(high)
    return {
        "modes": modes,
        "labels": labels,
        "ks": packed(ks, "float32"),
        "top": packed(np.stack([top[mode] for mode in modes]), "float32"),
        "random_mean": packed(np.stack(means), "float32"),
        "random_low": packed(np.stack(lows), "float32"),
        "random_high": packed(np.stack(highs), "float32"),
        "n_draws": [int(random[mode].shape[0]) for mode in modes],
        "band": band,
        "baseline": baseline,
    }
