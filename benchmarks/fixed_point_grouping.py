"""Do attractor ids match memories on flip-flop networks the zoo did not train? (issue 23)

For every cached member of the flip-flop family (``benchmarks/flip_flop_family.py``): the
states it visits on held-out flip-flop sequences (``rnn_widgets.capture``), then the
package's public ``find_fixed_points(model, trace, inputs=zeros)``. Per member: points, stable
and saddle counts, the worst q of the fixed points, the attractor ids among stable points, and
how the 8 memories map to ids. A *memory* is the sign pattern of the readout at a point; the
readout is used here to judge the grouping only (``find_fixed_points`` never sees it).

Three views of the same result, each counting how many memories are *split* over several
ids and how many ids *merge* several memories:

- the fixed points with an id (``q < tolerance``, stable or marginal): the primary view (a
  memory held on a near-continuous manifold has marginal fixed points, not stable ones);
- every point with an id (slow points that are stable or marginal too);
- the stable fixed points only.

With ``--barriers``, whether q along straight segments could tell memories apart where distance
cannot: for each memory, the smallest barrier (largest q on a segment, over the best chain of
segments between the memory's own fixed points, each to one of its 12 nearest points within
1.5 radii) that connects all its points, against the smallest barrier on a segment between two
memories; both also relative to the median q of the visited states (a scale the dynamics
give). And the closest pair of fixed points that read out different memories: their distance,
the barrier between them, their largest |eigenvalue|, and the readouts.

With ``--inspect``, for each memory split over several ids among its stable points: the
distances between those stable points and the single-linkage (bottleneck) distance through
all the memory's points with an id, against the link length ``attractor_distance * radius``
that ``_attractors`` uses (radius: the RMS distance of the visited states from their mean);
each such point's largest |eigenvalue|; and the dynamics (zero input, 3,000 steps) started
on the straight segment between two of them: does it end at one of the two, and does the
readout keep the memory along the way?

Usage::

    python benchmarks/fixed_point_grouping.py [--reduced] [--only gru/64] [--inspect 2] [--barriers]
"""

from __future__ import annotations

import argparse
import copy
import itertools
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree

sys.path.insert(0, str(Path(__file__).parent))

import flip_flop_family as ff

import rnn_widgets as rw
from rnn_widgets import tasks
from rnn_widgets.analysis import find_fixed_points

ATTRACTOR_DISTANCE = 0.3  # find_fixed_points' default, used for the diagnostics


def visited_trace(model: rw.RecurrentModel) -> rw.Trace:
    """States the member visits on held-out sequences (not the judging set: another seed)."""
    data = tasks.flip_flop(3, 32, 200, p_pulse=0.05, seed=7)
    return rw.capture(model, list(data.sequences), kinds="h" if model.family == "gru" else
                      ("h", "c"), top_k=0, progress=False)  # fmt: skip


def flat_states(model: rw.RecurrentModel, trace: rw.Trace) -> np.ndarray:
    layout = model.state_layout()
    return np.concatenate(
        [np.asarray(trace.states(layer=0, kind=kind), dtype=np.float64) for kind in layout],
        axis=1,
    )


def patterns(model: rw.RecurrentModel, states: np.ndarray) -> np.ndarray:
    """The readout's sign pattern ("+-+") at each flat state."""
    h = states[:, model.state_layout()["h"]]
    with torch.no_grad():
        out = model.readout(torch.as_tensor(h, dtype=model.dtype)).numpy()
    return np.array(["".join("+" if v > 0 else "-" for v in row) for row in out])


def mapping(ids: np.ndarray, memory: np.ndarray) -> dict:
    """Memories split over ids and ids merging memories."""
    per_memory = {m: sorted(set(ids[memory == m].tolist())) for m in np.unique(memory)}
    per_id = {i: sorted(set(memory[ids == i].tolist())) for i in np.unique(ids)}
    return {
        "memories": len(per_memory),
        "ids": len(per_id),
        "split": sum(len(v) > 1 for v in per_memory.values()),
        "merged": sum(len(v) > 1 for v in per_id.values()),
        "per_memory": per_memory,
        "per_id": per_id,
    }


