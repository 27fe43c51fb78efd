"""A real ``kill -9`` of a process writing and merging labels on S3 leaves no torn state.

This is the trial that found torn state before S3 transactions had intents: a child
process writes label blocks and merges bodies on SeaweedFS and is killed with SIGKILL in
the middle of a request — by itself, just before a chosen object write (PUT or DELETE) of that
request, so the kill lands at a known step of the commit (a lock, the
intent, one of the keys, the clean-up). A fresh process then opens the store and checks
that the label index agrees with the voxels and the mapping, the scale-1 pyramid follows
scale 0, and the label counter is above every id in the data.
"""

from __future__ import annotations

import inspect
import os
import signal
import subprocess
import sys
import time
import uuid

import numpy as np
import pytest

from voxhub import Box
from voxhub.client.embedded import EmbeddedHub
from voxhub.client.labels import LabelVolume
from voxhub.storage.s3_store import S3Store
from voxhub.testing.seaweed import SeaweedServer

pytestmark = pytest.mark.s3

#: the requests before the killed one: bodies 100..104 written, 101 and 104 merged in
LAST = 5


def _request(labels: LabelVolume, i: int) -> None:
    """Request ``i`` of the series: a label write, and a merge when ``i % 3 == 2``."""
    z = 8 * (i % 2)
    labels[z : z + 8, 0:16, 0:16] = np.full((8, 16, 16), 100 + i, np.uint64)
    if i % 3 == 2:
        labels.merge(100 + i, [100 + i - 1])


# The child opens the store the earlier requests built and runs request LAST (a write and
# a merge), killing itself just before object write number `step` of it.
CHILD = (
    r"""
import os, signal, sys
import numpy as np
import obstore
from voxhub.client.embedded import EmbeddedHub
from voxhub.storage import open_store

store = open_store(sys.argv[1])
step = int(sys.argv[2])
writes = [0]

def killing(request):
    def wrapper(*args, **kwargs):
        writes[0] += 1
        if writes[0] == step:
            os.kill(os.getpid(), signal.SIGKILL)
        return request(*args, **kwargs)
    return wrapper

labels = EmbeddedHub(store).repo("kill9").master.labels("seg")
obstore.put, obstore.delete = killing(obstore.put), killing(obstore.delete)
"""
    + inspect.getsource(_request).replace("labels: LabelVolume", "labels")
    + f"""
_request(labels, {LAST})
print("not killed", writes[0], flush=True)
"""
)


@pytest.fixture(scope="module")
def before_the_kill(seaweed: SeaweedServer) -> list[tuple[bytes, bytes]]:
    """Every key of a store where requests 0..LAST-1 ran: built once, copied per step."""
    store = _store(seaweed, f"kill9-{uuid.uuid4().hex}")
    with EmbeddedHub(store) as hub:
        labels = hub.create_repo("kill9").master.create_labels(
            "seg", block_shape=(8, 8, 8), max_scale=1
        )
        for i in range(LAST):
            _request(labels, i)
        return [(k, v) for k, v in store.scan(b"", None) if v is not None]


def _store(server: SeaweedServer, prefix: str, *, after_leases: bool = False) -> S3Store:
    """A store on ``prefix``; ``after_leases``: opened once every lease taken so far ran
    out (its clock runs a lease ahead), as the checker of a crash that happened earlier —
    the killed writer's locks expire deterministically, without waiting 30 s for them."""
    store = server.open_store(prefix)
    if after_leases:
        ahead = store.txn_lease_s + 1.0
        store.clock = lambda: time.time() + ahead
    return store


@pytest.mark.parametrize("step", [2, 5, 10, 20, 30, 45])
def test_kill_9_during_label_writes_and_merges(
    seaweed: SeaweedServer, before_the_kill: list[tuple[bytes, bytes]], step: int
) -> None:
    prefix = f"kill9-{uuid.uuid4().hex}"
    store = _store(seaweed, prefix)
    store.put_many(before_the_kill)
    spec = store.spec()
    store.close()
    env = dict(
        os.environ, AWS_ACCESS_KEY_ID=seaweed.access_key, AWS_SECRET_ACCESS_KEY=seaweed.secret_key
    )
    child = subprocess.run(
        [sys.executable, "-c", CHILD, spec, str(step)],
        capture_output=True,
        env=env,
        text=True,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stdout + child.stderr

    with EmbeddedHub(_store(seaweed, prefix, after_leases=True)) as hub:  # a new process
        labels = hub.repo("kill9").master.labels("seg")
        voxels = labels[0:16, 0:16, 0:16]
        supervoxels = labels.read(Box((0, 0, 0), (16, 16, 16)), supervoxels=True)
        bodies = [int(i) for i in np.unique(voxels) if i]
        for body in bodies:
            assert labels.size(body) == int((voxels == body).sum()), body
        for sv in (int(i) for i in np.unique(supervoxels) if i):
            body = labels.mapping([sv])[0]
            assert body in bodies, (sv, body)
            assert labels.size(sv, supervoxels=True) == int((supervoxels == sv).sum()), sv
        half = labels.read(Box((0, 0, 0), (8, 8, 8)), scale=1, supervoxels=True)
        assert np.array_equal(half, supervoxels[::2, ::2, ::2])  # uniform 2x2x2 cells
        assert labels.next_labels(1)[0] > int(supervoxels.max())
