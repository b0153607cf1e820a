"""`Tokens`: the tokens of a trace as one UTF-8 byte blob and an offset per token.

The same layout serves in memory and on disk (where both arrays are memory-mapped), so a
million-token trace neither holds a million Python strings nor decodes them to open: a slice
decodes only the tokens it covers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import pairwise
from typing import overload

import numpy as np

__all__ = ["Tokens"]


class Tokens(Sequence[str]):
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

        Encoded in blocks of tokens, so that no list of millions of ``bytes`` objects is held
        beside the result (a capture into a store encodes its whole corpus up front).
        """
        block = 65536
        lengths = np.empty(len(strings), dtype=np.uint64)
        parts = []
        for start in range(0, len(strings), block):
            encoded = [token.encode("utf-8") for token in strings[start : start + block]]
            lengths[start : start + len(encoded)] = [len(b) for b in encoded]
            parts.append(b"".join(encoded))
        offsets = np.zeros(len(strings) + 1, dtype=np.uint64)
        np.cumsum(lengths, out=offsets[1:])
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

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            return self._decode(start, max(start, stop))
        position = int(index)
        if position < 0:
            position += len(self)
        if not 0 <= position < len(self):
            raise IndexError(f"token index {index} out of range for {len(self)} tokens")
        return self._decode(position, position + 1)[0]

    def __iter__(self) -> Iterator[str]:
        block = 65536
        for start in range(0, len(self), block):
            yield from self._decode(start, min(start + block, len(self)))

    def __repr__(self) -> str:
        head = self[: min(len(self), 5)]
        more = ", ..." if len(self) > 5 else ""
        return f"Tokens({', '.join(map(repr, head))}{more}; {len(self)} tokens)"

    def _decode(self, start: int, stop: int) -> list[str]:
        bounds = np.asarray(self._offsets[start : stop + 1], dtype=np.int64)
        if len(bounds) < 2:
            return []
        first = int(bounds[0])
        chunk = bytes(self._data[first : int(bounds[-1])])
        cuts = (bounds - first).tolist()
        return [chunk[a:b].decode("utf-8") for a, b in pairwise(cuts)]