def radius_of(visited: np.ndarray) -> float:
    """The RMS distance of the visited states from their mean (as find_fixed_points uses)."""
    return float(np.sqrt(((visited - visited.mean(axis=0)) ** 2).sum(axis=1).mean()))


def bottleneck(points: np.ndarray, a: int, b: int) -> float:
    """The longest link on the single-linkage (minimax) path between points a and b."""
    distances = np.linalg.norm(points[:, None] - points[None], axis=2)
    tree = minimum_spanning_tree(np.maximum(distances, 1e-300)).toarray()
    tree = np.maximum(tree, tree.T)
    # walk the tree from a, tracking the largest edge on the path
    best = {a: 0.0}
    stack = [a]
    while stack:
        node = stack.pop()
        for other in np.flatnonzero(tree[node]):
            if other not in best:
                best[other] = max(best[node], tree[node, other])
                stack.append(other)
    return float(best[b])


def run_dynamics(
    model: rw.RecurrentModel, states: np.ndarray, steps: int, first: np.ndarray | None = None
) -> np.ndarray:
    """The states after ``steps`` steps of zero input (the first step's input ``first``)."""
    h = torch.as_tensor(states, dtype=model.dtype)
    x = torch.zeros(len(h), model.input_size(), dtype=model.dtype)
    with torch.no_grad():
        for step in range(steps):
            pulse = (
                torch.as_tensor(first, dtype=model.dtype) if step == 0 and first is not None else x
            )
            h = model.step(h, pulse)
    return h.double().numpy()


def segment_q(model64: rw.RecurrentModel, a: np.ndarray, b: np.ndarray, n: int = 33) -> float:
    """The largest q = ||F(h, 0) - h||^2 / N on the straight segment from a to b (float64)."""
    t = np.linspace(0, 1, n)[:, None]
    h = torch.as_tensor((1 - t) * a + t * b, dtype=torch.float64)
    with torch.no_grad():
        step = model64.step(h, torch.zeros(n, model64.input_size(), dtype=torch.float64))
    return float((((step - h) ** 2).sum(dim=1) / h.shape[1]).max())


def difference(model: rw.RecurrentModel, a: np.ndarray, b: np.ndarray) -> str:
    """Where two states differ: units carrying 90 % of the squared difference, share in c."""
    diff = (a - b) ** 2
    order = np.sort(diff)[::-1]
    k = int(np.searchsorted(np.cumsum(order), 0.9 * diff.sum()) + 1)
    text = f"90 % of the squared difference in {k} of {len(diff)} state dimensions"
    if model.family == "lstm":
        share = diff[model.state_layout()["c"]].sum() / diff.sum()
        text += f" ({share:.0%} of it in c)"
    return text


def pulse_test(model: rw.RecurrentModel, a: np.ndarray, b: np.ndarray, radius: float) -> str:
    """From a and from b: each of the 6 single-channel pulses, then 500 silent steps.

    Distances between the two ends / radius: 0 where the pulse erases what tells a from b.
    """
    pulses = np.zeros((6, 3))
    for k in range(3):
        pulses[2 * k, k], pulses[2 * k + 1, k] = 1.0, -1.0
    starts = np.concatenate([np.repeat(a[None], 6, 0), np.repeat(b[None], 6, 0)])
    ends = run_dynamics(model, starts, 500, np.concatenate([pulses, pulses]))
    gaps = np.linalg.norm(ends[:6] - ends[6:], axis=1) / radius
    return np.array2string(gaps, precision=3)


