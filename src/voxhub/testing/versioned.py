"""A pure reference model of versioned data and a Hypothesis state machine checking a store.

:class:`VersionModel` is the oracle: a dict of nodes, each holding a full snapshot of what
it inherited (``base``: per key, the surviving holders and their values) plus its own
writes. ``newversion``/``branch`` copy the parent's snapshot; ``merge`` unions the
parents' snapshots, drops holders that are ancestors of another holder, and reads pick
the surviving holder that comes first in the node's priority order (depth-first, first
parent first) — the rule documented in :mod:`voxhub.versioning.dag`, re-implemented here
independently of the real code.

:func:`versioned_state_machine` builds a ``RuleBasedStateMachine`` that applies random
steps to a real :class:`~voxhub.versioning.catalog.Catalog` over a fresh store and to the
model, and checks equal reads at every node after every step (so committed ancestors are
checked to stay unchanged), equal refusals, equal diffs and merge conflict reports (both
computed from write sets by the real code, by brute force in the model), and write sets
that hold every key a node wrote. Two ``Catalog`` objects share
the store, as two processes would. Usage::

    TestMemory = versioned_state_machine(MemoryStore).TestCase
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from voxhub.errors import InvalidRequest, MergeConflict, VersionLocked
from voxhub.storage.base import KVStore
from voxhub.versioning import writesets
from voxhub.versioning.catalog import Catalog
from voxhub.versioning.keys import instance_range, tkey_of, version_of
from voxhub.versioning.protocols import VersionedTxn

Key = tuple[str, bytes]  # (instance name, tkey)
Holders = dict[str, bytes | None]  # holder uuid -> value (None = tombstone)

TKEYS = [b"k0", b"k1", b"k2"]
VALUES = [b"x", b"y", b"zz"]
VERSIONED = ["a", "b"]  # "b" is created by a rule, possibly never
UNVERSIONED = "u"
MAX_NODES = 9


@dataclass
class ModelNode:
    """One node of the model: inherited snapshot plus own writes (None = tombstone)."""

    uuid: str
    parents: tuple[str, ...]
    branch: str
    locked: bool = False
    children: list[str] = field(default_factory=list)
    base: dict[Key, Holders] = field(default_factory=dict)
    own: dict[Key, bytes | None] = field(default_factory=dict)


class VersionModel:
    """The dict-of-dicts oracle for one repo (see the module docstring)."""

    def __init__(self, root: str) -> None:
        self.nodes: dict[str, ModelNode] = {root: ModelNode(root, (), "master")}
        self.unversioned: dict[bytes, bytes] = {}
        self.branches = {"master"}

    def ancestors(self, uuid: str) -> set[str]:
        """Ancestors-or-self."""
        seen, todo = set(), [uuid]
        while todo:
            u = todo.pop()
            if u not in seen:
                seen.add(u)
                todo.extend(self.nodes[u].parents)
        return seen

    def priority(self, uuid: str) -> dict[str, int]:
        """Depth-first preorder from ``uuid``, first parent first."""
        order: dict[str, int] = {}

        def visit(u: str) -> None:
            if u not in order:
                order[u] = len(order)
                for p in self.nodes[u].parents:
                    visit(p)

        visit(uuid)
        return order

    def holders(self, uuid: str, key: Key) -> Holders:
        node = self.nodes[uuid]
        if key in node.own:
            return {uuid: node.own[key]}
        return node.base.get(key, {})

    def _pick(self, uuid: str, holders: Holders) -> bytes | None:
        if not holders:
            return None
        rank = self.priority(uuid)
        return holders[min(holders, key=rank.__getitem__)]

    def read(self, uuid: str, instance: str, tkey: bytes) -> bytes | None:
        """The value visible at ``uuid``."""
        if instance == UNVERSIONED:
            return self.unversioned.get(tkey)
        return self._pick(uuid, self.holders(uuid, (instance, tkey)))

    def snapshot(self, uuid: str) -> dict[Key, Holders]:
        node = self.nodes[uuid]
        keys = set(node.base) | set(node.own)
        return {k: dict(h) for k in keys if (h := self.holders(uuid, k))}

    def put(self, uuid: str, instance: str, tkey: bytes, value: bytes) -> None:
        if instance == UNVERSIONED:
            self.unversioned[tkey] = value
        else:
            self.nodes[uuid].own[(instance, tkey)] = value

    def delete(self, uuid: str, instance: str, tkey: bytes) -> None:
        if instance == UNVERSIONED:
            self.unversioned.pop(tkey, None)
            return
        node, key = self.nodes[uuid], (instance, tkey)
        if self._pick(uuid, node.base.get(key, {})) is None:
            node.own.pop(key, None)
        else:
            node.own[key] = None

    def add_child(self, uuid: str, parents: tuple[str, ...], branch: str) -> None:
        node = ModelNode(uuid, parents, branch)
        self.nodes[uuid] = node  # before merging: the priority order needs it
        for p in parents:
            self.nodes[p].children.append(uuid)
        node.base = self.merged(parents)

    def merged(self, parents: tuple[str, ...]) -> dict[Key, Holders]:
        """Union of the parents' snapshots without invalidated holders."""
        union: dict[Key, Holders] = {}
        for p in parents:
            for key, holders in self.snapshot(p).items():
                union.setdefault(key, {}).update(holders)
        proper = {h: self.ancestors(h) - {h} for hs in union.values() for h in hs}
        return {
            key: {h: v for h, v in hs.items() if not any(h in proper[g] for g in hs)}
            for key, hs in union.items()
        }

    def conflicts(self, parents: tuple[str, ...]) -> dict[str, list[bytes]]:
        """Per instance, the sorted tkeys a merge of ``parents`` would conflict on."""
        found: dict[str, list[bytes]] = {}
        for (inst, tkey), hs in sorted(self.merged(parents).items()):
            if len(set(hs.values())) > 1:
                found.setdefault(inst, []).append(tkey)
        return found


