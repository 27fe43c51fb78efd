"""A transaction killed or failed at every step of its commit is all or nothing."""

from __future__ import annotations

import pytest

from voxhub.storage.base import Txn
from voxhub.testing.faults import FaultyStore, InjectedFault, Killed
from voxhub.versioning.catalog import Catalog

from .conftest import Backend, destroy

BEFORE = {b"a": b"old-a", b"b": b"old-b", b"d": b"old-d"}
AFTER = {b"a": b"new-a", b"b": b"new-b", b"c": b"new-c"}  # d deleted, c created


def _write(txn: Txn) -> None:
    assert txn.get(b"a") == b"old-a"
    txn.put(b"a", b"new-a")
    txn.put(b"b", b"new-b")
    txn.put(b"c", b"new-c")
    txn.delete(b"d")


def _state(store: FaultyStore) -> dict[bytes, bytes | None]:
    return dict(store.scan(b"", None))


def _steps(backend: Backend) -> int:
    """How many counted write operations one clean commit takes."""
    store = backend.faulty()
    store.inner.put_many(BEFORE.items())
    store.transact(_write)
    assert _state(store) == AFTER
    destroy(store)
    return store.operations


@pytest.mark.parametrize("kill", [True, False], ids=["kill", "fail"])
def test_commit_stopped_at_every_step_is_all_or_nothing(backend: Backend, kill: bool) -> None:
    steps = _steps(backend)
    assert steps >= (1 if backend.name == "lmdb" else 6)  # S3: locks, intent, keys...
    outcomes = []
    for n in range(1, steps + 1):
        store = backend.faulty()
        store.inner.put_many(BEFORE.items())
        store.operations = 0
        (store.kill_at if kill else store.fail_at)(n)
        try:
            store.transact(_write)
            raised = False
        except (Killed, InjectedFault):
            raised = True
        store.disarm()  # a retried commit may take more steps than the clean run
        after = backend.restart(store) if kill else store
        state = _state(after)  # reads through a restarted store: recovery ran
        assert state in (BEFORE, AFTER), (n, state)
        if raised and not kill:  # a failure the caller saw left nothing behind
            assert state == BEFORE, n
        outcomes.append(state == AFTER)
        # the keys are usable again once the leases of the dead or failed writer's locks
        # ran out (a restart comes after them; a failed writer's run out here)
        if not kill:
            backend.lapse(after)
        after.transact(lambda txn: txn.put(b"a", b"later"))
        assert after.get(b"a") == b"later"
        destroy(after)
    if backend.name == "s3" and kill:
        assert not outcomes[0]  # killed before the commit point: nothing
        assert outcomes[-1]  # killed after it: finished by the restarted store


def test_versioned_read_right_after_a_fault_is_whole(backend: Backend) -> None:
    """A read of several keys at once (parallel listings) right after a commit failed
    anywhere shows it whole: each listing that meets the commit's locks lists again."""
    tkeys = [b"k0", b"k1", b"k2"]
    items = [(t, b"new-" + t) for t in tkeys]
    for n in range(1, 25):
        store = backend.faulty()
        catalog = Catalog(store)
        root = catalog.create_repo("whole").root
        catalog.create_instance(root, "a", "test", {})
        store.operations = 0
        store.fail_at(n)
        try:
            catalog.view(root, "a").put_many(items)
            raised = False
        except InjectedFault:
            raised = True
        store.disarm()
        got = Catalog(store).view(root, "a").get_many(tkeys)
        assert got in ([None] * 3, [v for _, v in items]), (n, got)
        assert not (raised and got[0] is not None), n
        destroy(store)
