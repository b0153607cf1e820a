"""Sussillo and Barak's n-bit flip-flop task and its variants.

The task of Sussillo & Barak (2013) [1]_, with the variants of *Explaining RNN computations
through hidden state dynamics* [2]_ (section 2).

Each input channel is a stream of zeros with rare pulses; each output channel must hold the
value of the last pulse on its channel, independently of the others. The variants change
the encoding (pulses of 1 or 2 instead of +-1, or one-hot input and output lines) and can
delay the response.

References
----------
.. [1] Sussillo, D., & Barak, O. (2013). Opening the black box: low-dimensional dynamics in
   high-dimensional recurrent neural networks. Neural Computation, 25(3), 626-649.
.. [2] Explaining RNN computations through hidden state dynamics. (The copy this project follows
   names no authors or venue.)
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

from .._validation import as_float, as_int
from ._base import TaskData, readonly, task_steps

__all__ = ["FlipFlopVariant", "flip_flop"]

#: The encodings of the flip-flop task (see `flip_flop`).
FlipFlopVariant = Literal["signed", "one_two", "one_hot"]

_PULSE_VALUES = {"signed": (1.0, -1.0), "one_two": (1.0, 2.0), "one_hot": (1.0, -1.0)}
_PULSE_SYMBOLS = {"signed": ("+", "-"), "one_two": ("1", "2"), "one_hot": ("+", "-")}


def flip_flop(
    n_bits: int = 3,
    n_sequences: int = 256,
    length: int = 100,
    *,
    p_pulse: float = 0.05,
    variant: FlipFlopVariant = "signed",
    delay: int = 0,
    seed: int = 0,
) -> TaskData:
    """The n-bit flip-flop task (Sussillo and Barak 2013), with its later variants.

    The task of Sussillo & Barak (2013) [1]_, as *Explaining RNN computations through hidden
    state dynamics* [2]_ (section 2) trains GRUs on it, with that work's variants.

    At every step each of the ``n_bits`` channels pulses independently with probability
    ``p_pulse``; a pulse takes either of its two values with equal probability. The memory
    of a channel is the value of its last pulse (none before the first). The target at step
    ``t`` is the memory at step ``t - delay`` (zero while there is none), so with
    ``delay = d`` the output reacts ``d`` steps after the pulse ([2]_, section 2.3).

    Variants ([2]_, section 2.4):

    - ``"signed"``: one input and one output line per channel; pulses are +1 or -1 and the
      output is the last pulse, +1 or -1 (0 before the first pulse).
    - ``"one_two"``: as ``"signed"`` with pulses of 1 or 2 and outputs 1 or 2.
    - ``"one_hot"``: the pulse and the output of each channel one-hot encoded over its two
      values: two input lines per channel (``bit{i}+`` is 1 at a +1 pulse, ``bit{i}-`` at a
      -1 pulse, both 0 without a pulse) and two output lines per channel (the line of the
      remembered value is 1, the other 0; both 0 before the first pulse). The channels stay
      independent, as in the task, but the encoding imposes no order between the values.

    Parameters
    ----------
    n_bits : int
        Number of independent channels, 1 to 16.
    n_sequences : int
        How many sequences, at least 1.
    length : int
        Steps per sequence, at least 1.
    p_pulse : float, keyword-only
        Probability that a channel pulses at a step, in (0, 1].
    variant : {"signed", "one_two", "one_hot"}, keyword-only
        The encoding, see above.
    delay : int, keyword-only
        Steps between a pulse and the response, 0 to ``length - 1``.
    seed : int, keyword-only
        Seed of the random generator; the same seed gives the same task.

    Returns
    -------
    TaskData
        ``name`` like ``"flip_flop_3bit"``, ``"flip_flop_2bit_one_hot"`` or
        ``"flip_flop_2bit_one_two_delay4"``; ``sequences`` read-only float32 arrays
        (length, n_inputs); ``targets`` float32 (length, n_outputs) (``"step_value"``);
        ``classes`` the output line names (``bit0``, ... or ``bit0+``, ``bit0-``, ...);
        labels ``"memory"`` (the pattern the target shows at each step, one character per
        channel: ``+``/``-`` or ``1``/``2``, ``?`` for a channel without a pulse yet) and
        ``"pulse"`` (int64, 1 where any channel pulses, else 0).

    References
    ----------
    .. [1] Sussillo, D., & Barak, O. (2013). Opening the black box: low-dimensional dynamics in
       high-dimensional recurrent neural networks. Neural Computation, 25(3), 626-649.
    .. [2] Explaining RNN computations through hidden state dynamics. (The copy this project
       follows names no authors or venue.)

    Examples
    --------
    >>> task = flip_flop(2, 1, 5, p_pulse=1.0, seed=0)
    >>> task.sequences[0].shape, task.targets[0].shape
    ((5, 2), (5, 2))

    """
    n_bits = as_int(n_bits, "n_bits", minimum=1)
    if n_bits > 16:
        raise ValueError(f"n_bits must be <= 16, got {n_bits}; use fewer channels")
    n_sequences = as_int(n_sequences, "n_sequences", minimum=1)
    length = as_int(length, "length", minimum=1)
    task_steps(n_sequences, length)
    p_pulse = as_float(p_pulse, "p_pulse")
    if not 0.0 < p_pulse <= 1.0:
        raise ValueError(f"p_pulse must be in (0, 1], got {p_pulse}")
    if variant not in get_args(FlipFlopVariant):
        raise ValueError(
            f"variant must be one of {list(get_args(FlipFlopVariant))}, got {variant!r}"
        )
    delay = as_int(delay, "delay", minimum=0)
    if delay >= length:
        raise ValueError(f"delay must be < length ({length}), got {delay}; shorten the delay")
    seed = as_int(seed, "seed", minimum=0)
    rng = np.random.default_rng(seed)

    sequences, targets, memories, pulses = [], [], [], []
    for _ in range(n_sequences):
        which = _sample_pulses(rng, length, n_bits, p_pulse)
        memory = _delayed(_last_pulse(which), delay)
        sequences.append(readonly(_encode(which, variant)))
        targets.append(readonly(_encode(memory, variant)))
        memories.append(readonly(_memory_strings(memory, variant)))
        pulses.append(readonly((which != 0).any(axis=1).astype(np.int64)))
    return TaskData(
        name=_task_name(n_bits, variant, delay),
        sequences=tuple(sequences),
        targets=tuple(targets),
        target_type="step_value",
        labels={"memory": tuple(memories), "pulse": tuple(pulses)},
        classes=_line_names(n_bits, variant),
        description=_description(n_bits, variant, delay),
    )


def _sample_pulses(
    rng: np.random.Generator, length: int, n_bits: int, p_pulse: float
) -> np.ndarray:
    """Pulses as int8 (length, n_bits): 0 none, 1 the first value, 2 the second value."""
    pulsing = rng.random((length, n_bits)) < p_pulse
    which = rng.integers(1, 3, size=(length, n_bits))
    return np.where(pulsing, which, 0).astype(np.int8)


def _last_pulse(which: np.ndarray) -> np.ndarray:
    """Per step and channel, the last pulse so far (0 before the first)."""
    memory = np.zeros_like(which)
    current = np.zeros(which.shape[1], dtype=which.dtype)
    for step, row in enumerate(which):
        current = np.where(row != 0, row, current)
        memory[step] = current
    return memory


def _delayed(memory: np.ndarray, delay: int) -> np.ndarray:
    shifted = np.zeros_like(memory)
    shifted[delay:] = memory[: len(memory) - delay]
    return shifted


def _encode(which: np.ndarray, variant: str) -> np.ndarray:
    """Pulse codes (0, 1, 2) as the variant's float32 input or output lines."""
    if variant == "one_hot":
        lines = np.stack([which == 1, which == 2], axis=2)
        return lines.reshape(len(which), -1).astype(np.float32)
    first, second = _PULSE_VALUES[variant]
    values = np.array([0.0, first, second], dtype=np.float32)
    return values[which]


