"""voxhub's own record routes, ``/api/voxhub/...``: the stored records, and their errors.

Every answer is compared with what the catalog itself holds, so a route that drops or
renames a field, or answers for the wrong node, fails here.
"""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest

from voxhub.datatypes.imageblk import ImageConfig
from voxhub.versioning import records

from .conftest import Env, committed_pair

API = "/api/voxhub"


def _error(resp: httpx.Response, status: int, kind: str, *words: str) -> str:
    """Assert an error answer: its status, its JSON type, words of its message."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error", "type"}
    assert body["type"] == kind
    for word in words:
        assert word in body["error"]
    message: str = body["error"]
    return message


# -- repos ----------------------------------------------------------------------------------
def test_repos_lists_every_repo_record_by_root(env: Env) -> None:
    other = env.hub.create_repo("other", "second")
    resp = env.client.get(f"{API}/repos")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    got = [records.repo_from_dict(d) for d in resp.json()]
    assert got == env.hub.catalog.repos()
    assert sorted(r.root for r in got) == sorted([env.uuid, other.root])
    assert [r.root for r in got] == sorted(r.root for r in got)
    assert {r.alias for r in got} == {"demo", "other"}


def test_get_repo_by_uuid_prefix_and_branch_refs(env: Env) -> None:
    c = env.client
    wanted = env.hub.catalog.repo(env.uuid)
    child_uuid = committed_pair(env)[1]
    for ref in (env.uuid, env.uuid[:6], f"{env.uuid}:", f"{env.uuid}:side", child_uuid):
        resp = c.get(f"{API}/repo/{ref}")
        assert resp.status_code == 200, ref
        got = records.repo_from_dict(resp.json())
        assert got.root == env.uuid
        assert got.alias == "demo"
        assert got.description == "test repo"
    assert records.repo_from_dict(c.get(f"{API}/repo/{env.uuid}").json()) == wanted


def test_get_repo_errors(env: Env) -> None:
    c = env.client
    _error(c.get(f"{API}/repo/{'f' * 32}"), 404, "NotFound", "f" * 32)
    _error(c.get(f"{API}/repo/ffffffff"), 404, "NotFound")
    _error(c.get(f"{API}/repo/{env.uuid}:nobranch"), 404, "NotFound", "nobranch")
    _error(c.get(f"{API}/repo/not*a*ref"), 400, "InvalidRequest", "invalid characters")
    _error(c.get(f"{API}/repo/{env.uuid}~x"), 400, "InvalidRequest")


def test_ambiguous_prefix_is_400_and_branch_alone_needs_one_repo(env: Env) -> None:
    c = env.client
    env.hub.create_repo("a", root="ab" + "0" * 30)
    env.hub.create_repo("b", root="ab" + "1" * 30)
    msg = _error(c.get(f"{API}/repo/ab"), 400, "AmbiguousUUID", "'ab'")
    assert "ab" + "0" * 30 in msg
    _error(c.get(f"{API}/node/ab"), 400, "AmbiguousUUID")
    assert c.get(f"{API}/repo/ab0").json()["alias"] == "a"
    # ":master" without a UUID is only meaningful when exactly one repo exists
    _error(c.get(f"{API}/node/:master"), 400, "InvalidRequest", "more than one repo")


def test_post_repo_changes_only_given_fields(env: Env) -> None:
    c, url = env.client, f"{API}/repo/{env.uuid}"
    before = env.hub.catalog.repo(env.uuid)
    resp = c.post(url, json={"alias": "renamed"})
    assert resp.status_code == 200
    got = records.repo_from_dict(resp.json())
    assert got == env.hub.catalog.repo(env.uuid)
    assert got.alias == "renamed"
    assert got.description == before.description
    assert got.properties == before.properties
    props: dict[str, Any] = {"owner": "lab", "tags": [1, 2], "nested": {"k": None}}
    resp = c.post(url, json={"description": "new words", "properties": props})
    got = records.repo_from_dict(resp.json())
    assert got == env.hub.catalog.repo(env.uuid)
    assert (got.alias, got.description, got.properties) == ("renamed", "new words", props)
    # an empty body changes nothing but is accepted
    assert records.repo_from_dict(c.post(url, json={}).json()).properties == props
    assert env.hub.catalog.repo(env.uuid).properties == props


def test_post_repo_errors_leave_the_record_unchanged(env: Env) -> None:
    c, url = env.client, f"{API}/repo/{env.uuid}"
    before = env.hub.catalog.repo(env.uuid)
    for bad in ([1, 2], "x", 3, True):
        _error(c.post(url, json={"properties": bad}), 400, "InvalidRequest", "'properties'")
    _error(c.post(url, json={"alias": 5}), 400, "InvalidRequest", "'alias'")
    _error(c.post(url, json={"description": ["x"]}), 400, "InvalidRequest", "'description'")
    _error(c.post(url, json=[1]), 400, "InvalidRequest", "JSON object")
    _error(c.post(url, content=b"{not json"), 400, "InvalidRequest", "not valid JSON")
    _error(c.post(f"{API}/repo/{'e' * 32}", json={"alias": "x"}), 404, "NotFound")
    assert env.hub.catalog.repo(env.uuid) == before


# -- nodes and instances of a repo ----------------------------------------------------------
def test_nodes_in_creation_order(env: Env) -> None:
    a, b = committed_pair(env)
    resp = env.client.get(f"{API}/repo/{b}/nodes")
    assert resp.status_code == 200
    got = [records.node_from_dict(d) for d in resp.json()]
    assert got == env.hub.catalog.nodes(env.uuid)
    assert [n.uuid for n in got] == [env.uuid, a, b]
    assert [n.branch for n in got] == ["master", "master", "side"]
    assert all(n.locked for n in got)
    _error(env.client.get(f"{API}/repo/{'d' * 32}/nodes"), 404, "NotFound")


def test_nodes_of_one_repo_only(env: Env) -> None:
    other = env.hub.create_repo("other")
    got = env.client.get(f"{API}/repo/{other.root}/nodes").json()
    assert [d["uuid"] for d in got] == [other.root]


def test_instances_by_name_and_one_instance(env: Env) -> None:
    c = env.client
    env.root.create_volume("zeta", "uint16", block_shape=(8, 8, 8))
    env.root.create_volume("alpha", "float32", block_shape=(8, 8, 8), versioned=False)
    resp = c.get(f"{API}/repo/{env.uuid}/instances")
    assert resp.status_code == 200
    got = [records.instance_from_dict(d) for d in resp.json()]
    assert got == env.hub.catalog.instances(env.uuid)
    assert [i.name for i in got] == ["alpha", "gray", "zeta"]
    assert [i.typename for i in got] == ["float32blk", "uint8blk", "uint16blk"]
    assert [i.versioned for i in got] == [False, True, True]
    one = c.get(f"{API}/repo/{env.uuid}/instance/gray")
    assert one.status_code == 200
    info = records.instance_from_dict(one.json())
    assert info == env.hub.catalog.instance(env.uuid, "gray")
    assert ImageConfig.from_json(info.config).max_scale == 1
    assert info.config["block_shape"] == [8, 8, 8]


def test_instances_errors(env: Env) -> None:
    c = env.client
    _error(c.get(f"{API}/repo/{env.uuid}/instance/nope"), 404, "NotFound", "'nope'")
    _error(c.get(f"{API}/repo/{'c' * 32}/instance/gray"), 404, "NotFound")
    _error(c.get(f"{API}/repo/{'c' * 32}/instances"), 404, "NotFound")
    other = env.hub.create_repo("other")
    assert c.get(f"{API}/repo/{other.root}/instances").json() == []
    _error(c.get(f"{API}/repo/{other.root}/instance/gray"), 404, "NotFound")


# -- nodes ----------------------------------------------------------------------------------
def test_get_node_record(env: Env) -> None:
    c = env.client
    env.root.note = "first"
    resp = c.get(f"{API}/node/{env.uuid}")
    assert resp.status_code == 200
    got = records.node_from_dict(resp.json())
    assert got == env.hub.catalog.node(env.uuid)
    assert (got.note, got.locked, got.parents) == ("first", False, ())
    a, b = committed_pair(env)
    for ref, uuid in ((b, b), (f"{env.uuid}:side", b), (f"{b}:master", a), (a[:10], a)):
        assert records.node_from_dict(c.get(f"{API}/node/{ref}").json()) == (
            env.hub.catalog.node(uuid)
        )
    root = records.node_from_dict(c.get(f"{API}/node/{env.uuid}").json())
    assert root.locked
    assert root.children == (a, b)
    assert records.node_from_dict(c.get(f"{API}/node/{b}").json()).parents == (env.uuid,)


def test_get_node_errors(env: Env) -> None:
    c = env.client
    _error(c.get(f"{API}/node/{'b' * 32}"), 404, "NotFound")
    _error(c.get(f"{API}/node/{env.uuid}:side"), 404, "NotFound", "side")
    _error(c.get(f"{API}/node/{env.uuid}~1"), 404, "NotFound")
    _error(c.get(f"{API}/node/bad$ref"), 400, "InvalidRequest")


def test_lineage_root_to_node(env: Env) -> None:
    c = env.client
    a, b = committed_pair(env)
    leaf = c.post(f"/api/node/{a}/newversion", json={}).json()["child"]
    resp = c.get(f"{API}/node/{leaf}/lineage")
    assert resp.status_code == 200
    got = [records.node_from_dict(d) for d in resp.json()]
    assert got == env.hub.catalog.log(leaf)
    assert [n.uuid for n in got] == [env.uuid, a, leaf]
    assert [d["uuid"] for d in c.get(f"{API}/node/{b}/lineage").json()] == [env.uuid, b]
    assert [d["uuid"] for d in c.get(f"{API}/node/{env.uuid}/lineage").json()] == [env.uuid]
    _error(c.get(f"{API}/node/{'a' * 32}/lineage"), 404, "NotFound")


# -- instance creation -----------------------------------------------------------------------
def test_create_instance_records_config_and_audit_line(env: Env) -> None:
    c = env.client
    body = {
        "name": "seg",
        "typename": "uint16blk",
        "config": {"dtype": "uint16", "block_shape": [8, 8, 8], "max_scale": 1},
        "versioned": False,
    }
    resp = c.post(f"{API}/node/{env.uuid}/instance?u=alice&app=neutu", json=body)
    assert resp.status_code == 200, resp.text
    got = records.instance_from_dict(resp.json())
    assert got == env.hub.catalog.instance(env.uuid, "seg")
    assert (got.name, got.typename, got.versioned, got.repo) == (
        "seg",
        "uint16blk",
        False,
        env.uuid,
    )
    # the stored config is the normalised one (defaults filled in), not the request's
    wanted = ImageConfig.create(dtype="uint16", block_shape=(8, 8, 8), max_scale=1).to_json()
    assert got.config == wanted
    line = env.hub.catalog.repo(env.uuid).log[-1]
    assert line.endswith(f" u=alice app=neutu: added instance seg [uint16blk] at {env.uuid}")
    # the new instance is usable as a volume
    vol = env.root.volume("seg")
    vol[0:2, 0:2, 0:2] = np.full((2, 2, 2), 700, dtype=np.uint16)
    assert int(vol[1, 1, 1]) == 700


def test_create_instance_defaults_versioned_and_no_user(env: Env) -> None:
    c = env.client
    body = {"name": "v", "typename": "uint8blk", "config": {"dtype": "uint8"}}
    got = records.instance_from_dict(c.post(f"{API}/node/{env.uuid}/instance", json=body).json())
    assert got.versioned is True
    assert got.config == ImageConfig.create(dtype="uint8").to_json()
    line = env.hub.catalog.repo(env.uuid).log[-1]
    assert line.endswith(f": added instance v [uint8blk] at {env.uuid}")
    assert "u=" not in line


def test_create_instance_at_an_open_child_by_branch_ref(env: Env) -> None:
    c = env.client
    env.root.commit()
    child = c.post(f"/api/node/{env.uuid}/newversion", json={}).json()["child"]
    body = {"name": "late", "typename": "uint8blk", "config": {"dtype": "uint8"}}
    resp = c.post(f"{API}/node/{env.uuid}:master/instance", json=body)
    assert resp.status_code == 200, resp.text
    assert (
        env.hub.catalog.repo(env.uuid)
        .log[-1]
        .endswith(f"added instance late [uint8blk] at {child}")
    )
    names = [d["name"] for d in c.get(f"{API}/repo/{child}/instances").json()]
    assert names == ["gray", "late"]


@pytest.mark.parametrize(
    ("patch", "words"),
    [
        ({"typename": "labelblk"}, ("unknown datatype", "labelblk")),
        ({"typename": 7}, ("'typename'",)),
        ({"name": 3}, ("'name'",)),
        ({"name": ""}, ("instance name",)),
        ({"name": "a/b"}, ("instance name",)),
        ({"config": [1]}, ("'config'",)),
        ({"config": {"dtype": "uint16", "block_shape": [8, 8]}}, ("block_shape",)),
        ({"config": {"dtype": "uint16", "block_shape": [0, 8, 8]}}, ("block_shape",)),
        ({"config": {"dtype": "uint16", "blocksize": 8}}, ("unknown image config", "blocksize")),
        ({"config": {"dtype": "uint8"}}, ("does not match", "uint16blk")),
        ({"config": {"dtype": "int8"}}, ("dtype",)),
        ({"config": {}}, ("dtype",)),
        ({"config": {"dtype": "uint16", "max_scale": "1"}}, ("max_scale",)),
        ({"config": {"dtype": "uint16", "codec": {"name": "nope"}}}, ("unknown codec",)),
        ({"config": {"dtype": "uint16", "codec": 5}}, ()),
        ({"config": {"dtype": "uint16", "block_shape": 8}}, ("block_shape",)),
        ({"versioned": "yes"}, ("'versioned'",)),
        ({"versioned": 1}, ("'versioned'",)),
        ({"versioned": None}, ("'versioned'",)),
    ],
)
def test_create_instance_bad_requests_are_400_and_create_nothing(
    env: Env, patch: dict[str, Any], words: tuple[str, ...]
) -> None:
    body: dict[str, Any] = {
        "name": "seg",
        "typename": "uint16blk",
        "config": {"dtype": "uint16", "block_shape": [8, 8, 8]},
        "versioned": True,
    }
    body.update(patch)
    before_log = env.hub.catalog.repo(env.uuid).log
    resp = env.client.post(f"{API}/node/{env.uuid}/instance", json=body)
    _error(resp, 400, "InvalidRequest", *words)
    assert [i.name for i in env.hub.catalog.instances(env.uuid)] == ["gray"]
    assert env.hub.catalog.repo(env.uuid).log == before_log


def test_create_instance_conflicts_and_missing_nodes(env: Env) -> None:
    c = env.client
    body = {"name": "gray", "typename": "uint8blk", "config": {"dtype": "uint8"}}
    before = env.hub.catalog.instance(env.uuid, "gray")
    _error(c.post(f"{API}/node/{env.uuid}/instance", json=body), 409, "Conflict", "'gray'")
    assert env.hub.catalog.instance(env.uuid, "gray") == before
    body["name"] = "fresh"
    _error(c.post(f"{API}/node/{'9' * 32}/instance", json=body), 404, "NotFound")
    _error(c.post(f"{API}/node/{env.uuid}/instance", content=b"[]"), 400, "InvalidRequest")
    env.root.commit()
    log = env.hub.catalog.repo(env.uuid).log
    msg = _error(c.post(f"{API}/node/{env.uuid}/instance", json=body), 409, "VersionLocked")
    assert env.uuid in msg
    assert [i.name for i in env.hub.catalog.instances(env.uuid)] == ["gray"]
    assert env.hub.catalog.repo(env.uuid).log == log


# -- diff -----------------------------------------------------------------------------------
def test_diff_lists_described_changed_keys(env: Env) -> None:
    c = env.client
    env.root.commit()
    child = env.root.newversion()
    # one voxel in block (0,0,0) at scale 0; its scale-1 parent changes too
    child.volume("gray")[1, 1, 1] = 255
    resp = c.get(f"{API}/node/{env.uuid}/diff/{child.uuid}/gray")
    assert resp.status_code == 200
    keys = resp.json()["keys"]
    assert keys == env.hub.diff_keys(env.uuid, child.uuid, "gray")
    assert keys == ["0:0,0,0", "1:0,0,0"]
    # symmetric, and refs resolve like everywhere else
    back = c.get(f"{API}/node/{env.uuid}:master/diff/{env.uuid[:8]}/gray").json()
    assert back == {"keys": keys}
    assert c.get(f"{API}/node/{child.uuid}/diff/{child.uuid}/gray").json() == {"keys": []}


def test_diff_reports_grown_extents(env: Env) -> None:
    env.root.commit()
    child = env.root.newversion()
    child.volume("gray")[20, 0, 0] = 9  # outside the written box: block z=2, extents grow
    keys = env.client.get(f"{API}/node/{env.uuid}/diff/{child.uuid}/gray").json()["keys"]
    assert "extents" in keys
    assert "0:2,0,0" in keys
    assert "0:0,0,0" not in keys


def test_diff_errors(env: Env) -> None:
    c = env.client
    other = env.hub.create_repo("other")
    other.master.create_volume("gray", "uint8", block_shape=(8, 8, 8))
    url = f"{API}/node/{env.uuid}/diff/{other.root}/gray"
    _error(c.get(url), 400, "InvalidRequest", "different repos")
    _error(c.get(f"{API}/node/{env.uuid}/diff/{env.uuid}/nope"), 404, "NotFound", "'nope'")
    _error(c.get(f"{API}/node/{env.uuid}/diff/{'7' * 32}/gray"), 404, "NotFound")
    _error(c.get(f"{API}/node/{'7' * 32}/diff/{env.uuid}/gray"), 404, "NotFound")
    _error(c.get(f"{API}/node/{env.uuid}/diff/bad$ref/gray"), 400, "InvalidRequest")


@pytest.mark.parametrize(
    "config",
    [
        {"dtype": "uint16", "codec": ["zstd"]},
        {"dtype": "uint16", "block_shape": [8, 8, "x"]},
        {"dtype": "uint16", "block_shape": "abc"},
    ],
)
def test_create_instance_malformed_config_values_are_400(env: Env, config: dict[str, Any]) -> None:
    body = {"name": "seg", "typename": "uint16blk", "config": config}
    resp = env.client.post(f"{API}/node/{env.uuid}/instance", json=body)
    _error(resp, 400, "InvalidRequest")
    assert [i.name for i in env.hub.catalog.instances(env.uuid)] == ["gray"]


def test_create_instance_takes_a_bare_codec_name(env: Env) -> None:
    body = {"name": "seg", "typename": "uint16blk", "config": {"dtype": "uint16", "codec": "lz4"}}
    created = env.client.post(f"{API}/node/{env.uuid}/instance", json=body)
    assert created.status_code == 200
    assert created.json()["config"]["codec"]["name"] == "lz4"
