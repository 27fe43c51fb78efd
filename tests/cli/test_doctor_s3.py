"""``voxhub doctor`` on S3 (the session's SeaweedFS): the same checks and repairs, through
the object store's listing and transactions."""

from __future__ import annotations

import numpy as np
import pytest

from voxhub.client import EmbeddedHub
from voxhub.datatypes.health import CheckOptions
from voxhub.datatypes.imageblk.keys import block_key
from voxhub.datatypes.labelmap.index import LabelIndex
from voxhub.datatypes.labelmap.keys import index_key
from voxhub.service.doctor import run_doctor
from voxhub.testing.seaweed import SeaweedServer
from voxhub.versioning.keys import data_key

pytestmark = pytest.mark.s3


def test_doctor_finds_and_repairs_on_s3(seaweed: SeaweedServer) -> None:
    store = seaweed.open_store()
    hub = EmbeddedHub(store)
    node = hub.create_repo("s3doc").master
    seg = node.create_labels("seg", block_shape=(8, 8, 8), max_scale=1)
    labels = np.zeros((8, 8, 16), np.uint64)
    labels[:, :, 8:] = 4
    labels[:, :4, :8] = 3
    seg[0:8, 0:8, 0:16] = labels
    service = hub.service
    assert run_doctor(service, options=CheckOptions(all_bodies=True)).ok
    info = hub.catalog.instance(node.uuid, "seg")
    version = hub.catalog.node(node.uuid).version_id
    store.put(
        data_key(info.instance_id, index_key(4), version),
        LabelIndex(4, {(0, 0, 0): {4: 1}}).encode(),
    )
    stale = data_key(info.instance_id, block_key(1, (0, 0, 0)), version)
    store.put(stale, store.get(data_key(info.instance_id, block_key(0, (0, 0, 0)), version)))
    found = run_doctor(service)
    assert {f.problem.check for f in found.findings} == {"index", "pyramid"}
    fixed = run_doctor(service, repair=True)
    assert fixed.ok, fixed.lines()
    assert any("label index" in r for r in fixed.repairs)
    assert seg.size(4) == 8 * 8 * 8
    store.close()