def inspect(model, fp, memory, radius, limit: int, factor: float) -> list[str]:
    """Diagnostics for up to ``limit`` memories split over several ids (fixed points with an id).

    Per split memory: for each of its ids, how many of its fixed points, whether one is a
    stable node, its largest |eigenvalue| (at the id's lowest-q point); the smallest gap
    between the point sets of two of its ids, against the link length; then, for the two ids
    whose point sets come closest, the dynamics (zero input, 3,000 steps) from 9 states on the
    segment between their lowest-q points: where they end, and the readout along the way.
    """
    lines = []
    link = factor * radius
    fixed = np.flatnonzero((fp.attractor >= 0) & fp.is_fixed)
    is_node = (fp.stability == "stable") & fp.is_fixed
    for pattern in sorted(set(memory[fixed].tolist())):
        members = fixed[memory[fixed] == pattern]
        ids = sorted(set(fp.attractor[members].tolist()))
        if len(ids) < 2 or limit <= 0:
            continue
        limit -= 1
        groups = [members[fp.attractor[members] == i] for i in ids]
        reps = np.array([g[np.argmin(fp.q[g])] for g in groups])
        gap = np.full((len(ids), len(ids)), np.inf)
        for i, j in itertools.combinations(range(len(ids)), 2):
            between = np.linalg.norm(
                fp.states[groups[i]][:, None] - fp.states[groups[j]][None], axis=2
            )
            gap[i, j] = gap[j, i] = between.min()
        a, b = np.unravel_index(np.argmin(gap), gap.shape)
        per_id = ", ".join(
            f"{len(g)}{'*' if is_node[g].any() else ''}:{abs(fp.eigenvalues[r, 0]):.4f}"
            for g, r in zip(groups, reps, strict=True)
        )
        # every point of this memory with an id (slow ones too): the bottleneck link between
        # the two closest ids through them
        same = np.flatnonzero((fp.attractor >= 0) & (memory == pattern))
        neck = bottleneck(
            fp.states[same],
            int(np.flatnonzero(same == reps[a])[0]),
            int(np.flatnonzero(same == reps[b])[0]),
        )
        segment = np.linspace(0, 1, 9)[:, None]
        line = (1 - segment) * fp.states[reps[a]] + segment * fp.states[reps[b]]
        end = run_dynamics(model, line, 3000)
        to_a = np.linalg.norm(end - fp.states[reps[a]], axis=1) / radius
        to_b = np.linalg.norm(end - fp.states[reps[b]], axis=1) / radius
        moved = np.linalg.norm(end - line, axis=1) / radius
        pulsed = pulse_test(model, fp.states[reps[a]], fp.states[reps[b]], radius)
        model64 = rw.RecurrentModel(copy.deepcopy(model.core).double())
        same_q = segment_q(model64, fp.states[reps[a]], fp.states[reps[b]])
        others = fixed[memory[fixed] != pattern]
        nearest = others[np.argmin(np.linalg.norm(fp.states[others] - fp.states[reps[a]], axis=1))]
        other_q = segment_q(model64, fp.states[reps[a]], fp.states[nearest])
        other_d = np.linalg.norm(fp.states[nearest] - fp.states[reps[a]]) / radius
        lines.append(
            f"  memory {pattern}: {len(members)} fixed points in {len(ids)} ids; per id "
            f"points(* = holds a stable node):|lambda_max| = {per_id}\n"
            f"    smallest gap between two ids' points: {gap[a, b] / radius:.3f} x radius "
            f"(link length {factor} x radius = {link:.3g}; radius {radius:.3g}); all gaps / radius "
            f"{np.array2string(np.sort(gap[np.triu_indices(len(ids), 1)]) / radius, precision=3)}"
            f"\n    distance between the two ids' lowest-q points "
            f"{np.linalg.norm(fp.states[reps[a]] - fp.states[reps[b]]) / radius:.3f} x radius; "
            f"bottleneck link through the memory's {len(same)} points with an id "
            f"{neck / radius:.3f} x radius\n"
            f"    readout along the segment between them: {' '.join(patterns(model, line))}\n"
            f"    3000 silent steps from 9 states on it: end distance to a / radius "
            f"{np.array2string(to_a, precision=3)}, to b {np.array2string(to_b, precision=3)}, "
            f"moved {np.array2string(moved, precision=3)}, readout at the end "
            f"{' '.join(patterns(model, end))}\n"
            f"    a - b: {difference(model, fp.states[reps[a]], fp.states[reps[b]])}\n"
            f"    after one pulse (+0 -0 +1 -1 +2 -2) and 500 silent steps from a and from b: "
            f"distance between the ends / radius {pulsed}\n"
            f"    largest q on the segment a-b: {same_q:.2e}; on the segment from a to the "
            f"nearest fixed point of another memory ({memory[nearest]}, {other_d:.3f} x radius "
            f"away): {other_q:.2e}"
        )
    return lines


