"""An open node's precomputed chunks are kept with exactly what they were made from
(``voxhub.server.precomputed_open``): any write of the block, or a merge that changes the
bodies of its supervoxels, shows in the very next read, with a new ``ETag``; the same
stored bytes again give the same answer and tag."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from tests.server.asgi_call import call
from tests.server.counted_store import CountedReads

import voxhub
from voxhub import Box
from voxhub.client import EmbeddedHub
from voxhub.codecs.cseg import decode_google
from voxhub.codecs.sharded import ShardingSpec
from voxhub.server.app import create_app

ACCEPTS = [
    {"accept-encoding": "identity"},
    {"accept-encoding": "gzip"},
    {"accept-encoding": "deflate, gzip, br, zstd"},
]


@pytest.fixture
def hub(tmp_path: object) -> Iterator[EmbeddedHub]:
    hub = voxhub.open(f"{tmp_path}/store", mode="w")
    assert isinstance(hub, EmbeddedHub)
    yield hub
    hub.close()


def _body(answer: object) -> bytes:
    import gzip

    import zstandard

    coding = answer.headers.get("content-encoding")  # type: ignore[attr-defined]
    raw: bytes = answer.body  # type: ignore[attr-defined]
    if coding == "gzip":
        return gzip.decompress(raw)
    if coding == "zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress(raw)
    return raw


def test_an_open_nodes_image_chunk_follows_every_write(hub: EmbeddedHub) -> None:
    node = hub.create_repo("open").master
    em = node.create_volume("em", "uint8", block_shape=(16, 16, 16))
    first = np.arange(16**3, dtype=np.uint32).reshape(16, 16, 16).astype(np.uint8)
    em[0:16, 0:16, 0:16] = first
    app = create_app(hub, compress_loopback=True)  # every coding, to this loopback caller
    path = f"/precomputed/{node.uuid}/em/1_1_1/0-16_0-16_0-16"
    for headers in ACCEPTS:
        before = [call(app, "GET", path, headers) for _ in range(2)]  # made, then kept
        assert before[0].headers["etag"] == before[1].headers["etag"]
        assert _body(before[1]) == first.tobytes()
        em[0:16, 0:16, 0:16] = first + 1
        after = call(app, "GET", path, {**headers, "if-none-match": before[0].headers["etag"]})
        assert after.status == 200
        assert _body(after) == (first + 1).tobytes()
        assert after.headers["etag"] != before[0].headers["etag"]
        em[0:16, 0:16, 0:16] = first  # the same bytes again: the same answer and tag
        again = call(app, "GET", path, headers)
        assert _body(again) == first.tobytes()
        assert again.headers["etag"] == before[0].headers["etag"]


def test_an_open_nodes_label_chunk_follows_merges_and_writes(hub: EmbeddedHub) -> None:
    node = hub.create_repo("open").master
    seg = node.create_labels("seg", block_shape=(16, 16, 16))
    labels = np.zeros((16, 16, 16), np.uint64)
    labels[:, :, :8], labels[:, :, 8:] = 5, 6
    labels[:4] = 7
    seg[0:16, 0:16, 0:16] = labels
    app = create_app(hub, compress_loopback=True)  # every coding, to this loopback caller
    bodies = f"/precomputed/{node.uuid}/seg/8_8_8/0-16_0-16_0-16"
    svs = f"/precomputed/{node.uuid}/seg/supervoxels/8_8_8/0-16_0-16_0-16"
    box = Box((0, 0, 0), (16, 16, 16))

    def read(path: str) -> np.ndarray:
        answer = call(app, "GET", path, {"accept-encoding": "gzip"})
        assert answer.status == 200
        return decode_google(_body(answer), (16, 16, 16), np.uint64)

    for _ in range(2):
        assert np.array_equal(read(bodies), labels)
        assert np.array_equal(read(svs), labels)
    seg.merge(5, [6])  # the mapping changes, not the block
    assert np.array_equal(read(bodies), seg.read(box))
    assert set(np.unique(read(bodies)).tolist()) == {5, 7}
    assert np.array_equal(read(svs), labels)
    seg[0:16, 0:16, 0:2] = np.uint64(9)  # the block changes
    assert np.array_equal(read(bodies), seg.read(box))
    assert np.array_equal(read(svs), seg.read(box, supervoxels=True))


def test_an_open_nodes_zarr_chunk_follows_every_write(hub: EmbeddedHub) -> None:
    node = hub.create_repo("open").master
    em = node.create_volume("em", "uint8", block_shape=(16, 16, 16))
    em[0:16, 0:16, 0:16] = 4
    app = create_app(hub, compress_loopback=True)  # every coding, to this loopback caller
    path = f"/zarr/{node.uuid}/em/s0/c/0/0/0"
    first, kept = call(app, "GET", path), call(app, "GET", path)
    assert kept.body == first.body
    assert kept.headers["etag"] == first.headers["etag"]
    em[0:16, 0:16, 0:16] = 5
    changed = call(app, "GET", path)
    assert changed.body != first.body
    assert changed.headers["etag"] != first.headers["etag"]
    assert call(app, "GET", path, {"if-none-match": changed.headers["etag"]}).status == 304


def test_an_open_nodes_zarr_body_ids_follow_merges_and_writes(tmp_path: object) -> None:
    """Chunks and shards of body ids at an open node are kept with the stored blocks and
    the bodies of their supervoxels: zarr-python reads the merge and the write next."""
    import zarr

    from voxhub.testing.server import start_server

    store = f"{tmp_path}/served"
    with voxhub.open(store, mode="w") as hub:
        node = hub.create_repo("open").master
        seg = node.create_labels("seg", block_shape=(16, 16, 16))
        labels = np.zeros((32, 32, 32), np.uint64)
        labels[:, :, :8], labels[:, :, 8:20], labels[:, :, 20:] = 5, 6, 8
        labels[:4] = 7
        seg[0:32, 0:32, 0:32] = labels
        uuid = node.uuid
    server = start_server(store)
    try:
        box = Box((0, 0, 0), (32, 32, 32))
        arrays = [
            zarr.open_array(f"{server.url}/zarr/{uuid}/seg{s}/s0", mode="r")
            for s in ("", "/sharded")
        ]
        for _ in range(2):  # made, then kept
            assert all(np.array_equal(a[...], labels) for a in arrays)
        with voxhub.open(store) as hub:
            seg = hub.node(uuid).labels("seg")
            seg.merge(5, [6])  # the mapping changes, not the blocks
            merged = seg.read(box)
            assert all(np.array_equal(a[...], merged) for a in arrays)
            seg[0:32, 0:32, 0:2] = np.uint64(9)  # a block changes
            written = seg.read(box)
        assert all(np.array_equal(a[...], written) for a in arrays)
    finally:
        server.stop()


def test_a_kept_answer_is_sent_without_reading_while_nothing_is_written() -> None:
    store = CountedReads()
    hub = EmbeddedHub(store)
    node = hub.create_repo("open").master
    seg = node.create_labels("seg", block_shape=(16, 16, 16))
    labels = np.full((16, 16, 16), 5, np.uint64)
    seg[0:16, 0:16, 0:16] = labels
    app = create_app(hub)
    path = f"/precomputed/{node.uuid}/seg/8_8_8/0-16_0-16_0-16"
    first = [call(app, "GET", path) for _ in range(2)]  # made, then kept
    reads = store.reads
    kept = call(app, "GET", path)
    assert store.reads == reads  # nothing read: nothing was written
    assert (kept.body, kept.headers["etag"]) == (first[1].body, first[1].headers["etag"])
    node.create_volume("other", "uint8")[0:8, 0:8, 0:8] = 1  # a write elsewhere
    again = call(app, "GET", path)
    assert store.reads > reads  # read again, found equal: the same answer
    assert again.headers["etag"] == first[1].headers["etag"]
    reads = store.reads
    call(app, "GET", path)
    assert store.reads == reads  # and noted as read after that write
    seg[0:16, 0:16, 0:1] = np.uint64(7)  # this block changes
    changed = call(app, "GET", path)
    assert changed.headers["etag"] != first[1].headers["etag"]
    assert set(np.unique(decode_google(_body(changed), (16, 16, 16), np.uint64)).tolist()) == {5, 7}


def _counted_volumes(depth: int) -> tuple[CountedReads, Any, Any, Any]:
    """A store counting its reads, its repo's open node, and a labelmap (all 5) and an
    image volume there, ``depth`` × 16 × 16 voxels in blocks of 16³."""
    store = CountedReads()
    node = EmbeddedHub(store).create_repo("open").master
    shape = {"block_shape": (16, 16, 16)}
    seg = node.create_labels("seg", **shape)
    seg[0:depth, 0:16, 0:16] = np.full((depth, 16, 16), 5, np.uint64)
    em = node.create_volume("em", "uint8", **shape)
    voxels = np.arange(depth * 16**2, dtype=np.uint32).reshape(depth, 16, 16) % 251
    em[0:depth, 0:16, 0:16] = voxels
    return store, node, seg, em


@pytest.mark.parametrize("name", ["seg", "em"])
def test_a_kept_zarr_chunk_is_sent_without_reading_while_nothing_is_written(name: str) -> None:
    store, node, seg, em = _counted_volumes(16)
    app = create_app(node.hub)
    path = f"/zarr/{node.uuid}/{name}/s0/c/0/0/0"
    first = [call(app, "GET", path) for _ in range(2)]  # made, then kept
    assert first[1].status == 200
    reads = store.reads
    kept = call(app, "GET", path)
    assert store.reads == reads  # nothing written: nothing read
    assert (kept.body, kept.headers["etag"]) == (first[1].body, first[1].headers["etag"])
    (seg if name == "seg" else em)[0:1, 0:16, 0:16] = 9  # this block changes
    changed = call(app, "GET", path)
    assert store.reads > reads
    assert changed.headers["etag"] != first[1].headers["etag"]
    assert changed.body != first[1].body


def test_an_open_nodes_extents_follow_writes(hub: EmbeddedHub) -> None:
    """The extents an open node's views read are kept while nothing is written; a write
    that grows the volume shows in the next info, array metadata and chunk request."""
    import json

    node = hub.create_repo("open").master
    em = node.create_volume("em", "uint8", block_shape=(16, 16, 16))
    em[0:16, 0:16, 0:16] = 1
    app = create_app(hub)
    info, array = f"/precomputed/{node.uuid}/em/info", f"/zarr/{node.uuid}/em/s0/zarr.json"
    chunk = f"/zarr/{node.uuid}/em/s0/c/0/0/1"  # x 16..32: past the extents for now
    for _ in range(2):
        assert json.loads(call(app, "GET", info).body)["scales"][0]["size"] == [16, 16, 16]
        assert json.loads(call(app, "GET", array).body)["shape"] == [16, 16, 16]
        assert call(app, "GET", chunk).status == 404
    em[0:16, 0:16, 16:32] = 2
    assert json.loads(call(app, "GET", info).body)["scales"][0]["size"] == [32, 16, 16]
    assert json.loads(call(app, "GET", array).body)["shape"] == [16, 16, 32]
    assert call(app, "GET", chunk).status == 200


@pytest.mark.parametrize(
    "path",
    [
        "zarr/{node}/em/sharded/s0/c/0/0/0",
        "zarr/{node}/seg/supervoxels/sharded/s0/c/0/0/0",
        "precomputed/{node}/em/sharded/{scale}/{shard}",
        "precomputed/{node}/seg/sharded/{scale}/{shard}",
    ],
)
def test_a_kept_open_shard_is_sent_without_reading_while_nothing_is_written(path: str) -> None:
    """A reader's range requests for one shard (index, minishard index, chunks) find it
    without reading or hashing its blocks while nothing is written; a write to one of
    them gives the next request the new shard."""
    store, node, seg, em = _counted_volumes(32)
    app = create_app(node.hub)
    instance = "em" if "/em/" in path else "seg"
    info = json.loads(call(app, "GET", f"/precomputed/{node.uuid}/{instance}/sharded/info").body)
    scale = info["scales"][0]
    shard = ShardingSpec.from_json(scale["sharding"]).shard_name(0)
    url = "/" + path.format(node=node.uuid, scale=scale["key"], shard=shard)
    first = call(app, "GET", url)
    assert first.status == 200
    reads = store.reads
    for _ in range(3):
        kept = call(app, "GET", url, headers={"Range": "bytes=0-15"})
        assert kept.status == 206
        assert kept.body == first.body[:16]
    assert store.reads == reads  # nothing written: nothing read
    (seg if instance == "seg" else em)[0:1, 0:16, 0:16] = 9  # a block of the shard changes
    changed = call(app, "GET", url)
    assert store.reads > reads
    assert changed.headers["etag"] != first.headers["etag"]
    assert changed.body != first.body
