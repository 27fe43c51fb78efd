"""A repo's generation: a number that every change of the repo's records moves, with the
node records each recent change touched.

``gen/<root>`` holds ``{"g": number, "recent": [[number, [uuid, ...]], ...]}``. Every
transaction that changes what a repo looks like (its record, an instance record, a node
created, published, committed, noted or logged) calls :func:`bump` inside it, naming the
node records it wrote. A reader that derived something from the repo at generation ``n``
(``/api/repos/info``'s serialised DAG, :mod:`voxhub.service.repo_cache`) learns with one
``get`` whether it is still current, and if not, which node records changed since
(:meth:`Generation.touched_since`), as long as the change is among the last
:data:`RECENT`; otherwise it rebuilds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from voxhub.storage.base import KVStore, Txn
from voxhub.versioning.keys import meta_key

#: changes whose touched nodes the record keeps (a reader further behind rebuilds)
RECENT = 64


def generation_key(root: str) -> bytes:
    """Metadata key of a repo's generation record."""
    return meta_key(f"gen/{root}")


@dataclass(frozen=True)
class Generation:
    """A repo's generation and the node UUIDs its last changes touched."""

    number: int = 0
    recent: tuple[tuple[int, tuple[str, ...]], ...] = ()

    def touched_since(self, number: int) -> set[str] | None:
        """UUIDs of the node records changed after generation ``number``; ``None`` if the
        record no longer reaches back that far."""
        if number == self.number:
            return set()
        if number > self.number or not self.recent or self.recent[0][0] > number + 1:
            return None
        return {u for n, uuids in self.recent if n > number for u in uuids}


def decode(raw: bytes | None) -> Generation:
    if not raw:
        return Generation()
    value = json.loads(raw)
    if isinstance(value, int):  # a bare number: no record of what changed
        return Generation(value)
    recent = tuple((int(n), tuple(str(u) for u in uuids)) for n, uuids in value["recent"])
    return Generation(int(value["g"]), recent)


def encode(generation: Generation) -> bytes:
    recent = [[n, list(uuids)] for n, uuids in generation.recent]
    return json.dumps({"g": generation.number, "recent": recent}, separators=(",", ":")).encode()


def bump(txn: Txn, root: str, touched: Sequence[str] = ()) -> None:
    """Mark the repo ``root`` changed (``touched``: the node records written), in the
    transaction that changes it."""
    old = decode(txn.get(generation_key(root)))
    number = old.number + 1
    recent = (*old.recent, (number, tuple(dict.fromkeys(touched))))[-RECENT:]
    txn.put(generation_key(root), encode(Generation(number, recent)))


def read(store: KVStore, root: str) -> Generation:
    """The repo's generation record (one ``get``)."""
    return decode(store.get(generation_key(root)))
