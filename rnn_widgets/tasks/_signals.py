"""Real signals that ship inside PyPI packages: handwritten digits and Mauna Loa CO2.

Both data sets are files inside installed packages (scikit-learn's 8x8 digits, statsmodels'
weekly CO2 series); nothing is downloaded.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_int
from ._base import TaskData, readonly, require

__all__ = [
    "CO2_CHANGE_STD",
    "CO2_MEAN",
    "CO2_STD",
    "CO2_TRAIN_FRACTION",
    "DIGITS_TEST_FRACTION",
    "co2",
    "co2_to_ppm",
    "digits",
]

#: The share of the digits that goes to the test split (stratified by digit).
DIGITS_TEST_FRACTION = 0.2
#: The share of the CO2 weeks, from the start, that forms the train sequence.
CO2_TRAIN_FRACTION = 0.8
#: Mean and (population) standard deviation in ppm of the train weeks after interpolation
#: (March 1958 to March 1993); ``co2`` standardizes both splits with them.
CO2_MEAN = 333.456376573618
CO2_STD = 12.950095702170822
#: The (population) standard deviation in ppm of the train weeks' changes from the week
#: before; ``co2(form="change")`` measures changes in this unit.
CO2_CHANGE_STD = 0.48162128804705473

_SPLITS = ("train", "test")


def digits(split: str = "train", *, seed: int = 0) -> TaskData:
    """Classify scikit-learn's 8x8 handwritten digits read one pixel at a time.

    Parameters
    ----------
    split : {"train", "test"}
        A stratified split of the 1,797 images: 80% train (1,437), 20% test (360), made by
        ``sklearn.model_selection.train_test_split(random_state=seed, stratify=digit)``.
        Each split keeps the images in their original order.
    seed : int
        Seeds the split; the same seed gives the same split.

    Returns
    -------
    TaskData
        One sequence per image: its 64 pixels in row-major order, float32 of shape (64, 1),
        the intensity divided by 16 (so in [0, 1]). ``target_type`` is
        ``"sequence_class"`` and ``classes`` ``("0", ..., "9")``. Labels per step:
        ``"row"`` and ``"column"`` (int64, 0-7) of the pixel, ``"pixel"`` (int64, its raw
        intensity 0-16).

    Raises
    ------
    TypeError
        If ``seed`` is not an int.
    ValueError
        If ``split`` is unknown or ``seed`` is negative.

    """
    _check_split(split)
    seed = as_int(seed, "seed", minimum=0)
    datasets = require("sklearn.datasets")
    selection = require("sklearn.model_selection")
    bunch = datasets.load_digits()
    images = np.asarray(bunch.images, dtype=np.int64)
    classes = np.asarray(bunch.target, dtype=np.int64)
    train, test = selection.train_test_split(
        np.arange(len(classes)),
        test_size=DIGITS_TEST_FRACTION,
        random_state=seed,
        stratify=classes,
    )
    chosen = np.sort(train if split == "train" else test)
    rows, columns = np.divmod(np.arange(64, dtype=np.int64), 8)
    pixels = [images[i].reshape(64) for i in chosen.tolist()]
    return TaskData(
        name="digits",
        sequences=tuple(readonly((p / 16.0).astype(np.float32)[:, None]) for p in pixels),
        targets=tuple(readonly(np.array(classes[i], dtype=np.int64)) for i in chosen.tolist()),
        target_type="sequence_class",
        labels={
            "row": tuple(readonly(rows.copy()) for _ in pixels),
            "column": tuple(readonly(columns.copy()) for _ in pixels),
            "pixel": tuple(readonly(p.copy()) for p in pixels),
        },
        classes=tuple(str(digit) for digit in range(10)),
        description=(
            f"scikit-learn's 8x8 handwritten digits (UCI optical recognition data), "
            f"{len(chosen)} images of the {split} split (seed {seed}), each read as 64 pixels "
            "in row-major order (intensity / 16); classify the digit after the last pixel."
        ),
    )


def co2(split: str = "train", *, form: str = "level") -> TaskData:
    """Forecast the Mauna Loa weekly atmospheric CO2 one week ahead.

    The series (statsmodels' ``co2`` data set: 2,284 weeks, March 1958 to December 2001, in
    ppm) has 59 missing weeks, filled by linear interpolation between the neighbouring weeks.
    Values are standardized with ``CO2_MEAN`` and ``CO2_STD`` (the train part's statistics);
    `co2_to_ppm` converts back.

    Parameters
    ----------
    split : {"train", "test"}
        ``"train"``: the first 80% of the weeks (1,827, up to March 1993); ``"test"``: the
        remaining 457 weeks, which continue right after the train sequence's last week
        (no overlap: to warm up a model's state, run it over the train sequence first).
    form : {"level", "change"}
        ``"level"``: each step is the week's standardized value. ``"change"``: each step is
        the change from the week before in units of ``CO2_CHANGE_STD`` ppm (the first train
        week has 0), and the target is next week's change. Forecasting the change is the
        same forecast (next level = this level + predicted change) but stationary: the
        test years lie above every level seen in training, their weekly changes do not.

    Returns
    -------
    TaskData
        One sequence: float32 of shape (steps, 1), the standardized value of each week.
        ``target_type`` is ``"next_value"``: float32 (steps, 1), the next week's standardized
        value, NaN at the last step. ``classes`` is ``("co2",)``. Labels per week:
        ``"year"`` (float64 decimal year), ``"ppm"`` (float64, the value in ppm after
        interpolation) and ``"interpolated"`` (int8, 1 for a filled-in week).

    Raises
    ------
    ValueError
        If ``split`` is unknown.
    ImportError
        If statsmodels is not installed (``pip install 'rnn_widgets[data]'``).

    """
    _check_split(split)
    if form not in ("level", "change"):
        raise ValueError(f"form must be 'level' or 'change', got {form!r}")
    data = require("statsmodels.datasets.co2").load_pandas().data
    measured = data["co2"].to_numpy(dtype=np.float64)
    ppm = _interpolate(measured)
    n_train = int(CO2_TRAIN_FRACTION * len(ppm))
    part = slice(0, n_train) if split == "train" else slice(n_train, len(ppm))
    if form == "level":
        values = ((ppm[part] - CO2_MEAN) / CO2_STD).astype(np.float32)
    else:
        change = np.diff(ppm, prepend=ppm[0])
        values = (change[part] / CO2_CHANGE_STD).astype(np.float32)
    following = np.append(values[1:], np.float32(np.nan))
    years = _decimal_years(data.index)[part]
    return TaskData(
        name="co2" if form == "level" else "co2_change",
        sequences=(readonly(values[:, None]),),
        targets=(readonly(following[:, None]),),
        target_type="next_value",
        labels={
            "year": (readonly(years),),
            "ppm": (readonly(ppm[part].copy()),),
            "interpolated": (readonly(np.isnan(measured[part]).astype(np.int8)),),
        },
        classes=("co2",),
        description=(
            f"Weekly atmospheric CO2 at Mauna Loa (statsmodels' co2 data set), {split} split: "
            f"{len(values)} weeks from {years[0]:.2f} to {years[-1]:.2f}, missing weeks "
            "interpolated linearly, "
            + (
                f"standardized as (ppm - {CO2_MEAN:.4f}) / {CO2_STD:.4f}. Predict next week's "
                "value."
                if form == "level"
                else f"as weekly changes in units of {CO2_CHANGE_STD:.4f} ppm. Predict next "
                "week's change."
            )
        ),
    )


def co2_to_ppm(values: Any) -> np.ndarray:
    """Standardized CO2 values (inputs, targets or predictions of `co2`) back in ppm.

    Parameters
    ----------
    values : array-like
        Standardized values, any shape.

    Returns
    -------
    ndarray of float64
        ``values * CO2_STD + CO2_MEAN``; an error in standardized units times ``CO2_STD`` is
        the error in ppm.

    """
    return np.asarray(values, dtype=np.float64) * CO2_STD + CO2_MEAN


def _check_split(split: str) -> None:
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {list(_SPLITS)}, got {split!r}")


def _interpolate(values: np.ndarray) -> np.ndarray:
    """``values`` with each NaN replaced linearly from its measured neighbours."""
    steps = np.arange(len(values))
    measured = ~np.isnan(values)
    return np.interp(steps, steps[measured], values[measured])


def _decimal_years(index: Any) -> np.ndarray:
    """Dates as decimal years: the year plus the elapsed fraction of it."""
    days_in_year = np.where(index.is_leap_year, 366.0, 365.0)
    fraction = (np.asarray(index.day_of_year, dtype=np.float64) - 1.0) / days_in_year
    return np.asarray(index.year, dtype=np.float64) + fraction
