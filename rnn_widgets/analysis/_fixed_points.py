"""Fixed and slow points of a recurrent layer (Sussillo & Barak 2013), by Levenberg-Marquardt.

The method of Sussillo & Barak (2013) [1]_: minimise q = ||F(h, x*) - h||^2 / N from states the
network visits, then linearize around the minima. Batched Levenberg-Marquardt on
``F(h, x*) - h``, instead of the usual first-order (Adam) descent on q of the reference finder,
FixedPointFinder (Golub & Sussillo 2018 [2]_). From initial states sampled among the states the
network visits (plus optional noise), every point takes damped Gauss-Newton steps
``(J^T J + lambda I) d = -J^T r`` with ``r = F(h) - h`` and ``J = dF/dh - I`` (Jacobians from
``torch.func``, batched with ``vmap``), its own damping ``lambda`` shrinking after a step that
lowers q and growing after one that does not. Near a fixed point this is Newton's method and
converges quadratically; at a local minimum of q above the tolerance it stops as a *slow
point*. Everything runs in float64 on a copy of the layer (the user's model is untouched).

Then: duplicates within ``merge_distance`` are merged (one pairwise-distance matrix and its
connected components, the point of lowest q kept), points farther from every visited state
than ``outlier_distance`` are dropped, each point is linearized (J_rec, J_inp, eigenvalues
sorted by magnitude, time constants) and classified, and points on one slow manifold share an
attractor id.

A layer that is linear in its state for a fixed input (minGRU and minLSTM, Feng et al. 2024
[3]_: ``h' = a(x) * h + b(x)``) is not searched: its one fixed point per input, ``b / (1 -
a)``, and its eigenvalues ``a`` are returned in closed form (``_linear_recurrence``); so is a
Mamba layer's (Gu & Dao 2023 [4]_), whose SSM state is linear once its convolution's window
holds the input (``_mamba_fixed_point``).

References
----------
.. [1] Sussillo, D., & Barak, O. (2013). Opening the black box: low-dimensional dynamics in
   high-dimensional recurrent neural networks. Neural Computation, 25(3), 626-649.
.. [2] Golub, M. D., & Sussillo, D. (2018). FixedPointFinder: A Tensorflow toolbox for
   identifying and characterizing fixed points in recurrent neural networks. Journal of Open
   Source Software, 3(31), 1003.
.. [3] Feng, L., Tung, F., Ahmed, M. O., Bengio, Y., & Hajimirsadeghi, H. (2024). Were RNNs
   all we needed? arXiv:2410.01201.
.. [4] Gu, A., & Dao, T. (2023). Mamba: Linear-time sequence modeling with selective state
   spaces. arXiv:2312.00752.
"""

from __future__ import annotations

import dataclasses
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree
from torch.func import grad, hessian, jacrev, vmap
from tqdm.auto import tqdm

from .._validation import MAX_ARRAY_VALUES, as_allocation, as_finite_array, as_float, as_int
from ..models import RecurrentModel, as_model
from ..trace import Trace
from ._eigen import eigenvectors_of
from ._jacobians import closed_form_jacobian, float64_step
from ._linear_recurrence import closed_form_states, fixed_point_of, recurrence_of

__all__ = [
    "Eigenmodes",
    "FixedPoints",
    "Linearization",
    "constant_inputs",
    "find_fixed_points",
    "stability_classes",
    "time_constants_of",
]

STABILITY = ("stable", "marginal", "saddle", "unstable")
# Accepted steps in a row that lower q by less than _PROGRESS (1 %) after which a search stops
# there (a slow point); rejected steps raise the damping instead, up to 1e12.
_STALLED_ITERATIONS = 5
_PROGRESS = 0.01
# Newton steps on q that polish a slow point into the local minimum of q it lies near; a
# point is at that minimum when the Newton step is shorter than _STATIONARY x (1 + |h|).
_NEWTON_STEPS = 50
_BACKTRACKS = 30
_STATIONARY = 1e-9
# An eigenvalue of q's Hessian below -_CURVATURE x its largest |eigenvalue| is a direction of
# descent: the point is no minimum (numerical noise in a float64 Hessian is far smaller).
_CURVATURE = 1e-8
# Slow points whose Hessians are computed at once.
_HESSIAN_CHUNK = 32
# Steps of the dynamics that decide which stable point a slow manifold drifts to.
_FLOW_STEPS = 20_000
_FLOW_CHECK = 500
# The finite-difference step, relative to the step itself, of the geodesic acceleration.
_ACCELERATION_PROBE = 0.1
# Fixed points whose top eigenvectors are computed at once (their Jacobians held together).
_EIGEN_CHUNK = 128


@dataclass(frozen=True)
class Eigenmodes:
    """The eigen-decomposition of ``J_rec`` at some points.

    Attributes
    ----------
    values : ndarray of complex, shape (m, S)
        Sorted by magnitude, largest first.
    right : ndarray of complex, shape (m, S, S)
        Columns are the right eigenvectors, in the order of ``values``.
    left : ndarray of complex, shape (m, S, S)
        Rows are the left eigenvectors, ``left = right^-1`` (so ``left @ right = I``).
    time_constants : ndarray, shape (m, S)
        ``1 / |log |lambda||`` in steps (inf at ``|lambda| = 1``).

    """

    values: np.ndarray
    right: np.ndarray
    left: np.ndarray
    time_constants: np.ndarray

    @classmethod
    def of(cls, jacobians: np.ndarray) -> Eigenmodes:
        """The eigenmodes of a stack of square matrices (m, S, S)."""
        matrices = torch.from_numpy(np.asarray(jacobians))
        values, right = (part.numpy() for part in _in_threads(torch.linalg.eig, matrices))
        order = np.argsort(-np.abs(values), axis=1, kind="stable")
        values = np.take_along_axis(values, order, axis=1)
        right = np.take_along_axis(right, order[:, None, :], axis=2)
        left = np.linalg.inv(right) if len(right) else right.copy()
        return cls(values, right, left, time_constants_of(np.abs(values)))


