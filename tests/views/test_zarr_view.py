"""The Zarr v3 / OME-Zarr 0.5 view, read by zarr-python and tensorstore from a real
``voxhub serve``.

An image stored as plane frames (uint8, 64³ blocks: chunks compressed again), an image
whose blocks are single zstd frames (uint16, 32³: served as stored, byte order matters)
and a labelmap, all unaligned to their block grids and with one pyramid level, at a
committed root and at its open child where two bodies are merged and voxels rewritten:
both clients must read, in both layouts, arrays equal to the numpy API's reads.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.exceptions import StarletteDeprecationWarning
from tests.views.served import B, Served, proofread, serving, write_scene

import voxhub
from voxhub import Box
from voxhub.client import EmbeddedHub
from voxhub.codecs.zarr_shard import decode_shard, index_nbytes
from voxhub.server import create_app

zarr = pytest.importorskip("zarr")
ts = pytest.importorskip("tensorstore")

#: fsspec's aiohttp session outlives each zarr-python read (closed at interpreter exit)
_AIOHTTP_SOCKETS = pytest.mark.filterwarnings(
    "ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning"
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    store = tmp_path_factory.mktemp("zarr") / "store"
    rng = np.random.default_rng(5)
    with voxhub.open(str(store), mode="w") as hub:
        root = hub.create_repo("views", "zarr view tests").master
        em8 = root.create_volume("em8", "uint8", voxel_size=(30, 4, 4), max_scale=1)
        em8[0:70, 10:100, 5:80] = rng.integers(1, 255, (70, 90, 75), dtype=np.uint8)
        write_scene(root, rng)
        child = proofread(root)
        child.volume("em8")[60:75, 0:20, 0:20] = 9  # grows the extents, too
        root_uuid, child_uuid = root.uuid, child.uuid
    with serving(store, root_uuid, child_uuid) as served:
        yield served


def _expected(served: Served, uuid: str, instance: str, shape: Any, scale: int) -> np.ndarray:
    box = Box((0, 0, 0), tuple(shape))
    with voxhub.open(served.url) as hub:
        at = hub.node(uuid)
        if instance.startswith("em"):
            return at.volume(instance).read(box, scale=scale)
        return at.labels("seg").read(box, scale=scale, supervoxels=instance == "sv")


CASES = [
    (instance, layout, node)
    for instance in ("em8", "em", "seg", "sv")
    for layout in ("", "/sharded")
    for node in ("root", "child")
]


@_AIOHTTP_SOCKETS
@pytest.mark.parametrize(("instance", "layout", "node"), CASES)
def test_zarr_python_and_tensorstore_read_what_the_numpy_api_reads(
    served: Served, instance: str, layout: str, node: str
) -> None:
    uuid = served.root if node == "root" else served.child
    ref = uuid[:10] if node == "root" else f"{uuid}:master"  # any node reference works
    path = "seg/supervoxels" if instance == "sv" else instance
    base = f"{served.url}/zarr/{ref}/{path}{layout}"
    group = zarr.open_group(base, mode="r")
    assert sorted(group.array_keys()) == ["s0", "s1"]  # consolidated: no listing needed
    for scale in (0, 1):
        by_zarr = group[f"s{scale}"][...]
        spec = {"driver": "zarr3", "kvstore": {"driver": "http", "base_url": f"{base}/s{scale}/"}}
        by_tensorstore = ts.open(spec, read=True).result().read().result()
        expected = _expected(served, uuid, instance, by_zarr.shape, scale)
        assert by_zarr.dtype == expected.dtype
        assert by_zarr.any()  # the data is in view, not a volume of fill values
        np.testing.assert_array_equal(by_zarr, expected)
        np.testing.assert_array_equal(by_tensorstore, expected)
        if instance == "seg" and scale == 0:
            assert (B in np.unique(by_zarr)) == (node == "root")  # the merge shows


def test_group_is_ome_zarr_with_every_level(served: Served) -> None:
    reply = httpx.get(f"{served.url}/zarr/{served.root}/em/zarr.json")
    assert reply.status_code == 200
    assert reply.headers["cache-control"] == "no-cache"  # voxel sizes are not versioned
    doc = reply.json()
    assert (doc["zarr_format"], doc["node_type"]) == (3, "group")
    ome = doc["attributes"]["ome"]
    assert ome["version"] == "0.5"
    (multiscale,) = ome["multiscales"]
    assert [(a["name"], a["unit"]) for a in multiscale["axes"]] == [
        ("z", "nanometer"),
        ("y", "nanometer"),
        ("x", "nanometer"),
    ]
    s0, s1 = multiscale["datasets"]
    assert s0 == {
        "path": "s0",
        "coordinateTransformations": [{"type": "scale", "scale": [40, 8, 4]}],
    }
    assert s1["path"] == "s1"
    scale, shift = s1["coordinateTransformations"]
    assert scale == {"type": "scale", "scale": [80, 16, 8]}
    assert shift == {"type": "translation", "translation": [20, 4, 2]}  # centred on s0
    arrays = doc["consolidated_metadata"]["metadata"]
    assert arrays["s0"]["shape"] == [40, 80, 86]  # the numpy API's domain
    assert arrays["s1"]["shape"] == [20, 40, 43]
    array = httpx.get(f"{served.url}/zarr/{served.root}/em/s1/zarr.json").json()
    assert array == arrays["s1"]
    assert array["chunk_grid"]["configuration"]["chunk_shape"] == [32, 32, 32]
    assert array["data_type"] == "uint16"
    assert array["fill_value"] == 0


def test_sharded_arrays_index_with_crc32c_and_answer_suffix_ranges(served: Served) -> None:
    base = f"{served.url}/zarr/{served.root}/em/sharded"
    array = httpx.get(f"{base}/s0/zarr.json").json()
    assert array["chunk_grid"]["configuration"]["chunk_shape"] == [256, 256, 256]
    (sharding,) = array["codecs"]
    assert sharding["name"] == "sharding_indexed"
    config = sharding["configuration"]
    assert config["chunk_shape"] == [32, 32, 32]
    assert config["index_codecs"][-1] == {"name": "crc32c"}
    assert config["index_location"] == "end"
    whole = httpx.get(f"{base}/s0/c/0/0/0")
    assert whole.status_code == 200
    assert "immutable" in whole.headers["cache-control"]
    chunks = decode_shard(whole.content, 8**3)  # checks the crc32c
    present = [i for i, c in enumerate(chunks) if c is not None]
    # z 0..40, y 32..80, x 16..86 in 32³ blocks: z 0-1, y 1-2, x 0-2 (C order in 8³)
    assert present == sorted(z * 64 + y * 8 + x for z in (0, 1) for y in (1, 2) for x in (0, 1, 2))
    size = index_nbytes(8**3)
    tail = httpx.get(f"{base}/s0/c/0/0/0", headers={"Range": f"bytes=-{size}"})
    assert tail.status_code == 206
    assert tail.content == whole.content[-size:]
    length = len(whole.content)
    assert tail.headers["content-range"] == f"bytes {length - size}-{length - 1}/{length}"
    beyond = httpx.get(f"{base}/s0/c/0/0/0", headers={"Range": f"bytes={length}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{length}"


def test_open_node_chunks_revalidate_and_committed_ones_are_cached(served: Served) -> None:
    with httpx.Client(base_url=served.url) as http:
        for layout, key in (("", "1/0/0"), ("/sharded", "0/0/0")):
            path = f"/zarr/{served.root}/seg{layout}/s0/c/{key}"
            first = http.get(path)
            assert first.status_code == 200
            assert "immutable" in first.headers["cache-control"]
            assert http.get(path).content == first.content  # from the view cache
            etag = first.headers["etag"]
            again = http.get(path, headers={"If-None-Match": etag})
            assert again.status_code == 304
            moving = http.get(f"/zarr/:master~1/seg{layout}/s0/c/{key}")  # the root, for now
            assert moving.content == first.content
            assert moving.headers["cache-control"] == "no-cache"  # the branch may move on
            child = http.get(f"/zarr/{served.child}/seg{layout}/s0/c/{key}")
            assert child.headers["cache-control"] == "no-cache"
            assert child.content != first.content  # B merged into A


@pytest.mark.parametrize(
    ("path", "status", "names"),
    [
        ("em/s0/c/3/3/3", 404, "outside array s0"),  # past the grid
        ("em/s0/c/0/0/0", 404, "no stored block"),  # inside, never written: fill value
        ("em/sharded/s1/c/1/0/0", 404, "outside"),
        ("em/s2/c/0/0/0", 404, "s0, s1"),
        ("em/s01/zarr.json", 404, "no Zarr array"),
        ("em/0/zarr.json", 404, "no Zarr array"),
        ("em/s0/c/a/0/0", 400, "chunk index z"),
        ("em/s0/c/-1/0/0", 400, "chunk index z"),
        ("em/s0/c/0/0/99999999999999999999", 400, "chunk index x"),
        ("em/s0/c/0/0", 404, ""),
        ("em/s0/c/0/0/0/0", 404, ""),
        ("em/s0/0.0.0", 404, ""),  # zarr v2 chunk key
        ("em/supervoxels/zarr.json", 404, "labelmap"),
        ("nothere/zarr.json", 404, "nothere"),
        *((f"em/{name}", 404, "") for name in (".zarray", ".zattrs", ".zgroup", ".zmetadata")),
        *((f"seg/sharded/s0/{name}", 404, "") for name in (".zarray", ".zattrs")),
    ],
)
def test_bad_absent_and_zarr_v2_keys(served: Served, path: str, status: int, names: str) -> None:
    reply = httpx.get(f"{served.url}/zarr/{served.root}/{path}")
    assert reply.status_code == status, reply.text
    assert names in reply.text
    json.loads(reply.text)  # a clean JSON error, never a server error page


def test_unknown_node_is_404(served: Served) -> None:
    reply = httpx.get(f"{served.url}/zarr/{'f' * 32}/em/zarr.json")
    assert reply.status_code == 404


_SEGMENT = st.one_of(
    st.sampled_from(["s0", "s1", "s9", "c", "0", "1", "zarr.json", ".zarray", "sharded", ""]),
    st.integers(-3, 2**70).map(str),
    st.text(st.characters(codec="utf-8", exclude_characters="/?#"), max_size=12),
)


@settings(max_examples=60, deadline=None)
@given(
    instance=st.sampled_from(["em", "seg", "seg/supervoxels", "seg/sharded", "nothere"]),
    segments=st.lists(_SEGMENT, min_size=1, max_size=6),
)
def test_hostile_keys_get_a_clean_4xx(served: Served, instance: str, segments: list[str]) -> None:
    path = "/".join(quote(s, safe="") for s in segments)
    url = f"{served.url}/zarr/{served.root}/{instance}/{path}"
    reply = httpx.get(url)
    if reply.status_code == 307:  # Starlette's redirect of a trailing slash that serves
        assert path.endswith("/"), (path, reply.headers)
        return
    assert reply.status_code in (200, 400, 404), (path, reply.text)
    if reply.status_code != 200:
        assert "error" in reply.json()


def test_open_node_shards_follow_every_write() -> None:
    """An open node's image and supervoxel shards are cached under the digest of their
    blocks: a write to one of those blocks shows in the very next read."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StarletteDeprecationWarning)
        from starlette.testclient import TestClient

    hub = EmbeddedHub.open("memory://")
    node = hub.create_repo("open").master
    em = node.create_volume("em", "uint8", block_shape=(16, 16, 16))
    seg = node.create_labels("seg", block_shape=(16, 16, 16))
    em[0:20, 0:20, 0:20] = 1
    seg[0:20, 0:20, 0:20] = 5
    with TestClient(create_app(hub)) as client:
        for path, write in (
            ("em/sharded", lambda v: em.write((16, 0, 0), np.full((1, 1, 1), v, np.uint8))),
            ("seg/supervoxels/sharded", lambda v: seg.write((16, 0, 0), np.full((1, 1, 1), v))),
        ):
            url = f"/zarr/{node.uuid}/{path}/s0/c/0/0/0"
            before = client.get(url)
            assert before.headers["cache-control"] == "no-cache"
            assert client.get(url).headers["etag"] == before.headers["etag"]  # kept
            write(9)  # a block of this shard
            after = client.get(url)
            assert after.headers["etag"] != before.headers["etag"]
            old, new = (decode_shard(r.content, 16**3) for r in (before, after))
            changed = [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
            assert changed == [16 * 16]  # block (1, 0, 0): only the chunk written
    hub.close()
