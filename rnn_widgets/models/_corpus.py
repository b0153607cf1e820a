"""`Corpus`: the sequences of a capture into a store, prepared again whenever one is read.

Why: a prepared sequence (its token ids, the tokens a trace shows) costs 8-16 bytes a step.
Held for every sequence of a 20,000,000-step corpus, that was 160-320 MB: more than the
windows of states a capture into a store holds, and growing with the corpus. A `Corpus`
checks every sequence once, up front (so a vocabulary miss in the last sequence still fails
before anything is written), keeps only the lengths and a digest of the inputs, and prepares
a sequence again when a batch reads it (0.16 s per 2,000,000 tokens, measured: under 1% of
a capture). Its tokens (:meth:`Corpus.tokens`) are made the same way, a slice at a time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, overload

import numpy as np
import torch

from ..trace import TokenSequence
from ._inputs import Prepared, parse_batch

__all__ = ["Corpus", "checked_token_list", "checked_token_lists"]


class Corpus(Sequence[Prepared]):
    """Sequences checked once and prepared again on demand: ``corpus[i]`` is a `Prepared`.

    Parameters
    ----------
    model : RecurrentModel
        Reads the sequences (``prepare_sequence``: vocabulary, embedding, input size).
    sequences : sequence or batch
        As ``RecurrentModel.prepare`` reads them; referred to, never copied or changed.
    name : str
        How messages name the argument.

    Attributes
    ----------
    lengths : ndarray of int64, shape (n_sequences,)
        Each sequence's steps.
    starts : ndarray of int64, shape (n_sequences + 1,)
        Where each sequence starts among all steps, plus the end.
    digest : str
        A digest of every sequence's token ids or input vectors (for resuming a capture).

    Raises
    ------
    TypeError, ValueError
        As ``RecurrentModel.prepare``: a token missing from the vocabulary, named with its
        sequence and position, and so on.

    """

    def __init__(self, model: Any, sequences: Any, name: str = "sequences") -> None:
        self._model = model
        self._items, single = parse_batch(sequences, name)
        self._label = name if single else name + "[{}]"
        lengths = np.empty(len(self._items), dtype=np.int64)
        digest = hashlib.blake2b(digest_size=16)
        for index in range(len(self._items)):
            prepared = self[index]
            lengths[index] = len(prepared)
            _update_digest(digest, prepared)
        lengths.flags.writeable = False
        self.lengths = lengths
        self.starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        self.digest = digest.hexdigest()

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> Prepared: ...

    @overload
    def __getitem__(self, index: slice) -> list[Prepared]: ...

    def __getitem__(self, index: int | slice) -> Prepared | list[Prepared]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        position = int(index) + (len(self) if int(index) < 0 else 0)
        if not 0 <= position < len(self):
            raise IndexError(f"sequence {index} out of range for {len(self)} sequences")
        return self._model.prepare_sequence(self._items[position], self._label.format(position))

    def tokens(self, given: Any = None) -> TokenSequence:
        """Every step's token, sequences end to end, made a slice at a time.

        Parameters
        ----------
        given : list of list of str, optional
            One list of tokens per sequence, one per step (capture's ``tokens``); else the
            tokens each sequence shows (its own tokens, or its ids' tokens).

        Raises
        ------
        TypeError, ValueError
            ``given`` is not a list with one list per sequence (checked now); a list of the
            wrong length (checked when its steps are read).

        """
        if given is not None:
            given = checked_token_lists(given, len(self))
        return _CorpusTokens(self, given)


class _CorpusTokens(TokenSequence):
    """The tokens of a `Corpus` as one flat sequence; a span prepares the sequences it covers.

    The last sequence read is kept, so reading a long sequence block by block prepares it
    once, not once a block.
    """

    def __init__(self, corpus: Corpus, given: Sequence[Any] | None) -> None:
        self._corpus = corpus
        self._given = given
        self._cached: tuple[int, list[str]] = (-1, [])

    def __len__(self) -> int:
        return int(self._corpus.starts[-1])

    def span(self, start: int, stop: int) -> list[str]:
        """The tokens of steps ``start:stop``, from the sequences that hold them."""
        starts = self._corpus.starts
        found: list[str] = []
        sequence = int(np.searchsorted(starts, start, side="right")) - 1
        while start < stop:
            first = int(starts[sequence])
            tokens = self._sequence(sequence)
            found.extend(tokens[start - first : stop - first])
            start = int(starts[sequence + 1])
            sequence += 1
        return found

    def _sequence(self, index: int) -> list[str]:
        if self._cached[0] != index:
            self._cached = (index, self._read(index))
        return self._cached[1]

    def _read(self, index: int) -> list[str]:
        if self._given is None:
            return self._corpus[index].tokens
        return checked_token_list(self._given[index], index, int(self._corpus.lengths[index]))


def checked_token_lists(given: Any, n_sequences: int) -> Sequence[Any]:
    """``given`` (capture's ``tokens``) if it is a list of one list per sequence, else raise."""
    if isinstance(given, (str, bytes)) or not isinstance(given, Sequence):
        raise TypeError("tokens must be a list with one list of tokens per sequence")
    if len(given) != n_sequences:
        raise ValueError(
            f"tokens has {len(given)} lists but there are {n_sequences} sequences; pass one "
            "list of tokens per sequence"
        )
    return given


def checked_token_list(given: Any, index: int, length: int) -> list[str]:
    """Sequence ``index``'s tokens as str, if ``given`` lists one per step, else raise."""
    if isinstance(given, (str, bytes)) or not hasattr(given, "__len__") or len(given) != length:
        size = (
            "a string"
            if isinstance(given, (str, bytes))
            else len(given)
            if hasattr(given, "__len__")
            else type(given).__name__
        )
        raise ValueError(f"tokens[{index}] must list one token per step ({length}), got {size}")
    return [str(token) for token in given]


def _update_digest(digest: Any, prepared: Prepared) -> None:
    """Add a sequence's token ids or input vectors to ``digest`` (for resuming a capture)."""
    if prepared.ids is not None:
        digest.update(b"ids")
        digest.update(np.ascontiguousarray(prepared.ids, dtype=np.int64))
    if prepared.vectors is not None:
        flat = prepared.vectors.detach().cpu().contiguous().reshape(-1)
        digest.update(f"vectors {flat.dtype} {tuple(prepared.vectors.shape)}".encode())
        digest.update(flat.view(torch.uint8).numpy())
