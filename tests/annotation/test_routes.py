"""annotation routes through the real app: DVID's shapes, relationships kept consistent,
label views exact right after element writes and labelmap mutations, bad input refused
whole."""

from __future__ import annotations

from typing import Any

import pytest

from voxhub.datatypes.annotation.codec import decode_block
from voxhub.datatypes.annotation.element_json import to_json

from .conftest import Env, synapse


def positions(elements: list[dict[str, Any]]) -> list[list[int]]:
    return sorted(e["Pos"] for e in elements)


def test_elements_round_trip_in_dvid_shape(env: Env) -> None:
    env.post("elements?kafkalog=off", synapse([1, 2, 3], [[20, 2, 3], [5, 6, 7]]))
    found = env.get("elements/32_32_32/0_0_0")
    assert positions(found) == [[1, 2, 3], [5, 6, 7], [20, 2, 3]]
    pre = next(e for e in found if e["Kind"] == "PreSyn")
    assert list(pre) == ["Pos", "Kind", "Tags", "Prop", "Rels"]
    assert pre["Rels"] == [
        {"Rel": "PreSynTo", "To": [20, 2, 3]},
        {"Rel": "PreSynTo", "To": [5, 6, 7]},
    ]
    assert positions(env.get("elements/4_5_5/1_2_3")) == [[1, 2, 3]]  # exact box filter
    assert env.get("elements/4_4_4/100_100_100") == []
    blocks = env.get("blocks/2_2_2/0_0_0")  # every element of the blocks meeting the box
    assert list(blocks) == ["0,0,0"]
    assert positions(blocks["0,0,0"]) == [[1, 2, 3], [5, 6, 7]]
    assert sorted(env.get("all-elements")) == ["0,0,0", "1,0,0"]


def test_an_element_at_a_stored_position_replaces_it(env: Env) -> None:
    env.post("elements", [{"Pos": [1, 1, 1], "Kind": "Note", "Tags": ["a"], "Prop": {"k": "v"}}])
    env.post("elements", [{"Pos": [1, 1, 1], "Kind": "Gap", "Tags": ["b"]}])
    assert env.get("elements/2_2_2/0_0_0") == [
        {"Pos": [1, 1, 1], "Kind": "Gap", "Tags": ["b"], "Prop": {}, "Rels": []}
    ]
    assert positions(env.get("tag/b")) == [[1, 1, 1]]
    assert env.get("tag/a") == []


def test_label_views_follow_element_writes_and_label_mutations(env: Env) -> None:
    env.post("elements", synapse([1, 2, 3], [[20, 2, 3], [5, 6, 7]]))
    assert positions(env.get("label/1")) == [[1, 2, 3], [5, 6, 7]]
    assert "Rels" not in env.get("label/1")[0]
    assert env.get("label/2", relationships="true")[0]["Rels"] == [
        {"Rel": "PostSynTo", "To": [1, 2, 3]}
    ]
    seg = f"/api/node/{env.node.uuid}/seg"
    assert env.client.post(f"{seg}/merge", json=[1, 2]).status_code == 200
    assert positions(env.get("label/1")) == [[1, 2, 3], [5, 6, 7], [20, 2, 3]]
    assert env.get("label/2") == []
    cleaved = env.client.post(f"{seg}/cleave/1", json=[2]).json()["CleavedLabel"]
    assert positions(env.get(f"label/{cleaved}")) == [[20, 2, 3]]
    # voxels rewritten under an element re-file it at once
    body = b"\x07" + b"\x00" * 7  # supervoxel 7 at (x, y, z) = (1, 2, 3)
    assert env.client.post(f"{seg}/raw/0_1_2/1_1_1/1_2_3", content=body).status_code == 200
    assert positions(env.get("label/7")) == [[1, 2, 3]]
    assert positions(env.get("label/1")) == [[5, 6, 7]]
    found = env.client.request("GET", env.url("labels"), json=[7, cleaved, 99]).json()
    assert {k: positions(v) for k, v in found.items()} == {
        "7": [[1, 2, 3]],
        str(cleaved): [[20, 2, 3]],
        "99": [],
    }


