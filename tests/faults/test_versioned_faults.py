"""The versioned state machine on a fault-injecting store, on LMDB and real SeaweedFS.

The machine of :mod:`voxhub.testing.versioned` (all its rules and invariants) gains one
rule: a multi-key write during which the store fails or is killed at a random step (on
S3 that can be any request of the commit protocol). After it — and after a restart on
the same data when the fault was a kill — every node must read as the model says: the
write landed whole (it passed its commit point) or not at all, and a write whose failure
the caller saw left nothing behind.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import rule, run_state_machine_as_test

from voxhub.testing.faults import FaultyStore, InjectedFault, Killed
from voxhub.testing.seaweed import SeaweedServer
from voxhub.testing.versioned import TKEYS, VALUES, versioned_state_machine
from voxhub.versioning.catalog import Catalog

from .conftest import Backend, destroy, lmdb_backend, s3_backend


def faulty_machine(backend: Backend) -> type:
    base = versioned_state_machine(backend.faulty, destroy)

    class FaultyVersionedMachine(base):  # type: ignore[misc,valid-type]
        def write_with_a_fault(self, n: int, c: int, step: int, kill: bool, v: bytes) -> None:
            uuid = self.pick(n, open_only=True)
            if self.model.nodes[uuid].locked:
                return
            store: FaultyStore = self.store
            items = [(t, v + t) for t in TKEYS]  # several keys: all or none must land
            values = [value for _, value in items]
            before = [self.model.read(uuid, "a", t) for t in TKEYS]
            (store.kill_at if kill else store.fail_at)(step)
            try:
                self.cat(c).view(uuid, "a").put_many(items)
                raised = False
            except (Killed, InjectedFault):
                raised = True
            store.disarm()
            if store.dead:  # the process "died": a new one opens the same data
                self.store = backend.restart(store)
                self.catalogs = [Catalog(self.store), Catalog(self.store)]
                if self.store.inner is not store.inner:
                    store.inner.close()
            else:  # locks the failed write could not release block only until their lease ends
                backend.lapse(store)
            got = self.cat(c).view(uuid, "a").get_many(TKEYS)
            if got == values and before != values:
                assert not (raised and not kill), "a failed write was applied"
                for t, value in items:
                    self.model.put(uuid, "a", t, value)
            # otherwise the invariant checks that every node still reads as before

    # The base machine has a dozen rules; the faulty write is registered under several
    # names so that Hypothesis picks it about as often as all the others together.
    fault = rule(
        n=st.integers(0, 63),
        c=st.integers(0, 63),
        step=st.integers(1, 24),
        kill=st.booleans(),
        v=st.sampled_from(VALUES),
    )
    for i in range(8):

        def faulty(self: Any, n: int, c: int, step: int, kill: bool, v: bytes) -> None:
            self.write_with_a_fault(n, c, step, kill, v)

        setattr(FaultyVersionedMachine, f"faulty_write_{i}", fault(faulty))

    return FaultyVersionedMachine


SETTINGS = settings(
    max_examples=8,
    stateful_step_count=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

TestLmdbFaults = faulty_machine(lmdb_backend()).TestCase
TestLmdbFaults.settings = SETTINGS


@pytest.mark.s3
def test_versioned_machine_with_faults_on_s3(seaweed: SeaweedServer) -> None:
    run_state_machine_as_test(
        faulty_machine(s3_backend(seaweed)),
        settings=settings(SETTINGS, max_examples=3),
    )
