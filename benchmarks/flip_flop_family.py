"""A family of 3-bit flip-flop networks trained by recipes the zoo does not use (issue 23).

The zoo's flip-flop GRU (``rnn_widgets/zoo/_recipes.py``, ``flip_flop_gru``) is one recipe:
64 GRU units, Adam at 3e-3 with a cosine decay, sequences of 100 steps with pulses at rate
0.05, batches of 64, 1,500 steps, no noise, no weight decay, trained to the end. A fixed-point
analysis tuned on that one network may lean on its particular geometry. This family varies
what the zoo holds fixed: the learning rate (constant here, no decay), the sequence length,
the pulse rate, Gaussian noise on the inputs, decoupled weight decay (AdamW) on every
parameter, and early stopping at a higher loss; over GRUs and LSTMs (whose state is the flat
``(h, c)``) of 64, 128 and 256 units, three recipes per architecture and size.

Data come from ``rnn_widgets.tasks.flip_flop`` (the "signed" variant: pulses of +-1, the
output holds the last pulse of its channel); the network is ``nn.GRU``/``nn.LSTM``
(``batch_first``) plus a linear readout of ``h``, wrapped by the public ``RecurrentModel``.
Each member is trained from its seed (torch's and the data's) and cached in
``~/.cache/rnn_widgets/flip_flop_family/<member id>/`` (outside the repository; nothing of it
ships): ``weights.pt`` (``torch.save`` of the state dict, read with ``weights_only=True``),
``recipe.json``, ``result.json`` (final loss, steps run, seconds, held-out accuracies).
A cached member is skipped.

A member counts as trained when it holds every one of the 8 memories: on held-out sequences
(the zoo's test distribution: 200 steps, pulse rate 0.05, seed 1, no noise), over the steps
where every channel has had a pulse, the steps whose memory is pattern ``m`` have all three
output signs right in >= 95 % of them, for each of the 8 patterns ``m``. Reported beside it
(``silent_hold_2000``): how many of the 8 memories, each set by one pulse per channel, still
read out after 2,000 steps of zero input. A memory that fails it is held on a slow transient,
not an attractor, and the dynamics alone cannot keep it apart from the memory it drifts into:
only members holding 8/8 test the issue's requirement.

Usage::

    python benchmarks/flip_flop_family.py             # the full family, cached members skipped
    python benchmarks/flip_flop_family.py --reduced   # the CI family: one GRU, one LSTM, 64 units
    python benchmarks/flip_flop_family.py --only gru/64 --only lstm/64
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from rnn_widgets import RecurrentModel, tasks

__all__ = [
    "CACHE",
    "HELD_OUT",
    "Member",
    "cached",
    "family",
    "folder",
    "held_out",
    "load_member",
    "memory_accuracy",
    "result_of",
    "silent_hold",
    "train_member",
]

CACHE = Path(
    os.environ.get("RNN_WIDGETS_FAMILY_CACHE", Path.home() / ".cache/rnn_widgets/flip_flop_family")
)
N_BITS = 3
#: The held-out set: the zoo's flip-flop test distribution (n_sequences, length, p_pulse, seed).
HELD_OUT = (128, 200, 0.05, 1)
#: Per-memory accuracy a trained member reaches for every one of the 8 memories.
FLOOR = 0.95
# Sequences in a member's training pool (batches are drawn from it with replacement).
_POOL = 2048


@dataclass(frozen=True)
class Member:
    """One network of the family: its architecture and how it is trained.

    Attributes
    ----------
    arch : {"gru", "lstm"}
    units : int
        Hidden units.
    seed : int
        Seeds torch's initialisation and noise, the training data and the batch draw.
    learning_rate : float
        Adam's (AdamW's with weight decay) learning rate, constant.
    length : int
        Steps per training sequence.
    p_pulse : float
        Probability that a channel pulses at a step, in training.
    input_noise : float
        Std of Gaussian noise added to every input step in training (0: none).
    weight_decay : float
        Decoupled weight decay of every parameter (AdamW; 0: plain Adam).
    steps : int
        Optimiser steps at most.
    stop_loss : float
        Stop early once the mean training loss over the last 20 steps is below this (0: never).
    batch_size : int
        Sequences per batch.
    recipe : str
        The recipe's short name (what sets it apart from the zoo's).

    """

    arch: str
    units: int
    seed: int
    learning_rate: float
    length: int
    p_pulse: float
    input_noise: float
    weight_decay: float
    steps: int
    stop_loss: float
    batch_size: int
    recipe: str

    @property
    def id(self) -> str:
        """The cache folder's name, e.g. ``gru64_fastshort_s1000``."""
        return f"{self.arch}{self.units}_{self.recipe}_s{self.seed}"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# Three recipes, each unlike the zoo's (lr 3e-3 cosine, length 100, p 0.05, batch 64, 1,500