def test_delete_and_move_update_every_partner(env: Env) -> None:
    env.post("elements", synapse([1, 2, 3], [[20, 2, 3], [5, 6, 7]]))
    # a note pointing at the PostSyn, not listed in its Rels
    env.post("elements", [{"Pos": [9, 9, 9], "Kind": "Note", "Rels": [{"To": [5, 6, 7]}]}])
    assert env.client.post(env.url("move/5_6_7/6_6_7")).status_code == 200
    found = {tuple(e["Pos"]): e for e in env.get("all-elements")["0,0,0"]}
    assert {"Rel": "PreSynTo", "To": [6, 6, 7]} in found[(1, 2, 3)]["Rels"]
    assert found[(9, 9, 9)]["Rels"] == [{"Rel": "UnknownRelationship", "To": [6, 6, 7]}]
    assert positions(env.get("label/1")) == [[1, 2, 3], [6, 6, 7], [9, 9, 9]]
    assert env.client.delete(env.url("element/6_6_7")).status_code == 200
    found = {tuple(e["Pos"]): e for e in env.get("elements/32_32_32/0_0_0")}
    assert found[(1, 2, 3)]["Rels"] == [{"Rel": "PreSynTo", "To": [20, 2, 3]}]
    assert found[(9, 9, 9)]["Rels"] == []
    assert positions(env.get("label/1")) == [[1, 2, 3], [9, 9, 9]]
    assert env.client.delete(env.url("element/6_6_7")).status_code == 400
    assert env.client.post(env.url("move/0_0_0/1_1_1")).status_code == 400
    assert env.client.post(env.url("move/1_2_3/20_2_3")).status_code == 400  # occupied


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[{", "not valid JSON"),
        (b'{"Pos": [1, 1, 1]}', "JSON list"),
        (b'[{"Pos": [1, 1, 1]}, {"Kind": "Note"}]', "element 1 of elements has no Pos"),
        (b'[{"Pos": [1, 1, 1]}, {"Pos": [2, 2], "Kind": "Note"}]', "element 1"),
        (b'[{"Pos": [1, 1, 1], "Kind": "Synapse"}]', "Kind 'Synapse'"),
        (b'[{"Pos": [1, 1, 1], "Rels": [{"Rel": "Likes", "To": [2, 2, 2]}]}]', "Likes"),
        (b'[{"Pos": [1, 1, 1], "Rels": [{"Rel": "PreSynTo", "To": [7, 7, 7]}]}]', "[7, 7, 7]"),
        (b'[{"Pos": [1.5, 1, 1]}]', "Pos"),
        (b'[{"Pos": [1, 1, 1], "Tags": "a"}]', "Tags"),
    ],
)
def test_bad_batches_are_400_and_store_nothing(env: Env, body: bytes, message: str) -> None:
    reply = env.client.post(env.url("elements"), content=body)
    assert reply.status_code == 400, reply.text
    assert message in reply.json()["error"]
    assert env.get("all-elements") == {}


def test_a_partner_in_the_same_batch_or_stored_is_accepted(env: Env) -> None:
    env.post(
        "elements",
        [{"Pos": [1, 1, 1], "Rels": [{"Rel": "GroupedWith", "To": [2, 2, 2]}]}, {"Pos": [2, 2, 2]}],
    )
    env.post("elements", [{"Pos": [3, 3, 3], "Rels": [{"Rel": "GroupedWith", "To": [2, 2, 2]}]}])
    assert len(env.get("elements/4_4_4/0_0_0")) == 3


def test_post_blocks_files_elements_and_reload_is_a_no_op(env: Env) -> None:
    env.post("blocks", {"1,0,0": synapse([20, 1, 1], [[21, 1, 1]])})
    assert positions(env.get("label/2")) == [[20, 1, 1], [21, 1, 1]]
    assert env.client.post(env.url("reload")).status_code == 200
    assert env.client.post(env.url("labels"), json={"2": "[]"}).status_code == 200
    assert positions(env.get("label/2")) == [[20, 1, 1], [21, 1, 1]]


