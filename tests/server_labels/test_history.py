"""Mutation history in DVID's shape over HTTP: ``mutations`` (this node's records only),
multi-pair ``renumber``, ``mutations-range``, ``history``, ``supervoxel-splits``, and
records stored in voxhub's earlier shape."""

from __future__ import annotations

import json
import re

import numpy as np

from voxhub.datatypes.labelmap.keys import mutation_key
from voxhub.datatypes.labelmap.rle import encode_rles, runs_from_mask

from .conftest import SEG, Env

#: neuclease's parse of DVID's Timestamp (``kafka_msgs_to_df``), and Go's layout
NEUCLEASE_TIME = re.compile(r"(\d\d\d\d-\d\d-\d\d) (\d\d:\d\d:\d\d.\d+) (.\d\d\d\d) .*")
GO_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{0,8}[1-9])? \+0000 UTC")
COMMON = {"Action", "UUID", "MutationID", "Timestamp"}


def _child(env: Env, node: str) -> str:
    c = env.client
    assert c.post(f"/api/node/{node}/commit", json={}).status_code == 200
    r = c.post(f"/api/node/{node}/newversion", json={})
    assert r.status_code == 200, r.text
    return str(r.json()["child"])


def _half_of_sv1() -> bytes:
    z = np.arange(SEG.shape[0])[:, None, None]
    return encode_rles(runs_from_mask((SEG == 1) & (z < 8)))


def test_mutations_are_this_nodes_records_in_dvids_shape(env: Env) -> None:
    c, root = env.client, env.node.uuid
    assert c.post(env.url("merge?u=ann&app=neu3"), json=[1, 2]).status_code == 200
    child = _child(env, root)
    r = c.post(env.url("cleave/1", child), json=[2])
    cleaved = r.json()["CleavedLabel"]
    [merge] = c.get(env.url("mutations")).json()
    [cleave] = c.get(env.url("mutations", child)).json()
    assert merge == merge | {
        "Action": "merge-complete",
        "UUID": root,
        "MutationID": 1000000001,
        "Target": 1,
        "Labels": [2],
        "User": "ann",
        "App": "neu3",
    }
    assert set(merge) == COMMON | {"Target", "Labels", "User", "App"}
    # no u=/app=: DVID leaves User and App out
    assert set(cleave) == COMMON | {
        "OrigLabel",
        "CleavedLabel",
        "CleavedSupervoxels",
        "CleavedSize",
        "RemainSize",
    }
    assert (cleave["UUID"], cleave["OrigLabel"], cleave["CleavedLabel"]) == (child, 1, cleaved)
    assert (cleave["CleavedSupervoxels"], cleave["CleavedSize"], cleave["RemainSize"]) == (
        [2],
        2048,
        4096,
    )
    for record in (merge, cleave):
        assert GO_TIME.fullmatch(record["Timestamp"]), record["Timestamp"]
        assert NEUCLEASE_TIME.fullmatch(record["Timestamp"])
    assert c.get(env.url("mutations?userid=ann")).json() == [merge]
    assert c.get(env.url("mutations?userid=bob")).json() == []


def test_renumber_of_several_pairs_is_one_record_each_and_all_or_nothing(env: Env) -> None:
    c = env.client
    r = c.post(env.url("renumber?u=ann"), json=[50, 1, 60, 2])
    assert r.json() == {"MutationID": 1000000002, "MutationIDs": [1000000001, 1000000002]}
    records = c.get(env.url("mutations")).json()
    assert [(m["Action"], m["MutationID"], m["NewLabel"], m["OrigLabel"]) for m in records] == [
        ("renumber-complete", 1000000001, 50, 1),
        ("renumber-complete", 1000000002, 60, 2),
    ]
    assert all(set(m) == COMMON | {"NewLabel", "OrigLabel", "User"} for m in records)
    # the second pair fails (99 has no voxels): the first is not applied either
    assert c.post(env.url("renumber"), json=[70, 3, 80, 99]).status_code == 400
    assert c.get(env.url("size/3")).json() == {"voxels": 2048}
    assert c.get(env.url("size/70")).status_code == 404
    assert len(c.get(env.url("mutations")).json()) == 2
    # pairs apply in order, as DVID's one-by-one renumbers do
    assert c.post(env.url("renumber"), json=[70, 3, 71, 70]).status_code == 200
    assert c.get(env.url("label/20_10_0")).json() == {"Label": 71}


