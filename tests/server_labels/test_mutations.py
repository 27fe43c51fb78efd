"""labelmap mutations over HTTP: nextlabel, merge, cleave, split-supervoxel, split,
renumber; refusals change nothing."""

from __future__ import annotations

import numpy as np

from voxhub.datatypes.labelmap.rle import encode_rles, runs_from_mask

from .conftest import SEG, Env


def _commit(env: Env) -> None:
    assert env.client.post(f"/api/node/{env.node.uuid}/commit", json={}).status_code == 200


def _svs(env: Env) -> np.ndarray:
    data = env.client.get(env.url("raw/0_1_2/48_16_16/0_0_0?supervoxels=true")).content
    return np.frombuffer(data, "<u8").reshape(SEG.shape)


def test_merge_and_its_refusals(env: Env) -> None:
    c = env.client
    assert c.post(env.url("merge"), json=[1, 2, 3]).json() == {"MutationID": 1000000001}
    assert c.get(env.url("supervoxels/1")).json() == [1, 2, 3]
    for body, status in (
        ([1], 400),
        ([1, 1], 400),
        ([1, 0], 400),
        ([1, 99], 400),  # DVID: a label with no voxels is a bad request here
        ([99, 1], 400),
        ({"a": 1}, 400),
        ([1, "2"], 400),
    ):
        r = c.post(env.url("merge"), json=body)
        assert r.status_code == status, (body, r.text)
    assert c.post(env.url("merge"), content=b"").status_code == 400
    assert c.get(env.url("mutations")).json()[-1]["MutationID"] == 1000000001
    _commit(env)
    assert c.post(env.url("merge"), json=[1, 2]).status_code == 409


def test_cleave(env: Env) -> None:
    c = env.client
    c.post(env.url("merge"), json=[1, 2, 3])
    r = c.post(env.url("cleave/1?u=ann&app=tool"), json=[2, 3])
    assert r.json() == {"CleavedLabel": 4, "MutationID": 1000000002}
    assert c.get(env.url("supervoxels/4")).json() == [2, 3]
    assert c.get(env.url("label/20_0_0")).json() == {"Label": 4}
    assert c.get(env.url("lastmod/4")).json()["last mod user"] == "ann"
    assert c.post(env.url("cleave/1"), json=[1]).status_code == 400  # would empty it
    assert c.post(env.url("cleave/1"), json=[2]).status_code == 400  # not its supervoxel
    assert c.post(env.url("cleave/99"), json=[2]).status_code == 400
    assert c.post(env.url("cleave/0"), json=[2]).status_code == 400
    assert c.post(env.url("cleave/4"), json=[]).status_code == 400
    assert len(c.get(env.url("mutations")).json()) == 2


def test_split_supervoxel(env: Env) -> None:
    c = env.client
    cut = np.zeros(SEG.shape, bool)
    cut[:, :, :4] = True  # 1024 voxels of supervoxel 1
    rles = encode_rles(runs_from_mask(cut))
    r = c.post(env.url("split-supervoxel/1?u=ann"), content=rles)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["MutationID"] == 1000000001
    split, remain = out["SplitSupervoxel"], out["RemainSupervoxel"]
    svs = _svs(env)
    assert np.array_equal(svs == split, cut)
    assert np.array_equal(svs == remain, (SEG == 1) & ~cut)
    assert c.get(env.url("size/1")).json() == {"voxels": 4096}  # the body is unchanged
    assert c.request("GET", env.url("mapping"), json=[1]).json() == [0]  # retired
    assert c.post(env.url("split-supervoxel/1"), content=rles).status_code == 400
    assert c.post(env.url("split-supervoxel/2"), content=rles).status_code == 400  # no overlap
    assert c.post(env.url("split-supervoxel/2"), content=b"junk").status_code == 400
    # a chosen id already in use (supervoxel 1) is a conflict
    assert c.post(env.url("split-supervoxel/3?split=1"), content=rles).status_code == 409
    assert c.post(env.url("split-supervoxel/0"), content=rles).status_code == 400


def test_split(env: Env) -> None:
    c = env.client
    cut = np.zeros(SEG.shape, bool)
    cut[:, :, :4] = True
    r = c.post(env.url("split/1?app=neu3"), content=encode_rles(runs_from_mask(cut)))
    assert r.status_code == 200, r.text
    new, mid = r.json()["label"], r.json()["MutationID"]
    assert mid == 1000000001
    assert c.get(env.url(f"size/{new}")).json() == {"voxels": 1024}
    assert c.get(env.url("size/1")).json() == {"voxels": 3072}
    data = c.get(env.url("raw/0_1_2/48_16_16/0_0_0")).content
    bodies = np.frombuffer(data, "<u8").reshape(SEG.shape)
    assert np.array_equal(bodies == new, cut)
    assert c.get(env.url(f"lastmod/{new}")).json()["last mod app"] == "neu3"
    empty = encode_rles(np.zeros((0, 4), np.int32))
    assert c.post(env.url("split/1"), content=empty).status_code == 400
    assert c.post(env.url("split/99"), content=encode_rles(runs_from_mask(cut))).status_code == 400


def test_renumber(env: Env) -> None:
    c = env.client
    assert c.post(env.url("renumber"), json=[50, 1, 60, 2]).json() == {
        "MutationID": 1000000002,
        "MutationIDs": [1000000001, 1000000002],
    }
    assert c.get(env.url("size/50")).json() == {"voxels": 4096}
    assert c.get(env.url("size/1")).status_code == 404
    assert c.get(env.url("label/20_0_0")).json() == {"Label": 60}
    assert c.post(env.url("renumber"), json=[70, 3, 5]).status_code == 400  # odd length
    assert c.post(env.url("renumber"), json=[]).status_code == 400
    assert c.post(env.url("renumber"), json=[60, 3]).status_code == 409  # 60 is taken
    assert c.post(env.url("renumber"), json=[0, 3]).status_code == 400


def test_nextlabel_reservations(env: Env) -> None:
    c = env.client
    assert c.post(env.url("nextlabel/3")).json() == {"start": 4, "end": 6}
    assert c.post(env.url("nextlabel/1")).json() == {"start": 7, "end": 7}
    for bad in ("0", "-1", "x"):
        assert c.post(env.url(f"nextlabel/{bad}")).status_code == 400
    _commit(env)
    assert c.post(env.url("nextlabel/3")).status_code == 409


def test_committed_node_refuses_every_mutation(env: Env) -> None:
    c = env.client
    _commit(env)
    cut = encode_rles(runs_from_mask(SEG == 1))
    for path, kwargs in (
        ("cleave/1", {"json": [1]}),
        ("split/1", {"content": cut}),
        ("split-supervoxel/1", {"content": cut}),
        ("renumber", {"json": [50, 1]}),
        ("blocks", {"content": b""}),
    ):
        r = c.post(env.url(path), **kwargs)
        assert r.status_code == 409, (path, r.text)
        assert r.json()["type"] == "VersionLocked"
    assert c.get(env.url("mutations")).json() == []
