"""``VersionedKV``: one instance at one version node, over a plain ``KVStore``.

Implements :class:`voxhub.versioning.protocols.VersionedView`. Reads find all stored
versions of a tkey with one short range scan (see :mod:`voxhub.versioning.keys`) and
pick the visible one with :func:`voxhub.versioning.dag.resolve_visible`. ``get_many``
serves all keys with a single ``scan_many`` (one snapshot / round trip) and resolves in
one pass, because it is the hot path of every volume read.

Writes run inside ``store.transact`` and re-read the node's metadata record *through the
transaction* before writing, so a commit made by any process is never followed by a write
landing on the committed node.

Unversioned instances (DVID rule) map every node to the repo root's version and accept
writes on committed nodes.

Tombstones are empty values. A ``keys_only`` scan still reads values, because only the
value tells a tombstone from data — the price of one physical key per (tkey, version).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

from voxhub.errors import InvalidRequest, NotFound, VersionLocked
from voxhub.storage.base import KVStore, Txn
from voxhub.versioning.dag import Ancestry, Lineage, resolve_visible
from voxhub.versioning.keys import TOMBSTONE, VERSION_WIDTH, instance_prefix, instance_range
from voxhub.versioning.protocols import VersionedTxn
from voxhub.versioning.records import decode_node

T = TypeVar("T")

_LOW = b"\x00" * VERSION_WIDTH
# Exclusive end of one tkey's versions: sorts after tkey|FFFFFFFF, and no other tkey of the
# instance starts with this tkey (prefix-free), so nothing else falls in between.
_HIGH = b"\xff" * (VERSION_WIDTH + 1)

Entries = Sequence[tuple[bytes, bytes | None]]


class _Resolver:
    """Picks the visible entry among the stored versions of one tkey."""

    def __init__(self, ancestry: Ancestry, lineage: Lineage) -> None:
        self.ancestry = ancestry
        self.lineage = lineage
        self.rank = ancestry.rank

    def value(self, entries: Entries, skip: int | None = None) -> bytes | None:
        """The visible value (``None`` for absent or tombstone); ``skip`` ignores a version."""
        if len(entries) == 1 and skip is None:  # the common case: one version of the key
            key, value = entries[0]
            if int.from_bytes(key[-VERSION_WIDTH:], "big") in self.rank:
                return value or None
            return None
        held = {int.from_bytes(k[-VERSION_WIDTH:], "big"): v for k, v in entries}
        if skip is not None:
            held.pop(skip, None)
        best = resolve_visible(held, self.ancestry, self.lineage)
        return None if best is None else (held[best] or None)

    def group(
        self, raw: Iterable[tuple[bytes, bytes | None]], start: bytes, end: bytes | None
    ) -> Iterator[tuple[bytes, bytes]]:
        """Group a raw instance scan by tkey and yield visible ``(tkey, value)`` pairs."""
        header = len(instance_prefix(0))
        current: bytes | None = None
        batch: list[tuple[bytes, bytes | None]] = []
        for key, value in raw:
            tkey = key[header:-VERSION_WIDTH]
            if tkey != current:
                if batch and current is not None:
                    found = self._in_range(current, batch, start, end)
                    if found is not None:
                        yield current, found
                current, batch = tkey, []
            batch.append((key, value))
        if batch and current is not None:
            found = self._in_range(current, batch, start, end)
            if found is not None:
                yield current, found

    def _in_range(
        self, tkey: bytes, batch: Entries, start: bytes, end: bytes | None
    ) -> bytes | None:
        if tkey < start or (end is not None and tkey >= end):
            return None
        return self.value(batch)


class _ViewBase:
    """Key construction and read resolution shared by the view and its transactions."""

    def __init__(self, instance_id: int, version_id: int, resolver: _Resolver) -> None:
        self._prefix = instance_prefix(instance_id)
        self._instance_id = instance_id
        self._version_id = version_id
        self._version_suffix = version_id.to_bytes(VERSION_WIDTH, "big")
        self._resolver = resolver

    def _range(self, tkey: bytes) -> tuple[bytes, bytes]:
        base = self._prefix + tkey
        return base + _LOW, base + _HIGH

    def _key(self, tkey: bytes) -> bytes:
        return self._prefix + tkey + self._version_suffix

    def _raw_bounds(self, start: bytes, end: bytes | None) -> tuple[bytes, bytes]:
        # tkey >= start implies key >= prefix|start; keys of tkeys below ``start`` that
        # sneak in (a tkey that is a proper prefix of start) are filtered by ``group``.
        lo = self._prefix + start
        hi = self._prefix + end if end is not None else instance_range(self._instance_id)[1]
        return lo, hi


def _check_value(tkey: bytes, value: bytes) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise InvalidRequest(f"value of key {tkey.hex()} must be bytes, not {type(value)}")
    if len(value) == 0:
        raise InvalidRequest(
            f"value of key {tkey.hex()} is empty; empty values are reserved for tombstones"
        )
    return bytes(value)


class _TxnView(_ViewBase):
    """The ``VersionedTxn`` handed to ``VersionedKV.transact`` callbacks."""

    def __init__(self, txn: Txn, parent: VersionedKV) -> None:
        super().__init__(parent._instance_id, parent._version_id, parent._resolver)
        self._txn = txn

    def get(self, tkey: bytes) -> bytes | None:
        return self._resolver.value(list(self._txn.scan(*self._range(tkey))))

    def get_many(self, tkeys: Sequence[bytes]) -> list[bytes | None]:
        return [self.get(t) for t in tkeys]

    def scan(
        self, start: bytes, end: bytes | None, *, keys_only: bool = False
    ) -> Iterator[tuple[bytes, bytes | None]]:
        raw = self._txn.scan(*self._raw_bounds(start, end))
        for tkey, value in self._resolver.group(raw, start, end):
            yield tkey, (None if keys_only else value)

    def put(self, tkey: bytes, value: bytes) -> None:
        self._txn.put(self._key(tkey), _check_value(tkey, value))

    def delete(self, tkey: bytes) -> None:
        below = self._resolver.value(list(self._txn.scan(*self._range(tkey))), self._version_id)
        if below is None:
            self._txn.delete(self._key(tkey))
        else:
            self._txn.put(self._key(tkey), TOMBSTONE)


class VersionedKV(_ViewBase):
    """A versioned instance seen from one node; see the module docstring."""

    def __init__(
        self,
        store: KVStore,
        *,
        instance_id: int,
        instance_name: str,
        version_id: int,
        node_uuid: str,
        node_key: bytes,
        versioned: bool,
        ancestry: Ancestry,
        lineage: Lineage,
    ) -> None:
        super().__init__(instance_id, version_id, _Resolver(ancestry, lineage))
        self.store = store
        self.instance_name = instance_name
        self.node_uuid = node_uuid
        self.versioned = versioned
        self._node_key = node_key

    def __repr__(self) -> str:
        return f"VersionedKV(instance={self.instance_name!r}, node={self.node_uuid!r})"

    @property
    def instance_id(self) -> int:
        """The instance's id inside data keys."""
        return self._instance_id

    @property
    def version_id(self) -> int:
        """The version id reads resolve from and writes go to (root's if unversioned)."""
        return self._version_id

    @property
    def ancestry(self) -> Ancestry:
        """Ancestors-or-self of the bound version, with priority ranks."""
        return self._resolver.ancestry

    @property
    def lineage(self) -> Lineage:
        """The parent links the resolution rule consults."""
        return self._resolver.lineage

    # -- reads ---------------------------------------------------------------------------
    def get(self, tkey: bytes) -> bytes | None:
        """The value of ``tkey`` visible at the bound node, or ``None``."""
        return self._resolver.value(list(self.store.scan(*self._range(tkey))))

    def get_many(self, tkeys: Sequence[bytes]) -> list[bytes | None]:
        """Visible values of ``tkeys`` in order, from one ``scan_many``."""
        prefix = self._prefix
        ranges = [(prefix + t + _LOW, prefix + t + _HIGH) for t in tkeys]
        value = self._resolver.value
        rank = self._resolver.rank
        out: list[bytes | None] = []
        append = out.append
        for entries in self.store.scan_many(ranges):
            if len(entries) == 1:  # inlined fast path of _Resolver.value
                key, found = entries[0]
                ok = int.from_bytes(key[-VERSION_WIDTH:], "big") in rank
                append((found or None) if ok else None)
            elif entries:
                append(value(entries))
            else:
                append(None)
        return out

    def scan(
        self, start: bytes, end: bytes | None = None, *, keys_only: bool = False
    ) -> Iterator[tuple[bytes, bytes | None]]:
        """Visible ``(tkey, value)`` pairs with ``start <= tkey < end``, ascending."""
        raw = self.store.scan(*self._raw_bounds(start, end))
        for tkey, value in self._resolver.group(raw, start, end):
            yield tkey, (None if keys_only else value)

    # -- writes --------------------------------------------------------------------------
    @property
    def writable(self) -> bool:
        """Whether writes are allowed now (node open, or the instance is unversioned)."""
        try:
            self._check_in(self.store.get)
        except VersionLocked:
            return False
        return True

    def check_writable(self) -> None:
        """Raise ``VersionLocked`` naming the node and instance if writes are refused."""
        self._check_in(self.store.get)

    def _check_in(self, get: Callable[[bytes], bytes | None]) -> None:
        if not self.versioned:
            return
        raw = get(self._node_key)
        if raw is None:
            raise NotFound(f"node {self.node_uuid} no longer exists")
        if decode_node(raw).locked:
            raise VersionLocked(
                f"cannot write instance {self.instance_name!r} at node {self.node_uuid}: "
                "the node is committed (locked)"
            )

    def put_many(self, items: Iterable[tuple[bytes, bytes]]) -> None:
        """Set several keys at the bound version in one atomic batch."""
        pairs = [(self._key(t), _check_value(t, v)) for t, v in items]

        def apply(txn: Txn) -> None:
            self._check_in(txn.get)
            for key, value in pairs:
                txn.put(key, value)

        self.store.transact(apply)

    def delete_many(self, tkeys: Iterable[bytes]) -> None:
        """Delete several keys at the bound version in one atomic batch.

        Whether a tombstone is needed depends on ancestors only; they are committed and
        therefore immutable, so it is decided outside the transaction with one scan.
        """
        tkeys = list(dict.fromkeys(tkeys))
        found = self.store.scan_many([self._range(t) for t in tkeys], keys_only=False)
        below = [self._resolver.value(entries, self._version_id) for entries in found]

        def apply(txn: Txn) -> None:
            self._check_in(txn.get)
            for tkey, shadowed in zip(tkeys, below, strict=True):
                if shadowed is None:
                    txn.delete(self._key(tkey))
                else:
                    txn.put(self._key(tkey), TOMBSTONE)

        self.store.transact(apply)

    def transact(self, fn: Callable[[VersionedTxn], T]) -> T:
        """Run ``fn`` as one isolated read-modify-write unit at the bound node."""

        def run(txn: Txn) -> T:
            self._check_in(txn.get)
            return fn(_TxnView(txn, self))

        return self.store.transact(run)
