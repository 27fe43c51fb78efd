"""The pure DAG model: rule refusals with their messages, ref parsing, resolution rule."""

from __future__ import annotations

import dataclasses

import pytest

from voxhub.errors import AmbiguousUUID, InvalidRequest, NotFound, VersionLocked
from voxhub.versioning.dag import (
    Lineage,
    NodeInfo,
    Ref,
    check_branch,
    check_commit,
    check_merge,
    check_newversion,
    check_open,
    maximal_holders,
    new_uuid,
    parse_ref,
    resolve_visible,
    select_unique,
    validate_instance_name,
    walk_first_parents,
)


def node(
    uuid: str = "a" * 32, *, locked: bool = True, branch: str = "master", repo: str = "r"
) -> NodeInfo:
    return NodeInfo(uuid, 1, repo, branch, "", (), (), (), "t", "t", locked, ())


def test_commit_only_once() -> None:
    check_commit(node(locked=False))
    with pytest.raises(InvalidRequest, match="already committed"):
        check_commit(node(locked=True))


def test_open_node_rules() -> None:
    check_open(node(locked=False), "set the note of")
    with pytest.raises(VersionLocked, match=r"cannot set the note of node a+: it is committed"):
        check_open(node(locked=True), "set the note of")


def test_newversion_needs_committed_parent_without_same_branch_child() -> None:
    check_newversion(node(), ["feature"])
    with pytest.raises(InvalidRequest, match="commit it first"):
        check_newversion(node(locked=False), [])
    with pytest.raises(InvalidRequest, match="already has a child on branch 'master'"):
        check_newversion(node(), ["feature", "master"])


def test_branch_rules() -> None:
    check_branch(node(), "feature", {"master"})
    with pytest.raises(InvalidRequest, match="cannot create a master branch"):
        check_branch(node(), "master", set())
    with pytest.raises(InvalidRequest, match="cannot create a master branch"):
        check_branch(node(), "", set())
    with pytest.raises(InvalidRequest, match="must match"):
        check_branch(node(), "bad name", set())
    with pytest.raises(InvalidRequest, match="commit it first"):
        check_branch(node(locked=False), "feature", set())
    with pytest.raises(InvalidRequest, match="branch 'feature' already exists in repo r"):
        check_branch(node(), "feature", {"feature"})


def test_merge_rules() -> None:
    a, b = node("a" * 32), node("b" * 32)
    check_merge([a, b])
    with pytest.raises(InvalidRequest, match="at least 2 parents"):
        check_merge([a])
    with pytest.raises(InvalidRequest, match="distinct"):
        check_merge([a, a])
    with pytest.raises(InvalidRequest, match="different repos"):
        check_merge([a, dataclasses.replace(b, repo="other")])
    with pytest.raises(InvalidRequest, match=f"cannot merge node {'b' * 32}: commit it first"):
        check_merge([a, dataclasses.replace(b, locked=False)])


def test_instance_names() -> None:
    validate_instance_name("grayscale_8.v1-x")
    for bad in ["", "a/b", "a b"]:
        with pytest.raises(InvalidRequest, match="must match"):
            validate_instance_name(bad)
    for reserved in ["log", "branch", "note", "commit", "newversion", "tag"]:
        with pytest.raises(InvalidRequest, match="reserved"):
            validate_instance_name(reserved)


def test_uuids() -> None:
    assert len(new_uuid()) == 32
    assert new_uuid("AB" * 16) == "ab" * 16
    with pytest.raises(InvalidRequest, match="32 hex"):
        new_uuid("xyz")


def test_parse_ref() -> None:
    assert parse_ref("3FA2") == Ref("3fa2", None, 0)
    assert parse_ref("3fa2:feature") == Ref("3fa2", "feature", 0)
    assert parse_ref(":master") == Ref("", "master", 0)
    assert parse_ref(":master~2") == Ref("", "master", 2)
    assert parse_ref("3fa2~1") == Ref("3fa2", None, 1)
    for bad in ["", ":", "3fa2:", "~1", "a/b", "x~y"]:
        with pytest.raises(InvalidRequest):
            parse_ref(bad)


def test_select_unique() -> None:
    assert select_unique("ab", ["abcd"]) == "abcd"
    assert select_unique("abcd", ["abcd", "abcde"]) == "abcd"  # an exact match wins
    with pytest.raises(NotFound, match="could not find"):
        select_unique("ab", [])
    with pytest.raises(AmbiguousUUID, match="more than one"):
        select_unique("ab", ["abc", "abd"])


def test_walk_first_parents() -> None:
    parents = {"c": ("b", "x"), "b": ("a",), "a": ()}
    assert walk_first_parents("c", 2, parents.__getitem__) == "a"
    with pytest.raises(NotFound, match="cannot go up 3"):
        walk_first_parents("c", 3, parents.__getitem__)


def lineage(parents: dict[int, tuple[int, ...]]) -> Lineage:
    lin = Lineage()
    for v, ps in parents.items():
        lin.add(v, ps)
    return lin


def test_chain_takes_the_nearest_holder() -> None:
    lin = lineage({1: (), 2: (1,), 3: (2,), 4: (3,)})
    anc = lin.ancestry(4)
    assert anc.linear
    assert anc.members == {1, 2, 3, 4}
    assert resolve_visible([1, 3], anc, lin) == 3
    assert resolve_visible([1, 3], lin.ancestry(2), lin) == 1
    assert resolve_visible([5], anc, lin) is None  # not an ancestor: invisible


def test_diamond_inherits_the_common_value() -> None:
    # 1 -> 2, 1 -> 3, merge 4 = (2, 3): only 1 holds the key
    lin = lineage({1: (), 2: (1,), 3: (1,), 4: (2, 3)})
    assert not lin.ancestry(4).linear
    assert resolve_visible([1], lin.ancestry(4), lin) == 1
    # one side changed it: that change invalidates the older value on the other path
    assert resolve_visible([1, 3], lin.ancestry(4), lin) == 3
    assert maximal_holders([1, 3], lin.ancestry(4), lin) == [3]


def test_merge_priority_first_parent_wins() -> None:
    lin = lineage({1: (), 2: (1,), 3: (1,), 4: (2, 3), 5: (3, 2)})
    assert maximal_holders([1, 2, 3], lin.ancestry(4), lin) == [2, 3]
    assert resolve_visible([1, 2, 3], lin.ancestry(4), lin) == 2
    assert resolve_visible([1, 2, 3], lin.ancestry(5), lin) == 3
    # the merge node's own write beats both sides
    assert resolve_visible([2, 3, 4], lin.ancestry(4), lin) == 4


def test_nested_merge_priority_is_depth_first() -> None:
    # 1 root; 2, 3, 4 siblings; 5 = merge(3, 2); 6 = merge(4, 5)
    lin = lineage({1: (), 2: (1,), 3: (1,), 4: (1,), 5: (3, 2), 6: (4, 5)})
    assert resolve_visible([2, 3], lin.ancestry(6), lin) == 3  # 4 holds nothing; 5 says 3
    assert resolve_visible([2, 3, 4], lin.ancestry(6), lin) == 4
    assert list(lin.ancestry(6).rank) == [6, 4, 1, 5, 3, 2]


def test_virtual_child_for_merge_checks() -> None:
    lin = lineage({1: (), 2: (1,), 3: (1,)})
    anc = lin.virtual([3, 2])
    assert maximal_holders([1, 2, 3], anc, lin) == [3, 2]
