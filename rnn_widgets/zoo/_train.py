"""Seeded training and held-out evaluation of zoo networks, one routine per type of target.

Training draws every batch from a ``numpy`` generator seeded by the recipe, initialises the
network under ``torch.manual_seed`` and runs with deterministic torch algorithms, so a run is
repeatable on one machine (and, to float rounding, across machines with the same torch).
Optimiser: Adam with gradient-norm clipping at 1 and a cosine decay of the learning rate to a
tenth over the run. With ``state_noise > 0`` the core runs one step at a time and Gaussian noise
of that std (drawn from torch's seeded generator) is added to the hidden state after every step,
during training only; with 0 the fused core runs the whole sequence at once. With
``embedding_decay > 0`` the embedding table gets decoupled weight decay (AdamW's rule), which
shrinks the input kicks of frequent neutral tokens; with ``core_decay > 0`` the recurrent core
does, which lets the gates of units the task leaves unused fall back from saturation (a unit
whose update gate stays shut holds any value: an eigenvalue of 1 at every fixed point). The
readout is never decayed. ``forget_bias`` starts an LSTM's forget gates at that bias instead of
PyTorch's small uniform one, so cells keep their content from the first step (Gers et al.).
A minGRU or minLSTM core trains with its ``"sequential"`` solver (the recurrence step by step,
its backward the adjoint recurrence: on a CPU 6-7x faster per step than the log-space
scan, whose ``logcumsumexp`` and its backward dominate) and is handed back on the exact
``"scan"``, which every evaluation and capture then takes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from .._validation import as_float
from ..models import MinGRU, MinLSTM
from ..tasks import TaskData
from ._network import Network, Spec

__all__ = ["TrainResult", "batches", "loss_of", "outputs_of", "train"]


@dataclass(frozen=True)
class TrainResult:
    """A trained network and how it got there.

    Attributes
    ----------
    network : Network
    losses : list of float
        The training loss of every step.
    seconds : float
        Wall time of the training loop.

    """

    network: Network
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0


def token_ids(task: TaskData, sequence: int) -> np.ndarray:
    """The vocabulary ids of one text sequence, int64."""
    index = {token: i for i, token in enumerate(task.vocab or ())}
    return np.array([index[token] for token in task.sequences[sequence]], dtype=np.int64)


def batches(
    task: TaskData, batch_size: int, window: int, rng: np.random.Generator
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless training batches (inputs, targets) for the task's type of target."""
    target_type = task.target_type
    if target_type in ("next_token", "next_value"):
        yield from _window_batches(task, batch_size, window, rng)
    elif target_type in ("step_class", "step_value"):
        while True:
            chosen = rng.integers(0, len(task), batch_size)
            inputs = torch.from_numpy(np.stack([task.sequences[i] for i in chosen]))
            targets = torch.from_numpy(np.stack([task.targets[i] for i in chosen]))
            yield inputs, targets
    elif target_type == "sequence_class":
        while True:
            yield _padded(task, rng.integers(0, len(task), batch_size))
    else:
        raise ValueError(f"no training routine for target_type {target_type!r}")


