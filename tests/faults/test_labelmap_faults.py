"""Label writes and merges stopped at every step: each is whole or absent, never torn.

After the fault (and, for a kill, a restart on the same data) the voxels, the label
index (body sizes), the mapping, the scale-1 pyramid and the label counter must all
agree with the state before the request or the state after it — the torn states a
``kill -9`` on S3 used to leave (a supervoxel whose voxels the mapping disowns, a body
counted twice, a pyramid block that is not the mean of scale 0, an id handed out again).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from voxhub import Box
from voxhub.client.embedded import EmbeddedHub
from voxhub.client.hub import Hub
from voxhub.testing.faults import FaultyStore, InjectedFault, Killed

from .conftest import Backend, destroy

BLOCK = (8, 8, 8)
NEW_ID = 500


def _setup(store: FaultyStore) -> str:
    hub = EmbeddedHub(store)
    repo = hub.create_repo("faults")
    labels = repo.master.create_labels("seg", block_shape=BLOCK, max_scale=1)
    labels[0:8, 0:8, 0:8] = 1
    return repo.root


def _write(hub: Hub, root: str) -> None:
    block = np.full((8, 8, 16), NEW_ID, np.uint64)
    block[:, :, :4] = 1
    hub.repo(root).master.labels("seg")[0:8, 8:16, 0:16] = block


def _state(hub: Hub, root: str) -> dict[str, Any]:
    labels = hub.repo(root).master.labels("seg")
    voxels = labels[0:16, 0:16, 0:16]
    ids = [int(i) for i in np.unique(voxels) if i]
    return {
        "voxels": voxels.tobytes(),
        "sizes": {i: labels.size(i) for i in ids},
        "counted": {i: int((voxels == i).sum()) for i in ids},
        "scale1": labels.read(Box((0, 0, 0), (8, 8, 8)), scale=1).tobytes(),
        "mapping": labels.mapping([1, NEW_ID]),
        "next_label": labels.next_labels(1)[0],
        "max_id": max(ids, default=0),
    }


def _consistent(state: dict[str, Any]) -> None:
    assert state["sizes"] == state["counted"]  # the index agrees with the voxels
    assert state["next_label"] > state["max_id"]  # the counter never lags the data


CASES: dict[str, tuple[Callable[[Hub, str], None], Callable[[Hub, str], None] | None]] = {
    "write": (_write, None),
    "merge": (lambda hub, root: hub.repo(root).master.labels("seg").merge(1, [NEW_ID]), _write),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("kill", [True, False], ids=["kill", "fail"])
def test_label_request_stopped_at_every_step_is_whole_or_absent(
    backend: Backend, case: str, kill: bool
) -> None:
    request, prepare = CASES[case]

    def fresh() -> tuple[FaultyStore, EmbeddedHub, str]:
        store = backend.faulty()
        root = _setup(store)
        hub = EmbeddedHub(store)
        if prepare is not None:
            prepare(hub, root)
        return store, hub, root

    store, hub, root = fresh()
    before = _state(hub, root)
    store.operations = 0
    request(hub, root)
    steps, after = store.operations, _state(hub, root)
    destroy(store)
    _consistent(before)
    _consistent(after)
    stride = 1 if backend.name == "lmdb" else max(1, steps // 8)  # S3 steps are slow
    for n in range(1, steps + 1, stride):
        store, hub, root = fresh()
        store.operations = 0
        (store.kill_at if kill else store.fail_at)(n)
        with contextlib.suppress(Killed, InjectedFault):
            request(hub, root)
        store.disarm()
        survivor = backend.restart(store) if kill else store
        state = _state(EmbeddedHub(survivor), root)
        _consistent(state)
        same = {k: v for k, v in state.items() if k not in ("next_label", "max_id")}
        assert same in (
            {k: v for k, v in before.items() if k not in ("next_label", "max_id")},
            {k: v for k, v in after.items() if k not in ("next_label", "max_id")},
        ), n
        destroy(survivor)
