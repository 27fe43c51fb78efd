"""``VersionedKV``: one instance at one version node, over a plain ``KVStore``.

Implements :class:`voxhub.versioning.protocols.VersionedView`. A read lists the stored
versions of a tkey with one short keys-only scan (see :mod:`voxhub.versioning.keys`),
picks the visible one with :func:`voxhub.versioning.dag.resolve_visible` from the keys
alone (the marker byte tells data from tombstones) and reads that one value
(``KVStore.pick_values``), so a block edited in a thousand versions reads like a block
written once. ``get_many`` serves all keys with one ``pick_values`` (one snapshot / round
trip), because it is the hot path of every volume read; ``with_values`` does the same
but hands the values to a callback as zero-copy views where the store has them (LMDB),
so a volume read decodes blocks straight from the map.

Writes run inside ``store.transact`` and re-read the node's metadata record *through the
transaction* before writing, so a commit made by any process is never followed by a write
landing on the committed node. Each write puts one marker's key, deletes the other's and
records the tkey in the version's write set (:mod:`voxhub.versioning.writesets`), all in
that transaction.

A transaction can also reach other instances at the same node (``joined``): a labelmap
mutation updates the annotations that follow it in its own transaction
(:mod:`voxhub.datatypes.sync`).

A transaction can also move repo-wide id counters (``take_ids``, ``raise_id_floor``;
:mod:`voxhub.versioning.counters`), unversioned keys shared by every node, so that ids
are consumed together with the data that uses them.

Unversioned instances (DVID rule) map every node to the repo root's version and accept
writes on committed nodes; they keep no write sets (nothing to diff or merge).

Data keys hold versions newest first (:mod:`voxhub.versioning.keys`) and a node's
ancestors have lower version ids, so each read range starts at the bound version itself:
at a chain's leaf the first key listed is the visible one, and an object store answers
from the first LIST page however many versions are stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

from voxhub.errors import InvalidRequest, NotFound, VersionLocked
from voxhub.storage.base import KVStore, Txn
from voxhub.versioning import counters, generations, node_log
from voxhub.versioning.dag import Ancestry, Lineage, resolve_visible
from voxhub.versioning.keys import (
    MARK_DATA,
    MARK_TOMBSTONE,
    SUFFIX_WIDTH,
    TOMBSTONE,
    instance_prefix,
    instance_range,
    version_bytes,
    version_of,
    write_set_key,
    writes_prefix,
)
from voxhub.versioning.protocols import VersionedTxn, VersionedView
from voxhub.versioning.records import decode_node

T = TypeVar("T")

_LOW = b"\x00" * SUFFIX_WIDTH
# Exclusive end of one tkey's versions: sorts after tkey|version|marker for every stored
# version, and no other tkey of the instance starts with this tkey (prefix-free), so
# nothing else falls between.
_HIGH = b"\xff" * (SUFFIX_WIDTH + 1)
_TOMB = MARK_TOMBSTONE[0]
#: values fetched per request by range scans.
SCAN_VALUE_BATCH = 256


class _Resolver:
    """Picks the visible key among the stored versions of one tkey, from keys alone."""

    def __init__(self, ancestry: Ancestry, lineage: Lineage) -> None:
        self.ancestry = ancestry
        self.lineage = lineage
        self.rank = ancestry.rank

    def choose(self, keys: Iterable[bytes]) -> bytes | None:
        """The data key visible from the node, or ``None`` (absent or tombstone)."""
        keys = keys if isinstance(keys, list) else list(keys)
        if len(keys) == 1:  # the common case: one version of the key
            key = keys[0]
            if key[-1] != _TOMB and version_of(key) in self.rank:
                return key
            return None
        return self.choose_below(keys, None)

    def choose_newest(self, keys: Iterator[bytes]) -> bytes | None:
        """:meth:`choose` for a linear ancestry, given keys in key order (newest first).

        Without merges the visible holder is the deepest ancestor holding the key, i.e.
        the highest ancestor version id (children get higher ids than their parents), so
        the walk stops at the first key of an ancestor: at a chain's leaf, the first key.
        """
        rank = self.rank
        for key in keys:
            if version_of(key) in rank:
                return None if key[-1] == _TOMB else key
        return None

    def choose_below(self, keys: Sequence[bytes], skip: int | None) -> bytes | None:
        """:meth:`choose`, ignoring version ``skip`` (what a delete would uncover)."""
        # Newest first: if a version has both markers (which transactions rule out), the
        # data key comes first and wins, as in ``choose_newest``.
        held: dict[int, bytes] = {}
        for key in keys:
            held.setdefault(version_of(key), key)
        if skip is not None:
            held.pop(skip, None)
        best = resolve_visible(held, self.ancestry, self.lineage)
        if best is None:
            return None
        key = held[best]
        return None if key[-1] == _TOMB else key

    def group(
        self, raw: Iterable[tuple[bytes, bytes | None]], start: bytes, end: bytes | None
    ) -> Iterator[tuple[bytes, bytes]]:
        """Group a raw keys-only instance scan by tkey; yield visible ``(tkey, key)``."""
        header = len(instance_prefix(0))
        current: bytes | None = None
        batch: list[bytes] = []
        for key, _ in raw:
            tkey = key[header:-SUFFIX_WIDTH]
            if tkey != current:
                if batch and current is not None:
                    found = self._in_range(current, batch, start, end)
                    if found is not None:
                        yield current, found
                current, batch = tkey, []
            batch.append(key)
        if batch and current is not None:
            found = self._in_range(current, batch, start, end)
            if found is not None:
                yield current, found

    def _in_range(
        self, tkey: bytes, batch: list[bytes], start: bytes, end: bytes | None
    ) -> bytes | None:
        if tkey < start or (end is not None and tkey >= end):
            return None
        return self.choose(batch)


def _with_values(
    pairs: Iterator[tuple[bytes, bytes]],
    keys_only: bool,
    get_many: Callable[[Sequence[bytes]], list[bytes | None]],
) -> Iterator[tuple[bytes, bytes | None]]:
    """Turn visible ``(tkey, key)`` pairs into ``(tkey, value)``, values in batches."""
    if keys_only:
        for tkey, _ in pairs:
            yield tkey, None
        return
    batch: list[tuple[bytes, bytes]] = []

    def flush() -> Iterator[tuple[bytes, bytes | None]]:
        values = get_many([k for _, k in batch])
        for (tkey, _), value in zip(batch, values, strict=True):
            if value is not None:  # deleted since it was listed
                yield tkey, value

    for pair in pairs:
        batch.append(pair)
        if len(batch) == SCAN_VALUE_BATCH:
            yield from flush()
            batch = []
    if batch:
        yield from flush()


class _ViewBase:
    """Key construction and read resolution shared by the view and its transactions."""

    def __init__(
        self, instance_id: int, version_id: int, resolver: _Resolver, versioned: bool
    ) -> None:
        self._prefix = instance_prefix(instance_id)
        self._instance_id = instance_id
        self._version_id = version_id
        # starts a tkey's range at this version: newer versions, never ancestors, sort before
        self._version_suffix = version_bytes(version_id)
        self._resolver = resolver
        self.versioned = versioned

    def _range(self, tkey: bytes) -> tuple[bytes, bytes]:
        base = self._prefix + tkey
        return base + _LOW, base + _HIGH

    def _key(self, tkey: bytes, mark: bytes = MARK_DATA) -> bytes:
        return self._prefix + tkey + self._version_suffix + mark

    def _raw_bounds(self, start: bytes, end: bytes | None) -> tuple[bytes, bytes]:
        # tkey >= start implies key >= prefix|start; keys of tkeys below ``start`` that
        # sneak in (a tkey that is a proper prefix of start) are filtered by ``group``.
        lo = self._prefix + start
        hi = self._prefix + end if end is not None else instance_range(self._instance_id)[1]
        return lo, hi

    def _write(self, txn: Txn, tkey: bytes, value: bytes | None, shadowed: bool) -> None:
        """Set (``value``) or delete (``None``) ``tkey`` at the bound version in ``txn``."""
        if value is not None:
            txn.delete(self._key(tkey, MARK_TOMBSTONE))
            txn.put(self._key(tkey), value)
        else:
            txn.delete(self._key(tkey))
            if shadowed:  # an ancestor's value would show through: hide it
                txn.put(self._key(tkey, MARK_TOMBSTONE), TOMBSTONE)
            else:
                txn.delete(self._key(tkey, MARK_TOMBSTONE))
        if self.versioned:
            txn.put(write_set_key(self._instance_id, self._version_id, tkey), TOMBSTONE)


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
        super().__init__(
            parent._instance_id, parent._version_id, parent._resolver, parent.versioned
        )
        self._txn = txn
        self._parent = parent

    def _keys(self, tkey: bytes) -> list[bytes]:
        return [k for k, _ in self._txn.scan(*self._range(tkey), keys_only=True)]

    def get(self, tkey: bytes) -> bytes | None:
        keys = self._keys(tkey)
        picked = self._resolver.choose(keys) if keys else None
        return None if picked is None else self._txn.get(picked)

    def get_many(self, tkeys: Sequence[bytes]) -> list[bytes | None]:
        return [self.get(t) for t in tkeys]

    def with_values(
        self, tkeys: Sequence[bytes], use: Callable[[Sequence[bytes | memoryview | None]], T]
    ) -> T:
        return use(self.get_many(tkeys))

    def scan(
        self, start: bytes, end: bytes | None, *, keys_only: bool = False
    ) -> Iterator[tuple[bytes, bytes | None]]:
        raw = self._txn.scan(*self._raw_bounds(start, end), keys_only=True)
        pairs = self._resolver.group(list(raw), start, end)
        yield from _with_values(pairs, keys_only, self._txn.get_many)

    def put(self, tkey: bytes, value: bytes) -> None:
        self._write(self._txn, tkey, _check_value(tkey, value), False)

    def delete(self, tkey: bytes) -> None:
        below = self._resolver.choose_below(self._keys(tkey), self._version_id)
        self._write(self._txn, tkey, None, below is not None)

    def take_ids(self, counter: str, count: int, *, floor: int = 1) -> int:
        return counters.take(self._txn, counter, count, floor=floor)

    def raise_id_floor(self, counter: str, floor: int) -> None:
        counters.raise_floor(self._txn, counter, floor)

    def repo_generation(self, root: str) -> int:
        return generations.decode(self._txn.get(generations.generation_key(root))).number

    def joined(self, other: VersionedView) -> VersionedTxn:
        """``other`` (another instance at the same node of the same store) inside this
        transaction: its reads see this transaction's writes and its writes commit or
        abort with them. Refused for another store or node, or if ``other`` is refused
        writes (its node committed while this instance is unversioned)."""
        if not isinstance(other, VersionedKV) or other.store is not self._parent.store:
            raise InvalidRequest(f"cannot join {other!r}: it lives in another store")
        if other.node_uuid != self._parent.node_uuid:
            raise InvalidRequest(
                f"cannot join instance {other.instance_name!r} at node {other.node_uuid} "
                f"to a transaction at node {self._parent.node_uuid}"
            )
        other._check_in(self._txn.get)
        return _TxnView(self._txn, other)


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
        super().__init__(instance_id, version_id, _Resolver(ancestry, lineage), versioned)
        self.store = store
        self.instance_name = instance_name
        self.node_uuid = node_uuid
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
        return self.get_many([tkey])[0]

    def get_many(self, tkeys: Sequence[bytes]) -> list[bytes | None]:
        """Visible values of ``tkeys`` in order, from one ``pick_values``.

        Only versions up to the bound one can be ancestors, so each range starts there and
        lists newest first; below a linear ancestry the walk stops at the first ancestor's
        key (see ``choose_newest``), at a chain's leaf the first key.
        """
        return self.store.pick_values(*self._picking(tkeys))

    def with_values(
        self, tkeys: Sequence[bytes], use: Callable[[Sequence[bytes | memoryview | None]], T]
    ) -> T:
        """``use(get_many(tkeys))``, the values possibly zero-copy views valid only until
        ``use`` returns (``KVStore.with_picked_values``)."""
        return self.store.with_picked_values(*self._picking(tkeys), use)

    def _picking(
        self, tkeys: Sequence[bytes]
    ) -> tuple[list[tuple[bytes, bytes]], Callable[[Iterator[bytes]], bytes | None]]:
        """The ranges and chooser of a ``pick_values`` that reads ``tkeys``."""
        prefix, resolver, own = self._prefix, self._resolver, self._version_suffix
        ranges = [(prefix + t + own, prefix + t + _HIGH) for t in tkeys]
        choose = resolver.choose_newest if resolver.ancestry.linear else resolver.choose
        return ranges, choose

    def visible_key(self, keys: Sequence[bytes]) -> bytes | None:
        """Which of ``keys`` (the stored versions of one tkey) is visible; ``None``: none."""
        return self._resolver.choose(keys) if keys else None

    def scan(
        self, start: bytes, end: bytes | None = None, *, keys_only: bool = False
    ) -> Iterator[tuple[bytes, bytes | None]]:
        """Visible ``(tkey, value)`` pairs with ``start <= tkey < end``, ascending."""
        raw = self.store.scan(*self._raw_bounds(start, end), keys_only=True)
        pairs = self._resolver.group(raw, start, end)
        yield from _with_values(pairs, keys_only, self.store.get_many)

    def written_here(self, start: bytes, end: bytes) -> list[bytes]:
        """The tkeys in ``[start, end)`` whose value the bound node stored itself, ascending.

        One range of the node's write set, each key then checked at the node's own
        version (a merge node's write set also names what its sides wrote). Unversioned
        instances keep no write sets and store everything at one version: every visible
        key of the range is the node's own.
        """
        if not self.versioned:
            return [t for t, _ in self.scan(start, end, keys_only=True)]
        base = writes_prefix(self._instance_id, self._version_id)
        found = self.store.scan(base + start, base + end, keys_only=True)
        tkeys = [k[len(base) :] for k, _ in found]
        held = self.store.get_many([self._key(t) for t in tkeys])
        return [t for t, value in zip(tkeys, held, strict=True) if value is not None]

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
        pairs = [(t, _check_value(t, v)) for t, v in items]

        def apply(txn: Txn) -> None:
            self._check_in(txn.get)
            for tkey, value in pairs:
                self._write(txn, tkey, value, False)

        self._commit(apply)

    def delete_many(self, tkeys: Iterable[bytes]) -> None:
        """Delete several keys at the bound version in one atomic batch.

        Whether a tombstone is needed depends on ancestors only; they are committed and
        therefore immutable, so it is decided outside the transaction with one scan.
        """
        tkeys = list(dict.fromkeys(tkeys))
        found = self.store.scan_many([self._range(t) for t in tkeys], keys_only=True)
        below = [
            self._resolver.choose_below([k for k, _ in entries], self._version_id) is not None
            for entries in found
        ]

        def apply(txn: Txn) -> None:
            self._check_in(txn.get)
            for tkey, shadowed in zip(tkeys, below, strict=True):
                self._write(txn, tkey, None, shadowed)

        self._commit(apply)

    def transact(self, fn: Callable[[VersionedTxn], T]) -> T:
        """Run ``fn`` as one isolated read-modify-write unit at the bound node."""

        def run(txn: Txn) -> T:
            self._check_in(txn.get)
            return fn(_TxnView(txn, self))

        return self._commit(run)

    def _commit(self, fn: Callable[[Txn], T]) -> T:
        """``store.transact(fn)``, adding the request's pending node-log line (if any:
        :func:`voxhub.versioning.node_log.logging_writes`) to the same transaction."""
        pending = node_log.pending_line()
        if pending is None:
            return self.store.transact(fn)

        def logged(txn: Txn) -> T:
            result = fn(txn)
            node_log.append(txn, self.node_uuid, pending.line)
            return result

        result = self.store.transact(logged)
        pending.written = True
        return result
