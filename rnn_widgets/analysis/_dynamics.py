"""Line-attractor metrics (Maheswaranathan et al. 2019 [1]_, sections 4.1-4.6).

* :func:`state_pca` -- PCA of the states a network visits, with the variance each component
  explains (scikit-learn's ``PCA``); :func:`untrained_copy` gives the untrained network to
  compare with, as the paper's Fig. 2a does.
* :func:`line_attractor` -- the main direction ``m`` of a manifold of fixed points and a 1-D
  coordinate along it (PCA of the points, or scikit-learn's ``LocallyLinearEmbedding`` as in
  the paper); how ``m`` and each point's top right eigenvector ``r1`` align with the readout;
  the overlap ``|r1 . m|`` over the points against a null of random unit vectors; the input
  projection ``l1^T J_inp x`` of chosen inputs.
* :func:`linearization_error` -- the one-step relative error of the linearized dynamics at
  the nearest fixed point, along real trajectories (Fig. 5).

Directions and the LSTM
-----------------------
The readout reads h only, so every *direction* (``m``, ``r1``, the readout rows) is compared
in the h part of the state: for an LSTM the flat state is ``(h, c)`` and its first
``n_cells`` coordinates are used; for a GRU, an RNN or a cell whose layout is only ``h`` the
h part is the whole state. The Jacobians and their eigenvectors are those of the full flat
state (the LSTM's dynamics live in ``(h, c)``), and ``r1`` is restricted to h afterwards and
normalised again. The linearization error is reported for the full state and for h.

The Jacobians are computed here in float64 with ``torch.func`` on a private copy of the layer,
so the user's model is never modified.

References
----------
.. [1] Maheswaranathan, N., Williams, A. H., Golub, M. D., Ganguli, S., & Sussillo, D. (2019).
   Reverse engineering recurrent networks for sentiment classification reveals line attractor
   dynamics. Advances in Neural Information Processing Systems 32 (NeurIPS 2019), 15696-15705.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.manifold import LocallyLinearEmbedding
from threadpoolctl import threadpool_limits
from torch.func import jacrev
from tqdm.auto import tqdm

from .._validation import as_float, as_int, to_numpy
from ..models import RecurrentModel, as_model, capture
from ..trace import STATES_BUDGET, Trace
from ._arrays import as_matrix, fixed_point_arrays, trace_states
from ._chunks import StateSource
from ._jacobians import float64_step, step_jacobians

__all__ = [
    "LineAttractor",
    "LinearizationError",
    "StatePCA",
    "line_attractor",
    "linearization_error",
    "state_pca",
    "untrained_copy",
]


# ---------------------------------------------------------------------------------- state PCA


@dataclass(frozen=True)
class StatePCA:
    """Principal components of visited states.

    Attributes
    ----------
    components : ndarray, shape (n_components, n_features)
        Orthonormal rows, in order of variance explained.
    mean : ndarray, shape (n_features,)
        The mean state the components are centered on.
    explained_variance_ratio : ndarray, shape (n_components,)
        The fraction of the total variance along each component.
    cumulative : ndarray, shape (n_components,)
        The running sum of ``explained_variance_ratio``: ``cumulative[k - 1]`` is the variance
        the top ``k`` components explain.
    projected : ndarray, shape (n_states, n_components)
        The states PCA was fitted on, in component coordinates.
    layer : int or None
        The layer, when fitted on a trace.
    kinds : tuple of str
        The kinds concatenated into each state (``("h",)``, or ``("h", "c")`` for an LSTM's
        full flat state); empty when fitted on a plain array.

    """

    components: np.ndarray
    mean: np.ndarray
    explained_variance_ratio: np.ndarray
    cumulative: np.ndarray
    projected: np.ndarray
    layer: int | None
    kinds: tuple[str, ...]

    def n_components_for(self, fraction: float) -> int:
        """The fewest components that explain at least ``fraction`` of the variance."""
        fraction = as_float(fraction, "fraction")
        if not 0 < fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        reached = np.flatnonzero(self.cumulative >= fraction - 1e-12)
        return int(reached[0]) + 1 if len(reached) else len(self.cumulative)

    def transform(self, states: Any) -> np.ndarray:
        """Coordinates ``(states - mean) @ components.T`` of states, shape (n, n_components)."""
        values = as_matrix(states, "states", self.mean.shape[0])
        return (values - self.mean) @ self.components.T

    def inverse_transform(self, coordinates: Any) -> np.ndarray:
        """States ``mean + coordinates @ components[:k]``; missing components are zero."""
        values = np.asarray(to_numpy(coordinates), dtype=np.float64)
        values = values[None] if values.ndim == 1 else values
        k = values.shape[-1] if values.ndim == 2 else -1
        if values.ndim != 2 or not 1 <= k <= len(self.components):
            raise ValueError(
                f"coordinates must have shape (n, k) with 1 <= k <= {len(self.components)}, "
                f"got {np.shape(coordinates)}"
            )
        return self.mean + values @ self.components[:k]


def state_pca(
    states: Trace | np.ndarray | torch.Tensor,
    *,
    layer: int = 0,
    kinds: str | tuple[str, ...] = "h",
    n_components: int | None = None,
    max_states: int | None = 200_000,
    seed: int = 0,
) -> StatePCA:
    """PCA of the states a network visits, with the variance each component explains.

    Maheswaranathan et al. (2019) [1]_ (Fig. 2a) find that a few components explain most of
    the variance of a trained sentiment network's states, far more than of an untrained one's.

    Parameters
    ----------
    states : Trace or array of shape (n_states, n_features)
        A captured trace (its ``layer`` and ``kinds``), or states from anywhere.
    layer : int
        The trace's layer (ignored for an array).
    kinds : str or tuple of str
        The trace's kinds to concatenate per step: ``"h"`` (what the readout reads) or
        ``("h", "c")`` for an LSTM's full flat state, as :func:`phase_portrait` needs.
    n_components : int, optional
        Components to keep (default: all, ``min(n_states, n_features)``).
    max_states : int or None
        Fit on at most this many states, drawn without replacement with ``seed`` (None: all).
        ``projected`` then holds the drawn states only.
    seed : int
        Seed of that draw.

    Returns
    -------
    StatePCA

    Raises
    ------
    TypeError, ValueError
        On a missing layer or kind, fewer than two states, NaNs or a bad ``n_components``.

    References
    ----------
    .. [1] Maheswaranathan, N., Williams, A. H., Golub, M. D., Ganguli, S., & Sussillo, D.
       (2019). Reverse engineering recurrent networks for sentiment classification reveals line
       attractor dynamics. Advances in Neural Information Processing Systems 32 (NeurIPS 2019),
       15696-15705.

    Examples
    --------
    >>> pca = state_pca(trace)                          # doctest: +SKIP
    >>> pca.cumulative[:3]  # ~0.9, trained sentiment network (Maheswaranathan et al., Fig. 2a)

    """
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    if max_states is not None:
        max_states = as_int(max_states, "max_states", minimum=2)
    if isinstance(states, Trace):
        layer = as_int(layer, "layer", minimum=0)
        drawn = _drawn_states(states.n_steps, max_states, seed)
        if drawn is None and _any_lazy(states, layer, kinds):
            return _lazy_state_pca(states, layer, kinds, n_components)
        values = trace_states(states, layer, kinds, drawn)  # only the drawn ones
        fitted_layer: int | None = layer
    else:
        values = as_matrix(states, "states", None)
        drawn = _drawn_states(len(values), max_states, seed)
        values = values if drawn is None else values[drawn]
        kinds, fitted_layer = (), None
    n_components = _n_components(n_components, values.shape)
    components, mean, ratio = _fitted(values, n_components)
    components = np.asarray(components, dtype=np.float64)
    mean = np.asarray(mean, dtype=np.float64)
    return StatePCA(
        components=components,
        mean=mean,
        explained_variance_ratio=ratio,
        cumulative=np.cumsum(ratio),
        projected=(values - mean) @ components.T,
        layer=fitted_layer,
        kinds=kinds,
    )


def _n_components(n_components: Any, shape: tuple[int, int]) -> int:
    """``n_components`` checked against ``(n_states, n_features)`` (None: all)."""
    if shape[0] < 2:
        raise ValueError(f"state_pca needs at least 2 states, got {shape[0]}")
    limit = min(shape)
    if n_components is None:
        return limit
    n_components = as_int(n_components, "n_components", minimum=1)
    if n_components > limit:
        raise ValueError(
            f"n_components must be <= min(n_states, n_features) = {limit}, got {n_components}"
        )
    return n_components


def _any_lazy(trace: Trace, layer: Any, kinds: tuple[str, ...]) -> bool:
    layer = as_int(layer, "layer", minimum=0)
    return any(trace.is_lazy(layer=layer, kind=kind) for kind in kinds)


def _lazy_state_pca(
    trace: Trace, layer: int, kinds: tuple[str, ...], n_components: Any
) -> StatePCA:
    """:func:`state_pca` of every step of a trace whose states stay in their store.

    Fitted from the mean and covariance summed chunk by chunk on dask; the projection of
    every step must fit in :data:`~rnn_widgets.trace.STATES_BUDGET`. (A draw of steps is
    read with ``trace.states_at`` and fitted as in memory.)
    """
    if len(kinds) != 1:
        raise ValueError(
            f"state_pca of every step of a lazy trace reads one kind at a time, got {kinds}; "
            "pass max_states to fit a draw of the steps, or one kind"
        )
    source = StateSource(trace, layer, kinds[0])
    trace.check_finite(layer=layer, kind=kinds[0])
    n_components = _n_components(n_components, source.shape)
    needed = source.shape[0] * n_components * 8
    if needed > STATES_BUDGET:
        raise ValueError(
            f"the projection of all {source.shape[0]} steps on {n_components} components "
            f"takes {needed / 2**30:.1f} GiB, more than STATES_BUDGET; pass max_states "
            "(the default draws 200,000 steps) or fewer n_components"
        )
    shift = np.asarray(source[0 : min(len(source), 4096)], np.float64).mean(axis=0)
    blocks = [(0, a, min(a + 16384, len(source))) for a in range(0, len(source), 16384)]
    with tqdm(total=2 * len(blocks), desc="state_pca", unit="block") as bar:
        sums = source.reduce(
            _moments_kernel, blocks, {"n": "sum", "sx": "sum", "sxx": "sum"},
            args=(shift,), bar=bar,
        )  # fmt: skip
        centred_mean = sums["sx"] / sums["n"]
        covariance = (sums["sxx"] - sums["n"] * np.outer(centred_mean, centred_mean)) / max(
            sums["n"] - 1, 1
        )
        mean = shift + centred_mean
        components, ratio = _eigen_components(covariance, n_components)
        projected = source.reduce(
            _projection_kernel, blocks, {"rows": "concat"}, args=(mean, components), bar=bar
        )["rows"]
    return StatePCA(
        components=np.asarray(components, dtype=np.float64),
        mean=np.asarray(mean, dtype=np.float64),
        explained_variance_ratio=ratio,
        cumulative=np.cumsum(ratio),
        projected=projected,
        layer=layer,
        kinds=kinds,
    )


def _moments_kernel(
    states: np.ndarray, blocks: list[tuple[int, int, int]], shift: np.ndarray, bar: Any
) -> dict[str, np.ndarray]:
    """Steps, sum of x and the sum of x x^T (x shifted), float64."""
    n_cells = states.shape[1]
    sums = {"n": np.zeros(()), "sx": np.zeros(n_cells), "sxx": np.zeros((n_cells, n_cells))}
    for _, start, stop in blocks:
        x = np.asarray(states[start:stop], dtype=np.float64) - shift
        sums["n"] += stop - start
        sums["sx"] += x.sum(axis=0)
        sums["sxx"] += x.T @ x
    bar.update(len(blocks))
    return sums


def _projection_kernel(
    states: np.ndarray,
    blocks: list[tuple[int, int, int]],
    mean: np.ndarray,
    components: np.ndarray,
    bar: Any,
) -> dict[str, np.ndarray]:
    """The rows in component coordinates, (steps, n_components)."""
    parts = [
        (np.asarray(states[start:stop], dtype=np.float64) - mean) @ components.T
        for _, start, stop in blocks
    ]
    bar.update(len(blocks))
    return {"rows": np.concatenate(parts)}


def _fitted(values: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Components, mean and variance ratios of ``values`` (n_states, n_features)."""
    if len(values) >= values.shape[1]:
        return _covariance_pca(values, n_components)
    pca = PCA(n_components=n_components, svd_solver="full").fit(values)
    ratio = np.asarray(pca.explained_variance_ratio_, dtype=np.float64)
    return pca.components_, pca.mean_, ratio


