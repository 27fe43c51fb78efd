"""The sharded precomputed views (``neuroglancer_uint64_sharded_v1``), read by tensorstore
from a real ``voxhub serve``.

An image (uint16) and a labelmap with one pyramid level, each written in two regions far
apart in x so that scale 0 has several shards, at a committed root and at its open child
(where bodies are merged and voxels rewritten): tensorstore's sharded reads of both regions
equal the numpy API's, and every chunk in a shard file is byte for byte the unsharded
view's chunk.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from tests.views.served import A, B, C, Served, create_em_and_seg, proofread, serving

import voxhub
from voxhub import Box
from voxhub.codecs.sharded import ShardingSpec, morton_positions, shard_chunks

ts = pytest.importorskip("tensorstore")

FAR = 32 * 520  # x of the second region: 522 blocks across, 10 bits of x in chunk ids
REGIONS = [Box((0, 32, 16), (40, 80, 86)), Box((0, 0, FAR), (32, 32, FAR + 40))]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    store = tmp_path_factory.mktemp("sharded") / "store"
    rng = np.random.default_rng(5)
    with voxhub.open(str(store), mode="w") as hub:
        root = hub.create_repo("views", "sharded view tests").master
        em, seg = create_em_and_seg(root)
        for box in REGIONS:
            em.write(box.start, rng.integers(1, 60000, box.shape, dtype=np.uint16))
            labels = np.full(box.shape, C, np.uint64)
            labels[:, :20, :30], labels[:, :20, 30:] = A, B
            labels[:3, :3, :3] = 0
            seg.write(box.start, labels)
        child = proofread(root)
        root_uuid, child_uuid = root.uuid, child.uuid
    with serving(store, root_uuid, child_uuid) as served:
        yield served


def _base(served: Served, node: str, instance: str, supervoxels: bool) -> str:
    uuid = served.root if node == "root" else f"{served.child}:master"
    return f"{served.url}/precomputed/{uuid}/{instance}" + ("/supervoxels" if supervoxels else "")


CASES = [
    (instance, node, scale, supervoxels)
    for instance, views in (("em", (False,)), ("seg", (False, True)))
    for supervoxels in views
    for node in ("root", "child")
    for scale in (0, 1)
]


@pytest.mark.parametrize(("instance", "node", "scale", "supervoxels"), CASES)
def test_tensorstore_reads_what_the_numpy_api_reads(
    served: Served, instance: str, node: str, scale: int, supervoxels: bool
) -> None:
    base = _base(served, node, instance, supervoxels)
    info = httpx.get(f"{base}/sharded/info").json()
    assert "sharding" in info["scales"][scale]
    spec = {
        "driver": "neuroglancer_precomputed",
        "kvstore": {"driver": "http", "base_url": f"{base}/sharded/"},
        "scale_index": scale,
    }
    store = ts.open(spec, read=True).result()
    uuid = served.root if node == "root" else served.child
    with voxhub.open(served.url) as hub:
        at = hub.node(uuid)
        for region in REGIONS:
            f = 2**scale
            box = Box(tuple(s // f for s in region.start), tuple(-(-s // f) for s in region.stop))
            (z0, y0, x0), (z1, y1, x1) = box.start, box.stop
            got = store[x0:x1, y0:y1, z0:z1, 0].read().result().transpose(2, 1, 0)
            if instance == "em":
                expected = at.volume("em").read(box, scale=scale)
            else:
                expected = at.labels("seg").read(box, scale=scale, supervoxels=supervoxels)
            assert got.dtype == expected.dtype
            assert got.any()
            np.testing.assert_array_equal(got, expected)
            if instance == "seg" and scale == 0:
                merged = node == "child" and not supervoxels
                assert (B in np.unique(got)) == (not merged)


def _shards(base: str, scale: int) -> tuple[dict[str, Any], ShardingSpec]:
    info = httpx.get(f"{base}/sharded/info").json()["scales"][scale]
    return info, ShardingSpec.from_json(info["sharding"])


@pytest.mark.parametrize(
    ("instance", "supervoxels"), [("em", False), ("seg", False), ("seg", True)]
)
def test_each_chunk_of_a_shard_is_the_unsharded_chunk(
    served: Served, instance: str, supervoxels: bool
) -> None:
    base = _base(served, "child", instance, supervoxels)
    scale, spec = _shards(base, 0)
    assert spec.shard_bits > 0  # the two regions lie in different shards
    gx, gy, gz = (-(-s // c) for s, c in zip(scale["size"], scale["chunk_sizes"][0], strict=True))
    bits = tuple((g - 1).bit_length() for g in (gx, gy, gz))
    found = 0
    with httpx.Client(base_url=base) as http:
        for shard in range(spec.shards):
            reply = http.get(f"/sharded/{scale['key']}/{spec.shard_name(shard)}")
            if reply.status_code == 404:
                continue
            assert reply.status_code == 200
            for cid, data in shard_chunks(spec, reply.content):
                x, y, z = (
                    p * c + o
                    for p, c, o in zip(
                        morton_positions(np.array([cid], np.uint64), bits)[0].tolist(),  # type: ignore[arg-type]
                        scale["chunk_sizes"][0],
                        scale["voxel_offset"],
                        strict=True,
                    )
                )
                chunk = f"{x}-{x + 32}_{y}-{y + 32}_{z}-{z + 32}"
                assert http.get(f"/{scale['key']}/{chunk}").content == data
                found += 1
    assert found == 14  # 3 x 2 x 2 blocks written in the first region, 2 x 1 x 1 in the second


def test_ranges_validators_and_bad_names(served: Served) -> None:
    base = _base(served, "root", "seg", False)
    scale, spec = _shards(base, 0)
    path = f"{base}/sharded/{scale['key']}/{spec.shard_name(0)}"
    with httpx.Client() as http:
        whole = http.get(path)
        assert whole.status_code == 200
        assert "immutable" in whole.headers["cache-control"]
        tail = http.get(path, headers={"Range": "bytes=-16"})
        assert tail.status_code == 206
        assert tail.content == whole.content[-16:]
        head = http.get(path, headers={"Range": f"bytes=0-{spec.index_bytes - 1}"})
        assert (head.status_code, head.content) == (206, whole.content[: spec.index_bytes])
        beyond = http.get(path, headers={"Range": f"bytes={len(whole.content) + 5}-"})
        assert beyond.status_code == 416
        etag = whole.headers["etag"]
        assert http.get(path, headers={"If-None-Match": etag}).status_code == 304
        child = _base(served, "child", "seg", False)
        opened = http.get(f"{child}/sharded/{scale['key']}/{spec.shard_name(0)}")
        assert opened.headers["cache-control"] == "no-cache"
        assert opened.headers["etag"] != etag  # the merge changed the shard's tables
        empty = spec.shard_name(spec.shards - 2)  # between the two regions: nothing written
        assert http.get(f"{base}/sharded/{scale['key']}/{empty}").status_code == 404
        for name in (
            "00.shard",  # one digit per 4 shard bits, no more
            spec.shard_name(spec.shards - 1).upper(),
            f"{spec.shards:x}.shard",  # past the last shard
            "zz.shard",
            "0" * 17 + ".shard",
            "0.shard.",
            "0",
            "..%2F..%2Finfo",
            "%00.shard",
        ):
            reply = http.get(f"{base}/sharded/{scale['key']}/{name}")
            assert reply.status_code in (400, 404), (name, reply.status_code)
        for bad in (
            "sharded/9_9_9/00.shard",
            "sharded/info/x",
            "supervoxels/sharded/1_1_1/0.shard",
        ):
            assert http.get(f"{base}/{bad}").status_code in (400, 404)
        em = _base(served, "root", "em", True)
        assert http.get(f"{em}/sharded/info").status_code == 404  # no supervoxels of images


def test_an_open_nodes_shards_follow_its_writes(served: Served) -> None:
    """An open node's shards are cached under a hash of what they are made of: a write
    (or a merge, for body ids) gives the next request a new shard and ETag; a supervoxel
    shard does not change with a merge."""
    em, bodies, svs = (
        _base(served, "child", instance, sv)
        for instance, sv in (("em", False), ("seg", False), ("seg", True))
    )

    def first_shard(base: str) -> str:
        scale, spec = _shards(base, 0)
        return f"{base}/sharded/{scale['key']}/{spec.shard_name(0)}"

    with httpx.Client() as http, voxhub.open(served.url) as hub:
        paths = {base: first_shard(base) for base in (em, bodies, svs)}
        before = {base: http.get(path) for base, path in paths.items()}
        tag = before[em].headers["etag"]
        assert http.get(paths[em], headers={"If-None-Match": tag}).status_code == 304
        child = hub.node(served.child)
        child.volume("em")[1:2, 33:34, 17:18] = 77
        child.labels("seg").merge(A, [C])
        after = {base: http.get(path) for base, path in paths.items()}
        for base, changed in ((em, True), (bodies, True), (svs, False)):
            assert after[base].status_code == 200, (base, after[base].text)
            assert (after[base].headers["etag"] != before[base].headers["etag"]) == changed
            assert (after[base].content != before[base].content) == changed
        store = ts.open(
            {
                "driver": "neuroglancer_precomputed",
                "kvstore": {"driver": "http", "base_url": f"{em}/sharded/"},
            }
        ).result()
        assert store[17, 33, 1, 0].read().result() == 77


def test_the_sharded_body_view_names_segment_properties_and_meshes(served: Served) -> None:
    # neuroglancer resolves both relative to the view it opened: they are served there
    base = f"{served.url}/precomputed/{served.root}/seg"
    info = httpx.get(f"{base}/sharded/info").json()
    assert info["segment_properties"] == "segment_properties"
    flat = httpx.get(f"{base}/sharded/segment_properties/info")
    assert flat.status_code == 200
    assert flat.json() == httpx.get(f"{base}/segment_properties/info").json()
    assert A in [int(i) for i in flat.json()["inline"]["ids"]]
    assert "segment_properties" not in httpx.get(f"{base}/supervoxels/sharded/info").json()
    if "mesh" in httpx.get(f"{base}/info").json():  # the mesh extra is installed
        assert info["mesh"] == "mesh"
        for name in ("info", f"{A}.index", str(A)):
            sharded = httpx.get(f"{base}/sharded/mesh/{name}")
            assert sharded.status_code == 200, sharded.text
            assert sharded.content == httpx.get(f"{base}/mesh/{name}").content
