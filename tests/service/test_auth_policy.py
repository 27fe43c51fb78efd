"""The public-version rule on random version DAGs: a published node and all its ancestors
are readable by anyone, nothing else is, and no listing shows or links another node."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.errors import Forbidden, Unauthorized
from voxhub.service import Service
from voxhub.service.auth import ANONYMOUS, AuthStore, Policy, Principal, Role, StateCache, Viewer
from voxhub.service.auth.viewer import prune
from voxhub.storage import open_store

# each step: (kind, pick) — 0 commit an open node, 1 newversion, 2 branch (of a committed one)
steps = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 1000)), min_size=1, max_size=10)


def _ancestors(parents: dict[str, list[str]], uuid: str) -> set[str]:
    found, todo = set(), [uuid]
    while todo:
        n = todo.pop()
        if n not in found:
            found.add(n)
            todo += parents[n]
    return found


@settings(max_examples=40, deadline=None)
@given(steps=steps, picks=st.lists(st.integers(0, 1000), max_size=3))
def test_public_nodes_are_published_nodes_and_their_ancestors(
    steps: list[tuple[int, int]], picks: list[int]
) -> None:
    service = Service(open_store("memory://"))
    catalog = service.catalog
    root = catalog.create_repo("r").root
    parents: dict[str, list[str]] = {root: []}
    locked: set[str] = set()
    for n, (kind, pick) in enumerate(steps):
        open_nodes = sorted(set(parents) - locked)
        committed = sorted(locked)
        if kind == 0 and open_nodes:
            uuid = open_nodes[pick % len(open_nodes)]
            catalog.commit(uuid)
            locked.add(uuid)
        elif committed:
            parent = committed[pick % len(committed)]
            if kind == 1 and not catalog.node(parent).children:
                child = catalog.newversion(parent)
            else:
                child = catalog.branch(parent, f"b{n}")
            parents[child.uuid] = [parent]
    auth = AuthStore(service.store, catalog)
    published = {sorted(locked)[p % len(locked)] for p in picks} if locked else set()
    for uuid in published:
        auth.publish(uuid)
    expected = set().union(*(_ancestors(parents, u) for u in published)) if published else set()

    policy = Policy(catalog, StateCache(service.store, 0.0))
    repo = catalog.repo(root)
    assert policy.public_nodes(root) == expected
    viewer = Viewer(ANONYMOUS, policy)
    shown = viewer.nodes(repo, catalog.nodes(root))
    assert {n.uuid for n in shown} == expected
    for node in shown:
        assert set(node.children) <= expected
    for uuid in parents:
        node = catalog.node(uuid)
        if uuid in expected:
            policy.check_node(ANONYMOUS, Role.READ, node)
        else:
            with pytest.raises(Unauthorized):
                policy.check_node(ANONYMOUS, Role.READ, node)
        with pytest.raises(Unauthorized):
            policy.check_node(ANONYMOUS, Role.WRITE, node)
        with pytest.raises(Forbidden):
            policy.check_node(Principal("bob"), Role.WRITE, node)
    assert prune(catalog.nodes(root), None) == catalog.nodes(root)
    service.close()