# steps, no noise, no decay). Steps shrink with the width (wider networks learn the task in
# fewer steps and each step costs more on a CPU). Measured: every member passes the 95 % floor,
# but the GRUs of "fastshort" and "decayearly" hold only 1 or 2 of their 8 memories through
# 2,000 silent steps (their memories drift into one another: not attractors); the LSTMs and the
# "noisylong" GRUs hold 5 to 8 (see benchmarks/fixed_point_grouping.py).
_RECIPES = {
    # a high constant learning rate on short sequences with frequent pulses, small batches
    "fastshort": dict(learning_rate=1e-2, length=60, p_pulse=0.1, input_noise=0.0,
                      weight_decay=0.0, stop_loss=0.0, batch_size=32),
    # long sequences with rare pulses, noisy inputs, a low learning rate
    "noisylong": dict(learning_rate=2e-3, length=160, p_pulse=0.03, input_noise=0.1,
                      weight_decay=0.0, stop_loss=0.0, batch_size=32),
    # AdamW with weight decay, stopped early at a higher loss
    "decayearly": dict(learning_rate=5e-3, length=80, p_pulse=0.07, input_noise=0.05,
                       weight_decay=1e-2, stop_loss=0.03, batch_size=48),
}  # fmt: skip
_STEPS = {64: 1200, 128: 900, 256: 700}
# The noisy, slow recipe needs more steps: with the base steps its GRUs missed the 95 % floor on
# a memory (0.947, 0.927, 0.925 at 64, 128, 256 units).
_STEP_FACTOR = {"noisylong": 2.5}


def family(reduced: bool = False) -> tuple[Member, ...]:
    """The family: every architecture, width and recipe, or the reduced one for CI.

    Parameters
    ----------
    reduced : bool
        The CI family instead: one GRU and one LSTM of 64 units, short training (under a
        minute together on one core).

    Returns
    -------
    tuple of Member
        Ordered by width, then architecture, then recipe (smallest first).

    """
    if reduced:
        # Short sequences, frequent pulses and a high learning rate, like "fastshort"; the GRU
        # needs noisy inputs to hold its memories as attractors (without, 3 of 8 survive 2,000
        # silent steps). About 15 s and 6 s on one core; both hold 8/8.
        return (
            Member("gru", 64, 101, 1e-2, 60, 0.1, 0.2, 0.0, 800, 0.0, 32, "ci"),
            Member("lstm", 64, 102, 1e-2, 60, 0.1, 0.0, 0.0, 800, 0.0, 32, "ci"),
        )
    members = []
    for units, arch in itertools.product((64, 128, 256), ("gru", "lstm")):
        for k, (name, values) in enumerate(_RECIPES.items()):
            seed = 1000 * (units // 64) + 100 * (arch == "lstm") + k
            steps = int(_STEPS[units] * _STEP_FACTOR.get(name, 1.0))
            members.append(Member(arch, units, seed, steps=steps, recipe=name, **values))
    return tuple(members)


class _Net(nn.Module):
    def __init__(self, member: Member) -> None:
        super().__init__()
        core = nn.GRU if member.arch == "gru" else nn.LSTM
        self.core = core(N_BITS, member.units, batch_first=True)
        self.readout = nn.Linear(member.units, N_BITS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.core(x)
        return self.readout(h)


def held_out() -> tasks.TaskData:
    """The held-out sequences every member is judged on."""
    n, length, p_pulse, seed = HELD_OUT
    return tasks.flip_flop(N_BITS, n, length, p_pulse=p_pulse, seed=seed)


def memory_accuracy(outputs: np.ndarray, task: tasks.TaskData) -> dict:
    """Per-memory and overall accuracy of output signs on a flip-flop task.

    Parameters
    ----------
    outputs : ndarray, shape (n_sequences, length, 3)
    task : TaskData

    Returns
    -------
    dict
        ``per_memory`` (pattern such as ``"+-+"`` -> fraction of its steps with all three
        signs right, over steps where every channel has pulsed), ``min_memory``,
        ``sign_accuracy`` (per channel and step, steps after that channel's first pulse).

    """
    targets = np.stack(task.targets)
    memories = np.concatenate(task.labels["memory"])
    signs_right = np.sign(outputs) == np.sign(targets)
    held = targets != 0
    sign_accuracy = float(signs_right[held].mean())
    all_right = signs_right.all(axis=2).reshape(-1)
    per_memory = {}
    for pattern in ("".join(p) for p in itertools.product("+-", repeat=N_BITS)):
        chosen = memories == pattern
        per_memory[pattern] = float(all_right[chosen].mean()) if chosen.any() else float("nan")
    return {
        "per_memory": per_memory,
        "min_memory": float(np.nanmin(list(per_memory.values()))),
        "sign_accuracy": sign_accuracy,
    }


def silent_hold(model: RecurrentModel, steps: int = 2000) -> dict:
    """Each of the 8 memories set by one pulse per channel, then ``steps`` steps of zero input.

    A memory held at a fixed point (or a manifold slow enough) still reads out its pattern at
    the end; one held on a transient that merely outlasts the held-out gaps does not.

    Returns
    -------
    dict
        ``held`` (patterns still read out at the end), ``n_held``.

    """
    chosen = ["".join(p) for p in itertools.product("+-", repeat=N_BITS)]
    sequences = np.zeros((len(chosen), steps + 1, N_BITS), dtype=np.float32)
    for k, pattern in enumerate(chosen):
        sequences[k, 0] = [1.0 if c == "+" else -1.0 for c in pattern]
    outputs = model.run(torch.from_numpy(sequences)).outputs[:, -1].numpy()
    read = ["".join("+" if v > 0 else "-" for v in row) for row in outputs]
    held = [p for p, r in zip(chosen, read, strict=True) if p == r]
    return {"held": held, "n_held": len(held)}


def folder(member: Member) -> Path:
    return CACHE / member.id


def cached(member: Member) -> bool:
    """Whether the member's weights and result are in the cache, trained by this very recipe."""
    target = folder(member)
    if not ((target / "weights.pt").exists() and (target / "result.json").exists()):
        return False
    recipe = target / "recipe.json"
    return recipe.exists() and Member(**json.loads(recipe.read_text())) == member


def train_member(member: Member, *, threads: int = 1) -> dict:
    """Train one member from its seed, cache it, return its result (dict, as in result.json)."""
    torch.set_num_threads(threads)
    torch.manual_seed(member.seed)
    generator = torch.Generator().manual_seed(member.seed)
    pool = tasks.flip_flop(N_BITS, _POOL, member.length, p_pulse=member.p_pulse, seed=member.seed)
    inputs = torch.from_numpy(np.stack(pool.sequences))
    targets = torch.from_numpy(np.stack(pool.targets))
    net = _Net(member)
    optimiser = torch.optim.AdamW(
        net.parameters(), lr=member.learning_rate, weight_decay=member.weight_decay
    )
    rng = np.random.default_rng(member.seed)
    losses: list[float] = []
    start = time.perf_counter()
    for _ in range(member.steps):
        chosen = torch.from_numpy(rng.integers(0, _POOL, member.batch_size))
        x = inputs[chosen]
        if member.input_noise:
            x = x + member.input_noise * torch.randn(x.shape, generator=generator)
        loss = nn.functional.mse_loss(net(x), targets[chosen])
        optimiser.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimiser.step()
        losses.append(loss.item())
        if member.stop_loss and len(losses) >= 20 and np.mean(losses[-20:]) < member.stop_loss:
            break
    seconds = time.perf_counter() - start
    net.eval()
    test = held_out()
    with torch.no_grad():
        outputs = net(torch.from_numpy(np.stack(test.sequences))).numpy()
    accuracy = memory_accuracy(outputs, test)
    hold = silent_hold(RecurrentModel(net.core, readout=net.readout))
    result = {
        "id": member.id,
        "final_loss": float(np.mean(losses[-20:])),
        "steps_run": len(losses),
        "seconds": seconds,
        "threads": threads,
        "trained": accuracy["min_memory"] >= FLOOR,
        **accuracy,
        "silent_hold_2000": hold["n_held"],
    }
    target = folder(member)
    target.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), target / "weights.pt")
    (target / "recipe.json").write_text(json.dumps(member.to_dict(), indent=1))
    (target / "result.json").write_text(json.dumps(result, indent=1))
    return result