def _window_batches(
    task: TaskData, batch_size: int, window: int, rng: np.random.Generator
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Random windows of ``window`` steps from the concatenated training sequences."""
    if task.target_type == "next_token":
        stream = np.concatenate([token_ids(task, i) for i in range(len(task))])
        sources, targets = stream[:-1], stream[1:]  # each token predicts the next
    else:
        values = np.concatenate(list(task.sequences)).astype(np.float32)
        nexts = np.concatenate(list(task.targets)).astype(np.float32)
        valid = ~np.isnan(nexts).any(axis=1)
        sources, targets = values[valid], nexts[valid]
    limit = len(sources) - window
    if limit <= 0:
        raise ValueError(f"window {window} is longer than the task's {task.name!r} data")
    offsets = np.arange(window)
    while True:
        rows = rng.integers(0, limit + 1, batch_size)[:, None] + offsets
        yield torch.from_numpy(sources[rows]), torch.from_numpy(targets[rows])


def _padded(task: TaskData, chosen: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of variable-length sequences padded at the end, and (class, last step) targets."""
    lengths = np.array([len(task.sequences[i]) for i in chosen])
    text = task.vocab is not None
    rows = [token_ids(task, i) if text else task.sequences[i] for i in chosen]
    width = int(lengths.max())
    shape = (len(chosen), width) if text else (len(chosen), width, rows[0].shape[1])
    inputs = np.zeros(shape, dtype=np.int64 if text else np.float32)
    for row, values in enumerate(rows):
        inputs[row, : len(values)] = values
    classes = np.array([int(task.targets[i]) for i in chosen], dtype=np.int64)
    targets = np.stack([classes, lengths - 1], axis=1)
    return torch.from_numpy(inputs), torch.from_numpy(targets)


def loss_of(target_type: str, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The training loss of a batch's outputs (batch, steps, n_outputs)."""
    if target_type in ("next_token", "step_class"):
        flat = outputs.reshape(-1, outputs.shape[-1])
        return F.cross_entropy(flat, targets.reshape(-1), ignore_index=-1)
    if target_type in ("step_value", "next_value"):
        return F.mse_loss(outputs, targets)
    if target_type == "sequence_class":
        last = outputs[torch.arange(len(outputs)), targets[:, 1]]
        return F.cross_entropy(last, targets[:, 0])
    raise ValueError(f"no loss for target_type {target_type!r}")


def train(
    spec: Spec,
    task: TaskData,
    *,
    steps: int,
    batch_size: int,
    learning_rate: float,
    window: int = 0,
    seed: int = 0,
    progress: bool = True,
    on_step: Callable[[int, float], None] | None = None,
    state_noise: float = 0.0,
    embedding_decay: float = 0.0,
    core_decay: float = 0.0,
    forget_bias: float | None = None,
) -> TrainResult:
    """Train a new `Network` of ``spec`` on ``task`` for ``steps`` optimiser steps.

    The zoo's seeded training routine (see the module docstring); a recipe trains through it
    with :meth:`Recipe.train`. Interrupting (KeyboardInterrupt) stops at once and propagates;
    nothing is saved.

    Parameters
    ----------
    spec : Spec
        The architecture.
    task : TaskData
        The training data; its ``target_type`` chooses the batches and the loss.
    steps, batch_size : int
        Optimiser steps, and sequences (or windows) per batch.
    learning_rate : float
        Adam's, decayed along a cosine to a tenth over the run.
    window : int
        Window length for language and forecasting tasks (0 for the others).
    seed : int
        Seeds the initial weights, every batch and the state noise.
    progress : bool
        Show a progress bar.
    on_step : callable (step, loss), optional
        Called after every step.
    state_noise : float
        The std of Gaussian noise added to the hidden state (and an LSTM's cell state) after
        every step during training; 0 trains without noise on the fused core. A Mamba
        (whole sequences through ``mamba_forward``) takes neither this nor
        ``embedding_decay``.
    embedding_decay, core_decay : float
        The decoupled weight decay (AdamW's ``weight_decay``) of the embedding table only and
        of the recurrent core's weights and biases only; with both 0 every weight trains with
        plain Adam.
    forget_bias : float, optional
        LSTM only: the initial bias of every forget gate (None: PyTorch's default
        initialisation); 2 starts each cell keeping 88 % of its content per step.

    Returns
    -------
    TrainResult
        The network (in eval mode; a minGRU or minLSTM on its ``"scan"`` solver, having
        trained on its ``"sequential"`` one), the loss of every step and the wall time.

    """
    state_noise = _non_negative(state_noise, "state_noise")
    embedding_decay = _non_negative(embedding_decay, "embedding_decay")
    core_decay = _non_negative(core_decay, "core_decay")
    if spec.family == "mamba" and (state_noise or embedding_decay):
        raise ValueError(
            "a Mamba trains on whole sequences through its own embedding: pass state_noise=0 "
            "and embedding_decay=0 (core_decay reaches every weight of the model)"
        )
    if embedding_decay and not spec.embedding_dim:
        raise ValueError(
            "embedding_decay needs a network with an embedding (a token task); "
            "pass embedding_decay=0 for float inputs"
        )
    if forget_bias is not None:
        forget_bias = _forget_bias(forget_bias, spec)
    torch.manual_seed(seed)
    network = Network(spec)
    if forget_bias is not None:
        set_forget_bias(network, forget_bias)
    rng = np.random.default_rng(seed)
    optimiser = _optimiser(network, learning_rate, embedding_decay, core_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / steps))
    )
    losses: list[float] = []
    network.train()
    start = time.perf_counter()
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    min_core = isinstance(network.core, (MinGRU, MinLSTM))
    if min_core:
        network.core.solver = "sequential"
    try:
        stream = batches(task, batch_size, window, rng)
        with tqdm(total=steps, desc=f"train {task.name}", disable=not progress) as bar:
            for step in range(steps):
                inputs, targets = next(stream)
                if state_noise > 0:
                    outputs = _noisy_outputs(network, inputs, state_noise)
                else:
                    outputs, _ = network(inputs)
                loss = loss_of(task.target_type, outputs, targets)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(network.parameters(), 1.0)
                optimiser.step()
                schedule.step()
                losses.append(loss.item())
                if on_step is not None:
                    on_step(step, losses[-1])
                bar.update(1)
                if step % 20 == 0:
                    bar.set_postfix(loss=f"{losses[-1]:.4f}")
    finally:
        torch.use_deterministic_algorithms(deterministic)
        if min_core:
            network.core.solver = "scan"
        network.eval()
    return TrainResult(network, losses, time.perf_counter() - start)