def _memory_strings(memory: np.ndarray, variant: str) -> np.ndarray:
    symbols = np.array(["?", *_PULSE_SYMBOLS[variant]])
    return np.array(["".join(row) for row in symbols[memory]], dtype=f"<U{memory.shape[1]}")


def _line_names(n_bits: int, variant: str) -> tuple[str, ...]:
    if variant == "one_hot":
        return tuple(f"bit{bit}{sign}" for bit in range(n_bits) for sign in "+-")
    return tuple(f"bit{bit}" for bit in range(n_bits))


def _task_name(n_bits: int, variant: str, delay: int) -> str:
    name = f"flip_flop_{n_bits}bit"
    if variant != "signed":
        name += f"_{variant}"
    if delay:
        name += f"_delay{delay}"
    return name


def _description(n_bits: int, variant: str, delay: int) -> str:
    encoding = {
        "signed": "pulses of +1 or -1",
        "one_two": "pulses of 1 or 2",
        "one_hot": "pulses and outputs one-hot encoded over (+1, -1) per channel",
    }[variant]
    reaction = f", reacting {delay} steps after each pulse" if delay else ""
    return (
        f"{n_bits}-bit flip-flop (Sussillo and Barak 2013; variants of 'Explaining RNN "
        "computations through hidden state dynamics', section 2) with "
        f"{encoding}: each output channel holds the value of the last pulse on its input "
        f"channel{reaction}."
    )
