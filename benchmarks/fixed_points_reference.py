"""Our fixed-point search against a re-implementation of FixedPointFinder (issue 23, section 2).

The reference is FixedPointFinder (Golub & Sussillo, 2018 [1]_). It cannot be installed from
the package registries, so this benchmark re-implements its published algorithm (learnt from
its sources, no code copied) and runs it beside ours on the same networks (members of the
flip-flop family, ``benchmarks/flip_flop_family.py``) from the same initial states.

The reference's algorithm (``FixedPointFinderBase``, the TensorFlow ``_run_joint_optimization``
and ``_run_optimization_loop``; ``AdaptiveLearningRate`` and ``AdaptiveGradNormClip`` of its
companion RecurrentWhisperer [2]_), with its defaults:

- method ``'joint'``: all initial states are optimised together as one variable ``x`` of
  shape (n, state_size); an LSTM's state is the flat ``(h, c)``.
- per point ``q = 0.5 * ||F(x) - x||^2`` (a sum over the state's dimensions, not a mean);
  the loss is the mean of ``q`` over the points; its gradient is one batched backward pass.
- the gradient is clipped to a global norm (``tf.clip_by_global_norm``) whose ceiling is
  adaptive (``agnc_hps`` defaults): the 95th percentile of the last 128 gradient norms,
  starting at, and never above, 1e12 (so no clipping on the first step).
- Adam (TensorFlow 1's ``AdamOptimizer``: beta1 0.9, beta2 0.999, the bias correction folded
  into the step size) with ``adam_hps = {'epsilon': 0.01}``, a large epsilon that damps the
  steps where gradients are tiny.
- the learning rate is adaptive (``alr_hps`` defaults): it starts at ``initial_rate = 1.0``;
  after each step it is multiplied by 0.95 when the newest mean q is worse than all of the
  previous 5 (and 5 steps have passed since the last change), and by 1 / 0.95 when the mean q
  has decreased monotonically over the last 5 steps (same spacing). No warm-up.
- it stops when, for every point, ``q < tol_q = 1e-12`` or ``|dq| < tol_dq * lr`` with
  ``tol_dq = 1e-20`` (dq: the change of that point's q over the last iteration), from the
  second iteration on, or after ``max_iters = 5000`` iterations.
- duplicates are then removed (``tol_unique = 1e-3``: states rounded to 3 decimals, one
  arbitrary point kept per distinct rounded state), then distance outliers: points farther
  from the initial states' centroid than ``outlier_distance_scale = 10`` times the initial
  states' mean distance to that centroid. ``do_rerun_q_outliers`` is False by default.
- float32 throughout (``tf_dtype = 'float32'``).

The reference's newer PyTorch port (``FixedPointFinderTorch``) replaces the adaptive schedule
and clipping by ``torch.optim.Adam(lr=0.05)`` with a step decay (x0.7 every 500 steps), with
its adaptive-rate lines commented out; we follow the published defaults above (the TensorFlow
version, the one the paper describes), and the learning-rate sweep covers the port's scale.

Each baseline iteration is one batched forward pass of the step ``F`` (written here from the
module's weights in float32, checked against ``nn.GRU`` / ``nn.LSTM``), one backward pass and
an elementwise Adam update; the script prints its measured time per iteration beside the time
of one forward and backward pass alone, so that a slow baseline cannot flatter us.

The comparison (same process, one torch thread each, CPU seconds of the process since the
machine's cores are shared; same networks, same initial states: 1,024, or 512 for states over
256 dimensions (an LSTM of 256 units; ``find_fixed_points`` caps ``n * state_size**2``), drawn
with ``numpy.random.default_rng(0)`` from the states the member visits on held-out flip-flop
sequences, as ``find_fixed_points(..., n=n, seed=0)`` draws them):

- ours: ``rnn_widgets.analysis.find_fixed_points`` with its defaults (everything it does:
  search, deduplication, eigenvalues, attractor grouping).
- the baseline at learning rates 1.0 (the default), 0.1 and 0.01. Every ``CHECK_EVERY``
  iterations (the check's time is not counted) its points are evaluated in float64: those with
  ``q < 1e-10`` (our q: ``||F(h) - h||^2 / N``) after its unique and outlier steps, their
  readout sign patterns, and their stability (all ``|eig(dF/dh)| < 1``). Memories are the
  distinct readout sign patterns at stable fixed points (the readout is used only here). The
  baseline's time is its optimisation time until the check that first shows all 8 memories;
  the run then stops (a generous rule: the reference's own stopping rule would run longer).
  The same time is tracked with marginal points (``|eig| < 1 + 1e-3``, ``find_fixed_points``'
  eps) counted as stable, since some members hold their memories on marginal points.
  Where it never shows all 8, its full run (to its own stopping rule) is reported with what it
  found. The best learning rate is the one that reaches all 8 memories first.
- worst q: the largest q (ours, float64) over the points each side returns; ours returns
  fixed points (``is_fixed``) and slow points, so the worst q of its fixed points is shown.

Usage::

    python benchmarks/fixed_points_reference.py --quick          # one GRU of 64 units
    python benchmarks/fixed_points_reference.py --members gru64 lstm64 --repeats 1
    python benchmarks/fixed_points_reference.py --members 256_fastshort --profile gru256

References
----------
.. [1] Golub, M. D., & Sussillo, D. (2018). FixedPointFinder: A Tensorflow toolbox for
   identifying and characterizing fixed points in recurrent neural networks. Journal of Open
   Source Software, 3(31), 1003. https://doi.org/10.21105/joss.01003
.. [2] Golub, M. D. RecurrentWhisperer (AdaptiveLearningRate, AdaptiveGradNormClip).
   https://github.com/mattgolub/recurrent-whisperer
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.func import jacrev, vmap

sys.path.insert(0, str(Path(__file__).parent))

import fixed_point_grouping as grouping
import flip_flop_family as ff

from rnn_widgets.analysis import find_fixed_points

N_STARTS = 1024
# CPU seconds of this process (all its threads), not wall time: the machine's cores are shared
# with other jobs, and both sides run on one torch thread.
CLOCK = time.process_time
N_MEMORIES = 8
Q_FIXED = 1e-10  # our q (||F(h) - h||^2 / N): a fixed point below it
Q_LOOSE = 1e-6  # a looser q, only to show what the baseline holds short of Q_FIXED
CHECK_EVERY = 25
MARGIN = 1e-3  # find_fixed_points' eps: |eig| < 1 + MARGIN is stable or marginal
LEARNING_RATES = (1.0, 0.1, 0.01)

# The reference's defaults (FixedPointFinderBase, AdaptiveLearningRate, AdaptiveGradNormClip).
TOL_Q = 1e-12
TOL_DQ = 1e-20
MAX_ITERS = 5000
TOL_UNIQUE = 1e-3
OUTLIER_DISTANCE_SCALE = 10.0
ADAM_EPSILON = 0.01


# --- the network's step, from the module's weights -------------------------------------------


def make_step(core: torch.nn.Module, dtype: torch.dtype):
    """``F(state)`` at zero input for a one-layer ``nn.GRU`` / ``nn.LSTM``, batched.

    Returns a function of ``state`` of shape (batch, state_size) (an LSTM's is ``(h, c)``).
    The zero input contributes only ``b_ih``; ``W_ih`` is not multiplied.
    """
    w_hh = core.weight_hh_l0.detach().to(dtype)
    bias = (core.bias_ih_l0 + core.bias_hh_l0).detach().to(dtype)
    b_ih = core.bias_ih_l0.detach().to(dtype)
    b_hh = core.bias_hh_l0.detach().to(dtype)
    units = core.hidden_size
    if isinstance(core, torch.nn.GRU):

        def gru(h):
            recurrent = h @ w_hh.T + b_hh
            r = torch.sigmoid(b_ih[:units] + recurrent[..., :units])
            z = torch.sigmoid(b_ih[units : 2 * units] + recurrent[..., units : 2 * units])
            n = torch.tanh(b_ih[2 * units :] + r * recurrent[..., 2 * units :])
            return (1 - z) * n + z * h

        return gru

    def lstm(state):
        h, c = state[..., :units], state[..., units:]
        gates = h @ w_hh.T + bias
        i = torch.sigmoid(gates[..., :units])
        f = torch.sigmoid(gates[..., units : 2 * units])
        g = torch.tanh(gates[..., 2 * units : 3 * units])
        o = torch.sigmoid(gates[..., 3 * units :])
        c_next = f * c + i * g
        return torch.cat([o * torch.tanh(c_next), c_next], dim=-1)

    return lstm


def module_step(core: torch.nn.Module):
    """The same ``F`` by calling the module on one zero-input step (what the reference does)."""
    units = core.hidden_size

    def step(state):
        x = torch.zeros(len(state), 1, core.input_size, dtype=state.dtype)
        if isinstance(core, torch.nn.GRU):
            return core(x, state[None])[1][0]
        _, (h, c) = core(x, (state[None, :, :units], state[None, :, units:]))
        return torch.cat([h[0], c[0]], dim=-1)

    return step


# --- the reference's optimiser pieces -----------------------------------------------------------


class AdaptiveLearningRate:
    """The reference's adaptive learning rate (its defaults; no warm-up).

    Down by ``decrease_factor`` when the newest loss is worse than each of the previous
    ``window`` losses, up by ``1 / decrease_factor`` when the losses fell monotonically over the
    last ``window`` steps; at most one change per ``window`` steps.
    """

    def __init__(self, initial_rate: float = 1.0, window: int = 5, factor: float = 0.95):
        self.rate = initial_rate
        self.initial_rate = initial_rate
        self.window = window
        self.factor = factor
        self.step = 0
        self.last_change = -1
        self.losses: list[float] = []

    def __call__(self) -> float:
        return self.rate

    def update(self, loss: float) -> None:
        self.losses.append(loss)
        if self.step == 0:  # the end of the (empty) warm-up sets the initial rate
            self.rate, self.last_change = self.initial_rate, 0
        elif self.step >= self.last_change + self.window:
            recent = np.asarray(self.losses[-(self.window + 1) :])
            if np.all(recent[-1] > recent[:-1]):
                self.rate *= self.factor
                self.last_change = self.step
            elif np.all(recent[1:] < recent[:-1]):
                self.rate /= self.factor
                self.last_change = self.step
        self.step += 1


class AdaptiveGradNormClip:
    """The reference's adaptive clip value: a percentile of the recent gradient norms."""

    def __init__(self, window: int = 128, percentile: float = 95.0, ceiling: float = 1e12):
        self.window = window
        self.percentile = percentile
        self.ceiling = ceiling
        self.value = ceiling
        self.norms: list[float] = []
        self.step = 0

    def __call__(self) -> float:
        return self.value

    def update(self, norm: float) -> None:
        if self.step < self.window:
            self.norms.append(norm)
        else:
            self.norms[self.step % self.window] = norm
        self.value = min(float(np.percentile(self.norms, self.percentile)), self.ceiling)
        self.step += 1


class Adam:
    """TensorFlow 1's Adam update (epsilon outside the bias correction), in place on ``x``."""

    def __init__(self, x: torch.Tensor, epsilon: float = ADAM_EPSILON):
        self.m = torch.zeros_like(x)
        self.v = torch.zeros_like(x)
        self.t = 0
        self.epsilon = epsilon

    def step(self, x: torch.Tensor, grad: torch.Tensor, lr: float) -> None:
        self.t += 1
        self.m.mul_(0.9).add_(grad, alpha=0.1)
        self.v.mul_(0.999).addcmul_(grad, grad, value=0.001)
        lr_t = lr * (1 - 0.999**self.t) ** 0.5 / (1 - 0.9**self.t)
        x.addcdiv_(self.m, self.v.sqrt().add_(self.epsilon), value=-lr_t)


def unique(points: np.ndarray) -> np.ndarray:
    """The reference's ``get_unique``: indices of one point per state rounded to 3 decimals."""
    decimals = 3  # round(-log10(TOL_UNIQUE))
    _, index = np.unique(points.round(decimals), axis=0, return_index=True)
    return index


def near_initial(points: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The reference's distance-outlier test: a mask of points it keeps."""
    centroid = starts.mean(axis=0)
    scale = np.linalg.norm(starts - centroid, axis=1).mean()
    return np.linalg.norm(points - centroid, axis=1) / scale < OUTLIER_DISTANCE_SCALE


# --- evaluation (float64, never timed) --------------------------------------------------------


@dataclass
class Evaluator:
    """Our q, stability and memories of points, in float64."""

    core: torch.nn.Module
    readout_weight: np.ndarray
    readout_bias: np.ndarray

    def __post_init__(self) -> None:
        self.step64 = make_step(self.core, torch.float64)
        self.jacobian = vmap(jacrev(self.step64))

    def q(self, points: np.ndarray) -> np.ndarray:
        h = torch.from_numpy(points.astype(np.float64))
        with torch.no_grad():
            return ((self.step64(h) - h) ** 2).mean(dim=1).numpy()

    def stable(self, points: np.ndarray, margin: float = 0.0) -> np.ndarray:
        """All ``|eig(dF/dh)| < 1 + margin``."""
        if len(points) == 0:
            return np.zeros(0, dtype=bool)
        jacobians = self.jacobian(torch.from_numpy(points.astype(np.float64))).detach().numpy()
        return np.abs(np.linalg.eigvals(jacobians)).max(axis=1) < 1 + margin

    def patterns(self, points: np.ndarray) -> list[tuple]:
        units = self.core.hidden_size
        out = points[:, :units] @ self.readout_weight.T + self.readout_bias
        return [tuple(row) for row in np.sign(out).astype(int)]

    def memories(self, points: np.ndarray, margin: float = 0.0) -> int:
        """Distinct readout patterns among the stable ones of fixed ``points``.

        With ``margin`` (``MARGIN``), marginal points (``|eig| < 1 + margin``) count as well.
        """
        found: set[tuple] = set()
        pending: dict[tuple, list[int]] = {}
        for index, pattern in enumerate(self.patterns(points)):
            pending.setdefault(pattern, []).append(index)
        # one Jacobian batch per round: a candidate of each pattern not yet confirmed
        while pending:
            picks = {pattern: indices.pop() for pattern, indices in pending.items()}
            stable = self.stable(points[list(picks.values())], margin)
            for (pattern, _), ok in zip(picks.items(), stable, strict=True):
                if ok:
                    found.add(pattern)
            pending = {p: i for p, i in pending.items() if i and p not in found}
        return len(found)


# --- the baseline -------------------------------------------------------------------------------


@dataclass
class BaselineRun:
    learning_rate: float
    time_to_all: float | None  # optimisation seconds until all memories were first seen
    time_to_all_marginal: float | None  # the same, marginal points counted as stable
    iterations_to_all: int | None
    seconds: float  # optimisation seconds of the run (to all memories, or in full)
    iterations: int
    memories: int  # at the end of the run
    returned: int
    fixed: int  # returned points with q < Q_FIXED
    worst_q: float  # over returned points, our q
    stop: str
    memories_loose: int  # at the end, among returned points with q < Q_LOOSE
    memories_marginal: int  # at the end, marginal points counted as stable


def baseline(
    core: torch.nn.Module,
    evaluator: Evaluator,
    starts: np.ndarray,
    learning_rate: float,
    stop_at_all: bool = True,
    max_iters: int = MAX_ITERS,
) -> BaselineRun:
    """FixedPointFinder's joint optimisation from ``starts`` (see the module docstring)."""
    step = make_step(core, torch.float32)
    x = torch.tensor(starts, dtype=torch.float32)
    alr = AdaptiveLearningRate(initial_rate=learning_rate)
    clip = AdaptiveGradNormClip()
    adam = Adam(x)
    q_prev = torch.full((len(x),), float("nan"))
    elapsed, time_to_all, iterations_to_all, stop = 0.0, None, None, "max_iters"
    time_to_all_marginal = None
    iteration = 1
    while True:
        begin = CLOCK()
        lr = alr()
        x.requires_grad_(True)
        q = 0.5 * ((step(x) - x) ** 2).sum(dim=1)
        loss = q.mean()
        (grad,) = torch.autograd.grad(loss, x)
        x.requires_grad_(False)
        norm = float(grad.norm())
        ceiling = clip()
        if norm > ceiling:
            grad = grad * (ceiling / norm)
        adam.step(x, grad, lr)
        q = q.detach()
        dq = (q - q_prev).abs()
        done = iteration > 1 and bool(((dq < TOL_DQ * lr) | (q < TOL_Q)).all())
        last = done or iteration + 1 > max_iters
        if not last:
            q_prev = q
            alr.update(float(loss.detach()))
            clip.update(norm)
        elapsed += CLOCK() - begin
        if done:
            stop = "tolerance"
        if last:
            break
        if (time_to_all is None or time_to_all_marginal is None) and iteration % CHECK_EVERY == 0:
            points = returned(x.numpy().astype(np.float64), starts)
            fixed = points[evaluator.q(points) < Q_FIXED]
            if time_to_all_marginal is None and evaluator.memories(fixed, MARGIN) == N_MEMORIES:
                time_to_all_marginal = elapsed
            if time_to_all is None and evaluator.memories(fixed) == N_MEMORIES:
                time_to_all, iterations_to_all = elapsed, iteration
            if stop_at_all and time_to_all is not None and time_to_all_marginal is not None:
                stop = "all memories"
                break
        iteration += 1
    points = returned(x.numpy().astype(np.float64), starts)
    q64 = evaluator.q(points)
    return BaselineRun(
        learning_rate,
        time_to_all,
        time_to_all_marginal,
        iterations_to_all,
        elapsed,
        iteration,
        evaluator.memories(points[q64 < Q_FIXED]),
        len(points),
        int((q64 < Q_FIXED).sum()),
        float(q64.max()),
        stop,
        evaluator.memories(points[q64 < Q_LOOSE]),
        evaluator.memories(points[q64 < Q_FIXED], MARGIN),
    )


def returned(points: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The reference's post-processing: unique, then distance outliers removed."""
    points = points[unique(points)]
    return points[near_initial(points, starts)]


# --- the cost of one iteration ------------------------------------------------------------------


def iteration_cost(core: torch.nn.Module, evaluator: Evaluator, starts: np.ndarray) -> str:
    """The baseline's time per iteration beside one forward and backward pass of ``F``.

    Both on the same batch, interleaved five times (the CPU is shared), minimum of each.
    """
    x = torch.tensor(starts, dtype=torch.float32, requires_grad=True)
    steps = {"weights": make_step(core, torch.float32), "module": module_step(core)}
    with torch.no_grad():
        agree = float((steps["module"](x) - steps["weights"](x)).abs().max())
    times: dict[str, list[float]] = {"baseline": [], "weights": [], "module": []}
    for _ in range(5):
        run = baseline(core, evaluator, starts, 0.1, max_iters=50)
        times["baseline"].append(run.seconds / run.iterations)
        for name, step in steps.items():
            begin = CLOCK()
            for _ in range(50):
                loss = (0.5 * ((step(x) - x) ** 2).sum(dim=1)).mean()
                torch.autograd.grad(loss, x)
            times[name].append((CLOCK() - begin) / 50)
    t = {name: min(values) * 1e3 for name, values in times.items()}
    return (
        f"baseline {t['baseline']:.2f} ms/iteration, one forward+backward of F {t['weights']:.2f} "
        f"ms (of nn.{type(core).__name__} itself {t['module']:.2f} ms; the two F agree to "
        f"{agree:.0e}): ratio {t['baseline'] / t['weights']:.2f}"
    )


# --- the harness --------------------------------------------------------------------------------


def readout_of(member: ff.Member) -> tuple[np.ndarray, np.ndarray]:
    weights = torch.load(ff.CACHE / member.id / "weights.pt", weights_only=True)
    return weights["readout.weight"].double().numpy(), weights["readout.bias"].double().numpy()


def compare(member: ff.Member, repeats: int, learning_rates, profile: bool) -> dict:
    model = ff.load_member(member)
    core = model.core
    evaluator = Evaluator(core, *readout_of(member))
    visited = grouping.flat_states(model, grouping.visited_trace(model))
    # The draw find_fixed_points(visited, n=n, seed=0, noise=0) makes; n as
    # fixed_point_grouping.py (find_fixed_points caps n * state_size**2).
    n = N_STARTS if model.state_size() <= 256 else N_STARTS // 2
    starts = visited[np.random.default_rng(0).integers(0, len(visited), n)]

    times, fp = [], None
    for _ in range(repeats):
        begin = CLOCK()
        fp = find_fixed_points(model, visited, inputs=np.zeros(3), n=n, seed=0,
                               progress=False)  # fmt: skip
        times.append(CLOCK() - begin)
    ours = statistics.median(times)
    ours_memories = evaluator.memories(fp.states[fp.is_fixed])
    ours_marginal = evaluator.memories(fp.states[fp.is_fixed], MARGIN)
    ours_worst = float(evaluator.q(fp.states[fp.is_fixed]).max())
    ours_worst_all = float(evaluator.q(fp.states).max())

    runs = {}
    for lr in learning_rates:
        best = None
        for _ in range(repeats):
            run = baseline(core, evaluator, starts, lr)
            best = run if best is None else best
            if run.time_to_all is not None and best.time_to_all is not None:
                # median over repeats of the time to all memories
                best.time_to_all = statistics.median([best.time_to_all, run.time_to_all])
        runs[lr] = best
        print(f"  {member.id} lr {lr}: {best}", flush=True)
    reached = [r for r in runs.values() if r.time_to_all is not None]
    chosen = min(reached, key=lambda r: r.time_to_all) if reached else min(
        runs.values(), key=lambda r: (-r.memories, r.seconds))  # fmt: skip
    cost = iteration_cost(core, evaluator, starts)
    profile_text = profile_ours(model, visited, n) if profile else ""
    return dict(
        member=member,
        ours=ours,
        ours_memories=ours_memories,
        ours_marginal=ours_marginal,
        ours_worst=ours_worst,
        ours_worst_all=ours_worst_all,
        ours_counts=fp.counts(),
        runs=runs,
        chosen=chosen,
        cost=cost,
        profile=profile_text,
        n=n,
    )


def profile_ours(model, visited: np.ndarray, n: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    find_fixed_points(model, visited, inputs=np.zeros(3), n=n, seed=0, progress=False)
    profiler.disable()
    stats = pstats.Stats(profiler)
    wanted = (
        "_levenberg_marquardt",
        "_polished_minima",
        "_eigenvalues",
        "_attractors",
        "_deduplicated",
        "_near_visited",
        "_check_differentiable",
        "find_fixed_points",
    )
    parts = []
    for (filename, _, name), row in stats.stats.items():
        if name in wanted and "rnn_widgets" in filename:
            parts.append((row[3], name))
    return ", ".join(f"{name} {seconds:.2f} s" for seconds, name in sorted(parts, reverse=True))


def row(result: dict) -> str:
    member, chosen, ours = result["member"], result["chosen"], result["ours"]
    if chosen.time_to_all is not None:
        base = f"{chosen.time_to_all:.2f} s ({chosen.iterations_to_all} it)"
        ratio = f"{chosen.time_to_all / ours:.1f}x"
    else:
        base = (
            f"never: found {chosen.memories}/8 in full run {chosen.seconds:.1f} s "
            f"({chosen.iterations} it, {chosen.stop})"
        )
        ratio = f"{chosen.seconds / ours:.1f}x (full run)"
    marginal = chosen.time_to_all_marginal
    base_marginal = "never" if marginal is None else f"{marginal:.2f} s"
    ratio_marginal = "-" if marginal is None else f"{marginal / ours:.1f}x"
    return (
        f"| {member.id} | {result['n']} | {ours:.2f} s | {result['ours_memories']}/8 "
        f"({result['ours_marginal']}/8) | {result['ours_worst']:.1e} | "
        f"{chosen.learning_rate:g} | {base} | {base_marginal} | {chosen.memories}/8 "
        f"({chosen.memories_marginal}/8) | {chosen.fixed}/{chosen.returned} | "
        f"{chosen.worst_q:.1e} | {ratio} | {ratio_marginal} |"
    )


HEADER = (
    "| member | starts | ours time | ours memories (with marginal) | ours worst q (fixed) | "
    "baseline lr | "
    "baseline time to all memories | same, with marginal | baseline memories (with marginal) "
    "| baseline fixed/returned | baseline worst q | ratio | ratio, with marginal |"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", nargs="*", help="substrings of member ids, e.g. gru64")
    parser.add_argument("--repeats", type=int, default=1, help="median over repeats")
    parser.add_argument("--quick", action="store_true", help="one GRU of 64 units")
    parser.add_argument("--rates", type=float, nargs="*", default=list(LEARNING_RATES))
    parser.add_argument(
        "--profile",
        nargs="*",
        help="profile ours once more on the members matching these substrings (none: all)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    members = [m for m in ff.family() if ff.cached(m)]
    if args.quick:
        members = [m for m in members if m.arch == "gru" and m.units == 64][:1]
    elif args.members:
        members = [m for m in members if any(s in m.id for s in args.members)]
    results = []
    for member in members:
        profile = args.profile is not None and (
            not args.profile or any(s in member.id for s in args.profile)
        )
        results.append(compare(member, args.repeats, args.rates, profile))
        print(row(results[-1]), flush=True)
    print(f"\n{N_STARTS} initial states, zero input, one torch thread; baseline q < {Q_FIXED:g} "
          f"checked every {CHECK_EVERY} iterations (untimed)\n")  # fmt: skip
    print(HEADER)
    print("| --- " * HEADER.count(" | ") + "| --- |")
    for result in results:
        print(row(result))
    print()
    for result in results:
        print(f"- {result['member'].id}: ours memories with marginal points "
              f"{result['ours_marginal']}/8, worst q over all returned "
              f"{result['ours_worst_all']:.1e}, counts {result['ours_counts']}; "
              f"cost per iteration: {result['cost']}")  # fmt: skip
        for lr, run in result["runs"].items():
            print(f"    lr {lr:g}: to all {run.time_to_all}, run {run.seconds:.2f} s "
                  f"{run.iterations} it ({run.stop}), memories {run.memories}, "
                  f"fixed {run.fixed}/{run.returned}, worst q {run.worst_q:.1e}, "
                  f"memories at q < {Q_LOOSE:g}: {run.memories_loose}, with marginal points: "
                  f"{run.memories_marginal}, time to all with marginal: "
                  f"{run.time_to_all_marginal}")  # fmt: skip
        if result["profile"]:
            print(f"    profile of ours: {result['profile']}")


if __name__ == "__main__":
    main()
