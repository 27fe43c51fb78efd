"""The precomputed views over plain HTTP: gzip negotiation, CORS for viewers, the jpeg
encoding and segment properties, on the session's served store (``conftest.views``)."""

from __future__ import annotations

import gzip
import io
import warnings

import httpx
import numpy as np
import pytest
from PIL import Image
from starlette.exceptions import StarletteDeprecationWarning
from tests.views.conftest import A, B, C, Views

import voxhub
from voxhub import Box
from voxhub.server.app import create_app

with warnings.catch_warnings():
    # Starlette 1.x suggests httpx2 for its test client; httpx is what we ship with.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

CHUNK = "8_8_8/0-32_0-32_0-32"
GZIP = {"Accept-Encoding": "gzip"}
PLAIN = {"Accept-Encoding": "identity"}


def wire_bytes(url: str, headers: dict[str, str]) -> tuple[httpx.Response, bytes]:
    with httpx.Client() as http, http.stream("GET", url, headers=headers) as reply:
        return reply, b"".join(reply.iter_raw())


@pytest.mark.parametrize(
    ("path", "node"),
    [
        ("seg/info", "root"),
        (f"seg/{CHUNK}", "root"),
        (f"seg/{CHUNK}", "child"),
        ("seg/supervoxels/" + CHUNK, "child"),
        ("seg/segment_properties/info", "root"),
    ],
)
def test_whole_answers_are_gzipped_when_the_client_accepts_it(
    views: Views, path: str, node: str
) -> None:
    url = f"{views.url}/precomputed/{views.node(node)}/{path}"
    plain, plain_bytes = wire_bytes(url, PLAIN)
    packed, packed_bytes = wire_bytes(url, GZIP)
    assert plain.status_code == packed.status_code == 200
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert gzip.decompress(packed_bytes) == plain_bytes
    assert len(packed_bytes) < len(plain_bytes)
    assert "accept-encoding" in packed.headers["vary"].lower()
    assert "accept-encoding" in plain.headers["vary"].lower()
    # each representation has its own strong tag, and each revalidates
    assert packed.headers["etag"] != plain.headers["etag"]
    for reply, headers in ((packed, GZIP), (plain, PLAIN)):
        again = httpx.get(url, headers={**headers, "If-None-Match": reply.headers["etag"]})
        assert again.status_code == 304


def test_ranged_answers_are_never_gzipped(views: Views) -> None:
    url = f"{views.url}/precomputed/{views.root}/seg/{CHUNK}"
    _, whole = wire_bytes(url, PLAIN)
    part, data = wire_bytes(url, {**GZIP, "Range": "bytes=8-99"})
    assert part.status_code == 206
    assert "content-encoding" not in part.headers
    assert data == whole[8:100]
    assert part.headers["content-range"] == f"bytes 8-99/{len(whole)}"


def test_noisy_raw_chunks_go_as_they_are() -> None:
    """EM whose stored blocks barely compress is not gzip'd (it would cost more CPU than
    the bytes it saves); a block that compresses well is."""
    rng = np.random.default_rng(3)
    with voxhub.open("memory://", mode="w") as hub:
        node = hub.create_repo("noisy").master
        em = node.create_volume("em", "uint8", block_shape=(32, 32, 32))
        em[0:32, 0:32, 0:32] = rng.integers(0, 256, (32, 32, 32), dtype=np.uint8)
        em[0:32, 0:32, 32:64] = 5
        with TestClient(create_app(hub)) as http:
            noisy = http.get(f"/precomputed/{node.uuid}/em/1_1_1/0-32_0-32_0-32", headers=GZIP)
            flat = http.get(f"/precomputed/{node.uuid}/em/1_1_1/32-64_0-32_0-32", headers=GZIP)
    assert "content-encoding" not in noisy.headers
    assert flat.headers["content-encoding"] == "gzip"
    assert flat.content == bytes([5]) * 32**3  # decoded by the client