def _covariance_pca(
    values: np.ndarray, n_components: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Components, mean and variance ratios from the eigenvectors of the covariance.

    With more states than features these are a full SVD's components (scikit-learn's
    ``svd_solver="covariance_eigh"``, with its sign convention: each component's largest
    entry positive), ten times faster at 100,000 x 512.
    """
    mean = values.mean(axis=0)
    centered = values - mean
    covariance = centered.T @ centered / max(len(values) - 1, 1)
    components, ratio = _eigen_components(covariance, n_components)
    return components, mean, ratio


def _eigen_components(covariance: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray]:
    """The top ``n_components`` eigenvectors of a covariance (rows) and their variance ratios.

    The small eigenproblem runs on one BLAS thread: OpenBLAS's threaded ``eigh`` on a busy
    two-core machine (or a Binder session) took 4-6 s for 512 x 512 against 0.06 s on one
    thread.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        variances, vectors = np.linalg.eigh(covariance)
    order = np.argsort(variances)[::-1]
    variances = np.clip(variances[order], 0.0, None)
    components = vectors[:, order].T[:n_components]
    largest = np.argmax(np.abs(components), axis=1)
    components *= np.sign(components[np.arange(len(components)), largest])[:, None]
    total = variances.sum()
    ratio = variances[:n_components] / total if total > 0 else np.zeros(n_components)
    return components, ratio