def test_sync_posted_later_files_stored_elements(env: Env) -> None:
    url = f"/api/repo/{env.node.uuid}/instance"
    assert (
        env.client.post(url, json={"typename": "annotation", "dataname": "late"}).status_code == 200
    )
    late = f"/api/node/{env.node.uuid}/late"
    assert env.client.post(f"{late}/elements", json=[{"Pos": [20, 0, 0]}]).status_code == 200
    assert env.client.get(f"{late}/label/2").status_code == 400  # not synced
    assert env.client.post(f"{late}/sync", json={"sync": "seg"}).status_code == 200
    assert positions(env.client.get(f"{late}/label/2").json()) == [[20, 0, 0]]
    info = env.client.get(f"{late}/info").json()
    assert info["Base"]["Syncs"] == ["seg"]
    assert info["Extended"]["BlockSize"] == [64, 64, 64]


def test_roi_query_and_committed_nodes(env: Env) -> None:
    env.post("elements", synapse([1, 2, 3], [[20, 2, 3], [5, 6, 7]]))
    url = f"/api/repo/{env.node.uuid}/instance"
    body = {"typename": "roi", "dataname": "left", "BlockSize": "16,16,16"}
    assert env.client.post(url, json=body).status_code == 200
    roi = f"/api/node/{env.node.uuid}/left/roi"
    assert env.client.post(roi, json=[[0, 0, 0, 0]]).status_code == 200
    assert positions(env.get("roi/left")) == [[1, 2, 3], [5, 6, 7]]
    env.node.commit()
    assert env.client.post(env.url("elements"), json=[{"Pos": [1, 1, 1]}]).status_code == 409
    assert env.client.delete(env.url("element/1_2_3")).status_code == 409
    assert env.client.post(env.url("move/1_2_3/2_2_3")).status_code == 409
    assert positions(env.get("label/1")) == [[1, 2, 3], [5, 6, 7]]


def test_columns_answers_hold_what_the_json_answers_hold(env: Env) -> None:
    note = {"Pos": [9, 9, 9], "Kind": "Note", "Tags": ["t%d"], "Prop": {"k": "100%"}}
    env.post("elements", [*synapse([1, 2, 3], [[20, 2, 3], [5, 6, 7]]), note])
    asked = [
        ("elements/32_32_32/0_0_0", {}),
        ("elements/4_5_5/1_2_3", {}),
        ("elements/4_4_4/100_100_100", {}),
        ("label/1", {"relationships": "true"}),
        ("tag/t%d", {"relationships": "true"}),
    ]
    for path, params in asked:
        reply = env.client.get(env.url(path), params={**params, "format": "columns"})
        assert reply.status_code == 200, reply.text
        assert reply.headers["content-type"] == "application/octet-stream"
        assert to_json(decode_block(reply.content)) == env.get(path, **params), path
    reply = env.client.get(env.url("label/1"), params={"format": "xml"})
    assert reply.status_code == 400
    assert "format" in reply.text


def test_a_batch_already_stored_as_sent_writes_nothing(env: Env) -> None:
    batch = [*synapse([1, 2, 3], [[20, 2, 3], [5, 6, 7]]), {"Pos": [9, 9, 9], "Tags": ["a"]}]
    env.post("elements", batch)
    child = env.node.commit().newversion()
    env.post("elements", list(reversed(batch)), node=child.uuid)
    assert child.diff(env.node, "syn") == []
    changed = [{**batch[0], "Rels": batch[0]["Rels"][:1]}, {**batch[3], "Tags": ["b"]}]
    env.post("elements", changed, node=child.uuid)
    assert len(child.diff(env.node, "syn")) == 2
    found = env.get("elements/32_32_32/0_0_0", node=child.uuid)
    pre = next(e for e in found if e["Pos"] == [1, 2, 3])
    assert pre["Rels"] == [{"Rel": "PreSynTo", "To": [20, 2, 3]}]
    assert env.get("tag/b", node=child.uuid)[0]["Pos"] == [9, 9, 9]