def inspect_merged(model, fp, memory, radius, limit: int, factor: float) -> list[str]:
    """For up to ``limit`` ids holding several memories (among fixed points with an id).

    Per id: points per memory, whether it holds a stable node, the readout's smallest
    |output| on the channel the memories disagree on (small: the points sit near the sign
    boundary), and the gap between the two memories' point sets in it.
    """
    lines = []
    fixed = np.flatnonzero((fp.attractor >= 0) & fp.is_fixed)
    h = fp.states[:, model.state_layout()["h"]]
    with torch.no_grad():
        out = model.readout(torch.as_tensor(h, dtype=model.dtype)).double().numpy()
    for i in sorted(set(fp.attractor[fixed].tolist())):
        points = fixed[fp.attractor[fixed] == i]
        held = sorted(set(memory[points].tolist()))
        if len(held) < 2 or limit <= 0:
            continue
        limit -= 1
        counts = {m: int((memory[points] == m).sum()) for m in held}
        first, second = (points[memory[points] == m] for m in held[:2])
        channels = [k for k in range(3) if held[0][k] != held[1][k]]
        smallest = np.abs(out[points][:, channels]).min()
        gap = np.linalg.norm(fp.states[first][:, None] - fp.states[second][None], axis=2).min()
        node = bool(((fp.stability[points] == "stable") & fp.is_fixed[points]).any())
        lines.append(
            f"  id {i}: points per memory {counts}; stable node: {node}; smallest |output| on "
            f"channel(s) {channels} {smallest:.3g} (outputs are +-1 at a memory); gap between "
            f"{held[0]} and {held[1]} points {gap / radius:.3f} x radius (link {factor})"
        )
    return lines


BARRIER_NEIGHBOURS = 12
BARRIER_REACH = 1.5  # radii
BARRIER_SAMPLES = 17


def zero_input_q(model64: rw.RecurrentModel, states: np.ndarray) -> np.ndarray:
    """q = ||F(h, 0) - h||^2 / N at each state (float64)."""
    h = torch.as_tensor(states, dtype=torch.float64)
    with torch.no_grad():
        step = model64.step(h, torch.zeros(len(h), model64.input_size(), dtype=torch.float64))
    return (((step - h) ** 2).sum(dim=1) / h.shape[1]).numpy()