def test_viewers_of_other_origins_may_read_ranges_and_tags(views: Views) -> None:
    origin = {"Origin": "https://neuroglancer-demo.appspot.com"}
    url = f"{views.url}/precomputed/{views.root}/seg/{CHUNK}"
    reply = httpx.get(url, headers={**origin, "Range": "bytes=0-15"})
    assert reply.status_code == 206
    assert reply.headers["access-control-allow-origin"] == "*"
    exposed = {h.strip().lower() for h in reply.headers["access-control-expose-headers"].split(",")}
    assert {"content-range", "content-length", "etag", "content-encoding"} <= exposed
    preflight = httpx.options(
        url,
        headers={
            **origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "range",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "GET" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers["access-control-allow-headers"].lower() == "range"
    private = httpx.options(
        url,
        headers={
            **origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Private-Network": "true",
        },
    )  # Chrome, before the hosted neuroglancer reads from a server on this machine
    assert private.headers["access-control-allow-private-network"] == "true"
    head = httpx.head(url, headers=origin)
    assert head.status_code == 200
    assert head.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("instance", ["em", "em_jpeg"])
def test_jpeg_chunks_are_grayscale_x_by_yz_images(views: Views, instance: str) -> None:
    base = f"{views.url}/precomputed/{views.root}/{instance}/jpeg"
    info = httpx.get(f"{base}/info").json()
    assert [s["encoding"] for s in info["scales"]] == ["jpeg", "jpeg"]
    reply = httpx.get(f"{base}/8_8_8/32-64_0-32_0-32")
    assert reply.headers["content-type"] == "image/jpeg"
    assert "content-encoding" not in reply.headers  # jpeg is compressed already
    image = Image.open(io.BytesIO(reply.content))
    assert (image.format, image.mode, image.size) == ("JPEG", "L", (32, 32 * 32))
    got = np.asarray(image).reshape(32, 32, 32).astype(int)  # rows are z, then y
    expected = views.em[0:32, 0:32, 32:64].astype(int)
    assert np.abs(got - expected).mean() < 3


def test_a_stored_jpeg_block_is_sent_as_stored(views: Views) -> None:
    with voxhub.open(views.url) as hub:
        stored = hub.node(views.root).volume("em_jpeg").read(Box((0, 0, 32), (32, 32, 64)))
    reply = httpx.get(f"{views.url}/precomputed/{views.root}/em_jpeg/jpeg/8_8_8/32-64_0-32_0-32")
    sent = np.asarray(Image.open(io.BytesIO(reply.content))).reshape(32, 32, 32)
    np.testing.assert_array_equal(sent, stored)  # no second loss


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("seg/jpeg/info", "uint8 images only"),
        ("seg_annotations/jpeg/info", "neuronjson"),
        ("em/segment_properties/info", "image"),
        ("em/jpeg/8_8_8/0-32_0-32", "x0-x1"),
    ],
)
def test_views_that_do_not_apply_say_why(views: Views, path: str, says: str) -> None:
    reply = httpx.get(f"{views.url}/precomputed/{views.root}/{path}")
    assert reply.status_code in (400, 404)
    assert says in reply.text


def _properties(views: Views, node: str) -> dict[int, dict[str, object]]:
    doc = httpx.get(f"{views.url}/precomputed/{views.node(node)}/seg/segment_properties/info")
    assert doc.status_code == 200
    data = doc.json()
    assert data["@type"] == "neuroglancer_segment_properties"
    inline = data["inline"]
    table: dict[int, dict[str, object]] = {int(i): {} for i in inline["ids"]}
    for prop in inline["properties"]:
        assert len(prop["values"]) == len(inline["ids"])
        for body, value in zip(inline["ids"], prop["values"], strict=True):
            table[int(body)][prop["id"]] = value
    return table


def test_segment_properties_list_sizes_and_names_at_each_node(views: Views) -> None:
    info = httpx.get(f"{views.url}/precomputed/{views.root}/seg/info").json()
    assert info["segment_properties"] == "segment_properties"
    sv_info = httpx.get(f"{views.url}/precomputed/{views.root}/seg/supervoxels/info").json()
    assert "segment_properties" not in sv_info  # sizes and names are of bodies
    voxels = {b: int((views.labels == b).sum()) for b in (A, B, C)}
    root = _properties(views, "root")
    assert root == {
        A: {"label": "EPG(PB08)_L", "size": voxels[A]},  # `instance` names it
        B: {"label": "PEN_a", "size": voxels[B]},  # else `type`
        C: {"label": "", "size": voxels[C]},  # no document
    }  # body 12345 has a document but no voxels: not listed
    child = _properties(views, "child")  # B merged into A
    assert child == {
        A: {"label": "EPG(PB08)_L", "size": voxels[A] + voxels[B]},
        C: {"label": "", "size": voxels[C]},
    }


