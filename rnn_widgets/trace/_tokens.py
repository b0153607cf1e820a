"""`Tokens`: the tokens of a trace as one UTF-8 byte blob and an offset per token.

The same layout serves in memory and on disk (where both arrays are memory-mapped), so a
million-token trace neither holds a million Python strings nor decodes them to open: a slice
decodes only the tokens it covers.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator, Sequence
from itertools import pairwise
from typing import overload

import numpy as np

from .._validation import encodable_text

__all__ = ["TOKEN_BLOCK", "TokenSequence", "Tokens", "encoded_blocks"]

#: Tokens encoded at once: a block's bytes and sizes are all that is held of a sequence of
#: str while it is encoded.
TOKEN_BLOCK = 1 << 16


class TokenSequence(Sequence[str]):
    """A read-only sequence of token strings that reads a span of steps at a time.

    A subclass gives ``__len__`` and ``span(start, stop)`` (the tokens of steps
    ``start:stop``, a list of str); indexing, slicing and iteration (a block at a time)
    follow. `Tokens` is one; a capture's corpus makes its tokens on demand as another, so
    that no list of every token is held.
    """

    __slots__ = ()

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def span(self, start: int, stop: int) -> list[str]:
        """The tokens of steps ``start:stop`` (``0 <= start <= stop <= len(self)``)."""

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            return self.span(start, max(start, stop))
        position = int(index)
        if position < 0:
            position += len(self)
        if not 0 <= position < len(self):
            raise IndexError(f"token index {index} out of range for {len(self)} tokens")
        return self.span(position, position + 1)[0]

    def __iter__(self) -> Iterator[str]:
        for start in range(0, len(self), TOKEN_BLOCK):
            yield from self.span(start, min(start + TOKEN_BLOCK, len(self)))


class Tokens(TokenSequence):
    """A read-only sequence of token strings.

    ``tokens[i]`` is a str, ``tokens[a:b]`` a list of str; ``len(tokens)`` is n_steps.

    Parameters
    ----------
    data : ndarray of uint8, shape (n_bytes,)
        The UTF-8 encodings of all tokens, concatenated.
    offsets : ndarray of uint64, shape (n_steps + 1,)
        Token ``i`` is ``data[offsets[i]:offsets[i + 1]]``.

    """

    __slots__ = ("_data", "_offsets")

    def __init__(self, data: np.ndarray, offsets: np.ndarray) -> None:
        if offsets.ndim != 1 or len(offsets) == 0 or int(offsets[-1]) != len(data):
            raise ValueError("token offsets must end at the length of the token bytes")
        self._data = data
        self._offsets = offsets

    @classmethod
    def from_strings(cls, strings: Sequence[str]) -> Tokens:
        """Encode a list of str.

        Encoded in blocks of tokens (:func:`encoded_blocks`), so that no list of millions of
        ``bytes`` objects is held beside the result.
        """
        offsets = np.zeros(len(strings) + 1, dtype=np.uint64)
        parts = []
        position = 0
        for sizes, data in encoded_blocks(strings):
            np.cumsum(sizes, out=offsets[position + 1 : position + 1 + len(sizes)])
            offsets[position + 1 : position + 1 + len(sizes)] += offsets[position]
            position += len(sizes)
            parts.append(data)
        data = np.frombuffer(b"".join(parts), dtype=np.uint8).copy()
        data.flags.writeable = False
        offsets.flags.writeable = False
        return cls(data, offsets)

    @property
    def data(self) -> np.ndarray:
        """The concatenated UTF-8 bytes (read-only)."""
        return self._data

    @property
    def offsets(self) -> np.ndarray:
        """Where each token starts in :attr:`data`, plus the end (read-only)."""
        return self._offsets

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __repr__(self) -> str:
        head = self[: min(len(self), 5)]
        more = ", ..." if len(self) > 5 else ""
        return f"Tokens({', '.join(map(repr, head))}{more}; {len(self)} tokens)"

    def span(self, start: int, stop: int) -> list[str]:
        """The tokens of steps ``start:stop``, decoded."""
        bounds = np.asarray(self._offsets[start : stop + 1], dtype=np.int64)
        if len(bounds) < 2:
            return []
        first = int(bounds[0])
        chunk = bytes(self._data[first : int(bounds[-1])])
        cuts = (bounds - first).tolist()
        return [chunk[a:b].decode("utf-8") for a, b in pairwise(cuts)]


def encoded_blocks(tokens: Sequence[str]) -> Iterator[tuple[np.ndarray, bytes]]:
    """Encode ``tokens`` :data:`TOKEN_BLOCK` at a time: each block's sizes and UTF-8 bytes.

    A `Tokens` hands out its own bytes. Any other sequence is read by slices
    (``tokens[a:b]``), so a sequence that makes its tokens on demand (a capture's corpus) is
    never held whole, as str or as bytes.

    Parameters
    ----------
    tokens : Tokens or sequence of str
        ``len(tokens)`` tokens.

    Yields
    ------
    sizes : ndarray of uint64, shape (block,)
        Each token's length in bytes.
    data : bytes
        The block's tokens, encoded and joined.

    Raises
    ------
    TypeError
        A token that is not a str, named by its index (``tokens[12]``).
    ValueError
        A str that UTF-8 cannot encode (a lone surrogate), named by its index.

    """
    for start in range(0, len(tokens), TOKEN_BLOCK):
        stop = min(start + TOKEN_BLOCK, len(tokens))
        if isinstance(tokens, Tokens):
            offsets = tokens.offsets[start : stop + 1]
            first, last = int(offsets[0]), int(offsets[-1])
            yield np.diff(offsets), bytes(tokens.data[first:last])
            continue
        block = tokens[start:stop]
        try:
            encoded = [token.encode("utf-8") for token in block]
        except (AttributeError, UnicodeEncodeError):
            _name_bad_token(block, start)
            raise
        if len(encoded) != stop - start:
            raise ValueError(
                f"tokens[{start}:{stop}] holds {len(encoded)} tokens; a sequence of tokens "
                "must give one per index of its length"
            )
        sizes = np.fromiter(map(len, encoded), dtype=np.uint64, count=len(encoded))
        yield sizes, b"".join(encoded)


def _name_bad_token(block: Sequence[object], first: int) -> None:
    """Raise for the first token of ``block`` that is not a str UTF-8 can encode."""
    for index, token in enumerate(block):
        if not isinstance(token, str):
            raise TypeError(
                f"tokens[{first + index}] is a {type(token).__name__}; every token is a str"
            )
        encodable_text(token, f"tokens[{first + index}]")
