"""labelmap index-backed reads: sizes, supervoxels, lastmod, sparsevols, counters,
mapping(s), listlabels and mutations (the label index: test_index.py)."""

from __future__ import annotations

import gzip

import lz4.block
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voxhub.datatypes.labelmap.rle import decode_rles, decode_srles, mask_in_box
from voxhub.geometry import Box

from .conftest import BIG, SEG, Env

_LABEL_PATHS = (
    "size/{}",
    "supervoxels/{}",
    "supervoxel-sizes/{}",
    "lastmod/{}",
    "sparsevol/{}",
    "sparsevol-size/{}",
    "sparsevol-coarse/{}",
    "index/{}",
)
_WHOLE = Box((0, 0, 0), (16, 16, 48))


@pytest.mark.parametrize("path", _LABEL_PATHS)
def test_label_paths_refuse_zero_and_404_unknown(env: Env, path: str) -> None:
    r = env.client.get(env.url(path.format(0)))
    assert r.status_code == 400
    assert r.json()["error"] == "label 0 is the protected background value"
    r = env.client.get(env.url(path.format(99)))
    assert r.status_code == 404
    assert "99" in r.json()["error"]
    assert env.client.get(env.url(path.format("x1"))).status_code == 400
    assert env.client.get(env.url(path.format(2**64))).status_code == 400


def test_sizes_and_supervoxels(env: Env) -> None:
    c = env.client
    assert c.get(env.url("size/1")).json() == {"voxels": 4096}
    assert c.get(env.url(f"size/{BIG}")).json() == {"voxels": 1}
    assert c.post(env.url("merge"), json=[3, 2]).status_code == 200
    assert c.get(env.url("size/3")).json() == {"voxels": 4096}
    assert c.get(env.url("size/3?supervoxels=true")).json() == {"voxels": 2048}
    assert c.get(env.url("size/2?supervoxels=true")).json() == {"voxels": 2048}
    assert c.get(env.url("size/2")).status_code == 404
    r = c.request("GET", env.url("sizes"), json=[1, 2, 3, 0, 77, BIG])
    assert r.json() == [4096, 0, 4096, 0, 0, 1]
    r = c.request("GET", env.url("sizes?supervoxels=true"), json=[2, 3, 77])
    assert r.json() == [2048, 2048, 0]
    assert c.request("GET", env.url("sizes"), json={"a": 1}).status_code == 400
    assert c.request("GET", env.url("sizes"), json=[-1]).status_code == 400
    assert c.get(env.url("sizes")).status_code == 400
    assert c.get(env.url("supervoxels/3")).json() == [2, 3]
    assert c.get(env.url("supervoxel-sizes/3")).json() == {
        "supervoxels": [2, 3],
        "sizes": [2048, 2048],
    }


def test_lastmod_and_mutations(env: Env) -> None:
    c = env.client
    assert c.get(env.url("lastmod/1")).json() == {
        "mutation id": 0,
        "last mod user": "",
        "last mod app": "",
        "last mod time": "",
    }
    assert c.get(env.url("mutations")).json() == []
    assert c.post(env.url("merge?u=ann&app=neu3"), json=[1, 2]).json() == {"MutationID": 1000000001}
    mod = c.get(env.url("lastmod/1")).json()
    assert mod["mutation id"] == 1000000001
    assert (mod["last mod user"], mod["last mod app"]) == ("ann", "neu3")
    assert mod["last mod time"]
    c.post(env.url("cleave/1?u=bob"), json=[2])
    records = c.get(env.url("mutations")).json()
    assert [(r["Action"], r["MutationID"], r["User"]) for r in records] == [
        ("merge-complete", 1000000001, "ann"),
        ("cleave-complete", 1000000002, "bob"),
    ]
    bobs = c.get(env.url("mutations?userid=bob")).json()
    assert [r["Action"] for r in bobs] == ["cleave-complete"]


def _voxels(data: bytes, *, header: bool = True) -> np.ndarray:
    runs = decode_rles(data) if header else decode_srles(data)
    return mask_in_box(runs, _WHOLE)


