"""annotation elements across versions: committed nodes refuse writes, merges merge
element by element (conflicts name elements), label views are rebuilt at merge nodes,
diffs name elements."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import voxhub
from voxhub.client import Node
from voxhub.errors import MergeConflict, VersionLocked

from .conftest import segmentation, synapse


@pytest.fixture
def root() -> Iterator[Node]:
    with voxhub.open("memory://") as hub:
        node = hub.create_repo("v").master
        node.create_labels("seg", block_shape=(16, 16, 16)).write((0, 0, 0), segmentation())
        node.create_annotations("syn", sync="seg", block_shape=(16, 16, 16))
        node.annotations("syn").add(synapse([1, 2, 3], [[20, 2, 3], [5, 6, 7]]))
        node.commit()
        yield node


def zyx(elements: object) -> list[list[int]]:
    return sorted(elements.positions.tolist())  # type: ignore[attr-defined]


def branches(root: Node) -> tuple[Node, Node]:
    return root.newversion(), root.branch("side")


def test_committed_nodes_refuse_writes(root: Node) -> None:
    ann = root.annotations("syn")
    with pytest.raises(VersionLocked):
        ann.add([{"Pos": [0, 0, 0]}])
    with pytest.raises(VersionLocked):
        ann.delete((3, 2, 1))
    with pytest.raises(VersionLocked):
        ann.move((3, 2, 1), (3, 2, 2))
    assert zyx(ann.label(1)) == [[3, 2, 1], [7, 6, 5]]


def test_different_elements_of_one_block_merge_and_label_views_are_rebuilt(root: Node) -> None:
    a, b = branches(root)
    a.annotations("syn").add([{"Pos": [2, 2, 2], "Kind": "Note"}])
    b.annotations("syn").add([{"Pos": [3, 3, 3], "Kind": "Note"}])
    b.labels("seg").merge(1, [2])
    b.annotations("syn").delete((7, 6, 5))
    a.commit(), b.commit()
    merged = a.merge(b)
    ann = merged.annotations("syn")
    assert zyx(ann.all()) == [[2, 2, 2], [3, 2, 1], [3, 2, 20], [3, 3, 3]]
    assert zyx(ann.label(1)) == zyx(ann.all())  # the merge of bodies came from b
    pre = next(e for e in ann.all() if e["Kind"] == "PreSyn")
    assert pre["Rels"] == [{"Rel": "PreSynTo", "To": [20, 2, 3]}]
    # the PreSyn lost a partner, a Note came, a PostSyn went (in z, y, x order)
    changed = ["element at [1, 2, 3]", "element at [3, 3, 3]", "element at [5, 6, 7]"]
    assert merged.diff(a, "syn") == changed


def test_an_element_changed_on_both_sides_is_a_conflict_naming_it(root: Node) -> None:
    a, b = branches(root)
    a.annotations("syn").add([{"Pos": [5, 6, 7], "Kind": "PostSyn", "Tags": ["a"]}])
    b.annotations("syn").add([{"Pos": [5, 6, 7], "Kind": "PostSyn", "Tags": ["b"]}])
    b.annotations("syn").add([{"Pos": [9, 9, 9]}])
    a.commit(), b.commit()
    with pytest.raises(MergeConflict) as e:
        a.merge(b)
    assert e.value.report == {"syn": ["element at [5, 6, 7]"]}
    merged = a.merge(b, resolve=True)  # the first parent's element wins
    found = {tuple(d["Pos"]): d for d in merged.annotations("syn").all()}
    assert found[(5, 6, 7)]["Tags"] == ["a"]
    assert (9, 9, 9) in found


def test_label_views_stay_per_version(root: Node) -> None:
    a, b = branches(root)
    a.labels("seg").write((0, 0, 0), np.full((16, 16, 8), 9, np.uint64))
    assert zyx(a.annotations("syn").label(9)) == [[3, 2, 1], [7, 6, 5]]
    assert zyx(b.annotations("syn").label(9)) == []
    assert zyx(root.annotations("syn").label(1)) == [[3, 2, 1], [7, 6, 5]]


def test_a_sync_set_up_later_files_elements_and_recounts_labelsz() -> None:
    from voxhub.datatypes.sync_config import set_syncs

    with voxhub.open("memory://") as hub:
        node = hub.create_repo("late").master
        node.create_labels("seg", block_shape=(16, 16, 16)).write((0, 0, 0), segmentation())
        ann = node.create_annotations("syn", block_shape=(16, 16, 16))
        ann.add(synapse([1, 2, 3], [[20, 2, 3], [5, 6, 7]]))
        sizes = node.create_labelsz("sz", annotations="syn")
        assert sizes.count(1, "PreSyn") == 0
        info = hub.catalog.instance(node.uuid, "syn")
        set_syncs(hub.service, node.uuid, info, ["seg"], replace=False)  # DVID's POST sync
        assert zyx(node.annotations("syn").label(1)) == [[3, 2, 1], [7, 6, 5]]
        assert (sizes.count(1, "PreSyn"), sizes.count(2, "PostSyn")) == (1, 1)


def test_relationships_added_on_both_sides_are_all_followed_after_a_merge(root: Node) -> None:
    a, b = branches(root)
    a.annotations("syn").add(
        [{"Pos": [8, 8, 8], "Rels": [{"Rel": "GroupedWith", "To": [5, 6, 7]}]}]
    )
    b.annotations("syn").add(
        [{"Pos": [30, 9, 9], "Rels": [{"Rel": "GroupedWith", "To": [5, 6, 7]}]}]
    )
    a.commit(), b.commit()
    ann = a.merge(b).annotations("syn")
    ann.move((7, 6, 5), (7, 6, 4))  # every element pointing at it follows (another block too)
    found = {tuple(d["Pos"]): d["Rels"] for d in ann.all()}
    assert found[(8, 8, 8)] == found[(30, 9, 9)] == [{"Rel": "GroupedWith", "To": [4, 6, 7]}]
    ann.delete((7, 6, 4))
    after = {tuple(d["Pos"]): d["Rels"] for d in ann.all()}
    assert after[(8, 8, 8)] == after[(30, 9, 9)] == []