def versioned_state_machine(
    make_store: Callable[[], KVStore],
    destroy: Callable[[KVStore], None] | None = None,
) -> type[RuleBasedStateMachine]:
    """A state machine class checking the versioning layer over stores from ``make_store``.

    ``destroy`` (default: ``store.close()``) runs at teardown, e.g. to remove a temp dir.
    """

    index = st.integers(0, 63)

    class VersionedMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.store = make_store()
            self.catalogs = [Catalog(self.store), Catalog(self.store)]
            self.root = self.catalogs[0].create_repo("model").root
            self.model = VersionModel(self.root)
            self.order = [self.root]
            self.instances = ["a", UNVERSIONED]
            self.catalogs[1].create_instance(self.root, "a", "test", {})
            self.catalogs[0].create_instance(self.root, UNVERSIONED, "test", {}, versioned=False)

        def teardown(self) -> None:
            (destroy or KVStore.close)(self.store)

        def pick(self, i: int, open_only: bool = False) -> str:
            """Node number ``i`` (modulo), among open nodes if asked and there are any."""
            pool = [u for u in self.order if not self.model.nodes[u].locked] if open_only else []
            pool = pool or self.order
            return pool[i % len(pool)]

        def cat(self, i: int) -> Catalog:
            return self.catalogs[i % 2]

        def refused_write(self, uuid: str, instance: str) -> bool:
            return instance != UNVERSIONED and self.model.nodes[uuid].locked

        @rule(
            n=index,
            o=st.booleans(),
            c=index,
            i=index,
            t=st.sampled_from(TKEYS),
            v=st.sampled_from(VALUES),
        )
        def put(self, n: int, o: bool, c: int, i: int, t: bytes, v: bytes) -> None:
            uuid, inst = self.pick(n, o), self.instances[i % len(self.instances)]
            view = self.cat(c).view(uuid, inst)
            if self.refused_write(uuid, inst):
                assert not view.writable
                with _raises(VersionLocked):
                    view.put_many([(t, v)])
            else:
                view.put_many([(t, v)])
                self.model.put(uuid, inst, t, v)

        @rule(n=index, c=index, t=st.sampled_from(TKEYS), v=st.sampled_from(VALUES))
        def put_then_commit(self, n: int, c: int, t: bytes, v: bytes) -> None:
            """A write session: one versioned write to an open node, then commit it."""
            uuid = self.pick(n, open_only=True)
            if not self.model.nodes[uuid].locked:
                self.cat(c).view(uuid, "a").put_many([(t, v)])
                self.model.put(uuid, "a", t, v)
                self.commit_node(uuid, c + 1)

        @rule(n=index, o=st.booleans(), c=index, i=index, t=st.sampled_from(TKEYS))
        def delete(self, n: int, o: bool, c: int, i: int, t: bytes) -> None:
            uuid, inst = self.pick(n, o), self.instances[i % len(self.instances)]
            view = self.cat(c).view(uuid, inst)
            if self.refused_write(uuid, inst):
                with _raises(VersionLocked):
                    view.delete_many([t])
            else:
                view.delete_many([t])
                self.model.delete(uuid, inst, t)

        @rule(n=index, o=st.booleans(), c=index, i=index, t=st.sampled_from(TKEYS))
        def append_in_transaction(self, n: int, o: bool, c: int, i: int, t: bytes) -> None:
            uuid, inst = self.pick(n, o), self.instances[i % len(self.instances)]
            view = self.cat(c).view(uuid, inst)

            def grow(txn: VersionedTxn) -> None:
                old = txn.get(t)
                txn.put(t, (old or b"") + b"+")
                assert txn.get(t) == (old or b"") + b"+"  # reads see the txn's writes

            if self.refused_write(uuid, inst):
                with _raises(VersionLocked):
                    view.transact(grow)
            else:
                view.transact(grow)
                self.model.put(uuid, inst, t, (self.model.read(uuid, inst, t) or b"") + b"+")

        def commit_node(self, uuid: str, c: int) -> None:
            assert self.cat(c).commit(uuid).locked
            self.model.nodes[uuid].locked = True

        @rule(n=index, c=index)
        def commit(self, n: int, c: int) -> None:
            uuid = self.pick(n)
            if self.model.nodes[uuid].locked:
                with _raises(InvalidRequest):
                    self.cat(c).commit(uuid)
            else:
                self.commit_node(uuid, c)

        @precondition(lambda self: len(self.order) < MAX_NODES)
        @rule(n=index, c=index, commit_first=st.booleans())
        def newversion(self, n: int, c: int, commit_first: bool) -> None:
            uuid = self.pick(n)
            node = self.model.nodes[uuid]
            if commit_first and not node.locked:
                self.commit_node(uuid, c)
            same = [x for x in node.children if self.model.nodes[x].branch == node.branch]
            if not node.locked or same:
                with _raises(InvalidRequest):
                    self.cat(c).newversion(uuid)
                return
            child = self.cat(c).newversion(uuid)
            assert child.branch == node.branch
            assert child.parents == (uuid,)
            self.model.add_child(child.uuid, (uuid,), node.branch)
            self.order.append(child.uuid)

        @precondition(lambda self: len(self.order) < MAX_NODES)
        @rule(
            n=index,
            c=index,
            name=st.sampled_from(["f", "g", "h", "master"]),
            commit_first=st.booleans(),
        )
        def branch(self, n: int, c: int, name: str, commit_first: bool) -> None:
            uuid = self.pick(n)
            if commit_first and not self.model.nodes[uuid].locked:
                self.commit_node(uuid, c)
            if not self.model.nodes[uuid].locked or name in self.model.branches:
                with _raises(InvalidRequest):
                    self.cat(c).branch(uuid, name)
                return
            child = self.cat(c).branch(uuid, name)
            self.model.branches.add(name)
            self.model.add_child(child.uuid, (uuid,), name)
            self.order.append(child.uuid)

        @precondition(lambda self: len(self.order) < MAX_NODES)
        @rule(n=index, c=index, t=st.sampled_from(TKEYS), v=st.sampled_from(VALUES))
        def fork_and_write(self, n: int, c: int, t: bytes, v: bytes) -> None:
            """Branch a fresh name off a node (committing it first) and write to the child."""
            uuid = self.pick(n)
            if not self.model.nodes[uuid].locked:
                self.commit_node(uuid, c)
            name = f"x{len(self.model.branches)}"
            child = self.cat(c).branch(uuid, name).uuid
            self.model.branches.add(name)
            self.model.add_child(child, (uuid,), name)
            self.order.append(child)
            self.cat(c + 1).view(child, "a").put_many([(t, v)])
            self.model.put(child, "a", t, v)

        @precondition(lambda self: len(self.order) < MAX_NODES)
        @rule(
            ns=st.lists(index, min_size=2, max_size=3),
            c=index,
            resolve=st.booleans(),
            commit_first=st.booleans(),
            leaves=st.booleans(),
        )
        def merge(
            self, ns: list[int], c: int, resolve: bool, commit_first: bool, leaves: bool
        ) -> None:
            pool = [u for u in self.order if not self.model.nodes[u].children] if leaves else []
            pool = pool if len(pool) > 1 else self.order
            parents = tuple(dict.fromkeys(pool[n % len(pool)] for n in ns))
            for p in parents if commit_first else ():
                if not self.model.nodes[p].locked:
                    self.commit_node(p, c)
            if len(parents) < 2 or not all(self.model.nodes[p].locked for p in parents):
                with _raises(InvalidRequest):
                    self.cat(c).merge(parents, resolve=resolve)
                return
            expected = self.model.conflicts(parents)
            if expected and not resolve:
                with _raises(MergeConflict) as caught:
                    self.cat(c).merge(parents)
                want = {inst: [t.hex() for t in ts] for inst, ts in expected.items()}
                assert isinstance(caught.error, MergeConflict)
                assert caught.error.report == want, (caught.error.report, want)
                return
            child = self.cat(c).merge(parents, resolve=resolve)
            assert child.branch == "master"
            assert child.parents == parents
            self.model.add_child(child.uuid, parents, "master")
            self.order.append(child.uuid)

        @precondition(lambda self: "b" not in self.instances)
        @rule(n=index, c=index)
        def create_instance(self, n: int, c: int) -> None:
            uuid = self.pick(n)
            if self.model.nodes[uuid].locked:
                with _raises(VersionLocked):
                    self.cat(c).create_instance(self.root, "b", "test", {}, at=uuid)
            else:
                self.cat(c).create_instance(self.root, "b", "test", {}, at=uuid)
                self.instances.insert(1, "b")

        @rule(a=index, b=index, c=index, i=index)
        def diff(self, a: int, b: int, c: int, i: int) -> None:
            ua, ub, inst = self.pick(a), self.pick(b), self.instances[i % len(self.instances)]
            want = [
                t for t in TKEYS if self.model.read(ua, inst, t) != self.model.read(ub, inst, t)
            ]
            assert self.cat(c).diff(ua, ub, inst) == want
            if inst != UNVERSIONED:  # write sets hold at least what each node wrote
                instance_id = self.cat(c).instance(self.root, inst).instance_id
                for uuid in (ua, ub):
                    own = {t for (i, t) in self.model.nodes[uuid].own if i == inst}
                    vid = self.cat(c).node(uuid).version_id
                    assert own <= writesets.written(self.store, instance_id, [vid])

        @invariant()
        def one_physical_key_per_version(self) -> None:
            """A write keeps one marker's key per (tkey, version): the other is deleted."""
            for inst in self.instances:
                info = self.catalogs[0].instance(self.root, inst)
                raw = self.store.scan(*instance_range(info.instance_id), keys_only=True)
                slots = [(tkey_of(k), version_of(k)) for k, _ in raw]
                assert len(slots) == len(set(slots)), slots

        @invariant()
        def reads_match_model(self) -> None:
            for k, uuid in enumerate(self.order):
                for inst in self.instances:
                    view = self.cat(k).view(uuid, inst)
                    want = [self.model.read(uuid, inst, t) for t in TKEYS]
                    assert view.get_many(TKEYS) == want, (uuid, inst, want)
                    assert [view.get(t) for t in TKEYS] == want
                    pairs = [(t, v) for t, v in zip(TKEYS, want, strict=True) if v is not None]
                    assert list(view.scan(b"", None)) == pairs
                    assert list(view.scan(b"k1", b"k3")) == [
                        p for p in pairs if b"k1" <= p[0] < b"k3"
                    ]

    return VersionedMachine


class _Caught:
    error: Exception


class _raises:  # lower case: reads like pytest.raises, without importing pytest
    """Context manager asserting that the block raises ``kind``."""

    def __init__(self, kind: type[Exception]) -> None:
        self.kind = kind
        self.caught = _Caught()

    def __enter__(self) -> _Caught:
        return self.caught

    def __exit__(
        self, tp: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> bool:
        if tp is None:
            raise AssertionError(f"expected {self.kind.__name__}, nothing was raised")
        if not issubclass(tp, self.kind):
            return False
        assert isinstance(exc, Exception)
        self.caught.error = exc
        return True
