"""The label index stays exact: after any sequence of writes and mutations, at every node
of a branched DAG, it equals a recount from the voxels through the mapping."""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import voxhub
from voxhub import Box
from voxhub.client.labels import LabelVolume
from voxhub.datatypes.labelmap.rle import runs_from_mask
from voxhub.errors import Conflict, InvalidRequest, NotFound, VersionLocked

SIDE = 24
BLOCK = (8, 8, 8)
FULL = Box((0, 0, 0), (SIDE, SIDE, SIDE))
IDS = [1, 2, 3, 5, 2**40 + 7, 2**64 - 2]  # 64-bit ids end to end


def recount(lv: LabelVolume) -> dict[int, dict[tuple[int, int, int], dict[int, int]]]:
    """``{body: {block: {sv: voxels}}}`` counted from the voxels."""
    svs = lv.read(FULL, supervoxels=True)
    out: dict[int, dict[tuple[int, int, int], dict[int, int]]] = defaultdict(dict)
    present = sorted({int(v) for v in np.unique(svs).tolist() if v})
    bodies = dict(zip(present, lv.mapping(present), strict=True))
    for bz in range(SIDE // 8):
        for by in range(SIDE // 8):
            for bx in range(SIDE // 8):
                block = svs[bz * 8 : bz * 8 + 8, by * 8 : by * 8 + 8, bx * 8 : bx * 8 + 8]
                labels, counts = np.unique(block, return_counts=True)
                for sv, n in zip(labels.tolist(), counts.tolist(), strict=True):
                    if sv:
                        out[bodies[sv]].setdefault((bz, by, bx), {})[sv] = n
    return dict(out)


def indexed(lv: LabelVolume) -> dict[int, dict[tuple[int, int, int], dict[int, int]]]:
    inst = lv._instance
    return {body: inst.index(body).blocks for body in lv.labels()}


def check_node(lv: LabelVolume) -> None:
    counted = recount(lv)
    assert indexed(lv) == counted
    svs = lv.read(FULL, supervoxels=True)
    unique, inverse = np.unique(svs, return_inverse=True)
    table = np.array(
        [
            0 if v == 0 else b
            for v, b in zip(unique.tolist(), lv.mapping(unique.tolist()), strict=True)
        ],
        dtype=np.uint64,
    )
    assert np.array_equal(lv.read(FULL), table[inverse].reshape(svs.shape))
    for body, blocks in counted.items():
        assert lv.size(body) == sum(n for c in blocks.values() for n in c.values())


ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("write"),
            st.tuples(*[st.integers(0, SIDE - 1)] * 3),
            st.tuples(*[st.integers(1, 10)] * 3),
            st.sampled_from([*IDS, 0]),
            st.sampled_from(IDS),
        ),
        st.tuples(
            st.just("merge"), st.sampled_from(IDS), st.lists(st.sampled_from(IDS), max_size=2)
        ),
        st.tuples(
            st.just("cleave"), st.sampled_from(IDS), st.lists(st.sampled_from(IDS), max_size=3)
        ),
        st.tuples(st.just("branch"), st.integers(0, 10)),
        st.tuples(
            st.sampled_from(["split", "split-supervoxel"]),
            st.sampled_from(IDS),
            st.tuples(*[st.integers(0, SIDE - 1)] * 3),
            st.tuples(*[st.integers(1, 16)] * 3),
        ),
        st.tuples(st.just("renumber"), st.sampled_from(IDS), st.integers(100, 110)),
    ),
    max_size=12,
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_index_equals_recount_at_every_node(program: list[tuple]) -> None:  # type: ignore[type-arg]
    hub = voxhub.open("memory://")
    root = hub.create_repo("seg").master
    root.create_labels("seg", block_shape=BLOCK, max_scale=1)
    nodes = [root]
    current = root
    for op in program:
        lv = current.labels("seg")
        before = (indexed(lv), lv.read(FULL, supervoxels=True).copy())
        try:
            if op[0] == "write":
                _, start, shape, a, b = op
                box = Box.from_shape(shape, start).intersect(FULL)
                pattern = np.where(np.indices(box.shape).sum(axis=0) % 2 == 0, a, b)
                lv.write(box.start, pattern.astype(np.uint64))
            elif op[0] == "merge":
                lv.merge(op[1], op[2])
            elif op[0] == "cleave":
                lv.cleave(op[1], op[2])
            elif op[0] in ("split", "split-supervoxel"):
                box = Box.from_shape(op[3], op[2]).intersect(FULL)
                runs = runs_from_mask(np.ones(box.shape, bool), box.start)
                if op[0] == "split":
                    lv.split(op[1], runs)
                else:
                    lv.split_supervoxel(op[1], runs)
            elif op[0] == "renumber":
                lv.renumber({op[1]: op[2]})
            else:  # commit this node and branch off it (every node stays checked)
                check_node(lv)  # final state of the node being committed
                current.commit()
                current = current.branch(f"b{len(nodes)}") if op[1] % 2 else current.newversion()
                nodes.append(current)
                continue
        except (InvalidRequest, NotFound, VersionLocked, Conflict):
            after = (indexed(lv), lv.read(FULL, supervoxels=True))
            assert after[0] == before[0]  # a refused mutation changed nothing
            assert np.array_equal(after[1], before[1])
        check_node(current.labels("seg"))
    for node in nodes:  # committed nodes kept their state while their children changed
        check_node(node.labels("seg"))
    hub.close()


def test_mutations_are_refused_with_reasons() -> None:
    hub = voxhub.open("memory://")
    node = hub.create_repo("seg").master
    lv = node.create_labels("seg", block_shape=BLOCK)
    lv[0:8, 0:8, 0:8] = np.repeat([1, 2, 3, 4], 2).reshape(1, 1, 8)
    with pytest.raises(InvalidRequest, match="protected background"):
        lv.merge(0, [1])
    with pytest.raises(NotFound, match="9"):
        lv.merge(1, [9])
    with pytest.raises(InvalidRequest, match="itself"):
        lv.merge(1, [1])
    with pytest.raises(InvalidRequest, match="empty"):
        lv.cleave(1, [1])
    with pytest.raises(InvalidRequest, match="not part of"):
        lv.cleave(1, [2])
    lv.merge(1, [2, 3])
    new = lv.cleave(1, [3]).cleaved_body
    assert new > 4  # from the label counter, above every id written
    assert lv.supervoxels(1) == [1, 2]
    assert lv.supervoxels(new) == [3]
    assert lv.size(3, supervoxels=True) == 128
    assert lv.bbox(new) == Box((0, 0, 4), (8, 8, 6))
    record = lv.lastmod(new)
    assert record["last mod app"] == "voxhub-python"
    assert [m["Action"] for m in lv.mutations()] == ["merge-complete", "cleave-complete"]
    assert lv.mutations()[0]["MutationID"] == 1_000_000_001
    node.commit()
    with pytest.raises(VersionLocked):
        lv.merge(1, [4])
    child = node.newversion()
    child.labels("seg").merge(1, [4])
    assert node.labels("seg").supervoxels(1) == [1, 2]  # the committed parent keeps its mapping
    assert child.labels("seg").supervoxels(1) == [1, 2, 4]


def test_next_labels_are_disjoint_and_above_written_ids() -> None:
    hub = voxhub.open("memory://")
    root = hub.create_repo("seg").master
    lv = root.create_labels("seg", block_shape=BLOCK)
    lv[0:1, 0:1, 0:1] = 1000
    a = lv.next_labels(10)
    root.commit()
    b = root.branch("other").labels("seg").next_labels(5)  # another branch, same counter
    c = root.newversion().labels("seg").next_labels(1)
    assert a.start > 1000
    assert set(a).isdisjoint(b)
    assert set(b).isdisjoint(c)
    assert set(a).isdisjoint(c)


def test_splits_move_exactly_the_voxels_inside_the_runs() -> None:
    hub = voxhub.open("memory://")
    lv = hub.create_repo("seg").master.create_labels("seg", block_shape=BLOCK)
    lv[0:16, 0:16, 0:16] = 7
    lv[0:16, 0:16, 8:16] = 8
    lv.merge(7, [8])
    inside = Box((4, 4, 4), (12, 12, 12))  # cuts both supervoxels
    runs = runs_from_mask(np.ones(inside.shape, bool), inside.start)
    new = lv.split(7, runs).new_body
    bodies = lv.read(Box((0, 0, 0), (16, 16, 16)))
    assert (bodies[4:12, 4:12, 4:12] == new).all()
    assert (bodies == new).sum() == inside.size
    assert lv.size(7) == 16**3 - inside.size
    assert 7 not in lv.mapping([7])
    assert lv.mapping([7]) == [0]
    a, b, _ = lv.split_supervoxel(
        lv.sv[0, 0, 0], runs_from_mask(np.ones((1, 1, 1), bool), (0, 0, 0))
    )
    assert lv.sv[0, 0, 0] == a
    assert lv.size(a, supervoxels=True) == 1
    assert lv.mapping([a, b]) == [7, 7]


def test_huge_ids_in_a_write_do_not_hide_the_others_from_the_counter() -> None:
    hub = voxhub.open("memory://")
    lv = hub.create_repo("seg").master.create_labels("seg", block_shape=BLOCK)
    data = np.repeat(np.array([1, 2, 3, 2**64 - 5], np.uint64), 2).reshape(1, 1, 8)
    lv[0:1, 0:1, 0:8] = data
    lv.merge(1, [2])
    new = lv.cleave(1, [2]).cleaved_body
    assert new not in (1, 2, 3, 2**64 - 5)
    assert new > 3


def test_concurrent_reservations_are_disjoint(tmp_path: Path) -> None:
    path = str(tmp_path / "store")
    with voxhub.open(path) as hub:
        root = hub.create_repo("seg").master
        root.create_labels("seg", block_shape=BLOCK)
        uuid = root.uuid

    def reserve(_: int) -> list[int]:
        with voxhub.open(path) as own:  # each worker opens the store itself
            lv = own.node(uuid).labels("seg")
            return [i for _ in range(20) for i in lv.next_labels(3)]

    with ThreadPoolExecutor(4) as pool:
        got = [i for ids in pool.map(reserve, range(4)) for i in ids]
    assert len(got) == len(set(got)) == 4 * 20 * 3