def untrained_copy(model: Any, *, seed: int = 0) -> RecurrentModel:
    """The same model with its recurrent core re-initialised, for an untrained baseline.

    A deep copy of the core gets PyTorch's default initialisation (every submodule's
    ``reset_parameters``) under ``seed``; the embedding, readout and vocabulary are the
    trained ones (shared, not copied: nothing here writes to them). Maheswaranathan et al.
    (2019) [1]_ compare the states an untrained network visits on the same inputs (Fig. 2a).

    Parameters
    ----------
    model : RecurrentModel, nn.LSTM, nn.GRU or nn.RNN
        Not modified.
    seed : int
        Seed of the new weights; the global random state is left as it was.

    Returns
    -------
    RecurrentModel

    Raises
    ------
    TypeError
        On a user cell without torch parameters to re-initialise.

    References
    ----------
    .. [1] Maheswaranathan, N., Williams, A. H., Golub, M. D., Ganguli, S., & Sussillo, D.
       (2019). Reverse engineering recurrent networks for sentiment classification reveals line
       attractor dynamics. Advances in Neural Information Processing Systems 32 (NeurIPS 2019),
       15696-15705.

    """
    model = as_model(model)
    seed = as_int(seed, "seed")
    if not isinstance(model.core, torch.nn.Module):
        raise TypeError(
            "untrained_copy needs a torch module as the model's core (nn.LSTM, nn.GRU, nn.RNN "
            f"or an nn.Module cell); got {type(model.core).__name__}"
        )
    core = copy.deepcopy(model.core)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        resettable = [m for m in core.modules() if hasattr(m, "reset_parameters")]
        if not resettable:
            raise TypeError(
                f"{type(core).__name__} has no reset_parameters(); re-initialise it yourself"
            )
        for module in resettable:
            module.reset_parameters()
    return RecurrentModel(
        core, embedding=model.embedding, readout=model.readout_module, vocab=model.vocab
    )