def barriers(model, fp, memory, radius, visited) -> list[str]:
    """Could the largest q on the segment between two fixed points separate memories?"""
    model64 = rw.RecurrentModel(copy.deepcopy(model.core).double())
    hold = np.flatnonzero(fp.is_fixed & np.isin(fp.stability, ["stable", "marginal"]))
    points, mem = fp.states[hold], memory[hold]
    distance = np.linalg.norm(points[:, None] - points[None], axis=2) / radius
    rows, cols = [], []
    for i in range(len(points)):
        near = np.argsort(distance[i])[1 : BARRIER_NEIGHBOURS + 1]
        near = near[distance[i, near] < BARRIER_REACH]
        rows += [i] * len(near)
        cols += near.tolist()
    rows, cols = np.array(rows, dtype=int), np.array(cols, dtype=int)
    t = np.linspace(0, 1, BARRIER_SAMPLES)[:, None, None]
    segments = (1 - t) * points[rows][None] + t * points[cols][None]
    barrier = zero_input_q(model64, segments.reshape(-1, points.shape[1]))
    barrier = barrier.reshape(BARRIER_SAMPLES, -1).max(axis=0)
    same = mem[rows] == mem[cols]
    between = float(barrier[~same].min()) if (~same).any() else np.inf
    needed = {}
    for pattern in np.unique(mem):
        own = np.flatnonzero(mem == pattern)
        if len(own) < 2:
            continue
        where = {g: k for k, g in enumerate(own)}
        chosen = same & (mem[rows] == pattern)
        graph = coo_matrix(
            (np.maximum(barrier[chosen], 1e-300),
             ([where[r] for r in rows[chosen]], [where[c] for c in cols[chosen]])),
            shape=(len(own), len(own)),
        )  # fmt: skip
        tree = minimum_spanning_tree(graph)
        pieces, _ = connected_components(tree, directed=False)
        needed[pattern] = (
            float(tree.data.max()) if pieces == 1 and tree.nnz else (0.0 if pieces == 1 else np.inf)
        )
    need = max(needed.values(), default=0.0)
    scale = float(np.median(zero_input_q(model64, visited)))
    lines = [
        f"  barriers: median q of visited states {scale:.1e}; to connect every memory's own "
        f"points {need:.1e} ({need / scale:.2g} x median); smallest between two memories "
        f"{between:.1e} ({between / scale:.2g} x median); per memory "
        + " ".join(f"{m}:{v:.0e}" for m, v in needed.items())
    ]
    other = np.where(mem[:, None] != mem[None], distance, np.inf)
    if np.isfinite(other).any():
        a, b = np.unravel_index(np.argmin(other), other.shape)
        t1 = np.linspace(0, 1, 33)[:, None]
        line = (1 - t1) * points[a] + t1 * points[b]
        h = torch.as_tensor(points[[a, b]][:, model.state_layout()["h"]], dtype=model.dtype)
        with torch.no_grad():
            out = model.readout(h).numpy()
        largest = np.abs(fp.eigenvalues[hold[[a, b]], 0])
        crossing = zero_input_q(model64, line).max()
        lines.append(
            f"  closest fixed points of two memories ({mem[a]}, {mem[b]}): "
            f"{distance[a, b]:.3f} x radius apart, barrier {crossing:.1e}, "
            f"|lambda_max| {largest[0]:.5f} / {largest[1]:.5f}, readouts "
            f"{np.array2string(out[0], precision=3)} / {np.array2string(out[1], precision=3)}"
        )
    return lines


