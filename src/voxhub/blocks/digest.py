"""Digests of stored block values: what names an open node's view answer (a shard, a
mesh) by what it is made of, so that it can be cached until one of those blocks changes.

Hashing the stored (compressed) values costs a fraction of decoding them. Each value is
framed by its length, and an absent block by a length no value has, so two different
sequences of blocks never feed a digest the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

_ABSENT = (2**64 - 1).to_bytes(8, "little")


class Digest(Protocol):
    """What of :mod:`hashlib`'s hash objects this needs."""

    def update(self, data: bytes | memoryview, /) -> None: ...


def feed_stored(
    digest: Digest,
    values: Sequence[bytes | memoryview | None],
    keys: Sequence[bytes] | None = None,
) -> int:
    """Feed ``values`` (``None``: absent), each after its ``keys`` entry when given, to
    ``digest``; the number of values stored (not ``None``).

    >>> import hashlib
    >>> h = hashlib.sha256()
    >>> feed_stored(h, [b"abc", None])
    1
    """
    stored = 0
    for i, value in enumerate(values):
        if keys is not None:
            digest.update(keys[i])
        if value is None:
            digest.update(_ABSENT)
        else:
            digest.update(len(value).to_bytes(8, "little"))
            digest.update(value)
            stored += 1
    return stored