# ---------------------------------------------------------------------------------- line attractor


@dataclass(frozen=True)
class LineAttractor:
    """How well a set of fixed points forms a line attractor aligned with the readout.

    The measures of Maheswaranathan et al. (2019) [1]_, sections 4.2-4.5.

    Directions live in the h part of the state (see the module docstring): for an LSTM,
    the first ``n_cells`` coordinates of the flat ``(h, c)`` state.

    Attributes
    ----------
    points : ndarray of int, shape (n_points,)
        The indices of the fixed points used.
    direction : ndarray, shape (n_cells,)
        ``m``, the unit main direction of the points' h parts (their first principal
        component). Its sign is chosen so that it points along the last readout row listed
        in ``readout_rows`` (the contrast ``"1-0"`` of a two-class readout).
    coordinate : ndarray, shape (n_points,)
        Each point's position along the manifold, scaled to ``[-1, 1]``: the projection on
        ``m`` (``method="pca"``) or LLE's 1-D embedding (``method="lle"``), its sign matched
        to the projection.
    method : {"pca", "lle"}
    variance_explained : ndarray, shape (n_components,)
        The fraction of the points' variance along each principal component; the first is
        how one-dimensional the manifold is.
    eigenvalue : ndarray of complex, shape (n_points,)
        The top eigenvalue (largest magnitude) of ``J_rec`` at each point.
    r1 : ndarray, shape (n_points, n_cells)
        The h part of each point's top right eigenvector (its phase rotated to make it as
        real as possible, then the real part), unit length.
    r1_overlap : ndarray, shape (n_points,)
        ``|r1 . m|`` at each point (1: ``r1`` along the manifold).
    null_overlap : ndarray, shape (n_null,)
        ``|u . m|`` for random unit vectors ``u`` of dimension n_cells: what chance gives.
    overlap_percentile : ndarray, shape (n_points,)
        The percentage of ``null_overlap`` below each point's overlap.
    p_value : float
        ``(1 + #{null >= median r1_overlap}) / (1 + n_null)``: how often a random direction
        overlaps ``m`` as much as the typical ``r1``.
    readout_rows : tuple of str
        Names of the readout directions compared: ``"0"``, ``"1"``, ... (the rows of the
        readout's weight, i.e. of its Jacobian with respect to h) and, for a two-output
        readout, ``"1-0"`` (the direction that moves the logit difference).
    readout_alignment : ndarray, shape (n_rows,)
        ``|cos(m, w)|`` for each readout direction ``w``.
    r1_readout_alignment : ndarray, shape (n_points, n_rows)
        ``|cos(r1, w)|`` at each point.
    input_projection : ndarray or None, shape (n_points, n_inputs)
        ``Re(l1^T J_inp (x - x*))`` per point and given input x (``x*`` the point's own
        input), with ``l1`` the top left eigenvector scaled so that ``l1^T r1 = 1`` for the
        unit-length full-state ``r1``: how far x moves the state along the slowest mode.
    layer : int

    References
    ----------
    .. [1] Maheswaranathan, N., Williams, A. H., Golub, M. D., Ganguli, S., & Sussillo, D.
       (2019). Reverse engineering recurrent networks for sentiment classification reveals line
       attractor dynamics. Advances in Neural Information Processing Systems 32 (NeurIPS 2019),
       15696-15705.

    """

    points: np.ndarray
    direction: np.ndarray
    coordinate: np.ndarray
    method: str
    variance_explained: np.ndarray
    eigenvalue: np.ndarray
    r1: np.ndarray
    r1_overlap: np.ndarray
    null_overlap: np.ndarray
    overlap_percentile: np.ndarray
    p_value: float
    readout_rows: tuple[str, ...]
    readout_alignment: np.ndarray
    r1_readout_alignment: np.ndarray
    input_projection: np.ndarray | None
    layer: int