def analyse(
    member: ff.Member,
    inspect_limit: int,
    attractor_distance: float = ATTRACTOR_DISTANCE,
    with_barriers: bool = False,
) -> tuple[dict, list[str]]:
    torch.set_num_threads(1)
    model = ff.load_member(member)
    trace = visited_trace(model)
    visited = flat_states(model, trace)
    n = 1024 if model.state_size() <= 256 else 512
    start = time.perf_counter()
    fp = find_fixed_points(
        model,
        trace,
        inputs=np.zeros(3),
        n=n,
        progress=False,
        attractor_distance=attractor_distance,
    )
    seconds = time.perf_counter() - start
    counts = fp.counts()
    memory = patterns(model, fp.states)
    stable = np.flatnonzero((fp.stability == "stable") & fp.is_fixed)
    fixed = np.flatnonzero((fp.attractor >= 0) & fp.is_fixed)
    held = np.flatnonzero(fp.attractor >= 0)
    on_stable = mapping(fp.attractor[stable], memory[stable])
    on_fixed = mapping(fp.attractor[fixed], memory[fixed])
    on_held = mapping(fp.attractor[held], memory[held])
    radius = radius_of(visited)
    row = {
        "id": member.id,
        "state": model.state_size(),
        "starts": n,
        "points": len(fp),
        "stable": counts["stable"],
        "marginal": counts["marginal"],
        "saddle": counts["saddle"],
        "slow": counts["slow"],
        "worst_q": float(fp.q[fp.is_fixed].max()) if fp.is_fixed.any() else float("nan"),
        "stable_ids": on_stable["ids"],
        "stable_memories": on_stable["memories"],
        "stable_split": on_stable["split"],
        "stable_merged": on_stable["merged"],
        "fixed_ids": on_fixed["ids"],
        "fixed_memories": on_fixed["memories"],
        "fixed_split": on_fixed["split"],
        "fixed_merged": on_fixed["merged"],
        "held_ids": on_held["ids"],
        "held_memories": on_held["memories"],
        "held_split": on_held["split"],
        "held_merged": on_held["merged"],
        "ids_per_memory": {str(m): len(v) for m, v in on_fixed["per_memory"].items()},
        "memories_per_id": sorted((len(v) for v in on_fixed["per_id"].values()), reverse=True),
        "seconds": seconds,
        "trained": ff.result_of(member)["trained"],
        "silent_hold": ff.silent_hold(model)["n_held"],
    }
    lines = barriers(model, fp, memory, radius, visited[::7]) if with_barriers else []
    if inspect_limit:
        lines += inspect(model, fp, memory, radius, inspect_limit, attractor_distance)
        lines += inspect_merged(model, fp, memory, radius, inspect_limit, attractor_distance)
    return row, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reduced", action="store_true")
    parser.add_argument("--only", action="append", help="arch/units, e.g. lstm/128")
    parser.add_argument("--inspect", type=int, default=0, help="split memories to inspect each")
    parser.add_argument("--barriers", action="store_true", help="q along segments (see above)")
    parser.add_argument(
        "--attractor-distance",
        type=float,
        default=ATTRACTOR_DISTANCE,
        help="find_fixed_points' attractor_distance (default: its default, 0.3)",
    )
    args = parser.parse_args()
    members = [m for m in ff._selected(ff.family(args.reduced), args.only) if ff.cached(m)]
    rows = []
    for member in members:
        row, lines = analyse(member, args.inspect, args.attractor_distance, args.barriers)
        rows.append(row)
        print(
            f"{row['id']}: {row['points']} points, {row['stable']} stable, fixed points with an "
            f"id: {row['fixed_ids']} ids for {row['fixed_memories']} memories (split "
            f"{row['fixed_split']}, merged {row['fixed_merged']}), {row['seconds']:.1f} s; ids "
            f"per memory {row['ids_per_memory']}; memories per id {row['memories_per_id']}",
            flush=True,
        )
        for line in lines:
            print(line, flush=True)
    print()
    print(
        "| member | trained | holds 2000 silent steps | state | starts | points | stable | "
        "marginal | saddle | slow | "
        "worst q (fixed) | fixed with id: memories / ids | split | merged | "
        "all with id: memories / ids | split | merged | stable fixed: memories / ids | "
        "time (s) |"
    )
    print("| " + " | ".join(["---"] * 19) + " |")
    for r in rows:
        print(
            f"| {r['id']} | {'yes' if r['trained'] else 'NO'} | {r['silent_hold']}/8 | "
            f"{r['state']} | {r['starts']} | "
            f"{r['points']} | {r['stable']} | {r['marginal']} | {r['saddle']} | {r['slow']} | "
            f"{r['worst_q']:.1e} | {r['fixed_memories']} / {r['fixed_ids']} | "
            f"{r['fixed_split']} | {r['fixed_merged']} | {r['held_memories']} / "
            f"{r['held_ids']} | {r['held_split']} | {r['held_merged']} | "
            f"{r['stable_memories']} / {r['stable_ids']} | {r['seconds']:.1f} |"
        )


if __name__ == "__main__":
    main()