def test_sparsevol_formats_and_bounds(env: Env) -> None:
    c = env.client
    r = c.get(env.url("sparsevol/2"))
    assert r.status_code == 200
    assert r.content[:4] == bytes([0, 3, 0, 0])
    assert r.content[4:8] == bytes(4)  # DVID never fills the voxel count in
    assert np.array_equal(_voxels(r.content), SEG == 2)
    srles = c.get(env.url("sparsevol/2?format=srles")).content
    assert np.array_equal(_voxels(srles, header=False), SEG == 2)
    lz = c.get(env.url("sparsevol/2?compression=lz4")).content
    assert lz4.block.decompress(lz, uncompressed_size=len(r.content)) == r.content
    assert gzip.decompress(c.get(env.url("sparsevol/2?compression=gzip")).content) == r.content
    bounded = c.get(env.url("sparsevol/1?minx=3&maxx=5&miny=2&maxy=2&minz=7")).content
    want = np.zeros_like(SEG, bool)
    want[7:, 2, 3:6] = True
    assert np.array_equal(_voxels(bounded), want)
    assert c.get(env.url("sparsevol/1?minx=20")).status_code == 404  # none in bounds
    assert c.get(env.url("sparsevol/1?minx=a")).status_code == 400
    assert c.get(env.url("sparsevol/1?format=xml")).status_code == 400
    assert c.get(env.url("sparsevol/1?scale=2")).status_code == 400  # max_scale is 1
    assert c.get(env.url("sparsevol/1?compression=zip")).status_code == 400


def test_sparsevol_supervoxels_after_merge(env: Env) -> None:
    env.client.post(env.url("merge"), json=[1, 3])
    body = env.client.get(env.url("sparsevol/1")).content
    assert np.array_equal(_voxels(body), (SEG == 1) | (SEG == 3))
    sv = env.client.get(env.url("sparsevol/3?supervoxels=true")).content
    assert np.array_equal(_voxels(sv), SEG == 3)


def test_sparsevol_head(env: Env) -> None:
    c = env.client
    r = c.head(env.url("sparsevol/1"))
    assert (r.status_code, r.content) == (200, b"")
    assert c.head(env.url("sparsevol/1?minx=16")).status_code == 204
    assert c.head(env.url("sparsevol/99")).status_code == 204
    assert c.head(env.url("sparsevol/0")).status_code == 400


def test_sparsevol_size_coarse_by_point(env: Env) -> None:
    c = env.client
    assert c.get(env.url("sparsevol-size/3")).json() == {
        "voxels": 2048,
        "numblocks": 1,
        "minvoxel": [16, 0, 0],
        "maxvoxel": [31, 15, 15],
    }
    c.post(env.url("merge"), json=[1, 3])
    assert c.get(env.url("sparsevol-size/1")).json() == {
        "voxels": 6144,
        "numblocks": 2,
        "minvoxel": [0, 0, 0],
        "maxvoxel": [31, 15, 15],
    }
    assert c.get(env.url("sparsevol-size/3?supervoxels=true")).json()["voxels"] == 2048
    coarse = decode_rles(c.get(env.url("sparsevol-coarse/1")).content)
    assert coarse.tolist() == [[0, 0, 0, 2]]  # blocks x 0..1 at y 0, z 0
    coarse = decode_rles(c.get(env.url("sparsevol-coarse/3?supervoxels=true")).content)
    assert coarse.tolist() == [[1, 0, 0, 1]]
    by_point = c.get(env.url("sparsevol-by-point/20_12_3")).content
    assert np.array_equal(_voxels(by_point), (SEG == 1) | (SEG == 3))
    by_sv = c.get(env.url("sparsevol-by-point/20_12_3?supervoxels=true")).content
    assert np.array_equal(_voxels(by_sv), SEG == 3)
    r = c.get(env.url("sparsevol-by-point/45_0_0"))
    assert r.status_code == 400
    assert "protected background" in r.json()["error"]
    assert c.get(env.url("sparsevol-by-point/1_2")).status_code == 400


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from([1, 7, 2**63 + 9]),
    st.lists(st.integers(-3, 50), min_size=6, max_size=6),
)
def test_sparsevol_matches_voxels(env: Env, seed: int, label: int, bounds: list[int]) -> None:
    rng = np.random.default_rng(seed)
    pool = np.array([0, 1, 7, 2**63 + 9], np.uint64)
    # runs of equal labels along x, so spans are longer than one voxel
    data = np.repeat(pool[rng.integers(0, 4, size=(16, 16, 12))], 4, axis=2)
    url = env.url("raw/0_1_2/48_16_16/0_0_0")
    assert env.client.post(url, content=data.astype("<u8").tobytes()).status_code == 200
    mask = data == np.uint64(label)
    r = env.client.get(env.url(f"sparsevol/{label}"))
    if not mask.any():
        assert r.status_code == 404
        return
    assert np.array_equal(_voxels(r.content), mask)
    names = ("minx", "maxx", "miny", "maxy", "minz", "maxz")
    query = "&".join(f"{n}={v}" for n, v in zip(names, bounds, strict=True))
    x0, x1, y0, y1, z0, z1 = bounds
    inside = np.zeros_like(mask)
    inside[
        max(z0, 0) : max(z1 + 1, 0), max(y0, 0) : max(y1 + 1, 0), max(x0, 0) : max(x1 + 1, 0)
    ] = True
    r = env.client.get(env.url(f"sparsevol/{label}?{query}"))
    head = env.client.head(env.url(f"sparsevol/{label}?{query}"))
    if (mask & inside).any():
        assert (r.status_code, head.status_code) == (200, 200)
        assert np.array_equal(_voxels(r.content), mask & inside)
    else:
        assert (r.status_code, head.status_code) == (404, 204)


