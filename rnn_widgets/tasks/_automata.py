"""The three finite-state automata of an RNN-dynamics study (section 3, Figures 8-10), as tasks.

The automata are those of *Explaining RNN computations through hidden state dynamics* [1]_.
A model reads binary symbols, one per step, and must output the state the automaton is in
after each symbol. ``AUTOMATA`` holds the transition tables, so an analysis can compare the
model's dynamics under constant input 0 and constant input 1 with the automaton's.

References
----------
.. [1] Explaining RNN computations through hidden state dynamics. (The copy this project follows
   names no authors or venue.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from .._validation import as_float, as_int
from ._base import TaskData, readonly, task_steps

__all__ = ["AUTOMATA", "Automaton", "automaton", "run_automaton"]


@dataclass(frozen=True)
class Automaton:
    """A deterministic finite-state automaton over the symbols 0 and 1.

    Attributes
    ----------
    name : str
        Its key in ``AUTOMATA``.
    description : str
        What it recognises and where it comes from.
    states : tuple of str
        State names ``q0``, ``q1``, ...; state ``i`` is ``states[i]``.
    meanings : tuple of str
        What each state means, in the same order.
    transitions : ndarray
        Read-only int64 (n_states, 2): ``transitions[state, symbol]`` is the next state.
    start : int
        The start state (before any symbol).
    trap : int or None
        The trapping state (never left once entered), or None.

    """

    name: str
    description: str
    states: tuple[str, ...]
    meanings: tuple[str, ...]
    transitions: np.ndarray
    start: int = 0
    trap: int | None = None


def _table(rows: list[tuple[int, int]]) -> np.ndarray:
    return readonly(np.array(rows, dtype=np.int64))


#: The automata of *Explaining RNN computations through hidden state dynamics*, by name.
AUTOMATA: Mapping[str, Automaton] = MappingProxyType(
    {
        "mod3": Automaton(
            name="mod3",
            description=(
                "Counts the 1s modulo 3 ('Explaining RNN computations through hidden state "
                "dynamics', Figure 8)."
            ),
            states=("q0", "q1", "q2"),
            meanings=("count of 1s = 0 mod 3", "count of 1s = 1 mod 3", "count of 1s = 2 mod 3"),
            transitions=_table([(0, 1), (1, 2), (2, 0)]),
        ),
        "repeat_trap": Automaton(
            name="repeat_trap",
            description=(
                "Enters a trapping state once any symbol repeats, i.e. two equal symbols in a "
                "row ('Explaining RNN computations through hidden state dynamics', Figure 9)."
            ),
            states=("q0", "q1", "q2", "q3"),
            meanings=("start", "last symbol 0", "last symbol 1", "trapped: a symbol repeated"),
            transitions=_table([(1, 2), (3, 2), (1, 3), (3, 3)]),
            trap=3,
        ),
        "substring_0101": Automaton(
            name="substring_0101",
            description=(
                "Enters a trapping state once the substring 0101 has been read ('Explaining "
                "RNN computations through hidden state dynamics', Figure 10); state k < 4 means "
                "the input ends with the first k symbols of 0101 (and no longer prefix)."
            ),
            states=("q0", "q1", "q2", "q3", "q4"),
            meanings=("matched ''", "matched '0'", "matched '01'", "matched '010'", "found 0101"),
            transitions=_table([(1, 0), (1, 2), (3, 0), (1, 4), (4, 4)]),
            trap=4,
        ),
    }
)


def run_automaton(name: str, symbols: Sequence[int] | np.ndarray | str) -> np.ndarray:
    """The state of automaton ``name`` after each symbol: the ground truth of the task.

    Parameters
    ----------
    name : str
        A key of ``AUTOMATA``: ``"mod3"``, ``"repeat_trap"`` or ``"substring_0101"``.
    symbols : sequence of int, array or str
        The input symbols, each 0 or 1 (a string like ``"0110"`` works too).

    Returns
    -------
    ndarray
        int64 of shape (len(symbols),): the state index after reading each symbol (the start
        state is not included).

    Examples
    --------
    >>> run_automaton("mod3", "1101").tolist()
    [1, 2, 2, 0]

    """
    machine = _lookup(name)
    codes = _as_symbols(symbols)
    states = np.empty(len(codes), dtype=np.int64)
    state = machine.start
    for step, symbol in enumerate(codes.tolist()):
        state = int(machine.transitions[state, symbol])
        states[step] = state
    return states


def automaton(
    name: str,
    n_sequences: int = 256,
    length: int = 50,
    *,
    seed: int = 0,
    p_one: float | tuple[float, float] = 0.5,
) -> TaskData:
    """Binary sequences labelled with the states of one automaton of an RNN-dynamics study.

    The automata of *Explaining RNN computations through hidden state dynamics* [1]_ (section
    3, Figures 8-10).

    Sampling: for ``"mod3"`` the symbols are independent coin flips, fair by default (every
    state is then about equally frequent); ``p_one`` makes 1s rarer or commoner, so that a
    network must hold a state through long runs of 0s (or count through long runs of 1s).
    With fair coin flips the trap tasks would be trapped within a few steps, so for
    ``"repeat_trap"`` and ``"substring_0101"`` each sequence draws a trap time ``T`` uniformly
    from ``0..length``; before ``T`` each symbol is drawn uniformly among those that keep out
    of the trap (for ``"repeat_trap"`` this is the alternating input of Figure 9 of [1]_),
    then the shortest symbol string into the trap follows, then fair coin flips. About half of
    the steps are in the trap state; note that the start state ``q0`` of ``"repeat_trap"``
    never occurs as a target (it is left at the first symbol).

    Parameters
    ----------
    name : str
        ``"mod3"``, ``"repeat_trap"`` or ``"substring_0101"`` (see ``AUTOMATA``).
    n_sequences : int
        How many sequences, at least 1.
    length : int
        Symbols per sequence, at least 1.
    seed : int, keyword-only
        Seed of the random generator; the same seed gives the same task.
    p_one : float or (float, float), keyword-only
        For ``"mod3"``: the chance that a symbol is 1, in (0, 1); or a range ``(low, high)``
        from which each sequence draws its own chance uniformly (some sequences then hold
        long runs of 0s, others of 1s). The trap automata sample as described above and
        accept only the default 0.5.

    Returns
    -------
    TaskData
        ``name`` ``"automaton_<name>"``; ``sequences`` read-only float32 arrays (length, 1)
        of 0.0 and 1.0; ``targets`` int64 (length,) the state after each symbol
        (``"step_class"``); ``classes`` the state names ``q0``, ``q1``, ... (their meanings
        in ``AUTOMATA[name].meanings``); labels ``"state"`` (the same ints) and
        ``"symbol"`` (int64 0 or 1).

    References
    ----------
    .. [1] Explaining RNN computations through hidden state dynamics. (The copy this project
       follows names no authors or venue.)

    Examples
    --------
    >>> task = automaton("mod3", 2, 4, seed=0)
    >>> task.classes
    ('q0', 'q1', 'q2')

    """
    machine = _lookup(name)
    n_sequences = as_int(n_sequences, "n_sequences", minimum=1)
    length = as_int(length, "length", minimum=1)
    task_steps(n_sequences, length)
    seed = as_int(seed, "seed", minimum=0)
    low, high = _p_one_range(p_one, machine)
    rng = np.random.default_rng(seed)
    if (low, high) == (0.5, 0.5):
        symbols = [_sample_symbols(rng, machine, length) for _ in range(n_sequences)]
    else:
        symbols = [_biased_symbols(rng, length, low, high) for _ in range(n_sequences)]
    states = [readonly(run_automaton(name, row)) for row in symbols]
    return TaskData(
        name=f"automaton_{name}",
        sequences=tuple(readonly(row.astype(np.float32)[:, None]) for row in symbols),
        targets=tuple(states),
        target_type="step_class",
        labels={"state": tuple(states), "symbol": tuple(readonly(row) for row in symbols)},
        classes=machine.states,
        description=(
            f"{machine.description} Binary symbols in, the automaton's state after each "
            "symbol out (section 3 of the same work)."
        ),
    )


def _lookup(name: str) -> Automaton:
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__} {name!r}")
    if name not in AUTOMATA:
        raise ValueError(f"name must be one of {list(AUTOMATA)}, got {name!r}")
    return AUTOMATA[name]


def _as_symbols(symbols: Sequence[int] | np.ndarray | str) -> np.ndarray:
    if isinstance(symbols, str):
        if set(symbols) - {"0", "1"}:
            raise ValueError(f"symbols must hold only '0' and '1', got {symbols!r}")
        return np.array([int(character) for character in symbols], dtype=np.int64)
    codes = np.asarray(symbols)
    if codes.ndim != 1:
        raise ValueError(f"symbols must be one-dimensional, got shape {codes.shape}")
    if codes.size and not np.isin(codes, (0, 1)).all():
        raise ValueError("symbols must hold only 0 and 1; binarize the input first")
    return codes.astype(np.int64)


def _p_one_range(p_one: Any, machine: Automaton) -> tuple[float, float]:
    if isinstance(p_one, (tuple, list)):
        if len(p_one) != 2:
            raise ValueError(f"p_one must be a number or a (low, high) pair, got {p_one!r}")
        low, high = (as_float(value, "p_one") for value in p_one)
    else:
        low = high = as_float(p_one, "p_one")
    if not 0 < low <= high < 1:
        raise ValueError(f"p_one must lie in (0, 1) with low <= high, got {p_one!r}")
    if (low, high) != (0.5, 0.5) and machine.trap is not None:
        raise ValueError(
            f"p_one applies to automata without a trap state (mod3); {machine.name!r} samples "
            "its own path to the trap, so leave p_one at 0.5"
        )
    return low, high


def _biased_symbols(rng: np.random.Generator, length: int, low: float, high: float) -> np.ndarray:
    draws = rng.random(length)
    return (draws < rng.uniform(low, high)).astype(np.int64)


def _sample_symbols(rng: np.random.Generator, machine: Automaton, length: int) -> np.ndarray:
    if machine.trap is None:
        return rng.integers(0, 2, size=length).astype(np.int64)
    trap_time = int(rng.integers(0, length + 1))
    symbols: list[int] = []
    state = machine.start
    while len(symbols) < min(trap_time, length):
        safe = [s for s in (0, 1) if machine.transitions[state, s] != machine.trap]
        symbol = safe[int(rng.integers(len(safe)))]
        symbols.append(symbol)
        state = int(machine.transitions[state, symbol])
    symbols.extend(_path_to_trap(machine, state))
    tail = max(0, length - len(symbols))
    symbols.extend(rng.integers(0, 2, size=tail).tolist())
    return np.array(symbols[:length], dtype=np.int64)


def _path_to_trap(machine: Automaton, state: int) -> list[int]:
    """The shortest symbol string that leads from ``state`` into the trap (breadth first)."""
    paths: dict[int, list[int]] = {state: []}
    frontier = [state]
    while machine.trap not in paths:
        next_frontier = []
        for current in frontier:
            for symbol in (0, 1):
                following = int(machine.transitions[current, symbol])
                if following not in paths:
                    paths[following] = [*paths[current], symbol]
                    next_frontier.append(following)
        frontier = next_frontier
    return paths[machine.trap]