def line_attractor(
    model: Any,
    fixed_points: Any,
    *,
    points: Any = None,
    method: Literal["pca", "lle"] = "pca",
    n_neighbors: int = 10,
    inputs: Any = None,
    readout_weights: Any = None,
    n_null: int = 10_000,
    seed: int = 0,
) -> LineAttractor:
    """Measure the line-attractor hypothesis on a set of fixed points.

    The measures of Maheswaranathan et al. (2019) [1]_, sections 4.2-4.5: the manifold's main
    direction, its alignment with the readout and with each point's slowest mode, and the
    projection of inputs onto that mode.

    Parameters
    ----------
    model : RecurrentModel, nn.LSTM, nn.GRU or nn.RNN
        The model the points belong to; not modified.
    fixed_points : FixedPoints
        From :func:`find_fixed_points` (anything with ``states``, ``inputs`` and ``layer``).
    points : index array or boolean mask, optional
        Which fixed points to use (default: all). At least 3 are needed.
    method : {"pca", "lle"}
        How the 1-D ``coordinate`` is computed: the projection on ``m``, or
        ``LocallyLinearEmbedding(n_components=1)`` on the points' h parts (their check that
        the manifold is 1-D even where it curves).
    n_neighbors : int
        LLE's neighbours (capped at n_points - 1).
    inputs : array of shape (n_inputs, input_size), optional
        Input vectors x whose projection ``l1^T J_inp (x - x*)`` to report, e.g. token
        embeddings ``model.encode(["great", "bad", "the"])``.
    readout_weights : array of shape (n_outputs, n_cells), optional
        The readout directions; by default the Jacobian of ``model.readout`` with respect to
        h at the points' mean h (the weight matrix of a linear readout). Required when the
        model has no readout or the layer is not the one the readout reads.
    n_null : int
        Random unit vectors in the null distribution.
    seed : int
        Seed of the null distribution.

    Returns
    -------
    LineAttractor

    Raises
    ------
    TypeError, ValueError
        On points that do not belong to the model's layer, fewer than 3 points, an unknown
        method, inputs or readout weights of the wrong width.

    References
    ----------
    .. [1] Maheswaranathan, N., Williams, A. H., Golub, M. D., Ganguli, S., & Sussillo, D.
       (2019). Reverse engineering recurrent networks for sentiment classification reveals line
       attractor dynamics. Advances in Neural Information Processing Systems 32 (NeurIPS 2019),
       15696-15705.

    """
    model = as_model(model)
    states, point_inputs, layer = fixed_point_arrays(model, fixed_points)
    chosen = _chosen_points(points, len(states))
    if len(chosen) < 3:
        raise ValueError(
            f"line_attractor needs at least 3 fixed points, got {len(chosen)}; search from more "
            "initial states or pass more points"
        )
    if method not in ("pca", "lle"):
        raise ValueError(f"method must be 'pca' or 'lle', got {method!r}")
    n_neighbors = as_int(n_neighbors, "n_neighbors", minimum=1)
    n_null = as_int(n_null, "n_null", minimum=1)
    states, point_inputs = states[chosen], point_inputs[chosen]
    h_part = model.state_layout(layer=layer)["h"]
    h = states[:, h_part]
    rows, weights = _readout_directions(model, layer, h, readout_weights)
    given = None if inputs is None else as_matrix(inputs, "inputs", model.input_size(layer=layer))

    pca = PCA(svd_solver="full").fit(h)
    direction = _unit(pca.components_[0])
    if weights is not None and direction @ weights[-1] < 0:
        direction = -direction
    projection = (h - h.mean(axis=0)) @ direction
    coordinate = _scaled(projection)
    if method == "lle":
        coordinate = _lle_coordinate(h, min(n_neighbors, len(h) - 1), projection)

    step = float64_step(model, layer)
    j_rec, j_inp = step_jacobians(step, states, point_inputs)
    eigenvalue, right, left = _top_modes(j_rec)
    r1 = np.stack([_unit(vector[h_part]) for vector in right.real])
    r1_overlap = np.abs(r1 @ direction)
    null = _null_overlaps(direction, n_null, seed)
    percentile = 100.0 * np.searchsorted(np.sort(null), r1_overlap, side="left") / n_null
    p_value = float((1 + np.sum(null >= np.median(r1_overlap))) / (1 + n_null))
    projection_of_inputs = None
    if given is not None:
        moved = np.einsum("ksi,kni->kns", j_inp, given[None] - point_inputs[:, None])
        projection_of_inputs = np.einsum("ks,kns->kn", left, moved).real
    return LineAttractor(
        points=chosen,
        direction=direction,
        coordinate=coordinate,
        method=method,
        variance_explained=np.asarray(pca.explained_variance_ratio_, dtype=np.float64),
        eigenvalue=eigenvalue,
        r1=r1,
        r1_overlap=r1_overlap,
        null_overlap=null,
        overlap_percentile=percentile,
        p_value=p_value,
        readout_rows=rows,
        readout_alignment=_abs_cos(direction[None], weights)[0],
        r1_readout_alignment=_abs_cos(r1, weights),
        input_projection=projection_of_inputs,
        layer=layer,
    )