def result_of(member: Member) -> dict:
    """The cached result (result.json) of a member."""
    return json.loads((folder(member) / "result.json").read_text())


def load_member(member: Member) -> RecurrentModel:
    """The cached member as a ``RecurrentModel`` (core and readout; float inputs)."""
    net = _Net(member)
    net.load_state_dict(torch.load(folder(member) / "weights.pt", weights_only=True))
    net.eval()
    return RecurrentModel(net.core, readout=net.readout)


def _selected(members: tuple[Member, ...], only: list[str] | None) -> list[Member]:
    if not only:
        return list(members)
    wanted = {tuple(item.lower().split("/")) for item in only}
    return [m for m in members if (m.arch, str(m.units)) in wanted]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reduced", action="store_true", help="the CI family")
    parser.add_argument("--only", action="append", help="arch/units, e.g. gru/64 (repeatable)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args()
    members = _selected(family(args.reduced), args.only)
    print(f"cache: {CACHE}")
    failed = []
    for member in members:
        if cached(member):
            result = result_of(member)
            status = "cached"
        else:
            result = train_member(member, threads=args.threads)
            status = "trained"
        if "silent_hold_2000" not in result:
            result["silent_hold_2000"] = silent_hold(load_member(member))["n_held"]
        flag = "ok" if result["trained"] else "FAILS (a memory below 95 %)"
        print(
            f"{member.id:24s} {status:7s} {result['seconds']:7.1f} s"
            f"  steps {result['steps_run']:5d}  loss {result['final_loss']:.4f}"
            f"  sign acc {result['sign_accuracy']:.4f}  worst memory {result['min_memory']:.4f}"
            f"  held 2000 silent steps {result['silent_hold_2000']}/8  {flag}",
            flush=True,
        )
        if not result["trained"]:
            failed.append(member.id)
    print(f"{len(members) - len(failed)} of {len(members)} trained; failing: {failed or 'none'}")


if __name__ == "__main__":
    main()
