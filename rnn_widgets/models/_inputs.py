"""Input sequences: what `RecurrentModel.encode`, `run` and `capture` accept, and how.

A **sequence** is one of

* a list of token strings, read through the model's ``vocab`` and ``embedding``;
* a list (or 1-D integer array or tensor) of token ids, read through the ``embedding``;
* a float array or tensor of shape (steps, input_size): the input vectors themselves
  (flip-flop pulses, digit pixels, CO2 readings).

A **batch** is a list of sequences, a 2-D integer array (batch, steps) of ids, or a 3-D float
array (batch, steps, input_size). Inputs are checked once, up front, so that a vocabulary miss
in the last sequence fails at once rather than after the others were read.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .._validation import encodable_text

__all__ = ["Prepared", "Vocabulary", "parse_batch"]


class Vocabulary:
    """Token strings to ids and back, from a mapping ``{token: id}`` or a list of tokens."""

    def __init__(self, vocab: Mapping[str, int] | Sequence[str]) -> None:
        if isinstance(vocab, Mapping):
            ids: dict[str, int] = {}
            for token, index in vocab.items():
                if not isinstance(token, str):
                    raise TypeError(f"vocab keys must be token strings, got {token!r}")
                encodable_text(token, f"vocab token {token!r}")
                if isinstance(index, bool) or not isinstance(index, numbers.Integral):
                    raise TypeError(f"vocab[{token!r}] must be an int id, got {index!r}")
                if index < 0:
                    raise ValueError(f"vocab[{token!r}] must be a non-negative id, got {index}")
                ids[token] = int(index)
        elif isinstance(vocab, Sequence) and not isinstance(vocab, (str, bytes)):
            ids = {}
            for index, token in enumerate(vocab):
                if not isinstance(token, str):
                    raise TypeError(f"vocab[{index}] must be a token string, got {token!r}")
                encodable_text(token, f"vocab[{index}]")
                if token in ids:
                    raise ValueError(
                        f"vocab lists {token!r} twice (at {ids[token]} and {index}); "
                        "each token needs one id"
                    )
                ids[token] = index
        else:
            raise TypeError(
                "vocab must be a mapping {token: id} or a list of tokens (index = id), "
                f"got {type(vocab).__name__}; for characters pass list(chars)"
            )
        if not ids:
            raise ValueError("vocab is empty; pass at least one token")
        self.ids = ids
        size = max(ids.values()) + 1
        tokens: list[str | None] = [None] * size
        for token, index in ids.items():
            if tokens[index] is None:
                tokens[index] = token
        self.tokens = tokens

    def __len__(self) -> int:
        """The number of ids, ``max id + 1``."""
        return len(self.tokens)

    def token(self, index: int) -> str:
        """The token of an id (the id as text where no token has it)."""
        found = self.tokens[index] if 0 <= index < len(self.tokens) else None
        return str(index) if found is None else found

    def lookup(self, tokens: Sequence[str], name: str) -> np.ndarray:
        """The ids of ``tokens``; a miss names the token and its position."""
        ids = self.ids
        try:
            return np.fromiter((ids[token] for token in tokens), dtype=np.int64, count=len(tokens))
        except KeyError:
            for position, token in enumerate(tokens):
                if token not in ids:
                    raise ValueError(
                        f"{name}[{position}]: token {token!r} is not in the vocabulary; add it "
                        "to vocab, or map unknown tokens to one that is (such as '<unk>') "
                        "before encoding"
                    ) from None
            raise


@dataclass(frozen=True)
class Prepared:
    """One checked sequence: token ids or input vectors, and the tokens a trace shows.

    Attributes
    ----------
    ids : ndarray of int64, shape (steps,), or None
        The token ids, for an embedding.
    vectors : Tensor, shape (steps, input_size), or None
        The input vectors, when given as floats.
    tokens : list of str
        What a trace shows for each step.

    """

    ids: np.ndarray | None
    vectors: torch.Tensor | None
    tokens: list[str]

    def __len__(self) -> int:
        """The number of steps."""
        return len(self.tokens)


def _is_int(value: Any) -> bool:
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool)


def _is_float_row(value: Any) -> bool:
    """A list or 1-D array of real numbers that are not all ints: one input vector."""
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return value.ndim == 1 and (
            value.dtype.is_floating_point
            if isinstance(value, torch.Tensor)
            else np.issubdtype(value.dtype, np.floating)
        )
    return (
        isinstance(value, (list, tuple))
        and len(value) > 0
        and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value)
        and not all(_is_int(v) for v in value)
    )


def parse_batch(inputs: Any, name: str) -> tuple[list[Any], bool]:
    """Split ``inputs`` into a list of sequences; ``single`` tells whether it was one sequence.

    See the module docstring for the accepted forms.
    """
    if isinstance(inputs, (str, bytes)):
        raise TypeError(
            f"{name} must be a list of tokens or a list of sequences, not one string; "
            "for characters pass list(text)"
        )
    if isinstance(inputs, (np.ndarray, torch.Tensor)):
        floating = (
            inputs.dtype.is_floating_point
            if isinstance(inputs, torch.Tensor)
            else np.issubdtype(inputs.dtype, np.floating)
        )
        if floating and inputs.ndim == 2:
            return [inputs], True
        if floating and inputs.ndim == 3:
            return list(inputs), False
        if not floating and inputs.ndim == 1:
            return [inputs], True
        if not floating and inputs.ndim == 2:
            return list(inputs), False
        kind = "float" if floating else "integer"
        raise ValueError(
            f"{name}: a {kind} array of shape {tuple(inputs.shape)} is neither one sequence nor "
            "a batch; pass float vectors as (steps, input_size) or (batch, steps, "
            "input_size), token ids as (steps,) or (batch, steps)"
        )
    if not isinstance(inputs, Sequence):
        raise TypeError(
            f"{name} must be a list of sequences (or one sequence), got {type(inputs).__name__}"
        )
    items = list(inputs)
    if not items:
        raise ValueError(f"{name} is empty; pass at least one sequence with one step")
    first = items[0]
    if isinstance(first, str) or _is_int(first):
        return [items], True
    if isinstance(first, numbers.Real) and not isinstance(first, bool):
        raise ValueError(
            f"{name} is a flat list of numbers; pass input vectors as a (steps, input_size) "
            "array (for one feature, np.asarray(values).reshape(-1, 1)), token ids as ints"
        )
    if _is_float_row(first):
        return [items], True
    return items, False


def prepare(
    sequence: Any,
    name: str,
    *,
    vocab: Vocabulary | None,
    input_size: int,
    has_embedding: bool,
    n_ids: int | None,
) -> Prepared:
    """Check one sequence (see the module docstring) without embedding it yet."""
    if isinstance(sequence, (str, bytes)):
        raise TypeError(f"{name} must be a list of tokens, not one string; pass list(text)")
    if isinstance(sequence, torch.Tensor):
        if sequence.dtype.is_floating_point:
            return _prepare_vectors(sequence.detach(), name, input_size)
        if sequence.dtype == torch.bool or sequence.is_complex():
            raise TypeError(f"{name} must hold token ids or float inputs, got {sequence.dtype}")
        sequence = sequence.detach().cpu().numpy()
    if isinstance(sequence, np.ndarray):
        if np.issubdtype(sequence.dtype, np.floating):
            return _prepare_vectors(_shared_tensor(sequence), name, input_size)
        if np.issubdtype(sequence.dtype, np.integer):
            ids = np.asarray(sequence, dtype=np.int64)
            if ids.ndim != 1:
                raise ValueError(
                    f"{name}: token ids must be 1-D (steps,), got shape {ids.shape}; for input "
                    "vectors pass a float array (steps, input_size), e.g. x.astype(np.float32)"
                )
            return _prepare_ids(ids, name, vocab, has_embedding, n_ids)
        if sequence.dtype.kind not in "OU":
            raise TypeError(f"{name} must hold tokens, ids or floats, got dtype {sequence.dtype}")
        sequence = sequence.tolist()
    if not isinstance(sequence, Sequence):
        raise TypeError(
            f"{name} must be a list of tokens, token ids or a (steps, input_size) float array, "
            f"got {type(sequence).__name__}"
        )
    items = sequence if type(sequence) is list else list(sequence)  # no copy of a list
    if not items:
        raise ValueError(f"{name} has no steps; drop empty sequences")
    if all(isinstance(item, str) for item in items):
        if vocab is None:
            raise TypeError(
                f"{name} holds token strings but the model has no vocab; pass "
                "RecurrentModel(..., vocab={token: id}) (and an embedding), or token ids"
            )
        ids = vocab.lookup(items, name)
        return _prepare_ids(ids, name, vocab, has_embedding, n_ids, tokens=items)
    if all(_is_int(item) for item in items):
        return _prepare_ids(np.asarray(items, dtype=np.int64), name, vocab, has_embedding, n_ids)
    if all(isinstance(item, (list, tuple, np.ndarray, torch.Tensor)) for item in items):
        try:
            array = np.asarray([np.asarray(item, dtype=np.float64) for item in items])
        except (TypeError, ValueError):
            array = None
        if array is not None and array.ndim == 2:
            return _prepare_vectors(torch.from_numpy(array), name, input_size)
        raise ValueError(
            f"{name}: input vectors must all have the same length (input_size={input_size})"
        )
    for position, item in enumerate(items):
        if not isinstance(item, str):
            raise TypeError(
                f"{name}[{position}] is a {type(item).__name__}; a sequence holds token "
                "strings, or token ids, or input vectors, not a mix"
            )
    raise AssertionError("unreachable")  # pragma: no cover


def _prepare_vectors(vectors: torch.Tensor, name: str, input_size: int) -> Prepared:
    if vectors.ndim == 1:
        raise ValueError(
            f"{name} is 1-D (shape {tuple(vectors.shape)}); input vectors must have shape "
            f"(steps, input_size={input_size}): for one feature, reshape it to (-1, 1)"
        )
    if vectors.ndim != 2:
        raise ValueError(
            f"{name} must have shape (steps, input_size={input_size}), got {tuple(vectors.shape)}"
        )
    steps, features = vectors.shape
    if features != input_size:
        raise ValueError(
            f"{name} has {features} features per step but the model's input_size is "
            f"{input_size}; pass a (steps, {input_size}) array"
        )
    if steps == 0:
        raise ValueError(f"{name} has no steps; drop empty sequences")
    finite = torch.isfinite(vectors).all(dim=1)
    if not bool(finite.all()):
        position = int(torch.nonzero(~finite)[0, 0])
        raise ValueError(f"{name}[{position}] has NaN or infinite inputs; clean the inputs first")
    if features <= 4:
        rows = vectors.detach().cpu().tolist()
        tokens = [" ".join(f"{v:.3g}" for v in row) for row in rows]
    else:
        tokens = [str(position) for position in range(steps)]
    return Prepared(None, vectors, tokens)


def _prepare_ids(
    ids: np.ndarray,
    name: str,
    vocab: Vocabulary | None,
    has_embedding: bool,
    n_ids: int | None,
    tokens: list[str] | None = None,
) -> Prepared:
    if not has_embedding:
        raise TypeError(
            f"{name} holds tokens or token ids but the model has no embedding; pass "
            "RecurrentModel(..., embedding=nn.Embedding(...)) or embedding='one_hot', or pass "
            "float input vectors of shape (steps, input_size)"
        )
    if len(ids) == 0:
        raise ValueError(f"{name} has no steps; drop empty sequences")
    bad = (
        np.flatnonzero((ids < 0) | (ids >= n_ids)) if n_ids is not None else np.flatnonzero(ids < 0)
    )
    if bad.size:
        position = int(bad[0])
        limit = f"0 .. {n_ids - 1}" if n_ids is not None else ">= 0"
        raise ValueError(
            f"{name}[{position}]: token id {int(ids[position])} is outside the embedding's "
            f"ids {limit}; check the vocabulary used to make the ids"
        )
    if tokens is None:
        tokens = (
            [vocab.token(int(i)) for i in ids] if vocab is not None else [str(int(i)) for i in ids]
        )
    return Prepared(ids, None, list(tokens))


def _shared_tensor(array: np.ndarray) -> torch.Tensor:
    """A tensor sharing ``array``'s memory; read-only arrays too, since inputs are never written."""
    if array.flags.writeable:
        return torch.from_numpy(array)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(array)
