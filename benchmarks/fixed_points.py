"""Fixed points of flip-flop GRUs: our Levenberg-Marquardt search against Adam baselines.

On the shipped 3-bit flip-flop GRU (64 units) and on 128- and 256-unit ones trained here
(fixed seeds, the zoo's recipe; cached in ``--cache``), from the same 1,024 initial states
(sampled from the states the network visits on held-out flip-flop inputs): wall time, counts
per class, attractors, the maximum q of the fixed points and how many of the 8 memories
(output sign patterns) the stable and marginal points cover.

Baseline, in the style of the common fixed-point finders, batched: every point jointly by
Adam on q, with learning rate 0.01, and again 1.0 with a reduce-on-plateau schedule,
stopping at q < 1e-8 for every point or after 5,000 iterations; duplicates removed greedily
(a point is kept unless a kept point of lower q lies within 1e-3). Its points are then
classified with the same Jacobians and eps as ours.
Every method runs ``--repeats`` times; times are medians.
Usage: python benchmarks/fixed_points.py [--sizes 64 128 256] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from torch.func import vmap

import rnn_widgets as rw
from rnn_widgets import tasks, zoo
from rnn_widgets.analysis import find_fixed_points
from rnn_widgets.analysis._jacobians import closed_form_jacobian, float64_step
from rnn_widgets.zoo import Network, Spec, train

N_STARTS = 1024


def flip_flop_network(hidden: int, cache: Path) -> Network:
    """The shipped 64-unit GRU, or one of ``hidden`` units trained with the zoo's recipe."""
    if hidden == 64:
        return zoo.network("flip_flop_gru")
    path = cache / f"flip_flop_gru_{hidden}.pt"
    spec = Spec(family="gru", n_inputs=3, hidden=hidden, layers=1, n_outputs=3)
    if path.exists():
        network = Network(spec)
        network.load_state_dict(torch.load(path, weights_only=True))
        return network.eval()
    recipe = zoo.RECIPES["flip_flop_gru"]
    result = train(
        spec,
        recipe.train_data(),
        steps=recipe.steps,
        batch_size=recipe.batch_size,
        learning_rate=recipe.learning_rate,
        seed=recipe.seed,
        progress=False,
    )
    cache.mkdir(parents=True, exist_ok=True)
    torch.save(result.network.state_dict(), path)
    return result.network


def memories(network: Network, states: np.ndarray) -> int:
    with torch.no_grad():
        outputs = network.readout(torch.from_numpy(states[:, : network.spec.hidden]).float())
    return len({tuple(np.sign(row).astype(int)) for row in outputs.numpy()})


def adam_baseline(model, starts: np.ndarray, schedule: bool) -> tuple[np.ndarray, np.ndarray]:
    """All points jointly by Adam; returns (points, q)."""
    step = float64_step(model, 0)
    h = torch.tensor(starts, dtype=torch.float32, requires_grad=True)
    net_step = lambda s: model.step(s, torch.zeros(len(s), 3))  # noqa: E731
    optimiser = torch.optim.Adam([h], lr=1.0 if schedule else 0.01)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimiser, factor=0.5, patience=50)
    for _ in range(5000):
        q = ((net_step(h) - h) ** 2).mean(dim=1)
        if bool((q < 1e-8).all()):
            break
        optimiser.zero_grad()
        q.sum().backward()
        optimiser.step()
        if schedule:
            plateau.step(float(q.detach().mean()))
    points = h.detach().double()
    with torch.no_grad():
        residual = vmap(lambda p: step(p, torch.zeros(3, dtype=torch.float64)))(points)
    q = ((residual - points) ** 2).mean(dim=1).numpy()
    return _greedy_unique(points.numpy(), q)