def _readout_directions(
    model: RecurrentModel, layer: int, h: np.ndarray, readout_weights: Any
) -> tuple[tuple[str, ...], np.ndarray]:
    n_cells = h.shape[1]
    if readout_weights is not None:
        weights = as_matrix(readout_weights, "readout_weights", n_cells)
    else:
        if model.readout_module is None:
            raise ValueError(
                "the model has no readout; pass readout_weights=array of shape (n_outputs, "
                f"{n_cells}) to compare directions with"
            )
        if model.directions != 1 or layer != model.n_layers - 1:
            raise ValueError(
                f"the readout reads the last layer's h ({model.n_features} features), not layer "
                f"{layer} alone; pass readout_weights=array of shape (n_outputs, {n_cells})"
            )
        weights = _readout_jacobian(model, h.mean(axis=0))
    names = [str(row) for row in range(len(weights))]
    if len(weights) == 2:
        weights = np.concatenate([weights, (weights[1] - weights[0])[None]])
        names.append("1-0")
    return tuple(names), weights


def _readout_jacobian(model: RecurrentModel, h: np.ndarray) -> np.ndarray:
    parameters = list(model.readout_module.parameters())
    dtype = parameters[0].dtype if parameters else model.dtype
    point = torch.as_tensor(h, dtype=dtype, device=model.device)
    jacobian = jacrev(lambda value: model.readout(value[None])[0])(point)
    return jacobian.detach().cpu().double().numpy()


def _lle_coordinate(h: np.ndarray, n_neighbors: int, projection: np.ndarray) -> np.ndarray:
    lle = LocallyLinearEmbedding(
        n_components=1, n_neighbors=n_neighbors, eigen_solver="dense", random_state=0
    )
    embedded = lle.fit_transform(h)[:, 0]
    if np.corrcoef(embedded, projection)[0, 1] < 0:
        embedded = -embedded
    return _scaled(embedded - embedded.mean())


