"""The neuroglancer precomputed view, read by tensorstore from a real ``voxhub serve``.

An image (uint16, so byte order matters) and a labelmap, both unaligned to the 32³ block
grid and with one pyramid level, at a committed root and at its open child where two
bodies are merged and voxels rewritten: tensorstore's ``neuroglancer_precomputed`` driver
must read arrays equal to the numpy API's reads of the same boxes, at scale 0 and 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from tests.views.served import B, Served, proofread, serving, write_scene

import voxhub
from voxhub import Box

ts = pytest.importorskip("tensorstore")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    store = tmp_path_factory.mktemp("precomputed") / "store"
    rng = np.random.default_rng(12)
    with voxhub.open(str(store), mode="w") as hub:
        root = hub.create_repo("views", "precomputed view tests").master
        write_scene(root, rng)
        child = proofread(root)
        root_uuid, child_uuid = root.uuid, child.uuid
    with serving(store, root_uuid, child_uuid) as served:
        yield served


def _tensorstore(base: str, scale: int) -> np.ndarray:
    spec = {
        "driver": "neuroglancer_precomputed",
        "kvstore": {"driver": "http", "base_url": base + "/"},
        "scale_index": scale,
    }
    store = ts.open(spec, read=True).result()
    data: np.ndarray = store.read().result()  # [x, y, z, channel]
    return data


def _box(info: dict[str, Any], scale: int) -> Box:
    level = info["scales"][scale]
    x, y, z = level["voxel_offset"]
    sx, sy, sz = level["size"]
    return Box((z, y, x), (z + sz, y + sy, x + sx))


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
    uuid = served.root if node == "root" else served.child
    ref = uuid[:10] if node == "root" else f"{uuid}:master"  # any node reference works
    base = f"{served.url}/precomputed/{ref}/{instance}" + ("/supervoxels" if supervoxels else "")
    info = httpx.get(f"{base}/info").json()
    box = _box(info, scale)
    read = _tensorstore(base, scale)
    assert read.shape[3] == 1
    got = read[..., 0].transpose(2, 1, 0)  # [x, y, z] -> (z, y, x)

    with voxhub.open(served.url) as hub:
        at = hub.node(uuid)
        if instance == "em":
            expected = at.volume("em").read(box, scale=scale)
        else:
            seg = at.labels("seg")
            expected = seg.read(box, scale=scale, supervoxels=supervoxels)
    assert got.dtype == expected.dtype
    assert got.any()  # the data is in view, not a volume of zeros
    np.testing.assert_array_equal(got, expected)
    if instance == "seg" and scale == 0:
        merged = node == "child" and not supervoxels
        assert (B in np.unique(got)) == (not merged)


def test_info_describes_every_scale_on_the_block_grid(served: Served) -> None:
    em = httpx.get(f"{served.url}/precomputed/{served.root}/em/info").json()
    assert (em["type"], em["data_type"], em["num_channels"]) == ("image", "uint16", 1)
    s0, s1 = em["scales"]
    assert (s0["key"], s0["resolution"], s1["key"]) == ("4_8_40", [4, 8, 40], "8_16_80")
    assert s0["encoding"] == "raw"
    assert s0["chunk_sizes"] == [[32, 32, 32]]
    # x 16..86, y 32..80, z 0..40 rounded out to the 32³ grid, given as [x, y, z]
    assert (s0["voxel_offset"], s0["size"]) == ([0, 32, 0], [96, 64, 64])
    reply = httpx.get(f"{served.url}/precomputed/{served.root}/seg/supervoxels/info")
    assert reply.headers["cache-control"] == "no-cache"  # settings are not versioned
    seg = reply.json()
    assert seg["type"] == "segmentation"
    assert seg["data_type"] == "uint64"
    scale = seg["scales"][1]
    assert scale["encoding"] == "compressed_segmentation"
    assert scale["compressed_segmentation_block_size"] == [8, 8, 8]


def test_chunks_of_committed_nodes_are_immutable_and_revalidate(served: Served) -> None:
    key = "4_8_40/0-32_32-64_0-32"  # x 0..32: the child rewrote x 20..30 of it
    with httpx.Client(base_url=served.url) as http:
        committed = http.get(f"/precomputed/{served.root}/em/{key}")
        assert committed.status_code == 200
        assert len(committed.content) == 32**3 * 2
        assert "immutable" in committed.headers["cache-control"]
        etag = committed.headers["etag"]
        assert etag.startswith('"')
        assert not etag.startswith("W/")
        again = http.get(f"/precomputed/{served.root}/em/{key}", headers={"If-None-Match": etag})
        assert again.status_code == 304
        # the child rewrote voxels of this chunk: another ETag, and it may change again
        open_node = http.get(f"/precomputed/{served.child}/em/{key}")
        assert open_node.headers["cache-control"] == "no-cache"
        assert open_node.headers["etag"] != etag


def test_voxhub_serve_answers_loopback_clients_uncompressed(served: Served) -> None:
    """By default (no ``--compress-loopback``) a client on this machine gets the chunk
    as it is, whatever it accepts; one behind a proxy that says so gets it compressed."""
    accepts = {"Accept-Encoding": "deflate, gzip, br, zstd"}  # tensorstore's curl
    with httpx.Client(base_url=served.url) as http:
        for node in (served.root, served.child):
            for instance in ("em", "seg"):
                info = http.get(f"/precomputed/{node}/{instance}/info").json()
                box = "0-32_32-64_0-32" if instance == "em" else "0-32_0-32_32-64"  # written
                key = f"{info['scales'][0]['key']}/{box}"
                path = f"/precomputed/{node}/{instance}/{key}"
                with http.stream("GET", path, headers=accepts) as local:
                    assert local.status_code == 200
                    assert "content-encoding" not in local.headers
                    plain = b"".join(local.iter_raw())
                forwarded = {**accepts, "X-Forwarded-For": "10.1.2.3"}
                with http.stream("GET", path, headers=forwarded) as remote:
                    assert remote.headers.get("content-encoding") in ("zstd", None)
                    packed = b"".join(remote.iter_raw())
                if instance == "seg":  # compressed_segmentation: always worth packing
                    assert remote.headers["content-encoding"] == "zstd"
                    assert len(packed) < len(plain)


def test_cross_origin_reads_are_allowed(served: Served) -> None:
    reply = httpx.get(
        f"{served.url}/precomputed/{served.root}/seg/info",
        headers={"Origin": "https://neuroglancer-demo.appspot.com"},
    )
    assert reply.status_code == 200
    assert reply.headers["access-control-allow-origin"] in ("*", reply.request.headers["origin"])


@pytest.mark.parametrize(
    ("path", "status", "names"),
    [
        ("em/4_8_40/320-352_320-352_320-352", 404, "never written"),  # tensorstore: zeros
        ("seg/8_8_8/0-32_0-32_0-32", 404, "never written"),
        ("em/4_8_40/0-32_32-64", 400, "x0-x1_y0-y1_z0-z1"),
        ("em/4_8_40/a-b_0-32_0-32", 400, "x0-x1_y0-y1_z0-z1"),
        ("em/4_8_40/16-48_32-64_0-32", 400, "not one chunk of the grid"),
        ("em/4_8_40/0-16_32-64_0-32", 400, "not one chunk of the grid"),
        ("em/8_8_8/0-32_32-64_0-32", 404, "4_8_40, 8_16_80"),
        ("seg/supervoxels/provenance", 404, ""),  # cloud-volume asks for one per view
        ("em/supervoxels/info", 404, "labelmap"),
        ("nothere/info", 404, "nothere"),
        ("em/provenance", 404, ""),  # cloud-volume asks; nothing to say
    ],
)
def test_bad_and_absent_chunks(served: Served, path: str, status: int, names: str) -> None:
    reply = httpx.get(f"{served.url}/precomputed/{served.root}/{path}")
    assert reply.status_code == status, reply.text
    assert names in reply.text


def test_unknown_node_is_404(served: Served) -> None:
    reply = httpx.get(f"{served.url}/precomputed/{'f' * 32}/em/info")
    assert reply.status_code == 404


def test_chunks_answer_byte_ranges(served: Served) -> None:
    key = "4_8_40/0-32_32-64_0-32"
    url = f"{served.url}/precomputed/{served.root}/em/{key}"
    whole = httpx.get(url).content
    tail = httpx.get(url, headers={"Range": "bytes=-100"})
    assert tail.status_code == 206
    assert tail.content == whole[-100:]
    assert (
        tail.headers["content-range"] == f"bytes {len(whole) - 100}-{len(whole) - 1}/{len(whole)}"
    )
    past = httpx.get(url, headers={"Range": f"bytes={len(whole)}-"})
    assert past.status_code == 416
    assert past.headers["content-range"] == f"bytes */{len(whole)}"


def test_committed_chunks_are_served_from_the_view_cache(tmp_path: Any) -> None:
    import warnings

    from starlette.exceptions import StarletteDeprecationWarning

    with warnings.catch_warnings():  # Starlette 1.x suggests httpx2; we ship httpx
        warnings.simplefilter("ignore", StarletteDeprecationWarning)
        from starlette.testclient import TestClient

    from voxhub.server.app import create_app

    with voxhub.open(str(tmp_path / "store"), mode="w") as hub:
        root = hub.create_repo("cached").master
        em = root.create_volume("em", "uint8", block_shape=(32, 32, 32))
        em[0:32, 0:32, 0:32] = 9
        root.commit("done")
        child = root.newversion("more")
        child.volume("em")[0:32, 0:32, 0:32] = 1
        app = create_app(hub, view_replay=False)  # the cache itself, not the replay above it
        cache = app.state.view_cache
        with TestClient(app) as http:
            http.headers["Accept-Encoding"] = "identity"  # one form of each chunk
            for uuid in (root.uuid, child.uuid, root.uuid, child.uuid):
                reply = http.get(f"/precomputed/{uuid}/em/1_1_1/0-32_0-32_0-32")
                assert reply.content == bytes([9 if uuid == root.uuid else 1]) * 32**3
                assert http.get(f"/precomputed/{uuid}/em/1_1_1/32-64_0-32_0-32").status_code == 404
        stats = cache.stats()
        # the committed root's chunk and its absent neighbour: computed once, then hits;
        # the open child's chunk is kept with the stored value it was made from (a hit
        # the second time: the block is unchanged), its absent neighbour is not kept
        assert (stats.entries, stats.hits) == (3, 3)