def _non_negative(value: float, name: str) -> float:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _forget_bias(value: float, spec: Spec) -> float:
    value = as_float(value, "forget_bias")
    if spec.family != "lstm":
        raise ValueError(
            f"forget_bias applies to LSTM networks only, this one is a {spec.family.upper()}; "
            "pass forget_bias=None"
        )
    return value


@torch.no_grad()
def set_forget_bias(network: Network, value: float) -> None:
    """Set every layer's forget-gate bias of an LSTM ``network`` to ``value`` in place.

    PyTorch adds two biases per gate (``bias_ih`` and ``bias_hh``, gates ordered i, f, g, o);
    the input one takes ``value`` and the recurrent one 0, so the gate's total bias is ``value``.
    """
    hidden = network.spec.hidden
    forget = slice(hidden, 2 * hidden)
    for layer in range(network.spec.layers):
        getattr(network.core, f"bias_ih_l{layer}")[forget] = value
        getattr(network.core, f"bias_hh_l{layer}")[forget] = 0.0


def _optimiser(
    network: Network, learning_rate: float, embedding_decay: float, core_decay: float = 0.0
) -> torch.optim.Optimizer:
    """Adam; with a decay, AdamW whose decay reaches only the embedding table or the core."""
    table = [network.embedding.weight] if network.embedding is not None else []
    if not core_decay and not (embedding_decay and table):
        return torch.optim.Adam(network.parameters(), lr=learning_rate)
    core = list(network.core.parameters())
    decayed = {id(parameter) for parameter in (*table, *core)}
    rest = [parameter for parameter in network.parameters() if id(parameter) not in decayed]
    groups = [
        {"params": table, "weight_decay": embedding_decay},
        {"params": core, "weight_decay": core_decay},
        {"params": rest, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW([group for group in groups if group["params"]], lr=learning_rate)


def _noisy_outputs(network: Network, inputs: torch.Tensor, noise: float) -> torch.Tensor:
    """Outputs of every step with Gaussian noise of std ``noise`` added to the state per step.

    The noisy state is both what the readout sees and what the next step starts from, so a
    memory held on a slow transient drifts away while one held at a stable point returns.
    """
    x = network.embedding(inputs) if network.embedding is not None else inputs
    state: torch.Tensor | tuple[torch.Tensor, ...] | None = None
    tops = []
    for t in range(x.shape[1]):
        _, state = network.core(x[:, t : t + 1], state)
        if isinstance(state, tuple):
            state = tuple(part + noise * torch.randn_like(part) for part in state)
            tops.append(state[0][-1])
        else:
            state = state + noise * torch.randn_like(state)
            tops.append(state[-1])
    return network.readout(torch.stack(tops, dim=1))


@torch.no_grad()
def outputs_of(network: Network, task: TaskData, batch_size: int = 64) -> list[np.ndarray]:
    """The network's outputs at every step of every sequence, each from the zero state."""
    network.eval()
    text = task.vocab is not None
    order = np.argsort([-len(s) for s in task.sequences], kind="stable")
    by_index: dict[int, np.ndarray] = {}
    for begin in range(0, len(order), batch_size):
        chosen = order[begin : begin + batch_size]
        lengths = [len(task.sequences[i]) for i in chosen]
        rows = [token_ids(task, i) if text else np.asarray(task.sequences[i]) for i in chosen]
        width = max(lengths)
        shape = (len(chosen), width) if text else (len(chosen), width, rows[0].shape[1])
        inputs = np.zeros(shape, dtype=np.int64 if text else np.float32)
        for row, values in enumerate(rows):
            inputs[row, : len(values)] = values
        outputs, _ = network(torch.from_numpy(inputs))
        for row, index in enumerate(chosen):
            by_index[int(index)] = outputs[row, : lengths[row]].numpy()
    return [by_index[i] for i in range(len(task))]
