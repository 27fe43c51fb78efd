"""``/api/repos/info`` served from the per-repo generation cache, and the alias route.

The DAG part of a repo's JSON is kept serialised per process and rebuilt only when the
repo's generation (bumped in the transaction of every repo change) moved. Each answer is
compared with the JSON built afresh from the catalog, after every kind of change, through
two apps sharing one store (two server workers); a stale cache fails here.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from voxhub.cache_stats import snapshot
from voxhub.client import EmbeddedHub
from voxhub.errors import VersionLocked
from voxhub.server.describe import repo_json
from voxhub.versioning.catalog import Catalog
from voxhub.versioning.generations import RECENT


def _fresh(hub: EmbeddedHub) -> dict[str, object]:
    """What /api/repos/info must say: the repo JSON built from the catalog, no cache."""
    service = hub.service
    return {r.root: repo_json(service, r) for r in service.catalog.repos()}


def _changes(hub: EmbeddedHub, root: str) -> list[tuple[str, Callable[[], object]]]:
    cat = hub.catalog
    master = f"{root}:master"
    return [
        ("note", lambda: cat.set_note(master, "first note")),
        ("node log", lambda: cat.append_node_log(master, ["a line"])),
        ("instance", lambda: hub.node(master).create_volume("em", "uint8", block_shape=(8,) * 3)),
        ("config", lambda: cat.update_instance_config(root, "em", lambda c: c)),
        ("commit", lambda: cat.commit(master)),
        ("newversion", lambda: cat.newversion(master, note="child")),
        ("branch", lambda: cat.branch(root, "side")),
        ("alias", lambda: cat.update_repo(root, alias="renamed")),
        ("description", lambda: cat.update_repo(root, description="changed")),
        ("repo log", lambda: cat.append_repo_log(root, ["repo line"])),
        ("properties", lambda: cat.update_repo(root, properties={"k": 1})),
        ("side commit", lambda: cat.commit(f"{root}:side")),
        ("master commit", lambda: cat.commit(master)),
        ("merge", lambda: hub.service.merge_nodes([master, f"{root}:side"], "merged", False)),
    ]


def test_every_repo_change_shows_in_both_workers(
    two_workers: tuple[EmbeddedHub, TestClient, TestClient],
) -> None:
    hub, ca, cb = two_workers
    root = hub.create_repo("cached", "a repo").root
    hub.create_repo("other", "untouched")
    for name, change in _changes(hub, root):
        ca.get("/api/repos/info").raise_for_status()  # both workers have cached the old state
        cb.get("/api/repos/info").raise_for_status()
        generation = hub.catalog.generation(root).number
        change()
        assert hub.catalog.generation(root).number > generation, name  # every change bumps it
        want = _fresh(hub)
        for client in (cb, ca):  # the worker that did not make the change too
            got = client.get("/api/repos/info")
            assert got.status_code == 200
            assert got.headers["content-type"] == "application/json"
            assert got.json() == want, name


def test_unchanged_repos_are_served_from_the_cache(
    two_workers: tuple[EmbeddedHub, TestClient, TestClient],
) -> None:
    hub, client, _ = two_workers
    repo = hub.create_repo("cached")
    node = repo.master
    for _ in range(3):
        node = node.commit().newversion()
    first = client.get("/api/repos/info").content
    hits, misses = snapshot()["repo_derived"]  # the app's service is its own (timed)
    for _ in range(3):
        assert client.get("/api/repos/info").content == first
        assert client.get(f"/api/repo/{repo.root}/info").json() == json.loads(first)[repo.root]
    now = snapshot()["repo_derived"]
    assert now[1] == misses  # nothing rebuilt: one generation read per request
    assert now[0] >= hits + 6
    node.note = "changed"
    assert client.get("/api/repos/info").json() == _fresh(hub)
    assert snapshot()["repo_derived"][1] == misses + 1


def test_data_writes_show_in_the_instances_without_a_repo_change(
    two_workers: tuple[EmbeddedHub, TestClient, TestClient],
) -> None:
    hub, client, _ = two_workers
    repo = hub.create_repo("cached")
    vol = repo.master.create_volume("em", "uint8", block_shape=(8, 8, 8))
    labels = repo.master.create_labels("seg", block_shape=(8, 8, 8))
    client.get("/api/repos/info").raise_for_status()
    generation = hub.catalog.generation(repo.root).number
    vol[0:8, 0:8, 0:40] = 3  # extents grow: data, not a repo record
    labels[0:8, 0:8, 0:8] = np.uint64(77)
    assert hub.catalog.generation(repo.root).number == generation
    info = client.get("/api/repos/info").json()[repo.root]
    assert info["DataInstances"]["em"]["Extended"]["MaxPoint"] == [39, 7, 7]
    assert info["DataInstances"]["seg"]["Extended"]["MaxLabel"] == 77
    assert info == _fresh(hub)[repo.root]


def test_a_refused_change_leaves_the_generation(tmp_path: Path) -> None:
    hub = EmbeddedHub.open(str(tmp_path / "store"))
    repo = hub.create_repo("cached")
    repo.master.commit()
    generation = hub.catalog.generation(repo.root)
    with pytest.raises(VersionLocked, match="committed"):
        hub.catalog.set_note(repo.root, "too late")
    assert hub.catalog.generation(repo.root) == generation
    assert Catalog(hub.store).generation(repo.root) == generation
    hub.close()


def test_a_change_patches_the_cached_dag_instead_of_rebuilding_it(
    two_workers: tuple[EmbeddedHub, TestClient, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    from voxhub.server import repo_json_bytes as module

    hub, ca, cb = two_workers
    root = hub.create_repo("cached").root
    node = hub.node(root)
    for _ in range(5):
        node = node.commit().newversion()
    ca.get("/api/repos/info").raise_for_status()
    builds: list[str] = []
    build = module.build_parts

    def counted(service: object, repo: str, visible: object) -> object:
        builds.append(repo)
        return build(service, repo, visible)  # type: ignore[arg-type]

    monkeypatch.setattr(module, "build_parts", counted)
    for i in range(3):  # commit + newversion: the new node and its parent are patched in
        node = node.commit().newversion(note=f"step {i}")
        hub.catalog.append_node_log(node.uuid, ["a line"])
        assert ca.get("/api/repos/info").json() == _fresh(hub)
    assert builds == []
    for _ in range(RECENT + 1):  # cb fell further behind than the record reaches
        hub.catalog.append_node_log(node.uuid, ["another line"])
    assert cb.get("/api/repos/info").json() == _fresh(hub)
    assert builds == [root]


def test_the_generation_record_names_what_each_change_touched(tmp_path: Path) -> None:
    hub = EmbeddedHub.open(str(tmp_path / "store"))
    root = hub.create_repo("cached").root
    start = hub.catalog.generation(root)
    hub.catalog.commit(root)
    child = hub.catalog.newversion(root)
    hub.catalog.update_repo(root, description="d")
    now = hub.catalog.generation(root)
    assert now.number == start.number + 3
    assert now.touched_since(start.number) == {root, child.uuid}
    assert now.touched_since(now.number - 1) == set()  # the repo record: no node
    assert now.touched_since(now.number) == set()
    for _ in range(RECENT):
        hub.catalog.append_node_log(child.uuid, ["x"])
    assert hub.catalog.generation(root).touched_since(start.number) is None  # too far back
    hub.close()


# -- alias route -------------------------------------------------------------------------
@pytest.mark.parametrize("alias", ["plain", "with/slash and space", "ünïcode?#%"])
def test_alias_route_finds_the_repo(
    two_workers: tuple[EmbeddedHub, TestClient, TestClient], alias: str
) -> None:
    from urllib.parse import quote

    hub, client, _ = two_workers
    repo = hub.create_repo(alias, "by alias")
    hub.create_repo("another")
    got = client.get(f"/api/voxhub/repos/by-alias?alias={quote(alias, safe='')}")
    assert got.status_code == 200, got.text
    assert got.json()["root"] == repo.root
    assert got.json()["alias"] == alias
    missing = client.get("/api/voxhub/repos/by-alias?alias=nobody")
    assert missing.status_code == 404
    assert "nobody" in missing.json()["error"]
    assert client.get("/api/voxhub/repos/by-alias").status_code == 400
