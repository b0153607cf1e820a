"""Phase portraits and limit cycles under constant inputs.

The analyses of *Explaining RNN computations through hidden state dynamics* [1]_ (its Figures
8-10: phase portraits under constant inputs, and the period-3 orbit of the modulo-3 counter).

* :func:`phase_portrait` -- trajectories under each constant input from a grid of states
  reconstructed from a PCA plane, with the fixed points projected on that plane.
* :func:`find_limit_cycles` -- periodic orbits: from many starting states the dynamics run
  until transients die, returns ``||F^p(h) - h||`` for ``p <= max_period`` are detected, each
  candidate is refined by damped Newton (Levenberg-Marquardt) on ``F^p(h) - h`` with Jacobians
  from ``torch.func``, orbits found from different phases are merged into one, and each
  orbit's stability is judged by its Floquet multipliers: the eigenvalues of the product of
  ``J_rec`` around the orbit, ``J(h_{p-1}) ... J(h_1) J(h_0)``.

For a map (a recurrent network reads one input per step) every multiplier counts: unlike a
flow's periodic orbit there is no trivial multiplier 1 along the orbit. An orbit is
``"stable"`` when all ``|mu| < 1 - eps``, ``"marginal"`` when the largest is within ``eps``
of 1, ``"saddle"`` when some but not all exceed ``1 + eps``, ``"unstable"`` when all do, as
for fixed points. Forward iteration only reaches attracting orbits; an unstable orbit is
found only when a starting state lies on it.

Everything runs in float64 on a private copy of the layer; the user's model is untouched.

References
----------
.. [1] Explaining RNN computations through hidden state dynamics. (The copy this project follows
   names no authors or venue.)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from torch.func import jacrev, vmap
from tqdm.auto import tqdm

from .._validation import as_allocation, as_float, as_int, to_numpy
from ..models import as_model
from ..trace import Trace
from ._arrays import as_matrix, fixed_point_arrays, trace_states
from ._dynamics import StatePCA
from ._jacobians import float64_step, step_jacobians

__all__ = ["LimitCycles", "Orbit", "PhasePortrait", "find_limit_cycles", "phase_portrait"]


# ---------------------------------------------------------------------------------- portraits


@dataclass(frozen=True)
class PhasePortrait:
    """Trajectories from a grid of states in a plane, under each constant input.

    Attributes
    ----------
    starts : ndarray, shape (n_starts, 2)
        The plane coordinates of the starting states.
    trajectories : ndarray, shape (n_conditions, n_starts, steps + 1, state_size)
        The full states, the first being ``mean + a * u + b * v`` for start ``(a, b)``.
    projected : ndarray, shape (n_conditions, n_starts, steps + 1, 2)
        The trajectories projected on the plane: ``(state - mean) @ [u, v].T``.
    inputs : ndarray, shape (n_conditions, input_size)
        The constant input of each condition.
    fixed_points : ndarray or None, shape (n_points, 2)
        The given fixed points projected on the plane.
    fixed_point_condition : ndarray of int or None, shape (n_points,)
        The condition of each projected fixed point (the index of its input among ``inputs``,
        -1 where it matches none).
    mean : ndarray, shape (state_size,)
    basis : ndarray, shape (2, state_size)
        The plane's two orthonormal directions ``u, v``.
    layer : int

    """

    starts: np.ndarray
    trajectories: np.ndarray
    projected: np.ndarray
    inputs: np.ndarray
    fixed_points: np.ndarray | None
    fixed_point_condition: np.ndarray | None
    mean: np.ndarray
    basis: np.ndarray
    layer: int


def phase_portrait(
    model: Any,
    pca_or_basis: StatePCA | tuple[Any, Any],
    *,
    inputs: Any = None,
    grid: int | Any = 11,
    extent: tuple[float, float, float, float] | None = None,
    steps: int = 30,
    layer: int = 0,
    fixed_points: Any = None,
    progress: bool = True,
) -> PhasePortrait:
    """Trajectories under constant inputs from a grid of states in a PCA plane.

    The phase portraits of *Explaining RNN computations through hidden state dynamics* [1]_
    (Figures 8-10): trajectories from uniformly spaced points of a PCA plane, reconstructed as
    states.

    Each starting state is ``mean + a * u + b * v``: the plane's point ``(a, b)`` with every
    other principal component set to zero, i.e. at the mean along the directions the plane
    leaves out. The states are the layer's full flat state, so for an LSTM fit the PCA on
    ``state_pca(trace, kinds=("h", "c"))``.

    Parameters
    ----------
    model : RecurrentModel, nn.LSTM, nn.GRU or nn.RNN
        Not modified.
    pca_or_basis : StatePCA or (mean, basis)
        The plane: a :class:`StatePCA` (its mean and first two components) or a mean of shape
        (state_size,) with two directions of shape (2, state_size) (orthonormalised here).
    inputs : None, array of shape (input_size,) or (n_conditions, input_size)
        The constant inputs; zero by default.
    grid : int or array of shape (n_starts, 2)
        Points per axis of a regular grid over ``extent`` (at most :data:`MAX_GRID`, 200), or
        the plane coordinates themselves. The trajectories (conditions x starts x (steps +
        1) x state size) may hold at most ``MAX_ARRAY_VALUES`` (2 * 10**8) values.
    extent : (a_min, a_max, b_min, b_max), optional
        The grid's range; by default the range of the PCA's projected states, widened by
        10 %. Required with a bare basis and an int grid.
    steps : int
        Steps each trajectory runs.
    layer : int
        The layer (its input is the constant input).
    fixed_points : FixedPoints, optional
        Projected on the plane and matched to the conditions by their input.
    progress : bool
        Show a progress bar over the steps; Ctrl+C stops and propagates.

    Returns
    -------
    PhasePortrait

    Raises
    ------
    TypeError, ValueError
        On a plane of the wrong width (e.g. an LSTM's PCA fitted on h alone), bad inputs,
        grid, extent or steps.

    References
    ----------
    .. [1] Explaining RNN computations through hidden state dynamics. (The copy this project
       follows names no authors or venue.)

    """
    model = as_model(model)
    layer = model.check_layer(layer=layer)
    size = model.state_size(layer=layer)
    steps = as_int(steps, "steps", minimum=1)
    mean, basis = _plane(pca_or_basis, size)
    conditions = _conditions(model, inputs, layer)
    starts = _grid(grid, extent, pca_or_basis)
    as_allocation(
        "phase_portrait's trajectories",
        {
            "conditions": len(conditions),
            "starts": len(starts),
            "steps + 1": steps + 1,
            "state_size": size,
        },
        fix="lower grid or steps",
    )
    step = float64_step(model, layer)
    h = torch.from_numpy(mean + starts @ basis)
    trajectories = np.empty((len(conditions), len(starts), steps + 1, size))
    bar = tqdm(total=len(conditions) * steps, desc="phase portrait", disable=not progress)
    with torch.no_grad(), bar:
        for index, x in enumerate(conditions):
            state, inputs_of = h.clone(), torch.from_numpy(x).expand(len(starts), -1)
            trajectories[index, :, 0] = state.numpy()
            for t in range(steps):
                state = step(state, inputs_of)
                trajectories[index, :, t + 1] = state.numpy()
                bar.update(1)
    projected_points, point_condition = None, None
    if fixed_points is not None:
        states, point_inputs, _ = fixed_point_arrays(model, fixed_points)
        projected_points = (states - mean) @ basis.T
        point_condition = _match_conditions(point_inputs, conditions)
    return PhasePortrait(
        starts=starts,
        trajectories=trajectories,
        projected=(trajectories - mean) @ basis.T,
        inputs=conditions,
        fixed_points=projected_points,
        fixed_point_condition=point_condition,
        mean=mean,
        basis=basis,
        layer=layer,
    )


def _plane(pca_or_basis: Any, size: int) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(pca_or_basis, StatePCA):
        mean, basis = pca_or_basis.mean, pca_or_basis.components[:2]
        if len(basis) < 2:
            raise ValueError("the StatePCA has fewer than 2 components; fit it with 2 or more")
    elif isinstance(pca_or_basis, tuple) and len(pca_or_basis) == 2:
        mean = np.asarray(to_numpy(pca_or_basis[0]), dtype=np.float64)
        basis = as_matrix(pca_or_basis[1], "pca_or_basis[1]", None)
        if mean.shape != (size,) or basis.shape != (2, size):
            raise ValueError(
                f"pca_or_basis must be (mean of shape ({size},), basis of shape (2, {size})), "
                f"got {mean.shape} and {basis.shape}"
            )
        # orthonormalise, keeping each direction's sense
        q, r = np.linalg.qr(basis.T)
        basis = q.T * np.sign(np.diag(r))[:, None]
    else:
        raise TypeError(
            "pca_or_basis must be a StatePCA or a tuple (mean, basis), got "
            f"{type(pca_or_basis).__name__}"
        )
    if mean.shape[0] != size:
        raise ValueError(
            f"the plane has width {mean.shape[0]} but the layer's flat state has {size}; for an "
            "LSTM fit the PCA on the full state: state_pca(trace, kinds=('h', 'c'))"
        )
    return mean, basis


#: The most grid points per side of a phase portrait: 200 x 200 = 40,000 faint trajectories,
#: far more than a plot resolves; a typo such as grid=10**6 would start 10**12 trajectories
#: (the grid alone 16 TB, the trajectories petabytes).
MAX_GRID = 200
_GRID_WHY = "grid points per side; grid**2 trajectories are run"


def _grid(grid: Any, extent: Any, pca_or_basis: Any) -> np.ndarray:
    if not isinstance(grid, int | np.integer) or isinstance(grid, bool):
        return as_matrix(grid, "grid", 2)
    count = as_int(grid, "grid", minimum=1, maximum=MAX_GRID, why=_GRID_WHY)
    if extent is None:
        if not isinstance(pca_or_basis, StatePCA):
            raise ValueError("extent=(a_min, a_max, b_min, b_max) is needed with a bare basis")
        low, high = pca_or_basis.projected[:, :2].min(0), pca_or_basis.projected[:, :2].max(0)
        pad = 0.1 * (high - low)
        extent = (low[0] - pad[0], high[0] + pad[0], low[1] - pad[1], high[1] + pad[1])
    values = [as_float(value, "extent") for value in np.asarray(extent, dtype=object).ravel()]
    if len(values) != 4 or values[0] > values[1] or values[2] > values[3]:
        raise ValueError(f"extent must be (a_min, a_max, b_min, b_max), got {extent!r}")
    a, b = np.meshgrid(np.linspace(*values[:2], count), np.linspace(*values[2:], count))
    return np.stack([a.ravel(), b.ravel()], axis=1)


def _match_conditions(point_inputs: np.ndarray, conditions: np.ndarray) -> np.ndarray:
    distance = np.abs(point_inputs[:, None] - conditions[None]).max(axis=2)
    matched = np.argmin(distance, axis=1)
    return np.where(distance[np.arange(len(matched)), matched] < 1e-9, matched, -1)


# ---------------------------------------------------------------------------------- limit cycles


@dataclass(frozen=True)
class Orbit:
    """One periodic orbit under a constant input.

    Attributes
    ----------
    states : ndarray, shape (period, state_size)
        ``h_0, F(h_0), ..., F^(p-1)(h_0)``, starting (a canonical phase) at the point whose
        coordinates come first in lexicographic order.
    period : int
        The smallest ``p`` with ``F^p(h_0) = h_0`` (1: a fixed point, reported only with
        ``include_fixed_points=True``).
    condition : int
        The index of the constant input among the conditions searched.
    input : ndarray, shape (input_size,)
    residual : float
        ``||F^p(h_0) - h_0||`` after refinement.
    multipliers : ndarray of complex, shape (state_size,)
        Floquet multipliers: eigenvalues of ``J(h_{p-1}) ... J(h_0)``, by magnitude, largest
        first.
    stability : str
        ``"stable"``, ``"marginal"``, ``"saddle"`` or ``"unstable"`` (module docstring).
    n_found : int
        How many starting states ended on this orbit.

    """

    states: np.ndarray
    period: int
    condition: int
    input: np.ndarray
    residual: float
    multipliers: np.ndarray
    stability: str
    n_found: int


@dataclass(frozen=True)
class LimitCycles:
    """The periodic orbits found, ordered by condition, period, then first coordinate.

    Attributes
    ----------
    orbits : tuple of Orbit
    inputs : ndarray, shape (n_conditions, input_size)
        The constant inputs searched.
    max_period, tolerance, eps
        The settings used.
    layer : int

    """

    orbits: tuple[Orbit, ...]
    inputs: np.ndarray
    max_period: int
    tolerance: float
    eps: float
    layer: int

    def __len__(self) -> int:
        return len(self.orbits)

    def __iter__(self) -> Iterator[Orbit]:
        return iter(self.orbits)

    def __getitem__(self, index: int) -> Orbit:
        return self.orbits[index]

    @property
    def periods(self) -> np.ndarray:
        """The period of each orbit, shape (n_orbits,)."""
        return np.array([orbit.period for orbit in self.orbits], dtype=np.int64)


def find_limit_cycles(
    model: Any,
    initial_states: Trace | np.ndarray | torch.Tensor,
    inputs: Any = None,
    *,
    max_period: int = 10,
    tolerance: float = 1e-8,
    n: int = 256,
    noise: float = 0.0,
    seed: int = 0,
    layer: int = 0,
    transient: int = 500,
    newton_iterations: int = 30,
    include_fixed_points: bool = False,
    eps: float = 1e-3,
    merge_distance: float = 1e-6,
    progress: bool = True,
) -> LimitCycles:
    """Find attracting periodic orbits of one layer under constant inputs.

    Such as the stable period-3 orbit of the modulo-3 counter under input 1 in *Explaining RNN
    computations through hidden state dynamics* [1]_ (Figure 8).

    From ``n`` starting states per condition the dynamics run ``transient`` steps; a state
    that returns within ``1e-3 * (1 + ||h||)`` of itself after ``p <= max_period`` steps (the
    smallest such p) is refined by Levenberg-Marquardt on ``F^p(h) - h`` and kept when
    ``||F^p(h) - h|| < tolerance``. Its period is then the smallest divisor q of p with
    ``||F^q(h) - h|| < tolerance``. Orbits with the same period and the same points (each
    within ``merge_distance`` of one of the other's), found from different phases or starts,
    are one orbit.

    Parameters
    ----------
    model : RecurrentModel, nn.LSTM, nn.GRU or nn.RNN
        Not modified.
    initial_states : Trace or array of shape (n_states, state_size)
        States to start from; ``n`` are drawn (with replacement if fewer). From a trace, the
        layer's state layout (``h``, and ``c`` for an LSTM) makes the flat state.
    inputs : None, array of shape (input_size,) or (n_conditions, input_size)
        The constant inputs; zero by default.
    max_period : int
        The longest period looked for.
    tolerance : float
        Largest ``||F^p(h) - h||`` (Euclidean) of an accepted orbit.
    n : int
        Starting states per condition; ``n * (max_period + 1) * state_size`` and
        ``n * state_size**2`` may be at most ``MAX_ARRAY_VALUES`` (2 * 10**8).
    noise : float
        Gaussian noise added to the starts, relative to the states' standard deviation.
    seed : int
        Seed of the draw and the noise.
    layer : int
        The layer (its input is the constant input).
    transient : int
        Steps run before looking for returns; raise it for orbits that attract slowly.
    newton_iterations : int
        Refinement iterations at most.
    include_fixed_points : bool
        Report fixed points (period 1) as orbits too; by default they are left out (use
        :func:`find_fixed_points` for them).
    eps : float
        The margin around ``|mu| = 1`` that makes an orbit marginal.
    merge_distance : float
        Points closer than this are the same point.
    progress : bool
        Show a progress bar over the conditions; Ctrl+C stops and propagates.

    Returns
    -------
    LimitCycles

    Raises
    ------
    TypeError, ValueError
        On states or inputs of the wrong width, no states, or bad numbers.

    References
    ----------
    .. [1] Explaining RNN computations through hidden state dynamics. (The copy this project
       follows names no authors or venue.)

    """
    model = as_model(model)
    layer = model.check_layer(layer=layer)
    max_period = as_int(max_period, "max_period", minimum=1)
    n = as_int(n, "n", minimum=1)
    transient = as_int(transient, "transient", minimum=0)
    newton_iterations = as_int(newton_iterations, "newton_iterations", minimum=0)
    tolerance, eps = as_float(tolerance, "tolerance"), as_float(eps, "eps")
    noise, merge_distance = as_float(noise, "noise"), as_float(merge_distance, "merge_distance")
    if tolerance <= 0 or eps <= 0 or noise < 0 or merge_distance <= 0:
        raise ValueError("tolerance, eps and merge_distance must be > 0, noise >= 0")
    if not isinstance(include_fixed_points, bool):
        raise TypeError(f"include_fixed_points must be a bool, got {include_fixed_points!r}")
    visited = _visited(model, initial_states, layer)
    conditions = _conditions(model, inputs, layer)
    size = model.state_size(layer=layer)
    fix = "lower n or max_period"
    as_allocation(
        "find_limit_cycles's paths", {"n": n, "max_period + 1": max_period + 1, "state_size": size},
        fix=fix,
    )  # fmt: skip
    as_allocation("find_limit_cycles's Jacobians", {"n": n, "state_size**2": size * size}, fix=fix)
    step = float64_step(model, layer)
    rng = np.random.default_rng(seed)
    scale = visited.std(axis=0)
    orbits: list[Orbit] = []
    for index in tqdm(range(len(conditions)), desc="limit cycles", disable=not progress):
        start = visited[rng.integers(0, len(visited), n)]
        start = start + noise * scale * rng.standard_normal(start.shape)
        x = torch.from_numpy(conditions[index])
        found = _orbits_under(
            step, torch.from_numpy(start), x, max_period, transient, newton_iterations, tolerance
        )
        found = [(h, p, r) for h, p, r in found if include_fixed_points or p > 1]
        for states, period, residual, count in _merged(step, x, found, merge_distance):
            multipliers = _floquet(step, states, conditions[index])
            orbits.append(
                Orbit(
                    states=states,
                    period=period,
                    condition=index,
                    input=conditions[index].copy(),
                    residual=residual,
                    multipliers=multipliers,
                    stability=_stability(multipliers, eps),
                    n_found=count,
                )
            )
    return LimitCycles(
        orbits=tuple(orbits),
        inputs=conditions,
        max_period=max_period,
        tolerance=tolerance,
        eps=eps,
        layer=layer,
    )


def _orbits_under(
    step: Any,
    start: torch.Tensor,
    x: torch.Tensor,
    max_period: int,
    transient: int,
    newton_iterations: int,
    tolerance: float,
) -> list[tuple[np.ndarray, int, float]]:
    """Refined periodic points ``(h_0, period, residual)`` reached from the starts."""
    inputs = x.expand(len(start), -1)
    with torch.no_grad():
        h = start.clone()
        for _ in range(transient):
            h = step(h, inputs)
        h = h[torch.isfinite(h).all(dim=1)]
        path = [h]
        for _ in range(max_period):
            path.append(step(path[-1], inputs[: len(h)]))
    returns = torch.stack([(p - h).norm(dim=1) for p in path[1:]], dim=1)
    close = returns < 1e-3 * (1 + h.norm(dim=1, keepdim=True))
    candidate = close.any(dim=1)
    period = torch.argmax(close.long(), dim=1) + 1
    found = []
    for p in torch.unique(period[candidate]).tolist():
        rows = candidate & (period == p)
        refined, residual = _refine(step, h[rows].clone(), x, p, newton_iterations)
        for point, value in zip(refined, residual, strict=True):
            if value < tolerance:
                q = _smallest_period(step, point, x, p, tolerance)
                found.append((point.numpy(), q, float(_return_distance(step, point, x, q))))
    return found


def _iterate(step: Any, h: torch.Tensor, x: torch.Tensor, p: int) -> torch.Tensor:
    for _ in range(p):
        h = step(h, x)
    return h


def _return_distance(step: Any, h: torch.Tensor, x: torch.Tensor, p: int) -> torch.Tensor:
    with torch.no_grad():
        return (_iterate(step, h, x, p) - h).norm(dim=-1)


def _smallest_period(step: Any, h: torch.Tensor, x: torch.Tensor, p: int, tolerance: float) -> int:
    for q in range(1, p):
        if p % q == 0 and _return_distance(step, h, x, q) < tolerance:
            return q
    return p


def _refine(
    step: Any, h: torch.Tensor, x: torch.Tensor, p: int, iterations: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Levenberg-Marquardt on ``G(h) = F^p(h) - h``, batched; returns points and ``||G||``."""
    size = h.shape[1]

    def residual_one(state: torch.Tensor) -> torch.Tensor:
        return _iterate(step, state, x, p) - state

    residual = vmap(residual_one)
    jacobian = vmap(jacrev(residual_one))
    damping = torch.full((len(h),), 1e-6, dtype=h.dtype)
    r = residual(h)
    cost = (r * r).sum(dim=1)
    for _ in range(iterations):
        j = jacobian(h)
        normal = j.transpose(1, 2) @ j
        diagonal = torch.diagonal(normal, dim1=1, dim2=2) + 1.0
        system = normal + damping[:, None, None] * torch.diag_embed(diagonal)
        delta = torch.linalg.solve(system, -torch.einsum("bji,bj->bi", j, r))
        r_new = residual(h + delta)
        cost_new = (r_new * r_new).sum(dim=1)
        better = torch.isfinite(cost_new) & (cost_new < cost)
        h = torch.where(better[:, None], h + delta, h)
        r = torch.where(better[:, None], r_new, r)
        cost = torch.where(better, cost_new, cost)
        damping = torch.where(better, damping / 10, damping * 4).clamp(1e-15, 1e12)
        if bool((cost < 1e-28 * size).all()):
            break
    return h.detach(), cost.sqrt().detach()


def _merged(
    step: Any, x: torch.Tensor, found: list[tuple[np.ndarray, int, float]], distance: float
) -> list[tuple[np.ndarray, int, float, int]]:
    """Distinct orbits ``(states, period, residual, n_found)`` from periodic points."""
    result = []
    for period in sorted({p for _, p, _ in found}):
        members = [(h, r) for h, p, r in found if p == period]
        orbits = [_orbit(step, h, x, period) for h, _ in members]
        stacked = torch.from_numpy(np.stack(orbits))  # (m, p, S)
        flat = stacked.reshape(-1, stacked.shape[-1])
        close = (torch.cdist(flat, flat) < distance).numpy()
        m = len(orbits)
        # orbit a matches b when every point of a is close to some point of b
        pairs = close.reshape(m, period, m, period).any(axis=3).all(axis=1)
        _, labels = connected_components(csr_matrix(pairs & pairs.T), directed=False)
        for label in np.unique(labels):
            group = np.flatnonzero(labels == label)
            best = group[np.argmin([members[i][1] for i in group])]
            result.append((_canonical(orbits[best]), period, members[best][1], len(group)))
    return result


def _orbit(step: Any, h: np.ndarray, x: torch.Tensor, period: int) -> np.ndarray:
    states = [torch.from_numpy(h)]
    with torch.no_grad():
        for _ in range(period - 1):
            states.append(step(states[-1], x))
    return torch.stack(states).numpy()


def _canonical(states: np.ndarray) -> np.ndarray:
    first = np.lexsort(states.T[::-1])[0]
    return np.roll(states, -first, axis=0)


def _floquet(step: Any, states: np.ndarray, x: np.ndarray) -> np.ndarray:
    j_rec, _ = step_jacobians(step, states, np.repeat(x[None], len(states), axis=0))
    product = np.eye(states.shape[1])
    for matrix in j_rec:
        product = matrix @ product
    values = np.linalg.eigvals(product)
    return values[np.argsort(-np.abs(values), kind="stable")]


def _stability(multipliers: np.ndarray, eps: float) -> str:
    magnitude = np.abs(multipliers)
    unstable = int((magnitude > 1 + eps).sum())
    if unstable == len(magnitude):
        return "unstable"
    if unstable:
        return "saddle"
    return "stable" if magnitude[0] < 1 - eps else "marginal"


def _visited(model: Any, initial: Any, layer: int) -> np.ndarray:
    size = model.state_size(layer=layer)
    if isinstance(initial, Trace):
        values = trace_states(initial, layer, tuple(model.state_layout(layer=layer)))
    else:
        values = as_matrix(initial, "initial_states", None)
    if values.shape[1] != size:
        raise ValueError(
            f"initial_states must have shape (n_states, state_size={size}), got {values.shape}; "
            "pass a Trace captured from this model or states of the layer"
        )
    if len(values) == 0:
        raise ValueError("initial_states is empty; pass states the network visits")
    return values


def _conditions(model: Any, inputs: Any, layer: int) -> np.ndarray:
    width = model.input_size(layer=layer)
    if inputs is None:
        return np.zeros((1, width))
    return as_matrix(inputs, "inputs", width)