def _top_modes(j_rec: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each matrix's top eigenvalue, its unit right eigenvector and the matching left one.

    The right eigenvector's phase is rotated so its largest entry is real and positive (a
    real eigenvector comes out real); the left one is the matching row of ``R^-1``, scaled
    so that ``l1 . r1 = 1``.
    """
    values, right = np.linalg.eig(j_rec)
    top = np.argmax(np.abs(values), axis=1)
    rows = np.arange(len(values))
    r1 = right[rows, :, top]
    phase = r1[rows, np.argmax(np.abs(r1), axis=1)]
    r1 = r1 * (np.abs(phase) / phase)[:, None]
    r1 = r1 / np.linalg.norm(r1, axis=1, keepdims=True)
    left = np.linalg.inv(right)[rows, top, :]
    left = left / np.einsum("ks,ks->k", left, r1)[:, None]
    return values[rows, top], r1, left


def _null_overlaps(direction: np.ndarray, n_null: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n_null, len(direction)))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.abs(vectors @ direction)


def _abs_cos(vectors: np.ndarray, weights: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1)[:, None] * np.linalg.norm(weights, axis=1)[None]
    return np.abs(vectors @ weights.T) / np.where(norms > 0, norms, 1.0)


def _scaled(values: np.ndarray) -> np.ndarray:
    peak = np.abs(values).max()
    return values / peak if peak > 0 else values.copy()


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(vector)
    return vector / norm if norm > 0 else vector


def average_input(model: Any, sequences: Any, *, layer: int = 0) -> np.ndarray:
    """The mean input vector a layer reads over real sequences: a constant input x* to analyse.

    Maheswaranathan et al. (2019) [1]_ linearize around fixed points under zero input, and note
    that linearizing around the average embedding over all words gives the same results
    because that average is almost zero in their networks. Where it is not (a small vocabulary
    dominated by a few neutral words whose embeddings are not zero), zero is an input the
    network never reads, and its dynamics under zero input are not those it integrates with;
    pass this average as ``inputs`` to :func:`find_fixed_points` instead.

    Parameters
    ----------
    model : RecurrentModel, nn.LSTM, nn.GRU or nn.RNN
        Not modified.
    sequences : list of sequences or Trace
        Sequences as :func:`capture` takes them, or a trace captured from this model (its
        tokens are encoded again, so it needs the model's vocabulary).
    layer : int
        The layer whose input to average (for layer > 0, the h of the layer below).

    Returns
    -------
    ndarray of float64, shape (input_size,)

    Raises
    ------
    TypeError, ValueError
        On a layer the model lacks, sequences it cannot read, or a trace without the layer.

    References
    ----------
    .. [1] Maheswaranathan, N., Williams, A. H., Golub, M. D., Ganguli, S., & Sussillo, D.
       (2019). Reverse engineering recurrent networks for sentiment classification reveals line
       attractor dynamics. Advances in Neural Information Processing Systems 32 (NeurIPS 2019),
       15696-15705.

    """
    model = as_model(model)
    layer = model.check_layer(layer=layer)
    _, x = _trajectories(model, layer, sequences)
    if len(x) == 0:
        raise ValueError("sequences holds no step; pass at least one non-empty sequence")
    return x.mean(axis=0)


# ---------------------------------------------------------------------------------- linearization


@dataclass(frozen=True)
class LinearizationError:
    """The one-step error of the linearized dynamics along real trajectories (Fig. 5).

    Fig. 5 of Maheswaranathan et al. (2019) [1]_ measures it so.

    At every step t the state ``h_t = F(h_{t-1}, x_t)`` (computed in float64 from the
    recorded ``h_{t-1}``) is compared with ``h_lin = h* + J_rec (h_{t-1} - h*) + J_inp (x_t -
    x*)`` at the fixed point ``(h*, x*)`` nearest to ``h_{t-1}`` (Euclidean, full state).

    Attributes
    ----------
    errors : ndarray, shape (n_steps,)
        ``||h_lin - h_t|| / ||h_t||`` over the full flat state, one per step, in trace order.
    errors_h : ndarray, shape (n_steps,)
        The same over the h part only (equal to ``errors`` where the state is only h).
    nearest : ndarray of int, shape (n_steps,)
        The index (into the fixed points) of the point used at each step.
    distance : ndarray, shape (n_steps,)
        ``||h_{t-1} - h*||`` at each step.
    layer : int

    References
    ----------
    .. [1] Maheswaranathan, N., Williams, A. H., Golub, M. D., Ganguli, S., & Sussillo, D.
       (2019). Reverse engineering recurrent networks for sentiment classification reveals line
       attractor dynamics. Advances in Neural Information Processing Systems 32 (NeurIPS 2019),
       15696-15705.

    """

    errors: np.ndarray
    errors_h: np.ndarray
    nearest: np.ndarray
    distance: np.ndarray
    layer: int

    @property
    def median(self) -> float:
        """The median relative error over all steps (full state)."""
        return float(np.median(self.errors))

    @property
    def mean(self) -> float:
        """The mean relative error over all steps (full state)."""
        return float(np.mean(self.errors))


def linearization_error(
    model: Any,
    fixed_points: Any,
    sequences: Any,
    *,
    points: Any = None,
    progress: bool = True,
) -> LinearizationError:
    """One-step relative error of the dynamics linearized at the nearest fixed point.

    How well the linearization holds along real trajectories, as Maheswaranathan et al.
    (2019) [1]_ measure it (Fig. 5).

    Parameters
    ----------
    model : RecurrentModel, nn.LSTM, nn.GRU or nn.RNN
        Not modified.
    fixed_points : FixedPoints
        Points of ``fixed_points.layer`` to linearize around.
    sequences : list of sequences or Trace
        Real trajectories: sequences as :func:`capture` takes them (captured here), or a
        trace captured from this model (its tokens are encoded again to get the inputs, so it
        needs the model's vocabulary).
    points : index array or boolean mask, optional
        Which fixed points may serve (default: all).
    progress : bool
        Show a progress bar over the fixed points; Ctrl+C stops and propagates.

    Returns
    -------
    LinearizationError

    Raises
    ------
    TypeError, ValueError
        On points of another width, an empty selection, a bidirectional layer, or a trace
        that lacks the layer's states.

    References
    ----------
    .. [1] Maheswaranathan, N., Williams, A. H., Golub, M. D., Ganguli, S., & Sussillo, D.
       (2019). Reverse engineering recurrent networks for sentiment classification reveals line
       attractor dynamics. Advances in Neural Information Processing Systems 32 (NeurIPS 2019),
       15696-15705.

    """
    model = as_model(model)
    states, point_inputs, layer = fixed_point_arrays(model, fixed_points)
    chosen = _chosen_points(points, len(states))
    if len(chosen) == 0:
        raise ValueError("points selects no fixed point; pass at least one")
    if model.directions != 1:
        raise ValueError(
            "linearization_error reads trajectories forward; bidirectional models are not supported"
        )
    previous, x = _trajectories(model, layer, sequences)
    step = float64_step(model, layer)
    with torch.no_grad():
        following = step(torch.from_numpy(previous), torch.from_numpy(x)).numpy()
    centers = states[chosen]
    distances = torch.cdist(torch.from_numpy(previous), torch.from_numpy(centers))
    distance, nearest = (value.numpy() for value in distances.min(dim=1))
    linear = np.empty_like(following)
    used = np.unique(nearest)
    j_rec, j_inp = step_jacobians(step, centers[used], point_inputs[chosen][used])
    for index, point in enumerate(tqdm(used, desc="linearization", disable=not progress)):
        rows = nearest == point
        center, center_input = centers[point], point_inputs[chosen][point]
        linear[rows] = (
            center
            + (previous[rows] - center) @ j_rec[index].T
            + (x[rows] - center_input) @ j_inp[index].T
        )
    h_part = model.state_layout(layer=layer)["h"]
    return LinearizationError(
        errors=_relative(linear, following),
        errors_h=_relative(linear[:, h_part], following[:, h_part]),
        nearest=chosen[nearest],
        distance=distance,
        layer=layer,
    )


def _relative(estimate: np.ndarray, truth: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(truth, axis=1)
    return np.linalg.norm(estimate - truth, axis=1) / np.where(norm > 0, norm, 1.0)


def _trajectories(model: RecurrentModel, layer: int, source: Any) -> tuple[np.ndarray, np.ndarray]:
    """The state before each step and the step's input, float64, in trace order."""
    if isinstance(source, Trace):
        trace = source
        encoded = []
        if layer == 0:  # a deeper layer's inputs are the recorded h of the layer below
            if model.vocab is None:
                raise ValueError(
                    "a trace's tokens can only be encoded again through the model's vocabulary; "
                    "pass the sequences themselves (as given to capture) instead of the trace"
                )
            encoded = [model.encode(trace.sequence_tokens(i)) for i in range(trace.n_sequences)]
    else:
        prepared, _ = model.prepare(source, "sequences")
        kinds = _layout_kinds(model, layer)
        trace = capture(
            model, source, layers=range(layer + 1), kinds=kinds, top_k=0, progress=False
        )
        with model.eval_mode(), torch.no_grad():
            encoded = [model.embed([sequence])[:, 0] for sequence in prepared]
    after = trace_states(trace, layer, _layout_kinds(model, layer))
    if after.shape[1] != model.state_size(layer=layer):
        raise ValueError(
            f"the trace's states of layer {layer} have width {after.shape[1]}, the model's state "
            f"{model.state_size(layer=layer)}; pass a trace captured from this model"
        )
    if layer == 0:
        x = np.concatenate([e.detach().cpu().double().numpy() for e in encoded])
    else:
        trace.check_finite(layer=layer - 1, kind="h")
        x = np.asarray(trace.states(layer=layer - 1, kind="h"), dtype=np.float64)
    if len(x) != len(after):
        raise ValueError(
            f"the trace has {len(after)} steps but its tokens encode to {len(x)} inputs; pass "
            "a trace captured from this model"
        )
    before = np.empty_like(after)
    for start, stop in trace.sequence_bounds:
        before[start] = 0.0
        before[start + 1 : stop] = after[start : stop - 1]
    return before, x


def _layout_kinds(model: RecurrentModel, layer: int) -> tuple[str, ...]:
    return tuple(model.state_layout(layer=layer))


# ---------------------------------------------------------------------------------- shared


def _drawn_states(n_states: int, max_states: int | None, seed: int) -> np.ndarray | None:
    """Sorted indices of ``max_states`` states drawn without replacement, or None for all."""
    if max_states is None or n_states <= max_states:
        return None
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_states, max_states, replace=False))


def _chosen_points(points: Any, n_points: int) -> np.ndarray:
    if points is None:
        return np.arange(n_points)
    array = np.asarray(to_numpy(points))
    if array.dtype == bool:
        if array.shape != (n_points,):
            raise ValueError(f"a points mask must have shape ({n_points},), got {array.shape}")
        return np.flatnonzero(array)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise TypeError("points must be a 1-D index array or a boolean mask over the points")
    if len(array) and (array.min() < -n_points or array.max() >= n_points):
        raise ValueError(f"points must index 0 .. {n_points - 1}, got {array.min()}..{array.max()}")
    return np.unique(array % n_points)