def test_mutations_range_history_and_supervoxel_splits(env: Env) -> None:
    c, root = env.client, env.node.uuid
    assert c.post(env.url("merge"), json=[1, 2]).status_code == 200  # 1000000001 at root
    mid = _child(env, root)
    r = c.post(env.url("split-supervoxel/1", mid), content=_half_of_sv1())
    split_sv, remain_sv = r.json()["SplitSupervoxel"], r.json()["RemainSupervoxel"]
    leaf = _child(env, mid)
    assert c.post(env.url("cleave/1", leaf), json=[2]).status_code == 200
    per_node = {n: c.get(env.url("mutations", n)).json() for n in (root, mid, leaf)}
    assert [len(v) for v in per_node.values()] == [1, 1, 1]

    # mutations-range: end first, back to beg, both included
    whole = c.get(env.url(f"mutations-range/{root}/{leaf}")).json()
    assert whole == per_node[leaf] + per_node[mid] + per_node[root]
    assert c.get(env.url(f"mutations-range/{mid[:8]}/{mid}")).json() == per_node[mid]
    r = c.get(env.url(f"mutations-range/{leaf}/{root}"))
    assert r.status_code == 400
    assert "ancestor" in r.json()["error"]
    assert c.get(env.url(f"mutations-range/{'f' * 32}/{leaf}")).status_code == 404
    other = env.hub.create_repo("other").master.uuid
    assert c.get(env.url(f"mutations-range/{other}/{leaf}")).status_code == 400

    # history of body 1 at leaf since root: the merge into 1, the split of its sv, the cleave
    events = c.get(env.url(f"history/1/{root}/{leaf}")).json()
    split = {"Supervoxel": 1, "SplitSupervoxel": split_sv, "RemainSupervoxel": remain_sv}
    cleave = per_node[leaf][0]
    assert events == [
        {"Action": "merge", "Target": 1, "Labels": [2]},
        {"Action": "split-supervoxel", **split},
        {
            "Action": "cleave",
            "OrigLabel": 1,
            "CleavedLabel": cleave["CleavedLabel"],
            "CleavedSupervoxels": [2],
        },
    ]
    assert c.get(env.url(f"history/1/{mid}/{mid}")).json() == [events[1]]
    assert c.get(env.url(f"history/3/{root}/{leaf}")).json() == []
    assert c.post(env.url("renumber", leaf), json=[90, 1]).status_code == 200
    assert c.get(env.url(f"history/90/{root}/{leaf}")).json() == events  # followed forward
    assert c.get(env.url(f"history/1/{leaf}/{root}")).status_code == 400
    assert c.get(env.url(f"history/77/{root}/{leaf}")).status_code == 404

    # supervoxel-splits: this node, then its ancestors that split (nearest first)
    row = [per_node[mid][0]["MutationID"], 1, remain_sv, split_sv]
    assert c.get(env.url("supervoxel-splits", leaf)).json() == [mid, [row]]
    assert c.get(env.url("supervoxel-splits", root)).json() == []


def test_a_body_split_lists_the_supervoxels_it_cut(env: Env) -> None:
    c = env.client
    r = c.post(env.url("split/1?app=neu3"), content=_half_of_sv1())
    new_body, mid = r.json()["label"], r.json()["MutationID"]
    [record] = c.get(env.url("mutations")).json()
    assert set(record) == COMMON | {"Target", "NewLabel", "Split", "SVSplits", "App"}
    [(cut, parts)] = record["SVSplits"].items()
    assert (cut, record["Target"], record["NewLabel"]) == ("1", 1, new_body)
    row = [mid, 1, parts["Remain"], parts["Split"]]
    assert c.get(env.url("supervoxel-splits")).json() == [env.node.uuid, [row]]


def test_records_in_the_earlier_shape_are_converted_on_read(env: Env) -> None:
    c, root = env.client, env.node.uuid
    legacy = {"User": "", "App": "", "Timestamp": "2026-01-02T03:04:05.678000+00:00"}
    view = env.hub.catalog.view(root, "seg")
    view.put_many(
        [
            (mutation_key(7), json.dumps({"MutationID": 7, "Action": "merge", **legacy,
                                          "Target": 1, "Labels": [2]}).encode()),
            (mutation_key(8), json.dumps({"MutationID": 8, "Action": "renumber", **legacy,
                                          "User": "ann", "Pairs": [[50, 1], [60, 2]]}).encode()),
        ]
    )  # fmt: skip
    child = _child(env, root)
    env.hub.catalog.view(child, "seg").put_many(
        [(mutation_key(9), json.dumps({"MutationID": 9, "Action": "split-supervoxel",
          **legacy, "Supervoxel": 3, "Body": 3, "SplitSupervoxel": 20, "RemainSupervoxel": 21,
          "SplitVoxels": 5}).encode())]
    )  # fmt: skip
    at_root = c.get(env.url("mutations")).json()
    stamp = "2026-01-02 03:04:05.678 +0000 UTC"
    assert at_root == [
        {"Action": "merge-complete", "UUID": root, "MutationID": 7, "Target": 1,
         "Labels": [2], "Timestamp": stamp},
        {"Action": "renumber-complete", "UUID": root, "MutationID": 8, "NewLabel": 50,
         "OrigLabel": 1, "Timestamp": stamp, "User": "ann"},
        {"Action": "renumber-complete", "UUID": root, "MutationID": 8, "NewLabel": 60,
         "OrigLabel": 2, "Timestamp": stamp, "User": "ann"},
    ]  # fmt: skip
    [split] = c.get(env.url("mutations", child)).json()
    assert (split["UUID"], split["SplitSize"], "SplitVoxels" in split) == (child, 5, False)
    assert c.get(env.url("supervoxel-splits", child)).json() == [child, [[9, 3, 21, 20]]]
