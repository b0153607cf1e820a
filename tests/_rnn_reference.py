"""A deliberately plain reference for the tests: PyTorch's RNN equations, one step at a time.

One sequence, float64, numpy, a Python loop per layer, direction and step, written from the
equations in ``torch/nn/modules/rnn.py`` and nothing else of the package under test.
"""

from __future__ import annotations

import numpy as np
import torch


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def _weights(module: torch.nn.Module, layer: int, direction: int) -> list[np.ndarray]:
    suffix = f"_l{layer}" + ("_reverse" if direction else "")
    rows = module.weight_ih_l0.shape[0]
    arrays = []
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        tensor = getattr(module, name + suffix, None)
        arrays.append(np.zeros(rows) if tensor is None else tensor.detach().double().numpy())
    return arrays


def reference_states(
    module: torch.nn.Module,
    inputs: np.ndarray,
    clamp: dict[int, dict[int, float]] | None = None,
) -> dict[tuple[int, str], np.ndarray]:
    """Every layer's kinds over one sequence ``inputs`` (steps, input_size).

    Layers are numbered ``2 * l + d`` for a bidirectional module. ``clamp`` forces cells of h
    (and c) after every step and in the initial state, as ``RecurrentModel.run`` documents.
    """
    clamp = clamp or {}
    if isinstance(module, torch.nn.LSTM):
        family = "lstm"
    elif isinstance(module, torch.nn.GRU):
        family = "gru"
    else:
        family = module.nonlinearity
    size = module.hidden_size
    directions = 2 if module.bidirectional else 1
    steps = inputs.shape[0]
    layer_input = np.asarray(inputs, dtype=np.float64)
    states: dict[tuple[int, str], np.ndarray] = {}
    for physical in range(module.num_layers):
        direction_outputs = []
        for direction in range(directions):
            layer = physical * directions + direction
            w_ih, w_hh, b_ih, b_hh = _weights(module, physical, direction)
            forced = clamp.get(layer, {})

            def force(values: np.ndarray, forced: dict[int, float] = forced) -> np.ndarray:
                values = values.copy()
                for cell, value in forced.items():
                    values[cell] = value
                return values

            h = force(np.zeros(size))
            c = force(np.zeros(size))
            record: dict[str, np.ndarray] = {"h": np.zeros((steps, size))}
            order = range(steps) if direction == 0 else range(steps - 1, -1, -1)
            for t in order:
                x = layer_input[t]
                values: dict[str, np.ndarray] = {}
                if family == "lstm":
                    pre = w_ih @ x + b_ih + w_hh @ h + b_hh
                    i = _sigmoid(pre[:size])
                    f = _sigmoid(pre[size : 2 * size])
                    g = np.tanh(pre[2 * size : 3 * size])
                    o = _sigmoid(pre[3 * size :])
                    c = force(f * c + i * g)
                    h = force(o * np.tanh(c))
                    values = {"c": c, "i": i, "f": f, "g": g, "o": o}
                elif family == "gru":
                    gi = w_ih @ x + b_ih
                    gh = w_hh @ h + b_hh
                    r = _sigmoid(gi[:size] + gh[:size])
                    z = _sigmoid(gi[size : 2 * size] + gh[size : 2 * size])
                    n = np.tanh(gi[2 * size :] + r * gh[2 * size :])
                    h = force((1 - z) * n + z * h)
                    values = {"r": r, "z": z, "n": n}
                else:
                    pre = w_ih @ x + b_ih + w_hh @ h + b_hh
                    h = force(np.tanh(pre) if family == "tanh" else np.maximum(pre, 0.0))
                values["h"] = h
                for kind, value in values.items():
                    record.setdefault(kind, np.zeros((steps, size)))[t] = value
            for kind, value in record.items():
                states[(layer, kind)] = value
            direction_outputs.append(record["h"])
        layer_input = np.concatenate(direction_outputs, axis=1)
    return states
