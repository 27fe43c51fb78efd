"""subvolblocks, specificblocks, blocks (GET/POST) and arb."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from server_image.conftest import LIMIT, Env
from voxhub.codecs import ZstdCodec
from voxhub.datatypes.wire.block_stream import decode_stream


def _decoded(content: bytes, shape: tuple[int, int, int] = (8, 8, 8)) -> dict:  # type: ignore[type-arg]
    return {c: np.frombuffer(p, dtype=np.uint8).reshape(shape) for c, p in decode_stream(content)}


def test_subvolblocks_raw_returns_every_block(env: Env) -> None:
    r = env.client.get(env.url("gray", "subvolblocks/16_8_8/0_8_0?compression=raw"))
    assert r.status_code == 200
    blocks = _decoded(r.content)
    assert set(blocks) == {(0, 1, 0), (0, 1, 1)}
    assert np.array_equal(blocks[(0, 1, 1)], env.gray[0:8, 8:16, 8:16])


def test_subvolblocks_fills_unwritten_blocks_with_background(env: Env) -> None:
    r = env.client.get(env.url("gray", "subvolblocks/8_8_8/64_64_64?compression=uncompressed"))
    blocks = _decoded(r.content)
    assert list(blocks) == [(8, 8, 8)]
    assert not blocks[(8, 8, 8)].any()


def test_subvolblocks_native_is_the_stored_codec(env: Env) -> None:
    r = env.client.get(env.url("gray", "subvolblocks/8_8_8/8_0_0"))
    [(coord, payload)] = decode_stream(r.content)
    assert coord == (0, 0, 1)
    block = ZstdCodec().decode(payload, (8, 8, 8), np.uint8)
    assert np.array_equal(block, env.gray[0:8, 0:8, 8:16])


def test_subvolblocks_neuroglancer_jpeg(env: Env) -> None:
    # neuroglancer: drop the 16-byte header, decode the rest as one grayscale JPEG
    data = env.gray[:8, :8, :8]
    env.node.volume("jpg").write((0, 0, 0), data)
    for query in ("?app=Neuroglancer", "?compression=jpeg"):
        r = env.client.get(env.url("jpg", "subvolblocks/8_8_8/0_0_0" + query))
        image = Image.open(io.BytesIO(r.content[16:]))
        assert (image.mode, image.size) == ("L", (8, 64))
    # transcoded from zstd storage too (DVID would refuse)
    r = env.client.get(env.url("gray", "subvolblocks/8_8_8/0_0_0?compression=jpeg"))
    decoded = np.asarray(Image.open(io.BytesIO(r.content[16:]))).reshape(8, 8, 8)
    assert np.abs(decoded.astype(int) - data).mean() < 20


@pytest.mark.parametrize("compression", ["lz4", "gzip", "zstd"])
def test_subvolblocks_transcodes(env: Env, compression: str) -> None:
    from voxhub.codecs import codec_from_json

    r = env.client.get(env.url("gray", f"subvolblocks/8_8_8/0_0_8?compression={compression}"))
    [(_, payload)] = decode_stream(r.content)
    block = codec_from_json(compression).decode(payload, (8, 8, 8), np.uint8)
    assert np.array_equal(block, env.gray[8:16, 0:8, 0:8])


@pytest.mark.parametrize(
    ("rest", "field", "status"),
    [
        ("subvolblocks/8_8_8/4_0_0", "offset", 400),
        ("subvolblocks/12_8_8/0_0_0", "size", 400),
        ("subvolblocks/8_8/0_0_0", "size", 400),
        ("subvolblocks/8_8_8/0_0_0?compression=png", "compression", 400),
        ("subvolblocks/8_8_8/0_0_0?scale=3", "scale", 400),
        ("subvolblocks/1024_1024_8/0_0_0", str(LIMIT), 413),
    ],
)
def test_subvolblocks_errors(env: Env, rest: str, field: str, status: int) -> None:
    r = env.client.get(env.url("gray", rest))
    assert r.status_code == status
    assert field in r.json()["error"]


def test_subvolblocks_jpeg_refused_for_uint16(env: Env) -> None:
    r = env.client.get(env.url("deep", "subvolblocks/8_8_8/0_0_0?compression=jpeg"))
    assert r.status_code == 400


def test_specificblocks_leaves_missing_out(env: Env) -> None:
    url = env.url("gray", "specificblocks?blocks=1,2,1,9,9,9,0,0,0&compression=raw")
    blocks = _decoded(env.client.get(url).content)
    assert set(blocks) == {(1, 2, 1), (0, 0, 0)}
    assert np.array_equal(blocks[(1, 2, 1)], env.gray[8:16, 16:24, 8:16])


def test_specificblocks_scale(env: Env) -> None:
    url = env.url("gray", "specificblocks?blocks=0,0,0&compression=raw&scale=1")
    blocks = _decoded(env.client.get(url).content)
    assert np.array_equal(blocks[(0, 0, 0)], env.node.volume("gray").at_scale(1)[0:8, 0:8, 0:8])


@pytest.mark.parametrize(
    ("query", "status"),
    [("", 400), ("?blocks=1,2", 400), ("?blocks=1,2,x", 400), ("?blocks=0,0,0&compression=b", 400)],
)
def test_specificblocks_errors(env: Env, query: str, status: int) -> None:
    r = env.client.get(env.url("gray", "specificblocks" + query))
    assert r.status_code == status
    assert "blocks" in r.json()["error"] or "compression" in r.json()["error"]


def test_specificblocks_over_limit(env: Env) -> None:
    many = ",".join(["0,0,0"] * (LIMIT // 512 + 1))
    assert env.client.get(env.url("gray", f"specificblocks?blocks={many}")).status_code == 413


def test_blocks_get_is_blocks_concatenated_along_x(env: Env) -> None:
    r = env.client.get(env.url("gray", "blocks/2_1_0/3"))
    got = np.frombuffer(r.content, dtype=np.uint8).reshape(3, 8, 8, 8)
    for i in range(3):
        expected = env.gray[0:8, 8:16, (2 + i) * 8 : (3 + i) * 8]
        if i == 2:  # beyond x = 32: unwritten
            expected = np.zeros((8, 8, 8), np.uint8)
        assert np.array_equal(got[i], expected)


def test_blocks_post_roundtrip(env: Env) -> None:
    blocks = np.stack([np.full((8, 8, 8), v, np.uint8) for v in (3, 4)])
    r = env.client.post(env.url("gray", "blocks/0_0_1/2"), content=blocks.tobytes())
    assert r.status_code == 200
    vol = env.node.volume("gray")
    assert (vol[8:16, 0:8, 0:8] == 3).all()
    assert (vol[8:16, 0:8, 8:16] == 4).all()
    assert env.client.get(env.url("gray", "blocks/0_0_1/2")).content == blocks.tobytes()


@pytest.mark.parametrize(
    ("rest", "body", "status"),
    [
        ("blocks/0_0_0/2", b"\0" * 512, 400),
        ("blocks/0_0/1", b"\0" * 512, 400),
        ("blocks/0_0_0/0", b"", 400),
        ("blocks/0_0_0/x", b"", 400),
        ("blocks/0_0_0/100000", b"", 413),
    ],
)
def test_blocks_post_errors(env: Env, rest: str, body: bytes, status: int) -> None:
    r = env.client.post(env.url("gray", rest), content=body)
    assert r.status_code == status
    assert np.array_equal(env.node.volume("gray")[:8, :8, :8], env.gray[:8, :8, :8])


# -- arb ------------------------------------------------------------------------------------
def test_arb_axis_aligned_plane_matches_xy_slice(env: Env) -> None:
    # voxel size 1: physical = voxel coordinates; the plane z = 5.5, x 0..32, y 0..24
    r = env.client.get(env.url("gray", "arb/0_0_5.5/32_0_5.5/0_24_5.5/1/png"))
    assert r.status_code == 200
    image = np.asarray(Image.open(io.BytesIO(r.content)))
    assert np.array_equal(image, env.gray[5])


def test_arb_oblique_plane_samples_nearest(env: Env) -> None:
    # the xz diagonal plane: column c samples x = c*res*cos45, z = c*res*sin45
    r = env.client.get(env.url("gray", "arb/0.5_2.5_0.5/11.5_2.5_11.5/0.5_6.5_0.5/1/tiff"))
    import tifffile

    image = tifffile.imread(io.BytesIO(r.content))
    cols = np.arange(image.shape[1])
    d = np.floor(0.5 + cols / np.sqrt(2)).astype(int)
    assert image.shape == (4, 16)
    assert np.array_equal(image[0], env.gray[d, 2, d])


@pytest.mark.parametrize(
    "rest",
    [
        "arb/0_0_0/0_0_0/0_8_0/1",
        "arb/0_0_0/8_0_0/0_8_0/0",
        "arb/0_0_0/8_0_0/0_8_0/x",
        "arb/0_0/8_0_0/0_8_0/1",
        "arb/0_0_0/8_0_0/0_8_0/1/gif",
        "arb/0_0_0/8_0_nan/0_8_0/1",
    ],
)
def test_arb_errors(env: Env, rest: str) -> None:
    assert env.client.get(env.url("gray", rest)).status_code == 400


def test_arb_oversize(env: Env) -> None:
    assert env.client.get(env.url("gray", "arb/0_0_0/4096_0_0/0_4096_0/1")).status_code == 413