def _greedy_unique(points: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """In order of q, keep a point unless a kept point lies within 1e-3 of it.

    One distance matrix and a loop of vector operations, so that the baseline's time is its
    Adam iterations, not a Python double loop over pairs.
    """
    close = torch.cdist(torch.from_numpy(points), torch.from_numpy(points)).numpy() <= 1e-3
    kept = np.zeros(len(points), dtype=bool)
    for index in np.argsort(q, kind="stable"):
        kept[index] = not close[index, kept].any()
    order = np.flatnonzero(kept)[np.argsort(q[kept], kind="stable")]
    return points[order], q[order]


def classify(model, points: np.ndarray, eps: float = 1e-3) -> dict[str, np.ndarray]:
    jacobian = closed_form_jacobian(model, 0)
    inputs = torch.zeros(len(points), 3, dtype=torch.float64)
    magnitude = np.abs(np.linalg.eigvals(jacobian(torch.from_numpy(points), inputs).numpy()))
    largest = magnitude.max(axis=1)
    unstable = (magnitude > 1 + eps).sum(axis=1)
    stability = np.where(
        unstable == magnitude.shape[1],
        "unstable",
        np.where(unstable > 0, "saddle", np.where(largest < 1 - eps, "stable", "marginal")),
    )
    return {"stability": stability}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path(__file__).parent / ".cache")
    args = parser.parse_args()

    rows = []
    load_before = os.getloadavg()
    for hidden in args.sizes:
        network = flip_flop_network(hidden, args.cache)
        model = network.recurrent_model()
        data = tasks.flip_flop(3, 64, 200, seed=3)
        trace = rw.capture(model, data.sequences, progress=False)
        visited = trace.states().astype(np.float64)
        # The draw find_fixed_points makes with its default seed=0 and noise=0: every method
        # starts from the same 1,024 states.
        starts = visited[np.random.default_rng(0).integers(0, len(visited), N_STARTS)]

        times, points = [], None
        for _ in range(args.repeats):
            begin = time.perf_counter()
            points = find_fixed_points(model, trace, n=N_STARTS, progress=False)
            times.append(time.perf_counter() - begin)
        holding = np.isin(points.stability, ["stable", "marginal"]) & points.is_fixed
        counts = points.counts()
        rows.append(
            (
                hidden,
                "Levenberg-Marquardt (ours)",
                statistics.median(times),
                counts,
                len(set(points.attractor[holding].tolist())),
                float(points.q[points.is_fixed].max()) if points.is_fixed.any() else float("nan"),
                memories(network, points.states[holding]),
            )
        )
        for schedule in (False, True):
            elapsed_runs = []
            for _ in range(args.repeats):
                begin = time.perf_counter()
                found, q = adam_baseline(model, starts, schedule)
                elapsed_runs.append(time.perf_counter() - begin)
            elapsed = statistics.median(elapsed_runs)
            fixed = q < 1e-8
            stability = classify(model, found)["stability"]
            baseline_counts = {n: int((stability == n).sum()) for n in ("stable", "marginal")}
            baseline_counts |= {n: int((stability == n).sum()) for n in ("saddle", "unstable")}
            baseline_counts["slow"] = int((~fixed).sum())
            held = np.isin(stability, ["stable", "marginal"]) & fixed
            rows.append(
                (
                    hidden,
                    "Adam, lr 1.0 + plateau" if schedule else "Adam, lr 0.01",
                    elapsed,
                    baseline_counts,
                    int(held.sum()),
                    float(q[fixed].max()) if fixed.any() else float("nan"),
                    memories(network, found[held]),
                )
            )

    load_after = os.getloadavg()
    print(f"3-bit flip-flop GRUs, {N_STARTS} initial states, zero input")
    print(
        f"load average (1, 5, 15 min) before: {', '.join(f'{x:.2f}' for x in load_before)}; "
        f"after: {', '.join(f'{x:.2f}' for x in load_after)}\n"
    )
    print(
        "| units | method | time (s) | speed-up | stable | marginal | saddle | unstable | slow | "
        "attractors | max q (fixed) | memories |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for hidden, method, seconds, counts, attractors, max_q, covered in rows:
        ours = next(r[2] for r in rows if r[0] == hidden and r[1].endswith("(ours)"))
        print(
            f"| {hidden} | {method} | {seconds:.1f} | {seconds / ours:.1f}x | {counts['stable']} "
            f"| {counts['marginal']} | {counts['saddle']} | {counts['unstable']} | "
            f"{counts['slow']} | {attractors} | {max_q:.1e} | {covered}/8 |"
        )
    print(
        "\nspeed-up: the method's time over ours, in the same process; the target compares "
        "ours with the fastest baseline that finds all 8 memories (else the fastest)."
    )


if __name__ == "__main__":
    main()
