"""minGRU and minLSTM (Feng et al. 2024): recurrent layers whose gates read only the input.

The equations
-------------
One layer reads its input ``x_t`` through one matrix, ``W x_t + b`` (``weight_ih_l{k}``,
``bias_ih_l{k}``), whose row blocks are the gates' pre-activations; no gate reads
``h_{t-1}``, which is what lets a whole sequence be computed by a parallel scan::

    minGRU   rows (k, p):      z_t = σ(k_t),                       h~_t = g(p_t)
             h_t = (1 - z_t) * h_{t-1} + z_t * h~_t
    minLSTM  rows (k_i, k_f, p):  i_t = σ(k_i), f_t = σ(k_f),      h~_t = g(p_t)
             f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t)
             h_t = f'_t * h_{t-1} + i'_t * h~_t

with ``σ`` the logistic sigmoid and ``g(x) = x + 1/2`` for ``x >= 0``, ``σ(x)`` otherwise:
the activation of the paper's log-space version (Feng et al. 2024 [1]_, appendix), which
keeps ``h~`` positive so that its logarithm exists. **This is the modules' one definition**:
the sequential :meth:`MinRNNBase.layer_step` and the parallel :meth:`MinRNNBase.layer_scan`
both compute it (the paper's sequential mode with ``h~ = Linear_h(x)`` and no ``g`` is a
different network, not offered here).

Both families are one recurrence, ``h_t = σ(-u_t) h_{t-1} + σ(u_t) g(p_t)``, with the
*write logit* ``u_t``: ``k_t`` for minGRU (``σ(-k) = 1 - z``); ``log(i_t / f_t) =
softplus(-k_f) - softplus(-k_i)`` for minLSTM, where ``σ(-u) = f'`` and ``σ(u) = i'``
exactly. Computing ``1 - z`` as ``σ(-k)`` keeps its precision when ``z`` is near 1.

The parallel path
-----------------
``h_t = a_t h_{t-1} + b_t`` with ``log a_t = log σ(-u_t)`` and ``log b_t = log σ(u_t) +
log g(p_t)`` is solved by the log-space scan of Heinsen (2023) [2]_, as the paper does::

    a*_t = Σ_{s<=t} log a_s
    h_t  = exp(a*_t) h_0 + exp(a*_t + logcumsumexp_{s<=t}(log b_s - a*_s))

The initial state enters as the linear term ``exp(a*_t) h_0``, so any real ``h_0`` works (the
paper's code puts ``h_0`` into the log-space sum too, which only a positive ``h_0`` enters
unchanged). ``a*`` falls by ``log(1 + e^u)`` per
step, so over thousands of steps ``a*_t`` and the log-sum are large numbers of opposite sign
whose sum is ``log h_t``; in float32 that sum keeps about ``|a*_t| * 1e-7`` of absolute error,
which is the relative error of ``h_t`` (measured: 4e-4 to 1.6e-3 after 2000 steps, ``a*``
near -3000 to -6000). The prefix sums therefore run in float64 (float32 in, float32 out;
elementwise work only, about 1e-12 relative there), in chunks of steps that bound the memory
of intermediates, the state carried from chunk to chunk.

The sequential solver
---------------------
Training windows are short, and on a CPU the scan buys no parallelism while
``logcumsumexp`` and its backward (which flips and scans again) dominate a training step.
With :attr:`MinRNNBase.solver` ``"sequential"``, :meth:`~MinRNNBase.forward` solves the same
recurrence step by step in linear space, ``h_t = σ(-u_t) h_{t-1} + σ(u_t) g(p_t)``, in the
module's dtype, by :func:`linear_recurrence`, whose backward is the adjoint recurrence run
backwards in time (``λ_t = ∂L/∂h_t + a_{t+1} λ_{t+1}``, ``∂L/∂a_t = λ_t h_{t-1}``,
``∂L/∂b_t = λ_t``) rather than autograd through a Python loop of steps. ``a_t`` lies in (0, 1),
so rounding errors shrink from step to step instead of growing with ``|a*_t|``: over a window
of 100 steps a float32 module's ``h`` is as close to the equations computed in float64 as
the scan's own float32 output (both about 4e-7 relative, measured). Over thousands of steps with
gates that stay shut, ``a_t`` itself rounded to float32 drifts ``∏ a_t`` by up to
``steps * 6e-8``, which the scan's float64 prefix sums of ``log a`` avoid (measured over
4,000 steps of mostly shut gates: 2e-6 relative, the scan 3e-7); so ``"scan"``
(exact, parallel) is the default, and the zoo trains with ``"sequential"`` on the CPU,
where it makes a minGRU training step 6-7x faster (docs/zoo.md), and captures and
evaluates by the scan.

Kinds
-----
Every kind has one value per cell (``hidden_size``), recorded after its nonlinearity:

* minGRU: ``h``; ``z`` (the update gate: how much of ``h~`` is written); ``h_tilde`` (the
  candidate ``g(p)``, the value ``h`` moves towards).
* minLSTM: ``h``; ``i`` and ``f``, the *normalised* gates ``i'`` and ``f'`` (``i' + f' =
  1``: how much of ``h~`` is written and how much of ``h_{t-1}`` is kept); ``h_tilde``.

The state of a layer is ``h`` alone. Under a constant input a layer has one fixed point,
``h* = h~``, with the Jacobian ``diag(1 - z)`` (``diag(f')``).

Layers and conventions
----------------------
The modules follow ``nn.GRU``'s conventions: input ``(steps, batch, input_size)``
(``batch_first=False`` by default) or unbatched ``(steps, input_size)``; ``h0`` and ``h_n`` of
shape ``(num_layers, batch, hidden_size)``; ``forward`` returns ``(output, h_n)``, the output
being the last layer's ``h`` at every step. A stack is plain: layer ``k`` reads layer ``k -
1``'s ``h``, with no residual connection, normalisation or MLP between layers (the paper's
language models add those around the cells; build them around these modules), no dropout and
one direction. Weights are initialised as ``nn.Linear``'s, ``U(-1/sqrt(fan_in),
1/sqrt(fan_in))``. Computation is float32 or float64: half precision is refused, since ``g``'s
logarithm and the scan's sums lose the state there.

References
----------
.. [1] Feng, L., Tung, F., Ahmed, M. O., Bengio, Y., & Hajimirsadeghi, H. (2024). Were RNNs
   all we needed? arXiv:2410.01201.
.. [2] Heinsen, F. A. (2023). Efficient parallelization of a ubiquitous sequential
   computation. arXiv:2311.06281.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from .._validation import as_int

__all__ = [
    "SOLVERS",
    "MinGRU",
    "MinLSTM",
    "MinRNNBase",
    "g",
    "linear_recurrence",
    "log_g",
    "log_space_scan",
]

#: About this many values (steps x batch x hidden_size) of pre-activations are scanned at once.
SCAN_CHUNK_VALUES = 1 << 20

_SUPPORTED_DTYPES = (torch.float32, torch.float64)

#: How :meth:`MinRNNBase.forward` solves the recurrence: the parallel log-space scan (the
#: default) or step by step in linear space (see the module docstring).
SOLVERS = ("scan", "sequential")


def g(x: torch.Tensor) -> torch.Tensor:
    """The candidate activation of the log-space minGRU and minLSTM: ``x + 1/2`` or ``σ(x)``.

    Parameters
    ----------
    x : Tensor, shape (...)
        Pre-activations.

    Returns
    -------
    Tensor, shape (...)
        ``x + 0.5`` where ``x >= 0``, ``sigmoid(x)`` elsewhere; positive and continuous.

    """
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def log_g(x: torch.Tensor) -> torch.Tensor:
    """``log g(x)``, computed without forming ``g(x)`` where it is small.

    Parameters
    ----------
    x : Tensor, shape (...)
        Pre-activations.

    Returns
    -------
    Tensor, shape (...)
        ``log(x + 0.5)`` where ``x >= 0``, ``-softplus(-x)`` elsewhere.

    """
    return torch.where(x >= 0, torch.log(torch.relu(x) + 0.5), -F.softplus(-x))


def log_space_scan(log_a: torch.Tensor, log_b: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    """``h_t = a_t h_{t-1} + b_t`` over the first axis, from ``h0``, by a log-space scan.

    Heinsen's (2023) [1]_ scan: ``a*`` the prefix sums of ``log a``, then
    ``h_t = exp(a*_t) h0 + exp(a*_t + logcumsumexp(log b - a*)_t)``, in float64 (see the
    module docstring for why) and returned in ``log_a``'s dtype. Differentiable.

    Parameters
    ----------
    log_a : Tensor, shape (steps, ..., n)
        Logs of the (positive) coefficients.
    log_b : Tensor, shape (steps, ..., n)
        Logs of the (positive) inputs.
    h0 : Tensor, shape (..., n)
        The state before the first step, any real values.

    Returns
    -------
    Tensor, shape (steps, ..., n)

    References
    ----------
    .. [1] Heinsen, F. A. (2023). Efficient parallelization of a ubiquitous sequential
       computation. arXiv:2311.06281.

    """
    wide = torch.float64 if log_a.device.type != "mps" else log_a.dtype  # MPS has no float64
    a_star = torch.cumsum(log_a.to(wide), dim=0)
    carried = torch.logcumsumexp(log_b.to(wide) - a_star, dim=0)
    h = torch.exp(a_star + carried) + torch.exp(a_star) * h0.to(wide)
    return h.to(log_a.dtype)


def linear_recurrence(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    """``h_t = a_t h_{t-1} + b_t`` over the first axis, from ``h0``, step by step.

    The sequential solver of :class:`MinRNNBase` (see the module docstring): the forward pass
    runs the recurrence in ``a``'s dtype, one fused multiply-add per step; the backward pass
    runs its adjoint backwards in time, ``λ_t = ∂L/∂h_t + a_{t+1} λ_{t+1}``, and returns
    ``∂L/∂a_t = λ_t h_{t-1}``, ``∂L/∂b_t = λ_t`` and ``∂L/∂h0 = a_1 λ_1``. Differentiable
    once (no gradient of the gradient).

    Parameters
    ----------
    a : Tensor, shape (steps, ..., n)
        The coefficients (for a min-cell in (0, 1)).
    b : Tensor, shape (steps, ..., n)
        The inputs, same dtype and device as ``a``.
    h0 : Tensor, shape (..., n)
        The state before the first step, any real values.

    Returns
    -------
    Tensor, shape (steps, ..., n)
        ``h_1 .. h_steps``.

    Raises
    ------
    TypeError
        If an argument is not a tensor, or their dtypes differ.
    ValueError
        If ``a`` has no steps, ``b``'s shape is not ``a``'s, or ``h0``'s not ``a.shape[1:]``.

    """
    for name, value in (("a", a), ("b", b), ("h0", h0)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
        if value.dtype != a.dtype:
            raise TypeError(
                f"{name} must have a's dtype {a.dtype}, got {value.dtype}; convert it first"
            )
    if a.ndim < 1 or a.shape[0] == 0:
        raise ValueError(f"a must have shape (steps, ..., n) with steps >= 1, got {tuple(a.shape)}")
    if b.shape != a.shape or h0.shape != a.shape[1:]:
        raise ValueError(
            f"b must have a's shape {tuple(a.shape)} and h0 the shape {tuple(a.shape[1:])} of "
            f"one step, got {tuple(b.shape)} and {tuple(h0.shape)}"
        )
    return _LinearRecurrence.apply(a, b, h0)


class _LinearRecurrence(torch.autograd.Function):
    """:func:`linear_recurrence` with its adjoint as its backward.

    Autograd through a Python loop of steps would record two nodes per step and cost several
    times the whole recurrence.
    """

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
        states = torch.empty_like(b)
        h = h0
        for t in range(a.shape[0]):
            torch.addcmul(b[t], a[t], h, out=states[t])
            h = states[t]
        ctx.save_for_backward(a, h0, states)
        return states

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, ...]:
        a, h0, states = ctx.saved_tensors
        adjoint = torch.empty_like(grad)
        adjoint[-1] = grad[-1]
        for t in range(a.shape[0] - 2, -1, -1):
            torch.addcmul(grad[t], a[t + 1], adjoint[t + 1], out=adjoint[t])
        grad_a = torch.empty_like(a)  # λ_t h_{t-1}, h_0 being h0
        torch.mul(adjoint[0], h0, out=grad_a[0])
        torch.mul(adjoint[1:], states[:-1], out=grad_a[1:])
        return grad_a, adjoint, a[0] * adjoint[0]


class MinRNNBase(nn.Module):
    """The shared stack of :class:`MinGRU` and :class:`MinLSTM`; use one of those.

    See the module docstring for the equations, the scan and the conventions.
    """

    #: ``"min_gru"`` or ``"min_lstm"``, as :attr:`RecurrentModel.family` reports it.
    family: ClassVar[str]
    #: The row blocks of ``weight_ih_l{k}``, in order.
    gates: ClassVar[tuple[str, ...]]
    #: The kinds a layer reports, ``"h"`` first, the rest in the trace's order.
    kinds: ClassVar[tuple[str, ...]]
    # The solver (see :attr:`solver`); a class default, so modules pickled without it load.
    _solver: str = "scan"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if not hasattr(self, "gates"):
            raise TypeError(f"{name} is the shared base; build a MinGRU or a MinLSTM")
        self.input_size = _size(input_size, "input_size", name, "features of one input step")
        self.hidden_size = _size(hidden_size, "hidden_size", name, "cells of each layer")
        self.num_layers = _size(num_layers, "num_layers", name, "layers of the stack")
        for flag, value in (("bias", bias), ("batch_first", batch_first)):
            if not isinstance(value, bool):
                raise TypeError(f"{name}: {flag} must be True or False, got {value!r}")
        self.bias = bias
        self.batch_first = batch_first
        dtype = torch.get_default_dtype() if dtype is None else dtype
        _check_dtype(dtype, f"{name}: dtype", f"{name}(..., dtype=torch.float32)")
        rows = len(self.gates) * self.hidden_size
        for layer in range(self.num_layers):
            width = self.layer_input_size(layer)
            weight = torch.empty(rows, width, device=device, dtype=dtype)
            self.register_parameter(f"weight_ih_l{layer}", nn.Parameter(weight))
            bias_values = torch.empty(rows, device=device, dtype=dtype) if bias else None
            self.register_parameter(
                f"bias_ih_l{layer}", nn.Parameter(bias_values) if bias_values is not None else None
            )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw every weight and bias from ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, as nn.Linear."""
        for layer in range(self.num_layers):
            weight, bias = self.weights(layer)
            bound = 1.0 / math.sqrt(weight.shape[1])
            nn.init.uniform_(weight, -bound, bound)
            if bias is not None:
                nn.init.uniform_(bias, -bound, bound)

    @property
    def solver(self) -> str:
        """How :meth:`forward` solves the recurrence: ``"scan"`` or ``"sequential"``.

        ``"scan"`` (the default): the parallel log-space scan, its prefix sums in float64.
        ``"sequential"``: step by step in linear space in the module's dtype, by
        :func:`linear_recurrence`, several times faster to train on a CPU (see the module
        docstring). Capture and :meth:`layer_scan` always take the scan.
        """
        return self._solver

    @solver.setter
    def solver(self, value: str) -> None:
        if value not in SOLVERS:
            raise ValueError(
                f"{type(self).__name__}.solver must be one of {list(SOLVERS)}, got {value!r}"
            )
        self._solver = value

    def extra_repr(self) -> str:
        """The constructor's arguments, as nn.GRU prints them."""
        text = f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        return text

    # ---------------------------------------------------------------- one layer

    def layer_input_size(self, layer: int) -> int:
        """The width of layer ``layer``'s input: ``input_size``, then ``hidden_size``."""
        return self.input_size if layer == 0 else self.hidden_size

    def weights(self, layer: int) -> tuple[nn.Parameter, nn.Parameter | None]:
        """``(weight_ih, bias_ih)`` of one layer, the module's own tensors (bias None if off).

        ``weight_ih`` has shape ``(len(gates) * hidden_size, layer_input_size(layer))``, its
        row blocks in the order of :attr:`gates`.
        """
        return getattr(self, f"weight_ih_l{layer}"), getattr(self, f"bias_ih_l{layer}")

    def pre_activation(self, x: torch.Tensor, layer: int) -> torch.Tensor:
        """``W x + b`` of one layer: shape ``(..., len(gates) * hidden_size)``."""
        weight, bias = self.weights(layer)
        return F.linear(x, weight, bias)

    def write_logit(self, pre: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(u, p)`` from pre-activations: ``h' = σ(-u) h + σ(u) g(p)``; each (..., hidden)."""
        raise NotImplementedError

    def gate_values(self, pre: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every kind but ``h`` from pre-activations ``(..., len(gates) * hidden_size)``."""
        u, p = self.write_logit(pre)
        return self._named_gates(u, g(p))

    def _named_gates(self, u: torch.Tensor, candidate: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def layer_step(
        self, h: torch.Tensor, x: torch.Tensor, layer: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """One step of one layer: the new ``h`` and every kind's values.

        Batched or not, differentiable and free of in-place operations (``torch.func.vmap``
        and ``jacrev`` work on it).

        Parameters
        ----------
        h : Tensor, shape (batch, hidden_size) or (hidden_size,)
            The layer's state before the step.
        x : Tensor, shape (batch, layer_input_size(layer)) or (layer_input_size(layer),)
            The layer's input at this step.
        layer : int
            The layer, ``0 .. num_layers - 1``.

        Returns
        -------
        h_new : Tensor, shape like ``h``
        values : dict of str to Tensor
            Every kind of :attr:`kinds`, ``"h"`` being ``h_new``.

        """
        u, p = self.write_logit(self.pre_activation(x, layer))
        candidate = g(p)
        h_new = torch.sigmoid(-u) * h + torch.sigmoid(u) * candidate
        return h_new, {"h": h_new, **self._named_gates(u, candidate)}

    def layer_scan(
        self, x: torch.Tensor, layer: int, h0: torch.Tensor | None = None
    ) -> Iterator[tuple[int, torch.Tensor, torch.Tensor]]:
        """The parallel pass of one layer over time-major input, chunk by chunk of steps.

        Parameters
        ----------
        x : Tensor, shape (steps, batch, layer_input_size(layer))
            The layer's input, time-major.
        layer : int
            The layer, ``0 .. num_layers - 1``.
        h0 : Tensor, shape (batch, hidden_size), optional
            Zeros by default.

        Yields
        ------
        t0 : int
            The first step of the chunk.
        pre : Tensor, shape (chunk, batch, len(gates) * hidden_size)
            The chunk's pre-activations (:meth:`gate_values` turns them into the gates).
        h : Tensor, shape (chunk, batch, hidden_size)
            The layer's ``h`` at the chunk's steps.

        """
        steps, batch = x.shape[0], x.shape[1]
        chunk = max(1, SCAN_CHUNK_VALUES // max(1, batch * self.hidden_size * len(self.gates)))
        h = h0 if h0 is not None else x.new_zeros(batch, self.hidden_size)
        for t0 in range(0, steps, chunk):
            pre = self.pre_activation(x[t0 : t0 + chunk], layer)
            u, p = self.write_logit(pre)
            states = log_space_scan(F.logsigmoid(-u), F.logsigmoid(u) + log_g(p), h)
            yield t0, pre, states
            h = states[-1]

    # ---------------------------------------------------------------- the stack

    def forward(
        self, x: torch.Tensor, h0: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the stack over whole sequences, as ``nn.GRU`` is called.

        By the parallel scan, or step by step when :attr:`solver` is ``"sequential"``.

        Parameters
        ----------
        x : Tensor, shape (steps, batch, input_size) or (steps, input_size)
            The input, time-major; (batch, steps, input_size) when ``batch_first``; or one
            unbatched sequence.
        h0 : Tensor, shape (num_layers, batch, hidden_size) or (num_layers, hidden_size), optional
            Every layer's initial state; zeros by default.

        Returns
        -------
        output : Tensor, shape like ``x`` with ``hidden_size`` features
            The last layer's ``h`` at every step.
        h_n : Tensor, shape like ``h0``
            Every layer's ``h`` after the last step.

        Raises
        ------
        TypeError
            On a non-tensor, or a dtype other than the module's (float32 or float64).
        ValueError
            On the wrong number of features, no steps, or ``h0`` of the wrong shape.

        """
        self.check_precision()
        time_major, batched = self._time_major(x, "x")
        initial = self._initial(h0, time_major.shape[1], batched, "h0")
        finals = []
        for layer in range(self.num_layers):
            start = initial[layer] if initial is not None else None
            time_major = self._layer_states(time_major, layer, start)
            finals.append(time_major[-1])
        h_n = torch.stack(finals)
        output = time_major.transpose(0, 1) if self.batch_first else time_major
        if not batched:
            return output[:, 0] if not self.batch_first else output[0], h_n[:, 0]
        return output, h_n

    def _layer_states(self, x: torch.Tensor, layer: int, h0: torch.Tensor | None) -> torch.Tensor:
        """One layer's ``h`` (steps, batch, hidden_size) over time-major ``x``, by the solver."""
        if self._solver == "sequential":
            u, p = self.write_logit(self.pre_activation(x, layer))
            h = h0 if h0 is not None else x.new_zeros(x.shape[1], self.hidden_size)
            return linear_recurrence(torch.sigmoid(-u), torch.sigmoid(u) * g(p), h)
        chunks = [states for _, _, states in self.layer_scan(x, layer, h0)]
        return chunks[0] if len(chunks) == 1 else torch.cat(chunks)

    def step(
        self, x: torch.Tensor, h: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One step of the whole stack, sequentially: the recurrence the scan solves.

        Parameters
        ----------
        x : Tensor, shape (batch, input_size) or (input_size,)
            The input at this step.
        h : Tensor, shape (num_layers, batch, hidden_size) or (num_layers, hidden_size), optional
            Every layer's state before the step; zeros by default.

        Returns
        -------
        output : Tensor, shape (batch, hidden_size) or (hidden_size,)
            The last layer's new ``h``.
        h_new : Tensor, shape like ``h``
            Every layer's new ``h``.

        """
        self.check_precision()
        if isinstance(x, torch.Tensor) and x.ndim not in (1, 2):
            raise ValueError(
                f"x must have shape (batch, input_size) or (input_size,) for one step, got "
                f"{tuple(x.shape)}; for whole sequences call the module itself"
            )
        # One step is a sequence of one step, read time-major whatever batch_first says.
        x = x[None] if isinstance(x, torch.Tensor) else x
        time_major, batched = self._time_major(x, "x", time_major=True)
        batch = time_major.shape[1]
        initial = self._initial(h, batch, batched, "h")
        if initial is None:
            initial = time_major.new_zeros(self.num_layers, batch, self.hidden_size)
        layer_input = time_major[0]
        news = []
        for layer in range(self.num_layers):
            layer_input, _ = self.layer_step(initial[layer], layer_input, layer)
            news.append(layer_input)
        h_new = torch.stack(news)
        if not batched:
            return layer_input[0], h_new[:, 0]
        return layer_input, h_new

    # ---------------------------------------------------------------- checks

    def check_precision(self) -> None:
        """Refuse weights in half precision (or any dtype but float32 and float64)."""
        weight, _ = self.weights(0)
        name = type(self).__name__
        _check_dtype(weight.dtype, f"{name}'s weights", "call .float() on the module")

    def _time_major(self, x: Any, name: str, time_major: bool = False) -> tuple[torch.Tensor, bool]:
        """``x`` as (steps, batch, input_size), and whether it was batched."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        dtype = self.weights(0)[0].dtype
        if x.dtype != dtype:
            raise TypeError(
                f"{name} must have the module's dtype {dtype}, got {x.dtype}; convert it with "
                f"{name}.to({dtype})"
            )
        batch_first = self.batch_first and not time_major
        layout = "(batch, steps, input_size)" if batch_first else "(steps, batch, input_size)"
        if time_major:
            layout, unbatched = "(batch, input_size)", "(input_size,)"
        else:
            unbatched = "(steps, input_size)"
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            shape = tuple(x.shape[1:]) if time_major else tuple(x.shape)
            raise ValueError(
                f"{name} must have shape {layout} or {unbatched} with input_size="
                f"{self.input_size}, got {shape}; the module was built for "
                f"{self.input_size} input features"
            )
        batched = x.ndim == 3
        if not batched:
            x = x[:, None]
        elif batch_first:
            x = x.transpose(0, 1)
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(
                f"{name} must hold at least one step of one sequence, got shape {tuple(x.shape)}"
            )
        return x, batched

    def _initial(
        self, h: torch.Tensor | None, batch: int, batched: bool, name: str
    ) -> torch.Tensor | None:
        """``h`` as (num_layers, batch, hidden_size), or None for zeros."""
        if h is None:
            return None
        if not isinstance(h, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(h).__name__}")
        expected = (self.num_layers, batch, self.hidden_size)
        if not batched:
            expected = (self.num_layers, self.hidden_size)
        if tuple(h.shape) != expected:
            raise ValueError(
                f"{name} must have shape (num_layers, batch, hidden_size) = {expected}"
                f"{' (unbatched: no batch axis)' if not batched else ''}, got {tuple(h.shape)}"
            )
        if h.dtype != self.weights(0)[0].dtype:
            raise TypeError(f"{name} must have the module's dtype, got {h.dtype}")
        return h if batched else h[:, None]


class MinGRU(MinRNNBase):
    """A stack of minGRU layers (Feng et al. 2024 [1]_), computed by a log-space parallel scan.

    ``z_t = σ(W_z x_t + b_z)``, ``h~_t = g(W_h x_t + b_h)``, ``h_t = (1 - z_t) h_{t-1} + z_t
    h~_t``, with ``g(x) = x + 1/2`` (``x >= 0``) or ``σ(x)``: the paper's log-space minGRU.
    Kinds: ``h``, ``z`` (update gate), ``h_tilde`` (candidate state). See
    ``rnn_widgets.models._min_rnn`` for the scan and the conventions (those of ``nn.GRU``).

    Parameters
    ----------
    input_size : int
        Features of one input step.
    hidden_size : int
        Cells of each layer.
    num_layers : int
        Layers of the plain stack (layer ``k`` reads layer ``k - 1``'s ``h``).
    bias : bool
        Whether each layer has ``bias_ih_l{k}``.
    batch_first : bool
        Whether ``forward`` reads and returns ``(batch, steps, features)``.
    device, dtype
        Where the weights live and their dtype: float32 (default) or float64.

    Attributes
    ----------
    weight_ih_l{k} : Parameter, shape (2 * hidden_size, layer input size)
        Rows ``z`` then ``h_tilde``.
    bias_ih_l{k} : Parameter, shape (2 * hidden_size,)
    solver : {"scan", "sequential"}
        How :meth:`forward` solves the recurrence (:attr:`MinRNNBase.solver`); ``"scan"``.

    Examples
    --------
    >>> gru = MinGRU(input_size=3, hidden_size=4, num_layers=2)
    >>> output, h_n = gru(torch.randn(10, 5, 3))
    >>> tuple(output.shape), tuple(h_n.shape)
    ((10, 5, 4), (2, 5, 4))

    References
    ----------
    .. [1] Feng, L., Tung, F., Ahmed, M. O., Bengio, Y., & Hajimirsadeghi, H. (2024). Were RNNs
       all we needed? arXiv:2410.01201.

    """

    family = "min_gru"
    gates = ("z", "h_tilde")
    kinds = ("h", "z", "h_tilde")

    def write_logit(self, pre: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(k, p)``: the update gate's logit (``z = σ(k)``) and the candidate's pre-activation."""
        k, p = pre.chunk(2, dim=-1)
        return k, p

    def _named_gates(self, u: torch.Tensor, candidate: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"z": torch.sigmoid(u), "h_tilde": candidate}


class MinLSTM(MinRNNBase):
    """A stack of minLSTM layers (Feng et al. 2024 [1]_), computed by a log-space parallel scan.

    ``i_t = σ(W_i x_t + b_i)``, ``f_t = σ(W_f x_t + b_f)``, ``h~_t = g(W_h x_t + b_h)``, the
    gates normalised to ``i'_t = i_t / (f_t + i_t)`` and ``f'_t = f_t / (f_t + i_t)``, and
    ``h_t = f'_t h_{t-1} + i'_t h~_t``: the paper's log-space minLSTM. Kinds: ``h``, ``i`` and
    ``f`` (the normalised gates, ``i + f = 1``), ``h_tilde`` (candidate state). See
    ``rnn_widgets.models._min_rnn`` for the scan and the conventions (those of ``nn.GRU``).

    Parameters
    ----------
    input_size : int
        Features of one input step.
    hidden_size : int
        Cells of each layer.
    num_layers : int
        Layers of the plain stack (layer ``k`` reads layer ``k - 1``'s ``h``).
    bias : bool
        Whether each layer has ``bias_ih_l{k}``.
    batch_first : bool
        Whether ``forward`` reads and returns ``(batch, steps, features)``.
    device, dtype
        Where the weights live and their dtype: float32 (default) or float64.

    Attributes
    ----------
    weight_ih_l{k} : Parameter, shape (3 * hidden_size, layer input size)
        Rows ``i``, ``f``, then ``h_tilde`` (``nn.LSTM``'s order of ``i`` and ``f``).
    bias_ih_l{k} : Parameter, shape (3 * hidden_size,)
    solver : {"scan", "sequential"}
        How :meth:`forward` solves the recurrence (:attr:`MinRNNBase.solver`); ``"scan"``.

    Examples
    --------
    >>> lstm = MinLSTM(input_size=3, hidden_size=4, batch_first=True)
    >>> output, h_n = lstm(torch.randn(5, 10, 3))
    >>> tuple(output.shape), tuple(h_n.shape)
    ((5, 10, 4), (1, 5, 4))

    References
    ----------
    .. [1] Feng, L., Tung, F., Ahmed, M. O., Bengio, Y., & Hajimirsadeghi, H. (2024). Were RNNs
       all we needed? arXiv:2410.01201.

    """

    family = "min_lstm"
    gates = ("i", "f", "h_tilde")
    kinds = ("h", "i", "f", "h_tilde")

    def write_logit(self, pre: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(log(i / f), p)``: ``σ(u) = i / (f + i)``, and the candidate's pre-activation."""
        k_i, k_f, p = pre.chunk(3, dim=-1)
        # log i - log f, with log σ(k) = -softplus(-k): stable for gates near 0 and 1.
        return F.softplus(-k_f) - F.softplus(-k_i), p

    def _named_gates(self, u: torch.Tensor, candidate: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"i": torch.sigmoid(u), "f": torch.sigmoid(-u), "h_tilde": candidate}


def _size(value: Any, name: str, owner: str, what: str) -> int:
    """A positive int argument of a constructor, or an error naming it and what it counts."""
    number = as_int(value, f"{owner}: {name}")
    if number < 1:
        raise ValueError(f"{owner}: {name} must be a positive int (the {what}), got {number}")
    return number


def _check_dtype(dtype: Any, name: str, fix: str) -> None:
    if dtype not in _SUPPORTED_DTYPES:
        raise TypeError(
            f"{name} must be float32 or float64, got {dtype}; the log-space scan loses the "
            f"state in half precision, so {fix}"
        )
