"""Every labelmap mutation tells the instances that follow it exactly what changed, in
its own transaction: a recording follower (:mod:`.sync_recorder`) sees the change and the
mutation's own writes; its writes land with the mutation; its failure aborts it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import voxhub
from voxhub import Box
from voxhub.client.hub import Hub
from voxhub.datatypes.labelmap.instance import LabelInstance
from voxhub.datatypes.labelmap.rle import runs_from_mask
from voxhub.datatypes.sync import LabelChange, followers_of
from voxhub.errors import InvalidRequest

from .sync_recorder import TYPENAME, Recorder, install

SIDE = 16
FULL = Box((0, 0, 0), (SIDE, SIDE, SIDE))


class Labels:
    """A labelmap at an open node, followed by the recorder ``rec``."""

    def __init__(self, hub: Hub, recorder: Recorder) -> None:
        self.hub, self.recorder = hub, recorder
        node = hub.create_repo("sync").master
        node.create_labels("seg", block_shape=(8, 8, 8), max_scale=1)
        self.node_uuid = node.uuid
        catalog = hub.catalog
        catalog.create_instance(node.uuid, "rec", TYPENAME, {"sync": ["seg"]}, at=node.uuid)
        service = hub.service  # type: ignore[attr-defined]
        self.inst: LabelInstance = service.open_labels(
            node.uuid, catalog.instance(node.uuid, "seg")
        )

    def state(self) -> tuple[np.ndarray, dict[int, int]]:
        svs = self.inst.read(FULL, supervoxels=True)
        present = sorted({int(v) for v in np.unique(svs).tolist() if v})
        return svs, dict(zip(present, self.inst.mapping(present), strict=True))

    def follower_keys(self) -> list[bytes]:
        view = self.hub.catalog.view(self.node_uuid, "rec")
        return [k for k, _ in view.scan(b"", None, keys_only=True)]


def expected_change(
    before: tuple[np.ndarray, dict[int, int]], after: tuple[np.ndarray, dict[int, int]]
) -> LabelChange:
    """The change recounted from the voxels and the mapping before and after."""
    (old, old_map), (new, new_map) = before, after
    diff = old != new
    blocks = {
        (z, y, x)
        for z in range(2)
        for y in range(2)
        for x in range(2)
        if diff[z * 8 : z * 8 + 8, y * 8 : y * 8 + 8, x * 8 : x * 8 + 8].any()
    }
    bodies = {old_map.get(int(v), 0) for v in np.unique(old[diff]).tolist()}
    bodies |= {new_map.get(int(v), 0) for v in np.unique(new[diff]).tolist()}

    def members(table: dict[int, int]) -> dict[int, set[int]]:
        out: dict[int, set[int]] = {}
        for sv, body in table.items():
            out.setdefault(body, set()).add(sv)
        return out

    was, now = members(old_map), members(new_map)
    bodies |= {b for b in was.keys() | now.keys() if was.get(b) != now.get(b)}
    return LabelChange(frozenset(blocks), frozenset(bodies - {0}))


@pytest.fixture
def labels(monkeypatch: pytest.MonkeyPatch) -> Iterator[Labels]:
    hub = voxhub.open("memory://")
    yield Labels(hub, install(monkeypatch))
    hub.close()


def first_volume() -> np.ndarray:
    data = np.zeros((SIDE, SIDE, SIDE), np.uint64)
    data[:, :, :8] = 1
    data[:, :, 8:] = 2
    data[8:] = 4
    return data


def mask(box: Box) -> np.ndarray:
    out = np.zeros((SIDE, SIDE, SIDE), bool)
    out[tuple(slice(a, b) for a, b in zip(box.start, box.stop, strict=True))] = True
    return out


def runs(box: Box) -> np.ndarray:
    return runs_from_mask(mask(box), (0, 0, 0))


def block(value: int) -> np.ndarray:
    return np.full((8, 8, 8), value, np.uint64)


#: every mutation path, in an order where each one changes something
STEPS: list[tuple[str, Callable[[LabelInstance], Any]]] = [
    ("POST raw", lambda i: i.write((0, 0, 0), first_volume())),
    ("POST raw, a part", lambda i: i.write((0, 0, 6), np.full((2, 2, 4), 3, np.uint64))),
    ("merge", lambda i: i.merge(1, [2])),
    ("cleave", lambda i: i.cleave(1, [2])),
    ("split-supervoxel", lambda i: i.split_supervoxel(4, runs(Box((8, 0, 0), (10, 16, 16))))),
    ("split", lambda i: i.split(4, runs(Box((12, 0, 0), (16, 16, 4))))),
    ("renumber", lambda i: i.renumber([(100, 3)])),
    ("ingest-supervoxels", lambda i: i.ingest_blocks(0, {(0, 0, 0): block(7)})),
    ("POST blocks", lambda i: i.write_blocks({(0, 1, 0): block(9)})),
    # last: the label indexes do not follow POST mappings (DVID's pipelines POST them)
    ("POST mappings", lambda i: i.ingest_mappings({3: 1})),
]


def test_every_mutation_tells_its_exact_change(labels: Labels) -> None:
    rec = labels.recorder
    rec.probe = np.array([[0, 0, 6], [4, 4, 12], [9, 3, 3], [15, 15, 15]], np.int64)
    for n, (what, step) in enumerate(STEPS, start=1):
        before = labels.state()
        step(labels.inst)
        after = labels.state()
        assert len(rec.changes) == n, what
        assert rec.changes[-1] == expected_change(before, after), what
        # the follower saw the mutation's own writes: supervoxels, bodies, members
        svs, table = after
        probed = svs[tuple(rec.probe.T)]
        assert rec.probes[-1].tolist() == probed.tolist(), what
        assert rec.bodies[-1].tolist() == [table.get(int(v), 0) for v in probed.tolist()], what
        for body, members in rec.members[-1].items():  # what the label index says
            indexed = labels.inst.labels()
            assert members == (labels.inst.supervoxels(body) if body in indexed else []), what
        # and its own writes committed with the mutation
        assert len(labels.follower_keys()) == n, what


def test_a_change_that_changes_nothing_tells_nothing(labels: Labels) -> None:
    labels.inst.write((0, 0, 0), first_volume())
    labels.inst.write((0, 0, 0), first_volume()[:4])  # the same voxels again
    labels.inst.ingest_blocks(1, {(0, 0, 0): block(5)})  # a pyramid level only
    assert len(labels.recorder.changes) == 1


@pytest.mark.parametrize(("what", "step"), STEPS[1:], ids=[s[0] for s in STEPS[1:]])
def test_a_failing_follower_aborts_the_mutation(
    labels: Labels, what: str, step: Callable[[LabelInstance], Any]
) -> None:
    for _, earlier in STEPS[: [s[0] for s in STEPS].index(what)]:
        earlier(labels.inst)
    before, keys = labels.state(), labels.follower_keys()
    index_before = {b: labels.inst.index(b).blocks for b in labels.inst.labels()}
    labels.recorder.fail = True
    with pytest.raises(InvalidRequest, match="refuses"):
        step(labels.inst)
    after = labels.state()
    assert np.array_equal(before[0], after[0])
    assert before[1] == after[1]
    assert {b: labels.inst.index(b).blocks for b in labels.inst.labels()} == index_before
    assert labels.follower_keys() == keys


def test_nothing_follows_an_unsynced_labelmap(labels: Labels) -> None:
    catalog = labels.hub.catalog
    seg = catalog.instance(labels.node_uuid, "seg")
    assert [i.name for i in followers_of(labels.hub.service, seg)] == ["rec"]  # type: ignore[attr-defined]
    catalog.update_instance_config(seg.repo, "rec", lambda c: {})
    assert followers_of(labels.hub.service, seg) == ()  # type: ignore[attr-defined]
    labels.inst.write((0, 0, 0), first_volume())
    assert labels.recorder.changes == []


def test_post_indices_tells_the_bodies_it_stored(labels: Labels) -> None:
    labels.inst.write((0, 0, 0), first_volume())
    labels.inst.ingest_indices([labels.inst.index(2), labels.inst.index(4)])
    assert labels.recorder.changes[-1] == LabelChange(frozenset(), frozenset({2, 4}))
    assert labels.recorder.members[-1] == {2: [2], 4: [4]}
