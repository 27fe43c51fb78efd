"""Label writes and ingests prepare whole blocks before their transaction (counted,
encoded, reduced on the pool) and fill partial ones inside it: whatever mix they bring,
the stored voxels, label index, pyramid, maxlabel and label counter end up as if each
voxel had been written one by one."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import voxhub
from voxhub import Box
from voxhub.codecs import cseg_cells
from voxhub.datatypes.labelmap.downsample import downsample_labels
from voxhub.errors import InvalidRequest
from voxhub.geometry import Vec3
from voxhub.versioning.counters import SEEN_LIMIT

SIDE = 32
FULL = Box((0, 0, 0), (SIDE, SIDE, SIDE))
IDS = [1, 9, 2**32 + 1, 2**40 + 7, 2**63 - 1, 2**63 + 5, 2**64 - 2]
ids = st.sampled_from([0, *IDS])
corner = st.tuples(*[st.integers(0, SIDE - 1)] * 3)
extent = st.tuples(*[st.integers(1, 20)] * 3)
block_coord = st.tuples(*[st.integers(0, SIDE // 8 - 1)] * 3)
writes = st.lists(
    st.one_of(
        st.tuples(st.just("box"), corner, extent, st.lists(ids, min_size=1, max_size=4)),
        st.tuples(st.sampled_from(["blocks", "ingest"]),
                  st.lists(block_coord, min_size=1, max_size=4, unique=True),
                  st.lists(ids, min_size=1, max_size=3)),
    ),
    min_size=1,
    max_size=6,
)  # fmt: skip


def pattern(shape: tuple[int, ...], palette: list[int]) -> np.ndarray:
    z, y, x = np.indices(shape)
    table = np.array(palette, np.uint64)
    return table[(z // 3 + y // 2 + x) % len(palette)]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=writes)
def test_writes_keep_voxels_index_pyramid_and_counters_exact(program: list[tuple]) -> None:  # type: ignore[type-arg]
    hub = voxhub.open("memory://")
    lv = hub.create_repo("w").master.create_labels("seg", block_shape=(8, 8, 8), max_scale=1)
    expect = np.zeros((SIDE, SIDE, SIDE), np.uint64)
    written = 0
    for op in program:
        if op[0] == "box":
            box = Box.from_shape(op[2], op[1]).intersect(FULL)
            data = pattern(box.shape, op[3])
            lv.write(box.start, data)
            expect[box.relative_to((0, 0, 0))] = data
            written = max(written, int(data.max()))
        else:
            blocks: dict[Vec3, np.ndarray] = {}
            for c in op[1]:
                blocks[c] = pattern((8, 8, 8), op[2][: 1 + sum(c) % len(op[2])])
                zyx = tuple(slice(k * 8, k * 8 + 8) for k in c)
                expect[zyx] = blocks[c]
                written = max(written, int(blocks[c].max()))
            if op[0] == "blocks":
                lv.write_blocks(blocks)
            else:  # ingest-supervoxels: the same index and counters, no pyramid
                lv.ingest_supervoxels(blocks)
    np.testing.assert_array_equal(lv.read(FULL, supervoxels=True), expect)
    if all(op[0] != "ingest" for op in program):
        np.testing.assert_array_equal(
            lv.read(Box((0, 0, 0), (SIDE // 2,) * 3), scale=1, supervoxels=True),
            downsample_labels(expect, (2, 2, 2)),
        )
    indexed = {body: lv._instance.index(body).blocks for body in lv.labels()}
    counted: dict[int, dict[Vec3, dict[int, int]]] = {}
    for bz, by, bx in np.ndindex(SIDE // 8, SIDE // 8, SIDE // 8):
        block = expect[bz * 8 : bz * 8 + 8, by * 8 : by * 8 + 8, bx * 8 : bx * 8 + 8]
        for sv, n in zip(*np.unique(block, return_counts=True), strict=True):
            if sv:
                counted.setdefault(int(sv), {}).setdefault((bz, by, bx), {})[int(sv)] = int(n)
    assert indexed == counted
    assert lv.maxlabel() == written
    below = [i for i in np.unique(expect).tolist() if i < SEEN_LIMIT]
    assert lv.next_labels(1).start > max(below, default=0)
    hub.close()


def test_a_refused_block_write_changes_nothing() -> None:
    hub = voxhub.open("memory://")
    lv = hub.create_repo("w").master.create_labels("seg", block_shape=(8, 8, 8))
    good = np.full((8, 8, 8), 7, np.uint64)
    try:
        lv.write_blocks({(0, 0, 0): good, (0, 0, 1): np.ones((8, 8, 4), np.uint64)})
    except InvalidRequest:
        pass
    else:  # pragma: no cover
        raise AssertionError("a block of the wrong shape was accepted")
    assert lv.labels() == []
    assert not lv.read(Box((0, 0, 0), (8, 8, 16)), supervoxels=True).any()
    hub.close()


@pytest.mark.parametrize("many_ids", [False, True])
def test_blocks_of_views_and_of_very_many_ids_store_their_voxels_and_counts(
    monkeypatch: pytest.MonkeyPatch, many_ids: bool
) -> None:
    """A block past ``cseg_cells.MAX_LABELS`` ids is encoded by the package instead: the
    same voxels and counts either way; whole blocks come as views into the write."""
    if many_ids:
        monkeypatch.setattr(cseg_cells, "MAX_LABELS", 3)
    hub = voxhub.open("memory://")
    lv = hub.create_repo("w").master.create_labels("seg", block_shape=(8, 8, 8), max_scale=1)
    data = pattern((16, 16, 24), IDS)
    lv.write((0, 0, 0), data[:, :, 4:20])  # a view: x not starting at 0
    np.testing.assert_array_equal(
        lv.read(Box((0, 0, 0), (16, 16, 16)), supervoxels=True), data[:, :, 4:20]
    )
    np.testing.assert_array_equal(
        lv.read(Box((0, 0, 0), (8, 8, 8)), scale=1, supervoxels=True),
        downsample_labels(data[:, :, 4:20], (2, 2, 2)),
    )
    sizes = {body: lv._instance.index(body).voxels() for body in lv.labels()}
    ids, counts = np.unique(data[:, :, 4:20], return_counts=True)
    assert sizes == {int(i): int(n) for i, n in zip(ids, counts, strict=True) if i}
    hub.close()