def test_only_urls_naming_a_committed_node_itself_are_immutable(views: Views) -> None:
    """A branch reference (``uuid:master``, ``:master~1``) moves to other nodes: a client
    must revalidate what it read through one, even when it resolved to a committed node."""
    chunk = f"seg/{CHUNK}"
    pinned = httpx.get(f"{views.url}/precomputed/{views.root[:12]}/{chunk}")
    assert "immutable" in pinned.headers["cache-control"]
    moving = httpx.get(f"{views.url}/precomputed/{views.child}:master~1/{chunk}")
    assert moving.headers["cache-control"] == "no-cache"  # resolves to the committed root
    assert moving.content == pinned.content
    again = httpx.get(
        f"{views.url}/precomputed/{views.child}:master~1/{chunk}",
        headers={"If-None-Match": moving.headers["etag"]},
    )
    assert again.status_code == 304


def test_clients_naming_zstd_get_compressible_chunks_as_zstd(views: Views) -> None:
    """tensorstore names zstd: a compressible chunk (this smooth EM) goes as one zstd
    frame of its bytes, at a committed node and at an open one alike, never as the
    block's stored frames (which would leave the client a decode on every read); each
    representation has its own tag; ranged requests and clients that do not name zstd
    get none."""
    import zstandard

    for node in (views.root, views.child):
        url = f"{views.url}/precomputed/{node}/em/8_8_8/0-32_0-32_0-32"
        _, plain = wire_bytes(url, PLAIN)
        packed, frame = wire_bytes(url, {"Accept-Encoding": "gzip, zstd"})
        assert packed.headers["content-encoding"] == "zstd"
        assert zstandard.ZstdDecompressor().decompress(frame) == plain
        assert packed.headers["etag"] != httpx.get(url, headers=PLAIN).headers["etag"]
        again = httpx.get(
            url, headers={"Accept-Encoding": "zstd", "If-None-Match": packed.headers["etag"]}
        )
        assert again.status_code == 304
        ranged, part = wire_bytes(url, {"Accept-Encoding": "zstd", "Range": "bytes=0-9"})
        assert "content-encoding" not in ranged.headers
        assert part == plain[:10]
        anything, _ = wire_bytes(url, {"Accept-Encoding": "*"})  # zstd must be named
        assert anything.headers.get("content-encoding") != "zstd"
    jpeg_url = f"{views.url}/precomputed/{views.child}/em_jpeg/8_8_8/0-32_0-32_0-32"
    jpeg_stored, frame = wire_bytes(jpeg_url, {"Accept-Encoding": "zstd"})
    _, raw = wire_bytes(jpeg_url, PLAIN)
    # its stored bytes are a JPEG, never sent as such: the decoded chunk, compressed
    assert jpeg_stored.headers["content-encoding"] == "zstd"
    assert zstandard.ZstdDecompressor().decompress(frame) == raw


def test_segment_properties_take_a_limit_and_say_when_they_are_cut(views: Views) -> None:
    url = f"{views.url}/precomputed/{views.root}/seg/segment_properties/info"
    whole = httpx.get(url).json()
    assert whole["voxhub"] == {**whole["voxhub"], "limit": 10_000, "truncated": False}
    cut = httpx.get(url, params={"limit": 2}).json()
    # the first 2 documents by id (12345, which has no voxels, and A), then the other
    # bodies by id (C): B is left out
    assert cut["inline"]["ids"] == [str(A), str(C)]
    assert (cut["voxhub"]["limit"], cut["voxhub"]["truncated"]) == (2, True)
    assert httpx.get(url, params={"limit": 3}).json()["voxhub"]["truncated"] is False
    for bad in ("0", "-1", "abc", "100001", "9" * 30):
        assert httpx.get(url, params={"limit": bad}).status_code == 400