def test_maxlabel_and_nextlabel(env: Env) -> None:
    c = env.client
    r = c.get(env.url("maxlabel"))
    assert (r.status_code, r.text) == (200, f'{{"maxlabel": {BIG}}}')
    assert c.get(env.url("nextlabel")).text == '{"nextlabel": 4}'
    assert c.post(env.url("nextlabel/5")).json() == {"start": 4, "end": 8}
    assert c.get(env.url("nextlabel")).text == '{"nextlabel": 9}'
    c.post(env.url("raw/0_1_2/1_1_1/0_0_0?"), content=np.uint64(3).tobytes())
    info = c.get(env.url("info")).json()["Extended"]
    assert (info["MaxLabel"], info["NextLabel"], info["IndexedLabels"]) == (BIG, 9, True)
    hub_node = env.node
    hub_node.create_labels("empty", block_shape=(16, 16, 16))
    r = c.get(env.url("maxlabel", name="empty"))
    assert r.status_code == 400


def test_mapping_and_mappings(env: Env) -> None:
    c = env.client
    c.post(env.url("merge"), json=[1, 2])
    c.post(env.url("merge"), json=[BIG, 3])
    r = c.request("GET", env.url("mapping"), json=[1, 2, 3, BIG, 0, 555])
    assert r.json() == [1, 1, BIG, BIG, 0, 0]
    r = c.request("GET", env.url("mapping?nolookup=true"), json=[2, 555])
    assert r.json() == [1, 555]
    assert c.request("GET", env.url("mapping"), json=[1.5]).status_code == 400
    assert c.get(env.url("mappings")).text == f"2 1\n3 {BIG}\n"
    binary = np.frombuffer(c.get(env.url("mappings?format=binary")).content, "<u8")
    assert binary.tolist() == [2, 1, 3, BIG]
    assert c.get(env.url("mappings?format=csv")).status_code == 400


def test_listlabels(env: Env) -> None:
    c = env.client

    def listed(query: str = "") -> list[int]:
        data = np.frombuffer(c.get(env.url("listlabels" + query)).content, "<u8")
        return [int(v) for v in data]

    assert listed() == [1, 2, 3, BIG]
    assert listed("?start=2&number=2") == [2, 3]
    assert listed("?start=3&sizes=true") == [3, 2048, BIG, 1]
    c.post(env.url("merge"), json=[3, 2])
    assert listed() == [1, 3, BIG]
    assert c.get(env.url("listlabels?number=-1")).status_code == 400
