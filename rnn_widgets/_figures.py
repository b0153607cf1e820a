"""Static figures for reports: bqplot charts built from plain arrays.

The results' ``plot`` methods (``CellScores.plot``, ``FixedPoints.plot_spectrum``,
``Response.plot``, ``Ablation.plot``, ``CapacitySweep.plot``) import this module when called,
so an analysis run from a script never loads bqplot. Each function returns a
``bqplot.Figure`` whose marks hold the data as given, for the user to restyle and compose with
bqplot's own API (``figure.marks[0].colors = [...]``, ``figure.title = ...``).

The linked, interactive views stay our canvas views (``rnn_widgets.widgets``), measured faster
than bqplot's SVG marks for thousands of states (``benchmarks/state_space_bqplot_browser.py``);
these charts hold at most a few hundred marks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import bqplot as bq
import numpy as np

# Colour-blind safe (ColorBrewer Dark2): falling, neutral, rising.
SIGN_COLORS = ["#d95f02", "#999999", "#1b9e77"]
SERIES_COLORS = ["#1b9e77", "#7570b3", "#d95f02", "#e7298a", "#66a61e", "#e6ab02"]
REFERENCE_COLOR = "#666666"
LAYOUT = {"width": "640px", "height": "360px"}


def _figure(
    marks: list[bq.Mark], axes: list[bq.Axis], title: str, legend: bool = False
) -> bq.Figure:
    return bq.Figure(
        marks=marks,
        axes=axes,
        title=title,
        layout=dict(LAYOUT),
        legend_location="top-right",
        fig_margin={"top": 50, "bottom": 60, "left": 70, "right": 30},
        **({"legend_style": {"fill": "white"}} if legend else {}),
    )


def _reference_line(
    x: np.ndarray, y: np.ndarray, scales: dict[str, bq.Scale], label: str
) -> bq.Lines:
    """A dashed grey line with its legend label: chance, a baseline, the unit circle."""
    return bq.Lines(
        x=x,
        y=y,
        scales=scales,
        colors=[REFERENCE_COLOR],
        line_style="dashed",
        labels=[label],
        display_legend=True,
    )


def _horizontal_line(value: float, y_scale: bq.Scale, label: str) -> bq.Lines:
    """A dashed line at ``y = value`` across the figure (x in figure coordinates)."""
    x_scale = bq.LinearScale(min=0.0, max=1.0)
    return _reference_line(
        np.array([0.0, 1.0]), np.array([value, value]), {"x": x_scale, "y": y_scale}, label
    )


def sorted_bars(
    labels: Sequence[str],
    values: np.ndarray,
    *,
    signs: np.ndarray | None = None,
    reference: tuple[float, str] | None = None,
    title: str,
    x_label: str,
    y_label: str,
) -> bq.Figure:
    """Bars in the order given (the caller sorts), coloured by sign if ``signs`` is given.

    Parameters
    ----------
    labels : sequence of str, length n
        One label per bar, in drawing order.
    values : ndarray, shape (n,)
        Bar heights.
    signs : ndarray of int, shape (n,), optional
        -1, 0 or +1 per bar: the colour (falling, neutral, rising).
    reference : (float, str), optional
        A dashed horizontal line at that height, with its legend label (chance, baseline).
    title : str
        The figure's title.
    x_label : str
        The x axis's label.
    y_label : str
        The y axis's label.

    """
    x_scale, y_scale = bq.OrdinalScale(), bq.LinearScale()
    scales: dict[str, bq.Scale] = {"x": x_scale, "y": y_scale}
    bars_options = {}
    if signs is not None:
        scales["color"] = bq.ColorScale(min=-1, max=1, colors=SIGN_COLORS)
        bars_options["color"] = np.asarray(signs, dtype=np.float64)
    else:
        bars_options["colors"] = [SERIES_COLORS[0]]
    bars = bq.Bars(
        x=list(labels),
        y=np.asarray(values, dtype=np.float64),
        scales=scales,
        padding=0.15,
        **bars_options,
    )
    marks: list[bq.Mark] = [bars]
    if reference is not None:
        marks.append(_horizontal_line(reference[0], y_scale, reference[1]))
    axes = [
        bq.Axis(scale=x_scale, label=x_label, tick_rotate=-90 if len(labels) > 20 else 0),
        bq.Axis(scale=y_scale, label=y_label, side="left"),
    ]
    return _figure(marks, axes, title, legend=reference is not None)


def complex_plane(values: np.ndarray, *, title: str) -> bq.Figure:
    """Eigenvalues as points in the complex plane, with the unit circle.

    Parameters
    ----------
    values : ndarray of complex, shape (n,)
        The eigenvalues.
    title : str
        The figure's title.

    """
    values = np.asarray(values, dtype=np.complex128)
    reach = max(1.05, float(np.abs(values).max(initial=0.0)) * 1.05)
    x_scale = bq.LinearScale(min=-reach, max=reach)
    y_scale = bq.LinearScale(min=-reach, max=reach)
    angle = np.linspace(0.0, 2.0 * np.pi, 181)
    circle = _reference_line(np.cos(angle), np.sin(angle), {"x": x_scale, "y": y_scale}, "|λ| = 1")
    points = bq.Scatter(
        x=values.real,
        y=values.imag,
        scales={"x": x_scale, "y": y_scale},
        colors=[SERIES_COLORS[1]],
        default_size=24,
        labels=["eigenvalues"],
        display_legend=True,
    )
    axes = [
        bq.Axis(scale=x_scale, label="Re λ"),
        bq.Axis(scale=y_scale, label="Im λ", side="left"),
    ]
    figure = _figure([circle, points], axes, title, legend=True)
    figure.min_aspect_ratio = figure.max_aspect_ratio = 1.0
    figure.layout.height = figure.layout.width
    return figure


def histogram(values: np.ndarray, *, bins: int | str, title: str, x_label: str) -> bq.Figure:
    """The distribution of ``values`` (NaN left out) as bars over ``bins`` equal bins.

    The bars' ``x`` are the bin centres and ``y`` the counts, as ``numpy.histogram`` gives.
    """
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    counts, edges = np.histogram(finite, bins=bins)
    x_scale, y_scale = bq.LinearScale(), bq.LinearScale(min=0.0)
    bars = bq.Bars(
        x=(edges[:-1] + edges[1:]) / 2.0,
        y=counts.astype(np.float64),
        scales={"x": x_scale, "y": y_scale},
        colors=[SERIES_COLORS[0]],
        padding=0.05,
    )
    axes = [
        bq.Axis(scale=x_scale, label=x_label),
        bq.Axis(scale=y_scale, label="cells", side="left"),
    ]
    return _figure([bars], axes, title)


def line_chart(
    x: np.ndarray,
    series: Mapping[str, np.ndarray],
    *,
    spreads: Mapping[str, np.ndarray] | None = None,
    reference: tuple[float, str] | None = None,
    log_x: bool = False,
    title: str,
    x_label: str,
    y_label: str,
) -> bq.Figure:
    """One line with markers per series, a shaded band of ± spread where given.

    Parameters
    ----------
    x : ndarray, shape (n,)
        The x of every series.
    series : mapping of str to ndarray, shape (n,)
        Legend label to values; the lines are the marks in this order (after the bands).
    spreads : mapping of str to ndarray, shape (n,), optional
        For a series of the same label, the half-width of a band around it (a std).
    reference : (float, str), optional
        A dashed horizontal line at that height, with its legend label.
    log_x : bool
        A logarithmic x axis (network sizes).
    title : str
        The figure's title.
    x_label : str
        The x axis's label.
    y_label : str
        The y axis's label.

    """
    x = np.asarray(x, dtype=np.float64)
    x_scale = bq.LogScale() if log_x else bq.LinearScale()
    y_scale = bq.LinearScale()
    scales = {"x": x_scale, "y": y_scale}
    bands: list[bq.Mark] = []
    lines: list[bq.Mark] = []
    for index, (label, values) in enumerate(series.items()):
        color = SERIES_COLORS[index % len(SERIES_COLORS)]
        values = np.asarray(values, dtype=np.float64)
        if spreads is not None and label in spreads:
            spread = np.asarray(spreads[label], dtype=np.float64)
            bands.append(
                bq.Lines(
                    x=x,
                    y=np.vstack([values - spread, values + spread]),
                    scales=scales,
                    fill="between",
                    fill_colors=[color],
                    fill_opacities=[0.2],
                    stroke_width=0,
                    colors=[color],
                )
            )
        lines.append(
            bq.Lines(
                x=x,
                y=values,
                scales=scales,
                colors=[color],
                marker="circle",
                labels=[label],
                display_legend=True,
            )
        )
    marks = [*bands, *lines]
    if reference is not None:
        marks.append(_horizontal_line(reference[0], y_scale, reference[1]))
    axes = [
        bq.Axis(scale=x_scale, label=x_label),
        bq.Axis(scale=y_scale, label=y_label, side="left"),
    ]
    return _figure(marks, axes, title, legend=True)