@dataclass(frozen=True, eq=False)
class Linearization:
    """The batched Jacobians of one layer's step, float64, on a private copy of the weights.

    ``recurrent(states, inputs)`` gives ``dF/dh`` (m, S, S) and ``input(states, inputs)``
    gives ``dF/dx`` (m, S, I), both as numpy arrays.
    """

    recurrent_at: Any
    input_at: Any

    @classmethod
    def of(cls, model: Any, *, layer: int = 0) -> Linearization:
        """The linearization of ``model``'s layer (a bare torch module is wrapped)."""
        model = as_model(model)
        step = float64_step(model, layer)
        return cls(_batched_jacobian(model, layer, step), vmap(jacrev(step, argnums=1)))

    def recurrent(self, states: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        return self._apply(self.recurrent_at, states, inputs)

    def input(self, states: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        return self._apply(self.input_at, states, inputs)

    @staticmethod
    def _apply(function: Any, states: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        states = torch.as_tensor(as_finite_array(states, "states"))
        inputs = torch.as_tensor(as_finite_array(inputs, "inputs"))
        with torch.no_grad():
            return function(states, inputs).detach().numpy()


@dataclass(frozen=True)
class FixedPoints:
    """Fixed and slow points of one layer, with their linearization.

    Attributes
    ----------
    states : ndarray, shape (n_points, state_size)
        The points (float64; for an LSTM the flat ``(h, c)``).
    inputs : ndarray, shape (n_points, input_size)
        The constant input each point belongs to.
    condition : ndarray of int, shape (n_points,)
        The index of that input among the conditions searched.
    q : ndarray, shape (n_points,)
        ``||F(h, x) - h||^2 / N`` at each point.
    iterations : ndarray of int
        Iterations each search took (0 for a layer linear in its state, whose points are
        computed in closed form: see :func:`find_fixed_points`).
    converged : ndarray of bool
        Whether the search stopped by its own criteria (a polished fixed point, or a minimum
        of q where steps no longer lower it by 1 %); False where it ran out of
        ``max_iterations`` (a warning says how many). True for a closed-form point.
    is_fixed : ndarray of bool
        ``q < tolerance``: a fixed point; otherwise a slow point or a stalled search.
    is_minimum : ndarray of bool
        Whether the point is a local minimum of q: True at every fixed point (q is zero there)
        and at a *true slow point*, where q's gradient is zero and its Hessian positive
        semi-definite (the slow point of Sussillo & Barak 2013 [1]_; past a saddle-node
        bifurcation, the "ghost" of the two fixed points that vanished, Strogatz 2015 [2]_);
        False where the search stalled elsewhere (a saddle of q, or a slope it stopped on) or
        was cut short by ``max_iterations`` (``converged`` False). A search that ends above
        the tolerance by its own criteria is polished by Newton's method on q before it is
        judged, so a slow point's state is its minimum to about 1e-9.
    eigenvalues : ndarray of complex, shape (n_points, state_size)
        Of ``J_rec = dF/dh`` at each point, sorted by magnitude, largest first.
    stability : ndarray of str
        ``"stable"`` (all ``|lambda| < 1 - eps``), ``"marginal"`` (the largest within eps of
        1), ``"saddle"`` (some above ``1 + eps``, not all), ``"unstable"`` (all above).
    n_unstable : ndarray of int
        Eigenvalues with ``|lambda| > 1 + eps``.
    time_constants : ndarray, shape (n_points, state_size)
        ``1 / |log |lambda||`` in steps, in the order of ``eigenvalues`` (inf at ``|lambda| = 1``).
    attractor : ndarray of int
        Points of one attractor share an id. Stable, marginal and stable slow points are
        linked when closer than ``attractor_distance``: each stable fixed point is an
        attractor, a marginal or slow point joins the stable point nearest to it along the
        links, and linked groups with no stable point (a line or ring attractor) get one id
        each; saddles and unstable points have -1.
    tolerance, eps : float
        The thresholds used.
    layer : int
    conditions : ndarray of shape (n_conditions, input_size), or None
        Every constant input searched, in order (``condition`` indexes it), including those
        that kept no point.
    linearization : Linearization or None
        The layer's Jacobians, behind :meth:`jacobians`, :meth:`input_jacobians` and
        :meth:`eigenmodes` (which compute J_rec, J_inp, right and left eigenvectors on
        demand, for the points asked for).

    References
    ----------
    .. [1] Sussillo, D., & Barak, O. (2013). Opening the black box: low-dimensional dynamics in
       high-dimensional recurrent neural networks. Neural Computation, 25(3), 626-649.
    .. [2] Strogatz, S. H. (2015). Nonlinear Dynamics and Chaos (2nd ed., section 4.3, "ghosts
       and bottlenecks"). Westview Press.

    """

    states: np.ndarray
    inputs: np.ndarray
    condition: np.ndarray
    q: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray
    is_fixed: np.ndarray
    is_minimum: np.ndarray
    eigenvalues: np.ndarray
    stability: np.ndarray
    n_unstable: np.ndarray
    time_constants: np.ndarray
    attractor: np.ndarray
    tolerance: float
    eps: float
    layer: int
    conditions: np.ndarray | None = field(default=None, repr=False)
    linearization: Linearization | None = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.q)

    def subset(self, points: Any) -> FixedPoints:
        """The chosen points only (an index array or a boolean mask): ``fp.subset(fp.q < 1e-8)``.

        Attractor ids, conditions and the linearization are kept as they are.
        """
        chosen = self._chosen(points)
        per_point = {
            name: getattr(self, name)[chosen]
            for name in (
                "states", "inputs", "condition", "q", "iterations", "converged", "is_fixed",
                "is_minimum", "eigenvalues", "stability", "n_unstable", "time_constants",
                "attractor",
            )
        }  # fmt: skip
        return dataclasses.replace(self, **per_point)

    def jacobians(self, points: Any = None) -> np.ndarray:
        """``J_rec = dF/dh`` at the chosen points, float64, shape (m, state_size, state_size).

        ``points``: None (all), an index array, or a boolean mask over the points.
        """
        chosen = self._chosen(points)
        return self._linearized().recurrent(self.states[chosen], self.inputs[chosen])

    def input_jacobians(self, points: Any = None) -> np.ndarray:
        """``J_inp = dF/dx`` at the chosen points, float64, shape (m, state_size, input_size)."""
        chosen = self._chosen(points)
        return self._linearized().input(self.states[chosen], self.inputs[chosen])

    def eigenmodes(self, points: Any = None) -> Eigenmodes:
        """Eigenvalues, right and left eigenvectors and time constants of J_rec at the points.

        Computed on demand (a thousand points of 256 cells would hold a gigabyte of vectors).
        """
        return Eigenmodes.of(self.jacobians(points))

    def _chosen(self, points: Any) -> np.ndarray:
        n = len(self)
        if points is None:
            return np.arange(n)
        array = np.asarray(points)
        if array.dtype == bool:
            if array.shape != (n,):
                raise ValueError(f"a points mask must have shape ({n},), got {array.shape}")
            return np.flatnonzero(array)
        if array.ndim > 1 or not np.issubdtype(array.dtype, np.integer):
            raise TypeError("points must be None, an index array or a boolean mask over the points")
        array = np.atleast_1d(array)
        if len(array) and (array.min() < -n or array.max() >= n):
            raise ValueError(f"points must index 0..{n - 1}, got {array.min()}..{array.max()}")
        return array % n if len(array) else array.astype(np.int64)

    def _linearized(self) -> Linearization:
        if self.linearization is None:
            raise ValueError(
                "these FixedPoints were built by hand without a model; get them from "
                "find_fixed_points, or pass linearization=Linearization.of(model, layer=layer)"
            )
        return self.linearization

    def counts(self) -> dict[str, int]:
        """How many points of each stability class, of true slow points and of stalled searches."""
        counts = {name: int((self.stability == name).sum()) for name in STABILITY}
        counts["slow"] = int((~self.is_fixed & self.is_minimum).sum())
        counts["stalled"] = int((~self.is_minimum).sum())
        return counts

    def top_eigenvectors(self, points: Any = None) -> np.ndarray:
        """Each chosen point's slowest direction: the right eigenvector of its largest eigenvalue.

        By shifted inverse iteration on ``J_rec`` for the eigenvalue the search already has
        (a tenth of a full eigen-decomposition's cost), in chunks of points so the
        Jacobians' memory stays small.

        Parameters
        ----------
        points : index array or boolean mask, optional
            The points (default all).

        Returns
        -------
        ndarray, shape (m, state_size)
            The eigenvectors' real parts, each scaled to unit norm (zero where the real part
            is zero), float64.

        Raises
        ------
        ValueError
            If the points have no linearization (built by hand without a model).

        """
        chosen = self._chosen(points)
        top = np.asarray(self.eigenvalues)[chosen, 0]  # sorted by magnitude, largest first
        parts = [np.zeros((0, self.states.shape[1]), dtype=np.complex128)]
        for start in range(0, len(chosen), _EIGEN_CHUNK):
            chunk = slice(start, start + _EIGEN_CHUNK)
            parts.append(eigenvectors_of(self.jacobians(chosen[chunk]), top[chunk]))
        real = np.real(np.concatenate(parts))
        norm = np.linalg.norm(real, axis=1, keepdims=True)
        return real / np.where(norm > 0, norm, 1.0)

    def to_rows(self) -> list[dict[str, Any]]:
        """One dict per point: its condition, q, class, largest |eigenvalue|, time constant.

        Keys ``point``, ``condition``, ``q``, ``is_fixed``, ``is_minimum``, ``stability``,
        ``max_abs_eigenvalue``, ``time_constant`` (of that eigenvalue, in steps) and
        ``attractor``: a table for ``pandas.DataFrame(fp.to_rows())``.
        """
        magnitudes = np.abs(self.eigenvalues[:, 0]) if len(self) else np.zeros(0)
        return [
            {
                "point": i,
                "condition": int(self.condition[i]),
                "q": float(self.q[i]),
                "is_fixed": bool(self.is_fixed[i]),
                "is_minimum": bool(self.is_minimum[i]),
                "stability": str(self.stability[i]),
                "max_abs_eigenvalue": float(magnitudes[i]),
                "time_constant": float(self.time_constants[i, 0]),
                "attractor": int(self.attractor[i]),
            }
            for i in range(len(self))
        ]

    def plot_spectrum(self, point: int) -> Any:
        """The eigenvalues of ``J_rec`` at one point in the complex plane (a bqplot Figure).

        With the unit circle: eigenvalues outside it grow, inside decay, on it persist.

        Parameters
        ----------
        point : int
            The point's index.

        Returns
        -------
        bqplot.Figure
            ``figure.marks[1]`` holds the eigenvalues: ``x`` their real, ``y`` their
            imaginary parts.

        """
        from .._figures import complex_plane

        (index,) = self._chosen(np.array([as_int(point, "point")]))
        title = (
            f"point {index}: {self.stability[index]}, q = {self.q[index]:.2g}, "
            f"slowest tau = {self.time_constants[index, 0]:.3g} steps"
        )
        return complex_plane(self.eigenvalues[index], title=title)


def find_fixed_points(
    model: Any,
    initial_states: Trace | np.ndarray | torch.Tensor,
    inputs: Any = None,
    *,
    n: int = 1024,
    noise: float = 0.0,
    seed: int = 0,
    layer: int = 0,
    tolerance: float = 1e-10,
    max_iterations: int = 200,
    eps: float = 1e-3,
    merge_distance: float = 1e-6,
    outlier_distance: float = 1.0,
    attractor_distance: float = 0.3,
    progress: bool = True,
) -> FixedPoints:
    """Find the fixed and slow points of one layer under constant inputs.

    Sussillo & Barak's (2013) [1]_ search for the minima of q = ||F(h, x*) - h||^2 / N, by
    batched Levenberg-Marquardt rather than the Adam descent of FixedPointFinder (Golub &
    Sussillo 2018 [2]_); see the module docstring.

    **A layer linear in its state gets the closed form, not a search.** For minGRU and
    minLSTM (Feng et al. 2024 [3]_; any family of ``LINEAR_FAMILIES``, or a model with a
    ``linear_recurrence`` method) one step under a fixed input is ``h' = a(x) * h + b(x)``,
    so each input condition has exactly one fixed point ``h* = b / (1 - a)`` and the
    eigenvalues are ``a`` (the Jacobian is ``diag(a)``). A Mamba layer (Gu & Dao 2023 [4]_)
    has one too: its convolution's window fills with the input, then its SSM state is
    linear, ``s* = Δ B x / (1 - exp(Δ A))``, and its eigenvalues are the decays ``exp(Δ A)``
    and zeros (``LinearFamily.fixed_point``). Those are returned, in milliseconds:
    one point per condition, ``q`` computed from the layer's own step at ``h*`` (about
    1e-33), ``iterations`` 0, ``converged`` and ``is_minimum`` True, classes and attractor ids
    by the rules below. The initial states are then validated and give the value of a free
    cell (``a == 1`` and ``b == 0`` in float64: every value of that cell is fixed, and the
    point takes the initial states' mean there); a condition where a cell has ``a == 1``
    and ``b != 0`` (it moves by ``b`` every step) keeps no point, with a warning. ``n``,
    ``noise``, ``seed``, ``max_iterations``, ``merge_distance`` and ``outlier_distance``
    are checked but not used (no start is drawn and no Jacobian allocated, whatever the
    state's size): the point is unique and exact, so it is never dropped as an outlier.
    :func:`stack_fixed_points` chains the layers of a stack.

    Parameters
    ----------
    model : RecurrentModel, nn.LSTM, nn.GRU or nn.RNN
        The network (a bare module is wrapped); it is not modified.
    initial_states : Trace or array of shape (n_states, state_size)
        States the network visits; ``n`` of them are drawn (with replacement if fewer). From a
        trace, the layer's ``h`` (and ``c`` for an LSTM) make the flat state.
    inputs : None, array of shape (input_size,) or (n_conditions, input_size)
        The constant input x*: zero by default; several conditions are searched one after
        the other (as the flip-flop's pulses or an automaton's symbols).
    n : int
        Initial states per condition; their Jacobians, ``n * state_size**2`` values, may be
        at most ``MAX_ARRAY_VALUES`` (2 * 10**8) where the layer is searched.
    noise : float
        Standard deviation of Gaussian noise added to the initial states, relative to the
        visited states' standard deviation per dimension.
    seed : int
        Seed of the sampling and the noise: the same seed gives the same points.
    layer : int
        The layer (its input is the constant input; for deeper layers pass what they read).
    tolerance : float
        A point with ``q < tolerance`` is a fixed point; above it, a slow point.
    max_iterations : int
        Levenberg-Marquardt iterations at most per point.
    eps : float
        The margin around ``|lambda| = 1`` that makes a point marginal.
    merge_distance : float
        Points closer than this (Euclidean) are one point.
    outlier_distance : float
        Points farther than this multiple of the visited states' RMS radius from every
        visited state are dropped.
    attractor_distance : float
        Stable, marginal and slow points closer than this multiple of the RMS radius are
        linked into one attractor (see ``FixedPoints.attractor``).
    progress : bool
        Show a progress bar over the iterations; Ctrl+C stops the search and propagates.

    Returns
    -------
    FixedPoints

    Raises
    ------
    TypeError, ValueError
        On a model that is not recurrent, states or inputs of the wrong width, no initial
        states, or bad numbers.

    References
    ----------
    .. [1] Sussillo, D., & Barak, O. (2013). Opening the black box: low-dimensional dynamics in
       high-dimensional recurrent neural networks. Neural Computation, 25(3), 626-649.
    .. [2] Golub, M. D., & Sussillo, D. (2018). FixedPointFinder: A Tensorflow toolbox for
       identifying and characterizing fixed points in recurrent neural networks. Journal of Open
       Source Software, 3(31), 1003.
    .. [3] Feng, L., Tung, F., Ahmed, M. O., Bengio, Y., & Hajimirsadeghi, H. (2024). Were
       RNNs all we needed? arXiv:2410.01201.
    .. [4] Gu, A., & Dao, T. (2023). Mamba: Linear-time sequence modeling with selective state
       spaces. arXiv:2312.00752.

    """
    model = as_model(model)
    layer = model.check_layer(layer=layer)
    n = as_int(n, "n", minimum=1)
    max_iterations = as_int(max_iterations, "max_iterations", minimum=1)
    noise = as_float(noise, "noise")
    tolerance = as_float(tolerance, "tolerance")
    eps = as_float(eps, "eps")
    if noise < 0 or tolerance <= 0 or eps <= 0:
        raise ValueError("noise must be >= 0, tolerance and eps > 0")
    merge_distance = _distance(merge_distance, "merge_distance")
    outlier_distance = _distance(outlier_distance, "outlier_distance")
    attractor_distance = _distance(attractor_distance, "attractor_distance")
    seed = as_int(seed, "seed", minimum=0)
    visited = _visited_states(model, initial_states, layer)
    conditions = constant_inputs(model, inputs, layer)
    closed = _closed_form_points(model, layer, visited, conditions)
    if closed is not None:  # no search: n starts and their Jacobians are never made
        return _closed_form(
            model,
            layer,
            *closed,
            visited,
            conditions,
            tolerance=tolerance,
            eps=eps,
            attractor_distance=attractor_distance,
        )
    size = model.state_size(layer=layer)
    as_allocation(
        "find_fixed_points's Jacobians",
        {"n": n, "state_size**2": size * size},
        fix=f"lower n (to at most {MAX_ARRAY_VALUES // (size * size)} for this state)",
    )
    step = float64_step(model, layer)
    jacobian = _batched_jacobian(model, layer, step)
    _check_differentiable(jacobian, visited[:1], conditions[:1])
    rng = np.random.default_rng(seed)
    radius = _visited_radius(visited)
    scale = visited.std(axis=0)

    found = []
    bar = tqdm(total=len(conditions) * max_iterations, desc="fixed points", disable=not progress)
    with bar:
        for index, x in enumerate(conditions):
            start = visited[rng.integers(0, len(visited), n)]
            start = start + noise * scale * rng.standard_normal(start.shape)
            h, q, iterations, converged = _each_distinct(
                lambda distinct, x=x: _levenberg_marquardt(
                    step,
                    jacobian,
                    torch.from_numpy(distinct),
                    torch.from_numpy(x),
                    tolerance,
                    max_iterations,
                    bar,
                ),
                start,
            )
            found.append((index, h, q, iterations, converged))
    states = np.concatenate([part[1] for part in found])
    q = np.concatenate([part[2] for part in found])
    iterations = np.concatenate([part[3] for part in found])
    converged = np.concatenate([part[4] for part in found])
    condition = np.concatenate([np.full(len(part[1]), part[0]) for part in found])
    _warn_unconverged(converged, max_iterations)
    keep = _deduplicated(states, q, condition, merge_distance)
    near = _near_visited(states, visited, outlier_distance * radius)
    _warn_all_outliers(keep, near, outlier_distance)
    keep &= near
    states, q, iterations = states[keep], q[keep], iterations[keep]
    converged, condition = converged[keep], condition[keep]
    inputs_of = conditions[condition]
    is_minimum = q < tolerance
    # Searches cut short by max_iterations stay where they were cut (a user who asks for few
    # iterations keeps points spread along a slow manifold, as for line attractors).
    slow = np.flatnonzero(~is_minimum & converged)
    states[slow], q[slow], is_minimum[slow] = _polished_minima(step, states[slow], inputs_of[slow])
    # Polished slow points that met at one minimum are one point.
    again = _deduplicated(states, q, condition, merge_distance)
    states, q, iterations, converged = states[again], q[again], iterations[again], converged[again]
    condition, inputs_of, is_minimum = condition[again], inputs_of[again], is_minimum[again]
    eigenvalues = _eigenvalues(jacobian, states, inputs_of)
    magnitude = np.abs(eigenvalues)
    stability, n_unstable = stability_classes(magnitude, eps)
    is_fixed = q < tolerance
    time_constants = time_constants_of(magnitude)
    attractor = _attractors(
        _runner(model, layer, step),
        states,
        inputs_of,
        q,
        stability,
        is_fixed,
        condition,
        attractor_distance * radius,
    )
    return FixedPoints(
        states=states,
        inputs=inputs_of,
        condition=condition,
        q=q,
        iterations=iterations,
        converged=converged,
        is_fixed=is_fixed,
        is_minimum=is_minimum | is_fixed,
        eigenvalues=eigenvalues,
        stability=stability,
        n_unstable=n_unstable,
        time_constants=time_constants,
        attractor=attractor,
        tolerance=tolerance,
        eps=eps,
        layer=layer,
        conditions=conditions,
        linearization=Linearization(jacobian, vmap(jacrev(step, argnums=1))),
    )


def _closed_form_points(
    model: RecurrentModel, layer: int, visited: np.ndarray, conditions: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any] | None:
    """A layer's one fixed point per condition in closed form, or None where it has none.

    ``(states, found, eigenvalues, jacobian)``: ``states`` (n_conditions, state_size),
    meaningful where ``found``; the eigenvalues' moduli (n_conditions, state_size), unsorted;
    ``jacobian(h, x)`` batched. From ``h' = a * h + b`` (minGRU, minLSTM: ``h* = b / (1 -
    a)``, eigenvalues ``a``, the Jacobian ``diag(a)``; a free cell takes the visited states'
    mean), or from the family's own closed form (Mamba: see ``_mamba_fixed_point``), whose
    Jacobian comes from ``torch.func``.
    """
    x = torch.from_numpy(conditions)
    recurrence = recurrence_of(model, layer)
    if recurrence is not None:
        with torch.no_grad():
            log_a, b = (part.detach().numpy() for part in recurrence(x))
        states, found = closed_form_states(log_a, b, visited.mean(axis=0))

        def diagonal(h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
            return torch.diag_embed(torch.exp(recurrence(x)[0]))

        return states, found, np.exp(log_a), diagonal
    form = fixed_point_of(model, layer)
    if form is None:
        return None
    with torch.no_grad():
        states, moduli = (part.detach().numpy() for part in form(x))
    found = np.isfinite(states).all(axis=1)
    step = float64_step(model, layer)
    return states, found, np.abs(moduli), vmap(jacrev(step, argnums=0))


def _closed_form(
    model: RecurrentModel,
    layer: int,
    states: np.ndarray,
    found: np.ndarray,
    moduli: np.ndarray,
    jacobian: Any,
    visited: np.ndarray,
    conditions: np.ndarray,
    *,
    tolerance: float,
    eps: float,
    attractor_distance: float,
) -> FixedPoints:
    """The closed-form points (:func:`_closed_form_points`) as ``FixedPoints``, one per input.

    ``q`` is computed from the layer's own float64 step at each point; the eigenvalues are
    the moduli given, sorted by magnitude; classes and attractor ids follow the search's
    rules. A condition without a point (a cell with ``a == 1`` and ``b != 0``, or ``h*``
    overflowing) is left out, and a warning says so.
    """
    _warn_no_fixed_point(found)
    condition = np.flatnonzero(found)
    states, moduli, inputs_of = states[found], moduli[found], conditions[found]
    step = float64_step(model, layer)
    q = np.zeros(len(states))
    if len(states):
        with torch.no_grad():
            moved = vmap(step)(torch.from_numpy(states), torch.from_numpy(inputs_of)).numpy()
        q = ((moved - states) ** 2).sum(axis=1) / states.shape[1]
    magnitude = -np.sort(-moduli, axis=1)  # real and >= 0: the eigenvalues, largest first
    stability, n_unstable = stability_classes(magnitude, eps)
    is_fixed = q < tolerance
    radius = _visited_radius(visited)
    attractor = _attractors(
        None, states, inputs_of, q, stability, is_fixed, condition, attractor_distance * radius
    )
    n = len(states)
    return FixedPoints(
        states=states,
        inputs=inputs_of,
        condition=condition,
        q=q,
        iterations=np.zeros(n, dtype=np.int64),
        converged=np.ones(n, dtype=bool),
        is_fixed=is_fixed,
        is_minimum=np.ones(n, dtype=bool),
        eigenvalues=magnitude.astype(np.complex128),
        stability=stability,
        n_unstable=n_unstable,
        time_constants=time_constants_of(magnitude),
        attractor=attractor,
        tolerance=tolerance,
        eps=eps,
        layer=layer,
        conditions=conditions,
        linearization=Linearization(jacobian, vmap(jacrev(step, argnums=1))),
    )


def stability_classes(magnitude: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """``(stability, n_unstable)`` from |eigenvalues| (n, S) sorted largest first.

    The classes of :attr:`FixedPoints.stability`; ``n_unstable`` counts ``|lambda| > 1 + eps``.
    """
    largest = magnitude[:, 0] if magnitude.size else np.zeros(0)
    n_unstable = (magnitude > 1 + eps).sum(axis=1)
    stability = np.where(
        n_unstable == magnitude.shape[1],
        "unstable",
        np.where(n_unstable > 0, "saddle", np.where(largest < 1 - eps, "stable", "marginal")),
    )
    return stability, n_unstable


def _warn_no_fixed_point(found: np.ndarray) -> None:
    missing = np.flatnonzero(~found)
    if len(missing):
        warnings.warn(
            f"{len(missing)} of {len(found)} conditions (first: {missing[:5].tolist()}) have no "
            "fixed point: some cell has a == 1 in float64 and b != 0 there, so it moves by b "
            "every step (or h* = b / (1 - a) overflows); FixedPoints.conditions still lists them",
            RuntimeWarning,
            stacklevel=3,
        )


def _distance(value: Any, name: str) -> float:
    """A distance argument: a number >= 0; ``np.inf`` allowed (no limit), NaN refused."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    if not float(value) >= 0:
        raise ValueError(f"{name} must be >= 0 (np.inf for no limit), got {value}")
    return float(value)


def time_constants_of(magnitude: np.ndarray) -> np.ndarray:
    """``1 / |log |lambda||`` in steps (inf at ``|lambda| = 1``), from |eigenvalues|."""
    with np.errstate(divide="ignore"):
        return 1.0 / np.abs(np.log(np.maximum(magnitude, 1e-300)))


# ---------------------------------------------------------------------------------- inputs


def _visited_states(model: RecurrentModel, initial: Any, layer: int) -> np.ndarray:
    size = model.state_size(layer=layer)
    if isinstance(initial, Trace):
        layout = model.state_layout(layer=layer)
        missing = [kind for kind in layout if kind not in initial.kinds(layer=layer)]
        if missing:
            raise ValueError(
                f"initial_states: the trace lacks {missing} of layer {layer}'s state "
                f"{tuple(layout)}; capture them too (capture(model, sequences, kinds="
                f"{list(layout)})), or pass the layer's states as an array"
            )
        parts = [
            np.asarray(initial.states(layer=layer, kind=kind), dtype=np.float64) for kind in layout
        ]
        values = np.concatenate(parts, axis=1)
    else:
        values = as_finite_array(initial, "initial_states")
    if values.ndim != 2 or values.shape[1] != size:
        raise ValueError(
            f"initial_states must have shape (n_states, state_size={size}), got {values.shape}; "
            "pass a Trace captured from this model or states of the layer"
        )
    if len(values) == 0:
        raise ValueError("initial_states is empty; pass states the network visits")
    if not np.isfinite(values).all():
        raise ValueError("initial_states holds NaN or infinite values")
    return values


def constant_inputs(model: RecurrentModel, inputs: Any, layer: int) -> np.ndarray:
    """The constant inputs ``x*`` of a search, (n_conditions, input_size): zero by default."""
    width = model.input_size(layer=layer)
    if inputs is None:
        return np.zeros((1, width))
    values = as_finite_array(inputs, "inputs")
    values = values[None] if values.ndim == 1 else values
    if values.ndim != 2 or values.shape[1] != width:
        raise ValueError(
            f"inputs must have shape (input_size={width},) or (n_conditions, {width}), got "
            f"{np.shape(inputs)}"
        )
    return values


# ---------------------------------------------------------------------------------- search


def _each_distinct(search: Any, starts: np.ndarray) -> tuple[np.ndarray, ...]:
    """``search(starts)``'s per-start arrays, searching each distinct start once.

    Starts drawn twice (the draw is with replacement) would take the very same search.
    """
    distinct, copies = np.unique(starts, axis=0, return_inverse=True)
    copies = copies.reshape(-1)
    return tuple(result[copies] for result in search(distinct))


def _levenberg_marquardt(
    step: Any,
    jacobian_at: Any,
    h: torch.Tensor,
    x: torch.Tensor,
    tolerance: float,
    max_iterations: int,
    bar: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Batched Levenberg-Marquardt with geodesic acceleration; (h, q, iterations, converged)."""
    n, size = h.shape
    residual_of = vmap(lambda s: step(s, x) - s)

    def jacobian_of(states: torch.Tensor) -> torch.Tensor:
        jacobian = jacobian_at(states, x.expand(len(states), -1))
        jacobian.diagonal(dim1=1, dim2=2).sub_(1.0)  # of the residual F(h) - h
        return jacobian

    damping = torch.full((n,), 1e-3, dtype=h.dtype)
    growth = torch.full((n,), 2.0, dtype=h.dtype)
    r = residual_of(h)
    q = (r * r).sum(dim=1) / size
    active = torch.ones(n, dtype=torch.bool)
    converged = torch.zeros(n, dtype=torch.bool)
    iterations = torch.zeros(n, dtype=torch.int64)
    stalled = torch.zeros(n, dtype=torch.int64)
    # Stop well below the tolerance, so fixed points are polished, not just accepted.
    target = max(tolerance * 1e-10, 1e-28)
    for _ in range(max_iterations):
        bar.update(1)
        rows = torch.nonzero(active).flatten()
        if len(rows) == 0:
            break
        h_rows, r_rows, q_old = h[rows], r[rows], q[rows]
        jacobian = jacobian_of(h_rows)
        velocity, moved, predicted, factor = _damped_step(jacobian, r_rows, damping[rows])
        step_ = velocity + _geodesic_acceleration(
            residual_of, jacobian, factor, h_rows, r_rows, velocity, moved
        )
        candidate = h_rows + step_
        r_new = residual_of(candidate)
        q_new = (r_new * r_new).sum(dim=1) / size
        better = torch.isfinite(q_new) & (q_new < q_old)
        accepted = rows[better]
        h[accepted], r[accepted], q[accepted] = candidate[better], r_new[better], q_new[better]
        _update_damping(damping, growth, rows, better, (q_old - q_new) * size / predicted)
        iterations[rows] += 1
        # A point whose q no longer falls by 1 % an iteration sits at (or crawls along) a
        # minimum of q; a fixed point whose polish no longer halves q is done.
        progress = better & (q_new < q_old * (1 - _PROGRESS))
        stalled[rows] = torch.where(progress, 0, stalled[rows] + better.long())
        polished = (q_old < tolerance) & better & (q_new > 0.5 * q_old)
        small_step = step_.norm(dim=1) < 1e-14 * (1 + h_rows.norm(dim=1))
        done = (q[rows] < target) | (damping[rows] > 1e12) | (better & small_step)
        done |= (stalled[rows] >= _STALLED_ITERATIONS) | polished
        active[rows[done]] = False
        converged[rows[done]] = True
    bar.update(max_iterations - int(iterations.max()) if len(iterations) else 0)
    return h.numpy(), q.numpy(), iterations.numpy(), converged.numpy()


def _polished_minima(
    step: Any, states: np.ndarray, inputs: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Newton's method on q from each point; (states, q, whether each is a local minimum).

    A slow point is a local minimum of q = ||F(h) - h||^2 / N above zero: its gradient is
    zero and its Hessian positive semi-definite (see ``FixedPoints.is_minimum``). With the
    exact Hessian, Newton's method reaches such a minimum quadratically from where the
    Levenberg-Marquardt search, whose Gauss-Newton model ignores q's curvature away from zero
    residual, slowed down; a step that would raise q is halved until it does not. A Hessian
    with a direction of descent (a saddle of q), a slope along a flat direction, or no step
    that lowers q before the point is stationary marks a stalled search; the point is then
    returned at the lowest q reached.
    """
    if len(states) == 0:
        return states, np.zeros(0), np.zeros(0, dtype=bool)
    size = states.shape[1]

    def q_of(h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        residual = step(h, x) - h
        return (residual * residual).sum() / size

    value, gradient, curvature = vmap(q_of), vmap(grad(q_of)), vmap(hessian(q_of))
    parts = []
    for start in range(0, len(states), _HESSIAN_CHUNK):
        chunk = slice(start, start + _HESSIAN_CHUNK)
        h = torch.from_numpy(states[chunk]).clone()
        x = torch.from_numpy(inputs[chunk])
        parts.append(_newton_on_q(value, gradient, curvature, h, x))
    return tuple(np.concatenate(part) for part in zip(*parts, strict=True))  # type: ignore[return-value]


def _newton_on_q(
    value: Any, gradient: Any, curvature: Any, h: torch.Tensor, x: torch.Tensor
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batched Newton steps on q (pseudo-inverse of a PSD Hessian) until each point settles."""
    q = value(h, x)
    minimum = torch.zeros(len(h), dtype=torch.bool)
    active = torch.ones(len(h), dtype=torch.bool)
    for _ in range(_NEWTON_STEPS):
        rows = torch.nonzero(active).flatten()
        if len(rows) == 0:
            break
        g = gradient(h[rows], x[rows])
        eigenvalues, vectors = torch.linalg.eigh(curvature(h[rows], x[rows]))
        scale = eigenvalues.abs().amax(dim=1).clamp_min(1e-300)
        convex = eigenvalues[:, 0] >= -_CURVATURE * scale
        # The pseudo-inverse drops flat directions: along them q neither rises nor falls.
        flat = eigenvalues <= _CURVATURE * scale[:, None]
        inverse = torch.where(flat, 0.0, 1.0 / eigenvalues.where(~flat, 1.0))
        along = torch.einsum("bij,bi->bj", vectors, g)
        newton = torch.einsum("bij,bj->bi", vectors, inverse * along)
        reach = _STATIONARY * (1 + h[rows].norm(dim=1))
        sloped = (along.abs() * flat).amax(dim=1) > reach * scale
        stationary = (newton.norm(dim=1) <= reach) & ~sloped
        minimum[rows] = convex & stationary
        searching = convex & ~stationary & ~sloped
        candidate, q_new = _backtracked(value, h[rows], x[rows], q[rows], newton, searching)
        better = searching & torch.isfinite(q_new) & (q_new <= q[rows] * (1 + 1e-10))
        moved = rows[better]
        h[moved], q[moved] = candidate[better], q_new[better]
        active[rows[~better]] = False
    return h.numpy(), q.numpy(), minimum.numpy()


def _backtracked(
    value: Any,
    h: torch.Tensor,
    x: torch.Tensor,
    q: torch.Tensor,
    newton: torch.Tensor,
    searching: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``h - t * newton`` with the largest ``t = 2^-k`` that does not raise q, and its q.

    Along a very flat valley the quadratic model's full step overshoots; halving it, as a
    line search does, keeps Newton's direction (k up to ``_BACKTRACKS``).
    """
    length = torch.ones(len(h), dtype=h.dtype)
    candidate = h - newton
    q_new = value(candidate, x)
    for _ in range(_BACKTRACKS):
        retry = searching & ~(torch.isfinite(q_new) & (q_new <= q * (1 + 1e-10)))
        if not retry.any():
            break
        length = torch.where(retry, length / 2, length)
        rows = torch.nonzero(retry).flatten()
        candidate[rows] = h[rows] - length[rows, None] * newton[rows]
        q_new[rows] = value(candidate[rows], x[rows])
    return candidate, q_new


def _damped_step(
    jacobian: torch.Tensor, residual: torch.Tensor, damping: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The Levenberg-Marquardt step v, J v, the predicted reduction of ||r||^2, the factor.

    Solves ``(J^T J + damping D) v = -J^T r`` with Marquardt's scaling ``D = diag(J^T J) + 1``
    (Levenberg's identity where a column of J vanishes). The symmetric system is factorised
    by LU, not Cholesky: MKL's batched LU is about 1.5x faster for a thousand systems of 64
    to 256 rows. A step that is not a descent direction (the system is not numerically
    positive definite, or singular) is made NaN, so it is rejected and the damping grows.
    """
    gradient = _transposed_product(jacobian, residual)
    normal = jacobian.transpose(1, 2) @ jacobian
    diagonal = torch.diagonal(normal, dim1=1, dim2=2) + 1.0
    normal.diagonal(dim1=1, dim2=2).add_(damping[:, None] * diagonal)
    factor = torch.linalg.lu_factor_ex(normal)[:2]
    velocity = _solve(factor, -gradient)
    moved = torch.einsum("bij,bj->bi", jacobian, velocity)
    predicted = -(2 * (gradient * velocity).sum(dim=1) + (moved * moved).sum(dim=1))
    descending = torch.isfinite(predicted) & (predicted > 0)
    velocity = torch.where(descending[:, None], velocity, torch.nan)
    return velocity, moved, predicted, factor


def _transposed_product(matrices: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
    """``J^T r`` for a batch, as the row vector ``r^T J`` (which reads J in its own order)."""
    return (vectors[:, None, :] @ matrices)[:, 0]


def _solve(factor: tuple[torch.Tensor, torch.Tensor], vectors: torch.Tensor) -> torch.Tensor:
    """``A^-1 b`` for a batch of vectors b, from ``A``'s LU factors and pivots."""
    return torch.linalg.lu_solve(*factor, vectors[:, :, None])[:, :, 0]


def _geodesic_acceleration(
    residual_of: Any,
    jacobian: torch.Tensor,
    factor: tuple[torch.Tensor, torch.Tensor],
    h: torch.Tensor,
    r: torch.Tensor,
    velocity: torch.Tensor,
    moved: torch.Tensor,
) -> torch.Tensor:
    """Transtrum & Sethna's second-order correction to a Levenberg-Marquardt step.

    Points near a slow manifold sit in a long, curved valley of q, where plain steps must
    stay short and the search crawls. The correction ``a = -(J^T J + damping D)^-1 J^T r_vv``,
    with ``r_vv`` the residual's second directional derivative along the step (one more
    residual evaluation, by finite differences), bends the step along the valley; the step is
    ``v + a / 2``, and ``a`` is dropped where it is not small against ``v`` (their
    criterion ``2 |a| / |v| <= 0.75``). On the flip-flop GRUs it cuts the iterations about
    three-fold. ``moved`` is ``J v``, already computed for the step.
    """
    probe = _ACCELERATION_PROBE
    curvature = (2 / probe) * ((residual_of(h + probe * velocity) - r) / probe - moved)
    pulled = _transposed_product(jacobian, curvature)
    acceleration = _solve(factor, -pulled)
    small = 2 * acceleration.norm(dim=1) <= 0.75 * velocity.norm(dim=1)
    return torch.where(small[:, None] & torch.isfinite(acceleration), acceleration / 2, 0.0)


def _update_damping(
    damping: torch.Tensor,
    growth: torch.Tensor,
    rows: torch.Tensor,
    better: torch.Tensor,
    gain: torch.Tensor,
) -> None:
    """Nielsen's rule: shrink the damping smoothly by the gain ratio, grow it geometrically.

    ``gain`` is the actual over the predicted reduction of ||r||^2. It keeps the accepted
    fraction of steps near one where a fixed factor (divide by 10, multiply by 4) makes the
    damping oscillate and wastes every other iteration.
    """
    accepted, rejected = rows[better], rows[~better]
    shrink = torch.clamp(1 - (2 * gain[better] - 1) ** 3, min=1 / 3)
    damping[accepted] = torch.clamp(damping[accepted] * shrink, min=1e-15)
    growth[accepted] = 2.0
    damping[rejected] *= growth[rejected]
    growth[rejected] *= 2


def _check_differentiable(jacobian: Any, state: np.ndarray, x: np.ndarray) -> None:
    """Fail early, and say why, if the step cannot be differentiated by torch.func."""
    try:
        value = jacobian(torch.from_numpy(state), torch.from_numpy(x))
    except Exception as error:  # torch.func raises many types; all mean the same to the user
        raise TypeError(
            "find_fixed_points needs a step that torch.func can differentiate, but computing "
            f"its Jacobian failed ({type(error).__name__}: {error}); write the cell's step "
            "with torch operations on its arguments only (no .numpy(), .item(), Python "
            "branches on tensor values or in-place changes of the inputs)"
        ) from error
    if not torch.isfinite(value).all():
        raise ValueError(
            "the step's Jacobian at the first visited state is not finite (the initial states "
            "and inputs are finite); check the model's weights"
        )


def _visited_radius(visited: np.ndarray) -> float:
    """The RMS distance of the visited states from their mean, the search's length scale.

    Starts that all coincide have none; their RMS norm (or 1) stands in, so that points a
    search reaches from them are not all taken for outliers.
    """
    spread = float(np.sqrt(((visited - visited.mean(axis=0)) ** 2).sum(axis=1).mean()))
    if spread > 0:
        return spread
    return float(np.sqrt((visited**2).sum(axis=1).mean())) or 1.0


def _warn_all_outliers(kept: np.ndarray, near: np.ndarray, outlier_distance: float) -> None:
    """Never a silent empty result: say so when every point found is dropped as an outlier."""
    if kept.any() and not (kept & near).any():
        warnings.warn(
            f"all {int(kept.sum())} points found lie farther than outlier_distance="
            f"{outlier_distance:g} x the visited states' RMS radius from every visited state "
            "and were dropped; start from more varied states (a Trace) or raise "
            "outlier_distance (np.inf keeps every point)",
            RuntimeWarning,
            stacklevel=3,
        )


def _warn_unconverged(converged: np.ndarray, max_iterations: int) -> None:
    missing = int((~converged).sum())
    if missing:
        warnings.warn(
            f"{missing} of {len(converged)} searches ran out of max_iterations="
            f"{max_iterations} before converging; they are returned with their q "
            "(FixedPoints.converged is False for them); raise max_iterations to finish them",
            RuntimeWarning,
            stacklevel=3,
        )


# ---------------------------------------------------------------------------------- clean-up


def _deduplicated(
    states: np.ndarray, q: np.ndarray, condition: np.ndarray, distance: float
) -> np.ndarray:
    """A mask keeping, of every group of points closer than ``distance``, the one of lowest q."""
    keep = np.zeros(len(states), dtype=bool)
    for index in np.unique(condition):
        members = np.flatnonzero(condition == index)
        labels = _components(states[members], distance)
        order = np.lexsort((q[members], labels))
        first = np.ones(len(order), dtype=bool)
        first[1:] = labels[order][1:] != labels[order][:-1]
        keep[members[order[first]]] = True
    return keep


def _components(points: np.ndarray, distance: float) -> np.ndarray:
    """Connected components of the graph linking points closer than ``distance``."""
    tensor = torch.from_numpy(points)
    close = (torch.cdist(tensor, tensor) < distance).numpy()
    _, labels = connected_components(csr_matrix(close), directed=False)
    return labels


def _near_visited(states: np.ndarray, visited: np.ndarray, distance: float) -> np.ndarray:
    nearest = torch.cdist(torch.from_numpy(states), torch.from_numpy(visited)).min(dim=1).values
    return nearest.numpy() <= distance


def _eigenvalues(jacobian: Any, states: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    if len(states) == 0:
        return np.zeros((0, states.shape[1]), dtype=complex)
    matrices = jacobian(torch.from_numpy(states), torch.from_numpy(inputs))
    (values,) = _in_threads(lambda part: (torch.linalg.eigvals(part),), matrices)
    values = values.numpy()
    order = np.argsort(-np.abs(values), axis=1, kind="stable")
    return np.take_along_axis(values, order, axis=1)


def _in_threads(
    decompose: Any, matrices: torch.Tensor, workers: int | None = None
) -> tuple[torch.Tensor, ...]:
    """``decompose`` (returning a tuple of tensors) over a batch, in chunks on ``workers`` threads.

    torch's batched eigen-decomposition runs the matrices one after the other, each on all of
    torch's threads, which for matrices of a few hundred rows is slower than on one; one chunk
    per thread (torch releases the GIL) uses the cores instead: 2.9x faster on two cores at
    128 cells. ``workers``: torch's thread count by default.
    """
    workers = min(workers or torch.get_num_threads(), len(matrices))
    if workers <= 1:
        return tuple(decompose(matrices))
    with ThreadPoolExecutor(workers) as pool:
        parts = list(pool.map(decompose, matrices.chunk(workers)))
    return tuple(torch.cat(pieces) for pieces in zip(*parts, strict=True))


def _batched_jacobian(model: RecurrentModel, layer: int, step: Any) -> Any:
    """``J(h, x)`` batched: the closed form for torch's cells, else ``vmap(jacrev(step))``."""
    closed = closed_form_jacobian(model, layer)
    if closed is not None:
        return closed
    return vmap(jacrev(step, argnums=0))


def _attractors(
    runner: Any,
    states: np.ndarray,
    inputs: np.ndarray,
    q: np.ndarray,
    stability: np.ndarray,
    is_fixed: np.ndarray,
    condition: np.ndarray,
    distance: float,
) -> np.ndarray:
    """Ids of attractors; saddles and unstable points get -1.

    Under each input condition the stable, marginal and stable slow points are joined by
    single linkage (shortest links first) over links shorter than ``distance``, except that
    two groups that each hold a stable fixed point are never joined. So every stable fixed
    point is an attractor, the slow manifold leading into it shares its id, a manifold running
    between two memories is split between them, and a group with no stable point (a line or
    ring attractor) is one attractor. A group with no stable point, where stable points
    exist, then follows the dynamics from its lowest-q point (``runner``, up to
    ``_FLOW_STEPS`` steps): if that trajectory reaches a stable point's group, the slow
    manifold leads into that memory and joins its attractor.
    """
    attractor = np.full(len(states), -1, dtype=np.int64)
    next_id = 0
    holding = (stability == "marginal") | (stability == "stable")
    for index in np.unique(condition):
        members = np.flatnonzero((condition == index) & holding)
        if len(members) == 0:
            continue
        is_node = (stability[members] == "stable") & is_fixed[members]
        labels = _constrained_linkage(states[members], is_node, distance)
        if runner is not None and is_node.any():
            labels = _join_by_flow(
                runner, states[members], inputs[members], q[members], labels, is_node, distance
            )
        _, ids = np.unique(labels, return_inverse=True)
        attractor[members] = next_id + ids
        next_id += int(ids.max()) + 1
    return attractor


def _constrained_linkage(points: np.ndarray, is_node: np.ndarray, distance: float) -> np.ndarray:
    """Single-linkage groups over links < ``distance`` that never join two nodes' groups."""
    tensor = torch.from_numpy(points)
    distances = torch.cdist(tensor, tensor).numpy()
    # The spanning tree holds every link single linkage needs; a tiny floor keeps coincident
    # points linked (the sparse graph drops zero weights).
    tree = minimum_spanning_tree(np.maximum(distances, 1e-300) * (distances < distance)).tocoo()
    parent = np.arange(len(points))
    holds_node = is_node.copy()

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for k in np.argsort(tree.data, kind="stable"):
        a, b = root(int(tree.row[k])), root(int(tree.col[k]))
        if a == b or (holds_node[a] and holds_node[b]):
            continue
        parent[b] = a
        holds_node[a] |= holds_node[b]
    return np.array([root(i) for i in range(len(points))])


def _join_by_flow(
    runner: Any,
    points: np.ndarray,
    inputs: np.ndarray,
    q: np.ndarray,
    labels: np.ndarray,
    is_node: np.ndarray,
    distance: float,
) -> np.ndarray:
    """Groups without a stable point take the label of the group their flow reaches."""
    node_groups = set(labels[is_node].tolist())
    loose = [g for g in np.unique(labels) if g not in node_groups]
    if not loose:
        return labels
    # Where q is lowest in each loose group: the slowest point, the one the flow leaves last.
    starts = np.array([min(np.flatnonzero(labels == g), key=lambda i: q[i]) for g in loose])
    targets = np.flatnonzero(np.isin(labels, list(node_groups)))
    landed = _flow_to(runner, points[starts], inputs[starts], points[targets], distance)
    joined = labels.copy()
    for group, target in zip(loose, landed, strict=True):
        if target >= 0:
            joined[labels == group] = labels[targets[target]]
    return joined


def _flow_to(
    runner: Any, states: np.ndarray, inputs: np.ndarray, nodes: np.ndarray, distance: float
) -> np.ndarray:
    """For each state, the stable node its trajectory comes within ``distance`` of (-1: none).

    The dynamics run up to ``_FLOW_STEPS`` steps, checked every ``_FLOW_CHECK`` steps.
    """
    h = torch.from_numpy(states).clone()
    x = torch.from_numpy(inputs)
    targets = torch.from_numpy(nodes)
    landed = np.full(len(states), -1, dtype=np.int64)
    with torch.no_grad():
        for _ in range(_FLOW_STEPS // _FLOW_CHECK):
            open_ = np.flatnonzero(landed < 0)
            if len(open_) == 0:
                break
            h[open_] = runner(h[open_], x[open_], _FLOW_CHECK)
            nearest = torch.cdist(h[open_], targets).min(dim=1)
            close = nearest.values.numpy() <= distance
            landed[open_[close]] = nearest.indices.numpy()[close]
    return landed


def _runner(model: RecurrentModel, layer: int, step: Any) -> Any:
    """``run(h, x, steps)``: the state after ``steps`` steps under constant inputs, batched.

    For torch's cells a one-layer float32 module rebuilt from the layer's weights runs the
    steps in its fused loop; for any other core (a user cell, minGRU), its step in a Python
    loop.
    """
    if not model.has_gate_weights:
        batched = vmap(step)

        def stepped(h: torch.Tensor, x: torch.Tensor, steps: int) -> torch.Tensor:
            for _ in range(steps):
                h = batched(h, x)
            return h

        return stepped
    module = _one_layer_module(model, layer)
    size = model.n_cells(layer=layer)

    def fused(h: torch.Tensor, x: torch.Tensor, steps: int) -> torch.Tensor:
        # float32: only where a trajectory ends up matters here, and torch's fused float32
        # loop is several times faster than its float64 one.
        h, x = h.float(), x.float()
        sequence = x[None].expand(steps, -1, -1).contiguous()
        if model.family == "lstm":
            _, (h_n, c_n) = module(sequence, (h[None, :, :size], h[None, :, size:].contiguous()))
            return torch.cat([h_n[0], c_n[0]], dim=1).double()
        _, h_n = module(sequence, h[None].contiguous())
        return h_n[0].double()

    return fused


def _one_layer_module(model: RecurrentModel, layer: int) -> torch.nn.RNNBase:
    gates = model.gate_weights(layer=layer)
    size, width = model.n_cells(layer=layer), model.input_size(layer=layer)
    family = model.family
    if family == "lstm":
        module: torch.nn.RNNBase = torch.nn.LSTM(width, size)
    elif family == "gru":
        module = torch.nn.GRU(width, size)
    else:
        module = torch.nn.RNN(width, size, nonlinearity="relu" if family == "rnn_relu" else "tanh")
    module = module.eval()
    stacked = {
        key: torch.tensor(
            np.concatenate([getattr(gate, key) for gate in gates.values()]), dtype=torch.float32
        )
        for key in ("input_weights", "recurrent_weights", "input_bias", "recurrent_bias")
    }
    with torch.no_grad():
        module.weight_ih_l0.copy_(stacked["input_weights"])
        module.weight_hh_l0.copy_(stacked["recurrent_weights"])
        module.bias_ih_l0.copy_(stacked["input_bias"])
        module.bias_hh_l0.copy_(stacked["recurrent_bias"])
    module.requires_grad_(False)
    return module
