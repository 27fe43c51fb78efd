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
from voxhub.storage.s3_store import S3Store
from voxhub.testing.seaweed import SeaweedServer

pytestmark = pytest.mark.s3

CHILD = r"""
import os, signal, sys
import numpy as np
import obstore
from voxhub.client.embedded import EmbeddedHub
from voxhub.storage import open_store

store = open_store(sys.argv[1])
last, step = int(sys.argv[2]), int(sys.argv[3])
writes = [0]

def killing(request):
    def wrapper(*args, **kwargs):
        writes[0] += 1
        if armed and writes[0] == step:
            os.kill(os.getpid(), signal.SIGKILL)
        return request(*args, **kwargs)
    return wrapper

armed = False
obstore.put, obstore.delete = killing(obstore.put), killing(obstore.delete)
labels = EmbeddedHub(store).repo("kill9").master.labels("seg")
for i in range(last + 1):
    armed = i == last
    writes[0] = 0
    z = 8 * (i % 2)
    labels[z : z + 8, 0:16, 0:16] = np.full((8, 16, 16), 100 + i, np.uint64)
    if i % 3 == 2:
        labels.merge(100 + i, [100 + i - 1])
print("not killed", writes[0], flush=True)
"""


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
def test_kill_9_during_label_writes_and_merges(seaweed: SeaweedServer, step: int) -> None:
    prefix = f"kill9-{uuid.uuid4().hex}"
    with EmbeddedHub(_store(seaweed, prefix)) as hub:
        hub.create_repo("kill9").master.create_labels("seg", block_shape=(8, 8, 8), max_scale=1)
        spec = hub.store.spec()
    env = dict(
        os.environ, AWS_ACCESS_KEY_ID=seaweed.access_key, AWS_SECRET_ACCESS_KEY=seaweed.secret_key
    )
    last = 5  # a label write and a merge (5 % 3 == 2): killed at object write `step`
    child = subprocess.run(
        [sys.executable, "-c", CHILD, spec, str(last), str(step)],
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
